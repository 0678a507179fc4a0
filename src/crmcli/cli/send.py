"""``crm send``: a template to customers, by e-mail or SMS, for people and for cron."""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from crmcli.cli.options import database, read_ids
from crmcli.errors import EXIT_FAILURE, UsageError

app = typer.Typer(rich_markup_mode=None)


@app.command("send")
def send(
    template: Annotated[str, typer.Argument(metavar="TEMPLATE", help="The template's name.")],
    customers: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[-]",
            help="- reads customer ids from stdin (one a line, as -f ids prints them).",
            show_default=False,
        ),
    ] = None,
    segment: Annotated[
        str | None, typer.Option("--segment", metavar="NAME", help="The segment's members.")
    ] = None,
    customer: Annotated[
        list[int] | None,
        typer.Option("--customer", "-c", min=1, metavar="ID", help="A customer (repeatable)."),
    ] = None,
    birthdays: Annotated[
        str | None,
        typer.Option(
            "--birthdays",
            metavar="[today|week]",
            help="Customers whose birthday is today, or within 7 days (today included).",
        ),
    ] = None,
    invoices: Annotated[
        str | None,
        typer.Option(
            "--invoices",
            metavar="[overdue|due-today]",
            help="One message per open invoice overdue or due today, to its customer "
            "(the template may use invoice and deal fields).",
        ),
    ] = None,
    campaign: Annotated[
        str | None,
        typer.Option(
            "--campaign",
            metavar="NAME",
            help='The campaign (default: "TEMPLATE YYYY-MM-DD", so a rerun today resumes).',
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print what would go to whom; send and write nothing."),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="DIR",
            help="With --dry-run: write each message into DIR (.eml, or .txt for SMS; 0600).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", "-n", min=0, help="Send at most N messages (0: all)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List the skipped recipients and why.")
    ] = False,
) -> None:
    """Send a template to customers by e-mail or SMS; logged, resumable.

    Recipients: --segment NAME, --customer ID (repeatable), - (ids on stdin), --birthdays
    today|week or --invoices overdue|due-today (one message per invoice).  E-mail needs the
    customer's address and SMS their phone; marketing templates go only to customers whose
    consent is yes, transactional ones to all who have not objected.  Those skipped are
    recorded with the reason and counted (--verbose lists them).

    Every template field is filled for every recipient before anything is sent: a field
    missing for one of them stops the run (exit 2, nothing sent).  Each message sent is
    logged on the customer as an interaction of the campaign, in the same transaction as
    its send log, so a rerun of the campaign (killed half-way, or from cron) sends nothing
    twice.  Messages the server refuses for good are recorded as failed (exit 1); the rest
    go on.  Nothing to send: no output at all (for cron); otherwise one summary line on
    stderr.  E-mail settings: smtp_host, smtp_port, smtp_security, smtp_user, mail_from,
    send_rate (crm config); the password from CRM_SMTP_PASSWORD or smtp_password_file.

    Example: crm send birthday --birthdays today

    Example: crm send reminder --invoices overdue

    Example: crm customer list --tag vip -f ids | crm send newsletter - --dry-run -o out/
    """
    from crmcli.core.outreach import sending

    chosen = [
        name
        for name, given in (
            ("--segment", segment is not None),
            ("--customer", bool(customer)),
            ("-", bool(customers)),
            ("--birthdays", birthdays is not None),
            ("--invoices", invoices is not None),
        )
        if given
    ]
    if len(chosen) != 1:
        raise UsageError(
            "give the recipients once: --segment NAME, --customer ID, - (ids on stdin), "
            "--birthdays today|week or --invoices overdue|due-today"
            + (f" (got {', '.join(chosen)})" if chosen else "")
        )
    if birthdays is not None and birthdays not in sending.BIRTHDAYS:
        raise UsageError(f"invalid --birthdays {birthdays!r}: choose today or week")
    if invoices is not None and invoices not in sending.INVOICES:
        raise UsageError(f"invalid --invoices {invoices!r}: choose overdue or due-today")
    if output is not None and not dry_run:
        raise UsageError("-o DIR writes the messages of a --dry-run; add --dry-run")
    ids: list[int] = list(customer or [])
    if customers:
        if customers != ["-"]:
            raise UsageError(f"unexpected argument {customers[0]!r}; customer ids: --customer ID")
        ids = list(read_ids(customers))
        if not ids:
            return
    if output is not None:
        output = output.expanduser()
        if output.exists() and not output.is_dir():
            raise UsageError(f"invalid -o {str(output)!r}: not a folder")
    db = database()
    run = sending.Run(
        db, template, campaign=campaign, customer_ids=ids, segment=segment,
        birthdays=birthdays, invoices=invoices, limit=limit,
    )  # fmt: skip
    if dry_run:
        _dry_run(run, output, verbose)
        return
    # Settings first: a missing SMTP server is an error even when nobody is due today.
    transport = run.transport()
    if run.channel == "email":
        sending.sender(db)
    run.check()
    if run.quiet:
        return  # cron: nothing to say
    try:
        run.execute(transport, _failed)
    except KeyboardInterrupt:
        sys.stderr.write(run.summary() + " (interrupted: run it again to send the rest)\n")
        raise
    if verbose:
        _skipped(run)
    sys.stderr.write(run.summary() + "\n")
    if run.failures:
        raise typer.Exit(EXIT_FAILURE)


def _failed(item: dict[str, Any]) -> None:
    sys.stderr.write(
        f"failed: #{item['customer_id']} {item['customer']} {item['address']}: {item['reason']}\n"
    )


def _skipped(run: Any) -> None:
    for s in run.skipped:
        ref = f" {s['ref']}" if s["ref"] else ""
        sys.stderr.write(f"skipped: #{s['customer_id']} {s['customer']}{ref}: {s['reason']}\n")


def _dry_run(run: Any, output: Path | None, verbose: bool) -> None:
    from crmcli.core.outreach import sending

    if output is not None:
        output.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = [0]

    def show(message: Any) -> None:
        line = message.line()
        ref = f" {line['ref']}" if line["ref"] else ""
        subject = " ".join(str(line["subject"]).split())
        sys.stdout.write(
            f"#{line['customer_id']} {line['customer']}{ref}\t{line['address']}\t{subject}\n"
        )
        if output is not None:
            written[0] += 1
            sending.write_file(output, written[0], run, message)

    run.check(show)
    if run.quiet and not run.skipped:
        return
    if verbose:
        _skipped(run)
    sys.stderr.write(run.summary(dry_run=True) + "\n")
