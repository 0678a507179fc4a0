"""``crm template …``: e-mail and SMS templates, and a preview for one customer."""

from typing import Annotated, Any

import typer

from crmcli.cli.options import (
    FormatOpt,
    RawOpt,
    YesOpt,
    confirm_delete,
    database,
    deleted,
    fmt_of,
    group,
    info,
    opt,
)
from crmcli.errors import InvalidValue, UsageError

app = group("E-mail and SMS templates with customer, deal and invoice fields; preview.")

NameArg = Annotated[
    str, typer.Argument(metavar="NAME", help="Template name (or id).", show_default=False)
]
NamesArg = Annotated[
    list[str],
    typer.Argument(
        metavar="NAME…",
        help="Template names or ids; several, or - to read them from stdin (one a line).",
        show_default=False,
    ),
]
ChannelOpt = Annotated[str | None, opt("email or sms.", "--channel")]
KindOpt = Annotated[
    str | None,
    opt("marketing (only to those who said yes) or transactional (reminders, quotes).", "--kind"),
]
SubjectOpt = Annotated[
    str | None, opt("The e-mail's subject, a template too (not for SMS).", "--subject")
]
BodyOpt = Annotated[str | None, opt("The text, with fields: {{ customer.first_name }}.", "--body")]
BodyFileOpt = Annotated[
    str | None,
    typer.Option(
        "--body-file",
        metavar="FILE",
        help="Read the text from FILE (UTF-8; - for stdin).",
        show_default=False,
    ),
]
HtmlFileOpt = Annotated[
    str | None,
    typer.Option(
        "--html-file",
        metavar="FILE",
        help="An HTML part for e-mail, read from FILE (UTF-8; - for stdin).",
        show_default=False,
    ),
]


def read_text(path: str, option: str) -> str:
    """A UTF-8 file's text (a BOM dropped), or stdin's for ``-``; one line if it cannot."""
    import sys
    from pathlib import Path

    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise InvalidValue(option, path, exc.strerror or str(exc)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidValue(option, path, f"not UTF-8 text (byte {exc.start + 1})") from None


def gather(
    *,
    channel: str | None,
    kind: str | None,
    subject: str | None,
    body: str | None,
    body_file: str | None,
    html_file: str | None,
) -> dict[str, Any]:
    """The options given, as changes for ``template_store.prepare``."""
    if body is not None and body_file is not None:
        raise UsageError("give --body or --body-file, not both")
    if body_file == "-" and html_file == "-":
        raise UsageError("only one of --body-file and --html-file can read stdin")
    changes: dict[str, Any] = {}
    for key, value in (("channel", channel), ("kind", kind), ("subject", subject)):
        if value is not None:
            changes[key] = value
    if body is not None:
        changes["body"] = body
    elif body_file is not None:
        changes["body"] = read_text(body_file, "--body-file")
    if html_file is not None:
        changes["html"] = read_text(html_file, "--html-file") if html_file else ""
    return changes


def sms_info(length: dict[str, Any], tail: str = "") -> None:
    """``SMS: 2 segments, UCS-2, 95 characters`` on stderr."""
    from crmcli.cli.options import plural

    info(f"SMS: {plural(length['segments'], 'segment')}, {length['encoding']}, "
         f"{plural(length['characters'], 'character')}{tail}")  # fmt: skip


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A name for the template.", show_default=False)],
    channel: ChannelOpt = None,
    kind: KindOpt = None,
    subject: SubjectOpt = None,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    html_file: HtmlFileOpt = None,
) -> None:
    """Add a template; prints its id (an SMS's length in segments on stderr).

    Fields: customer.*, seller.*, today, and deal.*, invoice.*, reminder.* when the message
    is about one (crm template preview gives them).  A missing or empty field is an error
    at preview and send, never a blank: write {{ customer.company or "you" }} when a field
    may be empty.

    Example: crm template add birthday --channel sms --kind marketing --body "Happy birthday {{ customer.first_name }}!"
    """  # noqa: E501
    from crmcli.core.outreach import template_store as core
    from crmcli.core.outreach import templates

    if channel is None or kind is None:
        raise UsageError("give --channel (email or sms) and --kind (marketing or transactional)")
    if body is None and body_file is None:
        raise UsageError("give the text: --body TEXT or --body-file FILE")
    changes = {"name": name, **gather(channel=channel, kind=kind, subject=subject, body=body,
                                       body_file=body_file, html_file=html_file)}  # fmt: skip
    data = core.prepare(changes)
    db = database(create=True)
    with db.write():
        template_id = core.add(db, data)
    print(template_id)
    if data["channel"] == "sms":
        sms_info(templates.sms_length(data["body"]), " as written (fields change it)")


@app.command("list")
def list_(
    channel: Annotated[str | None, opt("Only email or only sms templates.", "--channel")] = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """List templates by name, with their channel, kind, subject and the fields they use.

    Example: crm template list --channel sms
    """
    from crmcli.core.outreach import template_store as core
    from crmcli.core.outreach.consent import check_channel
    from crmcli.render import emit

    wanted = check_channel(channel, field="--channel") if channel is not None else None
    rows = core.list_templates(database(), channel=wanted)
    out = fmt_of(fmt)
    columns = core.LIST_COLUMNS if out in ("table", "tsv", "csv") else core.COLUMNS
    emit(rows, columns, out, raw=raw, empty_message="no templates", drop=("fields_used", "subject"))


def _names(given: list[str]) -> tuple[list[str], bool]:
    """The names of a NAME… argument (``-`` reads stdin, one a line), and whether they are
    several (a batch)."""
    import sys

    names: list[str] = []
    for text in given:
        if text == "-":
            names += [line.strip() for line in sys.stdin if line.strip()]
        elif text not in names:
            names.append(text)
    return names, len(given) > 1 or "-" in given


@app.command("show")
def show(template_ids: NamesArg, fmt: FormatOpt = None, raw: RawOpt = False) -> None:
    """Show templates: subject, text, HTML part and the fields they use.

    Example: crm template show birthday    (or by id: crm template show 3)
    """
    from crmcli.core.outreach import template_store as core
    from crmcli.render import emit_records

    wanted, many = _names(template_ids)
    if not wanted:
        info("no names on stdin: nothing to do")
        return
    db = database()
    records = [core.find(db, name) for name in wanted]
    emit_records(records, fmt_of(fmt), many=many, columns=core.COLUMNS, raw=raw)


@app.command("edit")
def edit(
    name: NameArg,
    new_name: Annotated[str | None, opt("Rename the template.", "--name")] = None,
    channel: ChannelOpt = None,
    kind: KindOpt = None,
    subject: Annotated[
        str | None, opt("The e-mail's subject ('' drops it, for a move to SMS).", "--subject")
    ] = None,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    html_file: Annotated[
        str | None,
        typer.Option(
            "--html-file",
            metavar="FILE",
            help="A new HTML part from FILE (- for stdin; '' drops it).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Change a template's name, channel, kind, subject, text or HTML part.

    Example: crm template edit birthday --body-file birthday.txt
    """
    from crmcli.core.outreach import template_store as core
    from crmcli.core.outreach import templates

    changes = gather(channel=channel, kind=kind, subject=subject, body=body,
                     body_file=body_file, html_file=html_file)  # fmt: skip
    if new_name is not None:
        changes["name"] = new_name
    if not changes:
        raise UsageError("nothing to change: give --name, --channel, --kind, --subject, "
                         "--body, --body-file or --html-file")  # fmt: skip
    db = database()
    current = core.find(db, name)
    data = core.prepare(changes, current)
    with db.write():
        changed = core.update(db, current["id"], data)
    label = data.get("name", current["name"])
    if not changed:
        info(f"Template {current['id']} ({label}) unchanged")
        return
    info(f"Updated template {current['id']}: {label}")
    final = {**current, **data}
    if final["channel"] == "sms":
        sms_info(templates.sms_length(final["body"]), " as written (fields change it)")


@app.command("delete")
def delete(names: NamesArg, yes: YesOpt = False) -> None:
    """Delete templates (campaigns sent with them keep their log).

    Example: crm template delete birthday --yes
    """
    from crmcli.cli.options import Ids
    from crmcli.core.outreach import template_store as core

    wanted, many = _names(names)
    if not wanted:
        info("no names on stdin: nothing to do")
        return
    db = database()
    ids = Ids()
    ids.many = many
    labels: list[str] = []
    for found in (core.find(db, name) for name in wanted):
        if found["id"] not in ids:
            ids.append(found["id"])
            labels.append(found["name"])
    confirm_delete(ids, "template", labels, yes=yes)
    with db.write():
        for template_id in ids:
            core.delete(db, template_id)
    deleted(ids, "template", labels)


PREVIEW_FORMATS = ("text", "table", "json", "jsonl", "tsv", "csv")
PREVIEW_KEYS = ("channel", "kind", "subject", "body", "html", "unsubscribe", "sms")


def _emit_message(message: dict[str, Any], out: str) -> None:
    """A previewed message as one JSON object, or one tsv/csv row (the SMS length flat)."""
    from crmcli.render import emit, to_json, to_json_document

    record = {k: message[k] for k in PREVIEW_KEYS}
    if out == "json":
        print(to_json_document(record))
    elif out == "jsonl":
        print(to_json(record))
    else:
        sms = record.pop("sms") or {}
        row = {**record, **{f"sms_{k}": v for k, v in sms.items()}}
        columns = [*PREVIEW_KEYS[:-1], "sms_encoding", "sms_characters", "sms_units",
                   "sms_segments"]  # fmt: skip
        emit([row], columns, out)


@app.command("preview")
def preview(
    name: NameArg,
    customer: Annotated[int, opt("For this customer.", "--customer", "-c")],
    deal: Annotated[int | None, opt("With this deal's fields (deal.*).", "--deal")] = None,
    invoice: Annotated[
        int | None,
        typer.Option(
            "--invoice",
            metavar="ID",
            help="With this invoice's fields (invoice.*).",
            show_default=False,
        ),
    ] = None,
    reminder: Annotated[
        int | None,
        typer.Option(
            "--reminder",
            metavar="ID",
            help="With this reminder's fields (reminder.*).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="text (default: the message as it would go), json, jsonl, tsv or csv.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Show a template filled in for one customer, as the message would go.

    E-mail: a Subject: line, a blank line, the text; SMS: the text, and its length in
    segments on stderr.  A marketing message ends with the unsubscribe line sending adds.
    A missing or empty field is an error naming it.

    Example: crm template preview reminder --customer 42 --invoice 7
    """
    from crmcli.core.outreach import template_store as core

    out = (fmt or "text").strip().lower()
    if out not in PREVIEW_FORMATS:
        raise InvalidValue("--format", fmt, ", ".join(PREVIEW_FORMATS))
    db = database()
    template = core.find(db, name)
    message = core.message(db, template, customer, deal_id=deal, invoice_id=invoice,
                           reminder_id=reminder)  # fmt: skip
    if out not in ("text", "table"):
        _emit_message(message, out)
        return
    text = message["body"] if message["body"].endswith("\n") else message["body"] + "\n"
    if message["channel"] == "email":
        text = f"Subject: {message['subject']}\n\n{text}"
    import sys

    sys.stdout.write(text)
    if message["sms"]:
        sms_info(message["sms"])
