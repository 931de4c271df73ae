"""Importing items from the exchange formats of `shared/design/formats.md`.

`.jsonl` (one item per line), `.json` (a list of items), `.csv` (the same column names; the list
columns hold JSON strings) and `.zip` (one of those plus its images). An import is all or nothing:
every record is checked first — through `Item.full_clean`, so the rules are the UI's — and only
when the whole file is clean is it written, in one transaction, by `services.bulk_save_items`.
Each error names the line (for CSV, the line the row starts on) and the field.

A record describes the whole item: a key left out means an empty value, and re-importing an
external ID replaces that item's fields and images with the file's. Keys other than the format's
are ignored (formats.md lets other tools add optional keys).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import logging
import posixpath
import re
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import jobs
from .images import check_image
from .limits import RECORD_MAX_BYTES
from .models import Difficulty, ImportJob, Item, ItemType, SchoolLevel, Subject, User
from .services import BulkImage, BulkItem, bulk_save_items
from .text import has_nul, nul_message

DATA_SUFFIXES = (".jsonl", ".json", ".csv")
SUFFIXES = (*DATA_SUFFIXES, ".zip")
MAX_ERRORS = 100
logger = logging.getLogger(__name__)

TEXT_FIELDS = [
    "external_id",
    "subject",
    "school_level",
    "unit",
    "achievement_standard",
    "item_type",
    "stem",
    "answer",
    "explanation",
    "difficulty",
    "source",
]
LIST_FIELDS = ["choices", "tags"]
REQUIRED = ["external_id", "subject", "stem"]
CHOICE_FIELDS: dict[str, type[models.TextChoices]] = {
    "subject": Subject,
    "school_level": SchoolLevel,
    "item_type": ItemType,
    "difficulty": Difficulty,
}
# The format's keys in the format's order (the export writes exactly these).
FORMAT_KEYS = [
    "external_id",
    "subject",
    "school_level",
    "grade",
    "unit",
    "achievement_standard",
    "item_type",
    "stem",
    "choices",
    "answer",
    "explanation",
    "difficulty",
    "images",
    "source",
    "tags",
]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportError_:  # the trailing underscore keeps it apart from the builtin ImportError
    """One problem in an import file. `line` is 1-based (0: the file as a whole)."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        if self.line and self.field:
            return _("line %(line)d, field %(field)s: %(message)s") % {
                "line": self.line,
                "field": self.field,
                "message": self.message,
            }
        if self.line:
            return _("line %(line)d: %(message)s") % {"line": self.line, "message": self.message}
        return self.message

    def as_dict(self) -> dict:
        return {"line": self.line, "field": self.field, "message": self.message}


class ImportFailed(Exception):
    """The file was refused; nothing from it was written."""

    def __init__(self, errors: list[ImportError_]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    total: int
    seconds: float


class _TooManyErrors(Exception):
    pass


class _Errors:
    def __init__(self) -> None:
        self.items: list[ImportError_] = []

    def add(self, line: int, field: str, message: str) -> None:
        self.items.append(ImportError_(line, field, str(message)))
        if len(self.items) >= MAX_ERRORS:
            self.items.append(
                ImportError_(
                    0,
                    "",
                    _("Too many errors; the first %(count)d are shown.") % {"count": MAX_ERRORS},
                )
            )
            raise _TooManyErrors

    def fail(self) -> ImportFailed:
        return ImportFailed(self.items)


def _fail(message: str, line: int = 0, field: str = "") -> ImportFailed:
    return ImportFailed([ImportError_(line, field, message)])


# --- Where images come from ---------------------------------------------------------------------


class _ImageRefError(Exception):
    pass


def _normalize_ref(ref: str) -> str:
    """A relative POSIX path that stays inside its folder, or _ImageRefError."""
    cleaned = ref.strip().replace("\\", "/")
    if not cleaned:
        raise _ImageRefError(_("An image path is empty."))
    if cleaned.startswith("/") or re.match(r"^[A-Za-z]:", cleaned):
        raise _ImageRefError(
            _("Image path “%(path)s” is absolute; give it relative to the item file.")
            % {"path": ref}
        )
    normalized = posixpath.normpath(cleaned)
    if normalized == ".." or normalized.startswith("../"):
        raise _ImageRefError(
            _("Image path “%(path)s” points outside the item file's folder.") % {"path": ref}
        )
    return normalized


class _NoImages:
    """An uploaded .jsonl/.json/.csv: there is no folder to take images from."""

    def key(self, ref: str) -> str:
        raise _ImageRefError(
            _("Image “%(path)s”: upload a .zip archive holding the file and its images.")
            % {"path": ref}
        )

    def read(self, key: str) -> bytes:  # pragma: no cover - key() never returns
        raise _ImageRefError(key)


class _Folder:
    """Images beside a file on disk, relative to its folder."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def key(self, ref: str) -> str:
        normalized = _normalize_ref(ref)
        target = (self.root / normalized).resolve()
        if not target.is_relative_to(self.root):
            raise _ImageRefError(
                _("Image path “%(path)s” points outside the item file's folder.") % {"path": ref}
            )
        if not target.is_file():
            raise _ImageRefError(_("Image “%(path)s” was not found.") % {"path": ref})
        return str(target)

    def read(self, key: str) -> bytes:
        with open(key, "rb") as fh:
            return fh.read(settings.ITEMBANK_MAX_IMAGE_BYTES + 1)


class _Unreadable(ImportFailed):
    def __init__(self, name: str) -> None:
        message = _("“%(name)s” could not be read from the archive.") % {"name": name}
        super().__init__([ImportError_(0, "", message)])


class _Unpacked(io.RawIOBase):
    """A zip member as it is unpacked, counting the bytes actually read: refused when it unpacks
    to more than ITEMBANK_MAX_IMPORT_RATIO times its compressed size (past RATIO_FROM_BYTES) or
    the archive to more than ITEMBANK_MAX_IMPORT_UNCOMPRESSED_BYTES. The sizes an archive
    declares are checked before anything is read; these hold whatever it declares."""

    RATIO_FROM_BYTES = 4 * 1024 * 1024

    def __init__(self, archive: _Zip, info: zipfile.ZipInfo) -> None:
        super().__init__()
        self.archive = archive
        self.info = info
        self.read_bytes = 0
        self.fh = archive.archive.open(info)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        name = self.info.filename
        try:
            data = self.fh.read(len(buffer))
        except (zipfile.BadZipFile, zlib.error, RuntimeError, OSError, EOFError) as exc:
            raise _Unreadable(name) from exc
        buffer[: len(data)] = data
        self.read_bytes += len(data)
        ratio = settings.ITEMBANK_MAX_IMPORT_RATIO
        if self.read_bytes > self.RATIO_FROM_BYTES and self.read_bytes > ratio * max(
            self.info.compress_size, 1
        ):
            raise _fail(
                _(
                    "“%(name)s” unpacks to more than %(ratio)d times its packed size; "
                    "the archive looks like a zip bomb and was refused."
                )
                % {"name": name, "ratio": ratio}
            )
        unpacked = self.archive.unpacked
        unpacked[name] = max(unpacked.get(name, 0), self.read_bytes)
        limit = settings.ITEMBANK_MAX_IMPORT_UNCOMPRESSED_BYTES
        if sum(unpacked.values()) > limit:
            raise _fail(
                _("“%(name)s”: the archive unpacks to more than %(limit).0f MB.")
                % {"name": name, "limit": limit / 1e6}
            )
        return len(data)

    def close(self) -> None:
        self.fh.close()
        super().close()


class _Zip:
    """Images inside a zip archive, relative to the data file's folder in it."""

    def __init__(self, archive: zipfile.ZipFile, folder: str) -> None:
        self.archive = archive
        self.folder = folder
        self.entries = {info.filename: info for info in archive.infolist() if not info.is_dir()}
        self.unpacked: dict[str, int] = {}  # the most bytes read from each member

    def open(self, info: zipfile.ZipInfo) -> IO[bytes]:
        """A member as a buffered stream, unpacked under the bounds of `_Unpacked`."""
        try:
            return io.BufferedReader(_Unpacked(self, info), CHUNK)
        except (zipfile.BadZipFile, zlib.error, RuntimeError, OSError, EOFError) as exc:
            raise _Unreadable(info.filename) from exc

    def key(self, ref: str) -> str:
        normalized = _normalize_ref(ref)
        name = (
            posixpath.normpath(posixpath.join(self.folder, normalized))
            if self.folder
            else (normalized)
        )
        if name == ".." or name.startswith("../"):
            raise _ImageRefError(
                _("Image path “%(path)s” points outside the archive.") % {"path": ref}
            )
        if name not in self.entries:
            raise _ImageRefError(_("Image “%(path)s” is not in the archive.") % {"path": ref})
        return name

    def read(self, key: str) -> bytes:
        try:
            with self.open(self.entries[key]) as fh:
                return fh.read(settings.ITEMBANK_MAX_IMAGE_BYTES + 1)
        except _Unreadable as exc:
            raise _ImageRefError(
                _("Image “%(path)s” could not be read from the archive.") % {"path": key}
            ) from exc


_ImageSource = _NoImages | _Folder | _Zip


# --- Reading records -------------------------------------------------------------------------
#
# The data file is read as a stream, one line (JSONL, CSV) or one list element (JSON) at a time,
# each at most RECORD_MAX_BYTES: memory follows the records kept, not the file's size.

CHUNK = 64 * 1024
_LINE_BREAK = re.compile(r"(?<=\r)(?!\n)")  # after a lone CR (CSV's old Mac line ends)
_WS = re.compile(r"[ \t\r\n]*")


def _not_utf8(line: int) -> ImportFailed:
    return _fail(_("The file is not UTF-8 text."), line)


# What the json module's messages (English, fixed) mean, for the teacher.
JSON_REASONS = {
    "Expecting value": gettext_lazy("a value is missing or is not JSON (text needs double quotes)"),
    "Expecting ',' delimiter": gettext_lazy("a comma is missing between two entries"),
    "Expecting ':' delimiter": gettext_lazy("a colon is missing after a field name"),
    "Expecting property name enclosed in double quotes": gettext_lazy(
        "a field name must be in double quotes (or there is a comma too many)"
    ),
    "Unterminated string starting at": gettext_lazy(
        "a text value is not closed with a double quote"
    ),
    "Invalid control character at": gettext_lazy(
        "a text value holds a line break or tab; write \\n or \\t"
    ),
    "Invalid \\escape": gettext_lazy(
        "a backslash starts an unknown escape; write \\\\ for a backslash"
    ),
    "Invalid \\uXXXX escape": gettext_lazy("a \\u escape needs four hexadecimal digits"),
    "Extra data": gettext_lazy("there is more text after the end of the JSON value"),
}


def _json_error(
    exc: json.JSONDecodeError, line: int | None = None, column: int | None = None
) -> str:
    """A JSON syntax error in the user's language, with its line and column (the parser's own
    unless the caller knows where its text started in the file)."""
    reason = JSON_REASONS.get(exc.msg) or next(
        (text for msg, text in JSON_REASONS.items() if exc.msg.startswith(msg)),
        _("the text is not valid JSON here"),
    )
    return _("Not valid JSON at line %(line)d, column %(column)d: %(reason)s.") % {
        "line": exc.lineno if line is None else line,
        "column": exc.colno if column is None else column,
        "reason": reason,
    }


def _too_long(line: int) -> ImportFailed:
    return _fail(
        _("The record is longer than %(max).0f MB; no item needs that much.")
        % {"max": RECORD_MAX_BYTES / 1e6},
        line,
    )


def _too_deep() -> str:
    return _("Not valid JSON: nested too deeply.")


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, str]]:
    """The file's lines (split at LF, ends kept) with their numbers, decoded."""
    number = 0
    while raw := stream.readline(RECORD_MAX_BYTES + 1):
        number += 1
        if len(raw) > RECORD_MAX_BYTES and not raw.endswith(b"\n"):
            raise _too_long(number)
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise _not_utf8(number) from exc


def _records_jsonl(stream: IO[bytes], errors: _Errors) -> Iterator[tuple[int, Any]]:
    for number, raw in _lines(stream):
        line = raw.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.add(number, "", _json_error(exc, number))
            continue
        except RecursionError:
            errors.add(number, "", _too_deep())
            continue
        yield number, value


class _JsonText:
    """A JSON text read in chunks: `buf` holds what has been read and not yet passed, `line`
    and `column` say where `buf` starts in the file."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf = ""
        self.pos = 0
        self.line = 1
        self.column = 0
        self.eof = False

    def more(self) -> None:
        raw = self.stream.read(max(CHUNK, len(self.buf) - self.pos))
        try:
            self.buf += self.decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as exc:
            raise _not_utf8(self.line_at(len(self.buf)) + raw[: exc.start].count(b"\n")) from exc
        self.eof = not raw

    def compact(self) -> None:
        """Drop what has been passed, keeping track of where `buf` starts."""
        passed = self.buf[: self.pos]
        newlines = passed.count("\n")
        self.line += newlines
        if newlines:
            self.column = len(passed) - passed.rfind("\n") - 1
        else:
            self.column += len(passed)
        self.buf = self.buf[self.pos :]
        self.pos = 0

    def line_at(self, pos: int) -> int:
        return self.line + self.buf.count("\n", 0, pos)

    def peek(self) -> str:
        """The next character after blanks, "" at the end."""
        while True:
            match = _WS.match(self.buf, self.pos)
            assert match is not None  # the pattern matches the empty string too
            self.pos = match.end()
            if self.pos < len(self.buf) or self.eof:
                return self.buf[self.pos : self.pos + 1]
            self.compact()
            self.more()

    def fail(self, exc: json.JSONDecodeError) -> ImportFailed:
        column = exc.colno + (self.column if exc.lineno == 1 else 0)
        line = self.line + exc.lineno - 1
        return _fail(_json_error(exc, line, column), line)

    def value(self) -> tuple[int, Any]:
        """The JSON value at `pos` and the line it starts on, reading on until it is whole."""
        decoder = json.JSONDecoder()
        self.peek()
        while True:
            try:
                value, end = decoder.raw_decode(self.buf, self.pos)
            except RecursionError:
                raise _fail(_too_deep(), self.line_at(self.pos)) from None
            except json.JSONDecodeError as exc:
                cut_short = exc.pos >= len(self.buf) - 1 or exc.msg.startswith("Unterminated")
                if self.eof or not cut_short:
                    raise self.fail(exc) from exc
            else:
                if end - self.pos > RECORD_MAX_BYTES:
                    raise _too_long(self.line_at(self.pos))
                if end < len(self.buf) or self.eof:
                    line = self.line_at(self.pos)
                    self.pos = end
                    return line, value
            if len(self.buf) - self.pos > RECORD_MAX_BYTES:
                raise _too_long(self.line_at(self.pos))
            self.more()


def _records_json(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
    """The list's objects with the line each starts on."""
    text = _JsonText(stream)
    if text.peek() != "[":
        raise _fail(
            _("A .json file must hold a list of items: [{...}, {...}]."), text.line_at(text.pos)
        )
    text.pos += 1
    if text.peek() == "]":
        text.pos += 1
    else:
        while True:
            yield text.value()
            text.compact()
            following = text.peek()
            if following == ",":
                text.pos += 1
                continue
            if following == "]":
                text.pos += 1
                break
            raise _fail(
                _("Not valid JSON: expected “,” or “]” after an item."), text.line_at(text.pos)
            )
    if text.peek():
        raise _fail(_("Not valid JSON: extra text after the list."), text.line_at(text.pos))


def _csv_lines(stream: IO[bytes]) -> Iterator[str]:
    for _number, line in _lines(stream):
        yield from (part for part in _LINE_BREAK.split(line) if part)


def _records_csv(stream: IO[bytes], errors: _Errors) -> Iterator[tuple[int, Any]]:
    reader = csv.reader(_csv_lines(stream))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise _fail(_("Not valid CSV: %(reason)s") % {"reason": exc}, 1) from exc
    if not header:
        raise _fail(_("The file holds no items."))
    header = [name.strip() for name in header]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise _fail(
            _("The header row lacks the columns: %(columns)s.") % {"columns": ", ".join(missing)},
            1,
        )
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.add(start, "", _("Not valid CSV: %(reason)s") % {"reason": exc})
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            errors.add(
                start,
                "",
                _("The row has %(count)d columns; the header has %(header)d.")
                % {"count": len(row), "header": len(header)},
            )
            continue
        yield start, dict(zip(header, row, strict=False))


def _read_records(stream: IO[bytes], suffix: str, errors: _Errors) -> Iterator[tuple[int, Any]]:
    if suffix == ".jsonl":
        return _records_jsonl(stream, errors)
    if suffix == ".json":
        return _records_json(stream)
    return _records_csv(stream, errors)


# --- Checking one record ---------------------------------------------------------------------


@dataclass(frozen=True)
class _CheckedRef:
    key: str
    sha256: str
    format: str
    width: int
    height: int
    size_bytes: int


class _Checker:
    def __init__(self, images: _ImageSource, errors: _Errors, is_csv: bool) -> None:
        self.images = images
        self.errors = errors
        self.is_csv = is_csv
        self.seen: dict[str, int] = {}
        self.image_cache: dict[str, _CheckedRef | str] = {}
        self.choices = {name: _choice_values(enum) for name, enum in CHOICE_FIELDS.items()}

    def check(self, line: int, raw: Any) -> BulkItem | None:
        if not isinstance(raw, dict):
            self.errors.add(line, "", _('Each item must be a JSON object: {"external_id": ...}.'))
            return None
        bad: set[str] = set()

        def error(field: str, message: str) -> None:
            bad.add(field)
            self.errors.add(line, field, message)

        fields: dict[str, Any] = {}
        for name in TEXT_FIELDS:
            value = raw.get(name)
            if value is None:
                value = ""
            if not isinstance(value, str):
                error(name, _("Must be text, not %(type)s.") % {"type": _json_type(value)})
                continue
            if has_nul(value):
                error(name, nul_message())
                continue
            fields[name] = value
        for name in REQUIRED:
            if name not in bad and not fields[name].strip():
                error(name, _("This field is required."))
        if not fields.get("item_type", "x"):
            fields["item_type"] = ItemType.MULTIPLE_CHOICE
        for name, allowed in self.choices.items():
            value = fields.get(name, "")
            if name not in bad and value in allowed:
                fields[name] = allowed[value]
            elif name not in bad and value:
                error(
                    name,
                    _("Unknown value “%(value)s”; use one of: %(allowed)s.")
                    % {"value": value, "allowed": ", ".join(CHOICE_FIELDS[name].values)},
                )
        fields["grade"] = self.grade(raw.get("grade"), error)
        for name in LIST_FIELDS:
            fields[name] = self.text_list(raw.get(name), name, error)
        refs = self.text_list(raw.get("images"), "images", error)

        external_id = fields.get("external_id", "")
        if "external_id" not in bad:
            if external_id in self.seen:
                error(
                    "external_id",
                    _("External ID “%(id)s” appears again; it was first on line %(line)d.")
                    % {"id": external_id, "line": self.seen[external_id]},
                )
            else:
                self.seen[external_id] = line

        model_fields = {k: v for k, v in fields.items() if k not in bad and v is not None}
        try:
            Item(**model_fields).full_clean(
                exclude=list(bad), validate_unique=False, validate_constraints=False
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                if name in bad:
                    continue
                for message in messages:
                    error(name if name != "__all__" else "", message)

        images = self.check_images(refs or [], error)
        if bad:
            return None
        return BulkItem(
            fields={k: fields[k] for k in [*TEXT_FIELDS, "grade", *LIST_FIELDS]}, images=images
        )

    def grade(self, value: Any, error: Callable[[str, str], None]) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if self.is_csv and isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        error("grade", _("Must be a whole number (1–12) or empty."))
        return None

    def text_list(
        self, value: Any, name: str, error: Callable[[str, str], None]
    ) -> list[str] | None:
        if value is None or value == "":
            return []
        if self.is_csv and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                error(name, _('Must be a JSON list of text, e.g. ["a", "b"].'))
                return None
            except RecursionError:
                error(name, _too_deep())
                return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            error(name, _('Must be a list of text values, e.g. ["a", "b"].'))
            return None
        if any(has_nul(v) for v in value):
            error(name, nul_message())
            return None
        return value

    def check_images(self, refs: list[str], error: Callable[[str, str], None]) -> list[BulkImage]:
        limit = settings.ITEMBANK_MAX_IMAGES_PER_ITEM
        if len(refs) > limit:
            error("images", _("An item may have at most %(max)d images.") % {"max": limit})
            return []
        images = []
        for ref in refs:
            checked = self.image_cache.get(ref)
            if checked is None:
                checked = self.check_image(ref)
                self.image_cache[ref] = checked
            if isinstance(checked, str):
                error("images", checked)
                continue
            images.append(
                BulkImage(
                    original_name=ref,
                    sha256=checked.sha256,
                    format=checked.format,
                    width=checked.width,
                    height=checked.height,
                    size_bytes=checked.size_bytes,
                    read=self.reader(checked),
                )
            )
        return images

    def check_image(self, ref: str) -> _CheckedRef | str:
        try:
            key = self.images.key(ref)
            checked = check_image(self.images.read(key), ref)
        except _ImageRefError as exc:
            return str(exc)
        except OSError:
            return _("Image “%(path)s” could not be read.") % {"path": ref}
        except ValidationError as exc:
            return " ".join(exc.messages)
        return _CheckedRef(
            key, checked.sha256, checked.format, checked.width, checked.height, checked.size_bytes
        )

    def reader(self, checked: _CheckedRef) -> Callable[[], bytes]:
        def read() -> bytes:
            data = self.images.read(checked.key)
            if hashlib.sha256(data).hexdigest() != checked.sha256:
                raise _fail(
                    _("Image “%(path)s” changed during the import.") % {"path": checked.key}
                )
            return data

        return read


def _choice_values(choices: type[models.TextChoices]) -> dict[str, str]:
    """Each choice's code by the code itself and by its label in every language the UI speaks:
    a file may say "객관식" or "보통", the values the pages show, as well as the codes."""
    values = {str(value): str(value) for value in choices.values}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for value, label in choices.choices:
                values.setdefault(str(label), str(value))
    return values


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return _("true/false")
    if isinstance(value, (int, float)):
        return _("a number")
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, dict):
        return _("an object")
    return type(value).__name__


# --- Opening files ---------------------------------------------------------------------------


def _suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise _fail(
            _("“%(name)s” is not an item file; use .jsonl, .json, .csv or .zip.") % {"name": name}
        )
    return suffix


def _check_size(size: int) -> None:
    limit = settings.ITEMBANK_MAX_IMPORT_BYTES
    if size > limit:
        raise _fail(
            _("The file is %(size).1f MB; imports may be at most %(limit).0f MB.")
            % {"size": size / 1e6, "limit": limit / 1e6}
        )


@contextmanager
def _open_zip(fileobj: IO[bytes]) -> Iterator[tuple[zipfile.ZipInfo, _Zip]]:
    """The data file and its images, from a checked archive (the sizes it declares)."""
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise _fail(_("The file is not a readable zip archive.")) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > settings.ITEMBANK_MAX_IMPORT_ENTRIES:
            raise _fail(
                _("The archive holds %(count)d files; at most %(max)d are allowed.")
                % {"count": len(infos), "max": settings.ITEMBANK_MAX_IMPORT_ENTRIES}
            )
        unpacked = sum(info.file_size for info in infos)
        limit = settings.ITEMBANK_MAX_IMPORT_UNCOMPRESSED_BYTES
        if unpacked > limit:
            raise _fail(
                _("The archive unpacks to %(size).1f MB; at most %(limit).0f MB is allowed.")
                % {"size": unpacked / 1e6, "limit": limit / 1e6}
            )
        data_files = [
            info
            for info in infos
            if not info.is_dir()
            and Path(info.filename).suffix.lower() in DATA_SUFFIXES
            and not info.filename.startswith("__MACOSX/")
            and not posixpath.basename(info.filename).startswith(".")
        ]
        if len(data_files) != 1:
            raise _fail(
                _(
                    "The archive must hold exactly one .jsonl, .json or .csv file with its "
                    "images; it holds %(count)d."
                )
                % {"count": len(data_files)}
            )
        info = data_files[0]
        yield info, _Zip(archive, posixpath.dirname(info.filename))


Opener = Callable[[], AbstractContextManager[IO[bytes]]]


def _run(
    open_data: Opener,
    suffix: str,
    images: _ImageSource,
    *,
    user: User | AnonymousUser | None,
    via: str,
    progress: Progress | None,
    started: float,
) -> ImportResult:
    """Check every record of the data file `open_data()` streams, then write them all.

    With `progress`, a first pass counts the records (the steps are known before checking
    starts); reading twice costs less than holding the file."""
    errors = _Errors()
    entries: list[BulkItem] = []
    steps = 0
    if progress is not None:
        with open_data() as stream:
            try:
                steps = 2 * sum(1 for _ in _read_records(stream, suffix, _Errors()))
            except _TooManyErrors:
                pass
    try:
        checker = _Checker(images, errors, is_csv=suffix == ".csv")
        with open_data() as stream:
            for done, (line, raw) in enumerate(_read_records(stream, suffix, errors), start=1):
                if (entry := checker.check(line, raw)) is not None:
                    entries.append(entry)
                if progress is not None:
                    progress(done, max(steps, done))
        if not entries and not errors.items:
            raise _fail(_("The file holds no items."))
    except _TooManyErrors:
        pass
    if errors.items:
        raise errors.fail()
    total = len(entries)

    def written(done: int) -> None:
        if progress is not None:
            progress(total + done, 2 * total)

    outcome = bulk_save_items(entries, user=user, via=via, progress=written)
    return ImportResult(
        created=len(outcome.created),
        updated=len(outcome.updated),
        unchanged=len(outcome.unchanged),
        total=total,
        seconds=time.monotonic() - started,
    )


def _language() -> str:
    return translation.get_language() or settings.LANGUAGE_CODE


def import_path(
    path: Path,
    *,
    user: User | AnonymousUser | None = None,
    via: str = "import",
    progress: Progress | None = None,
) -> ImportResult:
    """Import a .jsonl/.json/.csv file (images relative to its folder) or a .zip archive.

    Raises ImportFailed, having written nothing, when anything in the file is wrong.
    `progress(done, total)` reports steps: each record is checked, then written.
    """
    started = time.monotonic()
    path = Path(path)
    with translation.override(_language()):
        suffix = _suffix(path.name)
        if not path.is_file():
            raise _fail(_("“%(name)s” was not found.") % {"name": str(path)})
        _check_size(path.stat().st_size)
        if suffix == ".zip":
            with open(path, "rb") as fh, _open_zip(fh) as (info, images):
                return _run(
                    partial(images.open, info),
                    Path(info.filename).suffix.lower(),
                    images,
                    user=user,
                    via=via,
                    progress=progress,
                    started=started,
                )
        return _run(
            lambda: open(path, "rb"),
            suffix,
            _Folder(path.parent),
            user=user,
            via=via,
            progress=progress,
            started=started,
        )


def import_file(
    fileobj: IO[bytes],
    name: str,
    *,
    user: User | AnonymousUser | None = None,
    via: str = "import",
    progress: Progress | None = None,
) -> ImportResult:
    """Import an uploaded file named `name`. Only a .zip may bring images (there is no folder
    beside an upload to take them from)."""
    started = time.monotonic()
    with translation.override(_language()):
        suffix = _suffix(name)
        fileobj.seek(0, io.SEEK_END)
        _check_size(fileobj.tell())
        fileobj.seek(0)
        if suffix == ".zip":
            with _open_zip(fileobj) as (info, images):
                return _run(
                    partial(images.open, info),
                    Path(info.filename).suffix.lower(),
                    images,
                    user=user,
                    via=via,
                    progress=progress,
                    started=started,
                )

        @contextmanager
        def from_start() -> Iterator[IO[bytes]]:
            fileobj.seek(0)
            yield fileobj  # the caller's to close

        return _run(
            from_start,
            suffix,
            _NoImages(),
            user=user,
            via=via,
            progress=progress,
            started=started,
        )


# --- Import jobs (the upload page) -----------------------------------------------------------


def run_job(job_id: int) -> ImportJob | None:
    """Run an uploaded file's import (the task `itembank.run_import_job`) and record the outcome
    on its ImportJob. An import is never retried: a second delivery finds it claimed."""
    return jobs.run(ImportJob, job_id, _import_job)


def _import_job(job: ImportJob) -> None:
    started = time.monotonic()
    # Progress goes on a connection of its own: the import's transaction is open meanwhile.
    reporter = jobs.Reporter(job, own_connection=True)
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            with job.file.open("rb") as fh:
                result = import_file(fh, job.original_name, user=job.created_by, progress=reporter)
        except ImportFailed as exc:
            jobs.fail(
                job,
                exc.errors[0].message if exc.errors else _("The import failed."),
                errors=[error.as_dict() for error in exc.errors],
            )
        except Exception:
            logger.exception("import job %s failed", job.pk)
            message = _("The import stopped unexpectedly; nothing was written. Try again.")
            jobs.fail(job, message, errors=[ImportError_(0, "", message).as_dict()])
        else:
            jobs.succeed(
                job,
                done=2 * result.total,
                total=2 * result.total,
                created_count=result.created,
                updated_count=result.updated,
                unchanged_count=result.unchanged,
                errors=[],
            )
        finally:
            reporter.close()
        logger.info("import job %s ended in %.1f s", job.pk, time.monotonic() - started)
