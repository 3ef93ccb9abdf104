"""The designated IoTs bid file: the committed file is what the generator writes; the name rule on known names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from iot_geo import read_bids
from iot_geo.iots import match_name, normalise, write_iots
from iot_geo.sources.providers import load_providers

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


@pytest.fixture(scope="module")
def providers():
    p = load_providers(["fe_college", "sixth_form_college", "university", "utc"])
    return p.assign(_norm=p["name"].map(normalise))


@pytest.mark.parametrize(("name", "rule", "pid"), [
    ("Cheshire College South and West", "exact", "urn:130619"),  # provider file: "Cheshire College - South & West"
    ("University of Salford", "exact", "ukprn:10007156"),
    ("Weston College of Further and Higher Education", "without suffix", "urn:130564"),
    ("Solent University", "all words", "ukprn:10006022"),
    ("DN Colleges Group", "unmatched", ""),
    ("Heathrow", "unmatched", ""),  # one word: never matched by its words alone (UTC Heathrow is not a partner)
])
def test_name_rule(providers, name, rule, pid):
    row, got_rule, _ = match_name(name, providers)
    assert got_rule == rule
    assert (row["provider_id"] if row is not None else "") == pid


def test_committed_bid_file_is_the_generators_output(tmp_path, data_dir):
    report = write_iots(tmp_path / "institutes_of_technology.yaml")
    assert (tmp_path / "institutes_of_technology.yaml").read_text() == \
        (EXAMPLES / "institutes_of_technology.yaml").read_text()
    assert (tmp_path / "institutes_of_technology.matches.csv").read_bytes() == \
        (EXAMPLES / "institutes_of_technology.matches.csv").read_bytes()
    src = pd.read_csv(data_dir / "providers/institutes_of_technology.csv", dtype=str)
    assert len(src) == 21
    leads = report[report["what"] == "lead"]
    assert len(leads) == 21 and set(leads["text"]) == set(src["lead"])
    bids = read_bids(EXAMPLES / "institutes_of_technology.yaml")
    unmatched_leads = leads[leads["rule"] == "unmatched"]
    assert len(list(bids)) == 21 - len(unmatched_leads) == 20
    assert "DN Colleges Group" in (EXAMPLES / "institutes_of_technology.yaml").read_text().split("schema:")[0]
    by_id = {b.id: b for b in bids}
    salford = by_id["university-of-salford-iot"]
    assert list(salford.sites["role"]) == ["hub"] and salford.lep_names == ["Greater Manchester"]
    swiot = by_id["south-west-institute-of-technology-swiot"].sites
    assert len(swiot) == 5 and set(swiot["name"]) >= {"Petroc", "Truro and Penwith College"}
    # every site the generator placed is reported with the rule that placed it
    placed = report[(report["what"] == "site") & (report["rule"] != "unmatched")]
    assert set(placed["provider_id"]) >= set(bids.sites["provider_id"].dropna()) - set(leads["provider_id"])
