"""Consent per customer and channel (GDPR): ``yes``, ``no`` or ``unknown`` (no row).

Marketing goes only to ``yes``; a transactional message (a payment reminder, a quote) goes to
anyone with an address unless they said ``no``.  Every change is audited, so ``crm history``
keeps when and how consent was given or withdrawn.
"""

from __future__ import annotations

from crmcli.db import Database
from crmcli.errors import InvalidValue

CHANNELS = ("email", "sms")
STATUSES = ("yes", "no", "unknown")
KINDS = ("marketing", "transactional")


def check_channel(channel: str, *, field: str = "channel") -> str:
    value = channel.strip().lower()
    if value not in CHANNELS:
        raise InvalidValue(field, channel, f"one of {', '.join(CHANNELS)}")
    return value


def status_of(db: Database, customer_id: int, channel: str) -> str:
    """``yes``, ``no`` or ``unknown``."""
    row = db.conn.execute(
        "SELECT status FROM consents WHERE customer_id = ? AND channel = ?",
        (customer_id, channel),
    ).fetchone()
    return str(row[0]) if row else "unknown"


def may_send(status: str, kind: str) -> str | None:
    """Why a message of ``kind`` may not go to someone whose consent is ``status``, or
    ``None`` when it may: the one rule every sending path applies."""
    if kind == "marketing":
        if status == "yes":
            return None
        return "opted out" if status == "no" else "no consent"
    return "opted out" if status == "no" else None


def set_status(
    db: Database, customer_id: int, channel: str, status: str, *, source: str | None, at: str
) -> bool:
    """Record ``status`` (``unknown`` removes the record) given or withdrawn at ``at`` (UTC
    ISO) by ``source`` (how: "signed form", "unsubscribe link").  False when nothing
    changed.  Call inside ``db.write()``."""
    if status not in STATUSES:
        raise InvalidValue("consent", status, f"one of {', '.join(STATUSES)}")
    current = db.conn.execute(
        "SELECT status, source FROM consents WHERE customer_id = ? AND channel = ?",
        (customer_id, channel),
    ).fetchone()
    if status == "unknown":
        if current is None:
            return False
        db.execute(
            "DELETE FROM consents WHERE customer_id = ? AND channel = ?", (customer_id, channel)
        )
        return True
    if current is not None and tuple(current) == (status, source):
        return False
    db.execute(
        "INSERT INTO consents (customer_id, channel, status, source, at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (customer_id, channel) DO UPDATE SET "
        "status = excluded.status, source = excluded.source, at = excluded.at",
        (customer_id, channel, status, source, at, at),
    )
    return True


SOURCE_MAX = 200


def parse_spec(spec: str) -> tuple[str, str]:
    """``email=yes`` -> ``("email", "yes")``; anything else is one clear error."""
    channel, sep, status = spec.partition("=")
    if not sep:
        raise InvalidValue("--consent", spec, "give CHANNEL=STATUS, e.g. email=yes")
    value = status.strip().lower()
    if value not in STATUSES:
        raise InvalidValue("--consent", spec, f"the status is one of {', '.join(STATUSES)}")
    if channel.strip().lower() not in CHANNELS:
        raise InvalidValue("--consent", spec, f"the channel is one of {', '.join(CHANNELS)}")
    return channel.strip().lower(), value


def check_source(text: str | None, *, field: str = "--consent-source") -> str | None:
    """How consent was given or withdrawn: one line, at most :data:`SOURCE_MAX` characters."""
    if text is None:
        return None
    from crmcli.text import clean

    return clean(text, field=field, limit=SOURCE_MAX, multiline=False)


def of_customer(db: Database, customer_id: int) -> dict[str, dict[str, str | None]]:
    """Every channel's consent: ``{"email": {"status", "at", "source"}, "sms": …}``;
    ``unknown`` (with no time and no source) when nothing was recorded."""
    found = {
        row["channel"]: {"status": row["status"], "at": row["at"], "source": row["source"]}
        for row in db.query(
            "SELECT channel, status, at, source FROM consents WHERE customer_id = ?",
            (customer_id,),
        )
    }
    return {
        channel: found.get(channel, {"status": "unknown", "at": None, "source": None})
        for channel in CHANNELS
    }


def customers_by_email(db: Database, email: str) -> list[dict[str, object]]:
    """Customers with this e-mail address, case ignored (an indexed lookup), oldest first."""
    return list(
        db.query(
            "SELECT id, name, email FROM customers WHERE email = ? COLLATE NOCASE ORDER BY id",
            (email.strip(),),
        )
    )
