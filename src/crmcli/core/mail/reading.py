"""Reading mail as real mailboxes hold it: an mbox file (Gmail's Takeout, Thunderbird) or a
Maildir folder, one message at a time, each turned into what crm keeps of it (:class:`Mail`).

Parsing is the standard library's :mod:`email`, with its ``compat32`` policy: headers are
kept as the raw text they are and decoded here when read (RFC 2047 words with
:func:`email.header.decode_header`, addresses with :func:`email.utils.getaddresses`), bodies
from quoted-printable and base64 by the message. The ``default`` policy parses every header
it is asked for into an object: measured by bench/mail.py, two thirds of the time of an
import. What real mail needs beyond that is here: a body's charset that is wrong, missing
(UTF-8 sent without a declaration) or unknown to Python is decoded by trying UTF-8, then the
declared charset, then windows-1252, never failing; an HTML-only message is turned into
text; quoted replies and signatures are trimmed (:func:`trim`). A message that cannot be
read at all raises :class:`Broken` with its position, so an import reports it and goes on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from crmcli.errors import UsageError

# Senders that are machines, not people (``--new-leads`` makes no lead of them).
_NO_REPLY = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]daemon|postmaster|bounces?|"
    r"notifications?|notify|alerts?)([-+_.].*)?$",
    re.IGNORECASE,
)


class Broken(Exception):
    """A message that cannot be read; ``position`` says where it is in its mailbox."""

    def __init__(self, position: str, reason: str) -> None:
        super().__init__(f"{position}: {reason}")
        self.position, self.reason = position, reason


@dataclass
class Mail:
    """What crm keeps of one message."""

    key: str  # the Message-ID without its brackets, or "sha256:…" of the headers
    position: str  # "message 12" in an mbox, the file name in a Maildir
    at: str  # the Date header, in UTC: 2026-11-23T09:00:00Z
    sender: str  # the From address, lower case ('' when there is none)
    sender_name: str
    recipients: list[str]  # the To and Cc addresses, lower case
    subject: str
    text: str  # the body as plain text, trimmed
    attachments: list[tuple[str, int]] = field(default_factory=list)  # (name, bytes)
    bulk: bool = False  # a mailing list, a newsletter, an automatic reply
    trimmed: bool = False  # quoted text or a signature was cut
    references: list[str] = field(default_factory=list)  # In-Reply-To and References ids

    def addresses(self) -> list[str]:
        """Every address of the message, the sender first, each once."""
        seen: list[str] = []
        for addr in (self.sender, *self.recipients):
            if addr and addr not in seen:
                seen.append(addr)
        return seen


# -- sources ------------------------------------------------------------------------------


def messages(source: str) -> Iterator[tuple[str, bytes]]:
    """(position, raw bytes) of every message in ``source``: a Maildir folder (``cur``,
    ``new``, ``tmp`` inside) or an mbox file.  Streamed: one message in memory at a time."""
    path = Path(source).expanduser()
    if path.is_dir():
        if not all((path / sub).is_dir() for sub in ("cur", "new")):
            raise UsageError(f"{source}: a folder, but not a Maildir (no cur/ and new/ inside)")
        yield from _maildir(path)
        return
    if not path.is_file():
        raise UsageError(f"{source}: no such file or folder")
    with path.open("rb") as fh:
        head = fh.read(5)
    if head and head != b"From ":
        raise UsageError(f"{source}: not an mbox file (it does not start with 'From ')")
    yield from _mbox(path)


def _maildir(path: Path) -> Iterator[tuple[str, bytes]]:
    # Maildir's own order is none: by file name (which starts with the delivery time).
    names = sorted(
        (p for sub in ("cur", "new") for p in (path / sub).iterdir() if p.is_file()),
        key=lambda p: p.name,
    )
    for p in names:
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise Broken(p.name, exc.strerror or str(exc)) from None
        yield p.name, data


def _mbox(path: Path) -> Iterator[tuple[str, bytes]]:
    """Messages split on their ``From `` lines as they are read (mboxrd and mboxo alike:
    the ``>From`` quoting of body lines is undone), without a table of contents in memory."""
    n = 0
    lines: list[bytes] = []
    with path.open("rb") as fh:
        for line in fh:
            if line.startswith(b"From ") and (lines or n == 0):
                if lines:
                    n += 1
                    yield f"message {n}", _unquote(lines)
                lines = []
                continue
            lines.append(line)
        if lines:
            n += 1
            yield f"message {n}", _unquote(lines)


_QUOTED_FROM = re.compile(rb"^>+From ")


def _unquote(lines: list[bytes]) -> bytes:
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines = lines[:-1]  # the blank line mbox puts before the next From line
    return b"".join(line[1:] if _QUOTED_FROM.match(line) else line for line in lines)


# -- one message --------------------------------------------------------------------------


_POLICY: Any = None


def _policy() -> Any:
    """``compat32``, reading a header back as its raw text (8-bit bytes as surrogates) rather
    than as a Header object: :func:`header_text` decodes it."""
    global _POLICY
    if _POLICY is None:
        from email.policy import Compat32

        class Raw(Compat32):
            def header_fetch_parse(self, name: str, value: str) -> str:
                return value

        _POLICY = Raw()
    return _POLICY


def parse(raw: bytes, position: str) -> Mail:
    """The message's :class:`Mail`; :class:`Broken` when it has no usable Date or no
    addresses at all."""
    from email.parser import BytesParser

    try:
        msg = BytesParser(policy=_policy()).parsebytes(raw)
        head = _Headers(msg)
        sender_name, sender = _first_address(head, "from")
        recipients = [a for _, a in _addresses(head, "to") + _addresses(head, "cc")]
        at = _date(head)
        subject = " ".join(header_text(_header(head, "subject")).split())
        text, attachments, html = _single(msg, head) or _body(msg)
    except Broken:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed message must not stop the import
        raise Broken(position, f"cannot read it ({type(exc).__name__}: {exc})") from None
    if at is None:
        raise Broken(position, "no readable Date header")
    if not sender and not recipients:
        raise Broken(position, "no From, To or Cc address")
    text, trimmed = trim(text)
    return Mail(
        key=_key(head, raw),
        position=position,
        at=at,
        sender=sender,
        sender_name=sender_name,
        recipients=recipients,
        subject=subject,
        text=text,
        attachments=attachments,
        bulk=_bulk(head, sender),
        trimmed=trimmed or html,
        references=_references(head),
    )


class _Headers:
    """A message's headers by lower-case name, read once: ``Message.get`` walks every
    header for each name asked (a fifth of the time of reading a message)."""

    __slots__ = ("named",)

    def __init__(self, msg: Any) -> None:
        self.named: dict[str, list[str]] = {}
        for name, value in msg.items():
            self.named.setdefault(name.lower(), []).append(value)

    def get(self, name: str) -> str | None:
        values = self.named.get(name)
        return values[0] if values else None

    def get_all(self, name: str) -> list[str] | None:
        return self.named.get(name)


def _header(msg: Any, name: str) -> str:
    value = msg.get(name)
    return "" if value is None else str(value)


def header_text(value: str) -> str:
    """A raw header's text: 8-bit bytes (UTF-8 sent raw, as much mail does) decoded like a
    body, RFC 2047 words decoded; what cannot be decoded is left as it is."""
    if value.isascii() and "=?" not in value:
        return value  # most headers: nothing to decode
    from email.errors import HeaderParseError
    from email.header import decode_header, make_header

    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = decode_bytes(value.encode("ascii", "surrogateescape"), None)
    if "=?" in value:
        try:
            value = str(make_header(decode_header(value)))
        except (HeaderParseError, LookupError, UnicodeError, ValueError):
            pass
    return value


# The common forms of an address list, read without the general parser: "a@b.c",
# "Name <a@b.c>", "=?utf-8?…?= <a@b.c>", separated by commas, no quotes or comments.
_ADDR = r"[^\s<>\",;:()@]+@[^\s<>\",;:()@]+"
_SIMPLE_ADDRESS = re.compile(
    rf"\s*(?:([^\s<>\",;:()@][^<>\",;:()@]*?)\s*<({_ADDR})>|<({_ADDR})>|({_ADDR}))\s*"
)


def _address_pairs(values: list[str]) -> list[tuple[str, str]]:
    from email.utils import getaddresses

    pairs = []
    for value in values:
        simple = []
        for part in value.split(","):
            match = _SIMPLE_ADDRESS.fullmatch(part)
            if match is None:
                break
            name, named, bracketed, bare = match.groups()
            simple.append((name or "", named or bracketed or bare))
        else:
            pairs += simple
            continue
        pairs += getaddresses([value])
    return pairs


def _addresses(msg: Any, name: str) -> list[tuple[str, str]]:
    out = []
    for display, addr in _address_pairs([str(h) for h in msg.get_all(name) or ()]):
        addr = header_text(addr).strip().strip("<>").lower()
        if "@" in addr:
            out.append((" ".join(header_text(display).split()), addr))
    return out


def _first_address(msg: Any, name: str) -> tuple[str, str]:
    found = _addresses(msg, name)
    return found[0] if found else ("", "")


def _date(msg: Any) -> str | None:
    from email.utils import parsedate_to_datetime

    raw = msg.get("date")
    if raw is None:
        return None
    try:
        when = parsedate_to_datetime(" ".join(str(raw).split()))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": the time is UTC, the zone unknown
        when = when.replace(tzinfo=UTC)
    if not 1970 <= when.year <= 9999:
        return None
    return when.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def _key(msg: Any, raw: bytes) -> str:
    """The Message-ID; without one, a hash of the headers that identify the message."""
    mid = " ".join(header_text(_header(msg, "message-id")).split()).strip("<>").strip()
    if mid and len(mid) <= 900:
        return mid
    parts = [_header(msg, h) for h in ("date", "from", "to", "cc", "subject")]
    if not any(parts):
        parts.append(raw[:4096].decode("latin-1"))
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogateescape")).hexdigest()
    return "sha256:" + digest


def _references(msg: Any) -> list[str]:
    ids: list[str] = []
    for name in ("in-reply-to", "references"):
        for word in header_text(_header(msg, name)).split():
            word = word.strip().strip("<>")
            if word and word not in ids:
                ids.append(word)
    return ids


def _bulk(msg: Any, sender: str) -> bool:
    """Mailing lists, newsletters and automatic mail: no personal message."""
    if msg.get("list-id") is not None or msg.get("list-unsubscribe") is not None:
        return True
    if _header(msg, "precedence").strip().lower() in ("bulk", "list", "junk"):
        return True
    auto = _header(msg, "auto-submitted").strip().lower()
    if auto and auto != "no":
        return True
    if msg.get("x-autoreply") is not None or msg.get("x-autorespond") is not None:
        return True
    return bool(_NO_REPLY.match(sender.partition("@")[0]))


# -- the body -----------------------------------------------------------------------------


_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)


def _single(msg: Any, head: _Headers) -> tuple[str, list[tuple[str, int]], bool] | None:
    """The body of a message of one text part (most mail) read from its headers alone;
    None for anything else (parts, attachments, names), which :func:`_body` reads."""
    ctype = head.get("content-type") or "text/plain"
    disposition = head.get("content-disposition") or ""
    if "name" in ctype.lower() or "name" in disposition.lower() or msg.is_multipart():
        return None
    kind = ctype.split(";", 1)[0].strip().lower()
    if kind not in ("text/plain", "text/html") or disposition.strip().lower().startswith(
        "attachment"
    ):
        return None
    data = msg.get_payload(decode=True)
    match = _CHARSET.search(ctype)
    content = decode_bytes(data or b"", match.group(1).lower() if match else None)
    if kind == "text/html":
        return html_to_text(content), [], True
    return content, [], False


def _body(msg: Any) -> tuple[str, list[tuple[str, int]], bool]:
    """(text, attachments, from HTML): the text/plain part, else the HTML part as text."""
    plain = html = None
    attachments: list[tuple[str, int]] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = (part.get_content_disposition() or "").lower()
        name = part.get_filename()
        kind = part.get_content_type()
        if (
            disposition == "attachment"
            or (name and disposition != "inline")
            or (name and not kind.startswith("text/"))
        ):
            payload = part.get_payload(decode=True) or b""
            label = header_text(str(name)) if name else "unnamed"
            attachments.append((" ".join(label.split()), len(payload)))
            continue
        if kind == "text/plain" and plain is None:
            plain = decode_part(part)
        elif kind == "text/html" and html is None:
            html = decode_part(part)
    if plain is not None and plain.strip():
        return plain, attachments, False
    if html is not None:
        return html_to_text(html), attachments, True
    return plain or "", attachments, False


def decode_part(part: Any) -> str:
    """A text part's payload as text, whatever its charset says (see the module's doc)."""
    data = part.get_payload(decode=True)
    if data is None:
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    return decode_bytes(data, part.get_content_charset())


def decode_bytes(data: bytes, charset: str | None) -> str:
    try:
        return data.decode("utf-8")  # what most mail is, declared or not
    except UnicodeDecodeError:
        pass
    if charset:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return data.decode("windows-1252", errors="replace")


def html_to_text(html: str) -> str:
    """The text of an HTML body: tags dropped, blocks as lines, entities decoded, script
    and style left out."""
    from html.parser import HTMLParser

    class Text(HTMLParser):
        BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                            "blockquote", "pre", "table", "ul", "ol", "hr"})  # fmt: skip

        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.out: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag in ("script", "style", "head", "title"):
                self.skip += 1
            elif tag in self.BLOCKS:
                self.out.append("\n")

        def handle_endtag(self, tag: str) -> None:
            if tag in ("script", "style", "head", "title"):
                self.skip = max(0, self.skip - 1)
            elif tag in self.BLOCKS:
                self.out.append("\n")

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.out.append(data)

    parser = Text()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.out).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# A reply's attribution line: "On Mon, 1 Dec 2026, An <an@…> wrote:", "Vào … đã viết:",
# "Am … schrieb …:", "Le … a écrit :".
_ATTRIBUTION = re.compile(r"(wrote|đã viết|schrieb|a écrit|escribió)\s*:\s*$", re.IGNORECASE)
_ORIGINAL = re.compile(r"^-{2,}\s*(original message|forwarded message|thư gốc)", re.IGNORECASE)


def trim(text: str) -> tuple[str, bool]:
    """The new part of a message: quoted lines (``>``) and the attribution line before
    them, an Outlook-style original message and the signature (after ``-- ``) cut.  Returns
    (text, whether anything was cut).  A message that is all quote is kept whole."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    cut = quoting = False
    for line in lines:
        stripped = line.rstrip()
        if stripped[:1] == "-" and (stripped == "--" or _ORIGINAL.match(stripped)):
            cut = True
            break
        if line == "-- ":
            cut = True
            break
        if stripped.startswith(">"):
            if not quoting:  # the first line of a quote: the attribution goes with it
                _drop_attribution(kept)
            cut = quoting = True
            continue
        quoting = False
        kept.append(stripped)
    _drop_attribution(kept)
    result = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    if not result:
        whole = "\n".join(line.rstrip() for line in lines)
        return re.sub(r"\n{3,}", "\n\n", whole).strip(), False
    return result, cut


_OPENING = ("on ", "vào ", "am ", "le ", "el ")


def _drop_attribution(kept: list[str]) -> None:
    """Take blank lines and a reply's attribution line (one line, or two when the address
    wrapped) off the end of ``kept``."""
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and kept[-1].endswith(":") and _ATTRIBUTION.search(kept[-1]):
        last = kept.pop()
        if kept and not last.lower().startswith(_OPENING) and kept[-1].lower().startswith(_OPENING):
            kept.pop()
