"""A person's data: everything held about them (export), and forgetting them (erasure).

:func:`find_person` gathers every row that is about one customer (or one lead): the
customer, customers merged into it, the leads converted into it, their interactions, deals
with items and stage changes, tickets with their thread, reminders, and the same rows found
in the audit trail after they were deleted.  :func:`export_person` reads them;
:func:`forget` erases the personal data in them (live rows, audit images, the command lines
that typed them, the search index) and keeps anonymous figures, so reports stay true.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmcli.db import Database

REDACTED = "(forgotten)"
IDENTIFIER_MIN = 3  # shorter names are not searched for as text (they would match words)

# Every table holding a person's rows: the column its audit row_id comes from.
TABLES = (
    "customers", "customer_tags", "leads", "lead_tags", "lead_status_changes", "interactions",
    "deals", "deal_items", "deal_stage_changes", "tickets", "ticket_events", "reminders",
)  # fmt: skip

# What forgetting writes into each table (SQL expressions; {id} is the row's id).  Every
# other column stays: ids, links, amounts, currencies, stages, probabilities, dates,
# statuses, sources, priorities, satisfaction, so counts and sums are unchanged.
ERASE: dict[str, dict[str, str]] = {
    "customers": {
        "name": "'forgotten customer ' || {id}", "email": "NULL", "phone": "NULL",
        "company": "NULL", "title": "NULL", "address": "NULL", "city": "NULL",
        "birthday": "NULL", "notes": "NULL", "fields": "'{{}}'", "cadence": "NULL",
        # The sort keys (text.sort_key) of the values above: a lower-case ASCII text is its
        # own key.
        "sort_name": "'forgotten customer ' || {id}", "sort_city": "NULL",
        "sort_company": "NULL",
    },
    "leads": {
        "name": "'forgotten lead ' || {id}", "email": "NULL", "phone": "NULL",
        "company": "NULL", "title": "NULL", "notes": "NULL",
        "sort_name": "'forgotten lead ' || {id}", "sort_company": "NULL",
    },
    "interactions": {"body": "''"},
    "deals": {"title": "'deal ' || {id}", "notes": "NULL"},
    "tickets": {"subject": "'ticket ' || {id}", "description": "NULL"},
    "ticket_events": {"body": "NULL"},
    "reminders": {"text": "'reminder ' || {id}"},
}  # fmt: skip

# Free text a mention of the person may hide in (reported after forgetting, not changed:
# it belongs to other records).
TEXT_COLUMNS = {
    "customer": ("customers", ("name", "email", "phone", "company", "address", "notes", "fields")),
    "lead": ("leads", ("name", "email", "phone", "company", "notes")),
    "interaction": ("interactions", ("body",)),
    "deal": ("deals", ("title", "notes")),
    "ticket": ("tickets", ("subject", "description")),
    "ticket event": ("ticket_events", ("body",)),
    "reminder": ("reminders", ("text",)),
}


@dataclass
class Person:
    """The ids of every row about one person, by table (live rows and deleted ones that
    the audit trail still holds)."""

    rows: dict[str, set[int]] = field(default_factory=lambda: {t: set() for t in TABLES})

    @property
    def customers(self) -> set[int]:
        return self.rows["customers"]

    @property
    def leads(self) -> set[int]:
        return self.rows["leads"]


def _ids(values: Iterable[int]) -> str:
    return json.dumps(sorted(values))


_IN = "IN (SELECT value FROM json_each(?))"


def _rows(db: Database, table: str, column: str, parents: set[int]) -> set[int]:
    """Ids of ``table`` rows whose ``column`` is in ``parents``, now or in the audit trail."""
    if not parents:
        return set()
    key = _ids(parents)
    found = {
        int(r[0]) for r in db.conn.execute(f"SELECT id FROM {table} WHERE {column} {_IN}", (key,))
    }
    audited = (
        f"SELECT DISTINCT row_id FROM audit WHERE table_name = ? AND "
        f"(json_extract(before, '$.{column}') {_IN} OR json_extract(after, '$.{column}') {_IN})"
    )
    found.update(int(r[0]) for r in db.conn.execute(audited, (table, key, key)))
    return found


def _merged_into(db: Database, customers: set[int]) -> set[int]:
    """Customers merged into these ones: deleted customers whose records were moved here."""
    found = set(customers)
    while True:
        key = _ids(found)
        sql = (
            "SELECT DISTINCT json_extract(before, '$.customer_id') FROM audit "
            "WHERE table_name IN ('interactions', 'deals', 'leads', 'tickets', 'reminders') "
            f"AND action = 'update' AND json_extract(after, '$.customer_id') {_IN} "
            f"AND json_extract(before, '$.customer_id') NOT {_IN} "
            "AND json_extract(before, '$.customer_id') NOT IN (SELECT id FROM customers)"
        )
        more = {int(r[0]) for r in db.conn.execute(sql, (key, key)) if r[0] is not None}
        if not more:
            return found
        found |= more


def find_person(
    db: Database, *, customer_id: int | None = None, lead_id: int | None = None
) -> Person:
    """Every row about the customer ``customer_id`` (or only the lead ``lead_id``)."""
    person = Person()
    rows = person.rows
    if customer_id is not None:
        db.require("customers", "customer", customer_id)
        rows["customers"] = _merged_into(db, {customer_id})
        rows["leads"] = _rows(db, "leads", "customer_id", rows["customers"])
    if lead_id is not None:
        db.require("leads", "lead", lead_id)
        rows["leads"].add(lead_id)
    customers, leads = rows["customers"], rows["leads"]
    rows["customer_tags"] = set(customers)  # keyed by customer_id
    rows["lead_tags"] = set(leads)
    rows["lead_status_changes"] = _rows(db, "lead_status_changes", "lead_id", leads)
    rows["interactions"] = _rows(db, "interactions", "customer_id", customers) | _rows(
        db, "interactions", "lead_id", leads
    )
    rows["deals"] = _rows(db, "deals", "customer_id", customers) | _rows(
        db, "deals", "lead_id", leads
    )
    rows["deal_items"] = _rows(db, "deal_items", "deal_id", rows["deals"])
    rows["deal_stage_changes"] = _rows(db, "deal_stage_changes", "deal_id", rows["deals"])
    rows["tickets"] = _rows(db, "tickets", "customer_id", customers)
    rows["ticket_events"] = _rows(db, "ticket_events", "ticket_id", rows["tickets"])
    reminders: set[int] = set()
    for column, parents in (
        ("customer_id", customers),
        ("lead_id", leads),
        ("deal_id", rows["deals"]),
        ("ticket_id", rows["tickets"]),
        ("interaction_id", rows["interactions"]),
    ):
        reminders |= _rows(db, "reminders", column, parents)
    rows["reminders"] = reminders
    return person


# -- export ------------------------------------------------------------------------------


def _select(db: Database, sql: str, ids: set[int]) -> list[dict[str, Any]]:
    return list(db.query(sql, (_ids(ids),)))


def _history(db: Database, person: Person) -> list[dict[str, Any]]:
    sql = (
        "SELECT a.id, c.at, c.argv, a.table_name, a.row_id, a.action, a.before, a.after "
        f"FROM audit a LEFT JOIN commands c ON c.id = a.command_id "
        f"WHERE a.table_name = ? AND a.row_id {_IN}"
    )
    entries: list[dict[str, Any]] = []
    for table, ids in person.rows.items():
        if not ids:
            continue
        for row in db.query(sql, (table, _ids(ids))):
            entries.append(
                {
                    "id": row["id"],
                    "at": row["at"],
                    "command": json.loads(row["argv"]) if row["argv"] else None,
                    "table": row["table_name"],
                    "row_id": row["row_id"],
                    "action": row["action"],
                    "before": json.loads(row["before"]) if row["before"] else None,
                    "after": json.loads(row["after"]) if row["after"] else None,
                }
            )
    entries.sort(key=lambda e: int(e["id"]))
    return entries


def export_person(db: Database, customer_id: int) -> dict[str, Any]:
    """Everything held about one customer, as one JSON-ready document."""
    from crmcli import __version__
    from crmcli.dates import utc_now_iso

    person = find_person(db, customer_id=customer_id)
    rows = person.rows
    customer = db.one("SELECT * FROM customers WHERE id = ?", (customer_id,))
    assert customer is not None
    customer["fields"] = json.loads(customer["fields"] or "{}")
    customer["tags"] = [
        r[0]
        for r in db.conn.execute(
            "SELECT tag FROM customer_tags WHERE customer_id = ? ORDER BY tag", (customer_id,)
        )
    ]
    deals = _select(
        db,
        f"SELECT d.*, s.name AS stage FROM deals d JOIN stages s ON s.id = d.stage_id "
        f"WHERE d.id {_IN} ORDER BY d.id",
        rows["deals"],
    )
    for deal in deals:
        deal["items"] = list(
            db.query("SELECT * FROM deal_items WHERE deal_id = ? ORDER BY position", (deal["id"],))
        )
        deal["stage_history"] = list(
            db.query(
                "SELECT c.at, f.name AS from_stage, t.name AS to_stage "
                "FROM deal_stage_changes c LEFT JOIN stages f ON f.id = c.from_stage_id "
                "JOIN stages t ON t.id = c.to_stage_id WHERE c.deal_id = ? ORDER BY c.at, c.id",
                (deal["id"],),
            )
        )
    tickets = _select(db, f"SELECT * FROM tickets WHERE id {_IN} ORDER BY id", rows["tickets"])
    for ticket in tickets:
        ticket["events"] = list(
            db.query(
                "SELECT * FROM ticket_events WHERE ticket_id = ? ORDER BY at, id", (ticket["id"],)
            )
        )
    leads = _select(db, f"SELECT * FROM leads WHERE id {_IN} ORDER BY id", rows["leads"])
    for lead in leads:
        lead["tags"] = [
            r[0]
            for r in db.conn.execute(
                "SELECT tag FROM lead_tags WHERE lead_id = ? ORDER BY tag", (lead["id"],)
            )
        ]
        lead["status_changes"] = list(
            db.query(
                "SELECT * FROM lead_status_changes WHERE lead_id = ? ORDER BY at, id",
                (lead["id"],),
            )
        )
    return {
        "format": "crmcli person export",
        "version": 1,
        "crmcli_version": __version__,
        "exported_at": utc_now_iso(),
        "customer": customer,
        "merged_customer_ids": sorted(person.customers - {customer_id}),
        "interactions": _select(
            db,
            f"SELECT * FROM interactions WHERE id {_IN} ORDER BY happened_at, id",
            rows["interactions"],
        ),
        "deals": deals,
        "tickets": tickets,
        "reminders": _select(
            db, f"SELECT * FROM reminders WHERE id {_IN} ORDER BY due_at, id", rows["reminders"]
        ),
        "leads": leads,
        "history": _history(db, person),
    }


# -- forgetting --------------------------------------------------------------------------


@dataclass
class Forgotten:
    """What :func:`forget` did: rows anonymised per table, and records elsewhere that still
    mention the person (other people's records, left as they are)."""

    rows: dict[str, int]
    commands_redacted: int
    mentions: list[str]
    traces: list[bytes] = field(default_factory=list)  # erased text to look for in the file


def _identifiers(db: Database, person: Person) -> set[str]:
    """The person's names, e-mails and phones, as stored now and in the audit trail."""
    found: set[str] = set()

    def take(image: dict[str, Any]) -> None:
        for key in ("name", "email", "phone"):
            value = image.get(key)
            if isinstance(value, str) and value:
                found.add(value)
        fields = image.get("fields")
        if isinstance(fields, str) and fields.startswith("{"):
            try:
                extra = json.loads(fields)
            except ValueError:
                extra = {}
            for key, value in extra.items():
                if key.startswith(("email", "phone")) and isinstance(value, str) and value:
                    found.add(value)

    for table in ("customers", "leads"):
        ids = _ids(person.rows[table])
        for row in db.query(f"SELECT * FROM {table} WHERE id {_IN}", (ids,)):
            take(row)
        sql = f"SELECT before, after FROM audit WHERE table_name = ? AND row_id {_IN}"
        for before, after in db.conn.execute(sql, (table, ids)):
            for image in (before, after):
                if image:
                    take(json.loads(image))
    return found


_KEY_LIKE = re.compile(r"[a-z_]+\Z")
_COMMAND_WORD = re.compile(r"[a-z][a-z-]*\Z")
_NUMBER = re.compile(r"\d+\Z")
_GLOBAL_WITH_VALUE = frozenset({"--db"})


def redact_argv(argv: list[str]) -> list[str]:
    """A command line with every value replaced: the command words, option names and ids
    stay (``crm customer add (forgotten) --email (forgotten)``)."""
    out: list[str] = []
    leading = True  # still reading the command words (crm customer add)
    words = 0
    keep_next = False
    for i, token in enumerate(argv):
        if i == 0 or keep_next:
            out.append(token)
            keep_next = False
        elif token.startswith("-") and len(token) > 1:
            name, eq, _value = token.partition("=")
            out.append(f"{name}={REDACTED}" if eq else token)
            keep_next = leading and name in _GLOBAL_WITH_VALUE and not eq
        elif _NUMBER.match(token):
            out.append(token)
            leading = False
        elif leading and words < 3 and _COMMAND_WORD.match(token):
            out.append(token)
            words += 1
        else:
            out.append(REDACTED)
            leading = False
    return out


def _redact_text(text: str, identifiers: list[str]) -> str:
    for ident in identifiers:
        text = re.sub(re.escape(ident), REDACTED, text, flags=re.IGNORECASE)
    return text


def _searchable(identifiers: set[str]) -> list[str]:
    """Identifiers worth searching for as text, longest first (a name before its parts)."""
    usable = [
        i
        for i in identifiers
        if len(i) >= IDENTIFIER_MIN
        and '"' not in i
        and "\\" not in i
        and not _KEY_LIKE.match(i)  # would match the images' JSON keys
        and (any(ch.isalpha() for ch in i) or len(i) >= 6)  # nor ids and times
    ]
    return sorted(usable, key=lambda i: (-len(i), i))


def _anonymise_images(db: Database, table: str, ids: set[int]) -> None:
    erase = ERASE.get(table)
    if not erase or not ids:
        return
    pairs = ", ".join(f"'$.{column}', {expr.format(id='row_id')}" for column, expr in erase.items())
    db.execute(
        "UPDATE audit SET "
        f"before = CASE WHEN before IS NULL THEN NULL ELSE json_replace(before, {pairs}) END, "
        f"after = CASE WHEN after IS NULL THEN NULL ELSE json_replace(after, {pairs}) END "
        f"WHERE table_name = ? AND row_id {_IN}",
        (table, _ids(ids)),
    )


def _commands_of(db: Database, person: Person) -> set[int]:
    found: set[int] = set()
    for table, ids in person.rows.items():
        if ids:
            sql = (
                "SELECT DISTINCT command_id FROM audit WHERE table_name = ? "
                f"AND row_id {_IN} AND command_id IS NOT NULL"
            )
            found.update(int(r[0]) for r in db.conn.execute(sql, (table, _ids(ids))))
    return found


def _only_about(db: Database, command_id: int, person: Person) -> bool:
    """Whether every change the command made was to the person's rows."""
    for table, row_id in db.conn.execute(
        "SELECT table_name, row_id FROM audit WHERE command_id = ?", (command_id,)
    ):
        if row_id not in person.rows.get(table, ()):
            return False
    return True


def forget(db: Database, person: Person) -> Forgotten:
    """Erase the person's personal data; run inside ``db.write()``, then :func:`compact`.

    Live rows keep their ids, links, amounts and dates with the text replaced (see
    :data:`ERASE`); tags go; the audit images of every row about them get the same
    replacement, so no undo can bring the data back; command lines that only concerned
    them lose their values, and any other command line or audit image that spells one of
    their names, e-mails or phones has it replaced.
    """
    identifiers = _identifiers(db, person)
    searchable = _searchable(identifiers)
    own_command = db.scalar("SELECT max(command_id) FROM active_command")
    commands = _commands_of(db, person) - {own_command}
    counts: dict[str, int] = {}
    for table, erase in ERASE.items():
        ids = person.rows[table]
        if not ids:
            continue
        assignments = ", ".join(f"{col} = {expr.format(id='id')}" for col, expr in erase.items())
        if table in ("customers", "leads", "deals", "tickets", "reminders"):
            assignments += ", updated_at = ?"
            params: tuple[Any, ...] = (_now(), _ids(ids))
        else:
            params = (_ids(ids),)
        cur = db.execute(f"UPDATE {table} SET {assignments} WHERE id {_IN}", params)
        counts[table] = cur.rowcount
    db.execute(f"DELETE FROM customer_tags WHERE customer_id {_IN}", (_ids(person.customers),))
    db.execute(f"DELETE FROM lead_tags WHERE lead_id {_IN}", (_ids(person.leads),))
    # The images of every row about them, including those this command just wrote.
    for table, ids in person.rows.items():
        _anonymise_images(db, table, ids)
    for table, ids in (("customer_tags", person.customers), ("lead_tags", person.leads)):
        db.execute(f"DELETE FROM audit WHERE table_name = ? AND row_id {_IN}", (table, _ids(ids)))
    redacted = 0
    for command_id in sorted(commands):
        argv = json.loads(db.scalar("SELECT argv FROM commands WHERE id = ?", (command_id,)))
        if _only_about(db, command_id, person):
            new = redact_argv(argv)
        else:
            new = [_redact_text(token, searchable) for token in argv]
        if new != argv:
            db.execute(
                "UPDATE commands SET argv = ? WHERE id = ?",
                (json.dumps(new, ensure_ascii=False), command_id),
            )
            redacted += 1
    live = {ident: _live_mentions(db, ident) for ident in searchable}
    redacted += _redact_elsewhere(db, live, own_command)
    for fts in ("customers_fts", "leads_fts"):
        # Merge the index into one segment: the old segments still hold their tokens.
        db.execute(f"INSERT INTO {fts} ({fts}) VALUES ('optimize')")
    traces = [i.encode() for i in searchable if not live[i]]
    labels = {table: label for label, (table, _columns) in TEXT_COLUMNS.items()}
    still = sorted({(labels[t], row_id) for found in live.values() for t, row_id in found})
    return Forgotten(counts, redacted, [f"{label} {n}" for label, n in still][:20], traces)


def _redact_elsewhere(db: Database, live: dict[str, set[tuple[str, int]]], own_command: Any) -> int:
    """Replace the person's names, e-mails and phones in any other audit image or command
    line (a reminder about them that was deleted, an import's file name …).  Records that
    still spell the text now (a namesake, another customer's note) keep their history."""
    changed: set[int] = set()
    for ident, found in live.items():
        current = json.dumps(sorted(found))
        keep = (
            "EXISTS (SELECT 1 FROM json_each(?3) j WHERE json_extract(j.value, '$[0]') = "
            "{a}.table_name AND json_extract(j.value, '$[1]') = {a}.row_id)"
        )
        db.execute(
            "UPDATE audit SET before = replace(before, ?1, ?2), after = replace(after, ?1, ?2) "
            "WHERE (instr(before, ?1) > 0 OR instr(after, ?1) > 0) AND NOT "
            + keep.format(a="audit"),
            (ident, REDACTED, current),
        )
        sql = (
            "SELECT c.id, c.argv FROM commands c WHERE instr(lower(c.argv), lower(?1)) > 0 "
            "AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.command_id = c.id AND "
            + keep.format(a="a")
            + ")"
        )
        for command_id, argv in db.conn.execute(sql, (ident, None, current)).fetchall():
            if command_id == own_command:
                continue
            old = json.loads(argv)
            new = [_redact_text(token, [ident]) for token in old]
            if new != old:
                db.execute(
                    "UPDATE commands SET argv = ? WHERE id = ?",
                    (json.dumps(new, ensure_ascii=False), command_id),
                )
                changed.add(int(command_id))
    return len(changed)


def _live_mentions(db: Database, ident: str) -> set[tuple[str, int]]:
    """(table, id) of the records whose text spells ``ident`` now."""
    found: set[tuple[str, int]] = set()
    for table, columns in TEXT_COLUMNS.values():
        where = " OR ".join(f"instr({c}, ?) > 0" for c in columns)
        for (row_id,) in db.conn.execute(
            f"SELECT id FROM {table} WHERE {where}", [ident] * len(columns)
        ):
            found.add((table, int(row_id)))
    return found


def compact(db: Database, forgotten: Forgotten) -> bool:
    """After the erasing commit: empty the WAL into the database (it still holds the old
    page images), then look for the erased text in the file's bytes; if any is left
    (``secure_delete`` zeroes what SQLite frees, so this is a safety net), VACUUM rewrites
    the file.  Returns whether it had to."""
    from crmcli.errors import DatabaseError

    def checkpoint() -> None:
        busy = db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            raise DatabaseError(
                "the data is forgotten, but another process kept the database busy, so old "
                "copies may remain in its -wal file; run the forget command again later"
            )

    checkpoint()
    if not _file_contains(db.path, forgotten.traces):
        return False
    db.conn.execute("VACUUM")
    checkpoint()
    return True


def _file_contains(path: Path, needles: list[bytes], chunk: int = 1 << 24) -> bool:
    """Whether any of ``needles`` occurs in the file (read in chunks that overlap)."""
    if not needles:
        return False
    overlap = max(len(n) for n in needles) - 1
    tail = b""
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            window = tail + block
            if any(n in window for n in needles):
                return True
            tail = window[-overlap:] if overlap else b""
    return False


def _now() -> str:
    from crmcli.dates import utc_now_iso

    return utc_now_iso()
