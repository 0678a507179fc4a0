"""Report ranges and periods: ``--from`` / ``--to`` / ``--period`` and ``--by``.

A range is a pair of *local* calendar dates (both inclusive; either may be open).  Instants are
stored in UTC, so a range also has its UTC bounds: local midnight at the start, and local
midnight after the end (exclusive).  A deal closed at ``2026-10-31T17:00:00Z`` is closed on
1 November in Ho Chi Minh City (UTC+7), in November's range and in November's period.

Periods (``--by week|month|quarter|year``) are local calendar periods too: weeks run Monday
to Sunday and are named by their ISO week (``2026-W48``), months ``2026-11``, quarters
``2026-Q4``, years ``2026``.  The SQL that buckets instants into periods lives here as
expression builders (:func:`period_start_sql`, :func:`period_label_sql`), so every report
cuts time the same way; they only ever receive column names written in our own code.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from crmcli.errors import InvalidValue, UsageError

# --period shorthands: local calendar periods around today.
PERIODS = (
    "this-week", "last-week", "this-month", "last-month", "this-quarter", "last-quarter",
    "this-year", "last-year", "all",
)  # fmt: skip
BY_ALL = ("week", "month", "quarter", "year")
# SQLite date modifiers that step from one period start to the next / the previous.
STEP = {"week": "+7 days", "month": "+1 month", "quarter": "+3 months", "year": "+1 year"}
STEP_BACK = {"week": "-7 days", "month": "-1 month", "quarter": "-3 months", "year": "-1 year"}

# Stand-ins for an open end: every stored instant and date sorts between them, so one SQL
# text (``col >= ? AND col < ?``) serves open and closed ranges alike and keeps its index.
MIN_INSTANT = "0000-01-01T00:00:00Z"
MAX_INSTANT = "9999-12-31T23:59:59Z"


class Range:
    """Local dates ``start`` … ``end`` (inclusive; ``None``: open on that side)."""

    __slots__ = ("start", "end")

    def __init__(self, start: date | None, end: date | None) -> None:
        self.start, self.end = start, end

    @property
    def start_utc(self) -> str:
        """The first instant of the range, UTC ISO text (inclusive)."""
        return MIN_INSTANT if self.start is None else local_midnight_utc(self.start)

    @property
    def end_utc(self) -> str:
        """The first instant after the range, UTC ISO text (exclusive)."""
        if self.end is None or self.end == date.max:
            return MAX_INSTANT
        return local_midnight_utc(self.end + timedelta(days=1))

    def describe(self) -> str:
        """``2026-01-01 to 2026-12-31``, ``since 2026-08-23``, ``until …``, ``all time``."""
        if self.start is None and self.end is None:
            return "all time"
        if self.start is None:
            return f"until {self.end}"
        if self.end is None:
            return f"since {self.start}"
        return f"{self.start} to {self.end}"

    def as_dict(self) -> dict[str, str | None]:
        return {
            "from": None if self.start is None else self.start.isoformat(),
            "to": None if self.end is None else self.end.isoformat(),
        }


def local_midnight_utc(day: date) -> str:
    """The UTC ISO text of 00:00 local time on ``day``."""
    from crmcli.clock import to_utc_iso

    try:
        return to_utc_iso(datetime.combine(day, time()).astimezone())
    except (OverflowError, ValueError):
        # 0001-01-01 east of UTC (or 9999-12-31 west of it) has no instant in the calendar:
        # every stored time is after (before) it.
        return MIN_INSTANT if day.year == 1 else MAX_INSTANT


def check_period(text: str) -> str:
    """A ``--period`` shorthand, normalised (``This_Month`` -> ``this-month``)."""
    name = "-".join(text.strip().lower().replace("_", "-").split())
    if name not in PERIODS:
        raise InvalidValue("--period", text, f"choose one of {', '.join(PERIODS)}")
    return name


def check_by(text: str, choices: tuple[str, ...], *, field: str = "--by") -> str:
    value = text.strip().lower()
    if value not in choices:
        raise InvalidValue(field, text, f"choose one of {', '.join(choices)}")
    return value


def period_range(name: str, today: date) -> Range:
    """The local dates of a ``--period`` shorthand around ``today``."""
    name = check_period(name)
    if name == "all":
        return Range(None, None)
    which, unit = name.split("-")
    back = which == "last"
    if unit == "week":
        start = today - timedelta(days=today.weekday()) - timedelta(days=7 if back else 0)
        return Range(start, start + timedelta(days=6))
    if unit == "year":
        year = today.year - back
        return Range(date(year, 1, 1), date(year, 12, 31))
    months = 3 if unit == "quarter" else 1
    first = start_of(unit, today)
    if back:
        first = _add_months(first, -months)
    return Range(first, _add_months(first, months) - timedelta(days=1))


def start_of(by: str, day: date) -> date:
    """The first day of the period (``by``) that holds ``day``."""
    if by == "week":
        return day - timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    if by == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    if by == "year":
        return date(day.year, 1, 1)
    raise ValueError(f"unknown period {by!r}")


def _add_months(day: date, count: int) -> date:
    """The first of a month ``count`` months from ``day`` (itself a first of a month)."""
    index = day.year * 12 + day.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _read_date(text: str, field: str, today: date, order: str) -> date:
    """A date or a phrase (``3 months ago``); a moment (``now``) counts by its local date."""
    from crmcli.dates import parse_date, parse_datetime

    try:
        return parse_date(text, today=today, order=order, field=field)
    except InvalidValue as exc:
        try:
            return parse_datetime(text, order=order, field=field).date()
        except InvalidValue:
            raise exc from None


def resolve(
    start: str | None,
    end: str | None,
    period: str | None,
    *,
    default: str,
    today: date,
    order: str = "DMY",
) -> Range:
    """The range of ``--from`` / ``--to`` (either may be left out: that side stays open) or
    of ``--period``; without any of them the report's ``default`` period."""
    if period is not None:
        if start is not None or end is not None:
            raise UsageError("give --period or --from/--to, not both")
        return period_range(period, today)
    if start is None and end is None:
        return period_range(default, today)
    first = None if start is None else _read_date(start, "--from", today, order)
    last = None if end is None else _read_date(end, "--to", today, order)
    if first is not None and last is not None and first > last:
        raise InvalidValue("--from", start, f"is after --to ({last.isoformat()})")
    return Range(first, last)


# -- SQL expressions --------------------------------------------------------------------
# ``local`` is an expression holding a local date-time text (``datetime(col, 'localtime')``,
# computed once per row in a subquery); ``start`` one holding a period's first day.


def local_sql(column: str) -> str:
    """The local date-time of a stored UTC instant (follows the process's TZ, with DST)."""
    return f"datetime({column}, 'localtime')"


def period_start_sql(by: str, local: str) -> str:
    """The first local day (``YYYY-MM-DD``) of the ``by`` period holding ``local``."""
    if by == "week":  # to the coming Sunday (or stay), then back to its Monday
        return f"date({local}, 'weekday 0', '-6 days')"
    if by == "month":
        return f"date({local}, 'start of month')"
    if by == "quarter":
        back = f"'-' || ((CAST(substr({local}, 6, 2) AS INTEGER) - 1) % 3) || ' months'"
        return f"date({local}, 'start of month', {back})"
    if by == "year":
        return f"date({local}, 'start of year')"
    raise ValueError(f"unknown period {by!r}")


def period_label_sql(by: str, start: str) -> str:
    """A period's name from its first day: ``2026-W48``, ``2026-11``, ``2026-Q4``, ``2026``."""
    if by == "week":  # ISO 8601: the week belongs to the year of its Thursday
        thursday = f"date({start}, '+3 days')"
        week = f"(CAST(strftime('%j', {thursday}) AS INTEGER) - 1) / 7 + 1"
        return f"strftime('%Y', {thursday}) || '-W' || printf('%02d', {week})"
    if by == "month":
        return f"substr({start}, 1, 7)"
    if by == "quarter":
        return (
            f"substr({start}, 1, 4) || '-Q' || ((CAST(substr({start}, 6, 2) AS INTEGER) + 2) / 3)"
        )
    if by == "year":
        return f"substr({start}, 1, 4)"
    raise ValueError(f"unknown period {by!r}")


def label(by: str, start: date) -> str:
    """The same names in Python (for messages and tests)."""
    if by == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return start.strftime("%Y-%m")
    if by == "quarter":
        return f"{start.year}-Q{(start.month + 2) // 3}"
    return str(start.year)


def series_bounds(rng: Range, by: str, today: date) -> tuple[str | None, str]:
    """First and last period starts a report lists (zero rows for periods without data):
    from the range's start (open: the first period with data, ``None`` here) to its end,
    but not past today's period (later periods show only when they hold data)."""
    first = None if rng.start is None else start_of(by, rng.start).isoformat()
    end = today if rng.end is None else min(rng.end, today)
    last = start_of(by, end)
    if first is not None and last.isoformat() < first:
        last = date.fromisoformat(first)
    return first, last.isoformat()
