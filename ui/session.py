"""The app's engine thread: one thread owns the engine, the tracker and the gallery.

The window never calls them. It sends commands (each returns a Future) and, on a timer,
pulls the newest frame and result, the figures for the status bar, a snapshot of the people
and any error messages. No Qt here: the session is plain threads, so it is tested without a
display and the window stays a thin layer.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from tracker import models
from tracker.config import Config
from tracker.errors import FacetrackError
from tracker.gallery import Gallery, Person, Sample
from tracker.live import LiveSource
from tracker.pipeline import Engine
from tracker.records import Frame, FrameResult
from tracker.repair import Suggestion
from tracker.sinks import VideoSink
from tracker.sources import ImageSource, Source, VideoFileSource, source_for

from .people_feed import PeopleFeed
from .playback_clock import SKIP_LATE_S, PlaybackClock
from .session_state import (
    CONNECTING,
    ENDED,
    IDLE,
    PAUSED,
    PLAYING,
    RECONNECTING,
    PersonView,
    Snapshot,
    Stats,
)

__all__ = ["CONNECTING", "ENDED", "IDLE", "PAUSED", "PLAYING", "RECONNECTING", "PersonView", "Session", "Snapshot",
           "Stats"]

log = logging.getLogger(__name__)

T = TypeVar("T")
EngineFactory = Callable[[Config, Gallery], Engine]

PREROLL = 10  # frames a seek tracks unseen before the frame it shows
PHOTO_S = 1.5  # how long each photo of a folder stays up, unless Fast


class Session:
    def __init__(self, cfg: Config, engine_factory: EngineFactory | None = None) -> None:
        self.cfg = cfg
        self._factory: EngineFactory = engine_factory or (lambda c, g: Engine(c, g))
        self._commands: queue.Queue[tuple[Callable[[], Any], Future[Any]]] = queue.Queue()
        self._thread = threading.Thread(target=self._main, name="facetrack-engine", daemon=True)
        self._closing = threading.Event()
        self._run_stop = threading.Event()
        self._lock = threading.Lock()  # guards the fields the window pulls
        self._latest: Snapshot | None = None
        self._stats = Stats()
        self._feed = PeopleFeed()  # who is in the gallery, for the window
        self._errors: deque[str] = deque(maxlen=50)
        # Engine-thread state
        self.gallery: Gallery | None = None
        self.engine: Engine | None = None
        self._source: Source | None = None
        self._spec: str | None = None
        self._next: tuple[str, int] | None = None  # what to play once the current run ends
        self._paused = False
        self._step_once = False  # show one frame after a seek while paused
        self._show_from = 0  # frames of a file before this index are tracked but not shown (a seek's pre-roll)
        self._pending_open: str | None = None  # an Open sent but not yet taken by the engine thread
        # Open and Stop are counted where they are sent (any thread) and where the engine thread
        # takes them: a run started while a newer one is on its way is ended at once.
        self._cuts = 0
        self._cuts_taken = 0
        self._fast = False
        self._recorder: VideoSink | None = None  # made at the first frame, at the source's rate
        self._recording: Path | None = None
        self._seekable = False
        self._reconnects = 0
        self._retired: list[Engine | Gallery] = []  # replaced while a run used them: closed after it
        self._seq = 0
        self._arrivals: deque[float] = deque(maxlen=120)
        self._done: deque[float] = deque(maxlen=120)
        self._left_at = 0.0  # when the last result callback returned: the engine's time starts there
        self._work: deque[float] = deque(maxlen=30)
        self._clock = PlaybackClock()  # a file at its own speed: when each frame is due, what to drop
        self.died: str | None = None  # why the engine thread ended unexpectedly, if it did

    # ------------------------------------------------------------------ life
    def start(self) -> Session:
        self._thread.start()
        return self

    def close(self, timeout: float = 2.0) -> bool:
        """Stop the source and the engine; True when the engine thread ended within `timeout`."""
        self._closing.set()
        self._run_stop.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # ------------------------------------------------------------------ pulls (any thread)
    def latest(self) -> Snapshot | None:
        return self._latest

    def stats(self) -> Stats:
        with self._lock:
            stats = self._stats
        source = self._source  # read without the engine thread: a dropped stream sends no frames
        if isinstance(source, LiveSource) and not source.connected and stats.state == PLAYING:
            return dataclasses.replace(stats, state=RECONNECTING)
        return stats

    def people(self) -> tuple[int, list[PersonView]]:
        """(version, people); the version changes whenever the list does."""
        return self._feed.people()

    def take_errors(self) -> list[str]:
        with self._lock:
            out = list(self._errors)
            self._errors.clear()
            return out

    # ------------------------------------------------------------------ commands (any thread)
    def submit(self, fn: Callable[[], T]) -> Future[T]:
        fut: Future[T] = Future()
        if self.died is not None:
            fut.set_exception(FacetrackError(f"the engine stopped: {self.died}"))
        elif self._closing.is_set():
            fut.set_exception(FacetrackError("the app is closing"))
        else:
            self._commands.put((fn, fut))
            if self.died is not None:  # it died while this was queued: nobody will run it
                self._fail_pending()
        return fut

    def open(self, spec: str, start: int = 0) -> Future[None]:
        self._cuts += 1
        cut = self._cuts

        def do() -> None:
            self._paused = False
            self._latest = None
            self._restart(spec, start)
            self._cuts_taken = cut
            if self._cuts == cut:  # no newer Open or Stop was sent meanwhile
                self._pending_open = None
        # Said at once, not when the command runs: the window shows "opening", never the old
        # source's state, note or last frame under the new source's name.
        self._pending_open = spec
        self._set_stats(state=CONNECTING, source=spec, note="", live=False, total=None, duration=None)
        fut = self.submit(do)
        # Set here too, not only when the command runs: a source that is connecting or down
        # holds the engine thread until its run ends. The old source's last frame goes at once,
        # so that the window never shows it under the new source's name (or its error).
        self._run_stop.set()
        self._latest = None
        return fut

    def seek(self, index: int) -> Future[None]:
        """Go to frame `index` of a file. The tracker starts PREROLL frames before it, unseen, so
        that the faces on the frame shown already have their names (one face decides nothing)."""
        def do() -> None:
            if not self._seekable or self._spec is None:
                raise FacetrackError("only a video file can seek")
            self._step_once = self._paused
            self._restart(self._spec, max(0, index - PREROLL), show_from=index)
        return self.submit(do)

    def step(self) -> Future[None]:
        """Paused: show the next frame and stay paused (no seek: the tracks go on)."""
        def do() -> None:
            if self._source is None or not self._paused:
                return
            self._step_once = True
        return self.submit(do)

    def stop(self) -> Future[None]:
        self._pending_open = None
        self._cuts += 1
        cut = self._cuts

        def do() -> None:
            self._cuts_taken = cut
            self._next = None
            self._spec = None
            self._latest = None
            self._run_stop.set()
            self._set_stats(note="Stopped")
            if self._source is None:
                self._set_stats(state=IDLE)
        fut = self.submit(do)
        self._run_stop.set()  # at once, as in open()
        return fut

    def set_paused(self, paused: bool | None) -> Future[None]:
        """Pause or play; None toggles, decided on the engine thread so that it never races it.
        Play on a finished file starts it again."""
        def do() -> None:
            pause = (not self._paused) if paused is None else paused
            if self._stats.state == ENDED:
                pause = False if paused is None else pause
                if not pause and self._source is None and self._spec is not None:
                    self._restart(self._spec, 0)
            self._paused = pause
            if not pause:
                self._step_once = False  # Space right after a seek while paused: play, not pause again
            self._clock.reset()
            if self._source is not None:
                self._set_stats(state=PAUSED if pause else PLAYING)
        return self.submit(do)

    def toggle_pause(self) -> Future[None]:
        return self.set_paused(None)

    def set_fast(self, fast: bool) -> Future[None]:
        """Files play at their own frame rate; fast processes them as quickly as the machine can."""
        def do() -> None:
            self._fast = fast
            self._clock.reset()
            self._set_stats(fast=fast)
        return self.submit(do)

    def rename(self, old: str, new: str) -> Future[Person]:
        return self.submit(lambda: self._engine().tracker.rename_person(old, new))

    def merge(self, source: str, into: str) -> Future[Person]:
        return self.submit(lambda: self._engine().tracker.merge_people(source, into))

    def remove(self, name: str) -> Future[Person]:
        return self.submit(lambda: self._engine().tracker.remove_person(name))

    def remove_people(self, names: list[str]) -> Future[list[Person]]:
        return self.submit(lambda: self._engine().tracker.remove_people(names))

    def name_track(self, track_id: int, name: str) -> Future[Person]:
        return self.submit(lambda: self._engine().tracker.name_track(track_id, name))

    def reject_track(self, track_id: int) -> Future[Person]:
        """"Not NAME": what that face's track taught the person is taken back, and it stays apart."""
        return self.submit(lambda: self._engine().tracker.reject_track(track_id))

    def samples(self, name: str) -> Future[list[Sample]]:
        """A person's stored samples with provenance and thumbnails (for their page)."""
        return self.submit(lambda: self._gallery().samples(self._gallery().require(name).id))

    def split(self, name: str, sample_ids: list[int], into: str | None = None) -> Future[Person]:
        return self.submit(lambda: self._engine().tracker.split_person(name, sample_ids, into))

    def forget(self, name: str, sample_ids: list[int]) -> Future[Person]:
        return self.submit(lambda: self._engine().tracker.forget_samples(name, sample_ids))

    def set_cover(self, name: str, sample_id: int) -> Future[Person]:
        """The sample that stands for the person in lists; one undoable step like the others."""
        def do() -> Person:
            gallery = self._gallery()
            with gallery.action(f"thumbnail of {name}"):
                return gallery.set_cover(name, sample_id)
        return self.submit(do)

    def undo(self) -> Future[str | None]:
        """Revert the newest change to people (name, rename, merge, split, remove samples, "not",
        delete, enrol, thumbnail); its label, or None when there is nothing to undo."""
        def do() -> str | None:
            if self._gallery().can_undo() is None:
                return None
            return self._engine().tracker.undo()
        return self.submit(do)

    def can_undo(self) -> str | None:
        """The label of the change Undo would revert (read from the snapshot, any thread)."""
        return self._feed.undo_label()

    def suggestions(self) -> list[Suggestion]:
        """Identities that are probably one person, from the newest people snapshot."""
        return self._feed.suggestions()

    def enroll(self, name: str, paths: list[Path]) -> Future[Any]:
        """Enrol photos; runs on the engine thread, which owns the models (dlib's nets are not
        thread-safe), so a long batch pauses the video briefly rather than racing it."""
        from tracker.enroll import enroll

        def do() -> Any:
            report = enroll(self._gallery(), name, paths, self._engine().embedder)
            for message in report.skip_messages():
                self._error(message)
            return report
        return self.submit(do)

    def record(self, path: Path | None) -> Future[None]:
        """Start recording the annotated video to `path`, or stop with None."""
        def do() -> None:
            self._stop_recording()
            self._recording = path
            self._set_stats(recording=path)
        return self.submit(do)

    def configure(self, cfg: Config) -> Future[None]:
        """New settings: a new engine (and gallery, if its file changed); a running source restarts
        where it was."""
        def do() -> None:
            gallery_changed = cfg.gallery != self.cfg.gallery
            new_gallery = Gallery(cfg.gallery) if gallery_changed else self._gallery()
            if self.engine is not None:
                self._retired.append(self.engine)
            if gallery_changed and self.gallery is not None:
                self._retired.append(self.gallery)
                self._feed.forget()
            self.engine = self._factory(cfg, new_gallery)
            self.gallery, self.cfg = new_gallery, cfg
            self._set_stats(device=self._describe_device())
            self._refresh_people(force=True)
            if self._source is not None and self._spec is not None:
                start = self._latest.frame.index + 1 if self._latest and not self._source.live else 0
                self._restart(self._spec, start)
            else:
                self._close_retired()
        return self.submit(do)

    def _close_retired(self) -> None:
        while self._retired:
            self._retired.pop().close()

    # ------------------------------------------------------------------ engine thread
    def _gallery(self) -> Gallery:
        if self.gallery is None:
            raise FacetrackError("the gallery is not open")
        return self.gallery

    def _engine(self) -> Engine:
        if self.engine is None:
            raise FacetrackError("the engine is not ready")
        return self.engine

    def _restart(self, spec: str, start: int, show_from: int | None = None) -> None:
        """End the current run and play `spec` from `start`; frames before `show_from` (default
        `start`) are tracked but not shown."""
        self._next = (spec, start)
        self._show_from = start if show_from is None else show_from
        self._run_stop.set()

    def _stop_recording(self) -> None:
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None

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

    def _report(self, exc: Exception) -> None:
        """A failure as a message in the window, rather than a silent dead thread."""
        self._error(str(exc) if isinstance(exc, FacetrackError) else f"internal error: {type(exc).__name__}: {exc}")

    def _error(self, message: str) -> None:
        log.warning("%s", message)
        with self._lock:
            self._errors.append(message)

    def _set_stats(self, **changes: Any) -> None:
        with self._lock:
            self._stats = dataclasses.replace(self._stats, **changes)

    def _main(self) -> None:
        try:
            self.gallery = Gallery(self.cfg.gallery)
            self.engine = self._factory(self.cfg, self.gallery)
            self._set_stats(device=self._describe_device())
            self._refresh_people(force=True)
            # Load the models now, while nothing plays: dlib holds the GIL while it reads them,
            # which would otherwise stall the window for a moment when the first video opens.
            models.shape_predictor()
            models.face_recognizer()
        except Exception as exc:
            self._report(exc)
        try:
            while not self._closing.is_set():
                if self._next is not None and self.engine is not None:
                    spec, start = self._next
                    self._next = None
                    self._play(spec, start)
                    continue
                self._drain(block=True, timeout=0.1)
                self._refresh_people(force=False)  # what the last frames of a run learned
        except BaseException as exc:
            # Should not happen; if it does, say so: the window starts a new session.
            log.exception("the engine thread stopped")
            self.died = f"{type(exc).__name__}: {exc}"
            self._error(f"internal error: the engine stopped ({self.died})")
        finally:
            self._stop_recording()
            self._close_retired()
            if self.engine is not None:
                self.engine.close()
            if self.gallery is not None:
                self.gallery.close()
            self._fail_pending()

    def _describe_device(self) -> str:
        try:
            info = models.build_info()
        except FacetrackError as exc:
            return str(exc)
        detector = self.cfg.detector.upper()
        if info.cuda:
            return f"GPU ({info.cuda_devices} CUDA) · {detector}"
        return f"CPU{' + BLAS' if info.blas else ''} · {detector}"

    def _fail_pending(self) -> None:
        why = f"the engine stopped: {self.died}" if self.died is not None else "the app is closing"
        while True:
            try:
                _, fut = self._commands.get_nowait()
            except queue.Empty:
                return
            if fut.set_running_or_notify_cancel():
                fut.set_exception(FacetrackError(why))

    def _drain(self, block: bool, timeout: float = 0.0) -> None:
        """Run waiting commands on this thread; a command may end the current run."""
        first = True
        while True:
            try:
                if block and first:
                    fn, fut = self._commands.get(timeout=timeout)
                else:
                    fn, fut = self._commands.get_nowait()
            except queue.Empty:
                return
            first = False
            if not fut.set_running_or_notify_cancel():
                continue
            result: Any = None
            error: Exception | None = None
            began = time.monotonic()
            try:
                result = fn()
            except Exception as exc:
                error = exc
            except BaseException as exc:  # the thread is going down: this command must not hang
                fut.set_exception(FacetrackError(f"the engine stopped: {type(exc).__name__}: {exc}"))
                raise
            if time.monotonic() - began > SKIP_LATE_S:
                self._clock.reset()  # a long command (an enrolment) held playback: no catching up after it
            try:
                if error is not None:
                    self._report(error)
                # Before the answer, so that the window finds the people and the names on screen
                # already changed when its callback runs.
                self._refresh_people(force=True)
                self._relabel_latest()
            finally:
                if error is not None:
                    fut.set_exception(error)
                else:
                    fut.set_result(result)

    def _relabel_latest(self) -> None:
        """Names on screen follow a rename or merge at once, even while paused."""
        snap = self._latest
        if snap is None or self.engine is None or self._next is not None:
            return
        self._seq += 1
        self._latest = Snapshot(snap.frame, self.engine.tracker.result(snap.frame), self._seq)

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
                               on_idle=lambda: self._drain(block=False), skip=self._late if timed else None)
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

    def _refresh_people(self, force: bool) -> None:
        """The people the window shows, re-read when the gallery changed (ui/people_feed.py)."""
        if self.gallery is None:
            return
        self._feed.refresh(self.gallery, self.cfg, force, self._error)

def _rate(times: deque[float]) -> float:
    """Events per second over the newest two seconds of `times`."""
    if len(times) < 2:
        return 0.0
    newest = times[-1]
    recent = [t for t in times if newest - t <= 2.0]
    if len(recent) < 2 or recent[-1] <= recent[0]:
        return 0.0
    return (len(recent) - 1) / (recent[-1] - recent[0])
