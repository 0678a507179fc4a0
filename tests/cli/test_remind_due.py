"""``crm remind due``: silent when nothing is due, then every source appearing in turn.

The clock is pinned (CRM_NOW, Asia/Ho_Chi_Minh, UTC+7): "today" is Monday 2026-11-23 and it
is 10:00 local.  Reminders and tickets are written with SQL through the data layer so that
these tests depend on the digest alone, not on the commands that make those rows.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from crmcli.db import open_db
from tests.conftest import crm_bin, dump


def new_id(result) -> int:
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


def due(crm, *args: str):
    result = crm("remind", "due", *args)
    assert result.exit_code == 0, result.stderr
    return result


def lines(crm, *args: str) -> list[str]:
    return due(crm, *args).stdout.splitlines()


def items(crm, *args: str) -> list[dict]:
    return json.loads(due(crm, "-f", "json", *args).stdout)


def sql(db_path: Path, statement: str, params: tuple = ()) -> None:
    database = open_db(db_path, create=False)
    try:
        with database.write(["crm", "test"]):
            database.execute(statement, params)
    finally:
        database.close()


def reminder(db_path: Path, text: str, due_at: str, *, customer: int | None = None, **kw) -> None:
    sql(
        db_path,
        "INSERT INTO reminders (uid, text, due_at, anchor_at, rule, customer_id, done_at, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (f"r-{text}", text, due_at, due_at, kw.get("rule"), customer, kw.get("done_at"),
         "2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z"),
    )  # fmt: skip


def ticket(db_path: Path, customer: int, subject: str, due_at: str, status: str = "open") -> None:
    sql(
        db_path,
        "INSERT INTO tickets (uid, customer_id, subject, priority, status, tier, due_at, "
        "reopened, created_at, updated_at) VALUES (?, ?, ?, 'high', ?, 1, ?, 0, ?, ?)",
        (f"t-{subject}", customer, subject, status, due_at, "2026-11-20T00:00:00Z",
         "2026-11-20T00:00:00Z"),
    )  # fmt: skip


@pytest.fixture
def an(crm) -> int:
    return new_id(crm("customer", "add", "Nguyễn Văn An", "--email", "an@example.vn"))


def test_nothing_due_prints_nothing_and_exits_0(crm, an) -> None:
    result = crm("remind", "due")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    flagged = crm("remind", "due", "--exit-code")
    assert (flagged.exit_code, flagged.stdout, flagged.stderr) == (1, "", "")


def test_a_missing_database_is_an_error_not_silence(crm, db_path) -> None:
    result = crm("remind", "due")
    assert result.exit_code == 1
    assert "no database" in result.stderr
    assert not db_path.exists()


def test_exit_code_is_0_when_something_is_due(crm, db_path, an) -> None:
    reminder(db_path, "Call An", "2026-11-23T01:00:00Z", customer=an)
    result = crm("remind", "due", "--exit-code")
    assert result.exit_code == 0
    assert result.stdout.count("\n") == 1


def test_reminders_overdue_and_today_but_not_later_or_done(crm, db_path, an) -> None:
    reminder(db_path, "Gửi báo giá", "2026-11-20T02:00:00Z", customer=an)  # 09:00 on the 20th
    reminder(db_path, "Later today", "2026-11-23T09:00:00Z")  # 16:00 local today
    reminder(db_path, "Tomorrow", "2026-11-24T02:00:00Z")
    reminder(db_path, "Done", "2026-11-22T02:00:00Z", done_at="2026-11-22T03:00:00Z")
    out = lines(crm)
    assert out == [
        "2026-11-20 09:00  overdue  reminder 1: Gửi báo giá — customer 1 Nguyễn Văn An",
        "2026-11-23 16:00  today    reminder 2: Later today",
    ]
    assert [i["text"] for i in items(crm, "--within", "1d")][-1] == "reminder 3: Tomorrow"


def test_birthdays_today_with_age_and_yearless(crm, an) -> None:
    new_id(crm("customer", "add", "Trần Thị Bình", "--birthday", "1990-11-23"))
    new_id(crm("customer", "add", "Lê Văn Cường", "--birthday", "--11-23"))
    new_id(crm("customer", "add", "Not today", "--birthday", "1990-11-24"))
    texts = [i["text"] for i in items(crm)]
    assert texts == ["birthday: Trần Thị Bình turns 36", "birthday: Lê Văn Cường"]
    ahead = items(crm, "--within", "1d")
    assert ahead[-1]["text"] == "birthday: Not today turns 36"
    assert ahead[-1]["status"] == "in 1d"


@pytest.mark.parametrize(
    ("now", "shown"),
    [
        ("2027-02-28T08:00:00", True),  # a common year: on 28 February
        ("2027-03-01T08:00:00", False),
        ("2028-02-28T08:00:00", False),  # a leap year: on the day itself
        ("2028-02-29T08:00:00", True),
    ],
)
def test_29_february_birthday(crm, monkeypatch, now: str, shown: bool) -> None:
    new_id(crm("customer", "add", "Phạm Nhuận", "--birthday", "1996-02-29"))
    monkeypatch.setenv("CRM_NOW", now)
    assert bool(lines(crm)) is shown


def test_open_deals_past_their_close_date(crm, an) -> None:
    late = new_id(crm("deal", "add", "Máy lọc nước", "-c", str(an), "--close", "2026-11-20"))
    new_id(crm("deal", "add", "Next month", "-c", str(an), "--close", "2026-12-20"))
    today = new_id(crm("deal", "add", "Today", "-c", str(an), "--close", "2026-11-23"))
    won = new_id(crm("deal", "add", "Won already", "-c", str(an), "--close", "2026-11-01"))
    assert crm("deal", "won", str(won)).exit_code == 0
    got = [(i["kind"], i["id"], i["status"]) for i in items(crm)]
    assert got == [("deal", late, "overdue"), ("deal", today, "today")]
    assert lines(crm)[0] == (
        "2026-11-20        overdue  deal 1 to close (new): Máy lọc nước — customer 1 Nguyễn Văn An"
    )


def test_unpaid_payments_until_paid(crm, an) -> None:
    deal = new_id(crm("deal", "add", "Bàn ghế", "-c", str(an), "--amount", "12.000.000 VND"))
    assert crm("deal", "won", str(deal), "--payment-due", "2026-11-23").exit_code == 0
    got = items(crm)
    assert [(i["kind"], i["id"], i["status"]) for i in got] == [("invoice", 1, "today")]
    assert got[0]["text"] == "invoice INV-2026-0001 due for deal 1: 12,000,000 VND owed"
    assert got[0]["deal_id"] == deal
    assert crm("deal", "paid", str(deal)).exit_code == 0
    assert lines(crm) == []


def test_contracts_ending_within_the_notice(crm, an) -> None:
    soon = new_id(crm("deal", "add", "Support 2026", "-c", str(an)))
    crm("deal", "won", str(soon), "--contract-end", "2026-12-10", "--contract-number", "HĐ-7")
    later = new_id(crm("deal", "add", "Support 2027", "-c", str(an)))
    crm("deal", "won", str(later), "--contract-end", "2027-01-10")
    ended = new_id(crm("deal", "add", "Ended", "-c", str(an)))
    crm("deal", "won", str(ended), "--contract-end", "2026-11-01")
    got = items(crm)
    # Due when the 30-day notice begins (2026-11-10), not on the day the contract ends.
    assert [(i["kind"], i["id"], i["due"], i["status"]) for i in got] == [
        ("contract", soon, "2026-11-10", "overdue")
    ]
    assert got[0]["text"] == "contract HĐ-7 of deal 1 ends 2026-12-10: Support 2026"
    assert crm("config", "set", "contract_notice_days", "60").exit_code == 0
    assert [i["id"] for i in items(crm)] == [soon, later]


def test_later_items_only_with_within(crm, an) -> None:
    """By default only what is overdue or due today; --within looks ahead."""
    deal = new_id(crm("deal", "add", "Support", "-c", str(an)))
    crm("deal", "won", str(deal), "--contract-end", "2026-12-24")  # notice begins 11-24
    new_id(crm("deal", "add", "Closes Friday", "-c", str(an), "--close", "2026-11-27"))
    new_id(crm("customer", "add", "Tomorrow's birthday", "--birthday", "1990-11-24"))
    assert lines(crm) == []
    ahead = items(crm, "--within", "1w")
    assert [(i["kind"], i["status"]) for i in ahead] == [
        ("contract", "in 1d"), ("birthday", "in 1d"), ("deal", "in 4d"),
    ]  # fmt: skip
    assert {i["status"] for i in items(crm, "--within", "1d")} == {"in 1d"}


def test_stale_leads_until_contacted(crm, monkeypatch) -> None:
    monkeypatch.setenv("CRM_NOW", "2026-11-01T10:00:00")
    lead = new_id(crm("lead", "add", "Hoàng Thị Mai", "--source", "web"))
    lost = new_id(crm("lead", "add", "Lost one"))
    assert crm("lead", "status", str(lost), "lost", "--reason", "no budget").exit_code == 0
    monkeypatch.setenv("CRM_NOW", "2026-11-14T10:00:00")
    assert lines(crm) == []  # 13 days: not yet
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:00:00")
    got = items(crm)
    assert [(i["kind"], i["id"], i["due"], i["status"]) for i in got] == [
        ("lead", lead, "2026-11-15", "overdue")
    ]
    assert crm("lead", "log", str(lead), "--type", "call", "Gọi lần đầu").exit_code == 0
    assert lines(crm) == []
    assert crm("config", "set", "stale_lead_days", "0").exit_code == 2  # at least one day


def test_cadence_moves_with_every_log(crm, db_path, monkeypatch) -> None:
    monkeypatch.setenv("CRM_NOW", "2026-10-01T10:00:00")
    cid = new_id(crm("customer", "add", "Vũ Đức Thắng"))
    sql(db_path, "UPDATE customers SET cadence = '30d' WHERE id = ?", (cid,))
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:00:00")
    got = items(crm)
    assert [(i["kind"], i["due"], i["status"]) for i in got] == [
        ("cadence", "2026-10-31", "overdue")
    ]
    assert "every 30d, last contact 2026-10-01" in got[0]["text"]
    logged = crm("customer", "log", str(cid), "--type", "call", "--at", "2026-11-10 09:00", "Hi")
    assert logged.exit_code == 0, logged.stderr
    assert lines(crm) == []  # next due 2026-12-10
    assert [i["due"] for i in items(crm, "--within", "3w")] == ["2026-12-10"]


def test_tickets_past_due_only_while_open(crm, db_path, an) -> None:
    ticket(db_path, an, "Máy in hỏng", "2026-11-22T02:00:00Z")
    ticket(db_path, an, "Waiting on the customer", "2026-11-22T02:00:00Z", status="pending")
    ticket(db_path, an, "Fixed", "2026-11-22T02:00:00Z", status="resolved")
    ticket(db_path, an, "Due later today", "2026-11-23T08:00:00Z")
    got = items(crm)
    assert [(i["kind"], i["id"], i["status"]) for i in got] == [
        ("ticket", 1, "overdue"),
        ("ticket", 4, "today"),
    ]
    assert got[0]["text"] == "ticket 1 due (high): Máy in hỏng"


def test_every_source_in_one_digest_soonest_first(crm, db_path, an) -> None:
    reminder(db_path, "Call An", "2026-11-23T01:00:00Z", customer=an)
    ticket(db_path, an, "Printer", "2026-11-21T02:00:00Z")
    new_id(crm("customer", "add", "Bình", "--birthday", "1990-11-23"))
    new_id(crm("deal", "add", "Late deal", "-c", str(an), "--close", "2026-11-10"))
    kinds = [i["kind"] for i in items(crm)]
    assert kinds == ["deal", "ticket", "birthday", "reminder"]
    assert set(items(crm)[0]) == {
        "kind", "id", "due", "status", "text", "who", "customer_id", "lead_id", "deal_id",
        "ticket_id",
    }  # fmt: skip


def test_hostile_text_is_made_visible(crm, db_path, an) -> None:
    reminder(db_path, "Call\x1b[2J back \u202e [bold]now[/]", "2026-11-23T01:00:00Z")
    (line,) = lines(crm)
    assert "\x1b" not in line and "\u202e" not in line
    assert "[bold]now[/]" in line


@pytest.mark.parametrize(
    ("within", "message"),
    [("soon", "--within"), ("3 parsecs", "--within"), ("2y", "at most a year"), ("0d", "1 to")],
)
def test_bad_within_is_a_usage_error(crm, db_path, an, within: str, message: str) -> None:
    before = dump(db_path)
    result = crm("remind", "due", "--within", within)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert dump(db_path) == before


def test_cron_environment(db_path: Path, tmp_path: Path) -> None:
    """Under cron: no terminal, PATH=/usr/bin:/bin, no LANG; silent when nothing is due,
    Vietnamese names intact otherwise."""
    env = {
        "PATH": "/usr/bin:/bin",
        "CRM_DB": str(db_path),
        "HOME": str(tmp_path),
        "CRM_NOW": os.environ["CRM_NOW"],
        "TZ": os.environ["TZ"],
    }
    crm = crm_bin()
    add = subprocess.run(
        [crm, "customer", "add", "Đặng Quốc Bảo", "--birthday", "1985-12-01"],
        capture_output=True, env=env, timeout=60,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    quiet = subprocess.run([crm, "remind", "due"], capture_output=True, env=env, timeout=60)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, b"", b"")
    env["CRM_NOW"] = "2026-12-01T07:00:00"
    busy = subprocess.run([crm, "remind", "due"], capture_output=True, env=env, timeout=60)
    assert busy.returncode == 0, busy.stderr
    assert busy.stdout.decode("utf-8") == (
        "2026-12-01        today    birthday: Đặng Quốc Bảo turns 41\n"
    )
    assert busy.stderr == b""


def test_stale_lead_line_names_the_lead_once(crm, monkeypatch) -> None:
    monkeypatch.setenv("CRM_NOW", "2026-11-01T10:00:00")
    new_id(crm("lead", "add", "Hoàng Thị Mai", "--source", "web"))
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:00:00")
    assert lines(crm) == [
        "2026-11-15        overdue  lead 1 not contacted since 2026-11-01 (new): Hoàng Thị Mai"
    ]


def test_cadence_line_names_the_customer_once(crm, db_path, monkeypatch) -> None:
    monkeypatch.setenv("CRM_NOW", "2026-10-01T10:00:00")
    cid = new_id(crm("customer", "add", "Vũ Đức Thắng"))
    sql(db_path, "UPDATE customers SET cadence = '30d' WHERE id = ?", (cid,))
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:00:00")
    assert lines(crm) == [
        "2026-10-31        overdue  keep in touch (every 30d, last contact 2026-10-01): "
        "Vũ Đức Thắng — customer 1"
    ]


def mixed(crm, db_path, an) -> None:
    """A reminder 1, a deal 2 past its close date and a birthday of customer 2: the ids 1,
    2, 2 name three different records."""
    reminder(db_path, "Call An", "2026-11-23T01:00:00Z", customer=an)
    new_id(crm("deal", "add", "Spacer", "-c", str(an)))
    new_id(crm("deal", "add", "Late deal", "-c", str(an), "--close", "2026-11-10"))
    new_id(crm("customer", "add", "Bình", "--birthday", "1990-11-23"))


def test_ids_of_mixed_kinds_are_refused(crm, db_path, an) -> None:
    mixed(crm, db_path, an)
    result = crm("remind", "due", "-f", "ids")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--kind" in result.stderr and result.stderr.count("\n") == 1
    # Refused whatever is due today, so that a script fails the first time, not by chance.
    assert crm("remind", "due", "--kind", "reminder,birthday", "-f", "ids").exit_code == 2


def test_ids_of_one_record_kind(crm, db_path, an) -> None:
    mixed(crm, db_path, an)
    assert due(crm, "--kind", "reminder", "-f", "ids").stdout == "1\n"
    assert due(crm, "-k", "deal", "-k", "contract", "-f", "ids").stdout == "2\n"
    assert due(crm, "-k", "payment", "-f", "ids").stdout == ""  # invoices; none here
    assert due(crm, "--kind", "birthday,cadence", "-f", "ids").stdout == "2\n"
    assert due(crm, "--kind", "lead", "-f", "ids").stdout == ""  # nothing due: silence
    done = crm("remind", "done", "-", input=due(crm, "-k", "reminder", "-f", "ids").stdout)
    assert done.exit_code == 0, done.stderr
    assert [i["kind"] for i in items(crm)] == ["deal", "birthday"]


def test_kind_filters_every_format_and_names_the_kind(crm, db_path, an) -> None:
    mixed(crm, db_path, an)
    tsv = due(crm, "-f", "tsv").stdout.splitlines()
    assert tsv[0].split("\t")[:2] == ["kind", "id"]
    assert [row.split("\t")[:2] for row in tsv[1:]] == [
        ["deal", "2"], ["birthday", "2"], ["reminder", "1"],
    ]  # fmt: skip
    assert [i["kind"] for i in items(crm, "--kind", "deal")] == ["deal"]
    assert lines(crm, "--kind", "birthday") == [
        "2026-11-23        today    birthday: Bình turns 36"
    ]


def test_bad_kind_is_a_usage_error(crm, an) -> None:
    result = crm("remind", "due", "--kind", "invoices")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--kind" in result.stderr and "reminder" in result.stderr


def item(crm, deal: int, product: str, *args: str) -> int:
    return new_id(crm("deal", "item", "add", str(deal), product, "2", "100", *args))


def test_deliveries_due_until_delivered_and_not_of_lost_deals(crm, an) -> None:
    deal = new_id(crm("deal", "add", "Office network", "-c", str(an)))
    late = item(crm, deal, "Router", "--delivery", "2026-11-20", "--supplier", "Minh Phát")
    today = item(crm, deal, "Switch", "--delivery", "2026-11-23", "--unit", "pcs")
    later = item(crm, deal, "Cable", "--delivery", "2026-11-25")
    item(crm, deal, "Installation")  # no delivery date: never due
    lost = new_id(crm("deal", "add", "Lost one", "-c", str(an)))
    item(crm, lost, "Printer", "--delivery", "2026-11-10")
    assert crm("deal", "lost", str(lost), "--reason", "price").exit_code == 0
    got = [(i["kind"], i["id"], i["status"], i["deal_id"]) for i in items(crm)]
    assert got == [("delivery", late, "overdue", deal), ("delivery", today, "today", deal)]
    assert lines(crm) == [
        "2026-11-20        overdue  deliver 2 × Router (Minh Phát) for deal 1: Office network"
        " — customer 1 Nguyễn Văn An",
        "2026-11-23        today    deliver 2 pcs Switch for deal 1: Office network"
        " — customer 1 Nguyễn Văn An",
    ]
    assert [i["id"] for i in items(crm, "--within", "3d")] == [late, today, later]
    # The ids are line items: piped into `deal item delivered`, the reminders stop.
    ids = due(crm, "--kind", "delivery", "-f", "ids").stdout
    assert ids == f"{late}\n{today}\n"
    done = crm("deal", "item", "delivered", "-", input=ids)
    assert done.exit_code == 0, done.stderr
    assert lines(crm) == []
    assert [i["id"] for i in items(crm, "--within", "3d")] == [later]


def test_delivery_ids_do_not_mix_with_deal_ids(crm, an) -> None:
    deal = new_id(crm("deal", "add", "Late", "-c", str(an), "--close", "2026-11-10"))
    item(crm, deal, "Router", "--delivery", "2026-11-20")
    refused = crm("remind", "due", "--kind", "deal,delivery", "-f", "ids")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert "delivery" in refused.stderr and refused.stderr.count("\n") == 1
