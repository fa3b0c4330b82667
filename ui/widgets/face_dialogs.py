"""Faces in the people dialogs: the face a question is about, beside the question; names in their
natural order (Person 2 before Person 10); and what is plainly no video (a text file)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QPixmap, QShowEvent
from PyQt6.QtWidgets import QInputDialog, QLabel, QWidget

from .pictures import rgb_pixmap

FACE_PX = 120  # the face shown in "Who is this?"


class FaceInputDialog(QInputDialog):
    """QInputDialog with the face it asks about above the question (its layout exists once shown)."""

    def __init__(self, parent: QWidget | None, picture: QPixmap | None) -> None:
        super().__init__(parent)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if picture is not None:
            self.picture.setPixmap(picture)
        self._placed = picture is None

    def showEvent(self, event: QShowEvent | None) -> None:
        super().showEvent(event)
        layout = self.layout()
        if not self._placed and layout is not None and hasattr(layout, "insertWidget"):
            layout.insertWidget(0, self.picture)
            self._placed = True


def face_picture(image: np.ndarray, box: Sequence[float], size: int = FACE_PX) -> QPixmap:
    """The face in `box` of an RGB frame, with a margin, as a pixmap `size` px high."""
    h, w = image.shape[:2]
    left, top, right, bottom = (float(v) for v in box)
    pad = 0.25 * max(right - left, bottom - top)
    x0, y0 = max(0, int(left - pad)), max(0, int(top - pad))
    x1, y1 = min(w, int(right + pad)), min(h, int(bottom + pad))
    crop = image[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
    return rgb_pixmap(crop).scaledToHeight(size, Qt.TransformationMode.SmoothTransformation)


PICK_FACE_PX = 32  # the faces beside the names of "Who is this?"


PICK_CHOICE_PX = 96  # the faces to choose from when a photo to enrol shows several


UNNAMED_FACE_PX = 48  # the faces beside each automatic identity in "Name the unnamed"


def natural_key(name: str) -> list[object]:
    """Sorts names as people read them: "Person 2" before "Person 10", case aside."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t.lower()) for t in re.split(r"(\d+)", name) if t]


def looks_like_text(path: Path) -> bool:
    """A file whose start is text (no NUL byte, valid UTF-8): no video container starts so."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError:
        return False
    if not head or b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # a character cut by the 1024-byte read
    return True
