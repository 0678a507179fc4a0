"""`crm customer forget` leaves nothing of the person, whatever the schema holds.

The test reads the schema (``PRAGMA table_info``, ``PRAGMA foreign_key_list``), so a table
or column added later joins it without an edit: two people get rows in every table that
belongs to a customer (through the product's commands, then a generic insert for a table no
command here fills), every TEXT column of their rows gets a marker of its own, and after
forgetting the first person none of their markers is left anywhere in the file's bytes (free
pages included), in the -wal file or in the search indexes' terms, while every marker of the
second person is still in a live row.
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import query

BOOKKEEPING = {"commands", "audit", "active_command", "migrations", "search_paused"}


def ok(result: Any) -> str:
    assert result.exit_code == 0, result.stderr
    return str(result.stdout).strip()


class Markers:
    """Unique words for one person: ``zq<who><n>x`` (one search-index token each)."""

    def __init__(self, who: str) -> None:
        self.prefix = f"zq{who}"
        self.count = itertools.count(1)
        self.written: set[str] = set()

    def __call__(self) -> str:
        return f"{self.prefix}{next(self.count):05d}x"


def last_command(db_path: Path) -> int:
    return int(query(db_path, "SELECT max(id) FROM commands")[0][0])


def build(crm: Any, m: Markers) -> dict[str, int]:
    """A customer with everything a person can have, made with crm's own commands."""
    lead = int(ok(crm("lead", "add", m(), "--email", f"{m()}@example.com", "--source", "web",
                      "--company", m(), "--tag", m(), "--note", m())))  # fmt: skip
    ok(crm("lead", "log", str(lead), "--type", "call", m()))
    ok(crm("lead", "status", str(lead), "contacted", "--reason", m()))
    lines = ok(crm("lead", "convert", str(lead), "--deal", m(), "--amount", "1200")).splitlines()
    cid, deal = int(lines[0].split()[1]), int(lines[1].split()[1])
    ok(crm("customer", "edit", str(cid), "--phone", "+84 913 999 111", "--title", m(),
           "--address", m(), "--city", m(), "--country", m(), "--source", m(), "--note", m(),
           "--field", f"zalo={m()}", "--add-tag", m(), "--birthday", "1990-05-17"))  # fmt: skip
    ok(crm("customer", "log", str(cid), "--type", "meeting", m(), "--next", "tomorrow 9am"))
    ok(crm("deal", "item", "add", str(deal), m(), "--qty", "2", "--price", "600"))
    ok(crm("deal", "edit", str(deal), "--contract-number", m(), "--note", m()))
    quote = ok(crm("quote", "create", str(deal), "--note", m()))
    ok(crm("quote", "decline", quote, "--reason", m()))
    invoice = int(ok(crm("invoice", "create", str(deal), "--amount", "500", "--note", m())))
    ok(crm("payment", "add", str(invoice), "200", "--method", m(), "--note", m()))
    lost = int(ok(crm("deal", "add", m(), "--customer", str(cid), "--amount", "300")))
    ok(crm("deal", "lost", str(lost), "--reason", m()))
    ticket = int(ok(crm("ticket", "open", str(cid), m(), "--priority", "high")))
    ok(crm("ticket", "comment", str(ticket), m()))
    ok(crm("remind", "add", m(), "--at", "next monday", "--customer", str(cid)))
    return {"customer": cid, "lead": lead, "deal": deal}


def tables(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every ordinary table (no command log, no virtual or shadow table): its columns."""
    names = [r[0] for r in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
    ) if not str(r[1]).upper().startswith("CREATE VIRTUAL")]  # fmt: skip
    virtual = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'"
    )]  # fmt: skip
    names = [
        n for n in names if n not in BOOKKEEPING and not any(n.startswith(f"{v}_") for v in virtual)
    ]
    return {n: conn.execute(f'PRAGMA table_info("{n}")').fetchall() for n in names}


def is_text(declared: str) -> bool:
    return "TEXT" in declared.upper() or "CHAR" in declared.upper() or declared == ""


def belongs_to_customers(conn: sqlite3.Connection, names: list[str]) -> set[str]:
    """The tables with a foreign-key path from customers (the person's kinds of record)."""
    found = {"customers"}
    grew = True
    while grew:
        grew = False
        for name in names:
            parents = {r[2] for r in conn.execute(f'PRAGMA foreign_key_list("{name}")')}
            if name not in found and parents & found:
                found.add(name)
                grew = True
    return found


def rows_of(conn: sqlite3.Connection, first: int, last: int) -> set[tuple[str, int]]:
    """(table, audit row id) of every row the commands ``first``..``last`` wrote."""
    return {
        (str(t), int(r))
        for t, r in conn.execute(
            "SELECT DISTINCT table_name, row_id FROM audit WHERE command_id BETWEEN ? AND ?",
            (first, last),
        )
    }


def insert_generic(
    conn: sqlite3.Connection,
    name: str,
    info: list[tuple[Any, ...]],
    m: Markers,
    ids: dict[str, int],
) -> bool:
    """Add one row to a table no command above fills, linked to the person's rows."""
    keys = conn.execute(f'PRAGMA foreign_key_list("{name}")').fetchall()
    for parent in {r[2] for r in keys} - {name} - set(ids):
        # A parent that is nobody's (a campaign of the send log): one generic row of it.
        parent_info = conn.execute(f'PRAGMA table_info("{parent}")').fetchall()
        # Not the person's, so not marked: forget leaves it.
        added = insert_generic(conn, parent, parent_info, lambda: "not the person's", ids)
        if added is not None:
            ids[parent] = added
    links = {r[3]: ids.get(r[2]) for r in keys}
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]

    def first_text(column: str) -> list[Any]:
        """What the table's CHECK constraints ask of a TEXT column, tried first."""
        allowed = re.search(rf"\b{column} IN \('([^']*)'", sql)
        if allowed:
            return [allowed.group(1)]
        if re.search(rf"\b{column} GLOB '[^']*T\*'", sql):
            return ["2026-01-02T03:04:05Z"]
        if re.search(rf"\b{column} GLOB", sql):
            return ["2026-01-02"]
        if re.search(rf"length\({column}\) = 3", sql):
            return ["USD"]
        return []

    choices: dict[str, list[Any]] = {}
    for _cid, column, declared, _notnull, _default, pk in info:
        if column in links and links[column] is not None:
            choices[column] = [links[column]]
        elif pk and "INT" in declared.upper():
            choices[column] = [None]
        elif is_text(declared):
            choices[column] = [
                *first_text(column),
                m(),
                "2026-01-02",
                "2026-01-02T03:04:05Z",
                "USD",
                "1",
                "x",
            ]
        else:
            choices[column] = [1, 0]
    columns = list(choices)
    current = {c: 0 for c in columns}
    for column in [None, *columns]:
        options = range(len(choices[column])) if column else [0]
        for i in options:
            if column:
                current[column] = i
            values = [choices[c][current[c]] for c in columns]
            try:
                conn.execute("SAVEPOINT probe")
                names = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join("?" * len(columns))
                conn.execute(f'INSERT INTO "{name}" ({names}) VALUES ({marks})', values)
                conn.execute("RELEASE probe")
                pk = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]
                try:
                    return int(conn.execute(f'SELECT max(rowid) FROM "{name}"').fetchone()[0])
                except sqlite3.OperationalError:  # WITHOUT ROWID
                    return int(values[columns.index(pk[0])])
            except sqlite3.DatabaseError:
                conn.execute("ROLLBACK TO probe")
                conn.execute("RELEASE probe")
    return None


def parents_first(conn: sqlite3.Connection, names: Iterable[str]) -> list[str]:
    """``names`` with every table after the tables its foreign keys point at."""
    names = sorted(names)
    depth: dict[str, int] = {}

    def level(name: str, seen: frozenset[str] = frozenset()) -> int:
        if name not in depth:
            parents = {r[2] for r in conn.execute(f'PRAGMA foreign_key_list("{name}")')}
            parents = {p for p in parents if p in names and p != name and p not in seen}
            depth[name] = 1 + max((level(p, seen | {name}) for p in parents), default=0)
        return depth[name]

    return sorted(names, key=lambda n: (level(n), n))


def fill(db_path: Path, m: Markers, first: int, people: dict[str, int]) -> None:
    """Write a marker into every TEXT column of every row of the person (the commands from
    ``first`` on wrote them), through crm's write transaction so the audit trail records it."""
    from crmcli.db import open_db

    db = open_db(db_path, create=False)
    conn = db.conn
    try:
        with db.write(["crm", "fill-markers"]):
            schema = tables(conn)
            mine = rows_of(conn, first, last_command(db_path))
            extra: set[tuple[str, int]] = set()  # rows of tables with no audit triggers
            ids = {"customers": people["customer"], "leads": people["lead"],
                   "deals": people["deal"]}  # fmt: skip
            for name in parents_first(conn, belongs_to_customers(conn, list(schema))):
                owned = {r for t, r in mine if t == name}
                for row_id in owned:
                    ids.setdefault(name, row_id)
                if not owned:
                    added = insert_generic(conn, name, schema[name], m, ids)
                    extra.add((name, added or 0))
                    if added is not None:
                        ids.setdefault(name, added)
                    assert added is not None, (
                        f"table {name} belongs to customers but no command in this test fills "
                        "it and a generic row cannot be inserted: add a command to build()"
                    )
            # Parents inserted for a generic row (a campaign of the send log) are nobody's.
            person_tables = belongs_to_customers(conn, list(schema))
            parents = {(t, i) for t, i in ids.items() if t not in person_tables}
            mine = (rows_of(conn, first, last_command(db_path) + 1) - parents) | extra
            for name, info in schema.items():
                pk = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]
                without_rowid = conn.execute(
                    "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE name = ?", (name,)
                ).fetchone()[0]
                owned = sorted(r for t, r in mine if t == name)
                for row_id in owned:
                    if without_rowid:
                        keys = conn.execute(
                            f'SELECT {", ".join(pk)} FROM "{name}" WHERE "{pk[0]}" = ?', (row_id,)
                        ).fetchall()
                        where = " AND ".join(f'"{c}" = ?' for c in pk)
                    else:
                        keys, where = [(row_id,)], "rowid = ?"
                    for key in keys:
                        for _cid, column, declared, *_rest in info:
                            if not is_text(declared):
                                continue
                            marker = m()
                            conn.execute("SAVEPOINT mark")
                            try:
                                conn.execute(
                                    f'UPDATE "{name}" SET "{column}" = ? WHERE {where}',
                                    (marker, *key),
                                )
                            except sqlite3.IntegrityError:  # a CHECK: the column holds no text
                                conn.execute("ROLLBACK TO mark")
                                marker = ""
                            conn.execute("RELEASE mark")
                            if marker:
                                m.written.add(marker)
                            if without_rowid and column in pk and marker:
                                key = tuple(
                                    marker if c == column else v
                                    for c, v in zip(pk, key, strict=True)
                                )
    finally:
        db.close()


def file_bytes(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def search_terms(db_path: Path) -> set[str]:
    """Every term of every full-text index (its shadow tables compress terms, so the file's
    bytes alone would not show them)."""
    conn = sqlite3.connect(db_path)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND upper(sql) LIKE 'CREATE VIRTUAL TABLE%USING FTS5%'"
        )]  # fmt: skip
        terms: set[str] = set()
        for name in names:
            conn.execute(f"CREATE VIRTUAL TABLE temp.v_{name} USING fts5vocab(main, {name}, row)")
            terms |= {r[0] for r in conn.execute(f"SELECT term FROM temp.v_{name}")}
        return terms
    finally:
        conn.close()


def live_text(db_path: Path) -> str:
    conn = sqlite3.connect(db_path)
    try:
        parts = []
        for name in tables(conn):
            for row in conn.execute(f'SELECT * FROM "{name}"'):
                parts += [str(v) for v in row if isinstance(v, str)]
        return "\n".join(parts)
    finally:
        conn.close()


# What another version might add: a sort key on customers, a table of their own.
LATER_SCHEMA = (
    "ALTER TABLE customers ADD COLUMN name_sort TEXT",
    "CREATE TABLE customer_socials (id INTEGER PRIMARY KEY, "
    "customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE, "
    "network TEXT NOT NULL CHECK (network IN ('zalo', 'x')), handle TEXT NOT NULL)",
)


@pytest.mark.parametrize("later", [False, True], ids=["schema", "later-schema"])
def test_forget_leaves_nothing_of_the_person(crm, db_path: Path, later: bool) -> None:
    ok(crm("demo", "-f", "tsv"))
    if later:
        conn = sqlite3.connect(db_path)
        for sql in LATER_SCHEMA:
            conn.execute(sql)
        conn.close()
    a, b = Markers("a"), Markers("b")
    first_a = last_command(db_path) + 1
    person_a = build(crm, a)
    fill(db_path, a, first_a, person_a)
    first_b = last_command(db_path) + 1
    person_b = build(crm, b)
    fill(db_path, b, first_b, person_b)
    cid = person_a["customer"]
    assert len(a.written) > 60 and len(b.written) > 60
    before = file_bytes(db_path) + file_bytes(Path(f"{db_path}-wal"))
    assert a.prefix.encode() in before and b.prefix.encode() in before

    result = crm("customer", "forget", str(cid), "--yes")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""

    # The -wal as the forget left it, then the file once more after a checkpoint.
    wal = file_bytes(Path(f"{db_path}-wal"))
    assert a.prefix.encode() not in wal
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = file_bytes(db_path) + file_bytes(Path(f"{db_path}-wal"))
    left = sorted({data[i : i + 10].decode("ascii", "replace")
                   for i in range(len(data)) if data.startswith(a.prefix.encode(), i)})  # fmt: skip
    assert left == [], left
    terms = search_terms(db_path)
    assert not [t for t in terms if t.startswith(a.prefix)]
    assert [t for t in terms if t.startswith(b.prefix)]
    # The other person is untouched: every marker of theirs is still in a live row.
    text = live_text(db_path)
    assert sorted(x for x in b.written if x not in text) == []

    shown = ok(crm("customer", "show", str(cid), "-f", "json"))
    assert a.prefix not in shown
    record = json.loads(shown)
    assert record["name"] == f"forgotten customer {cid}"
    assert record["country"] is None and record["source"] is None
    (other,) = query(db_path, "SELECT name FROM customers WHERE id = ?", (person_b["customer"],))
    assert str(other[0]).startswith(b.prefix)  # (its dates hold markers: no show for it)
    assert ok(crm("customer", "list", "--search", a.prefix, "-f", "ids")) == ""
    assert crm("doctor").exit_code == 0
    if later:
        socials = query(db_path, "SELECT id, customer_id, handle FROM customer_socials ORDER BY id")
        assert socials[0] == (1, cid, "")
        assert socials[1][2].startswith(b.prefix)
