"""What the session shows the window: its states, the newest frame, its figures, and the people.
Frozen records, read from any thread (ui/session/session.py writes them on the engine thread)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tracker.gallery.gallery import Person
from tracker.records import Frame, FrameResult

IDLE, CONNECTING, PLAYING, PAUSED, ENDED = "idle", "connecting", "playing", "paused", "ended"
RECONNECTING = "reconnecting"  # a live stream dropped and is being reopened


@dataclass(frozen=True)
class Snapshot:
    """The newest processed frame; `seq` grows by one per frame, so a view repaints only on news."""

    frame: Frame
    result: FrameResult
    seq: int


@dataclass(frozen=True)
class Stats:
    state: str = IDLE
    source: str = ""
    live: bool = False
    source_fps: float = 0.0  # frames the source delivers per second (a file: its nominal rate)
    processing_fps: float = 0.0  # results per second over the last couple of seconds
    latency_ms: float = math.nan  # live: capture to result; file: engine time per frame
    position: int = 0  # frame index of the newest result
    total: int | None = None  # frames in a file
    dropped: int = 0  # live frames skipped to stay current
    recording: Path | None = None
    device: str = ""
    fast: bool = False
    time: float = 0.0  # media time of the newest result, seconds (a file: from its start)
    duration: float | None = None  # a file's length, seconds
    behind: bool = False  # a file played at its own speed that the engine cannot keep up with...
    skipped: int = 0  # ...and the frames dropped to keep time since it (or a seek) started
    note: str = ""  # what became of the last source, when it is not playing: why it failed, or stopped


@dataclass(frozen=True)
class PersonView:
    person: Person
    thumbnail: NDArray[np.uint8] | None
