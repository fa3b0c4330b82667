from __future__ import annotations

import numpy as np

from tracker import identity


def test_distances_are_euclidean() -> None:
    a = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert np.allclose(identity.pairwise_distances(a, a), [[0, 5], [5, 0]])
    assert identity.pairwise_distances(np.zeros((0, 128)), np.zeros((3, 128))).shape == (0, 3)


def test_knn_vote_uses_inventories_not_centroids() -> None:
    # Two people whose centroids nearly coincide although every pair of samples is > 0.6 apart:
    # averaging would confuse them; k-NN over the samples does not.
    rng = np.random.default_rng(1)
    axis = np.zeros(128)
    axis[0] = 0.5
    a = np.stack([axis, -axis]) + rng.normal(size=(2, 128)) * 0.002
    b = np.stack([np.roll(axis, 1), -np.roll(axis, 1)]) + rng.normal(size=(2, 128)) * 0.002
    inventory = np.concatenate([a, b])
    labels = np.array([1, 1, 2, 2])
    assert np.linalg.norm(a.mean(0) - b.mean(0)) < 0.6
    vote = identity.knn_vote(axis + 0.01, inventory, labels, k=3, threshold=0.6)
    assert vote.best() is not None and vote.best()[0] == 1


def test_knn_vote_unknown_beyond_threshold_and_empty() -> None:
    inv = np.zeros((3, 128))
    far = np.full(128, 0.1)  # distance ~1.13
    assert identity.knn_vote(far, inv, np.array([1, 1, 1]), 3, 0.6).is_unknown
    assert identity.knn_vote(far, np.zeros((0, 128)), np.zeros(0, np.int64), 3, 0.6).is_unknown


def test_knn_vote_weights_sum_to_one_and_exclude() -> None:
    inv = np.zeros((4, 128))
    inv[2:, 0] = 0.3
    v = identity.knn_vote(np.zeros(128), inv, np.array([1, 1, 2, 2]), 4, 0.6)
    assert np.isclose(v.weights.sum(), 1.0) and v.best()[0] == 1  # type: ignore[index]
    v2 = identity.knn_vote(np.zeros(128), inv, np.array([1, 1, 2, 2]), 4, 0.6, exclude=frozenset({1}))
    assert list(v2.person_ids) == [2]


def test_assign_people_is_one_to_one() -> None:
    evidence = np.array([[3.0, 1.0], [2.9, 0.0], [0.0, 0.0]])
    choice = identity.assign_people(evidence)
    assert list(choice) == [0, -1, -1] or list(choice) == [1, 0, -1]
    assigned = [c for c in choice if c >= 0]
    assert len(assigned) == len(set(assigned))
    assert identity.assign_people(np.zeros((0, 2))).shape == (0,)


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
