"""overlap, bid_catchments and located_leps: what the mutation run found unpinned (issue 18)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers import X0, Y0, km_per_minute, raw_network
from shapely.geometry import Point

from iot_geo.bids import Bid
from iot_geo.overlap import bid_catchments, located_leps, overlap

OAKHAM = Point(486_000, 308_500)  # Rutland: GCGP LEP (E37000042) in 2017, Greater Lincolnshire (E37000060) in 2021


def make_bid(bid_id, points, vintage=None, lep=("E37000042",)):
    rows = [{"bid_id": bid_id, "site_id": f"{bid_id}-{i}", "name": f"{bid_id}-{i}", "role": "hub" if i == 0 else "spoke",
             "provider_id": "", "geometry": p} for i, p in enumerate(points)]
    sites = gpd.GeoDataFrame(rows, geometry="geometry", crs=27700) if rows else gpd.GeoDataFrame(
        {"bid_id": [], "site_id": [], "name": [], "role": [], "provider_id": []}, geometry=[], crs=27700)
    return Bid(bid_id, bid_id, "Lead College", "fe_college", [], list(lep), ["Test LEP"] * len(lep), None, None,
               ["digital"], [4], sites, vintage=vintage or {})


def road(y, mode="drive"):
    nodes = {i: (X0 + 1000 * i, y) for i in range(11)}
    return km_per_minute(raw_network(nodes, [(i, i + 1, True, True) for i in range(10)]), mode=mode)


def people(y):
    return gpd.GeoDataFrame({"lsoa_code": [f"T{y}-{k}" for k in range(11)], "people": [10.0] * 11,
                             "people_16_59": [5.0] * 11, "imd_decile": pd.array([3] * 11, dtype="Int64")},
                            geometry=[Point(X0 + 1000 * k, y) for k in range(11)], crs=27700)


def test_located_leps_follow_each_bids_vintage_and_skip_empty_bids(monkeypatch, tmp_path, data_dir):
    monkeypatch.setenv("IOT_GEO_DATA", str(tmp_path))  # read from data_dir only
    bids = [make_bid("empty", [], vintage={"lep": 2017}), make_bid("then", [OAKHAM], vintage={"lep": 2017}),
            make_bid("now", [OAKHAM]), make_bid("void", [], vintage={"lep": 2019})]
    got = located_leps(bids, data_dir=data_dir)
    assert got == {"empty": {}, "then": {"E37000042": "Greater Cambridge and Greater Peterborough"},
                   "now": {"E37000060": "Greater Lincolnshire"}, "void": {}}
    # a vintage whose bids have no sites does not stop the next vintage's bids being located
    late = [make_bid("void", [], vintage={"lep": 2019}), make_bid("later", [OAKHAM], vintage={"lep": 2021})]
    assert located_leps(late, data_dir=data_dir)["later"] == {"E37000060": "Greater Lincolnshire"}
    # overlap locates its bids in data_dir too
    a, b = make_bid("a", [Point(X0 + 3000, Y0)]), make_bid("b", [Point(X0 + 4000, Y0)], lep=("E37000001",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = overlap(road(Y0), [a, b], minutes=[2], population=people(Y0), data_dir=data_dir)
    assert o["people_both"].tolist() == [40]  # km 2..5 within 2 min of both (10 people each)


def test_bid_catchments_table_names_each_bid_on_its_own_network():
    drive, walk = road(Y0), road(Y0 + 50_000)
    pop = pd.concat([people(Y0), people(Y0 + 50_000)], ignore_index=True)
    a = make_bid("a", [Point(X0 + 3000, Y0)])
    b = make_bid("b", [Point(X0 + 3000, Y0 + 50_000)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bc = bid_catchments([drive, walk], [a, b], minutes=[2], population=pop)
    assert bc.table["group_id"].tolist() == ["a", "b"] and bc.table.crs.to_epsg() == 27700
    assert bc.mode == "drive"
    # minutes from a's site at km 3 to each area of its road (km 0..6 kept); b's road is never reached from a
    assert np.allclose(bc.minutes[0, :7], [3, 2, 1, 0, 1, 2, 3]) and np.isinf(bc.minutes[0, 7:]).all()
    assert np.allclose(bc.minutes[1, 11:18], [3, 2, 1, 0, 1, 2, 3]) and np.isinf(bc.minutes[1, :11]).all()


def test_overlap_without_bids_says_what_it_needs():
    with pytest.raises(TypeError, match=r"^overlap\(\) needs the bids$"):
        overlap(road(Y0))
