"""Fit and check the mapping from CenterFace's boxes to dlib HOG's box convention.

dlib's 5-point landmark predictor (and so its 128-D descriptor) was trained on HOG's boxes:
given another detector's box as it comes, it places the landmarks a little off, and the
descriptor moves away from the one the same face gets through HOG (galleries enrolled with HOG
would then match less well). This script pairs faces that both detectors find (IoU >= 0.4) on
real footage (the demo clip, the CC BY montage, the portraits), fits the mapping (side, centre
offsets: medians of the ratios), and prints, per way of aligning, the descriptor distance to the
HOG pipeline's descriptor of the same face:

    .venv/bin/python scripts/fit_alignment.py            # every 3rd frame; about 4 minutes

The figures are in README.md ("CenterFace and dlib's alignment"); the constants are
tracker/detect/centerface.py's ALIGN_*.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.detect import CenterFaceDetector, HogDetector  # noqa: E402
from tracker.detect import centerface as cf  # noqa: E402
from tracker.embed import DlibEmbedder  # noqa: E402
from tracker.eval import baseline, metrics  # noqa: E402
from tracker.sources.images import load_image  # noqa: E402

CLIPS = [ROOT / "assets" / "demo" / "short_hamilton_clip.mp4",
         ROOT / "tests" / "data" / "ccby" / "shotchange_ccby_montage.mp4"]
PHOTOS = [*sorted((ROOT / "tests" / "data" / "faces").glob("*.jpg")),
          *sorted((ROOT / "assets" / "people").glob("*/*.png"))]


def pictures(step: int):  # type: ignore[no-untyped-def]
    for clip in CLIPS:
        for i, frame in enumerate(baseline.frames(str(clip))):
            if i % step == 0:
                yield frame
    for photo in PHOTOS:
        yield load_image(photo)


def pairs(step: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, list[int]]:
    """Faces both detectors find (HOG box 40 px and up): the pictures, HOG's boxes, CenterFace's
    boxes, and for each face the index of its picture."""
    hog, centre = HogDetector(upsample=1), CenterFaceDetector()
    images: list[np.ndarray] = []
    hogs, cfs, owner = [], [], []
    for image in pictures(step):
        h, c = hog.detect(image), centre.detect(image)
        if not len(h) or not len(c):
            continue
        for i, j, _ in metrics.assign_boxes(h.boxes, c.boxes, 0.4):
            if h.boxes[i, 2] - h.boxes[i, 0] >= 40:
                hogs.append(h.boxes[i])
                cfs.append(c.boxes[j])
                owner.append(len(images))
        images.append(image)
    return images, np.array(hogs), np.array(cfs), owner


def fit(hogs: np.ndarray, cfs: np.ndarray) -> tuple[float, float, float]:
    ch = cfs[:, 3] - cfs[:, 1]
    side = np.median((hogs[:, 2] - hogs[:, 0]) / ch)
    dx = np.median(((hogs[:, 0] + hogs[:, 2]) - (cfs[:, 0] + cfs[:, 2])) / 2 / ch)
    dy = np.median(((hogs[:, 1] + hogs[:, 3]) - (cfs[:, 1] + cfs[:, 3])) / 2 / ch)
    return float(side), float(dx), float(dy)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--step", type=int, default=3, help="every STEP-th frame of each clip")
    args = p.parse_args()
    images, hogs, cfs, owner = pairs(args.step)
    side, dx, dy = fit(hogs, cfs)
    print(f"{len(hogs)} faces found by both (HOG >= 40 px) in {len(images)} pictures")
    print(f"fitted: side {side:.3f} x CenterFace height, centre {dx:+.3f} / {dy:+.3f} x height (x / y)")
    print(f"shipped: side {cf.ALIGN_SIDE} , centre {cf.ALIGN_DX:+.3f} / {cf.ALIGN_DY:+.3f}")
    emb = DlibEmbedder()

    def described(boxes: np.ndarray) -> np.ndarray:
        out = []
        for k, box in enumerate(boxes):
            out.append(emb.describe(emb.align(images[owner[k]], box[None]))[0])
        return np.array(out)

    reference = described(hogs)

    def mapped(s: float, x: float, y: float) -> np.ndarray:
        ch = cfs[:, 3] - cfs[:, 1]
        cx = (cfs[:, 0] + cfs[:, 2]) / 2 + x * ch
        cy = (cfs[:, 1] + cfs[:, 3]) / 2 + y * ch
        return np.stack([cx - s * ch / 2, cy - s * ch / 2, cx + s * ch / 2, cy + s * ch / 2], 1)

    ways = {"CenterFace box as it comes": cfs, f"fitted now ({side:.3f}, {dx:+.3f}, {dy:+.3f})": mapped(side, dx, dy),
            "shipped (ALIGN_*)": cf.to_alignment_boxes(cfs)}
    print("descriptor distance to the HOG pipeline's, same face: median / p90 / max")
    for name, boxes in ways.items():
        d = np.linalg.norm(described(boxes) - reference, axis=1)
        print(f"  {name:40s} {np.median(d):.3f} / {np.percentile(d, 90):.3f} / {d.max():.3f}")


if __name__ == "__main__":
    main()
