"""``crm today``: the morning screen, gathered from what ``crm remind due`` reads.

The due items come from :mod:`crmcli.core.due` (one look a week ahead, then each part keeps
what it shows); the day's numbers are two small aggregates over the deals.  A part is a
name, a title and the kinds of due items it holds, with how far ahead it looks: a new source
(invoices, say) becomes a kind in :mod:`crmcli.core.due` and joins a part here (``payments``),
and every output format follows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from crmcli.core import due
from crmcli.db import Database

NEAR_DAYS = 7  # deals, payments and birthdays this far ahead
TICKET_NEAR_HOURS = 24  # tickets due this soon

# Fields of an item (as ``crm remind due`` gives them) and of the day's numbers.
ITEM_COLUMNS = due.COLUMNS
PIPELINE_COLUMNS = ("currency", "deals", "unpriced", "total", "weighted")
WON_COLUMNS = ("currency", "deals", "unpriced", "total")
NUMBERS = {"pipeline": PIPELINE_COLUMNS, "won_this_month": WON_COLUMNS}


class Part:
    """One list of the screen: the due items of ``kinds`` that ``keeps`` selects."""

    __slots__ = ("name", "title", "kinds", "keeps")

    def __init__(
        self, name: str, title: str, kinds: tuple[str, ...], keeps: Callable[..., bool]
    ) -> None:
        self.name, self.title, self.kinds, self.keeps = name, title, kinds, keeps


def _due_today(item: due.Item, window: due.Window) -> bool:
    """Overdue or due today (what ``crm remind due`` prints by default)."""
    return item[6] in ("overdue", "today")


def _near(item: due.Item, window: due.Window) -> bool:
    """Anything of the week ahead (the window already ends there)."""
    return True


def _ticket_near(item: due.Item, window: due.Window) -> bool:
    """Past due, or due within :data:`TICKET_NEAR_HOURS` hours."""
    return item[5] < window.utc(window.now + timedelta(hours=TICKET_NEAR_HOURS))


PARTS = (
    Part("reminders", "Reminders, overdue and today", ("reminder",), _due_today),
    Part("birthdays", f"Birthdays, today and the next {NEAR_DAYS} days", ("birthday",), _near),
    Part("deals", f"Deals past or within {NEAR_DAYS} days of closing", ("deal",), _near),
    Part(
        "tickets",
        f"Tickets past due or due within {TICKET_NEAR_HOURS} hours",
        ("ticket",),
        _ticket_near,
    ),
    Part("leads", "Leads gone stale", ("lead",), _due_today),
    Part("payments", f"Payments due within {NEAR_DAYS} days", ("invoice",), _near),
    Part("contacts", "Customers due a contact", ("cadence",), _due_today),
    Part("contracts", "Contracts to renew (notice begun)", ("contract",), _due_today),
    Part("deliveries", "Deliveries, overdue and today", ("delivery",), _due_today),
)
KEYS = ("date", *(p.name for p in PARTS), *NUMBERS)

PIPELINE_SQL = """
SELECT d.currency, count(*) AS deals, count(*) - count(d.amount) AS unpriced,
       sum(d.amount) AS total,
       (sum(d.amount * coalesce(d.probability, s.probability)) + 50) / 100 AS weighted
FROM deals d JOIN stages s ON s.id = d.stage_id
WHERE s.kind = 'open' AND s.removed_at IS NULL
GROUP BY d.currency
ORDER BY d.currency
"""
WON_SQL = """
SELECT d.currency, count(*) AS deals, count(*) - count(d.amount) AS unpriced,
       sum(d.amount) AS total
FROM deals d JOIN stages s ON s.id = d.stage_id
WHERE s.kind = 'won' AND d.closed_at >= ? AND d.closed_at < ?
GROUP BY d.currency
ORDER BY d.currency
"""


class Today:
    """The screen's contents: ``items`` per part (due items, soonest first), the day's
    ``numbers`` (``pipeline`` and ``won_this_month``: a record per currency)."""

    __slots__ = ("day", "month", "items", "numbers", "stale_days")

    def __init__(
        self,
        day: str,
        month: str,
        items: dict[str, list[due.Item]],
        numbers: dict[str, list[dict[str, Any]]],
        stale_days: int,
    ) -> None:
        self.day, self.month, self.items, self.numbers = day, month, items, numbers
        self.stale_days = stale_days

    @property
    def quiet(self) -> bool:
        """Nothing due and no figures to show."""
        return not any(self.items.values()) and not any(self.numbers.values())

    def document(self) -> dict[str, Any]:
        """One object: ``date``, then a list per part and per figure, always all of them."""
        doc: dict[str, Any] = {"date": self.day}
        for part in PARTS:
            doc[part.name] = list(due.records(self.items[part.name]))
        for name, columns in NUMBERS.items():
            doc[name] = [{c: row[c] for c in columns} for row in self.numbers[name]]
        return doc

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every item and figure as one flat record with its ``part`` (tsv, csv, jsonl)."""
        for part in PARTS:
            for record in due.records(self.items[part.name]):
                yield {"part": part.name, **record}
        for name, columns in NUMBERS.items():
            for row in self.numbers[name]:
                yield {"part": name, **{c: row[c] for c in columns}}


# tsv / csv: a row per item or figure, the part first.
FLAT_COLUMNS = ("part", *ITEM_COLUMNS, *dict.fromkeys(PIPELINE_COLUMNS + WON_COLUMNS))


def gather(db: Database, *, now: datetime | None = None) -> Today:
    """What is due today and this week, part by part, and the day's numbers."""
    from crmcli.clock import now_local
    from crmcli.core.periods import period_range

    window = due.Window(now or now_local(), (NEAR_DAYS, "days"), due.read_settings(db))
    by_kind: dict[str, list[due.Item]] = {kind: [] for kind in due.KINDS}
    for item in due.gather(db, window, [k for p in PARTS for k in p.kinds]):
        by_kind[item[3]].append(item)
    items = {
        part.name: [i for kind in part.kinds for i in by_kind[kind] if part.keeps(i, window)]
        for part in PARTS
    }
    for part in PARTS:
        if len(part.kinds) > 1:
            items[part.name].sort()
    month = period_range("this-month", window.today)
    numbers = {
        "pipeline": list(db.query(PIPELINE_SQL)),
        "won_this_month": list(db.query(WON_SQL, (month.start_utc, month.end_utc))),
    }
    return Today(
        window.today_iso, window.today.strftime("%B %Y"), items, numbers, window.stale_days
    )
