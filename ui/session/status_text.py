"""What the status bar and the idle view say, from a session's Stats: pure functions, no widgets."""

from __future__ import annotations

from pathlib import Path

from tracker import models
from tracker.config import Config
from tracker.errors import FacetrackError

from .state import CONNECTING, ENDED, IDLE, PAUSED, PLAYING, RECONNECTING, Stats

WELCOME = "Open a video (Ctrl+O), a webcam or a stream"


def clock(seconds: float) -> str:
    """hh:mm:ss.ff (hundredths), as players show a position."""
    cs = max(0, int(round(seconds * 100)))
    h, rest = divmod(cs, 360_000)
    m, rest = divmod(rest, 6000)
    s, ff = divmod(rest, 100)
    return f"{h:02d}:{m:02d}:{s:02d}.{ff:02d}"


def source_name(st: Stats) -> str:
    return Path(st.source).name if st.source and not st.live else st.source


def state_text(st: Stats) -> str:
    """State, time, frame, then the source, which a narrow window cuts first:
    'paused · 00:00:05.74 / 00:00:09.18 · frame 173/275 · clip.mp4'."""
    name = source_name(st)
    if st.state in (IDLE, CONNECTING, RECONNECTING):
        return {IDLE: "idle", CONNECTING: f"opening {name}…"}.get(st.state, f"reconnecting to {name}…")
    parts = [{PLAYING: "playing", PAUSED: "paused", ENDED: "finished"}.get(st.state, st.state)]
    if st.duration is not None:
        parts.append(f"{clock(st.time)} / {clock(st.duration)}")
    elif st.live:
        parts.append(clock(st.time))
    if st.total:
        parts.append(f"frame {st.position + 1}/{st.total}")
    if st.live and st.dropped:
        parts.append(f"{st.dropped} frames skipped to stay live")
    parts.append(name)
    return " · ".join(parts)


def behind_text(st: Stats) -> str:
    """A file the engine cannot keep up with at its own speed: say so (empty otherwise)."""
    if st.state != PLAYING or st.live or st.fast or not st.behind:
        return ""
    if st.recording is not None:
        return "behind: recording keeps every frame, so playback is slower than the file (try Fast)"
    if st.skipped <= 0:  # late, but nothing dropped yet: no "0 frames skipped"
        return "running late: the file plays slower than its own speed (Fast processes every frame)"
    frames = f"{st.skipped} frame{'s' if st.skipped != 1 else ''}"
    return f"behind: {frames} skipped to keep time (Fast processes every frame)"


def placeholder(st: Stats, last_failed: str | None = None) -> str:
    """What the view says when no frame is up."""
    if st.state == CONNECTING:
        return f"Opening {source_name(st)}…"
    if st.state == RECONNECTING:
        return f"{source_name(st)}: the stream dropped; reconnecting…"
    if st.note.startswith("Stopped"):
        return "Stopped. Press Space to play again, or open another source."
    if st.note:
        return f"{st.note}\n\nOpen another source (Ctrl+O), or press Space to try again."
    if st.state in (PLAYING, PAUSED) and st.source:
        return f"Opening {source_name(st)}…"  # open, its first frame not yet up
    if last_failed:
        return (f"Last time {last_failed} could not be opened, so it was not opened again.\n\n"
                "Press Space to try it again, or open another source (Ctrl+O).")
    return WELCOME


def describe_device(cfg: Config) -> str:
    """Where the engine runs, for the status bar: GPU or CPU, and the detector."""
    try:
        info = models.build_info()
    except FacetrackError as exc:
        return str(exc)
    detector = cfg.detector.upper()
    if info.cuda:
        return f"GPU ({info.cuda_devices} CUDA) · {detector}"
    return f"CPU{' + BLAS' if info.blas else ''} · {detector}"
