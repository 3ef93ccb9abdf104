"""Snapping at array speed: the nearest point of a set of road polylines, for many points at once.

:class:`SnapIndex` splits every polyline into its straight *pieces* (one per
pair of consecutive vertices) and samples each piece at its midpoints, at most
:data:`SPACING_M` metres apart, into a KD-tree (scipy ``cKDTree``). A query
takes each point's ``k`` nearest samples, projects the point exactly onto the
pieces they belong to (vectorised numpy), and keeps the nearest.

Why it is exact: every point of a piece lies within ``h = SPACING_M / 2`` of
one of its samples, so a piece at distance ``d`` has a sample within ``d + h``.
If the ``k``-th nearest sample is at least ``best + h`` away, no piece outside
the candidates can beat ``best``; a point where that check fails (many roads
close together) is asked again with more samples, and at last with every sample
within ``best + h``. The result is the nearest point on the network, the same
distance shapely's ``STRtree.query_nearest`` and ``line_locate_point`` give
(ties between equally near roads may pick a different one of them).

Cost: about a microsecond a point against 15-30 for one shapely nearest-segment
query each, and 20 bytes a sample plus 16 a piece, against about 350 bytes a
segment for shapely geometries and their tree.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

__all__ = ["SPACING_M", "SnapIndex"]


#: Greatest distance in metres between samples along a road piece (sets the exactness margin, half of it).
SPACING_M = 50.0

_K = (8,)  # samples asked for in each round before the last (every sample within best + h)


class SnapIndex:
    """Nearest point on a set of polylines stored flat (offsets ``ptr`` into ``x``, ``y``).

    Parameters
    ----------
    ptr, x, y : arrays
        Polyline ``i`` has vertices ``x[ptr[i]:ptr[i + 1]]``, ``y[...]`` (EPSG:27700 metres).
    lines : array of int
        The polylines to index (ids into ``ptr``); the results name these ids.
    spacing : float
        Greatest distance between samples along a piece, metres.
    """

    def __init__(self, ptr: np.ndarray, x: np.ndarray, y: np.ndarray, lines: np.ndarray, *,
                 spacing: float = SPACING_M) -> None:
        lines = np.asarray(lines, dtype=np.int64)
        starts = ptr[lines]
        n_pieces = np.maximum(ptr[lines + 1] - starts - 1, 0)
        total = int(n_pieces.sum())
        first = np.cumsum(n_pieces) - n_pieces
        # the first vertex of each piece, and the polyline it belongs to
        self.v0 = (np.repeat(starts, n_pieces) + np.arange(total) - np.repeat(first, n_pieces)).astype(np.int64)
        self.line = np.repeat(lines, n_pieces)
        self.x = x
        self.y = y
        dx = x[self.v0 + 1] - x[self.v0]
        dy = y[self.v0 + 1] - y[self.v0]
        plen = np.hypot(dx, dy)
        # distance along its polyline at the start of each piece, and each polyline's length
        before = np.cumsum(plen) - plen  # over all pieces, up to the start of each
        has = n_pieces > 0
        line_start = np.zeros(len(lines))
        line_len = np.zeros(len(lines))
        line_start[has] = before[first[has]]
        last = (first + n_pieces - 1)[has]
        line_len[has] = before[last] + plen[last] - line_start[has]
        self.cum0 = before - np.repeat(line_start, n_pieces)
        self.length = np.repeat(line_len, n_pieces)
        # samples: the midpoints of ceil(plen / spacing) equal parts of each piece
        n_samples = np.maximum(np.ceil(plen / spacing), 1).astype(np.int64)
        s_piece = np.repeat(np.arange(total), n_samples)
        s_first = np.cumsum(n_samples) - n_samples
        frac = (np.arange(int(n_samples.sum())) - np.repeat(s_first, n_samples) + 0.5) / np.repeat(n_samples, n_samples)
        sx = x[self.v0][s_piece] + frac * dx[s_piece]
        sy = y[self.v0][s_piece] + frac * dy[s_piece]
        self.sample_piece = s_piece.astype(np.int32 if total < 2**31 else np.int64)
        self.half = float(spacing) / 2.0
        self.tree = cKDTree(np.column_stack([sx, sy]), balanced_tree=False, compact_nodes=False) if total else None

    @property
    def n_samples(self) -> int:
        """Number of sample points in the tree."""
        return len(self.sample_piece)

    def _project(self, px: np.ndarray, py: np.ndarray, pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance from each point to each candidate piece (``pieces`` shaped ``(n, k)``) and the position 0..1."""
        v0 = self.v0[pieces]
        ax, ay = self.x[v0], self.y[v0]
        dx, dy = self.x[v0 + 1] - ax, self.y[v0 + 1] - ay
        len2 = dx * dx + dy * dy
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(len2 > 0, ((px[:, None] - ax) * dx + (py[:, None] - ay) * dy) / len2, 0.0)
        t = np.clip(t, 0.0, 1.0)
        d = np.hypot(px[:, None] - (ax + t * dx), py[:, None] - (ay + t * dy))
        return d, t

    def query(self, x: np.ndarray, y: np.ndarray, *, max_distance: float = np.inf) -> pd.DataFrame:
        """The nearest point of the indexed polylines to each point.

        Parameters
        ----------
        x, y : array of float
            Points, the polylines' coordinate system (metres).
        max_distance : float
            Points farther than this from every polyline get ``seg = -1``.

        Returns
        -------
        pandas.DataFrame
            ``seg`` (polyline id or -1), ``frac`` (0..1 along the polyline from its first
            vertex), ``distance`` (metres; ``inf`` where none is near enough).
        """
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        n = len(x)
        if n == 0 or self.tree is None:
            return pd.DataFrame({"seg": np.full(n, -1, dtype=np.int64), "frac": np.zeros(n),
                                 "distance": np.full(n, np.inf)})
        bound = max_distance + self.half if np.isfinite(max_distance) else np.inf
        best = _Best(np.full(n, np.inf), np.full(n, -1, dtype=np.int64), np.zeros(n))
        workers = -1 if n >= 20_000 else 1  # threads pay only for large batches
        todo = self._nearest_samples(x, y, bound, best, workers)
        if len(todo):
            self._every_sample_within(x, y, todo, bound, best, workers)
        return self._result(best, max_distance)

    def _nearest_samples(self, x: np.ndarray, y: np.ndarray, bound: float, best: _Best, workers: int
                         ) -> np.ndarray:
        """Rounds over the ``k`` nearest samples (:data:`_K`); returns the points not settled by them.

        A point is settled when fewer than ``k`` samples lie within the bound (all were seen) or the
        farthest one seen is beyond its best distance plus half the spacing.
        """
        assert self.tree is not None
        todo = np.arange(len(x))
        n_s = self.n_samples
        for k in _K:
            if not len(todo):
                break
            kk = min(k, n_s)
            sd, si = self.tree.query(np.column_stack([x[todo], y[todo]]), k=kk, distance_upper_bound=bound,
                                     workers=workers)
            sd, si = sd.reshape(len(todo), kk), si.reshape(len(todo), kk)
            found = si < n_s
            pieces = self.sample_piece[np.where(found, si, 0)]
            d, t = self._project(x[todo], y[todo], pieces)
            d = np.where(found, d, np.inf)
            j = np.argmin(d, axis=1)
            rows = np.arange(len(todo))
            bd = d[rows, j]
            ok_any = np.isfinite(bd)
            take = todo[ok_any]
            best.d[take] = bd[ok_any]
            best.piece[take] = pieces[rows, j][ok_any]
            best.t[take] = t[rows, j][ok_any]
            settled = ~found[:, -1] | (sd[:, -1] >= bd + self.half) | (kk == n_s)
            todo = todo[~settled]
        return todo

    def _every_sample_within(self, x: np.ndarray, y: np.ndarray, todo: np.ndarray, bound: float, best: _Best,
                             workers: int) -> None:
        """The points ``todo``: every sample within best + h, at once (flattened lists of candidates)."""
        assert self.tree is not None
        r = np.minimum(best.d[todo] + self.half, bound)
        lists = self.tree.query_ball_point(np.column_stack([x[todo], y[todo]]), r=r, return_sorted=False,
                                           workers=workers)
        counts = np.fromiter((len(v) for v in lists), dtype=np.int64, count=len(todo))
        has = counts > 0
        if not has.any():
            return
        flat = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=int(counts.sum()))
        owner = np.repeat(np.arange(len(todo)), counts)
        pieces = self.sample_piece[flat].astype(np.int64)
        d, t = self._project(x[todo][owner], y[todo][owner], pieces[:, None])
        d, t = d[:, 0], t[:, 0]
        # the nearest candidate of each point: sort by (point, distance), take the first of each point
        order = np.lexsort((d, owner))
        starts = np.concatenate([[0], np.cumsum(counts[has])[:-1]])
        pick = order[starts]
        who = todo[owner[pick]]
        better = d[pick] < best.d[who]
        who, pick = who[better], pick[better]
        best.d[who], best.piece[who], best.t[who] = d[pick], pieces[pick], t[pick]

    def _result(self, best: _Best, max_distance: float) -> pd.DataFrame:
        """``seg, frac, distance`` from the best piece of each point (``seg = -1`` beyond ``max_distance``)."""
        n = len(best.d)
        seg = np.full(n, -1, dtype=np.int64)
        frac = np.zeros(n)
        dist = np.full(n, np.inf)
        ok = (best.piece >= 0) & (best.d <= max_distance)
        p = best.piece[ok]
        seg[ok] = self.line[p]
        dist[ok] = best.d[ok]
        piece_len = np.hypot(self.x[self.v0[p] + 1] - self.x[self.v0[p]], self.y[self.v0[p] + 1] - self.y[self.v0[p]])
        with np.errstate(invalid="ignore", divide="ignore"):
            frac[ok] = np.clip(np.where(self.length[p] > 0, (self.cum0[p] + best.t[ok] * piece_len) / self.length[p],
                                        0.0), 0.0, 1.0)
        return pd.DataFrame({"seg": seg, "frac": frac, "distance": dist})


@dataclass
class _Best:
    """Per point: the distance to the best piece found so far, the piece (-1: none) and the position on it."""

    d: np.ndarray
    piece: np.ndarray
    t: np.ndarray
