"""Write an OpenStreetMap pbf made of N x M copies of a real extract, side by side, for scale benchmarks.

    python benchmarks/tile_osm.py OUT.osm.pbf --nx 26 --ny 25 [--source PATH] [--links 6]

Each copy is the source extract moved by whole tile widths in British National
Grid metres (so lengths, and with them travel times, inside a copy are those of
the original to a centimetre), with its ids remapped: node ``k`` of tile ``t``
gets id ``t * STRIDE + rank(k)``. Neighbouring tiles are joined by ``--links``
short two-way ``highway=primary`` ways between drive-road nodes near the facing
borders. Relations are left out. Objects are written as OPL text built with
numpy and converted to pbf by pyosmium's C++ reader and writer (no Python call
per object).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Id space per tile (more than the source's node and way counts).
STRIDE = 1 << 18
#: Gap left between tiles, metres (more than the urban-density radius, so each copy keeps its speeds).
GAP_M = 3000.0
_DRIVE = ("motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential")


def _opl_escape(s: str) -> str:
    out = []
    for ch in s:
        o = ord(ch)
        if ch in " \n,=@%" or o < 0x21 or ch == "\x7f":
            out.append(f"%{o:x}%")
        else:
            out.append(ch)
    return "".join(out)


def _tags(tags: dict[str, str]) -> str:
    return ",".join(f"{_opl_escape(k)}={_opl_escape(v)}" for k, v in tags.items())


@dataclass
class Base:
    """The source extract as arrays (coordinates in BNG metres)."""

    node_id: np.ndarray  # the source's OSM ids, sorted: tile node t * STRIDE + k + 1 is a copy of node_id[k]
    node_x: np.ndarray
    node_y: np.ndarray
    node_tags: np.ndarray  # str: " T..." or ""
    way_tags: list[str]
    way_ptr: np.ndarray
    way_refs: np.ndarray  # node ranks
    drive_node: np.ndarray  # bool: on a drive road
    timestamp: str | None


def read_base(path: Path) -> Base:
    import osmium

    from iot_geo.geo import to_bng

    ids: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    ntags: list[str] = []
    ways: list[tuple[list[int], str, bool]] = []
    for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
        if isinstance(obj, osmium.osm.Node):
            ids.append(obj.id)
            lons.append(obj.location.lon)
            lats.append(obj.location.lat)
            ntags.append(f" T{_tags({t.k: t.v for t in obj.tags})}" if len(obj.tags) else "")
        else:
            tags = {t.k: t.v for t in obj.tags}
            hw = tags.get("highway", "")
            ways.append(([n.ref for n in obj.nodes], _tags(tags), hw.removesuffix("_link") in _DRIVE))
    order = np.argsort(ids)
    id_arr = np.asarray(ids, dtype=np.int64)[order]
    x, y = to_bng(np.asarray(lons)[order], np.asarray(lats)[order])
    refs_all: list[int] = []
    ptr = [0]
    keep_tags: list[str] = []
    drive = np.zeros(len(id_arr), dtype=bool)
    for refs, tags, is_drive in ways:
        r = np.searchsorted(id_arr, refs)
        ok = (r < len(id_arr)) & (id_arr[np.minimum(r, len(id_arr) - 1)] == refs)
        if ok.sum() < 2:
            continue
        r = r[ok]
        refs_all.extend(r.tolist())
        ptr.append(len(refs_all))
        keep_tags.append(tags)
        if is_drive:
            drive[r] = True
    if len(ways) >= STRIDE or len(id_arr) >= STRIDE:
        raise SystemExit(f"{path}: too big for STRIDE {STRIDE}")
    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    stamp = reader.header().get("osmosis_replication_timestamp")
    reader.close()
    return Base(id_arr, np.asarray(x), np.asarray(y), np.asarray(np.array(ntags, dtype=object)[order], dtype=object),
                keep_tags, np.asarray(ptr, np.int64), np.asarray(refs_all, np.int64), drive, stamp or None)


def tile_lines(base: Base, t: int, dx: float, dy: float, inverse: Any) -> tuple[str, np.ndarray, np.ndarray]:
    """OPL text of one tile (nodes then ways), and its nodes' lon/lat."""
    lon, lat = inverse.transform(base.node_x + dx, base.node_y + dy)
    lon = np.asarray(lon)
    lat = np.asarray(lat)
    n0 = t * STRIDE + 1
    node_text = "\n".join([f"n{n0 + k} v1 x{lo:.7f} y{la:.7f}{tg}" for k, (lo, la, tg) in
                           enumerate(zip(lon.tolist(), lat.tolist(), base.node_tags.tolist(), strict=True))])
    refs = [f"n{v}" for v in (base.way_refs + n0).tolist()]
    p = base.way_ptr.tolist()
    way_text = "\n".join([f"w{n0 + i} v1 T{tg} N{','.join(refs[p[i]:p[i + 1]])}"
                          for i, tg in enumerate(base.way_tags)])
    return node_text + "\n" + way_text + "\n", lon, lat


def _border_nodes(base: Base, side: str, k: int) -> np.ndarray:
    """``k`` drive nodes nearest one side of the extract, one per band along that side."""
    d = np.flatnonzero(base.drive_node)
    along = base.node_y[d] if side in ("east", "west") else base.node_x[d]
    across = {"east": base.node_x[d], "west": -base.node_x[d], "north": base.node_y[d], "south": -base.node_y[d]}[side]
    edges = np.linspace(along.min(), along.max(), k + 1)
    out = []
    for lo, hi in itertools.pairwise(edges):
        band = np.flatnonzero((along >= lo) & (along <= hi))
        if len(band):
            out.append(d[band[np.argmax(across[band])]])
    return np.asarray(out, dtype=np.int64)


_WORKER: dict[str, Any] = {}


def _init_worker(base: Base) -> None:
    from pyproj import Transformer

    _WORKER["base"] = base
    _WORKER["inverse"] = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def _worker_lines(job: tuple[int, float, float]) -> str:
    t, dx, dy = job
    return tile_lines(_WORKER["base"], t, dx, dy, _WORKER["inverse"])[0]


def write_tiles(source: Path, out: Path, nx: int, ny: int, *, links: int = 6, x0: float | None = None,
                y0: float | None = None, progress: bool = True, workers: int = 2) -> dict[str, float]:
    """Write the tiled pbf; returns figures (tiles, nodes, ways, seconds)."""
    import osmium

    t0 = time.perf_counter()
    base = read_base(source)
    # tiles are as big as the drive roads' extent (a few long non-road ways reach far out; they may overlap)
    rx, ry = base.node_x[base.drive_node], base.node_y[base.drive_node]
    w = float(rx.max() - rx.min()) + GAP_M
    h = float(ry.max() - ry.min()) + GAP_M
    # tile (0, 0) stays where it is unless an origin is given
    ox_ = 0.0 if x0 is None else x0 - float(rx.min())
    oy_ = 0.0 if y0 is None else y0 - float(ry.min())
    east, west = _border_nodes(base, "east", links), _border_nodes(base, "west", links)
    north, south = _border_nodes(base, "north", links), _border_nodes(base, "south", links)
    header = osmium.io.Header()
    if base.timestamp:
        header.set("osmosis_replication_timestamp", base.timestamp)
    header.set("generator", "iot-geo benchmarks/tile_osm.py")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(f".part.{out.name}")
    tmp_out.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(tmp_out), 0, header)
    n_links = 0
    jobs = [(j * nx + i, ox_ + i * w, oy_ + j * h) for j in range(ny) for i in range(nx)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            opl = Path(tmp) / "tile.opl"
            # the text of the next tiles is made in worker processes while this one writes
            with ProcessPoolExecutor(max(1, min(workers, len(jobs))), initializer=_init_worker,
                                     initargs=(base,)) as pool:
                for t, text in enumerate(pool.map(_worker_lines, jobs, chunksize=1)):
                    opl.write_text(text, encoding="utf-8")
                    osmium.apply(str(opl), writer)
                    if progress and (t % 10 == 0 or t == nx * ny - 1):
                        print(f"\rtile {t + 1}/{nx * ny} {time.perf_counter() - t0:,.0f} s", end="", file=sys.stderr)
            # the links, after every node they join
            lines = []
            wid = nx * ny * STRIDE + 1
            for j in range(ny):
                for i in range(nx):
                    t = j * nx + i
                    pairs = []
                    if i + 1 < nx:
                        pairs += [(t, a, t + 1, b) for a, b in zip(east, west, strict=False)]
                    if j + 1 < ny:
                        pairs += [(t, a, t + nx, b) for a, b in zip(north, south, strict=False)]
                    for ta, a, tb, b in pairs:
                        lines.append(f"w{wid} v1 Thighway=primary,name=tile%20%link N"
                                     f"n{ta * STRIDE + a + 1},n{tb * STRIDE + b + 1}")
                        wid += 1
            n_links = len(lines)
            if lines:
                opl.write_text("\n".join(lines) + "\n", encoding="utf-8")
                osmium.apply(str(opl), writer)
    finally:
        writer.close()
    os.replace(tmp_out, out)
    if progress:
        print(file=sys.stderr)
    return {"tiles": nx * ny, "nodes": nx * ny * len(base.node_x), "ways": nx * ny * len(base.way_tags) + n_links,
            "links": n_links, "tile_w_m": w, "tile_h_m": h, "seconds": time.perf_counter() - t0,
            "bytes": out.stat().st_size}


def link_end_ids(source: Path, nx: int, links: int) -> list[tuple[int, int]]:
    """OSM ids of the ends of the east-west links between tile 0 and tile 1 (for tests)."""
    base = read_base(source)
    east, west = _border_nodes(base, "east", links), _border_nodes(base, "west", links)
    return [(int(a) + 1, STRIDE + int(b) + 1) for a, b in zip(east, west, strict=False)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--nx", type=int, default=2)
    ap.add_argument("--ny", type=int, default=2)
    ap.add_argument("--links", type=int, default=6)
    ap.add_argument("--source", type=Path, default=None,
                    help="Source extract (default the data directory's osm/rutland-2022-07-20.osm.pbf).")
    a = ap.parse_args()
    src = a.source
    if src is None:
        from iot_geo.network import find_network

        src = find_network("rutland-2022-07-20.osm.pbf")
    figs = write_tiles(src, a.out, a.nx, a.ny, links=a.links, x0=100_000.0 if a.nx * a.ny > 4 else None,
                       y0=50_000.0 if a.nx * a.ny > 4 else None)
    a.out.with_name(a.out.name + ".tiles.json").write_text(json.dumps(figs, indent=1) + "\n")
    print(", ".join(f"{k} {v:,.0f}" for k, v in figs.items()))


if __name__ == "__main__":
    main()
