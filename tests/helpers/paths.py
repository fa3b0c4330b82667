"""Where the tests' real material lies: the demo clip and portraits shipped in assets/, and
tests/data/ (credits in its SOURCES.md files)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

CLIP = ROOT / "assets" / "demo" / "short_hamilton_clip.mp4"
PEOPLE = ROOT / "assets" / "people"
DATA = ROOT / "tests" / "data"
FACES = DATA / "faces"
CCBY = DATA / "ccby"  # CC BY clips: credits in tests/data/ccby/SOURCES.md
MONTAGE = CCBY / "shotchange_ccby_montage.mp4"
MONTAGE_LABELS = CCBY / "montage_labels.json"
LIN = PEOPLE / "Lin-Manuel Miranda" / "lin_manuel_miranda.png"
LIN_NAME = "Lin-Manuel Miranda"
ALEX = PEOPLE / "Alex Lacamoire" / "alex_lacamoire.png"
