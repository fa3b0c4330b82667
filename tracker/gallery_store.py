"""The gallery file on disk: private, shared safely between processes, changed in whole transactions.

Several processes may hold one gallery at once (the app, a `run` per camera, `people` commands).
SQLite in WAL mode lets readers go on while one writes; writers queue on a busy timeout. Each
process keeps an in-memory copy for matching, so every change is made by `transaction`: take the
write lock (BEGIN IMMEDIATE), re-read the copy if another process committed since (PRAGMA
data_version), check and change, commit. A failure rolls back and re-reads, so neither the file
nor the copy is left half changed.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Protocol, Self, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from .descriptor_table import DescriptorTable
from .errors import GalleryError
from .gallery_schema import ORIGINS, Person, _pair, check_gallery_file, prepare
from .records import DESCRIPTOR_SIZE
from .undo import UndoLog

log = logging.getLogger(__name__)

UNDO_STEPS = 50
BUSY_TIMEOUT_MS = 15_000  # how long a writer waits for another process's transaction
F = TypeVar("F", bound=Callable[..., Any])


def private_mkdir(folder: Path) -> None:
    """Create `folder` and any missing parents owner-only (0700); existing folders stay as they are."""
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise GalleryError(f"cannot create gallery folder {d}: {exc.strerror}") from None


def create_private(path: Path) -> None:
    """An empty file only its owner can read; SQLite gives its -wal and -shm files the same mode."""
    private_mkdir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another process made it first
    except OSError as exc:
        raise GalleryError(f"cannot create gallery {path}: {exc.strerror}") from None


def _tighten(path: Path) -> None:
    """A gallery of ours that others can read (made before facetrack made them private) becomes 0600."""
    try:
        st = path.stat()
        if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & 0o077:
            path.chmod(0o600)
            log.info("gallery %s was readable by other users; it is now private (0600)", path)
    except (OSError, AttributeError):  # not ours to change, or no getuid (Windows)
        pass


def connect(path: Path, create: bool, migrate: bool = True) -> sqlite3.Connection:
    """Open (or create) the gallery at `path` in WAL mode, schema checked and migrated."""
    if not create and path.exists() and path.stat().st_size == 0:
        create = True  # made by a process that stopped before writing the schema
    if create:
        create_private(path)
    else:
        _tighten(path)
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                             timeout=BUSY_TIMEOUT_MS / 1000)
        db.execute("PRAGMA foreign_keys = ON")
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        prepare(db, path, create, migrate)  # first: another app's SQLite file is refused unchanged
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            log.debug("gallery %s: WAL mode unavailable; journal mode %s", path, mode)
    except sqlite3.DatabaseError as exc:
        raise GalleryError(f"{path} is not a facetrack gallery ({exc})") from None
    return db


def _last_change(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
    return int(row[0]) if row else 0


REFRESH_SHARE = 0.2  # more rows changed than this share of the gallery: read it all again


def data_version(db: sqlite3.Connection) -> int:
    """Changes whenever another connection commits to the file (never for this one's own commits)."""
    return int(db.execute("PRAGMA data_version").fetchone()[0])


class _Transactional(Protocol):
    _db: sqlite3.Connection | None
    _txn_depth: int
    _seen_seq: int
    _lock: Any
    path: Path

    def _ensure_db(self) -> sqlite3.Connection: ...

    def _reload_if_stale(self) -> None: ...

    def _load(self) -> None: ...


def transaction(method: F) -> F:
    """Run a gallery method as one write transaction over a fresh in-memory copy (see the module
    note); nested calls join the outer transaction."""

    @functools.wraps(method)
    def wrapper(self: _Transactional, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self._txn_depth:
                self._txn_depth += 1
                try:
                    return method(self, *args, **kwargs)
                finally:
                    self._txn_depth -= 1
            db = self._ensure_db()
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise GalleryError(f"cannot write gallery {self.path}: {exc}") from None
            self._txn_depth = 1
            try:
                self._reload_if_stale()
                result = method(self, *args, **kwargs)
                self._seen_seq = _last_change(db)  # ours, under the write lock: nobody else's between
                db.execute("COMMIT")
            except BaseException as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                self._txn_depth = 0
                self._load()  # the copy may hold part of what was rolled back
                if isinstance(exc, sqlite3.Error):
                    raise GalleryError(f"cannot write gallery {self.path}: {exc}") from None
                raise
            finally:
                self._txn_depth = 0
            # The copy's data_version is not updated here: another process may have committed
            # right after this one, and the next sync() must still see that.
            return result

    return cast(F, wrapper)


class GalleryFile:
    """The file and the in-memory copy of it that Gallery reads and changes (see the module note)."""

    def __init__(self, path: Path | str, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly  # only read: an older schema is read as it is, not migrated
        self._has_log = False  # the file has the change log (schema 3)
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._undo: UndoLog | None = None  # once the file is open for writing
        self.version = 0  # bumped on every change, so views know when to refresh
        self._table = DescriptorTable()  # every stored descriptor, and the k-NN index over them
        self._people: dict[int, Person] = {}
        self._links: set[tuple[int, int]] = set()
        self._auto_counter = 0  # the highest "Person N" ever given
        self._txn_depth = 0  # > 0 inside a write transaction (gallery_store.transaction)
        self._seen_version = -1  # PRAGMA data_version when the copy was read
        self._seen_seq = -1  # the newest entry of the file's change log the copy holds
        self.full_loads = 0  # times the whole gallery was read (a refresh reads only what changed)
        if self.path.exists():
            check_gallery_file(self.path)
            self._open(create=False)
            self._load()
        # An absent gallery reads as empty and is created by the first change, so a command
        # that fails (an enrolment without a face) leaves no empty file behind.

    # ---------------------------------------------------------------- storage
    def _open(self, create: bool) -> None:
        db = connect(self.path, create, migrate=not self.readonly)
        self._has_log = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'changes'").fetchone() is not None
        self._db = db
        self._undo = UndoLog(db, ["people", "descriptors", "cannot_links"], limit=UNDO_STEPS)

    def _ensure_db(self) -> sqlite3.Connection:
        """The connection, creating the file on the first change (or opening one another
        process created meanwhile)."""
        if self._db is None:
            existed = self.path.exists()
            if existed:
                check_gallery_file(self.path)
            self._open(create=not existed)
            self._load()
        assert self._db is not None
        return self._db

    def _reload_if_stale(self) -> None:
        if self._db is not None and data_version(self._db) != self._seen_version:
            self._refresh()

    def sync(self) -> bool:
        """Re-read the copy if another process changed the file; True when it did. Cheap (one
        PRAGMA): callers may run it every second."""
        with self._lock:
            if self._txn_depth:
                return False
            try:
                if self._db is None:
                    if not self.path.exists():
                        return False
                    self._ensure_db()
                    return True
                if data_version(self._db) == self._seen_version:
                    return False
                self._db.execute("BEGIN")  # one snapshot for all the reads
                try:
                    self._refresh()
                finally:
                    self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise GalleryError(f"cannot read gallery {self.path}: {exc}") from None
            return True

    def _refresh(self) -> None:
        """Bring the copy up to date with what other processes committed: the descriptor rows
        the change log names since the copy was read, and the (small) people and link tables.
        The whole gallery is read again only when the log no longer reaches back that far or
        most of it changed."""
        db = self._db
        if db is None:
            return
        if self._seen_seq < 0 or not self._has_log:
            self._load()
            return
        first = db.execute("SELECT min(seq) FROM changes").fetchone()[0]
        last = _last_change(db)
        if last <= self._seen_seq:
            touched: list[int] = []
        elif first is None or first > self._seen_seq + 1:
            self._load()  # the log was trimmed past what this copy holds
            return
        else:
            touched = [int(r[0]) for r in db.execute("SELECT DISTINCT desc_id FROM changes WHERE seq > ?",
                                                      (self._seen_seq,))]
        if len(touched) > max(1000, REFRESH_SHARE * self._table.n):
            self._load()
            return
        try:
            rows = []
            for i in range(0, len(touched), 500):
                chunk = touched[i:i + 500]
                rows += db.execute(f"SELECT id, person_id, vector, origin FROM descriptors WHERE id IN "
                                   f"({','.join('?' * len(chunk))})", chunk).fetchall()
            people, links, counter = self._read_small_tables(db)
        except sqlite3.DatabaseError as exc:
            raise GalleryError(f"gallery {self.path} is damaged ({exc})") from None
        columns = self._descriptor_columns(rows)
        self._seen_version, self._seen_seq = data_version(db), last
        self._table.delete_rows(self._table.rows_of_ids(np.asarray(touched, np.int64)))
        self._table.append(*columns)
        self._apply_small_tables(people, links, counter)
        self.version += 1

    def _descriptor_columns(self, rows: list[Any]) -> tuple[NDArray[np.float32], NDArray[np.int64],
                                                            NDArray[np.int64], NDArray[np.int8]]:
        """(vectors, person ids, sample ids, origins) of `SELECT id, person_id, vector, origin` rows."""
        if any(not isinstance(r[2], bytes) or len(r[2]) != DESCRIPTOR_SIZE * 4 for r in rows):
            raise GalleryError(f"gallery {self.path} is damaged: it holds descriptors of the wrong size")
        vecs = [np.frombuffer(r[2], dtype=np.float32) for r in rows]
        return (np.stack(vecs) if vecs else np.zeros((0, DESCRIPTOR_SIZE), np.float32),
                np.asarray([r[1] for r in rows], np.int64), np.asarray([r[0] for r in rows], np.int64),
                np.asarray([ORIGINS.index(r[3]) if r[3] in ORIGINS else 2 for r in rows], np.int8))

    def _read_small_tables(self, db: sqlite3.Connection) -> tuple[list[Any], list[Any], Any]:
        people = db.execute("SELECT id, name, known, created, last_seen FROM people ORDER BY id").fetchall()
        links = db.execute("SELECT a, b FROM cannot_links").fetchall()
        counter = db.execute("SELECT value FROM meta WHERE key = 'auto_counter'").fetchone()
        return people, links, counter

    def _apply_small_tables(self, people: list[Any], links: list[Any], counter: Any) -> None:
        """People (their sample counts from the table, which is up to date), links, the counter."""
        self._people = {pid: Person(pid, name, bool(known), self._table.count(pid), float(created), last_seen)
                        for pid, name, known, created, last_seen in people}
        self._links = {_pair(int(a), int(b)) for a, b in links}
        self._auto_counter = int(counter[0]) if counter and str(counter[0]).isdigit() else 0

    def _load(self) -> None:
        if self._db is None:
            return
        try:
            self._seen_version = data_version(self._db)
            self._seen_seq = _last_change(self._db)
            rows = self._db.execute(
                "SELECT id, person_id, vector, origin FROM descriptors ORDER BY id").fetchall()
            people, links, counter = self._read_small_tables(self._db)
        except sqlite3.DatabaseError as exc:
            raise GalleryError(f"gallery {self.path} is damaged ({exc})") from None
        self.full_loads += 1
        self._table.load(*self._descriptor_columns(rows))
        self._apply_small_tables(people, links, counter)
        self.version += 1

    def _write(self, sql_steps: list[tuple[str, tuple[object, ...]]]) -> list[int]:
        """Run several statements in one transaction (the caller's, inside `transaction`);
        returns lastrowid per statement."""
        db = self._ensure_db()
        ids: list[int] = []
        if self._txn_depth:
            try:
                for sql, args in sql_steps:
                    ids.append(int(db.execute(sql, args).lastrowid or 0))
            except sqlite3.Error as exc:
                raise GalleryError(f"cannot write gallery {self.path}: {exc}") from None
            return ids
        assert self._db is not None
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._reload_if_stale()  # so that the change log read below follows on from the copy
            for sql, args in sql_steps:
                ids.append(int(self._db.execute(sql, args).lastrowid or 0))
            self._seen_seq = _last_change(self._db)
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- undo
    def action(self, label: str) -> Any:
        """A user's action (rename, merge, split...): one step that `undo` reverts whole."""
        self._ensure_db()
        return self._undo.action(label) if self._undo is not None else nullcontext()

    def can_undo(self) -> str | None:
        """The label of the step `undo` would revert, or None."""
        return self._undo.peek() if self._undo is not None else None

    def undo(self) -> str:
        with self._lock:
            if self._undo is None or not self._undo.can_undo():
                raise GalleryError("nothing to undo")
            try:
                label: str = self._undo.undo()
            except sqlite3.Error as exc:
                raise GalleryError(f"cannot undo: {exc}") from None
            self._load()
            return label
