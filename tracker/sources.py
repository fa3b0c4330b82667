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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from .errors import FacetrackError, SourceError
from .images import is_image_path, list_images, load_image
from .records import Frame

log = logging.getLogger(__name__)

STREAM_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
OPEN_TIMEOUT_MS = 5000
READ_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class _End:
    error: BaseException | None = None


def _bgr_to_rgb(bgr: NDArray[np.uint8]) -> NDArray[np.uint8]:
    # cvtColor returns a new contiguous array: dlib's HOG finds nothing on a strided view.
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class Source:
    """Base: a capture thread feeding a bounded queue; iterate `frames()` to consume."""

    live = False

    def __init__(self, name: str, queue_size: int) -> None:
        self.name = name
        self._queue: queue.Queue[Frame | _End] = queue.Queue(maxsize=max(1, queue_size))
        self._stop = threading.Event()
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

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

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
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        error: BaseException | None = None
        try:
            for frame in self.produce():
                if self._stop.is_set():
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
                    if self._stop.is_set():
                        break
                    if self.live:
                        try:
                            self._queue.get_nowait()
                        except queue.Empty:
                            pass

    def frames(self) -> Iterator[Frame]:
        """Frames in order until the source ends; re-raises an error from the capture thread."""
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set() and (self._thread is None or not self._thread.is_alive()):
                    return
                continue
            if isinstance(item, _End):
                if item.error is not None:
                    if isinstance(item.error, FacetrackError):
                        raise item.error
                    raise SourceError(f"{self.name}: {item.error}") from item.error
                return
            yield item


class VideoFileSource(Source):
    """A video file, read from frame `start` (a seek) to the end."""

    def __init__(self, path: Path, queue_size: int = 16, start: int = 0) -> None:
        super().__init__(str(path), queue_size)
        self.path = path
        self.start_frame = max(0, int(start))
        self._cap: cv2.VideoCapture | None = None
        self._first: NDArray[np.uint8] | None = None
        self._fps = 0.0
        self._total: int | None = None

    @property
    def total(self) -> int | None:
        return self._total

    @property
    def fps(self) -> float:
        return self._fps

    def open(self) -> None:
        if not self.path.is_file():
            raise SourceError(f"{self.path}: no such file")
        cap = cv2.VideoCapture(str(self.path))
        if self.start_frame and cap.isOpened():
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            if n > 0:
                self.start_frame = min(self.start_frame, n - 1)
            cap.set(cv2.CAP_PROP_POS_FRAMES, self.start_frame)
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            raise SourceError(f"{self.path}: cannot decode this video (corrupt or unsupported)")
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
        while bgr is not None:
            # Stream position in seconds, not the index times a nominal rate: VFR files exist.
            pos = cap.get(cv2.CAP_PROP_POS_MSEC)
            t = (pos / 1000.0) if index > 0 and pos > 0 else index / self._fps
            yield Frame(_bgr_to_rgb(bgr), index, round(t, 4), self.name, time.monotonic())
            index += 1
            ok, nxt = cap.read()
            bgr = nxt if ok else None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class LiveSource(Source):
    """A webcam index or a network stream; reopened with backoff when it drops."""

    live = True

    def __init__(self, spec: str, queue_size: int = 2, reconnect_max_s: float = 10.0) -> None:
        super().__init__(spec, queue_size)
        self.spec = spec
        self.reconnect_max_s = reconnect_max_s
        self._cap: cv2.VideoCapture | None = None
        self._fps = 0.0
        self.reconnects = 0
        self.connected = False  # False while a dropped stream is being reopened

    @property
    def fps(self) -> float:
        return self._fps

    def _connect(self) -> cv2.VideoCapture | None:
        if self.spec.isdigit():
            cap = cv2.VideoCapture(int(self.spec))
        else:
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
            cap = cv2.VideoCapture(self.spec, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            return None
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps = fps if 0 < fps < 1000 else 30.0
        return cap

    def open(self) -> None:
        if self.spec.startswith(("rtsp://", "rtsps://")):
            # TCP is what survives lossy links; UDP drops smear frames.
            os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
        self._cap = self._connect()
        if self._cap is None:
            what = f"webcam {self.spec}" if self.spec.isdigit() else f"stream {self.spec}"
            raise SourceError(f"cannot open {what}")
        self.connected = True

    def produce(self) -> Iterator[Frame]:
        start = time.monotonic()
        index = 0
        delay = 0.5
        while not self.stopped:
            cap = self._cap
            ok, bgr = cap.read() if cap is not None else (False, None)
            if ok and bgr is not None:
                delay = 0.5
                now = time.monotonic()
                yield Frame(_bgr_to_rgb(bgr), index, round(now - start, 4), self.name, now)
                index += 1
                continue
            self.connected = False
            if cap is not None:
                cap.release()
                self._cap = None
            log.warning("%s: stream dropped; reopening in %.1f s", self.name, delay)
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.reconnect_max_s)
            self._cap = self._connect()
            if self._cap is not None:
                self.reconnects += 1
                self.connected = True
                log.info("%s: stream reopened", self.name)

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
                image = load_image(f)
            except FacetrackError as exc:
                if single:
                    raise
                log.warning("%s; skipped", exc)
                self.skipped.append((f, str(exc)))
                continue
            yield Frame(image, index, 0.0, str(f), time.monotonic())


def open_source(spec: str, file_queue: int = 16, live_queue: int = 2, reconnect_max_s: float = 10.0,
                start: int = 0) -> Source:
    """A source from what a user typed: `0`, a URL, a video, an image, or a folder of images.

    start: the first frame of a video file (a seek); other sources start where they are.
    """
    if spec.isdigit() or spec.lower().startswith(STREAM_PREFIXES):
        return LiveSource(spec, live_queue, reconnect_max_s)
    path = Path(spec).expanduser()
    if not path.exists():
        raise SourceError(f"{spec}: no such file or folder")
    if path.is_dir() or is_image_path(path):
        return ImageSource(path)
    return VideoFileSource(path, file_queue, start)
