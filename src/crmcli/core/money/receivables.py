"""``crm report receivables``: what customers owe by age, days sales outstanding, collected.

Same conventions as :mod:`crmcli.core.reports` (SQL does the counting; :func:`receivables_sql`
returns ``(sql, params)`` per section, so the benchmark runs the same SQL in the ``sqlite3``
shell; amounts are integer minor units of the row's currency, never summed across
currencies).

The rules, as of a local date ``as_of`` (default today):

* an invoice is *owed* at ``as_of`` when it was issued on or before that day and its amount
  is more than the payments made up to the end of that day (local time); an invoice paid
  later still counts as owed at ``as_of``.  Void invoices are left out of every figure (their
  payments too);
* its *age* is the days from its due date to ``as_of``: ``current`` (not yet due, or due that
  day), ``1-30``, ``31-60``, ``61-90`` and ``over 90`` days past due;
* the range (``--from``/``--to``/``--period``, default: the year of ``as_of``) ends on
  ``as_of`` at the latest: nothing after it is known "as of" that day;
* days sales outstanding, per currency: ``receivables / invoiced × days``, where
  ``receivables`` is what is owed at the end of the range, ``invoiced`` the invoices issued
  in the range and ``days`` the days of the range, both ends included (an open start: from
  the currency's first invoice).  ``null`` when nothing was invoiced in the range;
* collected: the payments per local period (``--by``) of the range, by the local date of
  their ``paid_at``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from crmcli.core.periods import (
    Range,
    local_midnight_utc,
    local_sql,
    period_label_sql,
    period_start_sql,
)
from crmcli.core.reports import Report, Section, bind, run, series_sql, series_values
from crmcli.db import Database

RECEIVABLES_BY = ("month", "quarter", "year")
AGES = ("current", "1-30", "31-60", "61-90", "over 90")
AGEING_COLUMNS = ("currency", "age", "invoices", "owed", "share_pct")
CUSTOMER_COLUMNS = (
    "id", "name", "currency", "invoices", "owed", "current", "days_1_30", "days_31_60",
    "days_61_90", "over_90", "oldest_due",
)  # fmt: skip
DSO_COLUMNS = ("currency", "first_day", "last_day", "days", "invoiced", "receivables", "dso_days")
COLLECTED_COLUMNS = ("period", "currency", "payments", "collected")


def owed_sql(day: str, end: str) -> str:
    """CTEs ending with ``owed``: the invoices owed at the end of local day ``:{day}``
    (``:{end}``: the UTC instant that follows it) with what is still owed and the days past
    due.

    An invoice marked paid before ``:{end}`` owes nothing then (its last payment settled
    it), so only open invoices and those paid later are read: one pass over the invoices
    (``+issued_on``: a scan, not a million lookups through the date index), each summing its
    payments from the covering index on (invoice_id, paid_at, amount).  Materialized in two
    steps so that the sum is worked out once per invoice."""
    return f"""unpaid AS MATERIALIZED (
  SELECT i.id, i.deal_id, i.currency, i.due_date,
         i.amount - coalesce((SELECT sum(p.amount) FROM payments p
                              WHERE p.invoice_id = i.id AND p.paid_at < :{end}), 0) AS owed
  FROM invoices i
  WHERE (i.status = 'open' OR (i.status = 'paid' AND i.paid_at >= :{end}))
    AND +i.issued_on <= :{day}
),
owed AS MATERIALIZED (
  SELECT id, deal_id, currency, due_date, owed,
         CAST(julianday(:{day}) - julianday(due_date) AS INTEGER) AS late
  FROM unpaid WHERE owed > 0
)"""


_AGE_ORD = (
    "CASE WHEN late <= 0 THEN 1 WHEN late <= 30 THEN 2 WHEN late <= 60 THEN 3 "
    "WHEN late <= 90 THEN 4 ELSE 5 END"
)
_AGES_VALUES = ", ".join(f"({n}, '{age}')" for n, age in enumerate(AGES, 1))


def _bucket(lo: int | None, hi: int | None) -> str:
    low = "" if lo is None else f"late >= {lo}"
    high = "" if hi is None else f"late <= {hi}"
    return " AND ".join(x for x in (low, high) if x)


AGEING_SQL = f"""
WITH {owed_sql("as_of", "as_of_end")},
ages(ord, age) AS (VALUES {_AGES_VALUES}),
agg AS MATERIALIZED (
  SELECT currency, {_AGE_ORD} AS ord, count(*) AS invoices, sum(owed) AS owed
  FROM owed GROUP BY 1, 2
),
cur AS (SELECT currency, sum(invoices) AS invoices, sum(owed) AS owed FROM agg GROUP BY currency)
SELECT currency, age, invoices, owed, share_pct FROM (
  SELECT c.currency, a.ord, a.age, coalesce(g.invoices, 0) AS invoices,
         coalesce(g.owed, 0) AS owed, round(100.0 * coalesce(g.owed, 0) / c.owed, 1) AS share_pct
  FROM cur c CROSS JOIN ages a LEFT JOIN agg g ON g.currency = c.currency AND g.ord = a.ord
  UNION ALL
  SELECT currency, 6, 'total', invoices, owed, 100.0 FROM cur
)
ORDER BY currency, ord
"""

_SPLIT = ",\n       ".join(
    f"sum(CASE WHEN {_bucket(lo, hi)} THEN o.owed ELSE 0 END) AS {name}"
    for name, lo, hi in (
        ("current", None, 0), ("days_1_30", 1, 30), ("days_31_60", 31, 60),
        ("days_61_90", 61, 90), ("over_90", 91, None),
    )
)  # fmt: skip
CUSTOMERS_SQL = f"""
WITH {owed_sql("as_of", "as_of_end")}
SELECT c.id, c.name, o.currency, count(*) AS invoices, sum(o.owed) AS owed,
       {_SPLIT},
       min(o.due_date) AS oldest_due
FROM owed o JOIN deals d ON d.id = o.deal_id JOIN customers c ON c.id = d.customer_id
GROUP BY c.id, o.currency
ORDER BY o.currency, sum(o.owed) DESC, c.id
"""

# Receivables at the end of the range over what was invoiced in it, times its days.  The
# invoices of the range in one pass (``+issued_on``): over a year, a scan beats the lookups.
DSO_SQL = f"""
WITH {owed_sql("last_day", "last_end")},
held AS (SELECT currency, sum(owed) AS receivables FROM owed GROUP BY currency),
billed AS (
  SELECT currency, sum(amount) AS invoiced, min(issued_on) AS first
  FROM invoices
  WHERE status <> 'void' AND +issued_on >= coalesce(:first_day, '0000-01-01')
    AND +issued_on <= :last_day
  GROUP BY currency
),
cur AS (SELECT currency FROM held UNION SELECT currency FROM billed),
spans AS (
  SELECT c.currency, coalesce(:first_day, b.first) AS first_day, b.invoiced, h.receivables
  FROM cur c LEFT JOIN billed b ON b.currency = c.currency
  LEFT JOIN held h ON h.currency = c.currency
)
SELECT currency, first_day, :last_day AS last_day,
       CAST(julianday(:last_day) - julianday(first_day) AS INTEGER) + 1 AS days,
       coalesce(invoiced, 0) AS invoiced, coalesce(receivables, 0) AS receivables,
       CASE WHEN invoiced > 0 THEN round(
         coalesce(receivables, 0) * (julianday(:last_day) - julianday(first_day) + 1)
         / invoiced, 1) END AS dso_days
FROM spans ORDER BY currency
"""


def collected_sql(by: str) -> str:
    """Payments per local period of the range and currency (zero rows for quiet periods).

    Invoice by invoice (CROSS JOIN keeps that order): each reads its payments of the range
    from the covering index on (invoice_id, paid_at, amount).  The other way round, through
    the index on paid_at, every payment costs a lookup of its row and of its invoice: ten
    times slower on a year of a million payments."""
    return f"""
WITH RECURSIVE paid AS MATERIALIZED (
  SELECT {period_start_sql(by, "lt")} AS pstart, currency, count(*) AS payments,
         sum(amount) AS collected
  FROM (
    SELECT {local_sql("p.paid_at")} AS lt, i.currency, p.amount
    FROM invoices i CROSS JOIN payments p ON p.invoice_id = i.id
    WHERE i.status <> 'void' AND p.paid_at >= :start AND p.paid_at < :end
  )
  GROUP BY 1, 2
),
{series_sql(by, "paid")}
SELECT {period_label_sql(by, "p.pstart")} AS period, a.currency,
       coalesce(a.payments, 0) AS payments, a.collected
FROM allp p LEFT JOIN paid a ON a.pstart = p.pstart
ORDER BY p.pstart, a.currency
"""


def clip(rng: Range, as_of: date) -> Range:
    """The range, ending on ``as_of`` at the latest."""
    from crmcli.errors import InvalidValue

    if rng.start is not None and rng.start > as_of:
        raise InvalidValue("--from", rng.start.isoformat(), f"is after --as-of ({as_of})")
    return Range(rng.start, as_of if rng.end is None or rng.end > as_of else rng.end)


def receivables_sql(rng: Range, by: str, as_of: date) -> dict[str, tuple[str, list[Any]]]:
    """The SQL of each section; ``rng`` already clipped to ``as_of``."""
    last = rng.end or as_of
    values = {
        **series_values(rng, by, as_of),
        "as_of": as_of.isoformat(),
        "as_of_end": local_midnight_utc(as_of + timedelta(days=1)),
        "first_day": None if rng.start is None else rng.start.isoformat(),
        "last_day": last.isoformat(),
        "last_end": local_midnight_utc(last + timedelta(days=1)),
    }
    return {
        "ageing": bind(AGEING_SQL, values),
        "customers": bind(CUSTOMERS_SQL, values),
        "dso": bind(DSO_SQL, values),
        "collected": bind(collected_sql(by), values),
    }


def receivables(db: Database, rng: Range, as_of: date, by: str = "month") -> Report:
    """What is owed at ``as_of`` by age, per currency and per customer; days sales
    outstanding and the payments collected over ``rng`` (which ends on ``as_of`` at the
    latest)."""
    rng = clip(rng, as_of)
    queries = receivables_sql(rng, by, as_of)
    ageing = run(db, queries["ageing"])
    customers = run(db, queries["customers"])
    dso = run(db, queries["dso"])
    collected = run(db, queries["collected"])
    when = f"({rng.describe()})"
    nothing = f"no invoice owed at the end of {as_of}"
    return Report(
        "receivables",
        {"as_of": as_of.isoformat(), **rng.as_dict(), "by": by},
        [
            Section(
                "ageing",
                f"Owed at {as_of} by days past due",
                AGEING_COLUMNS,
                ageing,
                None if ageing else nothing,
            ),
            Section(
                "customers",
                f"Owed at {as_of} by customer",
                CUSTOMER_COLUMNS,
                customers,
                None if customers else nothing,
            ),
            Section(
                "dso",
                f"Days sales outstanding {when}",
                DSO_COLUMNS,
                dso,
                None if dso else f"no invoices issued or owed {when}",
            ),
            Section(
                "collected",
                f"Collected by {by} {when}",
                COLLECTED_COLUMNS,
                collected,
                None if any(r["payments"] for r in collected) else f"no payments {when}",
            ),
        ],  # fmt: skip
        "ageing",
    )
