"""Alignment (5-point landmarks -> 150x150 chips) and batched 128-D descriptors from dlib's ResNet."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from . import geometry, models
from .detect import to_dlib_rect
from .records import CHIP_SIZE, DESCRIPTOR_SIZE, Embeddings

CHIP_PADDING = 0.25  # what dlib's ResNet was trained with


class Embedder(Protocol):
    def align(self, image: NDArray[np.uint8], boxes: NDArray[np.float64]) -> NDArray[np.uint8]: ...

    def describe(self, chips: NDArray[np.uint8]) -> NDArray[np.float32]: ...


def empty_chips() -> NDArray[np.uint8]:
    return np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8)


class DlibEmbedder:
    """Landmarks and chips per face; descriptors for many chips in one call (fills a GPU)."""

    def __init__(self, num_jitters: int = 0) -> None:
        self.num_jitters = num_jitters

    def align(self, image: NDArray[np.uint8], boxes: NDArray[np.float64]) -> NDArray[np.uint8]:
        b = geometry.as_boxes(boxes)
        if len(b) == 0:
            return empty_chips()
        d = models.dlib()
        predictor = models.shape_predictor()
        img = np.ascontiguousarray(image)
        shapes = d.full_object_detections()
        for box in b:
            shapes.append(predictor(img, to_dlib_rect(box)))
        chips = d.get_face_chips(img, shapes, size=CHIP_SIZE, padding=CHIP_PADDING)
        return np.stack([np.asarray(c, dtype=np.uint8) for c in chips])

    def describe(self, chips: NDArray[np.uint8]) -> NDArray[np.float32]:
        if len(chips) == 0:
            return np.zeros((0, DESCRIPTOR_SIZE), dtype=np.float32)
        recognizer = models.face_recognizer()
        # dlib holds the GIL for the whole call. A GPU needs the batch; on a CPU a batch is no
        # faster, so chips go one per call and other threads (the window) wait one chip at most.
        per_call = len(chips) if models.build_info().cuda else 1
        vectors: list[object] = []
        for start in range(0, len(chips), per_call):
            batch = [np.ascontiguousarray(c) for c in chips[start:start + per_call]]
            vectors.extend(recognizer.compute_face_descriptor(batch, self.num_jitters))
        return np.asarray([np.asarray(v) for v in vectors], dtype=np.float32)


def embed(embedder: Embedder, image: NDArray[np.uint8], boxes: NDArray[np.float64]) -> Embeddings:
    """Align and describe every box of one image."""
    chips = embedder.align(image, boxes)
    return Embeddings(boxes=geometry.as_boxes(boxes), chips=chips, descriptors=embedder.describe(chips))
