"""Undo log for an SQLite connection, built from TEMP triggers.

This follows the design note "Automatic Undo/Redo Using SQLite" (sqlite.org/undoredo.html): for every
logged table, TEMP triggers write the SQL statement that reverses each INSERT, UPDATE and DELETE into a TEMP
table. The statements written during one :meth:`UndoLog.action` form one step; :meth:`UndoLog.undo` runs the
newest step's statements in reverse order inside one transaction.

Everything lives in the connection's TEMP schema, so nothing is written to the database file and the history
ends with the connection. Because the log rows are written by triggers inside the same transaction as the
change they reverse, a transaction rolled back inside an action takes its log rows with it.

What is recorded
    Only changes made while an action is open. The triggers check a flag in a TEMP table in their ``WHEN``
    clause; :meth:`UndoLog.action` sets it on entry and clears it on exit, so background writes between
    actions (a "last seen" time, a learned sample) are not recorded and survive an undo, unless the undone
    step itself touched the same row.

Foreign keys
    Rows deleted by ``ON DELETE CASCADE`` fire the child table's triggers too, so they are logged as part of
    the step. The DELETE triggers run ``AFTER`` the row is gone, which SQLite does after the cascade, so the
    children's inverse statements precede the parent's in the log and undo (newest first) puts the parent back
    before its children. Undo also defers foreign-key checks to its COMMIT, so the order never matters for
    constraints that hold once the whole step is reverted.

REPLACE
    The log turns ``PRAGMA recursive_triggers`` on for the connection, so rows that ``INSERT OR REPLACE``
    deletes to resolve a conflict fire the DELETE trigger and are logged (SQLite skips DELETE triggers for
    them otherwise). Triggers of the application's own would then recurse too.

Limits
    The column lists are read with ``PRAGMA table_info`` when the log is made: create the :class:`UndoLog`
    after any schema migration. One :class:`UndoLog` per connection: making a second one on the same
    connection replaces the first one's triggers and history. Don't leave a transaction open across the edge
    of an action (BEGIN inside, COMMIT outside or the reverse): the recording flag is a table value, and a
    rollback that spans the edge would restore the flag's old value.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

__all__ = ["Steps", "UndoLog"]

# Names of the TEMP objects. The prefix keeps them apart from the application's own tables.
_PREFIX = "undolog_"
_STATE = "undolog_state"  # one row: recording flag and the id of the step being recorded
_LOG = "undolog_log"  # one row per inverse statement
_STEPS = "undolog_steps"  # one row per kept step: its id and label
_REDO = "undolog_redo"  # one row per undone step that redo can make again: its id and label

_ROWID_ALIASES = ("rowid", "_rowid_", "oid")


def _ident(name: str) -> str:
    """An SQL identifier, double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """An SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _quoted(expr: str) -> str:
    """SQL expression giving the SQL literal text of `expr`'s value.

    ``quote()`` restores NULL, integers, reals (it writes as many digits as a round trip needs), text and
    blobs exactly, but writes infinities as ``Inf``, which does not parse back: spell those as overflowing
    literals instead.
    """
    return f"CASE quote({expr}) WHEN 'Inf' THEN '9e999' WHEN '-Inf' THEN '-9e999' ELSE quote({expr}) END"


def _concat(parts: Sequence[str]) -> str:
    return " || ".join(parts)


class Steps(ABC):
    """What an undo log's actions share (this one's and tracker/gallery/postgres_undo.py's):
    nested actions join the outermost one; the outermost begins a step and ends it, kept only
    when it went through (`ok`). Subclasses say how a step begins and ends."""

    _depth = 0  # nesting depth of action() blocks

    @abstractmethod
    def _begin_step(self) -> int: ...

    @abstractmethod
    def _end_step(self, step: int, label: str, ok: bool) -> None: ...

    @contextmanager
    def action(self, label: str) -> Iterator[None]:
        """Record every change made inside the block as one undoable step, `label`.

        Nested actions join the outermost one (its label names the step). If the outermost block raises, the
        step is discarded: nothing is recorded, though changes already committed inside it stay. A step that
        changed nothing is not kept; keeping one more than `limit` steps drops the oldest.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        step = self._begin_step()
        self._depth = 1
        ok = False
        try:
            yield
            ok = True
        finally:
            self._depth = 0
            self._end_step(step, label, ok)


class UndoLog(Steps):
    """Undo history of the changes made to some tables of an SQLite connection.

    ``db`` must be in autocommit mode (``isolation_level=None``): the caller issues its own
    ``BEGIN IMMEDIATE`` / ``COMMIT`` around its writes, and an action may span several such transactions.

    Example::

        undo = UndoLog(db, ["people", "descriptors", "cannot_links"])
        with undo.action("Rename Bob"):
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE people SET name = 'Robert' WHERE id = 2")
            db.execute("COMMIT")
        undo.peek()  # 'Rename Bob'
        undo.undo()  # name is 'Bob' again
    """

    def __init__(self, db: sqlite3.Connection, tables: Sequence[str], limit: int = 50) -> None:
        """Create the TEMP log tables and the TEMP triggers on each of `tables`.

        `limit` is the number of steps kept; recording one more drops the oldest. Raises ValueError for an
        unknown table, a connection not in autocommit mode or a limit below 1.
        """
        if db.isolation_level is not None:
            raise ValueError("UndoLog needs a connection opened with isolation_level=None")
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        if isinstance(tables, str):
            raise TypeError("tables must be a sequence of table names, not one string")
        self._db = db
        self._limit = limit
        self._depth = 0  # nesting depth of action() blocks
        self._step = 0  # id of the step being recorded while _depth > 0

        # Rows that INSERT OR REPLACE (or UPDATE OR REPLACE) deletes to resolve a conflict fire DELETE
        # triggers only with recursive triggers on; without it such a delete would go unlogged. Our own
        # triggers write only to the log table, which has none, so nothing recurses.
        db.execute("PRAGMA recursive_triggers = ON")
        for (name,) in db.execute(
            "SELECT name FROM temp.sqlite_master WHERE type = 'trigger' AND substr(name, 1, ?) = ?",
            (len(_PREFIX), _PREFIX),
        ).fetchall():
            db.execute(f"DROP TRIGGER temp.{_ident(name)}")
        db.execute(f"DROP TABLE IF EXISTS temp.{_STATE}")
        db.execute(f"DROP TABLE IF EXISTS temp.{_LOG}")
        db.execute(f"DROP TABLE IF EXISTS temp.{_STEPS}")
        db.execute(f"DROP TABLE IF EXISTS temp.{_REDO}")
        db.execute(f"CREATE TEMP TABLE {_STATE} (recording INTEGER NOT NULL, step INTEGER NOT NULL)")
        db.execute(f"INSERT INTO temp.{_STATE} (recording, step) VALUES (0, 0)")
        db.execute(f"CREATE TEMP TABLE {_LOG} (seq INTEGER PRIMARY KEY, step INTEGER NOT NULL, sql TEXT NOT NULL)")
        db.execute(f"CREATE INDEX temp.{_LOG}_step ON {_LOG} (step)")
        db.execute(f"CREATE TEMP TABLE {_STEPS} (step INTEGER PRIMARY KEY, label TEXT NOT NULL)")
        db.execute(f"CREATE TEMP TABLE {_REDO} (step INTEGER PRIMARY KEY, label TEXT NOT NULL)")

        for index, table in enumerate(tables):
            for sql in self._trigger_sql(index, table):
                db.execute(sql)

    def _trigger_sql(self, index: int, table: str) -> list[str]:
        """The CREATE TEMP TRIGGER statements that log the inverse of changes to `table`."""
        info = self._db.execute(f"PRAGMA table_info({_ident(table)})").fetchall()
        if not info:
            raise ValueError(f"no such table: {table}")
        columns = [str(row[1]) for row in info]
        names = {c.lower() for c in columns}
        alias = next((a for a in _ROWID_ALIASES if a not in names), None)
        has_rowid = alias is not None
        if alias is not None:
            try:
                self._db.execute(f"SELECT {alias} FROM {_ident(table)} LIMIT 0")
            except sqlite3.OperationalError:
                has_rowid = False  # WITHOUT ROWID table
        if has_rowid:
            assert alias is not None
            keys = [alias]
            keyed = [alias, *(_ident(c) for c in columns)]  # the rowid is restored too
        else:
            by_pk = sorted((int(row[5]), str(row[1])) for row in info if int(row[5]) > 0)
            if not by_pk:
                raise ValueError(f"table {table} has neither a rowid nor a primary key")
            keys = [_ident(c) for _, c in by_pk]
            keyed = [_ident(c) for c in columns]

        qtable = _ident(table)

        def where(row: str) -> list[str]:
            parts = [_lit(" WHERE ")]
            for i, key in enumerate(keys):
                parts += [_lit((" AND " if i else "") + f"{key}="), _quoted(f"{row}.{key}")]
            return parts

        undo_insert = _concat([_lit(f"DELETE FROM {qtable}"), *where("new")])
        sets: list[str] = []
        for i, col in enumerate(keyed):
            sets += [_lit(("," if i else "") + f"{col}="), _quoted(f"old.{col}")]
        undo_update = _concat([_lit(f"UPDATE {qtable} SET "), *sets, *where("new")])
        values: list[str] = []
        for i, col in enumerate(keyed):
            values += ([_lit(",")] if i else []) + [_quoted(f"old.{col}")]
        undo_delete = _concat(
            [_lit(f"INSERT OR REPLACE INTO {qtable} ({','.join(keyed)}) VALUES ("), *values, _lit(")")]
        )

        recording = f"(SELECT recording FROM {_STATE})"
        # An UPDATE that rewrites every value unchanged is not logged: compare exactly (bytes, not collation,
        # and type, since 1 = 1.0).
        changed = " OR ".join(
            f"old.{c} IS NOT new.{c} COLLATE BINARY OR typeof(old.{c}) IS NOT typeof(new.{c})" for c in keyed
        )
        log = f"INSERT INTO {_LOG} (step, sql) VALUES ((SELECT step FROM {_STATE}), "
        name = f"{_PREFIX}{index}_"
        return [
            f"CREATE TEMP TRIGGER {name}insert AFTER INSERT ON {qtable} WHEN {recording} "
            f"BEGIN {log}{undo_insert}); END",
            f"CREATE TEMP TRIGGER {name}update AFTER UPDATE ON {qtable} WHEN {recording} AND ({changed}) "
            f"BEGIN {log}{undo_update}); END",
            # AFTER, not BEFORE: SQLite runs ON DELETE CASCADE before AFTER triggers, so a parent's inverse
            # INSERT is logged after its children's and undone before them.
            f"CREATE TEMP TRIGGER {name}delete AFTER DELETE ON {qtable} WHEN {recording} "
            f"BEGIN {log}{undo_delete}); END",
        ]

    def _set_state(self, recording: bool, step: int) -> None:
        self._db.execute(f"UPDATE {_STATE} SET recording = ?, step = ?", (int(recording), step))

    def _new_id(self) -> int:
        row = self._db.execute(f"SELECT max(step) FROM (SELECT step FROM {_STEPS} UNION ALL SELECT step FROM {_LOG} "
                               f"UNION ALL SELECT step FROM {_REDO})")
        return int(row.fetchone()[0] or 0) + 1

    def _begin_step(self) -> int:
        self._step = self._new_id()
        self._set_state(True, self._step)
        return self._step

    def _end_step(self, step: int, label: str, ok: bool) -> None:
        db = self._db
        self._step = 0
        db.execute("SAVEPOINT undolog_action")
        try:
            self._set_state(False, 0)
            if not ok:
                db.execute(f"DELETE FROM {_LOG} WHERE step = ?", (step,))
            elif db.execute(f"SELECT 1 FROM {_LOG} WHERE step = ? LIMIT 1", (step,)).fetchone():
                db.execute(f"INSERT INTO {_STEPS} (step, label) VALUES (?, ?)", (step, label))
                db.execute(f"DELETE FROM {_REDO}")  # a new change: what was undone can no longer be redone
                self._trim()
            db.execute("RELEASE undolog_action")
        except BaseException:
            db.execute("ROLLBACK TO undolog_action")
            db.execute("RELEASE undolog_action")
            raise

    def _trim(self) -> None:
        """Keep the newest `limit` steps, and only the log of the steps kept (undo and redo)."""
        db = self._db
        db.execute(f"DELETE FROM {_STEPS} WHERE step NOT IN (SELECT step FROM {_STEPS} ORDER BY step DESC LIMIT ?)",
                   (self._limit,))
        db.execute(f"DELETE FROM {_LOG} WHERE step NOT IN (SELECT step FROM {_STEPS} UNION SELECT step FROM {_REDO})")

    def can_undo(self) -> bool:
        """Whether there is a step to undo."""
        return self._db.execute(f"SELECT 1 FROM {_STEPS} LIMIT 1").fetchone() is not None

    def peek(self) -> str | None:
        """Label of the step :meth:`undo` would revert, or None when there is none."""
        row = self._db.execute(f"SELECT label FROM {_STEPS} ORDER BY step DESC LIMIT 1").fetchone()
        return None if row is None else str(row[0])

    def labels(self) -> list[str]:
        """Labels of the kept steps, oldest first (the last one is what :meth:`undo` reverts)."""
        return [str(label) for (label,) in self._db.execute(f"SELECT label FROM {_STEPS} ORDER BY step")]

    def clear(self) -> None:
        """Forget every kept step (the data is left as it is)."""
        if self._depth:
            raise RuntimeError("cannot clear the undo log inside an action")
        self._db.execute("SAVEPOINT undolog_clear")
        self._db.execute(f"DELETE FROM {_LOG}")
        self._db.execute(f"DELETE FROM {_STEPS}")
        self._db.execute(f"DELETE FROM {_REDO}")
        self._db.execute("RELEASE undolog_clear")

    def undo(self) -> str:
        """Revert the newest step and return its label; it can then be made again (`redo`).

        Runs the step's inverse statements, newest first, in one ``BEGIN IMMEDIATE`` ... ``COMMIT``
        transaction with foreign-key checks deferred to the commit, recording their own inverses as a
        redo step; on any error it rolls back (data and log unchanged) and re-raises. Raises
        LookupError when there is nothing to undo and RuntimeError inside an action.
        """
        return self._move(_STEPS, _REDO, "undo")

    def can_redo(self) -> bool:
        """Whether an undone step can be made again (no change was made since)."""
        return self._db.execute(f"SELECT 1 FROM {_REDO} LIMIT 1").fetchone() is not None

    def peek_redo(self) -> str | None:
        """Label of the step :meth:`redo` would make again, or None."""
        row = self._db.execute(f"SELECT label FROM {_REDO} ORDER BY step DESC LIMIT 1").fetchone()
        return None if row is None else str(row[0])

    def redo(self) -> str:
        """Make the newest undone step again (as `undo` reverts: one transaction); its label."""
        return self._move(_REDO, _STEPS, "redo")

    def _move(self, source: str, target: str, what: str) -> str:
        """Run the newest step of `source`, recording the inverse of what it does as a new step of
        `target` with the same label: undo fills redo, and redo fills undo."""
        if self._depth:
            raise RuntimeError(f"cannot {what} inside an action")
        db = self._db
        row = db.execute(f"SELECT step, label FROM {source} ORDER BY step DESC LIMIT 1").fetchone()
        if row is None:
            raise LookupError(f"nothing to {what}")
        step, label = int(row[0]), str(row[1])
        into = self._new_id()
        db.execute("BEGIN IMMEDIATE")
        try:
            self._set_state(True, into)
            db.execute("PRAGMA defer_foreign_keys = ON")  # reset by COMMIT / ROLLBACK
            statements = db.execute(f"SELECT sql FROM {_LOG} WHERE step = ? ORDER BY seq DESC", (step,)).fetchall()
            for (sql,) in statements:
                db.execute(sql)
            self._set_state(False, 0)
            db.execute(f"DELETE FROM {_LOG} WHERE step = ?", (step,))
            db.execute(f"DELETE FROM {source} WHERE step = ?", (step,))
            if db.execute(f"SELECT 1 FROM {_LOG} WHERE step = ? LIMIT 1", (into,)).fetchone():
                db.execute(f"INSERT INTO {target} (step, label) VALUES (?, ?)", (into, label))
            self._trim()
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            self._set_state(False, 0)
            raise
        return label
