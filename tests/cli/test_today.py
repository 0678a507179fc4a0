"""``crm today``: the morning screen in every format.

The clock is pinned (CRM_NOW, Asia/Ho_Chi_Minh, UTC+7): "today" is Monday 2026-11-23 and it
is 10:00 local.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_remind_due import new_id, reminder, sql, ticket
from tests.conftest import crm_bin, dump

PARTS = [
    "reminders", "birthdays", "deals", "tickets", "leads", "payments", "contacts", "contracts",
]  # fmt: skip
PARTS += ["deliveries"]
KEYS = ["date", *PARTS, "pipeline", "won_this_month"]


def today(crm, *args: str):
    result = crm("today", *args)
    assert result.exit_code == 0, result.stderr
    return result


def document(crm) -> dict:
    doc: dict = json.loads(today(crm, "-f", "json").stdout)
    return doc


@pytest.fixture
def morning(crm, db_path, monkeypatch) -> dict[str, int]:
    """Something in every part, and things just outside each part's reach."""
    monkeypatch.setenv("CRM_NOW", "2026-11-01T10:00:00")
    stale = new_id(crm("lead", "add", "Hoàng Thị Mai", "--source", "web"))
    binh = new_id(crm("customer", "add", "Trần Thị Bình", "--birthday", "1990-11-23"))
    sql(db_path, "UPDATE customers SET cadence = '2w' WHERE id = ?", (binh,))
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:00:00")
    an = new_id(crm("customer", "add", "Nguyễn Văn An", "--birthday", "1985-11-26"))
    new_id(crm("customer", "add", "Later", "--birthday", "1990-12-05"))
    reminder(db_path, "Gửi báo giá", "2026-11-20T02:00:00Z", customer=an)  # overdue
    reminder(db_path, "Call at four", "2026-11-23T09:00:00Z")  # 16:00 today
    reminder(db_path, "Tomorrow", "2026-11-24T02:00:00Z")  # not today
    ticket(db_path, an, "Máy in hỏng", "2026-11-22T02:00:00Z")  # overdue
    ticket(db_path, an, "Due tonight", "2026-11-23T20:00:00Z")  # 03:00 tomorrow: 17 h
    ticket(db_path, an, "Due in two days", "2026-11-25T03:00:00Z")
    late = new_id(crm("deal", "add", "Máy lọc nước", "-c", str(an), "--close", "2026-11-20",
                      "--amount", "12.000.000 VND"))  # fmt: skip
    soon = new_id(crm("deal", "add", "Bàn ghế", "-c", str(an), "--close", "2026-11-27",
                      "--amount", "1,500 USD"))  # fmt: skip
    new_id(crm("deal", "add", "Next month", "-c", str(an), "--close", "2026-12-20"))
    won = new_id(crm("deal", "add", "Won", "-c", str(an), "--amount", "30.000.000 VND"))
    assert crm("deal", "won", str(won), "--payment-due", "2026-11-26").exit_code == 0
    contract = new_id(crm("deal", "add", "Support", "-c", str(an)))
    crm("deal", "won", str(contract), "--contract-end", "2026-12-10")
    return {"an": an, "binh": binh, "stale": stale, "late": late, "soon": soon, "won": won,
            "contract": contract}  # fmt: skip


def test_json_is_one_object_with_every_part(crm, morning) -> None:
    doc = document(crm)
    assert list(doc) == KEYS
    assert doc["date"] == "2026-11-23"
    got = {part: [(i["kind"], i["id"], i["status"]) for i in doc[part]] for part in PARTS}
    assert got.pop("deliveries") == []  # test_deliveries_overdue_and_today
    assert got == {
        "reminders": [("reminder", 1, "overdue"), ("reminder", 2, "today")],
        "birthdays": [("birthday", morning["binh"], "today"), ("birthday", morning["an"], "in 3d")],
        "deals": [("deal", morning["late"], "overdue"), ("deal", morning["soon"], "in 4d")],
        "tickets": [("ticket", 1, "overdue"), ("ticket", 2, "in 1d")],
        "leads": [("lead", morning["stale"], "overdue")],
        "payments": [("invoice", 1, "in 3d")],
        "contacts": [("cadence", morning["binh"], "overdue")],
        "contracts": [("contract", morning["contract"], "overdue")],
    }
    assert set(doc["reminders"][0]) == {
        "kind", "id", "due", "status", "text", "who", "customer_id", "lead_id", "deal_id",
        "ticket_id",
    }  # fmt: skip


def test_the_days_numbers(crm, morning) -> None:
    doc = document(crm)
    # Open deals per currency: amounts in minor units, weighted by the stage's probability.
    assert doc["pipeline"] == [
        {"currency": "USD", "deals": 2, "unpriced": 1, "total": 150000, "weighted": 15000},
        {"currency": "VND", "deals": 1, "unpriced": 0, "total": 12000000, "weighted": 1200000},
    ]
    # A won deal without an amount counts, and adds nothing (the default currency is USD).
    assert doc["won_this_month"] == [
        {"currency": "USD", "deals": 1, "unpriced": 1, "total": None},
        {"currency": "VND", "deals": 1, "unpriced": 0, "total": 30000000},
    ]


def test_won_this_month_is_the_local_calendar_month(crm, db_path, monkeypatch) -> None:
    an = new_id(crm("customer", "add", "An"))
    monkeypatch.setenv("CRM_NOW", "2026-10-31T23:30:00")  # October, local time
    october = new_id(crm("deal", "add", "October", "-c", str(an), "--amount", "100 USD"))
    assert crm("deal", "won", str(october)).exit_code == 0
    monkeypatch.setenv("CRM_NOW", "2026-11-01T00:30:00")
    november = new_id(crm("deal", "add", "November", "-c", str(an), "--amount", "250 USD"))
    assert crm("deal", "won", str(november)).exit_code == 0
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:00:00")
    assert document(crm)["won_this_month"] == [
        {"currency": "USD", "deals": 1, "unpriced": 0, "total": 25000}
    ]


def test_an_empty_day_keeps_the_shape(crm) -> None:
    new_id(crm("customer", "add", "Nobody due"))
    assert document(crm) == {"date": "2026-11-23", **{key: [] for key in KEYS[1:]}}
    tsv = today(crm, "-f", "tsv").stdout
    assert tsv.splitlines() == [
        "part\tkind\tid\tdue\tstatus\ttext\twho\tcustomer_id\tlead_id\tdeal_id\tticket_id\t"
        "currency\tdeals\tunpriced\ttotal\tweighted"
    ]
    assert today(crm, "-f", "jsonl").stdout == ""
    table = today(crm, "-f", "table")
    assert table.stdout == ""
    assert table.stderr == "Nothing due today (2026-11-23), and no open deals.\n"


def test_tsv_and_csv_a_row_per_item_with_its_part(crm, morning) -> None:
    rows = list(csv.DictReader(io.StringIO(today(crm, "-f", "tsv").stdout), delimiter="\t"))
    parts = [row["part"] for row in rows]
    assert parts == [
        "reminders", "reminders", "birthdays", "birthdays", "deals", "deals", "tickets",
        "tickets", "leads", "payments", "contacts", "contracts", "pipeline", "pipeline",
        "won_this_month", "won_this_month",
    ]  # fmt: skip
    assert (rows[0]["kind"], rows[0]["id"], rows[0]["status"]) == ("reminder", "1", "overdue")
    assert rows[-1]["currency"] == "VND" and rows[-1]["total"] == "30000000"
    assert rows[-1]["kind"] == ""
    by_csv = list(csv.DictReader(io.StringIO(today(crm, "-f", "csv").stdout)))
    assert by_csv == rows


def test_jsonl_a_line_per_item_with_its_own_fields(crm, morning) -> None:
    lines = [json.loads(line) for line in today(crm, "-f", "jsonl").stdout.splitlines()]
    assert lines[0]["part"] == "reminders" and lines[0]["kind"] == "reminder"
    assert "currency" not in lines[0]
    assert lines[-1] == {
        "part": "won_this_month", "currency": "VND", "deals": 1, "unpriced": 0,
        "total": 30000000,
    }  # fmt: skip


def test_terminal_screen_omits_silent_parts(crm, db_path, morning) -> None:
    out = today(crm, "-f", "table").stdout
    assert "Reminders, overdue and today (2)" in out
    assert "Tickets past due or due within 24 hours (2)" in out
    assert "Leads gone stale: no contact for 14 days (1)" in out
    assert "Open pipeline" in out and "12,000,000 VND" in out and "1,500.00 USD" in out
    assert "Won in November 2026" in out and "30,000,000 VND" in out
    assert "Tomorrow" not in out and "Due in two days" not in out
    # The stale lead is named once, in its text.
    assert out.count("Hoàng Thị Mai") == 1
    sql(db_path, "DELETE FROM tickets")
    quieter = today(crm, "-f", "table").stdout
    assert "Tickets" not in quieter and "Reminders" in quieter


def test_ids_are_refused(crm, morning) -> None:
    result = crm("today", "-f", "ids")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "-f tsv" in result.stderr and result.stderr.count("\n") == 1


def test_reads_without_writing(crm, db_path, morning) -> None:
    before = dump(db_path)
    today(crm)
    assert dump(db_path) == before


def test_a_missing_database_is_an_error(crm, db_path) -> None:
    result = crm("today")
    assert result.exit_code == 1
    assert "no database" in result.stderr
    assert not db_path.exists()


def test_cron_environment(db_path: Path, tmp_path: Path) -> None:
    """No terminal, PATH=/usr/bin:/bin, no LANG: tsv, Vietnamese text intact, exit 0."""
    env = {
        "PATH": "/usr/bin:/bin",
        "CRM_DB": str(db_path),
        "HOME": str(tmp_path),
        "CRM_NOW": os.environ["CRM_NOW"],
        "TZ": os.environ["TZ"],
    }
    crm = crm_bin()
    add = subprocess.run(
        [crm, "customer", "add", "Đặng Quốc Bảo", "--birthday", "1985-11-23"],
        capture_output=True, env=env, timeout=60,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    run = subprocess.run([crm, "today"], capture_output=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.decode("utf-8").splitlines()
    assert lines[0].startswith("part\tkind\tid\t")
    assert lines[1].split("\t")[:6] == [
        "birthdays", "birthday", "1", "2026-11-23", "today", "birthday: Đặng Quốc Bảo turns 41",
    ]  # fmt: skip
    assert run.stderr == b""


def test_deliveries_overdue_and_today(crm) -> None:
    an = int(crm("customer", "add", "An").stdout)
    deal = int(crm("deal", "add", "Office network", "-c", str(an)).stdout)
    for product, day in (("Router", "2026-11-22"), ("Switch", "2026-11-23"),
                         ("Cable", "2026-11-24")):  # fmt: skip
        added = crm("deal", "item", "add", str(deal), product, "1", "10", "--delivery", day)
        assert added.exit_code == 0, added.stderr
    doc = document(crm)
    assert [(i["kind"], i["id"], i["status"]) for i in doc["deliveries"]] == [
        ("delivery", 1, "overdue"), ("delivery", 2, "today"),
    ]  # fmt: skip
    assert doc["deliveries"][0]["text"] == "deliver 1 × Router for deal 1: Office network"
    rows = list(csv.DictReader(io.StringIO(today(crm, "-f", "tsv").stdout), delimiter="\t"))
    assert [(r["part"], r["id"]) for r in rows if r["kind"] == "delivery"] == [
        ("deliveries", "1"), ("deliveries", "2"),
    ]  # fmt: skip
    table = today(crm, "-f", "table").stdout
    assert "Deliveries, overdue and today (2)" in table and "Cable" not in table
