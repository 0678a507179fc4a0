"""An IMAP folder as a mail source: ``imaps://USER@HOST[:PORT]/FOLDER`` (TLS from the start,
port 993) or ``imap://USER@HOST[:PORT]/FOLDER`` (port 143, STARTTLS required: a server that
does not offer it is refused rather than sent the password in clear).

Read-only on purpose: the folder is opened with EXAMINE and messages are fetched with
``BODY.PEEK[]``, so importing marks nothing as read and changes nothing on the server.  The
password comes from ``CRM_IMAP_PASSWORD`` or the file of the ``imap_password_file`` setting,
never from the URL (it would sit in the shell history and in crm's command log).

Messages are fetched in batches (at most :data:`BATCH` messages, about :data:`BATCH_BYTES`
bytes), one round trip each, and handed on one at a time: memory stays flat on a mailbox of
any size.  Any failure is one line (:class:`CrmError`), raised before or during the import's
transaction, so nothing is imported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

from crmcli.db import Database
from crmcli.errors import CrmError, UsageError

PASSWORD_ENV = "CRM_IMAP_PASSWORD"
PORTS = {"imaps": 993, "imap": 143}
BATCH = 100
BATCH_BYTES = 16 * 1024 * 1024
TIMEOUT_S = 60
FORM = "imaps://USER@HOST[:PORT]/FOLDER"
# imaplib refuses a response line longer than 1 MB; the UID list of a folder of 200,000
# messages is longer than that.
MAX_LINE = 64 * 1024 * 1024
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Url:
    """What an ``imap://`` or ``imaps://`` source names."""

    tls: bool  # TLS from the start (imaps); else STARTTLS
    user: str
    host: str
    port: int
    folder: str

    @property
    def where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def is_url(source: str) -> bool:
    """Whether ``source`` names an IMAP folder rather than a file or a Maildir."""
    return source[:8].lower().startswith(("imap://", "imaps://"))


def parse_url(text: str) -> Url:
    """The parts of ``imaps://USER@HOST[:PORT]/FOLDER``; USER and FOLDER may be
    percent-encoded (``me%40gmail.com``).  Split by hand, not by :mod:`urllib`: a folder may
    hold ``?`` or ``#``."""
    from unicodedata import normalize
    from urllib.parse import unquote

    scheme, _, rest = text.partition("://")
    if scheme.lower() not in PORTS:
        raise UsageError(f"{text}: not an IMAP address (the form: {FORM})")
    authority, _, folder = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    user = unquote(userinfo)
    if not at or not user:
        raise UsageError(f"{text}: no user in the IMAP address (the form: {FORM})")
    if ":" in userinfo:
        raise UsageError(
            f"{text}: no password in the address (it would stay in the shell's history): "
            f"set {PASSWORD_ENV}, or crm config set imap_password_file FILE"
        )
    if not user.isprintable():
        raise UsageError(f"{text}: a control character in the user name")
    host, port = _host_port(text, hostport, PORTS[scheme.lower()])
    name = normalize("NFC", unquote(folder).strip()) or "INBOX"
    return Url(scheme.lower() == "imaps", user, host, port, name)


def _host_port(text: str, hostport: str, default: int) -> tuple[str, int]:
    """HOST and PORT of ``HOST[:PORT]`` (``[::1]:993`` for an IPv6 address)."""
    if hostport.startswith("["):
        host, bracket, tail = hostport[1:].partition("]")
        colon, port = tail[:1], tail[1:]
        if not bracket or colon not in ("", ":"):
            host = ""
    else:
        host, colon, port = hostport.partition(":")
    if not host or any(c.isspace() or c in "/?#@[]" for c in host):
        raise UsageError(f"{text}: no server in the IMAP address (the form: {FORM})")
    if not colon:
        return host, default
    if not (port.isdecimal() and len(port) <= 5 and 0 < int(port) < 65536):
        raise UsageError(f"{text}: the port must be a number from 1 to 65535")
    return host, int(port)


# -- folder names: modified UTF-7 (RFC 3501, section 5.1.3) ---------------------------------


def encode_folder(name: str) -> str:
    """A folder's name as IMAP sends it: printable ASCII as itself (``&`` as ``&-``), any
    other run of characters as ``&`` + base64 of its UTF-16 (``,`` for ``/``, no padding)
    + ``-``.  ``Khách hàng`` is ``Kh&AOE-ch h&AOA-ng``."""
    import base64

    out: list[str] = []
    run: list[str] = []

    def shift() -> None:
        if run:
            data = base64.b64encode("".join(run).encode("utf-16-be")).decode("ascii")
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            run.clear()

    for ch in name:
        if " " <= ch <= "~":
            shift()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    shift()
    return "".join(out)


def decode_folder(name: str) -> str:
    """The readable name of a folder name as IMAP sends it (left as it is if malformed)."""
    import base64
    import binascii

    def one(match: re.Match[str]) -> str:
        data = match.group(1)
        if not data:
            return "&"
        try:
            raw = base64.b64decode(data.replace(",", "/") + "=" * (-len(data) % 4))
            return raw.decode("utf-16-be")
        except (binascii.Error, UnicodeDecodeError):
            return match.group(0)

    return re.sub(r"&([A-Za-z0-9+,]*)-", one, name)


# -- the password --------------------------------------------------------------------------


def password(db: Database, user: str) -> str:
    """``CRM_IMAP_PASSWORD``, else the file of ``imap_password_file``
    (:func:`crmcli.core.settings.secret`)."""
    from crmcli.core.settings import secret

    value = secret(db, PASSWORD_ENV, "imap_password_file")
    if value is None:
        raise UsageError(
            f"no IMAP password for {user}: set {PASSWORD_ENV}, or crm config set "
            "imap_password_file FILE (mode 0600)"
        )
    return value


# -- reading -------------------------------------------------------------------------------


def messages(source: str, db: Database, since: str | None) -> Iterator[tuple[str, bytes]]:
    """(``UID n``, raw bytes) of every message of the folder, oldest UID first; with
    ``since`` (UTC ISO), only those sent from about then on (the caller filters exactly)."""
    url = parse_url(source)
    secret = password(db, url.user)
    conn = _connect(url)
    try:
        _login(conn, url, secret)
        _examine(conn, url)
        uids = _search(conn, url, since)
        for start in range(0, len(uids), BATCH):
            chunk = uids[start : start + BATCH]
            for group in _groups(chunk, _sizes(conn, url, chunk)):
                yield from _fetch(conn, url, group)
    finally:
        _close(conn)


def _connect(url: Url) -> Any:
    import imaplib
    import ssl

    imaplib._MAXLINE = max(imaplib._MAXLINE, MAX_LINE)  # type: ignore[attr-defined]
    context = ssl.create_default_context()  # honours SSL_CERT_FILE
    try:
        if url.tls:
            return imaplib.IMAP4_SSL(url.host, url.port, ssl_context=context, timeout=TIMEOUT_S)
        conn = imaplib.IMAP4(url.host, url.port, timeout=TIMEOUT_S)
        if "STARTTLS" not in conn.capabilities:
            _close(conn)
            raise CrmError(
                f"the IMAP server {url.where} does not offer STARTTLS, so the password would "
                "cross the network in clear: use imaps:// (port 993); nothing was imported"
            )
        conn.starttls(ssl_context=context)
        return conn
    except ssl.SSLError as exc:
        raise CrmError(f"TLS with the IMAP server {url.where} failed: {_tls_reason(exc)}") from None
    except (OSError, imaplib.IMAP4.error) as exc:
        raise CrmError(f"cannot reach the IMAP server {url.where}: {_said(exc)}") from None


def _login(conn: Any, url: Url, secret: str) -> None:
    """LOGIN, or AUTHENTICATE PLAIN when the user or password is not printable ASCII
    (LOGIN's quoted strings are ASCII without line breaks; PLAIN's are UTF-8, in base64)."""
    import imaplib

    try:
        if _printable(url.user + secret):
            conn.login(_quoted(url.user), secret)
        else:
            conn.authenticate("PLAIN", lambda _: f"\0{url.user}\0{secret}".encode())
    except imaplib.IMAP4.abort as exc:
        raise CrmError(f"cannot reach the IMAP server {url.where}: {_said(exc)}") from None
    except imaplib.IMAP4.error as exc:
        raise CrmError(
            f"the IMAP server {url.where} refused the login of {url.user}: {_said(exc)}; "
            "nothing was imported"
        ) from None
    except OSError as exc:
        raise CrmError(f"cannot reach the IMAP server {url.where}: {_said(exc)}") from None


def _examine(conn: Any, url: Url) -> None:
    """The folder opened read-only; one missing is named with the folders there are."""
    typ, data = _run(conn, url, lambda: conn.select(_quoted(encode_folder(url.folder)), True))
    if typ == "OK":
        return
    reason = _said(data[-1] if data else typ)
    names = _folders(conn)
    shown = ", ".join(names[:10]) + (" …" if len(names) > 10 else "")
    there = f"; its folders: {shown}" if names else ""
    raise CrmError(
        f"cannot open the folder {url.folder!r} on the IMAP server {url.where}: {reason}"
        f"{there}; nothing was imported"
    )


def _folders(conn: Any) -> list[str]:
    """The names of the folders that can be opened, readable (none if LIST fails)."""
    line = re.compile(rb'^\(([^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (.+)$', re.IGNORECASE)
    try:
        typ, data = conn.list()
    except Exception:  # noqa: BLE001 - only a hint for the error being reported
        return []
    names = []
    for item in data if typ == "OK" else ():
        head, literal = item if isinstance(item, tuple) else (item or b"", None)
        found = line.match(head)
        if found is None or b"\\noselect" in found.group(1).lower():
            continue
        text = (literal or found.group(2)).decode("utf-8", "replace")
        if literal is None and text.startswith('"') and text.endswith('"'):
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        names.append(decode_folder(text))
    return names


def _search(conn: Any, url: Url, since: str | None) -> list[int]:
    """The folder's UIDs, ascending.  ``since``: SENTSINCE, which compares the Date header
    as the import does, a day early because it ignores the header's time zone."""
    criteria = ("SENTSINCE", _imap_date(since)) if since else ("ALL",)
    typ, data = _run(conn, url, lambda: conn.uid("SEARCH", *criteria))
    if typ != "OK":
        _failed(url, _said(data[-1] if data else typ))
    return sorted({int(n) for line in data if line for n in line.split()})


def _imap_date(since: str) -> str:
    """``2026-11-01T…Z`` as IMAP's day before it, ``31-Oct-2026`` (English month names
    whatever the locale)."""
    from datetime import date, timedelta

    day = date.fromisoformat(since[:10]) - timedelta(days=1)
    return f"{day.day:02d}-{MONTHS[day.month - 1]}-{day.year}"


def _sizes(conn: Any, url: Url, uids: list[int]) -> dict[int, int]:
    typ, data = _run(conn, url, lambda: conn.uid("FETCH", _set(uids), "(RFC822.SIZE)"))
    if typ != "OK":
        _failed(url, _said(data[-1] if data else typ))
    sizes = {}
    for item in data:
        text = item[0] if isinstance(item, tuple) else item
        uid = re.search(rb"\bUID (\d+)", text or b"")
        size = re.search(rb"\bRFC822\.SIZE (\d+)", text or b"")
        if uid and size:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _groups(uids: list[int], sizes: dict[int, int]) -> Iterator[list[int]]:
    """``uids`` in runs of about :data:`BATCH_BYTES` (a larger message alone)."""
    group: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if group and total + size > BATCH_BYTES:
            yield group
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group


def _fetch(conn: Any, url: Url, uids: list[int]) -> Iterator[tuple[str, bytes]]:
    """The messages of ``uids``, unread flags untouched (``BODY.PEEK``), in UID order (one
    expunged meanwhile is left out)."""
    typ, data = _run(conn, url, lambda: conn.uid("FETCH", _set(uids), "(BODY.PEEK[])"))
    if typ != "OK":
        _failed(url, _said(data[-1] if data else typ))
    found: dict[int, bytes] = {}
    for i, item in enumerate(data):
        if not isinstance(item, tuple):
            continue
        match = re.search(rb"\bUID (\d+)", item[0])
        after = data[i + 1] if i + 1 < len(data) else b""
        if match is None and isinstance(after, bytes):  # some servers send UID after the body
            match = re.search(rb"\bUID (\d+)", after)
        if match is not None:
            found[int(match.group(1))] = item[1]
    del data  # each message is then held once, by ``found``, until it is handed on
    for uid in uids:
        raw = found.pop(uid, None)
        if raw is not None:
            yield f"UID {uid}", raw


def _run(conn: Any, url: Url, command: Callable[[], Any]) -> Any:
    """An IMAP command after the login; a dropped connection or a refusal is one line."""
    import imaplib

    try:
        return command()
    except (OSError, imaplib.IMAP4.error) as exc:
        _failed(url, _said(exc))


def _failed(url: Url, reason: str) -> NoReturn:
    raise CrmError(
        f"reading {url.folder!r} on the IMAP server {url.where} failed: {reason}; "
        "nothing was imported"
    )


def _close(conn: Any) -> None:
    try:
        conn.logout()
    except Exception:  # noqa: BLE001 - done either way
        try:
            conn.shutdown()
        except Exception:  # noqa: BLE001
            pass


def _printable(text: str) -> bool:
    return all(" " <= c <= "~" for c in text)


def _set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _quoted(text: str) -> str:
    """An IMAP quoted string (imaplib sends a mailbox or user name as it is given)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_TIMING = re.compile(r"\s*\(\d+\.\d+( \+ \d+\.\d+)* secs?\)\.?$")


def _said(what: Any) -> str:
    """A server's or a socket's reason as one line of text (imaplib's errors hold bytes;
    Dovecot's replies end with their timing, left out)."""
    if isinstance(what, BaseException):
        what = getattr(what, "strerror", None) or (what.args[0] if what.args else "") or what
    if isinstance(what, bytes):
        what = what.decode("utf-8", "replace")
    text = _TIMING.sub("", " ".join(str(what).split())).rstrip(".")
    return text or "no reason given"


def _tls_reason(exc: Exception) -> str:
    """``certificate verify failed: self-signed certificate``, not OpenSSL's whole text."""
    text = re.sub(r"^\[SSL(: \w+)?\]\s*", "", " ".join(str(exc).split()))
    return re.sub(r"\s*\(_ssl\.c:\d+\)$", "", text) or "no reason given"
