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
living_street, service        10 (6 mph)   16 (10 mph)
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

*Park and walk*: :data:`PARK_MINUTES` minutes are added once to every drive
trip for parking and walking to the door at the far end.

Drive, free flow (``free_flow=True``)
-------------------------------------
The ``maxspeed`` tag (UK tags are in mph: ``"30 mph"``; a bare number is km/h
as OSM defines; ``national`` is 60 mph, 70 mph on motorways and trunk roads;
the lowest of several values), else the UK default limit for the road class
and setting (:data:`DEFAULT_LIMIT_MPH`).

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

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

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
    "living_street": (10.0, 16.0),
    "service": (10.0, 16.0),
}

DEFAULT_LIMIT_MPH: dict[str, tuple[float, float]] = {
    "motorway": (70.0, 70.0),
    "trunk": (40.0, 60.0),
    "primary": (30.0, 60.0),
    "secondary": (30.0, 60.0),
    "tertiary": (30.0, 50.0),
    "unclassified": (30.0, 40.0),
    "road": (30.0, 40.0),
    "residential": (30.0, 30.0),
    "living_street": (20.0, 20.0),
    "service": (20.0, 20.0),
}

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
        Drive only: speed limits (``maxspeed`` or class defaults) instead of the
        morning-peak profile.
    constant_kmh : float, optional
        One speed for every road (cycle and walk by default; any mode when set).
    by_class : mapping, optional
        Drive: ``{road class: (urban km/h, rural km/h)}`` overriding
        :data:`PEAK_KMH` entries.
    park_minutes : float
        Added once per drive trip (0 for other modes).
    access_kmh : float
        Speed of the access leg off the network.
    """

    mode: str = "drive"
    free_flow: bool = False
    constant_kmh: float | None = None
    by_class: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    park_minutes: float = PARK_MINUTES
    access_kmh: float = ACCESS_KMH

    @classmethod
    def for_mode(cls, mode: str, *, free_flow: bool = False) -> Speeds:
        """The documented default profile of a mode."""
        if mode == "drive":
            return cls("drive", free_flow=free_flow)
        if mode == "cycle":
            return cls("cycle", constant_kmh=CYCLE_KMH, park_minutes=0.0)
        if mode == "walk":
            return cls("walk", constant_kmh=WALK_KMH, park_minutes=0.0)
        raise ValueError(mode)

    def key(self) -> dict[str, object]:
        """A plain description for cache keys and provenance."""
        return {
            "mode": self.mode, "free_flow": self.free_flow, "constant_kmh": self.constant_kmh,
            "by_class": {k: list(v) for k, v in sorted(self.by_class.items())},
            "park_minutes": self.park_minutes, "access_kmh": self.access_kmh,
            "profile": None if self.constant_kmh or self.free_flow else {k: list(v) for k, v in PEAK_KMH.items()},
        }

    def edge_kmh(self, cls_name: str, limit_kmh: float | None, urban: bool) -> float:
        """Speed of one edge in km/h."""
        if self.constant_kmh:
            return float(self.constant_kmh)
        default_limit = DEFAULT_LIMIT_MPH.get(cls_name, (30.0, 40.0))[0 if urban else 1] * MPH
        free = limit_kmh if limit_kmh else default_limit
        if self.free_flow:
            return free
        peak = self.by_class.get(cls_name, PEAK_KMH.get(cls_name, PEAK_KMH["unclassified"]))[0 if urban else 1]
        return min(peak, free)
