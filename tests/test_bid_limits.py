"""Hostile and large bid files (issue 11, finding 6): YAML aliases and size bounded, many bids in one pass."""

from __future__ import annotations

import resource
import tracemalloc
from pathlib import Path

import pytest
from bid_files import dump, make_bids

from iot_geo import InvalidInputError, locate
from iot_geo import bids as bids_mod
from iot_geo.bids import read_bids

HEAD = """schema: 1
vintage: {lep: 2017}
"""
BID = """bids:
  - id: stamford-iot
    name: South Lincolnshire and Rutland IoT
    lead: New College Stamford
    lead_type: fe_college
    partners: PARTNERS
    lep: Greater Cambridge and Greater Peterborough
    routes: [engineering_manufacturing, digital]
    levels: [3, 4, 5]
    sites:
      - {id: stamford-hub, name: New College Stamford, role: hub, lat: 52.6590, lon: -0.4715}
"""


def laughs(levels: int, width: int = 10) -> str:
    """A "billion laughs" document: ``width ** levels`` strings once every alias is expanded."""
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str, name: str = "bids.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_alias_expansion_past_the_limit_is_refused(tmp_path):
    # 10**6 strings once expanded, placed where validation would print them
    text = HEAD + laughs(6) + BID.replace("PARTNERS", f"*a{6}")
    with pytest.raises(InvalidInputError, match=r"bids.yaml.*alias.*more than 100,000 nodes"):
        read_bids(write(tmp_path, text))


def test_billion_laughs_fails_fast_in_little_memory(tmp_path):
    text = HEAD + laughs(9) + BID.replace("PARTNERS", "*a9")  # 10**9 strings
    p = write(tmp_path, text)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInputError, match="alias"):
            read_bids(p)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200e6, peak  # Python allocations while refusing it (an upper bound, not a timing)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 2_000_000  # kB: the process never grew to GBs


def test_recursive_alias_is_refused(tmp_path):
    text = HEAD + "loop: &l [*l]\n" + BID.replace("PARTNERS", "*l")
    with pytest.raises(InvalidInputError, match=r"bids.yaml: an alias at line 3 refers to a node that contains it"):
        read_bids(write(tmp_path, text))


def test_ordinary_anchors_and_merge_keys_still_work(tmp_path):
    text = HEAD + """employer: &emp {name: Example Engineering Ltd, type: employer}
common: &common
  lead_type: fe_college
  lep: Greater Cambridge and Greater Peterborough
  routes: [engineering_manufacturing, digital]
  levels: [3, 4, 5]
bids:
  - <<: *common
    id: stamford-iot
    name: South Lincolnshire and Rutland IoT
    lead: New College Stamford
    partners: [*emp]
    sites:
      - {id: stamford-hub, name: New College Stamford, role: hub, lat: 52.6590, lon: -0.4715}
  - <<: *common
    id: second-iot
    name: Second IoT
    lead: Another College
    partners: [*emp]
    sites:
      - {id: second-hub, name: Peterborough, role: hub, lat: 52.5740, lon: -0.2420}
"""
    b = read_bids(write(tmp_path, text))
    assert b.ids == ["stamford-iot", "second-iot"]
    assert b["second-iot"].lep_codes == ["E37000042"] and b["second-iot"].partners[0].name == "Example Engineering Ltd"


def test_file_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(bids_mod, "MAX_BID_FILE_BYTES", 1000)
    big = write(tmp_path, HEAD + BID.replace("PARTNERS", "[]") + "#" * 2000 + "\n")
    with pytest.raises(InvalidInputError, match=r"bids.yaml is 2\.\d kB.*limit of 1\.0 kB.*MAX_BID_FILE_BYTES"):
        read_bids(big)
    # CSV and GeoJSON bid files have the same limit
    (tmp_path / "sites.csv").write_text("bid_id,id,role,lat,lon\n" + "x,y,hub,52.6,-0.4\n" * 100)
    (tmp_path / "bids.csv").write_text("id,name,lead,lead_type,lep,routes\n")
    with pytest.raises(InvalidInputError, match=r"sites.csv is .*limit"):
        read_bids(tmp_path / "bids.csv")
    write(tmp_path, '{"type": "FeatureCollection", "features": []' + " " * 2000 + "}", "s.geojson")
    with pytest.raises(InvalidInputError, match=r"s.geojson is .*limit"):
        read_bids(tmp_path / "s.geojson")
    assert bids_mod.MAX_BID_FILE_BYTES == 1000


def test_locate_one_point_is_a_thin_wrapper_over_the_vectorised_pass():
    import pandas as pd

    many = locate(pd.DataFrame({"lat": [52.67, 52.659, 51.48], "lon": [-0.73, -0.4715, -3.18]}), vintage=2017)
    one = locate(pd.DataFrame({"lat": [52.659], "lon": [-0.4715]}), vintage=2017)
    assert one.iloc[0].to_dict() == many.iloc[1].to_dict()
    assert many["lad_code"].tolist() == ["E06000017", "E07000141", "W06000015"]
    assert many["in_england"].tolist() == [True, True, False]


@pytest.mark.slow
def test_ten_thousand_bids_validate_and_match_the_per_bid_path(tmp_path):
    doc = make_bids(10_000, seed=3)
    # three bids with a site outside England, spread through the file
    for i, (lat, lon) in zip((17, 5000, 9998), ((51.48, -3.18), (55.95, -3.19), (53.28, -3.83)), strict=True):
        doc["bids"][i]["sites"][-1].update(lat=lat, lon=lon)
        doc["bids"][i]["sites"][-1].pop("provider_id", None)
        doc["bids"][i]["sites"][-1]["role"] = "hub" if len(doc["bids"][i]["sites"]) == 1 else "spoke"
    big = write(tmp_path, dump(doc))
    b = read_bids(big, skip_invalid=True)
    assert len(b) == 9_997 and len(b.problems) == 3
    assert [line.split(": ", 1)[1] for line in b.problems] == [
        f"bid 'bid-{i}': site 'b{i}-s{len(doc['bids'][i]['sites']) - 1}' is not in England (in {c}, not England: "
        "no LEP, CA or Opportunity Area applies)" for i, c in ((17, "Wales"), (5000, "Scotland"), (9998, "Wales"))]
    # the same bids read one at a time
    for i in (0, 4, 17, 1234, 5000, 9999):
        path = write(tmp_path, dump({**doc, "bids": [doc["bids"][i]]}), f"one-{i}.yaml")
        bid_id = f"bid-{i}"
        if i in (17, 5000):
            with pytest.raises(InvalidInputError) as info:
                read_bids(path)
            alone = str(info.value).split(": ", 2)[-1]
            assert alone == next(line for line in b.problems if f"'{bid_id}'" in line).split(": ", 2)[-1]
            continue
        single = read_bids(path)[bid_id]
        many = b[bid_id]
        assert single.lep_codes == many.lep_codes and single.routes == many.routes
        assert single.sites.drop(columns="geometry").reset_index(drop=True).equals(
            many.sites.drop(columns="geometry").reset_index(drop=True))
        assert list(single.sites.geometry) == list(many.sites.geometry)


def test_progress_bar_on_request_changes_nothing_but_the_display(tmp_path, monkeypatch):
    import io

    import rich.console

    shown: list[io.StringIO] = []
    real = rich.console.Console

    def terminal(*args, **kw):  # a console that believes it is a terminal, writing into a buffer
        buf = io.StringIO()
        shown.append(buf)
        return real(*args, **{**kw, "file": buf, "force_terminal": True, "width": 100})

    monkeypatch.setattr(rich.console, "Console", terminal)
    p = write(tmp_path, HEAD + BID.replace("PARTNERS", "[]"))
    quiet = read_bids(p)
    assert shown == []
    loud = read_bids(p, progress=True)
    assert loud.ids == quiet.ids and list(loud[0].sites.geometry) == list(quiet[0].sites.geometry)
    assert any("checking 1 bid(s) in bids.yaml" in buf.getvalue() for buf in shown)
