"""Enrolment: faces from photos into a person's inventory."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from . import geometry, quality, repair
from .detect import CenterFaceDetector, CnnDetector, Detector, HogDetector
from .embed import DlibEmbedder, Embedder, embed
from .errors import FacetrackError, ImageError
from .gallery import Gallery, Person, encode_thumbnail
from .images import is_image_path, list_images, load_image
from .records import Embeddings

log = logging.getLogger(__name__)

TIGHT_CROP_MAX_SIDE = 400  # a photo with no face found is looked at again at most this big


@dataclass
class EnrollReport:
    person: Person | None = None
    enrolled: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    merged: list[tuple[str, float]] = field(default_factory=list)  # automatic identities folded in
    matches: list[tuple[str, float]] = field(default_factory=list)  # ... or left apart (no merge)
    weak: list[tuple[Path, str]] = field(default_factory=list)  # enrolled, but a poor photo (why)

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


def enroll(gallery: Gallery, name: str, paths: list[Path], embedder: Embedder | None = None, *,
           merge: bool = True, threshold: float = 0.6, margin: float = 0.04,
           detector: Detector | None = None) -> EnrollReport:
    """Enrol photos as `name`. A named file that fails stops everything, nothing written;
    a photo found in a folder that fails is reported and skipped.

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
            faces = face_from_photo(path, emb, det)
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
    if not descriptors:
        raise FacetrackError(f"no usable face in {', '.join(str(p) for p in paths)}; nothing enrolled")
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
