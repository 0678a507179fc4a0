"""``crm remind export --ics``: the calendar read back with icalendar and python-dateutil.

Customers and deals come through the CLI; reminders and tickets are written with SQL (the
table layout is fixed by migration m003), so these tests do not depend on how the
reminder and ticket commands compute their times.
"""

from __future__ import annotations

import io
import os
import subprocess
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from dateutil.rrule import rrulestr
from hypothesis import given
from hypothesis import strategies as st

from crmcli.core.ics import escape_text, fold, write_calendar
from crmcli.db import open_db
from tests.conftest import crm_bin, dump

STAMP = "2026-11-23T03:00:00Z"  # CRM_NOW (10:00 in Ho Chi Minh City) in UTC
MONTH_END = "FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1"
FORTNIGHTLY = "FREQ=WEEKLY;INTERVAL=2"
HOSTILE = "Lê; Thị, Hồng \\ 😀 [bold]"


def new_id(result) -> int:
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


def add_reminder(
    db_path: Path,
    text: str,
    due_at: str,
    rule: str | None = None,
    *,
    anchor_at: str | None = None,
    done_at: str | None = None,
    **links: int,
) -> str:
    """A reminder row as `crm remind add` leaves it; returns its uid."""
    uid = str(uuid.uuid4())
    db = open_db(db_path, create=True)
    try:
        with db.write(["test"]):
            db.execute(
                "INSERT INTO reminders (uid, text, due_at, anchor_at, rule, customer_id, "
                "lead_id, deal_id, ticket_id, done_at, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (uid, text, due_at, anchor_at or due_at, rule, links.get("customer"),
                 links.get("lead"), links.get("deal"), links.get("ticket"), done_at, STAMP,
                 STAMP),
            )  # fmt: skip
    finally:
        db.close()
    return uid


def add_ticket(
    db_path: Path, customer: int, subject: str, due_at: str, *, priority: str = "normal",
    status: str = "open",
) -> str:  # fmt: skip
    uid = str(uuid.uuid4())
    db = open_db(db_path, create=True)
    try:
        with db.write(["test"]):
            db.execute(
                "INSERT INTO tickets (uid, customer_id, subject, priority, status, tier, due_at, "
                "reopened, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, 0, ?, ?)",
                (uid, customer, subject, priority, status, due_at, STAMP, STAMP),
            )
    finally:
        db.close()
    return uid


def uid_of(db_path: Path, table: str, row_id: int) -> str:
    db = open_db(db_path, create=False)
    try:
        return str(db.scalar(f"SELECT uid FROM {table} WHERE id = ?", (row_id,)))
    finally:
        db.close()


def export_stdout(crm) -> bytes:
    result = crm("remind", "export", "--ics", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout_bytes


def events(data: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    found = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert len(found) == len(calendar.walk("VEVENT"))  # no UID twice
    return found


def raw_event(data: bytes, uid: str) -> list[bytes]:
    """The physical lines of one VEVENT, as written."""
    lines = data.split(b"\r\n")
    start = lines.index(b"UID:" + uid.encode()) - 1
    end = lines.index(b"END:VEVENT", start)
    return lines[start : end + 1]


@pytest.fixture
def book(crm, db_path: Path) -> dict[str, object]:
    """A small book: every kind of event, and records that must stay out of the calendar."""
    an = new_id(crm("customer", "add", "Nguyễn Văn An", "--birthday", "1992-02-29"))
    hong = new_id(crm("customer", "add", HOSTILE, "--birthday", "1985-07-14"))
    new_id(crm("customer", "add", "Trần Bình"))  # no birthday: no event
    laptops = new_id(
        crm("deal", "add", "20 laptops", "-c", str(an), "--amount", "450.000.000 VND",
            "--close", "2026-12-15", "--stage", "proposal")
    )  # fmt: skip
    new_id(crm("deal", "add", "No date yet", "-c", str(an)))  # no close date: no event
    won = new_id(crm("deal", "add", "Done deal", "-c", str(hong), "--close", "2026-11-30"))
    assert crm("deal", "won", str(won)).exit_code == 0  # not open: no event
    monthly = add_reminder(
        db_path, "Send the invoice", "2026-11-30T02:00:00Z", MONTH_END, customer=an,
        deal=laptops,
    )  # fmt: skip
    fortnightly = add_reminder(db_path, "Water the plants", "2026-11-24T01:30:00Z", FORTNIGHTLY)
    once = add_reminder(
        db_path, "Gọi lại; hỏi giá, \\ ok\nrồi gửi email 🙂", "2026-11-25T07:15:00Z", customer=hong
    )
    add_reminder(db_path, "Already done", "2026-11-20T02:00:00Z", done_at=STAMP)
    urgent = add_ticket(db_path, an, "Máy in hỏng", "2026-11-23T07:00:00Z", priority="urgent")
    pending = add_ticket(db_path, hong, "Waiting, on; them", "2026-11-26T01:00:00Z",
                         priority="low", status="pending")  # fmt: skip
    add_ticket(db_path, an, "Old one", "2026-11-01T01:00:00Z", status="resolved")
    return {
        "an": an, "hong": hong, "laptops": laptops, "monthly": monthly,
        "fortnightly": fortnightly, "once": once, "urgent": urgent, "pending": pending,
    }  # fmt: skip


def test_every_kind_of_event_with_stable_uids(crm, db_path: Path, book) -> None:
    before = dump(db_path)
    found = events(export_stdout(crm))
    expected = {
        f"reminder-{book['monthly']}@crmcli",
        f"reminder-{book['fortnightly']}@crmcli",
        f"reminder-{book['once']}@crmcli",
        f"birthday-{uid_of(db_path, 'customers', book['an'])}@crmcli",
        f"birthday-{uid_of(db_path, 'customers', book['hong'])}@crmcli",
        f"deal-{uid_of(db_path, 'deals', book['laptops'])}@crmcli",
        f"ticket-{book['urgent']}@crmcli",
        f"ticket-{book['pending']}@crmcli",
    }
    assert set(found) == expected
    for event in found.values():
        assert event.decoded("DTSTAMP") == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
        assert "DTSTART" in event and str(event["SUMMARY"])
    assert dump(db_path) == before  # an export changes nothing


def test_a_second_export_is_byte_for_byte_the_same(crm, book, tmp_path: Path) -> None:
    first = export_stdout(crm)
    target = tmp_path / "crm.ics"
    result = crm("remind", "export", "--ics", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and result.stderr == f"Wrote 8 events to {target}\n"
    assert target.read_bytes() == first
    assert export_stdout(crm) == first


def test_the_calendar_header(crm, book) -> None:
    calendar = icalendar.Calendar.from_ical(export_stdout(crm))
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//crmcli//crmcli 0.1.0//EN"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["X-WR-CALNAME"]) == "crmcli"
    assert str(calendar["X-WR-TIMEZONE"]) == "Asia/Ho_Chi_Minh"


def test_recurring_reminders_are_floating_with_their_rule(crm, book) -> None:
    data = export_stdout(crm)
    found = events(data)
    monthly = found[f"reminder-{book['monthly']}@crmcli"]
    start = monthly.decoded("DTSTART")
    assert start == datetime(2026, 11, 30, 9, 0) and start.tzinfo is None  # local wall time
    # Stored with BYSETPOS (the month's last day), written without: ical.js ignores it.
    assert monthly["RRULE"] == icalendar.vRecur.from_ical("FREQ=MONTHLY;BYMONTHDAY=-1")
    assert b"DTSTART:20261130T090000" in raw_event(data, f"reminder-{book['monthly']}@crmcli")
    assert b"RRULE:FREQ=MONTHLY;BYMONTHDAY=-1\r\n" in data and b"BYSETPOS" not in data
    assert monthly.decoded("DURATION") == timedelta(minutes=15)
    assert str(monthly["SUMMARY"]) == "Send the invoice"
    assert str(monthly["DESCRIPTION"]) == (
        "Customer 1: Nguyễn Văn An\nDeal 1: 20 laptops\ncrm remind done 1"
    )
    fortnightly = found[f"reminder-{book['fortnightly']}@crmcli"]
    assert fortnightly["RRULE"] == icalendar.vRecur.from_ical(FORTNIGHTLY)
    assert fortnightly.decoded("DTSTART") == datetime(2026, 11, 24, 8, 30)


def test_one_off_reminders_are_in_utc_with_an_alarm(crm, book) -> None:
    data = export_stdout(crm)
    uid = f"reminder-{book['once']}@crmcli"
    once = events(data)[uid]
    assert once.decoded("DTSTART") == datetime(2026, 11, 25, 7, 15, tzinfo=UTC)
    assert b"DTSTART:20261125T071500Z" in raw_event(data, uid)
    assert "RRULE" not in once
    text = "Gọi lại; hỏi giá, \\ ok\nrồi gửi email 🙂"
    assert str(once["SUMMARY"]) == text
    assert str(once["DESCRIPTION"]) == f"Customer 2: {HOSTILE}\ncrm remind done 3"
    assert [str(c) for c in once["CATEGORIES"].cats] == ["Reminder"]
    (alarm,) = once.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER") == timedelta(0)
    assert str(alarm["DESCRIPTION"]) == text


def test_rrulestr_expands_the_exported_rules(crm, book) -> None:
    """What a calendar does with DTSTART + RRULE: the last day of each month at 09:00, and
    every other Tuesday at 08:30."""
    data = events(export_stdout(crm))
    monthly = data[f"reminder-{book['monthly']}@crmcli"]
    rule = rrulestr(
        monthly["RRULE"].to_ical().decode(), dtstart=monthly.decoded("DTSTART"), forceset=True
    )
    assert list(rule[:4]) == [
        datetime(2026, 11, 30, 9, 0),
        datetime(2026, 12, 31, 9, 0),
        datetime(2027, 1, 31, 9, 0),
        datetime(2027, 2, 28, 9, 0),
    ]
    fortnightly = data[f"reminder-{book['fortnightly']}@crmcli"]
    text = fortnightly.to_ical().decode()
    lines = [line for line in text.split("\r\n") if line.startswith(("DTSTART", "RRULE"))]
    expanded = rrulestr("\n".join(lines))
    assert [d.date() for d in list(expanded[:3])] == [
        date(2026, 11, 24),
        date(2026, 12, 8),
        date(2026, 12, 22),
    ]


def test_floating_time_keeps_the_wall_time_across_dst(crm, db_path, monkeypatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    # 09:00 in Berlin in summer time (UTC+2); the clocks go back on 25 October 2026.
    uid = add_reminder(db_path, "Weekly call", "2026-10-20T07:00:00Z", "FREQ=WEEKLY")
    data = export_stdout(crm)
    assert b"X-WR-TIMEZONE:Europe/Berlin\r\n" in data
    event = events(data)[f"reminder-{uid}@crmcli"]
    start = event.decoded("DTSTART")
    assert start == datetime(2026, 10, 20, 9, 0)
    expanded = rrulestr(event["RRULE"].to_ical().decode(), dtstart=start)
    assert [d.time().hour for d in list(expanded[:3])] == [9, 9, 9]  # 08:00 UTC after the 25th


def test_until_and_count_follow_the_floating_start(crm, db_path) -> None:
    """UNTIL is stored in UTC; next to a floating DTSTART it must be floating too (RFC 5545
    3.3.10).  COUNT counts from the first time (anchor_at), not from the next one."""
    until = add_reminder(
        db_path, "Until New Year", "2026-11-24T02:00:00Z", "FREQ=DAILY;UNTIL=20261231T165959Z"
    )
    counted = add_reminder(
        db_path, "Three times", "2026-11-25T02:00:00Z", "FREQ=DAILY;COUNT=3",
        anchor_at="2026-11-24T02:00:00Z",
    )  # fmt: skip
    found = events(export_stdout(crm))
    event = found[f"reminder-{until}@crmcli"]
    assert event["RRULE"].to_ical() == b"FREQ=DAILY;UNTIL=20261231T235959"
    days = list(rrulestr(event["RRULE"].to_ical().decode(), dtstart=event.decoded("DTSTART")))
    assert days[0] == datetime(2026, 11, 24, 9, 0) and days[-1] == datetime(2026, 12, 31, 9, 0)
    event = found[f"reminder-{counted}@crmcli"]
    assert event.decoded("DTSTART") == datetime(2026, 11, 24, 9, 0)
    times = list(rrulestr(event["RRULE"].to_ical().decode(), dtstart=event.decoded("DTSTART")))
    assert [t.day for t in times] == [24, 25, 26]


def test_birthdays_yearly_and_the_29th_of_february(crm, db_path, book) -> None:
    data = export_stdout(crm)
    found = events(data)
    uid = f"birthday-{uid_of(db_path, 'customers', book['an'])}@crmcli"
    leap = found[uid]
    assert leap.decoded("DTSTART") == date(1992, 2, 29)
    assert leap.decoded("DTEND") == date(1992, 3, 1)
    assert b"DTSTART;VALUE=DATE:19920229" in raw_event(data, uid)
    assert leap["RRULE"] == icalendar.vRecur.from_ical("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1")
    assert str(leap["SUMMARY"]) == "Birthday: Nguyễn Văn An"
    assert str(leap["DESCRIPTION"]) == "Customer 1\nBorn 1992-02-29"
    assert str(leap["TRANSP"]) == "TRANSPARENT"
    shown = rrulestr(leap["RRULE"].to_ical().decode(), dtstart=datetime(1992, 2, 29))
    after = [d.date() for d in shown.between(datetime(2026, 1, 1), datetime(2029, 1, 1))]
    assert after == [date(2026, 2, 28), date(2027, 2, 28), date(2028, 2, 29)]
    summer = found[f"birthday-{uid_of(db_path, 'customers', book['hong'])}@crmcli"]
    assert summer["RRULE"] == icalendar.vRecur.from_ical("FREQ=YEARLY")
    assert str(summer["SUMMARY"]) == f"Birthday: {HOSTILE}"


def test_a_birthday_without_a_year_uses_2000(crm, db_path) -> None:
    cid = new_id(crm("customer", "add", "Phạm Thu"))
    db = open_db(db_path, create=False)
    with db.write(["test"]):
        db.execute("UPDATE customers SET birthday = '--02-29' WHERE id = ?", (cid,))
    db.close()
    (event,) = events(export_stdout(crm)).values()
    assert event.decoded("DTSTART") == date(2000, 2, 29)
    assert event["RRULE"] == icalendar.vRecur.from_ical("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1")
    assert str(event["DESCRIPTION"]) == f"Customer {cid}"  # no year of birth invented


def test_open_deal_close_dates_are_all_day(crm, db_path, book) -> None:
    found = events(export_stdout(crm))
    deal = found[f"deal-{uid_of(db_path, 'deals', book['laptops'])}@crmcli"]
    assert deal.decoded("DTSTART") == date(2026, 12, 15)
    assert deal.decoded("DTEND") == date(2026, 12, 16)
    assert "RRULE" not in deal
    assert str(deal["SUMMARY"]) == "Close: 20 laptops (Nguyễn Văn An)"
    assert str(deal["DESCRIPTION"]) == (
        "Deal 1\nStage: proposal\nAmount: 450,000,000 VND\nProbability: 50%"
    )
    assert [str(c) for c in deal["CATEGORIES"].cats] == ["Deal"]


def test_open_and_pending_tickets_with_priorities(crm, book) -> None:
    found = events(export_stdout(crm))
    urgent = found[f"ticket-{book['urgent']}@crmcli"]
    assert urgent.decoded("DTSTART") == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert urgent.decoded("DURATION") == timedelta(minutes=30)
    assert str(urgent["SUMMARY"]) == "Ticket due: Máy in hỏng (Nguyễn Văn An)"
    assert int(urgent["PRIORITY"]) == 1
    assert str(urgent["DESCRIPTION"]) == "Ticket 1\nStatus: open\nPriority: urgent\nTier: 1"
    pending = found[f"ticket-{book['pending']}@crmcli"]
    assert str(pending["SUMMARY"]) == f"Ticket due: Waiting, on; them ({HOSTILE})"
    assert int(pending["PRIORITY"]) == 9


@pytest.mark.parametrize(("priority", "level"), [("urgent", 1), ("high", 3), ("normal", 5),
                                                 ("low", 9)])  # fmt: skip
def test_priority_mapping(crm, db_path, priority: str, level: int) -> None:
    cid = new_id(crm("customer", "add", "An"))
    add_ticket(db_path, cid, "Subject", "2026-11-24T01:00:00Z", priority=priority)
    (event,) = events(export_stdout(crm)).values()
    assert int(event["PRIORITY"]) == level


def test_hostile_text_round_trips_and_controls_are_dropped(crm, db_path) -> None:
    """Text stored by other programs may hold anything: CR, ESC, NUL, DEL, a line break in
    a name.  The calendar stays valid; what TEXT can carry comes back unchanged."""
    cid = new_id(crm("customer", "add", "placeholder"))
    name = "Bà\r\nĐào\x1b[2J\x00; a,b\\c\t😀\x7f"
    db = open_db(db_path, create=False)
    with db.write(["test"]):
        db.execute("UPDATE customers SET name = ? WHERE id = ?", (name, cid))
    db.close()
    uid = add_reminder(db_path, "Line one\rline two\n\n;,\\", "2026-11-24T01:00:00Z", customer=cid)
    data = export_stdout(crm)
    assert b"\x1b" not in data and b"\x00" not in data and b"\x7f" not in data
    event = events(data)[f"reminder-{uid}@crmcli"]
    assert str(event["SUMMARY"]) == "Line one\nline two\n\n;,\\"
    assert str(event["DESCRIPTION"]).startswith("Customer 1: Bà\nĐào[2J; a,b\\c\t😀\n")


def test_lines_are_crlf_and_folded_at_75_octets(crm, db_path) -> None:
    """Long Vietnamese and emoji text must fold without cutting a UTF-8 character in two."""
    long_name = ("Nguyễn Thị Ngọc Hường 😀 " * 8).strip()
    cid = new_id(crm("customer", "add", long_name, "--birthday", "1990-05-17"))
    add_reminder(db_path, "Ờ" * 300 + "\n" + "x" * 200, "2026-11-24T01:00:00Z", customer=cid)
    data = export_stdout(crm)
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    assert data.count(b"\n") == data.count(b"\r\n") and data.count(b"\r") == data.count(b"\n")
    lines = data[:-2].split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    assert sum(line.startswith(b" ") for line in lines) > 10  # folding happened
    for line in lines:
        line.decode("utf-8")  # each physical line is whole UTF-8 on its own
    found = events(data)
    summaries = {str(e["SUMMARY"]) for e in found.values()}
    assert f"Birthday: {long_name}" in summaries
    assert "Ờ" * 300 + "\n" + "x" * 200 in summaries


def test_the_file_is_private_and_never_overwritten_without_force(crm, book, tmp_path) -> None:
    target = tmp_path / "crm.ics"
    assert crm("remind", "export", "--ics", str(target)).exit_code == 0
    assert target.stat().st_mode & 0o777 == 0o600
    assert target.read_bytes().count(b"BEGIN:VEVENT") == 8
    target.write_bytes(b"mine")
    refused = crm("remind", "export", "--ics", str(target))
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr == f"crm: error: {target} exists; use --force to overwrite it\n"
    assert target.read_bytes() == b"mine"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".crm.ics")] == []
    forced = crm("remind", "export", "--ics", str(target), "--force")
    assert forced.exit_code == 0, forced.stderr
    assert target.read_bytes().count(b"BEGIN:VEVENT") == 8
    assert target.stat().st_mode & 0o777 == 0o600


def test_an_empty_database_gives_an_empty_calendar(crm, db_path, tmp_path) -> None:
    open_db(db_path, create=True).close()
    data = export_stdout(crm)
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar.walk("VEVENT") == [] and str(calendar["VERSION"]) == "2.0"
    assert data.endswith(b"END:VCALENDAR\r\n")
    target = tmp_path / "empty.ics"
    result = crm("remind", "export", "--ics", str(target))
    assert result.exit_code == 0 and result.stderr == f"Wrote 0 events to {target}\n"
    assert target.read_bytes() == data


def test_no_database_is_an_error_and_creates_nothing(crm, db_path, tmp_path) -> None:
    target = tmp_path / "out.ics"
    result = crm("remind", "export", "--ics", str(target))
    assert result.exit_code == 1 and "no database at" in result.stderr
    assert not db_path.exists() and not target.exists()


def test_written_as_it_goes(db_path, crm) -> None:
    """The calendar is streamed: one write per event, none of them the whole calendar."""
    cid = new_id(crm("customer", "add", "An"))
    for day in range(1, 21):
        add_reminder(db_path, f"Call {day}", f"2026-12-{day:02d}T02:00:00Z", customer=cid)

    class Recorder(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.sizes: list[int] = []

        def write(self, text: str) -> int:
            self.sizes.append(len(text))
            return super().write(text)

    out = Recorder()
    db = open_db(db_path, create=False)
    try:
        count = write_calendar(db, out, now=datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
    finally:
        db.close()
    assert count == 20 and len(out.sizes) == 22  # header, 20 events, footer
    assert max(out.sizes) < len(out.getvalue()) / 10


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_fold_keeps_the_text_and_the_limit(text: str) -> None:
    line = "SUMMARY:" + text.replace("\r", "").replace("\n", "")
    folded = fold(line)
    pieces = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in pieces)
    assert all(p.startswith(" ") for p in pieces[1:])
    assert pieces[0] + "".join(p[1:] for p in pieces[1:]) == line


@given(st.text(alphabet=st.characters(codec="utf-8", blacklist_categories=("Cc", "Cs"))))
def test_escape_text_round_trips_through_icalendar(text: str) -> None:
    escaped = escape_text(text)
    assert "\n" not in escaped and "\r" not in escaped
    event = f"BEGIN:VEVENT\r\n{fold('SUMMARY:' + escaped)}\r\nEND:VEVENT\r\n"
    assert str(icalendar.Event.from_ical(event)["SUMMARY"]) == text


def test_subprocess_writes_crlf_to_a_pipe(db_path: Path, tmp_path: Path) -> None:
    env = {**os.environ, "CRM_DB": str(db_path)}
    added = subprocess.run(
        [crm_bin(), "customer", "add", "Đặng Quốc Bảo", "--birthday", "1992-02-29"],
        capture_output=True, env=env, timeout=60,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    piped = subprocess.run(
        [crm_bin(), "remind", "export", "--ics", "-"], capture_output=True, env=env, timeout=60
    )
    assert piped.returncode == 0 and piped.stderr == b""
    assert piped.stdout.count(b"\r\n") == piped.stdout.count(b"\n") > 10
    (event,) = events(piped.stdout).values()
    assert str(event["SUMMARY"]) == "Birthday: Đặng Quốc Bảo"
    target = tmp_path / "cal.ics"
    written = subprocess.run(
        [crm_bin(), "remind", "export", "--ics", str(target)], capture_output=True, env=env,
        timeout=60,
    )  # fmt: skip
    assert written.returncode == 0 and written.stdout == b""
    assert written.stderr.decode().startswith("Wrote 1 event")  # one line, naming the file
    assert written.stderr.decode().endswith(f" to {target}\n")
    assert target.read_bytes() == piped.stdout
    assert target.stat().st_mode & 0o777 == 0o600
