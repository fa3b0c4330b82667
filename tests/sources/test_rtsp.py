"""Live streams against a real RTSP server on loopback: drops, stalls, restarts, Stop and signals."""

from __future__ import annotations

import itertools
import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.paths import CLIP
from tests.helpers.rtsp import RtspServer, facetrack, h264_clip, missing, stop_within
from tracker.errors import SourceError
from tracker.sources import open_source
from tracker.sources.live import LiveSource

pytestmark = pytest.mark.skipif(bool(missing()), reason=missing() or "ok")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return h264_clip(CLIP, tmp_path_factory.mktemp("rtsp") / "loop.mp4")


class Watcher:
    """Consumes a live source on a thread, keeping each frame's arrival time and each status event."""

    def __init__(self, source: LiveSource) -> None:
        self.source = source
        self.frames: list[float] = []
        self.events: list[tuple[str, float, dict[str, Any]]] = []
        source.status_listeners.append(lambda e, info: self.events.append((e, time.monotonic(), info)))
        source.start()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for frame in self.source.frames():
            self.frames.append(time.monotonic())
            assert frame.image.flags.c_contiguous and frame.image.shape == (360, 640, 3)

    def wait(self, cond: Any, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return True
            time.sleep(0.02)
        return False

    def frames_after(self, t: float) -> list[float]:
        return [f for f in self.frames if f > t]

    def stop(self) -> float:
        t = time.monotonic()
        self.source.stop()
        self._thread.join(5)
        assert not self._thread.is_alive()
        return time.monotonic() - t


@pytest.fixture
def server(clip: Path) -> Iterator[RtspServer]:
    with RtspServer(clip) as s:
        yield s


def live(url: str, **kw: Any) -> LiveSource:
    src = open_source(url, **kw)
    assert isinstance(src, LiveSource)
    return src


def test_server_restart_resumes_within_3_s(server: RtspServer) -> None:
    w = Watcher(live(server.url))
    assert w.wait(lambda: len(w.frames) > 30, 10), "no frames from the RTSP server"
    server.kill()
    killed = time.monotonic()
    assert w.wait(lambda: any(e == "stream_lost" for e, _, _ in w.events), 6)
    time.sleep(max(0.0, killed + 4.0 - time.monotonic()))  # down for 4 s: the backoff has grown
    back = server.start()
    assert w.wait(lambda: w.frames_after(back), 10)
    resumed = w.frames_after(back)[0] - back
    assert resumed < 3.0, f"frames came back {resumed:.1f} s after the server"
    assert w.wait(lambda: any(e == "stream_resumed" for e, _, _ in w.events), 2)
    assert [e for e, _, _ in w.events] == ["stream_lost", "stream_resumed"]
    assert w.stop() < 2.0


def test_stalled_server_is_caught_within_5_s_and_reopened(server: RtspServer) -> None:
    w = Watcher(live(server.url))
    assert w.wait(lambda: len(w.frames) > 30, 10)
    server.pause()  # the connection stays open; nothing more comes
    paused = time.monotonic()
    assert w.wait(lambda: any(e == "stream_lost" for e, _, _ in w.events), 8)
    lost_at = next(t for e, t, _ in w.events if e == "stream_lost")
    assert lost_at - paused < 5.0, f"stall noticed after {lost_at - paused:.1f} s"
    assert "stalled" in w.events[0][2]["reason"]
    server.resume()
    resumed = time.monotonic()
    assert w.wait(lambda: w.frames_after(resumed), 10), "no frames after the server resumed"
    # Nothing queued before the stall is delivered after it: every frame since is fresh.
    assert all(t > resumed for t in w.frames_after(lost_at))
    assert w.stop() < 2.0


def test_stop_within_2_s_while_the_server_is_down_or_stalled(server: RtspServer) -> None:
    w = Watcher(live(server.url))
    assert w.wait(lambda: len(w.frames) > 10, 10)
    server.pause()
    time.sleep(1.0)
    assert w.stop() < 2.0  # stalled mid-read
    server.resume()

    w = Watcher(live(server.url))
    assert w.wait(lambda: len(w.frames) > 10, 10)
    server.kill()
    assert w.wait(lambda: not w.source.connected, 6)
    assert w.stop() < 2.0  # down, reconnecting


def test_stop_while_connecting_to_a_stalled_server(server: RtspServer) -> None:
    server.pause()  # accepts the TCP connection (the kernel does) and never answers
    src = live(server.url)
    stop = threading.Event()
    src.watch(stop)
    threading.Timer(0.5, stop.set).start()
    t = time.monotonic()
    with pytest.raises(SourceError, match="stopped while connecting"):
        src.ensure_open()
    assert time.monotonic() - t < 2.0


def test_udp_only_camera_with_auto_and_forced_transport(clip: Path) -> None:
    with RtspServer(clip, udp_only=True) as server:
        w = Watcher(live(server.url, rtsp_transport="auto"))  # TCP is refused, then UDP
        assert w.wait(lambda: len(w.frames) > 10, 15), "auto did not fall back to UDP"
        w.stop()
        w = Watcher(live(server.url, rtsp_transport="udp"))
        assert w.wait(lambda: len(w.frames) > 10, 15)
        w.stop()
        with pytest.raises(SourceError, match="cannot open stream"):
            live(server.url, rtsp_transport="tcp").ensure_open()


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "a line cut in the middle"
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_cli_outputs_are_live_and_a_signal_ends_the_run_while_the_server_is_down(
        server: RtspServer, tmp_path: Path, sig: signal.Signals, code: int) -> None:
    out, events = tmp_path / "out.jsonl", tmp_path / "events.jsonl"
    p = facetrack("run", server.url, "--headless", "--gallery", str(tmp_path / "g.sqlite3"),
                  "--output-json", str(out), "--events", str(events))
    try:
        deadline = time.monotonic() + 30
        while len(_lines(out)) < 10 and time.monotonic() < deadline:
            assert p.poll() is None, p.communicate()
            time.sleep(0.1)
        # Line-buffered: the file grows every half second while frames come, not in 8 KB blocks.
        counts = []
        for _ in range(4):
            time.sleep(0.5)
            counts.append(len(_lines(out)))
        assert all(b > a for a, b in itertools.pairwise(counts)), counts
        server.kill()
        deadline = time.monotonic() + 8
        while not any(e["event"] == "stream_lost" for e in _lines(events)) and time.monotonic() < deadline:
            time.sleep(0.1)
        lost = [e for e in _lines(events) if e["event"] == "stream_lost"]
        assert lost and lost[0]["source"] == server.url and "at" in lost[0]
        time.sleep(1.0)
        err = stop_within(p, sig, 2.0, timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == code, err
    assert "Traceback" not in err and "WARN" not in err and "@ 0x" not in err, err
    indices = [r["frame"] for r in _lines(out)]
    assert indices == sorted(set(indices))  # whole lines, in order (a live source may drop frames)
