"""Sending a template to customers (``crm send``): e-mail through SMTP, SMS through a
configured command, consent checked, every message logged, a rerun sending nothing twice.

A run goes in two passes over its recipients:

1. **Check.**  Each recipient is sorted: already sent in this campaign (passed over), skipped
   (no consent, opted out, no address) or to send, and every message to send is rendered.  A
   template field missing for any one recipient stops the whole run here, before anything is
   sent or written.  Nothing is kept from this pass but counts and the skipped: memory does
   not grow with the number of messages.
2. **Send.**  The connection is opened (a refused login or connection ends the run before
   anything is written), the campaign and its skipped recipients are recorded, then each
   message is rendered again, sent and, right after the server accepts it, recorded in ONE
   transaction: its interaction (type email or sms, linked to the campaign) and its row in
   ``sends`` (status sent, Message-ID).  A rerun of the campaign passes over every (customer,
   reference) already sent.

The one window: a run killed after the SMTP server accepted a message and before that
transaction commits has sent a message it has not recorded, and a rerun sends it again.  The
window is kept short: the SMTP exchange runs on a second thread while this one renders the next
message, and the record is written as soon as that next message is handed over (under a
millisecond at full speed; at once when the rate limit makes the run wait).  Those commits run
with ``PRAGMA synchronous = NORMAL`` (WAL mode): each is safe the moment it returns from a
killed process, but not from a power cut or an operating-system crash, which can lose the last
records (and so resend those messages); an fsync per message (``FULL``, the rest of crmcli)
cost 2-3 ms a message, as much as the SMTP exchange itself.  Permanent failures (5xx, an SMS
command's non-zero exit) are recorded as failed with the server's reason and the run goes on;
a rerun tries them again.  Temporary ones (4xx, a dropped connection) are retried with
exponential backoff.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.core.outreach import consent, templates
from crmcli.db import Database
from crmcli.errors import CrmError, InvalidValue, NotFound, UsageError

if TYPE_CHECKING:
    from concurrent.futures import Future

BIRTHDAYS = ("today", "week")
INVOICES = ("overdue", "due-today")
MAX_ATTEMPTS = 4  # a temporary failure is tried this many times in all
BACKOFF_ENV = "CRM_SEND_BACKOFF"  # seconds before the first retry (doubling after), default 5
PASSWORD_ENV = "CRM_SMTP_PASSWORD"
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
SMS_TIMEOUT_S = 60

# A target: (customer id, reference, deal id, invoice id).  The reference tells apart two
# messages of one campaign to one customer (two overdue invoices): 'invoice:12', else ''.
Target = tuple[int, str, int | None, int | None]


class Temporary(Exception):
    """A failure worth trying again (SMTP 4xx, a dropped connection)."""


class Permanent(Exception):
    """A failure recorded against the recipient (SMTP 5xx, the SMS command failed)."""


# -- the template and the campaign ---------------------------------------------------------


def load_template(db: Database, name: str) -> dict[str, Any]:
    row = db.one(
        "SELECT id, name, channel, kind, subject, body, html FROM templates WHERE name = ?",
        (name.strip(),),
    )
    if row is None:
        raise NotFound("template", name)
    return row


def default_campaign(template_name: str) -> str:
    """``birthday 2026-11-23``: a rerun the same day resumes, tomorrow is a new campaign."""
    from crmcli.clock import today_local

    return f"{template_name} {today_local().isoformat()}"


def find_campaign(db: Database, name: str, template: dict[str, Any]) -> int | None:
    """The campaign ``name`` if it exists and sends ``template``; None if it does not exist."""
    row = db.one("SELECT id, template_id FROM campaigns WHERE name = ?", (name,))
    if row is None:
        return None
    if row["template_id"] != template["id"]:
        other = db.scalar("SELECT name FROM templates WHERE id = ?", (row["template_id"],))
        sent = f"template {other!r}" if other else "a deleted template"
        raise UsageError(
            f"campaign {name!r} sends {sent}, not {template['name']!r}; give another --campaign"
        )
    return int(row["id"])


# -- recipients ----------------------------------------------------------------------------


def targets(
    db: Database,
    *,
    customer_ids: Iterable[int] = (),
    segment: str | None = None,
    birthdays: str | None = None,
    invoices: str | None = None,
) -> list[Target]:
    """Who a run is for, in order, each (customer, reference) once."""
    from crmcli.clock import today_local

    out: list[Target] = []
    if segment is not None:
        try:
            from crmcli.core.outreach import segments  # type: ignore[attr-defined,unused-ignore]
        except ImportError:
            raise UsageError("--segment: segments are not part of this version") from None
        members = segments.members

        out = [(int(c), "", None, None) for c in members(db, segment)]
    elif birthdays is not None:
        from datetime import timedelta

        from crmcli.core.due import birthday_marks

        today = today_local()
        last = today if birthdays == "today" else today + timedelta(days=6)
        marks = birthday_marks(today, last)
        rows = db.conn.execute(
            "SELECT id FROM customers WHERE birthday IS NOT NULL AND substr(birthday, -5) IN "
            f"({', '.join('?' * len(marks))}) ORDER BY id",
            marks,
        )
        out = [(int(r[0]), "", None, None) for r in rows]
    elif invoices is not None:
        test = "i.due_date < ?" if invoices == "overdue" else "i.due_date = ?"
        rows = db.conn.execute(
            "SELECT d.customer_id, i.id, i.deal_id FROM invoices i "
            f"JOIN deals d ON d.id = i.deal_id WHERE i.status = 'open' AND {test} "
            "AND d.customer_id IS NOT NULL "
            "ORDER BY i.due_date, i.id",
            (today_local().isoformat(),),
        )
        out = [(int(c), f"invoice:{i}", int(d), int(i)) for c, i, d in rows]
    else:
        for ident in customer_ids:
            db.require("customers", "customer", ident)
            out.append((ident, "", None, None))
    seen: set[tuple[int, str]] = set()
    unique = []
    for target in out:
        if (target[0], target[1]) not in seen:
            seen.add((target[0], target[1]))
            unique.append(target)
    return unique


# -- the settings of a run -----------------------------------------------------------------


def _backoff() -> float:
    raw = os.environ.get(BACKOFF_ENV, "").strip()
    if not raw:
        return 5.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 600:
        raise InvalidValue(BACKOFF_ENV, raw, "seconds from 0 to 600, e.g. 5")
    return value


def password(db: Database) -> str | None:
    """The SMTP password: ``CRM_SMTP_PASSWORD``, else the file of ``smtp_password_file``
    (:func:`crmcli.core.settings.secret`), else None."""
    from crmcli.core.settings import secret

    return secret(db, PASSWORD_ENV, "smtp_password_file")


def sender(db: Database) -> str:
    """The From of e-mail: ``mail_from``, else the seller's name and e-mail."""
    value = db.setting("mail_from")
    if value:
        return value
    addr = db.setting("seller_email")
    if addr:
        name = db.setting("seller_name")
        return f"{name} <{addr}>" if name else addr
    raise UsageError('no sender: crm config set mail_from "Your Name <you@example.com>"')


# -- transports ----------------------------------------------------------------------------


class Smtp:
    """One SMTP connection for the whole run (reopened only if the server drops it)."""

    def __init__(self, db: Database) -> None:
        host = db.setting("smtp_host")
        if not host:
            raise UsageError("no SMTP server: crm config set smtp_host HOST (and smtp_port …)")
        self.host = host
        self.security = db.setting("smtp_security", "starttls") or "starttls"
        self.port = int(db.setting("smtp_port") or DEFAULT_PORTS[self.security])
        self.user = db.setting("smtp_user")
        self.password = password(db) if self.user else None
        if self.user and self.password is None:
            raise UsageError(
                f"no SMTP password for {self.user}: set {PASSWORD_ENV}, or crm config set "
                "smtp_password_file FILE (mode 0600)"
            )
        self.conn: Any = None

    def open(self) -> None:
        import smtplib
        import ssl

        where = f"{self.host}:{self.port}"
        try:
            if self.security == "tls":
                conn: Any = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=60, context=ssl.create_default_context()
                )
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=60)
            conn.ehlo()
            if self.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if self.user:
                conn.login(self.user, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            text = _reply(exc.smtp_error)
            raise CrmError(
                f"the SMTP server {where} refused the login of {self.user}: "
                f"{exc.smtp_code} {text}; nothing was sent"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise CrmError(
                f"cannot reach the SMTP server {where}: {reason}; nothing was sent"
            ) from None
        self.conn = conn

    def send(self, data: bytes, from_addr: str, to_addr: str) -> None:
        import smtplib

        if self.conn is None:  # dropped by the server: a new connection, tried again later
            try:
                self.open()
            except CrmError as exc:
                raise Temporary(str(exc).removesuffix("; nothing was sent")) from None
        try:
            refused = self.conn.sendmail(from_addr, [to_addr], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            _raise(code, text)
        except smtplib.SMTPServerDisconnected as exc:
            self.conn = None
            raise Temporary(f"connection lost: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            _raise(exc.smtp_code, exc.smtp_error)
        except OSError as exc:
            self._drop()
            raise Temporary(f"connection lost: {exc.strerror or exc}") from None
        if refused:
            code, text = next(iter(refused.values()))
            _raise(code, text)

    def _drop(self) -> None:
        conn, self.conn = self.conn, None
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - it is gone either way
            pass

    def close(self) -> None:
        import smtplib

        if self.conn is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self.conn = None


def _reply(text: Any) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(str(text).split())


def _raise(code: int, text: Any) -> None:
    reason = f"{code} {_reply(text)}"
    if 400 <= code < 500:
        raise Temporary(reason)
    raise Permanent(reason)


class Sms:
    """The ``sms_command``: split like a shell line but run without a shell, ``{number}``
    and ``{text}`` replaced in its arguments (or appended when it names neither)."""

    def __init__(self, db: Database) -> None:
        import shlex
        import shutil

        line = db.setting("sms_command")
        if not line:
            raise UsageError(
                "no SMS command: crm config set sms_command 'your-gateway send {number} {text}'"
            )
        self.words = shlex.split(line)
        if shutil.which(self.words[0]) is None:
            raise UsageError(f"sms_command: no program {self.words[0]!r}")

    def open(self) -> None:
        pass

    def argv(self, number: str, text: str) -> list[str]:
        if any("{number}" in w or "{text}" in w for w in self.words):
            return [w.replace("{number}", number).replace("{text}", text) for w in self.words]
        return [*self.words, number, text]

    def send(self, number: str, text: str) -> None:
        import subprocess

        try:
            done = subprocess.run(
                self.argv(number, text), capture_output=True, timeout=SMS_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise Permanent(f"sms_command timed out after {SMS_TIMEOUT_S} s") from None
        except OSError as exc:
            raise Permanent(f"sms_command: {exc.strerror or exc}") from None
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise Permanent(err[-1][:500] if err else f"sms_command exited {done.returncode}")

    def close(self) -> None:
        pass


# -- one message ---------------------------------------------------------------------------


class Message:
    __slots__ = ("customer_id", "ref", "name", "address", "subject", "text", "html")

    def __init__(
        self, customer_id: int, ref: str, name: str, address: str,
        subject: str | None, text: str, html: str | None,
    ) -> None:  # fmt: skip
        self.customer_id, self.ref, self.name, self.address = customer_id, ref, name, address
        self.subject, self.text, self.html = subject, text, html

    def line(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "customer": self.name, "ref": self.ref,
                "address": self.address, "subject": self.subject or self.text}  # fmt: skip


def _escaped(value: Any) -> Any:
    """The context with every text HTML-escaped, for the HTML part: a customer called
    ``<b>An</b>`` reads as such, not as markup."""
    from html import escape

    if isinstance(value, str):
        return escape(value)
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


class Run:
    """One ``crm send``: see the module's docstring for its two passes."""

    def __init__(
        self,
        db: Database,
        template_name: str,
        *,
        campaign: str | None = None,
        customer_ids: Iterable[int] = (),
        segment: str | None = None,
        birthdays: str | None = None,
        invoices: str | None = None,
        limit: int | None = None,
    ) -> None:
        self.db = db
        self.template = load_template(db, template_name)
        self.channel = str(self.template["channel"])
        self.kind = str(self.template["kind"])
        name = (campaign or "").strip() or default_campaign(self.template["name"])
        if len(name) > 200:
            raise InvalidValue("--campaign", name, "at most 200 characters")
        self.campaign = name
        self.campaign_id = find_campaign(db, name, self.template)
        self.command: int | None = None  # the run's command, once its first write is saved
        self.targets = targets(
            db, customer_ids=customer_ids, segment=segment, birthdays=birthdays, invoices=invoices
        )
        self.limit = limit or None
        self.seller_email = db.setting("seller_email")
        self.unsubscribe = (
            templates.unsubscribe_line(self.channel, self.seller_email)
            if self.kind == "marketing"
            else None
        )
        # What the campaign has recorded: (customer, ref) -> (status, reason).
        self.recorded: dict[tuple[int, str], tuple[str, str | None]] = {}
        if self.campaign_id is not None:
            for cid, ref, status, reason in db.conn.execute(
                "SELECT customer_id, ref, status, reason FROM sends WHERE campaign_id = ?",
                (self.campaign_id,),
            ):
                self.recorded[(cid, ref)] = (status, reason)
        # Filled by check():
        self.to_send: list[Target] = []
        self.skipped: list[dict[str, Any]] = []
        self.already = 0
        self.sent = 0
        self.failures: list[dict[str, Any]] = []

    # -- pass 1 --------------------------------------------------------------------------

    def _recipient(self, customer_id: int) -> tuple[str, str | None]:
        row = self.db.conn.execute(
            "SELECT name, email, phone FROM customers WHERE id = ?", (customer_id,)
        ).fetchone()
        return str(row[0]), (row[1] if self.channel == "email" else row[2])

    def render(self, target: Target, name: str, address: str) -> Message:
        cid, ref, deal_id, invoice_id = target
        ctx = templates.context(self.db, cid, deal_id=deal_id, invoice_id=invoice_id)
        t = self.template
        subject = templates.render(t["subject"], ctx, field="subject") if t["subject"] else None
        text = templates.render(t["body"], ctx, field="body")
        html = templates.render(t["html"], _escaped(ctx), field="html") if t["html"] else None
        if self.unsubscribe:
            text = text.rstrip("\n") + "\n\n" + self.unsubscribe + "\n"
            if html is not None:
                from html import escape

                html += f"\n<p>{escape(self.unsubscribe)}</p>\n"
        if self.channel == "sms":
            text = text.strip()
        return Message(cid, ref, name, address, subject, text, html)

    def check(self, on_message: Callable[[Message], None] | None = None) -> None:
        """Sort every recipient and render every message (:class:`templates.MissingField`
        stops the run: nothing is sent or written yet).  ``on_message`` sees each message
        to send (``--dry-run`` prints them)."""
        for target in self.targets:
            if self.limit is not None and len(self.to_send) >= self.limit:
                break
            cid, ref = target[0], target[1]
            if self.recorded.get((cid, ref), ("",))[0] == "sent":
                self.already += 1
                continue
            name, address = self._recipient(cid)
            reason = None
            if not address:
                reason = "no address" if self.channel == "email" else "no phone"
            else:
                reason = consent.may_send(consent.status_of(self.db, cid, self.channel), self.kind)
            if reason is not None:
                self.skipped.append({"customer_id": cid, "customer": name, "ref": ref,
                                     "address": address, "reason": reason})  # fmt: skip
                continue
            assert address is not None
            message = self.render(target, name, address)
            if on_message is not None:
                on_message(message)
            self.to_send.append(target)

    def new_skips(self) -> list[dict[str, Any]]:
        """The skipped recipients not recorded so with this reason already."""
        return [
            s for s in self.skipped
            if self.recorded.get((s["customer_id"], s["ref"])) != ("skipped", s["reason"])
        ]  # fmt: skip

    @property
    def quiet(self) -> bool:
        """Nothing to send and nothing new to record: cron hears nothing."""
        return not self.to_send and not self.new_skips()

    # -- pass 2 --------------------------------------------------------------------------

    def transport(self) -> Any:
        return Smtp(self.db) if self.channel == "email" else Sms(self.db)

    def execute(self, transport: Any, on_failure: Callable[[dict[str, Any]], None]) -> None:
        """Send what :meth:`check` found to send, recording each message as it goes.

        The SMTP exchange (or the SMS command) runs on a second thread, one message at a
        time and in order, while this thread renders the next message and records the one
        the server has just accepted: the waiting on the server overlaps the work on our
        side (bench/send.py).  A message is recorded as soon as the next one is handed over,
        or at once when the rate limit makes the run wait (the window in the module's
        docstring)."""
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        from crmcli.clock import now_local, to_utc_iso

        from_text = sender(self.db) if self.channel == "email" else None
        if self.to_send:
            transport.open()  # a refused login: nothing written
        # One commit per message: in WAL mode, synchronous NORMAL keeps each commit safe
        # from a killed process (the case the send log is for) without an fsync each; only
        # a power cut or an OS crash could lose the last records (see the docstring).
        synchronous = self.db.conn.execute("PRAGMA synchronous").fetchone()[0]
        self.db.conn.execute("PRAGMA synchronous = NORMAL")
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-send")
        inflight: deque[tuple[_Prepared, Future[tuple[str | None, int]]]] = deque()
        try:
            with self.db.write():
                self._record_campaign(to_utc_iso(now_local()))
            # Every message's record continues this command: one run, one undo.
            self.command = self.db.saved[-1]
            rate = int(self.db.setting("send_rate", "60") or 60)
            interval = 60.0 / rate
            backoff = _backoff()
            next_at = time.monotonic()
            for target in self.to_send:
                prepared = self._prepare(target, from_text)
                delay = next_at - time.monotonic()
                if delay > 0:  # waiting for the rate limit: record what is out first
                    while inflight:
                        self._record(*inflight.popleft(), on_failure)
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                next_at = max(next_at + interval, time.monotonic())
                inflight.append((prepared, pool.submit(_deliver, transport, prepared, backoff)))
                while len(inflight) > 1:
                    self._record(*inflight.popleft(), on_failure)
            while inflight:
                self._record(*inflight.popleft(), on_failure)
        finally:
            # Interrupted (Ctrl-C, a failed write): what has not started is not sent, what
            # the server accepted is still recorded if the database lets us.
            for _, future in inflight:
                future.cancel()
            pool.shutdown(wait=True)
            try:
                while inflight:
                    prepared, future = inflight.popleft()
                    if not future.cancelled() and future.exception() is None:
                        self._record(prepared, future, on_failure)
            except Exception:  # noqa: BLE001 - the error that stopped the run is the one to report
                pass
            transport.close()
            self.db.conn.execute(f"PRAGMA synchronous = {int(synchronous)}")

    def _record_campaign(self, at: str) -> None:
        import uuid

        db = self.db
        if self.campaign_id is None:
            cur = db.execute(
                "INSERT INTO campaigns (uid, name, template_id, channel, kind, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (str(uuid.uuid4()), self.campaign, self.template["id"], self.channel,
                 self.kind, at),
            )  # fmt: skip
            self.campaign_id = int(cur.lastrowid or 0)
        db.executemany(
            _UPSERT_SEND,
            [(self.campaign_id, s["customer_id"], s["ref"], self.channel, s["address"],
              "skipped", s["reason"], None, None, 0, at) for s in self.new_skips()],
        )  # fmt: skip

    def _prepare(self, target: Target, from_text: str | None) -> _Prepared:
        """The message to ``target``, rendered and (e-mail) written out as bytes."""
        name, address = self._recipient(target[0])
        assert address is not None
        message = self.render(target, name, address)
        if self.channel != "email":
            return _Prepared(message, message.text, None, None, None, None)
        from email.utils import make_msgid

        from crmcli.core.outreach import mime

        assert from_text is not None and message.subject is not None
        from_addr = mime.split_address(from_text)[1]
        message_id = make_msgid(domain=from_addr.rpartition("@")[2])
        msg = mime.build(
            sender=from_text, to_name=message.name, to_addr=message.address,
            subject=message.subject, text=message.text, html=message.html,
            unsubscribe=(self.seller_email or from_addr) if self.kind == "marketing" else None,
            message_id=message_id,
        )  # fmt: skip
        return _Prepared(
            message, f"{message.subject}\n\n{message.text}", message_id, mime.as_bytes(msg),
            from_addr, mime.ascii_address(message.address),
        )  # fmt: skip

    def _record(
        self,
        prepared: _Prepared,
        future: Future[tuple[str | None, int]],
        on_failure: Callable[[dict[str, Any]], None],
    ) -> None:
        """Wait for the message's result and record it in one transaction."""
        from crmcli.clock import now_local, to_utc_iso

        failure, attempts = future.result()
        message = prepared.message
        at = to_utc_iso(now_local())
        row = [self.campaign_id, message.customer_id, message.ref, self.channel,
               message.address]  # fmt: skip
        if failure is None:
            # The server has the message: record it at once (the window in the docstring).
            with self.db.write(resume=self.command):
                interaction = _log(
                    self.db,
                    message,
                    self.channel,
                    prepared.body,
                    self.campaign_id,
                    at,
                    prepared.message_id,
                )
                self.db.execute(
                    _UPSERT_SEND,
                    (*row, "sent", None, prepared.message_id, interaction, attempts, at),
                )
            self.sent += 1
        else:
            with self.db.write(resume=self.command):
                self.db.execute(_UPSERT_SEND, (*row, "failed", failure, None, None, attempts, at))
            item = {**message.line(), "reason": failure}
            self.failures.append(item)
            on_failure(item)

    # -- what happened -------------------------------------------------------------------

    def summary(self, *, dry_run: bool = False) -> str:
        """``Sent 12, skipped 3 (2 no consent, 1 no address), failed 0 — campaign X``."""
        from collections import Counter

        reasons = Counter(s["reason"] for s in self.skipped)
        why = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items(), key=lambda x: -x[1]))
        skipped = f"skipped {len(self.skipped)}" + (f" ({why})" if why else "")
        before = f", {self.already} sent before" if self.already else ""
        if dry_run:
            return (
                f"Would send {len(self.to_send)}, {skipped}{before} — campaign {self.campaign} "
                "(dry run: nothing sent, nothing written)"
            )
        return (
            f"Sent {self.sent}, {skipped}, failed {len(self.failures)}{before} — "
            f"campaign {self.campaign}"
        )


class _Prepared:
    """A message ready to go: what is recorded (``body``, ``message_id``) and, for e-mail,
    what goes over the wire (``data`` from ``from_addr`` to ``to_addr``)."""

    __slots__ = ("message", "body", "message_id", "data", "from_addr", "to_addr")

    def __init__(
        self, message: Message, body: str, message_id: str | None, data: bytes | None,
        from_addr: str | None, to_addr: str | None,
    ) -> None:  # fmt: skip
        self.message, self.body, self.message_id = message, body, message_id
        self.data, self.from_addr, self.to_addr = data, from_addr, to_addr


def _deliver(transport: Any, prepared: _Prepared, backoff: float) -> tuple[str | None, int]:
    """Send one message, trying a temporary failure again with exponential backoff:
    (None, attempts) once the server accepted it, (reason, attempts) if it did not.  Runs
    on the sending thread: it touches the transport only, never the database."""
    attempts = 0
    while True:
        attempts += 1
        try:
            if prepared.data is not None:
                transport.send(prepared.data, prepared.from_addr, prepared.to_addr)
            else:
                transport.send(prepared.message.address, prepared.message.text)
            return None, attempts
        except Temporary as exc:
            if attempts >= MAX_ATTEMPTS:
                return f"{exc} (after {attempts} attempts)", attempts
            time.sleep(backoff * 2 ** (attempts - 1))
        except Permanent as exc:
            return str(exc), attempts


_UPSERT_SEND = (
    "INSERT INTO sends (campaign_id, customer_id, ref, channel, address, status, reason, "
    "message_id, interaction_id, attempts, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (campaign_id, customer_id, ref) DO UPDATE SET channel = excluded.channel, "
    "address = excluded.address, status = excluded.status, reason = excluded.reason, "
    "message_id = excluded.message_id, interaction_id = excluded.interaction_id, "
    "attempts = sends.attempts + excluded.attempts, at = excluded.at"
)


def _log(
    db: Database, message: Message, channel: str, body: str, campaign_id: Any, at: str,
    message_id: str | None = None,
) -> int:  # fmt: skip
    """The message as an interaction of the customer (what ``customer log`` writes, with
    its campaign, direction ``out`` and, for e-mail, its Message-ID as the key that
    ``crm mail import`` knows it by); the customer's last contact follows from it."""
    import uuid

    from crmcli.text import NOTE_MAX, clean

    text = clean(body[: NOTE_MAX - 1], field="body", limit=NOTE_MAX, required=True)
    cur = db.execute(
        "INSERT INTO interactions (uid, customer_id, type, body, happened_at, created_at, "
        "campaign_id, direction, message_key) VALUES (?, ?, ?, ?, ?, ?, ?, 'out', ?)",
        (
            str(uuid.uuid4()),
            message.customer_id,
            channel,
            text,
            at,
            at,
            campaign_id,
            message_id.strip("<>") if message_id else None,
        ),
    )
    return int(cur.lastrowid or 0)


# -- dry run files -------------------------------------------------------------------------


def write_file(folder: Path, seq: int, run: Run, message: Message) -> Path:
    """One message of a dry run as a file (mode 0600): ``.eml`` for e-mail, ``.txt`` for
    SMS, named by its order and recipient only (never by a name or an address)."""
    ref = f"-{message.ref.replace(':', '-')}" if message.ref else ""
    stem = f"{seq:05d}-customer-{message.customer_id}{ref}"
    if run.channel == "email":
        from crmcli.core.outreach import mime

        from_text = sender(run.db)
        assert message.subject is not None
        msg = mime.build(
            sender=from_text, to_name=message.name, to_addr=message.address,
            subject=message.subject, text=message.text, html=message.html,
            unsubscribe=(run.seller_email or mime.split_address(from_text)[1])
            if run.kind == "marketing" else None,
        )  # fmt: skip
        data = mime.as_bytes(msg)
        path = folder / f"{stem}.eml"
    else:
        data = f"To: {message.address}\n\n{message.text}".encode()
        path = folder / f"{stem}.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)
    return path


def lines(messages: Iterable[Message]) -> Iterator[dict[str, Any]]:
    for m in messages:
        yield m.line()
