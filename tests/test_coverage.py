"""Coverage, cold spots and where next: hand-built answers, a myopic-greedy case, national-size covering."""

from __future__ import annotations

import itertools
import time
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from helpers import X0, Y0, people_along_road, straight_road
from shapely.geometry import Point

from iot_geo import InvalidInputError
from iot_geo.batch import DEPRIVED_WEIGHT, coverage, coverage_totals, where_next
from iot_geo.covering import greedy_cover, maximal_covering, pick_order
from iot_geo.maps import coverage_layer


@pytest.fixture(scope="module")
def road():
    return straight_road()


@pytest.fixture(scope="module")
def people():
    return people_along_road()


def _site(name, km):
    return gpd.GeoDataFrame({"site_id": [name]}, geometry=[Point(X0 + 1000 * km, Y0)], crs=27700)


def _sites(pairs):
    return gpd.GeoDataFrame({"site_id": [p[0] for p in pairs]},
                            geometry=[Point(X0 + 1000 * p[1], Y0) for p in pairs], crs=27700)


def test_coverage_minutes_and_cold_spots(road, people):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cov = coverage(road, _sites([("a", 5), ("b", 20)]), minutes=3, population=people)
    assert len(cov) == 31
    m = dict(zip(cov["lsoa_code"], cov["minutes"], strict=True))
    assert m["T005"] == pytest.approx(0.0) and m["T007"] == pytest.approx(2.0) and m["T018"] == pytest.approx(2.0)
    assert np.isnan(m["T010"]) and np.isnan(m["T000"])  # 5 minutes from a, 10 from b: past the band
    covered = sorted(int(c[1:]) for c in cov.loc[cov["covered"], "lsoa_code"])
    assert covered == [*range(2, 9), *range(17, 24)]
    near = dict(zip(cov["lsoa_code"], cov["nearest_site"], strict=True))
    assert near["T004"] == "a" and near["T021"] == "b" and pd.isna(near["T012"])
    assert cov.attrs["minutes"] == 3 and isinstance(cov.attrs["truncated"], bool)
    assert {"lep_codes", "region_name"} <= set(cov.columns)
    assert "outside_network" not in cov.columns or cov["outside_network"].dtype == bool

    tot = coverage_totals(cov)
    allrow = tot[tot["by"] == "all"].iloc[0]
    people_cov = sum(100 * (k + 1) for k in [*range(2, 9), *range(17, 24)])
    assert allrow["people"] == sum(100 * (k + 1) for k in range(31))
    assert allrow["people_covered"] == people_cov and allrow["lsoas_covered"] == 14
    assert allrow["people_not_covered"] == allrow["people"] - people_cov
    # IMD decile d holds km d-1, d+9, d+19 (and km 30 for decile 1)
    imd = tot[tot["by"] == "imd_decile"].set_index("code")
    assert list(imd.index) == [str(d) for d in range(1, 11)]
    kms3 = [2, 12, 22]  # decile 3: km 2 and 22 covered, km 12 not
    assert imd.loc["3", "people"] == sum(100 * (k + 1) for k in kms3)
    assert imd.loc["3", "people_covered"] == 100 * 3 + 100 * 23
    # LEP and region rows exist (the points are in Rutland) and cover every LSOA
    assert (tot["by"] == "region").any() and tot.loc[tot["by"] == "region", "lsoas"].sum() == 31
    layer = coverage_layer(cov)
    assert len(layer._children) == 31 - 14


def test_coverage_totals_carry_outside_network():
    cov = pd.DataFrame({"people": [10.0, 20.0, 30.0, np.nan], "covered": [True, False, False, False],
                        "outside_network": [False, False, True, False], "imd_decile": [1, 1, 2, 2],
                        "minutes": [1.0, np.nan, np.nan, np.nan]})
    tot = coverage_totals(cov)
    row = tot[tot["by"] == "all"].iloc[0]
    assert row["people"] == 60 and row["people_covered"] == 10 and row["people_outside_network"] == 30
    assert row["share_covered"] == pytest.approx(round(10 / 60, 4))
    d2 = tot[(tot["by"] == "imd_decile") & (tot["code"] == "2")].iloc[0]
    assert d2["lsoas"] == 2 and d2["people"] == 30 and d2["people_covered"] == 0


def test_where_next_known_answer(road, people):
    cands = _sites([("c3", 3), ("c12", 12), ("c26", 26), ("c27", 27)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        picks = where_next(road, _site("have", 20), cands, k=2, minutes=2, population=people)
    # the site at km 20 covers km 18..22; c27 covers 25..29 (the most people left), then c12 covers 10..14
    assert list(picks["site_id"]) == ["c27", "c12"]
    added27 = sum(100 * (k + 1) for k in range(25, 30))
    added12 = sum(100 * (k + 1) for k in range(10, 15))
    base = sum(100 * (k + 1) for k in range(18, 23))
    assert list(picks["people_added"]) == [added27, added12]
    assert list(picks["people_total"]) == [base + added27, base + added27 + added12]
    assert picks.attrs["base_people"] == base and "HiGHS" in picks.attrs["solver"]
    assert picks.attrs["objective"] == base + added27 + added12 and list(picks["rank"]) == [1, 2]


def test_where_next_deprivation_weighting_changes_the_pick(road):
    # two candidates reach 500 people each; only the first reaches deprived areas (decile 1) -> double weight
    km = np.arange(31)
    dec = np.where(km < 10, 1, 5)
    pop = gpd.GeoDataFrame({"lsoa_code": [f"T{k:03d}" for k in km], "people": np.where((km == 3) | (km == 25), 500.0,
                                                                                        0.0) + np.where(km == 26, 1, 0),
                            "people_16_59": 0.0, "imd_decile": dec},
                           geometry=[Point(X0 + 1000 * k, Y0) for k in km], crs=27700)
    cands = _sites([("poor", 3), ("rich", 25)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = where_next(road, _site("have", 15), cands, k=1, minutes=1, population=pop)
        weighted = where_next(road, _site("have", 15), cands, k=1, minutes=1, population=pop, weights="deprivation")
    assert list(plain["site_id"]) == ["rich"] and plain["people_added"].iloc[0] == 501
    assert list(weighted["site_id"]) == ["poor"] and weighted["people_added"].iloc[0] == 500
    assert weighted["weight_added"].iloc[0] == 500 * DEPRIVED_WEIGHT and weighted.attrs["weights"] == "deprivation"
    with pytest.raises(InvalidInputError, match="weights"):
        where_next(road, _site("have", 15), cands, k=1, minutes=1, population=pop, weights="poverty")
    with pytest.raises(InvalidInputError, match="only 2 candidate"):
        where_next(road, _site("have", 15), cands, k=3, minutes=1, population=pop)


def test_covering_solver_exact_where_greedy_is_myopic_and_pick_order():
    w = np.ones(6)
    cover = sp.csr_matrix(np.array([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1]], dtype=bool))
    base = np.zeros(6, bool)
    g, g_obj = greedy_cover(cover, w, base, 2)
    x, obj, solver = maximal_covering(cover, w, base, 2)
    assert g[0] == 0 and g_obj == 5.0 and sorted(x) == [1, 2] and obj == 6.0
    assert pick_order(cover, w, base, x) == [(1, 3.0, 3.0), (2, 3.0, 6.0)]


def test_covering_national_size_synthetic():
    """2,000 candidates by 30,000 LSOAs (each candidate reaches a local cluster of LSOAs): solved, at least greedy."""
    rng = np.random.default_rng(11)
    n_c, n_d = 2000, 30_000
    lx, ly = rng.uniform(0, 600, n_d), rng.uniform(0, 500, n_d)  # km, England-sized box
    cx, cy = rng.uniform(0, 600, n_c), rng.uniform(0, 500, n_c)
    from scipy.spatial import cKDTree

    pairs = cKDTree(np.column_stack([cx, cy])).query_ball_point(np.column_stack([lx, ly]), r=12.0)
    r = np.concatenate([np.asarray(p, dtype=np.int64) for p in pairs])
    c = np.repeat(np.arange(n_d), [len(p) for p in pairs])
    cover = sp.csr_matrix((np.ones(len(r), bool), (r, c)), shape=(n_c, n_d))
    w = rng.integers(1000, 3000, n_d).astype(float)
    base = rng.random(n_d) < 0.5
    t0 = time.perf_counter()
    chosen, obj, solver = maximal_covering(cover, w, base, 20, time_limit=60)
    elapsed = time.perf_counter() - t0
    _, g_obj = greedy_cover(cover, w, base, 20)
    assert len(chosen) == 20 and obj >= g_obj - 1e-6 and "HiGHS" in solver
    order = pick_order(cover, w, base, chosen)
    assert order[-1][2] == pytest.approx(obj)
    assert all(a[1] >= b[1] - 1e-9 for a, b in itertools.pairwise(order))
    print(f"national-size covering: {n_c} candidates x {n_d} LSOAs solved in {elapsed:.1f} s ({solver})")
