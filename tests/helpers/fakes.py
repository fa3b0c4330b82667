"""Fakes for the tracker's Protocols: faces are solid coloured squares, colour is identity."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from tracker import geometry
from tracker.detect import DetectorTraits
from tracker.records import CHIP_SIZE, Detections

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}
_rng = np.random.default_rng(3)
BASES = {name: _rng.normal(size=128) * 0.09 for name in COLOURS}  # ~1.0 apart


# A checkerboard of 4 px squares, +-30 grey levels: the detail of a sharp face.
TEXTURE = (((np.indices((CHIP_SIZE, CHIP_SIZE)) // 4).sum(0) % 2) * 60 - 30)[..., None].astype(np.int16)


def draw(width: int, height: int, faces: dict[str, tuple[int, int, int]]) -> NDArray[np.uint8]:
    """A black frame with a square per (colour -> (x, y, size))."""
    img = np.zeros((height, width, 3), np.uint8)
    for colour, (x, y, s) in faces.items():
        img[y:y + s, x:x + s] = COLOURS[colour]
    return img


def colour_of(chip: NDArray[np.uint8]) -> str:
    mean = chip.reshape(-1, 3).mean(0)
    return min(COLOURS, key=lambda c: float(np.abs(mean - COLOURS[c]).sum()))


class FakeDetector:
    """Solid squares of the known colours are faces; region searches (tracker.detect.detect_regions,
    shared by every detector) go through detect_crops like a real detector's."""

    traits = DetectorTraits(region_face_px=40)

    def __init__(self) -> None:
        self.full_calls = 0
        self.region_calls = 0

    def _find(self, image: NDArray[np.uint8]) -> Detections:
        boxes = []
        for rgb in COLOURS.values():
            mask = np.all(image == rgb, axis=2).astype(np.uint8)
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            for x, y, w, h, area in stats[1:n]:
                if area > 50:
                    boxes.append((x, y, x + w, y + h))
        return Detections(np.array(boxes, float).reshape(-1, 4), np.ones(len(boxes)))

    def detect(self, image: NDArray[np.uint8]) -> Detections:
        self.full_calls += 1
        return self._find(image)

    def detect_batch(self, images: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        return [self.detect(i) for i in images]

    def detect_crops(self, crops: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        self.region_calls += 1
        # A resized crop blends a square's edge pixels; its inside keeps the exact colour.
        return [self._find(c) for c in crops]

    def alignment_boxes(self, boxes: NDArray[np.float64]) -> NDArray[np.float64]:
        return geometry.as_boxes(boxes)

    def work_px(self, height: int, width: int) -> float:
        return float(height * width)


class FakeEmbedder:
    """Descriptor = the colour's base vector plus noise; `override` forces one colour's next
    descriptors to another colour's (an outlier)."""

    def __init__(self, noise: float = 0.01) -> None:
        self.noise = noise
        self.rng = np.random.default_rng(0)
        self.override: dict[str, list[str]] = {}
        self.calls = 0

    def align(self, image: NDArray[np.uint8], boxes: NDArray[np.float64]) -> NDArray[np.uint8]:
        chips = []
        for l, t, r, b in np.round(geometry.as_boxes(boxes)).astype(int):
            chip = cv2.resize(np.ascontiguousarray(image[t:b, l:r]), (CHIP_SIZE, CHIP_SIZE)).astype(np.int16)
            # A real face has detail; a flat square would be judged a blurred (low-quality) face.
            # The texture averages out, so colour_of still reads the square's colour.
            chips.append(np.clip(chip + TEXTURE, 0, 255).astype(np.uint8))
        return np.array(chips, np.uint8).reshape(-1, CHIP_SIZE, CHIP_SIZE, 3)

    def describe(self, chips: NDArray[np.uint8]) -> NDArray[np.float32]:
        self.calls += 1
        out = []
        for chip in chips:
            c = colour_of(chip)
            if self.override.get(c):
                c = self.override[c].pop(0)
            out.append(BASES[c] + self.rng.normal(size=128) * self.noise)
        return np.array(out, np.float32).reshape(-1, 128)

    def descriptor(self, colour: str) -> NDArray[np.float32]:
        return (BASES[colour] + self.rng.normal(size=128) * self.noise).astype(np.float32)
