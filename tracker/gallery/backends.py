"""The store a gallery location names: memory only, a PostgreSQL database (a postgresql:// URL),
or else an SQLite file. A backend's module is loaded only when a location names it (PostgreSQL's
needs psycopg)."""

from __future__ import annotations

from pathlib import Path

from ..config import DatabaseURL
from .store import MEMORY, Store


def open_store(location: Path | str, readonly: bool = False) -> Store:
    """The store a gallery location names: MEMORY, a postgresql:// URL, or else an SQLite file's path."""
    if location == MEMORY:
        from .memory import MemoryStore

        return MemoryStore()
    if isinstance(location, str) and location.startswith(DatabaseURL.PREFIXES):
        from .postgres import PostgresStore  # psycopg is loaded only for a database server

        return PostgresStore(str(location), readonly)
    from .sqlite import SqliteStore

    return SqliteStore(Path(location), readonly)
