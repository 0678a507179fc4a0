"""``crm history`` and ``crm undo``: the audit trail of every write, and reverting commands."""

from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Annotated, Any

import typer

from crmcli.cli.options import FormatOpt, RawOpt, YesOpt, confirm, database, fmt_of, info

history_app = typer.Typer(rich_markup_mode=None)
undo_app = typer.Typer(rich_markup_mode=None)

TABLE_COLUMNS = ("at", "command", "record", "action", "changes")
DEFAULT_LIMIT = 20


class Entity(StrEnum):
    customer = "customer"
    lead = "lead"
    deal = "deal"
    ticket = "ticket"
    reminder = "reminder"
    stage = "stage"
    setting = "setting"
    quote = "quote"
    invoice = "invoice"
    segment = "segment"
    template = "template"
    campaign = "campaign"


def _for_table(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """History rows as a person reads them: local time, the command with its id (undone
    ones marked), the record with the one it belongs to."""
    from crmcli.dates import format_local

    for row in rows:
        row["at"] = format_local(row["at"]) if row["at"] else ""
        command = row["command"] or "(outside crm)"
        if row["undone_by"] is not None:
            command += f"  [undone by #{row['undone_by']}]"
        if row["undid"]:
            command += "  [undid " + ", ".join(f"#{n}" for n in row["undid"]) + "]"
        if row["command_id"] is not None:
            command = f"#{row['command_id']} {command}"
        row["command"] = command
        owner = f"{row['entity']} {row['entity_id']}"
        if row["record"] != owner:
            row["record"] = f"{row['record']} ({owner})"
        yield row


@history_app.command("history")
def history(
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            min=0,
            help=f"Show at most N changes (default {DEFAULT_LIMIT}; 0: all).",
            show_default=False,
        ),
    ] = None,
    entity: Annotated[
        Entity | None,
        typer.Option(
            "--entity",
            case_sensitive=False,
            help="Only changes of this kind of record (with --id: of one record).",
            show_default=False,
        ),
    ] = None,
    id_: Annotated[
        int | None,
        typer.Option(
            "--id",
            help="With --entity: one record and the rows that belong to it (a customer's "
            "tags, interactions, deals …).",
            show_default=False,
        ),
    ] = None,
    command: Annotated[
        int | None,
        typer.Option("--command", help="Only the changes of this command.", show_default=False),
    ] = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """Show the audit trail, newest first: when, which command, what changed.

    An update shows its changed fields (field: before → after); an added or deleted record
    a short summary.  JSON also has the full before and after images.  Undone commands are
    marked; `crm undo` reverts the last one.

    Example: crm history --entity customer --id 42 --limit 50
    """
    from crmcli.core import history as core
    from crmcli.render import emit

    out = fmt_of(fmt)
    db = database()
    wanted = DEFAULT_LIMIT if limit is None else limit
    hint = out == "table" and limit is None  # say so when the default cut the list
    rows: Iterable[dict[str, Any]] = core.history(
        db,
        limit=(wanted + 1 if hint else wanted) or None,
        entity=entity.value if entity is not None else None,
        entity_id=id_,
        command_id=command,
    )
    columns: tuple[str, ...] = core.HISTORY_COLUMNS
    if out in ("json", "jsonl"):
        columns = (*columns, *core.IMAGE_COLUMNS)
    if out == "table":
        shown = list(rows)
        if hint and len(shown) > wanted:
            shown = shown[:wanted]
            info(f"showing the newest {wanted}; use --limit 0 for all")
        rows = _for_table(shown)
    emit(rows, columns, out, table_columns=TABLE_COLUMNS, raw=raw, empty_message="no changes",
         keep=("at", "record"), drop=("action", "command"))  # fmt: skip


def _describe(step: Any) -> str:
    from crmcli.dates import format_local

    return f"`{step.command}` ({format_local(step.at)}): {step.summary()}"


@undo_app.command("undo")
def undo(
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            "-n",
            min=1,
            help="Undo the last N commands (default 1), newest first.",
            show_default=False,
        ),
    ] = None,
    command: Annotated[
        int | None,
        typer.Option(
            "--command",
            help="Undo this one command (an id from crm history), if no later command "
            "changed the same records.",
            show_default=False,
        ),
    ] = None,
    yes: YesOpt = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be undone; change nothing.")
    ] = False,
) -> None:
    """Undo the last command that changed something (or the last N), as a whole.

    Deleted records come back with their ids, added ones go, changed ones get their old
    values.  Refused, changing nothing, when a later command changed the same records.  The
    undo is recorded too: a second crm undo undoes the command before.  Asks on a terminal;
    scripts pass --yes.

    Example: crm undo --dry-run
    """
    from crmcli.core import history as core
    from crmcli.errors import UsageError

    if steps is not None and command is not None:
        raise UsageError("use --steps or --command, not both")
    db = database()
    expected = None
    if dry_run or not yes:  # with --yes, the undo plans (and checks) in its transaction
        todo = core.plan(db, steps=steps or 1, command_id=command)
        verb = "Would undo" if dry_run else "To undo:"
        for step in todo:
            info(f"{verb} {_describe(step)}")
        _mention_passed_over(db, todo)
        if dry_run:
            info("Nothing changed (dry run).")
            return
        question = f"Undo `{todo[0].command}`?" if len(todo) == 1 else f"Undo {len(todo)} commands?"
        confirm(question, yes=yes)
        expected = [s.command_id for s in todo]
    done = core.undo(db, steps=steps or 1, command_id=command, expected=expected)
    for step in done:
        info(f"Undid {_describe(step)}")
    _mention_passed_over(db, done)


def _mention_passed_over(db: Any, todo: Any) -> None:
    from crmcli.core import history as core

    for step in core.passed_over(db, todo):
        info(f"Left `{step.command}` (command {step.command_id}) as it is: it cannot be undone")
