"""Many cameras at once (`run --parallel`, `[[camera]]`): real files, real RTSP servers, one gallery."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.paths import CLIP, MONTAGE
from tests.helpers.rtsp import RtspServer, facetrack, h264_clip, missing, stop_within
from tracker.cli.main import main
from tracker.engine import camera_list
from tracker.errors import FacetrackError
from tracker.gallery.gallery import Gallery


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_camera_names_from_sources_are_readable_and_unique() -> None:
    assert camera_list.short_name("0") == "webcam0"
    assert camera_list.short_name("rtsp://user:pw@10.0.0.5:554/stream1") == "10.0.0.5:554-stream1"
    assert camera_list.short_name("/videos/door.mp4") == "door"
    names = [c.name for c in camera_list.cameras_for(["a/door.mp4", "b/door.mp4", "door.mkv"], taken=["door-2"])]
    assert names == ["door", "door-3", "door-4"]


def test_camera_tables_in_the_config(tmp_path: Path) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text('threshold = 0.55\n\n[[camera]]\nname = "door"\nurl = "rtsp://10.0.0.5/s1"\n'
                   'events = "out/door.jsonl"\n\n[[camera]]\nurl = "1"\noutput-json = "/abs/desk.jsonl"\n')
    cams = camera_list.cameras_from_toml(cfg)
    assert cams == [camera_list.Camera("door", "rtsp://10.0.0.5/s1", events=tmp_path / "out" / "door.jsonl"),
                    camera_list.Camera("webcam1", "1", output_json=Path("/abs/desk.jsonl"))]
    # The same file is a valid settings file: the camera list is not a setting.
    assert main(["people", "list", "--config", str(cfg), "--gallery", str(tmp_path / "g.sqlite3")]) == 0
    for bad, why in [('[[camera]]\nname = "x"\n', "needs a url"),
                     ('[[camera]]\nurl = "0"\nfps = "3"\n', "unknown key 'fps'"),
                     ('[[camera]]\nurl = 5\n', "must be a non-empty string"),
                     ('camera = "door"\n', "list of tables")]:
        cfg.write_text(bad)
        with pytest.raises(FacetrackError, match=why):
            camera_list.cameras_from_toml(cfg)


def test_outputs_are_checked_across_cameras(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    with pytest.raises(FacetrackError, match="named 'x'"):
        camera_list.check_cameras([camera_list.Camera("x", "1"), camera_list.Camera("x", "2")], {}, [])
    with pytest.raises(FacetrackError, match="choose another file"):
        camera_list.check_cameras([camera_list.Camera("x", "1", events=a),
                                   camera_list.Camera("y", "2", output_json=a)], {}, [])
    with pytest.raises(FacetrackError, match="choose another file"):
        camera_list.check_cameras([camera_list.Camera("x", "1", events=b)], {"json": b}, [])
    with pytest.raises(FacetrackError, match="need cameras"):
        camera_list.check_cameras([], {}, [])
    camera_list.check_cameras([camera_list.Camera("x", "1", events=a), camera_list.Camera("y", "2", events=b)], {}, [])


@pytest.mark.slow
def test_two_files_at_once_share_one_gallery_and_merge_their_outputs(tmp_path: Path) -> None:
    g, out, events = tmp_path / "g.sqlite3", tmp_path / "all.jsonl", tmp_path / "events.jsonl"
    started = time.monotonic()
    assert main(["run", "--parallel", "--headless", str(CLIP), str(MONTAGE), "--gallery", str(g),
                 "--output-json", str(out), "--events", str(events), "--status-every", "2", "-q"]) == 0
    took = time.monotonic() - started
    records = _lines(out)
    by_cam: dict[str, list[int]] = {}
    for r in records:
        by_cam.setdefault(r["camera"], []).append(r["frame"])
    # Every frame of both files, each camera's in order, interleaved in one file.
    assert by_cam == {"short_hamilton_clip": list(range(275)), "shotchange_ccby_montage": list(range(769))}
    assert records[0]["camera"] != records[-1]["camera"] or len({r["camera"] for r in records[:300]}) == 2
    ev = _lines(events)
    status = [e for e in ev if e["event"] == "status"]
    assert {e["camera"] for e in status} == set(by_cam)
    assert all(e["connected"] and e["fps"] >= 0 and e["dropped"] == 0 for e in status)
    assert {e["camera"] for e in ev if e["event"] == "appeared"} == set(by_cam)
    # One gallery: automatic names never collide; its people are the ones shown (some shown
    # early were folded into another since).
    shown = {f["person"] for r in records for f in r["faces"] if f["person"]}
    with Gallery(g) as gallery:
        names = {p.name for p in gallery.people()}
    assert names <= shown and len(names) >= 4
    per_cam = [{f["person"] for r in records if r["camera"] == c for f in r["faces"] if f["person"]} for c in by_cam]
    assert per_cam[0].isdisjoint(per_cam[1])  # the two files show different people
    assert took < 120


def test_a_camera_that_cannot_open_fails_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text(f'[[camera]]\nname = "good"\nurl = "{CLIP}"\noutput-json = "good.jsonl"\n\n'
                   f'[[camera]]\nname = "gone"\nurl = "{tmp_path / "missing.mp4"}"\n')
    code = main(["run", "--parallel", "--headless", "--config", str(cfg), "--gallery", str(tmp_path / "g.sqlite3")])
    err = capsys.readouterr().err
    assert code == 1
    assert "1 of 2 camera(s) failed: gone" in err and "Traceback" not in err
    assert len(_lines(tmp_path / "good.jsonl")) == 275  # the other camera ran to its end
    assert all(r["camera"] == "good" for r in _lines(tmp_path / "good.jsonl"))


def test_parallel_refuses_a_merged_video_and_a_bad_status_interval(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    g = str(tmp_path / "g.sqlite3")
    assert main(["run", "--parallel", str(CLIP), "--output-video", str(tmp_path / "v.mp4"), "--gallery", g]) == 1
    assert "give each camera its own" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # a usage error: refused as the flags are read
        main(["run", "--parallel", str(CLIP), "--status-every", "0", "--gallery", g])
    assert refused.value.code == 2 and "from 0.1 to 86400" in capsys.readouterr().err


@pytest.mark.skipif(bool(missing()), reason=missing() or "ok")
@pytest.mark.slow
def test_two_live_cameras_report_status_survive_a_killed_camera_and_stop_on_a_signal(tmp_path: Path) -> None:
    clip = h264_clip(CLIP, tmp_path / "loop.mp4")
    events = tmp_path / "events.jsonl"
    own = tmp_path / "a-events.jsonl"
    with RtspServer(clip) as a, RtspServer(clip) as b:
        site = tmp_path / "site.toml"
        site.write_text(f'[[camera]]\nname = "a"\nurl = "{a.url}"\nevents = "{own.name}"\n\n'
                        f'[[camera]]\nname = "b"\nurl = "{b.url}"\n')
        p = facetrack("run", "--parallel", "--headless", "--config", str(site), "--gallery",
                      str(tmp_path / "g.sqlite3"), "--events", str(events), "--status-every", "1")
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                st = [e for e in _lines(events) if e["event"] == "status" and e["frames"] > 0]
                if len({e["camera"] for e in st}) == 2:
                    break
                assert p.poll() is None, p.communicate()
                time.sleep(0.2)
            names = sorted({e["camera"] for e in st})
            assert len(names) == 2 and all(e["connected"] and e["fps"] > 0 for e in st), st
            # Kill camera a's process (its pid is in its status): the parent starts it again; b runs on.
            kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
            victim = next(e["pid"] for e in st if e["camera"] == "a")
            assert str(victim) in kids, (victim, kids)
            own_before = _lines(own)
            assert own_before, "camera a wrote its own events"
            subprocess.run(["kill", "-9", str(victim)], check=True)
            before = len(_lines(events))
            deadline = time.monotonic() + 60
            again: set[str] = set()
            while time.monotonic() < deadline and len(again) < 2:
                again = {e["camera"] for e in _lines(events)[before:] if e["event"] == "status"
                         and e["frames"] > 0}
                time.sleep(0.3)
            assert again == set(names), "both cameras report again after one was killed"
            err = stop_within(p, signal.SIGINT, 8.0, timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
    assert p.returncode == 130, err
    assert "stopped unexpectedly (signal 9); starting it again" in err, err
    assert "Traceback" not in err, err
    # The restarted camera appended to its own file: what it held before is still there.
    after = _lines(own)
    assert after[:len(own_before)] == own_before and len(after) > len(own_before)


@pytest.mark.skipif(bool(missing()), reason=missing() or "ok")
@pytest.mark.slow
def test_cameras_stop_when_their_parent_is_killed(tmp_path: Path) -> None:
    """No orphans: a parent killed outright (SIGKILL, no chance to stop them) leaves no camera
    process behind, and a Ctrl+C while the cameras are still starting prints no traceback."""
    clip = h264_clip(CLIP, tmp_path / "loop.mp4")
    events = tmp_path / "events.jsonl"
    with RtspServer(clip) as a, RtspServer(clip) as b:
        early = facetrack("run", "--parallel", "--headless", a.url, b.url, "--gallery", str(tmp_path / "e.sqlite3"))
        assert early.stderr is not None
        first = early.stderr.readline()  # the parent is up: "2 cameras running, ..."
        assert "camera(s) running" in first, first
        early.send_signal(signal.SIGINT)  # the camera interpreters are still importing
        _, err = early.communicate(timeout=30)
        err = first + err
        assert early.returncode == 130 and "Traceback" not in err and "KeyboardInterrupt" not in err, err
        p = facetrack("run", "--parallel", "--headless", a.url, b.url, "--gallery", str(tmp_path / "g.sqlite3"),
                      "--events", str(events), "--status-every", "1")
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len({e["camera"] for e in _lines(events)
                                                       if e["event"] == "status"}) < 2:
                time.sleep(0.2)
            kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
            assert kids
            p.kill()
            p.wait()
            deadline = time.monotonic() + 10
            alive = kids
            while alive and time.monotonic() < deadline:
                alive = [k for k in kids if Path(f"/proc/{k}").exists()
                         and "Z" not in Path(f"/proc/{k}/stat").read_text().split()[2]]
                time.sleep(0.2)
            assert not alive, f"camera processes left running: {alive}"
        finally:
            if p.poll() is None:
                p.kill()


def test_one_source_reports_status_when_asked(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    assert main(["run", "--headless", str(CLIP), "--gallery", str(tmp_path / "g.sqlite3"), "--events", str(events),
                 "--status-every", "0.5", "--no-progress", "-q"]) == 0
    status = [e for e in _lines(events) if e["event"] == "status"]
    assert status and status[-1]["frames"] == 275 and status[-1]["source"] == str(CLIP)
    assert all(e["connected"] and "camera" not in e for e in status)
    quiet = tmp_path / "quiet.jsonl"
    assert main(["run", "--headless", str(CLIP), "--gallery", str(tmp_path / "g.sqlite3"), "--events", str(quiet),
                 "--no-progress", "-q"]) == 0
    assert not [e for e in _lines(quiet) if e["event"] == "status"]  # only when asked, without --parallel
