"""A gallery's files on disk kept safe: private folders and files, only a regular file opened as
one (never a FIFO or a device), and new files written whole under a temporary name, then linked
in."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import GalleryError
from .schema import SQLITE_MAGIC

log = logging.getLogger(__name__)


def private_mkdir(folder: Path) -> None:
    """Create `folder` and any missing parents owner-only (0700); existing folders stay as they are."""
    missing = []
    p = folder
    while not _lexists(p):
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise GalleryError(f"cannot create gallery folder {d}: {exc.strerror}") from None


def _lexists(path: Path) -> bool:
    try:
        path.lstat()
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise GalleryError(f"cannot reach {path}: {exc.strerror}") from None


def stat_of(path: Path) -> os.stat_result | None:
    """The file at `path` (a link followed), None where there is none; a clear error where it
    cannot be looked at (a folder without permission, a name too long)."""
    try:
        return path.stat()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise GalleryError(f"gallery {path}: a part of that path is a file, not a folder") from None
    except OSError as exc:
        raise GalleryError(f"cannot read gallery {path}: {exc.strerror}") from None


_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
          (stat.S_ISSOCK, "a socket"))


def check_file(path: Path) -> bool:
    """Whether a gallery file is at `path` (False where nothing is). Whatever is there but is not
    one is refused before anything opens it for writing: a folder, a FIFO or a device (opening one
    would hang), an empty file, a file that is not SQLite's. The file is only read, never changed."""
    st = stat_of(path)
    if st is None:
        return False
    if stat.S_ISDIR(st.st_mode):
        raise GalleryError(f"gallery {path} is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        kind = next((k for test, k in _KINDS if test(st.st_mode)), "not a regular file")
        raise GalleryError(f"gallery {path} is {kind}, not a gallery file")
    if st.st_size == 0:
        # facetrack makes a gallery whole before it appears under its name (new_file), so an
        # empty file is somebody else's: not written into.
        raise GalleryError(f"{path} is an empty file, not a facetrack gallery (remove it to start a new gallery "
                           "there, or give another file)")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for a FIFO since the stat above
                raise GalleryError(f"gallery {path} is not a regular file")
            head = os.read(fd, len(SQLITE_MAGIC))
        finally:
            os.close(fd)
    except OSError as exc:
        raise GalleryError(f"cannot read gallery {path}: {exc.strerror}") from None
    if head != SQLITE_MAGIC:
        raise GalleryError(f"{path} is not a facetrack gallery (not an SQLite file)")
    return True


def check_writable(path: Path) -> None:
    """A gallery its owner has write-protected (or that this user may not write) is refused for
    changes, never made writable; so is one in a folder where SQLite cannot keep its journal."""
    st = stat_of(path)
    if st is None:
        return
    owned = hasattr(os, "getuid") and st.st_uid == os.getuid()
    if not os.access(path, os.W_OK) or (owned and not st.st_mode & stat.S_IWUSR):
        raise GalleryError(f"gallery {path} is write-protected; facetrack does not change it (make it writable "
                           "to allow changes)")
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK) and not Path(f"{path}-wal").exists():
        raise GalleryError(f"gallery {path}: its folder {folder} is not writable, and a gallery is changed "
                           "through a journal file beside it")


def tighten(path: Path) -> None:
    """A gallery of ours that others can read (made before facetrack made them private) loses
    those bits; no bit is ever added. Called only once the file is known to be a gallery."""
    try:
        st = path.stat()
        mode = stat.S_IMODE(st.st_mode)
        if st.st_uid == os.getuid() and mode & 0o077:
            path.chmod(mode & ~0o077)
            log.info("gallery %s was readable by other users; it is now private (%04o)", path, mode & ~0o077)
    except (OSError, AttributeError):  # not ours to change, or no getuid (Windows)
        pass


def new_file(dest: Path, fill: Callable[[Path], None], what: str = "gallery") -> bool:
    """Make the SQLite file `dest` whole before it appears: `fill` writes a private temporary file
    in the same folder, which is then linked in under the name, never replacing anything there.
    False where another file took the name first (another process made the gallery meanwhile)."""
    private_mkdir(dest.parent)
    try:
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name[:60]}.", suffix=".new")  # 0600
    except OSError as exc:
        raise GalleryError(f"cannot create {what} {dest}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        try:
            fill(tmp)
        except sqlite3.Error as exc:
            raise GalleryError(f"cannot create {what} {dest}: {exc}") from None
        try:
            os.link(tmp, dest)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise GalleryError(f"cannot create {what} {dest}: {exc.strerror}") from None
            # A file system without hard links: renamed instead, after a last look for another's.
            if _lexists(dest):
                return False
            os.replace(tmp, dest)
        return True
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
            with contextlib.suppress(OSError):
                leftover.unlink()
