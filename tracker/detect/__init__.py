"""Face detection: CenterFace (a CNN through OpenCV's DNN, the default), dlib's HOG, dlib's CNN.

Every detector returns `Detections` (boxes in source pixels, scores, landmarks where it has
them) and declares its `traits`; full-frame passes find new faces and `detect_regions` re-finds
tracked faces cheaply in small crops, the same way for every detector. dlib rectangles are made
and read only in this package and embed.py.
"""

from .base import (
    Detector,
    DetectorTraits,
    as_rgb,
    detect_regions,
    finish,
    from_dlib_rect,
    region_windows,
    to_dlib_rect,
)
from .centerface import CenterFaceDetector
from .dlib_cnn import CnnDetector
from .hog import HogDetector, affordable_upsample
from .registry import DEFAULT_DETECTOR, DETECTORS, REGISTRY, make_detector

__all__ = [
    "DEFAULT_DETECTOR",
    "DETECTORS",
    "REGISTRY",
    "CenterFaceDetector",
    "CnnDetector",
    "Detector",
    "DetectorTraits",
    "HogDetector",
    "affordable_upsample",
    "as_rgb",
    "detect_regions",
    "finish",
    "from_dlib_rect",
    "make_detector",
    "region_windows",
    "to_dlib_rect",
]
