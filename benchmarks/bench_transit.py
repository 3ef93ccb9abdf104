"""Arrive-by search speed on the Chester feed: RAPTOR against a plain time-expanded graph search (networkx).

Both answer: the latest time one can be at every stop and still reach Cheshire College South & West's
Handbridge campus (53.1795, -2.8870) by the deadline. The same answer is checked, then timed for one
deadline and for a 30-minute window (08:30-09:00, every minute).

    python benchmarks/bench_transit.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from timing import best

from iot_geo.geo import to_bng
from iot_geo.transit import arrive_by_minutes, latest_departures, load_timetable, reference_latest_departures


def main() -> None:
    data = Path(os.environ.get("IOT_GEO_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    t_load, tt = best(lambda: load_timetable(data / "gtfs/chester-20230816-small_gtfs.zip"), 1)
    x, y = (float(v[0]) for v in to_bng(np.array([-2.8870]), np.array([53.1795])))
    deadline = 9 * 3600.0
    t_raptor, ours = best(lambda: latest_departures(tt, x, y, deadline, max_transfers=50))
    t_te, ref = best(lambda: reference_latest_departures(tt, x, y, deadline), 1)
    same = bool(np.array_equal(ours, ref))
    t_window, _ = best(lambda: arrive_by_minutes(tt, x, y, arrive_by="09:00", window_minutes=30, max_transfers=3))
    res = {"stops": tt.n_stops, "patterns": len(tt.patterns), "trips": tt.source["trips"], "day": tt.source["day"],
           "load_s": round(t_load, 3), "raptor_s": round(t_raptor, 4), "time_expanded_s": round(t_te, 3),
           "same_answer": same, "ratio": round(t_te / t_raptor, 1), "window_30min_s": round(t_window, 3),
           "stops_reached": int(np.isfinite(ours).sum())}
    print(json.dumps(res))
    print(f"arrive by 09:00 at Handbridge from {res['stops_reached']} of {tt.n_stops} stops: RAPTOR {t_raptor * 1000:.1f} ms, "
          f"time-expanded graph (networkx) {t_te:.2f} s: {res['ratio']}x faster, same answer: {same}; "
          f"a 30-minute window (31 searches) {t_window:.2f} s")


if __name__ == "__main__":
    main()
