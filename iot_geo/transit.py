"""Public transport: GTFS timetables and an arrive-by round-based (RAPTOR) search.

Learners must be at college by a set time, so the question is "from where can
you leave and still arrive by 09:00?". :func:`latest_departures` answers it for
every stop of a feed with a reverse RAPTOR search: round by round (one more
vehicle each round), the latest time one can be at each stop and still arrive
in time, for a whole day's timetable at once.

Model (documented, and the same in the time-expanded reference
:func:`reference_latest_departures` that the tests and the benchmark compare
against):

* **Egress**: from any stop within ``max_walk_m`` of the destination, on foot.
* **Transfers**: alight, then board at the same stop, or walk to a stop within
  ``max_transfer_m`` and board there (one walk between vehicles). Where the
  feed has ``transfers.txt``, it is honoured: a same-stop row with
  ``transfer_type`` 2 is the minimum change time at that stop (a station's
  minimum interchange time: alighting at 08:30 with 5 minutes to change, the
  next train taken leaves at 08:35 or later; walking out to the college needs
  no change time), ``transfer_type`` 3 forbids changing there; a row between
  two stops with type 2 sets the walk between them to ``min_transfer_time``
  (added when the stops are farther apart than ``max_transfer_m``), type 3
  removes it. Types 0 and 1 add nothing. Without ``transfers.txt`` there is no
  minimum change time beyond the walk.
* **Walking**: straight-line distance times :data:`DETOUR` (a documented
  allowance for street layouts, used where no walking network is loaded) at
  :data:`iot_geo.speeds.WALK_KMH`.
* **Access**: an origin walks to a stop within ``max_walk_m`` and boards, or
  walks all the way when that is faster.
* Times past 24:00:00 are valid (trips that run past midnight); frequencies
  are expanded into trips; ``calendar_dates`` adds and removes services.

The vectorised scan does not assume that trips of a pattern never overtake:
for each pattern it takes, for every stop, the latest departure of any trip
that reaches a stop where the traveller can still make it.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from iot_geo import settings
from iot_geo.errors import DataNotFoundError, InvalidInputError
from iot_geo.geo import to_bng
from iot_geo.grids import TimeGrid, grid_from_points
from iot_geo.search import frontier_nodes, node_times, point_minutes
from iot_geo.sources.catalogue import verify_path
from iot_geo.speeds import WALK_KMH

if TYPE_CHECKING:
    from iot_geo.routing import SiteTimes

__all__ = [
    "DETOUR", "MAX_TRANSFER_M", "MAX_WALK_M", "Pattern", "Timetable", "TransitNetwork", "TransitTimes",
    "arrive_by_minutes", "earliest_arrivals", "latest_departures", "load_timetable", "load_transit",
    "parse_gtfs_time", "pick_day", "reference_latest_departures", "service_dates", "walk_seconds",
]


log = logging.getLogger(__name__)

#: Walking distance on streets is taken as the straight line times this factor.
DETOUR = 1.3
#: Default longest walk to the first stop or from the last one (metres, straight line).
MAX_WALK_M = 800.0
#: Default longest walk between two stops when changing (metres, straight line).
MAX_TRANSFER_M = 400.0
REQUIRED = {
    "stops.txt": ("stop_id", "stop_lat", "stop_lon"),
    "trips.txt": ("trip_id", "service_id"),
    "stop_times.txt": ("trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time"),
}


def walk_seconds(metres: np.ndarray | float) -> np.ndarray:
    """Seconds to walk a straight-line distance (with the detour factor) at the walking speed."""
    return np.asarray(metres, dtype=float) * DETOUR / (WALK_KMH / 3.6)


def parse_gtfs_time(values: pd.Series) -> np.ndarray:
    """``HH:MM:SS`` (hours may pass 24) to seconds after midnight; NaN where empty."""
    text = values.astype("string").str.strip()
    parts = text.str.split(":", expand=True)
    if parts.shape[1] != 3:
        bad = text[text.notna() & (text != "")]
        raise InvalidInputError(f"stop_times.txt: time {bad.iloc[0] if len(bad) else '?'!r} is not HH:MM:SS")
    nums = parts.apply(pd.to_numeric, errors="coerce")
    return np.asarray(nums[0] * 3600 + nums[1] * 60 + nums[2], dtype=float)


@dataclass
class Pattern:
    """Trips that call at the same stops in the same order."""

    stops: np.ndarray  # stop indices, in order
    arr: np.ndarray  # (trips, stops) seconds
    dep: np.ndarray  # (trips, stops) seconds
    trip_ids: list[str]


@dataclass
class Timetable:
    """One service day of a GTFS feed, ready for routing."""

    day: dt.date
    stops: pd.DataFrame  # stop_id, stop_name, x, y (EPSG:27700), index 0..n-1
    patterns: list[Pattern]
    foot_i: np.ndarray  # footpaths i -> j with seconds (both directions listed)
    foot_j: np.ndarray
    foot_s: np.ndarray
    source: dict[str, Any] = field(default_factory=dict)
    _tree: Any = field(default=None, repr=False)
    walk_network: Any = field(default=None, repr=False)  # a walking TravelNetwork, when one is loaded
    change_s: np.ndarray | None = field(default=None, repr=False)  # minimum change time per stop (seconds)

    @property
    def n_stops(self) -> int:
        """Number of stops."""
        return len(self.stops)

    @property
    def tree(self) -> cKDTree:
        """KD-tree of the stops (metres)."""
        if self._tree is None:
            self._tree = cKDTree(self.stops[["x", "y"]].to_numpy())
        return self._tree

    def near(self, x: float, y: float, max_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Stops within ``max_m`` (straight line) of a point, and the walking seconds between them.

        On the walking network when one is loaded (stops it cannot reach on foot drop out),
        else the straight line with the detour factor.
        """
        idx = np.asarray(self.tree.query_ball_point([x, y], max_m), dtype=np.int64)
        if self.walk_network is not None and len(idx):
            secs = _network_walk_seconds(self.walk_network, self.stops.iloc[idx], x, y, max_m)
            keep = np.isfinite(secs)
            return idx[keep], secs[keep]
        d = np.hypot(self.stops["x"].to_numpy()[idx] - x, self.stops["y"].to_numpy()[idx] - y)
        return idx, walk_seconds(d)


def _network_walk_seconds(walk_net: Any, stops: pd.DataFrame, x: float, y: float, max_m: float) -> np.ndarray:
    """Seconds on foot between a point and stops on a walking network (``inf`` beyond twice the limit)."""
    site = gpd.GeoDataFrame({"site_id": ["point"]}, geometry=gpd.points_from_xy([x], [y]), crs=settings.crs)
    limit = max(float(walk_seconds(2.0 * max_m)) / 60.0, 1.0)
    tt = node_times(walk_net, site, max_minutes=limit, direction="to_site")
    sx, sy = stops["x"].to_numpy(dtype=float), stops["y"].to_numpy(dtype=float)
    minutes = point_minutes(tt, sx, sy)[0][0]
    minutes[~walk_net.covered(sx, sy)] = np.inf  # never timed through a road fragment
    return np.asarray(np.where(minutes <= limit, minutes, np.inf) * 60.0)


def _read_table(feed: Any, name: str) -> pd.DataFrame:
    df = getattr(feed, name.removesuffix(".txt"))
    return pd.DataFrame(df)


def service_dates(path: str | os.PathLike[str]) -> dict[dt.date, frozenset[str]]:
    """Every date of the feed with its active service ids (calendar and calendar_dates applied)."""
    import partridge as ptg

    try:
        by_date = ptg.read_service_ids_by_date(str(path))
    except (KeyError, ValueError, AssertionError) as exc:
        raise InvalidInputError(f"{path}: cannot read the feed's calendar ({exc})") from None
    return {d: frozenset(s) for d, s in by_date.items() if s}


def pick_day(dates: dict[dt.date, frozenset[str]], day: dt.date | str | None, *, where: str) -> dt.date:
    """The service day: the one asked for, else the first Tuesday in the feed with service."""
    if not dates:
        raise InvalidInputError(f"{where}: the feed has no day with service")
    lo, hi = min(dates), max(dates)
    if day is not None:
        d = dt.date.fromisoformat(day) if isinstance(day, str) else day
        if d not in dates:
            raise InvalidInputError(f"{where}: no service on {d.isoformat()}; the feed runs {lo.isoformat()} to "
                                    f"{hi.isoformat()}")
        return d
    tuesdays = sorted(d for d in dates if d.weekday() == 1)
    return tuesdays[0] if tuesdays else min(dates)


def load_timetable(
    path: str | os.PathLike[str],
    *,
    day: dt.date | str | None = None,
    max_transfer_m: float = MAX_TRANSFER_M,
    walk_network: Any = None,
) -> Timetable:
    """Read a GTFS feed (zip or folder) with partridge and build one service day's timetable.

    Parameters
    ----------
    path : path
        The feed.
    day : date or ISO string, optional
        Service day; default the first Tuesday inside the feed's validity.
    max_transfer_m : float
        Longest straight-line walk between stops when changing.
    walk_network : TravelNetwork, optional
        A walking network (``load_network(..., mode="walk")``): walks to, from
        and between stops are timed on it instead of the straight line.

    Returns
    -------
    Timetable

    Raises
    ------
    DataNotFoundError
        No such feed.
    InvalidInputError
        A required file or column is missing, a trip runs backwards in time, or
        the day has no service (the message gives the valid range).
    """
    import partridge as ptg  # deferred: partridge is only needed to read a feed

    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"GTFS feed {p} not found")
    verify_path(p)
    _check_files(p)
    dates = service_dates(p)
    d = pick_day(dates, day, where=str(p))
    feed = ptg.load_feed(str(p), view={"trips.txt": {"service_id": sorted(dates[d])}})
    stop_tab, st = _stops_and_calls(feed, p)
    pos = pd.Series(np.arange(len(stop_tab)), index=stop_tab["stop_id"])
    st = _clean_calls(st, pos, p)
    if _has(p, "frequencies.txt"):
        freq = _read_table(feed, "frequencies.txt")
        st = _expand_frequencies(st, freq) if len(freq) else st
    patterns = _patterns(st, pos, where=str(p))
    fi, fj, fs = _footpaths(stop_tab, max_transfer_m)
    if walk_network is not None and len(fi):
        fs = _network_footpaths(walk_network, stop_tab, fi, fj, max_transfer_m)
        keep = np.isfinite(fs)
        fi, fj, fs = fi[keep], fj[keep], fs[keep]
    change = np.zeros(len(stop_tab))
    n_transfers = 0
    if _has(p, "transfers.txt"):
        tr = _read_table(feed, "transfers.txt")
        n_transfers = len(tr)
        change, fi, fj, fs = _apply_transfers(tr, pos, change, fi, fj, fs, where=str(p))
    return Timetable(d, stop_tab, patterns, fi, fj, fs, walk_network=walk_network, change_s=change,
                     source={"walking": "network" if walk_network is not None else f"straight line x {DETOUR}",
                             "transfers": n_transfers,
                             "file": p.name, "day": d.isoformat(), "trips": int(st["trip_id"].nunique()),
                             "patterns": len(patterns), "max_transfer_m": max_transfer_m,
                             "valid": [min(dates).isoformat(), max(dates).isoformat()]})


def _stops_and_calls(feed: Any, p: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stop table (``stop_id, stop_name, x, y`` in EPSG:27700) and the day's stop times, columns checked."""
    stops = _read_table(feed, "stops.txt")
    trips = _read_table(feed, "trips.txt")
    st = _read_table(feed, "stop_times.txt")
    for name, cols in REQUIRED.items():
        table = {"stops.txt": stops, "trips.txt": trips, "stop_times.txt": st}[name]
        missing = [c for c in cols if c not in table.columns]
        if missing and len(table):
            raise InvalidInputError(f"{p}: {name} lacks column(s) {', '.join(missing)}")
    stops = stops.dropna(subset=["stop_lat", "stop_lon"]).reset_index(drop=True)
    x, y = to_bng(stops["stop_lon"].to_numpy(float), stops["stop_lat"].to_numpy(float))
    stop_tab = pd.DataFrame({"stop_id": stops["stop_id"].astype(str),
                             "stop_name": stops.get("stop_name", stops["stop_id"]).astype(str), "x": x, "y": y})
    return stop_tab, st[st["trip_id"].isin(trips["trip_id"])].copy()


def _clean_calls(st: pd.DataFrame, pos: pd.Series, p: Path) -> pd.DataFrame:
    """Stop times at known stops (a warning counts the others), times in seconds, sorted by trip and sequence."""
    st["stop_id"] = st["stop_id"].astype(str)
    unknown = ~st["stop_id"].isin(pos.index)
    if unknown.any():
        warnings.warn(f"{p}: {int(unknown.sum())} stop_times name {st.loc[unknown, 'stop_id'].nunique()} unknown "
                      f"stop id(s) (e.g. {st.loc[unknown, 'stop_id'].iloc[0]!r}); those calls were left out",
                      stacklevel=3)
        st = st[~unknown]
    for col in ("arrival_time", "departure_time"):
        if st[col].dtype == object or str(st[col].dtype).startswith("string"):
            st[col] = parse_gtfs_time(st[col])
    st["arrival_time"] = st["arrival_time"].fillna(st["departure_time"])
    st["departure_time"] = st["departure_time"].fillna(st["arrival_time"])
    return st.dropna(subset=["arrival_time"]).sort_values(["trip_id", "stop_sequence"])


def _apply_transfers(tr: pd.DataFrame, pos: pd.Series, change: np.ndarray, fi: np.ndarray, fj: np.ndarray,
                     fs: np.ndarray, *, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Minimum change times per stop and footpath overrides from ``transfers.txt`` (see the module docstring)."""
    if not len(tr):
        return change, fi, fj, fs
    missing = [c for c in ("from_stop_id", "to_stop_id", "transfer_type") if c not in tr.columns]
    if missing:
        raise InvalidInputError(f"{where}: transfers.txt lacks column(s) {', '.join(missing)}")
    t = pd.DataFrame({"a": tr["from_stop_id"].astype(str), "b": tr["to_stop_id"].astype(str),
                      "type": pd.to_numeric(tr["transfer_type"], errors="coerce").fillna(0).astype(int),
                      "secs": pd.to_numeric(tr.get("min_transfer_time", pd.Series(np.nan, index=tr.index)),
                                            errors="coerce")})
    t = t[t["a"].isin(pos.index) & t["b"].isin(pos.index) & t["type"].isin([2, 3])]
    bad = t[(t["type"] == 2) & ~(t["secs"] >= 0)]
    if len(bad):
        raise InvalidInputError(f"{where}: transfers.txt: transfer_type 2 from {bad['a'].iloc[0]!r} to "
                                f"{bad['b'].iloc[0]!r} needs a min_transfer_time in seconds (0 or more)")
    change = change.copy()
    same = t[t["a"] == t["b"]]
    ia = pos.reindex(same["a"]).to_numpy()
    change[ia] = np.where(same["type"].to_numpy() == 3, np.inf, same["secs"].fillna(0).to_numpy())
    pairs = t[t["a"] != t["b"]]
    if len(pairs):
        pa, pb = pos.reindex(pairs["a"]).to_numpy(), pos.reindex(pairs["b"]).to_numpy()
        key = set(zip(pa.tolist(), pb.tolist(), strict=True))
        keep = np.asarray([(int(i), int(j)) not in key for i, j in zip(fi, fj, strict=True)], dtype=bool)
        fi, fj, fs = fi[keep], fj[keep], fs[keep]
        allowed = pairs["type"].to_numpy() == 2
        fi = np.concatenate([fi, pa[allowed]]).astype(np.int64)
        fj = np.concatenate([fj, pb[allowed]]).astype(np.int64)
        fs = np.concatenate([fs, pairs["secs"].to_numpy()[allowed]])
    return change, fi, fj, fs


def _has(p: Path, name: str) -> bool:
    if p.is_dir():
        return (p / name).is_file()
    with zipfile.ZipFile(p) as z:
        return any(n.rsplit("/", 1)[-1] == name for n in z.namelist())


def _check_files(p: Path) -> None:
    if p.is_dir():
        names = {q.name for q in p.iterdir()}
    else:
        try:
            with zipfile.ZipFile(p) as z:
                names = {n.rsplit("/", 1)[-1] for n in z.namelist()}
        except zipfile.BadZipFile:
            raise InvalidInputError(f"{p}: not a GTFS zip file or folder") from None
    missing = [n for n in REQUIRED if n not in names]
    if not ({"calendar.txt", "calendar_dates.txt"} & names):
        missing.append("calendar.txt or calendar_dates.txt")
    if missing:
        raise InvalidInputError(f"{p}: the feed lacks {', '.join(missing)}")


def _expand_frequencies(st: pd.DataFrame, freq: pd.DataFrame) -> pd.DataFrame:
    """Frequency-based trips become one trip per headway (times shifted from the template trip)."""
    freq = freq.copy()
    for col in ("start_time", "end_time"):
        if freq[col].dtype == object or str(freq[col].dtype).startswith("string"):
            freq[col] = parse_gtfs_time(freq[col])
    templ = set(freq["trip_id"])
    plain = st[~st["trip_id"].isin(templ)]
    parts = [plain]
    for trip_id, t_start, t_end, headway in zip(freq["trip_id"], freq["start_time"].astype(float),
                                                 freq["end_time"].astype(float), freq["headway_secs"].astype(float),
                                                 strict=True):
        base = st[st["trip_id"] == trip_id]
        if not len(base) or headway <= 0:
            continue
        t0 = float(base["departure_time"].iloc[0])
        start = float(t_start)
        while start < float(t_end):
            shifted = base.copy()
            shifted["trip_id"] = f"{trip_id}@{int(start)}"
            shifted["arrival_time"] = base["arrival_time"] - t0 + start
            shifted["departure_time"] = base["departure_time"] - t0 + start
            parts.append(shifted)
            start += float(headway)
    return pd.concat(parts, ignore_index=True).sort_values(["trip_id", "stop_sequence"])


def _patterns(st: pd.DataFrame, pos: pd.Series, *, where: str) -> list[Pattern]:
    st = st.assign(stop=pos.reindex(st["stop_id"]).to_numpy())
    groups: dict[tuple[int, ...], list[tuple[str, np.ndarray, np.ndarray]]] = {}
    for trip_id, g in st.groupby("trip_id", sort=True):
        a = g["arrival_time"].to_numpy(float)
        d = g["departure_time"].to_numpy(float)
        if np.any(d < a) or np.any(a[1:] < d[:-1]):
            raise InvalidInputError(f"{where}: trip {trip_id!r} runs backwards in time (stop_times out of order)")
        if len(g) < 2:
            continue
        groups.setdefault(tuple(g["stop"].astype(int)), []).append((str(trip_id), a, d))
    out = []
    for stops, trips in groups.items():
        trips.sort(key=lambda t: t[2][0])
        out.append(Pattern(np.asarray(stops, dtype=np.int64), np.vstack([t[1] for t in trips]),
                           np.vstack([t[2] for t in trips]), [t[0] for t in trips]))
    return out


def _network_footpaths(walk_net: Any, stops: pd.DataFrame, fi: np.ndarray, fj: np.ndarray, max_m: float
                       ) -> np.ndarray:
    """Walking seconds on the network for each stop pair (one batched search from the stops involved)."""
    used = np.unique(np.concatenate([fi, fj]))
    ux, uy = stops["x"].to_numpy()[used], stops["y"].to_numpy()[used]
    sites = gpd.GeoDataFrame({"site_id": [f"s{i}" for i in used]}, geometry=gpd.points_from_xy(ux, uy),
                             crs=settings.crs)
    limit = max(float(walk_seconds(2.0 * max_m)) / 60.0, 1.0)
    tt = node_times(walk_net, sites, max_minutes=limit, direction="to_site")
    minutes, _ = point_minutes(tt, ux, uy, max_m)
    row = {int(s): k for k, s in enumerate(used)}
    # minutes[a, b]: from stop used[b] to stop used[a] (a is the site)
    out = np.asarray([minutes[row[int(j)], row[int(i)]] for i, j in zip(fi, fj, strict=True)]) * 60.0
    return np.where(np.isfinite(out), out, np.inf)


def _footpaths(stops: pd.DataFrame, max_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xy = stops[["x", "y"]].to_numpy()
    pairs = cKDTree(xy).query_pairs(max_m, output_type="ndarray")
    if not len(pairs):
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0)
    i = np.concatenate([pairs[:, 0], pairs[:, 1]])
    j = np.concatenate([pairs[:, 1], pairs[:, 0]])
    return i, j, walk_seconds(np.hypot(*(xy[i] - xy[j]).T))


def latest_departures(
    tt: Timetable,
    dest_x: float,
    dest_y: float,
    arrive_by: float,
    *,
    max_transfers: int = 3,
    max_walk_m: float = MAX_WALK_M,
) -> np.ndarray:
    """The latest time (seconds after midnight) one can be at each stop and still arrive by ``arrive_by``.

    Parameters
    ----------
    tt : Timetable
    dest_x, dest_y : float
        The destination (a college), EPSG:27700 metres.
    arrive_by : float
        Deadline, seconds after midnight (09:00 is 32400).
    max_transfers : int
        Changes allowed (rounds = changes + 1).
    max_walk_m : float
        Longest walk from the last stop to the destination (straight line).

    Returns
    -------
    numpy.ndarray
        Per stop, seconds after midnight; ``-inf`` where the deadline cannot be made.
    """
    n = tt.n_stops
    egress = np.full(n, -np.inf)  # walking from the stop to the destination
    idx, walk = tt.near(dest_x, dest_y, max_walk_m)
    np.maximum.at(egress, idx, arrive_by - walk)
    ride = np.full(n, -np.inf)  # boarding a vehicle at the stop
    alight = _alight_labels(tt, egress, ride)
    for _ in range(max_transfers + 1):
        new_ride = ride.copy()
        for pat in tt.patterns:
            tau = alight[pat.stops]
            if not np.isfinite(tau).any():
                continue
            ok = pat.arr <= tau[None, :]  # can alight at this stop and still make it
            # a trip boarded at stop p must reach such a stop later on
            after = np.zeros_like(ok)
            after[:, :-1] = np.logical_or.accumulate(ok[:, ::-1], axis=1)[:, ::-1][:, 1:]
            cand = np.where(after, pat.dep, -np.inf).max(axis=0)
            np.maximum.at(new_ride, pat.stops, cand)
        if np.array_equal(new_ride, ride):
            break
        ride = new_ride
        alight = _alight_labels(tt, egress, ride)
    return _walk_relax(tt, np.maximum(egress, ride))


def _alight_labels(tt: Timetable, egress: np.ndarray, ride: np.ndarray) -> np.ndarray:
    """The latest time one may alight at each stop and still make it.

    Walk out, change (after the stop's minimum change time), or walk to another stop and board or walk out there.
    """
    board = np.maximum(egress, ride)
    change = tt.change_s if tt.change_s is not None else np.zeros(len(ride))
    label: np.ndarray = np.maximum(egress, ride - change)
    if len(tt.foot_i):
        np.maximum.at(label, tt.foot_i, board[tt.foot_j] - tt.foot_s)
    return label


def _walk_relax(tt: Timetable, board: np.ndarray) -> np.ndarray:
    """Add one walk between stops before boarding (or before walking to the destination)."""
    label = board.copy()
    if len(tt.foot_i):
        np.maximum.at(label, tt.foot_i, board[tt.foot_j] - tt.foot_s)
    return label


def arrive_by_minutes(
    tt: Timetable,
    dest_x: float,
    dest_y: float,
    *,
    arrive_by: str | float = "09:00",
    window_minutes: float = 30.0,
    step_minutes: float = 1.0,
    percentile: float = 50.0,
    max_transfers: int = 3,
    max_walk_m: float = MAX_WALK_M,
) -> np.ndarray:
    """Minutes from each stop to the destination, arriving within a window before ``arrive_by``.

    For every deadline from ``arrive_by - window`` to ``arrive_by`` (every
    ``step_minutes``), the trip time from each stop is the deadline minus the
    latest departure; the result is the chosen percentile across deadlines
    (the median by default; ``inf`` where that percentile cannot make it).
    """
    end = _seconds(arrive_by)
    steps = np.arange(end - window_minutes * 60.0, end + 1e-9, step_minutes * 60.0)
    rows = []
    for deadline in steps:
        ld = latest_departures(tt, dest_x, dest_y, deadline, max_transfers=max_transfers, max_walk_m=max_walk_m)
        rows.append((deadline - ld) / 60.0)
    out: np.ndarray = np.percentile(np.vstack(rows), percentile, axis=0, method="higher")
    return out


def _seconds(value: str | float) -> float:
    if isinstance(value, int | float):
        return float(value)
    try:
        h, m, *s = (int(v) for v in str(value).split(":"))
    except ValueError:
        raise InvalidInputError(f"time {value!r}: expected HH:MM") from None
    return h * 3600.0 + m * 60.0 + (s[0] if s else 0)


def reference_latest_departures(
    tt: Timetable,
    dest_x: float,
    dest_y: float,
    arrive_by: float,
    *,
    max_walk_m: float = MAX_WALK_M,
) -> np.ndarray:
    """The same answer as :func:`latest_departures` (unlimited changes) from a time-expanded graph in networkx.

    Slow and plain on purpose: a cross-check for tests and the benchmark's baseline.
    """
    import networkx as nx

    G = nx.DiGraph()
    sink = ("sink",)
    idx, walk = tt.near(dest_x, dest_y, max_walk_m)
    egress = np.full(tt.n_stops, np.inf)
    np.minimum.at(egress, idx, walk)
    reach_egress = egress.copy()  # a walk to another stop, then to the destination
    if len(tt.foot_i):
        np.minimum.at(reach_egress, tt.foot_i, tt.foot_s + egress[tt.foot_j])
    deps: dict[int, list[tuple[float, tuple[Any, ...]]]] = {}
    for pi, pat in enumerate(tt.patterns):
        for t in range(pat.arr.shape[0]):
            for k, s in enumerate(pat.stops):
                deps.setdefault(int(s), []).append((float(pat.dep[t, k]), ("d", pi, t, k)))
                if k + 1 < len(pat.stops):
                    G.add_edge(("d", pi, t, k), ("a", pi, t, k + 1))  # board here and ride on
                    if k + 2 < len(pat.stops):
                        G.add_edge(("a", pi, t, k + 1), ("a", pi, t, k + 2))  # stay on board (no change)
    for s in deps:
        deps[s].sort()
        for (_, u), (_, v) in zip(deps[s], deps[s][1:], strict=False):
            G.add_edge(u, v)  # wait for a later departure
    dep_times = {s: np.asarray([d[0] for d in lst]) for s, lst in deps.items()}
    nbrs: dict[int, list[tuple[int, float]]] = {}
    for i, j, w in zip(tt.foot_i, tt.foot_j, tt.foot_s, strict=True):
        nbrs.setdefault(int(i), []).append((int(j), float(w)))
    for pi, pat in enumerate(tt.patterns):
        for t in range(pat.arr.shape[0]):
            for k in range(1, len(pat.stops)):
                s, a = int(pat.stops[k]), float(pat.arr[t, k])
                node = ("a", pi, t, k)
                if a + reach_egress[s] <= arrive_by:
                    G.add_edge(node, sink)
                same = float(tt.change_s[s]) if tt.change_s is not None else 0.0
                for j, w in [(s, same), *nbrs.get(s, [])]:
                    if j in dep_times and np.isfinite(w):
                        first = int(np.searchsorted(dep_times[j], a + w, side="left"))
                        if first < len(dep_times[j]):
                            G.add_edge(node, deps[j][first][1])
    if sink not in G:
        G.add_node(sink)
    good = nx.ancestors(G, sink)
    best_dep = np.full(tt.n_stops, -np.inf)
    for s, lst in deps.items():
        ok = [tm for tm, node in lst if node in good]
        if ok:
            best_dep[s] = max(ok)
    board = np.maximum(best_dep, np.where(np.isfinite(egress), arrive_by - egress, -np.inf))
    return _walk_relax(tt, board)


def earliest_arrivals(
    tt: Timetable,
    orig_x: float,
    orig_y: float,
    depart_at: float,
    *,
    max_transfers: int = 3,
    max_walk_m: float = MAX_WALK_M,
) -> np.ndarray:
    """The earliest time (seconds) one can be at each stop leaving a point at ``depart_at`` (depart-at search)."""
    n = tt.n_stops
    access = np.full(n, np.inf)  # walking from the origin to the stop
    idx, walk = tt.near(orig_x, orig_y, max_walk_m)
    np.minimum.at(access, idx, depart_at + walk)
    alight = np.full(n, np.inf)  # alighting from a vehicle at the stop
    label = _board_labels(tt, access, alight)
    for _ in range(max_transfers + 1):
        new = alight.copy()
        for pat in tt.patterns:
            tau = label[pat.stops]
            if not np.isfinite(tau).any():
                continue
            ok = pat.dep >= tau[None, :]  # can board here
            before = np.zeros_like(ok)
            before[:, 1:] = np.logical_or.accumulate(ok, axis=1)[:, :-1]
            cand = np.where(before, pat.arr, np.inf).min(axis=0)
            np.minimum.at(new, pat.stops, cand)
        if np.array_equal(new, alight):
            break
        alight = new
        label = _board_labels(tt, access, alight)
    return _walk_relax_fwd(tt, np.minimum(access, alight))


def _board_labels(tt: Timetable, access: np.ndarray, alight: np.ndarray) -> np.ndarray:
    """The earliest time one can board at each stop: after walking in, after a change, or after a walk between stops."""
    at = np.minimum(access, alight)
    change = tt.change_s if tt.change_s is not None else np.zeros(len(alight))
    label: np.ndarray = np.minimum(access, alight + change)
    if len(tt.foot_i):
        np.minimum.at(label, tt.foot_j, at[tt.foot_i] + tt.foot_s)
    return label


def _walk_relax_fwd(tt: Timetable, alight: np.ndarray) -> np.ndarray:
    label = alight.copy()
    if len(tt.foot_i):
        np.minimum.at(label, tt.foot_j, alight[tt.foot_i] + tt.foot_s)
    return label


@dataclass
class TransitTimes:
    """Minutes between every stop and each site over the window (a transit search's :class:`~iot_geo.routing.SiteTimes`).

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("chester-20230816-small_gtfs.zip", mode="transit")
    >>> tt = net.search(ig.as_sites({"Chester": (53.1906, -2.8916)}), max_minutes=30, direction="to_site")
    >>> tt.per_site.shape == (1, net.n_nodes)
    True
    """

    sites: gpd.GeoDataFrame
    direction: str
    max_minutes: float
    per_site: np.ndarray  # (n_sites, n_stops) minutes, inf where the deadline cannot be made

    @property
    def min(self) -> np.ndarray:
        """Minutes per stop to (or from) the nearest site."""
        out: np.ndarray = self.per_site.min(axis=0)
        return out


@dataclass
class TransitNetwork:
    """A timetable with the options of a public-transport catchment (arrive-by window, limits).

    Made by :func:`iot_geo.load_network` with ``mode="transit"``; implements the
    routing interface (:class:`iot_geo.routing.RoutingNetwork`), so catchments,
    people reached, hub and spoke and overlap use it like a road network. Its
    nodes are the stops. Minutes from a stop are the ``percentile`` of the trip
    times over the arrival window (to a site) or departure window (from a site).
    """

    timetable: Timetable
    arrive_by: float = 9 * 3600.0
    window_minutes: float = 30.0
    step_minutes: float = 1.0
    percentile: float = 50.0
    max_transfers: int = 3
    max_walk_m: float = MAX_WALK_M
    source: dict[str, Any] = field(default_factory=dict)
    mode: str = "transit"
    #: The feed's path and the options it was opened with (:meth:`file_ref`); None when not from a file.
    feed: tuple[str, tuple[tuple[str, Any], ...]] | None = field(default=None, repr=False)
    _frontier: np.ndarray | None = field(default=None, repr=False)

    @property
    def stop_x(self) -> np.ndarray:
        """Stop eastings (metres)."""
        return self.timetable.stops["x"].to_numpy()

    @property
    def stop_y(self) -> np.ndarray:
        """Stop northings (metres)."""
        return self.timetable.stops["y"].to_numpy()

    @property
    def node_x(self) -> np.ndarray:
        """Stop eastings (the transit network's nodes are its stops)."""
        return self.stop_x

    @property
    def node_y(self) -> np.ndarray:
        """Stop northings."""
        return self.stop_y

    @property
    def n_nodes(self) -> int:
        """Number of stops (the transit network's nodes)."""
        return self.timetable.n_stops

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the stops."""
        return (float(self.stop_x.min()), float(self.stop_y.min()), float(self.stop_x.max()), float(self.stop_y.max()))

    @property
    def frontier(self) -> np.ndarray:
        """Stops on the edge of the feed's extent (on a 1 km grid; :func:`iot_geo.search.frontier_nodes`)."""
        if self._frontier is None:
            self._frontier = frontier_nodes(self.stop_x, self.stop_y, cell=1000.0)
        return self._frontier

    @property
    def reach_m(self) -> float:
        """Points are timed up to a walk of :attr:`max_walk_m` from a stop (or from the site)."""
        return float(self.max_walk_m)

    @property
    def refusal(self) -> str:
        """Why a site cannot join: no stop within walking reach."""
        return f"no stop within {self.max_walk_m:,.0f} m"

    def covers(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether each point is within walking reach of a stop."""
        d, _ = self.timetable.tree.query(np.column_stack([x, y]), k=1)
        return np.asarray(d <= self.max_walk_m)

    def site_gap_m(self, x: np.ndarray, y: np.ndarray) -> float | None:
        """Not measured for a timetable (a site either has a stop within walking reach or not)."""
        return None

    def covered(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Every point can be timed (a timetable has no clipped edge to be timed through)."""
        return np.ones(len(x), dtype=bool)

    def stop_minutes(self, x: float, y: float, direction: str = "to_site") -> np.ndarray:
        """Minutes between each stop and a site over the window (``inf`` where not made)."""
        tt = self.timetable
        steps = np.arange(self.arrive_by - self.window_minutes * 60.0, self.arrive_by + 1e-9, self.step_minutes * 60.0)
        rows = []
        for t in steps:
            if direction == "to_site":
                rows.append((t - latest_departures(tt, x, y, t, max_transfers=self.max_transfers,
                                                    max_walk_m=self.max_walk_m)) / 60.0)
            else:
                rows.append((earliest_arrivals(tt, x, y, t, max_transfers=self.max_transfers,
                                               max_walk_m=self.max_walk_m) - t) / 60.0)
        out: np.ndarray = np.percentile(np.vstack(rows), self.percentile, axis=0, method="higher")
        return out

    def search(self, sites: gpd.GeoDataFrame, *, max_minutes: float, direction: str,
               snap_max_m: float | None = None) -> TransitTimes:
        """Minutes between every stop and each site; a site with no stop within walking reach is an error.

        ``snap_max_m`` is a road network's option: here the limit is :attr:`max_walk_m`.
        """
        x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
        far = ~self.covers(x, y)
        if far.any():
            raise InvalidInputError(f"site {sites['site_id'].iloc[int(np.flatnonzero(far)[0])]!r} has no stop within "
                                    f"{self.max_walk_m:,.0f} m in {self.source.get('file', 'the feed')}")
        per_site = np.vstack([self.stop_minutes(float(a), float(b), direction) for a, b in zip(x, y, strict=True)])
        per_site[per_site > max_minutes] = np.inf  # as on roads: farther stops are not reached within the cutoff
        return TransitTimes(sites, direction, float(max_minutes), per_site)

    def minutes_to_points(self, times: SiteTimes, x: np.ndarray, y: np.ndarray, *, snap_max_m: float | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
        """Minutes between points and each site (:meth:`minutes_via_stops`), and each point's walk to its nearest stop.

        ``snap_max_m`` is a road network's option: walks here are limited by :attr:`max_walk_m`.
        """
        sx, sy = times.sites.geometry.x.to_numpy(), times.sites.geometry.y.to_numpy()
        minutes = np.vstack([self.minutes_via_stops(times.per_site[i], x, y, float(sx[i]), float(sy[i]))
                             for i in range(len(sx))]) if len(sx) else np.full((0, len(x)), np.inf)
        access, _ = self.timetable.tree.query(np.column_stack([x, y]), k=1) if len(x) else (np.zeros(0), None)
        return minutes, np.asarray(access, dtype=float)

    def minutes_via_stops(self, stop_min: np.ndarray, px: np.ndarray, py: np.ndarray, site_x: float, site_y: float
                          ) -> np.ndarray:
        """Minutes from points: walk to a stop within reach then ride, or walk all the way (within reach).

        Walks are timed on the walking network when the timetable has one, else as straight lines
        with the detour factor.
        """
        tree = self.timetable.tree
        out = np.full(len(px), np.inf)
        reached = np.flatnonzero(np.isfinite(stop_min))
        if len(reached) and self.timetable.walk_network is not None:
            for k in range(len(px)):
                idx, secs = self.timetable.near(float(px[k]), float(py[k]), self.max_walk_m)
                if len(idx):
                    out[k] = np.min(stop_min[idx] + secs / 60.0)
        elif len(reached):
            lists = tree.query_ball_point(np.column_stack([px, py]), self.max_walk_m)
            for k, idx in enumerate(lists):
                if idx:
                    idx = np.asarray(idx)
                    d = np.hypot(self.stop_x[idx] - px[k], self.stop_y[idx] - py[k])
                    out[k] = np.min(stop_min[idx] + walk_seconds(d) / 60.0)
        direct = np.hypot(px - site_x, py - site_y)
        walk_min = np.where(direct <= self.max_walk_m, walk_seconds(direct) / 60.0, np.inf)
        res: np.ndarray = np.minimum(out, walk_min)
        return res

    def grid_margin(self, resolution: float) -> float:
        """No margin: stop times are exact to the window, the grid is cut at the largest band itself."""
        return 0.0

    def time_grid(self, times: SiteTimes, idx: np.ndarray, *, resolution: float, access_max_m: float) -> TimeGrid:
        """The stops reached in time (and the sites themselves, at 0 minutes), each spreading on foot.

        Walks spread up to :attr:`max_walk_m` at walking speed with the detour factor; ``access_max_m``
        is a road network's option.
        """
        sm = times.per_site[idx].min(axis=0)
        sites = times.sites.iloc[idx]
        ok = np.isfinite(sm)
        sx = np.concatenate([self.stop_x[ok], sites.geometry.x.to_numpy()])
        sy = np.concatenate([self.stop_y[ok], sites.geometry.y.to_numpy()])
        st = np.concatenate([sm[ok], np.zeros(len(sites))])
        keep = st <= times.max_minutes
        per_m = float(walk_seconds(1.0)) / 60.0  # minutes a metre on foot, detour included
        return grid_from_points(sx[keep], sy[keep], st[keep], resolution=resolution, walk_max_m=self.max_walk_m,
                                per_m=per_m)

    def describe(self) -> dict[str, Any]:
        """The feed, its day and options, and the number of stops (for provenance)."""
        return {"mode": "transit", **dict(self.source.items()), "stops": int(self.n_nodes)}

    def file_ref(self) -> tuple[str, str, None, tuple[tuple[str, Any], ...]] | None:
        """``("gtfs", feed path, None, options)`` when the feed can be read again as it was (no walking network)."""
        if self.feed is None or self.timetable.walk_network is not None:
            return None
        return ("gtfs", self.feed[0], None, self.feed[1])

    def _repr_html_(self) -> str:
        s = self.source
        text = (f"{s.get('file')}: {self.timetable.n_stops:,} stops, {s.get('trips')} trips on "
                f"{s.get('day')} (feed valid {s.get('valid')}); arrive by {int(self.arrive_by // 3600):02d}:"
                f"{int(self.arrive_by % 3600 // 60):02d}, window {self.window_minutes:g} min, "
                f"{self.percentile:g}th percentile, up to {self.max_transfers} changes, walks up to {self.max_walk_m:g} m")
        return "<b>TransitNetwork</b> " + html.escape(text)


def load_transit(
    path: str | os.PathLike[str],
    *,
    day: dt.date | str | None = None,
    arrive_by: str | float = "09:00",
    window_minutes: float = 30.0,
    percentile: float = 50.0,
    max_transfers: int = 3,
    max_walk_m: float = MAX_WALK_M,
    max_transfer_m: float = MAX_TRANSFER_M,
    walk_network: Any = None,
) -> TransitNetwork:
    """A :class:`TransitNetwork` from a GTFS feed (see :func:`load_timetable` and the module docstring)."""
    if not 0 <= percentile <= 100:
        raise InvalidInputError(f"percentile {percentile} must be within 0..100")
    if window_minutes < 0 or max_transfers < 0 or max_walk_m <= 0:
        raise InvalidInputError("window, changes and walking limits must not be negative")
    tt = load_timetable(path, day=day, max_transfer_m=max_transfer_m, walk_network=walk_network)
    src = {**tt.source, "format": "gtfs", "arrive_by": str(arrive_by), "window_minutes": window_minutes,
           "percentile": percentile, "max_transfers": max_transfers, "max_walk_m": max_walk_m}
    options = {"day": day, "arrive_by": arrive_by, "window_minutes": window_minutes, "percentile": percentile,
               "max_transfers": max_transfers, "max_walk_m": max_walk_m, "max_transfer_m": max_transfer_m}
    return TransitNetwork(tt, _seconds(arrive_by), window_minutes, 1.0, percentile, max_transfers, max_walk_m, src,
                          feed=(str(Path(path).resolve()), tuple(sorted(options.items()))))
