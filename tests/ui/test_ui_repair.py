"""Repairing identities in the desktop app (offscreen, real window and session, fake detector and
embedder: colour is identity): a person's page, "Not NAME", merge suggestions, undo, and a new
engine thread when the old one dies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PyQt6.QtCore import QPoint, QSettings, Qt
from PyQt6.QtWidgets import QInputDialog

from tests.helpers.fakes import FakeDetector, FakeEmbedder, draw
from tests.helpers.ui import Windows
from tracker.config import Config
from tracker.engine.pipeline import Engine
from tracker.errors import FacetrackError
from tracker.gallery.gallery import LEARNED, Gallery, Provenance
from ui.session.session import ENDED, PLAYING, Session
from ui.widgets.people_rows import PERSON_ID
from ui.widgets.person_page import PersonPage
from ui.window import MainWindow

WAIT_MS = 20_000


def fake_session(cfg: Config) -> Session:
    emb = FakeEmbedder()
    return Session(cfg, lambda c, g: Engine(c, g, FakeDetector(), emb)).start()


@pytest.fixture
def make_window(qtbot, tmp_path: Path) -> Iterator:  # type: ignore[no-untyped-def]
    windows = Windows(qtbot, QSettings(str(tmp_path / "facetrack.ini"), QSettings.Format.IniFormat), fake_session)
    yield windows
    windows.close_all()


def photo(tmp_path: Path, faces: dict[str, tuple[int, int, int]]) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(draw(320, 240, faces)).save(path)
    return path


def show_photo(qtbot, w: MainWindow, path: Path, n: int) -> None:  # type: ignore[no-untyped-def]
    w.session.set_fast(True)
    w.player.open_source(str(path))
    qtbot.waitUntil(lambda: w.session.stats().state == ENDED and sum(f.name is not None for f in w.view.faces) == n,
                    timeout=WAIT_MS)


def test_person_page_lists_samples_with_provenance_removes_and_splits(qtbot, make_window, gallery_path: Path) -> None:
    emb = FakeEmbedder()
    with Gallery(gallery_path) as g:
        p = g.enroll("Alice", emb.descriptor("red")[None], [b""], ["alice.jpg"])
        g.add_descriptors(p.id, np.stack([emb.descriptor("red") for _ in range(3)]), None, LEARNED,
                          [Provenance("cam.mp4", 4, 10 * i, i / 3) for i in range(3)])
    w = make_window(gallery_path)
    qtbot.waitUntil(lambda: "Alice" in w.people.names(), timeout=WAIT_MS)
    page = w.people_actions.open_person("Alice")
    qtbot.waitUntil(lambda: page.list.count() == 4, timeout=WAIT_MS)
    tips = [page.list.item(i).toolTip() for i in range(4)]  # type: ignore[union-attr]
    assert "enrolled photo alice.jpg" in tips[0] and "learned from cam.mp4, frame 11" in tips[2]
    ids = [s.id for s in page.samples]
    page.select_ids([ids[3]])
    qtbot.mouseClick(page.remove_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.list.count() == 3, timeout=WAIT_MS)
    assert page.note.text().startswith("Removed 1 sample of Alice; 3 left")  # the page says what it did
    page.select_ids([ids[2]])
    page.split_selected("Bea")
    qtbot.waitUntil(lambda: page.list.count() == 2 and "Bea" in w.people.names(), timeout=WAIT_MS)
    assert page.note.text().startswith("Moved 1 sample to Bea")
    page.select_ids([ids[0]])
    page.use_as_cover()
    qtbot.waitUntil(lambda: "now stands for Alice" in page.note.text(), timeout=WAIT_MS)
    page.close()


def test_not_name_from_the_face_menu(qtbot, make_window, gallery_path: Path, tmp_path: Path) -> None:
    with Gallery(gallery_path) as g:
        g.enroll("Alice", FakeEmbedder().descriptor("red")[None], [b""])
    w = make_window(gallery_path)
    show_photo(qtbot, w, photo(tmp_path, {"red": (40, 60, 60)}), 1)
    face = w.view.faces[0]
    assert face.name == "Alice"
    w.people_actions.face_menu(face.track_id, "Alice", QPoint(10, 10))
    actions = {a.text(): a for a in w.people_actions.face_menu_shown.actions()}
    assert "Who is this?…" in actions
    actions["Not Alice"].trigger()
    qtbot.waitUntil(lambda: all(f.name != "Alice" for f in w.view.faces), timeout=WAIT_MS)
    w.people_actions.face_menu_shown.close()


def test_suggestions_merge_with_one_click_and_undo_reverts_changes(qtbot, make_window, gallery_path: Path) -> None:
    emb = FakeEmbedder()
    with Gallery(gallery_path) as g:
        for _ in range(2):  # one person seen twice, never together: two automatic identities
            p = g.add_person(None, known=False)
            g.add_descriptors(p.id, np.stack([emb.descriptor("blue") for _ in range(3)]))
        g.enroll("Cara", emb.descriptor("green")[None], [b""])
    w = make_window(gallery_path)
    qtbot.waitUntil(lambda: w.people.suggested == [("Person 1", "Person 2")], timeout=WAIT_MS)
    assert w.people.suggest_title.isVisible()
    row = w.people.suggest_box.itemAt(0).widget()  # type: ignore[union-attr]
    faces = [c for c in row.children() if c.objectName() == "suggestion-face"]
    assert [f.toolTip() for f in faces] == ["Person 1", "Person 2"]  # both faces beside the question
    assert all(not f.pixmap().isNull() and f.pixmap().height() > 0 for f in faces)
    merge = next(b for b in row.children() if getattr(b, "text", lambda: "")() == "Merge")
    qtbot.mouseClick(merge, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.people.names() == ["Person 2", "Cara"] or set(w.people.names()) == {"Person 2", "Cara"},
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: w.people.suggested == [], timeout=WAIT_MS)

    w.people.select("Cara")
    w.people.rename_selected("Carmen")
    qtbot.waitUntil(lambda: "Carmen" in w.people.names(), timeout=WAIT_MS)
    w.people.select("Person 2")
    w.people.delete_selected(confirm=False)
    qtbot.waitUntil(lambda: "Person 2" not in w.people.names(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: w.people.undo_btn.isEnabled(), timeout=WAIT_MS)
    # Ctrl+Z, three times: the delete, the rename, the merge.
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "Person 2" in w.people.names(), timeout=WAIT_MS)
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "Cara" in w.people.names() and "Carmen" not in w.people.names(), timeout=WAIT_MS)
    w.people_actions.undo()
    qtbot.waitUntil(lambda: set(w.people.names()) == {"Person 1", "Person 2", "Cara"}, timeout=WAIT_MS)
    w.close()
    with Gallery(gallery_path, readonly=True) as g:
        assert {p.name: p.descriptors for p in g.people()} == {"Person 1": 3, "Person 2": 3, "Cara": 1}


def test_undo_of_naming_a_face_and_names_on_screen_follow(qtbot, make_window, gallery_path: Path,
                                                        tmp_path: Path) -> None:
    w = make_window(gallery_path)
    show_photo(qtbot, w, photo(tmp_path, {"blue": (40, 60, 60)}), 1)
    face = w.view.faces[0]
    assert face.name == "Person 1"
    w.people_actions.name_face(face.track_id, "Dan")
    qtbot.waitUntil(lambda: [f.name for f in w.view.faces] == ["Dan"], timeout=WAIT_MS)
    w.people_actions.undo()
    qtbot.waitUntil(lambda: "Dan" not in w.people.names() and "Person 1" in w.people.names(), timeout=WAIT_MS)
    # Decided again on the frame shown (the photo stays up: nothing new comes to decide from).
    qtbot.waitUntil(lambda: [f.name for f in w.view.faces] == ["Person 1"], timeout=WAIT_MS)


def test_a_dead_engine_thread_is_reported_and_replaced(qtbot, make_window, gallery_path: Path) -> None:
    w = make_window(gallery_path)
    qtbot.waitUntil(lambda: w.session.alive and w.session.engine is not None, timeout=WAIT_MS)
    old = w.session

    def broken() -> None:
        raise RuntimeError("simulated bug")

    old._relabel_latest = broken  # type: ignore[method-assign]  # runs after every command, outside its guard
    old.set_fast(True)
    qtbot.waitUntil(lambda: w.session is not old and w.session.alive, timeout=WAIT_MS)
    assert not old.alive and old.died is not None and "simulated bug" in old.died
    assert "engine stopped" in w.messages.text()
    with pytest.raises(Exception, match="engine stopped"):  # a command to the dead one fails, never hangs
        old.people_commands.rename("a", "b").result(2)
    person = w.session.submit(lambda: w.session.current_gallery().add_person("Eve")).result(5)
    assert person.name == "Eve"


# ---------------------------------------------------------------------------- more repair paths


def _samples_gallery(gallery_path: Path) -> None:
    emb = FakeEmbedder()
    with Gallery(gallery_path) as g:
        p = g.enroll("Alice", emb.descriptor("red")[None], [b""], ["alice.jpg"])
        g.add_descriptors(p.id, np.stack([emb.descriptor("red") for _ in range(3)]), None, LEARNED,
                          [Provenance("cam.mp4", 4, 10 * i, i / 3) for i in range(3)])


def test_double_click_opens_the_page_and_f2_renames(qtbot, make_window, gallery_path: Path, monkeypatch) -> None:
    _samples_gallery(gallery_path)
    w = make_window(gallery_path)
    qtbot.waitUntil(lambda: "Alice" in w.people.names(), timeout=WAIT_MS)
    item = w.people.list.item(0)
    assert item is not None
    rect = w.people.list.visualItemRect(item)
    viewport = w.people.list.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())  # as a user does: select it
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    pages = w.findChildren(PersonPage)
    assert len(pages) == 1 and pages[0].name == "Alice" and pages[0].isVisible()
    qtbot.waitUntil(lambda: pages[0].list.count() == 4, timeout=WAIT_MS)
    assert "Alice" in w.people.names()  # a double-click no longer renames
    assert w.people_actions.open_person("Alice") is pages[0]  # opening again raises the same page
    pages[0].close()

    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=5000)
    w.people.select("Alice")
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Alicia", True)))
    qtbot.keyClick(w.people.list, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: w.people.names() == ["Alicia"], timeout=WAIT_MS)


def test_split_from_the_page_then_thumbnail_then_ctrl_z_undoes_both(qtbot, make_window, gallery_path: Path,
                                                                   monkeypatch) -> None:
    _samples_gallery(gallery_path)
    w = make_window(gallery_path)
    qtbot.waitUntil(lambda: "Alice" in w.people.names(), timeout=WAIT_MS)
    page = w.people_actions.open_person("Alice")
    qtbot.waitUntil(lambda: page.list.count() == 4, timeout=WAIT_MS)
    ids = [s.id for s in page.samples]
    page.select_ids(ids[2:])
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("", True)))  # no name
    qtbot.mouseClick(page.split_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.list.count() == 2 and len(w.people.names()) == 2, timeout=WAIT_MS)
    new = next(n for n in w.people.names() if n != "Alice")
    assert new.startswith("Person")  # a new automatic identity
    qtbot.waitUntil(lambda: w.chrome.undo_action.text() == "Undo split Alice", timeout=WAIT_MS)

    page.select_ids([ids[1]])
    qtbot.mouseClick(page.cover_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.chrome.undo_action.text() == "Undo thumbnail of Alice", timeout=WAIT_MS)
    assert page.isActiveWindow()
    qtbot.keyClick(page.list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # from the page too
    qtbot.waitUntil(lambda: w.statusBar().currentMessage() == "Undone: thumbnail of Alice", timeout=WAIT_MS)
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.people.names() == ["Alice"], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: w.statusBar().currentMessage() == "Undone: split Alice", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.list.count() == 4, timeout=WAIT_MS)  # an open page follows an undo
    # A page closed before its answer comes drops the answer quietly.
    page.select_ids([ids[3]])
    page.remove_selected()
    page.close()
    qtbot.waitUntil(lambda: w.chrome.undo_action.text() == "Undo remove samples of Alice", timeout=WAIT_MS)
    qtbot.wait(50)
    # Nothing left to undo says so in the status bar, not as an error.
    for _ in range(3):
        w.people_actions.undo()
    qtbot.waitUntil(lambda: w.statusBar().currentMessage() == "Nothing to undo", timeout=WAIT_MS)
    assert w.chrome.undo_action.text() == "Undo" and not w.messages.isVisible()


def test_ctrl_z_undoes_more_than_twenty_steps_in_order(qtbot, make_window, gallery_path: Path) -> None:
    with Gallery(gallery_path) as g:
        g.enroll("N0", FakeEmbedder().descriptor("red")[None], [b""])
    w = make_window(gallery_path)
    qtbot.waitUntil(lambda: w.people.names() == ["N0"], timeout=WAIT_MS)
    steps = 25
    for i in range(steps):
        w.session.people_commands.rename(f"N{i}", f"N{i + 1}")
    qtbot.waitUntil(lambda: w.people.names() == [f"N{steps}"], timeout=WAIT_MS)
    for _ in range(steps):  # as fast as the keys come: none is lost, each undoes one step
        qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.people.names() == ["N0"] and w.session.people_commands.can_undo() is None,
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: w.statusBar().currentMessage() == "Undone: rename N0 to N1", timeout=WAIT_MS)


def test_a_dead_engine_thread_restarts_and_reopens_the_source(qtbot, make_window, gallery_path: Path,
                                                              tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(draw(320, 240, {"red": (40 + 20 * i, 60, 60)})).save(folder / f"{i}.png")
    w = make_window(gallery_path)
    w.player.open_source(str(folder))  # not Fast: each photo stays up a while, so it is still playing
    qtbot.waitUntil(lambda: w.session.stats().state == PLAYING and w.view.seq > 0, timeout=WAIT_MS)
    old = w.session

    def broken_report(exc: Exception) -> None:
        raise RuntimeError(f"simulated bug while reporting {exc}")

    # A command fails during the run, and reporting it fails too: that escapes the run and the
    # engine thread's loop.
    old.report = broken_report  # type: ignore[method-assign]
    failed = old.seek(1)  # an image folder cannot seek
    with pytest.raises(FacetrackError, match="only a video file can seek"):
        failed.result(5)  # answered, not left hanging
    qtbot.waitUntil(lambda: w.session is not old, timeout=WAIT_MS)
    assert any(m.startswith("The engine stopped: RuntimeError: simulated bug") and
               m.endswith("; restarted and reopened photos") for m in w.messages.history), w.messages.history
    qtbot.waitUntil(lambda: w.session.stats().source == str(folder) and w.session.latest() is not None,
                    timeout=WAIT_MS)
    assert not old.alive


def test_a_command_that_kills_the_thread_fails_instead_of_hanging(gallery_path: Path) -> None:
    session = fake_session(Config(gallery=gallery_path))

    class Fatal(BaseException):
        pass

    def fatal() -> None:
        raise Fatal("boom")

    try:
        with pytest.raises(FacetrackError, match=r"engine stopped.*boom"):
            session.submit(fatal).result(5)
        with pytest.raises(FacetrackError, match="engine stopped"):
            session.people_commands.rename("a", "b").result(5)
        session._thread.join(5)  # its pending commands are failed just before the thread ends
        assert not session.alive and session.died is not None
    finally:
        session.close()


def test_suggestions_follow_the_tracker_learning_without_a_command(gallery_path: Path, monkeypatch) -> None:
    """Suggestions skipped because they were computed a moment ago come once the wait is over, even
    when the gallery does not change again."""
    monkeypatch.setattr("ui.session.feed.PEOPLE_REFRESH_S", 0.0)
    monkeypatch.setattr("ui.session.feed.SUGGEST_EVERY_S", 0.3)
    emb = FakeEmbedder()
    session = Session(Config(gallery=gallery_path))  # not started: driven from this thread
    session.gallery = g = Gallery(gallery_path)
    try:
        session.refresh_people(force=True)
        assert session.people_commands.suggestions() == []
        for _ in range(2):  # what the tracker does while it plays
            p = g.add_person(None, known=False)
            g.add_descriptors(p.id, np.stack([emb.descriptor("blue") for _ in range(3)]))
        session.refresh_people(force=False)
        assert len(session.people()[1]) == 2 and session.people_commands.suggestions() == []  # too soon
        time.sleep(0.35)
        version = session.people()[0]
        session.refresh_people(force=False)
        said = [s.describe().split(" (")[0] for s in session.people_commands.suggestions()]
        assert said == ["Person 1 may be Person 2"]
        assert session.people()[0] > version  # the window's panel sees the change
    finally:
        g.close()


def test_right_click_on_a_face_offers_not_name(qtbot, make_window, gallery_path: Path, tmp_path: Path) -> None:
    with Gallery(gallery_path) as g:
        g.enroll("Alice", FakeEmbedder().descriptor("red")[None], [b""])
    w = make_window(gallery_path)
    show_photo(qtbot, w, photo(tmp_path, {"red": (40, 60, 60)}), 1)
    face = w.view.faces[0]
    qtbot.mouseClick(w.view, Qt.MouseButton.RightButton, pos=face.rect.center().toPoint())
    actions = {a.text(): a for a in w.people_actions.face_menu_shown.actions()}
    assert set(actions) == {"Who is this?…", "Not Alice"}
    actions["Not Alice"].trigger()
    w.people_actions.face_menu_shown.close()
    qtbot.waitUntil(lambda: [f.name for f in w.view.faces] == [None], timeout=WAIT_MS)  # undecided at once
    qtbot.waitUntil(lambda: w.people.names() == ["Alice"], timeout=WAIT_MS)  # the enrolled person stays
    qtbot.waitUntil(lambda: "not Alice" in w.statusBar().currentMessage(), timeout=WAIT_MS)


def test_not_name_says_what_it_did_and_ctrl_z_brings_the_name_back(qtbot, make_window, gallery_path: Path,  # type: ignore[no-untyped-def]
                                                                    tmp_path: Path) -> None:
    """Issue 21, point 1: the message keeps its promise, and "Not NAME" is the step Ctrl+Z undoes
    (not an older one), with the name back on the face."""
    with Gallery(gallery_path) as g:
        g.enroll("Alice", FakeEmbedder().descriptor("red")[None], [b""])
        g.enroll("Bob", FakeEmbedder().descriptor("blue")[None], [b""])
    w = make_window(gallery_path)
    w.run_command(w.session.people_commands.rename("Bob", "Robert"))  # an older step that Ctrl+Z must not undo first
    qtbot.waitUntil(lambda: "Robert" in w.people.names(), timeout=WAIT_MS)
    show_photo(qtbot, w, photo(tmp_path, {"red": (40, 60, 60)}), 1)
    face = w.view.faces[0]
    assert face.name == "Alice"
    w.people_actions.not_person(face.track_id, "Alice")
    qtbot.waitUntil(lambda: [f.name for f in w.view.faces] == [None], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "That face is not Alice: it had taught Alice nothing" in w.statusBar().currentMessage(),
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: w.session.people_commands.can_undo() == "not Alice", timeout=WAIT_MS)
    w.people_actions.undo()
    qtbot.waitUntil(lambda: "Undone: not Alice" in w.statusBar().currentMessage(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: [f.name for f in w.view.faces] == ["Alice"], timeout=WAIT_MS)
    assert "Robert" in w.people.names()  # the older step stands


def test_not_the_same_person_ends_a_suggestion_and_ctrl_z_brings_it_back(qtbot, make_window,  # type: ignore[no-untyped-def]
                                                                        gallery_path: Path) -> None:
    """Issue 21, point 3: "Not the same" stores a cannot-link (never suggested again), says so, and
    is one undo step."""
    emb = FakeEmbedder()
    with Gallery(gallery_path) as g:
        for _ in range(2):
            p = g.add_person(None, known=False)
            g.add_descriptors(p.id, np.stack([emb.descriptor("blue") for _ in range(3)]))
    w = make_window(gallery_path)
    qtbot.waitUntil(lambda: w.people.suggested == [("Person 1", "Person 2")], timeout=WAIT_MS)
    row = w.people.suggest_box.itemAt(0).widget()  # type: ignore[union-attr]
    text = next(c for c in row.children() if getattr(c, "text", lambda: "")() == "Person 1 may be Person 2")
    assert "apart as wholes" in text.toolTip() and "0." in text.toolTip()  # the distance, said
    apart = next(c for c in row.children() if c.objectName() == "suggestion-apart")
    qtbot.mouseClick(apart, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.people.suggested == [], timeout=WAIT_MS)
    assert "not suggested again" in w.statusBar().currentMessage()
    with Gallery(gallery_path, readonly=True) as g:
        assert g.are_cannot_linked(g.require("Person 1").id, g.require("Person 2").id)
    w.people_actions.undo()
    qtbot.waitUntil(lambda: w.people.suggested == [("Person 1", "Person 2")], timeout=WAIT_MS)


def test_suggestions_never_widen_the_panel_nor_crowd_out_the_people(qtbot, make_window,  # type: ignore[no-untyped-def]
                                                                   gallery_path: Path) -> None:
    """Issue 21, point 13: with three suggestions in an 800x500 window the panel keeps its width,
    and the people list keeps its room."""
    emb = FakeEmbedder()
    with Gallery(gallery_path) as g:
        for colour in ("blue", "green", "red"):
            for _ in range(2):
                p = g.add_person(None, known=False)
                g.add_descriptors(p.id, np.stack([emb.descriptor(colour) for _ in range(3)]))
    w = make_window(gallery_path)
    w.resize(800, 500)
    qtbot.waitUntil(lambda: len(w.people.names()) == 6, timeout=WAIT_MS)
    qtbot.wait(100)
    before = w.people.width()
    qtbot.waitUntil(lambda: len(w.people.suggested) == 3, timeout=WAIT_MS)
    qtbot.wait(100)
    assert w.people.width() == before
    assert w.people.suggest_area.height() <= 2 * 44 + 4
    assert w.people.list.height() >= 3 * 56, w.people.list.height()  # three rows of people at least


def test_redo_makes_an_undone_change_again(qtbot, make_window, gallery_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 21: Ctrl+Shift+Z after Ctrl+Z, from the People menu's Redo too."""
    with Gallery(gallery_path) as g:
        g.enroll("Bob", FakeEmbedder().descriptor("blue")[None], [b""])
    w = make_window(gallery_path)
    w.run_command(w.session.people_commands.rename("Bob", "Robert"))
    qtbot.waitUntil(lambda: w.people.names() == ["Robert"], timeout=WAIT_MS)
    w.people_actions.undo()
    qtbot.waitUntil(lambda: w.people.names() == ["Bob"], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: w.session.people_commands.can_redo() == "rename Bob to Robert", timeout=WAIT_MS)
    w.people_actions.show_undo_label()
    assert w.chrome.redo_action.text() == "Redo rename Bob to Robert"
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: w.people.names() == ["Robert"], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "Redone: rename Bob to Robert" in w.statusBar().currentMessage(), timeout=WAIT_MS)


def test_name_the_unnamed_in_one_go(qtbot, make_window, gallery_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 21: the automatic identities, most seen first, named in bulk as one undo step (an
    existing name merges)."""
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QLineEdit

    emb = FakeEmbedder()
    with Gallery(gallery_path) as g:
        g.enroll("Cara", emb.descriptor("green")[None], [b""])
        small = g.add_person(None, known=False)
        g.add_descriptors(small.id, np.stack([emb.descriptor("blue") for _ in range(2)]))
        big = g.add_person(None, known=False)
        g.add_descriptors(big.id, np.stack([emb.descriptor("red") for _ in range(5)]))
        other = g.add_person(None, known=False)
        g.add_descriptors(other.id, np.stack([emb.descriptor("green") for _ in range(3)]))
    w = make_window(gallery_path)
    qtbot.waitUntil(lambda: len(w.people.names()) == 4, timeout=WAIT_MS)

    def fill() -> None:
        dialog = w.people_actions.unnamed_dialog
        if dialog is None or not dialog.isVisible():  # not up yet: look again soon
            QTimer.singleShot(50, fill)
            return
        fields = {f.objectName(): f for f in dialog.findChildren(QLineEdit)}
        assert list(fields) == ["name-for:Person 2", "name-for:Person 3", "name-for:Person 1"]  # most seen first
        fields["name-for:Person 2"].setText("Dan")
        fields["name-for:Person 3"].setText("Cara")  # her, seen by a camera: merged into her
        dialog.accept()

    QTimer.singleShot(0, fill)
    w.people_actions.name_unnamed_dialog()
    qtbot.waitUntil(lambda: set(w.people.names()) == {"Cara", "Dan", "Person 1"}, timeout=WAIT_MS)
    assert "Named 2" in w.statusBar().currentMessage()
    w.people_actions.undo()
    qtbot.waitUntil(lambda: set(w.people.names()) == {"Cara", "Person 1", "Person 2", "Person 3"}, timeout=WAIT_MS)


def test_hide_a_person_from_the_list_and_across_a_restart(qtbot, make_window, gallery_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 21: hide a person (a passer-by); "Show hidden (N)" brings them back into view; kept
    at the next start, for this gallery."""
    with Gallery(gallery_path) as g:
        g.enroll("Ann", FakeEmbedder().descriptor("blue")[None], [b""])
        g.enroll("Bob", FakeEmbedder().descriptor("red")[None], [b""])
    w = make_window(gallery_path)
    qtbot.waitUntil(lambda: set(w.people.names()) == {"Ann", "Bob"}, timeout=WAIT_MS)

    def shown() -> set[str]:
        return {str(i.data(PERSON_ID)) for i in w.people.rows.items.values() if not i.isHidden()}

    w.people.set_hidden([w.people._id_of("Bob")], True)
    assert shown() == {"Ann"} and w.people.show_hidden_box.text() == "Show hidden (1)"
    w.people.show_hidden_box.setChecked(True)
    assert shown() == {"Ann", "Bob"}
    w.people.show_hidden_box.setChecked(False)
    w.close()
    again = make_window(gallery_path)
    qtbot.waitUntil(lambda: set(again.people.names()) == {"Ann", "Bob"}, timeout=WAIT_MS)
    assert {str(i.data(PERSON_ID)) for i in again.people.rows.items.values() if not i.isHidden()} == {"Ann"}
