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
