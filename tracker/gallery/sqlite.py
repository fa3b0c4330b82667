"""The embedded gallery store: one private SQLite file in WAL mode.

Several processes may share the file (the app, a `run` per camera, `people` commands): readers go
on while one writes, writers queue on a busy timeout (BEGIN IMMEDIATE), and PRAGMA data_version
tells a process that another one committed. The undo history lives in the connection's TEMP
schema (tracker/gallery/undo.py). See tracker/gallery/copy.py for the in-memory copy over it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import GalleryError
from .files import check_file, check_writable, new_file, stat_of, tighten
from .schema import check_app, prepare
from .store import StoreError
from .undo import UndoLog

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 15_000  # how long a writer waits for another process's transaction
UNDO_TABLES = ("people", "descriptors", "cannot_links")


def _uri(path: Path, mode: str) -> str:
    """An SQLite URI for `path`, any bytes in the name (the file name's own bytes, percent-encoded)."""
    return f"file:{urllib.parse.quote(os.fsencode(os.path.abspath(path)))}?mode={mode}"


def _sqlite(path: Path, mode: str) -> sqlite3.Connection:
    db = sqlite3.connect(_uri(path, mode), uri=True, check_same_thread=False, isolation_level=None,
                         timeout=BUSY_TIMEOUT_MS / 1000)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return db


def _fill_schema(tmp: Path) -> None:
    db = _sqlite(tmp, "rw")
    try:
        prepare(db, tmp, create=True)
        db.execute("PRAGMA journal_mode = WAL")  # kept in the file: every later open is in WAL mode
    finally:
        db.close()


def create_gallery(path: Path) -> None:
    """A new, empty gallery at `path` (if another process made one there meanwhile, theirs stays)."""
    new_file(path, _fill_schema)


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot change the gallery (query_only) and leaves nothing beside it.

    Opened read-write where the file allows, so that SQLite removes the -wal and -shm files it
    makes when the last connection closes. A file that nobody may write (no write bit at all), or
    one in a folder where those files cannot be made, with no -wal left by a writer, is read as
    immutable: no writer can be at work on it. Otherwise read-only, as SQLite shares it with a
    writer that may write it."""
    no_writer = not Path(f"{path}-wal").exists() and (
        not path.stat().st_mode & 0o222 or not os.access(path.parent, os.W_OK | os.X_OK))
    if not no_writer:
        db = _sqlite(path, "rw")
        try:
            db.execute("PRAGMA query_only = ON")
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # WAL's files are made here
            return db
        except sqlite3.OperationalError:
            db.close()
    if no_writer:
        db = sqlite3.connect(f"{_uri(path, 'ro')}&immutable=1", uri=True, check_same_thread=False,
                             isolation_level=None)
    else:
        db = _sqlite(path, "ro")
    db.execute("PRAGMA query_only = ON")
    return db


def _check_untouched(path: Path) -> None:
    """Whether `path` is a facetrack gallery, read as an immutable file: SQLite makes no -wal or
    -shm file beside it and takes no lock, so a file that is not ours (another application's
    database, a truncated copy) is refused exactly as it was found. Skipped where a -wal is there:
    a writer is at work, and that read could catch a page half checkpointed."""
    if Path(f"{path}-wal").exists():
        return
    try:
        db = sqlite3.connect(f"{_uri(path, 'ro')}&immutable=1", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise GalleryError(f"cannot open gallery {path}: {exc}") from None
    try:
        check_app(db, path)
    except sqlite3.OperationalError as exc:
        raise GalleryError(f"cannot open gallery {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise GalleryError(f"{path} is not a facetrack gallery ({exc})") from None
    finally:
        db.close()


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """Open the existing gallery at `path` in WAL mode, its schema checked (and migrated, unless
    `readonly`). Read-only opens never write, migrate or chmod anything; the others are refused
    for a write-protected file."""
    check_file(path)
    _check_untouched(path)
    if not readonly:
        check_writable(path)
    try:
        db = _open_readonly(path) if readonly else _sqlite(path, "rw")
        try:
            prepare(db, path, False, migrate=not readonly)  # first: another app's SQLite file is refused unchanged
            if not readonly:
                mode = db.execute("PRAGMA journal_mode = WAL").fetchone()
                if mode is None or str(mode[0]).lower() != "wal":
                    log.debug("gallery %s: WAL mode unavailable; journal mode %s", path, mode)
        except BaseException:
            db.close()
            raise
    except sqlite3.OperationalError as exc:  # the file system's or a lock's refusal: a disk full, I/O
        raise GalleryError(f"cannot open gallery {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:  # the file's content: not a database, malformed
        raise GalleryError(f"{path} is not a facetrack gallery ({exc})") from None
    if not readonly:
        tighten(path)
    return db


class SqliteStore:
    """A gallery file (see the module note); statements use `?` placeholders."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.where = str(path)
        self.readonly = readonly  # an older schema is read as it is, not migrated
        self.has_log = False  # the file has the change log (schema 3)
        self.durable = True
        self._db: sqlite3.Connection | None = None

    @property
    def is_open(self) -> bool:
        return self._db is not None

    def exists(self) -> bool:
        return check_file(self.path)  # a clear error for what is there but is not a gallery

    def open(self, create: bool) -> None:
        if create:
            if self.readonly:
                raise StoreError(self.where, "opened only to read")
            create_gallery(self.path)
        db = connect(self.path, readonly=self.readonly)
        self.has_log = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'changes'").fetchone() is not None
        self._db = db

    def identity(self) -> tuple[object, ...]:
        """What names this gallery whatever the path says (a hard link, a bind mount, another
        spelling): its file's device and inode."""
        st = stat_of(self.path)
        return ("sqlite", str(self.path)) if st is None else ("sqlite", st.st_dev, st.st_ino)

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
        """A consistent copy while other processes write (SQLite's backup API), in one file: `dest`
        is new and empty (new_file's temporary file)."""
        out = _sqlite(dest, "rw")
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
    gallery file at `dest` (new and empty: new_file's temporary file), ids kept: a backup that
    any facetrack opens."""
    db = _sqlite(dest, "rw")
    try:
        prepare(db, dest, create=True)
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
