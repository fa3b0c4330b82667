"""The face tracker: short-term tracks with stable ids, and identities decided by votes.

Per frame:
1. predict each track's box from its velocity;
2. take full-frame detections (keyframes) and re-find tracked faces in small regions;
3. associate boxes to tracks by IoU with the Hungarian method;
4. follow a track the detector lost with a correlation tracker for a short while;
5. embed new tracks at once and known ones on a schedule, all chips in one call;
6. vote: each descriptor casts a k-NN vote; a track's label is what its recent votes say,
   with one person per face in a frame (Hungarian over evidence);
7. a track nobody matches becomes an automatic identity, whose inventory grows as it is seen.

All state lives here, on one thread.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from . import geometry, identity
from .config import Config
from .detect import Detector, from_dlib_rect, to_dlib_rect
from .embed import Embedder
from .errors import GalleryError
from .gallery import ENROLLED, Gallery, Person, encode_thumbnail
from .models import dlib
from .records import Detections, Frame, FrameResult

log = logging.getLogger(__name__)

MIN_IOU = 0.15  # a detection this far off a prediction is another face
NEW_TRACK_MAX_IOU = 0.3  # a detection overlapping a live track this much is not a new face
MIN_EMBED_PX = 32  # faces smaller than this give unreliable descriptors
VOTE_WINDOW = 12  # a track's label follows its most recent votes
MIN_PSR = 7.0  # correlation tracker confidence under which a lost face is dropped
STICKINESS = 0.75  # evidence bonus for a track's current person: no flicker on a close call
UNDECIDED_REEMBED = 3  # frames between descriptors while a track is undecided
TOUCH_EVERY_S = 2.0  # how often a person in view has their "last seen" written


@dataclass
class Track:
    id: int
    box: NDArray[np.float64]
    first_frame: int
    last_frame: int
    velocity: NDArray[np.float64] = field(default_factory=lambda: np.zeros(4))
    last_detected: int = -1
    detected_image: NDArray[np.uint8] | None = None  # frame of the last detection, for coasting
    follower: Any = None  # dlib.correlation_tracker while the detector has lost the face
    person_id: int = -1
    distance: float = math.nan
    votes: deque[identity.Vote] = field(default_factory=lambda: deque(maxlen=VOTE_WINDOW))
    samples: list[tuple[NDArray[np.float32], bytes]] = field(default_factory=list)
    last_embedded: int = -(10**9)
    created_person: int = -1  # the automatic identity this track founded, if any
    detected_now: bool = False

    def predict(self, index: int) -> NDArray[np.float64]:
        return self.box + self.velocity * (index - self.last_frame)


@dataclass
class _Pending:
    track_id: int
    chip: NDArray[np.uint8]
    frame_index: int


class FaceTracker:
    def __init__(self, cfg: Config, gallery: Gallery, detector: Detector, embedder: Embedder) -> None:
        self.cfg = cfg
        self.gallery = gallery
        self.detector = detector
        self.embedder = embedder
        self.tracks: dict[int, Track] = {}
        self._next_id = 1
        self._pending: list[_Pending] = []
        self.descriptors_computed = 0
        self._still = False
        self._touched: dict[int, float] = {}

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
        if cut or still:
            self.end_tracks()
        live = list(self.tracks.values())
        preds = np.array([t.predict(frame.index) for t in live]).reshape(-1, 4)
        for t in live:
            t.detected_now = False

        if detections is None:
            dets = self.detector.detect_regions(image, preds) if len(live) else Detections()
            matched_t, matched_d = self._associate(preds, dets.boxes)
        else:
            dets = detections
            matched_t, matched_d = self._associate(preds, dets.boxes)
            lost = [i for i in range(len(live)) if i not in set(matched_t)]
            if lost:  # the full-frame pass can miss a face the tracked region still finds
                extra = self.detector.detect_regions(image, preds[lost])
                fresh = [j for j in range(len(extra)) if not len(dets) or
                         geometry.iou_matrix(extra.boxes[j:j + 1], dets.boxes).max() < NEW_TRACK_MAX_IOU]
                if fresh:
                    dets = Detections(np.concatenate([dets.boxes, extra.boxes[fresh]]),
                                      np.concatenate([dets.scores, extra.scores[fresh]]))
                    matched_t, matched_d = self._associate(preds, dets.boxes)

        if seeds is not None and len(seeds):
            known_boxes = np.concatenate([preds, dets.boxes]) if len(dets) else preds
            overlap = geometry.iou_matrix(seeds, known_boxes).max(1) if len(known_boxes) else np.zeros(len(seeds))
            fresh_seeds = geometry.as_boxes(seeds)[overlap < NEW_TRACK_MAX_IOU]
            if len(fresh_seeds):
                extra = self.detector.detect_regions(image, fresh_seeds)
                if len(extra):
                    dets = Detections(np.concatenate([dets.boxes, extra.boxes]),
                                      np.concatenate([dets.scores, extra.scores]))

        matched = set(matched_t)
        for ti, di in zip(matched_t, matched_d):
            self._update_detected(live[ti], dets.boxes[di], frame)
        for ti, t in enumerate(live):
            if ti not in matched:
                self._coast(t, frame)

        used = set(matched_d)
        current = [t.box for t in self.tracks.values()]
        for di in range(len(dets)):
            if di in used:
                continue
            box = dets.boxes[di]
            if current and geometry.iou_matrix(box[None], np.array(current)).max() > NEW_TRACK_MAX_IOU:
                continue
            t = self._new_track(box, frame)
            current.append(t.box)

        self._schedule_embeddings(frame)
        self._flush_embeddings(frame.index, force=False)
        self._resolve_identities(frame)
        return self._result(frame)

    def finish(self) -> None:
        """Embed whatever still waits for a fuller batch (end of a file)."""
        self._flush_embeddings(10**12, force=True)

    def end_tracks(self) -> None:
        """End every track (a shot change, a new source); identities live on in the gallery."""
        self.finish()
        self.tracks.clear()

    # ------------------------------------------------------------------ people, by hand
    def name_track(self, track_id: int, name: str) -> Person:
        """"Who is this?": the face on this track is `name`, a new or an existing person.

        The track's recent descriptors join that person's inventory as confirmed samples, so
        the name sticks when the face comes back. An automatic identity on the track is renamed
        (when the name is new) or merged into the named person.
        """
        t = self.tracks.get(track_id)
        if t is None:
            raise GalleryError("that face is no longer in view")
        name = name.strip()
        if not name:
            raise GalleryError("a person's name cannot be empty")
        if not t.samples:
            raise GalleryError("that face has no descriptor yet (too small or just appeared); try again")
        target = self.gallery.find(name)
        current = self.gallery.person(t.person_id) if t.person_id >= 0 else None
        if current is not None and not current.known and (target is None or target.id == current.id):
            person = self.gallery.rename(current.name, name)
        else:
            if target is None:
                target = self.gallery.add_person(name, known=True)
            elif not target.known:
                target = self.gallery.rename(target.name, target.name)  # naming makes it known
            if current is not None and not current.known:  # the automatic identity was this person
                self.merge_people(current.name, target.name)
            samples = t.samples[-VOTE_WINDOW:]
            self.gallery.add_descriptors(target.id, np.stack([d for d, _ in samples]),
                                         [th for _, th in samples], ENROLLED)
            person = self.gallery.person(target.id) or target
        for other in self.tracks.values():
            if other is not t and other.person_id == person.id:  # one face per person in a frame
                other.person_id, other.distance = -1, math.nan
                other.votes.clear()
        t.person_id, t.distance, t.created_person = person.id, 0.0, -1
        t.votes.clear()
        t.votes.append(identity.Vote(np.array([person.id]), np.array([1.0]), np.array([0.0])))
        return person

    def merge_people(self, source: str, into: str) -> Person:
        """Merge in the gallery, and carry the tracks showing `source` over without a flicker."""
        src = self.gallery.require(source)
        person = self.gallery.merge(source, into)
        for t in self.tracks.values():
            if t.person_id == src.id:
                t.person_id = person.id
            if t.created_person == src.id:
                t.created_person = -1
            t.votes = deque((identity.Vote(np.where(v.person_ids == src.id, person.id, v.person_ids),
                                           v.weights, v.distances) for v in t.votes), maxlen=VOTE_WINDOW)
        return person

    def remove_person(self, name: str) -> Person:
        """Forget a person; a face of theirs still in view starts again as undecided."""
        person = self.gallery.remove(name)
        for t in self.tracks.values():
            if t.person_id == person.id or t.created_person == person.id:
                t.person_id, t.distance, t.created_person = -1, math.nan, -1
                t.votes.clear()
        return person

    # ------------------------------------------------------------------ motion
    def _associate(self, preds: NDArray[np.float64], boxes: NDArray[np.float64]) -> tuple[list[int], list[int]]:
        if len(preds) == 0 or len(boxes) == 0:
            return [], []
        iou = geometry.iou_matrix(preds, boxes)
        rows, cols = linear_sum_assignment(-iou)
        keep = iou[rows, cols] >= MIN_IOU
        return [int(r) for r in rows[keep]], [int(c) for c in cols[keep]]

    def _update_detected(self, t: Track, box: NDArray[np.float64], frame: Frame) -> None:
        gap = max(frame.index - t.last_frame, 1)
        step = (box - t.box) / gap
        t.velocity = 0.5 * t.velocity + 0.5 * step if t.last_detected >= 0 else step * 0
        t.box = np.asarray(box, dtype=np.float64)
        t.last_frame = t.last_detected = frame.index
        t.detected_image = frame.image
        t.follower = None
        t.detected_now = True

    def _coast(self, t: Track, frame: Frame) -> None:
        if frame.index - t.last_detected > self.cfg.coast_frames or t.detected_image is None:
            del self.tracks[t.id]
            return
        if t.follower is None:
            t.follower = dlib().correlation_tracker()
            t.follower.start_track(t.detected_image, to_dlib_rect(t.box))
        psr = float(t.follower.update(frame.image))
        if psr < MIN_PSR:
            del self.tracks[t.id]
            return
        box = np.asarray(from_dlib_rect(t.follower.get_position()))
        box = geometry.clip_boxes(box[None], frame.width, frame.height)[0]
        if box[2] - box[0] < 4 or box[3] - box[1] < 4:
            del self.tracks[t.id]
            return
        t.velocity = (box - t.box) / max(frame.index - t.last_frame, 1)
        t.box = box
        t.last_frame = frame.index

    def _new_track(self, box: NDArray[np.float64], frame: Frame) -> Track:
        t = Track(id=self._next_id, box=np.asarray(box, np.float64), first_frame=frame.index,
                  last_frame=frame.index, last_detected=frame.index, detected_image=frame.image,
                  detected_now=True)
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
            every = self.cfg.reembed_every if t.person_id >= 0 else UNDECIDED_REEMBED
            if frame.index - t.last_embedded >= every:
                due.append(t)
        if not due:
            return
        chips = self.embedder.align(frame.image, np.array([t.box for t in due]))
        for t, chip in zip(due, chips):
            t.last_embedded = frame.index
            self._pending.append(_Pending(t.id, chip, frame.index))

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
            t.votes.append(self.gallery.vote(d, self.cfg.knn, self.cfg.threshold))
            t.samples.append((d, encode_thumbnail(p.chip)))
            del t.samples[:-self.cfg.max_inventory]

    # ------------------------------------------------------------------ identity
    def _evidence(self, t: Track) -> tuple[dict[int, float], float]:
        per: dict[int, float] = {}
        unknown = 0.0
        for v in t.votes:
            if v.is_unknown:
                unknown += 1.0
            for pid, w in zip(v.person_ids, v.weights):
                if self.gallery.person(int(pid)) is not None:
                    per[int(pid)] = per.get(int(pid), 0.0) + float(w)
        return per, unknown

    def _latest_distance(self, t: Track, pid: int) -> float:
        for v in reversed(t.votes):
            hit = np.nonzero(v.person_ids == pid)[0]
            if len(hit):
                return float(v.distances[hit[0]])
        return math.nan

    def _confident(self, t: Track, pid: int, evidence: float) -> bool:
        """One close match decides; a borderline one needs a second opinion."""
        if pid == t.person_id or self._still:
            return True
        d = self._latest_distance(t, pid)
        return evidence >= 1.5 or (evidence > 0 and d <= 0.85 * self.cfg.threshold)

    def _resolve_identities(self, frame: Frame) -> None:
        visible = [t for t in self.tracks.values() if t.votes]
        if not visible:
            return
        evidences = [self._evidence(t) for t in visible]
        people = sorted({pid for per, _ in evidences for pid in per} |
                        {t.person_id for t in visible if t.person_id >= 0 and self.gallery.person(t.person_id)})
        col = {pid: i for i, pid in enumerate(people)}
        matrix = np.zeros((len(visible), len(people)))
        for r, (t, (per, unknown)) in enumerate(zip(visible, evidences)):
            for pid, e in per.items():
                # A person loses to "nobody" when most recent votes found no one.
                if e + (STICKINESS if pid == t.person_id else 0.0) > unknown:
                    matrix[r, col[pid]] = e + (STICKINESS if pid == t.person_id else 0.0)
        choice = identity.assign_people(matrix)
        for r, t in enumerate(visible):
            per, unknown = evidences[r]
            if choice[r] >= 0:
                pid = people[int(choice[r])]
                if self._confident(t, pid, per.get(pid, 0.0)):
                    self._set_person(t, pid)
                    continue
            needed = 1 if self._still else self.cfg.min_votes_new
            if unknown >= needed and unknown > max(per.values(), default=0.0):
                self._found_person(t)
            elif t.person_id >= 0 and (self.gallery.person(t.person_id) is None or choice[r] < 0):
                self._set_person(t, -1)
        self._learn(visible, frame)

    def _set_person(self, t: Track, pid: int) -> None:
        if pid == t.person_id:
            t.distance = self._latest_distance(t, pid) if pid >= 0 else math.nan
            return
        old = t.person_id
        t.person_id = pid
        t.distance = self._latest_distance(t, pid) if pid >= 0 else math.nan
        new = self.gallery.person(pid) if pid >= 0 else None
        if old >= 0 and old == t.created_person and new is not None and new.known:
            # The identity this track founded turned out to be someone known: fold it in so
            # that the person does not live on twice.
            founded = self.gallery.person(old)
            if founded is not None and not founded.known:
                log.info("track %d: %s is %s; merging", t.id, founded.name, new.name)
                self.gallery.merge(founded.name, new.name)
                for other in self.tracks.values():
                    if other.person_id == old:
                        other.person_id = pid
            t.created_person = -1

    def _found_person(self, t: Track) -> None:
        taken = {o.person_id for o in self.tracks.values() if o is not t}
        if t.person_id >= 0 and t.person_id not in taken and t.person_id == t.created_person:
            return
        p = self.gallery.add_person(None, known=False)
        log.info("track %d: new automatic identity %s", t.id, p.name)
        samples = t.samples[-VOTE_WINDOW:]
        self.gallery.add_descriptors(p.id, np.stack([s[0] for s in samples]), [s[1] for s in samples])
        t.created_person = p.id
        t.person_id = p.id
        t.distance = 0.0
        t.votes.clear()
        t.votes.append(identity.Vote(np.array([p.id]), np.array([1.0]), np.array([0.0])))

    def _learn(self, visible: list[Track], frame: Frame) -> None:
        for t in visible:
            if t.person_id < 0 or not t.samples or t.last_embedded != frame.index or t.votes[-1].is_unknown:
                continue
            person = self.gallery.person(t.person_id)
            if person is None:
                continue
            d = self._latest_distance(t, t.person_id)
            limit = self.cfg.learn_threshold if person.known else self.cfg.threshold
            if t.votes[-1].best() is not None and t.votes[-1].best()[0] == t.person_id and d <= limit:  # type: ignore[index]
                desc, thumb = t.samples[-1]
                self.gallery.learn(t.person_id, desc, thumb, self.cfg.diversity, self.cfg.max_inventory)

    # ------------------------------------------------------------------ output
    def result(self, frame: Frame) -> FrameResult:
        """The current tracks as a result for `frame`, e.g. again after a rename while paused."""
        return self._result(frame)

    def _touch(self, person_ids: list[int]) -> None:
        now = time.monotonic()
        due = [pid for pid in person_ids if now - self._touched.get(pid, -math.inf) >= TOUCH_EVERY_S]
        if due:
            self.gallery.touch(due)
            self._touched.update((pid, now) for pid in due)

    def _result(self, frame: Frame) -> FrameResult:
        shown = sorted(self.tracks.values(), key=lambda t: t.id)
        names: list[str | None] = []
        known: list[bool] = []
        pids: list[int] = []
        for t in shown:
            p = self.gallery.person(t.person_id) if t.person_id >= 0 else None
            pids.append(p.id if p else -1)
            names.append(p.name if p else None)
            known.append(bool(p.known) if p else False)
        self._touch([pid for pid in pids if pid >= 0])
        return FrameResult(
            index=frame.index, time=frame.time, source=frame.source,
            track_ids=np.array([t.id for t in shown], np.int64),
            boxes=np.array([t.box for t in shown]).reshape(-1, 4),
            person_ids=np.array(pids, np.int64), names=tuple(names),
            known=np.array(known, bool),
            distances=np.array([t.distance if p >= 0 else math.nan for t, p in zip(shown, pids)]),
            captured_at=frame.captured_at, width=frame.width, height=frame.height,
        )
