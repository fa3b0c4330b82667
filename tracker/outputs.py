"""Output paths checked before a run starts, so no output ever replaces the gallery, an input,
another output, or a file of the user's that facetrack did not write."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .errors import FacetrackError
from .gallery_schema import SQLITE_MAGIC

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".avi", ".mov"})  # what the mp4v writer fills
JSON_KEYS = {"json": {"frame", "faces"}, "events": {"event"}}


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.expanduser().resolve() == b.expanduser().resolve()


def _first_line(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            head = fh.readline(65536)
    except OSError:
        return None
    try:
        return head.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None


def _ours(kind: str, path: Path) -> bool:
    """Whether an existing file looks like an earlier output of this kind (safe to replace)."""
    if path.stat().st_size == 0:
        return True
    try:
        with path.open("rb") as fh:
            if fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC:
                return False
    except OSError:
        return False
    if kind == "video":
        return path.suffix.lower() in VIDEO_SUFFIXES
    line = _first_line(path)
    if not line:
        return False
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return False
    return isinstance(record, dict) and JSON_KEYS[kind] <= set(record)


def check_outputs(outputs: Mapping[str, Path | None], inputs: Sequence[str], protected: Sequence[Path]) -> None:
    """Refuse, before anything starts, an output that is the gallery or the config (`protected`),
    an input, another output, a folder, or an existing file facetrack did not write.

    outputs: kind ("json", "events" or "video") -> path or None.
    """
    given = [(kind, Path(p)) for kind, p in outputs.items() if p is not None]
    for i, (kind, path) in enumerate(given):
        flag = {"json": "--output-json", "events": "--events", "video": "--output-video"}[kind]
        if path.is_dir():
            raise FacetrackError(f"{flag} {path} is a folder; give a file name")
        for other in protected:
            if _same(path, other):
                raise FacetrackError(f"{flag} {path} is the gallery, the config file or one of the report's files; "
                                     "choose another file")
        for spec in inputs:
            if Path(spec).exists() and _same(path, Path(spec)):
                raise FacetrackError(f"{flag} {path} is also an input; choose another file")
        for other_kind, other in given[:i]:
            if _same(path, other):
                raise FacetrackError(f"{flag} {path} is already the {other_kind} output; choose another file")
        if path.exists() and not _ours(kind, path):
            raise FacetrackError(f"{flag} {path} exists and is not a facetrack {kind} output; "
                                 f"not replacing it (remove it or choose another file)")
        if path.suffix.lower() not in VIDEO_SUFFIXES and kind == "video":
            raise FacetrackError(f"{flag} {path}: give a video file name ({', '.join(sorted(VIDEO_SUFFIXES))})")


# A folder facetrack writes several files into (an analysis report, sample thumbnails) holds this
# marker once it has: its listed files are then ours to replace. Without it, an existing file of
# those names is the user's, and is never replaced (unless --force).
MARKER = ".facetrack-output"


def write_atomic(path: Path, data: bytes) -> None:
    """`data` into `path`: written to a temporary file in the same folder, then renamed into place,
    so a signal or a full disk leaves the old file or none, never half of one; a symlink at `path`
    is replaced itself, never followed to the file it points at. OSError for the caller to word."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def claim_folder(folder: Path, names: Iterable[str], flag: str, force: bool = False) -> None:
    """Before writing `names` into `folder`: refuse where one of them exists (a file, a folder or a
    link) and the folder holds no marker of ours, unless `force`."""
    if force or (folder / MARKER).is_file():
        return
    for name in names:
        path = folder / name
        if path.exists() or path.is_symlink():
            raise FacetrackError(f"{flag} {folder}: {path} exists and was not written by facetrack; not replacing "
                                 f"it (choose another folder, or --force)")


def mark_folder(folder: Path, what: str) -> None:
    if not (folder / MARKER).is_file():
        write_atomic(folder / MARKER, f"facetrack wrote {what} here and may replace them\n".encode())
