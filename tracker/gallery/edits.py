"""The gallery's repair side: samples with provenance, split, forget, cover and cannot-links.

A mixin of Gallery (tracker/gallery/gallery.py), which holds the storage and the in-memory copy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from ..errors import GalleryError
from .descriptor_table import DescriptorTable
from .schema import INSERT_LINK, Person, Provenance, Sample, decode_thumbnail, link_pair
from .store import Store, transaction


class GalleryEdits:
    """Repairs a user makes to one person; every change written through in one transaction."""

    _lock: threading.RLock
    _store: Store
    _people: dict[int, Person]
    _links: set[tuple[int, int]]
    _table: DescriptorTable
    _txn_depth: int
    version: int
    where: str

    # Provided by Gallery.
    def require(self, name: str) -> Person:
        raise NotImplementedError

    def find(self, name: str) -> Person | None:
        raise NotImplementedError

    def add_person(self, name: str | None = None, known: bool = True) -> Person:
        raise NotImplementedError

    def _write(self, sql_steps: list[tuple[str, tuple[object, ...]]]) -> list[int]:
        raise NotImplementedError

    def _delete_descriptors(self, ids: NDArray[np.int64]) -> None:
        raise NotImplementedError

    def cannot_linked(self, person_id: int) -> frozenset[int]:
        """People known to be someone else than `person_id` (seen together, split, or "not")."""
        return frozenset(b if a == person_id else a for a, b in self._links if person_id in (a, b))

    def are_cannot_linked(self, a: int, b: int) -> bool:
        return link_pair(a, b) in self._links

    def links(self) -> frozenset[tuple[int, int]]:
        """Every cannot-link as (smaller id, larger id); read per frame, so cached per version."""
        cached = getattr(self, "_links_cache", None)
        if cached is None or cached[0] != self.version:
            cached = (self.version, frozenset(self._links))
            self._links_cache = cached
        return cached[1]

    def samples(self, person_id: int) -> list[Sample]:
        """Every stored descriptor of a person with provenance and thumbnail, enrolled first."""
        with self._lock:
            if not self._store.is_open:
                return []
            rows = self._store.query(
                "SELECT id, person_id, origin, created, source, track, frame, at, thumbnail FROM descriptors "
                "WHERE person_id = ? ORDER BY origin = 'enrolled' DESC, origin = 'named' DESC, id",
                (person_id,))
        try:
            return [Sample(int(r[0]), int(r[1]), str(r[2]), r[3], Provenance(
                r[4], None if r[5] is None else int(r[5]), None if r[6] is None else int(r[6]),
                None if r[7] is None else float(r[7])), r[8] or b"") for r in rows]
        except (TypeError, ValueError) as exc:  # a value of the wrong type, written by something else
            raise GalleryError(f"gallery {self.where} is damaged ({exc})") from None

    def sample_vector_map(self, person_id: int) -> dict[int, NDArray[np.float32]]:
        """A person's stored vectors by sample id."""
        with self._lock:
            mask = self._table.labels == person_id
            return dict(zip(self._table.ids[mask].tolist(), self._table.vectors[mask]))

    def sample_vectors(self, ids: Sequence[int]) -> NDArray[np.float32]:
        with self._lock:
            return self._table.vectors[np.isin(self._table.ids, np.asarray(list(ids), np.int64))]

    def thumbnails(self, person_id: int, limit: int = 1) -> list[NDArray[np.uint8]]:
        with self._lock:
            if not self._store.is_open:
                return []
            # coalesce: no cover is NULL, which PostgreSQL sorts first in a DESC order (SQLite last).
            rows = self._store.query(
                "SELECT d.thumbnail FROM descriptors d JOIN people p ON p.id = d.person_id WHERE d.person_id = ? "
                "ORDER BY coalesce(d.id = p.cover, FALSE) DESC, d.origin = 'enrolled' DESC, d.origin = 'named' DESC, "
                "d.id LIMIT ?", (person_id, limit))
        return [img for (data,) in rows if (img := decode_thumbnail(data)) is not None]

    # ---------------------------------------------------------------- changes
    @transaction
    def add_cannot_links(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Record that these people are different (seen in one frame, split apart, "not X")."""
        with self._lock:
            new = {link_pair(a, b) for a, b in pairs if a != b and a in self._people and b in self._people}
            new -= self._links
            if not new:
                return
            now = time.time()
            self._write([(INSERT_LINK, (a, b, now))
                         for a, b in sorted(new)])
            self._links |= new
            self.version += 1

    def _own_samples(self, p: Person, sample_ids: Sequence[int]) -> NDArray[np.int64]:
        ids = np.unique(np.asarray(list(sample_ids), np.int64))
        if len(ids) == 0:
            raise GalleryError("no samples given")
        mine = set(self._table.ids[self._table.labels == p.id].tolist())
        stray = [int(i) for i in ids if int(i) not in mine]
        if stray:
            raise GalleryError(f"{p.name!r} has no sample(s) {', '.join(map(str, stray))}; see `people show`")
        return ids

    @transaction
    def forget(self, name: str, sample_ids: Sequence[int]) -> Person:
        """Delete some of a person's samples (the person stays, even with none left)."""
        with self._lock:
            p = self.require(name)
            self._delete_descriptors(self._own_samples(p, sample_ids))
            return self._people[p.id]

    @transaction
    def split(self, name: str, sample_ids: Sequence[int], into: str | None = None) -> Person:
        """Move some of a person's samples to a new (or existing) person, who is then someone else.

        `into` None makes a new automatic identity. The two are cannot-linked.
        """
        with self._lock:
            p = self.require(name)
            ids = self._own_samples(p, sample_ids)
            target = self.find(into.strip()) if into else None
            if target is not None and target.id == p.id:
                raise GalleryError("cannot split a person into themselves")
            if target is None:
                target = self.add_person(into, known=into is not None)
            marks = ",".join("?" * len(ids))
            self._write([(f"UPDATE descriptors SET person_id = ? WHERE id IN ({marks})",
                          (target.id, *[int(i) for i in ids]))])
            self._table.relabel(self._table.rows_of_ids(np.asarray(ids, np.int64)), target.id)
            n = len(ids)
            self._people[p.id] = Person(p.id, p.name, p.known, p.descriptors - n, p.created, p.last_seen)
            t = self._people[target.id]
            self._people[t.id] = Person(t.id, t.name, t.known, t.descriptors + n, t.created, t.last_seen)
            self.version += 1
            self.add_cannot_links([(p.id, t.id)])
            return self._people[t.id]

    @transaction
    def set_cover(self, name: str, sample_id: int) -> Person:
        """The sample whose thumbnail stands for the person in lists."""
        with self._lock:
            p = self.require(name)
            self._own_samples(p, [sample_id])
            self._write([("UPDATE people SET cover = ? WHERE id = ?", (int(sample_id), p.id))])
            self.version += 1
            return p
