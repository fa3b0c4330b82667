"""Shot-change detection: a cut ends every track, so no box or name survives into a new shot.

Two signs, either one enough:
- the colours change (a Bhattacharyya distance of colour histograms over CUT_DISTANCE:
  measured within shots <= 0.11, at cuts >= 0.36);
- the picture's structure changes at once: the mean absolute difference of small grey
  thumbnails jumps over STRUCTURE_MIN grey levels and over SPIKE times its median over the
  shot's recent frames. That catches cuts between similar-looking shots (the same room from
  another camera, two walking clips before one backdrop: colour distance 0.14 there) while fast
  motion, which changes the picture a lot on every frame of a stretch, is no spike.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np
from numpy.typing import NDArray

CUT_DISTANCE = 0.25  # Bhattacharyya distance of colour histograms; measured: motion <= 0.11, cuts >= 0.36
STRUCTURE_MIN = 10.0  # grey levels (0-255) of mean absolute thumbnail difference a structural cut needs
SPIKE = 8.0  # ... and this many times the shot's recent median difference
HISTORY = 8  # recent frame differences the spike is measured against
MIN_HISTORY = 3  # frames into a shot before the spike test applies (right after a cut there is no "usual")
FLOOR = 1.0  # the usual difference is taken as at least this (a still shot's is ~0)
SMALL = (64, 36)  # both signs are read from the frame at this size


def _small(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    return cv2.resize(image, SMALL, interpolation=cv2.INTER_AREA)


def _histogram(small: NDArray[np.uint8]) -> NDArray[np.float32]:
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256])
    return cv2.normalize(hist, hist).flatten()


def colour_signature(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    return _histogram(_small(image))


def is_cut(previous: NDArray[np.float32] | None, current: NDArray[np.float32],
           threshold: float = CUT_DISTANCE) -> bool:
    """The colour test alone (two signatures)."""
    if previous is None:
        return False
    return float(cv2.compareHist(previous, current, cv2.HISTCMP_BHATTACHARYYA)) > threshold


class ShotDetector:
    """Fed every frame in order; says which frames start a new shot."""

    def __init__(self) -> None:
        self._signature: NDArray[np.float32] | None = None
        self._thumb: NDArray[np.float32] | None = None
        self._recent: deque[float] = deque(maxlen=HISTORY)

    def update(self, image: NDArray[np.uint8]) -> bool:
        small = _small(image)
        signature = _histogram(small)
        thumb = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
        cut = False
        if self._thumb is not None:
            change = float(np.abs(thumb - self._thumb).mean())
            usual = max(float(np.median(self._recent)), FLOOR) if len(self._recent) >= MIN_HISTORY else np.inf
            cut = is_cut(self._signature, signature) or (change > STRUCTURE_MIN and change > SPIKE * usual)
            if cut:
                self._recent.clear()
            else:
                self._recent.append(change)
        self._signature, self._thumb = signature, thumb
        return cut
