"""Reminders: a text and a time, once or on a rule, linked to a customer, lead, deal or ticket.

``due_at`` is the next time (UTC); ``anchor_at`` the first time, from which a recurring
reminder's ``rule`` (an RFC 5545 RRULE value, :mod:`crmcli.core.recurrence`) is expanded in
local wall time.  ``done`` on a recurring reminder moves ``due_at`` to the rule's next time
after both the current due time and now (so neither an overdue daily reminder nor a monthly
one done a day early leaves repeats behind); when the rule is used up it is done.
``snooze`` moves ``due_at`` only: the rule keeps its anchor.

Listing reads no recurrence code beyond :func:`recurrence.describe` (plain string work).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from crmcli.core import recurrence
from crmcli.db import Database
from crmcli.errors import CrmError, InvalidValue, NotFound, UsageError
from crmcli.text import clean

TEXT_MAX = 2000
FOLLOW_UP_MAX = 80  # characters of the logged text in a follow-up's default text
DEFAULT_TIME = time(9, 0)  # a date without a time of day means 09:00 local
WINDOWS = ("overdue", "today", "week")
LINKS = ("customer", "lead", "deal", "ticket")
_TABLES = {"customer": "customers", "lead": "leads", "deal": "deals", "ticket": "tickets"}

# Every column of a listed reminder, in output order (stable JSON field names).
COLUMNS = (
    "id", "uid", "due_at", "text", "for", "every", "overdue", "done_at", "rule", "anchor_at",
    "customer_id", "lead_id", "deal_id", "ticket_id", "interaction_id", "created_at",
    "updated_at",
)  # fmt: skip
# A customer's pending reminders (`crm customer show`).
CUSTOMER_COLUMNS = ("id", "due_at", "text", "every")

_SELECT = """
SELECT r.id, r.uid, r.due_at, r.text, r.rule, r.anchor_at, r.customer_id, r.lead_id,
       r.deal_id, r.ticket_id, r.interaction_id, r.done_at, r.created_at, r.updated_at,
       r.done_at IS NULL AND r.due_at < ? AS overdue,
       c.name AS customer_name, l.name AS lead_name, d.title AS deal_title,
       t.subject AS ticket_subject
FROM reminders r
LEFT JOIN customers c ON c.id = r.customer_id
LEFT JOIN leads l ON l.id = r.lead_id
LEFT JOIN deals d ON d.id = r.deal_id
LEFT JOIN tickets t ON t.id = r.ticket_id
"""


def _utc(moment: datetime) -> str:
    from crmcli.clock import to_utc_iso

    return to_utc_iso(moment)


def _now() -> datetime:
    from crmcli.clock import now_local

    return now_local()


def _local(text: str) -> datetime:
    from crmcli.dates import from_utc_iso

    return from_utc_iso(text).astimezone()


# -- values -------------------------------------------------------------------------------


def check_text(raw: str, *, field: str = "text") -> str:
    text = clean(raw, field=field, limit=TEXT_MAX, required=True)
    assert text is not None
    return text


def parse_at(text: str, *, order: str, field: str = "--at") -> datetime:
    """When a reminder is due: a date-time phrase read with the configured date ``order``;
    a date without a time is 09:00 local.  Aware, local, whole seconds."""
    from crmcli.dates import parse_datetime

    moment = parse_datetime(text, order=order, default_time=DEFAULT_TIME, field=field)
    return moment.replace(microsecond=0)


def parse_snooze(text: str, *, order: str, field: str = "WHEN") -> datetime:
    """A new due time: a bare length of time from now (``2h``, ``3d``, ``1 week``) or a
    date-time phrase (``tomorrow 9am``, ``in 2 hours``); it must be in the future."""
    from crmcli.dates import add_duration, parse_duration

    now = _now()
    try:
        moment = add_duration(now, *parse_duration(text, field=field))
    except InvalidValue:
        moment = parse_at(text, order=order, field=field)
    moment = moment.replace(microsecond=0)
    if moment <= now:
        raise InvalidValue(field, text, "is not in the future; snooze to a later time")
    return moment


def check_link(**given: int | None) -> tuple[str, int] | None:
    """The one record a reminder is for (``customer=42``), or None; several are refused."""
    chosen = [(kind, ident) for kind, ident in given.items() if ident is not None]
    if len(chosen) > 1:
        options = ", ".join(f"--{kind}" for kind, _ in chosen)
        raise UsageError(f"a reminder is for one record: give one of {options}, not several")
    if chosen and chosen[0][0] not in LINKS:  # pragma: no cover - the CLI names them
        raise ValueError(f"not a link: {chosen[0][0]}")
    return chosen[0] if chosen else None


def follow_up_text(body: str, text: str | None = None) -> str:
    """A follow-up reminder's text: ``text`` when given, else ``Follow up: `` and the
    first line of the logged ``body`` (cut to :data:`FOLLOW_UP_MAX` characters)."""
    if text is not None:
        return check_text(text, field="--next-text")
    lines = [line.strip() for line in body.strip().splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if len(first) > FOLLOW_UP_MAX:
        first = first[: FOLLOW_UP_MAX - 1].rstrip() + "…"
    return check_text(f"Follow up: {first}".strip(), field="--next-text")


class ReminderInput:
    """A checked reminder: its text, first time, next time (the same when new) and rule."""

    __slots__ = ("text", "at", "anchor", "rule")

    def __init__(self, text: str, at: datetime, anchor: datetime, rule: str | None) -> None:
        self.text, self.at, self.anchor, self.rule = text, at, anchor, rule

    @property
    def moved(self) -> bool:
        """True when the rule moved the first time off the time asked for."""
        return self.anchor != self.at


def prepare(text: str, at: datetime, every: str | None = None) -> ReminderInput:
    """Check the text and rule of a new reminder asked for ``at`` (aware local).  With a
    rule, the first time is the rule's first time at or after ``at`` (``--every monday``
    from a Wednesday starts on the Monday)."""
    checked = check_text(text)
    at = at.astimezone().replace(microsecond=0)
    if every is None:
        return ReminderInput(checked, at, at, None)
    rule = recurrence.parse_rule(every, at)
    try:
        start = recurrence.first(rule, at)
    except OverflowError:  # 0001-01-01 in local time has no UTC instant (year 0)
        raise InvalidValue(
            "--every", every, "cannot repeat from the first day of the calendar"
        ) from None
    if start is None:  # parse_rule has made sure there is a first time
        raise InvalidValue("--every", every, "no time matches this rule")
    return ReminderInput(checked, at, start, rule)


# -- reading ------------------------------------------------------------------------------


def who(row: Mapping[str, Any]) -> str:
    """``customer 42 Nguyễn Văn An``, ``lead 7 …``, ``deal 3 <title>``, ``ticket 5 …``."""
    if row.get("customer_id") is not None:
        return f"customer {row['customer_id']} {row.get('customer_name') or ''}".rstrip()
    if row.get("lead_id") is not None:
        return f"lead {row['lead_id']} {row.get('lead_name') or ''}".rstrip()
    if row.get("deal_id") is not None:
        return f"deal {row['deal_id']} {row.get('deal_title') or ''}".rstrip()
    if row.get("ticket_id") is not None:
        return f"ticket {row['ticket_id']} {row.get('ticket_subject') or ''}".rstrip()
    return ""


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["for"] = who(row)
    row["every"] = recurrence.describe(row["rule"])
    row["overdue"] = bool(row["overdue"])
    for key in ("customer_name", "lead_name", "deal_title", "ticket_subject"):
        del row[key]
    return row


def get(db: Database, reminder_id: int) -> dict[str, Any]:
    row = db.one(_SELECT + "WHERE r.id = ?", (_utc(_now()), reminder_id))
    if row is None:
        raise NotFound("reminder", reminder_id)
    return _decode(row)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time()).astimezone()


def window_end(window: str, now: datetime) -> datetime:
    """The first instant no longer in ``window``: now (overdue), the end of today, or the
    end of the 7th day from today (week)."""
    if window == "overdue":
        return now
    today = now.astimezone().date()
    days = 1 if window == "today" else 8
    return _local_midnight(today + timedelta(days=days))


def list_reminders(
    db: Database,
    *,
    window: str | None = None,
    include_done: bool = False,
    customer_id: int | None = None,
    limit: int | None = None,
    now: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """Pending reminders, soonest first (``include_done``: done ones too); ``window`` one
    of :data:`WINDOWS` keeps those due before its end (overdue ones included)."""
    now = now or _now()
    where: list[str] = []
    params: list[Any] = [_utc(now)]
    if not include_done:
        where.append("r.done_at IS NULL")
    if window is not None:
        if window not in WINDOWS:  # pragma: no cover - the CLI offers the flags only
            raise ValueError(f"unknown window {window!r}")
        where.append("r.due_at < ?")
        params.append(_utc(window_end(window, now)))
    if customer_id is not None:
        db.require("customers", "customer", customer_id)
        where.append("r.customer_id = ?")
        params.append(customer_id)
    sql = _SELECT + ("WHERE " + " AND ".join(where) if where else "") + " ORDER BY r.due_at, r.id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return (_decode(row) for row in db.query(sql, params))


def for_customer(db: Database, customer_id: int) -> list[dict[str, Any]]:
    """A customer's pending reminders (:data:`CUSTOMER_COLUMNS`), soonest first."""
    rows = db.query(
        "SELECT id, due_at, text, rule FROM reminders "
        "WHERE customer_id = ? AND done_at IS NULL ORDER BY due_at, id",
        (customer_id,),
    )
    return [
        {"id": r["id"], "due_at": r["due_at"], "text": r["text"],
         "every": recurrence.describe(r["rule"])}
        for r in rows
    ]  # fmt: skip


# -- writing ------------------------------------------------------------------------------


def add(
    db: Database,
    data: ReminderInput,
    *,
    link: tuple[str, int] | None = None,
    interaction_id: int | None = None,
) -> int:
    """Insert a reminder (``link``: the record it is for); returns its id."""
    links: dict[str, int | None] = dict.fromkeys(LINKS)
    if link is not None:
        kind, ident = link
        if db.scalar(f"SELECT 1 FROM {_TABLES[kind]} WHERE id = ?", (ident,)) is None:
            raise NotFound(kind, ident)
        links[kind] = ident
    now = _utc(_now())
    anchor = _utc(data.anchor)
    cur = db.execute(
        "INSERT INTO reminders (uid, text, due_at, anchor_at, rule, customer_id, lead_id, "
        "deal_id, ticket_id, interaction_id, done_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
        (str(uuid.uuid4()), data.text, anchor, anchor, data.rule, links["customer"],
         links["lead"], links["deal"], links["ticket"], interaction_id, now, now),
    )  # fmt: skip
    return int(cur.lastrowid or 0)


def _pending(db: Database, reminder_id: int, refusal: str) -> dict[str, Any]:
    """The reminder, which must not be done (``refusal`` ends the error message)."""
    row = get(db, reminder_id)
    if row["done_at"] is not None:
        from crmcli.dates import format_local

        when = format_local(row["done_at"])
        raise CrmError(f"reminder {reminder_id} is already done (at {when}){refusal}")
    return row


class Done:
    """What :func:`done` did: the reminder as it was, and its next time (None: it is done)."""

    __slots__ = ("record", "next_at")

    def __init__(self, record: dict[str, Any], next_at: datetime | None) -> None:
        self.record, self.next_at = record, next_at


def done(db: Database, reminder_id: int, *, now: datetime | None = None) -> Done:
    """Mark a reminder done; a recurring one moves to its next time after both its due
    time and now, and is done when its rule is used up."""
    row = _pending(db, reminder_id, "")
    now = (now or _now()).replace(microsecond=0)
    stamp = _utc(now)
    next_at = None
    if row["rule"]:
        after = max(_local(row["due_at"]), now)
        next_at = recurrence.next_after(row["rule"], _local(row["anchor_at"]), after)
    if next_at is not None:
        db.execute(
            "UPDATE reminders SET due_at = ?, updated_at = ? WHERE id = ?",
            (_utc(next_at), stamp, reminder_id),
        )
    else:
        db.execute(
            "UPDATE reminders SET done_at = ?, updated_at = ? WHERE id = ?",
            (stamp, stamp, reminder_id),
        )
    return Done(row, next_at)


def snooze(db: Database, reminder_id: int, until: datetime) -> dict[str, Any]:
    """Move a pending reminder's next time to ``until`` (its rule keeps its anchor)."""
    row = _pending(db, reminder_id, "; a done reminder is not snoozed")
    db.execute(
        "UPDATE reminders SET due_at = ?, updated_at = ? WHERE id = ?",
        (_utc(until), _utc(_now()), reminder_id),
    )
    return row


def delete(db: Database, reminder_id: int) -> dict[str, Any]:
    row = get(db, reminder_id)
    db.execute("DELETE FROM reminders WHERE id = ?", (reminder_id,))
    return row


def when_text(moment: datetime | str, *, offset: bool = False) -> str:
    """``Mon 2026-11-30 09:00`` in local time (``offset``: with ``+07`` / ``+05:30``)."""
    local = _local(moment) if isinstance(moment, str) else moment.astimezone()
    text = local.strftime("%a %Y-%m-%d %H:%M")
    if offset:
        zone = local.strftime("%z")  # +0700
        text += f" {zone[:3]}" if zone.endswith("00") else f" {zone[:3]}:{zone[3:5]}"
    return text
