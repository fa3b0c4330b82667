"""Which cameras a site runs: from the command line's sources and the config's [[camera]] tables,
each named, their outputs checked before anything starts."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import FacetrackError
from ..paths import shown

CAMERA_KEYS = {"name": str, "url": str, "output-json": str, "events": str, "output-video": str}


@dataclass(frozen=True)
class Camera:
    name: str
    source: str
    output_json: Path | None = None
    events: Path | None = None
    output_video: Path | None = None


# ---------------------------------------------------------------------- which cameras
def is_live(spec: str) -> bool:
    """A webcam or a stream (tried again when it does not answer), not a file."""
    from ..sources import STREAM_PREFIXES

    return spec.isdigit() or spec.lower().startswith(STREAM_PREFIXES)


def short_name(spec: str) -> str:
    """A readable camera name from a source: a file's stem, a URL's host and path, 'webcam N'."""
    if spec.isdigit():
        return f"webcam{spec}"
    m = re.match(r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?([^/?#]+)([^?#]*)", spec, re.I)
    if m:
        tail = m.group(2).strip("/").replace("/", "-")
        return m.group(1) + (f"-{tail}" if tail else "")
    return Path(spec).stem or spec


def cameras_for(sources: Sequence[str], taken: Sequence[str] = ()) -> list[Camera]:
    """One camera per command-line source, named after it (made unique with -2, -3...)."""
    names = set(taken)
    out = []
    for spec in sources:
        base = short_name(spec)
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.add(name)
        out.append(Camera(name, spec))
    return out


def cameras_from_toml(path: Path | None) -> list[Camera]:
    """The `[[camera]]` tables of a config file (none when there is no file):

        [[camera]]
        name = "door"
        url = "rtsp://10.0.0.5/stream1"
        events = "door-events.jsonl"      # optional: output-json, events, output-video
    """
    if path is None or not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FacetrackError(f"cannot read config file {path}: {exc}") from None
    tables = data.get("camera", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise FacetrackError(f"config file {path}: 'camera' must be a list of tables ([[camera]])")
    cams: list[Camera] = []
    for i, t in enumerate(tables, 1):
        where = f"config file {path}: camera {i}"
        for key, value in t.items():
            if key.replace("_", "-") not in CAMERA_KEYS:
                raise FacetrackError(f"{where}: unknown key {key!r} (known: {', '.join(CAMERA_KEYS)})")
            if not isinstance(value, str) or not value.strip():
                raise FacetrackError(f"{where}: {key} must be a non-empty string, got {value!r}")
            if shown(value) != value:  # a newline in a name would forge log lines and output rows
                raise FacetrackError(f"{where}: {key} must be printable, one line: {shown(value)!r}")
        get = {k.replace("_", "-"): v.strip() for k, v in t.items()}
        if "url" not in get:
            raise FacetrackError(f"{where}: needs a url (a stream URL, a webcam index or a file)")
        url = get["url"]
        # Relative paths (a recording as the url, the outputs) are beside the config file, as
        # its gallery is: the file means the same wherever it is run from.
        if not is_live(url):
            url = str(path.parent / os.path.expanduser(url))
        name = get.get("name") or short_name(get["url"])
        outs = [path.parent / get[k] if k in get else None for k in ("output-json", "events", "output-video")]
        cams.append(Camera(name, url, *outs))
    return cams


def check_cameras(cameras: Sequence[Camera], merged: dict[str, Path | None], protected: Sequence[Path]) -> None:
    """Before anything starts: unique names, and no output that is another's, an input or the gallery."""
    from ..sinks.outputs import check_outputs

    if not cameras:
        raise FacetrackError("--parallel and --ray need cameras: SOURCEs on the command line or [[camera]] "
                             "in the config")
    seen: set[str] = set()
    for cam in cameras:
        if cam.name in seen:
            raise FacetrackError(f"two cameras are named {cam.name!r}; give each its own name")
        seen.add(cam.name)
    inputs = [c.source for c in cameras]
    check_outputs(merged, inputs, protected)
    used = [p for p in merged.values() if p is not None]
    for cam in cameras:
        own = {"json": cam.output_json, "events": cam.events, "video": cam.output_video}
        check_outputs(own, inputs, [*protected, *used])
        used += [p for p in own.values() if p is not None]
