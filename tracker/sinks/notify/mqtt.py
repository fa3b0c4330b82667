"""MQTT: the connection to the broker (`MqttLink`) and where it is (`MqttTarget`).

The topics and what each camera publishes are in notify/mqtt_camera.py. Nothing here blocks the
frame loop: events wait in a bounded queue (notify/outbox.py) while the broker is away and go out
in order once it is back; retained state is kept as the latest message per topic and sent again
after every reconnect (a restarted broker may have lost it) and whenever Home Assistant says it
started.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ...config import redact
from ...errors import FacetrackError
from . import hass
from .outbox import Outbox

log = logging.getLogger("facetrack")

DEFAULT_PREFIX = "facetrack"
DEFAULT_DISCOVERY = "homeassistant"
WINDOW = 20  # messages handed to paho and not yet acknowledged by the broker
CONNECT_TIMEOUT_S = 10.0
FLUSH_S = 4.0  # at the end, how long queued messages may take to go out
INSTALL = "pip install 'facetrack[mqtt]'"


def paho() -> Any:
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        raise FacetrackError(f"--mqtt needs the paho-mqtt library: {INSTALL}") from None
    return mqtt


@dataclass(frozen=True)
class MqttTarget:
    """Where to publish, from `mqtt[s]://[user[:password]@]host[:port][/prefix][?discovery=PREFIX|off&ca=FILE]`."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None = field(repr=False)
    prefix: str
    discovery: str | None  # Home Assistant's discovery prefix; None: no discovery messages
    ca: str | None  # a CA file for mqtts:// (default: the system's)

    @property
    def shown(self) -> str:
        """The broker as messages name it: never the password."""
        who = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{who}{self.host}:{self.port}"

    @classmethod
    def parse(cls, url: str, password: str = "") -> MqttTarget:
        """`password` (FACETRACK_MQTT_PASSWORD) is used where the URL has none."""
        where = f"--mqtt {redact(url)}"
        # A password holding / ? # or @ unencoded would be read as part of the host, port or
        # prefix, and shown in messages: refused, asking for percent-encoding.
        rest = url.strip().split("://", 1)[-1]
        if "@" in rest and any(c in rest.rsplit("@", 1)[0] for c in "/?#"):
            raise FacetrackError("--mqtt: the URL's user or password holds / ? # or @: write them percent-encoded "
                                 "(%2F %3F %23 %40), or give the password in FACETRACK_MQTT_PASSWORD")
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise FacetrackError(f"{where}: the port must be a number from 1 to 65535") from None
        scheme = parts.scheme.lower()
        if scheme not in ("mqtt", "mqtts"):
            raise FacetrackError(f"{where}: the URL must start with mqtt:// or mqtts:// "
                                 "(mqtt://[user[:password]@]host[:port][/prefix])")
        if not parts.hostname:
            raise FacetrackError(f"{where}: no broker host")
        if parts.fragment or url.rstrip().endswith("#"):
            raise FacetrackError(f"{where}: a # in the URL: a topic prefix may not hold +, # or an empty level "
                                 "(a password holding # is written %23)")
        prefix = parts.path.strip("/") or DEFAULT_PREFIX
        if any(c in prefix for c in "+#\x00") or "//" in prefix:
            raise FacetrackError(f"{where}: the topic prefix {prefix!r} may not hold +, # or an empty level")
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        unknown = sorted(set(query) - {"discovery", "ca"})
        if unknown:
            raise FacetrackError(f"{where}: unknown option {unknown[0]!r} (known: discovery, ca)")
        discovery: str | None = query.get("discovery", DEFAULT_DISCOVERY).strip("/")
        if discovery is not None and discovery.lower() in ("", "off", "false", "no", "0"):
            discovery = None
        elif discovery is not None and not re.fullmatch(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*", discovery):
            raise FacetrackError(f"{where}: discovery={discovery!r}: a topic prefix of letters, digits, _ and - "
                                 "(Home Assistant's is homeassistant), or off")
        ca = query.get("ca") or None
        if ca is not None:
            ca = os.path.expanduser(ca)
            if not os.path.isfile(ca):
                raise FacetrackError(f"{where}: no such CA file: {ca}")
        return cls(parts.hostname, port or (8883 if scheme == "mqtts" else 1883), scheme == "mqtts",
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password is not None else (password or None),
                   prefix, discovery, ca)


class MqttLink:
    """One connection to the broker, with `will_topic` set `offline` by the broker if this
    process dies, and the thread that sends: events in order (QoS 1), retained state (latest per
    topic) after every (re)connect."""

    def __init__(self, target: MqttTarget, will_topic: str, role: str, queue_size: int = 1000) -> None:
        mqtt = paho()
        self.target, self.will_topic = target, will_topic
        self._ok = (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN)  # handed over: paho sends it once connected
        client_id = f"facetrack-{socket.gethostname()}-{os.getpid()}-{hass.slug(role, 'x')}"[:64]
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        if target.username:
            self.client.username_pw_set(target.username, target.password)
        if target.tls:
            self.client.tls_set(ca_certs=target.ca)
        self.client.will_set(will_topic, "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(1, 10)  # a broker back is used within 10 s
        self.client.max_inflight_messages_set(WINDOW)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self._acked: set[int] = set()  # message ids the broker acknowledged, not yet taken off _inflight
        self._listeners: dict[str, Callable[[str, bytes, bool], None]] = {}  # topic filter -> callback
        self.events: Outbox[tuple[str, bytes]] = Outbox(queue_size, f"MQTT broker {target.shown}")
        self._lock = threading.Lock()
        self._states: dict[str, bytes] = {}  # retained topic -> its latest payload (b"": to be cleared)
        self._dirty: dict[str, None] = {}  # topics to (re)send, in the order they changed
        self._inflight: deque[int] = deque()  # ids of messages handed to paho, oldest first
        self._connected = threading.Event()
        self._resync = False  # reconnected: paho first resends what it held, then new messages follow
        self._refused: str | None = None
        self._was_connected = False
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._send_loop, name="mqtt", daemon=True)

    # ------------------------------------------------------------------ connection
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self, check: bool = True) -> MqttLink:
        """Connect. With `check`, wait for the broker's answer: one clear error if it cannot be
        reached or refuses (a wrong password), as a run starts. Without, keep trying in the
        background (a camera process, the broker checked by its parent)."""
        host, port = self.target.host, self.target.port
        try:
            if check:
                self.client.connect(host, port, keepalive=30)
            else:
                self.client.connect_async(host, port, keepalive=30)
        except (OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
            raise FacetrackError(f"MQTT broker {self.target.shown}: cannot connect: {why}") from None
        self.client.loop_start()
        if check:
            deadline = time.monotonic() + CONNECT_TIMEOUT_S
            while not self._connected.is_set() and self._refused is None and time.monotonic() < deadline:
                time.sleep(0.02)
            if not self._connected.is_set():
                self.client.loop_stop()
                self.client.disconnect()
                if self._refused:
                    raise FacetrackError(f"MQTT broker {self.target.shown} refused the connection: {self._refused}")
                raise FacetrackError(f"MQTT broker {self.target.shown} did not answer within {CONNECT_TIMEOUT_S:.0f} s "
                                     "(is it an MQTT broker, on that port?)")
        self._thread.start()
        return self

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            first = self._refused is None
            self._refused = str(reason)
            if first and (self._was_connected or self._thread.is_alive()):
                log.warning("MQTT broker %s refused the connection: %s; trying again", self.target.shown, reason)
            return
        self._refused = None
        with self._lock:
            own = self.will_topic not in self._states  # else a camera's state says it (a lost stream: offline)
            if own:  # kept as state: said again after a reconnect, and not twice by a camera saying it too
                self._states[self.will_topic] = b"online"
        if own:
            client.publish(self.will_topic, "online", qos=1, retain=True)
        if self.target.discovery:
            client.subscribe(f"{self.target.discovery}/status", qos=1)
        for topic in list(self._listeners):
            client.subscribe(topic, qos=1)
        with self._lock:
            self._dirty = dict.fromkeys(self._states)  # a restarted broker may have lost them
            self._resync = bool(self._inflight)
        if self._was_connected:
            log.info("MQTT broker %s: connected again; sending what waited", self.target.shown)
        self._was_connected = True
        self._connected.set()
        self.events.notify()

    def _on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and not self._closing.is_set():
            log.warning("MQTT broker %s: connection lost (%s); events wait in a queue of %d", self.target.shown,
                        reason, self.events.size)

    def _on_publish(self, _client: Any, _userdata: Any, mid: int, _reason: Any, _props: Any) -> None:
        with self._lock:
            if mid in self._inflight:  # (the `online` said on connecting is not waited for)
                self._acked.add(mid)
        self.events.notify()

    def _on_message(self, _client: Any, _userdata: Any, msg: Any) -> None:
        # Home Assistant says it (re)started: it wants the discovery messages and states again.
        if self.target.discovery and msg.topic == f"{self.target.discovery}/status" and msg.payload == b"online":
            with self._lock:
                self._dirty = dict.fromkeys(self._states)
            self.events.notify()
            return
        for pattern, callback in list(self._listeners.items()):
            if _matches(pattern, msg.topic):
                try:
                    callback(msg.topic, bytes(msg.payload), bool(msg.retain))
                except Exception as exc:  # a listener's fault must not end paho's thread
                    log.warning("MQTT: could not use a message on %s: %s", msg.topic, exc)

    def listen(self, pattern: str, callback: Callable[[str, bytes, bool], None]) -> None:
        """Call `callback(topic, payload, retained)` for messages on `pattern` (subscribed now
        and after every reconnect): what the broker kept from an earlier run, for one."""
        self._listeners[pattern] = callback
        if self._connected.is_set():
            self.client.subscribe(pattern, qos=1)

    # ------------------------------------------------------------------ what to send
    def event(self, topic: str, payload: bytes) -> None:
        self.events.put((topic, payload))

    def state(self, topic: str, payload: bytes) -> None:
        """A retained message: only the latest per topic is sent. b"" clears the topic (and
        removes a discovery entity)."""
        with self._lock:
            if self._states.get(topic) == payload:
                return
            self._states[topic] = payload
            self._dirty.pop(topic, None)
            self._dirty[topic] = None
        self.events.notify()

    # ------------------------------------------------------------------ the sender
    def _idle(self) -> bool:
        with self._lock:
            self._take_acked()
            return not self._dirty and not self._inflight and not len(self.events)

    def _take_acked(self) -> None:
        while self._inflight and self._inflight[0] in self._acked:
            self._acked.discard(self._inflight.popleft())

    def _send_loop(self) -> None:
        while True:
            try:
                if self._closing.is_set() and (self._idle() or not self._connected.is_set()):
                    return
                if not self._connected.is_set():
                    self.events.wait(0.1)
                    continue
                with self._lock:
                    self._take_acked()
                    # After a reconnect paho first resends what it held; nothing new may overtake it.
                    self._resync = self._resync and bool(self._inflight)
                if not self._resync and self._send_some():
                    continue
                self.events.wait(0.05)
            except Exception as exc:  # never end quietly: say it and go on
                log.warning("MQTT broker %s: %s: %s", self.target.shown, type(exc).__name__, exc)
                time.sleep(0.5)

    def _send_some(self) -> bool:
        """Hand paho what the window allows: changed retained topics first, then events. True
        if something was handed over."""
        handed = False
        while len(self._inflight) < WINDOW and self._connected.is_set():
            with self._lock:
                topic = next(iter(self._dirty), None)
                payload = self._states.get(topic, b"") if topic is not None else b""
            if topic is None:
                break
            info = self.client.publish(topic, payload, qos=1, retain=True)
            if info.rc not in self._ok:
                return handed
            with self._lock:
                if self._states.get(topic) == payload:  # else it changed meanwhile: send the newer too
                    self._dirty.pop(topic, None)
                    if not payload:
                        del self._states[topic]  # cleared: nothing to send again after a reconnect
                self._inflight.append(info.mid)
            handed = True
        while len(self._inflight) < WINDOW and self._connected.is_set():
            item = self.events.peek()
            if item is None:
                break
            info = self.client.publish(item[0], item[1], qos=1)
            if info.rc not in self._ok:
                return handed
            self.events.pop_if(item)
            with self._lock:
                self._inflight.append(info.mid)
            handed = True
        return handed

    def close(self, flush_s: float = FLUSH_S) -> None:
        """Send what waits (within `flush_s` in all), say `offline`, and disconnect."""
        deadline = time.monotonic() + flush_s
        self._closing.set()
        self.events.notify()
        if self._thread.is_alive():
            self._thread.join(max(0.0, deadline - time.monotonic() - 1.0))
        left = self.events.close()
        with self._lock:
            said = self._states.get(self.will_topic) == b"offline" and self.will_topic not in self._dirty
        if self._connected.is_set() and not said:
            mid = self.client.publish(self.will_topic, "offline", qos=1, retain=True).mid
            with self._lock:
                self._inflight.append(mid)
            while time.monotonic() < deadline and self._connected.is_set() and not self._idle():
                time.sleep(0.02)  # the broker's acknowledgements of what was sent, `offline` last
        self.client.disconnect()
        self.client.loop_stop()
        lost = left + self.events.dropped
        if lost:  # the run ends with one line and exit 1: events were lost
            raise FacetrackError(f"MQTT broker {self.target.shown}: {lost} event(s) not sent ({left} still waiting "
                                 f"at the end, {self.events.dropped} dropped from a full queue)")


def _matches(pattern: str, topic: str) -> bool:
    """MQTT's topic filter rules: + one level, # the rest."""
    p, t = pattern.split("/"), topic.split("/")
    for i, level in enumerate(p):
        if level == "#":
            return True
        if i >= len(t) or (level != "+" and level != t[i]):
            return False
    return len(p) == len(t)
