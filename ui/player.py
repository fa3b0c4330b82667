"""The main window's playback side: opening sources, play/pause, seeking by keys, Fast, Record,
full screen, and pausing a file while a modal dialog is up. The window (ui/window.py) holds one as
`player`; it owns the widgets and the session used here."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QKeyEvent
from PyQt6.QtWidgets import QFileDialog, QInputDialog, QMenu, QSlider, QWidget

from .session.state import ENDED, IDLE, PAUSED, PLAYING, Stats
from .session.status_text import placeholder

if TYPE_CHECKING:
    from .window import MainWindow

VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v *.mpg *.mpeg *.wmv);;All files (*)"
RECENT = 8  # File > Open recent
SEEK_PENDING_S = 1.0  # a key seek not yet shown by the session: the next key counts from its target


def _same_file(a: str, b: str) -> bool:
    """Two names of one file (as given, as shown in a sample's provenance)."""
    if a == b:
        return True
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, ValueError):
        return False


class PlaybackControls:
    """Opening sources, play/pause, seeking, Fast, Record and full screen, for the window that holds it."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.playlist: list[str] = []  # what plays after the current source
        self._dialog_pauses = 0
        self.seek_target: tuple[int, float] | None = None  # a key seek not yet shown, and when
        self._full_hidden: list[QWidget] = []
        self._opening: str | None = None  # the source asked for, until it opens (then: Open recent)

    # ------------------------------------------------------------------ sources
    def open_source(self, spec: str, playlist: Sequence[str] = (), start: int = 0) -> None:
        """Play `spec` (from frame `start` of a file), then the playlist in turn."""
        spec = spec.strip()
        if not spec:
            return
        self.playlist = list(playlist)
        self.window.settings.setValue("source/last", spec)
        self._opening = spec  # into Open recent once it has opened (a source that fails is no recent one)
        self.window.settings.setValue("source/last_failed", "")  # until it fails
        self.window.view.placeholder = f"Opening {spec}…"
        self.window.view.show_snapshot(None)
        self.window.view.update()
        self.seek_target = None
        self.window.session.open(spec, start)

    # ------------------------------------------------------------------ File > Open recent
    def recent_sources(self) -> list[str]:
        """The sources opened last, newest first (files, folders, streams, webcams)."""
        text = str(self.window.settings.value("source/recent", "") or "")
        return [s for s in text.split("\n") if s][:RECENT]

    def opened(self, st: Stats) -> None:
        """The session reports the source being opened as playing: it goes into Open recent."""
        if self._opening is not None and st.source == self._opening:
            self._remember(self._opening)
            self._opening = None

    def _remember(self, spec: str) -> None:
        recent = [spec, *(s for s in self.recent_sources() if s != spec)][:RECENT]
        self.window.settings.setValue("source/recent", "\n".join(recent))

    def fill_recent_menu(self, menu: QMenu) -> None:
        """Rebuilt each time the menu opens: a file moved or deleted since shows as missing."""
        menu.clear()
        recent = self.recent_sources()
        for i, spec in enumerate(recent):
            is_path = not spec.isdigit() and "://" not in spec
            missing = is_path and not Path(spec).exists()
            label = Path(spec).name if is_path else (f"Webcam {spec}" if spec.isdigit() else spec)
            action = menu.addAction(f"&{i + 1} {label}" + ("  (missing)" if missing else ""))
            assert action is not None
            action.setToolTip(spec)
            action.setEnabled(not missing)
            action.triggered.connect(lambda _checked=False, spec=spec: self.open_source(spec))
        if not recent:
            empty = menu.addAction("Nothing opened yet")
            assert empty is not None
            empty.setEnabled(False)
        else:
            menu.addSeparator()
            clear = menu.addAction("Clear the list")
            assert clear is not None
            clear.triggered.connect(lambda _checked=False: self.window.settings.setValue("source/recent", ""))

    def start_dir(self, key: str) -> str:
        """The folder a file dialog starts in: the last one used for that kind of file."""
        saved = str(self.window.settings.value(key, "") or "")
        folder = Path(saved).expanduser()
        return str(folder) if saved and folder.is_dir() else str(Path.home())

    def open_file_dialog(self) -> None:
        # The folder of the file open now, else the last folder this dialog used.
        current = Path(self.window.session.stats().source or "")
        start = str(current.parent) if current.name and current.is_file() else self.start_dir("source/dir")
        with self.dialog_pause():
            path, _ = QFileDialog.getOpenFileName(self.window, "Open a video", start, VIDEO_FILTER)
        if path:
            self.window.settings.setValue("source/dir", str(Path(path).parent))
            self.open_source(path)

    def open_folder_dialog(self) -> None:
        with self.dialog_pause():
            path = QFileDialog.getExistingDirectory(self.window, "Open a folder of photos",
                                                    self.start_dir("source/folder"))
        if path:
            self.window.settings.setValue("source/folder", str(Path(path).parent))
            self.open_source(path)

    def open_url_dialog(self) -> None:
        last = str(self.window.settings.value("source/url", "rtsp://"))
        with self.dialog_pause():
            url, ok = QInputDialog.getText(self.window, "Open a stream", "RTSP or HTTP address:", text=last)
        if ok and url.strip():
            self.window.settings.setValue("source/url", url.strip())
            self.open_source(url)

    # ------------------------------------------------------------------ play, pause, stop
    def toggle_pause(self) -> None:
        if self.window.session.stats().state == IDLE:
            last = self.window.settings.value("source/last")
            if last:
                self.open_source(str(last))
            else:
                self.open_file_dialog()
            return
        self.window.session.toggle_pause()

    def stop(self) -> None:
        self.playlist = []
        self.window.view.placeholder = placeholder(Stats(note="Stopped"))
        self.window.session.stop()

    def dialog_pause(self) -> AbstractContextManager[None]:
        return self._paused_for_dialog()

    @contextmanager
    def _paused_for_dialog(self) -> Iterator[None]:
        """A modal dialog is up: a file playing at its own speed waits for it, then plays on.
        (A live source cannot wait: it goes on, and its frames are dropped to stay live.)"""
        st = self.window.session.stats()
        mine = st.state == PLAYING and not st.live and not st.fast
        if mine:
            self._dialog_pauses += 1
            self.window.session.set_paused(True)
        try:
            yield
        finally:
            if mine:
                self._dialog_pauses -= 1
                if self._dialog_pauses == 0:
                    self.window.session.set_paused(False)

    # ------------------------------------------------------------------ seeking
    def seek_to(self, index: int) -> None:
        self.seek_target = (int(index), time.monotonic())
        self.window.session.seek(int(index))

    def show_sample(self, source: str | None, frame: int | None) -> str:
        """A person's sample on their page, double-clicked: the open file is shown at the frame it
        was taken from (paused there), when it came from that file. What happened, in words."""
        if source is None or frame is None:
            return "That sample was not taken from a video (an enrolled photo)"
        st = self._seekable()
        if st is None or not _same_file(st.source, source):
            return f"That sample is from {Path(source).name}: open that file to see where"
        self.window.session.set_paused(True)
        self.seek_to(int(frame))
        return f"Shown: frame {int(frame) + 1} of {Path(source).name}, where this sample was taken"

    def seek_clicked(self, action: int) -> None:
        # Page clicks and keys on the slider seek at once; dragging seeks on release.
        if action != QSlider.SliderAction.SliderMove.value:
            QTimer.singleShot(0, lambda: self.seek_to(self.window.chrome.seek.sliderPosition()))

    def _seekable(self) -> Stats | None:
        st = self.window.session.stats()
        if st.live or not st.total or st.state not in (PLAYING, PAUSED, ENDED):
            return None
        return st

    def _position(self, st: Stats) -> int:
        """Where the next key seek counts from: a seek the session has not shown yet, else the frame on screen."""
        pending = self.seek_target
        if pending is not None and pending[0] != st.position and time.monotonic() - pending[1] < SEEK_PENDING_S:
            return pending[0]
        return st.position

    def seek_by(self, seconds: float) -> None:
        """Left/Right (5 s), Shift+Left/Right (1 s)."""
        st = self._seekable()
        if st is None or st.total is None:
            return
        fps = st.source_fps or 30.0
        self.seek_to(min(max(0, self._position(st) + int(round(seconds * fps))), st.total - 1))

    def seek_home(self) -> None:
        if self._seekable() is not None:
            self.seek_to(0)

    def seek_end(self) -> None:
        st = self._seekable()
        if st is not None and st.total:
            self.seek_to(st.total - 1)

    def step_frames(self, n: int) -> None:
        """Comma/period: one frame back or on, paused there. On is a step (the tracks go on);
        back is a seek."""
        st = self._seekable()
        if st is None or st.total is None:
            return
        if st.state != PAUSED:
            self.window.session.set_paused(True)
        pending = self.seek_target is not None and self._position(st) != st.position
        if n == 1 and st.state != ENDED and not pending:
            self.seek_target = None  # counted from the frame on screen from now on
            self.window.session.step()
        else:
            self.seek_to(min(max(0, self._position(st) + n), st.total - 1))

    # ------------------------------------------------------------------ fast, record
    def toggle_fast(self) -> None:
        self.window.session.set_fast(self.window.chrome.fast_action.isChecked())

    def toggle_record(self) -> None:
        if not self.window.chrome.record_action.isChecked():
            self.window.session.record(None)
            self.window.say("Recording stopped", 4000)
            return
        start = self.start_dir("record/dir")
        with self.dialog_pause():
            path, _ = QFileDialog.getSaveFileName(self.window, "Record the annotated video",
                                                  str(Path(start) / "facetrack.mp4"), "MP4 video (*.mp4)")
        if not path:
            self.window.chrome.record_action.setChecked(False)
            return
        self.start_recording(Path(path))

    def start_recording(self, path: Path) -> None:
        if path.suffix.lower() != ".mp4":
            path = path.with_suffix(".mp4")
        self.window.settings.setValue("record/dir", str(path.parent))
        self.window.chrome.record_action.setChecked(True)
        self.window.session.record(path)
        self.window.say(f"Recording to {path}", 4000)

    # ------------------------------------------------------------------ full screen
    def toggle_fullscreen(self) -> None:
        if self.window.isFullScreen():
            self.leave_fullscreen()
        else:
            self.enter_fullscreen()

    def enter_fullscreen(self) -> None:
        """The video alone: no menus, toolbar, panel, timeline or status bar (F or Esc leaves)."""
        win = self.window
        bars: list[QWidget | None] = [win.menuBar(), win.chrome.toolbar, win.statusBar(), win.people,
                                      *win.fullscreen_extras()]
        self._full_hidden = [w for w in bars if w is not None and w.isVisible()]
        for w in self._full_hidden:
            w.hide()
        self.window.showFullScreen()
        self.window.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def leave_fullscreen(self) -> None:
        self.window.showNormal()
        for w in self._full_hidden:
            w.show()
        self._full_hidden = []

    def key_press(self, event: QKeyEvent) -> bool:
        """Esc leaves full screen; True when the key was taken."""
        if event.key() == Qt.Key.Key_Escape and self.window.isFullScreen():
            self.leave_fullscreen()
            return True
        return False
