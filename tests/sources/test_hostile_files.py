"""Hostile file systems, second round (issue 19): permissions, files that are not galleries, file
names of any bytes, names too long, a full disk, FIFOs and signals. Each case runs the real
command line and checks the exit status, one error line, no traceback, and the sha256 of the
gallery and the user's files before and after.

Where permissions matter the command runs as a user the permissions bind: as root, in a process
without capabilities (setpriv), so a 0444 file or a 000 folder stops it as it stops any user."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers.paths import CLIP, FACES, LIN, ROOT
from tracker.cli.main import main

NOT_UTF8 = os.fsdecode(b"v\xfe")  # a name byte that is not UTF-8, as Python carries it
LONG = "x" * 300  # over the 255 bytes a file name may have


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _state(folder: Path) -> dict[str, tuple[str, int]]:
    """Every regular file under `folder`: its sha256 and mode (what a command must not change)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        try:
            if p.is_file() and not p.is_symlink():
                out[str(p)] = (_sha(p), p.stat().st_mode & 0o7777)
        except PermissionError:
            continue
    return out


def _unprivileged() -> list[str]:
    """A prefix that runs a command bound by file permissions."""
    if os.getuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot bind a test process")
    prefix = [setpriv, "--bounding-set=-all", "--inh-caps=-all"]
    if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        pytest.skip("setpriv cannot drop capabilities here (no CAP_SETPCAP): permissions cannot bind")
    return prefix


def cli(argv: list[str], cwd: Path, unprivileged: bool = False, timeout: float = 120,
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(cwd)}
    prefix = _unprivileged() if unprivileged else []
    return subprocess.run([*prefix, sys.executable, "-m", "tracker", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def one_error(err: str, pattern: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("facetrack: error:")]
    assert len(errors) == 1 and pattern in errors[0], err
    assert "Traceback" not in err and "internal error" not in err, err


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostile-files")
    assert main(["enroll", "Lin", str(LIN), "--gallery", str(d / "g.sqlite3"), "-q"]) == 0
    return d / "g.sqlite3"


@pytest.fixture
def d(base: Path, tmp_path: Path) -> Iterator[Path]:
    shutil.copy(base, tmp_path / "g.sqlite3")
    (tmp_path / "g.sqlite3").chmod(0o600)
    yield tmp_path
    for p in tmp_path.rglob("*"):  # folders a case locked, so pytest can remove them
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)


# ------------------------------------------------------------------ 5-7: the gallery-open policy
def test_5_a_write_protected_gallery_is_refused_for_changes_and_never_made_writable(d: Path) -> None:
    g = d / "g.sqlite3"
    g.chmod(0o444)
    before = _state(d)
    for argv in (["people", "rename", "Lin", "Lin-Manuel"], ["enroll", "Lin", str(FACES / "obama_1.jpg")],
                 ["people", "prune", "--days", "1"]):
        r = cli([*argv, "--gallery", str(g)], d, unprivileged=True)
        assert r.returncode == 1, r.stderr
        one_error(r.stderr, "write-protected")
        assert _state(d) == before and not Path(f"{g}-wal").exists() and not Path(f"{g}-shm").exists()
    r = cli(["people", "list", "--gallery", str(g)], d, unprivileged=True)  # reading it is fine
    assert r.returncode == 0 and "Lin" in r.stdout, r.stderr
    assert _state(d) == before  # 0444 stays 0444: nothing chmodded


def test_5_a_gallery_others_may_read_is_tightened_only_by_removing_bits(d: Path) -> None:
    g = d / "g.sqlite3"
    g.chmod(0o644)
    assert cli(["people", "list", "--gallery", str(g)], d).returncode == 0
    assert g.stat().st_mode & 0o777 == 0o644  # a read-only command changes nothing
    assert cli(["people", "rename", "Lin", "Lin-Manuel", "--gallery", str(g)], d).returncode == 0
    assert g.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("argv", [
    ["people", "list"], ["people", "show", "Lin"], ["people", "suggest"], ["calibrate"],
    ["analyze", str(LIN), "--out", "rep", "--no-progress"], ["cluster", str(LIN)],
    ["enroll", "Lin", str(LIN)], ["run", str(LIN), "--headless"],
], ids=lambda a: " ".join(a[:2]))
def test_6_an_empty_file_is_not_a_gallery_and_is_never_written(d: Path, capsys: pytest.CaptureFixture[str],
                                                               argv: list[str]) -> None:
    e = d / "e.sqlite3"
    e.touch()
    argv = [a if a != "rep" else str(d / "rep") for a in argv]
    assert main([*argv, "--gallery", str(e)]) == 1
    one_error(capsys.readouterr().err, "empty file")
    assert e.stat().st_size == 0 and e.stat().st_mode & 0o777 == 0o644
    assert not Path(f"{e}-wal").exists()


def test_6_importing_an_empty_file_writes_nothing_into_it(d: Path, capsys: pytest.CaptureFixture[str]) -> None:
    e = d / "e.sqlite3"
    e.touch()
    before = _state(d)
    assert main(["people", "import", str(e), "--gallery", str(d / "g.sqlite3")]) == 1
    one_error(capsys.readouterr().err, "empty file")
    assert _state(d) == before


def _other_app(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (t TEXT)")
    db.execute("INSERT INTO notes VALUES ('mine')")
    db.commit()
    db.close()
    path.chmod(0o644)
    return path


@pytest.mark.parametrize("argv", [
    lambda d: ["people", "list", "--gallery", str(_other_app(d / "app.sqlite3"))],
    lambda d: ["enroll", "X", str(LIN), "--gallery", str(_other_app(d / "app.sqlite3"))],
    lambda d: ["people", "import", str(_other_app(d / "app.sqlite3")), "--gallery", str(d / "g.sqlite3")],
    lambda d: ["people", "import", str(_truncated(d / "cut.sqlite3", d / "g.sqlite3")), "--gallery",
               str(d / "g.sqlite3")],
], ids=["list", "enroll", "import", "import truncated"])
def test_7_another_application_s_file_is_refused_unchanged(d: Path, capsys: pytest.CaptureFixture[str],
                                                           argv: Callable[[Path], list[str]]) -> None:
    args = argv(d)
    before = _state(d)
    assert main(args) == 1
    one_error(capsys.readouterr().err, "gallery")
    assert _state(d) == before  # same bytes, same mode: not chmodded


def _truncated(path: Path, gallery: Path) -> Path:
    path.write_bytes(gallery.read_bytes()[:5000])
    path.chmod(0o644)
    return path


# ------------------------------------------------------------------ 9-12: names and permissions
def test_9_a_video_whose_name_is_not_utf8_is_read_not_a_segfault(d: Path) -> None:
    video = d / f"{NOT_UTF8}.mp4"
    shutil.copy(CLIP, video)
    r = cli(["run", str(video), "--headless", "--no-progress", "--gallery", str(d / "g.sqlite3"),
             "--output-json", str(d / "o.jsonl")], d)
    assert r.returncode == 0, r.stderr
    first = json.loads((d / "o.jsonl").read_text().splitlines()[0])
    assert first["source"].endswith("v\\xfe.mp4")  # shown as ls -b shows it, valid UTF-8
    r = cli(["analyze", str(video), "--out", str(d / "rep"), "--no-progress", "--gallery", str(d / "g.sqlite3")], d)
    assert r.returncode == 0 and "people" in r.stdout, r.stderr
    assert json.loads((d / "rep" / "report.json").read_text())["sources"][0].endswith("v\\xfe.mp4")


def test_10_photos_whose_names_are_not_utf8_enrol_and_analyse(d: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = d / "photos" / os.fsdecode(b"ob\xffama.jpg")
    photo.parent.mkdir()
    shutil.copy(FACES / "obama_1.jpg", photo)
    g = str(d / "g.sqlite3")
    assert main(["enroll", "Obama", str(photo), "--gallery", g]) == 0
    assert main(["people", "show", "Obama", "--gallery", g]) == 0
    assert "ob\\xffama.jpg" in capsys.readouterr().out
    assert main(["analyze", str(photo.parent), "--out", str(d / "rep"), "--no-progress", "--gallery", g]) == 0
    assert main(["cluster", str(photo.parent)]) == 0
    assert "ob\\xffama.jpg" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    lambda d: ["enroll", "X", str(LIN), "--gallery", str(d / f"{LONG}.sqlite3")],
    lambda d: ["cluster", str(d / f"{LONG}.jpg")],
    lambda d: ["analyze", str(LIN), "--out", str(d / LONG), "--gallery", str(d / "g.sqlite3")],
    lambda d: ["run", str(LIN), "--headless", "--output-json", str(d / f"{LONG}.jsonl"), "--gallery",
               str(d / "g.sqlite3")],
    lambda d: ["people", "list", "--gallery", str(d / f"{LONG}.sqlite3")],
    lambda d: ["people", "export", str(d / f"{LONG}.sqlite3"), "--gallery", str(d / "g.sqlite3")],
    lambda d: ["calibrate", "--plot", str(d / f"{LONG}.png"), "--gallery", str(d / "g.sqlite3")],
], ids=["enroll", "cluster", "analyze --out", "run --output-json", "--gallery", "people export",
        "calibrate --plot"])
def test_11_a_name_too_long_is_one_line(d: Path, capsys: pytest.CaptureFixture[str],
                                        argv: Callable[[Path], list[str]]) -> None:
    before = _state(d)
    assert main(argv(d)) == 1
    one_error(capsys.readouterr().err, "too long")
    assert _state(d) == before


def test_12_a_gallery_in_a_folder_nobody_may_enter_is_one_line(d: Path) -> None:
    locked = d / "locked"
    locked.mkdir()
    shutil.copy(d / "g.sqlite3", locked / "g.sqlite3")
    locked.chmod(0)
    r = cli(["people", "list", "--gallery", str(locked / "g.sqlite3")], d, unprivileged=True)
    assert r.returncode == 1
    one_error(r.stderr, "Permission denied")


def test_12_a_gallery_in_a_read_only_folder_is_read_but_not_changed(d: Path) -> None:
    folder = d / "ro"
    folder.mkdir()
    shutil.copy(d / "g.sqlite3", folder / "g.sqlite3")
    folder.chmod(0o555)
    before = _state(folder)
    r = cli(["people", "list", "--gallery", str(folder / "g.sqlite3")], d, unprivileged=True)
    assert r.returncode == 0 and "Lin" in r.stdout, r.stderr
    r = cli(["people", "rename", "Lin", "X", "--gallery", str(folder / "g.sqlite3")], d, unprivileged=True)
    assert r.returncode == 1
    one_error(r.stderr, "not writable")
    assert _state(folder) == before and sorted(p.name for p in folder.iterdir()) == ["g.sqlite3"]


# ------------------------------------------------------------------ 13: a full disk
@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KB tmpfs: most outputs do not fit."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.getuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a tmpfs needs root to mount")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_13_a_full_disk_leaves_whole_lines_or_the_old_file(d: Path, full_disk: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    g = ["--gallery", str(d / "g.sqlite3")]
    out = full_disk / "o.jsonl"
    assert main(["run", str(CLIP), "--headless", "--no-progress", "--output-json", str(out), *g]) == 1
    one_error(capsys.readouterr().err, "No space left")
    lines = out.read_bytes().splitlines(keepends=True)
    assert lines and all(line.endswith(b"\n") for line in lines)
    assert all(json.loads(line)["frame"] == i for i, line in enumerate(lines))  # every line whole
    out.unlink()

    labels = full_disk / "labels.jsonl"
    labels.write_text('{"frame":0,"time":0.0,"source":"earlier","faces":[]}\n')
    old = _sha(labels)
    assert main(["analyze", str(CLIP), "--out", str(d / "rep"), "--no-progress", "--output-json", str(labels),
                 *g]) == 1
    one_error(capsys.readouterr().err, "left as it was")
    assert _sha(labels) == old
    assert sorted(p.name for p in full_disk.iterdir()) == ["labels.jsonl"]  # no temporary file left

    assert main(["run", str(CLIP), "--headless", "--no-progress", "--output-video", str(full_disk / "o.mp4"),
                 *g]) == 1
    one_error(capsys.readouterr().err, "o.mp4")
    assert sorted(p.name for p in full_disk.iterdir()) == ["labels.jsonl"]  # no half video


def _two_people(d: Path) -> Path:
    """A gallery calibrate can measure: two people, two photos each."""
    g = d / "two.sqlite3"
    for name, photos in (("Obama", ["obama_1.jpg", "obama_2.jpg"]), ("Biden", ["biden_1.jpg", "biden_2.jpg"])):
        assert main(["enroll", name, *(str(FACES / p) for p in photos), "--gallery", str(g), "-q"]) == 0
    return g


@pytest.mark.parametrize("argv, pattern", [
    (lambda d, m: ["analyze", str(CLIP), "--out", str(m / "rep"), "--no-progress", "--gallery",
                   str(d / "g.sqlite3")], "No space left"),
    (lambda d, m: ["calibrate", "--plot", str(m / "p.png"), "--gallery", str(_two_people(d))], "No space left"),
    (lambda d, m: ["people", "show", "Lin", "--thumbs", str(m / "th"), "--gallery", str(d / "g.sqlite3")],
     "No space left"),
], ids=["analyze --out", "calibrate --plot", "people show --thumbs"])
def test_13_a_full_disk_leaves_no_half_file(d: Path, full_disk: Path, capsys: pytest.CaptureFixture[str],
                                            argv: Callable[[Path, Path], list[str]], pattern: str) -> None:
    (full_disk / "filler").write_bytes(b"\0" * (60 * 1024 - 1))  # what is left: a few KB
    code = main(argv(d, full_disk))
    err = capsys.readouterr().err
    if code == 0:  # it fitted after all: then it is whole
        return
    assert code == 1
    one_error(err, pattern)
    files = [p for p in full_disk.rglob("*") if p.is_file() and p.name not in ("filler", ".facetrack-output")]
    assert not [p for p in files if p.stat().st_size == 0 or p.name.endswith(".part")], files


def test_13_a_failed_enrolment_into_a_protected_gallery_leaves_no_journal(d: Path) -> None:
    g = d / "g.sqlite3"
    g.chmod(0o400)
    r = cli(["enroll", "X", str(FACES / "obama_1.jpg"), "--gallery", str(g)], d, unprivileged=True)
    assert r.returncode == 1
    one_error(r.stderr, "write-protected")
    assert sorted(p.name for p in d.iterdir()) == ["g.sqlite3"]


# ------------------------------------------------------------------ 15: FIFOs, signals
@pytest.mark.parametrize("argv", [
    ["people", "list"], ["enroll", "X", str(LIN)], ["calibrate"], ["people", "rename", "Lin", "X"],
    ["cluster", str(LIN)],
], ids=lambda a: " ".join(a[:2]))
def test_15_a_fifo_gallery_is_refused_at_once(d: Path, argv: list[str]) -> None:
    fifo = d / "f.sqlite3"
    os.mkfifo(fifo)
    r = cli([*argv, "--gallery", str(fifo)], d, timeout=60)  # a hang fails here by the timeout
    assert r.returncode == 1
    one_error(r.stderr, "FIFO")


def test_15_a_fifo_output_streams_and_a_signal_still_ends_the_run(d: Path) -> None:
    fifo = d / "o.fifo"
    os.mkfifo(fifo)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(d)}
    argv = [sys.executable, "-m", "tracker", "run", str(CLIP), "--headless", "--no-progress", "--output-json",
            str(fifo), "--gallery", str(d / "g.sqlite3")]
    # Nobody reads: it waits for a reader, and SIGTERM ends the wait.
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(6)
    assert proc.poll() is None
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 2.0, "the README promises an exit within 2 s"
    assert proc.returncode == 128 + signal.SIGTERM and "Traceback" not in err, err
    # A reader that reads: the lines stream through the FIFO, whole.
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with open(fifo, "rb") as fh:
        lines = fh.read().splitlines()
    proc.communicate(timeout=120)
    assert proc.returncode == 0 and len(lines) == 275 and json.loads(lines[-1])["frame"] == 274


# ------------------------------------------------------------------ 20: self-import by identity
def test_20_a_gallery_is_not_imported_into_itself_through_a_hard_link(d: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    g = d / "g.sqlite3"
    os.link(g, d / "again.sqlite3")
    before = _state(d)
    assert main(["people", "import", str(d / "again.sqlite3"), "--gallery", str(g)]) == 1
    one_error(capsys.readouterr().err, "into itself")
    assert _state(d) == before


# ------------------------------------------------------------------ 21: signals while writing
@pytest.mark.parametrize("delay", [3.0, 5.0, 7.0])
def test_21_a_signal_during_analyze_leaves_whole_outputs_or_none(d: Path, delay: float) -> None:
    """SIGTERM at any moment: the run ends with 143 and no half file; a signal that comes once
    writing began waits for the outputs to be whole."""
    out, labels = d / "rep", d / "labels.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(d)}
    proc = subprocess.Popen([sys.executable, "-m", "tracker", "analyze", str(CLIP), "--out", str(out),
                             "--output-json", str(labels), "--no-progress", "--gallery", str(d / "g.sqlite3")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 128 + signal.SIGTERM) and "Traceback" not in err, err
    if proc.returncode:
        assert "facetrack: interrupted" in err or "facetrack: stopped" in err, err
    if labels.exists():
        assert len(labels.read_text().splitlines()) == 275
    if (out / "report.json").exists():
        json.loads((out / "report.json").read_text())
        assert (out / "report.html").read_text().rstrip().endswith("</html>")
    leftovers = [p for p in d.rglob("*.part")]
    assert not leftovers, leftovers


def test_the_names_of_any_bytes_work_in_a_gallery_path_too(d: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g = d / f"{NOT_UTF8}.sqlite3"
    assert main(["enroll", "Lin", str(LIN), "--gallery", str(g), "-q"]) == 0
    assert main(["people", "list", "--gallery", str(g)]) == 0
    assert "Lin" in capsys.readouterr().out
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(d / "black.png")
    assert main(["enroll", "Nobody", str(d / "black.png"), "--gallery", str(g)]) == 1
    one_error(capsys.readouterr().err, "black.png")


# ------------------------------------------------------------------ lower: names, configs, --out
def test_a_camera_name_with_a_newline_is_refused(d: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = d / "c.toml"
    cfg.write_text('[[camera]]\nname = "door\\nfacetrack: error: forged"\nurl = "v.mp4"\n')
    assert main(["run", "--parallel", "--config", str(cfg), "--gallery", str(d / "g.sqlite3")]) == 1
    err = capsys.readouterr().err
    one_error(err, "printable")
    assert len(err.splitlines()) == 1 and "forged" in err  # shown escaped, on the one line


def test_log_lines_are_one_line_whatever_the_names(d: Path, capsys: pytest.CaptureFixture[str]) -> None:
    people = d / "people"
    (people / "Bo\nb").mkdir(parents=True)
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(people / "Bo\nb" / "black.png")
    assert main(["enroll", "--folders", str(people), "--gallery", str(d / "g.sqlite3")]) == 1
    err = capsys.readouterr().err
    lines = err.splitlines()
    # Said once (the reason), then one error line naming it; the newline escaped in both.
    assert len(lines) == 2 and all("Bo\\nb" in line for line in lines), err
    one_error(err, "not enrolled")


def test_relative_paths_in_a_config_file_are_beside_it(d: Path, tmp_path_factory: pytest.TempPathFactory,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    site = d / "site"
    site.mkdir()
    shutil.copy(d / "g.sqlite3", site / "gallery.sqlite3")
    shutil.copy(CLIP, site / "door.mp4")
    (site / "c.toml").write_text('[facetrack]\ngallery = "gallery.sqlite3"\n\n'
                                 '[[camera]]\nname = "door"\nurl = "door.mp4"\nevents = "door.jsonl"\n')
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    assert main(["people", "list", "--config", str(site / "c.toml")]) == 0
    assert "Lin" in capsys.readouterr().out  # the gallery beside the file, not one made here
    assert main(["run", "--parallel", "--config", str(site / "c.toml"), "--no-progress"]) == 0
    assert (site / "door.jsonl").is_file() and not list(Path.cwd().iterdir())


def test_an_out_folder_that_cannot_be_made_is_said_before_any_work(d: Path, capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.engine import offline

    def pass_1(*_a: object, **_k: object) -> None:
        raise AssertionError("pass 1 ran before --out was checked")

    monkeypatch.setattr(offline, "track_pieces", pass_1)
    (d / "afile").write_text("mine")
    assert main(["analyze", str(CLIP), "--out", str(d / "afile" / "rep"), "--gallery", str(d / "g.sqlite3")]) == 1
    one_error(capsys.readouterr().err, "is a file, not a folder")
    assert main(["analyze", str(CLIP), "--out", str(d / LONG / "rep"), "--gallery", str(d / "g.sqlite3")]) == 1
    one_error(capsys.readouterr().err, "too long")
    assert (d / "afile").read_text() == "mine"


# ------------------------------------------------------------------ a third round (found by probing)
@pytest.mark.parametrize("argv, pattern", [
    (lambda d: ["run", str(LIN), "--headless", "--output-json", str(d / "g.sqlite3-wal"), "--gallery",
                str(d / "g.sqlite3")], "is the gallery"),
    (lambda d: ["run", str(LIN), "--headless", "--events", str(d / "g.sqlite3-shm"), "--gallery",
                str(d / "g.sqlite3")], "is the gallery"),
    (lambda d: ["run", str(LIN), "--headless", "--output-json", str(_link(d / "o.jsonl", d / "mine.jsonl")),
                "--gallery", str(d / "g.sqlite3")], "symbolic link"),
    (lambda d: ["run", str(LIN), "--headless", "--output-json", str(_link(d / "dangling.jsonl", d / "x" / "y.jsonl")),
                "--gallery", str(d / "g.sqlite3")], "symbolic link"),
    (lambda d: ["run", str(LIN), "--headless", "--output-video", str(_text(d / "notes.mp4")), "--gallery",
                str(d / "g.sqlite3")], "not a facetrack video output"),
    (lambda d: ["analyze", str(LIN), "--out", str(_report_with_linked_people(d)), "--no-progress", "--gallery",
                str(d / "g.sqlite3")], "symbolic link"),
    (lambda d: ["people", "list", "--gallery", "~nosuchuser-facetrack/g.sqlite3"], "no such user"),
    (lambda d: ["people", "list", "--config", str(_text(d / "c.toml", "knn = " + "9" * 5000))], "config"),
    (lambda d: ["people", "list", "--gallery", str(_damaged(d, "UPDATE people SET created = 'abc'"))], "damaged"),
    (lambda d: ["calibrate", "--gallery", str(_damaged(d, "UPDATE descriptors SET vector = zeroblob(512)"
                                                        " || x'0000c07f'"))], "gallery"),
], ids=["json on the -wal", "events on the -shm", "json through a link", "json through a dangling link",
        "video over a text file", "report people/ a link", "~nosuchuser", "a 5000-digit number", "created 'abc'",
        "a NaN descriptor"])
def test_third_round(d: Path, capsys: pytest.CaptureFixture[str], argv: Callable[[Path], list[str]],
                     pattern: str) -> None:
    (d / "mine.jsonl").write_text('{"frame": 0, "faces": []}\n')
    args = argv(d)
    before = _state(d)
    assert main(args) == 1
    one_error(capsys.readouterr().err, pattern)
    assert _state(d) == before


def _link(path: Path, target: Path) -> Path:
    path.symlink_to(target)
    return path


def _text(path: Path, text: str = "my notes") -> Path:
    path.write_text(text)
    return path


def _report_with_linked_people(d: Path) -> Path:
    rep = d / "rep"
    rep.mkdir()
    (rep / ".facetrack-output").write_text("facetrack wrote this analysis report here\n")
    (d / "victim").mkdir()
    (d / "victim" / "Lin.jpg").write_bytes(b"my photo")
    (rep / "people").symlink_to(d / "victim")
    return rep


def _damaged(d: Path, sql: str) -> Path:
    path = d / "damaged.sqlite3"
    shutil.copy(d / "g.sqlite3", path)
    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()
    return path


def test_no_password_of_a_stream_or_a_database_is_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.helpers.streams import free_port
    from tracker.config import redact

    assert "pa#ss9word" not in redact("postgresql://me:pa#ss9word@127.0.0.1:1/db")
    assert "p?a/ss" not in redact("postgresql://me:p?a/ss@h/db")
    assert main(["run", f"http://admin:camPW77secret@127.0.0.1:{free_port()}/x.mjpg", "--headless",
                 "--gallery", str(tmp_path / "g.sqlite3")]) == 1
    err = capsys.readouterr().err
    assert "camPW77secret" not in err and "***" in err, err


def test_a_name_with_a_newline_in_a_crafted_gallery_lists_on_one_line(d: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    db = sqlite3.connect(d / "g.sqlite3")
    db.execute("UPDATE people SET name = 'Lin\nfacetrack: error: forged'")
    db.commit()
    db.close()
    assert main(["people", "list", "--gallery", str(d / "g.sqlite3")]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1 and "Lin\\nfacetrack" in out, out
