"""Backups that round-trip (`people export` / `import`) and retention of unnamed faces (`prune`),
from and into SQLite and PostgreSQL galleries alike."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import numpy as np
import pytest

from tracker.cli.main import main
from tracker.gallery.gallery import Gallery
from tracker.gallery.schema import NAMED, Provenance
from tracker.gallery.transfer import import_people


def _filled(path: Path | str) -> Gallery:
    g = Gallery(path)
    rng = np.random.default_rng(1)
    ann = g.enroll("Ann", rng.normal(size=(2, 128)).astype(np.float32), [b"jpg1", b"jpg2"], ["a.jpg", "b.jpg"])
    auto = g.add_person(None, known=False)
    g.add_descriptors(auto.id, rng.normal(size=(3, 128)).astype(np.float32), [b"t"] * 3, NAMED,
                      [Provenance("cam1", 4, 100 + i, 3.5) for i in range(3)])
    g.add_cannot_links([(ann.id, auto.id)])
    return g


def _content(g: Gallery) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in g.people():
        vecs = g.sample_vector_map(p.id)
        out[p.name] = (p.known, sorted((s.origin, repr(s.provenance), s.thumbnail, vecs[s.id].tobytes())
                                       for s in g.samples(p.id)),
                       sorted(g.person(o).name for o in g.cannot_linked(p.id)))  # type: ignore[union-attr]
    return out


def test_export_then_import_round_trips(new_gallery, tmp_path: Path,  # type: ignore[no-untyped-def]
                                       capsys: pytest.CaptureFixture[str]) -> None:
    where = new_gallery()
    src = _filled(where)
    before = _content(src)
    src.close()
    backup = tmp_path / "backup.sqlite3"
    assert main(["people", "export", str(backup), "--gallery", str(where)]) == 0
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert not Path(f"{backup}-wal").exists()  # one self-contained file
    # Restore into a new gallery (of the same store): everything comes back.
    restored_at = new_gallery()
    assert main(["people", "import", str(backup), "--gallery", str(restored_at)]) == 0
    with Gallery(restored_at) as restored:
        assert _content(restored) == before
        # Importing again adds nothing.
        import_people(restored, Gallery(backup))
        assert _content(restored) == before
    # Refused: replacing a file, importing a missing file, a gallery into itself.
    capsys.readouterr()
    assert main(["people", "export", str(backup), "--gallery", str(where)]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["people", "import", str(tmp_path / "none.sqlite3"), "--gallery", str(backup)]) == 1
    assert main(["people", "import", str(backup), "--gallery", str(backup)]) == 1


def test_import_into_a_gallery_with_people(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _filled(tmp_path / "a.sqlite3").close()
    here = Gallery(tmp_path / "b.sqlite3")
    here.add_person(None, known=False)  # "Person 1" here is someone else than the backup's
    here.enroll("Ann", np.ones((1, 128), np.float32), [b""])
    here.close()
    capsys.readouterr()
    assert main(["people", "import", str(tmp_path / "a.sqlite3"), "--json", "--gallery",
                 str(tmp_path / "b.sqlite3")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"from": "Person 1", "as": "Person 2"} in report and {"from": "Ann", "as": "Ann"} in report
    with Gallery(tmp_path / "b.sqlite3") as g:
        assert g.require("Ann").descriptors == 3  # her photo here and the two from the backup
        assert g.require("Person 2").descriptors == 3 and g.require("Person 1").descriptors == 0
        assert g.are_cannot_linked(g.require("Ann").id, g.require("Person 2").id)


def test_prune_forgets_unnamed_faces_not_seen_for_days(gallery_at: Path | str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = gallery_at
    g = _filled(path)
    old = g.add_person(None, known=False)
    g.touch([old.id], when=time.time() - 40 * 86400)
    recent = g.add_person(None, known=False)
    g.touch([recent.id])
    ann = g.require("Ann")
    g.touch([ann.id], when=time.time() - 400 * 86400)  # named people are never pruned
    g.close()
    capsys.readouterr()
    assert main(["people", "prune", "--days", "30", "--json", "--gallery", str(path)]) == 0
    assert [p["name"] for p in json.loads(capsys.readouterr().out)] == [old.name]
    with Gallery(path) as g:
        assert g.find(old.name) is None and g.find(recent.name) is not None and g.find("Ann") is not None
    assert main(["people", "prune", "--gallery", str(path)]) == 1  # no --days and no setting


def test_run_applies_forget_unnamed_after(gallery_at: Path | str) -> None:
    from tests.helpers.paths import FACES
    path = gallery_at
    g = Gallery(path)
    stale = g.add_person(None, known=False)
    g.touch([stale.id], when=time.time() - 10 * 86400)
    g.close()
    assert main(["run", str(FACES / "obama_1.jpg"), "--headless", "--gallery", str(path),
                 "--forget-unnamed-after", "7", "-q"]) == 0
    with Gallery(path) as g:
        assert g.find(stale.name) is None
