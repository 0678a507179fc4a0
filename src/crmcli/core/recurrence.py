"""Recurrence: how often a reminder comes back, as an RFC 5545 RRULE value.

:func:`parse_rule` reads what a seller types (``daily``, ``weekly``, ``every 2 weeks``,
``monthly``, ``yearly``, ``every weekday``, ``every mon,thu``) or a raw RRULE
(``FREQ=WEEKLY;BYDAY=MO,TH``, ``RRULE:`` prefix allowed) and returns one normalised RRULE
value (no ``RRULE:`` prefix, no DTSTART: the first time is the reminder's ``anchor_at``).

Rules are expanded in local wall time from the anchor: a reminder at 09:00 stays at 09:00
across a DST change (the wall times are made instants as :mod:`crmcli.dates` does: a
skipped time moves forward, a repeated one is its first occurrence).

Month ends: a monthly rule anchored on the 29th, 30th or 31st falls on the last day of
shorter months and keeps its day otherwise (``BYMONTHDAY=28,29,30,31;BYSETPOS=-1``); a
yearly rule anchored on 29 February falls on 28 February in common years.  Write
``BYMONTHDAY=31`` yourself for the strict RFC 5545 reading (months without a 31st skipped).

``UNTIL`` is stored in UTC (``UNTIL=20261231T165959Z``); a date alone means the end of
that local day.  python-dateutil is imported inside the functions that expand rules, so
:func:`describe` (used by listings) costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from crmcli.errors import InvalidValue

if TYPE_CHECKING:
    from dateutil.rrule import rrule

FIELD = "--every"
INTERVAL_MAX = 1000
# A rule must produce a time within this many days of its start (catches impossible rules
# such as FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30 before they are stored).
HORIZON_DAYS = 30 * 366

_HINT = (
    "try daily, weekly, every 2 weeks, monthly, yearly, every weekday, every mon,thu, "
    "or an RRULE such as FREQ=WEEKLY;BYDAY=MO"
)

FREQS = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY")
_TOO_OFTEN = ("MINUTELY", "SECONDLY")
_DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAYS = _DAY_CODES[:5]

# The parts of an RRULE we accept, in the order a normalised rule lists them.
PARTS = (
    "FREQ", "INTERVAL", "BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYHOUR",
    "BYMINUTE", "BYSECOND", "BYSETPOS", "WKST", "COUNT", "UNTIL",
)  # fmt: skip
_BY_PARTS = frozenset(p for p in PARTS if p.startswith("BY"))
# Numeric list parts: (lowest, highest, negative values allowed).
_RANGES = {
    "BYMONTH": (1, 12, False),
    "BYWEEKNO": (1, 53, True),
    "BYYEARDAY": (1, 366, True),
    "BYMONTHDAY": (1, 31, True),
    "BYHOUR": (0, 23, False),
    "BYMINUTE": (0, 59, False),
    "BYSECOND": (0, 59, False),
    "BYSETPOS": (1, 366, True),
}

_SIMPLE = {
    "hourly": ("HOURLY", 1),
    "daily": ("DAILY", 1),
    "weekly": ("WEEKLY", 1),
    "fortnightly": ("WEEKLY", 2),
    "monthly": ("MONTHLY", 1),
    "quarterly": ("MONTHLY", 3),
    "yearly": ("YEARLY", 1),
    "annually": ("YEARLY", 1),
}
_UNITS = {
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "HOURLY"),
    **dict.fromkeys(("d", "day", "days"), "DAILY"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "WEEKLY"),
    **dict.fromkeys(("mo", "mos", "month", "months"), "MONTHLY"),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), "YEARLY"),
}
_UNIT_WORDS = {"HOURLY": "hour", "DAILY": "day", "WEEKLY": "week", "MONTHLY": "month",
               "YEARLY": "year"}  # fmt: skip
_FREQ_WORDS = {"HOURLY": "hourly", "DAILY": "daily", "WEEKLY": "weekly", "MONTHLY": "monthly",
               "YEARLY": "yearly"}  # fmt: skip
_DAY_WORDS = {
    **{name.lower(): code for name, code in zip(_DAY_NAMES, _DAY_CODES, strict=True)},
    **{name[:3].lower(): code for name, code in zip(_DAY_NAMES, _DAY_CODES, strict=True)},
    "tues": "TU",
    "weds": "WE",
    "thur": "TH",
    "thurs": "TH",
}
_WEEKDAY_WORDS = frozenset({"weekday", "weekdays", "workday", "workdays", "business day"})
_WEEKEND_WORDS = frozenset({"weekend", "weekends", "weekend day", "weekend days"})

# Patterns, compiled (and cached by ``re``) when a rule is first read or written: listing
# reminders only describes rules and needs none of them (≈ 0.4 ms of start-up).
_EVERY = r"(?:(?:every|each|on) )?(?:(?P<n>\d+|other) ?)?(?P<what>.+)"
_DAY_SPLIT = r"\s*(?:,|/|&|\band\b|\s)\s*"
_BYDAY = r"([+-]?)(\d{0,2})(MO|TU|WE|TH|FR|SA|SU)"
_UNTIL = r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?"
_NUMBER = r"[+-]?\d{1,4}"


def _bad(text: str, reason: str, field: str) -> InvalidValue:
    return InvalidValue(field, text, reason)


# -- reading ------------------------------------------------------------------------------


def parse_rule(text: str, anchor_local: datetime, *, field: str = FIELD) -> str:
    """A recurrence phrase or RRULE as a normalised RRULE value, for a reminder whose first
    time is ``anchor_local`` (aware or naive local time).  Raises
    :class:`~crmcli.errors.InvalidValue` naming ``field``."""
    norm = " ".join(text.split())
    if not norm:
        raise _bad(text, f"no rule given; {_HINT}", field)
    anchor = _wall(anchor_local)
    if "=" in norm or norm.upper().startswith(("RRULE", "DTSTART")):
        parts = _raw_parts(text, field)
    else:
        parts = _phrase_parts(norm.lower(), text, field)
    _month_ends(parts, anchor)
    if "UNTIL" in parts and _until_wall(parts["UNTIL"]) < anchor:
        raise _bad(text, "UNTIL is before the first time (--at)", field)
    rule = ";".join(f"{key}={parts[key]}" for key in PARTS if key in parts)
    try:
        found = _first_within(rule, anchor)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _bad(text, f"not a valid rule ({exc})", field) from None
    if found is None:
        raise _bad(text, "no time matches this rule in the next 30 years", field)
    return rule


_STEP_UNITS = {"DAILY": "days", "WEEKLY": "weeks", "MONTHLY": "months", "YEARLY": "years"}


def parse_step(text: str, *, field: str = FIELD) -> tuple[int, str]:
    """A plain step between dates, read with the same phrases as a reminder's ``--every``
    (``month``, ``monthly``, ``2 weeks``, ``every 3 months``, ``quarterly``, ``yearly``):
    ``(count, unit)`` with unit days, weeks, months or years.  Day-of-week rules and hours
    are refused: a payment schedule steps by whole days or more."""
    norm = " ".join(text.split()).lower()
    if not norm:
        raise _bad(text, "no step given; try month, 2 weeks, quarterly", field)
    if "=" in norm or norm.startswith(("rrule", "dtstart")):
        raise _bad(text, "give a step such as month, 2 weeks or quarterly, not an RRULE", field)
    parts = _phrase_parts(norm, text, field)
    unit = _STEP_UNITS.get(parts["FREQ"])
    if unit is None or _BY_PARTS.intersection(parts):
        raise _bad(text, "a step of days, weeks, months or years, e.g. month or 2 weeks", field)
    return int(parts.get("INTERVAL", "1")), unit


def _phrase_parts(norm: str, text: str, field: str) -> dict[str, str]:
    """``daily``, ``every 3 weeks``, ``every other month``, ``every weekday``,
    ``every mon,thu`` -> RRULE parts."""
    if norm in _SIMPLE:
        freq, interval = _SIMPLE[norm]
        return _freq(freq, interval)
    match = re.fullmatch(_EVERY, norm)
    if match is None:  # pragma: no cover - the pattern matches any non-empty text
        raise _bad(text, f"not a recurrence; {_HINT}", field)
    count_text, what = match["n"], match["what"].strip()
    interval = 1
    if count_text == "other":
        interval = 2
    elif count_text is not None:
        interval = int(count_text) if len(count_text) <= 9 else 0  # int() refuses 4,300+ digits
        if not 1 <= interval <= INTERVAL_MAX:
            raise _bad(text, f"the step must be 1 to {INTERVAL_MAX}", field)
    if what in _UNITS:
        return _freq(_UNITS[what], interval)
    if what in ("fortnight", "fortnights"):
        return _freq("WEEKLY", 2 * interval)
    if what in _WEEKDAY_WORDS or what in _WEEKEND_WORDS:
        chosen = _WEEKDAYS if what in _WEEKDAY_WORDS else ("SA", "SU")
        return {**_freq("WEEKLY", interval), "BYDAY": ",".join(chosen)}
    codes = set()
    for word in re.split(_DAY_SPLIT, what):
        if not word:
            continue
        code = _DAY_WORDS.get(word) or _DAY_WORDS.get(word.removesuffix("s"))
        if code is None:
            raise _bad(text, f"{word!r} is not a day or a unit of time; {_HINT}", field)
        codes.add(code)
    if not codes:
        raise _bad(text, f"not a recurrence; {_HINT}", field)
    days = ",".join(code for code in _DAY_CODES if code in codes)
    return {**_freq("WEEKLY", interval), "BYDAY": days}


def _freq(freq: str, interval: int) -> dict[str, str]:
    parts = {"FREQ": freq}
    if interval != 1:
        parts["INTERVAL"] = str(interval)
    return parts


def _raw_parts(text: str, field: str) -> dict[str, str]:
    """An RRULE value (``RRULE:`` prefix allowed) checked part by part."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if any(line.upper().startswith("DTSTART") for line in lines):
        raise _bad(text, "DTSTART is not allowed: the first time is --at", field)
    if len(lines) != 1:
        raise _bad(text, "give one RRULE (no EXDATE, RDATE or other lines)", field)
    body = lines[0]
    name, colon, rest = body.partition(":")
    if colon:
        if name.strip().upper() != "RRULE":
            raise _bad(text, f"only an RRULE is accepted, not {name.strip()[:20]}", field)
        body = rest
    parts: dict[str, str] = {}
    for piece in body.split(";"):
        piece = piece.strip()
        if not piece:
            continue
        key, eq, value = piece.partition("=")
        key, value = key.strip().upper(), value.strip().upper().replace(" ", "")
        if not eq or not key or not value:
            raise _bad(text, f"{piece[:30]!r} is not NAME=VALUE; parts are separated by ;", field)
        if key == "DTSTART":
            raise _bad(text, "DTSTART is not allowed: the first time is --at", field)
        if key not in PARTS:
            raise _bad(text, f"unknown rule part {key[:20]}; known: {', '.join(PARTS)}", field)
        if key in parts:
            raise _bad(text, f"{key} is given twice", field)
        parts[key] = _check_part(key, value, text, field)
    if "FREQ" not in parts:
        raise _bad(text, "the rule needs a FREQ, e.g. FREQ=WEEKLY", field)
    if "COUNT" in parts and "UNTIL" in parts:
        raise _bad(text, "give COUNT or UNTIL, not both", field)
    return parts


def _check_part(key: str, value: str, text: str, field: str) -> str:
    """One part's value, checked and normalised (dateutil accepts some nonsense)."""
    if key == "FREQ":
        if value in _TOO_OFTEN:
            raise _bad(text, "too frequent for a reminder; the smallest step is HOURLY", field)
        if value not in FREQS:
            raise _bad(text, f"FREQ must be one of {', '.join(FREQS)}", field)
        return value
    if key in ("INTERVAL", "COUNT"):
        top = INTERVAL_MAX if key == "INTERVAL" else 100_000
        if not (value.isdecimal() and len(value) <= 9) or not 1 <= int(value) <= top:
            raise _bad(text, f"{key} must be a whole number from 1 to {top:,}", field)
        return str(int(value))
    if key == "UNTIL":
        return _until(value, text, field)
    if key == "WKST":
        if value not in _DAY_CODES:
            raise _bad(text, f"WKST must be one of {','.join(_DAY_CODES)}", field)
        return value
    items = value.split(",")
    if key == "BYDAY":
        for item in items:
            match = re.fullmatch(_BYDAY, item)
            if match is None or (match[1] and not match[2]):
                raise _bad(text, f"BYDAY {item!r} is not a day such as MO, TU or -1FR", field)
            if match[2] and not 1 <= int(match[2]) <= 53:
                raise _bad(text, f"BYDAY {item!r}: the number must be 1 to 53", field)
        return value
    low, high, negative = _RANGES[key]
    for item in items:
        if not re.fullmatch(_NUMBER, item):
            raise _bad(text, f"{key} takes numbers separated by commas", field)
        number = int(item)
        if not (low <= number <= high or (negative and -high <= number <= -1)):
            span = f"{low} to {high}" + (f" or -{high} to -1" if negative else "")
            raise _bad(text, f"{key} {item} is out of range ({span})", field)
    return ",".join(str(int(item)) for item in items)


def _until(value: str, text: str, field: str) -> str:
    """UNTIL as UTC (``…Z``): a date is the end of that local day, a time without ``Z`` is
    local wall time."""
    match = re.fullmatch(_UNTIL, value)
    if match is None:
        raise _bad(text, "UNTIL must be a date such as 20261231 or 20261231T170000Z", field)
    try:
        year, month, day = int(match[1]), int(match[2]), int(match[3])
        if match[4] is None:
            moment = _localize(datetime.combine(date(year, month, day), time(23, 59, 59)))
        else:
            wall = datetime(year, month, day, int(match[4]), int(match[5]), int(match[6]))
            moment = wall.replace(tzinfo=UTC) if match[7] else _localize(wall)
    except (ValueError, OverflowError) as exc:
        raise _bad(text, f"UNTIL is not a real date or time ({exc})", field) from None
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _month_ends(parts: dict[str, str], anchor: datetime) -> None:
    """A plain monthly rule anchored on the 29th-31st keeps to the month's end in shorter
    months; a plain yearly one anchored on 29 February falls on 28 February in common
    years."""
    if _BY_PARTS.intersection(parts):
        return
    if parts["FREQ"] == "MONTHLY" and anchor.day >= 29:
        parts["BYMONTHDAY"] = ",".join(str(d) for d in range(28, anchor.day + 1))
        parts["BYSETPOS"] = "-1"
    elif parts["FREQ"] == "YEARLY" and (anchor.month, anchor.day) == (2, 29):
        parts["BYMONTH"] = "2"
        parts["BYMONTHDAY"] = "28,29"
        parts["BYSETPOS"] = "-1"


# -- expanding ----------------------------------------------------------------------------


def _wall(moment: datetime) -> datetime:
    """Naive local wall time of ``moment`` (naive means it is already local)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _localize(wall: datetime) -> datetime:
    from crmcli.dates import _localize as localize  # one rule for skipped and repeated times

    return localize(wall)


def split(rule: str) -> dict[str, str]:
    """``FREQ=DAILY;COUNT=3`` -> ``{"FREQ": "DAILY", "COUNT": "3"}`` (a stored rule)."""
    parts: dict[str, str] = {}
    for piece in rule.split(";"):
        key, _, value = piece.partition("=")
        if key:
            parts[key.strip().upper()] = value.strip()
    return parts


def _until_wall(until: str) -> datetime:
    """A stored UTC UNTIL as naive local wall time."""
    return _wall(datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC))


def _build(rule: str, anchor: datetime) -> rrule:
    """The dateutil rule from naive local ``anchor``; UNTIL turned into local wall time."""
    from dateutil.rrule import rrule, rrulestr

    parts = split(rule)
    until = parts.pop("UNTIL", None)
    built = rrulestr(";".join(f"{k}={v}" for k, v in parts.items()), dtstart=anchor)
    if not isinstance(built, rrule):  # one RRULE line never makes a set
        raise ValueError("not a single rule")
    if until is not None:
        built = built.replace(until=_until_wall(until))
    return built


def _first_within(rule: str, anchor: datetime) -> datetime | None:
    """The rule's first time within :data:`HORIZON_DAYS` of ``anchor``, or None (bounded,
    so an impossible rule is not searched to the year 9999)."""
    limit = anchor + timedelta(days=HORIZON_DAYS)
    until = split(rule).get("UNTIL")
    if until is not None:
        limit = min(limit, _until_wall(until))
    bounded = _build(rule, anchor).replace(count=None, until=limit)
    return next(iter(bounded), None)


def occurrences(rule: str, anchor_local: datetime, after_local: datetime) -> Iterator[datetime]:
    """The rule's times strictly after ``after_local``, as aware local datetimes."""
    anchor = _wall(anchor_local)
    after = after_local if after_local.tzinfo is not None else _localize(after_local)
    # Start a little early in wall time: around a DST change wall time and instants
    # disagree by up to the change itself.
    start = _wall(after) - timedelta(hours=3)
    for wall in _build(rule, anchor).xafter(start, inc=True):
        moment = _localize(wall)
        if moment > after:
            yield moment


def next_after(rule: str, anchor_local: datetime, after_local: datetime) -> datetime | None:
    """The first time of ``rule`` (expanded from ``anchor_local``) strictly after
    ``after_local``, aware in the local zone; None when COUNT or UNTIL is used up."""
    return next(occurrences(rule, anchor_local, after_local), None)


def first(rule: str, anchor_local: datetime) -> datetime | None:
    """The rule's first time at or after its anchor (the anchor itself when it fits)."""
    start = _localize(_wall(anchor_local))
    return next_after(rule, start, start - timedelta(seconds=1))


# -- describing ---------------------------------------------------------------------------


def describe(rule: str | None) -> str:
    """A rule as a person reads it: ``every 2 weeks``, ``monthly``, ``every Monday and
    Thursday``; the rule itself when there are no plain words for it; ``""`` for none."""
    if not rule:
        return ""
    parts = split(rule)
    freq = parts.pop("FREQ", "")
    interval = int(parts.pop("INTERVAL", "1") or 1)
    count, until = parts.pop("COUNT", None), parts.pop("UNTIL", None)
    parts.pop("WKST", None)
    base = _describe_base(freq, interval, parts)
    if base is None:
        return rule
    if count is not None:
        base += ", once" if count == "1" else f", {count} times"
    if until is not None:
        try:
            moment = datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return rule
        base += f" until {moment.astimezone().date().isoformat()}"
    return base


def _describe_base(freq: str, interval: int, parts: dict[str, str]) -> str | None:
    if freq not in _FREQ_WORDS:
        return None
    unit = _UNIT_WORDS[freq]
    plain = _FREQ_WORDS[freq] if interval == 1 else f"every {interval} {unit}s"
    if not parts:
        return plain
    month_end = parts.get("BYSETPOS") == "-1" and parts.get("BYMONTHDAY", "").startswith("28")
    if freq == "MONTHLY" and month_end and set(parts) == {"BYMONTHDAY", "BYSETPOS"}:
        return plain
    if freq == "YEARLY" and month_end and parts == {"BYMONTH": "2", "BYMONTHDAY": "28,29",
                                                    "BYSETPOS": "-1"}:  # fmt: skip
        return plain
    if freq == "WEEKLY" and set(parts) == {"BYDAY"}:
        days = parts["BYDAY"].split(",")
        if not all(day in _DAY_CODES for day in days):
            return None
        if days == list(_WEEKDAYS):
            named = "weekday"
        elif days == ["SA", "SU"]:
            named = "weekend day"
        else:
            names = [_DAY_NAMES[_DAY_CODES.index(day)] for day in days]
            named = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        if interval == 1:
            return f"every {named}"
        if interval == 2:
            return f"every other {named}"
        return f"every {interval} weeks on {named}"
    return None
