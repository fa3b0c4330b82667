"""Shared pieces of the desktop app's tests: a settings file per test, windows that close after
it, and a clip opened paused on its first frame."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PyQt6.QtCore import QSettings, Qt

from tracker.config import Config
from ui.session.session import Session
from ui.session.state import PAUSED
from ui.window import MainWindow

WAIT_MS = 60_000
MakeWindow = Callable[..., MainWindow]


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "facetrack.ini"), QSettings.Format.IniFormat)


class Windows:
    """Makes shown main windows (with `session_factory`, a stand-in engine) and closes them all."""

    def __init__(self, qtbot, settings: QSettings,  # type: ignore[no-untyped-def]
                 session_factory: Callable[[Config], Session] | None = None) -> None:
        self.qtbot, self.settings, self.session_factory = qtbot, settings, session_factory
        self.windows: list[MainWindow] = []

    def __call__(self, gallery: Path, **cfg: object) -> MainWindow:
        config = Config(gallery=gallery, **cfg)  # type: ignore[arg-type]
        factory = self.session_factory
        w = MainWindow(config, session=factory(config) if factory else None, settings=self.settings,
                       session_factory=factory)
        self.qtbot.addWidget(w)
        w.show()
        self.windows.append(w)
        return w

    def close_all(self) -> None:
        for w in self.windows:
            w.close()


@pytest.fixture
def make_window(qtbot, settings: QSettings) -> Iterator[MakeWindow]:  # type: ignore[no-untyped-def]
    windows = Windows(qtbot, settings)
    yield windows
    windows.close_all()


def open_paused(qtbot, w: MainWindow, clip: Path) -> None:  # type: ignore[no-untyped-def]
    """The clip open and paused on its first frame."""
    w.player.open_source(str(clip))
    w.session.set_paused(True)
    qtbot.waitUntil(lambda: w.session.stats().state == PAUSED and w.view.seq >= 1, timeout=WAIT_MS)


def key(qtbot, w: MainWindow, k: Qt.Key, mod: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    """A key pressed on the video as a user would after clicking it: the window is the active one
    (its shortcuts work only then), the video has the focus (a text field or a list keeps its own
    Home, End and arrows), then the key."""
    activate(qtbot, w)
    if not w.isFullScreen() or w.view.isVisible():
        w.view.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.keyClick(w, k, mod)


def activate(qtbot, w: MainWindow) -> None:  # type: ignore[no-untyped-def]
    if not w.isActiveWindow():
        w.activateWindow()
        qtbot.waitUntil(w.isActiveWindow, timeout=5000)
