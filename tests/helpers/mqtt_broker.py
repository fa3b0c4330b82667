"""A real MQTT broker on loopback for the event tests: Debian's `mosquitto`, started per test in a
temporary folder (with a password file where a test wants one), and a subscriber that records
what it receives. Where mosquitto or paho-mqtt is missing, `available()` says why and the tests
that need it skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers.streams import free_port


def _mosquitto() -> str | None:
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
                                               if os.path.exists(p)), None)


def available() -> str | None:
    """None when a broker can be started here, else why not."""
    try:
        import paho.mqtt.client  # noqa: F401
    except ImportError:
        return "paho-mqtt is not installed"
    if _mosquitto() is None:
        return "mosquitto (Debian's package) is not installed"
    return None


class Broker:
    """mosquitto on 127.0.0.1:port. `users`: name -> password (then anonymous clients are refused)."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="facetrack-mqtt-"))
        self.port = free_port()
        self.users = users or {}
        lines = [f"listener {self.port} 127.0.0.1", f"allow_anonymous {'false' if self.users else 'true'}",
                 # Persistence, saved every second, so a subscriber's session and its queued
                 # messages outlive a broker that is killed and started again.
                 "persistence true", f"persistence_location {self.folder}/", "autosave_interval 1",
                 f"log_dest file {self.folder}/mosquitto.log", "max_queued_messages 100000"]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to a `mosquitto` user that cannot write here
        if self.users:
            pw = self.folder / "passwords"
            pw.write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
            pw.chmod(0o600)
            subprocess.run(["mosquitto_passwd", "-U", str(pw)], check=True, capture_output=True)
            lines.append(f"password_file {pw}")
        self.conf = self.folder / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Broker:
        mosquitto = _mosquitto()
        assert mosquitto is not None
        self.proc = subprocess.Popen([mosquitto, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {(self.folder / 'mosquitto.log').read_text(errors='replace')}")
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop the broker: SIGKILL loses what it had not saved; SIGTERM saves its sessions first."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None

    def url(self, user: str | None = None, password: str | None = None, prefix: str = "") -> str:
        who = f"{user}:{password}@" if user and password is not None else (f"{user}@" if user else "")
        return f"mqtt://{who}127.0.0.1:{self.port}{'/' + prefix if prefix else ''}"

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool


class Subscriber:
    """Records every message under `topics` (QoS 1) in `messages`, with a persistent session so
    that messages published while it reconnects after a broker restart wait for it."""

    def __init__(self, broker: Broker, topics: tuple[str, ...] = ("#",), user: str | None = None,
                 password: str | None = None) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{os.getpid()}-{id(self)}",
                                  clean_session=False)
        if user:
            self.client.username_pw_set(user, password)
        self.client.reconnect_delay_set(0.1, 0.5)
        self.topics = topics

        def on_connect(client: Any, *_: Any) -> None:
            client.subscribe([(t, 1) for t in topics])

        def on_subscribe(*_: Any) -> None:
            self._subscribed.set()

        def on_message(_c: Any, _u: Any, msg: Any) -> None:
            with self._lock:
                self.messages.append(Message(msg.topic, bytes(msg.payload), bool(msg.retain)))

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("the test subscriber could not subscribe")

    def on(self, topic: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def wait_for(self, test: Any, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                now = list(self.messages)
            if test(now):  # outside the lock: a test may call on()
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def retained(broker: Broker, topic_filter: str = "#", settle: float = 1.0) -> dict[str, bytes]:
    """What the broker holds retained now under `topic_filter`, as a new client sees it.

    The broker sends its retained messages right after acknowledging the subscription; they are
    read until none has come for `settle` seconds after that acknowledgement (not after
    connecting: on a loaded machine connecting alone can take longer, and a partial read would
    pass a test that something is gone)."""
    import paho.mqtt.client as mqtt

    got: dict[str, bytes] = {}
    lock = threading.Lock()
    subscribed = threading.Event()
    last = [time.monotonic()]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, clean_session=True)

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        with lock:
            if msg.retain:
                got[msg.topic] = bytes(msg.payload)
            last[0] = time.monotonic()

    def on_subscribe(*_: Any) -> None:
        last[0] = time.monotonic()
        subscribed.set()

    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.on_connect = lambda c, *_: c.subscribe(topic_filter, 1)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        if not subscribed.wait(20):
            raise RuntimeError("the test client could not subscribe to read retained messages")
        while time.monotonic() - last[0] < settle:
            time.sleep(0.05)
        with lock:
            return dict(got)
    finally:
        client.disconnect()
        client.loop_stop()
