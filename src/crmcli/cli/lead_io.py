"""``crm lead import``: purchased lists and web-form exports in, as leads."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from enum import StrEnum
from typing import Annotated, Any

import typer

from crmcli.cli.lead import app
from crmcli.cli.options import database, info


class InputFormat(StrEnum):
    csv = "csv"
    tsv = "tsv"
    json = "json"
    jsonl = "jsonl"


@app.command("import")
def import_(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="CSV, TSV, JSON or JSON Lines file; - reads stdin.",
            show_default=False,
        ),
    ],
    input_format: Annotated[
        InputFormat | None,
        typer.Option(
            "--input-format",
            help="Format of FILE (default: from its extension, else from its content).",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Source of the rows that name none (web, cold-call, social, event, referral, "
            "list, other).",
            show_default=False,
        ),
    ] = None,
    match: Annotated[
        str,
        typer.Option(
            "--match",
            metavar="KEYS",
            help="Update the lead with the same KEYS (comma list of email, phone, uid) "
            "instead of adding one; a uid in the file always matches first.",
        ),
    ] = "email",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would happen; change nothing.")
    ] = False,
    skip_bad: Annotated[
        bool,
        typer.Option(
            "--skip-bad",
            help="Import the good rows even when some are bad (the exit code is still 1).",
        ),
    ] = False,
) -> None:
    """Import leads from CSV, TSV, JSON or JSON Lines; bad rows are listed.

    Any bad row means nothing is imported, unless --skip-bad; the exit code is 1 whenever a
    row was rejected.  Columns are read like crm customer import's, plus status (new,
    contacted, qualified, or lost with lost_reason), score (0-100) and lost_reason.  The
    status column applies to new leads; leads already there keep theirs.

    Example: crm lead import fair-2026.csv --source event --match email,phone --dry-run
    """
    from crmcli.cli.customer_io import dry_run_database, progress
    from crmcli.core import importer, leads, settings
    from crmcli.io import tabular

    keys = importer.parse_match(match)
    if source is not None:
        source = leads.check_source(source, "--source")
    fmt = input_format.value if input_format is not None else None
    with ExitStack() as stack:
        opened = stack.enter_context(tabular.open_input(file, fmt))
        db = dry_run_database(stack) if dry_run else None
        db = db or database(create=True)
        config = settings.load(db)
        records: Iterator[Any] = tabular.customer_records(
            opened.records(), neutralised=opened.fmt == "csv"
        )
        if opened.size and sys.stderr.isatty():
            records = progress(stack, records, opened)
        try:
            with db.write():
                report = leads.import_leads(
                    db, records, config, match=keys, source=source, skip_bad=skip_bad,
                    dry_run=dry_run,
                )  # fmt: skip
        except importer.DryRun as done:
            report = done.report
        except importer.ImportFailed as failed:
            stack.close()  # the progress bar goes before the messages
            _explain(failed.report, opened.unit)
            raise
    _explain(report, opened.unit)
    if dry_run:
        info(
            f"Would add {report.added}, update {report.updated}, leave {report.unchanged} "
            f"unchanged, reject {len(report.rejected)}"
            + (" (nothing would be imported without --skip-bad)"
               if report.rejected and not skip_bad else "")
        )  # fmt: skip
    else:
        info(
            f"Added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
            f"rejected {len(report.rejected)}"
        )
    if report.rejected:
        raise typer.Exit(1)


def _explain(report: Any, unit: str) -> None:
    """Every bad row on its own line, then the columns that were not imported."""
    out = sys.stderr
    for line, message in report.rejected:
        out.write(f"{unit} {line}: {message}\n")
    if report.ignored_columns:
        names = ", ".join(repr(c) for c in report.ignored_columns)
        out.write(f"warning: ignored columns (not lead fields): {names}\n")
    out.flush()
