"""Streaming readers for CSV, TSV, JSON and JSON Lines, header mapping, and atomic output.

Readers yield ``(line, record)`` pairs, one at a time: ``record`` is a ``dict`` of column name
to text, or a :class:`BadRow` saying why that row cannot be read.  ``line`` is the physical
line a row starts on (CSV, TSV, JSON Lines, the first line of a vCard) or the 1-based item
number (a JSON array).  Nothing reads a whole file into memory, so a million rows cost what a
thousand do.  :func:`open_input` finds the format (vCards are read by
:mod:`crmcli.io.vcard`), the CSV delimiter (sniffed) and takes the text encoding it is told
(UTF-8 unless ``--encoding``, or a UTF-16/32 byte order mark, says otherwise; a file that is
not in it is an error naming the first line that is not).

:func:`customer_records` renames the columns of common exports (Google Contacts, Outlook,
HubSpot, our own ``crm customer export``) and those ``--map`` names to customer fields, with
the e-mails and phones beyond the first as ``extra.email_work`` … ; :func:`deal_records` does
the same for deal exports; :func:`atomic_output` writes a file by temporary file and rename,
readable by its owner only.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, TextIO

from crmcli.errors import CrmError, InvalidValue, UsageError
from crmcli.render import unneutralise

INPUT_FORMATS = ("csv", "tsv", "json", "jsonl", "vcard")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".vcf": "vcard",
    ".vcard": "vcard",
}

CELL_MAX = 16 * 1024 * 1024  # characters in one CSV cell or JSON item; far above any field cap
_CHUNK = 1 << 16
_SNIFF_BYTES = 1 << 16
_SNIFF_LINES = 50  # lines csv.Sniffer looks at (it is slow on long samples)
_BOM = b"\xef\xbb\xbf"
# Byte order marks that name their encoding (a declaration, not a guess); UTF-32 first.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
DELIMITERS = {",": ",", ";": ";", "\t": "\t", "|": "|"}
_DELIMITER_NAMES = {
    "comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|", "bar": "|",
}  # fmt: skip
_VCARD_START = re.compile(r"(?i)begin[ \t]*:[ \t]*vcard\b")
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
    """An opened input file: its format, encoding, size and how far it has been read."""

    def __init__(
        self,
        name: str,
        binary: BinaryIO,
        fmt: str,
        delimiter: str,
        size: int,
        encoding: str = "utf-8-sig",
        *,
        encoding_given: bool = False,
    ) -> None:
        self.name = name
        self.fmt = fmt
        self.delimiter = delimiter
        self.size = size
        self.encoding = encoding
        self.encoding_given = encoding_given
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
        """The raw records, streamed, with their column names as the file has them (for a
        vCard: already customer fields, see :mod:`crmcli.io.vcard`)."""
        if self.fmt == "vcard":
            yield from self._vcards()
            return
        if self._text is None:
            self._text = io.TextIOWrapper(self._binary, encoding=self.encoding, newline="")
        text = self._text
        if self.fmt == "csv":
            items = read_csv(text, delimiter=self.delimiter)
        elif self.fmt == "tsv":
            items = read_tsv(text)
        elif self.fmt == "json":
            items = read_json(text)
        else:
            items = read_jsonl(text)
        try:
            yield from items
        except UnicodeDecodeError:
            raise self.undecodable() from None

    def _vcards(self) -> Iterator[Item]:
        """The cards, from lines read as bytes (see :func:`crmcli.io.vcard.text_lines`)."""
        from crmcli.io.vcard import Undecodable, read_vcards, text_lines

        lines = text_lines(self._binary, self.encoding)
        if lines is None:  # UTF-16 or UTF-32: as text
            self._text = io.TextIOWrapper(self._binary, encoding=self.encoding, newline="")
            try:
                yield from read_vcards(self._text)
            except UnicodeDecodeError:
                raise self.undecodable() from None
            return
        try:
            yield from read_vcards(lines)
        except Undecodable as exc:
            raise self.undecodable((exc.line, exc.byte)) from None

    def undecodable(self, found: tuple[int, int | None] | None = None) -> CrmError:
        """The error for text that is not in the file's encoding, naming the first line
        that is not (``found``, else found by reading the file again from the start)."""
        line, byte = found or _first_undecodable(self._binary, self.encoding)
        where = f"line {line}" if line else "the file"
        shown = f" (byte 0x{byte:02x})" if byte is not None else ""
        if self.encoding_given:
            return CrmError(
                f"{self.name}: {where} is not {self.encoding} text{shown}; "
                "check the --encoding of the file"
            )
        return CrmError(
            f"{self.name}: {where} is not UTF-8 text{shown}; say which encoding the file is "
            "in, e.g. --encoding cp1252 (Windows, Western Europe), --encoding windows-1258 "
            "(Vietnamese) or --encoding latin-1, or save it as UTF-8 (in Excel: CSV UTF-8)"
        )

    def close(self) -> None:
        (self._text or self._binary).close()


def _first_undecodable(binary: BinaryIO, encoding: str) -> tuple[int, int | None]:
    """The 1-based line holding the first byte that ``encoding`` cannot decode, and that
    byte (``(0, None)`` when it cannot be found)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    newlines = 0
    try:
        binary.seek(0)
        for chunk in iter(lambda: binary.read(_CHUNK), b""):
            try:
                newlines += decoder.decode(chunk).count("\n")
            except UnicodeDecodeError as exc:
                good = bytes(exc.object[: exc.start])
                newlines += codecs.decode(good, encoding, "replace").count("\n")
                return newlines + 1, exc.object[exc.start]
        decoder.decode(b"", True)
    except UnicodeDecodeError as exc:  # the file ends inside a character
        return newlines + 1, exc.object[exc.start] if exc.start < len(exc.object) else None
    except (OSError, ValueError):
        pass
    return 0, None


def check_encoding(name: str) -> str:
    """A codec name Python knows (``windows-1258`` -> ``cp1258``); UTF-8 reads a BOM."""
    try:
        codec = codecs.lookup(name.strip())
    except LookupError:
        raise UsageError(
            f"unknown encoding {name!r}; use a name like utf-8, cp1252, latin-1, utf-16 "
            "or windows-1258"
        ) from None
    if codec.name == "utf-8":
        return "utf-8-sig"
    # rot13, hex, base64, zlib … turn bytes into bytes or text into text; idna and punycode
    # encode host names: none of them is how a file's text is stored.
    if not getattr(codec, "_is_text_encoding", True) or codec.name in _NOT_FILE_ENCODINGS:
        raise UsageError(
            f"{name!r} is not a text encoding for files; use a name like utf-8, cp1252, "
            "latin-1, utf-16 or windows-1258"
        )
    try:
        codecs.getincrementaldecoder(codec.name)
    except LookupError:
        raise UsageError(f"{name!r} is not a text encoding") from None
    return codec.name


_NOT_FILE_ENCODINGS = frozenset({"idna", "punycode", "undefined"})


def check_delimiter(text: str) -> str:
    """``;``, ``tab``, ``\\t``, ``|`` …: one character that separates CSV cells."""
    value = _DELIMITER_NAMES.get(text.strip().casefold(), text)
    if len(value) != 1 or value in "\"'\r\n" or value.isalnum():
        raise InvalidValue(
            "--delimiter", text, "give one character, e.g. , ; | or tab (not a letter or quote)"
        )
    return value


@contextmanager
def open_input(
    path: str,
    fmt: str | None = None,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Iterator[Input]:
    """Open ``path`` (``-``: stdin) for reading records; the format comes from ``fmt``, else
    the extension, else the content.  ``encoding``: the file's text encoding (default
    UTF-8, or what a UTF-16/32 byte order mark says; never guessed).  ``delimiter``: the
    CSV separator (default: sniffed).  Stdin and pipes are first copied to a private
    temporary file, so no slow producer is waited for while the database is locked."""
    if fmt is not None and fmt not in INPUT_FORMATS:
        raise UsageError(f"unknown input format {fmt!r}; use one of {', '.join(INPUT_FORMATS)}")
    codec = check_encoding(encoding) if encoding is not None else None
    separator = check_delimiter(delimiter) if delimiter is not None else None
    binary = _open_binary(path)
    try:
        head = binary.read(_SNIFF_BYTES)
        binary.seek(0, os.SEEK_END)
        size = binary.tell()
        binary.seek(0)
        chosen = codec or next((name for bom, name in _BOMS if head.startswith(bom)), None)
        if codec in ("utf-16", "utf-32") and not any(
            head.startswith(bom) for bom, name in _BOMS if name == codec
        ):
            raise UsageError(
                f"{path}: --encoding {encoding} needs a byte order mark at the start of the "
                f"file and this one has none; say which order it is in: --encoding {codec}-le "
                f"(Windows) or --encoding {codec}-be"
            )
        if fmt is None and path != "-":
            fmt = EXTENSIONS.get(Path(path).suffix.lower())
            if fmt == "json" and head.removeprefix(_BOM).lstrip()[:1] == b"{":
                fmt = "jsonl"  # JSON Lines saved as .json
        fmt, sniffed = _sniff(_head_text(head, chosen or "utf-8-sig"), fmt)
        if separator is not None:
            if fmt not in ("csv", "tsv"):
                raise UsageError(f"--delimiter is for CSV files; this input is {fmt}")
            fmt, sniffed = "csv", separator
        source = Input(
            "stdin" if path == "-" else path,
            binary,
            fmt,
            sniffed,
            size,
            chosen or "utf-8-sig",
            encoding_given=codec is not None,
        )
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


def _head_text(head: bytes, encoding: str) -> str:
    """The first bytes as text (a character cut at the end, or a bad byte, is replaced)."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)("replace")
    except LookupError:
        return head.decode("utf-8", "replace")
    return str(decoder.decode(head, False))


def _sniff(text: str, fmt: str | None) -> tuple[str, str]:
    """The format (when not given) and the CSV delimiter, from the first text."""
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    if fmt is None:
        start = text.lstrip()[:1]
        if start == "[":
            fmt = "json"
        elif start == "{":
            fmt = "jsonl"
        elif _VCARD_START.match(text.lstrip()):
            fmt = "vcard"
        elif first_line.count("\t") > max(first_line.count(","), first_line.count(";")):
            fmt = "tsv"
        else:
            fmt = "csv"
    return fmt, sniff_delimiter(text) if fmt == "csv" else ","


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text (comma, semicolon, tab or pipe): :class:`csv.Sniffer` on
    the first lines; when it cannot tell, or names a character the header does not hold,
    the one the header line holds most of; a single column is comma-separated."""
    lines = text.splitlines(keepends=True)
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines.pop()  # cut off in the middle
    sample = "".join(lines[:_SNIFF_LINES])
    first_line = lines[0] if lines else ""
    try:
        found: str | None = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        found = None
    if found in DELIMITERS and found in first_line:
        return found
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


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


_TOO_DEEP = "arrays or objects nested too deeply"


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
        except ValueError:  # a number of more than 4300 digits
            yield number, BadRow("not valid JSON: a number with too many digits")
            continue
        except RecursionError:
            yield number, BadRow(f"not valid JSON: {_TOO_DEEP}")
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
            except ValueError:  # a number of more than 4300 digits
                raise self.error(index, "invalid JSON: a number with too many digits") from None
            except RecursionError:
                raise self.error(index, f"invalid JSON: {_TOO_DEEP}") from None
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
# order of preference when a file has several (the first non-empty one wins).  E-mails
# and phones are in _EMAIL_COLUMNS / _PHONE_COLUMNS: a customer has several of those.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "full_name", "fullname", "display_name", "contact_name", "customer_name"),
    "_first": ("first_name", "firstname", "given_name", "first"),
    "_middle": ("middle_name", "additional_name", "middle"),
    "_last": ("last_name", "lastname", "family_name", "surname", "last"),
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
    "source": ("source", "lead_source", "original_source", "original_traffic_source"),
    "tags": ("tags", "tag", "labels", "label", "categories", "category", "group_membership",
             "groups"),
    "uid": ("uid",),
    "fields": ("fields",),
    "created_at": ("created_at",),
    # Kept as custom fields (the vCard import and export use the same keys).
    "field.region": (
        "region", "state", "state_region", "province", "address_1_region", "business_state",
        "home_state",
    ),
    "field.postal_code": (
        "postal_code", "postcode", "post_code", "zip", "zip_code", "address_1_postal_code",
        "business_postal_code", "home_postal_code",
    ),
    "field.department": ("department", "organization_1_department", "organization_department"),
    "field.nickname": ("nickname",),
    "field.name_prefix": ("name_prefix",),
    "field.name_suffix": ("name_suffix", "suffix"),
    "field.anniversary": ("anniversary",),
    "field.lifecycle_stage": ("lifecycle_stage",),
    "field.record_id": ("record_id",),
}  # fmt: skip
# E-mail and phone columns, by preference, with the kind of number or address they hold:
# the first non-empty one is the customer's e-mail (phone), the others are kept as custom
# fields named by kind (email_work, phone_mobile …) or number (email_2 …).
_EMAIL_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("email", None), ("e_mail", None), ("email_address", None), ("e_mail_address", None),
    ("mail", None), ("primary_email", None), ("work_email", "work"),
    ("business_email", "work"), ("home_email", "home"), ("personal_email", "home"),
    ("private_email", "home"), ("other_email", "other"),
)  # fmt: skip
_PHONE_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("primary_phone", None), ("phone", None), ("mobile", "mobile"), ("phone_number", None),
    ("mobile_phone", "mobile"), ("mobile_phone_number", "mobile"), ("mobile_number", "mobile"),
    ("cell", "mobile"), ("cell_phone", "mobile"), ("telephone", None), ("tel", None),
    ("business_phone", "work"), ("work_phone", "work"), ("business_phone_2", "work"),
    ("home_phone", "home"), ("home_phone_2", "home"), ("company_main_phone", "main"),
    ("other_phone", "other"), ("car_phone", "car"), ("radio_phone", "radio"),
    ("pager", "pager"), ("business_fax", "fax"), ("home_fax", "fax"), ("other_fax", "fax"),
    ("assistant_s_phone", "assistant"), ("callback", "callback"),
    ("tty_tdd_phone", "tty"), ("telex", "telex"), ("isdn", "isdn"),
)  # fmt: skip
# Numbered columns: Google's "E-mail 2 - Value" (its kind in "E-mail 2 - Label", or
# "- Type" in the older export), Outlook's "E-mail 2 Address", a plain "Phone 2".
_NUMBERED = re.compile(r"(?P<what>e_?mail|phone)_(?P<n>\d+)(?:_(?P<part>value|address))?")
_NUMBERED_RANK = 100  # after the plain columns above
# Columns of our own export that describe a record but are not imported.
IGNORED = frozenset({"id", "last_contacted", "updated_at"})
# The kind of an e-mail, phone or address in Google and Outlook exports ("E-mail 1 - Label").
_IGNORED_KIND = re.compile(r"(e_?mail|phone|address|organization|website)_\d+_(label|type)")
_TARGET: dict[str, tuple[str, int]] = {
    alias: (target, rank) for target, names in ALIASES.items() for rank, alias in enumerate(names)
}
_CONTACT: dict[str, tuple[str, int, str | None]] = {
    **{c: ("email", rank, kind) for rank, (c, kind) in enumerate(_EMAIL_COLUMNS)},
    **{c: ("phone", rank, kind) for rank, (c, kind) in enumerate(_PHONE_COLUMNS)},
}
_NAME_PARTS = ("_first", "_middle", "_last")
_NAME_PART_KEYS = ("name.given", "name.additional", "name.family")  # what the importer keeps
_NO_DATE = frozenset({"0/0/00", "0/0/0000", "00/00/0000", "0000-00-00"})  # Outlook's "none"
_DATE_FIELDS = ("birthday", "field.anniversary")
_NORMALISE = re.compile(r"[^0-9a-z]+")
_MULTI_VALUE = re.compile(r"\s+:::\s+")  # Google's separator of several values in one cell
# A deal export given to the customer import (HubSpot: "Deal Name", "Deal Stage" …).
_DEAL_COLUMNS = ("deal_name", "deal_stage", "dealname", "dealstage")

# What --map may name: customer fields, parts of a name, "field.KEY", "email_KIND" /
# "phone_KIND" (another e-mail or phone), or "-" (leave the column out).
MAP_FIELDS = (
    "name", "first_name", "middle_name", "last_name", "email", "phone", "company", "title",
    "address", "city", "country", "birthday", "source", "notes", "tags", "uid", "created_at",
)  # fmt: skip
_MAP_INTERNAL = {"first_name": "_first", "middle_name": "_middle", "last_name": "_last"}
_EXTRA_TARGET = re.compile(r"(email|phone)_([^\W\d]\w{0,29}|\d{1,3})")
SKIP = "-"


# -- the kind of an e-mail or phone -------------------------------------------------------

_KIND_WORDS = {
    "cell": "mobile", "cellular": "mobile", "mobile": "mobile", "iphone": "mobile",
    "handy": "mobile", "mobil": "mobile", "work": "work", "business": "work",
    "office": "work", "home": "home", "private": "home", "personal": "home",
    "privat": "home", "fax": "fax", "pager": "pager", "main": "main", "other": "other",
    "car": "car",
}  # fmt: skip
_KIND_ORDER = {
    "phone": ("fax", "pager", "mobile", "car", "work", "home", "main", "other"),
    "email": ("work", "home", "other", "mobile", "main", "fax", "pager", "car"),
}
# Words in labels and vCard TYPEs that say nothing about whose number or address it is.
_KIND_NOISE = frozenset({
    "voice", "pref", "internet", "x400", "msg", "text", "video", "bbs", "modem", "pcs",
    "phone", "tel", "email", "e", "mail", "number", "address", "x", "dom", "intl", "postal",
    "parcel", "uri",
})  # fmt: skip
_LABEL_WORD = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_CUSTOM_KIND = re.compile(r"[^\W\d]\w{0,29}")


def contact_kind(labels: Iterable[str], what: str) -> str | None:
    """The kind of an e-mail (``what="email"``) or phone from its labels or vCard TYPEs:
    ``work``, ``home``, ``mobile``, ``fax`` …, a custom label made key-shaped (``zalo``), or
    ``None``.  Understands Google's ``* Home`` and Apple's ``_$!<HomeFAX>!$_``."""
    words: list[str] = []
    for label in labels:
        text = label.strip().removeprefix("* ").replace("_$!<", " ").replace(">!$_", " ")
        words += _LABEL_WORD.findall(_CAMEL.sub(" ", text).casefold())
    known = {_KIND_WORDS[w] for w in words if w in _KIND_WORDS}
    if known:
        return next(k for k in _KIND_ORDER[what] if k in known)
    rest = "_".join(w for w in words if w not in _KIND_NOISE)
    return rest if _CUSTOM_KIND.fullmatch(rest) else None


def extra_key(what: str, kind: str | None, taken: set[str]) -> str:
    """The custom field for another e-mail or phone: ``phone_work`` (``phone_work_2`` when
    taken), ``email_2`` … when its kind is unknown; added to ``taken``."""
    if kind:
        key = base = f"{what}_{kind}"
        n = 1
        while key in taken:
            n += 1
            key = f"{base}_{n}"
    else:
        n = 2
        while f"{what}_{n}" in taken:
            n += 1
        key = f"{what}_{n}"
    taken.add(key)
    return key


def same_contact(what: str, a: str, b: str) -> bool:
    """Whether two e-mails (case ignored) or phones (digits compared) are the same."""
    if what == "email":
        return a.strip().casefold() == b.strip().casefold()
    digits_a, digits_b = re.sub(r"\D", "", a), re.sub(r"\D", "", b)
    return bool(digits_a) and digits_a == digits_b


# -- columns to fields --------------------------------------------------------------------


def normalise_header(name: str) -> str:
    """``E-mail 1 - Value`` -> ``e_mail_1_value``."""
    return _NORMALISE.sub("_", name.strip().casefold()).strip("_")


def custom_field_key(name: str) -> str | None:
    """``field.size`` or ``field:size`` -> ``size``."""
    text = name.strip()
    if len(text) > 6 and text[:6].casefold() in ("field.", "field:"):
        return text[6:].strip() or None
    return None


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """``--map "Vorname=first_name"`` (repeatable) -> ``{column: field}``; a field that is
    not in :data:`MAP_FIELDS`, ``field.KEY``, ``email_KIND``, ``phone_KIND`` or ``-`` is a
    usage error naming the allowed ones."""
    mapping: dict[str, str] = {}
    allowed = (
        f"{', '.join(MAP_FIELDS)}, field.KEY (a custom field), email_KIND or phone_KIND "
        "(another e-mail or phone, e.g. phone_work), or - (leave the column out)"
    )
    for item in items:
        column, sep, target = item.rpartition("=")
        column, target = column.strip(), target.strip()
        if not sep or not column:
            raise InvalidValue("--map", item, "write it as COLUMN=FIELD, e.g. Vorname=first_name")
        key = custom_field_key(target)
        if key is not None:
            from crmcli.core.customers import check_field

            try:
                check_field(f"{key}=x")
            except InvalidValue as exc:
                raise InvalidValue("--map", item, exc.reason) from None
            mapping[column] = f"field.{key}"
        elif target.casefold() in MAP_FIELDS:
            mapping[column] = target.casefold()
        elif _EXTRA_TARGET.fullmatch(target):
            mapping[column] = f"extra.{target}"
        elif target == SKIP:
            mapping[column] = SKIP
        else:
            raise InvalidValue("--map", item, f"unknown field {target!r}; use {allowed}")
    return mapping


@dataclass(frozen=True, slots=True)
class _Contact:
    """A column holding e-mails or phones."""

    what: str  # "email" or "phone"
    rank: tuple[int, int]
    column: str
    kind: str | None  # the kind the column name says
    label: str | None  # the column that says the kind, row by row (Google)
    key: str | None  # --map email_work: always that custom field, never the main one


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to turn records with one set of column names into customer records."""

    single: tuple[tuple[str, str], ...]  # (our field, column) with one candidate column
    multi: tuple[tuple[str, tuple[str, ...]], ...]  # several candidates, by preference
    contacts: tuple[tuple[str, tuple[_Contact, ...]], ...]  # e-mail, phone columns by preference
    unknown: tuple[str, ...]  # columns passed on under their own name (reported as ignored)
    name_parts: bool
    unmapped: tuple[str, ...]  # --map columns the file does not have


def plan_for(columns: tuple[str, ...], mapping: Mapping[str, str] | None = None) -> _Plan:
    """How the columns of a file map to customer fields; ``mapping`` (from
    :func:`parse_mapping`) comes first.  A deal export is refused (it needs
    ``crm deal import``)."""
    mapping = mapping or {}
    by_norm = {normalise_header(c): t for c, t in mapping.items()}
    norms = [normalise_header(c) for c in columns]
    present = dict(zip(norms, columns, strict=True))  # normalised -> the file's name
    deal = next((c for c, n in zip(columns, norms, strict=True) if n in _DEAL_COLUMNS), None)
    if deal is not None and not mapping:
        raise CrmError(
            f"this looks like a deal export (it has a {deal!r} column), not contacts; "
            "import it with: crm deal import FILE"
        )
    outlook = "job_title" in present  # Outlook's "Title" is then Mr., Dr. …
    found: dict[str, list[tuple[int, str]]] = {}
    contacts: list[_Contact] = []
    unknown: list[str] = []
    used: set[str] = set()
    for column, norm in zip(columns, norms, strict=True):
        target = mapping.get(column, by_norm.get(norm))
        if target is not None:
            used.add(norm)
            if target in ("email", "phone"):
                contacts.append(_Contact(target, (-1, 0), column, None, None, None))
            elif target.startswith("extra."):
                what = target[6:].partition("_")[0]
                contacts.append(_Contact(what, (-1, 0), column, None, None, target[6:]))
            elif target != SKIP:
                found.setdefault(_MAP_INTERNAL.get(target, target), []).append((-1, column))
            continue
        key = custom_field_key(column)
        if key is not None:
            found.setdefault(f"field.{key}", []).append((0, column))
            continue
        if norm in IGNORED or _IGNORED_KIND.fullmatch(norm):
            continue
        contact = _contact_column(column, norm, present)
        if contact is not None:
            contacts.append(contact)
            continue
        hit = _TARGET.get(norm)
        if outlook and norm == "title":
            hit = ("field.name_prefix", 0)
        if hit is None:
            unknown.append(column)
        else:
            found.setdefault(hit[0], []).append((hit[1], column))
    single = tuple((t, c[0][1]) for t, c in found.items() if len(c) == 1)
    multi = tuple((t, tuple(col for _, col in sorted(c))) for t, c in found.items() if len(c) > 1)
    unmapped = tuple(c for c in mapping if normalise_header(c) not in used)
    ranked = sorted(contacts, key=lambda c: c.rank)
    groups = tuple(
        (what, tuple(c for c in ranked if c.what == what))
        for what in ("email", "phone")
        if any(c.what == what for c in ranked)
    )
    return _Plan(
        single,
        multi,
        groups,
        tuple(unknown),
        any(p in found for p in _NAME_PARTS),
        unmapped,
    )


def _contact_column(column: str, norm: str, present: Mapping[str, str]) -> _Contact | None:
    hit = _CONTACT.get(norm)
    if hit is not None:
        what, rank, kind = hit
        return _Contact(what, (rank, 0), column, kind, None, None)
    numbered = _NUMBERED.fullmatch(norm)
    if numbered is None:
        return None
    what = "email" if numbered["what"] != "phone" else "phone"
    n = int(numbered["n"])
    label = None
    if numbered["part"] == "value":  # Google: the kind is in the "- Label" / "- Type" column
        stem = norm.removesuffix("_value")
        label = next(
            (present[f"{stem}_{p}"] for p in ("label", "type") if f"{stem}_{p}" in present), None
        )
    return _Contact(what, (_NUMBERED_RANK, n), column, None, label, None)


def customer_records(
    items: Iterator[Item],
    *,
    neutralised: bool = False,
    mapping: Mapping[str, str] | None = None,
    extras: bool = False,
) -> Iterator[Item]:
    """Records keyed by customer field: ``name``, ``email`` …, ``tags``, ``fields`` (a JSON
    object), ``uid``, ``created_at``, ``field.KEY`` for a custom field; columns we do not know
    keep their own name (the importer reports them).  Empty cells are left out.

    E-mails and phones: the first one (by column preference) is ``email`` / ``phone``; with
    ``extras`` the others become ``extra.email_work``, ``extra.phone_2`` … (see
    :func:`extra_key`), else they are dropped.  ``mapping``: columns named by ``--map``
    (a column it names that the file lacks is a usage error).  ``neutralised``: undo the
    formula neutralising of our CSV export."""
    plans: dict[tuple[str, ...], _Plan] = {}
    checked = False
    for line, record in items:
        if isinstance(record, BadRow):
            yield line, record
            continue
        columns = tuple(record)
        plan = plans.get(columns)
        if plan is None:
            if len(plans) > 256:  # JSON objects with ever-new keys: keep memory flat
                plans.clear()
            plan = plans[columns] = plan_for(columns, mapping)
            if not checked and plan.unmapped:
                shown = ", ".join(repr(c) for c in columns)
                raise UsageError(
                    f"--map names {', '.join(repr(c) for c in plan.unmapped)}, which is not "
                    f"a column of the file; its columns are: {shown}"
                )
            checked = True
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
        if plan.contacts:
            _contacts(record, plan.contacts, out, extras)
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
            for key, part in zip(_NAME_PART_KEYS, parts, strict=True):
                if part and not part.isspace():
                    out[key] = part.strip()  # kept as given (a vCard export writes them)
        for day in _DATE_FIELDS:
            if out.get(day) in _NO_DATE:
                del out[day]
        if neutralised:
            for key, value in out.items():
                if value and value[0] == "'":
                    out[key] = unneutralise(value)
        yield line, out


def _contacts(
    record: Record, groups: tuple[tuple[str, tuple[_Contact, ...]], ...], out: Record, extras: bool
) -> None:
    """The e-mails and phones of one record into ``out`` (see :func:`customer_records`)."""
    for what, contacts in groups:
        if len(contacts) == 1 and contacts[0].key is None:  # the common case, made fast
            cell = record[contacts[0].column]
            if not cell or cell.isspace():
                continue
            if ":::" not in cell:
                out[what] = cell
                continue
        main: str | None = None
        seen: list[str] = []
        others: list[tuple[str | None, str]] = []
        taken: set[str] = set()
        for contact in contacts:
            cell = record[contact.column]
            if not cell or cell.isspace():
                continue
            kind = contact.kind
            if contact.label is not None:
                kind = contact_kind([record.get(contact.label) or ""], what)
            for value in _MULTI_VALUE.split(cell.strip()):
                if not value or any(same_contact(what, value, s) for s in seen):
                    continue
                seen.append(value)
                if contact.key is not None:
                    out[f"extra.{contact.key}"] = value
                    taken.add(contact.key)
                elif main is None:
                    main = value
                elif extras:
                    others.append((kind, value))
        if main is not None:
            out[what] = main
        for kind, value in others:
            out[f"extra.{extra_key(what, kind, taken)}"] = value


# -- deals --------------------------------------------------------------------------------

# Deal exports (HubSpot's, and crm deal list output) -> the fields of a deal import.
DEAL_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("deal_name", "dealname", "title", "deal", "deal_title", "name", "opportunity_name"),
    "stage": ("deal_stage", "dealstage", "stage"),
    "amount": ("amount", "deal_amount", "value", "deal_value"),
    "currency": ("currency", "deal_currency_code", "currency_code"),
    "close_date": ("close_date", "closedate", "expected_close_date", "close"),
    "customer": ("associated_contact", "customer", "contact", "contact_name", "customer_name",
                 "associated_contact_primary"),
    "company": ("associated_company", "associated_company_primary", "company", "company_name",
                "account", "account_name"),
    "customer_email": ("customer_email", "contact_email", "email"),
    "customer_id": ("customer_id",),
    "probability": ("probability", "deal_probability"),
    "notes": ("notes", "description", "deal_description"),
    "lost_reason": ("lost_reason", "closed_lost_reason"),
    "uid": ("uid",),
    "customer_uid": ("customer_uid",),
    "status": ("status",),
    "contract_number": ("contract_number",),
    "contract_start": ("contract_start",),
    "contract_end": ("contract_end",),
    "payment_due": ("payment_due",),
    "closed_at": ("closed_at",),
    "paid_at": ("paid_at",),
    "created_at": ("created_at", "create_date", "createdate"),
}  # fmt: skip
_DEAL_TARGET = {
    alias: (target, rank)
    for target, names in DEAL_ALIASES.items()
    for rank, alias in enumerate(names)
}
# Columns of crm deal list output that a deal import does not read.
_DEAL_OUTPUT = frozenset({
    "id", "weighted", "overdue", "lead_id", "stage_changed_at", "updated_at",
})  # fmt: skip


def deal_records(items: Iterator[Item], *, neutralised: bool = False) -> Iterator[Item]:
    """Records keyed by deal field (see :data:`DEAL_ALIASES`); columns we do not know keep
    their name (the importer reports them).  In crm deal list output (it has a
    ``weighted`` column) ``amount`` counts minor units: it comes as ``amount_minor``."""
    plans: dict[tuple[str, ...], tuple[list[tuple[str, str]], list[str]]] = {}
    for line, record in items:
        if isinstance(record, BadRow):
            yield line, record
            continue
        columns = tuple(record)
        plan = plans.get(columns)
        if plan is None:
            if len(plans) > 256:
                plans.clear()
            plan = plans[columns] = _deal_plan(columns)
        out: Record = {}
        for target, column in plan[0]:
            value = record[column]
            if value and not value.isspace() and target not in out:
                out[target] = unneutralise(value) if neutralised else value
        for column in plan[1]:
            if record[column]:
                out[column] = record[column]
        yield line, out


def _deal_plan(columns: tuple[str, ...]) -> tuple[list[tuple[str, str]], list[str]]:
    norms = [normalise_header(c) for c in columns]
    ours = "weighted" in norms
    known: list[tuple[int, str, str]] = []
    unknown: list[str] = []
    for column, norm in zip(columns, norms, strict=True):
        hit = _DEAL_TARGET.get(norm)
        if hit is not None:
            target = "amount_minor" if ours and hit[0] == "amount" else hit[0]
            known.append((hit[1], target, column))
        elif not (ours and norm in _DEAL_OUTPUT):
            unknown.append(column)
    return [(target, column) for _, target, column in sorted(known)], unknown


# -- atomic output ------------------------------------------------------------------------


def check_target(target: Path, *, force: bool) -> Path:
    """A file we may write: not a folder, not an existing file unless ``force``, in a folder
    that exists (returned)."""
    if target.is_dir():
        raise CrmError(f"{target} is a folder")
    if not force and (target.exists() or target.is_symlink()):
        raise CrmError(f"{target} exists; use --force to overwrite it")
    folder = target.parent
    if not folder.is_dir():
        raise CrmError(f"no folder {folder} to write {target.name} in")
    return folder


@contextmanager
def atomic_output(path: str | os.PathLike[str], *, force: bool) -> Iterator[TextIO]:
    """A text stream that becomes ``path`` only when the block succeeds: written to a temporary
    file (mode 0600) in the same folder, flushed to disk, then renamed over the target.
    An existing target is refused unless ``force``; on any error the temporary file goes."""
    target = Path(path)
    folder = check_target(target, force=force)
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
        place(tmp, target, force=force)
        placed = True
        fsync_path(folder)
    finally:
        if not placed:
            with suppress(FileNotFoundError):
                os.unlink(tmp)


def place(tmp: str | os.PathLike[str], target: Path, *, force: bool) -> None:
    """Rename ``tmp`` to ``target`` (atomic); without ``force`` never replace a file, even
    one that appeared while ``tmp`` was written."""
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


def fsync_path(path: Path) -> None:
    """Flush a file or a folder (a rename in it) to disk, where the system allows it."""
    with suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def file_format(path: str | os.PathLike[str]) -> str | None:
    """The format a file name's extension implies, if any."""
    return EXTENSIONS.get(Path(path).suffix.lower())
