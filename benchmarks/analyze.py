"""`facetrack analyze` on a long 720p file: faster than real time? memory flat?

    python benchmarks/analyze.py                # a 10-minute 1280x720 file (the demo clip, looped)
    python benchmarks/analyze.py --minutes 2    # a quick look

The file is made once (cached in the system's temp folder). Prints the processing speed as a
multiple of real time, and resident memory every 1,000 frames of pass 1 and after pass 2.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench import current_rss_mb, rss_mb  # noqa: E402

from tracker.config import Config  # noqa: E402
from tracker.engine import offline, pass2  # noqa: E402
from tracker.eval import baseline  # noqa: E402
from tracker.gallery.gallery import Gallery  # noqa: E402
from tracker.records import Frame  # noqa: E402
from tracker.sources import source_for  # noqa: E402

CLIP = ROOT / "assets" / "demo" / "short_hamilton_clip.mp4"


def long_file(minutes: float) -> Path:
    path = Path(tempfile.gettempdir()) / f"facetrack-bench-720p-{minutes:g}min.mp4"
    if path.exists():
        return path
    frames = [cv2.cvtColor(cv2.resize(f, (1280, 720), interpolation=cv2.INTER_CUBIC), cv2.COLOR_RGB2BGR)
              for f in baseline.frames(str(CLIP))]
    n = int(minutes * 60 * 29.97)
    tmp = path.with_suffix(".part.mp4")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"mp4v"), 29.97, (1280, 720))
    for i in range(n):
        writer.write(frames[i % len(frames)])
    writer.release()
    tmp.rename(path)
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0)
    args = p.parse_args()
    t = time.perf_counter()
    video = long_file(args.minutes)
    print(f"file: {video} ({time.perf_counter() - t:.0f} s to make or find)")
    cfg = Config()
    source = source_for(str(video), cfg)
    source.ensure_open()
    total, fps = source.total or 0, source.fps
    samples: list[float] = []
    count = 0

    def on_frame(frame: Frame) -> None:
        nonlocal count
        count += 1
        if count % 1000 == 0:
            samples.append(current_rss_mb())

    start = time.perf_counter()
    p1 = offline.track_all(cfg, [source], on_frame=on_frame)
    pass1 = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as d, Gallery(Path(d) / "g.sqlite3") as gallery:
        analysis = pass2.identify(p1, gallery, cfg, 0.5)
    seconds = time.perf_counter() - start
    media = total / fps if fps else 0.0
    print(f"{total} frames of 1280x720 ({media / 60:.1f} min of video) in {seconds:.0f} s "
          f"(pass 1 {pass1:.0f} s, pass 2 {seconds - pass1:.1f} s): {media / seconds:.2f}x real time; "
          f"{len(p1.tracks)} tracks, {len(analysis.people)} people")
    print("RSS MB every 1,000 frames of pass 1:", [round(m, 1) for m in samples])
    if len(samples) > 3:
        base, last = samples[2], samples[-1]
        print(f"after 3,000 frames {base:.1f} MB, at the end {last:.1f} MB ({(last - base) / base * 100:+.1f}%); "
              f"peak {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
