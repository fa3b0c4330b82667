"""Look-alike clips with known ground truth, composited from real faces (issue 20).

The closest different-person pairs of the CC BY montage (tests/data/ccby, by the median distance
of their faces' descriptors: hiker_red_cap / hiker_sunglasses_man 0.555, hiker_sunglasses_man /
intel_bald_man 0.568, intel_dark_hair / reception_white_dress 0.599; one person's own faces are
0.29-0.52 apart) are cut out of the montage, face by face, and pasted into new clips where they
appear apart and together, in scenes split by cuts:

    A alone | B alone, where A was | A and B side by side | A alone | B alone | A, B and C

(C, a third person, only in the clip of three). Every pasted face is written to a labels file
in the montage's format, so `benchmarks/identity.py --lookalikes` measures coverage,
fragmentation, purity and names on them, live and offline, exactly as on the montage.

    python benchmarks/lookalikes.py OUT_DIR      # writes the clips and their labels
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MONTAGE = ROOT / "tests" / "data" / "ccby" / "shotchange_ccby_montage.mp4"
LABELS = ROOT / "tests" / "data" / "ccby" / "montage_labels.json"

CLIPS = {  # name -> the look-alikes, closest pair first
    "redcap_sunglasses": ("hiker_red_cap", "hiker_sunglasses_man"),
    "sunglasses_bald": ("hiker_sunglasses_man", "intel_bald_man"),
    "darkhair_whitedress": ("intel_dark_hair", "reception_white_dress"),
    "chain_of_three": ("hiker_red_cap", "hiker_sunglasses_man", "intel_bald_man"),
}
SIZE = (640, 360)
TILE = 128  # a pasted face's square, in pixels (the face itself ~70 px wide)
HOLD = 4  # frames each source face is shown before the next one of that person
SCENE = 48  # frames per scene
FPS = 12.0


def _faces(person: str, labels: list[dict[str, Any]], cap: cv2.VideoCapture) -> list[tuple[np.ndarray, list[float]]]:
    """Every labelled face of `person`: a square crop around it (TILE px) and its box in the crop."""
    out = []
    for f in sorted((x for x in labels if x["person"] == person), key=lambda x: x["frame"]):
        cap.set(cv2.CAP_PROP_POS_FRAMES, f["frame"])
        ok, img = cap.read()
        if not ok:
            continue
        left, top, right, bottom = f["box"]
        cx, cy, half = (left + right) / 2, (top + bottom) / 2, max(right - left, bottom - top) * 0.9
        pad = 300
        big = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0 = int(round(cx - half)), int(round(cy - half))
        side = int(round(2 * half))
        crop = cv2.resize(big[y0 + pad:y0 + pad + side, x0 + pad:x0 + pad + side], (TILE, TILE),
                          interpolation=cv2.INTER_CUBIC)
        k = TILE / side
        out.append((crop, [(left - x0) * k, (top - y0) * k, (right - x0) * k, (bottom - y0) * k]))
    return out


def _background(scene: int) -> np.ndarray:
    """A different plain backdrop per scene (so each scene change is a cut), with some texture."""
    rng = np.random.default_rng(scene)
    colour = rng.integers(40, 200, size=3)
    bg = np.empty((SIZE[1], SIZE[0], 3), np.uint8)
    bg[:] = colour
    noise = rng.normal(0, 6, size=bg.shape)
    return np.clip(bg + noise, 0, 255).astype(np.uint8)


def _feather(tile: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """The tile over the backdrop with a soft edge (a hard square edge reads as a frame)."""
    h, w = tile.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    edge = np.minimum(np.minimum(xx, w - 1 - xx), np.minimum(yy, h - 1 - yy)).astype(np.float32)
    alpha = np.clip(edge / 12.0, 0.0, 1.0)[..., None]
    return (tile * alpha + bg * (1 - alpha)).astype(np.uint8)


def make_clip(people: Sequence[str], video: Path, labels_out: Path) -> dict[str, Any]:
    """Write the clip of these look-alikes (see the module note) and its labels; returns the labels."""
    data = json.loads(LABELS.read_text(encoding="utf-8"))
    cap = cv2.VideoCapture(str(MONTAGE))
    faces = {p: _faces(p, data["faces"], cap) for p in people}
    cap.release()
    a, b = people[0], people[1]
    scenes: list[list[str]] = [[a], [b], [a, b], [a], [b]]
    if len(people) > 2:
        scenes.append(list(people))
    slots = {1: [(256, 110)], 2: [(130, 110), (380, 110)], 3: [(60, 110), (256, 110), (452, 110)]}
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), FPS, SIZE)
    labels: list[dict[str, Any]] = []
    shown = {p: 0 for p in people}
    frame = 0
    starts = []
    for s, who in enumerate(scenes):
        starts.append(frame)
        bg = _background(s)
        # In the scene after a person's first, they come back where the other stood: only the
        # face tells them apart.
        places = slots[len(who)]
        for t in range(SCENE):
            img = bg.copy()
            for person, (x, y) in zip(who, places):
                seq = faces[person]
                tile, box = seq[(shown[person] + t // HOLD) % len(seq)]
                dx = int(round(8 * np.sin(t / 9.0)))  # a little movement, as a seated person has
                x0, y0 = x + dx, y
                img[y0:y0 + TILE, x0:x0 + TILE] = _feather(tile, img[y0:y0 + TILE, x0:x0 + TILE])
                labels.append({"frame": frame, "shot": s, "person": person,
                               "box": [round(box[0] + x0, 1), round(box[1] + y0, 1), round(box[2] + x0, 1),
                                       round(box[3] + y0, 1)]})
            writer.write(img)
            frame += 1
        for person in who:
            shown[person] += SCENE // HOLD
    writer.release()
    out = {"video": video.name, "shot_starts": starts,
           "made_by": "benchmarks/lookalikes.py: montage faces composited; persons as labelled there",
           "faces": labels}
    labels_out.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return out


def make_all(folder: Path) -> list[tuple[str, Path, Path]]:
    """Every look-alike clip into `folder` (made once; kept while the montage is unchanged)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, people in CLIPS.items():
        video, labels = folder / f"{name}.mp4", folder / f"{name}_labels.json"
        if not (video.exists() and labels.exists() and video.stat().st_mtime >= MONTAGE.stat().st_mtime
                and video.stat().st_mtime >= Path(__file__).stat().st_mtime):
            make_clip(people, video, labels)
        out.append((name, video, labels))
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    for name, video, labels in make_all(Path(sys.argv[1])):
        print(f"{name}: {video} ({len(json.loads(labels.read_text())['faces'])} labelled faces)")
