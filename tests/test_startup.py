"""Start-up stays light: ``import iot_geo`` and ``iot-geo --help`` load no heavy library."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("geopandas", "folium", "matplotlib", "pandas", "shapely", "scipy", "osmnx")


def _imported(code: str) -> set[str]:
    res = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True)
    return {line.split("|")[-1].strip() for line in res.stderr.splitlines() if line.startswith("import time:")}


def test_import_iot_geo_is_light():
    mods = _imported("import iot_geo")
    assert "iot_geo" in mods
    assert not {m for m in HEAVY if m in mods}, sorted(m for m in HEAVY if m in mods)


def test_cli_help_is_light():
    mods = _imported("import sys; sys.argv = ['iot-geo', '--help']\nfrom iot_geo.cli import main\ntry:\n main()\n"
                     "except SystemExit:\n pass")
    assert "iot_geo.cli" in mods
    assert not {m for m in HEAVY if m in mods}, sorted(m for m in HEAVY if m in mods)


def test_lazy_names_resolve():
    import iot_geo

    assert iot_geo.Speeds.__module__ == "iot_geo.speeds"
    assert iot_geo.load_network.__module__ == "iot_geo.network"
    assert isinstance(iot_geo.__version__, str) and iot_geo.__version__
    assert set(iot_geo.__all__) <= set(dir(iot_geo))
    for name in iot_geo.__all__:
        assert getattr(iot_geo, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        iot_geo.nope


def test_submodules_named_like_functions_keep_the_functions():
    code = ("import iot_geo\nfrom iot_geo.overlap import bid_catchments\nimport iot_geo.hub_spoke\n"
            "from iot_geo.locate import locate\n"
            "assert callable(iot_geo.overlap) and callable(iot_geo.hub_spoke) and callable(iot_geo.locate)\n"
            "assert iot_geo.overlap.__module__ == 'iot_geo.overlap' and iot_geo.locate is locate\n"
            "assert callable(bid_catchments)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
