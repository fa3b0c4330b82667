"""Make the README's pictures of `facetrack analyze` from the demo clip (Lin-Manuel Miranda and
Alex Lacamoire enrolled): the contact sheet, the timeline, and the HTML report as Qt renders it.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/readme_analyze.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.cli.main import main  # noqa: E402

OUT = ROOT / "assets" / "readme"


def render_html(page: Path, dest: Path, width: int = 1300) -> None:
    """The report page drawn by Qt's HTML engine (a subset of a browser's CSS; no browser here)."""
    from PyQt6.QtGui import QImage, QPainter
    from PyQt6.QtWidgets import QApplication, QTextBrowser

    app = QApplication.instance() or QApplication(sys.argv)
    view = QTextBrowser()
    view.setHtml(page.read_text(encoding="utf-8"))
    view.document().setTextWidth(width - 20)
    height = int(view.document().size().height()) + 10
    img = QImage(width, height, QImage.Format.Format_RGB32)
    img.fill(0xFFFFFF)
    painter = QPainter(img)
    view.document().drawContents(painter)
    painter.end()
    img.save(str(dest))
    del app


def main_() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        gallery = Path(d) / "g.sqlite3"
        assert main(["enroll", "--folders", str(ROOT / "assets" / "people"), "--gallery", str(gallery), "-q"]) == 0
        report = Path(d) / "report"
        assert main(["analyze", str(ROOT / "assets" / "demo" / "short_hamilton_clip.mp4"), "--out", str(report),
                     "--gallery", str(gallery), "--no-progress", "-q"]) == 0
        shutil.copy(report / "people.png", OUT / "analyze_people.png")
        shutil.copy(report / "timeline.png", OUT / "analyze_timeline.png")
        render_html(report / "report.html", OUT / "analyze_report.png")
    print(f"wrote {', '.join(p.name for p in sorted(OUT.glob('analyze_*.png')))} in {OUT}")


if __name__ == "__main__":
    main_()
