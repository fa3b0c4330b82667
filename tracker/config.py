"""All settings in one typed object, filled from defaults < TOML file < environment < flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_type_hints

import platformdirs

from .errors import FacetrackError

ENV_PREFIX = "FACETRACK_"
DETECTORS = ("hog", "cnn")
RTSP_TRANSPORTS = ("auto", "tcp", "udp")


def default_gallery_path() -> Path:
    return Path(platformdirs.user_data_dir("facetrack")) / "gallery.sqlite3"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir("facetrack")) / "config.toml"


@dataclass(frozen=True)
class Config:
    # Identity
    threshold: float = 0.6  # Euclidean distance under which a track is a known (enrolled or named) person
    auto_join: float = 0.5  # ... under which it joins an automatic identity (nobody vouched for those)
    auto_found: float = 0.55  # a new automatic identity only for a track nobody is this close to
    learn_threshold: float = 0.45  # a sample grows a known person's inventory under this
    auto_learn: float = 0.4  # ... an automatic identity's
    margin: float = 0.04  # the best match must beat the second best by this much
    swap_distance: float = 0.45  # a track's new faces (twice running) this far from its last 8: another face
    knn: int = 3  # a person's distance: the mean over their k nearest stored samples
    max_inventory: int = 48  # descriptors kept per person besides enrolled photos
    diversity: float = 0.12  # a new sample must be this far from the inventory to be kept
    min_votes_new: int = 2  # samples before a track is decided or founds an automatic identity
    # Detection
    detector: str = "hog"
    upsample: int = 1  # HOG pyramid upsampling for full-frame detection
    detect_scale: float = 1.0  # detect on a frame resized by this factor
    detect_every: int = 10  # full-frame detection every N frames; tracked regions in between
    roi_face_px: int = 90  # tracked regions are resized so a face is about this wide
    coast_frames: int = 20  # frames a track is followed by correlation when detection misses
    # Embedding
    reembed_every: int = 24  # frames between descriptors of a track once it is decided
    embed_batch: int = 1  # chips gathered before one descriptor call (GPU: larger)
    embed_max_delay: int = 0  # frames a chip may wait for a fuller batch
    num_jitters: int = 0
    # I/O
    gallery: Path = dataclasses.field(default_factory=default_gallery_path)
    live_queue: int = 2
    file_queue: int = 16
    reconnect_max_s: float = 2.0  # longest wait between attempts to reopen a dropped stream
    stall_s: float = 3.0  # a stream with no frame for this long is reopened
    rtsp_transport: str = "auto"  # tcp, udp, or auto: TCP first, then UDP
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        for name in ("threshold", "auto_join", "auto_found", "learn_threshold", "auto_learn", "swap_distance"):
            if not 0.0 < getattr(self, name) < 2.0:
                raise FacetrackError(f"{name} must be between 0 and 2, got {getattr(self, name)}")
        if not 0.0 <= self.margin < 1.0:
            raise FacetrackError(f"margin must be between 0 and 1, got {self.margin}")
        if self.detector not in DETECTORS:
            raise FacetrackError(f"detector must be one of {', '.join(DETECTORS)}, got {self.detector!r}")
        if self.rtsp_transport not in RTSP_TRANSPORTS:
            raise FacetrackError(f"rtsp_transport must be one of {', '.join(RTSP_TRANSPORTS)}, "
                                 f"got {self.rtsp_transport!r}")
        if not 0.1 <= self.reconnect_max_s <= 3600 or not 0.5 <= self.stall_s <= 3600:
            raise FacetrackError("reconnect_max_s must be between 0.1 and 3600 s, and stall_s between 0.5 and 3600 s")
        if not 0.05 <= self.detect_scale <= 4.0:
            raise FacetrackError(f"detect_scale must be between 0.05 and 4, got {self.detect_scale}")
        for name in ("knn", "max_inventory", "detect_every", "reembed_every", "embed_batch",
                     "live_queue", "file_queue", "min_votes_new", "roi_face_px"):
            if getattr(self, name) < 1:
                raise FacetrackError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("upsample", "coast_frames", "embed_max_delay", "num_jitters"):
            if getattr(self, name) < 0:
                raise FacetrackError(f"{name} must not be negative, got {getattr(self, name)}")

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _coerce(name: str, kind: Any, value: Any) -> Any:
    try:
        if kind is bool and isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        if kind is Path:
            return Path(os.path.expanduser(str(value)))
        return kind(value)
    except (TypeError, ValueError):
        raise FacetrackError(f"setting {name}: cannot read {value!r} as {kind.__name__}") from None


def load_config(
    toml_path: Path | None = None,
    env: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """Defaults, then the TOML file, then FACETRACK_* variables, then flags (non-None only)."""
    hints = get_type_hints(Config)
    names = {f.name for f in fields(Config)}
    values: dict[str, Any] = {}

    path = toml_path or default_config_path()
    if toml_path is not None and not path.is_file():
        raise FacetrackError(f"config file not found: {path}")
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise FacetrackError(f"config file {path} is not valid TOML: {exc}") from None
        data = data.get("facetrack", data)
        for key, value in data.items():
            key = key.replace("-", "_")
            if key not in names:
                raise FacetrackError(f"config file {path}: unknown setting {key!r}")
            values[key] = _coerce(key, hints[key], value)

    environ = os.environ if env is None else env
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX):].lower()
            if name in names:
                values[name] = _coerce(name, hints[name], value)

    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _coerce(key, hints[key], value)
    return Config(**values)
