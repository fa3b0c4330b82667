"""UndoLog over a real SQLite file: steps, background writes, cascades, limits, and a property test."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.gallery.undo import UndoLog

TABLES = ("people", "descriptors", "cannot_links")

SCHEMA = """
CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT UNIQUE, known INTEGER);
CREATE TABLE descriptors (
    id INTEGER PRIMARY KEY,
    person_id INTEGER REFERENCES people(id) ON DELETE CASCADE,
    vector BLOB,
    origin TEXT
);
CREATE TABLE cannot_links (a INTEGER, b INTEGER, PRIMARY KEY (a, b));
"""


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    db.executescript(SCHEMA)
    return db


def blob(seed: int, size: int = 512) -> bytes:
    """Bytes covering every value, NUL included, so any lossy round trip shows."""
    return bytes((seed * 31 + i * 7) % 256 for i in range(size))


@contextmanager
def write(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def snapshot(db: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, with each value's storage type, in a fixed order."""
    out: dict[str, list[tuple[object, ...]]] = {}
    for table in TABLES:
        cols = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        typed = ", ".join(f"{c}, typeof({c})" for c in cols)
        out[table] = db.execute(f"SELECT rowid, {typed} FROM {table} ORDER BY rowid").fetchall()
    return out


def seed(db: sqlite3.Connection) -> None:
    with write(db):
        db.executemany("INSERT INTO people (id, name, known) VALUES (?, ?, ?)",
                       [(1, "Ann", 1), (2, "Bob", 1), (3, "Cy", 0)])
        db.executemany("INSERT INTO descriptors (id, person_id, vector, origin) VALUES (?, ?, ?, ?)",
                       [(10, 1, blob(10), "enrolled"), (11, 2, blob(11), "enrolled"),
                        (12, 2, blob(12), "learned"), (13, 3, blob(13), "named")])
        db.execute("INSERT INTO cannot_links (a, b) VALUES (1, 2)")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = connect(tmp_path / "gallery.sqlite3")
    seed(conn)
    yield conn
    conn.close()


@pytest.fixture
def undo(db: sqlite3.Connection) -> UndoLog:
    return UndoLog(db, TABLES)


def names(db: sqlite3.Connection) -> dict[int, str]:
    return dict(db.execute("SELECT id, name FROM people"))


def merge(db: sqlite3.Connection, keep: int, drop: int) -> None:
    with write(db):
        db.execute("UPDATE descriptors SET person_id = ? WHERE person_id = ?", (keep, drop))
        db.execute("DELETE FROM people WHERE id = ?", (drop,))


def test_rename_is_undone(db: sqlite3.Connection, undo: UndoLog) -> None:
    before = snapshot(db)
    with undo.action("Rename Bob"), write(db):
        db.execute("UPDATE people SET name = 'Robert' WHERE id = 2")
    assert names(db)[2] == "Robert"
    assert undo.can_undo() and undo.peek() == "Rename Bob" and undo.labels() == ["Rename Bob"]
    assert undo.undo() == "Rename Bob"
    assert snapshot(db) == before
    assert not undo.can_undo() and undo.peek() is None and undo.labels() == []


def test_merge_is_undone_with_identical_blobs(db: sqlite3.Connection, undo: UndoLog) -> None:
    before = snapshot(db)
    with undo.action("Merge Bob into Ann"):
        merge(db, keep=1, drop=2)
    assert db.execute("SELECT count(*) FROM descriptors WHERE person_id = 1").fetchone()[0] == 3
    assert 2 not in names(db)
    undo.undo()
    assert snapshot(db) == before
    vectors = dict(db.execute("SELECT id, vector FROM descriptors"))
    assert all(vectors[i] == blob(i) for i in (10, 11, 12, 13))
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_delete_with_cascade_is_undone(db: sqlite3.Connection, undo: UndoLog) -> None:
    before = snapshot(db)
    with undo.action("Delete Bob"), write(db):
        db.execute("DELETE FROM people WHERE id = 2")
    assert db.execute("SELECT count(*) FROM descriptors WHERE person_id = 2").fetchone()[0] == 0
    undo.undo()
    assert snapshot(db) == before
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_cascade_undo_needs_no_deferred_check(db: sqlite3.Connection, undo: UndoLog) -> None:
    """The logged order alone puts the parent back first: replay the log by hand, checks immediate."""
    with undo.action("Delete Bob"), write(db):
        db.execute("DELETE FROM people WHERE id = 2")
    statements = [s for (s,) in db.execute("SELECT sql FROM undolog_log ORDER BY seq DESC")]
    assert statements[0].startswith('INSERT OR REPLACE INTO "people"')
    with write(db):
        for sql in statements:
            db.execute(sql)  # foreign_keys ON, not deferred: a child first would fail here
    assert db.execute("SELECT count(*) FROM descriptors WHERE person_id = 2").fetchone()[0] == 2


def test_twenty_five_steps_undone_one_by_one(db: sqlite3.Connection, undo: UndoLog) -> None:
    states = [snapshot(db)]
    for i in range(25):
        with undo.action(f"step {i}"), write(db):
            match i % 5:
                case 0:
                    db.execute("INSERT INTO people (name, known) VALUES (?, 0)", (f"P{i}",))
                case 1:
                    db.execute("UPDATE people SET name = ? WHERE id = 1", (f"Ann {i}",))
                case 2:
                    db.execute("INSERT INTO descriptors (person_id, vector, origin) VALUES (1, ?, 'learned')",
                               (blob(i),))
                case 3:
                    db.execute("DELETE FROM descriptors WHERE id = (SELECT max(id) FROM descriptors)")
                case _:
                    db.execute("INSERT OR IGNORE INTO cannot_links (a, b) VALUES (?, ?)", (i, i + 1))
        states.append(snapshot(db))
    assert undo.labels() == [f"step {i}" for i in range(25)]
    for i in reversed(range(25)):
        assert undo.peek() == f"step {i}"
        assert undo.undo() == f"step {i}"
        assert snapshot(db) == states[i]
    assert not undo.can_undo()
    with pytest.raises(LookupError):
        undo.undo()


def test_background_writes_are_not_recorded_and_survive_undo(db: sqlite3.Connection, undo: UndoLog) -> None:
    with write(db):  # before any action
        db.execute("UPDATE people SET known = 5 WHERE id = 3")
    assert not undo.can_undo()
    with undo.action("Rename Ann"), write(db):
        db.execute("UPDATE people SET name = 'Anna' WHERE id = 1")
    with write(db):  # between actions: a learned sample and a 'last seen' style update
        db.execute("INSERT INTO descriptors (id, person_id, vector, origin) VALUES (20, 1, ?, 'learned')",
                   (blob(20),))
        db.execute("UPDATE people SET known = 7 WHERE id = 2")
    assert undo.labels() == ["Rename Ann"]
    undo.undo()
    assert names(db)[1] == "Ann"
    assert db.execute("SELECT vector FROM descriptors WHERE id = 20").fetchone()[0] == blob(20)
    assert dict(db.execute("SELECT id, known FROM people")) == {1: 1, 2: 7, 3: 5}
    assert not undo.can_undo()


def test_undo_tolerates_rows_changed_in_the_background(db: sqlite3.Connection, undo: UndoLog) -> None:
    with undo.action("Add Dee and a sample"), write(db):
        db.execute("INSERT INTO people (id, name, known) VALUES (4, 'Dee', 1)")
        db.execute("UPDATE descriptors SET origin = 'learned' WHERE id = 13")
    with undo.action("Delete Cy"), write(db):
        db.execute("DELETE FROM people WHERE id = 3")
    with write(db):  # background: Dee goes away, id 3 is taken again
        db.execute("DELETE FROM people WHERE id = 4")
        db.execute("INSERT INTO people (id, name, known) VALUES (3, 'Other', 0)")
    assert undo.undo() == "Delete Cy"  # INSERT OR REPLACE over the new row 3
    assert names(db)[3] == "Cy"
    assert db.execute("SELECT origin FROM descriptors WHERE id = 13").fetchone()[0] == "learned"
    assert undo.undo() == "Add Dee and a sample"  # deleting the gone Dee does nothing
    assert 4 not in names(db)
    assert db.execute("SELECT origin FROM descriptors WHERE id = 13").fetchone()[0] == "named"


def test_failing_action_is_not_recorded(db: sqlite3.Connection, undo: UndoLog) -> None:
    before = snapshot(db)
    with pytest.raises(RuntimeError), undo.action("Broken"), write(db):
        db.execute("UPDATE people SET name = 'X' WHERE id = 1")
        raise RuntimeError("boom")
    assert snapshot(db) == before  # the caller's transaction rolled back
    assert not undo.can_undo()
    with pytest.raises(sqlite3.IntegrityError), undo.action("Clash"):
        with write(db):
            db.execute("UPDATE people SET known = 9 WHERE id = 3")
        db.execute("UPDATE people SET name = 'Ann' WHERE id = 2")  # UNIQUE violation, autocommit
    assert not undo.can_undo() and undo.labels() == []
    assert db.execute("SELECT count(*) FROM undolog_log").fetchone()[0] == 0
    with write(db):  # recording is off again
        db.execute("UPDATE people SET known = 0 WHERE id = 3")
    assert not undo.can_undo()


def test_nested_actions_join_the_outer_one(db: sqlite3.Connection, undo: UndoLog) -> None:
    before = snapshot(db)
    with undo.action("Outer"):
        with write(db):
            db.execute("UPDATE people SET name = 'A2' WHERE id = 1")
        with undo.action("Inner"), write(db):
            db.execute("UPDATE people SET name = 'B2' WHERE id = 2")
        with pytest.raises(ValueError), undo.action("Inner failing"):
            raise ValueError("caught by the outer block")
    assert undo.labels() == ["Outer"]
    undo.undo()
    assert snapshot(db) == before


def test_empty_step_is_not_kept(db: sqlite3.Connection, undo: UndoLog) -> None:
    with undo.action("Nothing"):
        pass
    with undo.action("Same values"), write(db):
        db.execute("UPDATE people SET name = name, known = known")
        db.execute("DELETE FROM people WHERE id = 99")
    assert not undo.can_undo()


def test_limit_drops_oldest(db: sqlite3.Connection) -> None:
    undo = UndoLog(db, TABLES, limit=3)
    for i in range(5):
        with undo.action(f"rename {i}"), write(db):
            db.execute("UPDATE people SET name = ? WHERE id = 1", (f"Ann {i}",))
    assert undo.labels() == ["rename 2", "rename 3", "rename 4"]
    assert db.execute("SELECT count(DISTINCT step) FROM undolog_log").fetchone()[0] == 3
    for _ in range(3):
        undo.undo()
    assert names(db)[1] == "Ann 1"
    with pytest.raises(LookupError):
        undo.undo()


def test_undo_with_nothing_raises_lookup_error(undo: UndoLog) -> None:
    assert not undo.can_undo() and undo.peek() is None
    with pytest.raises(LookupError):
        undo.undo()


def test_clear_forgets_steps(db: sqlite3.Connection, undo: UndoLog) -> None:
    with undo.action("Rename"), write(db):
        db.execute("UPDATE people SET name = 'Z' WHERE id = 1")
    undo.clear()
    assert not undo.can_undo() and undo.labels() == []
    assert names(db)[1] == "Z"


def test_undo_is_not_recorded_and_rolls_back_on_error(db: sqlite3.Connection, undo: UndoLog) -> None:
    with undo.action("Rename Ann"), write(db):
        db.execute("UPDATE people SET name = 'Zed' WHERE id = 1")
    with undo.action("Rename Bob"), write(db):
        db.execute("UPDATE people SET name = 'Yan' WHERE id = 2")
    with write(db):  # background: someone else is now called Bob
        db.execute("UPDATE people SET name = 'Bob' WHERE id = 3")
    with pytest.raises(sqlite3.IntegrityError):
        undo.undo()
    assert not db.in_transaction
    assert names(db) == {1: "Zed", 2: "Yan", 3: "Bob"}
    assert undo.labels() == ["Rename Ann", "Rename Bob"]  # still there after the failed undo
    with write(db):
        db.execute("UPDATE people SET name = 'Cy' WHERE id = 3")
    assert undo.undo() == "Rename Bob"
    assert undo.labels() == ["Rename Ann"]  # the undo added no step of its own
    assert undo.undo() == "Rename Ann"
    assert names(db) == {1: "Ann", 2: "Bob", 3: "Cy"}


def test_exact_values_without_rowid_and_odd_names(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "odd.sqlite3", isolation_level=None)
    db.execute('CREATE TABLE "we""ird" (k TEXT COLLATE NOCASE PRIMARY KEY, "it\'s" REAL, v) WITHOUT ROWID')
    db.execute("CREATE TABLE plain (rowid TEXT, x)")  # a column shadowing rowid
    rows = [("a", 0.1 + 0.2, b"\x00\xff"), ("B", float("inf"), "O'Neil"), ("c", -1e-300, None), ("d", 2.0, 3)]
    db.executemany('INSERT INTO "we""ird" VALUES (?, ?, ?)', rows)
    db.execute("INSERT INTO plain VALUES ('r', 1)")
    undo = UndoLog(db, ['we"ird', "plain"])

    def dump() -> list[tuple[object, ...]]:
        return (db.execute('SELECT *, typeof(v) FROM "we""ird" ORDER BY k').fetchall()
                + db.execute("SELECT _rowid_, * FROM plain ORDER BY _rowid_").fetchall())

    before = dump()
    with undo.action("Mangle"), write(db):
        db.execute('UPDATE "we""ird" SET k = upper(k), "it\'s" = -"it\'s", v = 4.0')
        db.execute('UPDATE "we""ird" SET k = \'b\' WHERE k = \'B\'')  # same key under NOCASE
        db.execute('DELETE FROM "we""ird" WHERE k = \'C\'')
        db.execute('INSERT INTO "we""ird" VALUES (\'e\', 1e999, 1)')
        db.execute("UPDATE plain SET _rowid_ = 5, rowid = 'q'")
        db.execute("INSERT INTO plain VALUES ('s', x'00')")
    assert dump() != before
    undo.undo()
    assert dump() == before
    db.close()


def test_rejects_bad_arguments(db: sqlite3.Connection, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        UndoLog(db, ["nope"])
    with pytest.raises(ValueError):
        UndoLog(db, TABLES, limit=0)
    legacy = sqlite3.connect(tmp_path / "legacy.sqlite3")
    with pytest.raises(ValueError):
        UndoLog(legacy, [])
    legacy.close()


# --- property: any sequence of actions, all undone, gives back the initial contents -----------------------

OPS = st.lists(
    st.tuples(st.sampled_from(["insert", "rename", "delete", "merge", "sample", "link"]),
              st.integers(0, 10_000), st.integers(0, 10_000), st.binary(min_size=0, max_size=64)),
    max_size=20,
)


def apply(db: sqlite3.Connection, n: int, op: str, x: int, y: int, data: bytes) -> None:
    ids = [i for (i,) in db.execute("SELECT id FROM people ORDER BY id")]
    with write(db):
        if op == "insert" or not ids:
            cur = db.execute("INSERT INTO people (name, known) VALUES (?, ?)", (f"new {n}", x % 2))
            db.execute("INSERT INTO descriptors (person_id, vector, origin) VALUES (?, ?, 'enrolled')",
                       (cur.lastrowid, data))
            return
        a, b = ids[x % len(ids)], ids[y % len(ids)]
        if op == "rename":
            db.execute("UPDATE people SET name = ?, known = ? WHERE id = ?", (f"renamed {n}", y % 3, a))
        elif op == "delete":
            db.execute("DELETE FROM people WHERE id = ?", (a,))
        elif op == "merge" and a != b:
            db.execute("UPDATE descriptors SET person_id = ? WHERE person_id = ?", (a, b))
            db.execute("DELETE FROM people WHERE id = ?", (b,))
        elif op == "sample":
            db.execute("INSERT INTO descriptors (person_id, vector, origin) VALUES (?, ?, 'learned')", (a, data))
        elif op == "link":
            db.execute("INSERT OR REPLACE INTO cannot_links (a, b) VALUES (?, ?)", (min(a, b), max(a, b)))


@settings(max_examples=60, deadline=None)
@given(OPS)
def test_undoing_everything_restores_the_start(ops: list[tuple[str, int, int, bytes]]) -> None:
    fd, name = tempfile.mkstemp(suffix=".sqlite3")
    os.close(fd)
    db = connect(Path(name))
    try:
        seed(db)
        undo = UndoLog(db, TABLES, limit=len(ops) + 1)
        start = snapshot(db)
        for n, (op, x, y, data) in enumerate(ops):
            with undo.action(f"{n} {op}"):
                apply(db, n, op, x, y, data)
        while undo.can_undo():
            undo.undo()
        assert snapshot(db) == start
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.close()
        os.unlink(name)


def test_rows_deleted_by_replace_are_restored(db: sqlite3.Connection, undo: UndoLog) -> None:
    before = snapshot(db)
    with undo.action("Replace"), write(db):
        db.execute("INSERT OR REPLACE INTO cannot_links (a, b) VALUES (1, 2)")  # same key, new rowid
        db.execute("INSERT OR REPLACE INTO people (name, known) VALUES ('Bob', 0)")  # UNIQUE name: new id
    assert db.execute("SELECT id FROM people WHERE name = 'Bob'").fetchone()[0] != 2
    undo.undo()
    assert snapshot(db) == before


def test_redo_makes_undone_steps_again_and_a_new_change_ends_it(db: sqlite3.Connection, undo: UndoLog) -> None:
    """Issue 21: Ctrl+Shift+Z. Undo, then redo, brings back exactly the state after each step
    (a merge, a cascading delete), in order; a new change clears what could be redone."""
    start = snapshot(db)
    with undo.action("Merge Bob into Ann"):
        merge(db, keep=1, drop=2)
    merged = snapshot(db)
    with undo.action("Delete Cy"), write(db):
        db.execute("DELETE FROM people WHERE id = 3")
    deleted = snapshot(db)
    assert not undo.can_redo() and undo.peek_redo() is None
    assert undo.undo() == "Delete Cy" and undo.undo() == "Merge Bob into Ann"
    assert snapshot(db) == start and undo.peek_redo() == "Merge Bob into Ann"
    assert undo.redo() == "Merge Bob into Ann" and snapshot(db) == merged
    assert undo.redo() == "Delete Cy" and snapshot(db) == deleted
    assert not undo.can_redo() and undo.labels() == ["Merge Bob into Ann", "Delete Cy"]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    undo.undo()
    assert snapshot(db) == merged and undo.can_redo()
    with undo.action("Rename Ann"), write(db):
        db.execute("UPDATE people SET name = 'Anna' WHERE id = 1")
    assert not undo.can_redo()  # a new change: "Delete Cy" cannot be redone any more
    with pytest.raises(LookupError):
        undo.redo()
    assert undo.undo() == "Rename Ann" and undo.undo() == "Merge Bob into Ann" and snapshot(db) == start
