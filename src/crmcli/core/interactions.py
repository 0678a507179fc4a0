"""Interactions: the calls, e-mails, meetings and notes of a customer or a lead, as records
of their own that can be found, read, corrected and deleted.

They are written by ``customer log`` and ``lead log`` (:func:`crmcli.core.customers.log`,
:func:`crmcli.core.leads.log`); this module lists, shows, edits and deletes them.  Nothing
here keeps anything else in step by hand: a customer's or lead's ``last_contacted`` is the
latest ``happened_at`` of its interactions, computed when read, and the search index (a row
per interaction, ``interactions_fts``) and the audit trail follow every change through the
triggers of :mod:`crmcli.migrations`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from crmcli.core.customers import INTERACTION_TYPES, match_query
from crmcli.db import Database
from crmcli.errors import InvalidValue, NotFound
from crmcli.text import NOTE_MAX, clean, fold_key, split_list

TYPES = INTERACTION_TYPES

# Every column an interaction carries, in output order (stable JSON field names).
COLUMNS = (
    "id", "uid", "type", "happened_at", "customer_id", "customer", "lead_id", "lead", "body",
    "created_at", "direction",
)  # fmt: skip

_SELECT = """
SELECT i.id, i.uid, i.type, i.happened_at, i.customer_id, c.name AS customer, i.lead_id,
       l.name AS lead, i.body, i.created_at, i.direction
FROM interactions i
LEFT JOIN customers c ON c.id = i.customer_id
LEFT JOIN leads l ON l.id = i.lead_id
"""
GET_SQL = _SELECT + "WHERE i.id = ?"
_ORDER = " ORDER BY i.happened_at DESC, i.id DESC"

# A search keeps the interactions whose own text holds every word: their index
# (``interactions_fts``, FTS5) narrows to the candidates, :func:`matches` confirms.  (An
# interaction of neither a customer nor a lead was never found: it still is not.)
_SEARCH_CANDIDATES = (
    "i.id IN (SELECT rowid FROM interactions_fts WHERE interactions_fts MATCH ?) "
    "AND (i.customer_id IS NOT NULL OR i.lead_id IS NOT NULL)"
)
_WORD = re.compile(r"\w+")


def check_type(raw: str, field: str = "--type") -> str:
    kind = raw.strip().lower()
    if kind not in TYPES:
        raise InvalidValue(field, raw, f"choose one of {', '.join(TYPES)}")
    return kind


def check_body(raw: str, field: str = "--body") -> str:
    text = clean(raw, field=field, limit=NOTE_MAX, required=True)
    assert text is not None
    return text


def check_types(values: Iterable[str]) -> list[str]:
    """``--type`` values: repeated, or comma-separated (``call,meeting``)."""
    kinds: list[str] = []
    for part in split_list(values):
        kind = check_type(part)
        if kind not in kinds:
            kinds.append(kind)
    return kinds


def bound(text: str, field: str, *, order: str, end: bool) -> str:
    """``--since`` / ``--until`` as a UTC instant: a date (``2026-11-01``, ``last monday``,
    ``2 weeks ago``) stands for its whole local day, so ``--until`` a date includes that
    day; a time (``yesterday 15:00``, ``now``) is that instant.  ``end``: the bound is
    exclusive (``--until``), so a date gives the next local midnight."""
    from crmcli.clock import to_utc_iso
    from crmcli.dates import parse_date, parse_datetime

    try:
        day: date | None = parse_date(text, order=order, field=field)
    except InvalidValue:
        day = None
    if day is None:
        moment = parse_datetime(text, order=order, field=field)
        if end:  # "until 15:00" includes 15:00:00 itself
            moment += timedelta(seconds=1)
        return to_utc_iso(moment)
    if end:
        day += timedelta(days=1)
    return to_utc_iso(datetime.combine(day, time()).astimezone())


def check_search(text: str) -> str:
    """The FTS5 query of a ``--search`` (an empty or unusable one is refused)."""
    return match_query(text)


def words_of(text: str) -> list[str]:
    """The words of a search, folded as the search index folds them (case, accents, đ)."""
    return _WORD.findall(fold_key(text))


def matches(body: str | None, words: list[str]) -> bool:
    """Whether every word of a search starts a word of ``body`` (as FTS5 prefix queries
    do: ``ngu`` finds ``Nguyễn``, ``duc`` finds ``Đức``)."""
    if not body:
        return False
    found = _WORD.findall(fold_key(body))
    return all(any(w.startswith(word) for w in found) for word in words)


def list_interactions(
    db: Database,
    *,
    customer_id: int | None = None,
    lead_id: int | None = None,
    types: Iterable[str] = (),
    since: str | None = None,
    until: str | None = None,
    search: str | None = None,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Interactions matching every filter, newest first, streamed.  ``since`` (inclusive)
    and ``until`` (exclusive) are UTC instants from :func:`bound`; an unknown customer or
    lead is an error (a mistyped id should not look like an empty history)."""
    where: list[str] = []
    params: list[Any] = []
    if customer_id is not None:
        db.require("customers", "customer", customer_id)
        where.append("i.customer_id = ?")
        params.append(customer_id)
    if lead_id is not None:
        db.require("leads", "lead", lead_id)
        where.append("i.lead_id = ?")
        params.append(lead_id)
    kinds = list(types)
    if kinds:
        where.append(f"i.type IN ({', '.join('?' * len(kinds))})")
        params.extend(kinds)
    if since is not None:
        where.append("i.happened_at >= ?")
        params.append(since)
    if until is not None:
        where.append("i.happened_at < ?")
        params.append(until)
    words: list[str] = []
    if search is not None:
        query = check_search(search)
        words = words_of(search)
        where.append(_SEARCH_CANDIDATES)
        params.append(query)
    sql = _SELECT + ("WHERE " + " AND ".join(where) if where else "") + _ORDER
    if not words:
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return db.query(sql, params)
    return _searched(db.query(sql, params), words, limit)


def _searched(
    rows: Iterable[dict[str, Any]], words: list[str], limit: int | None
) -> Iterator[dict[str, Any]]:
    count = 0
    for row in rows:
        if limit is not None and count >= limit:
            return
        if matches(row["body"], words):
            count += 1
            yield row


def get(db: Database, interaction_id: int) -> dict[str, Any]:
    row = db.one(GET_SQL, (interaction_id,))
    if row is None:
        raise NotFound("interaction", interaction_id)
    return row


def show(db: Database, interaction_id: int) -> dict[str, Any]:
    """One interaction with the names of its customer and lead."""
    return get(db, interaction_id)


def update(
    db: Database,
    interaction_id: int,
    *,
    body: str | None = None,
    kind: str | None = None,
    happened_at: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Change the text, type or time of an interaction (values already checked); returns
    the interaction as it now is and the names of the fields that changed."""
    current = get(db, interaction_id)
    given = {"body": body, "type": kind, "happened_at": happened_at}
    changed = {k: v for k, v in given.items() if v is not None and current[k] != v}
    if changed:
        assignments = ", ".join(f"{k} = ?" for k in changed)
        db.execute(
            f"UPDATE interactions SET {assignments} WHERE id = ?",
            [*changed.values(), interaction_id],
        )
    return get(db, interaction_id), list(changed)


def delete(db: Database, interaction_id: int) -> dict[str, Any]:
    """Delete an interaction (the audit trail keeps it for ``crm undo``); a follow-up
    reminder made with it stays, unlinked."""
    record = get(db, interaction_id)
    db.execute("DELETE FROM interactions WHERE id = ?", (interaction_id,))
    return record


def label(record: dict[str, Any]) -> str:
    """``call with Nguyễn Văn An`` / ``note on lead Mai``: names an interaction in messages."""
    who = record.get("customer") or record.get("lead")
    return f"{record['type']} with {who}" if who else str(record["type"])
