"""`analyze` of several recordings: on this machine alone, and on a local Ray instance.

    python benchmarks/analyze_ray.py                   # 4 recordings of ~51 s, Ray with 2 workers
    python benchmarks/analyze_ray.py --files 8 --loops 4 --cpus 2

Each recording is the CC BY montage (640x480, 30 fps, several people) looped `--loops` times.
Both runs are the real CLI (`facetrack analyze`, then `facetrack analyze --ray --ray-cpus N`) on
the same inputs with the same gallery; the script prints the wall time of each, the speed-up,
and whether the two reports (people, appearances) and per-frame labels are identical. Ray's
start (a local instance: a few seconds) is inside its time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tracker, and tests.helpers

from tests.helpers.rtsp import h264_clip  # noqa: E402

MONTAGE = ROOT / "tests" / "data" / "ccby" / "shotchange_ccby_montage.mp4"


def analyze(files: list[Path], out: Path, gallery: Path, *extra: str) -> float:
    cmd = [sys.executable, "-m", "tracker", "analyze", *map(str, files), "--out", str(out), "--gallery",
           str(gallery), "--output-json", str(out / "labels.jsonl"), "--no-progress", "-q", *extra]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--loops", type=int, default=2, help="montage loops per recording (25.7 s each)")
    ap.add_argument("--cpus", type=int, default=2, help="Ray workers (CPUs of the local instance)")
    args = ap.parse_args()
    try:
        import ray  # noqa: F401
    except ImportError:
        print("cannot run: Ray is not installed (pip install 'facetrack[ray]')")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clip = h264_clip(MONTAGE, work / "clip.mp4", loops=args.loops)
        files = []
        for i in range(args.files):  # distinct paths: each is its own recording in the report
            f = work / f"recording{i + 1}.mp4"
            f.symlink_to(clip)
            files.append(f)
        gallery = work / "g.sqlite3"
        local = analyze(files, work / "local", gallery)
        ray_s = analyze(files, work / "ray", gallery, "--ray", "--ray-cpus", str(args.cpus))
        same_report = (work / "local" / "report.json").read_text() == (work / "ray" / "report.json").read_text()
        same_labels = (work / "local" / "labels.jsonl").read_text() == (work / "ray" / "labels.jsonl").read_text()
        seconds = args.files * args.loops * 25.7
        print(f"{args.files} recordings x {args.loops * 25.7:.0f} s (640x480, 30 fps): {seconds:.0f} s of video")
        print(f"  this machine alone       {local:6.1f} s  ({seconds / local:.2f}x real time)")
        print(f"  local Ray, {args.cpus} workers     {ray_s:6.1f} s  ({seconds / ray_s:.2f}x real time), "
              f"speed-up {local / ray_s:.2f}x")
        print(f"  identical report.json: {same_report}; identical labels: {same_labels}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
