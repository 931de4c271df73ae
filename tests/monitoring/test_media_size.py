"""The media directory's size: a bounded walk that does not follow links, cached."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.core.cache import cache
from django.test import SimpleTestCase, override_settings

from monitoring import figures


class MediaSizeTests(SimpleTestCase):
    def setUp(self) -> None:
        cache.clear()
        self.addCleanup(cache.clear)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.root = Path(tmp.name)
        (self.root / "items" / "1").mkdir(parents=True)
        (self.root / "items" / "1" / "a.png").write_bytes(b"x" * 1000)
        (self.root / "items" / "1" / "b.png").write_bytes(b"x" * 234)
        (self.root / "imports").mkdir()
        (self.root / "imports" / "bank.zip").write_bytes(b"x" * 4000)
        outside = tempfile.TemporaryDirectory()
        self.addCleanup(outside.cleanup)
        (Path(outside.name) / "big").write_bytes(b"x" * 100_000)
        os.symlink(outside.name, self.root / "link")

    def test_counts_regular_files_only(self) -> None:
        self.assertEqual(figures.walk_size(self.root), (5234, True))

    def test_stops_after_max_entries(self) -> None:
        size, complete = figures.walk_size(self.root, max_entries=2)
        self.assertFalse(complete)
        self.assertLess(size, 5234)

    def test_missing_root(self) -> None:
        self.assertEqual(figures.walk_size(self.root / "nope"), (0, True))

    def test_cached(self) -> None:
        with override_settings(MEDIA_ROOT=self.root):
            self.assertEqual(figures.media_size(), (5234, True))
            (self.root / "imports" / "more.zip").write_bytes(b"x" * 10)
            self.assertEqual(figures.media_size(), (5234, True))
            self.assertEqual(figures.media_size(fresh=True), (5244, True))
