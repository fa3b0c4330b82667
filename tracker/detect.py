"""Face detection: dlib HOG on the CPU, dlib's CNN (MMOD) batched where a GPU serves.

Full-frame detection finds new faces; `detect_regions` re-finds tracked faces cheaply by
running the detector on a small crop around each, resized so the face is about the size the
detector likes best. dlib rectangles are made and read only in this module and embed.py.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from . import geometry, models
from .config import Config
from .records import Detections

log = logging.getLogger(__name__)

# dlib's pyramid grows 4x in pixels per upsampling step; past this many pixels (about 1 GB of
# HOG features) the step is dropped, so a large photo at a high --upsample cannot exhaust memory.
MAX_UPSAMPLED_PX = 64_000_000
ROI_CONTEXT = 2.2  # a tracked region spans this many face widths, room for motion between frames
CNN_ROI_SIZE = 240


class Detector(Protocol):
    def detect(self, image: NDArray[np.uint8]) -> Detections: ...

    def detect_batch(self, images: Sequence[NDArray[np.uint8]]) -> list[Detections]: ...

    def detect_regions(self, image: NDArray[np.uint8], boxes: NDArray[np.float64]) -> Detections: ...


def from_dlib_rect(rect: Any) -> tuple[float, float, float, float]:
    return (float(rect.left()), float(rect.top()), float(rect.right() + 1), float(rect.bottom() + 1))


def to_dlib_rect(box: Sequence[float] | NDArray[np.float64]) -> Any:
    left, top, right, bottom = (int(round(v)) for v in box)
    return models.dlib().rectangle(left, top, max(left, right - 1), max(top, bottom - 1))


def _resize(image: NDArray[np.uint8], factor: float) -> NDArray[np.uint8]:
    if abs(factor - 1.0) < 1e-6:
        return np.ascontiguousarray(image)
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(image, None, fx=factor, fy=factor, interpolation=interp))


def _finish(boxes: list[tuple[float, float, float, float]], scores: list[float],
            width: int, height: int) -> Detections:
    if not boxes:
        return Detections()
    b = geometry.clip_boxes(np.asarray(boxes), width, height)
    s = np.asarray(scores, dtype=np.float64)
    valid = (b[:, 2] - b[:, 0] >= 4) & (b[:, 3] - b[:, 1] >= 4)
    b, s = b[valid], s[valid]
    keep = geometry.nms(b, s)
    return Detections(b[keep], s[keep])


def region_crops(boxes: NDArray[np.float64], width: int, height: int,
                 context: float = ROI_CONTEXT) -> NDArray[np.int64]:
    """Square crop windows around boxes, clipped to the image, as integer boxes."""
    b = geometry.as_boxes(boxes)
    if len(b) == 0:
        return np.zeros((0, 4), dtype=np.int64)
    side = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) * context
    c = geometry.centres(b)
    win = np.stack([c[:, 0] - side / 2, c[:, 1] - side / 2, c[:, 0] + side / 2, c[:, 1] + side / 2], 1)
    return np.round(geometry.clip_boxes(win, width, height)).astype(np.int64)


class HogDetector:
    """dlib's HOG + linear SVM frontal face detector. It releases the GIL: threads scale."""

    def __init__(self, upsample: int = 1, scale: float = 1.0, roi_face_px: int = 100) -> None:
        self.upsample = upsample
        self.scale = scale
        self.roi_face_px = roi_face_px

    def _run(self, image: NDArray[np.uint8], upsample: int) -> tuple[list[Any], list[float]]:
        rects, scores, _ = models.hog_detector().run(image, affordable_upsample(image, upsample), 0.0)
        return list(rects), list(scores)

    def detect(self, image: NDArray[np.uint8]) -> Detections:
        h, w = image.shape[:2]
        small = _resize(image, self.scale)
        rects, scores = self._run(small, self.upsample)
        boxes = [tuple(v / self.scale for v in from_dlib_rect(r)) for r in rects]
        return _finish(boxes, scores, w, h)  # type: ignore[arg-type]

    def detect_batch(self, images: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        return [self.detect(img) for img in images]

    def detect_regions(self, image: NDArray[np.uint8], boxes: NDArray[np.float64]) -> Detections:
        h, w = image.shape[:2]
        out_boxes: list[tuple[float, float, float, float]] = []
        out_scores: list[float] = []
        b = geometry.as_boxes(boxes)
        for box, win in zip(b, region_crops(b, w, h)):
            x0, y0, x1, y1 = (int(v) for v in win)
            if x1 - x0 < 8 or y1 - y0 < 8:
                continue
            factor = self.roi_face_px / max(box[2] - box[0], 1.0)
            crop = _resize(image[y0:y1, x0:x1], factor)
            # A face scaled to ~roi_face_px sits above HOG's 80 px window; small faces that
            # would need more than 2x get upsampled by dlib instead of interpolated by us.
            rects, scores = self._run(crop, 0)
            for r, s in zip(rects, scores):
                l, t, rr, bb = from_dlib_rect(r)
                out_boxes.append((l / factor + x0, t / factor + y0, rr / factor + x0, bb / factor + y0))
                out_scores.append(s)
        return _finish(out_boxes, out_scores, w, h)


def affordable_upsample(image: NDArray[np.uint8], upsample: int) -> int:
    """`upsample`, lowered until the upsampled image stays under MAX_UPSAMPLED_PX."""
    px = image.shape[0] * image.shape[1]
    up = upsample
    while up > 0 and px * 4 ** up > MAX_UPSAMPLED_PX:
        up -= 1
    if up < upsample:
        log.debug("upsampling %d lowered to %d for a %dx%d image", upsample, up, image.shape[1], image.shape[0])
    return up


class CnnDetector:
    """dlib's MMOD CNN detector, batched. Over 2 s a frame on a CPU: meant for a GPU."""

    def __init__(self, upsample: int = 0, scale: float = 1.0, batch_size: int = 8) -> None:
        self.upsample = upsample
        self.scale = scale
        self.batch_size = batch_size

    def _run(self, images: list[NDArray[np.uint8]], upsample: int) -> list[Any]:
        up = min(affordable_upsample(img, upsample) for img in images)
        return list(models.cnn_detector()(images, up, batch_size=max(1, len(images))))

    def detect(self, image: NDArray[np.uint8]) -> Detections:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        results: list[Detections] = []
        for start in range(0, len(images), self.batch_size):
            originals = list(images[start:start + self.batch_size])
            scaled = [_resize(img, self.scale) for img in originals]
            # dlib batches only images of one size; a video's frames share one.
            same = all(s.shape == scaled[0].shape for s in scaled)
            groups = [(scaled, originals)] if same else [([s], [o]) for s, o in zip(scaled, originals)]
            for group, origs in groups:
                for dets, img in zip(self._run(group, self.upsample), origs):
                    h, w = img.shape[:2]
                    boxes = [tuple(v / self.scale for v in from_dlib_rect(d.rect)) for d in dets]
                    results.append(_finish(boxes, [d.confidence for d in dets], w, h))  # type: ignore[arg-type]
        return results

    def detect_regions(self, image: NDArray[np.uint8], boxes: NDArray[np.float64]) -> Detections:
        h, w = image.shape[:2]
        wins = region_crops(boxes, w, h)
        crops, kept = [], []
        for win in wins:
            x0, y0, x1, y1 = (int(v) for v in win)
            if x1 - x0 < 8 or y1 - y0 < 8:
                continue
            crops.append(np.ascontiguousarray(cv2.resize(image[y0:y1, x0:x1], (CNN_ROI_SIZE, CNN_ROI_SIZE))))
            kept.append(win)
        if not crops:
            return Detections()
        out_boxes, out_scores = [], []
        for dets, win in zip(self._run(crops, 0), kept):
            x0f, y0f, x1f, y1f = (float(v) for v in win)
            fx, fy = CNN_ROI_SIZE / max(x1f - x0f, 1.0), CNN_ROI_SIZE / max(y1f - y0f, 1.0)
            for d in dets:
                l, t, r, b = from_dlib_rect(d.rect)
                out_boxes.append((l / fx + x0f, t / fy + y0f, r / fx + x0f, b / fy + y0f))
                out_scores.append(float(d.confidence))
        return _finish(out_boxes, out_scores, w, h)


def make_detector(cfg: Config) -> Detector:
    if cfg.detector == "cnn":
        if not models.build_info().cuda:
            log.warning("the CNN detector without CUDA takes seconds per frame; use --detector hog")
        return CnnDetector(upsample=cfg.upsample, scale=cfg.detect_scale,
                           batch_size=max(1, min(cfg.embed_batch, 16)))
    return HogDetector(upsample=cfg.upsample, scale=cfg.detect_scale, roi_face_px=cfg.roi_face_px)
