"""The app's engine thread: one thread owns the engine, the tracker and the gallery.

The window never calls them. It sends commands (each returns a Future) and, on a timer,
pulls the newest frame and result, the figures for the status bar, a snapshot of the people
and any error messages. No Qt here: the session is plain threads, so it is tested without a
display and the window stays a thin layer.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
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
from tracker.records import Frame, FrameResult
from tracker.sources.live import LiveSource

from .clock import SKIP_LATE_S
from .commands import CommandQueue
from .feed import PeopleFeed
from .people import PeopleCommands
from .playback import NOT_OPENED, Playback
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
from .status_text import describe_device

log = logging.getLogger(__name__)

T = TypeVar("T")
EngineFactory = Callable[[Config, Gallery], Engine]

PREROLL = 10  # frames a seek tracks unseen before the frame it shows


class Session:
    def __init__(self, cfg: Config, engine_factory: EngineFactory | None = None) -> None:
        self.cfg = cfg
        self._factory: EngineFactory = engine_factory or (lambda c, g: Engine(c, g))
        self._commands = CommandQueue()  # from any thread, run on the engine thread
        self._thread = threading.Thread(target=self._main, name="facetrack-engine", daemon=True)
        self._closing = threading.Event()
        self._lock = threading.Lock()  # guards the fields the window pulls
        self._latest: Snapshot | None = None
        self._stats = Stats()
        self.feed = PeopleFeed()  # who is in the gallery, for the window
        # name, rename, merge, split, undo...: commands on people (people.py)
        self.people_commands = PeopleCommands(self)
        self._errors: deque[str] = deque(maxlen=50)
        # Engine-thread state
        self.gallery: Gallery | None = None
        self.engine: Engine | None = None
        self._spec: str | None = None
        self._next: tuple[str, int] | None = None  # what to play once the current run ends
        self._pending_open: str | None = None  # an Open sent but not yet taken by the engine thread
        # Open and Stop are counted where they are sent (any thread) and where the engine thread
        # takes them: a run started while a newer one is on its way is ended at once.
        self._cuts = 0
        self._cuts_taken = 0
        self._retired: list[Engine | Gallery] = []  # replaced while a run used them: closed after it
        self._seq = 0
        self.died: str | None = None  # why the engine thread ended unexpectedly, if it did
        self._redecide = False  # an undo asks the frame shown to be decided again
        self.playback = Playback(self, self._closing)  # the run in progress (playback.py)

    # ------------------------------------------------------------------ life
    def start(self) -> Session:
        self._thread.start()
        return self

    def close(self, timeout: float = 2.0) -> bool:
        """Stop the source and the engine; True when the engine thread ended within `timeout`."""
        self._closing.set()
        self.playback.run_stop.set()
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
        source = self.playback.source  # read without the engine thread: a dropped stream sends no frames
        if isinstance(source, LiveSource) and not source.connected and stats.state == PLAYING:
            return dataclasses.replace(stats, state=RECONNECTING)
        return stats

    def people(self) -> tuple[int, list[PersonView]]:
        """(version, people); the version changes whenever the list does."""
        return self.feed.people()

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
            self._commands.put(fn, fut)
            if self.died is not None:  # it died while this was queued: nobody will run it
                self._fail_pending()
        return fut

    def open(self, spec: str, start: int = 0) -> Future[None]:
        self._cuts += 1
        cut = self._cuts

        def do() -> None:
            self.playback.paused = False
            self._latest = None
            self._restart(spec, start)
            self._cuts_taken = cut
            if self._cuts == cut:  # no newer Open or Stop was sent meanwhile
                self._pending_open = None
        # Said at once, not when the command runs: the window shows "opening", never the old
        # source's state, note or last frame under the new source's name.
        self._pending_open = spec
        self.set_stats(state=CONNECTING, source=spec, note="", live=False, total=None, duration=None)
        fut = self.submit(do)
        # Set here too, not only when the command runs: a source that is connecting or down
        # holds the engine thread until its run ends. The old source's last frame goes at once,
        # so that the window never shows it under the new source's name (or its error).
        self.playback.run_stop.set()
        self._latest = None
        return fut

    def seek(self, index: int) -> Future[None]:
        """Go to frame `index` of a file. The tracker starts PREROLL frames before it, unseen, so
        that the faces on the frame shown already have their names (one face decides nothing)."""
        def do() -> None:
            if not self.playback.seekable or self._spec is None:
                raise FacetrackError("only a video file can seek")
            self.playback.step_once = self.playback.paused
            self._restart(self._spec, max(0, index - PREROLL), show_from=index)
        return self.submit(do)

    def step(self) -> Future[None]:
        """Paused: show the next frame and stay paused (no seek: the tracks go on)."""
        def do() -> None:
            if self.playback.source is None or not self.playback.paused:
                return
            self.playback.step_once = True
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
            self.playback.run_stop.set()
            self.set_stats(note="Stopped")
            if self.playback.source is None:
                self.set_stats(state=IDLE)
        fut = self.submit(do)
        self.playback.run_stop.set()  # at once, as in open()
        return fut

    def set_paused(self, paused: bool | None) -> Future[None]:
        """Pause or play; None toggles, decided on the engine thread so that it never races it.
        Play on a finished file starts it again."""
        def do() -> None:
            pause = (not self.playback.paused) if paused is None else paused
            if self._stats.state == ENDED:
                pause = False if paused is None else pause
                if not pause and self.playback.source is None and self._spec is not None:
                    self._restart(self._spec, 0)
            self.playback.paused = pause
            if not pause:
                self.playback.step_once = False  # Space right after a seek while paused: play, not pause again
            self.playback.clock.reset()
            if self.playback.source is not None:
                self.set_stats(state=PAUSED if pause else PLAYING)
        return self.submit(do)

    def toggle_pause(self) -> Future[None]:
        return self.set_paused(None)

    def set_fast(self, fast: bool) -> Future[None]:
        """Files play at their own frame rate; fast processes them as quickly as the machine can."""
        def do() -> None:
            self.playback.fast = fast
            self.playback.clock.reset()
            self.set_stats(fast=fast)
        return self.submit(do)

    def record(self, path: Path | None) -> Future[None]:
        """Start recording the annotated video to `path`, or stop with None."""
        def do() -> None:
            self.playback.stop_recording()
            self.playback.recording = path
            self.set_stats(recording=path)
        return self.submit(do)

    def configure(self, cfg: Config) -> Future[None]:
        """New settings: a new engine (and gallery, if its file changed); a running source restarts
        where it was."""
        def do() -> None:
            gallery_changed = cfg.gallery != self.cfg.gallery
            new_gallery = Gallery(cfg.gallery) if gallery_changed else self.current_gallery()
            if self.engine is not None:
                self._retired.append(self.engine)
            if gallery_changed and self.gallery is not None:
                self._retired.append(self.gallery)
                self.feed.forget()
            self.engine = self._factory(cfg, new_gallery)
            self.gallery, self.cfg = new_gallery, cfg
            self.set_stats(device=describe_device(self.cfg))
            self.refresh_people(force=True)
            if self.playback.source is not None and self._spec is not None:
                start = self._latest.frame.index + 1 if self._latest and not self.playback.source.live else 0
                self._restart(self._spec, start)
            else:
                self.close_retired()
        return self.submit(do)

    def close_retired(self) -> None:
        while self._retired:
            self._retired.pop().close()

    # ------------------------------------------------------------------ engine thread
    def current_gallery(self) -> Gallery:
        if self.gallery is None:
            raise FacetrackError("the gallery is not open")
        return self.gallery

    def current_engine(self) -> Engine:
        if self.engine is None:
            raise FacetrackError("the engine is not ready")
        return self.engine

    def _restart(self, spec: str, start: int, show_from: int | None = None) -> None:
        """End the current run and play `spec` from `start`; frames before `show_from` (default
        `start`) are tracked but not shown."""
        self._next = (spec, start)
        self.playback.show_from = start if show_from is None else show_from
        self.playback.run_stop.set()

    def report(self, exc: Exception) -> None:
        """A failure as a message in the window, rather than a silent dead thread."""
        self.error(str(exc) if isinstance(exc, FacetrackError) else f"internal error: {type(exc).__name__}: {exc}")

    def error(self, message: str) -> None:
        log.warning("%s", message)
        with self._lock:
            self._errors.append(message)

    def set_stats(self, **changes: Any) -> None:
        with self._lock:
            self._stats = dataclasses.replace(self._stats, **changes)

    def _main(self) -> None:
        try:
            self.gallery = Gallery(self.cfg.gallery)
            self.engine = self._factory(self.cfg, self.gallery)
            self.set_stats(device=describe_device(self.cfg))
            self.refresh_people(force=True)
            # Load the models now, while nothing plays: dlib holds the GIL while it reads them,
            # which would otherwise stall the window for a moment when the first video opens.
            models.shape_predictor()
            models.face_recognizer()
        except Exception as exc:
            self.report(exc)
        try:
            while not self._closing.is_set():
                if self._next is not None and self.engine is not None:
                    spec, start = self._next
                    self._next = None
                    self._run(spec, start)
                    continue
                self.drain(block=True, timeout=0.1)
                self.refresh_people(force=False)  # what the last frames of a run learned
        except BaseException as exc:
            # Should not happen; if it does, say so: the window starts a new session.
            log.exception("the engine thread stopped")
            self.died = f"{type(exc).__name__}: {exc}"
            self.error(f"internal error: the engine stopped ({self.died})")
        finally:
            self.playback.stop_recording()
            self.close_retired()
            if self.engine is not None:
                self.engine.close()
            if self.gallery is not None:
                self.gallery.close()
            self._fail_pending()

    def _run(self, spec: str, start: int) -> None:
        """Open `spec` from frame `start` and play it until it ends or a command ends the run."""
        run_stop = self.playback.new_run()
        if self._cuts != self._cuts_taken:
            run_stop.set()  # an Open or Stop sent meanwhile set the previous run's event
        self._spec = spec
        outcome = self.playback.run(spec, start, self.cfg, self.current_engine(), fresh=self._latest is None)
        if outcome == ENDED:
            self.set_stats(state=ENDED)  # the last frame stays up; play starts it again
            return
        if outcome == NOT_OPENED:
            self._spec = None
            self._latest = None
        if self._next is None and self._pending_open is None:  # not when another source is on its way
            self._spec = None
            self.set_stats(state=IDLE)

    def show(self, frame: Frame, result: FrameResult) -> None:
        """The newest frame and result, for the window to pull."""
        self._seq += 1
        self._latest = Snapshot(frame, result, self._seq)

    def _fail_pending(self) -> None:
        self._commands.fail_all(f"the engine stopped: {self.died}" if self.died is not None else "the app is closing")

    def drain(self, block: bool, timeout: float = 0.0) -> None:
        """Run waiting commands on this thread; a command may end the current run."""
        self._commands.run_waiting(block, timeout, self._after_command)

    def _after_command(self, seconds: float, error: Exception | None) -> None:
        if seconds > SKIP_LATE_S:
            self.playback.clock.reset()  # a long command (an enrolment) held playback: no catching up after it
        if error is not None:
            self.report(error)
        # Before the answer, so that the window finds the people and the names on screen
        # already changed when its callback runs.
        self.refresh_people(force=True)
        self._relabel_latest()

    def redecide_shown(self) -> None:
        """After an undo: the faces on the frame shown are decided again (see _relabel_latest)."""
        self._redecide = True

    def _relabel_latest(self) -> None:
        """Names on screen follow a rename or merge at once, even while paused."""
        snap = self._latest
        if snap is None or self.engine is None or self._next is not None:
            return
        tracker = self.engine.tracker
        # After an undo, the faces it left undecided are decided again at once from what they
        # have (paused, no new frame would); other commands decide what they decide themselves.
        redecide, self._redecide = self._redecide, False
        self.show(snap.frame, tracker.redecide(snap.frame) if redecide else tracker.result(snap.frame))

    def refresh_people(self, force: bool) -> None:
        """The people the window shows, re-read when the gallery changed (ui/session/feed.py)."""
        if self.gallery is None:
            return
        self.feed.refresh(self.gallery, self.cfg, force, self.error)
        if self.engine is not None:
            corrections = self.engine.tracker.corrections
            self.feed.set_undo_label(corrections.can_undo(), corrections.can_redo())
