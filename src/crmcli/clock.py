"""The current time, the one place that reads it (``CRM_NOW`` pins it for tests and demos).

Kept apart from :mod:`crmcli.dates` so that a command that only needs "today" does not load
the date grammar.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from crmcli.errors import InvalidValue

__all__ = ["now_local", "pinned", "to_utc_iso", "today_local", "utc_now_iso"]

# The moments ``pinned`` sets, innermost last (a plain list: one command, one thread).
_PINNED: list[datetime] = []


@contextmanager
def pinned(moment: datetime) -> Iterator[None]:
    """Inside the block it is ``moment`` (aware): ``crm demo`` writes months of history
    through the same functions as every command, each step at its own date."""
    _PINNED.append(moment.astimezone())
    try:
        yield
    finally:
        _PINNED.pop()


def now_local() -> datetime:
    """The current time, aware, in the local zone.

    ``CRM_NOW`` (ISO 8601; without an offset it is local time) pins it for tests
    and demos.
    """
    if _PINNED:
        return _PINNED[-1]
    pinned = os.environ.get("CRM_NOW", "").strip()
    if not pinned:
        return datetime.now(UTC).astimezone()
    try:
        moment = datetime.fromisoformat(pinned)
    except ValueError:
        reason = "not an ISO 8601 date-time, e.g. 2026-11-20T09:00:00"
        raise InvalidValue("CRM_NOW", pinned, reason) from None
    return moment.astimezone()


def today_local() -> date:
    """Today's date in the local zone (``CRM_NOW`` honoured)."""
    return now_local().date()


def to_utc_iso(dt: datetime) -> str:
    """``2026-11-23T09:00:00Z``: the instant in UTC to the second; naive is local."""
    utc = dt.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    return utc.isoformat() + "Z"


def utc_now_iso() -> str:
    """The current instant as stored: ``to_utc_iso(now_local())``."""
    return to_utc_iso(now_local())
