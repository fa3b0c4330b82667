"""Enrolment: faces from photos into a person's inventory."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from . import geometry, repair
from .detect import CnnDetector, HogDetector
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

    def skip_messages(self) -> list[str]:
        """One line per skipped photo, naming it once."""
        return [why if str(path) in why else f"{path}: {why}" for path, why in self.skipped]


def find_enrollment_face(image: NDArray[np.uint8], detector: HogDetector | None = None) -> NDArray[np.float64]:
    """The box of the main face in a photo, shape (1, 4); raises ImageError if there is none.

    Tightly cropped faces defeat HOG (its window wants some context around the face), so a
    small image is tried again with a border, with more upsampling, and at last with dlib's
    CNN detector, which finds faces HOG misses. Nothing is taken on trust: an image in which
    no detector finds a face (a blank page, noise) is refused.
    """
    det = detector or HogDetector(upsample=1)
    h, w = image.shape[:2]
    found = det.detect(image)
    if len(found) == 0 and max(h, w) < 600:
        found = HogDetector(upsample=2).detect(image)
    if len(found) == 0:
        # Perhaps just a face: look at it (at most TIGHT_CROP_MAX_SIDE wide) with a border.
        factor = min(1.0, TIGHT_CROP_MAX_SIDE / max(h, w))
        small = np.ascontiguousarray(cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
                                     if factor < 1.0 else image)
        pad = max(small.shape[:2]) // 2
        padded = np.ascontiguousarray(cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REPLICATE))
        again = HogDetector(upsample=2).detect(padded)
        if len(again) == 0:
            again = CnnDetector(upsample=1 if max(small.shape[:2]) < 200 else 0).detect(padded)
        if len(again):
            boxes = geometry.clip_boxes((again.boxes - pad) / factor, w, h)
            return boxes[np.argmax(geometry.area(boxes))][None]
    if len(found) == 0:
        raise ImageError("no face found")
    # The enrollee is the main subject: the largest face.
    return found.boxes[np.argmax(geometry.area(found.boxes))][None]


def face_from_photo(path: Path, embedder: Embedder) -> Embeddings:
    image = load_image(path)
    try:
        box = find_enrollment_face(image)
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
           merge: bool = True, threshold: float = 0.6, margin: float = 0.04) -> EnrollReport:
    """Enrol photos as `name`. A named file that fails stops everything, nothing written;
    a photo found in a folder that fails is reported and skipped.

    Someone already seen as an automatic identity ("Person 3") is that identity: when its
    inventory matches the photos as a whole (within `threshold`, by `margin` over every other
    known person, no cannot-link), it is merged into `name` (unless `merge` is False; then the
    match is only reported)."""
    emb = embedder or DlibEmbedder()
    named, found = collect_photos(paths)
    report = EnrollReport()
    descriptors: list[NDArray[np.float32]] = []
    thumbs: list[bytes] = []
    for path in named + found:
        try:
            if path in named and not is_image_path(path):
                log.debug("%s has no image suffix; trying it anyway", path)
            faces = face_from_photo(path, emb)
        except ImageError as exc:
            if path in named:
                raise
            report.skipped.append((path, str(exc)))
            continue
        descriptors.append(faces.descriptors[0])
        thumbs.append(encode_thumbnail(faces.chips[0]))
        report.enrolled.append(path)
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
        except FacetrackError as exc:
            log.warning("%s: skipped (%s)", folder.name, exc)
            reports.append(EnrollReport(skipped=[(folder, str(exc))]))
    return reports
