"""Quotes: a numbered, versioned copy of a deal's line items and totals, sent to a customer.

A deal's quotes share one number (``Q-2026-0007``, from the ``quote_number`` setting, never
reused); quoting the deal again after its items changed makes the next version of that
number (``Q-2026-0007 v2``) and the open versions before it become ``superseded``.  The
versions stay readable: together they are the quote log.

Statuses (stored): ``open``, ``accepted``, ``declined``, ``superseded``.  An open quote past
its ``valid_until`` date reads as ``expired``: computed, never stored, so extending nothing
and undoing nothing is needed when a date passes.

Quoting again is refused while the latest version is open, unexpired and its items are the
deal's items as they are now (nothing would change); after a decline, an expiry or an
acceptance, or once the items changed, it makes a new version.

Accepting moves the deal to the ``quote_accept_stage`` setting (default ``won``) through the
deals module, so the stage history and the won date are kept as ``crm deal won`` keeps them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from crmcli.db import Database
from crmcli.errors import InvalidValue, NotFound, UsageError
from crmcli.migrations import QUOTE_STATUSES
from crmcli.text import NOTE_MAX, clean

STATUSES = QUOTE_STATUSES  # open, accepted, declined, superseded (stored)
SHOWN_STATUSES = (*QUOTE_STATUSES, "expired")  # what list and show report
REASON_MAX = 1000

# Every column of a listed quote, in output order (stable JSON field names).
COLUMNS = (
    "id", "uid", "number", "version", "label", "deal_id", "deal", "customer_id", "customer",
    "status", "currency", "subtotal", "discount", "tax", "total", "issued_on", "valid_until",
    "note", "decline_reason", "decided_at", "created_at", "updated_at",
)  # fmt: skip
# One line of a quote (``show``).
ITEM_COLUMNS = (
    "position", "product", "unit", "quantity", "unit_price", "discount_bp", "discount_amount",
    "discount", "net", "tax_bp", "supplier", "delivery_date",
)  # fmt: skip
TAX_COLUMNS = ("rate_bp", "base", "tax")
# The deal item columns a quote copies.
_COPIED = (
    "product", "unit", "quantity", "unit_price", "discount_bp", "discount_amount", "tax_bp",
    "supplier", "delivery_date",
)  # fmt: skip

# ``Q-2026-0007v2``, ``Q-2026-0007 v2``, ``Q-2026-0007 V2``: a number and a version.
_VERSIONED = re.compile(r"(.+?)\s*[vV]([0-9]{1,9})\Z")

_SELECT = """
SELECT q.id, q.uid, q.number, q.version, q.deal_id, d.title AS deal, d.customer_id,
       c.name AS customer,
       CASE WHEN q.status = 'open' AND q.valid_until < ?1 THEN 'expired' ELSE q.status END
           AS status,
       q.currency, q.subtotal, q.discount, q.tax, q.total, q.valid_until, q.note,
       q.decline_reason, q.decided_at, q.created_at, q.updated_at
FROM quotes q JOIN deals d ON d.id = q.deal_id JOIN customers c ON c.id = d.customer_id
"""


def _now() -> str:
    from crmcli.clock import utc_now_iso

    return utc_now_iso()


def _today() -> date:
    from crmcli.clock import today_local

    return today_local()


def label(number: str, version: int) -> str:
    """``Q-2026-0007`` for a first version, ``Q-2026-0007 v2`` after it."""
    return number if version == 1 else f"{number} v{version}"


def _local_date(utc: str) -> str:
    from crmcli.dates import from_utc_iso

    return from_utc_iso(utc).astimezone().date().isoformat()


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["label"] = label(row["number"], row["version"])
    row["issued_on"] = _local_date(row["created_at"])
    return {c: row[c] for c in COLUMNS}


# -- values -------------------------------------------------------------------------------


def check_status(raw: str, *, field: str = "--status") -> str:
    value = raw.strip().lower()
    if value not in SHOWN_STATUSES:
        raise InvalidValue(field, raw, f"choose one of {', '.join(SHOWN_STATUSES)}")
    return value


def check_note(raw: str | None) -> str | None:
    return None if raw is None else clean(raw, field="--note", limit=NOTE_MAX)


def check_reason(raw: str) -> str:
    text = clean(raw, field="--reason", limit=REASON_MAX, required=True)
    assert text is not None
    return text


def resolve(db: Database, ref: str | int) -> int:
    """The id of the quote ``ref`` names: an id (``7``), a number (its latest version:
    ``Q-2026-0007``) or a number and version (``Q-2026-0007v2``, ``"Q-2026-0007 v2"``)."""
    text = str(ref).strip()
    if text.isascii() and text.isdigit() and len(text) < 19:
        ident = int(text)
        if db.scalar("SELECT 1 FROM quotes WHERE id = ?", (ident,)) is None:
            raise NotFound("quote", ident)
        return ident
    if not text or len(text) > 64 or not text.isprintable():
        raise InvalidValue("ID", ref, "not a quote id or number (e.g. 7 or Q-2026-0007 v2)")
    found = db.scalar(
        "SELECT id FROM quotes WHERE number = ? ORDER BY version DESC LIMIT 1", (text,)
    )
    if found is None:
        match = _VERSIONED.match(text)
        if match:
            found = db.scalar(
                "SELECT id FROM quotes WHERE number = ? AND version = ?",
                (match.group(1), int(match.group(2))),
            )
    if found is None:
        raise NotFound("quote", text)
    return int(found)


# -- reading ------------------------------------------------------------------------------


def get(db: Database, quote_id: int) -> dict[str, Any]:
    row = db.one(_SELECT + "WHERE q.id = ?2", (_today().isoformat(), quote_id))
    if row is None:
        raise NotFound("quote", quote_id)
    return _decode(row)


def items(db: Database, quote_id: int) -> list[dict[str, Any]]:
    """The quote's lines in order, each with its ``discount`` in minor units."""
    from crmcli.core.money.totals import line_amounts

    rows = list(
        db.query(
            "SELECT position, product, unit, quantity, unit_price, discount_bp, "
            "discount_amount, tax_bp, supplier, delivery_date, net FROM quote_items "
            "WHERE quote_id = ? ORDER BY position, id",
            (quote_id,),
        )
    )
    for row in rows:
        row["discount"] = line_amounts(row)[1]
    return [{c: row[c] for c in ITEM_COLUMNS} for row in rows]


def show(db: Database, quote_id: int) -> dict[str, Any]:
    """One quote with its lines under ``items`` and the tax per rate under ``taxes``."""
    from crmcli.core.money.totals import totals

    record = get(db, quote_id)
    record["items"] = items(db, quote_id)
    record["taxes"] = totals(record["items"])["taxes"]
    record["versions"] = [
        {"id": r["id"], "label": label(r["number"], r["version"]), "status": r["status"]}
        for r in db.query(
            "SELECT id, number, version, "
            "CASE WHEN status = 'open' AND valid_until < ? THEN 'expired' ELSE status END "
            "AS status FROM quotes WHERE number = ? ORDER BY version",
            (_today().isoformat(), record["number"]),
        )
    ]
    return record


def list_quotes(
    db: Database,
    *,
    deal_id: int | None = None,
    customer_id: int | None = None,
    statuses: Sequence[str] = (),
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Quotes matching every filter, oldest first (a number's versions in order), streamed;
    bad filters are refused before the first row.  ``expired`` and ``open`` are told apart
    by today's date."""
    today = _today().isoformat()
    where: list[str] = []
    params: list[Any] = [today]
    if deal_id is not None:
        db.require("deals", "deal", deal_id)
        where.append("q.deal_id = ?")
        params.append(deal_id)
    if customer_id is not None:
        db.require("customers", "customer", customer_id)
        where.append("d.customer_id = ?")
        params.append(customer_id)
    if statuses:
        chosen = sorted({check_status(s) for s in statuses})
        tests = []
        for status in chosen:
            if status == "expired":
                tests.append("(q.status = 'open' AND q.valid_until < ?1)")
            elif status == "open":
                tests.append("(q.status = 'open' AND coalesce(q.valid_until >= ?1, 1))")
            else:
                tests.append("q.status = ?")
                params.append(status)
        where.append("(" + " OR ".join(tests) + ")")
    sql = _SELECT + ("WHERE " + " AND ".join(where) if where else "") + " ORDER BY q.id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return map(_decode, db.query(sql, params))


def for_deal(db: Database, deal_id: int) -> list[dict[str, Any]]:
    """A deal's quotes, every version, oldest first."""
    return list(list_quotes(db, deal_id=deal_id))


# -- writing ------------------------------------------------------------------------------


def _deal_items(db: Database, deal_id: int) -> list[dict[str, Any]]:
    return list(
        db.query(
            f"SELECT {', '.join(_COPIED)} FROM deal_items WHERE deal_id = ? ORDER BY position, id",
            (deal_id,),
        )
    )


def _quote_lines(db: Database, quote_id: int) -> list[dict[str, Any]]:
    return list(
        db.query(
            f"SELECT {', '.join(_COPIED)} FROM quote_items WHERE quote_id = ? "
            "ORDER BY position, id",
            (quote_id,),
        )
    )


# What the customer agrees to: a later supplier or delivery date does not change the offer.
_TERMS = ("product", "unit", "quantity", "unit_price", "discount_bp", "discount_amount", "tax_bp")


def _commercial(lines: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(line[c] for c in _TERMS) for line in lines]


def _latest(db: Database, deal_id: int) -> dict[str, Any] | None:
    """The deal's most recent quote (its number's highest version)."""
    return db.one(
        "SELECT id, number, version, currency, status, valid_until FROM quotes "
        "WHERE deal_id = ? ORDER BY version DESC, id DESC LIMIT 1",
        (deal_id,),
    )


def create(
    db: Database,
    deal_id: int,
    *,
    valid_until: str | None = None,
    note: str | None = None,
) -> int:
    """A new open quote of the deal's line items as they are now; returns its id.

    ``valid_until`` (ISO date) defaults to today + the ``quote_valid_days`` setting.  The
    deal's first quote takes the next number of the ``quote_number`` pattern; later ones
    are the next version of that number (open versions before it become superseded).  A
    lost deal is not quoted."""
    from crmcli.core.money.numbering import next_number
    from crmcli.core.money.totals import line_amounts, totals
    from crmcli.core.settings import get as setting

    text = check_note(note)
    deal = db.one(
        "SELECT d.id, d.title, d.currency, s.kind FROM deals d "
        "JOIN stages s ON s.id = d.stage_id WHERE d.id = ?",
        (deal_id,),
    )
    if deal is None:
        raise NotFound("deal", deal_id)
    if deal["kind"] == "lost":
        raise UsageError(
            f"deal {deal_id} is lost; reopen it before quoting it again: "
            f"crm deal move {deal_id} STAGE --reopen"
        )
    lines = _deal_items(db, deal_id)
    if not lines:
        raise UsageError(
            f"deal {deal_id} has no line items to quote; add them first: "
            f'crm deal item add {deal_id} PRODUCT --qty N --price "PRICE"'
        )
    today = _today()
    if valid_until is None:
        days = int(setting(db, "quote_valid_days") or 30)
        valid_until = (today + timedelta(days=days)).isoformat()
    elif valid_until < today.isoformat():
        raise InvalidValue("--valid-until", valid_until, "is in the past")
    latest = _latest(db, deal_id)
    if latest is None:
        pattern = setting(db, "quote_number") or "Q-{year}-{seq:04d}"
        number, version = next_number(db, "quote", pattern, today, table="quotes"), 1
    else:
        number, version = str(latest["number"]), int(latest["version"]) + 1
        unchanged = (
            _quote_lines(db, latest["id"]) == lines and latest["currency"] == deal["currency"]
        )
        current = latest["status"] == "open" and not (
            latest["valid_until"] is not None and latest["valid_until"] < today.isoformat()
        )
        if unchanged and current:
            shown = label(number, int(latest["version"]))
            raise UsageError(
                f"deal {deal_id}'s items have not changed since quote {shown} (id "
                f"{latest['id']}), which is still open: crm quote show {latest['id']}"
            )
    figures = totals(lines)
    now = _now()
    if version > 1:
        db.execute(
            "UPDATE quotes SET status = 'superseded', updated_at = ? "
            "WHERE number = ? AND status = 'open'",
            (now, number),
        )
    cursor = db.execute(
        "INSERT INTO quotes (uid, number, version, deal_id, currency, subtotal, discount, tax, "
        "total, valid_until, note, status, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
        (str(uuid.uuid4()), number, version, deal_id, deal["currency"], figures["subtotal"],
         figures["discount"], figures["tax"], figures["total"], valid_until, text, now, now),
    )  # fmt: skip
    quote_id = int(cursor.lastrowid or 0)
    db.executemany(
        f"INSERT INTO quote_items (quote_id, position, {', '.join(_COPIED)}, net) "
        f"VALUES (?, ?, {', '.join('?' * len(_COPIED))}, ?)",
        [
            (quote_id, position, *(line[c] for c in _COPIED), line_amounts(line)[2])
            for position, line in enumerate(lines, 1)
        ],
    )
    return quote_id


def _refuse(quote: Mapping[str, Any], doing: str, hint: str = "") -> UsageError:
    shown = quote["label"]
    return UsageError(f"quote {shown} (id {quote['id']}) is {quote['status']}; {doing}{hint}")


def _latest_version(db: Database, quote: Mapping[str, Any]) -> int:
    return int(
        db.scalar("SELECT max(version) FROM quotes WHERE number = ?", (quote["number"],)) or 0
    )


def accept(db: Database, quote_id: int) -> dict[str, Any]:
    """Mark an open, unexpired, latest-version quote accepted and move its deal to the
    ``quote_accept_stage`` setting (won by default).  The deal's items must still be what
    the quote offers (product, unit, quantity, price, discount, tax).  A deal already in
    that stage stays; a deal won or lost otherwise is refused (reopen it first).  Returns
    the quote."""
    from crmcli.core import deals
    from crmcli.core.settings import get as setting

    quote = get(db, quote_id)
    if quote["status"] == "expired":
        raise _refuse(quote, "only an open quote within its validity can be accepted",
                      f"; quote the deal again: crm quote create {quote['deal_id']}")  # fmt: skip
    if quote["status"] != "open":
        raise _refuse(quote, "only an open quote can be accepted")
    if quote["version"] != _latest_version(db, quote):
        raise UsageError(f"quote {quote['label']} is not the latest version of {quote['number']}")
    if _commercial(_deal_items(db, quote["deal_id"])) != _commercial(_quote_lines(db, quote_id)):
        raise UsageError(
            f"deal {quote['deal_id']}'s items changed since quote {quote['label']}; quote it "
            f"again and accept the new version: crm quote create {quote['deal_id']}"
        )
    stage_name = setting(db, "quote_accept_stage") or "won"
    target = deals.find_stage(db, stage_name, field="quote_accept_stage")
    deal = deals.get(db, quote["deal_id"])
    if deal["stage"] != target["name"]:
        if deal["status"] != "open":
            raise UsageError(
                f"deal {deal['id']} is {deal['status']}; reopen it before accepting its quote: "
                f"crm deal move {deal['id']} STAGE --reopen"
            )
        if target["kind"] == "won":
            deals.won(db, deal["id"])
        elif target["kind"] == "lost":
            raise UsageError(
                f"the quote_accept_stage setting names the lost stage {target['name']}; "
                "set it to an open stage or won"
            )
        else:
            deals.move(db, deal["id"], target["name"])
    now = _now()
    db.execute(
        "UPDATE quotes SET status = 'accepted', decided_at = ?, updated_at = ? WHERE id = ?",
        (now, now, quote_id),
    )
    return get(db, quote_id)


def decline(db: Database, quote_id: int, reason: str) -> dict[str, Any]:
    """Mark an open quote (expired or not) declined, with the customer's reason.  The deal
    stays where it is: quote it again, or lose it with crm deal lost."""
    text = check_reason(reason)
    quote = get(db, quote_id)
    if quote["status"] not in ("open", "expired"):
        raise _refuse(quote, "only an open quote can be declined")
    now = _now()
    db.execute(
        "UPDATE quotes SET status = 'declined', decline_reason = ?, decided_at = ?, "
        "updated_at = ? WHERE id = ?",
        (text, now, now, quote_id),
    )
    return get(db, quote_id)


# -- the document -------------------------------------------------------------------------

_SELLER = ("name", "address", "tax_id", "bank", "email", "phone", "logo")


def document(db: Database, quote_id: int) -> dict[str, Any]:
    """The quote as one plain dict for the PDF and HTML writer (``quote_doc``): number,
    dates, status, the seller (``seller_*`` settings), the customer, the deal, the lines
    and the totals, every amount in integer minor units of ``currency``."""
    from crmcli.core.money.totals import totals

    quote = get(db, quote_id)
    lines = items(db, quote_id)
    stored = dict(db.conn.execute("SELECT key, value FROM settings").fetchall())
    customer = db.one(
        "SELECT c.name, c.company, c.email, c.phone, c.address, c.city, c.country "
        "FROM customers c JOIN deals d ON d.customer_id = c.id WHERE d.id = ?",
        (quote["deal_id"],),
    )
    assert customer is not None  # a quote's deal has a customer (foreign keys)
    place = ", ".join(p for p in (customer["city"], customer["country"]) if p)
    address = "\n".join(p for p in (customer["address"], place) if p) or None
    figures = totals(lines)
    return {
        "number": quote["number"],
        "version": quote["version"],
        "label": quote["label"],
        "issued_on": quote["issued_on"],
        "valid_until": quote["valid_until"],
        "status": quote["status"],
        "note": quote["note"],
        "currency": quote["currency"],
        "seller": {key: stored.get(f"seller_{key}") for key in _SELLER},
        "customer": {
            "name": customer["name"],
            "company": customer["company"],
            "email": customer["email"],
            "phone": customer["phone"],
            "address": address,
        },
        "deal": {"id": quote["deal_id"], "title": quote["deal"]},
        "items": lines,
        "totals": {
            "subtotal": figures["subtotal"],
            "discount": figures["discount"],
            "net": figures["net"],
            "taxes": figures["taxes"],
            "tax": figures["tax"],
            "total": figures["total"],
        },
    }
