"""Hand-built networks with known answers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from iot_geo.network import TravelNetwork
from iot_geo.osm import RawNetwork
from iot_geo.speeds import Speeds


def raw_network(nodes: dict[int, tuple[float, float]], segs: list[tuple]) -> RawNetwork:
    """``segs``: (a, b, fwd_ok, bwd_ok[, via_points[, highway[, maxspeed]]]) with straight or bent geometry."""
    ids = sorted(nodes)
    pos = {n: i for i, n in enumerate(ids)}
    xs, ys, ptr = [], [], [0]
    a, b, f, bw, hw, ms = [], [], [], [], [], []
    for s in segs:
        u, v, fo, bo = s[:4]
        via = s[4] if len(s) > 4 and s[4] else []
        coords = [nodes[u], *via, nodes[v]]
        xs += [c[0] for c in coords]
        ys += [c[1] for c in coords]
        ptr.append(ptr[-1] + len(coords))
        a.append(pos[u])
        b.append(pos[v])
        f.append(fo)
        bw.append(bo)
        hw.append(s[5] if len(s) > 5 else "residential")
        ms.append(s[6] if len(s) > 6 else None)
    return RawNetwork(
        node_id=np.asarray(ids, dtype=np.int64),
        node_x=np.asarray([nodes[n][0] for n in ids], float), node_y=np.asarray([nodes[n][1] for n in ids], float),
        seg_a=np.asarray(a, np.int64), seg_b=np.asarray(b, np.int64), seg_ptr=np.asarray(ptr, np.int64),
        seg_x=np.asarray(xs, float), seg_y=np.asarray(ys, float), seg_fwd_ok=np.asarray(f), seg_bwd_ok=np.asarray(bw),
        seg_highway=np.asarray(hw, dtype=object), seg_maxspeed=np.asarray(ms, dtype=object),
    )


def km_per_minute(raw: RawNetwork, mode: str = "drive", access_kmh: float = 6.0) -> TravelNetwork:
    """Every road at 60 km/h (1 km a minute), no parking time, access on foot at 6 km/h (100 m a minute)."""
    return TravelNetwork.from_raw(raw, mode=mode, speeds=Speeds(mode, constant_kmh=60.0, park_minutes=0.0,
                                                               access_kmh=access_kmh))


# Points in Rutland (EPSG:27700 origin offsets keep the hand-built nets inside GB for lat/lon checks)
X0, Y0 = 480_000.0, 300_000.0


def straight_road() -> TravelNetwork:
    """A straight two-way road 30 km long from (X0, Y0) east; nodes every km; 1 km a minute, access 100 m a minute."""
    nodes = {i: (X0 + 1000 * i, Y0) for i in range(31)}
    return km_per_minute(raw_network(nodes, [(i, i + 1, True, True) for i in range(30)]))


def people_along_road() -> gpd.GeoDataFrame:
    """Small areas on :func:`straight_road` every km: 100 * (km + 1) people, 60 * (km + 1) aged 16-59, IMD (km % 10) + 1."""
    km = np.arange(31)
    return gpd.GeoDataFrame({"lsoa_code": [f"T{k:03d}" for k in km], "people": 100.0 * (km + 1),
                             "people_16_59": 60.0 * (km + 1), "imd_decile": pd.array((km % 10) + 1, dtype="Int64")},
                            geometry=[Point(X0 + 1000 * k, Y0) for k in km], crs=27700)
