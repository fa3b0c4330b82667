"""A bounded queue between the frame loop and a sender thread (MQTT, a webhook).

`put` never blocks the frame loop: when the queue is full (the broker or the web server has
been down a while) the oldest message is dropped and counted, with a warning at most every
WARN_EVERY_S seconds. The sender takes messages in order and removes one only once it has been
delivered, so a message is never lost while it fits in the queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Generic, TypeVar

log = logging.getLogger("facetrack")

T = TypeVar("T")
WARN_EVERY_S = 10.0


class Outbox(Generic[T]):
    def __init__(self, size: int, what: str) -> None:
        self.size = size
        self.what = what  # names the output in warnings: "MQTT broker localhost:1883"
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self.dropped = 0  # in all
        self._unreported = 0
        self._warned = -WARN_EVERY_S

    def put(self, item: T) -> None:
        with self._cond:
            if len(self._items) >= self.size:
                self._items.popleft()
                self.dropped += 1
                self._unreported += 1
            self._items.append(item)
            self._cond.notify_all()
        self._report(False)

    def _report(self, final: bool) -> None:
        now = time.monotonic()
        with self._cond:
            if not self._unreported or (not final and now - self._warned < WARN_EVERY_S):
                return
            n, self._unreported, self._warned = self._unreported, 0, now
        log.warning("%s: not reachable; dropped the %d oldest event(s) (the queue holds %d; %d dropped in all)",
                    self.what, n, self.size, self.dropped)

    def peek(self) -> T | None:
        with self._cond:
            return self._items[0] if self._items else None

    def pop_if(self, item: T) -> None:
        """Remove `item` from the front, where it still is (it was delivered)."""
        with self._cond:
            if self._items and self._items[0] is item:
                self._items.popleft()
            self._cond.notify_all()

    def wait(self, timeout: float) -> None:
        """Until something is put (or taken), or `timeout` passes."""
        with self._cond:
            self._cond.wait(timeout)

    def notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def close(self) -> int:
        """How many were left undelivered (not counted in `dropped`), after the last warning is said."""
        with self._cond:
            left = len(self._items)
            self._items.clear()
        self._report(True)
        return left
