"""The embedded gallery store: one private SQLite file in WAL mode.

Several processes may share the file (the app, a `run` per camera, `people` commands): readers go
on while one writes, writers queue on a busy timeout (BEGIN IMMEDIATE), and PRAGMA data_version
tells a process that another one committed. The undo history lives in the connection's TEMP
schema (tracker/undo.py). See tracker/gallery_store.py for the in-memory copy over it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import GalleryError
from .gallery_schema import check_gallery_file, prepare
from .undo import UndoLog

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 15_000  # how long a writer waits for another process's transaction
UNDO_TABLES = ("people", "descriptors", "cannot_links")


class StoreError(GalleryError):
    """A failed statement; `reason` is the database's own words, for callers that reword it;
    `damaged`: a failed read means the gallery itself is broken (not a lost server, a lock...)."""

    def __init__(self, where: str, reason: str, damaged: bool = True) -> None:
        super().__init__(f"gallery {where}: {reason}")
        self.reason = reason
        self.damaged = damaged


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


class SqliteStore:
    """A gallery file (see the module note); statements use `?` placeholders."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.where = str(path)
        self.readonly = readonly  # an older schema is read as it is, not migrated
        self.has_log = False  # the file has the change log (schema 3)
        self._db: sqlite3.Connection | None = None

    @property
    def is_open(self) -> bool:
        return self._db is not None

    def exists(self) -> bool:
        if self.path.exists():
            check_gallery_file(self.path)  # a clear error for a file that is not a gallery
            return True
        return False

    def open(self, create: bool) -> None:
        db = connect(self.path, create, migrate=not self.readonly)
        self.has_log = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'changes'").fetchone() is not None
        self._db = db

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError(self.where, "not open")
        return self._db

    def query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        try:
            return self._conn().execute(sql, tuple(args)).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(self.where, str(exc)) from None

    def run(self, sql: str, args: Sequence[object] = ()) -> int:
        """One statement; the id of the row an INSERT made (0 for others)."""
        try:
            return int(self._conn().execute(sql, tuple(args)).lastrowid or 0)
        except sqlite3.Error as exc:
            raise StoreError(self.where, str(exc)) from None

    def alive(self) -> bool:
        """A file has no connection to lose."""
        return True

    def begin_write(self) -> None:
        """Take the write lock (other writers wait up to the busy timeout)."""
        self.run("BEGIN IMMEDIATE")

    def begin_read(self) -> None:
        """One snapshot for several reads."""
        self.run("BEGIN")

    def commit(self) -> None:
        self.run("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.run("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self._db is not None and self._db.in_transaction

    def version(self) -> int:
        """Changes whenever another connection commits (never for this one's own commits); cheap."""
        return int(self.query("PRAGMA data_version")[0][0])

    def last_change(self) -> int:
        """The newest entry of the descriptor change log."""
        rows = self.query("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")
        return int(rows[0][0]) if rows else 0

    def undo_log(self, limit: int) -> UndoLog:
        return UndoLog(self._conn(), UNDO_TABLES, limit=limit)

    def export_to(self, dest: Path) -> None:
        """A consistent copy while other processes write (SQLite's backup API), in one file."""
        out = sqlite3.connect(dest)
        try:
            self._conn().backup(out)
            out.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
        finally:
            out.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


_COPIED = {  # table -> its columns, in the order both schemas share
    "people": "id, name, known, created, last_seen, cover",
    "descriptors": "id, person_id, vector, thumbnail, origin, created, source, track, frame, at",
    "cannot_links": "a, b, created",
}


def copy_into_sqlite(query: Callable[[str], list[Any]], dest: Path) -> None:
    """Every row of another store's gallery (read by `query`, in one snapshot) into a new SQLite
    gallery file at `dest`, ids kept: a backup that any facetrack opens."""
    db = connect(dest, create=True)
    try:
        db.execute("BEGIN IMMEDIATE")
        for table, cols in _COPIED.items():
            rows = query(f"SELECT {cols} FROM {table} ORDER BY 1")
            marks = ", ".join("?" * len(cols.split(",")))
            db.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
        for key, value in query("SELECT key, value FROM meta WHERE key = 'auto_counter'"):
            db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                       (key, value))
        db.execute("COMMIT")
        db.execute("PRAGMA journal_mode = DELETE")
    finally:
        db.close()
