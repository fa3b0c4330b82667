"""Grouping faces or tracks into people without knowing how many: Chinese whispers over a graph
of close pairs, then cannot-links enforced (two faces of one photo, two tracks seen in one
frame, are two people).

Pure functions over descriptor groups: a group is one track's descriptors (all one person, the
must-link video gives for free) or a single photo face. Never averaged into one vector: the
distance between two groups looks at their nearest samples.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from . import identity


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


def chinese_whispers(dist: NDArray[np.float64], threshold: float, cannot: set[tuple[int, int]]) -> list[int]:
    """Labels from dlib's Chinese whispers over the edges shorter than `threshold` (none between
    cannot-linked items); deterministic (dlib seeds its own generator)."""
    n = len(dist)
    if n == 0:
        return []
    edges: list[tuple[int, int]] = [(i, i) for i in range(n)]  # every item is a node, even alone
    for i in range(n):
        for j in range(i + 1, n):
            if dist[i, j] < threshold and (i, j) not in cannot:
                edges.append((i, j))
    from .models import dlib

    labels = dlib().chinese_whispers(edges)
    return [int(x) for x in labels]


def enforce_cannot_links(labels: Sequence[int], dist: NDArray[np.float64], cannot: set[tuple[int, int]],
                         sizes: Sequence[int], threshold: float) -> list[int]:
    """Split every group holding a cannot-linked pair: its members, largest first, each join the
    closest part they may join (average distance under `threshold`, no cannot-link), or start one."""
    out = list(labels)
    next_label = max(out, default=-1) + 1
    for label in sorted(set(out)):
        members = [i for i, x in enumerate(out) if x == label]
        if not any((min(a, b), max(a, b)) in cannot for k, a in enumerate(members) for b in members[k + 1:]):
            continue
        parts: list[list[int]] = []
        for i in sorted(members, key=lambda m: -sizes[m]):
            best, best_d = None, threshold
            for part in parts:
                if any((min(i, j), max(i, j)) in cannot for j in part):
                    continue
                d = float(np.mean([dist[i, j] for j in part]))
                if d < best_d:
                    best, best_d = part, d
            if best is None:
                parts.append([i])
            else:
                best.append(i)
        for part in parts[1:]:
            for i in part:
                out[i] = next_label
            next_label += 1
    return out


def cluster(groups: Sequence[NDArray[np.floating]], threshold: float,
            cannot: Iterable[tuple[int, int]] = ()) -> list[int]:
    """One label per group, 0.. in order of decreasing total size (the largest person first)."""
    if not groups:
        return []
    pairs = _pairs(cannot)
    dist = distance_matrix(groups)
    sizes = [len(np.asarray(g).reshape(-1, 128)) for g in groups]
    labels = enforce_cannot_links(chinese_whispers(dist, threshold, pairs), dist, pairs, sizes, threshold)
    totals: dict[int, int] = {}
    for lab, size in zip(labels, sizes):
        totals[lab] = totals.get(lab, 0) + size
    order = sorted(totals, key=lambda lab: (-totals[lab], min(i for i, x in enumerate(labels) if x == lab)))
    rank = {lab: r for r, lab in enumerate(order)}
    return [rank[lab] for lab in labels]


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
