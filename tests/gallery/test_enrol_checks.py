"""Enrolment checks its photos (issue 21, point 11): a photo of several faces is not guessed at,
and photos that are not one person are not enrolled as one, on the command line and for the app."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.paths import FACES, LIN
from tracker.cli.main import main
from tracker.gallery.enroll import enroll, odd_photos, subject
from tracker.gallery.gallery import Gallery


def test_the_subject_of_a_photo() -> None:
    assert subject(np.array([[0, 0, 100, 100]], float)) == 0
    assert subject(np.array([[0, 0, 40, 40], [50, 0, 150, 100]], float)) == 1  # a face in the background
    assert subject(np.array([[0, 0, 90, 90], [100, 0, 200, 100]], float)) is None  # two alike: a group


def test_odd_photos() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=128) * 0.09, rng.normal(size=128) * 0.09
    same = np.stack([a + rng.normal(size=128) * 0.02 for _ in range(4)])
    assert odd_photos(same) == []
    mixed = np.vstack([same, (b + rng.normal(size=128) * 0.02)[None]])
    assert [i for i, _ in odd_photos(mixed)] == [4]


def test_a_group_photo_is_refused_unless_largest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g = ["--gallery", str(tmp_path / "g.sqlite3")]
    assert main(["enroll", "Obama", str(FACES / "obama_and_biden.jpg"), *g]) == 1
    err = capsys.readouterr().err
    assert "2 faces of like size" in err and "--largest" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "g.sqlite3").exists()
    assert main(["enroll", "Obama", str(FACES / "obama_and_biden.jpg"), "--largest", *g]) == 0


def test_photos_of_different_people_are_refused_naming_the_odd_one(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    g = ["--gallery", str(tmp_path / "g.sqlite3")]
    photos = [str(FACES / n) for n in ("obama_1.jpg", "obama_2.jpg", "biden_2.jpg")]
    assert main(["enroll", "Obama", *photos, *g]) == 1
    err = capsys.readouterr().err
    assert "biden_2.jpg" in err and "obama_1" not in err and "--force" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "g.sqlite3").exists()
    assert main(["enroll", "Obama", *photos, "--force", *g]) == 0
    assert main(["enroll", "Obama", *photos[:2], "--gallery", str(tmp_path / "h.sqlite3")]) == 0  # one person: fine


def test_a_folder_of_several_people_is_one_clear_line_not_one_person(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "people" / "Team"
    folder.mkdir(parents=True)
    for path in (FACES / "obama_1.jpg", FACES / "biden_1.jpg", LIN):
        shutil.copy(path, folder / path.name)
    assert main(["enroll", "--folders", str(folder.parent), "--gallery", str(tmp_path / "g.sqlite3")]) == 1
    err = capsys.readouterr().err
    assert "several different people" in err and "Team" in err


def test_the_app_asks_which_face_then_enrols_the_one_chosen(tmp_path: Path) -> None:
    """With `ask`, nothing is written while a photo's face is undecided; the report carries the
    faces to choose from, and the choice enrols that face."""
    photo = FACES / "obama_and_biden.jpg"
    with Gallery(tmp_path / "g.sqlite3") as g:
        report = enroll(g, "Biden", [photo], ask=True)
        assert report.person is None and len(report.ambiguous) == 1 and not g.stored
        faces = report.ambiguous[0]
        assert len(faces.boxes) == 2 and faces.chips.shape == (2, 150, 150, 3)
        obama = enroll(g, "Obama", [FACES / "obama_1.jpg"]).person
        assert obama is not None
        # Whichever face is further from Obama's photo is Biden's: choose it.
        from tracker.embed import DlibEmbedder, embed
        from tracker.identity import policy as identity
        from tracker.sources.images import load_image

        desc = embed(DlibEmbedder(), load_image(photo), faces.boxes).descriptors
        far = int(np.argmax(identity.pairwise_distances(desc, g.inventory(obama.id)).min(1)))
        done = enroll(g, "Biden", [photo], ask=True, chosen={photo: faces.boxes[far]})
        assert done.person is not None and done.person.name == "Biden" and done.person.descriptors == 1
