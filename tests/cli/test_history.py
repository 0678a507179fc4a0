"""``crm history``: the audit trail, newest first, filtered and in every format."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import crm_bin


def run(crm: Any, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    """crm in-process with sys.argv set as a shell would (the command log records it)."""
    monkeypatch.setattr(sys, "argv", ["crm", *args])
    return crm(*args)


@pytest.fixture
def story(crm: Any, monkeypatch: pytest.MonkeyPatch, db_path: Path) -> Any:
    """Two customers with tags and interactions, a lead with an interaction, a deal that
    moved, a setting; returns a runner."""

    def call(*args: str) -> Any:
        result = run(crm, monkeypatch, *args)
        return result

    for args in (
        ["customer", "add", "Nguyễn Văn An", "--email", "an@example.vn", "--tag", "vip"],
        ["customer", "add", "Trần Bình", "--tag", "vip"],
        ["customer", "log", "1", "--type", "call", "Hỏi giá [bold]laptop[/bold] 🚀"],
        ["customer", "log", "2", "Gặp ở Huế"],
        ["customer", "edit", "1", "--name", "An Nguyễn", "--city", "Huế"],
        ["lead", "add", "Võ Tuấn"],
        ["lead", "log", "1", "Quan tâm ERP"],
        ["deal", "add", "20 laptops", "-c", "1", "--amount", "450.000.000 VND"],
        ["deal", "move", "1", "proposal"],
        ["config", "set", "currency", "VND"],
    ):
        result = call(*args)
        assert result.exit_code == 0, (args, result.stderr)
    return call


def rows(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    return list(json.loads(result.stdout))


def test_history_is_newest_first_with_command_and_changes(story: Any) -> None:
    for n in range(4):  # 17 changes so far; 8 more
        assert story("customer", "add", f"Khách {n}", "--tag", "mới").exit_code == 0
    story("config", "set", "currency", "EUR")
    records = rows(story("history", "-f", "json"))
    assert len(records) == 20  # the default limit
    first = records[0]
    assert first["command"] == "crm config set currency EUR"
    assert (first["entity"], first["entity_id"], first["action"]) == (
        "setting",
        "currency",
        "update",
    )
    assert first["changes"] == "value: VND → EUR"
    assert first["at"] == "2026-11-23T03:00:00Z"  # UTC in JSON
    assert first["before"] == {"key": "currency", "value": "VND"}
    assert first["after"] == {"key": "currency", "value": "EUR"}
    added = next(r for r in records if r["command"] == "crm config set currency VND")
    assert (added["action"], added["changes"], added["before"]) == (
        "insert",
        "currency = VND",
        None,
    )
    ids = [r["id"] for r in records]
    assert ids == sorted(ids, reverse=True)
    table = story("history", "-f", "table")
    assert table.stderr == "showing the newest 20; use --limit 0 for all\n"
    assert table.stdout.count("crm customer add") == 8


def test_an_update_shows_only_the_changed_fields(story: Any) -> None:
    records = rows(story("history", "--entity", "customer", "--id", "1", "-f", "json"))
    edit = next(r for r in records if r["action"] == "update" and r["table"] == "customers")
    assert edit["command"] == "crm customer edit 1 --name 'An Nguyễn' --city 'Huế'"
    assert edit["changes"] == "name: Nguyễn Văn An → An Nguyễn; city: – → Huế"  # no updated_at
    assert edit["before"]["name"] == "Nguyễn Văn An" and edit["after"]["name"] == "An Nguyễn"
    assert set(edit["before"]) == set(edit["after"])  # full images
    moved = rows(story("history", "--entity", "deal", "--id", "1", "-f", "json"))
    deal_update = next(r for r in moved if r["table"] == "deals" and r["action"] == "update")
    assert deal_update["changes"] == "stage: new → proposal"
    added = next(r for r in moved if r["table"] == "deals" and r["action"] == "insert")
    assert added["changes"] == "20 laptops"


def test_entity_and_id_include_the_rows_that_belong_to_the_record(story: Any) -> None:
    records = rows(story("history", "--entity", "customer", "--id", "1", "-n", "0", "-f", "json"))
    tables = {(r["table"], r["action"]) for r in records}
    assert tables == {
        ("customers", "insert"),
        ("customers", "update"),
        ("customer_tags", "insert"),
        ("interactions", "insert"),
        ("deals", "insert"),  # its image carries customer_id 1
        ("deals", "update"),
    }
    assert all(
        r["entity_id"] == 1 or (r["entity"], r["table"]) == ("deal", "deals") for r in records
    )
    tag = next(r for r in records if r["table"] == "customer_tags")
    assert (tag["record"], tag["changes"]) == ("tag vip", "vip")
    call = next(r for r in records if r["table"] == "interactions")
    assert call["changes"] == "call: Hỏi giá [bold]laptop[/bold] 🚀"
    other = rows(story("history", "--entity", "customer", "--id", "2", "-f", "json"))
    assert {r["table"] for r in other} == {"customers", "customer_tags", "interactions"}


def test_entity_alone_and_lead_interactions(story: Any) -> None:
    leads = rows(story("history", "--entity", "lead", "-n", "0", "-f", "json"))
    assert {(r["table"], r["entity"]) for r in leads} == {
        ("leads", "lead"),
        ("lead_status_changes", "lead"),
        ("interactions", "lead"),  # an interaction with a lead and no customer
    }
    customers = rows(story("history", "--entity", "customer", "-n", "0", "-f", "json"))
    assert {r["entity"] for r in customers} == {"customer"}
    assert sum(r["table"] == "interactions" for r in customers) == 2
    settings = rows(story("history", "--entity", "setting", "-f", "json"))
    assert [r["record"] for r in settings] == ["setting currency"]


def test_command_filter(story: Any, db_path: Path) -> None:
    records = rows(story("history", "--command", "1", "-f", "json"))
    assert [(r["table"], r["action"]) for r in records] == [
        ("customer_tags", "insert"),
        ("customers", "insert"),
    ]
    missing = story("history", "--command", "999")
    assert (missing.exit_code, missing.stdout) == (1, "")
    assert missing.stderr == "crm: error: no command 999\n"


def test_bad_filters(story: Any) -> None:
    no_entity = story("history", "--id", "1")
    assert no_entity.exit_code == 2 and "--id needs --entity" in no_entity.stderr
    assert no_entity.stdout == ""
    setting_id = story("history", "--entity", "setting", "--id", "1")
    assert setting_id.exit_code == 2 and "settings have names" in setting_id.stderr
    unknown = story("history", "--entity", "planet")
    assert unknown.exit_code == 2 and unknown.stdout == ""
    negative = story("history", "--limit", "-1")
    assert negative.exit_code == 2


def test_limit(story: Any) -> None:
    assert len(rows(story("history", "-n", "3", "-f", "json"))) == 3
    everything = rows(story("history", "--limit", "0", "-f", "json"))
    assert len(everything) == 17  # every audit row
    tsv = story("history", "-n", "2")  # tsv off a terminal: no hint, just the rows
    assert tsv.stdout.count("\n") == 3 and tsv.stderr == ""


def test_tsv_and_jsonl_and_ids(story: Any) -> None:
    tsv = story("history", "-n", "1")
    header, line = tsv.stdout.splitlines()
    assert header.split("\t") == [
        "id", "at", "command_id", "command", "undone_by", "undid", "entity", "entity_id",
        "table", "row_id", "record", "action", "changes",
    ]  # fmt: skip
    assert line.split("\t")[1] == "2026-11-23T03:00:00Z"
    jsonl = story("history", "-n", "2", "-f", "jsonl").stdout.splitlines()
    assert [json.loads(x)["after"]["value"] for x in jsonl[:1]] == ["VND"]
    ids = story("history", "-n", "2", "-f", "ids").stdout.split()
    assert ids == ["17", "16"]


def test_table_is_local_time_and_prints_markup_literally(story: Any) -> None:
    result = story("history", "--entity", "customer", "--id", "1", "-f", "table", "-n", "5")
    assert result.exit_code == 0
    out = result.stdout
    assert "2026-11-23 10:00" in out and "T03:00:00Z" not in out
    assert "[bold]laptop[/bold]" in out
    assert "#5 crm customer edit 1" in out
    assert "interaction 1 (customer 1)" in out
    assert result.stderr == ""  # --limit given: no hint


def test_undone_commands_are_marked(story: Any) -> None:
    story("customer", "delete", "2", "--yes")
    assert story("undo", "--yes").exit_code == 0
    records = rows(story("history", "-n", "0", "-f", "json"))
    deleted = [r for r in records if r["command"] == "crm customer delete 2 --yes"]
    undo = [r for r in records if r["command"] == "crm undo --yes"]
    assert deleted and {r["undone_by"] for r in deleted} == {undo[0]["command_id"]}
    assert {tuple(r["undid"]) for r in undo} == {(deleted[0]["command_id"],)}
    assert {r["action"] for r in undo} == {"insert"}
    table = story("history", "-f", "table", "-n", "0").stdout
    assert f"[undone by #{undo[0]['command_id']}]" in table
    assert f"[undid #{deleted[0]['command_id']}]" in table


def test_writes_outside_crm_show_without_a_command(story: Any, db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("UPDATE customers SET city = 'Vinh' WHERE id = 2")
    conn.close()
    first = rows(story("history", "-n", "1", "-f", "json"))[0]
    assert (first["command_id"], first["command"], first["at"]) == (None, None, None)
    assert first["changes"] == "city: – → Vinh"
    table = story("history", "-n", "1", "-f", "table").stdout
    assert "(outside crm)" in table


def test_long_values_are_cut_in_the_summary_not_in_json(story: Any) -> None:
    long = "Ghi chú rất dài " * 20
    story("customer", "log", "2", long.strip())
    first = rows(story("history", "-n", "1", "-f", "json"))[0]
    assert first["changes"].endswith("…") and len(first["changes"]) < 80
    assert first["after"]["body"] == long.strip()


def test_history_reads_without_creating_a_database(crm: Any, db_path: Path) -> None:
    result = crm("history")
    assert result.exit_code == 1 and "no database at" in result.stderr
    assert not db_path.exists()


def test_history_and_undo_as_real_processes(db_path: Path) -> None:
    def crm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [crm_bin(), *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )

    assert crm("customer", "add", "Nguyễn Thị Đào", "--tag", "vip").returncode == 0
    assert crm("customer", "log", "1", "Gọi điện").returncode == 0
    assert crm("customer", "delete", "1", "--yes").returncode == 0
    listed = crm("history", "-n", "2")
    assert listed.returncode == 0
    assert "\tcrm customer delete 1 --yes\t" in listed.stdout
    refused = crm("undo")  # no terminal: --yes needed
    assert refused.returncode == 2 and "--yes" in refused.stderr
    undone = crm("undo", "--yes")
    assert undone.returncode == 0, undone.stderr
    assert undone.stdout == ""
    assert undone.stderr == (
        "Undid `crm customer delete 1 --yes` (2026-11-23 10:00): 1 customer, "
        "1 interaction, 1 tag restored\n"
    )
    found = crm("customer", "list", "--search", "dao", "-f", "ids")
    assert found.stdout == "1\n"
    assert crm("undo", "--yes").stderr.startswith("Undid `crm customer log 1")
    assert crm("undo", "--yes").stderr.startswith("Undid `crm customer add")
    nothing = crm("undo", "--yes")
    assert (nothing.returncode, nothing.stderr) == (1, "crm: error: nothing to undo\n")
