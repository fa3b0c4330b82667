"""The PostgreSQL gallery where a user meets it: the CLI over a real server on loopback, what it
refuses, backups to and from it, and change notifications instead of polling. (The gallery tests
themselves run over both stores: test_gallery*.py's `gallery_at`.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.gallery import synced
from tests.helpers.paths import CLIP, LIN
from tracker.cli.main import main
from tracker.gallery.gallery import Gallery


def _vec(seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=(2, 128)) * 0.05).astype(np.float32)


def test_enrol_run_and_people_commands_share_a_postgresql_gallery(postgres_server, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    url = postgres_server.database()
    g = ["--gallery", url, "-q"]
    assert main(["people", "list", "--json", *g]) == 0  # an empty database reads as an empty gallery
    assert json.loads(capsys.readouterr().out) == []
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:  # ...and reading made no tables
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0
    assert main(["enroll", "Lin-Manuel Miranda", str(LIN), *g]) == 0
    out = tmp_path / "run.jsonl"
    assert main(["run", str(CLIP), "--headless", "--no-progress", "--output-json", str(out), *g]) == 0
    frames = [json.loads(line) for line in out.read_text().splitlines()]
    named = sum(any(f["person"] == "Lin-Manuel Miranda" for f in fr["faces"]) for fr in frames)
    assert named > 100  # as with the SQLite gallery (tests/cli/test_cli.py)
    capsys.readouterr()
    assert main(["people", "rename", "Lin-Manuel Miranda", "Lin", *g]) == 0
    capsys.readouterr()
    assert main(["people", "list", "--json", *g]) == 0
    people = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert people["Lin"]["known"] and people["Lin"]["descriptors"] > 1  # the run learned samples
    assert people["Lin"]["last_seen"] is not None


def test_export_from_postgresql_and_import_into_another_database(postgres_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, dst = postgres_server.database(), postgres_server.database()
    with Gallery(src) as g:
        ann = g.enroll("Ann", _vec(1), [b"jpg1", b"jpg2"], ["a.jpg", "b.jpg"])
        auto = g.add_person(None, known=False)
        g.add_descriptors(auto.id, _vec(2), [b"t", b"u"])
        g.add_cannot_links([(ann.id, auto.id)])
    backup = tmp_path / "backup.sqlite3"
    assert main(["people", "export", str(backup), "--gallery", src]) == 0
    with Gallery(backup) as b:  # a plain SQLite gallery, ids kept
        assert {p.name for p in b.people()} == {"Ann", "Person 1"}
        assert b.are_cannot_linked(ann.id, auto.id) and len(b.vectors) == 4
        assert sorted(s.thumbnail for s in b.samples(ann.id)) == [b"jpg1", b"jpg2"]
    assert main(["people", "import", str(backup), "--gallery", dst]) == 0
    assert main(["people", "import", src, "--gallery", postgres_server.database()]) == 0  # from a URL too
    assert main(["people", "import", src, "--gallery", src]) == 1  # not into itself
    # ... nor through another spelling of the same server and database (issue 19, case 20)
    alias = src.replace("@127.0.0.1:", "@localhost:")
    assert alias != src and main(["people", "import", alias, "--gallery", src]) == 1
    assert main(["people", "import", src, "--gallery", f"{src}?application_name=other"]) == 1
    assert main(["people", "export", dst, "--gallery", src]) == 1  # export writes a file, not a database
    with Gallery(src) as a, Gallery(dst) as b:
        for p in a.people():
            q = b.require(p.name)
            assert q.known == p.known and q.descriptors == p.descriptors
            assert sorted(v.tobytes() for v in a.inventory(p.id)) == sorted(v.tobytes() for v in b.inventory(q.id))
        assert b.are_cannot_linked(b.require("Ann").id, b.require("Person 1").id)


def test_a_sync_with_nothing_new_costs_no_round_trip(postgres_server) -> None:  # type: ignore[no-untyped-def]
    url = postgres_server.database()
    with Gallery(url) as a, Gallery(url) as b:
        a.add_person("Ann")
        assert synced(b)
        queries: list[str] = []
        real = b._store.query
        b._store.query = lambda sql, args=(): queries.append(sql) or real(sql, args)  # type: ignore[method-assign]
        for _ in range(50):
            assert not b.sync()
        assert queries == []  # LISTEN/NOTIFY: nothing asked of the server while nobody writes
        b.touch([b.require("Ann").id])  # its own write: nothing new to read after it either
        queries.clear()
        assert not b.sync() and queries == []
        a.add_descriptors(a.require("Ann").id, _vec(3))
        assert synced(b) and b.require("Ann").descriptors == 2
        assert queries  # the notification made it read what changed


def test_undo_reverts_a_merge_in_postgresql_and_keeps_other_processes_writes(postgres_server) -> None:  # type: ignore[no-untyped-def]
    url = postgres_server.database()
    with Gallery(url) as g, Gallery(url) as other:
        ann, bob = g.add_person("Ann"), g.add_person("Bob")
        g.add_descriptors(ann.id, _vec(4))
        g.add_descriptors(bob.id, _vec(5), [b"b1", b"b2"])
        with g.action("merge Bob into Ann"):
            g.merge("Bob", "Ann")
        assert g.find("Bob") is None and g.require("Ann").descriptors == 4
        other.add_person("Carol")  # another process's write: not part of the step
        assert g.undo() == "merge Bob into Ann"
        assert g.require("Bob").descriptors == 2 and g.require("Ann").descriptors == 2
        assert sorted(s.thumbnail for s in g.samples(g.require("Bob").id)) == [b"b1", b"b2"]
        assert g.find("Carol") is not None
        assert synced(other) and other.require("Bob").id == bob.id  # the same person, the same id
        # Redo makes the merge again (issue 21: Ctrl+Shift+Z), and undo again reverts it.
        assert g.can_redo() == "merge Bob into Ann" and g.redo() == "merge Bob into Ann"
        assert g.find("Bob") is None and g.require("Ann").descriptors == 4 and g.can_redo() is None
        assert g.undo() == "merge Bob into Ann" and g.require("Bob").descriptors == 2


def _facetrack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True, timeout=120)


def test_a_postgresql_gallery_that_cannot_be_used_is_one_clear_line(postgres_server) -> None:  # type: ignore[no-untyped-def]
    # No server there: one line naming the gallery (its password hidden), exit 1.
    r = _facetrack("people", "list", "--gallery", "postgresql://me:secret@127.0.0.1:1/none")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "cannot connect to gallery postgresql://me:***@127.0.0.1:1/none" in r.stderr and "secret" not in r.stderr
    for url in (f"{postgres_server.url('none')}?password=s3cret", "postgresql://me:s3%zzret@127.0.0.1:1/none",
                "postgresql://me:s3@cret@127.0.0.1:1/none"):
        r = _facetrack("people", "list", "--gallery", url)
        assert r.returncode == 1 and "Traceback" not in r.stderr and "s3" not in r.stderr, r.stderr
    # A database of another application's, with a `meta` table of its own: refused, unchanged.
    url = postgres_server.database()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('app', 'other')")
    r = _facetrack("enroll", "Lin", str(LIN), "--gallery", url)
    assert r.returncode == 1 and "Traceback" not in r.stderr and "not a facetrack gallery" in r.stderr
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'people'").fetchone()[0] == 0


def test_a_lost_connection_is_made_again_and_nothing_is_missed(postgres_server) -> None:  # type: ignore[no-untyped-def]
    """A server restart (here: every facetrack session ended by the server) costs a camera nothing:
    the next write or sync connects again and reads everything again."""
    import psycopg

    url = postgres_server.database()
    with Gallery(url) as a, Gallery(url) as b:
        ann = a.add_person("Ann")
        assert synced(b)

        def drop_connections() -> None:
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "  # gone when it returns
                              "WHERE application_name = 'facetrack' AND pid <> pg_backend_pid()")

        drop_connections()
        a.add_descriptors(ann.id, _vec(6))  # connects again, re-reads, writes
        assert synced(b) and b.require("Ann").descriptors == 2  # b too, on its next sync
        drop_connections()
        a.add_person("Bob")
        assert synced(b) and b.find("Bob") is not None
        assert a.require("Ann").descriptors == b.require("Ann").descriptors == 2
        drop_connections()
        with a.action("rename Ann"):  # a user's action right after a drop: no failure either
            a.rename("Ann", "Anna")
        assert a.undo() == "rename Ann" and a.find("Ann") is not None


def test_a_mistyped_url_is_an_error_not_a_file_named_after_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    bad = "postgresql:/alice:s3cretPW@127.0.0.1:5432/pw"  # one slash: Path() would make it a folder
    assert main(["enroll", "Lin", str(LIN), "--gallery", bad]) == 1
    err = capsys.readouterr().err
    assert "not a file path nor a postgresql://" in err and "s3cretPW" not in err
    monkeypatch.setenv("FACETRACK_GALLERY", bad)
    assert main(["people", "list"]) == 1
    assert list(tmp_path.iterdir()) == []  # nothing made
