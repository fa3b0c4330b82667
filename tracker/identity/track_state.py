"""What the resolver keeps per track: its samples (descriptors with where they came from) and
its identity state."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from . import policy as identity


@dataclass(frozen=True)
class TrackSample:
    descriptor: NDArray[np.float32]
    thumbnail: bytes
    frame: int
    time: float
    face_px: float = 80.0  # the face's width in the frame (its alignment box's)
    disrupted: bool = True  # the track was lost or jumped since its previous descriptor
    # 0-1 (quality.py). Only faces of at least min_quality are described at all (track.py), so
    # every sample may decide, teach and found; the figure travels with it for the record.
    quality: float = 1.0

    @property
    def weight(self) -> float:
        return identity.sample_weight(self.face_px)


@dataclass
class TrackIdentity:
    """The identity state of one track."""

    samples: list[TrackSample] = field(default_factory=list)
    fresh: list[TrackSample] = field(default_factory=list)  # not yet considered for learning
    person_id: int = -1
    distance: float = math.nan
    held_for: int = 0  # samples since the label was set
    founded: int = -1  # the automatic identity this track founded, if any
    excluded: set[int] = field(default_factory=set)  # people this track is not ("Not X")
    cooccur: set[int] = field(default_factory=set)  # tracks seen in one frame with this one
    learned: list[int] = field(default_factory=list)  # descriptor ids this track added
    outliers: int = 0
    scored: tuple[int, int] = (-1, -1)  # (gallery version, samples) of the cached scores
    candidates: list[identity.Candidate] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)  # columns of per_sample
    per_sample: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
