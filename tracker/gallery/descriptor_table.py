"""The gallery's descriptors in memory, and the k-NN index over them, changed in place.

A live camera learns a sample every few seconds and, at the inventory bound, drops one. With
every stored descriptor in one array, each of those changes copied the whole gallery (and the
k-NN index was rebuilt from scratch at the next query): about 50 MB and tens of milliseconds
per learned face at 2,000 people. Here the columns live in buffers with spare room (appends
are amortised O(1)), a deletion moves the last row into the gap (O(1); the order of stored
samples means nothing to k-NN), and the index (each person's sample columns in a padded
table, squared norms) is updated for just the rows that changed.

Queries give exactly what knn.person_distances gives for the same vectors and labels.

The arrays `vectors`, `labels`, `ids` and `origins` are views of the live buffers: read them
on the thread that changes the gallery (the engine's) or under the gallery's lock, and copy
what must outlive the next change.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from ..identity import knn
from ..records import DESCRIPTOR_SIZE

PAD = -1  # an empty slot: indexes the query's extra column, which is inf


class DescriptorTable:
    def __init__(self) -> None:
        self.n = 0
        self._vec = np.zeros((0, DESCRIPTOR_SIZE), np.float32)
        self._sq = np.zeros(0, np.float32)
        self._lab = np.zeros(0, np.int64)
        self._ids = np.zeros(0, np.int64)
        self._org = np.zeros(0, np.int8)
        self._pos = np.zeros(0, np.int64)  # column -> its place in its person's row of `_slots`
        self._row: dict[int, int] = {}  # person id -> row of `_slots`
        self._people = np.zeros(0, np.int64)  # row -> person id
        self._count = np.zeros(0, np.int64)  # row -> samples
        self._slots = np.full((0, 0), PAD, np.int64)  # row -> its columns, padded
        self.version = 0
        self._dbuf = np.zeros((0, 0), np.float32)  # query buffers (person_distances)
        self._gbuf = np.zeros(0, np.float32)
        self._views: tuple[int, tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.int64],
                                      NDArray[np.int8]]] | None = None

    # ---------------------------------------------------------------- reads
    def _current(self) -> tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.int64], NDArray[np.int8]]:
        # One view object per version: callers that key caches on array identity (knn's array
        # API) see the same arrays until something changes.
        if self._views is None or self._views[0] != self.version:
            n = self.n
            self._views = (self.version, (self._vec[:n], self._lab[:n], self._ids[:n], self._org[:n]))
        return self._views[1]

    @property
    def vectors(self) -> NDArray[np.float32]:
        return self._current()[0]

    @property
    def labels(self) -> NDArray[np.int64]:
        return self._current()[1]

    @property
    def ids(self) -> NDArray[np.int64]:
        return self._current()[2]

    @property
    def origins(self) -> NDArray[np.int8]:
        return self._current()[3]

    def columns(self, person_id: int) -> NDArray[np.int64]:
        """The table rows holding `person_id`'s samples, in no particular order."""
        r = self._row.get(person_id)
        if r is None:
            return np.zeros(0, np.int64)
        return self._slots[r, :self._count[r]].copy()

    def count(self, person_id: int) -> int:
        r = self._row.get(person_id)
        return 0 if r is None else int(self._count[r])

    def rows_of_ids(self, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        return np.flatnonzero(np.isin(self._ids[:self.n], ids))

    # ---------------------------------------------------------------- changes
    def load(self, vectors: NDArray[np.float32], labels: NDArray[np.int64], ids: NDArray[np.int64],
             origins: NDArray[np.int8]) -> None:
        """Everything at once (a gallery read from its file)."""
        n = len(labels)
        cap = max(64, n + n // 4)
        self._vec = np.zeros((cap, DESCRIPTOR_SIZE), np.float32)
        self._vec[:n] = vectors
        self._sq = np.zeros(cap, np.float32)
        self._sq[:n] = np.einsum("ij,ij->i", self._vec[:n], self._vec[:n])
        self._lab, self._ids, self._org = (np.zeros(cap, np.int64), np.zeros(cap, np.int64), np.zeros(cap, np.int8))
        self._lab[:n], self._ids[:n], self._org[:n] = labels, ids, origins
        self._pos = np.zeros(cap, np.int64)
        self.n = n
        order = np.argsort(self._lab[:n], kind="stable")
        people, starts, counts = np.unique(self._lab[:n][order], return_index=True, return_counts=True)
        width = max(8, int(counts.max()) if len(counts) else 0)
        self._people = np.zeros(max(16, len(people)), np.int64)
        self._people[:len(people)] = people
        self._count = np.zeros(len(self._people), np.int64)
        self._count[:len(people)] = counts
        self._slots = np.full((len(self._people), width), PAD, np.int64)
        if len(people):
            rank = np.arange(n) - np.repeat(starts, counts)
            rows = np.repeat(np.arange(len(people)), counts)
            self._slots[rows, rank] = order
            self._pos[order] = rank
        self._row = {int(p): i for i, p in enumerate(people)}
        self.version += 1

    def append(self, vectors: NDArray[np.float32], labels: int | NDArray[np.int64],
               ids: Sequence[int] | NDArray[np.int64], origins: int | NDArray[np.int8]) -> None:
        """New rows; `labels` and `origins` one for all of them, or one per row."""
        k = len(vectors)
        if self.n + k > len(self._lab):
            self._grow(self.n + k)
        at = np.arange(self.n, self.n + k)
        self._vec[at] = vectors
        self._sq[at] = np.einsum("ij,ij->i", self._vec[at], self._vec[at])
        self._lab[at], self._ids[at], self._org[at] = labels, ids, origins
        self.n += k
        for col in at:
            self._slot_add(int(col), int(self._lab[col]))
        self.version += 1

    def delete_rows(self, rows: NDArray[np.int64]) -> None:
        """Drop these rows; the last rows move into the gaps."""
        for col in sorted((int(r) for r in rows), reverse=True):
            self._slot_remove(col, int(self._lab[col]))
            last = self.n - 1
            if col != last:
                self._vec[col], self._sq[col] = self._vec[last], self._sq[last]
                self._lab[col], self._ids[col], self._org[col] = self._lab[last], self._ids[last], self._org[last]
                r = self._row[int(self._lab[last])]
                self._slots[r, self._pos[last]] = col
                self._pos[col] = self._pos[last]
            self.n = last
        self.version += 1

    def relabel(self, rows: NDArray[np.int64], person_id: int) -> None:
        """These rows now belong to `person_id` (a merge, a split)."""
        for col in (int(r) for r in rows):
            old = int(self._lab[col])
            if old == person_id:
                continue
            self._slot_remove(col, old)
            self._lab[col] = person_id
            self._slot_add(col, person_id)
        self.version += 1

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * len(self._lab), 64)

        def grown(a: NDArray[np.generic]) -> NDArray[np.generic]:
            out = np.zeros((cap, *a.shape[1:]), a.dtype)
            out[:self.n] = a[:self.n]
            return out

        self._vec, self._sq, self._lab = grown(self._vec), grown(self._sq), grown(self._lab)  # type: ignore[assignment]
        self._ids, self._org, self._pos = grown(self._ids), grown(self._org), grown(self._pos)  # type: ignore[assignment]
        self._views = None

    def _slot_add(self, col: int, person_id: int) -> None:
        r = self._row.get(person_id)
        if r is None:
            r = len(self._row)
            if r == len(self._people):
                more = max(16, len(self._people))
                self._people = np.concatenate([self._people, np.zeros(more, np.int64)])
                self._count = np.concatenate([self._count, np.zeros(more, np.int64)])
                self._slots = np.concatenate([self._slots, np.full((more, self._slots.shape[1]), PAD, np.int64)])
            self._row[person_id] = r
            self._people[r] = person_id
        c = int(self._count[r])
        if c == self._slots.shape[1]:
            wider = np.full((len(self._slots), max(8, 2 * c)), PAD, np.int64)
            wider[:, :c] = self._slots
            self._slots = wider
        self._slots[r, c] = col
        self._pos[col] = c
        self._count[r] = c + 1

    def _slot_remove(self, col: int, person_id: int) -> None:
        r = self._row[person_id]
        c, last = int(self._pos[col]), int(self._count[r]) - 1
        moved = int(self._slots[r, last])
        self._slots[r, c] = moved
        self._pos[moved] = c
        self._slots[r, last] = PAD
        self._count[r] = last

    def _compact(self) -> None:
        v, lab, ids, org = self._current()
        self.load(v.copy(), lab.copy(), ids.copy(), org.copy())

    # ---------------------------------------------------------------- k-NN
    def person_distances(self, samples: NDArray[np.floating], k: int, limit: float
                         ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """As knn.person_distances over (vectors, labels), people in increasing id order."""
        q = np.asarray(samples, np.float32).reshape(-1, DESCRIPTOR_SIZE)
        n = self.n
        if len(q) == 0 or n == 0:
            return np.zeros(0, np.int64), np.zeros((len(q), 0))
        rows = len(self._row)
        if rows > 2 * int((self._count[:rows] > 0).sum()) + 16:
            self._compact()  # many people removed since the last load: drop their empty rows
            rows = len(self._row)
        width = int(self._count[:rows].max()) if rows else 0
        if rows * width > knn.PAD_LIMIT * n + 1024:  # a few huge inventories: the array path's runs
            return knn.person_distances(q, self.vectors, self.labels, k, limit)
        # The distances and the per-person gather go into buffers kept between queries: fresh
        # multi-megabyte temporaries per query cost more in page faults than the arithmetic.
        s = len(q)
        if self._dbuf.shape[0] < s or self._dbuf.shape[1] < n + 1:
            self._dbuf = np.empty((max(s, 8), max(n + 1, int(1.25 * n) + 64)), np.float32)
        d = self._dbuf[:s, :n + 1]
        np.matmul(q, self._vec[:n].T, out=d[:, :n])
        d[:, :n] *= -2.0
        d[:, :n] += self._sq[None, :n]
        d[:, :n] += (q * q).sum(1)[:, None]
        np.clip(d[:, :n], 0.0, None, out=d[:, :n])
        np.sqrt(d[:, :n], out=d[:, :n])
        d[:, n] = np.inf  # what PAD points at
        slots = self._slots[:rows, :width]
        if self._gbuf.size < s * slots.size:
            self._gbuf = np.empty(max(s, 8) * slots.size + 4096, np.float32)
        per = self._gbuf[:s * slots.size].reshape(s, rows, width)
        np.take(d, slots, axis=1, out=per)
        people, counts = self._people[:rows], self._count[:rows]
        pid, out = knn.nearest_per_person(d, people, slots, counts, k, limit, per=per)
        order = np.argsort(pid, kind="stable")
        return pid[order], out[:, order]
