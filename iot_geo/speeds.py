"""Travel speeds by mode: the documented figures behind every travel time.

Drive, weekday morning peak (the default)
-----------------------------------------
Learners travel in the morning peak, and free-flow speeds from speed limits
make urban car trips look two to three times shorter than the official
journey-time statistics. The default drive profile is a speed per road class
and setting, never above the road's free-flow speed:

============================  ===========  ===========
road class (OSM ``highway``)  urban km/h   rural km/h
============================  ===========  ===========
motorway, motorway_link       80 (50 mph)  90 (56 mph)
trunk, trunk_link             35 (22 mph)  72 (45 mph)
primary, primary_link         29 (18 mph)  64 (40 mph)
secondary, secondary_link     27 (17 mph)  56 (35 mph)
tertiary, tertiary_link       24 (15 mph)  48 (30 mph)
unclassified, road            22 (14 mph)  40 (25 mph)
residential                   20 (12 mph)  32 (20 mph)
living_street, service        10 (6 mph)   15 (9 mph)
============================  ===========  ===========

Sources and reasoning: DfT congestion statistics (table CGN0501) put the
average weekday morning-peak speed on locally managed A roads in England at
about 24 mph (2017-2019), with urban authorities in the mid to high teens and
rural counties in the 30s (CGN0502); the figures above are our rounded profile
around those anchors for A roads, scaled down for lesser roads. Strategic road
network (motorway) peak speeds are from DfT's SRN speed statistics (about 56-60
mph outside the densest urban sections). These are a profile, not measurements
of any one road: say so when quoting a figure.

*Setting*: a road tagged ``maxspeed`` <= 30 mph is urban, above 30 mph rural.
An untagged road is urban where the network is dense around it: at least
:data:`URBAN_NODES_PER_KM2` junctions per km² within :data:`URBAN_RADIUS_M`
metres (built-up street patterns), else rural.

*Park and walk*: see below, the same in every drive profile.

Drive, free flow (``free_flow=True``)
-------------------------------------
Free-flow speeds are what a car does on an empty road: the speeds routing
engines such as OSRM and Valhalla give. Two rules:

*A road with a ``maxspeed`` tag* (UK tags are in mph: ``"30 mph"``; a bare
number is km/h as OSM defines; ``national`` is 60 mph, 70 mph on motorways and
trunk roads; the lowest of several values) keeps the tag as its *limit*, and
drives at :data:`LIMIT_FACTOR` (0.8) times it. Why 0.8: DfT's vehicle speed
compliance statistics (table SPE0111, free-flow speeds of cars) put the
average car on national-speed-limit single carriageways at about 48 mph, 0.8
of the 60 mph limit, measured where traffic flows freely on straight, level
road; a whole route, with bends and junctions, is not faster than that. OSRM's
car profile uses the same factor (``speed_reduction = 0.8`` on tagged limits);
Valhalla uses the tagged limit as it is.

*A road without one* (71-85 % of tertiary, secondary and unclassified road
length in the Rutland extract) drives at the free-flow speed of its class and
setting (:data:`FREE_FLOW_KMH`), never at the national limit (60 mph on any
rural road: lanes are not driven at 60 mph):

============================  ===========  ===========  ==================  ==================
road class (OSM ``highway``)  urban km/h   rural km/h   OSRM car, untagged  Valhalla, untagged
============================  ===========  ===========  ==================  ==================
motorway, motorway_link       95           105          90 (link 45)        105
trunk, trunk_link             55           85           85 (link 40)        90
primary, primary_link         40           70           65 (link 30)        75
secondary, secondary_link     38           60           55 (link 25)        60
tertiary, tertiary_link       35           50           40 (link 20)        50
unclassified, road            30           40           25                  40
residential                   25           30           25                  30
living_street                 10           10           10                  20
service                       15           15           15                  20
============================  ===========  ===========  ==================  ==================

Sources and reasoning. Rural: 0.8 of the 60 mph national limit is 77 km/h,
our ceiling for untagged rural A roads (trunk 85: dual carriageways, limit
70 mph); lesser rural roads are narrower and bendier, and DfT does not
publish free-flow speeds by road class below A roads, so we take Valhalla's
class defaults (``lua/graph.lua`` ``default_speed``: 105, 90, 75, 60, 50, 40,
30 and 20 km/h from motorway down to service roads), which lie between
OSRM's (``profiles/car.lua`` ``speeds.highway``) and the national limit, and
round primary down to the 0.8 ceiling. Urban: an untagged road in a built-up
street pattern is almost always a 30 mph "restricted road" (street lighting),
and 0.8 of 30 mph is 39 km/h: primary 40, lesser roads below it; motorways
and trunk roads keep their higher urban limits. Valhalla lowers its defaults
in dense areas too; OSRM does not use the setting. Service roads (car parks,
access roads, driveways: 15 km/h, OSRM's figure) are in the drive network so
that sites and homes join the road they are on, not one 100 m away.

Neither engine adds parking; OSRM adds up to 7.5 s for each turn and 2 s at
traffic signals, iot-geo adds neither, so its driving minutes run a little
below OSRM's on the same route (``benchmarks/bench_peers.py`` measures both).

Park and walk, in every drive profile
-------------------------------------
:data:`PARK_MINUTES` (3) minutes are added once to every drive trip, morning
peak and free flow alike, for finding a space and walking to the door at the
far end (``park_minutes`` / ``--park-minutes`` to change; 0 leaves it out and
gives driving time only, as OSRM and Valhalla do). With short bands this is a
large share: a 5-minute band leaves 2 minutes of driving, and
:func:`park_note` says so wherever the command line draws such a band.

Your own figures
----------------
:func:`read_speeds` reads a YAML speed table (``--speeds FILE``) that
overrides any figure here; see its docstring for the format, and
``data/examples/speeds.yaml`` for every default written out.

Cycle and walk
--------------
Constant speeds: cycling :data:`CYCLE_KMH` km/h and walking :data:`WALK_KMH`
km/h, the figures DfT's journey time statistics use. One-way rules apply to
driving only.

Access legs
-----------
From a point (a site, a home) to its snapped point on the network, on foot at
:data:`ACCESS_KMH` km/h.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iot_geo.errors import DataNotFoundError, InvalidInputError

__all__ = [
    "ACCESS_KMH",
    "CYCLE_KMH",
    "FREE_FLOW_KMH",
    "LIMIT_FACTOR",
    "MODES",
    "MPH",
    "PARK_MINUTES",
    "PEAK_KMH",
    "URBAN_NODES_PER_KM2",
    "URBAN_RADIUS_M",
    "WALK_KMH",
    "Speeds",
    "park_note",
    "parse_maxspeed_kmh",
    "read_speeds",
    "road_class",
]


MPH = 1.609344

URBAN_NODES_PER_KM2 = 40.0
URBAN_RADIUS_M = 500.0
PARK_MINUTES = 3.0
CYCLE_KMH = 16.0
WALK_KMH = 4.8
ACCESS_KMH = 4.8

PEAK_KMH: dict[str, tuple[float, float]] = {
    "motorway": (80.0, 90.0),
    "trunk": (35.0, 72.0),
    "primary": (29.0, 64.0),
    "secondary": (27.0, 56.0),
    "tertiary": (24.0, 48.0),
    "unclassified": (22.0, 40.0),
    "road": (22.0, 40.0),
    "residential": (20.0, 32.0),
    "living_street": (10.0, 15.0),
    "service": (10.0, 15.0),
}

#: Free-flow speed (urban km/h, rural km/h) of a road without a ``maxspeed`` tag, by class (see the module docstring).
FREE_FLOW_KMH: dict[str, tuple[float, float]] = {
    "motorway": (95.0, 105.0),
    "trunk": (55.0, 85.0),
    "primary": (40.0, 70.0),
    "secondary": (38.0, 60.0),
    "tertiary": (35.0, 50.0),
    "unclassified": (30.0, 40.0),
    "road": (30.0, 40.0),
    "residential": (25.0, 30.0),
    "living_street": (10.0, 10.0),
    "service": (15.0, 15.0),
}

#: Free-flow speed on a road with a ``maxspeed`` tag, as a share of the limit (DfT SPE0111; OSRM's ``speed_reduction``).
LIMIT_FACTOR = 0.8

MODES = ("drive", "cycle", "walk")


def road_class(highway: object) -> str:
    """The profile class of an OSM ``highway`` value (lists take the first; ``_link`` folded)."""
    if isinstance(highway, list | tuple):
        highway = highway[0] if highway else ""
    text = str(highway or "").strip().lower()
    if text.startswith("[") and "'" in text:  # a list written as text in GraphML
        text = text.split("'")[1]
    text = text.removesuffix("_link")
    return text if text in PEAK_KMH else "unclassified"


_NUM = re.compile(r"(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?", re.I)


def parse_maxspeed_kmh(value: object, highway: str = "") -> float | None:
    """Parse an OSM ``maxspeed`` value to km/h; ``None`` if absent or unreadable.

    ``"30 mph"`` -> 48.3; ``"50"`` -> 50 (km/h, the OSM default unit);
    ``"national"``/``"GB:national"`` -> 60 mph (70 mph on motorway/trunk);
    several values (a list, or ``;``-separated) -> the lowest.
    """
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, list | tuple):
        parts = [parse_maxspeed_kmh(v, highway) for v in value]
        vals = [p for p in parts if p is not None]
        return min(vals) if vals else None
    text = str(value).strip().lower()
    if text.startswith("["):
        return parse_maxspeed_kmh([t.strip(" '\"") for t in text.strip("[]").split(",")], highway)
    if ";" in text or "|" in text:
        return parse_maxspeed_kmh(re.split(r"[;|]", text), highway)
    if "national" in text or text in ("nsl_single", "nsl_dual", "gb:nsl_single", "gb:nsl_dual"):
        return (70.0 if road_class(highway) in ("motorway", "trunk") or "dual" in text else 60.0) * MPH
    if "motorway" in text:
        return 70.0 * MPH
    if text in ("walk", "none", "signals", "variable"):
        return None
    m = _NUM.search(text)
    if not m:
        return None
    number = float(m.group(1))
    if number <= 0:
        return None
    unit = (m.group(2) or "").lower()
    return number * MPH if unit == "mph" else number


@dataclass(frozen=True)
class Speeds:
    """A speed profile for one mode.

    Parameters
    ----------
    mode : {"drive", "cycle", "walk"}
    free_flow : bool
        Drive only: free-flow speeds (:data:`LIMIT_FACTOR` times a tagged
        limit, else :data:`FREE_FLOW_KMH`) instead of the morning-peak profile.
    constant_kmh : float, optional
        One speed for every road (cycle and walk by default; any mode when set).
    by_class : mapping, optional
        Drive: ``{road class: (urban km/h, rural km/h)}`` overriding
        :data:`PEAK_KMH` entries (the morning-peak profile).
    park_minutes : float
        Added once per drive trip, in every drive profile (0 for other modes).
    access_kmh : float
        Speed of the access leg off the network.
    free_by_class : mapping, optional
        Drive: ``{road class: (urban km/h, rural km/h)}`` overriding
        :data:`FREE_FLOW_KMH` entries (roads without a ``maxspeed`` tag).
    limit_factor : float
        Free-flow speed on a tagged road as a share of its limit.

    Examples
    --------
    >>> import iot_geo as ig
    >>> ig.Speeds.for_mode("walk").access_kmh
    4.8
    """

    mode: str = "drive"
    free_flow: bool = False
    constant_kmh: float | None = None
    by_class: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    park_minutes: float = PARK_MINUTES
    access_kmh: float = ACCESS_KMH
    free_by_class: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    limit_factor: float = LIMIT_FACTOR

    @classmethod
    def for_mode(cls, mode: str, *, free_flow: bool = False, park_minutes: float | None = None) -> Speeds:
        """The documented default profile of a mode (``park_minutes`` replaces :data:`PARK_MINUTES` for driving)."""
        if mode == "drive":
            return cls("drive", free_flow=free_flow, park_minutes=PARK_MINUTES if park_minutes is None
                       else float(park_minutes))
        if mode == "cycle":
            return cls("cycle", constant_kmh=CYCLE_KMH, park_minutes=0.0)
        if mode == "walk":
            return cls("walk", constant_kmh=WALK_KMH, park_minutes=0.0)
        raise ValueError(mode)

    def key(self) -> dict[str, object]:
        """A plain description for cache keys and provenance."""
        out: dict[str, object] = {
            "mode": self.mode, "free_flow": self.free_flow, "constant_kmh": self.constant_kmh,
            "by_class": {k: list(v) for k, v in sorted(self.by_class.items())},
            "park_minutes": self.park_minutes, "access_kmh": self.access_kmh,
            "profile": None if self.constant_kmh or self.free_flow else {k: list(v) for k, v in PEAK_KMH.items()},
        }
        if not self.constant_kmh:
            out["free_flow_kmh"] = {k: list(v) for k, v in {**FREE_FLOW_KMH, **self.free_by_class}.items()}
            out["limit_factor"] = self.limit_factor
        return out

    def free_kmh(self, cls_name: str, limit_kmh: float | None, urban: bool) -> float:
        """Free-flow speed of one edge in km/h: ``limit_factor`` times a tagged limit, else the class figure."""
        if limit_kmh:
            return float(limit_kmh) * self.limit_factor
        table = self.free_by_class.get(cls_name) or FREE_FLOW_KMH.get(cls_name, FREE_FLOW_KMH["unclassified"])
        return float(table[0 if urban else 1])

    def edge_kmh(self, cls_name: str, limit_kmh: float | None, urban: bool) -> float:
        """Speed of one edge in km/h (the morning peak is never above the free-flow speed)."""
        if self.constant_kmh:
            return float(self.constant_kmh)
        free = self.free_kmh(cls_name, limit_kmh, urban)
        if self.free_flow:
            return free
        peak = self.by_class.get(cls_name, PEAK_KMH.get(cls_name, PEAK_KMH["unclassified"]))[0 if urban else 1]
        return min(float(peak), free)


def park_note(speeds: Speeds, bands: Sequence[float]) -> str | None:
    """A sentence for the user where parking takes a large share of a band (at least 40 %), else ``None``."""
    if speeds.mode != "drive" or speeds.park_minutes <= 0 or not len(bands):
        return None
    short = min(float(b) for b in bands)
    if speeds.park_minutes < 0.4 * short:
        return None
    left = max(short - speeds.park_minutes, 0.0)
    return (f"every drive time includes {speeds.park_minutes:g} min to park and walk to the door, so the "
            f"{short:g}-minute band leaves {left:g} min of driving; --park-minutes 0 gives driving time only")


_TABLE_KEYS = ("peak", "free_flow")
_NUMBER_KEYS = ("limit_factor", "park_minutes", "access_kmh", "cycle_kmh", "walk_kmh")


def _speed_document(p: Path) -> dict[Any, Any]:
    """The speed table's YAML mapping, every key one of the documented ones."""
    import yaml  # deferred: yaml loads only when a speed table is read

    if not p.is_file():
        raise DataNotFoundError(f"speed table {p} not found")
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{p}: not a readable YAML speed table ({exc.__class__.__name__})") from None
    if not isinstance(doc, dict):
        raise InvalidInputError(f"{p}: a speed table is a mapping of keys ({', '.join(_TABLE_KEYS + _NUMBER_KEYS)})")
    unknown = sorted(str(k) for k in doc if k not in _TABLE_KEYS + _NUMBER_KEYS)
    if unknown:
        raise InvalidInputError(f"{p}: unknown key(s) {', '.join(unknown)}; "
                                f"use {', '.join(_TABLE_KEYS + _NUMBER_KEYS)}")
    return doc


def _number(doc: dict[Any, Any], p: Path, key: str, lo: float, hi: float) -> float | None:
    """The table's number at ``key`` (None when not given), within ``lo..hi``."""
    v = doc.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= float(v) <= hi:
        raise InvalidInputError(f"{p}: {key} must be a number within {lo:g}..{hi:g}, got {v!r}")
    return float(v)


def _class_table(doc: dict[Any, Any], p: Path, key: str) -> dict[str, tuple[float, float]]:
    """The table's road class -> (urban, rural) km/h at ``key`` (``_link`` roads as their road)."""
    raw = doc.get(key) or {}
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{p}: {key} must map road classes to [urban km/h, rural km/h]")
    out: dict[str, tuple[float, float]] = {}
    for name, v in raw.items():
        cls_name = str(name).strip().lower().removesuffix("_link")
        if cls_name not in PEAK_KMH:
            raise InvalidInputError(f"{p}: {key}: unknown road class {name!r}; use one of {', '.join(PEAK_KMH)}")
        pair = list(v) if isinstance(v, list | tuple) else [v, v]
        if len(pair) != 2 or not all(isinstance(x, int | float) and not isinstance(x, bool) and 1 <= x <= 200
                                     for x in pair):
            raise InvalidInputError(f"{p}: {key}.{name} must be a speed or [urban, rural] within 1..200 km/h, "
                                    f"got {v!r}")
        out[cls_name] = (float(pair[0]), float(pair[1]))
    return out


def read_speeds(path: str | os.PathLike[str], *, mode: str = "drive", free_flow: bool = False,
                park_minutes: float | None = None) -> Speeds:
    """Read a user's speed table (YAML) over the documented defaults.

    Every key is optional; what is not given keeps its documented figure::
        # km/h; a road class takes [urban, rural] or one number for both
        peak:                    # the morning-peak profile (PEAK_KMH)
          primary: [25, 60]
          residential: 18
        free_flow:               # roads without a maxspeed tag (FREE_FLOW_KMH)
          unclassified: [30, 45]
        limit_factor: 0.8        # free flow on a tagged road = factor x limit
        park_minutes: 3          # added once to every drive trip
        access_kmh: 4.8          # the walk between a point and the road
        cycle_kmh: 16
        walk_kmh: 4.8

    Road classes are OSM ``highway`` values (``_link`` roads take their road's
    figure): motorway, trunk, primary, secondary, tertiary, unclassified, road,
    residential, living_street, service.

    Parameters
    ----------
    path : path
        The YAML file.
    mode : {"drive", "cycle", "walk"}
    free_flow : bool
        Drive: use the free-flow figures rather than the morning peak.
    park_minutes : float, optional
        Wins over the file's ``park_minutes`` (the command line's ``--park-minutes``).

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    InvalidInputError
        Not YAML, an unknown key or road class, or a speed outside 1..200 km/h;
        the message names the file and the key.
    """
    if mode not in MODES:
        raise InvalidInputError(f"speed tables are for modes {', '.join(MODES)}, not {mode!r}")
    p = Path(path)
    doc = _speed_document(p)
    peak, free = _class_table(doc, p, "peak"), _class_table(doc, p, "free_flow")
    factor = _number(doc, p, "limit_factor", 0.1, 1.5)
    park = _number(doc, p, "park_minutes", 0.0, 60.0)
    access = _number(doc, p, "access_kmh", 0.5, 20.0)
    constant = _number(doc, p, f"{mode}_kmh", 1.0, 200.0) if mode in ("cycle", "walk") else None
    base = Speeds.for_mode(mode, free_flow=free_flow)
    if mode != "drive":
        return Speeds(mode, constant_kmh=constant or base.constant_kmh, park_minutes=0.0,
                      access_kmh=access or base.access_kmh)
    return Speeds("drive", free_flow=free_flow, by_class=peak, free_by_class=free,
                  limit_factor=base.limit_factor if factor is None else factor,
                  park_minutes=float(park_minutes) if park_minutes is not None else
                  (base.park_minutes if park is None else park),
                  access_kmh=access or base.access_kmh)
