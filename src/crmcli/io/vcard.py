"""vCard in and out: cards (2.1, 3.0, 4.0) read as customer records; customers written as
vCard 3.0.

Reading streams: lines are read as bytes and decoded one by one (:func:`text_lines`: a
character cut by folding, a ``CHARSET=`` on an 8-bit value, CR CR LF line ends), then
unfolded into logical lines (folding, and the soft line
breaks of 2.1 quoted-printable), grouped into cards from ``BEGIN:VCARD`` to ``END:VCARD``,
and each card, once complete, is parsed line by line with vobject's content-line parser
(names, groups, parameters).  Values are decoded here (quoted-printable with its CHARSET,
escapes by version): vobject's own decoding keeps only what comes before an unescaped comma,
reads 2.1 as 3.0, misses a lower-case ``quoted-printable``, and builds objects too slow for a
large address book.  :func:`read_vcards` yields ``(line where the card begins, record or
BadRow)``, like the tabular readers, so a bad card is reported with its line and the import
stays all or nothing.

How cards map to customers (and back, so that an export imports without loss):

====================  ===================================================================
FN (else N)           name
N                     its five parts as they came (``name.family`` … ``name.suffix``),
                      written back as N by the export
EMAIL, TEL            the preferred (else the first) is ``email`` / ``phone``; the others
                      are custom fields named by kind: ``email_work``, ``phone_mobile``,
                      ``phone_fax`` …, ``email_2`` … when the kind is unknown
ADR                   the preferred (else the first): ``address`` (street, extended,
                      PO box), ``city``, ``country``, fields ``region``, ``postal_code``;
                      the others: fields ``address_home``, ``address_work`` … (one line)
ORG                   ``company``; more units: field ``department``
TITLE / ROLE          ``title`` / field ``role``
ANNIVERSARY           field ``anniversary``
BDAY                  ``birthday`` (``--MM-DD`` when the year is unknown)
NOTE                  ``notes``
CATEGORIES            tags (Google's ``myContacts`` dropped)
NICKNAME, URL         fields ``nickname``, ``website`` (``website_2`` …)
UID                   ``uid`` (so a card imported again updates its customer)
X-CRMCLI-SOURCE, X-CRMCLI-CREATED, X-CRMCLI-FIELD;NAME=KEY:
                      ``source``, ``created_at``, other custom fields (our export)
PHOTO, LOGO, SOUND, KEY, LABEL, REV, X-… properties: left out without a word; other
properties are reported as ignored.
====================  ===================================================================

vobject's content-line parser is imported only when a card is read (start-up time).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO, TextIO

from crmcli.errors import CrmError
from crmcli.io.tabular import CELL_MAX, BadRow, Item, Record, contact_kind, extra_key, same_contact

PRODID_PREFIX = "-//crmcli//"
# The parts of N, in its order, as record keys (the importer stores them).
NAME_KEYS = ("name.family", "name.given", "name.additional", "name.prefix", "name.suffix")
FOLD_OCTETS = 75  # octets on a line before it is folded (RFC 2426 / 6350)

# Properties left out without a word (photos and the like are never even parsed).
_BULKY = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
_SILENT = _BULKY | {
    "VERSION", "PRODID", "REV", "LABEL", "KIND", "SORT-STRING", "CLIENTPIDMAP", "PROFILE",
    "NAME", "SOURCE", "MAILER", "CLASS", "TZ", "GEO", "X-ABLABEL",
}  # fmt: skip
_NAME = re.compile(r"[ \t]*(?:[A-Za-z0-9-]+\.)?([A-Za-z0-9_-]+)")
_AGENT = re.compile(r"(?i)[ \t]*(?:[a-z0-9-]+\.)?agent\b[^:]*:[ \t]*\Z")
_QUOTED_PRINTABLE = re.compile(r"(?i)quoted-printable")
_MAILTO = re.compile(r"(?i)mailto:")
_TEL_URI = re.compile(r"(?i)tel:")
_TEL_EXT = re.compile(r"(?i)(?:^|;)ext=([0-9]{1,7})")
_DATE = re.compile(r"(\d{4})-?(\d\d)-?(\d\d)(?:T[0-9:.,+\-Z]*)?", re.ASCII)
_YEARLESS = re.compile(r"--(\d\d)-?(\d\d)", re.ASCII)
_PARTIAL_DATE = re.compile(r"\d{4}|\d{4}-\d\d|--\d\d|---\d\d", re.ASCII)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPE_21 = re.compile(r"\\([\\;,])")
_GOOGLE_GROUPS = frozenset({"mycontacts"})
_NO_PREF = 101  # 4.0 PREF runs from 1 (most preferred) to 100


# -- reading ------------------------------------------------------------------------------


class Undecodable(ValueError):
    """A line of a vCard file that is neither in its CHARSET nor in the file's encoding."""

    def __init__(self, line: int, byte: int | None) -> None:
        super().__init__(f"line {line} cannot be decoded")
        self.line = line
        self.byte = byte


_CHARSET = re.compile(rb'(?i);[ \t]*charset[ \t]*=[ \t]*"?([a-z0-9_.:-]+)')
_QP_BYTES = re.compile(rb"(?i)quoted-printable")
_ASCII_SAMPLE = "BEGIN:VCARD\r\n :;=,"


def text_lines(binary: BinaryIO, encoding: str) -> Iterator[str] | None:
    """The physical lines of a vCard file as text, decoded line by line (``None`` for an
    encoding that is not ASCII-compatible, such as UTF-16: read those as text).

    Read as bytes first because address books write what a text reader would get wrong:
    a line folded inside a multi-byte UTF-8 character (ownCloud), a ``CHARSET=`` on a plain
    8-bit 2.1 value (``N;CHARSET=ISO-8859-1:Müller`` in Latin-1 bytes: that CHARSET
    decodes the line and its folded continuation, and when the bytes are not in it, the
    file's encoding does), and CR CR LF line ends (one line end, like CR LF, LF or CR)."""
    codec = "utf-8" if encoding == "utf-8-sig" else encoding  # a BOM is dropped below
    try:
        ascii_ok = _ASCII_SAMPLE.encode(codec) == _ASCII_SAMPLE.encode("ascii")
    except (LookupError, UnicodeError):
        ascii_ok = False
    if not ascii_ok:
        return None
    return _text_lines(binary, codec)


def _text_lines(binary: BinaryIO, encoding: str) -> Iterator[str]:
    """Each line is decoded once the next one is read: when the next one continues it
    (folding) and begins with the rest of a UTF-8 character this one ends inside, that
    character's first bytes move over to it."""
    utf8 = encoding in ("utf-8", "utf_8")
    held: tuple[bytes, int, str | None] | None = None  # line, its number, its CHARSET
    charset: str | None = None  # the CHARSET of the logical line being read
    number = 0
    for raw in _physical_lines(binary):
        number += 1
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        folded = raw[:1] in (b" ", b"\t")
        if not folded:
            head = raw.partition(b":")[0]
            match = _CHARSET.search(head)
            qp = _QP_BYTES.search(head)
            charset = match.group(1).decode("ascii") if match and not qp else None
        if held is not None:
            line, at, its_charset = held
            if folded and utf8:
                cut = _cut_character(line, raw[1:])
                if cut:
                    line, raw = line[:-cut], raw[:1] + line[-cut:] + raw[1:]
            yield _decode_line(line, at, encoding, its_charset)
        held = (raw, number, charset)
    if held is not None:
        yield _decode_line(*held[:2], encoding, held[2])


def _physical_lines(binary: BinaryIO) -> Iterator[bytes]:
    """Lines without their ends: LF, CR LF, CR CR LF, or a lone CR."""
    for chunk in binary:
        body = chunk.rstrip(b"\n").rstrip(b"\r")
        if b"\r" in body:
            yield from body.split(b"\r")
        else:
            yield body


def _cut_character(raw: bytes, following: bytes) -> int:
    """How many bytes at the end of ``raw`` begin a UTF-8 character that ``following``
    completes (0 when ``raw`` ends with a whole character)."""
    for back in range(1, min(4, len(raw)) + 1):
        byte = raw[-back]
        if byte < 0x80:
            return 0
        if byte >= 0xC0:
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            rest = following[: need - back]
            if back < need and len(rest) == need - back and all(0x80 <= c < 0xC0 for c in rest):
                return back
            return 0
    return 0


def _decode_line(raw: bytes, number: int, encoding: str, charset: str | None) -> str:
    if charset is not None:
        try:
            return raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass  # not in its CHARSET (or an unknown one): the file's encoding decides
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Undecodable(number, raw[exc.start]) from None


def read_vcards(lines: Iterable[str]) -> Iterator[Item]:
    """The cards of a vCard file, one at a time: ``(line of BEGIN:VCARD, record)``, or a
    :class:`BadRow` for a card that cannot be imported (no ``END:VCARD``, a line that is
    not a property, text between cards …).  A file that does not begin with a card is not
    a vCard file at all (an error)."""
    start = 0  # the line of the open card's BEGIN:VCARD; 0 outside a card
    card: list[tuple[int, str | None]] = []
    nested = 0  # depth inside a 2.1 AGENT's embedded card (skipped)
    seen_card = junk = False
    for number, text in logical_lines(lines):
        word = text.strip().upper().replace(" ", "") if text is not None else ""
        if not start:
            if word == "BEGIN:VCARD":
                start, card, seen_card, junk = number, [], True, False
            elif not seen_card:
                raise CrmError(f"line {number}: not a vCard file (BEGIN:VCARD expected)")
            elif not junk:
                junk = True
                yield number, BadRow("text outside a card (BEGIN:VCARD … END:VCARD)")
            continue
        if word == "BEGIN:VCARD":
            previous = card[-1][1] if card else None
            if nested or (previous is not None and _AGENT.match(previous)):
                nested += 1
                continue
            yield start, BadRow(f"no END:VCARD before the next card (line {number})")
            start, card = number, []
        elif word == "END:VCARD":
            if nested:
                nested -= 1
                continue
            yield start, card_record(card)
            start, card = 0, []
        elif not nested:
            card.append((number, text))
    if start:
        yield start, BadRow("no END:VCARD: the file ends inside the card")


def logical_lines(lines: Iterable[str]) -> Iterator[tuple[int, str | None]]:
    """``(first physical line, logical line)``: folded lines joined, quoted-printable soft
    line breaks kept for the decoder, blank lines dropped; a photo's continuation lines
    are not even kept.  ``None`` stands for a line longer than the cell limit."""
    start = 0
    parts: list[str] = []
    size = 0
    soft_break = bulky = False
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if parts and (soft_break or line[:1] in (" ", "\t")):
            if soft_break:
                piece = "\n" + line  # "=\n" is a soft line break for the decoder
                soft_break = line.endswith("=")
            else:
                piece = line[1:]
            if not bulky:
                size += len(piece)
                if size > CELL_MAX:
                    bulky, parts = True, []  # keep nothing more; report it below
                else:
                    parts.append(piece)
            continue
        if parts or bulky:
            yield start, "".join(parts) if parts else None
        parts, size, bulky, soft_break = [], 0, False, False
        if not line.strip():
            continue
        start, parts, size = number, [line], len(line)
        name = _property_name(line)
        bulky = name in _BULKY
        if bulky:
            parts = [line.partition(":")[0] + ":"]
        soft_break = line.endswith("=") and _is_quoted_printable(line)
    if parts or bulky:
        yield start, "".join(parts) if parts else None


def _property_name(line: str) -> str:
    match = _NAME.match(line)
    return match.group(1).upper().replace("_", "-") if match else ""


def _is_quoted_printable(line: str) -> bool:
    head = line.partition(":")[0]
    return bool(_QUOTED_PRINTABLE.search(head))


def card_record(lines: list[tuple[int, str | None]]) -> Record | BadRow:
    """One card's logical lines as a customer record (see the module's table)."""
    from vobject.base import parseLine  # the content-line grammar: group, name, parameters

    props: list[_Prop] = []
    version = "3.0"
    for number, text in lines:
        if text is None:
            return BadRow(f"line {number} is longer than {CELL_MAX:,} characters")
        name = _property_name(text)
        if name in _BULKY:
            continue
        try:
            prop = _Prop(*parseLine(text, number))
        except Exception as exc:  # whatever vobject raises, the card is bad, not the import
            if name.startswith("X-") or name in _SILENT:
                continue  # not something we would keep anyway
            return BadRow(f"line {number}: {_problem(exc, text)}")
        if prop.name == "VERSION":
            version = prop.value.strip()
        props.append(prop)
    return _Card(props, version).record()


class _Prop:
    """One content line: name (upper case), group, parameters, value (still escaped; a
    quoted-printable value decoded with its CHARSET)."""

    __slots__ = ("name", "group", "params", "singletonparams", "value")

    def __init__(self, name: str, params: list[list[str]], value: str, group: str | None) -> None:
        self.name = name.upper()
        self.group = group
        self.params: dict[str, list[str]] = {}
        self.singletonparams: list[str] = []  # 2.1: TEL;CELL;PREF:
        for param in params:
            if len(param) == 1:
                self.singletonparams.append(param[0])
            else:
                self.params.setdefault(param[0].upper(), []).extend(param[1:])
        encodings = [e.upper() for e in self.params.get("ENCODING", ())]
        singles = [p.upper() for p in self.singletonparams]
        if "QUOTED-PRINTABLE" in encodings or "QUOTED-PRINTABLE" in singles:
            charset = (self.params.get("CHARSET") or ["utf-8"])[0]
            value = binascii.a2b_qp(value.encode("utf-8")).decode(charset.strip('"'))
        self.value = value


def _problem(exc: Exception, text: str) -> str:
    if isinstance(exc, LookupError):
        return f"unknown CHARSET in {_short(text)}"
    if isinstance(exc, UnicodeError):
        return f"quoted-printable text that is not in its CHARSET: {_short(text)}"
    return f"not a vCard property (NAME:value): {_short(text)}"


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


class _Card:
    """The properties of one card, decoded into a record."""

    def __init__(self, props: list[_Prop], version: str) -> None:
        self.props = props
        self.old = version.startswith("2")  # 2.1: no backslash escapes but \;
        self.ours = any(
            p.name == "PRODID" and str(p.value).startswith(PRODID_PREFIX) for p in props
        )
        self.labels = {
            p.group.casefold(): self.text(p) for p in props if p.name == "X-ABLABEL" and p.group
        }

    # -- values -------------------------------------------------------------------------

    def text(self, prop: _Prop) -> str:
        return self.decode(prop.value)

    def decode(self, value: str) -> str:
        value = value.replace("\r\n", "\n")
        if self.old:
            return _ESCAPE_21.sub(r"\1", value)
        return _ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)

    def parts(self, prop: _Prop, separator: str) -> list[str]:
        """A structured value (N, ADR, ORG) or a list (CATEGORIES), split and decoded."""
        return [self.decode(p) for p in _split(prop.value, separator)]

    def types(self, prop: _Prop) -> list[str]:
        found = [t for v in prop.params.get("TYPE", ()) for t in str(v).split(",")]
        found += [str(v) for v in prop.singletonparams]  # 2.1: TEL;CELL;PREF:
        if prop.group and prop.group.casefold() in self.labels:
            found.append(self.labels[prop.group.casefold()])
        return [t.strip().strip('"') for t in found if t.strip()]

    def pref(self, prop: _Prop) -> int:
        """1 (most preferred) to 100; 101 when not preferred."""
        value = prop.params.get("PREF")
        if value:
            text = str(value[0]).strip()
            return (
                int(text)
                if text.isascii() and text.isdigit() and len(text) <= 3 and 1 <= int(text) <= 100
                else 1
            )
        return 1 if any(t.casefold() == "pref" for t in self.types(prop)) else _NO_PREF

    def key_of(self, prop: _Prop, what: str, taken: set[str]) -> str | None:
        """The custom field our own export named (X-CRMCLI-KEY), when it is free."""
        if not self.ours:
            return None
        key = str((prop.params.get("X-CRMCLI-KEY") or [""])[0]).strip()
        match = _EXTRA_FIELD.fullmatch(key)
        if match is None or match.group(1) != what or key in taken:
            return None
        taken.add(key)
        return key

    # -- the record ---------------------------------------------------------------------

    def record(self) -> Record | BadRow:
        out: Record = {}
        by_name: dict[str, list[_Prop]] = {}
        for prop in self.props:
            by_name.setdefault(prop.name, []).append(prop)
        name = next((t for t in map(self.text, by_name.get("FN", ())) if t.strip()), None)
        if name is None:
            name = next(filter(None, map(self.full_name, by_name.get("N", ()))), None)
        if name is None:
            return BadRow("the card has no name (FN or N)")
        out["name"] = name.strip()
        for prop in by_name.get("N", ())[:1]:  # kept as it came, for the export
            parts = (self.parts(prop, ";") + [""] * 5)[:5]
            if any(p.strip() for p in parts):
                for key, part in zip(NAME_KEYS, parts, strict=True):
                    _put(out, key, part.strip())
        taken: set[str] = set()
        self.contacts(by_name.get("EMAIL", ()), "email", out, taken)
        self.contacts(by_name.get("TEL", ()), "phone", out, taken)
        self.addresses(by_name.get("ADR", ()), out, taken)
        for prop in by_name.get("ORG", ())[:1]:
            company, *units = self.parts(prop, ";")
            _put(out, "company", company)
            _put(out, "field.department", ", ".join(u.strip() for u in units if u.strip()))
        singles = (("title", "TITLE"), ("field.role", "ROLE"), ("uid", "UID"),
                   ("field.anniversary", "ANNIVERSARY"))  # fmt: skip
        for key, prop_name in singles:
            for prop in by_name.get(prop_name, ())[:1]:
                _put(out, key, self.text(prop))
        for prop in by_name.get("BDAY", ())[:1]:
            self.birthday(prop, out)
        notes = [n.strip() for n in map(self.text, by_name.get("NOTE", ())) if n.strip()]
        _put(out, "notes", "\n\n".join(notes))
        categories = [
            c.strip()
            for prop in by_name.get("CATEGORIES", ())
            for c in self.parts(prop, ",")
            if c.strip() and c.strip().casefold() not in _GOOGLE_GROUPS
        ]
        _put(out, "tags", ",".join(categories))
        nicknames = [n.strip() for p in by_name.get("NICKNAME", ()) for n in self.parts(p, ",")]
        _put(out, "field.nickname", ", ".join(n for n in nicknames if n))
        sites: set[str] = set()
        for prop in by_name.get("URL", ()):
            url = self.text(prop).strip()
            if url:
                key = "website" if "website" not in sites else extra_key("website", None, sites)
                sites.add(key)
                out[f"field.{key}"] = url
        self.ours_and_others(by_name, out)
        return out

    def full_name(self, prop: _Prop) -> str:
        """N's family;given;additional;prefix;suffix as one name (prefix given … suffix)."""
        family, given, more, prefix, suffix = (self.parts(prop, ";") + [""] * 5)[:5]
        words = (prefix, given, more, family, suffix)
        return " ".join(w.strip() for w in words if w.strip())

    def contacts(self, props: Iterable[_Prop], what: str, out: Record, taken: set[str]) -> None:
        """E-mails or phones: the preferred one is the customer's, the others custom fields
        by kind.  In our own export only a preferred one is the customer's."""
        found: list[tuple[int, int, str, _Prop]] = []
        for index, prop in enumerate(props):
            value = self.contact_value(prop, what)
            if value:
                found.append((self.pref(prop), index, value, prop))
        if not found:
            return
        main: tuple[int, int, str, _Prop] | None = min(found, key=lambda f: (f[0], f[1]))
        if self.ours and main is not None and main[0] == _NO_PREF:
            main = None
        seen: list[str] = []
        if main is not None:
            out[what] = main[2]
            seen.append(main[2])
        for entry in found:
            value = entry[2]
            if entry is main or any(same_contact(what, value, s) for s in seen):
                continue
            seen.append(value)
            key = self.key_of(entry[3], what, taken) or extra_key(
                what, contact_kind(self.types(entry[3]), what), taken
            )
            out[f"extra.{key}"] = value

    def contact_value(self, prop: _Prop, what: str) -> str:
        value = self.text(prop).strip()
        if what == "email":
            return _MAILTO.sub("", value, count=1) if _MAILTO.match(value) else value
        if _TEL_URI.match(value):  # 4.0: TEL;VALUE=uri:tel:+84-90-123-4567;ext=12
            number, _, params = value[4:].partition(";")
            ext = _TEL_EXT.search(";" + params)
            value = f"{number} ext. {ext.group(1)}" if ext else number
        return value.strip()

    def addresses(self, props: Iterable[_Prop], out: Record, taken: set[str]) -> None:
        found = [(self.pref(p), i, p) for i, p in enumerate(props)]
        if not found:
            return
        main: tuple[int, int, _Prop] | None = min(found, key=lambda f: (f[0], f[1]))
        if self.ours and main is not None and main[0] == _NO_PREF:
            main = None
        for entry in found:
            box, extended, street, city, region, code, country = (
                [c.strip() for c in self.parts(entry[2], ";")] + [""] * 7
            )[:7]
            if entry is main:
                _put(out, "address", "\n".join(p for p in (street, extended, box) if p))
                _put(out, "city", city)
                _put(out, "country", country)
                _put(out, "field.region", region)
                _put(out, "field.postal_code", code)
                continue
            parts = (street, extended, box, city, region, code, country)
            text = ", ".join(p for p in parts if p)
            if text:
                key = self.key_of(entry[2], "address", taken) or extra_key(
                    "address", contact_kind(self.types(entry[2]), "email"), taken
                )
                out[f"field.{key}"] = text

    def birthday(self, prop: _Prop, out: Record) -> None:
        raw = self.text(prop).strip()
        if not raw:
            return
        kinds = [str(v).casefold() for v in prop.params.get("VALUE", ())]
        full = _DATE.fullmatch(raw)
        yearless = _YEARLESS.fullmatch(raw)
        omit = prop.params.get("X-APPLE-OMIT-YEAR")  # iOS: 1604-05-17 with the year left out
        if "text" in kinds or (not full and not yearless and _PARTIAL_DATE.fullmatch(raw)):
            out["field.birthday_text"] = raw  # "circa 1800", a year alone: not a birthday
        elif full and omit and str(omit[0]).strip() == full.group(1):
            out["birthday"] = f"--{full.group(2)}-{full.group(3)}"
        elif full:
            out["birthday"] = f"{full.group(1)}-{full.group(2)}-{full.group(3)}"
        elif yearless:
            out["birthday"] = f"--{yearless.group(1)}-{yearless.group(2)}"
        else:
            out["birthday"] = raw  # the importer reads other forms or says what is wrong

    def ours_and_others(self, by_name: Mapping[str, list[_Prop]], out: Record) -> None:
        """Our X-CRMCLI properties, and the properties nothing here keeps (reported)."""
        handled = {"FN", "N", "EMAIL", "TEL", "ADR", "ORG", "TITLE", "ROLE", "UID", "BDAY",
                   "NOTE", "CATEGORIES", "NICKNAME", "URL", "ANNIVERSARY"}  # fmt: skip
        for name, props in by_name.items():
            if name == "X-CRMCLI-SOURCE":
                _put(out, "source", self.text(props[0]))
            elif name == "X-CRMCLI-CREATED":
                _put(out, "created_at", self.text(props[0]))
            elif name == "X-CRMCLI-FIELD":
                for prop in props:
                    key = str((prop.params.get("NAME") or [""])[0]).strip()
                    if key:
                        _put(out, f"field.{key}", self.text(prop))
            elif name not in handled and name not in _SILENT and not name.startswith("X-"):
                value = self.text(props[0]).strip()
                if value:
                    out[name] = value  # the importer lists it as ignored


def _split(value: str, separator: str) -> list[str]:
    """Split on ``separator`` where it is not backslash-escaped (escapes are kept)."""
    parts: list[str] = []
    current: list[str] = []
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch == "\\" and i + 1 < n:
            current.append(value[i : i + 2])
            i += 2
            continue
        if ch == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _put(out: Record, key: str, value: str) -> None:
    if value and value.strip():
        out[key] = value


# -- writing ------------------------------------------------------------------------------

# The kind in a custom field's name -> a vCard 3.0 TYPE (others are written with an Apple
# item label, which Apple, Google and we read back).
_PHONE_TYPES = {"mobile": "CELL", "work": "WORK,VOICE", "home": "HOME,VOICE", "fax": "FAX",
                "pager": "PAGER", "car": "CAR", "main": "MAIN", "other": "OTHER"}  # fmt: skip
_EMAIL_TYPES = {"work": "INTERNET,WORK", "home": "INTERNET,HOME", "other": "INTERNET,OTHER"}
_ADDRESS_TYPES = {"home": "HOME", "work": "WORK", "other": "OTHER"}
_EXTRA_FIELD = re.compile(r"(email|phone|address)_(?:(\d+)|([^\W\d]\w*?)(?:_(\d+))?)")
_WEBSITE_FIELD = re.compile(r"website(?:_(\d+))?")
_EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+")
_PHONE_LIKE = re.compile(r"\+?[0-9 ().\-/]{6,40}(?: ext\. [0-9]{1,7})?")
_NATURAL = re.compile(r"(\d+)")
# Custom fields that have a home in a vCard of their own.
_PLACED = ("region", "postal_code", "department", "nickname", "role")


def write_vcards(rows: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    """Customers (as ``customers.list_customers`` gives them) as vCard 3.0; how many."""
    count = 0
    for row in rows:
        out.write(vcard_text(row))
        count += 1
    return count


def vcard_text(row: Mapping[str, Any]) -> str:
    """One customer as a vCard 3.0 card: CRLF line ends, folded at 75 octets."""
    from crmcli import __version__

    fields: dict[str, str] = {str(k): str(v) for k, v in (row.get("fields") or {}).items()}
    placed = {key: fields.pop(key) for key in _PLACED if key in fields}
    sites = sorted((k for k in fields if _WEBSITE_FIELD.fullmatch(k)), key=_natural)
    extras = sorted((k for k in fields if _is_extra(k, fields[k])), key=_natural)
    name = str(row["name"])
    parts = name_parts(name, row.get("name_parts"))
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"PRODID:{PRODID_PREFIX}crmcli {__version__}//EN",
        f"UID:{_escape(str(row['uid']))}",
        f"FN:{_escape(name)}",
        "N:" + ";".join(_escape(p) for p in parts),
    ]
    if placed.get("nickname"):
        lines.append(f"NICKNAME:{_escape(placed['nickname'])}")
    if row.get("company") or placed.get("department"):
        org = _escape(row.get("company") or "")
        department = placed.get("department")
        lines.append(f"ORG:{org};{_escape(department)}" if department else f"ORG:{org}")
    for key, prop in (("title", "TITLE"), ("role", "ROLE")):
        value = row.get(key) if key == "title" else placed.get(key)
        if value:
            lines.append(f"{prop}:{_escape(value)}")
    if row.get("email"):
        lines.append(f"EMAIL;TYPE=INTERNET,PREF:{_escape(row['email'])}")
    if row.get("phone"):
        lines.append(f"TEL;TYPE=VOICE,PREF:{_escape(row['phone'])}")
    address = [row.get("address"), row.get("city"), placed.get("region"),
               placed.get("postal_code"), row.get("country")]  # fmt: skip
    if any(address):
        street, city, region, code, country = (_escape(v or "") for v in address)
        lines.append(f"ADR;TYPE=PREF:;;{street};{city};{region};{code};{country}")
    items = 0
    derived: set[str] = set()  # the names an import would give them, in this order
    for key in extras:
        match = _EXTRA_FIELD.fullmatch(key)
        assert match is not None
        what, kind, value = match.group(1), match.group(3), _escape(fields.pop(key))
        label = contact_kind([kind], "email" if what == "address" else what) if kind else None
        # Name the field when an import would name it otherwise (phone_3 with no phone_2).
        named = "" if extra_key(what, label, derived) == key else f";X-CRMCLI-KEY={key}"
        if what == "address":
            params = f";TYPE={_ADDRESS_TYPES[kind]}" if kind else ""
            lines.append(f"ADR{params}{named}:;;{value};;;;")
            continue
        known = _PHONE_TYPES if what == "phone" else _EMAIL_TYPES
        prop = "TEL" if what == "phone" else "EMAIL"
        internet = ";TYPE=INTERNET" if what == "email" else ""
        if kind is None:
            lines.append(f"{prop}{internet}{named}:{value}")
        elif kind in known:
            lines.append(f"{prop};TYPE={known[kind]}{named}:{value}")
        else:  # a label of its own ("zalo"): an Apple item label
            items += 1
            lines.append(f"item{items}.{prop}{internet}{named}:{value}")
            lines.append(f"item{items}.X-ABLabel:{_escape(kind)}")
    for key in sites:
        lines.append(f"URL:{_escape(fields.pop(key))}")
    birthday = row.get("birthday")
    if birthday:
        lines.append(f"BDAY:{birthday}")  # 1990-05-17, or --05-17 without the year
    if row.get("notes"):
        lines.append(f"NOTE:{_escape(row['notes'])}")
    if row.get("tags"):
        lines.append("CATEGORIES:" + ",".join(_escape(t) for t in row["tags"]))
    if row.get("source"):
        lines.append(f"X-CRMCLI-SOURCE:{_escape(row['source'])}")
    for key in sorted(fields):
        lines.append(f"X-CRMCLI-FIELD;NAME={key}:{_escape(fields[key])}")
    if row.get("created_at"):
        lines.append(f"X-CRMCLI-CREATED:{row['created_at']}")
    if row.get("updated_at"):
        lines.append(f"REV:{row['updated_at']}")
    lines.append("END:VCARD")
    return "".join(fold(line) + "\r\n" for line in lines)


# Vietnamese family names (folded: no case, no diacritics, đ as d).  A name whose first
# word is one of them is written family name first (Nguyễn Văn An: N:Nguyễn;Văn An).
_VIETNAMESE_FAMILY = frozenset({
    "nguyen", "tran", "le", "pham", "hoang", "huynh", "phan", "vu", "vo", "dang", "bui",
    "do", "ho", "ngo", "duong", "ly", "dinh", "truong", "trinh", "doan", "lam", "luong",
    "mai", "cao", "ha", "quach", "chau", "ta", "thai", "luu", "kieu", "phung", "nghiem",
    "tang", "khuc", "hua", "tieu", "ong", "dao", "to", "la", "ton", "giang", "lai",
    "khong", "diep", "trieu", "thach", "tong", "vuong", "quan", "mac", "nong", "lu",
})  # fmt: skip
_PART_KEYS = ("family", "given", "additional", "prefix", "suffix")


def name_parts(name: str, stored: Mapping[str, str] | None = None) -> list[str]:
    """The five parts of N (family, given, additional, prefix, suffix) for ``name``.

    The parts an import stored are written as they came, as long as the name still holds
    the words of the family, given and additional names (a name changed since then drops
    them).  Otherwise: a name that reads
    Vietnamese (family name first: its first word is a Vietnamese family name, and its
    last word is not one, or it has three words or more with Vietnamese letters) has its
    first word as the family name, the rest as given names (``Nguyễn Văn An`` ->
    ``Nguyễn;Văn An``); any other name has its last word as the family name (``Anna
    Schmidt`` -> ``Schmidt;Anna``); one word is the family name alone."""
    from crmcli.text import fold_key

    if stored:
        parts = [str(stored.get(k) or "") for k in _PART_KEYS]
        held = fold_key(name)  # substrings: names in scripts without spaces (王小明)
        if any(parts[:3]) and all(w in held for part in parts[:3] for w in fold_key(part).split()):
            return parts
    words = name.split()
    if len(words) < 2:
        return [name.strip(), "", "", "", ""]
    first, last = fold_key(words[0]), fold_key(words[-1])
    native = len(words) >= 3 and fold_key(name) != name.casefold()
    if first in _VIETNAMESE_FAMILY and (last not in _VIETNAMESE_FAMILY or native):
        return [words[0], " ".join(words[1:]), "", "", ""]
    return [words[-1], " ".join(words[:-1]), "", "", ""]


def _is_extra(key: str, value: str) -> bool:
    """Whether a custom field is another e-mail, phone or address (written as one)."""
    match = _EXTRA_FIELD.fullmatch(key)
    if match is None:
        return False
    what, kind = match.group(1), match.group(3)
    if what == "email":
        return bool(_EMAIL_LIKE.fullmatch(value))
    if what == "phone":
        return bool(_PHONE_LIKE.fullmatch(value))
    return kind is None or kind in _ADDRESS_TYPES


def _natural(key: str) -> list[Any]:
    """``phone_2`` before ``phone_10``; the order the importer numbers them in."""
    return [
        (0, int(p), "") if p.isascii() and p.isdigit() and len(p) < 19 else (1, 0, p)
        for p in _NATURAL.split(key)
    ]


def _escape(value: str) -> str:
    """vCard 3.0 TEXT escaping: backslash, comma, semicolon, line breaks."""
    text = value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line at :data:`FOLD_OCTETS` octets of UTF-8, never inside a
    character (continuation lines begin with a space)."""
    if len(line) * 4 <= FOLD_OCTETS or len(line.encode("utf-8")) <= FOLD_OCTETS:
        return line
    pieces: list[str] = []
    current: list[str] = []
    size, limit = 0, FOLD_OCTETS
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            pieces.append("".join(current))
            current, size, limit = [], 0, FOLD_OCTETS - 1
        current.append(ch)
        size += width
    pieces.append("".join(current))
    return "\r\n ".join(pieces)
