"""The tracker's Hungarian solver agrees with scipy's on random and tied matrices."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from tracker.assignment import min_cost_assignment


@settings(max_examples=300, deadline=None)
@given(n=st.integers(0, 9), m=st.integers(0, 9), seed=st.integers(0, 2**31), ties=st.booleans())
def test_same_total_cost_as_scipy(n: int, m: int, seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    cost = rng.integers(0, 3, (n, m)).astype(float) if ties else rng.normal(size=(n, m))
    rows, cols = min_cost_assignment(cost)
    ref_rows, ref_cols = linear_sum_assignment(cost)
    assert len(rows) == len(ref_rows) == min(n, m)
    assert list(rows) == sorted(rows) and len(set(cols.tolist())) == len(cols)
    assert np.isclose(cost[rows, cols].sum(), cost[ref_rows, ref_cols].sum())


def test_matches_boxes_by_iou_as_the_tracker_uses_it() -> None:
    iou = np.array([[0.9, 0.1, 0.0], [0.2, 0.0, 0.7]])
    rows, cols = min_cost_assignment(-iou)
    assert rows.tolist() == [0, 1] and cols.tolist() == [0, 2]
    rows, cols = min_cost_assignment(-iou.T)
    assert rows.tolist() == [0, 2] and cols.tolist() == [0, 1]
