"""tracker.eval.metrics on tiny hand-made inputs: matching, coverage, fragmentation, purity, names."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracker.eval import metrics
from tracker.eval.metrics import FrameFaces, Label, Match


def lab(frame: int, person: str, x: float = 0.0) -> Label:
    return Label(frame, (x, 0.0, x + 10.0, 10.0), person)


def m(person: str, identity: int | None, name: str | None = None, known: bool = False) -> Match:
    return Match(lab(0, person), identity, name, known, 1.0 if identity is not None else 0.0)


def test_iou_matrix() -> None:
    a = [[0, 0, 10, 10], [100, 100, 110, 110]]
    b = [[0, 0, 10, 10], [5, 0, 15, 10], [50, 50, 60, 60]]
    iou = metrics.iou_matrix(a, b)
    assert iou.shape == (2, 3)
    assert iou[0, 0] == pytest.approx(1.0)
    assert iou[0, 1] == pytest.approx(50 / 150)
    assert iou[0, 2] == 0 and np.all(iou[1] == 0)
    assert metrics.iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


def test_assign_boxes_is_one_to_one_and_beats_greedy() -> None:
    # a0 overlaps b0 best (0.67) and b1 (0.54); a1 overlaps only b0 (0.54). Greedy would take a0-b0 and
    # leave a1 alone; the assignment pairs both.
    a = [[0, 0, 10, 10], [5, 0, 15, 10]]
    b = [[2, 0, 12, 10], [-3, 0, 7, 10]]
    pairs = metrics.assign_boxes(a, b)
    assert sorted((i, j) for i, j, _ in pairs) == [(0, 1), (1, 0)]
    assert all(iou >= 0.3 for _, _, iou in pairs)
    assert metrics.assign_boxes([[0, 0, 10, 10]], [[8, 0, 18, 10]]) == []  # IoU 0.11 < 0.3


def test_match_faces() -> None:
    labels = [lab(0, "ann", 0), lab(0, "bob", 50), lab(1, "ann", 0), lab(2, "bob", 50)]
    results = {
        0: FrameFaces(np.array([[51, 0, 61, 10], [1, 0, 11, 10]]), (7, None)),
        1: FrameFaces(np.array([[200, 0, 210, 10]]), (3,)),
        # frame 2: no result at all
    }
    got = metrics.match_faces(labels, results)
    assert [(g.label.frame, g.person, g.identity) for g in got] == [
        (0, "ann", None), (0, "bob", 7), (1, "ann", None), (2, "bob", None)]
    assert got[0].iou > 0.3  # matched, but the face had no identity yet
    assert got[2].iou == 0.0  # nothing overlapped


def test_coverage_fragmentation_purity_perfect() -> None:
    ms = [m("ann", 1), m("ann", 1), m("bob", 2), m("bob", None)]
    assert metrics.coverage(ms) == 0.75
    assert metrics.fragmentation(ms) == (1.0, 1.0)
    assert metrics.purity(ms) == 1.0


def test_fragmentation_mean_and_face_weighted() -> None:
    # ann: 3 faces over 3 identities; bob: 1 face, 1 identity; cid: never identified (left out)
    ms = [m("ann", 1), m("ann", 2), m("ann", 3), m("bob", 4), m("cid", None)]
    mean, weighted = metrics.fragmentation(ms)
    assert mean == 2.0
    assert weighted == pytest.approx((3 * 3 + 1 * 1) / 4)


def test_purity_face_weighted() -> None:
    # identity 1 holds ann x3 and bob x1; identity 2 holds bob x1
    ms = [m("ann", 1), m("ann", 1), m("ann", 1), m("bob", 1), m("bob", 2)]
    assert metrics.purity(ms) == pytest.approx(4 / 5)
    rep = metrics.report(ms)
    assert rep.identities == 2 and rep.persons == 2 and rep.covered == 5
    assert rep.mixed == {"1": {"ann": 3, "bob": 1}}
    assert rep.detail == {"ann": {"1": 3}, "bob": {"1": 1, "2": 1}}


def test_empty_inputs_are_nan() -> None:
    assert math.isnan(metrics.coverage([]))
    assert all(math.isnan(v) for v in metrics.fragmentation([m("ann", None)]))
    assert math.isnan(metrics.purity([]))


def test_named_accuracy_and_wrong_names() -> None:
    ms = [m("ann", 1, "ann", True), m("ann", 2, "bob", True), m("bob", 3, "Person 3", False), m("bob", None)]
    assert metrics.named_accuracy(ms) == 0.25
    assert metrics.wrong_names(ms) == 1  # an automatic name is not a wrong name
    assert metrics.named_accuracy(ms, {"ann": "Ann A.", "bob": "bob"}) == 0.0


def test_labels_from_json_skips_unknown() -> None:
    data = {"faces": [{"frame": 3, "box": [1, 2, 3, 4], "person": "ann"},
                      {"frame": 3, "box": [5, 6, 7, 8], "person": "?"}]}
    assert metrics.labels_from_json(data) == [Label(3, (1.0, 2.0, 3.0, 4.0), "ann")]


def test_frame_faces_checks_lengths() -> None:
    with pytest.raises(ValueError):
        FrameFaces(np.zeros((2, 4)), (1,))
    f = FrameFaces(np.zeros((1, 4)), (None,))
    assert f.names == (None,) and f.known == (False,)
