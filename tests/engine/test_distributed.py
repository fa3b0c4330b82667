"""`analyze --ray`: pass 1 on a local Ray instance with 2 workers gives what the local run gives;
`run --ray`: cameras as Ray actors sharing one gallery (a PostgreSQL one, as on a cluster)."""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import mqtt_broker
from tests.helpers.paths import CLIP, FACES, LIN, MONTAGE
from tracker.cli.main import main
from tracker.engine.distributed import looks_like_address


def test_what_counts_as_a_ray_address() -> None:
    for address in ("auto", "local", "ray://head:10001", "10.0.0.2:6379", "head-node.lan:6379"):
        assert looks_like_address(address), address
    for source in ("clip.mp4", "videos/a.mp4", "/data/x.mkv", "photos"):
        assert not looks_like_address(source), source


def test_without_ray_installed_the_error_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    real = builtins.__import__

    def no_ray(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    assert main(["analyze", "--ray", str(FACES), "--out", str(tmp_path / "r"), "--gallery",
                 str(tmp_path / "g.sqlite3"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "--ray needs Ray" in err and "pip install" in err and "Traceback" not in err
    assert not (tmp_path / "r" / "report.json").exists()


@pytest.mark.slow
def test_analyze_on_a_local_ray_instance_with_2_workers_matches_the_local_run(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    g = tmp_path / "g.sqlite3"
    sources = [str(CLIP), str(MONTAGE), str(FACES)]
    assert main(["analyze", *sources, "--out", str(tmp_path / "local"), "--gallery", str(g),
                 "--output-json", str(tmp_path / "local.jsonl"), "--no-progress", "-q"]) == 0
    # `--ray` followed by a source: the source is not taken for an address.
    assert main(["analyze", "--ray", *sources, "--ray-cpus", "2", "--out", str(tmp_path / "ray"),
                 "--gallery", str(g), "--output-json", str(tmp_path / "ray.jsonl"), "--no-progress", "-q"]) == 0
    local = json.loads((tmp_path / "local" / "report.json").read_text())
    ray = json.loads((tmp_path / "ray" / "report.json").read_text())
    assert ray == local
    assert len(local["people"]) >= 5 and local["sources"] == ray["sources"]
    assert (tmp_path / "ray.jsonl").read_text() == (tmp_path / "local.jsonl").read_text()


@pytest.mark.slow
def test_a_long_recording_in_segments_gives_the_same_on_ray_and_whole_frames_in_order(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    g = tmp_path / "g.sqlite3"
    common = ["--gallery", str(g), "--no-progress", "-q", "--segment-minutes", "0.2"]  # 12 s: 3 segments
    assert main(["analyze", str(MONTAGE), "--out", str(tmp_path / "local"),
                 "--output-json", str(tmp_path / "local.jsonl"), *common]) == 0
    assert main(["analyze", "--ray", str(MONTAGE), "--ray-cpus", "2", "--out", str(tmp_path / "ray"),
                 "--output-json", str(tmp_path / "ray.jsonl"), *common]) == 0
    assert main(["analyze", str(MONTAGE), "--out", str(tmp_path / "whole"), "--gallery", str(g), "--no-progress",
                 "-q", "--segment-minutes", "0"]) == 0
    local = json.loads((tmp_path / "local" / "report.json").read_text())
    assert json.loads((tmp_path / "ray" / "report.json").read_text()) == local
    assert (tmp_path / "ray.jsonl").read_text() == (tmp_path / "local.jsonl").read_text()
    frames = [json.loads(line)["frame"] for line in (tmp_path / "local.jsonl").read_text().splitlines()]
    assert frames == list(range(769))  # every frame once, in order, across the cuts between segments
    assert local["sources"] == [str(MONTAGE)]
    whole = json.loads((tmp_path / "whole" / "report.json").read_text())
    # A track cut at a segment boundary is joined again by the clustering: about the same people.
    assert abs(len(local["people"]) - len(whole["people"])) <= 1, (len(local["people"]), len(whole["people"]))


def test_segment_plan() -> None:
    from tracker.config import Config
    from tracker.engine.offline import Piece, plan
    from tracker.sources import source_for

    s = source_for(str(MONTAGE), Config())
    s.ensure_open()
    assert plan([s], 10.0) == [Piece(str(MONTAGE), 0, 300), Piece(str(MONTAGE), 300, 600), Piece(str(MONTAGE), 600)]
    assert plan([s], 0.0) == plan([s], 60.0) == [Piece(str(MONTAGE))]
    s.close()


def test_ray_followed_by_sources_keeps_their_order() -> None:
    from tracker.cli.analyze import ray_argv

    assert ray_argv(["analyze", "a.mp4", "--ray", "b.mp4", "--out", "r"]) == \
        ["analyze", "a.mp4", "--ray=local", "b.mp4", "--out", "r"]
    assert ray_argv(["analyze", "--ray", "auto", "a.mp4"]) == ["analyze", "--ray", "auto", "a.mp4"]
    assert ray_argv(["analyze", "a.mp4", "--ray", "--out", "r"]) == ["analyze", "a.mp4", "--ray", "--out", "r"]
    assert ray_argv(["run", "--ray", "cam.mp4", "--headless"]) == ["run", "--ray=local", "cam.mp4", "--headless"]
    assert ray_argv(["people", "list", "--ray", "x"]) == ["people", "list", "--ray", "x"]  # only analyze and run


def test_segments_too_short_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:  # a usage error: refused as the flags are read
        main(["analyze", str(CLIP), "--out", str(tmp_path / "r"), "--segment-minutes", "0.01",
              "--gallery", str(tmp_path / "g.sqlite3")])
    assert refused.value.code == 2 and "0 or a number from 0.1" in capsys.readouterr().err


@pytest.mark.slow
def test_run_on_ray_is_an_actor_per_camera_sharing_a_postgresql_gallery(postgres_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("ray")
    url = postgres_server.database()
    assert main(["enroll", "Lin-Manuel Miranda", str(LIN), "--gallery", url, "-q"]) == 0
    merged, events = tmp_path / "all.jsonl", tmp_path / "events.jsonl"
    # Each actor publishes its camera's events on the broker too, where one can be started.
    broker = mqtt_broker.Broker().start() if mqtt_broker.available() is None else None
    sub = mqtt_broker.Subscriber(broker, ("facetrack/+/events",)) if broker is not None else None
    try:
        assert main(["run", "--ray", str(CLIP), str(CLIP), "--ray-cpus", "2", "--headless", "--gallery", url,
                     "--output-json", str(merged), "--events", str(events), "--status-every", "2", "-q",
                     *(["--mqtt", broker.url()] if broker is not None else [])]) == 0
        if sub is not None:
            written = [json.loads(line) for line in events.read_text().splitlines()]
            assert sub.wait_for(lambda ms: len(ms) >= len(written))
            for cam in {e["camera"] for e in written}:
                on_broker = [json.loads(m.payload) for m in sub.on(f"facetrack/{cam}/events")]
                assert on_broker == [e for e in written if e["camera"] == cam]
    finally:
        if sub is not None:
            sub.close()
        if broker is not None:
            broker.close()
    frames = [json.loads(line) for line in merged.read_text().splitlines()]
    by_camera: dict[str, list[dict[str, Any]]] = {}
    for f in frames:
        by_camera.setdefault(f["camera"], []).append(f)
    assert sorted(by_camera) == ["short_hamilton_clip", "short_hamilton_clip-2"]
    for lines in by_camera.values():
        assert [f["frame"] for f in lines] == list(range(275))  # every frame, in order, per camera
        assert sum(any(x["person"] == "Lin-Manuel Miranda" for x in f["faces"]) for f in lines) > 100
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    status = [e for e in lines if e["event"] == "status"]
    assert {e["camera"] for e in status} == set(by_camera)
    for cam in by_camera:  # the lines a camera writes as it ends (everyone still there "left") came too
        mine = [e["event"] for e in lines if e["camera"] == cam]
        assert mine.count("appeared") == mine.count("left") > 0, mine
    assert len({e["pid"] for e in status}) == 2  # two actors, two processes
    # Both cameras' automatic identities went to the one gallery, numbered without a clash.
    from tracker.gallery.gallery import Gallery

    with Gallery(url) as g:
        names = [p.name for p in g.people()]
        assert "Lin-Manuel Miranda" in names and len(set(names)) == len(names)


@pytest.mark.slow
def test_run_on_ray_with_more_cameras_than_cpus_runs_them_in_turn_and_sigterm_stops_cleanly(
        tmp_path: Path) -> None:
    pytest.importorskip("ray")
    import signal
    import subprocess
    import sys
    import time

    base = [sys.executable, "-m", "tracker", "run", "--ray", "--ray-cpus", "1", "--headless",
            "--gallery", str(tmp_path / "g.sqlite3")]
    # One CPU, two files: the second camera starts when the first has ended and freed the CPU.
    done = subprocess.run([*base, str(CLIP), str(CLIP), "--output-json", str(tmp_path / "both.jsonl")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "2 cameras but 1 CPU(s)" in done.stderr
    cams = [json.loads(line)["camera"] for line in (tmp_path / "both.jsonl").read_text().splitlines()]
    assert cams.count("short_hamilton_clip") == cams.count("short_hamilton_clip-2") == 275
    # SIGTERM (a service manager's stop): the cameras are halted, their lines written, exit 143.
    merged = tmp_path / "term.jsonl"
    p = subprocess.Popen([*base, str(CLIP), "--output-json", str(merged)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not merged.exists() or merged.stat().st_size == 0):
        time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    assert "Traceback" not in err
    lines = merged.read_text().splitlines()
    assert lines and all(json.loads(line)["camera"] == "short_hamilton_clip" for line in lines)  # whole lines


def test_run_on_ray_refuses_what_cannot_work_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g = ["--gallery", str(tmp_path / "g.sqlite3"), "--headless"]
    assert main(["run", str(CLIP), "--ray-cpus", "2", *g]) == 1  # --ray-cpus without --ray
    assert "--ray-cpus goes with --ray" in capsys.readouterr().err
    pytest.importorskip("ray")
    assert main(["run", "--ray", "127.0.0.1:1", str(CLIP), *g]) == 1  # nobody there: at once, not Ray's retries
    err = capsys.readouterr().err
    assert "cannot reach Ray at 127.0.0.1:1" in err and "Traceback" not in err
