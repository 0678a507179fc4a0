"""Erasing a person by rule, read from the schema rather than from a list of columns.

*Which rows are the person's* comes from the foreign keys (``PRAGMA foreign_key_list``):
starting from their customer rows (or one lead), every row of any table whose foreign key
points at a row of theirs is theirs too, repeated until nothing new is found; rows that were
deleted count as well, found in the audit images.  A table added later with a foreign key to
customers, deals, tickets … is covered without anyone listing it.

*Which values are personal* comes from the values themselves: every text (or blob) value in
those rows is erased, unless it is one of the few kinds in :data:`KEPT_KINDS`, which reports
need and which cannot hold free text (a UUID, a currency code, an ISO date or time, a value
from a list the schema's CHECK constraint fixes).  Numbers (ids, amounts, quantities,
probabilities, scores) stay.  A column added later is erased by default.

Rows are identified as the audit trail identifies them (``audit.row_id``): the rowid, or for
a ``WITHOUT ROWID`` table the first column of its primary key (see
``migrations.audit_triggers``).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crmcli.db import Database
from crmcli.errors import CrmError

# Tables of the command log itself: never a person's rows.
BOOKKEEPING = frozenset({"commands", "audit", "active_command", "migrations"})

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_CURRENCY = re.compile(r"[A-Z]{3}\Z")
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?\Z"
)

# The only text forget keeps, as (kind, column name, value): a value is kept when its
# column's name and the value itself both match.  Everything else that is text is erased.
# Dates of a person's life (birthday, birth_date …) are not "dates" here: they are erased.
KEPT_KINDS: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = (
    ("identifier", re.compile(r"(?:.*_)?uid\Z"), _UUID),
    ("currency", re.compile(r"(?:.*_)?currency\Z"), _CURRENCY),
    (
        "date or time",
        re.compile(r"(?!.*(?:birth|death))(?:at|.*_(?:at|on|date|until|start|end|due))\Z"),
        _DATE_TIME,
    ),
)
# Plus "enumeration": a value the schema itself lists for the column
# (``CHECK (status IN ('new', 'won'))``): statuses, kinds, priorities, lead sources.

# What an erased value becomes: the first of these that the row's constraints accept (an
# empty text before a label: the search index re-reads a customer's interactions at every
# change of one, so short is cheaper).  ``{label}`` is "forgotten <noun> <row id>" (unique
# per row, so UNIQUE columns accept it).
REPLACEMENTS: tuple[str | None, ...] = (None, "", "{label}", "{}")


@dataclass
class TableInfo:
    """What erasing needs to know about one table, read from the schema."""

    name: str
    columns: list[str]
    key: str  # "rowid", or the first primary-key column of a WITHOUT ROWID table
    primary: list[str]  # primary-key columns
    without_rowid: bool
    foreign_keys: list[tuple[str, str, str | None]]  # (column, parent table, parent column)
    enums: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def noun(self) -> str:
        return self.name.removesuffix("s").replace("_", " ")

    def kept(self, column: str, value: Any) -> bool:
        """Whether ``value`` in ``column`` is not personal (see :data:`KEPT_KINDS`)."""
        if value is None or isinstance(value, int | float):
            return True
        if not isinstance(value, str):
            return False  # blobs
        if value in self.enums.get(column, ()):
            return True
        return any(name.match(column) and shape.match(value) for _, name, shape in KEPT_KINDS)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _enums(sql: str, columns: list[str]) -> dict[str, frozenset[str]]:
    """The columns a CHECK constraint limits to a list of literals (``col IN ('a', 'b')``)."""
    found: dict[str, frozenset[str]] = {}
    for column in columns:
        pattern = rf"(?<![\w\"]){re.escape(column)}\"?\s+IN\s*\(([^()]*)\)"
        for match in re.finditer(pattern, sql, flags=re.IGNORECASE):
            values = re.findall(r"'((?:[^']|'')*)'", match.group(1))
            if values:
                found[column] = found.get(column, frozenset()) | {
                    v.replace("''", "'") for v in values
                }
    return found


def schema(db: Database) -> dict[str, TableInfo]:
    """Every ordinary table of the database (not the command log, not virtual tables or
    their shadow tables)."""
    rows = db.conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
    ).fetchall()
    virtual = [str(n) for n, sql in rows if str(sql or "").upper().startswith("CREATE VIRTUAL")]
    tables: dict[str, TableInfo] = {}
    for name, sql in rows:
        name = str(name)
        if name in BOOKKEEPING or name in virtual or any(name.startswith(f"{v}_") for v in virtual):
            continue
        info = db.conn.execute(f"PRAGMA table_info({_q(name)})").fetchall()
        columns = [str(r[1]) for r in info]
        primary = [str(r[1]) for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
        try:
            db.conn.execute(f"SELECT rowid FROM {_q(name)} LIMIT 0")
            without_rowid = False
        except sqlite3.OperationalError:
            without_rowid = True
        fks = [
            (str(r[3]), str(r[2]), None if r[4] is None else str(r[4]))
            for r in db.conn.execute(f"PRAGMA foreign_key_list({_q(name)})")
        ]
        tables[name] = TableInfo(
            name,
            columns,
            primary[0] if without_rowid else "rowid",
            primary,
            without_rowid,
            fks,
            _enums(str(sql or ""), columns),
        )
    return tables


def _json_ids(values: Iterable[Any]) -> str:
    return json.dumps(sorted(values, key=repr))


_IN = "IN (SELECT value FROM json_each(?))"


def _is_key(t: TableInfo, column: str | None) -> bool:
    """Whether ``column`` holds the audit row id of ``t`` (its rowid alias or key)."""
    if column is None:
        return True
    if t.without_rowid:
        return column == t.key
    return t.primary == [column]  # an INTEGER PRIMARY KEY is the rowid (the only kind here)


def _referenced(db: Database, t: TableInfo, column: str | None, rows: set[Any]) -> set[Any]:
    """The values of ``column`` in the rows ``rows`` of ``t``, now and in the audit trail."""
    if _is_key(t, column):
        return set(rows)
    assert column is not None
    key = _json_ids(rows)
    found = {
        r[0]
        for r in db.conn.execute(
            f"SELECT {_q(column)} FROM {_q(t.name)} WHERE {t.key} {_IN}", (key,)
        )
    }
    path = f"'$.{column}'"
    for before, after in db.conn.execute(
        f"SELECT json_extract(before, {path}), json_extract(after, {path}) FROM audit "
        f"WHERE table_name = ? AND row_id {_IN}",
        (t.name, key),
    ):
        found.update((before, after))
    found.discard(None)
    return found


def _pointing(db: Database, t: TableInfo, column: str, values: set[Any]) -> set[Any]:
    """Rows of ``t`` whose ``column`` is one of ``values``, now or in the audit trail."""
    key = _json_ids(values)
    found = {
        r[0]
        for r in db.conn.execute(
            f"SELECT {t.key} FROM {_q(t.name)} WHERE {_q(column)} {_IN}", (key,)
        )
    }
    path = f"'$.{column}'"
    found.update(
        r[0]
        for r in db.conn.execute(
            "SELECT DISTINCT row_id FROM audit WHERE table_name = ? AND "
            f"(json_extract(before, {path}) {_IN} OR json_extract(after, {path}) {_IN})",
            (t.name, key, key),
        )
    )
    return found


def belonging(db: Database, roots: dict[str, set[int]]) -> dict[str, set[int]]:
    """Every row that belongs to the owner of ``roots`` (table → audit row ids), by
    following the foreign keys from parent to child until nothing new turns up."""
    tables = schema(db)
    owned: dict[str, set[Any]] = {name: set() for name in tables}
    for name, ids in roots.items():
        owned.setdefault(name, set()).update(ids)
    seen: dict[tuple[str, str, str], int] = {}  # how many parent rows each link has seen
    changed = True
    while changed:
        changed = False
        for child in tables.values():
            for column, parent, parent_column in child.foreign_keys:
                parents = owned.get(parent)
                link = (child.name, column, parent)
                if not parents or parent not in tables or seen.get(link) == len(parents):
                    continue
                seen[link] = len(parents)
                values = _referenced(db, tables[parent], parent_column, parents)
                found = _pointing(db, child, column, values) if values else set()
                if not found <= owned[child.name]:
                    owned[child.name] |= found
                    changed = True
    return {name: {int(i) for i in ids} for name, ids in owned.items() if ids}


class EraseError(CrmError):
    """A value could not be erased (no replacement satisfies the table's constraints)."""


@dataclass
class Erased:
    """What :func:`erase_rows` did: rows changed or removed per table, the new values of
    the rows that stay (by table and row id), and the erased text."""

    rows: dict[str, int] = field(default_factory=dict)
    live: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    text: set[str] = field(default_factory=set)


def _savepoint_ok(db: Database, sql: str, params: list[Any], *, keep: bool) -> bool:
    """Run ``sql`` in a savepoint: whether the constraints accepted it (``keep``: and keep
    the change when they did; otherwise it is only a trial)."""
    db.execute("SAVEPOINT erase_try")
    try:
        db.execute(sql, params)
    except sqlite3.IntegrityError:
        db.execute("ROLLBACK TO erase_try")
        db.execute("RELEASE erase_try")
        return False
    if not keep:
        db.execute("ROLLBACK TO erase_try")
    db.execute("RELEASE erase_try")
    return True


def _replacement(index: int, label: str) -> Any:
    value = REPLACEMENTS[index]
    return None if value is None else value.replace("{label}", label)


@dataclass
class _Target:
    """One row to erase: its table, how to find it, its label, the new ``updated_at``."""

    table: str
    match: str
    params: list[Any]
    label: str
    stamp: str | None


def _update(db: Database, target: _Target, columns: dict[str, int], *, trial: bool = False) -> bool:
    """Set ``columns`` of the row to their replacements if the constraints accept them
    (``trial``: only see whether they do, changing nothing)."""
    sets = [f"{_q(c)} = ?" for c in columns]
    params = [_replacement(i, target.label) for i in columns.values()]
    if target.stamp is not None:
        sets.append("updated_at = ?")
        params.append(target.stamp)
    sql = f"UPDATE {_q(target.table)} SET {', '.join(sets)} WHERE {target.match}"
    return _savepoint_ok(db, sql, [*params, *target.params], keep=not trial)


def _update_all(
    db: Database, t: TableInfo, row_ids: list[int], columns: dict[str, int], stamp: str | None
) -> bool:
    """Set ``columns`` of the rows ``row_ids`` of ``t`` (a rowid table) to their
    replacements in one statement, if the constraints accept them for every row."""
    sets: list[str] = []
    params: list[Any] = []
    for column, index in columns.items():
        value = REPLACEMENTS[index]
        if value == "{label}":
            sets.append(f"{_q(column)} = ? || rowid")
            params.append(f"forgotten {t.noun} ")
        else:
            sets.append(f"{_q(column)} = ?")
            params.append(value)
    if stamp is not None:
        sets.append("updated_at = ?")
        params.append(stamp)
    sql = f"UPDATE {_q(t.name)} SET {', '.join(sets)} WHERE rowid {_IN}"
    return _savepoint_ok(db, sql, [*params, _json_ids(row_ids)], keep=True)


def erase_rows(db: Database, owned: dict[str, set[int]], now: str) -> Erased:
    """Erase every personal value of the rows ``owned`` (run inside ``db.write()``).

    A row keeps its id, links, numbers and :data:`KEPT_KINDS`; other text becomes the first
    of :data:`REPLACEMENTS` its constraints accept (``updated_at``, if any, becomes ``now``).
    A row whose primary key holds personal text (a tag) is deleted."""
    tables = schema(db)
    done = Erased()
    for name, ids in owned.items():
        t = tables.get(name)
        if t is None or not ids:
            continue
        choice: dict[str, int] = {}  # replacement index per column, only ever raised
        select = ", ".join(
            [*(["rowid AS __row"] if not t.without_rowid else []), *map(_q, t.columns)]
        )
        rows = list(
            db.query(f"SELECT {select} FROM {_q(name)} WHERE {t.key} {_IN}", (_json_ids(ids),))
        )
        count = 0
        groups: dict[tuple[str, ...], list[int]] = {}  # rows by their personal columns
        for row in rows:
            personal = [c for c in t.columns if not t.kept(c, row[c])]
            done.text.update(str(row[c]) for c in personal if isinstance(row[c], str))
            if personal and not t.without_rowid:
                groups.setdefault(tuple(personal), []).append(int(row["__row"]))
        settled: set[int] = set()
        for personal_columns, row_ids in groups.items():
            # One statement for all rows alike (the triggers still see each row).
            wanted = {c: choice.get(c, 0) for c in personal_columns}
            stamp = now if "updated_at" in t.columns and "updated_at" not in wanted else None
            if _update_all(db, t, row_ids, wanted, stamp):
                settled.update(row_ids)
                count += len(row_ids)
                for row_id in row_ids:
                    label = f"forgotten {t.noun} {row_id}"
                    done.live.setdefault(name, {})[row_id] = {
                        c: _replacement(i, label) for c, i in wanted.items()
                    }
        for row in rows:
            key_value = row[t.key] if t.without_rowid else row["__row"]
            personal = [c for c in t.columns if not t.kept(c, row[c])]
            if not personal or (not t.without_rowid and key_value in settled):
                continue
            if t.without_rowid:
                match = " AND ".join(f"{_q(c)} IS ?" for c in t.primary)
                where_params = [row[c] for c in t.primary]
            else:
                match, where_params = "rowid = ?", [key_value]
            if t.without_rowid and set(personal) & set(t.primary):
                db.execute(f"DELETE FROM {_q(name)} WHERE {match}", where_params)
                count += 1
                continue
            label = f"forgotten {t.noun} {key_value}"
            stamp = now if "updated_at" in t.columns and "updated_at" not in personal else None
            target = _Target(name, match, where_params, label, stamp)
            wanted = {c: choice.get(c, 0) for c in personal}
            if not _update(db, target, wanted):  # the choices so far fit most rows
                for column in personal:
                    index = wanted[column]
                    while not _update(db, target, {column: index}, trial=True):
                        index += 1
                        if index == len(REPLACEMENTS):
                            raise EraseError(
                                f"cannot erase {name}.{column} of row {key_value}: no "
                                "replacement value satisfies the table's constraints; "
                                "nothing was changed"
                            )
                    wanted[column] = index
                if not _update(db, target, wanted):
                    raise EraseError(
                        f"cannot erase row {key_value} of {name}: no set of replacement "
                        "values satisfies the table's constraints; nothing was changed"
                    )
            for column, index in wanted.items():
                choice[column] = max(choice.get(column, 0), index)
            count += 1
            if not t.without_rowid:
                done.live.setdefault(name, {})[int(key_value)] = {
                    c: _replacement(i, label) for c, i in wanted.items()
                }
        if count:
            done.rows[name] = count
    return done


def scrub_images(db: Database, owned: dict[str, set[int]], erased: Erased) -> int:
    """Erase the personal values in every audit image of the rows ``owned`` (rows deleted
    long ago included).  An erased value reads as the row's new value where the row still
    exists, else as null.  Returns the number of audit rows changed."""
    tables = schema(db)
    changed = 0
    for name, ids in owned.items():
        if not ids:
            continue
        t = tables.get(name) or TableInfo(name, [], "rowid", [], False, [])
        live = erased.live.get(name, {})
        updates: list[tuple[str | None, str | None, int]] = []
        for audit_id, row_id, before, after in db.conn.execute(
            f"SELECT id, row_id, before, after FROM audit WHERE table_name = ? AND row_id {_IN}",
            (name, _json_ids(ids)),
        ).fetchall():
            new_values = live.get(int(row_id), {})
            images: list[str | None] = []
            dirty = False
            for text in (before, after):
                if text is None:
                    images.append(None)
                    continue
                image = json.loads(text)
                for column, value in list(image.items()) if isinstance(image, dict) else []:
                    if t.kept(column, value):
                        continue
                    if isinstance(value, str):
                        erased.text.add(value)
                    image[column] = new_values.get(column)
                    dirty = True
                images.append(json.dumps(image, ensure_ascii=False, separators=(",", ":")))
            if dirty:
                updates.append((images[0], images[1], int(audit_id)))
        if updates:
            db.executemany("UPDATE audit SET before = ?, after = ? WHERE id = ?", updates)
            changed += len(updates)
    return changed


def optimize_search(db: Database) -> None:
    """Merge every full-text index into one segment: the old segments hold the old words."""
    for (name,) in db.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND upper(sql) LIKE 'CREATE VIRTUAL TABLE%USING FTS5%'"
    ).fetchall():
        db.execute(f"INSERT INTO {_q(name)} ({_q(name)}) VALUES ('optimize')")
