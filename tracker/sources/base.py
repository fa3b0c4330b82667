"""A source of frames: a capture thread that reads ahead into a bounded queue, in RGB."""

from __future__ import annotations

import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from ..config import redact
from ..errors import FacetrackError, SourceError
from ..paths import shown
from ..records import Frame

JOIN_S = 1.0  # how long stop() waits for a capture thread (a live one may sit in a blocking read)


@dataclass(frozen=True)
class _End:
    error: BaseException | None = None


def bgr_to_rgb(bgr: NDArray[np.uint8]) -> NDArray[np.uint8]:
    # cvtColor returns a new contiguous array: dlib's HOG finds nothing on a strided view.
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class Source(ABC):
    """Base: a capture thread feeding a bounded queue; iterate `frames()` to consume."""

    live = False
    incomplete = ""  # why the source ended before its own promised end (a cut video), once it has

    def __init__(self, name: str, queue_size: int) -> None:
        self.spec = name  # what opens it again (a file name may hold any bytes)
        # In messages and every output: printable whatever bytes a file name has, and a stream
        # address without its password.
        self.name = shown(redact(name))
        self._queue: queue.Queue[Frame | _End] = queue.Queue(maxsize=max(1, queue_size))
        self._stop = threading.Event()
        self._watched: threading.Event | None = None  # the caller's stop (Ctrl+C, the app's Stop)
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.read = 0
        self._opened = False

    # Subclasses: open() raises SourceError; produce() yields frames until the end.
    @property
    def total(self) -> int | None:
        return None

    @property
    def fps(self) -> float:
        return 0.0

    def open(self) -> None:  # optional: a source with nothing to open
        return None

    @abstractmethod
    def produce(self) -> Iterator[Frame]: ...

    def close(self) -> None:  # optional: a source with nothing to release
        return None

    def ensure_open(self) -> None:
        """Open once; a clear SourceError if it cannot be."""
        if not self._opened:
            self.open()
            self._opened = True

    def start(self) -> None:
        self.ensure_open()
        self._thread = threading.Thread(target=self._run, name=f"capture:{self.name}", daemon=True)
        self._thread.start()

    def watch(self, stop: threading.Event) -> None:
        """Also end (opening, capturing and `frames()`) when the caller's `stop` is set."""
        self._watched = stop

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            # A file's capture thread ends at once; a live one is never needed after Stop (its
            # reads are abandoned), so Stop does not wait for a stream that does not answer.
            self._thread.join(timeout=JOIN_S if self.live else 5.0)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set() or (self._watched is not None and self._watched.is_set())

    def clear_queue(self) -> None:
        """Drop what is queued (a live source after a drop: those frames are stale)."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _put(self, item: Frame | _End) -> None:
        if self.live and isinstance(item, Frame):
            while True:
                try:
                    self._queue.put_nowait(item)
                    return
                except queue.Full:
                    try:
                        self._queue.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass
        while not self.stopped:
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        error: BaseException | None = None
        try:
            for frame in self.produce():
                if self.stopped:
                    break
                self.read += 1
                self._put(frame)
        except BaseException as exc:  # reported to the consumer instead of dying silently
            error = exc
        finally:
            self.close()
            # The end marker must get through even when the queue is full of live frames.
            while True:
                try:
                    self._queue.put(_End(error), timeout=0.1)
                    break
                except queue.Full:
                    if self.stopped:
                        break
                    if self.live:
                        try:
                            self._queue.get_nowait()
                        except queue.Empty:
                            pass

    def frames(self, on_idle: Callable[[], None] | None = None) -> Iterator[Frame]:
        """Frames in order until the source ends; re-raises an error from the capture thread.

        on_idle: called about every 0.1 s while no frame comes (a stream that is down), so the
        caller can still take commands."""
        while True:
            if self._watched is not None and self._watched.is_set():
                return  # the caller stopped: whatever the capture thread is waiting on
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self.stopped and (self._thread is None or not self._thread.is_alive()):
                    return
                if on_idle is not None:
                    on_idle()
                continue
            if isinstance(item, _End):
                if item.error is not None:
                    if isinstance(item.error, FacetrackError):
                        raise item.error
                    raise SourceError(f"{self.name}: {item.error}") from item.error
                return
            yield item
