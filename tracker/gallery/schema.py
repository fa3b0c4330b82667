"""The gallery's SQLite schema, its migrations, and the records read from it."""

from __future__ import annotations

import sqlite3
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from ..errors import GalleryError
from ..paths import shown

SCHEMA_VERSION = 3
SQLITE_MAGIC = b"SQLite format 3\x00"

# Where a stored descriptor came from. Enrolled photos are never pruned; samples the user named
# ("Who is this?") and samples the tracker learned are bounded per person.
ENROLLED = "enrolled"
NAMED = "named"
LEARNED = "learned"
ORIGINS = (ENROLLED, NAMED, LEARNED)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids are never reused: a stale reference finds nobody
    name TEXT NOT NULL UNIQUE,
    known INTEGER NOT NULL,
    created REAL NOT NULL,
    last_seen REAL,
    cover INTEGER
);
CREATE TABLE IF NOT EXISTS descriptors (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    vector BLOB NOT NULL,
    thumbnail BLOB,
    origin TEXT NOT NULL,
    created REAL NOT NULL,
    source TEXT,
    track INTEGER,
    frame INTEGER,
    at REAL
);
CREATE INDEX IF NOT EXISTS descriptors_person ON descriptors(person_id);
CREATE TABLE IF NOT EXISTS cannot_links (
    a INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    b INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    created REAL NOT NULL,
    PRIMARY KEY (a, b),
    CHECK (a < b)
);
""" + """
-- Every descriptor row inserted, deleted or changed, in commit order: another process sharing
-- the file re-reads just those rows (gallery/copy.py: GalleryCopy._refresh), not the whole gallery.
-- Kept to the newest 50,000 or so; a process further behind reads everything again.
CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, desc_id INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS changes_insert AFTER INSERT ON descriptors
    BEGIN INSERT INTO changes (desc_id) VALUES (new.id); END;
CREATE TRIGGER IF NOT EXISTS changes_delete AFTER DELETE ON descriptors
    BEGIN INSERT INTO changes (desc_id) VALUES (old.id); END;
CREATE TRIGGER IF NOT EXISTS changes_update AFTER UPDATE ON descriptors
    BEGIN INSERT INTO changes (desc_id) VALUES (old.id); INSERT INTO changes (desc_id) VALUES (new.id); END;
CREATE TRIGGER IF NOT EXISTS changes_trim AFTER INSERT ON changes WHEN new.seq % 1000 = 0
    BEGIN DELETE FROM changes WHERE seq <= new.seq - 50000; END;
"""
CHANGES_SCHEMA = SCHEMA[SCHEMA.index("-- Every descriptor row"):]

# Portable SQL (SQLite and PostgreSQL): a cannot-link already there is kept as it is.
INSERT_LINK = "INSERT INTO cannot_links (a, b, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"

# Schema 1 had no provenance columns, no chosen thumbnail ("cover") and no cannot-links.
MIGRATE_1_TO_2 = [
    "ALTER TABLE people ADD COLUMN cover INTEGER",
    "ALTER TABLE descriptors ADD COLUMN source TEXT",
    "ALTER TABLE descriptors ADD COLUMN track INTEGER",
    "ALTER TABLE descriptors ADD COLUMN frame INTEGER",
    "ALTER TABLE descriptors ADD COLUMN at REAL",
]


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


@dataclass(frozen=True)
class Provenance:
    """Where a descriptor came from: a photo file (`source` only), or a frame of a track."""

    source: str | None = None
    track: int | None = None
    frame: int | None = None
    at: float | None = None  # seconds into the source

    def __post_init__(self) -> None:
        if self.source is not None:  # a file name stored as text: printable, valid UTF-8
            source = self.source
            if isinstance(source, bytes):  # a value of the wrong type in a damaged gallery
                source = source.decode("utf-8", "surrogateescape")
            object.__setattr__(self, "source", shown(str(source)))


@dataclass(frozen=True)
class Sample:
    """One stored descriptor with its provenance (not the vector: that stays in the gallery)."""

    id: int
    person_id: int
    origin: str
    created: float
    provenance: Provenance
    thumbnail: bytes

    def describe(self) -> str:
        p = self.provenance
        if self.origin == ENROLLED:
            return f"enrolled photo {p.source}" if p.source else "enrolled photo"
        where = p.source or "?"
        if p.frame is not None:  # counted from 1, as the app's status bar counts them (JSON keeps the index)
            where += f", frame {p.frame + 1}"
        if p.at is not None:
            where += f" ({p.at:.1f} s)"
        if p.track is not None:
            where += f", track {p.track}"
        return f"{'named by the user' if self.origin == NAMED else 'learned'} from {where}"

    def as_json(self) -> dict[str, object]:
        p = self.provenance
        return {"id": self.id, "origin": self.origin, "source": p.source, "track": p.track,
                "frame": p.frame, "at": p.at, "created": self.created}


def encode_thumbnail(chip: NDArray[np.uint8]) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(chip), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 85])
    return bytes(buf) if ok else b""


def decode_thumbnail(data: bytes) -> NDArray[np.uint8] | None:
    if not data:
        return None
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if img is None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


MAX_NAME = 100


def link_pair(a: int, b: int) -> tuple[int, int]:
    """A cannot-link's key: (smaller id, larger id)."""
    return (a, b) if a < b else (b, a)


def clean_name(name: str) -> str:
    """A person's name as stored: trimmed, printable (no tabs, newlines or other control
    characters that would forge rows in a listing), at most MAX_NAME characters."""
    cleaned = unicodedata.normalize("NFC", str(name)).strip()
    if not cleaned:
        raise GalleryError("a person's name cannot be empty")
    bad = [c for c in cleaned if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")]
    if bad:
        raise GalleryError(f"a name must be printable: {cleaned[:40]!r} holds {bad[0]!r}")
    if len(cleaned) > MAX_NAME:
        raise GalleryError(f"a name is at most {MAX_NAME} characters (this one has {len(cleaned)})")
    return cleaned


def _statements(script: str) -> list[str]:
    """The statements of a script, triggers whole (sqlite3.complete_statement decides)."""
    out, cur = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--") and not cur:
            continue
        cur += line
        if sqlite3.complete_statement(cur):
            out.append(cur.strip())
            cur = ""
    return out


def check_app(db: sqlite3.Connection, path: Path) -> None:
    """Refuse an SQLite file that is not a facetrack gallery (its meta table says whose it is)."""
    has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    row = db.execute("SELECT value FROM meta WHERE key = 'app'").fetchone() if has_meta else None
    if row is None or row[0] != "facetrack":
        raise GalleryError(f"{path} is an SQLite file but not a facetrack gallery")


def prepare(db: sqlite3.Connection, path: Path, create: bool, migrate: bool = True) -> None:
    """Create the schema in a new file, check an existing one, and migrate it to the newest
    (not when opened only to read it: an older facetrack may still be using that file)."""
    if create:  # in one transaction: another process may be creating the same file
        db.executescript("BEGIN IMMEDIATE;" + SCHEMA +
                         "INSERT OR IGNORE INTO meta VALUES ('app', 'facetrack');"
                         f"INSERT OR IGNORE INTO meta VALUES ('schema', '{SCHEMA_VERSION}');COMMIT;")
    check_app(db, path)
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    try:
        schema = int(row[0]) if row is not None else -1
    except ValueError:
        schema = -1
    if schema < 1:
        raise GalleryError(f"gallery {path} is damaged (no schema version)")
    if schema > SCHEMA_VERSION:
        raise GalleryError(f"gallery {path} was written by a newer facetrack (schema {schema})")
    if schema == 1 and not migrate:
        raise GalleryError(f"gallery {path} has the first schema; open it once for writing to update it")
    if schema < SCHEMA_VERSION and migrate:
        cannot_links = SCHEMA[SCHEMA.index("CREATE TABLE IF NOT EXISTS cannot_links"):SCHEMA.index("-- Every")]
        db.execute("BEGIN IMMEDIATE")
        try:
            if schema == 1:
                for sql in [*MIGRATE_1_TO_2, cannot_links.strip().rstrip(";")]:
                    db.execute(sql)
            # 2 -> 3: the change log (its triggers: one statement each, so not split on ";").
            for sql in _statements(CHANGES_SCHEMA):
                db.execute(sql)
            db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
            db.execute("COMMIT")
        except sqlite3.Error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
