"""``crm deal …``: deals through configurable stages, line items, the pipeline board."""

from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import typer

from crmcli.cli.deal_item import item_app
from crmcli.cli.options import (
    FormatOpt,
    LimitOpt,
    RawOpt,
    YesOpt,
    batch_info,
    cap_table,
    confirm_delete,
    database,
    deleted,
    fetch_limit,
    fmt_of,
    group,
    ids_argument,
    info,
    naming,
    no_ids,
    opt,
    parse_when,
    read_ids,
    shown_records,
)
from crmcli.core import deals as core

app = group("Deals through configurable stages, line items, and the pipeline board.")
stages_app = typer.Typer(rich_markup_mode=None)  # bare `crm deal stages` lists them

TABLE_COLUMNS = ("id", "title", "customer", "stage", "value", "probability", "close_date")
TABLE_DROP = ("probability", "stage", "customer")  # on a narrow terminal, these go first
# The order lines under a deal's card, then their totals.
# On a narrow terminal the later columns leave first: what to deliver, and when, stays.
ITEM_TABLE_COLUMNS = ("id", "product", "quantity", "unit", "net", "delivery_date", "supplier",
                      "delivered_at", "price")  # fmt: skip

IdArg = Annotated[int, typer.Argument(metavar="ID", help="Deal id.", show_default=False)]
IdsArg = Annotated[list[str], ids_argument("Deal")]


Amount = Annotated[
    str | None, opt("Value: 1200, 1,200.50, $99, '1.200.000 VND' (default currency: config).")
]
Probability = Annotated[str | None, opt("Win probability in % (default: the stage's).")]
Close = Annotated[str | None, opt("Expected close date: 2026-12-15, 'end of month' …")]
Note = Annotated[str | None, opt("A note about the deal.")]
ContractNumber = Annotated[str | None, opt("Contract or order number.")]
ContractStart = Annotated[str | None, opt("Contract start date.")]
ContractEnd = Annotated[str | None, opt("Contract end date (renewal reminders use it).")]
PaymentDue = Annotated[
    str | None, opt("Date the payment is due: the deal's invoice is due then (crm invoice).")
]


def _config(db: Any) -> Any:
    from crmcli.core.settings import load

    return load(db)


def _money(amount: int | None, currency: str | None) -> str:
    if amount is None or currency is None:
        return ""
    from crmcli.money import format_money

    return format_money(amount, currency)


def for_table(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Deals as a person reads them: the value formatted, an overdue close date marked
    (and the row drawn in red)."""
    from crmcli.render import late

    for row in rows:
        row["value"] = _money(row.get("amount"), row.get("currency"))
        row["close_date"] = late(row.get("close_date") or "", row.get("overdue"))
        yield row


@app.command("add")
def add(
    title: Annotated[str, typer.Argument(help="What is being sold.", show_default=False)],
    customer: Annotated[int, opt("Customer id.", "--customer", "-c")],
    amount: Amount = None,
    currency: Annotated[
        str | None, opt("Currency of the deal when --amount names none (ISO 4217).")
    ] = None,
    stage: Annotated[str | None, opt("Stage (default: the first one).")] = None,
    probability: Probability = None,
    close: Close = None,
    note: Note = None,
) -> None:
    """Add a deal for a customer; prints the new id.

    Example: crm deal add "20 laptops" --customer 42 --amount "450.000.000 VND" --close 2026-12-15
    """
    db = database(create=True)
    data = core.prepare(
        {"title": title, "amount": amount, "currency": currency, "stage": stage,
         "probability": probability, "close_date": close, "notes": note},
        _config(db),
    )  # fmt: skip
    with db.write():
        deal_id = core.add(db, customer, data)
        deal = core.get(db, deal_id)
    print(deal_id)
    value = _money(deal["amount"], deal["currency"])
    info(f"Added deal {deal_id}: {deal['title']} ({deal['stage']}{', ' + value if value else ''})")


@app.command("list")
def list_(
    stage: Annotated[str | None, opt("Only deals in this stage.")] = None,
    customer: Annotated[int | None, opt("Only this customer's deals.", "--customer", "-c")] = None,
    open_: Annotated[bool, typer.Option("--open", help="Only open deals.")] = False,
    won: Annotated[bool, typer.Option("--won", help="Only won deals.")] = False,
    lost: Annotated[bool, typer.Option("--lost", help="Only lost deals.")] = False,
    closing_before: Annotated[
        str | None,
        opt("Expected to close before this date (not on it): 2026-12-31, 'in 2 weeks'."),
    ] = None,
    sort: Annotated[
        str | None, opt("Sort by id, close, amount, created, updated, title; -close: descending.")
    ] = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """List deals, filtered by stage, customer, status or close date.

    Example: crm deal list --open --closing-before "end of month" --sort close
    """
    from crmcli.errors import UsageError
    from crmcli.render import emit

    chosen = [name for name, on in (("open", open_), ("won", won), ("lost", lost)) if on]
    if len(chosen) > 1:
        raise UsageError("use one of --open, --won, --lost")
    if sort:
        core.parse_sort(sort)
    out = fmt_of(fmt)
    db = database()
    before = core.check_date(closing_before, _config(db), field="--closing-before") if (
        closing_before is not None) else None  # fmt: skip
    rows: Iterable[dict[str, Any]] = core.list_deals(
        db, stage=stage, customer_id=customer, status=chosen[0] if chosen else None,
        closing_before=before, sort=sort, limit=fetch_limit(out, limit),
    )  # fmt: skip
    if out == "table":
        rows = for_table(cap_table(rows, out, limit))
    emit(rows, core.COLUMNS, out, table_columns=TABLE_COLUMNS, raw=raw,
         empty_message="no deals match", drop=TABLE_DROP, alert="overdue")  # fmt: skip


@app.command("show")
def show(deal_ids: IdsArg, fmt: FormatOpt = None, raw: RawOpt = False) -> None:
    """Show deals: every field, their order lines with the totals, and their stage history.

    Example: crm deal show 7    (several: crm deal show 7 8, or ids on stdin: -)
    """
    from crmcli.cli.deal_item import TOTAL_COLUMNS, total_rows
    from crmcli.cli.deal_item import for_table as for_items
    from crmcli.render import emit_records

    ids, records = shown_records(deal_ids, core.show)
    if not records:
        return
    out = fmt_of(fmt)
    columns: tuple[str, ...] = core.COLUMNS
    totals = False
    if out == "table":
        records = list(for_table(records))
        columns = tuple("value" if c == "amount" else c for c in core.COLUMNS if c != "currency")
        for record in records:
            record["items"] = list(for_items(record["items"]))
            if record["totals"]:
                totals = True
                record["order_totals"] = total_rows(record["totals"], record["currency"])
    emit_records(
        records,
        out,
        many=ids.many,
        columns=columns,
        sections={
            "items": ("Order lines", ITEM_TABLE_COLUMNS),
            **({"order_totals": ("Totals", TOTAL_COLUMNS)} if totals else {}),
            "history": ("Stage history", core.HISTORY_COLUMNS),
        },
        raw=raw,
    )


@app.command("edit")
def edit(
    deal_ids: IdsArg,
    title: Annotated[str | None, opt("What is being sold.")] = None,
    amount: Amount = None,
    probability: Probability = None,
    close: Close = None,
    note: Annotated[str | None, opt("Replace the note.")] = None,
    contract_number: ContractNumber = None,
    contract_start: ContractStart = None,
    contract_end: ContractEnd = None,
    payment_due: PaymentDue = None,
    unset: Annotated[
        list[str] | None,
        typer.Option("--unset", help="Clear a field: amount, probability, close_date, notes …"),
    ] = None,
) -> None:
    """Change deals' fields; the stage changes with move, won and lost only.

    Several ids (or - for ids on stdin) change together in one transaction: all or none.

    Example: crm deal edit 7 --amount 1500 --close 2026-12-20
    """
    ids = read_ids(deal_ids)
    if no_ids(ids):
        return
    db = database()
    data = core.prepare(
        {"title": title, "amount": amount, "probability": probability, "close_date": close,
         "notes": note, "contract_number": contract_number, "contract_start": contract_start,
         "contract_end": contract_end, "payment_due": payment_due},
        _config(db),
    )  # fmt: skip
    with db.write():
        for deal_id in ids:
            with naming("deal", deal_id, ids):
                deal = core.update(db, deal_id, data, unset=tuple(unset or ()))
    if ids.many:
        batch_info("Updated", "deal", ids)
    else:
        info(f"Updated deal {ids[0]}: {deal['title']}")


@app.command("delete")
def delete(deal_ids: IdsArg, yes: YesOpt = False) -> None:
    """Delete deals with their line items and stage history.

    Example: crm deal delete 7 --yes    (several: 7 8, or - for ids on stdin)
    """
    ids = read_ids(deal_ids)
    if no_ids(ids):
        return
    db = database()
    titles = [core.get(db, deal_id)["title"] for deal_id in ids]
    confirm_delete(ids, "deal", titles, yes=yes)
    with db.write():
        for deal_id in ids:
            core.delete(db, deal_id)
    deleted(ids, "deal", titles)


@app.command("move")
def move(
    deal_id: IdArg,
    stage: Annotated[str, typer.Argument(help="Open stage to move to.", show_default=False)],
    reopen: Annotated[
        bool, typer.Option("--reopen", help="Take a won or lost deal back into the pipeline.")
    ] = False,
) -> None:
    """Move a deal to another open stage (the change is recorded with its time).

    Example: crm deal move 7 proposal
    """
    db = database()
    with db.write():
        what = core.move(db, deal_id, stage, reopen=reopen)
        deal = core.get(db, deal_id)
    if what == "unchanged":
        info(f"Deal {deal_id} is already in {deal['stage']}")
    else:
        info(f"{what.capitalize()} deal {deal_id} to {deal['stage']}")


@app.command("won")
def won(
    deal_id: IdArg,
    contract_number: ContractNumber = None,
    contract_start: ContractStart = None,
    contract_end: ContractEnd = None,
    payment_due: PaymentDue = None,
) -> None:
    """Mark a deal won, with its contract dates and payment due date if you have them.

    Example: crm deal won 7 --contract-end 2027-12-31 --payment-due "in 30 days"
    """
    db = database()
    data = core.prepare(
        {"contract_number": contract_number, "contract_start": contract_start,
         "contract_end": contract_end, "payment_due": payment_due},
        _config(db),
    )  # fmt: skip
    with db.write():
        deal = core.won(db, deal_id, data)
    value = _money(deal["amount"], deal["currency"])
    info(f"Won deal {deal_id}: {deal['title']}{' (' + value + ')' if value else ''}")


@app.command("lost")
def lost(
    deal_id: IdArg,
    reason: Annotated[str, opt("Why it was lost (reports rank the reasons).", "--reason", "-r")],
) -> None:
    """Mark a deal lost, with the reason.

    Example: crm deal lost 7 --reason "chose a cheaper supplier"
    """
    db = database()
    with db.write():
        deal = core.lost(db, deal_id, reason)
    info(f"Lost deal {deal_id}: {deal['title']}")


@app.command("paid")
def paid(
    deal_id: IdArg,
    at: Annotated[str | None, opt("When it was paid (default: now).")] = None,
    undo: Annotated[bool, typer.Option("--undo", hidden=True)] = False,
) -> None:
    """Record payments settling every open invoice of a won deal (the reminders stop).

    A won deal without invoices is invoiced first.  To take a payment back: crm undo.

    Example: crm deal paid 7 --at yesterday
    """
    if undo:
        from crmcli.errors import UsageError

        raise UsageError(
            "deal paid --undo is gone: crm undo takes back the last command "
            "(see crm history), crm payment list shows the payments"
        )
    db = database()
    when = parse_when(at, "--at", db) if at else None
    with db.write():
        changed = core.paid(db, deal_id, at=when)
    info(f"Deal {deal_id} marked paid" if changed else f"Deal {deal_id} is already paid")


@app.command("pipeline")
def pipeline(
    cards: Annotated[int, typer.Option("--cards", min=0, help="Cards per stage on the board.")] = 5,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """The pipeline: per open stage its deals, total and weighted total, per currency.

    On a terminal a board with one column per stage; otherwise (or with -f) one record
    per stage and currency.

    Example: crm deal pipeline -f json
    """
    show_pipeline(database(), fmt_of(fmt), cards=cards, raw=raw)


def show_pipeline(db: Any, out: str, *, cards: int = 5, raw: bool = False) -> None:
    """The board on a terminal (``table``), else the pipeline records in ``out``."""
    from crmcli.render import emit

    rows = core.pipeline(db)
    if out != "table":
        emit(rows, core.PIPELINE_COLUMNS, out, raw=raw)
        return
    from crmcli.render import board

    columns: dict[str, dict[str, Any]] = {}
    for row in rows:
        column = columns.setdefault(
            row["stage"],
            {"stage": row["stage"], "probability": row["probability"], "deals": 0,
             "overdue": 0, "totals": [], "cards": []},
        )  # fmt: skip
        column["deals"] += row["deals"]
        column["overdue"] += row["overdue"]
        if row["currency"] is not None and row["total"] is not None:
            column["totals"].append(
                (_money(row["total"], row["currency"]), _money(row["weighted"], row["currency"]))
            )
    for column in columns.values():
        if cards and column["deals"]:
            for card in core.cards(db, column["stage"], cards):
                card["value"] = _money(card["amount"], card["currency"])
                column["cards"].append(card)
    board(list(columns.values()))


@stages_app.callback(invoke_without_command=True)
def stages(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """The stages deals move through, with their probabilities; add, rename, move, remove.

    Example: crm deal stages
    """
    if ctx.invoked_subcommand is not None:
        return
    from crmcli.render import emit

    emit(core.stages(database()), core.STAGE_COLUMNS, fmt_of(fmt))


StageArg = Annotated[str, typer.Argument(metavar="STAGE", help="Stage name.", show_default=False)]
After = Annotated[str | None, opt("Place it after this stage.")]
Before = Annotated[str | None, opt("Place it before this stage.")]


@stages_app.command("add")
def stages_add(
    name: StageArg,
    probability: Annotated[str, opt("Win probability in % for deals in it.")],
    after: After = None,
    before: Before = None,
) -> None:
    """Add an open stage (default: after the last one).

    Example: crm deal stages add demo --probability 40 --after qualified
    """
    db = database(create=True)
    with db.write():
        core.add_stage(db, name, core.check_probability(probability), after=after, before=before)
    info(f"Added stage {name.strip()}")


@stages_app.command("rename")
def stages_rename(
    name: StageArg,
    new: Annotated[str, typer.Argument(metavar="NEW", help="New name.", show_default=False)],
) -> None:
    """Rename a stage; its deals and history follow.

    Example: crm deal stages rename proposal quote
    """
    db = database()
    with db.write():
        row = core.rename_stage(db, name, new)
    info(f"Renamed stage {row['name']} to {new.strip()}")


@stages_app.command("edit")
def stages_edit(
    name: StageArg,
    probability: Annotated[str, opt("Win probability in % for deals in it.")],
) -> None:
    """Change a stage's probability (deals with their own probability keep it).

    Example: crm deal stages edit proposal --probability 40
    """
    db = database()
    with db.write():
        row = core.edit_stage(db, name, core.check_probability(probability))
    info(f"Stage {row['name']} now has probability {core.check_probability(probability)} %")


@stages_app.command("move")
def stages_move(name: StageArg, after: After = None, before: Before = None) -> None:
    """Move an open stage to another place in the pipeline.

    Example: crm deal stages move negotiation --before proposal
    """
    db = database()
    with db.write():
        row = core.move_stage(db, name, after=after, before=before)
    info(f"Moved stage {row['name']}")


@stages_app.command("remove")
def stages_remove(
    name: StageArg,
    to: Annotated[str | None, opt("Move the stage's deals to this stage first.")] = None,
) -> None:
    """Remove an open stage; refused while deals sit in it unless --to moves them.

    Example: crm deal stages remove demo --to proposal
    """
    db = database()
    with db.write():
        moved = core.remove_stage(db, name, to=to)
    extra = f"; moved {moved} deal{'s' if moved != 1 else ''} to {to}" if moved else ""
    info(f"Removed stage {name.strip()}{extra}")


app.add_typer(stages_app, name="stages")


app.add_typer(item_app, name="item")
