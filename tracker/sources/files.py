"""Frame sources, each read on its own capture thread into a bounded queue.

Files lose no frame: the capture thread blocks when the queue is full. Live sources
(webcams, streams) keep only the newest frames: the oldest is dropped, so the pipeline never
falls behind real time. A stream that drops is reopened with backoff.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from ..config import Config, redact
from ..errors import FacetrackError, SourceError
from ..paths import opencv_name, shown
from ..records import Frame
from .images import is_image_path, list_images, load_image, load_image_scaled

log = logging.getLogger(__name__)

STREAM_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
JOIN_S = 1.0  # how long stop() waits for a capture thread (a live one may sit in a blocking read)


@dataclass(frozen=True)
class _End:
    error: BaseException | None = None


def bgr_to_rgb(bgr: NDArray[np.uint8]) -> NDArray[np.uint8]:
    # cvtColor returns a new contiguous array: dlib's HOG finds nothing on a strided view.
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class Source:
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

    def open(self) -> None: ...

    def produce(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None: ...

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


class VideoFileSource(Source):
    """A video file, read from frame `start` (a seek) to the end, or to frame `end` (excluded)."""

    def __init__(self, path: Path, queue_size: int = 16, start: int = 0, end: int | None = None) -> None:
        super().__init__(str(path), queue_size)
        self.path = path
        self.start_frame = max(0, int(start))
        self.end_frame = end
        self._cap: cv2.VideoCapture | None = None
        self._first: NDArray[np.uint8] | None = None
        self._fps = 0.0
        self._total: int | None = None
        self.incomplete = ""  # why the video ended early, once it has

    @property
    def total(self) -> int | None:
        return self._total

    @property
    def fps(self) -> float:
        return self._fps

    def open(self) -> None:
        if not self.path.is_file():
            raise SourceError(f"{self.name}: no such file")
        with opencv_name(self.path) as name:  # a name that is not UTF-8 would crash OpenCV
            cap = cv2.VideoCapture(name)
        if self.start_frame and cap.isOpened():
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            if n > 0:
                self.start_frame = min(self.start_frame, n - 1)
            cap.set(cv2.CAP_PROP_POS_FRAMES, self.start_frame)
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            raise SourceError(f"{self.name}: cannot decode this video (corrupt or unsupported)")
        self._cap, self._first = cap, first
        self._fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not 0 < self._fps < 1000:
            self._fps = 30.0
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self._total = n if n > 0 else None

    def produce(self) -> Iterator[Frame]:
        cap = self._cap
        assert cap is not None and self._first is not None
        bgr: NDArray[np.uint8] | None = self._first
        index = self.start_frame
        while bgr is not None and (self.end_frame is None or index < self.end_frame):
            # Stream position in seconds, not the index times a nominal rate: VFR files exist.
            pos = cap.get(cv2.CAP_PROP_POS_MSEC)
            t = (pos / 1000.0) if index > 0 and pos > 0 else index / self._fps
            yield Frame(bgr_to_rgb(bgr), index, round(t, 4), self.name, time.monotonic())
            index += 1
            ok, nxt = cap.read()
            bgr = nxt if ok else None
        # Headers can be a little off; a video that stops well short of its own count was cut
        # or fails to decode, which the user must hear about rather than get a short result.
        if self._total is not None and not self.stopped:
            wanted = self._total if self.end_frame is None else min(self._total, self.end_frame)
            if index < wanted - max(2, self._total // 100):
                self.incomplete = (f"{self.path}: the video ends at frame {index} of the {self._total} its header "
                                   f"announces (truncated or corrupt)")

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ImageSource(Source):
    """Still images: a file or a folder. A bad image in a folder is logged and skipped."""

    def __init__(self, path: Path, queue_size: int = 4) -> None:
        super().__init__(str(path), queue_size)
        self.path = path
        self._files: list[Path] = []
        self.skipped: list[tuple[Path, str]] = []

    @property
    def total(self) -> int | None:
        return len(self._files)

    def open(self) -> None:
        if self.path.is_dir():
            self._files = list_images(self.path)
            if not self._files:
                raise SourceError(f"{self.path}: no images in this folder")
        else:
            load_image(self.path)  # fail now, with a clear message, if it is unreadable
            self._files = [self.path]

    def produce(self) -> Iterator[Frame]:
        single = not self.path.is_dir()
        for index, f in enumerate(self._files):
            try:
                image, scale = load_image_scaled(f)
            except FacetrackError as exc:
                if single:
                    raise
                log.warning("%s; skipped", exc)
                self.skipped.append((f, str(exc)))
                continue
            yield Frame(image, index, 0.0, shown(f), time.monotonic(), scale=scale)


def open_source(spec: str, file_queue: int = 16, live_queue: int = 2, reconnect_max_s: float = 1.0,
                start: int = 0, stall_s: float = 3.0, rtsp_transport: str = "auto",
                end: int | None = None) -> Source:
    """A source from what a user typed: `0`, a URL, a video, an image, or a folder of images.

    start: the first frame of a video file (a seek); other sources start where they are.
    """
    if spec.isdigit() or spec.lower().startswith(STREAM_PREFIXES):
        from .live import LiveSource  # live.py builds on this module's Source

        return LiveSource(spec, live_queue, reconnect_max_s, stall_s, rtsp_transport)
    path = Path(os.path.expanduser(spec))  # ~nosuchuser stays as it is: "no such file"
    if not path.exists():
        raise SourceError(f"{spec}: no such file or folder")
    if path.is_dir() or is_image_path(path):
        return ImageSource(path)
    return VideoFileSource(path, file_queue, start, end)


def source_for(spec: str, cfg: Config, start: int = 0, end: int | None = None) -> Source:
    """`open_source` with the queue sizes and stream settings of `cfg`; `end`: a video file stops
    before that frame (a segment of it)."""
    return open_source(spec, cfg.file_queue, cfg.live_queue, cfg.reconnect_max_s, start, cfg.stall_s,
                       cfg.rtsp_transport, end)
