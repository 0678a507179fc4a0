"""What the imports (``crm customer import``, ``crm lead import``, ``crm deal import``)
share: options, the dry-run database, the progress bar, the report of bad rows, and the
one-transaction run."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from crmcli.cli import options
from crmcli.cli.options import database, info

T = TypeVar("T")

PROGRESS_EVERY = 1000  # records between progress bar updates


class DataFormat(StrEnum):
    """The formats records travel in (import reads what export writes)."""

    csv = "csv"
    tsv = "tsv"
    json = "json"
    jsonl = "jsonl"
    vcard = "vcard"


FileArg = Annotated[
    str,
    typer.Argument(
        metavar="FILE",
        help="CSV, TSV, JSON, JSON Lines or vCard file; - reads stdin.",
        show_default=False,
    ),
]
InputFormatOpt = Annotated[
    DataFormat | None,
    typer.Option(
        "--input-format",
        "-f",
        help="Format of FILE (default: from its extension, else from its content).",
        case_sensitive=False,
        show_default=False,
    ),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        metavar="NAME",
        help="Text encoding of FILE when it is not UTF-8: cp1252, latin-1, utf-16, "
        "windows-1258 … (never guessed; a UTF-16 byte order mark is read).",
        show_default=False,
    ),
]
DelimiterOpt = Annotated[
    str | None,
    typer.Option(
        "--delimiter",
        metavar="CHAR",
        help="CSV cell separator: , ; tab or | (default: sniffed from the first lines).",
        show_default=False,
    ),
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        metavar="COLUMN=FIELD",
        help="Read COLUMN as FIELD (repeatable): a customer field, first_name, last_name, "
        "field.KEY (custom field), phone_KIND / email_KIND (another phone or e-mail), "
        "or - to leave it out.",
        show_default=False,
    ),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Report what would happen; change nothing.")
]
SkipBadOpt = Annotated[
    bool,
    typer.Option(
        "--skip-bad",
        help="Import the good rows even when some are bad (the exit code is still 1).",
    ),
]


def match_option(kind: str) -> Any:
    return typer.Option(
        "--match",
        metavar="KEYS",
        help=f"Update the {kind} with the same KEYS (comma list of email, phone, uid) "
        "instead of adding one; a uid in the file always matches first.",
    )


def run_import(
    file: str,
    input_format: DataFormat | None,
    load: Callable[[Any, Iterator[Any], Any], Any],
    *,
    dry_run: bool,
    skip_bad: bool,
    ignored_hint: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: dict[str, str] | None = None,
    extras: bool = False,
    vcard_hint: str | None = None,
    records_of: Callable[[Any], Iterator[Any]] | None = None,
) -> None:
    """Read FILE and hand its records to ``load(db, records, config)`` (the core importer)
    inside one write transaction; then report bad rows, ignored columns and the counts.
    Exit 1 when any row was rejected.

    Records are customer records (``tabular.customer_records``, with ``mapping`` from
    ``--map`` and, with ``extras``, the other e-mails and phones kept; a vCard's as
    ``io.vcard`` reads them, its unknown properties reported with ``vcard_hint``), or
    what ``records_of(source)`` makes of the opened input."""
    from crmcli.core import importer, settings
    from crmcli.db import Discard
    from crmcli.errors import UsageError
    from crmcli.io import tabular

    fmt = input_format.value if input_format is not None else None
    with ExitStack() as stack:
        source = stack.enter_context(
            tabular.open_input(file, fmt, encoding=encoding, delimiter=delimiter)
        )
        if source.fmt == "vcard" and mapping:
            raise UsageError("--map is for CSV, TSV and JSON files, not vCards")
        db = dry_run_database(stack) if dry_run else None
        db = db or database(create=True)
        config = settings.load(db)
        records: Iterator[Any]
        ignored = ("columns", ignored_hint)
        if records_of is not None:
            records = records_of(source)
        elif source.fmt == "vcard":
            records = source.records() if extras else _first_contacts_only(source.records())
            ignored = ("vCard properties", vcard_hint) if vcard_hint else ("fields", ignored_hint)
        else:
            records = tabular.customer_records(
                source.records(), neutralised=source.fmt == "csv", mapping=mapping, extras=extras
            )
        if source.size and sys.stderr.isatty():
            records = progress(stack, records, source)
        try:
            with db.write():
                report = load(db, records, config)
                if not db.changed:  # every row bad or unchanged: no empty entry in history
                    raise Discard
        except importer.DryRun as done:
            report = done.report
        except importer.ImportFailed as failed:
            stack.close()  # the progress bar goes before the messages
            explain(failed.report, source.unit, *ignored)
            raise
    explain(report, source.unit, *ignored)
    created = getattr(report, "customers_added", 0)
    new_customers = f"; {created} new customer{'' if created == 1 else 's'}" if created else ""
    if dry_run:
        info(
            f"Would add {report.added}, update {report.updated}, leave {report.unchanged} "
            f"unchanged, reject {len(report.rejected)}{new_customers}"
            + (" (nothing would be imported without --skip-bad)"
               if report.rejected and not skip_bad else "")
        )  # fmt: skip
    else:
        info(
            f"Added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
            f"rejected {len(report.rejected)}{new_customers}"
        )
    if report.rejected:
        raise typer.Exit(1)


def explain(report: Any, unit: str, what: str, hint: str) -> None:
    """Every bad row, and every value of a good one kept as text, on its own line in the
    order of the file; then the columns (``what``) that were not imported."""
    out = sys.stderr
    notes = [(line, "", message) for line, message in report.rejected]
    notes += [(line, "warning: ", message) for line, message in report.warnings]
    for line, kind, message in sorted(notes, key=lambda note: note[0]):  # by line, stable
        out.write(f"{kind}{unit} {line}: {message}\n")
    if report.ignored_columns:
        names = ", ".join(repr(c) for c in report.ignored_columns)
        out.write(f"warning: ignored {what} ({hint}): {names}\n")
    out.flush()


def _first_contacts_only(items: Iterator[Any]) -> Iterator[Any]:
    """vCard records without the other e-mails and phones (``extra.…``), for an import
    that keeps one of each."""
    for line, record in items:
        if isinstance(record, dict):
            record = {k: v for k, v in record.items() if not k.startswith("extra.")}
        yield line, record


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
