"""A gallery kept in memory only (tracker/gallery/memory.py): the same people, samples, ids and
links as an SQLite gallery given the same changes, with no file and no SQL; the scratch gallery
of an analysis's pass 1."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers.paths import CLIP
from tracker.config import Config
from tracker.errors import GalleryError
from tracker.gallery import sqlite
from tracker.gallery.gallery import Gallery


def _changes(g: Gallery) -> None:
    """A run of everything the tracker and the user do to a gallery."""
    rng = np.random.default_rng(7)
    base = rng.normal(size=(4, 128)).astype(np.float32)
    people = [g.add_person(None, known=False) for _ in range(3)]
    alice = g.add_person("Alice")
    for p, b in zip([*people, alice], base):
        g.add_descriptors(p.id, b + 0.01 * rng.normal(size=(3, 128)).astype(np.float32), [b"t"] * 3)
    for k in range(12):  # learning past the bound: pruned as it goes
        g.learn(people[0].id, base[0] + 0.2 * rng.normal(size=128).astype(np.float32), b"t", 0.05, 6)
        g.learn(alice.id, base[3] + (0.001 if k % 2 else 0.3) * rng.normal(size=128).astype(np.float32), b"t",
                0.05, 6)
    g.add_cannot_links([(people[0].id, people[1].id), (people[1].id, alice.id)])
    g.merge(people[2].name, people[1].name)
    g.rename(people[0].name, "Bob")
    mine = g.sample_vector_map(alice.id)
    g.split("Alice", sorted(mine)[:2])
    g.forget("Bob", sorted(g.sample_vector_map(people[0].id))[:1])
    g.remove(people[1].name)
    g.add_person(None, known=False)  # numbered after every name ever given


def _state(g: Gallery) -> dict[str, Any]:
    return {"people": [(p.id, p.name, p.known, p.descriptors) for p in g.people()],
            "links": sorted(g.links()), "labels": g.labels.tolist(), "vectors": g.vectors.tobytes()}


def test_the_same_changes_give_the_same_gallery_as_sqlite(tmp_path: Path) -> None:
    with Gallery(tmp_path / "g.sqlite3") as on_disk, Gallery.in_memory() as in_memory:
        _changes(on_disk)
        _changes(in_memory)
        assert _state(in_memory) == _state(on_disk)
        assert [int(i) for i in sorted(in_memory.sample_vector_map(4))] == \
            [int(i) for i in sorted(on_disk.sample_vector_map(4))]  # sample ids too


def test_no_file_and_no_sql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    def no_sqlite(*_: Any, **__: Any) -> None:
        raise AssertionError("an in-memory gallery opened SQLite")

    monkeypatch.setattr(sqlite.SqliteStore, "__init__", no_sqlite)
    with Gallery.in_memory() as g:
        _changes(g)
        assert g.stored and g.path is None and g.sync() is False
        assert g.samples(1) == [] and g.can_undo() is None  # what only a store keeps: nothing here
        with pytest.raises(GalleryError, match="cannot be exported"):
            g.export_to(tmp_path / "backup.sqlite3")
        with pytest.raises(GalleryError, match="already exists"):  # checked before anything changes
            g.add_person("Alice")
        assert [p.name for p in g.people()].count("Alice") == 1
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_pass_one_of_an_analysis_writes_no_scratch_gallery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.engine.offline import track_source
    from tracker.sources import source_for

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again

    def no_sqlite(*_: Any, **__: Any) -> None:
        raise AssertionError("pass 1 opened an SQLite gallery")

    monkeypatch.setattr(sqlite.SqliteStore, "__init__", no_sqlite)
    cfg = Config(gallery=tmp_path / "user.sqlite3")
    out = track_source(cfg, source_for(str(CLIP), cfg))
    assert len(out.tracks) >= 2 and sum(len(t.samples) for t in out.tracks.values()) > 10
    # (Other libraries may leave their own files there: none of facetrack's.)
    assert [n for n in os.listdir(scratch) if n.startswith("facetrack") or "sqlite" in n] == []
    assert not (tmp_path / "user.sqlite3").exists()
