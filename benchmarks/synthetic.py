"""Synthetic road-like networks for benchmarks: a jittered street grid with arterials.

``road_grid(n_nodes)`` lays about ``n_nodes`` junctions 200 m apart in British
National Grid coordinates, joins neighbours with straight streets, removes 10 %
of the streets at random (dead ends and detours, as in real towns), makes every
eighth row and column an A road (``primary``) and 5 % of the streets one-way.
``population(net)`` scatters small areas over it with 1,000-2,000 people each.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from iot_geo.network import TravelNetwork
from iot_geo.osm import RawNetwork

ORIGIN = (300_000.0, 200_000.0)
SPACING = 200.0


def road_grid(n_nodes: int, *, seed: int = 0) -> RawNetwork:
    rng = np.random.default_rng(seed)
    side = int(round(np.sqrt(n_nodes)))
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    x = ORIGIN[0] + jj * SPACING + rng.uniform(-40, 40, ii.size)
    y = ORIGIN[1] + ii * SPACING + rng.uniform(-40, 40, ii.size)
    idx = ii * side + jj
    right = jj < side - 1
    up = ii < side - 1
    a = np.concatenate([idx[right], idx[up]])
    b = np.concatenate([idx[right] + 1, idx[up] + side])
    row = np.concatenate([ii[right], jj[up]])  # the line the street lies on
    keep = rng.random(a.size) > 0.10
    arterial = row % 8 == 0
    keep |= arterial
    a, b, arterial = a[keep], b[keep], arterial[keep]
    oneway = (rng.random(a.size) < 0.05) & ~arterial
    n = a.size
    seg_x = np.column_stack([x[a], x[b]]).ravel()
    seg_y = np.column_stack([y[a], y[b]]).ravel()
    return RawNetwork(
        node_id=np.arange(side * side, dtype=np.int64), node_x=x, node_y=y,
        seg_a=a.astype(np.int64), seg_b=b.astype(np.int64), seg_ptr=np.arange(0, 2 * n + 1, 2, dtype=np.int64),
        seg_x=seg_x, seg_y=seg_y, seg_fwd_ok=np.ones(n, bool), seg_bwd_ok=~oneway,
        seg_highway=np.where(arterial, "primary", "residential").astype(object),
        seg_maxspeed=np.full(n, None, dtype=object),
    )


def network(n_nodes: int, *, seed: int = 0) -> TravelNetwork:
    return TravelNetwork.from_raw(road_grid(n_nodes, seed=seed), mode="drive",
                                  source={"file": f"synthetic-{n_nodes}", "format": "synthetic"})


def population(net: TravelNetwork, *, per_km2: float = 4.0, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = net.bounds
    n = max(int((maxx - minx) * (maxy - miny) / 1e6 * per_km2), 10)
    people = rng.integers(1000, 2000, n).astype(float)
    return gpd.GeoDataFrame(
        {"lsoa_code": [f"S{i:07d}" for i in range(n)], "people": people,
         "people_16_59": np.round(people * 0.58), "imd_decile": pd.array(rng.integers(1, 11, n), dtype="Int64")},
        geometry=gpd.points_from_xy(rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)), crs=27700,
    )


def sites(net: TravelNetwork, k: int, *, seed: int = 2) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = net.bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    w, h = (maxx - minx) / 4, (maxy - miny) / 4
    return gpd.GeoDataFrame({"site_id": [f"s{i}" for i in range(k)]},
                            geometry=gpd.points_from_xy(rng.uniform(cx - w, cx + w, k), rng.uniform(cy - h, cy + h, k)),
                            crs=27700)
