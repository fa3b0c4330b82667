"""Grouping faces or tracks into people without knowing how many: agglomerative clustering with
hard cannot-links (two faces of one photo, two tracks seen in one frame, are two people), which
no merge may break.

Why not Chinese whispers (dlib's): label propagation cannot respect a cannot-link while it runs,
and splitting a group afterwards is too late once three people have been chained into one (two
brothers are as close as one brother to himself). On the labelled montage both give the same
partition at the default distance; average linkage keeps purity 0.81 where Chinese whispers
drops to 0.73 at 0.6.

Pure functions over descriptor groups: a group is one track's descriptors (all one person, the
must-link video gives for free) or a single photo face. Never averaged into one vector: the
distance between two groups looks at their nearest samples.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from . import policy as identity


def group_distance(a: NDArray[np.floating], b: NDArray[np.floating]) -> float:
    """How far apart two groups are: for each sample, the distance to the other group's nearest
    one; the median of those per side, averaged over both sides. One odd sample (a turned head)
    neither joins two people nor keeps one person apart."""
    a = np.asarray(a, np.float32).reshape(-1, 128)
    b = np.asarray(b, np.float32).reshape(-1, 128)
    d = np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0.0))
    return float((np.median(d.min(1)) + np.median(d.min(0))) / 2.0)


def distance_matrix(groups: Sequence[NDArray[np.floating]]) -> NDArray[np.float64]:
    n = len(groups)
    out = np.zeros((n, n), np.float64)
    for i in range(n):
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = group_distance(groups[i], groups[j])
    return out


def _pairs(cannot: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for a, b in cannot if a != b}


CLUSTER_SAMPLES = 12  # faces per group the linkage looks at (spread over the group): bounds memory


def _grouped_median(values: NDArray[np.float64], owner: NDArray[np.int64], n: int) -> NDArray[np.float64]:
    """Per owner 0..n-1, the median of its values (inf for an owner with none)."""
    order = np.lexsort((values, owner))
    v, o = values[order], owner[order]
    counts = np.bincount(o, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = np.full(n, np.inf)
    has = counts > 0
    lo, hi = starts[has] + (counts[has] - 1) // 2, starts[has] + counts[has] // 2
    out[has] = (v[lo] + v[hi]) / 2.0
    return out


def constrained_linkage(groups: Sequence[NDArray[np.floating]], threshold: float,
                        cannot: Iterable[tuple[int, int]] = ()) -> list[int]:
    """Agglomerative clustering with hard cannot-links: the two closest clusters merge while
    they are closer than `threshold`; two clusters with a cannot-link between any of their
    members never merge, and a merged cluster keeps all of its members' cannot-links.

    Linkage: group_distance over the clusters' faces (for each face, the distance to the other
    cluster's nearest face; the median per side, averaged). One odd face (a turned head) neither
    joins two people nor keeps one apart; a person's photos that vary (light, age) join through
    their nearest faces, as in dlib's clustering example; and a chain of look-alikes does not
    make one person as it does under label propagation, since half of a cluster being close is
    not its median. Deterministic, and the same partition whatever the order of the groups
    (ties aside). Returns a label per group (the index of one of its cluster's groups)."""
    k = len(groups)
    if k == 0:
        return []
    parts = []
    for g in groups:
        g = np.asarray(g, np.float32).reshape(-1, 128)
        if len(g) > CLUSTER_SAMPLES:
            g = g[np.linspace(0, len(g) - 1, CLUSTER_SAMPLES).round().astype(int)]
        parts.append(g)
    x = np.concatenate(parts).astype(np.float64)
    owner = np.repeat(np.arange(k), [len(g) for g in parts])
    starts = np.concatenate([[0], np.cumsum([len(g) for g in parts])[:-1]])
    # nn[s, c]: face s's distance to cluster c's nearest face (its own cluster: inf).
    nn = np.empty((len(x), k))
    sq = (x**2).sum(1)
    for a in range(0, len(x), 1024):
        d = np.sqrt(np.maximum(sq[a:a + 1024, None] + sq[None, :] - 2.0 * x[a:a + 1024] @ x.T, 0.0))
        nn[a:a + 1024] = np.minimum.reduceat(d, starts, axis=1)
    nn[np.arange(len(x)), owner] = np.inf
    med = np.stack([_grouped_median(nn[:, c], owner, k) for c in range(k)], axis=1)  # med[a, c]
    link = (med + med.T) / 2.0
    np.fill_diagonal(link, np.inf)
    blocked = np.zeros((k, k), bool)
    for a, b in _pairs(cannot):
        blocked[a, b] = blocked[b, a] = True
    link[blocked] = np.inf
    alive = np.ones(k, bool)
    near = link.argmin(1)
    near_d = link[np.arange(k), near]
    while True:
        i = int(np.argmin(np.where(alive, near_d, np.inf)))
        if not near_d[i] < threshold:
            break
        j = int(near[i])
        i, j = min(i, j), max(i, j)  # the lower index survives: order-free up to relabelling
        owner[owner == j] = i
        nn[:, i] = np.minimum(nn[:, i], nn[:, j])
        nn[:, j] = np.inf
        nn[owner == i, i] = np.inf
        blocked[i] |= blocked[j]
        blocked[:, i] = blocked[i]
        alive[j] = False
        rows = owner == i
        side_i = np.median(nn[rows], axis=0)  # the new cluster's faces to each other cluster
        side_k = _grouped_median(nn[:, i], owner, k)  # each cluster's faces to the new one
        row = (side_i + side_k) / 2.0
        row[~alive | blocked[i]] = np.inf
        row[i] = np.inf
        link[i], link[:, i] = row, row
        link[j], link[:, j] = np.inf, np.inf
        near_d[j] = np.inf
        for c in np.flatnonzero(alive):
            if c == i or near[c] in (i, j):
                near[c] = int(np.argmin(link[c]))
                near_d[c] = link[c, near[c]]
            elif link[c, i] < near_d[c]:
                near[c], near_d[c] = i, link[c, i]
    first = {int(c): int(c) for c in np.unique(owner[starts])}
    return [first[int(owner[starts[g]])] for g in range(k)]


def cluster(groups: Sequence[NDArray[np.floating]], threshold: float,
            cannot: Iterable[tuple[int, int]] = ()) -> list[int]:
    """One label per group, 0.. in order of decreasing total size (the largest person first)."""
    if not groups:
        return []
    sizes = [len(np.asarray(g).reshape(-1, 128)) for g in groups]
    labels = constrained_linkage(groups, threshold, cannot)
    totals: dict[int, int] = {}
    for lab, size in zip(labels, sizes):
        totals[lab] = totals.get(lab, 0) + size
    order = sorted(totals, key=lambda lab: (-totals[lab], min(i for i, x in enumerate(labels) if x == lab)))
    rank = {lab: r for r, lab in enumerate(order)}
    return [rank[lab] for lab in labels]


COLLAGE_GAP = 0.15  # how much closer than to the image's other faces two faces of one person are


def one_image_links(dist: NDArray[np.float64], threshold: float) -> list[tuple[int, int]]:
    """The cannot-links among the faces of one image (indices into `dist`, that image's faces).

    In a photo of several people each face is someone else, so every pair is kept apart. A
    collage or contact sheet (several photos of each of several people tiled in one image, like
    dlib's bald_guys.jpg) breaks that: it is recognised by a person seen three times, three
    faces each "alike" to the other two, where alike means closer than `threshold` and at least
    COLLAGE_GAP closer than either face is (by median) to the image's other faces. Then the image
    is a set of photos, and its faces are grouped by distance alone, as separate photos are.
    Two look-alikes in a group photo (siblings) make a pair, never a triangle, so a real group
    photo keeps every face apart."""
    n = len(dist)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    if n < 3:
        return pairs
    d = np.array(dist, np.float64, copy=True)
    np.fill_diagonal(d, np.nan)
    typical = np.nanmedian(d, axis=1)  # each face's median distance to the image's other faces
    alike = (d < threshold) & (d + COLLAGE_GAP <= np.minimum(typical[:, None], typical[None, :]))
    np.fill_diagonal(alike, False)
    a = alike.astype(np.int64)
    if ((a @ a) * a).any():  # i~j, j~k and i~k: someone seen three times, a collage
        return []
    return pairs


def match_people(descriptors: NDArray[np.floating], vectors: NDArray[np.float32], labels: NDArray[np.int64],
                 known: dict[int, bool], threshold: float, auto_threshold: float, margin: float,
                 knn: int) -> tuple[int, float]:
    """The gallery person a group of descriptors is: per person, the median over the group of the
    mean distance to their k nearest stored samples (inventories, never averaged); the best must
    be under `threshold` (`auto_threshold` for an automatic identity) and beat the next best by
    `margin`. (-1, distance) when nobody qualifies."""
    q = np.asarray(descriptors, np.float32).reshape(-1, 128)
    if len(vectors) == 0 or len(q) == 0:
        return -1, float("nan")
    pids, d = identity.person_distances(q, vectors, labels, knn, threshold + margin)
    if len(pids) == 0:
        return -1, float("nan")
    per = np.median(d, axis=0)
    order = np.argsort(per)
    pid, best = int(pids[order[0]]), float(per[order[0]])
    second = float(per[order[1]]) if len(order) > 1 else float("inf")
    limit = threshold if known.get(pid, False) else auto_threshold
    if best >= limit or second - best < margin:
        return -1, best
    return pid, best
