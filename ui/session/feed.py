"""The people snapshot a session keeps for the window: who is in the gallery (with a thumbnail
each), merge suggestions and the Undo label, re-read on the engine thread when the gallery
changed, and read from any thread."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from tracker.config import Config
from tracker.errors import FacetrackError
from tracker.gallery.gallery import Gallery
from tracker.identity.suggest import SUGGEST_DISTANCE, SUGGEST_MARGIN, Suggestion, suggest_merges

from .state import PersonView

PEOPLE_REFRESH_S = 0.5  # a gallery changed by the tracker is re-read at most this often
SUGGEST_EVERY_S = 3.0  # merge suggestions are recomputed at most this often while the tracker learns
SYNC_EVERY_S = 1.0  # changes by other processes (a `people` command, another camera) are looked for this often


class PeopleFeed:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards what the window reads
        self._people: tuple[int, list[PersonView]] = (0, [])
        self._suggestions: list[Suggestion] = []
        self._undo_label: str | None = None
        self._redo_label: str | None = None
        # Engine-thread state
        self._synced = 0.0
        self._people_version = -1
        self._people_at = 0.0
        self._thumbs: dict[int, NDArray[np.uint8] | None] = {}
        self._suggested_at = -math.inf
        self._suggested_version = -1

    # ------------------------------------------------------------------ reads (any thread)
    def people(self) -> tuple[int, list[PersonView]]:
        """(version, people); the version changes whenever the list does."""
        with self._lock:
            return self._people

    def suggestions(self) -> list[Suggestion]:
        with self._lock:
            return list(self._suggestions)

    def undo_label(self) -> str | None:
        with self._lock:
            return self._undo_label

    def set_undo_label(self, label: str | None, redo: str | None = None) -> None:
        """What Undo would revert, as the tracker says (it keeps steps of its own, see
        FaceTracker.undo), and what Redo would make again."""
        with self._lock:
            self._undo_label, self._redo_label = label, redo

    def redo_label(self) -> str | None:
        with self._lock:
            return self._redo_label

    # ------------------------------------------------------------------ engine thread
    def forget(self) -> None:
        """Another gallery: everything is read again."""
        self._thumbs.clear()
        self._people_version = self._suggested_version = -1

    def refresh(self, gallery: Gallery, cfg: Config, force: bool, on_error: Callable[[str], None]) -> None:
        """Re-read the people (and merge suggestions) when the gallery changed.

        `force` (after a command of the user's) re-reads at once, thumbnails included: a merge, a
        split, removed samples, a new cover or an undo may have changed them. Otherwise the people
        are re-read at most every PEOPLE_REFRESH_S, and the suggestions, which compare inventories
        (O(people²)), at most every SUGGEST_EVERY_S while the tracker learns."""
        now = time.monotonic()
        if now - self._synced >= SYNC_EVERY_S:
            self._synced = now
            try:
                gallery.sync()
            except FacetrackError as exc:
                on_error(str(exc))
        version = gallery.version
        people_due = version != self._people_version and (force or now - self._people_at >= PEOPLE_REFRESH_S)
        suggest_due = version != self._suggested_version and (force or now - self._suggested_at >= SUGGEST_EVERY_S)
        if not people_due and not suggest_due:
            return
        with self._lock:
            views = self._people[1]
            suggestions = self._suggestions
        if people_due:
            people = gallery.people()
            if force:
                self._thumbs.clear()
            else:
                ids = {p.id for p in people}
                self._thumbs = {pid: img for pid, img in self._thumbs.items() if pid in ids}
            views = []
            for p in people:
                if p.id not in self._thumbs:
                    thumbs = gallery.thumbnails(p.id, 1)
                    self._thumbs[p.id] = thumbs[0] if thumbs else None
                views.append(PersonView(p, self._thumbs[p.id]))
            self._people_version, self._people_at = version, now
        if suggest_due:
            suggestions = suggest_merges(gallery, min(cfg.threshold, SUGGEST_DISTANCE), cfg.knn,
                                         margin=max(cfg.margin, SUGGEST_MARGIN))
            self._suggested_version, self._suggested_at = version, now
        with self._lock:
            self._people = (self._people[0] + 1, views)
            self._suggestions = suggestions
            self._undo_label = gallery.can_undo()
