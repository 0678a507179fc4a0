"""Recommendation scores (NPS): "how likely are you to recommend us?", 0 to 10.

9-10 are promoters, 7-8 passives, 0-6 detractors; the net promoter score is the share of
promoters minus the share of detractors, in percent (-100 to 100).
"""

from __future__ import annotations

from crmcli.db import Database
from crmcli.errors import InvalidValue

COMMENT_MAX = 2000


def check_score(text: str) -> int:
    """A whole number from 0 to 10."""
    value = text.strip()
    if not (value.isascii() and value.lstrip("-+").isdigit() and len(value) <= 9):
        raise InvalidValue("SCORE", text, "a whole number from 0 to 10")
    try:
        score = int(value)
    except ValueError:
        raise InvalidValue("SCORE", text, "a whole number from 0 to 10") from None
    if not 0 <= score <= 10:
        raise InvalidValue("SCORE", text, "a whole number from 0 to 10")
    return score


def add(db: Database, customer_id: int, score: int, *, comment: str | None, at: str) -> int:
    """Record a score given at ``at`` (UTC ISO); returns its id.  Call inside
    ``db.write()``."""
    from crmcli.dates import utc_now_iso
    from crmcli.text import clean

    if not 0 <= score <= 10:
        raise InvalidValue("SCORE", score, "a whole number from 0 to 10")
    text = clean(comment, field="--comment", limit=COMMENT_MAX) if comment is not None else None
    db.require("customers", "customer", customer_id)
    cur = db.execute(
        "INSERT INTO nps_scores (customer_id, score, comment, at, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (customer_id, score, text, at, utc_now_iso()),
    )
    return int(cur.lastrowid or 0)


def for_customer(db: Database, customer_id: int) -> list[dict[str, object]]:
    """The customer's scores, newest first."""
    return list(
        db.query(
            "SELECT id, at, score, comment FROM nps_scores WHERE customer_id = ? "
            "ORDER BY at DESC, id DESC",
            (customer_id,),
        )
    )
