"""The face tracker: short-term tracks with stable ids, and identities decided by votes.

Per frame:
1. predict each track's box from its velocity;
2. take full-frame detections (keyframes) and re-find tracked faces in small regions;
3. associate boxes to tracks by IoU with the Hungarian method;
4. follow a track the detector lost with a correlation tracker for a short while;
5. embed new tracks at once and known ones on a schedule, all chips in one call;
6. decide who each track is from its recent samples (resolve.py): by distance to people's
   inventories with a margin, under must-link and cannot-link constraints, one person per face;
   a track nobody matches founds an automatic identity, whose inventory grows as it is seen.

All state lives here, on one thread.
"""

from __future__ import annotations

import logging
import math
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from .. import geometry, quality
from ..config import Config
from ..detect import Detector, detect_regions, from_dlib_rect, to_dlib_rect
from ..embed import Embedder
from ..errors import GalleryError
from ..gallery.failed_writes import FailedWrites
from ..gallery.gallery import Gallery
from ..identity.corrections import Corrections
from ..identity.resolver import IdentityResolver
from ..identity.track_state import TrackSample
from ..models import dlib
from ..records import Detections, Frame, FrameResult
from .embedding import EmbeddingSchedule
from .tracks import Track, associate

log = logging.getLogger(__name__)

NEW_TRACK_MAX_IOU = 0.3  # a detection overlapping a live track this much is not a new face
MIN_PSR = 7.0  # correlation tracker confidence under which a lost face is dropped
PREDICT_COAST = 3  # frames a lost face of nobody known yet is carried on by its velocity alone


class SampleObserver(Protocol):
    """Sees every descriptor a track gets (offline analysis keeps them all)."""

    def sample(self, track_id: int, sample: TrackSample) -> None: ...

    def split(self, old_id: int, new_id: int, moved: int) -> None:
        """A swap: the last `moved` samples of `old_id` belong to the new track `new_id`."""


class FaceTracker:
    def __init__(self, cfg: Config, gallery: Gallery, detector: Detector, embedder: Embedder) -> None:
        self.cfg = cfg
        self.gallery = gallery
        self.detector = detector
        self.embedder = embedder
        self.tracks: dict[int, Track] = {}
        self.identities = IdentityResolver(cfg, gallery)
        self._next_id = 1
        self.embedding = EmbeddingSchedule(cfg, gallery, detector, embedder)  # which faces get a descriptor, when
        self._still = False
        self.failed_writes = FailedWrites()  # the resolver's own writes that failed: logged, not raised
        self.observer: SampleObserver | None = None
        # The user's corrections (name, "not", merge, undo...): identity/corrections.py.
        self.corrections = Corrections(gallery, self.identities, lambda: list(self.tracks))

    # ------------------------------------------------------------------ public
    def step(self, frame: Frame, detections: Detections | None = None, *,
             seeds: NDArray[np.float64] | None = None, cut: bool = False, still: bool = False) -> FrameResult:
        """Advance by one frame.

        detections: full-frame detections of this frame (keyframes), else None and tracked
            faces are re-found in regions around them.
        seeds: boxes where a face was found in an earlier frame (a live source's
            asynchronous full-frame pass); searched in this frame as regions.
        cut: a shot change: every track ends here.
        still: an unrelated photo: one descriptor is enough to decide.
        """
        image = frame.image
        self._still = still
        if cut or still or frame.source != self.identities.source:
            self.end_tracks()
        self.identities.source = frame.source
        live = list(self.tracks.values())
        preds = np.array([t.predict(frame.index) for t in live]).reshape(-1, 4)
        for t in live:
            t.detected_now = False

        if detections is None:
            dets = detect_regions(self.detector, image, preds) if len(live) else Detections()
            matched_t, matched_d = associate(preds, dets.boxes)
        else:
            dets = detections
            matched_t, matched_d = associate(preds, dets.boxes)
            lost = [i for i in range(len(live)) if i not in set(matched_t)]
            if lost:  # the full-frame pass can miss a face the tracked region still finds
                extra = detect_regions(self.detector, image, preds[lost])
                fresh = _apart(extra.boxes, dets.boxes)
                if fresh.any():
                    dets = Detections.concat([dets, extra.select(fresh)])
                    matched_t, matched_d = associate(preds, dets.boxes)

        if seeds is not None and len(seeds):
            known_boxes = np.concatenate([preds, dets.boxes]) if len(dets) else preds
            fresh_seeds = geometry.as_boxes(seeds)[_apart(seeds, known_boxes)]
            if len(fresh_seeds):
                dets = Detections.concat([dets, detect_regions(self.detector, image, fresh_seeds)])

        matched = set(matched_t)
        for ti, di in zip(matched_t, matched_d):
            live[ti].detected(dets, di, frame)
        for ti, t in enumerate(live):
            if ti not in matched:
                self._coast(t, frame)

        used = set(matched_d)
        current = [t.box for t in self.tracks.values()]
        # A region search re-finds tracked faces down to a lower score than a new face needs.
        least = self.detector.traits.score_range[0]
        for di in range(len(dets)):
            if di in used or dets.scores[di] < least:
                continue
            box = dets.boxes[di]
            if current and geometry.iou_matrix(box[None], np.array(current)).max() > NEW_TRACK_MAX_IOU:
                continue
            t = self._new_track(dets, di, frame)
            current.append(t.box)

        self.embedding.schedule(frame, list(self.tracks.values()), self.identities)
        self._flush_embeddings(frame.index, force=False)
        return self.redecide(frame)

    def finish(self) -> None:
        """Embed whatever still waits for a fuller batch (end of a file)."""
        self._flush_embeddings(10**12, force=True)

    def end_tracks(self) -> None:
        """End every track (a shot change, a new source); identities live on in the gallery."""
        self.finish()
        self.tracks.clear()
        self.identities.end_all()

    # ------------------------------------------------------------------ motion
    def _coast(self, t: Track, frame: Frame) -> None:
        if frame.index - t.last_detected > self.cfg.coast_frames or t.detected_image is None:
            self._drop(t)
            return
        t.disrupted = True  # the detector lost the face: what it finds next may be someone else
        if t.follower is None and not self._worth_following(t):
            # Nobody known yet: the box moves on by its velocity for a few frames (the face may
            # be re-found), then the track ends. dlib's correlation tracker costs ~3 ms a frame.
            if frame.index - t.last_detected > PREDICT_COAST:
                self._drop(t)
            else:
                self._move(t, t.predict(frame.index), frame)
            return
        if t.follower is None:
            t.follower = dlib().correlation_tracker()
            t.follower.start_track(t.detected_image, to_dlib_rect(t.box))
        psr = float(t.follower.update(frame.image))
        if psr < MIN_PSR:
            self._drop(t)
            return
        self._move(t, np.asarray(from_dlib_rect(t.follower.get_position())), frame, track_velocity=True)

    def _move(self, t: Track, box: NDArray[np.float64], frame: Frame, track_velocity: bool = False) -> None:
        if not t.move_to(box, frame, track_velocity):
            self._drop(t)

    def _worth_following(self, t: Track) -> bool:
        """A lost face is followed by correlation (through a turned head, a hand before it) when
        its track holds a person: keeping the track keeps the name. Others end sooner."""
        return self.identities.state(t.id).person_id >= 0

    def _drop(self, t: Track) -> None:
        del self.tracks[t.id]
        self.identities.end(t.id)
        self.embedding.forget(t.id)

    def _new_track(self, dets: Detections, row: int, frame: Frame) -> Track:
        t = Track(id=self._next_id, box=np.asarray(dets.boxes[row], np.float64), first_frame=frame.index,
                  last_frame=frame.index, last_detected=frame.index, detected_image=frame.image,
                  detected_now=True, score=float(dets.scores[row]), landmarks=dets.landmarks[row])  # type: ignore[index]
        self._next_id += 1
        self.tracks[t.id] = t
        return t

    # ------------------------------------------------------------------ embedding
    def _flush_embeddings(self, index: int, force: bool) -> None:
        for track_id, sample in self.embedding.flush(index, force):
            t = self.tracks.get(track_id)
            if t is None:
                continue
            split = self.identities.add_sample(t.id, sample)
            moved = self.identities.state(t.id).outliers if split else 0
            if self.observer is not None:
                self.observer.sample(t.id, sample)
            if split:
                new_id = self._split_track(t)
                if self.observer is not None:
                    self.observer.split(t.id, new_id, moved)

    def _split_track(self, t: Track) -> int:
        """The track's face changed under it (a swap at a crossing): a new track from here on."""
        new = Track(id=self._next_id, box=t.box.copy(), first_frame=t.last_frame, last_frame=t.last_frame,
                    velocity=t.velocity.copy(), last_detected=t.last_detected, detected_image=t.detected_image,
                    follower=t.follower, last_embedded=t.last_embedded, detected_now=t.detected_now,
                    score=t.score, landmarks=t.landmarks)
        self._next_id += 1
        self.identities.split_off(t.id, new.id)
        del self.tracks[t.id]
        self.tracks[new.id] = new
        return new.id

    # ------------------------------------------------------------------ output
    def result(self, frame: Frame) -> FrameResult:
        """The current tracks as a result for `frame`, e.g. again after a rename while paused."""
        return self._result(frame)

    def redecide(self, frame: Frame) -> FrameResult:
        """Decide the faces of `frame` from the samples they have: each step's last part, and on
        its own after an undo while paused (the faces it left undecided need not wait for the
        video to move)."""
        try:
            self.identities.resolve(sorted(self.tracks), {t.id for t in self.tracks.values() if t.detected_now},
                                    frame.index, frame.time, self._still)
        except GalleryError as exc:
            self.failed_writes(exc)
        return self._result(frame)

    def _result(self, frame: Frame) -> FrameResult:
        shown = sorted(self.tracks.values(), key=lambda t: t.id)
        self.identities.repair([t.id for t in shown])  # one person per face, whatever came before
        names: list[str | None] = []
        known: list[bool] = []
        pids: list[int] = []
        dists: list[float] = []
        for t in shown:
            s = self.identities.state(t.id)
            # A face that stopped looking like its track's is shown undecided until the next
            # descriptor says whether the track was swapped: never a name that may be someone else's.
            p = self.gallery.person(s.person_id) if s.person_id >= 0 and not s.outliers else None
            pids.append(p.id if p else -1)
            names.append(p.name if p else None)
            known.append(bool(p.known) if p else False)
            dists.append(s.distance if p else math.nan)
        scores = self.detector.traits.score_quality(np.array([t.score for t in shown], np.float64))
        rated = [quality.face_quality(float(sc), t.landmarks) if t.detected_now else math.nan
                 for t, sc in zip(shown, scores)]
        return FrameResult(
            index=frame.index, time=frame.time, source=frame.source,
            track_ids=np.array([t.id for t in shown], np.int64),
            boxes=np.array([t.box for t in shown]).reshape(-1, 4),
            person_ids=np.array(pids, np.int64), names=tuple(names),
            known=np.array(known, bool), distances=np.array(dists, np.float64),
            captured_at=frame.captured_at, width=frame.width, height=frame.height, scale=frame.scale,
            detected=np.array([t.detected_now for t in shown], bool),
            scores=np.array([t.score for t in shown], np.float64),
            # Landmarks are where the detector put them in this frame; a face followed by correlation has none.
            landmarks=np.array([t.landmarks if t.detected_now else np.full((5, 2), np.nan) for t in shown],
                               np.float64).reshape(-1, 5, 2),
            quality=np.array(rated, np.float64),
        )


def _apart(boxes: object, others: object) -> NDArray[np.bool_]:
    """Which of `boxes` overlap none of `others` enough to be the same face."""
    b = geometry.as_boxes(boxes)
    if len(b) == 0 or len(geometry.as_boxes(others)) == 0:
        return np.ones(len(b), bool)
    return geometry.iou_matrix(b, others).max(1) < NEW_TRACK_MAX_IOU
