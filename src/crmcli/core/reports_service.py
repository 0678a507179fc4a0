"""Reports on the people side: customers, tickets, activity.

Same conventions as :mod:`crmcli.core.reports` (SQL does the counting; ``*_sql`` functions
return ``(sql, params)`` per section; amounts per currency in minor units).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from crmcli.core.periods import (
    STEP_BACK,
    Range,
    local_sql,
    period_label_sql,
    period_start_sql,
)
from crmcli.core.reports import Report, Section, bind, run, series_sql, series_values
from crmcli.db import Database

CUSTOMERS_BY = ("month", "quarter", "year")
ACTIVITY_BY = ("week", "month")
TOP_MAX = 10_000

TOP_COLUMNS = ("rank", "id", "name", "currency", "won_value", "won_deals", "last_contact")
CUSTOMER_SUMMARY_COLUMNS = (
    "customers", "buyers", "repeat_buyers", "repeat_rate_pct", "at_risk", "at_risk_days",
)  # fmt: skip
RETENTION_COLUMNS = ("period", "buyers", "retained", "previous_buyers", "retention_pct")
AT_RISK_COLUMNS = ("id", "name", "last_contact", "days_silent", "open_deals", "won_deals")
RECOMMENDATION_COLUMNS = (
    "period", "responses", "promoters", "passives", "detractors", "nps", "rated_tickets", "csat",
)  # fmt: skip
TICKET_OPEN_COLUMNS = ("priority", "tier", "open", "pending", "overdue")
TICKET_SUMMARY_COLUMNS = (
    "open", "pending", "overdue", "opened", "resolved", "median_hours_to_resolve",
    "mean_hours_to_resolve", "first_line_pct", "rated", "mean_satisfaction", "reopened",
)  # fmt: skip
SATISFACTION_COLUMNS = ("score", "tickets", "share_pct")
UNHAPPY_COLUMNS = ("id", "name", "tickets", "low_scores", "reopened", "worst_score")
ACTIVITY_COLUMNS = (
    "period", "calls", "emails", "meetings", "notes", "interactions", "deals_won", "deals_lost",
)  # fmt: skip

_WON_IN_RANGE = """d.stage_id IN (SELECT id FROM stages WHERE kind = 'won')
  AND d.closed_at >= :start AND d.closed_at < :end"""


def _today() -> date:
    from crmcli.clock import today_local

    return today_local()


def _now() -> str:
    from crmcli.clock import utc_now_iso

    return utc_now_iso()


def days_before(now: str, days: int) -> str:
    """The UTC ISO instant ``days`` days before ``now``."""
    from crmcli.dates import from_utc_iso, to_utc_iso

    return to_utc_iso(from_utc_iso(now) - timedelta(days=days))


# -- customers ----------------------------------------------------------------------------

# The top ``:top`` customers of each currency by value won in the range.
TOP_SQL = f"""
WITH won AS (
  SELECT d.customer_id, d.currency, sum(d.amount) AS won_value, count(*) AS won_deals
  FROM deals d WHERE {_WON_IN_RANGE}
  GROUP BY d.customer_id, d.currency
),
ranked AS (
  SELECT customer_id, currency, won_value, won_deals,
         row_number() OVER (PARTITION BY currency
                            ORDER BY won_value IS NULL, won_value DESC, won_deals DESC,
                                     customer_id) AS rank
  FROM won
)
SELECT r.rank, c.id, c.name, r.currency, r.won_value, r.won_deals,
       (SELECT max(i.happened_at) FROM interactions i WHERE i.customer_id = c.id)
         AS last_contact
FROM ranked r JOIN customers c ON c.id = r.customer_id
WHERE r.rank <= :top
ORDER BY r.currency, r.rank
"""
# Buyers: customers with a won deal in the range; repeat buyers: more than one.
CUSTOMER_SUMMARY_SQL = f"""
WITH buyers AS (
  SELECT d.customer_id, count(*) AS n FROM deals d WHERE {_WON_IN_RANGE}
  GROUP BY d.customer_id
)
SELECT (SELECT count(*) FROM customers) AS customers, count(*) AS buyers,
       coalesce(sum(n > 1), 0) AS repeat_buyers,
       round(100.0 * sum(n > 1) / count(*), 1) AS repeat_rate_pct
FROM buyers
"""
# Customers with open deals or won deals whose last interaction (or, never contacted,
# their creation) is before ``:cutoff``; the ones with open deals first.  The deals are
# counted in one pass ("+": a scan and a sort beat a million lookups through the
# customer index).
AT_RISK_SQL = """
WITH dealt AS MATERIALIZED (
  SELECT d.customer_id, sum(s.kind = 'open') AS open_deals, sum(s.kind = 'won') AS won_deals
  FROM deals d JOIN stages s ON s.id = d.stage_id
  WHERE s.kind IN ('open', 'won')
  GROUP BY +d.customer_id
),
seen AS MATERIALIZED (
  SELECT c.id, c.name, c.created_at, x.open_deals, x.won_deals,
         (SELECT max(i.happened_at) FROM interactions i WHERE i.customer_id = c.id)
           AS last_contact
  FROM dealt x JOIN customers c ON c.id = x.customer_id
)
SELECT id, name, last_contact,
       CAST(julianday(:now) - julianday(coalesce(last_contact, created_at)) AS INTEGER)
         AS days_silent,
       open_deals, won_deals
FROM seen
WHERE coalesce(last_contact, created_at) < :cutoff
ORDER BY open_deals DESC, won_deals DESC, days_silent DESC, id
"""


def retention_sql(by: str) -> str:
    """Buyers per local period of the range, and how many of them also bought in the
    period before (``retained``; ``null`` for the first period listed)."""
    back = STEP_BACK[by]
    return f"""
WITH RECURSIVE per AS MATERIALIZED (
  SELECT DISTINCT customer_id, {period_start_sql(by, "lt")} AS pstart FROM (
    SELECT d.customer_id, {local_sql("d.closed_at")} AS lt FROM deals d WHERE {_WON_IN_RANGE}
  )
),
agg AS MATERIALIZED (
  SELECT p.pstart, count(*) AS buyers, count(q.customer_id) AS retained
  FROM per p
  LEFT JOIN per q ON q.customer_id = p.customer_id AND q.pstart = date(p.pstart, '{back}')
  GROUP BY p.pstart
),
{series_sql(by, "agg")},
listed AS (
  SELECT p.pstart, coalesce(a.buyers, 0) AS buyers, coalesce(a.retained, 0) AS retained,
         CASE WHEN lag(p.pstart) OVER w = date(p.pstart, '{back}')
              THEN lag(coalesce(a.buyers, 0)) OVER w END AS previous_buyers
  FROM allp p LEFT JOIN agg a ON a.pstart = p.pstart
  WINDOW w AS (ORDER BY p.pstart)
)
SELECT {period_label_sql(by, "pstart")} AS period, buyers,
       CASE WHEN previous_buyers IS NOT NULL THEN retained END AS retained, previous_buyers,
       round(100.0 * retained / previous_buyers, 1) AS retention_pct
FROM listed ORDER BY pstart
"""


def recommendation_sql(by: str) -> str:
    """NPS and CSAT per local period of the range.

    NPS: each customer's last score in the period (a customer asked twice counts once, by
    their latest answer); promoters (9-10) minus detractors (0-6), in percent of those
    customers.  CSAT: the mean satisfaction (1-5) of the tickets opened in the period, as
    ``crm report tickets`` counts it."""
    start = period_start_sql(by, "lt")
    return f"""
WITH RECURSIVE scored AS MATERIALIZED (
  SELECT pstart, score,
         row_number() OVER (PARTITION BY customer_id, pstart ORDER BY at DESC, id DESC) AS rn
  FROM (
    SELECT customer_id, score, at, id, {start} AS pstart FROM (
      SELECT n.customer_id, n.score, n.at, n.id, {local_sql("n.at")} AS lt FROM nps_scores n
      WHERE n.at >= :start AND n.at < :end
    )
  )
),
nps AS MATERIALIZED (
  SELECT pstart, count(*) AS responses, sum(score >= 9) AS promoters,
         sum(score BETWEEN 7 AND 8) AS passives, sum(score <= 6) AS detractors
  FROM scored WHERE rn = 1 GROUP BY pstart
),
csat AS MATERIALIZED (
  SELECT {start} AS pstart, count(*) AS rated, avg(satisfaction) AS mean FROM (
    SELECT {local_sql("t.created_at")} AS lt, t.satisfaction FROM tickets t
    WHERE t.satisfaction IS NOT NULL AND t.created_at >= :start AND t.created_at < :end
  )
  GROUP BY 1
),
agg AS MATERIALIZED (SELECT pstart FROM nps UNION SELECT pstart FROM csat),
{series_sql(by, "agg")}
SELECT {period_label_sql(by, "p.pstart")} AS period, coalesce(n.responses, 0) AS responses,
       coalesce(n.promoters, 0) AS promoters, coalesce(n.passives, 0) AS passives,
       coalesce(n.detractors, 0) AS detractors,
       round(100.0 * (n.promoters - n.detractors) / n.responses, 1) AS nps,
       coalesce(c.rated, 0) AS rated_tickets, round(c.mean, 1) AS csat
FROM allp p LEFT JOIN nps n ON n.pstart = p.pstart LEFT JOIN csat c ON c.pstart = p.pstart
ORDER BY p.pstart
"""


def customers_sql(
    rng: Range, by: str, top: int, now: str, cutoff: str, today: date
) -> dict[str, tuple[str, list[Any]]]:
    values = {**series_values(rng, by, today), "top": top, "now": now, "cutoff": cutoff}
    return {
        "top": bind(TOP_SQL, values),
        "summary": bind(CUSTOMER_SUMMARY_SQL, values),
        "retention": bind(retention_sql(by), values),
        "at_risk": bind(AT_RISK_SQL, values),
        "recommendation": bind(recommendation_sql(by), values),
    }


def customers(db: Database, rng: Range, *, top: int = 10, by: str = "year") -> Report:
    """Top customers by won value (per currency), repeat buyers, retention per period, the
    customers at risk (no interaction for the ``at_risk_days`` setting), and NPS beside
    CSAT per period (:func:`recommendation_sql`)."""
    from crmcli.core.settings import get

    days = int(get(db, "at_risk_days") or 60)
    now = _now()
    queries = customers_sql(rng, by, top, now, days_before(now, days), _today())
    tops = run(db, queries["top"])
    summary = run(db, queries["summary"])
    retention = run(db, queries["retention"])
    at_risk = run(db, queries["at_risk"])
    recommendation = run(db, queries["recommendation"])
    answered = any(row["responses"] or row["rated_tickets"] for row in recommendation)
    summary[0].update(at_risk=len(at_risk), at_risk_days=days)
    when = f"({rng.describe()})"
    return Report(
        "customers",
        {**rng.as_dict(), "by": by, "top_n": top, "at_risk_days": days},
        [
            Section(
                "top",
                f"Top {top} customer{'s' if top != 1 else ''} by won value {when}",
                TOP_COLUMNS,
                tops,
                None if tops else f"no deals won {when}",
            ),
            Section(
                "summary",
                "Customers",
                CUSTOMER_SUMMARY_COLUMNS,
                summary,
                None if summary[0]["customers"] else "no customers yet",
            ),
            Section(
                "retention",
                f"Retention by {by} {when}",
                RETENTION_COLUMNS,
                retention,
                None if tops else f"no deals won {when}",
            ),
            Section(
                "at_risk",
                f"At risk: no interaction for {days} day{'s' if days != 1 else ''}",
                AT_RISK_COLUMNS,
                at_risk,
                None if at_risk else f"no customer at risk ({days} day{'s' if days != 1 else ''})",
            ),
            Section(
                "recommendation",
                f"Recommendation (NPS) and satisfaction (CSAT) by {by} {when}",
                RECOMMENDATION_COLUMNS,
                recommendation,
                None if answered else f"no recommendation scores and no rated tickets {when}",
            ),
        ],  # fmt: skip
        "top",
    )


# -- tickets ------------------------------------------------------------------------------

# Unresolved tickets now, by priority (most urgent first) and tier.
TICKETS_OPEN_SQL = """
SELECT t.priority, t.tier, sum(t.status = 'open') AS open, sum(t.status = 'pending') AS pending,
       sum(t.status = 'open' AND t.due_at < :now) AS overdue
FROM tickets t WHERE t.status IN ('open', 'pending')
GROUP BY t.priority, t.tier
ORDER BY CASE t.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END,
         t.tier
"""
# The tickets opened in the range: how many are resolved (resolved or closed now), how long
# that took (hours from opening to resolved_at), how many never left tier 1, satisfaction.
TICKETS_SUMMARY_SQL = """
WITH base AS MATERIALIZED (
  SELECT t.tier, t.satisfaction, t.reopened,
         (julianday(t.resolved_at) - julianday(t.created_at)) * 24 AS hours
  FROM tickets t WHERE t.created_at >= :start AND t.created_at < :end
)
SELECT (SELECT count(*) FROM tickets WHERE status = 'open') AS open,
       (SELECT count(*) FROM tickets WHERE status = 'pending') AS pending,
       (SELECT count(*) FROM tickets WHERE status = 'open' AND due_at < :now) AS overdue,
       count(*) AS opened, count(hours) AS resolved,
       (SELECT round(median, 1) FROM ({median})) AS median_hours_to_resolve,
       round(avg(hours), 1) AS mean_hours_to_resolve,
       round(100.0 * count(CASE WHEN hours IS NOT NULL AND tier = 1 THEN 1 END) / count(hours), 1)
         AS first_line_pct,
       count(satisfaction) AS rated, round(avg(satisfaction), 1) AS mean_satisfaction,
       count(CASE WHEN reopened > 0 THEN 1 END) AS reopened
FROM base
"""
SATISFACTION_SQL = """
WITH RECURSIVE scores(score) AS (SELECT 1 UNION ALL SELECT score + 1 FROM scores WHERE score < 5),
rated AS MATERIALIZED (
  SELECT satisfaction FROM tickets
  WHERE satisfaction IS NOT NULL AND created_at >= :start AND created_at < :end
)
SELECT s.score, count(r.satisfaction) AS tickets,
       round(100.0 * count(r.satisfaction) / (SELECT count(*) FROM rated), 1) AS share_pct
FROM scores s LEFT JOIN rated r ON r.satisfaction = s.score
GROUP BY s.score ORDER BY s.score
"""
# Customers with a ticket opened in the range that was rated 1 or 2 or was reopened.
UNHAPPY_SQL = """
SELECT c.id, c.name, count(*) AS tickets,
       count(CASE WHEN t.satisfaction <= 2 THEN 1 END) AS low_scores,
       count(CASE WHEN t.reopened > 0 THEN 1 END) AS reopened, min(t.satisfaction) AS worst_score
FROM tickets t JOIN customers c ON c.id = t.customer_id
WHERE t.created_at >= :start AND t.created_at < :end
GROUP BY c.id
HAVING count(CASE WHEN t.satisfaction <= 2 THEN 1 END) > 0
    OR count(CASE WHEN t.reopened > 0 THEN 1 END) > 0
ORDER BY low_scores DESC, reopened DESC, worst_score IS NULL, worst_score, c.id
"""


def tickets_sql(rng: Range, now: str) -> dict[str, tuple[str, list[Any]]]:
    from crmcli.core.reports import median_sql

    summary = TICKETS_SUMMARY_SQL.replace("{median}", median_sql("base", "", "hours"))
    values = {"start": rng.start_utc, "end": rng.end_utc, "now": now}
    return {
        "summary": bind(summary, values),
        "open": bind(TICKETS_OPEN_SQL, values),
        "satisfaction": bind(SATISFACTION_SQL, values),
        "unhappy": bind(UNHAPPY_SQL, values),
    }


def tickets(db: Database, rng: Range) -> Report:
    """Unresolved tickets now by priority and tier; resolution and satisfaction of the
    tickets opened in ``rng``; the customers with unhappy tickets."""
    queries = tickets_sql(rng, _now())
    summary = run(db, queries["summary"])
    opened = run(db, queries["open"])
    scores = run(db, queries["satisfaction"])
    unhappy = run(db, queries["unhappy"])
    when = f"({rng.describe()})"
    head = summary[0]
    anything = head["opened"] or head["open"] or head["pending"]
    return Report(
        "tickets",
        rng.as_dict(),
        [
            Section(
                "summary",
                f"Tickets opened {when}",
                TICKET_SUMMARY_COLUMNS,
                summary,
                None if anything else f"no tickets opened {when} and none unresolved",
            ),
            Section(
                "open",
                "Unresolved tickets by priority and tier",
                TICKET_OPEN_COLUMNS,
                opened,
                None if opened else "no unresolved tickets",
            ),
            Section(
                "satisfaction",
                f"Satisfaction of the tickets opened {when}",
                SATISFACTION_COLUMNS,
                scores,
                None if head["rated"] else f"no rated tickets opened {when}",
            ),
            Section(
                "unhappy",
                f"Unhappy customers: a score of 1-2 or a reopened ticket {when}",
                UNHAPPY_COLUMNS,
                unhappy,
                None if unhappy else f"no unhappy customers {when}",
            ),
        ],  # fmt: skip
        "summary",
    )


# -- activity -----------------------------------------------------------------------------


def activity_sql(rng: Range, by: str, today: date) -> dict[str, tuple[str, list[Any]]]:
    """Interactions per type and deals won / lost, per local period of the range."""
    start = period_start_sql(by, "lt")
    sql = f"""
WITH RECURSIVE acts AS MATERIALIZED (
  SELECT {start} AS pstart, count(*) AS interactions, sum(type = 'call') AS calls,
         sum(type = 'email') AS emails, sum(type = 'meeting') AS meetings,
         sum(type = 'note') AS notes
  FROM (
    SELECT {local_sql("i.happened_at")} AS lt, i.type FROM interactions i
    WHERE i.happened_at >= :start AND i.happened_at < :end
  )
  GROUP BY 1
),
results AS MATERIALIZED (
  SELECT {start} AS pstart, sum(kind = 'won') AS won, sum(kind = 'lost') AS lost
  FROM (
    SELECT {local_sql("d.closed_at")} AS lt, s.kind FROM deals d JOIN stages s ON s.id = d.stage_id
    WHERE s.kind IN ('won', 'lost') AND d.closed_at >= :start AND d.closed_at < :end
  )
  GROUP BY 1
),
agg AS MATERIALIZED (SELECT pstart FROM acts UNION SELECT pstart FROM results),
{series_sql(by, "agg")}
SELECT {period_label_sql(by, "p.pstart")} AS period, coalesce(a.calls, 0) AS calls,
       coalesce(a.emails, 0) AS emails, coalesce(a.meetings, 0) AS meetings,
       coalesce(a.notes, 0) AS notes, coalesce(a.interactions, 0) AS interactions,
       coalesce(r.won, 0) AS deals_won, coalesce(r.lost, 0) AS deals_lost
FROM allp p LEFT JOIN acts a ON a.pstart = p.pstart LEFT JOIN results r ON r.pstart = p.pstart
ORDER BY p.pstart
"""
    return {"periods": bind(sql, series_values(rng, by, today))}


def activity(db: Database, rng: Range, by: str = "month") -> Report:
    rows = run(db, activity_sql(rng, by, _today())["periods"])
    when = f"({rng.describe()})"
    busy = any(row["interactions"] or row["deals_won"] or row["deals_lost"] for row in rows)
    return Report(
        "activity",
        {**rng.as_dict(), "by": by},
        [
            Section(
                "periods",
                f"Activity by {by} {when}",
                ACTIVITY_COLUMNS,
                rows,
                None if busy else f"no interactions and no deals closed {when}",
            )
        ],  # fmt: skip
        "periods",
    )
