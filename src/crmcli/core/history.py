"""The audit trail read back (``crm history``) and reverted (``crm undo``).

Every write command is a row in ``commands``; triggers copy each changed row's image before
and after the change into ``audit``, tagged with the command (see :mod:`crmcli.migrations`).

Undo works on a command's *net* effect on each row: the row's first ``before`` image in the
command and its last ``after`` image.  A row that did not exist before is deleted, a row that
no longer exists is inserted again from its image (same id, same uid), any other row is set
back to its first image.  It is set-based: per table one ``INSERT … SELECT``, one
``UPDATE … FROM`` and one ``DELETE … IN`` over the audit rows, whatever their number.  The
triggers record the undo's own changes (so the undo is a command in the history) and keep the
search index right.  An undone command points at its undo (``commands.undone_by``); undos are
not undone themselves, so a second ``crm undo`` reverts the command before.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from crmcli.db import Database
from crmcli.errors import CrmError, NotFound, UsageError

ENTITIES = (
    "customer",
    "lead",
    "deal",
    "ticket",
    "reminder",
    "stage",
    "setting",
    "quote",
    "invoice",
    "segment",
    "template",
    "campaign",
)
HISTORY_COLUMNS = (
    "id", "at", "command_id", "command", "undone_by", "undid", "entity", "entity_id", "table",
    "row_id", "record", "action", "changes",
)  # fmt: skip
IMAGE_COLUMNS = ("before", "after")
SHORT_TEXT = 60  # characters of a value shown in a change summary
_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
_NONE = "–"


class Table:
    """How an audited table reads in the history and how undo finds its rows.

    ``key``: the columns naming a row; ``by_row_id``: the audit ``row_id`` is ``key[0]``
    (``settings`` has a TEXT key: its row_id is the rowid).  ``owners``: (entity, column)
    pairs; a row belongs to the first whose column is set (an interaction belongs to its
    customer, else to its lead)."""

    __slots__ = ("name", "noun", "plural", "owners", "key", "by_row_id")

    def __init__(
        self,
        name: str,
        noun: str,
        plural: str,
        owners: tuple[tuple[str, str], ...],
        key: tuple[str, ...] = ("id",),
        by_row_id: bool = True,
    ) -> None:
        self.name, self.noun, self.plural, self.owners = name, noun, plural, owners
        self.key, self.by_row_id = key, by_row_id

    def owner(self, image: Mapping[str, Any]) -> tuple[str, Any]:
        for entity, column in self.owners:
            if image.get(column) is not None:
                return entity, image[column]
        entity, column = self.owners[0]
        return entity, image.get(column)


# Every audited table, parents before children: rows come back in this order and go away in
# the reverse one.  A test checks that it names every table with audit triggers.
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("settings", "setting", "settings", (("setting", "key"),), ("key",), False),
        Table("stages", "stage", "stages", (("stage", "id"),)),
        # Parents before children: undo removes rows in reverse order (a campaign after
        # the interactions that name it).
        Table("segments", "segment", "segments", (("segment", "id"),)),
        Table("templates", "template", "templates", (("template", "id"),)),
        Table("campaigns", "campaign", "campaigns", (("campaign", "id"),)),
        Table("customers", "customer", "customers", (("customer", "id"),)),
        Table("leads", "lead", "leads", (("lead", "id"),)),
        Table("deals", "deal", "deals", (("deal", "id"),)),
        Table(
            "interactions",
            "interaction",
            "interactions",
            (("customer", "customer_id"), ("lead", "lead_id")),
        ),
        Table(
            "customer_tags", "tag", "tags", (("customer", "customer_id"),), ("customer_id", "tag")
        ),
        Table("lead_tags", "lead tag", "lead tags", (("lead", "lead_id"),), ("lead_id", "tag")),
        Table(
            "lead_status_changes",
            "lead status change",
            "lead status changes",
            (("lead", "lead_id"),),
        ),
        Table("deal_items", "line item", "line items", (("deal", "deal_id"),)),
        Table("deal_stage_changes", "stage change", "stage changes", (("deal", "deal_id"),)),
        Table("tickets", "ticket", "tickets", (("ticket", "id"),)),
        Table("ticket_events", "ticket event", "ticket events", (("ticket", "ticket_id"),)),
        Table("reminders", "reminder", "reminders", (("reminder", "id"),)),
        Table("quotes", "quote", "quotes", (("quote", "id"),)),
        Table("quote_items", "quote line", "quote lines", (("quote", "quote_id"),)),
        Table("invoices", "invoice", "invoices", (("invoice", "id"),)),
        Table("payments", "payment", "payments", (("invoice", "invoice_id"),)),
        Table("consents", "consent", "consents", (("customer", "customer_id"),)),
        Table(
            "sends",
            "message sent",
            "messages sent",
            (("campaign", "campaign_id"), ("customer", "customer_id")),
        ),
        Table(
            "nps_scores",
            "recommendation score",
            "recommendation scores",
            (("customer", "customer_id"),),
        ),
    )
}


def table(name: str) -> Table:
    """The description of ``name``; a table this version does not know reads generically."""
    known = TABLES.get(name)
    if known is not None:
        return known
    noun = name.removesuffix("s").replace("_", " ")
    return Table(name, noun, name.replace("_", " "), ((noun, "id"),))


def _loads(text: str | None) -> dict[str, Any] | None:
    import json

    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None


def _argv(text: str | None) -> list[str] | None:
    import json

    if text is None:
        return None
    value = json.loads(text)
    return [str(v) for v in value] if isinstance(value, list) else None


def command_text(argv: Sequence[str] | None) -> str | None:
    """A command line as a shell would read it back."""
    import shlex

    return None if argv is None else shlex.join(argv)


# -- history ------------------------------------------------------------------------------

_HISTORY = """
SELECT a.id, a.command_id, a.table_name, a.row_id, a.action, a.before, a.after,
       c.at, c.argv, c.undone_by,
       (SELECT group_concat(u.id) FROM commands AS u WHERE u.undone_by = a.command_id) AS undid
FROM audit AS a LEFT JOIN commands AS c ON c.id = a.command_id
"""


def _entity_filter(entity: str, entity_id: int | None) -> tuple[str, list[Any]]:
    """SQL (on ``audit AS a``) for the rows of one entity, or of one record of it: the
    record's own row and every row whose image points at it (``customer_id = 42``: its tags,
    interactions, deals, tickets, reminders)."""
    if entity not in ENTITIES:
        raise UsageError(f"unknown entity {entity!r}; choose one of {', '.join(ENTITIES)}")
    conditions: list[str] = []
    params: list[Any] = []
    if entity_id is not None:
        if entity == "setting":
            raise UsageError("--id: settings have names, not ids; use --entity setting")
        for t in TABLES.values():
            if (entity, "id") in t.owners:
                conditions.append("(a.table_name = ? AND a.row_id = ?)")
                params += [t.name, entity_id]
        link = f"'$.{entity}_id'"
        conditions.append(f"json_extract(a.before, {link}) = ?")
        conditions.append(f"json_extract(a.after, {link}) = ?")
        params += [entity_id, entity_id]
    else:
        image = "coalesce(a.after, a.before)"
        for t in TABLES.values():
            for i, (owner, column) in enumerate(t.owners):
                if owner != entity:
                    continue
                # The first owner whose column is set (as Table.owner decides; the first
                # one when none is).
                tests = [f"json_extract({image}, '$.{c}') IS NULL" for _, c in t.owners[:i]]
                if len(t.owners) > 1:
                    mine = f"json_extract({image}, '$.{column}') IS NOT NULL"
                    if i == 0:
                        rest = " AND ".join(
                            f"json_extract({image}, '$.{c}') IS NULL" for _, c in t.owners[1:]
                        )
                        mine = f"({mine} OR ({rest}))"
                    tests.append(mine)
                conditions.append("(a.table_name = ?" + "".join(f" AND {x}" for x in tests) + ")")
                params.append(t.name)
    return "(" + " OR ".join(conditions) + ")", params


def history(
    db: Database,
    *,
    limit: int | None = None,
    entity: str | None = None,
    entity_id: int | None = None,
    command_id: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Audit rows, newest first, as plain records (``HISTORY_COLUMNS`` plus the ``before``
    and ``after`` images as dicts).  Bad filters raise here, before any row is read."""
    if entity_id is not None and entity is None:
        raise UsageError("--id needs --entity (customer, lead, deal, ticket, reminder …)")
    if (
        command_id is not None
        and db.scalar("SELECT 1 FROM commands WHERE id = ?", (command_id,)) is None
    ):
        raise NotFound("command", command_id)
    conditions: list[str] = []
    params: list[Any] = []
    if entity is not None:
        sql, args = _entity_filter(entity, entity_id)
        conditions.append(sql)
        params += args
    if command_id is not None:
        conditions.append("a.command_id = ?")
        params.append(command_id)
    sql = _HISTORY
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    sql += " ORDER BY a.id DESC LIMIT ?"
    params.append(-1 if limit is None else limit)
    return _entries(db, sql, params)


class Invoices:
    """The number and currency of invoices, read when a payment's history needs them (the
    payment row holds neither); an invoice deleted since is found in its last audit image."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.known: dict[int, tuple[str, str] | None] = {}

    def __call__(self, invoice_id: Any) -> tuple[str, str] | None:
        if not isinstance(invoice_id, int):
            return None
        if invoice_id not in self.known:
            row = self.db.one(
                "SELECT number, currency FROM invoices WHERE id = ?", (invoice_id,)
            ) or self.db.one(
                "SELECT json_extract(before, '$.number') AS number, "
                "json_extract(before, '$.currency') AS currency FROM audit "
                "WHERE table_name = 'invoices' AND row_id = ? AND before IS NOT NULL "
                "ORDER BY id DESC LIMIT 1",
                (invoice_id,),
            )
            found = None
            if row is not None and row["number"] is not None:
                found = (str(row["number"]), str(row["currency"]))
            self.known[invoice_id] = found
        return self.known[invoice_id]


def _entries(db: Database, sql: str, params: Sequence[Any]) -> Iterator[dict[str, Any]]:
    stages: dict[int, str] | None = None
    invoices = Invoices(db)
    for row in db.query(sql, params):
        if stages is None:
            stages = {int(r["id"]): str(r["name"]) for r in db.query("SELECT id, name FROM stages")}
        yield entry(row, stages, invoices)


def entry(
    row: Mapping[str, Any], stages: Mapping[int, str], invoices: Invoices | None = None
) -> dict[str, Any]:
    """One audit row as a history record."""
    t = table(row["table_name"])
    before, after = _loads(row["before"]), _loads(row["after"])
    image = after or before or {}
    entity, entity_id = t.owner(image)
    action = row["action"]
    if action == "update" and before is not None and after is not None:
        changes = describe_update(t, before, after, stages)
    elif t.name == "payments":
        changes = _payment(image, invoices)
    else:
        changes = summary(t, image, stages)
    undid = row["undid"]
    return {
        "id": row["id"],
        "at": row["at"],
        "command_id": row["command_id"],
        "command": command_text(_argv(row["argv"])),
        "undone_by": row["undone_by"],
        "undid": sorted(int(x) for x in str(undid).split(",")) if undid else [],
        "entity": entity,
        "entity_id": entity_id,
        "table": t.name,
        "row_id": row["row_id"],
        "record": record_label(t, image, row["row_id"]),
        "action": action,
        "changes": changes,
        "before": before,
        "after": after,
    }


def short(value: Any, limit: int = SHORT_TEXT) -> str:
    """A value on one short line."""
    if value is None:
        return _NONE
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def record_label(t: Table, image: Mapping[str, Any], row_id: Any = None) -> str:
    """``interaction 12``, ``tag vip``, ``setting currency``."""
    if t.name in ("customer_tags", "lead_tags"):
        return f"{t.noun} {short(image.get('tag'))}"
    if t.name == "consents":
        return f"{t.noun} {short(image.get('channel'))}"
    if not t.by_row_id:
        return f"{t.noun} {short(image.get(t.key[0]))}"
    ident = image.get(t.key[0], row_id)
    return f"{t.noun} {ident}"


def _stage(stages: Mapping[int, str], value: Any) -> str:
    if value is None:
        return _NONE
    return stages.get(value, str(value)) if isinstance(value, int) else str(value)


def summary(t: Table, image: Mapping[str, Any], stages: Mapping[int, str]) -> str:
    """What an added or deleted row was, in a few words."""
    get = image.get
    name = t.name
    if name in ("customers", "leads", "stages"):
        text = short(get("name"))
    elif name == "deals":
        text = short(get("title"))
    elif name == "tickets":
        text = short(get("subject"))
    elif name == "reminders":
        text = short(get("text"))
    elif name == "interactions":
        text = f"{get('type')}: {short(get('body'))}"
    elif name in ("customer_tags", "lead_tags"):
        text = short(get("tag"))
    elif name == "settings":
        text = f"{get('key')} = {short(get('value'))}"
    elif name in ("deal_items", "quote_items"):
        text = f"{short(get('product'))} × {get('quantity')}"
    elif name == "quotes":
        text = _quote_summary(image)
    elif name == "invoices":
        text = f"{short(get('number'))}: {_shown('amount', get('amount'), image, stages)}"
        if get("installments"):
            text += f" (installment {get('installment')} of {get('installments')})"
        text += f", due {get('due_date')}"
    elif name == "consents":
        text = _consent(image)
    elif name == "nps_scores":
        text = f"{get('score')}" + (f": {short(get('comment'))}" if get("comment") else "")
    elif name == "sends":
        text = f"{get('status')} to {short(get('address'))}"
        if get("reason"):
            text += f" ({short(get('reason'))})"
    elif name == "deal_stage_changes":
        text = f"{_stage(stages, get('from_stage_id'))} → {_stage(stages, get('to_stage_id'))}"
    elif name == "lead_status_changes":
        text = f"{short(get('from_status'))} → {short(get('to_status'))}"
    elif name == "ticket_events":
        if get("body"):
            text = f"{get('kind')}: {short(get('body'))}"
        else:
            text = f"{get('kind')}: {short(get('from_value'))} → {short(get('to_value'))}"
    else:
        text = short(get("name") or get("title") or get("text") or "")
    return text


def _consent(image: Mapping[str, Any]) -> str:
    """``yes (signed form)``."""
    source = image.get("source")
    return f"{short(image.get('status'))}" + (f" ({short(source)})" if source else "")


def _quote_summary(image: Mapping[str, Any]) -> str:
    """``Q-2026-0007 v2 for deal 12: 4,843,200 VND, open``."""
    number, version = image.get("number"), image.get("version")
    label = f"{short(number)} v{version}" if version not in (None, 1) else short(number)
    total = _shown("amount", image.get("total"), image, {})
    return f"{label} for deal {image.get('deal_id')}: {total}, {short(image.get('status'))}"


def _payment(image: Mapping[str, Any], invoices: Invoices | None) -> str:
    """``500.00 EUR on INV-2026-0007, paid 2026-11-20T03:00:00Z by cash``."""
    invoice = invoices(image.get("invoice_id")) if invoices is not None else None
    if invoice is None:
        text = f"{image.get('amount')} (minor units) on invoice {image.get('invoice_id')}"
    else:
        number, currency = invoice
        amount = _shown("amount", image.get("amount"), {"currency": currency}, {})
        text = f"{amount} on {short(number)}"
    from crmcli.dates import format_local

    paid_at = image.get("paid_at")
    text += f", paid {format_local(paid_at) if isinstance(paid_at, str) else _NONE}"
    if image.get("method"):
        text += f" by {short(image.get('method'))}"
    return text


def _shown(key: str, value: Any, image: Mapping[str, Any], stages: Mapping[int, str]) -> str:
    if value is not None and key == "amount" and isinstance(value, int) and image.get("currency"):
        from crmcli.money import format_money

        try:
            return format_money(value, str(image["currency"]))
        except (CrmError, KeyError):  # an image from before a currency was known
            return str(value)
    if key.endswith("stage_id"):
        return _stage(stages, value)
    return short(value)


def describe_update(
    t: Table, before: Mapping[str, Any], after: Mapping[str, Any], stages: Mapping[int, str]
) -> str:
    """``field: before → after`` for each changed field (``updated_at`` only when nothing
    else changed); consent reads ``yes → no (unsubscribe link)``."""
    if t.name == "consents":
        return f"{short(before.get('status'))} → {_consent(after)}"
    changed = [k for k in after if before.get(k) != after.get(k)]
    shown = [k for k in changed if k != "updated_at"] or changed
    parts = []
    for key in shown:
        label = key.removesuffix("_id") if key.endswith("stage_id") else key
        old = _shown(key, before.get(key), before, stages)
        new = _shown(key, after.get(key), after, stages)
        parts.append(f"{label}: {old} → {new}")
    return "; ".join(parts) or "no change"


# -- undo ---------------------------------------------------------------------------------


class UndoRefused(CrmError):
    """Undo would not restore what the command changed; nothing was changed."""


KINDS = (("restored", "restored"), ("removed", "removed"), ("changed", "changed back"))


class UndoStep:
    """One command to revert, with what reverting it does: ``counts[(table, kind)]`` rows
    restored (deleted by the command), removed (added by it) or changed back."""

    __slots__ = ("command_id", "at", "argv", "counts")

    def __init__(self, command_id: int, at: str, argv: list[str]) -> None:
        self.command_id, self.at, self.argv = command_id, at, argv
        self.counts: dict[tuple[str, str], int] = {}

    @property
    def command(self) -> str:
        return command_text(self.argv) or ""

    def summary(self) -> str:
        """``1 customer, 2 interactions restored; 1 tag removed``."""
        names = [*TABLES, *sorted({t for t, _ in self.counts} - TABLES.keys())]
        parts = []
        for kind, verb in KINDS:
            items = []
            for name in names:
                count = self.counts.get((name, kind))
                if count:
                    t = table(name)
                    items.append(f"{count} {t.noun if count == 1 else t.plural}")
            if items:
                parts.append(f"{', '.join(items)} {verb}")
        return "; ".join(parts) or "nothing left to change"


def _row_key_sql() -> tuple[str, str]:
    """SQL for the two parts of a row's key in an audit row (``a``): the row_id, or the
    key column from the image for tables not keyed by it; the second key column."""
    image = "coalesce(a.after, a.before)"
    first = " ".join(
        f"WHEN '{t.name}' THEN json_extract({image}, '$.{t.key[0]}')"
        for t in TABLES.values()
        if not t.by_row_id
    )
    second = " ".join(
        f"WHEN '{t.name}' THEN json_extract({image}, '$.{t.key[1]}')"
        for t in TABLES.values()
        if len(t.key) > 1
    )
    return f"CASE a.table_name {first} ELSE a.row_id END", f"CASE a.table_name {second} END"


_K1, _K2 = _row_key_sql()

# Per row a command touched: its first image before and last image after, and so what undo
# does to it.  One pass over the command's audit rows, grouped by SQLite.
_NET = f"""
SELECT g.table_name AS tbl, g.k1, g.k2, l.row_id,
       CASE WHEN f.before IS NULL THEN CASE WHEN l.after IS NOT NULL THEN 'removed' END
            WHEN l.after IS NULL THEN 'restored'
            WHEN f.before IS NOT l.after THEN 'changed' END AS kind,
       f.before AS image
FROM (SELECT a.table_name, {_K1} AS k1, {_K2} AS k2, min(a.id) AS first, max(a.id) AS last
      FROM audit AS a WHERE a.command_id = ? GROUP BY 1, 2, 3) AS g
JOIN audit AS f ON f.id = g.first
JOIN audit AS l ON l.id = g.last
"""

# Commands undo passes over: forgetting a person erases their data from the rows and from
# every audit image (older commands' too), for good; run_forget records its argv as exactly
# ``crm customer|lead forget ID``.  Undo never crosses one: an older command that wrote any
# row of the forgotten person is refused (see _check_forgotten); other commands, older or
# newer, are undone as usual.
IRREVERSIBLE = (("customer", "forget"), ("lead", "forget"))


def _irreversible_sql(alias: str) -> str:
    return " OR ".join(
        f"(json_extract({alias}.argv, '$[1]') IS '{group}' "
        f"AND json_extract({alias}.argv, '$[2]') IS '{verb}')"
        for group, verb in IRREVERSIBLE
    )


def irreversible(argv: Sequence[str]) -> bool:
    """Whether the command ``argv`` (as recorded, ``crm`` first) cannot be undone."""
    return tuple(argv[1:3]) in IRREVERSIBLE


# Commands newer than ``?`` with changes that stand: not undone, not an undo themselves.
_STANDING = """
SELECT c.id, c.at, c.argv FROM commands AS c
WHERE c.undone_by IS NULL
  AND NOT EXISTS (SELECT 1 FROM commands AS u WHERE u.undone_by = c.id)
  AND EXISTS (SELECT 1 FROM audit AS a WHERE a.command_id = c.id)
  AND c.id > ?
"""
_UNDOABLE = f"{_STANDING} AND NOT ({_irreversible_sql('c')}) ORDER BY c.id DESC LIMIT ?"
_PASSED_OVER = f"{_STANDING} AND ({_irreversible_sql('c')}) ORDER BY c.id DESC"

# Commands whose changes are settled: undone ones, the undos that reverted them, and the
# irreversible ones.
_SETTLED = (
    "SELECT id FROM commands WHERE undone_by IS NOT NULL "
    "UNION SELECT undone_by FROM commands WHERE undone_by IS NOT NULL "
    f"UNION SELECT id FROM commands AS i WHERE {_irreversible_sql('i')}"
)


def _step(row: Mapping[str, Any]) -> UndoStep:
    return UndoStep(int(row["id"]), str(row["at"]), _argv(row["argv"]) or [])


def plan(db: Database, *, steps: int = 1, command_id: int | None = None) -> list[UndoStep]:
    """The commands ``undo`` would revert, newest first, with what it would do; raises
    :class:`UndoRefused` (changing nothing) when a command cannot be undone."""
    if command_id is not None:
        todo = [_one_command(db, command_id)]
        _check_forgotten(db, todo)
    else:
        if steps < 1:
            raise UsageError("--steps must be at least 1")
        todo = [_step(r) for r in db.query(_UNDOABLE, (0, steps))]
        if not todo:
            raise UndoRefused("nothing to undo")
        _check_forgotten(db, todo)  # before the count: the forget is the real reason
        if len(todo) < steps:
            raise UndoRefused(
                f"--steps {steps}: only {len(todo)} command{'s' if len(todo) != 1 else ''} "
                f"can be undone; nothing was changed"
            )
    batch = [s.command_id for s in todo]
    for step in todo:
        for row in db.query(
            f"SELECT tbl, kind, count(*) AS n FROM ({_NET}) WHERE kind IS NOT NULL "
            "GROUP BY tbl, kind",
            (step.command_id,),
        ):
            step.counts[(row["tbl"], row["kind"])] = int(row["n"])
        _check_later_changes(db, step, batch)
    return todo


def passed_over(db: Database, todo: Sequence[UndoStep]) -> list[UndoStep]:
    """The irreversible commands newer than the oldest of ``todo`` that undo leaves as
    they are."""
    if not todo:
        return []
    oldest = min(s.command_id for s in todo)
    return [_step(r) for r in db.query(_PASSED_OVER, (oldest,))]


def _one_command(db: Database, command_id: int) -> UndoStep:
    row = db.one("SELECT id, at, argv, undone_by FROM commands WHERE id = ?", (command_id,))
    if row is None:
        raise NotFound("command", command_id)
    step = _step(row)
    what = f"command {command_id} (`{step.command}`)"
    if row["undone_by"] is not None:
        raise UndoRefused(f"{what} was already undone by command {row['undone_by']}")
    if irreversible(step.argv):
        raise UndoRefused(f"{what} cannot be undone: forgetting erases the data for good")
    if db.scalar("SELECT 1 FROM commands WHERE undone_by = ? LIMIT 1", (command_id,)):
        raise UndoRefused(f"{what} is an undo; an undo is not undone (there is no redo)")
    if db.scalar("SELECT 1 FROM audit WHERE command_id = ? LIMIT 1", (command_id,)) is None:
        raise UndoRefused(f"{what} changed nothing; there is nothing to undo")
    return step


def _check_forgotten(db: Database, todo: Sequence[UndoStep]) -> None:
    """Refuse when a command of ``todo`` wrote a row of a person that a later forget erased
    (their rows now, and those deleted before, as forget finds them): reverting it would
    put back anonymised rows as they were, or take away the figures forget keeps."""
    if not todo:
        return
    oldest = min(s.command_id for s in todo)
    forgets = [
        (int(r["id"]), _argv(r["argv"]) or [])
        for r in db.query(
            f"SELECT c.id, c.argv FROM commands AS c WHERE c.id > ? AND ({_irreversible_sql('c')})"
            " ORDER BY c.id",
            (oldest,),
        )
    ]
    if not forgets:
        return
    from crmcli.core.privacy import forgotten_rows

    erased: list[tuple[int, str, dict[str, set[int]]]] = []
    for forget_id, argv in forgets:
        entity, ident = argv[1], argv[3] if len(argv) > 3 else ""
        if not (ident.isascii() and ident.isdigit() and len(ident) < 19):
            continue
        erased.append((forget_id, f"{entity} {ident}", forgotten_rows(db, entity, int(ident))))
    for step in todo:
        written = db.conn.execute(
            "SELECT DISTINCT table_name, row_id FROM audit WHERE command_id = ?",
            (step.command_id,),
        ).fetchall()
        for forget_id, who, rows in erased:
            if forget_id < step.command_id:
                continue
            if any(row_id in rows.get(name, ()) for name, row_id in written):
                raise UndoRefused(
                    f"cannot undo command {step.command_id} ({command_text(step.argv[1:])}): "
                    f"{who} was forgotten later by command {forget_id}; nothing was undone"
                )


def _check_later_changes(db: Database, step: UndoStep, batch: Sequence[int]) -> None:
    """Refuse when a row the command changed was changed again later by a command that
    still stands (not undone, not an undo, not undone in this same batch), or outside
    crm."""
    last = db.scalar("SELECT max(id) FROM audit WHERE command_id = ?", (step.command_id,))
    keyed = [t for t in TABLES.values() if not t.by_row_id]
    # The same row: the same table and row_id (the index answers it), or for a table with a
    # TEXT key (settings) the same key in the images.
    same_row = [
        f"(later.table_name NOT IN ({', '.join('?' * len(keyed)) or 'NULL'}) "
        "AND EXISTS (SELECT 1 FROM audit AS mine INDEXED BY audit_row "
        "WHERE mine.table_name = later.table_name AND mine.row_id = later.row_id "
        "AND mine.command_id = ?))"
    ]
    same_params: list[Any] = [*(t.name for t in keyed), step.command_id]
    for t in keyed:
        path = f"'$.{t.key[0]}'"
        same_row.append(
            "(later.table_name = ? AND EXISTS (SELECT 1 FROM audit AS mine "
            "WHERE mine.command_id = ? AND mine.table_name = later.table_name "
            f"AND json_extract(coalesce(mine.after, mine.before), {path}) "
            f"= json_extract(coalesce(later.after, later.before), {path})))"
        )
        same_params += [t.name, step.command_id]
    marks = ", ".join("?" * len(batch))
    sql = (
        "SELECT later.id, later.command_id, later.table_name, later.row_id, later.before, "
        "later.after, c.argv FROM audit AS later "
        "LEFT JOIN commands AS c ON c.id = later.command_id "
        "WHERE later.id > ? "
        f"AND (later.command_id IS NULL OR (later.command_id NOT IN ({marks}) "
        f"AND later.command_id NOT IN ({_SETTLED}))) "
        f"AND ({' OR '.join(same_row)}) "
        "ORDER BY later.id LIMIT 1"
    )
    params = [last, *batch, *same_params]
    found = db.one(sql, params)
    if found is None:
        return
    t = table(found["table_name"])
    image = _loads(found["after"]) or _loads(found["before"]) or {}
    what = _row_text(t, image, found["row_id"])
    head = f"cannot undo `{step.command}` (command {step.command_id}): {what} was changed later"
    if found["command_id"] is None:
        raise UndoRefused(
            f"{head} outside crm (audit row {found['id']}), which crm cannot undo; "
            "nothing was changed"
        )
    later = command_text(_argv(found["argv"]))
    raise UndoRefused(
        f"{head} by `{later}` (command {found['command_id']}); undo that first "
        f"(crm undo --command {found['command_id']})"
    )


def _row_text(t: Table, image: Mapping[str, Any], row_id: Any) -> str:
    """``customer 3``, ``interaction 12 of customer 3``."""
    label = record_label(t, image, row_id)
    entity, ident = t.owner(image)
    if t.owners[0][1] == "id" or ident is None:
        return label
    return f"{label} of {entity} {ident}"


def undo(
    db: Database,
    *,
    steps: int = 1,
    command_id: int | None = None,
    expected: Sequence[int] | None = None,
) -> list[UndoStep]:
    """Revert the last ``steps`` commands not undone (or the one ``command_id``), newest
    first, in one transaction that is itself recorded as a command; marks them undone.
    ``expected``: the command ids a :func:`plan` shown to the user listed; if another
    process has written since, refuse rather than undo something else."""
    todo: list[UndoStep] = []
    current: list[UndoStep] = []  # the step being reverted; all of them at the commit
    try:
        with db.write():
            db.execute("PRAGMA defer_foreign_keys = ON")  # rows come back in any order
            todo = plan(db, steps=steps, command_id=command_id)
            if expected is not None and [s.command_id for s in todo] != list(expected):
                raise UndoRefused(
                    "the history changed while you were deciding; nothing was changed: "
                    "run crm undo again"
                )
            me = db.scalar("SELECT command_id FROM active_command")
            _prepare_ops(db)
            for step in todo:
                current = [step]
                _revert(db, step)
                _refresh_sort_keys(db)
            current = todo  # the foreign keys are checked at the commit
            db.executemany(
                "UPDATE commands SET undone_by = ? WHERE id = ?",
                [(me, s.command_id) for s in todo],
            )
            db.execute("DROP TABLE temp.undo_ops")
    except sqlite3.IntegrityError as exc:
        what = ", ".join(f"`{s.command}` (command {s.command_id})" for s in current) or "it"
        raise UndoRefused(
            f"cannot undo {what}: the rows it would restore clash with later changes "
            f"({exc}); nothing was changed"
        ) from exc
    return todo


def _refresh_sort_keys(db: Database) -> None:
    """Rows restored or set back from their images get their sort keys computed again: the
    keys are derived from the text and not part of the images."""
    from crmcli.core import customers, leads

    for name, refresh in (
        ("customers", customers.refresh_sort_keys),
        ("leads", leads.refresh_sort_keys),
    ):
        ids = [
            int(r[0])
            for r in db.conn.execute(
                "SELECT row_id FROM temp.undo_ops "
                "WHERE tbl = ? AND kind IN ('restored', 'changed')",
                (name,),
            )
        ]
        if ids and _columns(db, name).count("sort_name"):
            refresh(db, ids)


def _prepare_ops(db: Database) -> None:
    db.execute(
        "CREATE TEMP TABLE IF NOT EXISTS undo_ops "
        "(tbl TEXT NOT NULL, k1, k2, row_id INTEGER, kind TEXT NOT NULL, image TEXT)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS temp.undo_ops_kind ON undo_ops (tbl, kind)")
    db.execute("DELETE FROM temp.undo_ops")


def _columns(db: Database, name: str) -> list[str]:
    return [str(r[1]) for r in db.conn.execute(f'PRAGMA table_info("{name}")')]


def _image_columns(db: Database, t: Table, kind: str) -> list[str]:
    """The columns to write back: those of the images that the table still has."""
    image = _loads(
        db.scalar(
            "SELECT image FROM temp.undo_ops WHERE tbl = ? AND kind = ? LIMIT 1", (t.name, kind)
        )
    )
    if image is None:
        return []
    current = set(_columns(db, t.name))
    return [c for c in image if c in current and _NAME.match(c)]


def _revert(db: Database, step: UndoStep) -> None:
    """Undo one command: rows it deleted come back (parents first), rows it changed are set
    back, rows it added go (children first).  Every statement covers all rows of a table."""
    mark = db.scalar("SELECT coalesce(max(id), 0) FROM audit")
    db.execute("DELETE FROM temp.undo_ops")
    db.execute(
        "INSERT INTO temp.undo_ops (tbl, k1, k2, row_id, kind, image) "
        f"SELECT tbl, k1, k2, row_id, kind, image FROM ({_NET}) WHERE kind IS NOT NULL",
        (step.command_id,),
    )
    present = {str(r[0]) for r in db.conn.execute("SELECT DISTINCT tbl FROM temp.undo_ops")}
    names = [n for n in TABLES if n in present] + sorted(present - TABLES.keys())
    missing = [n for n in names if not _columns(db, n)]  # a table a later version dropped
    if missing:
        raise UndoRefused(
            f"cannot undo `{step.command}`: table {missing[0]} no longer exists; "
            "nothing was changed"
        )
    _check_moved(db, step)
    ordered = [table(n) for n in names]
    for t in ordered:
        _restore(db, t)
    for t in ordered:
        _change_back(db, t)
    for t in reversed(ordered):
        _remove(db, t)
    expected = db.scalar("SELECT count(*) FROM temp.undo_ops")
    made = db.scalar("SELECT count(*) FROM audit WHERE id > ?", (mark,))
    if made != expected:
        raise UndoRefused(_side_effect(db, step, mark))


# Columns a later migration moved into other rows: setting a row back cannot restore them,
# so an older command that changed them is refused.  table -> (columns, what they were).
MOVED_COLUMNS = {
    "deals": (
        ("payment_due", "paid_at"),
        "a deal's payment due date or paid mark, which are invoices since the upgrade "
        "(use crm invoice and crm payment)",
    ),
}


def _check_moved(db: Database, step: UndoStep) -> None:
    for name, (columns, what) in MOVED_COLUMNS.items():
        if set(columns) & set(_columns(db, name)):
            continue
        differs = " OR ".join(
            f"json_extract(before, '$.{c}') IS NOT json_extract(after, '$.{c}')" for c in columns
        )
        changed = db.scalar(
            f"SELECT 1 FROM audit WHERE command_id = ? AND table_name = ? AND ({differs}) LIMIT 1",
            (step.command_id, name),
        )
        if changed:
            raise UndoRefused(
                f"cannot undo `{step.command}`: it changed {what}; nothing was changed"
            )


def _q(name: str) -> str:
    """An SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def _value(alias: str, column: str) -> str:
    return f"json_extract({alias}.image, '$.{column}')"


def _restore(db: Database, t: Table) -> None:
    """Insert again every row of ``t`` the command deleted, from its image."""
    cols = _image_columns(db, t, "restored")
    if not cols:
        return
    names = ", ".join(_q(c) for c in cols)
    values = ", ".join(_value("o", c) for c in cols)
    if not t.by_row_id:  # its audit row_id is the rowid: the row gets it back too
        names, values = f"rowid, {names}", f"o.row_id, {values}"
    db.execute(
        f"INSERT INTO {_q(t.name)} ({names}) SELECT {values} FROM temp.undo_ops AS o "
        "WHERE o.tbl = ? AND o.kind = 'restored' ORDER BY o.rowid",
        (t.name,),
    )


def _change_back(db: Database, t: Table) -> None:
    """Set every row of ``t`` the command changed back to its first image."""
    cols = [c for c in _image_columns(db, t, "changed") if c not in t.key]
    if not cols:
        return
    sets = ", ".join(f"{_q(c)} = {_value('o', c)}" for c in cols)
    match = " AND ".join(f"{_q(t.name)}.{_q(k)} = o.k{i + 1}" for i, k in enumerate(t.key))
    db.execute(
        f"UPDATE {_q(t.name)} SET {sets} FROM temp.undo_ops AS o "
        f"WHERE o.tbl = ? AND o.kind = 'changed' AND {match}",
        (t.name,),
    )


def _remove(db: Database, t: Table) -> None:
    """Delete every row of ``t`` the command added."""
    keys = ", ".join(_q(k) for k in t.key)
    target = keys if len(t.key) == 1 else f"({keys})"
    parts = ", ".join(f"k{i + 1}" for i in range(len(t.key)))
    db.execute(
        f"DELETE FROM {_q(t.name)} WHERE {target} IN "
        f"(SELECT {parts} FROM temp.undo_ops WHERE tbl = ? AND kind = 'removed')",
        (t.name,),
    )


def _side_effect(db: Database, step: UndoStep, mark: int) -> str:
    """Why the undo of ``step`` changed more (or fewer) rows than the command did."""
    head = f"cannot undo `{step.command}` (command {step.command_id})"
    found = db.one(
        "SELECT a.table_name, a.row_id, a.action, a.before, a.after FROM audit AS a "
        "WHERE a.id > ? AND NOT EXISTS (SELECT 1 FROM temp.undo_ops AS o "
        "WHERE o.tbl = a.table_name AND o.row_id = a.row_id) ORDER BY a.id LIMIT 1",
        (mark,),
    )
    if found is None:
        return f"{head}: some of its rows were changed since; nothing was changed"
    t = table(found["table_name"])
    image = _loads(found["before"]) or _loads(found["after"]) or {}
    verb = {"insert": "add", "update": "change", "delete": "delete"}[found["action"]]
    return (
        f"{head}: it would also {verb} {_row_text(t, image, found['row_id'])}, which a later "
        "change depends on; nothing was changed"
    )
