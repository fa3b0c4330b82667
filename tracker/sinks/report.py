"""What `facetrack analyze` leaves in its folder: report.json, a thumbnail per person, a contact
sheet (people.png), a timeline (timeline.png) and one self-contained page (report.html)."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ..engine.pass2 import Analysis, PersonFound
from ..errors import FacetrackError
from ..gallery.schema import decode_thumbnail
from .outputs import claim_folder, mark_folder, write_atomic

THUMB = 96
NAME_W = 220
BG = (255, 255, 255)
INK = (40, 40, 40)
GRID = (215, 215, 215)


def colour(i: int) -> tuple[int, int, int]:
    """A distinct, print-friendly colour per person (BGR), from a fixed palette, then golden-ratio hues."""
    palette = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148), (75, 86, 140),
               (194, 119, 227), (127, 127, 127), (34, 189, 188), (207, 190, 23)]
    if i < len(palette):
        return palette[i]
    hue = int((i * 0.618034 % 1.0) * 179)
    bgr = cv2.cvtColor(np.array([[[hue, 200, 200]]], np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def file_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^\w\- ]+", "_", name).strip().replace(" ", "_") or "person"
    out, n = base, 2
    while out.lower() in taken:
        out, n = f"{base}_{n}", n + 1
    taken.add(out.lower())
    return out


def clock(seconds: float, tenths: bool = False) -> str:
    """h:mm:ss or m:ss; with `tenths`, m:ss.s (short clips, where whole seconds say little)."""
    if tenths and seconds < 3600:
        return f"{int(seconds // 60):d}:{seconds % 60:04.1f}"
    s = int(round(seconds))
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:d}:{s % 60:02d}"


def _text(img: NDArray[np.uint8], text: str, org: tuple[int, int], scale: float = 0.5, bold: bool = False,
          colour_: tuple[int, int, int] = INK) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour_, 2 if bold else 1, cv2.LINE_AA)


def _fit(text: str, width: int, scale: float = 0.5) -> str:
    while text and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > width:
        text = text[:-2] + "…" if len(text) > 2 else ""
        text = text.replace("……", "…")
    return text


def contact_sheet(people: list[PersonFound]) -> NDArray[np.uint8]:
    """One row per person: name, screen time and up to eight of their faces (BGR)."""
    cols = 8
    row_h = THUMB + 16
    img = np.full((max(1, len(people)) * row_h + 8, NAME_W + cols * (THUMB + 6) + 8, 3), BG, np.uint8)
    if not people:
        _text(img, "nobody found", (10, 40))
    for r, p in enumerate(people):
        y = 8 + r * row_h
        cv2.rectangle(img, (4, y), (10, y + THUMB), colour(r), -1)
        _text(img, _fit(p.name, NAME_W - 24, 0.6), (18, y + 26), 0.6, bold=True)
        _text(img, "known" if p.known else "new (automatic)", (18, y + 50), 0.45)
        _text(img, f"{clock(p.screen_time)} on screen, {p.faces} faces", (18, y + 72), 0.45)
        for c, s in enumerate(p.samples[:cols]):
            face = decode_thumbnail(s.thumbnail)
            if face is None:
                continue
            x = NAME_W + c * (THUMB + 6)
            img[y:y + THUMB, x:x + THUMB] = cv2.cvtColor(cv2.resize(face, (THUMB, THUMB), interpolation=cv2.INTER_AREA),
                                                         cv2.COLOR_RGB2BGR)
        if r:
            cv2.line(img, (4, y - 8), (img.shape[1] - 4, y - 8), GRID, 1)
    return img


def timeline(analysis: Analysis, durations: dict[str, float], width: int = 1200) -> NDArray[np.uint8]:
    """Who is on screen when: a row per person, a bar per appearance; videos side by side on one
    time axis, each labelled (photos have no time and are left out)."""
    videos = [s for s in analysis.sources if durations.get(s, 0.0) > 0]
    row_h, top, bottom = 26, 40, 40
    people = analysis.people
    h = top + max(1, len(people)) * row_h + bottom
    img = np.full((h, width, 3), BG, np.uint8)
    if not videos or not people:
        _text(img, "no video, or nobody found: no timeline", (10, 30))
        return img
    total = sum(durations[s] for s in videos)
    x0, x1 = NAME_W, width - 20
    scale = (x1 - x0) / total
    offset: dict[str, float] = {}
    t = 0.0
    for s in videos:
        offset[s] = t
        xa = int(x0 + t * scale)
        cv2.line(img, (xa, top - 20), (xa, h - bottom + 4), INK, 1)
        _text(img, _fit(Path(s).name, max(10, int(durations[s] * scale) - 6), 0.45), (xa + 4, top - 8), 0.45)
        t += durations[s]
    cv2.line(img, (x1, top - 20), (x1, h - bottom + 4), INK, 1)
    step = next(v for v in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 1e9)
                if total / v <= 12)
    for s in videos:
        tick = 0.0
        while tick <= durations[s] + 1e-6:
            x = int(x0 + (offset[s] + tick) * scale)
            cv2.line(img, (x, h - bottom), (x, h - bottom + 5), INK, 1)
            if len(videos) == 1 or tick > 0:
                _text(img, clock(tick), (x - 12, h - bottom + 20), 0.4)
            tick += step
    for r, p in enumerate(people):
        y = top + r * row_h
        if r % 2 == 0:
            cv2.rectangle(img, (x0, y), (x1, y + row_h), (246, 246, 246), -1)
        _text(img, _fit(p.name, NAME_W - 16, 0.5), (8, y + 18), 0.5)
        for a in p.appearances:
            if a.source not in offset:
                continue
            xa = int(x0 + (offset[a.source] + a.start) * scale)
            xb = max(xa + 2, int(x0 + (offset[a.source] + a.end) * scale))
            cv2.rectangle(img, (xa, y + 4), (xb, y + row_h - 4), colour(r), -1)
    return img


def _png(img: NDArray[np.uint8]) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise FacetrackError("cannot encode an image")
    return bytes(buf)


def report_json(analysis: Analysis, thumbs: dict[int, str]) -> dict[str, Any]:
    return {"sources": analysis.sources, "people": [
        {"person": p.name, "known": p.known, "screen_time": p.screen_time, "faces": p.faces,
         "appearances": [{"source": a.source, "start": a.start, "end": a.end} for a in p.appearances],
         "thumbnail": thumbs.get(i)} for i, p in enumerate(analysis.people)]}


FILES = ("report.json", "report.html", "people.png", "timeline.png", "people")  # what write() puts in `out`


def claim(out: Path, force: bool = False) -> None:
    """Before any work: refuse an --out folder holding report files that facetrack did not write,
    or whose people/ folder is a link (thumbnails would be written wherever it points)."""
    claim_folder(out, FILES, "--out", force)
    if (out / "people").is_symlink():
        raise FacetrackError(f"--out {out}: {out / 'people'} is a symbolic link; facetrack does not write "
                             "through links (remove it, or choose another folder)")


def write(analysis: Analysis, out: Path, durations: dict[str, float]) -> dict[str, Any]:
    """Everything into `out` (created), each file whole or not at all (outputs.write_atomic), links
    replaced rather than followed; returns the report's JSON."""
    if (out / "people").is_symlink():  # thumbnails would be written wherever it points
        raise FacetrackError(f"--out {out}: {out / 'people'} is a symbolic link; facetrack does not write "
                             "through links (remove it, or choose another folder)")
    try:
        (out / "people").mkdir(parents=True, exist_ok=True)
        mark_folder(out, "this analysis report")
        taken: set[str] = set()
        thumbs: dict[int, str] = {}
        for i, p in enumerate(analysis.people):
            if p.best is not None and p.best.thumbnail:
                rel = f"people/{file_name(p.name, taken)}.jpg"
                write_atomic(out / rel, p.best.thumbnail)
                thumbs[i] = rel
        data = report_json(analysis, thumbs)
        sheet, line = _png(contact_sheet(analysis.people)), _png(timeline(analysis, durations))
        write_atomic(out / "people.png", sheet)
        write_atomic(out / "timeline.png", line)
        write_atomic(out / "report.html", page(analysis, data, sheet, line, out).encode("utf-8"))
        # Last: a report.json is there only once the report is whole.
        write_atomic(out / "report.json", (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    except OSError as exc:
        raise FacetrackError(f"cannot write the report in {out}: {exc.strerror}") from None
    return data


def _inline(data: bytes, kind: str) -> str:
    return f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"


def page(analysis: Analysis, data: dict[str, Any], sheet: bytes, line: bytes, out: Path) -> str:
    """One HTML file with every image inlined: it opens offline, mailed or moved alone."""
    rows = []
    ends = [a["end"] for p in data["people"] for a in p["appearances"]]
    tenths = max(ends, default=0.0) < 600  # short material: whole seconds would blur the spans
    for i, p in enumerate(data["people"]):
        thumb = ""
        if p["thumbnail"]:
            thumb = f'<img class="face" src="{_inline((out / p["thumbnail"]).read_bytes(), "jpeg")}" alt="">'
        spans = "<br>".join(f"{html.escape(Path(a['source']).name)}: {clock(a['start'], tenths)}–"
                            f"{clock(a['end'], tenths)}"
                            for a in p["appearances"][:50])
        more = len(p["appearances"]) - 50
        if more > 0:
            spans += f"<br>… {more} more"
        r, g, b = colour(i)[::-1]
        rows.append(f'<tr><td><span class="dot" style="background:rgb({r},{g},{b})"></span></td><td>{thumb}</td>'
                    f"<td><b>{html.escape(p['person'])}</b><br><small>{'known' if p['known'] else 'new'}</small></td>"
                    f"<td>{clock(p['screen_time'], tenths)}</td><td>{p['faces']}</td><td>{spans}</td></tr>")
    sources = ", ".join(html.escape(s) for s in analysis.sources)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>facetrack: who appears when</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 6px 10px; border-bottom: 1px solid #ddd;
vertical-align: top; text-align: left; }} img {{ max-width: 100%; }} .face {{ width: 64px; height: 64px; }}
.dot {{ display: inline-block; width: 12px; height: 12px; border-radius: 6px; }}
</style></head><body>
<h1>Who appears when</h1>
<p>{len(analysis.people)} people in {sources}.</p>
<h2>Timeline</h2><img src="{_inline(line, 'png')}" alt="timeline">
<h2>People</h2>
<table><tr><th></th><th></th><th>person</th><th>on screen</th><th>faces</th><th>appearances</th></tr>
{''.join(rows)}</table>
<h2>Faces</h2><img src="{_inline(sheet, 'png')}" alt="contact sheet">
<p><small>Made by facetrack. New people are numbered as the gallery would number them; save them with
<code>--save-to-gallery</code> and name them with <code>facetrack people rename</code>.</small></p>
</body></html>
"""
