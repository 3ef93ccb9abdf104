"""The snapping index: exact nearest points, by hand and against shapely on real and crowded roads."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from iot_geo.network import load_network
from iot_geo.snapping import SnapIndex


def _flat(lines: list[list[tuple[float, float]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ptr = np.concatenate([[0], np.cumsum([len(ln) for ln in lines])]).astype(np.int64)
    xy = np.asarray([p for ln in lines for p in ln], float)
    return ptr, xy[:, 0].copy(), xy[:, 1].copy()


def _shapely_nearest(ptr, x, y, ids, px, py, max_distance=None):
    geoms = np.asarray([shapely.linestrings(np.column_stack([x[ptr[i]:ptr[i + 1]], y[ptr[i]:ptr[i + 1]]]))
                        for i in ids])
    tree = shapely.STRtree(geoms)
    pts = shapely.points(px, py)
    (pi, ti), d = tree.query_nearest(pts, max_distance=max_distance, return_distance=True, all_matches=False)
    dist = np.full(len(px), np.inf)
    seg = np.full(len(px), -1)
    frac = np.zeros(len(px))
    dist[pi], seg[pi] = d, np.asarray(ids)[ti]
    frac[pi] = shapely.line_locate_point(geoms[ti], pts[pi]) / shapely.length(geoms[ti])
    return seg, frac, dist


def test_by_hand():
    # an L: (0,0) -> (100,0) -> (100,100); and a short line far off
    ptr, x, y = _flat([[(0, 0), (100, 0), (100, 100)], [(1000, 1000), (1010, 1000)]])
    idx = SnapIndex(ptr, x, y, np.array([0, 1]), spacing=30)
    got = idx.query(np.array([50.0, 130.0, 100.0, 5000.0, -3.0]), np.array([10.0, 50.0, 0.0, 0.0, -4.0]),
                    max_distance=1000)
    assert got["seg"].tolist() == [0, 0, 0, -1, 0]
    np.testing.assert_allclose(got["distance"].to_numpy()[[0, 1, 2, 4]], [10.0, 30.0, 0.0, 5.0])
    np.testing.assert_allclose(got["frac"].to_numpy()[[0, 1, 2, 4]], [50 / 200, 150 / 200, 100 / 200, 0.0])
    assert np.isinf(got["distance"].iloc[3])
    # only the indexed lines are candidates
    only1 = SnapIndex(ptr, x, y, np.array([1])).query(np.array([50.0]), np.array([10.0]))
    assert only1["seg"].iloc[0] == 1 and only1["distance"].iloc[0] == pytest.approx(np.hypot(950, 990))


def test_crowded_roads_against_shapely():
    """Many roads close together: the first candidates do not settle it, the exact fallback must."""
    rng = np.random.default_rng(3)
    lines = []
    for _ in range(400):
        start = rng.uniform(0, 500, 2)
        steps = rng.normal(0, 15, (rng.integers(2, 6), 2))
        lines.append([tuple(start), *map(tuple, start + np.cumsum(steps, axis=0))])
    ptr, x, y = _flat(lines)
    ids = np.arange(0, 400, 2)
    px, py = rng.uniform(-200, 700, 3000), rng.uniform(-200, 700, 3000)
    got = SnapIndex(ptr, x, y, ids, spacing=50).query(px, py, max_distance=150)
    seg, frac, dist = _shapely_nearest(ptr, x, y, ids, px, py, max_distance=150)
    np.testing.assert_allclose(got["distance"].to_numpy(), dist, rtol=0, atol=1e-9)
    same = got["seg"].to_numpy() == seg
    assert same.mean() > 0.99  # the rest are ties between equally near roads
    np.testing.assert_allclose(got["frac"].to_numpy()[same], frac[same], atol=1e-9)


def test_rutland_against_shapely(data_dir):
    net = load_network(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    rng = np.random.default_rng(0)
    x0, y0, x1, y1 = net.bounds
    px, py = rng.uniform(x0, x1, 5000), rng.uniform(y0, y1, 5000)
    got = net.snap(px, py, max_distance=1000.0)
    ids = np.flatnonzero(net.snappable)
    seg, frac, dist = _shapely_nearest(net.seg_ptr, net.seg_x, net.seg_y, ids, px, py, max_distance=1000.0)
    np.testing.assert_allclose(got["distance"].to_numpy(), dist, rtol=0, atol=1e-6)
    same = got["seg"].to_numpy() == seg
    assert same.mean() > 0.99
    np.testing.assert_allclose(got["frac"].to_numpy()[same], frac[same], atol=1e-9)
    assert (got["seg"].to_numpy() >= 0).sum() == np.isfinite(dist).sum() > 1000


def test_windowed_index_on_large_networks_agrees(data_dir, monkeypatch):
    """Past SNAP_TREE_CACHE_MAX segments the index is built per call over a window; the answer is the same."""
    import iot_geo.network as network_mod

    net = load_network(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    rng = np.random.default_rng(5)
    x0, y0, x1, y1 = net.bounds
    px, py = rng.uniform(x0, (x0 + x1) / 2, 500), rng.uniform(y0, (y0 + y1) / 2, 500)
    whole = net.snap(px, py, max_distance=800.0)
    monkeypatch.setattr(network_mod, "SNAP_TREE_CACHE_MAX", 10)
    net._snap_index = None
    windowed = net.snap(px, py, max_distance=800.0)
    assert net._snap_index is None  # nothing kept
    np.testing.assert_allclose(windowed["distance"].to_numpy(), whole["distance"].to_numpy(), atol=1e-9)
    assert (windowed["seg"].to_numpy() >= 0).sum() > 100
