"""``crm ticket …`` in-process (and once as a real process): the lifecycle along the one
transition table, SLA due times, --due phrases, listing filters, the thread, bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import crm_bin, dump

# The fixed clock is Monday 2026-11-23 10:00 in Hồ Chí Minh City (UTC+7) = 03:00 UTC.


def new_id(result) -> int:
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


@pytest.fixture
def customer(crm) -> int:
    return new_id(crm("customer", "add", "Nguyễn Văn An", "--email", "an@example.vn"))


def ticket(crm, customer: int, *args: str, subject: str = "Laptop does not boot") -> int:
    return new_id(crm("ticket", "open", str(customer), subject, *args))


def shown(crm, ticket_id: int) -> dict:
    result = crm("ticket", "show", str(ticket_id), "-f", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def ok(result) -> None:
    assert result.exit_code == 0, result.stderr


def at(monkeypatch: pytest.MonkeyPatch, local: str) -> None:
    """Move the clock (local time)."""
    monkeypatch.setenv("CRM_NOW", local)


def listed(crm, *args: str) -> list[dict]:
    result = crm("ticket", "list", "-f", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def ids(crm, *args: str) -> list[int]:
    result = crm("ticket", "list", "-f", "ids", *args)
    assert result.exit_code == 0, result.stderr
    return [int(line) for line in result.stdout.split()]


# -- open -----------------------------------------------------------------------------------


def test_open_prints_the_id_and_a_confirmation(crm, customer) -> None:
    result = crm("ticket", "open", str(customer), "Laptop does not boot", "--priority", "high")
    assert result.exit_code == 0
    assert result.stdout == "1\n"
    assert result.stderr == "Opened ticket 1 for Nguyễn Văn An, high, due Tue 2026-11-24 10:00\n"
    record = shown(crm, 1)
    assert record["status"] == "open" and record["tier"] == 1 and record["reopened"] == 0
    assert record["customer"] == "Nguyễn Văn An" and record["customer_id"] == customer
    assert record["created_at"] == record["updated_at"] == "2026-11-23T03:00:00Z"
    assert record["due_at"] == "2026-11-24T03:00:00Z"
    assert record["overdue"] is False and record["satisfaction"] is None
    assert [e["kind"] for e in record["thread"]] == ["opened"]
    assert len(record["uid"]) == 36


@pytest.mark.parametrize(
    ("priority", "due_at", "shown_due"),
    [
        ("urgent", "2026-11-23T07:00:00Z", "Mon 2026-11-23 14:00"),  # 4h
        ("high", "2026-11-24T03:00:00Z", "Tue 2026-11-24 10:00"),  # 1d
        ("normal", "2026-11-26T03:00:00Z", "Thu 2026-11-26 10:00"),  # 3d
        ("low", "2026-11-30T03:00:00Z", "Mon 2026-11-30 10:00"),  # 7d
    ],
)
def test_sla_due_time_per_priority(crm, customer, priority, due_at, shown_due) -> None:
    result = crm("ticket", "open", str(customer), "Help", "--priority", priority)
    assert result.exit_code == 0 and f"due {shown_due}" in result.stderr
    assert shown(crm, int(result.stdout))["due_at"] == due_at


def test_default_priority_is_normal(crm, customer) -> None:
    record = shown(crm, ticket(crm, customer))
    assert record["priority"] == "normal" and record["due_at"] == "2026-11-26T03:00:00Z"


def test_sla_follows_the_setting(crm, customer) -> None:
    ok(crm("config", "set", "sla_high", "2h"))
    result = crm("ticket", "open", str(customer), "Help", "--priority", "HIGH")
    assert "high, due Mon 2026-11-23 12:00" in result.stderr
    assert shown(crm, int(result.stdout))["due_at"] == "2026-11-23T05:00:00Z"
    ok(crm("config", "set", "sla_low", "2 weeks"))
    assert shown(crm, ticket(crm, customer, "--priority", "low"))["due_at"] == (
        "2026-12-07T03:00:00Z"
    )


@pytest.mark.parametrize(
    ("phrase", "due_at"),
    [
        ("tomorrow 9am", "2026-11-24T02:00:00Z"),
        ("friday", "2026-11-27T10:00:00Z"),  # a date alone: 17:00 local
        ("2026-12-01", "2026-12-01T10:00:00Z"),
        ("01/12/2026", "2026-12-01T10:00:00Z"),  # day first by default
        ("2026-12-01 14:30", "2026-12-01T07:30:00Z"),
        ("in 2 days", "2026-11-25T03:00:00Z"),  # a duration keeps the time of day
        ("in 3 hours", "2026-11-23T06:00:00Z"),
        ("end of month", "2026-11-30T10:00:00Z"),
    ],
)
def test_due_phrases(crm, customer, phrase: str, due_at: str) -> None:
    ticket_id = ticket(crm, customer, "--due", phrase, "--priority", "urgent")
    assert shown(crm, ticket_id)["due_at"] == due_at


def test_due_in_the_past_is_allowed_and_said(crm, customer) -> None:
    result = crm("ticket", "open", str(customer), "Late", "--due", "yesterday")
    assert result.exit_code == 0
    assert "due Sun 2026-11-22 17:00 (already overdue)" in result.stderr
    assert shown(crm, 1)["overdue"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--due", "someday"), "crm: error: invalid --due 'someday': not a date or time"),
        (("--due", "2026-02-30"), "crm: error: invalid --due '2026-02-30': February 2026 has"),
        (("--due", "13/13/2026"), "crm: error: invalid --due '13/13/2026'"),
        (("--priority", "asap"), "crm: error: invalid --priority 'asap': choose one of low, "),
    ],
)
def test_bad_open_options_write_nothing(crm, customer, db_path, args, message) -> None:
    before = dump(db_path)
    result = crm("ticket", "open", str(customer), "Help", *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("subject", "reason"),
    [("   ", "must not be empty"), ("a\nb", "must be on one line"), ("x" * 201, "too long")],
)
def test_bad_subjects(crm, customer, db_path, subject: str, reason: str) -> None:
    before = dump(db_path)
    result = crm("ticket", "open", str(customer), subject)
    assert result.exit_code == 2 and reason in result.stderr
    assert result.stderr.count("\n") == 1
    assert dump(db_path) == before


def test_unknown_customer(crm, customer, db_path) -> None:
    before = dump(db_path)
    result = crm("ticket", "open", "42", "Help")
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        "crm: error: no customer 42\n",
    )
    assert dump(db_path) == before


def test_vietnamese_emoji_and_markup_survive(crm, customer) -> None:
    subject = "Máy tính không khởi động 💻 [bold]gấp[/]"
    ticket_id = ticket(crm, customer, subject=subject)
    assert shown(crm, ticket_id)["subject"] == subject
    table = crm("ticket", "list", "-f", "table")
    assert "[bold]gấp[/]" in table.stdout  # markup printed literally
    card = crm("ticket", "show", str(ticket_id), "-f", "table")
    assert "[bold]gấp[/]" in card.stdout and "Nguyễn Văn An" in card.stdout
    ok(crm("ticket", "comment", str(ticket_id), "Đã gọi lại cho khách 📞 \x1b[2J"))
    card = crm("ticket", "show", str(ticket_id), "-f", "table")
    assert "\\x1b[2J" in card.stdout and "\x1b[2J" not in card.stdout
    # NFC: a decomposed subject is stored composed.
    decomposed = "Nguye\u0302\u0303n"
    assert shown(crm, ticket(crm, customer, subject=decomposed))["subject"] == "Nguyễn"


# -- the lifecycle --------------------------------------------------------------------------


def test_full_lifecycle(crm, customer, monkeypatch) -> None:
    ticket_id = ticket(crm, customer, "--priority", "high", "--description", "Black screen")
    t = str(ticket_id)
    at(monkeypatch, "2026-11-23T11:00:00")
    result = crm("ticket", "comment", t, "Asked for the serial number")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "Commented on ticket 1: Laptop does not boot\n"
    at(monkeypatch, "2026-11-23T12:00:00")
    result = crm("ticket", "escalate", t, "--note", "needs an engineer")
    assert result.stderr == "Escalated ticket 1 to tier 2: Laptop does not boot\n"
    at(monkeypatch, "2026-11-23T13:00:00")
    ok(crm("ticket", "pending", t, "--note", "waiting for a photo"))
    at(monkeypatch, "2026-11-23T14:00:00")
    ok(crm("ticket", "comment", t, "Photo received"))
    assert shown(crm, ticket_id)["status"] == "pending"  # a comment never changes the status
    at(monkeypatch, "2026-11-24T09:00:00")
    result = crm("ticket", "resolve", t, "--note", "replaced the power supply")
    assert result.stderr == "Resolved ticket 1: Laptop does not boot\n"
    record = shown(crm, ticket_id)
    assert record["status"] == "resolved" and record["resolved_at"] == "2026-11-24T02:00:00Z"
    at(monkeypatch, "2026-11-25T08:00:00")
    result = crm("ticket", "close", t, "--satisfaction", "5")
    assert result.stderr == "Closed ticket 1: Laptop does not boot (satisfaction 5/5)\n"
    record = shown(crm, ticket_id)
    assert record["status"] == "closed" and record["satisfaction"] == 5
    assert record["closed_at"] == "2026-11-25T01:00:00Z"
    assert record["resolved_at"] == "2026-11-24T02:00:00Z"  # kept from resolve
    at(monkeypatch, "2026-11-30T10:00:00")
    result = crm("ticket", "reopen", t, "--note", "fails again")
    assert result.exit_code == 0
    assert result.stderr == "Reopened ticket 1 (reopened once), due Tue 2026-12-01 10:00\n"
    record = shown(crm, ticket_id)
    assert (record["status"], record["reopened"]) == ("open", 1)
    assert record["resolved_at"] is None and record["closed_at"] is None
    assert record["satisfaction"] == 5  # kept until a new close gives another score
    assert record["due_at"] == "2026-12-01T03:00:00Z"  # high: 1 day from the reopening
    assert record["tier"] == 2 and record["description"] == "Black screen"
    assert record["updated_at"] == "2026-11-30T03:00:00Z"
    assert [(e["kind"], e["from_value"], e["to_value"], e["body"]) for e in record["thread"]] == [
        ("opened", None, "open", None),
        ("comment", None, None, "Asked for the serial number"),
        ("escalation", "1", "2", "needs an engineer"),
        ("status", "open", "pending", "waiting for a photo"),
        ("comment", None, None, "Photo received"),
        ("status", "pending", "resolved", "replaced the power supply"),
        ("status", "resolved", "closed", None),
        ("status", "closed", "open", "fails again"),
    ]
    assert [e["at"] for e in record["thread"]] == [
        "2026-11-23T03:00:00Z", "2026-11-23T04:00:00Z", "2026-11-23T05:00:00Z",
        "2026-11-23T06:00:00Z", "2026-11-23T07:00:00Z", "2026-11-24T02:00:00Z",
        "2026-11-25T01:00:00Z", "2026-11-30T03:00:00Z",
    ]  # fmt: skip
    # Reopened twice now, and closed again with a new score.
    ok(crm("ticket", "close", t, "--satisfaction", "3"))
    assert "(reopened 2 times)" in crm("ticket", "reopen", t).stderr
    assert shown(crm, ticket_id)["satisfaction"] == 3


def test_show_table_has_the_thread_in_local_time(crm, customer, monkeypatch) -> None:
    ticket_id = ticket(crm, customer, "--priority", "urgent")
    at(monkeypatch, "2026-11-23T11:30:00")
    ok(crm("ticket", "comment", str(ticket_id), "Called the customer"))
    at(monkeypatch, "2026-11-23T15:00:00")
    ok(crm("ticket", "pending", str(ticket_id), "--note", "waiting"))
    result = crm("ticket", "show", str(ticket_id), "-f", "table")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    opened = next(i for i, line in enumerate(lines) if "Mon 2026-11-23 10:00" in line)
    called = next(i for i, line in enumerate(lines) if "Called the customer" in line)
    waiting = next(i for i, line in enumerate(lines) if "open → pending" in line)
    assert opened < called < waiting
    assert "Mon 2026-11-23 11:30" in lines[called] and "Mon 2026-11-23 15:00" in lines[waiting]
    assert "Thread (3)" in result.stdout
    assert "Due" in result.stdout and "Mon 2026-11-23 14:00" in result.stdout


def test_close_from_open_sets_resolved_at(crm, customer) -> None:
    ticket_id = ticket(crm, customer)
    ok(crm("ticket", "close", str(ticket_id)))
    record = shown(crm, ticket_id)
    assert record["status"] == "closed" and record["satisfaction"] is None
    assert record["resolved_at"] == record["closed_at"] == "2026-11-23T03:00:00Z"
    assert crm("ticket", "close", str(ticket_id), "--satisfaction", "4").exit_code == 1


def test_pending_pauses_the_sla_clock(crm, customer, monkeypatch) -> None:
    ticket_id = ticket(crm, customer, "--priority", "high")  # due Tue 10:00
    t = str(ticket_id)
    at(monkeypatch, "2026-11-23T12:00:00")
    ok(crm("ticket", "pending", t))
    at(monkeypatch, "2026-11-26T12:00:00")  # 3 days later, long past the due time
    assert shown(crm, ticket_id)["overdue"] is False  # pending is never overdue
    assert ids(crm, "--overdue") == []
    result = crm("ticket", "reopen", t)  # the customer answered
    assert result.exit_code == 0
    assert result.stderr == "Ticket 1 is open again (was pending), due Fri 2026-11-27 10:00\n"
    record = shown(crm, ticket_id)
    assert record["status"] == "open" and record["reopened"] == 0  # not a reopening
    assert record["due_at"] == "2026-11-27T03:00:00Z"  # moved on by the 3 days it waited
    assert record["overdue"] is False


# -- illegal changes ------------------------------------------------------------------------


def _refused(crm, db_path, args: tuple[str, ...], code: int, message: str) -> None:
    before = dump(db_path)
    result = crm("ticket", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", message + "\n")
    assert dump(db_path) == before


def test_illegal_changes_on_a_closed_ticket(crm, customer, db_path) -> None:
    ticket_id = ticket(crm, customer)
    ok(crm("ticket", "close", str(ticket_id), "--satisfaction", "4"))
    cases = [
        (("close", "1"), 1, "crm: error: ticket 1 is already closed"),
        (("close", "1", "--satisfaction", "5"), 1, "crm: error: ticket 1 is already closed"),
        (("comment", "1", "hello"), 1,
         "crm: error: ticket 1 is closed; reopen it first: crm ticket reopen 1"),
        (("resolve", "1"), 1, "crm: error: ticket 1 is closed; a closed ticket can only be "
                              "reopened: crm ticket reopen 1"),
        (("pending", "1"), 1, "crm: error: ticket 1 is closed; a closed ticket can only be "
                              "reopened: crm ticket reopen 1"),
        (("escalate", "1"), 1,
         "crm: error: ticket 1 is closed; reopen it before escalating: crm ticket reopen 1"),
    ]  # fmt: skip
    for args, code, message in cases:
        _refused(crm, db_path, args, code, message)


def test_illegal_changes_on_a_resolved_ticket(crm, customer, db_path) -> None:
    ticket_id = ticket(crm, customer)
    ok(crm("ticket", "resolve", str(ticket_id)))
    cases = [
        (("resolve", "1"), 1, "crm: error: ticket 1 is already resolved"),
        (("comment", "1", "hello"), 1,
         "crm: error: ticket 1 is resolved; reopen it first: crm ticket reopen 1"),
        (("pending", "1"), 1, "crm: error: ticket 1 is resolved; a resolved ticket can only be "
                              "reopened or closed"),
        (("escalate", "1"), 1,
         "crm: error: ticket 1 is resolved; reopen it before escalating: crm ticket reopen 1"),
    ]  # fmt: skip
    for args, code, message in cases:
        _refused(crm, db_path, args, code, message)


def test_illegal_changes_on_an_open_ticket(crm, customer, db_path) -> None:
    ticket(crm, customer)
    ok(crm("ticket", "escalate", "1"))
    _refused(crm, db_path, ("escalate", "1"), 1, "crm: error: ticket 1 is already at tier 2")
    _refused(crm, db_path, ("reopen", "1"), 1, "crm: error: ticket 1 is already open")
    ok(crm("ticket", "pending", "1"))
    _refused(crm, db_path, ("pending", "1"), 1, "crm: error: ticket 1 is already pending")
    _refused(crm, db_path, ("escalate", "1"), 1, "crm: error: ticket 1 is already at tier 2")


@pytest.mark.parametrize("score", ["0", "6", "x", "4.5", "-1", ""])
def test_bad_satisfaction_is_a_usage_error(crm, customer, db_path, score: str) -> None:
    ticket_id = ticket(crm, customer)
    ok(crm("ticket", "resolve", str(ticket_id)))
    before = dump(db_path)
    result = crm("ticket", "close", str(ticket_id), "--satisfaction", score)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        f"crm: error: invalid --satisfaction {score!r}: a whole number from 1 (poor) to 5 (great)\n"
    )
    assert dump(db_path) == before


def test_bad_notes_and_comments(crm, customer, db_path) -> None:
    ticket(crm, customer)
    before = dump(db_path)
    empty = crm("ticket", "comment", "1", "  ")
    assert empty.exit_code == 2
    assert empty.stderr == "crm: error: invalid comment '  ': must not be empty\n"
    huge = crm("ticket", "comment", "1", "x" * 70_000)
    assert huge.exit_code == 2 and "too long (70000 characters; the limit is 65536)" in huge.stderr
    assert huge.stderr.count("\n") == 1
    note = crm("ticket", "resolve", "1", "--note", "y" * 70_000)
    assert note.exit_code == 2 and "--note" in note.stderr
    assert dump(db_path) == before
    ok(crm("ticket", "comment", "1", "line one\nline two"))  # comments may be multi-line
    assert shown(crm, 1)["thread"][-1]["body"] == "line one\nline two"


@pytest.mark.parametrize(
    "args",
    [
        ("show", "99"), ("comment", "99", "hi"), ("escalate", "99"), ("pending", "99"),
        ("resolve", "99"), ("close", "99"), ("reopen", "99"), ("edit", "99", "--subject", "x"),
        ("delete", "99", "--yes"),
    ],
)  # fmt: skip
def test_unknown_ticket(crm, customer, db_path, args) -> None:
    ticket(crm, customer)
    before = dump(db_path)
    result = crm("ticket", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", "crm: error: no ticket 99\n")
    assert dump(db_path) == before


def test_read_commands_do_not_create_a_database(crm, db_path) -> None:
    result = crm("ticket", "list")
    assert result.exit_code == 1 and "no database at" in result.stderr
    assert not db_path.exists()


# -- edit and delete ------------------------------------------------------------------------


def test_edit_priority_does_not_move_the_due_time(crm, customer, monkeypatch) -> None:
    ticket_id = ticket(crm, customer)  # normal: due Thu 10:00
    t = str(ticket_id)
    at(monkeypatch, "2026-11-23T11:00:00")
    result = crm("ticket", "edit", t, "--priority", "urgent")
    assert result.exit_code == 0
    assert result.stderr == (
        "Updated ticket 1: Laptop does not boot (urgent, due Thu 2026-11-26 10:00)\n"
    )
    record = shown(crm, ticket_id)
    assert record["priority"] == "urgent" and record["due_at"] == "2026-11-26T03:00:00Z"
    assert record["updated_at"] == "2026-11-23T04:00:00Z"
    ok(crm("ticket", "edit", t, "--due", "today 17:00", "--subject", "Không khởi động",
           "--description", "Màn hình đen"))  # fmt: skip
    record = shown(crm, ticket_id)
    assert record["due_at"] == "2026-11-23T10:00:00Z"
    assert (record["subject"], record["description"]) == ("Không khởi động", "Màn hình đen")
    ok(crm("ticket", "edit", t, "--description", ""))
    assert shown(crm, ticket_id)["description"] is None
    assert [e["kind"] for e in shown(crm, ticket_id)["thread"]] == ["opened"]


def test_bad_edits_change_nothing(crm, customer, db_path) -> None:
    ticket(crm, customer)
    before = dump(db_path)
    nothing = crm("ticket", "edit", "1")
    assert nothing.exit_code == 2 and "nothing to change" in nothing.stderr
    for args in (("--subject", ""), ("--priority", "soon"), ("--due", "whenever")):
        result = crm("ticket", "edit", "1", *args)
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, args
    assert dump(db_path) == before


def test_delete_needs_yes_off_a_terminal_and_takes_the_thread(crm, customer, db_path) -> None:
    ticket_id = ticket(crm, customer)
    ok(crm("ticket", "comment", str(ticket_id), "hello"))
    before = dump(db_path)
    refused = crm("ticket", "delete", str(ticket_id))
    assert refused.exit_code == 2 and "refusing without --yes" in refused.stderr
    assert dump(db_path) == before
    result = crm("ticket", "delete", str(ticket_id), "--yes")
    assert result.exit_code == 0 and result.stderr == "Deleted ticket 1: Laptop does not boot\n"
    assert not [row for row in dump(db_path) if row[0] in ("tickets", "ticket_events")]


def test_deleting_the_customer_takes_their_tickets(crm, customer, db_path) -> None:
    ticket(crm, customer)
    ok(crm("customer", "delete", str(customer), "--yes"))
    assert not [row for row in dump(db_path) if row[0] in ("tickets", "ticket_events")]


# -- list -----------------------------------------------------------------------------------


@pytest.fixture
def queue(crm, customer) -> dict[str, int]:
    """Tickets in every status, for two customers."""
    other = new_id(crm("customer", "add", "Trần Thị Bình"))
    made = {
        "open_high": ticket(crm, customer, "--priority", "high", subject="A"),  # due Tue
        "open_low": ticket(crm, other, "--priority", "low", subject="B"),  # due next Mon
        "pending": ticket(crm, customer, "--priority", "urgent", subject="C"),  # due today 14:00
        "resolved": ticket(crm, other, subject="D"),
        "closed": ticket(crm, customer, "--priority", "urgent", subject="E"),
    }
    ok(crm("ticket", "pending", str(made["pending"])))
    ok(crm("ticket", "resolve", str(made["resolved"])))
    ok(crm("ticket", "close", str(made["closed"])))
    made["other"] = other
    return made


def test_list_defaults_to_unresolved_soonest_due_first(crm, queue) -> None:
    assert ids(crm) == [queue["pending"], queue["open_high"], queue["open_low"]]
    assert ids(crm, "--all") == [3, 5, 1, 4, 2]  # due: 14:00 today ×2, Tue, Thu, next Mon
    assert ids(crm, "--status", "closed") == [queue["closed"]]
    assert ids(crm, "-s", "resolved", "-s", "closed") == [queue["closed"], queue["resolved"]]
    assert ids(crm, "--status", "open,pending") == ids(crm)
    assert ids(crm, "--priority", "high,urgent") == [queue["pending"], queue["open_high"]]
    assert ids(crm, "--customer", str(queue["other"])) == [queue["open_low"]]
    assert ids(crm, "--customer", str(queue["other"]), "--all") == [4, 2]
    assert ids(crm, "--sort", "id") == [1, 2, 3]
    assert ids(crm, "--sort", "-due") == [2, 1, 3]
    assert ids(crm, "--sort", "priority", "--all") == [3, 5, 1, 4, 2]
    assert ids(crm, "--sort", "-priority") == [2, 1, 3]
    assert ids(crm, "--limit", "2") == [3, 1]


def test_list_overdue_moves_with_the_clock(crm, queue, monkeypatch) -> None:
    assert ids(crm, "--overdue") == []
    at(monkeypatch, "2026-11-24T10:00:01")  # past ticket 1's due time (and 3's, but pending)
    assert ids(crm, "--overdue") == [queue["open_high"]]
    rows = {row["id"]: row["overdue"] for row in listed(crm, "--all")}
    assert rows == {1: True, 2: False, 3: False, 4: False, 5: False}
    at(monkeypatch, "2026-12-01T00:00:00")
    assert ids(crm, "--overdue") == [1, 2]
    assert ids(crm, "--overdue", "--priority", "low") == [2]
    assert ids(crm, "--overdue", "--status", "pending") == []
    table = crm("ticket", "list", "-f", "table")
    line = next(line for line in table.stdout.splitlines() if "│  1 │" in line)
    assert "overdue" in line and "Tue" in line


def test_list_table_columns_and_empty(crm, queue) -> None:
    table = crm("ticket", "list", "-f", "table")
    assert table.exit_code == 0
    header = table.stdout.splitlines()[1]
    for name in ("Id", "Customer", "Subject", "Priority", "Status", "Tier", "Due", "Overdue"):
        assert name in header
    assert "Mon 2026-11-23 14:00" in table.stdout and "Trần Thị Bình" in table.stdout
    empty = crm("ticket", "list", "--priority", "normal", "-f", "table")
    assert empty.exit_code == 0 and empty.stdout == "" and empty.stderr == "no tickets match\n"


def test_list_tsv_by_default_off_a_terminal(crm, queue) -> None:
    result = crm("ticket", "list")
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == [
        "id", "uid", "customer_id", "customer", "subject", "description", "priority", "status",
        "tier", "due_at", "overdue", "satisfaction", "resolved_at", "closed_at", "reopened",
        "created_at", "updated_at",
    ]  # fmt: skip
    assert len(lines) == 4


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--status", "done"), 2, "crm: error: invalid --status 'done': choose one of open, "
                                  "pending, resolved, closed"),
        (("--priority", "p1"), 2, "crm: error: invalid --priority 'p1': choose one of low, "
                                  "normal, high, urgent"),
        (("--sort", "subject"), 2, "crm: error: invalid --sort 'subject': sort by one of: due, "
                                   "priority, created, updated, id"),
        (("--all", "--status", "open"), 2, "crm: error: use --all or --status, not both"),
        (("--customer", "42"), 1, "crm: error: no customer 42"),
    ],
)  # fmt: skip
def test_list_bad_filters(crm, queue, args, code: int, message: str) -> None:
    result = crm("ticket", "list", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", message + "\n")


# -- JSON -----------------------------------------------------------------------------------


def test_json_field_names(crm, queue) -> None:
    fields = [
        "id", "uid", "customer_id", "customer", "subject", "description", "priority", "status",
        "tier", "due_at", "overdue", "satisfaction", "resolved_at", "closed_at", "reopened",
        "created_at", "updated_at",
    ]  # fmt: skip
    rows = listed(crm, "--all")
    assert all(list(row) == fields for row in rows)
    record = shown(crm, queue["closed"])
    assert list(record) == [*fields, "thread"]
    assert [list(e) for e in record["thread"]] == [
        ["id", "kind", "from_value", "to_value", "body", "at"]
    ] * 2
    assert isinstance(record["overdue"], bool) and isinstance(record["tier"], int)
    jsonl = crm("ticket", "list", "-f", "jsonl")
    assert [json.loads(line)["id"] for line in jsonl.stdout.splitlines()] == [3, 1, 2]


def test_for_customer(crm, customer, queue, db_path, monkeypatch) -> None:
    from crmcli.core import tickets
    from crmcli.db import open_db

    at(monkeypatch, "2026-11-25T00:00:00")
    db = open_db(db_path, create=False)
    try:
        rows = tickets.for_customer(db, customer)
        assert [r["id"] for r in rows] == [3, 1, 5]  # unresolved by due, then the rest
        assert list(rows[0]) == list(tickets.CUSTOMER_COLUMNS)
        assert [r["overdue"] for r in rows] == [False, True, False]
        assert tickets.for_customer(db, 999) == []
    finally:
        db.close()


# -- the installed crm ----------------------------------------------------------------------


def test_installed_crm_open_and_list_off_a_terminal(db_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([crm_bin(), *args], capture_output=True, text=True, timeout=60)

    assert run("customer", "add", "Lê Thị Hồng").returncode == 0
    opened = run("ticket", "open", "1", "Hoá đơn sai 🧾", "--priority", "urgent")
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == "1\n"
    assert opened.stderr == "Opened ticket 1 for Lê Thị Hồng, urgent, due Mon 2026-11-23 14:00\n"
    listed = run("ticket", "list", "-f", "tsv")
    assert listed.returncode == 0 and listed.stderr == ""
    header, row = listed.stdout.splitlines()
    assert header.startswith("id\tuid\tcustomer_id\tcustomer\tsubject\t")
    cells = dict(zip(header.split("\t"), row.split("\t"), strict=True))
    assert cells["subject"] == "Hoá đơn sai 🧾" and cells["due_at"] == "2026-11-23T07:00:00Z"
    assert cells["overdue"] == "false" and cells["status"] == "open"
    assert "\x1b[" not in listed.stdout
    default = run("ticket", "list")  # tsv by default: stdout is a pipe
    assert default.stdout == listed.stdout
    missing = run("ticket", "close", "7")
    assert (missing.returncode, missing.stderr) == (1, "crm: error: no ticket 7\n")


def test_resolve_takes_the_satisfaction_score_and_close_keeps_it(crm, customer):
    ticket_id = ticket(crm, customer)
    t = str(ticket_id)
    result = crm("ticket", "resolve", t, "--satisfaction", "4", "--note", "new cable")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "Resolved ticket 1: Laptop does not boot (satisfaction 4/5)\n"
    record = shown(crm, ticket_id)
    assert (record["status"], record["satisfaction"]) == ("resolved", 4)
    ok(crm("ticket", "close", t))
    assert shown(crm, ticket_id)["satisfaction"] == 4  # kept
    report = crm("report", "tickets", "-f", "json")
    assert json.loads(report.stdout)["summary"][0]["mean_satisfaction"] == 4.0


@pytest.mark.parametrize("score", ["0", "6", "good"])
def test_resolve_refuses_a_score_out_of_range_and_changes_nothing(crm, customer, db_path, score):
    t = str(ticket(crm, customer))
    before = dump(db_path)
    result = crm("ticket", "resolve", t, "--satisfaction", score)
    assert result.exit_code == 2 and result.stdout == ""
    assert "satisfaction" in result.stderr and result.stderr.count("\n") == 1
    assert dump(db_path) == before


def test_a_score_on_another_status_change_points_to_resolve(crm, customer, db_path):
    from crmcli.core import tickets
    from crmcli.db import open_db
    from crmcli.errors import UsageError

    ticket_id = ticket(crm, customer)
    db = open_db(db_path, create=False)
    try:
        with pytest.raises(UsageError, match="crm ticket resolve 1 --satisfaction 4"):
            with db.write():
                tickets.change_status(db, ticket_id, "pending", satisfaction=4)
    finally:
        db.close()
