"""Messages in the window: a strip over the video that stays until dismissed, and their history.

An error that vanished on its own was easy to miss (a user looked away for ten seconds), so the
strip stays until its ✕ (or Esc while it has the focus) and shows the newest few; every message
is also kept, with its time, for the history window (Ctrl+M).
"""

from __future__ import annotations

import time
from collections import deque

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QGuiApplication, QKeyEvent
from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

SHOWN = 3  # messages on the strip at once; the rest are in the history
KEPT = 200  # messages the history keeps


class MessageBar(QFrame):
    """A non-modal message strip over the video: errors never block the window, nor go unseen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messages")
        self.setStyleSheet("MessageBar { background: #7a2e2e; border-radius: 4px; } QLabel { color: white; }")
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.more = QLabel("")
        self.more.setToolTip("Every message, with its time: Ctrl+M")
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss (the messages stay in the history, Ctrl+M)")
        self.close_button.clicked.connect(self.dismiss)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        row.addWidget(self.label, 1)
        row.addWidget(self.more)
        row.addWidget(self.close_button)
        # (time, text, shown on the strip): problems are shown; status messages only kept.
        self.stamped: deque[tuple[float, str, bool]] = deque(maxlen=KEPT)
        self._shown: list[str] = []
        self.hide()

    def show_message(self, text: str) -> None:
        self.stamped.append((time.time(), text, True))
        self._shown = [*(self._shown if self.isVisible() else []), text]
        earlier = len(self._shown) - SHOWN
        self.label.setText("\n".join(self._shown[-SHOWN:]))
        self.more.setText(f"+{earlier} more" if earlier > 0 else "")
        self.show()

    def record(self, text: str) -> None:
        """A message said elsewhere (the status bar): kept in the history, not shown on the strip."""
        self.stamped.append((time.time(), text, False))

    @property
    def errors(self) -> list[str]:
        """The messages shown on the strip (problems), oldest first; not the status messages."""
        return [text for _, text, shown in self.stamped if shown]

    @property
    def history(self) -> list[str]:
        """The messages kept, oldest first."""
        return [text for _, text, _shown in self.stamped]

    def dismiss(self) -> None:
        self._shown = []
        self.hide()

    def text(self) -> str:
        return self.label.text()

    def keyPressEvent(self, event: QKeyEvent | None) -> None:
        if event is not None and event.key() == Qt.Key.Key_Escape:
            self.dismiss()
            return
        super().keyPressEvent(event)


class MessageHistory(QDialog):
    """Recent messages, newest first, with their times; Copy puts them on the clipboard."""

    def __init__(self, bar: MessageBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Messages")
        self.resize(640, 360)
        self.bar = bar
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.empty = QLabel("No messages yet.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        self.clear_button = buttons.addButton("Clear", QDialogButtonBox.ButtonRole.ResetRole)
        assert self.copy_button is not None and self.clear_button is not None
        self.copy_button.clicked.connect(self.copy)
        self.clear_button.clicked.connect(self.clear)
        buttons.rejected.connect(self.reject)
        col = QVBoxLayout(self)
        col.addWidget(self.empty)
        col.addWidget(self.list, 1)
        col.addWidget(buttons)
        self.reload()

    def lines(self) -> list[str]:
        return [f"{time.strftime('%H:%M:%S', time.localtime(t))}  {text}" for t, text, _ in reversed(self.bar.stamped)]

    def reload(self) -> None:
        self.list.clear()
        for line in self.lines():
            self.list.addItem(QListWidgetItem(line))
        self.empty.setVisible(self.list.count() == 0)

    def copy(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText("\n".join(self.lines()))

    def clear(self) -> None:
        self.bar.stamped.clear()
        self.bar.dismiss()
        self.reload()
