"""File names as the OS gives them: any bytes. Python carries bytes that are not UTF-8 as lone
surrogates (PEP 383), which crash OpenCV (a segfault inside VideoCapture), break UTF-8 output
and SQLite text. So a name is shown and stored in a printable form, and OpenCV is handed a name
it can take."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def shown(text: str | os.PathLike[str]) -> str:
    """`text` (a path, or a message holding one) printable and valid UTF-8: bytes that are not
    UTF-8 read as \\xff escapes, the way the shell's `ls -b` shows them."""
    s = os.fspath(text)
    try:
        raw = s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no file name made (from JSON, say)
        return s.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


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
