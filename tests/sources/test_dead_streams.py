"""A live stream that drops and never returns must not wedge the app or the command line
(regressions of ../shared/repro r5 and r5b), shown with a real MJPEG camera on loopback."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tests.helpers.fakes import FakeDetector, FakeEmbedder
from tests.helpers.streams import MjpegCamera
from tracker.config import Config
from tracker.engine.pipeline import Engine
from ui.session.session import Session

FRAMES = [np.full((60, 80, 3), i * 12, np.uint8) for i in range(20)]


def _wait(cond, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_session_commands_run_while_the_stream_is_down(tmp_path: Path) -> None:
    """r5: Stop, rename and close used to wait for a frame that never came."""
    with MjpegCamera(FRAMES, fps=30, drop_after=30, max_connections=1) as cam:
        s = Session(Config(gallery=tmp_path / "g.sqlite3"),
                    lambda c, g: Engine(c, g, FakeDetector(), FakeEmbedder())).start()
        try:
            s.open(cam.url)
            assert _wait(lambda: s.latest() is not None, 10)  # frames came (some may be dropped under load)
            assert _wait(lambda: s.stats().state == "reconnecting", 10), s.stats().state
            # A command that is no Stop still runs while nothing comes from the stream.
            s.submit(lambda: None).result(timeout=2)
            t = time.monotonic()
            s.stop().result(timeout=2)
            assert time.monotonic() - t < 2.0
            assert _wait(lambda: s.stats().state == "idle", 2), s.stats().state
        finally:
            t = time.monotonic()
            assert s.close(timeout=2.0)
            assert time.monotonic() - t < 2.0 and not s.alive


def test_session_open_replaces_a_dead_stream_at_once(tmp_path: Path) -> None:
    with MjpegCamera(FRAMES, fps=30, drop_after=30, max_connections=1) as dead, \
            MjpegCamera(FRAMES, fps=30) as alive:
        s = Session(Config(gallery=tmp_path / "g.sqlite3"),
                    lambda c, g: Engine(c, g, FakeDetector(), FakeEmbedder())).start()
        try:
            s.open(dead.url)
            assert _wait(lambda: s.stats().state == "reconnecting", 10)
            s.open(alive.url).result(timeout=2)
            assert _wait(lambda: s.stats().source == alive.url and s.stats().state == "playing", 5), s.stats()
        finally:
            assert s.close(timeout=2.0)


def test_cli_sigint_while_the_stream_is_down(tmp_path: Path) -> None:
    """r5b: SIGINT was ignored while the stream was down; only SIGKILL ended the run."""
    with MjpegCamera(FRAMES, fps=30, drop_after=30, max_connections=1) as cam:
        p = subprocess.Popen([sys.executable, "-m", "tracker", "run", cam.url, "--headless", "--gallery",
                              str(tmp_path / "g.sqlite3"), "--output-json", str(tmp_path / "o.jsonl")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert _wait(lambda: cam.connections >= 2, 15)  # dropped, and being reopened
            time.sleep(0.5)
            p.send_signal(signal.SIGINT)
            t = time.monotonic()
            out, err = p.communicate(timeout=10)
            assert time.monotonic() - t < 2.0
        finally:
            if p.poll() is None:
                p.kill()
    assert p.returncode == 130, err
    assert "frames" in out and "Traceback" not in err
    lines = (tmp_path / "o.jsonl").read_text()
    assert lines.endswith("\n") and len(lines.splitlines()) >= 20
