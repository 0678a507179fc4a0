"""Dates and times: read what users type, store UTC, show local time.

Accepted input (case-insensitive, extra whitespace tolerated):

* ISO 8601: ``2026-12-01``, ``2026-12-01 10:00``, ``2026-12-01T10:00:00+07:00``.
* Numeric dates in the configured order (``DMY``, ``MDY`` or ``YMD``), separated
  by ``/``, ``.`` or ``-``: ``01/12/2026`` is 1 December under DMY. A first part
  of four digits is always year-month-day (``2026/12/01``). A part that does not
  fit the order is an error that names the order; nothing is guessed.
* A month name: ``1 Dec 2026``, ``December 1st, 2026``, ``Tue 1 Dec 2026``;
  without a year (``December 1``) the current year.
* Phrases: ``today``, ``tomorrow``, ``yesterday``, ``friday``, ``next friday``,
  ``last friday``, ``in 3 days``, ``2 weeks ago``, ``in a month``, ``3 days from
  now``, ``end of month``, ``start of next week``, ``next month``, ``last year``.
* For date-times also ``now``, ``in 2 hours`` / ``in 30m``, ``an hour ago``, a
  time after or before a date (``tomorrow 9am``, ``next friday at 14:30``,
  ``9am tomorrow``, ``today noon``) and a bare time (``9am`` = today at 9).

Conventions:

* Weeks run Monday to Sunday: ``start of week`` is Monday, ``end of week`` Sunday.
* ``friday`` and ``this friday`` are today if today is a Friday, else the coming
  Friday; ``next friday`` is the first Friday after today and ``last friday`` the
  last one before today (as GNU ``date`` reads them).
* Month and year steps keep the day of the month, clipped to the month's length:
  31 January + 1 month is 28 (or 29) February.
* Day steps keep the wall-clock time (``in 1 day`` across a DST change is 23 or
  25 hours); hour, minute and second steps are exact elapsed time.
* A local time skipped by a DST change moves forward by the gap (02:30 -> 03:30);
  a repeated one means its first occurrence.

Instants are stored as UTC text (``2026-11-23T09:00:00Z``) and shown in the local
time zone, which honours the ``TZ`` environment variable. Calendar dates are
``YYYY-MM-DD``. Only the standard library is imported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta, timezone

from crmcli.clock import now_local, to_utc_iso, today_local, utc_now_iso
from crmcli.errors import InvalidValue
from crmcli.errors import Unreadable as _Bad

__all__ = [
    "DATE_ORDERS",
    "add_duration",
    "format_duration",
    "parse_duration",
    "format_local",
    "from_utc_iso",
    "now_local",
    "parse_date",
    "parse_datetime",
    "to_utc_iso",
    "today_local",
    "utc_now_iso",
]

DATE_ORDERS = ("DMY", "MDY", "YMD")

_ORDER_NAMES = {"DMY": "day-first", "MDY": "month-first", "YMD": "year-first"}

_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_MONTHS = {
    **{name.lower(): number for number, name in enumerate(_MONTH_NAMES, 1)},
    **{name[:3].lower(): number for number, name in enumerate(_MONTH_NAMES, 1)},
    "sept": 9,
}
_WEEKDAYS = {
    **{name.lower(): number for number, name in enumerate(_WEEKDAY_NAMES)},
    **{name[:3].lower(): number for number, name in enumerate(_WEEKDAY_NAMES)},
    "tues": 1,
    "thur": 3,
    "thurs": 3,
}

_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "seconds"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "minutes"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hours"),
    **dict.fromkeys(("d", "day", "days"), "days"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "weeks"),
    **dict.fromkeys(("mo", "mos", "month", "months"), "months"),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), "years"),
}
_CLOCK_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600}
_SIMPLE_DAYS = {"today": 0, "tomorrow": 1, "yesterday": -1}

_NOT_A_DATE = "not a date; try 2026-12-01, tomorrow, next friday, in 3 days"
_NOT_A_MOMENT = "not a date or time; try 2026-12-01 10:00, tomorrow 9am, next friday, in 2 hours"
_OUT_OF_RANGE = "that is outside the calendar (years 1 to 9999)"
_MAX_PHRASE_WORDS = 10  # "tuesday, the 1st of december 2026 at 9:15 pm"


def _alternatives(words: Iterable[str]) -> str:
    """A regex alternation of ``words``, longest first."""
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


_MON = _alternatives(_MONTHS)
_WD = _alternatives(_WEEKDAYS)
_NTH = r"(?:st|nd|rd|th)?"
_TIME = (
    r"(?:(?P<h>\d{1,2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2}))?)?(?:\s*(?P<ap>[ap])\.?m\.?)?"
    r"|(?P<word>noon|midnight))"
)

# Patterns are compiled on first use (``re`` caches them) to keep the import cheap.
# They all see normalised text: lower case, single spaces, no edge spaces.
_NUMERIC = r"(\d{1,9})([/.-])(\d{1,9})\2(\d{1,9})"
_NO_YEAR = r"\d{1,2}[/.]\d{1,2}"
_DAY_MONTH = (
    rf"(?:(?P<wd>{_WD}),? )?(?:the )?(?P<d>\d{{1,2}}){_NTH}(?: of)?[ -]"
    rf"(?P<mon>{_MON})\.?(?:,?[ -](?P<y>\d{{1,9}}))?"
)
_MONTH_DAY = (
    rf"(?:(?P<wd>{_WD}),? )?(?P<mon>{_MON})\.? (?:the )?(?P<d>\d{{1,2}}){_NTH}"
    rf"(?:,? (?P<y>\d{{1,9}}))?"
)
_WEEKDAY = rf"(?:(?P<which>this|next|last) )?(?P<wd>{_WD})"
_STEP = r"(?P<which>next|last) (?P<unit>week|month|year)"
_EDGE = (
    r"(?P<edge>end|start|beginning) of (?:the )?(?:(?P<which>this|next|last) )?"
    r"(?P<unit>week|month|year)"
)
_SPAN_IN = r"in (?:(?P<n>\d+) ?|(?P<a>an?) )(?P<unit>[a-z]+)"
_SPAN_AGO = r"(?:(?P<n>\d+) ?|(?P<a>an?) )(?P<unit>[a-z]+) (?P<dir>ago|from now)"
_ISO_DATETIME = (
    r"(\d{4})-(\d{2})-(\d{2})[t ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(z|[+-]\d{2}(?::?\d{2})?)?"
)
_TIME_LAST = rf"(?:^| |(?<=\d)t)(?:(?P<at>at) )?{_TIME}$"
_TIME_FIRST = rf"{_TIME} (?:on )?(?P<rest>.+)"


# ------------------------------------------------------------------ public


def parse_date(
    text: str,
    *,
    today: date | None = None,
    order: str = "DMY",
    field: str | None = None,
) -> date:
    """Read a calendar date: ISO, numeric in ``order``, month name or phrase.

    Relative phrases count from ``today`` (default: :func:`today_local`). Raises
    :class:`~crmcli.errors.InvalidValue` naming ``field`` with the reason.
    """
    order = _check_order(order)
    norm = _normalize(text)
    try:
        if not norm:
            raise _Bad("no date given")
        ref = today_local() if today is None else today
        day = _parse_day(norm, ref, order)
        if day is not None:
            return day
        noon = datetime.combine(ref, time(12), tzinfo=UTC)

        def moment(part: str) -> datetime | None:
            return _parse_moment(part, noon, order, None)

        if moment(norm) is not None:
            raise _Bad("a date is needed here, not a time")
        raise _Bad(_trailing_junk(norm, moment) or _NOT_A_DATE)
    except _Bad as exc:
        raise InvalidValue(field, text, exc.reason) from None
    except OverflowError:
        raise InvalidValue(field, text, _OUT_OF_RANGE) from None


def parse_datetime(
    text: str,
    *,
    now: datetime | None = None,
    order: str = "DMY",
    default_time: time | None = None,
    field: str | None = None,
) -> datetime:
    """Read an instant; the result is aware and in the local zone.

    Accepts everything :func:`parse_date` does, optionally with a time
    (``tomorrow 9am``, ``01/12/2026 9:15pm``), plus ``now``, bare times (today),
    ISO date-times (an offset or ``Z`` keeps the instant) and durations.

    * A date without a time (``tomorrow``, ``next friday``, ``2026-12-01``,
      ``end of month``) is at ``default_time``, or 00:00 when it is None.
    * A duration (``in 3 days``, ``2 weeks ago``, ``in 2 hours``) is ``now``
      moved by exactly that much; a time may follow a day-sized one
      (``in 3 days at 9am``).

    ``now`` defaults to :func:`now_local`; a naive ``now`` is local time.
    """
    order = _check_order(order)
    norm = _normalize(text)
    try:
        if not norm:
            raise _Bad("no date or time given")
        ref = now_local() if now is None else now.astimezone()

        def moment(part: str) -> datetime | None:
            return _parse_moment(part, ref, order, default_time)

        result = moment(norm)
        if result is not None:
            return result
        raise _Bad(_trailing_junk(norm, moment) or _NOT_A_MOMENT)
    except _Bad as exc:
        raise InvalidValue(field, text, exc.reason) from None
    except OverflowError:
        raise InvalidValue(field, text, _OUT_OF_RANGE) from None


def from_utc_iso(text: str) -> datetime:
    """The aware UTC datetime written by :func:`to_utc_iso` (``+00:00`` also read).

    Text with another offset is converted; text without one is taken as UTC.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidValue(None, text, "not a UTC timestamp like 2026-11-23T09:00:00Z") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


_DURATION = re.compile(r"(\d+) ?([a-z]+)")
_DURATION_SHORT = {
    "seconds": "s", "minutes": "min", "hours": "h", "days": "d", "weeks": "w",
    "months": "mo", "years": "y",
}  # fmt: skip
_DURATION_MAX = {"seconds": 10**9, "minutes": 10**7, "hours": 10**6, "days": 100_000,
                 "weeks": 10_000, "months": 5_000, "years": 400}  # fmt: skip


def parse_duration(text: str, *, field: str | None = None) -> tuple[int, str]:
    """A length of time: ``4h``, ``30d``, ``2 weeks``, ``1 month`` -> ``(4, "hours")``.

    The unit is one of seconds, minutes, hours, days, weeks, months, years; the count a
    positive whole number.  A bare number is refused (days or hours? say which).
    """
    norm = " ".join(text.strip().lower().split())
    match = _DURATION.fullmatch(norm)
    if match is None:
        raise InvalidValue(field, text, "not a length of time; try 4h, 3d, 2w, 1 month")
    digits, unit = match[1], _UNITS.get(match[2])
    if unit is None:
        units = "minutes, hours, days, weeks, months or years"
        raise InvalidValue(field, text, f"{match[2]!r} is not a unit of time; use {units}")
    count = int(digits) if len(digits) <= 12 else 0  # int() refuses 4,300+ digits
    if not 0 < count <= _DURATION_MAX[unit]:
        raise InvalidValue(field, text, f"use 1 to {_DURATION_MAX[unit]:,} {unit}")
    return count, unit


def format_duration(count: int, unit: str) -> str:
    """The short form of a duration: ``(4, "hours")`` -> ``4h``."""
    return f"{count}{_DURATION_SHORT[unit]}"


def add_duration(moment: datetime, count: int, unit: str) -> datetime:
    """``moment`` moved forward: exactly for hours and smaller, by the calendar (same wall
    time, month ends kept) for days and larger.  The result is aware, in the local zone."""
    return _shift_moment(moment.astimezone(), count, unit)


def format_local(text: str | None, *, seconds: bool = False) -> str:
    """Stored UTC text shown in local time: ``2026-11-23 16:00``; ``""`` for none."""
    if not text:
        return ""
    local = from_utc_iso(text).astimezone().replace(tzinfo=None)
    return local.isoformat(" ", "seconds" if seconds else "minutes")


# ---------------------------------------------------------------- grammar


def _check_order(order: str) -> str:
    """The date order in upper case, or an error naming the setting."""
    key = order.upper()
    if key not in DATE_ORDERS:
        raise InvalidValue("date_order", order, "use DMY, MDY or YMD")
    return key


def _normalize(text: str) -> str:
    """Lower case with runs of whitespace made single spaces."""
    return " ".join(text.split()).lower()


def _trailing_junk(norm: str, parse: Callable[[str], object]) -> str | None:
    """Name the words after the longest leading part that ``parse`` reads.

    Only the first few words are tried: no date phrase is longer.
    """
    words = norm.split(" ")
    for cut in range(min(len(words) - 1, _MAX_PHRASE_WORDS), 0, -1):
        head = " ".join(words[:cut])
        if parse(head) is not None:
            rest = " ".join(words[cut:])
            if len(rest) > 30:
                rest = rest[:29] + "…"
            return f"unexpected {rest!r} after {head!r}"
    return None


def _parse_moment(
    norm: str, now: datetime, order: str, default_time: time | None
) -> datetime | None:
    """An aware local datetime, or None when ``norm`` is not one."""
    if norm == "now":
        return now
    match = re.fullmatch(_ISO_DATETIME, norm)
    if match:
        return _iso_datetime(match)
    span = _parse_span(norm)
    if span is not None:
        return _shift_moment(now, *span)
    split = _split_time(norm)
    if split is None:
        day = _parse_day(norm, now.date(), order)
        clock = time(0) if default_time is None else default_time
    else:
        day_text, clock = split
        day = _parse_day(day_text, now.date(), order) if day_text else now.date()
    if day is None:
        return None
    return _localize(datetime.combine(day, clock))


def _parse_day(norm: str, today: date, order: str) -> date | None:
    """A calendar date, or None when ``norm`` is not one (a time, a duration
    in hours, unknown words). Raises ``_Bad`` when it is a date with a fault.
    """
    if norm in _SIMPLE_DAYS:
        return today + timedelta(days=_SIMPLE_DAYS[norm])
    match = re.fullmatch(_NUMERIC, norm)
    if match:
        return _numeric_date(match, order)
    match = re.fullmatch(_WEEKDAY, norm)
    if match:
        return _weekday(today, _WEEKDAYS[match["wd"]], match["which"])
    match = re.fullmatch(_STEP, norm)
    if match:
        return _shift_date(today, 1 if match["which"] == "next" else -1, match["unit"] + "s")
    match = re.fullmatch(_EDGE, norm)
    if match:
        return _edge(today, match["edge"], match["which"], match["unit"])
    span = _parse_span(norm)
    if span is not None:
        count, unit = span
        return None if unit in _CLOCK_SECONDS else _shift_date(today, count, unit)
    match = re.fullmatch(_DAY_MONTH, norm) or re.fullmatch(_MONTH_DAY, norm)
    if match:
        return _textual_date(match, today)
    if re.fullmatch(_NO_YEAR, norm):
        raise _Bad("the year is missing; write it in full, e.g. 03/04/2026")
    return None


def _parse_span(norm: str) -> tuple[int, str] | None:
    """``in 3 days`` -> (3, "days"); ``an hour ago`` -> (-1, "hours"); else None."""
    match = re.fullmatch(_SPAN_IN, norm)
    sign = 1
    if match is None:
        match = re.fullmatch(_SPAN_AGO, norm)
        if match is None:
            return None
        sign = -1 if match["dir"] == "ago" else 1
    unit = _UNITS.get(match["unit"])
    if unit is None:
        units = "minutes, hours, days, weeks, months or years"
        raise _Bad(f"{match['unit']!r} is not a unit of time; use {units}")
    digits = match["n"]
    if digits is not None and len(digits) > 9:
        raise _Bad(_OUT_OF_RANGE)
    return sign * (int(digits) if digits is not None else 1), unit


def _split_time(norm: str) -> tuple[str, time] | None:
    """Split ``tomorrow at 9am`` / ``9am tomorrow`` into day text and time."""
    match = re.search(_TIME_LAST, norm)
    if match:
        clock = _clock(match, bare_hour=match["at"] is not None)
        if clock is not None:
            return norm[: match.start()], clock
    match = re.fullmatch(_TIME_FIRST, norm)
    if match:
        clock = _clock(match, bare_hour=False)
        if clock is not None:
            return match["rest"], clock
    return None


def _clock(match: re.Match[str], *, bare_hour: bool) -> time | None:
    """The time in a ``_TIME`` match; None for a bare number unless ``bare_hour``."""
    if match["word"]:
        return time(12) if match["word"] == "noon" else time(0)
    minute, half = match["mi"], match["ap"]
    if minute is None and half is None and not bare_hour:
        return None
    hour = int(match["h"])
    if half is not None:
        if not 1 <= hour <= 12:
            raise _Bad(f"with am/pm the hour runs from 1 to 12, not {hour}")
        hour = hour % 12 + (12 if half == "p" else 0)
    return _make_time(hour, int(minute or 0), int(match["s"] or 0))


def _make_time(hour: int, minute: int, second: int, micro: int = 0) -> time:
    """A time of day, or ``_Bad`` naming the part out of range."""
    if hour > 23:
        raise _Bad(f"there is no hour {hour}; hours run from 0 to 23")
    if minute > 59:
        raise _Bad(f"there is no minute {minute}")
    if second > 59:
        raise _Bad(f"there is no second {second}")
    return time(hour, minute, second, micro)


def _iso_datetime(match: re.Match[str]) -> datetime:
    """An ISO 8601 date-time; with an offset it keeps its instant."""
    day = _make_date(_year(match[1]), int(match[2]), int(match[3]))
    micro = int((match[7] or "0")[:6].ljust(6, "0"))
    clock = _make_time(int(match[4]), int(match[5]), int(match[6] or 0), micro)
    moment = datetime.combine(day, clock)
    offset = match[8]
    if offset is not None:
        moment = moment.replace(tzinfo=_utc_offset(offset))
    return _localize(moment)


def _utc_offset(text: str) -> timezone:
    """``z``, ``+07``, ``+0700`` or ``-07:00`` as a timezone."""
    if text == "z":
        return UTC
    hours, minutes = int(text[1:3]), int(text[3:].lstrip(":") or 0)
    if hours > 23 or minutes > 59:
        raise _Bad(f"{text} is not a UTC offset")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _numeric_date(match: re.Match[str], order: str) -> date:
    """``01/12/2026`` read in ``order``; a four-digit first part is the year."""
    first, _, second, third = match.groups()
    year_first = len(first) == 4
    if order == "YMD" and not year_first and len(third) == 4:
        raise _Bad(
            "dates are read year-first (YMD), so the year goes first, as in 2026-12-01; "
            "change with `crm config set date_order DMY` (or MDY)"
        )
    if year_first or order == "YMD":
        year_text, month, day = first, int(second), int(third)
    elif order == "DMY":
        day, month, year_text = int(first), int(second), third
    else:
        month, day, year_text = int(first), int(second), third
    year = _year(year_text)
    governed = order == "YMD" or not year_first
    if governed and not 1 <= month <= 12:
        reason = f"dates are read {_ORDER_NAMES[order]} ({order}): {month} is not a month"
        other = "MDY" if order == "DMY" else "DMY"
        if order != "YMD" and 1 <= day <= 12 and 1 <= month <= _days_in_month(year, day):
            reason += f"; change with `crm config set date_order {other}`"
        raise _Bad(reason)
    return _make_date(year, month, day)


def _textual_date(match: re.Match[str], today: date) -> date:
    """``1 Dec 2026`` / ``December 1st`` (this year); a weekday given must agree."""
    year = _year(match["y"]) if match["y"] else today.year
    day = _make_date(year, _MONTHS[match["mon"]], int(match["d"]))
    if match["wd"] and _WEEKDAYS[match["wd"]] != day.weekday():
        long = f"{day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"
        raise _Bad(f"{long} is a {_WEEKDAY_NAMES[day.weekday()]}")
    return day


def _year(text: str) -> int:
    """A four-digit year; short ones are refused rather than guessed."""
    if len(text) < 4:
        raise _Bad("write the year in full")
    if len(text) > 4:
        raise _Bad(f"{text} is not a year; years have four digits")
    year = int(text)
    if year == 0:
        raise _Bad("there is no year 0")
    return year


def _make_date(year: int, month: int, day: int) -> date:
    """A date, or ``_Bad`` saying which part is impossible."""
    if not 1 <= month <= 12:
        raise _Bad(f"{month} is not a month")
    if day < 1:
        raise _Bad("there is no day 0")
    length = _days_in_month(year, month)
    if day > length:
        raise _Bad(f"{_MONTH_NAMES[month - 1]} {year} has {length} days")
    return date(year, month, day)


def _days_in_month(year: int, month: int) -> int:
    """28 to 31 (Gregorian leap years)."""
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _add_months(day: date, count: int) -> date:
    """``day`` moved ``count`` months, clipped to the target month's length."""
    index = day.year * 12 + day.month - 1 + count
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError("year out of range")
    return date(year, month + 1, min(day.day, _days_in_month(year, month + 1)))


def _shift_date(day: date, count: int, unit: str) -> date:
    """``day`` moved ``count`` days, weeks, months or years."""
    if unit == "days":
        return day + timedelta(days=count)
    if unit == "weeks":
        return day + timedelta(weeks=count)
    return _add_months(day, count if unit == "months" else 12 * count)


def _shift_moment(now: datetime, count: int, unit: str) -> datetime:
    """``now`` moved exactly: elapsed time for clock units, wall time for days."""
    if unit in _CLOCK_SECONDS:
        step = timedelta(seconds=count * _CLOCK_SECONDS[unit])
        return (now.astimezone(UTC) + step).astimezone()
    wall = now.replace(tzinfo=None)
    return _localize(datetime.combine(_shift_date(wall.date(), count, unit), wall.time()))


def _localize(moment: datetime) -> datetime:
    """An aware local datetime; naive means local wall time.

    A wall time skipped by a DST change moves forward (02:30 -> 03:30); a repeated
    one is its first occurrence.  A time whose UTC instant falls outside the calendar
    (local 0001-01-01 00:00 east of UTC) raises OverflowError, as other overflows do.
    """
    try:
        if moment.tzinfo is not None:
            return moment.astimezone()
        aware = moment.astimezone()
        if aware.replace(tzinfo=None) != moment:
            return moment.replace(fold=1).astimezone()
        return aware
    except ValueError as exc:  # "year 0 is out of range"
        raise OverflowError(str(exc)) from None


def _weekday(today: date, target: int, which: str | None) -> date:
    """``friday``/``this friday`` (today or later), ``next friday``, ``last friday``."""
    if which == "last":
        return today - timedelta(days=(today.weekday() - target) % 7 or 7)
    ahead = (target - today.weekday()) % 7
    if which == "next":
        ahead = ahead or 7
    return today + timedelta(days=ahead)


def _edge(today: date, edge: str, which: str | None, unit: str) -> date:
    """Start or end of this, next or last week (Mon-Sun), month or year."""
    base = today
    if which in ("next", "last"):
        base = _shift_date(today, 1 if which == "next" else -1, unit + "s")
    if unit == "week":
        start = base - timedelta(days=base.weekday())
        end = start + timedelta(days=6)
    elif unit == "month":
        start = base.replace(day=1)
        end = base.replace(day=_days_in_month(base.year, base.month))
    else:
        start, end = date(base.year, 1, 1), date(base.year, 12, 31)
    return end if edge == "end" else start
