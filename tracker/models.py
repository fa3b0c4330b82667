"""Lazy access to dlib and the model weights shipped by the face_recognition_models package."""

from __future__ import annotations

import functools
import importlib
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import ModelError

DLIB_HINT = (
    "install it with `pip install dlib-bin` (CPU wheel) or build it from source with "
    "scripts/build_dlib.sh (OpenBLAS or CUDA)"
)


@functools.cache
def dlib() -> ModuleType:
    try:
        return importlib.import_module("dlib")
    except ImportError as exc:
        raise ModelError(f"dlib is not importable ({exc}); {DLIB_HINT}") from None


def _weights(name: str) -> Path:
    try:
        frm = importlib.import_module("face_recognition_models")
    except ImportError:
        raise ModelError(
            "the model weights are missing: `pip install face_recognition_models`"
        ) from None
    path = Path(getattr(frm, name)())
    if not path.is_file():
        raise ModelError(f"model file missing: {path}; reinstall face_recognition_models")
    return path


@functools.cache
def shape_predictor() -> Any:
    return dlib().shape_predictor(str(_weights("pose_predictor_five_point_model_location")))


@functools.cache
def face_recognizer() -> Any:
    return dlib().face_recognition_model_v1(str(_weights("face_recognition_model_location")))


@functools.cache
def cnn_detector() -> Any:
    return dlib().cnn_face_detection_model_v1(str(_weights("cnn_face_detector_model_location")))


_local = threading.local()


def hog_detector() -> Any:
    """One detector per thread: dlib's scanner keeps scratch state, and sharing it corrupts memory."""
    det = getattr(_local, "hog", None)
    if det is None:
        det = _local.hog = dlib().get_frontal_face_detector()
    return det


@dataclass(frozen=True)
class BuildInfo:
    version: str
    cuda: bool
    blas: bool
    avx: bool
    cuda_devices: int

    def describe(self) -> str:
        parts = [f"dlib {self.version}", f"CUDA {'on' if self.cuda else 'off'}"]
        if self.cuda:
            parts.append(f"{self.cuda_devices} GPU(s)")
        parts += [f"BLAS {'on' if self.blas else 'off'}", f"AVX {'on' if self.avx else 'off'}"]
        return ", ".join(parts)

    def hint(self) -> str | None:
        if not self.cuda and not self.blas:
            return (
                "this dlib has no BLAS: a source build against OpenBLAS (scripts/build_dlib.sh --blas) "
                "computes descriptors ~5x faster but runs HOG ~2x slower; it pays off with many faces "
                "per frame or large enrolments"
            )
        return None


@functools.cache
def build_info() -> BuildInfo:
    d = dlib()
    cuda = bool(getattr(d, "DLIB_USE_CUDA", False))
    devices = 0
    if cuda:
        try:
            devices = int(d.cuda.get_num_devices())
        except Exception:  # a CUDA build on a machine without a usable driver
            devices = 0
    return BuildInfo(
        version=str(getattr(d, "__version__", "?")),
        cuda=cuda and devices > 0,
        blas=bool(getattr(d, "DLIB_USE_BLAS", False)),
        avx=bool(getattr(d, "USE_AVX_INSTRUCTIONS", False)),
        cuda_devices=devices,
    )
