"""People's pictures as Qt shows them (pixmaps, list icons), and how long ago someone was seen."""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import NDArray
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QIcon, QImage, QPixmap

from ..session.state import PersonView

THUMB = 56


def rgb_pixmap(image: NDArray[np.uint8]) -> QPixmap:
    """An RGB picture (a thumbnail, a crop of a frame) as a pixmap of its own (the array may go)."""
    img = np.ascontiguousarray(image)
    h, w = img.shape[:2]
    return QPixmap.fromImage(QImage(img.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy())


def picture_icon(image: NDArray[np.uint8] | None, size: int = THUMB) -> QIcon:
    """A list icon `size` px square: the picture, or grey where there is none."""
    if image is None:
        pix = QPixmap(size, size)
        pix.fill(Qt.GlobalColor.darkGray)
        return QIcon(pix)
    return QIcon(rgb_pixmap(image).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))


def thumbnail_icon(view: PersonView) -> QIcon:
    return picture_icon(view.thumbnail)


def ago(when: float | None, now: float | None = None) -> str:
    if when is None:
        return "never seen"
    s = max(0.0, (now or time.time()) - when)
    if s < 10:
        return "seen just now"
    if s < 3600:
        return f"seen {int(s // 60)} min ago" if s >= 60 else f"seen {int(s)} s ago"
    if s < 86400:
        return f"seen {int(s // 3600)} h ago"
    return f"seen {int(s // 86400)} d ago"
