"""Customers in bulk: import records (validated, matched, batched) and export them.

:func:`import_customers` runs inside the caller's ``with db.write():`` so one command is one
transaction: when a row is bad and ``skip_bad`` is off it raises :class:`ImportFailed`
(nothing is written), and a dry run raises :class:`DryRun` carrying the report once it is
computed, so the transaction rolls back whatever the caller does.

Records are mappings of customer field to text, as ``crmcli.io.tabular.customer_records``
makes them: the standard fields (``name``, ``email`` …), ``tags`` (separated by ``,``, ``;``
or Google's `` ::: ``), ``fields`` (a JSON object of custom fields), ``field.KEY`` (one custom
field), ``uid`` and ``created_at`` (kept for new customers, so an export round-trips).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crmcli.core import customers
from crmcli.core.settings import Config
from crmcli.db import Database
from crmcli.errors import CrmError, InvalidValue
from crmcli.io.tabular import IGNORED, BadRow
from crmcli.text import clean

MATCH_KEYS = ("uid", "email", "phone")
BATCH_ROWS = 5000  # new customers held before they are written (see _Import.flush)
UID_MAX = 200

Record = Mapping[str, str | None]

_FIELDS = frozenset(customers.FIELDS)
_INSERT_COLUMNS = ("id", "uid", *customers.FIELDS, "fields", "created_at", "updated_at")
_COLUMN_LIST = ", ".join(_INSERT_COLUMNS)
_STAGING = "temp.import_staging"
_STAGING_SHAPE = f"SELECT {_COLUMN_LIST} FROM customers WHERE 0"
_STAGE = f"INSERT INTO {_STAGING} VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})"
_FROM_STAGING = (
    f"INSERT INTO customers ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM {_STAGING} ORDER BY id"
)
_LOOKUP = {
    "uid": "SELECT id FROM customers WHERE uid = ?",
    "email": "SELECT id FROM customers WHERE email = ? COLLATE NOCASE ORDER BY id LIMIT 1",
    "phone": "SELECT id FROM customers WHERE phone = ? ORDER BY id LIMIT 1",
}
_CURRENT = f"SELECT {', '.join(customers.FIELDS)}, fields FROM customers WHERE id = ?"
_TAG_SPLIT = re.compile(r"\s*:::\s*|[,;]")
_TAG_JUNK = re.compile(r"[^\w.:/+-]+")
_UTC_TEXT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_CACHE_MAX = 4096


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def good(self) -> int:
        return self.added + self.updated + self.unchanged


class ImportFailed(CrmError):
    """Some rows were bad and ``skip_bad`` was off: nothing was imported."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        bad, good = len(report.rejected), report.good
        rows = "1 bad row" if bad == 1 else f"{bad} bad rows"
        if good:
            ones = "the good one" if good == 1 else f"the {good} good ones"
            hint = f"use --skip-bad to import {ones}"
        else:
            hint = "no good rows"
        super().__init__(f"{rows}; nothing imported ({hint})")


class RowError(CrmError):
    """A record that is readable but cannot be imported."""


class DryRun(Exception):
    """Raised when a dry run has computed its report, to roll the transaction back."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("dry run: rolled back")
        self.report = report


def parse_match(text: str) -> tuple[str, ...]:
    """``--match email,phone`` -> ``("email", "phone")``."""
    keys: list[str] = []
    for part in text.split(","):
        key = part.strip().casefold()
        if key not in MATCH_KEYS:
            raise InvalidValue("--match", text, f"use {', '.join(MATCH_KEYS)}, comma-separated")
        if key not in keys:
            keys.append(key)
    return tuple(keys)


def import_customers(
    db: Database,
    records: Iterable[tuple[int, Record | BadRow]],
    config: Config,
    *,
    match: Iterable[str] = ("email",),
    skip_bad: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Add or update a customer for every record; run it inside ``with db.write():``.

    A record whose ``uid`` (when it has one), then whose ``match`` keys in order, equal those
    of an existing customer (or of one added earlier from the same records) updates that
    customer: non-empty values overwrite, tags are added, custom fields merged.  Others are
    added.  Every bad record is reported with its line; unless ``skip_bad``, one bad record
    means :class:`ImportFailed` and nothing written.  ``dry_run`` raises :class:`DryRun`."""
    run = _Import(db, config, tuple(k for k in match if k != "uid"))
    report = run.report
    reject = report.rejected.append
    for line, record in records:
        if isinstance(record, BadRow):
            reject((line, record.reason))
            continue
        try:
            run.one(record)
        except (InvalidValue, RowError) as exc:
            reject((line, str(exc)))
    run.flush()
    report.ignored_columns = list(run.ignored)
    if dry_run:
        raise DryRun(report)
    if report.rejected and not skip_bad:
        raise ImportFailed(report)
    return report


# -- the work ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    """One validated record."""

    values: dict[str, str]  # standard fields with a value
    tags: tuple[str, ...]
    fields: dict[str, str]
    uid: str | None
    created_at: str | None


@dataclass(slots=True)
class _New:
    """A customer to insert with the next batch."""

    id: int
    uid: str
    values: dict[str, str]
    tags: set[str]
    fields: dict[str, str]
    created_at: str | None


class _Import:
    def __init__(self, db: Database, config: Config, keys: tuple[str, ...]) -> None:
        from crmcli.dates import utc_now_iso

        self.db = db
        self.conn = db.conn
        self.config = config
        self.keys = keys
        self.report = ImportReport()
        self.now = utc_now_iso()
        # Also proves we are inside db.write(): the ids below are only ours under its lock.
        self.next_id = int(db.execute("SELECT coalesce(max(id), 0) FROM customers").fetchone()[0])
        self.next_id += 1
        self.pending: list[_New] = []
        self.pending_by: dict[str, dict[str, _New]] = {k: {} for k in MATCH_KEYS}
        self.ignored: dict[str, None] = {}  # an ordered set
        self.tag_cache: dict[str, tuple[str, ...]] = {}
        self.staging = False

    # -- one record -----------------------------------------------------------------------

    def one(self, record: Record) -> None:
        row = self.parse(record)
        found = self.find(row)
        report = self.report
        if found is None:
            if "name" not in row.values:
                raise RowError("no name; a new customer needs one")
            self.add(row)
            report.added += 1
        elif isinstance(found, _New):
            if self.merge(found, row):
                report.updated += 1
            else:
                report.unchanged += 1
        elif self.update(found, row):
            report.updated += 1
        else:
            report.unchanged += 1

    def parse(self, record: Record) -> _Row:
        raw: dict[str, str | None] = {}
        custom: list[tuple[str, str]] = []
        tags: tuple[str, ...] = ()
        uid = created = None
        for key, value in record.items():
            if not value or value.isspace():
                continue
            if key in _FIELDS:
                raw[key] = value
            elif key.startswith("field."):
                custom.append((key[6:], value))
            elif key == "tags":
                tags = self.tags(value)
            elif key == "fields":
                custom[:0] = _json_fields(value)  # field.KEY columns win
            elif key == "uid":
                uid = clean(value, field="uid", limit=UID_MAX)
            elif key == "created_at":
                created = created_at_value(value)
            elif key not in IGNORED and key not in self.ignored:
                self.ignored[key] = None
        data = customers.prepare(raw, self.config)
        values = {k: v for k, v in data.values.items() if v is not None}
        fields: dict[str, str] = {}
        for key, value in custom:
            if value.strip():
                try:
                    name, checked = customers.check_field(f"{key}={value}")
                except InvalidValue as exc:
                    raise InvalidValue(f"field.{key}", value, exc.reason) from None
                fields[name] = checked
        return _Row(values, tags, fields, uid, created)

    def tags(self, text: str) -> tuple[str, ...]:
        cached = self.tag_cache.get(text)
        if cached is not None:
            return cached
        result = split_tags(text)
        if len(self.tag_cache) >= _CACHE_MAX:
            self.tag_cache.clear()
        self.tag_cache[text] = result
        return result

    def find(self, row: _Row) -> _New | int | None:
        """The customer this row is about: one to be inserted, an existing id, or none."""
        checks: list[tuple[str, str | None]] = [("uid", row.uid)] if row.uid else []
        checks += [(k, row.values.get(k)) for k in self.keys]
        for key, value in checks:
            if value is None:
                continue
            new = self.pending_by[key].get(match_key(key, value))
            if new is not None:
                return new
            hit = self.conn.execute(_LOOKUP[key], (value,)).fetchone()
            if hit is not None:
                return int(hit[0])
        return None

    def add(self, row: _Row) -> None:
        new = _New(
            self.next_id,
            row.uid or str(uuid.uuid4()),
            row.values,
            set(row.tags),
            row.fields,
            row.created_at,
        )
        self.next_id += 1
        self.pending.append(new)
        self.remember(new)
        if len(self.pending) >= BATCH_ROWS:
            self.flush()

    def remember(self, new: _New) -> None:
        self.pending_by["uid"][new.uid] = new
        for key in self.keys:
            value = new.values.get(key)
            if value is not None:
                self.pending_by[key].setdefault(match_key(key, value), new)

    def merge(self, new: _New, row: _Row) -> bool:
        """Fold a later row into a customer not inserted yet; whether anything changed."""
        changed = False
        for name, value in row.values.items():
            if new.values.get(name) != value:
                new.values[name] = value
                changed = True
        if not new.tags.issuperset(row.tags):
            new.tags.update(row.tags)
            changed = True
        for key, value in row.fields.items():
            if new.fields.get(key) != value:
                new.fields[key] = value
                changed = True
        if changed:
            self.remember(new)
        return changed

    def update(self, customer_id: int, row: _Row) -> bool:
        """Apply a row to an existing customer; whether anything changed."""
        current = self.conn.execute(_CURRENT, (customer_id,)).fetchone()
        stored = dict(zip((*customers.FIELDS, "fields"), current, strict=True))
        changes: dict[str, Any] = {k: v for k, v in row.values.items() if stored[k] != v}
        if row.fields:
            fields = json.loads(stored["fields"] or "{}")
            merged = {**fields, **row.fields}
            if merged != fields:
                changes["fields"] = json.dumps(merged, ensure_ascii=False, sort_keys=True)
        customers.write_changes(self.db, customer_id, changes, self.now)
        tags_added = False
        if row.tags:
            have = {
                t
                for (t,) in self.conn.execute(
                    "SELECT tag FROM customer_tags WHERE customer_id = ?", (customer_id,)
                )
            }
            new_tags = [(customer_id, t) for t in row.tags if t not in have]
            if new_tags:
                self.db.executemany(customers.INSERT_TAG, new_tags)
                tags_added = True
        return bool(changes) or tags_added

    def flush(self) -> None:
        """Insert the pending customers and their tags.

        The rows go into a temporary staging table, then into ``customers`` with one
        ``INSERT … SELECT``: the search index and audit triggers then run inside one
        statement, and FTS5 writes one index segment for the batch instead of one per row
        (it flushes its pending terms at the end of every statement that fires it).  About
        3x faster than ``executemany`` into ``customers``, with the triggers still the one
        place that keeps the index and the audit trail."""
        if not self.pending:
            return
        now = self.now
        rows = [
            (
                new.id,
                new.uid,
                *[new.values.get(f) for f in customers.FIELDS],
                json.dumps(new.fields, ensure_ascii=False, sort_keys=True) if new.fields else "{}",
                new.created_at or now,
                now,
            )
            for new in self.pending
        ]
        if not self.staging:
            self.db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} AS {_STAGING_SHAPE}")
            self.staging = True
        self.db.executemany(_STAGE, rows)
        self.db.execute(_FROM_STAGING)
        self.db.execute(f"DELETE FROM {_STAGING}")
        tag_rows = [(new.id, tag) for new in self.pending for tag in new.tags]
        if tag_rows:
            self.db.executemany(customers.INSERT_TAG, tag_rows)
        self.pending.clear()
        for index in self.pending_by.values():
            index.clear()


def split_tags(text: str) -> tuple[str, ...]:
    """Tags from a cell: split on , ; and " ::: ", Google's system groups dropped, other
    programs' labels made tag-shaped ("Trade Show" -> trade-show)."""
    found: set[str] = set()
    for part in _TAG_SPLIT.split(text):
        label = part.strip()
        if label.startswith("* "):  # Google: "* myContacts", "* starred"
            label = label[2:]
            if label.casefold() == "mycontacts":
                continue
        label = _TAG_JUNK.sub("-", label).strip("-")
        if label:
            found.add(customers.check_tag(label))
    return tuple(sorted(found))


def match_key(kind: str, value: str) -> str:
    """How a value is compared for matching: e-mails like SQLite's NOCASE (ASCII only)."""
    return value.translate(_ASCII_LOWER) if kind == "email" else value


def _json_fields(text: str) -> list[tuple[str, str]]:
    if text == "{}":
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise InvalidValue("fields", text, 'not a JSON object like {"size": "L"}')
    return [
        (str(k), v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
        for k, v in value.items()
        if v is not None
    ]


def created_at_value(text: str) -> str:
    value = text.strip()
    if _UTC_TEXT.match(value):
        return value
    from crmcli.dates import from_utc_iso, to_utc_iso

    try:
        return to_utc_iso(from_utc_iso(value))
    except InvalidValue as exc:
        raise exc.with_field("created_at") from None
