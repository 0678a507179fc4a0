"""``crm mail import``: the messages of a mailbox matched to customers and leads by their
addresses and logged as e-mail interactions, once each.

A message's every From, To and Cc address is looked up among the customers' and leads'
e-mail addresses (the main one and the other ones kept as custom fields ``email_…``, case
ignored); the seller's own addresses (``--me``, default the ``mail_from`` setting) tell
incoming mail from outgoing.  Each match gets one interaction of type ``email`` with the
message's direction, time (its Date, in UTC), subject and text, and the message's key (its
Message-ID, or a hash of its headers): a record that has an interaction with that key, or
that crm itself sent the message to (``crm send`` keeps the Message-ID), is passed over, so
importing a mailbox again adds only what is new.  With ``new_leads``, an incoming personal
message (not a list, newsletter or automatic reply) from an unknown sender makes a lead
(source ``email``).  The whole import is one transaction: one command for ``crm undo``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from crmcli.core.mail.reading import Broken, Mail
from crmcli.db import Database
from crmcli.text import NOTE_MAX

Record = tuple[str, int]  # ("customer", 12) or ("lead", 3)


@dataclass
class Report:
    """What an import did (or, dry, would do)."""

    read: int = 0  # messages read
    imported: int = 0  # messages that gave at least one interaction
    interactions: int = 0
    customers: set[int] = field(default_factory=set)
    leads: set[int] = field(default_factory=set)
    new_leads: int = 0
    forms: int = 0  # web-form notifications read
    already: int = 0  # messages every match of which had them already
    unmatched: int = 0
    older: int = 0  # before --since
    broken: list[Broken] = field(default_factory=list)

    def summary(self, *, dry_run: bool = False) -> str:
        def n(count: int, noun: str) -> str:
            return f"{count:,} {noun}" + ("" if count == 1 else "s")

        verb = "Would import" if dry_run else "Imported"
        parts = [
            f"{verb} {self.imported:,} of {n(self.read, 'message')}: "
            f"{n(self.interactions, 'interaction')} on {n(len(self.customers), 'customer')} "
            f"and {n(len(self.leads), 'lead')}"
        ]
        if self.forms:
            parts.append(n(self.forms, "web-form submission"))
        if self.new_leads:
            parts.append(f"{n(self.new_leads, 'new lead')}")
        if self.already:
            parts.append(f"{self.already} imported before")
        if self.unmatched:
            parts.append(f"{self.unmatched} not matched")
        if self.older:
            parts.append(f"{self.older} older than --since")
        if self.broken:
            parts.append(f"{len(self.broken)} unreadable (skipped)")
        tail = " (dry run: nothing written)" if dry_run else ""
        return "; ".join(parts) + tail


class AddressBook:
    """E-mail address -> the customers and leads that have it, looked up as needed (the
    main addresses through their indexes, the other ones read once)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.cache: dict[str, list[Record]] = {}
        self.extra: dict[str, list[Record]] = {}
        rows = db.conn.execute(
            "SELECT c.id, j.value FROM customers c, json_each(c.fields) j "
            "WHERE c.fields NOT IN ('', '{}') AND j.key LIKE 'email%' AND j.type = 'text'"
        )
        for cid, value in rows:
            addr = str(value).strip().lower()
            if addr:
                self.extra.setdefault(addr, []).append(("customer", int(cid)))

    def find(self, addr: str) -> list[Record]:
        found = self.cache.get(addr)
        if found is None:
            found = [
                ("customer", int(r[0]))
                for r in self.db.conn.execute(
                    "SELECT id FROM customers WHERE email = ? COLLATE NOCASE ORDER BY id", (addr,)
                )
            ]
            for record in self.extra.get(addr, ()):
                if record not in found:
                    found.append(record)
            # A lead converted into a customer is that customer now: its mail goes there.
            found += [
                ("lead", int(r[0]))
                for r in self.db.conn.execute(
                    "SELECT id FROM leads WHERE email = ? COLLATE NOCASE "
                    "AND status != 'converted' ORDER BY id",
                    (addr,),
                )
            ]
            if len(self.cache) > 100_000:
                self.cache.clear()
            self.cache[addr] = found
        return found

    def add(self, addr: str, record: Record) -> None:
        self.cache.setdefault(addr, []).append(record)

    def by_phone(self, phone: str) -> list[Record]:
        """The customers and leads (not converted) with this phone, as stored (E.164 when
        the country is known)."""
        found: list[Record] = [
            ("customer", int(r[0]))
            for r in self.db.conn.execute(
                "SELECT id FROM customers WHERE phone = ? ORDER BY id", (phone,)
            )
        ]
        found += [
            ("lead", int(r[0]))
            for r in self.db.conn.execute(
                "SELECT id FROM leads WHERE phone = ? AND status != 'converted' ORDER BY id",
                (phone,),
            )
        ]
        return found


class Intake:
    """One import: call :meth:`take` for each message (inside ``db.write()`` unless
    ``dry_run``), then read :attr:`report`."""

    def __init__(
        self,
        db: Database,
        *,
        me: Iterable[str],
        since: str | None = None,
        new_leads: bool = False,
        forms: Iterable[str] = (),
        form_map: dict[str, str] | None = None,
        dry_run: bool = False,
        on_message: Callable[[Mail, str, list[Record]], None] | None = None,
    ) -> None:
        from crmcli.clock import utc_now_iso

        self.db = db
        self.me = {a.strip().lower() for a in me if a.strip()}
        self.since = since
        self.new_leads = new_leads
        self.forms = list(forms)
        self.form_map = form_map or {}
        from crmcli.core import settings

        self.config = settings.load(db)
        self.dry_run = dry_run
        self.on_message = on_message
        self.book = AddressBook(db)
        self.report = Report()
        self.now = utc_now_iso()
        self.seen_keys: set[tuple[str, Record]] = set()  # for a dry run
        # Set by the caller when the search index's trigger is paused: indexes one
        # interaction (core/search_index.py).
        self.index: Callable[[int, str], None] | None = None

    def take(self, mail: Mail) -> None:
        r = self.report
        r.read += 1
        if self.since is not None and mail.at < self.since:
            r.older += 1
            return
        if self.forms and mail.sender not in self.me:
            from crmcli.core.mail import forms

            if forms.matches(mail.subject, self.forms):
                self._form(mail)
                return
        direction = "out" if mail.sender in self.me else "in"
        records: list[Record] = []
        for addr in mail.addresses():
            if addr in self.me:
                continue
            for record in self.book.find(addr):
                if record not in records:
                    records.append(record)
        made_lead = False
        if not records and self.new_leads and direction == "in" and not mail.bulk:
            if mail.sender and mail.sender not in self.me:
                name = mail.sender_name.strip() or mail.sender.partition("@")[0]
                records.append(self._lead({"name": name[:200], "email": mail.sender}, "email"))
                made_lead = True
        if not records:
            r.unmatched += 1
            return
        self._record(mail, records, direction, made_lead, lambda: body(mail))

    def _record(
        self,
        mail: Mail,
        records: list[Record],
        direction: str,
        made_lead: bool,
        text: Callable[[], str],
    ) -> None:
        """Log ``mail`` on each of ``records`` that does not have it yet, with the text
        ``text()`` gives (made once, only when there is something to log)."""
        r = self.report
        fresh = [rec for rec in records if not self._has(rec, mail.key)]
        if not fresh:
            r.already += 1
            return
        r.imported += 1
        r.new_leads += made_lead
        logged = text()
        for record in fresh:
            self._write(record, mail, direction, logged)
            r.interactions += 1
            (r.customers if record[0] == "customer" else r.leads).add(record[1])
        if self.on_message is not None:
            self.on_message(mail, direction, fresh)

    def _form(self, mail: Mail) -> None:
        """A web-form notification: logged on the customer or lead its e-mail or phone
        belongs to, else a new lead (source web) with the message as its first interaction."""
        from crmcli.core.mail import forms

        r = self.report
        r.forms += 1
        submission = forms.parse(mail.text, self.form_map)
        values = self._checked(submission)
        records: list[Record] = []
        if "email" in values:
            records += self.book.find(str(values["email"]))
        if "phone" in values:
            phone = str(values["phone"])
            records += [rec for rec in self.book.by_phone(phone) if rec not in records]
        made_lead = False
        if not records:
            name = values.get("name") or (
                str(values["email"]).partition("@")[0] if values.get("email") else "Web form"
            )
            records = [self._lead({**values, "name": name}, "web")]
            made_lead = True
        self._record(mail, records, "in", made_lead, lambda: fit(submission.text(mail.subject)))

    def _checked(self, submission: Any) -> dict[str, str | int | None]:
        """The submission's lead fields that are valid; an invalid one (a phone the
        country's rules refuse) goes to the text instead of failing the import."""
        from crmcli.core import leads
        from crmcli.errors import CrmError

        values: dict[str, str | int | None] = {}
        for name, raw in submission.values.items():
            try:
                values[name] = leads.check_value(name, raw, self.config)
            except CrmError:
                submission.other.append(f"{name}: {raw}")
        if isinstance(values.get("email"), str):
            values["email"] = str(values["email"]).lower()
        return values

    # -- the records ---------------------------------------------------------------------

    def _has(self, record: Record, key: str) -> bool:
        kind, ident = record
        if (key, record) in self.seen_keys:
            return True
        column = "customer_id" if kind == "customer" else "lead_id"
        if self.db.conn.execute(
            f"SELECT 1 FROM interactions WHERE message_key = ? AND {column} = ?", (key, ident)
        ).fetchone():
            return True
        if kind == "customer":  # sent by crm send: already in the timeline
            return bool(
                self.db.conn.execute(
                    "SELECT 1 FROM sends WHERE message_id = ? AND customer_id = ?",
                    (f"<{key}>", ident),
                ).fetchone()
            )
        return False

    def _answered(self, customer_id: int, mail: Mail) -> int | None:
        """The campaign of the message crm sent the customer that ``mail`` replies to
        (its In-Reply-To or References), if any."""
        refs = [f"<{ref}>" for ref in mail.references[-50:]]
        if not refs:
            return None
        row = self.db.conn.execute(
            f"SELECT campaign_id FROM sends WHERE customer_id = ? AND message_id IN "
            f"({', '.join('?' * len(refs))}) ORDER BY at DESC LIMIT 1",
            (customer_id, *refs),
        ).fetchone()
        return None if row is None else int(row[0])

    def _lead(self, values: dict[str, Any], source: str) -> Record:
        """A new lead of ``values`` (``name`` and what the message gave), from ``source``
        (``email``: an unknown sender; ``web``: a form); in a dry run, a stand-in.  Its
        e-mail finds it for the rest of the import."""
        record: Record = ("lead", 0)
        if not self.dry_run:
            from crmcli.core import leads

            record = ("lead", leads.add(self.db, leads.LeadInput({**values, "source": source})))
        if values.get("email"):
            self.book.add(str(values["email"]), record)
        return record

    def _write(self, record: Record, mail: Mail, direction: str, text: str) -> None:
        if self.dry_run:
            self.seen_keys.add((mail.key, record))
            return
        from crmcli.core import customers, leads

        kind, ident = record
        if kind == "customer":
            campaign = self._answered(ident, mail) if direction == "in" else None
            interaction = customers.log(self.db, ident, "email", text, mail.at,
                                        direction=direction, message_key=mail.key,
                                        campaign_id=campaign)  # fmt: skip
        else:  # a new lead becomes contacted
            interaction = leads.log(self.db, ident, "email", text, mail.at, direction=direction,
                                    message_key=mail.key).interaction_id  # fmt: skip
        if self.index is not None:
            self.index(interaction, text)


def body(mail: Mail) -> str:
    """The interaction's text: the subject, the message's text and its attachments by name
    and size, within the length of a note."""
    parts = [mail.subject or "(no subject)"]
    if mail.text:
        parts.append(mail.text)
    if mail.attachments:
        listed = ", ".join(f"{name} ({_size(size)})" for name, size in mail.attachments)
        parts.append(f"Attachments: {listed}")
    return fit("\n\n".join(parts))


def fit(text: str) -> str:
    """``text`` as a note holds it: cleaned, cut with … when longer than a note."""
    from crmcli.text import clean

    if len(text) > NOTE_MAX - 1:
        text = text[: NOTE_MAX - 2] + "…"
    cleaned = clean(text, field="body", limit=NOTE_MAX, required=True)
    assert cleaned is not None
    return cleaned


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def default_me(db: Database) -> list[str]:
    """The seller's addresses when ``--me`` is not given: ``mail_from`` and ``seller_email``."""
    from email.utils import parseaddr

    out = []
    for key in ("mail_from", "seller_email"):
        value = db.setting(key)
        if value:
            addr = parseaddr(value)[1].strip().lower()
            if "@" in addr and addr not in out:
                out.append(addr)
    return out


def as_row(mail: Mail, direction: str, records: list[Record]) -> dict[str, Any]:
    """One line of a dry run or ``--verbose``."""
    return {
        "at": mail.at, "direction": direction,
        "records": ", ".join(f"{k} {i}" if i else f"new {k}" for k, i in records),
        "from": mail.sender, "subject": mail.subject,
    }  # fmt: skip
