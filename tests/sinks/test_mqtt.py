"""Events where home automation listens, against real servers on loopback: Debian's mosquitto
(tests/helpers/mqtt_broker.py), GStreamer's RTSP server for live cameras, and a small HTTP receiver for
webhooks. Real clips, real gallery, the real CLI."""

from __future__ import annotations

import contextlib
import http.server
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import pytest

from tests.helpers.hass_schema import check_discovery
from tests.helpers.mqtt_broker import Broker, Subscriber, available, free_port, retained
from tests.helpers.paths import CLIP, ROOT
from tests.helpers.rtsp import RtspServer, facetrack, h264_clip, missing, stop_within
from tracker.cli.main import main
from tracker.errors import FacetrackError

pytestmark = pytest.mark.skipif(available() is not None, reason=available() or "ok")

MONTAGE = ROOT / "tests" / "data" / "ccby" / "shotchange_ccby_montage.mp4"
LIN = ROOT / "assets" / "people" / "Lin-Manuel Miranda"
CAM = "short_hamilton_clip"  # the camera `run` names after its source


@pytest.fixture
def broker():  # type: ignore[no-untyped-def]
    b = Broker().start()
    yield b
    b.close()


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _events(sub: Subscriber, camera: str = CAM) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in sub.on(f"facetrack/{camera}/events")]


def _enrolled(tmp_path: Path) -> Path:
    gallery = tmp_path / "g.sqlite3"
    assert main(["enroll", "Lin-Manuel Miranda", str(LIN), "--gallery", str(gallery), "-q"]) == 0
    return gallery


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracker", "run", "--headless", "--no-progress", *args],
                          capture_output=True, text=True, timeout=300)


def test_a_clip_with_one_person_enrolled_and_one_unknown(tmp_path: Path, broker: Broker) -> None:
    gallery = _enrolled(tmp_path)
    sub = Subscriber(broker)
    try:
        r = _run(str(CLIP), "--gallery", str(gallery), "--mqtt", broker.url(), "--events", str(tmp_path / "e.jsonl"))
        assert r.returncode == 0, r.stderr
        file_events = _lines(tmp_path / "e.jsonl")
        assert sub.wait_for(lambda ms: len([m for m in ms if m.topic.endswith("/events")]) >= len(file_events))
        on_broker = _events(sub)
        # The same events, in the same order, as the --events file, with the camera's name.
        assert [{k: v for k, v in e.items() if k != "camera"} for e in on_broker] == file_events
        assert {e["camera"] for e in on_broker} == {CAM}
        kinds = [(e["event"], e["person"]) for e in on_broker]
        assert ("appeared", "Lin-Manuel Miranda") in kinds and ("left", "Lin-Manuel Miranda") in kinds
        unknown = [e for e in on_broker if e["event"] == "unknown"]
        assert len(unknown) == 1 and not unknown[0]["known"], on_broker  # the audience member, once
        assert not any(e["event"] == "unknown" and e["person"] == "Lin-Manuel Miranda" for e in on_broker)
        # Availability: online while it ran, offline (retained) at the end.
        said = [m.payload for m in sub.on(f"facetrack/{CAM}/availability")]
        assert said[0] == b"online" and said.index(b"offline") == len(said) - 1, said
        lin_states = [json.loads(m.payload)["state"] for m in sub.on(f"facetrack/{CAM}/person/lin_manuel_miranda")]
        assert lin_states[0] == "OFF" and "ON" in lin_states and lin_states[-1] == "OFF"
    finally:
        sub.close()

    kept = retained(broker)
    # Retained: presence OFF with when they were last seen; the unknown visitor and both faces.
    lin = json.loads(kept[f"facetrack/{CAM}/person/lin_manuel_miranda"])
    assert lin["state"] == "OFF" and lin["person"] == "Lin-Manuel Miranda" and lin["last_seen"]
    last = json.loads(kept[f"facetrack/{CAM}/unknown"])
    assert last["event"] == "unknown" and last["person"] == unknown[0]["person"]
    for topic in (f"facetrack/{CAM}/unknown/face", f"facetrack/{CAM}/person/lin_manuel_miranda/face"):
        img = cv2.imdecode(np.frombuffer(kept[topic], np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and min(img.shape[:2]) >= 30, topic
    assert json.loads(kept[f"facetrack/{CAM}/people"])["count"] == 0
    assert kept[f"facetrack/{CAM}/availability"] == b"offline"
    # Discovery: a presence sensor for the enrolled person, the unknown visitor's sensor and
    # image, the people count; each valid under Home Assistant's schema.
    configs = {t: json.loads(p) for t, p in kept.items() if t.startswith("homeassistant/")}
    assert sorted(t.split("/")[1] for t in configs) == ["binary_sensor", "image", "sensor", "sensor"]
    for topic, payload in configs.items():
        check_discovery(topic, payload)
    sensor = next(p for t, p in configs.items() if "/binary_sensor/" in t)
    assert sensor["name"] == "Lin-Manuel Miranda"
    assert sensor["state_topic"] == f"facetrack/{CAM}/person/lin_manuel_miranda"

    # The same visitor in a second run is a returning one: `reidentified`, not `unknown`.
    sub = Subscriber(broker, (f"facetrack/{CAM}/events",))
    try:
        r = _run(str(CLIP), "--gallery", str(gallery), "--mqtt", broker.url())
        assert r.returncode == 0, r.stderr
        assert sub.wait_for(lambda ms: any(json.loads(m.payload)["event"] == "reidentified" for m in ms))
        again = [e for e in _events(sub) if e["event"] in ("unknown", "reidentified")]
        assert [(e["event"], e["person"]) for e in again] == [("reidentified", unknown[0]["person"])]
        assert again[0]["first_seen"] < again[0]["at"]
    finally:
        sub.close()


class _People:
    def __init__(self) -> None:
        self.people: list[Any] = []

    def __call__(self) -> list[Any]:
        return list(self.people)


def test_people_named_renamed_and_removed_update_their_entities(broker: Broker) -> None:
    from tracker.gallery.schema import Person
    from tracker.sinks.notify.mqtt import MqttLink, MqttTarget
    from tracker.sinks.notify.mqtt_camera import PEOPLE_EVERY_S, MqttCamera

    people = _People()
    people.people = [Person(1, "Alice", True, 3, 0.0, None), Person(2, "Person 1", False, 3, 0.0, None)]
    now = [0.0]
    link = MqttLink(MqttTarget.parse(broker.url()), "facetrack/availability", "test").start()
    cam = MqttCamera(link, "door", people, clock=lambda: now[0])
    config = "homeassistant/binary_sensor/facetrack_door/person_1/config"

    def settled(test: Any) -> dict[str, bytes]:
        deadline = time.monotonic() + 10
        while True:
            kept = retained(broker, settle=0.3)
            if test(kept) or time.monotonic() > deadline:
                return kept

    try:
        kept = settled(lambda k: config in k)
        assert json.loads(kept[config])["name"] == "Alice"  # known people only: no sensor for Person 1
        assert not any("person_2" in t for t in kept)
        assert json.loads(kept["facetrack/door/person/alice"])["state"] == "OFF"
        # Renamed: the same entity (its unique id) under the new name and topic; the old topic cleared.
        people.people = [Person(1, "Alicia", True, 3, 0.0, None), Person(2, "Bob", True, 3, 0.0, None)]
        now[0] += PEOPLE_EVERY_S
        cam.send([])
        bob_config = "homeassistant/binary_sensor/facetrack_door/person_2/config"
        kept = settled(lambda k: "facetrack/door/person/alice" not in k and "facetrack/door/person/bob" in k
                       and bob_config in k and b"Alicia" in k.get(config, b""))
        cfg = json.loads(kept[config])
        assert cfg["name"] == "Alicia" and cfg["unique_id"] == "facetrack_door_person_1"
        assert cfg["state_topic"] == "facetrack/door/person/alicia"
        assert "facetrack/door/person/alice" not in kept and "facetrack/door/person/alicia" in kept
        assert json.loads(kept["homeassistant/binary_sensor/facetrack_door/person_2/config"])["name"] == "Bob"
        # Removed: its entity goes (an empty retained config), and its state topic too.
        people.people = [Person(2, "Bob", True, 3, 0.0, None)]
        now[0] += PEOPLE_EVERY_S
        cam.send([])
        kept = settled(lambda k: config not in k and "facetrack/door/person/alicia" not in k)
        assert config not in kept and "facetrack/door/person/alicia" not in kept
        assert "homeassistant/binary_sensor/facetrack_door/person_2/config" in kept
        # The last unknown visitor, named later: the sensor follows (by the gallery's id).
        from tracker.sinks.notify.events import Event

        cam.send([Event("unknown", {"event": "unknown", "seq": 1, "at": "x", "person": "Person 5", "person_id": 5,
                                    "known": False}, 5, False),
                  Event("status", {"event": "status", "seq": 2, "at": "x", "connected": True})])
        people.people = [Person(2, "Bob", True, 3, 0.0, None), Person(5, "Eve", True, 3, 0.0, None)]
        now[0] += PEOPLE_EVERY_S
        cam.send([])
        kept = settled(lambda k: json.loads(k.get("facetrack/door/unknown", b"{}")).get("person") == "Eve")
        assert json.loads(kept["facetrack/door/unknown"])["known"] is True
        # Home Assistant started again (its birth message): every discovery message is sent again.
        sub = Subscriber(broker, ("homeassistant/#",))
        try:
            assert sub.wait_for(lambda ms: len([m for m in ms if m.retain]) == len(kept) - len(
                [t for t in kept if not t.startswith("homeassistant/")]))  # the retained ones, on subscribing
            import paho.mqtt.publish as publish

            publish.single("homeassistant/status", "online", hostname="127.0.0.1", port=broker.port)
            assert sub.wait_for(lambda ms: any(not m.retain and m.topic.endswith("person_2/config") for m in ms))
            again = {m.topic for m in sub.messages if not m.retain and m.topic != "homeassistant/status"}
            assert again == {t for t in kept if t.startswith("homeassistant/")}
        finally:
            sub.close()
    finally:
        cam.close()
        link.close()
    # Closed: the retained status no longer says the camera is connected.
    assert json.loads(retained(broker, "facetrack/door/status")["facetrack/door/status"])["connected"] is False


def test_what_an_earlier_run_left_is_kept_or_removed(broker: Broker) -> None:
    """A person removed while facetrack was stopped loses their sensor at the next start; a known
    person's retained last_seen is kept, not overwritten by the new run."""
    import paho.mqtt.publish as publish

    from tracker.gallery.schema import Person
    from tracker.sinks.notify.mqtt import MqttLink, MqttTarget
    from tracker.sinks.notify.mqtt_camera import MqttCamera

    stale = "homeassistant/binary_sensor/facetrack_door/person_9/config"
    msgs = [(stale, json.dumps({"name": "Gone", "state_topic": "facetrack/door/person/gone"}), 1, True),
            ("facetrack/door/person/gone", json.dumps({"state": "OFF", "last_seen": "2026-01-01T00:00:00+00:00"}),
             1, True),
            ("facetrack/door/person/gone/face", b"\xff\xd8 a face", 1, True),
            ("facetrack/door/person/bob", json.dumps({"state": "OFF", "last_seen": "2026-11-30T08:00:00+00:00"}),
             1, True)]
    publish.multiple(msgs, hostname="127.0.0.1", port=broker.port)
    people = _People()
    people.people = [Person(2, "Bob", True, 3, 0.0, None)]
    link = MqttLink(MqttTarget.parse(broker.url()), "facetrack/door/availability", "test").start()
    cam = MqttCamera(link, "door", people)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            kept = retained(broker, settle=0.3)
            if not {stale, "facetrack/door/person/gone", "facetrack/door/person/gone/face"} & set(kept) \
                    and b"last_seen" in kept.get("facetrack/door/person/bob", b""):
                break
        assert not {stale, "facetrack/door/person/gone", "facetrack/door/person/gone/face"} & set(kept)
        assert "homeassistant/binary_sensor/facetrack_door/person_2/config" in kept
        assert json.loads(kept["facetrack/door/person/bob"]) == {
            "state": "OFF", "person": "Bob", "camera": "door", "last_seen": "2026-11-30T08:00:00+00:00"}
    finally:
        cam.close()
        link.close()


def test_queued_events_survive_a_broker_restart_in_order_and_the_oldest_go_past_the_bound(broker: Broker) -> None:
    from tracker.sinks.notify.mqtt import MqttLink, MqttTarget

    sub = Subscriber(broker, ("t/#",))
    link = MqttLink(MqttTarget.parse(broker.url()), "t/availability", "test", queue_size=100).start()

    def put(seqs: range) -> None:
        for i in seqs:
            link.event("t/events", json.dumps({"seq": i}).encode())

    try:
        put(range(1, 51))
        assert sub.wait_for(lambda ms: sum(m.topic == "t/events" for m in ms) >= 50)
        broker.kill(signal.SIGTERM)  # it saves the subscriber's session: only facetrack's side is tested
        deadline = time.monotonic() + 10
        while link.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not link.connected
        t = time.monotonic()
        put(range(51, 251))  # 200 while the broker is down; the queue holds 100
        assert time.monotonic() - t < 1.0  # never waits for the broker
        assert link.events.dropped == 100
        broker.start()
        assert sub.wait_for(lambda ms: any(json.loads(m.payload)["seq"] == 250 for m in ms if m.topic == "t/events"),
                            timeout=30)
        seqs = [json.loads(m.payload)["seq"] for m in sub.on("t/events")]
        first = list(dict.fromkeys(seqs))  # QoS 1 is at least once: a repeat is allowed, a gap is not
        assert first == [*range(1, 51), *range(151, 251)], first
        # Retained state (the last will's `online`) was sent again after the restart.
        assert [m.payload for m in sub.on("t/availability")][-1] == b"online"
        # The loss is said at the end: one line, which the run turns into exit 1.
        with pytest.raises(FacetrackError, match=r"100 event\(s\) not sent \(0 still waiting at the end, 100 dropped"):
            link.close()
    finally:
        with contextlib.suppress(FacetrackError):
            link.close()
        sub.close()


def test_a_run_goes_on_through_a_broker_restart_and_loses_no_event(tmp_path: Path, broker: Broker) -> None:
    events = tmp_path / "e.jsonl"
    sub = Subscriber(broker, ("facetrack/+/events",))
    p = subprocess.Popen([sys.executable, "-m", "tracker", "run", "--headless", "--no-progress", str(MONTAGE),
                          "--gallery", str(tmp_path / "g.sqlite3"), "--mqtt", broker.url(), "--events", str(events),
                          "--status-every", "0.25"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(_lines(events)) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        broker.kill(signal.SIGTERM)
        during = len(_lines(events))
        time.sleep(3.0)
        assert p.poll() is None, "the run goes on while the broker is down"
        assert len(_lines(events)) > during, "... and keeps producing events"
        broker.start()
        _, err = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert "connection lost" in err and "connected again" in err, err
    written = _lines(events)
    assert sub.wait_for(lambda ms: len({json.loads(m.payload)["seq"] for m in ms}) >= len(written))
    got = list(dict.fromkeys(json.loads(m.payload)["seq"] for m in sub.messages))
    assert got == [e["seq"] for e in written]  # every event, once each, in order
    sub.close()


def test_a_wrong_password_or_a_missing_broker_is_one_line(tmp_path: Path) -> None:
    b = Broker({"alice": "s3cret"}).start()
    try:
        cases = [(b.url("alice", "wrong"), "refused the connection: Not authorized"),
                 (b.url(), "refused the connection: Not authorized"),
                 (f"mqtt://127.0.0.1:{free_port()}", "cannot connect: Connection refused"),
                 ("mqtt://no-such-host.invalid", "cannot connect"),
                 ("mqtt:/127.0.0.1", "no broker host")]
        for url, why in cases:
            r = _run(str(CLIP), "--gallery", str(tmp_path / "g.sqlite3"), "--mqtt", url)
            lines = r.stderr.strip().splitlines()
            assert r.returncode == 1 and len(lines) == 1 and lines[0].startswith("facetrack: error:"), r.stderr
            assert why in lines[0] and "wrong" not in lines[0], lines[0]
        # The password from the environment, never printed.
        env = {"FACETRACK_MQTT_PASSWORD": "s3cret", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        r = subprocess.run([sys.executable, "-m", "tracker", "run", "--headless", "--no-progress", str(CLIP),
                            "--gallery", str(tmp_path / "g.sqlite3"), "--mqtt", b.url("alice"), "-v"],
                           capture_output=True, text=True, timeout=300, env=env)
        assert r.returncode == 0, r.stderr
        assert "s3cret" not in r.stderr + r.stdout
    finally:
        b.close()


def test_without_paho_the_flag_says_how_to_install_it(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['paho'] = None; from tracker.cli.main import main; "
            f"sys.exit(main(['run', '--headless', {str(CLIP)!r}, '--mqtt', 'mqtt://localhost', "
            f"'--gallery', {str(tmp_path / 'g.sqlite3')!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stderr.strip() == \
        "facetrack: error: --mqtt needs the paho-mqtt library: pip install 'facetrack[mqtt]'", r.stderr


class _Receiver(http.server.BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    got: ClassVar[list[tuple[int, dict[str, Any], str]]] = []  # (status answered, body, idempotency key)
    auth: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status = self.answers.pop(0) if self.answers else 200
        self.got.append((status, body, self.headers.get("Idempotency-Key", "")))
        self.auth.append(self.headers.get("Authorization", ""))
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_webhook_that_fails_then_recovers_gets_every_event_once(tmp_path: Path) -> None:
    _Receiver.answers = [500, 500, 503]  # the first three deliveries fail
    _Receiver.got = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        gallery = _enrolled(tmp_path)
        r = _run(str(CLIP), "--gallery", str(gallery), "--webhook", url, "--events", str(tmp_path / "e.jsonl"))
        assert r.returncode == 0, r.stderr
        assert "HTTP 500; trying again" in r.stderr, r.stderr
    finally:
        server.shutdown()
    written = _lines(tmp_path / "e.jsonl")
    accepted = [body for status, body, _ in _Receiver.got if status == 200]
    assert [{k: v for k, v in b.items() if k not in ("camera", "face_jpeg")} for b in accepted] == written
    assert [s for s, _, _ in _Receiver.got[:3]] == [500, 500, 503]
    assert len({b["seq"] for b in accepted}) == len(accepted)  # once each
    keys = [k for _, b, k in _Receiver.got if b["seq"] == 1]
    assert len(keys) == 4 and len(set(keys)) == 1  # the retries of one event share its key
    face = next(b for b in accepted if b["event"] == "unknown")["face_jpeg"]
    assert face and cv2.imdecode(np.frombuffer(__import__("base64").b64decode(face), np.uint8), 1) is not None


def test_a_webhook_with_credentials_an_unknown_host_and_a_refusing_receiver(tmp_path: Path) -> None:
    _Receiver.answers = []
    _Receiver.got = []
    _Receiver.auth = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        r = _run(str(CLIP), "--gallery", str(tmp_path / "g.sqlite3"),
                 "--webhook", f"http://hook:s%40cret@127.0.0.1:{port}/in")
        assert r.returncode == 0, r.stderr
        assert _Receiver.got and set(_Receiver.auth) == {"Basic aG9vazpzQGNyZXQ="}  # hook:s@cret
        assert "s@cret" not in r.stderr and "s%40cret" not in r.stderr
        # A receiver that refuses (400) every event: dropped, and the run says so at the end.
        _Receiver.answers = [400] * 100
        r = _run(str(CLIP), "--gallery", str(tmp_path / "g.sqlite3"), "--webhook", f"http://127.0.0.1:{port}/in")
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 1 and lines[-1].startswith("facetrack: error: webhook") and "refused by the receiver" \
            in lines[-1], r.stderr
        assert sum("refused" in line for line in lines) == 2  # one warning (not one per event), one error
    finally:
        server.shutdown()
    r = _run(str(CLIP), "--gallery", str(tmp_path / "g.sqlite3"), "--webhook", "http://no-such-host.invalid/in")
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [
        "facetrack: error: --webhook http://no-such-host.invalid/in: cannot find the host no-such-host.invalid: "
        + r.stderr.strip().split(": ")[-1]], r.stderr


@pytest.mark.skipif(bool(missing()), reason=missing() or "ok")
def test_two_rtsp_cameras_each_with_its_own_last_will(tmp_path: Path, broker: Broker) -> None:
    clip = h264_clip(CLIP, tmp_path / "loop.mp4")
    sub = Subscriber(broker, ("facetrack/#",))
    with RtspServer(clip) as a, RtspServer(clip) as b:
        site = tmp_path / "site.toml"
        site.write_text(f'[[camera]]\nname = "a"\nurl = "{a.url}"\n\n[[camera]]\nname = "b"\nurl = "{b.url}"\n')
        p = facetrack("run", "--parallel", "--headless", "--config", str(site), "--gallery",
                      str(tmp_path / "g.sqlite3"), "--mqtt", broker.url(), "--status-every", "0.5")
        try:
            def status(cam: str) -> list[dict[str, Any]]:
                return [json.loads(m.payload) for m in sub.on(f"facetrack/{cam}/status")]

            assert sub.wait_for(lambda _: all(s and s[-1]["frames"] > 0 for s in (status("a"), status("b"))),
                                timeout=90), p.poll()
            # Kill camera a's process: the broker says it is offline (its last will), and it is
            # online again once the parent has started it again; b is never offline.
            victim = status("a")[-1]["pid"]
            seen = len(sub.on("facetrack/a/availability"))
            subprocess.run(["kill", "-9", str(victim)], check=True)
            assert sub.wait_for(lambda _: b"offline" in [m.payload for m in sub.on("facetrack/a/availability")[seen:]],
                                timeout=20)
            assert sub.wait_for(lambda _: [m.payload for m in sub.on("facetrack/a/availability")][-1] == b"online",
                                timeout=60)
            assert b"offline" not in [m.payload for m in sub.on("facetrack/b/availability")]
            # Each camera's events under its own name (camera a's may come only from its second
            # process, on a loaded machine: waited for, not assumed).
            assert sub.wait_for(lambda _: {e["camera"] for e in _events(sub, "a") + _events(sub, "b")} == {"a", "b"},
                                timeout=60)
            err = stop_within(p, signal.SIGINT, 15.0, timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
    assert p.returncode == 130, err
    assert sub.wait_for(lambda _: [m.payload for m in sub.on("facetrack/availability")][-1:] == [b"offline"])
    kept = retained(broker)
    assert kept["facetrack/a/availability"] == kept["facetrack/b/availability"] == b"offline"
    sub.close()
