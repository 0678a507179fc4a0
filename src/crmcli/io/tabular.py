"""Streaming readers for CSV, TSV, JSON and JSON Lines, header mapping, and atomic output.

Readers yield ``(line, record)`` pairs, one at a time: ``record`` is a ``dict`` of column name
to text, or a :class:`BadRow` saying why that row cannot be read.  ``line`` is the physical
line a row starts on (CSV, TSV, JSON Lines) or the 1-based item number (a JSON array).
Nothing reads a whole file into memory, so a million rows cost what a thousand do.

:func:`customer_records` renames the columns of common exports (Google Contacts, Outlook,
HubSpot, our own ``crm customer export``) to customer fields; :func:`atomic_output` writes a
file by temporary file and rename, readable by its owner only.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, TextIO

from crmcli.errors import CrmError, UsageError
from crmcli.render import unneutralise

INPUT_FORMATS = ("csv", "tsv", "json", "jsonl")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}

CELL_MAX = 16 * 1024 * 1024  # characters in one CSV cell or JSON item; far above any field cap
_CHUNK = 1 << 16
_SNIFF_BYTES = 1 << 16
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_TSV_UNESCAPE = re.compile(r"\\(.)")
_TSV_CODES = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}

Record = dict[str, str | None]


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that could not be read, and why (the importer reports it with its line)."""

    reason: str


Item = tuple[int, Record | BadRow]


# -- opening an input ---------------------------------------------------------------------


class Input:
    """An opened input file: its format, size and how far it has been read."""

    def __init__(self, name: str, binary: BinaryIO, fmt: str, delimiter: str, size: int) -> None:
        self.name = name
        self.fmt = fmt
        self.delimiter = delimiter
        self.size = size
        self._binary = binary
        self._text: io.TextIOWrapper | None = None

    @property
    def unit(self) -> str:
        """What the numbers in messages count: items of a JSON array, else lines."""
        return "item" if self.fmt == "json" else "line"

    def position(self) -> int:
        """Bytes read so far (for a progress bar)."""
        try:
            return os.lseek(self._binary.fileno(), 0, os.SEEK_CUR)
        except OSError:
            return 0

    def records(self) -> Iterator[Item]:
        """The raw records, streamed, with their column names as the file has them."""
        if self._text is None:
            self._text = io.TextIOWrapper(self._binary, encoding="utf-8-sig", newline="")
        text = self._text
        if self.fmt == "csv":
            items = read_csv(text, delimiter=self.delimiter)
        elif self.fmt == "tsv":
            items = read_tsv(text)
        elif self.fmt == "json":
            items = read_json(text)
        else:
            items = read_jsonl(text)
        last = 0
        try:
            for item in items:
                last = item[0]
                yield item
        except UnicodeDecodeError:
            raise CrmError(
                f"{self.name}: not UTF-8 text after {self.unit} {last}; "
                "save it as UTF-8 (in Excel: CSV UTF-8)"
            ) from None

    def close(self) -> None:
        (self._text or self._binary).close()


@contextmanager
def open_input(path: str, fmt: str | None = None) -> Iterator[Input]:
    """Open ``path`` (``-``: stdin) for reading records; the format comes from ``fmt``, else
    the extension, else the content.  Stdin and pipes are first copied to a private
    temporary file, so no slow producer is waited for while the database is locked."""
    if fmt is not None and fmt not in INPUT_FORMATS:
        raise UsageError(f"unknown input format {fmt!r}; use one of {', '.join(INPUT_FORMATS)}")
    binary = _open_binary(path)
    try:
        head = binary.read(_SNIFF_BYTES)
        binary.seek(0, os.SEEK_END)
        size = binary.tell()
        binary.seek(0)
        if fmt is None and path != "-":
            fmt = EXTENSIONS.get(Path(path).suffix.lower())
            if fmt == "json" and head.removeprefix(_BOM).lstrip()[:1] == b"{":
                fmt = "jsonl"  # JSON Lines saved as .json
        fmt, delimiter = _sniff(head, fmt)
        source = Input("stdin" if path == "-" else path, binary, fmt, delimiter, size)
    except BaseException:
        binary.close()
        raise
    try:
        yield source
    finally:
        source.close()


def _open_binary(path: str) -> BinaryIO:
    """A seekable binary file: the file itself, or a private copy of stdin or a pipe."""
    if path == "-":
        if sys.stdin is None:
            raise CrmError("there is no standard input to read")
        stream: IO[Any] = getattr(sys.stdin, "buffer", sys.stdin)
        return _spool(stream)
    target = Path(path)
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        raise CrmError(f"no file {path}") from None
    except OSError as exc:
        raise CrmError(f"cannot read {path}: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise CrmError(f"{path} is a folder, not a file")
    try:
        fh = target.open("rb")
    except OSError as exc:
        raise CrmError(f"cannot read {path}: {exc.strerror}") from None
    if stat.S_ISREG(mode):
        return fh
    with fh:  # a pipe or a device (e.g. bash's <(command))
        return _spool(fh)


def _spool(stream: IO[Any]) -> BinaryIO:
    spool = tempfile.TemporaryFile()  # mode 0600, removed when closed
    try:
        if isinstance(stream, io.TextIOBase):
            for part in iter(lambda: stream.read(_CHUNK), ""):
                spool.write(part.encode("utf-8"))
        else:
            shutil.copyfileobj(stream, spool, _CHUNK)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


def _sniff(head: bytes, fmt: str | None) -> tuple[str, str]:
    """The format (when not given) and the CSV delimiter, from the first bytes."""
    text = head.removeprefix(_BOM).decode("utf-8", "replace")
    first_line = text.split("\n", 1)[0]
    if fmt is None:
        start = text.lstrip()[:1]
        if start == "[":
            fmt = "json"
        elif start == "{":
            fmt = "jsonl"
        elif first_line.count("\t") > max(first_line.count(","), first_line.count(";")):
            fmt = "tsv"
        else:
            fmt = "csv"
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    return fmt, delimiter


# -- readers ------------------------------------------------------------------------------


def read_csv(lines: Iterator[str] | TextIO, *, delimiter: str = ",") -> Iterator[Item]:
    """CSV rows as dicts keyed by the header; a row of the wrong width or broken quoting is
    a :class:`BadRow` at the line it starts on.  Blank rows are skipped."""
    if csv.field_size_limit() < CELL_MAX:
        csv.field_size_limit(CELL_MAX)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise CrmError(f"line 1: cannot read the CSV header: {exc}") from None
    names = unique_names(header)
    width = len(names)
    done = reader.line_num
    while True:
        start = done + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            done = reader.line_num
            yield start, BadRow(_csv_problem(str(exc), start, done))
            continue
        done = reader.line_num
        if len(row) != width:
            if not any(row):
                continue
            yield start, BadRow(f"{_cells(len(row))}, the header has {width}")
            continue
        yield start, dict(zip(names, row, strict=True))


def _csv_problem(message: str, start: int, end: int) -> str:
    if message == "unexpected end of data":
        return f'a quoted cell is never closed (" missing); lines {start}-{end} could not be read'
    if message.startswith("field larger than field limit"):
        return f"a cell is longer than {CELL_MAX:,} characters"
    return f"broken CSV: {message}"


def _cells(n: int) -> str:
    return "1 cell" if n == 1 else f"{n} cells"


def unique_names(header: list[str]) -> list[str]:
    """Column names made unique (a repeated name gets `` (2)``); a blank one is named."""
    names: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(header, 1):
        name = raw.strip() or f"column {i}"
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name} ({n})"
        seen.add(candidate)
        names.append(candidate)
    return names


def read_tsv(lines: Iterator[str] | TextIO) -> Iterator[Item]:
    """TSV as ``crm … -f tsv`` writes it: a header, tab-separated cells, and ``\\t \\n \\r
    \\\\`` escapes inside cells."""
    header: list[str] | None = None
    width = 0
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if header is None:
            header = unique_names([_tsv_cell(c) for c in line.split("\t")])
            width = len(header)
            continue
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != width:
            yield number, BadRow(f"{_cells(len(cells))}, the header has {width}")
            continue
        yield number, dict(zip(header, (_tsv_cell(c) for c in cells), strict=True))


def _tsv_cell(cell: str) -> str:
    if "\\" not in cell:
        return cell
    return _TSV_UNESCAPE.sub(lambda m: _TSV_CODES.get(m.group(1), m.group(0)), cell)


def read_jsonl(lines: Iterator[str] | TextIO) -> Iterator[Item]:
    """One JSON object per line; blank lines are skipped, anything else is a bad row."""
    loads = json.loads
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = loads(line)
        except json.JSONDecodeError as exc:
            column = min(exc.pos, len(line.rstrip("\r\n"))) + 1
            yield number, BadRow(f"not valid JSON: {exc.msg} (column {column})")
            continue
        yield number, _json_record(value)


def read_json(text: TextIO) -> Iterator[Item]:
    """The objects of a JSON array, decoded one at a time (the array is never held whole)."""
    buf = _JsonBuffer(text)
    if buf.skip_space() != "[":
        raise CrmError(
            "expected a JSON array of objects ([{…}, …]); "
            "for one object per line use JSON Lines (.jsonl)"
        )
    buf.pos += 1
    if buf.skip_space() == "]":
        buf.pos += 1
    else:
        index = 0
        while True:
            index += 1
            yield index, _json_record(buf.decode(index))
            following = buf.skip_space()
            buf.pos += 1
            if following == "]":
                break
            if following != ",":
                raise buf.error(index, "expected , or ] after the item")
            buf.skip_space()
    if buf.skip_space():
        raise buf.error(0, "unexpected text after the JSON array")


class _JsonBuffer:
    """A window on a JSON text that slides forward as items are decoded."""

    def __init__(self, text: TextIO) -> None:
        self.text = text
        self.buf = ""
        self.pos = 0
        self.lines_before = 0  # newlines in the text already dropped from the window
        self.eof = False
        self.decoder = json.JSONDecoder()

    def more(self, size: int = _CHUNK) -> bool:
        chunk = self.text.read(size)
        if not chunk:
            self.eof = True
            return False
        self.lines_before += self.buf.count("\n", 0, self.pos)
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def skip_space(self) -> str:
        """Move past whitespace; the next character, or ``""`` at the end."""
        while True:
            match = _WHITESPACE.match(self.buf, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""

    def decode(self, index: int) -> Any:
        size = _CHUNK
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof or len(self.buf) - self.pos > CELL_MAX:
                    raise self.error(index, f"invalid JSON: {exc.msg}", exc.pos) from None
            else:
                # A number or literal that ends the window may continue in the next chunk.
                if end < len(self.buf) or self.eof or isinstance(value, dict | list):
                    self.pos = end
                    return value
            self.more(size)
            size *= 2

    def error(self, index: int, message: str, at: int | None = None) -> CrmError:
        line = self.lines_before + self.buf.count("\n", 0, self.pos if at is None else at) + 1
        where = f"item {index} (line {line})" if index else f"line {line}"
        return CrmError(f"{where}: {message}; the file cannot be read past it")


def _json_record(value: Any) -> Record | BadRow:
    if not isinstance(value, dict):
        kind = "an array" if isinstance(value, list) else f"a {type(value).__name__}"
        return BadRow(f"{kind}, not an object")
    return {str(k): _json_text(v) for k, v in value.items()}


def _json_text(value: Any) -> str | None:
    """A JSON value as text: lists (tags) joined with commas, objects (fields) as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(t for t in (_json_text(v) for v in value) if t)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# -- header mapping -----------------------------------------------------------------------

# Normalised column names (lower case, runs of other characters as "_") -> our field, in
# order of preference when a file has several (the first non-empty one wins).
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "full_name", "fullname", "display_name", "contact_name", "customer_name"),
    "_first": ("first_name", "firstname", "given_name", "first"),
    "_middle": ("middle_name", "additional_name", "middle"),
    "_last": ("last_name", "lastname", "family_name", "surname", "last"),
    "email": (
        "email", "e_mail", "email_address", "e_mail_address", "e_mail_1_value",
        "email_1_value", "mail", "primary_email", "work_email", "home_email",
        "e_mail_2_address", "e_mail_2_value",
    ),
    "phone": (
        "phone", "mobile", "phone_number", "mobile_phone", "mobile_phone_number", "mobile_number",
        "cell", "cell_phone", "telephone", "tel", "phone_1_value", "primary_phone",
        "business_phone", "work_phone", "home_phone", "phone_2_value",
    ),
    "company": (
        "company", "company_name", "organization", "organisation", "organization_1_name",
        "organization_name", "organisation_name", "org", "employer",
    ),
    "title": ("job_title", "title", "jobtitle", "position", "role", "organization_1_title",
              "organization_title"),
    "address": (
        "address", "street", "street_address", "address_line_1", "address_1_street",
        "address_1_formatted", "business_street", "home_street",
    ),
    "city": ("city", "town", "address_1_city", "business_city", "home_city"),
    "country": (
        "country", "country_region", "address_1_country", "business_country_region",
        "home_country_region",
    ),
    "birthday": ("birthday", "date_of_birth", "dob", "birth_date", "birthdate"),
    "notes": ("notes", "note", "comments", "comment", "description"),
    "source": ("source", "lead_source", "original_source"),
    "tags": ("tags", "tag", "labels", "label", "categories", "category", "group_membership",
             "groups"),
    "uid": ("uid",),
    "fields": ("fields",),
    "created_at": ("created_at",),
}  # fmt: skip
# Columns of our own export that describe a record but are not imported.
IGNORED = frozenset({"id", "last_contacted", "updated_at"})
# The kind of an e-mail, phone or address in Google and Outlook exports ("E-mail 1 - Label").
_IGNORED_KIND = re.compile(r"(e_?mail|phone|address|organization)_\d+_(label|type)")
_TARGET: dict[str, tuple[str, int]] = {
    alias: (target, rank) for target, names in ALIASES.items() for rank, alias in enumerate(names)
}
_NAME_PARTS = ("_first", "_middle", "_last")
_NO_DATE = frozenset({"0/0/00", "0/0/0000", "00/00/0000", "0000-00-00"})  # Outlook's "none"
_NORMALISE = re.compile(r"[^0-9a-z]+")


def normalise_header(name: str) -> str:
    """``E-mail 1 - Value`` -> ``e_mail_1_value``."""
    return _NORMALISE.sub("_", name.strip().casefold()).strip("_")


def custom_field_key(name: str) -> str | None:
    """``field.size`` or ``field:size`` -> ``size``."""
    text = name.strip()
    if len(text) > 6 and text[:6].casefold() in ("field.", "field:"):
        return text[6:].strip() or None
    return None


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to turn records with one set of column names into customer records."""

    single: tuple[tuple[str, str], ...]  # (our field, column) with one candidate column
    multi: tuple[tuple[str, tuple[str, ...]], ...]  # several candidates, by preference
    unknown: tuple[str, ...]  # columns passed on under their own name (reported as ignored)
    name_parts: bool


def plan_for(columns: tuple[str, ...]) -> _Plan:
    found: dict[str, list[tuple[int, str]]] = {}
    unknown: list[str] = []
    for column in columns:
        key = custom_field_key(column)
        if key is not None:
            found.setdefault(f"field.{key}", []).append((0, column))
            continue
        norm = normalise_header(column)
        if norm in IGNORED or _IGNORED_KIND.fullmatch(norm):
            continue
        hit = _TARGET.get(norm)
        if hit is None:
            unknown.append(column)
        else:
            found.setdefault(hit[0], []).append((hit[1], column))
    single = tuple((t, c[0][1]) for t, c in found.items() if len(c) == 1)
    multi = tuple((t, tuple(col for _, col in sorted(c))) for t, c in found.items() if len(c) > 1)
    return _Plan(single, multi, tuple(unknown), any(p in found for p in _NAME_PARTS))


def customer_records(items: Iterator[Item], *, neutralised: bool = False) -> Iterator[Item]:
    """Records keyed by customer field: ``name``, ``email`` …, ``tags``, ``fields`` (a JSON
    object), ``uid``, ``created_at``, ``field.KEY`` for a custom field; columns we do not know
    keep their own name (the importer reports them).  Empty cells are left out.
    ``neutralised``: undo the formula neutralising of our CSV export."""
    plans: dict[tuple[str, ...], _Plan] = {}
    for line, record in items:
        if isinstance(record, BadRow):
            yield line, record
            continue
        columns = tuple(record)
        plan = plans.get(columns)
        if plan is None:
            if len(plans) > 256:  # JSON objects with ever-new keys: keep memory flat
                plans.clear()
            plan = plans[columns] = plan_for(columns)
        out: Record = {}
        for target, column in plan.single:
            value = record[column]
            if value:
                out[target] = value
        for target, candidates in plan.multi:
            for column in candidates:
                value = record[column]
                if value and not value.isspace():
                    out[target] = value
                    break
        for column in plan.unknown:
            value = record[column]
            if value:
                out[column] = value
        if plan.name_parts:
            parts = [out.pop(p, None) for p in _NAME_PARTS]
            if "name" not in out:
                joined = " ".join(p.strip() for p in parts if p and p.strip())
                if joined:
                    out["name"] = joined
        if "birthday" in out and out["birthday"] in _NO_DATE:
            del out["birthday"]
        if neutralised:
            for key, value in out.items():
                if value and value[0] == "'":
                    out[key] = unneutralise(value)
        yield line, out


# -- atomic output ------------------------------------------------------------------------


@contextmanager
def atomic_output(path: str | os.PathLike[str], *, force: bool) -> Iterator[TextIO]:
    """A text stream that becomes ``path`` only when the block succeeds: written to a temporary
    file (mode 0600) in the same folder, flushed to disk, then renamed over the target.
    An existing target is refused unless ``force``; on any error the temporary file goes."""
    target = Path(path)
    if target.is_dir():
        raise CrmError(f"{target} is a folder")
    if not force and (target.exists() or target.is_symlink()):
        raise CrmError(f"{target} exists; use --force to overwrite it")
    folder = target.parent
    if not folder.is_dir():
        raise CrmError(f"no folder {folder} to write {target.name} in")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise CrmError(f"cannot write in {folder}: {exc.strerror}") from None
    placed = False
    try:
        os.fchmod(fd, 0o600)
        with open(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _place(tmp, target, force=force)
        placed = True
        _fsync_folder(folder)
    finally:
        if not placed:
            with suppress(FileNotFoundError):
                os.unlink(tmp)


def _place(tmp: str, target: Path, *, force: bool) -> None:
    if force:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # fails if the target appeared meanwhile: never overwrite
    except FileExistsError:
        raise CrmError(f"{target} exists; use --force to overwrite it") from None
    except OSError:  # a file system without hard links
        if target.exists():
            raise CrmError(f"{target} exists; use --force to overwrite it") from None
        os.replace(tmp, target)
    else:
        os.unlink(tmp)


def _fsync_folder(folder: Path) -> None:
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def file_format(path: str | os.PathLike[str]) -> str | None:
    """The format a file name's extension implies, if any."""
    return EXTENSIONS.get(Path(path).suffix.lower())
