"""What happened, read off the tracker's frame results: a person appeared, left, was named; an
unknown visitor was seen, or seen again; a stream was lost or came back.

`Happenings` is pure bookkeeping (no I/O): every sink that tells the world (the JSONL events file,
MQTT, webhooks) feeds it the same results and gets the same events, numbered in order.

Times: `time` is the source's (seconds into a file, or since a live stream opened), and every
rule below is measured in it, so a file gives the same events however fast it is processed;
`at` is the wall clock (ISO 8601) when the event was said, and `captured` when the frame it
tells of was read (the difference is facetrack's latency), for consumers that act on the event.

- `appeared`: a person is first labelled; `left`: they have been gone `left_after` seconds.
- `named`: someone present got a name (the user named them, or their track turned out to be a
  known person rather than an automatic identity); `was` holds the earlier name.
- `unknown` / `reidentified`: an automatic identity's visit, announced once the identity can be
  trusted (its track stood `announce_after` seconds and one of its faces passed the quality
  gate), once per visit: a visit ends once it has been gone `visit_gap` seconds, so a face
  turning away, or a track broken by a passer-by, announces nothing new. `unknown` is an
  identity made during this visit; `reidentified` one that existed before it (an earlier visit,
  another camera, an earlier run).
- `face` (internal, not written to files): a better picture of someone present, for sinks that
  publish pictures; at most every `face_every` seconds per person.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ...records import Frame, FrameResult

PERSON_EVENTS = ("appeared", "left", "named", "unknown", "reidentified")
STREAM_EVENTS = ("stream_lost", "stream_resumed", "status")
EVENTS = PERSON_EVENTS + STREAM_EVENTS  # what event files, MQTT and webhooks carry
FACE = "face"  # internal: a better picture of someone present

FACE_MARGIN = 0.25  # a face's picture: its box widened by this share on each side
FACE_MAX_PX = 240  # ... and made no larger than this on its longer side
RETURNING_SLACK_S = 0.5  # an identity made this long before its visit's first face was read existed before it


@dataclass(frozen=True)
class Face:
    """A face's picture: an RGB crop around its box, how it rated (quality.face_quality) and how
    wide it was in the source, in pixels."""

    image: NDArray[np.uint8]
    quality: float
    width: float

    @property
    def rank(self) -> float:
        return self.rank_of(self.quality, self.width)

    @staticmethod
    def rank_of(quality: float, width: float) -> float:
        # Quality first; among faces alike, the larger (more pixels of the face) wins.
        return quality + min(width, 200.0) / 2000.0

    @cached_property
    def jpeg(self) -> bytes:
        """The picture as a JPEG (encoded once, for every output that sends it)."""
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(self.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        return bytes(buf) if ok else b""


@dataclass(frozen=True)
class Event:
    """One happening: `body` is its JSON (with `event`, `seq` and `at`); `face` its best picture
    where it has one."""

    kind: str
    body: dict[str, Any]
    person_id: int = -1
    known: bool = False
    face: Face | None = None


def iso(t: float) -> str:
    """Wall-clock seconds as ISO 8601 in UTC, to the millisecond."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


@dataclass
class _Presence:
    """A person present now (appeared, not yet left)."""

    name: str
    known: bool
    track: int
    since: float
    last: dict[str, Any]  # the latest sighting, as a `left` event tells it
    last_wall: float = 0.0  # ... on the wall clock


@dataclass
class _Visit:
    """A person's visit: from their first sighting until they are gone `visit_gap` seconds."""

    start: float
    start_wall: float  # when the first frame of the track that began it was read
    last: float
    returning: bool = False  # the person had an earlier visit in this run
    announced: bool = False
    best: Face | None = None
    face_given: float = -math.inf  # rank of the last picture handed out
    face_given_at: float = -math.inf


@dataclass
class Happenings:
    left_after: float = 1.0
    visit_gap: float = 300.0
    announce_after: float = 1.0
    min_quality: float = 0.3
    faces: bool = False  # keep each visit's best face (for sinks that publish pictures)
    face_every: float = 5.0
    created: Callable[[int], float | None] = lambda _pid: None  # when an identity was made (wall clock)
    clock: Callable[[], float] = time.time
    _present: dict[int, _Presence] = field(default_factory=dict)
    _visits: dict[int, _Visit] = field(default_factory=dict)
    _tracks: dict[int, tuple[int, str | None, bool, float]] = field(default_factory=dict)  # pid, name, known, since
    _born: dict[int, float] = field(default_factory=dict)  # track -> wall clock when its first frame was read
    _seq: int = 0
    _pruned: float = 0.0  # source time of the last look for visits long over
    _lock: threading.Lock = field(default_factory=threading.Lock)  # status() comes from the capture thread

    # ------------------------------------------------------------------ events
    def _event(self, kind: str, info: dict[str, Any], person_id: int = -1, known: bool = False,
               face: Face | None = None) -> Event:
        with self._lock:
            self._seq += 1
            seq = self._seq
        return Event(kind, {"event": kind, "seq": seq, "at": iso(self.clock()), **info}, person_id, known, face)

    def status(self, kind: str, info: dict[str, Any]) -> Event:
        """A stream's own event (stream_lost, stream_resumed, status), numbered with the rest."""
        return self._event(kind, info)

    def update(self, frame: Frame, result: FrameResult) -> list[Event]:
        """The events this frame's result brings, in order: who left, then per face appeared,
        named, unknown / reidentified, face."""
        out: list[Event] = []
        t = result.time
        # When this frame was read, on the wall clock: a file's results may be held back a few
        # frames (backfill.py), and an identity is made while its first faces wait there.
        read = self.clock() - (time.monotonic() - frame.captured_at if frame.captured_at else 0.0)
        for track in result.track_ids:
            self._born.setdefault(int(track), read)
        faces = self._sightings(result, iso(read)) if (result.person_ids >= 0).any() else {}
        source_changed = any(p.last["source"] != result.source for p in self._present.values())
        for pid, p in list(self._present.items()):
            if pid not in faces and (source_changed or t - p.last["time"] >= self.left_after or t < p.last["time"]):
                out += self._leave(pid)
        if source_changed or any(v.last > t for v in self._visits.values()):
            self._visits.clear()  # another file, or time went back: no visit goes on across it
            self._tracks.clear()
        elif t - self._pruned >= 60.0:  # visits long over are forgotten: a camera runs for months
            self._pruned = t
            for pid in [p for p, v in self._visits.items() if t - v.last >= self.visit_gap and p not in faces]:
                del self._visits[pid]
        for pid, (i, info) in faces.items():
            out += self._seen(frame, result, pid, i, info)
        live_tracks = {int(x) for x in result.track_ids}
        for track in [k for k in self._tracks if k not in live_tracks]:
            del self._tracks[track]
        for track in [k for k in self._born if k not in live_tracks]:
            del self._born[track]
        return out

    def close(self) -> list[Event]:
        """Everyone still present has left (the source ended)."""
        out: list[Event] = []
        for pid in list(self._present):
            out += self._leave(pid)
        return out

    # ------------------------------------------------------------------ rules
    @staticmethod
    def _sightings(result: FrameResult, captured: str) -> dict[int, tuple[int, dict[str, Any]]]:
        out: dict[int, tuple[int, dict[str, Any]]] = {}
        for i, (pid, name) in enumerate(zip(result.person_ids, result.names)):
            if pid < 0 or name is None:
                continue
            d = float(result.distances[i])
            out[int(pid)] = (i, {"person": name, "person_id": int(pid), "known": bool(result.known[i]),
                                 "track": int(result.track_ids[i]),
                                 "distance": None if math.isnan(d) else round(d, 4), "frame": result.index,
                                 "time": result.time, "source": result.source, "captured": captured})
        return out

    def _leave(self, pid: int) -> list[Event]:
        p = self._present.pop(pid)
        out = []
        visit = self._visits.get(pid)
        if visit is not None and visit.best is not None and visit.best.rank > visit.face_given:
            out.append(self._face_event(pid, p.known, p.name, visit))  # the visit's best, for the record
        if visit is not None and (p.known or visit.announced):
            visit.best = None  # handed out: no picture is held for someone gone
        out.append(self._event("left", {**p.last, "seen_s": round(p.last["time"] - p.since, 3),
                                        "last_seen": iso(p.last_wall)}, pid, p.known))
        return out

    def _seen(self, frame: Frame, result: FrameResult, pid: int, i: int, info: dict[str, Any]) -> list[Event]:
        out: list[Event] = []
        t, name, known, track = result.time, info["person"], info["known"], info["track"]
        visit = self._visits.get(pid)
        if visit is None or t - visit.last >= self.visit_gap:
            visit = self._visits[pid] = _Visit(t, self._born.get(track, self.clock()), t, returning=visit is not None)
        visit.last = t
        p = self._present.get(pid)
        if p is None:
            p = self._present[pid] = _Presence(name, known, track, t, info)
            out.append(self._event("appeared", info, pid, known))
        elif (p.name, p.known) != (name, known):
            out.append(self._event("named", {**info, "was": p.name}, pid, known))
        prev = self._tracks.get(track)
        if prev is not None and prev[0] != pid and prev[0] >= 0 and known and not prev[2]:
            # The track was an automatic identity and is a known person now (not a new sighting).
            out.append(self._event("named", {**info, "was": prev[1]}, pid, known))
        since = prev[3] if prev is not None and prev[0] == pid else t
        self._tracks[track] = (pid, name, known, since)
        p.name, p.known, p.track, p.last, p.last_wall = name, known, track, info, self.clock()
        q = float(result.quality[i]) if len(result.quality) else math.nan
        if not math.isnan(q) and q >= self.min_quality and self.faces:
            width = float(result.boxes[i][2] - result.boxes[i][0]) * result.scale
            if visit.best is None or Face.rank_of(q, width) > visit.best.rank:  # cut out only when it wins
                visit.best = self._crop(frame, result, i, q)
        gated = visit.best is not None or (not self.faces and not math.isnan(q) and q >= self.min_quality)
        if not known and not visit.announced and gated and t - since >= self.announce_after:
            visit.announced = True
            created = self.created(pid)
            returning = visit.returning or (created is not None and created < visit.start_wall - RETURNING_SLACK_S)
            kind = "reidentified" if returning else "unknown"
            extra: dict[str, Any] = {"visit_start": visit.start}
            if created is not None:
                extra["first_seen"] = iso(created)
            out.append(self._event(kind, {**info, **extra}, pid, known, visit.best))
            if visit.best is not None:
                visit.face_given, visit.face_given_at = visit.best.rank, t
        elif (visit.best is not None and visit.best.rank > visit.face_given + 0.05
              and t - visit.face_given_at >= self.face_every and (known or visit.announced)):
            out.append(self._face_event(pid, known, name, visit))
            visit.face_given_at = t
        return out

    def _face_event(self, pid: int, known: bool, name: str, visit: _Visit) -> Event:
        assert visit.best is not None
        visit.face_given = visit.best.rank
        return Event(FACE, {"person": name, "known": known, "quality": round(visit.best.quality, 3)}, pid, known,
                     visit.best)

    @staticmethod
    def _crop(frame: Frame, result: FrameResult, i: int, q: float) -> Face:
        # Boxes are in source pixels; the frame may be a reduced copy of a huge photo.
        box = np.asarray(result.boxes[i], np.float64) * result.scale / frame.scale
        w, h = box[2] - box[0], box[3] - box[1]
        x0, y0 = int(max(0, box[0] - FACE_MARGIN * w)), int(max(0, box[1] - FACE_MARGIN * h))
        x1, y1 = int(min(frame.width, box[2] + FACE_MARGIN * w)), int(min(frame.height, box[3] + FACE_MARGIN * h))
        crop = frame.image[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
        longer = max(crop.shape[:2])
        if longer > FACE_MAX_PX:
            f = FACE_MAX_PX / longer
            crop = cv2.resize(crop, (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f))),
                              interpolation=cv2.INTER_AREA)
        return Face(np.ascontiguousarray(crop), q, float(result.boxes[i][2] - result.boxes[i][0]) * result.scale)
