"""Soak: a long run from a looping live source, resident memory sampled as it goes.

    python benchmarks/soak.py                    # 50,000 frames of the demo clip, live at 80 fps
    python benchmarks/soak.py --frames 5000      # a quick look

The demo clip loops (the performer, a cut, the audience, a cut back), so faces come and go and
tracks start and end thousands of times, through the live path (newest frame wins, detection in
the background), with a real gallery that learns. Prints RSS every 1,000 frames processed and
whether it stays flat: the last sample within 10% of the first after warm-up.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench import MemorySource, clip_frames, current_rss_mb, engine  # noqa: E402

from tracker.records import Frame, FrameResult  # noqa: E402

WARMUP = 5000  # frames before the baseline sample: models, caches and the gallery settle


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=50_000, help="frames offered by the live source")
    p.add_argument("--fps", type=float, default=80.0, help="rate the live source offers them at")
    args = p.parse_args()
    frames = clip_frames()
    repeat = max(1, args.frames // len(frames))
    samples: list[tuple[int, float]] = []
    processed = 0

    def sample(frame: Frame, result: FrameResult) -> None:
        nonlocal processed
        processed += 1
        if processed % 1000 == 0:
            samples.append((processed, current_rss_mb()))

    with tempfile.TemporaryDirectory() as d:
        eng, gallery = engine(Path(d))
        start = time.perf_counter()
        s = eng.run(MemorySource(frames, args.fps, live=True, repeat=repeat), on_result=sample)
        seconds = time.perf_counter() - start
        people, stored = len(gallery.people()), len(gallery.vectors)
        eng.close()
        gallery.close()
    offered = repeat * len(frames)
    print(f"{offered} frames offered at {args.fps:g} fps, {s.frames} processed, {s.dropped} dropped, "
          f"{seconds:.0f} s; gallery: {people} people, {stored} descriptors")
    print("RSS MB every 1,000 frames processed:", [round(m, 1) for _, m in samples])
    base = next((m for n, m in samples if n >= WARMUP), samples[0][1] if samples else 0.0)
    last = samples[-1][1] if samples else 0.0
    peak = max((m for n, m in samples if n >= WARMUP), default=last)
    growth = (last - base) / base * 100 if base else 0.0
    print(f"after warm-up ({WARMUP} frames): {base:.1f} MB; peak {peak:.1f} MB; last {last:.1f} MB "
          f"({growth:+.1f}%): {'flat (within 10%)' if abs(growth) <= 10 and peak <= base * 1.1 else 'GROWS'}")


if __name__ == "__main__":
    main()
