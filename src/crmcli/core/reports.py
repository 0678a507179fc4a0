"""Reports: pipeline, forecast, sales and leads (customers, tickets and activity are in
:mod:`crmcli.core.reports_service`).

Every figure is computed by SQLite: each report is a few SQL statements, built by the
``*_sql`` functions below as ``(sql, params)`` with plain ``?`` placeholders (the benchmark
runs the same SQL in the ``sqlite3`` shell), and Python only names the rows it gets back.
Medians come from window functions (``row_number`` / ``count`` over a partition).

Conventions of every report (also the JSON field names, documented in docs/output.md):

* amounts are integer minor units of the row's ``currency`` and never summed across
  currencies: a row holds one currency; a weighted value is ``(Σ amount × probability + 50)
  / 100`` like ``crm deal pipeline``; deals without an amount count in ``deals`` (and in
  ``unpriced``) but not in totals;
* a total, average or median with nothing to sum is ``null``; counts are ``0``;
* ``*_pct`` fields are percentages (0-100, one decimal), ``null`` when the base is 0;
  ``*_days`` and ``*_hours`` are elapsed time with one decimal;
* periods are local calendar periods (:mod:`crmcli.core.periods`); a period of the range
  with nothing in it is a row of zeros with ``currency`` null.

A report is a list of sections (:class:`Section`); each knows whether it has anything in it,
so that an empty report says so instead of printing a table of zeros.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from crmcli.core.periods import (
    STEP,
    Range,
    local_sql,
    period_label_sql,
    period_start_sql,
    series_bounds,
)
from crmcli.db import Database

SALES_BY = ("month", "quarter", "year")
LEADS_BY = ("source", "month")
FORECAST_MONTHS_MAX = 120

PIPELINE_COLUMNS = (
    "stage", "position", "probability", "currency", "deals", "unpriced", "total", "weighted",
    "avg_age_days",
)  # fmt: skip
FUNNEL_COLUMNS = ("step", "stage", "reached", "moved_on", "conversion_pct", "dropped", "lost")
FORECAST_COLUMNS = ("month", "currency", "deals", "unpriced", "total", "weighted")
SALES_COLUMNS = (
    "period", "currency", "won", "won_value", "lost", "win_rate_pct", "avg_won",
    "median_days_to_win", "mean_days_to_win",
)  # fmt: skip
LOST_REASON_COLUMNS = ("rank", "reason", "lost", "share_pct")
AVERAGES_COLUMNS = (
    "currency", "deals", "won_value", "customers", "avg_order_value", "avg_per_customer",
)  # fmt: skip
LEADS_COLUMNS = (
    "leads", "contacted", "qualified", "converted", "lost", "conversion_pct",
    "median_days_to_convert",
)  # fmt: skip


class Section:
    """One table of a report: its records and, when there is nothing to report, why."""

    __slots__ = ("name", "title", "columns", "rows", "empty")

    def __init__(
        self,
        name: str,
        title: str,
        columns: Sequence[str],
        rows: list[dict[str, Any]],
        empty: str | None = None,
    ) -> None:
        self.name, self.title, self.columns = name, title, tuple(columns)
        # An empty section has no rows (not even zero-filled periods).
        self.rows = [] if empty is not None else rows
        self.empty = empty


class Report:
    """A report's sections in display order; ``main`` is the one a record format prints
    when no section is chosen.  ``meta`` holds the range and options it was run with."""

    __slots__ = ("name", "meta", "sections", "main")

    def __init__(
        self, name: str, meta: dict[str, Any], sections: Sequence[Section], main: str
    ) -> None:
        self.name, self.meta, self.main = name, meta, main
        self.sections = {s.name: s for s in sections}

    @property
    def empty(self) -> bool:
        return all(s.empty is not None for s in self.sections.values())

    def document(self) -> dict[str, Any]:
        """The whole report as one JSON object: ``report``, the meta fields, then one list
        of records per section."""
        doc: dict[str, Any] = {"report": self.name, **self.meta}
        for name, section in self.sections.items():
            doc[name] = [{c: row.get(c) for c in section.columns} for row in section.rows]
        return doc


# -- SQL plumbing -------------------------------------------------------------------------

_TOKEN = re.compile(r"'[^']*'|:([a-z_]+)")


def bind(sql: str, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """``:name`` placeholders (outside quotes) -> ``?`` with the values in order, so the SQL
    runs as written in the ``sqlite3`` shell once the values are inlined."""
    params: list[Any] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)
        params.append(values[match.group(1)])
        return "?"

    return _TOKEN.sub(replace, sql), params


def run(db: Database, query: tuple[str, list[Any]]) -> list[dict[str, Any]]:
    return list(db.query(*query))


def series_sql(by: str, agg: str) -> str:
    """CTEs ``periods`` (every period start from ``:first`` -- or, when it is NULL, the
    first period in ``agg`` -- to ``:last``) and ``allp`` (those plus any in ``agg``)."""
    step = STEP[by]
    return f"""periods(pstart) AS (
  SELECT coalesce(:first, (SELECT min(pstart) FROM {agg}))
  UNION ALL SELECT date(pstart, '{step}') FROM periods WHERE date(pstart, '{step}') <= :last
),
allp AS (SELECT pstart FROM periods WHERE pstart IS NOT NULL UNION SELECT pstart FROM {agg})"""


def series_values(rng: Range, by: str, today: date) -> dict[str, Any]:
    first, last = series_bounds(rng, by, today)
    return {"first": first, "last": last, "start": rng.start_utc, "end": rng.end_utc}


def median_sql(source: str, keys: str, value: str) -> str:
    """A ``SELECT keys, median`` over ``source`` grouped by ``keys`` (window functions:
    the middle row, or the mean of the two middle rows)."""
    part = f"PARTITION BY {keys}" if keys else ""
    select = f"{keys}, " if keys else ""
    group = f" GROUP BY {keys}" if keys else ""
    return (
        f"SELECT {select}avg(v) AS median FROM ("
        f"SELECT {select}{value} AS v, row_number() OVER ({part} ORDER BY {value}) AS rn, "
        f"count(*) OVER ({part}) AS n FROM {source} WHERE {value} IS NOT NULL) "
        f"WHERE rn BETWEEN (n + 1) / 2 AND (n + 2) / 2{group}"
    )


def _today() -> date:
    from crmcli.clock import today_local

    return today_local()


def _now() -> str:
    from crmcli.clock import utc_now_iso

    return utc_now_iso()


def _has(rows: list[dict[str, Any]], column: str) -> bool:
    return any(row.get(column) for row in rows)


# -- pipeline -----------------------------------------------------------------------------

# Per open stage and currency, as of now (``:now``: UTC ISO).  Two aggregates joined, so
# that each reads one index: the totals come from deals_stage alone, and the ages from
# an index on (stage_id, currency, stage_changed_at) when there is one.
PIPELINE_SQL = """
WITH totals AS (
  SELECT s.id, s.name AS stage, s.position, s.probability, d.currency, count(d.id) AS deals,
         count(d.id) - count(d.amount) AS unpriced, sum(d.amount) AS total,
         (sum(d.amount * coalesce(d.probability, s.probability)) + 50) / 100 AS weighted
  FROM stages s LEFT JOIN deals d ON d.stage_id = s.id
  WHERE s.kind = 'open' AND s.removed_at IS NULL
  GROUP BY s.id, d.currency
),
ages AS (
  SELECT d.stage_id, d.currency,
         avg(julianday(:now) - julianday(d.stage_changed_at)) AS age_days
  FROM deals d
  WHERE d.stage_id IN (SELECT id FROM stages WHERE kind = 'open' AND removed_at IS NULL)
  GROUP BY d.stage_id, d.currency
)
SELECT t.stage, t.position, t.probability, t.currency, t.deals, t.unpriced, t.total,
       t.weighted, round(a.age_days, 1) AS avg_age_days
FROM totals t LEFT JOIN ages a ON a.stage_id = t.id AND a.currency = t.currency
ORDER BY t.position, t.currency
"""

# The stage funnel of the deals created in the range, from their stage history: a deal
# *reached* a step when it ever entered that open stage or a later one, or won (the last
# step); ``moved_on`` reached the next step; ``lost``: stopped at this step and now lost.
FUNNEL_SQL = """
WITH steps AS MATERIALIZED (
  SELECT s.id, s.name, s.kind,
         CASE s.kind
           WHEN 'won' THEN (SELECT count(*) FROM stages o
                            WHERE o.kind = 'open' AND o.removed_at IS NULL) + 1
           ELSE (SELECT count(*) FROM stages o
                 WHERE o.kind = 'open' AND o.removed_at IS NULL AND o.position <= s.position)
         END AS step
  FROM stages s WHERE s.removed_at IS NULL AND s.kind IN ('open', 'won')
),
tops AS MATERIALIZED (
  SELECT h.deal_id, max(st.step) AS top
  FROM deal_stage_changes h JOIN steps st ON st.id = h.to_stage_id
  GROUP BY h.deal_id
),
ends AS MATERIALIZED (
  SELECT t.top, s.kind, count(*) AS n
  FROM tops t JOIN deals d ON d.id = t.deal_id JOIN stages s ON s.id = d.stage_id
  WHERE d.created_at >= :start AND d.created_at < :end
  GROUP BY t.top, s.kind
)
SELECT step, stage, reached, moved_on, round(100.0 * moved_on / reached, 1) AS conversion_pct,
       reached - moved_on AS dropped, lost
FROM (
  SELECT st.step, st.name AS stage,
         (SELECT coalesce(sum(n), 0) FROM ends WHERE top >= st.step) AS reached,
         CASE WHEN st.kind = 'open'
              THEN (SELECT coalesce(sum(n), 0) FROM ends WHERE top > st.step) END AS moved_on,
         CASE WHEN st.kind = 'open'
              THEN (SELECT coalesce(sum(n), 0) FROM ends WHERE top = st.step AND kind = 'lost')
         END AS lost
  FROM steps st
)
ORDER BY step
"""


def pipeline_sql(rng: Range, now: str) -> dict[str, tuple[str, list[Any]]]:
    """The SQL of each section of ``report pipeline``."""
    return {
        "stages": bind(PIPELINE_SQL, {"now": now}),
        "funnel": bind(FUNNEL_SQL, {"start": rng.start_utc, "end": rng.end_utc}),
    }


def pipeline(db: Database, rng: Range) -> Report:
    """Open deals per stage and currency (as of now) and the stage funnel of the deals
    created in ``rng``."""
    queries = pipeline_sql(rng, _now())
    stages = run(db, queries["stages"])
    funnel = run(db, queries["funnel"])
    return Report(
        "pipeline",
        rng.as_dict(),
        [
            Section(
                "stages",
                "Open deals by stage",
                PIPELINE_COLUMNS,
                stages,
                None if _has(stages, "deals") else "no open deals",
            ),
            Section(
                "funnel",
                f"Stage funnel of the deals created ({rng.describe()})",
                FUNNEL_COLUMNS,
                funnel,
                None
                if _has(funnel, "reached")
                else f"no deals with a stage history created ({rng.describe()})",
            ),
        ],  # fmt: skip
        "stages",
    )


# -- forecast -----------------------------------------------------------------------------

# Open deals by expected close month: ``overdue`` (before today), this month (from today)
# and the next ones up to ``:months`` months, ``later``, and ``undated`` (no close date).
FORECAST_SQL = """
WITH RECURSIVE months(month, n) AS (
  SELECT substr(:today, 1, 7), 1
  UNION ALL SELECT substr(date(month || '-01', '+1 month'), 1, 7), n + 1
  FROM months WHERE n < :months
),
buckets AS (
  SELECT CASE WHEN d.close_date IS NULL THEN 'undated'
              WHEN d.close_date < :today THEN 'overdue'
              WHEN d.close_date >= :horizon THEN 'later'
              ELSE substr(d.close_date, 1, 7) END AS month,
         d.currency, count(*) AS deals, count(*) - count(d.amount) AS unpriced,
         sum(d.amount) AS total,
         (sum(d.amount * coalesce(d.probability, s.probability)) + 50) / 100 AS weighted
  FROM deals d JOIN stages s ON s.id = d.stage_id
  WHERE s.kind = 'open'
  GROUP BY 1, 2
),
slots(month, ord) AS (
  SELECT 'overdue', 0 UNION ALL SELECT month, n FROM months
  UNION ALL SELECT 'later', 100000 UNION ALL SELECT 'undated', 100001
)
SELECT l.month, b.currency, coalesce(b.deals, 0) AS deals, coalesce(b.unpriced, 0) AS unpriced,
       b.total, b.weighted
FROM slots l LEFT JOIN buckets b ON b.month = l.month
WHERE b.month IS NOT NULL OR l.ord BETWEEN 1 AND 99999
ORDER BY l.ord, b.currency
"""


def forecast_sql(months: int, today: date) -> dict[str, tuple[str, list[Any]]]:
    index = today.year * 12 + today.month - 1 + months
    horizon = date(index // 12, index % 12 + 1, 1).isoformat()
    values = {"today": today.isoformat(), "months": months, "horizon": horizon}
    return {"months": bind(FORECAST_SQL, values)}


def forecast(db: Database, months: int = 6) -> Report:
    """Weighted value of the open deals by expected close month, ``months`` months from
    this one; overdue, later and undated deals in rows of their own."""
    today = _today()
    rows = run(db, forecast_sql(months, today)["months"])
    return Report(
        "forecast",
        {"today": today.isoformat(), "months_ahead": months},
        [
            Section(
                "months",
                "Forecast by expected close month",
                FORECAST_COLUMNS,
                rows,
                None if _has(rows, "deals") else "no open deals",
            )
        ],  # fmt: skip
        "months",
    )


# -- sales --------------------------------------------------------------------------------


def sales_sql(rng: Range, by: str, today: date) -> dict[str, tuple[str, list[Any]]]:
    """Won and lost deals closed in the range, per local period and currency; lost
    reasons ranked."""
    start = period_start_sql(by, "lt")
    periods_sql = f"""
WITH RECURSIVE closed AS MATERIALIZED (
  SELECT {start} AS pstart, currency, amount, kind, days FROM (
    SELECT {local_sql("d.closed_at")} AS lt, d.currency, d.amount, s.kind,
           julianday(d.closed_at) - julianday(d.created_at) AS days
    FROM deals d JOIN stages s ON s.id = d.stage_id
    WHERE s.kind IN ('won', 'lost') AND d.closed_at >= :start AND d.closed_at < :end
  )
),
agg AS MATERIALIZED (
  SELECT pstart, currency, sum(kind = 'won') AS won,
         sum(CASE WHEN kind = 'won' THEN amount END) AS won_value,
         count(CASE WHEN kind = 'won' THEN amount END) AS won_priced,
         sum(kind = 'lost') AS lost, avg(CASE WHEN kind = 'won' THEN days END) AS mean_days
  FROM closed GROUP BY pstart, currency
),
won AS (SELECT pstart, currency, days FROM closed WHERE kind = 'won'),
medians AS ({median_sql("won", "pstart, currency", "days")}),
{series_sql(by, "agg")}
SELECT {period_label_sql(by, "p.pstart")} AS period, a.currency, coalesce(a.won, 0) AS won,
       a.won_value, coalesce(a.lost, 0) AS lost,
       round(100.0 * a.won / (a.won + a.lost), 1) AS win_rate_pct,
       (a.won_value + a.won_priced / 2) / a.won_priced AS avg_won,
       round(m.median, 1) AS median_days_to_win, round(a.mean_days, 1) AS mean_days_to_win
FROM allp p LEFT JOIN agg a ON a.pstart = p.pstart
LEFT JOIN medians m ON m.pstart = a.pstart AND m.currency = a.currency
ORDER BY p.pstart, a.currency
"""
    reasons_sql = """
SELECT rank() OVER (ORDER BY count(*) DESC) AS rank, d.lost_reason AS reason, count(*) AS lost,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS share_pct
FROM deals d
WHERE d.stage_id IN (SELECT id FROM stages WHERE kind = 'lost')
  AND d.closed_at >= :start AND d.closed_at < :end
GROUP BY d.lost_reason
ORDER BY lost DESC, reason
"""
    values = series_values(rng, by, today)
    return {
        "periods": bind(periods_sql, values),
        "averages": bind(AVERAGES_SQL, values),
        "lost_reasons": bind(reasons_sql, values),
    }


# Per currency over the whole range, the won deals with an amount: average order value
# (won value / those deals) and average revenue per customer (won value / the customers
# they belong to), rounded half up like ``avg_won``.
AVERAGES_SQL = """
WITH won AS MATERIALIZED (
  SELECT d.customer_id, d.currency, d.amount FROM deals d
  WHERE d.stage_id IN (SELECT id FROM stages WHERE kind = 'won')
    AND d.closed_at >= :start AND d.closed_at < :end AND d.amount IS NOT NULL
)
SELECT currency, count(*) AS deals, sum(amount) AS won_value,
       count(DISTINCT customer_id) AS customers,
       (sum(amount) + count(*) / 2) / count(*) AS avg_order_value,
       (sum(amount) + count(DISTINCT customer_id) / 2) / count(DISTINCT customer_id)
         AS avg_per_customer
FROM won GROUP BY currency ORDER BY currency
"""


def sales(db: Database, rng: Range, by: str = "month") -> Report:
    queries = sales_sql(rng, by, _today())
    periods = run(db, queries["periods"])
    averages = run(db, queries["averages"])
    reasons = run(db, queries["lost_reasons"])
    when = f"({rng.describe()})"
    return Report(
        "sales",
        {**rng.as_dict(), "by": by},
        [
            Section(
                "periods",
                f"Sales by {by} {when}",
                SALES_COLUMNS,
                periods,
                None if _has(periods, "currency") else f"no deals won or lost {when}",
            ),
            Section(
                "averages",
                f"Averages of the deals won {when}",
                AVERAGES_COLUMNS,
                averages,
                None if averages else f"no deals won with an amount {when}",
            ),
            Section(
                "lost_reasons",
                f"Lost reasons {when}",
                LOST_REASON_COLUMNS,
                reasons,
                None if reasons else f"no deals lost {when}",
            ),
        ],  # fmt: skip
        "periods",
    )


# -- leads --------------------------------------------------------------------------------

# How far a status is along new -> contacted -> qualified -> converted (lost: 0).
_LEVEL = (
    "CASE {} WHEN 'contacted' THEN 1 WHEN 'qualified' THEN 2 WHEN 'converted' THEN 3 ELSE 0 END"
)


def leads_sql(rng: Range, by: str, today: date) -> dict[str, tuple[str, list[Any]]]:
    """Leads created in the range by source or local month: how far they got (from their
    status history and status), conversion, median days from creation to conversion."""
    key = "source" if by == "source" else period_start_sql("month", "lt")
    level_now = _LEVEL.format("l.status")
    level_then = _LEVEL.format("c.to_status")
    base = f"""
WITH RECURSIVE base AS MATERIALIZED (
  SELECT {key} AS grp, status, top, days FROM (
    SELECT {local_sql("l.created_at")} AS lt, l.source, l.status,
           max({level_now}, coalesce((SELECT max({level_then}) FROM lead_status_changes c
                                      WHERE c.lead_id = l.id), 0)) AS top,
           CASE WHEN l.status = 'converted'
                THEN julianday(l.converted_at) - julianday(l.created_at) END AS days
    FROM leads l WHERE l.created_at >= :start AND l.created_at < :end
  )
),
agg AS MATERIALIZED (
  SELECT grp, grp AS pstart, count(*) AS leads, sum(top >= 1) AS contacted,
         sum(top >= 2) AS qualified, sum(status = 'converted') AS converted,
         sum(status = 'lost') AS lost
  FROM base GROUP BY grp
),
medians AS ({median_sql("base", "grp", "days")})"""
    figures = """coalesce(a.leads, 0) AS leads, coalesce(a.contacted, 0) AS contacted,
       coalesce(a.qualified, 0) AS qualified, coalesce(a.converted, 0) AS converted,
       coalesce(a.lost, 0) AS lost, round(100.0 * a.converted / a.leads, 1) AS conversion_pct,
       round(m.median, 1) AS median_days_to_convert"""
    if by == "source":
        sql = f"""{base}
SELECT a.grp AS source, {figures}
FROM agg a LEFT JOIN medians m ON m.grp IS a.grp
ORDER BY a.leads DESC, a.grp IS NULL, a.grp
"""
    else:
        sql = f"""{base},
{series_sql("month", "agg")}
SELECT {period_label_sql("month", "p.pstart")} AS period, {figures}
FROM allp p LEFT JOIN agg a ON a.grp = p.pstart LEFT JOIN medians m ON m.grp = p.pstart
ORDER BY p.pstart
"""
    return {"groups": bind(sql, series_values(rng, "month", today))}


def leads(db: Database, rng: Range, by: str = "source") -> Report:
    rows = run(db, leads_sql(rng, by, _today())["groups"])
    when = f"({rng.describe()})"
    column = "source" if by == "source" else "period"
    return Report(
        "leads",
        {**rng.as_dict(), "by": by},
        [
            Section(
                "groups",
                f"Leads by {by}, created {when}",
                (column, *LEADS_COLUMNS),
                rows,
                None if _has(rows, "leads") else f"no leads created {when}",
            )
        ],  # fmt: skip
        "groups",
    )
