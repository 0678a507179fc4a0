"""E-mail messages as the standard library builds them: ``email.message.EmailMessage`` with
the SMTP policy (CRLF, 7-bit headers: a Vietnamese subject or name is RFC 2047 encoded, never
sent raw), Date, Message-ID on the sender's domain, plain text in UTF-8 and an HTML
alternative when the template has one; marketing messages carry ``List-Unsubscribe``.
"""

from __future__ import annotations

from typing import Any


def split_address(text: str, *, field: str = "mail_from") -> tuple[str, str]:
    """``("Ánh Dương", "shop@example.com")`` from ``"Ánh Dương <shop@example.com>"``."""
    from email.utils import parseaddr

    from crmcli.errors import InvalidValue

    name, addr = parseaddr(text)
    if "@" not in addr:
        raise InvalidValue(field, text, 'an address, e.g. "Ánh Dương <shop@example.com>"')
    return name, addr


def _address(name: str | None, addr: str) -> Any:
    from email.headerregistry import Address

    user, _, domain = addr.rpartition("@")
    return Address(display_name=name or "", username=user, domain=domain)


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
) -> Any:
    """The message; ``unsubscribe`` (an address) adds ``List-Unsubscribe`` (a mailto only,
    so no ``List-Unsubscribe-Post``, which needs an https URL)."""
    from email import policy
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    from crmcli.clock import now_local

    from_name, from_addr = split_address(sender)
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = _address(from_name, from_addr)
    msg["To"] = _address(to_name, to_addr)
    msg["Subject"] = " ".join(subject.split())  # a header is one line
    msg["Date"] = format_datetime(date or now_local())
    msg["Message-ID"] = make_msgid(domain=from_addr.rpartition("@")[2])
    if unsubscribe:
        msg["List-Unsubscribe"] = f"<mailto:{unsubscribe}?subject=unsubscribe>"
    msg.set_content(text, charset="utf-8", cte="quoted-printable")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def as_bytes(msg: Any) -> bytes:
    """The message as it goes over the wire (and into an ``.eml`` file)."""
    return bytes(msg.as_bytes())
