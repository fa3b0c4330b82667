"""`facetrack calibrate`: pair counts, VAL/FAR and the recommended threshold, checked against hand
counts (descriptors on a line, so every distance is known) and brute force; the CLI's JSON and
errors; the plot; and real faces."""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers.paths import FACES, LIN, ROOT
from tracker.cli import calibrate as cli_calibrate
from tracker.cli import main as cli
from tracker.config import load_config
from tracker.errors import FacetrackError, GalleryError
from tracker.eval.calibrate import (
    BIN,
    SAFETY,
    Calibration,
    calibrate,
    exact_curve,
    histogram_curve,
    load_descriptors,
    pair_counts,
)
from tracker.gallery.gallery import Gallery

# Points on one axis of 128-D space, around a common offset: the distance between x and y is
# |x - y|, and with binary fractions it is exact in float32 too.
OFFSET = 0.0625
LINE = {"A": [0.0, 0.25, 0.5], "B": [1.0, 1.125], "C": [3.0]}
# By hand. Same-person: A 0.25, 0.5, 0.25; B 0.125 -> 4 pairs (C, alone, gives none and is left out).
# Different-person, A x B: 1.0, 1.125, 0.75, 0.875, 0.5, 0.625 -> 6 pairs.
SAME = [0.125, 0.25, 0.25, 0.5]
DIFFERENT = [0.5, 0.625, 0.75, 0.875, 1.0, 1.125]


def on_line(xs: list[float]) -> np.ndarray:
    v = np.full((len(xs), 128), OFFSET, np.float32)
    v[:, 0] += np.asarray(xs, np.float32)
    return v


def make_gallery(path: Path, people: dict[str, list[float]]) -> Path:
    with Gallery(path) as g:
        for i, (name, xs) in enumerate(people.items()):
            if i % 2:  # both ways of storing descriptors
                g.enroll(name, on_line(xs), [b""] * len(xs))
            else:
                g.add_descriptors(g.add_person(name).id, on_line(xs))
    return path


@pytest.fixture
def line_gallery(tmp_path: Path) -> Path:
    return make_gallery(tmp_path / "g.sqlite3", LINE)


def line_calibration(target: float, **kw: int) -> Calibration:
    vectors = np.concatenate([on_line(xs) for xs in LINE.values()])
    labels = np.concatenate([[i] * len(xs) for i, xs in enumerate(LINE.values())])
    return calibrate(vectors, labels, target, **kw)


def run_cli(*argv: str) -> int:
    """`facetrack calibrate ...` through the parser and run() that cli.py wires in."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    cli_calibrate.add_parser(sub, cli._add_common)
    args = parser.parse_args(["calibrate", *argv])
    return cli_calibrate.run(args, load_config(None, env={}, overrides={"gallery": args.gallery}))


# ---------------------------------------------------------------- the maths, by hand
def test_pair_counts_by_hand() -> None:
    cal = line_calibration(0.2)
    assert (cal.curve.same_pairs, cal.curve.different_pairs) == (len(SAME), len(DIFFERENT)) == (4, 6)
    assert (cal.people, cal.descriptors, cal.left_out) == (2, 5, 1)
    assert pair_counts(np.array([3, 2])) == (4, 6)
    assert pair_counts(np.array([48] * 2000)) == (2000 * 48 * 47 // 2, 48 * 48 * 2000 * 1999 // 2)


@pytest.mark.parametrize("d", [0.0, 0.124, 0.125, 0.25, 0.49, 0.5, 0.6, 0.75, 0.9, 1.125, 2.0])
def test_val_and_far_count_pairs_within_d(d: float) -> None:
    """<= d, ties included: at 0.5 a same-person and a different-person pair both count."""
    for exact in (True, False):
        point = line_calibration(0.2, **({} if exact else {"exact_max_pairs": 0})).curve.at(d)
        assert point.same_within == sum(s <= d for s in SAME)
        assert point.different_within == sum(x <= d for x in DIFFERENT)
        assert point.val == sum(s <= d for s in SAME) / 4
        assert point.far == sum(x <= d for x in DIFFERENT) / 6
        assert point.accuracy == (sum(s <= d for s in SAME) + sum(x > d for x in DIFFERENT)) / 10


# target -> (threshold, same within, different within, reliable). The threshold is the largest
# on the 0.0005 grid below the next different-person distance, which would raise FAR past the target.
RECOMMENDED = {
    0.2: (0.6245, 4, 1, True),  # 1 of 6 allowed: up to just below 0.625
    0.5: (0.8745, 4, 3, True),  # 3 of 6: just below 0.875
    0.1: (0.4995, 3, 0, False),  # 0.6 pairs allowed, so none: just below 0.5; 6 pairs cannot show 10 %
}


@pytest.mark.parametrize("target", sorted(RECOMMENDED))
@pytest.mark.parametrize("exact", [True, False])
def test_recommendation_is_the_largest_threshold_within_the_target(target: float, exact: bool) -> None:
    cal = line_calibration(target, **({} if exact else {"exact_max_pairs": 0}))
    threshold, same, different, reliable = RECOMMENDED[target]
    rec = cal.recommended
    assert rec.threshold == pytest.approx(threshold, abs=1e-12)
    assert (rec.same_within, rec.different_within, cal.reliable) == (same, different, reliable)
    assert rec.far <= target
    assert rec.accuracy == (same + 6 - different) / 10
    # The largest: the next different-person distance would exceed the target.
    next_far = min(x for x in DIFFERENT if x > threshold)
    assert cal.curve.at(next_far).far > target
    assert next_far - threshold <= BIN + SAFETY
    assert (cal.note is None) == reliable


def test_too_few_different_pairs_for_the_target_is_said() -> None:
    cal = line_calibration(0.001)
    assert not cal.reliable and cal.note is not None
    assert "too few pairs" in cal.note and "1000" in cal.note and "has 6" in cal.note
    assert cal.recommended.far == 0.0  # still the best it can: nothing different accepted
    assert cal.as_json()["reliable"] is False


def test_identical_descriptors_of_two_people_reach_no_target() -> None:
    vectors = on_line([0.0, 0.25, 0.0, 0.5])
    cal = calibrate(vectors, np.array([1, 1, 2, 2]), 0.2)
    assert cal.recommended.threshold == 0.0 and cal.recommended.different_within == 1
    assert not cal.reliable and cal.note is not None and "identical" in cal.note


# ---------------------------------------------------------------- against brute force
def random_gallery(seed: int, sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), 128))
    centres *= 0.55 / np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(len(sizes)) * 7 + 3, sizes)  # ids need not be 0..n-1
    vectors = centres[np.repeat(np.arange(len(sizes)), sizes)] + rng.normal(size=(len(labels), 128)) * 0.035
    return vectors.astype(np.float32), labels


@pytest.mark.parametrize("target", [0.001, 0.01, 0.05])
def test_fourteen_people_every_pair_counted_far_kept(target: float) -> None:
    """The acceptance case: 14 people with 3 to 11 photos each."""
    sizes = [3, 4, 5, 6, 7, 8, 9, 10, 11, 3, 5, 7, 9, 11]
    vectors, labels = random_gallery(14, sizes)
    same_d: list[float] = []
    diff_d: list[float] = []
    for i, j in itertools.combinations(range(len(labels)), 2):
        d = float(np.linalg.norm(vectors[i].astype(np.float64) - vectors[j]))
        (same_d if labels[i] == labels[j] else diff_d).append(d)
    cal = calibrate(vectors, labels, target)
    assert (cal.curve.same_pairs, cal.curve.different_pairs) == (len(same_d), len(diff_d))
    assert len(same_d) == sum(n * (n - 1) // 2 for n in sizes)
    rec = cal.recommended
    assert rec.same_within == sum(d <= rec.threshold for d in same_d)
    assert rec.different_within == sum(d <= rec.threshold for d in diff_d)
    assert rec.far <= target and cal.reliable
    # Largest: the first different-person distance beyond it takes FAR past the target.
    beyond = min(d for d in diff_d if d > rec.threshold)
    assert sum(d <= beyond for d in diff_d) / len(diff_d) > target
    assert beyond - rec.threshold <= BIN + SAFETY


def test_histogram_counts_equal_exact_counts() -> None:
    """Blocks of 7 descriptors over 23 people: every kind of block (diagonal, shared people,
    none) occurs, and the counts at every bin edge are the exact ones."""
    vectors, labels = random_gallery(5, [2, 3, 4, 5, 6, 2, 9, 3, 4, 2, 5, 7, 3, 2, 4, 6, 3, 2, 5, 4, 3, 2, 8])
    order = np.random.default_rng(1).permutation(len(labels))  # the gallery's order is not by person
    vectors, labels = vectors[order], labels[order]
    exact = exact_curve(vectors, labels)
    hist = histogram_curve(vectors, labels, block=7)
    assert (hist.same_pairs, hist.different_pairs) == (exact.same_pairs, exact.different_pairs)
    for k in range(0, len(hist.distances), 7):
        at = exact.at(float(hist.distances[k]))
        assert (hist.same_within[k], hist.different_within[k]) == (at.same_within, at.different_within)


def test_large_gallery_takes_the_histogram_path_with_bounded_memory() -> None:
    vectors, labels = random_gallery(7, [40] * 60)  # 2,400 descriptors: 2.9 million pairs
    cal = calibrate(vectors, labels, 0.001)
    assert not cal.curve.exact and cal.as_json()["method"] == "histogram (0.0005 bins)"
    assert (cal.curve.same_pairs, cal.curve.different_pairs) == (60 * 780, 40 * 40 * 60 * 59 // 2)
    assert cal.recommended.far <= 0.001 and cal.reliable


# ---------------------------------------------------------------- bad input
def test_fewer_than_two_people_with_two_descriptors(tmp_path: Path) -> None:
    path = make_gallery(tmp_path / "g.sqlite3", {"A": [0.0, 0.25, 0.5], "C": [3.0], "D": [2.0]})
    with pytest.raises(FacetrackError, match=r"at least 2 people with 2 or more descriptors.* has 1"):
        run_cli("--gallery", str(path))


def test_missing_gallery_is_an_error_and_stays_missing(tmp_path: Path) -> None:
    path = tmp_path / "none.sqlite3"
    with pytest.raises(GalleryError, match="does not exist"):
        load_descriptors(path)
    with pytest.raises(GalleryError, match="does not exist"):
        run_cli("--gallery", str(path))
    assert not path.exists()


@pytest.mark.parametrize("target", ["0", "-0.1", "nan", "inf", "1.5"])
def test_bad_target_far(line_gallery: Path, target: str) -> None:
    """A usage error as the flag is read (exit 2, one line naming --help)."""
    with pytest.raises(SystemExit) as stopped:
        run_cli("--gallery", str(line_gallery), f"--target-far={target}")
    assert stopped.value.code == 2


def test_a_target_far_of_one_is_refused(line_gallery: Path) -> None:
    with pytest.raises(FacetrackError, match="--target-far must be above 0 and below 1"):
        run_cli("--gallery", str(line_gallery), "--target-far=1")


def test_plot_never_replaces_the_gallery_or_a_non_png(tmp_path: Path) -> None:
    gallery = make_gallery(tmp_path / "gallery.png", LINE)  # a gallery may have any name
    before = gallery.read_bytes()
    with pytest.raises(FacetrackError, match="is the gallery"):
        run_cli("--gallery", str(gallery), "--plot", str(gallery))
    assert gallery.read_bytes() == before
    notes = tmp_path / "notes.png"
    notes.write_text("my notes")
    with pytest.raises(FacetrackError, match="exists and is not a plot facetrack drew"):
        run_cli("--gallery", str(gallery), "--plot", str(notes))
    assert notes.read_text() == "my notes"
    # A photo of the user's, a real PNG, is not replaced either; nor is a link followed to the gallery.
    holiday = tmp_path / "holiday.png"
    cv2.imwrite(str(holiday), np.full((20, 30, 3), 90, np.uint8))
    photo = holiday.read_bytes()
    link = tmp_path / "link.png"
    link.symlink_to(notes)
    for path in (holiday, link):
        with pytest.raises(FacetrackError, match="not a plot facetrack drew"):
            run_cli("--gallery", str(gallery), "--plot", str(path))
    assert holiday.read_bytes() == photo and notes.read_text() == "my notes" and gallery.read_bytes() == before
    with pytest.raises(FacetrackError, match=r"give a \.png file name"):
        run_cli("--gallery", str(gallery), "--plot", str(tmp_path / "plot.jpg"))
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(FacetrackError, match="is a folder"):
        run_cli("--gallery", str(gallery), "--plot", str(tmp_path / "folder.png"))
    with pytest.raises(FacetrackError, match="does not exist"):
        run_cli("--gallery", str(gallery), "--plot", str(tmp_path / "no" / "plot.png"))
    # An earlier plot is replaced.
    plot = tmp_path / "plot.png"
    assert run_cli("--gallery", str(gallery), "--plot", str(plot), "--target-far", "0.2") == 0
    assert run_cli("--gallery", str(gallery), "--plot", str(plot), "--target-far", "0.5") == 0
    assert cv2.imread(str(plot)) is not None


# ---------------------------------------------------------------- the command's output
def test_json_output(line_gallery: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("--gallery", str(line_gallery), "--target-far", "0.2", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert {"same_pairs": 4, "different_pairs": 6, "threshold": 0.6245, "val": 1.0, "far": 1 / 6,
            "accuracy": 0.9, "target_far": 0.2, "people": 2, "reliable": True, "note": None}.items() <= out.items()
    assert out["dlib_default"] == {"threshold": 0.6, "val": 1.0, "far": 1 / 6, "accuracy": 0.9,
                                   "same_within": 4, "different_within": 1}
    assert out["left_out_people"] == 1 and out["method"] == "exact"


def test_text_output(line_gallery: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("--gallery", str(line_gallery), "--target-far", "0.1") == 0
    out = capsys.readouterr().out
    assert "pairs: 4 same-person, 6 different-person" in out
    assert "recommended threshold: 0.4995 (the largest with FAR <= 0.1)" in out
    assert "VAL 0.7500 (3/4)  FAR 0.0000 (0/6)  accuracy 0.9000" in out
    assert "dlib's default 0.6: VAL 1.0000 (4/4)  FAR 0.1667 (1/6)" in out
    assert "warning: too few pairs to tell" in out
    assert "1 with a single descriptor left out" in out


def _wired() -> bool:
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # argparse's complaint is no test output
            cli.build_parser().parse_args(["calibrate", "--json"])
    except SystemExit:
        return False
    return True


@pytest.mark.skipif(not _wired(), reason="`calibrate` is not wired into tracker/cli/main.py yet")
def test_through_main(line_gallery: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["calibrate", "--gallery", str(line_gallery), "--json", "--target-far", "0.2"]) == 0
    assert json.loads(capsys.readouterr().out)["threshold"] == 0.6245
    assert cli.main(["calibrate", "--gallery", str(tmp_path / "none.sqlite3")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("facetrack: error: gallery") and "does not exist" in err[0]


# ---------------------------------------------------------------- real faces and the plot
def enrolled(path: Path, people: dict[str, list[Path]]) -> Path:
    from tracker.gallery.enroll import enroll

    with Gallery(path) as g:
        for name, photos in people.items():
            enroll(g, name, photos)
    return path


def assert_readable_plot(path: Path) -> None:
    img = cv2.imread(str(path))
    assert img is not None and img.shape == (560, 900, 3)
    colours = {tuple(int(c) for c in px) for px in img.reshape(-1, 3)[::7]}
    assert len(colours) > 20  # not blank: text, grid, curves, antialiasing
    white = np.all(img == 255, axis=2).mean()
    assert 0.6 < white < 0.98  # a white page with something drawn on it
    for colour in (cli_calibrate.VAL_COLOUR, cli_calibrate.FAR_COLOUR, cli_calibrate.THRESHOLD_COLOUR):
        assert np.all(img == colour, axis=2).sum() > 50, f"no {colour} drawn"


def test_real_faces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Obama 2 photos (1 pair), Biden 2 (1 pair), 2 x 2 = 4 different-person pairs; Lin's single
    photo is left out."""
    path = enrolled(tmp_path / "g.sqlite3", {"Barack Obama": [FACES / "obama_1.jpg", FACES / "obama_2.jpg"],
                                             "Joe Biden": [FACES / "biden_1.jpg", FACES / "biden_2.jpg"],
                                             "Lin": [LIN]})
    plot = tmp_path / "calibration.png"
    assert run_cli("--gallery", str(path), "--json", "--plot", str(plot)) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["same_pairs"], out["different_pairs"], out["people"], out["left_out_people"]) == (2, 4, 2, 1)
    # dlib tells these two apart easily (same pairs ~0.35-0.43, different ~0.82 and more).
    assert out["dlib_default"]["val"] == 1.0 and out["dlib_default"]["far"] == 0.0
    assert out["far"] == 0.0 and out["reliable"] is False and out["plot"] == str(plot)
    assert 0.6 < out["threshold"] < 1.0
    assert_readable_plot(plot)


OBAMA_3 = ROOT.parent / "shared" / "data" / "faces" / "obama_3.jpg"


@pytest.mark.skipif(not OBAMA_3.is_file(), reason="needs ../shared/data/faces/obama_3.jpg")
def test_real_faces_three_photos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Obama 3 photos -> 3 same pairs, Biden 2 -> 1, different 3 x 2 = 6."""
    path = enrolled(tmp_path / "g.sqlite3", {
        "Barack Obama": [FACES / "obama_1.jpg", FACES / "obama_2.jpg", OBAMA_3],
        "Joe Biden": [FACES / "biden_1.jpg", FACES / "biden_2.jpg"]})
    plot = tmp_path / "calibration.png"
    assert run_cli("--gallery", str(path), "--plot", str(plot), "--target-far", "0.2") == 0
    out = capsys.readouterr().out
    assert "pairs: 4 same-person, 6 different-person" in out
    vectors, labels = load_descriptors(path)
    cal = calibrate(vectors, labels, 0.2)
    assert cal.recommended.far <= 0.2 and cal.reliable and not math.isnan(cal.recommended.val)
    assert_readable_plot(plot)
