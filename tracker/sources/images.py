"""Still images of any common mode, read into 8-bit RGB, with a clear error for bad files.

Huge photos are decoded reduced (at most MAX_SIDE pixels on the long side): a 12000 px JPEG
would otherwise take gigabytes and minutes, and detection upsamples what it gets. The reduction
is reported as a scale so that boxes can be given in the source's pixels.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from ..errors import ImageError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})

# Refuse decompression bombs with a message rather than a warning: load_image checks this limit
# itself, so Pillow's own warning (several lines on stderr) would only repeat the error.
Image.MAX_IMAGE_PIXELS = 200_000_000
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
# Pillow's plugins warn on damaged files they still read ("Corrupt EXIF data"): several lines on
# stderr for what is not an error, where the user should see facetrack's one line at most.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")

MAX_SIDE = 4096  # longest side of a decoded image; larger ones are reduced while decoding

# EXIF orientation -> the transpose that shows the picture upright (as ImageOps.exif_transpose).
_ORIENT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}
# Pillow decoders raise all of these on malformed files; each means "cannot decode".
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error,
                  ZeroDivisionError)


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def to_rgb8(img: Image.Image) -> NDArray[np.uint8]:
    """Grayscale, palette, RGBA, CMYK and 16-bit images as 8-bit RGB (alpha over white)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        # Full-range 16-bit data maps 65535 to 255; 8-bit data stored as 16-bit stays as is.
        if arr.size and arr.max() > 255:
            arr = arr / 257.0
        gray = np.clip(arr, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        gray = ((arr - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(arr)).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.ascontiguousarray(np.asarray(Image.alpha_composite(background, rgba).convert("RGB")))
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def load_image(path: Path | str) -> NDArray[np.uint8]:
    """An image file as RGB, reduced to at most MAX_SIDE px on the long side."""
    return load_image_scaled(path)[0]


def load_image_scaled(path: Path | str) -> tuple[NDArray[np.uint8], float]:
    """An image file as RGB, and its scale: source pixels per decoded pixel (1.0 unless reduced)."""
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image")
    if not path.is_file():  # a FIFO or a device would block the read, or never end
        raise ImageError(f"{path}: not a regular file")
    try:
        with Image.open(path) as img:
            source_long = max(img.size)
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and img.width * img.height > limit:
                raise ImageError(f"{path}: image is too large ({img.width}x{img.height}; at most "
                                 f"{limit // 1_000_000} megapixels)")
            transpose = _ORIENT.get(_orientation(img))
            reduced = _decode_reduced(img)
            if transpose is not None:
                reduced = reduced.transpose(transpose)
            scale = source_long / max(reduced.size)
            rgb = to_rgb8(reduced)
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file (or a format Pillow cannot read)") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{path}: image is too large") from None
    except MemoryError:
        raise ImageError(f"{path}: image is too large to decode in the memory available") from None
    except _DECODE_ERRORS as exc:
        raise ImageError(f"{path}: cannot decode image ({exc or type(exc).__name__})") from None
    if rgb.shape[0] < 8 or rgb.shape[1] < 8:
        raise ImageError(f"{path}: image is too small ({rgb.shape[1]}x{rgb.shape[0]})")
    return rgb, scale


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(0x0112, 1))
    except Exception:  # a broken EXIF block loses the orientation, not the picture
        return 1


def _decode_reduced(img: Image.Image) -> Image.Image:
    """Decode `img` (opened, not loaded) with its long side at most MAX_SIDE."""
    w, h = img.size
    long_side = max(w, h)
    if long_side > MAX_SIDE and img.format == "JPEG":
        # libjpeg decodes at 1/2, 1/4 or 1/8 directly, never holding the full-size picture; draft
        # keeps the result at least this large, and the exact fit follows below.
        img.draft(None, (max(1, w * MAX_SIDE // long_side), max(1, h * MAX_SIDE // long_side)))
    img.load()  # decode now: a truncated file fails here, not later
    out: Image.Image = img
    if max(out.size) <= MAX_SIDE:
        return out
    # Palette indices and 1-bit or 16-bit pixels cannot be averaged as they are.
    if out.mode == "P" or out.mode == "PA":
        out = out.convert("RGBA" if out.mode == "PA" or "transparency" in out.info else "RGB")
    elif out.mode == "1":
        out = out.convert("L")
    elif out.mode.startswith("I;16"):
        out = out.convert("I")
    factor = max(out.size) // MAX_SIDE
    if factor >= 2:
        out = out.reduce(factor)  # a cheap box filter first, then an exact resize of what is left
    if max(out.size) > MAX_SIDE:
        ratio = MAX_SIDE / max(out.size)
        size = (max(1, round(out.width * ratio)), max(1, round(out.height * ratio)))
        out = out.resize(size, Image.Resampling.LANCZOS)
    return out


def list_images(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_file() and is_image_path(p) and not p.name.startswith("."))
    except OSError as exc:
        raise ImageError(f"{folder}: cannot read this folder ({exc.strerror})") from None
