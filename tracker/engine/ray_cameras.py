"""Many cameras over a Ray cluster: `run --ray [ADDRESS]`, one actor per camera, placed by Ray.

The same camera loop as `run --parallel` (tracker/engine/cameras.py: its engine, own outputs, status
events, restarts), in a Ray actor instead of a local process. Each actor takes one CPU. Its
merged lines (JSONL, events) wait in the actor until this driver polls for them and writes
the one merged stream here; own output files are written where the actor runs.

The gallery is shared as with --parallel. On a cluster of several machines that must be a
gallery they all reach, a PostgreSQL one (`--gallery postgresql://...`): an SQLite file would be
a separate gallery on each machine, so that is refused. Without an address, a local Ray
instance runs on this machine (all its cores, or --ray-cpus).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..config import Config, DatabaseURL
from ..errors import FacetrackError
from ..paths import setup_logging, shown
from .camera_list import Camera, is_live
from .cameras import INTERNAL, RESTART_AFTER_S, STOP_GRACE_S, run_camera_code

log = logging.getLogger(__name__)

LINES_KEPT = 20_000  # merged lines an actor holds for the driver; a camera past this waits
LINES_WAIT_S = 30.0  # ...at most this long: a driver that stopped collecting gets no more lines


class LineBuffer:
    """Where a camera actor's merged lines wait for the driver (cameras.PipeLines' connection).
    Full (the driver behind), it slows the camera down rather than filling memory. Lines written
    while the camera stops (everyone still present "left", the last status) still go: the driver
    collects until the actor says it has ended."""

    def __init__(self, limit: int = LINES_KEPT) -> None:
        self._q: queue.Queue[tuple[str, str]] = queue.Queue(limit)
        self.dropped = 0

    def send(self, item: tuple[str, str]) -> None:
        try:
            self._q.put(item, timeout=LINES_WAIT_S)
        except queue.Full:
            # The driver is far behind (or stuck): this line is lost, the camera goes on (a
            # driver that is gone takes its actors with it).
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                log.warning("the driver has not collected this camera's lines for %.0f s; %d line(s) lost",
                            LINES_WAIT_S, self.dropped)

    def take(self) -> list[tuple[str, str]]:
        out = []
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out


class _Errors(logging.Handler):
    """A camera's error lines, kept for the driver to say (Ray forwards a worker's own output
    late or not at all when the actor ends at once, as one whose gallery cannot open does)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


class CameraActor:
    """One camera, run on a thread of a Ray actor until it ends or is halted."""

    def __init__(self, camera: Camera, cfg: Config, merged: tuple[bool, bool], status_every: float, level: int,
                 restarts: int) -> None:
        setup_logging(level, f"facetrack [{shown(camera.name).replace('%', '%%')}]: %(message)s")
        for handler in logging.getLogger().handlers:  # errors reach the driver through poll(), said once
            handler.addFilter(lambda record: record.levelno < logging.ERROR)
        self.errors = _Errors()
        logging.getLogger().addHandler(self.errors)
        self.camera = camera
        self.stop = threading.Event()
        self.lines = LineBuffer()
        self.code: int | None = None
        self.thread = threading.Thread(target=self._body, args=(cfg, merged, status_every, restarts),
                                       name=f"camera-{camera.name}", daemon=True)
        self.thread.start()

    def _body(self, cfg: Config, merged: tuple[bool, bool], status_every: float, restarts: int) -> None:
        code = INTERNAL  # also if something escapes as a BaseException: the driver must see an end
        try:
            code = run_camera_code(self.camera, cfg, self.stop, self.lines, merged, status_every, restarts)
        finally:
            self.stop.set()
            self.code = code

    def poll(self) -> tuple[list[tuple[str, str]], int | None, list[str]]:
        """The merged lines since the last poll, the exit code once the camera has ended, and the
        error lines it logged since."""
        ended = not self.thread.is_alive()
        errors, self.errors.lines = self.errors.lines, []
        return self.lines.take(), (self.code if ended else None), errors

    def halt(self) -> None:
        self.stop.set()


@dataclass
class _Actor:
    camera: Camera
    handle: Any
    restarts: int = 0
    poll: Any = None  # the poll in flight
    done: bool = False
    restart_at: float | None = None


def _absolute(cam: Camera) -> Camera:
    """A camera as a worker on another machine must see it: file paths absolute."""
    def abs_path(p: Path | None) -> Path | None:
        return None if p is None else p.expanduser().resolve()

    source = cam.source if is_live(cam.source) else str(Path(cam.source).expanduser().resolve())
    return replace(cam, source=source, output_json=abs_path(cam.output_json), events=abs_path(cam.events),
                   output_video=abs_path(cam.output_video))


def run_cameras_ray(cameras: Sequence[Camera], cfg: Config, stop: threading.Event, address: str | None,
                    num_cpus: int | None = None, merged_json: Path | None = None,
                    merged_events: Path | None = None, status_every: float = 10.0, level: int = logging.INFO,
                    on_tick: Callable[[], None] | None = None) -> int:
    """Every camera as a Ray actor until all have ended or `stop` is set, restarted as
    cameras.run_cameras restarts its processes (an actor lost with its machine too)."""
    from ..sinks.outputs import LineFile
    from .distributed import connect

    ray, local = connect(address, num_cpus, log_to_driver=True)  # the cameras' status lines, here
    merged = (merged_json is not None, merged_events is not None)
    outs = {"json": LineFile(merged_json, stop=stop) if merged_json else None,
            "events": LineFile(merged_events, stop=stop) if merged_events else None}
    try:
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        if len(nodes) > 1 and not isinstance(cfg.gallery, DatabaseURL):
            raise FacetrackError(f"run --ray on {len(nodes)} machines needs a gallery they all reach: "
                                 "--gallery postgresql://user@host/db (an SQLite file would be one per machine)")
        if not local:
            cameras = [_absolute(c) for c in cameras]
        if isinstance(cfg.gallery, Path):  # the same file whatever folder a worker starts in
            cfg = replace(cfg, gallery=cfg.gallery.expanduser().resolve())
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if cpus < len(cameras):
            log.warning("Ray: %d cameras but %d CPU(s) in the cluster; a camera needs one, so %d wait for a free "
                        "CPU (a file's camera frees its CPU when it ends)", len(cameras), cpus, len(cameras) - cpus)
        remote = ray.remote(num_cpus=1)(CameraActor)

        def start(cam: Camera, restarts: int = 0) -> _Actor:
            return _Actor(cam, remote.remote(cam, cfg, merged, status_every, level, restarts), restarts)

        actors = [start(c) for c in cameras]
        log.info("Ray: %d camera(s), one actor each, on %d machine(s): %s", len(actors), len(nodes),
                 ", ".join(c.name for c in cameras))
        return _supervise(ray, actors, start, outs, stop, on_tick, len(cameras))
    finally:
        for fh in outs.values():
            if fh is not None:
                fh.close()
        ray.shutdown()


def _supervise(ray: Any, actors: list[_Actor], start: Callable[[Camera, int], _Actor], outs: dict[str, Any],
               stop: threading.Event, on_tick: Callable[[], None] | None, total: int) -> int:
    failed: list[str] = []
    halted_at: float | None = None
    try:
        while not all(a.done for a in actors):
            if stop.is_set() and halted_at is None:
                halted_at = time.monotonic()
                for a in actors:
                    if not a.done and a.restart_at is None:
                        a.handle.halt.remote()
            if halted_at is not None and time.monotonic() - halted_at > STOP_GRACE_S:
                log.warning("a camera did not stop within %.0f s; ending it", STOP_GRACE_S)
                break
            for i, a in enumerate(actors):
                if a.restart_at is not None and not a.done:
                    if halted_at is not None:
                        a.done = True
                    elif time.monotonic() >= a.restart_at:
                        log.info("camera %s: starting again (restart %d)", a.camera.name, a.restarts + 1)
                        actors[i] = start(a.camera, a.restarts + 1)
            live = [a for a in actors if not a.done and a.restart_at is None]
            for a in live:
                if a.poll is None:
                    a.poll = a.handle.poll.remote()
            ready, _ = ray.wait([a.poll for a in live], num_returns=len(live), timeout=0.2) if live else ([], [])
            if not live:
                time.sleep(0.2)
            for a in live:
                if a.poll in ready:
                    _collect(ray, a, outs, halted_at is not None, failed)
            if on_tick is not None:
                on_tick()
    finally:
        for a in actors:
            _release(ray, a)
    if failed:
        raise FacetrackError(f"{len(failed)} of {total} camera(s) failed: {', '.join(failed)} (see above)")
    return 0


def _collect(ray: Any, a: _Actor, outs: dict[str, Any], stopping: bool, failed: list[str]) -> None:
    """One actor's poll: its merged lines written, its end dealt with (done, failed or restart)."""
    ref, a.poll = a.poll, None
    try:
        lines, code, errors = ray.get(ref)
    except Exception as exc:  # RayActorError: the actor died (killed, its machine gone)
        lines, code, errors = [], None, []
        _release(ray, a)
        why = getattr(exc, "cause", None) or type(exc).__name__
        if stopping:
            a.done = True
        else:
            log.warning("camera %s stopped unexpectedly (%s); starting it again in %.0f s", a.camera.name, why,
                        RESTART_AFTER_S)
            a.restart_at = time.monotonic() + RESTART_AFTER_S
    for text in errors:
        log.error("camera %s: %s", a.camera.name, text)
    for stream, text in lines:
        fh = outs.get(stream)
        if fh is not None:
            fh.write(text)
    if code is None:
        return
    _release(ray, a)  # its CPU, for a camera waiting for one or its own restart
    if stopping or code == 0 or (code == 1 and not is_live(a.camera.source)):
        a.done = True
        if code == 1 and not stopping:
            failed.append(a.camera.name)
        return
    if code == 1:
        log.warning("camera %s: cannot open it; trying again in %.0f s", a.camera.name, RESTART_AFTER_S)
    else:
        log.warning("camera %s stopped unexpectedly (exit code %d); starting it again in %.0f s", a.camera.name,
                    code, RESTART_AFTER_S)
    a.restart_at = time.monotonic() + RESTART_AFTER_S


def _release(ray: Any, a: _Actor) -> None:
    """End an actor whose camera has ended (or died): its CPU goes back to the cluster."""
    try:
        ray.kill(a.handle)
    except Exception:  # already gone with its machine
        pass
