"""The detectors a user can choose, by name: the one list the setting, the Settings dialog and
`facetrack --help` read. Each entry builds its detector lazily (no model is read to list them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import DETECT_BACKENDS

if TYPE_CHECKING:
    from ..config import Config
    from .base import Detector


@dataclass(frozen=True)
class DetectorEntry:
    name: str
    summary: str  # one line for --help and the Settings dialog's tooltip
    build: Callable[[Config], Detector]


def _centerface(cfg: Config) -> Detector:
    from .centerface import CenterFaceDetector

    return CenterFaceDetector(width=cfg.detect_width, backend=cfg.detect_backend)


def _hog(cfg: Config) -> Detector:
    from .hog import HogDetector

    return HogDetector(upsample=cfg.upsample, scale=cfg.detect_scale, roi_face_px=cfg.roi_face_px)


def _cnn(cfg: Config) -> Detector:
    import logging

    from .. import models
    from .dlib_cnn import CnnDetector

    if not models.build_info().cuda:
        logging.getLogger(__name__).warning(
            "dlib's CNN detector without CUDA takes seconds per frame; use --detector centerface")
    return CnnDetector(upsample=cfg.upsample, scale=cfg.detect_scale, batch_size=max(1, min(cfg.embed_batch, 16)))


REGISTRY: dict[str, DetectorEntry] = {e.name: e for e in (
    DetectorEntry("centerface", "CenterFace CNN (default): turned, blurred and small faces; ~15 ms a 640 px frame "
                  "on two cores (onnxruntime; OpenCV's DNN ~25 ms), CUDA with onnxruntime-gpu", _centerface),
    DetectorEntry("hog", "dlib HOG: frontal faces only, ~75 ms a 640x360 frame at upsample 1", _hog),
    DetectorEntry("cnn", "dlib's MMOD CNN: for a CUDA build of dlib (seconds a frame on a CPU)", _cnn),
)}
DETECTORS = tuple(REGISTRY)
__all__ = ["DEFAULT_DETECTOR", "DETECTORS", "DETECT_BACKENDS", "REGISTRY", "describe", "make_detector"]
DEFAULT_DETECTOR = "centerface"


def make_detector(cfg: Config) -> Detector:
    return REGISTRY[cfg.detector].build(cfg)


def describe() -> str:
    """The choices for --help: name: summary; ..."""
    return "; ".join(f"{e.name}: {e.summary}" for e in REGISTRY.values())
