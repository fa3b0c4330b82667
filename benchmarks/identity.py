"""Identity quality on real multi-person footage, against hand-made labels.

    python benchmarks/identity.py                      # the CC BY montage, empty gallery
    python benchmarks/identity.py --enrol              # one labelled crop per person enrolled first
    python benchmarks/identity.py --threshold 0.55 --set detect_every=5 --json
    python benchmarks/identity.py --video clip.mp4 --labels clip_labels.json
    python benchmarks/identity.py --offline             # as `facetrack analyze` (pass 1, then clustering)
    python benchmarks/identity.py --lookalikes [--enrol]  # the look-alike clips, live and offline

The engine runs over the whole clip with a gallery in a temporary file (so nothing of yours is
read or changed). Each labelled face is matched to a face the engine reported in that frame
(Hungarian, IoU >= 0.3); the figures come from tracker/eval/metrics.py:

  covered          labelled faces that got an identity (automatic or named)
  fragmentation    mean over labelled persons of the distinct identities their faces got (ideal 1)
  purity           face-weighted share of each identity's faces that are its majority person (ideal 1)
  named accuracy   (--enrol) labelled faces shown with their own name; wrong names: with another's
                   (each person enrolled from a tight crop of their largest labelled face)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.config import Config, load_config  # noqa: E402
from tracker.eval import metrics  # noqa: E402
from tracker.records import Frame, FrameResult  # noqa: E402

VIDEO = ROOT / "tests" / "data" / "ccby" / "shotchange_ccby_montage.mp4"
LABELS = ROOT / "tests" / "data" / "ccby" / "montage_labels.json"


def parse_sets(items: list[str]) -> dict[str, Any]:
    names = {f.name for f in fields(Config)}
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in names:
            raise SystemExit(f"--set wants KEY=VALUE with KEY one of: {', '.join(sorted(names))}; got {item!r}")
        out[key] = value.strip()
    return out


def enrol_labelled(gallery: Any, video: Path, labels: list[metrics.Label], cfg: Config,
                   chosen: dict[str, int] | None = None) -> dict[str, str]:
    """Enrol one photo per labelled person, named by the label, as a user would: a tight crop
    (1.6 times the box) around the face the labels file names for enrolment (its "enrol": person ->
    frame, the clearest face of each person), else their largest labelled face; enrolled with the
    configured detector (tracker.gallery.enroll.find_enrollment_face, with its fallbacks for tight
    crops). A person whose crop gives no face is left out (said on stderr)."""
    import cv2

    from tracker.detect import make_detector
    from tracker.embed import DlibEmbedder, embed
    from tracker.errors import ImageError
    from tracker.gallery.enroll import find_enrollment_face
    from tracker.gallery.gallery import encode_thumbnail

    def area(lab: metrics.Label) -> float:
        return float((lab.box[2] - lab.box[0]) * (lab.box[3] - lab.box[1]))

    best: dict[str, metrics.Label] = {}
    for lab in labels:
        cur = best.get(lab.person)
        if chosen and lab.person in chosen:
            if lab.frame == chosen[lab.person]:
                best[lab.person] = lab
        elif cur is None or area(lab) > area(cur):
            best[lab.person] = lab
    wanted = {lab.frame: [p for p, b in best.items() if b.frame == lab.frame] for lab in best.values()}
    embedder, detector = DlibEmbedder(), make_detector(cfg)
    cap = cv2.VideoCapture(str(video))
    index = 0
    while wanted:
        ok, bgr = cap.read()
        if not ok:
            break
        if index in wanted:
            rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            for person in wanted.pop(index):
                l, t, r, b = best[person].box
                cx, cy, half = (l + r) / 2, (t + b) / 2, max(r - l, b - t) * 0.8
                x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
                x1, y1 = int(min(rgb.shape[1], cx + half)), int(min(rgb.shape[0], cy + half))
                crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
                try:
                    e = embed(embedder, crop, find_enrollment_face(crop, detector))
                except ImageError:
                    print(f"{person}: no face found in the enrolment crop; not enrolled", file=sys.stderr)
                    continue
                gallery.enroll(person, e.descriptors, [encode_thumbnail(e.chips[0])])
        index += 1
    cap.release()
    if wanted:
        raise SystemExit(f"{video}: frames {sorted(wanted)} not found")
    return {p: p for p in best}


def run(video: Path, labels: list[metrics.Label], cfg: Config, enrol: bool,
        chosen: dict[str, int] | None = None, offline: bool = False) -> dict[str, Any]:
    """The figures of one clip: live (the engine, frame by frame, as `facetrack run`) or
    `offline` (pass 1 and the clustering of pass 2, as `facetrack analyze`)."""
    if offline:
        return run_offline(video, labels, cfg, enrol, chosen)
    from tracker.engine.pipeline import Engine
    from tracker.gallery.gallery import Gallery
    from tracker.sources import source_for

    results: dict[int, metrics.FrameFaces] = {}
    auto: set[int] = set()
    wanted = {lab.frame for lab in labels}

    def on_result(frame: Frame, result: FrameResult) -> None:
        for pid, known in zip(result.person_ids, result.known):
            if pid >= 0 and not known:
                auto.add(int(pid))
        if result.index in wanted:
            ids = tuple(int(p) if p >= 0 else None for p in result.person_ids)
            results[result.index] = metrics.FrameFaces(np.array(result.boxes), ids, tuple(result.names),
                                                       tuple(bool(k) for k in result.known))

    with tempfile.TemporaryDirectory() as tmp:
        cfg = cfg.replace(gallery=Path(tmp) / "gallery.sqlite3")
        with Gallery(cfg.gallery) as gallery:
            names = enrol_labelled(gallery, video, labels, cfg, chosen) if enrol else {}
            with Engine(cfg, gallery) as engine:
                source = source_for(str(video), cfg)
                started = time.perf_counter()
                summary = engine.run(source, on_result=on_result)
                seconds = time.perf_counter() - started
            people = len(gallery.people())

    matches = metrics.match_faces(labels, results)
    rep = metrics.report(matches).as_json()
    rep.update(automatic_identities=len(auto), gallery_people=people, frames=summary.frames,
               seconds=round(seconds, 2), fps=round(summary.frames / seconds, 2) if seconds else 0.0,
               video=str(video), threshold=cfg.threshold)
    if enrol:
        rep["named_accuracy"] = metrics.named_accuracy(matches, names)
        rep["wrong_names"] = metrics.wrong_names(matches, names)
    return rep


def run_offline(video: Path, labels: list[metrics.Label], cfg: Config, enrol: bool,
                chosen: dict[str, int] | None = None) -> dict[str, Any]:
    """As `facetrack analyze VIDEO`: pass 1 over the clip, then the tracks clustered and named."""
    from tracker.cli.analyze import GROUP_THRESHOLD
    from tracker.engine import offline, pass2
    from tracker.gallery.gallery import Gallery
    from tracker.sources import source_for

    wanted = {lab.frame for lab in labels}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = cfg.replace(gallery=Path(tmp) / "gallery.sqlite3")
        with Gallery(cfg.gallery) as gallery:
            names = enrol_labelled(gallery, video, labels, cfg, chosen) if enrol else {}
            started = time.perf_counter()
            p1 = offline.track_all(cfg, [source_for(str(video), cfg)])
            analysis = pass2.identify(p1, gallery, cfg, GROUP_THRESHOLD)
            seconds = time.perf_counter() - started
    ident: dict[str, int] = {}  # an analysis names its people; the figures count them by name
    results: dict[int, metrics.FrameFaces] = {}
    for r in analysis.results:
        if r.index in wanted:
            ids = tuple(ident.setdefault(n, len(ident)) if n is not None else None for n in r.names)
            results[r.index] = metrics.FrameFaces(np.array(r.boxes), ids, tuple(r.names),
                                                  tuple(bool(k) for k in r.known))
    matches = metrics.match_faces(labels, results)
    rep = metrics.report(matches).as_json()
    frames = len(analysis.results)
    rep.update(automatic_identities=sum(1 for p in analysis.people if not p.known), gallery_people=len(names),
               frames=frames, seconds=round(seconds, 2), fps=round(frames / seconds, 2) if seconds else 0.0,
               video=str(video), threshold=cfg.threshold)
    if enrol:
        rep["named_accuracy"] = metrics.named_accuracy(matches, names)
        rep["wrong_names"] = metrics.wrong_names(matches, names)
    return rep


def lookalikes(cfg: Config, enrol: bool) -> str:
    """Every look-alike clip (benchmarks/lookalikes.py), live and offline, side by side."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import lookalikes as clips

    rows = []
    for name, video, labels_path in clips.make_all(Path(tempfile.gettempdir()) / "facetrack-lookalikes"):
        labels = metrics.labels_from_json(json.loads(labels_path.read_text(encoding="utf-8")))
        for mode in ("live", "offline"):
            rep = run(video, labels, cfg, enrol, None, offline=mode == "offline")
            rows.append((name, mode, rep))
    head = f"{'clip':<22}{'mode':<9}{'covered':>8}{'frag':>6}{'purity':>8}{'ids':>5}"
    head += f"{'named':>8}{'wrong':>7}" if enrol else ""
    lines = [head]
    for name, mode, rep in rows:
        line = (f"{name:<22}{mode:<9}{rep['coverage']:>8.1%}{rep['fragmentation']:>6.2f}{rep['purity']:>8.3f}"
                f"{rep['identities']:>5}")
        if enrol:
            line += f"{rep['named_accuracy']:>8.1%}{rep['wrong_names']:>7}"
        lines.append(line)
    return "\n".join(lines)


def table(rep: dict[str, Any]) -> str:
    rows = [
        ("labelled faces", f"{rep['labelled']} ({rep['persons']} persons)"),
        ("matched to a result face", f"{rep['matched']}"),
        ("covered (got an identity)", f"{rep['covered']} ({rep['coverage']:.1%})"),
        ("fragmentation (per person)", f"{rep['fragmentation']:.2f}"),
        ("fragmentation (face-weighted)", f"{rep['fragmentation_weighted']:.2f}"),
        ("purity (face-weighted)", f"{rep['purity']:.3f}"),
        ("identities on labelled faces", f"{rep['identities']}"),
        ("automatic identities", f"{rep['automatic_identities']}"),
    ]
    if "named_accuracy" in rep:
        rows += [("named accuracy", f"{rep['named_accuracy']:.1%}"), ("wrong names", f"{rep['wrong_names']}")]
    rows.append(("engine time", f"{rep['seconds']:.1f} s, {rep['frames']} frames, {rep['fps']:.1f} frames/s"))
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    lines.append("\nidentities per person (identity: faces)")
    for person, ids in rep["detail"].items():
        lines.append(f"  {person:<24s} " + ", ".join(f"{i}: {n}" for i, n in ids.items()))
    if rep["mixed"]:
        lines.append("identities given to more than one person (person: faces)")
        for ident, persons in rep["mixed"].items():
            lines.append(f"  {ident:<24s} " + ", ".join(f"{p}: {n}" for p, n in persons.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", type=Path, default=VIDEO)
    p.add_argument("--labels", type=Path, help="labels JSON (default: the montage's, or VIDEO's stem + _labels.json)")
    p.add_argument("--threshold", type=float, help="match distance (Config.threshold)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any Config field; repeatable")
    p.add_argument("--enrol", action="store_true", help="enrol one labelled crop per person first")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--offline", action="store_true", help="as `facetrack analyze` (pass 1, then clustering)")
    p.add_argument("--lookalikes", action="store_true",
                   help="the look-alike clips (benchmarks/lookalikes.py), live and offline, side by side")
    args = p.parse_args(argv)

    default = LABELS if args.video == VIDEO else args.video.with_name(args.video.stem + "_labels.json")
    labels_path = args.labels or default
    data = json.loads(labels_path.read_text(encoding="utf-8"))
    labels = metrics.labels_from_json(data)
    overrides = parse_sets(args.set)
    if args.threshold is not None:
        overrides["threshold"] = args.threshold
    # Defaults and flags only: a user's config file or FACETRACK_* variables must not move the figures.
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as empty:
        pass
    try:
        cfg = load_config(Path(empty.name), env={}, overrides=overrides)
    finally:
        Path(empty.name).unlink()
    if args.lookalikes:
        print(lookalikes(cfg, args.enrol))
        return 0
    rep = run(args.video, labels, cfg, args.enrol, data.get("enrol"), offline=args.offline)
    print(json.dumps(rep, indent=2) if args.json else table(rep))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
