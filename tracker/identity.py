"""Pure functions for identity: k-NN over per-person inventories, votes, one person per face.

Descriptors are never averaged into one per person: in 128-D the centroids of two
well-separated sets are often closer than the threshold. Every comparison is against the
stored samples themselves, with Euclidean distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

UNKNOWN = -1  # the vote for "nobody in the gallery"


def pairwise_distances(a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.float64]:
    """Euclidean distances between the rows of `a` and the rows of `b`, shape (len(a), len(b))."""
    a64 = np.asarray(a, dtype=np.float64).reshape(-1, np.shape(a)[-1] if np.size(a) else 128)
    b64 = np.asarray(b, dtype=np.float64).reshape(-1, np.shape(b)[-1] if np.size(b) else 128)
    if len(a64) == 0 or len(b64) == 0:
        return np.zeros((len(a64), len(b64)))
    sq = (a64**2).sum(1)[:, None] + (b64**2).sum(1)[None, :] - 2.0 * a64 @ b64.T
    return np.sqrt(np.clip(sq, 0.0, None))


@dataclass(frozen=True)
class Vote:
    """What one descriptor says: weights per person (summing to 1) and each one's nearest distance."""

    person_ids: NDArray[np.int64]
    weights: NDArray[np.float64]
    distances: NDArray[np.float64]

    @property
    def is_unknown(self) -> bool:
        return len(self.person_ids) == 0

    def best(self) -> tuple[int, float] | None:
        if self.is_unknown:
            return None
        i = int(np.argmax(self.weights))
        return int(self.person_ids[i]), float(self.distances[i])


def knn_vote(
    query: NDArray[np.floating],
    inventory: NDArray[np.floating],
    labels: NDArray[np.int64],
    k: int,
    threshold: float,
    exclude: frozenset[int] = frozenset(),
) -> Vote:
    """Distance-weighted k-NN among samples within `threshold`; no neighbour within it is unknown."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return Vote(np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    d = pairwise_distances(np.asarray(query).reshape(1, -1), inventory)[0]
    if exclude:
        d = np.where(np.isin(labels, list(exclude)), np.inf, d)
    order = np.argsort(d, kind="stable")[:k]
    order = order[d[order] < threshold]
    if len(order) == 0:
        return Vote(np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    # A margin weight: a neighbour at the threshold counts for nothing, an identical one fully.
    w = (threshold - d[order]) / threshold
    people, inverse = np.unique(labels[order], return_inverse=True)
    weights: NDArray[np.float64] = np.bincount(inverse, weights=w, minlength=len(people)).astype(np.float64)
    nearest = np.full(len(people), np.inf)
    np.minimum.at(nearest, inverse, d[order])
    total = weights.sum()
    weights = weights / total if total > 0 else np.full(len(people), 1.0 / len(people))
    return Vote(people.astype(np.int64), weights, nearest)


def assign_people(evidence: NDArray[np.float64], min_evidence: float = 1e-9) -> NDArray[np.int64]:
    """One person per track, maximising total evidence; evidence is (tracks, people).

    Returns, per track, the column it gets or -1. Two tracks in one frame never share a person.
    """
    n_tracks, n_people = evidence.shape
    result = np.full(n_tracks, -1, dtype=np.int64)
    if n_tracks == 0 or n_people == 0:
        return result
    rows, cols = linear_sum_assignment(-evidence)
    for r, c in zip(rows, cols):
        if evidence[r, c] > min_evidence:
            result[r] = c
    return result


def is_novel(sample: NDArray[np.floating], inventory: NDArray[np.floating], diversity: float) -> bool:
    """A sample worth keeping: at least `diversity` from every stored sample of that person."""
    if len(inventory) == 0:
        return True
    return bool(pairwise_distances(np.asarray(sample).reshape(1, -1), inventory).min() >= diversity)


def prune_redundant(inventory: NDArray[np.floating], keep: int,
                    protected: NDArray[np.bool_] | None = None) -> NDArray[np.int64]:
    """Indices of the samples to drop so that `keep` remain, most redundant first.

    The most redundant sample is the one closest to another: dropping it loses the least
    coverage of the person's appearance. Protected samples (enrolled photos) are never dropped.
    """
    n = len(inventory)
    if n <= keep:
        return np.zeros(0, dtype=np.int64)
    prot = np.zeros(n, bool) if protected is None else np.asarray(protected, bool)
    d = pairwise_distances(inventory, inventory)
    np.fill_diagonal(d, np.inf)
    alive = np.ones(n, bool)
    dropped: list[int] = []
    while alive.sum() > keep:
        nearest = np.where(alive[None, :], d, np.inf).min(1)
        nearest[~alive | prot] = np.inf
        if not np.isfinite(nearest).any():
            break
        victim = int(np.argmin(nearest))
        alive[victim] = False
        dropped.append(victim)
    return np.asarray(dropped, dtype=np.int64)
