"""Where results go: JSON lines per frame, an annotated video, appeared/left events."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

import cv2
import numpy as np

from . import geometry
from .draw import annotate
from .errors import FacetrackError
from .records import Frame, FrameResult


class Sink(Protocol):
    def write(self, frame: Frame, result: FrameResult) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class StatusSink(Protocol):
    """A sink that also records what happens to the source (`stream_lost`, `stream_resumed`),
    called from the capture thread, between frames or while none come."""

    def status(self, event: str, info: dict[str, Any]) -> None: ...


def _open_text(path: Path, append: bool = False) -> IO[str]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Line-buffered: a dashboard tailing a live run sees each line as it is written, and a
        # stop never leaves half a line behind.
        return path.open("a" if append else "w", encoding="utf-8", buffering=1)
    except OSError as exc:
        raise FacetrackError(f"cannot write {path}: {exc.strerror}") from None


def _number(value: float, digits: int) -> float | None:
    return None if math.isnan(value) else round(float(value), digits)


def result_json(result: FrameResult) -> dict[str, Any]:
    """One frame as the documented JSONL record, boxes in the source's pixels."""
    # A huge photo was tracked reduced (result.scale > 1); the JSONL speaks of the file itself.
    boxes = result.boxes * result.scale
    n = len(result)
    scores = result.scores if len(result.scores) else np.full(n, np.nan)
    marks = result.landmarks * result.scale if len(result.landmarks) else np.full((n, 5, 2), np.nan)
    faces = []
    for i in range(n):
        name = result.names[i]
        face: dict[str, Any] = {
            "track": int(result.track_ids[i]),
            "person": name,
            "known": bool(result.known[i]) if name is not None else False,
            "box": geometry.to_int_box(boxes[i]),
            "distance": _number(result.distances[i], 4),
            "score": _number(scores[i], 3),
        }
        if not np.isnan(marks[i]).any():
            face["landmarks"] = [[round(float(x), 1), round(float(y), 1)] for x, y in marks[i]]
        faces.append(face)
    return {"frame": result.index, "time": result.time, "source": result.source, "faces": faces}


class LineWriter(Protocol):
    """Where a sink's lines go: an open text file, or the merged stream of several cameras."""

    @property
    def closed(self) -> bool: ...

    def write(self, s: str, /) -> int: ...

    def close(self) -> None: ...


def _target(dest: Path | LineWriter) -> LineWriter:
    return _open_text(dest) if isinstance(dest, Path) else dest


class JsonlSink:
    """One JSON line per frame; `extra` fields (e.g. the camera's name) go into every line."""

    def __init__(self, dest: Path | LineWriter, extra: dict[str, Any] | None = None) -> None:
        self._fh = _target(dest)
        self._extra = dict(extra or {})

    def write(self, frame: Frame, result: FrameResult) -> None:
        self.write_result(result)

    def write_result(self, result: FrameResult) -> None:
        self._fh.write(json.dumps({**self._extra, **result_json(result)}, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._fh.close()


class VideoSink:
    """An annotated MP4; frames of another size (photos) are fitted to the first one's."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path = path
        self.fps = fps if fps > 0 else 30.0
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None

    def write(self, frame: Frame, result: FrameResult) -> None:
        img = annotate(frame.image, result)
        if self._writer is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise FacetrackError(f"cannot write {self.path}: {exc.strerror}") from None
            self._size = (img.shape[1], img.shape[0])
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter.fourcc(*"mp4v"), self.fps, self._size)
            if not self._writer.isOpened():
                raise FacetrackError(f"cannot write video {self.path}")
        if self._size != (img.shape[1], img.shape[0]):
            img = cv2.resize(img, self._size)
        self._writer.write(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


class EventSink:
    """`appeared` when a person is first labelled, `left` once they have been gone `grace_s`;
    `stream_lost` and `stream_resumed` from a live source."""

    def __init__(self, dest: Path | LineWriter, grace_s: float = 1.0, extra: dict[str, Any] | None = None) -> None:
        self._fh = _target(dest)
        self._extra = dict(extra or {})
        self._lock = threading.Lock()
        self.grace_s = grace_s
        self._present: dict[int, dict[str, Any]] = {}  # person id -> last sighting

    def _emit(self, event: str, info: dict[str, Any]) -> None:
        with self._lock:  # status() writes from the capture thread
            if not self._fh.closed:
                self._fh.write(json.dumps({"event": event, **self._extra, **info}, separators=(",", ":")) + "\n")

    def status(self, event: str, info: dict[str, Any]) -> None:
        self._emit(event, info)

    def write(self, frame: Frame, result: FrameResult) -> None:
        now = {int(p): (n, bool(k), int(t)) for p, n, k, t in
               zip(result.person_ids, result.names, result.known, result.track_ids) if p >= 0}
        source_changed = any(v["source"] != result.source for v in self._present.values())
        for pid, last in list(self._present.items()):
            gone = pid not in now and (source_changed or result.time - last["time"] >= self.grace_s
                                       or result.time < last["time"])
            if gone:
                self._emit("left", last)
                del self._present[pid]
        for pid, (name, known, track) in now.items():
            info = {"person": name, "known": known, "track": track, "frame": result.index,
                    "time": result.time, "source": result.source}
            if pid not in self._present:
                self._emit("appeared", info)
            self._present[pid] = info

    def close(self) -> None:
        for info in self._present.values():
            self._emit("left", info)
        self._present.clear()
        with self._lock:
            self._fh.close()
