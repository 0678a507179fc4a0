"""Message templates: Jinja2 in its sandbox, fields of a customer and of a linked deal,
invoice or reminder, and the length of an SMS in segments.

A field the template names that does not exist, or that is empty for this customer, is an
error (:class:`MissingField`) at preview and before anything is sent: never a blank or a
"None" in a customer's inbox.  A template handles an optional field itself:
``{{ customer.company or "you" }}`` or ``{% if customer.company %}…{% endif %}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmcli.db import Database
from crmcli.errors import InvalidValue, UsageError

MAX_BODY = 64 * 1024


class MissingField(UsageError):
    """A template field with no value for this recipient."""


def _environment(*, html: bool = False) -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    def finalize(value: Any) -> Any:
        if value is None:
            raise MissingField("a template field is empty for this recipient")
        return value

    return SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=html,
        keep_trailing_newline=True,
        finalize=finalize,
    )


_COMPILED: dict[tuple[str, bool], Any] = {}
_ENVIRONMENTS: dict[bool, Any] = {}


def _compiled(text: str, *, html: bool = False) -> Any:
    """``text`` compiled once per process (and per escaping): a run of ``crm send`` renders
    one template for thousands of recipients (compiling costs far more than rendering)."""
    key = (text, html)
    compiled = _COMPILED.get(key)
    if compiled is None:
        env = _ENVIRONMENTS.get(html)
        if env is None:
            env = _ENVIRONMENTS[html] = _environment(html=html)
        if len(_COMPILED) >= 32:
            _COMPILED.clear()
        compiled = _COMPILED[key] = env.from_string(text)
    return compiled


def check(text: str, *, field: str) -> str:
    """``text`` if it is a template Jinja2 can compile (one line naming the error if not)."""
    from jinja2 import TemplateSyntaxError

    if len(text) > MAX_BODY:
        raise InvalidValue(field, text[:40] + "…", f"at most {MAX_BODY // 1024} KB")
    try:
        tree = _environment().parse(text)
    except TemplateSyntaxError as exc:
        raise InvalidValue(field, text[:40], f"line {exc.lineno}: {exc.message}") from None
    hidden = _private_access(tree)
    if hidden:
        # The sandbox refuses these when rendering; refused here too, so a template that
        # could never be sent is not stored.
        raise InvalidValue(field, text[:40], f"not allowed in a template ({hidden!r})")
    return text


def _private_access(tree: Any) -> str | None:
    """The first ``x._name`` / ``x['_name']`` a template reads (Python's internals, which
    the sandbox refuses), or None."""
    from jinja2 import nodes

    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(key, str) and key.startswith("_"):
            return key
    return None


def names_used(text: str) -> set[str]:
    """The top-level names a template reads (``customer``, ``deal``, ``invoice`` …)."""
    from jinja2 import meta

    return set(meta.find_undeclared_variables(_environment().parse(text)))


def render(
    text: str, context: Mapping[str, Any], *, field: str = "body", html: bool = False
) -> str:
    """``text`` filled from ``context``; a missing or empty field raises
    :class:`MissingField` naming it.  ``html``: an HTML part, whose fields are escaped
    (a customer named ``<b>An</b>`` is text, not markup)."""
    from jinja2 import UndefinedError
    from jinja2.exceptions import SecurityError

    try:
        return str(_compiled(text, html=html).render(context))
    except MissingField:
        raise MissingField(f"{field}: {_empty_field(text, context)}") from None
    except UndefinedError as exc:
        raise MissingField(f"{field}: {_undefined(exc.message or '', context, text)}") from None
    except SecurityError as exc:
        raise InvalidValue(field, text[:40], f"not allowed in a template ({exc})") from None


def _undefined(message: str, context: Mapping[str, Any], text: str = "") -> str:
    """Jinja2's "'x' is undefined" / "'dict object' has no attribute 'y'" for a seller."""
    import re

    top = re.match(r"'(\w+)' is undefined", message)
    if top:
        name = top.group(1)
        if name in LINKS:
            return f"the template uses {name} fields: give {LINKS[name]}"
        return f"no field {name!r} (fields: {', '.join(sorted(context))})"
    attr = re.search(r"has no attribute '([^']+)'", message)
    if attr:
        key = attr.group(1)
        for name in re.findall(rf"(\w+)\s*\.\s*{re.escape(key)}\b", text):
            record = context.get(name)
            if isinstance(record, Mapping) and key not in record:
                fields = ", ".join(f"{name}.{k}" for k in record)
                return f"no field {name}.{key} (fields: {fields})"
        return f"no field {key!r}: {message}"
    return message


def _empty_field(text: str, context: Mapping[str, Any]) -> str:
    """Which ``{{ a.b }}`` of ``text`` is empty, for the message."""
    import re

    for name, attr in re.findall(r"\{\{\s*(\w+)\.(\w+)\s*\}\}", text):
        value = context.get(name)
        if isinstance(value, Mapping) and attr in value and value[attr] is None:
            who = context.get("customer", {}).get("id") if name != "seller" else None
            owner = f" for customer {who}" if who is not None else ""
            return f'{name}.{attr} is empty{owner} (write {{{{ {name}.{attr} or "…" }}}})'
    return "a field is empty for this recipient"


# The option that supplies each linked record to `template preview` and `send`.
LINKS = {"deal": "--deal", "invoice": "--invoice", "reminder": "--reminder"}


def context(
    db: Database,
    customer_id: int,
    *,
    deal_id: int | None = None,
    invoice_id: int | None = None,
    reminder_id: int | None = None,
) -> dict[str, Any]:
    """The fields a template may use: ``customer``, ``seller``, ``today`` and, when given,
    ``deal``, ``invoice`` and ``reminder``.  Money is formatted in its currency."""
    import json

    from crmcli.clock import today_local
    from crmcli.money import format_money

    db.require("customers", "customer", customer_id)
    row = db.conn.execute(
        "SELECT id, name, name_given, name_family, email, phone, company, title, address, "
        "city, country, birthday, fields FROM customers WHERE id = ?",
        (customer_id,),
    ).fetchone()
    today = today_local()
    birthday = row[11]
    age = None
    if birthday and not birthday.startswith("--"):
        year, month, day = int(birthday[:4]), int(birthday[5:7]), int(birthday[8:10])
        age = today.year - year - ((today.month, today.day) < (month, day))
    customer = {
        "id": row[0], "name": row[1], "first_name": row[2] or row[1].split()[-1],
        "family_name": row[3], "email": row[4], "phone": row[5], "company": row[6],
        "title": row[7], "address": row[8], "city": row[9], "country": row[10],
        "birthday": birthday, "age": age, "fields": json.loads(row[12] or "{}"),
    }  # fmt: skip
    settings = dict(db.conn.execute("SELECT key, value FROM settings WHERE key GLOB 'seller_*'"))
    seller = {k: settings.get(f"seller_{k}") for k in
              ("name", "address", "tax_id", "bank", "email", "phone")}  # fmt: skip
    out: dict[str, Any] = {"customer": customer, "seller": seller, "today": today.isoformat()}
    if deal_id is not None:
        d = db.conn.execute(
            "SELECT d.id, d.title, d.amount, d.currency, s.name, d.close_date, d.customer_id "
            "FROM deals d JOIN stages s ON s.id = d.stage_id WHERE d.id = ?",
            (deal_id,),
        ).fetchone()
        if d is None or d[6] != customer_id:
            raise InvalidValue("--deal", str(deal_id), f"not a deal of customer {customer_id}")
        out["deal"] = {
            "id": d[0], "title": d[1],
            "amount": format_money(d[2], d[3]) if d[2] is not None else None,
            "stage": d[4], "close_date": d[5],
        }  # fmt: skip
    if invoice_id is not None:
        i = db.conn.execute(
            "SELECT i.id, i.number, i.amount, i.currency, i.due_date, i.installment, "
            "i.installments, d.customer_id, i.amount - coalesce((SELECT sum(p.amount) FROM "
            "payments p WHERE p.invoice_id = i.id), 0), d.title, i.issued_on "
            "FROM invoices i JOIN deals d ON d.id = i.deal_id WHERE i.id = ?",
            (invoice_id,),
        ).fetchone()
        if i is None or i[7] != customer_id:
            raise InvalidValue(
                "--invoice", str(invoice_id), f"not an invoice of customer {customer_id}"
            )
        out["invoice"] = {
            "id": i[0], "number": i[1], "amount": format_money(i[2], i[3]),
            "owed": format_money(i[8], i[3]), "due_date": i[4], "issued_on": i[10],
            "installment": i[5], "installments": i[6], "deal": i[9],
        }  # fmt: skip
    if reminder_id is not None:
        r = db.conn.execute(
            "SELECT id, text, due_at, customer_id FROM reminders WHERE id = ?", (reminder_id,)
        ).fetchone()
        if r is None or r[3] != customer_id:
            raise InvalidValue(
                "--reminder", str(reminder_id), f"not a reminder of customer {customer_id}"
            )
        from crmcli.dates import format_local

        out["reminder"] = {"id": r[0], "text": r[1], "due": format_local(r[2])}
    return out


# -- SMS length --------------------------------------------------------------------------

# The GSM 03.38 default alphabet; the extension table's characters count twice.
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


def sms_length(text: str) -> dict[str, Any]:
    """How many SMS segments ``text`` takes: GSM-7 (160 characters alone, 153 a segment when
    split; extension characters count twice) when every character is in the GSM alphabet,
    else UCS-2 (70 alone, 67 a segment; a character outside the BMP, an emoji, counts
    twice).  Vietnamese needs UCS-2."""
    if all(c in _GSM7 or c in _GSM7_EXTENDED for c in text):
        units = sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, part, encoding = 70, 67, "UCS-2"
    segments = 0 if units == 0 else 1 if units <= single else -(-units // part)
    return {"encoding": encoding, "characters": len(text), "units": units,
            "segments": segments}  # fmt: skip


def fields_used(text: str) -> list[str]:
    """The fields a template reads, as a seller writes them: ``customer.first_name``,
    ``invoice.owed``, ``today`` (a whole record, ``{{ customer }}``, stands as its name)."""
    from jinja2 import meta, nodes

    tree = _environment().parse(text)
    found: set[str] = set()
    inner: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node
        key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(target, nodes.Name) and target.ctx == "load" and isinstance(key, str):
            found.add(f"{target.name}.{key}")
            inner.add(id(target))
    declared = set(meta.find_undeclared_variables(tree))
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and id(name) not in inner and name.name in declared:
            found.add(name.name)
    return sorted(found)


def unsubscribe_line(channel: str, seller_email: str | None) -> str:
    """The line every marketing message ends with (the send command appends it, the
    preview shows it): how to stop receiving them."""
    if channel == "sms":
        return "Reply STOP to opt out"
    if seller_email:
        return (
            f"To stop receiving these e-mails, reply with 'unsubscribe' or write to {seller_email}."
        )
    return "To stop receiving these e-mails, reply with 'unsubscribe'."
