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
