"""Identity quality against hand-labelled faces: matching, coverage, fragmentation, purity, names.

Pure numpy/scipy, no dlib: the benchmark (benchmarks/identity.py) and the tests feed it labels
(a person per labelled box) and what the tracker said about the same frames (boxes, identities,
names). An identity is the tracker's person id (automatic or enrolled); None where a face got none.

- coverage: the share of labelled faces that were matched to a result face with an identity.
- fragmentation: per labelled person, the number of distinct identities their faces got
  (1.0 is ideal); the mean over persons, and weighted by each person's identified faces.
- purity: per identity, the share of its labelled faces that belong to its majority person,
  weighted by faces (1.0 is ideal: no identity spans two people).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..assignment import min_cost_assignment

MIN_IOU = 0.3


@dataclass(frozen=True)
class Label:
    """One hand-labelled face: a box (left, top, right, bottom) in a frame, and whose it is."""

    frame: int
    box: tuple[float, float, float, float]
    person: str


@dataclass(frozen=True)
class FrameFaces:
    """What the tracker reported in one frame; row i of each field is face i."""

    boxes: NDArray[np.float64]
    identities: tuple[int | None, ...]
    names: tuple[str | None, ...] = ()
    known: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        object.__setattr__(self, "boxes", boxes)
        n = len(boxes)
        if len(self.identities) != n:
            raise ValueError(f"{n} boxes but {len(self.identities)} identities")
        if not self.names:
            object.__setattr__(self, "names", (None,) * n)
        if not self.known:
            object.__setattr__(self, "known", (False,) * n)
        if len(self.names) != n or len(self.known) != n:
            raise ValueError("boxes, identities, names and known must have the same length")


@dataclass(frozen=True)
class Match:
    """A labelled face and the result face it was matched to (identity None: unmatched or undecided)."""

    label: Label
    identity: int | None = None
    name: str | None = None
    known: bool = False
    iou: float = 0.0

    @property
    def person(self) -> str:
        return self.label.person


def labels_from_json(data: Mapping[str, Any]) -> list[Label]:
    """Labels from the montage_labels.json layout: {"faces": [{"frame", "box", "person"}, ...]}."""
    out = []
    for face in data["faces"]:
        person = str(face["person"])
        if not person or person == "?":
            continue
        box = tuple(float(v) for v in face["box"])
        if len(box) != 4:
            raise ValueError(f"a box needs 4 numbers, got {face['box']!r}")
        out.append(Label(int(face["frame"]), box, person))  # type: ignore[arg-type]
    return out


def iou_matrix(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Intersection over union of every box in a (N,4) with every box in b (M,4)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def assign_boxes(a: ArrayLike, b: ArrayLike, min_iou: float = MIN_IOU) -> list[tuple[int, int, float]]:
    """One-to-one pairs (i, j, iou) of a's and b's boxes maximising total IoU, each pair >= min_iou."""
    iou = iou_matrix(a, b)
    if iou.size == 0:
        return []
    rows, cols = min_cost_assignment(-iou)
    return [(int(i), int(j), float(iou[i, j])) for i, j in zip(rows, cols) if iou[i, j] >= min_iou]


def match_faces(labels: Iterable[Label], results: Mapping[int, FrameFaces],
                min_iou: float = MIN_IOU) -> list[Match]:
    """Every label, matched (Hungarian, IoU >= min_iou) to a result face of its frame where one fits."""
    by_frame: dict[int, list[Label]] = {}
    for label in labels:
        by_frame.setdefault(label.frame, []).append(label)
    out: list[Match] = []
    for frame in sorted(by_frame):
        group = by_frame[frame]
        faces = results.get(frame)
        matched: dict[int, Match] = {}
        if faces is not None:
            for i, j, iou in assign_boxes([lab.box for lab in group], faces.boxes, min_iou):
                matched[i] = Match(group[i], faces.identities[j], faces.names[j], bool(faces.known[j]), iou)
        out.extend(matched.get(i, Match(lab)) for i, lab in enumerate(group))
    return out


def identities_per_person(matches: Iterable[Match]) -> dict[str, Counter[int]]:
    """For each labelled person with any identified face: identity -> number of their faces."""
    out: dict[str, Counter[int]] = {}
    for m in matches:
        if m.identity is not None:
            out.setdefault(m.person, Counter())[m.identity] += 1
    return out


def persons_per_identity(matches: Iterable[Match]) -> dict[int, Counter[str]]:
    """For each identity: labelled person -> number of their faces it got."""
    out: dict[int, Counter[str]] = {}
    for m in matches:
        if m.identity is not None:
            out.setdefault(m.identity, Counter())[m.person] += 1
    return out


def coverage(matches: Sequence[Match]) -> float:
    """The share of labelled faces that got an identity (NaN with no labels)."""
    if not matches:
        return float("nan")
    return sum(m.identity is not None for m in matches) / len(matches)


def fragmentation(matches: Iterable[Match]) -> tuple[float, float]:
    """(mean over persons, face-weighted mean) of the number of distinct identities a person's
    faces got; persons none of whose faces got an identity are left out (see coverage)."""
    per = identities_per_person(matches)
    if not per:
        return float("nan"), float("nan")
    counts = np.array([len(c) for c in per.values()], dtype=np.float64)
    weights = np.array([sum(c.values()) for c in per.values()], dtype=np.float64)
    return float(counts.mean()), float((counts * weights).sum() / weights.sum())


def purity(matches: Iterable[Match]) -> float:
    """Face-weighted: over all identified faces, the share whose identity's majority person is theirs."""
    per = persons_per_identity(matches)
    total = sum(sum(c.values()) for c in per.values())
    if total == 0:
        return float("nan")
    return sum(c.most_common(1)[0][1] for c in per.values()) / total


def named_accuracy(matches: Sequence[Match], names: Mapping[str, str] | None = None) -> float:
    """The share of labelled faces shown with their person's name (names: label -> enrolled name;
    default: the label itself)."""
    if not matches:
        return float("nan")
    names = names or {}
    return sum(m.name is not None and m.name == names.get(m.person, m.person) for m in matches) / len(matches)


def wrong_names(matches: Iterable[Match], names: Mapping[str, str] | None = None) -> int:
    """Labelled faces shown with a known (enrolled or named) person's name that is not theirs."""
    names = names or {}
    return sum(m.known and m.name is not None and m.name != names.get(m.person, m.person) for m in matches)


@dataclass
class Report:
    labelled: int
    persons: int
    matched: int  # labelled faces that a result face overlapped (IoU >= min_iou)
    covered: int  # ... and that had an identity
    fragmentation: float
    fragmentation_weighted: float
    purity: float
    identities: int  # distinct identities given to labelled faces
    detail: dict[str, dict[str, int]] = field(default_factory=dict)  # person -> identity -> faces
    mixed: dict[str, dict[str, int]] = field(default_factory=dict)  # identity -> person -> faces, if > 1 person

    @property
    def coverage(self) -> float:
        return self.covered / self.labelled if self.labelled else float("nan")

    def as_json(self) -> dict[str, Any]:
        return {"labelled": self.labelled, "persons": self.persons, "matched": self.matched,
                "covered": self.covered, "coverage": self.coverage, "fragmentation": self.fragmentation,
                "fragmentation_weighted": self.fragmentation_weighted, "purity": self.purity,
                "identities": self.identities, "detail": self.detail, "mixed": self.mixed}


def report(matches: Sequence[Match]) -> Report:
    frag, frag_w = fragmentation(matches)
    per = identities_per_person(matches)
    return Report(
        labelled=len(matches),
        persons=len({m.person for m in matches}),
        matched=sum(m.iou > 0 for m in matches),
        covered=sum(m.identity is not None for m in matches),
        fragmentation=frag,
        fragmentation_weighted=frag_w,
        purity=purity(matches),
        identities=len(persons_per_identity(matches)),
        detail={p: {str(k): v for k, v in c.most_common()} for p, c in sorted(per.items())},
        mixed={str(i): dict(c.most_common()) for i, c in sorted(persons_per_identity(matches).items()) if len(c) > 1},
    )
