"""Offline analysis of whole recordings: who appears when.

Pass 1 (here) tracks faces through every input with a scratch gallery in memory (the user's is
only read), and keeps every track's descriptors, where it was in each frame, and which tracks
shared a frame; a long video may be cut into pieces tracked apart (on a Ray cluster too).
Pass 2 (pass2.py) clusters the tracks (tracker/identity/clustering.py): a track's faces are one
person; two tracks in one frame are two people. Clusters are matched to the gallery's people by
k-NN over their inventories; the rest become new automatic identities ("Person N", numbered
after the gallery's).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..config import Config
from ..gallery.gallery import Gallery
from ..identity.track_state import TrackSample
from ..records import Frame, FrameResult
from ..sources.base import Source
from ..sources.files import ImageSource, VideoFileSource
from .pipeline import Engine


@dataclass
class TrackLog:
    """One track as pass 1 saw it."""

    id: int
    source: str
    samples: list[TrackSample] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)  # index into Pass1.results


@dataclass
class Pass1:
    results: list[FrameResult] = field(default_factory=list)
    tracks: dict[int, TrackLog] = field(default_factory=dict)
    cannot: set[tuple[int, int]] = field(default_factory=set)  # track ids seen in one frame
    sources: list[str] = field(default_factory=list)
    fps: dict[str, float] = field(default_factory=dict)  # 0 for photos
    incomplete: list[str] = field(default_factory=list)  # why a video ended early (truncated, corrupt)


class _Collector:
    """The tracker's SampleObserver and the engine's result callback, in one."""

    def __init__(self, out: Pass1) -> None:
        self.out = out
        self._source = ""

    def _track(self, tid: int) -> TrackLog:
        if tid not in self.out.tracks:
            self.out.tracks[tid] = TrackLog(tid, self._source)
        return self.out.tracks[tid]

    def sample(self, track_id: int, sample: TrackSample) -> None:
        self._track(track_id).samples.append(sample)

    def split(self, old_id: int, new_id: int, moved: int) -> None:
        old, new = self._track(old_id), self._track(new_id)
        if moved:
            new.samples[:0] = old.samples[-moved:]
            del old.samples[-moved:]

    def result(self, frame: Frame, result: FrameResult) -> None:
        self._source = result.source
        pos = len(self.out.results)
        self.out.results.append(result)
        ids = [int(t) for t in result.track_ids]
        for tid in ids:
            t = self._track(tid)
            t.source = result.source
            t.frames.append(pos)
        # Two faces the detector found in one frame are two people. A face only followed by
        # correlation may be a ghost of a hidden face (it drifts onto whoever passed in front),
        # so it proves nothing.
        found = [tid for tid, det in zip(ids, result.detected if len(result.detected) else [True] * len(ids)) if det]
        for i, a in enumerate(found):
            for b in found[i + 1:]:
                self.out.cannot.add((min(a, b), max(a, b)))


def track_all(cfg: Config, sources: Sequence[Source], stop: threading.Event | None = None,
              on_frame: Callable[[Frame], None] | None = None) -> Pass1:
    """Pass 1 over every source, one after another, with a scratch gallery: nothing of the user's
    changes. Each source is tracked on its own (a fresh tracker and scratch gallery), so the
    result is the same whether the sources are tracked here or spread over a Ray cluster
    (tracker/engine/distributed.py)."""
    return _in_turn([functools.partial(track_source, cfg, s, stop, on_frame) for s in sources], stop)


def _in_turn(tasks: Sequence[Callable[[], Pass1]], stop: threading.Event | None) -> Pass1:
    """Pass-1 tasks one after another, merged; a stop ends after the task it came in."""
    parts = []
    for task in tasks:
        parts.append(task())
        if stop is not None and stop.is_set():
            break
    return merge_passes(parts)


def track_source(cfg: Config, source: Source, stop: threading.Event | None = None,
                 on_frame: Callable[[Frame], None] | None = None) -> Pass1:
    """Pass 1 over one source, with its own tracker and scratch gallery."""
    out = Pass1()
    collector = _Collector(out)
    # The scratch tracker's own identity decisions ("new automatic identity Person 1") are not
    # the analysis's: they stay out of the log.
    quiet = [logging.getLogger(n) for n in ("tracker.identity.resolver", "tracker.track.tracker")]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(max(q.getEffectiveLevel(), logging.WARNING))
    try:
        # The scratch gallery lives in memory (gallery/memory.py): no file, no SQL.
        with Gallery.in_memory() as scratch, Engine(cfg, scratch) as eng:
            eng.tracker.observer = collector
            out.sources.append(source.name)
            out.fps[source.name] = 0.0 if isinstance(source, ImageSource) else (source.fps or 30.0)
            collector._source = source.name

            def on_result(frame: Frame, result: FrameResult) -> None:
                collector.result(frame, result)
                if on_frame is not None:
                    on_frame(frame)

            eng.run(source, (), stop, on_result=on_result)
            if source.incomplete:
                out.incomplete.append(source.incomplete)
            eng.tracker.end_tracks()
            eng.tracker.observer = None
    finally:
        for q, level in zip(quiet, levels):
            q.setLevel(level)
    return out


@dataclass(frozen=True)
class Piece:
    """What one pass-1 task tracks: a whole recording, or frames [start, end) of a long video."""

    spec: str
    start: int = 0
    end: int | None = None


def plan(sources: Sequence[Source], segment_s: float) -> list[Piece]:
    """Pass 1's tasks for opened `sources`: a video longer than `segment_s` seconds is cut into
    segments of that length (0: never), so several workers can share one long recording. The same
    plan runs here or on Ray, so both give the same result; a face on screen across a cut is two
    tracks there, which the clustering joins like any two tracks of one person."""
    out: list[Piece] = []
    for s in sources:
        total, fps = s.total, s.fps
        if not isinstance(s, VideoFileSource) or segment_s <= 0 or not total or fps <= 0:
            out.append(Piece(s.spec))
            continue
        step = max(1, round(segment_s * fps))
        if total <= step:
            out.append(Piece(s.spec))
            continue
        out += [Piece(s.spec, a, min(a + step, total) if a + step < total else None) for a in range(0, total, step)]
    return out


def track_piece(cfg: Config, piece: Piece, stop: threading.Event | None = None,
                on_frame: Callable[[Frame], None] | None = None) -> Pass1:
    """Pass 1 over one piece (opened here: on a Ray worker, the file is opened there)."""
    from ..errors import SourceError
    from ..sources import source_for

    source = source_for(piece.spec, cfg, piece.start, piece.end)
    try:
        source.ensure_open()
    except SourceError:
        if piece.start == 0:
            raise
        # A header that promised more frames than the file has: the segments past its real end
        # hold nothing (the first segment decoded, so the file itself is fine).
        logging.getLogger(__name__).warning("%s: nothing from frame %d on (its header announced more frames)",
                                            piece.spec, piece.start)
        return Pass1(sources=[source.name])
    return track_source(cfg, source, stop, on_frame)


def track_pieces(cfg: Config, pieces: Sequence[Piece], stop: threading.Event | None = None,
                 on_frame: Callable[[Frame], None] | None = None) -> Pass1:
    """Pass 1 over a plan, one piece after another, on this machine."""
    return _in_turn([functools.partial(track_piece, cfg, p, stop, on_frame) for p in pieces], stop)


def merge_passes(parts: Sequence[Pass1]) -> Pass1:
    """Pass-1 results of several sources as one, in the order given: each part's track ids are
    moved past the previous parts' (every part numbers its tracks from 1)."""
    out = Pass1()
    for part in parts:
        shift = max(out.tracks, default=0)
        base = len(out.results)
        for r in part.results:
            ids = np.asarray(r.track_ids) + shift if len(r.track_ids) else r.track_ids
            out.results.append(dataclasses.replace(r, track_ids=ids))
        for tid, t in part.tracks.items():
            out.tracks[tid + shift] = TrackLog(tid + shift, t.source, t.samples, [base + f for f in t.frames])
        out.cannot |= {(a + shift, b + shift) for a, b in part.cannot}
        out.sources += [s for s in part.sources if s not in out.sources]  # segments of one file: once
        out.fps.update(part.fps)
        out.incomplete += [why for why in part.incomplete if why not in out.incomplete]
    return out


