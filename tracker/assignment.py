"""Minimum-cost assignment (the Hungarian method), for matching a frame's boxes to its tracks.

The same results as scipy.optimize.linear_sum_assignment (tests/track/test_assignment.py checks the
costs on random matrices), without importing scipy.optimize on the hot path: that import alone
costs 0.25-0.45 s of every `facetrack run`'s start-up on two cores. Matrices here are small (faces
in a frame), so a vectorised O(n^2 m) shortest-augmenting-path solver is plenty.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def _solve(cost: NDArray[np.float64]) -> NDArray[np.int64]:
    """For n <= m: the column of each row (the e-maxx formulation, 1-based inside)."""
    n, m = cost.shape
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    p = np.zeros(m + 1, np.int64)  # p[j]: the row (1-based) assigned to column j; 0: none
    way = np.zeros(m + 1, np.int64)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            free = ~used[1:]
            cur = cost[i0 - 1] - u[i0] - v[1:]
            better = free & (cur < minv[1:])
            minv[1:][better] = cur[better]
            way[1:][better] = j0
            candidates = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(candidates)) + 1
            delta = candidates[j1 - 1]
            u[p[used]] += delta
            v[used] -= delta
            minv[~used] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    col_of = np.full(n, -1, np.int64)
    for j in range(1, m + 1):
        if p[j]:
            col_of[p[j] - 1] = j - 1
    return col_of


def min_cost_assignment(cost: object) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(rows, cols) pairing min(n, m) rows and columns of an n x m cost matrix at the least total
    cost, rows ascending: scipy.optimize.linear_sum_assignment's contract (finite costs)."""
    c = np.asarray(cost, np.float64)
    if c.ndim != 2:
        raise ValueError(f"cost must be a matrix, got shape {c.shape}")
    n, m = c.shape
    if n == 0 or m == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not np.isfinite(c).all():
        raise ValueError("cost must be finite")
    if n <= m:
        return np.arange(n, dtype=np.int64), _solve(c)
    row_of = _solve(c.T)  # the row of each column
    order = np.argsort(row_of)
    return row_of[order], order.astype(np.int64)
