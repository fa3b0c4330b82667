"""The comparison point: face_recognition's per-frame pipeline with the same dlib models.

Every frame: HOG with upsample 1, 5-point landmarks, a descriptor per face, and the nearest
known face within the threshold. No tracking, no memory between frames.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
from numpy.typing import NDArray

from .detect import HogDetector
from .embed import DlibEmbedder
from .identity import pairwise_distances


def frames(path: str) -> Iterator[NDArray[np.uint8]]:
    cap = cv2.VideoCapture(path)
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                return
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def label_frame(image: NDArray[np.uint8], known: NDArray[np.float32], names: list[str],
                threshold: float = 0.6) -> list[tuple[NDArray[np.float64], str | None]]:
    boxes = HogDetector(upsample=1).detect(image).boxes
    emb = DlibEmbedder()
    descriptors = emb.describe(emb.align(image, boxes))
    out: list[tuple[NDArray[np.float64], str | None]] = []
    for box, d in zip(boxes, descriptors):
        name = None
        if len(known):
            dist = pairwise_distances(d[None], known)[0]
            i = int(np.argmin(dist))
            name = names[i] if dist[i] <= threshold else None
        out.append((box, name))
    return out
