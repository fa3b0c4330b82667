"""The video view: the newest frame, letterboxed, with a labelled box per face.

It only paints what it is handed; it never waits for the engine. A click on a box emits
`face_clicked` ("Who is this?"); hovering one shows its details.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PyQt6.QtCore import QPoint, QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QFontMetricsF, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PyQt6.QtWidgets import QSizePolicy, QToolTip, QWidget

from tracker.records import FrameResult
from tracker.sinks.draw import person_colour

from ..session.session import Snapshot

LABEL_SHARE = 0.032  # a label's text height as a share of the picture's height on screen
LABEL_MIN_PX = 12
LABEL_MAX_PX = 40


@dataclass(frozen=True)
class DrawnFace:
    """A face as painted: its widget rectangle and its label, for hit tests and tests."""

    track_id: int
    person_id: int
    name: str | None
    known: bool
    distance: float
    rect: QRectF

    @property
    def label(self) -> str:
        return self.name if self.name is not None else "…"


class VideoView(QWidget):
    face_clicked = pyqtSignal(int, str)  # track id, current name ("" when undecided)
    face_menu = pyqtSignal(int, str, QPoint)  # right-click: track id, current name, global position

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._image: QImage | None = None
        self.label_px = LABEL_MIN_PX  # the labels' text height as last painted
        # The video takes the keyboard focus (a click gives it back): the arrow, Home and End keys
        # then seek, rather than move in the people list.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pixels: bytes = b""  # keeps the QImage's buffer alive
        self._result: FrameResult | None = None
        self.seq = -1
        self.faces: list[DrawnFace] = []  # as painted last
        self.paints = 0
        self.placeholder = "Open a video (Ctrl+O), a webcam or a stream"
        self._hover: int | None = None

    # ------------------------------------------------------------------ data
    def show_snapshot(self, snap: Snapshot | None) -> None:
        if snap is None:
            if self._image is not None:
                self._image, self._result, self.seq, self.faces = None, None, -1, []
                self.update()
            return
        if snap.seq == self.seq:
            return
        img = snap.frame.image
        h, w = img.shape[:2]
        self._pixels = np.ascontiguousarray(img).tobytes()
        self._image = QImage(self._pixels, w, h, 3 * w, QImage.Format.Format_RGB888)
        self._result = snap.result
        self.seq = snap.seq
        self.update()

    def frame_size(self) -> tuple[int, int] | None:
        return None if self._image is None else (self._image.width(), self._image.height())

    # ------------------------------------------------------------------ geometry
    def _placement(self) -> tuple[float, float, float]:
        """Scale and offset that fit the frame in the widget, keeping its aspect ratio."""
        assert self._image is not None
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        return scale, (self.width() - iw * scale) / 2, (self.height() - ih * scale) / 2

    def face_at(self, pos: QPointF | QPoint) -> DrawnFace | None:
        p = QPointF(pos)
        hits = [f for f in self.faces if f.rect.contains(p)]
        return min(hits, key=lambda f: f.rect.width() * f.rect.height()) if hits else None

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent | None) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 24))
        if self._image is None:
            painter.setPen(QColor(170, 170, 170))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        scale, ox, oy = self._placement()
        target = QRectF(ox, oy, self._image.width() * scale, self._image.height() * scale)
        painter.drawImage(target, self._image)
        self.faces = self._draw_faces(painter, scale, ox, oy)
        self.paints += 1
        painter.end()

    def _draw_faces(self, painter: QPainter, scale: float, ox: float, oy: float) -> list[DrawnFace]:
        res = self._result
        if res is None or len(res) == 0:
            return []
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        # Sized to the picture on screen, not to the video's pixels: readable on a 720p frame in
        # a small window, and larger in full screen.
        shown_h = (self._image.height() if self._image is not None else 0) * scale
        self.label_px = int(round(min(LABEL_MAX_PX, max(LABEL_MIN_PX, LABEL_SHARE * shown_h))))
        font.setPixelSize(self.label_px)
        font.setBold(True)
        small = QFont(font)
        small.setBold(False)
        small.setPixelSize(max(LABEL_MIN_PX - 2, int(round(font.pixelSize() * 0.8))))
        fm, fm_small = QFontMetricsF(font), QFontMetricsF(small)
        drawn: list[DrawnFace] = []
        for tid, box, pid, name, known, dist in zip(res.track_ids, res.boxes, res.person_ids, res.names,
                                                    res.known, res.distances):
            l, t, r, b = (float(v) for v in box)
            rect = QRectF(ox + l * scale, oy + t * scale, (r - l) * scale, (b - t) * scale)
            face = DrawnFace(int(tid), int(pid), name, bool(known), float(dist), rect)
            drawn.append(face)
            colour = QColor(*person_colour(int(pid)))
            pen = QPen(colour, 3.0 if self._hover == face.track_id else 2.0)
            if name is not None and not known:
                pen.setStyle(Qt.PenStyle.DashLine)  # automatic identities: dashed until named
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)
            tag = "" if math.isnan(face.distance) else f"{face.distance:.2f}"
            width = fm.horizontalAdvance(face.label) + (fm_small.horizontalAdvance(tag) + 6 if tag else 0) + 10
            height = fm.height() + 4
            top = rect.top() - height if rect.top() - height >= oy else rect.bottom()
            # Kept inside the view: a face at the right edge keeps its whole name.
            left = max(0.0, min(rect.left(), self.width() - width))
            label_rect = QRectF(left, top, width, height)
            painter.fillRect(label_rect, colour)
            painter.setPen(QColor(0, 0, 0))
            painter.setFont(font)
            painter.drawText(label_rect.adjusted(5, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, face.label)
            if tag:
                painter.setFont(small)
                painter.setPen(QColor(40, 40, 40))
                painter.drawText(label_rect.adjusted(0, 0, -5, 0),
                                 Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, tag)
        return drawn

    # ------------------------------------------------------------------ mouse
    def mouseMoveEvent(self, event: QMouseEvent | None) -> None:
        if event is None:
            return
        face = self.face_at(event.position())
        hover = face.track_id if face else None
        if hover != self._hover:
            self._hover = hover
            self.setCursor(Qt.CursorShape.PointingHandCursor if face else Qt.CursorShape.ArrowCursor)
            self.update()
        if face is not None:
            kind = "known" if face.known else ("automatic identity" if face.name else "not decided yet")
            dist = "" if math.isnan(face.distance) else f"\nmatch distance {face.distance:.3f}"
            QToolTip.showText(event.globalPosition().toPoint(), f"{face.label} ({kind}){dist}\n"
                              f"track {face.track_id} · click to name, right-click for more", self)
        else:
            QToolTip.hideText()

    def mouseReleaseEvent(self, event: QMouseEvent | None) -> None:
        if event is None or event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return
        face = self.face_at(event.position())
        if face is None:
            return
        if event.button() == Qt.MouseButton.RightButton:
            self.face_menu.emit(face.track_id, face.name or "", event.globalPosition().toPoint())
        else:
            self.face_clicked.emit(face.track_id, face.name or "")
