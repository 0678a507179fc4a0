"""Customers, leads and deals in bulk: import records (validated, matched, batched).

:func:`import_customers`, :func:`import_leads` and :func:`import_deals` run inside the
caller's ``with db.write():`` so one command is one transaction: when a row is bad and
``skip_bad`` is off they raise :class:`ImportFailed` (nothing is written), and a dry run
raises :class:`DryRun` carrying the report once it is
computed, so the transaction rolls back whatever the caller does.

Records are mappings of customer field to text, as ``crmcli.io.tabular.customer_records``
and ``crmcli.io.vcard.read_vcards`` make them: the standard fields (``name``, ``email`` …),
``tags`` (separated by ``,``, ``;`` or Google's `` ::: ``), ``fields`` (a JSON object of
custom fields), ``field.KEY`` (one custom field), ``extra.email_KIND`` / ``extra.phone_KIND``
(another e-mail or phone: validated like the customer's own, kept as the custom field
``email_KIND`` / ``phone_KIND``), ``uid`` and ``created_at`` (kept for new customers, so an
export round-trips).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from crmcli.core import customers, leads
from crmcli.core.settings import Config
from crmcli.db import Database
from crmcli.errors import CrmError, InvalidValue
from crmcli.io.tabular import IGNORED, BadRow
from crmcli.migrations import NAME_PART_COLUMNS
from crmcli.text import NAME_MAX, clean

MATCH_KEYS = ("uid", "email", "phone")
BATCH_ROWS = 5000  # new customers held before they are written (see CustomerImport.insert)
UID_MAX = 200

Record = Mapping[str, str | None]

_FIELDS = frozenset(customers.FIELDS)
# Record keys of a name's parts ("name.family" …) -> their columns ("name_family" …).
_NAME_KEYS = {f"name.{c.removeprefix('name_')}": c for c in NAME_PART_COLUMNS}
_INSERT_COLUMNS = ("id", "uid", *customers.FIELDS, "fields", "created_at", "updated_at",
                   *NAME_PART_COLUMNS, *customers.SORT_COLUMNS)  # fmt: skip
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
_CURRENT = (
    f"SELECT {', '.join(customers.FIELDS)}, fields, {', '.join(NAME_PART_COLUMNS)} "
    "FROM customers WHERE id = ?"
)
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
    customers_added: int = 0  # by a deal import, for deals whose customer was missing
    # Values of good rows that were kept as text or dropped, with their line.
    warnings: list[tuple[int, str]] = field(default_factory=list)
    line: int = 0  # the line of the record being imported

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
    run = CustomerImport(db, config, match)
    return run_import(run, records, skip_bad=skip_bad, dry_run=dry_run)


# -- the work ----------------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    """One validated record."""

    values: dict[str, Any]  # the entity's user fields with a value
    tags: tuple[str, ...]
    uid: str | None
    created_at: str | None
    fields: dict[str, str] = field(default_factory=dict)  # a customer's custom fields
    status: str | None = None  # a lead's status and lost reason
    lost_reason: str | None = None
    status_at: str | None = None  # when a lead's status last changed, when it was converted
    converted_at: str | None = None
    names: dict[str, str | None] | None = None  # a customer's name parts, by column


@dataclass(slots=True)
class New:
    """A record to insert with the next batch."""

    id: int
    uid: str
    values: dict[str, Any]
    tags: set[str]
    created_at: str | None
    fields: dict[str, str] = field(default_factory=dict)
    status: str | None = None
    lost_reason: str | None = None
    status_at: str | None = None
    converted_at: str | None = None
    names: dict[str, str | None] | None = None


class RecordImport:
    """What the customer and the lead imports share: matching a record to a stored row or
    to one earlier in the same file, batching the new ones, updating the others, tags.

    A subclass says which table (``table``, ``tag_table`` and its ``owner`` column,
    ``lookup`` SQL per match key), how a record is read (:meth:`parse`), what a new record
    needs (:meth:`check_new`, :meth:`new`), what an update changes (:meth:`changes`,
    :meth:`write`) and how a batch is inserted (:meth:`insert`)."""

    table: ClassVar[str]
    tag_table: ClassVar[str]
    owner: ClassVar[str]
    insert_tag: ClassVar[str]
    lookup: ClassVar[Mapping[str, str]]
    batch_rows: ClassVar[int]

    def __init__(self, db: Database, config: Config, keys: Iterable[str]) -> None:
        from crmcli.clock import utc_now_iso

        self.db = db
        self.conn = db.conn
        self.config = config
        self.keys = tuple(k for k in keys if k != "uid")
        self.report = ImportReport()
        self.now = utc_now_iso()
        # Also proves we are inside db.write(): the ids below are only ours under its lock.
        last = db.execute(f"SELECT coalesce(max(id), 0) FROM {self.table}").fetchone()[0]
        self.next_id = int(last) + 1
        self.pending: list[New] = []
        self.pending_by: dict[str, dict[str, New]] = {k: {} for k in MATCH_KEYS}
        self.ignored: dict[str, None] = {}  # an ordered set
        self.tag_cache: dict[str, tuple[str, ...]] = {}
        self.tags_sql = f"SELECT tag FROM {self.tag_table} WHERE {self.owner} = ?"

    # -- what a subclass says ---------------------------------------------------------------

    def parse(self, record: Record) -> Row:
        raise NotImplementedError

    def check_new(self, row: Row) -> None:
        """Raise :class:`RowError` when ``row`` cannot make a new record."""

    def new(self, row: Row) -> New:
        return New(self.next_id, row.uid or str(uuid.uuid4()), row.values, set(row.tags),
                   row.created_at, row.fields, names=row.names)  # fmt: skip

    def changes(self, ident: int, row: Row) -> dict[str, Any]:
        """The columns ``row`` changes on the stored record ``ident``."""
        raise NotImplementedError

    def write(self, ident: int, changes: dict[str, Any]) -> None:
        raise NotImplementedError

    def insert(self, pending: list[New]) -> None:
        raise NotImplementedError

    # -- one record -----------------------------------------------------------------------

    def one(self, record: Record) -> None:
        row = self.parse(record)
        found = self.find(row)
        report = self.report
        if found is None:
            self.add(row)
            report.added += 1
        elif isinstance(found, New):
            if self.merge(found, row):
                report.updated += 1
            else:
                report.unchanged += 1
        elif self.update(found, row):
            report.updated += 1
        else:
            report.unchanged += 1

    def ignore(self, key: str) -> None:
        """A column the import does not read: said once, after the import."""
        if key not in IGNORED and key not in self.ignored:
            self.ignored[key] = None

    def tags(self, text: str) -> tuple[str, ...]:
        cached = self.tag_cache.get(text)
        if cached is not None:
            return cached
        result = split_tags(text)
        if len(self.tag_cache) >= _CACHE_MAX:
            self.tag_cache.clear()
        self.tag_cache[text] = result
        return result

    def find(self, row: Row) -> New | int | None:
        """The record this row is about: one to be inserted, an existing id, or none."""
        checks: list[tuple[str, Any]] = [("uid", row.uid)] if row.uid else []
        checks += [(k, row.values.get(k)) for k in self.keys]
        for key, value in checks:
            if value is None:
                continue
            text = str(value)
            new = self.pending_by[key].get(match_key(key, text))
            if new is not None:
                return new
            hit = self.conn.execute(self.lookup[key], (text,)).fetchone()
            if hit is not None:
                return int(hit[0])
        return None

    def add(self, row: Row) -> None:
        self.check_new(row)
        new = self.new(row)
        self.next_id += 1
        self.pending.append(new)
        self.remember(new)
        if len(self.pending) >= self.batch_rows:
            self.flush()

    def remember(self, new: New) -> None:
        self.pending_by["uid"][new.uid] = new
        for key in self.keys:
            value = new.values.get(key)
            if value is not None:
                self.pending_by[key].setdefault(match_key(key, str(value)), new)

    def merge(self, new: New, row: Row) -> bool:
        """Fold a later row into a record not inserted yet; whether anything changed."""
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
        if row.names is not None and row.names != new.names:
            new.names = row.names
            changed = True
        if changed:
            self.remember(new)
        return changed

    def update(self, ident: int, row: Row) -> bool:
        """Apply a row to a stored record (values overwrite, tags are added); whether
        anything changed."""
        changes = self.changes(ident, row)
        self.write(ident, changes)
        tags_added = False
        if row.tags:
            have = {t for (t,) in self.conn.execute(self.tags_sql, (ident,))}
            new_tags = [(ident, t) for t in row.tags if t not in have]
            if new_tags:
                self.db.executemany(self.insert_tag, new_tags)
                tags_added = True
        return bool(changes) or tags_added

    def flush(self) -> None:
        """Insert the pending records (:meth:`insert`) and their tags."""
        if not self.pending:
            return
        self.insert(self.pending)
        tag_rows = [(new.id, tag) for new in self.pending for tag in sorted(new.tags)]
        if tag_rows:
            self.db.executemany(self.insert_tag, tag_rows)
        self.pending.clear()
        for index in self.pending_by.values():
            index.clear()


class Run(Protocol):
    """What :func:`run_import` drives: a record at a time, then what is still held."""

    report: ImportReport
    ignored: dict[str, None]

    def one(self, record: Record) -> None: ...

    def flush(self) -> None: ...


def run_import(
    run: Run,
    records: Iterable[tuple[int, Record | BadRow]],
    *,
    skip_bad: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Every record through ``run``: bad ones are reported with their line; unless
    ``skip_bad``, one bad record means :class:`ImportFailed` and nothing written;
    ``dry_run`` raises :class:`DryRun` with the report."""
    report = run.report
    reject = report.rejected.append
    for line, record in records:
        if isinstance(record, BadRow):
            reject((line, record.reason))
            continue
        report.line = line
        noted = len(report.warnings)
        try:
            run.one(record)
        except (InvalidValue, RowError) as exc:
            del report.warnings[noted:]  # the whole row is reported instead
            reject((line, str(exc)))
    run.flush()
    report.ignored_columns = list(run.ignored)
    if dry_run:
        raise DryRun(report)
    if report.rejected and not skip_bad:
        raise ImportFailed(report)
    return report


class CustomerImport(RecordImport):
    table = "customers"
    tag_table = "customer_tags"
    owner = "customer_id"
    insert_tag = customers.INSERT_TAG
    lookup = _LOOKUP
    batch_rows = BATCH_ROWS

    def __init__(self, db: Database, config: Config, keys: Iterable[str]) -> None:
        super().__init__(db, config, keys)
        self.staging = False

    def parse(self, record: Record) -> Row:
        raw: dict[str, str | None] = {}
        custom: list[tuple[str, str]] = []
        tags: tuple[str, ...] = ()
        uid = created = None
        extras: list[tuple[str, str]] = []
        names: dict[str, str | None] | None = None
        for key, value in record.items():
            if not value or value.isspace():
                continue
            if key in _NAME_KEYS:
                if names is None:
                    names = dict.fromkeys(NAME_PART_COLUMNS)
                names[_NAME_KEYS[key]] = clean(value, field=key, limit=NAME_MAX)
            elif key in _FIELDS:
                raw[key] = strip_bidi(value) if key in ("email", "phone") else value
            elif key.startswith("field."):
                custom.append((key[6:], value))
            elif key.startswith("extra."):
                extras.append((key[6:], value))
            elif key == "tags":
                tags = self.tags(value)
            elif key == "fields":
                custom[:0] = _json_fields(value)  # field.KEY columns win
            elif key == "uid":
                uid = clean(value, field="uid", limit=UID_MAX)
            elif key == "created_at":
                created = created_at_value(value)
            else:
                self.ignore(key)
        data = customers.prepare(raw, self.config)
        values = {k: v for k, v in data.values.items() if v is not None}
        if extras:
            custom += self.extras(extras, values)
        fields: dict[str, str] = {}
        for key, value in custom:
            if value.strip():
                try:
                    name, checked = customers.check_field(f"{key}={value}")
                except InvalidValue as exc:
                    raise InvalidValue(f"field.{key}", value, exc.reason) from None
                fields[name] = checked
        return Row(values, tags, uid, created, fields, names=names)

    def extras(
        self, extras: list[tuple[str, str]], values: dict[str, str]
    ) -> list[tuple[str, str]]:
        """Other e-mails and phones (``email_work``, ``phone_2`` …) validated like the
        customer's own; one that repeats the customer's, or an earlier one, is dropped.  One
        that is not a valid e-mail or phone (a service number like 112) does not reject the
        contact: it is kept as text in its custom field, and reported as a warning."""
        from crmcli.validate import normalize_email, normalize_phone

        kept: list[tuple[str, str]] = []
        seen = {k: [values[k]] if k in values else [] for k in ("email", "phone")}
        for key, given in extras:
            kind = key.partition("_")[0]
            value = strip_bidi(given)
            try:
                if kind == "email":
                    checked = normalize_email(value, field=key)
                    same = [v.translate(_ASCII_LOWER) for v in seen["email"]]
                    if checked.translate(_ASCII_LOWER) in same:
                        continue
                elif kind == "phone":
                    checked = normalize_phone(value, country=self.config.country, field=key)
                    if checked in seen["phone"]:
                        continue
                else:
                    raise RowError(f"{key}: not another e-mail or phone")
            except InvalidValue as exc:
                what = "an e-mail address" if kind == "email" else "a phone number"
                self.report.warnings.append((self.report.line,
                    f"{key} {value!r} is not {what} ({exc.reason}); kept as text in the "
                    f"custom field {key}"))  # fmt: skip
                kept.append((key, value))
                continue
            seen[kind].append(checked)
            kept.append((key, checked))
        return kept

    def check_new(self, row: Row) -> None:
        if "name" not in row.values:
            raise RowError("no name; a new customer needs one")

    def changes(self, ident: int, row: Row) -> dict[str, Any]:
        current = self.conn.execute(_CURRENT, (ident,)).fetchone()
        stored = dict(zip((*customers.FIELDS, "fields", *NAME_PART_COLUMNS), current, strict=True))
        changes: dict[str, Any] = {k: v for k, v in row.values.items() if stored[k] != v}
        if row.names is not None:
            changes.update({k: v for k, v in row.names.items() if stored[k] != v})
        if row.fields:
            fields = json.loads(stored["fields"] or "{}")
            merged = {**fields, **row.fields}
            if merged != fields:
                changes["fields"] = json.dumps(merged, ensure_ascii=False, sort_keys=True)
        return changes

    def write(self, ident: int, changes: dict[str, Any]) -> None:
        names = {k: changes[k] for k in NAME_PART_COLUMNS if k in changes}
        rest = {k: v for k, v in changes.items() if k not in names}
        customers.write_changes(self.db, ident, rest, self.now)
        if names:
            if not rest:
                names["updated_at"] = self.now
            sets = ", ".join(f"{k} = ?" for k in names)
            self.db.execute(f"UPDATE customers SET {sets} WHERE id = ?", [*names.values(), ident])

    def insert(self, pending: list[New]) -> None:
        """The rows go into a temporary staging table, then into ``customers`` with one
        ``INSERT … SELECT``: the search index and audit triggers then run inside one
        statement, and FTS5 writes one index segment for the batch instead of one per row
        (it flushes its pending terms at the end of every statement that fires it).  About
        3x faster than ``executemany`` into ``customers``, with the triggers still the one
        place that keeps the index and the audit trail."""
        now = self.now
        rows = [
            (
                new.id,
                new.uid,
                *[new.values.get(f) for f in customers.FIELDS],
                json.dumps(new.fields, ensure_ascii=False, sort_keys=True) if new.fields else "{}",
                new.created_at or now,
                now,
                *((new.names or {}).get(c) for c in NAME_PART_COLUMNS),
                *customers.sort_keys(new.values),
            )
            for new in pending
        ]
        if not self.staging:
            self.db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} AS {_STAGING_SHAPE}")
            self.staging = True
        self.db.executemany(_STAGE, rows)
        self.db.execute(_FROM_STAGING)
        self.db.execute(f"DELETE FROM {_STAGING}")


# -- leads ------------------------------------------------------------------------------------

LEAD_BATCH_ROWS = 2000  # new leads held before they are written
# Normalised column names (see tabular.normalise_header) -> lead columns that the customer
# header mapping does not know.
_LEAD_EXTRA_COLUMNS = {
    "status": "status", "lead_status": "status", "stage": "status",
    "score": "score", "lead_score": "score", "rating": "score",
    "lost_reason": "lost_reason", "reason_lost": "lost_reason",
}  # fmt: skip
# Read-only columns of `crm lead list` output: not imported, not worth a warning (the
# customer and deal of a converted lead are ids of the database the list came from).
_LEAD_READ_ONLY = frozenset({"customer_id", "deal_id", "last_contacted"})
_LEAD_TIMES = {"status_changed_at": "status_at", "converted_at": "converted_at"}
# A converted lead of another database comes with its conversion time; its customer and
# deal (ids over there) are not linked.
_LEAD_INSERT_COLUMNS = ("id", "uid", *leads.FIELDS, "status", "lost_reason", "converted_at",
                        "status_changed_at", "created_at", "updated_at",
                        *leads.SORT_COLUMNS)  # fmt: skip
_LEAD_INSERT = (
    f"INSERT INTO leads ({', '.join(_LEAD_INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_LEAD_INSERT_COLUMNS))})"
)
_LEAD_LOOKUP = {
    "uid": "SELECT id FROM leads WHERE uid = ?",
    "email": "SELECT id FROM leads WHERE email = ? COLLATE NOCASE ORDER BY id LIMIT 1",
    "phone": "SELECT id FROM leads WHERE phone = ? ORDER BY id LIMIT 1",
}


def import_leads(
    db: Database,
    records: Iterable[tuple[int, Record | BadRow]],
    config: Config,
    *,
    match: Iterable[str] = ("email",),
    source: str | None = None,
    skip_bad: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Add or update a lead for every record (as ``tabular.customer_records`` makes them, plus
    ``status``, ``score`` and ``lost_reason`` columns); run it inside ``with db.write():``.

    A record whose ``uid``, then whose ``match`` keys in order, equal those of an existing
    lead (or of one added earlier from the same records) updates that lead: non-empty values
    overwrite, tags are added.  The status column applies to new leads only (new, contacted,
    qualified, or lost with a lost_reason); an existing lead keeps its status.  ``source``
    fills in the source of new leads, and of existing ones that have none, when the record
    names none.  Bad records and ``dry_run`` behave as in the customer import."""
    default_source = leads.check_source(source, "--source") if source is not None else None
    run = LeadImport(db, config, match, default_source)
    return run_import(run, records, skip_bad=skip_bad, dry_run=dry_run)


class LeadImport(RecordImport):
    table = "leads"
    tag_table = "lead_tags"
    owner = "lead_id"
    insert_tag = leads.INSERT_TAG
    lookup = _LEAD_LOOKUP
    batch_rows = LEAD_BATCH_ROWS

    def __init__(
        self, db: Database, config: Config, keys: Iterable[str], source: str | None
    ) -> None:
        super().__init__(db, config, keys)
        self.source = source
        self.current = f"SELECT {', '.join(leads.FIELDS)} FROM leads WHERE id = ?"

    def parse(self, record: Record) -> Row:
        from crmcli.io.tabular import normalise_header

        raw: dict[str, str | int | None] = {}
        tags: tuple[str, ...] = ()
        uid = created = status = lost_reason = None
        times: dict[str, str] = {}
        for key, value in record.items():
            if not value or value.isspace():
                continue
            if key in _NAME_KEYS:
                continue  # a lead keeps its name whole
            if key in leads.FIELDS:
                raw[key] = strip_bidi(value) if key in ("email", "phone") else value
            elif key == "tags":
                tags = self.tags(value)
            elif key == "uid":
                uid = clean(value, field="uid", limit=UID_MAX)
            elif key == "created_at":
                created = created_at_value(value)
            else:
                norm = normalise_header(key)
                target = _LEAD_EXTRA_COLUMNS.get(norm)
                if target == "status":
                    status = leads.check_status(value)
                elif target == "score":
                    raw["score"] = value
                elif target == "lost_reason":
                    lost_reason = leads.check_reason(value, "lost_reason")
                elif norm in _LEAD_TIMES:
                    try:
                        times[_LEAD_TIMES[norm]] = created_at_value(value)
                    except InvalidValue as exc:
                        raise exc.with_field(norm) from None
                elif norm not in _LEAD_READ_ONLY:
                    self.ignore(key)
        data = leads.prepare(raw, self.config)
        values = {k: v for k, v in data.values.items() if v is not None}
        return Row(
            values, tags, uid, created, status=status, lost_reason=lost_reason,
            status_at=times.get("status_at"), converted_at=times.get("converted_at"),
        )  # fmt: skip

    def check_new(self, row: Row) -> None:
        if "name" not in row.values:
            raise RowError("no name; a new lead needs one")
        status = row.status or "new"
        if status == "lost" and row.lost_reason is None:
            raise RowError("status lost needs a lost_reason column")

    def new(self, row: Row) -> New:
        values = dict(row.values)
        if "source" not in values and self.source is not None:
            values["source"] = self.source
        status = row.status or "new"
        converted = None
        if status == "converted":
            converted = row.converted_at or row.status_at or self.now
        return New(self.next_id, row.uid or str(uuid.uuid4()), values, set(row.tags),
                   row.created_at, status=status,
                   lost_reason=row.lost_reason if status == "lost" else None,
                   status_at=row.status_at or converted, converted_at=converted)  # fmt: skip

    def changes(self, ident: int, row: Row) -> dict[str, Any]:
        """Not the status: an existing lead keeps its own."""
        current = self.conn.execute(self.current, (ident,)).fetchone()
        stored = dict(zip(leads.FIELDS, current, strict=True))
        values: dict[str, Any] = dict(row.values)
        if "source" not in values and self.source is not None and stored["source"] is None:
            values["source"] = self.source
        return {k: v for k, v in values.items() if stored[k] != v}

    def write(self, ident: int, changes: dict[str, Any]) -> None:
        leads.write_changes(self.db, ident, changes, self.now)

    def insert(self, pending: list[New]) -> None:
        """The leads and their first status changes (executemany)."""
        now = self.now
        self.db.executemany(
            _LEAD_INSERT,
            [
                (new.id, new.uid, *(new.values.get(f) for f in leads.FIELDS), new.status,
                 new.lost_reason, new.converted_at, new.status_at or now,
                 new.created_at or now, now, *leads.sort_keys(new.values))
                for new in pending
            ],
        )  # fmt: skip
        self.db.executemany(
            leads.INSERT_CHANGE,
            [(new.id, None, new.status, new.lost_reason, new.status_at or now)
             for new in pending],
        )  # fmt: skip


_BIDI = str.maketrans(dict.fromkeys(
    [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
))  # fmt: skip


def strip_bidi(text: str) -> str:
    """``text`` without bidi controls (U+200E, U+202A … U+202E, U+2066 … U+2069, U+061C):
    phones copied from right-to-left text come wrapped in them, and they are never part of
    an e-mail or a phone number."""
    return text.translate(_BIDI) if not text.isascii() else text


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
    except ValueError:  # not JSON, or a number of more than 4300 digits
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


# -- deals --------------------------------------------------------------------------------

# Stage names of other systems that mean our end stages (HubSpot's default pipeline).
_WON_NAMES = frozenset({"closed won", "closedwon", "won", "closed - won", "closed-won"})
_LOST_NAMES = frozenset({"closed lost", "closedlost", "lost", "closed - lost", "closed-lost"})
_DATE_TIME = re.compile(r"(\d{4}-\d\d-\d\d)[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?")
_DATE_ONLY = re.compile(r"\d{4}-\d\d-\d\d")
_ZONED = re.compile(r"(?:Z|[+-]\d\d:?\d\d)\Z", re.IGNORECASE)
_EMAIL_IN = re.compile(r"[^\s<>()\[\],;]+@[^\s<>()\[\],;]+\.[^\s<>()\[\],;]+")
_DEAL_FIELDS = ("title", "amount", "currency", "close_date", "probability", "notes",
                "contract_number", "contract_start", "contract_end", "payment_due")  # fmt: skip
# Instants a deal import keeps as they were (crm deal list output, HubSpot's Create Date).
_DEAL_INSTANTS = ("closed_at", "paid_at", "created_at")
_DEAL_KNOWN = frozenset({*_DEAL_FIELDS, *_DEAL_INSTANTS, "stage", "status", "customer", "company",
                         "customer_email", "customer_id", "customer_uid", "lost_reason", "uid",
                         "amount_minor"})  # fmt: skip
LOST_REASON_DEFAULT = "lost before the import"


def parse_stage_map(items: Iterable[str]) -> dict[str, str]:
    """``--stage "Contract Sent=negotiation"`` (repeatable) -> ``{their name (folded): ours}``."""
    found: dict[str, str] = {}
    for item in items:
        theirs, sep, ours = item.rpartition("=")
        if not sep or not theirs.strip() or not ours.strip():
            raise InvalidValue("--stage", item, "write it as THEIR_STAGE=OUR_STAGE")
        found[theirs.strip().casefold()] = ours.strip()
    return found


def import_deals(
    db: Database,
    records: Iterable[tuple[int, Record | BadRow]],
    config: Config,
    *,
    stages: Mapping[str, str] | None = None,
    create_customers: bool = False,
    skip_bad: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Add a deal for every record (as ``crmcli.io.tabular.deal_records`` makes them: title,
    stage, amount, currency, close_date, probability, notes, lost_reason, and the customer
    as customer_id, customer_email, customer (a name or an e-mail) or company); run it
    inside ``with db.write():``.

    The stage is found by name (``stages`` first maps other systems' names to ours; "Closed
    Won" / "Closed Lost" are the won and lost stages); none: the first open stage.  The
    customer must exist (by id, e-mail, name, or company name) unless ``create_customers``,
    which adds one.  A deal with the same uid, or (in a file without uids) the same title for
    the same customer, is left as it is (counted unchanged), so importing a file again adds
    nothing.  Bad
    records and ``dry_run`` behave as in :func:`import_customers`."""
    run = _DealImport(db, config, stages or {}, create_customers)
    return run_import(run, records, skip_bad=skip_bad, dry_run=dry_run)


class _DealImport:
    """Deals are written as they come (each needs its stage and customer looked up), so
    there is nothing to :meth:`flush`."""

    def __init__(
        self, db: Database, config: Config, stages: Mapping[str, str], create: bool
    ) -> None:
        from crmcli.core import deals

        self.db = db
        self.config = config
        self.stages = stages
        self.create = create
        self.report = ImportReport()
        self.ignored: dict[str, None] = {}
        board = deals.stages(db, counts=False)  # open ones by position, then won, lost
        self.names = {s["name"].casefold(): s for s in board}
        self.first_open = next((s for s in board if s["kind"] == "open"), None)
        self.ends = {s["kind"]: s for s in board if s["kind"] != "open"}

    def flush(self) -> None:
        return None

    def one(self, record: Record) -> None:
        from crmcli.core import deals

        values = {k: v.strip() for k, v in record.items() if v is not None and v.strip()}
        for key in values:
            if key not in _DEAL_KNOWN and key not in self.ignored:
                self.ignored[key] = None
        raw: dict[str, str | None] = {k: values.get(k) for k in _DEAL_FIELDS}
        if raw["close_date"]:
            stamp = _DATE_TIME.fullmatch(raw["close_date"])
            raw["close_date"] = stamp.group(1) if stamp else raw["close_date"]
        ours = "amount_minor" in values  # crm deal list output
        if ours and not raw["amount"]:
            from crmcli.money import to_decimal_text

            code = values.get("currency") or self.config.currency
            try:
                raw["amount"] = to_decimal_text(int(values["amount_minor"]), code)
            except ValueError:
                raise InvalidValue("amount", values["amount_minor"], "not a whole number") from None
        stage = self.stage(values.get("stage"), values.get("status"))
        if ours and raw["probability"] == str(stage["probability"]):
            raw["probability"] = None  # the stage's own probability, not one set on the deal
        data = deals.prepare(raw, self.config)
        if not data.values.get("title"):
            raise RowError("no title; a deal needs one (a Deal Name or title column)")
        reason = None
        if stage["kind"] == "lost":
            reason = clean(
                values.get("lost_reason") or LOST_REASON_DEFAULT, field="lost_reason", limit=1000
            )
        uid = clean(values["uid"], field="uid", limit=UID_MAX) if "uid" in values else None
        if uid and self.db.scalar("SELECT 1 FROM deals WHERE uid = ?", (uid,)):
            self.report.unchanged += 1
            return
        instants = {k: deal_instant(values[k], k) for k in _DEAL_INSTANTS if k in values}
        customer_id = self.customer(values)
        # Without a uid, the same title for the same customer is taken for the same deal
        # (another system's file imported again); a uid this database lacks is a new deal,
        # even a repeat order under an old title.
        same = uid is None and self.db.scalar(
            "SELECT 1 FROM deals WHERE customer_id = ? AND title = ?",
            (customer_id, data.values["title"]),
        )
        if same:
            self.report.unchanged += 1
            return
        if stage["kind"] == "open":
            data.stage = stage["name"]
        due = data.values.pop("payment_due", None)  # an invoice, made after keep()
        deal_id = deals.add(self.db, customer_id, data, config=self.config)
        if stage["kind"] == "won":
            deals.won(self.db, deal_id)
        elif stage["kind"] == "lost":
            deals.lost(self.db, deal_id, reason or LOST_REASON_DEFAULT)
        self.keep(deal_id, stage["kind"], uid, instants, data.values.get("close_date"))
        paid_at = instants.get("paid_at") if stage["kind"] == "won" else None
        if due or paid_at:
            from crmcli.core.money.deal_payments import record_past

            record_past(self.db, deal_id, due, paid_at)
        self.report.added += 1

    def keep(
        self, deal_id: int, kind: str, uid: str | None, instants: Mapping[str, str],
        close_date: str | None,
    ) -> None:  # fmt: skip
        """What the file says of the deal's past: its uid, when it was created and closed
        (else, for a won or lost deal, its close date); payments are invoices (record_past)."""
        from crmcli.clock import utc_now_iso

        now = utc_now_iso()
        sets: dict[str, str] = {}
        if uid:
            sets["uid"] = uid
        closed = None
        if kind != "open":
            closed = instants.get("closed_at")
            if closed is None and close_date:
                closed = min(_local_noon(close_date), now)
            if closed is not None:
                sets["closed_at"] = sets["stage_changed_at"] = closed
        created = instants.get("created_at")
        if created is None and closed is not None and closed < now:
            created = closed  # a deal closed before the import was not created after it
        if created is not None:
            sets["created_at"] = created
            self.db.execute(
                "UPDATE deal_stage_changes SET at = ? WHERE deal_id = ? AND from_stage_id IS NULL",
                (created, deal_id),
            )
        if closed is not None:
            self.db.execute(
                "UPDATE deal_stage_changes SET at = ? WHERE deal_id = ? "
                "AND from_stage_id IS NOT NULL",
                (closed, deal_id),
            )
        if sets:
            assignments = ", ".join(f"{k} = ?" for k in sets)
            self.db.execute(
                f"UPDATE deals SET {assignments} WHERE id = ?", [*sets.values(), deal_id]
            )

    def stage(self, name: str | None, status: str | None = None) -> dict[str, Any]:
        if name is None or not name.strip():
            if status in ("won", "lost") and status in self.ends:
                return self.ends[status]
            if self.first_open is None:
                raise CrmError("there are no open stages; add one: crm deal stages add NAME")
            return self.first_open
        folded = name.strip().casefold()
        ours = self.stages.get(folded)
        if ours is not None:
            folded = ours.casefold()
        elif folded not in self.names:
            kind = "won" if folded in _WON_NAMES else "lost" if folded in _LOST_NAMES else None
            if kind is None and status in ("won", "lost"):
                kind = status  # crm deal list output of a database with other stage names
            if kind is not None and kind in self.ends:
                return self.ends[kind]
        found = self.names.get(folded)
        if found is None:
            known = ", ".join(s["name"] for s in self.names.values())
            raise InvalidValue(
                "stage",
                name,
                f"no such stage; the stages are: {known} (map it: --stage '{name.strip()}=STAGE')",
            )
        return found

    def customer(self, values: Mapping[str, str]) -> int:
        """The customer of a deal: by uid, e-mail, exact name, or company name; by id only
        when the record names the customer no other way (an id is local to the database
        the file came from); else a new one (``--create-customers``)."""
        db = self.db
        uid = values.get("customer_uid", "")
        number = values.get("customer_id", "")
        person = values.get("customer", "")
        company = values.get("company", "")
        email = values.get("customer_email", "")
        if not email:
            hit = _EMAIL_IN.search(person)
            email = hit.group(0) if hit else ""
            if hit and person == email:
                person = ""
        if uid:
            found = db.scalar("SELECT id FROM customers WHERE uid = ?", (uid,))
            if found is not None:
                return int(found)
        if email:
            found = db.scalar(
                "SELECT id FROM customers WHERE email = ? COLLATE NOCASE ORDER BY id LIMIT 1",
                (email,),
            )
            if found is not None:
                return int(found)
        for who, sql in (
            (person, "SELECT id FROM customers WHERE name = ? COLLATE NOCASE"),
            (company, "SELECT id FROM customers WHERE name = ? COLLATE NOCASE"),
            (company, "SELECT id FROM customers WHERE company = ? COLLATE NOCASE"),
        ):
            if not who:
                continue
            ids = [int(r[0]) for r in db.execute(sql + " ORDER BY id LIMIT 2", (who,))]
            if len(ids) == 1:
                return ids[0]
            if ids:
                raise RowError(
                    f"several customers are called {who!r}; "
                    "give a customer_email or customer_uid column"
                )
        who = person or company or email
        if not who and not uid:
            if number:
                found = db.scalar("SELECT id FROM customers WHERE id = ?", (number,))
                if found is not None:
                    return int(found)
                raise RowError(f"no customer {number}")
            raise RowError("no customer (an Associated Contact, Associated Company or customer)")
        if not self.create or not who:
            shown = repr(who) if who else f"with uid {uid}"
            raise RowError(
                f"no customer {shown}; import the contacts first, or use --create-customers"
            )
        raw = {"name": person or company or email, "email": email or None,
               "company": company or None}  # fmt: skip
        data = customers.prepare({k: v for k, v in raw.items() if v}, self.config)
        self.report.customers_added += 1
        customer_id = customers.add(db, data)
        if uid and db.scalar("SELECT 1 FROM customers WHERE uid = ?", (uid,)) is None:
            checked = clean(uid, field="customer_uid", limit=UID_MAX)
            db.execute("UPDATE customers SET uid = ? WHERE id = ?", (checked, customer_id))
        return customer_id


def deal_instant(text: str, field: str) -> str:
    """An instant of a deal file as UTC ISO text: with a zone (``Z``, ``+07:00``) as it
    says, without one in local time (HubSpot's ``2026-09-01 10:00``), a date alone at
    local noon."""
    value = text.strip()
    if _UTC_TEXT.match(value):
        return value
    from datetime import datetime

    from crmcli.clock import to_utc_iso

    if _DATE_ONLY.fullmatch(value):
        return _local_noon(value, field)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidValue(field, text, "not a date and time like 2026-11-23T09:00:00Z") from None
    if moment.tzinfo is None and not _ZONED.search(value):
        moment = moment.astimezone()  # local wall time
    return to_utc_iso(moment)


def _local_noon(day: str, field: str = "close_date") -> str:
    from datetime import date, datetime, time

    from crmcli.clock import to_utc_iso

    try:
        value = date.fromisoformat(day)
    except ValueError:
        raise InvalidValue(field, day, "not a date like 2026-11-23") from None
    return to_utc_iso(datetime.combine(value, time(12)).astimezone())
