"""Maximal covering location: choose ``k`` sites that together reach the most weight.

One solver for every "which sites?" question (spokes for a hub in
:func:`iot_geo.hub_spoke.suggest_spokes`, new Institutes of Technology in
:func:`iot_geo.batch.where_next`). The model (Church and ReVelle's maximal
covering location problem, as spopt's ``MCLP.from_cost_matrix``):
    maximise   sum_i w_i y_i
    subject to y_i <= sum_j a_ij x_j   for every demand point i not yet covered
               sum_j x_j = k
               x_j binary, 0 <= y_i <= 1

with ``a_ij = 1`` when candidate ``j`` reaches demand point ``i`` within the
band. Demand points already covered (``base``) and points no candidate reaches
are dropped first, and points with the same set of candidates are merged (their
weights added), which keeps national problems (thousands of candidates by tens
of thousands of LSOAs) small. Solved exactly by HiGHS (``scipy.optimize.milp``);
a greedy choice is computed beside it for comparison.

The cover matrix may be a dense boolean array or a scipy sparse matrix
(``candidates x demand points``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from iot_geo.errors import InvalidInputError

__all__ = ["TIME_LIMIT_S", "greedy_cover", "maximal_covering", "pick_order"]


#: Seconds HiGHS may spend before the best choice found so far is returned (the solver name says so).
TIME_LIMIT_S = 120.0


def _csr(cover: Any) -> sp.csr_matrix:
    if sp.issparse(cover):
        return sp.csr_matrix(cover, dtype=bool)
    return sp.csr_matrix(np.asarray(cover, dtype=bool))


def greedy_cover(cover: Any, weights: np.ndarray, base: np.ndarray, k: int,
                 close: np.ndarray | None = None) -> tuple[list[int], float]:
    """Choose ``k`` candidates one at a time, each adding the most uncovered weight.

    ``close[i, j]`` (optional, boolean) forbids choosing both candidates i and j: the choice stops early when
    every candidate left is too close to one already chosen.

    Returns
    -------
    (list of int, float)
        The candidates in the order chosen, and the weight covered (``base`` included).
    """
    a = _csr(cover).astype(np.float64)
    w = np.asarray(weights, dtype=float)
    covered = np.asarray(base, dtype=bool).copy()
    chosen: list[int] = []
    allowed = np.ones(a.shape[0], dtype=bool)
    for _ in range(min(k, a.shape[0])):
        gains = np.where(allowed, a @ np.where(covered, 0.0, w), -1.0)
        j = int(np.argmax(gains))
        if gains[j] < 0:
            break
        chosen.append(j)
        allowed[j] = False
        if close is not None:
            allowed &= ~np.asarray(close[j], dtype=bool)
        covered[a.indices[a.indptr[j]:a.indptr[j + 1]]] = True
    return chosen, float(w[covered].sum())


def maximal_covering(cover: Any, weights: np.ndarray, base: np.ndarray, k: int, *,
                     close: np.ndarray | None = None,
                     time_limit: float = TIME_LIMIT_S) -> tuple[list[int], float, str]:
    """Choose ``k`` candidates (rows of ``cover``) maximising the covered weight, exactly (HiGHS).

    Parameters
    ----------
    cover : (n_candidates, n_points) bool array or sparse matrix
        Which points each candidate reaches.
    weights : (n_points,) float
        Weight of each point (people; people counted double in deprived areas, ...).
    base : (n_points,) bool
        Points already covered (by the hub, by the sites already there).
    k : int
        How many candidates to choose.
    close : (n_candidates, n_candidates) bool, optional
        ``close[i, j]`` forbids choosing both i and j (``x_i + x_j <= 1``): spokes kept a minimum gap apart.
    time_limit : float
        Seconds for HiGHS; past it the best choice found is returned and the solver name says so.

    Returns
    -------
    (list of int, float, str)
        The chosen candidates (ascending), the covered weight (``base`` included), the solver used.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    a = _csr(cover)
    w = np.asarray(weights, dtype=float)
    base = np.asarray(base, dtype=bool)
    n_c = a.shape[0]
    if k > n_c:
        raise InvalidInputError(f"k={k} but only {n_c} candidate(s)")
    reachable = np.asarray(a.sum(axis=0)).ravel() > 0
    need = np.flatnonzero(~base & reachable & (w > 0))  # demand not yet covered but coverable
    if len(need) == 0:  # nothing left to gain: any k candidates far enough apart
        return greedy_cover(a, w, base, k, close)[0], float(w[base].sum()), "trivial"
    # merge demand points reached by the same candidates (one row of the model each)
    sub = sp.csc_matrix(a[:, need])
    keys = [sub.indices[sub.indptr[i]:sub.indptr[i + 1]].tobytes() for i in range(len(need))]
    uniq: dict[bytes, int] = {}
    group = np.fromiter((uniq.setdefault(key, len(uniq)) for key in keys), dtype=np.int64, count=len(keys))
    gw = np.bincount(group, weights=w[need])
    first = np.zeros(len(uniq), dtype=np.int64)
    first[group[::-1]] = np.arange(len(group))[::-1]
    a_d = sp.csr_matrix(sub[:, first].T.astype(np.float64))  # (n_groups, n_c)
    n_d = a_d.shape[0]
    # variables: x_j (candidates, binary) then y_i (demand groups, continuous in [0, 1])
    c = np.concatenate([np.zeros(n_c), -gw])
    cons_cover = LinearConstraint(sp.hstack([-a_d, sp.identity(n_d, format="csr")], format="csr"), -np.inf, 0.0)
    cons_k = LinearConstraint(sp.csr_matrix(np.concatenate([np.ones(n_c), np.zeros(n_d)])[None, :]), k, k)
    constraints = [cons_cover, cons_k]
    if close is not None:
        ii, jj = np.nonzero(np.triu(np.asarray(close, dtype=bool), 1))
        if len(ii):  # x_i + x_j <= 1 for candidates too close to both be chosen
            rows = np.repeat(np.arange(len(ii)), 2)
            a_close = sp.csr_matrix((np.ones(2 * len(ii)), (rows, np.column_stack([ii, jj]).ravel())),
                                    shape=(len(ii), n_c + n_d))
            constraints.append(LinearConstraint(a_close, -np.inf, 1.0))
    res = milp(c, constraints=constraints, integrality=np.concatenate([np.ones(n_c), np.zeros(n_d)]),
               bounds=Bounds(0, 1), options={"time_limit": float(time_limit)})
    if res.x is None:
        raise InvalidInputError(f"no {k} sites could be chosen ({res.message})"
                                + (": with the minimum gap between sites, fewer can be chosen together; lower k or "
                                   "the gap" if close is not None and close.any() else ""))
    chosen = [int(j) for j in np.flatnonzero(res.x[:n_c] > 0.5)]
    covered = base.copy()
    for j in chosen:
        covered[a.indices[a.indptr[j]:a.indptr[j + 1]]] = True
    solver = "scipy.optimize.milp (HiGHS)" if res.status == 0 else f"scipy.optimize.milp (HiGHS), stopped: {res.message}"
    return chosen, float(w[covered].sum()), solver


def pick_order(cover: Any, weights: np.ndarray, base: np.ndarray, chosen: list[int]
               ) -> list[tuple[int, float, float]]:
    """Order chosen candidates by what each adds in turn: ``(candidate, added weight, running total)``."""
    a = _csr(cover)
    w = np.asarray(weights, dtype=float)
    covered = np.asarray(base, dtype=bool).copy()
    left = list(chosen)
    out: list[tuple[int, float, float]] = []
    total = float(w[covered].sum())
    while left:
        gains = [float(w[a.indices[a.indptr[j]:a.indptr[j + 1]]][~covered[a.indices[a.indptr[j]:a.indptr[j + 1]]]]
                       .sum()) for j in left]
        i = int(np.argmax(gains))  # ties: the earlier candidate
        j = left.pop(i)
        covered[a.indices[a.indptr[j]:a.indptr[j + 1]]] = True
        total += gains[i]
        out.append((j, gains[i], total))
    return out


