"""Drive the real app on a real X server as a user would, and read what the screen says.

    .venv/bin/python scripts/drive_app.py [--keep DIR]

Starts Xvfb, enrols the bundled portraits in a throwaway gallery, and starts the app the way a
user does (`facetrack run CLIP --gallery G`). Then, with real X key and mouse events (xdotool,
through the XTEST extension, as a keyboard and a mouse would send them), it:

1. waits for a named box on screen (Lin-Manuel Miranda's label colour);
2. presses Space: the picture stops, and the status bar reads "paused" with the playback time;
3. clicks Lin-Manuel's face: "Who is this?" opens; Escape closes it;
3b. right-clicks the face and picks "Not NAME": the name leaves the face; Ctrl+Z puts it back;
4. presses Right: the time moves on by 5 s;
4b. runs Analyze… (Ctrl+Shift+A): a timeline under the video; renames the performer in the
   people panel (a click on his row, F2, a new name): his timeline row says the new name at once;
5. presses Ctrl+U, types an address where no server listens, Return: an error message shows,
   and is still on screen 10 s later;
6. sends SIGINT (Ctrl+C): the app exits 0.

What the screen says is read with Tesseract OCR from X screen grabs (a separate process grabs
them). Exits non-zero, saying which step failed, and with --keep the grabs stay in DIR.
Needs Xvfb, xdotool and tesseract-ocr (Debian packages of those names).
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from screenshot import GRAB, start_xvfb  # noqa: E402

from tracker.sinks.draw import person_colour  # noqa: E402

CLIP = ROOT / "assets" / "demo" / "short_hamilton_clip.mp4"
LIN_ID = 2  # the second person the portraits folder enrols
TIME = re.compile(r"(\d\d):(\d\d):(\d\d)[.,:](\d\d)")
TOOLS = ("Xvfb", "xdotool", "tesseract")


class Failed(Exception):
    pass


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


@dataclass
class Screen:
    env: dict[str, str]
    work: Path
    shots: int = 0

    def grab(self, name: str) -> np.ndarray:
        self.shots += 1
        path = self.work / f"{self.shots:02d}-{name}.png"
        subprocess.run([sys.executable, "-c", GRAB, str(path)], env=self.env, timeout=30, check=True)
        return np.asarray(Image.open(path).convert("RGB"))

    def read(self, img: np.ndarray, box: tuple[int, int, int, int] | None = None) -> str:
        """OCR of the screen (or of `box`: left, top, right, bottom), upscaled for small UI text."""
        crop = img if box is None else img[box[1]:box[3], box[0]:box[2]]
        pic = Image.fromarray(crop).convert("L")
        pic = pic.resize((pic.width * 3, pic.height * 3), Image.Resampling.LANCZOS)
        path = self.work / "ocr.png"
        pic.save(path)
        out = subprocess.run(["tesseract", str(path), "stdout", "--psm", "6"], capture_output=True, text=True,
                             timeout=60)
        return out.stdout

    def find(self, img: np.ndarray, word: str, box: tuple[int, int, int, int] | None = None
             ) -> tuple[int, int] | None:
        """Where OCR reads `word` (case aside) on the screen, or in `box`: the centre of its first
        occurrence, in screen pixels; None if it is not read."""
        x0, y0 = (box[0], box[1]) if box is not None else (0, 0)
        crop = img if box is None else img[box[1]:box[3], box[0]:box[2]]
        pic = Image.fromarray(crop).convert("L")
        pic = pic.resize((pic.width * 3, pic.height * 3), Image.Resampling.LANCZOS)
        path = self.work / "ocr-find.png"
        pic.save(path)
        out = subprocess.run(["tesseract", str(path), "stdout", "--psm", "11", "tsv"], capture_output=True,
                             text=True, timeout=60).stdout
        for line in out.splitlines()[1:]:
            cols = line.split("\t")
            if len(cols) == 12 and word.lower() in cols[11].lower():
                left, top, width, height = (int(c) for c in cols[6:10])
                return x0 + (left + width // 2) // 3, y0 + (top + height // 2) // 3
        return None

    def xdo(self, *args: str) -> str:
        out = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise Failed(f"xdotool {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout.strip()


def label_box(img: np.ndarray, pid: int) -> tuple[int, int, int, int] | None:
    """The bounding box of a person's colour on screen (their label and the box under it), if any."""
    mask = np.all(img == np.array(person_colour(pid), np.uint8), axis=2)
    if mask.sum() < 500:
        return None
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def seconds(text: str) -> float | None:
    m = TIME.search(text)
    if m is None:
        return None
    h, mi, s, ff = (int(g) for g in m.groups())
    return h * 3600 + mi * 60 + s + ff / 100


def until(what: str, check, timeout: float, every: float = 0.4):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None and not (isinstance(result, (bool, str, list)) and not result):
            return result
        if time.monotonic() > deadline:
            raise Failed(f"timed out after {timeout:.0f} s: {what}")
        time.sleep(every)


def scenario(screen: Screen, app: subprocess.Popen[str], log: list[str]) -> None:
    status_bar = lambda img: (0, img.shape[0] - 34, img.shape[1], img.shape[0])  # noqa: E731

    def dialog_says(name: str, *words: str) -> bool:
        """A dialog (centred over the window) shows one of `words`: OCR of the middle of the screen."""
        img = screen.grab(name)
        h, w = img.shape[:2]
        text = " ".join(screen.read(img, (w // 5, h // 5, w * 4 // 5, h * 4 // 5)).lower().split())
        return any(word in text for word in words)

    img = until("a named box on screen", lambda: (lambda i: i if label_box(i, LIN_ID) else None)(screen.grab("named")),
                timeout=60)
    log.append("1. a named box is on screen")
    wid = until("the facetrack window", lambda: screen.xdo("search", "--onlyvisible", "--name", "^facetrack$")
                .splitlines(), timeout=20)[0]
    screen.xdo("windowfocus", "--sync", wid)

    # 2. Space pauses: the picture stops, the status bar says paused, with the time.
    screen.xdo("key", "space")

    def paused() -> str | None:
        img = screen.grab("paused")
        text = screen.read(img, status_bar(img))
        return text if "paused" in text and seconds(text) is not None else None

    text = until("'paused' and a time in the status bar after Space", paused, timeout=20)
    t_paused = seconds(text)
    a, b = screen.grab("still-a"), (time.sleep(0.8), screen.grab("still-b"))[1]
    if not np.array_equal(a[60:600, :800], b[60:600, :800]):
        raise Failed("the video still moves after Space")
    log.append(f"2. Space paused the video; the status bar reads {TIME.search(text).group(0)}")  # type: ignore[union-attr]

    # 3. A click on Lin-Manuel's face asks "Who is this?"; Escape closes the dialog.
    img = screen.grab("face")
    for _ in range(4):  # paused after a cut to a shot without him: play on until he is back, pause there
        if label_box(img, LIN_ID) is not None:
            break
        screen.xdo("key", "space")
        until("the named face back on screen", lambda: label_box(screen.grab("face"), LIN_ID) is not None,
              timeout=20, every=0.1)
        screen.xdo("key", "space")
        time.sleep(0.6)
        img = screen.grab("face")
    box = label_box(img, LIN_ID)
    if box is None:
        raise Failed("could not pause on a named face")
    assert box is not None
    # The colour fills the label (its full rows) and outlines the face box under it.
    mask = np.all(img == np.array(person_colour(LIN_ID), np.uint8), axis=2)
    rows = mask.sum(1)
    label_bottom = int(np.nonzero(rows >= 0.8 * rows.max())[0].max())
    outline = np.nonzero(mask[label_bottom + 5])[0]  # the box's two sides, just under the label
    x, y = int(outline.min()) + 15, label_bottom + 25
    screen.xdo("mousemove", "--sync", str(x), str(y))
    screen.xdo("click", "1")
    until("the 'Who is this?' dialog after a click on the face",
          lambda: dialog_says("who", "name this face", "a new name", "pick someone"), timeout=20)
    screen.xdo("key", "Escape")
    until("the dialog closed after Escape",
          lambda: not dialog_says("who-gone", "name this face", "a new name", "pick someone"), timeout=20)
    log.append(f"3. a click at ({x}, {y}) on the named face opened 'Who is this?'; Escape closed it")

    # 3b. Right-click the face, "Not NAME" (the menu's second item): the name leaves the face;
    # Ctrl+Z puts it back (the box in the person's colour again).
    screen.xdo("windowfocus", "--sync", wid)
    screen.xdo("mousemove", "--sync", str(x), str(y))
    screen.xdo("click", "3")
    time.sleep(0.5)
    screen.xdo("key", "Down", "Down", "Return")
    until("the name gone from the face after 'Not NAME'", lambda: label_box(screen.grab("not"), LIN_ID) is None,
          timeout=20)
    screen.xdo("windowfocus", "--sync", wid)
    screen.xdo("key", "ctrl+z")
    until("the name back on the face after Ctrl+Z", lambda: label_box(screen.grab("undone"), LIN_ID) is not None,
          timeout=20)
    log.append("3b. right-click, 'Not NAME': the name left the face; Ctrl+Z put it back")

    screen.xdo("windowfocus", "--sync", wid)
    # 4. Right: 5 s on (from where step 3 left it paused).
    t_paused = seconds(until("the time in the status bar", paused, timeout=20))
    screen.xdo("key", "Right")

    def moved() -> float | None:
        img = screen.grab("right")
        t = seconds(screen.read(img, status_bar(img)))
        return t if t is not None and t_paused is not None and t > t_paused + 3.0 else None

    t_right = until("the time 5 s on after Right", moved, timeout=20)
    assert t_paused is not None
    if abs(t_right - (t_paused + 5.0)) > 0.6:
        raise Failed(f"Right moved from {t_paused:.2f} s to {t_right:.2f} s, not 5 s on")
    log.append(f"4. Right moved the time from {t_paused:.2f} s to {t_right:.2f} s")

    # 4b. Analyze… (Ctrl+Shift+A): a timeline under the video, with a row for Lin-Manuel Miranda.
    # Renaming him in the people panel (a click on his row, F2, a new name) renames his row at once.
    screen.xdo("windowfocus", "--sync", wid)
    screen.xdo("key", "ctrl+shift+a")

    def timeline_top() -> int | None:
        img = screen.grab("timeline")
        at = screen.find(img, "appears", (0, img.shape[0] // 3, img.shape[1] * 3 // 4, img.shape[0] - 34))
        return at[1] if at is not None else None

    top = until("the analysis timeline under the video", timeline_top, timeout=120, every=1.0)
    img = screen.grab("timeline-rows")
    rows_box = (0, top + 8, img.shape[1] * 3 // 4, img.shape[0] - 34)
    if "manuel" not in screen.read(img, rows_box).lower():
        raise Failed("no row for Lin-Manuel Miranda in the timeline")
    row = screen.find(img, "Manuel", (img.shape[1] * 3 // 4 - 40, 60, img.shape[1], top))
    if row is None:
        raise Failed("Lin-Manuel Miranda's row not found in the people panel")
    screen.xdo("mousemove", "--sync", str(row[0]), str(row[1]))
    screen.xdo("click", "1")
    screen.xdo("key", "F2")
    until("the rename dialog after F2", lambda: dialog_says("rename", "new name", "rename"), timeout=20)
    screen.xdo("key", "ctrl+a")
    screen.xdo("type", "--delay", "20", "Lin Miranda")
    screen.xdo("key", "Return")

    def renamed() -> bool:
        text = screen.read(screen.grab("renamed"), rows_box).lower()
        return "miranda" in text and "manuel" not in text

    until("the new name in the timeline after the rename", renamed, timeout=20)
    log.append("4b. Analyze showed a timeline; a rename in the people panel renamed its row at once")

    # 5. An address where no server listens: an error message that stays.
    screen.xdo("windowfocus", "--sync", wid)
    screen.xdo("key", "ctrl+u")
    until("the 'Open a stream' dialog after Ctrl+U",
          lambda: dialog_says("url", "rtsp or http", "http address", "address:"), timeout=20)
    screen.xdo("key", "ctrl+a")
    screen.xdo("type", "--delay", "20", "rtsp://127.0.0.1:9/nothing")
    screen.xdo("key", "Return")

    def error_shown() -> bool:
        text = screen.read(screen.grab("error"))
        return "cannot open stream" in text.lower() or "could not open" in text.lower()

    until("an error message after opening a dead address", error_shown, timeout=40)
    shown_at = time.monotonic()
    time.sleep(10.5)
    if not error_shown():
        raise Failed("the error message was gone 10 s later")
    log.append(f"5. the error message was on screen, and still {time.monotonic() - shown_at:.0f} s later")

    # 6. Ctrl+C in the terminal closes it cleanly.
    app.send_signal(signal.SIGINT)
    try:
        app.wait(10)
    except subprocess.TimeoutExpired:
        raise Failed("the app did not close within 10 s of SIGINT") from None
    if app.returncode != 0:
        raise Failed(f"the app exited with {app.returncode}")
    log.append("6. SIGINT closed the app, exit 0")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep the screen grabs in this folder")
    parser.add_argument("--size", default="1180x720")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"drive_app: error: needs {', '.join(missing)} (Debian: xvfb, xdotool, tesseract-ocr)",
              file=sys.stderr)
        return 1
    from tracker.gallery.enroll import enroll_folders
    from tracker.gallery.gallery import Gallery

    work = args.keep or Path(tempfile.mkdtemp(prefix="facetrack-drive-"))
    work.mkdir(parents=True, exist_ok=True)
    gallery = work / "gallery.sqlite3"
    if gallery.exists():
        gallery.unlink()
    with Gallery(gallery) as g:
        enroll_folders(g, ROOT / "assets" / "people")
    xvfb, env = start_xvfb(args.size, work)
    app: subprocess.Popen[str] | None = None
    log: list[str] = []
    try:
        app = subprocess.Popen([sys.executable, "-m", "tracker", "run", str(CLIP), "--gallery", str(gallery)],
                               env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        scenario(Screen(env, work), app, log)
        print("\n".join(log))
        return 0
    except Failed as exc:
        print("\n".join(log), file=sys.stderr)
        print(f"drive_app: failed: {exc}" + (f" (screen grabs in {work})" if args.keep else ""), file=sys.stderr)
        return 1
    finally:
        if app is not None and app.poll() is None:
            app.kill()
        xvfb.terminate()
        xvfb.wait(5)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
