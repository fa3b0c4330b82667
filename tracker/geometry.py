"""Pure box geometry. Boxes are (left, top, right, bottom) in source pixels, right/bottom exclusive."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Boxes = NDArray[np.float64]


def as_boxes(boxes: object) -> NDArray[np.float64]:
    """Any (N, 4)-shaped input as float64 boxes; empty input gives shape (0, 4)."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4), got {arr.shape}")
    return arr


def area(boxes: object) -> NDArray[np.float64]:
    b = as_boxes(boxes)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def iou_matrix(a: object, b: object) -> NDArray[np.float64]:
    """Intersection over union of every box in `a` with every box in `b`, shape (len(a), len(b))."""
    a, b = as_boxes(a), as_boxes(b)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def scale_boxes(boxes: object, factor: float) -> NDArray[np.float64]:
    """Boxes measured on an image resized by `factor`, mapped back by dividing."""
    return as_boxes(boxes) / factor


def clip_boxes(boxes: object, width: int, height: int) -> NDArray[np.float64]:
    b = as_boxes(boxes).copy()
    b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, width)
    b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, height)
    return b


def expand_boxes(boxes: object, factor: float) -> NDArray[np.float64]:
    """Grow each box about its centre so that its sides become `factor` times as long."""
    b = as_boxes(boxes)
    centre = (b[:, :2] + b[:, 2:]) / 2
    half = (b[:, 2:] - b[:, :2]) * factor / 2
    return np.concatenate([centre - half, centre + half], axis=1)


def centres(boxes: object) -> NDArray[np.float64]:
    b = as_boxes(boxes)
    return (b[:, :2] + b[:, 2:]) / 2


def widths(boxes: object) -> NDArray[np.float64]:
    b = as_boxes(boxes)
    return b[:, 2] - b[:, 0]


def nms(boxes: object, scores: object, iou_threshold: float = 0.4) -> NDArray[np.int64]:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first."""
    b = as_boxes(boxes)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = list(np.argsort(-s, kind="stable"))
    keep: list[int] = []
    ious = iou_matrix(b, b)
    while order:
        i = order.pop(0)
        keep.append(int(i))
        order = [j for j in order if ious[i, j] <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def to_int_box(box: object) -> list[int]:
    """A box as four ints for JSON output, rounded to the nearest pixel."""
    arr = np.asarray(box, dtype=np.float64).reshape(4)
    return [int(round(v)) for v in arr]
