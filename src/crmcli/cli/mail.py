"""``crm mail import``: e-mail from a mailbox into the customers' and leads' timelines."""

import sys
from typing import Annotated, Any

import typer

from crmcli.cli.options import FormatOpt, database, fmt_of, group, parse_when

app = group("Mail: e-mail from a mailbox into the timeline, leads from unknown senders.")

ROW_COLUMNS = ("at", "direction", "records", "from", "subject")


@app.callback()
def mail() -> None:
    """Mail: e-mail from a mailbox into the timeline, leads from unknown senders."""


@app.command("import")
def import_mail(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="An mbox file (Gmail's Takeout, Thunderbird), a Maildir folder, or an IMAP "
            "folder: imaps://USER@HOST/FOLDER (password: CRM_IMAP_PASSWORD).",
            show_default=False,
        ),
    ],
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="WHEN", help="Only messages from then on: 2026-01-01, '30 days ago'."
        ),  # fmt: skip
    ] = None,
    me: Annotated[
        list[str] | None,
        typer.Option(
            "--me",
            metavar="ADDRESS",
            help="Your own address (repeatable): mail from it is outgoing. Default: the "
            "mail_from and seller_email settings.",
        ),
    ] = None,
    new_leads: Annotated[
        bool,
        typer.Option(
            "--new-leads",
            help="A lead (source email) for each unknown sender of a personal message "
            "(not a list, newsletter or automatic reply).",
        ),
    ] = False,
    forms: Annotated[
        list[str] | None,
        typer.Option(
            "--forms",
            metavar="SUBJECT_PATTERN",
            help="Messages with this subject are web-form notifications: their 'Label: "
            "value' lines make a lead (source web), or are logged on the customer or lead "
            "with that e-mail or phone. Repeatable; * and ? as in the shell, else a part of "
            "the subject. Default: the mail_forms setting.",
        ),
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="LABEL=FIELD",
            help="A form label for a lead field (name, email, phone, company, title, "
            "message, notes), beside the built-in English and Vietnamese ones. Repeatable.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="List what would be imported; write nothing."),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="List each message imported, and the unreadable."),
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """Log the mailbox's messages to and from your customers and leads as e-mail interactions.

    Every From, To and Cc address is matched to the customers' and leads' e-mail addresses
    (also the other ones kept as email_… fields), case ignored. A match gets an interaction
    of type email: in or out, the message's date (UTC), subject, text (quoted replies and
    signatures trimmed) and attachments by name and size. Importing again adds only what is
    new (messages are known by their Message-ID). The whole import is one command for undo.

    Example: crm mail import ~/Takeout/Mail/All\\ mail.mbox --since '1 year ago'
    """
    from crmcli.core.mail import imap, intake, reading
    from crmcli.db import Discard
    from crmcli.errors import CrmError, UsageError
    from crmcli.render import emit

    out = fmt_of(fmt)
    db = database(create=not dry_run)
    addresses = [a.strip().lower() for a in (me or []) if a.strip()] or intake.default_me(db)
    for addr in addresses:
        if "@" not in addr:
            raise UsageError(f"invalid --me {addr!r}: an e-mail address")
    if not addresses:
        raise UsageError(
            "which address is yours? give --me ADDRESS, or crm config set mail_from "
            '"Your Name <you@example.com>"'
        )
    bound = parse_when(since, "--since", db) if since is not None else None
    from crmcli.core import settings
    from crmcli.core.mail import forms as webforms

    patterns = (
        webforms.check_patterns(forms)
        if forms
        else settings.form_patterns(db.setting("mail_forms"))
    )
    form_map = webforms.check_map(mapping or [])
    shown: list[dict[str, Any]] = []

    def seen(mail: Any, direction: str, records: list[Any]) -> None:
        if dry_run or verbose:
            shown.append(intake.as_row(mail, direction, records))

    run = intake.Intake(db, me=addresses, since=bound, new_leads=new_leads, forms=patterns,
                        form_map=form_map, dry_run=dry_run, on_message=seen)  # fmt: skip
    stream = (
        imap.messages(source, db, bound) if imap.is_url(source) else reading.messages(source)
    )  # a missing or wrong source is refused here

    def read_all() -> None:
        with _progress(source) as step:
            for position, raw in stream:
                step(len(raw))
                try:
                    mail = reading.parse(raw, position)
                except reading.Broken as exc:
                    run.report.read += 1
                    run.report.broken.append(exc)
                    continue
                run.take(mail)

    report = run.report

    def checked() -> None:
        read_all()
        if report.read and len(report.broken) == report.read:
            raise CrmError(f"{source}: no message could be read ({report.broken[0]})")

    try:
        if dry_run:
            checked()
        else:
            from crmcli.core import search_index

            with db.write(), search_index.self_indexed(db) as index:
                run.index = index
                checked()
                if not report.interactions and not report.new_leads:
                    raise Discard  # nothing new: no command in the history either
    except reading.Broken as exc:  # a file of a Maildir that cannot be read
        raise CrmError(f"{source}: {exc}; nothing was imported") from None
    if shown:
        emit(shown, ROW_COLUMNS, out)
    if verbose or dry_run:
        for broken in report.broken:
            sys.stderr.write(f"unreadable: {broken}\n")
    elif report.broken:
        first = report.broken[0]
        more = f" and {len(report.broken) - 1} more" if len(report.broken) > 1 else ""
        sys.stderr.write(f"unreadable, skipped: {first}{more} (--verbose lists them)\n")
    if report.read == 0 or (report.imported == 0 and not dry_run and not verbose):
        if report.read == 0:
            sys.stderr.write(f"No messages in {source}\n")
        return  # cron: a daily import with nothing new says nothing
    sys.stderr.write(report.summary(dry_run=dry_run) + "\n")


class _progress:
    """A progress bar on stderr when it is a terminal (nothing in a pipe or under cron): the
    share of the mbox file read (of the Maildir's files), and the messages read so far."""

    WIDTH = 30

    def __init__(self, source: str) -> None:
        from pathlib import Path

        self.n = 0
        self.done = 0
        self.live = sys.stderr.isatty()
        self.total = 0
        self.by_bytes = False
        self.shown = 0.0
        path = Path(source).expanduser()
        if self.live:
            try:
                if path.is_file():
                    self.total, self.by_bytes = path.stat().st_size, True
                elif path.is_dir():
                    self.total = sum(1 for sub in ("cur", "new") for _ in (path / sub).iterdir())
                    self.by_bytes = False
            except OSError:
                self.total = 0

    def __enter__(self) -> Any:
        return self.step

    def step(self, size: int) -> None:
        import time

        self.n += 1
        self.done += size if self.total and self.by_bytes else 1
        if not self.live:
            return
        now = time.monotonic()
        if now - self.shown < 0.2:
            return
        self.shown = now
        if self.total:
            share = min(self.done / self.total, 1.0)
            filled = round(share * self.WIDTH)
            bar = "█" * filled + "░" * (self.WIDTH - filled)
            sys.stderr.write(f"\r{bar} {share:4.0%}  {self.n:,} messages")
        else:
            sys.stderr.write(f"\r{self.n:,} messages read…")
        sys.stderr.flush()

    def __exit__(self, *exc: object) -> None:
        if self.live and self.shown:
            sys.stderr.write("\r" + " " * (self.WIDTH + 30) + "\r")
            sys.stderr.flush()
