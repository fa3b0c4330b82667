"""The real app on a real X server (Xvfb): started as a user would, shown, closed by Ctrl+C."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers.paths import ROOT
from tracker.sinks.draw import person_colour


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (Debian: xvfb); CI installs it")
def test_screenshot_shows_labelled_boxes_and_people(tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshot.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr  # includes: the app exited 0 after SIGINT
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (720, 1180, 3)
    # The label of Lin-Manuel Miranda (the second person enrolled, id 2) is filled with his colour.
    label = np.all(img == np.array(person_colour(2), np.uint8), axis=2)
    assert label.sum() > 500, "no labelled box on screen"
    assert img[100:600, :800].std() > 20  # the video is there, not a blank window
