"""k-NN over per-person inventories, fast on large galleries.

A person's distance to a query is the mean of the query's distances to that person's k nearest
stored samples (identity.person_distances). Computed naively, each query converted the whole
gallery to float64, recomputed its norms, and scanned every stored sample once per person
(O(people x samples)): 50 ms at 48,000 descriptors. Here the gallery is indexed once per change
(float32 vectors, their squared norms, and each person's sample columns in a padded table), so
a query costs one matrix product and one partial sort per person row, all vectorised.

This module's index is cached per pair of arrays (their identity), so give it arrays that do
not change afterwards (a copy of a gallery's, or the clustering's own). A Gallery's arrays are
live views changed in place: the gallery answers its own queries from the index it keeps in
step with every change (tracker/gallery/descriptor_table.py, built on nearest_per_person below).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Inventories:
    vectors: NDArray[np.float32]  # (N, D), C-contiguous
    sq: NDArray[np.float32]  # (N,) squared norms
    people: NDArray[np.int64]  # (P,) person ids, sorted
    slots: NDArray[np.int64]  # (P, M) each person's sample columns, padded with N (an inf column)
    order: NDArray[np.int64]  # sample columns sorted by person...
    starts: NDArray[np.int64]  # ...where each person's run begins in `order`...
    counts: NDArray[np.int64]  # ...and how long it is
    source: tuple[object, object]  # the arrays indexed (kept alive, so that ids are never reused)


PAD_LIMIT = 4  # the padded table may be at most this many times the gallery

_cache: Inventories | None = None
_lock = threading.Lock()


def inventories(vectors: NDArray[np.floating], labels: NDArray[np.int64]) -> Inventories:
    """The index of a gallery's (vectors, labels), built once per pair of arrays."""
    global _cache
    with _lock:
        c = _cache
        if c is not None and c.source[0] is vectors and c.source[1] is labels:
            return c
        v = np.ascontiguousarray(vectors, dtype=np.float32)
        lab = np.asarray(labels, np.int64)
        order = np.argsort(lab, kind="stable")
        people, starts, counts = np.unique(lab[order], return_index=True, return_counts=True)
        width = int(counts.max()) if len(counts) else 0
        if len(people) * width > PAD_LIMIT * len(v) + 1024:
            width = 0  # a few huge inventories (many enrolled photos): per-person runs instead
        slots = np.full((len(people), width), len(v), np.int64)
        if len(people) and width:
            rank = np.arange(len(order)) - np.repeat(starts, counts)  # position within its person
            slots[np.repeat(np.arange(len(people)), counts), rank] = order
        c = Inventories(v, np.einsum("ij,ij->i", v, v), people.astype(np.int64), slots, order,
                        starts.astype(np.int64), counts.astype(np.int64), (vectors, labels))
        _cache = c
        return c


def person_distances(samples: NDArray[np.floating], vectors: NDArray[np.floating], labels: NDArray[np.int64],
                     k: int, limit: float) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Per sample and person: the mean distance to that person's k nearest stored samples.

    Only people with some sample within `limit` of some query are scored. Returns
    (person_ids (P,), distances (len(samples), P)), people in increasing id order."""
    q = np.asarray(samples, np.float32).reshape(-1, np.shape(samples)[-1] if np.size(samples) else 128)
    if len(q) == 0 or len(labels) == 0:
        return np.zeros(0, np.int64), np.zeros((len(q), 0))
    inv = inventories(vectors, labels)
    d2 = (q * q).sum(1)[:, None] + inv.sq[None, :] - 2.0 * (q @ inv.vectors.T)
    d = np.sqrt(np.clip(d2, 0.0, None, out=d2), out=d2)
    if inv.slots.shape[1] == 0:
        return _by_runs(d, inv, k, limit)
    d = np.concatenate([d, np.full((len(q), 1), np.inf, d.dtype)], axis=1)  # the padding column
    return nearest_per_person(d, inv.people, inv.slots, inv.counts, k, limit)


def nearest_per_person(d: NDArray[np.float32], people: NDArray[np.int64], slots: NDArray[np.int64],
                       counts: NDArray[np.int64], k: int, limit: float,
                       per: NDArray[np.float32] | None = None) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """From query-to-sample distances `d` (S, N+1; the last column inf) and each person's sample
    columns (`slots`, padded with an index of that inf column): the people with a sample within
    `limit`, and per query the mean of each one's k nearest. `per`: d[:, slots], if at hand."""
    if per is None:
        per = d[:, slots]  # (S, P, M): each person's samples, inf past their count
    near = per.min(axis=(0, 2)) < limit
    per = per[:, near]
    kk = min(k, per.shape[2]) if per.size else 0
    if kk == 0:
        return np.zeros(0, np.int64), np.zeros((len(d), 0))
    nearest = np.partition(per, kk - 1, axis=2)[:, :, :kk]
    # People with fewer than k samples average over all of theirs (the inf padding left out).
    finite = np.where(np.isfinite(nearest), nearest, 0.0).sum(2, dtype=np.float64)
    out = finite / np.minimum(counts[near], kk)[None, :]
    return people[near], np.asarray(out, np.float64)


def _by_runs(d: NDArray[np.float32], inv: Inventories, k: int, limit: float
             ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The same, one person at a time over their run of columns (no padded table)."""
    ds = d[:, inv.order]
    mins = np.minimum.reduceat(ds, inv.starts, axis=1).min(0)
    near = np.nonzero(mins < limit)[0]
    out = np.zeros((len(d), len(near)))
    for j, p in enumerate(near):
        run = ds[:, inv.starts[p]:inv.starts[p] + inv.counts[p]]
        kk = min(k, run.shape[1])
        out[:, j] = np.partition(run, kk - 1, axis=1)[:, :kk].mean(1, dtype=np.float64)
    return inv.people[near], out
