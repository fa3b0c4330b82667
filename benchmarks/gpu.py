"""What a GPU gives facetrack, against the CPU, in one run (scripts/gpu_check.sh builds dlib with
CUDA first): dlib's CNN detector batched over frames, descriptors batched, CenterFace on
onnxruntime's CUDA provider where it is installed, and the whole engine on the demo clip.

    python benchmarks/gpu.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker import models  # noqa: E402
from tracker.config import Config  # noqa: E402
from tracker.detect import CenterFaceDetector, CnnDetector, HogDetector  # noqa: E402
from tracker.embed import DlibEmbedder  # noqa: E402
from tracker.eval import baseline  # noqa: E402

CLIP = ROOT / "assets" / "demo" / "short_hamilton_clip.mp4"


def rate(fn, items: int, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up: CUDA contexts, cuDNN autotuning
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return items * repeat / (time.perf_counter() - t)


def main() -> None:
    info = models.build_info()
    print(f"dlib: {info.describe()}")
    frames = [f for i, f in enumerate(baseline.frames(str(CLIP))) if i < 64]
    cpu = CenterFaceDetector(backend="opencv")
    gpu = CenterFaceDetector(backend="onnxruntime")  # CUDA where onnxruntime-gpu and a GPU are
    for det in (cpu, gpu):
        fps = rate(lambda d=det: d.detect_batch(frames), len(frames))  # type: ignore[misc]
        print(f"CenterFace on {getattr(det.backend(), 'name', '?')}: {fps:.1f} frames/s")
    hog = HogDetector(upsample=1)
    print(f"HOG upsample 1: {rate(lambda: hog.detect_batch(frames[:16]), 16, 1):.1f} frames/s")
    if info.cuda:
        cnn = CnnDetector(upsample=0, batch_size=32)
        print(f"dlib CNN, batches of 32: {rate(lambda: cnn.detect_batch(frames), len(frames)):.1f} frames/s")
    emb = DlibEmbedder()
    boxes = CenterFaceDetector().alignment_boxes(cpu.detect(frames[0]).boxes[:1])
    chips = np.repeat(emb.align(frames[0], boxes), 64, axis=0)
    print(f"descriptors, {'batches of 64 (CUDA)' if info.cuda else 'one per call (CPU)'}: "
          f"{rate(lambda: emb.describe(chips), len(chips), 2):.1f} descriptors/s")

    from tracker.engine.pipeline import Engine
    from tracker.gallery.gallery import Gallery
    from tracker.sources import source_for

    with tempfile.TemporaryDirectory() as d:
        cfg = Config(gallery=Path(d) / "g.sqlite3", detector="cnn" if info.cuda else "centerface",
                     embed_batch=16 if info.cuda else 1, embed_max_delay=8 if info.cuda else 0)
        with Gallery(cfg.gallery) as g, Engine(cfg, g) as eng:
            t = time.perf_counter()
            s = eng.run(source_for(str(CLIP), cfg))
            print(f"engine, demo clip, --detector {cfg.detector}: {s.frames / (time.perf_counter() - t):.1f} frames/s "
                  f"({s.descriptors} descriptors)")


if __name__ == "__main__":
    main()
