"""A person's page: every stored sample as a thumbnail with where it came from.

Select samples, then Remove them (a wrong face learned by mistake), Split them into a new
person (two people lumped together), or use one as the person's thumbnail. Everything goes to
the session as a command; the page reloads from the gallery when the command is done.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from PyQt6 import sip
from PyQt6.QtCore import QSize, Qt
from PyQt6.QtGui import QCloseEvent, QIcon
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tracker.gallery.gallery import Sample
from tracker.gallery.schema import decode_thumbnail

from ..session.session import Session
from .pictures import picture_icon

SAMPLE_ID = Qt.ItemDataRole.UserRole
THUMB = 96
ORIGIN_LABEL = {"enrolled": "photo", "named": "named", "learned": "learned"}

# Runs `on_done(fut)` on the GUI thread once the engine thread has run the command.
RunCommand = Callable[[Future[Any], Callable[[Future[Any]], None]], None]


def sample_icon(sample: Sample) -> QIcon:
    return picture_icon(decode_thumbnail(sample.thumbnail), THUMB)


class PersonPage(QDialog):
    def __init__(self, session: Session, name: str, run_command: RunCommand,
                 parent: QWidget | None = None, show_sample: Callable[[str | None, int | None], str] | None = None
                 ) -> None:
        super().__init__(parent)
        self.session = session
        self.show_sample = show_sample  # a double-click: where in the open file a sample was taken
        self.name = name
        self.run_command = run_command
        self.samples: list[Sample] = []
        self.gone = False  # closed: answers that come later are dropped
        self.setWindowTitle(name)
        self.resize(640, 520)
        self.title = QLabel(name)
        self.title.setStyleSheet("font-weight: bold; font-size: 14px")
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setWordWrap(True)
        self.list.setGridSize(QSize(THUMB + 40, THUMB + 44))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.list.itemDoubleClicked.connect(self._show_in_video)
        self.list.setToolTip("Double-click a sample taken from the open file to see where it was taken")
        self.remove_btn = QPushButton("Remove")
        self.split_btn = QPushButton("Split into new person…")
        self.cover_btn = QPushButton("Use as thumbnail")
        self.remove_btn.setToolTip("Delete the selected samples (faces stored by mistake)")
        self.split_btn.setToolTip("The selected samples are someone else: move them to a new person")
        self.remove_btn.clicked.connect(self.remove_selected)
        self.split_btn.clicked.connect(lambda: self.split_selected())
        self.cover_btn.clicked.connect(self.use_as_cover)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        for b in (self.remove_btn, self.split_btn, self.cover_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        self.note = QLabel("")  # what the last command did (Split, Remove and Use as thumbnail say so)
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        self._update_buttons()
        self.reload()

    def done(self, result: int) -> None:
        self.gone = True
        super().done(result)

    def closeEvent(self, event: QCloseEvent | None) -> None:
        self.gone = True
        super().closeEvent(event)

    def _alive(self) -> bool:
        return not self.gone and not sip.isdeleted(self)

    def reload(self) -> None:
        if self._alive():
            self.run_command(self.session.people_commands.samples(self.name), self._show)

    def _show(self, fut: Future[Any]) -> None:
        if not self._alive():
            return
        if fut.exception() is not None:  # the person is gone (merged or deleted meanwhile)
            self.title.setText(f"{self.name}: {fut.exception()}")
            self.samples = []
            self.list.clear()
            self._update_buttons()
            return
        self.samples = fut.result()
        counts = {o: sum(s.origin == o for s in self.samples) for o in ORIGIN_LABEL}
        self.title.setText(f"{self.name}: {len(self.samples)} sample(s) · {counts['enrolled']} photo(s), "
                           f"{counts['named']} named, {counts['learned']} learned")
        self.list.clear()
        for s in self.samples:
            item = QListWidgetItem(sample_icon(s), f"#{s.id} {ORIGIN_LABEL.get(s.origin, s.origin)}")
            item.setData(SAMPLE_ID, s.id)
            item.setToolTip(f"sample {s.id}: {s.describe()}")
            self.list.addItem(item)
        self._update_buttons()

    def selected_ids(self) -> list[int]:
        return [int(i.data(SAMPLE_ID)) for i in self.list.selectedItems()]

    def select_ids(self, ids: list[int]) -> None:
        self.list.clearSelection()
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item is not None and int(item.data(SAMPLE_ID)) in ids:
                item.setSelected(True)

    def _update_buttons(self) -> None:
        n = len(self.list.selectedItems())
        self.remove_btn.setEnabled(n >= 1)
        self.split_btn.setEnabled(1 <= n < len(self.samples))
        self.cover_btn.setEnabled(n == 1)

    def _show_in_video(self, item: QListWidgetItem) -> None:
        sample = next((s for s in self.samples if s.id == int(item.data(SAMPLE_ID))), None)
        if sample is not None and self.show_sample is not None:
            self.note.setText(self.show_sample(sample.provenance.source, sample.provenance.frame))

    def _then_reload(self, fut: Future[Any]) -> None:
        if self._alive():
            self.reload()

    def _then_say(self, said: Callable[[Any], str], failed: str) -> Callable[[Future[Any]], None]:
        """After a command: the page says what it did (or why not), then shows the samples again."""
        def done(fut: Future[Any]) -> None:
            if not self._alive():
                return
            error = fut.exception()
            self.note.setText(f"{failed}: {error}" if error is not None else said(fut.result()))
            self.reload()
        return done

    def remove_selected(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.run_command(self.session.people_commands.forget(self.name, ids), self._then_say(
                lambda p: f"Removed {len(ids)} sample{'s' if len(ids) != 1 else ''} of {p.name}; "
                          f"{p.descriptors} left (Ctrl+Z undoes it)", "Could not remove them"))

    def split_selected(self, into: str | None = None, ask: bool = True) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        if into is None and ask:
            text, ok = QInputDialog.getText(self, "Split", "Name of the new person (empty: a new automatic identity):")
            if not ok:
                return
            into = text.strip() or None
        self.run_command(self.session.people_commands.split(self.name, ids, into), self._then_say(
            lambda p: f"Moved {len(ids)} sample{'s' if len(ids) != 1 else ''} to {p.name} (Ctrl+Z undoes it)",
            "Could not split them off"))

    def use_as_cover(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            self.run_command(self.session.people_commands.set_cover(self.name, ids[0]), self._then_say(
                lambda p: f"This sample now stands for {p.name} in lists (Ctrl+Z undoes it)",
                "Could not use it as the thumbnail"))
