"""The desktop app: main window, source bar, status bar, and `run_app`.

The window runs no detection, embedding or blocking I/O. A `Session` owns all of that on its
own thread; a timer here pulls the newest frame and figures from it, and commands go to it as
futures whose results come back to this thread through a queued signal.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QByteArray, QObject, QPoint, QSettings, Qt, QTimer, QUrl, pyqtSignal
from PyQt6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PyQt6.QtWidgets import (
    QApplication,
    QCompleter,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QSlider,
    QSplitter,
    QStyle,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tracker.config import Config
from tracker.errors import FacetrackError
from tracker.images import IMAGE_SUFFIXES

from .analysis import AnalysisController
from .people_panel import PeoplePanel
from .person_page import PersonPage
from .session import CONNECTING, ENDED, IDLE, PAUSED, PLAYING, RECONNECTING, Session, Stats
from .settings_dialog import SettingsDialog
from .video_view import VideoView

log = logging.getLogger(__name__)

FRAME_POLL_MS = 15  # the view repaints at most this often, and only when a new frame came
STATS_POLL_MS = 250
MESSAGE_MS = 8000
UNDO_LABEL_CHARS = 32  # the toolbar's "Undo <step>" is shortened beyond this
WEBCAMS = 4  # indices offered in the webcam menu
VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v *.mpg *.mpeg *.wmv);;All files (*)"
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES)) + ");;All files (*)"
TUNABLE = ("threshold", "detector", "upsample", "gallery")  # what the settings dialog changes


class _Bridge(QObject):
    """Carries a finished future from the engine thread to a callback on the GUI thread."""

    done = pyqtSignal(object, object)


class MessageBar(QFrame):
    """A non-modal message strip over the video: errors never block the window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet("MessageBar { background: #7a2e2e; border-radius: 4px; } QLabel { color: white; }")
        self.label = QLabel("")
        self.label.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        row.addWidget(self.label, 1)
        row.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.history: list[str] = []
        self.hide()

    def show_message(self, text: str) -> None:
        self.history.append(text)
        lines = [*self.label.text().splitlines(), text] if self.isVisible() else [text]
        self.label.setText("\n".join(lines[-3:]))
        self.show()
        self._timer.start(MESSAGE_MS)

    def text(self) -> str:
        return self.label.text()


class MainWindow(QMainWindow):
    def __init__(self, cfg: Config, session: Session | None = None, settings: QSettings | None = None,
                 session_factory: Callable[[Config], Session] | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self._session_factory = session_factory  # how a replacement is made if the engine thread dies
        self.session = session or Session(cfg)
        if not self.session.alive:
            self.session.start()
        self.settings = settings or QSettings("facetrack", "facetrack")
        self.playlist: list[str] = []
        self._stats = Stats()
        self._closed = False
        self._bridge = _Bridge()
        self._bridge.done.connect(self._finish)
        self.setWindowTitle("facetrack")
        self.setAcceptDrops(True)
        self.resize(1180, 720)

        self.view = VideoView()
        self.view.face_clicked.connect(self.who_is_this)
        self.view.face_menu.connect(self.face_menu)
        self.messages = MessageBar()
        self.people = PeoplePanel(self.session)
        self.people.enroll_requested.connect(self.enroll_dialog)
        self.people.person_requested.connect(self.open_person)
        self.people.undo_requested.connect(self.undo)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.messages)
        lv.addWidget(self.view, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.people)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([880, 300])
        self.setCentralWidget(self.splitter)
        self._build_toolbar()
        self._build_statusbar()
        # Analyze… (ui/analysis.py): its action, its progress in the status bar, the timeline under the video.
        self.analysis = AnalysisController(self)
        self.toolbar.insertAction(self.record_action, self.analysis.action)
        lv.addWidget(self.analysis.panel)

        self._frame_timer = QTimer(self)
        self._frame_timer.timeout.connect(self._pull_frame)
        self._frame_timer.start(FRAME_POLL_MS)
        self._stats_timer = QTimer(self)
        self._stats_timer.timeout.connect(self._pull_stats)
        self._stats_timer.start(STATS_POLL_MS)
        self._restore()

    # ------------------------------------------------------------------ building
    def _action(self, text: str, slot: Callable[[], Any], shortcut: str | QKeySequence.StandardKey | None = None,
                icon: QStyle.StandardPixmap | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if icon is not None:
            style = self.style()
            assert style is not None
            action.setIcon(style.standardIcon(icon))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(f"{tip or text} ({QKeySequence(shortcut).toString()})" if shortcut else (tip or text))
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_toolbar(self) -> None:
        sp = QStyle.StandardPixmap
        bar = QToolBar("Source")
        bar.setObjectName("source-bar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(bar)
        self.open_action = self._action("Open file…", self.open_file_dialog, QKeySequence.StandardKey.Open,
                                        sp.SP_DialogOpenButton, "Open a video file")
        self.url_action = self._action("Stream…", self.open_url_dialog, "Ctrl+U", sp.SP_DriveNetIcon,
                                       "Open an RTSP or HTTP stream")
        self.folder_action = self._action("Image folder…", self.open_folder_dialog, "Ctrl+Shift+O",
                                          sp.SP_DirIcon, "Track faces in a folder of photos")
        webcam = QToolButton()
        webcam.setText("Webcam")
        webcam.setToolTip("Open a webcam (Ctrl+W opens webcam 0)")
        webcam.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(webcam)
        for i in range(WEBCAMS):
            menu.addAction(f"Webcam {i}", lambda i=i: self.open_source(str(i)))
        webcam.setMenu(menu)
        self._action("Webcam 0", lambda: self.open_source("0"), "Ctrl+W")
        self.play_action = self._action("Play", self.toggle_pause, "Space", sp.SP_MediaPlay, "Play / pause")
        self.stop_action = self._action("Stop", self.stop, "Ctrl+.", sp.SP_MediaStop)
        self.fast_action = self._action("Fast", self.toggle_fast, "Ctrl+F", sp.SP_MediaSeekForward,
                                        "Process files as fast as possible instead of at their own speed")
        self.fast_action.setCheckable(True)
        self.record_action = self._action("Record…", self.toggle_record, "Ctrl+R", sp.SP_DialogSaveButton,
                                          "Record the annotated video to an MP4 file")
        self.record_action.setCheckable(True)
        self.fullscreen_action = self._action("Full screen", self.toggle_fullscreen, "F",
                                              sp.SP_TitleBarMaxButton)
        self.settings_action = self._action("Settings…", self.settings_dialog, QKeySequence.StandardKey.Preferences,
                                            sp.SP_FileDialogDetailedView)
        self._action("Quit", self.close, QKeySequence.StandardKey.Quit)
        self.undo_action = self._action("Undo", self.undo, QKeySequence.StandardKey.Undo, sp.SP_ArrowBack,
                                        tip="Undo the last change to people")
        # Ctrl+Z also works while a person's page has the focus (a text field keeps its own).
        self.undo_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        for a in (self.open_action, self.url_action, self.folder_action):
            bar.addAction(a)
        bar.addWidget(webcam)
        bar.addSeparator()
        for a in (self.play_action, self.stop_action, self.fast_action):
            bar.addAction(a)
        self.seek = QSlider(Qt.Orientation.Horizontal)
        self.seek.setMinimumWidth(160)
        self.seek.setEnabled(False)
        self.seek.setToolTip("Seek (video files)")
        self.seek.sliderReleased.connect(lambda: self.seek_to(self.seek.value()))
        self.seek.actionTriggered.connect(self._seek_clicked)
        bar.addWidget(self.seek)
        bar.addSeparator()
        for a in (self.record_action, self.fullscreen_action, self.settings_action):
            bar.addAction(a)
        bar.addSeparator()
        bar.addAction(self.undo_action)
        self.toolbar = bar

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        assert sb is not None
        self.state_label = QLabel("idle")
        self.source_fps_label = QLabel("")
        self.proc_fps_label = QLabel("")
        self.latency_label = QLabel("")
        self.device_label = QLabel("")
        self.record_label = QLabel("")
        self.record_label.setStyleSheet("color: #e74c3c; font-weight: bold")
        sb.addWidget(self.state_label, 1)
        for w in (self.record_label, self.source_fps_label, self.proc_fps_label, self.latency_label,
                  self.device_label):
            sb.addPermanentWidget(w)

    # ------------------------------------------------------------------ settings
    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        splitter = self.settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        if self.settings.value("playback/fast", False, type=bool):
            self.fast_action.setChecked(True)
            self.session.set_fast(True)

    def _save(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("playback/fast", self.fast_action.isChecked())
        self.settings.sync()

    # ------------------------------------------------------------------ commands
    def run_command(self, fut: Future[Any], on_done: Callable[[Future[Any]], None] | None = None) -> None:
        """Call `on_done(fut)` on this thread when the engine thread has run the command.

        Errors need no handler: the session reports every failed command as a message."""
        if on_done is not None:
            fut.add_done_callback(lambda f: self._bridge.done.emit(on_done, f))

    def _finish(self, on_done: Callable[[Future[Any]], None], fut: Future[Any]) -> None:
        if not self._closed:
            on_done(fut)

    def open_source(self, spec: str, playlist: Sequence[str] = ()) -> None:
        spec = spec.strip()
        if not spec:
            return
        self.playlist = list(playlist)
        self.settings.setValue("source/last", spec)
        self.view.placeholder = f"Opening {spec}…"
        self.view.show_snapshot(None)
        self.view.update()
        self.session.open(spec)

    def open_file_dialog(self) -> None:
        start = str(self.settings.value("source/dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", start, VIDEO_FILTER)
        if path:
            self.settings.setValue("source/dir", str(Path(path).parent))
            self.open_source(path)

    def open_folder_dialog(self) -> None:
        start = str(self.settings.value("source/dir", str(Path.home())))
        path = QFileDialog.getExistingDirectory(self, "Open a folder of photos", start)
        if path:
            self.open_source(path)

    def open_url_dialog(self) -> None:
        last = str(self.settings.value("source/url", "rtsp://"))
        url, ok = QInputDialog.getText(self, "Open a stream", "RTSP or HTTP address:", text=last)
        if ok and url.strip():
            self.settings.setValue("source/url", url.strip())
            self.open_source(url)

    def toggle_pause(self) -> None:
        if self.session.stats().state == IDLE:
            last = self.settings.value("source/last")
            if last:
                self.open_source(str(last))
            else:
                self.open_file_dialog()
            return
        self.session.toggle_pause()

    def stop(self) -> None:
        self.playlist = []
        self.view.placeholder = "Stopped. Press space to play again, or open another source."
        self.session.stop()

    def seek_to(self, index: int) -> None:
        self.session.seek(int(index))

    def _seek_clicked(self, action: int) -> None:
        # Page clicks and keys on the slider seek at once; dragging seeks on release.
        if action != QSlider.SliderAction.SliderMove.value:
            QTimer.singleShot(0, lambda: self.seek_to(self.seek.sliderPosition()))

    def toggle_fast(self) -> None:
        self.session.set_fast(self.fast_action.isChecked())

    def toggle_record(self) -> None:
        if not self.record_action.isChecked():
            self.session.record(None)
            self.statusBar().showMessage("Recording stopped", 4000)  # type: ignore[union-attr]
            return
        start = str(self.settings.value("record/dir", str(Path.home())))
        path, _ = QFileDialog.getSaveFileName(self, "Record the annotated video", str(Path(start) / "facetrack.mp4"),
                                              "MP4 video (*.mp4)")
        if not path:
            self.record_action.setChecked(False)
            return
        self.start_recording(Path(path))

    def start_recording(self, path: Path) -> None:
        if path.suffix.lower() != ".mp4":
            path = path.with_suffix(".mp4")
        self.settings.setValue("record/dir", str(path.parent))
        self.record_action.setChecked(True)
        self.session.record(path)

    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def keyPressEvent(self, event: Any) -> None:
        if event is not None and event.key() == Qt.Key.Key_Escape and self.isFullScreen():
            self.showNormal()
            return
        super().keyPressEvent(event)

    def settings_dialog(self) -> None:
        dialog = SettingsDialog(self.cfg, self)
        if dialog.exec():
            self.apply_settings(dialog.cfg)

    def apply_settings(self, cfg: Config) -> None:
        if cfg == self.cfg:
            return
        self.cfg = cfg
        for key in TUNABLE:
            self.settings.setValue(f"engine/{key}", str(getattr(cfg, key)))
        self.session.configure(cfg)

    # ------------------------------------------------------------------ people
    def _ask_person(self, title: str, prompt: str, current: str = "") -> str | None:
        names = sorted(self.people.names(), key=str.lower)
        dialog = QInputDialog(self)
        dialog.setWindowTitle(title)
        dialog.setLabelText(prompt)
        dialog.setComboBoxItems(names)
        dialog.setComboBoxEditable(True)
        dialog.setTextValue(current)
        combo = dialog.findChild(QCompleter)
        if combo is not None:
            combo.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        if not dialog.exec():
            return None
        name = dialog.textValue().strip()
        return name or None

    def who_is_this(self, track_id: int, current: str) -> None:
        """A click on a face: name it, or say it is someone already in the gallery."""
        name = self._ask_person("Who is this?", "Name this face (a new name, or pick someone):", current)
        if name is not None:
            self.name_face(track_id, name)

    def face_menu(self, track_id: int, name: str, pos: QPoint) -> None:
        """Right-click on a face: name it, or say it is not who it shows."""
        menu = QMenu(self)
        menu.addAction("Who is this?…", lambda: self.who_is_this(track_id, name))
        if name:
            menu.addAction(f"Not {name}", lambda: self.not_person(track_id, name))
        menu.popup(pos)
        self._face_menu = menu  # kept for tests

    def not_person(self, track_id: int, name: str) -> None:
        def done(fut: Future[Any]) -> None:
            if fut.exception() is None:
                self.statusBar().showMessage(  # type: ignore[union-attr]
                    f"That face is not {name}: what it taught {name} was taken back (Ctrl+Z undoes it)", 6000)
        self.run_command(self.session.reject_track(track_id), done)

    def open_person(self, name: str) -> PersonPage:
        """A person's page (double-click in the panel); one page per person."""
        page = next((p for p in self.findChildren(PersonPage) if p.name == name and not p.gone), None)
        if page is None:
            page = PersonPage(self.session, name, self.run_command, self)
            page.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        page.show()  # not modal: the video and the panel stay usable, and Ctrl+Z works from the page
        page.raise_()
        page.activateWindow()
        return page

    def undo(self) -> None:
        """Ctrl+Z: revert the newest change to people; the status bar says which."""
        def done(fut: Future[Any]) -> None:
            if fut.exception() is None:
                label = fut.result()
                self.statusBar().showMessage(  # type: ignore[union-attr]
                    f"Undone: {label}" if label is not None else "Nothing to undo", 6000)
                self._show_undo_label()
                for page in self.findChildren(PersonPage):
                    page.reload()
        self.run_command(self.session.undo(), done)

    def _show_undo_label(self) -> None:
        """The Undo action names the step it would revert. It stays enabled, so that Ctrl+Z pressed
        just after a change is never lost to a label not yet pulled; with nothing to undo it says so."""
        label = self.session.can_undo()
        short = label if label is None or len(label) <= UNDO_LABEL_CHARS else label[:UNDO_LABEL_CHARS - 1] + "…"
        self.undo_action.setText(f"Undo {short}" if short else "Undo")
        self.undo_action.setToolTip(f"Undo {label} (Ctrl+Z)" if label else "Nothing to undo (Ctrl+Z)")

    def name_face(self, track_id: int, name: str) -> None:
        def done(fut: Future[Any]) -> None:
            if fut.exception() is None:
                self.statusBar().showMessage(f"This face is {fut.result().name}", 4000)  # type: ignore[union-attr]
        self.run_command(self.session.name_track(track_id, name), done)

    def enroll_dialog(self) -> None:
        start = str(self.settings.value("enroll/dir", str(Path.home())))
        paths, _ = QFileDialog.getOpenFileNames(self, "Photos of one person", start, IMAGE_FILTER)
        if paths:
            self.settings.setValue("enroll/dir", str(Path(paths[0]).parent))
            self.enroll_paths([Path(p) for p in paths])

    def enroll_paths(self, paths: list[Path], name: str | None = None) -> None:
        if name is None:
            guess = paths[0].name if paths[0].is_dir() else ""
            name = self._ask_person("Enrol", f"Whose photos are these ({len(paths)} item(s))?", guess)
            if name is None:
                return
        self.statusBar().showMessage(f"Enrolling {name}…")  # type: ignore[union-attr]

        def done(fut: Future[Any]) -> None:
            if fut.exception() is None:
                report = fut.result()
                self.statusBar().showMessage(  # type: ignore[union-attr]
                    f"{report.person.name}: {len(report.enrolled)} photo(s) enrolled", 6000)
        self.run_command(self.session.enroll(name, paths), done)

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent | None) -> None:
        mime = event.mimeData() if event is not None else None
        if event is not None and mime is not None and mime.hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent | None) -> None:
        mime = event.mimeData() if event is not None else None
        if event is None or mime is None:
            return
        self.handle_drop(list(mime.urls()))
        event.acceptProposedAction()

    def handle_drop(self, urls: list[QUrl]) -> None:
        """Photos and folders enrol a person; a video, or a stream address, is opened."""
        paths = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
        remote = [u.toString() for u in urls if not u.isLocalFile()]
        photos = [p for p in paths if p.is_dir() or p.suffix.lower() in IMAGE_SUFFIXES]
        videos = [str(p) for p in paths if p not in photos]
        if photos:
            self.enroll_paths(photos)
        elif videos or remote:
            first, *rest = videos + remote
            self.open_source(first, rest)

    # ------------------------------------------------------------------ polling
    def _pull_frame(self) -> None:
        snap = self.session.latest()
        if snap is None:
            if self._stats.state in (IDLE, CONNECTING):
                self.view.show_snapshot(None)
            return
        self.view.show_snapshot(snap)

    def _restart_session(self) -> None:
        """The engine thread died (a bug): say so, and carry on with a new session (same settings)
        that reopens the source it was playing, a file where it was."""
        old = self.session
        why = old.died or "it ended"
        st = old.stats()
        spec = st.source if st.state in (PLAYING, PAUSED, RECONNECTING, CONNECTING) and st.source else None
        for message in old.take_errors():
            self.messages.show_message(message)
        old.close(timeout=0.5)
        for page in self.findChildren(PersonPage):  # their commands would go to the dead session
            page.close()
        self.session = Session(self.cfg).start() if self._session_factory is None else self._session_factory(self.cfg)
        self.people.session = self.session
        self.people.version = -1
        self.session.set_fast(self.fast_action.isChecked())
        note = ""
        if spec:
            start = st.position + 1 if st.total and not st.live and st.position + 1 < st.total else 0
            self.session.open(spec, start)
            if st.state == PAUSED:
                self.session.set_paused(True)
            note = f" and reopened {Path(spec).name if not st.live else spec}"
        self.messages.show_message(f"The engine stopped: {why}; restarted{note}")
        log.error("the engine thread stopped (%s); started a new one", why)

    def _pull_stats(self) -> None:
        if not self.session.alive and self.session.died is not None and not self._closed:
            self._restart_session()
        for message in self.session.take_errors():
            self.messages.show_message(message)
        self.people.refresh()
        self._show_undo_label()
        st = self.session.stats()
        was = self._stats.state
        self._stats = st
        self.analysis.follow(st)
        if st.state == RECONNECTING and was != RECONNECTING:
            self.messages.show_message(f"{st.source}: the stream dropped; reconnecting…")
        if st.state == ENDED and was != ENDED and self.playlist:
            self.open_source(self.playlist[0], self.playlist[1:])
            return
        name = Path(st.source).name if st.source and not st.live else st.source
        state = {IDLE: "idle", CONNECTING: f"opening {name}…", PLAYING: f"playing {name}",
                 PAUSED: f"paused: {name}", ENDED: f"finished {name}",
                 RECONNECTING: f"reconnecting to {name}…"}.get(st.state, st.state)
        if st.total:
            state += f" · frame {st.position + 1}/{st.total}"
        if st.live and st.dropped:
            state += f" · {st.dropped} frames skipped to stay live"
        self.state_label.setText(state)
        active = st.state in (PLAYING, PAUSED, RECONNECTING)
        self.source_fps_label.setText(f"source {st.source_fps:.1f} fps" if active and st.source_fps else "")
        self.proc_fps_label.setText(f"processing {st.processing_fps:.1f} fps" if active else "")
        self.latency_label.setText(f"latency {st.latency_ms:.0f} ms" if active and not math.isnan(st.latency_ms)
                                   else "")
        self.device_label.setText(st.device)
        self.record_label.setText(f"● REC {st.recording.name}" if st.recording else "")
        self.record_action.setChecked(st.recording is not None)
        style = self.style()
        assert style is not None
        playing = st.state == PLAYING
        self.play_action.setText("Pause" if playing else "Play")
        self.play_action.setIcon(style.standardIcon(
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay))
        seekable = bool(st.total) and not st.live and st.state != IDLE
        self.seek.setEnabled(seekable)
        if seekable and not self.seek.isSliderDown():
            self.seek.blockSignals(True)
            self.seek.setRange(0, max(0, (st.total or 1) - 1))
            self.seek.setValue(st.position)
            self.seek.blockSignals(False)
        if st.state == IDLE and self.view.placeholder.startswith("Opening"):
            self.view.placeholder = "Open a video (Ctrl+O), a webcam or a stream"
            self.view.update()

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent | None) -> None:
        if not self._closed:
            self._closed = True
            self._frame_timer.stop()
            self._stats_timer.stop()
            self._save()
            self.analysis.cancel()  # both threads stop at once: the two 2 s waits below overlap
            if not self.session.close(timeout=2.0):
                log.warning("the engine thread did not stop within 2 s")
            self.analysis.close(timeout=2.0)
        if event is not None:
            event.accept()


def _apply_saved(cfg: Config, settings: QSettings, explicit: frozenset[str]) -> Config:
    """Settings saved from the dialog, except those given on the command line."""
    changes: dict[str, Any] = {}
    for key in TUNABLE:
        value = settings.value(f"engine/{key}")
        if value is None or key in explicit:
            continue
        kind = type(getattr(cfg, key))
        try:
            changes[key] = Path(str(value)) if key == "gallery" else kind(value)
        except (TypeError, ValueError):
            continue
    try:
        return cfg.replace(**changes)
    except FacetrackError as exc:
        log.warning("ignoring saved settings: %s", exc)
        return cfg


PROBE = "from PyQt6.QtGui import QGuiApplication; QGuiApplication([])"


def platform_problem() -> str | None:
    """Why Qt cannot open a window here, or None.

    Qt aborts the whole process when its platform plugin cannot load (a missing
    libxcb-cursor0, say), which no Python code can catch, so a throwaway process tries first.
    """
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
        return None
    import subprocess

    try:
        proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot start Qt: {exc}"
    if proc.returncode == 0:
        return None
    lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    needed = [ln.split("qt.qpa.plugin: ", 1)[-1] for ln in lines if "is needed" in ln]
    return (needed or lines[-1:] or [f"Qt exited with {proc.returncode}"])[0]


def run_app(cfg: Config, sources: Sequence[str], explicit: frozenset[str] = frozenset()) -> int:
    """Open the window; play `sources` in turn, or the last source when none is given."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("facetrack")
    app.setOrganizationName("facetrack")
    settings = QSettings("facetrack", "facetrack")
    cfg = _apply_saved(cfg, settings, explicit)
    window = MainWindow(cfg, settings=settings)
    # Ctrl+C in the terminal, or a service manager's SIGTERM, closes the window cleanly. Python
    # runs signal handlers only between bytecodes, so a timer wakes it while Qt idles.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.close())
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    window.show()
    if sources:
        window.open_source(sources[0], sources[1:])
    else:
        last = settings.value("source/last")
        window.open_source(str(last) if last else "0")  # the last source, or the webcam
    return int(app.exec())
