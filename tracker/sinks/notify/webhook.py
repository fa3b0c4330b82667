"""Webhooks: each event POSTed as JSON to a URL, in order, with retries.

A refused delivery (the server down, a timeout, 5xx, 408 or 429) is tried again after a growing
pause (0.5 s doubling to 30 s), and nothing behind it overtakes it; the server sees each event
until it answers 2xx, and an `Idempotency-Key` header lets it drop a repeat of one it already
took. Another 4xx is the receiver's refusal of that event: it is logged and dropped, as retrying
cannot change the answer. Events wait in a bounded queue (notify/outbox.py) while the server is
away; the frame loop never waits for it.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ... import __version__
from ...config import redact
from ...errors import FacetrackError
from .events import EVENTS, Event
from .outbox import WARN_EVERY_S, Outbox

log = logging.getLogger("facetrack")

TIMEOUT_S = 5.0
BACKOFF_S = (0.5, 30.0)  # first pause after a failure, longest pause
FLUSH_S = 4.0
RETRY_CODES = (408, 425, 429)


def check_url(url: str) -> str:
    """An http(s) URL whose host resolves: a mistake is one line at start, not events lost later
    (a server that is down now is fine: it is tried again)."""
    where = f"--webhook {redact(url)}"
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FacetrackError(f"{where}: not an http:// or https:// URL")
    try:
        port = parts.port
    except ValueError:
        raise FacetrackError(f"{where}: the port must be a number from 1 to 65535") from None
    try:
        socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme.lower() == "https" else 80))
    except (OSError, UnicodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise FacetrackError(f"{where}: cannot find the host {parts.hostname}: {why}") from None
    return url


def _without_credentials(url: str) -> tuple[str, str | None]:
    """The URL without `user:password@`, and those as an HTTP Basic Authorization header."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    who = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return urlunsplit(parts._replace(netloc=netloc)), "Basic " + base64.b64encode(who.encode()).decode()


class WebhookOutput:
    """One URL's deliveries (an EventOutput, sinks.EventSink)."""

    def __init__(self, url: str, extra: dict[str, Any] | None = None, queue_size: int = 1000) -> None:
        self.url, self._auth = _without_credentials(check_url(url))
        self.shown = redact(url)
        self.refused = 0  # events the receiver refused (4xx): dropped
        self._refused_said = 0
        self.extra = dict(extra or {})
        self.outbox: Outbox[tuple[str, bytes]] = Outbox(queue_size, f"webhook {self.shown}")
        self._run = uuid.uuid4().hex[:12]  # with each event's seq, its idempotency key
        self._stop = threading.Event()
        self._failing_since: float | None = None
        self._refused_at = -WARN_EVERY_S
        self.delivered = 0
        self._thread = threading.Thread(target=self._send_loop, name="webhook", daemon=True)
        self._thread.start()

    def send(self, events: Sequence[Event]) -> None:
        for e in events:
            if e.kind not in EVENTS:
                continue
            body = {"event": e.kind, **self.extra, **e.body}
            if e.face is not None and e.kind in ("unknown", "reidentified"):
                body["face_jpeg"] = base64.b64encode(e.face.jpeg).decode()
            key = f"{self._run}-{body.get('camera', '')}-{body['seq']}"
            self.outbox.put((key, json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()))

    def _post(self, key: str, payload: bytes) -> int | str:
        """The HTTP status, or why there was none."""
        headers = {"Content-Type": "application/json", "User-Agent": f"facetrack/{__version__}",
                   "Idempotency-Key": key}
        if self._auth:
            headers["Authorization"] = self._auth
        req = urllib.request.Request(self.url, data=payload, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except Exception as exc:  # no answer, or no HTTP one (http.client's errors too): tried again
            reason = getattr(exc, "reason", None) or exc
            return str(getattr(reason, "strerror", None) or reason) or type(exc).__name__

    def _send_loop(self) -> None:
        pause = BACKOFF_S[0]
        while True:
            item = self.outbox.peek()
            if item is None:
                if self._stop.is_set():
                    return
                self.outbox.wait(0.2)
                continue
            answer = self._post(*item)
            if isinstance(answer, int) and (200 <= answer < 300 or (400 <= answer < 500 and answer not in RETRY_CODES)):
                self.outbox.pop_if(item)
                if answer >= 300:
                    self.refused += 1
                    if time.monotonic() - self._refused_at >= WARN_EVERY_S:  # a refusing receiver is one line per 10 s
                        self._refused_at = time.monotonic()
                        log.warning("webhook %s refused %d event(s) (HTTP %d); they are dropped", self.shown,
                                    self.refused - self._refused_said, answer)
                        self._refused_said = self.refused
                else:
                    self.delivered += 1
                if self._failing_since is not None:
                    log.info("webhook %s: delivering again", self.shown)
                self._failing_since, pause = None, BACKOFF_S[0]
                continue
            if self._failing_since is None:
                self._failing_since = time.monotonic()
                log.warning("webhook %s: %s; trying again (events wait in a queue of %d)", self.shown,
                            f"HTTP {answer}" if isinstance(answer, int) else answer, self.outbox.size)
            if self._stop.wait(pause):
                return
            pause = min(pause * 2, BACKOFF_S[1])

    def close(self, flush_s: float = FLUSH_S) -> None:
        deadline = time.monotonic() + flush_s
        while len(self.outbox) and time.monotonic() < deadline:  # a failing server gets its retries too
            time.sleep(0.05)
        self._stop.set()
        self.outbox.notify()
        self._thread.join(1.0)  # a delivery under way may finish after: the thread ends with the process
        left = self.outbox.close()
        lost = left + self.outbox.dropped + self.refused
        if lost:  # the run ends with one line and exit 1: events were lost
            raise FacetrackError(f"webhook {self.shown}: {lost} event(s) not delivered ({self.delivered} were; "
                                 f"{left} still waiting at the end, {self.outbox.dropped} dropped from a full queue, "
                                 f"{self.refused} refused by the receiver)")
