"""Batches on Dask equal the one-process reference; a killed worker's tasks are rerun; outputs are byte-identical."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from iot_geo import load_network, read_bids
from iot_geo.batch import BATCH_SITES, batch, batch_sites, people_table, worker_network, write_batch
from iot_geo.errors import InvalidInputError

REPO = Path(__file__).resolve().parents[1]
BANDS = [10, 15]


@pytest.fixture(scope="module")
def rutland(data_dir):
    return load_network(data_dir / "osm/rutland-2022-07-20.osm.pbf", mode="drive")


@pytest.fixture(scope="module")
def sites(rutland):
    """Ten sites on Rutland's roads (20 m and 10 m off a node), ids in scrambled order."""
    rng = np.random.default_rng(7)
    i = rng.choice(np.flatnonzero(~rutland.frontier), 10, replace=False)
    ids = [f"site-{k:02d}" for k in rng.permutation(10)]
    return gpd.GeoDataFrame({"site_id": ids}, geometry=gpd.points_from_xy(rutland.node_x[i] + 20,
                                                                         rutland.node_y[i] + 10), crs="EPSG:27700")


@pytest.fixture(scope="module")
def reference(rutland, sites):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return batch(rutland, sites, minutes=BANDS, workers=0)


def _same(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    assert a.geometry.geom_equals_exact(b.geometry, tolerance=0).all()


def test_reference_equals_catchments_and_sorted(rutland, sites, reference):
    from iot_geo.catchment import catchments

    assert len(reference) == 2 * len(sites)
    keys = list(zip(reference["site_id"], reference["minutes"], strict=True))
    assert keys == sorted(keys)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = catchments(rutland, sites, minutes=BANDS)
    direct = direct.sort_values(["site_id", "minutes"]).reset_index(drop=True)
    _same(reference, gpd.GeoDataFrame(direct, geometry="geometry", crs=direct.crs))


def test_input_order_and_batch_size_do_not_matter(rutland, sites, reference):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shuffled = batch(rutland, sites.iloc[::-1].reset_index(drop=True), minutes=BANDS, workers=0, batch_size=3)
    _same(reference, shuffled)


def test_local_cluster_two_processes_equals_reference(rutland, sites, reference, tmp_path):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = batch(rutland, sites.sample(frac=1.0, random_state=3), minutes=BANDS, client=client, batch_size=2)
        # each worker opened the network file once, whatever number of tasks it ran
        loads = client.run(lambda: dict(__import__("iot_geo.batch", fromlist=["LOADS"]).LOADS))
        assert all(sum(v.values()) == 1 for v in loads.values() if v)
        assert sum(sum(v.values()) for v in loads.values()) <= 2
    _same(reference, got)
    assert got.attrs["tasks"] == 5 and got.attrs["workers"] == 2
    # byte-identical CSV and equal GeoPackage layers
    write_batch(reference, tmp_path / "a.csv")
    write_batch(got, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    write_batch(got, tmp_path / "b.gpkg")
    back = gpd.read_file(tmp_path / "b.gpkg", layer="catchments")
    assert back["people"].tolist() == reference["people"].tolist()
    people = gpd.read_file(tmp_path / "b.gpkg", layer="people")
    assert len(people) == len(reference) and "geometry" not in people.columns


def test_worker_killed_mid_run_is_retried(rutland, sites, reference):
    from distributed import Client, LocalCluster

    killed = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        def kill_one(done: int, total: int) -> None:
            if done == 1 and not killed:
                pids = client.run(os.getpid)
                victim = sorted(pids.values())[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = batch(rutland, sites, minutes=BANDS, client=client, batch_size=1, on_progress=kill_one)
    assert killed
    assert got.attrs["tasks"] == 10
    _same(reference, got)


def test_real_scheduler_and_worker_on_localhost(rutland, sites, reference, tmp_path):
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if dask is None:
        pytest.skip("the dask command is not installed")
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sched_file)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 60
        while not sched_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        import json

        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen([dask, "worker", address, "--nworkers", "1", "--nthreads", "1",
                                       "--no-dashboard", "--host", "127.0.0.1"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = batch(rutland, sites, minutes=BANDS, scheduler=address)
        _same(reference, got)
        assert got.attrs["workers"] == 1
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_bids_are_one_catchment_each_and_people_table(rutland):
    bids = read_bids(REPO / "data/examples/rutland.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = batch(rutland, bids, minutes=BANDS, workers=0)
    assert sorted(set(got["group_id"])) == sorted(b.id for b in bids)
    assert (got["site_id"] == "").all()
    from iot_geo.catchment import people_reached

    b0 = next(iter(bids))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = people_reached(rutland, b0.sites, minutes=BANDS)
    mine = got[got["group_id"] == b0.id].sort_values("minutes")
    assert mine["people"].tolist() == direct["people"].tolist()
    table = people_table(got)
    assert "geometry" not in table.columns and len(table) == len(got)


def test_sites_off_the_network_are_skipped_and_reported(rutland, sites):
    far = gpd.GeoDataFrame({"site_id": ["leeds"]}, geometry=gpd.points_from_xy([430_000.0], [433_000.0]),
                           crs="EPSG:27700")
    both = pd.concat([sites.iloc[:2], far], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = batch(rutland, gpd.GeoDataFrame(both, crs="EPSG:27700"), minutes=[10], workers=0)
    assert set(got["site_id"]) == set(sites["site_id"].iloc[:2])
    assert [s["site_id"] for s in got.attrs["skipped"]] == ["leeds"]
    with pytest.raises(InvalidInputError, match="no site lies on any"):
        batch(rutland, far, minutes=[10], workers=0)


def test_bad_arguments(rutland, sites):
    with pytest.raises(InvalidInputError, match="batch_size"):
        batch(rutland, sites, minutes=[10], workers=0, batch_size=0)
    with pytest.raises(InvalidInputError, match="workers"):
        batch(rutland, sites, minutes=[10], workers=-1)
    with pytest.raises(InvalidInputError, match="scheduler"):
        batch(rutland, sites, minutes=[10], scheduler="localhost:8786")
    with pytest.raises(InvalidInputError, match="mode 'cycle'"):
        batch(rutland, sites, modes=["cycle"], minutes=[10], workers=0)
    with pytest.raises(InvalidInputError, match="write a batch"):
        write_batch(gpd.GeoDataFrame({"geometry": []}, crs="EPSG:27700"), "x.txt")
    assert BATCH_SITES >= 1


def test_worker_network_opens_a_file_once(rutland):
    from iot_geo.batch import LOADS, NetworkRef, network_file

    path = network_file(rutland)
    ref = NetworkRef("npz", str(path), "drive", rutland.speeds)
    before = LOADS.get(ref.key, 0)
    a = worker_network(ref)
    b = worker_network(ref)
    assert a is b and LOADS[ref.key] == before + (0 if before else 1)
    assert np.array_equal(a.edge_minutes, rutland.edge_minutes) and a.n_nodes == rutland.n_nodes


def test_duplicate_site_ids_across_bids_are_qualified():
    bids = read_bids(REPO / "data/examples/rutland.yaml")
    sites, union = batch_sites([bids])
    assert union and sites["site_id"].is_unique


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "iot_geo", *args], capture_output=True, text=True, timeout=600)


def test_cli_batch_two_workers_equals_one_process(data_dir, tmp_path):
    net = str(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    outs = []
    for w in ("0", "2"):
        r = _cli("batch", "--bids", str(REPO / "data/examples/rutland.yaml"), "--network", net, "--mode", "drive",
                 "cycle", "--minutes", "10", "15", "--workers", w, "--csv", str(tmp_path / f"p{w}.csv"),
                 "-o", str(tmp_path / f"b{w}.gpkg"), "-f", "csv")
        assert r.returncode == 0, r.stderr
        outs.append(r)
    a, b = (tmp_path / "p0.csv").read_bytes(), (tmp_path / "p2.csv").read_bytes()
    assert a == b
    table = pd.read_csv(tmp_path / "p0.csv")
    assert sorted(set(table["mode"])) == ["cycle", "drive"] and len(table) == 2 * 2 * 2
    layers = gpd.list_layers(tmp_path / "b2.gpkg")["name"].tolist()
    assert {"catchments", "people"} <= set(layers)
    r = _cli("batch", "--providers", "fe_college", "--sites", str(tmp_path / "nope.csv"), "--network", net,
             "--minutes", "10", "--workers", "0")
    assert r.returncode == 2 and "nope.csv" in r.stderr


def test_cli_coverage_and_where_next(data_dir, tmp_path):
    net = str(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    r = _cli("coverage", "--site", "Oakham=52.6707,-0.7270", "--network", net, "--minutes", "15",
             "--csv", str(tmp_path / "t.csv"), "-o", str(tmp_path / "c.gpkg"), "--map", str(tmp_path / "c.html"))
    assert r.returncode == 0, r.stderr
    tot = pd.read_csv(tmp_path / "t.csv")
    lsoas = gpd.read_file(tmp_path / "c.gpkg", layer="lsoas")
    allrow = tot[tot["by"] == "all"].iloc[0]
    assert allrow["lsoas"] == len(lsoas) and allrow["lsoas_covered"] == int(lsoas["covered"].sum())
    assert allrow["people_covered"] == pytest.approx(lsoas.loc[lsoas["covered"], "people"].sum())
    assert "cold spots" in (tmp_path / "c.html").read_text()
    r = _cli("where-next", "--site", "Oakham=52.6707,-0.7270", "--network", net, "--minutes", "15", "--k", "1",
             "-f", "csv")
    assert r.returncode == 0, r.stderr
    picks = pd.read_csv(__import__("io").StringIO(r.stdout))
    assert len(picks) == 1 and picks["people_added"].iloc[0] > 0


def test_transit_batch_equals_people_reached(data_dir):
    from iot_geo import load_network
    from iot_geo.catchment import people_reached

    feed = data_dir / "gtfs/chester-20230816-small_gtfs.zip"
    sites = {"Handbridge": (53.1795, -2.8870), "Centre": (53.1910, -2.8910)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = batch({"transit": feed}, sites, modes=["transit"], minutes=[30, 45], workers=0,
                    transit_options={"arrive_by": "09:00"})
        bus = load_network(feed, mode="transit", arrive_by="09:00")
        direct = people_reached(bus, {"Handbridge": sites["Handbridge"]}, minutes=[30, 45])
    mine = got[got["site_id"] == "Handbridge"]
    assert list(got["mode"].unique()) == ["transit"] and len(got) == 4
    assert mine["people"].tolist() == direct["people"].tolist()


def test_reopening_a_network_reference_says_what_is_missing(tmp_path):
    from iot_geo.errors import InvalidInputError
    from iot_geo.network import reopen_network

    with pytest.raises(InvalidInputError, match=r"a saved road network \(net\.npz\) reopens only with its speeds"):
        reopen_network("npz", str(tmp_path / "net.npz"))
    with pytest.raises(InvalidInputError, match="unknown network reference 'osm': 'npz'"):
        reopen_network("osm", str(tmp_path / "x.osm"))
