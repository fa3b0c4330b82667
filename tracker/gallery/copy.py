"""The in-memory copy of a gallery over its store (store.py), shared safely between processes,
changed in whole transactions. Gallery (gallery.py) builds people, samples and links on it.

Several processes may hold one gallery at once (the app, a `run` per camera, `people` commands),
in an SQLite file (tracker/gallery/sqlite.py) or a PostgreSQL database (tracker/gallery/postgres.py).
Each process keeps an in-memory copy for matching, so every change is made by `transaction`: take
the store's write lock, re-read the copy if another process committed since (the store's version),
check and change, commit. A failure rolls back and re-reads, so neither the store nor the copy is
left half changed.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

from ..errors import GalleryError
from ..records import DESCRIPTOR_SIZE
from .backends import open_store
from .descriptor_table import DescriptorTable
from .files import new_file
from .schema import ORIGINS, Person, Provenance, Sample, decode_thumbnail, link_pair
from .store import Store, StoreError

UNDO_STEPS = 50
REFRESH_SHARE = 0.2  # more rows changed than this share of the gallery: read it all again


class GalleryCopy:
    """The store and the in-memory copy of it that Gallery reads and changes (see the module note).

    `location`: an SQLite file's path, or a postgresql:// URL.
    """

    def __init__(self, location: Path | str, *, readonly: bool = False) -> None:
        self.location = location
        self._store: Store = open_store(location, readonly)
        self.where = self._store.where  # for messages (a URL without its password)
        self.path: Path | None = self._store.path  # an SQLite file's; None for a database server or memory
        self.readonly = readonly  # only read: an older schema is read as it is, not migrated
        self._lock = threading.RLock()
        self._undo: Any = None  # the store's undo log, once it is open for writing
        self.version = 0  # bumped on every change, so views know when to refresh
        self._table = DescriptorTable()  # every stored descriptor, and the k-NN index over them
        self._people: dict[int, Person] = {}
        self._links: set[tuple[int, int]] = set()
        self._auto_counter = 0  # the highest "Person N" ever given
        self._txn_depth = 0  # > 0 inside a write transaction (transaction.py)
        self._seen_version = -1  # the store's version when the copy was read
        self._seen_seq = -1  # the newest entry of the store's change log the copy holds
        self.full_loads = 0  # times the whole gallery was read (a refresh reads only what changed)
        if self._store.exists():
            try:
                self._open(create=False)
                self._load()
            except BaseException:
                self._store.close()  # a damaged gallery: nothing left open (SQLite tidies its files)
                raise
        # An absent gallery reads as empty and is created by the first change, so a command
        # that fails (an enrolment without a face) leaves no empty file behind.

    # ---------------------------------------------------------------- storage
    @property
    def stored(self) -> bool:
        """Whether the gallery exists in its store (a file, or the tables of a database)."""
        return self._store.is_open

    @staticmethod
    def identity_of(location: Path | str) -> tuple[object, ...]:
        """The identity of the gallery at `location` (see identity), without opening it for writing."""
        store = open_store(location, readonly=True)
        try:
            return store.identity()
        finally:
            store.close()

    def identity(self) -> tuple[object, ...]:
        """The gallery's identity in its store (a file's inode, a database on a server), so two
        locations that name one gallery are known as one."""
        with self._lock:
            return self._store.identity()

    def _open(self, create: bool) -> None:
        self._store.open(create)
        if self._store.is_open and not self.readonly:
            self._undo = self._store.undo_log(UNDO_STEPS)

    def _ensure_store(self) -> Store:
        """The store, creating the gallery on the first change (or opening one another process
        created meanwhile)."""
        if not self._store.is_open:
            self._open(create=not self._store.exists())
            self._load()
        return self._store

    def _reload_if_stale(self) -> None:
        if self._store.is_open and self._store.version() != self._seen_version:
            self._refresh()

    def sync(self) -> bool:
        """Re-read the copy if another process changed the gallery; True when it did. Cheap (one
        PRAGMA, or no round trip at all for PostgreSQL): callers may run it every second."""
        with self._lock:
            if self._txn_depth:
                return False
            try:
                if not self._store.is_open:
                    if not self._store.exists():
                        return False
                    self._ensure_store()
                    return True
                try:
                    current = self._store.version()
                except StoreError:
                    if self._store.is_open:
                        raise
                    self._ensure_store()  # the connection was lost while idle: connect and read again
                    return True
                if current == self._seen_version:
                    return False
                self._store.begin_read()  # one snapshot for all the reads
                try:
                    self._refresh()
                finally:
                    self._store.rollback()
            except StoreError as exc:
                raise GalleryError(f"cannot read gallery {self.where}: {exc.reason}") from None
            return True

    def _refresh(self) -> None:
        """Bring the copy up to date with what other processes committed: the descriptor rows
        the change log names since the copy was read, and the (small) people and link tables.
        The whole gallery is read again only when the log no longer reaches back that far or
        most of it changed."""
        store = self._store
        if not store.is_open:
            return
        if self._seen_seq < 0 or not store.has_log:
            self._load()
            return
        first = store.query("SELECT min(seq) FROM changes")[0][0]
        last = store.last_change()
        if last < self._seen_seq:  # the log was emptied (PostgreSQL's log end is its newest row)
            self._load()
            return
        if last == self._seen_seq:
            touched: list[int] = []
        elif first is None or first > self._seen_seq + 1:
            self._load()  # the log was trimmed past what this copy holds
            return
        else:
            touched = [int(r[0]) for r in store.query("SELECT DISTINCT desc_id FROM changes WHERE seq > ?",
                                                      (self._seen_seq,))]
        if len(touched) > max(1000, REFRESH_SHARE * self._table.n):
            self._load()
            return
        try:
            rows = []
            for i in range(0, len(touched), 500):
                chunk = touched[i:i + 500]
                rows += store.query(f"SELECT id, person_id, vector, origin FROM descriptors WHERE id IN "
                                    f"({','.join('?' * len(chunk))})", chunk)
            people, links, counter = self._read_small_tables()
        except StoreError as exc:
            raise self._read_error(exc) from None
        columns = self._descriptor_columns(rows)
        self._seen_version, self._seen_seq = store.version(), last
        self._table.delete_rows(self._table.rows_of_ids(np.asarray(touched, np.int64)))
        self._table.append(*columns)
        self._apply_small_tables(people, links, counter)
        self.version += 1

    def _read_error(self, exc: StoreError) -> GalleryError:
        if exc.damaged:
            return GalleryError(f"gallery {self.where} is damaged ({exc.reason})")
        return GalleryError(f"cannot read gallery {self.where}: {exc.reason}")

    def _descriptor_columns(self, rows: list[Any]) -> tuple[NDArray[np.float32], NDArray[np.int64],
                                                            NDArray[np.int64], NDArray[np.int8]]:
        """(vectors, person ids, sample ids, origins) of `SELECT id, person_id, vector, origin` rows."""
        if any(not isinstance(r[2], bytes) or len(r[2]) != DESCRIPTOR_SIZE * 4 for r in rows):
            raise GalleryError(f"gallery {self.where} is damaged: it holds descriptors of the wrong size")
        vecs = [np.frombuffer(r[2], dtype=np.float32) for r in rows]
        if any(not np.isfinite(v).all() for v in vecs):
            raise GalleryError(f"gallery {self.where} is damaged: it holds a descriptor that is not a number")
        return (np.stack(vecs) if vecs else np.zeros((0, DESCRIPTOR_SIZE), np.float32),
                np.asarray([r[1] for r in rows], np.int64), np.asarray([r[0] for r in rows], np.int64),
                np.asarray([ORIGINS.index(r[3]) if r[3] in ORIGINS else 2 for r in rows], np.int8))

    def _read_small_tables(self) -> tuple[list[Any], list[Any], Any]:
        store = self._store
        people = store.query("SELECT id, name, known, created, last_seen FROM people ORDER BY id")
        links = store.query("SELECT a, b FROM cannot_links")
        counter = store.query("SELECT value FROM meta WHERE key = 'auto_counter'")
        return people, links, counter[0] if counter else None

    def _apply_small_tables(self, people: list[Any], links: list[Any], counter: Any) -> None:
        """People (their sample counts from the table, which is up to date), links, the counter."""
        try:
            self._people = {int(pid): Person(int(pid), str(name), bool(known), self._table.count(int(pid)),
                                             float(created), None if last_seen is None else float(last_seen))
                            for pid, name, known, created, last_seen in people}
            self._links = {link_pair(int(a), int(b)) for a, b in links}
        except (TypeError, ValueError) as exc:  # a value of the wrong type, written by something else
            raise GalleryError(f"gallery {self.where} is damaged ({exc})") from None
        self._auto_counter = int(counter[0]) if counter and str(counter[0]).isdigit() else 0

    def _load(self) -> None:
        store = self._store
        if not store.is_open:
            return
        snapshot = not store.in_transaction
        try:
            if snapshot:
                store.begin_read()
            try:
                seen_version, seen_seq = store.version(), store.last_change()
                rows = store.query("SELECT id, person_id, vector, origin FROM descriptors ORDER BY id")
                people, links, counter = self._read_small_tables()
            finally:
                if snapshot:
                    store.rollback()
        except StoreError as exc:
            raise self._read_error(exc) from None
        columns = self._descriptor_columns(rows)
        # Marked current only once all of it was read: a failed read leaves the copy stale, so
        # the next sync or write reads it again.
        self._seen_version, self._seen_seq = seen_version, seen_seq
        self.full_loads += 1
        self._table.load(*columns)
        self._apply_small_tables(people, links, counter)
        self.version += 1

    def _write(self, sql_steps: list[tuple[str, tuple[object, ...]]]) -> list[int]:
        """Run several statements in the caller's transaction (inside `transaction`); returns the
        new row's id per INSERT (0 for other statements)."""
        assert self._txn_depth, "gallery writes run inside @transaction"
        store = self._ensure_store()
        try:
            return [store.run(sql, args) for sql, args in sql_steps]
        except StoreError as exc:
            raise GalleryError(f"cannot write gallery {self.where}: {exc.reason}") from None

    def close(self) -> None:
        with self._lock:
            self._store.close()
            self._undo = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- what only the store holds
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

    # ---------------------------------------------------------------- backups
    def export_to(self, dest: Path) -> None:
        """A copy of the whole gallery in one self-contained SQLite file, consistent while other
        processes write, private like the gallery itself (a PostgreSQL gallery's too)."""
        dest = Path(dest)
        if not self.stored:
            raise GalleryError(f"gallery {self.where} does not exist; nothing to export")
        if dest.exists() or dest.is_symlink():
            raise GalleryError(f"{dest} exists; not replacing it")

        def fill(tmp: Path) -> None:
            try:
                with self._lock:
                    self._store.export_to(tmp)
            except (sqlite3.Error, GalleryError) as exc:
                reason = exc.reason if isinstance(exc, StoreError) else exc
                raise GalleryError(f"cannot write {dest}: {reason}") from None

        # Written whole under a temporary name, then linked in: never half a backup, never over a file.
        if not new_file(dest, fill, "backup"):
            raise GalleryError(f"{dest} exists; not replacing it")

    # ---------------------------------------------------------------- undo
    def action(self, label: str) -> Any:
        """A user's action (rename, merge, split...): one step that `undo` reverts whole."""
        try:
            if not self._ensure_store().alive():  # a connection lost while idle: made again here
                self._ensure_store()
        except StoreError as exc:
            raise GalleryError(f"cannot write gallery {self.where}: {exc.reason}") from None
        self.sync()  # up to date first
        return self._undo.action(label) if self._undo is not None else nullcontext()

    def undo_steps(self) -> int:
        """How many steps `undo` can revert now (the tracker orders its own steps by it)."""
        if self._undo is None or not self._store.is_open:
            return 0
        return len(self._undo.labels())

    def can_undo(self) -> str | None:
        """The label of the step `undo` would revert, or None (also once the connection that held
        the history is gone)."""
        if self._undo is None or not self._store.is_open:
            return None
        return self._undo.peek()  # type: ignore[no-any-return]

    def can_redo(self) -> str | None:
        """The label of the step `redo` would make again, or None (after any new change: None)."""
        if self._undo is None or not self._store.is_open:
            return None
        return self._undo.peek_redo()  # type: ignore[no-any-return]

    def redo(self) -> str:
        return self._replay("redo")

    def undo(self) -> str:
        return self._replay("undo")

    def _replay(self, what: str) -> str:
        """`undo` or `redo` the newest step of the undo log, then read the copy again."""
        with self._lock:
            log = self._undo
            if log is None or not self._store.is_open or not (log.can_undo() if what == "undo" else log.can_redo()):
                raise GalleryError(f"nothing to {what}")
            try:
                label: str = log.undo() if what == "undo" else log.redo()
            except StoreError as exc:
                raise GalleryError(f"cannot {what}: {exc.reason}") from None
            except sqlite3.Error as exc:  # tracker/gallery/undo.py works on the SQLite connection itself
                raise GalleryError(f"cannot {what}: {exc}") from None
            self._load()
            return label
