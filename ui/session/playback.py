"""The engine thread's playback loop: a run of one source through the engine, each result shown
(or held while paused, or skipped in a seek's pre-roll), a file kept at its own speed, and the
annotated recording. A mixin of Session (ui/session/session.py), which owns the state used here."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from tracker.engine.pipeline import Engine
from tracker.errors import FacetrackError
from tracker.records import Frame, FrameResult
from tracker.sinks.results import VideoSink
from tracker.sources import source_for
from tracker.sources.base import Source
from tracker.sources.files import ImageSource, VideoFileSource
from tracker.sources.live import LiveSource

from .clock import PlaybackClock
from .state import CONNECTING, ENDED, IDLE, PAUSED, PLAYING, Snapshot, Stats

PHOTO_S = 1.5  # how long each photo of a folder stays up, unless Fast


class PlaybackLoop:
    cfg: Any
    _run_stop: threading.Event
    _closing: threading.Event
    _cuts: int
    _cuts_taken: int
    _spec: str | None
    _next: tuple[str, int] | None
    _pending_open: str | None
    _latest: Snapshot | None
    _stats: Stats
    _source: Source | None
    _seekable: bool
    _paused: bool
    _step_once: bool
    _show_from: int
    _fast: bool
    _seq: int
    _arrivals: deque[float]
    _done: deque[float]
    _work: deque[float]
    _left_at: float
    _clock: PlaybackClock
    _reconnects: int
    _recorder: VideoSink | None
    _recording: Path | None

    # Provided by Session.
    def _engine(self) -> Engine:
        raise NotImplementedError

    def _set_stats(self, **changes: Any) -> None:
        raise NotImplementedError

    def _drain(self, block: bool, timeout: float = 0.0) -> None:
        raise NotImplementedError

    def _error(self, message: str) -> None:
        raise NotImplementedError

    def _report(self, exc: Exception) -> None:
        raise NotImplementedError

    def _refresh_people(self, force: bool) -> None:
        raise NotImplementedError

    def _close_retired(self) -> None:
        raise NotImplementedError

    def _stop_recording(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            try:
                recorder.close()  # renames the finished video into place, once it reads back whole
            except FacetrackError as exc:
                self._error(f"recording not saved: {exc}")

    def _record(self, frame: Frame, result: FrameResult) -> None:
        if self._recording is None:
            return
        try:
            if self._recorder is None:
                fps = self._source.fps if self._source is not None else 0.0
                self._recorder = VideoSink(self._recording, fps or 30.0)
            self._recorder.write(frame, result)
        except FacetrackError as exc:  # a full disk stops the recording, not the video
            self._error(f"recording stopped: {exc}")
            self._stop_recording()
            self._recording = None
            self._set_stats(recording=None)

    def _play(self, spec: str, start: int) -> None:
        self._run_stop = threading.Event()
        if self._cuts != self._cuts_taken:
            self._run_stop.set()  # an Open or Stop sent meanwhile set the previous run's event
        self._spec = spec
        if self._latest is None:  # a new source: "opening" until it is open
            self._set_stats(state=CONNECTING, source=spec, position=start, total=None, dropped=0,
                            processing_fps=0.0, source_fps=0.0, latency_ms=math.nan, time=0.0, duration=None,
                            behind=False, skipped=0, note="")
        else:
            # The same file again (a seek): it stays what it was, position, length and state, until
            # the new frame is up, so that keys pressed meanwhile still seek (a window that saw
            # "opening" would take them for a file not yet open).
            self._set_stats(dropped=0, behind=False, skipped=0, note="")
        try:
            source = source_for(spec, self.cfg, start)
            source.watch(self._run_stop)  # Stop, Open and close end a slow connection too
            source.ensure_open()
        except FacetrackError as exc:
            if not self._run_stop.is_set():  # a connection the user stopped is not an error
                self._error(str(exc))
                why = str(exc)
                why = why[len(spec):].lstrip(": ") if why.startswith(spec) else why  # the path once, not twice
                self._set_stats(note=f"Could not open {spec}\n{why}")
            self._spec = None
            self._latest = None
            if self._next is None and self._pending_open is None:  # not when another source is on its way
                self._set_stats(state=IDLE)
            return
        self._source = source
        self._seekable = isinstance(source, VideoFileSource)
        self._arrivals.clear()
        self._done.clear()
        self._work.clear()
        self._left_at = time.monotonic()
        self._clock = PlaybackClock()
        self._reconnects = 0
        fps = source.fps or 0.0
        self._set_stats(state=PAUSED if self._paused else PLAYING, live=source.live,
                        total=source.total, source_fps=source.fps,
                        duration=source.total / fps if source.total and fps > 0 and not source.live else None)
        ended = False
        try:
            timed = not source.live and not isinstance(source, ImageSource)
            self._engine().run(source, (), self._run_stop, on_result=self._on_result,
                               on_idle=lambda: self._drain(block=False), skip=self._late if timed else None, hold=0)
            ended = not self._run_stop.is_set()
        except Exception as exc:
            self._report(exc)
            self._set_stats(note=f"{spec} stopped: {exc}")
        finally:
            self._source = None
            self._close_retired()
        if ended:
            self._set_stats(state=ENDED)  # the last frame stays up; play starts it again
        elif self._next is None and self._pending_open is None:
            self._spec = None
            self._set_stats(state=IDLE)

    def _on_result(self, frame: Frame, result: FrameResult) -> None:
        if self._run_stop.is_set():
            return  # a frame of a run that Open or Stop already ended: never shown
        if frame.index < self._show_from and not (self._source is not None and self._source.live):
            self._drain(block=False)
            return  # a seek's pre-roll: the tracker has seen it, the window does not
        now = time.monotonic()
        work = now - self._left_at
        self._drain(block=False)
        if self._paused and not self._step_once and self._latest is not None:
            # Paused before this frame was shown: it waits, unseen, so that the picture on screen
            # is the one the user paused on (a source opened paused still shows its first frame).
            self._hold_while_paused()
            if self._run_stop.is_set():
                return
            now = time.monotonic()
        if self._step_once:  # the frame a seek while paused asked for: paused before it is shown
            self._step_once = False
            if self._paused:
                self._set_stats(state=PAUSED)
        self._seq += 1
        self._latest = Snapshot(frame, result, self._seq)
        self._done.append(now)
        self._work.append(work)
        self._record(frame, result)
        source = self._source
        live = bool(source is not None and source.live)
        if isinstance(source, LiveSource) and source.reconnects != self._reconnects:
            self._reconnects = source.reconnects
            self._error(f"{source.name}: the stream dropped and was reopened ({source.reconnects} time(s))")
        self._set_stats(
            position=frame.index,
            time=frame.time,
            behind=not live and not self._fast and self._clock.behind(now),
            skipped=self._clock.skipped,
            processing_fps=_rate(self._done),
            source_fps=_rate(self._arrivals) if live else self._stats.source_fps,
            # A file is read ahead of playback, so its capture time says nothing about speed.
            latency_ms=((now - frame.captured_at) * 1000.0 if live and frame.captured_at
                        else float(np.mean(self._work)) * 1000.0),
            dropped=source.dropped if source is not None else 0,
        )
        if live:
            self._arrivals.append(frame.captured_at or now)
        self._refresh_people(force=False)
        self._drain(block=False)
        self._hold_while_paused()
        if isinstance(source, ImageSource) and not self._fast:
            self._wait_until(time.monotonic() + PHOTO_S)
        elif not live and not self._fast:
            self._follow_clock(frame)
        self._left_at = time.monotonic()

    def _hold_while_paused(self) -> None:
        """The engine waits here while paused, taking commands (seek, play, rename...); a step
        lets one frame through."""
        while self._paused and not self._step_once and not self._run_stop.is_set() and not self._closing.is_set():
            self._drain(block=True, timeout=0.05)
            self._refresh_people(force=False)

    def _follow_clock(self, frame: Frame) -> None:
        """Play a file at its own speed: wait until this frame is due, taking commands meanwhile.
        Where the engine is slower than the file, `_late` drops frames so that playback keeps time
        (unless recording, which wants every frame: then it plays late)."""
        self._clock.drop = self._recording is None
        self._wait_until(self._clock.shown(frame.time, time.monotonic()))

    def _late(self, frame: Frame) -> bool:
        """Asked by the engine as it reads each frame of a file: too late to be worth processing?"""
        if self._fast or self._paused or self._step_once:
            return False
        self._clock.drop = self._recording is None
        return self._clock.should_skip(frame.time, time.monotonic())

    def _wait_until(self, due: float) -> None:
        """Sleep until `due` (monotonic), taking commands meanwhile."""
        while not self._run_stop.is_set() and not self._closing.is_set():
            left = due - time.monotonic()
            if left <= 0:
                break
            self._drain(block=True, timeout=min(left, 0.05))
            if self._paused:
                self._clock.reset()
                return  # the pause loop takes over on the next frame; the clock restarts after it


def _rate(times: deque[float]) -> float:
    """Events per second over the newest two seconds of `times`."""
    if len(times) < 2:
        return 0.0
    newest = times[-1]
    recent = [t for t in times if newest - t <= 2.0]
    if len(recent) < 2 or recent[-1] <= recent[0]:
        return 0.0
    return (len(recent) - 1) / (recent[-1] - recent[0])
