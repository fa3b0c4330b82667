"""The engine: a source's frames through detection, embedding and the tracker, into sinks.

Threads: the source's capture thread; a small pool for full-frame detection (dlib's HOG
releases the GIL, so it overlaps descriptor work on the other core); and the caller's thread,
which owns the tracker and the gallery.

Files: keyframes are scheduled by frame number and shot changes, and detected ahead of the
tracker; every frame is processed, in order, deterministically. Live sources: the tracker
takes the newest frame; a full-frame pass runs in the background and its boxes seed the
tracker when ready, so no frame waits for it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..config import Config
from ..detect import Detector, make_detector
from ..embed import DlibEmbedder, Embedder
from ..gallery.gallery import Gallery
from ..records import Detections, Frame, FrameResult
from ..sinks.results import Sink, StatusSink
from ..sources.base import Source
from ..sources.files import ImageSource
from ..sources.live import LiveSource
from ..track import backfill, shots
from ..track.tracker import FaceTracker
from .upkeep import GalleryUpkeep

log = logging.getLogger(__name__)

LOOKAHEAD = 12  # frames read ahead of the tracker so keyframe detection can run in parallel


@dataclass
class Summary:
    frames: int = 0
    faces: int = 0
    people: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0
    dropped: int = 0
    descriptors: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def add(self, result: FrameResult) -> None:
        self.frames += 1
        self.faces += len(result)
        for pid, name in zip(result.person_ids, result.names):
            if pid >= 0 and name is not None:
                self.people[int(pid)] = name

    def describe(self) -> str:
        names = sorted(set(self.people.values()))
        line = (f"{self.frames} frames, {self.faces} faces, {len(names)} people, "
                f"{self.fps:.1f} frames/s")
        if self.dropped:
            line += f", {self.dropped} frames dropped to stay live"
        if names:
            line += "\npeople: " + ", ".join(names)
        return line


ResultCallback = Callable[[Frame, FrameResult], None]


class Engine:
    """One tracker over any number of sources, one after another."""

    def __init__(self, cfg: Config, gallery: Gallery, detector: Detector | None = None,
                 embedder: Embedder | None = None) -> None:
        self.cfg = cfg
        self.gallery = gallery
        self.detector = detector or make_detector(cfg)
        self.embedder = embedder or DlibEmbedder(cfg.num_jitters)
        self.tracker = FaceTracker(cfg, gallery, self.detector, self.embedder)
        self.upkeep = GalleryUpkeep(gallery, self.tracker.failed_writes)  # sync and "last seen", off the tracker
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="detect")
        self._batch = cfg.embed_batch if self.detector.traits.batched else 1
        self._on_idle: Callable[[], None] | None = None
        self._skip: Callable[[Frame], bool] | None = None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, source: Source, sinks: Sequence[Sink] = (), stop: threading.Event | None = None,
            on_result: ResultCallback | None = None, summary: Summary | None = None,
            on_idle: Callable[[], None] | None = None, skip: Callable[[Frame], bool] | None = None,
            hold: int = backfill.HOLD) -> Summary:
        """Every frame of `source` through the tracker into `sinks`, until it ends or `stop` is set.

        on_idle: called about every 0.1 s while a live source sends nothing (it is down).
        skip: for a file, asked of each frame as it is read; True drops it before detection (the
        app playing a file at its own speed on a machine that cannot keep up).
        hold: a file's results are held back this many frames so that a face named a moment after
        it appeared is named in those frames too (backfill.py); 0 for none (the app: what is shown
        is what the tracker holds now). Live sources never wait."""
        summary = summary or Summary()
        stop = stop or threading.Event()
        self.tracker.end_tracks()
        source.watch(stop)
        listeners = [s.status for s in sinks if isinstance(s, StatusSink)]
        if isinstance(source, LiveSource):
            source.status_listeners.extend(listeners)
        self._on_idle = on_idle
        self._skip = skip
        source.start()
        started = time.perf_counter()
        held: backfill.Backfill[Frame] = backfill.Backfill(0 if source.live else hold)

        def emit(ready: list[tuple[Frame, FrameResult]]) -> None:
            now = time.monotonic()
            for frame, result in ready:
                for sink in sinks:
                    sink.write(frame, result)
                if on_result is not None:
                    on_result(frame, result)
                summary.add(result)
                if frame.captured_at:
                    summary.latencies.append(now - frame.captured_at)

        try:
            loop = self._run_live if source.live else self._run_file
            try:
                for frame, result in loop(source, stop, isinstance(source, ImageSource)):
                    self.upkeep.after(result)
                    emit(held.push(frame, result))
                    if stop.is_set():
                        break
            except BaseException:
                # Every frame processed is written, also when a later one failed.
                with contextlib.suppress(Exception):
                    emit(held.flush())
                raise
            emit(held.flush())  # ... and when stopped
        finally:
            source.stop()
            if isinstance(source, LiveSource):
                for listener in listeners:
                    source.status_listeners.remove(listener)
            # Pending descriptors are used now; the tracks themselves end when the next source
            # starts, so the faces of a last frame on screen can still be named.
            self.tracker.finish()
            summary.seconds += time.perf_counter() - started
            summary.dropped += source.dropped
            summary.descriptors = self.tracker.embedding.descriptors_computed
        return summary

    def _run_file(self, source: Source, stop: threading.Event, still: bool):  # type: ignore[no-untyped-def]
        every = 1 if self.detector.traits.every_frame else self.cfg.detect_every
        window: deque[tuple[Frame, bool, Future[list[Detections]] | None, int]] = deque()
        batch: list[tuple[int, Frame]] = []  # keyframes waiting to be submitted together
        cuts = shots.ShotDetector()
        since_key = every
        frames = source.frames()

        def submit() -> None:
            if not batch:
                return
            images = [f.image for _, f in batch]
            fut = self._pool.submit(self.detector.detect_batch, images)
            for pos, (slot, _) in enumerate(batch):
                frame, cut, _, _ = window[slot]
                window[slot] = (frame, cut, fut, pos)
            batch.clear()

        exhausted = False
        while not stop.is_set():
            while not exhausted and len(window) < LOOKAHEAD:
                frame = next(frames, None)
                if frame is None:
                    exhausted = True
                    break
                if self._skip is not None and self._skip(frame):
                    continue
                cut = cuts.update(frame.image) or still
                key = cut or since_key >= every
                since_key = 1 if key else since_key + 1
                window.append((frame, cut, None, -1))
                if key:
                    batch.append((len(window) - 1, frame))
                    if len(batch) >= self._batch:
                        submit()
            if exhausted or len(window) >= LOOKAHEAD:
                submit()
            if not window:
                break
            frame, cut, fut, pos = window.popleft()  # `batch` is empty here: submitted above
            dets = fut.result()[pos] if fut is not None else None
            yield frame, self.tracker.step(frame, dets, cut=cut, still=still)
        self.tracker.finish()

    def _run_live(self, source: Source, stop: threading.Event, still: bool):  # type: ignore[no-untyped-def]
        pending: Future[Detections] | None = None
        cuts = shots.ShotDetector()
        since_key = self.cfg.detect_every
        for frame in source.frames(self._on_idle):
            if stop.is_set():
                break
            cut = cuts.update(frame.image)
            if cut:
                # A new shot: every track ends here, so this frame is searched whole now (one
                # full pass of latency, on a rare frame) and its faces are boxed at once.
                pending = None
                since_key = 1
                yield frame, self.tracker.step(frame, self.detector.detect(frame.image), cut=True)
                continue
            seeds = None
            if pending is not None and pending.done():
                seeds = pending.result().boxes
                pending = None
            if pending is None and since_key >= self.cfg.detect_every:
                pending = self._pool.submit(self.detector.detect, frame.image)
                since_key = 0
            since_key += 1
            yield frame, self.tracker.step(frame, None, seeds=seeds if seeds is not None else np.zeros((0, 4)))
