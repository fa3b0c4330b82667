"""Writes made without a user asking, that failed: logged, never raised."""

from __future__ import annotations

import logging
import math
import time

from ..errors import GalleryError

log = logging.getLogger(__name__)


class FailedWrites:
    """Writes made without a user asking (learning, a fold, a cannot-link, "last seen") that
    failed: another process sharing the gallery merged or removed that person a moment before, or
    the file is locked or full. What is shown goes on (the next frame decides again); each is
    logged, at most every 10 s for the same reason, so a camera is never stopped by it."""

    def __init__(self) -> None:
        self._logged: dict[str, float] = {}  # why -> when last logged

    def __call__(self, exc: GalleryError) -> None:
        now = time.monotonic()
        text = str(exc)
        if now - self._logged.get(text, -math.inf) >= 10.0:
            log.warning("gallery: %s; going on without that change", text)
            self._logged[text] = now
