"""MQTT: events, presence and faces where home and site automation listen (Home Assistant,
Node-RED, anything that speaks MQTT).

Topics, under a prefix (default `facetrack`), per camera (its name, MQTT's reserved characters
replaced):

    facetrack/availability                 online / offline (retained; the last will of the main
                                           process of `run --parallel` / `--ray`)
    facetrack/CAMERA/availability          online / offline (retained; the last will of the process
                                           running the camera, offline while its stream is lost)
    facetrack/CAMERA/events                every event as JSON, in order, QoS 1 (as --events writes them)
    facetrack/CAMERA/status                the latest status event (retained)
    facetrack/CAMERA/people                who is labelled there now (retained)
    facetrack/CAMERA/person/NAME           ON / OFF per known person, with last_seen (retained JSON)
    facetrack/CAMERA/person/NAME/face      their latest best face, JPEG (retained)
    facetrack/CAMERA/unknown               the last unknown visitor's event (retained)
    facetrack/CAMERA/unknown/face          ... their best face, JPEG (retained)

and Home Assistant's discovery messages (notify/hass.py) under `homeassistant/`.

`MqttCamera` turns one camera's events into these messages on a link (notify/mqtt.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import hass
from .events import EVENTS, FACE, Event, iso
from .mqtt import MqttLink

PEOPLE_EVERY_S = 5.0  # how often the list of known people is looked at (discovery)


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def topics(prefix: str, camera: str) -> dict[str, str]:
    base = f"{prefix}/{hass.camera_topic(camera)}"
    return {"availability": f"{base}/availability", "events": f"{base}/events", "status": f"{base}/status",
            "people": f"{base}/people", "person": f"{base}/person", "unknown": f"{base}/unknown",
            "unknown_face": f"{base}/unknown/face"}


class MqttCamera:
    """One camera's events as MQTT messages on a link (an EventOutput, sinks.EventSink)."""

    def __init__(self, link: MqttLink, camera: str, people: Callable[[], Sequence[Any]],
                 extra: dict[str, Any] | None = None, own_link: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.link, self.camera, self.people = link, camera, people
        self.extra = dict(extra or {"camera": camera})
        self.own_link = own_link
        self.clock = clock
        self.prefix, self.discovery = link.target.prefix, link.target.discovery
        self.topics = topics(self.prefix, camera)
        self._known: dict[int, tuple[str, str]] = {}  # person id -> (name, topic level) with discovery sent
        self._people_at = -PEOPLE_EVERY_S
        self._present: dict[int, tuple[str, bool]] = {}
        self._last_seen: dict[int, str] = {}  # known people only
        self._faces: dict[int, bytes] = {}  # known people's latest face (JPEG), to follow a rename
        self._last_unknown = -1
        self._unknown_body: dict[str, Any] | None = None  # the last unknown visitor's event, as published
        self._status: dict[str, Any] | None = None  # the latest status, as published
        self._lock = threading.Lock()  # events come from the frame loop, the capture thread and paho's
        link.state(self.topics["availability"], b"online")
        with self._lock:
            if self.discovery:
                self._discover_camera()
            self._publish_people()
            self._refresh_people()
        # What an earlier run left on the broker: when known people were last seen here (kept,
        # not overwritten), and sensors of people removed or renamed meanwhile (removed).
        link.listen(f"{self.topics['person']}/+", self._earlier_presence)
        link.listen(f"{self.topics['person']}/+/face", self._earlier_face)
        if self.discovery:
            link.listen(hass.config_topic(self.discovery, "binary_sensor", camera, "+"), self._earlier_sensor)
        link.listen(self.topics["unknown"], self._earlier_unknown)

    # ------------------------------------------------------------------ what an earlier run left
    def _earlier_presence(self, topic: str, payload: bytes, retained: bool) -> None:
        if not retained or not payload:
            return
        level = topic.rsplit("/", 1)[1]
        with self._lock:
            pid = next((p for p, (_n, lv) in self._known.items() if lv == level), None)
            if pid is None:
                if level not in {lv for _n, lv in self._known.values()}:
                    self.link.state(topic, b"")  # nobody's now (removed or renamed while stopped)
                return
            if pid in self._last_seen:
                return  # seen in this run: that is newer
            try:
                seen = json.loads(payload).get("last_seen")
            except (ValueError, AttributeError):
                return
            if isinstance(seen, str) and seen:
                self._last_seen[pid] = seen
                name, level = self._known[pid]
                self._presence(pid, name, level, pid in self._present)

    def _earlier_unknown(self, _topic: str, payload: bytes, retained: bool) -> None:
        """The last unknown visitor of an earlier run, named since: the sensor shows their name."""
        if not retained or not payload:
            return
        try:
            body = json.loads(payload)
        except ValueError:
            return
        if not isinstance(body, dict):
            return
        with self._lock:
            if self._unknown_body is None:  # nobody newer in this run
                self._unknown_body = body
                self._follow_unknown()

    def _follow_unknown(self, everyone: Sequence[Any] | None = None) -> None:
        """The last unknown visitor's event again, under the name (and known) the gallery gives them now."""
        body = self._unknown_body
        if body is None or not isinstance(body.get("person_id"), int):
            return
        person = next((p for p in (self.people() if everyone is None else everyone) if p.id == body["person_id"]),
                      None)
        if person is not None and (person.name, bool(person.known)) != (body.get("person"), body.get("known")):
            self._unknown_body = body = {**body, "person": person.name, "known": bool(person.known)}
            self.link.state(self.topics["unknown"], _dumps(body))

    def _earlier_face(self, topic: str, payload: bytes, retained: bool) -> None:
        if retained and payload:
            level = topic.split("/")[-2]
            with self._lock:
                if level not in {lv for _n, lv in self._known.values()}:
                    self.link.state(topic, b"")

    def _earlier_sensor(self, topic: str, payload: bytes, retained: bool) -> None:
        if not retained or not payload:
            return
        object_id = topic.split("/")[-2]
        with self._lock:
            ids = {f"person_{pid}" for pid in self._known}
            if object_id not in ids:
                self.link.state(topic, b"")  # a person removed (or no longer known) while facetrack was stopped

    # ------------------------------------------------------------------ discovery
    def _discover_camera(self) -> None:
        assert self.discovery is not None
        d, t = self.discovery, self.topics
        self.link.state(hass.config_topic(d, "sensor", self.camera, "last_unknown"),
                        _dumps(hass.unknown_config(self.prefix, self.camera, t["unknown"])))
        self.link.state(hass.config_topic(d, "image", self.camera, "last_unknown_face"),
                        _dumps(hass.unknown_face_config(self.prefix, self.camera, t["unknown_face"])))
        self.link.state(hass.config_topic(d, "sensor", self.camera, "people"),
                        _dumps(hass.people_config(self.prefix, self.camera, t["people"])))

    @staticmethod
    def _levels(known: Sequence[Any]) -> dict[int, tuple[str, str]]:
        """Each known person's topic level: their name's slug, made unique (by id) where two
        names give the same one."""
        out: dict[int, tuple[str, str]] = {}
        taken: set[str] = set()
        for p in sorted(known, key=lambda p: p.id):
            level = hass.slug(p.name, f"person_{p.id}")
            if level in taken:
                level = f"{level}_{p.id}"
            taken.add(level)
            out[p.id] = (p.name, level)
        return out

    def _refresh_people(self, now: bool = False) -> None:
        """Discovery and presence topics follow the gallery: a person named gets a sensor; one
        renamed, its new name (and topic; the old topic is cleared); one removed, its sensor removed."""
        t = self.clock()
        if not now and t - self._people_at < PEOPLE_EVERY_S:
            return
        self._people_at = t
        everyone = list(self.people())
        current = self._levels([p for p in everyone if p.known])
        if self._unknown_body is not None:
            self._follow_unknown(everyone)
        if current == self._known:
            return
        base = self.topics["person"]
        for pid, (_name, level) in self._known.items():
            if pid not in current and self.discovery:  # the entity first, so it never reads a cleared state
                self.link.state(hass.config_topic(self.discovery, "binary_sensor", self.camera, f"person_{pid}"), b"")
            if current.get(pid, (None, None))[1] != level:  # removed or moved: its old topics cleared
                self.link.state(f"{base}/{level}", b"")
                self.link.state(f"{base}/{level}/face", b"")
            if pid not in current:
                self._last_seen.pop(pid, None)
                self._faces.pop(pid, None)
        for pid, (name, level) in current.items():
            if self._known.get(pid) == (name, level):
                continue
            if self.discovery:
                cfg = hass.presence_config(self.prefix, self.camera, pid, name, f"{base}/{level}")
                self.link.state(hass.config_topic(self.discovery, "binary_sensor", self.camera, f"person_{pid}"),
                                _dumps(cfg))
            self._presence(pid, name, level, pid in self._present)
            if pid in self._faces:
                self.link.state(f"{base}/{level}/face", self._faces[pid])
        self._known = current

    def _presence(self, pid: int, name: str, level: str, on: bool) -> None:
        body: dict[str, Any] = {"state": "ON" if on else "OFF", "person": name, "camera": self.camera}
        if pid in self._last_seen:
            body["last_seen"] = self._last_seen[pid]
        self.link.state(f"{self.topics['person']}/{level}", _dumps(body))

    def _publish_people(self) -> None:
        names = sorted(n for n, _k in self._present.values())
        known = sorted(n for n, k in self._present.values() if k)
        self.link.state(self.topics["people"], _dumps({"count": len(names), "people": names, "known": known,
                                                       "unknown": len(names) - len(known), "camera": self.camera,
                                                       "at": iso(time.time())}))

    # ------------------------------------------------------------------ events
    def send(self, events: Sequence[Event]) -> None:
        with self._lock:
            self._send(events)

    def _send(self, events: Sequence[Event]) -> None:
        self._refresh_people()
        changed = False
        for e in events:
            body = {"event": e.kind, **self.extra, **e.body} if e.kind in EVENTS else None
            if body is not None:
                self.link.event(self.topics["events"], _dumps(body))
            if e.kind == "status":
                self._status = body
                self.link.state(self.topics["status"], _dumps(body or {}))
            elif e.kind in ("stream_lost", "stream_resumed"):
                self.link.state(self.topics["availability"], b"offline" if e.kind == "stream_lost" else b"online")
            elif e.kind in ("appeared", "named", "left"):
                changed = True
                if e.kind == "left":
                    self._present.pop(e.person_id, None)
                else:
                    self._present[e.person_id] = (e.body["person"], e.known)
                if e.known:
                    self._last_seen[e.person_id] = e.body.get("last_seen") or e.body["at"]
                    if e.person_id not in self._known:
                        self._refresh_people(now=True)  # someone just named: look at the gallery now
                    if e.person_id in self._known:
                        name, level = self._known[e.person_id]
                        self._presence(e.person_id, name, level, e.person_id in self._present)
            elif e.kind in ("unknown", "reidentified") and body is not None:
                self._last_unknown, self._unknown_body = e.person_id, body
                self.link.state(self.topics["unknown"], _dumps(body))
                if e.face is not None:
                    self.link.state(self.topics["unknown_face"], e.face.jpeg)
            if e.face is not None and e.kind == FACE:
                topic = f"{self.topics['person']}/{self._known[e.person_id][1]}/face" if e.person_id in self._known \
                    else None
                if e.known and topic is not None:
                    self._faces[e.person_id] = e.face.jpeg
                    self.link.state(topic, e.face.jpeg)
                elif not e.known and e.person_id == self._last_unknown:  # a better face of the last visitor
                    self.link.state(self.topics["unknown_face"], e.face.jpeg)
        if changed:
            self._publish_people()

    def close(self) -> None:
        with self._lock:
            if self._status is not None:  # the retained status says what is true now: not connected
                self.link.state(self.topics["status"], _dumps({**self._status, "connected": False}))
        self.link.state(self.topics["availability"], b"offline")
        if self.own_link:
            self.link.close()
