"""Pure functions for identity: distances to per-person inventories, and the policy that decides.

Descriptors are never averaged into one per person: in 128-D the centroids of two
well-separated sets are often closer than the threshold. Every comparison is against the
stored samples themselves, with Euclidean distance. People are scored by distance, never by
counts of neighbours, so a big inventory cannot outvote a closer small one; and one face
decides nothing: a track is scored over its recent samples, and the best match must beat the
second best by a margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from . import knn


def pairwise_distances(a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.float64]:
    """Euclidean distances between the rows of `a` and the rows of `b`, shape (len(a), len(b))."""
    a64 = np.asarray(a, dtype=np.float64).reshape(-1, np.shape(a)[-1] if np.size(a) else 128)
    b64 = np.asarray(b, dtype=np.float64).reshape(-1, np.shape(b)[-1] if np.size(b) else 128)
    if len(a64) == 0 or len(b64) == 0:
        return np.zeros((len(a64), len(b64)))
    sq = (a64**2).sum(1)[:, None] + (b64**2).sum(1)[None, :] - 2.0 * a64 @ b64.T
    return np.sqrt(np.clip(sq, 0.0, None))


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


# ---------------------------------------------------------------------- scoring by distance
def nearest_mean(d: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """Per row of a distance matrix: the mean of its k smallest entries (all of them if fewer)."""
    kk = min(k, d.shape[1])
    return np.asarray(np.partition(d, kk - 1, axis=1)[:, :kk].mean(1), np.float64)


def person_distances(samples: NDArray[np.floating], vectors: NDArray[np.floating], labels: NDArray[np.int64],
                     k: int, limit: float) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Per sample and person: the mean distance to that person's k nearest stored samples.

    Only people with some sample within `limit` of some query are scored. Returns
    (person_ids (P,), distances (len(samples), P)). Indexed per gallery change (tracker/identity/knn.py)."""
    return knn.person_distances(samples, vectors, labels, k, limit)


def sample_weight(face_px: float) -> float:
    """How much one descriptor counts, by the face's width: small faces give noisy descriptors
    (on our labelled footage same-person distances grow from a p90 of 0.43 to 0.55 under 48 px)."""
    return float(np.clip((face_px / FULL_WEIGHT_PX) ** 2, 0.2, 1.0))


FULL_WEIGHT_PX = 48.0


def track_distances(per_sample: NDArray[np.float64],
                    weights: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """A track's distance to each person: the weighted median over its samples (one outlier
    moves nothing; big faces count more than small ones)."""
    if per_sample.size == 0:
        return np.zeros(per_sample.shape[1] if per_sample.ndim == 2 else 0)
    if weights is None:
        return np.asarray(np.median(per_sample, axis=0), np.float64)
    w = np.asarray(weights, np.float64)
    order = np.argsort(per_sample, axis=0)
    cum = np.cumsum(w[order], axis=0)
    idx = (cum >= 0.5 * w.sum()).argmax(axis=0)
    rows = order[idx, np.arange(per_sample.shape[1])]
    return np.asarray(per_sample[rows, np.arange(per_sample.shape[1])], np.float64)


def spread(samples: NDArray[np.floating]) -> float:
    """How much a set of one face's samples varies: the median distance from each to its nearest other."""
    if len(samples) < 3:
        return 0.0
    d = pairwise_distances(samples, samples)
    np.fill_diagonal(d, np.inf)
    return float(np.median(d.min(1)))


def inventory_distance(a: NDArray[np.floating], b: NDArray[np.floating], k: int = 3) -> float:
    """How far two inventories are as wholes: each sample's mean k-nearest distance in the other set,
    the median of those, the larger of both directions. Inf where one is empty."""
    if len(a) == 0 or len(b) == 0:
        return math.inf
    d = pairwise_distances(a, b)
    return max(float(np.median(nearest_mean(d, k))), float(np.median(nearest_mean(d.T, k))))


# ---------------------------------------------------------------------- the policy
@dataclass(frozen=True)
class Policy:
    """The distances and margins that decide; from Config (see README, "Identity")."""

    threshold: float = 0.6  # a track joins a known person under this
    auto_join: float = 0.45  # ... an automatic identity under this (stricter: nobody vouched for it)
    auto_found: float = 0.55  # a track founds a new automatic identity only if nobody is this close
    learn_known: float = 0.45  # a sample joins a known person's inventory under this
    learn_auto: float = 0.4  # ... an automatic identity's
    margin: float = 0.04  # the best match must beat the second best by this much
    sticky: float = 0.03  # the current label wins a close call (no flicker)
    support: float = 0.5  # the person must be the nearest for at least this share of the track's faces
    small_face: float = 0.2  # how much closer a track of the smallest faces must be (for_faces)


def for_faces(policy: Policy, mean_weight: float) -> Policy:
    """The policy for a track whose recent faces have this mean `sample_weight` (or for one face
    of that weight): the match and learning distances tighten as faces get small, by
    `small_face` x (1 - weight): 0 from 48 px up, 0.75 x small_face at 24 px, at most 0.8 x
    small_face (weights stop at 0.2).

    Why: a small face's descriptor is noisy in both directions. Its distance to its own person
    grows (same-person p90 0.43 -> 0.55 under 48 px on our labelled footage), and so does its
    chance of falling near someone else: on the CC BY montage a hiker seen at 23-46 px was 0.53-0.58
    from another enrolled person and 0.56-0.72 from her own photo, and was named as him for 11
    faces. Big faces (weight 1) keep the thresholds as set."""
    shrink = policy.small_face * (1.0 - float(np.clip(mean_weight, 0.0, 1.0)))
    if shrink <= 0.0:
        return policy
    return replace(policy, threshold=policy.threshold - shrink, auto_join=policy.auto_join - shrink,
                   learn_known=policy.learn_known - shrink, learn_auto=policy.learn_auto - shrink)


@dataclass(frozen=True)
class Candidate:
    person_id: int
    distance: float  # the track's distance to this person (median over its samples)
    known: bool
    support: float = 1.0  # share of the track's samples for which this person is the nearest


def support(per_sample: NDArray[np.float64], weights: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Per person, the (weighted) share of samples (rows) for which they are the nearest: a track
    whose faces each point at someone else (a face close to many people) has no one with a majority."""
    if per_sample.size == 0:
        return np.zeros(per_sample.shape[1] if per_sample.ndim == 2 else 0)
    w = np.ones(len(per_sample)) if weights is None else np.asarray(weights, np.float64)
    best = np.argmin(per_sample, axis=1)
    return np.asarray(np.bincount(best, weights=w, minlength=per_sample.shape[1]) / w.sum(), np.float64)


def admissible(c: Candidate, policy: Policy) -> bool:
    """Close enough, and the nearest for most of the track's faces."""
    return c.distance <= (policy.threshold if c.known else policy.auto_join) and c.support >= policy.support


def surely_different(a: Candidate, b: Candidate, links: frozenset[tuple[int, int]]) -> bool:
    """Two enrolled people are different people; so are two with a cannot-link."""
    pair = (a.person_id, b.person_id) if a.person_id < b.person_id else (b.person_id, a.person_id)
    return (a.known and b.known) or pair in links


def choose(candidates: list[Candidate], current: int, policy: Policy,
           links: frozenset[tuple[int, int]] = frozenset()) -> Candidate | None:
    """The person a track is, from its distances to people (the excluded ones already left out).

    None: nobody is close enough, or two people who are surely different are too close to
    call (then the current label stays if it is one of them). A close automatic identity
    that may be the same person as a known one yields to the known one.
    """
    ranked = sorted(candidates, key=lambda c: c.distance)
    ok = [c for c in ranked if admissible(c, policy)]
    if not ok:
        return None
    best = ok[0]
    held = next((c for c in ok if c.person_id == current), None)
    if held is not None and held.distance <= best.distance + policy.sticky:
        best = held
    rivals = [c for c in ranked if c is not best and c.distance < best.distance + policy.margin]
    if any(surely_different(best, r, links) for r in rivals):
        # Too close to call: the current label stays if it is in the running, else undecided.
        running = {best.person_id, *(r.person_id for r in rivals)}
        return held if held is not None and held.person_id in running else None
    if not best.known:
        known = [r for r in rivals if r.known and admissible(r, policy)]
        if known:
            return known[0]
    return best


def may_found(candidates: list[Candidate], n_samples: int, min_samples: int, policy: Policy) -> bool:
    """A new automatic identity: enough samples, no known person within the threshold and no
    automatic identity within `auto_found` (in between, the track waits undecided)."""
    return n_samples >= min_samples and all(
        c.distance > (max(policy.threshold, policy.auto_found) if c.known else policy.auto_found) for c in candidates)


def may_learn(own: float, others: NDArray[np.float64], known: bool, policy: Policy) -> bool:
    """A sample joins its person's inventory only if close, and clearly closer than to anyone else."""
    limit = policy.learn_known if known else policy.learn_auto
    return own <= limit and bool(np.all(others >= own + policy.margin))


def one_person_per_face(person_ids: list[int], costs: list[float]) -> list[int]:
    """Repair: where two faces hold one person, the one with the lower cost keeps it; the others
    get -1. Returns the repaired list (unchanged when already consistent)."""
    out = list(person_ids)
    holder: dict[int, int] = {}
    for i in sorted(range(len(out)), key=lambda i: (costs[i], i)):
        pid = out[i]
        if pid < 0:
            continue
        if pid in holder:
            out[i] = -1
        else:
            holder[pid] = i
    return out


# ---------------------------------------------------------------------- a frame's faces at once
UNDECIDED = 10.0  # a face left undecided costs more than any name: as many faces as can be are named


@dataclass(frozen=True)
class FaceChoice:
    """One face (track) of a frame, for `assign_faces`: its candidates (those it cannot be already
    left out), its current label and its policy."""

    candidates: tuple[Candidate, ...]
    current: int = -1
    policy: Policy = Policy()


def _options(face: FaceChoice) -> dict[int, float]:
    """The people a face may be given, with their costs: the admissible ones, its current label
    a little cheaper (`sticky`), so that it wins a close call."""
    ranked = sorted(face.candidates, key=lambda c: c.distance)  # ties: the earlier candidate, as `choose`
    return {c.person_id: c.distance - (face.policy.sticky + 1e-9 if c.person_id == face.current else 0.0) + 1e-12 * r
            for r, c in enumerate(ranked) if admissible(c, face.policy)}


def _best_assignment(options: list[dict[int, float]]) -> tuple[list[int], float]:
    """The people (or -1) of the faces at the least total cost, one person per face at most."""
    from ..assignment import min_cost_assignment

    people = sorted({p for o in options for p in o})
    col = {p: j for j, p in enumerate(people)}
    n = len(options)
    cost = np.full((n, len(people) + n), np.inf)
    for i, o in enumerate(options):
        for p, c in o.items():
            cost[i, col[p]] = c
        cost[i, len(people) + i] = UNDECIDED  # this face's own "undecided"
    rows, cols = min_cost_assignment(np.where(np.isfinite(cost), cost, 1e9))
    out = [-1] * n
    total = 0.0
    for i, j in zip(rows.tolist(), cols.tolist()):
        total += float(cost[i, j])
        if j < len(people):
            out[i] = people[j]
    return out, total


def assign_faces(faces: list[FaceChoice], links: frozenset[tuple[int, int]] = frozenset()) -> list[Candidate | None]:
    """The person of every face of one frame, decided together: the assignment of faces to
    people (undecided allowed) at the least total distance, so that a face too close to call
    between A and B is B when another face of the frame is surely A. Then, per face, `choose`'s
    rules, with the margin applied to the assignment:
    - never a person the face's own rule calls wrong (only admissible ones, or its current label);
    - too close to call: a rival surely different from the face's person is within the margin
      and not given to another face of the frame, or the best assignment in which this face is
      another person, surely different, costs less than the margin more (two faces that could
      swap their people); then the face keeps its current label if that is in the running,
      else is undecided;
    - a close automatic identity yields to an admissible known person that no other face holds.
    One person is never given to two faces. For a face alone this is exactly `choose`."""
    options = [_options(f) for f in faces]
    chosen, total = _best_assignment(options)
    out: list[Candidate | None] = []
    given = {p: i for i, p in enumerate(chosen) if p >= 0}
    for i, (face, pid) in enumerate(zip(faces, chosen)):
        if pid < 0:
            out.append(None)
            continue
        best = next(c for c in face.candidates if c.person_id == pid)
        rivals = [c for c in face.candidates if c.person_id != pid and c.distance < best.distance + face.policy.margin]
        free = [r for r in rivals if given.get(r.person_id, i) == i]  # not another face's in this frame
        held = next((c for c in [best, *free] if c.person_id == face.current and admissible(c, face.policy)), None)
        close = any(surely_different(best, r, links) for r in free)
        if not close and len(faces) > 1:
            others = [dict(o) for o in options]
            others[i] = {p: c for p, c in options[i].items() if p != pid and surely_different(
                best, next(x for x in face.candidates if x.person_id == p), links)}
            alt_chosen, alt = _best_assignment(others)
            # Only another person counts as an alternative: which of two faces is A when only
            # one can be is not this face's doubt (the closer one is; the other waits).
            close = alt_chosen[i] >= 0 and alt - total < face.policy.margin
        if close:
            out.append(held)
            continue
        if not best.known:
            known = [r for r in free if r.known and admissible(r, face.policy) and r.person_id not in given]
            if known:
                out.append(min(known, key=lambda c: c.distance))
                continue
        out.append(best)
    # The known-yields step may have given one person twice: the closer keeps it.
    fixed = one_person_per_face([c.person_id if c is not None else -1 for c in out],
                                [c.distance if c is not None else 0.0 for c in out])
    return [c if c is not None and p >= 0 else None for c, p in zip(out, fixed)]
