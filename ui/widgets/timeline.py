"""The timeline under the video after Analyze…: a row per person, a bar per appearance, on the
file's time axis; a click seeks there. AnalysisPanel puts it under a title with the exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt6.QtCore import QEvent, QRect, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QHelpEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PyQt6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from tracker.sinks import report
from tracker.sinks.draw import person_colour

from ..session.analysis_job import AnalysisResult

ROW_H = 22
NAME_W = 190  # the name column of the timeline
AXIS_H = 20
PAD = 6
VISIBLE_ROWS = 6  # more people than this scroll inside the panel, so the video keeps its room


def _qcolour(person: Any, row: int) -> QColor:
    """A person's colour: their boxes' on the video (by gallery id), so a face and its row match;
    someone the gallery does not hold has a colour of the report's palette (BGR)."""
    if person.person_id >= 0:
        return QColor(*person_colour(int(person.person_id)))
    b, g, r = report.colour(row)
    return QColor(r, g, b)


class TimelineView(QWidget):
    """A row per person, a bar per appearance, on the file's time axis; a click seeks there."""

    seek_requested = pyqtSignal(float)  # seconds

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: AnalysisResult | None = None
        self.names: list[str] = []
        self.people: list[Any] = []  # the result's people, a row each, in order of first appearance
        self.position: float | None = None  # the playhead, seconds
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        # No minimum width: inside its scroll area one would widen the whole window.
        self._resize_rows()

    def set_result(self, result: AnalysisResult | None) -> None:
        self.result = result
        # Rows in the order people first appear, as one reads a timeline (the report lists them
        # by presence instead).
        found = list(result.analysis.people) if result is not None else []
        self.people = sorted(found, key=lambda p: min((a.start for a in p.appearances), default=float("inf")))
        self.names = [p.name for p in self.people]
        self._resize_rows()
        self.update()

    def set_position(self, t: float | None) -> None:
        if t != self.position:
            self.position = t
            self.update()

    def content_height(self) -> int:
        return PAD + max(1, len(self.names)) * ROW_H + AXIS_H

    def _resize_rows(self) -> None:
        self.setMinimumHeight(self.content_height())

    def sizeHint(self) -> QSize:
        return QSize(800, self.content_height())

    # geometry (public: the tests click on bars with these)
    def _span(self) -> tuple[int, int]:
        return NAME_W, max(NAME_W + 10, self.width() - PAD)

    def x_of(self, t: float) -> float:
        x0, x1 = self._span()
        duration = self.result.duration if self.result is not None and self.result.duration > 0 else 1.0
        return x0 + (x1 - x0) * min(max(t, 0.0), duration) / duration

    def time_at(self, x: float) -> float:
        x0, x1 = self._span()
        duration = self.result.duration if self.result is not None else 0.0
        return min(max((x - x0) / (x1 - x0), 0.0), 1.0) * duration

    def row_rect(self, row: int) -> QRect:
        return QRect(0, PAD + row * ROW_H, self.width(), ROW_H)

    def bar_rect(self, row: int, k: int) -> QRect:
        """Appearance `k` of the person in `row`."""
        assert self.result is not None
        a = self.people[row].appearances[k]
        xa = int(self.x_of(a.start))
        xb = max(xa + 3, int(self.x_of(a.end)))  # a glimpse stays visible and clickable
        y = PAD + row * ROW_H
        return QRect(xa, y + 4, xb - xa, ROW_H - 8)

    def _hit(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, appearance) under a point, or None."""
        if self.result is None:
            return None
        row = int((y - PAD) // ROW_H)
        if not 0 <= row < len(self.names):
            return None
        for k in range(len(self.people[row].appearances)):
            if self.bar_rect(row, k).adjusted(-2, -4, 2, 4).contains(int(x), int(y)):
                return row, k
        return None

    # events
    def mousePressEvent(self, event: QMouseEvent | None) -> None:
        if event is None or self.result is None or event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.position()
        if pos.x() >= NAME_W - 2:  # anywhere on the time axis: a bar's own time when on a bar
            self.seek_requested.emit(self.time_at(pos.x()))
        event.accept()

    def event(self, e: QEvent | None) -> bool:
        if e is not None and e.type() == QEvent.Type.ToolTip and isinstance(e, QHelpEvent):
            hit = self._hit(e.pos().x(), e.pos().y())
            if hit is not None and self.result is not None:
                p = self.people[hit[0]]
                a = p.appearances[hit[1]]
                QToolTip.showText(e.globalPos(), f"{p.name}: {report.clock(a.start, True)}–"
                                                 f"{report.clock(a.end, True)} (click to go there)", self)
            else:
                QToolTip.hideText()
            return True
        return super().event(e)

    def paintEvent(self, event: QPaintEvent | None) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pal = self.palette()
        painter.fillRect(self.rect(), pal.base())
        result = self.result
        if result is None:
            painter.end()
            return
        x0, x1 = self._span()
        people = self.people
        text = pal.text().color()
        if not people:
            painter.setPen(text)
            painter.drawText(QRect(PAD, PAD, self.width(), ROW_H), Qt.AlignmentFlag.AlignVCenter,
                             "Nobody found in this file")
        metrics = painter.fontMetrics()
        shade = QColor(text)
        shade.setAlpha(14)
        for row, p in enumerate(people):
            r = self.row_rect(row)
            if row % 2 == 0:
                painter.fillRect(r, shade)
            colour = _qcolour(p, row)
            painter.fillRect(QRect(PAD, r.top() + 5, 6, ROW_H - 10), colour)
            label = f"{p.name}  {report.clock(p.screen_time)}"
            painter.setPen(text)
            painter.drawText(QRect(PAD + 12, r.top(), NAME_W - PAD - 16, ROW_H), Qt.AlignmentFlag.AlignVCenter,
                             metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, NAME_W - PAD - 18))
            for k in range(len(p.appearances)):
                painter.fillRect(self.bar_rect(row, k), colour)
        # The time axis: ticks at a round step, as the report's timeline.png has them. It stays
        # at the bottom of what the scroll area shows, over the rows scrolled under it.
        visible = self.visibleRegion().boundingRect()
        axis_y = PAD + max(1, len(people)) * ROW_H
        if not visible.isEmpty():
            axis_y = min(axis_y, visible.bottom() + 1 - AXIS_H)
        painter.fillRect(QRect(0, axis_y, self.width(), AXIS_H), pal.base())
        painter.setPen(QPen(text, 1))
        painter.drawLine(x0, axis_y, x1, axis_y)
        step = next(v for v in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 1e9)
                    if result.duration / v <= max(2, (x1 - x0) // 70))
        tick = 0.0
        while tick <= result.duration + 1e-6:
            x = int(self.x_of(tick))
            painter.drawLine(x, axis_y, x, axis_y + 4)
            painter.drawText(QRect(x - 30, axis_y + 4, 60, AXIS_H - 4), Qt.AlignmentFlag.AlignHCenter,
                             report.clock(tick, tenths=step < 1))
            tick += step
        if self.position is not None:
            x = int(self.x_of(self.position))
            painter.setPen(QPen(QColor(220, 40, 40), 2))
            painter.drawLine(x, PAD, x, axis_y)
        painter.end()


class AnalysisPanel(QFrame):
    """Under the video: a title, the exports, a close button and the timeline."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel("")
        # A long title is cut rather than widening the window (its whole text is the tooltip).
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.csv_button = QPushButton("Export CSV…")
        self.json_button = QPushButton("Export JSON…")
        for b in (self.csv_button, self.json_button):
            b.setToolTip("Save who appears when (one entry per appearance)")
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Hide the timeline")
        close.clicked.connect(self.hide)
        head = QHBoxLayout()
        head.setContentsMargins(6, 2, 2, 0)
        head.addWidget(self.title, 1)
        head.addWidget(self.csv_button)
        head.addWidget(self.json_button)
        head.addWidget(close)
        self.timeline = TimelineView()
        self.rows_area = QScrollArea()
        self.rows_area.setWidget(self.timeline)
        self.rows_area.setWidgetResizable(True)
        self.rows_area.setFrameShape(QFrame.Shape.NoFrame)
        self.rows_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = self.rows_area.verticalScrollBar()
        if bar is not None:  # the axis is drawn at the bottom of the view: drawn again on a scroll
            bar.valueChanged.connect(lambda _v: self.timeline.update())
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 2)
        col.setSpacing(2)
        col.addLayout(head)
        col.addWidget(self.rows_area)
        self.hide()

    def show_result(self, result: AnalysisResult, room: int = 10_000) -> None:
        """Show `result`, with at most `room` pixels of height for the rows (the rest scroll)."""
        people = result.analysis.people
        known = sum(p.known for p in people)
        self.title.setText(f"Who appears when in {Path(result.spec).name}: {len(people)} "
                           f"{'person' if len(people) == 1 else 'people'} ({known} known)")
        self.title.setToolTip(self.title.text())
        self.timeline.set_result(result)
        fit = max(2, (room - PAD - AXIS_H - 2) // ROW_H)
        rows = min(max(1, len(people)), VISIBLE_ROWS, fit)
        self.rows_area.setFixedHeight(PAD + rows * ROW_H + AXIS_H + 2)
        self.show()
