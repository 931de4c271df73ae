"""Checking uploaded and imported images before anything is stored."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    sha256: str
    format: str
    width: int
    height: int

    @property
    def size_bytes(self) -> int:
        return len(self.data)


def check_image(data: bytes, name: str = "") -> CheckedImage:
    """Decode the whole image once; refuse what is not a small-enough PNG/JPEG/GIF/WebP.

    Raises ValidationError with a message that names the file.
    """
    label = name or _("image")
    if len(data) > settings.ITEMBANK_MAX_IMAGE_BYTES:
        raise ValidationError(
            _("%(name)s is %(size).1f MB; images may be at most %(limit).0f MB.")
            % {
                "name": label,
                "size": len(data) / 1e6,
                "limit": settings.ITEMBANK_MAX_IMAGE_BYTES / 1e6,
            },
            code="too_large",
        )
    if not data:
        raise ValidationError(_("%(name)s is empty.") % {"name": label}, code="empty")
    max_pixels = settings.ITEMBANK_MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = (img.format or "").upper()
                width, height = img.size
                if width * height > max_pixels:
                    raise ValidationError(
                        _(
                            "%(name)s is %(w)d×%(h)d pixels; images may have at most %(max)d "
                            "million pixels."
                        )
                        % {"name": label, "w": width, "h": height, "max": max_pixels // 1_000_000},
                        code="too_many_pixels",
                    )
                if fmt not in ALLOWED_FORMATS:
                    raise ValidationError(
                        _("%(name)s is not a PNG, JPEG, GIF or WebP image.") % {"name": label},
                        code="format",
                    )
                img.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError(
            _("%(name)s is too large to decode safely.") % {"name": label}, code="bomb"
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(
            _("%(name)s is not a readable image (PNG, JPEG, GIF or WebP).") % {"name": label},
            code="invalid",
        ) from exc
    return CheckedImage(
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        width=width,
        height=height,
    )
