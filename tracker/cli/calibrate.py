"""`facetrack calibrate`: VAL/FAR over the gallery's own pairs and a recommended threshold
(the maths is in tracker/eval/calibrate.py), printed, as JSON, and drawn as a PNG."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ..config import gallery_files, shown
from ..errors import FacetrackError
from ..eval.calibrate import DLIB_THRESHOLD, Calibration, calibrate, load_descriptors
from ..sinks.outputs import same_file, write_atomic
from .args import number

SIZE = (900, 560)  # width, height of the plot
# The plot area inside it: left, top, right, bottom (room for tick labels and axis titles).
AREA = (78, 58, 870, 492)
# BGR colours: blue and red read apart for most colour-blind viewers too.
VAL_COLOUR = (178, 98, 30)
FAR_COLOUR = (40, 40, 214)
THRESHOLD_COLOUR = (40, 140, 40)
DLIB_COLOUR = (150, 150, 150)
INK = (40, 40, 40)
GRID = (232, 232, 232)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def add_parser(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "calibrate", help="VAL/FAR over the gallery's own people and a recommended match threshold")
    p.add_argument("--target-far", type=number(0, 1, open_lo=True), default=0.001, metavar="RATE",
                   help="highest acceptable share of different-person pairs within the threshold (default 0.001)")
    p.add_argument("--plot", type=Path, metavar="FILE.png", help="draw VAL and FAR against the distance to a PNG")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_common(p)


def check_plot_path(path: Path, protected: list[Path]) -> None:
    """Refuse, before any work, a plot that would replace the gallery, the config or a file of the
    user's that is not a PNG (an earlier plot may be replaced)."""
    if path.suffix.lower() != ".png":
        raise FacetrackError(f"--plot {path}: give a .png file name")
    if path.is_dir():
        raise FacetrackError(f"--plot {path} is a folder; give a file name")
    for other in protected:
        # The gallery's -wal and -shm files hold its latest changes: they are the gallery too.
        for part in (other, Path(f"{other}-wal"), Path(f"{other}-shm")):
            if same_file(path, part):
                raise FacetrackError(f"--plot {path} is the gallery or the config file; choose another file")
    if path.exists() or path.is_symlink():
        if path.is_symlink() or not _our_plot(path):
            raise FacetrackError(f"--plot {path} exists and is not a plot facetrack drew; not replacing it "
                                 f"(remove it or choose another file)")
    if not path.parent.is_dir():
        raise FacetrackError(f"--plot {path}: folder {path.parent} does not exist")


def run(args: argparse.Namespace, cfg: Any) -> int:
    gallery = cfg.gallery
    target = args.target_far
    if not (math.isfinite(target) and 0.0 < target < 1.0):
        raise FacetrackError(f"--target-far must be above 0 and below 1, got {target:g}")
    if args.plot is not None:
        config = getattr(args, "config", None)
        check_plot_path(args.plot, [*gallery_files(gallery), *([config] if config else [])])
    vectors, labels = load_descriptors(gallery)
    cal = calibrate(vectors, labels, target)
    if args.plot is not None:
        write_png(args.plot, draw_plot(cal))
    if args.json:
        print(json.dumps({"gallery": shown(gallery), **cal.as_json(),
                          **({"plot": str(args.plot)} if args.plot is not None else {})}, indent=2))
        return 0
    for line in describe(cal, shown(gallery)):
        print(line)
    if args.plot is not None:
        print(f"wrote {args.plot}")
    return 0


def describe(cal: Calibration, gallery: str) -> list[str]:
    """The readable report: what was counted, the recommendation, and dlib's default beside it."""
    curve, rec = cal.curve, cal.recommended
    left = f"; {cal.left_out} with a single descriptor left out" if cal.left_out else ""
    method = "" if curve.exact else " (counted in 0.0005-wide distance bins)"

    def rates(p: Any) -> str:
        return (f"VAL {p.val:.4f} ({p.same_within}/{p.same_pairs})  FAR {p.far:.4f} "
                f"({p.different_within}/{p.different_pairs})  accuracy {p.accuracy:.4f}")

    lines = [f"{gallery}: {cal.people} people with 2 or more descriptors ({cal.descriptors} descriptors){left}",
             f"pairs: {curve.same_pairs} same-person, {curve.different_pairs} different-person{method}",
             f"recommended threshold: {rec.threshold:.4f} (the largest with FAR <= {cal.target_far:g})",
             f"  {rates(rec)}",
             f"dlib's default {DLIB_THRESHOLD:g}: {rates(curve.at(DLIB_THRESHOLD))}"]
    if cal.note:
        lines.append(f"warning: {cal.note}")
    return lines


PLOT_MARK = ("Software", "facetrack calibrate")  # a PNG text chunk: this plot is ours to replace


def _our_plot(path: Path) -> bool:
    """Whether `path` is a PNG that facetrack drew (its text chunk says so): a photo is not."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.format == "PNG" and img.text.get(PLOT_MARK[0]) == PLOT_MARK[1]  # type: ignore[attr-defined]
    except (OSError, UnidentifiedImageError, ValueError):
        return False


def write_png(path: Path, image: NDArray[np.uint8]) -> None:
    """The plot (BGR) as a PNG marked as ours, written whole or not at all (outputs.write_atomic)."""
    import io

    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(*PLOT_MARK)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image[:, :, ::-1])).save(buf, format="PNG", pnginfo=info)
    try:
        write_atomic(path, buf.getvalue())
    except OSError as exc:
        raise FacetrackError(f"--plot {path}: cannot write it ({exc.strerror})") from None


# ---------------------------------------------------------------- drawing
def _text(img: NDArray[np.uint8], text: str, org: tuple[int, int], scale: float = 0.5,
          colour: tuple[int, int, int] = INK, align: str = "left") -> None:
    """Text at `org` (its baseline), left-, centre- or right-aligned."""
    (w, _), _ = cv2.getTextSize(text, FONT, scale, 1)
    x = org[0] - (w // 2 if align == "centre" else w if align == "right" else 0)
    cv2.putText(img, text, (x, org[1]), FONT, scale, colour, 1, cv2.LINE_AA)


def _dashed(img: NDArray[np.uint8], x: int, y0: int, y1: int, colour: tuple[int, int, int], thick: int,
            dash: int = 8) -> None:
    for y in range(y0, y1, dash * 2):
        cv2.line(img, (x, y), (x, min(y + dash, y1)), colour, thick, cv2.LINE_AA)


def _vertical_text(img: NDArray[np.uint8], text: str, centre: tuple[int, int], scale: float = 0.5) -> None:
    """OpenCV only writes horizontally: write on a strip, turn it, paste it."""
    (w, h), base = cv2.getTextSize(text, FONT, scale, 1)
    strip = np.full((h + base + 4, w + 4, 3), 255, np.uint8)
    cv2.putText(strip, text, (2, h + 2), FONT, scale, INK, 1, cv2.LINE_AA)
    turned = cv2.rotate(strip, cv2.ROTATE_90_COUNTERCLOCKWISE)
    y0, x0 = centre[1] - turned.shape[0] // 2, centre[0] - turned.shape[1] // 2
    img[y0:y0 + turned.shape[0], x0:x0 + turned.shape[1]] = turned


def draw_plot(cal: Calibration) -> NDArray[np.uint8]:
    """VAL and FAR against the distance threshold, with the recommendation marked (BGR image)."""
    width, height = SIZE
    left, top, right, bottom = AREA
    img = np.full((height, width, 3), 255, np.uint8)
    rec = cal.recommended
    # 0 to 1.2 covers dlib's descriptors; a larger recommendation widens the axis to show it.
    d_max = max(1.2, math.ceil((rec.threshold + 0.1) * 10) / 10)

    def px(d: float) -> int:
        return round(left + (right - left) * d / d_max)

    def py(rate: float) -> int:
        return round(bottom - (bottom - top) * rate)

    for i in range(round(d_max * 10) + 1):  # grid every 0.1, labels every 0.2
        x = px(i / 10)
        cv2.line(img, (x, top), (x, bottom), GRID, 1)
        if i % 2 == 0:
            _text(img, f"{i / 10:.1f}", (x, bottom + 20), 0.45, align="centre")
    for i in range(11):
        y = py(i / 10)
        cv2.line(img, (left, y), (right, y), GRID, 1)
        if i % 2 == 0:
            _text(img, f"{i / 10:.1f}", (left - 8, y + 5), 0.45, align="right")
    cv2.rectangle(img, (left, top), (right, bottom), INK, 1)
    _text(img, "distance threshold d", ((left + right) // 2, bottom + 46), 0.55, align="centre")
    _vertical_text(img, "share of pairs with distance <= d", (22, (top + bottom) // 2), 0.5)
    curve = cal.curve
    title = (f"VAL and FAR over {curve.same_pairs} same-person and {curve.different_pairs} different-person "
             f"pairs ({cal.people} people)")
    _text(img, title, (width // 2, 26), 0.55, align="centre")
    if not cal.reliable:
        _text(img, "too few pairs to measure the target FAR: see the note", (width // 2, 46), 0.45,
              FAR_COLOUR, align="centre")

    # One sample per pixel column: the steps of each curve show at the plot's resolution.
    columns = np.arange(left, right + 1)
    ds = (columns - left) / (right - left) * d_max
    val, far = curve.rates(ds)
    dlib_x = px(DLIB_THRESHOLD)
    _dashed(img, dlib_x, top + 1, bottom, DLIB_COLOUR, 1)
    for rates, colour in ((far, FAR_COLOUR), (val, VAL_COLOUR)):
        points = np.stack([columns, [py(r) for r in rates]], axis=1).astype(np.int32)
        cv2.polylines(img, [points], False, colour, 2, cv2.LINE_AA)

    x = px(rec.threshold)
    _dashed(img, x, top + 1, bottom, THRESHOLD_COLOUR, 2)
    for rate, colour in ((rec.val, VAL_COLOUR), (rec.far, FAR_COLOUR)):
        cv2.circle(img, (x, py(rate)), 5, colour, -1, cv2.LINE_AA)
    label = [f"threshold {rec.threshold:.4f}", f"VAL {rec.val:.3f}  FAR {rec.far:.4f}",
             f"(target FAR {cal.target_far:g})"]
    curve_points = _trace(columns, [py(r) for r in val]) + _trace(columns, [py(r) for r in far])
    # Beside the line, where it hides the least of the curves (it sits on white, so a curve
    # under it is hidden rather than crossed by text).
    label_w, label_h = max(cv2.getTextSize(t, FONT, 0.5, 1)[0][0] for t in label) + 8, 20 * len(label) + 8
    spots = [(lx, ly) for ly in (top + 12, (top + bottom - label_h) // 2, bottom - 12 - label_h)
             for lx in (x + 8, x - 8 - label_w) if left + 2 <= lx and lx + label_w <= right - 2]

    def label_cost(spot: tuple[int, int]) -> int:
        over_dlib = spot[0] - 3 <= dlib_x <= spot[0] + label_w + 3
        return _hidden((*spot, spot[0] + label_w, spot[1] + label_h), curve_points) + 20 * over_dlib

    lx, ly = min(spots or [(left + 2, top + 12)], key=label_cost)
    label_box = (lx, ly, lx + label_w, ly + label_h)
    cv2.rectangle(img, label_box[:2], label_box[2:], (255, 255, 255), -1)
    for i, line in enumerate(label):
        _text(img, line, (lx + 4, ly + 18 + 20 * i), 0.5, THRESHOLD_COLOUR)

    legend = [("VAL: same-person pairs within d", VAL_COLOUR, False),
              ("FAR: different-person pairs within d", FAR_COLOUR, False),
              ("recommended threshold", THRESHOLD_COLOUR, True),
              (f"dlib's default {DLIB_THRESHOLD:g}", DLIB_COLOUR, True)]
    box_w = max(cv2.getTextSize(t, FONT, 0.45, 1)[0][0] for t, _, _ in legend) + 56
    box_h = 22 * len(legend) + 8
    box = _legend_box((left + 10, top + 10, right - 10, bottom - 10), (box_w, box_h), curve_points, label_box,
                      [x, dlib_x])
    bx0, by0, bx1, by1 = box
    cv2.rectangle(img, (bx0, by0), (bx1, by1), (255, 255, 255), -1)
    cv2.rectangle(img, (bx0, by0), (bx1, by1), (200, 200, 200), 1)
    for i, (text, colour, dashed) in enumerate(legend):
        y = by0 + 20 + 22 * i
        if dashed:
            for xs in range(bx0 + 10, bx0 + 40, 10):
                cv2.line(img, (xs, y - 4), (xs + 5, y - 4), colour, 2, cv2.LINE_AA)
        else:
            cv2.line(img, (bx0 + 10, y - 4), (bx0 + 40, y - 4), colour, 2, cv2.LINE_AA)
        _text(img, text, (bx0 + 48, y), 0.45)
    return img


def _legend_box(inside: tuple[int, int, int, int], size: tuple[int, int], points: list[tuple[int, int]],
                label: tuple[int, int, int, int], lines: list[int]) -> tuple[int, int, int, int]:
    """The corner of the plot where the legend hides the least: no curve is crossed by its text
    when one corner is free, and the threshold's label is never covered."""
    x0, y0, x1, y1 = inside
    w, h = size
    corners = [(x0, y0), (x1 - w, y0), (x1 - w, y1 - h), (x0, y1 - h)]

    def cost(cx: int, cy: int) -> int:
        overlaps_label = cx < label[2] and label[0] < cx + w and cy < label[3] and label[1] < cy + h
        crossed = sum(cx <= lx <= cx + w for lx in lines)
        return _hidden((cx, cy, cx + w, cy + h), points) + 10_000 * overlaps_label + 50 * crossed

    bx, by = min(corners, key=lambda c: cost(*c))
    return bx, by, bx + w, by + h


def _hidden(box: tuple[int, int, int, int], points: list[tuple[int, int]]) -> int:
    """How many curve points an opaque box over the plot would hide."""
    x0, y0, x1, y1 = box
    return sum(x0 - 3 <= px <= x1 + 3 and y0 - 3 <= py <= y1 + 3 for px, py in points)


def _trace(columns: NDArray[np.int64], ys: list[int]) -> list[tuple[int, int]]:
    """A drawn curve as points every few pixels, its vertical steps included."""
    points: list[tuple[int, int]] = []
    for i, (c, y) in enumerate(zip(columns.tolist(), ys)):
        prev = ys[i - 1] if i else y
        points.extend((c, yy) for yy in range(min(prev, y), max(prev, y) + 1, 3))
        points.append((c, y))
    return points
