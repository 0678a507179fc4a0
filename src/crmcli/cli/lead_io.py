"""``crm lead import``: purchased lists and web-form exports in, as leads."""

from typing import Annotated, Any

import typer

from crmcli.cli.importing import (
    DryRunOpt,
    FileArg,
    InputFormatOpt,
    SkipBadOpt,
    match_option,
    run_import,
)
from crmcli.cli.lead import app


@app.command("import")
def import_(
    file: FileArg,
    input_format: InputFormatOpt = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Source of the rows that name none (web, cold-call, social, event, referral, "
            "list, other).",
            show_default=False,
        ),
    ] = None,
    match: Annotated[str, match_option("lead")] = "email",
    dry_run: DryRunOpt = False,
    skip_bad: SkipBadOpt = False,
) -> None:
    """Import leads from CSV, TSV, JSON or JSON Lines; bad rows are listed.

    Any bad row means nothing is imported, unless --skip-bad; the exit code is 1 whenever a
    row was rejected.  Columns are read like crm customer import's, plus status (new,
    contacted, qualified, converted, or lost with lost_reason), score (0-100) and lost_reason;
    crm lead list output imports back (a converted lead keeps its status, without its
    customer and deal, which are ids of the other database).  The
    status column applies to new leads; leads already there keep theirs.

    Example: crm lead import fair-2026.csv --source event --match email,phone --dry-run
    """
    from crmcli.core import importer, leads

    keys = importer.parse_match(match)
    chosen = leads.check_source(source, "--source") if source is not None else None

    def load(db: Any, records: Any, config: Any) -> Any:
        return importer.import_leads(
            db, records, config, match=keys, source=chosen, skip_bad=skip_bad, dry_run=dry_run
        )

    run_import(
        file, input_format, load, dry_run=dry_run, skip_bad=skip_bad,
        ignored_hint="not lead fields",
    )  # fmt: skip
