"""``crm report campaigns``: what each campaign's messages did.

Per campaign, over the messages of its send log (``sends``) written in the range: how many
were sent, failed or skipped (and why), and what the recipients did within ``days`` days
after the first message the campaign sent them: replies (their interactions that are not
themselves campaign messages), deals opened (created) and deals won (closed in a won stage).
"""

from __future__ import annotations

from typing import Any

from crmcli.core.periods import Range
from crmcli.core.reports import Report, Section, bind, run
from crmcli.db import Database

DAYS_DEFAULT = 30
DAYS_MAX = 3650

CAMPAIGN_COLUMNS = (
    "id", "name", "channel", "kind", "first_send", "last_send", "sent", "failed", "skipped",
    "reached", "replies", "replied", "reply_pct", "deals_opened", "deals_won",
)  # fmt: skip
SKIPPED_COLUMNS = ("id", "name", "reason", "skipped")

# The send log rows in the range, and per campaign and recipient reached (a message sent)
# the window: from their first message in the range to ``:days`` days later.
_BASE = """
WITH s AS MATERIALIZED (
  SELECT campaign_id, customer_id, status, reason, at FROM sends
  WHERE at >= :start AND at < :end
),
reached AS MATERIALIZED (
  SELECT campaign_id, customer_id, min(at) AS since,
         strftime('%Y-%m-%dT%H:%M:%SZ', min(at), :window) AS until
  FROM s WHERE status = 'sent' GROUP BY campaign_id, customer_id
)
"""

CAMPAIGNS_SQL = (
    _BASE
    + """,
counts AS MATERIALIZED (
  SELECT campaign_id, sum(status = 'sent') AS sent, sum(status = 'failed') AS failed,
         sum(status = 'skipped') AS skipped, min(at) AS first_send, max(at) AS last_send
  FROM s GROUP BY campaign_id
),
replies AS MATERIALIZED (
  SELECT r.campaign_id, count(*) AS replies, count(DISTINCT r.customer_id) AS replied
  FROM reached r JOIN interactions i ON i.customer_id = r.customer_id
  WHERE (i.campaign_id IS NULL OR i.direction = 'in')
    AND i.happened_at > r.since AND i.happened_at <= r.until
  GROUP BY r.campaign_id
),
opened AS MATERIALIZED (
  SELECT r.campaign_id, count(*) AS deals FROM reached r
  JOIN deals d ON d.customer_id = r.customer_id
  WHERE d.created_at > r.since AND d.created_at <= r.until
  GROUP BY r.campaign_id
),
won AS MATERIALIZED (
  SELECT r.campaign_id, count(*) AS deals FROM reached r
  JOIN deals d ON d.customer_id = r.customer_id
  WHERE d.stage_id IN (SELECT id FROM stages WHERE kind = 'won')
    AND d.closed_at > r.since AND d.closed_at <= r.until
  GROUP BY r.campaign_id
),
people AS MATERIALIZED (
  SELECT campaign_id, count(*) AS reached FROM reached GROUP BY campaign_id
)
SELECT c.id, c.name, c.channel, c.kind, n.first_send, n.last_send, n.sent, n.failed,
       n.skipped, coalesce(p.reached, 0) AS reached, coalesce(y.replies, 0) AS replies,
       coalesce(y.replied, 0) AS replied,
       round(100.0 * coalesce(y.replied, 0) / p.reached, 1) AS reply_pct,
       coalesce(o.deals, 0) AS deals_opened, coalesce(w.deals, 0) AS deals_won
FROM counts n JOIN campaigns c ON c.id = n.campaign_id
LEFT JOIN people p ON p.campaign_id = c.id
LEFT JOIN replies y ON y.campaign_id = c.id
LEFT JOIN opened o ON o.campaign_id = c.id
LEFT JOIN won w ON w.campaign_id = c.id
ORDER BY n.first_send DESC, c.id DESC
"""
)

# In the order of the campaigns section (the newest first send first), then the commonest
# reason first.
SKIPPED_SQL = """
SELECT c.id, c.name, coalesce(s.reason, 'no reason given') AS reason, count(*) AS skipped,
       (SELECT min(x.at) FROM sends x
        WHERE x.campaign_id = c.id AND x.at >= :start AND x.at < :end) AS first_send
FROM sends s JOIN campaigns c ON c.id = s.campaign_id
WHERE s.status = 'skipped' AND s.at >= :start AND s.at < :end
GROUP BY c.id, 3
ORDER BY first_send DESC, c.id DESC, skipped DESC, reason
"""


def campaigns_sql(rng: Range, days: int) -> dict[str, tuple[str, list[Any]]]:
    values = {"start": rng.start_utc, "end": rng.end_utc, "window": f"+{days} days"}
    return {"campaigns": bind(CAMPAIGNS_SQL, values), "skipped": bind(SKIPPED_SQL, values)}


def campaigns(db: Database, rng: Range, days: int = DAYS_DEFAULT) -> Report:
    """Per campaign: messages sent, failed, skipped; the recipients reached, their replies,
    deals opened and won within ``days`` days; and the skipped messages by reason."""
    queries = campaigns_sql(rng, days)
    rows = run(db, queries["campaigns"])
    skipped = run(db, queries["skipped"])
    when = f"({rng.describe()})"
    within = f"within {days} day{'s' if days != 1 else ''}"
    return Report(
        "campaigns",
        {**rng.as_dict(), "days": days},
        [
            Section(
                "campaigns",
                f"Campaigns: messages {when}, replies and deals {within}",
                CAMPAIGN_COLUMNS,
                rows,
                None if rows else f"no campaign messages {when}",
            ),
            Section(
                "skipped",
                f"Skipped recipients by reason {when}",
                SKIPPED_COLUMNS,
                skipped,
                None if skipped else f"no skipped recipients {when}",
            ),
        ],
        "campaigns",
    )
