"""Enrolment: faces from photos into a person's inventory."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from .. import geometry, quality
from ..detect import CenterFaceDetector, CnnDetector, Detector, HogDetector
from ..embed import DlibEmbedder, Embedder, embed
from ..errors import FacetrackError, ImageError
from ..identity import suggest as repair
from ..records import Embeddings
from ..sources.images import is_image_path, list_images, load_image
from .gallery import Gallery, Person, encode_thumbnail

log = logging.getLogger(__name__)

TIGHT_CROP_MAX_SIDE = 400  # a photo with no face found is looked at again at most this big


@dataclass(frozen=True)
class Ambiguous:
    """A photo showing several faces of like size: which one is the person is the user's call.
    `boxes`: the faces, as boxes to align (dlib's convention); `chips`: each face, aligned."""

    path: Path
    boxes: NDArray[np.float64]
    chips: NDArray[np.uint8]


@dataclass
class EnrollReport:
    person: Person | None = None
    enrolled: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    merged: list[tuple[str, float]] = field(default_factory=list)  # automatic identities folded in
    matches: list[tuple[str, float]] = field(default_factory=list)  # ... or left apart (no merge)
    weak: list[tuple[Path, str]] = field(default_factory=list)  # enrolled, but a poor photo (why)
    # With `ask` (the app): nothing is enrolled while these stand; the caller asks, then again.
    ambiguous: list[Ambiguous] = field(default_factory=list)  # photos with several faces
    odd: list[tuple[Path, float]] = field(default_factory=list)  # photos unlike the others (median distance)

    def skip_messages(self) -> list[str]:
        """One line per skipped photo, naming it once."""
        return [why if str(path) in why else f"{path}: {why}" for path, why in self.skipped]

    def weak_messages(self) -> list[str]:
        """One line per enrolled photo whose face is small or blurred (it may match strangers)."""
        return [f"{path}: {why}; a clearer photo would name this person more surely" for path, why in self.weak]


WEAK_FACE_PX = 48  # an enrolled face narrower than this gives a noisy descriptor (identity.sample_weight)


def weakness(face_px: float, chip: NDArray[np.uint8]) -> str | None:
    """Why an enrolment photo's face is a poor reference, or None: small, or blurred."""
    if face_px < WEAK_FACE_PX:
        return f"the face is small ({face_px:.0f} px wide; {WEAK_FACE_PX} and more is better)"
    if quality.sharpness(chip) < 0.3:
        return "the face is blurred"
    return None


DOMINANT = 2.5  # the largest face is the photo's subject when it is this many times the next one's area
ODD_MEDIAN = 0.6  # a photo whose face is this far (median) from the other photos' is not the same person


def subject(boxes: NDArray[np.float64]) -> int | None:
    """Which face of a photo is its subject: the only one, or the largest when it is DOMINANT
    times the next (a portrait with a face in the background); None when several are alike in
    size (a group photo: which one is the person is not facetrack's to guess)."""
    if len(boxes) == 0:
        return None
    areas = geometry.area(np.asarray(boxes, np.float64))
    order = np.argsort(-areas)
    if len(boxes) == 1 or areas[order[0]] >= DOMINANT * areas[order[1]]:
        return int(order[0])
    return None


def odd_photos(descriptors: NDArray[np.floating], limit: float = ODD_MEDIAN) -> list[tuple[int, float]]:
    """The photos (indices, with their median distance to the main group) that do not look like
    the others. The photos are grouped as `cluster` groups photos (one person's faces within
    `limit`); the largest group is the person, when it holds more than half of them; every
    photo outside it is odd. When no group holds more than half (ten photos of five people, two
    photos of two), every photo is odd."""
    from ..identity.clustering import cluster
    from ..identity.policy import pairwise_distances

    desc = np.asarray(descriptors, np.float64).reshape(-1, 128)
    n = len(desc)
    if n < 2:
        return []
    labels = np.asarray(cluster([d[None] for d in desc], limit))
    main = labels == 0  # cluster() numbers the largest group 0
    d = pairwise_distances(desc, desc)
    if main.sum() * 2 <= n:  # no majority: say how far each is from all the others
        return [(i, float(np.median(np.delete(d[i], i)))) for i in range(n)]
    return [(i, float(np.median(d[i, main]))) for i in range(n) if not main[i]]


def _main_face(detector: Detector, image: NDArray[np.uint8]) -> NDArray[np.float64] | None:
    """The largest face `detector` finds, as the box to align (dlib's convention), or None."""
    found = detector.detect(image)
    if len(found) == 0:
        return None
    boxes = detector.alignment_boxes(found.boxes)
    return np.asarray(boxes[np.argmax(geometry.area(boxes))], np.float64)


def find_enrollment_face(image: NDArray[np.uint8], detector: Detector | None = None) -> NDArray[np.float64]:
    """The box to align of the main face in a photo, shape (1, 4), in dlib's box convention
    (what the landmark predictor wants, whatever found it); raises ImageError if there is none.

    `detector`: the configured one (default CenterFace). Tightly cropped faces defeat detectors
    that want some context around the face, so where it finds nothing a small image is tried
    with HOG upsampled, then (perhaps just a face) with a border, by the same detector, HOG and
    at last dlib's CNN. Nothing is taken on trust: an image in which no detector finds a face
    (a blank page, noise) is refused.
    """
    det = detector or CenterFaceDetector()
    h, w = image.shape[:2]
    box = _main_face(det, image)
    if box is None and max(h, w) < 600:
        box = _main_face(HogDetector(upsample=2), image)
    if box is None:
        # Perhaps just a face: look at it (at most TIGHT_CROP_MAX_SIDE wide) with a border.
        factor = min(1.0, TIGHT_CROP_MAX_SIDE / max(h, w))
        small = np.ascontiguousarray(cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
                                     if factor < 1.0 else image)
        pad = max(small.shape[:2]) // 2
        padded = np.ascontiguousarray(cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REPLICATE))
        fallbacks: list[Detector] = [det, HogDetector(upsample=2),
                                     CnnDetector(upsample=1 if max(small.shape[:2]) < 200 else 0)]
        for fallback in fallbacks:
            found = _main_face(fallback, padded)
            if found is not None:
                return ((found - pad) / factor)[None]
        raise ImageError("no face found")
    # The enrollee is the main subject: the largest face.
    return box[None]


def face_from_photo(path: Path, embedder: Embedder, detector: Detector | None = None) -> Embeddings:
    image = load_image(path)
    try:
        box = find_enrollment_face(image, detector)
    except ImageError as exc:
        raise ImageError(f"{path}: {exc}") from None
    return embed(embedder, image, box)


def collect_photos(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(named files, files found in named folders); a missing path is an error."""
    named: list[Path] = []
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(list_images(p))
        elif p.is_file():
            named.append(p)
        else:
            raise FacetrackError(f"{p}: no such file or folder")
    return named, found


def _faces_of(path: Path, image: NDArray[np.uint8], detector: Detector, chosen: NDArray[np.float64] | None,
              largest: bool) -> NDArray[np.float64] | Ambiguous:
    """The box (1, 4) of the person's face in one photo, or the photo's faces for the user to
    choose from (several alike in size, none `chosen`, not `largest`)."""
    if chosen is not None:
        return np.asarray(chosen, np.float64).reshape(1, 4)
    found = detector.detect(image)
    boxes = detector.alignment_boxes(found.boxes) if len(found) else np.zeros((0, 4))
    if len(boxes) == 1:
        return np.asarray(boxes[0], np.float64)[None]
    if len(boxes) > 1:
        pick = subject(boxes)
        if pick is None and not largest:
            return Ambiguous(path, np.asarray(boxes, np.float64), np.zeros((0, 150, 150, 3), np.uint8))
        if pick is None:
            pick = int(np.argmax(geometry.area(boxes)))
        return np.asarray(boxes[pick], np.float64)[None]
    try:
        return find_enrollment_face(image, detector)
    except ImageError as exc:
        raise ImageError(f"{path}: {exc}") from None


def enroll(gallery: Gallery, name: str, paths: list[Path], embedder: Embedder | None = None, *,
           merge: bool = True, threshold: float = 0.6, margin: float = 0.04,
           detector: Detector | None = None, largest: bool = False, force: bool = False, ask: bool = False,
           chosen: dict[Path, NDArray[np.float64]] | None = None) -> EnrollReport:
    """Enrol photos as `name`. A named file that fails stops everything, nothing written;
    a photo found in a folder that fails is reported and skipped.

    Photos are checked before anything is written:
    - a photo showing several faces of like size (a group photo) is not guessed at: an error,
      unless `largest` (take the largest) or `chosen` names its face (path -> box to align);
    - photos that do not look like one another (ODD_MEDIAN by their median distance: ten photos
      of five people) are refused, naming the odd ones, unless `force`.
    With `ask` (the app), neither is an error: the report lists them (`ambiguous`, `odd`), with
    the faces to choose from, and nothing is enrolled until the caller asks the user and calls
    again with `chosen` or `force`.

    Someone already seen as an automatic identity ("Person 3") is that identity: when its
    inventory matches the photos as a whole (within `threshold`, by `margin` over every other
    known person, no cannot-link), it is merged into `name` (unless `merge` is False; then the
    match is only reported). `detector`: the configured one (default CenterFace)."""
    emb = embedder or DlibEmbedder()
    det = detector or CenterFaceDetector()
    named, found = collect_photos(paths)
    report = EnrollReport()
    descriptors: list[NDArray[np.float32]] = []
    thumbs: list[bytes] = []
    for path in named + found:
        try:
            if path in named and not is_image_path(path):
                log.debug("%s has no image suffix; trying it anyway", path)
            image = load_image(path)
            box = _faces_of(path, image, det, (chosen or {}).get(path), largest)
            if isinstance(box, Ambiguous):
                if not ask and path in named:
                    raise FacetrackError(f"{path} shows {len(box.boxes)} faces of like size; which one is "
                                         f"{name}? Crop the photo to that face, or pass --largest to take the largest")
                if ask:
                    report.ambiguous.append(Ambiguous(path, box.boxes, embed(emb, image, box.boxes).chips))
                else:
                    report.skipped.append((path, f"{len(box.boxes)} faces of like size; not guessed"))
                continue
            faces = embed(emb, image, box)
        except ImageError as exc:
            if path in named:
                raise
            report.skipped.append((path, str(exc)))
            continue
        descriptors.append(faces.descriptors[0])
        thumbs.append(encode_thumbnail(faces.chips[0]))
        report.enrolled.append(path)
        why = weakness(float(faces.boxes[0, 2] - faces.boxes[0, 0]), faces.chips[0])
        if why is not None:
            report.weak.append((path, why))
    if report.ambiguous:
        return report  # nothing written: the caller asks which face, then calls again
    if not descriptors:
        raise FacetrackError(f"no usable face in {', '.join(str(p) for p in paths)}; nothing enrolled")
    odd = [(report.enrolled[i], m) for i, m in odd_photos(np.stack(descriptors))]
    if odd and not force:
        report.odd = odd
        if ask:
            return report
        several = len(odd) == len(descriptors)
        listed = ", ".join(f"{p.name} ({m:.2f})" for p, m in odd[:6]) + (" ..." if len(odd) > 6 else "")
        raise FacetrackError(
            (f"these photos look like several different people (median distances {listed})" if several else
             f"{len(odd)} photo(s) do not look like the others (median distance): {listed}")
            + f"; nothing enrolled for {name} (--force enrols them anyway)")
    with gallery.action(f"enrol {name}"):
        report.person = gallery.enroll(name, np.stack(descriptors), thumbs, [str(p) for p in report.enrolled])
        report.person, folded = repair.fold_automatic(gallery, report.person, threshold, margin, merge)
        (report.merged if merge else report.matches).extend(folded)
        for auto, d in report.merged:
            log.info("%s is %s (distance %.2f): merged", auto, name, d)
    return report


def enroll_folders(gallery: Gallery, root: Path, embedder: Embedder | None = None,
                   **options: Any) -> list[EnrollReport]:
    """Every subfolder of `root` is one person, named after it."""
    if not root.is_dir():
        raise FacetrackError(f"{root}: not a folder")
    try:
        people = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as exc:
        raise FacetrackError(f"{root}: cannot read this folder ({exc.strerror})") from None
    if not people:
        raise FacetrackError(f"{root} has no subfolders; expected one folder per person")
    emb = embedder or DlibEmbedder()
    reports = []
    for folder in people:
        try:
            reports.append(enroll(gallery, folder.name, [folder], emb, **options))
        except FacetrackError as exc:  # said once, by the caller, from the report
            reports.append(EnrollReport(skipped=[(folder, str(exc))]))
    return reports
