"""``crm customer import`` and ``crm customer export``: customers in and out as files."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from crmcli.cli import options
from crmcli.cli.customer import CityFilter, CompanyFilter, SearchFilter, app
from crmcli.cli.options import RawOpt, database, info

T = TypeVar("T")

PROGRESS_EVERY = 1000  # records between progress bar updates


class DataFormat(StrEnum):
    """The formats customers travel in (import reads what export writes)."""

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
        DataFormat | None,
        typer.Option(
            "--input-format",
            help="Format of FILE (default: from its extension, else from its content).",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    match: Annotated[
        str,
        typer.Option(
            "--match",
            metavar="KEYS",
            help="Update the customer with the same KEYS (comma list of email, phone, uid) "
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
    """Import customers from CSV, TSV, JSON or JSON Lines; bad rows are listed.

    Any bad row means nothing is imported, unless --skip-bad; the exit code is 1 whenever a
    row was rejected.  Columns of Google Contacts, Outlook and HubSpot exports and of
    crm customer export are recognised; field.KEY columns become custom fields.

    Example: crm customer import contacts.csv --match email,phone --dry-run
    """
    from crmcli.core import importer, settings
    from crmcli.io import tabular

    keys = importer.parse_match(match)
    fmt = input_format.value if input_format is not None else None
    with ExitStack() as stack:
        source = stack.enter_context(tabular.open_input(file, fmt))
        db = dry_run_database(stack) if dry_run else None
        db = db or database(create=True)
        config = settings.load(db)
        records: Iterator[Any] = tabular.customer_records(
            source.records(), neutralised=source.fmt == "csv"
        )
        if source.size and sys.stderr.isatty():
            records = progress(stack, records, source)
        try:
            with db.write():
                report = importer.import_customers(
                    db, records, config, match=keys, skip_bad=skip_bad, dry_run=dry_run
                )
        except importer.DryRun as done:
            report = done.report
        except importer.ImportFailed as failed:
            stack.close()  # the progress bar goes before the messages
            _explain(failed.report, source.unit)
            raise
    _explain(report, source.unit)
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
        out.write(
            f"warning: ignored columns (not customer fields): {names}; "
            "name a column field.KEY to keep it as a custom field\n"
        )
    out.flush()


def dry_run_database(stack: ExitStack) -> Any:
    """For a dry run with no database yet: a throwaway one, so nothing is created."""
    from crmcli.db import open_db, resolve_path

    if resolve_path(options.STATE.db_option).exists():
        return None
    import tempfile

    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="crm-dry-run-"))
    db = open_db(Path(folder) / "crm.db", create=True)
    stack.callback(db.close)
    return db


def progress(stack: ExitStack, records: Iterator[T], source: Any) -> Iterator[T]:
    """A progress bar on stderr (a terminal) following the bytes read."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("Importing"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    stack.enter_context(progress)
    task = progress.add_task("import", total=source.size)

    def follow() -> Iterator[T]:
        for count, item in enumerate(records):
            if count % PROGRESS_EVERY == 0:
                progress.update(task, completed=source.position())
            yield item
        progress.update(task, completed=source.size)

    return follow()


@app.command("export")
def export(
    fmt: Annotated[
        DataFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format (default: from the --output extension, else tsv).",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write to FILE (mode 0600, written atomically) instead of stdout.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
    raw: RawOpt = False,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Only customers with this tag.")
    ] = None,
    company: CompanyFilter = None,
    city: CityFilter = None,
    search: SearchFilter = None,
) -> None:
    """Export customers with every column (import reads it back).

    CSV cells that a spreadsheet would run as formulas are neutralised (a leading '),
    unless --raw; crm customer import undoes it.

    Example: crm customer export --output customers.csv --tag vip
    """
    from crmcli.core import customers
    from crmcli.io.tabular import atomic_output, file_format
    from crmcli.render import emit

    to_file = output is not None and str(output) != "-"
    chosen = fmt.value if fmt is not None else None
    if chosen is None:
        chosen = (file_format(output) if to_file and output is not None else None) or "tsv"
    db = database()
    rows = customers.list_customers(db, tags=tag or (), company=company, city=city, search=search)
    if not to_file or output is None:
        emit(rows, customers.COLUMNS, chosen, raw=raw)
        return
    with atomic_output(output, force=force) as fh:
        count = emit(rows, customers.COLUMNS, chosen, out=fh, raw=raw)
    info(f"Exported {count} customer{'' if count == 1 else 's'} to {output}")
