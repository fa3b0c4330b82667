"""The desktop app, offscreen, with the real engine (dlib) on real video."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PyQt6.QtCore import QPoint, QSettings, Qt, QUrl
from PyQt6.QtWidgets import QApplication, QInputDialog, QMessageBox

from tests.helpers.paths import CLIP, FACES, PEOPLE
from tests.helpers.ui import key, make_window, settings  # noqa: F401
from tracker.config import Config
from tracker.gallery.enroll import enroll_folders
from tracker.gallery.gallery import Gallery
from ui.launch import apply_saved
from ui.session.state import ENDED, PAUSED, PLAYING
from ui.window import MainWindow

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def crossing_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.helpers.synth import crossing_clip

    return crossing_clip().write(tmp_path_factory.mktemp("clips") / "crossing.mp4")


@pytest.fixture
def enrolled(gallery_path: Path) -> Path:
    with Gallery(gallery_path) as g:
        enroll_folders(g, PEOPLE)
    return gallery_path


def _labels(w: MainWindow) -> list[str]:
    return [f.label for f in w.view.faces]


def _engine_threads() -> list[str]:
    prefixes = ("facetrack-engine", "capture:", "detect")
    return [t.name for t in threading.enumerate() if t.name.startswith(prefixes)]


def test_open_file_boxes_and_labels_reach_the_view(qtbot, make_window, enrolled: Path, monkeypatch) -> None:
    w = make_window(enrolled)
    monkeypatch.setattr("ui.player.QFileDialog.getOpenFileName", lambda *a, **k: (str(CLIP), ""))
    qtbot.waitUntil(lambda: w.people.names() == ["Alex Lacamoire", "Lin-Manuel Miranda"], timeout=WAIT_MS)
    w.chrome.fast_action.trigger()
    w.chrome.open_action.trigger()  # "Open file…" with the dialog answered
    qtbot.waitUntil(lambda: "Lin-Manuel Miranda" in _labels(w), timeout=WAIT_MS)
    face = next(f for f in w.view.faces if f.label == "Lin-Manuel Miranda")
    assert face.rect.width() > 20 and face.distance < 0.6
    assert w.view.paints > 0
    qtbot.waitUntil(lambda: w.session.stats().state == ENDED, timeout=WAIT_MS)
    w._pull_stats()
    state = w.status_line.state_label.text()
    assert state.startswith("finished") and "short_hamilton_clip.mp4" in state
    assert w.status_line.device_label.text().startswith(("CPU", "GPU"))
    assert w.settings.value("source/last") == str(CLIP)
    lin = next(v.person for v in w.session.people()[1] if v.person.name == "Lin-Manuel Miranda")
    assert lin.last_seen is not None and lin.descriptors >= 1


def test_close_stops_everything_within_two_seconds(qtbot, make_window, enrolled: Path) -> None:
    import time

    w = make_window(enrolled)
    w.player.open_source(str(CLIP))
    qtbot.waitUntil(lambda: w.session.stats().state == PLAYING and w.view.seq > 5, timeout=WAIT_MS)
    assert _engine_threads()
    started = time.monotonic()
    w.close()
    assert time.monotonic() - started < 2.0
    assert not w.session.alive
    qtbot.waitUntil(lambda: not _engine_threads(), timeout=3000)
    assert not [x for x in QApplication.topLevelWidgets() if isinstance(x, MainWindow) and x.isVisible()]
    with Gallery(enrolled, readonly=True) as g:  # saved and intact
        assert {p.name for p in g.people()} >= {"Alex Lacamoire", "Lin-Manuel Miranda"}


def test_who_is_this_rename_and_merge_through_the_window(qtbot, make_window, gallery_path: Path,
                                                         crossing_video: Path, monkeypatch) -> None:
    w = make_window(gallery_path)  # empty gallery: both faces become automatic identities
    w.player.open_source(str(crossing_video))
    qtbot.waitUntil(lambda: sum(f.name is not None for f in w.view.faces) == 2, timeout=WAIT_MS)
    key(qtbot, w, Qt.Key.Key_Space)  # pause: the tracks stay alive
    qtbot.waitUntil(lambda: w.session.stats().state == PAUSED, timeout=5000)
    paused_at = w.view.seq
    autos = [f for f in w.view.faces if f.name is not None]
    assert all(not f.known for f in autos)
    left = min(autos, key=lambda f: f.rect.left())  # Obama starts on the left

    # "Who is this?": click the face, answer the dialog.
    monkeypatch.setattr(w.people_actions, "_ask_person", lambda *a, **k: "Barack Obama")
    qtbot.mouseClick(w.view, Qt.MouseButton.LeftButton, pos=left.rect.center().toPoint())
    qtbot.waitUntil(lambda: "Barack Obama" in _labels(w), timeout=10_000)
    named = next(f for f in w.view.faces if f.label == "Barack Obama")
    assert named.known and named.track_id == left.track_id
    qtbot.waitUntil(lambda: "Barack Obama" in w.people.names(), timeout=5000)
    assert left.name not in w.people.names()  # the automatic identity became Barack Obama

    # Rename the other one through the panel.
    other = next(f for f in autos if f.track_id != left.track_id)
    assert other.name is not None
    w.people.select(other.name)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Joe", True)))
    qtbot.mouseClick(w.people.rename_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Joe" in _labels(w) and "Joe" in w.people.names(), timeout=10_000)
    assert w.view.seq > paused_at  # the paused picture was relabelled at once

    # Merge: "Joe" and a new enrolled "Joe Biden" are one person; keep the full name.
    w.people_actions.enroll_paths([FACES / "biden_1.jpg"], name="Joe Biden")
    qtbot.waitUntil(lambda: "Joe Biden" in w.people.names(), timeout=WAIT_MS)
    w.people.select("Joe", "Joe Biden")
    assert w.people.merge_btn.isEnabled()
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: ("Joe Biden", True)))
    qtbot.mouseClick(w.people.merge_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Joe" not in w.people.names(), timeout=10_000)
    assert "Joe Biden" in _labels(w)  # the tracked face carries the merged name without a flicker

    key(qtbot, w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.session.stats().state == ENDED, timeout=WAIT_MS)
    w.close()
    with Gallery(gallery_path, readonly=True) as g:
        people = {p.name: p for p in g.people()}
    assert set(people) == {"Barack Obama", "Joe Biden"}
    assert people["Joe Biden"].known and people["Joe Biden"].descriptors > 1
    assert people["Barack Obama"].known


def test_delete_through_the_panel(qtbot, make_window, enrolled: Path, monkeypatch) -> None:
    w = make_window(enrolled)
    qtbot.waitUntil(lambda: len(w.people.names()) == 2, timeout=WAIT_MS)
    w.people.select("Alex Lacamoire")
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    qtbot.mouseClick(w.people.delete_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.people.names() == ["Lin-Manuel Miranda"], timeout=10_000)


def test_errors_are_messages_and_the_app_goes_on(qtbot, make_window, enrolled: Path, tmp_path: Path) -> None:
    w = make_window(enrolled)
    w.player.open_source(str(tmp_path / "missing.mp4"))
    qtbot.waitUntil(lambda: w.messages.isVisible() and "no such file" in w.messages.text(), timeout=WAIT_MS)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(4000))
    w.player.open_source(str(corrupt))
    qtbot.waitUntil(lambda: "cannot decode" in w.messages.text(), timeout=WAIT_MS)
    w.player.open_source("rtsp://127.0.0.1:9/none")
    qtbot.waitUntil(lambda: "cannot open stream" in w.messages.text(), timeout=WAIT_MS)
    w.player.open_source(str(CLIP))  # and it still plays
    qtbot.waitUntil(lambda: w.view.seq > 3, timeout=WAIT_MS)
    assert w.session.alive


def test_drop_photos_enrols_and_drop_video_opens(qtbot, make_window, gallery_path: Path, monkeypatch) -> None:
    w = make_window(gallery_path)
    monkeypatch.setattr(w.people_actions, "_ask_person", lambda *a, **k: "Barack Obama")
    w.people_actions.handle_drop([QUrl.fromLocalFile(str(FACES / "obama_1.jpg")),
                                  QUrl.fromLocalFile(str(FACES / "obama_2.jpg"))])
    qtbot.waitUntil(lambda: w.people.names() == ["Barack Obama"], timeout=WAIT_MS)
    view = w.people.views[0]
    assert view.person.known and view.person.descriptors == 2 and view.thumbnail is not None
    w.people_actions.handle_drop([QUrl.fromLocalFile(str(CLIP))])
    qtbot.waitUntil(lambda: w.session.stats().source == str(CLIP) and w.view.seq > 0, timeout=WAIT_MS)


def test_seek_pause_shortcuts_and_recording(qtbot, make_window, enrolled: Path, tmp_path: Path) -> None:
    w = make_window(enrolled)
    w.player.open_source(str(CLIP))
    qtbot.waitUntil(lambda: w.session.stats().state == PLAYING, timeout=WAIT_MS)
    video = tmp_path / "rec.mp4"
    w.player.start_recording(video)
    qtbot.waitUntil(lambda: w.session.stats().recording == video, timeout=5000)
    key(qtbot, w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.session.stats().state == PAUSED, timeout=5000)
    w.player.seek_to(200)
    qtbot.waitUntil(lambda: w.session.latest() is not None and w.session.latest().frame.index == 200,
                    timeout=WAIT_MS)
    assert w.session.stats().state == PAUSED  # a seek while paused shows that frame and stays paused
    key(qtbot, w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.session.stats().position > 210, timeout=WAIT_MS)
    w.chrome.record_action.trigger()  # stop recording
    qtbot.waitUntil(lambda: w.session.stats().recording is None, timeout=5000)
    cap = cv2.VideoCapture(str(video))
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, first = cap.read()
    cap.release()
    assert ok and first.shape == (360, 640, 3) and frames > 10
    key(qtbot, w, Qt.Key.Key_F)
    qtbot.waitUntil(w.isFullScreen, timeout=5000)
    key(qtbot, w, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not w.isFullScreen(), timeout=5000)


def test_settings_apply_persist_and_yield_to_flags(qtbot, make_window, enrolled: Path, settings: QSettings,
                                                   tmp_path: Path) -> None:
    w = make_window(enrolled)
    other = tmp_path / "other.sqlite3"
    w.apply_settings(w.cfg.replace(threshold=0.5, upsample=0, gallery=other))
    qtbot.waitUntil(lambda: w.session.cfg.threshold == 0.5 and w.session.cfg.gallery == other, timeout=10_000)
    qtbot.waitUntil(lambda: w.people.names() == [], timeout=10_000)  # the new, empty gallery
    w.close()
    assert w.settings.value("window/geometry") is not None
    base = Config(gallery=enrolled)
    restored = apply_saved(base, settings, frozenset())
    assert (restored.threshold, restored.upsample, restored.gallery) == (0.5, 0, other)
    flagged = apply_saved(base, settings, frozenset({"threshold"}))
    assert flagged.threshold == base.threshold and flagged.upsample == 0


def test_the_app_opens_a_postgresql_gallery_typed_in_settings(qtbot, make_window, enrolled: Path,  # type: ignore[no-untyped-def]
                                                              settings: QSettings, postgres_server) -> None:
    from tracker.config import DatabaseURL
    from ui.widgets.settings_dialog import SettingsDialog

    url = postgres_server.database()
    with Gallery(url) as g:
        g.enroll("Ada Shared", np.full((1, 128), 0.05, np.float32), [b""])
    w = make_window(enrolled)
    dialog = SettingsDialog(w.cfg, w)
    qtbot.addWidget(dialog)
    dialog.gallery.setText(url)
    cfg = dialog.result_config()
    assert isinstance(cfg.gallery, DatabaseURL) and cfg.gallery == url  # not mangled into a path
    w.apply_settings(cfg)
    qtbot.waitUntil(lambda: w.people.names() == ["Ada Shared"], timeout=10_000)
    w.close()
    assert apply_saved(Config(gallery=enrolled), settings, frozenset()).gallery == url  # the next start too


def test_view_letterboxes_and_hit_tests(qtbot) -> None:
    from tracker.records import Frame, FrameResult
    from ui.session.state import Snapshot
    from ui.widgets.video_view import VideoView

    view = VideoView()
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    image = np.zeros((300, 400, 3), np.uint8)
    result = FrameResult(index=0, time=0.0, source="x", track_ids=np.array([7]),
                         boxes=np.array([[100.0, 50.0, 200.0, 150.0]]), person_ids=np.array([3]),
                         names=("Ada",), known=np.array([True]), distances=np.array([0.31]))
    view.show_snapshot(Snapshot(Frame(image, 0, 0.0, "x"), result, 1))
    qtbot.waitUntil(lambda: view.paints > 0, timeout=5000)
    (face,) = view.faces
    # 400x300 in 800x600: scale 2, no bars.
    assert (face.rect.left(), face.rect.top(), face.rect.width()) == (200.0, 100.0, 200.0)
    with qtbot.waitSignal(view.face_clicked) as sig:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(300, 200))
    assert sig.args == [7, "Ada"]
    assert view.face_at(QPoint(10, 10)) is None


def test_live_stream_that_drops_is_reopened_and_said_so(qtbot, make_window, gallery_path: Path) -> None:
    from tests.helpers.streams import MjpegCamera
    from tests.helpers.synth import crossing_clip

    frames = crossing_clip(n=60).frames
    with MjpegCamera(frames, fps=30, drop_after=45) as cam:
        w = make_window(gallery_path)
        w.player.open_source(cam.url)
        qtbot.waitUntil(lambda: w.session.stats().state == PLAYING and w.view.seq > 5, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: any("dropped" in m for m in w.messages.history), timeout=WAIT_MS)
        seq = w.view.seq
        qtbot.waitUntil(lambda: w.view.seq > seq + 10, timeout=WAIT_MS)  # frames flow again
        qtbot.waitUntil(lambda: any(f.name is not None for f in w.view.faces), timeout=WAIT_MS)
        w._pull_stats()
        assert w.session.stats().live and "source" in w.status_line.source_fps_label.text()
        assert "latency" in w.status_line.latency_label.text()
        w.close()
    assert not w.session.alive


def test_name_a_face_in_a_photo_after_it_is_shown(qtbot, make_window, gallery_path: Path, monkeypatch) -> None:
    w = make_window(gallery_path)
    w.player.open_source(str(FACES / "obama_and_biden.jpg"))
    qtbot.waitUntil(lambda: w.session.stats().state == ENDED and len(w.view.faces) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: all(f.name is not None for f in w.view.faces), timeout=WAIT_MS)
    # The panel follows the gallery on its own poll, which may come a moment after the labels.
    qtbot.waitUntil(lambda: len(w.people.names()) == 2, timeout=WAIT_MS)
    assert all(not f.known for f in w.view.faces)
    right = max(w.view.faces, key=lambda f: f.rect.left())
    monkeypatch.setattr(w.people_actions, "_ask_person", lambda *a, **k: "Joe Biden")
    qtbot.mouseClick(w.view, Qt.MouseButton.LeftButton, pos=right.rect.center().toPoint())
    qtbot.waitUntil(lambda: "Joe Biden" in _labels(w) and "Joe Biden" in w.people.names(), timeout=10_000)
    assert len(w.people.names()) == 2  # renamed, not added
