"""``crm backup``, ``crm restore``, ``crm doctor``: copies, restores and health checks."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from crmcli.cli import options
from crmcli.cli.options import ForceOpt, FormatOpt, YesOpt, confirm, fmt_of, info, plural

FileArg = Annotated[Path, typer.Argument(metavar="FILE", show_default=False)]


def _live_path() -> Path:
    from crmcli.db import resolve_path

    return resolve_path(options.STATE.db_option)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"  # pragma: no cover


def _summary(copy: Any) -> str:
    counts = ", ".join(plural(n, table.removesuffix("s")) for table, n in copy.counts.items())
    return f"{_size(copy.size)}, schema {copy.schema_version}: {counts}"


backup_app = typer.Typer()


@backup_app.command("backup")
def backup(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="Where to write the copy.", show_default=False),
    ],
    force: ForceOpt = False,
) -> None:
    """Copy the database to FILE, safely even while crm is in use.

    The copy is taken with SQLite's online backup API from one consistent moment, checked
    (integrity_check), written with mode 0600 and renamed into place; it is one standalone
    file that crm restore (or --db FILE) reads.

    Example: crm backup ~/backups/crm-2026-11-23.db
    """
    from crmcli.core import safety

    with _stopped_cleanly():
        copy = safety.backup(_live_path(), file, force=force)
    info(f"Backed up to {file}: {_summary(copy)}")


@contextmanager
def _stopped_cleanly() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the command as Ctrl-C does: the temporary copy is removed on
    the way out, so no hidden copy of the database stays behind."""
    import signal

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


restore_app = typer.Typer()


@restore_app.command("restore")
def restore(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="A backup made by crm backup.", show_default=False),
    ],
    yes: YesOpt = False,
) -> None:
    """Replace the database with the backup in FILE; the current one is kept aside.

    FILE must be a sound crmcli database (an older version's is upgraded); the database it
    replaces is kept next to it as crm.db.before-restore-<time> (mode 0600).

    Example: crm restore ~/backups/crm-2026-11-23.db
    """
    from crmcli.core import safety

    live = _live_path()
    checked = safety.inspect(file)
    info(f"{file}: {_summary(checked)}")
    confirm(f"Replace {live} with {file}? (the current database is kept aside)", yes=yes)
    done = safety.restore(live, file)
    info(f"Restored {file} into {live}")
    if done.aside is not None:
        info(f"The database it replaced is kept at {done.aside}")


doctor_app = typer.Typer()


@doctor_app.command("doctor")
def doctor(
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Repair what is safe to repair: rebuild the search indexes, clear a stale "
            "running-command mark, set file mode 0600.  Never deletes data.",
        ),
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """Check the database: integrity, links, search indexes, schema version, file mode.

    One line per check; exit 0 when all is well, 1 when something is wrong.

    Example: crm doctor --fix
    """
    from crmcli.core import safety
    from crmcli.render import emit

    db = safety.open_for_check(_live_path())
    options.STATE.open.append(db)
    checks = safety.diagnose(db)
    if fix:
        checks = safety.repair(db, checks)
    emit([c.row() for c in checks], ("check", "status", "details"), fmt_of(fmt))
    problems = [c for c in checks if c.problems]
    fixed = [c.name for c in checks if c.fixed]
    if fixed:
        info(f"Fixed: {', '.join(fixed)}")
    if problems:
        count = sum(len(c.problems) for c in problems)
        info(f"{count} problem{'s' if count != 1 else ''} found:")
        for check in problems:
            for problem in check.problems:
                info(f"  {check.name}: {problem}")
        if not fix and any(c.fixable for c in problems):
            info("crm doctor --fix repairs the ones marked so; it never deletes data")
        raise typer.Exit(1)


def run_forget(
    db: Any, argv: list[str], *, customer_id: int | None = None, lead_id: int | None = None
) -> None:
    """`crm customer forget` and `crm lead forget`: erase, then compact the file.

    The command line is recorded as given here (no personal data, and always recognisable
    as a forget, which crm undo skips)."""
    from crmcli.core import privacy

    what = f"customer {customer_id}" if customer_id is not None else f"lead {lead_id}"
    with db.write(argv):
        person = privacy.find_person(db, customer_id=customer_id, lead_id=lead_id)
        done = privacy.forget(db, person)
        converted = None
        if lead_id is not None:
            converted = db.scalar("SELECT customer_id FROM leads WHERE id = ?", (lead_id,))
    privacy.compact(db, done)
    parts = [f"{n} {table}" for table, n in done.rows.items() if n]
    info(f"Forgot {what}: anonymised {', '.join(parts) or 'nothing else'}")
    if done.commands_redacted:
        s = "s" if done.commands_redacted != 1 else ""
        info(f"Removed their details from {done.commands_redacted} recorded command line{s}")
    if converted is not None:
        info(
            f"Lead {lead_id} was converted into customer {converted}, who is kept; "
            f"to forget them too: crm customer forget {converted}"
        )
    if done.mentions:
        info(
            "Still mentioned (other records, left unchanged; edit them if needed): "
            + ", ".join(done.mentions)
        )
