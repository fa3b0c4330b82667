"""Many cameras at once on one machine: each source in its own process, all sharing one gallery.

dlib's descriptor call holds the GIL, so threads would share one core; a process per camera
uses them all. Every process opens the same gallery file (SQLite in WAL mode, safe across
processes: tracker/gallery/copy.py), so a person learned or named on one camera is known to
the others at their next frame. Each camera writes its own outputs, or its lines go to the
parent, which writes one merged JSONL / events stream with a `camera` field.

Each camera reports its status every `status_every` seconds (frames/s, frames dropped to stay
live, p95 capture-to-result latency, connected) as a log line and as a `status` event.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..errors import FacetrackError
from ..paths import setup_logging, shown
from .camera_list import Camera, is_live
from .runtime import STOP_SIGNALS, quiet_native_logs

log = logging.getLogger(__name__)

RESTART_AFTER_S = 5.0  # a camera process that died unexpectedly is started again after this
STOP_GRACE_S = 10.0  # after a stop, a camera still running this long is killed
INTERNAL = 70  # a camera process's exit code after an unexpected error (as the CLI's)


# ---------------------------------------------------------------------- in each camera's process
class PipeLines:
    """A sink's line target that hands each line to the parent, which writes the merged file.

    One pipe per camera, read only by the parent: no lock shared between cameras, so one that
    is killed mid-line cannot block the others. A full pipe (the parent behind) slows this camera
    down rather than filling memory."""

    def __init__(self, conn: Any, stream: str, stop: threading.Event, lock: threading.Lock) -> None:
        self.conn, self.stream, self.stop = conn, stream, stop
        self.lock = lock  # one per pipe: lines come from the engine, capture and status threads
        self.closed = False

    def write(self, s: str, /) -> int:
        if self.closed:
            return 0
        try:
            with self.lock:  # a send over the pipe's buffer is written in parts: never two at once
                self.conn.send((self.stream, s))
        except (OSError, EOFError):  # the parent is gone: nobody to write for
            self.closed = True
            self.stop.set()
            return 0
        return len(s)

    def close(self) -> None:
        self.closed = True


class StatusReporter(threading.Thread):
    """Every `every` seconds: this camera's fps, drops, p95 latency and connection, to the log and
    as a `status` event."""

    def __init__(self, camera: str, source: Any, summary: Any, every: float, sinks: Sequence[Any],
                 stop: threading.Event) -> None:
        super().__init__(name=f"status-{camera}", daemon=True)
        self.camera, self.source, self.summary, self.every = camera, source, summary, every
        self.sinks, self.stop = list(sinks), stop
        self._frames, self._dropped, self._at = 0, 0, time.monotonic()
        self._lock = threading.Lock()  # the last report (after the run) may meet a timed one

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.report()

    def report(self) -> dict[str, Any]:
        with self._lock:
            return self._report()

    def _report(self) -> dict[str, Any]:
        now = time.monotonic()
        frames, lat = self.summary.frames, self.summary.latencies
        # A live frame's latency is recorded with it: the newest (frames since last time) entries.
        fresh = min(frames - self._frames, len(lat))
        new = list(lat)[-fresh:] if fresh > 0 else []
        dropped = int(getattr(self.source, "dropped", 0))
        info = {
            "time": round(time.time(), 3),
            "source": str(getattr(self.source, "name", "")),
            "pid": os.getpid(),
            "fps": round((frames - self._frames) / max(now - self._at, 1e-9), 2),
            "frames": frames,
            "dropped": dropped - self._dropped,
            "dropped_total": dropped,
            "latency_p95_ms": round(float(np.percentile(new, 95)) * 1000, 1) if new else None,
            "connected": bool(getattr(self.source, "connected", True)),
        }
        self._frames, self._dropped, self._at = frames, dropped, now
        p95 = "-" if info["latency_p95_ms"] is None else f"{info['latency_p95_ms']:.0f} ms"
        log.info("status: %.1f frames/s, %d dropped, p95 latency %s, %s", info["fps"], info["dropped"], p95,
                 "connected" if info["connected"] else "NOT connected")
        for sink in self.sinks:
            sink.status("status", info)
        return info


def camera_main(camera: Camera, cfg: Config, stop_all: Any, lines: Any, merged: tuple[bool, bool],
                status_every: float, level: int, parent: int, restarts: int = 0) -> None:
    """One camera's process: its own engine over the shared gallery, until its source ends or
    the parent says stop. Exits 0, 1 (a clear error, already logged) or 70 (an internal error)."""
    # Ctrl+C reaches the whole process group, and a service manager's SIGTERM may too: the
    # parent decides, and stops every camera through `stop_all`.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    setup_logging(level, f"facetrack [{shown(camera.name).replace('%', '%%')}]: %(message)s")

    quiet_native_logs(level <= logging.DEBUG)
    stop = threading.Event()

    def follow() -> None:
        # The parent's stop as this process's own. A shared byte polled, not a multiprocessing
        # Event waited on: a process that exits while waiting on one leaves its condition
        # counting a sleeper that never wakes, and the parent's set() then blocks forever.
        while not stop.is_set():
            if stop_all.value or os.getppid() != parent:  # told to, or the parent is gone (killed)
                stop.set()
            time.sleep(0.1)

    threading.Thread(target=follow, daemon=True).start()
    code = run_camera_code(camera, cfg, stop, lines, merged, status_every, restarts)
    stop.set()
    sys.stdout.flush()
    sys.exit(code)


def run_camera_code(camera: Camera, cfg: Config, stop: threading.Event, lines: Any, merged: tuple[bool, bool],
                    status_every: float, restarts: int = 0) -> int:
    """A camera run to its end, as an exit code (a process's or a Ray actor's): 0, 1 after a
    clear error (logged), INTERNAL after an unexpected one."""
    try:
        return _run_camera(camera, cfg, stop, lines, merged, status_every, restarts)
    except FacetrackError as exc:
        if stop.is_set():  # told to stop while connecting: that is no failure
            log.info("stopped: %s", exc)
            return 0
        log.error("error: %s", exc)
        return 1
    except Exception as exc:
        log.error("internal error: %s: %s", type(exc).__name__, exc)
        return INTERNAL


def _own_outputs(camera: Camera, restarts: int) -> tuple[Any, Any, Path | None]:
    """A camera's own JSONL and events files, and its video path. A restarted camera goes on
    where it was: its text outputs are appended to, and its video continues in a numbered file
    (door.mp4, door-restart1.mp4, ...), so nothing it wrote before is lost."""
    from ..sinks.outputs import LineFile

    def text(path: Path | None) -> Any:
        return None if path is None else LineFile(path, append=restarts > 0)

    video = camera.output_video
    if video is not None and restarts:
        video = video.with_name(f"{video.stem}-restart{restarts}{video.suffix}")
    return text(camera.output_json), text(camera.events), video


def _run_camera(camera: Camera, cfg: Config, stop: threading.Event, lines: Any, merged: tuple[bool, bool],
                status_every: float, restarts: int = 0) -> int:
    from ..gallery.gallery import Gallery
    from ..sinks.notify import wiring as notify
    from ..sinks.results import EventLines, EventOutput, EventSink, JsonlSink, Sink, VideoSink, close_all
    from ..sources import source_for
    from .pipeline import Engine, Summary

    tag = {"camera": camera.name}
    source = source_for(camera.source, cfg)
    source.watch(stop)
    source.ensure_open()  # exit 1 if not: a file fails for good; a live camera is tried again
    sinks: list[Sink] = []
    summary = Summary()
    with Gallery(cfg.gallery) as gallery, Engine(cfg, gallery) as engine:
        try:
            own_json, own_events, own_video = _own_outputs(camera, restarts)
            if own_json is not None:
                sinks.append(JsonlSink(own_json, extra=tag))
            if own_video is not None:
                sinks.append(VideoSink(own_video, source.fps or 30.0))
            pipe_lock = threading.Lock()
            if merged[0]:
                sinks.append(JsonlSink(PipeLines(lines, "json", stop, pipe_lock), extra=tag))
            files: list[EventOutput] = []
            if own_events is not None:
                files.append(EventLines(own_events, extra=tag))
            if merged[1]:
                files.append(EventLines(PipeLines(lines, "events", stop, pipe_lock), extra=tag))
            # The camera's own MQTT connection, whose last will marks this camera offline should
            # its process die; not checked here (the parent did), so a broker that is down now
            # only delays the messages.
            link = notify.open_link(cfg, camera.name, notify.camera_will(cfg, camera.name), check=False)
            events = notify.event_sink(cfg, camera.name, gallery, files, link, own_link=True)
            if events is not None:
                sinks.append(events)
            reporter = StatusReporter(camera.name, source, summary, status_every,
                                      [s for s in sinks if isinstance(s, EventSink)], stop)
            reporter.start()
            try:
                engine.run(source, sinks, stop, summary=summary)
            except FacetrackError as exc:
                # Once running, a camera should keep running: the parent starts it again.
                log.error("error: %s", exc)
                return INTERNAL
            reporter.report()  # the last figures, also for a short file
        finally:
            stop.set()
            close_all(sinks)
    print(f"{camera.name}: {summary.describe()}", flush=True)
    return 0


# ---------------------------------------------------------------------- the parent
@dataclass
class _Running:
    camera: Camera
    process: Any
    reader: Any  # this camera's merged lines, or None
    restarts: int = 0
    done: bool = False  # its exit has been dealt with
    restart_at: float | None = None  # ended unexpectedly: when to start it again


def run_cameras(cameras: Sequence[Camera], cfg: Config, stop: threading.Event,
                merged_json: Path | None = None, merged_events: Path | None = None,
                status_every: float = 10.0, level: int = logging.INFO,
                on_tick: Callable[[], None] | None = None) -> int:
    """Run every camera at once until all have ended or `stop` is set. A camera process that dies
    unexpectedly (an internal error, killed) is started again after RESTART_AFTER_S; one that
    ends with a clear error (its line is logged) is not. Raises FacetrackError naming the failed
    cameras, if any, once all have ended."""
    from ..sinks.outputs import LineFile

    ctx = mp.get_context("spawn")  # never fork a process that holds threads and dlib's state
    stop_all = ctx.RawValue("b", 0)  # set to 1: every camera stops (see camera_main)
    merged = (merged_json is not None, merged_events is not None)
    outs = {"json": LineFile(merged_json, stop=stop) if merged_json else None,
            "events": LineFile(merged_events, stop=stop) if merged_events else None}

    def start(cam: Camera, restarts: int = 0) -> _Running:
        reader, writer = ctx.Pipe(duplex=False) if any(merged) else (None, None)
        p = ctx.Process(target=camera_main, name=f"camera-{cam.name}",
                        args=(cam, cfg, stop_all, writer, merged, status_every, level, os.getpid(), restarts))
        # Ignored signals are inherited by the new interpreter, so a Ctrl+C while it is still
        # importing cannot end it with a traceback (camera_main then keeps them ignored).
        handlers = _ignore_stop_signals()
        try:
            p.start()
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        if writer is not None:
            writer.close()  # the child's end: EOF on the reader once the child is gone
        return _Running(cam, p, reader, restarts)

    running = [start(c) for c in cameras]
    log.info("%d camera(s) running, one process each: %s", len(running), ", ".join(c.name for c in cameras))
    failed: list[str] = []
    stopping_since: float | None = None
    try:
        while True:
            if stop.is_set():
                stop_all.value = 1
                stopping_since = stopping_since or time.monotonic()
                if time.monotonic() - stopping_since > STOP_GRACE_S:
                    log.warning("a camera did not stop within %.0f s; ending it", STOP_GRACE_S)
                    break  # the finally below kills what is left
            _drain(running, outs, 0.2)
            if on_tick is not None:
                on_tick()
            for i, r in enumerate(running):
                if r.process.is_alive() or r.done:
                    continue
                if r.restart_at is not None:
                    if stop_all.value:
                        r.done = True
                    elif time.monotonic() >= r.restart_at:
                        log.info("camera %s: starting again (restart %d)", r.camera.name, r.restarts + 1)
                        running[i] = start(r.camera, r.restarts + 1)
                    continue
                _drain([r], outs, 0.0)  # what it wrote before it ended
                code = r.process.exitcode
                if stop_all.value or code == 0 or (code == 1 and not is_live(r.camera.source)):
                    r.done = True
                    if code == 1 and not stop.is_set():
                        failed.append(r.camera.name)
                    continue
                if code == 1:  # a live camera that did not answer (down, rebooting): try it again
                    log.warning("camera %s: cannot open it; trying again in %.0f s", r.camera.name,
                                RESTART_AFTER_S)
                else:
                    why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                    log.warning("camera %s stopped unexpectedly (%s); starting it again in %.0f s",
                                r.camera.name, why, RESTART_AFTER_S)
                r.restart_at = time.monotonic() + RESTART_AFTER_S
            if all(r.done for r in running):
                break
    finally:
        stop_all.value = 1
        for r in running:
            r.process.join(timeout=max(0.1, STOP_GRACE_S - (time.monotonic() - (stopping_since or time.monotonic()))))
            if r.process.is_alive():
                r.process.kill()  # cameras ignore SIGTERM (their parent decides), so terminate() would not do
                r.process.join(timeout=5)
        _drain(running, outs, 0.0)
        for fh in outs.values():
            if fh is not None:
                fh.close()
    if failed:
        raise FacetrackError(f"{len(failed)} of {len(cameras)} camera(s) failed: {', '.join(failed)} (see above)")
    return 0


def _ignore_stop_signals() -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}  # signals can be set only from the main thread; callers elsewhere keep theirs
    return {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}


def _drain(running: Sequence[_Running], outs: dict[str, Any], wait: float) -> None:
    """Write the cameras' merged lines that have arrived (waiting up to `wait` for any)."""
    readers = [r.reader for r in running if r.reader is not None and not r.reader.closed]
    if not readers:
        if wait:
            time.sleep(wait)
        return
    for ready in mp.connection.wait(readers, timeout=wait):
        conn: Any = ready
        try:
            while conn.poll():
                stream, text = conn.recv()
                fh = outs.get(stream)
                if fh is not None:
                    fh.write(text)
        except (EOFError, OSError):
            conn.close()  # that camera has ended
        except Exception as exc:  # a garbled message: that camera's merged lines stop, the rest go on
            log.error("lost the merged output of a camera (%s: %s)", type(exc).__name__, exc)
            conn.close()
