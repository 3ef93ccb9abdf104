"""Bids and their sites: the bid file formats, validation, and the competition's vocabularies.

A bid file is YAML (``schema: 1``, see the README's "Bid files"), or CSV (``bids.csv`` beside
``sites.csv``, or a folder holding both), or GeoJSON (a FeatureCollection of
sites with a ``bid_id`` property, the bids themselves in a top-level ``bids``
member or in a ``bids.csv`` beside the file).

:func:`read_bids` checks everything and reports every problem at once, each
with file, bid and field. A file with any invalid bid is refused whole unless
``skip_invalid=True``: then the valid bids come back and the others are listed
in :attr:`Bids.problems`.

Limits (hostile or accidental): a bid file may be at most
:data:`MAX_BID_FILE_BYTES` bytes, and YAML aliases (``*name``) may add at most
:data:`MAX_YAML_ALIAS_NODES` nodes when expanded ("billion laughs" documents
are refused before they are built). Every site of every bid is placed in its
district in one vectorised pass (:func:`iot_geo.locate.locate_many`).
"""

from __future__ import annotations

import contextlib
import difflib
import gc
import html
import json
import math
import os
import re
import reprlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml
from shapely.geometry import Point

from iot_geo import settings
from iot_geo.errors import DataNotFoundError, DownloadError, InvalidInputError
from iot_geo.geo import GB_LAT, GB_LON, to_bng
from iot_geo.locate import locate_many
from iot_geo.outputs import read_csv
from iot_geo.postcodes import lookup_postcodes
from iot_geo.sources import boundaries
from iot_geo.sources import providers as provider_data
from iot_geo.sources.providers import PROVIDER_TYPES, normalise_type

__all__ = ["MAX_BID_FILE_BYTES", "ROUTES", "STEM_ROUTES", "Bid", "Bids", "Partner", "read_bids", "route_id"]


#: Post-16 Skills Plan routes: id -> display name. The first five are the STEM
#: routes named in the IoT competition.
ROUTES: dict[str, str] = {
    "engineering_manufacturing": "Engineering & Manufacturing",
    "construction": "Construction",
    "health_science": "Health & Science",
    "digital": "Digital",
    "transport_logistics": "Transport & Logistics",
    "agriculture_environmental_animal_care": "Agriculture, Environmental & Animal Care",
    "business_administrative": "Business & Administrative",
    "catering_hospitality": "Catering & Hospitality",
    "childcare_education": "Childcare & Education",
    "creative_design": "Creative & Design",
    "hair_beauty": "Hair & Beauty",
    "legal_finance_accounting": "Legal, Finance & Accounting",
    "protective_services": "Protective Services",
    "sales_marketing_procurement": "Sales, Marketing & Procurement",
    "social_care": "Social Care",
}
STEM_ROUTES = frozenset(list(ROUTES)[:5])
LEAD_TYPES = (*PROVIDER_TYPES, "employer", "employer_consortium", "lep", "combined_authority")
ROLES = ("hub", "spoke")
LEVELS = (3, 4, 5)
#: Coordinates given both ways (lat/lon and easting/northing) must agree within this many metres.
COORD_AGREE_M = 100.0
#: Largest bid file read, in bytes (16 MiB: about 30,000 bids of a few sites in block-style YAML).
MAX_BID_FILE_BYTES = 16 * 1024 * 1024
#: Most nodes that YAML aliases may add to a document when expanded (an alias repeats the node it names).
MAX_YAML_ALIAS_NODES = 100_000
#: A postcode's centroid and a site's coordinates, both given, must agree within this many metres.
POSTCODE_AGREE_M = 1000.0
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


@dataclass(frozen=True)
class Partner:
    """A partner of a bid."""

    name: str
    type: str


@dataclass
class Bid:
    """One bid, validated. ``sites`` is a GeoDataFrame (EPSG:27700).

    Examples
    --------
    >>> import iot_geo as ig
    >>> bid = ig.read_bids("data/examples/rutland.yaml")["stamford-iot"]
    >>> bid.lead_type, len(bid.sites)
    ('fe_college', 3)
    """

    id: str
    name: str
    lead: str
    lead_type: str
    partners: list[Partner]
    lep_codes: list[str]
    lep_names: list[str]
    ca_code: str | None
    ca_name: str | None
    routes: list[str]
    levels: list[int]
    sites: gpd.GeoDataFrame
    source: str = ""
    vintage: dict[str, int | None] = field(default_factory=dict)

    @property
    def hub(self) -> gpd.GeoDataFrame:
        """The hub site(s)."""
        return self.sites[self.sites["role"] == "hub"]

    def grouped_sites(self) -> gpd.GeoDataFrame:
        """A copy of :attr:`sites` with a ``group_id`` column holding the bid's id.

        ``group_id`` is how catchment functions name the group of sites each
        catchment belongs to (one group per bid).

        Examples
        --------
        >>> import iot_geo as ig
        >>> bid = ig.read_bids("data/examples/rutland.yaml")["stamford-iot"]
        >>> sorted(set(bid.grouped_sites()["group_id"]))
        ['stamford-iot']
        """
        sites = self.sites.copy()
        sites["group_id"] = self.id
        return sites

    @property
    def stem_share(self) -> float:
        """Share of the bid's routes that are STEM routes."""
        return sum(r in STEM_ROUTES for r in self.routes) / len(self.routes) if self.routes else 0.0

    def _repr_html_(self) -> str:
        head = (f"<b>{_esc(self.name)}</b> ({_esc(self.id)}), lead {_esc(self.lead)} ({_esc(self.lead_type)}); "
                f"LEP {', '.join(map(_esc, self.lep_names)) or '-'}; CA {_esc(self.ca_name or '-')}; "
                f"routes {_esc(', '.join(self.routes))}; levels {_esc(self.levels)}")
        return head + str(self.sites.drop(columns="geometry").to_html(index=False))


def _esc(text: object) -> str:
    return html.escape(str(text))


@dataclass
class Bids:
    """A set of validated bids read from one file.

    Examples
    --------
    >>> import iot_geo as ig
    >>> bids = ig.read_bids("data/examples/cambridge.yaml")
    >>> isinstance(bids, ig.Bids), len(bids)
    (True, 3)
    """

    bids: list[Bid]
    vintage: dict[str, int | None]
    source: str
    problems: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Bid]:
        return iter(self.bids)

    def __len__(self) -> int:
        return len(self.bids)

    def __getitem__(self, key: str | int) -> Bid:
        if isinstance(key, int):
            return self.bids[key]
        for b in self.bids:
            if b.id == key:
                return b
        raise InvalidInputError(f"no bid {key!r} in {self.source}; bids: {', '.join(b.id for b in self.bids)}")

    @property
    def ids(self) -> list[str]:
        """Bid ids in file order."""
        return [b.id for b in self.bids]

    @property
    def sites(self) -> gpd.GeoDataFrame:
        """Every site of every bid: ``bid_id, site_id, name, role, provider_id, geometry``."""
        frames = [b.sites for b in self.bids]
        if not frames:
            return gpd.GeoDataFrame({"bid_id": [], "site_id": [], "name": [], "role": [], "provider_id": []},
                                    geometry=[], crs=settings.crs)
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=settings.crs)

    def table(self) -> pd.DataFrame:
        """One row per bid, for printing."""
        return pd.DataFrame([{
            "bid_id": b.id, "name": b.name, "lead": b.lead, "lead_type": b.lead_type,
            "lep": ";".join(b.lep_names), "ca": b.ca_name or "", "routes": ";".join(b.routes),
            "levels": ";".join(map(str, b.levels)), "sites": len(b.sites), "hubs": int((b.sites["role"] == "hub").sum()),
        } for b in self.bids])

    def _repr_html_(self) -> str:
        extra = f"<p>{len(self.problems)} invalid bid(s) skipped</p>" if self.problems else ""
        return f"<b>{len(self)} bids</b> from {_esc(Path(self.source).name)}" + extra + self.table().to_html(index=False)


# ------------------------------------------------------------------ parsing
class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[tuple[str | None, str]] = []

    def add(self, bid: str | None, msg: str) -> None:
        self.items.append((bid, msg))

    def lines(self) -> list[str]:
        return [f"{self.source}: " + (f"bid {_short(b)}: " if b else "") + m for b, m in self.items]


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlist = _REPR.maxdict = 6
_REPR.maxlevel = 3


def _short(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters (a user's value in a message, however large)."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _suggest(value: str, options: list[str]) -> str:
    close = difflib.get_close_matches(value.lower(), [o.lower() for o in options], n=1, cutoff=0.5)
    if close:
        orig = next(o for o in options if o.lower() == close[0])
        return f" (did you mean {orig!r}?)"
    return ""


def route_id(value: object) -> str | None:
    """The route id of an id or display name ("Engineering & Manufacturing"), or None."""
    text = str(value).strip()
    if text in ROUTES:
        return text
    norm = re.sub(r"[^a-z0-9]+", "_", text.lower().replace("&", " ")).strip("_")
    norm = re.sub(r"_and_", "_", norm)
    if norm in ROUTES:
        return norm
    for rid, display in ROUTES.items():
        if display.lower() == text.lower():
            return rid
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    return [value]


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


class _AreaIndex:
    """LEPs and CAs of the file's vintages, by code and by name."""

    def __init__(self, vintage: dict[str, int | None], data_dir: str | os.PathLike[str] | None) -> None:
        self.lep = boundaries.load_areas("lep", vintage.get("lep"), data_dir=data_dir)
        self.ca = boundaries.load_areas("ca", vintage.get("ca"), data_dir=data_dir)
        self._index = {kind: self._by_key(layer) for kind, layer in (("lep", self.lep), ("ca", self.ca))}

    @staticmethod
    def _by_key(layer: gpd.GeoDataFrame) -> dict[str, list[tuple[str, str]]]:
        """Each code and each lower-cased name -> the areas it names."""
        out: dict[str, list[tuple[str, str]]] = {}
        for code, name in zip(layer["code"].astype(str), layer["name"].astype(str), strict=True):
            for key in {code, name.lower()}:
                out.setdefault(key, []).append((code, name))
        return out

    def resolve(self, kind: str, value: str) -> tuple[str, str] | str:
        layer = self.lep if kind == "lep" else self.ca
        text = str(value).strip()
        hits = {*self._index[kind].get(text, []), *self._index[kind].get(text.lower(), [])}
        if len(hits) == 1:
            return hits.pop()
        vint = int(layer["vintage"].iloc[0]) if len(layer) else "?"
        return (f"unknown {'LEP' if kind == 'lep' else 'combined authority'} {_short(value)} in the {vint} "
                f"boundaries{_suggest(str(value)[:200], list(layer['name']))}")


#: Provider id -> (easting, northing, name), for the sites given by provider_id.
ProviderIndex = dict[str, tuple[float, float, str]]


def _provider_index(providers: gpd.GeoDataFrame) -> ProviderIndex:
    out: ProviderIndex = {}
    for pid, x, y, name in zip(providers["provider_id"].astype(str), providers.geometry.x, providers.geometry.y,
                               providers["name"].astype(str), strict=True):
        out.setdefault(pid, (float(x), float(y), name))  # the first row of an id, as a filter's .iloc[0]
    return out


def _site_point(site: dict[str, Any], providers: ProviderIndex | None, where: str, errors: list[str]
                ) -> tuple[Point | None, str]:
    lat, lon = _num(site.get("lat", site.get("latitude"))), _num(site.get("lon", site.get("longitude")))
    e, n = _num(site.get("easting")), _num(site.get("northing"))
    pid = site.get("provider_id")
    pid = None if pid is None or (isinstance(pid, float) and math.isnan(pid)) or str(pid).strip() == "" else str(pid)
    for key in ("lat", "lon", "easting", "northing"):
        raw = site.get(key)
        if raw not in (None, "") and not (isinstance(raw, float) and math.isnan(raw)) and _num(raw) is None:
            errors.append(f"{where}: {key} {_short(raw)} is not a finite number")
    pts: list[tuple[str, float, float]] = []
    if lat is not None and lon is not None:
        if not (GB_LAT[0] <= lat <= GB_LAT[1] and GB_LON[0] <= lon <= GB_LON[1]):
            swapped = GB_LAT[0] <= lon <= GB_LAT[1] and GB_LON[0] <= lat <= GB_LON[1]
            errors.append(f"{where}: lat={lat:g}, lon={lon:g} " + (
                "looks like latitude and longitude swapped" if swapped else "is outside Great Britain"))
            return None, ""
        x, y = to_bng(np.array([lon]), np.array([lat]))
        pts.append(("lat/lon", float(x[0]), float(y[0])))
    elif (lat is None) != (lon is None):
        errors.append(f"{where}: give both lat and lon")
    if e is not None and n is not None:
        if not (-120_000 <= e <= 700_000 and -20_000 <= n <= 1_250_000) or (abs(e) < 1000 and abs(n) < 1000):
            errors.append(f"{where}: easting={e:g}, northing={n:g} is outside Great Britain")
            return None, ""
        pts.append(("easting/northing", e, n))
    elif (e is None) != (n is None):
        errors.append(f"{where}: give both easting and northing")
    pc = site.get("postcode")
    if pc not in (None, "") and not (isinstance(pc, float) and math.isnan(pc)):
        found = _postcode_point(str(pc), where, errors)
        if found is None:
            return None, ""
        pts.append(found)
    if pid is not None:
        if providers is None:
            errors.append(f"{where}: provider_id {_short(pid)} given but no provider data could be loaded")
        else:
            hit = providers.get(pid)
            if hit is None:
                errors.append(f"{where}: provider_id {_short(pid)} does not exist in the provider data "
                              "(ids look like urn:130760 or ukprn:10007788; see `iot-geo providers`)")
            else:
                pts.append(("provider_id", hit[0], hit[1]))
    if not pts:
        if not any(where in e_ for e_ in errors):
            errors.append(f"{where}: no location: give lat and lon, easting and northing, postcode or provider_id")
        return None, ""
    base = pts[0]
    for other in pts[1:]:
        d = math.hypot(other[1] - base[1], other[2] - base[2])
        if d > (POSTCODE_AGREE_M if "postcode" in (base[0], other[0]) else COORD_AGREE_M):
            errors.append(f"{where}: {base[0]} and {other[0]} disagree by {d:,.0f} m; give one location")
            return None, ""
    return Point(base[1], base[2]), pid or ""


def _postcode_point(pc: str, where: str, errors: list[str]) -> tuple[str, float, float] | None:
    """A site's postcode as a BNG point (see :mod:`iot_geo.postcodes`), or None with the problem in ``errors``."""
    try:
        hit = lookup_postcodes([pc]).iloc[0]
    except (InvalidInputError, DownloadError) as exc:
        errors.append(f"{where}: postcode: {exc}")
        return None
    x, y = to_bng(np.array([hit["lon"]]), np.array([hit["lat"]]))
    return "postcode", float(x[0]), float(y[0])


@contextlib.contextmanager
def _progress(show: bool, total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr when ``show``; yields ``advance(n)``."""
    if not show:
        yield lambda n: None
        return
    # deferred: rich's progress bar loads only when one is drawn
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


@dataclass
class _Pending:
    """A bid checked in every way but where its sites are: its problems so far, its sites, its fields."""

    label: str
    errs: list[str]
    site_rows: list[dict[str, Any]]
    fields: dict[str, Any] | None = None


def _check_bid_id(raw: dict[str, Any], seen_bids: set[str], errs: list[str]) -> str:
    """The bid's id: present, lower-case letters, digits and '-', not seen before in the file."""
    bid_id = str(raw.get("id", "")).strip() if raw.get("id") is not None else ""
    if not bid_id:
        errs.append("id: missing")
    elif not _ID.match(bid_id):
        errs.append(f"id: {_short(bid_id)} must be lower-case letters, digits and '-'")
    elif bid_id in seen_bids:
        errs.append(f"id: duplicate bid id {bid_id!r}")
    seen_bids.add(bid_id)
    return bid_id


def _check_text(raw: dict[str, Any], key: str, errs: list[str]) -> str:
    """A required text field, stripped ("missing" when empty)."""
    text = str(raw.get(key) or "").strip()
    if not text:
        errs.append(f"{key}: missing")
    return text


def _check_lead_type(raw: dict[str, Any], errs: list[str]) -> str:
    """The lead's type as one of :data:`LEAD_TYPES` (a provider type's other spellings accepted)."""
    lead_type = str(raw.get("lead_type") or "").strip()
    try:
        lt = lead_type.lower().replace(" ", "_").replace("-", "_")
        return lt if lt in LEAD_TYPES else normalise_type(lead_type, where="lead_type")
    except InvalidInputError:
        errs.append(f"lead_type: unknown {lead_type!r}; use one of {', '.join(LEAD_TYPES)}"
                    f"{_suggest(lead_type, list(LEAD_TYPES))}")
        return lead_type


def _check_partner(p: Any, j: int, errs: list[str]) -> Partner | None:
    """The ``j``-th partner, given as ``{name, type}`` or ``"name:type"``."""
    if isinstance(p, str):
        pname, _, ptype = p.rpartition(":") if ":" in p else (p, "", "")
    elif isinstance(p, dict):
        pname, ptype = str(p.get("name") or ""), str(p.get("type") or "")
    else:
        errs.append(f"partners[{j}]: expected {{name, type}}, got {_short(p)}")
        return None
    pt = ptype.strip().lower().replace(" ", "_").replace("-", "_")
    if pt not in LEAD_TYPES:
        try:
            pt = normalise_type(ptype)
        except InvalidInputError:
            errs.append(f"partners[{j}].type: unknown {ptype!r}; use one of {', '.join(LEAD_TYPES)}")
            return None
    if not pname.strip():
        errs.append(f"partners[{j}].name: missing")
        return None
    return Partner(pname.strip(), pt)


def _check_partners(raw: dict[str, Any], errs: list[str]) -> list[Partner]:
    """Every partner that is valid (the others' problems in ``errs``)."""
    found = (_check_partner(p, j, errs) for j, p in enumerate(_as_list(raw.get("partners"))))
    return [p for p in found if p is not None]


def _check_areas(raw: dict[str, Any], areas: _AreaIndex | None, errs: list[str]) -> dict[str, Any]:
    """The bid's LEPs (codes and names) and its combined authority, found in the boundaries by name or code."""
    out: dict[str, Any] = {"lep_codes": [], "lep_names": [], "ca_code": None, "ca_name": None}
    for v in _as_list(raw.get("lep")):
        if areas is None:
            continue
        r = areas.resolve("lep", str(v))
        if isinstance(r, str):
            errs.append(f"lep: {r}")
        else:
            out["lep_codes"].append(r[0])
            out["lep_names"].append(r[1])
    ca_vals = _as_list(raw.get("combined_authority"))
    if len(ca_vals) > 1:
        errs.append("combined_authority: give one combined authority")
    elif ca_vals and areas is not None:
        r = areas.resolve("ca", str(ca_vals[0]))
        if isinstance(r, str):
            errs.append(f"combined_authority: {r}")
        else:
            out["ca_code"], out["ca_name"] = r
    if not _as_list(raw.get("lep")) and not ca_vals:
        errs.append("lep: a bid names its LEP or combined authority (a LEP area as a minimum)")
    return out


def _check_routes(raw: dict[str, Any], errs: list[str]) -> list[str]:
    """The bid's route ids (names or ids accepted, each once); at least one."""
    routes: list[str] = []
    for v in _as_list(raw.get("routes")):
        rid = route_id(v)
        if rid is None:
            errs.append(f"routes: unknown route {v!r}{_suggest(str(v), list(ROUTES) + list(ROUTES.values()))}")
        elif rid not in routes:
            routes.append(rid)
    if not _as_list(raw.get("routes")):
        errs.append("routes: name at least one route")
    return routes


def _check_levels(raw: dict[str, Any], errs: list[str]) -> list[int]:
    """The bid's levels, each one of :data:`LEVELS`, each once."""
    levels: list[int] = []
    for v in _as_list(raw.get("levels")):
        n = _num(v)
        if n is None or n not in LEVELS:
            errs.append(f"levels: {v!r} is not one of 3, 4, 5")
        elif int(n) not in levels:
            levels.append(int(n))
    return levels


def _check_site(s: Any, j: int, bid_id: str, providers: ProviderIndex | None, seen_sites: set[str],
                errs: list[str]) -> dict[str, Any] | None:
    """The ``j``-th site as a row (None when it has no place): its id, role, location and name."""
    if not isinstance(s, dict):
        errs.append(f"sites[{j}]: expected a mapping with id, name, role and a location")
        return None
    sid = str(s.get("id") or s.get("site_id") or "").strip()
    where = f"sites[{j}]" + (f" ({sid})" if sid else "")
    if not sid:
        errs.append(f"{where}: id missing")
    elif not _ID.match(sid):
        errs.append(f"{where}: id {_short(sid)} must be lower-case letters, digits and '-'")
    elif sid in seen_sites:
        errs.append(f"{where}: duplicate site id {sid!r}")
    seen_sites.add(sid)
    role = str(s.get("role") or "").strip().lower()
    if role not in ROLES:
        errs.append(f"{where}: role {_short(s.get('role'))} must be hub or spoke")
    site_errs: list[str] = []
    geom, pid = _site_point(s, providers, where, site_errs)
    errs.extend(site_errs)
    sname = str(s.get("name") or "").strip()
    if not sname and pid and providers is not None:
        hit = providers.get(pid)
        sname = hit[2] if hit is not None else ""
    if geom is None:
        return None
    return {"bid_id": bid_id, "site_id": sid, "name": sname or sid, "role": role, "provider_id": pid,
            "geometry": geom}


def _check_sites(raw: dict[str, Any], bid_id: str, providers: ProviderIndex | None, seen_sites: set[str],
                 errs: list[str]) -> list[dict[str, Any]]:
    """The rows of the bid's placed sites; a bid has at least one site and exactly one hub."""
    sites_raw = raw.get("sites")
    if not isinstance(sites_raw, list) or not sites_raw:
        errs.append("sites: a bid needs at least one site (a hub)")
        return []
    found = [_check_site(s, j, bid_id, providers, seen_sites, errs) for j, s in enumerate(sites_raw)]
    n_hubs = sum(1 for s in sites_raw if isinstance(s, dict) and str(s.get("role", "")).lower() == "hub")
    if n_hubs != 1:
        errs.append("sites: a bid has exactly one hub" + (" (none given)" if n_hubs == 0 else f" ({n_hubs} given)"))
    return [row for row in found if row is not None]


def _validate_bid(raw: dict[str, Any], idx: int, areas: _AreaIndex | None,
                  providers: ProviderIndex | None, seen_bids: set[str], seen_sites: set[str]) -> _Pending:
    """One bid checked field by field, in the file's order of fields; every problem is kept, none stops the rest."""
    errs: list[str] = []
    bid_id = _check_bid_id(raw, seen_bids, errs)
    name = _check_text(raw, "name", errs)
    lead = _check_text(raw, "lead", errs)
    lead_type = _check_lead_type(raw, errs)
    partners = _check_partners(raw, errs)
    places = _check_areas(raw, areas, errs)
    routes = _check_routes(raw, errs)
    levels = _check_levels(raw, errs)
    site_rows = _check_sites(raw, bid_id, providers, seen_sites, errs)
    fields = dict(id=bid_id, name=name, lead=lead, lead_type=lead_type, partners=partners, **places,
                  routes=routes, levels=levels)
    return _Pending(bid_id or f"#{idx + 1}", errs, site_rows, fields)


def _place_sites(pending: list[_Pending], *, check_england: bool
                 ) -> tuple[gpd.GeoDataFrame | None, list[int]]:
    """Every site of every bid in one GeoDataFrame, located in one vectorised pass.

    Adds "not in England" to the problems of each bid with such a site, and
    returns the frame with the offset of each bid's first site in it.
    """
    rows = [r for p in pending for r in p.site_rows]
    offsets = np.cumsum([0] + [len(p.site_rows) for p in pending]).tolist()
    if not rows:
        return None, offsets
    sites = gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.crs)
    if check_england:
        where = locate_many(sites, vintage=None)
        outside = np.flatnonzero(~where["in_england"].to_numpy(dtype=bool))
        for k in outside.tolist():
            b = int(np.searchsorted(offsets, k, side="right")) - 1
            note = where["note"].iloc[k]
            pending[b].errs.append(f"site {_short(sites['site_id'].iloc[k])} is not in England "
                                   f"({note or 'outside every district'})")
    return sites, offsets


# ------------------------------------------------------------------ formats
def _size_text(n: float) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_BID_FILE_BYTES:
        raise InvalidInputError(
            f"{path} is {_size_text(size)}, over the limit of {_size_text(MAX_BID_FILE_BYTES)} for a bid file "
            "(iot_geo.bids.MAX_BID_FILE_BYTES); split the bids into several files")


_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_aliases(root: yaml.Node, path: Path) -> None:
    """Refuse a composed YAML graph whose aliases would expand it too far, or that contains itself.

    An alias is the node it names, shared: the graph stays small, but building
    Python objects from it, merging keys or printing it expands every use. Each
    distinct node is visited once and its expanded size computed bottom-up.
    """
    size: dict[int, int] = {}
    open_: set[int] = set()
    distinct = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in _children(node))
            if size[key] - distinct > MAX_YAML_ALIAS_NODES:
                raise InvalidInputError(
                    f"{path}: YAML aliases (*name) would expand the document by more than "
                    f"{MAX_YAML_ALIAS_NODES:,} nodes (an alias near line {node.start_mark.line + 1}); refused "
                    "(iot_geo.bids.MAX_YAML_ALIAS_NODES): write the values out or split the file")
            continue
        if key in size:
            continue
        if key in open_:
            raise InvalidInputError(f"{path}: an alias at line {node.start_mark.line + 1} refers to a node that "
                                    "contains it; a bid file cannot be recursive")
        open_.add(key)
        distinct += 1
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node))


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many acyclic objects are built.

    Building the objects of a large document triggers collections that walk
    every object made so far (two thirds of the time on a 15,000-bid file).
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _load_yaml(text: str, path: Path) -> Any:
    """``yaml.safe_load`` (libyaml where available) with aliases bounded (see :func:`_check_aliases`)."""
    loader = _YamlLoader(text)
    try:
        with _gc_paused():
            node = loader.get_single_node()
            if node is None:
                return None
            if "*" in text:  # no alias without an asterisk
                _check_aliases(node, path)
            return loader.construct_document(node)
    except RecursionError:
        raise InvalidInputError(f"{path}: YAML nested too deeply to read; a bid file needs a few levels") from None
    finally:
        loader.dispose()


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    try:
        doc = _load_yaml(text, path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInputError(f"{path}: malformed YAML{where}: {problem}") from None
    if doc is None:
        raise InvalidInputError(f"{path}: the file is empty")
    if not isinstance(doc, dict) or "bids" not in doc:
        raise InvalidInputError(f"{path}: expected a mapping with a 'bids' list (schema 1)")
    return doc


def _read_csv_table(path: Path) -> pd.DataFrame:
    try:
        return read_csv(  # undoes the formula guard of iot-geo's own CSVs
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidInputError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None


def _bids_from_tables(bids_df: pd.DataFrame, sites: list[dict[str, Any]], where: Path) -> dict[str, Any]:
    required = {"id", "name", "lead", "lead_type"}
    missing = required - set(bids_df.columns)
    if missing:
        raise InvalidInputError(f"{where}: bids table lacks column(s) {', '.join(sorted(missing))}")
    by_bid: dict[str, list[dict[str, Any]]] = {}
    for s in sites:
        by_bid.setdefault(str(s.get("bid_id", "")), []).append(s)
    known = set(bids_df["id"])
    orphans = sorted(set(by_bid) - known)
    if orphans:
        raise InvalidInputError(f"{where}: sites name bid(s) {', '.join(map(repr, orphans))} that the bids table lacks")
    vintage: dict[str, int] = {}
    for kind in ("lep", "ca"):
        col = f"{kind}_vintage"
        if col in bids_df.columns:
            vals = {str(v).strip() for v in bids_df[col] if str(v).strip()}
            if len(vals) > 1:
                raise InvalidInputError(f"{where}: {col} differs between bids ({', '.join(sorted(vals))}); "
                                        "one file uses one vintage")
            if vals:
                year = _num(vals.pop())
                if year is None:
                    raise InvalidInputError(f"{where}: {col} is not a year")
                vintage[kind] = int(year)
            bids_df = bids_df.drop(columns=col)
    out = []
    for row in bids_df.to_dict(orient="records"):
        rec = {k: (v if v != "" else None) for k, v in row.items()}
        rec["sites"] = by_bid.get(str(row["id"]), [])
        out.append(rec)
    return {"schema": 1, "bids": out, "vintage": vintage}


def _read_csv_pair(path: Path) -> dict[str, Any]:
    folder = path if path.is_dir() else path.parent
    bids_p, sites_p = folder / "bids.csv", folder / "sites.csv"
    for p in (bids_p, sites_p):
        if not p.is_file():
            raise DataNotFoundError(f"{p} not found: a CSV bid set is bids.csv beside sites.csv")
        _check_size(p)
    sites_df = _read_csv_table(sites_p)
    if "bid_id" not in sites_df.columns:
        raise InvalidInputError(f"{sites_p}: no bid_id column")
    sites = [{str(k): v for k, v in r.items() if v != ""} for r in sites_df.to_dict(orient="records")]
    return _bids_from_tables(_read_csv_table(bids_p), sites, folder)


def _read_geojson(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path}: not valid GeoJSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InvalidInputError(f"{path}: expected a GeoJSON FeatureCollection of sites")
    sites = []
    for i, feat in enumerate(doc.get("features") or []):
        props = dict((feat or {}).get("properties") or {})
        geom = (feat or {}).get("geometry") or {}
        if geom.get("type") == "Point" and isinstance(geom.get("coordinates"), list) and len(geom["coordinates"]) >= 2:
            props.setdefault("lon", geom["coordinates"][0])
            props.setdefault("lat", geom["coordinates"][1])
        elif geom:
            raise InvalidInputError(f"{path}: feature {i + 1}: sites are Points, got {geom.get('type')!r}")
        sites.append(props)
    if isinstance(doc.get("bids"), list):
        bids_df = pd.DataFrame(doc["bids"]).astype(object).where(lambda d: d.notna(), "")
    else:
        beside = path.parent / "bids.csv"
        if not beside.is_file():
            raise InvalidInputError(f"{path}: no 'bids' member and no bids.csv beside it")
        _check_size(beside)
        bids_df = _read_csv_table(beside)
    recs = _bids_from_tables(bids_df, sites, path)
    for b in recs["bids"]:
        for k in ("partners", "routes", "levels", "lep"):
            if isinstance(b.get(k), str):
                b[k] = _as_list(b[k])
    if isinstance(doc.get("vintage"), dict):
        recs["vintage"] = {**recs["vintage"], **doc["vintage"]}
    return recs


def _read_document(p: Path) -> dict[str, Any]:
    """The bid file read by its kind (YAML, CSV pair or folder, GeoJSON), of schema 1."""
    if not p.exists():
        raise DataNotFoundError(f"bid file {p} not found")
    name = p.name.lower()
    if not p.is_dir():
        _check_size(p)
    if p.is_dir() or name.endswith(".csv"):
        doc = _read_csv_pair(p)
    elif name.endswith((".geojson", ".json")):
        doc = _read_geojson(p)
    elif name.endswith((".yaml", ".yml")):
        doc = _read_yaml(p)
    else:
        raise InvalidInputError(f"{p}: unknown bid file type; use .yaml, .csv (with sites.csv) or .geojson")
    schema = doc.get("schema", 1)
    if schema != 1:
        raise InvalidInputError(f"{p}: schema {schema!r} is not supported (this is schema 1)")
    return doc


def _document_vintage(doc: dict[str, Any], p: Path) -> dict[str, int | None]:
    """The boundary vintages the file names (``{lep: 2017, ca: 2017}``; None where it names none)."""
    vin = doc.get("vintage") or {}
    if not isinstance(vin, dict):
        raise InvalidInputError(f"{p}: vintage must be a mapping like {{lep: 2017, ca: 2017}}")
    vintage: dict[str, int | None] = {}
    for kind in ("lep", "ca"):
        v = vin.get(kind)
        if v is not None and _num(v) is None:
            raise InvalidInputError(f"{p}: vintage.{kind} {v!r} is not a year")
        vintage[kind] = int(v) if v is not None else None
    return vintage


def _document_bids(doc: dict[str, Any], p: Path) -> list[Any]:
    """The file's list of bids (not yet checked); refused when it is not a list or is empty."""
    raws = doc.get("bids")
    if not isinstance(raws, list):
        raise InvalidInputError(f"{p}: 'bids' must be a list")
    if not raws:
        raise InvalidInputError(f"{p}: no bids in the file")
    return raws


def _providers_if_named(raws: list[Any], data_dir: str | os.PathLike[str] | None) -> ProviderIndex | None:
    """The provider index, loaded only when some site is given by ``provider_id``."""
    if any(isinstance(s, dict) and s.get("provider_id") for b in raws if isinstance(b, dict)
           for s in (b.get("sites") or [] if isinstance(b.get("sites"), list) else [])):
        return _provider_index(provider_data.load_providers(data_dir=data_dir))
    return None


def _check_bids(raws: list[Any], areas: _AreaIndex | None, providers: ProviderIndex | None, progress: bool,
                file_name: str) -> list[_Pending]:
    """Every bid checked (ids unique across the file), with a progress bar when asked."""
    seen_bids: set[str] = set()
    seen_sites: set[str] = set()
    pending: list[_Pending] = []
    with _progress(progress, len(raws), f"checking {len(raws):,} bid(s) in {file_name}") as advance, _gc_paused():
        for i, raw in enumerate(raws):
            if not isinstance(raw, dict):
                pending.append(_Pending(f"#{i + 1}", [f"expected a mapping, got {type(raw).__name__}"], []))
            else:
                pending.append(_validate_bid(raw, i, areas, providers, seen_bids, seen_sites))
            advance(1)
    return pending


def _valid_bids(pending: list[_Pending], sites: gpd.GeoDataFrame | None, offsets: list[int], problems: _Problems,
                vintage: dict[str, int | None]) -> list[Bid]:
    """The bids without problems, each with its own slice of the placed sites; every problem noted in ``problems``."""
    bids: list[Bid] = []
    with _gc_paused():
        for k, item in enumerate(pending):
            for e in item.errs:
                problems.add(item.label, e)
            start, stop = offsets[k], offsets[k + 1]
            if item.errs or item.fields is None or sites is None or stop == start:
                continue
            # with copy-on-write (pandas 3) a slice is its own frame: changing it never changes another bid's
            own = sites.iloc[start:stop] if _COPY_ON_WRITE else sites.iloc[start:stop].copy()
            own.index = pd.RangeIndex(stop - start)
            bid = Bid(**item.fields, sites=own, source=problems.source)
            bid.vintage = dict(vintage)
            bids.append(bid)
    return bids


def read_bids(
    path: str | os.PathLike[str],
    *,
    skip_invalid: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> Bids:
    """Read and validate a bid file (YAML, CSV pair or folder, or GeoJSON sites).

    Parameters
    ----------
    path : path
        ``bids.yaml``; ``bids.csv``/``sites.csv`` or their folder; or a GeoJSON
        FeatureCollection of sites.
    skip_invalid : bool
        Return the valid bids and list the others in ``Bids.problems`` instead
        of refusing the file.
    data_dir : path, optional
        Data directory (LEP/CA names, provider ids, districts).
    progress : bool
        Draw a progress bar on stderr while the bids are checked (the CLI asks
        for one on a terminal).

    Returns
    -------
    Bids

    Raises
    ------
    InvalidInputError
        Malformed file, or any invalid bid (unless ``skip_invalid``); the
        message lists every problem with file, bid and field. A file larger
        than :data:`MAX_BID_FILE_BYTES`, or YAML whose aliases would add more
        than :data:`MAX_YAML_ALIAS_NODES` nodes, is refused before it is built.
    DataNotFoundError
        The file does not exist.

    Examples
    --------
    >>> import iot_geo as ig
    >>> [b.id for b in ig.read_bids("data/examples/rutland.yaml")]
    ['stamford-iot', 'oakham-engineering']
    """
    p = Path(path)
    doc = _read_document(p)
    vintage = _document_vintage(doc, p)
    raws = _document_bids(doc, p)
    problems = _Problems(str(p))
    areas = _AreaIndex(vintage, data_dir)
    pending = _check_bids(raws, areas, _providers_if_named(raws, data_dir), progress, p.name)
    sites, offsets = _place_sites(pending, check_england=areas is not None)
    bids = _valid_bids(pending, sites, offsets, problems, vintage)
    lines = problems.lines()
    if lines and not skip_invalid:
        raise InvalidInputError(f"{len(lines)} problem(s); nothing was computed:\n  " + "\n  ".join(lines))
    if not bids:
        raise InvalidInputError(f"{p}: no valid bids:\n  " + "\n  ".join(lines))
    return Bids(bids, vintage, str(p), lines)
