"""Several ids at once: ``show``/``edit``/``delete``/``done`` take ``ID...`` and ``-`` (ids
on stdin, one a line) and run as one command and one transaction: all or nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import crm_bin, dump, query


def new_id(result) -> int:
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


@pytest.fixture
def people(crm) -> list[int]:
    names = ["Nguyễn Văn An", "Trần Thị Bích", "Lê Đức Cường", "Phạm 🌸 Dung", "Võ Em"]
    ids = [new_id(crm("customer", "add", name, "--tag", "vip")) for name in names]
    new_id(crm("customer", "add", "Không VIP"))
    return ids


def tags(db: Path, customer_id: int) -> set[str]:
    return {
        r[0]
        for r in query(db, "SELECT tag FROM customer_tags WHERE customer_id = ?", (customer_id,))
    }


def commands(db: Path) -> int:
    return int(query(db, "SELECT count(*) FROM commands")[0][0])


# -- reading ids --------------------------------------------------------------------------


def test_ids_from_stdin_edit_all_in_one_command(crm, people, db_path: Path) -> None:
    listed = crm("customer", "list", "--tag", "vip", "-f", "ids")
    assert listed.stdout.split() == [str(i) for i in people]
    before = commands(db_path)
    result = crm("customer", "edit", "-", "--add-tag", "2027", input=listed.stdout)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"Updated 5 customers: {', '.join(map(str, people))}\n"
    assert all("2027" in tags(db_path, i) for i in people)
    assert "2027" not in tags(db_path, people[-1] + 1)
    assert commands(db_path) == before + 1  # one command: one undo takes it all back
    undone = crm("undo", "--yes")
    assert undone.exit_code == 0, undone.stderr
    assert not any("2027" in tags(db_path, i) for i in people)


def test_several_ids_as_arguments_and_repeats_once(crm, people, db_path: Path) -> None:
    first, second = people[:2]
    result = crm("customer", "edit", str(first), str(second), str(first), "--city", "Huế")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"Updated 2 customers: {first}, {second}\n"
    shown = json.loads(crm("customer", "show", str(first), str(second), "-f", "json").stdout)
    assert [(c["id"], c["city"]) for c in shown] == [(first, "Huế"), (second, "Huế")]


def test_stdin_blank_lines_and_spaces_are_skipped(crm, people, db_path: Path) -> None:
    result = crm(
        "customer", "edit", "-", "--add-tag", "x", input=f"\n {people[0]} \n\n{people[1]}\r\n"
    )
    assert result.exit_code == 0, result.stderr
    assert "x" in tags(db_path, people[0]) and "x" in tags(db_path, people[1])


def test_empty_stdin_is_nothing_to_do(crm, people, db_path: Path) -> None:
    before = dump(db_path)
    result = crm("customer", "edit", "-", "--add-tag", "x", input="")
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == "no ids on stdin: nothing to do\n"
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["-"], "1\nabc\n", "invalid ID on stdin line 2 'abc': not an id"),
        (["-"], "1\tNguyễn\n", "invalid ID on stdin line 1 '1\\tNguyễn': not an id"),
        (["-"], "id\n1\n", "invalid ID on stdin line 1 'id': not an id"),
        (["1", "0"], None, "invalid ID '0': not an id"),
        (["1", "3.5"], None, "invalid ID '3.5': not an id"),
        (["1", "٣"], None, "invalid ID '٣': not an id"),  # an Arabic-Indic digit
        (["99999999999999999999"], None, "invalid ID '99999999999999999999': not an id"),
        (["-"], "9" * 5000 + "\n", "invalid ID on stdin line 1 '999999"),  # past int()'s digits
        (["-", "-"], "1\n", "give - (ids from stdin) once"),
    ],
)
def test_bad_ids_are_usage_errors_and_nothing_is_written(
    crm, people, db_path: Path, args: list[str], stdin: str | None, message: str
) -> None:
    before = dump(db_path)
    result = crm("customer", "edit", *args, "--add-tag", "x", input=stdin)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("crm: error: " + message)
    assert result.stderr.count("\n") == 1
    assert dump(db_path) == before


def test_an_unknown_id_in_a_batch_writes_nothing(crm, people, db_path: Path) -> None:
    before = dump(db_path)
    result = crm("customer", "edit", "-", "--add-tag", "x", input=f"{people[0]}\n424242\n")
    assert result.exit_code == 1
    assert result.stderr == "crm: error: no customer 424242\n"
    assert dump(db_path) == before


def test_a_refused_change_names_the_record_in_a_batch(crm, people, db_path: Path) -> None:
    assert crm("customer", "edit", str(people[0]), "--field", "size=big").exit_code == 0
    before = dump(db_path)
    result = crm("customer", "edit", str(people[0]), str(people[1]), "--unset", "size")
    assert result.exit_code == 2
    assert result.stderr == (
        f"crm: error: customer {people[1]}: invalid --unset 'size': "
        "no such field on this customer\n"
    )
    assert dump(db_path) == before


def test_a_value_error_is_found_before_any_record(crm, people, db_path: Path) -> None:
    before = dump(db_path)
    result = crm("customer", "edit", "-", "--email", "not-an-email", input="1\n2\n")
    assert result.exit_code == 2 and result.stderr.startswith("crm: error: invalid email")
    assert dump(db_path) == before


# -- show -------------------------------------------------------------------------------


def test_show_one_id_is_an_object_several_an_array(crm, people) -> None:
    one = json.loads(crm("customer", "show", str(people[0]), "-f", "json").stdout)
    assert isinstance(one, dict) and one["name"] == "Nguyễn Văn An"
    many = json.loads(crm("customer", "show", "-", "-f", "json", input=f"{people[3]}\n").stdout)
    assert isinstance(many, list) and [c["name"] for c in many] == ["Phạm 🌸 Dung"]


def test_show_several_as_tsv_is_one_header_and_a_row_each(crm, people) -> None:
    result = crm("customer", "show", *map(str, people[:3]), "-f", "tsv")
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and lines[0].startswith("id\tuid\tname\t")
    assert [line.split("\t")[2] for line in lines[1:]] == [
        "Nguyễn Văn An",
        "Trần Thị Bích",
        "Lê Đức Cường",
    ]
    jsonl = crm("customer", "show", *map(str, people[:3]), "-f", "jsonl").stdout.splitlines()
    assert [json.loads(line)["id"] for line in jsonl] == people[:3]
    ids = crm("customer", "show", str(people[1]), str(people[0]), "-f", "ids").stdout
    assert ids.split() == [str(people[1]), str(people[0])]


def test_show_several_cards_on_a_terminal(crm, people) -> None:
    result = crm("customer", "show", str(people[0]), str(people[1]), "-f", "table")
    assert result.exit_code == 0
    assert "Nguyễn Văn An" in result.stdout and "Trần Thị Bích" in result.stdout
    assert result.stdout.index("Nguyễn Văn An") < result.stdout.index("Trần Thị Bích")


def test_show_with_an_unknown_id_prints_nothing(crm, people) -> None:
    result = crm("customer", "show", str(people[0]), "777", "-f", "json")
    assert result.exit_code == 1
    assert result.stdout == "" and result.stderr == "crm: error: no customer 777\n"


# -- delete -----------------------------------------------------------------------------


def test_delete_several_asks_once_and_needs_yes_off_a_terminal(crm, people, db_path) -> None:
    before = dump(db_path)
    refused = crm("customer", "delete", str(people[0]), str(people[1]))
    assert refused.exit_code == 2
    assert "Delete 2 customers (Nguyễn Văn An, Trần Thị Bích), their history" in refused.stderr
    assert dump(db_path) == before
    result = crm("customer", "delete", "-", "--yes", input="\n".join(map(str, people)))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"Deleted 5 customers: {', '.join(map(str, people))}\n"
    left = crm("customer", "list", "-f", "ids").stdout.split()
    assert left == [str(people[-1] + 1)]
    assert crm("undo", "--yes").exit_code == 0
    assert len(crm("customer", "list", "-f", "ids").stdout.split()) == 6


def test_many_ids_in_one_batch(crm, db_path: Path) -> None:
    rows = "\n".join(f"Khách {n},k{n}@example.vn" for n in range(1, 1201))
    imported = crm("customer", "import", "-", "-f", "csv", input="name,email\n" + rows + "\n")
    assert imported.exit_code == 0, imported.stderr
    ids = crm("customer", "list", "-f", "ids").stdout
    result = crm("customer", "edit", "-", "--add-tag", "lot", input=ids)
    assert result.exit_code == 0, result.stderr
    assert (
        result.stderr
        == "Updated 1,200 customers: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, … (1,200 in all)\n"
    )
    tagged = crm("customer", "list", "--tag", "lot", "-f", "ids", "--limit", "0").stdout.split()
    assert len(tagged) == 1200


# -- the other groups ----------------------------------------------------------------------


def test_leads_show_edit_delete(crm, db_path: Path) -> None:
    ids = [new_id(crm("lead", "add", name)) for name in ("Đỗ Hải", "Bùi Lan", "Hồ Mai")]
    arg = "\n".join(map(str, ids))
    assert crm("lead", "edit", "-", "--score", "70", input=arg).exit_code == 0
    shown = json.loads(crm("lead", "show", "-", "-f", "json", input=arg).stdout)
    assert [(lead["name"], lead["score"]) for lead in shown] == [
        ("Đỗ Hải", 70),
        ("Bùi Lan", 70),
        ("Hồ Mai", 70),
    ]
    bad = crm("lead", "edit", str(ids[0]), "99", "--score", "10")
    assert bad.exit_code == 1 and bad.stderr == "crm: error: no lead 99\n"
    result = crm("lead", "delete", str(ids[0]), str(ids[1]), "--yes")
    assert result.exit_code == 0 and result.stderr == f"Deleted 2 leads: {ids[0]}, {ids[1]}\n"
    assert crm("lead", "list", "-f", "ids").stdout.split() == [str(ids[2])]


def test_deals_show_edit_delete(crm, people, db_path: Path) -> None:
    ids = [
        new_id(crm("deal", "add", f"Deal {n}", "--customer", str(people[0]), "--amount", "100"))
        for n in range(3)
    ]
    result = crm("deal", "edit", *map(str, ids), "--close", "2026-12-31")
    assert result.exit_code == 0 and result.stderr.startswith("Updated 3 deals:")
    shown = json.loads(crm("deal", "show", *map(str, ids), "-f", "json").stdout)
    assert {d["close_date"] for d in shown} == {"2026-12-31"}
    table = crm("deal", "show", str(ids[0]), str(ids[1]), "-f", "table")
    assert table.exit_code == 0 and "Deal 0" in table.stdout and "Deal 1" in table.stdout
    assert crm("deal", "delete", "-", "--yes", input=f"{ids[0]}\n{ids[2]}\n").exit_code == 0
    assert crm("deal", "list", "-f", "ids").stdout.split() == [str(ids[1])]


def test_tickets_show_edit_delete(crm, people, db_path: Path) -> None:
    ids = [new_id(crm("ticket", "open", str(people[1]), f"Lỗi {n}")) for n in range(3)]
    result = crm("ticket", "edit", "-", "--priority", "urgent", input="\n".join(map(str, ids)))
    assert result.exit_code == 0, result.stderr
    shown = json.loads(crm("ticket", "show", *map(str, ids), "-f", "json").stdout)
    assert {t["priority"] for t in shown} == {"urgent"}
    table = crm("ticket", "show", str(ids[0]), str(ids[2]), "-f", "table")
    assert "Lỗi 0" in table.stdout and "Lỗi 2" in table.stdout
    assert crm("ticket", "delete", str(ids[0]), str(ids[1]), "--yes").exit_code == 0
    assert crm("ticket", "list", "-f", "ids").stdout.split() == [str(ids[2])]


def test_reminders_done_and_delete(crm, db_path: Path) -> None:
    once = new_id(crm("remind", "add", "Gọi lại", "--at", "tomorrow 9:00"))
    daily = new_id(
        crm("remind", "add", "Kiểm tra email", "--at", "tomorrow 8:00", "--every", "daily")
    )
    gone = new_id(crm("remind", "add", "Xoá", "--at", "tomorrow 10:00"))
    result = crm("remind", "done", str(once), str(daily))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        f"Done 2 reminders (1 repeating one moved to the next time): {once}, {daily}\n"
    )
    pending = json.loads(crm("remind", "list", "-f", "json").stdout)
    assert sorted(r["id"] for r in pending) == [daily, gone]
    before = dump(db_path)
    bad = crm("remind", "done", str(gone), "555")
    assert bad.exit_code == 1 and bad.stderr == "crm: error: no reminder 555\n"
    assert dump(db_path) == before
    assert crm("remind", "delete", "-", "--yes", input=f"{gone}\n{daily}\n").exit_code == 0
    assert json.loads(crm("remind", "list", "-f", "json", "--all").stdout)[0]["id"] == once


# -- as a real pipeline --------------------------------------------------------------------


def test_the_readme_pipeline_in_a_real_shell(db_path: Path) -> None:
    crm = crm_bin()
    for name in ("Ngô Quang", "Đinh Thu"):
        subprocess.run([crm, "customer", "add", name, "--tag", "vip"], check=True,
                       capture_output=True)  # fmt: skip
    subprocess.run([crm, "customer", "add", "Lý Bình"], check=True, capture_output=True)
    result = subprocess.run(
        f"{crm} customer list --tag vip -f ids | {crm} customer edit - --add-tag 2027",
        shell=True,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == "Updated 2 customers: 1, 2\n"
    assert tags(db_path, 1) == {"vip", "2027"} and tags(db_path, 3) == set()
