"""Speed profiles: free-flow figures, the limit factor, service roads, parking and a user's speed table."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from helpers import X0, Y0, raw_network
from typer.testing import CliRunner

from iot_geo.cli import app
from iot_geo.errors import DataNotFoundError, InvalidInputError
from iot_geo.network import TravelNetwork, load_network
from iot_geo.speeds import FREE_FLOW_KMH, LIMIT_FACTOR, MPH, PEAK_KMH, Speeds, park_note, read_speeds

# three 1 km roads in a row, far apart from anything (rural): untagged tertiary, tagged 40 mph primary, service
NODES = {0: (X0, Y0), 1: (X0 + 1000, Y0), 2: (X0 + 2000, Y0), 3: (X0 + 3000, Y0)}
SEGS = [(0, 1, True, True, None, "tertiary"), (1, 2, True, True, None, "primary", "40 mph"),
        (2, 3, True, True, None, "service")]


def minutes_by_class(speeds: Speeds) -> dict[str, float]:
    net = TravelNetwork.from_raw(raw_network(NODES, SEGS), speeds=speeds)
    fwd = net.seg_fwd
    return {h: float(net.edge_minutes[fwd[i]]) for i, h in enumerate(["tertiary", "primary", "service"])}


def test_free_flow_by_hand():
    got = minutes_by_class(Speeds("drive", free_flow=True))
    assert got["tertiary"] == pytest.approx(60 / FREE_FLOW_KMH["tertiary"][1])  # untagged: the rural class figure
    assert got["primary"] == pytest.approx(60 / (40 * MPH * LIMIT_FACTOR))  # tagged: 0.8 of the limit
    assert got["service"] == pytest.approx(60 / 15.0)
    assert FREE_FLOW_KMH["tertiary"][1] == 50.0 and LIMIT_FACTOR == 0.8


def test_peak_never_above_free_flow_by_hand():
    got = minutes_by_class(Speeds("drive"))
    assert got["tertiary"] == pytest.approx(60 / min(PEAK_KMH["tertiary"][1], FREE_FLOW_KMH["tertiary"][1]))
    # the 40 mph primary: peak 64 km/h rural, above 0.8 x 64.4 = 51.5 km/h, so free flow caps it
    assert got["primary"] == pytest.approx(60 / (40 * MPH * 0.8))


def test_speed_table_overrides_figures(tmp_path):
    f = tmp_path / "speeds.yaml"
    f.write_text("free_flow:\n  tertiary: [30, 45]\n  service_link: 10\npeak:\n  tertiary: 20\n"
                 "limit_factor: 1.0\npark_minutes: 1.5\naccess_kmh: 4\n")
    free = read_speeds(f, free_flow=True)
    assert free.park_minutes == 1.5 and free.access_kmh == 4.0 and free.limit_factor == 1.0
    got = minutes_by_class(free)
    assert got["tertiary"] == pytest.approx(60 / 45)
    assert got["primary"] == pytest.approx(60 / (40 * MPH))
    assert got["service"] == pytest.approx(60 / 10)
    peak = minutes_by_class(read_speeds(f))
    assert peak["tertiary"] == pytest.approx(60 / 20)
    assert read_speeds(f, park_minutes=0).park_minutes == 0.0  # the command line wins over the file
    cyc = tmp_path / "cycle.yaml"
    cyc.write_text("cycle_kmh: 12\n")
    assert read_speeds(cyc, mode="cycle").constant_kmh == 12.0


@pytest.mark.parametrize(("text", "needle"), [
    ("peak: {tertairy: 20}\n", "unknown road class 'tertairy'"),
    ("free_flow: {primary: [30, 500]}\n", "free_flow.primary"),
    ("speed: 3\n", "unknown key(s) speed"),
    ("limit_factor: high\n", "limit_factor must be a number"),
    ("- 1\n- 2\n", "a speed table is a mapping"),
    ("peak: [1, 2\n", "not a readable YAML"),
])
def test_speed_table_errors_name_file_and_key(tmp_path, text, needle):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(InvalidInputError) as e:
        read_speeds(f)
    assert needle in str(e.value) and str(f) in str(e.value)


def test_speed_table_missing(tmp_path):
    with pytest.raises(DataNotFoundError):
        read_speeds(tmp_path / "none.yaml")


def test_park_note():
    s = Speeds("drive", park_minutes=3.0)
    note = park_note(s, [5, 10, 15])
    assert note is not None and "5-minute band leaves 2 min of driving" in note
    assert park_note(s, [30, 45]) is None
    assert park_note(Speeds("drive", park_minutes=0.0), [5]) is None
    assert park_note(Speeds.for_mode("walk"), [5]) is None
    assert Speeds.for_mode("drive", free_flow=True).park_minutes == Speeds.for_mode("drive").park_minutes == 3.0


def test_rutland_service_roads_and_free_flow_speeds(data_dir):
    """Service roads are in the drive network at their documented speed; untagged roads at their class figure."""
    net = load_network(data_dir / "osm/rutland-2022-07-20.osm.pbf", free_flow=True)
    assert (net.seg_highway == "service").sum() > 500
    e = np.flatnonzero(net.edge_minutes > 0)
    kmh = net.seg_length[net.edge_seg[e]] / 1000 / (net.edge_minutes[e] / 60)
    allowed = {v for pair in FREE_FLOW_KMH.values() for v in pair}
    # every speed is a class figure or 0.8 of a UK limit (5 mph steps)
    limits = {round(m * MPH * LIMIT_FACTOR, 6) for m in range(5, 75, 5)}
    assert {round(k, 6) for k in kmh} <= {round(a, 6) for a in allowed} | limits
    svc = net.seg_highway[net.edge_seg[e]] == "service"
    assert np.median(kmh[svc]) == pytest.approx(15.0)
    # no untagged rural road at the 60 mph national limit any more
    assert kmh.max() < 70 * MPH


def test_cli_park_minutes_and_speeds(tmp_path, data_dir):
    runner = CliRunner()
    pbf = str(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    base = ["--data-dir", str(data_dir), "catchment", "--network", pbf, "--site", "oakham=52.6707,-0.7270",
            "--minutes", "5", "--minutes", "10", "--format", "csv"]
    r3 = runner.invoke(app, base)
    assert r3.exit_code == 0, r3.output
    assert "leaves 2 min of driving" in r3.output
    r0 = runner.invoke(app, [*base, "--park-minutes", "0"])
    assert r0.exit_code == 0 and "min of driving" not in r0.output

    def area(out: str, band: str) -> float:
        lines = out.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("site_id,"))
        df = pd.read_csv(io.StringIO("\n".join(lines[start:start + 3])))
        return float(df.loc[df["minutes"] == float(band), "area_km2"].iloc[0])

    assert area(r0.output, "5.0") > area(r3.output, "5.0")  # 5 minutes of driving reach farther than 2
    f = tmp_path / "slow.yaml"
    f.write_text("peak: {residential: 5, unclassified: 5, tertiary: 5, secondary: 5, primary: 5, service: 5}\n")
    rs = runner.invoke(app, [*base, "--park-minutes", "0", "--speeds", str(f)])
    assert rs.exit_code == 0, rs.output
    assert area(rs.output, "10.0") < area(r0.output, "10.0")
    bad = runner.invoke(app, [*base, "--park-minutes", "-1"])
    assert bad.exit_code != 0


def test_example_speed_table_is_the_documented_defaults():
    from iot_geo.sources.boundaries import PROJECT_DATA
    from iot_geo.speeds import ACCESS_KMH, CYCLE_KMH, PARK_MINUTES, WALK_KMH

    path = PROJECT_DATA / "examples" / "speeds.yaml"
    s = read_speeds(path)
    assert dict(s.by_class) == PEAK_KMH and dict(s.free_by_class) == FREE_FLOW_KMH
    assert (s.limit_factor, s.park_minutes, s.access_kmh) == (LIMIT_FACTOR, PARK_MINUTES, ACCESS_KMH)
    assert read_speeds(path, mode="cycle").constant_kmh == CYCLE_KMH
    assert read_speeds(path, mode="walk").constant_kmh == WALK_KMH
    # and it changes nothing: the same minutes as the built-in profile on the hand-built roads
    assert minutes_by_class(s) == pytest.approx(minutes_by_class(Speeds("drive")))
