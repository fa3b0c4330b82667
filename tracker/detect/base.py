"""What every face detector is to the rest of the engine: a Protocol, the traits it declares,
and the helpers all of them share (finishing raw boxes, region re-detection around tracks).

The pipeline and the tracker read a detector's `traits` (batching, schedule, the face size its
region re-detection wants, landmarks, its score scale); they never ask which class it is.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from .. import geometry, models
from ..records import Detections

# What runs CenterFace: auto (onnxruntime where installed, else OpenCV's DNN), or one of them.
# Here, not in registry.py: the registry builds the detectors, which must not import it back.
DETECT_BACKENDS = ("auto", "onnxruntime", "opencv")
ROI_CONTEXT = 2.2  # a tracked region spans this many face widths, room for motion between frames
NMS_IOU = 0.4
MIN_BOX_PX = 4


@dataclass(frozen=True)
class DetectorTraits:
    """What differs between detectors, declared by each (never found by isinstance).

    batched: detect_batch gains from many frames at once (a GPU): the pipeline gathers keyframes.
    every_frame: a full pass on every frame of a file is cheap enough (batched on a GPU); else
        full passes run every `detect_every` frames and at cuts, with region re-detection between.
    region_face_px: region re-detection resizes each crop so its face is about this wide.
    region_context: ... and the crop spans this many face widths (room for motion between frames).
    landmarks: gives 5 landmarks per face (else the landmarks are NaN).
    score_range: scores from (barely a face, surely a face), to put scores of any detector on 0-1.
    """

    batched: bool = False
    every_frame: bool = False
    region_face_px: int = 90
    region_context: float = ROI_CONTEXT
    landmarks: bool = False
    score_range: tuple[float, float] = (0.0, 1.0)

    def score_quality(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        lo, hi = self.score_range
        return np.clip((np.asarray(scores, np.float64) - lo) / max(hi - lo, 1e-9), 0.0, 1.0)


class Detector(Protocol):
    """Boxes, scores and (where it has them) landmarks, in the pixels of the image it is given."""

    traits: DetectorTraits

    def detect(self, image: NDArray[np.uint8]) -> Detections:
        """A full frame (RGB), at the detector's own working size."""

    def detect_batch(self, images: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        """Several full frames; one call where the detector batches (traits.batched)."""

    def detect_crops(self, crops: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        """Square crops of one size, already resized so a face is about traits.region_face_px
        wide: searched as they are (no resizing, no upsampling)."""

    def alignment_boxes(self, boxes: NDArray[np.float64]) -> NDArray[np.float64]:
        """Its boxes mapped to dlib HOG's convention, the box dlib's 5-point landmark predictor
        (and so the descriptor) was trained on."""

    def work_px(self, height: int, width: int) -> float:
        """The pixels a full pass searches on an image of this size (its cost, in crop pixels)."""


def finish(found: Detections, width: int, height: int, nms_iou: float = NMS_IOU) -> Detections:
    """Raw detections in image pixels: boxes clipped to the image, tiny ones dropped, overlaps
    suppressed (best score first)."""
    if len(found) == 0:
        return Detections()
    boxes = geometry.clip_boxes(found.boxes, width, height)
    valid = (boxes[:, 2] - boxes[:, 0] >= MIN_BOX_PX) & (boxes[:, 3] - boxes[:, 1] >= MIN_BOX_PX)
    if not valid.any():
        return Detections()
    b = boxes[valid]
    # A landmark stays inside its face's box (a face cut by the image edge has its box clipped).
    marks = np.clip(found.landmarks[valid], b[:, None, :2], b[:, None, 2:])  # type: ignore[index]
    kept = dataclasses.replace(found.select(valid), boxes=b, landmarks=marks)
    return kept.select(geometry.nms(kept.boxes, kept.scores, nms_iou))


def region_windows(boxes: NDArray[np.float64], context: float = ROI_CONTEXT) -> NDArray[np.float64]:
    """A square window around each box, `context` face sizes wide (not clipped to the image)."""
    b = geometry.as_boxes(boxes)
    if len(b) == 0:
        return np.zeros((0, 4))
    side = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) * context
    c = geometry.centres(b)
    return np.stack([c[:, 0] - side / 2, c[:, 1] - side / 2, c[:, 0] + side / 2, c[:, 1] + side / 2], 1)


def crop_square(image: NDArray[np.uint8], window: NDArray[np.float64], side: int) -> tuple[NDArray[np.uint8], float]:
    """The window of `image` resized to side x side, black outside the image; with the factor
    from image pixels to crop pixels. The window's origin is (window[0], window[1])."""
    x0, y0, x1 = (float(v) for v in window[:3])
    factor = side / max(x1 - x0, 1e-6)
    # An affine warp crops, pads and resizes in one pass, whatever part of the window is off-image.
    m = np.array([[factor, 0.0, -x0 * factor], [0.0, factor, -y0 * factor]])
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    crop = cv2.warpAffine(image, m, (side, side), flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return np.ascontiguousarray(crop), factor


def detect_regions(detector: Detector, image: NDArray[np.uint8], boxes: NDArray[np.float64]) -> Detections:
    """Re-find faces near `boxes` (tracked faces' predicted places) in `image`, cheaply: a crop
    around each, resized so the face is about the detector's favourite size, all crops searched
    in one call. One function for every detector."""
    b = geometry.as_boxes(boxes)
    h, w = image.shape[:2]
    context = detector.traits.region_context
    wins = region_windows(b, context)
    visible = (np.minimum(wins[:, 2], w) - np.maximum(wins[:, 0], 0) >= 8) & \
              (np.minimum(wins[:, 3], h) - np.maximum(wins[:, 1], 0) >= 8)
    wins = wins[visible]
    if len(wins) == 0:
        return Detections()
    side = int(math.ceil(context * detector.traits.region_face_px))
    if len(wins) * side * side >= detector.work_px(h, w):
        # Many faces: one full pass costs less than their crops (and finds new faces too).
        return detector.detect(image)
    crops, placed = [], []
    for win in wins:
        crop, factor = crop_square(image, win, side)
        crops.append(crop)
        placed.append((factor, float(win[0]), float(win[1])))
    found = detector.detect_crops(crops)
    return finish(Detections.concat([d.mapped(f, x0, y0) for d, (f, x0, y0) in zip(found, placed)]), w, h)


def resize(image: NDArray[np.uint8], factor: float) -> NDArray[np.uint8]:
    """`image` scaled by `factor`, at least 1 px a side (a 3 x 4096 strip at 1/8 stays an image)."""
    if abs(factor - 1.0) < 1e-6:
        return np.ascontiguousarray(image)
    h, w = image.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=interp))


def from_dlib_rect(rect: Any) -> tuple[float, float, float, float]:
    return (float(rect.left()), float(rect.top()), float(rect.right() + 1), float(rect.bottom() + 1))


def to_dlib_rect(box: Sequence[float] | NDArray[np.float64]) -> Any:
    left, top, right, bottom = (int(round(v)) for v in box)
    return models.dlib().rectangle(left, top, max(left, right - 1), max(top, bottom - 1))


def as_rgb(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A picture as contiguous RGB: frames are RGB already; a grey or RGBA one is converted."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"a picture must be grey, RGB or RGBA, got shape {image.shape}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.size else np.zeros((*image.shape, 3), np.uint8)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2RGB) if image.size else np.zeros((*image.shape[:2], 3), np.uint8)
    return np.ascontiguousarray(image)
