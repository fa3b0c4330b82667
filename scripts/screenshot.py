"""Start the real app under Xvfb on the bundled demo clip and save a screenshot of the screen.

    .venv/bin/python scripts/screenshot.py [--out assets/screenshot.png] [--delay 6]

The app runs as a user would start it (`facetrack run CLIP`) on a virtual X display, with
the bundled portraits enrolled in a throwaway gallery and its own settings folder. The
screenshot is taken by a separate process, of the whole X screen, after `--delay` seconds and
then again until a named face is on screen (a busy machine plays behind), and the app is closed
with SIGINT, as Ctrl+C would; the script fails if it does not exit cleanly. Needs Xvfb
(Debian: xvfb).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GRAB = """
import sys
from PyQt6.QtGui import QGuiApplication
app = QGuiApplication(sys.argv[:1])
screen = app.primaryScreen()
ok = screen is not None and screen.grabWindow(0).save(sys.argv[1])
sys.exit(0 if ok else 1)
"""


def labelled(png: Path) -> bool:
    """Whether the screen shows a label filled with an enrolled person's colour (ids 1 and 2)."""
    import numpy as np
    from PIL import Image

    from tracker.sinks.draw import person_colour

    if not png.exists():
        return False
    img = np.asarray(Image.open(png).convert("RGB"))
    return any(int(np.all(img == np.array(person_colour(pid), np.uint8), axis=2).sum()) > 500 for pid in (1, 2))


def free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise SystemExit("screenshot: no free X display number")


def start_xvfb(size: str, work: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """A virtual X screen of `size` (WxH) and the environment that starts the app on it, with
    its settings in `work`; returns once the X socket is there (at most 5 s)."""
    display = free_display()
    xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {**os.environ, "DISPLAY": f":{display}", "QT_QPA_PLATFORM": "xcb", "XDG_CONFIG_HOME": str(work / "config")}
    env.pop("WAYLAND_DISPLAY", None)
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{display}").exists():
            break
        time.sleep(0.05)
    return xvfb, env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "screenshot.png")
    parser.add_argument("--delay", type=float, default=6.0, help="seconds of playback before the first try")
    parser.add_argument("--timeout", type=float, default=40.0,
                        help="seconds to wait for a labelled face on screen (a slow or busy machine)")
    parser.add_argument("--size", default="1180x720", help="virtual screen size, WxH")
    args = parser.parse_args()
    if shutil.which("Xvfb") is None:
        print("screenshot: error: Xvfb is not installed (Debian: apt install xvfb)", file=sys.stderr)
        return 1

    from tracker.gallery.enroll import enroll_folders
    from tracker.gallery.gallery import Gallery

    work = Path(tempfile.mkdtemp(prefix="facetrack-shot-"))
    gallery = work / "gallery.sqlite3"
    with Gallery(gallery) as g:
        enroll_folders(g, ROOT / "assets" / "people")
    xvfb, env = start_xvfb(args.size, work)
    app = None
    try:
        clip = ROOT / "assets" / "demo" / "short_hamilton_clip.mp4"
        app = subprocess.Popen([sys.executable, "-m", "tracker", "run", str(clip), "--gallery", str(gallery)],
                               env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        time.sleep(args.delay)
        if app.poll() is not None:
            print(f"screenshot: error: the app exited early:\n{app.stderr.read() if app.stderr else ''}",
                  file=sys.stderr)
            return 1
        args.out.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + args.timeout
        while True:  # the clip plays in real time: try again until a named face is on screen
            grab = subprocess.run([sys.executable, "-c", GRAB, str(args.out)], env=env, timeout=30)
            if grab.returncode != 0 or labelled(args.out) or time.monotonic() > deadline or app.poll() is not None:
                break
            time.sleep(0.3)
        app.send_signal(signal.SIGINT)
        try:
            _, err = app.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            app.kill()
            print("screenshot: error: the app did not close within 10 s of SIGINT", file=sys.stderr)
            return 1
        if grab.returncode != 0:
            print("screenshot: error: could not grab the screen", file=sys.stderr)
            return 1
        if app.returncode != 0:
            print(f"screenshot: error: the app exited with {app.returncode}:\n{err}", file=sys.stderr)
            return 1
        if not labelled(args.out):
            print(f"screenshot: error: no named face on screen within {args.timeout:.0f} s; "
                  f"the last try is in {args.out}", file=sys.stderr)
            return 1
        print(f"wrote {args.out}")
        return 0
    finally:
        if app is not None and app.poll() is None:
            app.kill()
        xvfb.terminate()
        xvfb.wait(5)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
