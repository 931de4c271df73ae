"""Shared pieces of the authoring-UI tests: a throwaway media directory and image bytes."""

from __future__ import annotations

import io
import shutil
import tempfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from tests.base import BaseTestCase, png_bytes


def upload(name: str = "figure.png", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes() if data is None else data, "image/png")


def bomb_png(size: tuple[int, int] = (12000, 12000)) -> bytes:
    """A small file that decodes to a huge picture (a decompression bomb)."""
    buf = io.BytesIO()
    Image.new("1", size, 0).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


class UITestCase(BaseTestCase):
    """Writes uploaded images to a temporary MEDIA_ROOT removed after each test."""

    def setUp(self) -> None:
        super().setUp()
        media = tempfile.mkdtemp(prefix="itembank-media-")
        self.addCleanup(shutil.rmtree, media, True)
        override = override_settings(MEDIA_ROOT=media)
        override.enable()
        self.addCleanup(override.disable)
        self.media_root = media
