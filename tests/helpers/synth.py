"""Synthetic clips composited from real faces, so the ground truth is known.

A face patch (the face with its hair and some background, feathered at the edges) is cut
from a real photo and pasted onto a textured background along a scripted path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from tests.helpers.paths import ROOT
from tracker import geometry
from tracker.detect import HogDetector
from tracker.sources.images import load_image

FACES = ROOT / "tests" / "data" / "faces"
PEOPLE = ROOT / "assets" / "people"


@dataclass(frozen=True)
class Patch:
    image: NDArray[np.uint8]
    alpha: NDArray[np.float32]
    face: NDArray[np.float64]  # face box inside the patch


def face_patch(path: Path, face_px: int) -> Patch:
    img = load_image(path)
    dets = HogDetector(upsample=1).detect(img)
    box = dets.boxes[np.argmax(geometry.area(dets.boxes))]
    # Always INTER_AREA here, as this clip was first built with.
    return image_patch(img, box, face_px, interpolation=cv2.INTER_AREA)


def background(width: int, height: int, seed: int) -> NDArray[np.uint8]:
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 200, size=(height // 16 + 1, width // 16 + 1, 3), dtype=np.uint8)
    return np.ascontiguousarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC))


def paste(frame: NDArray[np.uint8], patch: Patch, cx: float, cy: float) -> NDArray[np.float64] | None:
    """Paste with the face centred at (cx, cy); returns the visible face box, or None."""
    h, w = patch.image.shape[:2]
    fx = (patch.face[0] + patch.face[2]) / 2
    fy = (patch.face[1] + patch.face[3]) / 2
    x0, y0 = int(round(cx - fx)), int(round(cy - fy))
    H, W = frame.shape[:2]
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    dx1, dy1 = min(W, x0 + w), min(H, y0 + h)
    if dx1 <= dx0 or dy1 <= dy0:
        return None
    region = frame[dy0:dy1, dx0:dx1].astype(np.float32)
    src = patch.image[sy0:sy0 + dy1 - dy0, sx0:sx0 + dx1 - dx0].astype(np.float32)
    a = patch.alpha[sy0:sy0 + dy1 - dy0, sx0:sx0 + dx1 - dx0, None]
    frame[dy0:dy1, dx0:dx1] = (a * src + (1 - a) * region).astype(np.uint8)
    face = patch.face + np.array([x0, y0, x0, y0])
    visible = geometry.clip_boxes(face[None], W, H)[0]
    # A face less than 60% in frame is not ground truth anyone should be held to.
    if geometry.area(visible[None])[0] < 0.6 * geometry.area(face[None])[0]:
        return None
    return visible


def _coverage(face: NDArray[np.float64], cover: NDArray[np.float64]) -> float:
    inter = geometry.area(np.array([[max(face[0], cover[0]), max(face[1], cover[1]),
                                     min(face[2], cover[2]), min(face[3], cover[3])]]))[0]
    return float(inter / max(geometry.area(face[None])[0], 1e-9))


@dataclass(frozen=True)
class Clip:
    frames: list[NDArray[np.uint8]]
    truth: list[dict[str, NDArray[np.float64]]]  # per frame: person -> face box
    fps: float = 30.0

    def write(self, path: Path) -> Path:
        h, w = self.frames[0].shape[:2]
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), self.fps, (w, h))
        for f in self.frames:
            writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        writer.release()
        return path


def crossing_clip(n: int = 150, width: int = 640, height: int = 360, face_px: int = 96) -> Clip:
    """Obama walks right, Biden walks left; they cross; Obama leaves and comes back."""
    obama = face_patch(FACES / "obama_2.jpg", face_px)
    biden = face_patch(FACES / "biden_2.jpg", face_px)
    bg = background(width, height, seed=7)
    frames, truth = [], []
    for i in range(n):
        # Biden: right to left across the whole clip, a little lower.
        bx = width - 90 - (width - 180) * i / (n - 1)
        # Obama: left to right and out (frames 0-75), away, then back in from the right (100+).
        if i <= 75:
            ox: float | None = 90 + (width + 60 - 90) * i / 75
        elif i >= 100:
            ox = width + 40 - (width * 0.45) * (i - 100) / (n - 100)
        else:
            ox = None
        order = [("Joe Biden", biden, bx, height * 0.58)]
        if ox is not None:
            order.insert(0, ("Barack Obama", obama, ox, height * 0.40))
        frame, gt = _compose(bg, order)
        frames.append(frame)
        truth.append(gt)
    return Clip(frames, truth)


@dataclass(frozen=True)
class Score:
    frames_labelled: dict[str, int]  # per true person: frames where their face carries their name
    frames_visible: dict[str, int]
    wrong: int  # faces labelled as someone they are not
    id_switches: dict[str, int]  # track id changes while the person stays in view
    people_seen: set[str]  # every name the tracker gave


def score(clip: Clip, results: list[list[dict]], name_map: dict[str, str] | None = None) -> Score:
    """Compare JSONL-style face lists to the truth. `name_map`: tracker name -> true name (for
    automatic identities, fixed by the first match)."""
    from scipy.optimize import linear_sum_assignment

    mapping = dict(name_map or {})
    labelled = {p: 0 for t in clip.truth for p in t}
    visible = {p: 0 for t in clip.truth for p in t}
    last_track: dict[str, tuple[int, int]] = {}
    switches = {p: 0 for p in labelled}
    wrong = 0
    seen: set[str] = set()
    for i, (truth, faces) in enumerate(zip(clip.truth, results)):
        names = list(truth)
        for p in names:
            visible[p] += 1
        seen |= {f["person"] for f in faces if f["person"] is not None}
        if not names or not faces:
            continue
        iou = geometry.iou_matrix(np.array([truth[p] for p in names]), np.array([f["box"] for f in faces]))
        rows, cols = linear_sum_assignment(-iou)
        for r, c in zip(rows, cols):
            if iou[r, c] < 0.3:
                continue
            true, face = names[r], faces[c]
            if face["person"] is not None:
                mapping.setdefault(face["person"], true)
                if mapping[face["person"]] == true:
                    labelled[true] += 1
                else:
                    wrong += 1
            prev = last_track.get(true)
            if prev is not None and prev[0] != face["track"] and prev[1] == i - 1:
                switches[true] += 1
            last_track[true] = (face["track"], i)
    return Score(labelled, visible, wrong, switches, seen)


# --- Look-alikes: two different real people whose dlib descriptors are close -----------------

CCBY = ROOT / "tests" / "data" / "ccby"
MONTAGE = CCBY / "shotchange_ccby_montage.mp4"  # CC BY: credits in tests/data/ccby/SOURCES.md
MONTAGE_LABELS = CCBY / "montage_labels.json"

# Two women with long dark hair from different source clips of the montage. Measured with
# DlibEmbedder on the labelled montage boxes (faces 65-79 px): 0.51 between the two frames
# below, 0.51-0.71 (median 0.61) over all 26 x 19 pairs of their faces >= 60 px; within each
# person at most 0.56 (A) and 0.44 (B). Under the default match threshold (0.6), so an
# automatic identity could lump them together.
LOOKALIKE_A = ("intel_dark_hair", 169)  # walking-and-pause clip (Intel, CC BY 4.0)
LOOKALIKE_B = ("reception_white_dress", 20)  # conference reception (Aaron Tang, CC BY 2.0)
# Other frames of the same two people, for enrolment (not used in lookalike_clip).
LOOKALIKE_ENROLL = {"intel_dark_hair": 127, "reception_white_dress": 74}


def montage_frames(indices: set[int] | list[int]) -> dict[int, NDArray[np.uint8]]:
    """RGB frames of the CC BY montage, read in order (seeking in an MP4 is not exact)."""
    want, out = set(indices), {}
    cap = cv2.VideoCapture(str(MONTAGE))
    try:
        i = 0
        while want - set(out):
            ok, bgr = cap.read()
            if not ok:
                raise ValueError(f"montage has no frame(s) {sorted(want - set(out))}")
            if i in want:
                out[i] = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            i += 1
    finally:
        cap.release()
    return out


def montage_box(person: str, frame: int) -> NDArray[np.float64]:
    """The hand-labelled face of `person` in montage frame `frame`, as a HOG-shaped box (square,
    brow to chin: what the compositing here sizes faces by). The labels are CenterFace's boxes."""
    import json

    from tracker.detect.centerface import to_alignment_boxes

    faces = json.loads(MONTAGE_LABELS.read_text())["faces"]
    for f in faces:
        if f["person"] == person and f["frame"] == frame:
            return to_alignment_boxes(np.asarray(f["box"], dtype=np.float64))[0]
    raise KeyError(f"no label for {person!r} in montage frame {frame}")


def image_patch(img: NDArray[np.uint8], box: NDArray[np.float64], face_px: int,
                interpolation: int | None = None) -> Patch:
    """The face at `box` in an RGB image, scaled to `face_px` wide, with a feathered alpha.

    interpolation: INTER_AREA when shrinking and INTER_CUBIC when enlarging, unless given.
    """
    box = np.asarray(box, dtype=np.float64)
    grown = geometry.expand_boxes(box[None], 1.9)
    crop = np.round(geometry.clip_boxes(grown, img.shape[1], img.shape[0])[0]).astype(int)
    x0, y0, x1, y1 = crop
    factor = face_px / (box[2] - box[0])
    if interpolation is None:
        interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    patch = cv2.resize(img[y0:y1, x0:x1], None, fx=factor, fy=factor, interpolation=interpolation)
    h, w = patch.shape[:2]
    alpha = np.ones((h, w), np.float32)
    edge = max(3, int(0.12 * min(h, w)))
    ramp = np.linspace(0, 1, edge, dtype=np.float32)
    alpha[:edge] *= ramp[:, None]
    alpha[-edge:] *= ramp[::-1, None]
    alpha[:, :edge] *= ramp[None, :]
    alpha[:, -edge:] *= ramp[None, ::-1]
    face = (box - [x0, y0, x0, y0]) * factor
    return Patch(np.ascontiguousarray(patch), alpha, face)


def montage_crop(person: str, frame: int, grow: float = 2.5) -> NDArray[np.uint8]:
    """An RGB photo of one labelled montage face with some context (for enrolment)."""
    img = montage_frames([frame])[frame]
    box = montage_box(person, frame)
    grown = geometry.clip_boxes(geometry.expand_boxes(box[None], grow), img.shape[1], img.shape[0])[0]
    x0, y0, x1, y1 = np.round(grown).astype(int)
    return np.ascontiguousarray(img[y0:y1, x0:x1])


def _compose(bg: NDArray[np.uint8],
             people: list[tuple[str, Patch, float, float]]) -> tuple[NDArray[np.uint8], dict[str, NDArray[np.float64]]]:
    """Paste (name, patch, cx, cy) in order; truth leaves out faces off-frame or hidden by a later patch."""
    frame = bg.copy()
    pasted: list[tuple[str, NDArray[np.float64] | None, NDArray[np.float64]]] = []
    for name, patch, x, y in people:
        box = paste(frame, patch, x, y)
        h, w = patch.image.shape[:2]
        cx = x - (patch.face[0] + patch.face[2]) / 2
        cy = y - (patch.face[1] + patch.face[3]) / 2
        pasted.append((name, box, np.array([cx, cy, cx + w, cy + h])))
    gt: dict[str, NDArray[np.float64]] = {}
    for k, (name, box, _) in enumerate(pasted):
        if box is None:
            continue
        covered = max((_coverage(box, later) for _, _, later in pasted[k + 1:]), default=0.0)
        if covered < 0.3:
            gt[name] = box
    return frame, gt


# Per shot of lookalike_clip, a colour cast of the background: each cut changes the colours (as
# real cuts do), which is what tracker.track.shots detects.
SHOT_TINTS = ((1.0, 1.0, 1.0), (0.45, 0.7, 1.3), (1.3, 0.8, 0.45), (0.6, 1.25, 0.6))


def tinted_background(width: int, height: int, seed: int, tint: tuple[float, float, float]) -> NDArray[np.uint8]:
    bg = background(width, height, seed).astype(np.float32) * np.asarray(tint, np.float32)
    return np.ascontiguousarray(np.clip(bg, 0, 255).astype(np.uint8))


def lookalike_clip(width: int = 640, height: int = 360, face_px: int = 80,
                   shot: int = 45, colour_cuts: bool = True) -> Clip:
    """Two real look-alikes (LOOKALIKE_A, LOOKALIKE_B), in four shots of `shot` frames each:

    1. both walk in from opposite sides and cross (seen together: different people);
    2. a cut to another background: only A, drifting;
    3. a cut: only B, drifting;
    4. a cut: both again, side by side, B now on the left.
    Truth names are the montage label names. Each shot has its own background; with
    `colour_cuts=False` all four have the same colour statistics, so a cut is seen only in the
    texture (a colour-histogram shot detector misses it), and A's last place in shot 2 overlaps
    B's first place in shot 3.
    """
    (a_name, a_frame), (b_name, b_frame) = LOOKALIKE_A, LOOKALIKE_B
    imgs = montage_frames({a_frame, b_frame})
    a = image_patch(imgs[a_frame], montage_box(a_name, a_frame), face_px)
    b = image_patch(imgs[b_frame], montage_box(b_name, b_frame), face_px)
    frames, truth = [], []
    for i in range(4 * shot):
        part, t = divmod(i, shot)
        u = t / (shot - 1)
        tint = SHOT_TINTS[part] if colour_cuts else SHOT_TINTS[0]
        bg = tinted_background(width, height, 21 + part, tint)
        if part == 0:
            people = [(a_name, a, 70 + (width - 140) * u, height * 0.40),
                      (b_name, b, width - 70 - (width - 140) * u, height * 0.62)]
        elif part == 1:
            people = [(a_name, a, width * (0.35 + 0.25 * u), height * 0.5)]
        elif part == 2:
            people = [(b_name, b, width * (0.65 - 0.25 * u), height * 0.45)]
        else:
            people = [(b_name, b, width * (0.28 + 0.05 * u), height * 0.5),
                      (a_name, a, width * (0.72 - 0.05 * u), height * 0.48)]
        frame, gt = _compose(bg, people)
        frames.append(frame)
        truth.append(gt)
    return Clip(frames, truth)


def montage_crops(people: list[str], per: int) -> list[list[np.ndarray]]:
    """`per` crops of each labelled montage person, from frames spread over the montage."""
    faces = json.loads((CCBY / "montage_labels.json").read_text())["faces"]
    cap = cv2.VideoCapture(str(MONTAGE))
    out = []
    for person in people:
        mine = sorted((f for f in faces if f["person"] == person), key=lambda f: f["frame"])
        picks = [mine[round(k * (len(mine) - 1) / max(1, per - 1))] for k in range(per)]
        crops = []
        for f in picks:
            cap.set(cv2.CAP_PROP_POS_FRAMES, f["frame"])
            ok, img = cap.read()
            assert ok
            left, top, right, bottom = f["box"]
            cx, cy, half = (left + right) / 2, (top + bottom) / 2, max(right - left, bottom - top) * 0.9
            pad = cv2.copyMakeBorder(img, 200, 200, 200, 200, cv2.BORDER_REPLICATE)
            x0, y0 = int(cx - half) + 200, int(cy - half) + 200
            crop = pad[y0:y0 + int(2 * half), x0:x0 + int(2 * half)]
            crops.append(cv2.resize(crop, (160, 160), interpolation=cv2.INTER_CUBIC))
        out.append(crops)
    cap.release()
    return out
