"""Help > Keyboard shortcuts: every shortcut of the window's menus, read from the actions
themselves (so the list never goes out of date), and the few keys and clicks that are not menu items."""

from __future__ import annotations

from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMenuBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

# Keys and clicks that belong to a widget rather than to a menu item.
EXTRAS: list[tuple[str, str, str]] = [
    ("Video", "Click a face", "Who is this? (name it, or pick someone)"),
    ("Video", "Right-click a face", "Who is this? / Not NAME"),
    ("Video", "Esc", "Leave full screen"),
    ("People panel", "Double-click a person", "Their page: samples, split, remove, thumbnail"),
    ("Messages", "Esc (on the message strip)", "Dismiss the messages (they stay in the history)"),
]


def menu_shortcuts(bar: QMenuBar) -> list[tuple[str, str, str]]:
    """(menu, keys, what) for every action of the menus that has a shortcut."""
    rows: list[tuple[str, str, str]] = []
    for top in bar.actions():
        menu = top.menu()
        if menu is None:
            continue
        title = top.text().replace("&", "")
        for action in menu.actions():
            rows.extend((title, keys, what) for keys, what in _rows(action))
    return rows


def _rows(action: QAction) -> list[tuple[str, str]]:
    keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()]
    if not keys:
        return []
    text = action.text().replace("&", "").rstrip("…").strip()
    if text.startswith("Undo"):  # it names the step it would undo now; the list says what the key does
        text = "Undo the last change to people"
    elif text.startswith("Redo"):
        text = "Redo the last undone change to people"
    return [(" or ".join(keys), text)]


class ShortcutsDialog(QDialog):
    def __init__(self, bar: QMenuBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(620, 560)
        self.rows = menu_shortcuts(bar) + EXTRAS
        self.table = QTableWidget(len(self.rows), 3)
        self.table.setHorizontalHeaderLabels(["Where", "Keys", "What"])
        vh = self.table.verticalHeader()
        if vh is not None:
            vh.hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, row in enumerate(self.rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        if header is not None:
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
            header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
            header.setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        col = QVBoxLayout(self)
        col.addWidget(self.table, 1)
        col.addWidget(buttons)

    def keys(self) -> dict[str, str]:
        """What each key does (tests)."""
        return {keys: what for _, keys, what in self.rows}
