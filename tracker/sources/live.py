"""Live sources (webcams, network streams) that never hang: reopened after drops and stalls.

A blocking OpenCV/FFmpeg call cannot be interrupted from Python, so no such call runs on the
thread that answers to Stop. Each connection is a reader thread that owns its capture and
reports to the source's capture thread (the supervisor) through an inbox. The supervisor
notices a stall (no frame for `stall_s`) by the clock, gives up on that reader (it releases its
capture whenever its blocked read returns, and nothing it reads after that is used) and starts a
new one. Stop is seen within one short poll, whatever the readers are doing.
"""

from __future__ import annotations

import datetime
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ..errors import SourceError
from ..records import Frame
from .base import Source, bgr_to_rgb

log = logging.getLogger(__name__)

OPEN_TIMEOUT_MS = 5000  # FFmpeg gives up a connection attempt after this
READ_TIMEOUT_MS = 5000  # ... and a read; the supervisor's own stall clock is shorter
RETRY_FIRST_S = 0.25  # first wait before reopening; doubles up to the source's reconnect_max_s
POLL_S = 0.05  # how often the supervisor looks at the clock and the stop flags
TRANSPORTS = ("auto", "tcp", "udp")

# OpenCV reads FFmpeg's options from this variable when a capture opens, so an open with a given
# RTSP transport holds this lock from setting it until the capture exists.
_OPTIONS_LOCK = threading.Lock()
_USER_OPTIONS = os.environ.get("OPENCV_FFMPEG_CAPTURE_OPTIONS", "")

StatusListener = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class _Msg:
    gen: int
    kind: str  # "connected", "failed", "frame", "ended"
    image: NDArray[np.uint8] | None = None
    at: float = 0.0


def _ffmpeg_options(transport: str) -> str:
    if "rtsp_transport" in _USER_OPTIONS:  # the user's own choice wins
        return _USER_OPTIONS
    return "|".join(o for o in (_USER_OPTIONS, f"rtsp_transport;{transport}") if o)


def connect(spec: str, transport: str) -> cv2.VideoCapture | None:
    """One attempt to open a webcam index or a URL; None when it cannot be opened."""
    if spec.isdigit():
        cap = cv2.VideoCapture(int(spec))
    else:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
        rtsp = spec.lower().startswith(("rtsp://", "rtsps://"))
        with _OPTIONS_LOCK:
            before = os.environ.get("OPENCV_FFMPEG_CAPTURE_OPTIONS")
            if rtsp:
                os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = _ffmpeg_options(transport)
            try:
                cap = cv2.VideoCapture(spec, cv2.CAP_FFMPEG, params)
            finally:
                if rtsp:
                    if before is None:
                        os.environ.pop("OPENCV_FFMPEG_CAPTURE_OPTIONS", None)
                    else:
                        os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = before
    if not cap.isOpened():
        cap.release()
        return None
    return cap


class _Reader:
    """One connection: opens, then reads until the stream ends or the supervisor gives up on it."""

    def __init__(self, spec: str, transports: tuple[str, ...], gen: int, inbox: queue.Queue[_Msg],
                 cap: cv2.VideoCapture | None = None) -> None:
        self.spec, self.transports, self.gen, self.inbox = spec, transports, gen, inbox
        self.abandoned = threading.Event()
        self.fps = 0.0
        self._cap = cap
        self.thread = threading.Thread(target=self._run, name=f"reader:{spec}:{gen}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        cap = self._cap
        try:
            if cap is None:
                for transport in self.transports:
                    cap = connect(self.spec, transport)
                    if cap is not None or self.abandoned.is_set():
                        break
                if cap is None:
                    self.inbox.put(_Msg(self.gen, "failed"))
                    return
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            self.fps = fps if 0 < fps < 1000 else 30.0
            self.inbox.put(_Msg(self.gen, "connected"))
            while not self.abandoned.is_set():
                ok, bgr = cap.read()
                if self.abandoned.is_set():
                    break
                if not ok or bgr is None:
                    self.inbox.put(_Msg(self.gen, "ended"))
                    return
                if self.inbox.qsize() < 4:  # the supervisor is far behind: this frame is stale anyway
                    self.inbox.put(_Msg(self.gen, "frame", bgr_to_rgb(bgr), time.monotonic()))
        except Exception as exc:
            log.debug("%s: reader error: %s", self.spec, exc)
            self.inbox.put(_Msg(self.gen, "ended"))
        finally:
            if cap is not None:
                cap.release()


class LiveSource(Source):
    """A webcam index or a network stream; reopened with backoff after a drop or a stall."""

    live = True

    def __init__(self, spec: str, queue_size: int = 2, reconnect_max_s: float = 1.0, stall_s: float = 3.0,
                 transport: str = "auto") -> None:
        super().__init__(spec, queue_size)
        if transport not in TRANSPORTS:
            raise SourceError(f"rtsp transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
        self.spec = spec
        self.reconnect_max_s = max(RETRY_FIRST_S, reconnect_max_s)
        self.stall_s = stall_s
        self.transports = ("tcp", "udp") if transport == "auto" else (transport,)
        self._inbox: queue.Queue[_Msg] = queue.Queue()
        self._reader: _Reader | None = None
        self._reader_connected = False
        self._gen = 0
        self._fps = 0.0
        self.reconnects = 0
        self.connected = False  # False while a dropped stream is being reopened
        self.status_listeners: list[StatusListener] = []

    @property
    def fps(self) -> float:
        return self._fps

    def _describe(self) -> str:
        return f"webcam {self.spec}" if self.spec.isdigit() else f"stream {self.name}"  # name: no password

    def _start_reader(self, cap: cv2.VideoCapture | None = None) -> None:
        self._gen += 1
        self._reader_connected = False
        self._reader = _Reader(self.spec, self.transports, self._gen, self._inbox, cap)

    def _abandon(self) -> None:
        if self._reader is not None:
            self._reader.abandoned.set()
            self._reader = None

    def open(self) -> None:
        """The first connection, waited for here so a wrong URL is a clear error at once; Stop
        (either flag) still ends the wait within one poll."""
        self._start_reader()
        deadline = time.monotonic() + len(self.transports) * OPEN_TIMEOUT_MS / 1000 + 2.0
        while True:
            if self.stopped:
                self._abandon()
                raise SourceError(f"{self._describe()}: stopped while connecting")
            try:
                msg = self._inbox.get(timeout=POLL_S)
            except queue.Empty:
                if time.monotonic() > deadline:
                    self._abandon()
                    raise SourceError(f"cannot open {self._describe()}: no answer") from None
                continue
            if msg.kind == "connected":
                assert self._reader is not None
                self._fps = self._reader.fps
                self._reader_connected = self.connected = True
                return
            if msg.kind == "failed":
                self._reader = None
                raise SourceError(f"cannot open {self._describe()}")
            # "ended" before "connected" cannot happen; anything else is stale.

    def _status(self, event: str, **info: Any) -> None:
        record = {"source": self.name, "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
                  **info}
        for listener in list(self.status_listeners):
            try:
                listener(event, record)
            except Exception as exc:
                log.warning("%s: cannot record %s: %s", self.name, event, exc)

    def _lost(self, reason: str) -> None:
        self.connected = False
        self._abandon()
        self.clear_queue()  # what was queued before the drop is stale now
        log.warning("%s: %s; reopening", self.name, reason)
        self._status("stream_lost", reason=reason)

    def produce(self) -> Iterator[Frame]:
        start = time.monotonic()
        index = 0
        delay = RETRY_FIRST_S
        last_frame = time.monotonic()  # the stall clock runs from the connection or the last frame
        lost_at: float | None = None
        retry_at = 0.0
        stall = max(self.stall_s, 3.0 / self._fps if self._fps > 0 else 0.0)
        open_budget = len(self.transports) * OPEN_TIMEOUT_MS / 1000
        while not self.stopped:
            now = time.monotonic()
            if self._reader is None and now >= retry_at:
                self._start_reader()
                last_frame = now
            try:
                msg = self._inbox.get(timeout=POLL_S)
            except queue.Empty:
                msg = None
            now = time.monotonic()
            if msg is None or msg.gen != self._gen:  # nothing new, or from a reader given up on
                # A connected reader owes a frame within `stall`; one still connecting gets the
                # time FFmpeg itself allows for opening.
                budget = stall if self._reader_connected else stall + open_budget
                if self._reader is not None and now - last_frame > budget:
                    if self.connected:
                        self._lost(f"stream stalled: no frame for {now - last_frame:.1f} s")
                        lost_at = now
                    else:
                        self._abandon()
                    retry_at = now
                continue
            if msg.kind == "connected":
                assert self._reader is not None
                self._fps = self._reader.fps or self._fps
                self._reader_connected = True
                last_frame = now
                delay = RETRY_FIRST_S  # reaching the server resets the backoff
            elif msg.kind == "failed":
                self._reader = None
                retry_at = now + delay
                log.debug("%s: cannot reopen; next try in %.2f s", self.name, delay)
                delay = min(delay * 2, self.reconnect_max_s)
            elif msg.kind == "ended":
                if self.connected:
                    self._lost("stream dropped")
                    lost_at = now
                self._reader = None
                retry_at = now + delay
                delay = min(delay * 2, self.reconnect_max_s)
            elif msg.kind == "frame" and msg.image is not None:
                last_frame = now
                if not self.connected:
                    self.connected = True
                    self.reconnects += 1
                    down = now - lost_at if lost_at is not None else 0.0
                    log.info("%s: stream resumed after %.1f s", self.name, down)
                    self._status("stream_resumed", down_s=round(down, 2))
                    lost_at = None
                yield Frame(msg.image, index, round(msg.at - start, 4), self.name, msg.at)
                index += 1

    def close(self) -> None:
        self._abandon()
