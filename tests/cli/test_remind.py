"""``crm remind add|list|done|snooze|delete``, ``log --next`` and the contact cadence,
in-process with a fixed clock (Monday 2026-11-23 10:00, Asia/Ho_Chi_Minh, +07)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import crm_bin, dump


def new_id(result) -> int:
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


def remind(crm, text: str, *args: str) -> int:
    return new_id(crm("remind", "add", text, *args))


def listed(crm, *args: str) -> list[dict]:
    result = crm("remind", "list", "-f", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def one(crm, reminder_id: int) -> dict:
    return next(r for r in listed(crm, "--all") if r["id"] == reminder_id)


def shown(crm, customer_id: int) -> dict:
    result = crm("customer", "show", str(customer_id), "-f", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def an(crm) -> int:
    return new_id(crm("customer", "add", "Nguyễn Văn An"))


# -- add ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "every", "said", "due_at"),
    [
        ("tomorrow 9am", None, "Tue 2026-11-24 09:00 +07 — Call An", "2026-11-24T02:00:00Z"),
        ("tomorrow", None, "Tue 2026-11-24 09:00 +07", "2026-11-24T02:00:00Z"),  # 09:00
        ("30/11/2026", "monthly", "Mon 2026-11-30 09:00 +07 — Call An about the quote (monthly)",
         "2026-11-30T02:00:00Z"),
        ("in 2 hours", None, "Mon 2026-11-23 12:00 +07", "2026-11-23T05:00:00Z"),
        ("next friday 14:30", "every 2 weeks",
         "Fri 2026-11-27 14:30 +07 — Call An about the quote (every 2 weeks)",
         "2026-11-27T07:30:00Z"),
        ("2026-12-01", "daily", "Tue 2026-12-01 09:00 +07 — Call An about the quote (daily)",
         "2026-12-01T02:00:00Z"),
        ("friday 8am", "weekly", "(weekly)", "2026-11-27T01:00:00Z"),
        ("1 Jan 2027", "yearly", "Fri 2027-01-01 09:00 +07 — Call An about the quote (yearly)",
         "2027-01-01T02:00:00Z"),
        ("tomorrow 9am", "every weekday", "(every weekday)", "2026-11-24T02:00:00Z"),
        ("wednesday 9am", "every mon,thu", "Thu 2026-11-26 09:00 +07 — Call An about the quote "
         "(every Monday and Thursday)", "2026-11-26T02:00:00Z"),
        ("tomorrow 9am", "FREQ=MONTHLY;BYDAY=1MO", "Mon 2026-12-07 09:00 +07",
         "2026-12-07T02:00:00Z"),
        ("end of month", "monthly", "Mon 2026-11-30 09:00 +07", "2026-11-30T02:00:00Z"),
    ],
)  # fmt: skip
def test_add_reads_phrases_and_says_when(crm, at, every, said, due_at) -> None:
    args = ["--at", at] + (["--every", every] if every else [])
    result = crm("remind", "add", "Call An about the quote", *args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "1\n"
    assert said in result.stderr
    assert result.stderr.startswith("Reminder 1: ")
    record = one(crm, 1)
    assert record["due_at"] == record["anchor_at"] == due_at
    assert record["text"] == "Call An about the quote"
    assert record["done_at"] is None and record["overdue"] is False


def test_add_says_when_the_rule_moves_the_first_time(crm) -> None:
    result = crm("remind", "add", "Gym", "--at", "wednesday 7am", "--every", "every monday")
    assert "Mon 2026-11-30 07:00 +07" in result.stderr
    assert "--at was Wed 2026-11-25 07:00" in result.stderr


def test_month_end_rule_is_stored_for_the_31st(crm) -> None:
    rid = remind(crm, "Pay the rent", "--at", "31/12/2026 8am", "--every", "monthly")
    assert one(crm, rid)["rule"] == "FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1"
    assert one(crm, rid)["every"] == "monthly"


def test_a_time_in_the_past_is_due_now(crm) -> None:
    result = crm("remind", "add", "Send the invoice", "--at", "yesterday 3pm")
    assert result.exit_code == 0
    assert "Sun 2026-11-22 15:00 +07" in result.stderr
    assert "that is in the past: it is due now" in result.stderr
    assert one(crm, 1)["overdue"] is True


def test_links_show_who_the_reminder_is_for(crm, an) -> None:
    lead = new_id(crm("lead", "add", "Võ Minh Tuấn"))
    deal = new_id(crm("deal", "add", "20 laptops", "--customer", str(an)))
    ticket = new_id(crm("ticket", "open", str(an), "Máy in không chạy"))
    result = crm("remind", "add", "Call", "--at", "tomorrow", "--customer", str(an))
    assert "Reminder 1 for customer 1 Nguyễn Văn An: Tue 2026-11-24 09:00 +07" in result.stderr
    remind(crm, "Call", "--at", "tomorrow", "--lead", str(lead))
    remind(crm, "Call", "--at", "tomorrow", "--deal", str(deal))
    remind(crm, "Call", "--at", "tomorrow", "--ticket", str(ticket))
    rows = listed(crm)
    assert [r["for"] for r in rows] == [
        "customer 1 Nguyễn Văn An", "lead 1 Võ Minh Tuấn", "deal 1 20 laptops",
        "ticket 1 Máy in không chạy",
    ]  # fmt: skip
    assert [(r["customer_id"], r["lead_id"], r["deal_id"], r["ticket_id"]) for r in rows] == [
        (1, None, None, None), (None, 1, None, None), (None, None, 1, None),
        (None, None, None, 1),
    ]  # fmt: skip


def test_vietnamese_emoji_and_markup_text(crm) -> None:
    text = "Gọi lại chị Đặng Thị Hồng 🎉 về [bold]báo giá[/]"
    result = crm("remind", "add", text, "--at", "tomorrow")
    assert text in result.stderr
    assert listed(crm)[0]["text"] == text
    table = crm("remind", "list", "-f", "table")
    assert "[bold]báo giá[/]" in table.stdout and "🎉" in table.stdout
    tsv = crm("remind", "list", "-f", "tsv").stdout.splitlines()
    assert tsv[1].split("\t")[3] == text


def test_control_characters_are_shown_not_obeyed(crm) -> None:
    result = crm("remind", "add", "Call \x1b[2J now", "--at", "tomorrow")
    assert "\x1b" not in result.stderr and "\\x1b[2J" in result.stderr


# -- bad input: one line, the right exit code, nothing written ------------------------------


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("remind", "add", "Call", "--at", "tomorrow", "--customer", "42"), 1, "no customer 42"),
        (("remind", "add", "Call", "--at", "tomorrow", "--lead", "9"), 1, "no lead 9"),
        (("remind", "add", "Call", "--at", "tomorrow", "--deal", "9"), 1, "no deal 9"),
        (("remind", "add", "Call", "--at", "tomorrow", "--ticket", "9"), 1, "no ticket 9"),
        (("remind", "add", "Call", "--at", "the day after never"), 2, "invalid --at"),
        (("remind", "add", "Call", "--at", "31/02/2027"), 2, "February 2027 has 28 days"),
        (("remind", "add", "Call", "--at", "tomorrow", "--every", "sometimes"), 2,
         "invalid --every 'sometimes'"),
        (("remind", "add", "Call", "--at", "tomorrow", "--every", "FREQ=DAILY;DTSTART=2026"), 2,
         "DTSTART is not allowed"),
        (("remind", "add", "Call", "--at", "tomorrow", "--customer", "1", "--lead", "1"), 2,
         "give one of --customer, --lead, not several"),
        (("remind", "add", "   ", "--at", "tomorrow"), 2, "invalid text"),
        (("remind", "add", "x" * 3000, "--at", "tomorrow"), 2, "too long (3000 characters"),
        (("remind", "done", "42"), 1, "no reminder 42"),
        (("remind", "snooze", "42", "2h"), 1, "no reminder 42"),
        (("remind", "snooze", "1", "whenever"), 2, "invalid WHEN 'whenever'"),
        (("remind", "snooze", "1", "yesterday"), 2, "is not in the future"),
        (("remind", "delete", "42", "--yes"), 1, "no reminder 42"),
        (("remind", "list", "--today", "--week"), 2, "use one of --overdue, --today"),
        (("remind", "list", "--customer", "42"), 1, "no customer 42"),
        (("customer", "log", "1", "Called", "--next", "someday"), 2, "invalid --next"),
        (("customer", "log", "1", "Called", "--next-text", "Again"), 2, "add --next WHEN"),
        (("customer", "log", "42", "Called", "--next", "tomorrow"), 1, "no customer 42"),
        (("customer", "log", "1", "", "--next", "tomorrow"), 2, "invalid text"),
        (("customer", "log", "1", "Called", "--next", "tomorrow", "--next-text", "y" * 2001),
         2, "too long"),
        (("lead", "log", "1", "Called", "--next", "someday"), 2, "invalid --next"),
        (("customer", "edit", "1", "--cadence", "4h"), 2, "a cadence is days, weeks"),
        (("customer", "edit", "1", "--cadence", "often"), 2, "invalid --cadence"),
        (("customer", "edit", "1", "--cadence", "2w", "--unset", "cadence"), 2, "not both"),
    ],
)  # fmt: skip
def test_bad_input_one_line_nothing_written(crm, an, db_path, args, code, needle) -> None:
    new_id(crm("lead", "add", "Võ Minh Tuấn"))
    remind(crm, "Existing", "--at", "tomorrow")
    before = dump(db_path)
    result = crm(*args)
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("crm: error: ") and result.stderr.count("\n") == 1
    assert needle in result.stderr
    assert dump(db_path) == before


# -- done ---------------------------------------------------------------------------------


def test_done_on_a_one_off(crm, db_path) -> None:
    rid = remind(crm, "Send the contract", "--at", "today 9am")
    result = crm("remind", "done", str(rid))
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "Reminder 1 done: Send the contract\n"
    assert listed(crm) == []
    assert one(crm, rid)["done_at"] == "2026-11-23T03:00:00Z"
    before = dump(db_path)
    again = crm("remind", "done", str(rid))
    assert again.exit_code == 1
    assert again.stderr == "crm: error: reminder 1 is already done (at 2026-11-23 10:00)\n"
    assert dump(db_path) == before


def test_done_on_an_overdue_daily_leaves_no_trail(crm) -> None:
    rid = remind(crm, "Check the inbox", "--at", "20/11/2026 9am", "--every", "daily")
    result = crm("remind", "done", str(rid))
    assert result.stderr == "Reminder 1 done; next: Tue 2026-11-24 09:00\n"
    record = one(crm, rid)
    assert record["due_at"] == "2026-11-24T02:00:00Z"
    assert record["anchor_at"] == "2026-11-20T02:00:00Z" and record["done_at"] is None


def test_done_a_day_early_does_not_repeat_the_month(crm, monkeypatch) -> None:
    rid = remind(crm, "Invoice", "--at", "30/11/2026", "--every", "monthly")
    monkeypatch.setenv("CRM_NOW", "2026-11-29T10:00:00")
    assert crm("remind", "done", str(rid)).stderr == (
        "Reminder 1 done; next: Wed 2026-12-30 09:00\n"
    )
    monkeypatch.setenv("CRM_NOW", "2026-12-30T09:30:00")
    crm("remind", "done", str(rid))
    assert one(crm, rid)["due_at"] == "2027-01-30T02:00:00Z"


def test_done_on_the_31st_walks_the_month_ends(crm, monkeypatch) -> None:
    rid = remind(crm, "Close the books", "--at", "31/12/2026 9am", "--every", "monthly")
    seen = []
    for _ in range(4):
        record = one(crm, rid)
        monkeypatch.setenv("CRM_NOW", record["due_at"])
        seen.append(crm("remind", "done", str(rid)).stderr.strip())
    assert seen == [
        "Reminder 1 done; next: Sun 2027-01-31 09:00",
        "Reminder 1 done; next: Sun 2027-02-28 09:00",
        "Reminder 1 done; next: Wed 2027-03-31 09:00",
        "Reminder 1 done; next: Fri 2027-04-30 09:00",
    ]


def test_done_when_the_rule_runs_out(crm) -> None:
    rid = remind(crm, "Dose", "--at", "tomorrow 8am", "--every", "FREQ=DAILY;COUNT=2")
    assert "next: Wed 2026-11-25 08:00" in crm("remind", "done", str(rid)).stderr
    last = crm("remind", "done", str(rid))
    assert last.stderr == "Reminder 1 done; that was its last time\n"
    assert one(crm, rid)["done_at"] == "2026-11-23T03:00:00Z"


def test_done_across_a_dst_change_keeps_the_wall_time(crm, monkeypatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    monkeypatch.setenv("CRM_NOW", "2026-03-28T10:00:00")
    time.tzset()
    added = crm("remind", "add", "Standup", "--at", "28/03/2026 9am", "--every", "daily")
    assert "Sat 2026-03-28 09:00 +01" in added.stderr
    rid = new_id(added)
    result = crm("remind", "done", str(rid))
    assert result.stderr == "Reminder 1 done; next: Sun 2026-03-29 09:00\n"
    assert one(crm, rid)["due_at"] == "2026-03-29T07:00:00Z"  # 09:00 at +02


# -- snooze and delete ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "due_at", "said"),
    [
        ("2h", "2026-11-23T05:00:00Z", "Mon 2026-11-23 12:00 +07"),
        ("3d", "2026-11-26T03:00:00Z", "Thu 2026-11-26 10:00 +07"),
        ("1 week", "2026-11-30T03:00:00Z", "Mon 2026-11-30 10:00 +07"),
        ("in 30 minutes", "2026-11-23T03:30:00Z", "Mon 2026-11-23 10:30 +07"),
        ("tomorrow 9am", "2026-11-24T02:00:00Z", "Tue 2026-11-24 09:00 +07"),
        ("friday", "2026-11-27T02:00:00Z", "Fri 2026-11-27 09:00 +07"),
    ],
)
def test_snooze(crm, when, due_at, said) -> None:
    rid = remind(crm, "Call back", "--at", "today 9am")
    result = crm("remind", "snooze", str(rid), when)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"Reminder 1 snoozed to {said}\n"
    assert one(crm, rid)["due_at"] == due_at


def test_snooze_keeps_the_rule_anchor(crm) -> None:
    rid = remind(crm, "Weekly report", "--at", "today 9am", "--every", "weekly")
    crm("remind", "snooze", str(rid), "tomorrow 9am")
    record = one(crm, rid)
    assert record["due_at"] == "2026-11-24T02:00:00Z"
    assert record["anchor_at"] == "2026-11-23T02:00:00Z"
    assert "next: Mon 2026-11-30 09:00" in crm("remind", "done", str(rid)).stderr


def test_snooze_refused_on_a_done_reminder(crm, db_path) -> None:
    rid = remind(crm, "Once", "--at", "today 9am")
    crm("remind", "done", str(rid))
    before = dump(db_path)
    result = crm("remind", "snooze", str(rid), "1h")
    assert result.exit_code == 1 and "already done" in result.stderr
    assert dump(db_path) == before


def test_delete(crm, db_path) -> None:
    rid = remind(crm, "Old idea", "--at", "tomorrow")
    before = dump(db_path)
    refused = crm("remind", "delete", str(rid))
    assert refused.exit_code == 2 and "refusing without --yes" in refused.stderr
    assert dump(db_path) == before
    result = crm("remind", "delete", str(rid), "--yes")
    assert result.exit_code == 0 and result.stderr == "Deleted reminder 1: Old idea\n"
    assert listed(crm, "--all") == []


# -- list ---------------------------------------------------------------------------------


@pytest.fixture
def spread(crm, an) -> dict[str, int]:
    """Reminders around Monday 2026-11-23 10:00."""
    return {
        "overdue": remind(crm, "Overdue", "--at", "20/11/2026 9am", "-c", str(an)),
        "earlier": remind(crm, "Earlier today", "--at", "today 9:30"),
        "later": remind(crm, "Later today", "--at", "today 17:00", "--every", "daily"),
        "tomorrow": remind(crm, "Tomorrow", "--at", "tomorrow 9am", "-c", str(an)),
        "next_monday": remind(crm, "Next Monday", "--at", "30/11/2026 23:00"),
        "next_tuesday": remind(crm, "Next Tuesday", "--at", "01/12/2026 00:00"),
        "done": remind(crm, "Done already", "--at", "today 8am"),
    }


def ids(crm, *args: str) -> list[int]:
    result = crm("remind", "list", "-f", "ids", *args)
    assert result.exit_code == 0, result.stderr
    return [int(x) for x in result.stdout.split()]


def test_list_filters(crm, spread, monkeypatch) -> None:
    crm("remind", "done", str(spread["done"]))
    s = spread
    assert ids(crm) == [s["overdue"], s["earlier"], s["later"], s["tomorrow"], s["next_monday"],
                        s["next_tuesday"]]  # fmt: skip
    assert ids(crm, "--overdue") == [s["overdue"], s["earlier"]]
    assert ids(crm, "--today") == [s["overdue"], s["earlier"], s["later"]]
    assert ids(crm, "--week") == [s["overdue"], s["earlier"], s["later"], s["tomorrow"],
                                  s["next_monday"]]  # fmt: skip
    assert ids(crm, "--all") == [s["overdue"], s["done"], s["earlier"], s["later"],
                                 s["tomorrow"], s["next_monday"], s["next_tuesday"]]  # fmt: skip
    assert ids(crm, "--customer", "1") == [s["overdue"], s["tomorrow"]]
    assert ids(crm, "--limit", "2") == [s["overdue"], s["earlier"]]
    # The clock moves on: a day later more is overdue.
    monkeypatch.setenv("CRM_NOW", "2026-11-24T18:00:00")
    assert ids(crm, "--overdue") == [s["overdue"], s["earlier"], s["later"], s["tomorrow"]]
    assert ids(crm, "--week") == [s["overdue"], s["earlier"], s["later"], s["tomorrow"],
                                  s["next_monday"], s["next_tuesday"]]  # fmt: skip


def test_list_columns_and_formats(crm, spread) -> None:
    rows = listed(crm, "--today")
    assert list(rows[0]) == [
        "id", "uid", "due_at", "text", "for", "every", "overdue", "done_at", "rule", "anchor_at",
        "customer_id", "lead_id", "deal_id", "ticket_id", "interaction_id", "created_at",
        "updated_at",
    ]  # fmt: skip
    assert rows[0]["due_at"] == "2026-11-20T02:00:00Z" and rows[0]["overdue"] is True
    later = next(r for r in rows if r["text"] == "Later today")
    assert later["every"] == "daily" and later["rule"] == "FREQ=DAILY"
    tsv = crm("remind", "list", "--today").stdout.splitlines()  # tsv off a terminal
    assert tsv[0].startswith("id\tuid\tdue_at\ttext\tfor\tevery\toverdue")
    assert "\t2026-11-20T02:00:00Z\tOverdue\tcustomer 1 Nguyễn Văn An\t\ttrue\t" in tsv[1]
    table = crm("remind", "list", "-f", "table").stdout
    assert "Fri 2026-11-20 09:00 !" in table  # overdue
    assert "Mon 2026-11-23 17:00" in table and "daily" in table
    assert "Done at" not in table
    assert "Done at" in crm("remind", "list", "--all", "-f", "table").stdout


def test_list_when_nothing_matches(crm, an) -> None:
    remind(crm, "Far away", "--at", "2027-06-01")
    result = crm("remind", "list", "--overdue", "-f", "table")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "nothing is overdue\n"
    assert crm("remind", "list", "--today", "-f", "json").stdout == "[]\n"


# -- the customer card, the cadence, log --next -------------------------------------------


def test_cadence_moves_with_every_log(crm, an, monkeypatch) -> None:
    assert shown(crm, an)["cadence"] is None and shown(crm, an)["next_contact_due"] is None
    result = crm("customer", "edit", str(an), "--cadence", "30 days")
    assert result.exit_code == 0, result.stderr
    assert "next contact due 2026-12-23" in result.stderr  # never contacted: from the add
    assert (shown(crm, an)["cadence"], shown(crm, an)["next_contact_due"]) == ("30d", "2026-12-23")
    crm("customer", "log", str(an), "Called", "--at", "2026-12-01 15:00")
    assert shown(crm, an)["next_contact_due"] == "2026-12-31"
    crm("customer", "log", str(an), "Met", "--at", "2026-12-20 09:00")
    assert shown(crm, an)["next_contact_due"] == "2027-01-19"
    crm("customer", "edit", str(an), "--cadence", "1mo")
    assert shown(crm, an)["next_contact_due"] == "2027-01-20"
    monkeypatch.setenv("CRM_NOW", "2027-02-01T10:00:00")
    table = crm("customer", "show", str(an), "-f", "table").stdout
    assert "2027-01-20 (overdue)" in table
    assert crm("customer", "edit", str(an), "--unset", "cadence").exit_code == 0
    assert shown(crm, an)["cadence"] is None and shown(crm, an)["next_contact_due"] is None


def test_cadence_is_stored_normalised(crm, an, db_path) -> None:
    crm("customer", "edit", str(an), "--cadence", "2 weeks")
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT cadence FROM customers").fetchone() == ("2w",)
    conn.close()


def test_customer_show_has_tickets_and_pending_reminders(crm, an) -> None:
    new_id(crm("ticket", "open", str(an), "Máy in không chạy", "--priority", "high"))
    remind(crm, "Call about the printer", "--at", "tomorrow", "-c", str(an), "--every", "weekly")
    done = remind(crm, "Done one", "--at", "tomorrow", "-c", str(an))
    remind(crm, "Someone else's", "--at", "tomorrow")
    crm("remind", "done", str(done))
    record = shown(crm, an)
    assert [t["subject"] for t in record["tickets"]] == ["Máy in không chạy"]
    assert set(record["tickets"][0]) >= {"id", "subject", "priority", "status", "tier", "due_at",
                                         "overdue"}  # fmt: skip
    assert record["reminders"] == [
        {"id": 1, "due_at": "2026-11-24T02:00:00Z", "text": "Call about the printer",
         "every": "weekly"},
    ]  # fmt: skip
    table = crm("customer", "show", str(an), "-f", "table").stdout
    assert "Tickets (1)" in table and "Reminders (1)" in table
    assert "Call about the printer" in table and "Someone else" not in table


def test_log_next_creates_a_linked_reminder(crm, an, db_path) -> None:
    result = crm("customer", "log", str(an), "--type", "call",
                 "Asked for a quote on 20 units\nand a demo", "--next", "friday")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "1\n"  # the interaction id, as without --next
    assert "Logged call 1 for customer 1" in result.stderr
    assert ("Reminder 1 for customer 1 Nguyễn Văn An: Fri 2026-11-27 09:00 +07 — "
            "Follow up: Asked for a quote on 20 units") in result.stderr  # fmt: skip
    record = one(crm, 1)
    assert record["text"] == "Follow up: Asked for a quote on 20 units"
    assert (record["customer_id"], record["interaction_id"]) == (an, 1)
    conn = sqlite3.connect(db_path)
    commands = conn.execute(
        "SELECT DISTINCT command_id FROM audit WHERE table_name IN ('interactions', 'reminders')"
    ).fetchall()
    conn.close()
    assert len(commands) == 1  # one command, one transaction


def test_log_next_text_and_long_first_lines(crm, an) -> None:
    crm("customer", "log", str(an), "Called", "--next", "in 3 days", "--next-text", "Gửi báo giá")
    assert one(crm, 1)["text"] == "Gửi báo giá"
    assert one(crm, 1)["due_at"] == "2026-11-26T03:00:00Z"
    crm("customer", "log", str(an), "Ư" * 300, "--next", "tomorrow")
    text = one(crm, 2)["text"]
    assert text.startswith("Follow up: ƯƯƯ") and text.endswith("…")
    assert len(text) == len("Follow up: ") + 80


def test_a_bad_next_writes_neither(crm, an, db_path) -> None:
    before = dump(db_path)
    result = crm("customer", "log", str(an), "Called", "--next", "31/02/2027")
    assert result.exit_code == 2 and "invalid --next" in result.stderr
    assert dump(db_path) == before
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM interactions").fetchone() == (0,)
    conn.close()


def test_lead_log_next(crm) -> None:
    lead = new_id(crm("lead", "add", "Võ Minh Tuấn"))
    result = crm("lead", "log", str(lead), "Interested; call back", "--next", "friday 10am")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "1\n"
    assert "Lead 1 is now contacted" in result.stderr
    assert "Reminder 1 for lead 1 Võ Minh Tuấn: Fri 2026-11-27 10:00 +07" in result.stderr
    record = one(crm, 1)
    assert (record["lead_id"], record["customer_id"], record["interaction_id"]) == (1, None, 1)
    assert record["text"] == "Follow up: Interested; call back"


def test_help_has_examples(crm) -> None:
    for command in ("add", "list", "done", "snooze", "delete"):
        result = crm("remind", command, "--help")
        assert result.exit_code == 0 and "Example:" in result.stdout


# -- the installed crm --------------------------------------------------------------------


def test_subprocess_add_and_list_tsv(db_path: Path) -> None:
    run = [crm_bin(), "remind"]
    added = subprocess.run([*run, "add", "Gọi anh Đức 📞", "--at", "tomorrow 9am",
                            "--every", "every weekday"],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout == "1\n"
    assert "Tue 2026-11-24 09:00 +07 — Gọi anh Đức 📞 (every weekday)" in added.stderr
    result = subprocess.run([*run, "list", "-f", "tsv"], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()
    assert header.split("\t")[:7] == ["id", "uid", "due_at", "text", "for", "every", "overdue"]
    cells = row.split("\t")
    assert cells[0] == "1" and cells[2:7] == [
        "2026-11-24T02:00:00Z", "Gọi anh Đức 📞", "", "every weekday", "false",
    ]  # fmt: skip
