"""Large generated bid files for tests and benchmarks (deterministic for a seed).

Each bid declares one LEP of the 2021 boundaries and has one to four sites
sampled inside that LEP; about one hub in five is given by ``provider_id``
(an English FE college) instead of coordinates.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import yaml

from iot_geo.bids import ROUTES
from iot_geo.geo import to_wgs84
from iot_geo.sources.boundaries import load_areas
from iot_geo.sources.providers import load_providers


def _points_in(geom: Any, k: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = geom.bounds
    # keep 2 km inside the boundary: generalised coasts must not push a site out of England
    core = geom.buffer(-2000)
    shapely.prepare(core)
    got = np.zeros((0, 2))
    while len(got) < k:
        xy = rng.uniform([minx, miny], [maxx, maxy], size=(4 * k, 2))
        inside = shapely.contains_xy(core, xy[:, 0], xy[:, 1])
        got = np.vstack([got, xy[inside]])
    return got[:k]


def make_bids(n: int, *, seed: int = 0, data_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """A schema-1 bid document with ``n`` valid bids (LEP vintage 2021)."""
    rng = np.random.default_rng(seed)
    lep = load_areas("lep", 2021, data_dir=data_dir)
    fe = load_providers("fe_college", data_dir=data_dir)
    routes = list(ROUTES)
    n_sites = rng.integers(1, 5, size=n)
    which = rng.integers(0, len(lep), size=n)
    xy_all: dict[int, np.ndarray] = {}
    for li in np.unique(which):
        need = int(n_sites[which == li].sum())
        xy_all[int(li)] = _points_in(lep.geometry.iloc[li], need, rng)
    used = dict.fromkeys(xy_all, 0)
    bids = []
    for i in range(n):
        li = int(which[i])
        xy = xy_all[li][used[li]:used[li] + n_sites[i]]
        used[li] += int(n_sites[i])
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1])
        sites: list[dict[str, Any]] = []
        for j in range(int(n_sites[i])):
            site: dict[str, Any] = {"id": f"b{i}-s{j}", "name": f"Site {j} of bid {i}",
                                    "role": "hub" if j == 0 else "spoke"}
            if j == 0 and i % 5 == 4:
                p = fe.iloc[int(rng.integers(0, len(fe)))]
                site["provider_id"] = p["provider_id"]
            else:
                site.update(lat=round(float(lat[j]), 6), lon=round(float(lon[j]), 6))
            sites.append(site)
        bids.append({
            "id": f"bid-{i}", "name": f"Generated bid {i}", "lead": f"College {i}", "lead_type": "fe_college",
            "partners": [{"name": f"Employer {i}", "type": "employer"}],
            "lep": str(lep["code"].iloc[li]),
            "routes": [routes[int(k)] for k in rng.choice(len(routes), size=2, replace=False)],
            "levels": [3, 4], "sites": sites,
        })
    return {"schema": 1, "vintage": {"lep": 2021}, "bids": bids}


def dump(doc: dict[str, Any]) -> str:
    """YAML text of a bid document (libyaml's emitter where available)."""
    return yaml.dump(doc, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False, allow_unicode=True)


def write_bids(path: str | os.PathLike[str], n: int, *, seed: int = 0,
               data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write :func:`make_bids` as YAML to ``path``."""
    p = Path(path)
    p.write_text(dump(make_bids(n, seed=seed, data_dir=data_dir)), encoding="utf-8")
    return p
