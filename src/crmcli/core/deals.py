"""Deals: stages (data, not code), deals moving through them, line items, the pipeline board.

Amounts are integer minor units plus the deal's ISO 4217 currency (``crmcli.money``); a total
is always per currency.  Every stage change is a row in ``deal_stage_changes`` with its time.
Won and lost are end states: only ``move … --reopen`` takes a deal out of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from crmcli.core.money.deal_payments import PAID_AT_SQL, PAYMENT_DUE_SQL, set_due
from crmcli.core.settings import Config
from crmcli.db import Database
from crmcli.errors import CrmError, InvalidValue, NotFound, UsageError
from crmcli.text import NAME_MAX, NOTE_MAX, SHORT_MAX, clean

STAGE_NAME_MAX = 50

# Fields a user sets with add/edit (amount and currency come from one --amount value).
DATE_FIELDS = ("close_date", "contract_start", "contract_end", "payment_due")
TEXT_FIELDS = ("title", "notes", "contract_number")
FIELDS = ("title", "amount", "probability", "close_date", "notes", "contract_number",
          "contract_start", "contract_end", "payment_due")  # fmt: skip

# Every column of a listed deal, in output order (stable JSON field names).
COLUMNS = (
    "id", "uid", "title", "customer_id", "customer", "stage", "status", "amount", "currency",
    "probability", "weighted", "close_date", "overdue", "closed_at", "lost_reason",
    "contract_number", "contract_start", "contract_end", "payment_due", "paid_at", "notes",
    "lead_id", "stage_changed_at", "created_at", "updated_at", "customer_uid", "customer_email",
)  # fmt: skip
STAGE_COLUMNS = ("id", "name", "position", "probability", "kind", "deals")
HISTORY_COLUMNS = ("changed_at", "from_stage", "to_stage")
PIPELINE_COLUMNS = (
    "stage", "position", "probability", "currency", "deals", "total", "weighted", "overdue",
)  # fmt: skip
STATUSES = ("open", "won", "lost")

# The order stages are shown in: open ones by position, then won, then lost.
_STAGE_ORDER = "CASE s.kind WHEN 'open' THEN 0 WHEN 'won' THEN 1 ELSE 2 END, s.position"

# payment_due and paid_at come from the deal's invoices (core.money.deal_payments).
_SELECT = f"""
SELECT d.id, d.uid, d.title, d.customer_id, c.name AS customer, s.name AS stage,
       s.kind AS status, d.amount, d.currency,
       coalesce(d.probability, s.probability) AS probability,
       (d.amount * coalesce(d.probability, s.probability) + 50) / 100 AS weighted,
       d.close_date, s.kind = 'open' AND coalesce(d.close_date < ?, 0) AS overdue,
       d.closed_at, d.lost_reason, d.contract_number, d.contract_start, d.contract_end,
       {PAYMENT_DUE_SQL} AS payment_due, {PAID_AT_SQL} AS paid_at,
       d.notes, d.lead_id, d.stage_changed_at, d.created_at, d.updated_at,
       c.uid AS customer_uid, c.email AS customer_email
FROM deals d JOIN stages s ON s.id = d.stage_id JOIN customers c ON c.id = d.customer_id
"""

_NULLABLE_SORTS = frozenset({"close", "amount"})
_SORTS = {
    "id": "d.id",
    "close": "d.close_date",
    "amount": "d.amount",
    "created": "d.created_at",
    "updated": "d.updated_at",
    "title": "d.title COLLATE NOCASE",
}


def _now() -> str:
    from crmcli.clock import utc_now_iso

    return utc_now_iso()


def _today() -> str:
    from crmcli.clock import today_local

    return today_local().isoformat()


# -- stages -------------------------------------------------------------------------------


def stages(db: Database, *, counts: bool = True) -> list[dict[str, Any]]:
    """The stages in use, in board order, with how many deals sit in each."""
    deals = "(SELECT count(*) FROM deals d WHERE d.stage_id = s.id)" if counts else "NULL"
    return list(
        db.query(
            f"SELECT s.id, s.name, s.position, s.probability, s.kind, {deals} AS deals "
            f"FROM stages s WHERE s.removed_at IS NULL ORDER BY {_STAGE_ORDER}"
        )
    )


def find_stage(db: Database, name: str, *, field: str = "stage") -> dict[str, Any]:
    """The stage in use called ``name`` (case and accents ignored, as search ignores them:
    ``dam phan`` is the stage Đàm phán); an error lists the stages."""
    text = name.strip()
    row = db.one(
        "SELECT id, name, position, probability, kind FROM stages "
        "WHERE name = ? COLLATE NOCASE AND removed_at IS NULL",
        (text,),
    )
    if row is None and text:
        from crmcli.text import fold_key

        wanted = fold_key(text)
        alike = [
            r
            for r in db.query(
                "SELECT id, name, position, probability, kind FROM stages "
                "WHERE removed_at IS NULL ORDER BY position"
            )
            if fold_key(str(r["name"])) == wanted
        ]
        row = alike[0] if len(alike) == 1 else None
    if row is None:
        names = ", ".join(s["name"] for s in stages(db, counts=False))
        raise InvalidValue(field, name, f"no such stage; the stages are: {names}")
    return row


def _end_stage(db: Database, kind: str) -> dict[str, Any]:
    row = db.one(
        "SELECT id, name, position, probability, kind FROM stages "
        "WHERE kind = ? AND removed_at IS NULL",
        (kind,),
    )
    if row is None:  # the schema seeds both and nothing removes them
        raise CrmError(f"the database has no {kind} stage; run crm doctor")
    return row


def _first_open_stage(db: Database) -> dict[str, Any]:
    row = db.one(
        "SELECT id, name, position, probability, kind FROM stages s "
        "WHERE kind = 'open' AND removed_at IS NULL ORDER BY position LIMIT 1"
    )
    if row is None:
        raise CrmError("there are no open stages; add one: crm deal stages add NAME")
    return row


def check_stage_name(raw: str) -> str:
    name = clean(raw, field="stage name", limit=STAGE_NAME_MAX, required=True, multiline=False)
    assert name is not None
    if name.isdigit():
        raise InvalidValue("stage name", raw, "must not be a number")
    return name


def check_probability(raw: str | int, *, field: str = "--probability") -> int:
    text = str(raw).strip().removesuffix("%").strip()
    if not (text.isdecimal() and len(text) <= 9) or not 0 <= int(text) <= 100:
        raise InvalidValue(field, raw, "must be a whole number from 0 to 100")
    return int(text)


def _taken(db: Database, name: str, *, but: int | None = None) -> None:
    row = db.one(
        "SELECT id FROM stages WHERE name = ? COLLATE NOCASE AND removed_at IS NULL", (name,)
    )
    if row is not None and row["id"] != but:
        raise InvalidValue("stage name", name, "a stage of that name exists")


def _open_stage(db: Database, name: str, *, field: str = "stage") -> dict[str, Any]:
    row = find_stage(db, name, field=field)
    if row["kind"] != "open":
        raise InvalidValue(field, name, f"{row['name']} is an end state, not an open stage")
    return row


def _place(db: Database, stage_id: int | None, after: str | None, before: str | None) -> int:
    """Make room among the open stages and return the position for a stage placed ``after``
    or ``before`` another (default: last)."""
    if after is not None and before is not None:
        raise UsageError("give --after or --before, not both")
    if after is None and before is None:
        last = db.scalar(
            "SELECT max(position) FROM stages WHERE kind = 'open' AND removed_at IS NULL "
            "AND id IS NOT ?",
            (stage_id,),
        )
        return int(last or 0) + 1
    anchor = _open_stage(db, after if after is not None else before or "", field="--after"
                         if after is not None else "--before")  # fmt: skip
    if anchor["id"] == stage_id:
        raise UsageError("a stage cannot be placed next to itself")
    position = int(anchor["position"]) + (1 if after is not None else 0)
    db.execute(
        "UPDATE stages SET position = position + 1 WHERE kind = 'open' AND position >= ? "
        "AND id IS NOT ?",
        (position, stage_id),
    )
    return position


def add_stage(
    db: Database, name: str, probability: int, *, after: str | None = None,
    before: str | None = None,
) -> int:  # fmt: skip
    """A new open stage; returns its id."""
    name = check_stage_name(name)
    _taken(db, name)
    position = _place(db, None, after, before)
    cur = db.execute(
        "INSERT INTO stages (name, position, probability, kind) VALUES (?, ?, ?, 'open')",
        (name, position, check_probability(probability)),
    )
    _renumber(db)
    return int(cur.lastrowid or 0)


def _renumber(db: Database) -> None:
    """Positions 1, 2, 3 … for the open stages in use (gaps closed)."""
    rows = db.query(
        "SELECT id FROM stages WHERE kind = 'open' AND removed_at IS NULL ORDER BY position, id"
    )
    ids = [r["id"] for r in rows]
    db.executemany(
        "UPDATE stages SET position = ? WHERE id = ? AND position IS NOT ?",
        [(i, sid, i) for i, sid in enumerate(ids, start=1)],
    )


def rename_stage(db: Database, old: str, new: str) -> dict[str, Any]:
    row = find_stage(db, old)
    name = check_stage_name(new)
    _taken(db, name, but=row["id"])
    db.execute("UPDATE stages SET name = ? WHERE id = ?", (name, row["id"]))
    return row


def edit_stage(db: Database, name: str, probability: int) -> dict[str, Any]:
    row = find_stage(db, name)
    if row["kind"] != "open":
        raise InvalidValue("stage", name, f"the probability of {row['name']} is fixed")
    db.execute(
        "UPDATE stages SET probability = ? WHERE id = ?",
        (check_probability(probability), row["id"]),
    )
    return row


def move_stage(
    db: Database, name: str, *, after: str | None = None, before: str | None = None
) -> dict[str, Any]:
    row = _open_stage(db, name)
    if after is None and before is None:
        raise UsageError("say where: --after STAGE or --before STAGE")
    position = _place(db, row["id"], after, before)
    db.execute("UPDATE stages SET position = ? WHERE id = ?", (position, row["id"]))
    _renumber(db)
    return row


def remove_stage(db: Database, name: str, *, to: str | None = None) -> int:
    """Retire an open stage; its deals must move ``to`` another first.  Returns how many
    deals moved.  The row stays (old stage changes point at it) but is no longer used."""
    row = _open_stage(db, name)
    count = int(db.scalar("SELECT count(*) FROM deals WHERE stage_id = ?", (row["id"],)) or 0)
    target = None
    if to is not None:
        target = _open_stage(db, to, field="--to")
        if target["id"] == row["id"]:
            raise UsageError("--to must name another stage")
    elif count:
        many = count != 1
        raise CrmError(
            f"{count} deal{'s sit' if many else ' sits'} in {row['name']}; "
            f"move {'them' if many else 'it'} with --to STAGE"
        )
    open_left = db.scalar(
        "SELECT count(*) FROM stages WHERE kind = 'open' AND removed_at IS NULL AND id <> ?",
        (row["id"],),
    )
    if not open_left:
        raise CrmError(f"{row['name']} is the last open stage; add another one first")
    now = _now()
    if target is not None and count:
        db.execute(
            "INSERT INTO deal_stage_changes (deal_id, from_stage_id, to_stage_id, at) "
            "SELECT id, stage_id, ?, ? FROM deals WHERE stage_id = ?",
            (target["id"], now, row["id"]),
        )
        db.execute(
            "UPDATE deals SET stage_id = ?, stage_changed_at = ?, updated_at = ? "
            "WHERE stage_id = ?",
            (target["id"], now, now, row["id"]),
        )
    db.execute("UPDATE stages SET removed_at = ? WHERE id = ?", (now, row["id"]))
    _renumber(db)
    return count


# -- values -------------------------------------------------------------------------------


class DealInput:
    """Validated values for a new or changed deal (``None`` in ``values``: clear it)."""

    __slots__ = ("values", "stage")

    def __init__(self, values: dict[str, Any] | None = None, stage: str | None = None) -> None:
        self.values: dict[str, Any] = values if values is not None else {}
        self.stage = stage


def check_amount(raw: str, config: Config, *, currency: str | None = None,
                 field: str = "--amount") -> tuple[int, str]:  # fmt: skip
    """``(minor units, currency)`` of what the user typed; ``currency`` is the one meant
    when the text names none (default: the configured currency)."""
    from crmcli.money import parse_money

    money = parse_money(raw.strip(), default_currency=currency or config.currency, field=field)
    return money.amount, money.currency


def check_date(raw: str, config: Config, *, field: str) -> str:
    from crmcli.dates import parse_date, today_local

    return parse_date(raw, today=today_local(), order=config.date_order, field=field).isoformat()


def prepare(raw: Mapping[str, str | None], config: Config) -> DealInput:
    """Validate raw text for deal fields and ``stage``; keys given as ``None`` are skipped."""
    data = DealInput()
    currency = raw.get("currency")
    if currency is not None:
        from crmcli.money import normalize_currency

        code = normalize_currency(currency, field="--currency")
        config = Config(config.date_order, config.country, code)  # amounts without a code
        data.values["currency"] = code
    for name, value in raw.items():
        if value is None or name == "currency":
            continue
        if name == "stage":
            data.stage = check_stage_name(value)
        elif name == "amount":
            data.values["amount"], data.values["currency"] = check_amount(value, config)
            if currency is not None and data.values["currency"] != config.currency:
                raise InvalidValue(
                    "--amount", value, f"is in {data.values['currency']}, not {config.currency}"
                )
        elif name == "probability":
            data.values["probability"] = check_probability(value)
        elif name in DATE_FIELDS:
            data.values[name] = check_date(value, config, field=f"--{name.replace('_', '-')}")
        elif name in TEXT_FIELDS:
            data.values[name] = clean(
                value,
                field=name,
                limit={"title": NAME_MAX, "notes": NOTE_MAX}.get(name, SHORT_MAX),
                required=name == "title",
                multiline=name == "notes",
            )
        else:
            raise UsageError(f"unknown deal field {name!r}")
    return data


# -- reading ------------------------------------------------------------------------------


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    if row["overdue"] is not None:
        row["overdue"] = bool(row["overdue"])
    return row


def get(db: Database, deal_id: int) -> dict[str, Any]:
    row = db.one(_SELECT + "WHERE d.id = ?", (_today(), deal_id))
    if row is None:
        raise NotFound("deal", deal_id)
    return _decode(row)


def list_query(
    *,
    today: str,
    stage_id: int | None = None,
    customer_id: int | None = None,
    status: str | None = None,
    closing_before: str | None = None,
    sort: str | None = None,
    limit: int | None = None,
) -> tuple[str, list[Any]]:
    """The SQL and parameters that list deals (the benchmark runs the same in sqlite3)."""
    where: list[str] = []
    params: list[Any] = [today]
    if stage_id is not None:
        where.append("d.stage_id = ?")
        params.append(stage_id)
    if customer_id is not None:
        where.append("d.customer_id = ?")
        params.append(customer_id)
    if status is not None:
        if status not in STATUSES:
            raise InvalidValue("status", status, f"choose one of {', '.join(STATUSES)}")
        # "+" keeps SQLite from driving the query by the stage index: a status holds a large
        # share of the deals, so walking them in id order meets a page of them at once.
        where.append("+d.stage_id IN (SELECT id FROM stages WHERE kind = ?)")
        params.append(status)
    if closing_before is not None:
        where.append("d.close_date < ?")
        params.append(closing_before)
    sql = _SELECT + ("WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY " + parse_sort(sort or "id")
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


def parse_sort(spec: str) -> str:
    """``close`` or ``-amount`` (descending) -> ORDER BY from the allowed list; deals
    without a value come last either way."""
    desc = spec.startswith("-")
    key = spec[1:] if desc else spec
    key = {"close_date": "close"}.get(key, key)
    if key not in _SORTS:
        raise InvalidValue("--sort", spec, f"sort by one of: {', '.join(_SORTS)}")
    column = _SORTS[key]
    direction = " DESC" if desc else ""
    nulls = f"{column} IS NULL, " if key in _NULLABLE_SORTS else ""
    return f"{nulls}{column}{direction}, d.id{direction}"


def list_deals(
    db: Database,
    *,
    stage: str | None = None,
    customer_id: int | None = None,
    status: str | None = None,
    closing_before: str | None = None,
    sort: str | None = None,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Deals matching every filter, streamed; a bad filter is refused here, before the
    caller writes anything (a header)."""
    stage_id = find_stage(db, stage)["id"] if stage is not None else None
    if customer_id is not None:
        db.require("customers", "customer", customer_id)
    sql, params = list_query(
        today=_today(), stage_id=stage_id, customer_id=customer_id, status=status,
        closing_before=closing_before, sort=sort, limit=limit,
    )  # fmt: skip
    return (_decode(row) for row in db.query(sql, params))


HISTORY_SQL = """
SELECT h.at AS changed_at, f.name AS from_stage, t.name AS to_stage
FROM deal_stage_changes h
LEFT JOIN stages f ON f.id = h.from_stage_id JOIN stages t ON t.id = h.to_stage_id
WHERE h.deal_id = ? ORDER BY h.at, h.id
"""


def show(db: Database, deal_id: int) -> dict[str, Any]:
    """One deal with its stage history, line items (the order) and their totals."""
    from crmcli.core.money import items as order
    from crmcli.core.money.totals import totals

    record = get(db, deal_id)
    record["items"] = order.rows(db, deal_id)
    record["totals"] = totals(record["items"]) if record["items"] else None
    record["history"] = list(db.query(HISTORY_SQL, (deal_id,)))
    return record


def for_customer(db: Database, customer_id: int) -> list[dict[str, Any]]:
    """A customer's deals, open ones first, then by close date."""
    return [
        _decode(row)
        for row in db.query(
            _SELECT + "WHERE d.customer_id = ? "
            "ORDER BY s.kind <> 'open', d.close_date IS NULL, d.close_date, d.id",
            (_today(), customer_id),
        )
    ]


# -- writing ------------------------------------------------------------------------------


def _record_change(db: Database, deal_id: int, before: int | None, after: int, now: str) -> None:
    db.execute(
        "INSERT INTO deal_stage_changes (deal_id, from_stage_id, to_stage_id, at) "
        "VALUES (?, ?, ?, ?)",
        (deal_id, before, after, now),
    )


def add(
    db: Database, customer_id: int, data: DealInput, *, lead_id: int | None = None,
    config: Config | None = None,
) -> int:  # fmt: skip
    """Insert a deal for the customer in ``data.stage`` (default: the first open stage);
    returns its id.  A deal starts open: won and lost are reached with won() and lost()."""
    values = data.values
    if not values.get("title"):
        raise InvalidValue("title", "", "must not be empty")
    db.require("customers", "customer", customer_id)
    target = _open_stage(db, data.stage) if data.stage else _first_open_stage(db)
    currency = values.get("currency") or (config or _config(db)).currency
    now = _now()
    cur = db.execute(
        "INSERT INTO deals (uid, title, customer_id, lead_id, stage_id, amount, currency, "
        "probability, close_date, contract_number, contract_start, contract_end, "
        "notes, stage_changed_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            str(uuid.uuid4()), values["title"], customer_id, lead_id, target["id"],
            values.get("amount"), currency, values.get("probability"), values.get("close_date"),
            values.get("contract_number"), values.get("contract_start"),
            values.get("contract_end"), values.get("notes"), now, now, now,
        ),
    )  # fmt: skip
    deal_id = int(cur.lastrowid or 0)
    _record_change(db, deal_id, None, target["id"], now)
    if values.get("payment_due"):
        set_due(db, get(db, deal_id), values["payment_due"])
    return deal_id


def _config(db: Database) -> Config:
    from crmcli.core.settings import load

    return load(db)


def _has_items(db: Database, deal_id: int) -> bool:
    return db.scalar("SELECT 1 FROM deal_items WHERE deal_id = ? LIMIT 1", (deal_id,)) is not None


def update(
    db: Database, deal_id: int, data: DealInput, *, unset: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Change a deal's fields (never its stage: that is move, won, lost)."""
    current = get(db, deal_id)
    if data.stage is not None:
        raise UsageError(f"use crm deal move {deal_id} STAGE to change the stage")
    values = dict(data.values)
    due = values.pop("payment_due", None)
    for name in unset:
        key = name.replace("-", "_")
        if key == "payment_due":
            raise UsageError(
                "a payment due date is an invoice now: void it with crm invoice void ID --reason …"
            )
        if key not in FIELDS or key == "title":
            settable = ", ".join(f for f in FIELDS if f != "title")
            raise InvalidValue("--unset", name, f"choose from {settable}")
        values[key] = None
        if key == "amount":
            values["currency"] = current["currency"]
    if "amount" in values and _has_items(db, deal_id):
        raise UsageError(
            f"deal {deal_id} has line items: its amount is their total (crm deal item …)"
        )
    if "title" in values and not values["title"]:
        raise InvalidValue("title", "", "must not be empty")
    if values.get("currency") not in (None, current["currency"]) and "amount" not in values:
        raise UsageError("the currency changes with --amount only")
    stored = dict(current)
    stored["probability"] = db.scalar("SELECT probability FROM deals WHERE id = ?", (deal_id,))
    changed = {k: v for k, v in values.items() if stored.get(k) != v}
    if changed:
        changed["updated_at"] = _now()
        assignments = ", ".join(f"{k} = ?" for k in changed)
        db.execute(f"UPDATE deals SET {assignments} WHERE id = ?", [*changed.values(), deal_id])
    if due is not None:
        set_due(db, get(db, deal_id), due)
    return get(db, deal_id)


def _set_stage(db: Database, deal: dict[str, Any], target: dict[str, Any], **extra: Any) -> None:
    now = _now()
    before = db.scalar("SELECT stage_id FROM deals WHERE id = ?", (deal["id"],))
    columns = {"stage_id": target["id"], "stage_changed_at": now, "updated_at": now, **extra}
    assignments = ", ".join(f"{k} = ?" for k in columns)
    db.execute(f"UPDATE deals SET {assignments} WHERE id = ?", [*columns.values(), deal["id"]])
    _record_change(db, deal["id"], before, target["id"], now)


def _closed_error(deal: dict[str, Any], hint: str) -> CrmError:
    return CrmError(f"deal {deal['id']} is {deal['status']}; {hint}")


def move(db: Database, deal_id: int, stage_name: str, *, reopen: bool = False) -> str:
    """Move a deal to an open stage.  Returns what happened: ``moved``, ``reopened`` or
    ``unchanged``.  A won or lost deal moves only with ``reopen``."""
    deal = get(db, deal_id)
    target = find_stage(db, stage_name)
    if target["kind"] == "won":
        raise UsageError(f"to win the deal: crm deal won {deal_id}")
    if target["kind"] == "lost":
        raise UsageError(f"to lose the deal: crm deal lost {deal_id} --reason TEXT")
    if deal["status"] != "open":
        if not reopen:
            raise _closed_error(deal, f"crm deal move {deal_id} {target['name']} --reopen "
                                      "reopens it")  # fmt: skip
        _set_stage(db, deal, target, closed_at=None, lost_reason=None)
        return "reopened"
    if reopen:
        raise UsageError(f"deal {deal_id} is open; --reopen is for won or lost deals")
    if deal["stage"] == target["name"]:
        return "unchanged"
    _set_stage(db, deal, target)
    return "moved"


def won(db: Database, deal_id: int, data: DealInput | None = None) -> dict[str, Any]:
    """Mark an open deal won (optionally with contract and payment dates)."""
    deal = get(db, deal_id)
    if deal["status"] != "open":
        raise _closed_error(deal, "only an open deal can be won")
    extra = {k: v for k, v in (data.values if data else {}).items() if v is not None}
    bad = set(extra) - {"contract_number", "contract_start", "contract_end", "payment_due",
                        "notes"}  # fmt: skip
    if bad:
        raise UsageError(f"not set when winning a deal: {', '.join(sorted(bad))}")
    _check_contract(extra.get("contract_start"), extra.get("contract_end"))
    due = extra.pop("payment_due", None)
    _set_stage(db, deal, _end_stage(db, "won"), closed_at=_now(), **extra)
    if due is not None:  # the first invoice: the whole amount (less what is invoiced)
        from crmcli.core.money.deal_payments import invoice_rest

        invoice_rest(db, get(db, deal_id), due, field="--payment-due")
    return get(db, deal_id)


def _check_contract(start: str | None, end: str | None) -> None:
    if start and end and end < start:
        raise InvalidValue("--contract-end", end, f"is before the contract start {start}")


def lost(db: Database, deal_id: int, reason: str) -> dict[str, Any]:
    """Mark an open deal lost, with the reason (required)."""
    text = clean(reason, field="--reason", limit=SHORT_MAX * 5, required=True)
    deal = get(db, deal_id)
    if deal["status"] != "open":
        raise _closed_error(deal, "only an open deal can be lost")
    _set_stage(db, deal, _end_stage(db, "lost"), closed_at=_now(), lost_reason=text)
    return get(db, deal_id)


def paid(db: Database, deal_id: int, *, at: str | None = None) -> bool:
    """Record the payments that settle every open invoice of a won deal (one without
    invoices is invoiced first).  Returns whether anything was owed."""
    from crmcli.core.money.deal_payments import settle

    deal = get(db, deal_id)
    if deal["status"] != "won":
        raise CrmError(f"deal {deal_id} is {deal['status']}; only a won deal is paid")
    return settle(db, deal, at=at) > 0


def delete(db: Database, deal_id: int) -> dict[str, Any]:
    deal = get(db, deal_id)
    db.execute("UPDATE leads SET deal_id = NULL WHERE deal_id = ?", (deal_id,))
    db.execute("DELETE FROM deals WHERE id = ?", (deal_id,))
    return deal


# -- line items (crmcli.core.money.items: unit, discount, tax, supplier, delivery) -----------


def check_quantity(raw: str | int) -> int:
    from crmcli.core.money.items import check_quantity as check

    return check(raw)


def add_item(
    db: Database, deal_id: int, product: str, quantity: int, price: str, config: Config
) -> int:
    """A line item on the deal (product, quantity, unit price); the deal's amount becomes
    its items' total."""
    from crmcli.core.money import items as order

    deal = get(db, deal_id)
    values = order.prepare({"product": product, "quantity": str(quantity), "price": price},
                           deal["currency"], config)  # fmt: skip
    return order.add(db, deal_id, values)


def items(db: Database, deal_id: int) -> list[dict[str, Any]]:
    """The deal's items, each with its gross, discount and net."""
    from crmcli.core.money import items as order

    get(db, deal_id)
    return order.rows(db, deal_id)


def remove_item(db: Database, item_id: int) -> dict[str, Any]:
    from crmcli.core.money import items as order

    return order.remove(db, item_id)


# -- the pipeline -------------------------------------------------------------------------

PIPELINE_SQL = f"""
SELECT s.name AS stage, s.position, s.probability, d.currency, count(d.id) AS deals,
       sum(d.amount) AS total,
       sum(d.amount * coalesce(d.probability, s.probability)) AS weighted_x100,
       sum(d.close_date < ?) AS overdue
FROM stages s LEFT JOIN deals d ON d.stage_id = s.id
WHERE s.kind = 'open' AND s.removed_at IS NULL
GROUP BY s.id, d.currency
ORDER BY {_STAGE_ORDER}, d.currency
"""

_CARD = """
SELECT d.id, d.title, c.name AS customer, d.amount, d.currency, d.close_date,
       d.close_date < ? AS overdue
FROM deals d JOIN customers c ON c.id = d.customer_id
WHERE d.stage_id = ? AND d.close_date {}
"""
# Soonest close date first, deals without one last: two index-ordered parts, so a stage of
# a hundred thousand deals costs a few index reads, not a sort.
CARDS_SQL = (
    f"SELECT * FROM ({_CARD.format('IS NOT NULL')} ORDER BY d.close_date, d.id LIMIT ?) "
    f"UNION ALL SELECT * FROM ({_CARD.format('IS NULL')} ORDER BY d.id LIMIT ?) LIMIT ?"
)


def pipeline(db: Database) -> list[dict[str, Any]]:
    """Per open stage and currency: deals, total, weighted total (amount × probability,
    in minor units, rounded half up) and how many are past their close date.  A stage
    without deals has one row with ``deals`` 0 and no currency."""
    rows = []
    for row in db.query(PIPELINE_SQL, (_today(),)):
        weighted = row.pop("weighted_x100")
        row["weighted"] = None if weighted is None else (weighted + 50) // 100
        row["overdue"] = row["overdue"] or 0
        rows.append(row)
    return rows


def cards(db: Database, stage_name: str, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` deals of a stage for the board: soonest close date first."""
    stage_id = find_stage(db, stage_name)["id"]
    today = _today()
    params = (today, stage_id, limit, today, stage_id, limit, limit)
    return [{**card, "overdue": bool(card["overdue"])} for card in db.query(CARDS_SQL, params)]
