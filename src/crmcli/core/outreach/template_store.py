"""Message templates kept in the database: add, find, list, change, delete, and a message
rendered for one customer (what ``template preview`` shows and ``send`` sends).

A template is named (unique, case-insensitive) and found by its name or its id; its subject,
body and HTML are compiled when stored, so a syntax error never reaches a send.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmcli.core.outreach import templates
from crmcli.core.outreach.consent import CHANNELS, KINDS, check_channel
from crmcli.db import Database
from crmcli.errors import InvalidValue, NotFound, UsageError

NAME_MAX = 100
SUBJECT_MAX = 998  # one header line (RFC 5322)
COLUMNS = ("id", "name", "channel", "kind", "subject", "fields_used", "body", "html",
           "created_at", "updated_at")  # fmt: skip
LIST_COLUMNS = ("id", "name", "channel", "kind", "subject", "fields_used")
PARTS = ("subject", "body", "html")


def check_name(value: str) -> str:
    from crmcli.text import clean

    name = clean(value, field="name", limit=NAME_MAX, required=True, multiline=False)
    assert name is not None
    if name.isdigit():
        raise InvalidValue("name", value, "a template name must not be a number (ids are)")
    return name


def check_kind(value: str) -> str:
    kind = value.strip().lower()
    if kind not in KINDS:
        raise InvalidValue("kind", value, f"one of {', '.join(KINDS)}")
    return kind


def prepare(changes: Mapping[str, Any], current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The columns to write for ``changes`` (name, channel, kind, subject, body, html; a
    value of ``""`` for subject or html removes it) on top of ``current`` (None: a new
    template): text NFC-normalised, every part compiled, the subject required for e-mail
    and refused for SMS."""
    from crmcli.text import clean

    out: dict[str, Any] = {}
    if "name" in changes:
        out["name"] = check_name(changes["name"])
    if "channel" in changes:
        out["channel"] = check_channel(changes["channel"], field="--channel")
    if "kind" in changes:
        out["kind"] = check_kind(changes["kind"])
    if "subject" in changes:
        subject = clean(changes["subject"] or "", field="--subject", limit=SUBJECT_MAX,
                        multiline=False)  # fmt: skip
        out["subject"] = subject and templates.check(subject, field="--subject")
    if "body" in changes:
        body = clean(changes["body"], field="body", limit=templates.MAX_BODY, required=True)
        assert body is not None
        out["body"] = templates.check(body, field="body")
    if "html" in changes:
        html = clean(changes["html"] or "", field="--html-file", limit=templates.MAX_BODY)
        out["html"] = html and templates.check(html, field="--html-file")
    merged = {**(current or {}), **out}
    for column in ("name", "channel", "kind", "body"):
        if merged.get(column) is None:
            raise InvalidValue(column, "", "required")
    if merged["channel"] == "email" and not merged.get("subject"):
        raise UsageError("an e-mail template needs a subject: give --subject TEXT")
    if merged["channel"] == "sms":
        if merged.get("subject"):
            hint = " (give --subject '' to drop it)" if current else ""
            raise InvalidValue("--subject", merged["subject"], f"an SMS has no subject{hint}")
        if merged.get("html"):
            raise InvalidValue("--html-file", "…", "an SMS has no HTML part")
    return out


def _row(db: Database, where: str, value: Any) -> dict[str, Any] | None:
    return db.one(
        "SELECT id, name, channel, kind, subject, body, html, created_at, updated_at "
        f"FROM templates WHERE {where}",
        (value,),
    )


def find(db: Database, name_or_id: str | int) -> dict[str, Any]:
    """The template named ``name_or_id`` (any case), or with that id; with its fields."""
    text = str(name_or_id).strip()
    row = _row(db, "id = ?", int(text)) if text.isdigit() and len(text) < 19 else None
    if row is None:
        named = _named(db, text)
        row = _row(db, "id = ?", named) if named is not None else None
    if row is None:
        raise NotFound("template", text)
    return _with_fields(row)


def _with_fields(row: dict[str, Any]) -> dict[str, Any]:
    used: set[str] = set()
    for part in PARTS:
        if row.get(part):
            used.update(templates.fields_used(row[part]))
    row["fields_used"] = sorted(used)
    return {c: row.get(c) for c in COLUMNS}


def list_templates(db: Database, *, channel: str | None = None) -> list[dict[str, Any]]:
    """Every template, by name."""
    where, params = ("WHERE channel = ? ", (channel,)) if channel else ("", ())
    rows = db.query(
        "SELECT id, name, channel, kind, subject, body, html, created_at, updated_at "
        f"FROM templates {where}ORDER BY name COLLATE NOCASE, id",
        params,
    )
    return [_with_fields(row) for row in rows]


def _named(db: Database, name: str) -> int | None:
    """The id of the template called ``name`` in any case (Vietnamese too: SQLite's NOCASE
    folds ASCII letters only)."""
    import unicodedata

    wanted = unicodedata.normalize("NFC", name).casefold()
    for ident, other in db.conn.execute("SELECT id, name FROM templates ORDER BY id"):
        if other.casefold() == wanted:
            return int(ident)
    return None


def _refuse_taken(db: Database, name: str, own_id: int | None = None) -> None:
    other = _named(db, name)
    if other is not None and other != own_id:
        raise InvalidValue("name", name, f"template {other} has that name")


def add(db: Database, data: Mapping[str, Any]) -> int:
    """Store a template prepared by :func:`prepare`; its id.  Call inside ``db.write()``."""
    from crmcli.clock import utc_now_iso

    _refuse_taken(db, data["name"])
    now = utc_now_iso()
    cur = db.execute(
        "INSERT INTO templates (name, channel, kind, subject, body, html, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (data["name"], data["channel"], data["kind"], data.get("subject"), data["body"],
         data.get("html"), now, now),
    )  # fmt: skip
    return int(cur.lastrowid or 0)


def update(db: Database, template_id: int, data: Mapping[str, Any]) -> bool:
    """Write the prepared ``data`` over template ``template_id``; False when nothing changed.
    Call inside ``db.write()``."""
    from crmcli.clock import utc_now_iso

    current = _row(db, "id = ?", template_id)
    if current is None:
        raise NotFound("template", template_id)
    changed = {k: v for k, v in data.items() if current.get(k) != v}
    if not changed:
        return False
    if "name" in changed:
        _refuse_taken(db, changed["name"], template_id)
    changed["updated_at"] = utc_now_iso()
    sets = ", ".join(f"{column} = ?" for column in changed)
    db.execute(f"UPDATE templates SET {sets} WHERE id = ?", (*changed.values(), template_id))
    return True


def delete(db: Database, template_id: int) -> None:
    """Delete a template; its campaigns keep their send log.  Call inside ``db.write()``."""
    db.require("templates", "template", template_id)
    db.execute("DELETE FROM templates WHERE id = ?", (template_id,))


def message(
    db: Database,
    template: Mapping[str, Any],
    customer_id: int,
    *,
    deal_id: int | None = None,
    invoice_id: int | None = None,
    reminder_id: int | None = None,
) -> dict[str, Any]:
    """``template`` rendered for a customer: subject, body and HTML, a marketing message
    with its unsubscribe line appended (``unsubscribe``), and an SMS's length in segments.
    A field the template uses that is missing or empty raises
    :class:`templates.MissingField`; a linked record it uses and was not given says which
    option gives it."""
    db.require("customers", "customer", customer_id)
    given = {"deal": deal_id, "invoice": invoice_id, "reminder": reminder_id}
    used: set[str] = set()
    for part in PARTS:
        if template.get(part):
            used |= templates.names_used(template[part])
    for name, option in templates.LINKS.items():
        if name in used and given[name] is None:
            raise UsageError(f"template {template['name']} uses {name} fields: give {option} ID")
    context = templates.context(
        db, customer_id, deal_id=deal_id, invoice_id=invoice_id, reminder_id=reminder_id
    )
    subject = template.get("subject")
    html = template.get("html")
    out: dict[str, Any] = {
        "template": template["name"],
        "channel": template["channel"],
        "kind": template["kind"],
        "customer": customer_id,
        "to": context["customer"]["email" if template["channel"] == "email" else "phone"],
        "subject": templates.render(subject, context, field="subject") if subject else None,
        "body": templates.render(template["body"], context, field="body"),
        "html": templates.render(html, context, field="html", html=True) if html else None,
        "unsubscribe": None,
        "sms": None,
    }
    if template["kind"] == "marketing":
        line = templates.unsubscribe_line(template["channel"], context["seller"]["email"])
        out["unsubscribe"] = line
        out["body"] = out["body"].rstrip("\n") + ("\n" if template["channel"] == "sms"
                                                    else "\n\n") + line  # fmt: skip
        if out["html"]:
            from html import escape

            out["html"] = _html_append(out["html"], f"<p>{escape(line)}</p>")
    if template["channel"] == "sms":
        out["sms"] = templates.sms_length(out["body"])
    return out


def _html_append(html: str, paragraph: str) -> str:
    """``paragraph`` before ``</body>`` when the document has one, else at the end."""
    at = html.lower().rfind("</body>")
    if at < 0:
        return html.rstrip("\n") + "\n" + paragraph + "\n"
    return html[:at] + paragraph + "\n" + html[at:]


__all__ = ["CHANNELS", "KINDS", "add", "delete", "find", "list_templates", "message",
           "prepare", "update"]  # fmt: skip
