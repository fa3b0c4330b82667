from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from tracker.errors import GalleryError
from tracker.gallery.gallery import Gallery


def vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=128).astype(np.float32) * 0.05


def test_people_persist_with_descriptors_and_thumbnails(gallery_at: Path | str) -> None:
    with Gallery(gallery_at) as g:
        chip = np.full((150, 150, 3), 120, np.uint8)
        from tracker.gallery.gallery import encode_thumbnail
        p = g.enroll("Ada", np.stack([vec(1), vec(2)]), [encode_thumbnail(chip), b""])
        auto = g.add_person(None, known=False)
        g.add_descriptors(auto.id, vec(3)[None])
        assert auto.name == "Person 1" and g.next_auto_name() == "Person 2"
    with Gallery(gallery_at) as g:
        names = {p.name: p for p in g.people()}
        assert names["Ada"].known and names["Ada"].descriptors == 2
        assert not names["Person 1"].known
        assert g.vectors.shape == (3, 128)
        thumbs = g.thumbnails(p.id)
        assert thumbs and thumbs[0].shape == (150, 150, 3)


def test_rename_merge_remove(gallery_at: Path | str) -> None:
    with Gallery(gallery_at) as g:
        a = g.add_person(None, known=False)
        g.add_descriptors(a.id, vec(1)[None])
        b = g.add_person(None, known=False)
        g.add_descriptors(b.id, vec(2)[None])
        renamed = g.rename("Person 1", "Grace")
        assert renamed.known  # naming an automatic identity makes it known
        with pytest.raises(GalleryError, match="already exists"):
            g.rename("Person 2", "Grace")
        merged = g.merge("Person 2", "Grace")
        assert merged.descriptors == 2 and len(g) == 1
        assert set(g.labels.tolist()) == {merged.id}
        g.remove("Grace")
        assert len(g) == 0 and g.vectors.shape == (0, 128)
        with pytest.raises(GalleryError, match="no person"):
            g.remove("Nobody")
    with Gallery(gallery_at) as g:
        assert len(g) == 0


def test_learning_keeps_inventory_bounded(gallery_at: Path | str) -> None:
    with Gallery(gallery_at) as g:
        p = g.enroll("Ada", vec(0)[None], [b""])
        rng = np.random.default_rng(5)
        for _ in range(40):
            g.learn(p.id, (vec(0) + rng.normal(size=128) * 0.05).astype(np.float32), b"", 0.05, 10)
        # The bound is on everything but enrolled photos: 1 photo + 10 learned samples.
        assert len(g.inventory(p.id)) == 11
        assert np.allclose(g.inventory(p.id)[0], vec(0))  # the enrolled photo is never dropped
    with Gallery(gallery_at) as g:
        assert len(g.inventory(p.id)) == 11


@pytest.mark.parametrize("content", [b"hello, not a database", b"\x89PNG\r\n\x1a\n" + b"0" * 100])
def test_a_file_that_is_not_a_gallery_is_refused_and_kept(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "g.sqlite3"
    path.write_bytes(content)
    with pytest.raises(GalleryError, match="not a facetrack gallery"):
        Gallery(path)
    assert path.read_bytes() == content


def test_another_apps_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(GalleryError, match="not a facetrack gallery"):
        Gallery(path)
    assert path.read_bytes() == before


def test_readonly_missing_gallery_is_empty_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "none.sqlite3"
    with Gallery(path, readonly=True) as g:
        assert g.people() == []
    assert not path.exists()
