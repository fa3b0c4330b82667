"""The desktop app as people expect it (offscreen, real window, real dlib on the real demo clip):
feedback for every action, restart where you left off, keys and time, "last seen" kept current,
errors that stay, layout at 800x500 and in full screen, files that play in real time on a slow
engine, and Space after a seek while paused. One test per numbered point of the issue."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import cv2
import numpy as np
from PyQt6.QtCore import QSettings, Qt
from PyQt6.QtWidgets import QApplication, QInputDialog, QMessageBox, QToolBar

from tests.helpers.paths import ALEX, CLIP, FACES, LIN_NAME
from tests.helpers.ui import WAIT_MS, activate, key, make_window, open_paused, settings  # noqa: F401
from tracker.cli.main import app_argv, main
from tracker.config import Config
from tracker.engine.pipeline import Engine
from tracker.gallery.enroll import enroll
from tracker.gallery.gallery import Gallery
from ui.launch import start_window
from ui.session.session import ENDED, IDLE, PAUSED, PLAYING, Session
from ui.session.status_text import clock
from ui.widgets import messages


def _status(w) -> str:  # type: ignore[no-untyped-def]
    w._pull_stats()
    return str(w.status_line.state_label.text())


# 1. A failed enrolment is not silent ------------------------------------------------------
def test_a_failed_enrolment_says_so_in_the_status_bar_and_a_message_that_stays(
        qtbot, make_window, gallery_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((300, 300, 3), 255, np.uint8))
    w = make_window(gallery_path)
    w.people_actions.enroll_paths([blank], name="Nobody")
    assert "Enrolling Nobody" in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: w.statusBar().currentMessage().startswith("Nothing enrolled for Nobody"), timeout=WAIT_MS)
    assert "no face found" in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: w.messages.isVisible() and "no face found" in w.messages.text(), timeout=5000)
    # It stays (the old strip vanished after 8 s) until dismissed, and it is in the history.
    qtbot.wait(9000)
    assert w.messages.isVisible() and "no face found" in w.messages.text()
    qtbot.mouseClick(w.messages.close_button, Qt.MouseButton.LeftButton)
    assert not w.messages.isVisible()
    key(qtbot, w, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    history = w._messages_dialog
    assert history.isVisible() and history.list.count() >= 1
    assert any("no face found" in line for line in history.lines())
    assert not gallery_path.exists() or Gallery(gallery_path).people() == []


# 2. Restart where you left off ------------------------------------------------------------
def test_restart_remembers_the_gallery_and_does_not_reopen_a_source_that_failed(
        qtbot, lin_gallery: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ini = tmp_path / "facetrack.ini"
    missing = tmp_path / "gone.mp4"
    first = start_window(Config(gallery=lin_gallery), [str(missing)], frozenset({"gallery"}),
                         QSettings(str(ini), QSettings.Format.IniFormat))
    qtbot.addWidget(first)
    qtbot.waitUntil(lambda: first.session.stats().state == IDLE and "Could not open" in first.session.stats().note,
                    timeout=WAIT_MS)
    first._pull_stats()
    assert "Could not open" in first.view.placeholder and first.view.frame_size() is None
    first.close()

    # Started again with no flags and no source: the same gallery, and the failed file is offered, not opened.
    again = start_window(Config(), [], frozenset(), QSettings(str(ini), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    assert again.cfg.gallery == lin_gallery
    qtbot.waitUntil(lambda: LIN_NAME in again.people.names(), timeout=WAIT_MS)
    again._pull_stats()
    assert again.last_failed == str(missing) and again.session.stats().state == IDLE
    assert "could not be opened" in again.view.placeholder and "Space" in again.view.placeholder
    key(qtbot, again, Qt.Key.Key_Space)  # try it again, as offered
    qtbot.waitUntil(lambda: "Could not open" in again.session.stats().note, timeout=WAIT_MS)
    again.close()


def test_restart_brings_a_file_back_where_it_was_paused(qtbot, lin_gallery: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ini = tmp_path / "facetrack.ini"
    first = start_window(Config(gallery=lin_gallery), [str(CLIP)], frozenset({"gallery"}),
                         QSettings(str(ini), QSettings.Format.IniFormat))
    qtbot.addWidget(first)
    first.session.set_paused(True)
    qtbot.waitUntil(lambda: first.session.stats().state == PAUSED and first.view.seq >= 1, timeout=WAIT_MS)
    first.player.seek_to(150)
    qtbot.waitUntil(lambda: first.session.stats().position == 150, timeout=WAIT_MS)
    first.close()
    again = start_window(Config(), [], frozenset(), QSettings(str(ini), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.session.stats().position == 150 and again.session.stats().state == PAUSED
                    and again.view.seq >= 1, timeout=WAIT_MS)
    again.close()


def test_options_without_a_command_open_the_app_with_them(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    commands = ["run", "enroll", "people", "analyze", "cluster", "calibrate", "demo"]
    assert app_argv(["--gallery", "g.sqlite3"], commands) == ["run", "--gallery", "g.sqlite3"]
    assert app_argv(["--gallery", "g.sqlite3", "clip.mp4"], commands) == ["run", "--gallery", "g.sqlite3", "clip.mp4"]
    assert app_argv(["people", "list", "--gallery", "g"], commands) == ["people", "list", "--gallery", "g"]
    assert app_argv(["--help"], commands) == ["--help"]
    assert app_argv(["--threshold", ".5", "demo"], commands) == ["run", "--threshold", ".5", "demo"]  # a folder
    # Through main, without a display: parsed as the app's options (no "invalid choice"), which
    # without a window says what it needs.
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["--gallery", str(tmp_path / "g.sqlite3")]) == 1
    err = capsys.readouterr().err
    assert "run needs a SOURCE" in err and "invalid choice" not in err and "unrecognized" not in err
    assert not (tmp_path / "g.sqlite3").exists()


# 3. Time and keys ---------------------------------------------------------------------------
def test_time_display_and_seeking_keys(qtbot, make_window, gallery_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(gallery_path)
    open_paused(qtbot, w, CLIP)
    st = w.session.stats()
    assert st.total == 275 and st.duration is not None and 9.0 < st.duration < 9.3
    assert _status(w) == f"paused · {clock(0.0)} / {clock(st.duration)} · frame 1/275 · {CLIP.name}"
    fps = st.source_fps

    w.view.setFocus()  # keys go to the video (the people list keeps Home and End while it has the focus)
    assert w.view.hasFocus() or not w.isActiveWindow()

    def at(index: int) -> None:
        try:
            qtbot.waitUntil(lambda: w.session.stats().position == index and w.session.stats().state == PAUSED,
                            timeout=20_000)
        except Exception:
            s = w.session
            latest = s.latest()
            raise AssertionError(f"want {index}: {s.stats()} step_once={s._step_once} paused={s._paused} "
                                 f"show_from={s._show_from} next={s._next} latest={latest and latest.frame.index}"
                                 f" errors={s.take_errors()} focus={QApplication.focusWidget()!r}"
                                 f" active={w.isActiveWindow()}") from None

    key(qtbot, w, Qt.Key.Key_Right)  # +5 s
    at(int(round(5 * fps)))
    assert f"{clock(w.session.stats().time)} / {clock(st.duration)} · frame {int(round(5 * fps)) + 1}/275" \
        in _status(w)
    assert abs(w.session.stats().time - 5.0) < 0.05
    key(qtbot, w, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)  # -1 s
    at(int(round(5 * fps)) - int(round(fps)))
    here = w.session.stats().position
    # The frame a seek shows has its faces decided already (the tracker ran a pre-roll unseen).
    qtbot.waitUntil(lambda: bool(w.view.faces) and w.session.latest().frame.index == here, timeout=5000)
    assert all(f.name is not None for f in w.view.faces), [f.label for f in w.view.faces]
    names = sorted(str(f.name) for f in w.view.faces)
    key(qtbot, w, Qt.Key.Key_Period)  # one frame on: a step, the tracks go on
    at(here + 1)
    qtbot.waitUntil(lambda: w.session.latest().frame.index == here + 1, timeout=5000)
    assert sorted(str(f.name) for f in w.view.faces) == names  # still named, the same people
    key(qtbot, w, Qt.Key.Key_Comma)
    key(qtbot, w, Qt.Key.Key_Comma)  # two back: the second counts from the first's target
    at(here - 1)
    key(qtbot, w, Qt.Key.Key_End)
    at(274)
    key(qtbot, w, Qt.Key.Key_Home)
    at(0)
    key(qtbot, w, Qt.Key.Key_Left)  # before the start: stays at the start
    at(0)

    # Help > Keyboard shortcuts lists them, read from the actions themselves.
    key(qtbot, w, Qt.Key.Key_F1)
    keys = w._shortcuts_dialog.keys()
    assert keys["Left"] == "Back 5 s" and keys["Shift+Right"] == "Forward 1 s"
    assert keys[","] == "Previous frame" and keys["Home"] == "Go to the start"
    assert keys["Space"] in ("Play", "Pause")
    assert (keys.get("Delete") or keys["Del"]).startswith("Delete the selected people")


def test_delete_key_in_the_panel_asks_first(qtbot, make_window, lin_gallery: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w = make_window(lin_gallery)
    qtbot.waitUntil(lambda: w.people.names() == [LIN_NAME], timeout=WAIT_MS)
    w.people.select(LIN_NAME)
    activate(qtbot, w)
    w.people.list.setFocus()
    asked: list[str] = []

    def answer(reply: QMessageBox.StandardButton):  # type: ignore[no-untyped-def]
        def question(_parent, _title, text, *a, **k):  # type: ignore[no-untyped-def]
            asked.append(text)
            return reply
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    qtbot.keyClick(w.people.list, Qt.Key.Key_Delete)
    assert asked and LIN_NAME in asked[-1]
    qtbot.wait(300)
    w._pull_stats()
    assert w.people.names() == [LIN_NAME]
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    qtbot.keyClick(w.people.list, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: (w._pull_stats(), w.people.names())[1] == [], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: w.statusBar().currentMessage().startswith(f"Deleted {LIN_NAME}"), timeout=5000)
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: (w._pull_stats(), w.people.names())[1] == [LIN_NAME], timeout=WAIT_MS)

    # Two at once: one step, one Ctrl+Z brings both back.
    with Gallery(lin_gallery) as g:
        enroll(g, "Alex Lacamoire", [ALEX])
    qtbot.waitUntil(lambda: (w._pull_stats(), sorted(w.people.names()))[1] == ["Alex Lacamoire", LIN_NAME],
                    timeout=WAIT_MS)
    w.people.select("Alex Lacamoire", LIN_NAME)
    activate(qtbot, w)
    w.people.list.setFocus()
    qtbot.keyClick(w.people.list, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: (w._pull_stats(), w.people.names())[1] == [], timeout=WAIT_MS)
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: (w._pull_stats(), sorted(w.people.names()))[1] == ["Alex Lacamoire", LIN_NAME],
                    timeout=WAIT_MS)


# 4. "Last seen" stays current ---------------------------------------------------------------
def test_last_seen_is_rewritten_in_place_by_a_timer(qtbot, make_window, lin_gallery: Path) -> None:  # type: ignore[no-untyped-def]
    with Gallery(lin_gallery) as g:
        g.touch([g.people()[0].id], time.time())
    w = make_window(lin_gallery)
    qtbot.waitUntil(lambda: w.people.names() == [LIN_NAME], timeout=WAIT_MS)
    item = w.people.list.item(0)
    assert "seen just now" in item.text()
    version = w.people.version
    w.people.update_seen(now=time.time() + 600)  # what the 5 s timer does, ten minutes on
    assert "seen 10 min ago" in item.text() and "seen 10 min ago" in item.toolTip()
    assert w.people.list.item(0) is item and w.people.version == version  # in place: no rebuild
    assert w.people._seen_timer.isActive() and w.people._seen_timer.interval() <= 10_000


# 5. Errors are hard to miss; a failed source clears the view ---------------------------------
def test_a_failed_source_clears_the_old_video_and_says_why(qtbot, make_window, gallery_path: Path,
                                                          tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(gallery_path)
    open_paused(qtbot, w, CLIP)
    assert w.view.frame_size() is not None
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video" * 100)
    w.player.open_source(str(broken))
    qtbot.waitUntil(lambda: "Could not open" in w.session.stats().note, timeout=WAIT_MS)
    qtbot.wait(100)  # a few frame polls
    w._pull_stats()
    assert w.view.frame_size() is None  # the previous video's last frame is gone
    assert w.view.placeholder.startswith(f"Could not open {broken}") and "cannot decode" in w.view.placeholder
    assert w.messages.isVisible() and "cannot decode" in w.messages.text()
    for k in range(5):  # many messages: the newest few on the strip, the count of the rest, all in the history
        w.messages.show_message(f"message {k}")
    assert w.messages.text().splitlines() == ["message 2", "message 3", "message 4"]
    assert w.messages.more.text() == "+3 more"
    assert len(w.show_messages().lines()) == 6
    # Stop says so too.
    open_paused(qtbot, w, CLIP)
    w.chrome.stop_action.trigger()
    qtbot.waitUntil(lambda: w.session.stats().state == IDLE, timeout=WAIT_MS)
    qtbot.wait(100)
    w._pull_stats()
    assert w.view.frame_size() is None and w.view.placeholder.startswith("Stopped")
    assert messages.SHOWN == 3


# 6. Layout ----------------------------------------------------------------------------------
def test_toolbar_fits_800x500_and_full_screen_shows_the_video_alone(qtbot, make_window, lin_gallery: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(lin_gallery)
    w.resize(800, 500)
    qtbot.waitUntil(lambda: w.width() == 800, timeout=5000)
    bar: QToolBar = w.chrome.toolbar
    qtbot.waitUntil(lambda: bar.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly, timeout=5000)
    qtbot.wait(50)
    for action in bar.actions():
        if action.isSeparator():
            continue
        widget = bar.widgetForAction(action)
        assert widget is not None and widget.isVisible(), f"{action.text()!r} is hidden at 800x500"
        assert widget.geometry().right() <= bar.width(), f"{action.text()!r} is cut off at 800x500"
    assert w.chrome.webcam_button.isVisible()
    w.resize(1400, 800)
    qtbot.waitUntil(lambda: bar.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon, timeout=5000)

    open_paused(qtbot, w, CLIP)
    key(qtbot, w, Qt.Key.Key_F)
    qtbot.waitUntil(w.isFullScreen, timeout=5000)
    assert w.view.isVisible()
    assert not any(x.isVisible() for x in (w.chrome.toolbar, w.menuBar(), w.statusBar(), w.people))
    key(qtbot, w, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not w.isFullScreen(), timeout=5000)
    assert all(x.isVisible() for x in (w.chrome.toolbar, w.menuBar(), w.statusBar(), w.people))


def test_labels_grow_with_the_view(qtbot, make_window, lin_gallery: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(lin_gallery)
    w.resize(800, 500)
    w.player.open_source(str(FACES / "obama_and_biden.jpg"))
    qtbot.waitUntil(lambda: bool(w.view.faces) and w.view.paints > 0, timeout=WAIT_MS)
    small = w.view.label_px
    w.resize(1600, 1000)
    qtbot.waitUntil(lambda: w.view.label_px > small, timeout=5000)
    assert w.view.label_px >= small * 1.5


def test_settings_show_the_whole_gallery_path_and_dialogs_remember_folders(
        qtbot, make_window, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    deep = tmp_path / "a rather long folder name for galleries" / "another level" / "my-gallery.sqlite3"
    w = make_window(deep)
    from ui.widgets.settings_dialog import SettingsDialog

    dialog = SettingsDialog(w.cfg, w)
    qtbot.addWidget(dialog)
    dialog.show()
    fm = dialog.gallery.fontMetrics()
    assert dialog.gallery.width() >= min(fm.horizontalAdvance(str(deep)), 700)
    assert dialog.gallery.toolTip() == str(deep)

    starts: list[str] = []
    folder = tmp_path / "photos" / "holiday"
    folder.mkdir(parents=True)
    monkeypatch.setattr("ui.player.QFileDialog.getExistingDirectory",
                        lambda _p, _t, start, *a, **k: (starts.append(start), str(folder))[1])
    opened: list[str] = []
    monkeypatch.setattr(w.player, "open_source", lambda spec, *a: opened.append(spec))  # the dialogs are the point
    w.player.open_folder_dialog()
    w.player.open_folder_dialog()
    assert starts[0] == str(Path.home()) and starts[1] == str(folder.parent)
    assert opened == [str(folder), str(folder)]


def test_a_modal_dialog_pauses_a_playing_file_and_resumes_it(qtbot, make_window, lin_gallery: Path,
                                                             monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w = make_window(lin_gallery)
    w.player.open_source(str(CLIP))
    qtbot.waitUntil(lambda: w.session.stats().state == PLAYING and bool(w.view.faces), timeout=WAIT_MS)
    during: list[str] = []

    def exec_(dialog: QInputDialog) -> int:
        qtbot.waitUntil(lambda: w.session.stats().state == PAUSED, timeout=5000)
        position = w.session.stats().position
        qtbot.wait(400)
        during.append(w.session.stats().state)
        assert w.session.stats().position == position  # the file waited for the dialog
        return 0  # cancelled

    monkeypatch.setattr(QInputDialog, "exec", exec_)
    w.people_actions.who_is_this(w.view.faces[0].track_id, "")
    assert during == [PAUSED]
    qtbot.waitUntil(lambda: w.session.stats().state in (PLAYING, ENDED), timeout=5000)


# 7. Real time for files on a slow engine ---------------------------------------------------
class SlowEngine(Engine):
    """The real engine, made slower than the clip (as a 720p file is on a busy two-core machine)."""

    def run(self, source, sinks=(), stop=None, on_result=None, summary=None, on_idle=None, skip=None,  # type: ignore[no-untyped-def,override]
            hold=0):
        def slow(frame, result):  # type: ignore[no-untyped-def]
            time.sleep(0.07)  # ~14 fps at most against a 30 fps file
            if on_result is not None:
                on_result(frame, result)
        return super().run(source, sinks, stop, slow, summary, on_idle, skip, hold)


def test_a_file_the_engine_cannot_keep_up_with_keeps_time_and_says_behind(
        qtbot, lin_gallery: Path, settings: QSettings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ui.window import MainWindow

    session = Session(Config(gallery=lin_gallery), engine_factory=lambda c, g: SlowEngine(c, g)).start()
    w = MainWindow(Config(gallery=lin_gallery), session=session, settings=settings)
    qtbot.addWidget(w)
    w.show()
    w.player.open_source(str(CLIP))
    qtbot.waitUntil(lambda: w.session.stats().state == PLAYING and w.session.stats().time > 0.5, timeout=WAIT_MS)
    t0, media0 = time.monotonic(), w.session.stats().time
    qtbot.waitUntil(lambda: w.session.stats().time > media0 + 3.0 or w.session.stats().state == ENDED,
                    timeout=WAIT_MS)
    wall = time.monotonic() - t0
    st = w.session.stats()
    media = st.time - media0
    print(f"\n{media:.2f} s of video in {wall:.2f} s of wall time, {st.skipped} frames skipped")
    assert media >= 0.8 * wall  # keeps time (playing every frame would manage ~0.45x)
    assert st.skipped > 10
    w._pull_stats()
    behind = w.status_line.behind_label.text()
    assert behind.startswith("behind:") and "skipped to keep time" in behind
    # Recording wants every frame: nothing is skipped, and the window says why it plays late.
    w.player.start_recording(tmp_path / "rec.mp4")
    qtbot.waitUntil(lambda: w.session.stats().recording is not None, timeout=5000)
    w.player.seek_to(0)
    qtbot.waitUntil(lambda: w.session.stats().position < 20 and w.session.stats().skipped == 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: w.session.stats().position > 60, timeout=WAIT_MS)
    assert w.session.stats().skipped == 0
    qtbot.waitUntil(lambda: (w._pull_stats(), w.status_line.behind_label.text())[1].startswith("behind: recording"),
                    timeout=WAIT_MS)
    w.close()


# 8. Space after a seek while paused ---------------------------------------------------------
def test_space_right_after_a_seek_while_paused_plays_and_says_so(qtbot, make_window, gallery_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(gallery_path)
    open_paused(qtbot, w, CLIP)
    for k in range(4):  # the race needs the Space before the seek's frame: try it several times
        target = 30 + 55 * k  # beyond where the last round paused, so that reaching it proves the seek
        assert w.session.stats().position < target
        w.player.seek_to(target)
        key(qtbot, w, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: w.session.stats().position > target + 8, timeout=WAIT_MS)  # noqa: B023
        assert w.session.stats().state == PLAYING and _status(w).startswith("playing")
        key(qtbot, w, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: w.session.stats().state == PAUSED, timeout=WAIT_MS)
        position = w.session.stats().position
        qtbot.wait(300)
        assert w.session.stats().position == position and _status(w).startswith("paused")


def test_play_after_a_seek_and_the_end_starts_again_from_the_first_frame(
        qtbot, make_window, gallery_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(gallery_path)
    w.chrome.fast_action.trigger()
    open_paused(qtbot, w, CLIP)
    w.player.seek_to(200)
    qtbot.waitUntil(lambda: w.session.stats().position == 200, timeout=WAIT_MS)
    key(qtbot, w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.session.stats().state == ENDED, timeout=WAIT_MS)
    key(qtbot, w, Qt.Key.Key_Space)  # play again: from the start, every frame shown
    qtbot.waitUntil(lambda: w.session.latest() is not None and w.session.latest().frame.index < 20, timeout=WAIT_MS)
    assert w.session.stats().position < 20


def test_who_is_this_shows_the_face_it_asks_about(qtbot, make_window, lin_gallery: Path,
                                                  monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ui.widgets.face_dialogs import FACE_PX, FaceInputDialog

    w = make_window(lin_gallery)
    open_paused(qtbot, w, CLIP)
    qtbot.waitUntil(lambda: bool(w.view.faces), timeout=WAIT_MS)
    face = w.view.faces[0]
    seen: list[tuple[int, int, bool]] = []

    def exec_(dialog: QInputDialog) -> int:
        assert isinstance(dialog, FaceInputDialog)
        dialog.show()  # as exec() would: the picture goes above the question
        pix = dialog.picture.pixmap()
        layout = dialog.layout()
        seen.append((pix.height(), pix.width(), layout is not None and layout.itemAt(0).widget() is dialog.picture))
        dialog.hide()
        return 0

    monkeypatch.setattr(QInputDialog, "exec", exec_)
    w.people_actions.who_is_this(face.track_id, "")
    assert seen and seen[0][0] == FACE_PX and seen[0][1] > 0 and seen[0][2], seen
    seen.clear()
    w.people_actions.who_is_this(999_999, "")  # a track no longer on screen: the question without a picture
    assert seen and seen[0][0] == 0


def test_file_open_recent_lists_sources_newest_first_and_reopens_one(qtbot, make_window, lin_gallery: Path,
                                                                     tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(lin_gallery)
    gone = tmp_path / "gone.mp4"
    shutil.copy(CLIP, gone)
    for spec in (str(gone), str(FACES), str(CLIP), str(FACES)):  # FACES again: moves to the top, once
        w.player.open_source(spec)
        # A source goes into the list once it has opened (one that fails never does).
        qtbot.waitUntil(lambda spec=spec: (w._pull_stats() or True) and w.player.recent_sources()[:1] == [spec],
                        timeout=WAIT_MS)
    w.player.open_source(str(tmp_path / "never.mp4"))
    qtbot.waitUntil(lambda: "no such file" in w.messages.text(), timeout=WAIT_MS)
    w._pull_stats()
    assert str(tmp_path / "never.mp4") not in w.player.recent_sources()
    gone.unlink()
    w.player.fill_recent_menu(w.chrome.recent_menu)
    entries = [(a.text(), a.isEnabled(), a.toolTip()) for a in w.chrome.recent_menu.actions() if not a.isSeparator()]
    assert [e[2] for e in entries[:3]] == [str(FACES), str(CLIP), str(gone)]
    assert entries[0][0] == f"&1 {FACES.name}" and entries[2][0].endswith("(missing)") and not entries[2][1]
    assert entries[-1][0] == "Clear the list"
    w.session.set_paused(True)
    next(a for a in w.chrome.recent_menu.actions() if a.toolTip() == str(CLIP)).trigger()
    qtbot.waitUntil(lambda: w.session.stats().source == str(CLIP) and w.view.seq >= 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: (w._pull_stats() or True) and w.player.recent_sources()[0] == str(CLIP), timeout=WAIT_MS)
    next(a for a in w.chrome.recent_menu.actions() if a.text() == "Clear the list").trigger()
    w.player.fill_recent_menu(w.chrome.recent_menu)
    assert [a.text() for a in w.chrome.recent_menu.actions()] == ["Nothing opened yet"]
