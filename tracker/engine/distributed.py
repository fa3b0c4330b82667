"""Pass 1 of `analyze` spread over a Ray cluster: one task per source, gathered here.

Every source is tracked on its own (tracker/offline.track_source: a fresh tracker and scratch
gallery per source), so which machine tracks which file changes nothing: the parts are merged
in the order the sources were given (offline.merge_passes) and pass 2, the clustering, runs here
exactly as without Ray. Ray's tasks each take one CPU; dlib's descriptor call holds the GIL, so
one process per core is what uses a machine fully.

Without an address a local Ray instance is started on this machine (all its cores, or
`num_cpus`). With one (`auto`, `ray://head:10001`, `head:6379`), the cluster's workers need
facetrack installed and must see the source paths at the same place (a shared file system).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from typing import Any

from ..config import Config
from ..errors import FacetrackError
from .offline import Pass1, Piece, merge_passes, track_piece

log = logging.getLogger(__name__)

ADDRESS = re.compile(r"^(auto|local|ray://\S+|[\w.-]+:\d+)$")
INSTALL_HINT = "pip install 'facetrack[ray]' (or: pip install ray)"


def looks_like_address(text: str) -> bool:
    return bool(ADDRESS.match(text))


def _absolute(piece: Piece) -> Piece:
    from dataclasses import replace
    from pathlib import Path

    return replace(piece, spec=str(Path(piece.spec).expanduser().resolve()))


def _where(piece: Piece) -> str:
    if piece.start == 0 and piece.end is None:
        return piece.spec
    return f"{piece.spec} from frame {piece.start}" + (f" to {piece.end}" if piece.end is not None else "")


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise FacetrackError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def connect(address: str | None, num_cpus: int | None = None, log_to_driver: bool = False) -> tuple[Any, bool]:
    """Ray, started on this machine (no address, or 'local') or joined at `address`; and whether
    it is local. `log_to_driver`: the workers' log lines shown here too. The caller ends it with
    ray.shutdown()."""
    import signal
    import threading

    ray = _ray()
    local = address in (None, "", "local")
    if not local:
        _reachable(str(address))
    # ray.init replaces SIGTERM's handler with one that exits at once: facetrack's own (stop
    # cleanly: the current frame finished, the outputs closed) is put back.
    main = threading.current_thread() is threading.main_thread()
    term = signal.getsignal(signal.SIGTERM) if main and hasattr(signal, "SIGTERM") else None
    try:
        if local:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=log_to_driver,
                     ignore_reinit_error=True, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=log_to_driver, ignore_reinit_error=True, configure_logging=False)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError... for a bad address
        raise FacetrackError(f"cannot start or reach Ray at {address or 'a local instance'}: {exc}") from None
    finally:
        if term is not None:
            signal.signal(signal.SIGTERM, term)
    return ray, local


REACH_TIMEOUT_S = 5.0


def _reachable(address: str) -> None:
    """A head:port (or ray://head:port) that does not answer: one line now, not Ray's retries for
    minutes. ('auto' finds a cluster started on this machine: Ray says itself if there is none.)"""
    import socket

    m = re.match(r"^(?:ray://)?(\[[^\]]+\]|[^:/]+):(\d+)$", address)
    if m is None:
        return
    host, port = m.group(1).strip("[]"), int(m.group(2))
    try:
        socket.create_connection((host, port), timeout=REACH_TIMEOUT_S).close()
    except OSError as exc:
        raise FacetrackError(f"cannot reach Ray at {address}: {exc.strerror or exc}") from None


def track_remote(cfg: Config, piece: Piece) -> Pass1:
    """One Ray task: pass 1 over one piece (its file opened on the worker)."""
    logging.basicConfig(level=logging.WARNING, format="facetrack [ray worker]: %(message)s")
    return track_piece(cfg, piece)


def track_all_ray(cfg: Config, pieces: Sequence[Piece], address: str | None = None,
                  num_cpus: int | None = None) -> Pass1:
    """Pass 1 over `pieces` (offline.plan) on Ray, a log line after each. The same Pass1 as
    offline.track_pieces over the same plan."""
    started = time.perf_counter()
    ray, local = connect(address, num_cpus)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 0))
        log.info("Ray: %s with %d CPUs; %d tasks (recordings or segments of them)",
                 "local instance" if local else address, cpus, len(pieces))
        if not local:  # the workers' working folder is not ours: they get absolute paths
            pieces = [_absolute(p) for p in pieces]
        task = ray.remote(num_cpus=1, max_retries=2)(track_remote)
        refs = [task.remote(cfg, piece) for piece in pieces]
        index = {ref: i for i, ref in enumerate(refs)}
        parts: list[Pass1 | None] = [None] * len(refs)
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                try:
                    parts[index[ref]] = ray.get(ref)
                except Exception as exc:
                    cause = getattr(exc, "cause", None) or exc
                    raise FacetrackError(f"{_where(pieces[index[ref]])}: {cause}") from None
                log.info("Ray: %d of %d tasks done (%s)", len(refs) - len(pending), len(refs),
                         _where(pieces[index[ref]]))
        log.info("Ray: pass 1 done in %.1f s", time.perf_counter() - started)
        return merge_passes([p for p in parts if p is not None])
    finally:
        ray.shutdown()
