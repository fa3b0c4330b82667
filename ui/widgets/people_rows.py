"""The people panel's rows, kept in place: a gallery change updates the rows that changed, adds
and removes the others, and sorts only when the order may have changed; thumbnails become icons
once per picture. Rebuilding every row and icon took 196 ms at 2,000 people on the GUI thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QIcon
from PyQt6.QtWidgets import QListWidget, QListWidgetItem

from tracker.sinks.draw import person_colour

from ..session.session import PersonView

PERSON_ID = Qt.ItemDataRole.UserRole  # the person's name, as the panel's commands take it
IconMaker = Callable[[PersonView], QIcon]
Texts = Callable[[PersonView, float], tuple[str, str]]


def sort_key(v: PersonView) -> tuple[bool, tuple[tuple[int, int, str], ...], int]:
    """Known people first, then by name, case-insensitive and with numbers as numbers ("Person 2"
    before "Person 10"); the id breaks ties."""
    parts = re.split(r"(\d+)", v.person.name.casefold())
    return (not v.person.known, tuple((1, int(x), "") if x.isdigit() else (0, 0, x) for x in parts if x), v.person.id)


class PersonItem(QListWidgetItem):
    def __init__(self, pid: int) -> None:
        super().__init__()
        self.pid = pid
        self.key: tuple[bool, tuple[tuple[int, int, str], ...], int] = (False, (), pid)
        self.shown: PersonView | None = None  # what the row shows now

    def __lt__(self, other: QListWidgetItem) -> bool:
        return self.key < other.key if isinstance(other, PersonItem) else super().__lt__(other)


class Rows:
    """The rows of one QListWidget, by person id."""

    def __init__(self, widget: QListWidget, make_icon: IconMaker, texts: Texts) -> None:
        self.widget = widget
        # Every row has the same layout (icon and three lines): Qt then sizes one, not thousands,
        # whenever a row changes.
        widget.setUniformItemSizes(True)
        self.make_icon = make_icon
        self.texts = texts
        self.items: dict[int, PersonItem] = {}
        self._icons: dict[int, tuple[NDArray[np.uint8] | None, QIcon]] = {}  # pid -> (picture, its icon)
        self.filter = ""
        self.hidden: set[int] = set()  # people the user hid from the list (ids), unless show_hidden
        self.show_hidden = False
        self.rebuilt = 0  # rows made from scratch (tests: an update makes none)

    def _icon(self, v: PersonView) -> QIcon:
        cached = self._icons.get(v.person.id)
        if cached is not None and cached[0] is v.thumbnail:  # the session hands the same array until it changes
            return cached[1]
        icon = self.make_icon(v)
        self._icons[v.person.id] = (v.thumbnail, icon)
        return icon

    def sync(self, views: list[PersonView], now: float) -> None:
        """Make the rows match `views`, touching only what changed."""
        w = self.widget
        seen = {v.person.id for v in views}
        reorder = False
        for pid in [p for p in self.items if p not in seen]:
            w.takeItem(w.row(self.items.pop(pid)))
            self._icons.pop(pid, None)
        for v in views:
            p = v.person
            found = self.items.get(p.id)
            if found is not None and found.shown is not None and found.shown.person is p \
                    and found.shown.thumbnail is v.thumbnail:
                continue  # unchanged (the gallery hands the same record); "last seen" has its own timer
            if found is None:
                item = PersonItem(p.id)
                tint = QColor(*person_colour(p.id))
                tint.setAlpha(50)  # the same colour as the person's box in the video
                item.setBackground(tint)
                self.items[p.id] = item
                w.addItem(item)
                self.rebuilt += 1
                reorder = True
            else:
                item = found
            key = sort_key(v)
            if key != item.key:
                item.key = key
                reorder = True
            if item.data(PERSON_ID) != p.name:
                item.setData(PERSON_ID, p.name)
            text, tip = self.texts(v, now)
            if item.text() != text:
                item.setText(text)
                item.setToolTip(tip)
            icon = self._icon(v)
            if item.icon().cacheKey() != icon.cacheKey():
                item.setIcon(icon)
            item.setHidden(not self.visible(p.id, p.name))
            item.shown = v
        if reorder:
            w.sortItems(Qt.SortOrder.AscendingOrder)

    def rewrite_texts(self, now: float) -> None:
        """Each row's text again from what it shows ("seen 3 min ago" moves on), in place."""
        for item in self.items.values():
            if item.shown is not None:
                text, tip = self.texts(item.shown, now)
                if item.text() != text:
                    item.setText(text)
                    item.setToolTip(tip)

    def matches(self, name: str) -> bool:
        return self.filter.casefold() in name.casefold()

    def visible(self, person_id: int, name: str) -> bool:
        """A row shows when its name matches the search and the user has not hidden that person."""
        return (self.show_hidden or person_id not in self.hidden) and self.matches(name)

    def set_filter(self, text: str) -> None:
        self.filter = text.strip()
        self.refilter()

    def refilter(self) -> None:
        for pid, item in self.items.items():
            item.setHidden(not self.visible(pid, str(item.data(PERSON_ID))))
