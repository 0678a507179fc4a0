"""Segments: named, stored criteria over customers, evaluated when used.

A segment's criteria are JSON in ``segments.criteria`` (checked values, never SQL); its
members are computed each time from the data as it is then (:func:`members`), by SQL built
here from the criteria with every value a parameter.  All criteria must hold (AND):

* ``tags`` (all of), ``any_tags`` (any of), ``not_tags`` (none of);
* ``city``, ``company``: the words, as ``customer list --city`` (search index: case and
  accents ignored, the last word a prefix); ``country``, ``source``: the whole value, case
  and accents ignored;
* ``age`` ``[min, max]`` (either may be null) from a birthday with a year, today local;
  ``birthday_month`` 1-12 (birthdays with or without a year);
* ``fields`` ``{key: value}``: custom fields, case and accents ignored;
* ``won_min``/``won_max`` ``{"amount": minor units, "currency": code}``: won deals' value
  in that currency (won_max includes customers with none); ``won_deals_min``: won deals;
* ``contacted_before``/``contacted_after``: the last interaction before / at or after a
  moment; the phrase is stored as typed ("90 days ago") and read when the segment is
  used; never contacted customers count as contacted before any moment;
* ``open_deals``/``open_tickets``: has any (a ticket open or pending);
* ``satisfaction_min``/``satisfaction_max``: the satisfaction (1-5) of the customer's
  last closed ticket that has one;
* ``consent`` ``{channel: status}``: yes, no or unknown (no record);
* ``recency_min`` … ``monetary_max``: RFM scores 1-5 (:mod:`crmcli.core.outreach.rfm`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from crmcli.db import Database
from crmcli.errors import InvalidValue, NotFound, UsageError

COLUMNS = ("id", "name", "criteria", "description", "created_at", "updated_at")
LIST_COLUMNS = ("id", "name", "members", "criteria", "description", "updated_at")

# Criterion -> its option, for messages and --clear (the order shown).
OPTIONS = {
    "tags": "--tag", "any_tags": "--any-tag", "not_tags": "--not-tag", "city": "--city",
    "country": "--country", "company": "--company", "source": "--source", "age": "--age",
    "birthday_month": "--birthday-month", "fields": "--field", "won_min": "--won-min",
    "won_max": "--won-max", "won_deals_min": "--won-deals-min",
    "contacted_before": "--contacted-before", "contacted_after": "--contacted-after",
    "open_deals": "--open-deals", "open_tickets": "--open-tickets",
    "satisfaction_min": "--satisfaction-min", "satisfaction_max": "--satisfaction-max",
    "consent": "--consent", "recency_min": "--recency-min", "recency_max": "--recency-max",
    "frequency_min": "--frequency-min", "frequency_max": "--frequency-max",
    "monetary_min": "--monetary-min", "monetary_max": "--monetary-max",
}  # fmt: skip
RFM_BOUNDS = {
    f"{score}_{end}": (score[0], ">=" if end == "min" else "<=")
    for score in ("recency", "frequency", "monetary")
    for end in ("min", "max")
}
_WON = "d.stage_id IN (SELECT id FROM stages WHERE kind = 'won')"


# -- checking what the user typed -----------------------------------------------------------


def check_age(raw: str) -> list[int | None]:
    """``30-45``, ``30-`` (30 or more), ``-45`` or ``30`` -> ``[min, max]``."""
    text = raw.strip()
    low, sep, high = text.partition("-")
    try:
        lo = int(low) if low.strip() else None
        hi = int(high) if high.strip() else None
    except ValueError:
        lo = hi = -1
    if not sep:
        hi = lo
    if (lo is None and hi is None) or any(v is not None and not 0 <= v <= 150 for v in (lo, hi)):
        raise InvalidValue("--age", raw, "write a range of years: 30-45, 30-, -45 or 30")
    if lo is not None and hi is not None and lo > hi:
        raise InvalidValue("--age", raw, "the first age is above the second")
    return [lo, hi]


def check_int(raw: int | str, field: str, low: int, high: int | None = None) -> int:
    text = str(raw).strip()
    if (
        not (text.isascii() and text.isdigit() and len(text) <= 18)
        or int(text) < low
        or (high is not None and int(text) > high)
    ):
        span = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise InvalidValue(field, str(raw), f"a whole number {span}")
    return int(text)


def check_when(raw: str, field: str, order: str) -> str:
    """A date-time phrase, checked now, stored as typed (read again at each use)."""
    from crmcli.dates import parse_datetime

    parse_datetime(raw, order=order, field=field)
    return raw.strip()


def check_money(raw: str, field: str, currency: str) -> dict[str, Any]:
    from crmcli.money import parse_money

    money = parse_money(raw, default_currency=currency, field=field)
    return {"amount": money.amount, "currency": money.currency}


def check_consent(raw: str) -> tuple[str, str]:
    from crmcli.core.outreach.consent import STATUSES, check_channel

    channel, sep, status = raw.partition("=")
    if not sep:
        raise InvalidValue("--consent", raw, "write it as channel=status: email=yes")
    channel = check_channel(channel, field="--consent")
    status = status.strip().lower()
    if status not in STATUSES:
        raise InvalidValue("--consent", raw, f"the status is one of {', '.join(STATUSES)}")
    return channel, status


def check_text(raw: str, field: str) -> str:
    from crmcli.text import clean

    text = clean(raw, field=field, limit=200, required=True)
    assert text is not None
    if not any(ch.isalnum() for ch in text):
        raise InvalidValue(field, raw, "must hold letters or digits")
    return text


def criteria_from(options: Mapping[str, Any], *, currency: str, order: str) -> dict[str, Any]:
    """Checked criteria from the options given (``None``/empty/False: not given): option
    names as in :data:`OPTIONS` with raw text values; ``fields`` and ``consent`` are lists
    of ``key=value``."""
    from crmcli.core.customers import check_field, check_tag

    out: dict[str, Any] = {}
    for key, value in options.items():
        if key not in OPTIONS:
            raise UsageError(f"unknown criterion {key!r}")
        if value is None or value is False or value == [] or value == ():
            continue
        field = OPTIONS[key]
        if key in ("tags", "any_tags", "not_tags"):
            out[key] = sorted({check_tag(t) for t in value})
        elif key in ("city", "country", "company", "source"):
            out[key] = check_text(value, field)
        elif key == "age":
            out[key] = check_age(value)
        elif key == "birthday_month":
            out[key] = check_int(value, field, 1, 12)
        elif key == "fields":
            out[key] = dict(check_field(item) for item in value)
            for item in value:
                if "=" in item:
                    check_text(item.partition("=")[2], field)
        elif key in ("won_min", "won_max"):
            out[key] = check_money(value, field, currency)
        elif key == "won_deals_min":
            out[key] = check_int(value, field, 0)
        elif key in ("contacted_before", "contacted_after"):
            out[key] = check_when(value, field, order)
        elif key in ("open_deals", "open_tickets"):
            out[key] = True
        elif key in ("satisfaction_min", "satisfaction_max"):
            out[key] = check_int(value, field, 1, 5)
        elif key == "consent":
            consent: dict[str, str] = {}
            for item in value:
                channel, status = check_consent(item)
                if consent.get(channel, status) != status:
                    raise InvalidValue("--consent", item, f"{channel} is given twice")
                consent[channel] = status
            out[key] = consent
        else:  # RFM scores
            out[key] = check_int(value, field, 1, 5)
    for low, high in (("satisfaction_min", "satisfaction_max"), *_rfm_pairs()):
        if low in out and high in out and out[low] > out[high]:
            raise UsageError(f"{OPTIONS[low]} {out[low]} is above {OPTIONS[high]} {out[high]}")
    return out


def _rfm_pairs() -> list[tuple[str, str]]:
    return [(f"{s}_min", f"{s}_max") for s in ("recency", "frequency", "monetary")]


def check_clear(names: list[str]) -> list[str]:
    """``--clear`` names (``tag``, ``--won-min``, ``won_min``) -> criteria keys."""
    by_option = {opt.lstrip("-"): key for key, opt in OPTIONS.items()}
    keys = []
    for raw in names:
        name = raw.strip().lstrip("-")
        key = by_option.get(name) or (name.replace("-", "_") if name.replace("-", "_") in OPTIONS
                                      else None)  # fmt: skip
        if key is None:
            raise InvalidValue("--clear", raw, f"one of {', '.join(by_option)}")
        keys.append(key)
    return keys


def describe(criteria: Mapping[str, Any]) -> str:
    """The criteria as options, for people: ``--tag vip --city "Hà Nội" --age 30-45``."""
    parts: list[str] = []

    def quoted(text: str) -> str:
        return f'"{text}"' if not text or any(ch.isspace() for ch in text) else text

    for key, option in OPTIONS.items():
        if key not in criteria:
            continue
        value = criteria[key]
        if key in ("tags", "any_tags", "not_tags"):
            parts += [f"{option} {quoted(t)}" for t in value]
        elif key in ("fields", "consent"):
            parts += [f"{option} {quoted(f'{k}={v}')}" for k, v in value.items()]
        elif key == "age":
            lo, hi = value
            text = str(lo) if lo == hi else f"{'' if lo is None else lo}-{'' if hi is None else hi}"
            parts.append(f"{option} {text}")
        elif key in ("won_min", "won_max"):
            from crmcli.money import to_decimal_text

            parts.append(f"{option} {to_decimal_text(value['amount'], value['currency'])}"
                         f"{value['currency']}")  # fmt: skip
        elif value is True:
            parts.append(option)
        else:
            parts.append(f"{option} {quoted(str(value))}")
    return " ".join(parts)


# -- storage --------------------------------------------------------------------------------


def _now() -> str:
    from crmcli.dates import utc_now_iso

    return utc_now_iso()


def check_name(raw: str) -> str:
    from crmcli.text import clean

    name = clean(raw, field="name", limit=100, required=True)
    assert name is not None
    if name.isdigit():
        raise InvalidValue("name", raw, "must not be a number (numbers are segment ids)")
    return name


def get(db: Database, name_or_id: str | int) -> dict[str, Any]:
    """The segment named ``name_or_id`` (case ignored) or with that id; raises
    :class:`NotFound` (exit 1) for an unknown one.  ``criteria`` is decoded."""
    text = str(name_or_id).strip()
    row = None
    if text.isascii() and text.isdigit() and len(text) < 19:
        row = db.one("SELECT * FROM segments WHERE id = ?", (int(text),))
    if row is None:
        row = db.one("SELECT * FROM segments WHERE name = ?", (text,))
    if row is None:  # NOCASE folds ASCII only: "VIP HÀ NỘI" finds "Vip Hà Nội" here
        wanted = _fold(text)
        row = next(
            (r for r in db.query("SELECT * FROM segments") if _fold(r["name"]) == wanted), None
        )
    if row is None:
        raise NotFound("segment", text)
    row["criteria"] = json.loads(row["criteria"])
    return {k: row[k] for k in COLUMNS}


def add(db: Database, name: str, criteria: dict[str, Any], description: str | None) -> int:
    """Store a segment; call inside ``db.write()``."""
    if not criteria:
        raise UsageError("a segment needs at least one criterion (crm segment add --help)")
    name = check_name(name)
    if _named(db, name) is not None:
        raise InvalidValue("name", name, "a segment of that name exists")
    now = _now()
    cur = db.execute(
        "INSERT INTO segments (name, criteria, description, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (name, json.dumps(criteria, ensure_ascii=False, sort_keys=True), description, now, now),
    )
    return int(cur.lastrowid or 0)


def update(
    db: Database,
    segment: dict[str, Any],
    given: dict[str, Any],
    clear: list[str],
    *,
    name: str | None = None,
    description: str | None = None,
) -> bool:
    """Replace the criteria given, drop those in ``clear``; False when nothing changed.
    Call inside ``db.write()``."""
    criteria = {k: v for k, v in segment["criteria"].items() if k not in clear}
    criteria.update(given)
    if not criteria:
        raise UsageError(f"segment {segment['name']} would have no criterion left")
    changes: dict[str, Any] = {}
    if criteria != segment["criteria"]:
        changes["criteria"] = json.dumps(criteria, ensure_ascii=False, sort_keys=True)
    if name is not None and check_name(name) != segment["name"]:
        other = _named(db, check_name(name))
        if other is not None and other != segment["id"]:
            raise InvalidValue("--name", name, "a segment of that name exists")
        changes["name"] = check_name(name)
    if description is not None and (description or None) != segment["description"]:
        changes["description"] = description or None
    if not changes:
        return False
    changes["updated_at"] = _now()
    sets = ", ".join(f"{k} = ?" for k in changes)
    db.execute(f"UPDATE segments SET {sets} WHERE id = ?", [*changes.values(), segment["id"]])
    return True


def _named(db: Database, name: str) -> int | None:
    """The id of the segment called ``name`` (case and accents ignored), if any."""
    wanted = _fold(name)
    for ident, other in db.conn.execute("SELECT id, name FROM segments"):
        if _fold(other) == wanted:
            return int(ident)
    return None


def delete(db: Database, segment_id: int) -> None:
    db.execute("DELETE FROM segments WHERE id = ?", (segment_id,))


def list_segments(db: Database, *, count: bool = True) -> list[dict[str, Any]]:
    """Every segment by name, with its member count (``count``) and criteria as options."""
    rows = []
    for row in db.query("SELECT * FROM segments ORDER BY name COLLATE NOCASE, id"):
        criteria = json.loads(row["criteria"])
        row["members"] = len(members_of(db, criteria)) if count else None
        row["criteria"] = describe(criteria)
        rows.append({k: row[k] for k in LIST_COLUMNS})
    return rows


# -- evaluation -----------------------------------------------------------------------------


def members(db: Database, name_or_id: str | int) -> list[int]:
    """The ids of the segment's customers now, sorted; :class:`NotFound` for an unknown
    segment."""
    return members_of(db, get(db, name_or_id)["criteria"])


def members_of(db: Database, criteria: Mapping[str, Any]) -> list[int]:
    sql, params = members_query(db, criteria)
    return [row[0] for row in db.conn.execute(sql, params)]


def members_query(db: Database, criteria: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """``SELECT c.id FROM customers c WHERE … ORDER BY c.id`` and its parameters."""
    sql, params = condition(db, criteria)
    return f"SELECT c.id FROM customers c WHERE {sql} ORDER BY c.id", params


def condition(db: Database, criteria: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """The criteria as one SQL condition on ``customers c`` (and its parameters), to
    combine with other filters (``customer list --segment``).  Relative moments and ages are
    read now; the folding function ``crm_fold`` is registered on the connection."""
    from crmcli.core.customers import column_filter
    from crmcli.core.settings import load

    where: list[str] = []
    params: list[Any] = []

    def add(sql: str, *values: Any) -> None:
        where.append(sql)
        params.extend(values)

    for tag in criteria.get("tags", ()):
        add("c.id IN (SELECT customer_id FROM customer_tags WHERE tag = ?)", tag)
    if criteria.get("any_tags"):
        tags = criteria["any_tags"]
        marks = ", ".join("?" * len(tags))
        add(f"c.id IN (SELECT customer_id FROM customer_tags WHERE tag IN ({marks}))", *tags)
    if criteria.get("not_tags"):
        tags = criteria["not_tags"]
        marks = ", ".join("?" * len(tags))
        add(f"c.id NOT IN (SELECT customer_id FROM customer_tags WHERE tag IN ({marks}))", *tags)
    words = column_filter(
        {
            "city": ("--city", criteria.get("city")),
            "company": ("--company", criteria.get("company")),
        }
    )
    if words is not None:
        add("c.id IN (SELECT rowid FROM customers_fts WHERE customers_fts MATCH ?)", words)
    for key in ("country", "source"):
        if key in criteria:
            _fold_function(db)
            add(f"crm_fold(c.{key}) = ?", _fold(criteria[key]))
    if "age" in criteria:
        lo, hi = criteria["age"]
        today = _today()
        add("c.birthday GLOB '[0-9][0-9][0-9][0-9]-*'")
        if lo is not None:  # born on or before today lo years ago
            add("c.birthday <= ?", _years_before(today, lo).isoformat())
        if hi is not None:  # born after today hi + 1 years ago
            add("c.birthday > ?", _years_before(today, hi + 1).isoformat())
    if "birthday_month" in criteria:
        month = f"{criteria['birthday_month']:02d}"
        add(
            "c.birthday IS NOT NULL AND substr(c.birthday, -5) BETWEEN ? AND ?",
            f"{month}-01",
            f"{month}-31",
        )
    for key, value in criteria.get("fields", {}).items():
        _fold_function(db)
        add("crm_fold(json_extract(c.fields, ?)) = ?", f'$."{key}"', _fold(value))
    # Set-based where a criterion can be: the customers with won deals (or tickets) are
    # found from those tables' indexes, not by a lookup per customer.
    won_by = (
        f"SELECT d.customer_id FROM deals d WHERE {_WON} AND d.currency = ? GROUP BY d.customer_id"
    )
    if "won_min" in criteria and criteria["won_min"]["amount"] > 0:
        add(f"c.id IN ({won_by} HAVING sum(d.amount) >= ?)",
            criteria["won_min"]["currency"], criteria["won_min"]["amount"])  # fmt: skip
    if "won_max" in criteria:
        add(f"c.id NOT IN ({won_by} HAVING sum(d.amount) > ?)",
            criteria["won_max"]["currency"], criteria["won_max"]["amount"])  # fmt: skip
    if criteria.get("won_deals_min", 0) > 0:
        add(
            f"c.id IN (SELECT d.customer_id FROM deals d WHERE {_WON} "
            "GROUP BY d.customer_id HAVING count(*) >= ?)",
            criteria["won_deals_min"],
        )
    last = "(SELECT max(i.happened_at) FROM interactions i WHERE i.customer_id = c.id)"
    order = load(db).date_order if any(k.startswith("contacted_") for k in criteria) else "DMY"
    if "contacted_before" in criteria:
        moment = _moment(criteria["contacted_before"], "--contacted-before", order)
        add(f"coalesce({last} < ?, 1)", moment)
    if "contacted_after" in criteria:
        moment = _moment(criteria["contacted_after"], "--contacted-after", order)
        add(f"{last} >= ?", moment)
    if criteria.get("open_deals"):
        add(
            "c.id IN (SELECT d.customer_id FROM deals d WHERE d.stage_id IN "
            "(SELECT id FROM stages WHERE kind = 'open'))"
        )
    if criteria.get("open_tickets"):
        add("c.id IN (SELECT t.customer_id FROM tickets t WHERE t.status IN ('open', 'pending'))")
    satisfaction = (
        "(SELECT t.satisfaction FROM tickets t WHERE t.customer_id = c.id "
        "AND t.status = 'closed' AND t.satisfaction IS NOT NULL "
        "ORDER BY t.closed_at DESC, t.id DESC LIMIT 1)"
    )
    rated = (
        "c.id IN (SELECT t.customer_id FROM tickets t "
        "WHERE t.status = 'closed' AND t.satisfaction IS NOT NULL)"
    )
    if "satisfaction_min" in criteria:
        add(f"{rated} AND {satisfaction} >= ?", criteria["satisfaction_min"])
    if "satisfaction_max" in criteria:
        add(f"{rated} AND {satisfaction} <= ?", criteria["satisfaction_max"])
    for channel, status in criteria.get("consent", {}).items():
        if status == "unknown":
            add(
                "c.id NOT IN (SELECT customer_id FROM consents WHERE channel = ?)",
                channel,
            )
        else:
            add(
                "c.id IN (SELECT customer_id FROM consents WHERE channel = ? AND status = ?)",
                channel,
                status,
            )
    bounds = [(k, v) for k, v in criteria.items() if k in RFM_BOUNDS]
    if bounds:
        from crmcli.core.outreach import rfm

        since, currency = rfm.since_and_currency(db)
        sql, rfm_params = rfm.query(since, currency)
        tests = " AND ".join(f"{RFM_BOUNDS[k][0]} {RFM_BOUNDS[k][1]} ?" for k, _v in bounds)
        add(
            f"c.id IN (SELECT id FROM ({sql}) WHERE {tests})",
            *rfm_params,
            *(v for _k, v in bounds),
        )
    if not where:
        raise UsageError("a segment needs at least one criterion")
    return " AND ".join(f"({w})" for w in where), params


def _fold(text: str | None) -> str | None:
    from crmcli.text import fold_key

    return fold_key(text) if text is not None else None


def _fold_function(db: Database) -> None:
    db.conn.create_function("crm_fold", 1, _fold, deterministic=True)


def _today() -> date:
    from crmcli.clock import today_local

    return today_local()


def _years_before(day: date, years: int) -> date:
    """The same day ``years`` earlier; 29 February becomes the 28th in a common year."""
    year = day.year - years
    if year < 1:
        return date(1, 1, 1)
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def _moment(text: str, field: str, order: str) -> str:
    from crmcli.dates import parse_datetime, to_utc_iso

    return to_utc_iso(parse_datetime(text, order=order, field=field))
