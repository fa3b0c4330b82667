"""Playing a file at its own speed when the engine may be slower than the file.

Pure bookkeeping, no threads and no Qt: the session asks, per frame, whether it is due yet
(wait), whether it is already too late to be worth processing (skip, so that playback keeps
time instead of drifting), and how far behind the file's own clock the window is.
"""

from __future__ import annotations

from dataclasses import dataclass

SKIP_LATE_S = 0.25  # a frame read this late is dropped before detection: the next one is nearer its time
SKIP_MAX_S = 2.0  # ...but one this late starts the clock again: the engine must get frames (and commands)
RESET_LATE_S = 0.5  # without dropping (recording), this far behind restarts the clock: every frame, late
BEHIND_SHOWN_S = 0.5  # late by this much, or dropping frames within the last BEHIND_HOLD_S: "behind"
BEHIND_HOLD_S = 2.0


@dataclass
class PlaybackClock:
    """Maps a file's media time to wall time (monotonic seconds) from the first frame shown.

    `drop` says whether late frames may be skipped: the app's Record path wants every frame, so it
    plays late instead (and the clock restarts when it falls RESET_LATE_S behind, as before)."""

    drop: bool = True
    _origin: tuple[float, float] | None = None  # (wall, media) that playback follows
    skipped: int = 0  # frames dropped to keep time since the file (or a seek) started
    late: float = 0.0  # how late the newest shown frame was, seconds
    _skipped_at: float = -1e9

    def reset(self) -> None:
        """After a pause, a seek or a change of speed: the next frame starts the clock again."""
        self._origin = None
        self.late = 0.0

    def due(self, media: float) -> float | None:
        """Wall time at which the frame at `media` seconds is due; None when the clock has not started."""
        if self._origin is None:
            return None
        wall0, media0 = self._origin
        return wall0 + (media - media0)

    def shown(self, media: float, now: float) -> float:
        """A frame is about to be shown; returns the wall time to wait for (`now` when late)."""
        due = self.due(media)
        if due is None or (self._origin is not None and media < self._origin[1]):
            self._origin = (now, media)
            self.late = 0.0
            return now
        self.late = max(0.0, now - due)
        if not self.drop and self.late > RESET_LATE_S:
            self._origin = (now, media)  # every frame is processed: play on from here, late
            return now
        return max(now, due)

    def should_skip(self, media: float, now: float) -> bool:
        """A frame just read: too late already to be worth detecting and tracking?"""
        due = self.due(media)
        if not self.drop or due is None or now - due <= SKIP_LATE_S:
            return False
        if now - due > SKIP_MAX_S:
            # So far behind that even reading cannot keep up (a decoder slower than the file):
            # show this one and follow the clock from here, rather than skip to the end.
            self._origin = (now, media)
            return False
        self.skipped += 1
        self._skipped_at = now
        return True

    def behind(self, now: float) -> bool:
        """Whether the window should say it cannot keep up with the file."""
        return self.late >= BEHIND_SHOWN_S or now - self._skipped_at <= BEHIND_HOLD_S
