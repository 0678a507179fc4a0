"""What is due: the items of ``crm remind due``, gathered from every source.

Sources: pending reminders; birthdays; customers past their contact cadence; open leads
not contacted for ``stale_lead_days``; open deals past their close date; open invoices due
(with what is still owed); contracts ending within ``contract_notice_days``; open tickets
past their due time.  Each is one indexed query (the benchmark runs the same SQL in the
``sqlite3`` shell), so a morning with nothing due costs a few index probes.
Also: line items not delivered by their delivery date (deals not lost).

An item is due when its time falls before the horizon: the end of today, or further when
``--within`` looks ahead.  Instants (reminders, tickets) compare in UTC; calendar dates
(close dates, birthdays, payments) compare as local dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

from crmcli.db import Database

COLUMNS = (
    "kind", "id", "due", "status", "text", "who", "customer_id", "lead_id", "deal_id",
    "ticket_id",
)  # fmt: skip
KINDS = (
    "reminder", "ticket", "deal", "invoice", "contract", "birthday", "cadence", "lead",
    "delivery",  # line items to deliver (crm deal item)
)  # fmt: skip
# Other names --kind accepts: payments due were deals' lines before they became invoices.
KIND_ALIASES = {"payment": "invoice"}
# The record an item's ``id`` names: contracts are deals, birthdays and contact cadences
# are customers, deliveries are line items.
RECORDS = {
    "reminder": "reminder", "ticket": "ticket", "deal": "deal", "invoice": "invoice",
    "contract": "deal", "birthday": "customer", "cadence": "customer", "lead": "lead",
    "delivery": "item",  # its line item: crm deal item delivered ID
}  # fmt: skip

OPEN_LEAD_STATUSES = ("new", "contacted", "qualified")
MAX_LOOKAHEAD_DAYS = 366

REMINDERS_SQL = """
SELECT r.id, r.text, r.due_at, r.rule, r.customer_id, r.lead_id, r.deal_id, r.ticket_id,
       c.name AS customer, l.name AS lead, d.title AS deal, t.subject AS ticket
FROM reminders r
LEFT JOIN customers c ON c.id = r.customer_id
LEFT JOIN leads l ON l.id = r.lead_id
LEFT JOIN deals d ON d.id = r.deal_id
LEFT JOIN tickets t ON t.id = r.ticket_id
WHERE r.done_at IS NULL AND r.due_at < ?
ORDER BY r.due_at, r.id
"""
TICKETS_SQL = """
SELECT t.id, t.subject, t.priority, t.due_at, t.customer_id, c.name AS customer
FROM tickets t JOIN customers c ON c.id = t.customer_id
WHERE t.status = 'open' AND t.due_at < ?
ORDER BY t.due_at, t.id
"""
DEALS_SQL = """
SELECT d.id, d.title, d.close_date, s.name AS stage, d.customer_id, c.name AS customer
FROM deals d JOIN stages s ON s.id = d.stage_id JOIN customers c ON c.id = d.customer_id
WHERE d.stage_id IN (SELECT id FROM stages WHERE kind = 'open') AND d.close_date <= ?
ORDER BY d.close_date, d.id
"""
# Open invoices by due date from the invoices_open_due index, with what is still owed.
INVOICES_SQL = """
SELECT i.id, i.number, i.installment, i.installments, i.due_date,
       i.amount - coalesce((SELECT sum(p.amount) FROM payments p WHERE p.invoice_id = i.id), 0),
       i.currency, i.deal_id, d.customer_id, c.name AS customer
FROM invoices i JOIN deals d ON d.id = i.deal_id JOIN customers c ON c.id = d.customer_id
WHERE i.status = 'open' AND i.due_date <= ?
ORDER BY i.due_date, i.id
"""
CONTRACTS_SQL = """
SELECT d.id, d.title, d.contract_end, d.contract_number, d.customer_id, c.name AS customer
FROM deals d JOIN customers c ON c.id = d.customer_id
WHERE d.contract_end IS NOT NULL AND d.contract_end >= ? AND d.contract_end <= ?
  AND +d.stage_id IN (SELECT id FROM stages WHERE kind = 'won')
ORDER BY d.contract_end, d.id
"""
# Items still to deliver by their date, of deals not lost: the partial index
# deal_items_delivery holds exactly the undelivered dated items.
DELIVERIES_SQL = """
SELECT i.id, i.product, i.quantity, i.unit, i.supplier, i.delivery_date, d.id, d.title,
       d.customer_id, c.name AS customer
FROM deal_items i JOIN deals d ON d.id = i.deal_id JOIN customers c ON c.id = d.customer_id
WHERE i.delivery_date IS NOT NULL AND i.delivered_at IS NULL AND i.delivery_date <= ?
  AND +d.stage_id NOT IN (SELECT id FROM stages WHERE kind = 'lost')
ORDER BY i.delivery_date, i.id
"""
BIRTHDAYS_SQL = """
SELECT id, name, birthday FROM customers
WHERE birthday IS NOT NULL AND substr(birthday, -5) IN ({marks})
ORDER BY id
"""
# Customers whose last contact plus their cadence falls before the horizon.  SQL keeps the
# candidates (a month counts as 28 days, a year as 365: never too few); Python then applies
# the calendar exactly (dates.add_duration: 31 January + 1 month = 28 February).
CADENCE_SQL = """
SELECT c.id, c.name, c.cadence, c.last_contact FROM (
  SELECT c.id, c.name, c.cadence,
         coalesce((SELECT max(i.happened_at) FROM interactions i WHERE i.customer_id = c.id),
                  c.created_at) AS last_contact
  FROM customers c WHERE c.cadence IS NOT NULL
) c
WHERE julianday(c.last_contact)
      + CAST(rtrim(c.cadence, 'abcdefghijklmnopqrstuvwxyz') AS INTEGER)
        * CASE ltrim(c.cadence, '0123456789')
            WHEN 'd' THEN 1.0 WHEN 'w' THEN 7.0 WHEN 'mo' THEN 28.0 WHEN 'y' THEN 365.0
            WHEN 'h' THEN 1 / 24.0 WHEN 'min' THEN 1 / 1440.0 ELSE 1 / 86400.0 END
      < julianday(?)
ORDER BY c.id
"""
LEADS_SQL = """
SELECT l.id, l.name, l.status, l.last_contact FROM (
  SELECT l.id, l.name, l.status,
         coalesce((SELECT max(i.happened_at) FROM interactions i WHERE i.lead_id = l.id),
                  l.created_at) AS last_contact
  FROM leads l WHERE l.status IN ('new', 'contacted', 'qualified')
) l
WHERE l.last_contact < ?
ORDER BY l.last_contact, l.id
"""


class Window:
    """Now, today and the horizon: the first local instant that is no longer due."""

    def __init__(
        self, now: datetime, lookahead: tuple[int, str] | None, settings: dict[str, str]
    ) -> None:
        self.stale_days = int(settings["stale_lead_days"])
        self.notice_days = int(settings["contract_notice_days"])
        self.now = now.astimezone()
        self.today = self.now.date()
        end_of_today = _local_midnight(self.today + timedelta(days=1))
        horizon = end_of_today
        if lookahead is not None:
            from crmcli.dates import add_duration

            horizon = max(horizon, add_duration(self.now, *lookahead))
        self.horizon = horizon
        # The last calendar date that is due (the horizon itself is not).
        self.last_day = (horizon - timedelta(microseconds=1)).astimezone().date()
        # For comparing stored text: now in UTC, today, tomorrow's local wall time.
        self.now_utc = self.utc(self.now)
        self.today_iso = self.today.isoformat()
        self.tomorrow = (self.today + timedelta(days=1)).isoformat()

    def ahead(self, day: str) -> str:
        """The status of a later date: ``in 3d``."""
        return f"in {(date.fromisoformat(day) - self.today).days}d"

    def utc(self, moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time()).astimezone()


def queries(window: Window) -> list[tuple[str, str, list[Any]]]:
    """(kind, SQL, parameters) of every source, in the order they are read."""
    horizon = window.utc(window.horizon)
    last_day = window.last_day.isoformat()
    notice, stale = window.notice_days, window.stale_days
    # A lead is due when its last contact's local date plus `stale` days is due, that is
    # when the contact was before the local midnight starting (last_day - stale + 1).
    lead_cutoff = window.utc(_local_midnight(window.last_day - timedelta(days=stale - 1)))
    marks = birthday_marks(window.today, window.last_day)
    return [
        ("reminder", REMINDERS_SQL, [horizon]),
        ("ticket", TICKETS_SQL, [horizon]),
        ("deal", DEALS_SQL, [last_day]),
        ("invoice", INVOICES_SQL, [last_day]),
        (
            "contract",
            CONTRACTS_SQL,
            [window.today.isoformat(), (window.last_day + timedelta(days=notice)).isoformat()],
        ),
        ("birthday", BIRTHDAYS_SQL.format(marks=", ".join("?" * len(marks))), list(marks)),
        ("cadence", CADENCE_SQL, [horizon]),
        ("lead", LEADS_SQL, [lead_cutoff]),
        ("delivery", DELIVERIES_SQL, [last_day]),
    ]


def birthday_marks(first: date, last: date) -> list[str]:
    """The ``MM-DD`` of every day from ``first`` to ``last``; in a common year 28 February
    also stands for 29 February."""
    marks: list[str] = []
    day = first
    while day <= last and len(marks) < MAX_LOOKAHEAD_DAYS + 1:
        marks.append(day.strftime("%m-%d"))
        if day.month == 2 and day.day == 28 and not _leap(day.year):
            marks.append("02-29")
        day += timedelta(days=1)
    return marks


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def read_settings(db: Database) -> dict[str, str]:
    from crmcli.core.settings import SETTINGS

    keys = ("stale_lead_days", "contract_notice_days")
    stored = dict(
        db.conn.execute("SELECT key, value FROM settings WHERE key IN (?, ?)", keys).fetchall()
    )
    return {k: stored.get(k) or str(SETTINGS[k].default) for k in keys}


def parse_within(text: str | None) -> tuple[int, str] | None:
    if text is None:
        return None
    from crmcli.dates import parse_duration
    from crmcli.errors import InvalidValue

    count, unit = parse_duration(text, field="--within")
    days = {"seconds": 1 / 86400, "minutes": 1 / 1440, "hours": 1 / 24, "days": 1, "weeks": 7}
    if count * days.get(unit, 31 if unit == "months" else 366) > MAX_LOOKAHEAD_DAYS:
        raise InvalidValue("--within", text, "look ahead at most a year")
    return count, unit


# An item, as a tuple that sorts soonest first: (local wall time or date, rank of its kind,
# id, then the fields of COLUMNS).  Tuples, not dicts: a busy database has a hundred thousand
# items and cron wants them as lines.
Item = tuple[
    str, int, int, str, int, str, str, str, str, int | None, int | None, int | None, int | None
]


def parse_kinds(given: Iterable[str]) -> tuple[str, ...]:
    """``--kind`` values (repeatable, or comma-separated) checked against :data:`KINDS`;
    every kind when none is given."""
    from crmcli.errors import InvalidValue

    chosen: list[str] = []
    for text in given:
        for part in text.split(","):
            kind = part.strip().lower()
            kind = KIND_ALIASES.get(kind, kind)
            if kind not in KINDS:
                raise InvalidValue("--kind", part, f"choose from {', '.join(KINDS)}")
            if kind not in chosen:
                chosen.append(kind)
    return tuple(chosen) or KINDS


def record_of(kinds: Iterable[str]) -> str | None:
    """The one kind of record the items of ``kinds`` name by their ids, or None when they
    name several (reminder ids and customer ids must not be mixed in one list of ids)."""
    records = {RECORDS[kind] for kind in kinds}
    return records.pop() if len(records) == 1 else None


def collect(
    db: Database,
    *,
    within: str | None = None,
    now: datetime | None = None,
    kinds: Iterable[str] = KINDS,
) -> list[Item]:
    """Every due item of ``kinds``, soonest first (overdue ones first of all)."""
    from crmcli.clock import now_local

    window = Window(now or now_local(), parse_within(within), read_settings(db))
    return gather(db, window, kinds)


def gather(db: Database, window: Window, kinds: Iterable[str] = KINDS) -> list[Item]:
    """The items of ``kinds`` due before ``window``'s horizon, soonest first."""
    wanted = set(kinds)
    items: list[Item] = []
    for kind, sql, params in queries(window):
        if kind in wanted:
            items.extend(_ITEMS[kind](window, db.conn.execute(sql, params)))
    items.sort()  # each source is already in order: timsort merges the runs
    return items


def records(items: Iterable[Item]) -> Iterator[dict[str, Any]]:
    """Items as records with the fields of :data:`COLUMNS`."""
    for item in items:
        yield dict(zip(COLUMNS, item[3:], strict=True))


# -- one maker per source: rows in, items out ---------------------------------------------
#
# A busy database has tens of thousands of due rows (every open deal past its close date), so
# the makers stay cheap: calendar dates are compared as ISO text, and only instants (reminders,
# tickets) are converted to local time.


def _item(
    kind: str,
    record_id: int,
    due: str,
    local: str,
    window: Window,
    text: str,
    who: str,
    customer_id: int | None = None,
    lead_id: int | None = None,
    deal_id: int | None = None,
    ticket_id: int | None = None,
) -> Item:
    """``due``: UTC ISO text of an instant or an ISO date; ``local``: its local wall time as
    ``YYYY-MM-DD HH:MM`` (an instant) or the date itself."""
    if len(due) > 10:  # an instant
        status = "overdue" if due < window.now_utc else "today" if local < window.tomorrow else ""
        if not status:
            status = window.ahead(local[:10])
    else:
        status = _date_status(window, due)
    return (
        local, _RANK[kind], record_id, kind, record_id, due, status, text, who, customer_id,
        lead_id, deal_id, ticket_id,
    )  # fmt: skip


def _date_status(window: Window, day: str) -> str:
    if day < window.today_iso:
        return "overdue"
    return "today" if day == window.today_iso else window.ahead(day)


def _local(utc_text: str) -> str:
    """Stored UTC text as local ``YYYY-MM-DD HH:MM``."""
    moment = datetime.fromisoformat(utc_text.replace("Z", "+00:00")).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")


def _customer(customer_id: int | None, name: str | None) -> str:
    return f"customer {customer_id} {name}" if customer_id is not None else ""


def _reminders(window: Window, rows: Iterable[Sequence[Any]]) -> Iterable[Item]:
    for rid, text, due_at, rule, cid, lid, did, tid, customer, lead, deal, ticket in rows:
        parts = []
        if cid is not None:
            parts.append(_customer(cid, customer))
        if lid is not None:
            parts.append(f"lead {lid} {lead}")
        if did is not None:
            parts.append(f"deal {did} {deal}")
        if tid is not None:
            parts.append(f"ticket {tid} {ticket}")
        label = f"reminder {rid}{' (repeats)' if rule else ''}: {text}"
        yield _item(
            "reminder", rid, due_at, _local(due_at), window, label, ", ".join(parts),
            cid, lid, did, tid,
        )  # fmt: skip


def _tickets(window: Window, rows: Iterable[Sequence[Any]]) -> Iterable[Item]:
    for tid, subject, priority, due_at, cid, customer in rows:
        yield _item(
            "ticket", tid, due_at, _local(due_at), window,
            f"ticket {tid} due ({priority}): {subject}", _customer(cid, customer),
            customer_id=cid, ticket_id=tid,
        )  # fmt: skip


def _deals(window: Window, rows: Iterable[Sequence[Any]]) -> Iterable[Item]:
    rank, today = _RANK["deal"], window.today_iso
    for did, title, close_date, stage, cid, customer in rows:  # the busiest source: inlined
        status = "overdue" if close_date < today else _date_status(window, close_date)
        yield (
            close_date, rank, did, "deal", did, close_date, status,
            f"deal {did} to close ({stage}): {title}", f"customer {cid} {customer}", cid,
            None, did, None,
        )  # fmt: skip


def _invoices(window: Window, rows: Iterable[Sequence[Any]]) -> Iterable[Item]:
    for iid, number, nth, of, due_date, owed, currency, did, cid, customer in rows:
        from crmcli.money import format_money  # once there is a row: a cached lookup after

        part = f" ({nth} of {of})" if nth and of else ""
        yield _item(
            "invoice", iid, due_date, due_date, window,
            f"invoice {number}{part} due for deal {did}: {format_money(owed, currency)} owed",
            _customer(cid, customer), customer_id=cid, deal_id=did,
        )  # fmt: skip


def _contracts(window: Window, rows: Iterable[Sequence[Any]]) -> Iterable[Item]:
    """A contract is due when its notice begins (``contract_notice_days`` before it ends):
    that is the day to renew or let it go."""
    notice = timedelta(days=window.notice_days)
    for did, title, contract_end, number, cid, customer in rows:
        what = f"contract {number}" if number else "contract"
        begins = (date.fromisoformat(contract_end) - notice).isoformat()
        yield _item(
            "contract", did, begins, begins, window,
            f"{what} of deal {did} ends {contract_end}: {title}", _customer(cid, customer),
            customer_id=cid, deal_id=did,
        )  # fmt: skip


def _birthdays(window: Window, rows: Iterable[Sequence[Any]]) -> Iterable[Item]:
    for cid, name, birthday in rows:
        month, day = int(birthday[-5:-3]), int(birthday[-2:])
        when = _next_birthday(window.today, month, day)
        age = ""
        if not birthday.startswith("--"):
            age = f" turns {when.year - int(birthday[:4])}"
        yield _item(
            "birthday", cid, when.isoformat(), when.isoformat(), window,
            f"birthday: {name}{age}", _customer(cid, name), customer_id=cid,
        )  # fmt: skip


def _next_birthday(today: date, month: int, day: int) -> date:
    """The first celebration on or after ``today`` (29 February on 28 February in a common
    year)."""
    for year in (today.year, today.year + 1):
        actual = 28 if (month, day) == (2, 29) and not _leap(year) else day
        when = date(year, month, actual)
        if when >= today:
            return when
    raise AssertionError("unreachable: a birthday comes once a year")


def _cadence(window: Window, rows: Iterable[Sequence[Any]]) -> Iterable[Item]:
    for cid, name, cadence, last_contact in rows:
        from crmcli.dates import add_duration, parse_duration  # only when there are some

        contact = datetime.fromisoformat(last_contact.replace("Z", "+00:00")).astimezone()
        due = add_duration(contact, *parse_duration(cadence)).date()
        if due > window.last_day:
            continue
        last = contact.date().isoformat()
        yield _item(
            "cadence", cid, due.isoformat(), due.isoformat(), window,
            f"keep in touch (every {cadence}, last contact {last}): {name}",
            _customer(cid, name), customer_id=cid,
        )  # fmt: skip


def _leads(window: Window, rows: Iterable[Sequence[Any]]) -> Iterable[Item]:
    for lid, name, status, last_contact in rows:
        last = datetime.fromisoformat(last_contact.replace("Z", "+00:00")).astimezone().date()
        due = last + timedelta(days=window.stale_days)
        yield _item(
            "lead", lid, due.isoformat(), due.isoformat(), window,
            f"lead {lid} not contacted since {last.isoformat()} ({status}): {name}",
            f"lead {lid} {name}", lead_id=lid,
        )  # fmt: skip


def _deliveries(window: Window, rows: Iterable[Sequence[Any]]) -> Iterable[Item]:
    """``deliver 3 × Router (Minh Phát) for deal 12: Office network``."""
    for iid, product, quantity, unit, supplier, day, did, title, cid, customer in rows:
        amount = f"{quantity} {unit}" if unit else f"{quantity} ×"
        source = f" ({supplier})" if supplier else ""
        yield _item(
            "delivery", iid, day, day, window,
            f"deliver {amount} {product}{source} for deal {did}: {title}",
            _customer(cid, customer), customer_id=cid, deal_id=did,
        )  # fmt: skip


_RANK = {kind: rank for rank, kind in enumerate(KINDS)}
_ITEMS = {
    "reminder": _reminders,
    "ticket": _tickets,
    "deal": _deals,
    "invoice": _invoices,
    "contract": _contracts,
    "birthday": _birthdays,
    "cadence": _cadence,
    "lead": _leads,
    "delivery": _deliveries,
}


# -- plain lines for cron and terminals ---------------------------------------------------


def shown_who(kind: str, ident: int, who: str) -> str:
    """Who an item is about, for a line that already holds its text: a person is named once
    (a stale lead's or a birthday's text ends with the name; a contact cadence's too, so
    only the customer's id follows)."""
    if kind in ("birthday", "lead"):
        return ""
    if kind == "cadence":
        return f"customer {ident}"
    return who


def write_lines(items: Iterable[Item], out: IO[str]) -> int:
    """One plain line per item: ``2026-11-20 09:00  overdue  reminder 4: … — customer 42 …``.
    Nothing at all when nothing is due (cron mails any output)."""
    count = 0
    batch: list[str] = []
    for local, _, ident, kind, _, _, status, text, who, *_ in items:
        who = shown_who(kind, ident, who)
        if who:
            line = f"{local:<16}  {status:<7}  {text} — {who}"
        else:
            line = f"{local:<16}  {status:<7}  {text}"
        if not line.isprintable():
            from crmcli.text import visible

            line = visible(line)
        batch.append(line)
        count += 1
        if len(batch) == 4096:
            out.write("\n".join(batch) + "\n")
            batch.clear()
    if batch:
        out.write("\n".join(batch) + "\n")
    return count
