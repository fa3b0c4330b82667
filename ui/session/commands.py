"""Commands for the engine thread: sent from any thread, run in order on the engine thread, each
answered by its Future."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from tracker.errors import FacetrackError


class CommandQueue:
    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Callable[[], Any], Future[Any]]] = queue.Queue()

    def put(self, fn: Callable[[], Any], fut: Future[Any]) -> None:
        self._queue.put((fn, fut))

    def run_waiting(self, block: bool, timeout: float, after: Callable[[float, Exception | None], None]) -> None:
        """Run the waiting commands (waiting up to `timeout` for the first when `block`). After
        each, and before its Future is answered, `after(seconds it took, its error or None)`."""
        first = True
        while True:
            try:
                if block and first:
                    fn, fut = self._queue.get(timeout=timeout)
                else:
                    fn, fut = self._queue.get_nowait()
            except queue.Empty:
                return
            first = False
            if not fut.set_running_or_notify_cancel():
                continue
            result: Any = None
            error: Exception | None = None
            began = time.monotonic()
            try:
                result = fn()
            except Exception as exc:
                error = exc
            except BaseException as exc:  # the thread is going down: this command must not hang
                fut.set_exception(FacetrackError(f"the engine stopped: {type(exc).__name__}: {exc}"))
                raise
            try:
                after(time.monotonic() - began, error)
            finally:
                if error is not None:
                    fut.set_exception(error)
                else:
                    fut.set_result(result)

    def fail_all(self, why: str) -> None:
        """Answer every waiting command with an error: nobody will run them."""
        while True:
            try:
                _, fut = self._queue.get_nowait()
            except queue.Empty:
                return
            if fut.set_running_or_notify_cancel():
                fut.set_exception(FacetrackError(why))
