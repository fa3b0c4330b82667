"""dlib's MMOD CNN face detector, batched over frames: meant for a CUDA build of dlib."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import models
from ..records import Detections
from .base import DetectorTraits, as_rgb, finish, from_dlib_rect, resize
from .hog import affordable_upsample


class CnnDetector:
    """Over 2 s a frame on a CPU; with CUDA, frames go to the GPU in batches. Its boxes are the
    ones face_recognition aligns from, used as they are."""

    def __init__(self, upsample: int = 0, scale: float = 1.0, batch_size: int = 8) -> None:
        self.upsample = upsample
        self.scale = scale
        self.batch_size = batch_size
        # Batched on a GPU, a full pass on every frame costs little more than region passes.
        # It returns faces past its own threshold (confidence 0): each counts as sure.
        self.traits = DetectorTraits(batched=True, every_frame=True, region_face_px=110, score_range=(-1.0, 0.0))

    def _run(self, images: list[NDArray[np.uint8]], upsample: int) -> list[Any]:
        up = min(affordable_upsample(img, upsample) for img in images)
        return list(models.cnn_detector()(images, up, batch_size=max(1, len(images))))

    def _batches(self, images: Sequence[NDArray[np.uint8]], upsample: int, factor: float) -> list[Detections]:
        results: list[Detections] = []
        for start in range(0, len(images), self.batch_size):
            originals = [as_rgb(img) for img in images[start:start + self.batch_size]]
            scaled = [resize(img, factor) for img in originals]
            # dlib batches only images of one size; a video's frames (and region crops) share one.
            same = all(s.shape == scaled[0].shape for s in scaled)
            groups = [(scaled, originals)] if same else [([s], [o]) for s, o in zip(scaled, originals)]
            for group, origs in groups:
                if not group[0].size:
                    results.extend(Detections() for _ in group)
                    continue
                for dets, img in zip(self._run(group, upsample), origs):
                    boxes = np.array([from_dlib_rect(d.rect) for d in dets]).reshape(-1, 4) / factor
                    found = Detections(boxes, np.array([d.confidence for d in dets], np.float64))
                    results.append(finish(found, img.shape[1], img.shape[0]))
        return results

    def detect(self, image: NDArray[np.uint8]) -> Detections:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        return self._batches(images, self.upsample, self.scale)

    def detect_crops(self, crops: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        return self._batches(crops, 0, 1.0)

    def alignment_boxes(self, boxes: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(boxes, np.float64).reshape(-1, 4)

    def work_px(self, height: int, width: int) -> float:
        return height * width * self.scale**2 * 4 ** self.upsample
