from __future__ import annotations

import numpy as np
import pytest

from tracker.identity import policy as identity


def test_distances_are_euclidean() -> None:
    a = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert np.allclose(identity.pairwise_distances(a, a), [[0, 5], [5, 0]])
    assert identity.pairwise_distances(np.zeros((0, 128)), np.zeros((3, 128))).shape == (0, 3)


def test_person_distances_use_inventories_not_centroids() -> None:
    # Two people whose centroids nearly coincide although every pair of samples is > 0.6 apart:
    # averaging would confuse them; distances to the samples themselves do not.
    rng = np.random.default_rng(1)
    axis = np.zeros(128)
    axis[0] = 0.5
    a = np.stack([axis, -axis]) + rng.normal(size=(2, 128)) * 0.002
    b = np.stack([np.roll(axis, 1), -np.roll(axis, 1)]) + rng.normal(size=(2, 128)) * 0.002
    inventory = np.concatenate([a, b])
    labels = np.array([1, 1, 2, 2])
    assert np.linalg.norm(a.mean(0) - b.mean(0)) < 0.6
    pids, per = identity.person_distances((axis + 0.01)[None], inventory, labels, k=1, limit=0.6)
    assert list(pids) == [1] and per[0, 0] < 0.2  # 0.01 in each of 128 dims: 0.11


def test_person_distances_score_only_people_within_the_limit() -> None:
    inv = np.zeros((3, 128))
    far = np.full(128, 0.1)  # distance ~1.13
    assert identity.person_distances(far[None], inv, np.array([1, 1, 1]), 3, 0.6)[0].size == 0
    assert identity.person_distances(far[None], np.zeros((0, 128)), np.zeros(0, np.int64), 3, 0.6)[0].size == 0


def test_inventory_stays_bounded_and_diverse() -> None:
    rng = np.random.default_rng(0)
    inv = np.concatenate([np.zeros((5, 128)) + rng.normal(size=(5, 128)) * 0.001, rng.normal(size=(5, 128))])
    drop = identity.prune_redundant(inv, keep=6)
    assert len(drop) == 4
    assert set(drop.tolist()) <= set(range(5))  # the near-duplicates go first
    protected = np.zeros(10, bool)
    protected[:5] = True
    assert set(identity.prune_redundant(inv, keep=6, protected=protected).tolist()) <= set(range(5, 10))
    assert identity.is_novel(np.ones(128), inv[:5], 0.1)
    assert not identity.is_novel(inv[0], inv[:5], 0.1)


def test_thresholds_tighten_for_small_faces_only() -> None:
    p = identity.Policy(threshold=0.6, auto_join=0.5, small_face=0.2)
    assert identity.for_faces(p, 1.0) == p
    assert identity.for_faces(p, 2.0) == p  # weights are capped at 1
    small = identity.for_faces(p, 0.25)
    assert small.threshold == pytest.approx(0.45) and small.auto_join == pytest.approx(0.35)
    assert small.learn_known == pytest.approx(p.learn_known - 0.15) and small.learn_auto == pytest.approx(0.25)
    assert small.margin == p.margin and small.auto_found == p.auto_found
    assert identity.for_faces(identity.Policy(small_face=0.0), 0.2) == identity.Policy(small_face=0.0)
    # A track of small faces 0.55 from one enrolled person and 0.62 from another is undecided;
    # the same distances from big faces name the first.
    cands = [identity.Candidate(1, 0.55, True), identity.Candidate(2, 0.62, True)]
    assert identity.choose(cands, -1, identity.for_faces(p, 0.4)) is None
    pick = identity.choose(cands, -1, identity.for_faces(p, 1.0))
    assert pick is not None and pick.person_id == 1
