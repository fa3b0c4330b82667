"""The app's engine thread: one thread owns the engine, the tracker and the gallery.

The window never calls them. It sends commands (each returns a Future) and, on a timer,
pulls the newest frame and result, the figures for the status bar, a snapshot of the people
and any error messages. No Qt here: the session is plain threads, so it is tested without a
display and the window stays a thin layer.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from tracker import models
from tracker.config import Config
from tracker.engine.pipeline import Engine
from tracker.errors import FacetrackError
from tracker.gallery.gallery import Gallery
from tracker.sinks.results import VideoSink
from tracker.sources.base import Source
from tracker.sources.live import LiveSource

from .clock import SKIP_LATE_S, PlaybackClock
from .feed import PeopleFeed
from .people import PeopleCommands
from .playback import PlaybackLoop
from .state import (
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


class Session(PeopleCommands, PlaybackLoop):
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
        self._redecide = False  # an undo asks the frame shown to be decided again

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
        tracker = self.engine.tracker
        # After an undo, the faces it left undecided are decided again at once from what they
        # have (paused, no new frame would); other commands decide what they decide themselves.
        redecide, self._redecide = self._redecide, False
        result = tracker.redecide(snap.frame) if redecide else tracker.result(snap.frame)
        self._latest = Snapshot(snap.frame, result, self._seq)

    def _refresh_people(self, force: bool) -> None:
        """The people the window shows, re-read when the gallery changed (ui/session/feed.py)."""
        if self.gallery is None:
            return
        self._feed.refresh(self.gallery, self.cfg, force, self._error)
        if self.engine is not None:
            self._feed.set_undo_label(self.engine.tracker.can_undo(), self.engine.tracker.can_redo())
