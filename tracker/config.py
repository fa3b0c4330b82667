"""All settings in one typed object, filled from defaults < TOML file < environment < flags.

Values are never coerced: a TOML `true` is not a number and `2.7` is not a whole number, so a
typo is an error that names the setting rather than a run with a setting the user did not mean.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_type_hints

import platformdirs

from .detect.registry import DEFAULT_DETECTOR, DETECT_BACKENDS, DETECTORS
from .errors import FacetrackError

ENV_PREFIX = "FACETRACK_"
RTSP_TRANSPORTS = ("auto", "tcp", "udp")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")

# Allowed range (inclusive) of every numeric setting, checked before anything starts: an
# out-of-range value otherwise shows up much later as a crash or as memory running out
# (HOG upsampling doubles the image per step, so `upsample = 99` can never finish).
# Distances are exclusive at both ends and margin/diversity at the top; see _OPEN.
LIMITS: dict[str, tuple[float, float]] = {
    "threshold": (0.0, 2.0), "auto_join": (0.0, 2.0), "auto_found": (0.0, 2.0),
    "learn_threshold": (0.0, 2.0), "auto_learn": (0.0, 2.0), "swap_distance": (0.0, 2.0),
    "margin": (0.0, 1.0), "diversity": (0.0, 2.0), "small_face": (0.0, 1.0),
    "knn": (1, 100), "max_inventory": (1, 10_000), "min_votes_new": (1, 1000),
    "upsample": (0, 4), "detect_scale": (0.05, 4.0), "detect_every": (1, 10_000),
    "roi_face_px": (1, 1000), "coast_frames": (0, 10_000), "detect_width": (64, 4096), "min_quality": (0.0, 1.0),
    "reembed_every": (1, 10_000), "embed_batch": (1, 256), "embed_max_delay": (0, 10_000),
    "num_jitters": (0, 100),
    "live_queue": (1, 256), "file_queue": (1, 256),
    "reconnect_max_s": (0.1, 3600.0), "stall_s": (0.5, 3600.0),
    "forget_unnamed_after": (0.0, 100_000.0),
    "left_after": (0.0, 86_400.0), "visit_gap": (0.0, 10_000_000.0), "announce_after": (0.0, 86_400.0),
    "event_queue": (1, 10_000_000),
}
# (low end open, high end open): a match distance of exactly 0 or 2 means nothing.
_OPEN: dict[str, tuple[bool, bool]] = {
    **{name: (True, True) for name in ("threshold", "auto_join", "auto_found", "learn_threshold",
                                       "auto_learn", "swap_distance")},
    "margin": (False, True), "diversity": (False, True),
}


class DatabaseURL(str):
    """A gallery on a database server, shared by several machines: postgresql://user@host/db."""

    PREFIXES = ("postgresql://", "postgres://")


GalleryLocation = Path | DatabaseURL  # an SQLite file, or a database


_URL_LIKE = re.compile(r"^[a-z][a-z0-9+.-]+:/", re.IGNORECASE)  # a scheme (2+ letters: not C:/)


def gallery_location(text: str) -> GalleryLocation:
    """A gallery as the user writes it: a postgresql:// URL, or else a file path (~ expanded).
    Something URL-like that is no postgresql:// URL (`postgresql:/host/db`, `mysql://...`) is an
    error, not a file of that name."""
    if text.startswith(DatabaseURL.PREFIXES):
        return DatabaseURL(text)
    if _URL_LIKE.match(text):
        raise FacetrackError(f"gallery {redact(text)}: not a file path nor a postgresql://user@host/db URL "
                             "(check the scheme and its two slashes)")
    return expand(Path(text))


def expand(path: Path) -> Path:
    """`~` and `~user` expanded; a user that does not exist is one clear line."""
    try:
        return path.expanduser()
    except RuntimeError:
        raise FacetrackError(f"{path}: no such user as {str(path).split('/')[0]}") from None


def _passwords(url: str) -> list[str]:
    """The password(s) a URL holds: after user: (up to the last @ before the host, as urlsplit
    reads it, so an unencoded @ in it counts) or a password= parameter; raw and decoded, with
    the parts of one holding @ too (libpq's message may name them)."""
    from urllib.parse import unquote

    found = re.findall(r"[?&]password=([^&#]*)", url)
    # libpq reads the user part up to the last @ before the host, whatever it holds (#, ?, /).
    last = re.match(r"^\w+:/+([^@]*):([^@]*)@[^@]*$", url)
    if last:
        found.append(last.group(2))
    m = re.match(r"^\w+:/+([^/?#]*)@", url)  # one slash too: a mistyped URL is shown redacted as well
    if m and ":" in m.group(1):
        found.append(m.group(1).split(":", 1)[1])
    values = {v for p in found if p for v in (p, unquote(p))}
    values |= {part for v in list(values) for part in v.split("@") if len(part) >= 4}
    return sorted(values, key=len, reverse=True)


def redact(url: str, text: str | None = None) -> str:
    """`text` (default: the URL itself) with the URL's password replaced by ***, for messages and logs."""
    out = url if text is None else text
    for secret in _passwords(url):
        out = out.replace(secret, "***")
    return out


def shown(location: GalleryLocation | str) -> str:
    """A gallery location as messages show it: a URL without its password."""
    return redact(location) if isinstance(location, str) else str(location)


def gallery_files(location: GalleryLocation) -> list[Path]:
    """The files a gallery location names (none for a database): outputs must not replace them,
    nor SQLite's files beside it (its write-ahead log holds the newest changes)."""
    if not isinstance(location, Path):
        return []
    return [location, *(location.with_name(location.name + s) for s in ("-wal", "-shm", "-journal"))]


def default_gallery_path() -> Path:
    return Path(platformdirs.user_data_dir("facetrack")) / "gallery.sqlite3"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir("facetrack")) / "config.toml"


@dataclass(frozen=True)
class Config:
    # Identity
    threshold: float = 0.6  # Euclidean distance under which a track is a known (enrolled or named) person
    auto_join: float = 0.45  # ... under which it joins an automatic identity (nobody vouched for those)
    auto_found: float = 0.55  # a new automatic identity only for a track nobody is this close to
    learn_threshold: float = 0.45  # a sample grows a known person's inventory under this
    auto_learn: float = 0.4  # ... an automatic identity's
    margin: float = 0.04  # the best match must beat the second best by this much
    small_face: float = 0.2  # thresholds tighten by this much for a track of tiny faces (see identity.for_faces)
    swap_distance: float = 0.45  # a track's new faces (twice running) this far from its last 8: another face
    knn: int = 3  # a person's distance: the mean over their k nearest stored samples
    max_inventory: int = 48  # descriptors kept per person besides enrolled photos
    diversity: float = 0.12  # a new sample must be this far from the inventory to be kept
    min_votes_new: int = 2  # samples before a track is decided or founds an automatic identity
    min_quality: float = 0.3  # faces under this quality (tracker/quality.py) keep a label but decide nothing
    # Detection
    detector: str = DEFAULT_DETECTOR  # centerface, hog or cnn (tracker/detect/registry.py)
    detect_width: int = 640  # CenterFace: full frames run at this many pixels on their longer side
    detect_backend: str = "auto"  # CenterFace: auto (onnxruntime where installed, else OpenCV), onnxruntime, opencv
    upsample: int = 1  # HOG / dlib CNN pyramid upsampling for full-frame detection
    detect_scale: float = 1.0  # HOG / dlib CNN: detect on a frame resized by this factor
    detect_every: int = 5  # full-frame detection every N frames; tracked regions in between
    roi_face_px: int = 90  # HOG: tracked regions are resized so a face is about this wide
    coast_frames: int = 20  # frames a track is followed by correlation when detection misses
    # Embedding
    reembed_every: int = 24  # frames between descriptors of a track once it is decided
    embed_batch: int = 1  # chips gathered before one descriptor call (GPU: larger)
    embed_max_delay: int = 0  # frames a chip may wait for a fuller batch
    num_jitters: int = 0
    # I/O
    gallery: GalleryLocation = dataclasses.field(default_factory=default_gallery_path)
    live_queue: int = 2
    file_queue: int = 16
    reconnect_max_s: float = 1.0  # longest wait between attempts to reopen a dropped stream
    forget_unnamed_after: float = 0.0  # days unseen after which an automatic identity is removed (0: never)
    stall_s: float = 3.0  # a stream with no frame for this long is reopened
    rtsp_transport: str = "auto"  # tcp, udp, or auto: TCP first, then UDP
    log_level: str = "INFO"
    # Events (tracker/notify): where they go besides --events, and when they are said
    mqtt: str = dataclasses.field(default="", repr=False)  # mqtt[s]://[user[:password]@]host[:port][/prefix]
    mqtt_password: str = dataclasses.field(default="", repr=False)  # used where the URL has none
    webhook: tuple[str, ...] = ()  # URLs each event is POSTed to
    left_after: float = 2.0  # seconds a person must be gone before `left` (and presence OFF)
    visit_gap: float = 300.0  # seconds an unknown visitor must be gone before they are announced again
    announce_after: float = 1.0  # seconds an unknown visitor's track must stand before they are announced
    event_queue: int = 1000  # events held per output (MQTT, webhook) while it is unreachable; then oldest dropped

    def __post_init__(self) -> None:
        # Code builds Config directly too (the app's settings, tests): the same checks apply.
        for f in fields(self):
            object.__setattr__(self, f.name, _checked_type(f.name, _KINDS[f.name], getattr(self, f.name)))
        for name, (lo, hi) in LIMITS.items():
            _check_range(name, getattr(self, name), lo, hi, *_OPEN.get(name, (False, False)))
        if self.detector not in DETECTORS:
            raise FacetrackError(f"detector must be one of {', '.join(DETECTORS)}, got {self.detector!r}")
        if self.detect_backend not in DETECT_BACKENDS:
            raise FacetrackError(f"detect_backend must be one of {', '.join(DETECT_BACKENDS)}, "
                                 f"got {self.detect_backend!r}")
        if self.rtsp_transport not in RTSP_TRANSPORTS:
            raise FacetrackError(f"rtsp_transport must be one of {', '.join(RTSP_TRANSPORTS)}, "
                                 f"got {self.rtsp_transport!r}")
        level = self.log_level.strip().upper()
        if level not in LOG_LEVELS:
            raise FacetrackError(f"log_level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        object.__setattr__(self, "log_level", level)

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


_KINDS: dict[str, Any] = get_type_hints(Config)
_TYPE_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string", Path: "a path",
               GalleryLocation: "a path or a postgresql:// URL", tuple[str, ...]: "a list of non-empty strings"}


_URL_IN_TEXT = re.compile(r"[a-z][a-z0-9+.-]+:/+[^\s'\"\]}]+", re.IGNORECASE)


def redact_all(text: str) -> str:
    """`text` with the password of every URL in it replaced by *** (a setting of the wrong type,
    an array or a table holding a URL, is shown in messages)."""
    for url in _URL_IN_TEXT.findall(text):
        text = redact(url, text)
    return text


def _describe(value: Any) -> str:
    kind = {bool: "boolean", int: "whole number", float: "number", str: "string", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)
    # Redacted before it is shortened: a cut URL could show part of a password without its "@".
    shown = redact_all(str(value).lower() if isinstance(value, bool) else repr(value))  # as TOML writes it
    return f"{shown[:60]}… ({kind})" if len(shown) > 60 else f"{shown} ({kind})"


def _checked_type(name: str, kind: Any, value: Any) -> Any:
    """`value` if it already is a `kind` (an int where a float is wanted is fine); else an error."""
    # bool is an int subclass in Python: `threshold = true` must not become 1.0.
    if kind is bool and isinstance(value, bool):
        return value
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    if kind == tuple[str, ...]:
        # A list (TOML, repeated flags), or one string of space-separated items (the environment).
        items = value.split() if isinstance(value, str) else value
        if isinstance(items, list | tuple) and all(isinstance(v, str) and v.strip() for v in items):
            return tuple(v.strip() for v in items)
    if kind == GalleryLocation:
        if isinstance(value, DatabaseURL):
            return value
        if isinstance(value, str) and value.strip() and "\0" not in value:
            return gallery_location(value)
        kind = Path
    if kind is Path and isinstance(value, str | os.PathLike):
        text = os.fspath(value)
        # Path("") is the current folder, and a NUL byte fails deep inside open(): say so now.
        if isinstance(text, str) and text.strip() and "\0" not in text:
            return Path(os.path.expanduser(text))
    raise FacetrackError(f"setting {name}: expected {_TYPE_WORDS.get(kind, kind)}, got {_describe(value)}")


def _check_range(name: str, value: float, lo: float, hi: float, open_lo: bool, open_hi: bool) -> None:
    below = value <= lo if open_lo else value < lo
    above = value >= hi if open_hi else value > hi
    # nan compares false with everything: test finiteness first, or nan would pass. (An int is
    # finite, and math.isfinite would overflow on a huge one.)
    if (isinstance(value, float) and not math.isfinite(value)) or below or above:
        lo_word = "above" if open_lo else "at least"
        hi_word = "below" if open_hi else "at most"
        raise FacetrackError(f"{name} must be {lo_word} {lo:g} and {hi_word} {hi:g}, got {value}")


def _parse_text(name: str, kind: Any, text: str) -> Any:
    """A setting from an environment variable (always a string), read strictly."""
    word = text.strip()
    try:
        if kind is bool:
            if word.lower() in TRUE_WORDS:
                return True
            if word.lower() in FALSE_WORDS:
                return False
            raise ValueError(text)
        if kind is int:
            return int(word)  # int("2.7") fails: no silent truncation
        if kind is float:
            return float(word)
    except ValueError:
        raise FacetrackError(f"setting {name}: cannot read {text!r} as {_TYPE_WORDS[kind]}") from None
    return _checked_type(name, kind, text)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise FacetrackError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise FacetrackError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    if "facetrack" not in data:
        return data
    table = data["facetrack"]
    if not isinstance(table, dict):
        raise FacetrackError(f"config file {path}: 'facetrack' must be a table of settings ([facetrack]), "
                             f"got {_describe(table)}")
    return table


def load_config(
    toml_path: Path | None = None,
    env: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """Defaults, then the TOML file, then FACETRACK_* variables, then flags (non-None only)."""
    names = {f.name for f in fields(Config)}
    values: dict[str, Any] = {}

    path = toml_path or default_config_path()
    try:
        present = path.is_file()
    except OSError as exc:  # e.g. a config folder we may not look into
        raise FacetrackError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    if toml_path is not None and not present:
        raise FacetrackError(f"config file not found: {path}")
    if present:
        for key, value in _read_toml(path).items():
            if key == "camera":
                continue  # the [[camera]] list: tracker/engine/cameras.py
            key = key.replace("-", "_")
            if key not in names:
                raise FacetrackError(f"config file {path}: unknown setting {key!r}")
            values[key] = _checked_type(key, _KINDS[key], value)
            if isinstance(values[key], Path) and not values[key].is_absolute():
                values[key] = path.parent / values[key]  # relative to the file, as its cameras' paths are

    environ = os.environ if env is None else env
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX):].lower()
            if name in names:
                values[name] = _parse_text(f"{name} ({key})", _KINDS[name], value)

    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in names:
            raise FacetrackError(f"unknown setting {key!r}")
        # Flags arrive typed from argparse; scripts (benchmarks' --set) pass text.
        values[key] = (_parse_text(key, _KINDS[key], value)
                       if isinstance(value, str) and _KINDS[key] not in (str, tuple[str, ...])
                       else _checked_type(key, _KINDS[key], value))
    return Config(**values)
