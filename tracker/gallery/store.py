"""Where a gallery is kept: the `Store` protocol that the in-memory copy (copy.py) reads and writes
through, and backends.py, which picks the backend a location names: an SQLite file
(sqlite.py), a PostgreSQL database (postgres.py), or memory only (memory.py: a scratch gallery
for pass 1 of an analysis, and tests). A new backend implements `Store`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from ..errors import GalleryError


class Store(Protocol):
    """One gallery's storage: SQL over the schema of schema.py (`?` placeholders), one write
    transaction at a time, a version that changes with every commit (by anyone) and a change log
    of the descriptor rows each commit touched. Errors are raised as StoreError (below)."""

    where: str  # the location as messages show it (a URL without its password)
    has_log: bool  # keeps a change log that a copy may catch up from (else it reads everything)
    durable: bool  # kept beyond the process (else the in-memory copy is all there is: memory.py)

    @property
    def path(self) -> Path | None:
        """An SQLite file's path; None where there is no file."""

    @property
    def is_open(self) -> bool: ...

    @property
    def in_transaction(self) -> bool: ...

    def exists(self) -> bool: ...

    def open(self, create: bool) -> None: ...

    def identity(self) -> tuple[object, ...]: ...

    def query(self, sql: str, args: Sequence[object] = ()) -> list[Any]: ...

    def run(self, sql: str, args: Sequence[object] = ()) -> int: ...

    def alive(self) -> bool: ...

    def begin_write(self) -> None: ...

    def begin_read(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def version(self) -> int: ...

    def last_change(self) -> int: ...

    def undo_log(self, limit: int) -> Any: ...

    def export_to(self, dest: Path) -> None: ...

    def close(self) -> None: ...


MEMORY = "memory:"  # the location of a gallery kept in memory only (memory.py)


class StoreError(GalleryError):
    """A failed statement; `reason` is the database's own words, for callers that reword it;
    `damaged`: a failed read means the gallery itself is broken (not a lost server, a lock...)."""

    def __init__(self, where: str, reason: str, damaged: bool = True) -> None:
        super().__init__(f"gallery {where}: {reason}")
        self.reason = reason
        self.damaged = damaged
