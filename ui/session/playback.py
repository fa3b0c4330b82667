"""The engine thread's playback: a run of one source through the engine, each result shown (or
held while paused, or skipped in a seek's pre-roll), a file kept at its own speed, and the
annotated recording. The session (ui/session/session.py) holds one and opens the sources."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tracker.config import Config
from tracker.engine.pipeline import Engine
from tracker.errors import FacetrackError
from tracker.records import Frame, FrameResult
from tracker.sinks.results import VideoSink
from tracker.sources import source_for
from tracker.sources.base import Source
from tracker.sources.files import ImageSource, VideoFileSource
from tracker.sources.live import LiveSource

from .clock import PlaybackClock
from .state import CONNECTING, ENDED, PAUSED, PLAYING, Snapshot, Stats

PHOTO_S = 1.5  # how long each photo of a folder stays up, unless Fast
NOT_OPENED, STOPPED = "not opened", "stopped"  # how a run ended, besides ENDED


class Host(Protocol):
    """What the playback needs of the session (session.py), on the engine thread."""

    def set_stats(self, **changes: Any) -> None: ...

    def stats(self) -> Stats: ...

    def latest(self) -> Snapshot | None: ...

    def show(self, frame: Frame, result: FrameResult) -> None: ...

    def drain(self, block: bool, timeout: float = 0.0) -> None: ...

    def refresh_people(self, force: bool) -> None: ...

    def error(self, message: str) -> None: ...

    def report(self, exc: Exception) -> None: ...

    def close_retired(self) -> None: ...


class Playback:
    """One source's run through the engine at a time, on the engine thread: the results shown
    (held while paused, skipped in a seek's pre-roll), a file kept at its own speed, and the
    annotated recording. The session's commands set `paused`, `fast` and `recording` (on the
    same thread) and end a run with `run_stop`."""

    def __init__(self, host: Host, closing: threading.Event) -> None:
        self.host = host
        self.closing = closing  # the app is closing: every wait ends
        self.run_stop = threading.Event()  # ends the current run (Stop, Open, a seek, closing)
        self.source: Source | None = None  # the source of the run in progress
        self.seekable = False
        self.paused = False
        self.step_once = False  # show one frame while paused (a step, or the frame a seek asked for)
        self.show_from = 0  # frames of a file before this index are tracked but not shown (a seek's pre-roll)
        self.fast = False
        self.recording: Path | None = None
        self.clock = PlaybackClock()  # a file at its own speed: when each frame is due, what to drop
        self._recorder: VideoSink | None = None  # made at the first frame, at the source's rate
        self._arrivals: deque[float] = deque(maxlen=120)
        self._done: deque[float] = deque(maxlen=120)
        self._left_at = 0.0  # when the last result callback returned: the engine's time starts there
        self._work: deque[float] = deque(maxlen=30)
        self._reconnects = 0

    def new_run(self) -> threading.Event:
        self.run_stop = threading.Event()
        return self.run_stop

    def stop_recording(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            try:
                recorder.close()  # renames the finished video into place, once it reads back whole
            except FacetrackError as exc:
                self.host.error(f"recording not saved: {exc}")

    def _record(self, frame: Frame, result: FrameResult) -> None:
        if self.recording is None:
            return
        try:
            if self._recorder is None:
                fps = self.source.fps if self.source is not None else 0.0
                self._recorder = VideoSink(self.recording, fps or 30.0)
            self._recorder.write(frame, result)
        except FacetrackError as exc:  # a full disk stops the recording, not the video
            self.host.error(f"recording stopped: {exc}")
            self.stop_recording()
            self.recording = None
            self.host.set_stats(recording=None)

    def run(self, spec: str, start: int, cfg: Config, engine: Engine, fresh: bool) -> str:
        """Open `spec` from frame `start` and play it: ENDED (it ended), NOT_OPENED, or STOPPED
        (`run_stop` ended it, or it failed: said). `fresh`: a new source, not a seek in this one."""
        host = self.host
        if fresh:  # a new source: "opening" until it is open
            host.set_stats(state=CONNECTING, source=spec, position=start, total=None, dropped=0,
                           processing_fps=0.0, source_fps=0.0, latency_ms=math.nan, time=0.0, duration=None,
                           behind=False, skipped=0, note="")
        else:
            # The same file again (a seek): it stays what it was, position, length and state, until
            # the new frame is up, so that keys pressed meanwhile still seek (a window that saw
            # "opening" would take them for a file not yet open).
            host.set_stats(dropped=0, behind=False, skipped=0, note="")
        try:
            source = source_for(spec, cfg, start)
            source.watch(self.run_stop)  # Stop, Open and close end a slow connection too
            source.ensure_open()
        except FacetrackError as exc:
            if not self.run_stop.is_set():  # a connection the user stopped is not an error
                host.error(str(exc))
                why = str(exc)
                why = why[len(spec):].lstrip(": ") if why.startswith(spec) else why  # the path once, not twice
                host.set_stats(note=f"Could not open {spec}\n{why}")
            return NOT_OPENED
        fps = source.fps or 0.0
        host.set_stats(state=PAUSED if self.paused else PLAYING, live=source.live, total=source.total,
                       source_fps=source.fps,
                       duration=source.total / fps if source.total and fps > 0 and not source.live else None)
        try:
            return ENDED if self.play(engine, source) else STOPPED
        except Exception as exc:
            host.report(exc)
            host.set_stats(note=f"{spec} stopped: {exc}")
            return STOPPED
        finally:
            host.close_retired()

    def play(self, engine: Engine, source: Source) -> bool:
        """Run an open `source` through `engine` until it ends (True) or `run_stop` ends it."""
        self.source = source
        self.seekable = isinstance(source, VideoFileSource)
        self._arrivals.clear()
        self._done.clear()
        self._work.clear()
        self._left_at = time.monotonic()
        self.clock = PlaybackClock()
        self._reconnects = 0
        try:
            timed = not source.live and not isinstance(source, ImageSource)
            engine.run(source, (), self.run_stop, on_result=self._on_result,
                       on_idle=lambda: self.host.drain(block=False), skip=self._late if timed else None, hold=0)
            return not self.run_stop.is_set()
        finally:
            self.source = None

    def _on_result(self, frame: Frame, result: FrameResult) -> None:
        host = self.host
        if self.run_stop.is_set():
            return  # a frame of a run that Open or Stop already ended: never shown
        if frame.index < self.show_from and not (self.source is not None and self.source.live):
            host.drain(block=False)
            return  # a seek's pre-roll: the tracker has seen it, the window does not
        now = time.monotonic()
        work = now - self._left_at
        host.drain(block=False)
        if self.run_stop.is_set():
            # A command just taken (a seek, Open, Stop) ended this run: its frame is never shown,
            # nor may it take the step a seek while paused left for the frame it asked for.
            return
        if self.paused and not self.step_once and host.latest() is not None:
            # Paused before this frame was shown: it waits, unseen, so that the picture on screen
            # is the one the user paused on (a source opened paused still shows its first frame).
            self._hold_while_paused()
            if self.run_stop.is_set():
                return
            now = time.monotonic()
        if self.step_once:  # the frame a seek while paused asked for: paused before it is shown
            self.step_once = False
            if self.paused:
                host.set_stats(state=PAUSED)
        host.show(frame, result)
        self._done.append(now)
        self._work.append(work)
        self._record(frame, result)
        source = self.source
        live = bool(source is not None and source.live)
        if isinstance(source, LiveSource) and source.reconnects != self._reconnects:
            self._reconnects = source.reconnects
            host.error(f"{source.name}: the stream dropped and was reopened ({source.reconnects} time(s))")
        host.set_stats(
            position=frame.index,
            time=frame.time,
            behind=not live and not self.fast and self.clock.behind(now),
            skipped=self.clock.skipped,
            processing_fps=_rate(self._done),
            source_fps=_rate(self._arrivals) if live else host.stats().source_fps,
            # A file is read ahead of playback, so its capture time says nothing about speed.
            latency_ms=((now - frame.captured_at) * 1000.0 if live and frame.captured_at
                        else float(np.mean(self._work)) * 1000.0),
            dropped=source.dropped if source is not None else 0,
        )
        if live:
            self._arrivals.append(frame.captured_at or now)
        host.refresh_people(force=False)
        host.drain(block=False)
        self._hold_while_paused()
        if isinstance(source, ImageSource) and not self.fast:
            self._wait_until(time.monotonic() + PHOTO_S)
        elif not live and not self.fast:
            self._follow_clock(frame)
        # Paused while this frame was up: the engine waits here, on the frame shown, so the
        # tracker does not move on to the next one (a name or "Not NAME" acts on the faces on screen).
        self._hold_while_paused()
        self._left_at = time.monotonic()

    def _hold_while_paused(self) -> None:
        """The engine waits here while paused, taking commands (seek, play, rename...); a step
        lets one frame through."""
        while self.paused and not self.step_once and not self.run_stop.is_set() and not self.closing.is_set():
            self.host.drain(block=True, timeout=0.05)
            self.host.refresh_people(force=False)

    def _follow_clock(self, frame: Frame) -> None:
        """Play a file at its own speed: wait until this frame is due, taking commands meanwhile.
        Where the engine is slower than the file, `_late` drops frames so that playback keeps time
        (unless recording, which wants every frame: then it plays late)."""
        self.clock.drop = self.recording is None
        self._wait_until(self.clock.shown(frame.time, time.monotonic()))

    def _late(self, frame: Frame) -> bool:
        """Asked by the engine as it reads each frame of a file: too late to be worth processing?"""
        if self.fast or self.paused or self.step_once:
            return False
        self.clock.drop = self.recording is None
        return self.clock.should_skip(frame.time, time.monotonic())

    def _wait_until(self, due: float) -> None:
        """Sleep until `due` (monotonic), taking commands meanwhile."""
        while not self.run_stop.is_set() and not self.closing.is_set():
            left = due - time.monotonic()
            if left <= 0:
                break
            self.host.drain(block=True, timeout=min(left, 0.05))
            if self.paused:
                self.clock.reset()
                return  # the pause loop takes over (_on_result holds); the clock restarts after it


def _rate(times: deque[float]) -> float:
    """Events per second over the newest two seconds of `times`."""
    if len(times) < 2:
        return 0.0
    newest = times[-1]
    recent = [t for t in times if newest - t <= 2.0]
    if len(recent) < 2 or recent[-1] <= recent[0]:
        return 0.0
    return (len(recent) - 1) / (recent[-1] - recent[0])
