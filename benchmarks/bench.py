"""facetrack against the per-frame baseline, in one run, on the same clip and models.

    python benchmarks/bench.py                 # all figures on the demo clip
    python benchmarks/bench.py --long 20000    # also memory over 20,000 frames

Each mode runs in its own process, so peak memory (max RSS) is that mode's own.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker import models  # noqa: E402
from tracker.config import Config  # noqa: E402
from tracker.engine.pipeline import Engine  # noqa: E402
from tracker.eval import baseline  # noqa: E402
from tracker.gallery.enroll import enroll_folders  # noqa: E402
from tracker.gallery.gallery import Gallery  # noqa: E402
from tracker.records import Frame  # noqa: E402
from tracker.sources.base import Source  # noqa: E402

CLIP = ROOT / "assets" / "demo" / "short_hamilton_clip.mp4"
PEOPLE = ROOT / "assets" / "people"


def clip_frames(size: tuple[int, int] | None = None, pad_to: tuple[int, int] | None = None) -> list[np.ndarray]:
    out = []
    for f in baseline.frames(str(CLIP)):
        if size:
            f = cv2.resize(f, size, interpolation=cv2.INTER_CUBIC)
        if pad_to:
            w, h = pad_to
            top = (h - f.shape[0]) // 2
            f = cv2.copyMakeBorder(f, top, h - f.shape[0] - top, 0, w - f.shape[1], cv2.BORDER_CONSTANT)
        out.append(np.ascontiguousarray(f))
    return out


class MemorySource(Source):
    """Frames from memory: as a file (`live=False`, every frame) or replayed at `fps` as a
    live camera would deliver them (the oldest dropped when the engine falls behind)."""

    def __init__(self, frames: list[np.ndarray], fps: float, live: bool, repeat: int = 1) -> None:
        super().__init__("replay", 2 if live else 16)
        self.live = live
        self._frames, self._fps, self._repeat = frames, fps, repeat

    @property
    def fps(self) -> float:
        return self._fps

    def produce(self) -> Iterator[Frame]:
        start = time.monotonic()
        n = 0
        for _ in range(self._repeat):
            for img in self._frames:
                if self.live:
                    time.sleep(max(0.0, start + n / self._fps - time.monotonic()))
                yield Frame(img, n, n / self._fps, self.name, time.monotonic())
                n += 1


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def engine(gallery_dir: Path, **cfg: object) -> tuple[Engine, Gallery]:
    path = gallery_dir / "g.sqlite3"
    gallery = Gallery(path)
    if not gallery.people():
        enroll_folders(gallery, PEOPLE)
    return Engine(Config(gallery=path, **cfg), gallery), gallery  # type: ignore[arg-type]


def mode_baseline(args: argparse.Namespace) -> dict[str, object]:
    from tracker.embed import DlibEmbedder
    from tracker.gallery.enroll import face_from_photo
    emb = DlibEmbedder()
    names = sorted(p.name for p in PEOPLE.iterdir())
    known = np.stack([face_from_photo(next((PEOPLE / n).iterdir()), emb).descriptors[0] for n in names])
    frames = clip_frames()
    t = time.perf_counter()
    faces = sum(len(baseline.label_frame(f, known, names)) for f in frames)
    dt = time.perf_counter() - t
    return {"fps": len(frames) / dt, "faces_per_frame": faces / len(frames), "peak_mb": rss_mb()}


def mode_offline(args: argparse.Namespace) -> dict[str, object]:
    size = (1280, 720) if args.mode == "offline720" else None
    frames = clip_frames(size)
    with tempfile.TemporaryDirectory() as d:
        eng, gallery = engine(Path(d))
        t = time.perf_counter()
        s = eng.run(MemorySource(frames, 29.97, live=False))
        dt = time.perf_counter() - t
        eng.close()
        gallery.close()
    return {"fps": s.frames / dt, "faces_per_frame": s.faces / s.frames, "peak_mb": rss_mb(),
            "descriptors": s.descriptors, "size": list(frames[0].shape[1::-1])}


def mode_live(args: argparse.Namespace) -> dict[str, object]:
    frames = clip_frames(pad_to=(640, 480))
    with tempfile.TemporaryDirectory() as d:
        eng, gallery = engine(Path(d))
        s = eng.run(MemorySource(frames, 30.0, live=True, repeat=2))
        eng.close()
        gallery.close()
    lat = np.array(s.latencies) * 1000
    half = len(lat) // 2
    return {"processed": s.frames, "offered": 2 * len(frames), "dropped": s.dropped,
            "p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95)),
            "p95_first_half_ms": float(np.percentile(lat[:half], 95)),
            "p95_second_half_ms": float(np.percentile(lat[half:], 95)), "peak_mb": rss_mb()}


def mode_long(args: argparse.Namespace) -> dict[str, object]:
    frames = clip_frames()
    repeat = max(1, args.long // len(frames))
    marks: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        eng, gallery = engine(Path(d))

        def mark(frame: Frame, result: object) -> None:
            if frame.index % 1000 == 0:
                marks.append(current_rss_mb())

        s = eng.run(MemorySource(frames, 29.97, live=False, repeat=repeat), on_result=mark)
        eng.close()
        gallery.close()
    return {"frames": s.frames, "rss_mb_every_1000_frames": [round(m, 1) for m in marks],
            "growth_after_warmup_mb": round(marks[-1] - marks[min(2, len(marks) - 1)], 1)}


MODES = {"baseline": mode_baseline, "offline": mode_offline, "offline720": mode_offline,
         "live": mode_live, "long": mode_long}


def whole_processes(gallery_dir: Path) -> dict[str, float]:
    """Wall time of each pipeline as a user runs it, start-up included: the per-frame script
    (`python -m tracker.eval.baseline`, which enrols its two photos itself) and `facetrack run` on a
    gallery enrolled beforehand (`facetrack enroll --folders`, not timed)."""
    gallery = gallery_dir / "whole.sqlite3"
    env_py = sys.executable
    subprocess.run([env_py, "-m", "tracker", "enroll", "--folders", str(PEOPLE), "--gallery", str(gallery), "-q"],
                   check=True, cwd=ROOT)
    out: dict[str, float] = {}
    for name, cmd in (("baseline", [env_py, "-m", "tracker.eval.baseline", str(CLIP), str(PEOPLE)]),
                      ("facetrack", [env_py, "-m", "tracker", "run", str(CLIP), "--headless", "--gallery", str(gallery),
                                     "--output-json", str(gallery_dir / "out.jsonl"), "--no-progress", "-q"])):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
        out[name] = time.perf_counter() - t
    return out


def child(mode: str, args: argparse.Namespace) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--mode", mode, "--long", str(args.long)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=MODES)
    p.add_argument("--long", type=int, default=0, help="also run this many frames to check memory stays flat")
    args = p.parse_args()
    if args.mode:
        print(json.dumps(MODES[args.mode](args)))
        return

    info = models.build_info()
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}, "
          f"{len(__import__('os').sched_getaffinity(0))} cores; {info.describe()}")
    base = child("baseline", args)
    ours = child("offline", args)
    print("\noffline, demo clip 640x360, 275 frames")
    print(f"  baseline (HOG up1 + descriptor every frame): {base['fps']:6.1f} fps  "
          f"{base['faces_per_frame']:.2f} faces/frame  peak {base['peak_mb']:.0f} MB")
    print(f"  facetrack:                                   {ours['fps']:6.1f} fps  "
          f"{ours['faces_per_frame']:.2f} faces/frame  peak {ours['peak_mb']:.0f} MB  "
          f"({ours['descriptors']} descriptors)")
    print(f"  speed-up: {ours['fps'] / base['fps']:.1f}x   recall ratio: "
          f"{ours['faces_per_frame'] / max(base['faces_per_frame'], 1e-9):.2f}")
    with tempfile.TemporaryDirectory() as d:
        whole = whole_processes(Path(d))
    print(f"  whole process, start-up included: baseline {whole['baseline']:.2f} s, facetrack run "
          f"{whole['facetrack']:.2f} s: {whole['baseline'] / whole['facetrack']:.1f}x")
    hd = child("offline720", args)
    print(f"\noffline, demo clip upscaled to 1280x720: {hd['fps']:.1f} fps "
          f"({hd['faces_per_frame']:.2f} faces/frame; {hd['fps'] / 29.97:.2f}x real time)")
    live = child("live", args)
    print(f"\nlive replay at 30 fps, 640x480, {live['offered']} frames offered: {live['processed']} processed, "
          f"{live['dropped']} dropped")
    print(f"  capture-to-result latency p50 {live['p50_ms']:.1f} ms, p95 {live['p95_ms']:.1f} ms "
          f"(first half p95 {live['p95_first_half_ms']:.1f}, second half {live['p95_second_half_ms']:.1f}: "
          f"{'no growing lag' if live['p95_second_half_ms'] < 1.5 * live['p95_first_half_ms'] + 10 else 'LAG GROWS'})")
    if args.long:
        long = child("long", args)
        print(f"\nmemory over {long['frames']} frames (RSS MB every 1000): {long['rss_mb_every_1000_frames']}")
        print(f"  growth after warm-up: {long['growth_after_warmup_mb']} MB")


if __name__ == "__main__":
    main()
