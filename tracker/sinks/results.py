"""Where results go: JSON lines per frame, an annotated video, events (to a file, MQTT, webhooks)."""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from .. import geometry
from ..errors import FacetrackError
from ..paths import opencv_name, shown, video_frames
from ..records import Frame, FrameResult
from .draw import annotate
from .notify.events import EVENTS, Event, Happenings
from .outputs import LineFile, temp_beside


class Sink(Protocol):
    def write(self, frame: Frame, result: FrameResult) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class StatusSink(Protocol):
    """A sink that also records what happens to the source (`stream_lost`, `stream_resumed`),
    called from the capture thread, between frames or while none come."""

    def status(self, event: str, info: dict[str, Any]) -> None: ...


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
    return LineFile(dest) if isinstance(dest, Path) else dest


def close_all(sinks: Sequence[Sink]) -> None:
    """Close every sink, also after one failed (a video is still finished when events could not
    all be delivered); the first failure is raised once all are closed."""
    failure: Exception | None = None
    for sink in sinks:
        try:
            sink.close()
        except Exception as exc:
            failure = failure or exc
    if failure is not None:
        raise failure


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
        self._tmp: Path | None = None
        self._frames = 0  # written, to check the finished file against

    def write(self, frame: Frame, result: FrameResult) -> None:
        img = annotate(frame.image, result)
        if self._writer is None:
            self._open((img.shape[1], img.shape[0]))
        assert self._writer is not None
        if self._size != (img.shape[1], img.shape[0]):
            img = cv2.resize(img, self._size)
        self._writer.write(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        self._frames += 1

    def _open(self, size: tuple[int, int]) -> None:
        # Recorded under a temporary name beside the output and renamed into place when it ends:
        # an output of an earlier run stays whole until then, and a symlink there is never followed.
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._tmp = temp_beside(self.path, shown(self.path.suffix.lower()) or ".mp4")
        except OSError as exc:
            raise FacetrackError(f"cannot write {shown(self.path)}: {exc.strerror}") from None
        self._size = size
        with opencv_name(self._tmp) as name:  # the folder's name may not be UTF-8
            self._writer = cv2.VideoWriter(name, cv2.VideoWriter.fourcc(*"mp4v"), self.fps, size)
        if not self._writer.isOpened():
            self._tmp.unlink(missing_ok=True)
            self._writer = self._tmp = None
            raise FacetrackError(f"cannot write video {shown(self.path)}")

    def close(self) -> None:
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        tmp, self._tmp = self._tmp, None
        if tmp is None:
            return
        # OpenCV's writer says nothing of a failed write (a full disk): the file is read back.
        stored = video_frames(tmp)
        if stored < self._frames:
            tmp.unlink(missing_ok=True)
            raise FacetrackError(f"cannot write {shown(self.path)}: the video could not be completed "
                                 f"({stored} of {self._frames} frames readable; is the disk full?)")
        try:
            os.replace(tmp, self.path)  # what was recorded is kept, a stopped run's too
        except OSError as exc:
            raise FacetrackError(f"cannot write {shown(self.path)}: {exc.strerror}; the recording is in "
                                 f"{shown(tmp)}") from None


class EventOutput(Protocol):
    """Where events go: a JSONL file, an MQTT broker (notify/mqtt.py), a webhook (notify/webhook.py).
    `send` is called for every frame (often with no events) and must not block."""

    def send(self, events: Sequence[Event]) -> None: ...

    def close(self) -> None: ...


class EventLines:
    """Events as JSON lines (`--events`); `extra` fields (the camera's name) go into every line."""

    def __init__(self, dest: Path | LineWriter, extra: dict[str, Any] | None = None) -> None:
        self._fh = _target(dest)
        self._extra = dict(extra or {})
        self._lock = threading.Lock()

    def send(self, events: Sequence[Event]) -> None:
        lines = "".join(json.dumps({"event": e.kind, **self._extra, **e.body}, separators=(",", ":")) + "\n"
                        for e in events if e.kind in EVENTS)
        if lines:
            with self._lock:
                if not self._fh.closed:
                    self._fh.write(lines)

    def close(self) -> None:
        with self._lock:
            self._fh.close()


class EventSink:
    """What happened (notify/events.py: appeared, left, named, unknown, reidentified; and from a
    live source stream_lost, stream_resumed, status), told to every output in the same order."""

    def __init__(self, outputs: Sequence[EventOutput], happenings: Happenings | None = None) -> None:
        self.outputs = list(outputs)
        self.happenings = happenings or Happenings()
        self._lock = threading.Lock()  # status() comes from the capture thread: one order for all outputs

    def _send(self, events: Sequence[Event]) -> None:
        for out in self.outputs:
            out.send(events)

    def status(self, event: str, info: dict[str, Any]) -> None:
        with self._lock:
            said = [self.happenings.status(event, info)]
            if event == "stream_lost":  # no frames come to say who left: everyone has (presence OFF)
                said += self.happenings.close()
            self._send(said)

    def write(self, frame: Frame, result: FrameResult) -> None:
        with self._lock:
            self._send(self.happenings.update(frame, result))

    def close(self) -> None:
        with self._lock:
            self._send(self.happenings.close())
        # Closed side by side: each may take a few seconds to send what waits (a broker, a web
        # server), and a camera must stop within its grace (cameras.STOP_GRACE_S).
        failures: list[Exception] = []

        def close(out: EventOutput) -> None:
            try:
                out.close()
            except Exception as exc:  # every output is closed; the first failure is raised after
                failures.append(exc)

        closers = [threading.Thread(target=close, args=(out,), name="close-output") for out in self.outputs]
        for t in closers:
            t.start()
        for t in closers:
            t.join()
        if failures:
            raise failures[0]
