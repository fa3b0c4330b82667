"""Bad input of every kind, through the real command line: one clear line on stderr, exit 1, no
traceback, no native library chatter, and the gallery untouched."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.helpers.paths import CLIP, FACES, LIN
from tests.helpers.streams import free_port
from tracker.cli.main import main

Case = tuple[str, Callable[[Path], list[str]], str]


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


def _truncated_avi(path: Path) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (64, 48))
    for i in range(60):
        w.write(np.full((48, 64, 3), i * 4, np.uint8))
    w.release()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # the header still says 60 frames
    return path


def _png(path: Path, size: tuple[int, int], value: int = 255) -> Path:
    Image.fromarray(np.full((size[1], size[0], 3), value, np.uint8)).save(path)
    return path


def _gallery_copy(d: Path, name: str, sql: str) -> Path:
    """A copy of the test's gallery, damaged by `sql`."""
    path = d / name
    path.write_bytes((d / "g.sqlite3").read_bytes())
    db = sqlite3.connect(path)
    db.executescript(sql)
    db.close()
    return path


def _other_sqlite(d: Path) -> Path:
    path = d / "other.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (t TEXT)")
    db.commit()
    db.close()
    return path


def _config(d: Path, text: str) -> Path:
    return _write(d / f"cfg{abs(hash(text))}.toml", text)


def G(d: Path) -> list[str]:
    return ["--gallery", str(d / "g.sqlite3")]


def run(d: Path, *extra: str) -> list[str]:
    return ["run", str(CLIP), "--headless", "--no-progress", *G(d), *extra]


CASES: list[Case] = [
    # Paths and files
    ("missing video", lambda d: ["run", str(d / "missing.mp4"), "--headless", *G(d)], "no such file"),
    ("zeros as mp4", lambda d: ["run", str(_write(d / "z.mp4", b"\0" * 5000)), "--headless", *G(d)], "cannot decode"),
    ("text as mp4", lambda d: ["run", str(_write(d / "t.mp4", "hello")), "--headless", *G(d)], "cannot decode"),
    ("empty folder", lambda d: ["run", str((d / "empty").mkdir() or d / "empty"), "--headless", *G(d)],
     "no images"),
    ("folder without images", lambda d: ["run", str(_write(d / "docs" / "a.txt", "x").parent), "--headless",
                                          *G(d)], "no images"),
    ("truncated video", lambda d: ["run", str(_truncated_avi(d / "cut.avi")), "--headless", "--no-progress",
                                   *G(d)], "ends at frame"),
    ("truncated jpeg", lambda d: ["run", str(_write(d / "cut.jpg", (FACES / "obama_1.jpg").read_bytes()[:20000])),
                                  "--headless", *G(d)], "cannot decode image"),
    ("text as jpeg", lambda d: ["run", str(_write(d / "n.jpg", "hello")), "--headless", *G(d)], "not an image"),
    ("empty png", lambda d: ["run", str(_write(d / "e.png", b"")), "--headless", *G(d)], "not an image"),
    ("1x1 png", lambda d: ["run", str(_png(d / "tiny.png", (1, 1))), "--headless", *G(d)], "too small"),
    # URLs
    ("rtsp nobody listens", lambda d: ["run", f"rtsp://127.0.0.1:{free_port()}/cam", "--headless", *G(d)],
     "cannot open stream"),
    ("http nobody listens", lambda d: ["run", f"http://127.0.0.1:{free_port()}/x.mjpg", "--headless", *G(d)],
     "cannot open stream"),
    ("rtsp without host", lambda d: ["run", "rtsp://", "--headless", *G(d)], "cannot open stream"),
    ("no such webcam", lambda d: ["run", "97", "--headless", *G(d)], "cannot open webcam"),
    # Galleries
    ("gallery is text", lambda d: run(d, "--gallery", str(_write(d / "t.sqlite3", "just text"))),
     "not a facetrack gallery"),
    ("gallery of another app", lambda d: run(d, "--gallery", str(_other_sqlite(d))), "not a facetrack gallery"),
    ("gallery is a folder", lambda d: run(d, "--gallery", str(d)), "is a folder"),
    ("gallery without schema row", lambda d: ["people", "list", "--gallery", str(
        _gallery_copy(d, "noschema.sqlite3", "DELETE FROM meta WHERE key = 'schema'"))], "no schema version"),
    ("gallery with a bad descriptor", lambda d: ["people", "list", "--gallery", str(
        _gallery_copy(d, "blob.sqlite3", "UPDATE descriptors SET vector = x'0011'"))], "wrong size"),
    ("gallery from the future", lambda d: ["people", "list", "--gallery", str(
        _gallery_copy(d, "new.sqlite3", "UPDATE meta SET value = '99' WHERE key = 'schema'"))], "newer facetrack"),
    ("gallery where nothing can be made", lambda d: ["enroll", "X", str(LIN), "--gallery",
                                                     "/proc/facetrack/g.sqlite3"], "cannot create gallery"),
    # Names
    ("name with a tab", lambda d: ["enroll", "A\tB", str(LIN), *G(d)], "printable"),
    ("name with a newline", lambda d: ["enroll", "A\nB", str(LIN), *G(d)], "printable"),
    ("name of 10,000 characters", lambda d: ["enroll", "x" * 10_000, str(LIN), *G(d)], "at most 100"),
    ("blank name", lambda d: ["enroll", "   ", str(LIN), *G(d)], "cannot be empty"),
    ("rename to a control character", lambda d: ["people", "rename", "Lin", "B\x07", *G(d)], "printable"),
    ("rename to a long name", lambda d: ["people", "rename", "Lin", "y" * 200, *G(d)], "at most 100"),
    ("rename nobody", lambda d: ["people", "rename", "Nobody", "X", *G(d)], "no person named"),
    ("merge into oneself", lambda d: ["people", "merge", "Lin", "Lin", *G(d)], "themselves"),
    ("show nobody", lambda d: ["people", "show", "Nobody", *G(d)], "no person named"),
    ("split unknown samples", lambda d: ["people", "split", "Lin", "--samples", "99999", *G(d)], "no sample"),
    ("enrol a photo without a face", lambda d: ["enroll", "X", str(_png(d / "white.png", (300, 300))), *G(d)],
     "no face"),
    # Settings
    ("config file missing", lambda d: run(d, "--config", str(d / "none.toml")), "config file not found"),
    ("config not TOML", lambda d: run(d, "--config", str(_config(d, "threshold = = 1"))), "not valid TOML"),
    ("config unknown setting", lambda d: run(d, "--config", str(_config(d, "speed = 3"))), "unknown setting"),
    ("config facetrack = 5", lambda d: run(d, "--config", str(_config(d, "facetrack = 5"))), "facetrack"),
    ("config bool threshold", lambda d: run(d, "--config", str(_config(d, "threshold = true"))), "threshold"),
    ("config float detect-every", lambda d: run(d, "--config", str(_config(d, "detect-every = 2.7"))),
     "detect_every"),
    ("config huge upsample", lambda d: run(d, "--config", str(_config(d, "upsample = 1000000000"))), "upsample"),
    ("config log level", lambda d: run(d, "--config", str(_config(d, 'log-level = "LOUD"'))), "log_level"),
    ("env threshold nan", lambda d: run(d, "--config", str(_config(d, "threshold = nan"))), "threshold"),
    # Outputs
    ("output json is the gallery", lambda d: run(d, "--output-json", str(d / "g.sqlite3")), "gallery"),
    ("output video is the input", lambda d: run(d, "--output-video", str(CLIP)), "also an input"),
    ("output json is someone's file", lambda d: run(d, "--output-json", str(_write(d / "mine.txt", "notes"))),
     "not a facetrack json output"),
    ("two outputs, one file", lambda d: run(d, "--output-json", str(d / "o.jsonl"), "--events", str(d / "o.jsonl")),
     "already the"),
    ("output json is a folder", lambda d: run(d, "--output-json", str(d)), "is a folder"),
    ("output video is no video name", lambda d: run(d, "--output-video", str(d / "out.txt")), "video file name"),
    ("demo output is a file", lambda d: ["demo", "--output", str(_write(d / "file.txt", "x"))], "is a file"),
    ("demo output cannot be made", lambda d: ["demo", "--output", "/proc/facetrack-demo"], "cannot create"),
    ("demo over someone's gallery", lambda d: ["demo", "--output", str(
        _write(d / "mine" / "gallery.sqlite3", (d / "g.sqlite3").read_bytes()).parent)], "not made by the demo"),
]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    assert main(["enroll", "Lin", str(LIN), "--gallery", str(d / "g.sqlite3"), "-q"]) == 0
    return d


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 40 and len({name for name, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("name, argv, pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_input(base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
                   argv: Callable[[Path], list[str]], pattern: str) -> None:
    d = tmp_path
    (d / "g.sqlite3").write_bytes((base / "g.sqlite3").read_bytes())
    args = argv(d)
    before = (d / "g.sqlite3").read_bytes()
    capsys.readouterr()
    code = main(args)
    err = capsys.readouterr().err
    assert code == 1, (code, err)
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("facetrack: error:")]
    assert len(errors) == 1 and pattern in errors[0], err
    assert "Traceback" not in err and "internal error" not in err
    assert (d / "g.sqlite3").read_bytes() == before, "the gallery changed"


def test_no_native_library_lines_reach_the_terminal(tmp_path: Path) -> None:
    """FFmpeg and OpenCV print their own lines ("[mjpeg @ 0x...] overread"); without -v the user
    sees only facetrack's."""
    video = _truncated_avi(tmp_path / "cut.avi")
    proc = subprocess.run([sys.executable, "-m", "tracker", "run", str(video), "--headless", "--no-progress",
                           "--gallery", str(tmp_path / "g.sqlite3")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "@ 0x" not in proc.stderr and "WARN" not in proc.stderr, proc.stderr
    assert [ln for ln in proc.stderr.splitlines() if ln.startswith("facetrack: error:")]
    assert not (tmp_path / "g.sqlite3").exists()  # nothing was stored, so no gallery was made


def test_unreadable_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    (locked / "Ann").mkdir(parents=True)
    real = Path.iterdir

    def iterdir(self: Path):  # type: ignore[no-untyped-def]
        if self == locked:  # what chmod 000 does for a user who is not root
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    for argv in (["run", str(locked), "--headless"], ["enroll", "--folders", str(locked)]):
        assert main([*argv, "--gallery", str(tmp_path / "g.sqlite3")]) == 1
        err = capsys.readouterr().err
        assert "cannot read this folder (Permission denied)" in err and "internal error" not in err, err


def test_a_failed_enrolment_leaves_no_gallery_behind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gallery = tmp_path / "new" / "g.sqlite3"
    blank = _png(tmp_path / "white.png", (300, 300))
    assert main(["enroll", "Nobody", str(blank), "--gallery", str(gallery)]) == 1
    assert "no face" in capsys.readouterr().err
    assert not gallery.exists() and not Path(f"{gallery}-wal").exists()
    assert main(["people", "list", "--gallery", str(gallery)]) == 0  # reads as empty, still not made
    assert not gallery.exists()


# Usage errors: argparse refuses them before anything runs, in one line naming the command's
# --help (exit 2), never a usage block or an OverflowError later.
USAGE: list[Case] = [
    ("segment minutes inf", lambda d: ["analyze", str(CLIP), "--segment-minutes", "inf", *G(d)], "--segment-minutes"),
    ("segment minutes 1e308", lambda d: ["analyze", str(CLIP), "--segment-minutes", "1e308", *G(d)],
     "--segment-minutes"),
    ("split a huge sample id", lambda d: ["people", "split", "Lin", "--samples", "9" * 23, *G(d)], "--samples"),
    ("forget a huge sample id", lambda d: ["people", "forget", "Lin", "--samples", "9" * 23, *G(d)], "--samples"),
    ("status every inf", lambda d: run(d, "--status-every", "inf"), "--status-every"),
    ("status every 1e-9", lambda d: run(d, "--status-every", "1e-9"), "--status-every"),
    ("prune days nan", lambda d: ["people", "prune", "--days", "nan", *G(d)], "--days"),
    ("prune days inf", lambda d: ["people", "prune", "--days", "inf", *G(d)], "--days"),
    ("prune days -1", lambda d: ["people", "prune", "--days", "-1", *G(d)], "--days"),
    ("cluster threshold nan", lambda d: ["cluster", str(LIN), "--threshold", "nan"], "--threshold"),
    ("a flag of the wrong type", lambda d: run(d, "--threshold", "abc"), "--threshold"),
    ("flag upsample 99", lambda d: run(d, "--upsample", "99"), "--upsample"),
    ("flag detect scale 100", lambda d: run(d, "--detect-scale", "100"), "--detect-scale"),
    ("flag threshold nan", lambda d: run(d, "--threshold", "nan"), "--threshold"),
    ("flag threshold -3", lambda d: run(d, "--threshold", "-3"), "--threshold"),
    ("cluster threshold of analyze nan", lambda d: ["analyze", str(CLIP), "--cluster-threshold", "nan", *G(d)],
     "--cluster-threshold"),
    ("calibrate target far 5", lambda d: ["calibrate", "--target-far", "5", *G(d)], "--target-far"),
]


@pytest.mark.parametrize("name, argv, pattern", USAGE, ids=[c[0] for c in USAGE])
def test_usage_errors_are_one_line(base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
                                   argv: Callable[[Path], list[str]], pattern: str) -> None:
    (tmp_path / "g.sqlite3").write_bytes((base / "g.sqlite3").read_bytes())
    before = (tmp_path / "g.sqlite3").read_bytes()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(argv(tmp_path))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert exit_.value.code == 2 and len(lines) == 1, err
    assert lines[0].startswith("facetrack: error:") and pattern in lines[0] and "--help" in lines[0], err
    assert (tmp_path / "g.sqlite3").read_bytes() == before


@pytest.mark.parametrize("setting", [
    'gallery = ["postgresql://me:hunter2pass@127.0.0.1:1/db"]',
    'gallery = {url = "postgresql://me:hunter2pass@127.0.0.1:1/db"}',
    'gallery = "postgresql://me:hunter2pass@127.0.0.1:1/db\\u0000"',
    'threshold = "postgresql://me:hunter2pass@127.0.0.1:1/db"',
    'threshold = "postgresql://me:hunter2passwordthatislongerthanthesixtycharacterslimitofthemessage@h/db"',
])
def test_no_password_in_a_setting_of_the_wrong_type(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    setting: str) -> None:
    assert main(["people", "list", "--config", str(_config(tmp_path, "[facetrack]\n" + setting))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("facetrack: error:") and "hunter2" not in err and "***" in err, err


def test_cluster_groups_at_its_threshold_and_names_at_the_gallery_s(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A loose grouping distance must not loosen naming: strangers stay unnamed."""
    g = tmp_path / "g.sqlite3"
    assert main(["enroll", "Lin", str(LIN), "--gallery", str(g), "-q"]) == 0
    capsys.readouterr()
    assert main(["cluster", str(FACES / "obama_1.jpg"), str(FACES / "biden_2.jpg"), "--threshold", "1.2",
                 "--gallery", str(g), "--json"]) == 0
    import json

    groups = json.loads(capsys.readouterr().out)["groups"]
    assert len(groups) == 1 and groups[0]["person"] is None, groups  # one group at 1.2, named nobody


def _linked(path: Path, target: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return path


# Outputs into folders: files facetrack did not write are never replaced, links never followed.
OUTPUTS: list[Case] = [
    ("analyze over someone's report.html", lambda d: ["analyze", str(CLIP), "--out", str(
        _write(d / "rep" / "report.html", "<p>my page</p>").parent), *G(d)], "not written by facetrack"),
    ("analyze through a link to the gallery", lambda d: ["analyze", str(CLIP), "--out", str(
        _linked(d / "rep" / "report.json", d / "g.sqlite3").parent), *G(d)], "not written by facetrack"),
    ("analyze labels over the report", lambda d: ["analyze", str(CLIP), "--out", str(d / "rep"),
                                                 "--output-json", str(d / "rep" / "report.html"), *G(d)],
     "the report's files"),
    ("thumbnails over someone's photo", lambda d: ["people", "show", "Lin", "--thumbs", str(
        _write(d / "th" / "1.jpg", b"my photo").parent), *G(d)], "not written by facetrack"),
    ("thumbnails through a link to the gallery", lambda d: ["people", "show", "Lin", "--thumbs", str(
        _linked(d / "th" / "1.jpg", d / "g.sqlite3").parent), *G(d)], "not written by facetrack"),
]


@pytest.mark.parametrize("name, argv, pattern", OUTPUTS, ids=[c[0] for c in OUTPUTS])
def test_outputs_never_replace_what_is_not_ours(base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                name: str, argv: Callable[[Path], list[str]], pattern: str) -> None:
    import hashlib

    (tmp_path / "g.sqlite3").write_bytes((base / "g.sqlite3").read_bytes())
    args = argv(tmp_path)

    def state() -> dict[str, str]:
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else "link"
                for p in sorted(tmp_path.rglob("*"))}

    before = state()
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("facetrack: error:")]
    assert len(errors) == 1 and pattern in errors[0], err
    assert state() == before, "a file changed"


def test_a_report_folder_of_ours_is_replaced_and_thumbnails_again(tmp_path: Path) -> None:
    """What facetrack wrote itself it may write again (its marker is in the folder); files are
    replaced whole, and a link left where a thumbnail was is replaced, not followed."""
    g = tmp_path / "g.sqlite3"
    assert main(["enroll", "Lin", str(LIN), "--gallery", str(g), "-q"]) == 0
    thumbs = tmp_path / "th"
    assert main(["people", "show", "Lin", "--thumbs", str(thumbs), "--gallery", str(g)]) == 0
    first = sorted(p.name for p in thumbs.iterdir())
    assert "1.jpg" in first and ".facetrack-output" in first
    gallery_before = g.read_bytes()
    (thumbs / "1.jpg").unlink()
    (thumbs / "1.jpg").symlink_to(g)
    assert main(["people", "show", "Lin", "--thumbs", str(thumbs), "--gallery", str(g)]) == 0
    assert not (thumbs / "1.jpg").is_symlink() and (thumbs / "1.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert g.read_bytes() == gallery_before
    assert not [p for p in thumbs.iterdir() if p.name.endswith(".part")]


def test_analyze_fails_on_a_truncated_video_as_run_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut = _truncated_avi(tmp_path / "cut.avi")
    g = ["--gallery", str(tmp_path / "g.sqlite3")]
    assert main(["analyze", str(cut), "--out", str(tmp_path / "r1"), "--no-progress", *g]) == 1
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.startswith("facetrack: error:")] and "ends at frame" in err
    assert "--allow-partial" in err
    assert main(["analyze", str(cut), "--out", str(tmp_path / "r2"), "--no-progress", "--allow-partial", *g]) == 0
    assert "ends at frame" in capsys.readouterr().err  # said, as a warning


def test_analyze_takes_the_same_source_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    link = tmp_path / "again.mp4"
    link.symlink_to(CLIP)
    out = tmp_path / "labels.jsonl"
    assert main(["analyze", str(CLIP), str(link), str(CLIP), "--out", str(tmp_path / "r"), "--no-progress",
                 "--output-json", str(out), "--gallery", str(tmp_path / "g.sqlite3")]) == 0
    assert "analysed once" in capsys.readouterr().err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 275 and [r["frame"] for r in lines] == list(range(275))


def test_an_error_is_the_only_line_without_verbose(tmp_path: Path) -> None:
    """No INFO lines (the dlib build, its hint) before an error: a bad gallery is one line."""
    bad = _write(tmp_path / "t.sqlite3", "just text")
    proc = subprocess.run([sys.executable, "-m", "tracker", "run", str(CLIP), "--headless", "--gallery", str(bad)],
                          capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(lines) == 1 and lines[0].startswith("facetrack: error:"), proc.stderr
