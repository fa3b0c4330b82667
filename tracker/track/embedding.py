"""Which faces get a descriptor, and when: dlib's descriptor is the costliest call of a frame, so
new and undecided tracks are described at once and often, settled ones on a schedule, and only
faces that pass the quality gate; their chips wait in a queue and are described in one batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .. import geometry, quality
from ..config import Config
from ..detect import Detector
from ..embed import Embedder
from ..gallery.gallery import Gallery, encode_thumbnail
from ..identity.resolver import IdentityResolver
from ..identity.track_state import TrackSample
from ..records import Frame
from .tracks import Track

MIN_EMBED_PX = 32  # faces smaller than this give unreliable descriptors
YOUNG_SAMPLES = 6  # descriptors a track that founded an identity gets every UNDECIDED_REEMBED frames
UNDECIDED_REEMBED = 3  # frames between descriptors while a track is undecided
GROWN = 1.4  # a face this much wider than at its last descriptor is embedded again


@dataclass
class _Pending:
    track_id: int
    chip: NDArray[np.uint8]
    frame_index: int
    time: float
    face_px: float
    disrupted: bool
    quality: float


class EmbeddingSchedule:
    def __init__(self, cfg: Config, gallery: Gallery, detector: Detector, embedder: Embedder) -> None:
        self.cfg, self.gallery, self.detector, self.embedder = cfg, gallery, detector, embedder
        self._pending: list[_Pending] = []
        self.descriptors_computed = 0

    def schedule(self, frame: Frame, tracks: list[Track], identities: IdentityResolver) -> None:
        """Pick the tracks of `frame` due a descriptor and queue their aligned chips (quality-gated)."""
        due: list[Track] = []
        waiting = {p.track_id for p in self._pending}
        for t in tracks:
            if not t.detected_now or t.id in waiting or geometry.widths(t.box[None])[0] < MIN_EMBED_PX:
                continue
            ident = identities.state(t.id)
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

    def flush(self, index: int, force: bool) -> list[tuple[int, TrackSample]]:
        """The queued chips described in one call once a batch is full or the oldest waited long
        enough (or `force`): (track id, sample) in queue order."""
        if not self._pending:
            return []
        oldest = min(p.frame_index for p in self._pending)
        if not force and len(self._pending) < self.cfg.embed_batch and index - oldest < self.cfg.embed_max_delay:
            return []
        batch, self._pending = self._pending, []
        descriptors = self.embedder.describe(np.stack([p.chip for p in batch]))
        self.descriptors_computed += len(batch)
        return [(p.track_id, TrackSample(np.asarray(d, np.float32), encode_thumbnail(p.chip), p.frame_index, p.time,
                                         p.face_px, p.disrupted, p.quality)) for p, d in zip(batch, descriptors)]

    def forget(self, track_id: int) -> None:
        """An ended track's chips are not described."""
        self._pending = [p for p in self._pending if p.track_id != track_id]
