"""A person's data: everything held about them (export), and forgetting them (erasure).

:func:`find_person` gathers every row that is about one customer (or one lead): the
customer, customers merged into it, the leads converted into it, their interactions, deals
with items and stage changes, the quotes of those deals with their lines, the deals'
invoices with their payments, tickets with their thread, reminders, consent, recommendation
scores, the campaign send log, and the same rows found in the audit trail after they were
deleted.  :func:`export_person` reads them;
:func:`forget` erases the personal data in them (live rows, audit images, the command lines
that typed them, the search index) and keeps anonymous figures, so reports stay true.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmcli.db import Database

REDACTED = "(forgotten)"
IDENTIFIER_MIN = 3  # shorter names are not searched for as text (they would match words)

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
    "quote": ("quotes", ("note", "decline_reason")),
}


@dataclass
class Person:
    """The audit row ids of every row about one person, by table (live rows and deleted
    ones that the audit trail still holds); see :func:`crmcli.core.erasure.belonging`."""

    rows: dict[str, set[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rows = defaultdict(set, self.rows)

    @property
    def customers(self) -> set[int]:
        return self.rows["customers"]

    @property
    def leads(self) -> set[int]:
        return self.rows["leads"]


def _ids(values: Iterable[int]) -> str:
    return json.dumps(sorted(values))


_IN = "IN (SELECT value FROM json_each(?))"


def _merged_into(db: Database, customers: set[int]) -> set[int]:
    """Customers merged into these ones: deleted customers whose records were moved here."""
    found = set(customers)
    while True:
        key = _ids(found)
        sql = (
            "SELECT DISTINCT json_extract(before, '$.customer_id') FROM audit "
            f"WHERE action = 'update' AND json_extract(after, '$.customer_id') {_IN} "
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
    """Every row about the customer ``customer_id`` (and customers merged into them), or
    only about the lead ``lead_id``: the rows the foreign keys lead to from there."""
    from crmcli.core.erasure import belonging

    roots: dict[str, set[int]] = {}
    if customer_id is not None:
        db.require("customers", "customer", customer_id)
        roots["customers"] = _merged_into(db, {customer_id})
    if lead_id is not None:
        db.require("leads", "lead", lead_id)
        roots["leads"] = {lead_id}
    return Person(belonging(db, roots))


def forgotten_rows(db: Database, entity: str, ident: int) -> dict[str, set[int]]:
    """The rows ``crm customer|lead forget ident`` erased (or would erase), by table (audit
    row ids); also after the customer or lead itself was deleted."""
    from crmcli.core.erasure import belonging

    roots = {"customers": _merged_into(db, {ident})} if entity == "customer" else {"leads": {ident}}
    return belonging(db, roots)


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
    quotes = _select(db, f"SELECT * FROM quotes WHERE id {_IN} ORDER BY id", rows["quotes"])
    for quote in quotes:
        quote["items"] = list(
            db.query(
                "SELECT * FROM quote_items WHERE quote_id = ? ORDER BY position, id",
                (quote["id"],),
            )
        )
    invoices = _select(
        db, f"SELECT * FROM invoices WHERE id {_IN} ORDER BY issued_on, id", rows["invoices"]
    )
    for invoice in invoices:
        invoice["payments"] = list(
            db.query(
                "SELECT * FROM payments WHERE invoice_id = ? ORDER BY paid_at, id",
                (invoice["id"],),
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
        "quotes": quotes,
        "invoices": invoices,
        "tickets": tickets,
        "reminders": _select(
            db, f"SELECT * FROM reminders WHERE id {_IN} ORDER BY due_at, id", rows["reminders"]
        ),
        "leads": leads,
        # Consent as it stands; when and how it changed is in "history" (table consents).
        "consents": _select(
            db, f"SELECT * FROM consents WHERE id {_IN} ORDER BY channel", rows["consents"]
        ),
        "nps_scores": _select(
            db, f"SELECT * FROM nps_scores WHERE id {_IN} ORDER BY at, id", rows["nps_scores"]
        ),
        "sends": _select(
            db,
            "SELECT s.*, c.name AS campaign FROM sends s LEFT JOIN campaigns c "
            f"ON c.id = s.campaign_id WHERE s.id {_IN} ORDER BY s.at, s.id",
            rows["sends"],
        ),
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

    Every row about them keeps its ids, links, numbers, currencies, dates and statuses;
    every other text value goes (see :mod:`crmcli.core.erasure`), in the rows and in every
    audit image of them, so no undo can bring the data back; command lines that only
    concerned them lose their values, and any other command line or audit image that
    spells one of their names, e-mails or phones has it replaced.
    """
    from crmcli.core.erasure import erase_rows, optimize_search, scrub_images

    identifiers = _identifiers(db, person)
    searchable = _searchable(identifiers)
    own_command = db.scalar("SELECT max(command_id) FROM active_command")
    commands = _commands_of(db, person) - {own_command}
    erased = erase_rows(db, person.rows, _now())
    # The images of every row about them, including those this command just wrote.
    scrub_images(db, person.rows, erased)
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
    optimize_search(db)
    traces = [i.encode() for i in searchable if not live[i]]
    labels = {table: label for label, (table, _columns) in TEXT_COLUMNS.items()}
    still = sorted({(labels[t], row_id) for found in live.values() for t, row_id in found})
    return Forgotten(erased.rows, redacted, [f"{label} {n}" for label, n in still][:20], traces)


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
