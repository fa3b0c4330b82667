"""Files as sources: a video (every frame, in order, none lost) and still images (a folder or one
picture), read on their capture threads (base.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from ..errors import FacetrackError, SourceError
from ..paths import opencv_name, shown
from ..records import Frame
from .base import Source, bgr_to_rgb
from .images import list_images, load_image, load_image_scaled

log = logging.getLogger(__name__)


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


