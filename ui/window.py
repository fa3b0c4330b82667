"""The desktop app's main window: menus, source bar, status bar, and the polls that feed them.

The window runs no detection, embedding or blocking I/O. A `Session` owns all of that on its
own thread; timers here pull the newest frame and figures from it, and commands go to it as
futures whose results come back to this thread through a queued signal. Playback commands live
in ui/player.py, people commands in ui/people_actions.py (objects the window holds); starting the
app, in ui/launch.py.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QByteArray, QObject, QPointF, QRectF, QSettings, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import (
    QAction,
    QCloseEvent,
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
)
from PyQt6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMenu,
    QSizePolicy,
    QSlider,
    QSplitter,
    QStyle,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tracker.config import Config
from tracker.paths import shown

from .analysis import AnalysisController, ElidedLabel
from .people_actions import DONE_MS, FAILED_MS, PeopleActions
from .player import PlaybackControls
from .session.session import Session
from .session.state import ENDED, IDLE, PAUSED, PLAYING, RECONNECTING, Stats
from .session.status_text import behind_text, placeholder, state_text
from .widgets.messages import MessageBar, MessageHistory
from .widgets.people_panel import PeoplePanel
from .widgets.person_page import PersonPage
from .widgets.settings_dialog import SettingsDialog
from .widgets.shortcuts import ShortcutsDialog
from .widgets.video_view import VideoView

log = logging.getLogger(__name__)

FRAME_POLL_MS = 15  # the view repaints at most this often, and only when a new frame came
STATS_POLL_MS = 250
WEBCAMS = 4  # indices offered in the webcam menu
TUNABLE = ("threshold", "detector", "upsample", "gallery")  # what the settings dialog changes
NARROW_W = 1000  # below this width the status bar shows the state and time only


class _Bridge(QObject):
    """Carries a finished future from the engine thread to a callback on the GUI thread."""

    done = pyqtSignal(object, object)


# Where the platform has no key for a standard action (Linux desktops have none for
# Preferences), the key other applications use there.
FALLBACK_KEYS = {QKeySequence.StandardKey.Preferences: "Ctrl+,", QKeySequence.StandardKey.Redo: "Ctrl+Shift+Z"}


def undo_icon() -> QIcon:
    """A curved arrow back (where the desktop theme has no edit-undo icon)."""
    pix = QPixmap(24, 24)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(QColor(60, 60, 60), 2.4)
    p.setPen(pen)
    p.drawArc(QRectF(5, 6, 14, 13), 30 * 16, 230 * 16)  # the curve, open at the top right
    p.setBrush(QColor(60, 60, 60))
    p.drawPolygon(QPolygonF([QPointF(2, 9), QPointF(9, 5), QPointF(9, 13)]))  # the head, at the left
    p.end()
    return QIcon(pix)


def shortcut_keys(shortcut: str | QKeySequence.StandardKey | None) -> list[QKeySequence]:
    """The keys of an action: a key sequence, or a standard key's keys on this platform (or the
    usual fallback where it has none)."""
    if shortcut is None:
        return []
    if isinstance(shortcut, QKeySequence.StandardKey):
        keys = [k for k in QKeySequence.keyBindings(shortcut) if not k.isEmpty()]
        if not keys and shortcut in FALLBACK_KEYS:
            keys = [QKeySequence(FALLBACK_KEYS[shortcut])]
        return keys
    return [QKeySequence(shortcut)]


def tooltip(text: str, keys: list[QKeySequence]) -> str:
    """The tooltip of an action: its text and its keys, unless there are none or the text says them."""
    shown = " or ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
    if not shown or f"({shown}" in text or f" {shown} " in text:
        return text
    return f"{text} ({shown})"


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
        self._stats = Stats()
        self._closed = False
        self._text_toolbar_width = 0
        self._narrow = False
        self.last_failed: str | None = None  # the source that failed at the last start, offered again by Space
        self.player = PlaybackControls(self)  # sources, play, seek, record, full screen (player.py)
        self.people_actions = PeopleActions(self)  # naming, undo, enrolment, drops (people_actions.py)
        self._bridge = _Bridge()
        self._bridge.done.connect(self._finish)
        self.setWindowTitle("facetrack")
        self.setAcceptDrops(True)
        self.resize(1180, 720)

        self.view = VideoView()
        self.view.face_clicked.connect(self.people_actions.who_is_this)
        self.view.face_menu.connect(self.people_actions.face_menu)
        self.messages = MessageBar()
        self.people = PeoplePanel(self.session)
        self.people.enroll_requested.connect(self.people_actions.enroll_dialog)
        self.people.person_requested.connect(self.people_actions.open_person)
        self._load_hidden()
        self.people.hidden_changed.connect(self._save_hidden)
        self.people.undo_requested.connect(self.people_actions.undo)
        self.people.dialog_pause = self.player.dialog_pause
        self.people.report = lambda fut, ok, failed: self.run_command(fut, lambda f: self.outcome(f, ok, failed))
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
        self._build_actions()
        self._build_statusbar()
        # Analyze… (ui/analysis.py): its action, its progress in the status bar, the timeline under the video.
        self.analysis = AnalysisController(self)
        lv.addWidget(self.analysis.panel)
        self._build_toolbar()
        self._build_menus()
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)

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
        keys = shortcut_keys(shortcut)
        if keys:
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tooltip(tip or text, keys))
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)  # its shortcut works while the menus and the toolbar are hidden (full screen)
        return action

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        a = self._action
        self.open_action = a("Open file…", self.player.open_file_dialog, QKeySequence.StandardKey.Open,
                             sp.SP_DialogOpenButton, "Open a video file")
        self.url_action = a("Stream…", self.player.open_url_dialog, "Ctrl+U", sp.SP_DriveNetIcon,
                            "Open an RTSP or HTTP stream")
        self.folder_action = a("Image folder…", self.player.open_folder_dialog, "Ctrl+Shift+O", sp.SP_DirIcon,
                               "Track faces in a folder of photos")
        self.webcam_actions = [a(f"Webcam {i}", functools.partial(self.player.open_source, str(i)),
                                 "Ctrl+Shift+W" if i == 0 else None) for i in range(WEBCAMS)]
        self.play_action = a("Play", self.player.toggle_pause, "Space", sp.SP_MediaPlay, "Play / pause")
        self.stop_action = a("Stop", self.player.stop, "Ctrl+.", sp.SP_MediaStop)
        self.fast_action = a("Fast", self.player.toggle_fast, "Ctrl+F", sp.SP_MediaSeekForward,
                             "Process files as fast as possible instead of at their own speed")
        self.fast_action.setCheckable(True)
        self.nav_actions = [
            a("Back 5 s", lambda: self.player.seek_by(-5.0), "Left"),
            a("Forward 5 s", lambda: self.player.seek_by(5.0), "Right"),
            a("Back 1 s", lambda: self.player.seek_by(-1.0), "Shift+Left"),
            a("Forward 1 s", lambda: self.player.seek_by(1.0), "Shift+Right"),
            a("Previous frame", lambda: self.player.step_frames(-1), ","),
            a("Next frame", lambda: self.player.step_frames(1), "."),
            a("Go to the start", self.player.seek_home, "Home"),
            a("Go to the end", self.player.seek_end, "End"),
        ]
        self.record_action = a("Record…", self.player.toggle_record, "Ctrl+R", sp.SP_DialogSaveButton,
                               "Record the annotated video to an MP4 file")
        self.record_action.setCheckable(True)
        self.fullscreen_action = a("Full screen", self.player.toggle_fullscreen, "F", sp.SP_TitleBarMaxButton,
                                   "The video alone, full screen (F or Esc leaves)")
        self.settings_action = a("Settings…", self.settings_dialog, QKeySequence.StandardKey.Preferences,
                                 sp.SP_FileDialogDetailedView)
        self.quit_action = a("Quit", self.close, QKeySequence.StandardKey.Quit)
        self.undo_action = a("Undo", self.people_actions.undo, QKeySequence.StandardKey.Undo, None,
                             tip="Undo the last change to people")
        # An undo arrow, not the media "back" triangle that reads as "previous" beside Play.
        self.undo_action.setIcon(QIcon.fromTheme("edit-undo", undo_icon()))
        # Ctrl+Z also works while a person's page has the focus (a text field keeps its own).
        self.undo_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.redo_action = a("Redo", self.people_actions.redo, QKeySequence.StandardKey.Redo,
                             tip="Make the last undone change again")
        self.redo_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.enroll_action = a("Enrol photos…", self.people_actions.enroll_dialog, "Ctrl+E")
        self.messages_action = a("Messages…", self.show_messages, "Ctrl+M", tip="Every message, with its time")
        self.unnamed_action = a("Name the unnamed…", self.people_actions.name_unnamed_dialog,
                                tip="Every automatic identity, most seen first, to name in one go")
        self.backup_action = a("Back up people…", self.people_actions.backup_dialog,
                               tip="The whole gallery into one file")
        self.import_action = a("Import people…", self.people_actions.import_dialog,
                               tip="Add the people of a backup (or another gallery file)")
        self.prune_action = a("Remove unseen identities…", self.people_actions.prune_dialog,
                              tip="Automatic identities nobody named, not seen for a number of days")
        self.shortcuts_action = a("Keyboard shortcuts", self.show_shortcuts, "F1")

    def _build_toolbar(self) -> None:
        sp = QStyle.StandardPixmap
        bar = QToolBar("Source")
        bar.setObjectName("source-bar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(bar)
        webcam = QToolButton()
        webcam.setText("Webcam")
        style = self.style()
        assert style is not None
        webcam.setIcon(style.standardIcon(sp.SP_ComputerIcon))
        webcam.setToolTip("Open a webcam (Ctrl+Shift+W opens webcam 0)")
        webcam.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        webcam.setToolButtonStyle(bar.toolButtonStyle())
        bar.toolButtonStyleChanged.connect(webcam.setToolButtonStyle)
        menu = QMenu(webcam)
        for action in self.webcam_actions:
            menu.addAction(action)
        webcam.setMenu(menu)
        self.webcam_button = webcam
        for action in (self.open_action, self.url_action, self.folder_action):
            bar.addAction(action)
        bar.addWidget(webcam)
        bar.addSeparator()
        for action in (self.play_action, self.stop_action, self.fast_action):
            bar.addAction(action)
        self.seek = QSlider(Qt.Orientation.Horizontal)
        self.seek.setMinimumWidth(120)
        self.seek.setEnabled(False)
        self.seek.setToolTip("Seek (video files): Left/Right 5 s, Shift 1 s, comma/period one frame, Home/End")
        self.seek.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the arrow keys seek by time, not by slider steps
        self.seek.sliderReleased.connect(lambda: self.player.seek_to(self.seek.value()))
        self.seek.actionTriggered.connect(self.player.seek_clicked)
        bar.addWidget(self.seek)
        bar.addSeparator()
        for action in (self.analysis.action, self.record_action, self.fullscreen_action, self.settings_action):
            bar.addAction(action)
        bar.addSeparator()
        bar.addAction(self.undo_action)
        self.toolbar = bar

    def _build_menus(self) -> None:
        """Every command is also in a menu, so none hides behind a toolbar chevron."""
        mb = self.menuBar()
        assert mb is not None
        groups: list[tuple[str, list[QAction | None]]] = [
            ("&File", [self.open_action, self.url_action, self.folder_action, *self.webcam_actions, None,
                       self.record_action, self.analysis.action, None, self.backup_action, self.import_action,
                       self.prune_action, None, self.settings_action, None, self.quit_action]),
            ("&Playback", [self.play_action, self.stop_action, self.fast_action, None, *self.nav_actions]),
            ("P&eople", [self.undo_action, self.redo_action, None, self.people.open_action, self.people.rename_action,
                         self.people.merge_action, self.people.delete_key, None, self.unnamed_action,
                         self.enroll_action]),
            ("&View", [self.fullscreen_action, self.messages_action]),
            ("&Help", [self.shortcuts_action]),
        ]
        for title, actions in groups:
            menu = mb.addMenu(title)
            assert menu is not None
            for action in actions:
                if action is None:
                    menu.addSeparator()
                else:
                    menu.addAction(action)
                if action is self.folder_action:  # File > Open recent, after the ways to open
                    self.recent_menu = QMenu("Open &recent", self)
                    self.recent_menu.aboutToShow.connect(lambda: self.player.fill_recent_menu(self.recent_menu))
                    self.player.fill_recent_menu(self.recent_menu)
                    menu.addMenu(self.recent_menu)

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        assert sb is not None
        # Never widens the window: where it has no room its end (the file name first) gives way to
        # "…", never a number cut in half (the tooltip has it all).
        self.state_label = ElidedLabel("idle", Qt.TextElideMode.ElideRight)
        self.state_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.behind_label = QLabel("")
        self.behind_label.setStyleSheet("color: #d35400; font-weight: bold")
        self.source_fps_label = QLabel("")
        self.proc_fps_label = QLabel("")
        self.latency_label = QLabel("")
        self.device_label = QLabel("")
        self.record_label = QLabel("")
        self.record_label.setStyleSheet("color: #e74c3c; font-weight: bold")
        sb.addWidget(self.state_label, 1)
        for w in (self.behind_label, self.record_label, self.source_fps_label, self.proc_fps_label,
                  self.latency_label, self.device_label):
            sb.addPermanentWidget(w)

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)
        self._fit_toolbar()

    def _fit_toolbar(self) -> None:
        """Icons only when the toolbar's text would not fit (every tool keeps its tooltip)."""
        bar = getattr(self, "toolbar", None)
        if bar is None:
            return
        text = Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        if bar.toolButtonStyle() == text:
            self._text_toolbar_width = bar.sizeHint().width()
        want = text if self._text_toolbar_width <= self.width() else Qt.ToolButtonStyle.ToolButtonIconOnly
        if want != bar.toolButtonStyle():
            bar.setToolButtonStyle(want)
        # A narrow window keeps the state, frame and time in the status bar; the figures go.
        self._narrow = self.width() < NARROW_W

    def fullscreen_extras(self) -> list[QWidget]:
        return [self.analysis.panel]

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
        st = self.session.stats()
        on_file = bool(st.total) and not st.live and st.state in (PLAYING, PAUSED, ENDED)
        self.settings.setValue("source/position", st.position if on_file and st.state != ENDED else 0)
        self.settings.setValue("source/paused", on_file and st.state == PAUSED)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("playback/fast", self.fast_action.isChecked())
        self.settings.sync()

    def settings_dialog(self) -> None:
        dialog = SettingsDialog(self.cfg, self)
        with self.player.dialog_pause():
            accepted = dialog.exec()
        if accepted:
            self.apply_settings(dialog.cfg)

    def apply_settings(self, cfg: Config) -> None:
        if cfg == self.cfg:
            return
        self.cfg = cfg
        for key in TUNABLE:
            self.settings.setValue(f"engine/{key}", str(getattr(cfg, key)))
        self.session.configure(cfg)
        self._load_hidden()  # another gallery: its own hidden people
        self.say("Settings applied")

    def _hidden_key(self) -> str:
        """Hidden people are ids of one gallery: kept per gallery location."""
        where = hashlib.sha1(shown(str(self.cfg.gallery)).encode("utf-8")).hexdigest()[:12]
        return f"people/hidden-{where}"

    def _save_hidden(self) -> None:
        self.settings.setValue(self._hidden_key(), ",".join(str(i) for i in sorted(self.people.rows.hidden)))

    def _load_hidden(self) -> None:
        text = str(self.settings.value(self._hidden_key(), "") or "")
        self.people.rows.hidden = {int(x) for x in text.split(",") if x.strip().isdigit()}
        self.people.rows.refilter()

    def show_messages(self) -> MessageHistory:
        dialog = MessageHistory(self.messages, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()  # not modal: the video goes on
        self._messages_dialog = dialog
        return dialog

    def show_shortcuts(self) -> ShortcutsDialog:
        mb = self.menuBar()
        assert mb is not None
        dialog = ShortcutsDialog(mb, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self._shortcuts_dialog = dialog
        return dialog

    # ------------------------------------------------------------------ commands
    def say(self, text: str, ms: int = DONE_MS) -> None:
        """A status message: in the status bar for a while, and kept in Messages (Ctrl+M)."""
        self.statusBar().showMessage(text, ms)  # type: ignore[union-attr]
        self.messages.record(text)

    def outcome(self, fut: Future[Any], success: Callable[[Any], str], failure: str) -> None:
        """A command's result in the status bar, whether it worked or not."""
        error = fut.exception()
        if error is None:
            self.say(success(fut.result()))
        else:
            self.say(f"{failure}: {error}", FAILED_MS)

    def run_command(self, fut: Future[Any], on_done: Callable[[Future[Any]], None] | None = None) -> None:
        """Call `on_done(fut)` on this thread when the engine thread has run the command.

        Errors need no handler: the session reports every failed command as a message."""
        if on_done is not None:
            fut.add_done_callback(lambda f: self._bridge.done.emit(on_done, f))

    def _finish(self, on_done: Callable[[Future[Any]], None], fut: Future[Any]) -> None:
        if not self._closed:
            on_done(fut)

    # ------------------------------------------------------------------ polling
    def _pull_frame(self) -> None:
        # None once a source is stopped, failed or replaced: the view then says why (placeholder).
        snap = self.session.latest()
        self.view.show_snapshot(snap)
        shown = {int(p) for p in snap.result.person_ids if p >= 0} if snap is not None else set()
        self.people.set_on_screen(shown)

    def _restart_session(self) -> None:
        """The engine thread died (a bug): say so, and carry on with a new session (same settings)
        that reopens the source it was playing, a file where it was."""
        old = self.session
        why = old.died or "it ended"
        st = old.stats()
        spec = st.source if st.state in (PLAYING, PAUSED, RECONNECTING) and st.source else None
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
        self.analysis.follow_names({v.person.id: v.person.name for v in self.people.views})
        self.people_actions.show_undo_label()
        st = self.session.stats()
        was = self._stats.state
        self._stats = st
        self.analysis.follow(st)
        if self.player.seek_target is not None and st.position == self.player.seek_target[0]:
            self.player.seek_target = None  # shown: the next key seek counts from the screen
        if st.state == RECONNECTING and was != RECONNECTING:
            self.messages.show_message(f"{st.source}: the stream dropped; reconnecting…")
        if st.state == ENDED and was != ENDED and self.player.playlist:
            self.player.open_source(self.player.playlist[0], self.player.playlist[1:])
            return
        if st.state in (PLAYING, PAUSED, ENDED) and st.source:
            self.last_failed = None
            self.player.opened(st)
        if st.state == IDLE and st.note.startswith("Could not open") and st.source:
            # Not reopened at the next start: a webcam that is not there fails every time.
            self.settings.setValue("source/last_failed", st.source)
        self.state_label.setText(state_text(st))
        self.state_label.setToolTip(self.state_label.text())
        self.behind_label.setText(behind_text(st))
        active = st.state in (PLAYING, RECONNECTING) and not self._narrow  # paused: no rates to speak of
        self.source_fps_label.setText(f"source {st.source_fps:.1f} fps" if active and st.source_fps else "")
        self.proc_fps_label.setText(f"processing {st.processing_fps:.1f} fps" if active else "")
        self.latency_label.setText(f"latency {st.latency_ms:.0f} ms" if active and not math.isnan(st.latency_ms)
                                   else "")
        self.device_label.setText("" if self._narrow else st.device)
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
        for action in self.nav_actions:
            action.setEnabled(seekable)
        if not seekable and self.seek.value() != 0:
            self.seek.setValue(0)  # nothing to seek: no stale position either
        if seekable and not self.seek.isSliderDown():
            self.seek.blockSignals(True)
            self.seek.setRange(0, max(0, (st.total or 1) - 1))
            self.seek.setValue(st.position)
            self.seek.blockSignals(False)
        text = placeholder(st, self.last_failed)
        if text != self.view.placeholder:  # shown while no frame is up
            self.view.placeholder = text
            self.view.update()

    # ------------------------------------------------------------------ Qt's events
    def keyPressEvent(self, event: QKeyEvent | None) -> None:
        if event is not None and self.player.key_press(event):
            return
        super().keyPressEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent | None) -> None:
        if event is not None:
            self.people_actions.accept_drag(event)

    def dropEvent(self, event: QDropEvent | None) -> None:
        if event is not None:
            self.people_actions.drop(event)

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
