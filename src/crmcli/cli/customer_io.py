"""``crm customer import`` and ``crm customer export``: customers in and out as files."""

from typing import Annotated, Any

import typer

from crmcli.cli.customer import CityFilter, CompanyFilter, SearchFilter, SegmentFilter, app
from crmcli.cli.importing import (
    DataFormat,
    DelimiterOpt,
    DryRunOpt,
    EncodingOpt,
    FileArg,
    InputFormatOpt,
    MapOpt,
    SkipBadOpt,
    match_option,
    run_import,
)
from crmcli.cli.options import ForceOpt, OutputOpt, RawOpt, database, info


@app.command("import")
def import_(
    file: FileArg,
    input_format: InputFormatOpt = None,
    match: Annotated[str, match_option("customer")] = "email",
    map_: MapOpt = None,
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    dry_run: DryRunOpt = False,
    skip_bad: SkipBadOpt = False,
) -> None:
    """Import customers from CSV, TSV, JSON, JSON Lines or vCard; bad rows are listed.

    Any bad row (or card) means nothing is imported, unless --skip-bad; the exit code is 1
    whenever one was rejected.  Columns of Google Contacts, Outlook and HubSpot exports and
    of crm customer export are recognised (--map names others); field.KEY columns become
    custom fields.  vCards 2.1, 3.0 and 4.0 (.vcf) are read, photos left out; e-mails and
    phones beyond the first are kept as custom fields (email_work, phone_mobile, email_2 …);
    one of those that is not a valid e-mail or phone (a service number like 112) is kept
    as text in its field with a warning, and the contact is imported.

    Example: crm customer import contacts.csv --match email,phone --dry-run
    """
    from crmcli.core import importer
    from crmcli.io.tabular import parse_mapping

    keys = importer.parse_match(match)
    mapping = parse_mapping(map_ or ())

    def load(db: Any, records: Any, config: Any) -> Any:
        return importer.import_customers(
            db, records, config, match=keys, skip_bad=skip_bad, dry_run=dry_run
        )

    run_import(
        file, input_format, load, dry_run=dry_run, skip_bad=skip_bad,
        ignored_hint="not customer fields; name a column field.KEY to keep it as a custom field, "
        "or use --map",
        encoding=encoding, delimiter=delimiter, mapping=mapping, extras=True,
        vcard_hint="no customer field holds them",
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
    output: OutputOpt = None,
    force: ForceOpt = False,
    raw: RawOpt = False,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Only customers with this tag.")
    ] = None,
    company: CompanyFilter = None,
    city: CityFilter = None,
    search: SearchFilter = None,
    segment: SegmentFilter = None,
) -> None:
    """Export customers with every column (import reads it back).

    CSV cells that a spreadsheet would run as formulas are neutralised (a leading '),
    unless --raw; crm customer import undoes it.  -f vcard writes vCard 3.0 for phones and
    address books: the UID is the customer's uid, and extra e-mails and phones, custom
    fields, tags and birthdays (with or without a year) come back on import.

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
    rows = customers.list_customers(
        db, tags=tag or (), company=company, city=city, search=search, segment=segment
    )

    def write(out: Any) -> int:
        if chosen == "vcard":
            import sys

            from crmcli.core.names import with_name_parts
            from crmcli.io.vcard import write_vcards

            return write_vcards(with_name_parts(db, rows), out or sys.stdout)
        return emit(rows, customers.COLUMNS, chosen, out=out, raw=raw)

    if not to_file or output is None:
        write(None)  # stdout
        return
    with atomic_output(output, force=force) as fh:
        count = write(fh)
    info(f"Exported {count} customer{'' if count == 1 else 's'} to {output}")
