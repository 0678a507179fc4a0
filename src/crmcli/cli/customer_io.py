"""``crm customer import`` and ``crm customer export``: customers in and out as files."""

from pathlib import Path
from typing import Annotated, Any

import typer

from crmcli.cli.customer import CityFilter, CompanyFilter, SearchFilter, app
from crmcli.cli.importing import (
    DataFormat,
    DryRunOpt,
    FileArg,
    InputFormatOpt,
    SkipBadOpt,
    match_option,
    run_import,
)
from crmcli.cli.options import RawOpt, database, info


@app.command("import")
def import_(
    file: FileArg,
    input_format: InputFormatOpt = None,
    match: Annotated[str, match_option("customer")] = "email",
    dry_run: DryRunOpt = False,
    skip_bad: SkipBadOpt = False,
) -> None:
    """Import customers from CSV, TSV, JSON or JSON Lines; bad rows are listed.

    Any bad row means nothing is imported, unless --skip-bad; the exit code is 1 whenever a
    row was rejected.  Columns of Google Contacts, Outlook and HubSpot exports and of
    crm customer export are recognised; field.KEY columns become custom fields.

    Example: crm customer import contacts.csv --match email,phone --dry-run
    """
    from crmcli.core import importer

    keys = importer.parse_match(match)

    def load(db: Any, records: Any, config: Any) -> Any:
        return importer.import_customers(
            db, records, config, match=keys, skip_bad=skip_bad, dry_run=dry_run
        )

    run_import(
        file, input_format, load, dry_run=dry_run, skip_bad=skip_bad,
        ignored_hint="not customer fields; name a column field.KEY to keep it as a custom field",
    )  # fmt: skip


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
