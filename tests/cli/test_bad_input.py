"""Hostile and mistaken input: typed config values, huge and broken images.

Each bad value is one FacetrackError whose message names the setting, and through the CLI one
`facetrack: error:` line, exit 1, and no gallery created. Huge photos are decoded reduced and
their boxes still come out in the file's own pixels. Fuzz tests feed the image and config
readers random and truncated input: they answer with a result or a FacetrackError, nothing else.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.helpers.paths import FACES, LIN
from tracker.cli.main import main
from tracker.config import Config, DatabaseURL, load_config
from tracker.errors import FacetrackError, ImageError
from tracker.sources.images import MAX_SIDE, load_image, load_image_scaled

PHOTO = FACES / "obama_1.jpg"

# (TOML document, what the one-line error must mention)
BAD_TOML = [
    ("threshold = true", "threshold"),
    ("threshold = false", "threshold"),
    ('threshold = "0.5"', "threshold"),
    ("threshold = [0.5]", "threshold"),
    ("threshold = nan", "threshold"),
    ("threshold = inf", "threshold"),
    ("threshold = 2", "threshold"),
    ("threshold = 1979-05-27", "threshold"),
    ("detect-every = 2.7", "detect_every"),
    ("detect-every = 3.0", "detect_every"),
    ("detect-every = true", "detect_every"),
    ("detect-every = 0", "detect_every"),
    ("detect-every = 100001", "detect_every"),
    ('detect-every = "3"', "detect_every"),
    ("upsample = 99", "upsample"),
    ("upsample = 1e9", "upsample"),
    ("upsample = -1", "upsample"),
    ("upsample = 123456789012345678901234567890", "upsample"),
    ("detect-scale = 0", "detect_scale"),
    ("detect-scale = -inf", "detect_scale"),
    ("detect-scale = 100.0", "detect_scale"),
    ("margin = nan", "margin"),
    ("diversity = -0.1", "diversity"),
    ("reembed-every = 1000000", "reembed_every"),
    ("knn = 100000", "knn"),
    ("max-inventory = 10000000", "max_inventory"),
    ("live-queue = 100000", "live_queue"),
    ("file-queue = 0", "file_queue"),
    ("coast-frames = 1000000", "coast_frames"),
    ("num-jitters = 1000", "num_jitters"),
    ("embed-batch = 100000", "embed_batch"),
    ("stall-s = nan", "stall_s"),
    ("reconnect-max-s = 0", "reconnect_max_s"),
    ("detector = 1", "detector"),
    ('detector = "haar"', "detector"),
    ('rtsp-transport = "quic"', "rtsp_transport"),
    ('log-level = "verbose"', "log_level"),
    ("log-level = 10", "log_level"),
    ("gallery = 3", "gallery"),
    ('gallery = ""', "gallery"),
    ("gallery = { path = 'x' }", "gallery"),
    ("facetrack = 5", "facetrack"),
    ('facetrack = "threshold = 0.5"', "facetrack"),
    ("facetrack = [1, 2]", "facetrack"),
    ("[facetrack]\nthreshold = true", "threshold"),
    ("[facetrack]\ncolour = 3", "colour"),
    ("[threshold]\nvalue = 0.5", "threshold"),
]

# (environment, what the error must mention): variables are text, read strictly.
BAD_ENV = [
    ({"FACETRACK_THRESHOLD": "abc"}, "threshold"),
    ({"FACETRACK_THRESHOLD": ""}, "threshold"),
    ({"FACETRACK_THRESHOLD": "true"}, "threshold"),
    ({"FACETRACK_THRESHOLD": "nan"}, "threshold"),
    ({"FACETRACK_THRESHOLD": "1e999"}, "threshold"),
    ({"FACETRACK_DETECT_EVERY": "2.7"}, "detect_every"),
    ({"FACETRACK_DETECT_EVERY": "ten"}, "detect_every"),
    ({"FACETRACK_UPSAMPLE": "99"}, "upsample"),
    ({"FACETRACK_UPSAMPLE": "1e9"}, "upsample"),
    ({"FACETRACK_DETECT_SCALE": "inf"}, "detect_scale"),
    ({"FACETRACK_NUM_JITTERS": "101"}, "num_jitters"),
    ({"FACETRACK_LOG_LEVEL": "loud"}, "log_level"),
    ({"FACETRACK_DETECTOR": "HAAR"}, "detector"),
    ({"FACETRACK_GALLERY": "   "}, "gallery"),
]


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "facetrack.toml"
    path.write_text(text + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "setting"), BAD_TOML)
def test_bad_toml_value_is_a_clear_error(tmp_path: Path, text: str, setting: str) -> None:
    with pytest.raises(FacetrackError, match=setting) as info:
        load_config(_toml(tmp_path, text), env={})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("env", "setting"), BAD_ENV)
def test_bad_environment_value_is_a_clear_error(env: dict[str, str], setting: str) -> None:
    with pytest.raises(FacetrackError, match=setting) as info:
        load_config(None, env=env)
    assert "\n" not in str(info.value)


def test_bad_override_is_a_clear_error() -> None:
    # What --upsample 99 reaches, and what scripts pass as text (benchmarks' --set).
    for overrides, setting in (({"upsample": 99}, "upsample"), ({"detect_every": "2.7"}, "detect_every"),
                               ({"threshold": True}, "threshold"), ({"colour": 1}, "colour")):
        with pytest.raises(FacetrackError, match=setting):
            load_config(None, env={}, overrides=overrides)


def test_valid_values_are_kept_with_their_types(tmp_path: Path) -> None:
    # An int where a float is wanted is fine; case-insensitive log levels; env read strictly.
    cfg = load_config(_toml(tmp_path, '[facetrack]\nthreshold = 1\ndetect-every = 3\nlog-level = "debug"\n'
                                      'upsample = 4\ngallery = "~/g.sqlite3"'),
                      env={"FACETRACK_REEMBED_EVERY": " 12 ", "FACETRACK_DETECT_SCALE": "0.5",
                           "FACETRACK_DEBUG": "1"},  # not a setting: ignored as before
                      overrides={"detect_every": None, "stall_s": 2})
    assert (cfg.threshold, cfg.detect_every, cfg.log_level, cfg.upsample) == (1.0, 3, "DEBUG", 4)
    assert (cfg.reembed_every, cfg.detect_scale, cfg.stall_s) == (12, 0.5, 2.0)
    assert isinstance(cfg.threshold, float) and isinstance(cfg.stall_s, float)
    assert cfg.gallery == Path.home() / "g.sqlite3"
    with pytest.raises(FacetrackError, match="upsample"):
        Config(upsample=5)
    with pytest.raises(FacetrackError, match="threshold"):
        Config(threshold=math.nan)


@pytest.mark.parametrize(("text", "env", "setting"), [
    ("threshold = true", {}, "threshold"),
    ("detect-every = 2.7", {}, "detect_every"),
    ("facetrack = 5", {}, "facetrack"),
    ("upsample = 1e9", {}, "upsample"),
    ("", {"FACETRACK_DETECT_EVERY": "2.7"}, "detect_every"),
    ("", {"FACETRACK_LOG_LEVEL": "chatty"}, "log_level"),
])
def test_cli_bad_config_one_line_no_gallery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str], text: str, env: dict[str, str],
                                             setting: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    gallery = tmp_path / "g.sqlite3"
    code = main(["run", str(PHOTO), "--headless", "--no-progress", "--config", str(_toml(tmp_path, text)),
                 "--gallery", str(gallery)])
    err = capsys.readouterr().err
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("facetrack: error:") and setting in lines[0], err
    assert "Traceback" not in err
    assert not gallery.exists()


def test_cli_upsample_flag_is_refused_up_front(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gallery = tmp_path / "g.sqlite3"
    with pytest.raises(SystemExit) as stopped:  # a usage error as the flag is read: nothing runs
        main(["run", str(PHOTO), "--headless", "--no-progress", "--config", str(_toml(tmp_path, "")),
              "--gallery", str(gallery), "--upsample", "99"])
    assert stopped.value.code == 2 and "--upsample" in capsys.readouterr().err and not gallery.exists()


# ---------------------------------------------------------------------- large and odd images
def _big_photo(path: Path, size: tuple[int, int], paste_at: tuple[int, int], zoom: int) -> tuple[float, ...]:
    """A `size` JPEG, smooth grey, with LIN's portrait enlarged `zoom` times at `paste_at`; returns
    where the face lies in it, (left, top, right, bottom), found by the default detector on the
    small portrait."""
    from tracker.detect import CenterFaceDetector

    portrait = load_image(LIN)
    box = CenterFaceDetector().detect(portrait).boxes[0]
    w, h = size
    ramp = np.linspace(90, 170, w, dtype=np.float32)[None, :].repeat(h, axis=0)
    canvas = Image.fromarray(np.repeat(ramp[..., None], 3, axis=2).astype(np.uint8))
    big = Image.fromarray(portrait).resize((portrait.shape[1] * zoom, portrait.shape[0] * zoom),
                                           Image.Resampling.BICUBIC)
    canvas.paste(big, paste_at)
    canvas.save(path, quality=90)
    x, y = paste_at
    return (box[0] * zoom + x, box[1] * zoom + y, box[2] * zoom + x, box[3] * zoom + y)


def test_large_jpeg_is_decoded_reduced_and_boxes_are_in_source_pixels(tmp_path: Path) -> None:
    photo = tmp_path / "huge.jpg"
    expected = _big_photo(photo, (9000, 6000), (5200, 2100), 3)
    rgb, scale = load_image_scaled(photo)
    assert max(rgb.shape[:2]) <= MAX_SIDE and rgb.dtype == np.uint8 and rgb.shape[2] == 3
    assert scale == pytest.approx(9000 / rgb.shape[1], rel=1e-3)
    assert rgb.shape[0] == pytest.approx(6000 / scale, abs=2)
    assert load_image(photo).shape == rgb.shape

    out = tmp_path / "out.jsonl"
    code = main(["run", str(photo), "--headless", "--no-progress", "--upsample", "0", "--output-json", str(out),
                 "--config", str(_toml(tmp_path, "")), "--gallery", str(tmp_path / "g.sqlite3")])
    assert code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    boxes = [face["box"] for r in records for face in r["faces"]]
    assert len(boxes) == 1, records
    width = expected[2] - expected[0]
    # Detected on a picture reduced 2.2x and scaled back: within a tenth of the face's width.
    assert np.allclose(boxes[0], expected, atol=0.1 * width), (boxes[0], expected)


def test_small_image_is_not_scaled() -> None:
    rgb, scale = load_image_scaled(PHOTO)
    assert scale == 1.0 and rgb.shape == np.asarray(Image.open(PHOTO).convert("RGB")).shape


@pytest.mark.parametrize(("fmt", "mode"), [("PNG", "P"), ("PNG", "I;16"), ("PNG", "RGBA"), ("TIFF", "1"),
                                           ("JPEG", "L"), ("JPEG", "CMYK")])
def test_large_images_of_any_mode_are_reduced(tmp_path: Path, fmt: str, mode: str) -> None:
    path = tmp_path / f"wide.{fmt.lower()}"
    Image.new(mode, (8500, 300)).save(path, fmt)
    rgb, scale = load_image_scaled(path)
    assert rgb.shape[1] <= MAX_SIDE and rgb.shape[2] == 3 and rgb.dtype == np.uint8
    assert scale == pytest.approx(8500 / rgb.shape[1])


def test_large_jpeg_exif_rotation_keeps_the_scale(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    Image.new("RGB", (6000, 4000), (120, 130, 140)).save(path, exif=exif)
    rgb, scale = load_image_scaled(path)
    assert rgb.shape[0] > rgb.shape[1] and max(rgb.shape[:2]) <= MAX_SIDE
    assert scale == pytest.approx(6000 / rgb.shape[0])


def test_decompression_bomb_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # A real bomb needs gigabytes to build: lower the limit instead, to just under this photo.
    w, h = Image.open(PHOTO).size
    for limit in (w * h - 1, (w * h) // 3):  # Pillow warns above the limit and refuses above twice it
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
        with pytest.raises(ImageError, match="too large"):
            load_image(PHOTO)


@pytest.mark.parametrize(("content", "limit", "message"), [
    (PHOTO.read_bytes()[:3000], None, "cannot decode"),
    (b"hello", None, "not an image"),
    (PHOTO.read_bytes(), 10_000, "too large"),
])
def test_cli_bad_image_one_line_no_gallery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str], content: bytes, limit: int | None,
                                           message: str) -> None:
    if limit is not None:
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(content)
    gallery = tmp_path / "g.sqlite3"
    code = main(["run", str(photo), "--headless", "--no-progress", "--config", str(_toml(tmp_path, "")),
                 "--gallery", str(gallery)])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and lines[0].startswith("facetrack: error:") and message in lines[0]
    assert not gallery.exists()


def test_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "camera.jpg"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        load_image(fifo)  # and never blocks waiting for a writer


# ---------------------------------------------------------------------- fuzz
def _encoded_samples() -> dict[str, bytes]:
    face = np.asarray(Image.open(PHOTO).convert("RGB").resize((48, 40)))
    samples: dict[str, bytes] = {}
    for fmt, mode in (("JPEG", "RGB"), ("PNG", "RGBA"), ("GIF", "P"), ("BMP", "RGB"), ("TIFF", "RGB"),
                      ("WEBP", "RGB"), ("PPM", "RGB"), ("PNG", "I;16")):
        buf = io.BytesIO()
        img = Image.fromarray(face)
        img = img.convert("L").convert("I;16") if mode == "I;16" else img.convert(mode)
        img.save(buf, fmt)
        samples[f"{fmt}-{mode}"] = buf.getvalue()
    return samples


SAMPLES = _encoded_samples()
MAGIC = [b"", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"RIFF",
         b"P6\n", b"\x00\x00\x01\x00"]


@st.composite
def image_bytes(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.sampled_from(MAGIC)) + draw(st.binary(max_size=512))
    data = bytearray(SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))])
    for _ in range(draw(st.integers(0, 4))):  # flipped bytes: corrupt headers and data
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])  # and truncated anywhere


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=image_bytes(), suffix=st.sampled_from([".jpg", ".png", ".gif", ".bin"]))
def test_fuzz_load_image(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"x{suffix}"
        path.write_bytes(data)
        try:
            rgb, scale = load_image_scaled(path)
        except ImageError as exc:
            assert str(exc) and "\n" not in str(exc)
            return
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        assert rgb.flags.c_contiguous and max(rgb.shape[:2]) <= MAX_SIDE and scale >= 1.0


SETTING_KEYS = [f.name for f in fields(Config)] + [f.name.replace("_", "-") for f in fields(Config)]
toml_scalar = st.one_of(
    st.booleans(), st.integers(), st.integers(-5, 50), st.floats(), st.floats(0, 5),
    st.text(max_size=12), st.sampled_from(["hog", "cnn", "tcp", "udp", "auto", "info", "DEBUG", "~/g.sqlite3"]),
    st.dates(),
)
toml_value = st.one_of(toml_scalar, st.lists(toml_scalar, max_size=3),
                       st.dictionaries(st.sampled_from(SETTING_KEYS), toml_scalar, max_size=2))
toml_key = st.one_of(st.sampled_from(SETTING_KEYS), st.just("facetrack"), st.text(min_size=1, max_size=8))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are TOML's; a lone surrogate makes invalid TOML
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return value.isoformat()  # a date


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.dictionaries(toml_key, toml_value, max_size=6), table=st.booleans(),
       env=st.dictionaries(st.sampled_from([f"FACETRACK_{f.name.upper()}" for f in fields(Config)]),
                           st.one_of(st.text(max_size=8).filter(lambda s: "\0" not in s),
                                     st.integers(-3, 30).map(str), st.floats().map(str)), max_size=3))
def test_fuzz_load_config(doc: dict[str, Any], table: bool, env: dict[str, str]) -> None:
    lines = ["[facetrack]"] if table else []
    lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in doc.items()]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            cfg = load_config(path, env=env)
        except FacetrackError as exc:
            assert str(exc) and "\n" not in str(exc)
            return
    # Whatever was accepted has exactly the declared type: nothing was coerced.
    for f in fields(Config):
        value = getattr(cfg, f.name)
        wanted = {"float": float, "int": int, "str": str, "Path": Path, "tuple[str, ...]": tuple,
                  "GalleryLocation": (Path, DatabaseURL)}[str(f.type)]
        assert isinstance(value, wanted) and not isinstance(value, bool), (f.name, value)
        if wanted is tuple:
            assert all(isinstance(v, str) and v and v == v.strip() for v in value), (f.name, value)
        if wanted is float:
            assert math.isfinite(value)
