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
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from .. import geometry, quality
from ..assignment import min_cost_assignment
from ..config import Config
from ..detect import Detector, detect_regions, from_dlib_rect, to_dlib_rect
from ..embed import Embedder
from ..errors import GalleryError
from ..gallery.gallery import Gallery, Person, encode_thumbnail
from ..identity.resolver import IdentityResolver, TrackIdentity, TrackSample
from ..models import dlib
from ..records import Detections, Frame, FrameResult

log = logging.getLogger(__name__)

MIN_IOU = 0.15  # a detection this far off a prediction is another face
NEW_TRACK_MAX_IOU = 0.3  # a detection overlapping a live track this much is not a new face
MIN_EMBED_PX = 32  # faces smaller than this give unreliable descriptors
MIN_PSR = 7.0  # correlation tracker confidence under which a lost face is dropped
PREDICT_COAST = 3  # frames a lost face of nobody known yet is carried on by its velocity alone
YOUNG_SAMPLES = 6  # descriptors a track that founded an identity gets every UNDECIDED_REEMBED frames
UNDECIDED_REEMBED = 3  # frames between descriptors while a track is undecided
JUMP_IOU = 0.5  # a detection this far off the track's prediction gets a descriptor at once
GROWN = 1.4  # a face this much wider than at its last descriptor is embedded again
TOUCH_EVERY_S = 2.0  # how often a person in view has their "last seen" written
SYNC_EVERY_S = 1.0  # how often the gallery is checked for other processes' changes


class SampleObserver(Protocol):
    """Sees every descriptor a track gets (offline analysis keeps them all)."""

    def sample(self, track_id: int, sample: TrackSample) -> None: ...

    def split(self, old_id: int, new_id: int, moved: int) -> None:
        """A swap: the last `moved` samples of `old_id` belong to the new track `new_id`."""


@dataclass
class Track:
    """A face's motion; its identity state lives in the resolver, under the same id."""

    id: int
    box: NDArray[np.float64]
    first_frame: int
    last_frame: int
    velocity: NDArray[np.float64] = field(default_factory=lambda: np.zeros(4))
    last_detected: int = -1
    detected_image: NDArray[np.uint8] | None = None  # frame of the last detection, for coasting
    follower: Any = None  # dlib.correlation_tracker while the detector has lost the face
    last_embedded: int = -(10**9)
    embedded_px: float = 0.0  # face width at the last descriptor
    disrupted: bool = False  # lost or jumped since the last descriptor: a swap is possible
    detected_now: bool = False
    score: float = math.nan  # the detector's score at the last detection
    landmarks: NDArray[np.float64] = field(default_factory=lambda: np.full((5, 2), np.nan))  # ... its landmarks

    def predict(self, index: int) -> NDArray[np.float64]:
        return self.box + self.velocity * (index - self.last_frame)


@dataclass
class _Pending:
    track_id: int
    chip: NDArray[np.uint8]
    frame_index: int
    time: float
    face_px: float
    disrupted: bool
    quality: float


@dataclass(frozen=True)
class Rejected:
    """What "Not NAME" did: the person, and how many samples the face's track had taught them
    that were taken back."""

    person: Person
    taken: int


@dataclass(frozen=True)
class _Step:
    """A user's step as the tracker keeps it: `position` is the gallery's undo depth just after
    it; `stored` says whether the gallery holds it as a step of its own; `inverse` reverts what
    the tracker changed in memory."""

    label: str
    position: int
    stored: bool
    inverse: Any


class FaceTracker:
    def __init__(self, cfg: Config, gallery: Gallery, detector: Detector, embedder: Embedder) -> None:
        self.cfg = cfg
        self.gallery = gallery
        self.detector = detector
        self.embedder = embedder
        self.tracks: dict[int, Track] = {}
        self.identities = IdentityResolver(cfg, gallery)
        self._next_id = 1
        self._pending: list[_Pending] = []
        self.descriptors_computed = 0
        self._still = False
        self._touched: dict[int, float] = {}
        self._gallery_warned: dict[str, float] = {}  # why a gallery write failed -> when last logged
        self._synced = time.monotonic()
        self.observer: SampleObserver | None = None
        self._steps: list[_Step] = []  # what undo must also revert in the tracker (see reject_track)

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
        now = time.monotonic()
        if now - self._synced >= SYNC_EVERY_S:  # another process (a camera, `people`) changed it?
            self._synced = now
            try:
                self.gallery.sync()
            except GalleryError as exc:  # a database server away for a moment: the next sync tries again
                self._gallery_failed(exc)
        if cut or still or frame.source != self.identities.source:
            self.end_tracks()
        self.identities.source = frame.source
        live = list(self.tracks.values())
        preds = np.array([t.predict(frame.index) for t in live]).reshape(-1, 4)
        for t in live:
            t.detected_now = False

        if detections is None:
            dets = detect_regions(self.detector, image, preds) if len(live) else Detections()
            matched_t, matched_d = self._associate(preds, dets.boxes)
        else:
            dets = detections
            matched_t, matched_d = self._associate(preds, dets.boxes)
            lost = [i for i in range(len(live)) if i not in set(matched_t)]
            if lost:  # the full-frame pass can miss a face the tracked region still finds
                extra = detect_regions(self.detector, image, preds[lost])
                fresh = _apart(extra.boxes, dets.boxes)
                if fresh.any():
                    dets = Detections.concat([dets, extra.select(fresh)])
                    matched_t, matched_d = self._associate(preds, dets.boxes)

        if seeds is not None and len(seeds):
            known_boxes = np.concatenate([preds, dets.boxes]) if len(dets) else preds
            fresh_seeds = geometry.as_boxes(seeds)[_apart(seeds, known_boxes)]
            if len(fresh_seeds):
                dets = Detections.concat([dets, detect_regions(self.detector, image, fresh_seeds)])

        matched = set(matched_t)
        for ti, di in zip(matched_t, matched_d):
            self._update_detected(live[ti], dets, di, frame)
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

        self._schedule_embeddings(frame)
        self._flush_embeddings(frame.index, force=False)
        return self.redecide(frame)

    def _gallery_failed(self, exc: GalleryError) -> None:
        """A write the tracker makes on its own (learning, a fold, a cannot-link) failed: another
        process sharing the gallery merged or removed that person a moment before, or the file
        is locked or full. What is shown goes on (the next frame decides again); logged, at most
        every 10 s for the same reason, so a camera is never stopped by it."""
        now = time.monotonic()
        text = str(exc)
        if now - self._gallery_warned.get(text, -math.inf) >= 10.0:
            log.warning("gallery: %s; going on without that change", text)
            self._gallery_warned[text] = now

    def finish(self) -> None:
        """Embed whatever still waits for a fuller batch (end of a file)."""
        self._flush_embeddings(10**12, force=True)

    def end_tracks(self) -> None:
        """End every track (a shot change, a new source); identities live on in the gallery."""
        self.finish()
        self.tracks.clear()
        self.identities.end_all()

    # ------------------------------------------------------------------ people, by hand
    def _track_state(self, track_id: int) -> TrackIdentity:
        if track_id not in self.tracks:
            raise GalleryError("that face is no longer in view")
        return self.identities.state(track_id)

    def name_track(self, track_id: int, name: str) -> Person:
        """"Who is this?": the face on this track is `name`, a new or an existing person.

        The track's recent descriptors join that person's inventory as named samples, so the
        name sticks when the face comes back. An automatic identity the track showed is renamed
        (when the name is new) or merged into the named person: the user vouched for it.
        """
        s = self._track_state(track_id)
        name = name.strip()
        if not name:
            raise GalleryError("a person's name cannot be empty")
        if not s.samples:
            raise GalleryError("that face has no descriptor yet (too small or just appeared); try again")
        with self.gallery.action(f"name a face {name}"):
            target = self.gallery.find(name)
            current = self.gallery.person(s.person_id) if s.person_id >= 0 else None
            if current is not None and not current.known and (target is None or target.id == current.id):
                person = self.gallery.rename(current.name, name)
            else:
                if target is None:
                    target = self.gallery.add_person(name, known=True)
                elif not target.known:
                    target = self.gallery.rename(target.name, target.name)  # naming makes it known
                if current is not None and not current.known and current.id != target.id:
                    self.merge_people(current.name, target.name)
                person = target
            self.identities.name(track_id, person)
        return self.gallery.person(person.id) or person

    def reject_track(self, track_id: int) -> Rejected:
        """"Not NAME": this face is not who it shows; what its track taught that person is taken
        back, and the track stays apart from them. One undo step, whether or not the gallery
        changed (a face that taught nothing changes only what the tracker thinks)."""
        s = self._track_state(track_id)
        current = self.gallery.person(s.person_id) if s.person_id >= 0 else None
        if current is None:
            raise GalleryError("that face has no name to reject")
        label = f"not {current.name}"
        before = self.gallery.undo_steps()
        with self.gallery.action(label):
            outcome = self.identities.reject(track_id)
        taken = outcome[1] if outcome is not None else 0
        stored = self.gallery.undo_steps() > before or (taken > 0 and self.gallery.can_undo() == label)
        self._steps.append(_Step(label, self.gallery.undo_steps(), stored,
                                 lambda: self.identities.unreject(track_id, current.id)))
        return Rejected(current, taken)

    def merge_people(self, source: str, into: str) -> Person:
        """Merge in the gallery; tracks showing `source` show `into`, and if both were in view
        one of them is undecided again (one person per face)."""
        with self.gallery.action(f"merge {source} into {into}"):
            src = self.gallery.require(source)
            person = self.gallery.merge(source, into)
        self.identities.merged(src.id, person.id)
        self.identities.repair(sorted(self.tracks))
        return person

    def rename_person(self, old: str, new: str) -> Person:
        with self.gallery.action(f"rename {old} to {new}"):
            return self.gallery.rename(old, new)

    def remove_person(self, name: str) -> Person:
        """Forget a person; a face of theirs still in view starts again as undecided."""
        with self.gallery.action(f"delete {name}"):
            person = self.gallery.remove(name)
        self.identities.removed(person.id)
        return person

    def remove_people(self, names: list[str]) -> list[Person]:
        """Forget several people as one step (one Undo brings them all back)."""
        with self.gallery.action(f"delete {', '.join(names)}"):
            people = [self.remove_person(name) for name in names]
        return people

    def split_person(self, name: str, sample_ids: list[int], into: str | None = None) -> Person:
        with self.gallery.action(f"split {name}"):
            person = self.gallery.split(name, sample_ids, into)
        return person

    def forget_samples(self, name: str, sample_ids: list[int]) -> Person:
        with self.gallery.action(f"remove samples of {name}"):
            person = self.gallery.forget(name, sample_ids)
        return person

    def can_redo(self) -> str | None:
        """The label of the undone step `redo` would make again (the gallery's)."""
        return self.gallery.can_redo()

    def redo(self) -> str:
        """Make the newest undone change to people again; faces in view are decided again. (A
        "Not NAME" that changed only the tracker is not redone: say it again.)"""
        label = self.gallery.redo()
        for tid in list(self.tracks):
            self.identities.reset(tid)
        return label

    def can_undo(self) -> str | None:
        """The label of the step `undo` would revert: the gallery's newest, or a step of the
        tracker's own ("Not NAME" of a face that taught nothing) made after it."""
        top = self._steps[-1] if self._steps else None
        if top is not None and not top.stored and top.position >= self.gallery.undo_steps():
            return top.label
        return self.gallery.can_undo()

    def undo(self) -> str:
        """Revert the newest user action (the gallery's, and what the tracker keeps of it); faces
        in view are decided again."""
        steps = self.gallery.undo_steps()
        top = self._steps[-1] if self._steps else None
        if top is not None and not top.stored and top.position >= steps:
            self._steps.pop()
            label = top.label
            top.inverse()
        else:
            label = self.gallery.undo()
            if top is not None and top.stored and top.position == steps:  # that step was this one
                self._steps.pop()
                top.inverse()
        self._steps = [x for x in self._steps if x.position <= self.gallery.undo_steps() or not x.stored]
        for tid in list(self.tracks):
            self.identities.reset(tid)
        return label

    # ------------------------------------------------------------------ motion
    def _associate(self, preds: NDArray[np.float64], boxes: NDArray[np.float64]) -> tuple[list[int], list[int]]:
        if len(preds) == 0 or len(boxes) == 0:
            return [], []
        iou = geometry.iou_matrix(preds, boxes)
        rows, cols = min_cost_assignment(-iou)
        keep = iou[rows, cols] >= MIN_IOU
        return [int(r) for r in rows[keep]], [int(c) for c in cols[keep]]

    def _update_detected(self, t: Track, dets: Detections, row: int, frame: Frame) -> None:
        box = dets.boxes[row]
        if geometry.iou_matrix(t.predict(frame.index)[None], np.asarray(box)[None])[0, 0] < JUMP_IOU:
            # The face jumped (a cut the colours did not show, or two faces crossing): look now.
            t.last_embedded = -(10**9)
            t.disrupted = True
        gap = max(frame.index - t.last_frame, 1)
        step = (box - t.box) / gap
        t.velocity = 0.5 * t.velocity + 0.5 * step if t.last_detected >= 0 else step * 0
        t.box = np.asarray(box, dtype=np.float64)
        t.last_frame = t.last_detected = frame.index
        t.detected_image = frame.image
        t.follower = None
        t.detected_now = True
        t.score, t.landmarks = float(dets.scores[row]), dets.landmarks[row]  # type: ignore[index]

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
        """A lost face's box to `box` (clipped to the frame); the track ends if little is left in view."""
        box = geometry.clip_boxes(box[None], frame.width, frame.height)[0]
        if box[2] - box[0] < 4 or box[3] - box[1] < 4:
            self._drop(t)
            return
        if track_velocity:
            t.velocity = (box - t.box) / max(frame.index - t.last_frame, 1)
        t.box = box
        t.last_frame = frame.index

    def _worth_following(self, t: Track) -> bool:
        """A lost face is followed by correlation (through a turned head, a hand before it) when
        its track holds a person: keeping the track keeps the name. Others end sooner."""
        return self.identities.state(t.id).person_id >= 0

    def _drop(self, t: Track) -> None:
        del self.tracks[t.id]
        self.identities.end(t.id)
        self._pending = [p for p in self._pending if p.track_id != t.id]

    def _new_track(self, dets: Detections, row: int, frame: Frame) -> Track:
        t = Track(id=self._next_id, box=np.asarray(dets.boxes[row], np.float64), first_frame=frame.index,
                  last_frame=frame.index, last_detected=frame.index, detected_image=frame.image,
                  detected_now=True, score=float(dets.scores[row]), landmarks=dets.landmarks[row])  # type: ignore[index]
        self._next_id += 1
        self.tracks[t.id] = t
        return t

    # ------------------------------------------------------------------ embedding
    def _schedule_embeddings(self, frame: Frame) -> None:
        due: list[Track] = []
        waiting = {p.track_id for p in self._pending}
        for t in self.tracks.values():
            if not t.detected_now or t.id in waiting or geometry.widths(t.box[None])[0] < MIN_EMBED_PX:
                continue
            ident = self.identities.state(t.id)
            # Undecided, or a face that stopped looking like its track's: look again soon.
            # A track that just founded an identity is looked at often too: its first faces
            # fill that inventory, or show it is an older automatic identity seen again.
            decided = ident.person_id >= 0 and not ident.outliers
            if not decided:
                every = UNDECIDED_REEMBED
            elif ident.founded >= 0 and len(ident.samples) < YOUNG_SAMPLES and self._may_be_older(ident.founded):
                every = min(UNDECIDED_REEMBED, self.cfg.reembed_every)
            else:
                every = self.cfg.reembed_every
            # A face that has grown a lot since its last descriptor gives a better one now.
            grown = geometry.widths(t.box[None])[0] >= GROWN * t.embedded_px
            if frame.index - t.last_embedded >= every or (grown and frame.index - t.last_embedded >= UNDECIDED_REEMBED):
                due.append(t)
        if not due:
            return
        # The quality gate, in one place: a poor face (turned away, blurred, barely a face) keeps
        # its track's identity but decides, teaches and founds nothing, so its descriptor, dlib's
        # costliest call, is not computed (nor its chip, where its score and landmarks already
        # rule it out). It is looked at again on schedule.
        scores = self.detector.traits.score_quality(np.array([t.score for t in due]))
        first = [quality.face_quality(float(sc), t.landmarks) for t, sc in zip(due, scores)]
        for t in due:
            t.last_embedded = frame.index
        keep = [k for k, q in enumerate(first) if q >= self.cfg.min_quality]
        if not keep:
            return
        due = [due[k] for k in keep]
        # dlib's landmarks and descriptor want dlib's box convention, whatever the detector's.
        aligned = self.detector.alignment_boxes(np.array([t.box for t in due]))
        chips = self.embedder.align(frame.image, aligned)
        for t, chip, box, q0 in zip(due, chips, aligned, (first[k] for k in keep)):
            q = min(q0, quality.sharpness(chip))
            if q < self.cfg.min_quality:
                continue
            self._pending.append(_Pending(t.id, chip, frame.index, frame.time, float(box[2] - box[0]),
                                          t.disrupted, q))
            t.disrupted = False
            t.embedded_px = float(t.box[2] - t.box[0])

    def _may_be_older(self, founded: int) -> bool:
        """Whether a freshly founded identity could still turn out to be an older automatic one
        (which its first faces would show): none can when no other automatic identity exists."""
        return any(not p.known and p.id != founded and not self.gallery.are_cannot_linked(p.id, founded)
                   for p in self.gallery.people())

    def _flush_embeddings(self, index: int, force: bool) -> None:
        if not self._pending:
            return
        oldest = min(p.frame_index for p in self._pending)
        if not force and len(self._pending) < self.cfg.embed_batch and index - oldest < self.cfg.embed_max_delay:
            return
        batch, self._pending = self._pending, []
        descriptors = self.embedder.describe(np.stack([p.chip for p in batch]))
        self.descriptors_computed += len(batch)
        for p, d in zip(batch, descriptors):
            t = self.tracks.get(p.track_id)
            if t is None:
                continue
            sample = TrackSample(np.asarray(d, np.float32), encode_thumbnail(p.chip), p.frame_index, p.time, p.face_px,
                                 p.disrupted, p.quality)
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
            self._gallery_failed(exc)
        return self._result(frame)

    def _touch(self, person_ids: list[int]) -> None:
        now = time.monotonic()
        due = [pid for pid in person_ids if now - self._touched.get(pid, -math.inf) >= TOUCH_EVERY_S]
        if due:
            try:
                self.gallery.touch(due)
            except GalleryError as exc:
                self._gallery_failed(exc)
            self._touched.update((pid, now) for pid in due)

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
        self._touch([pid for pid in pids if pid >= 0])
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
