"""The engine thread's playback (ui/session/playback.py) without Qt, a session or dlib: a stand-in
engine hands it frames, and a stand-in session (its Host) runs a command at a chosen moment."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tracker.records import Frame, FrameResult
from ui.session.playback import Playback
from ui.session.state import Snapshot, Stats


class Host:
    """The session as the playback sees it. `at_frame[i] = (k, command)`: the command runs at the
    k-th command drain (from 0) while frame i is handed over (as if the user's keys came just then)."""

    def __init__(self) -> None:
        self.shown: list[int] = []
        self.handed: list[int] = []
        self.latest_snap: Snapshot | None = None
        self.at_frame: dict[int, tuple[int, Callable[[], None]]] = {}
        self.due: tuple[int, Callable[[], None]] | None = None
        self.drains = 0

    def set_stats(self, **changes: Any) -> None:
        pass

    def stats(self) -> Stats:
        return Stats()

    def latest(self) -> Snapshot | None:
        return self.latest_snap

    def show(self, frame: Frame, result: FrameResult) -> None:
        self.shown.append(frame.index)
        self.latest_snap = Snapshot(frame, result, len(self.shown))

    def drain(self, block: bool, timeout: float = 0.0) -> None:
        self.drains += 1
        if self.due is not None and self.drains - 1 == self.due[0]:
            command, self.due = self.due[1], None
            command()
        elif block:
            time.sleep(timeout)

    def refresh_people(self, force: bool) -> None:
        pass

    def error(self, message: str) -> None:
        raise AssertionError(message)

    def report(self, exc: Exception) -> None:
        raise AssertionError(exc)

    def close_retired(self) -> None:
        pass


class Source:
    live = False
    fps = 30.0
    total = 300
    dropped = 0
    name = "clip"


class Engine:
    """Frames `first`.. in order, each handed to on_result, until `stop` is set."""

    def __init__(self, host: Host, first: int, last: int = 300) -> None:
        self.host, self.first, self.last = host, first, last

    def run(self, source: Any, sinks: Any, stop: threading.Event, on_result: Callable[[Frame, FrameResult], None],
            **_: Any) -> None:
        image = np.zeros((8, 8, 3), np.uint8)
        for i in range(self.first, self.last):
            if stop.is_set():
                return
            self.host.due, self.host.drains = self.host.at_frame.pop(i, None), 0
            self.host.handed.append(i)
            on_result(Frame(image, i, i / 30, "clip"), FrameResult.empty(i, i / 30, "clip"))


def test_a_seek_taken_while_a_frame_is_handed_over_shows_the_frame_it_asked_for() -> None:
    """Space then a seek, both taken at the first drain of frame 20's hand-over: frame 20 belongs
    to a run the seek ended and is never shown, and the seek's target is (paused there)."""
    host = Host()
    playback = Playback(host, threading.Event())
    playback.fast = True

    def pause_and_seek() -> None:  # what Session.set_paused(True) and Session.seek(200) do on the engine thread
        playback.paused = True
        playback.step_once = playback.paused
        playback.show_from = 200
        playback.run_stop.set()

    host.at_frame[20] = (0, pause_and_seek)
    playback.new_run()
    assert playback.play(Engine(host, 0), Source()) is False  # ended by the seek
    assert host.shown == list(range(20))
    playback.new_run()
    done = threading.Thread(target=playback.play, args=(Engine(host, 190), Source()), daemon=True)
    done.start()
    done.join(2.0)  # paused at frame 200: it waits there for the next command
    assert host.shown[-1] == 200 and 199 not in host.shown
    playback.run_stop.set()
    done.join(2.0)
    assert not done.is_alive()


def test_a_pause_while_a_frame_is_up_holds_the_tracker_on_that_frame() -> None:
    """Space while a file plays at its own speed (taken while the shown frame waits for the next
    one's time): the engine waits on the frame shown, so a name or "Not NAME" given now acts on
    the faces on screen, not on those of a frame the tracker took unseen."""
    host = Host()
    playback = Playback(host, threading.Event())

    def pause() -> None:
        playback.paused = True

    host.at_frame[5] = (2, pause)  # after frame 5 is shown, in its wait for frame 6's time
    playback.new_run()
    runner = threading.Thread(target=playback.play, args=(Engine(host, 0, 300), Source()), daemon=True)
    runner.start()
    time.sleep(1.0)
    assert host.shown[-1] == 5 and host.handed[-1] == 5  # frame 6 not tracked while paused
    playback.paused = False  # Space again: on it goes
    time.sleep(0.3)
    assert host.shown[-1] > 6
    playback.run_stop.set()
    runner.join(2.0)
    assert not runner.is_alive()
