"""Image loading for the embedding backends: decode, flatten to white RGB, smart resize.

Our own preprocessing (no torchvision): the Qwen-VL "smart resize" rule that the official
Qwen3-VL-Embedding code applies before calling the processor with resizing off.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageOps

from .base import BackendError

QWEN_FACTOR = 32  # patch 16 × spatial merge 2: one visual token per 32×32 block
QWEN_MIN_PIXELS = 4 * QWEN_FACTOR * QWEN_FACTOR
QWEN_MAX_PIXELS = 1800 * QWEN_FACTOR * QWEN_FACTOR
MAX_ASPECT_RATIO = 200


def smart_resize(
    height: int,
    width: int,
    factor: int = QWEN_FACTOR,
    min_pixels: int = QWEN_MIN_PIXELS,
    max_pixels: int = QWEN_MAX_PIXELS,
) -> tuple[int, int]:
    """(height, width) rounded to multiples of `factor` with the area in [min, max] pixels.

    Each side is rounded to the nearest multiple; if the area is then too large both sides are
    scaled down by sqrt(area / max) (floored to the factor), if too small scaled up by
    sqrt(min / area) (ceiled to the factor). The aspect ratio is kept as closely as possible.
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"image has no pixels ({width}×{height})")
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise ValueError(
            f"aspect ratio {max(height, width) / min(height, width):.0f}:1 is over "
            f"{MAX_ASPECT_RATIO}:1"
        )
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB with transparent areas composited on white (palette transparency included)."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def open_image(path: str | Path) -> Image.Image:
    """Decode an image file fully, upright (EXIF orientation), as white-backed RGB.

    Raises BackendError naming the file when it is missing or cannot be decoded.
    """
    try:
        with Image.open(path) as img:
            img.load()
            image = ImageOps.exif_transpose(img) or img
            return to_rgb(image)
    except FileNotFoundError:
        raise BackendError(f"image file not found: {path}") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BackendError(f"could not decode image {path}: {exc}") from exc


def load_qwen_image(
    path: str | Path,
    *,
    min_pixels: int = QWEN_MIN_PIXELS,
    max_pixels: int = QWEN_MAX_PIXELS,
    factor: int = QWEN_FACTOR,
) -> Image.Image:
    """An image ready for the Qwen-VL processor with resizing off (sides multiples of 32)."""
    image = open_image(path)
    try:
        height, width = smart_resize(image.height, image.width, factor, min_pixels, max_pixels)
    except ValueError as exc:
        raise BackendError(f"cannot use image {path}: {exc}") from exc
    if (height, width) != (image.height, image.width):
        image = image.resize((width, height), Image.Resampling.BICUBIC)
    return image
