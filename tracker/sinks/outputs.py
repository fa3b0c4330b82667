"""Output paths checked before a run starts, so no output ever replaces the gallery, an input,
another output, or a file of the user's that facetrack did not write."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
import select
import stat
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from ..errors import FacetrackError
from ..gallery.schema import SQLITE_MAGIC
from ..paths import shown, video_frames

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".avi", ".mov"})  # what the mp4v writer fills
JSON_KEYS = {"json": {"frame", "faces"}, "events": {"event"}}


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (or would, once made)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return Path(os.path.expanduser(a)).resolve() == Path(os.path.expanduser(b)).resolve()


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


def _is_stream(path: Path) -> bool:
    """A FIFO or a character device: written as a stream, never read (reading a FIFO would hang)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


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
    if kind == "video":  # a file of a video's name that is no video (notes.mp4) is not an earlier output
        return path.suffix.lower() in VIDEO_SUFFIXES and video_frames(path) > 0
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
            if same_file(path, other):
                raise FacetrackError(f"{flag} {path} is the gallery, the config file or one of the report's files; "
                                     "choose another file")
        for spec in inputs:
            if Path(spec).exists() and same_file(path, Path(spec)):
                raise FacetrackError(f"{flag} {path} is also an input; choose another file")
        for other_kind, other in given[:i]:
            if same_file(path, other):
                raise FacetrackError(f"{flag} {path} is already the {other_kind} output; choose another file")
        if _is_stream(path):
            if kind == "video":
                raise FacetrackError(f"{flag} {path} is not a regular file; a video is written to a file")
            continue  # a FIFO or a device (/dev/stdout): lines are streamed into it, nothing is replaced
        if path.is_symlink() and kind != "video":
            # Lines are written into the file itself: through a link they would land elsewhere.
            raise FacetrackError(f"{flag} {path} is a symbolic link; facetrack does not write through links "
                                 "(give the file itself)")
        check_can_make(path.parent, flag)  # a folder that cannot be written: said now, not after the run
        if path.exists() and not _ours(kind, path):
            raise FacetrackError(f"{flag} {path} exists and is not a facetrack {kind} output; "
                                 f"not replacing it (remove it or choose another file)")
        if path.suffix.lower() not in VIDEO_SUFFIXES and kind == "video":
            raise FacetrackError(f"{flag} {path}: give a video file name ({', '.join(sorted(VIDEO_SUFFIXES))})")


# A folder facetrack writes several files into (an analysis report, sample thumbnails) holds this
# marker once it has: its listed files are then ours to replace. Without it, an existing file of
# those names is the user's, and is never replaced (unless --force).
MARKER = ".facetrack-output"


def temp_beside(path: Path, suffix: str = ".part") -> Path:
    """A new, empty file in `path`'s folder under a hidden temporary name ending in `suffix` (the
    umask's usual mode, unlike mkstemp's 0600: the finished output is an ordinary file of the user's)."""
    for _ in range(100):
        tmp = path.parent / f".{shown(path.name)[:80]}.{os.getpid()}.{secrets.token_hex(4)}{suffix}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def write_atomic(path: Path, data: bytes) -> None:
    """`data` into `path`: written to a temporary file in the same folder, then renamed into place,
    so a signal or a full disk leaves the old file or none, never half of one; a symlink at `path`
    is replaced itself, never followed to the file it points at. OSError for the caller to word."""
    tmp = temp_beside(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def lines_into(path: Path) -> Iterator[LineFile]:
    """A JSONL output written whole: into a temporary file renamed into place at the end, so a
    failure (a full disk, an error) leaves the earlier file as it was. A FIFO or a device is
    streamed into directly."""
    if _is_stream(path):
        fh = LineFile(path)
        try:
            yield fh
        finally:
            fh.close()
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_beside(path)
    except OSError as exc:
        raise FacetrackError(f"cannot write {shown(path)}: {exc.strerror}") from None
    try:
        fh = LineFile(tmp, append=True, renamed_to=path)
        try:
            yield fh
        finally:
            fh.close()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class LineFile:
    """A JSONL output (LineWriter): every write is whole lines, each written out at once, so a
    reader tailing it never sees half a line and a stop leaves none. On a full disk the file is cut
    back to its last whole line and the error is one line. A FIFO (or /dev/stdout) is a stream:
    its reader is waited for, and a full pipe is waited on, both only while `stop` is not set, so
    a signal still ends the run."""

    def __init__(self, path: Path, append: bool = False, stop: threading.Event | None = None,
                 renamed_to: Path | None = None) -> None:
        self.path = path
        self._renamed_to = renamed_to  # `path` is a temporary file that becomes this one when whole
        self._stop = stop
        self._closed = False
        self._dropped = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = self._open(path, append)
            st = os.fstat(self._fd)
        except OSError as exc:
            raise FacetrackError(f"cannot write {shown(path)}: {exc.strerror}") from None
        self._stream = not stat.S_ISREG(st.st_mode)
        if not self._stream:
            os.set_blocking(self._fd, True)
            if not append:
                os.ftruncate(self._fd, 0)
        self._good = os.lseek(self._fd, 0, os.SEEK_END) if not self._stream else 0
        self._pending = b""

    def _open(self, path: Path, append: bool) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | (os.O_APPEND if append else 0)
        waited = False
        while True:
            try:
                return os.open(path, flags, 0o666)
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: a FIFO nobody reads yet
                    raise
            if not waited:
                log.info("waiting for a reader of %s", shown(path))
                waited = True
            if (self._stop or threading.Event()).wait(0.1):  # without a stop: until a reader comes
                raise FacetrackError(f"stopped while waiting for a reader of {shown(path)}")

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, s: str, /) -> int:
        if self._closed:
            raise ValueError("write to a closed LineFile")
        data = self._pending + s.encode("utf-8", "backslashreplace")
        cut = data.rfind(b"\n") + 1
        self._pending, data = data[cut:], data[:cut]
        if data:
            self._write_all(data)
        return len(s)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        start = self._good
        while view:
            try:
                n = os.write(self._fd, view)
            except BlockingIOError:  # a stream's reader is behind
                if self._stop is not None and self._stop.is_set():
                    self._dropped += 1  # stopping: a stalled reader cannot hold the exit
                    return
                select.select([], [self._fd], [], 0.25)
                continue
            except OSError as exc:
                if self._stream:
                    gone = "; its reader went away" if exc.errno == errno.EPIPE else ""
                    raise FacetrackError(f"cannot write {shown(self.path)}: {exc.strerror}{gone}") from None
                if self._renamed_to is not None:
                    raise FacetrackError(f"cannot write {shown(self._renamed_to)}: {exc.strerror}; "
                                         "it is left as it was") from None
                written = bytes(data[: len(data) - len(view)])
                with contextlib.suppress(OSError):  # back to the last whole line
                    os.ftruncate(self._fd, start + written.rfind(b"\n") + 1)
                raise FacetrackError(f"cannot write {shown(self.path)}: {exc.strerror}; it holds every "
                                     "whole line written before") from None
            view = view[n:]
        if not self._stream:
            self._good = start + len(data)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._dropped:
            log.warning("%s: %d line(s) not written: its reader stopped reading", shown(self.path), self._dropped)
        os.close(self._fd)


def check_can_make(folder: Path, flag: str) -> None:
    """Before any work: a folder that could not be made or written (a file in the way, no
    permission, a name too long) is said now, not after an hour of analysis."""
    missing: list[Path] = []
    p = folder.absolute()
    while not p.exists():
        missing.append(p)
        p = p.parent
    if not p.is_dir():
        raise FacetrackError(f"{flag} {shown(folder)}: {shown(p)} is a file, not a folder")
    if not os.access(p, os.W_OK | os.X_OK):
        raise FacetrackError(f"{flag} {shown(folder)}: cannot write in {shown(p)} (Permission denied)")
    try:
        longest = os.pathconf(p, "PC_NAME_MAX")
    except (OSError, ValueError):
        return
    for m in missing:
        if len(os.fsencode(m.name)) > longest:
            raise FacetrackError(f"{flag} {shown(folder)}: File name too long ({shown(m.name)[:40]}...)")


def claim_folder(folder: Path, names: Iterable[str], flag: str, force: bool = False) -> None:
    """Before writing `names` into `folder`: refuse where one of them exists (a file, a folder or a
    link) and the folder holds no marker of ours, unless `force`; and a folder that cannot be
    made or written (check_can_make)."""
    check_can_make(folder, flag)
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
