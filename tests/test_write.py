"""ig.write: one call writes a result as GeoPackage, GeoParquet or CSV with its provenance."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from helpers import X0, Y0, km_per_minute, raw_network
from shapely.geometry import Point

from iot_geo import provenance
from iot_geo.catchment import catchments
from iot_geo.errors import InvalidInputError
from iot_geo.outputs import write


@pytest.fixture(scope="module")
def result():
    """Catchments of one site on a 10 km road (1 km a minute) with 100 people a km."""
    net = km_per_minute(raw_network({i: (X0 + 1000 * i, Y0) for i in range(11)},
                                    [(i, i + 1, True, True) for i in range(10)]))
    pop = gpd.GeoDataFrame({"lsoa_code": [f"T{k}" for k in range(11)], "people": [100.0] * 11,
                            "people_16_59": [60.0] * 11, "imd_decile": pd.array([5] * 11, dtype="Int64")},
                           geometry=[Point(X0 + 1000 * k, Y0) for k in range(11)], crs=27700)
    site = gpd.GeoDataFrame({"site_id": ["s"], "name": ["=1+1 site"]}, geometry=[Point(X0 + 5000, Y0)], crs=27700)
    with pytest.warns(UserWarning, match="reach the edge"):  # the road ends at km 0 and km 10
        return net, catchments(net, site, minutes=[2, 3], population=pop)


def test_people_in_results(result):
    _, c = result
    assert c.set_index("minutes")["people"].to_dict() == {2: 500, 3: 700}  # km 3..7, km 2..8


@pytest.mark.parametrize("suffix", [".gpkg", ".parquet", ".csv"])
def test_write_round_trips_with_provenance(result, tmp_path, suffix):
    net, c = result
    path = write(c, tmp_path / f"c{suffix}", networks=[net], options={"minutes": [2, 3]})
    if suffix == ".csv":
        back = pd.read_csv(path)
        assert back["people"].tolist() == [500, 700]
    else:
        back = gpd.read_file(path, layer="c") if suffix == ".gpkg" else gpd.read_parquet(path)
        assert back.crs.to_epsg() == 27700
        assert back["people"].tolist() == [500, 700]
        assert back.geometry.area.round(3).tolist() == c.geometry.area.round(3).tolist()
    st = provenance.read(path)
    assert st["options"] == {"minutes": [2, 3]}
    assert st["networks"][0]["mode"] == "drive" and st["networks"][0]["nodes"] == net.n_nodes
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"c{suffix}"] + (["c.provenance.json"] if suffix == ".csv" else []))  # nothing temporary left


def test_write_refuses_unknown_suffix(result, tmp_path):
    with pytest.raises(InvalidInputError, match=r"write a \.gpkg, \.parquet or \.csv file"):
        write(result[1], tmp_path / "c.shp")


def test_explore_works_on_results(result):
    m = result[1].explore(column="people", scheme="quantiles", k=2)  # needs mapclassify
    assert "people" in m.get_root().render()
