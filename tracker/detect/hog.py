"""dlib's HOG + linear SVM frontal face detector: the classic CPU detector, frontal faces only."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import models
from ..records import Detections
from .base import DetectorTraits, as_rgb, finish, from_dlib_rect, resize

log = logging.getLogger(__name__)

# dlib's pyramid grows 4x in pixels per upsampling step; past this many pixels (about 1 GB of
# HOG features) the step is dropped, so a large photo at a high --upsample cannot exhaust memory.
MAX_UPSAMPLED_PX = 64_000_000


def affordable_upsample(image: NDArray[np.uint8], upsample: int) -> int:
    """`upsample`, lowered until the upsampled image stays under MAX_UPSAMPLED_PX."""
    px = image.shape[0] * image.shape[1]
    up = upsample
    while up > 0 and px * 4 ** up > MAX_UPSAMPLED_PX:
        up -= 1
    if up < upsample:
        log.debug("upsampling %d lowered to %d for a %dx%d image", upsample, up, image.shape[1], image.shape[0])
    return up


class HogDetector:
    """dlib's HOG detector. It releases the GIL: threads scale. Its boxes are the alignment
    convention itself."""

    def __init__(self, upsample: int = 1, scale: float = 1.0, roi_face_px: int = 90) -> None:
        self.upsample = upsample
        self.scale = scale
        # A face scaled to ~90 px sits above HOG's 80 px window. HOG returns faces past its own
        # threshold (score 0) and frontal ones only: every face it returns counts as sure.
        self.traits = DetectorTraits(region_face_px=roi_face_px, score_range=(-1.0, 0.0))

    def _run(self, image: NDArray[np.uint8], upsample: int) -> tuple[list[Any], list[float]]:
        rects, scores, _ = models.hog_detector().run(image, affordable_upsample(image, upsample), 0.0)
        return list(rects), list(scores)

    def _found(self, image: NDArray[np.uint8], upsample: int, factor: float) -> Detections:
        image = as_rgb(image)
        if image.size == 0:
            return Detections()
        rects, scores = self._run(resize(image, factor), upsample)
        boxes = np.array([from_dlib_rect(r) for r in rects]).reshape(-1, 4) / factor
        return finish(Detections(boxes, np.asarray(scores, np.float64)), image.shape[1], image.shape[0])

    def detect(self, image: NDArray[np.uint8]) -> Detections:
        return self._found(image, self.upsample, self.scale)

    def detect_batch(self, images: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        return [self.detect(img) for img in images]

    def detect_crops(self, crops: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        return [self._found(c, 0, 1.0) for c in crops]

    def alignment_boxes(self, boxes: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(boxes, np.float64).reshape(-1, 4)

    def work_px(self, height: int, width: int) -> float:
        return height * width * self.scale**2 * 4 ** self.upsample
