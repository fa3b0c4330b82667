"""The event rules (tracker/sinks/notify/events.py) on hand-made frame results, and Home Assistant's
discovery payloads (tracker/sinks/notify/hass.py) against its documented schema. No broker here:
tests/sinks/test_mqtt.py has the real one."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import numpy as np
import pytest

from tests.helpers.hass_schema import check_discovery
from tracker.config import Config, load_config
from tracker.errors import FacetrackError
from tracker.records import Frame, FrameResult
from tracker.sinks.notify import hass
from tracker.sinks.notify.events import FACE, Happenings
from tracker.sinks.notify.mqtt import MqttTarget
from tracker.sinks.results import EventLines, EventSink

W, H = 320, 240


def frame(index: int, t: float, image: np.ndarray | None = None, source: str = "cam") -> Frame:
    return Frame(np.zeros((H, W, 3), np.uint8) if image is None else image, index, t, source)


def result(index: int, t: float, faces: list[tuple[int, int, str | None, bool, float]],
           source: str = "cam") -> FrameResult:
    """faces: (track, person id, name, known, quality); face i's box is at x = 10 + 60 i."""
    n = len(faces)
    boxes = np.array([[10 + 60 * i, 50, 50 + 60 * i, 100] for i in range(n)], float).reshape(-1, 4)
    return FrameResult(index=index, time=t, source=source,
                       track_ids=np.array([f[0] for f in faces], np.int64), boxes=boxes,
                       person_ids=np.array([f[1] for f in faces], np.int64), names=tuple(f[2] for f in faces),
                       known=np.array([f[3] for f in faces], bool), distances=np.full(n, 0.4),
                       quality=np.array([f[4] for f in faces], float))


def feed(h: Happenings, steps: list[tuple[float, list[Any]]], fps: float = 10.0) -> list[tuple[str, dict[str, Any]]]:
    """Each (until, faces) step repeated at `fps` until `until` seconds; the events, in order."""
    out = []
    t, i = 0.0, 0
    for until, faces in steps:
        while t < until - 1e-9:
            out += [(e.kind, e.body) for e in h.update(frame(i, round(t, 3)), result(i, round(t, 3), faces))]
            t += 1 / fps
            i += 1
    out += [(e.kind, e.body) for e in h.close()]
    return out


def kinds(events: list[tuple[str, dict[str, Any]]], skip_faces: bool = True) -> list[str]:
    return [k for k, _ in events if not (skip_faces and k == FACE)]


def test_appeared_left_after_a_grace_and_numbered_in_order() -> None:
    h = Happenings(left_after=1.0)
    alice = (1, 7, "Alice", True, 0.9)
    # Alice, a gap of 0.5 s (a turned face: no `left`), Alice, 2 s gone (left), Alice again.
    ev = feed(h, [(2.0, [alice]), (2.5, []), (4.0, [alice]), (6.0, []), (7.0, [alice])])
    assert kinds(ev) == ["appeared", "left", "appeared", "left"]
    assert [b["seq"] for _, b in ev] == list(range(1, len(ev) + 1))
    left = ev[1][1]
    assert left["person"] == "Alice" and left["known"] is True and left["track"] == 1
    assert left["time"] == pytest.approx(3.9) and left["seen_s"] == pytest.approx(3.9)
    for _, body in ev:
        datetime.fromisoformat(body["at"])  # ISO 8601, wall clock
    assert ev[0][1]["distance"] == 0.4


def test_named_when_someone_present_gets_a_name() -> None:
    h = Happenings()
    # The user names the automatic identity 5 while it is on screen; then track 2, shown as the
    # automatic identity 6, turns out to be the known person 8.
    ev = feed(h, [(1.0, [(1, 5, "Person 5", False, 0.9)]), (2.0, [(1, 5, "Bob", True, 0.9)]),
                  (3.0, [(1, 5, "Bob", True, 0.9), (2, 6, "Person 6", False, 0.9)]),
                  (4.0, [(1, 5, "Bob", True, 0.9), (2, 8, "Carol", True, 0.9)])])
    named = [b for k, b in ev if k == "named"]
    assert [(b["person"], b["was"]) for b in named] == [("Bob", "Person 5"), ("Carol", "Person 6")]


def test_an_unknown_visitor_is_announced_once_per_visit_when_trustworthy() -> None:
    h = Happenings(announce_after=1.0, visit_gap=30.0, left_after=1.0, faces=True)
    poor = (3, 9, "Person 9", False, 0.1)  # under the quality gate: not yet
    good = (3, 9, "Person 9", False, 0.8)
    other_track = (4, 9, "Person 9", False, 0.8)  # the same identity on a new track (the face turned away)
    ev = feed(h, [(2.0, [poor]), (2.5, [good]), (4.0, [good]), (8.0, []), (10.0, [other_track]),
                  (50.0, []), (52.0, [(5, 9, "Person 9", False, 0.8)])])
    announced = [(k, b) for k, b in ev if k in ("unknown", "reidentified")]
    # One announcement for the first visit, at its first face good enough; none for the
    # second track 4 s later (the same visit); the visit after 40 s away is announced again, as
    # a returning visitor.
    assert [k for k, _ in announced] == ["unknown", "reidentified"]
    assert announced[0][1]["time"] == pytest.approx(2.0)  # at the first good face (the track stood 2 s)
    assert announced[1][1]["track"] == 5
    assert kinds(ev).count("appeared") == 3


def test_an_identity_older_than_its_visit_is_reidentified() -> None:
    now = 1_000_000.0
    made = {9: now - 3600.0, 10: now - 0.2}  # 10: made from its first faces, as they were read
    h = Happenings(announce_after=0.5, created=made.get, clock=lambda: now)
    ev = feed(h, [(2.0, [(1, 9, "Person 9", False, 0.9), (2, 10, "Person 10", False, 0.9)])])
    found = {b["person"]: k for k, b in ev if k in ("unknown", "reidentified")}
    assert found == {"Person 9": "reidentified", "Person 10": "unknown"}
    assert next(b for k, b in ev if k == "reidentified")["first_seen"].startswith("1970-01-12")


def test_a_known_person_is_never_announced_as_unknown_and_an_undecided_face_is_nobody() -> None:
    h = Happenings(announce_after=0.0)
    ev = feed(h, [(3.0, [(1, 7, "Alice", True, 0.9), (2, -1, None, False, 0.9)])])
    assert kinds(ev) == ["appeared", "left"]


def test_the_best_face_of_a_visit_is_kept_and_handed_out_sparingly() -> None:
    img = np.zeros((H, W, 3), np.uint8)
    h = Happenings(faces=True, face_every=5.0, announce_after=0.5)
    events = []
    for i in range(100):  # 10 s at 10 fps; the quality peaks at 0.95 at frame 60
        q = 0.95 if i == 60 else 0.5 + 0.003 * (i % 10)
        img[:] = i  # each frame its own grey: which frame a picture came from can be told
        events += h.update(frame(i, i / 10, img.copy()), result(i, i / 10, [(1, 7, "Alice", True, q)]))
    events += h.close()
    faces = [e for e in events if e.kind == FACE]
    assert faces and len(faces) <= 3  # not one per frame
    last = faces[-1]
    assert last.face is not None and last.face.quality == pytest.approx(0.95)
    assert int(last.face.image[0, 0, 0]) == 60  # cut from the frame where it was best
    assert last.face.jpeg[:2] == b"\xff\xd8"


def test_another_source_ends_every_presence() -> None:
    h = Happenings(left_after=100.0)
    a = h.update(frame(0, 5.0), result(0, 5.0, [(1, 7, "Alice", True, 0.9)], source="a.mp4"))
    b = h.update(frame(0, 0.0, source="b.mp4"), result(0, 0.0, [(1, 8, "Bob", True, 0.9)], source="b.mp4"))
    assert [e.kind for e in a] == ["appeared"]
    assert [(e.kind, e.body["person"]) for e in b] == [("left", "Alice"), ("appeared", "Bob")]


def test_status_events_share_the_numbering_and_every_output_gets_the_same_lines(tmp_path: Any) -> None:
    paths = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    sink = EventSink([EventLines(paths[0]), EventLines(paths[1], extra={"camera": "door"})],
                     Happenings(faces=True))
    sink.status("stream_lost", {"source": "rtsp://cam", "time": 1.0})
    sink.write(frame(0, 0.0), result(0, 0.0, [(1, 7, "Alice", True, 0.9)]))
    sink.status("stream_resumed", {"source": "rtsp://cam", "time": 2.0})
    sink.close()
    a = [json.loads(line) for line in paths[0].read_text().splitlines()]
    b = [json.loads(line) for line in paths[1].read_text().splitlines()]
    assert [e["event"] for e in a] == ["stream_lost", "appeared", "stream_resumed", "left"]  # no `face` lines
    assert [e["seq"] for e in a] == [1, 2, 3, 4]
    assert [{k: v for k, v in e.items() if k != "camera"} for e in b] == a
    assert all(e["camera"] == "door" for e in b)
    assert list(b[0])[:2] == ["event", "camera"]


def test_a_lost_stream_ends_every_presence_at_once(tmp_path: Any) -> None:
    path = tmp_path / "e.jsonl"
    sink = EventSink([EventLines(path)], Happenings(left_after=60.0))
    sink.write(frame(0, 0.0), result(0, 0.0, [(1, 7, "Alice", True, 0.9)]))
    sink.status("stream_lost", {"source": "rtsp://cam", "reason": "stalled"})
    sink.close()
    said = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["event"], e.get("person")) for e in said] == [("appeared", "Alice"), ("stream_lost", None),
                                                          ("left", "Alice")]


# ---------------------------------------------------------------------- settings and URLs
def test_event_settings_from_toml_environment_and_flags(tmp_path: Any) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('webhook = ["http://a/x", "http://b/y"]\nleft_after = 5\nmqtt = "mqtt://h"\n')
    cfg = load_config(toml, env={"FACETRACK_MQTT_PASSWORD": "pw", "FACETRACK_VISIT_GAP": "60"})
    assert cfg.webhook == ("http://a/x", "http://b/y") and cfg.left_after == 5.0 and cfg.visit_gap == 60.0
    assert "pw" not in repr(cfg) and "mqtt://h" not in repr(cfg)
    assert load_config(toml, env={"FACETRACK_WEBHOOK": "http://c http://d"}).webhook == ("http://c", "http://d")
    assert load_config(toml, env={}, overrides={"webhook": ["http://e"]}).webhook == ("http://e",)
    with pytest.raises(FacetrackError, match="webhook: expected a list of non-empty strings"):
        Config(webhook=(1,))  # type: ignore[arg-type]
    with pytest.raises(FacetrackError, match="event_queue must be at least 1"):
        Config(event_queue=0)


def test_mqtt_urls() -> None:
    t = MqttTarget.parse("mqtts://bob:p%40ss@broker.lan/site/a?discovery=off")
    assert (t.host, t.port, t.tls, t.username, t.password, t.prefix, t.discovery) == \
        ("broker.lan", 8883, True, "bob", "p@ss", "site/a", None)
    assert "p@ss" not in t.shown and "p%40ss" not in t.shown
    assert MqttTarget.parse("mqtt://h?discovery=OFF").discovery is None
    assert MqttTarget.parse("mqtt://h?discovery=ha/site_1").discovery == "ha/site_1"
    t = MqttTarget.parse("mqtt://bob@h", password="from-env")
    assert (t.port, t.password, t.prefix, t.discovery) == (1883, "from-env", "facetrack", "homeassistant")
    for bad, why in [("http://h", "mqtt:// or mqtts://"), ("mqtt://", "no broker host"),
                     ("mqtt://h:0x", "port must be a number"), ("mqtt://u:p/w@h", "percent-encoded"),
                     ("mqtt://h/a/#", "may not hold"), ("mqtt://h?qos=2", "unknown option"),
                     ("mqtts://h?ca=/no/such.pem", "no such CA file"), ("mqtt://h?discovery=my+ha", "topic prefix")]:
        with pytest.raises(FacetrackError, match=re.escape(why)):
            MqttTarget.parse(bad)
    for url in ("ftp://u:hunter22@h", "mqtt://u:hunter22@h:x", "mqtt://u:hun/ter22@h", "mqtt://u:hunter22@h/#"):
        with pytest.raises(FacetrackError) as err:
            MqttTarget.parse(url)
        assert not any(part in str(err.value) for part in ("hunter22", "hun/", "ter22")), err.value
    assert "hunter22" not in repr(MqttTarget.parse("mqtt://u:hunter22@h"))


# ---------------------------------------------------------------------- Home Assistant
@pytest.mark.parametrize("camera", ["door", "Front Door/2", "Küche", "门口"])
def test_discovery_payloads_follow_home_assistants_schema(camera: str) -> None:
    prefix = "facetrack"
    state = f"{prefix}/{hass.camera_topic(camera)}/person/alice"
    msgs = {
        hass.config_topic("homeassistant", "binary_sensor", camera, "person_3"):
            hass.presence_config(prefix, camera, 3, "Alice", state),
        hass.config_topic("homeassistant", "sensor", camera, "last_unknown"):
            hass.unknown_config(prefix, camera, f"{prefix}/x/unknown"),
        hass.config_topic("homeassistant", "image", camera, "last_unknown_face"):
            hass.unknown_face_config(prefix, camera, f"{prefix}/x/unknown/face"),
        hass.config_topic("homeassistant", "sensor", camera, "people"):
            hass.people_config(prefix, camera, f"{prefix}/x/people"),
    }
    for topic, payload in msgs.items():
        check_discovery(topic, json.loads(json.dumps(payload)))
    ids = {p["unique_id"] for p in msgs.values()}
    assert len(ids) == 4


def test_topic_levels_from_names() -> None:
    assert hass.slug("Lin-Manuel Miranda", "x") == "lin_manuel_miranda"
    assert hass.slug("Zoë O'Brien", "x") == "zoe_o_brien"
    assert hass.slug("王伟", "person_4") == "person_4"
    assert hass.camera_topic("a/b+c#") == "a_b_c_"
    assert hass.node_id("door") == "facetrack_door"
    assert hass.node_id("Door") != hass.node_id("door")  # two cameras, two devices
    assert re.fullmatch(r"[a-zA-Z0-9_-]+", hass.node_id("门口"))
