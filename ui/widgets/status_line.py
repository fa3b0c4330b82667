"""The status bar's figures: state and time, falling behind, recording, rates, latency, device;
and a label that cuts its text with "…" rather than widen the window."""

from __future__ import annotations

import math

from PyQt6.QtCore import QSize, Qt
from PyQt6.QtGui import QResizeEvent
from PyQt6.QtWidgets import QLabel, QSizePolicy, QStatusBar

from ..session.state import PLAYING, RECONNECTING, Stats
from ..session.status_text import behind_text, state_text


class ElidedLabel(QLabel):
    """A one-line label that cuts its text with "…" where it has no room, never wrapping or
    clipping it mid-letter; the whole text is its tooltip."""

    def __init__(self, text: str = "", mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle) -> None:
        super().__init__()
        self._full = ""
        self._mode = mode
        self.setWordWrap(False)
        self.setMinimumWidth(60)
        self.setText(text)

    def setText(self, text: str | None) -> None:
        self._full = text or ""
        self.setToolTip(self._full)
        self._fit()

    def full_text(self) -> str:
        return self._full

    def text(self) -> str:
        """The whole text (what is painted may be cut: `shown_text`)."""
        return self._full

    def shown_text(self) -> str:
        return super().text()

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)
        self._fit()

    def sizeHint(self) -> QSize:  # as wide as the whole text, when there is room
        hint = super().sizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 8, hint.height())

    def _fit(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, self._mode, max(10, self.width() - 4))
        super().setText(shown)


class StatusLine:
    """The figures in a status bar, from the session's Stats."""

    def __init__(self, bar: QStatusBar) -> None:
        # Never widens the window: where it has no room its end (the file name first) gives way to
        # "…", never a number cut in half (the tooltip has it all).
        self.state_label = ElidedLabel("idle", Qt.TextElideMode.ElideRight)
        self.state_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.behind_label = QLabel("")
        self.behind_label.setStyleSheet("color: #d35400; font-weight: bold")
        self.source_fps_label = QLabel("")
        self.proc_fps_label = QLabel("")
        self.latency_label = QLabel("")
        self.device_label = QLabel("")
        self.record_label = QLabel("")
        self.record_label.setStyleSheet("color: #e74c3c; font-weight: bold")
        bar.addWidget(self.state_label, 1)
        for w in (self.behind_label, self.record_label, self.source_fps_label, self.proc_fps_label,
                  self.latency_label, self.device_label):
            bar.addPermanentWidget(w)

    def show(self, st: Stats, narrow: bool) -> None:
        """`narrow`: the window has room for the state and time only; the figures go."""
        self.state_label.setText(state_text(st))
        self.state_label.setToolTip(self.state_label.text())
        self.behind_label.setText(behind_text(st))
        active = st.state in (PLAYING, RECONNECTING) and not narrow  # paused: no rates to speak of
        self.source_fps_label.setText(f"source {st.source_fps:.1f} fps" if active and st.source_fps else "")
        self.proc_fps_label.setText(f"processing {st.processing_fps:.1f} fps" if active else "")
        self.latency_label.setText(f"latency {st.latency_ms:.0f} ms" if active and not math.isnan(st.latency_ms)
                                   else "")
        self.device_label.setText("" if narrow else st.device)
        self.record_label.setText(f"● REC {st.recording.name}" if st.recording else "")
