"""How much a face's descriptor can be trusted, from what is known about the face: the
detector's confidence, how frontal its landmarks say it is, and how sharp its chip is.

dlib's descriptor was trained on frontal, sharp faces; on a turned, blurred or half-hidden
face it falls nearer strangers. A low-quality face keeps its track's identity, but it does
not decide a new one, teach an inventory, or found an automatic identity (resolve.py).
Thresholds: README, "Face quality"; tuned with benchmarks/identity.py on labelled footage.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

ROLL_OK = 15.0  # degrees of head tilt (the eye line off level) that alignment takes in its stride
ROLL_LIMIT = 35.0  # ... past which dlib's landmarks, started from an upright box, go astray (quality 0)
YAW_OK = 0.2  # the nose (or mouth) up to this many eye distances off the eyes' midline: frontal (1)
YAW_LIMIT = 0.5  # ... this many: a three-quarter view or a profile (0)
SHARP = 40.0  # variance of the Laplacian (chip at SHARP_PX) at and above which a face counts as sharp
SHARP_PX = 64  # the chip is measured at this size: about a face's own pixels, so an enlarged small face
               # is not taken for a blurred one


def frontal(landmarks: NDArray[np.float64]) -> float:
    """1 for a frontal, upright face, falling to 0 as the head turns to a profile or tilts to the
    side (the alignment starts dlib's landmark predictor from an upright box); 1 where the
    detector gives no landmarks (dlib's HOG finds frontal, upright faces only).

    Landmarks: left eye, right eye, nose tip, left and right mouth corner (x, y)."""
    lm = np.asarray(landmarks, np.float64).reshape(5, 2)
    if np.isnan(lm).any():
        return 1.0
    left, right, nose = lm[0], lm[1], lm[2]
    axis = right - left
    eyes = float(np.hypot(*axis))
    if eyes < 1e-6:
        return 0.0
    mid = (left + right) / 2
    # The nose's offset along the eye line, and the mouth's midpoint's: a turned head moves both.
    mouth = (lm[3] + lm[4]) / 2
    yaw = max(abs(float(np.dot(nose - mid, axis))), abs(float(np.dot(mouth - mid, axis)))) / eyes**2
    roll = abs(float(np.degrees(np.arctan2(axis[1], abs(axis[0]) + 1e-9))))
    turned = (YAW_LIMIT - yaw) / (YAW_LIMIT - YAW_OK)
    tilted = (ROLL_LIMIT - roll) / (ROLL_LIMIT - ROLL_OK)
    return float(np.clip(min(turned, tilted), 0.0, 1.0))


def sharpness(chip: NDArray[np.uint8]) -> float:
    """0-1: the variance of the Laplacian over the chip's middle (eyes, nose, mouth), over SHARP."""
    if chip.size == 0:
        return 0.0
    small = cv2.resize(np.ascontiguousarray(chip), (SHARP_PX, SHARP_PX), interpolation=cv2.INTER_AREA)
    q = SHARP_PX // 4
    middle = small[q:SHARP_PX - q, q:SHARP_PX - q]
    grey = cv2.cvtColor(middle, cv2.COLOR_RGB2GRAY) if middle.ndim == 3 else middle
    var = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    return float(np.clip(var / SHARP, 0.0, 1.0))


def face_quality(score_quality: float, landmarks: NDArray[np.float64], chip: NDArray[np.uint8] | None = None) -> float:
    """0-1, the weakest of: the detector's confidence on a 0-1 scale (DetectorTraits.score_quality),
    how frontal and upright the face is, how sharp its chip is. NaN confidence (unknown) counts as
    sure. Without a chip, the first two alone: a face they already rule out need not be aligned."""
    parts = [1.0 if math.isnan(score_quality) else score_quality, frontal(landmarks)]
    if chip is not None:
        parts.append(sharpness(chip))
    return float(min(parts))
