"""The three notebooks run top to bottom on the shared data (any error fails)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_three_notebooks_without_outputs():
    assert [p.name for p in NOTEBOOKS] == ["01_bidder.ipynb", "02_assessor.ipynb", "03_analyst.ipynb"]
    for p in NOTEBOOKS:
        nb = nbformat.read(p, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{p.name}: strip outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(html) >= 3  # tables and maps render as HTML
    assert [o for o in outputs if "image/png" in o.get("data", {})], "each notebook shows at least one plot"
    maps = [h for h in html if "L.map(" in h or "leaflet" in h.lower()]
    if path.stem != "03_analyst":
        assert maps, "the notebook shows its map"
    for h in maps:  # offline: Leaflet inlined into the page, nothing fetched from a CDN
        assert "cdn.jsdelivr.net/npm/leaflet" not in h and "<iframe srcdoc=" in h
