"""The desktop app's main window: menus, source bar, status bar, and the polls that feed them.

The window runs no detection, embedding or blocking I/O. A `Session` owns all of that on its
own thread; timers here pull the newest frame and figures from it, and commands go to it as
futures whose results come back to this thread through a queued signal. Playback commands live
in ui/player.py, people commands in ui/people_actions.py (objects the window holds); starting the
app, in ui/launch.py.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QByteArray, QObject, QSettings, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeyEvent,
    QResizeEvent,
)
from PyQt6.QtWidgets import (
    QMainWindow,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from tracker.config import Config
from tracker.paths import shown

from .analysis import AnalysisController
from .chrome import Chrome
from .people_actions import DONE_MS, FAILED_MS, PeopleActions
from .player import PlaybackControls
from .session.session import Session
from .session.state import ENDED, IDLE, PAUSED, PLAYING, RECONNECTING, Stats
from .session.status_text import placeholder
from .widgets.messages import MessageBar, MessageHistory
from .widgets.people_panel import PeoplePanel
from .widgets.person_page import PersonPage
from .widgets.settings_dialog import SettingsDialog
from .widgets.shortcuts import ShortcutsDialog
from .widgets.status_line import StatusLine
from .widgets.video_view import VideoView

log = logging.getLogger(__name__)

FRAME_POLL_MS = 15  # the view repaints at most this often, and only when a new frame came
STATS_POLL_MS = 250
TUNABLE = ("threshold", "detector", "upsample", "gallery")  # what the settings dialog changes
NARROW_W = 1000  # below this width the status bar shows the state and time only


class _Bridge(QObject):
    """Carries a finished future from the engine thread to a callback on the GUI thread."""

    done = pyqtSignal(object, object)


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
        self.chrome = Chrome(self)  # actions, toolbar, menus (chrome.py)
        self.chrome.build_actions()
        self._build_statusbar()
        # Analyze… (ui/analysis.py): its action, its progress in the status bar, the timeline under the video.
        self.analysis = AnalysisController(self)
        lv.addWidget(self.analysis.panel)
        self.chrome.build_toolbar()
        self.chrome.build_menus()
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)

        self._frame_timer = QTimer(self)
        self._frame_timer.timeout.connect(self._pull_frame)
        self._frame_timer.start(FRAME_POLL_MS)
        self._stats_timer = QTimer(self)
        self._stats_timer.timeout.connect(self._pull_stats)
        self._stats_timer.start(STATS_POLL_MS)
        self._restore()

    # ------------------------------------------------------------------ building
    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        assert sb is not None
        self.status_line = StatusLine(sb)

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)
        self._fit_toolbar()

    def _fit_toolbar(self) -> None:
        """Icons only when the toolbar's text would not fit (every tool keeps its tooltip)."""
        bar = getattr(getattr(self, "chrome", None), "toolbar", None)  # (a resize while the window is built)
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
            self.chrome.fast_action.setChecked(True)
            self.session.set_fast(True)

    def _save(self) -> None:
        st = self.session.stats()
        on_file = bool(st.total) and not st.live and st.state in (PLAYING, PAUSED, ENDED)
        self.settings.setValue("source/position", st.position if on_file and st.state != ENDED else 0)
        self.settings.setValue("source/paused", on_file and st.state == PAUSED)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("playback/fast", self.chrome.fast_action.isChecked())
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
        self.session.set_fast(self.chrome.fast_action.isChecked())
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
        self.status_line.show(st, self._narrow)
        self.chrome.record_action.setChecked(st.recording is not None)
        style = self.style()
        assert style is not None
        playing = st.state == PLAYING
        self.chrome.play_action.setText("Pause" if playing else "Play")
        self.chrome.play_action.setIcon(style.standardIcon(
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay))
        seekable = bool(st.total) and not st.live and st.state != IDLE
        self.chrome.seek.setEnabled(seekable)
        for action in self.chrome.nav_actions:
            action.setEnabled(seekable)
        if not seekable and self.chrome.seek.value() != 0:
            self.chrome.seek.setValue(0)  # nothing to seek: no stale position either
        if seekable and not self.chrome.seek.isSliderDown():
            self.chrome.seek.blockSignals(True)
            self.chrome.seek.setRange(0, max(0, (st.total or 1) - 1))
            self.chrome.seek.setValue(st.position)
            self.chrome.seek.blockSignals(False)
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
