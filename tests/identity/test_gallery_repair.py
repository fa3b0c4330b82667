"""The gallery's repair side with real SQLite and PostgreSQL: provenance, split, forget, cover, cannot-links,
undo, the schema 1 -> 2 migration, and the `people` commands that expose them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.paths import FACES
from tracker.cli.main import main
from tracker.errors import GalleryError
from tracker.gallery.gallery import ENROLLED, LEARNED, Gallery, Provenance
from tracker.identity.suggest import suggest_merges


def vec(seed: int, around: np.ndarray | None = None, spread: float = 0.02) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=128) * 0.09 if around is None else around
    return (base + rng.normal(size=128) * spread).astype(np.float32)


def test_samples_carry_provenance_and_split_forget_cover(gallery_at: Path | str) -> None:
    with Gallery(gallery_at) as g:
        p = g.enroll("Ann", vec(1)[None], [b"jpg"], ["ann.jpg"])
        ids = g.add_descriptors(p.id, np.stack([vec(i) for i in range(2, 6)]), None, LEARNED,
                                [Provenance("clip.mp4", 3, 100 + i, 4.0 + i) for i in range(4)])
        samples = g.samples(p.id)
        assert samples[0].origin == ENROLLED and samples[0].provenance.source == "ann.jpg"
        assert "enrolled photo ann.jpg" in samples[0].describe()
        assert "clip.mp4, frame 101 (4.0 s), track 3" in samples[1].describe()  # counted from 1
        new = g.split("Ann", ids[:2])
        assert new.name == "Person 1" and not new.known and new.descriptors == 2
        assert g.find("Ann").descriptors == 3  # type: ignore[union-attr]
        assert g.are_cannot_linked(p.id, new.id)  # split apart: different people from now on
        g.forget("Ann", [ids[2]])
        assert g.find("Ann").descriptors == 2  # type: ignore[union-attr]
        with pytest.raises(GalleryError, match="has no sample"):
            g.forget("Ann", [ids[0]])  # that one is Person 1's now
        g.set_cover("Ann", ids[3])
    with Gallery(gallery_at) as g:  # all of it persisted
        assert {p.name: p.descriptors for p in g.people()} == {"Ann": 2, "Person 1": 2}
        assert g.are_cannot_linked(g.require("Ann").id, g.require("Person 1").id)


def test_merge_moves_cannot_links_and_undo_reverts_whole_actions(gallery_at: Path | str) -> None:
    with Gallery(gallery_at) as g:
        a, b, c = (g.add_person(n) for n in ("A", "B", "C"))
        for p, seed in ((a, 1), (b, 2), (c, 3)):
            g.add_descriptors(p.id, vec(seed)[None])
        g.add_cannot_links([(b.id, c.id)])
        before = (g.vectors.copy(), g.labels.copy(), g.links())
        with g.action("merge B into A"):
            g.merge("B", "A")
        assert g.are_cannot_linked(a.id, c.id) and len(g) == 2
        with g.action("rename A"):
            g.rename("A", "Alpha")
        g.touch([a.id])  # a background write between actions is not an action
        assert g.undo() == "rename A" and g.find("A") is not None
        assert g.undo() == "merge B into A"
        assert np.array_equal(g.vectors, before[0]) and np.array_equal(g.labels, before[1])
        assert g.links() == before[2] and g.find("B") is not None
        with pytest.raises(GalleryError, match="nothing to undo"):
            g.undo()


def test_automatic_names_and_ids_are_never_reused(gallery_at: Path | str) -> None:
    with Gallery(gallery_at) as g:
        first = g.add_person(None, known=False)
        g.remove(first.name)
        second = g.add_person(None, known=False)
        assert second.name == "Person 2" and second.id != first.id


def test_a_schema_1_gallery_is_migrated(gallery_path: Path) -> None:
    db = sqlite3.connect(gallery_path)
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, known INTEGER NOT NULL,
                             created REAL NOT NULL, last_seen REAL);
        CREATE TABLE descriptors (id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL REFERENCES people(id)
                                  ON DELETE CASCADE, vector BLOB NOT NULL, thumbnail BLOB, origin TEXT NOT NULL,
                                  created REAL NOT NULL);
        INSERT INTO meta VALUES ('app', 'facetrack'), ('schema', '1');
        INSERT INTO people VALUES (1, 'Old', 1, 0, NULL);
    """)
    db.execute("INSERT INTO descriptors VALUES (1, 1, ?, NULL, 'enrolled', 0)", (vec(1).tobytes(),))
    db.commit()
    db.close()
    with Gallery(gallery_path) as g:
        assert g.require("Old").descriptors == 1
        assert g.samples(1)[0].provenance == Provenance()
        other = g.add_person("New")
        g.add_cannot_links([(1, other.id)])
    with Gallery(gallery_path) as g:
        assert g.are_cannot_linked(1, g.require("New").id)


def test_suggestions_are_clear_pairs_only(gallery_at: Path | str) -> None:
    """Issue 21, point 3: a pair is suggested only when the two are close as wholes and clearly
    closer to each other than to anyone else; one man enrolled twice is suggested too; a
    cannot-link ("not the same person") ends a suggestion for good."""
    with Gallery(gallery_at) as g:
        base, other, crowd = vec(7), vec(70), vec(700)
        p1 = g.add_person(None, known=False)
        g.add_descriptors(p1.id, np.stack([vec(i, base) for i in range(2, 6)]))
        p2 = g.add_person(None, known=False)
        g.add_descriptors(p2.id, np.stack([vec(i, base) for i in range(6, 9)]))
        g.enroll("Ann", vec(10, other)[None], [b""])
        g.enroll("Ann Smith", vec(11, other)[None], [b""])
        for i in range(3):  # three alike people: no pair of them is clearly one person
            c = g.add_person(None, known=False)
            g.add_descriptors(c.id, vec(20 + i, crowd)[None])
        found = suggest_merges(g)
        pairs = {frozenset((s.a.name, s.b.name)) for s in found}
        assert pairs == {frozenset(("Person 1", "Person 2")), frozenset(("Ann", "Ann Smith"))}, found
        assert [s.distance for s in found] == sorted(s.distance for s in found)
        g.add_cannot_links([(p1.id, p2.id)])
        pairs = {frozenset((s.a.name, s.b.name)) for s in suggest_merges(g)}
        assert pairs == {frozenset(("Ann", "Ann Smith"))}
        auto = g.add_person(None, known=False)  # Ann, seen by a camera: the automatic one goes into her
        g.add_descriptors(auto.id, np.stack([vec(i, other) for i in range(30, 33)]))
        assert all(s.b.known or not s.a.known for s in suggest_merges(g, 0.7, margin=0.0))


def test_people_show_split_forget_suggest_commands(gallery_at: Path | str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    g = ["--gallery", str(gallery_at)]
    with Gallery(gallery_at) as gal:
        base = vec(3)
        p = gal.add_person(None, known=False)
        ids = gal.add_descriptors(p.id, np.stack([vec(i, base) for i in range(4)]), [b"\xff\xd8x"] * 4, LEARNED,
                                  [Provenance("cam", 1, i, i / 30) for i in range(4)])
    assert main(["people", "show", "Person 1", "--json", "--thumbs", str(tmp_path / "th"), *g]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in shown["samples"]] == ids and shown["samples"][0]["source"] == "cam"
    assert (tmp_path / "th" / f"{ids[0]}.jpg").is_file()
    assert main(["people", "split", "Person 1", "--samples", str(ids[0]), str(ids[1]), "--into", "Dana", *g]) == 0
    assert main(["people", "forget", "Person 1", "--samples", str(ids[2]), *g]) == 0
    capsys.readouterr()
    assert main(["people", "show", "Person 1", *g]) == 0
    assert "not the same person as: Dana" in capsys.readouterr().out
    assert main(["people", "show", "Person 1", "--json", *g]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in shown["samples"]] == [ids[3]] and shown["not"] == ["Dana"]
    assert main(["people", "suggest", "--json", *g]) == 0
    assert json.loads(capsys.readouterr().out) == []  # split apart: never suggested again
    assert main(["people", "forget", "Person 1", "--samples", "99999", *g]) == 1  # one clear line, no traceback
    assert "has no sample" in capsys.readouterr().err


def test_enrolling_someone_seen_as_an_automatic_identity_merges_it(gallery_at: Path | str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from tracker.embed import DlibEmbedder
    from tracker.gallery.enroll import face_from_photo

    emb = DlibEmbedder()
    seen = face_from_photo(FACES / "obama_2.jpg", emb).descriptors
    with Gallery(gallery_at) as gal:
        auto = gal.add_person(None, known=False)
        gal.add_descriptors(auto.id, seen)
    g = ["--gallery", str(gallery_at)]
    assert main(["enroll", "Barack Obama", str(FACES / "obama_1.jpg"), "--no-merge", "--json", *g]) == 0
    report = json.loads(capsys.readouterr().out)[0]
    assert report["merged"] == [] and [m["person"] for m in report["matches"]] == ["Person 1"]
    assert main(["enroll", "Barack Obama", str(FACES / "obama_1.jpg"), *g]) == 0  # again, merging this time
    assert "Person 1 was Barack Obama" in capsys.readouterr().out
    with Gallery(gallery_at) as gal:
        assert [p.name for p in gal.people()] == ["Barack Obama"]
