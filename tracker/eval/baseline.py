"""The comparison point: face_recognition's per-frame pipeline with the same dlib models.

Every frame: HOG with upsample 1, 5-point landmarks, a descriptor per face, and the nearest
known face within the threshold. No tracking, no memory between frames.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
from numpy.typing import NDArray

from ..detect import HogDetector
from ..embed import DlibEmbedder
from ..identity.policy import pairwise_distances


def frames(path: str) -> Iterator[NDArray[np.uint8]]:
    cap = cv2.VideoCapture(path)
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                return
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def label_frame(image: NDArray[np.uint8], known: NDArray[np.float32], names: list[str],
                threshold: float = 0.6) -> list[tuple[NDArray[np.float64], str | None]]:
    boxes = HogDetector(upsample=1).detect(image).boxes
    emb = DlibEmbedder()
    descriptors = emb.describe(emb.align(image, boxes))
    out: list[tuple[NDArray[np.float64], str | None]] = []
    for box, d in zip(boxes, descriptors):
        name = None
        if len(known):
            dist = pairwise_distances(d[None], known)[0]
            i = int(np.argmin(dist))
            name = names[i] if dist[i] <= threshold else None
        out.append((box, name))
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m tracker.eval.baseline CLIP PEOPLE_DIR`: the whole per-frame process, for timing it
    against `facetrack run` (benchmarks/bench.py); prints frames, faces and named faces."""
    import argparse
    from pathlib import Path

    from ..gallery.enroll import face_from_photo

    p = argparse.ArgumentParser(prog="python -m tracker.eval.baseline", description=main.__doc__)
    p.add_argument("clip")
    p.add_argument("people", type=Path, help="one folder of photos per person")
    args = p.parse_args(argv)
    emb = DlibEmbedder()
    names = sorted(d.name for d in args.people.iterdir() if d.is_dir())
    # face_recognition's examples enrol with HOG too: the baseline is HOG from end to end.
    known = np.stack([face_from_photo(next((args.people / n).iterdir()), emb, HogDetector(upsample=1)).descriptors[0]
                      for n in names])
    frames = faces = named = 0
    for image in frames_of(args.clip):
        labels = label_frame(image, known, names)
        frames += 1
        faces += len(labels)
        named += sum(name is not None for _, name in labels)
    print(f"{frames} frames, {faces} faces, {named} named")
    return 0


frames_of = frames  # `frames` is a counter inside main


if __name__ == "__main__":
    raise SystemExit(main())
