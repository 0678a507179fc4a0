"""The iCalendar (RFC 5545) export of ``crm remind export --ics``, written by hand.

One VCALENDAR with a VEVENT for each pending reminder (recurring ones with their RRULE and
an alarm), each customer's birthday (yearly, all day), each open deal's close date (all day)
and each open or pending ticket's due time.  Every event's UID comes from its record's
``uid`` (``reminder-<uid>@crmcli``, ``birthday-<customer uid>@crmcli``, ``deal-<uid>@crmcli``,
``ticket-<uid>@crmcli``), so importing a newer export updates events instead of doubling them.

The format rules kept here: lines end in CRLF; content lines are folded at 75 octets, never
inside a UTF-8 character, continuation lines starting with one space; TEXT values escape
backslash, semicolon, comma and newline, and lose the control characters TEXT cannot carry.
Rows are streamed from the database and each event is written as soon as it is built, so a
million deals cost no more memory than ten.  A row whose date does not parse (a file edited
by hand) is left out rather than stopping the export.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any

from crmcli.db import Database
from crmcli.errors import CrmError
from crmcli.money import format_money

CRLF = "\r\n"
LINE_OCTETS = 75  # RFC 5545 3.1: a content line is at most 75 octets, CRLF not counted

PRIORITIES = {"urgent": 1, "high": 3, "normal": 5, "low": 9}  # RFC 5545 PRIORITY: 1 highest

REMINDERS_SQL = """
SELECT r.id, r.uid, r.text, r.due_at, r.anchor_at, r.rule, r.updated_at,
       r.customer_id, c.name AS customer, r.lead_id, l.name AS lead,
       r.deal_id, d.title AS deal, r.ticket_id, t.subject AS ticket
FROM reminders r
LEFT JOIN customers c ON c.id = r.customer_id
LEFT JOIN leads l ON l.id = r.lead_id
LEFT JOIN deals d ON d.id = r.deal_id
LEFT JOIN tickets t ON t.id = r.ticket_id
WHERE r.done_at IS NULL
ORDER BY r.id
"""
BIRTHDAYS_SQL = """
SELECT id, uid, name, birthday, updated_at FROM customers
WHERE birthday IS NOT NULL
ORDER BY id
"""
# Open deals are read in one pass over the table (``+d.stage_id`` keeps the planner off the
# stage index): when many deals are open that beats a lookup per index entry plus a sort.
DEALS_SQL = """
SELECT d.id, d.uid, d.title, c.name AS customer, s.name AS stage, d.amount, d.currency,
       coalesce(d.probability, s.probability) AS probability, d.close_date, d.updated_at
FROM deals d JOIN stages s ON s.id = +d.stage_id JOIN customers c ON c.id = d.customer_id
WHERE s.kind = 'open' AND d.close_date IS NOT NULL
ORDER BY d.id
"""
TICKETS_SQL = """
SELECT t.id, t.uid, t.subject, c.name AS customer, t.priority, t.status, t.tier, t.due_at,
       t.updated_at
FROM tickets t JOIN customers c ON c.id = t.customer_id
WHERE t.status IN ('open', 'pending')
ORDER BY t.id
"""


# Characters TEXT cannot carry (RFC 5545 3.3.11): C0 controls but tab and newline, DEL, C1
# controls, and lone surrogates (they cannot be written as UTF-8).  Dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SPECIAL = re.compile(r"[\\;,\n\r\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def escape_text(value: str) -> str:
    """``value`` as an iCalendar TEXT value: ``a;b,c\\d`` + newline -> ``a\\;b\\,c\\\\d\\n``."""
    if _SPECIAL.search(value) is None:
        return value
    if "\r" in value:  # CRLF and a bare CR are line breaks too
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(value) is not None:
        value = _CONTROL.sub("", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """A content line folded at 75 octets (RFC 5545 3.1), CRLF + space between the pieces;
    a multi-octet UTF-8 character is never split."""
    if len(line) <= LINE_OCTETS and line.isascii():
        return line
    data = line.encode("utf-8")
    if len(data) <= LINE_OCTETS:
        return line
    pieces = []
    start, room = 0, LINE_OCTETS
    while len(data) - start > room:
        cut = start + room
        while data[cut] & 0xC0 == 0x80:  # a continuation byte: back up to the lead byte
            cut -= 1
        pieces.append(data[start:cut].decode("utf-8"))
        start, room = cut, LINE_OCTETS - 1  # the leading space takes one octet
    pieces.append(data[start:].decode("utf-8"))
    return (CRLF + " ").join(pieces)


def write_calendar(db: Database, out: IO[str], *, now: datetime | None = None) -> int:
    """Write the whole calendar to ``out`` (a text stream that must not translate newlines:
    open files with ``newline=""``); returns the number of events.  ``now`` (default: the
    clock) gives every event's DTSTAMP."""
    from crmcli import __version__

    if now is None:
        from crmcli.clock import now_local

        now = now_local()
    stamp = _utc_value(now)
    header = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//crmcli//crmcli {__version__}//EN",
        "CALSCALE:GREGORIAN",
        "X-WR-CALNAME:crmcli",
    ]
    zone = local_zone_name()
    if zone is not None:  # how Google Calendar reads the floating times of recurring reminders
        header.append(f"X-WR-TIMEZONE:{zone}")
    out.write("".join(fold(line) + CRLF for line in header))
    count = 0
    for event in _events(db, stamp):
        out.write(event)
        count += 1
    out.write("END:VCALENDAR" + CRLF)
    return count


def _events(db: Database, stamp: str) -> Iterator[str]:
    yield from _reminders(db, stamp)
    yield from _birthdays(db, stamp)
    yield from _deals(db, stamp)
    yield from _tickets(db, stamp)


def _event(lines: list[str]) -> str:
    """One VEVENT from its lines (those that can be long already folded)."""
    return "BEGIN:VEVENT" + CRLF + CRLF.join(lines) + CRLF + "END:VEVENT" + CRLF


def _common(kind: str, uid: str, stamp: str, updated_at: str | None) -> list[str]:
    """UID, DTSTAMP and LAST-MODIFIED."""
    lines = [fold(f"UID:{kind}-{escape_text(uid)}@crmcli"), f"DTSTAMP:{stamp}"]
    modified = _utc_text(updated_at)
    if modified is not None:
        lines.append(f"LAST-MODIFIED:{modified}")
    return lines


def _text(name: str, value: str) -> str:
    """A TEXT property line, escaped and folded."""
    return fold(f"{name}:{escape_text(value)}")


# -- reminders ----------------------------------------------------------------------------


def _reminders(db: Database, stamp: str) -> Iterator[str]:
    for row in db.conn.execute(REMINDERS_SQL):
        (rid, uid, text, due_at, anchor_at, rule, updated_at, *links) = row
        due = _instant(due_at)
        if due is None:
            continue
        lines = _common("reminder", uid, stamp, updated_at)
        rule = _clean_rule(rule) if rule else None
        if rule:
            start = due
            if "COUNT=" in rule.upper():  # COUNT counts from the first time, not the next
                start = _instant(anchor_at) or due
            lines.append(f"DTSTART:{_floating_value(start)}")
            for value in portable_rules(_floating_until(rule)):
                lines.append(fold(f"RRULE:{value}"))
        else:
            lines.append(f"DTSTART:{_utc_value(due)}")
        lines.append("DURATION:PT15M")
        lines.append(_text("SUMMARY", text or ""))
        about = _reminder_links(links)
        about.append(f"crm remind done {rid}")
        lines.append(_text("DESCRIPTION", "\n".join(about)))
        lines.append("CATEGORIES:Reminder")
        lines.append("BEGIN:VALARM")
        lines.append("ACTION:DISPLAY")
        lines.append(_text("DESCRIPTION", text or ""))  # a DISPLAY alarm requires one
        lines.append("TRIGGER:PT0M")
        lines.append("END:VALARM")
        yield _event(lines)


def _reminder_links(links: list[Any]) -> list[str]:
    """``Customer 3: Nguyễn Văn An`` … for each record the reminder is linked to."""
    about = []
    for label, (key, name) in zip(
        ("Customer", "Lead", "Deal", "Ticket"),
        zip(links[::2], links[1::2], strict=True),
        strict=True,
    ):
        if key is not None:
            about.append(f"{label} {key}: {name}" if name else f"{label} {key}")
    return about


def _clean_rule(rule: str) -> str:
    """The stored RRULE value without a ``RRULE:`` prefix, whitespace or controls (a RECUR
    value has none, and a stray line break would end the property)."""
    value = "".join(ch for ch in rule if ch.isprintable() and not ch.isspace())
    if value[:6].upper() == "RRULE:":
        value = value[6:]
    return value


def _floating_until(rule: str) -> str:
    """``rule`` with an UNTIL in the value type of a floating DTSTART (RFC 5545 3.3.10: they
    must agree): a UTC time becomes local wall time, a date the end of that local day."""
    if "UNTIL=" not in rule.upper():
        return rule
    parts = rule.split(";")
    for i, part in enumerate(parts):
        name, _, value = part.partition("=")
        if name.upper() != "UNTIL":
            continue
        if len(value) == 8 and value.isdigit():
            parts[i] = f"{name}={value}T235959"
        elif len(value) == 16 and value[-1] in "Zz":
            try:
                moment = datetime.strptime(value[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
            except ValueError:
                continue
            parts[i] = f"{name}={_floating_value(moment)}"
    return ";".join(parts)


_MONTH_END_DAYS = {"28,29": 29, "28,29,30": 30, "28,29,30,31": 31}


def portable_rules(rule: str) -> list[str]:
    """The RRULE value(s) to write for a stored rule, in the form most calendar programs
    expand alike.  Thunderbird (ical.js) ignores ``BYSETPOS``, so the month-end rules
    that :mod:`crmcli.core.recurrence` stores with it are written without:

    * monthly on the 31st (last day of shorter months): ``BYMONTHDAY=-1``;
    * yearly on 29 February (28 February in common years): ``BYMONTH=2;BYMONTHDAY=-1``;
    * monthly on the 29th or 30th (28/29 February): two rules, ``BYMONTHDAY=30`` and a
      yearly ``BYMONTH=2;BYMONTHDAY=-1`` (one occurrence set, RFC 5545 3.8.5.3) when the
      rule repeats every month without COUNT; otherwise (every 2 months, a COUNT) as
      stored, since no BYSETPOS-free rule says it.

    Any other rule is written as stored."""
    parts = [piece.partition("=") for piece in rule.split(";") if piece]
    named = {k.upper(): v for k, _, v in parts}
    days = _MONTH_END_DAYS.get(named.get("BYMONTHDAY", ""))
    by = {k for k in named if k.startswith("BY")}
    if named.get("BYSETPOS") != "-1" or days is None:
        return [rule]
    freq = named.get("FREQ", "").upper()
    kept = [f"{k}={v}" for k, _, v in parts if k.upper() not in ("BYMONTHDAY", "BYSETPOS")]
    if freq == "MONTHLY" and by == {"BYMONTHDAY", "BYSETPOS"}:
        if days == 31:
            return [";".join([*kept, "BYMONTHDAY=-1"])]
        if "COUNT" in named or named.get("INTERVAL", "1") != "1":
            return [rule]
        until = [f"UNTIL={named['UNTIL']}"] if "UNTIL" in named else []
        return [
            ";".join([*kept, f"BYMONTHDAY={days}"]),
            ";".join(["FREQ=YEARLY", *until, "BYMONTH=2", "BYMONTHDAY=-1"]),
        ]
    if freq == "YEARLY" and days == 29 and by == {"BYMONTH", "BYMONTHDAY", "BYSETPOS"}:
        if named["BYMONTH"] == "2":
            return [";".join([*kept, "BYMONTHDAY=-1"])]
    return [rule]


# -- birthdays, deals, tickets ------------------------------------------------------------


def _birthdays(db: Database, stamp: str) -> Iterator[str]:
    for cid, uid, name, birthday, updated_at in db.conn.execute(BIRTHDAYS_SQL):
        yearless = birthday.startswith("--")
        text = "2000" + birthday[1:] if yearless else birthday
        day = _calendar_date(text)
        if day is None:
            continue
        lines = _common("birthday", uid, stamp, updated_at)
        lines += _all_day(day, text)
        if day.month == 2 and day.day == 29:  # the last day of February: 28th in common years
            lines.append("RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1")
        else:
            lines.append("RRULE:FREQ=YEARLY")
        lines.append(_text("SUMMARY", f"Birthday: {name}"))
        born = "" if yearless else f"\\nBorn {birthday}"
        lines.append(f"DESCRIPTION:Customer {cid}{born}")
        lines.append("CATEGORIES:Birthday")
        lines.append("TRANSP:TRANSPARENT")
        yield _event(lines)


def _deals(db: Database, stamp: str) -> Iterator[str]:
    for row in db.conn.execute(DEALS_SQL):
        (did, uid, title, customer, stage, amount, currency, probability, close, updated_at) = row
        day = _calendar_date(close)
        if day is None:
            continue
        lines = _common("deal", uid, stamp, updated_at)
        lines += _all_day(day, close)
        lines.append(_text("SUMMARY", f"Close: {title} ({customer})"))
        about = [f"Deal {did}", f"Stage: {stage}"]
        if amount is not None:
            about.append(f"Amount: {_money(amount, currency)}")
        if probability is not None:
            about.append(f"Probability: {probability}%")
        lines.append(_text("DESCRIPTION", "\n".join(about)))
        lines.append("CATEGORIES:Deal")
        lines.append("TRANSP:TRANSPARENT")
        yield _event(lines)


def _tickets(db: Database, stamp: str) -> Iterator[str]:
    for row in db.conn.execute(TICKETS_SQL):
        (tid, uid, subject, customer, priority, status, tier, due_at, updated_at) = row
        due = _utc_text(due_at)
        if due is None:
            continue
        lines = _common("ticket", uid, stamp, updated_at)
        lines.append(f"DTSTART:{due}")
        lines.append("DURATION:PT30M")
        lines.append(_text("SUMMARY", f"Ticket due: {subject} ({customer})"))
        about = f"Ticket {tid}\nStatus: {status}\nPriority: {priority}\nTier: {tier}"
        lines.append(_text("DESCRIPTION", about))
        level = PRIORITIES.get(priority)
        if level is not None:
            lines.append(f"PRIORITY:{level}")
        lines.append("CATEGORIES:Ticket")
        yield _event(lines)


# -- values -------------------------------------------------------------------------------


def _all_day(day: date, text: str) -> list[str]:
    """DTSTART and DTEND (the next day) of an all-day event on ``day`` (``text``: the same
    date as ``YYYY-MM-DD``, which :func:`_calendar_date` checked)."""
    lines = [f"DTSTART;VALUE=DATE:{text.replace('-', '')}"]
    if day < date.max:  # else one day long without DTEND (RFC 5545 3.6.1)
        lines.append(f"DTEND;VALUE=DATE:{_date_value(day + timedelta(days=1))}")
    return lines


def _date_value(day: date) -> str:
    """``20261215`` (isoformat, not strftime: strftime drops zeros before the year 1000)."""
    return day.isoformat().replace("-", "")


def _calendar_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _instant(text: str | None) -> datetime | None:
    """A stored instant (``2026-11-23T03:00:00Z``) as an aware UTC datetime, read as
    :func:`crmcli.dates.from_utc_iso` reads it; None when there is none or it is broken."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not 1 < moment.year < 9999:  # a conversion to local time could leave the calendar
        return None
    return moment


def _utc_text(text: str | None) -> str | None:
    """A stored instant as a UTC value; the usual ``2026-11-23T03:00:00Z`` by its text."""
    if text is not None and len(text) == 20 and text[-1] == "Z" and text[10] == "T":
        try:
            datetime.fromisoformat(text)
        except ValueError:
            return None
        return text.replace("-", "").replace(":", "")
    moment = _instant(text)
    return None if moment is None else _utc_value(moment)


def _utc_value(moment: datetime) -> str:
    """``20261123T030000Z``."""
    utc = moment.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    return utc.isoformat().replace("-", "").replace(":", "") + "Z"


def _floating_value(moment: datetime) -> str:
    """Local wall time without a zone: ``20261130T090000`` (RFC 5545 3.3.5, form 1)."""
    local = moment.astimezone().replace(tzinfo=None, microsecond=0)
    return local.isoformat().replace("-", "").replace(":", "")


def _money(amount: int, currency: str) -> str:
    try:
        return format_money(amount, currency)
    except (CrmError, TypeError, ValueError):  # a currency or amount edited by hand
        return f"{amount} {currency}"


def local_zone_name() -> str | None:
    """The IANA name of the local time zone (``Asia/Ho_Chi_Minh``) when it can be told:
    from ``TZ``, else the ``/etc/localtime`` link, else ``/etc/timezone``."""
    import os

    candidates = []
    tz = os.environ.get("TZ")
    if tz is not None:
        candidates.append(tz.removeprefix(":"))
    else:
        try:
            target = os.readlink("/etc/localtime")
        except OSError:
            target = ""
        if "zoneinfo/" in target:
            candidates.append(target.rsplit("zoneinfo/", 1)[1])
        try:
            with open("/etc/timezone", encoding="utf-8") as fh:
                candidates.append(fh.read().strip())
        except (OSError, UnicodeDecodeError):
            pass
    for name in candidates:
        if _is_zone(name):
            return name
    return None


def _is_zone(name: str) -> bool:
    if not name or name.startswith("/") or ".." in name or name in ("localtime", "posixrules"):
        return False
    if not all(ch.isalnum() or ch in "/_+-" for ch in name):
        return False
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True
