"""Offline analysis for the app's Analyze…: the work itself and the process it runs in (no widgets).

The analysis (tracker/engine/offline.py: pass 1 tracks the whole file with a scratch gallery, pass 2
groups the tracks and names them from the user's gallery, read only) runs in a child process,
so that dlib, which holds the GIL, never holds the window's (see AnalysisJob for the measurement).
A relay thread here passes on what the child says to callbacks; ui/analysis.py turns those into
Qt signals, which reach the window queued.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tracker.config import Config
from tracker.engine import offline, pass2
from tracker.errors import FacetrackError
from tracker.gallery.gallery import Gallery
from tracker.records import DESCRIPTOR_SIZE
from tracker.sinks import report
from tracker.sinks.outputs import write_atomic
from tracker.sources import source_for
from tracker.sources.files import ImageSource

log = logging.getLogger(__name__)

THREAD_NAME = "facetrack-analysis"
PROGRESS_S = 0.1  # progress reaches the window at most this often: a queued signal per frame is noise
TERMINATE_S = 0.5  # a closing window terminates the process this long before its wait ends, if it has not stopped


# ---------------------------------------------------------------------- the result
@dataclass(frozen=True)
class AnalysisResult:
    """One finished analysis of one video file, with what the timeline needs to seek."""

    spec: str  # the file as the session names it (what `Session.open` was given)
    analysis: pass2.Analysis  # its `results` emptied: the frame times below are all the window keeps
    duration: float  # seconds
    fps: float
    times: NDArray[np.float64]  # per analysed frame, in order: its time in the file...
    indices: NDArray[np.int64]  # ...and its frame index (a seek takes an index; VFR files exist)

    def frame_at(self, t: float) -> int:
        """The frame on screen at `t` seconds: the last one that starts at or before it."""
        if len(self.times) == 0:
            return max(0, int(round(t * (self.fps or 30.0))))
        k = int(np.searchsorted(self.times, t + 1e-6, side="right")) - 1
        return int(self.indices[max(0, k)])

    def time_of(self, index: int) -> float:
        if len(self.indices) == 0:
            return index / (self.fps or 30.0)
        k = int(np.searchsorted(self.indices, index, side="right")) - 1
        return float(self.times[max(0, k)])


def appearances_csv(analysis: pass2.Analysis) -> str:
    """One row per appearance: person, known, source, start, end, duration (seconds)."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["person", "known", "source", "start", "end", "duration"])
    for p in analysis.people:
        for a in p.appearances:
            out.writerow([p.name, "true" if p.known else "false", a.source, f"{a.start:.3f}", f"{a.end:.3f}",
                          f"{a.end - a.start:.3f}"])
    return buf.getvalue()


def appearances_json(analysis: pass2.Analysis) -> str:
    """report.json's contract (`facetrack analyze`), so a script reads either; no thumbnails here."""
    return json.dumps(report.report_json(analysis, {}), indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------- kept for the next start
SAVED_VERSION = 1


def _saved_path(spec: str, folder: Path) -> Path:
    key = hashlib.sha1(os.fsencode(os.path.abspath(spec))).hexdigest()[:20]
    return folder / f"{key}.json"


def _stamp(spec: str) -> list[int] | None:
    """The file's size and modification time: a saved analysis of an older version is not it."""
    try:
        st = os.stat(spec)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def save_result(result: AnalysisResult, folder: Path) -> None:
    """The timeline of an analysis, kept so that the next start shows it again for that file (the
    file's size and time with it, so a changed file is analysed afresh). Errors are logged only."""
    a = result.analysis
    data = {
        "version": SAVED_VERSION, "spec": result.spec, "stamp": _stamp(result.spec), "duration": result.duration,
        "fps": result.fps, "times": result.times.tolist(), "indices": result.indices.tolist(),
        "sources": list(a.sources), "cannot": [list(c) for c in a.cannot],
        "people": [{"name": p.name, "known": p.known, "person_id": p.person_id,
                    "distance": None if p.distance != p.distance else p.distance, "tracks": list(p.tracks),
                    "faces": p.faces, "screen_time": p.screen_time,
                    "appearances": [[ap.source, ap.start, ap.end] for ap in p.appearances]} for p in a.people],
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(_saved_path(result.spec, folder), json.dumps(data).encode("utf-8"))
    except OSError as exc:
        log.warning("could not keep the analysis of %s for the next start: %s", result.spec, exc.strerror)


def load_result(spec: str, folder: Path) -> AnalysisResult | None:
    """The analysis saved for `spec`, if the file is still the one analysed; else None."""
    path = _saved_path(spec, folder)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != SAVED_VERSION or data.get("spec") != spec or data.get("stamp") != _stamp(spec):
            return None
        people = [pass2.PersonFound(p["name"], bool(p["known"]), int(p["person_id"]),
                                      float("nan") if p["distance"] is None else float(p["distance"]),
                                      [int(t) for t in p["tracks"]], np.zeros((0, DESCRIPTOR_SIZE), np.float32),
                                      faces=int(p["faces"]), screen_time=float(p["screen_time"]),
                                      appearances=[pass2.Appearance(str(s), float(a), float(b))
                                                   for s, a, b in p["appearances"]])
                  for p in data["people"]]
        analysis = pass2.Analysis([str(x) for x in data["sources"]], people, [],
                                    [(int(a), int(b)) for a, b in data["cannot"]])
        return AnalysisResult(spec, analysis, float(data["duration"]), float(data["fps"]),
                              np.asarray(data["times"], np.float64), np.asarray(data["indices"], np.int64))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none kept, or unreadable: the user analyses again


# ---------------------------------------------------------------------- the analysis itself
ProgressCallback = Callable[[int, int, str], None]  # frames done, frames in all (0: unknown), phase


def analyze(spec: str, cfg: Config, threshold: float, stop: threading.Event,
            on_progress: ProgressCallback) -> AnalysisResult | None:
    """Both passes over one video file, as `facetrack analyze` runs them; None when stopped."""
    source = source_for(spec, cfg)
    if source.live or isinstance(source, ImageSource):
        raise FacetrackError(f"{spec}: Analyze reads video files")
    source.ensure_open()
    total = source.total or 0
    done = 0
    last = 0.0

    def on_frame(_frame: object) -> None:
        nonlocal done, last
        done += 1
        now = time.monotonic()
        if now - last >= PROGRESS_S:
            last = now
            on_progress(done, total, "tracking")

    p1 = offline.track_all(cfg, [source], stop, on_frame=on_frame)
    if stop.is_set():
        return None
    on_progress(done, total, "grouping")
    # Read only: the analysis names what it found from the gallery and never writes it (an
    # absent gallery reads as empty and is not created).
    with Gallery(cfg.gallery, readonly=True) as gallery:
        analysis = pass2.identify(p1, gallery, cfg, threshold)
    if stop.is_set():
        return None
    fps = p1.fps.get(source.name, 0.0) or source.fps or 30.0
    mine = [r for r in analysis.results if r.source == source.name]
    times = np.array([r.time for r in mine], np.float64)
    indices = np.array([r.index for r in mine], np.int64)
    duration = max(float(times[-1]) + 1.0 / fps if len(times) else 0.0, total / fps)
    # What crosses back to the window: no per-frame labels, descriptors or sample faces (the bulk
    # of an Analysis on a long file), which the timeline and the exports do not use.
    people = [replace(p, descriptors=np.zeros((0, DESCRIPTOR_SIZE), np.float32), samples=[])
              for p in analysis.people]
    return AnalysisResult(spec, replace(analysis, results=[], people=people), duration, fps, times, indices)


def _child(spec: str, cfg: Config, threshold: float, stop_in: Connection, out: Connection) -> None:
    """The analysis process. Anything on `stop_in`, or its end (the window went away), stops it."""
    stop = threading.Event()

    def watch() -> None:
        try:
            stop_in.recv()
        except (EOFError, OSError):
            pass
        stop.set()

    threading.Thread(target=watch, name="analysis-stop", daemon=True).start()

    def send(*message: object) -> None:
        try:
            out.send(message)
        except OSError:  # nobody listens any more
            stop.set()

    try:
        result = analyze(spec, cfg, threshold, stop, lambda done, total, phase: send("progress", done, total, phase))
    except FacetrackError as exc:
        send("error", str(exc))
    except BaseException as exc:  # a bug: said in the window rather than a process ending silently
        log.exception("the analysis of %s failed", spec)
        send("error", f"internal error: {type(exc).__name__}: {exc}")
    else:
        send("cancelled") if result is None else send("done", result)
    finally:
        out.close()


class AnalysisJob:
    """One analysis in its own process, and a thread here that relays what it says.

    A process, not a thread: measured on two busy cores, an analysis thread stalled the window
    up to ~0.55 s (dlib builds each new detection thread's HOG detector, ~0.5 s, and computes
    every descriptor, ~75 ms, holding the GIL, while several threads take turns at it). The
    child has its own GIL and its own copy of dlib's models (never shared between threads).
    The callbacks run on the relay thread: the controller gives signal emits, which Qt queues
    to the window."""

    def __init__(self, spec: str, cfg: Config, threshold: float, on_progress: ProgressCallback,
                 on_done: Callable[[AnalysisResult], None], on_error: Callable[[str], None],
                 on_cancelled: Callable[[], None]) -> None:
        self.spec = spec
        self._on_progress, self._on_done = on_progress, on_done
        self._on_error, self._on_cancelled = on_error, on_cancelled
        # "spawn": forking a process that runs Qt and other threads is unsafe.
        ctx = mp.get_context("spawn")
        self._stop_in, self._stop_out = ctx.Pipe(duplex=False)
        self._results, self._child_out = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_child, args=(spec, cfg, threshold, self._stop_in, self._child_out),
                                   name=THREAD_NAME, daemon=True)
        self.stopping = False
        self._lock = threading.Lock()  # starting vs stopping the process
        self.thread = threading.Thread(target=self._relay, name=THREAD_NAME, daemon=True)

    def start(self) -> AnalysisJob:
        self.thread.start()  # which starts the process: a spawn takes a moment, not the window's
        return self

    def cancel(self) -> None:
        with self._lock:
            if self.stopping:
                return
            self.stopping = True
            try:
                self._stop_out.send("stop")
            except OSError:
                pass

    @property
    def alive(self) -> bool:
        return self.thread.is_alive() or self.process.is_alive()

    def join(self, timeout: float) -> bool:
        """Wait for the end, at most `timeout`; a process that has not stopped by then, at most
        TERMINATE_S before it, is terminated. True when both the process and the relay ended."""
        deadline = time.monotonic() + max(0.0, timeout)
        self.thread.join(max(0.0, deadline - TERMINATE_S - time.monotonic()))
        with self._lock:
            self.stopping = True  # the relay thread starts no process from now on
            started = self.process.pid is not None
        if started and self.process.is_alive():
            log.warning("the analysis process did not stop in time; terminating it")
            self.process.terminate()
            self.process.join(max(0.0, deadline - 0.1 - time.monotonic()))
            if self.process.is_alive():
                self.process.kill()
                self.process.join(0.1)
        self.thread.join(max(0.0, deadline - time.monotonic()))
        return not self.alive

    def _relay(self) -> None:
        try:
            with self._lock:
                if self.stopping:
                    self._on_cancelled()
                    return
                self.process.start()
            # The child holds its ends now; ours closed, its end (or death) reads as EOF here.
            self._stop_in.close()
            self._child_out.close()
            last: tuple[object, ...] | None = None
            while last is None:
                try:
                    message = self._results.recv()
                except (EOFError, OSError):
                    break
                if message[0] == "progress":
                    done, total, phase = message[1:]
                    self._on_progress(int(done), int(total), str(phase))  # type: ignore[call-overload]
                else:
                    last = message
            # The child's last word is passed on only once it has exited (it ends right after
            # saying it), so that the window, told the analysis is over, finds nothing running.
            self.process.join(2.0)
            if last is not None:
                self._deliver(last)
            elif self.stopping:
                self._on_cancelled()
            else:
                self._on_error(f"the analysis process stopped unexpectedly (exit code {self.process.exitcode})")
        except BaseException as exc:  # a bug here: said in the window, not a silent dead thread
            log.exception("the analysis relay failed")
            self._on_error(f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self._results.close()
            self._stop_out.close()

    def _deliver(self, message: tuple[object, ...]) -> None:
        """The child's last message: its result, its error, or that it was cancelled."""
        kind = message[0]
        if kind == "done" and isinstance(message[1], AnalysisResult):
            self._on_done(message[1])
        elif kind == "error":
            self._on_error(str(message[1]))
        else:
            self._on_cancelled()
