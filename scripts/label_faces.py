"""How tests/data/ccby/montage_labels.json was made: faces found by a detector, named by a person.

Three steps:

    .venv/bin/python scripts/label_faces.py detect    # every 6th frame: CenterFace faces, numbered crops
    (look at /tmp/labels/sheet_*.png and overview_*.png; write the person of each number below)
    .venv/bin/python scripts/label_faces.py check     # descriptor distances: hints of labelling slips
    .venv/bin/python scripts/label_faces.py write     # tests/data/ccby/montage_labels.json

`detect` samples every STEP-th frame of each shot (the first and last two frames of a shot are
skipped: a cut can blend two pictures), runs CenterFace (tracker.detect.CenterFaceDetector, its
defaults: 640 px, score 0.5) and writes contact sheets of numbered crops (one per shot) and an
overview of each sampled frame with numbered boxes. The detector only proposes boxes; every name
in ASSIGNMENTS was given by looking at the crops and the frames, following each person through
the shot and across the cuts by their clothes, hair and place in the group. Faces that could not
be told apart with confidence, and boxes that are not a visible face (a phone held in front of
one), are left out. The dlib descriptors (`check`, from each box mapped to the box dlib's
landmark predictor expects) were used only to find slips, never as the source of a name.

History. The first labels (212 faces, 13 people) had dlib HOG boxes (upsample 2), which miss
turned, small and partly hidden faces; `detect --detector hog` gives that numbering again. They
were relabelled on CenterFace's boxes (`git show ca0fdde:tests/data/ccby/montage_labels.json >
OLD.json` gives the old ones): `detect --previous OLD.json` marks each new box that is the
same face as a box of the old labels on the same frame (IoU >= 0.3 or the old box's centre inside
the new one); those 212 kept their names (checked on the sheets), and the faces only CenterFace
finds were named by eye as above, adding three hikers (hiker_black_cap, hiker_white_top,
hiker_blue_hat).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.detect import Detector  # noqa: E402
from tracker.track import shots  # noqa: E402

VIDEO = ROOT / "tests" / "data" / "ccby" / "shotchange_ccby_montage.mp4"
LABELS = ROOT / "tests" / "data" / "ccby" / "montage_labels.json"
WORK = Path("/tmp/labels")
STEP = 6
CROP = 96
COLS = 10
# The montage's cuts (SOURCES.md times x 29.92 fps). The walking -> walking-and-pause cut at 671
# changes the colours too little for tracker.track.shots (Bhattacharyya 0.14 < 0.25), so it is listed.
MONTAGE_CUTS = [0, 89, 187, 365, 499, 588, 671]

# Face number (from `detect`) -> person. Persons are named by shot group and appearance:
#   reception_*: the conference reception (video_01), shots 0 and 4
#   intel_*:     the three people of the Intel walking-and-pause clips, shots 1 and 6 (and 3)
#   hiker_*:     the hikers, shot 2
#   headpose_*:  the two people turning their heads, shot 3
#   walking_*:   the two people of the other Intel walking clip, shot 5
# Numbers not listed were false detections, too blurred or turned away to tell, or unsure.
ASSIGNMENTS = """
# shot 0: video_01, the reception. The man at the right films with a phone held in front of his
# face in every frame (4 9 14 19 24 29 34 39 44 49 54 59 64 69: the box is the phone, not labelled).
# The blonde woman in the dark top behind the young man's shoulder is blurred in the first frames
# (3 8 12 17): told by her place in the group, the same in every frame of the shot.
reception_white_dress: 0 5 10 15 20 25 30 35 40 45 50 55 60 65 70
reception_young_man: 1 6 11 16 21 26 32 36 42 46 51 56 61 66 71
reception_turban: 2 7 13 18 22 28 33 38 43 48 53 58 63 67 73
reception_blonde: 3 8 12 17 23 27 31 37 41 47 52 57 62 68 72
# shot 1: walking-and-pause, three people side by side (left to right: dark hair, bald, glasses)
intel_dark_hair: 74 77 80 83 86 89 92 95 98 101 104 107 110 113 116 119
intel_glasses_woman: 76 78 82 85 87 91 93 97 99 102 106 109 112 115 118 120
intel_bald_man: 75 79 81 84 88 90 94 96 100 103 105 108 111 114 117 121
# shot 2: hikers. In front: the blonde woman (turquoise top, dark vest), the grey-haired man in
# sunglasses, blue jacket and shorts, the small hiker in a black cap, royal blue jacket and white
# collar, and the dark-haired man in sunglasses and a light top under a big backpack with orange
# straps (157: half out of the picture at the right edge, told by top and straps). From f291 the
# man in the red cap and the hiker in a blue bucket hat and black fleece walk behind them (the
# hat's faces are 10-15 px: told by hat, fleece and place beside the red cap in every frame).
# Not labelled: 197 (f327) and 206 (f351), 10-12 px faces in the group of four far behind.
hiker_blonde_woman: 122 126 130 134 138 142 146 150 154 158 161 164 167 170 173 175 177 180 183 186 189 191
hiker_sunglasses_man: 125 127 133 137 139 145 149 153 156 160 163 165 168 171 174 176 178 179 182 187
hiker_black_cap: 124 129 132 136 140 144 147 151 155 159 162 166 169 172
hiker_white_top: 123 128 131 135 141 143 148 152 157
hiker_red_cap: 184 188 190 192 194 195 198 200 202 204 207
hiker_blue_hat: 181 185 193 196 199 201 203 205 208
# shot 3: head-pose. The woman is intel_dark_hair of shots 1 and 6: same face, hair and the same
# sleeveless olive collared blouse (the Intel sample clips share their actors). Her head is tilted
# in most frames (HOG found her only in f367 and f373).
intel_dark_hair: 209 212 213 216 217 219 221 223 225 227 229 231 233 235 237 239 241 243 245 247 249 251
headpose_man: 210 211 214 215 218 220 222 224 226 228 230 232 234 236 238 240 242 244 246 248 250 252
# shot 4: video_01 again (the same people in the same places; the phone boxes 257 262 267 272
# 277 282 287 292 297 302 307 312 317 322 are not labelled, as in shot 0)
reception_white_dress: 253 258 263 268 273 278 283 288 293 298 303 308 313 318 323
reception_young_man: 254 259 264 269 274 279 285 289 295 299 304 309 314 319 324
reception_turban: 255 260 266 271 275 281 286 291 296 301 306 311 316 320 326
reception_blonde: 256 261 265 270 276 280 284 290 294 300 305 310 315 321 325
# shot 5: walking: two other people, a woman in a white dress and a grey-haired man in a vest
walking_woman_white: 327 330 332 333 336 338 340 342 343 346 348 350 352 353
walking_man_vest: 328 329 331 334 335 337 339 341 344 345 347 349 351 354
# shot 6: walking-and-pause again
intel_dark_hair: 355 358 361 364 367 370 373 376 379 382 385 388 391 394 397 400
intel_glasses_woman: 357 359 363 366 368 372 374 378 381 383 387 390 393 396 399 401
intel_bald_man: 356 360 362 365 369 371 375 377 380 384 386 389 392 395 398 402
"""


def read_frames(video: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    cap.release()
    return frames


def shot_starts(frames: list[np.ndarray]) -> list[int]:
    starts, previous = [0], None
    for i, image in enumerate(frames):
        sig = shots.colour_signature(image)
        if shots.is_cut(previous, sig):
            starts.append(i)
        previous = sig
    return starts


def sampled(starts: list[int], total: int) -> list[tuple[int, int]]:
    """(frame, shot) pairs: every STEP-th frame inside each shot, away from the cut."""
    out: list[tuple[int, int]] = []
    bounds = [*starts, total]
    for shot, (a, b) in enumerate(itertools.pairwise(bounds)):
        out.extend((f, shot) for f in range(a + 2, b - 2, STEP))
    return out


def crop(image: np.ndarray, box: list[float], size: int = CROP) -> np.ndarray:
    l, t, r, b = box
    cx, cy, side = (l + r) / 2, (t + b) / 2, max(r - l, b - t) * 1.5
    h, w = image.shape[:2]
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    return cv2.resize(image[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_CUBIC)


def sheet(tiles: list[tuple[int, np.ndarray, str]], path: Path) -> None:
    rows = (len(tiles) + COLS - 1) // COLS
    canvas = np.full((rows * (CROP + 16), COLS * CROP, 3), 255, np.uint8)
    for k, (num, tile, caption) in enumerate(tiles):
        y, x = (k // COLS) * (CROP + 16), (k % COLS) * CROP
        canvas[y:y + CROP, x:x + CROP] = tile
        cv2.putText(canvas, f"{num} {caption}", (x + 2, y + CROP + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38,
                    (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))


def make_detector(args: argparse.Namespace) -> Detector:
    from tracker.detect import CenterFaceDetector, HogDetector

    if args.detector == "hog":
        return HogDetector(upsample=args.upsample)
    return CenterFaceDetector()


def previous_labels(path: Path | None) -> dict[int, list[tuple[list[float], str]]]:
    """frame -> [(box, person)] of an earlier labels file (for `detect`'s carry-over hints)."""
    if path is None or not path.is_file():
        return {}
    out: dict[int, list[tuple[list[float], str]]] = {}
    for f in json.loads(path.read_text())["faces"]:
        out.setdefault(f["frame"], []).append((f["box"], f["person"]))
    return out


def same_face(new: list[float], old: list[float]) -> bool:
    """An old labelled box is the same face as a new one: IoU >= 0.3 or its centre inside the new box."""
    l, t = max(new[0], old[0]), max(new[1], old[1])
    r, b = min(new[2], old[2]), min(new[3], old[3])
    inter = max(0.0, r - l) * max(0.0, b - t)
    union = (new[2] - new[0]) * (new[3] - new[1]) + (old[2] - old[0]) * (old[3] - old[1]) - inter
    cx, cy = (old[0] + old[2]) / 2, (old[1] + old[3]) / 2
    return inter / max(union, 1e-9) >= 0.3 or (new[0] <= cx <= new[2] and new[1] <= cy <= new[3])


def cmd_detect(args: argparse.Namespace) -> None:
    from tracker.embed import DlibEmbedder, embed

    WORK.mkdir(parents=True, exist_ok=True)
    frames = read_frames(args.video)
    starts = MONTAGE_CUTS if args.video.name == VIDEO.name else shot_starts(frames)
    print(f"{len(frames)} frames, shots start at {starts}")
    detector, embedder = make_detector(args), DlibEmbedder()
    old = previous_labels(args.previous)
    faces: list[dict] = []
    descriptors = []
    carried: dict[str, list[int]] = {}
    unmatched: list[str] = []
    for frame, shot in sampled(starts, len(frames)):
        image = frames[frame]
        dets = detector.detect(image)
        # descriptors from the box dlib's landmark predictor expects (CenterFace's are taller)
        emb = embed(embedder, image, detector.alignment_boxes(dets.boxes))
        overview = image.copy()
        used: set[int] = set()
        for box, score, desc in zip(dets.boxes, dets.scores, emb.descriptors):
            num = len(faces)
            faces.append({"num": num, "frame": frame, "shot": shot,
                          "box": [round(float(v), 1) for v in box], "score": round(float(score), 3)})
            descriptors.append(desc)
            hits = [k for k, (ob, _) in enumerate(old.get(frame, [])) if same_face(faces[-1]["box"], ob)]
            if len(hits) == 1 and hits[0] not in used:
                used.add(hits[0])
                faces[-1]["previous"] = old[frame][hits[0]][1]
                carried.setdefault(faces[-1]["previous"], []).append(num)
            l, t, r, b = (int(v) for v in box)
            cv2.rectangle(overview, (l, t), (r, b), (255, 0, 0), 1)
            cv2.putText(overview, str(num), (l, max(10, t - 3)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1)
        for k, (ob, person) in enumerate(old.get(frame, [])):
            if k not in used:
                unmatched.append(f"f{frame} {person} {ob}")
        cv2.imwrite(str(WORK / f"overview_{shot}_{frame:04d}.png"), cv2.cvtColor(overview, cv2.COLOR_RGB2BGR))
    (WORK / "faces.json").write_text(json.dumps({"shot_starts": starts, "detector": args.detector, "faces": faces},
                                                indent=1))
    np.save(WORK / "descriptors.npy", np.asarray(descriptors, np.float32).reshape(-1, 128))
    for shot in range(len(starts)):
        tiles = [(f["num"], crop(frames[f["frame"]], f["box"]), f"f{f['frame']}") for f in faces if f["shot"] == shot]
        if tiles:
            sheet(tiles, WORK / f"sheet_{shot}.png")
    print(f"{len(faces)} faces in {len({f['frame'] for f in faces})} frames; sheets in {WORK}")
    if old:
        # only hints for the table below: each one is checked by eye on the sheets and overviews
        lines = [f"{p}: {' '.join(map(str, nums))}" for p, nums in sorted(carried.items())]
        (WORK / "carried.txt").write_text("\n".join(lines) + "\n")
        print(f"{sum(map(len, carried.values()))} boxes overlap a box of {args.previous} "
              f"({WORK / 'carried.txt'}); {len(unmatched)} of its boxes found no new box")
        for u in unmatched:
            print("  not found:", u)


def assignments() -> dict[int, str]:
    out = {}
    for line in ASSIGNMENTS.splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        person, nums = line.split(":")
        for n in nums.split():
            out[int(n)] = person.strip()
    return out


def cmd_check(args: argparse.Namespace) -> None:
    """Each labelled face's nearest labelled neighbour by descriptor, and the persons' spreads."""
    desc = np.load(WORK / "descriptors.npy")
    faces = json.loads((WORK / "faces.json").read_text())["faces"]
    named = assignments()
    nums = sorted(named)
    d = np.linalg.norm(desc[nums][:, None] - desc[nums][None], axis=2)
    np.fill_diagonal(d, np.inf)
    for i, n in enumerate(nums):
        j = int(np.argmin(d[i]))
        same = [d[i, k] for k, m in enumerate(nums) if named[m] == named[n] and k != i]
        other = [d[i, k] for k, m in enumerate(nums) if named[m] != named[n]]
        flag = "  <-- nearest is someone else" if named[nums[j]] != named[n] else ""
        if same and other and min(other) < np.median(same):
            flag += "  <-- closer to another person than to own median"
        if flag or args.verbose:
            print(f"{n:4d} f{faces[n]['frame']:4d} {named[n]:14s} nearest {nums[j]:4d} {named[nums[j]]:14s} "
                  f"{d[i, j]:.3f}  own median {np.median(same) if same else float('nan'):.3f}"
                  f"  other min {min(other) if other else float('nan'):.3f}{flag}")
    people = sorted(set(named.values()))
    print("\nmean distance between persons (diagonal: within)")
    print(" " * 14 + "".join(f"{p[:8]:>9s}" for p in people))
    for p in people:
        row = [k for k, m in enumerate(nums) if named[m] == p]
        cells = []
        for q in people:
            col = [k for k, m in enumerate(nums) if named[m] == q]
            block = d[np.ix_(row, col)]
            cells.append(float(np.mean(block[np.isfinite(block)])) if np.isfinite(block).any() else float("nan"))
        print(f"{p:14s}" + "".join(f"{c:9.3f}" for c in cells))


def cmd_write(args: argparse.Namespace) -> None:
    data = json.loads((WORK / "faces.json").read_text())
    if data.get("detector", "hog") != "centerface":
        sys.exit("ASSIGNMENTS numbers CenterFace's faces: run `detect` without --detector hog first")
    named = assignments()
    out = [{"frame": f["frame"], "shot": f["shot"], "box": f["box"], "person": named[f["num"]]}
           for f in data["faces"] if f["num"] in named]
    out.sort(key=lambda f: (f["frame"], f["box"][0]))
    head = {"video": args.video.name, "shot_starts": data["shot_starts"],
            "made_by": "scripts/label_faces.py: CenterFace boxes, persons named by eye"}
    lines = ",\n".join("  " + json.dumps(f) for f in out)
    text = json.dumps(head, indent=1)[:-2] + ',\n "faces": [\n' + lines + "\n ]\n}\n"
    json.loads(text)
    LABELS.write_text(text)
    shots_of = {f["num"]: f["shot"] for f in data["faces"]}
    per_shot: dict[int, set[str]] = {}
    counts: dict[int, int] = {}
    for n, p in named.items():
        per_shot.setdefault(shots_of[n], set()).add(p)
        counts[shots_of[n]] = counts.get(shots_of[n], 0) + 1
    for s in sorted(per_shot):
        print(f"shot {s}: {counts[s]} faces, persons {sorted(per_shot[s])}")
    print(f"{len(out)} labelled faces, {len(set(named.values()))} persons -> {LABELS}")


def cmd_enrol(args: argparse.Namespace) -> None:
    """Per person, the labelled face a user would enrol: the clearest (tracker/quality.py: the
    detector's confidence, how frontal, how sharp; ties by width). Written as "enrol": person ->
    frame into the labels file; benchmarks/identity.py --enrol enrols a tight crop of it."""
    from tracker import quality
    from tracker.detect import CenterFaceDetector
    from tracker.embed import DlibEmbedder
    from tracker.geometry import iou_matrix

    data = json.loads(LABELS.read_text())
    frames = read_frames(args.video)
    det, emb = CenterFaceDetector(), DlibEmbedder()
    best: dict[str, tuple[float, float, int]] = {}
    for face in data["faces"]:
        image = frames[face["frame"]]
        found = det.detect(image)
        if not len(found):
            continue
        k = int(np.argmax(iou_matrix([face["box"]], found.boxes)[0]))
        chip = emb.align(image, det.alignment_boxes(found.boxes[k:k + 1]))[0]
        q = quality.face_quality(float(det.traits.score_quality(found.scores[k:k + 1])[0]), found.landmarks[k], chip)
        key = (round(q, 2), face["box"][2] - face["box"][0], face["frame"])
        if key > best.get(face["person"], (-1.0, 0.0, 0)):
            best[face["person"]] = key
    enrol = {p: best[p][2] for p in sorted(best)}
    for p in sorted(best):
        print(f"{p:24s} frame {best[p][2]:4d}  quality {best[p][0]:.2f}  width {best[p][1]:.0f} px")
    text = LABELS.read_text()
    data.pop("enrol", None)
    head = json.dumps({"enrol": enrol}, indent=None)[1:-1]
    # Keep the file's layout (one face a line): the enrol map goes after the header fields.
    marker = ' "faces": ['
    before, after = text.split(marker, 1)
    before = before.split('\n "enrol":')[0].rstrip().rstrip(",") + ",\n "
    LABELS.write_text(before + head + ",\n" + marker + after)
    json.loads(LABELS.read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=("detect", "check", "write", "enrol"))
    p.add_argument("--video", type=Path, default=VIDEO)
    p.add_argument("--detector", choices=("centerface", "hog"), default="centerface",
                   help="centerface (the labels' boxes) or hog (upsample 2: the first, HOG-only labels)")
    p.add_argument("--upsample", type=int, default=2, help="HOG's upsampling")
    p.add_argument("--previous", type=Path, default=None,
                   help="an earlier labels file: `detect` marks which new boxes overlap its boxes")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    {"detect": cmd_detect, "check": cmd_check, "write": cmd_write, "enrol": cmd_enrol}[args.step](args)


if __name__ == "__main__":
    main()
