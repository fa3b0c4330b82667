from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tracker import geometry
from tracker.config import Config, load_config
from tracker.errors import FacetrackError
from tracker.records import Detections, Frame, FrameResult


def test_iou_matrix() -> None:
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    assert np.allclose(geometry.iou_matrix(a, b), [[1.0, 50 / 150, 0.0]])
    assert geometry.iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


def test_nms_expand_clip_scale() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]])
    assert list(geometry.nms(boxes, [0.5, 0.9, 0.1])) == [1, 2]
    assert np.allclose(geometry.expand_boxes([[10, 10, 20, 20]], 2.0), [[5, 5, 25, 25]])
    assert np.allclose(geometry.clip_boxes([[-5, -5, 700, 400]], 640, 360), [[0, 0, 640, 360]])
    assert np.allclose(geometry.scale_boxes([[10, 20, 30, 40]], 0.5), [[20, 40, 60, 80]])
    assert geometry.to_int_box([1.4, 1.6, 2.5, 3.49]) == [1, 2, 2, 3]
    with pytest.raises(ValueError):
        geometry.as_boxes([[1, 2, 3]])


def test_records_validate_and_freeze() -> None:
    with pytest.raises(ValueError):
        Frame(np.zeros((10, 10), np.uint8), 0, 0.0, "x")
    view = np.zeros((10, 10, 3), np.uint8)[:, :, ::-1]
    f = Frame(view, 0, 0.0, "x")
    assert f.image.flags.c_contiguous and not f.image.flags.writeable
    with pytest.raises(ValueError):
        Detections(np.array([[0, 0, 10, 10]]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        Detections(np.array([[10, 0, 5, 10]]), np.array([1.0]))
    assert len(Detections()) == 0
    with pytest.raises(ValueError, match="share a person"):
        FrameResult(0, 0.0, "x", np.array([1, 2]), np.zeros((2, 4)), np.array([5, 5]), ("a", "a"),
                    np.array([True, True]), np.zeros(2))
    empty = FrameResult.empty(3, 0.1, "x")
    assert len(empty) == 0 and empty.boxes.shape == (0, 4)


def test_config_precedence(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('[facetrack]\nthreshold = 0.5\ndetect-every = 3\nupsample = 0\n')
    env = {"FACETRACK_THRESHOLD": "0.55", "FACETRACK_UPSAMPLE": "2"}
    cfg = load_config(toml, env=env, overrides={"upsample": 1, "detector": None})
    assert (cfg.threshold, cfg.detect_every, cfg.upsample, cfg.detector) == (0.55, 3, 1, "centerface")


def test_config_errors(tmp_path: Path) -> None:
    with pytest.raises(FacetrackError, match="not found"):
        load_config(tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("threshold = [")
    with pytest.raises(FacetrackError, match="TOML"):
        load_config(bad, env={})
    bad.write_text("colour = 3")
    with pytest.raises(FacetrackError, match="unknown setting"):
        load_config(bad, env={})
    with pytest.raises(FacetrackError, match="threshold"):
        Config(threshold=-1)
    with pytest.raises(FacetrackError, match="cannot read"):
        load_config(None, env={"FACETRACK_THRESHOLD": "abc"})
