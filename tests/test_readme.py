"""Every command the README shows runs as written (the two set-up lines aside).

The commands run verbatim with ``bash`` in a temporary folder laid out like a
checkout: ``data/`` and ``notebooks/`` of this repository linked in, and
``../shared`` beside it linked to the shared data, so that relative paths in
the README resolve as they do for a user. ``HOME`` is a fresh folder (``~``
in a command lands there), ``IOT_GEO_DATA`` is the shared data directory as
the README says, and downloads go to a mirror of the data directory served on
127.0.0.1 (``IOT_GEO_BASE_URL``), since this machine has no internet.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def readme_commands() -> list[str]:
    """Shell commands: lines of ```bash blocks after the first (the set-up block) and `iot-geo ...` in tables."""
    text = README.read_text(encoding="utf-8")
    cmds: list[str] = []
    for block in _blocks(text, "bash")[1:]:
        cmds += [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]
    for line in text.splitlines():
        if line.startswith("|"):
            cmds += [c for c in re.findall(r"`([^`]+)`", line) if c.startswith("iot-geo ")]
    return list(dict.fromkeys(cmds))


def readme_python() -> list[str]:
    return _blocks(README.read_text(encoding="utf-8"), "python")


def test_readme_starts_with_the_two_commands() -> None:
    first = _blocks(README.read_text(encoding="utf-8"), "bash")[0].strip().splitlines()
    assert len(first) == 2
    assert "pip install -e" in first[0] and "demo" in first[0]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert first[1].strip() in ci  # .ci/run calls the README's test command


@pytest.fixture(scope="module")
def mirror(data_dir: Path):
    handler = functools.partial(_Quiet, directory=str(data_dir))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, mirror: str) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("readme")
    work = root / "iot-geo"
    work.mkdir()
    for name in ("data", "notebooks", "web"):
        (work / name).symlink_to(REPO / name)
    (root / "shared").mkdir()
    (root / "shared" / "data").symlink_to(data_dir)
    home = root / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "IOT_GEO_DATA": str(data_dir), "IOT_GEO_BASE_URL": mirror,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return work, env


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_runs(command: str, checkout: tuple[Path, dict[str, str]]) -> None:
    work, env = checkout
    if command.startswith(".venv/bin/"):
        command = command.replace(".venv/bin/", "", 1)  # the venv this test runs in is first on PATH
    run = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"{command}\nstdout:\n{run.stdout[-2000:]}\nstderr:\n{run.stderr[-3000:]}"
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("index", range(len(readme_python())))
def test_readme_python_runs(index: int, checkout: tuple[Path, dict[str, str]]) -> None:
    work, env = checkout
    code = readme_python()[index]
    run = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"{code}\n{run.stderr[-3000:]}"


def test_there_are_commands_to_run() -> None:
    cmds = readme_commands()
    assert len(cmds) >= 10 and all(shlex.split(c) for c in cmds)
