"""backup, restore and verify_backup against the real test database server.

pg_dump and pg_restore run as subprocesses, so the data must be committed: TransactionTestCase.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import stat
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import TransactionTestCase, override_settings
from django.utils import translation
from psycopg import sql

from embeddings import pipeline
from itembank import backup
from itembank.models import ItemImage, Role
from tests.base import make_item, make_user, png_bytes
from tests.embeddings.hashing_backend import make_space


def scratch_databases() -> list[str]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            [backup.SCRATCH_PREFIX + "%"],
        )
        return [name for (name,) in cur.fetchall()]


class BackupTestCase(TransactionTestCase):
    def setUp(self) -> None:
        super().setUp()
        make_user("teacher", Role.TEACHER)
        self.tmp = Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.media = self.tmp / "media"
        self.enterContext(override_settings(MEDIA_ROOT=str(self.media)))
        self.backups = self.tmp / "backups"
        self.items = [
            make_item("MATH-2-000001", images=[png_bytes("red")]),
            make_item("MATH-2-000002", stem="삼각형 ABC에서 $\\angle A = 60^\\circ$일 때"),
            make_item("MATH-2-000003", images=[png_bytes("blue"), png_bytes("green")]),
            make_item("MATH-2-000004", stem="$x^2 - 5x + 6 = 0$의 두 근의 합은?"),
        ]
        ids = [item.pk for item in self.items]
        self.spaces = [make_space("hash16"), make_space("hash8", dimensions=8)]
        for space in self.spaces:
            result = pipeline.embed_items(space, ids)
            self.assertEqual(result.embedded, len(ids))
        self.scratch_before = scratch_databases()

    def run_command(self, *args: str) -> str:
        out = io.StringIO()
        call_command(*args, stdout=out, stderr=io.StringIO())
        return out.getvalue()

    def make_backup(self) -> Path:
        self.run_command("backup", str(self.backups))
        (path,) = backup.backups_in(self.backups)
        return path

    def fresh_database(self) -> str:
        """An empty database on the test server, dropped after the test; returns its URL."""
        name = f"itembank_restore_target_{secrets.token_hex(4)}"
        server = backup.PgParams.configured()
        with server.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.addCleanup(backup.drop_database, server, name)
        return urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}").geturl()

    def vectors(self, conn) -> dict[tuple[int, str], str]:
        rows = conn.execute(
            "SELECT e.item_id, s.name, e.embedding::text FROM embeddings_itemembedding e "
            "JOIN embeddings_embeddingspace s ON s.id = e.space_id"
        ).fetchall()
        return {(item, space): text for item, space, text in rows}

    def assert_no_scratch_left(self) -> None:
        self.assertEqual(scratch_databases(), self.scratch_before)


class BackupAndVerifyTests(BackupTestCase):
    def test_backup_writes_dump_media_and_manifest_and_verifies(self) -> None:
        path = self.make_backup()
        self.assertRegex(path.name, r"^itembank-\d{8}T\d{6}Z$")
        self.assertEqual(
            sorted(p.name for p in path.iterdir()), ["database.dump", "manifest.json", "media.tar"]
        )
        self.assertEqual([p.name for p in self.backups.iterdir()], [path.name])  # no .partial-
        manifest = json.loads((path / "manifest.json").read_text())
        self.assertEqual(manifest["counts"]["users"], 1)
        self.assertEqual(manifest["counts"]["items"], 4)
        self.assertEqual(manifest["counts"]["item_images"], 3)
        self.assertEqual(manifest["counts"]["embeddings"], 8)
        self.assertEqual(manifest["embeddings_per_space"], {"hash16": 4, "hash8": 4})
        for space in self.spaces:
            self.assertIn(space.index_name, manifest["hnsw_indexes"])
        self.assertEqual(manifest["server_major"], connection.pg_version // 10000)
        self.assertGreaterEqual(manifest["pg_dump_major"], manifest["server_major"])
        self.assertEqual(manifest["media"]["files"], 3)
        for name in ("database.dump", "media.tar"):
            self.assertEqual(manifest["files"][name]["sha256"], backup.sha256_file(path / name))

        with translation.override("en"):
            out = self.run_command("verify_backup", str(self.backups))  # the newest in the folder
        self.assertIn(f"Checking {path}", out)
        self.assertIn("[OK] rows: items: 4", out)
        self.assertIn("[OK] vectors in space hash8: 4", out)
        for space in self.spaces:
            self.assertIn(f"[OK] HNSW index {space.index_name}", out)
            for item in (self.items[0], self.items[-1]):
                self.assertRegex(
                    out,
                    rf"\[OK\] search in space {space.name} for item {item.pk}: nearest item "
                    rf"{item.pk} at distance 0\.0000 · through {space.index_name}",
                )
        self.assertIn("[OK] media: every item image's file: 3 files present", out)
        self.assertNotIn("FAIL", out)
        self.assert_no_scratch_left()

    def test_keep_prunes_older_backups(self) -> None:
        first = self.make_backup()
        self.run_command("backup", str(self.backups), "--keep", "1")
        (kept,) = backup.backups_in(self.backups)
        self.assertNotEqual(kept, first)
        self.assertFalse(first.exists())


class RestoreTests(BackupTestCase):
    def test_restore_into_a_fresh_database_and_media_folder(self) -> None:
        path = self.make_backup()
        url = self.fresh_database()
        media = self.tmp / "restored-media"
        with translation.override("en"):
            out = self.run_command(
                "restore", str(path), "--database-url", url, "--media-root", str(media)
            )
        self.assertIn("Restored; every check passed.", out)

        with psycopg.connect(url) as restored:
            self.assertEqual(
                restored.execute(
                    "SELECT external_id FROM itembank_item ORDER BY external_id"
                ).fetchall(),
                [(item.external_id,) for item in self.items],
            )
            with connection.cursor() as cur:
                source = self.vectors(cur.connection)
            self.assertEqual(len(source), 8)
            self.assertEqual(self.vectors(restored), source)  # exact halfvec values
            for space in self.spaces:
                (indexdef,) = restored.execute(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = %s", [space.index_name]
                ).fetchone()
                self.assertIn("USING hnsw", indexdef)
                self.assertIn(f"WHERE (space_id = {space.pk})", indexdef)
            (extension,) = restored.execute(
                "SELECT count(*) FROM pg_extension WHERE extname = 'vector'"
            ).fetchone()
            self.assertEqual(extension, 1)
        for image in ItemImage.objects.all():
            self.assertEqual(
                (media / image.file.name).read_bytes(), (self.media / image.file.name).read_bytes()
            )

        # The same target again: not empty any more.
        with self.assertRaisesMessage(CommandError, "비어 있지 않습니다"):
            self.run_command("restore", str(path), "--database-url", url, "--no-media")
        # --force replaces what it holds (here: after rows were deleted).
        with psycopg.connect(url) as restored:
            restored.execute("DELETE FROM itembank_itemimage")
        with translation.override("en"):
            out = self.run_command(
                "restore", str(path), "--database-url", url, "--no-media", "--force"
            )
        self.assertIn("[OK] rows: item_images: 3", out)
        self.assertIn("Restored; every check passed.", out)

    def test_restore_refuses_a_non_empty_media_folder(self) -> None:
        path = self.make_backup()
        with translation.override("en"), self.assertRaisesMessage(CommandError, "--force"):
            self.run_command(
                "restore", str(path), "--database-url", self.fresh_database()
            )  # MEDIA_ROOT holds the test's figures


class DamagedBackupTests(BackupTestCase):
    def verify_fails(self, path: Path) -> str:
        out = io.StringIO()
        with translation.override("en"), self.assertRaises(CommandError) as caught:
            call_command("verify_backup", str(path), stdout=out, stderr=io.StringIO())
        self.assertIn("failed", str(caught.exception))
        self.assert_no_scratch_left()
        return out.getvalue()

    def rewrite_manifest(self, path: Path, change) -> None:
        manifest = json.loads((path / "manifest.json").read_text())
        change(manifest)
        (path / "manifest.json").write_text(json.dumps(manifest))

    def test_a_changed_byte_in_the_media_archive(self) -> None:
        path = self.make_backup()
        tar = path / "media.tar"
        data = bytearray(tar.read_bytes())
        data[len(data) // 3] ^= 0xFF
        tar.write_bytes(bytes(data))
        out = self.verify_fails(path)
        self.assertIn(
            "[FAIL] file media.tar: SHA-256 differs from the manifest: the file is damaged", out
        )
        self.assertIn("[OK] file database.dump", out)

    def test_a_truncated_dump(self) -> None:
        path = self.make_backup()
        dump = path / "database.dump"
        size = dump.stat().st_size
        with dump.open("r+b") as fh:
            fh.truncate(size // 2)
        out = self.verify_fails(path)
        self.assertIn(
            f"[FAIL] file database.dump: {size // 2} bytes, the manifest says {size} "
            "(truncated or replaced)",
            out,
        )

        # Even with a manifest that matches the damaged file, the restore itself fails, cleanly.
        def match_damaged_dump(manifest: dict) -> None:
            manifest["files"]["database.dump"] = {
                "bytes": size // 2,
                "sha256": backup.sha256_file(dump),
            }

        self.rewrite_manifest(path, match_damaged_dump)
        out = self.verify_fails(path)
        self.assertRegex(out, r"\[FAIL\] restore into the scratch database \w+: pg_restore failed")

    def test_counts_that_do_not_match(self) -> None:
        path = self.make_backup()

        def one_more_item(manifest: dict) -> None:
            manifest["counts"]["items"] += 1

        self.rewrite_manifest(path, one_more_item)
        out = self.verify_fails(path)
        self.assertIn("[FAIL] rows: items: expected 5, found 4", out)
        self.assertIn("[OK] rows: item_images: 3", out)

    def test_a_failing_pg_dump_leaves_no_partial_backup(self) -> None:
        bin_dir = self.tmp / "bin"
        bin_dir.mkdir()
        fake = bin_dir / "pg_dump"
        # A pg_dump new enough to be chosen that writes half a dump, then fails (a full disk).
        fake.write_text(
            "#!/bin/sh\n"
            'if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 99.0"; exit 0; fi\n'
            'for arg; do case "$arg" in --file=*) echo partial > "${arg#--file=}";; esac; done\n'
            'echo "pg_dump: error: could not write to output file: No space left on device" >&2\n'
            "exit 1\n"
        )
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
        with translation.override("en"), self.assertRaisesMessage(CommandError, "No space left"):
            self.run_command("backup", str(self.backups), "--pg-bin", str(bin_dir))
        self.assertEqual(list(self.backups.iterdir()), [])

    def test_a_pg_dump_older_than_the_server_is_refused(self) -> None:
        bin_dir = self.tmp / "bin"
        bin_dir.mkdir()
        old = bin_dir / "pg_dump"
        old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 12.3'\n")
        old.chmod(old.stat().st_mode | stat.S_IXUSR)
        major = connection.pg_version // 10000
        with (
            translation.override("en"),
            self.assertRaisesMessage(
                CommandError, f"No pg_dump of PostgreSQL {major} or newer was found"
            ),
        ):
            self.run_command("backup", str(self.backups), "--pg-bin", str(bin_dir))
        self.assertEqual(list(self.backups.iterdir()), [])
