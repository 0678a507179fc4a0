"""E-mail messages as the standard library builds them: ``email.message.EmailMessage`` with
the SMTP policy (CRLF, 7-bit headers: a Vietnamese subject or name is RFC 2047 encoded, never
sent raw), Date, Message-ID on the sender's domain, plain text in UTF-8 and an HTML
alternative when the template has one; marketing messages carry ``List-Unsubscribe``.
"""

from __future__ import annotations

from typing import Any

_SPLIT: dict[str, tuple[str, str]] = {}


def split_address(text: str, *, field: str = "mail_from") -> tuple[str, str]:
    """:func:`parse_address`, once per process for each sender (one a run)."""
    parts = _SPLIT.get(text)
    if parts is None:
        if len(_SPLIT) > 16:
            _SPLIT.clear()
        parts = _SPLIT[text] = parse_address(text, field=field)
    return parts


def parse_address(text: str, *, field: str = "mail_from") -> tuple[str, str]:
    """``("Ánh Dương", "shop@example.com")`` from ``"Ánh Dương <shop@example.com>"``."""
    from email.utils import parseaddr

    from crmcli.errors import InvalidValue

    name, addr = parseaddr(text)
    if "@" not in addr:
        raise InvalidValue(field, text, 'an address, e.g. "Ánh Dương <shop@example.com>"')
    return name, addr


# Headers are stored already encoded (RFC 2047 words, folded under 78 columns), with
# ``set_raw``: the SMTP policy writes such a header as it is, where a header set the usual
# way is parsed when set and parsed and refolded again when the message is written (most of
# the cost of a message: 2 ms of 2.5 measured by bench/send.py before this).


_POLICY: Any = None


def _policy() -> Any:
    """``policy.SMTP``, except that a header set raw is read back as the text it is.

    Writing a message reads some headers back (Content-Type, to choose how to write the
    body; smtplib's ``send_message`` reads From, To and Resent-*), and the SMTP policy parses
    every such read into a structured header: measured by bench/send.py, that parsing was a
    third of the cost of a message.  Our raw headers are already encoded and folded, so the
    text is all a reader needs; headers set the usual way (``set_content``) are unchanged."""
    global _POLICY
    if _POLICY is None:
        from email.policy import EmailPolicy

        class RawHeaders(EmailPolicy):
            def header_fetch_parse(self, name: str, value: str) -> Any:
                if hasattr(value, "name"):
                    return value
                return "".join(value.splitlines())

        _POLICY = RawHeaders(linesep="\r\n")
    return _POLICY


def _encoded(name: str, value: str) -> str:
    from email.header import Header

    charset = "us-ascii" if value.isascii() else "utf-8"
    return str(Header(value, charset, header_name=name).encode(linesep="\r\n"))


def ascii_address(addr: str) -> str:
    """``an@ví-dụ.vn`` as ``an@xn--v-d-vla6826b.vn`` (IDNA): SMTP without SMTPUTF8 needs an
    ASCII domain.  A non-ASCII local part is left as it is (the server decides)."""
    if addr.isascii():
        return addr
    user, _, domain = addr.rpartition("@")
    try:
        return f"{user}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return addr


def _encoded_address(name: str | None, addr: str) -> str:
    from email.utils import formataddr

    return formataddr((name or "", ascii_address(addr)), charset="utf-8")


def build(
    *,
    sender: str,
    to_name: str | None,
    to_addr: str,
    subject: str,
    text: str,
    html: str | None = None,
    unsubscribe: str | None = None,
    date: Any = None,
    message_id: str | None = None,
) -> Any:
    """The message; ``unsubscribe`` (an address) adds ``List-Unsubscribe`` (a mailto only,
    so no ``List-Unsubscribe-Post``, which needs an https URL)."""
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    from crmcli.clock import now_local

    from_name, from_addr = split_address(sender)
    msg = EmailMessage(policy=_policy())
    msg.set_raw("From", _encoded_address(from_name, from_addr))
    msg.set_raw("To", _encoded_address(to_name, to_addr))
    msg.set_raw("Subject", _encoded("Subject", " ".join(subject.split())))  # one line
    msg.set_raw("Date", format_datetime(date or now_local()))
    msg.set_raw("Message-ID", message_id or make_msgid(domain=from_addr.rpartition("@")[2]))
    if unsubscribe:
        msg.set_raw("List-Unsubscribe", f"<mailto:{unsubscribe}?subject=unsubscribe>")
    if html is None:
        # What set_content(text, charset="utf-8", cte="quoted-printable") writes, without
        # parsing the headers it has just made (binascii encodes; a third of the cost).
        from binascii import b2a_qp

        msg.set_raw("Content-Type", 'text/plain; charset="utf-8"')
        msg.set_raw("Content-Transfer-Encoding", "quoted-printable")
        msg.set_raw("MIME-Version", "1.0")
        body = text if text.endswith("\n") else text + "\n"
        msg.set_payload(b2a_qp(body.encode("utf-8"), istext=True).decode("ascii"))
    else:
        msg.set_content(text, charset="utf-8", cte="quoted-printable")
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def as_bytes(msg: Any) -> bytes:
    """The message as it goes over the wire (and into an ``.eml`` file)."""
    return bytes(msg.as_bytes())
