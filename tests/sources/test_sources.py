from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.paths import CLIP
from tests.helpers.streams import MjpegCamera, free_port
from tracker.errors import SourceError
from tracker.sources import open_source
from tracker.sources.files import ImageSource, VideoFileSource
from tracker.sources.live import LiveSource


def test_video_file_loses_no_frame_and_is_rgb() -> None:
    src = open_source(str(CLIP), file_queue=2)
    assert isinstance(src, VideoFileSource)
    src.start()
    frames = []
    for f in src.frames():
        time.sleep(0.001)  # a slow consumer: the capture thread must wait, not drop
        frames.append(f)
    assert [f.index for f in frames] == list(range(275))
    assert frames[0].image.shape == (360, 640, 3) and frames[0].image.flags.c_contiguous
    assert 9.0 < frames[-1].time < 9.3 and src.dropped == 0
    # Lin-Manuel's suit is dark and the stage light warm: RGB has red above blue there.
    mean = frames[150].image.reshape(-1, 3).mean(0)
    assert mean[0] > mean[2]


def test_image_folder_skips_bad_files(tmp_path: Path) -> None:
    from PIL import Image
    Image.fromarray(np.full((40, 40, 3), 200, np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "b.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "notes.txt").write_text("ignored")
    src = open_source(str(tmp_path))
    assert isinstance(src, ImageSource)
    src.start()
    frames = list(src.frames())
    assert [Path(f.source).name for f in frames] == ["a.png"]
    assert [p.name for p, _ in src.skipped] == ["b.jpg"]


def test_live_stream_keeps_only_newest_frames() -> None:
    frames = [np.full((60, 80, 3), i * 12, np.uint8) for i in range(20)]
    with MjpegCamera(frames, fps=60) as cam:
        src = open_source(cam.url, live_queue=2)
        assert isinstance(src, LiveSource)
        src.start()
        got = []
        for f in src.frames():
            got.append(f)
            time.sleep(0.1)  # far slower than the camera
            if len(got) == 8:
                break
        src.stop()
    assert src.dropped > 10  # old frames were dropped rather than queued
    gaps = np.diff([f.index for f in got])
    assert gaps.max() > 1


def test_live_stream_survives_drops() -> None:
    frames = [np.full((60, 80, 3), i * 12, np.uint8) for i in range(20)]
    with MjpegCamera(frames, fps=60, drop_after=20) as cam:
        src = open_source(cam.url)
        src.start()
        n = 0
        for _ in src.frames():
            n += 1
            if n >= 50:
                break
        src.stop()
    assert n == 50 and src.reconnects >= 2


def test_unreachable_stream_is_a_clear_error() -> None:
    src = open_source(f"http://127.0.0.1:{free_port()}/nothing.mjpg")
    with pytest.raises(SourceError, match="cannot open stream"):
        src.start()


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        open_source(str(tmp_path / "missing.mp4"))
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    with pytest.raises(SourceError, match="cannot decode"):
        open_source(str(bad)).start()
