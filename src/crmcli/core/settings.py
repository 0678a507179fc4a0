"""Settings stored in the database (``crm config``), with their defaults and checks."""

from __future__ import annotations

from collections.abc import Callable

from crmcli.db import Database
from crmcli.errors import InvalidValue, UsageError


def _date_order(value: str) -> str:
    from crmcli.dates import DATE_ORDERS

    order = value.strip().upper()
    if order not in DATE_ORDERS:
        raise InvalidValue("date_order", value, f"choose one of {', '.join(DATE_ORDERS)}")
    return order


def _country(value: str) -> str:
    from crmcli.validate import normalize_country_code

    return normalize_country_code(value, field="country")


def _currency(value: str) -> str:
    from crmcli.money import normalize_currency

    return normalize_currency(value, field="currency")


def _duration(key: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        from crmcli.dates import format_duration, parse_duration

        return format_duration(*parse_duration(value, field=key))

    return check


def _days(key: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        text = value.strip().lower().removesuffix("d").strip()
        if not (text.isdecimal() and len(text) <= 9) or not 0 < int(text) <= 3650:
            raise InvalidValue(key, value, "a number of days from 1 to 3650, e.g. 14")
        return str(int(text))

    return check


def _pattern(key: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        from crmcli.core.money.numbering import check_pattern

        return check_pattern(value.strip(), field=key)

    return check


def _text(key: str, limit: int = 500) -> Callable[[str], str]:
    def check(value: str) -> str:
        import unicodedata

        text = unicodedata.normalize("NFC", value.strip())
        if not text or len(text) > limit:
            raise InvalidValue(key, value, f"1 to {limit} characters")
        return text

    return check


def _existing_file(key: str, value: str, suffixes: tuple[str, ...] = ()) -> str:
    """The absolute path of an existing regular file, or InvalidValue.

    A name the system cannot look up (too long, a NUL byte, an unknown
    ~user) is refused like a missing file, not raised as an OSError.
    """
    from pathlib import Path

    try:
        path = Path(value).expanduser()
        if suffixes and path.suffix.lower() not in suffixes:
            raise InvalidValue(key, value, "a PNG or JPEG file")
        if path.is_file():
            return str(path.resolve())
    except (OSError, ValueError, RuntimeError):
        pass
    raise InvalidValue(key, value, "no such file")


def _logo(value: str) -> str:
    return _existing_file("seller_logo", value, (".png", ".jpg", ".jpeg"))


def _port(value: str) -> str:
    text = value.strip()
    if not (text.isdecimal() and len(text) <= 5 and 0 < int(text) < 65536):
        raise InvalidValue("smtp_port", value, "a port number from 1 to 65535, e.g. 587")
    return str(int(text))


def _security(value: str) -> str:
    text = value.strip().lower()
    if text not in ("starttls", "tls", "none"):
        raise InvalidValue("smtp_security", value, "one of starttls, tls, none")
    return text


def _mail_from(value: str) -> str:
    from email.utils import parseaddr

    text = _text("mail_from", 300)(value)
    name, addr = parseaddr(text)
    if "@" not in addr or " " in addr:
        raise InvalidValue("mail_from", value, 'an address, e.g. "Ánh Dương <shop@example.com>"')
    return text


def _rate(value: str) -> str:
    text = value.strip()
    if not (text.isdecimal() and len(text) <= 9) or not 0 < int(text) <= 1_000_000:
        raise InvalidValue("send_rate", value, "messages per minute, 1 to 1000000, e.g. 60")
    return str(int(text))


def _sms_command(value: str) -> str:
    import shlex

    text = _text("sms_command", 1000)(value)
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise InvalidValue("sms_command", value, f"not a command line ({exc})") from None
    if not words:
        raise InvalidValue("sms_command", value, "a command, e.g. 'sms-gw send {number} {text}'")
    return text


def _forms(value: str) -> str:
    from crmcli.core.mail.forms import check_patterns

    text = _text("mail_forms", 1000)(value)
    return " | ".join(check_patterns(text.split("|")))


def form_patterns(value: str | None) -> list[str]:
    """The patterns of the ``mail_forms`` setting."""
    return [p.strip() for p in (value or "").split("|") if p.strip()]


def _password_file(key: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        return _existing_file(key, value)

    return check


# What a quote or invoice shows of the seller (`crm config set seller_name …`).
SELLER_SETTINGS = {
    "seller_name": "your company's name, printed on quotes",
    "seller_address": "your address, printed on quotes",
    "seller_tax_id": "your tax id (mã số thuế), printed on quotes",
    "seller_bank": "the bank account customers pay into, printed on quotes",
    "seller_email": "the e-mail address printed on quotes",
    "seller_phone": "the phone number printed on quotes",
}

# Ticket due times by priority when `ticket open` gets no --due.
SLA_DEFAULTS = {"urgent": "4h", "high": "1d", "normal": "3d", "low": "7d"}


class Setting:
    """One known setting: its default and the check that normalises a new value."""

    __slots__ = ("key", "default", "check", "help")

    def __init__(
        self, key: str, default: str | None, check: Callable[[str], str], help: str
    ) -> None:
        self.key, self.default, self.check, self.help = key, default, check, help


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting(
            "date_order",
            "DMY",
            _date_order,
            "how numeric dates like 03/04/2026 are read: DMY (day first), MDY or YMD",
        ),
        Setting(
            "country",
            None,
            _country,
            "default country for phone numbers (ISO code, e.g. VN); numbers become E.164",
        ),
        Setting("currency", "USD", _currency, "default currency for amounts (ISO 4217)"),
        *(
            Setting(
                f"sla_{priority}",
                default,
                _duration(f"sla_{priority}"),
                f"time to resolve a new {priority} ticket when --due is not given (4h, 1d …)",
            )
            for priority, default in SLA_DEFAULTS.items()
        ),
        Setting(
            "stale_lead_days",
            "14",
            _days("stale_lead_days"),
            "remind due lists open leads with no contact for this many days",
        ),
        Setting(
            "contract_notice_days",
            "30",
            _days("contract_notice_days"),
            "remind due lists won deals whose contract ends within this many days",
        ),
        Setting(
            "at_risk_days",
            "60",
            _days("at_risk_days"),
            "report customers lists customers with open deals or won value and no "
            "interaction for this many days as at risk",
        ),
        Setting(
            "quote_number",
            "Q-{year}-{seq:04d}",
            _pattern("quote_number"),
            "how quotes are numbered: {year}, {month} and {seq} (counted per year here)",
        ),
        Setting(
            "invoice_number",
            "INV-{year}-{seq:04d}",
            _pattern("invoice_number"),
            "how invoices are numbered: {year}, {month} and {seq}",
        ),
        Setting(
            "quote_valid_days",
            "30",
            _days("quote_valid_days"),
            "a new quote is valid for this many days unless --valid-until says otherwise",
        ),
        Setting(
            "quote_accept_stage",
            "won",
            _text("quote_accept_stage", 50),
            "the stage a deal moves to when its quote is accepted",
        ),
        Setting(
            "invoice_due_days",
            "14",
            _days("invoice_due_days"),
            "a new invoice is due this many days after it is issued unless --due says otherwise",
        ),
        *(Setting(key, None, _text(key), help) for key, help in SELLER_SETTINGS.items()),
        Setting("seller_logo", None, _logo, "a PNG or JPEG printed at the top of quotes"),
        Setting("smtp_host", None, _text("smtp_host", 255), "the SMTP server e-mail goes through"),
        Setting("smtp_port", None, _port, "its port (default: 587 starttls, 465 tls, 25 none)"),
        Setting(
            "smtp_security",
            "starttls",
            _security,
            "starttls, tls (SMTPS) or none (a local relay only)",
        ),
        Setting("smtp_user", None, _text("smtp_user", 255), "the SMTP login (none: no login)"),
        Setting(
            "smtp_password_file",
            None,
            _password_file("smtp_password_file"),
            "a file (mode 0600) holding the SMTP password; or set CRM_SMTP_PASSWORD",
        ),
        Setting(
            "imap_password_file",
            None,
            _password_file("imap_password_file"),
            "a file (mode 0600) holding the IMAP password of crm mail import; or set "
            "CRM_IMAP_PASSWORD",
        ),
        Setting("mail_from", None, _mail_from, 'the sender of e-mail: "Name <address>"'),
        Setting("send_rate", "60", _rate, "crm send sends at most this many messages a minute"),
        Setting(
            "sms_command",
            None,
            _sms_command,
            "the command that sends an SMS; {number} and {text} are its arguments "
            "(appended when absent); run without a shell, exit code 0 is success",
        ),
        Setting(
            "mail_forms",
            None,
            _forms,
            "subjects of web-form notifications for crm mail import (patterns, | between "
            "them; * and ? as in the shell): their fields become leads",
        ),
    )
}


class Config:
    """The settings a command needs, read once.  (Plain classes here, not dataclasses:
    building a dataclass costs start-up time on every command.)"""

    __slots__ = ("date_order", "country", "currency")

    def __init__(
        self, date_order: str = "DMY", country: str | None = None, currency: str = "USD"
    ) -> None:
        self.date_order, self.country, self.currency = date_order, country, currency


def load(db: Database) -> Config:
    values = dict(db.conn.execute("SELECT key, value FROM settings").fetchall())
    return Config(
        date_order=values.get("date_order", "DMY"),
        country=values.get("country"),
        currency=values.get("currency", "USD"),
    )


def _setting(key: str) -> Setting:
    try:
        return SETTINGS[key]
    except KeyError:
        raise UsageError(
            f"unknown setting {key!r}; known settings: {', '.join(SETTINGS)}"
        ) from None


def all_settings(db: Database) -> list[dict[str, str | None]]:
    stored = dict(db.conn.execute("SELECT key, value FROM settings").fetchall())
    return [
        {"key": s.key, "value": stored.get(s.key, s.default), "description": s.help}
        for s in SETTINGS.values()
    ]


def get(db: Database, key: str) -> str | None:
    setting = _setting(key)
    return db.setting(key, setting.default)


def set_value(db: Database, key: str, value: str) -> str:
    checked = _setting(key).check(value)
    db.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, checked),
    )
    return checked


def unset(db: Database, key: str) -> None:
    _setting(key)
    db.execute("DELETE FROM settings WHERE key = ?", (key,))


def secret(db: Database, env: str, setting: str) -> str | None:
    """A password: the environment variable ``env``, else the contents of the file named by
    the setting ``setting`` (refused when others may read it), else None.  Never stored in
    the database, never on the command line."""
    import os
    from pathlib import Path

    value = os.environ.get(env)
    if value:
        return value
    name = db.setting(setting)
    if not name:
        return None
    path = Path(name)
    try:
        mode = path.stat().st_mode
        if mode & 0o077:
            raise UsageError(
                f"{setting} {path} may be read by others (mode {mode & 0o777:o}); chmod 600 {path}"
            )
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise UsageError(f"{setting} {path}: {exc.strerror}") from None
