"""The window's actions: their keys (a standard key, or the usual fallback where the platform has
none), their tooltips, and the undo icon."""

from __future__ import annotations

from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import (
    QColor,
    QIcon,
    QKeySequence,
    QPainter,
    QPen,
    QPixmap,
    QPolygonF,
)

# Where the platform has no key for a standard action (Linux desktops have none for
# Preferences), the key other applications use there.
FALLBACK_KEYS = {QKeySequence.StandardKey.Preferences: "Ctrl+,", QKeySequence.StandardKey.Redo: "Ctrl+Shift+Z"}


def undo_icon() -> QIcon:
    """A curved arrow back (where the desktop theme has no edit-undo icon)."""
    pix = QPixmap(24, 24)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(QColor(60, 60, 60), 2.4)
    p.setPen(pen)
    p.drawArc(QRectF(5, 6, 14, 13), 30 * 16, 230 * 16)  # the curve, open at the top right
    p.setBrush(QColor(60, 60, 60))
    p.drawPolygon(QPolygonF([QPointF(2, 9), QPointF(9, 5), QPointF(9, 13)]))  # the head, at the left
    p.end()
    return QIcon(pix)


def shortcut_keys(shortcut: str | QKeySequence.StandardKey | None) -> list[QKeySequence]:
    """The keys of an action: a key sequence, or a standard key's keys on this platform (or the
    usual fallback where it has none)."""
    if shortcut is None:
        return []
    if isinstance(shortcut, QKeySequence.StandardKey):
        keys = [k for k in QKeySequence.keyBindings(shortcut) if not k.isEmpty()]
        if not keys and shortcut in FALLBACK_KEYS:
            keys = [QKeySequence(FALLBACK_KEYS[shortcut])]
        return keys
    return [QKeySequence(shortcut)]


def tooltip(text: str, keys: list[QKeySequence]) -> str:
    """The tooltip of an action: its text and its keys, unless there are none or the text says them."""
    shown = " or ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
    if not shown or f"({shown}" in text or f" {shown} " in text:
        return text
    return f"{text} ({shown})"
