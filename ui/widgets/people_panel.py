"""The people panel: everyone in the gallery, with rename, merge, delete and enrolment.

It shows the session's snapshot of the gallery and sends changes back as session commands;
it never touches the gallery itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any

from PyQt6.QtCore import QEvent, QObject, QPoint, QSize, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QKeyEvent
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..session.session import PersonView, Session
from .people_rows import PERSON_ID, Rows
from .pictures import THUMB, ago, thumbnail_icon

MAX_SUGGESTIONS = 4
SEEN_EVERY_MS = 5000  # "seen 2 min ago" is rewritten this often, in place: no rebuild, no gallery read
Report = Callable[["Future[Any]", Callable[[Any], str], str], None]  # (command, success text, failure)


SUGGESTION_PX = 32  # the faces beside a merge suggestion


class PeoplePanel(QWidget):
    """Changes go to the session as commands; a failed one comes back as a message in the window."""

    enroll_requested = pyqtSignal()
    person_requested = pyqtSignal(str)  # open this person's page
    undo_requested = pyqtSignal()
    hidden_changed = pyqtSignal()  # the hidden people changed: the window keeps them (QSettings)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        # Set by the window: modal dialogs pause the video; every command's outcome is reported.
        self.dialog_pause: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext
        self.report: Report = lambda _fut, _ok, _failed: None
        self.version = -1
        self.views: list[PersonView] = []
        self.on_screen: set[int] = set()
        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemDoubleClicked.connect(lambda item: self.person_requested.emit(str(item.data(PERSON_ID))))
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.rows = Rows(self.list, thumbnail_icon, self._texts)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search people")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Show only the people whose name contains this")
        self.search.textChanged.connect(self._filter)
        self.search.installEventFilter(self)  # Esc in it clears it
        self.no_match = QLabel("")
        self.no_match.setStyleSheet("color: gray")
        self.no_match.hide()
        self.title = QLabel("People")
        self.title.setStyleSheet("font-weight: bold")
        self.rename_btn = QPushButton("Rename…")
        self.merge_btn = QPushButton("Merge…")
        self.delete_btn = QPushButton("Delete")
        self.enroll_btn = QPushButton("Enrol photos…")
        self.undo_btn = QPushButton("Undo")
        self.undo_btn.setToolTip("Undo the last change to people (Ctrl+Z)")
        self.undo_btn.clicked.connect(self.undo_requested.emit)
        # Merge suggestions: identities that are probably one person, one click to merge.
        self.suggest_title = QLabel("Maybe one person")
        self.suggest_title.setStyleSheet("font-weight: bold")
        self.suggest_title.hide()
        self.suggest_box = QVBoxLayout()
        self.suggest_box.setContentsMargins(0, 0, 0, 0)
        # The suggestions scroll in a strip of about two rows: they never crowd out the people
        # list, nor widen the panel (a long name is cut, its whole text in the tooltip).
        holder = QWidget()
        holder.setLayout(self.suggest_box)
        self.suggest_area = QScrollArea()
        self.suggest_area.setWidget(holder)
        self.suggest_area.setWidgetResizable(True)
        self.suggest_area.setFrameShape(QFrame.Shape.NoFrame)
        self.suggest_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.suggest_area.setMaximumHeight(2 * (SUGGESTION_PX + 12) + 4)
        self.suggest_area.hide()
        self.suggested: list[tuple[str, str]] = []
        self.rename_btn.setToolTip("Name this person (an automatic identity becomes known). F2")
        self.merge_btn.setToolTip("Select two people who are the same person")
        self.enroll_btn.setToolTip("Add a person from photos; you can also drop image files on the window")
        self.rename_btn.clicked.connect(lambda: self.rename_selected())
        self.merge_btn.clicked.connect(lambda: self.merge_selected())
        self.delete_btn.clicked.connect(lambda: self.delete_selected())
        self.enroll_btn.clicked.connect(self.enroll_requested.emit)
        # The panel's commands as actions: the window's People menu holds them too (every command
        # is in a menu), enabled as the selection allows.
        self.open_action = QAction("Open person's page…", self)
        self.open_action.triggered.connect(lambda: self._open_selected())
        self.rename_action = QAction("Rename the selected person…", self)
        self.rename_action.setShortcut("F2")
        self.rename_action.triggered.connect(lambda: self.rename_selected())
        self.addAction(self.rename_action)
        self.merge_action = QAction("Merge the two selected…", self)
        self.merge_action.triggered.connect(lambda: self.merge_selected())
        self.delete_key = QAction("Delete the selected people (asks first; Ctrl+Z undoes it)…", self)
        self.delete_key.setShortcut("Delete")
        # Delete deletes people only from the panel: pressed on the video it must not.
        self.delete_key.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.delete_key.triggered.connect(lambda: self.delete_selected())
        self.addAction(self.delete_key)
        self.list.installEventFilter(self)
        self._seen_timer = QTimer(self)
        self._seen_timer.timeout.connect(self.update_seen)
        self._seen_timer.start(SEEN_EVERY_MS)
        buttons = QHBoxLayout()
        for b in (self.rename_btn, self.merge_btn, self.delete_btn):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        # People the user hid (a passer-by, a poster): out of the list until "Show hidden".
        self.show_hidden_box = QCheckBox("Show hidden")
        self.show_hidden_box.toggled.connect(self._show_hidden)
        self.show_hidden_box.hide()
        layout.addWidget(self.search)
        layout.addWidget(self.show_hidden_box)
        layout.addWidget(self.no_match)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.suggest_title)
        layout.addWidget(self.suggest_area)
        bottom = QHBoxLayout()
        bottom.addWidget(self.enroll_btn, 1)
        bottom.addWidget(self.undo_btn)
        layout.addLayout(bottom)
        self._update_buttons()

    def _filter(self, text: str) -> None:
        self.rows.set_filter(text)
        self._say_no_match()

    def _say_no_match(self) -> None:
        none = bool(self.rows.filter) and all(item.isHidden() for item in self.rows.items.values())
        self.no_match.setText(f"Nobody's name contains “{self.rows.filter}” (Esc clears the search)" if none else "")
        self.no_match.setVisible(none)

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if obj is self.search and event is not None and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape and self.search.text():
            self.search.clear()
            return True
        return super().eventFilter(obj, event)

    # ------------------------------------------------------------------ view
    def _texts(self, v: PersonView, now: float) -> tuple[str, str]:
        p = v.person
        kind = "known" if p.known else "automatic"
        seen = "on screen now" if p.id in self.on_screen else ago(p.last_seen, now)
        return (f"{p.name}\n{kind} · {p.descriptors} descriptor(s)\n{seen}",
                f"{p.name}: {kind}, {p.descriptors} stored descriptor(s), {seen}")

    def set_on_screen(self, person_ids: set[int]) -> None:
        """The people named on the frame shown (paused too): their rows say so."""
        if person_ids != self.on_screen:
            self.on_screen = set(person_ids)
            self.update_seen()

    def update_seen(self, now: float | None = None) -> None:
        """'Last seen' kept current: each row's text rewritten in place (cheap: no icons, no gallery)."""
        self.rows.rewrite_texts(time.time() if now is None else now)

    def refresh(self) -> None:
        """Re-read the session's snapshot when it changed; keeps the selection."""
        label = self.session.people_commands.can_undo()  # every time: a step of the tracker's own changes no version
        self.undo_btn.setEnabled(label is not None)
        self.undo_btn.setToolTip(f"Undo {label} (Ctrl+Z)" if label else "Nothing to undo")
        version, views = self.session.people()
        if version == self.version:
            return
        self.version, self.views = version, views
        self._show_suggestions()  # after the views: a suggestion shows both people's faces
        self.rows.sync(views, time.time())  # in place: the selection and the scroll position stay
        self._update_hidden_box()
        self._say_no_match()
        known = sum(v.person.known for v in views)
        self.title.setText(f"People: {known} known, {len(views) - known} automatic")
        self._update_buttons()

    def _show_suggestions(self) -> None:
        shown = self.session.people_commands.suggestions()[:MAX_SUGGESTIONS]
        pairs = [(sg.a.name, sg.b.name, sg.distance) for sg in shown]
        if [(a, b) for a, b, _ in pairs] == self.suggested:
            return
        self.suggested = [(a, b) for a, b, _ in pairs]
        while self.suggest_box.count():
            item = self.suggest_box.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        by_name = {v.person.name: v for v in self.views}
        for a, b, d in pairs:
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            for name in (a, b):  # the two faces side by side: the user sees whether they match
                view = by_name.get(name)
                if view is not None:
                    face = QLabel()
                    face.setObjectName("suggestion-face")
                    face.setPixmap(thumbnail_icon(view).pixmap(SUGGESTION_PX, SUGGESTION_PX))
                    face.setToolTip(name)
                    h.addWidget(face)
            text = QLabel(f"{a} may be {b}")
            text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the panel
            text.setToolTip(f"their stored faces are {d:.2f} apart as wholes, clearly closer to each other than to "
                            "anyone else, and they were never seen together")
            merge = QPushButton("Merge")
            merge.setToolTip(f"{a} and {b} are one person: keep {b} (Ctrl+Z undoes it)")
            merge.clicked.connect(lambda _c=False, a=a, b=b: self._merge(a, b))
            apart = QPushButton("Not the same")
            apart.setObjectName("suggestion-apart")
            apart.setToolTip(f"{a} and {b} are two people: never suggested again (Ctrl+Z undoes it)")
            apart.clicked.connect(lambda _c=False, a=a, b=b: self._keep_apart(a, b))
            h.addWidget(text, 1)
            h.addWidget(merge)
            h.addWidget(apart)
            self.suggest_box.addWidget(row)
        self.suggest_title.setVisible(bool(pairs))
        self.suggest_area.setVisible(bool(pairs))

    def names(self) -> list[str]:
        return [v.person.name for v in self.views]

    def selected_names(self) -> list[str]:
        return [str(i.data(PERSON_ID)) for i in self.list.selectedItems()]

    def select(self, *names: str) -> None:
        self.list.clearSelection()
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item is not None and item.data(PERSON_ID) in names:
                item.setSelected(True)

    def _update_buttons(self) -> None:
        n = len(self.list.selectedItems())
        self.rename_btn.setEnabled(n == 1)
        self.delete_btn.setEnabled(n >= 1)
        self.merge_btn.setEnabled(n == 2)
        self.open_action.setEnabled(n == 1)
        self.rename_action.setEnabled(n == 1)
        self.merge_action.setEnabled(n == 2)
        self.delete_key.setEnabled(n >= 1)

    def _open_selected(self) -> None:
        names = self.selected_names()
        if len(names) == 1:
            self.person_requested.emit(names[0])

    # ------------------------------------------------------------------ actions
    def _menu(self, pos: QPoint) -> None:
        names = self.selected_names()
        if not names:
            return
        menu = QMenu(self)
        if len(names) == 1:
            menu.addAction("Open…", lambda: self.person_requested.emit(names[0]))
            menu.addAction("Rename…", lambda: self.rename_selected())
            others = [n for n in self.names() if n != names[0]]
            if others:
                into = menu.addMenu("Merge into")
                assert into is not None
                for other in others:
                    into.addAction(other, lambda other=other: self._merge(names[0], other))
        if len(names) == 2:
            menu.addAction("Merge…", lambda: self.merge_selected())
        ids = [self._id_of(n) for n in names]
        if all(i in self.rows.hidden for i in ids):
            menu.addAction("Unhide", lambda: self.set_hidden(ids, False))
        else:
            menu.addAction("Hide from the list", lambda: self.set_hidden(ids, True))
        menu.addAction("Delete", lambda: self.delete_selected())
        menu.popup(self.list.mapToGlobal(pos))

    def _id_of(self, name: str) -> int:
        return next((v.person.id for v in self.views if v.person.name == name), -1)

    def set_hidden(self, ids: list[int], hide: bool) -> None:
        """Hide people from the list (or show them again); kept across restarts by the window."""
        if hide:
            self.rows.hidden |= set(ids)
        else:
            self.rows.hidden -= set(ids)
        self.rows.refilter()
        self._update_hidden_box()
        self.hidden_changed.emit()

    def _show_hidden(self, on: bool) -> None:
        self.rows.show_hidden = on
        self.rows.refilter()

    def _update_hidden_box(self) -> None:
        n = len(self.rows.hidden & {v.person.id for v in self.views})
        self.show_hidden_box.setText(f"Show hidden ({n})")
        self.show_hidden_box.setVisible(n > 0 or self.show_hidden_box.isChecked())

    def rename_selected(self, new: str | None = None) -> None:
        names = self.selected_names()
        if len(names) != 1:
            return
        old = names[0]
        if new is None:
            with self.dialog_pause():
                text, ok = QInputDialog.getText(self, "Rename", f"New name for {old}:", text=old)
            if not ok:
                return
            new = text
        new = new.strip()
        if not new or new == old:
            return
        if new in self.names():
            with self.dialog_pause():
                answer = QMessageBox.question(self, "Merge?", f"{new} already exists. Merge {old} into {new}?")
            if answer == QMessageBox.StandardButton.Yes:
                self._merge(old, new)
            return
        self.report(self.session.people_commands.rename(old, new), lambda p: f"{old} is now {p.name}",
                    f"Could not rename {old}")

    def merge_selected(self, into: str | None = None) -> None:
        names = self.selected_names()
        if len(names) != 2:
            return
        if into is None:
            # Keep a known name over an automatic one by default.
            known = {v.person.name for v in self.views if v.person.known}
            default = 0 if names[0] in known or names[1] not in known else 1
            with self.dialog_pause():
                choice, ok = QInputDialog.getItem(self, "Merge", "These are one person. Keep the name:",
                                                  names, default, False)
            if not ok:
                return
            into = choice
        source = names[1] if into == names[0] else names[0]
        self._merge(source, into)

    def _merge(self, source: str, into: str) -> None:
        self.report(self.session.people_commands.merge(source, into),
                    lambda p: f"{source} merged into {p.name} ({p.descriptors} descriptors; Ctrl+Z undoes it)",
                    f"Could not merge {source} into {into}")

    def _keep_apart(self, a: str, b: str) -> None:
        self.report(self.session.people_commands.keep_apart(a, b),
                    lambda _r: f"{a} and {b} are two people: not suggested again (Ctrl+Z undoes it)",
                    f"Could not keep {a} and {b} apart")

    def delete_selected(self, confirm: bool = True) -> None:
        names = self.selected_names()
        if not names:
            return
        if confirm:
            with self.dialog_pause():
                answer = QMessageBox.question(
                    self, "Delete", f"Delete {', '.join(names)} and every stored descriptor? (Ctrl+Z undoes it.)")
            if answer != QMessageBox.StandardButton.Yes:
                return
        if len(names) == 1:
            self.report(self.session.people_commands.remove(names[0]), lambda p: f"Deleted {p.name} (Ctrl+Z undoes it)",
                        f"Could not delete {names[0]}")
        else:  # one step: one Ctrl+Z brings them all back
            self.report(self.session.people_commands.remove_people(names),
                        lambda people: f"Deleted {', '.join(p.name for p in people)} (Ctrl+Z undoes it)",
                        f"Could not delete {', '.join(names)}")
