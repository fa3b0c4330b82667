"""A gallery kept in memory only: the store behind `Gallery.in_memory()`.

Gallery keeps an in-memory copy of its store and changes it itself after every write (copy.py),
so a store that keeps nothing but hands out the new rows' ids is a whole gallery for one
process: the scratch gallery of an analysis's pass 1 (engine/offline.py), and the tracker's and
the resolver's tests, with no file, no database and no SQL run. Ids are given as SQLite gives
them: a person's are never reused, and a new sample's is above every other's.

What only a store holds is empty here: samples' thumbnails and provenance (`Gallery.samples`),
and the undo log. A change that fails half way keeps what it did: the gallery's own checks run
before it changes anything, and there is no disk or server to fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .store import StoreError


class MemoryStore:
    where = "memory"
    has_log = False
    durable = False

    def __init__(self) -> None:
        self._open = False
        self._in_transaction = False
        self._last_id = {"people": 0, "descriptors": 0}

    @property
    def path(self) -> Path | None:
        return None

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    def exists(self) -> bool:
        return self._open

    def open(self, create: bool) -> None:
        self._open = True

    def identity(self) -> tuple[object, ...]:
        return ("memory", id(self))

    def query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        return []  # the in-memory copy is all there is

    def run(self, sql: str, args: Sequence[object] = ()) -> int:
        """The new row's id for an INSERT into people or descriptors (0 for other statements)."""
        words = sql.split(None, 3)
        if len(words) >= 3 and words[0].upper() == "INSERT" and words[2] in self._last_id:
            self._last_id[words[2]] += 1
            return self._last_id[words[2]]
        return 0

    def alive(self) -> bool:
        return True

    def begin_write(self) -> None:
        self._in_transaction = True

    def begin_read(self) -> None:
        self._in_transaction = True

    def commit(self) -> None:
        self._in_transaction = False

    def rollback(self) -> None:
        self._in_transaction = False

    def version(self) -> int:
        return 0  # nobody else changes it

    def last_change(self) -> int:
        return 0

    def undo_log(self, limit: int) -> None:
        return None

    def export_to(self, dest: Path) -> None:
        raise StoreError(self.where, "a gallery kept in memory cannot be exported")

    def close(self) -> None:
        self._open = False
