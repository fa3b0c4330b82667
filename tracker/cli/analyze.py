"""`facetrack analyze` (who appears when in recordings) and `facetrack cluster` (group the faces
of photos)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config, gallery_files
from ..errors import FacetrackError
from ..paths import shown
from .args import number

log = logging.getLogger("facetrack")

GROUP_THRESHOLD = 0.5  # tracks (analyze): dlib's own face-clustering distance; stricter than 0.6 because one
# wrong link merges two people
PHOTO_GROUP_THRESHOLD = 0.55  # single photos (cluster): one face each is noisier than a track's many; measured on
# a collage of 4 people x 6 montage crops: 4 groups of 6 at 0.55, 6 groups at 0.5, people mixed at 0.6


def add_parsers(sub: Any, add_common: Callable[[argparse.ArgumentParser], None],
                add_engine: Callable[[argparse.ArgumentParser], None]) -> None:
    a = sub.add_parser("analyze", help="who appears when in recordings or photo folders: a report in a folder")
    # nargs="*": an empty list gets our own one-line error (and `--ray a.mp4`: see ray_argv).
    a.add_argument("sources", nargs="*", metavar="SOURCE", help="video files, images or folders of images")
    a.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="folder for report.json, report.html, people.png, timeline.png and thumbnails")
    a.add_argument("--output-json", type=Path, help="the final labels, one JSON line per frame (as `run` writes)")
    a.add_argument("--save-to-gallery", action="store_true",
                   help="store the new people as automatic identities, so `people rename` can name them")
    a.add_argument("--cluster-threshold", type=number(0, 2, open_lo=True), default=GROUP_THRESHOLD, metavar="D",
                   help=f"tracks closer than this are one person (default {GROUP_THRESHOLD})")
    a.add_argument("--no-progress", action="store_true", help="no progress bar")
    a.add_argument("--allow-partial", action="store_true",
                   help="a video that ends before its last frame (truncated, corrupt) is not an error")
    a.add_argument("--force", action="store_true",
                   help="replace report files in --out that facetrack did not write (an older report, say)")
    a.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="track the sources on a Ray cluster, one task per source (no ADDRESS: a local Ray "
                        "instance on this machine; 'auto', 'ray://head:10001' or 'head:6379': a cluster)")
    a.add_argument("--ray-cpus", type=int, metavar="N", help="with a local Ray instance: use N cores (default: all)")
    a.add_argument("--segment-minutes", type=number(MIN_SEGMENT_MIN, 100_000, zero=True), default=10.0, metavar="M",
                   help="pass 1 tracks videos longer than M minutes in segments of M, each a task of its "
                        "own (with --ray, spread over the workers); 0: whole recordings (default 10)")
    add_common(a)
    add_engine(a)

    c = sub.add_parser("cluster", help="group the faces of photos by person")
    c.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="images or folders of images")
    # Its own name (dest): the grouping distance is not the gallery's match threshold, which
    # naming the groups reads from the settings.
    c.add_argument("--threshold", dest="group_threshold", type=number(0, 2, open_lo=True),
                   default=PHOTO_GROUP_THRESHOLD, metavar="D",
                   help=f"faces closer than this are one group (default {PHOTO_GROUP_THRESHOLD}); names come from "
                        "the gallery at its own match threshold")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.add_argument("--upsample", type=number(0, 4, whole=True), help="detector upsampling (default: the setting, 1)")
    add_common(c)


MIN_SEGMENT_MIN = 0.1


def ray_argv(argv: list[str]) -> list[str]:
    """`analyze --ray a.mp4 b.mp4` (and `run --ray`): `--ray` takes an optional ADDRESS, so argparse
    would take a.mp4 for it (and the sources' order would change). A word after `--ray` that is no
    address stays a source."""
    from ..engine.distributed import looks_like_address

    if "analyze" not in argv and "run" not in argv:
        return argv
    out = list(argv)
    for i, word in enumerate(out[:-1]):
        nxt = out[i + 1]
        if word == "--ray" and not nxt.startswith("-") and not looks_like_address(nxt):
            out[i] = "--ray=local"
    return out


def _check_threshold(value: float) -> float:
    if not 0.0 < value < 2.0:
        raise FacetrackError(f"the grouping threshold must be between 0 and 2, got {value}")
    return value


def _once(sources: list[str]) -> list[str]:
    """Each source once, in the order given: the same file named twice (another spelling, a link)
    would be analysed twice and its faces counted double."""
    import os

    seen: dict[str, str] = {}
    for spec in sources:
        key = os.path.realpath(spec) if Path(spec).exists() else spec
        if key in seen:
            log.warning("%s is %s, given already; analysed once", spec, seen[key])
            continue
        seen[key] = spec
    return list(seen.values())


def cmd_analyze(args: argparse.Namespace, cfg: Config) -> int:
    from ..engine.runtime import with_signals
    from ..sinks import report
    from ..sinks.outputs import check_outputs
    from ..sources import source_for

    threshold = _check_threshold(args.cluster_threshold)
    if not args.sources:
        raise FacetrackError("analyze needs a SOURCE: video files, images or folders of images")
    args.sources = _once(args.sources)
    if args.ray_cpus is not None and (args.ray is None or args.ray_cpus < 1):
        raise FacetrackError("--ray-cpus wants a positive number, with --ray and no address (a local instance)")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise FacetrackError(f"--out {out} is a file; give a folder")
    # The report's own files are outputs too: --output-json may not be one of them.
    check_outputs({"json": args.output_json}, args.sources,
                  [*gallery_files(cfg.gallery), *(out / name for name in report.FILES)])
    report.claim(out, args.force)
    sources = [source_for(s, cfg) for s in args.sources]
    for s in sources:
        if s.live:
            raise FacetrackError(f"{s.name}: analyze reads recordings (video files, photos), not live sources; "
                                 f"record it first or use `facetrack run`")
        s.ensure_open()

    # Ctrl+C or SIGTERM: pass 1 stops and nothing is written; once writing has begun, it ends
    # first (a few seconds), so the outputs are never half old, half new.
    return with_signals(lambda stop, caught: _analyze(args, cfg, sources, out, threshold, stop, caught))


def _analyze(args: argparse.Namespace, cfg: Config, sources: list[Any], out: Path, threshold: float,
             stop: threading.Event, caught: list[int]) -> int:
    from ..engine import offline, pass2
    from ..engine.runtime import stopped_code
    from ..gallery.gallery import Gallery
    from ..sinks import report
    from ..sinks.outputs import lines_into
    from ..sinks.results import JsonlSink

    bar = None
    try:
        if not args.no_progress and args.ray is None:  # Ray: a line per source tracked instead
            from tqdm import tqdm
            totals = [s.total for s in sources]
            bar = tqdm(total=sum(t or 0 for t in totals) if all(totals) else None, unit="frame", desc="analyzing",
                       leave=False, disable=None)
        pieces = offline.plan(sources, args.segment_minutes * 60.0)
        for s in sources:
            s.close()  # opened to check them and plan; each piece opens its file again where it runs
        if args.ray is not None:
            from ..engine.distributed import track_all_ray

            # Ray has its own ^C handling: the tasks stop with the driver.
            ours = signal.signal(signal.SIGINT, signal.default_int_handler)
            try:
                p1 = track_all_ray(cfg, pieces, None if args.ray == "local" else args.ray, args.ray_cpus)
            finally:
                signal.signal(signal.SIGINT, ours)
        else:
            p1 = offline.track_pieces(cfg, pieces, stop,
                                      on_frame=(lambda _f: bar.update(1)) if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    if stop.is_set():
        print("facetrack: interrupted; nothing written", file=sys.stderr)
        return stopped_code(caught)

    with Gallery(cfg.gallery, readonly=not args.save_to_gallery) as gallery:
        analysis = pass2.identify(p1, gallery, cfg, threshold)
        if stop.is_set():
            print("facetrack: interrupted; nothing written", file=sys.stderr)
            return stopped_code(caught)
        if args.save_to_gallery:
            saved = pass2.save_to_gallery(analysis, gallery, cfg)
            log.info("stored %d new people in %s: %s", len(saved), gallery.where, ", ".join(saved) or "none")
    durations: dict[str, float] = {}
    for r in p1.results:
        fps = p1.fps.get(r.source, 0.0)
        if fps > 0:
            durations[r.source] = max(durations.get(r.source, 0.0), r.time + 1.0 / fps)
    report.write(analysis, out, durations)
    if args.output_json:
        with lines_into(args.output_json) as fh:  # whole, or the old file left as it was
            sink = JsonlSink(fh)
            for result in analysis.results:
                sink.write_result(result)
    if stop.is_set():
        print("facetrack: stopped once the report and labels were written whole", file=sys.stderr)
        return stopped_code(caught)
    if p1.incomplete and not args.allow_partial:
        raise FacetrackError(f"{p1.incomplete[0]}; the report holds what was read "
                             f"(--allow-partial accepts such a video)")
    for why in p1.incomplete:
        log.warning("%s", why)
    known = [p.name for p in analysis.people if p.known]
    print(f"{len(analysis.people)} people ({len(known)} known) in {len(p1.results)} frames; "
          f"report: {out / 'report.html'}")
    for p in analysis.people:
        print(f"  {p.name}\t{'known' if p.known else 'new'}\t{report.clock(p.screen_time)} on screen\t"
              f"{len(p.appearances)} appearance(s)")
    return 0


def cmd_cluster(args: argparse.Namespace, cfg: Config, gallery_given: bool) -> int:
    from ..detect import make_detector
    from ..embed import DlibEmbedder, embed
    from ..gallery.gallery import Gallery
    from ..identity import clustering
    from ..sources.images import is_image_path, list_images, load_image_scaled

    threshold = _check_threshold(args.group_threshold)
    if args.upsample is not None:
        cfg = cfg.replace(upsample=args.upsample)
    files: list[tuple[Path, bool]] = []  # (path, named by the user)
    for p in args.paths:
        if p.is_dir():
            files.extend((f, False) for f in list_images(p))
        elif p.exists():
            if not is_image_path(p):
                raise FacetrackError(f"{p}: not an image file")
            files.append((p, True))
        else:
            raise FacetrackError(f"{p}: no such file or folder")
    if not files:
        raise FacetrackError("no images to group")
    detector, embedder = make_detector(cfg), DlibEmbedder(cfg.num_jitters)
    faces: list[tuple[str, list[int]]] = []
    vectors: list[np.ndarray] = []
    cannot: list[tuple[int, int]] = []
    for path, named in files:
        try:
            image, scale = load_image_scaled(path)
        except FacetrackError as exc:
            if named:
                raise
            log.warning("%s; skipped", exc)
            continue
        boxes = detector.detect(image).boxes
        emb = embed(embedder, image, detector.alignment_boxes(boxes))
        first = len(faces)
        for box, d in zip(boxes, emb.descriptors):
            faces.append((shown(path), [int(round(v * scale)) for v in box]))
            vectors.append(d)
        mine = np.asarray(emb.descriptors, np.float64).reshape(-1, 128)
        within = np.sqrt(np.maximum(((mine[:, None] - mine[None]) ** 2).sum(-1), 0.0))
        cannot.extend((first + i, first + j) for i, j in clustering.one_image_links(within, threshold))
    labels = clustering.cluster([v[None] for v in vectors], threshold, cannot)
    members: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        members.setdefault(lab, []).append(i)
    names: dict[int, str | None] = {lab: None for lab in members}
    if gallery_given:
        with Gallery(cfg.gallery, readonly=True) as gallery:
            known = {p.id: p.known for p in gallery.people()}
            used: set[int] = set()
            for lab in sorted(members):
                pid, _ = clustering.match_people(np.stack([vectors[i] for i in members[lab]]), gallery.vectors,
                                                 gallery.labels, {k: v for k, v in known.items() if v},
                                                 cfg.threshold, 0.0, cfg.margin, cfg.knn)
                p = gallery.person(pid) if pid >= 0 and pid not in used else None
                if p is not None:
                    names[lab] = p.name
                    used.add(pid)
    order = sorted(members)  # cluster() numbers groups largest first
    if args.json:
        groups = [{"person": names[lab], "faces": [{"source": faces[i][0], "box": faces[i][1]} for i in members[lab]]}
                  for lab in order]
        print(json.dumps({"groups": groups}, indent=2, ensure_ascii=False))
        return 0
    print(f"{len(faces)} faces in {len(files)} photo(s): {len(order)} group(s)")
    for n, lab in enumerate(order, 1):
        who = f" ({names[lab]})" if names[lab] else ""
        print(f"group {n}{who}: {len(members[lab])} face(s)")
        for i in members[lab]:
            print(f"  {faces[i][0]}\t{faces[i][1]}")
    return 0
