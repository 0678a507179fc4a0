"""Leads: people who might buy, from every channel, until they become customers (or not).

A lead moves ``new → contacted → qualified → converted``, or to ``lost`` (with a reason) from
any open status.  Every change is a row in ``lead_status_changes``.  ``lost`` and ``converted``
are final unless the change is asked for with ``reopen``; ``converted`` is reached only
through :func:`convert`, which makes (or finds) the customer, moves the lead's interactions and
tags over, and optionally opens a deal, all inside the caller's one transaction.

Validation of the shared fields (name, e-mail, phone, company, title, notes), tags and search
queries is the customers' (:mod:`crmcli.core.customers`); bulk import is the importer's
(:class:`crmcli.core.importer.LeadImport`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from crmcli.core import customers
from crmcli.core.settings import Config
from crmcli.db import Database
from crmcli.errors import CrmError, InvalidValue, NotFound, UsageError
from crmcli.migrations import LEAD_SOURCES, LEAD_STATUSES
from crmcli.text import LEAD_SORT_KEYS, NOTE_MAX, clean, sort_key, split_list

if TYPE_CHECKING:  # deals are loaded when a conversion opens one (start-up time)
    from crmcli.core.deals import DealInput

SOURCES = LEAD_SOURCES
STATUSES = LEAD_STATUSES
# What `crm lead status` may set; `converted` comes from convert() only.
SETTABLE = ("new", "contacted", "qualified", "lost")
CLOSED = frozenset({"converted", "lost"})

# Columns a user may set, in display order.
FIELDS = ("name", "email", "phone", "company", "title", "source", "score", "notes")
_TEXT_FIELDS = frozenset({"name", "email", "phone", "company", "title", "notes"})
UNSETTABLE = tuple(f for f in FIELDS if f != "name")
REASON_MAX = 500

# Every column a listed lead carries, in output order (stable JSON field names).
COLUMNS = (
    "id", "uid", "name", "email", "phone", "company", "title", "source", "score", "status",
    "lost_reason", "tags", "notes", "customer_id", "deal_id", "last_contacted", "converted_at",
    "status_changed_at", "created_at", "updated_at",
)  # fmt: skip

_LAST_CONTACTED = "(SELECT max(happened_at) FROM interactions i WHERE i.lead_id = l.id)"

# --sort names -> SQL (never paste user text into SQL).
SORTS = {
    "id": "l.id",
    # Stored sort keys (text.sort_key): Vietnamese alphabetical order.
    "name": "l.sort_name",
    "company": "l.sort_company IS NULL, l.sort_company",
    "email": "l.email COLLATE NOCASE",
    "source": "l.source",
    "score": "l.score",
    "status": "l.status",
    "created": "l.created_at",
    "updated": "l.updated_at",
    "status_changed": "l.status_changed_at",
    "last_contacted": _LAST_CONTACTED,
}

_SELECT = f"""
SELECT l.id, l.uid, l.name, l.email, l.phone, l.company, l.title, l.source, l.score, l.status,
       l.lost_reason,
       (SELECT group_concat(tag, ',') FROM
           (SELECT tag FROM lead_tags t WHERE t.lead_id = l.id ORDER BY tag)) AS tags,
       l.notes, l.customer_id, l.deal_id, {_LAST_CONTACTED} AS last_contacted,
       l.converted_at, l.status_changed_at, l.created_at, l.updated_at
FROM leads l
"""
GET_SQL = _SELECT + "WHERE l.id = ?"

# Source names people write in forms and spreadsheets -> ours.
_SOURCE_ALIASES = {
    "website": "web", "web-form": "web", "webform": "web", "form": "web", "online": "web",
    "cold-calling": "cold-call", "coldcall": "cold-call",
    "social-media": "social", "facebook": "social", "linkedin": "social", "zalo": "social",
    "trade-show": "event", "tradeshow": "event", "conference": "event", "fair": "event",
    "referred": "referral", "word-of-mouth": "referral",
    "purchased-list": "list", "bought-list": "list", "mailing-list": "list",
}  # fmt: skip
_SOURCE_JUNK = re.compile(r"[\s_]+")


def _now() -> str:
    from crmcli.dates import utc_now_iso

    return utc_now_iso()


# -- values -------------------------------------------------------------------------------


def check_source(raw: str, field: str = "source") -> str:
    """One of :data:`SOURCES` (case and spacing ignored: ``Cold call`` is ``cold-call``)."""
    text = clean(raw, field=field, required=True, multiline=False)
    assert text is not None
    key = _SOURCE_JUNK.sub("-", text.casefold())
    key = _SOURCE_ALIASES.get(key, key)
    if key not in SOURCES:
        raise InvalidValue(field, raw, f"choose one of {', '.join(SOURCES)}")
    return key


def check_score(raw: str | int, field: str = "score") -> int:
    """A whole number from 0 to 100."""
    if isinstance(raw, str):
        text = raw.strip()
        if not re.fullmatch(r"[+-]?\d{1,6}", text):
            raise InvalidValue(field, raw, "must be a whole number from 0 to 100")
        value = int(text)
    else:
        value = raw
    if not 0 <= value <= 100:
        raise InvalidValue(field, raw, "must be from 0 to 100")
    return value


def check_status(raw: str, field: str = "status", *, allowed: tuple[str, ...] = STATUSES) -> str:
    status = raw.strip().casefold()
    if status not in allowed:
        if status == "converted" and "converted" not in allowed:
            raise UsageError("a lead becomes converted through: crm lead convert ID")
        raise InvalidValue(field, raw, f"choose one of {', '.join(allowed)}")
    return status


def check_reason(raw: str, field: str = "--reason") -> str:
    reason = clean(raw, field=field, limit=REASON_MAX, required=True, multiline=False)
    assert reason is not None
    return reason


def check_value(name: str, raw: str | int, config: Config) -> str | int | None:
    """Validate and normalise one lead field; ``None`` clears it."""
    if name == "score":
        return check_score(raw)
    if isinstance(raw, int):
        raise InvalidValue(name, raw, "must be text")
    if name == "source":
        return check_source(raw) if raw.strip() else None
    if name in _TEXT_FIELDS:
        return customers.check_value(name, raw, config)
    raise UsageError(f"unknown lead field {name!r}")


class LeadInput:
    """Validated values for a new or changed lead."""

    __slots__ = ("values", "tags")

    def __init__(
        self, values: dict[str, str | int | None] | None = None, tags: list[str] | None = None
    ) -> None:
        self.values: dict[str, str | int | None] = values if values is not None else {}
        self.tags: list[str] = tags if tags is not None else []


def prepare(
    raw: Mapping[str, str | int | None], config: Config, *, tags: Iterable[str] = ()
) -> LeadInput:
    """Validate raw values (``None``: not given) and tags."""
    data = LeadInput()
    for name, value in raw.items():
        if name not in FIELDS:
            raise UsageError(f"unknown lead field {name!r}")
        if value is not None:
            data.values[name] = check_value(name, value, config)
    data.tags = sorted({customers.check_tag(t) for t in tags})
    return data


# -- reading ------------------------------------------------------------------------------


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["tags"] = row["tags"].split(",") if row["tags"] else []
    return row


def get(db: Database, lead_id: int) -> dict[str, Any]:
    row = db.one(GET_SQL, (lead_id,))
    if row is None:
        raise NotFound("lead", lead_id)
    return _decode(row)


def parse_sort(spec: str) -> str:
    """``score`` or ``-score`` (descending) -> an ORDER BY clause from the allowed list."""
    return customers.sort_clause(spec, SORTS, "l.id")


def list_leads(db: Database, **filters: Any) -> Iterator[dict[str, Any]]:
    """Leads matching every filter (see :func:`list_query`), streamed."""
    if filters.get("search") is not None and "country" not in filters:
        from crmcli.core import settings

        filters["country"] = settings.load(db).country
    sql, params = list_query(**filters)
    for row in db.query(sql, params):
        yield _decode(row)


def list_query(
    *,
    statuses: Iterable[str] = (),
    sources: Iterable[str] = (),
    tags: Iterable[str] = (),
    company: str | None = None,
    search: str | None = None,
    sort: str | None = None,
    limit: int | None = None,
    country: str | None = None,
) -> tuple[str, list[Any]]:
    """The SQL and parameters that list leads.

    Several ``statuses`` (or ``sources``; each may be a comma list) match any of them;
    every tag must be there; ``company`` matches words of the company through the search
    index (case and accents ignored, as in ``search``).  A search without ``sort`` lists
    whole-word matches first, then prefix-only ones (as customers do), each by id."""
    where: list[str] = []
    params: list[Any] = []
    for column, values in (
        ("status", sorted({check_status(s, "--status") for s in split_list(statuses)})),
        ("source", sorted({check_source(s, "--source") for s in split_list(sources)})),
    ):
        if values:
            where.append(f"l.{column} IN ({', '.join('?' * len(values))})")
            params += values
    for tag in tags:
        where.append("l.id IN (SELECT lead_id FROM lead_tags WHERE tag = ?)")
        params.append(customers.check_tag(tag))
    filters = customers.column_filter({"company": ("--company", company)})
    tail, tail_params = "", []
    if limit is not None:
        tail, tail_params = " LIMIT ?", [limit]
    if search is None:
        if filters is not None:
            where.append("l.id IN (SELECT rowid FROM leads_fts WHERE leads_fts MATCH ?)")
            params.append(filters)
        order = " ORDER BY " + (parse_sort(sort) if sort else "l.id")
        return _where(_SELECT, where) + order + tail, params + tail_params
    if sort:
        found, found_params = customers.search_condition(
            "l.id", "leads_fts", "lead_id", search, country=country, also=filters
        )
        sql = _where(_SELECT, [found, *where]) + " ORDER BY " + parse_sort(sort)
        return sql + tail, [*found_params, *params, *tail_params]
    return customers.ranked_search(
        _SELECT, "l.id", "leads_fts", "lead_id", search, where, params, tail, tail_params,
        country=country, also=filters,
    )  # fmt: skip


def _where(sql: str, conditions: list[str]) -> str:
    return sql + ("WHERE " + " AND ".join(conditions) if conditions else "")


INTERACTIONS_SQL = (
    "SELECT id, uid, type, direction, happened_at, body, customer_id, created_at FROM interactions "
    "WHERE lead_id = ? ORDER BY happened_at DESC, id DESC"
)
STATUS_CHANGES_SQL = (
    "SELECT at AS changed_at, from_status, to_status, reason FROM lead_status_changes "
    "WHERE lead_id = ? ORDER BY at, id"
)


def show(db: Database, lead_id: int) -> dict[str, Any]:
    """All about one lead: fields, tags, interactions (newest first) and status history."""
    record = get(db, lead_id)
    record["interactions"] = list(db.query(INTERACTIONS_SQL, (lead_id,)))
    record["status_changes"] = list(db.query(STATUS_CHANGES_SQL, (lead_id,)))
    return record


# -- writing ------------------------------------------------------------------------------

# The stored sort keys (text.sort_key of name and company): every write sets them.
SORT_COLUMNS = tuple(LEAD_SORT_KEYS)
_INSERT_COLUMNS = (
    "id", "uid", *FIELDS, "status", "lost_reason", "status_changed_at", "created_at",
    "updated_at", *SORT_COLUMNS,
)  # fmt: skip


def sort_keys(values: Mapping[str, Any]) -> tuple[str | None, ...]:
    """The :data:`SORT_COLUMNS` values for a lead with these field ``values``."""
    return tuple(sort_key(values.get(field)) for field in LEAD_SORT_KEYS.values())


INSERT = (
    f"INSERT INTO leads ({', '.join(_INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})"
)
INSERT_TAG = "INSERT OR IGNORE INTO lead_tags (lead_id, tag) VALUES (?, ?)"
INSERT_CHANGE = (
    "INSERT INTO lead_status_changes (lead_id, from_status, to_status, reason, at) "
    "VALUES (?, ?, ?, ?, ?)"
)
_UPDATABLE = frozenset(FIELDS)


def add(db: Database, data: LeadInput) -> int:
    """Insert a ``new`` lead (and its first status change); returns its id."""
    if not data.values.get("name"):
        raise InvalidValue("name", "", "must not be empty")
    now = _now()
    v = data.values
    cur = db.execute(
        INSERT,
        (
            None,
            str(uuid.uuid4()),
            *(v.get(f) for f in FIELDS),
            "new",
            None,
            now,
            now,
            now,
            *sort_keys(v),
        ),  # fmt: skip
    )
    lead_id = int(cur.lastrowid or 0)
    db.execute(INSERT_CHANGE, (lead_id, None, "new", None, now))
    db.executemany(INSERT_TAG, [(lead_id, t) for t in data.tags])
    return lead_id


def write_changes(db: Database, lead_id: int, changed: Mapping[str, Any], now: str) -> None:
    """``UPDATE`` the given user columns (names from :data:`FIELDS` only)."""
    if not changed:
        return
    if not _UPDATABLE.issuperset(changed):
        raise ValueError(f"not lead columns: {sorted(set(changed) - _UPDATABLE)}")
    values = {**changed, "updated_at": now}
    for column, field in LEAD_SORT_KEYS.items():
        if field in values:
            values[column] = sort_key(values[field])
    assignments = ", ".join(f"{k} = ?" for k in values)
    db.execute(f"UPDATE leads SET {assignments} WHERE id = ?", [*values.values(), lead_id])


def refresh_sort_keys(db: Database, ids: Iterable[int]) -> None:
    """Compute the sort keys of these leads again from their text (see
    :func:`crmcli.core.customers.refresh_sort_keys`)."""
    fields = tuple(LEAD_SORT_KEYS.values())
    chosen = list(ids)
    rows = [
        (*sort_keys(dict(zip(fields, row[1:], strict=True))), row[0])
        for start in range(0, len(chosen), 500)
        for row in db.conn.execute(
            f"SELECT id, {', '.join(fields)} FROM leads WHERE id IN "
            f"({', '.join('?' * len(chosen[start : start + 500]))})",
            chosen[start : start + 500],
        )
    ]
    sets = ", ".join(f"{column} = ?" for column in SORT_COLUMNS)
    db.executemany(f"UPDATE leads SET {sets} WHERE id = ?", rows)


def update(
    db: Database,
    lead_id: int,
    data: LeadInput,
    *,
    remove_tags: Iterable[str] = (),
    unset: Iterable[str] = (),
) -> dict[str, Any]:
    """Change fields and tags (never the status); returns the lead as it now is."""
    current = get(db, lead_id)
    values = dict(data.values)
    for key in unset:
        name = key.strip().casefold()
        if name == "name":
            raise InvalidValue("--unset", key, "a lead always has a name")
        if name == "status":
            raise InvalidValue("--unset", key, "change the status with crm lead status")
        if name not in UNSETTABLE:
            raise InvalidValue("--unset", key, f"choose one of {', '.join(UNSETTABLE)}")
        values[name] = None
    if "name" in values and not values["name"]:
        raise InvalidValue("name", "", "must not be empty")
    removed = [customers.check_tag(t) for t in remove_tags]
    changed = {k: v for k, v in values.items() if current.get(k) != v}
    write_changes(db, lead_id, changed, _now())
    db.executemany(INSERT_TAG, [(lead_id, t) for t in data.tags])
    db.executemany(
        "DELETE FROM lead_tags WHERE lead_id = ? AND tag = ?", [(lead_id, t) for t in removed]
    )
    return get(db, lead_id)


# Results are plain slotted classes: a dataclass costs start-up time on every command.


class Deleted:
    """What :func:`delete` removed; ``interactions_kept`` also belong to a customer."""

    __slots__ = ("record", "interactions_deleted", "interactions_kept")

    def __init__(self, record: dict[str, Any], deleted: int, kept: int) -> None:
        self.record, self.interactions_deleted, self.interactions_kept = record, deleted, kept


def delete(db: Database, lead_id: int) -> Deleted:
    """Delete a lead with its tags, status history and the interactions that are only its
    own; interactions shared with a customer (after a conversion) stay with the customer."""
    record = get(db, lead_id)
    kept = db.execute(
        "UPDATE interactions SET lead_id = NULL WHERE lead_id = ? AND customer_id IS NOT NULL",
        (lead_id,),
    ).rowcount
    deleted = db.execute("DELETE FROM interactions WHERE lead_id = ?", (lead_id,)).rowcount
    db.execute("DELETE FROM leads WHERE id = ?", (lead_id,))
    return Deleted(record, deleted, kept)


def _change_status(
    db: Database, lead_id: int, old: str, new: str, reason: str | None, now: str, **extra: Any
) -> None:
    """Set the status (with the columns that go with it) and record the change."""
    values: dict[str, Any] = {"status": new, "status_changed_at": now, "updated_at": now}
    values["lost_reason"] = reason if new == "lost" else None
    if new != "converted":
        values["converted_at"] = None
    values.update(extra)
    assignments = ", ".join(f"{k} = ?" for k in values)
    db.execute(f"UPDATE leads SET {assignments} WHERE id = ?", [*values.values(), lead_id])
    db.execute(INSERT_CHANGE, (lead_id, old, new, reason, now))


class Logged:
    """What :func:`log` did: the interaction, the customer it also belongs to (a converted
    lead's), and the status change it caused (new -> contacted), if any."""

    __slots__ = ("interaction_id", "customer_id", "status_from", "status_to")

    def __init__(self, interaction_id: int, customer_id: int | None) -> None:
        self.interaction_id, self.customer_id = interaction_id, customer_id
        self.status_from: str | None = None
        self.status_to: str | None = None


def log(
    db: Database,
    lead_id: int,
    kind: str,
    body: str,
    happened_at: str | None = None,
    *,
    direction: str | None = None,
    message_key: str | None = None,
) -> Logged:
    """Record a call / email / meeting / note with the lead.  A ``new`` lead becomes
    ``contacted``; a converted lead's interaction also belongs to its customer.
    ``direction`` and ``message_key``: an e-mail read from a mailbox (:mod:`core.mail`)."""
    if kind not in customers.INTERACTION_TYPES:
        raise InvalidValue(
            "--type", kind, f"choose one of {', '.join(customers.INTERACTION_TYPES)}"
        )
    text = clean(body, field="text", limit=NOTE_MAX, required=True)
    row = db.one("SELECT status, customer_id FROM leads WHERE id = ?", (lead_id,))
    if row is None:
        raise NotFound("lead", lead_id)
    now = _now()
    customer_id = row["customer_id"] if row["status"] == "converted" else None
    cur = db.execute(
        "INSERT INTO interactions (uid, customer_id, lead_id, type, body, happened_at, "
        "created_at, direction, message_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (str(uuid.uuid4()), customer_id, lead_id, kind, text, happened_at or now, now,
         direction, message_key),
    )  # fmt: skip
    logged = Logged(int(cur.lastrowid or 0), customer_id)
    if row["status"] == "new":
        _change_status(db, lead_id, "new", "contacted", f"{kind} logged", now)
        logged.status_from, logged.status_to = "new", "contacted"
    return logged


def check_change(status: str, reason: str | None) -> tuple[str, str | None]:
    """A status :func:`set_status` accepts, and its reason (required for ``lost``)."""
    status = check_status(status, "STATUS", allowed=SETTABLE)
    checked = check_reason(reason) if reason is not None and reason.strip() else None
    if status == "lost" and checked is None:
        raise UsageError("a lost lead needs a reason: add --reason 'chose a competitor'")
    return status, checked


def set_status(
    db: Database, lead_id: int, status: str, *, reason: str | None = None, reopen: bool = False
) -> str:
    """Move a lead to ``status`` (one of :data:`SETTABLE`); returns the status it had.

    ``lost`` needs a reason.  A lost or converted lead changes only with ``reopen``.  The same
    status again changes nothing (the old status is returned, equal to ``status``)."""
    status, reason = check_change(status, reason)
    current = db.scalar("SELECT status FROM leads WHERE id = ?", (lead_id,))
    if current is None:
        raise NotFound("lead", lead_id)
    old = str(current)
    if old == status:
        return old
    if old in CLOSED and not reopen:
        raise CrmError(
            f"lead {lead_id} is {old}; to change its status anyway add --reopen "
            f"(crm lead status {lead_id} {status} --reopen)"
        )
    _change_status(db, lead_id, old, status, reason, _now())
    return old


class Converted:
    """What :func:`convert` did.  ``created``: a new customer, else an existing one was
    linked (``linked_by`` says why: "same e-mail", "converted before"); ``interactions``:
    how many of the lead's interactions became the customer's too; ``reminders``: how many
    of its pending reminders moved to the customer."""

    __slots__ = ("customer_id", "created", "linked_by", "deal_id", "interactions", "reminders")

    def __init__(
        self,
        customer_id: int,
        created: bool,
        linked_by: str | None,
        deal_id: int | None,
        interactions: int,
        reminders: int = 0,
    ) -> None:
        self.customer_id, self.created, self.linked_by = customer_id, created, linked_by
        self.deal_id, self.interactions, self.reminders = deal_id, interactions, reminders


def convert(db: Database, lead_id: int, *, deal: DealInput | None = None) -> Converted:
    """Turn a lead into a customer (and, given ``deal`` from ``deals.prepare``, a deal).

    The customer is the one this lead was converted to before (a reopened lead), else the
    oldest customer with the same e-mail (case ignored), else a new one made from the lead's
    name, e-mail, phone, company, title, notes and source.  An existing customer's empty
    fields are filled from the lead, never overwritten.  The lead's tags are added to the
    customer, its interactions become the customer's too (they keep their lead), its
    pending reminders move to the customer (so `customer show` and `remind list -c` list
    them), and the lead is marked converted.  Run it inside ``with db.write():``."""
    lead = get(db, lead_id)
    status = lead["status"]
    if status == "converted":
        raise CrmError(f"lead {lead_id} is already converted (customer {lead['customer_id']})")
    if status == "lost":
        raise CrmError(
            f"lead {lead_id} is lost; reopen it first: crm lead status {lead_id} new --reopen"
        )
    now = _now()
    customer_id, linked_by = _existing_customer(db, lead)
    created = customer_id is None
    shared = {k: lead[k] for k in ("name", "email", "phone", "company", "title", "notes")}
    shared["source"] = lead["source"]
    if customer_id is None:
        data = customers.CustomerInput(values=shared, tags=lead["tags"])
        customer_id = customers.add(db, data)
    else:
        current = customers.get(db, customer_id)
        fill = {k: v for k, v in shared.items() if v is not None and not current.get(k)}
        customers.write_changes(db, customer_id, fill, now)
        db.executemany(customers.INSERT_TAG, [(customer_id, t) for t in lead["tags"]])
    moved = db.execute(
        "UPDATE interactions SET customer_id = ? WHERE lead_id = ? AND customer_id IS NULL",
        (customer_id, lead_id),
    ).rowcount
    reminders = db.execute(
        "UPDATE reminders SET customer_id = ?, lead_id = NULL, updated_at = ? "
        "WHERE lead_id = ? AND done_at IS NULL",
        (customer_id, now, lead_id),
    ).rowcount
    deal_id: int | None = None
    if deal is not None:
        from crmcli.core import deals

        deal_id = int(deals.add(db, customer_id, deal, lead_id=lead_id))
    extra: dict[str, Any] = {"converted_at": now, "customer_id": customer_id}
    if deal_id is not None:
        extra["deal_id"] = deal_id
    _change_status(db, lead_id, status, "converted", None, now, **extra)
    return Converted(customer_id, created, linked_by, deal_id, moved, reminders)


def _existing_customer(db: Database, lead: Mapping[str, Any]) -> tuple[int | None, str | None]:
    previous = lead.get("customer_id")
    if previous is not None and customers.exists(db, previous):
        return int(previous), "converted before"
    if lead.get("email"):
        found = db.scalar(
            "SELECT id FROM customers WHERE email = ? COLLATE NOCASE ORDER BY id LIMIT 1",
            (lead["email"],),
        )
        if found is not None:
            return int(found), "same e-mail"
    return None, None
