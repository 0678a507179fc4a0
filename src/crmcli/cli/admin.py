"""Commands outside the entity groups: demo, config."""

from enum import StrEnum
from typing import Annotated, Any

import typer

from crmcli.cli.options import FormatOpt, database, fmt_of, group, info
from crmcli.errors import UsageError

config_app = group("Settings kept in the database: date order, country, currency.")


@config_app.command("list")
def config_list(fmt: FormatOpt = None) -> None:
    """Show every setting with its value.

    Example: crm config list
    """
    from crmcli.core import settings
    from crmcli.render import emit

    db = database()
    emit(settings.all_settings(db), ("key", "value", "description"), fmt_of(fmt),
         kinds={"value": "text"})  # a setting's value, not an amount  # fmt: skip


@config_app.command("get")
def config_get(key: Annotated[str, typer.Argument(help="Setting name.")]) -> None:
    """Print one setting.

    Example: crm config get date_order
    """
    from crmcli.core import settings

    value = settings.get(database(), key)
    print("" if value is None else value)


@config_app.command("set")
def config_set(
    key: Annotated[str, typer.Argument(help="Setting name.")],
    value: Annotated[str, typer.Argument(help="New value.")],
) -> None:
    """Change a setting.

    Example: crm config set country VN
    """
    from crmcli.core import settings

    db = database(create=True)
    with db.write():
        checked = settings.set_value(db, key, value)
    info(f"{key} = {checked}")


@config_app.command("unset")
def config_unset(key: Annotated[str, typer.Argument(help="Setting name.")]) -> None:
    """Return a setting to its default.

    Example: crm config unset country
    """
    from crmcli.core import settings

    db = database()
    with db.write():
        settings.unset(db, key)
    info(f"{key} reset to its default")


def demo(fmt: FormatOpt = None) -> None:
    """Fill a sample database with 15 months of history; show the pipeline and what is due.

    Customers with their calls, e-mails and meetings; deals won and lost over the past
    months and the ones open now; tickets with satisfaction scores; leads from every
    source, some converted; reminders and birthdays this week.  Every `crm report` has a
    picture to show.  On a terminal, what is due follows the pipeline board.

    Example: crm --db demo.db demo
    """
    from crmcli.cli.deal import show_pipeline
    from crmcli.core import demo as demo_core
    from crmcli.core.deals import PIPELINE_COLUMNS

    out = fmt_of(fmt)
    if out == "ids" and "id" not in PIPELINE_COLUMNS:  # checked before anything is written
        raise UsageError("-f ids: the pipeline's rows have no id; use table, tsv, csv or json")
    db = database(create=True)
    with db.write():
        added = demo_core.fill(db)
    if added:
        info(f"Added {_added(added)} (15 months of sample history) to {db.path}")
    else:
        info(f"{db.path} already holds the sample data")
    show_pipeline(db, out)
    if out == "table":
        _show_due(db)
    info("Next: crm report sales --period all, crm customer list, crm deal show 1")


def _added(counts: dict[str, int]) -> str:
    """``30 customers, 63 deals, … and 6 reminders``."""
    from crmcli.cli.options import plural

    parts = [plural(n, kind.removesuffix("s")) for kind, n in counts.items()]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _show_due(db: Any) -> None:
    """What is due today, as `crm remind due` draws it on a terminal."""
    from crmcli.cli.remind_due import emit_due
    from crmcli.core import due

    items = due.collect(db)
    if items:
        emit_due(items, "table", title="Due now (crm remind due)")


demo_app = typer.Typer()
demo_app.command("demo")(demo)


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


completion_app = typer.Typer()


@completion_app.command("completion")
def completion(shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.")]) -> None:
    """Print the shell completion script for crm.

    Example: crm completion bash > ~/.local/share/bash-completion/completions/crm
    """
    from typer._completion_shared import get_completion_script

    print(get_completion_script(prog_name="crm", complete_var="_CRM_COMPLETE", shell=shell))
