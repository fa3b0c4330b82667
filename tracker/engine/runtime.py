"""What every long run shares: the signals that stop it, and OpenCV's and FFmpeg's own log lines kept quiet."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable


def quiet_native_logs(verbose: bool) -> None:
    """OpenCV's and FFmpeg's own lines ("[h264 @ 0x...] error while decoding") only with -v:
    otherwise an error is facetrack's one line."""
    if verbose:
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # read when FFmpeg is first used
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


# What stops a run (Ctrl+C, a service manager): the parent decides; cameras ignore them.
STOP_SIGNALS = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])


def with_signals(body: Callable[[threading.Event, list[int]], int]) -> int:
    """Run `body(stop, caught)` with SIGINT and SIGTERM setting `stop` (and noted in `caught`)."""
    stop = threading.Event()
    caught: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        caught.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        return body(stop, caught)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stopped_code(caught: list[int]) -> int:
    """128 + the signal, as a shell reports it: 130 after Ctrl+C, 143 after SIGTERM."""
    return 128 + int(caught[0]) if caught else 130
