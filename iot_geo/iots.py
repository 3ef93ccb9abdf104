"""The 21 designated Institutes of Technology as a bid file, from ``providers/institutes_of_technology.csv``.

Run ``python -m iot_geo.iots data/examples/institutes_of_technology.yaml`` to write the bid file and,
beside it, ``institutes_of_technology.matches.csv`` (every name and site, matched or not, and why).

Name-matching rule (for leads and partners)
-------------------------------------------
Names are compared *normalised*: lower case, ``&`` read as "and", punctuation dropped, a leading
"the" dropped. Only providers of types ``fe_college``, ``sixth_form_college``, ``university`` and
``utc`` are candidates (school sixth forms are not IoT members). In order:

1. ``exact``: the normalised name equals a provider's normalised name;
2. ``without brackets``: the same, with any ``(...)`` removed from the name;
3. ``without suffix``: the same, with a generic ending removed ("of further and higher education",
   "and university centre");
4. ``all words``: the name has at least two words and exactly one provider's name holds every one of
   them ("Solent University" -> "Southampton Solent University").

Anything else is *unmatched* and reported, never guessed: a lead that is unmatched leaves its IoT out
of the bid file (listed in the report and the file header); an unmatched partner stays a partner of
type ``other`` (``employer`` where the source says "employers ...").

Sites
-----
The ``sites_town_or_postcode`` field is split at ``;`` (outside brackets) and each part at ``,`` and
``/`` into pieces (brackets and postcodes removed). Where a piece contains a matched organisation's
name, that organisation places the site; otherwise each piece that ends with a matched organisation's
town (from the provider file) places one. Where a piece names several, the first in the order lead,
then partners as listed, is used (the others are reported). The
lead's own location is always the hub; other places are spokes. A piece that names nobody is reported.

Other fields: ``lep`` is located from the lead's position (LEP 2017 boundaries, both LEPs where two
overlap); the source gives no routes, so every IoT lists the competition's five STEM routes (its
remit, not per-IoT evidence) and levels 4 and 5 (the IoT programme's higher technical levels).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import yaml

from iot_geo import settings
from iot_geo.errors import DataNotFoundError
from iot_geo.files import write_text
from iot_geo.locate import locate
from iot_geo.outputs import write_csv
from iot_geo.sources import providers as provider_data

__all__ = ["build_iots", "match_name", "normalise", "write_iots"]


#: Provider types an IoT lead or partner is matched against.
MATCH_TYPES = ("fe_college", "sixth_form_college", "university", "utc")
#: Generic endings removed by rule 3.
SUFFIXES = (" of further and higher education", " and university centre")
STEM = ["engineering_manufacturing", "construction", "health_science", "digital", "transport_logistics"]
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b", re.IGNORECASE)


def normalise(name: str) -> str:
    """Lower case, '&' as 'and', punctuation dropped, a leading 'the' dropped, spaces collapsed."""
    s = re.sub(r"[^a-z0-9 ]+", " ", str(name).lower().replace("&", " and "))
    words = s.split()
    if words[:1] == ["the"]:
        words = words[1:]
    return " ".join(words)


def _slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", text.lower())).strip("-")[:60]


def match_name(name: str, providers: pd.DataFrame) -> tuple[pd.Series | None, str, str]:
    """The provider a name refers to by the module's rule: ``(row or None, rule, note)``."""
    norms = providers["_norm"]
    variants = [("exact", normalise(name)), ("without brackets", normalise(re.sub(r"\(.*?\)", " ", name)))]
    base = variants[-1][1]
    for suffix in SUFFIXES:
        if base.endswith(suffix.strip()) and base != suffix.strip():
            variants.append(("without suffix", base[: -len(suffix.strip())].strip()))
    for rule, v in variants:
        hit = providers[norms == v]
        if len(hit) == 1:
            return hit.iloc[0], rule, ""
        if len(hit) > 1:
            return None, "unmatched", f"{len(hit)} providers share the name: {', '.join(hit['provider_id'])}"
    words = set(base.split())
    if len(words) >= 2:
        hit = providers[norms.map(lambda n: words <= set(n.split()))]
        if len(hit) == 1:
            return hit.iloc[0], "all words", ""
        if len(hit) > 1:
            return None, "unmatched", f"ambiguous: {', '.join(hit['name'].head(5))}"
    return None, "unmatched", "no provider of a college or university type has this name"


def _split_top(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == ";" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def _partners(text: Any) -> list[str]:
    out: list[str] = []
    for part in _split_top(str(text)) if isinstance(text, str) else []:
        if part.lower().startswith("employers "):
            out += ["employer:" + e.strip() for e in part[len("employers "):].split(",") if e.strip()]
        else:
            out.append(part)
    return out


def _row(iot: str, what: str, text: str, rule: str, hit: pd.Series | None, note: str) -> dict[str, Any]:
    """One row of the match report; ``hit`` the provider matched, if any."""
    return {"iot": iot, "what": what, "text": text, "rule": rule,
            "provider_id": "" if hit is None else hit["provider_id"],
            "provider_name": "" if hit is None else hit["name"], "note": note}


def _match_partners(iot: str, text: Any, prov: pd.DataFrame, report: list[dict[str, Any]]
                    ) -> tuple[list[dict[str, str]], list[pd.Series]]:
    """The IoT's partners for the bid file (unmatched ones as ``other``), and the providers matched."""
    partners, matched = [], []
    for p in _partners(text):
        if p.startswith("employer:"):
            partners.append({"name": p.split(":", 1)[1], "type": "employer"})
            report.append(_row(iot, "partner", p.split(":", 1)[1], "employer", None,
                               "named as an employer by the source"))
            continue
        hit, prule, pnote = match_name(p, prov)
        report.append(_row(iot, "partner", p, prule, hit, pnote))
        partners.append({"name": p, "type": "other" if hit is None else hit["provider_type"]})
        if hit is not None:
            matched.append(hit)
    return partners, matched


def _entry_hits(entry: str, members: list[pd.Series]) -> list[tuple[str, list[pd.Series]]]:
    """Each piece of a site entry with the members it names; by town where no piece names an organisation."""
    pieces = [p for p in re.split(r"[,/]", re.sub(r"\(.*?\)", " ", entry)) if p.strip()]
    keys = [normalise(_POSTCODE.sub(" ", piece)) for piece in pieces]
    # an organisation named in the entry wins over towns; else each piece's town places a site
    hits = [(piece, [m for m in members if f" {m['_norm']} " in f" {key} "]) for piece, key in zip(pieces, keys)]
    if not any(named for _, named in hits):
        hits = [(piece, [m for m in members if m["_town"] and key.endswith(m["_town"])])
                for piece, key in zip(pieces, keys)]
    return hits


def _iot_sites(iot: str, bid_id: str, lead: pd.Series, members: list[pd.Series], text: str,
                 report: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The lead's hub, then a spoke for each other member a site entry names (each member once)."""
    sites = [{"id": f"{bid_id}-hub", "name": str(lead["name"]), "role": "hub",
              "provider_id": str(lead["provider_id"])}]
    placed = {str(lead["provider_id"])}
    for entry in _split_top(text):
        found_any = False
        for piece, named in _entry_hits(entry, members):
            if not named:
                continue
            found_any = True
            found = named[0]
            others = ", ".join(str(m["name"]) for m in named[1:])
            report.append(_row(iot, "site", entry, f"names {piece.strip()!r}", found,
                               f"also names {others}; the first (lead, then partners as listed) is used"
                               if others else ""))
            if str(found["provider_id"]) not in placed:
                placed.add(str(found["provider_id"]))
                sites.append({"id": f"{bid_id}-{_slug(str(found['name']))}"[:80], "name": str(found["name"]),
                              "role": "spoke", "provider_id": str(found["provider_id"])})
        if not found_any:
            report.append(_row(iot, "site", entry, "unmatched", None, "names no matched lead or partner"))
    return sites


def _iot_bid(r: Any, prov: pd.DataFrame, report: list[dict[str, Any]], left_out: list[str]) -> dict[str, Any] | None:
    """One IoT of the table as a bid (None, noted in ``left_out``, when its lead is unmatched)."""
    iot = str(r.iot_name)
    lead, rule, note = match_name(str(r.lead), prov)
    report.append(_row(iot, "lead", r.lead, rule, lead, note))
    partners, matched = _match_partners(iot, r.partners, prov, report)
    if lead is None:
        left_out.append(f"{iot} (lead {r.lead!r} unmatched)")
        return None
    bid_id = _slug(iot.replace("(name not sourced)", ""))
    sites = _iot_sites(iot, bid_id, lead, [lead, *matched], str(r.sites_town_or_postcode), report)
    where = locate(gpd.GeoSeries([lead.geometry], crs=settings.crs), vintage=2017)
    lep = list(where["lep_codes"].iloc[0] or [])
    bid: dict[str, Any] = {
        "id": bid_id, "name": iot, "lead": str(lead["name"]),
        "lead_type": str(lead["provider_type"]), "partners": partners, "lep": lep if len(lep) != 1 else lep[0],
        "routes": list(STEM), "levels": [4, 5], "wave": int(str(r.wave)), "sites": sites,
    }
    if not lep:
        bid.pop("lep")
        bid["combined_authority"] = where["ca_code"].iloc[0]
    return bid


def build_iots(path: str | os.PathLike[str] | None = None, *, data_dir: str | os.PathLike[str] | None = None
               ) -> tuple[dict[str, Any], pd.DataFrame]:
    """The designated IoTs as a bid document (a dict for YAML) and the match report.

    Returns
    -------
    (dict, pandas.DataFrame)
        The bid file's content, and one report row per name or site piece: ``iot, what`` (lead,
        partner, site), ``text, rule, provider_id, provider_name, note``.
    """
    src = Path(path) if path is not None else settings.get_data_dir(data_dir) / "providers/institutes_of_technology.csv"
    if not src.is_file():
        raise DataNotFoundError(f"{src} not found: set --data-dir or $IOT_GEO_DATA to the shared data folder")
    table = pd.read_csv(src, dtype=str, keep_default_na=False)
    prov = provider_data.load_providers(list(MATCH_TYPES), data_dir=data_dir)
    prov = prov.assign(_norm=prov["name"].map(normalise), _town=prov["town"].fillna("").map(normalise))
    report: list[dict[str, Any]] = []
    left_out: list[str] = []
    found = (_iot_bid(r, prov, report, left_out) for r in table.itertuples())
    bids = [bid for bid in found if bid is not None]
    doc = {"schema": 1, "vintage": {"lep": 2017, "ca": 2017}, "bids": bids, "_left_out": left_out}
    return doc, pd.DataFrame(report)


def write_iots(out: str | os.PathLike[str], *, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Write the bid file (YAML, with the rule and what was left out in its header) and the match report."""
    doc, report = build_iots(data_dir=data_dir)
    left = doc.pop("_left_out")
    unmatched = report[report["rule"] == "unmatched"]
    head = [
        "# The 21 designated Institutes of Technology (waves 1 and 2) as a bid file.",
        "# Written by `python -m iot_geo.iots` from providers/institutes_of_technology.csv (see its PROVENANCE.md);",
        "# the name-matching and site-placing rules are in iot_geo/iots.py. Every match and unmatch is listed in",
        f"# {Path(out).with_suffix('').name}.matches.csv. Routes are the five STEM routes for every IoT (the",
        "# competition's remit; the source gives none per IoT); levels 4 and 5.",
        f"# {len(doc['bids'])} IoTs written; {len(left)} left out (lead not matched): " + "; ".join(left),
        f"# {len(unmatched)} name(s) or site(s) unmatched (see the report).",
        "",
    ]
    text = "\n".join(head) + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)
    write_text(text, out)
    write_csv(report, Path(out).with_suffix("").as_posix() + ".matches.csv")
    return report


if __name__ == "__main__":  # pragma: no cover - the generator script
    target = sys.argv[1] if len(sys.argv) > 1 else "data/examples/institutes_of_technology.yaml"
    rep = write_iots(target)
    print(rep.groupby(["what", "rule"]).size().to_string())
