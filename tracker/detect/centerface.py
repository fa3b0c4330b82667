"""CenterFace (Xu et al. 2019, "Face as Point", MIT licence): an anchor-free CNN face detector
that gives a box, a score and 5 landmarks per face, and sees turned, blurred and partly hidden
faces that dlib's HOG misses. 7.3 MB of ONNX, run by onnxruntime where it is installed (its CUDA provider where a GPU is
present; on a CPU it is about 1.8x faster) or else by OpenCV's DNN module, which
opencv-python-headless always has.

The network takes an RGB float blob (1, 3, H, W), 0-255 unscaled, H and W multiples of 32, and
returns a heatmap of face centres, log box sizes, centre offsets and landmarks, all at 1/4 of
the input's resolution (weights/SOURCES.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from ..errors import ModelError
from ..records import Detections
from .base import DETECT_BACKENDS, DetectorTraits, as_rgb, finish, resize

log = logging.getLogger(__name__)

MODEL_FILE = "centerface.onnx"
STRIDE = 4  # the outputs' cells are 4 input pixels
ALIGN = 32  # the input's sides are multiples of this
SCORE_THRESHOLD = 0.5  # a heatmap peak above this is a face (the authors' value)
# A face already tracked is re-found in its region down to this score: hysteresis, so a face
# near the threshold (blurred, turning) does not blink on and off. New faces still need
# SCORE_THRESHOLD (the tracker starts tracks only at the bottom of score_range).
REGION_THRESHOLD = 0.35
NMS_IOU = 0.3
MAX_UPSCALE = 2.0  # a small image is enlarged at most this much to reach the working size

# CenterFace's box spans forehead to chin; dlib's 5-point predictor (and so the descriptor) was
# trained on HOG's boxes: square, smaller, lower. Fitted on faces both detectors find
# (scripts/fit_alignment.py; README "CenterFace and dlib's alignment").
ALIGN_SIDE = 0.86  # the HOG box's side, in CenterFace box heights
ALIGN_DY = 0.045  # its centre below CenterFace's, in CenterFace box heights
ALIGN_DX = 0.0  # ... to the right, in box heights


def model_path() -> Path:
    """The network shipped inside the package (tracker/detect/weights/)."""
    return Path(str(resources.files("tracker.detect") / "weights" / MODEL_FILE))


class _Backend(Protocol):
    def run(self, blob: NDArray[np.float32]) -> list[NDArray[np.float32]]: ...


class _OpenCvBackend:
    """cv2.dnn: one network per thread (a network keeps per-call state and is not safe to share)."""

    name = "OpenCV DNN (CPU)"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._net()  # a missing or unreadable file is an error now, not on the first frame

    def _net(self) -> Any:
        net = getattr(self._local, "net", None)
        if net is None:
            try:
                net = cv2.dnn.readNetFromONNX(str(self.path))
            except cv2.error as exc:
                first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "cannot read it"
                raise ModelError(f"face detection model {self.path} is unreadable ({first}); "
                                 "reinstall facetrack") from None
            self._local.net = net
            self._local.outputs = net.getUnconnectedOutLayersNames()
        return net

    def run(self, blob: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        net = self._net()
        net.setInput(blob)
        return list(net.forward(self._local.outputs))


class _OnnxRuntimeBackend:
    """onnxruntime: on its CUDA provider where a GPU is there (the `gpu` extra), else on the CPU,
    where it runs this network about 1.8x faster than OpenCV's DNN with the same outputs (the
    `onnx` extra). One session serves every thread (its run() is thread-safe)."""

    def __init__(self, path: Path, ort: Any, gpu: bool) -> None:
        # onnxruntime's own lines (a telemetry id it cannot persist where HOME is read-only, provider
        # notes) are not the user's business: errors only, as OpenCV's and FFmpeg's.
        ort.set_default_logger_severity(3)
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if gpu else ["CPUExecutionProvider"]
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own classes, not exported in one place
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "cannot read it"
            raise ModelError(f"face detection model {path} is unreadable ({first}); reinstall facetrack") from None
        self.input = self.session.get_inputs()[0].name
        self.name = f"onnxruntime ({'CUDA' if 'CUDAExecutionProvider' in self.session.get_providers() else 'CPU'})"

    def run(self, blob: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        return list(self.session.run(None, {self.input: blob}))


@contextlib.contextmanager
def _native_stderr_quiet() -> Iterator[None]:
    """File descriptor 2 to /dev/null for the while (a native library's own lines), unless facetrack
    logs at debug level (-v)."""
    if logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
        yield
        return
    try:
        saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _backend(path: Path, choice: str) -> _Backend:
    """auto: onnxruntime where it is installed (its CUDA provider where a GPU is), else OpenCV."""
    if not path.is_file():
        raise ModelError(f"face detection model missing: {path}; reinstall facetrack "
                         "(or choose --detector hog)")
    if choice != "opencv":
        try:
            with _native_stderr_quiet():  # its import prints a telemetry warning where HOME is read-only
                import onnxruntime as ort
        except ImportError:
            if choice == "onnxruntime":
                raise ModelError("onnxruntime is not installed: pip install 'facetrack[onnx]'") from None
        else:
            return _OnnxRuntimeBackend(path, ort, "CUDAExecutionProvider" in ort.get_available_providers())
    return _OpenCvBackend(path)


def decode(outputs: Sequence[NDArray[np.float32]], item: int,
           threshold: float = SCORE_THRESHOLD) -> Detections:
    """The faces of batch item `item` in the network's input pixels (before suppression)."""
    heat, sizes, offsets, marks = (o[item] for o in outputs)
    ys, xs = np.nonzero(heat[0] > threshold)
    if len(ys) == 0:
        return Detections()
    h = np.exp(sizes[0, ys, xs].astype(np.float64)) * STRIDE
    w = np.exp(sizes[1, ys, xs].astype(np.float64)) * STRIDE
    cy = (ys + offsets[0, ys, xs] + 0.5) * STRIDE
    cx = (xs + offsets[1, ys, xs] + 0.5) * STRIDE
    x0, y0 = cx - w / 2, cy - h / 2
    boxes = np.stack([x0, y0, x0 + w, y0 + h], 1)
    lm = marks[:, ys, xs].T.reshape(-1, 5, 2).astype(np.float64)  # (y, x) in box heights / widths
    landmarks = np.stack([x0[:, None] + lm[:, :, 1] * w[:, None], y0[:, None] + lm[:, :, 0] * h[:, None]], 2)
    return Detections(boxes, heat[0, ys, xs], landmarks)


def _blob(images: Sequence[NDArray[np.uint8]]) -> NDArray[np.float32]:
    """Images of one size (sides multiples of ALIGN) as one NCHW float blob."""
    return np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2), dtype=np.float32)


def _padded(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """`image` with black added right and below up to multiples of ALIGN (no distortion)."""
    h, w = image.shape[:2]
    ph, pw = -(-h // ALIGN) * ALIGN, -(-w // ALIGN) * ALIGN
    if (ph, pw) == (h, w):
        return np.ascontiguousarray(image)
    return cv2.copyMakeBorder(image, 0, ph - h, 0, pw - w, cv2.BORDER_CONSTANT, value=0)


class CenterFaceDetector:
    """Full frames at `width` px on their longer side (smaller ones enlarged at most 2x), padded to
    multiples of 32; region crops searched as they come, all in one batch."""

    def __init__(self, width: int = 640, threshold: float = SCORE_THRESHOLD, backend: str = "auto",
                 path: Path | None = None) -> None:
        if backend not in DETECT_BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(DETECT_BACKENDS)}, got {backend!r}")
        self.width = width
        self.threshold = threshold
        self.path = path or model_path()
        self._choice = backend
        self._backend: _Backend | None = None
        self._lock = threading.Lock()
        # A face about 35 px wide in a crop of 1.8 face widths, 63 px (run at 64: the network's
        # sides are multiples of 32): ~1 ms, and room for a face to move 0.4 of its width a frame.
        self.traits = DetectorTraits(region_face_px=35, region_context=1.8, landmarks=True,
                                     score_range=(SCORE_THRESHOLD, 0.9))

    def backend(self) -> _Backend:
        """Loaded on first use (lazily: `--help` and HOG runs never read the model)."""
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    self._backend = _backend(self.path, self._choice)
                    log.debug("CenterFace on %s", getattr(self._backend, "name", "?"))
        return self._backend

    def _factor(self, image: NDArray[np.uint8]) -> float:
        return min(self.width / max(image.shape[:2]), MAX_UPSCALE)

    def _search(self, images: Sequence[NDArray[np.uint8]], factors: Sequence[float],
                threshold: float) -> list[Detections]:
        """`images` resized by their factors and padded, run in one batch where their sizes agree."""
        prepared = [_padded(resize(img, f)) for img, f in zip(images, factors)]
        results: list[Detections] = [Detections()] * len(prepared)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, p in enumerate(prepared):
            groups.setdefault(p.shape, []).append(i)
        for members in groups.values():
            outputs = self.backend().run(_blob([prepared[i] for i in members]))
            for item, i in enumerate(members):
                found = decode(outputs, item, threshold).mapped(factors[i])
                results[i] = finish(found, images[i].shape[1], images[i].shape[0], NMS_IOU)
        return results

    def detect(self, image: NDArray[np.uint8]) -> Detections:
        image = as_rgb(image)
        if image.size == 0:
            return Detections()
        return self._search([image], [self._factor(image)], self.threshold)[0]

    def detect_batch(self, images: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        return [self.detect(img) for img in images]

    def detect_crops(self, crops: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        return self._search(crops, [1.0] * len(crops), min(self.threshold, REGION_THRESHOLD))

    def alignment_boxes(self, boxes: NDArray[np.float64]) -> NDArray[np.float64]:
        return to_alignment_boxes(boxes)

    def work_px(self, height: int, width: int) -> float:
        f = min(self.width / max(height, width, 1), MAX_UPSCALE)
        return float(-(-round(height * f) // ALIGN) * ALIGN * -(-round(width * f) // ALIGN) * ALIGN)


def to_alignment_boxes(boxes: NDArray[np.float64]) -> NDArray[np.float64]:
    """CenterFace boxes mapped to dlib HOG's convention (see ALIGN_*)."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    h = b[:, 3] - b[:, 1]
    cx = (b[:, 0] + b[:, 2]) / 2 + ALIGN_DX * h
    cy = (b[:, 1] + b[:, 3]) / 2 + ALIGN_DY * h
    half = ALIGN_SIDE * h / 2
    return np.stack([cx - half, cy - half, cx + half, cy + half], 1)

