"""A face's track: its box, its motion and what the detector last saw of it (its identity state
lives in the resolver, identity/resolver.py, under the same id); and how boxes are matched to
tracks from one frame to the next."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import geometry
from ..assignment import min_cost_assignment
from ..records import Detections, Frame

MIN_IOU = 0.15  # a detection this far off a prediction is another face
JUMP_IOU = 0.5  # a detection this far off the track's prediction gets a descriptor at once


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

    def detected(self, dets: Detections, row: int, frame: Frame) -> None:
        """The detector found this face again: row `row` of `dets`."""
        box = dets.boxes[row]
        if geometry.iou_matrix(self.predict(frame.index)[None], np.asarray(box)[None])[0, 0] < JUMP_IOU:
            # The face jumped (a cut the colours did not show, or two faces crossing): look now.
            self.last_embedded = -(10**9)
            self.disrupted = True
        gap = max(frame.index - self.last_frame, 1)
        step = (box - self.box) / gap
        self.velocity = 0.5 * self.velocity + 0.5 * step if self.last_detected >= 0 else step * 0
        self.box = np.asarray(box, dtype=np.float64)
        self.last_frame = self.last_detected = frame.index
        self.detected_image = frame.image
        self.follower = None
        self.detected_now = True
        self.score, self.landmarks = float(dets.scores[row]), dets.landmarks[row]  # type: ignore[index]

    def move_to(self, box: NDArray[np.float64], frame: Frame, track_velocity: bool = False) -> bool:
        """A lost face's box to `box` (clipped to the frame); False (the track ends) if little is left in view."""
        box = geometry.clip_boxes(box[None], frame.width, frame.height)[0]
        if box[2] - box[0] < 4 or box[3] - box[1] < 4:
            return False
        if track_velocity:
            self.velocity = (box - self.box) / max(frame.index - self.last_frame, 1)
        self.box = box
        self.last_frame = frame.index
        return True


def associate(preds: NDArray[np.float64], boxes: NDArray[np.float64]) -> tuple[list[int], list[int]]:
    """Predicted track boxes to detected boxes by IoU, one to one (Hungarian): (track rows, box rows)."""
    if len(preds) == 0 or len(boxes) == 0:
        return [], []
    iou = geometry.iou_matrix(preds, boxes)
    rows, cols = min_cost_assignment(-iou)
    keep = iou[rows, cols] >= MIN_IOU
    return [int(r) for r in rows[keep]], [int(c) for c in cols[keep]]
