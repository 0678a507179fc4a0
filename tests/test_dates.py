"""Tests for crmcli.dates: the date grammar, local time and UTC storage."""

from __future__ import annotations

import os
import subprocess
import sys
import time as systime
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcli import dates
from crmcli.errors import InvalidValue

# Wednesday 18 November 2026, 10:30 local time.
TODAY = date(2026, 11, 18)
NOW = datetime(2026, 11, 18, 10, 30)
ICT = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh, no DST
CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))


@pytest.fixture(autouse=True, scope="module")
def _fixed_zone() -> Iterator[None]:
    """Every test runs in Asia/Ho_Chi_Minh (+07:00, no DST) unless it asks for Berlin.

    Tests pass ``today``/``now`` explicitly or set ``CRM_NOW`` themselves.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("CRM_NOW", raising=False)
        mp.setenv("TZ", "Asia/Ho_Chi_Minh")
        systime.tzset()
        yield
    systime.tzset()


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Europe/Berlin, which changes to summer time on 29 March 2026."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    systime.tzset()
    yield
    monkeypatch.undo()
    systime.tzset()


def d(text: str, order: str = "DMY", today: date = TODAY) -> date:
    return dates.parse_date(text, today=today, order=order)


def dt(
    text: str, now: datetime = NOW, *, order: str = "DMY", default_time: time | None = None
) -> datetime:
    return dates.parse_datetime(text, now=now, order=order, default_time=default_time)


def date_error(text: str, order: str = "DMY", today: date = TODAY) -> str:
    with pytest.raises(InvalidValue) as caught:
        dates.parse_date(text, today=today, order=order)
    return caught.value.reason


def datetime_error(text: str, now: datetime = NOW) -> str:
    with pytest.raises(InvalidValue) as caught:
        dates.parse_datetime(text, now=now)
    return caught.value.reason


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    """An aware datetime at +07:00 (the test zone)."""
    return datetime(year, month, day, hour, minute, second, us, tzinfo=ICT)


# ------------------------------------------------------------ parse_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        ("  2026-12-01  ", date(2026, 12, 1)),
        ("2026-1-5", date(2026, 1, 5)),
        ("2026/12/01", date(2026, 12, 1)),
        ("2026.12.01", date(2026, 12, 1)),
    ],
)
def test_iso_and_year_first_dates_under_any_order(text: str, expected: date) -> None:
    for order in dates.DATE_ORDERS:
        assert d(text, order) == expected


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("01/12/2026", "DMY", date(2026, 12, 1)),
        ("1.12.2026", "DMY", date(2026, 12, 1)),
        ("1-12-2026", "DMY", date(2026, 12, 1)),
        ("13/01/2026", "DMY", date(2026, 1, 13)),
        ("01/12/2026", "MDY", date(2026, 1, 12)),
        ("12.1.2026", "MDY", date(2026, 12, 1)),
        ("01/13/2026", "MDY", date(2026, 1, 13)),
        ("2026/01/12", "YMD", date(2026, 1, 12)),
        ("2026-1-12", "YMD", date(2026, 1, 12)),
        ("01/12/2026", "dmy", date(2026, 12, 1)),
    ],
)
def test_numeric_dates_follow_the_order(text: str, order: str, expected: date) -> None:
    assert d(text, order) == expected


def test_ambiguous_numeric_date_under_each_order() -> None:
    assert d("03/04/2026", "DMY") == date(2026, 4, 3)
    assert d("03/04/2026", "MDY") == date(2026, 3, 4)
    assert date_error("03/04/2026", "YMD") == (
        "dates are read year-first (YMD), so the year goes first, as in 2026-12-01; "
        "change with `crm config set date_order DMY` (or MDY)"
    )


def test_month_out_of_range_names_the_order() -> None:
    assert date_error("01/13/2026", "DMY") == (
        "dates are read day-first (DMY): 13 is not a month; "
        "change with `crm config set date_order MDY`"
    )
    assert date_error("13/01/2026", "MDY") == (
        "dates are read month-first (MDY): 13 is not a month; "
        "change with `crm config set date_order DMY`"
    )
    assert date_error("13/13/2026", "DMY") == "dates are read day-first (DMY): 13 is not a month"
    assert date_error("2026/13/01", "YMD") == "dates are read year-first (YMD): 13 is not a month"
    assert date_error("2026-13-01", "DMY") == "13 is not a month"
    assert date_error("2026-00-10") == "0 is not a month"


@pytest.mark.parametrize(
    ("text", "order", "reason"),
    [
        ("31/02/2026", "DMY", "February 2026 has 28 days"),
        ("02/31/2026", "MDY", "February 2026 has 28 days"),
        ("2026-02-30", "DMY", "February 2026 has 28 days"),
        ("31/04/2026", "DMY", "April 2026 has 30 days"),
        ("29/02/2027", "DMY", "February 2027 has 28 days"),
        ("1900-02-29", "DMY", "February 1900 has 28 days"),
        ("2026-12-32", "YMD", "December 2026 has 31 days"),
        ("00/01/2026", "DMY", "there is no day 0"),
        ("0000-01-01", "DMY", "there is no year 0"),
        ("31 Feb 2026", "DMY", "February 2026 has 28 days"),
        ("31 feb", "DMY", "February 2026 has 28 days"),
    ],
)
def test_impossible_dates(text: str, order: str, reason: str) -> None:
    assert date_error(text, order) == reason


def test_leap_years() -> None:
    assert d("29/02/2028") == date(2028, 2, 29)
    assert d("2000-02-29") == date(2000, 2, 29)
    assert d("29 Feb 2028") == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ("01/12/26", "DMY"),
        ("12/01/26", "MDY"),
        ("26/12/01", "YMD"),
        ("26-12-01", "YMD"),
        ("1 Dec 26", "DMY"),
        ("December 1, 26", "DMY"),
        ("1/1/026", "DMY"),
    ],
)
def test_two_digit_years_are_refused(text: str, order: str) -> None:
    assert date_error(text, order) == "write the year in full"


def test_long_year_and_missing_year() -> None:
    assert date_error("01/12/20266") == "20266 is not a year; years have four digits"
    assert date_error("03/04") == "the year is missing; write it in full, e.g. 03/04/2026"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 March 2026", date(2026, 3, 3)),
        ("3 Mar 2026", date(2026, 3, 3)),
        ("March 3", date(2026, 3, 3)),
        ("march 3, 2027", date(2027, 3, 3)),
        ("1 Dec", date(2026, 12, 1)),
        ("1st of December 2026", date(2026, 12, 1)),
        ("the 1st of december", date(2026, 12, 1)),
        ("December 1st, 2026", date(2026, 12, 1)),
        ("Dec. 1 2026", date(2026, 12, 1)),
        ("1-Dec-2026", date(2026, 12, 1)),
        ("22nd sept 2026", date(2026, 9, 22)),
        ("Tuesday, 1 December 2026", date(2026, 12, 1)),
        ("tue dec 1 2026", date(2026, 12, 1)),
        ("MAY 2", date(2026, 5, 2)),
    ],
)
def test_month_names(text: str, expected: date) -> None:
    assert d(text) == expected
    assert d(text, "MDY") == expected


def test_month_name_with_the_wrong_weekday() -> None:
    assert date_error("Monday 1 December 2026") == "1 December 2026 is a Tuesday"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", date(2026, 11, 18)),
        ("TODAY", date(2026, 11, 18)),
        ("tomorrow", date(2026, 11, 19)),
        ("yesterday", date(2026, 11, 17)),
        # Today is Wednesday 18 November.
        ("friday", date(2026, 11, 20)),
        ("this friday", date(2026, 11, 20)),
        ("next friday", date(2026, 11, 20)),
        ("  Next   FRIDAY ", date(2026, 11, 20)),
        ("last friday", date(2026, 11, 13)),
        ("fri", date(2026, 11, 20)),
        ("monday", date(2026, 11, 23)),
        ("last monday", date(2026, 11, 16)),
        ("next tues", date(2026, 11, 24)),
        ("thurs", date(2026, 11, 19)),
        ("sunday", date(2026, 11, 22)),
        ("wednesday", date(2026, 11, 18)),
        ("this wednesday", date(2026, 11, 18)),
        ("next wednesday", date(2026, 11, 25)),
        ("last wednesday", date(2026, 11, 11)),
    ],
)
def test_day_words_and_weekdays(text: str, expected: date) -> None:
    assert d(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 3 days", date(2026, 11, 21)),
        ("in 1 day", date(2026, 11, 19)),
        ("in 0 days", date(2026, 11, 18)),
        ("in a day", date(2026, 11, 19)),
        ("in 2 weeks", date(2026, 12, 2)),
        ("in a week", date(2026, 11, 25)),
        ("in 3 months", date(2027, 2, 18)),
        ("in a month", date(2026, 12, 18)),
        ("in 2 years", date(2028, 11, 18)),
        ("3 days ago", date(2026, 11, 15)),
        ("2 weeks ago", date(2026, 11, 4)),
        ("a week ago", date(2026, 11, 11)),
        ("11 months ago", date(2025, 12, 18)),
        ("1 year ago", date(2025, 11, 18)),
        ("3 days from now", date(2026, 11, 21)),
        ("in 3d", date(2026, 11, 21)),
        ("in 2w", date(2026, 12, 2)),
        ("2w ago", date(2026, 11, 4)),
        ("in 1 mo", date(2026, 12, 18)),
        ("in 1 yr", date(2027, 11, 18)),
    ],
)
def test_durations(text: str, expected: date) -> None:
    assert d(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("end of week", date(2026, 11, 22)),
        ("start of week", date(2026, 11, 16)),
        ("beginning of the week", date(2026, 11, 16)),
        ("end of month", date(2026, 11, 30)),
        ("end of the month", date(2026, 11, 30)),
        ("start of month", date(2026, 11, 1)),
        ("beginning of month", date(2026, 11, 1)),
        ("end of year", date(2026, 12, 31)),
        ("start of year", date(2026, 1, 1)),
        ("end of this month", date(2026, 11, 30)),
        ("end of next month", date(2026, 12, 31)),
        ("start of next week", date(2026, 11, 23)),
        ("end of last week", date(2026, 11, 15)),
        ("start of last month", date(2026, 10, 1)),
        ("end of next year", date(2027, 12, 31)),
        ("next week", date(2026, 11, 25)),
        ("last week", date(2026, 11, 11)),
        ("next month", date(2026, 12, 18)),
        ("last month", date(2026, 10, 18)),
        ("next year", date(2027, 11, 18)),
        ("last year", date(2025, 11, 18)),
    ],
)
def test_periods(text: str, expected: date) -> None:
    assert d(text) == expected


def test_end_of_month_in_february() -> None:
    assert d("end of month", today=date(2026, 2, 10)) == date(2026, 2, 28)
    assert d("end of month", today=date(2028, 2, 10)) == date(2028, 2, 29)
    assert d("end of next month", today=date(2026, 1, 31)) == date(2026, 2, 28)


def test_month_steps_clip_to_the_month_length() -> None:
    assert d("in 1 month", today=date(2026, 1, 31)) == date(2026, 2, 28)
    assert d("in 1 month", today=date(2028, 1, 31)) == date(2028, 2, 29)
    assert d("next month", today=date(2026, 1, 31)) == date(2026, 2, 28)
    assert d("1 month ago", today=date(2026, 3, 31)) == date(2026, 2, 28)
    assert d("in 1 month", today=date(2026, 12, 31)) == date(2027, 1, 31)
    assert d("next year", today=date(2028, 2, 29)) == date(2029, 2, 28)
    assert d("in 4 years", today=date(2028, 2, 29)) == date(2032, 2, 29)


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_blank_is_an_error(text: str) -> None:
    assert date_error(text) == "no date given"


@pytest.mark.parametrize("text", ["banana", "soon", "31st", "-3 days", "tomorrowish", "3 days"])
def test_garbage(text: str) -> None:
    assert date_error(text) == "not a date; try 2026-12-01, tomorrow, next friday, in 3 days"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("tomorrow banana", "unexpected 'banana' after 'tomorrow'"),
        ("next friday please", "unexpected 'please' after 'next friday'"),
        ("in 3 days or so", "unexpected 'or so' after 'in 3 days'"),
        ("2026-12-01 x", "unexpected 'x' after '2026-12-01'"),
        ("1 Dec 2026 and more", "unexpected 'and more' after '1 dec 2026'"),
    ],
)
def test_trailing_junk(text: str, reason: str) -> None:
    assert date_error(text) == reason


def test_long_junk_is_cut_short() -> None:
    assert date_error("tomorrow " + "x " * 1000) == f"unexpected '{'x ' * 14}x…' after 'tomorrow'"


def test_bad_unit() -> None:
    assert date_error("in 3 dayz") == (
        "'dayz' is not a unit of time; use minutes, hours, days, weeks, months or years"
    )


@pytest.mark.parametrize(
    "text",
    ["tomorrow 9am", "9am", "14:00", "now", "in 2 hours", "3 minutes ago", "2026-12-01T10:00"],
)
def test_time_is_refused_where_a_date_is_needed(text: str) -> None:
    assert date_error(text) == "a date is needed here, not a time"


def test_out_of_range() -> None:
    reason = "that is outside the calendar (years 1 to 9999)"
    assert date_error("in 9999 years") == reason
    assert date_error("in 99999999999 days") == reason
    assert date_error("tomorrow", today=date(9999, 12, 31)) == reason


def test_error_carries_field_and_text() -> None:
    with pytest.raises(InvalidValue) as caught:
        dates.parse_date("31/02/2026", today=TODAY, field="--due")
    assert caught.value.field == "--due"
    assert caught.value.value == "31/02/2026"
    assert str(caught.value) == "invalid --due '31/02/2026': February 2026 has 28 days"


def test_unknown_order_is_refused() -> None:
    with pytest.raises(InvalidValue) as caught:
        dates.parse_date("2026-12-01", today=TODAY, order="DYM")
    assert caught.value.field == "date_order"
    assert caught.value.reason == "use DMY, MDY or YMD"


def test_today_defaults_to_crm_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", "2026-11-18T23:30:00")
    assert dates.parse_date("tomorrow") == date(2026, 11, 19)
    monkeypatch.setenv("CRM_NOW", "2026-11-18T23:30:00Z")  # already the 19th at +07:00
    assert dates.parse_date("tomorrow") == date(2026, 11, 20)


# -------------------------------------------------------- parse_datetime


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", local(2026, 11, 18, 10, 30)),
        ("tomorrow 9am", local(2026, 11, 19, 9, 0)),
        ("tomorrow at 9am", local(2026, 11, 19, 9, 0)),
        ("Tomorrow 9 AM", local(2026, 11, 19, 9, 0)),
        ("9 a.m. tomorrow", local(2026, 11, 19, 9, 0)),
        ("next friday at 14:30", local(2026, 11, 20, 14, 30)),
        ("14:30 next friday", local(2026, 11, 20, 14, 30)),
        ("noon on friday", local(2026, 11, 20, 12, 0)),
        ("today noon", local(2026, 11, 18, 12, 0)),
        ("tomorrow midnight", local(2026, 11, 19, 0, 0)),
        ("2026-12-01 10:00", local(2026, 12, 1, 10, 0)),
        ("2026-12-01T10:00:30", local(2026, 12, 1, 10, 0, 30)),
        ("2026-12-01 9:05", local(2026, 12, 1, 9, 5)),
        ("01/12/2026 9:15pm", local(2026, 12, 1, 21, 15)),
        ("01/12/2026 at 21:15:10", local(2026, 12, 1, 21, 15, 10)),
        ("3 Mar 2026 14:00", local(2026, 3, 3, 14, 0)),
        ("December 1 at 8pm", local(2026, 12, 1, 20, 0)),
        ("9am", local(2026, 11, 18, 9, 0)),
        ("14:00", local(2026, 11, 18, 14, 0)),
        ("at 9", local(2026, 11, 18, 9, 0)),
        ("tomorrow at 21", local(2026, 11, 19, 21, 0)),
        ("12am", local(2026, 11, 18, 0, 0)),
        ("12pm", local(2026, 11, 18, 12, 0)),
        ("12:30am", local(2026, 11, 18, 0, 30)),
        ("11:59 pm", local(2026, 11, 18, 23, 59)),
        ("midnight", local(2026, 11, 18, 0, 0)),
    ],
)
def test_dates_with_times(text: str, expected: datetime) -> None:
    result = dt(text)
    assert result == expected
    assert result.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 2 hours", local(2026, 11, 18, 12, 30)),
        ("in 2h", local(2026, 11, 18, 12, 30)),
        ("in 30m", local(2026, 11, 18, 11, 0)),
        ("in 90 minutes", local(2026, 11, 18, 12, 0)),
        ("in an hour", local(2026, 11, 18, 11, 30)),
        ("in 45 secs", local(2026, 11, 18, 10, 30, 45)),
        ("3 hours ago", local(2026, 11, 18, 7, 30)),
        ("an hour ago", local(2026, 11, 18, 9, 30)),
        ("15 min ago", local(2026, 11, 18, 10, 15)),
        ("in 14 hours", local(2026, 11, 19, 0, 30)),
        ("in 3 days", local(2026, 11, 21, 10, 30)),
        ("2 weeks ago", local(2026, 11, 4, 10, 30)),
        ("in 1 month", local(2026, 12, 18, 10, 30)),
        ("a year ago", local(2025, 11, 18, 10, 30)),
        ("in 3 days at 9am", local(2026, 11, 21, 9, 0)),
        ("2 days ago at noon", local(2026, 11, 16, 12, 0)),
    ],
)
def test_durations_move_now_exactly(text: str, expected: datetime) -> None:
    assert dt(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", local(2026, 11, 18)),
        ("tomorrow", local(2026, 11, 19)),
        ("next friday", local(2026, 11, 20)),
        ("2026-12-01", local(2026, 12, 1)),
        ("01/12/2026", local(2026, 12, 1)),
        ("end of month", local(2026, 11, 30)),
        ("December 1", local(2026, 12, 1)),
    ],
)
def test_date_only_gets_default_time_or_midnight(text: str, expected: datetime) -> None:
    assert dt(text) == expected
    assert dt(text, default_time=time(9, 15)) == expected.replace(hour=9, minute=15)


def test_default_time_does_not_override_a_given_time_or_duration() -> None:
    assert dt("tomorrow 18:00", default_time=time(9)) == local(2026, 11, 19, 18, 0)
    assert dt("in 3 days", default_time=time(9)) == local(2026, 11, 21, 10, 30)


def test_datetime_follows_the_order() -> None:
    assert dt("03/04/2026 10:00", order="DMY") == local(2026, 4, 3, 10, 0)
    assert dt("03/04/2026 10:00", order="MDY") == local(2026, 3, 4, 10, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T10:00:00+07:00", local(2026, 12, 1, 10, 0)),
        ("2026-12-01T03:00:00Z", local(2026, 12, 1, 10, 0)),
        ("2026-12-01t03:00z", local(2026, 12, 1, 10, 0)),
        ("2026-12-01T10:00:00+0900", local(2026, 12, 1, 8, 0)),
        ("2026-12-01T10:00-05", local(2026, 12, 1, 22, 0)),
        ("2026-12-01T10:00:00.250+07:00", local(2026, 12, 1, 10, 0, 0, 250000)),
    ],
)
def test_iso_with_offset_keeps_its_instant(text: str, expected: datetime) -> None:
    result = dt(text)
    assert result == expected
    assert result.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("25:00", "there is no hour 25; hours run from 0 to 23"),
        ("24:00", "there is no hour 24; hours run from 0 to 23"),
        ("13pm", "with am/pm the hour runs from 1 to 12, not 13"),
        ("0am", "with am/pm the hour runs from 1 to 12, not 0"),
        ("10:61", "there is no minute 61"),
        ("10:30:60", "there is no second 60"),
        ("tomorrow 25:00", "there is no hour 25; hours run from 0 to 23"),
        ("2026-12-01T25:00", "there is no hour 25; hours run from 0 to 23"),
        ("2026-02-30 10:00", "February 2026 has 28 days"),
        ("31/02/2026 9am", "February 2026 has 28 days"),
        ("2026-12-01T10:00+25:00", "+25:00 is not a UTC offset"),
        ("01/12/26 10:00", "write the year in full"),
    ],
)
def test_invalid_times(text: str, reason: str) -> None:
    assert datetime_error(text) == reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no date or time given"),
        ("  ", "no date or time given"),
        (
            "banana",
            "not a date or time; try 2026-12-01 10:00, tomorrow 9am, next friday, in 2 hours",
        ),
        ("tomorrow banana", "unexpected 'banana' after 'tomorrow'"),
        ("tomorrow 9am banana", "unexpected 'banana' after 'tomorrow 9am'"),
        ("tomorrow 9", "unexpected '9' after 'tomorrow'"),
        ("in 2 hours at 9am", "unexpected 'at 9am' after 'in 2 hours'"),
    ],
)
def test_datetime_errors(text: str, reason: str) -> None:
    assert datetime_error(text) == reason


def test_datetime_error_carries_field() -> None:
    with pytest.raises(InvalidValue) as caught:
        dates.parse_datetime("25:00", now=NOW, field="--at")
    assert caught.value.field == "--at"
    assert str(caught.value).startswith("invalid --at '25:00': there is no hour 25")


def test_now_may_be_naive_or_in_another_zone() -> None:
    tokyo = timezone(timedelta(hours=9))
    aware = datetime(2026, 11, 18, 12, 30, tzinfo=tokyo)  # 10:30 at +07:00
    assert dt("now", now=aware) == local(2026, 11, 18, 10, 30)
    assert dt("now", now=aware).utcoffset() == timedelta(hours=7)
    assert dt("tomorrow 9am", now=aware) == local(2026, 11, 19, 9, 0)
    late = datetime(2026, 11, 18, 23, 0, tzinfo=UTC)  # already the 19th locally
    assert dt("today", now=late) == local(2026, 11, 19)


def test_now_defaults_to_crm_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", "2026-11-18T10:30:00")
    assert dates.parse_datetime("in 2 hours") == local(2026, 11, 18, 12, 30)


def test_dst_start_in_berlin(berlin: None) -> None:
    now = datetime(2026, 3, 28, 10, 0)  # Saturday; clocks go forward that night
    assert dt("now", now=now).utcoffset() == timedelta(hours=1)
    assert dt("in 1 day", now=now) == datetime(2026, 3, 29, 10, 0, tzinfo=CEST)
    assert dt("in 24 hours", now=now) == datetime(2026, 3, 29, 11, 0, tzinfo=CEST)
    assert dt("today 9am", now=now) == datetime(2026, 3, 28, 9, 0, tzinfo=CET)
    tomorrow = dt("tomorrow 9am", now=now)
    assert tomorrow == datetime(2026, 3, 29, 9, 0, tzinfo=CEST)
    assert tomorrow.utcoffset() == timedelta(hours=2)
    assert dates.to_utc_iso(tomorrow) == "2026-03-29T07:00:00Z"
    # 02:30 does not exist that night: it moves forward to 03:30 summer time.
    assert dt("2026-03-29 02:30", now=now) == datetime(2026, 3, 29, 3, 30, tzinfo=CEST)


def test_dst_end_in_berlin(berlin: None) -> None:
    now = datetime(2026, 10, 24, 12, 0)
    assert dt("in 1 day", now=now) == datetime(2026, 10, 25, 12, 0, tzinfo=CET)
    assert dt("in 24 hours", now=now) == datetime(2026, 10, 25, 11, 0, tzinfo=CET)
    # 02:30 happens twice: the first one (summer time) is meant.
    assert dt("2026-10-25 02:30", now=now) == datetime(2026, 10, 25, 2, 30, tzinfo=CEST)
    assert dates.to_utc_iso(dt("tomorrow noon", now=now)) == "2026-10-25T11:00:00Z"


# --------------------------------------------------- now and UTC storage


def test_now_local_honours_crm_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", "2026-11-18T10:30:00")
    assert dates.now_local() == local(2026, 11, 18, 10, 30)
    assert dates.now_local().utcoffset() == timedelta(hours=7)
    assert dates.today_local() == date(2026, 11, 18)
    assert dates.utc_now_iso() == "2026-11-18T03:30:00Z"
    monkeypatch.setenv("CRM_NOW", "2026-11-18T20:00:00Z")
    assert dates.now_local() == local(2026, 11, 19, 3, 0)
    assert dates.now_local().utcoffset() == timedelta(hours=7)
    assert dates.today_local() == date(2026, 11, 19)


def test_bad_crm_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", "tomorrow")
    with pytest.raises(InvalidValue) as caught:
        dates.now_local()
    assert caught.value.field == "CRM_NOW"


def test_now_local_without_crm_now_is_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_NOW", raising=False)
    before = datetime.now(UTC)
    result = dates.now_local()
    assert result.utcoffset() == timedelta(hours=7)
    assert before - timedelta(seconds=1) <= result <= datetime.now(UTC) + timedelta(seconds=1)


def test_to_utc_iso() -> None:
    assert dates.to_utc_iso(local(2026, 11, 23, 16, 0)) == "2026-11-23T09:00:00Z"
    assert dates.to_utc_iso(datetime(2026, 11, 23, 16, 0)) == "2026-11-23T09:00:00Z"
    assert dates.to_utc_iso(local(2026, 11, 23, 16, 0, 5, 999999)) == "2026-11-23T09:00:05Z"
    assert dates.to_utc_iso(datetime(2026, 1, 1, 3, 0, tzinfo=UTC)) == "2026-01-01T03:00:00Z"


def test_from_utc_iso() -> None:
    expected = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    for text in ("2026-11-23T09:00:00Z", "2026-11-23T09:00:00+00:00", "2026-11-23T16:00:00+07:00"):
        result = dates.from_utc_iso(text)
        assert result == expected
        assert result.utcoffset() == timedelta(0)
    with pytest.raises(InvalidValue):
        dates.from_utc_iso("yesterday")


def test_format_local() -> None:
    assert dates.format_local("2026-11-23T09:00:00Z") == "2026-11-23 16:00"
    assert dates.format_local("2026-11-23T09:00:59Z", seconds=True) == "2026-11-23 16:00:59"
    assert dates.format_local("2026-11-23T20:00:00+00:00") == "2026-11-24 03:00"
    assert dates.format_local("") == ""
    assert dates.format_local(None) == ""


def test_format_local_in_summer_and_winter(berlin: None) -> None:
    assert dates.format_local("2026-07-01T10:00:00Z") == "2026-07-01 12:00"
    assert dates.format_local("2026-01-01T10:00:00Z") == "2026-01-01 11:00"


# ------------------------------------------------------------ properties


def numeric(value: date, order: str, sep: str, pad: bool) -> str:
    """``value`` written as digits in ``order``, e.g. 01/12/2026 or 1.12.2026."""
    width = 2 if pad else 1
    parts = {"D": f"{value.day:0{width}d}", "M": f"{value.month:0{width}d}"}
    parts["Y"] = f"{value.year:04d}"
    return sep.join(parts[letter] for letter in order)


minute_offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30), timezones=minute_offsets
)
# Since mid-1975 Asia/Ho_Chi_Minh has been +07:00 without change.
recent_datetimes = st.datetimes(
    min_value=datetime(1976, 1, 1), max_value=datetime(2200, 12, 30), timezones=minute_offsets
)


@given(st.dates())
def test_iso_dates_parse_back(value: date) -> None:
    assert dates.parse_date(value.isoformat(), today=TODAY) == value


@given(
    st.dates(),
    st.sampled_from(dates.DATE_ORDERS),
    st.sampled_from(["/", ".", "-"]),
    st.booleans(),
)
def test_numeric_dates_parse_back_in_every_order(
    value: date, order: str, sep: str, pad: bool
) -> None:
    text = numeric(value, order, sep, pad)
    assert dates.parse_date(text, today=TODAY, order=order) == value


@given(st.integers(min_value=0, max_value=5000))
def test_day_counts(count: int) -> None:
    assert dates.parse_date(f"in {count} days", today=TODAY) == TODAY + timedelta(days=count)
    assert dates.parse_date(f"{count} days ago", today=TODAY) == TODAY - timedelta(days=count)


@given(aware_datetimes)
def test_utc_text_round_trip(value: datetime) -> None:
    text = dates.to_utc_iso(value)
    assert text.endswith("Z")
    back = dates.from_utc_iso(text)
    assert back == value.replace(microsecond=0)
    assert back.utcoffset() == timedelta(0)


@given(recent_datetimes)
def test_iso_with_offset_parses_to_the_same_instant(value: datetime) -> None:
    result = dates.parse_datetime(value.isoformat(), now=NOW)
    assert result == value
    assert result.utcoffset() == timedelta(hours=7)


# ------------------------------------------------------------ start-up


def test_common_paths_do_not_import_dateutil() -> None:
    code = (
        "import sys; from crmcli import dates; "
        "dates.parse_date('tomorrow'); dates.parse_date('2026-12-01'); "
        "dates.parse_datetime('next friday 9am'); dates.parse_date('1 Dec 2026'); "
        "print('dateutil' in sys.modules)"
    )
    env = {**os.environ, "CRM_NOW": "2026-11-18T10:30:00"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("text", "expected", "short"),
    [
        ("4h", (4, "hours"), "4h"),
        ("30d", (30, "days"), "30d"),
        ("2 weeks", (2, "weeks"), "2w"),
        ("1 Month", (1, "months"), "1mo"),
        ("  3   days ", (3, "days"), "3d"),
    ],
)
def test_lengths_of_time(text: str, expected: tuple[int, str], short: str) -> None:
    from crmcli.dates import format_duration, parse_duration

    assert parse_duration(text) == expected
    assert format_duration(*expected) == short


@pytest.mark.parametrize("text", ["", "5", "0d", "-3d", "3 parsecs", "1.5d", "d", "999999 years"])
def test_bad_durations_name_the_field(text: str) -> None:
    from crmcli.dates import parse_duration
    from crmcli.errors import InvalidValue

    with pytest.raises(InvalidValue, match="--cadence"):
        parse_duration(text, field="--cadence")


def test_adding_a_month_keeps_the_wall_time_and_the_month_end() -> None:
    from crmcli.dates import add_duration

    start = datetime(2026, 1, 31, 9, 0).astimezone()
    assert add_duration(start, 1, "months").replace(tzinfo=None) == datetime(2026, 2, 28, 9, 0)
    assert add_duration(start, 4, "hours").replace(tzinfo=None) == datetime(2026, 1, 31, 13, 0)
