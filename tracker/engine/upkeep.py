"""The gallery's upkeep while the engine runs, kept off the tracker: other processes' changes
looked for every second (a camera, the app, a `people` command), and "last seen" written for the
people in view every few seconds. A failed write is logged and the run goes on."""

from __future__ import annotations

import math
import time

from ..errors import GalleryError
from ..gallery.failed_writes import FailedWrites
from ..gallery.gallery import Gallery
from ..records import FrameResult

TOUCH_EVERY_S = 2.0  # how often a person in view has their "last seen" written
SYNC_EVERY_S = 1.0  # how often the gallery is checked for other processes' changes


class GalleryUpkeep:
    def __init__(self, gallery: Gallery, failed: FailedWrites) -> None:
        self.gallery = gallery
        self.failed = failed
        self._synced = time.monotonic()
        self._touched: dict[int, float] = {}

    def after(self, result: FrameResult) -> None:
        """After each frame: its people seen, and the gallery brought up to date when due."""
        now = time.monotonic()
        due = [pid for pid in (int(p) for p in result.person_ids if p >= 0)
               if now - self._touched.get(pid, -math.inf) >= TOUCH_EVERY_S]
        if due:
            try:
                self.gallery.touch(due)
            except GalleryError as exc:
                self.failed(exc)
            self._touched.update((pid, now) for pid in due)
        if now - self._synced >= SYNC_EVERY_S:
            self._synced = now
            try:
                self.gallery.sync()
            except GalleryError as exc:  # a database server away for a moment: the next sync tries again
                self.failed(exc)
