"""Frame sources, each read on its own capture thread into a bounded queue (base.py).

Files lose no frame: the capture thread blocks when the queue is full (files.py: videos and
still images). Live sources (webcams, streams: live.py) keep only the newest frames: the oldest is
dropped, so the pipeline never falls behind real time. A stream that drops is reopened with
backoff. `source_for` opens what a user typed.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config import Config
from ..errors import SourceError
from .base import Source
from .files import ImageSource, VideoFileSource
from .images import is_image_path

STREAM_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


def open_source(spec: str, file_queue: int = 16, live_queue: int = 2, reconnect_max_s: float = 1.0,
                start: int = 0, stall_s: float = 3.0, rtsp_transport: str = "auto",
                end: int | None = None) -> Source:
    """A source from what a user typed: `0`, a URL, a video, an image, or a folder of images.

    start: the first frame of a video file (a seek); other sources start where they are.
    """
    if spec.isdigit() or spec.lower().startswith(STREAM_PREFIXES):
        from .live import LiveSource  # imported when used: a file-only run never loads it

        return LiveSource(spec, live_queue, reconnect_max_s, stall_s, rtsp_transport)
    path = Path(os.path.expanduser(spec))  # ~nosuchuser stays as it is: "no such file"
    if not path.exists():
        raise SourceError(f"{spec}: no such file or folder")
    if path.is_dir() or is_image_path(path):
        return ImageSource(path)
    return VideoFileSource(path, file_queue, start, end)


def source_for(spec: str, cfg: Config, start: int = 0, end: int | None = None) -> Source:
    """`open_source` with the queue sizes and stream settings of `cfg`; `end`: a video file stops
    before that frame (a segment of it)."""
    return open_source(spec, cfg.file_queue, cfg.live_queue, cfg.reconnect_max_s, start, cfg.stall_s,
                       cfg.rtsp_transport, end)
