"""Undo for a PostgreSQL gallery: the counterpart of tracker/gallery/undo.py's TEMP triggers.

PostgreSQL has no TEMP triggers, so the triggers are the schema's own (UNDO_TRIGGERS) and decide
per row whether to log: only in a session that set `facetrack.undo_step` (while it records an
action) do they write the row's old and new values as JSON to that session's TEMP table. Other
processes' changes and this process's background writes between actions are never logged, as
with SQLite. Log rows are written in the changing transaction, so a rollback takes them along.
Undo replays the step's rows newest first: an INSERT is deleted, a DELETE put back, an UPDATE
written back, with foreign keys checked at the commit (they are DEFERRABLE for this).
"""

from __future__ import annotations

from typing import Any, Protocol

from .undo import Steps

KEYS = {"people": ("id",), "descriptors": ("id",), "cannot_links": ("a", "b")}
SETTING = "facetrack.undo_step"

UNDO_FUNCTION = f"""
CREATE OR REPLACE FUNCTION facetrack_undo_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE step TEXT := current_setting('{SETTING}', true);
BEGIN
    IF step IS NULL OR step = '' THEN RETURN NULL; END IF;
    INSERT INTO pg_temp.facetrack_undo (step, tbl, op, old, new) VALUES (step::INTEGER, TG_TABLE_NAME, TG_OP,
        CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END, CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END $$;
"""
# (table, trigger name, definition): an UPDATE that changes nothing is not logged, as in SQLite.
UNDO_TRIGGERS = [
    trigger for t in KEYS for trigger in (
        (t, "facetrack_undo_write", f"AFTER INSERT OR DELETE ON {t} FOR EACH ROW "
                                    "EXECUTE FUNCTION facetrack_undo_record()"),
        (t, "facetrack_undo_update", f"AFTER UPDATE ON {t} FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) "
                                     "EXECUTE FUNCTION facetrack_undo_record()"))
]
# Per session, when it opens the gallery for writing.
UNDO_SETUP = ("CREATE TEMP TABLE IF NOT EXISTS facetrack_undo (seq BIGSERIAL PRIMARY KEY, step INTEGER NOT NULL, "
              "tbl TEXT NOT NULL, op TEXT NOT NULL, old JSONB, new JSONB)")


class _Store(Protocol):
    def query(self, sql: str, args: Any = ()) -> list[Any]: ...

    def run(self, sql: str, args: Any = ()) -> int: ...

    def begin_write(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PgUndoLog(Steps):
    """The same interface as tracker.gallery.undo.UndoLog (its actions: undo.Steps), over a PostgreSQL store."""

    def __init__(self, store: _Store, limit: int = 50) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self._store = store
        self._limit = limit
        self._depth = 0
        self._steps: list[tuple[int, str]] = []  # kept steps, oldest first
        self._redo: list[tuple[int, str]] = []  # undone steps that redo can make again, oldest first
        self._next = 1
        store.run("DELETE FROM pg_temp.facetrack_undo")  # a reopened store starts with no history

    def _record(self, step: int) -> None:
        self._store.run("SELECT set_config(?, ?, false)", (SETTING, str(step) if step else ""))

    def _begin_step(self) -> int:
        step, self._next = self._next, self._next + 1
        self._record(step)
        return step

    def _end_step(self, step: int, label: str, ok: bool) -> None:
        self._record(0)
        if ok and self._store.query("SELECT 1 FROM pg_temp.facetrack_undo WHERE step = ? LIMIT 1", (step,)):
            self._steps.append((step, label))
            for undone, _ in self._redo:  # a new change: what was undone can no longer be redone
                self._store.run("DELETE FROM pg_temp.facetrack_undo WHERE step = ?", (undone,))
            self._redo = []
            dropped, self._steps = self._steps[:-self._limit], self._steps[-self._limit:]
            for old, _ in dropped:
                self._store.run("DELETE FROM pg_temp.facetrack_undo WHERE step = ?", (old,))
        else:
            self._store.run("DELETE FROM pg_temp.facetrack_undo WHERE step = ?", (step,))

    def can_undo(self) -> bool:
        return bool(self._steps)

    def peek(self) -> str | None:
        return self._steps[-1][1] if self._steps else None

    def labels(self) -> list[str]:
        return [label for _, label in self._steps]

    def clear(self) -> None:
        if self._depth:
            raise RuntimeError("cannot clear the undo log inside an action")
        self._store.run("DELETE FROM pg_temp.facetrack_undo")
        self._steps = []
        self._redo = []

    def undo(self) -> str:
        """Revert the newest step in one transaction (it can then be made again, `redo`); on an
        error nothing changes."""
        return self._move(self._steps, self._redo, "undo")

    def can_redo(self) -> bool:
        return bool(self._redo)

    def peek_redo(self) -> str | None:
        return self._redo[-1][1] if self._redo else None

    def redo(self) -> str:
        """Make the newest undone step again, in one transaction."""
        return self._move(self._redo, self._steps, "redo")

    def _move(self, source: list[tuple[int, str]], target: list[tuple[int, str]], what: str) -> str:
        """Apply the inverse rows of `source`'s newest step, recording what that does as a new step
        of `target` (undo fills redo, redo fills undo)."""
        if self._depth:
            raise RuntimeError(f"cannot {what} inside an action")
        if not source:
            raise LookupError(f"nothing to {what}")
        step, label = source[-1]
        from psycopg.types.json import Jsonb

        store = self._store
        into, self._next = self._next, self._next + 1
        store.begin_write()
        try:
            store.run("SET CONSTRAINTS ALL DEFERRED")
            self._record(into)
            for table, op, old, new in store.query(
                    "SELECT tbl, op, old, new FROM pg_temp.facetrack_undo WHERE step = ? ORDER BY seq DESC", (step,)):
                keys = KEYS[table]
                where = " AND ".join(f"{_ident(k)} = ?" for k in keys)
                row = f"jsonb_populate_record(NULL::{_ident(table)}, ?::jsonb)"
                if op == "INSERT":
                    store.run(f"DELETE FROM {_ident(table)} WHERE {where}", [new[k] for k in keys])
                elif op == "DELETE":
                    cols = ", ".join(_ident(c) for c in old if c not in keys)
                    store.run(f"INSERT INTO {_ident(table)} SELECT * FROM {row} ON CONFLICT "
                              f"({', '.join(map(_ident, keys))}) DO UPDATE SET ({cols}) = "
                              f"(SELECT {cols} FROM {row})", [Jsonb(old), Jsonb(old)])
                else:
                    cols = ", ".join(_ident(c) for c in old)
                    store.run(f"UPDATE {_ident(table)} SET ({cols}) = (SELECT {cols} FROM {row}) WHERE {where}",
                              [Jsonb(old), *[new[k] for k in keys]])
            self._record(0)
            store.run("DELETE FROM pg_temp.facetrack_undo WHERE step = ?", (step,))
            recorded = bool(store.query("SELECT 1 FROM pg_temp.facetrack_undo WHERE step = ? LIMIT 1", (into,)))
            store.commit()
        except BaseException:
            store.rollback()
            self._record(0)
            raise
        source.pop()
        if recorded:
            target.append((into, label))
            if len(target) > self._limit:
                for old_step, _ in target[:-self._limit]:
                    store.run("DELETE FROM pg_temp.facetrack_undo WHERE step = ?", (old_step,))
                del target[:-self._limit]
        return label
