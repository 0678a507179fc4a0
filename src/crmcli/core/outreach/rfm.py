"""RFM: recency, frequency and monetary scores (1-5) of every customer.

* recency: the last interaction or won deal (its ``closed_at``); more recent scores higher,
  never in touch scores 1;
* frequency: interactions plus won deals in the last 365 days;
* monetary: won deals' value in the last 365 days, in the default currency only (``crm
  config get currency``): amounts in different currencies cannot be ranked on one scale
  without exchange rates, which crmcli does not keep.  Won deals in other currencies count
  for recency and frequency, not for money.

Scores are quintiles over all customers by rank: a customer's score is
``1 + 5 * (customers with a strictly lower value) // (all customers)``, so equal values get
the same score (everyone with no won value scores monetary 1) and each score holds about a
fifth of the customers when values differ.  Everything is one SQL query (window functions),
so a segment's criteria and the benchmark run the same SQL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from crmcli.db import Database

SCORES = ("recency", "frequency", "monetary")
COLUMNS = ("id", "name", "last_activity", "frequency", "monetary", "currency", "r", "f", "m")
CELL_COLUMNS = ("cell", "r", "f", "m", "customers")
SEGMENT_COLUMNS = ("segment", "rule", "customers", "share")

# Named segments, first match wins (r, f, m are the scores 1-5); the usual RFM names.
NAMED: tuple[tuple[str, str, Any], ...] = (
    ("champions", "r>=4, f>=4, m>=4", lambda r, f, m: r >= 4 and f >= 4 and m >= 4),
    ("loyal", "r>=3, f>=4", lambda r, f, m: r >= 3 and f >= 4),
    ("big spenders", "r>=3, m>=4", lambda r, f, m: r >= 3 and m >= 4),
    ("new", "r>=4, f<=2", lambda r, f, m: r >= 4 and f <= 2),
    ("promising", "r>=3, f<=3", lambda r, f, m: r >= 3 and f <= 3),
    ("at risk", "r<=2, f>=3", lambda r, f, m: r <= 2 and f >= 3),
    ("hibernating", "r=2, f<=2", lambda r, f, m: r == 2 and f <= 2),
    ("lost", "r=1, f<=2", lambda r, f, m: r == 1 and f <= 2),
    ("others", "the rest", lambda r, f, m: True),
)


def query(since: str, currency: str) -> tuple[str, list[Any]]:
    """``SELECT id, last_activity, frequency, monetary, r, f, m`` for every customer:
    ``since`` is the UTC ISO moment 365 days ago, ``currency`` the default currency."""
    # Set-based: interactions and won deals grouped per customer from their indexes, joined
    # to the customers once (not five lookups per customer).
    sql = """
SELECT id, last_activity, frequency, monetary,
       1 + 5 * (rank() OVER (ORDER BY last_activity) - 1) / count(*) OVER () AS r,
       1 + 5 * (rank() OVER (ORDER BY frequency) - 1) / count(*) OVER () AS f,
       1 + 5 * (rank() OVER (ORDER BY monetary) - 1) / count(*) OVER () AS m
FROM (
  SELECT c.id,
         nullif(max(coalesce(i.last, ''), coalesce(w.last, '')), '') AS last_activity,
         coalesce(i.n, 0) + coalesce(w.n, 0) AS frequency,
         coalesce(w.m, 0) AS monetary
  FROM customers c
  LEFT JOIN (SELECT customer_id, max(happened_at) AS last, sum(happened_at >= ?) AS n
             FROM interactions WHERE customer_id IS NOT NULL GROUP BY customer_id) i
         ON i.customer_id = c.id
  LEFT JOIN (SELECT customer_id, max(closed_at) AS last, sum(closed_at >= ?) AS n,
                    sum(CASE WHEN closed_at >= ? AND currency = ? THEN amount ELSE 0 END) AS m
             FROM deals WHERE stage_id IN (SELECT id FROM stages WHERE kind = 'won')
             GROUP BY customer_id) w
         ON w.customer_id = c.id
)
"""
    return sql, [since, since, since, currency]


def since_and_currency(db: Database) -> tuple[str, str]:
    """The moment 365 days before now (UTC ISO, ``CRM_NOW`` honoured) and the default
    currency."""
    from crmcli.clock import now_local, to_utc_iso
    from crmcli.core.settings import load

    return to_utc_iso(now_local() - timedelta(days=365)), load(db).currency


def scores(db: Database) -> list[dict[str, Any]]:
    """Every customer's RFM values and scores, by id."""
    since, currency = since_and_currency(db)
    sql, params = query(since, currency)
    rows = list(
        db.query(
            f"SELECT s.*, c.name FROM ({sql}) s JOIN customers c ON c.id = s.id ORDER BY s.id",
            params,
        )
    )
    for row in rows:
        row["currency"] = currency
    return [{k: row[k] for k in COLUMNS} for row in rows]


def named(r: int, f: int, m: int) -> str:
    """The named segment of scores ``r``, ``f``, ``m`` (see :data:`NAMED`)."""
    return next(name for name, _rule, test in NAMED if test(r, f, m))


def report(db: Database) -> dict[str, list[dict[str, Any]]]:
    """``segments``: customers per named segment (all of them, in :data:`NAMED` order);
    ``cells``: customers per R-F-M cell that has any, best first."""
    since, currency = since_and_currency(db)
    sql, params = query(since, currency)
    cells = {
        (r, f, m): n
        for r, f, m, n in db.conn.execute(
            f"SELECT r, f, m, count(*) FROM ({sql}) GROUP BY r, f, m", params
        )
    }
    total = sum(cells.values())
    per_name = dict.fromkeys((name for name, _rule, _test in NAMED), 0)
    for (r, f, m), n in cells.items():
        per_name[named(r, f, m)] += n
    segments = [
        {
            "segment": name,
            "rule": rule,
            "customers": per_name[name],
            "share": round(100 * per_name[name] / total, 1) if total else 0.0,
        }
        for name, rule, _test in NAMED
    ]
    cell_rows = [
        {"cell": f"{r}{f}{m}", "r": r, "f": f, "m": m, "customers": n}
        for (r, f, m), n in sorted(cells.items(), reverse=True)
    ]
    return {"segments": segments, "cells": cell_rows}


def as_report(db: Database) -> Any:
    """``crm report customers --by rfm``: the named segments and the R-F-M cells."""
    from crmcli.core.reports import Report, Section

    since, currency = since_and_currency(db)
    parts = report(db)
    empty = None if parts["cells"] else "no customers yet"
    return Report(
        "customers",
        {"by": "rfm", "since": since, "currency": currency},
        [
            Section("segments", "RFM segments", SEGMENT_COLUMNS, parts["segments"], empty),
            Section(
                "cells",
                "RFM cells (recency, frequency, monetary)",
                CELL_COLUMNS,
                parts["cells"],
                empty,
            ),  # fmt: skip
        ],
        "segments",
    )
