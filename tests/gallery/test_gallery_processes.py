"""One gallery shared by several processes (the app, a `run` per camera, `people` commands), and
kept private: the regression of ../shared/repro/r3_two_processes.py and more."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.gallery import synced
from tests.helpers.paths import CLIP, DATA, FACES, LIN
from tracker.gallery.gallery import Gallery
from tracker.gallery.schema import SCHEMA_VERSION


def test_two_copies_see_each_others_changes(gallery_at: Path | str) -> None:
    a, b = Gallery(gallery_at), Gallery(gallery_at)
    pa = a.add_person(None, known=False)
    pb = b.add_person(None, known=False)  # used to fail: UNIQUE constraint failed: people.name
    assert (pa.name, pb.name) == ("Person 1", "Person 2")
    carol = a.enroll("Carol", np.zeros((1, 128), np.float32), [b""])
    c = Gallery(gallery_at)
    a.remove("Carol")
    # C still has Carol in its copy; learning for her finds her gone instead of failing a
    # foreign key, and nothing is stored.
    assert c.learn(carol.id, np.full(128, 0.1, np.float32), b"", 0.12, 48) is None
    assert c.find("Carol") is None and c.sync() is False  # the write re-read the copy already
    assert synced(b) and {p.name for p in b.people()} == {"Person 1", "Person 2"}
    for g in (a, b, c):
        g.close()


def test_gallery_files_and_folders_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "g.sqlite3"
    with Gallery(path) as g:
        g.enroll("Ann", np.zeros((1, 128), np.float32), [b""])
        for f in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new" / "deeper").stat().st_mode) == 0o700
    # A gallery made readable by others (by an older facetrack) is made private when opened.
    path.chmod(0o644)
    Gallery(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_nothing_is_created_until_something_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite3"
    g = Gallery(path)
    assert g.people() == [] and not g.sync()
    assert not path.exists() and not (tmp_path / "g.sqlite3-wal").exists()
    g.add_person("Ann")
    assert path.exists()
    g.close()


def test_a_gallery_of_todays_schema_opens(tmp_path: Path) -> None:
    """tests/data/gallery_schema2.sqlite3 was written by the schema of 2026-11 (schema 2)."""
    path = tmp_path / "g.sqlite3"
    path.write_bytes((DATA / "gallery_schema2.sqlite3").read_bytes())
    with Gallery(path) as g:
        assert SCHEMA_VERSION >= 2
        names = {p.name for p in g.people()}
        assert {"Lin-Manuel Miranda", "Person 1"} <= names
        lin = g.require("Lin-Manuel Miranda")
        assert lin.known and lin.descriptors >= 1 and g.samples(lin.id)[0].origin == "enrolled"
        g.add_person(None, known=False)  # and can be written to


def _add_many(path: str, worker: int, n: int) -> None:
    g = Gallery(path)
    rng = np.random.default_rng(worker)
    for i in range(n):
        p = g.add_person(None, known=False)
        g.add_descriptors(p.id, rng.normal(size=(2, 128)).astype(np.float32))
        if i % 5 == 4:
            g.remove(p.name)
    g.close()


def test_processes_writing_at_once_lose_nothing(gallery_at: Path | str) -> None:
    path = gallery_at
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_add_many, args=(str(path), w, 15)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    with Gallery(path) as g:
        people = g.people()
        assert len(people) == 4 * 12  # 15 each, 3 each removed
        assert len({p.name for p in people}) == len(people)
        assert all(p.descriptors == 2 for p in people)
        assert len(g.vectors) == 2 * len(people)


def _facetrack(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tracker", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_runs_and_a_remove_at_once(tmp_path: Path) -> None:
    g = tmp_path / "g.sqlite3"
    gallery = ["--gallery", str(g), "-q"]
    assert subprocess.run([sys.executable, "-m", "tracker", "enroll", "Lin-Manuel Miranda", str(LIN), *gallery],
                          capture_output=True).returncode == 0
    assert subprocess.run([sys.executable, "-m", "tracker", "enroll", "Someone", str(FACES / "obama_1.jpg"),
                           *gallery], capture_output=True).returncode == 0
    runs = [_facetrack("run", str(CLIP), "--headless", "--no-progress", "--output-json", str(tmp_path / f"{i}.jsonl"),
                       *gallery) for i in range(2)]
    remove = _facetrack("people", "remove", "Someone", *gallery)
    outs = [p.communicate(timeout=300) for p in [*runs, remove]]
    for p, (_, err) in zip([*runs, remove], outs):
        assert p.returncode == 0, err
        assert "Traceback" not in err and "error" not in err.lower(), err
    for i in range(2):
        lines = (tmp_path / f"{i}.jsonl").read_text().splitlines()
        assert len(lines) == 275
        assert sum(any(f["person"] == "Lin-Manuel Miranda" for f in json.loads(ln)["faces"]) for ln in lines) > 100
    with Gallery(g) as after:
        names = [p.name for p in after.people()]
        assert "Someone" not in names and "Lin-Manuel Miranda" in names
        assert len(set(names)) == len(names)
        lin = after.require("Lin-Manuel Miranda")
        assert lin.descriptors > 1  # what the runs learned was kept
    assert stat.S_IMODE(os.stat(g).st_mode) == 0o600
