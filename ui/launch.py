"""Starting the desktop app: saved settings under the command line's, the platform check, and
`run_app`, which restores where the user left off."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QSettings, QTimer
from PyQt6.QtWidgets import QApplication

from tracker.config import Config, gallery_location
from tracker.errors import FacetrackError

from .window import TUNABLE, MainWindow

log = logging.getLogger(__name__)


def apply_saved(cfg: Config, settings: QSettings, explicit: frozenset[str]) -> Config:
    """Settings saved from the dialog, except those given on the command line."""
    changes: dict[str, Any] = {}
    for key in TUNABLE:
        value = settings.value(f"engine/{key}")
        if value is None or key in explicit:
            continue
        kind = type(getattr(cfg, key))
        try:
            changes[key] = gallery_location(str(value)) if key == "gallery" else kind(value)
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
    """Open the window; play `sources` in turn, or where the user left off when none is given."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("facetrack")
    app.setOrganizationName("facetrack")
    window = start_window(cfg, sources, explicit, QSettings("facetrack", "facetrack"))
    # Ctrl+C in the terminal, or a service manager's SIGTERM, closes the window cleanly. Python
    # runs signal handlers only between bytecodes, so a timer wakes it while Qt idles.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.close())
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    return int(app.exec())


def start_window(cfg: Config, sources: Sequence[str], explicit: frozenset[str], settings: QSettings) -> MainWindow:
    """The window as a start makes it: saved settings under the flags, the gallery in use
    remembered for the next start, and the sources given or the last one."""
    cfg = apply_saved(cfg, settings, explicit)
    if "gallery" in explicit:  # --gallery: the next start opens it too (as a gallery chosen in Settings)
        settings.setValue("engine/gallery", str(cfg.gallery))
    window = MainWindow(cfg, settings=settings)
    window.show()
    if sources:
        window.player.open_source(sources[0], sources[1:])
    else:
        restart_where_left(window, settings)
    return window


def restart_where_left(window: MainWindow, settings: QSettings) -> None:
    """The last source, or webcam 0 the first time; a source that failed to open last time is
    offered (Space opens it) rather than tried again at every start."""
    last = str(settings.value("source/last", "") or "")
    failed = str(settings.value("source/last_failed", "") or "")
    if last and failed == last:
        window.last_failed = last
        return
    # A file comes back where it was, paused if it was paused.
    start = int(settings.value("source/position", 0) or 0) if last and Path(last).is_file() else 0
    window.player.open_source(last or "0", start=max(0, start))
    if start and settings.value("source/paused", False, type=bool):
        window.session.set_paused(True)
