"""Payment schedules: the split in minor units and the due dates (month ends kept), and the
step phrases read as a reminder's --every."""

from __future__ import annotations

import calendar
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcli.core.money.invoices import schedule, split_amount
from crmcli.core.recurrence import parse_step
from crmcli.errors import InvalidValue


@given(amount=st.integers(1, 10**15), parts=st.integers(1, 360))
def test_the_split_adds_up_with_the_remainder_on_the_first(amount: int, parts: int) -> None:
    if parts > amount:
        parts = amount
    shares = split_amount(amount, parts)
    assert len(shares) == parts and sum(shares) == amount
    assert len(set(shares[1:])) <= 1  # all equal after the first
    assert 0 <= shares[0] - shares[-1] < parts


@given(first=st.dates(date(2000, 1, 1), date(2090, 12, 31)), parts=st.integers(1, 36),
       count=st.integers(1, 4))  # fmt: skip
def test_monthly_dates_keep_the_day_or_the_month_end(first: date, parts: int, count: int) -> None:
    dues = schedule(first, parts, count, "months")
    assert dues[0] == first and len(dues) == parts
    for n, due in enumerate(dues):
        months = first.year * 12 + first.month - 1 + n * count
        year, month = divmod(months, 12)
        last = calendar.monthrange(year, month + 1)[1]
        assert due == date(year, month + 1, min(first.day, last))


def test_month_ends_and_weeks() -> None:
    assert schedule(date(2027, 1, 31), 4, 1, "months") == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]  # fmt: skip
    assert schedule(date(2028, 2, 29), 2, 1, "years") == [date(2028, 2, 29), date(2029, 2, 28)]
    assert schedule(date(2026, 12, 28), 3, 2, "weeks") == [
        date(2026, 12, 28), date(2027, 1, 11), date(2027, 1, 25)]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "step"),
    [("month", (1, "months")), ("monthly", (1, "months")), ("2 weeks", (2, "weeks")),
     ("every 2 weeks", (2, "weeks")), ("2w", (2, "weeks")), ("quarterly", (3, "months")),
     ("every other month", (2, "months")), ("fortnightly", (2, "weeks")),
     ("yearly", (1, "years")), ("10 days", (10, "days")), ("Every 3 Months", (3, "months"))],
)  # fmt: skip
def test_steps_read_as_reminder_phrases(text: str, step: tuple[int, str]) -> None:
    assert parse_step(text) == step


@pytest.mark.parametrize(
    "text", ["", "hourly", "every monday", "every weekday", "FREQ=MONTHLY", "soon", "0 months"]
)
def test_other_rules_are_refused(text: str) -> None:
    with pytest.raises(InvalidValue):
        parse_step(text, field="--every")
