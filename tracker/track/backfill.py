"""Names back in time, for files: a face is decided a frame or two after it appears (one face
decides nothing), so a file's results are held back a few frames and a track's name, once
decided, is written into its earlier frames too. Live sources and the app never wait for it.

Pure bookkeeping over FrameResults: nothing here reads the gallery.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Generic, TypeVar

import numpy as np

from ..records import FrameResult

HOLD = 8  # frames a file's results are held back (about 0.3 s of video; files only)

T = TypeVar("T")  # what travels with a result (the frame)


def fill(earlier: FrameResult, later: FrameResult) -> FrameResult:
    """`earlier` with the undecided faces of tracks that `later` has decided given that person,
    unless another face of `earlier` holds them (one person per face)."""
    decided = {int(t): i for i, t in enumerate(later.track_ids) if later.person_ids[i] >= 0}
    if not decided or not len(earlier):
        return earlier
    pids = earlier.person_ids.copy()
    names = list(earlier.names)
    known = earlier.known.copy()
    dists = earlier.distances.copy()
    held = set(pids[pids >= 0].tolist())
    changed = False
    for i, tid in enumerate(earlier.track_ids):
        j = decided.get(int(tid))
        if j is None or pids[i] >= 0 or int(later.person_ids[j]) in held:
            continue
        pids[i], names[i], known[i], dists[i] = later.person_ids[j], later.names[j], later.known[j], later.distances[j]
        held.add(int(pids[i]))
        changed = True
    if not changed:
        return earlier
    return dataclasses.replace(earlier, person_ids=pids, names=tuple(names), known=known,
                               distances=np.asarray(dists, np.float64))


class Backfill(Generic[T]):
    """Holds the last `hold` results; each new one names the undecided faces of those held."""

    def __init__(self, hold: int = HOLD) -> None:
        self.hold = hold
        self._held: deque[tuple[T, FrameResult]] = deque()

    def push(self, item: T, result: FrameResult) -> list[tuple[T, FrameResult]]:
        """Add the newest result; returns those that leave the window (oldest first)."""
        if self.hold <= 0:
            return [(item, result)]
        self._held = deque((it, fill(r, result)) for it, r in self._held)
        self._held.append((item, result))
        out = []
        while len(self._held) > self.hold:
            out.append(self._held.popleft())
        return out

    def flush(self) -> list[tuple[T, FrameResult]]:
        out = list(self._held)
        self._held.clear()
        return out
