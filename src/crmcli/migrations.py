"""Schema migrations: ``m001_…`` functions appended in order and never edited once released.

Pending migrations run together in one ``BEGIN IMMEDIATE`` transaction (``db.migrate``); the
``migrations`` table records which ran and when, and ``PRAGMA user_version`` holds the count, so
a database made by a newer crmcli (a higher version) is recognised and refused.

Every audited table gets three triggers that copy the row before and after each change into
``audit`` as JSON, tagged with the command that is running (``active_command``).  Being triggers,
they also catch cascaded deletes, and no code path can forget them.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

from crmcli.text import CUSTOMER_SORT_KEYS, LEAD_SORT_KEYS, sort_key, sql_fold

Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


def audit_triggers(table: str, columns: list[str], key: str = "id") -> list[str]:
    """SQL for the insert/update/delete audit triggers of ``table``."""

    def image(alias: str) -> str:
        pairs = ", ".join(f"'{col}', {alias}.{col}" for col in columns)
        return f"json_object({pairs})"

    command = "(SELECT command_id FROM active_command)"
    statements = []
    for action, when, before, after, row in (
        ("insert", "AFTER INSERT", "NULL", image("new"), f"new.{key}"),
        ("update", "AFTER UPDATE", image("old"), image("new"), f"new.{key}"),
        ("delete", "AFTER DELETE", image("old"), "NULL", f"old.{key}"),
    ):
        statements.append(
            f"CREATE TRIGGER {table}_audit_{action} {when} ON {table} BEGIN "
            f"INSERT INTO audit (command_id, table_name, row_id, action, before, after) "
            f"VALUES ({command}, '{table}', {row}, '{action}', {before}, {after}); END"
        )
    return statements


CUSTOMER_COLUMNS = [
    "id", "uid", "name", "email", "phone", "company", "title", "address", "city",
    "country", "birthday", "source", "notes", "fields", "created_at", "updated_at",
]  # fmt: skip

INTERACTION_COLUMNS = ["id", "uid", "customer_id", "type", "body", "happened_at", "created_at"]


def _fold_v1(expr: str) -> str:
    """The search folding of migrations 1 to 3 (đ, ł, ø), frozen: those migrations make
    the same schema they always made (m004 replaced it)."""
    for src, dst in {"đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O"}.items():
        expr = f"replace({expr}, '{src}', '{dst}')"
    return expr


def _search_doc(alias: str, link: str, columns: tuple[str, ...]) -> str:
    """The FTS row of one customer or lead: its own fields plus the text of its interactions
    (``link``: the interactions' column pointing at it)."""
    activity = (
        f"(SELECT group_concat(body, ' ') FROM interactions WHERE interactions.{link} = {alias}.id)"
    )
    cols = ", ".join(_fold_v1(f"coalesce({alias}.{c}, '')") for c in columns)
    return f"SELECT {alias}.id, {cols}, {_fold_v1(f'coalesce({activity}, {chr(39)}{chr(39)})')}"


def _customer_search_doc(alias: str) -> str:
    return _search_doc(alias, "customer_id", ("name", "email", "phone", "company", "city", "notes"))


@migration
def m001_initial(conn: sqlite3.Connection) -> None:
    """Commands and audit trail, settings, customers with tags, interactions, search."""
    birthday_iso = "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'"
    birthday_yearless = "'--[0-9][0-9]-[0-9][0-9]'"  # year unknown (ISO 8601 --MM-DD)
    statements = [
        """CREATE TABLE commands (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            argv TEXT NOT NULL
        )""",
        # The command whose transaction is open: at most one row, read by the audit triggers.
        "CREATE TABLE active_command (command_id INTEGER NOT NULL REFERENCES commands(id))",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            command_id INTEGER REFERENCES commands(id),
            table_name TEXT NOT NULL,
            row_id INTEGER NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
            before TEXT,
            after TEXT
        )""",
        "CREATE INDEX audit_command ON audit (command_id)",
        "CREATE INDEX audit_row ON audit (table_name, row_id)",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"""CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            email TEXT,
            phone TEXT,
            company TEXT,
            title TEXT,
            address TEXT,
            city TEXT,
            country TEXT,
            birthday TEXT CHECK (birthday IS NULL OR birthday GLOB {birthday_iso}
                                 OR birthday GLOB {birthday_yearless}),
            source TEXT,
            notes TEXT,
            fields TEXT NOT NULL CHECK (json_valid(fields)),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX customers_email ON customers (email COLLATE NOCASE)",
        "CREATE INDEX customers_phone ON customers (phone)",
        "CREATE INDEX customers_name ON customers (name COLLATE NOCASE)",
        "CREATE INDEX customers_company ON customers (company COLLATE NOCASE)",
        "CREATE INDEX customers_city ON customers (city COLLATE NOCASE)",
        """CREATE TABLE customer_tags (
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            PRIMARY KEY (customer_id, tag)
        ) WITHOUT ROWID""",
        "CREATE INDEX customer_tags_tag ON customer_tags (tag, customer_id)",
        """CREATE TABLE interactions (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            customer_id INTEGER REFERENCES customers(id) ON DELETE CASCADE,
            type TEXT NOT NULL CHECK (type IN ('call', 'email', 'meeting', 'note')),
            body TEXT NOT NULL,
            happened_at TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX interactions_customer ON interactions (customer_id, happened_at)",
        """CREATE VIRTUAL TABLE customers_fts USING fts5 (
            name, email, phone, company, city, notes, activity,
            tokenize = 'unicode61 remove_diacritics 2'
        )""",
        # The search index follows the rows through triggers, whoever writes them.
        "CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN "
        f"INSERT INTO customers_fts (rowid, name, email, phone, company, city, notes, activity) "
        f"{_customer_search_doc('new')}; END",
        "CREATE TRIGGER customers_fts_update AFTER UPDATE ON customers BEGIN "
        "DELETE FROM customers_fts WHERE rowid = old.id; "
        f"INSERT INTO customers_fts (rowid, name, email, phone, company, city, notes, activity) "
        f"{_customer_search_doc('new')}; END",
        "CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN "
        "DELETE FROM customers_fts WHERE rowid = old.id; END",
    ]
    # Re-index the customer(s) an interaction belongs to when it changes.
    reindex = (
        "DELETE FROM customers_fts WHERE rowid = {row}.customer_id; "
        "INSERT INTO customers_fts (rowid, name, email, phone, company, city, notes, activity) "
        "{doc} FROM customers c WHERE c.id = {row}.customer_id;"
    )
    doc = _customer_search_doc("c")
    statements += [
        "CREATE TRIGGER interactions_fts_insert AFTER INSERT ON interactions BEGIN "
        + reindex.format(row="new", doc=doc)
        + " END",
        "CREATE TRIGGER interactions_fts_update AFTER UPDATE ON interactions BEGIN "
        + reindex.format(row="old", doc=doc)
        + " "
        + reindex.format(row="new", doc=doc)
        + " END",
        "CREATE TRIGGER interactions_fts_delete AFTER DELETE ON interactions BEGIN "
        + reindex.format(row="old", doc=doc)
        + " END",
    ]
    statements += audit_triggers("customers", CUSTOMER_COLUMNS)
    statements += audit_triggers("customer_tags", ["customer_id", "tag"], key="customer_id")
    statements += audit_triggers("interactions", INTERACTION_COLUMNS)
    for sql in statements:
        conn.execute(sql)


STAGE_COLUMNS = ["id", "name", "position", "probability", "kind", "removed_at"]

LEAD_COLUMNS = [
    "id", "uid", "name", "email", "phone", "company", "title", "source", "score", "status",
    "lost_reason", "notes", "customer_id", "deal_id", "converted_at", "status_changed_at",
    "created_at", "updated_at",
]  # fmt: skip

DEAL_COLUMNS = [
    "id", "uid", "title", "customer_id", "lead_id", "stage_id", "amount", "currency",
    "probability", "close_date", "closed_at", "lost_reason", "contract_number",
    "contract_start", "contract_end", "payment_due", "paid_at", "notes", "stage_changed_at",
    "created_at", "updated_at",
]  # fmt: skip

DEAL_ITEM_COLUMNS = [
    "id", "uid", "deal_id", "position", "product", "quantity", "unit_price", "created_at",
]  # fmt: skip

# The sources of m002, frozen (that migration makes the table with them); schema 10 adds
# "email" (leads made from mail, ``crm mail import --new-leads``).
LEAD_SOURCES_V2 = ("web", "cold-call", "social", "event", "referral", "list", "other")
LEAD_SOURCES = ("web", "cold-call", "social", "event", "referral", "list", "email", "other")
LEAD_STATUSES = ("new", "contacted", "qualified", "converted", "lost")
DEFAULT_STAGES = (
    # name, probability (%), kind
    ("new", 10, "open"),
    ("qualified", 25, "open"),
    ("proposal", 50, "open"),
    ("negotiation", 75, "open"),
    ("won", 100, "won"),
    ("lost", 0, "lost"),
)


def _lead_search_doc(alias: str) -> str:
    return _search_doc(alias, "lead_id", ("name", "email", "phone", "company", "notes"))


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


@migration
def m002_sales(conn: sqlite3.Connection) -> None:
    """Leads (with tags, status changes, search), deal stages, deals with their stage
    changes and line items; interactions may belong to a lead."""
    iso_date = "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'"

    def date_check(col: str) -> str:
        return f"CHECK ({col} IS NULL OR {col} GLOB {iso_date})"

    statements = [
        """CREATE TABLE stages (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
            position INTEGER NOT NULL,
            probability INTEGER NOT NULL CHECK (probability BETWEEN 0 AND 100),
            kind TEXT NOT NULL CHECK (kind IN ('open', 'won', 'lost')),
            removed_at TEXT
        )""",
        # A removed stage stays as a row (the stage history of old deals points at it), so
        # names are unique among the stages in use only.
        "CREATE UNIQUE INDEX stages_name ON stages (name COLLATE NOCASE) WHERE removed_at IS NULL",
        f"""CREATE TABLE leads (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            email TEXT,
            phone TEXT,
            company TEXT,
            title TEXT,
            source TEXT CHECK (source IS NULL OR source IN {_in(LEAD_SOURCES_V2)}),
            score INTEGER CHECK (score IS NULL OR score BETWEEN 0 AND 100),
            status TEXT NOT NULL CHECK (status IN {_in(LEAD_STATUSES)}),
            lost_reason TEXT CHECK (status <> 'lost' OR lost_reason IS NOT NULL),
            notes TEXT,
            customer_id INTEGER REFERENCES customers(id) ON DELETE SET NULL,
            deal_id INTEGER REFERENCES deals(id) ON DELETE SET NULL,
            converted_at TEXT CHECK (status <> 'converted' OR converted_at IS NOT NULL),
            status_changed_at TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX leads_status ON leads (status)",
        "CREATE INDEX leads_source ON leads (source)",
        "CREATE INDEX leads_email ON leads (email COLLATE NOCASE)",
        "CREATE INDEX leads_phone ON leads (phone)",
        "CREATE INDEX leads_customer ON leads (customer_id)",
        "CREATE INDEX leads_deal ON leads (deal_id)",
        """CREATE TABLE lead_tags (
            lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            PRIMARY KEY (lead_id, tag)
        ) WITHOUT ROWID""",
        "CREATE INDEX lead_tags_tag ON lead_tags (tag, lead_id)",
        f"""CREATE TABLE lead_status_changes (
            id INTEGER PRIMARY KEY,
            lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
            from_status TEXT CHECK (from_status IS NULL OR from_status IN {_in(LEAD_STATUSES)}),
            to_status TEXT NOT NULL CHECK (to_status IN {_in(LEAD_STATUSES)}),
            reason TEXT,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX lead_status_changes_lead ON lead_status_changes (lead_id, at)",
        f"""CREATE TABLE deals (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            lead_id INTEGER REFERENCES leads(id) ON DELETE SET NULL,
            stage_id INTEGER NOT NULL REFERENCES stages(id),
            amount INTEGER CHECK (amount IS NULL OR amount >= 0),
            currency TEXT NOT NULL CHECK (length(currency) = 3),
            probability INTEGER CHECK (probability IS NULL OR probability BETWEEN 0 AND 100),
            close_date TEXT {date_check("close_date")},
            closed_at TEXT,
            lost_reason TEXT,
            contract_number TEXT,
            contract_start TEXT {date_check("contract_start")},
            contract_end TEXT {date_check("contract_end")},
            payment_due TEXT {date_check("payment_due")},
            paid_at TEXT,
            notes TEXT,
            stage_changed_at TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        # The board and the pipeline report group open deals by stage and currency: this
        # index answers them without touching the table.
        "CREATE INDEX deals_stage ON deals (stage_id, currency, amount, probability, close_date)",
        # A stage's deals in id order (a page of `deal list --stage`) and by close date (the
        # board's cards): both read a few index entries instead of sorting the whole stage.
        "CREATE INDEX deals_stage_id ON deals (stage_id)",
        "CREATE INDEX deals_stage_close ON deals (stage_id, close_date)",
        "CREATE INDEX deals_customer ON deals (customer_id)",
        "CREATE INDEX deals_close_date ON deals (close_date)",
        "CREATE INDEX deals_lead ON deals (lead_id)",
        """CREATE TABLE deal_stage_changes (
            id INTEGER PRIMARY KEY,
            deal_id INTEGER NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
            from_stage_id INTEGER REFERENCES stages(id),
            to_stage_id INTEGER NOT NULL REFERENCES stages(id),
            at TEXT NOT NULL
        )""",
        "CREATE INDEX deal_stage_changes_deal ON deal_stage_changes (deal_id, at)",
        "CREATE INDEX deal_stage_changes_stage ON deal_stage_changes (to_stage_id)",
        """CREATE TABLE deal_items (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            deal_id INTEGER NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            product TEXT NOT NULL CHECK (length(product) BETWEEN 1 AND 200),
            quantity INTEGER NOT NULL CHECK (quantity > 0),
            unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX deal_items_deal ON deal_items (deal_id, position)",
        # Interactions with a lead; a converted lead's interactions also get the customer.
        "ALTER TABLE interactions ADD COLUMN lead_id INTEGER REFERENCES leads(id)",
        "CREATE INDEX interactions_lead ON interactions (lead_id, happened_at)",
        """CREATE VIRTUAL TABLE leads_fts USING fts5 (
            name, email, phone, company, notes, activity,
            tokenize = 'unicode61 remove_diacritics 2'
        )""",
        "CREATE TRIGGER leads_fts_insert AFTER INSERT ON leads BEGIN "
        "INSERT INTO leads_fts (rowid, name, email, phone, company, notes, activity) "
        f"{_lead_search_doc('new')}; END",
        "CREATE TRIGGER leads_fts_update AFTER UPDATE ON leads BEGIN "
        "DELETE FROM leads_fts WHERE rowid = old.id; "
        "INSERT INTO leads_fts (rowid, name, email, phone, company, notes, activity) "
        f"{_lead_search_doc('new')}; END",
        "CREATE TRIGGER leads_fts_delete AFTER DELETE ON leads BEGIN "
        "DELETE FROM leads_fts WHERE rowid = old.id; END",
    ]
    reindex = (
        "DELETE FROM leads_fts WHERE rowid = {row}.lead_id; "
        "INSERT INTO leads_fts (rowid, name, email, phone, company, notes, activity) "
        "{doc} FROM leads l WHERE l.id = {row}.lead_id;"
    )
    doc = _lead_search_doc("l")
    statements += [
        "CREATE TRIGGER interactions_lead_fts_insert AFTER INSERT ON interactions "
        "WHEN new.lead_id IS NOT NULL BEGIN " + reindex.format(row="new", doc=doc) + " END",
        "CREATE TRIGGER interactions_lead_fts_update AFTER UPDATE ON interactions "
        "WHEN old.lead_id IS NOT NULL OR new.lead_id IS NOT NULL BEGIN "
        + reindex.format(row="old", doc=doc)
        + " "
        + reindex.format(row="new", doc=doc)
        + " END",
        "CREATE TRIGGER interactions_lead_fts_delete AFTER DELETE ON interactions "
        "WHEN old.lead_id IS NOT NULL BEGIN " + reindex.format(row="old", doc=doc) + " END",
    ]
    for sql in statements:
        conn.execute(sql)
    # The default stages are part of the schema, not a user's change: no audit rows.
    conn.executemany(
        "INSERT INTO stages (id, name, position, probability, kind) VALUES (?, ?, ?, ?, ?)",
        [(i, name, i, p, kind) for i, (name, p, kind) in enumerate(DEFAULT_STAGES, start=1)],
    )
    # The interactions' audit images gain lead_id.
    triggers = [f"DROP TRIGGER interactions_audit_{a}" for a in ("insert", "update", "delete")]
    triggers += audit_triggers("interactions", [*INTERACTION_COLUMNS, "lead_id"])
    triggers += audit_triggers("stages", STAGE_COLUMNS)
    triggers += audit_triggers("leads", LEAD_COLUMNS)
    triggers += audit_triggers("lead_tags", ["lead_id", "tag"], key="lead_id")
    triggers += audit_triggers(
        "lead_status_changes", ["id", "lead_id", "from_status", "to_status", "reason", "at"]
    )
    triggers += audit_triggers("deals", DEAL_COLUMNS)
    triggers += audit_triggers(
        "deal_stage_changes", ["id", "deal_id", "from_stage_id", "to_stage_id", "at"]
    )
    triggers += audit_triggers("deal_items", DEAL_ITEM_COLUMNS)
    for sql in triggers:
        conn.execute(sql)


TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_STATUSES = ("open", "pending", "resolved", "closed")
TICKET_EVENT_KINDS = ("opened", "comment", "status", "escalation")
TICKET_COLUMNS = [
    "id", "uid", "customer_id", "subject", "description", "priority", "status", "tier",
    "due_at", "satisfaction", "resolved_at", "closed_at", "reopened", "created_at",
    "updated_at",
]  # fmt: skip
TICKET_EVENT_COLUMNS = ["id", "ticket_id", "kind", "from_value", "to_value", "body", "at"]
REMINDER_COLUMNS = [
    "id", "uid", "text", "due_at", "anchor_at", "rule", "customer_id", "lead_id", "deal_id",
    "ticket_id", "interaction_id", "done_at", "created_at", "updated_at",
]  # fmt: skip


@migration
def m003_service(conn: sqlite3.Connection) -> None:
    """Support tickets with their thread, reminders with recurrence, a contact cadence per
    customer, and the indexes `remind due` reads."""
    statements = [
        # Stay-in-touch cadence: a duration such as 30d, 2w or 1mo (dates.parse_duration).
        "ALTER TABLE customers ADD COLUMN cadence TEXT "
        "CHECK (cadence IS NULL OR length(cadence) BETWEEN 2 AND 12)",
        # remind due reads every customer with a cadence: from this index alone.
        "CREATE INDEX customers_cadence ON customers (id, cadence, created_at, name) "
        "WHERE cadence IS NOT NULL",
        # Birthdays by month and day ('MM-DD' of both 'YYYY-MM-DD' and '--MM-DD').
        "CREATE INDEX customers_birthday ON customers (substr(birthday, -5)) "
        "WHERE birthday IS NOT NULL",
        f"""CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            subject TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
            description TEXT,
            priority TEXT NOT NULL CHECK (priority IN {_in(TICKET_PRIORITIES)}),
            status TEXT NOT NULL CHECK (status IN {_in(TICKET_STATUSES)}),
            tier INTEGER NOT NULL CHECK (tier IN (1, 2)),
            due_at TEXT NOT NULL,
            satisfaction INTEGER CHECK (satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5),
            resolved_at TEXT,
            closed_at TEXT,
            reopened INTEGER NOT NULL CHECK (reopened >= 0),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX tickets_customer ON tickets (customer_id)",
        "CREATE INDEX tickets_status_due ON tickets (status, due_at)",
        "CREATE INDEX tickets_priority ON tickets (priority, status)",
        # The thread: comments, every status change, escalations (from_value/to_value hold
        # the statuses or tiers).
        f"""CREATE TABLE ticket_events (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN {_in(TICKET_EVENT_KINDS)}),
            from_value TEXT,
            to_value TEXT,
            body TEXT,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, at)",
        # A reminder's next time is due_at (UTC).  A recurring one has an RFC 5545 RRULE
        # value in `rule`, expanded from anchor_at (its first time) in local wall time.
        """CREATE TABLE reminders (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            text TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
            due_at TEXT NOT NULL,
            anchor_at TEXT NOT NULL,
            rule TEXT,
            customer_id INTEGER REFERENCES customers(id) ON DELETE CASCADE,
            lead_id INTEGER REFERENCES leads(id) ON DELETE CASCADE,
            deal_id INTEGER REFERENCES deals(id) ON DELETE CASCADE,
            ticket_id INTEGER REFERENCES tickets(id) ON DELETE CASCADE,
            interaction_id INTEGER REFERENCES interactions(id) ON DELETE SET NULL,
            done_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX reminders_due ON reminders (due_at) WHERE done_at IS NULL",
        "CREATE INDEX reminders_customer ON reminders (customer_id)",
        "CREATE INDEX reminders_lead ON reminders (lead_id)",
        "CREATE INDEX reminders_deal ON reminders (deal_id)",
        "CREATE INDEX reminders_ticket ON reminders (ticket_id)",
        "CREATE INDEX reminders_interaction ON reminders (interaction_id)",
        # remind due: won deals with a payment outstanding, contracts coming to an end.
        "CREATE INDEX deals_payment_due ON deals (payment_due) "
        "WHERE payment_due IS NOT NULL AND paid_at IS NULL",
        "CREATE INDEX deals_contract_end ON deals (contract_end) WHERE contract_end IS NOT NULL",
        # report pipeline: the average age in stage of open deals, from the index alone.
        "CREATE INDEX deals_stage_age ON deals (stage_id, currency, stage_changed_at)",
    ]
    for sql in statements:
        conn.execute(sql)
    # The customers' audit images gain the cadence.
    triggers = [f"DROP TRIGGER customers_audit_{a}" for a in ("insert", "update", "delete")]
    triggers += audit_triggers("customers", [*CUSTOMER_COLUMNS, "cadence"])
    triggers += audit_triggers("tickets", TICKET_COLUMNS)
    triggers += audit_triggers("ticket_events", TICKET_EVENT_COLUMNS)
    triggers += audit_triggers("reminders", REMINDER_COLUMNS)
    for sql in triggers:
        conn.execute(sql)
    # crm history / crm undo.  Settings are audited like every other table (a TEXT key: the
    # rowid is the audit row_id, the images carry key and value), and an undone command
    # points at the command that undid it.
    undo = [
        "ALTER TABLE commands ADD COLUMN undone_by INTEGER REFERENCES commands(id)",
        "CREATE INDEX commands_undone_by ON commands (undone_by) WHERE undone_by IS NOT NULL",
        *audit_triggers("settings", ["key", "value"], key="rowid"),
    ]
    for sql in undo:
        conn.execute(sql)


# -- m004 ----------------------------------------------------------------------------------

# Columns of the search indexes that hold words in any language, folded by text.sql_fold;
# e-mails and phones are indexed as they are (the tokenizer folds their case).
_FOLDED = frozenset({"name", "company", "city", "notes"})
CUSTOMER_SEARCHED = ("name", "email", "phone", "company", "city", "notes")
LEAD_SEARCHED = ("name", "email", "phone", "company", "notes")


def _search_doc_v4(alias: str, link: str, columns: tuple[str, ...]) -> str:
    """The FTS row of one customer or lead as the triggers of m004 to m010 built it: its own
    fields plus the text of its interactions (``link``: their column pointing at it), with
    the letters the tokenizer does not fold folded (:func:`crmcli.text.sql_fold`).  Frozen:
    m011 moved the interactions' text to an index of its own."""
    activity = (
        f"(SELECT group_concat(body, ' ') FROM interactions WHERE interactions.{link} = {alias}.id)"
    )
    cols = ", ".join(
        (sql_fold(f"coalesce({alias}.{c}, '')") if c in _FOLDED else f"coalesce({alias}.{c}, '')")
        + f" AS {c}"
        for c in columns
    )
    return (
        f"SELECT {alias}.id AS id, {cols}, "
        f"{sql_fold(f'coalesce({activity}, {chr(39)}{chr(39)})')} AS activity"
    )


def _customer_search_doc_v4(alias: str) -> str:
    return _search_doc_v4(alias, "customer_id", CUSTOMER_SEARCHED)


def _lead_search_doc_v4(alias: str) -> str:
    return _search_doc_v4(alias, "lead_id", LEAD_SEARCHED)


def search_doc(alias: str, columns: tuple[str, ...]) -> str:
    """The FTS row of one customer or lead (since m011): its own fields, with the letters
    the tokenizer does not fold folded (:func:`crmcli.text.sql_fold`).  The ``activity``
    column stays, always empty: the interactions' text is in ``interactions_fts``."""
    cols = ", ".join(
        (sql_fold(f"coalesce({alias}.{c}, '')") if c in _FOLDED else f"coalesce({alias}.{c}, '')")
        + f" AS {c}"
        for c in columns
    )
    return f"SELECT {alias}.id AS id, {cols}, '' AS activity"


def customer_search_doc(alias: str) -> str:
    return search_doc(alias, CUSTOMER_SEARCHED)


def lead_search_doc(alias: str) -> str:
    return search_doc(alias, LEAD_SEARCHED)


def _search_triggers(
    base: str, fts: str, link: str, columns: tuple[str, ...], doc: Callable[[str], str]
) -> list[str]:
    """The triggers that keep ``fts`` in step with ``base`` and with the interactions
    pointing at it through ``link``."""
    names = ", ".join(("rowid", *columns, "activity"))
    insert = f"INSERT INTO {fts} ({names}) "
    # The document's SQL stands once, in a view: inlined in six triggers it made the schema
    # that every command parses on opening twice as large (≈ 4 ms a command).
    view = f"{base}_search_doc"
    short = base[0]
    reindex = (
        f"DELETE FROM {fts} WHERE rowid = {{row}}.{link}; "
        f"{insert}SELECT * FROM {view} WHERE id = {{row}}.{link};"
    )
    prefix = "interactions" if base == "customers" else "interactions_lead"
    when = {
        "insert": f"WHEN new.{link} IS NOT NULL ",
        "update": f"WHEN old.{link} IS NOT NULL OR new.{link} IS NOT NULL ",
        "delete": f"WHEN old.{link} IS NOT NULL ",
    }
    return [
        f"CREATE VIEW {view} AS {doc(short)} FROM {base} {short}",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {base} BEGIN "
        f"{insert}SELECT * FROM {view} WHERE id = new.id; END",
        # Only a change to an indexed column re-indexes (not a sort key, not a cadence).
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {', '.join(columns)} ON {base} BEGIN "
        f"DELETE FROM {fts} WHERE rowid = old.id; {insert}SELECT * FROM {view} WHERE id = new.id; "
        "END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {base} BEGIN "
        f"DELETE FROM {fts} WHERE rowid = old.id; END",
        f"CREATE TRIGGER {prefix}_fts_insert AFTER INSERT ON interactions {when['insert']}"
        f"BEGIN {reindex.format(row='new')} END",
        f"CREATE TRIGGER {prefix}_fts_update AFTER UPDATE ON interactions {when['update']}"
        f"BEGIN {reindex.format(row='old')} {reindex.format(row='new')} END",
        f"CREATE TRIGGER {prefix}_fts_delete AFTER DELETE ON interactions {when['delete']}"
        f"BEGIN {reindex.format(row='old')} END",
    ]


def _search_rebuild_v4(fts: str) -> tuple[str, str]:
    """m004's rebuild of a search index (its own fields and its interactions' text), frozen."""
    if fts == "customers_fts":
        names = ", ".join(("rowid", *CUSTOMER_SEARCHED, "activity"))
        doc = _customer_search_doc_v4("c") + " FROM customers c"
    else:
        names = ", ".join(("rowid", *LEAD_SEARCHED, "activity"))
        doc = _lead_search_doc_v4("l") + " FROM leads l"
    return f"DELETE FROM {fts}", f"INSERT INTO {fts} ({names}) {doc}"


def search_rebuild(fts: str) -> tuple[str, str]:
    """Empty a search index, then fill it from the base rows with the triggers' own
    expressions (m011, ``crm doctor --fix``)."""
    if fts == "interactions_fts":
        return (
            f"DELETE FROM {fts}",
            f"INSERT INTO {fts} (rowid, body) {interaction_search_doc('i')}",
        )
    if fts == "customers_fts":
        names = ", ".join(("rowid", *CUSTOMER_SEARCHED, "activity"))
        doc = customer_search_doc("c") + " FROM customers c"
    else:
        names = ", ".join(("rowid", *LEAD_SEARCHED, "activity"))
        doc = lead_search_doc("l") + " FROM leads l"
    return f"DELETE FROM {fts}", f"INSERT INTO {fts} ({names}) {doc}"


def interaction_search_doc(alias: str) -> str:
    """The rows of ``interactions_fts`` (m011): each interaction's text, folded."""
    return (
        f"SELECT {alias}.id AS id, {sql_fold(f'coalesce({alias}.body, {chr(39)}{chr(39)})')} "
        f"AS body FROM interactions {alias}"
    )


def _audit_update_of(table: str, columns: list[str], key: str = "id") -> list[str]:
    """The audit triggers of ``table``, the update one firing only when an audited column is
    set: a sort key is derived from the audited text, so setting it alone is no change."""
    statements = audit_triggers(table, columns, key)
    statements[1] = statements[1].replace(
        f"AFTER UPDATE ON {table}", f"AFTER UPDATE OF {', '.join(columns)} ON {table}", 1
    )
    return statements


@migration
def m004_folding_and_sort_keys(conn: sqlite3.Connection) -> None:
    """Search folds ß ı þ ð æ œ ø ł, Greek tonos and dialytika, Cyrillic ё (indexes rebuilt);
    customers and leads get stored sort keys (Vietnamese alphabetical order) with indexes."""
    triggers = [
        f"{base}_fts_{action}"
        for base in ("customers", "leads", "interactions", "interactions_lead")
        for action in ("insert", "update", "delete")
    ]
    triggers += [f"{t}_audit_update" for t in ("customers", "leads")]
    for name in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    # The keys of the rows already there (no audit row: a key is derived, not a change).
    conn.create_function("crm_sort_key", 1, sort_key, deterministic=True)
    for table, keys in (("customers", CUSTOMER_SORT_KEYS), ("leads", LEAD_SORT_KEYS)):
        for column in keys:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
        sets = ", ".join(f"{k} = crm_sort_key({v})" for k, v in keys.items())
        conn.execute(f"UPDATE {table} SET {sets}")
        for column in keys:
            conn.execute(f"CREATE INDEX {table}_{column} ON {table} ({column})")
    # The city index only served sorting by city, which the key does now.
    conn.execute("DROP INDEX customers_city")
    statements = _search_triggers(
        "customers", "customers_fts", "customer_id", CUSTOMER_SEARCHED, _customer_search_doc_v4
    )
    statements += _search_triggers(
        "leads", "leads_fts", "lead_id", LEAD_SEARCHED, _lead_search_doc_v4
    )
    statements.append(_audit_update_of("customers", [*CUSTOMER_COLUMNS, "cadence"])[1])
    statements.append(_audit_update_of("leads", LEAD_COLUMNS)[1])
    for sql in statements:
        conn.execute(sql)
    for fts in ("customers_fts", "leads_fts"):
        for sql in _search_rebuild_v4(fts):
            conn.execute(sql)


# A customer's name in its parts, as a vCard's N has them (family; given; additional;
# prefix; suffix).  NULL when the name was typed whole.
NAME_PART_COLUMNS = ["name_family", "name_given", "name_additional", "name_prefix", "name_suffix"]


@migration
def m005_name_parts(conn: sqlite3.Connection) -> None:
    """The parts of a customer's name (from a vCard's N, or first/last name columns), so an
    export writes them back as they came; the customers' audit images gain them, so undo
    restores them."""
    for column in NAME_PART_COLUMNS:
        conn.execute(f"ALTER TABLE customers ADD COLUMN {column} TEXT")
    # Every column the table has now, in table order (whatever earlier migrations added),
    # but the sort keys: derived from the text, they are computed again after an undo and
    # a change of them alone is no change to audit (m004).
    columns = [
        row[1]
        for row in conn.execute("PRAGMA table_info(customers)")
        if not row[1].startswith("sort_")
    ]
    triggers = [f"DROP TRIGGER customers_audit_{a}" for a in ("insert", "update", "delete")]
    triggers += _audit_update_of("customers", columns)
    for sql in triggers:
        conn.execute(sql)


QUOTE_STATUSES = ("open", "accepted", "declined", "superseded")
INVOICE_STATUSES = ("open", "paid", "void")
DEAL_ITEM_COLUMNS_V6 = [
    *DEAL_ITEM_COLUMNS, "unit", "discount_bp", "discount_amount", "tax_bp", "supplier",
    "delivery_date", "delivered_at",
]  # fmt: skip
QUOTE_COLUMNS = [
    "id", "uid", "number", "version", "deal_id", "currency", "subtotal", "discount", "tax",
    "total", "valid_until", "note", "status", "decline_reason", "decided_at", "created_at",
    "updated_at",
]  # fmt: skip
QUOTE_ITEM_COLUMNS = [
    "id", "quote_id", "position", "product", "unit", "quantity", "unit_price", "discount_bp",
    "discount_amount", "tax_bp", "supplier", "delivery_date", "net",
]  # fmt: skip
INVOICE_COLUMNS = [
    "id", "uid", "number", "deal_id", "amount", "currency", "issued_on", "due_date",
    "installment", "installments", "note", "status", "void_reason", "voided_at", "paid_at",
    "created_at", "updated_at",
]  # fmt: skip
PAYMENT_COLUMNS = ["id", "uid", "invoice_id", "amount", "paid_at", "method", "note", "created_at"]


@migration
def m006_quotes_invoices(conn: sqlite3.Connection) -> None:
    """Line items gain unit, discount, tax rate, supplier, delivery date and when it was
    delivered; quotes (numbered, versioned, with a copy of their items), invoices and the
    payments against them; the counters that number quotes and invoices."""
    iso_date = "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'"

    def date_check(col: str) -> str:
        return f"CHECK ({col} IS NULL OR {col} GLOB {iso_date})"

    # Rates are basis points (1 % = 100): 10 % VAT is 1000.  A discount is a rate or an
    # amount in minor units, never both.
    statements = [
        "ALTER TABLE deal_items ADD COLUMN unit TEXT CHECK (unit IS NULL OR length(unit) <= 20)",
        "ALTER TABLE deal_items ADD COLUMN discount_bp INTEGER "
        "CHECK (discount_bp IS NULL OR discount_bp BETWEEN 0 AND 10000)",
        "ALTER TABLE deal_items ADD COLUMN discount_amount INTEGER "
        "CHECK (discount_amount IS NULL OR discount_amount >= 0)",
        "ALTER TABLE deal_items ADD COLUMN tax_bp INTEGER "
        "CHECK (tax_bp IS NULL OR tax_bp BETWEEN 0 AND 100000)",
        "ALTER TABLE deal_items ADD COLUMN supplier TEXT",
        f"ALTER TABLE deal_items ADD COLUMN delivery_date TEXT {date_check('delivery_date')}",
        "ALTER TABLE deal_items ADD COLUMN delivered_at TEXT",
        # Deliveries still to make, by date: remind due and today.
        "CREATE INDEX deal_items_delivery ON deal_items (delivery_date) "
        "WHERE delivery_date IS NOT NULL AND delivered_at IS NULL",
        f"""CREATE TABLE quotes (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            number TEXT NOT NULL CHECK (length(number) BETWEEN 1 AND 50),
            version INTEGER NOT NULL CHECK (version >= 1),
            deal_id INTEGER NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
            currency TEXT NOT NULL CHECK (length(currency) = 3),
            subtotal INTEGER NOT NULL,
            discount INTEGER NOT NULL,
            tax INTEGER NOT NULL,
            total INTEGER NOT NULL CHECK (total >= 0),
            valid_until TEXT {date_check("valid_until")},
            note TEXT,
            status TEXT NOT NULL CHECK (status IN {_in(QUOTE_STATUSES)}),
            decline_reason TEXT CHECK (status <> 'declined' OR decline_reason IS NOT NULL),
            decided_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (number, version)
        )""",
        "CREATE INDEX quotes_deal ON quotes (deal_id, version)",
        "CREATE INDEX quotes_status ON quotes (status, valid_until)",
        f"""CREATE TABLE quote_items (
            id INTEGER PRIMARY KEY,
            quote_id INTEGER NOT NULL REFERENCES quotes(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            product TEXT NOT NULL CHECK (length(product) BETWEEN 1 AND 200),
            unit TEXT,
            quantity INTEGER NOT NULL CHECK (quantity > 0),
            unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
            discount_bp INTEGER,
            discount_amount INTEGER,
            tax_bp INTEGER,
            supplier TEXT,
            delivery_date TEXT {date_check("delivery_date")},
            net INTEGER NOT NULL
        )""",
        "CREATE INDEX quote_items_quote ON quote_items (quote_id, position)",
        f"""CREATE TABLE invoices (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            number TEXT NOT NULL UNIQUE CHECK (length(number) BETWEEN 1 AND 50),
            deal_id INTEGER NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
            amount INTEGER NOT NULL CHECK (amount >= 0),
            currency TEXT NOT NULL CHECK (length(currency) = 3),
            issued_on TEXT NOT NULL {date_check("issued_on")},
            due_date TEXT NOT NULL {date_check("due_date")},
            installment INTEGER CHECK (installment IS NULL OR installment >= 1),
            installments INTEGER CHECK (installments IS NULL OR installments >= installment),
            note TEXT,
            status TEXT NOT NULL CHECK (status IN {_in(INVOICE_STATUSES)}),
            void_reason TEXT CHECK (status <> 'void' OR void_reason IS NOT NULL),
            voided_at TEXT,
            paid_at TEXT CHECK (status <> 'paid' OR paid_at IS NOT NULL),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX invoices_deal ON invoices (deal_id)",
        # What is still owed, by due date: remind due, today and the receivables report.
        "CREATE INDEX invoices_open_due ON invoices (due_date) WHERE status = 'open'",
        "CREATE INDEX invoices_issued ON invoices (issued_on)",
        """CREATE TABLE payments (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            invoice_id INTEGER NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
            amount INTEGER NOT NULL CHECK (amount > 0),
            paid_at TEXT NOT NULL,
            method TEXT,
            note TEXT,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX payments_invoice ON payments (invoice_id, paid_at, amount)",
        "CREATE INDEX payments_paid_at ON payments (paid_at)",
        # The last number given per pattern and period.  Not audited on purpose: a number
        # once given is never given again, not even after `crm undo` (a gap, as books keep).
        """CREATE TABLE number_sequences (
            key TEXT PRIMARY KEY,
            last INTEGER NOT NULL CHECK (last >= 0)
        ) WITHOUT ROWID""",
    ]
    statements += [f"DROP TRIGGER deal_items_audit_{a}" for a in ("insert", "update", "delete")]
    statements += audit_triggers("deal_items", DEAL_ITEM_COLUMNS_V6)
    statements += audit_triggers("quotes", QUOTE_COLUMNS)
    statements += audit_triggers("quote_items", QUOTE_ITEM_COLUMNS)
    statements += audit_triggers("invoices", INVOICE_COLUMNS)
    statements += audit_triggers("payments", PAYMENT_COLUMNS)
    for sql in statements:
        conn.execute(sql)


# -- m007 ----------------------------------------------------------------------------------

DEAL_COLUMNS_V7 = [c for c in DEAL_COLUMNS if c not in ("payment_due", "paid_at")]
# The number of the invoice a deal's payment date became: fixed, not the invoice_number
# setting, so the upgrade never takes numbers from the user's series (books number without
# gaps) and gives the same number on every machine.
MIGRATED_INVOICE_NUMBER = "DEAL-{deal_id}"
MIGRATED_VOID_REASON = "the deal was not won when its payment date became an invoice"
MIGRATED_NOTE = "from the deal's payment date"


def _local_day(instant: str) -> str:
    """The local calendar date of a stored UTC instant (as every command shows it)."""
    from datetime import datetime

    return datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone().date().isoformat()


@migration
def m007_deal_payments_to_invoices(conn: sqlite3.Connection) -> None:
    """A deal's one payment date (``payment_due``) and paid flag (``paid_at``) become an
    invoice, then the two columns go.

    Every deal with either gets one invoice numbered ``DEAL-<id>``: the deal's amount (none:
    0), issued on the local date the deal was won (else its due date; never after the due
    date or the payment), due on ``payment_due`` (else the day it was paid).  Paid: a
    payment of the whole amount at ``paid_at`` (none for 0) and the invoice paid then.
    Unpaid and won: open, so ``remind due`` lists it as it listed the deal, amount 0 included.
    Unpaid and not won (open or lost): ``remind due`` never listed it and no report counted
    it, so the invoice is void (with the reason) and the figures stay what they were; its
    date is kept there.  The rows are not audited: the upgrade is nobody's command to undo.

    ``ALTER TABLE … DROP COLUMN``, not sqlite-utils' ``table.transform()``: transform copies
    the table and drops the old one, and migrations run in one transaction with foreign keys
    on (the pragma cannot change inside it), so dropping ``deals`` would cascade-delete every
    line item, invoice, reminder and stage change pointing at it; it would also have to
    recreate the six indexes and the triggers.  DROP COLUMN rewrites the rows in place and
    keeps rowids, indexes and the references.  It refuses a column an index or a trigger
    names: the payment index and the deals' audit triggers go first, and the triggers come
    back without the two columns (an undo of an older command that changed them is refused:
    ``core.history``)."""
    import uuid

    from crmcli.clock import utc_now_iso

    now = utc_now_iso()
    mark = conn.execute("SELECT coalesce(max(id), 0) FROM audit").fetchone()[0]
    rows = conn.execute(
        "SELECT d.id, d.amount, d.currency, d.closed_at, d.payment_due, d.paid_at, s.kind "
        "FROM deals d JOIN stages s ON s.id = d.stage_id "
        "WHERE d.payment_due IS NOT NULL OR d.paid_at IS NOT NULL ORDER BY d.id"
    ).fetchall()
    for deal_id, amount, currency, closed_at, payment_due, paid_at, kind in rows:
        amount = amount or 0
        paid_day = _local_day(paid_at) if paid_at else None
        due = payment_due or paid_day
        issued = min(d for d in (_local_day(closed_at) if closed_at else None, due, paid_day)
                     if d)  # fmt: skip
        status = "paid" if paid_at else "open" if kind == "won" else "void"
        cursor = conn.execute(
            "INSERT INTO invoices (uid, number, deal_id, amount, currency, issued_on, due_date, "
            "note, status, void_reason, voided_at, paid_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (str(uuid.uuid4()), MIGRATED_INVOICE_NUMBER.format(deal_id=deal_id), deal_id,
             amount, currency, issued, due, MIGRATED_NOTE, status,
             MIGRATED_VOID_REASON if status == "void" else None,
             now if status == "void" else None, paid_at, now, now),
        )  # fmt: skip
        if paid_at and amount:
            conn.execute(
                "INSERT INTO payments (uid, invoice_id, amount, paid_at, note, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (str(uuid.uuid4()), cursor.lastrowid, amount, paid_at, MIGRATED_NOTE, now),
            )
    conn.execute("DELETE FROM audit WHERE id > ?", (mark,))
    statements = [
        "DROP INDEX deals_payment_due",
        *(f"DROP TRIGGER deals_audit_{a}" for a in ("insert", "update", "delete")),
        "ALTER TABLE deals DROP COLUMN payment_due",
        "ALTER TABLE deals DROP COLUMN paid_at",
        *audit_triggers("deals", DEAL_COLUMNS_V7),
    ]
    for sql in statements:
        conn.execute(sql)


CONSENT_CHANNELS = ("email", "sms")
CONSENT_STATUSES = ("yes", "no")  # no row: unknown
TEMPLATE_KINDS = ("marketing", "transactional")
SEND_STATUSES = ("sent", "failed", "skipped")
INTERACTION_COLUMNS_V8 = [*INTERACTION_COLUMNS, "lead_id", "campaign_id"]
CONSENT_COLUMNS = ["id", "customer_id", "channel", "status", "source", "at", "created_at"]
SEGMENT_COLUMNS = ["id", "name", "criteria", "description", "created_at", "updated_at"]
TEMPLATE_COLUMNS = [
    "id", "name", "channel", "kind", "subject", "body", "html", "created_at", "updated_at",
]  # fmt: skip
CAMPAIGN_COLUMNS = ["id", "uid", "name", "template_id", "channel", "kind", "created_at"]
SEND_COLUMNS = [
    "id", "campaign_id", "customer_id", "ref", "channel", "address", "status", "reason",
    "message_id", "interaction_id", "attempts", "at",
]  # fmt: skip
NPS_COLUMNS = ["id", "customer_id", "score", "comment", "at", "created_at"]


def rebuild_table(conn: sqlite3.Connection, table: str, edit: Callable[[str], str]) -> None:
    """Rebuild ``table`` from its ``CREATE TABLE`` text changed by ``edit``: SQLite's own
    procedure for changes ``ALTER TABLE`` cannot make (a CHECK constraint): create the new
    table, copy the rows, drop the old one, rename, and recreate its indexes and triggers.
    Runs inside the migration's transaction with foreign keys off (``db.migrate``), so
    dropping the old table deletes nothing that points at it; ``db.migrate`` checks every
    foreign key before it commits."""
    (old_sql,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    new_sql = edit(old_sql)
    if new_sql == old_sql:
        raise RuntimeError(f"rebuild of {table}: the edit changed nothing")
    head = f"CREATE TABLE {table} ("
    if not new_sql.startswith(head):
        raise RuntimeError(f"rebuild of {table}: unexpected schema text")
    temporary = f"_new_{table}"
    others = conn.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL ORDER BY type, name",
        (table,),
    ).fetchall()
    columns = ", ".join(f'"{row[1]}"' for row in conn.execute(f'PRAGMA table_info("{table}")'))
    conn.execute(f"CREATE TABLE {temporary} (" + new_sql[len(head) :])
    conn.execute(f"INSERT INTO {temporary} ({columns}) SELECT {columns} FROM {table}")
    conn.execute(f"DROP TABLE {table}")
    conn.execute(f"ALTER TABLE {temporary} RENAME TO {table}")
    for (sql,) in others:
        conn.execute(sql)


@migration
def m008_outreach(conn: sqlite3.Connection) -> None:
    """Reaching customers: consent per customer and channel, segments (stored criteria),
    message templates, campaigns and their send log (one row per campaign, recipient and
    reference: what makes a rerun send nothing twice), recommendation scores (NPS); SMS
    interactions, linked to the campaign that sent them.

    The interaction type list gains ``sms``: a CHECK constraint, which ``ALTER TABLE``
    cannot change, so the table is rebuilt (:func:`rebuild_table`).  Not with sqlite-utils'
    ``table.transform()``: it recreates a table from its own model of the columns, which
    has no CHECK constraints, so every check on ``interactions`` would be lost."""
    date_time = "CHECK ({col} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*')"
    rebuild_table(
        conn,
        "interactions",
        lambda sql: sql.replace(
            "CHECK (type IN ('call', 'email', 'meeting', 'note'))",
            "CHECK (type IN ('call', 'email', 'meeting', 'note', 'sms'))",
        ),
    )
    statements = [
        *(f"DROP TRIGGER interactions_audit_{a}" for a in ("insert", "update", "delete")),
        "ALTER TABLE interactions ADD COLUMN campaign_id INTEGER "
        "REFERENCES campaigns(id) ON DELETE SET NULL",
        "CREATE INDEX interactions_campaign ON interactions (campaign_id) "
        "WHERE campaign_id IS NOT NULL",
        *audit_triggers("interactions", INTERACTION_COLUMNS_V8),
        # Consent per customer and channel; no row is "unknown".  Its changes are the
        # history (audit) of when and how it was given or withdrawn.
        f"""CREATE TABLE consents (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            channel TEXT NOT NULL CHECK (channel IN {_in(CONSENT_CHANNELS)}),
            status TEXT NOT NULL CHECK (status IN {_in(CONSENT_STATUSES)}),
            source TEXT CHECK (source IS NULL OR length(source) <= 200),
            at TEXT NOT NULL {date_time.format(col="at")},
            created_at TEXT NOT NULL,
            UNIQUE (customer_id, channel)
        )""",
        "CREATE INDEX consents_channel ON consents (channel, status, customer_id)",
        """CREATE TABLE segments (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 100),
            criteria TEXT NOT NULL CHECK (json_valid(criteria)),
            description TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        f"""CREATE TABLE templates (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 100),
            channel TEXT NOT NULL CHECK (channel IN {_in(CONSENT_CHANNELS)}),
            kind TEXT NOT NULL CHECK (kind IN {_in(TEMPLATE_KINDS)}),
            subject TEXT CHECK (channel = 'sms' OR subject IS NOT NULL),
            body TEXT NOT NULL,
            html TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        f"""CREATE TABLE campaigns (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 200),
            template_id INTEGER REFERENCES templates(id) ON DELETE SET NULL,
            channel TEXT NOT NULL CHECK (channel IN {_in(CONSENT_CHANNELS)}),
            kind TEXT NOT NULL CHECK (kind IN {_in(TEMPLATE_KINDS)}),
            created_at TEXT NOT NULL
        )""",
        # One row per campaign, recipient and reference (an invoice a reminder is about:
        # 'invoice:12'; '' otherwise), written in the transaction that logs the message's
        # interaction: a run killed half-way and started again skips what was sent.
        f"""CREATE TABLE sends (
            id INTEGER PRIMARY KEY,
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            ref TEXT NOT NULL DEFAULT '',
            channel TEXT NOT NULL CHECK (channel IN {_in(CONSENT_CHANNELS)}),
            address TEXT,
            status TEXT NOT NULL CHECK (status IN {_in(SEND_STATUSES)}),
            reason TEXT,
            message_id TEXT,
            interaction_id INTEGER REFERENCES interactions(id) ON DELETE SET NULL,
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            at TEXT NOT NULL,
            UNIQUE (campaign_id, customer_id, ref)
        )""",
        "CREATE INDEX sends_customer ON sends (customer_id)",
        "CREATE INDEX sends_interaction ON sends (interaction_id) WHERE interaction_id IS NOT NULL",
        # A recommendation score: 0-6 detractors, 7-8 passives, 9-10 promoters.
        f"""CREATE TABLE nps_scores (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
            comment TEXT,
            at TEXT NOT NULL {date_time.format(col="at")},
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX nps_scores_customer ON nps_scores (customer_id, at)",
        "CREATE INDEX nps_scores_at ON nps_scores (at)",
    ]
    statements += audit_triggers("consents", CONSENT_COLUMNS)
    statements += audit_triggers("segments", SEGMENT_COLUMNS)
    statements += audit_triggers("templates", TEMPLATE_COLUMNS)
    statements += audit_triggers("campaigns", CAMPAIGN_COLUMNS)
    statements += audit_triggers("sends", SEND_COLUMNS)
    statements += audit_triggers("nps_scores", NPS_COLUMNS)
    for sql in statements:
        conn.execute(sql)


@migration
def m009_segment_indexes(conn: sqlite3.Connection) -> None:
    """Indexes for segments and RFM scores: a customer's deals by stage with currency, amount
    and close time (won value, won deals, RFM's per-customer sums read from the index alone,
    not the table), and a customer's closed tickets with their satisfaction (the last score)."""
    for sql in (
        "CREATE INDEX deals_customer_stage ON deals "
        "(customer_id, stage_id, currency, amount, closed_at)",
        "CREATE INDEX tickets_customer_closed ON tickets "
        "(customer_id, status, closed_at, satisfaction)",
    ):
        conn.execute(sql)


INTERACTION_COLUMNS_V10 = [*INTERACTION_COLUMNS_V8, "direction", "message_key"]


@migration
def m010_mail_intake(conn: sqlite3.Connection) -> None:
    """Mail in the timeline: an interaction may be an e-mail read from a mailbox, with its
    direction (``in`` from the customer, ``out`` from the seller) and the key that makes a
    second import of the same mailbox add nothing (its Message-ID, or a hash of its headers
    when it has none).  Added columns; the audit triggers gain them.  Leads gain the source
    ``email`` (a CHECK constraint: the table is rebuilt, :func:`rebuild_table`).

    The search index holds each customer's and lead's interactions in their row, rebuilt by a
    trigger on every interaction: adding n interactions to one record cost O(n²).  A row in
    ``search_paused`` (only ever inside a command's transaction) stops those triggers; the
    command then re-indexes each record it touched once (:mod:`crmcli.core.search_index`)."""
    rebuild_table(
        conn,
        "leads",
        lambda sql: sql.replace(
            f"source IN {_in(LEAD_SOURCES_V2)}", f"source IN {_in(LEAD_SOURCES)}"
        ),
    )
    for sql in (
        *(f"DROP TRIGGER interactions_audit_{a}" for a in ("insert", "update", "delete")),
        "ALTER TABLE interactions ADD COLUMN direction TEXT "
        "CHECK (direction IS NULL OR direction IN ('in', 'out'))",
        "ALTER TABLE interactions ADD COLUMN message_key TEXT "
        "CHECK (message_key IS NULL OR length(message_key) <= 1000)",
        "CREATE INDEX interactions_message_key ON interactions (message_key) "
        "WHERE message_key IS NOT NULL",
        *audit_triggers("interactions", INTERACTION_COLUMNS_V10),
        "CREATE TABLE search_paused (id INTEGER PRIMARY KEY CHECK (id = 1))",
    ):
        conn.execute(sql)
    for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'interactions' "
        "AND name IN ('interactions_fts_insert', 'interactions_fts_update', "
        "'interactions_fts_delete', 'interactions_lead_fts_insert', "
        "'interactions_lead_fts_update', 'interactions_lead_fts_delete')"
    ).fetchall():
        parts = re.fullmatch(r"(.*?) WHEN (.*?) (BEGIN .*)", sql, re.S)
        assert parts is not None, name
        head, when, body = parts.groups()
        conn.execute(f"DROP TRIGGER {name}")
        conn.execute(f"{head} WHEN ({when}) AND NOT EXISTS (SELECT 1 FROM search_paused) {body}")


@migration
def m011_interaction_search(conn: sqlite3.Connection) -> None:
    """Interactions get a search index of their own (``interactions_fts``, rowid = the
    interaction's id, its folded text), kept by triggers that touch one row per interaction
    written: adding an interaction costs the same whatever the record's history.  Until now
    each customer's and lead's row held all its interactions' text, rebuilt on every one
    (O(n) each, O(n²) for n).  Their ``activity`` column stays, empty; a search matches a
    word in the record's fields or in any of its interactions
    (:func:`crmcli.core.customers.search_condition`).  ``search_paused`` still stops the
    triggers (a pause left committed is what ``crm doctor`` reports and fixes)."""
    old = [
        f"{prefix}_fts_{action}"
        for prefix in ("interactions", "interactions_lead")
        for action in ("insert", "update", "delete")
    ]
    for name in old:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("DROP VIEW customers_search_doc")
    conn.execute("DROP VIEW leads_search_doc")
    paused = "WHEN NOT EXISTS (SELECT 1 FROM search_paused)"
    row = sql_fold("coalesce(new.body, '')")
    for sql in (
        f"CREATE VIEW customers_search_doc AS {customer_search_doc('c')} FROM customers c",
        f"CREATE VIEW leads_search_doc AS {lead_search_doc('l')} FROM leads l",
        """CREATE VIRTUAL TABLE interactions_fts USING fts5 (
            body,
            tokenize = 'unicode61 remove_diacritics 2'
        )""",
        f"CREATE TRIGGER interactions_index_insert AFTER INSERT ON interactions {paused} "
        f"BEGIN INSERT INTO interactions_fts (rowid, body) VALUES (new.id, {row}); END",
        f"CREATE TRIGGER interactions_index_update AFTER UPDATE OF id, body ON interactions "
        f"{paused} BEGIN DELETE FROM interactions_fts WHERE rowid = old.id; "
        f"INSERT INTO interactions_fts (rowid, body) VALUES (new.id, {row}); END",
        f"CREATE TRIGGER interactions_index_delete AFTER DELETE ON interactions {paused} "
        "BEGIN DELETE FROM interactions_fts WHERE rowid = old.id; END",
    ):
        conn.execute(sql)
    for fts in ("customers_fts", "leads_fts", "interactions_fts"):
        for sql in search_rebuild(fts):
            conn.execute(sql)
