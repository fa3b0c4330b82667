"""File names as the OS gives them: any bytes. Python carries bytes that are not UTF-8 as lone
surrogates (PEP 383), which crash OpenCV (a segfault inside VideoCapture), break UTF-8 output
and SQLite text. So a name is shown and stored in a printable form, and OpenCV is handed a name
it can take."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F]} | {
    0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x2028: "\\u2028", 0x2029: "\\u2029", 0x85: "\\x85"}


def shown(text: str | os.PathLike[str]) -> str:
    """`text` (a path, or a message holding one) as one printable line of valid UTF-8, the way the
    shell's `ls -b` shows names: bytes that are not UTF-8 as \\xff, a newline as \\n, other
    control characters escaped, so no name can forge a line of output."""
    s = os.fspath(text)
    try:
        raw = s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no file name made (from JSON, say)
        return s.encode("utf-8", "backslashreplace").decode("utf-8").translate(_CONTROL)
    return raw.decode("utf-8", "backslashreplace").translate(_CONTROL)


class OneLineFormatter(logging.Formatter):
    """Every log message is one line (see `shown`), whatever names it holds; a traceback (-v)
    follows it as it is."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return shown(super().formatMessage(record))


def setup_logging(level: int, fmt: str) -> None:
    """The root logger to stderr, one line per message (see OneLineFormatter)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(fmt))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def opencv_safe(path: Path) -> bool:
    """Whether OpenCV can be handed this name as it is (it takes UTF-8 only)."""
    try:
        str(path).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


@contextlib.contextmanager
def opencv_name(path: Path) -> Iterator[str]:
    """A name for `path` that OpenCV can open: the path itself, or, for a name that is not UTF-8,
    a link to it in a private temporary folder (removed on leaving; an open file stays open)."""
    if opencv_safe(path):
        yield str(path)
        return
    folder = tempfile.mkdtemp(prefix="facetrack-")
    alias = os.path.join(folder, "source" + shown(path.suffix)[:16])
    try:
        os.symlink(os.path.abspath(path), alias)
        yield alias
    finally:
        with contextlib.suppress(OSError):
            os.unlink(alias)
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def video_frames(path: Path) -> int:
    """How many frames a video file's container says it holds (0 where OpenCV does not open it)."""
    import cv2

    with opencv_name(path) as name:
        cap = cv2.VideoCapture(name)
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if cap.isOpened() else 0
    finally:
        cap.release()
