"""Labelled boxes drawn with OpenCV, for the annotated video. The Qt view uses the same colours."""

from __future__ import annotations

import colorsys
import math

import cv2
import numpy as np
from numpy.typing import NDArray

from ..records import FrameResult

UNDECIDED = (160, 160, 160)


def person_colour(person_id: int) -> tuple[int, int, int]:
    """A stable, well-spread RGB colour per person (golden-ratio hues)."""
    if person_id < 0:
        return UNDECIDED
    hue = (person_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return int(r * 255), int(g * 255), int(b * 255)


def label_text(name: str | None, distance: float) -> str:
    if name is None:
        return "..."
    return name if math.isnan(distance) else f"{name} {distance:.2f}"


def annotate(image: NDArray[np.uint8], result: FrameResult) -> NDArray[np.uint8]:
    """A copy of the RGB image with a box and a label per face."""
    out = np.ascontiguousarray(image).copy()
    scale = max(0.4, min(out.shape[:2]) / 720)
    thick = max(1, int(round(2 * scale)))
    for box, pid, name, dist in zip(result.boxes, result.person_ids, result.names, result.distances):
        l, t, r, b = (int(round(v)) for v in box)
        colour = person_colour(int(pid))
        cv2.rectangle(out, (l, t), (r, b), colour, thick)
        text = label_text(name, float(dist))
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, 1)
        top = max(t - th - base - 4, 0)
        cv2.rectangle(out, (l, top), (l + tw + 6, top + th + base + 4), colour, -1)
        cv2.putText(out, text, (l + 3, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale,
                    (0, 0, 0), 1, cv2.LINE_AA)
    return out
