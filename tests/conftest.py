from __future__ import annotations

import os
from pathlib import Path

import pytest

# Qt tests run without a display (CI); set before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")



@pytest.fixture
def gallery_path(tmp_path: Path) -> Path:
    return tmp_path / "gallery.sqlite3"


@pytest.fixture(scope="session")
def postgres_server():  # type: ignore[no-untyped-def]
    """One real PostgreSQL server on loopback for the session; the tests that need it skip where
    it cannot run here (no server package, no psycopg)."""
    from tests.helpers import postgres

    why = postgres.available()
    if why:
        pytest.skip(f"no PostgreSQL server: {why}")
    server = postgres.PostgresServer()
    try:
        server.start()
    except Exception as exc:
        server.stop()
        pytest.skip(f"PostgreSQL server did not start: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def new_gallery(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Makes a fresh, empty gallery location per call: an SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return lambda: tmp_path_factory.mktemp("g") / "gallery.sqlite3"
    server = request.getfixturevalue("postgres_server")
    return server.database


@pytest.fixture
def gallery_at(new_gallery) -> Path | str:  # type: ignore[no-untyped-def]
    """An empty gallery in each store: the same gallery tests run over SQLite and PostgreSQL."""
    return new_gallery()  # type: ignore[no-any-return]

