"""The one timing rule of the benchmarks: the minimum of several repeats (machines are small and noisy)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best(fn: Callable[[], Any], repeat: int = 3, before: Callable[[], Any] | None = None) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs of ``fn`` in seconds, and its last result; ``before`` runs untimed each time."""
    out, times = None, []
    for _ in range(max(1, repeat)):
        if before is not None:
            before()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out
