"""The command line as a user meets it: real dlib, real files, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers.paths import ALEX, CLIP, FACES, LIN
from tests.helpers.streams import free_port
from tracker.cli.main import main


def facetrack(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracker", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], pattern: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("facetrack: error:")]
    assert len(errors) == 1 and pattern in errors[0], proc.stderr


def test_enroll_list_rename_merge_remove(gallery_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g = ["--gallery", str(gallery_path)]
    assert main(["enroll", "Lin", str(LIN), *g]) == 0
    assert main(["enroll", "Alex", str(ALEX), *g]) == 0
    assert main(["people", "rename", "Alex", "Alex Lacamoire", *g]) == 0
    capsys.readouterr()
    assert main(["people", "list", "--json", *g]) == 0
    people = json.loads(capsys.readouterr().out)
    assert {p["name"] for p in people} == {"Lin", "Alex Lacamoire"} and all(p["known"] for p in people)
    assert main(["people", "merge", "Lin", "Alex Lacamoire", "--json", *g]) == 0
    assert json.loads(capsys.readouterr().out)["descriptors"] == 2
    assert main(["people", "remove", "Alex Lacamoire", *g]) == 0
    capsys.readouterr()
    assert main(["people", "list", "--json", *g]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_enroll_folders(tmp_path: Path, gallery_path: Path) -> None:
    root = tmp_path / "people"
    for name, photo in (("Barack Obama", "obama_1.jpg"), ("Joe Biden", "biden_2.jpg")):
        (root / name).mkdir(parents=True)
        (root / name / photo).write_bytes((FACES / photo).read_bytes())
    (root / "Joe Biden" / "landscape.png").write_bytes(_noface_png())
    assert main(["enroll", "--folders", str(root), "--gallery", str(gallery_path)]) == 0
    from tracker.gallery.gallery import Gallery
    with Gallery(gallery_path) as g:
        assert sorted((p.name, p.descriptors) for p in g.people()) == [("Barack Obama", 1), ("Joe Biden", 1)]


def _noface_png() -> bytes:
    import io
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (300, 500, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_odd_image_modes_enrol(tmp_path: Path, gallery_path: Path) -> None:
    src = Image.open(FACES / "obama_1.jpg")
    src.convert("L").save(tmp_path / "gray.png")
    src.convert("RGBA").save(tmp_path / "rgba.png")
    Image.fromarray((np.asarray(src.convert("L"), np.uint16) * 257).astype(np.uint16)).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    assert main(["enroll", "Obama", str(tmp_path / "gray.png"), str(tmp_path / "rgba.png"),
                 str(tmp_path / "deep.png"), "--gallery", str(gallery_path)]) == 0


def test_tightly_cropped_face_enrols_whole(tmp_path: Path, gallery_path: Path) -> None:
    img = np.asarray(Image.open(FACES / "obama_1.jpg").convert("RGB"))
    from tracker.detect import HogDetector
    box = HogDetector().detect(img).boxes[0].astype(int)
    crop = Image.fromarray(img[box[1]:box[3], box[0]:box[2]]).resize((110, 110))
    crop.save(tmp_path / "tight.png")
    assert main(["enroll", "Obama", str(tmp_path / "tight.png"), "--gallery", str(gallery_path)]) == 0


def test_bad_inputs_give_one_line_and_leave_the_gallery_alone(tmp_path: Path) -> None:
    gallery = tmp_path / "g.sqlite3"
    assert main(["enroll", "Lin", str(LIN), "--gallery", str(gallery)]) == 0
    before = gallery.read_bytes()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes((FACES / "obama_1.jpg").read_bytes()[:20000])
    notimage = tmp_path / "notes.jpg"
    notimage.write_text("hello")
    noface = tmp_path / "noface.png"
    noface.write_bytes(_noface_png())
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00" * 5000)
    notgallery = tmp_path / "notgallery.sqlite3"
    notgallery.write_text("just text")
    g = ["--gallery", str(gallery)]
    cases = [
        (("enroll", "X", tmp_path / "missing.jpg", *g), "no such file"),
        (("enroll", "X", truncated, *g), "cannot decode image"),
        (("enroll", "X", notimage, *g), "not an image"),
        (("enroll", "X", noface, *g), "no face found"),
        (("enroll", "X", LIN, noface, *g), "no face found"),  # a named file that fails stops all
        (("run", tmp_path / "missing.mp4", "--headless", *g), "no such file"),
        (("run", corrupt, "--headless", *g), "cannot decode"),
        (("run", f"rtsp://127.0.0.1:{free_port()}/cam", "--headless", *g), "cannot open stream"),
        (("run", CLIP, "--headless", "--gallery", notgallery), "not a facetrack gallery"),
        (("people", "list", "--gallery", notgallery), "not a facetrack gallery"),
        (("people", "rename", "Nobody", "Somebody", *g), "no person named"),
        (("run", CLIP, "--headless", "--threshold", "-3", *g), "threshold"),
    ]
    for args, pattern in cases:
        assert_one_line_error(facetrack(*args), pattern)
    assert gallery.read_bytes() == before
    assert notgallery.read_text() == "just text"


def test_photo_run_labels_known_people(tmp_path: Path, gallery_path: Path) -> None:
    g = ["--gallery", str(gallery_path)]
    assert main(["enroll", "Barack Obama", str(FACES / "obama_1.jpg"), *g]) == 0
    assert main(["enroll", "Joe Biden", str(FACES / "biden_1.jpg"), *g]) == 0
    out = tmp_path / "photos.jsonl"
    assert main(["run", str(FACES / "obama_and_biden.jpg"), "--headless", "--output-json", str(out), *g]) == 0
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    names = sorted(f["person"] for f in record["faces"])
    assert names == ["Barack Obama", "Joe Biden"]
    assert all(f["known"] and f["distance"] < 0.6 for f in record["faces"])


def test_several_sources_write_one_video_and_one_line_per_frame(tmp_path: Path, gallery_path: Path) -> None:
    video, out = tmp_path / "all.mp4", tmp_path / "all.jsonl"
    photos = [str(FACES / "obama_1.jpg"), str(FACES / "biden_2.jpg"), str(FACES / "obama_and_biden.jpg")]
    assert main(["run", *photos, "--headless", "--gallery", str(gallery_path), "--output-video", str(video),
                 "--output-json", str(out), "--no-progress", "-q"]) == 0
    import cv2
    assert int(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [Path(r["source"]).name for r in records] == ["obama_1.jpg", "biden_2.jpg", "obama_and_biden.jpg"]
    # Unknown people in photos get automatic identities, the same one when they come back.
    first, second, both = (sorted(f["person"] for f in r["faces"]) for r in records)
    assert len(first) == len(second) == 1 and first != second
    assert both == sorted(first + second)


NO_QT = """
import sys
# As on a server without Qt's system libraries: any Qt import fails.
class _NoQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PyQt6", "PySide6", "PyQt5"):
            raise ImportError(f"{name}: no Qt here (libEGL.so.1: cannot open shared object file)")
sys.meta_path.insert(0, _NoQt())
from tracker.cli.main import main
code = main(sys.argv[1:])
assert not [m for m in sys.modules if m.startswith(("PyQt", "PySide"))], "Qt was imported"
sys.exit(code)
"""


@pytest.mark.parametrize("display", ["", ":987"])
def test_runs_without_qt(tmp_path: Path, gallery_path: Path, display: str) -> None:
    """Headless needs no Qt at all. Without --headless, a display variable but no usable Qt,
    it says so and runs headless."""
    import os

    photo = tmp_path / "obama.jpg"
    photo.write_bytes((FACES / "obama_1.jpg").read_bytes())
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": ""}
    env.pop("WAYLAND_DISPLAY", None)
    args = ["run", str(photo), "--gallery", str(gallery_path), "--no-progress"]
    if not display:
        args.append("--headless")
    proc = subprocess.run([sys.executable, "-c", NO_QT, *args], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "1 frames, 1 faces" in proc.stdout
    if display:
        assert "desktop app is unavailable" in proc.stderr and "running headless" in proc.stderr


def test_a_display_that_cannot_be_opened_falls_back_to_headless(tmp_path: Path, gallery_path: Path) -> None:
    """Qt is installed, but the X display is gone: Qt would abort the process; we run headless."""
    import os

    env = {**os.environ, "DISPLAY": ":987", "QT_QPA_PLATFORM": ""}
    proc = subprocess.run([sys.executable, "-m", "tracker", "run", str(FACES / "obama_1.jpg"), "--gallery",
                           str(gallery_path), "--no-progress"], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "cannot open a window" in proc.stderr and "1 frames, 1 faces" in proc.stdout
