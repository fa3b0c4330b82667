from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Qt tests run without a display (CI); set before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

CLIP = ROOT / "assets" / "demo" / "short_hamilton_clip.mp4"
PEOPLE = ROOT / "assets" / "people"
FACES = ROOT / "tests" / "data" / "faces"
LIN = PEOPLE / "Lin-Manuel Miranda" / "lin_manuel_miranda.png"
ALEX = PEOPLE / "Alex Lacamoire" / "alex_lacamoire.png"


@pytest.fixture
def gallery_path(tmp_path: Path) -> Path:
    return tmp_path / "gallery.sqlite3"
