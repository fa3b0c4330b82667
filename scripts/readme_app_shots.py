"""The README's pictures of the desktop app: the main window with several people, a person's page,
and an error message. Each is the real window (real engine, real dlib) drawn offscreen.

    .venv/bin/python scripts/readme_app_shots.py [--out assets/readme]

The window plays the hand-labelled CC BY montage (tests/data/ccby/, several people in one frame)
with an empty gallery until two or more faces are named at once, then pauses there.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PyQt6.QtCore import QSettings  # noqa: E402
from PyQt6.QtWidgets import QApplication, QWidget  # noqa: E402

from tracker.config import Config  # noqa: E402
from ui.session.state import PAUSED  # noqa: E402
from ui.window import MainWindow  # noqa: E402

MONTAGE = ROOT / "tests" / "data" / "ccby" / "shotchange_ccby_montage.mp4"


def wait(app: QApplication, what: str, check: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"readme_app_shots: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def save(app: QApplication, widget: QWidget, path: Path) -> None:
    for _ in range(20):  # let layouts and paints settle
        app.processEvents()
        time.sleep(0.01)
    if not widget.grab().save(str(path)):
        raise SystemExit(f"readme_app_shots: could not write {path}")
    print(f"wrote {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "readme")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="facetrack-shots-"))
    settings = QSettings(str(work / "facetrack.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Config(gallery=work / "gallery.sqlite3"), settings=settings)
    w.resize(1180, 720)
    w.show()
    try:
        w.chrome.fast_action.trigger()
        w.player.open_source(str(MONTAGE))
        # Far enough in that the people have a few samples each, with two or more faces named at once.
        wait(app, "several named faces", lambda: w.session.stats().position >= 100
             and sum(f.name is not None for f in w.view.faces) >= 2, timeout=240)
        w.session.set_paused(True)
        wait(app, "the pause", lambda: w.session.stats().state == PAUSED)
        w._pull_stats()
        save(app, w, args.out / "app_people.png")

        name = w.view.faces[0].name
        assert name is not None
        wait(app, "the panel", lambda: (w._pull_stats(), name in w.people.names())[1])
        page = w.people_actions.open_person(name)
        wait(app, "the person's samples", lambda: page.list.count() > 0, timeout=30)
        page.resize(760, 520)
        save(app, page, args.out / "app_person_page.png")
        page.close()

        missing = Path("/home/me/Videos/holiday-2026.mp4")  # a file that has gone
        w.player.open_source(str(missing))
        wait(app, "the error", lambda: (w._pull_stats(), w.messages.isVisible())[1], timeout=30)
        save(app, w, args.out / "app_error.png")
    finally:
        w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
