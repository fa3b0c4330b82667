"""`facetrack run`: sources one after another, or many cameras at once (--parallel, --ray), with
Ctrl+C / SIGTERM ending the current frame cleanly and retention of unnamed faces."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .. import models
from ..config import Config, gallery_files
from ..engine.runtime import stopped_code, with_signals
from ..errors import FacetrackError

log = logging.getLogger("facetrack")

# Flags that are settings: given on the command line, they win over the app's saved settings.
SETTING_FLAGS = ("threshold", "detector", "detect_width", "upsample", "detect_scale", "detect_every", "reembed_every",
                 "gallery", "rtsp_transport", "forget_unnamed_after", "mqtt", "webhook")


def display_available() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def cmd_run(args: argparse.Namespace, cfg: Config) -> int:
    from ..sinks.notify import wiring as notify
    from ..sinks.outputs import check_outputs

    if getattr(args, "ray_cpus", None) is not None and getattr(args, "ray", None) is None:
        raise FacetrackError("--ray-cpus goes with --ray (the cores of a local Ray instance)")
    if getattr(args, "parallel", False) or getattr(args, "ray", None) is not None:
        return _run_parallel(args, cfg)  # checks its cameras' outputs itself
    config_file = getattr(args, "config", None)
    check_outputs({"json": args.output_json, "events": args.events, "video": args.output_video}, args.sources,
                  [*gallery_files(cfg.gallery), *([config_file] if config_file else [])])
    notify.check(cfg)
    outputs = any(getattr(args, k, None) for k in ("output_json", "output_video", "events", "mqtt", "webhook"))
    app = not args.headless and not outputs and display_available()
    if not args.sources and not app:
        raise FacetrackError("run needs a SOURCE without a window (a webcam index, a video file, a URL, "
                             "an image or a folder); only the desktop app opens where it left off")
    if app:
        try:
            from ui.launch import platform_problem, run_app
        except ImportError as exc:
            log.warning("the desktop app is unavailable (%s); running headless", exc)
        else:
            problem = platform_problem()
            if problem:
                log.warning("the desktop app cannot open a window (%s); running headless", problem)
            else:
                explicit = frozenset(k for k in SETTING_FLAGS if getattr(args, k, None) is not None)
                return int(run_app(cfg, args.sources, explicit))
    if not args.sources:  # the window could not open after all: nothing to run headless
        raise FacetrackError("run needs a SOURCE: the desktop app cannot open here (see the line above)")
    # Signals first: Ctrl+C or SIGTERM while a stream is still connecting ends the wait too.
    return with_signals(lambda stop, caught: _run_sources(args, cfg, stop, caught))


def _status_every(args: argparse.Namespace) -> float | None:
    """--status-every (its range checked as it was read: cli_args.number); None when not given."""
    every = getattr(args, "status_every", None)
    return None if every is None else float(every)


def _run_parallel(args: argparse.Namespace, cfg: Config) -> int:
    from ..config import default_config_path
    from ..engine import camera_list

    flag = "--parallel" if args.ray is None else "--ray"
    if args.output_video:
        raise FacetrackError(f"--output-video with {flag}: give each camera its own (output-video in "
                             "its [[camera]] table)")
    if args.ray_cpus is not None and (args.ray not in ("local",) or args.ray_cpus < 1):
        raise FacetrackError("--ray-cpus wants a positive number, with --ray and no address (a local instance)")
    every = _status_every(args) or 10.0
    config_file = getattr(args, "config", None) or default_config_path()
    # The config's cameras: from a --config given, or the default config when no SOURCE is (a
    # quick `run --parallel a.mp4 b.mp4` does not also start the site's cameras).
    listed = camera_list.cameras_from_toml(config_file) if getattr(args, "config", None) or not args.sources else []
    cameras = listed + camera_list.cameras_for(args.sources, [c.name for c in listed])
    camera_list.check_cameras(cameras, {"json": args.output_json, "events": args.events},
                       [*gallery_files(cfg.gallery), *([config_file] if config_file.exists() else [])])
    level = logging.getLogger().getEffectiveLevel()
    from ..gallery.gallery import Gallery
    from ..sinks.notify import wiring as notify

    notify.check(cfg)
    with Gallery(cfg.gallery):  # a gallery that cannot open: said now, not by every camera
        pass
    # facetrack's own availability on the broker (its last will), and the broker checked once
    # here: a wrong password is one line, not one per camera.
    link = notify.open_link(cfg, "run")
    try:
        return with_signals(lambda stop, caught: _run_cameras(args, cfg, cameras, every, level, stop, caught))
    finally:
        if link is not None:
            link.close()


def _run_cameras(args: argparse.Namespace, cfg: Config, cameras: list[Any], every: float, level: int,
                 stop: threading.Event, caught: list[int]) -> int:
    from ..engine import cameras as cams
    from ..gallery.gallery import Gallery

    # Retention for all cameras runs here, on a gallery opened only when it is asked for.
    retain = cfg.forget_unnamed_after > 0
    with Gallery(cfg.gallery) if retain else contextlib.nullcontext() as gallery:
        tick = _Retention(gallery, cfg.forget_unnamed_after).check if gallery is not None else None
        if args.ray is None:
            code = cams.run_cameras(cameras, cfg, stop, args.output_json, args.events, every, level, on_tick=tick)
        else:
            from ..engine.ray_cameras import run_cameras_ray

            code = run_cameras_ray(cameras, cfg, stop, None if args.ray == "local" else args.ray,
                                   args.ray_cpus, args.output_json, args.events, every, level, on_tick=tick)
    return stopped_code(caught) if stop.is_set() else code


class _Retention:
    """`forget-unnamed-after`: automatic identities unseen for that many days are removed at the
    start of a run and then hourly (a camera runs for weeks)."""

    EVERY_S = 3600.0

    def __init__(self, gallery: Any, days: float) -> None:
        self.gallery, self.days = gallery, days
        self._last = -self.EVERY_S
        self.check()

    def check(self) -> None:
        now = time.monotonic()
        if self.days <= 0 or now - self._last < self.EVERY_S:
            return
        self._last = now
        gone = self.gallery.forget_unseen(self.days)
        if gone:
            log.info("removed %d automatic identities not seen for %g days: %s", len(gone), self.days,
                     ", ".join(p.name for p in gone))


def _run_sources(args: argparse.Namespace, cfg: Config, stop: threading.Event, caught: list[int]) -> int:
    from ..sources import source_for

    sources = [source_for(s, cfg) for s in args.sources]
    for source in sources:
        source.watch(stop)
        try:
            source.ensure_open()
        except FacetrackError:
            if stop.is_set():
                print("facetrack: stopped while connecting", file=sys.stderr)
                return stopped_code(caught)
            raise
    try:
        return _track_sources(args, cfg, sources, stop, caught)
    except FacetrackError as exc:
        if stop.is_set():  # a signal ended a wait (a FIFO's reader): stopped, not failed; what was lost is said
            print(f"facetrack: stopped; {exc}", file=sys.stderr)
            return stopped_code(caught)
        raise


def _track_sources(args: argparse.Namespace, cfg: Config, sources: list[Any], stop: threading.Event,
                   caught: list[int]) -> int:
    from ..engine.camera_list import short_name
    from ..engine.pipeline import Engine, Summary
    from ..gallery.gallery import Gallery
    from ..records import Frame, FrameResult
    from ..sinks.notify import wiring as notify
    from ..sinks.outputs import LineFile
    from ..sinks.results import EventLines, EventSink, JsonlSink, Sink, VideoSink, close_all

    every = _status_every(args)
    summary = Summary()
    sinks: list[Sink] = []
    link = None
    with Gallery(cfg.gallery) as gallery, Engine(cfg, gallery) as engine:
        retention = _Retention(gallery, cfg.forget_unnamed_after)
        try:
            if args.output_json:
                sinks.append(JsonlSink(LineFile(args.output_json, stop=stop)))
            # Events: to the file, the MQTT broker (checked now: a wrong password is one line) and
            # webhooks, as one camera named after the (first) source.
            camera = short_name(args.sources[0])
            link = notify.open_link(cfg, camera, notify.camera_will(cfg, camera))
            files = [EventLines(LineFile(args.events, stop=stop))] if args.events else []
            events = notify.event_sink(cfg, camera, gallery, files, link)
            if events is not None:
                sinks.append(events)
            if args.output_video:
                # One video for all sources, at the first one's rate; later frames are fitted to its size.
                sinks.append(VideoSink(args.output_video, sources[0].fps or 30.0))
            # Said once everything opened: a bad gallery or output is one error line, nothing before it.
            info = models.build_info()
            log.info("%s", info.describe())
            if info.hint():
                log.info("hint: %s", info.hint())
            for source in sources:
                bar = None
                if not args.no_progress and not source.live:
                    from tqdm import tqdm
                    bar = tqdm(total=source.total, unit="frame", desc=Path(source.name).name, leave=False, disable=None)

                def tick(frame: Frame, result: FrameResult, bar: Any = bar) -> None:
                    if bar is not None:
                        bar.update(1)
                    retention.check()

                reporter = None
                if every is not None:
                    from ..engine.cameras import StatusReporter

                    reporter = StatusReporter(Path(source.name).name, source, summary, every,
                                              [s for s in sinks if isinstance(s, EventSink)], threading.Event())
                    reporter.start()
                try:
                    engine.run(source, sinks, stop, on_result=tick, summary=summary)
                finally:
                    if bar is not None:
                        bar.close()
                    if reporter is not None:
                        reporter.stop.set()
                        reporter.report()
                if stop.is_set():
                    break
        finally:
            try:
                close_all(sinks)
            finally:
                if link is not None:
                    link.close()
    print(summary.describe())
    if stop.is_set():
        return stopped_code(caught)
    short = [s for s in sources if s.incomplete]
    if short and args.allow_partial:
        for s in short:
            log.warning("%s", s.incomplete)
    elif short:
        raise FacetrackError(f"{short[0].incomplete}; the outputs hold what was read "
                             f"(--allow-partial accepts such a video)")
    return 0
