"""National runs: many catchments on Dask, coverage and cold spots, where the next site should go.

Batches
-------
:func:`batch` runs the catchments of many sites (every bid of some bid files,
every college of some types, a user's list) for several modes and bands on
Dask (``dask.distributed``): a local cluster of ``workers`` processes by
default (the machine's cores), any running scheduler with ``scheduler=
"tcp://HOST:PORT"`` (dask-jobqueue, Kubernetes, ``dask scheduler``), or one
process with ``workers=0`` (the reference the others are tested against).

* **The network travels as a file, not as a pickle.** A road network is
  written once to the cache folder (``batch/<sha256 of its arrays>.npz``,
  the same format as the build cache) and each worker loads it the first
  time a task needs it and keeps it in a module-level dictionary keyed by
  the file (:func:`worker_network`); a GTFS feed is read once per worker the
  same way. Tasks carry only a small reference and their sites. An
  in-memory timetable without a file is scattered to each worker once. The
  cluster must see the cache folder (a shared disk on a real cluster).
* **Sites are partitioned** in batches of :data:`BATCH_SITES` neighbouring sites
  (along a Z-order curve; a bid's sites stay together when catchments are unions
  of a bid), which keeps each task's searches and snapping windows small; a task that fails
  because its worker died is run again elsewhere (Dask's own rescheduling,
  plus ``retries``).
* **Identical whatever the workers or the order of the inputs**: sites are
  sorted by ``(group_id, site_id)`` before partitioning, each catchment
  depends on its own sites only, and the result is sorted by ``mode,
  group_id, site_id, minutes``.

Coverage and where next
-----------------------
:func:`coverage` times every LSOA centroid near a network to its nearest site
and marks it ``covered`` within the band; :func:`coverage_totals` sums people
and LSOAs by LEP, region and IMD decile. :func:`where_next` chooses ``k`` new
sites that reach the most people not yet covered, exactly (maximal covering
solved by HiGHS, :mod:`iot_geo.covering`), optionally weighting people in the
most deprived areas (IMD deciles 1 and 2) double (``weights="deprivation"``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from iot_geo import settings
from iot_geo.bids import Bids
from iot_geo.catchment import as_sites, catchment_detail, check_minutes, times_to_points, travel_times, warn_truncation
from iot_geo.covering import greedy_cover, maximal_covering, pick_order
from iot_geo.errors import InvalidInputError
from iot_geo.files import atomic
from iot_geo.locate import locate
from iot_geo.network import FEED_MODES, TravelNetwork, load_network, reopen_network
from iot_geo.outputs import write_csv, write_gpkg
from iot_geo.people import population_near, population_or_load
from iot_geo.routing import RoutingNetwork
from iot_geo.sources import providers as provider_source

__all__ = [
    "BATCH_SITES", "DEPRIVED_DECILES", "DEPRIVED_WEIGHT", "LOADS", "NetworkRef", "batch", "batch_sites",
    "cover_matrix", "coverage", "coverage_totals", "network_file", "network_ref", "people_table", "run_sites",
    "where_next", "worker_network", "write_batch",
]


log = logging.getLogger(__name__)

#: Sites per Dask task. A catchment on a 10^6-node network takes a fraction of a second to a few
#: seconds; 4 sites keep a task at a few seconds (little scheduling overhead) and give a 200-site run
#: 50 tasks to balance over the workers (benchmarks/bench_batch.py).
BATCH_SITES = 4

#: Deprivation weighting of :func:`where_next`: people in these IMD deciles (1 = most deprived) count this much.
DEPRIVED_DECILES = (1, 2)

#: Sites are batched along a Z-order curve over squares of this side (metres), so a task's sites are neighbours.
PARTITION_CELL_M = 5000.0
DEPRIVED_WEIGHT = 2.0

PEOPLE_COLUMNS = ["mode", "group_id", "site_id", "minutes", "people", "people_16_59", "people_unknown", "lsoas",
                  *[f"imd_{d}" for d in range(1, 11)], "truncated"]


# --------------------------------------------------------------- networks on workers
@dataclass(frozen=True)
class NetworkRef:
    """What a task needs to open a network on a worker: a file, never the network itself.

    ``kind`` is ``"npz"`` (a road network saved by :meth:`TravelNetwork.save`, opened with
    ``speeds``) or ``"gtfs"`` (a feed, opened with :func:`iot_geo.transit.load_transit` and
    ``options``).
    """

    kind: str
    path: str
    mode: str
    speeds: Any = None
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> str:
        """The worker-side cache key."""
        sp = json.dumps(self.speeds.key(), sort_keys=True) if self.speeds is not None else ""
        return f"{self.kind}|{self.path}|{self.mode}|{sp}|{self.options!r}"


#: Networks opened in this process, by :attr:`NetworkRef.key` (one load per worker process).
_WORKER_NETWORKS: dict[str, RoutingNetwork] = {}
#: How many times this process opened a network file (the tests check it is once per worker).
LOADS: dict[str, int] = {}


def worker_network(ref: NetworkRef) -> RoutingNetwork:
    """Open the network ``ref`` names, once per process (later calls return the same object)."""
    net = _WORKER_NETWORKS.get(ref.key)
    if net is None:
        net = reopen_network(ref.kind, ref.path, speeds=ref.speeds, options=ref.options)
        _WORKER_NETWORKS[ref.key] = net
        LOADS[ref.key] = LOADS.get(ref.key, 0) + 1
    return net


def network_file(net: TravelNetwork) -> Path:
    """The network saved in the cache folder under the sha256 of its arrays (:meth:`TravelNetwork.saved_file`).

    Written once, atomically; the path is remembered on the network object, so later batches on the same
    network skip the hashing.
    """
    return net.saved_file()


def network_ref(net: RoutingNetwork) -> NetworkRef | None:
    """What a worker needs to open ``net`` from a file, or None to scatter it once per worker instead.

    :func:`worker_network` opens the reference in each worker process.
    """
    ref = net.file_ref()
    if ref is None:
        return None
    kind, path, speeds, options = ref
    return NetworkRef(kind, path, net.mode, speeds, options)


def _open(source: Any, mode: str, transit_options: Mapping[str, Any], free_flow: bool) -> RoutingNetwork:
    """A network for ``mode`` from a network object or a file (the transit options go to a timetable only)."""
    if not isinstance(source, str | os.PathLike):  # a network object (a file otherwise)
        net: RoutingNetwork = source
        if net.mode != mode:
            raise InvalidInputError(f"mode {mode!r}: the network given is a {net.mode} network")
        return net
    options = transit_options if mode in FEED_MODES else {}
    return load_network(Path(source), mode=mode, free_flow=free_flow, **options)


def _sources(network_or_path: Any, modes: Sequence[str] | None) -> dict[str, Any]:
    if isinstance(network_or_path, Mapping):
        wanted = list(modes) if modes else list(network_or_path)
        missing = [m for m in wanted if m not in network_or_path]
        if missing:
            raise InvalidInputError(f"no network given for mode(s) {', '.join(missing)}: pass {{mode: network or file}}")
        return {m: network_or_path[m] for m in wanted}
    if not isinstance(network_or_path, str | os.PathLike):  # a network object
        wanted = list(modes) if modes else [network_or_path.mode]
    else:
        wanted = list(modes) if modes else ["drive"]
    if any(m in FEED_MODES for m in wanted) and len(wanted) > 1:
        raise InvalidInputError("transit needs its own GTFS feed: pass {'drive': road_file, 'transit': feed}")
    return {m: network_or_path for m in wanted}


# ------------------------------------------------------------------------- items
def batch_sites(items: Any) -> tuple[gpd.GeoDataFrame, bool]:
    """Sites of ``items`` (bids, a list of bids, or sites) with ``group_id``, and whether to unite each group.

    Bids give one catchment per bid (``group_id`` = bid id, the union of its sites); plain sites give one
    per site. Site ids that repeat across bids are qualified as ``bid/site``.
    """
    if isinstance(items, Bids) or (isinstance(items, list | tuple) and items and all(isinstance(b, Bids)
                                                                                    for b in items)):
        parts = [items] if isinstance(items, Bids) else list(items)
        frames = [b.sites for b in parts if len(b.sites)]
        if not frames:
            raise InvalidInputError("the bids have no sites")
        s = pd.concat(frames, ignore_index=True)
        if s["bid_id"].duplicated().any() and s.duplicated(["bid_id", "site_id"]).any():
            dup = s[s.duplicated(["bid_id", "site_id"])]["bid_id"].iloc[0]
            raise InvalidInputError(f"bid {dup!r} appears twice in the bid files; give each bid its own id")
        if s["site_id"].duplicated().any():
            s["site_id"] = s["bid_id"].astype(str) + "/" + s["site_id"].astype(str)
        s = s.rename(columns={"bid_id": "group_id"})
        return as_sites(gpd.GeoDataFrame(s, geometry="geometry", crs=s.crs), where="bids"), True
    return as_sites(items, where="batch items"), False


def _on_network(net: RoutingNetwork, sites: gpd.GeoDataFrame, union: bool) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Sites that can join the network, and a table of those that cannot (with the reason)."""
    x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    ok = net.covers(x, y)
    why = net.refusal
    if union:  # a bid is run whole or not at all
        bad_groups = set(sites.loc[~ok, "group_id"])
        reason = np.where(ok, "another site of the bid is off the network", why)
        ok = ~sites["group_id"].isin(bad_groups).to_numpy()
    else:
        reason = np.full(len(sites), why, dtype=object)
    skipped = pd.DataFrame({"mode": net.mode, "group_id": sites["group_id"].to_numpy()[~ok],
                            "site_id": sites["site_id"].to_numpy()[~ok], "reason": np.asarray(reason)[~ok]})
    return sites[ok], skipped


def _zorder(x: np.ndarray, y: np.ndarray, cell: float = PARTITION_CELL_M) -> np.ndarray:
    """Z-order (Morton) key of each point's ``cell``-metre square: nearby squares get nearby keys."""
    ix = np.clip((np.asarray(x) // cell).astype(np.int64), 0, 0xFFFF)
    iy = np.clip((np.asarray(y) // cell).astype(np.int64), 0, 0xFFFF)
    key = np.zeros(len(ix), dtype=np.int64)
    for b in range(16):
        key |= ((ix >> b) & 1) << (2 * b) | ((iy >> b) & 1) << (2 * b + 1)
    return key


def _partition(sites: gpd.GeoDataFrame, union: bool, size: int) -> list[pd.DataFrame]:
    """Site batches as plain frames (``site_id, name, group_id, x, y``), groups kept whole for unions.

    Units (sites, or bids for unions) are ordered along a Z-order curve over
    :data:`PARTITION_CELL_M` squares (ties by id), so a task's sites lie near one another: its
    searches, snapping windows and grids stay small. The order depends on the sites only, never
    on the order they were given in.
    """
    s = sites.sort_values(["group_id", "site_id"], kind="mergesort").reset_index(drop=True)
    plain = pd.DataFrame({"site_id": s["site_id"].astype(str), "name": s["name"].astype(str),
                          "group_id": s["group_id"].astype(str), "x": s.geometry.x, "y": s.geometry.y})
    key = plain["group_id"] if union else plain["site_id"]
    first = plain.groupby(key, sort=False)[["x", "y"]].first()
    order = pd.DataFrame({"unit": first.index, "z": _zorder(first["x"].to_numpy(), first["y"].to_numpy())})
    units = list(order.sort_values(["z", "unit"], kind="mergesort")["unit"])
    out = []
    for i in range(0, len(units), size):
        out.append(plain[key.isin(units[i:i + size])].reset_index(drop=True))
    return out


def run_sites(network: RoutingNetwork | NetworkRef, sites: pd.DataFrame, bands: list[float], union: bool,
              direction: str, population: gpd.GeoDataFrame, resolution: float | None = None) -> gpd.GeoDataFrame:
    """One task: the catchments of a batch of sites (``site_id, name, group_id, x, y``)."""
    net = worker_network(network) if isinstance(network, NetworkRef) else network
    g = gpd.GeoDataFrame(sites[["site_id", "name", "group_id"]],
                         geometry=gpd.points_from_xy(sites["x"], sites["y"]), crs=settings.crs)
    det = catchment_detail(net, g, minutes=bands, union=union, direction=direction, population=population,
                           resolution=resolution)
    return det.table


def _sort(table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = table.sort_values(["mode", "group_id", "site_id", "minutes"], kind="mergesort").reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=settings.crs)


# ------------------------------------------------------------------------- batch
def batch(
    network_or_path: Any,
    items: Any,
    *,
    modes: Sequence[str] | None = None,
    minutes: Sequence[float] | float = (30, 45, 60),
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    union: bool | None = None,
    direction: str = "to_site",
    batch_size: int = BATCH_SITES,
    retries: int = 2,
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    transit_options: Mapping[str, Any] | None = None,
    free_flow: bool = False,
    resolution: float | None = None,
    progress: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> gpd.GeoDataFrame:
    """Catchments of many sites for one or more modes, on Dask (or in one process with ``workers=0``).

    Parameters
    ----------
    network_or_path : RoutingNetwork (road or transit), path, or mapping {mode: network or path}
        A road network or its OSM/GraphML file (used for every road mode asked), a GTFS feed for
        ``modes=["transit"]``, or one per mode (``{"drive": "rutland.osm.pbf", "transit": "feed.zip"}``).
    items : Bids, list of Bids, or sites
        Bids give one catchment per bid (the union of its sites); sites (see
        :func:`iot_geo.catchment.as_sites`) one per site.
    modes : sequence of str, optional
        ``drive``, ``cycle``, ``walk``, ``transit``; default the network's mode (``drive`` for a file).
    minutes : sequence of float
        Bands (minutes).
    workers : int, optional
        ``0``: one process, no Dask. ``N``: a local cluster of N worker processes (one thread each).
        Default: the machine's cores.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://HOST:PORT``); its workers must see the cache folder.
    client : distributed.Client, optional
        An existing client (wins over ``workers`` and ``scheduler``).
    union : bool, optional
        One catchment per group; default True for bids, False for sites.
    direction : {"to_site", "from_site"}
    batch_size : int
        Sites (or bids, for unions) per task.
    retries : int
        Times a failed task is retried (a task whose worker dies is rescheduled by Dask as well).
    population : GeoDataFrame, optional
        LSOA centroids (default :func:`iot_geo.load_population`).
    data_dir : path, optional
    transit_options : dict, optional
        Options of :func:`iot_geo.transit.load_transit` (``arrive_by``, ``window_minutes``, ``day``, ...).
    free_flow : bool
        Drive at speed limits instead of the morning-peak profile (networks read from a file).
    resolution : float, optional
        Polygon grid in metres (default by mode).
    progress : bool
        Show a progress bar (rich) on stderr.
    on_progress : callable, optional
        Called with ``(tasks done, tasks in all)`` after each task.

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :func:`iot_geo.catchments` (``site_id, group_id, mode, direction, minutes,
        area_km2, people, ..., truncated, geometry``), sorted by ``mode, group_id, site_id, minutes``.
        ``attrs``: ``skipped`` (sites not on a network: ``mode, group_id, site_id, reason`` records),
        ``tasks``, ``workers``, ``seconds`` (running the tasks) and ``setup_seconds`` (opening networks,
        checking sites).

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> ig.batch(net, {"Oakham": (52.6707, -0.7270)}, minutes=[10], workers=0)[["site_id", "minutes"]].values.tolist()
    [['Oakham', 10]]
    """
    t_start = time.perf_counter()
    bands = check_minutes(minutes)
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise InvalidInputError(f"batch_size={batch_size!r}: give a whole number of sites per task, at least 1")
    if workers is not None and (not isinstance(workers, int | np.integer) or workers < 0):
        raise InvalidInputError(f"workers={workers!r}: give 0 (one process) or a number of worker processes")
    topts = dict(transit_options or {})
    sites, is_bids = batch_sites(items)
    union = is_bids if union is None else bool(union)
    full_pop = population_or_load(data_dir, population)
    sources = _sources(network_or_path, modes)
    jobs: list[tuple[RoutingNetwork, NetworkRef | None, gpd.GeoDataFrame, list[pd.DataFrame]]] = []
    skipped = []
    for mode, src in sources.items():
        net = _open(src, mode, topts, free_flow)
        on, skip = _on_network(net, sites, union)
        skipped.append(skip)
        if not len(on):
            continue
        ref = network_ref(net) if workers != 0 or scheduler or client else None
        jobs.append((net, ref, population_near(net, full_pop), _partition(on, union, int(batch_size))))
    skipped_df = pd.concat(skipped, ignore_index=True) if skipped else pd.DataFrame()
    total = sum(len(parts) for *_, parts in jobs)
    setup_s = time.perf_counter() - t_start
    t0 = time.perf_counter()
    bar = _Bar(total, progress, on_progress)
    if not jobs:
        raise InvalidInputError("no site lies on any of the networks given: " +
                                "; ".join(f"{r.site_id}: {r.reason}" for r in skipped_df.head(3).itertuples()))
    if workers == 0 and scheduler is None and client is None:
        tables = []
        for net, _, pop, parts in jobs:
            for part in parts:
                tables.append(run_sites(net, part, bands, union, direction, pop, resolution))
                bar.step()
        n_workers = 0
    else:
        tables, n_workers = _run_dask(jobs, bands, union, direction, resolution, workers, scheduler, client,
                                      retries, bar)
    bar.close()
    out = _sort(gpd.GeoDataFrame(pd.concat(tables, ignore_index=True), geometry="geometry", crs=settings.crs))
    if out["truncated"].any():
        warn_truncation(out)
    out.attrs.update({"skipped": skipped_df.to_dict("records"), "tasks": total, "workers": n_workers,
                      "seconds": round(time.perf_counter() - t0, 3), "setup_seconds": round(setup_s, 3)})
    return out


class _Bar:
    def __init__(self, total: int, show: bool, callback: Callable[[int, int], None] | None) -> None:
        self.total, self.done, self.callback = total, 0, callback
        self._progress: Any = None
        if show:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(TextColumn("catchment batches"), BarColumn(), MofNCompleteColumn(),
                                      TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._task = self._progress.add_task("batches", total=total)
            self._progress.start()

    def step(self) -> None:
        self.done += 1
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done)
        if self.callback is not None:
            self.callback(self.done, self.total)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _run_dask(jobs: list[tuple[RoutingNetwork, NetworkRef | None, gpd.GeoDataFrame, list[pd.DataFrame]]],
              bands: list[float], union: bool, direction: str, resolution: float | None, workers: int | None,
              scheduler: str | None, client: Any, retries: int, bar: _Bar) -> tuple[list[gpd.GeoDataFrame], int]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    own = client is None
    if client is None:
        if scheduler is not None:
            if not str(scheduler).startswith(("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")):
                raise InvalidInputError(f"--scheduler {scheduler!r}: give the scheduler's address, "
                                        "for example tcp://10.0.0.5:8786")
            try:
                client = Client(scheduler, timeout=30)  # type: ignore[no-untyped-call]
            except OSError as exc:
                raise InvalidInputError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        else:
            n = workers or os.cpu_count() or 1
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,  # type: ignore[no-untyped-call]
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)  # type: ignore[no-untyped-call]
    try:
        futures: list[Any] = []
        for net, ref, pop, parts in jobs:
            # the people table and a timetable held only in memory go to each worker once, not per task
            pop_f = client.scatter(pop, broadcast=True, hash=False)
            net_arg = ref if ref is not None else client.scatter(net, broadcast=True, hash=False)
            for part in parts:
                futures.append(client.submit(run_sites, net_arg, part, bands, union, direction, pop_f, resolution,
                                             pure=False, retries=retries))
        results: dict[Any, gpd.GeoDataFrame] = {}
        pos = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):  # type: ignore[no-untyped-call]
            results[pos[fut.key]] = fut.result()
            fut.release()
            bar.step()
        n_workers = len(client.scheduler_info().get("workers", {}))
        return [results[i] for i in range(len(futures))], n_workers
    finally:
        with _quiet("distributed"):  # a worker's comm closing as the cluster stops is logged with a traceback
            if own:
                client.close()
            if cluster is not None:
                cluster.close()


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Only critical messages from ``logger`` (and its children) while the block runs."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def people_table(result: pd.DataFrame) -> pd.DataFrame:
    """The people columns of a batch (no geometry), in the batch's order; ``outside_network`` kept if present."""
    extra = [c for c in result.columns if c.startswith("outside_network") or c.endswith("_outside_network")]
    cols = [c for c in PEOPLE_COLUMNS if c in result.columns] + [c for c in extra if c not in PEOPLE_COLUMNS]
    return pd.DataFrame(result[cols]).reset_index(drop=True)


def write_batch(result: gpd.GeoDataFrame, path: str | os.PathLike[str], *,
                inputs: Sequence[str | os.PathLike[str] | None] = (), provenance: dict[str, Any] | None = None
                ) -> Path:
    """Write a batch: GeoPackage (``catchments`` and ``people`` layers) or GeoParquet (plus ``NAME.people.csv``)."""
    p = Path(path)
    if p.suffix.lower() == ".gpkg":
        return write_gpkg({"catchments": result, "people": people_table(result)}, p, inputs, provenance=provenance)
    if p.suffix.lower() in (".parquet", ".geoparquet"):
        with atomic(p, inputs) as tmp:
            gpd.GeoDataFrame(result, geometry="geometry", crs=settings.crs).to_parquet(tmp, index=False)
        write_csv(people_table(result), p.with_suffix(".people.csv"), inputs, provenance=provenance)
        return p
    if p.suffix.lower() == ".csv":
        return write_csv(people_table(result), p, inputs, provenance=provenance)
    raise InvalidInputError(f"{p}: write a batch as .gpkg, .parquet or .csv")


# ---------------------------------------------------------------------- coverage
def _lsoa_minutes(net: RoutingNetwork, sites: gpd.GeoDataFrame, pop: gpd.GeoDataFrame, band: float, direction: str
                  ) -> tuple[pd.DataFrame, bool]:
    """Minutes from each LSOA centroid to its nearest site (NaN past the band), and whether the reach is cut."""
    tt = travel_times(net, sites, max_minutes=band, direction=direction)
    t = times_to_points(net, pop, sites, max_minutes=band, direction=direction, times=tt)
    keep = ["minutes", "nearest_site", "snap_m"] + [c for c in t.columns if c == "outside_network"]
    return pd.DataFrame(t[keep]), bool(net.frontier[tt.min <= band].any())


def coverage(
    network: RoutingNetwork,
    sites: Any,
    *,
    minutes: float,
    direction: str = "to_site",
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    vintage: int | None = None,
) -> gpd.GeoDataFrame:
    """Every LSOA near the network with the minutes to its nearest site and whether it is ``covered``.

    Parameters
    ----------
    network : RoutingNetwork
    sites : sites (see :func:`iot_geo.catchment.as_sites`)
        The sites already there (designated IoTs, colleges, a user's list); sites off the network are
        left out and listed in ``attrs["skipped"]``.
    minutes : float
        The band (minutes).
    direction : {"to_site", "from_site"}
    population : GeoDataFrame, optional
        LSOA centroids (default :func:`iot_geo.load_population`).
    data_dir : path, optional
    vintage : int, optional
        LEP vintage for the LEP columns (default the latest).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per LSOA centroid within reach of the network's extent: ``lsoa_code, people,
        people_16_59, imd_decile, minutes`` (to the nearest site, NaN past the band), ``nearest_site``,
        ``covered``, ``lep_codes, lep_names, region_code, region_name``, ``outside_network`` where the
        network reports it, and the centroid as ``geometry``. ``attrs``: ``minutes``, ``truncated``
        (some catchment reaches the edge of the network: places past it may be covered too, so covered
        figures are lower bounds and cold spots near the edge upper bounds), ``sites``, ``skipped``.
        LSOAs beyond the network's extent are not judged. Sums: :func:`coverage_totals`.

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> cov = ig.coverage(net, {"Oakham": (52.6707, -0.7270)}, minutes=15)
    >>> {"covered", "minutes"} <= set(cov.columns)
    True
    """
    (band,) = check_minutes([minutes])
    site_gdf = as_sites(sites, where="sites")
    on, skipped = _on_network(network, site_gdf, False)
    if not len(on):
        raise InvalidInputError("no site lies on the network: " +
                                "; ".join(f"{r.site_id}: {r.reason}" for r in skipped.head(3).itertuples()))
    pop = population_near(network, population_or_load(data_dir, population)).copy()
    times, truncated = _lsoa_minutes(network, on, pop, band, direction)
    cols = [c for c in ("lsoa_code", "lsoa_name", "people", "people_16_59", "imd_decile") if c in pop.columns]
    out = pd.DataFrame(pop[cols]).reset_index(drop=True)
    for c in times.columns:
        out[c] = times[c].to_numpy()
    out["covered"] = out["minutes"].le(band).to_numpy()
    if len(pop):
        where = locate(gpd.GeoSeries(pop.geometry.values, crs=pop.crs), vintage=vintage)
        for c in ("lep_codes", "lep_names", "region_code", "region_name"):
            out[c] = where[c].to_numpy() if c in where.columns else None
    res = gpd.GeoDataFrame(out, geometry=pop.geometry.to_numpy(), crs=settings.crs)
    res.attrs.update({"minutes": band, "truncated": truncated, "sites": int(len(on)),
                      "skipped": skipped.to_dict("records")})
    return res


def coverage_totals(cov: pd.DataFrame) -> pd.DataFrame:
    """People and LSOAs covered and not, for all of them and by LEP, region and IMD decile.

    An LSOA in two LEPs counts in both (their rows do not add up to the total). Unknown
    population (Wales) counts as 0 people; ``outside_network`` people are summed where the
    coverage has that column.

    Returns
    -------
    pandas.DataFrame
        ``by`` (``all``, ``lep``, ``region``, ``imd_decile``), ``code, name, lsoas, lsoas_covered,
        people, people_covered, people_not_covered, share_covered`` (and ``people_outside_network``),
        ``truncated``.

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> cov = ig.coverage(net, {"Oakham": (52.6707, -0.7270)}, minutes=15)
    >>> len(ig.coverage_totals(cov)) > 0
    True
    """
    df = pd.DataFrame(cov.drop(columns="geometry") if "geometry" in cov.columns else cov).copy()
    df["people"] = df["people"].astype(float).fillna(0.0)
    df["_cov_people"] = np.where(df["covered"], df["people"], 0.0)
    has_out = "outside_network" in df.columns
    if has_out:
        df["_out_people"] = np.where(df["outside_network"].fillna(False).astype(bool), df["people"], 0.0)
    keyed = [df.assign(_code="england", _name="all LSOAs near the network", _by="all")]
    if "lep_codes" in df.columns:
        pairs = pd.Series([list(zip(c or [], n or [], strict=False)) for c, n in zip(df["lep_codes"], df["lep_names"],
                                                                                     strict=True)],
                          index=df.index, dtype=object)
        lep = df.assign(_pair=pairs)
        lep = lep.explode("_pair").dropna(subset=["_pair"])
        keyed.append(lep.assign(_code=[p[0] for p in lep["_pair"]], _name=[p[1] for p in lep["_pair"]], _by="lep"))
    if "region_code" in df.columns:
        reg = df.dropna(subset=["region_code"])
        keyed.append(reg.assign(_code=reg["region_code"].astype(str), _name=reg["region_name"].astype(str),
                                _by="region"))
    if "imd_decile" in df.columns:
        imd = df.dropna(subset=["imd_decile"])
        keyed.append(imd.assign(_code=imd["imd_decile"].astype(int).astype(str),
                                _name=["IMD decile " + str(int(d)) for d in imd["imd_decile"]], _by="imd_decile"))
    long = pd.concat(keyed, ignore_index=True)
    agg = {"lsoas": ("covered", "size"), "lsoas_covered": ("covered", "sum"), "people": ("people", "sum"),
           "people_covered": ("_cov_people", "sum")}
    if has_out:
        agg["people_outside_network"] = ("_out_people", "sum")
    out = long.groupby(["_by", "_code", "_name"], sort=False).agg(**agg).reset_index()
    out = out.rename(columns={"_by": "by", "_code": "code", "_name": "name"})
    out["people_not_covered"] = out["people"] - out["people_covered"]
    out["share_covered"] = np.where(out["people"] > 0, (out["people_covered"] / out["people"].where(
        out["people"] > 0, 1.0)).round(4), np.nan)
    out["truncated"] = bool(getattr(cov, "attrs", {}).get("truncated", False))
    order = {"all": 0, "lep": 1, "region": 2, "imd_decile": 3}
    out["_o"] = out["by"].map(order)
    out["_k"] = [int(c) if b == "imd_decile" else 0 for b, c in zip(out["by"], out["code"], strict=True)]
    out = out.sort_values(["_o", "_k", "code"], kind="mergesort").drop(columns=["_o", "_k"]).reset_index(drop=True)
    cols = ["by", "code", "name", "lsoas", "lsoas_covered", "people", "people_covered", "people_not_covered",
            "share_covered", *(["people_outside_network"] if has_out else []), "truncated"]
    return pd.DataFrame(out[cols])


# -------------------------------------------------------------------- where next
def _weights(pop: gpd.GeoDataFrame, weights: Any) -> tuple[np.ndarray, str]:
    people = np.nan_to_num(pop["people"].to_numpy(dtype=float, na_value=np.nan))
    if weights is None:
        return people, "people"
    if isinstance(weights, str):
        if weights != "deprivation":
            raise InvalidInputError(f"weights={weights!r}: use None (people) or 'deprivation' (people in IMD "
                                    f"deciles {DEPRIVED_DECILES} count {DEPRIVED_WEIGHT:g} times), or an array")
        dec = pop["imd_decile"].to_numpy(dtype=float, na_value=np.nan)
        return people * np.where(np.isin(dec, DEPRIVED_DECILES), DEPRIVED_WEIGHT, 1.0), "deprivation"
    w = np.asarray(pd.Series(weights).reindex(pop.index).to_numpy(dtype=float, na_value=0.0)
                   if isinstance(weights, pd.Series) else weights, dtype=float)
    if w.shape != people.shape or not np.isfinite(w).all() or (w < 0).any():
        raise InvalidInputError(f"weights: give one non-negative number per LSOA ({len(people)}), or 'deprivation'")
    return w, "custom"


def cover_matrix(network: RoutingNetwork, sites: gpd.GeoDataFrame, pop: gpd.GeoDataFrame, band: float, *,
                 direction: str = "to_site", chunk: int = 64) -> Any:
    """Which LSOA centroids each site reaches within the band, as a sparse ``(sites, LSOAs)`` matrix.

    Built ``chunk`` sites at a time so that thousands of candidates on a large network never hold a dense
    ``sites x nodes`` matrix.
    """
    import scipy.sparse as sp

    rows = []
    for i in range(0, len(sites), chunk):
        part = sites.iloc[i:i + chunk]
        det = catchment_detail(network, part, minutes=[band], direction=direction, population=pop, polygons=False)
        m = det.unit_minutes <= band
        # det.population is pop filtered to the network's extent: map its columns back to pop's rows
        col = pop.index.get_indexer(det.population.index)
        r, c = np.nonzero(m)
        rows.append(sp.csr_matrix((np.ones(len(r), dtype=bool), (r, col[c])), shape=(len(part), len(pop))))
    return sp.vstack(rows, format="csr") if rows else sp.csr_matrix((0, len(pop)), dtype=bool)


def where_next(
    network: RoutingNetwork,
    sites: Any,
    candidates: Any = None,
    *,
    k: int,
    minutes: float,
    weights: Any = None,
    direction: str = "to_site",
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> gpd.GeoDataFrame:
    """Choose ``k`` new sites from candidates that reach the most people the sites do not (maximal covering).

    Parameters
    ----------
    network : RoutingNetwork
    sites : sites
        The sites already there (their people are not counted again).
    candidates : sites, optional
        Default: the FE colleges (provider files) on the network that are not already sites (by id, or
        within 50 m of one).
    k : int
        How many to choose.
    minutes : float
        The band.
    weights : None, "deprivation" or array
        ``None``: people. ``"deprivation"``: people in IMD deciles 1 and 2 (the most deprived fifth of
        England's LSOAs) count double (:data:`DEPRIVED_WEIGHT`); the choice then favours them, and the
        table reports both weighted and plain people. An array: one weight per LSOA near the network.
    direction : {"to_site", "from_site"}
    population : GeoDataFrame, optional
    data_dir : path, optional

    Returns
    -------
    geopandas.GeoDataFrame
        The picks in the order that adds most first: ``rank, site_id, name, people_added, people_total``
        (the sites' people plus the picks so far), ``weight_added, weight_total``, geometry. ``attrs``:
        ``solver``, ``objective`` (weight covered), ``base_people``, ``greedy_objective``,
        ``candidates``, ``lsoas``, ``weights``.

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> len(ig.where_next(net, {"Oakham": (52.6707, -0.7270)}, k=1, minutes=15))
    1
    """
    (band,) = check_minutes([minutes])
    if not isinstance(k, int | np.integer) or k < 1:
        raise InvalidInputError(f"k={k!r}: choose at least one new site")
    have = as_sites(sites, where="sites")
    have, _ = _on_network(network, have, False)
    if candidates is None:
        prov = provider_source.load_providers("fe_college", data_dir=data_dir).rename(columns={"provider_id": "site_id"})
        cand = as_sites(prov[["site_id", "name", "geometry"]], where="candidates")
    else:
        cand = as_sites(candidates, where="candidates")
    cand = cand[~cand["site_id"].isin(have["site_id"])]
    if len(have) and len(cand):
        d = cand.geometry.apply(lambda g: have.distance(g).min())
        cand = cand[(d > 50.0).to_numpy()]
    cand, _ = _on_network(network, cand, False)
    cand = cand.sort_values("site_id", kind="mergesort").reset_index(drop=True)
    if k > len(cand):
        raise InvalidInputError(f"k={k} but only {len(cand)} candidate site(s) lie on the network")
    pop = population_near(network, population_or_load(data_dir, population)).reset_index(drop=True)
    w, wname = _weights(pop, weights)
    people = np.nan_to_num(pop["people"].to_numpy(dtype=float, na_value=np.nan))
    base = (np.asarray(cover_matrix(network, have, pop, band, direction=direction).sum(axis=0)).ravel() > 0
            if len(have) else np.zeros(len(pop), dtype=bool))
    cover = cover_matrix(network, cand, pop, band, direction=direction)
    chosen, objective, solver = maximal_covering(cover, w, base, int(k))
    _, g_obj = greedy_cover(cover, w, base, int(k))
    order = pick_order(cover, w, base, chosen)
    covered = base.copy()
    rows = []
    for rank, (j, w_add, w_tot) in enumerate(order, start=1):
        idx = cover.indices[cover.indptr[j]:cover.indptr[j + 1]]
        added = float(people[idx][~covered[idx]].sum())
        covered[idx] = True
        rows.append({"rank": rank, "site_id": cand["site_id"].iloc[j], "name": cand["name"].iloc[j],
                     "people_added": added, "people_total": float(people[covered].sum()),
                     "weight_added": w_add, "weight_total": w_tot, "geometry": cand.geometry.iloc[j]})
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.crs)
    out.attrs.update({"solver": solver, "objective": objective, "base_people": float(people[base].sum()),
                      "greedy_objective": g_obj, "candidates": int(len(cand)), "lsoas": int(len(pop)),
                      "weights": wname, "minutes": band})
    return out


