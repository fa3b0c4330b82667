"""The gallery: people, their descriptor inventories and cannot-links, in one SQLite file or a
PostgreSQL database.

All reads for matching go to an in-memory copy; every change is written through at once in
its own transaction, so a crash loses nothing and a failed command changes nothing. Other
processes may share it: see copy.py (the copy and how it follows theirs) and store.py (where it
is kept). The gallery stores; the tracker decides (tracker/track/tracker.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from ..errors import GalleryError
from ..identity import policy as identity
from ..records import DESCRIPTOR_SIZE
from .copy import GalleryCopy
from .schema import (
    ENROLLED,
    INSERT_LINK,
    LEARNED,
    NAMED,
    ORIGINS,
    Person,
    Provenance,
    Sample,
    clean_name,
    encode_thumbnail,
    link_pair,
)
from .store import MEMORY
from .transaction import transaction

__all__ = ["ENROLLED", "LEARNED", "NAMED", "Gallery", "Person", "Provenance", "Sample", "encode_thumbnail"]

AUTO_NAME = re.compile(r"^Person (\d+)$")
_INSERT = ("INSERT INTO descriptors (person_id, vector, thumbnail, origin, created, source, track, frame, at) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


class Gallery(GalleryCopy):
    """People, descriptors and cannot-links; thread-safe, though the tracker uses it from one thread."""

    @classmethod
    def in_memory(cls) -> Gallery:
        """A gallery in this process's memory only (memory.py): nothing is written anywhere."""
        return cls(MEMORY)

    # ---------------------------------------------------------------- reads
    def people(self) -> list[Person]:
        with self._lock:
            return list(self._people.values())

    def person(self, person_id: int) -> Person | None:
        return self._people.get(person_id)

    def find(self, name: str) -> Person | None:
        with self._lock:
            for p in self._people.values():
                if p.name == name:
                    return p
            return None

    def require(self, name: str) -> Person:
        p = self.find(name)
        if p is None:
            raise GalleryError(f"no person named {name!r} in gallery {self.where}")
        return p

    def __len__(self) -> int:
        return len(self._people)

    @property
    def vectors(self) -> NDArray[np.float32]:
        return self._table.vectors

    @property
    def labels(self) -> NDArray[np.int64]:
        return self._table.labels

    @property
    def origins(self) -> NDArray[np.int8]:
        """Per stored vector, its origin as an index into gallery_schema.ORIGINS."""
        return self._table.origins

    def inventory(self, person_id: int) -> NDArray[np.float32]:
        with self._lock:
            return self._table.vectors[self._by_id(person_id)]

    def _by_id(self, person_id: int) -> NDArray[np.int64]:
        """A person's table rows in the order of their sample ids (oldest first): the table's own
        order changes with deletions, and what depends on order (pruning's tie-breaks) must not."""
        cols = self._table.columns(person_id)
        return cols[np.argsort(self._table.ids[cols], kind="stable")]

    def person_distances(self, samples: NDArray[np.floating], k: int, limit: float
                         ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """identity.person_distances over this gallery, from its index kept in step with every
        change (no copy of the gallery per learned sample)."""
        with self._lock:
            return self._table.person_distances(samples, k, limit)

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

    def sample_vector_map(self, person_id: int) -> dict[int, NDArray[np.float32]]:
        """A person's stored vectors by sample id."""
        with self._lock:
            mask = self._table.labels == person_id
            return dict(zip(self._table.ids[mask].tolist(), self._table.vectors[mask]))

    def sample_vectors(self, ids: Sequence[int]) -> NDArray[np.float32]:
        with self._lock:
            return self._table.vectors[np.isin(self._table.ids, np.asarray(list(ids), np.int64))]

    def next_auto_name(self) -> str:
        """Automatic names are never reused, so "Person 2" in an old output is never someone else."""
        numbers = [int(m.group(1)) for p in self._people.values() if (m := AUTO_NAME.match(p.name))]
        return f"Person {max(*numbers, self._auto_counter, 0) + 1}"

    @transaction
    def add_person(self, name: str | None = None, known: bool = True) -> Person:
        with self._lock:
            # An automatic name is chosen here, inside the write transaction, over a copy that
            # includes every other process's people: two cameras never both make "Person 3".
            name = clean_name(name) if name is not None and name.strip() else self.next_auto_name()
            if self.find(name) is not None:
                raise GalleryError(f"a person named {name!r} already exists")
            now = time.time()
            steps: list[tuple[str, tuple[object, ...]]] = [
                ("INSERT INTO people (name, known, created) VALUES (?, ?, ?)", (name, int(known), now))]
            auto = AUTO_NAME.match(name)
            if auto and int(auto.group(1)) > self._auto_counter:
                steps.append(("INSERT INTO meta (key, value) VALUES ('auto_counter', ?) "
                              "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (auto.group(1),)))
            pid = self._write(steps)[0]
            if auto:
                self._auto_counter = max(self._auto_counter, int(auto.group(1)))
            self._people[pid] = Person(pid, name, known, 0, now, None)
            self.version += 1
            return self._people[pid]

    @transaction
    def add_descriptors(self, person_id: int, descriptors: NDArray[np.floating],
                        thumbnails: Sequence[bytes] | None = None, origin: str = LEARNED,
                        provenance: Sequence[Provenance] | None = None) -> list[int]:
        """Store descriptors for a person; returns their ids."""
        desc = np.asarray(descriptors, dtype=np.float32).reshape(-1, DESCRIPTOR_SIZE)
        if len(desc) == 0:
            return []
        if origin not in ORIGINS:
            raise ValueError(f"unknown origin {origin!r}")
        thumbs = list(thumbnails or [b""] * len(desc))
        prov = list(provenance or [Provenance()] * len(desc))
        now = time.time()
        with self._lock:
            if person_id not in self._people:
                raise GalleryError(f"no person with id {person_id}")
            ids = self._write([(_INSERT, (person_id, d.tobytes(), t, origin, now, p.source, p.track, p.frame, p.at))
                               for d, t, p in zip(desc, thumbs, prov)])
            self._table.append(desc, person_id, ids, ORIGINS.index(origin))
            p = self._people[person_id]
            self._people[person_id] = Person(p.id, p.name, p.known, p.descriptors + len(desc),
                                             p.created, p.last_seen)
            self.version += 1
            return ids

    @transaction
    def enroll(self, name: str, descriptors: NDArray[np.floating], thumbnails: Sequence[bytes],
               files: Sequence[str] | None = None) -> Person:
        """Add enrolled photos to a person, creating them (known) if new; one transaction."""
        desc = np.asarray(descriptors, dtype=np.float32).reshape(-1, DESCRIPTOR_SIZE)
        name = clean_name(name)
        sources: list[str | None] = list(files) if files else [None] * len(desc)
        with self._lock:
            existing = self.find(name)
            now = time.time()
            steps: list[tuple[str, tuple[object, ...]]] = []
            if existing is None:
                steps.append(("INSERT INTO people (name, known, created) VALUES (?, 1, ?)", (name, now)))
            else:
                steps.append(("UPDATE people SET known = 1 WHERE id = ?", (existing.id,)))
            ids = self._write(steps)
            pid = existing.id if existing is not None else ids[0]
            if existing is not None and not existing.known:
                self._people[pid] = Person(pid, existing.name, True, existing.descriptors, existing.created,
                                           existing.last_seen)
            elif existing is None:
                self._people[pid] = Person(pid, name, True, 0, now, None)
            self.add_descriptors(pid, desc, thumbnails, ENROLLED, [Provenance(source=s) for s in sources])
            return self._people[pid]

    @transaction
    def learn(self, person_id: int, descriptor: NDArray[np.floating], thumbnail: bytes,
              diversity: float, max_inventory: int, provenance: Provenance | None = None,
              origin: str = LEARNED) -> int | None:
        """Add a sample if it is novel, then prune past the bound; returns its id, or None."""
        with self._lock:
            if person_id not in self._people:
                return None
            if not identity.is_novel(descriptor, self.inventory(person_id), diversity):
                return None
            (new_id,) = self.add_descriptors(person_id, descriptor, [thumbnail], origin,
                                             [provenance or Provenance()])
            self.prune(person_id, max_inventory)
            kept = len(self._table.rows_of_ids(np.asarray([new_id], np.int64))) > 0
            return new_id if kept else None

    @transaction
    def prune(self, person_id: int, max_inventory: int) -> None:
        """Bound a person's samples besides enrolled photos: learned ones go first, then named ones."""
        with self._lock:
            cols = self._by_id(person_id)
            origins = self._table.origins[cols]
            enrolled = origins == ORIGINS.index(ENROLLED)
            keep = int(enrolled.sum()) + max_inventory
            if len(cols) <= keep:
                return
            vectors, ids = self._table.vectors[cols], self._table.ids[cols]
            drop = identity.prune_redundant(vectors, keep, enrolled | (origins == ORIGINS.index(NAMED)))
            left = len(cols) - len(drop)
            if left > keep:
                alive = np.setdiff1d(np.arange(len(ids)), drop)
                more = identity.prune_redundant(vectors[alive], keep, enrolled[alive])
                drop = np.concatenate([drop, alive[more]])
            if len(drop):
                self._delete_descriptors(ids[drop])

    def _delete_descriptors(self, ids: NDArray[np.int64]) -> None:
        self._write([("DELETE FROM descriptors WHERE id = ?", (int(i),)) for i in ids])
        rows = self._table.rows_of_ids(np.asarray(ids, np.int64))
        removed = self._table.labels[rows]  # a copy (fancy indexing): the rows go next
        self._table.delete_rows(rows)
        for pid, n in zip(*np.unique(removed, return_counts=True)):
            p = self._people[int(pid)]
            self._people[p.id] = Person(p.id, p.name, p.known, p.descriptors - int(n), p.created, p.last_seen)
        self.version += 1

    @transaction
    def touch(self, person_ids: list[int], when: float | None = None) -> None:
        """Record that these people were seen; written in one transaction."""
        now = time.time() if when is None else when
        with self._lock:
            live = [pid for pid in person_ids if pid in self._people]
            if not live:
                return
            self._write([("UPDATE people SET last_seen = ? WHERE id = ?", (now, pid)) for pid in live])
            for pid in live:
                p = self._people[pid]
                self._people[pid] = Person(p.id, p.name, p.known, p.descriptors, p.created, now)
            self.version += 1

    @transaction
    def rename(self, old: str, new: str) -> Person:
        """Naming a person makes them known, automatic identities included."""
        new = clean_name(new)
        with self._lock:
            p = self.require(old)
            other = self.find(new)
            if other is not None and other.id != p.id:
                raise GalleryError(f"{new!r} already exists; use `people merge {old!r} {new!r}`")
            self._write([("UPDATE people SET name = ?, known = 1 WHERE id = ?", (new, p.id))])
            self._people[p.id] = Person(p.id, new, True, p.descriptors, p.created, p.last_seen)
            self.version += 1
            return self._people[p.id]

    @transaction
    def merge(self, source: str, into: str) -> Person:
        """One person from two: `source`'s samples and cannot-links move to `into`.

        A merge is the user's word (or the tracker's strict whole-inventory test), so a
        cannot-link between the two is dropped with `source`.
        """
        with self._lock:
            src, dst = self.require(source), self.require(into)
            if src.id == dst.id:
                raise GalleryError("cannot merge a person into themselves")
            moved = {link_pair(dst.id, other) for other in self.cannot_linked(src.id) if other != dst.id}
            now = time.time()
            self._write([("UPDATE descriptors SET person_id = ? WHERE person_id = ?", (dst.id, src.id)),
                         *[(INSERT_LINK, (a, b, now))
                           for a, b in sorted(moved)],
                         ("DELETE FROM people WHERE id = ?", (src.id,))])
            self._table.relabel(self._table.columns(src.id), dst.id)
            self._links = {lk for lk in self._links if src.id not in lk} | moved
            seen = max((t for t in (src.last_seen, dst.last_seen) if t is not None), default=None)
            self._people[dst.id] = Person(dst.id, dst.name, dst.known, dst.descriptors + src.descriptors,
                                          dst.created, seen)
            del self._people[src.id]
            self.version += 1
            return self._people[dst.id]

    @transaction
    def remove(self, name: str) -> Person:
        with self._lock:
            p = self.require(name)
            self._write([("DELETE FROM descriptors WHERE person_id = ?", (p.id,)),
                         ("DELETE FROM cannot_links WHERE a = ? OR b = ?", (p.id, p.id)),
                         ("DELETE FROM people WHERE id = ?", (p.id,))])
            self._table.delete_rows(self._table.columns(p.id))
            self._links = {lk for lk in self._links if p.id not in lk}
            del self._people[p.id]
            self.version += 1
            return p

    @transaction
    def forget_unseen(self, days: float, now: float | None = None) -> list[Person]:
        """Remove automatic identities (never named) not seen for `days`: a retention limit for
        the faces of passers-by. Named and enrolled people stay."""
        cutoff = (time.time() if now is None else now) - days * 86400.0
        gone = [p for p in self.people() if not p.known and (p.last_seen or p.created) < cutoff]
        for p in gone:
            self.remove(p.name)
        return gone

    # ---------------------------------------------------------------- repairs of one person
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
