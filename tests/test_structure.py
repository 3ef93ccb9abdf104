"""The shape of the package, checked from its source with ``ast`` (issue 17).

- the import graph of ``iot_geo`` has no circles, counting imports made inside functions
  (only ``if TYPE_CHECKING:`` blocks, which never run, are left out);
- no private name (one leading underscore) is used across modules, in the package or the tests;
- an ``iot_geo`` module is imported inside a function only as a deliberate deferral, marked by a
  comment containing ``deferred:`` on the import line or in the comment block directly above it;
- every module has an ``__all__`` near its top that lists exactly its public functions and classes
  and every name other modules import from it;
- no function's code is 80 lines or longer. A function's code is counted from its first statement
  after the docstring to its last line: docstrings (with their Examples) are documentation, as in
  geopandas' ``sjoin``, the model the issue names.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "iot_geo"
MAX_FUNCTION_LINES = 80


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    lines: list[str]
    #: (target module, imported name or None, lineno, inside a function)
    imports: list[tuple[str, str | None, int, bool]] = field(default_factory=list)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def _function_nodes(tree: ast.AST) -> set[int]:
    return {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
            for n in ast.walk(f) if n is not f}


def _parse(path: Path) -> Module:
    text = path.read_text(encoding="utf-8")
    mod = Module(_module_name(path), path, ast.parse(text), text.splitlines())
    package = mod.name if path.name == "__init__.py" else mod.name.rpartition(".")[0]
    skip = _type_checking_nodes(mod.tree)
    local = _function_nodes(mod.tree)
    for node in ast.walk(mod.tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                mod.imports.append((base, alias.name, node.lineno, id(node) in local))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                mod.imports.append((alias.name, None, node.lineno, id(node) in local))
    return mod


def _modules(*roots: Path) -> dict[str, Module]:
    return {m.name: m for root in roots for m in map(_parse, sorted(root.rglob("*.py")))}


PKG = _modules(PACKAGE)
TESTS = _modules(ROOT / "tests")
BENCHMARKS = _modules(ROOT / "benchmarks")


def _edges(mod: Module) -> Iterator[tuple[str, int, bool]]:
    """The iot_geo modules ``mod`` imports: (module, line, inside a function)."""
    for base, name, line, local in mod.imports:
        if not base.startswith("iot_geo"):
            continue
        target = f"{base}.{name}" if name and f"{base}.{name}" in PKG else base
        if target in PKG and target != mod.name:
            yield target, line, local


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_circle_and_only_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    graph["c"] = set()
    assert _cycles(graph) == []


def test_import_graph_has_no_circles() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for mod in PKG.values():
        graph[mod.name]
        for target, _line, _local in _edges(mod):
            graph[mod.name].add(target)
    assert _cycles(graph) == []


def _private(name: str | None) -> bool:
    return bool(name) and name.startswith("_") and not name.startswith("__")  # type: ignore[union-attr]


def _private_uses(mod: Module) -> Iterator[str]:
    aliases: dict[str, str] = {}
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.ImportFrom | ast.Import):
            for alias in node.names:
                if isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    full = f"{base}.{alias.name}"
                    if full in PKG:
                        aliases[alias.asname or alias.name] = full
                    elif base.startswith("iot_geo") and _private(alias.name):
                        yield f"{mod.path.name}:{node.lineno}: from {base} import {alias.name}"
                elif alias.name in PKG and alias.asname:
                    aliases[alias.asname] = alias.name
    for node in ast.walk(mod.tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and _private(node.attr)):
            yield f"{mod.path.name}:{node.lineno}: {aliases[node.value.id]}.{node.attr}"
        elif isinstance(node, ast.Call) and len(node.args) >= 2 and _names_setattr(node.func):
            target, attr = _module_named(node.args[0], aliases), node.args[1]
            if target and isinstance(attr, ast.Constant) and isinstance(attr.value, str) and _private(attr.value):
                yield f"{mod.path.name}:{node.lineno}: {target}.{attr.value}"
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and re.fullmatch(r"iot_geo(\.\w+)*\._(?!_)\w+", node.value)):
            yield f"{mod.path.name}:{node.lineno}: {node.value}"


def _names_setattr(func: ast.expr) -> bool:
    """``setattr(...)`` or ``monkeypatch.setattr(...)``."""
    return (isinstance(func, ast.Name) and func.id == "setattr") or (
        isinstance(func, ast.Attribute) and func.attr == "setattr")


def _module_named(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The iot_geo module an expression stands for: an imported alias or ``sys.modules["iot_geo..."]``."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str) and node.slice.value.startswith("iot_geo")):
        return node.slice.value
    return None


def test_the_private_name_finder_sees_imports_and_attributes(tmp_path: Path) -> None:
    p = tmp_path / "t.py"
    p.write_text("import sys\nfrom iot_geo.catchment import _x, y\nfrom iot_geo import provenance\nprovenance._a()\n"
                 "provenance.b()\nprovenance.__doc__\nmonkeypatch.setattr(provenance, '_c', 1)\n"
                 "monkeypatch.setattr(sys.modules['iot_geo.checks'], '_d', 1)\nmonkeypatch.setattr('iot_geo.x._e', 1)\n"
                 "monkeypatch.setattr(provenance, 'f', 1)\n")
    assert sorted(u.split(": ", 1)[1] for u in _private_uses(_parse_loose(p))) == [
        "from iot_geo.catchment import _x", "iot_geo.checks._d", "iot_geo.provenance._a", "iot_geo.provenance._c",
        "iot_geo.x._e"]


def _parse_loose(path: Path) -> Module:
    text = path.read_text(encoding="utf-8")
    return Module("t", path, ast.parse(text), text.splitlines())


@pytest.mark.parametrize("where", ["iot_geo", "tests", "benchmarks"])
def test_no_private_name_is_used_across_modules(where: str) -> None:
    mods = {"iot_geo": PKG, "benchmarks": BENCHMARKS}.get(where) or {
        n: m for n, m in TESTS.items() if m.path.name != "test_structure.py"}
    uses = [u for mod in mods.values() for u in _private_uses(mod)]
    assert uses == []


def _deferred(mod: Module, line: int) -> bool:
    """The import at ``line`` (1-based) carries, or follows, a ``deferred:`` comment."""
    i = line - 1
    if "deferred:" in mod.lines[i]:
        return True
    i -= 1
    while i >= 0:
        text = mod.lines[i].strip()
        if "deferred:" in text:
            return True
        if not (text.startswith(("#", "from ", "import ")) or text == "" or text.startswith(")")
                or mod.lines[i].startswith(" " * 8)):
            return False
        i -= 1
    return False


def test_iot_geo_modules_are_imported_inside_functions_only_on_purpose() -> None:
    hidden = [f"{mod.path.relative_to(ROOT)}:{line} imports {target}"
              for mod in PKG.values() for target, line, local in _edges(mod)
              if local and not _deferred(mod, line)]
    assert hidden == []


def _body_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = fn.body
    if (len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        body = body[1:]
    return (fn.end_lineno or fn.lineno) - body[0].lineno + 1


def test_function_length_counts_code_not_docstring() -> None:
    fn = ast.parse('def f():\n    """Doc.\n\n    More.\n    """\n    a = 1\n    return a\n').body[0]
    assert isinstance(fn, ast.FunctionDef) and _body_lines(fn) == 2


def test_no_function_is_80_lines_or_longer() -> None:
    long = sorted((_body_lines(fn), f"{mod.path.relative_to(ROOT)}:{fn.lineno} {fn.name}")
                  for mod in PKG.values() for fn in ast.walk(mod.tree)
                  if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
                  and _body_lines(fn) >= MAX_FUNCTION_LINES)
    assert long == []


def _declared_all(mod: Module) -> tuple[list[str] | None, int]:
    """``__all__``'s names and its position among the module's top-level statements."""
    for i, node in enumerate(mod.tree.body):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            value = node.value
            assert isinstance(value, ast.List | ast.Tuple), f"{mod.name}: __all__ must be a literal list"
            return [e.value for e in value.elts if isinstance(e, ast.Constant)], i
    return None, -1


def _public_definitions(mod: Module) -> set[str]:
    return {n.name for n in mod.tree.body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and not n.name.startswith("_")}


def _defined(mod: Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node in mod.tree.body:
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _module_aliases(mod: Module) -> dict[str, str]:
    """Local names bound to iot_geo modules in ``mod`` (``from iot_geo import x``, ``import iot_geo.x as y``)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if f"{node.module}.{alias.name}" in PKG:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in PKG and alias.asname:
                    aliases[alias.asname] = alias.name
    return aliases


def _imported_by_name(mod: Module) -> set[str]:
    """Names module ``mod`` itself binds by importing them (``os`` in ``files.os`` is not the module's own)."""
    return {(a.asname or a.name).split(".")[0] for node in ast.walk(mod.tree)
            if isinstance(node, ast.Import | ast.ImportFrom) for a in node.names}


@functools.cache
def _uses() -> dict[str, set[str]]:
    """Per module, the names other modules (package and tests) take from it: imported, read as attributes of
    the module, or replaced on it with ``setattr``."""
    used: dict[str, set[str]] = defaultdict(set)
    for mods in (PKG, TESTS):
        for mod in mods.values():
            if mod.path.name == "test_structure.py":
                continue
            for base, alias, _line, _local in mod.imports:
                if base != mod.name and alias and alias != "*":
                    used[base].add(alias)
            aliases = {a: m for a, m in _module_aliases(mod).items() if m != mod.name}
            for node in ast.walk(mod.tree):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                    used[aliases[node.value.id]].add(node.attr)
                elif (isinstance(node, ast.Call) and len(node.args) >= 2 and _names_setattr(node.func)
                      and isinstance(node.args[0], ast.Name) and node.args[0].id in aliases
                      and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
                    used[aliases[node.args[0].id]].add(node.args[1].value)
    return used


def _imported_from(name: str) -> set[str]:
    """Names other modules take from module ``name`` (submodules and names the module itself imports excluded)."""
    return ({n for n in _uses().get(name, set()) if f"{name}.{n}" not in PKG and not n.startswith("__")}
            - _imported_by_name(PKG[name]) - set(dir(builtins)))  # a test may shadow ``open`` on a module


@pytest.mark.parametrize("name", sorted(n for n in PKG if not n.endswith("__main__")))
def test_every_module_declares_an_honest_all(name: str) -> None:
    mod = PKG[name]
    declared, position = _declared_all(mod)
    assert declared is not None, f"{mod.path.relative_to(ROOT)} has no __all__"
    if mod.name != "iot_geo":  # the package's lazy map lists its names at the end, with __getattr__
        first_def = next((i for i, n in enumerate(mod.tree.body)
                          if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)), len(mod.tree.body))
        assert position < first_def, f"{mod.name}: __all__ stands after the first definition"
    assert len(declared) == len(set(declared)), f"{mod.name}: __all__ repeats a name"
    assert not [n for n in declared if _private(n)], f"{mod.name}: __all__ lists private names"
    if mod.name != "iot_geo":
        assert sorted(set(declared) - _defined(mod)) == [], f"{mod.name}: __all__ lists names it does not define"
        assert sorted(_public_definitions(mod) - set(declared)) == [], f"{mod.name}: public names left out of __all__"
    assert sorted(_imported_from(name) - set(declared) - {"__version__"}) == [], \
        f"{mod.name}: names other modules import are left out of __all__"


#: The layers of the README's "How the code is laid out", top to bottom; a module imports only from its own
#: layer or the layers above it.
LAYERS = [
    ["iot_geo", "iot_geo.settings", "iot_geo.errors", "iot_geo.geo", "iot_geo.files",
     "iot_geo.sources"],
    ["iot_geo.sources.catalogue", "iot_geo.sources.derived"],
    ["iot_geo.provenance", "iot_geo.outputs"],
    ["iot_geo.sources.boundaries", "iot_geo.sources.population", "iot_geo.sources.providers",
     "iot_geo.sources.evidence", "iot_geo.sources.geofabrik", "iot_geo.postcodes"],
    ["iot_geo.speeds", "iot_geo.snapping", "iot_geo.osm", "iot_geo.search", "iot_geo.grids", "iot_geo.transit",
     "iot_geo.routing", "iot_geo.network"],
    ["iot_geo.people", "iot_geo.catchment"],
    ["iot_geo.locate", "iot_geo.bids", "iot_geo.covering", "iot_geo.overlap", "iot_geo.hub_spoke", "iot_geo.evidence",
     "iot_geo.checks", "iot_geo.batch", "iot_geo.iots"],
    ["iot_geo.pages", "iot_geo.maps", "iot_geo.report", "iot_geo.cli", "iot_geo.__main__"],
]


def test_every_module_has_a_layer_and_imports_only_from_its_own_or_those_above() -> None:
    layer = {name: i for i, names in enumerate(LAYERS) for name in names}
    assert sorted(set(PKG) - set(layer)) == [], "a module the README's layout table does not place"
    upward = [f"{mod.name} (layer {layer[mod.name] + 1}) imports {target} (layer {layer[target] + 1})"
              for mod in PKG.values()
              for target, _line, _local in _edges(mod) if layer[target] > layer[mod.name]]
    assert upward == []


def test_the_readme_layout_table_names_every_module() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## How the code is laid out"):]
    section = section[: section.index("\n## ", 3)]
    named = {f"iot_geo.{m.strip('`').replace('/', '.')}" for m in re.findall(r"`[a-z_/]+`", section)}
    missing = sorted(n for names in LAYERS for n in names if n not in named
                     and n not in ("iot_geo", "iot_geo.__main__", "iot_geo.sources"))
    assert missing == []
