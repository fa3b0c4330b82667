"""Face detectors side by side on real footage: labelled faces found, extra boxes, time per frame.

    .venv/bin/python benchmarks/detect.py                    # every registered detector
    .venv/bin/python benchmarks/detect.py --detectors centerface hog

- CC BY montage (tests/data/ccby/): every hand-labelled face (montage_labels.json: every 6th
  frame of each shot) is matched to a box of the same frame (Hungarian, IoU >= 0.3, as
  benchmarks/identity.py does); "extra" are boxes on those frames that match no labelled face
  (unlabelled background people, faces too blurred to name, and false boxes).
- Demo clip: frames with at least one box, boxes per frame (no labels), time per frame.
- HOG at upsample 0 and 1, CenterFace at the shipped 640 px on onnxruntime (needs the onnx extra)
  and on OpenCV's DNN; dlib's CNN only with --cnn (seconds a frame on a CPU). Times are one full
  pass per frame on this machine, median of the frames.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.config import Config  # noqa: E402
from tracker.detect import Detector, make_detector  # noqa: E402
from tracker.eval import baseline, metrics  # noqa: E402

MONTAGE = ROOT / "tests" / "data" / "ccby" / "shotchange_ccby_montage.mp4"
LABELS = ROOT / "tests" / "data" / "ccby" / "montage_labels.json"
CLIP = ROOT / "assets" / "demo" / "short_hamilton_clip.mp4"


def timed(detector: Detector, image: np.ndarray) -> tuple[np.ndarray, float]:
    t = time.perf_counter()
    boxes = detector.detect(image).boxes
    return boxes, (time.perf_counter() - t) * 1000


def on_montage(detector: Detector) -> dict[str, float]:
    data = json.loads(LABELS.read_text())
    by_frame: dict[int, list[list[float]]] = {}
    for face in data["faces"]:
        by_frame.setdefault(int(face["frame"]), []).append(face["box"])
    found = extra = labelled = 0
    small_found = small = 0
    times = []
    for i, image in enumerate(baseline.frames(str(MONTAGE))):
        if i not in by_frame:
            continue
        boxes, ms = timed(detector, image)
        times.append(ms)
        labels = np.asarray(by_frame[i], np.float64)
        pairs = metrics.assign_boxes(labels, boxes)
        hit = {a for a, _, _ in pairs}
        found += len(pairs)
        labelled += len(labels)
        extra += len(boxes) - len(pairs)
        tiny = (labels[:, 2] - labels[:, 0]) < 40
        small += int(tiny.sum())
        small_found += sum(1 for k in np.flatnonzero(tiny) if k in hit)
    return {"labelled": labelled, "found": found, "extra": extra, "small": small, "small_found": small_found,
            "ms": float(np.median(times))}


def on_clip(detector: Detector) -> dict[str, float]:
    frames = with_face = boxes_total = 0
    times = []
    for image in baseline.frames(str(CLIP)):
        boxes, ms = timed(detector, image)
        times.append(ms)
        frames += 1
        with_face += len(boxes) > 0
        boxes_total += len(boxes)
    return {"frames": frames, "with_face": with_face, "boxes_per_frame": boxes_total / frames,
            "ms": float(np.median(times))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cnn", action="store_true", help="also dlib's CNN detector (slow without CUDA)")
    args = p.parse_args()
    setups = [("centerface 640 px", Config(detector="centerface", detect_backend="onnxruntime")),
              ("  ... on OpenCV's DNN", Config(detector="centerface", detect_backend="opencv")),
              ("hog upsample 0", Config(detector="hog", upsample=0)),
              ("hog upsample 1", Config(detector="hog", upsample=1))]
    if args.cnn:
        setups.append(("dlib cnn upsample 0", Config(detector="cnn", upsample=0)))
    print(f"machine: {platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores")
    labels = json.loads(LABELS.read_text())
    print(f"montage labels: {labels.get('made_by', '?')}")
    print(f"{'detector':22s} {'montage: labelled found':>24s} {'< 40 px found':>14s} {'extra':>6s} {'ms/frame':>9s}"
          f" | {'demo: frames with a face':>25s} {'boxes/frame':>11s} {'ms/frame':>9s}")
    for name, cfg in setups:
        det = make_detector(cfg)
        det.detect(np.zeros((64, 64, 3), np.uint8))  # the model loads outside the timings
        m, c = on_montage(det), on_clip(det)
        print(f"{name:22s} {m['found']:>10d} of {m['labelled']:<3d} ({m['found'] / m['labelled']:5.1%}) "
              f"{m['small_found']:>5d} of {m['small']:<4d} {m['extra']:>6d} {m['ms']:>9.1f} | "
              f"{c['with_face']:>16d} of {c['frames']:<4d} {c['boxes_per_frame']:>11.2f} {c['ms']:>9.1f}")


if __name__ == "__main__":
    main()
