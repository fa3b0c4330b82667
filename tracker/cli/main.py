"""The `facetrack` command line."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import Config, load_config
from ..detect import registry as detectors
from ..engine.runtime import quiet_native_logs
from ..errors import FacetrackError
from ..paths import setup_logging, shown
from . import analyze as cli_analyze
from . import calibrate as cli_calibrate
from . import people as cli_people
from . import run as cli_run
from .args import Parser, number
from .run import SETTING_FLAGS, display_available

log = logging.getLogger("facetrack")

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEMO_MARKER = ".facetrack-demo"


def _assets() -> Path:
    """Bundled demo material: installed inside the package (`facetrack_assets`, the checkout's
    assets/ folder), or beside the package in a checkout."""
    candidates = [ASSETS]
    try:
        import importlib.util

        spec = importlib.util.find_spec("facetrack_assets")  # a folder of data, no module: its locations
        if spec is not None and spec.submodule_search_locations:
            candidates[:0] = [Path(p) for p in spec.submodule_search_locations]
    except (ImportError, ValueError):
        pass
    for candidate in candidates:
        if (candidate / "demo").is_dir() and (candidate / "people").is_dir():
            return candidate
    raise FacetrackError("the bundled demo assets are missing: reinstall facetrack (they ship in its wheel)")


def _add_common(p: argparse.ArgumentParser) -> None:
    # A string here, read by the config (config.gallery_location): a mistyped URL is then one line.
    p.add_argument("--gallery", metavar="FILE|URL",
                   help="gallery file (SQLite), or a postgresql://user@host/db URL that several machines share; "
                        "default: per-user data folder")
    p.add_argument("--config", type=Path, help="TOML settings file (default: per-user config folder)")
    p.add_argument("-v", "--verbose", action="store_true", help="more log lines")
    p.add_argument("-q", "--quiet", action="store_true", help="errors only")


def _add_engine(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threshold", type=number(0, 2, open_lo=True),
                   help="match distance (default 0.6; lower is stricter)")
    p.add_argument("--detector", choices=detectors.DETECTORS, help=detectors.describe())
    p.add_argument("--detect-width", type=int,
                   help="centerface: full frames are searched at this size, longer side in px (default 640)")
    p.add_argument("--upsample", type=number(0, 4, whole=True), help="hog/cnn upsampling: 1 finds faces down to ~40 px")
    p.add_argument("--detect-scale", type=number(0.05, 4.0), help="hog/cnn: detect on the frame resized by this factor")
    p.add_argument("--detect-every", type=number(1, 10_000, whole=True), help="full-frame detection every N frames")
    p.add_argument("--reembed-every", type=int, help="frames between descriptors of a decided face")
    p.add_argument("--forget-unnamed-after", type=float, metavar="DAYS",
                   help="remove automatic identities not seen for DAYS (checked at start and hourly)")
    p.add_argument("--rtsp-transport", choices=("auto", "tcp", "udp"),
                   help="RTSP over tcp, udp, or auto (default: TCP, then UDP if the camera refuses TCP)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="facetrack", description="Real-time face tracking and recognition.")
    parser.add_argument("--version", action="version", version=f"facetrack {__version__}")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="track faces in webcams, videos, streams or photos")
    run.add_argument("sources", nargs="*", metavar="SOURCE",
                     help="webcam index (0), video file, rtsp:// or http(s):// URL, image, or folder of images "
                          "(the desktop app may be started without: it opens where you left off)")
    run.add_argument("--headless", action="store_true", help="no window: for servers and batch jobs")
    run.add_argument("--output-json", type=Path, help="one JSON line per frame")
    run.add_argument("--output-video", type=Path, help="annotated video (MP4)")
    run.add_argument("--events", type=Path,
                     help="what happened (appeared, left, named, unknown, reidentified, stream lost...), as JSON lines")
    run.add_argument("--mqtt", metavar="URL",
                     help="publish events, presence and faces to an MQTT broker, with Home Assistant discovery: "
                          "mqtt[s]://[user[:password]@]host[:port][/prefix] (password also from "
                          "FACETRACK_MQTT_PASSWORD; needs the mqtt extra)")
    run.add_argument("--webhook", metavar="URL", action="append",
                     help="POST each event as JSON to URL, with retries (repeatable)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--parallel", action="store_true",
                     help="run every SOURCE (and the config's [[camera]] list) at once, a process each, "
                          "one shared gallery; --output-json/--events then merge them with a camera field")
    run.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                     help="as --parallel, but each camera a Ray actor, placed by Ray (no ADDRESS: a local Ray "
                          "instance; 'auto', 'ray://head:10001' or 'head:6379': a cluster, which needs "
                          "--gallery postgresql://...)")
    run.add_argument("--ray-cpus", type=int, metavar="N", help="with a local Ray instance: use N cores (default: all)")
    run.add_argument("--status-every", type=number(0.1, 86_400), metavar="S",
                     help="fps, drops, p95 latency and connection every S seconds, in the log and as a status "
                          "event (default: every 10 s with --parallel, never without)")
    run.add_argument("--allow-partial", action="store_true",
                     help="a video that ends before its last frame (truncated, corrupt) is not an error")
    _add_common(run)
    _add_engine(run)

    enroll = sub.add_parser("enroll", help="add a person from photos")
    enroll.add_argument("name", nargs="?", help="the person's name")
    enroll.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="image files or folders")
    enroll.add_argument("--folders", type=Path, metavar="DIR", help="enrol every subfolder of DIR as one person")
    enroll.add_argument("--largest", action="store_true",
                        help="in a photo of several faces of like size, take the largest (else: an error)")
    enroll.add_argument("--force", action="store_true",
                        help="enrol photos that do not look like one another (else: refused, naming them)")
    enroll.add_argument("--json", action="store_true", help="machine-readable output")
    enroll.add_argument("--no-merge", action="store_true",
                        help="keep an automatic identity that matches the photos apart (default: merge it in)")
    _add_common(enroll)

    cli_people.add_parser(sub, _add_common)
    cli_analyze.add_parsers(sub, _add_common, _add_engine)
    cli_calibrate.add_parser(sub, _add_common)

    demo = sub.add_parser("demo", help="run the bundled clip with the bundled portraits enrolled")
    demo.add_argument("--output", type=Path, default=Path("facetrack-demo"), help="output folder")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.add_argument("-v", "--verbose", action="store_true")
    demo.add_argument("-q", "--quiet", action="store_true")
    demo.add_argument("--config", type=Path)
    _add_engine(demo)
    return parser


def _setup_logging(args: argparse.Namespace) -> None:
    verbose = getattr(args, "verbose", False)
    level = logging.DEBUG if verbose else (logging.ERROR if getattr(args, "quiet", False) else logging.INFO)
    setup_logging(level, "facetrack: %(message)s")
    quiet_native_logs(verbose)


def _config(args: argparse.Namespace, **extra: Any) -> Config:
    overrides = {k: getattr(args, k, None) for k in SETTING_FLAGS}
    overrides.update(extra)
    return load_config(getattr(args, "config", None), overrides=overrides)


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def cmd_enroll(args: argparse.Namespace) -> int:
    from ..gallery.enroll import enroll, enroll_folders
    from ..gallery.gallery import Gallery

    cfg = _config(args)
    options: dict[str, Any] = {"merge": not args.no_merge, "threshold": cfg.threshold, "margin": cfg.margin,
                               "detector": detectors.make_detector(cfg), "largest": args.largest,
                               "force": args.force}
    if args.folders is not None:
        if args.name or args.paths:
            raise FacetrackError("use either NAME PATH... or --folders DIR, not both")
        with Gallery(cfg.gallery) as gallery:
            reports = enroll_folders(gallery, args.folders, **options)
    else:
        if not args.name or not args.paths:
            raise FacetrackError("usage: facetrack enroll NAME PATH... (or --folders DIR)")
        from ..gallery.schema import clean_name

        args.name = clean_name(args.name)  # a bad name fails before any photo is read
        with Gallery(cfg.gallery) as gallery:
            reports = [enroll(gallery, args.name, list(args.paths), **options)]
    failed: list[str] = []
    out = []
    for r in reports:
        for message in r.skip_messages():
            log.warning("skipped %s", message)
        for message in r.weak_messages():
            log.warning("%s", message)
        if r.person is None:
            failed.append(r.skipped[0][0].name if r.skipped else "?")
            continue
        out.append({"person": r.person.name, "enrolled": [str(p) for p in r.enrolled],
                    "skipped": [str(p) for p, _ in r.skipped], "descriptors": r.person.descriptors,
                    "merged": [{"person": n, "distance": round(d, 4)} for n, d in r.merged],
                    "matches": [{"person": n, "distance": round(d, 4)} for n, d in r.matches]})
        if not args.json:
            print(f"{r.person.name}: enrolled {len(r.enrolled)} photo(s), {r.person.descriptors} descriptor(s) stored")
            for n, d in r.merged:
                print(f"  {n} was {r.person.name} (distance {d:.2f}): merged")
            for n, d in r.matches:
                print(f"  {n} looks like {r.person.name} (distance {d:.2f}); kept apart (--no-merge): "
                      f"`facetrack people merge {n!r} {r.person.name!r}` joins them")
    if args.json:
        _print_json(out)
    if failed:  # the reasons are the lines above; the error line says which
        raise FacetrackError(f"{len(failed)} of {len(reports)} not enrolled: {', '.join(failed[:5])}"
                             + (" ..." if len(failed) > 5 else ""))
    return 0


def cmd_people(args: argparse.Namespace) -> int:
    return cli_people.run(args, _config(args))


def cmd_demo(args: argparse.Namespace) -> int:
    from ..gallery.enroll import enroll_folders
    from ..gallery.gallery import Gallery

    assets = _assets()
    out: Path = args.output
    if out.exists() and not out.is_dir():
        raise FacetrackError(f"--output {out} is a file; the demo needs a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FacetrackError(f"cannot create the demo folder {out}: {exc.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise FacetrackError(f"cannot write in the demo folder {out}")
    gallery_path = out / "gallery.sqlite3"
    marker = out / DEMO_MARKER
    if gallery_path.exists():
        # The demo starts from a fresh gallery of its own every time, and never replaces one it
        # did not make (someone's real gallery in that folder).
        if not marker.exists():
            raise FacetrackError(f"{gallery_path} exists and was not made by the demo; not replacing it "
                                 f"(choose another --output folder)")
        for f in (gallery_path, Path(f"{gallery_path}-wal"), Path(f"{gallery_path}-shm")):
            f.unlink(missing_ok=True)
    marker.write_text("this folder's gallery.sqlite3 was made by `facetrack demo` and is replaced by it\n")
    cfg = _config(args, gallery=gallery_path)
    with Gallery(gallery_path) as gallery:
        for r in enroll_folders(gallery, assets / "people", detector=detectors.make_detector(cfg)):
            if r.person is not None:
                log.info("enrolled %s from %d photo(s)", r.person.name, len(r.enrolled))
    run_args = argparse.Namespace(
        sources=[str(assets / "demo" / "short_hamilton_clip.mp4")], headless=True,
        output_json=out / "demo.jsonl", output_video=out / "demo.mp4", events=out / "events.jsonl",
        no_progress=args.no_progress, allow_partial=False)
    code = cli_run.cmd_run(run_args, cfg)
    print(f"wrote {out / 'demo.mp4'}, {out / 'demo.jsonl'} and {out / 'events.jsonl'}")
    return code


def app_argv(argv: Sequence[str], commands: Sequence[str]) -> list[str]:
    """`facetrack --gallery G [SOURCE]` (options, no command) means `facetrack run ...`: the app.

    The only options before a command are -h and --version, so any other first option starts the
    app's own options (whatever follows it, a folder named like a command included)."""
    argv = list(argv)
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version") and argv[0] not in commands:
        return ["run", *argv]
    return argv


def _tolerant_stdio() -> None:
    """Output never fails on a character: a file name that is not UTF-8 prints as \\xff escapes."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            with contextlib.suppress(ValueError, io.UnsupportedOperation):
                stream.reconfigure(errors="backslashreplace")


def os_error_line(exc: OSError) -> str:
    """An OSError the user's file system caused (a name too long, permission denied, a full disk),
    worded as one line: the file, and the system's own words."""
    what = exc.strerror or type(exc).__name__
    return f"{shown(exc.filename)}: {what}" if exc.filename is not None else f"{what}"


def main(argv: Sequence[str] | None = None) -> int:
    _tolerant_stdio()
    parser = build_parser()
    commands = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    args = parser.parse_args(cli_analyze.ray_argv(app_argv(sys.argv[1:] if argv is None else argv,
                                                             list(commands or ()))))
    _setup_logging(args)
    try:
        if args.command is None:
            if display_available():
                try:
                    from ui.launch import platform_problem, run_app
                except ImportError as exc:
                    raise FacetrackError(f"the desktop app is unavailable: {exc}") from None
                problem = platform_problem()
                if problem:
                    raise FacetrackError(f"the desktop app cannot open a window: {problem}")
                return int(run_app(_config(args), []))
            parser.print_help()
            return 2
        handler = {"run": lambda a: cli_run.cmd_run(a, _config(a)), "enroll": cmd_enroll, "people": cmd_people,
                   "demo": cmd_demo,
                   "analyze": lambda a: cli_analyze.cmd_analyze(a, _config(a)),
                   "cluster": lambda a: cli_analyze.cmd_cluster(a, _config(a), a.gallery is not None),
                   "calibrate": lambda a: cli_calibrate.run(a, _config(a))}[args.command]
        return handler(args)
    except FacetrackError as exc:
        print(f"facetrack: error: {shown(str(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:  # the file system's refusal, not a fault of facetrack's
        if os.environ.get("FACETRACK_DEBUG"):
            raise
        print(f"facetrack: error: {os_error_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("facetrack: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("FACETRACK_DEBUG"):
            raise
        print(f"facetrack: internal error: {type(exc).__name__}: {exc} (set FACETRACK_DEBUG=1 for details)",
              file=sys.stderr)
        return 70


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
