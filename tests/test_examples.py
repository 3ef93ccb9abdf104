"""Every public function and class of iot_geo has an Examples section, and the examples run (on the shared data)."""

from __future__ import annotations

import doctest
import inspect
import os
import warnings
from pathlib import Path

import pytest

import iot_geo as ig

REPO = Path(__file__).resolve().parents[1]
PUBLIC = [n for n in ig.__all__ if not n.startswith("__")
          and (inspect.isfunction(getattr(ig, n)) or inspect.isclass(getattr(ig, n)))
          and not (inspect.isclass(getattr(ig, n)) and issubclass(getattr(ig, n), Exception))]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_docstring_has_examples_that_run(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    obj = getattr(ig, name)
    doc = inspect.getdoc(obj) or ""
    assert "\nExamples\n--------\n" in doc, f"{name}: no Examples section"
    monkeypatch.chdir(REPO)  # examples name files as the README does (data/examples/...)
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, globs={})
    examples = [e for t in tests for e in t.examples]
    assert examples, f"{name}: the Examples section has no example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # truncation notes and the like go to stderr, not into the examples
        for t in tests:
            runner.run(t, out=lambda s: print(s, end=""))
    result = runner.summarize(verbose=False)
    skipped = sum(1 for e in examples if e.options.get(doctest.SKIP))
    assert result.failed == 0, f"{name}: {result.failed} example(s) failed (see the output above)"
    if name != "lookup_postcodes":  # needs an ONS postcode file or the internet; tested in test_postcodes.py
        assert skipped == 0, f"{name}: skipped examples do not count"
    assert os.environ.get("IOT_GEO_DATA")


def _module_examples() -> list[tuple[str, doctest.DocTest]]:
    """Every docstring example in iot_geo's modules that the test above does not already run."""
    import importlib
    import pkgutil

    top = {id(getattr(ig, n)) for n in PUBLIC}
    found = []
    for info in pkgutil.walk_packages(ig.__path__, "iot_geo."):
        if info.name.endswith("__main__"):
            continue
        for t in doctest.DocTestFinder().find(importlib.import_module(info.name), info.name):
            obj = t.globs.get(t.name.rsplit(".", 1)[-1])
            if t.examples and id(obj) not in top:
                found.append((t.name, t))
    return found


@pytest.mark.parametrize("name, test", _module_examples(), ids=lambda v: v if isinstance(v, str) else "")
def test_module_docstring_examples_run(name: str, test: doctest.DocTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runner.run(test, out=lambda s: print(s, end=""))
    assert runner.summarize(verbose=False).failed == 0, f"{name}: an example failed (see the output above)"
