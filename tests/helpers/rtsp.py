"""A real RTSP server on loopback for the tests: GStreamer's, run by the system Python.

Skips (never fails) where it cannot run: no /usr/bin/python3 with GStreamer's RTSP server
bindings, or no ffmpeg to make the H.264 file. `.ci/run` installs both from Debian.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.streams import free_port

SERVER = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"


def missing() -> str:
    """Why the real server cannot run here ('' when it can)."""
    if shutil.which("ffmpeg") is None:
        return "ffmpeg is not installed"
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); "
                            "from gi.repository import GstRtspServer"], capture_output=True)
    return "" if probe.returncode == 0 else "GStreamer's RTSP server (gir1.2-gst-rtsp-server-1.0) is not installed"


def h264_clip(source: Path, out: Path, loops: int = 6) -> Path:
    """The demo clip `loops` times over as H.264 in MP4 with frequent keyframes."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(source), "-an",
                    "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15",
                    "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


class RtspServer:
    """Start, kill, pause (SIGSTOP: a server that stalls without closing) and restart."""

    def __init__(self, clip: Path, udp_only: bool = False) -> None:
        self.clip = clip
        self.udp_only = udp_only
        self.port = free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}/cam"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> float:
        """Start and wait until it listens; returns the monotonic time it did."""
        cmd = [SYSTEM_PYTHON, str(SERVER), str(self.port), str(self.clip)] + (["--udp-only"] if self.udp_only else [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.kill()
            pytest.skip(f"the RTSP server did not start: {line or 'no output'}")
        return time.monotonic()

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def __enter__(self) -> RtspServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.resume()
        self.kill()


def stop_within(p: subprocess.Popen[str], sig: int, limit_s: float, timeout: float) -> str:
    """Send `sig`, wait for the exit, fail if it took `limit_s` or longer; returns stderr."""
    p.send_signal(sig)
    t = time.monotonic()
    _, err = p.communicate(timeout=timeout)
    assert time.monotonic() - t < limit_s, f"exit took {time.monotonic() - t:.1f} s"
    return err


def facetrack(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tracker", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
