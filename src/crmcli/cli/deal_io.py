"""``crm deal import``: deals from other systems (HubSpot deal exports) in bulk."""

from typing import Annotated, Any

import typer

from crmcli.cli.deal import app
from crmcli.cli.importing import (
    DelimiterOpt,
    DryRunOpt,
    EncodingOpt,
    InputFormatOpt,
    SkipBadOpt,
    run_import,
)

FileArg = Annotated[
    str,
    typer.Argument(
        metavar="FILE", help="CSV, TSV, JSON or JSON Lines file; - reads stdin.", show_default=False
    ),
]


@app.command("import")
def import_(
    file: FileArg,
    input_format: InputFormatOpt = None,
    stage: Annotated[
        list[str] | None,
        typer.Option(
            "--stage",
            metavar="THEIRS=OURS",
            help="Read the stage THEIRS as our stage OURS (repeatable), e.g. "
            "'Contract Sent=negotiation'.  Closed Won and Closed Lost need none.",
            show_default=False,
        ),
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option(
            "--currency",
            metavar="CODE",
            help="Currency of the amounts of rows that name none (default: config).",
            show_default=False,
        ),
    ] = None,
    create_customers: Annotated[
        bool,
        typer.Option(
            "--create-customers",
            help="Add a customer for a deal whose contact or company is not found "
            "(default: the row is bad).",
        ),
    ] = False,
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    dry_run: DryRunOpt = False,
    skip_bad: SkipBadOpt = False,
) -> None:
    """Import deals from CSV, TSV, JSON or JSON Lines (HubSpot deal exports); bad rows are
    listed.

    Read: the title (Deal Name), stage (Deal Stage, by name), amount and currency, close
    date, contract and payment dates, and the customer, found by customer_uid, then
    e-mail (customer_email, or an e-mail in Associated Contact), then exact name
    (Associated Contact, customer), then Associated Company; a customer_id column only
    when nothing else names the customer.  crm deal list output imports with every
    column it has (uid, closed_at, paid_at, lost_reason …); a won or lost deal without
    closed_at is closed on its close date.  A deal already there (same uid, or same
    title for the same customer) is left as it is.  Any bad row means nothing is
    imported, unless --skip-bad.

    Example: crm deal import deals.csv --stage "Contract Sent=proposal" --dry-run
    """
    from crmcli.core import importer
    from crmcli.io import tabular

    stages = importer.parse_stage_map(stage or ())
    default = None
    if currency is not None:
        from crmcli.money import normalize_currency

        default = normalize_currency(currency, field="--currency")

    def load(db: Any, records: Any, config: Any) -> Any:
        if default is not None:
            from crmcli.core.settings import Config

            config = Config(config.date_order, config.country, default)
        return importer.import_deals(
            db, records, config, stages=stages, create_customers=create_customers,
            skip_bad=skip_bad, dry_run=dry_run,
        )  # fmt: skip

    def records_of(source: Any) -> Any:
        if source.fmt == "vcard":
            from crmcli.errors import UsageError

            raise UsageError("a vCard holds contacts, not deals: crm customer import FILE")
        return tabular.deal_records(source.records(), neutralised=source.fmt == "csv")

    run_import(
        file, input_format, load, dry_run=dry_run, skip_bad=skip_bad,
        ignored_hint="not deal fields", encoding=encoding, delimiter=delimiter,
        records_of=records_of,
    )  # fmt: skip
