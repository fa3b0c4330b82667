"""Lazy access to dlib and the model weights shipped by the face_recognition_models package."""

from __future__ import annotations

import functools
import importlib
import importlib.util
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


_WEIGHTS = {
    "pose_predictor_five_point_model_location": "shape_predictor_5_face_landmarks.dat",
    "face_recognition_model_location": "dlib_face_recognition_resnet_model_v1.dat",
    "cnn_face_detector_model_location": "mmod_human_face_detector.dat",
}


def _weights(name: str) -> Path:
    """A weights file of face_recognition_models, found without importing the package: its
    __init__ imports pkg_resources (0.1-0.2 s of start-up, and gone where setuptools is not
    installed)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the model weights are missing: `pip install face_recognition_models`")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / _WEIGHTS[name]
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
