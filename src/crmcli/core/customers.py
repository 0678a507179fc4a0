"""Customers: validation, storage, search, interactions, duplicates and merging."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from crmcli.core.settings import Config
from crmcli.db import Database
from crmcli.errors import InvalidValue, NotFound, UsageError
from crmcli.text import (
    CUSTOMER_SORT_KEYS,
    NAME_MAX,
    NOTE_MAX,
    SHORT_MAX,
    clean,
    fold_for_search,
    fold_key,
    sort_key,
)

# Standard columns a user may set, in display order.
FIELDS = (
    "name", "email", "phone", "company", "title", "address", "city", "country",
    "birthday", "source", "notes",
)  # fmt: skip
LIMITS = {"name": NAME_MAX, "address": 500, "notes": NOTE_MAX}
_MULTILINE = frozenset({"address", "notes"})
TAG_MAX = 50
FIELD_VALUE_MAX = 1000
_FIELD_KEY = re.compile(r"[^\W\d][\w.-]{0,49}\Z")
_TAG = re.compile(r"[\w.:/+-]{1,50}\Z")

_YEARLESS = re.compile(r"--\d\d-\d\d\Z")
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

INTERACTION_TYPES = ("call", "email", "meeting", "note", "sms")

# Every column a listed customer carries, in output order (stable JSON field names).
COLUMNS = (
    "id", "uid", "name", "email", "phone", "company", "title", "address", "city", "country",
    "birthday", "source", "notes", "tags", "fields", "last_contacted", "created_at",
    "updated_at",
)  # fmt: skip
# `show` adds the contact cadence and when the next contact is due.
_LAST = COLUMNS.index("last_contacted") + 1
SHOW_COLUMNS = (
    *COLUMNS[:_LAST], "cadence", "next_contact_due", "owes", "consent", *COLUMNS[_LAST:],
)  # fmt: skip

# --sort names -> SQL (never paste user text into SQL).
SORTS = {
    "id": "c.id",
    # Stored sort keys (text.sort_key): Vietnamese alphabetical order, from an index.
    "name": "c.sort_name",
    "company": "c.sort_company",
    "city": "c.sort_city",
    "email": "c.email COLLATE NOCASE",
    "birthday": "c.birthday",
    "created": "c.created_at",
    "updated": "c.updated_at",
    "last_contacted": "(SELECT max(happened_at) FROM interactions i WHERE i.customer_id = c.id)",
}

_SELECT = """
SELECT c.id, c.uid, c.name, c.email, c.phone, c.company, c.title, c.address, c.city,
       c.country, c.birthday, c.source, c.notes,
       (SELECT group_concat(tag, ',') FROM
           (SELECT tag FROM customer_tags t WHERE t.customer_id = c.id ORDER BY tag)) AS tags,
       c.fields,
       (SELECT max(happened_at) FROM interactions i WHERE i.customer_id = c.id)
           AS last_contacted,
       c.created_at, c.updated_at
FROM customers c
"""


def _now() -> str:
    from crmcli.dates import utc_now_iso

    return utc_now_iso()


# -- values -------------------------------------------------------------------------------


def check_value(name: str, raw: str, config: Config) -> str | None:
    """Validate and normalise one standard field; ``None`` clears it."""
    value = clean(
        raw,
        field=name,
        limit=LIMITS.get(name, SHORT_MAX),
        required=name == "name",
        multiline=name in _MULTILINE,
    )
    if value is None:
        return None
    if name == "email":
        from crmcli.validate import normalize_email

        return normalize_email(value, field="email")
    if name == "phone":
        from crmcli.validate import normalize_phone

        return normalize_phone(value, country=config.country, field="phone")
    if name == "birthday":
        from crmcli.dates import parse_date, today_local

        if _YEARLESS.match(value):  # --MM-DD (ISO 8601, Google Contacts): year unknown
            month, mday = int(value[2:4]), int(value[5:7])
            if not (1 <= month <= 12 and 1 <= mday <= _MONTH_DAYS[month - 1]):
                raise InvalidValue("birthday", raw, "no such day of the year")
            return value
        today = today_local()
        day = parse_date(value, today=today, order=config.date_order, field="birthday")
        if day > today:
            raise InvalidValue("birthday", raw, "is in the future")
        return day.isoformat()
    return value


CADENCE_UNITS = ("days", "weeks", "months", "years")


def check_cadence(raw: str, *, field: str = "--cadence") -> str:
    """A stay-in-touch cadence, normalised: ``30 days`` -> ``30d``, ``1 month`` -> ``1mo``."""
    from crmcli.dates import format_duration, parse_duration

    count, unit = parse_duration(raw, field=field)
    if unit not in CADENCE_UNITS:
        raise InvalidValue(field, raw, "a cadence is days, weeks, months or years: 30d, 2w, 1mo")
    return format_duration(count, unit)


def next_contact_due(
    cadence: str | None, last_contacted: str | None, created_at: str
) -> str | None:
    """The local date a customer with ``cadence`` is due a contact: the last interaction
    (or, never contacted, the day they were added) plus the cadence.  Computed, never
    stored, so every logged interaction moves it."""
    if not cadence:
        return None
    from crmcli.dates import add_duration, from_utc_iso, parse_duration

    since = from_utc_iso(last_contacted or created_at)
    try:
        return add_duration(since, *parse_duration(cadence)).date().isoformat()
    except OverflowError:  # past the year 9999 (a contact logged --at 9999-12-31): never
        return None


def check_tag(raw: str) -> str:
    tag = clean(raw, field="tag", limit=TAG_MAX, required=True)
    assert tag is not None
    tag = tag.casefold()
    if not _TAG.match(tag):
        raise InvalidValue(
            "tag", raw, "use letters, digits and - _ . : / + only (no spaces or commas)"
        )
    return tag


def check_field(raw: str) -> tuple[str, str]:
    """``key=value`` for a custom field."""
    key, sep, value = raw.partition("=")
    key = key.strip()
    if not sep:
        raise InvalidValue("--field", raw, "write it as key=value")
    if not _FIELD_KEY.match(key):
        raise InvalidValue(
            "--field", raw, "the key must start with a letter and hold letters, digits, _ . -"
        )
    if key in FIELDS or key in COLUMNS:
        raise InvalidValue("--field", raw, f"{key} is a standard field; use --{key}")
    checked = clean(value, field=f"field {key}", limit=FIELD_VALUE_MAX)
    if checked is None:
        raise InvalidValue("--field", raw, "the value is empty; use --unset to remove a field")
    return key, checked


class CustomerInput:
    """Validated values for a new or changed customer."""

    __slots__ = ("values", "tags", "fields")

    def __init__(
        self,
        values: dict[str, str | None] | None = None,
        tags: list[str] | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        self.values: dict[str, str | None] = values if values is not None else {}
        self.tags: list[str] = tags if tags is not None else []
        self.fields: dict[str, str] = fields if fields is not None else {}


def prepare(
    raw: Mapping[str, str | None],
    config: Config,
    *,
    tags: Iterable[str] = (),
    custom: Iterable[str] = (),
) -> CustomerInput:
    """Validate raw text for standard fields, tags and ``key=value`` custom fields."""
    data = CustomerInput()
    for name, value in raw.items():
        if name not in FIELDS:
            raise UsageError(f"unknown customer field {name!r}")
        if value is not None:
            data.values[name] = check_value(name, value, config)
    data.tags = sorted({check_tag(t) for t in tags})
    for item in custom:
        key, value = check_field(item)
        data.fields[key] = value
    return data


# -- reading ------------------------------------------------------------------------------


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["tags"] = row["tags"].split(",") if row["tags"] else []
    fields = row["fields"]
    if fields and fields != "{}":
        import json  # not at the top: a listing without custom fields never needs it

        row["fields"] = json.loads(fields)
    else:
        row["fields"] = {}
    return row


def get(db: Database, customer_id: int) -> dict[str, Any]:
    row = db.one(GET_SQL, (customer_id,))
    if row is None:
        raise NotFound("customer", customer_id)
    return _decode(row)


def exists(db: Database, customer_id: int) -> bool:
    return db.scalar("SELECT 1 FROM customers WHERE id = ?", (customer_id,)) is not None


def match_query(text: str, *, prefix: bool = True, country: str | None = None) -> str:
    """An FTS5 query from what the user typed: every word must match (as a prefix).

    Text that reads as a phone number also finds the number stored in E.164 form, normalised
    with the rules of stored numbers (``country``: the default country): with VN,
    ``0912 345 678`` finds +84912345678."""
    terms, phone = query_terms(text, prefix=prefix, country=country)
    query = " ".join(terms)
    if phone is not None:
        query = f"({query}) OR {phone}"
    return query


def query_terms(
    text: str, *, prefix: bool = True, country: str | None = None
) -> tuple[list[str], str | None]:
    """The FTS5 terms of a search, one a word (all must match), and the term of the phone
    number it reads as (an alternative to all the words; ``None``: none)."""
    words = fold_for_search(text).split()
    if not words:
        raise InvalidValue("--search", text, "must not be empty")
    _check_query(text, "--search")
    star = "*" if prefix else ""
    terms = ['"' + w.replace('"', '""') + '"' + star for w in words]
    phone = phone_digits(text, country)
    if phone is None or [phone] == words:
        return terms, None
    return terms, f'"{phone}"{star}'


def search_condition(
    id_column: str,
    fts: str,
    link: str,
    search: str,
    *,
    prefix: bool = True,
    country: str | None = None,
    also: str | None = None,
) -> tuple[str, list[Any]]:
    """The SQL condition (and its parameters) that a customer or lead (``id_column``; its
    index ``fts``, the interactions' column ``link`` pointing at it) matches ``search``:
    every word is somewhere in its own indexed fields or in the text of one of its
    interactions (``interactions_fts``), a word in the company and another in an e-mail
    together.  ``also``: text filters (:func:`column_filter`), on its own fields.

    The first branch, every word in the record's own fields, is the common case and costs
    one FTS5 query; the second one, word by word, is evaluated only for the records the
    first one leaves out."""
    terms, phone = query_terms(search, prefix=prefix, country=country)
    own = f"{id_column} IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?)"
    spoken = (
        f"{id_column} IN (SELECT x.{link} FROM interactions x WHERE x.id IN "
        "(SELECT rowid FROM interactions_fts WHERE interactions_fts MATCH ?))"
    )
    query = " ".join(terms) if phone is None else f"({' '.join(terms)}) OR {phone}"
    params: list[Any] = [both(query, also)]
    spread = " AND ".join(f"({own} OR {spoken})" for _ in terms)
    for term in terms:
        params += [term, term]
    if phone is not None:
        spread = f"(({spread}) OR {own} OR {spoken})"
        params += [phone, phone]
    if also is not None:
        spread = f"{spread} AND {own}"
        params.append(also)
    return f"({own} OR ({spread}))", params


_PHONE_LIKE = re.compile(r"[+(]?[0-9][0-9 ().\-/]{4,}[0-9)]")


def phone_digits(text: str, country: str | None) -> str | None:
    """The digits of ``text`` as an E.164 number (what the search index holds for a stored
    phone), if it reads as one; else ``None``."""
    typed = text.strip()
    if not _PHONE_LIKE.fullmatch(typed) or sum(ch.isdigit() for ch in typed) < 6:
        return None
    from crmcli.validate import normalize_phone

    try:
        number = normalize_phone(typed, country=country, field="--search")
    except InvalidValue:
        return None
    return number[1:] if number.startswith("+") else None


def _check_query(text: str, field: str) -> None:
    if "\x00" in text:  # FTS5 reads it as the end of the query: "unterminated string"
        raise InvalidValue(field, text, "contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: SQLite cannot take it
        raise InvalidValue(field, text, "is not valid Unicode text") from None


def column_filter(columns: Mapping[str, tuple[str, str | None]]) -> str | None:
    """An FTS5 query for text filters (``{"city": ("--city", "ha noi")}``): each column must
    hold the words, in that order, the last as a prefix; case and accents are ignored as in
    ``--search`` (the same index, the same folding).  ``None`` when no filter is given."""
    parts = []
    for column, (field, text) in columns.items():
        if text is None:
            continue
        folded = fold_for_search(text)
        _check_query(text, field)
        if not any(ch.isalnum() for ch in folded):
            raise InvalidValue(field, text, "must hold letters or digits")
        parts.append(f'{column} : "{folded.replace(chr(34), chr(34) * 2)}"*')
    return " AND ".join(parts) or None


def parse_sort(spec: str) -> str:
    """``name`` or ``-created`` (descending) -> an ORDER BY clause from the allowed list."""
    return sort_clause(spec, SORTS, "c.id")


def sort_clause(spec: str, sorts: Mapping[str, str], id_column: str) -> str:
    """``key`` or ``-key`` (descending) -> ORDER BY on ``sorts[key]`` then the id; a key not
    in ``sorts`` is refused (user text never reaches the SQL)."""
    desc = spec.startswith("-")
    key = (spec[1:] if desc else spec).replace("-", "_")
    if key == "last_contact":
        key = "last_contacted"
    if key not in sorts:
        raise InvalidValue("--sort", spec, f"sort by one of: {', '.join(sorts)}")
    direction = "DESC" if desc else "ASC"
    return f"{sorts[key]} {direction}, {id_column} {direction}"


def list_customers(db: Database, **filters: Any) -> Iterator[dict[str, Any]]:
    """Customers matching every filter (see :func:`list_query`), streamed; a bad filter is
    refused here, before the caller writes anything (a header)."""
    if filters.get("search") is not None and "country" not in filters:
        from crmcli.core import settings

        filters["country"] = settings.load(db).country
    segment = filters.pop("segment", None)
    if segment is not None:  # the segment's criteria, evaluated now, as one more condition
        from crmcli.core.outreach import segments

        filters["extra"] = segments.condition(db, segments.get(db, segment)["criteria"])
    sql, params = list_query(**filters)
    return (_decode(row) for row in db.query(sql, params))


# Sort keys that may be NULL: those rows come last either way.
_NULLABLE_SORTS = {"company": "c.sort_company", "city": "c.sort_city"}


def list_query(
    *,
    tags: Iterable[str] = (),
    company: str | None = None,
    city: str | None = None,
    search: str | None = None,
    sort: str | None = None,
    limit: int | None = None,
    country: str | None = None,
    consents: Iterable[tuple[str, str]] = (),
    extra: tuple[str, list[Any]] | None = None,
) -> tuple[str, list[Any]]:
    """The SQL and parameters that list customers (the benchmark runs the same in sqlite3).

    ``company`` and ``city`` match words of those fields through the search index, so they
    ignore case and accents as ``search`` does.  ``country``: the default country, for a
    search that reads as a phone number.

    A search without ``sort`` lists whole-word matches first, then the customers matched
    only as a prefix (``schm`` → Schmidt), each by id.  Both parts are driven by the index
    in rowid order, so a LIMIT stops early: a common word on a million rows answers at once
    instead of expanding the prefix to every e-mail token that starts with it.  A sorted
    page is read from the sort key's index.  ``extra``: one more condition on ``c`` and its
    parameters (a segment's criteria).

    ``consents``: (channel, status) pairs from :func:`consent.parse_spec`; ``unknown`` is
    no consent recorded on that channel.
    """
    where: list[str] = []
    params: list[Any] = []
    if extra is not None:
        where.append(f"({extra[0]})")
        params.extend(extra[1])
    for tag in tags:
        where.append("c.id IN (SELECT customer_id FROM customer_tags WHERE tag = ?)")
        params.append(check_tag(tag))
    for channel, status in consents:
        if status == "unknown":
            where.append("c.id NOT IN (SELECT customer_id FROM consents WHERE channel = ?)")
            params.append(channel)
        else:
            where.append(
                "c.id IN (SELECT customer_id FROM consents WHERE channel = ? AND status = ?)"
            )
            params += [channel, status]
    filters = column_filter({"company": ("--company", company), "city": ("--city", city)})
    tail, tail_params = "", []
    if limit is not None:
        tail, tail_params = " LIMIT ?", [limit]
    searched = _SELECT.replace(
        "FROM customers c", "FROM customers_fts f JOIN customers c ON c.id = f.rowid"
    )
    if search is None and not sort:
        if filters is None:
            return _where(_SELECT, where) + " ORDER BY c.id" + tail, params + tail_params
        # Driven by the index in rowid order: a LIMIT stops at the first matches.
        sql = _where(searched, ["customers_fts MATCH ?", *where]) + " ORDER BY f.rowid"
        return sql + tail, [filters, *params, *tail_params]
    if sort:
        source = "FROM customers c "
        if search is not None:
            found, found_params = search_condition(
                "c.id", "customers_fts", "customer_id", search, country=country, also=filters
            )
            where = [found, *where]
            params = [*found_params, *params]
        elif filters is not None:
            # "+": walk the sort key's index and test each row against the matches, rather
            # than sort every match (a big city is a third of the customers).
            where.append("+c.id IN (SELECT rowid FROM customers_fts WHERE customers_fts MATCH ?)")
            params.append(filters)
        order = parse_sort(sort)
        key = _NULLABLE_SORTS.get(sort.lstrip("-").replace("-", "_"))
        if key is not None:
            order = f"{key} IS NULL, {order}"
        if limit is None:
            sql = _where(_SELECT.replace("FROM customers c\n", source), where)
            return f"{sql} ORDER BY {order}", params
        # Choose the page on the ids alone, then build the full rows (tags, last contact) of
        # that page only: sorting a million rows must not compute every row's columns.
        if key is None:
            page = _where("SELECT c.id " + source, where) + " ORDER BY " + order + tail
            page_params = params + tail_params
        else:  # the rows with a key from its index, then those without, by id
            keyed = _where("SELECT c.id " + source, [*where, f"{key} IS NOT NULL"])
            unkeyed = _where("SELECT c.id " + source, [*where, f"{key} IS NULL"])
            page = (
                f"SELECT id FROM ({keyed} ORDER BY {parse_sort(sort)}{tail}) UNION ALL "
                f"SELECT id FROM ({unkeyed} ORDER BY c.id{tail})"
            )
            page_params = params + tail_params + params + tail_params
        sql = _SELECT + f"WHERE c.id IN ({page}) ORDER BY {order}{tail}"
        return sql, page_params + tail_params
    assert search is not None
    return ranked_search(
        _SELECT, "c.id", "customers_fts", "customer_id", search, where, params, tail,
        tail_params, country=country, also=filters,
    )  # fmt: skip


def both(query: str, also: str | None) -> str:
    """FTS5 queries ``query`` and ``also`` (text filters; ``None``: none) together."""
    return query if also is None else f"({query}) AND ({also})"


def ranked_search(
    select: str,
    id_column: str,
    fts: str,
    link: str,
    search: str,
    where: list[str],
    params: list[Any],
    tail: str,
    tail_params: list[Any],
    *,
    country: str | None = None,
    also: str | None = None,
) -> tuple[str, list[Any]]:
    """Rows of ``select`` (customers or leads, ``id_column``) matching ``search`` as
    :func:`search_condition` says: those matching the whole words first, then those matched
    only as a prefix, each by id (both parts walk the table in id order, so a LIMIT in
    ``tail`` stops early).  ``also``: text filters on the same index (:func:`column_filter`),
    matched with the words."""
    exact, exact_params = search_condition(
        id_column, fts, link, search, prefix=False, country=country, also=also
    )
    prefix, prefix_params = search_condition(
        id_column, fts, link, search, country=country, also=also
    )
    whole_words = _where(select, [exact, *where]) + f" ORDER BY {id_column}"
    prefix_only = _where(select, [prefix, f"NOT {exact}", *where])
    sql = (
        f"SELECT * FROM ({whole_words}) UNION ALL "
        f"SELECT * FROM ({prefix_only} ORDER BY {id_column}){tail}"
    )
    return sql, [
        *exact_params, *params, *prefix_params, *exact_params, *params, *tail_params,
    ]  # fmt: skip


def _where(sql: str, conditions: list[str]) -> str:
    return sql + ("WHERE " + " AND ".join(conditions) if conditions else "")


GET_SQL = _SELECT + "WHERE c.id = ?"
INTERACTIONS_SQL = (
    "SELECT id, uid, type, direction, happened_at, body, created_at FROM interactions "
    "WHERE customer_id = ? ORDER BY happened_at DESC, id DESC"
)


def interactions(db: Database, customer_id: int) -> list[dict[str, Any]]:
    """The customer's interactions, newest first."""
    return list(db.query(INTERACTIONS_SQL, (customer_id,)))


def show(db: Database, customer_id: int) -> dict[str, Any]:
    """All about one customer: fields, tags, custom fields, the contact cadence and when
    the next contact is due, what they owe per currency (open invoices less their
    payments), consent per channel, the interaction timeline, the deals, tickets, pending
    reminders and the leads converted into it."""
    from crmcli.core import deals, reminders, tickets
    from crmcli.core.money import invoices
    from crmcli.core.outreach import consent

    record = get(db, customer_id)
    record["cadence"] = db.scalar("SELECT cadence FROM customers WHERE id = ?", (customer_id,))
    record["next_contact_due"] = next_contact_due(
        record["cadence"], record["last_contacted"], record["created_at"]
    )
    record["interactions"] = interactions(db, customer_id)
    record["deals"] = deals.for_customer(db, customer_id)
    record["owes"] = invoices.owed_by_customer(db, customer_id)
    record["consent"] = consent.of_customer(db, customer_id)
    record["tickets"] = tickets.for_customer(db, customer_id)
    record["reminders"] = reminders.for_customer(db, customer_id)
    record["leads"] = list(db.query(LEADS_SQL, (customer_id,)))
    return record


LEADS_SQL = (
    "SELECT id, name, source, status, converted_at FROM leads WHERE customer_id = ? ORDER BY id"
)


# -- writing ------------------------------------------------------------------------------

# The stored sort keys (text.sort_key of name, city, company): every write sets them.
SORT_COLUMNS = tuple(CUSTOMER_SORT_KEYS)


def sort_keys(values: Mapping[str, Any]) -> tuple[str | None, ...]:
    """The :data:`SORT_COLUMNS` values for a customer with these field ``values``."""
    return tuple(sort_key(values.get(field)) for field in CUSTOMER_SORT_KEYS.values())


_INSERT = (
    "INSERT INTO customers (id, uid, name, email, phone, company, title, address, city, "
    "country, birthday, source, notes, fields, created_at, updated_at, "
    f"{', '.join(SORT_COLUMNS)}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _insert_params(
    customer_id: int | None, data: CustomerInput, now: str, uid: str | None = None
) -> tuple[Any, ...]:
    import json

    v = data.values
    return (
        customer_id,
        uid or str(uuid.uuid4()),
        *(v.get(name) for name in FIELDS),
        json.dumps(data.fields, ensure_ascii=False, sort_keys=True),
        v.get("created_at") or now,
        now,
        *sort_keys(v),
    )


def add(db: Database, data: CustomerInput) -> int:
    """Insert a customer; returns its id."""
    if not data.values.get("name"):
        raise InvalidValue("name", "", "must not be empty")
    cur = db.execute(_INSERT, _insert_params(None, data, _now()))
    customer_id = int(cur.lastrowid or 0)
    _add_tags(db, customer_id, data.tags)
    return customer_id


INSERT_TAG = "INSERT OR IGNORE INTO customer_tags (customer_id, tag) VALUES (?, ?)"
_UPDATABLE = frozenset((*FIELDS, "fields", "cadence", "updated_at"))


def same_contact(
    db: Database, values: Mapping[str, Any], *, table: str = "customers", limit: int = 3
) -> list[dict[str, Any]]:
    """Records of ``table`` (customers or leads) with the e-mail (case ignored) or the
    phone (as stored, normalised) in ``values``: ``id``, ``name`` and ``same`` (``e-mail``,
    ``phone`` or ``e-mail and phone``), oldest first, at most ``limit``.  Both columns are
    indexed: a lookup, not a scan."""
    if table not in ("customers", "leads"):
        raise ValueError(table)
    found: dict[int, dict[str, Any]] = {}
    for column, label in (("email", "e-mail"), ("phone", "phone")):
        value = values.get(column)
        if not value:
            continue
        nocase = " COLLATE NOCASE" if column == "email" else ""
        for row in db.query(
            f"SELECT id, name FROM {table} WHERE {column} = ?{nocase} ORDER BY id LIMIT ?",
            (value, limit),
        ):
            record = found.setdefault(row["id"], {**row, "same": []})
            record["same"].append(label)
    return [{**r, "same": " and ".join(r["same"])} for _, r in sorted(found.items())[:limit]]


def _add_tags(db: Database, customer_id: int, tags: Iterable[str]) -> None:
    db.executemany(INSERT_TAG, [(customer_id, t) for t in tags])


def write_changes(db: Database, customer_id: int, changed: dict[str, Any], now: str) -> None:
    """``UPDATE`` the given columns (names from :data:`FIELDS` and ``fields`` only)."""
    if not changed:
        return
    if not _UPDATABLE.issuperset(changed):
        raise ValueError(f"not customer columns: {sorted(set(changed) - _UPDATABLE)}")
    changed = {**changed, "updated_at": now}
    for column, field in CUSTOMER_SORT_KEYS.items():
        if field in changed:
            changed[column] = sort_key(changed[field])
    assignments = ", ".join(f"{k} = ?" for k in changed)
    db.execute(f"UPDATE customers SET {assignments} WHERE id = ?", [*changed.values(), customer_id])


def refresh_sort_keys(db: Database, ids: Iterable[int]) -> None:
    """Compute the sort keys of these customers again from their text (after rows came back
    from audit images, which do not hold the derived keys).  Setting only the keys is no
    change: the audit and search triggers do not fire."""
    rows = [
        (*sort_keys(dict(zip(_SORTED_FIELDS_ORDER, row[1:], strict=True))), row[0])
        for chunk in _chunks(list(ids))
        for row in db.conn.execute(
            f"SELECT id, {', '.join(_SORTED_FIELDS_ORDER)} FROM customers "
            f"WHERE id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
    ]
    sets = ", ".join(f"{column} = ?" for column in SORT_COLUMNS)
    db.executemany(f"UPDATE customers SET {sets} WHERE id = ?", rows)


_SORTED_FIELDS_ORDER = tuple(CUSTOMER_SORT_KEYS.values())


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def update(
    db: Database,
    customer_id: int,
    data: CustomerInput,
    *,
    remove_tags: Iterable[str] = (),
    unset: Iterable[str] = (),
    cadence: str | None = None,
) -> dict[str, Any]:
    """Change fields, tags, custom fields and the contact cadence (``cadence``: a value from
    :func:`check_cadence`; ``unset`` may name ``cadence``); returns the customer as it now
    is."""
    current = get(db, customer_id)
    values = dict(data.values)
    fields = dict(current["fields"])
    fields.update(data.fields)
    old_cadence = db.scalar("SELECT cadence FROM customers WHERE id = ?", (customer_id,))
    new_cadence = old_cadence if cadence is None else cadence
    for key in unset:
        if key == "name":
            raise InvalidValue("--unset", key, "a customer always has a name")
        if key in FIELDS:
            values[key] = None
        elif key == "cadence":
            if cadence is not None:
                raise UsageError("give --cadence or --unset cadence, not both")
            new_cadence = None
        elif key in fields:
            del fields[key]
        else:
            raise InvalidValue("--unset", key, "no such field on this customer")
    if "name" in values and not values["name"]:
        raise InvalidValue("name", "", "must not be empty")
    changed = {k: v for k, v in values.items() if current.get(k) != v}
    if new_cadence != old_cadence:
        changed["cadence"] = new_cadence
    if fields != current["fields"]:
        import json

        changed["fields"] = json.dumps(fields, ensure_ascii=False, sort_keys=True)
    write_changes(db, customer_id, changed, _now())
    _add_tags(db, customer_id, data.tags)
    removed = [check_tag(t) for t in remove_tags]
    db.executemany(
        "DELETE FROM customer_tags WHERE customer_id = ? AND tag = ?",
        [(customer_id, t) for t in removed],
    )
    return get(db, customer_id)


def deal_count(db: Database, customer_id: int) -> int:
    return int(db.scalar("SELECT count(*) FROM deals WHERE customer_id = ?", (customer_id,)))


def delete(db: Database, customer_id: int) -> dict[str, Any]:
    """Delete a customer with its tags, interactions and deals (the audit trail keeps
    them); a lead converted into it keeps its own data and loses the link."""
    record = get(db, customer_id)
    db.execute("DELETE FROM customers WHERE id = ?", (customer_id,))
    return record


def log(
    db: Database,
    customer_id: int,
    kind: str,
    body: str,
    happened_at: str | None = None,
    *,
    direction: str | None = None,
    message_key: str | None = None,
    campaign_id: int | None = None,
) -> int:
    """Record a call / email / meeting / note with the customer; returns the interaction id.
    ``direction`` and ``message_key``: an e-mail read from a mailbox (:mod:`core.mail`);
    ``campaign_id``: the campaign it answers (a reply to a message crm sent)."""
    if kind not in INTERACTION_TYPES:
        raise InvalidValue("--type", kind, f"choose one of {', '.join(INTERACTION_TYPES)}")
    text = clean(body, field="text", limit=NOTE_MAX, required=True)
    db.require("customers", "customer", customer_id)
    now = _now()
    cur = db.execute(
        "INSERT INTO interactions (uid, customer_id, type, body, happened_at, created_at, "
        "direction, message_key, campaign_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (str(uuid.uuid4()), customer_id, kind, text, happened_at or now, now, direction,
         message_key, campaign_id),
    )  # fmt: skip
    return int(cur.lastrowid or 0)


# -- duplicates and merging ---------------------------------------------------------------


def _phone_key(phone: str) -> str:
    """International numbers (E.164, ``+…``) match whole, so +353 1 234 5678 is not
    +81 3 1234 5678; others by their last nine digits (a local 0912 345 678 and a written
    84 912 345 678 are one phone)."""
    digits = re.sub(r"\D", "", phone)
    if phone.lstrip().startswith("+"):
        return "+" + digits
    return digits[-9:] if len(digits) >= 9 else digits


# Each query lists the ids sharing one key; SQLite groups them with its own sorter, so memory
# stays small on a million customers.
_DUPLICATE_GROUPS = (
    ("same email", "email COLLATE NOCASE", "email IS NOT NULL"),
    ("same phone", "crm_phone_key(phone)", "phone IS NOT NULL"),
    (
        "similar name and company",
        "crm_fold(name) || char(0) || crm_fold(company)",
        "company IS NOT NULL",
    ),
)


def duplicates(db: Database) -> list[dict[str, Any]]:
    """Likely duplicate pairs: same e-mail, same phone, or the same name at the same company."""
    db.conn.create_function("crm_fold", 1, _fold_or_empty, deterministic=True)
    db.conn.create_function("crm_phone_key", 1, _phone_group_key, deterministic=True)
    pairs: dict[tuple[int, int], list[str]] = {}
    for reason, key, condition in _DUPLICATE_GROUPS:
        sql = (
            f"SELECT group_concat(id) FROM customers WHERE {condition} "
            f"GROUP BY {key} HAVING {key} IS NOT NULL AND count(*) > 1"
        )
        for (ids_text,) in db.conn.execute(sql):
            first, *others = sorted(int(x) for x in ids_text.split(","))
            for other in others:
                pairs.setdefault((first, other), []).append(reason)
    return [
        {"keep": a, "other": b, "reasons": reasons} for (a, b), reasons in sorted(pairs.items())
    ]


def _fold_or_empty(text: str | None) -> str:
    return fold_key(text) if text else ""


def _phone_group_key(phone: str | None) -> str | None:
    key = _phone_key(phone) if phone else ""
    return key if len(key) >= 6 else None


def merge(db: Database, keep_id: int, other_id: int) -> dict[str, Any]:
    """Fold ``other`` into ``keep``: empty fields filled, tags, custom fields,
    interactions, deals and converted leads moved; ``other`` is deleted.  Returns the kept
    customer."""
    if keep_id == other_id:
        raise UsageError("cannot merge a customer with itself")
    keep = get(db, keep_id)
    other = get(db, other_id)
    fill = {k: other[k] for k in FIELDS if not keep.get(k) and other.get(k)}
    if keep.get("notes") and other.get("notes") and other["notes"] != keep["notes"]:
        fill["notes"] = f"{keep['notes']}\n\n{other['notes']}"[:NOTE_MAX]
    fields = {**other["fields"], **keep["fields"]}
    for name in ("email", "phone"):  # keep the other's contact details rather than drop them
        if keep.get(name) and other.get(name) and other[name].casefold() != keep[name].casefold():
            fields.setdefault(f"{name}_2", other[name])
    # Moved before the delete cascades to them.
    for table in ("interactions", "deals", "leads", "tickets", "reminders"):
        db.execute(f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?", (keep_id, other_id))
    db.execute("DELETE FROM customers WHERE id = ?", (other_id,))
    update(db, keep_id, CustomerInput(values=fill, tags=other["tags"], fields=fields))
    return get(db, keep_id)
