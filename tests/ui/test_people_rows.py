"""The people panel updates its rows in place (offscreen, a stand-in session): a change of one
person rewrites one row, the selection stays, a rename re-sorts, the search box filters."""

from __future__ import annotations

import time

import numpy as np
from PyQt6.QtCore import Qt

from tracker.gallery.gallery import Person
from ui.session.state import PersonView
from ui.widgets.people_panel import PeoplePanel
from ui.widgets.people_rows import PERSON_ID


class NoCommands:
    def suggestions(self) -> list:  # type: ignore[type-arg]
        return []

    def can_undo(self) -> None:
        return None


class StandIn:
    """A session's people snapshot, without its engine thread."""

    def __init__(self, views: list[PersonView]) -> None:
        self.version, self.views = 1, views
        self.people_commands = NoCommands()

    def people(self) -> tuple[int, list[PersonView]]:
        return self.version, self.views


def _view(i: int, name: str, known: bool = False, seen: float | None = None, n: int = 3) -> PersonView:
    return PersonView(Person(i, name, known, n, 0.0, seen), np.full((150, 150, 3), i * 20 % 255, np.uint8))


def test_rows_update_in_place_keep_the_selection_and_filter(qtbot) -> None:  # type: ignore[no-untyped-def]
    views = [_view(1, "Person 1"), _view(2, "Alice", known=True), _view(3, "Person 3"), _view(4, "bob", known=True)]
    session = StandIn(views)
    panel = PeoplePanel(session)  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    panel.refresh()
    order = [panel.list.item(i).data(PERSON_ID) for i in range(panel.list.count())]
    assert order == ["Alice", "bob", "Person 1", "Person 3"]  # known first, then by name
    assert panel.rows.rebuilt == 4
    panel.select("Person 3")
    first = panel.list.item(3)
    icon_key = first.icon().cacheKey()

    # Person 3 seen again: one row's text changes; no row or icon is made again; the selection stays.
    views[2] = PersonView(Person(3, "Person 3", False, 4, 0.0, time.time()), views[2].thumbnail)
    session.version += 1
    panel.refresh()
    assert panel.rows.rebuilt == 4 and panel.list.item(3) is first and first.icon().cacheKey() == icon_key
    assert "4 descriptor(s)" in first.text() and "seen just now" in first.text()
    assert panel.selected_names() == ["Person 3"]

    # A rename re-sorts; a removed person's row goes; a new one is added.
    views[2] = PersonView(Person(3, "Carol", True, 4, 0.0, time.time()), views[2].thumbnail)
    del views[0]
    views.append(_view(5, "Person 5"))
    session.version += 1
    panel.refresh()
    order = [panel.list.item(i).data(PERSON_ID) for i in range(panel.list.count())]
    assert order == ["Alice", "bob", "Carol", "Person 5"]
    assert panel.rows.rebuilt == 5 and panel.selected_names() == ["Carol"]

    # The search box shows only the matching names (case-insensitive).
    panel.search.setText("o")
    shown = [panel.list.item(i).data(PERSON_ID) for i in range(panel.list.count()) if not panel.list.item(i).isHidden()]
    assert shown == ["bob", "Carol", "Person 5"]
    panel.search.setText("zz")
    assert panel.no_match.text().startswith("Nobody's name contains") and not panel.no_match.isHidden()
    panel.search.setText("")
    assert not any(panel.list.item(i).isHidden() for i in range(panel.list.count()))
    assert panel.no_match.isHidden()
    panel.show()
    panel.search.setText("bo")
    panel.search.setFocus()
    qtbot.keyClick(panel.search, Qt.Key.Key_Escape)  # Esc clears the search
    assert panel.search.text() == ""

    # Numbers sort as numbers.
    views.extend([_view(10, "Person 10"), _view(12, "Person 2")])
    session.version += 1
    panel.refresh()
    order = [panel.list.item(i).data(PERSON_ID) for i in range(panel.list.count())]
    assert order[-3:] == ["Person 2", "Person 5", "Person 10"]
