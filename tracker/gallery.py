"""The gallery: people and their descriptor inventories in one SQLite file.

All reads for matching go to an in-memory copy; every change is written through at once in
its own transaction, so a crash loses nothing and a failed command changes nothing.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from . import identity
from .errors import GalleryError
from .records import DESCRIPTOR_SIZE

SCHEMA_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
AUTO_NAME = re.compile(r"^Person (\d+)$")
ENROLLED = "enrolled"
LEARNED = "learned"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    known INTEGER NOT NULL,
    created REAL NOT NULL,
    last_seen REAL
);
CREATE TABLE IF NOT EXISTS descriptors (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    vector BLOB NOT NULL,
    thumbnail BLOB,
    origin TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS descriptors_person ON descriptors(person_id);
"""


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    known: bool
    descriptors: int
    created: float
    last_seen: float | None

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "known": self.known,
                "descriptors": self.descriptors, "created": self.created, "last_seen": self.last_seen}


def encode_thumbnail(chip: NDArray[np.uint8]) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(chip), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 85])
    return bytes(buf) if ok else b""


def decode_thumbnail(data: bytes) -> NDArray[np.uint8] | None:
    if not data:
        return None
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if img is None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def check_gallery_file(path: Path) -> None:
    """A clear error for a path that exists but is not a facetrack gallery; no change to it."""
    if path.is_dir():
        raise GalleryError(f"gallery {path} is a folder, not a file")
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise GalleryError(f"cannot read gallery {path}: {exc.strerror}") from None
    if head and head != SQLITE_MAGIC:
        raise GalleryError(f"{path} is not a facetrack gallery (not an SQLite file)")


class Gallery:
    """People and descriptors; thread-safe, though the tracker uses it from one thread."""

    def __init__(self, path: Path | str, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self.version = 0  # bumped on every change, so views know when to refresh
        self._vectors = np.zeros((0, DESCRIPTOR_SIZE), dtype=np.float32)
        self._labels = np.zeros(0, dtype=np.int64)
        self._desc_ids = np.zeros(0, dtype=np.int64)
        self._enrolled = np.zeros(0, dtype=bool)
        self._people: dict[int, Person] = {}
        exists = self.path.exists()
        if exists:
            check_gallery_file(self.path)
        elif readonly:
            return  # an absent gallery reads as empty and is not created
        self._open(create=not exists)
        self._load()

    # ---------------------------------------------------------------- storage
    def _open(self, create: bool) -> None:
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise GalleryError(f"cannot create gallery folder {self.path.parent}: {exc.strerror}") from None
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA foreign_keys = ON")
            if create:
                db.executescript(SCHEMA)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('app', 'facetrack')")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            row = db.execute("SELECT value FROM meta WHERE key = 'app'").fetchone()
            if row is None or row[0] != "facetrack":
                raise GalleryError(f"{self.path} is an SQLite file but not a facetrack gallery")
            schema = int(db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0])
            if schema > SCHEMA_VERSION:
                raise GalleryError(f"gallery {self.path} was written by a newer facetrack (schema {schema})")
        except sqlite3.DatabaseError as exc:
            raise GalleryError(f"{self.path} is not a facetrack gallery ({exc})") from None
        self._db = db

    def _load(self) -> None:
        assert self._db is not None
        try:
            people = self._db.execute(
                "SELECT p.id, p.name, p.known, p.created, p.last_seen, COUNT(d.id) FROM people p "
                "LEFT JOIN descriptors d ON d.person_id = p.id GROUP BY p.id ORDER BY p.id").fetchall()
            rows = self._db.execute(
                "SELECT id, person_id, vector, origin FROM descriptors ORDER BY id").fetchall()
        except sqlite3.DatabaseError as exc:
            raise GalleryError(f"gallery {self.path} is damaged ({exc})") from None
        self._people = {
            pid: Person(pid, name, bool(known), int(n), float(created), last_seen)
            for pid, name, known, created, last_seen, n in people
        }
        if rows:
            vecs = [np.frombuffer(r[2], dtype=np.float32) for r in rows]
            if any(v.shape != (DESCRIPTOR_SIZE,) for v in vecs):
                raise GalleryError(f"gallery {self.path} holds descriptors of the wrong size")
            self._vectors = np.stack(vecs)
            self._desc_ids = np.asarray([r[0] for r in rows], np.int64)
            self._labels = np.asarray([r[1] for r in rows], np.int64)
            self._enrolled = np.asarray([r[3] == ENROLLED for r in rows], bool)
        self.version += 1

    def _write(self, sql_steps: list[tuple[str, tuple[object, ...]]]) -> list[int]:
        """Run several statements in one transaction; returns lastrowid per statement."""
        if self._db is None:
            self._open(create=True)
        assert self._db is not None
        ids: list[int] = []
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for sql, args in sql_steps:
                ids.append(int(self._db.execute(sql, args).lastrowid or 0))
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise GalleryError(f"cannot write gallery {self.path}: {exc}") from None
        return ids

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
            raise GalleryError(f"no person named {name!r} in gallery {self.path}")
        return p

    def __len__(self) -> int:
        return len(self._people)

    @property
    def vectors(self) -> NDArray[np.float32]:
        return self._vectors

    @property
    def labels(self) -> NDArray[np.int64]:
        return self._labels

    def inventory(self, person_id: int) -> NDArray[np.float32]:
        with self._lock:
            return self._vectors[self._labels == person_id]

    def vote(self, descriptor: NDArray[np.floating], k: int, threshold: float,
             exclude: frozenset[int] = frozenset()) -> identity.Vote:
        with self._lock:
            return identity.knn_vote(descriptor, self._vectors, self._labels, k, threshold, exclude)

    def thumbnails(self, person_id: int, limit: int = 1) -> list[NDArray[np.uint8]]:
        with self._lock:
            if self._db is None:
                return []
            rows = self._db.execute(
                "SELECT thumbnail FROM descriptors WHERE person_id = ? ORDER BY origin = 'enrolled' DESC, id "
                "LIMIT ?", (person_id, limit)).fetchall()
        return [img for (data,) in rows if (img := decode_thumbnail(data)) is not None]

    # ---------------------------------------------------------------- changes
    def next_auto_name(self) -> str:
        numbers = [int(m.group(1)) for p in self._people.values() if (m := AUTO_NAME.match(p.name))]
        return f"Person {max(numbers, default=0) + 1}"

    def add_person(self, name: str | None = None, known: bool = True) -> Person:
        with self._lock:
            name = (name or "").strip() or self.next_auto_name()
            if self.find(name) is not None:
                raise GalleryError(f"a person named {name!r} already exists")
            now = time.time()
            (pid,) = self._write([("INSERT INTO people (name, known, created) VALUES (?, ?, ?)",
                                   (name, int(known), now))])
            self._people[pid] = Person(pid, name, known, 0, now, None)
            self.version += 1
            return self._people[pid]

    def add_descriptors(self, person_id: int, descriptors: NDArray[np.floating],
                        thumbnails: list[bytes] | None = None, origin: str = LEARNED) -> None:
        desc = np.asarray(descriptors, dtype=np.float32).reshape(-1, DESCRIPTOR_SIZE)
        if len(desc) == 0:
            return
        thumbs = thumbnails or [b""] * len(desc)
        now = time.time()
        with self._lock:
            if person_id not in self._people:
                raise GalleryError(f"no person with id {person_id}")
            ids = self._write([
                ("INSERT INTO descriptors (person_id, vector, thumbnail, origin, created) VALUES (?, ?, ?, ?, ?)",
                 (person_id, d.tobytes(), t, origin, now)) for d, t in zip(desc, thumbs)])
            self._vectors = np.concatenate([self._vectors, desc])
            self._labels = np.concatenate([self._labels, np.full(len(desc), person_id, np.int64)])
            self._desc_ids = np.concatenate([self._desc_ids, np.asarray(ids, np.int64)])
            self._enrolled = np.concatenate([self._enrolled, np.full(len(desc), origin == ENROLLED)])
            p = self._people[person_id]
            self._people[person_id] = Person(p.id, p.name, p.known, p.descriptors + len(desc),
                                             p.created, p.last_seen)
            self.version += 1

    def enroll(self, name: str, descriptors: NDArray[np.floating], thumbnails: list[bytes]) -> Person:
        """Add enrolled photos to a person, creating them (known) if new; one transaction."""
        desc = np.asarray(descriptors, dtype=np.float32).reshape(-1, DESCRIPTOR_SIZE)
        name = name.strip()
        if not name:
            raise GalleryError("a person's name cannot be empty")
        with self._lock:
            if self._db is None:
                self._open(create=True)
            assert self._db is not None
            existing = self.find(name)
            now = time.time()
            try:
                self._db.execute("BEGIN IMMEDIATE")
                if existing is None:
                    pid = int(self._db.execute("INSERT INTO people (name, known, created) VALUES (?, 1, ?)",
                                               (name, now)).lastrowid or 0)
                else:
                    pid = existing.id
                    self._db.execute("UPDATE people SET known = 1 WHERE id = ?", (pid,))
                self._db.executemany(
                    "INSERT INTO descriptors (person_id, vector, thumbnail, origin, created) VALUES (?, ?, ?, ?, ?)",
                    [(pid, d.tobytes(), t, ENROLLED, now) for d, t in zip(desc, thumbnails)])
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise GalleryError(f"cannot write gallery {self.path}: {exc}") from None
            self._load()
            return self._people[pid]

    def learn(self, person_id: int, descriptor: NDArray[np.floating], thumbnail: bytes,
              diversity: float, max_inventory: int) -> bool:
        """Add a sample if it is novel, then drop the most redundant learned ones past the bound."""
        with self._lock:
            if person_id not in self._people:
                return False
            if not identity.is_novel(descriptor, self.inventory(person_id), diversity):
                return False
            self.add_descriptors(person_id, descriptor, [thumbnail], LEARNED)
            mask = self._labels == person_id
            drop = identity.prune_redundant(self._vectors[mask], max_inventory, self._enrolled[mask])
            if len(drop):
                self._delete_descriptors(self._desc_ids[mask][drop])
            return True

    def _delete_descriptors(self, ids: NDArray[np.int64]) -> None:
        self._write([("DELETE FROM descriptors WHERE id = ?", (int(i),)) for i in ids])
        keep = ~np.isin(self._desc_ids, ids)
        removed = self._labels[~keep]
        self._vectors, self._labels = self._vectors[keep], self._labels[keep]
        self._desc_ids, self._enrolled = self._desc_ids[keep], self._enrolled[keep]
        for pid, n in zip(*np.unique(removed, return_counts=True)):
            p = self._people[int(pid)]
            self._people[p.id] = Person(p.id, p.name, p.known, p.descriptors - int(n), p.created, p.last_seen)
        self.version += 1

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

    def rename(self, old: str, new: str) -> Person:
        """Naming a person makes them known, automatic identities included."""
        new = new.strip()
        if not new:
            raise GalleryError("the new name is empty")
        with self._lock:
            p = self.require(old)
            other = self.find(new)
            if other is not None and other.id != p.id:
                raise GalleryError(f"{new!r} already exists; use `people merge {old!r} {new!r}`")
            self._write([("UPDATE people SET name = ?, known = 1 WHERE id = ?", (new, p.id))])
            self._people[p.id] = Person(p.id, new, True, p.descriptors, p.created, p.last_seen)
            self.version += 1
            return self._people[p.id]

    def merge(self, source: str, into: str) -> Person:
        with self._lock:
            src, dst = self.require(source), self.require(into)
            if src.id == dst.id:
                raise GalleryError("cannot merge a person into themselves")
            self._write([("UPDATE descriptors SET person_id = ? WHERE person_id = ?", (dst.id, src.id)),
                         ("DELETE FROM people WHERE id = ?", (src.id,))])
            self._labels = np.where(self._labels == src.id, dst.id, self._labels)
            seen = max((t for t in (src.last_seen, dst.last_seen) if t is not None), default=None)
            self._people[dst.id] = Person(dst.id, dst.name, dst.known, dst.descriptors + src.descriptors,
                                          dst.created, seen)
            del self._people[src.id]
            self.version += 1
            return self._people[dst.id]

    def remove(self, name: str) -> Person:
        with self._lock:
            p = self.require(name)
            self._write([("DELETE FROM descriptors WHERE person_id = ?", (p.id,)),
                         ("DELETE FROM people WHERE id = ?", (p.id,))])
            keep = self._labels != p.id
            self._vectors, self._labels = self._vectors[keep], self._labels[keep]
            self._desc_ids, self._enrolled = self._desc_ids[keep], self._enrolled[keep]
            del self._people[p.id]
            self.version += 1
            return p
