"""Frozen records that flow between stages: sources -> detect/embed -> track -> sinks.

Each record holds one numpy array per field, checked when built, and made read-only so that
no stage can change what another stage sees.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

DESCRIPTOR_SIZE = 128
CHIP_SIZE = 150


def _frozen(arr: NDArray[np.generic]) -> NDArray[np.generic]:
    if arr.flags.writeable:
        arr = arr.view()
        arr.flags.writeable = False
    return arr


@dataclass(frozen=True)
class Frame:
    """One decoded picture: RGB, uint8, C-contiguous (dlib's HOG silently fails on views)."""

    image: NDArray[np.uint8]
    index: int
    time: float
    source: str
    captured_at: float = 0.0  # time.monotonic() when read; for latency figures
    scale: float = 1.0  # source pixels per pixel of `image`: a huge photo is decoded reduced

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"frame scale must be a positive number, got {self.scale}")
        img = self.image
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"frame must be HxWx3 uint8 RGB, got {img.dtype} {img.shape}")
        if not img.flags.c_contiguous:
            img = np.ascontiguousarray(img)
        object.__setattr__(self, "image", _frozen(img))

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


LANDMARKS = 5  # eye centres, nose tip, mouth corners (a detector that gives none leaves NaN)


def _no_landmarks(n: int) -> NDArray[np.float64]:
    return np.full((n, LANDMARKS, 2), np.nan)


@dataclass(frozen=True)
class Detections:
    """Faces found in one frame, row i of every field is face i.

    boxes: (left, top, right, bottom) in source pixels; scores: the detector's own confidence
    (its scale is the detector's: see DetectorTraits.score_range); landmarks: (N, 5, 2) x, y in
    source pixels, NaN where the detector gives none. `select` and `concat` carry every field,
    so a field added here flows through every stage that picks or merges detections.
    """

    boxes: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 4)))
    scores: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0,)))
    landmarks: NDArray[np.float64] | None = None  # None: the detector gives none (stored as NaN)

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        n = len(boxes)
        marks = _no_landmarks(n) if self.landmarks is None else np.asarray(self.landmarks, dtype=np.float64)
        if len(scores) != n:
            raise ValueError(f"{n} boxes but {len(scores)} scores")
        if marks.shape != (n, LANDMARKS, 2):
            raise ValueError(f"landmarks must have shape ({n}, {LANDMARKS}, 2), got {marks.shape}")
        if n and np.any(boxes[:, 2:] <= boxes[:, :2]):
            raise ValueError("every box needs right > left and bottom > top")
        object.__setattr__(self, "boxes", _frozen(boxes))
        object.__setattr__(self, "scores", _frozen(scores))
        object.__setattr__(self, "landmarks", _frozen(marks))

    def __len__(self) -> int:
        return len(self.boxes)

    def _arrays(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def select(self, index: NDArray[np.bool_] | NDArray[np.int64] | slice) -> Detections:
        """The rows `index` picks (a boolean mask or integer indices), every field alike."""
        return Detections(**{k: v[index] for k, v in self._arrays().items()})

    @staticmethod
    def concat(parts: Sequence[Detections]) -> Detections:
        """All rows of `parts`, in order, every field alike."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return Detections()
        if len(parts) == 1:
            return parts[0]
        arrays = [p._arrays() for p in parts]
        return Detections(**{k: np.concatenate([a[k] for a in arrays]) for k in arrays[0]})

    def mapped(self, factor: float, dx: float = 0.0, dy: float = 0.0) -> Detections:
        """Measured on an image resized by `factor` whose origin was (dx, dy) in this image:
        every coordinate field mapped back (divide by the factor, then shift)."""
        shift = np.array([dx, dy])
        return dataclasses.replace(self, boxes=self.boxes / factor + np.tile(shift, 2),
                                   landmarks=self.landmarks / factor + shift)  # type: ignore[operator]


@dataclass(frozen=True)
class Embeddings:
    """Aligned face chips and their 128-D descriptors, row i for box i."""

    boxes: NDArray[np.float64]
    chips: NDArray[np.uint8]
    descriptors: NDArray[np.float32]

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        chips = np.asarray(self.chips, dtype=np.uint8)
        if chips.size == 0:
            chips = np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8)
        desc = np.asarray(self.descriptors, dtype=np.float32).reshape(-1, DESCRIPTOR_SIZE)
        if not (len(boxes) == len(chips) == len(desc)):
            raise ValueError("boxes, chips and descriptors must have the same length")
        if chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"chips must be {CHIP_SIZE}x{CHIP_SIZE}x3, got {chips.shape[1:]}")
        object.__setattr__(self, "boxes", _frozen(boxes))
        object.__setattr__(self, "chips", _frozen(chips))
        object.__setattr__(self, "descriptors", _frozen(desc))

    def __len__(self) -> int:
        return len(self.boxes)


@dataclass(frozen=True)
class FrameResult:
    """What the tracker says about one frame; row i of every array is face i."""

    index: int
    time: float
    source: str
    track_ids: NDArray[np.int64]
    boxes: NDArray[np.float64]
    person_ids: NDArray[np.int64]  # -1 while undecided
    names: tuple[str | None, ...]
    known: NDArray[np.bool_]
    distances: NDArray[np.float64]  # NaN where there is none
    captured_at: float = 0.0
    width: int = 0
    height: int = 0
    scale: float = 1.0  # source pixels per pixel of the frame the boxes were measured on
    # Per face: found by the detector in this frame (else followed by correlation alone); empty
    # when unknown. Offline analysis trusts "two faces in one frame" only between detected ones.
    detected: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))
    # Per face: the detector's score at its last detection (NaN: none) and its 5 landmarks in this
    # frame (NaN where the detector gives none or the face was not detected); empty when unknown.
    scores: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    landmarks: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, LANDMARKS, 2)))
    # Per face: 0-1 as quality.face_quality rates it in this frame (the detector's confidence and
    # how frontal its landmarks are), NaN where it was not detected in this frame; empty when
    # unknown. Event sinks pick a track's best face by it.
    quality: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        n = len(self.names)
        optional = {"detected": np.asarray(self.detected, dtype=np.bool_).reshape(-1),
                    "scores": np.asarray(self.scores, dtype=np.float64).reshape(-1),
                    "quality": np.asarray(self.quality, dtype=np.float64).reshape(-1),
                    "landmarks": np.asarray(self.landmarks, dtype=np.float64).reshape(-1, LANDMARKS, 2)}
        for name, arr in optional.items():
            if len(arr) not in (0, n):
                raise ValueError(f"{name} has {len(arr)} rows, names has {n}")
            object.__setattr__(self, name, _frozen(arr))
        arrays = {
            "track_ids": np.asarray(self.track_ids, dtype=np.int64).reshape(-1),
            "boxes": np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4),
            "person_ids": np.asarray(self.person_ids, dtype=np.int64).reshape(-1),
            "known": np.asarray(self.known, dtype=np.bool_).reshape(-1),
            "distances": np.asarray(self.distances, dtype=np.float64).reshape(-1),
        }
        for name, arr in arrays.items():
            if len(arr) != n:
                raise ValueError(f"{name} has {len(arr)} rows, names has {n}")
            object.__setattr__(self, name, _frozen(arr))
        pids: NDArray[np.int64] = arrays["person_ids"]  # type: ignore[assignment]
        decided = pids[pids >= 0]
        if len(np.unique(decided)) != len(decided):
            raise ValueError("two faces in one frame share a person")

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def empty(cls, index: int, time: float, source: str, **kw: float | int) -> FrameResult:
        return cls(
            index=index,
            time=time,
            source=source,
            track_ids=np.zeros(0, np.int64),
            boxes=np.zeros((0, 4)),
            person_ids=np.zeros(0, np.int64),
            names=(),
            known=np.zeros(0, bool),
            distances=np.zeros(0),
            **kw,  # type: ignore[arg-type]
        )
