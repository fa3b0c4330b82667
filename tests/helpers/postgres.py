"""A real PostgreSQL server on loopback for the gallery tests (Debian's `postgresql` package).

`PostgresServer.start()` makes a throwaway cluster in a temporary folder (trust auth, loopback
only, no fsync) and `database()` a fresh database per test. Where the server binaries or psycopg
are missing, `available()` says why, and the tests that need it skip.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.helpers.streams import free_port


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name)
                  if Path(d).parent.name.isdigit() else 0)
    return Path(dirs[-1]) if dirs and (Path(dirs[-1]) / "initdb").exists() else None


def available() -> str | None:
    """None when a server can be started here, else why not."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    if _bin_dir() is None:
        return "PostgreSQL's server (initdb, pg_ctl) is not installed"
    if os.geteuid() == 0 and (shutil.which("runuser") is None or not _user_exists("postgres")):
        return "running as root without a postgres user to run the server as"
    return None


def _user_exists(name: str) -> bool:
    try:
        import pwd
        pwd.getpwnam(name)
        return True
    except (KeyError, ImportError):
        return False


class PostgresServer:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="facetrack-pg-"))
        self.port = free_port()
        self._names = itertools.count(1)
        self._bin = _bin_dir()
        self._started = False

    def _as_server_user(self, argv: list[str]) -> list[str]:
        # initdb refuses to run as root: the server runs as Debian's postgres user then.
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def start(self) -> PostgresServer:
        assert self._bin is not None
        data = self.folder / "data"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        subprocess.run(self._as_server_user([str(self._bin / "initdb"), "-D", str(data), "-A", "trust",
                                             "-U", "postgres", "-E", "UTF8", "--no-sync"]),
                       check=True, capture_output=True)
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off -c max_connections=200"
        subprocess.run(self._as_server_user([str(self._bin / "pg_ctl"), "-D", str(data), "-o", options,
                                             "-l", str(self.folder / "log"), "-w", "-t", "60", "start"]),
                       check=True, capture_output=True)
        self._started = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"t{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        if self._started and self._bin is not None:
            subprocess.run(self._as_server_user([str(self._bin / "pg_ctl"), "-D", str(self.folder / "data"),
                                                 "-m", "immediate", "stop"]), capture_output=True)
            self._started = False
        shutil.rmtree(self.folder, ignore_errors=True)


def execute(location: Path | str, sql: str) -> None:
    """One statement on a gallery's store from outside facetrack, as another program would."""
    if isinstance(location, str) and location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute(sql)
        return
    import sqlite3

    db = sqlite3.connect(location)
    with db:
        db.execute(sql)
    db.close()
