"""The report's paste-ready summary per bid, and a one-bid report titled with the bid's name."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import shapely
import yaml

import iot_geo as ig
from iot_geo import report


@pytest.fixture(scope="module")
def analysis():
    net = ig.load_network("rutland-2022-07-20.osm.pbf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return report.analyse(ig.read_bids("data/examples/rutland.yaml"), net, minutes=[10, 15])


def test_summary_equals_the_tables_it_gathers(analysis):
    s = analysis.summary("stamford-iot").set_index("minutes")
    t = analysis.catchments.table
    mine = t[t["group_id"] == "stamford-iot"].set_index("minutes")
    hs = analysis.hub_spoke.query("bid_id == 'stamford-iot' and role == 'network'").set_index("minutes")
    prov = ig.load_providers(["fe_college", "sixth_form_college", "utc", "university"])
    for band in (10, 15):
        assert s.loc[band, "people"] == mine.loc[band, "people"]
        assert s.loc[band, "people_16_59"] == mine.loc[band, "people_16_59"]
        assert s.loc[band, "people_most_deprived_20pct"] == mine.loc[band, "imd_1"] + mine.loc[band, "imd_2"]
        share = hs.loc[band, "area_share"]
        assert s.loc[band, "lep_share"].startswith(f"{share:.1%}")
        assert ("lower bound" in s.loc[band, "lep_share"]) == bool(hs.loc[band, "area_share_is_lower_bound"])
        poly = mine.loc[band, "geometry"]
        inside = prov[shapely.contains_xy(poly, prov.geometry.x.to_numpy(), prov.geometry.y.to_numpy())]
        want = sorted(f"{n} ({k.replace('_', ' ')})" for n, k in zip(inside["name"], inside["provider_type"],
                                                                       strict=True))
        assert s.loc[band, "providers"] == ("; ".join(want) or "none")
    # the Oakham spoke's neighbour is inside; New College Stamford lies in the part of Stamford the Rutland extract
    # does not cover (outside the network), so no catchment reaches it
    assert "Harington School (fe college)" in s.loc[10, "providers"]


def test_report_shows_the_summary_and_a_one_bid_report_is_titled_with_the_bid(analysis, tmp_path):
    report.write_report(analysis, tmp_path / "two")
    page = (tmp_path / "two" / "index.html").read_text()
    assert page.count("<h3>Summary (paste-ready)</h3>") == 2 and "<title>IoT bids: rutland</title>" in page
    doc = yaml.safe_load(Path("data/examples/rutland.yaml").read_text())
    doc["bids"] = [b for b in doc["bids"] if b["id"] == "stamford-iot"]
    one_file = tmp_path / "one.yaml"
    one_file.write_text(yaml.safe_dump(doc))
    net = analysis.networks[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = report.analyse(ig.read_bids(one_file), net, minutes=[10])
    report.write_report(one, tmp_path / "one")
    name = next(iter(one.bids)).name
    assert f"<title>{name}</title>" in (tmp_path / "one" / "index.html").read_text()


def test_report_checks_reuse_the_overlap_it_already_made(analysis, monkeypatch):
    import sys

    dup = analysis.checks[analysis.checks["check"] == "duplicate_provision"].reset_index(drop=True)
    assert len(dup) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fresh = ig.check_bids(analysis.bids, analysis.networks, minutes=[10, 15])
    assert fresh[fresh["check"] == "duplicate_provision"].reset_index(drop=True).equals(dup)

    def no_second_overlap(*a, **k):
        raise AssertionError("overlap computed again")

    for where in ("iot_geo.overlap", "iot_geo.checks"):  # patched where it is looked up
        monkeypatch.setattr(sys.modules[where], "overlap", no_second_overlap)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = ig.check_bids(analysis.bids, analysis.networks, minutes=[10, 15], overlap_table=analysis.overlap)
    assert again[again["check"] == "duplicate_provision"].reset_index(drop=True).equals(dup)
