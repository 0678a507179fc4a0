"""Recurrence rules: phrases and RRULEs, month ends, 29 February, DST, COUNT and UNTIL."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcli.core.recurrence import describe, first, next_after, parse_rule
from crmcli.errors import InvalidValue


def local(*parts: int) -> datetime:
    """An aware local datetime (the tests' zone: Asia/Ho_Chi_Minh, unless a test moves it)."""
    return datetime(*parts).astimezone()


def times(rule: str, anchor: datetime, n: int) -> list[datetime]:
    """The first ``n`` times of ``rule`` from ``anchor`` (the anchor first when it fits)."""
    found: list[datetime] = []
    moment = first(rule, anchor)
    while moment is not None and len(found) < n:
        found.append(moment)
        moment = next_after(rule, anchor, moment)
    return found


def days(moments: list[datetime]) -> list[str]:
    return [m.date().isoformat() for m in moments]


def monday() -> datetime:
    """Monday 23 November 2026, 09:00 local (made in the test: the zone is set per test)."""
    return local(2026, 11, 23, 9, 0)


@pytest.mark.parametrize(
    ("text", "rule", "words"),
    [
        ("daily", "FREQ=DAILY", "daily"),
        ("every day", "FREQ=DAILY", "daily"),
        ("weekly", "FREQ=WEEKLY", "weekly"),
        ("every 2 weeks", "FREQ=WEEKLY;INTERVAL=2", "every 2 weeks"),
        ("Every  2  Weeks", "FREQ=WEEKLY;INTERVAL=2", "every 2 weeks"),
        ("every other week", "FREQ=WEEKLY;INTERVAL=2", "every 2 weeks"),
        ("fortnightly", "FREQ=WEEKLY;INTERVAL=2", "every 2 weeks"),
        ("every 3 days", "FREQ=DAILY;INTERVAL=3", "every 3 days"),
        ("every 6 months", "FREQ=MONTHLY;INTERVAL=6", "every 6 months"),
        ("every 2 years", "FREQ=YEARLY;INTERVAL=2", "every 2 years"),
        ("monthly", "FREQ=MONTHLY", "monthly"),
        ("quarterly", "FREQ=MONTHLY;INTERVAL=3", "every 3 months"),
        ("yearly", "FREQ=YEARLY", "yearly"),
        ("annually", "FREQ=YEARLY", "yearly"),
        ("every weekday", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "every weekday"),
        ("weekdays", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "every weekday"),
        ("every monday", "FREQ=WEEKLY;BYDAY=MO", "every Monday"),
        ("every mon,thu", "FREQ=WEEKLY;BYDAY=MO,TH", "every Monday and Thursday"),
        ("every thursday and monday", "FREQ=WEEKLY;BYDAY=MO,TH", "every Monday and Thursday"),
        ("mondays, wednesdays & fridays", "FREQ=WEEKLY;BYDAY=MO,WE,FR",
         "every Monday, Wednesday and Friday"),
        ("every other friday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR", "every other Friday"),
        ("FREQ=WEEKLY;BYDAY=mo,th", "FREQ=WEEKLY;BYDAY=MO,TH", "every Monday and Thursday"),
        ("RRULE:FREQ=DAILY;COUNT=3", "FREQ=DAILY;COUNT=3", "daily, 3 times"),
        ("rrule:freq=daily;interval=2", "FREQ=DAILY;INTERVAL=2", "every 2 days"),
        ("FREQ=MONTHLY;BYDAY=1MO", "FREQ=MONTHLY;BYDAY=1MO", "FREQ=MONTHLY;BYDAY=1MO"),
        ("COUNT=2;FREQ=WEEKLY", "FREQ=WEEKLY;COUNT=2", "weekly, 2 times"),
    ],
)  # fmt: skip
def test_phrases_and_rrules_normalise(text: str, rule: str, words: str) -> None:
    assert parse_rule(text, monday()) == rule
    assert describe(rule) == words


def test_describe_without_a_rule_and_with_until() -> None:
    assert describe(None) == describe("") == ""
    rule = parse_rule("FREQ=DAILY;UNTIL=20261231", monday())
    assert rule == "FREQ=DAILY;UNTIL=20261231T165959Z"  # the end of that local day, in UTC
    assert describe(rule) == "daily until 2026-12-31"
    assert describe("FREQ=SOMETIMES") == "FREQ=SOMETIMES"


def test_daily_weekly_and_every_two_weeks() -> None:
    assert days(times("FREQ=DAILY", monday(), 3)) == ["2026-11-23", "2026-11-24", "2026-11-25"]
    assert days(times("FREQ=WEEKLY", monday(), 3)) == ["2026-11-23", "2026-11-30", "2026-12-07"]
    assert days(times("FREQ=WEEKLY;INTERVAL=2", monday(), 3)) == [
        "2026-11-23", "2026-12-07", "2026-12-21",
    ]  # fmt: skip
    assert all(m.hour == 9 and m.minute == 0 for m in times("FREQ=DAILY", monday(), 40))


def test_every_weekday_skips_the_weekend_and_starts_on_a_fitting_day() -> None:
    saturday = local(2026, 11, 28, 8, 30)
    rule = parse_rule("every weekday", saturday)
    found = times(rule, saturday, 6)
    assert days(found) == [
        "2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-07",
    ]  # fmt: skip
    assert {(m.hour, m.minute) for m in found} == {(8, 30)}


def test_the_31st_falls_on_the_last_day_of_shorter_months() -> None:
    anchor = local(2026, 10, 31, 9, 0)
    rule = parse_rule("monthly", anchor)
    assert rule == "FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1"
    assert describe(rule) == "monthly"
    found = times(rule, anchor, 18)
    assert days(found)[:6] == [
        "2026-10-31", "2026-11-30", "2026-12-31", "2027-01-31", "2027-02-28", "2027-03-31",
    ]  # fmt: skip
    assert "2028-02-29" in days(found)  # a leap year keeps its 29th
    assert all(m.hour == 9 for m in found)


def test_month_end_from_the_last_done_time() -> None:
    anchor = local(2026, 10, 31, 9, 0)
    rule = parse_rule("monthly", anchor)
    after_november = next_after(rule, anchor, local(2026, 11, 30, 9, 0))
    assert after_november == local(2026, 12, 31, 9, 0)  # not stuck on the 30th


@pytest.mark.parametrize(
    ("day", "monthdays"),
    [(29, "28,29"), (30, "28,29,30"), (31, "28,29,30,31")],
)
def test_month_end_rules_by_anchor_day(day: int, monthdays: str) -> None:
    rule = parse_rule("monthly", local(2027, 1, day, 9, 0))
    assert rule == f"FREQ=MONTHLY;BYMONTHDAY={monthdays};BYSETPOS=-1"
    found = times(rule, local(2027, 1, day, 9, 0), 3)
    assert days(found) == [f"2027-01-{day}", "2027-02-28", f"2027-03-{day}"]


def test_day_28_and_explicit_monthdays_stay_as_written() -> None:
    assert parse_rule("monthly", local(2026, 11, 28, 9, 0)) == "FREQ=MONTHLY"
    strict = parse_rule("FREQ=MONTHLY;BYMONTHDAY=31", local(2026, 10, 31, 9, 0))
    assert strict == "FREQ=MONTHLY;BYMONTHDAY=31"  # the RFC reading: months without it skip
    assert days(times(strict, local(2026, 10, 31, 9, 0), 3)) == [
        "2026-10-31", "2026-12-31", "2027-01-31",
    ]  # fmt: skip


def test_yearly_on_29_february() -> None:
    anchor = local(2028, 2, 29, 9, 0)
    rule = parse_rule("yearly", anchor)
    assert rule == "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1"
    assert describe(rule) == "yearly"
    assert days(times(rule, anchor, 5)) == [
        "2028-02-29", "2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29",
    ]  # fmt: skip


def test_dst_keeps_the_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Berlin moves from +01 to +02 on 29 March 2026 and back on 25 October."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    anchor = local(2026, 3, 27, 9, 0)
    found = times(parse_rule("daily", anchor), anchor, 4)
    assert [(m.day, m.hour, m.minute) for m in found] == [(27, 9, 0), (28, 9, 0), (29, 9, 0),
                                                          (30, 9, 0)]  # fmt: skip
    offsets = [m.utcoffset() for m in found]
    assert offsets == [timedelta(hours=1)] * 2 + [timedelta(hours=2)] * 2
    autumn = local(2026, 10, 24, 9, 0)
    back = times("FREQ=DAILY", autumn, 2)
    assert [(m.day, m.hour) for m in back] == [(24, 9), (25, 9)]
    assert [m.utcoffset() for m in back] == [timedelta(hours=2), timedelta(hours=1)]


def test_dst_skipped_time_moves_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    anchor = local(2026, 3, 28, 2, 30)
    found = times("FREQ=DAILY", anchor, 3)
    assert [(m.day, m.hour, m.minute) for m in found] == [(28, 2, 30), (29, 3, 30), (30, 2, 30)]


def test_count_and_until_run_out() -> None:
    rule = parse_rule("FREQ=DAILY;COUNT=3", monday())
    assert days(times(rule, monday(), 10)) == ["2026-11-23", "2026-11-24", "2026-11-25"]
    assert next_after(rule, monday(), local(2026, 11, 25, 9, 0)) is None
    until = parse_rule("FREQ=WEEKLY;UNTIL=20261207", monday())
    assert days(times(until, monday(), 10)) == ["2026-11-23", "2026-11-30", "2026-12-07"]
    assert next_after(until, monday(), local(2026, 12, 7, 9, 0)) is None


def test_next_after_is_strictly_after() -> None:
    assert next_after("FREQ=DAILY", monday(), monday()) == local(2026, 11, 24, 9, 0)
    assert next_after("FREQ=DAILY", monday(), local(2026, 11, 30, 8, 59)) == local(
        2026, 11, 30, 9, 0
    )


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "no rule given"),
        ("sometimes", "'sometimes' is not a day or a unit of time"),
        ("every blursday", "'blursday' is not a day"),
        ("every 0 days", "the step must be 1 to 1000"),
        ("every 5000 days", "the step must be 1 to 1000"),
        ("FREQ=DAILY;DTSTART=20260101T090000", "DTSTART is not allowed"),
        ("DTSTART:20260101T090000\nRRULE:FREQ=DAILY", "DTSTART is not allowed"),
        ("RRULE:FREQ=DAILY\nEXDATE:20261201", "give one RRULE"),
        ("FREQ=DAILY;FOO=1", "unknown rule part FOO"),
        ("FREQ=DAILY;BYEASTER=0", "unknown rule part BYEASTER"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ is given twice"),
        ("INTERVAL=2", "needs a FREQ"),
        ("FREQ=FORTNIGHTLY", "FREQ must be one of"),
        ("FREQ=MINUTELY", "too frequent"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number"),
        ("FREQ=DAILY;COUNT=-1", "COUNT must be a whole number"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20270101", "COUNT or UNTIL, not both"),
        ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL must be a date"),
        ("FREQ=DAILY;UNTIL=20270230", "UNTIL is not a real date"),
        ("FREQ=DAILY;UNTIL=20260101", "UNTIL is before the first time"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY 'XX' is not a day"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY 0 is out of range"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY 32 is out of range"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH 13 is out of range"),
        ("FREQ=DAILY;BYHOUR=24", "BYHOUR 24 is out of range"),
        ("FREQ=MONTHLY;BYSETPOS=0", "BYSETPOS 0 is out of range"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "no time matches"),
        ("FREQ=DAILY;;BYDAY", "is not NAME=VALUE"),
        ("VEVENT:FREQ=DAILY", "only an RRULE is accepted"),
        ("FREQ=DAILY;WKST=XX", "WKST must be one of"),
    ],
)
def test_bad_rules_are_clear_errors(text: str, needle: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_rule(text, monday())
    assert caught.value.field == "--every"
    assert needle in str(caught.value)
    assert "\n" not in str(caught.value).replace(repr(text), "")


@settings(max_examples=60, deadline=None)
@given(
    day=st.dates(min_value=date(2001, 1, 1), max_value=date(2090, 12, 31)),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    every=st.integers(1, 4),
)
def test_monthly_keeps_the_day_or_the_month_end(day: date, hour: int, minute: int, every: int):
    anchor = local(day.year, day.month, day.day, hour, minute)
    rule = parse_rule(f"every {every} months", anchor)
    found = times(rule, anchor, 14)
    assert found[0] == anchor
    for previous, moment in zip(found, found[1:], strict=False):
        assert moment > previous
        months = (moment.year - previous.year) * 12 + moment.month - previous.month
        assert months == every
    for moment in found:
        last = (date(moment.year + moment.month // 12, moment.month % 12 + 1, 1)
                - timedelta(days=1)).day  # fmt: skip
        assert moment.day == min(day.day, last)
        assert (moment.hour, moment.minute) == (hour, minute)


@settings(max_examples=60, deadline=None)
@given(
    text=st.sampled_from(["daily", "weekly", "every 3 days", "every weekday", "every tue,sat",
                          "monthly", "yearly", "FREQ=MONTHLY;BYDAY=-1FR"]),
    offset=st.integers(0, 2000),
    after_hours=st.integers(-48, 24 * 400),
)  # fmt: skip
def test_next_after_is_the_first_time_strictly_after(
    text: str, offset: int, after_hours: int
) -> None:
    anchor = local(2026, 1, 1, 9, 0) + timedelta(days=offset)
    rule = parse_rule(text, anchor)
    after = anchor + timedelta(hours=after_hours)
    found = next_after(rule, anchor, after)
    assert found is not None and found > after
    start = first(rule, anchor)
    assert start is not None and start >= anchor
    # Nothing of the rule lies between `after` and the time found.
    moment = start
    while moment <= after:
        nxt = next_after(rule, anchor, moment)
        assert nxt is not None
        moment = nxt
    assert moment == found


def test_describe_imports_no_dateutil() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from crmcli.core.recurrence import describe; "
        "describe('FREQ=WEEKLY;BYDAY=MO'); print('dateutil' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
