"""Travel times, isochrones and people reached: known answers and cross-checks on real data."""

from __future__ import annotations

import itertools
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import X0, Y0, km_per_minute, raw_network
from scipy.spatial import cKDTree
from shapely.geometry import Point

from iot_geo import InvalidInputError
from iot_geo.catchment import as_sites, catchments, lsoa_times, people_reached, times_to_points, travel_times
from iot_geo.grids import ACCESS_MAX_M, time_grid
from iot_geo.network import load_network
from iot_geo.search import sample_segments

OAKHAM = (52.6707, -0.7270)
UPPINGHAM = (52.5890, -0.7232)
COTTESMORE = (52.7131, -0.6660)


def bng_sites(**pts):
    return gpd.GeoDataFrame({"site_id": list(pts)}, geometry=[Point(*p) for p in pts.values()], crs=27700)


@pytest.fixture(scope="module")
def rutland(data_dir):
    return load_network(data_dir / "osm/rutland-2022-07-20.osm.pbf", mode="drive")


@pytest.fixture(scope="module")
def line():
    """0 --2 km-- 1 --1 km (one-way 1->2)-- 2, plus an island 3--4 far away."""
    nodes = {0: (X0, Y0), 1: (X0 + 2000, Y0), 2: (X0 + 3000, Y0), 3: (X0 + 50_000, Y0), 4: (X0 + 51_000, Y0)}
    return km_per_minute(raw_network(nodes, [(0, 1, True, True), (1, 2, True, False), (3, 4, True, True)]))


def test_site_mid_edge_and_one_way_both_directions(line):
    site = bng_sites(mid=(X0 + 1000, Y0))  # on the 0-1 road, half way
    to = travel_times(line, site, max_minutes=30).per_site[0]
    assert to[0] == pytest.approx(1.0) and to[1] == pytest.approx(1.0)
    assert np.isinf(to[2])  # 2 -> 1 is against the one-way street
    frm = travel_times(line, site, max_minutes=30, direction="from_site").per_site[0]
    assert frm[2] == pytest.approx(2.0)  # 1 -> 2 is allowed
    assert np.isinf(to[3]) and np.isinf(frm[4])  # the island is never reached


def test_access_leg_and_cutoff(line):
    site = bng_sites(off=(X0 + 1000, Y0 + 300))  # 300 m off the road: 3 minutes on foot at 6 km/h
    tt = travel_times(line, site, max_minutes=3.5)
    assert tt.sites["snap_m"].iloc[0] == pytest.approx(300)
    assert tt.sites["access_minutes"].iloc[0] == pytest.approx(3.0)  # 300 m at 100 m a minute, no parking
    assert np.isinf(tt.per_site[0, 0])  # 3 + 1 = 4 minutes is beyond the 3.5 cutoff
    tt2 = travel_times(line, site, max_minutes=10)
    assert tt2.per_site[0, 0] == pytest.approx(4.0) and tt2.per_site[0, 1] == pytest.approx(4.0)


def test_points_on_the_same_segment_go_direct(line):
    site = bng_sites(a=(X0 + 500, Y0))
    pts = gpd.GeoDataFrame(geometry=[Point(X0 + 1500, Y0), Point(X0 + 2500, Y0 + 100), Point(X0 + 50_500, Y0)],
                           crs=27700)
    t = times_to_points(line, pts, site, max_minutes=30)
    assert t["a"].iloc[0] == pytest.approx(1.0)  # 1 km along the same road
    # the second point is by the one-way street 1 -> 2, a dead end away from the site: it starts instead from
    # the nearest road that leads back (node 1, 510 m on foot at 6 km/h), then 1.5 km to the site
    assert t["a"].iloc[1] == pytest.approx(np.hypot(500, 100) / 100 + 1.5)
    frm = times_to_points(line, pts, site, max_minutes=30, direction="from_site")
    assert frm["a"].iloc[1] == pytest.approx(1.5 + 0.5 + 1.0)
    assert np.isnan(t["minutes"].iloc[2]) and pd.isna(t["nearest_site"].iloc[2])


def test_travel_times_equal_networkx_with_virtual_source(rutland):
    sites = pd.DataFrame({"site_id": ["Oakham", "Uppingham", "Cottesmore"],
                          "lat": [OAKHAM[0], UPPINGHAM[0], COTTESMORE[0]],
                          "lon": [OAKHAM[1], UPPINGHAM[1], COTTESMORE[1]]})
    for direction in ("to_site", "from_site"):
        tt = travel_times(rutland, sites, max_minutes=20, direction=direction)
        G = rutland.to_networkx()
        if direction == "to_site":
            G = G.reverse(copy=True)
        from iot_geo.search import site_sources

        s_idx, nodes, offs = site_sources(rutland, tt.sites, direction)
        for i in range(len(sites)):
            H = G.copy()
            for n, o in zip(nodes[s_idx == i], offs[s_idx == i], strict=True):
                H.add_edge("site", int(n), minutes=float(o))
            ref = nx.single_source_dijkstra_path_length(H, "site", cutoff=20, weight="minutes")
            ref.pop("site")
            ours = tt.per_site[i]
            assert set(np.flatnonzero(np.isfinite(ours))) == set(ref)
            np.testing.assert_allclose(ours[list(ref)], list(ref.values()), rtol=0, atol=1e-9)
        np.testing.assert_array_equal(tt.min, tt.per_site.min(axis=0))


def test_bad_sites_and_minutes(line, rutland):
    with pytest.raises(InvalidInputError, match=r"site 'far' is [\d,]+ m from the nearest usable road"):
        travel_times(line, bng_sites(far=(X0 + 20_000, Y0 + 5000)), max_minutes=10)
    # a site near only the disconnected island cannot join the main network
    with pytest.raises(InvalidInputError, match=r"'isle'"):
        travel_times(line, bng_sites(isle=(X0 + 50_500, Y0)), max_minutes=10)
    for bad in (0, -5, 300, float("nan")):
        with pytest.raises(InvalidInputError, match="minutes"):
            catchments(line, bng_sites(a=(X0, Y0)), minutes=[bad])
    with pytest.raises(InvalidInputError, match="duplicate site id 'x'"):
        as_sites(pd.DataFrame({"site_id": ["x", "x"], "lat": [52.6, 52.61], "lon": [-0.7, -0.7]}))
    with pytest.raises(InvalidInputError, match=r"outside Great Britain|swapped"):
        travel_times(rutland, {"Paris": (48.85, 2.35)}, max_minutes=10)
    with pytest.raises(InvalidInputError, match="direction"):
        travel_times(rutland, {"Oakham": OAKHAM}, max_minutes=10, direction="sideways")
    with pytest.raises(InvalidInputError, match=r"'Leicester'.*from the nearest usable road"):
        travel_times(rutland, {"Leicester": (52.636, -1.139)}, max_minutes=10)


def test_sample_segments_follow_geometry(line):
    x, y, seg, frac = sample_segments(line, np.array([0]), 250.0)
    assert len(x) == 9 and np.allclose(np.diff(x), 250) and np.allclose(y, Y0)
    assert frac[0] == 0 and frac[-1] == 1


@pytest.fixture(scope="module")
def rutland_catch(rutland, data_dir):
    sites = {"Oakham": OAKHAM, "Uppingham": UPPINGHAM}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return catchments(rutland, sites, minutes=(10, 15, 20))


def _denominators(data_dir):
    """People, 16-59s and IMD deciles per LSOA straight from the IoD 2019 spreadsheets."""
    pop = pd.read_excel(data_dir / "population/File_6_-_IoD2019_Population_Denominators.xlsx", sheet_name=1)
    code = next(c for c in pop.columns if "LSOA code" in c)
    allp = next(c for c in pop.columns if c.startswith("Total population"))
    p1659 = next(c for c in pop.columns if c.startswith("Population aged 16-59"))
    imd = pd.read_excel(data_dir / "population/File_1_-_IMD2019_Index_of_Multiple_Deprivation.xlsx", sheet_name=1)
    icode = next(c for c in imd.columns if "LSOA code" in c)
    dec = next(c for c in imd.columns if "Decile" in c)
    out = pd.DataFrame({"all": pop[allp].to_numpy(), "16_59": pop[p1659].to_numpy()}, index=pop[code].to_numpy())
    out["decile"] = imd.set_index(icode)[dec].reindex(out.index).to_numpy()
    return out


def test_catchment_columns_and_values(rutland_catch, rutland, data_dir):
    c = rutland_catch
    assert list(c.columns[:10]) == ["site_id", "group_id", "mode", "direction", "minutes", "area_km2", "people",
                                    "people_16_59", "people_unknown", "truncated"]
    assert c.geometry.name == "geometry" and c.columns[-1] == "geometry"
    assert len(c) == 6 and c.crs.to_epsg() == 27700 and c.is_valid.all()
    for _, g in c.groupby("site_id"):
        g = g.sort_values("minutes")
        assert g["area_km2"].is_monotonic_increasing and g["people"].is_monotonic_increasing
    oak = c[c["site_id"] == "Oakham"].set_index("minutes")
    # people and 16-59s against the source files (the IoD denominators), joined here by LSOA code
    times = lsoa_times(rutland, {"Oakham": OAKHAM}, max_minutes=20)
    src = _denominators(data_dir)
    for band in (10, 15, 20):
        codes = times.loc[times["minutes"] <= band, "lsoa_code"]
        ref = src.loc[codes]
        assert oak.loc[band, "people"] == ref["all"].sum() and oak.loc[band, "lsoas"] == len(codes)
        assert oak.loc[band, "people_16_59"] == ref["16_59"].sum() < oak.loc[band, "people"]
        for d in range(1, 11):
            assert oak.loc[band, f"imd_{d}"] == ref.loc[ref["decile"] == d, "all"].sum()
    assert oak.loc[10, "people"] > 10_000  # Oakham town (about 11,000 people) is within 10 minutes
    assert oak.loc[20, "truncated"]  # a 20-minute drive crosses Rutland


def test_bands_nest(rutland_catch):
    for _, g in rutland_catch.groupby("site_id"):
        geoms = list(g.sort_values("minutes").geometry)
        for small, big in itertools.pairwise(geoms):
            assert shapely.difference(small, big).area <= 1e-6 * small.area + 1.0


def _exact_times(net, node_t, direction, spacing=10.0):
    from iot_geo.search import segment_point_times

    segs = np.flatnonzero(np.isfinite(node_t[net.seg_a]) | np.isfinite(node_t[net.seg_b]))
    x, y, seg, frac = sample_segments(net, segs, spacing)
    t = segment_point_times(net, node_t, seg, frac, direction)
    ok = np.isfinite(t)
    return cKDTree(np.column_stack([x[ok], y[ok]])), t[ok]


def test_polygon_claims_nothing_unreachable(rutland):
    sites = {"Oakham": OAKHAM}
    res = 100.0
    tt = travel_times(rutland, sites, max_minutes=15)
    node_t = tt.per_site[0]
    grid = time_grid(rutland, node_t, direction="to_site", max_minutes=15, resolution=res,
                     snapped_sites=tt.sites)
    tree, t = _exact_times(rutland, node_t, "to_site")
    per_m = 1 / (rutland.speeds.access_kmh * 1000 / 60)
    slack = res * np.sqrt(2)
    rng = np.random.default_rng(7)
    for band in (10, 15):
        poly = grid.contour(band)
        minx, miny, maxx, maxy = poly.bounds
        cand = shapely.points(rng.uniform(minx, maxx, 4000), rng.uniform(miny, maxy, 4000))
        inside = cand[shapely.contains(poly, cand)]
        assert len(inside) > 200
        xy = shapely.get_coordinates(inside)
        for p in xy:
            idx = tree.query_ball_point(p, ACCESS_MAX_M + slack)
            assert idx, "a point inside the polygon is far from every reached road"
            d = np.hypot(*(tree.data[idx] - p).T)
            best = np.min(t[idx] + np.maximum(d - slack, 0) * per_m)
            assert best <= band + 1e-9
        # and every node reached in time lies inside (up to one cell diagonal)
        reached = np.flatnonzero(node_t <= band)
        nodes = shapely.points(rutland.node_x[reached], rutland.node_y[reached])
        assert (shapely.distance(poly, nodes) <= slack).all()


def test_unreachable_land_stays_outside(line):
    # a field 2 km from the only road is never inside, however long the band
    c = catchments(line, bng_sites(a=(X0 + 1000, Y0)), minutes=[30],
                   population=gpd.GeoDataFrame({"lsoa_code": [], "people": [], "people_16_59": []},
                                               geometry=[], crs=27700), warn_truncated=False)
    poly = c.geometry.iloc[0]
    assert not poly.contains(Point(X0 + 1000, Y0 + 2000))
    assert poly.contains(Point(X0 + 1000, Y0 + 200))
    minx, miny, maxx, maxy = poly.bounds
    assert maxy - Y0 <= ACCESS_MAX_M + 150  # access leg limit plus a cell
    assert maxx <= X0 + 3000 + ACCESS_MAX_M + 150  # the far end of the one-way street


def test_people_equal_direct_count_from_lsoa_times(rutland, rutland_catch):
    sites = {"Oakham": OAKHAM}
    times = lsoa_times(rutland, sites, max_minutes=20)
    pr = people_reached(rutland, sites, minutes=(10, 15, 20)).set_index("minutes")
    oak = rutland_catch[rutland_catch["site_id"] == "Oakham"].set_index("minutes")
    for band in (10, 15, 20):
        direct = times.loc[times["minutes"] <= band, "people"].sum()
        assert pr.loc[band, "people"] == direct == oak.loc[band, "people"]
        assert sum(pr.loc[band, f"imd_{d}"] for d in range(1, 11)) == pytest.approx(direct)


def test_union_reaches_at_least_each_site(rutland):
    sites = pd.DataFrame({"site_id": ["Oakham", "Uppingham"], "group_id": ["bid", "bid"],
                          "lat": [OAKHAM[0], UPPINGHAM[0]], "lon": [OAKHAM[1], UPPINGHAM[1]]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        each = catchments(rutland, sites, minutes=[15])
        both = catchments(rutland, sites, minutes=[15], union=True)
    assert len(both) == 1 and both["group_id"].iloc[0] == "bid" and both["site_id"].iloc[0] == ""
    assert both["people"].iloc[0] >= each["people"].max()
    assert both.geometry.iloc[0].area >= each.geometry.area.max()


def test_truncated_warns(rutland):
    with pytest.warns(UserWarning, match="edge of the loaded network"):
        catchments(rutland, {"Oakham": OAKHAM}, minutes=[25])
