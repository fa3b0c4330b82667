"""Issue 21's keys, messages, drops and lists (points 4, 5, 6, 8, 10, 12, 13): each as a user
meets it, in a real window (offscreen)."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt, QUrl
from PyQt6.QtGui import QKeySequence

from tests.helpers.paths import CLIP, FACES, ROOT
from tests.helpers.ui import WAIT_MS, activate, make_window, open_paused, settings  # noqa: F401
from ui.session.state import PLAYING, Stats
from ui.session.status_text import behind_text
from ui.widgets.face_dialogs import looks_like_text, natural_key
from ui.widgets.person_page import PersonPage


def test_home_and_end_seek_even_while_the_people_list_has_the_focus(qtbot, make_window,  # type: ignore[no-untyped-def]
                                                                     gallery_path: Path) -> None:
    w = make_window(gallery_path)
    open_paused(qtbot, w, CLIP)
    activate(qtbot, w)
    w.people.list.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(lambda: w.people.list.hasFocus(), timeout=5000)
    end, home = w.chrome.nav_actions[7], w.chrome.nav_actions[6]
    with qtbot.waitSignal(end.triggered, timeout=5000):
        qtbot.keyClick(w.people.list, Qt.Key.Key_End)
    with qtbot.waitSignal(home.triggered, timeout=5000):
        qtbot.keyClick(w.people.list, Qt.Key.Key_Home)


def test_settings_has_a_key_everywhere_and_no_tooltip_shows_empty_or_doubled_keys(qtbot, make_window,  # type: ignore[no-untyped-def]
                                                                                   gallery_path: Path) -> None:
    w = make_window(gallery_path)
    keys = [k.toString() for k in w.chrome.settings_action.shortcuts()]
    assert keys and all(keys), keys  # Ctrl+, where the platform has no Preferences key
    for action in w.findChildren(type(w.chrome.settings_action)):
        tip = action.toolTip()
        assert "()" not in tip, tip
        assert tip.count("(F") <= 1, tip  # "(F or Esc leaves) (F)" no more
    first = w.chrome.settings_action.shortcuts()[0].toString(QKeySequence.SequenceFormat.NativeText)
    assert w.chrome.settings_action.toolTip().endswith(f"({first})")


def test_messages_keep_every_status_message(qtbot, make_window, gallery_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(gallery_path)
    for i in range(15):
        w.say(f"status {i}")
    dialog = w.show_messages()
    assert len(dialog.lines()) >= 15 and dialog.lines()[0].endswith("status 14")
    assert not dialog.empty.isVisible()


def test_late_but_nothing_skipped_does_not_say_zero_frames() -> None:
    st = Stats(state=PLAYING, behind=True, skipped=0, source="clip.mp4")
    assert "0 frame" not in behind_text(st) and behind_text(st).startswith("running late")
    assert behind_text(Stats(state=PLAYING, behind=True, skipped=1, source="x")).startswith("behind: 1 frame skipped")
    assert "12 frames skipped" in behind_text(Stats(state=PLAYING, behind=True, skipped=12, source="x"))


def test_names_sort_as_people_read_them() -> None:
    names = ["Person 10", "dan", "Person 2", "Person 11", "Ann", "Person 1"]
    assert sorted(names, key=natural_key) == ["Ann", "dan", "Person 1", "Person 2", "Person 10", "Person 11"]


def test_a_dropped_text_file_is_refused_and_the_video_goes_on(qtbot, make_window, gallery_path: Path,  # type: ignore[no-untyped-def]
                                                              tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list\n")
    assert looks_like_text(notes) and not looks_like_text(CLIP) and not looks_like_text(FACES / "obama_1.jpg")
    w = make_window(gallery_path)
    open_paused(qtbot, w, CLIP)
    w.people_actions.handle_drop([QUrl.fromLocalFile(str(notes))])
    assert "not a video" in w.messages.text()
    assert w.session.stats().source == str(CLIP)  # still the clip


def test_only_sources_that_opened_go_into_open_recent(qtbot, make_window, gallery_path: Path,  # type: ignore[no-untyped-def]
                                                      tmp_path: Path) -> None:
    w = make_window(gallery_path)
    w.player.open_source(str(tmp_path / "missing.mp4"))
    qtbot.waitUntil(lambda: "no such file" in w.messages.text(), timeout=WAIT_MS)
    w._pull_stats()
    assert str(tmp_path / "missing.mp4") not in w.player.recent_sources()
    open_paused(qtbot, w, CLIP)
    qtbot.waitUntil(lambda: (w._pull_stats() or True) and str(CLIP) in w.player.recent_sources(), timeout=WAIT_MS)


def test_drops_are_copies(qtbot, make_window, gallery_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PyQt6.QtCore import QMimeData, QPointF
    from PyQt6.QtGui import QDragEnterEvent

    w = make_window(gallery_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(CLIP))])
    event = QDragEnterEvent(QPointF(10, 10).toPoint(), Qt.DropAction.MoveAction | Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    w.dragEnterEvent(event)
    assert event.isAccepted() and event.dropAction() == Qt.DropAction.CopyAction


def test_the_people_menu_holds_every_people_command(qtbot, make_window, gallery_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 21, point 7: Rename, Merge, Delete and a person's page are in the People menu, enabled
    as the selection allows."""
    from tracker.gallery.gallery import Gallery

    with Gallery(gallery_path) as g:
        g.enroll("Ann", __import__("numpy").full((1, 128), 0.01, "float32"), [b""])
        g.enroll("Bo", __import__("numpy").full((1, 128), 0.2, "float32"), [b""])
    w = make_window(gallery_path)
    qtbot.waitUntil(lambda: set(w.people.names()) == {"Ann", "Bo"}, timeout=WAIT_MS)
    menu = next(a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == "People")
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert any(t.startswith("Rename") for t in texts) and any(t.startswith("Merge") for t in texts)
    assert any(t.startswith("Delete") for t in texts) and any("page" in t for t in texts)
    w.people.select("Ann")
    qtbot.waitUntil(lambda: w.people.rename_action.isEnabled() and not w.people.merge_action.isEnabled(),
                    timeout=5000)
    w.people.open_action.trigger()
    qtbot.waitUntil(lambda: any(p.name == "Ann" and p.isVisible() for p in w.findChildren(PersonPage)),
                    timeout=5000)
    w.people.select("Ann", "Bo")
    qtbot.waitUntil(lambda: w.people.merge_action.isEnabled() and not w.people.rename_action.isEnabled(),
                    timeout=5000)


def test_enrolling_a_group_photo_asks_which_face(qtbot, make_window, gallery_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Issue 21, point 11: a photo of two people asks which face is the person (the faces shown);
    the one picked is enrolled."""
    from tracker.gallery.gallery import Gallery

    w = make_window(gallery_path)
    asked: list[int] = []

    def pick(name: str, photo) -> int:  # type: ignore[no-untyped-def]
        asked.append(len(photo.chips))
        assert photo.chips.shape[1:] == (150, 150, 3)
        return 0

    monkeypatch.setattr(w.people_actions, "_pick_face", pick)
    w.people_actions.enroll_paths([FACES / "obama_and_biden.jpg"], "Someone")
    qtbot.waitUntil(lambda: "Someone" in w.people.names(), timeout=WAIT_MS)
    assert asked == [2]
    with Gallery(gallery_path, readonly=True) as g:
        assert g.require("Someone").descriptors == 1


def test_enrolling_photos_of_different_people_asks_first(qtbot, make_window, gallery_path: Path,  # type: ignore[no-untyped-def]
                                                         monkeypatch) -> None:
    from PyQt6.QtWidgets import QMessageBox

    w = make_window(gallery_path)
    questions: list[str] = []

    def answer(_parent, _title, text, *a, **k):  # type: ignore[no-untyped-def]
        questions.append(text)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr("ui.people_actions.QMessageBox.question", answer)
    w.people_actions.enroll_paths([FACES / "obama_1.jpg", FACES / "obama_2.jpg", FACES / "biden_2.jpg"], "Obama")
    qtbot.waitUntil(lambda: bool(questions), timeout=WAIT_MS)
    assert "biden_2.jpg" in questions[0] and "obama_1" not in questions[0]
    qtbot.waitUntil(lambda: "Nothing enrolled for Obama" in w.statusBar().currentMessage(), timeout=WAIT_MS)
    assert "Obama" not in w.people.names()


def _result(n: int):  # type: ignore[no-untyped-def]
    import numpy as np

    from tracker.engine.pass2 import Analysis, Appearance, PersonFound
    from ui.session.analysis_job import AnalysisResult

    people = [PersonFound(f"P{i}", i % 2 == 0, i + 1 if i % 2 == 0 else -1, 0.3, [i], np.zeros((0, 128), np.float32),
                          screen_time=1.0, appearances=[Appearance("v.mp4", 9.0 - i * 0.5, 9.5 - i * 0.5)])
              for i in range(n)]  # listed by presence, appearing in the reverse order
    return AnalysisResult("v.mp4", Analysis(["v.mp4"], people, [], []), 10.0, 30.0, np.zeros(0), np.zeros(0, np.int64))


def test_the_timeline_reads_in_order_of_first_appearance_in_the_boxes_colours(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Issue 21, point 9: rows by first appearance; a person's row has their boxes' colour."""
    from PyQt6.QtGui import QColor

    from tracker.sinks.draw import person_colour
    from ui.widgets.timeline import AnalysisPanel, _qcolour

    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    result = _result(10)
    panel.show_result(result, room=200)
    panel.show()
    names = panel.timeline.names
    assert names == [f"P{i}" for i in range(9, -1, -1)]
    for row, p in enumerate(panel.timeline.people):
        if p.person_id >= 0:
            assert _qcolour(p, row) == QColor(*person_colour(p.person_id))
    assert panel.rows_area.height() < panel.timeline.content_height()  # the rows scroll...
    image = panel.rows_area.viewport().grab().toImage()  # ...and the axis is at the bottom of the view
    bottom = panel.rows_area.viewport().height()
    axis_rows = [y for y in range(bottom - 25, bottom) if QColor(image.pixel(image.width() // 2, y)).lightness() < 100]
    assert axis_rows, "no axis line at the bottom of the visible rows"


def test_the_analysis_progress_text_is_cut_never_wrapped(qtbot) -> None:  # type: ignore[no-untyped-def]
    from ui.widgets.status_line import ElidedLabel

    label = ElidedLabel("Analyzing a_rather_long_file_name_from_a_phone_2026-12-05_18-33-12.mp4: grouping faces…")
    qtbot.addWidget(label)
    label.resize(120, 20)
    label.show()
    assert "…" in label.shown_text() and label.toolTip().startswith("Analyzing a_rather_long")
    assert label.full_text().endswith("grouping faces…") and not label.wordWrap()


def test_back_up_import_and_prune_from_the_file_menu(qtbot, make_window, gallery_path: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                     monkeypatch) -> None:
    """Issue 21: backup, import and prune are in the File menu, and say what they did."""
    import numpy as np

    from tracker.gallery.gallery import Gallery

    with Gallery(gallery_path) as g:
        g.enroll("Ann", np.full((1, 128), 0.01, np.float32), [b""])
        old = g.add_person(None, known=False)
        g.add_descriptors(old.id, np.full((1, 128), 0.3, np.float32))
    w = make_window(gallery_path)
    qtbot.waitUntil(lambda: set(w.people.names()) == {"Ann", "Person 1"}, timeout=WAIT_MS)
    menu = next(a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == "File")
    texts = [a.text() for a in menu.actions()]
    assert {"Back up people…", "Import people…", "Remove unseen identities…"} <= set(texts)

    backup = tmp_path / "backup.sqlite3"
    monkeypatch.setattr("ui.people_actions.QFileDialog.getSaveFileName", lambda *a, **k: (str(backup), ""))
    w.chrome.backup_action.trigger()
    qtbot.waitUntil(lambda: "Backed up 2 people" in w.statusBar().currentMessage(), timeout=WAIT_MS)
    with Gallery(backup, readonly=True) as b:
        assert {p.name for p in b.people()} == {"Ann", "Person 1"}

    # Prune: the automatic identity was last seen long ago (its time set back), Ann stays.
    import sqlite3
    db = sqlite3.connect(gallery_path)
    db.execute("UPDATE people SET last_seen = 0, created = 0 WHERE known = 0")
    db.commit()
    db.close()
    monkeypatch.setattr("ui.people_actions.QInputDialog.getInt", lambda *a, **k: (30, True))
    w.chrome.prune_action.trigger()
    qtbot.waitUntil(lambda: "Removed 1 automatic identities" in w.statusBar().currentMessage(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: w.people.names() == ["Ann"], timeout=WAIT_MS)

    # Import the backup: Person 1 comes back (as an automatic identity), Ann gets nothing twice.
    monkeypatch.setattr("ui.people_actions.QFileDialog.getOpenFileName", lambda *a, **k: (str(backup), ""))
    w.chrome.import_action.trigger()
    qtbot.waitUntil(lambda: "Imported 2 people" in w.statusBar().currentMessage(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(w.people.names()) == 2, timeout=WAIT_MS)
    # Importing the gallery into itself is refused.
    monkeypatch.setattr("ui.people_actions.QFileDialog.getOpenFileName", lambda *a, **k: (str(gallery_path), ""))
    w.chrome.import_action.trigger()
    qtbot.waitUntil(lambda: "into itself" in w.statusBar().currentMessage(), timeout=WAIT_MS)


def test_every_setting_has_a_sentence_of_help(qtbot, make_window, gallery_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ui.widgets.settings_dialog import SettingsDialog

    w = make_window(gallery_path)
    dialog = SettingsDialog(w.cfg, w)
    qtbot.addWidget(dialog)
    assert set(dialog.help) == {"Match threshold", "Detector", "Upsampling", "Gallery"}
    assert all(len(label.text()) > 30 for label in dialog.help.values())


def test_a_sample_on_a_person_s_page_shows_where_it_was_taken(qtbot, make_window, gallery_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 21: from a person's page, jump to where they appear in the open file (no re-analysis)."""
    import numpy as np

    from tracker.gallery.gallery import LEARNED, Gallery, Provenance

    with Gallery(gallery_path) as g:
        p = g.add_person("Ann", known=True)
        g.add_descriptors(p.id, np.full((2, 128), 0.01, np.float32), [b"", b""], LEARNED,
                          [Provenance(str(CLIP), 3, 100, 3.3), Provenance("elsewhere.mp4", 4, 7, 0.2)])
    w = make_window(gallery_path)
    open_paused(qtbot, w, CLIP)
    page = w.people_actions.open_person("Ann")
    qtbot.waitUntil(lambda: page.list.count() == 2, timeout=WAIT_MS)
    here = next(page.list.item(i) for i in range(2) if "frame 101" in page.list.item(i).toolTip())
    page.list.itemDoubleClicked.emit(here)
    assert page.note.text().startswith("Shown: frame 101")
    qtbot.waitUntil(lambda: w.session.stats().position == 100, timeout=WAIT_MS)
    there = next(page.list.item(i) for i in range(2) if "elsewhere" in page.list.item(i).toolTip())
    page.list.itemDoubleClicked.emit(there)
    assert "open that file" in page.note.text()
    page.close()


def test_every_key_the_readme_names_is_a_key_of_the_app(qtbot, make_window, gallery_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 21: the README's keys are checked against the window's actions (Help > Keyboard
    shortcuts reads them from the same actions), so neither can drift from the other."""
    import re

    from PyQt6.QtGui import QAction

    from ui.widgets.shortcuts import EXTRAS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    app = readme[readme.index("## The desktop app"):readme.index("## Run the tests")]
    named = set(re.findall(r"\((?:or )?((?:Ctrl|Shift|Alt)\+[^\s,;)]+|F\d{1,2}|F|Space|Delete)[,;)]", app))
    named |= set(re.findall(r"\b(Ctrl\+Shift\+[A-Z]|Ctrl\+[A-Z])\b", app)) | set(re.findall(r"(Ctrl\+[,.])", app))
    # Not the app's: Ctrl+C stops it from a terminal; Ctrl+W is named as a key that does nothing here.
    named -= {"Ctrl+C", "Ctrl+W"}
    assert {"Ctrl+O", "Ctrl+U", "Space", "Ctrl+R", "F1", "Ctrl+M", "Ctrl+Z", "Ctrl+,"} <= named, named
    w = make_window(gallery_path)
    keys = {k.toString() for a in w.findChildren(QAction) for k in a.shortcuts()}
    keys |= {k for _, k, _ in EXTRAS} | {"Delete", "Esc"}  # the panel's Delete key, shown as Del
    missing = sorted(k for k in named if k not in keys)
    assert not missing, f"the README names keys the app does not have: {missing}"


def test_an_analysis_is_shown_again_at_the_next_start(qtbot, make_window, gallery_path: Path,  # type: ignore[no-untyped-def]
                                                      tmp_path: Path) -> None:
    """Issue 21: the timeline is kept with the analysis and restored when the same (unchanged) file
    is open again in a later session."""
    import shutil
    from dataclasses import replace

    from ui.session.analysis_job import load_result, save_result

    clip = tmp_path / "clip.mp4"
    shutil.copy(CLIP, clip)
    w = make_window(gallery_path)
    result = replace(_result(3), spec=str(clip))
    save_result(result, w.analysis.saved_folder())
    kept = load_result(str(clip), w.analysis.saved_folder())
    assert kept is not None and [p.name for p in kept.analysis.people] == ["P0", "P1", "P2"]
    assert [p.appearances for p in kept.analysis.people] == [p.appearances for p in result.analysis.people]
    w.close()

    again = make_window(gallery_path)  # a later start, the same settings
    open_paused(qtbot, again, clip)
    qtbot.waitUntil(lambda: (again._pull_stats() or True) and again.analysis.result is not None, timeout=WAIT_MS)
    assert again.analysis.panel.isVisible() and sorted(again.analysis.timeline.names) == ["P0", "P1", "P2"]
    clip.write_bytes(clip.read_bytes()[:-10])  # the file changed: its old analysis is not it any more
    assert load_result(str(clip), again.analysis.saved_folder()) is None
