"""The real app on a real X server, driven with real X key and mouse events (xdotool) and checked
by reading the screen (Tesseract OCR): scripts/drive_app.py, steps 1-6 (with 3b and 4b)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT


def missing_tools() -> list[str]:
    """What scripts/drive_app.py needs (its TOOLS) and this machine lacks."""
    return [tool for tool in ("Xvfb", "xdotool", "tesseract") if shutil.which(tool) is None]


@pytest.mark.skipif(bool(missing_tools()), reason=f"needs {', '.join(missing_tools())} (CI installs them)")
def test_a_user_drives_the_app_with_keys_and_the_mouse(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "drive_app.py"), "--keep", str(tmp_path)],
                          capture_output=True, text=True, timeout=480)
    print(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    steps = proc.stdout.splitlines()
    assert [s.split(".")[0] for s in steps] == ["1", "2", "3", "3b", "4", "4b", "5", "6"]
    assert "the status bar reads 00:00:" in steps[1]  # the time display, read off the screen
    assert "opened 'Who is this?'" in steps[2]  # a real mouse click on a named face
    assert "Ctrl+Z put it back" in steps[3]  # Not NAME, then undo, seen on screen
    assert "renamed its row at once" in steps[5]  # a rename reaches the analysis timeline, read off the screen
    assert "still" in steps[6]  # the error message stays
