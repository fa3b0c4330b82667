"""Pass 2 of an analysis: the tracks of pass 1 (offline.py) grouped into people
(identity/clustering.py: a track's faces are one person, two tracks seen together are two), named
from the gallery where they match, with each person's appearances; and saving them to the gallery."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..config import Config
from ..gallery.gallery import LEARNED, Gallery, Provenance
from ..identity import clustering
from ..identity import policy as identity
from ..identity.track_state import TrackSample
from ..records import FrameResult
from .offline import Pass1

APPEARANCE_GAP_S = 1.0  # a person gone for less than this is one appearance, not two


@dataclass(frozen=True)
class Appearance:
    source: str
    start: float
    end: float


@dataclass
class PersonFound:
    name: str
    known: bool
    person_id: int  # in the user's gallery, or -1 for a new automatic identity
    distance: float  # to that gallery person, or nan
    tracks: list[int]
    descriptors: NDArray[np.float32]
    faces: int = 0
    screen_time: float = 0.0
    appearances: list[Appearance] = field(default_factory=list)
    best: TrackSample | None = None  # the largest face, for the thumbnail
    samples: list[TrackSample] = field(default_factory=list)  # a spread of faces for the contact sheet


@dataclass
class Analysis:
    sources: list[str]
    people: list[PersonFound]
    results: list[FrameResult]  # final labels, one per frame, as `run` writes them
    cannot: list[tuple[int, int]]  # between people (indices into `people`) seen in one frame


def _intervals(times: list[float], duration: float) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for t in sorted(times):
        if out and t - out[-1][1] <= APPEARANCE_GAP_S:
            out[-1] = (out[-1][0], t + duration)
        else:
            out.append((t, t + duration))
    return out


def identify(p1: Pass1, gallery: Gallery, cfg: Config, threshold: float) -> Analysis:
    """Pass 2: cluster the tracks, name the clusters, relabel every frame."""
    tracks = [t for t in p1.tracks.values() if t.samples]
    groups = [np.stack([s.descriptor for s in t.samples]) for t in tracks]
    index = {t.id: i for i, t in enumerate(tracks)}
    cannot = {(index[a], index[b]) for a, b in p1.cannot if a in index and b in index}
    labels = clustering.cluster(groups, threshold, cannot)

    known = {p.id: p.known for p in gallery.people()}
    clusters: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        clusters.setdefault(lab, []).append(i)
    cluster_cannot = {(min(labels[a], labels[b]), max(labels[a], labels[b])) for a, b in cannot}
    matched: dict[int, tuple[int, float]] = {}
    for lab, members in clusters.items():
        desc = np.concatenate([groups[i] for i in members])
        pid, d = clustering.match_people(desc, gallery.vectors, gallery.labels, known, cfg.threshold,
                                         cfg.auto_join, cfg.margin, cfg.knn)
        if pid >= 0:
            matched[lab] = (pid, d)
    # One gallery person per cluster: clusters matching the same person are one (a fragment)
    # unless they were seen together; then the farther one is nobody we know.
    by_person: dict[int, list[int]] = {}
    for lab, (pid, _) in sorted(matched.items(), key=lambda kv: kv[1][1]):
        by_person.setdefault(pid, []).append(lab)
    for labs in by_person.values():
        keep = [labs[0]]
        for lab in labs[1:]:
            if any((min(lab, k), max(lab, k)) in cluster_cannot for k in keep):
                del matched[lab]
            else:
                keep.append(lab)
                clusters[labs[0]].extend(clusters.pop(lab))
                del matched[lab]

    next_number = int(gallery.next_auto_name().split()[-1])  # numbered as the gallery would number them
    people: list[PersonFound] = []
    track_person: dict[int, int] = {}
    order = sorted(clusters, key=lambda lab: -sum(len(groups[i]) for i in clusters[lab]))
    for lab in order:
        members = clusters[lab]
        samples = [s for i in members for s in tracks[i].samples]
        evidence = sum(identity.sample_weight(s.face_px) for s in samples)
        if lab not in matched and evidence < cfg.min_votes_new - 1e-9:
            # As live: a new identity needs `min_votes_new` faces' worth of evidence (a small
            # face counts less). A lone glimpse that joined nobody (a turned head, one small
            # face) stays undecided rather than become a person of its own: each such fragment
            # would be one more identity for someone already found.
            continue
        desc = np.concatenate([groups[i] for i in members]).astype(np.float32)
        if lab in matched:
            pid, d = matched[lab]
            p = gallery.person(pid)
            assert p is not None
            found = PersonFound(p.name, p.known, pid, d, [tracks[i].id for i in members], desc)
        else:
            found = PersonFound(f"Person {next_number}", False, -1, float("nan"), [tracks[i].id for i in members],
                                desc)
            next_number += 1
        found.best = max(samples, key=lambda s: s.face_px)
        step = max(1, len(samples) // 8)
        found.samples = sorted(samples, key=lambda s: -s.face_px)[::step][:8]
        for i in members:
            track_person[tracks[i].id] = len(people)
        people.append(found)

    results = _relabel(p1, people, track_person)
    _appearances(p1, results, people)
    person_cannot = sorted({(min(track_person[a], track_person[b]), max(track_person[a], track_person[b]))
                            for a, b in p1.cannot if a in track_person and b in track_person
                            and track_person[a] != track_person[b]})
    return Analysis(list(p1.sources), people, results, person_cannot)


def _relabel(p1: Pass1, people: list[PersonFound], track_person: dict[int, int]) -> list[FrameResult]:
    """Every frame with the clusters' names. Where two faces of one frame belong to one person
    (a ghost box following a hidden face), the detected face, else the longer track, keeps it."""
    out = []
    length = {tid: len(t.frames) for tid, t in p1.tracks.items()}
    for r in p1.results:
        idx = [track_person.get(int(t), -1) for t in r.track_ids]
        detected = list(r.detected) if len(r.detected) else [True] * len(idx)
        rank = sorted(range(len(idx)), key=lambda k: (not detected[k], -length.get(int(r.track_ids[k]), 0)))
        taken: set[int] = set()
        for k in rank:
            if idx[k] >= 0 and idx[k] in taken:
                idx[k] = -1
            taken.add(idx[k])
        out.append(dataclasses.replace(
            r, person_ids=np.array([people[i].person_id if i >= 0 else -1 for i in idx], np.int64),
            names=tuple(people[i].name if i >= 0 else None for i in idx),
            known=np.array([people[i].known if i >= 0 else False for i in idx], bool),
            distances=np.array([people[i].distance if i >= 0 else np.nan for i in idx], np.float64)))
    return out


def _appearances(p1: Pass1, results: list[FrameResult], people: list[PersonFound]) -> None:
    times: dict[tuple[int, str], set[float]] = {}
    index = {p.name: i for i, p in enumerate(people)}
    for r in results:
        for name in r.names:
            if name is not None:
                i = index[name]
                people[i].faces += 1
                times.setdefault((i, r.source), set()).add(r.time)
    for (i, source), ts in times.items():
        fps = p1.fps.get(source, 0.0)
        duration = 1.0 / fps if fps > 0 else 0.0
        people[i].screen_time += len(ts) * duration
        # Milliseconds, the end rounded down: an appearance in a file's last frame ends with the
        # file, never a fraction of a millisecond past it.
        people[i].appearances.extend(Appearance(source, round(a, 3), math.floor(b * 1000 + 1e-6) / 1000)
                                     for a, b in _intervals(list(ts), duration))
    for p in people:
        p.screen_time = round(p.screen_time, 3)
        p.appearances.sort(key=lambda a: (p1.sources.index(a.source) if a.source in p1.sources else 0, a.start))


def save_to_gallery(analysis: Analysis, gallery: Gallery, cfg: Config) -> list[str]:
    """The new automatic identities (and their cannot-links) into the user's gallery, so
    `people rename` names them and later runs know them. People already in it are left as they
    are. Returns the names given (the gallery's own numbering, which may differ if it changed)."""
    ids: dict[int, int] = {}
    names: list[str] = []
    renamed: dict[str, str] = {}
    with gallery.action("analyze"):
        for i, p in enumerate(analysis.people):
            if p.person_id >= 0:
                ids[i] = p.person_id
                continue
            new = gallery.add_person(None, known=False)
            chosen = _spread(p.descriptors, cfg.max_inventory)
            samples = p.samples or ([p.best] if p.best else [])
            thumbs = [samples[k % len(samples)].thumbnail if samples else b"" for k in range(len(chosen))]
            gallery.add_descriptors(new.id, p.descriptors[chosen], thumbs, LEARNED,
                                    [Provenance(source="analyze")] * len(chosen))
            ids[i] = new.id
            if new.name != p.name:
                renamed[p.name] = new.name
            p.name, p.person_id = new.name, new.id
            names.append(new.name)
        gallery.add_cannot_links([(ids[a], ids[b]) for a, b in analysis.cannot if a in ids and b in ids])
    if renamed:  # another process took a number meanwhile: the outputs use the stored names
        analysis.results = [dataclasses.replace(r, names=tuple(renamed.get(n, n) if n else n for n in r.names))
                            for r in analysis.results]
    return names


def _spread(descriptors: NDArray[np.float32], limit: int) -> list[int]:
    """Up to `limit` descriptors far apart from each other (farthest-point order): the inventory
    covers the person's range of poses rather than many copies of one."""
    n = len(descriptors)
    if n <= limit:
        return list(range(n))
    chosen = [0]
    d = np.linalg.norm(descriptors - descriptors[0], axis=1)
    while len(chosen) < limit:
        k = int(np.argmax(d))
        chosen.append(k)
        d = np.minimum(d, np.linalg.norm(descriptors - descriptors[k], axis=1))
    return sorted(chosen)
