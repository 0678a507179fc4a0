"""``crm customer import`` / ``export`` end to end, through CliRunner, on real SQLite files."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from crmcli.io import tabular
from tests.conftest import add, dump, exported


def count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM customers").fetchone()[0])
    finally:
        conn.close()


def write_csv(path: Path, rows: list[list[str]], *, bom: bool = False) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8"))
    return path


@pytest.fixture
def hostile(crm: Any) -> list[int]:
    """Customers whose text a round trip could damage."""
    return [
        add(crm, "Nguyễn Thị Ánh 🌸", "--email", "anh@example.vn", "--phone", "0912345678",
            "--company", "=HYPERLINK(\"http://evil\")", "--city", "Hà Nội",
            "--note", "line one\nline two\twith a tab\n\nend", "--tag", "vip", "--tag", "hcm",
            "--field", "size=L", "--field", "note.x=a=b", "--birthday", "1990-05-17"),
        add(crm, "Đặng Đức Mạnh 😀", "--phone", "+84 912 345 679", "--company", "+Plus Co",
            "--title", "-lead", "--source", "@referral", "--tag", "steel"),
        add(crm, "O'Brien, \"Jack\"", "--email", "jack@example.ie", "--address",
            "1 Main St\r\nDublin"),
    ]  # fmt: skip


# -- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl"])
def test_round_trip_into_a_fresh_database(crm, hostile, tmp_path: Path, fmt: str) -> None:
    before = exported(crm)
    out = tmp_path / f"customers.{fmt}"
    result = crm("customer", "export", "--output", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"Exported 3 customers to {out}\n"

    fresh = tmp_path / "fresh.db"
    result = crm("--db", str(fresh), "customer", "import", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == "Added 3, updated 0, unchanged 0, rejected 0\n"
    after = exported(crm, "--db", str(fresh))
    assert after == before
    assert after[0]["phone"] == "0912345678"  # text, leading zero kept
    assert after[0]["company"] == '=HYPERLINK("http://evil")'
    assert after[0]["notes"] == "line one\nline two\twith a tab\n\nend"
    assert after[0]["fields"] == {"note.x": "a=b", "size": "L"}
    assert after[0]["tags"] == ["hcm", "vip"]
    assert after[1]["phone"] == "+84912345679"
    assert after[1]["company"] == "+Plus Co"


def test_csv_export_neutralises_formulas_and_raw_does_not(crm, hostile) -> None:
    result = crm("customer", "export", "-f", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["company"] == '\'=HYPERLINK("http://evil")'
    assert rows[1]["company"] == "'+Plus Co"
    assert rows[1]["phone"] == "'+84912345679"
    assert rows[1]["title"] == "'-lead"
    assert rows[1]["source"] == "'@referral"
    assert rows[0]["name"] == "Nguyễn Thị Ánh 🌸"
    raw = list(csv.DictReader(io.StringIO(crm("customer", "export", "-f", "csv", "--raw").stdout)))
    assert raw[0]["company"] == '=HYPERLINK("http://evil")'
    assert raw[1]["phone"] == "+84912345679"
    tsv = crm("customer", "export", "-f", "tsv").stdout
    assert "\t+Plus Co\t" in tsv  # TSV and JSON are never altered
    as_json = exported(crm)
    assert (as_json[1]["company"], as_json[1]["title"]) == ("+Plus Co", "-lead")


def test_export_has_every_column_and_follows_the_filters(crm, hostile) -> None:
    from crmcli.core.customers import COLUMNS

    result = crm("customer", "export", "--tag", "steel")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert tuple(lines[0].split("\t")) == COLUMNS  # tsv off a terminal, like customer list
    assert len(lines) == 2 and "Đặng Đức Mạnh" in lines[1]
    assert [r["name"] for r in exported(crm)] == [
        "Nguyễn Thị Ánh 🌸", "Đặng Đức Mạnh 😀", "O'Brien, \"Jack\"",
    ]  # fmt: skip
    found = crm("customer", "export", "-f", "jsonl", "--search", "nguyen")
    assert [json.loads(x)["id"] for x in found.stdout.splitlines()] == [hostile[0]]


# -- export to a file -----------------------------------------------------------------------


def test_export_file_is_private_atomic_and_never_overwritten(crm, hostile, tmp_path) -> None:
    out = tmp_path / "out.json"
    assert crm("customer", "export", "-o", str(out)).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 3  # format from the extension

    out.write_text("keep me", encoding="utf-8")
    result = crm("customer", "export", "-o", str(out))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"crm: error: {out} exists; use --force to overwrite it\n"
    assert out.read_text(encoding="utf-8") == "keep me"

    result = crm("customer", "export", "-o", str(out), "--force", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    assert out.read_text(encoding="utf-8").startswith("id,uid,name,")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_atomic_output_removes_its_temporary_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    with pytest.raises(RuntimeError), tabular.atomic_output(target, force=False) as fh:
        fh.write("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_export_to_a_missing_folder(crm, hostile, tmp_path) -> None:
    result = crm("customer", "export", "-o", str(tmp_path / "nope" / "x.csv"))
    assert result.exit_code == 1
    assert "no folder" in result.stderr


# -- what import reads ---------------------------------------------------------------------


def test_bom_and_header_names_are_normalised(crm, tmp_path) -> None:
    src = write_csv(tmp_path / "bom.csv", [
        [" Full Name ", "E-Mail Address", "Mobile", "Organisation", "Job Title", "Street",
         "Town", "Country", "Date of Birth", "Note", "Lead Source", "Labels"],
        ["Trần Thị Bích", "bich@example.vn", "0987 654 321", "Bích Co", "CEO", "12 Lê Lợi",
         "Huế", "VN", "17/05/1990", "likes tea", "event", "VIP; Hue"],
    ], bom=True)  # fmt: skip
    result = crm("customer", "import", str(src))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "Added 1, updated 0, unchanged 0, rejected 0\n"
    [row] = exported(crm)
    assert row["name"] == "Trần Thị Bích"  # the BOM is not part of the first header
    assert (row["email"], row["phone"], row["company"], row["title"]) == (
        "bich@example.vn", "0987 654 321", "Bích Co", "CEO",
    )  # fmt: skip
    assert (row["address"], row["city"], row["country"]) == ("12 Lê Lợi", "Huế", "VN")
    assert (row["birthday"], row["notes"], row["source"]) == ("1990-05-17", "likes tea", "event")
    assert row["tags"] == ["hue", "vip"]


def test_google_contacts_export(crm, tmp_path) -> None:
    src = write_csv(tmp_path / "google.csv", [
        ["First Name", "Middle Name", "Last Name", "Nickname", "Birthday", "Notes", "Labels",
         "E-mail 1 - Label", "E-mail 1 - Value", "Phone 1 - Label", "Phone 1 - Value",
         "Organization Name", "Organization Title", "Address 1 - City", "Website 1 - Value"],
        ["An", "Văn", "Nguyễn", "", "1985-03-04", "", "* myContacts ::: * starred ::: Friends",
         "* Home", "an@gmail.com", "Mobile", "+84 90 123 4567", "Saigon Tech", "CTO",
         "Hồ Chí Minh", "https://an.example"],
        ["Bob", "", "Stone", "", "", "", "* myContacts ::: Trade Show 2024", "", "",
         "", "555-0100 11", "", "", "", ""],
    ])  # fmt: skip
    result = crm("customer", "import", str(src))
    assert result.exit_code == 0, result.stderr
    warning, summary = result.stderr.splitlines()
    assert warning.startswith("warning: ignored columns")
    assert "'Website 1 - Value'" in warning
    assert "Label" not in warning  # the kind of an e-mail or phone is not worth a warning
    assert "Nickname" not in warning  # nor a column with no data
    assert summary == "Added 2, updated 0, unchanged 0, rejected 0"
    an, bob = exported(crm)
    assert an["name"] == "An Văn Nguyễn"
    assert (an["email"], an["phone"], an["company"], an["title"], an["city"]) == (
        "an@gmail.com", "+84901234567", "Saigon Tech", "CTO", "Hồ Chí Minh",
    )  # fmt: skip
    assert an["tags"] == ["friends", "starred"]
    assert bob["name"] == "Bob Stone"
    assert bob["tags"] == ["trade-show-2024"]


def test_google_contacts_old_format_and_outlook(crm, tmp_path) -> None:
    google = write_csv(tmp_path / "old.csv", [
        ["Name", "Given Name", "Family Name", "Group Membership", "E-mail 1 - Value",
         "Organization 1 - Name", "Organization 1 - Title"],
        ["Chị Hoa", "Hoa", "Lê", "* myContacts ::: Khách sỉ", "hoa@example.vn", "Hoa Shop",
         "Owner"],
    ])  # fmt: skip
    outlook = write_csv(tmp_path / "outlook.csv", [
        ["First Name", "Last Name", "Company", "Job Title", "Business Street", "Business City",
         "E-mail Address", "Mobile Phone", "Birthday", "Categories"],
        ["Ann", "Lee", "Lee Ltd", "Buyer", "1 Road", "Leeds", "ann@lee.example", "07700 900123",
         "0/0/00", "Customers;Key"],
    ])  # fmt: skip
    assert crm("customer", "import", str(google)).exit_code == 0
    result = crm("customer", "import", str(outlook))
    assert result.exit_code == 0, result.stderr
    hoa, ann = exported(crm)
    assert (hoa["name"], hoa["company"], hoa["title"], hoa["tags"]) == (
        "Chị Hoa", "Hoa Shop", "Owner", ["khách-sỉ"],
    )  # fmt: skip
    assert (ann["name"], ann["company"], ann["address"], ann["city"]) == (
        "Ann Lee", "Lee Ltd", "1 Road", "Leeds",
    )  # fmt: skip
    assert ann["birthday"] is None  # Outlook's 0/0/00 means none
    assert ann["tags"] == ["customers", "key"]


def test_custom_field_columns(crm, tmp_path) -> None:
    src = write_csv(tmp_path / "f.csv", [
        ["name", "field.size", "field:Shoe", "fields"],
        ["A", "L", "42", '{"size": "XL", "color": "red"}'],
    ])  # fmt: skip
    assert crm("customer", "import", str(src)).exit_code == 0
    assert exported(crm)[0]["fields"] == {"color": "red", "size": "L", "Shoe": "42"}


def test_json_and_jsonl_input(crm, tmp_path) -> None:
    array = tmp_path / "a.json"
    array.write_text(json.dumps([
        {"name": "Json One", "email": "one@example.com", "tags": ["a", "b"],
         "fields": {"size": "M", "n": 3}, "phone": None, "id": 99},
        {"full_name": "Json Two", "labels": "c"},
    ], indent=2, ensure_ascii=False), encoding="utf-8")  # fmt: skip
    lines = tmp_path / "b.ndjson"
    lines.write_text(
        '{"name": "Line One", "email": "l1@example.com"}\n\n'
        '{"name": "Line Two", "unknown_thing": "x"}\n',
        encoding="utf-8",
    )
    result = crm("customer", "import", str(array))
    assert result.exit_code == 0, result.stderr
    result = crm("customer", "import", str(lines))
    assert result.exit_code == 0, result.stderr
    assert "'unknown_thing'" in result.stderr
    misnamed = tmp_path / "c.json"  # JSON Lines saved as .json
    misnamed.write_text('{"name": "Line Three"}\n', encoding="utf-8")
    assert crm("customer", "import", str(misnamed)).exit_code == 0
    rows = exported(crm)
    names = [r["name"] for r in rows]
    assert names == ["Json One", "Json Two", "Line One", "Line Two", "Line Three"]
    assert rows[0]["id"] == 1  # the id column of a file is ignored
    assert rows[0]["tags"] == ["a", "b"]
    assert rows[0]["fields"] == {"n": "3", "size": "M"}
    assert rows[1]["tags"] == ["c"]


def test_json_bad_items_and_bad_lines(crm, tmp_path, db_path) -> None:
    add(crm, "Existing")
    before = dump(db_path)
    array = tmp_path / "a.json"
    array.write_text('[{"name": "Ok"}, [1, 2], "text", {"email": "x@"}]', encoding="utf-8")
    result = crm("customer", "import", str(array))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "item 2: an array, not an object",
        "item 3: a str, not an object",
        "item 4: invalid email 'x@': There must be something after the @-sign.",
        "crm: error: 3 bad rows; nothing imported (use --skip-bad to import the good one)",
    ]
    lines = tmp_path / "b.jsonl"
    lines.write_text('{"name": "Ok"}\n{"name": \n[]\n', encoding="utf-8")
    result = crm("customer", "import", str(lines))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        "line 2: not valid JSON: Expecting value (column 10)",
        "line 3: an array, not an object",
    ]
    broken = tmp_path / "c.json"
    broken.write_text('[\n{"name": "Ok"},\n{"name": "A" "b"}\n]', encoding="utf-8")
    result = crm("customer", "import", str(broken))
    assert result.exit_code == 1
    assert result.stderr == (
        "crm: error: item 2 (line 3): invalid JSON: Expecting ',' delimiter; "
        "the file cannot be read past it\n"
    )
    assert dump(db_path) == before


def test_stdin_is_sniffed(crm) -> None:
    csv_text = "name,email\nStdin Csv,csv@example.com\n"
    json_text = ' \n [{"name": "Stdin Json"}]'
    jsonl_text = '{"name": "Stdin Jsonl"}\n'
    for text in (csv_text, json_text, jsonl_text):
        result = crm("customer", "import", "-", input=text)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == "Added 1, updated 0, unchanged 0, rejected 0\n"
    tsv = crm("customer", "export").stdout  # tsv
    result = crm("customer", "import", "-", input=tsv)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "Added 0, updated 0, unchanged 3, rejected 0\n"  # matched by uid
    assert [r["name"] for r in exported(crm)] == ["Stdin Csv", "Stdin Json", "Stdin Jsonl"]


def test_input_format_option_beats_the_extension(crm, tmp_path) -> None:
    src = tmp_path / "people.txt"
    src.write_text('{"name": "Typed"}\n', encoding="utf-8")
    result = crm("customer", "import", str(src), "--input-format", "jsonl")
    assert result.exit_code == 0, result.stderr
    result = crm("customer", "import", str(src), "--input-format", "xml")
    assert result.exit_code == 2
    assert "xml" in result.stderr


def test_semicolon_separated_csv(crm, tmp_path) -> None:
    src = tmp_path / "excel.csv"
    src.write_text("Name;Email\nHans Müller;hans@example.de\n", encoding="utf-8")
    assert crm("customer", "import", str(src)).exit_code == 0
    assert exported(crm)[0]["email"] == "hans@example.de"


def test_missing_file_and_not_utf8(crm, tmp_path, db_path) -> None:
    result = crm("customer", "import", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1
    assert result.stderr == f"crm: error: no file {tmp_path / 'nope.csv'}\n"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name\nJosé\n".encode("latin-1"))
    result = crm("customer", "import", str(latin))
    assert result.exit_code == 1
    assert "not UTF-8" in result.stderr
    assert count(db_path) == 0


# -- bad rows -------------------------------------------------------------------------------


def test_broken_csv_reports_lines_and_writes_nothing(crm, tmp_path, db_path) -> None:
    add(crm, "Existing", "--email", "good@example.com")
    before = dump(db_path)
    src = tmp_path / "broken.csv"
    src.write_text(
        "name,email,notes\n"
        "Good One,good@example.com,\n"
        'Two,two@example.com,"a note\non two lines"\n'
        "Too,Many,Cells,Here\n"
        "Few\n"
        "\n"
        ",bad@,\n"
        '"Unterminated,x@example.com,\n'
        "After,after@example.com,\n",
        encoding="utf-8",
    )
    result = crm("customer", "import", str(src))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "line 5: 4 cells, the header has 3",
        "line 6: 1 cell, the header has 3",
        "line 8: invalid email 'bad@': There must be something after the @-sign.",
        'line 9: a quoted cell is never closed (" missing); lines 9-10 could not be read',
        "crm: error: 4 bad rows; nothing imported (use --skip-bad to import the 2 good ones)",
    ]
    assert dump(db_path) == before
    assert count(db_path) == 1


def test_skip_bad_imports_the_good_rows_and_still_fails(crm, tmp_path, db_path) -> None:
    src = write_csv(tmp_path / "some.csv", [
        ["name", "email", "birthday"],
        ["Good", "good@example.com", "1990-01-02"],
        ["Bad Mail", "nope", ""],
        ["Future", "", "2090-01-01"],
        ["", "noname@example.com", ""],
        ["Also Good", "", ""],
    ])  # fmt: skip
    result = crm("customer", "import", str(src), "--skip-bad")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("line 3: invalid email 'nope': ")
    assert lines[1] == "line 4: invalid birthday '2090-01-01': is in the future"
    assert lines[2] == "line 5: no name; a new customer needs one"
    assert lines[3] == "Added 2, updated 0, unchanged 0, rejected 3"
    assert [r["name"] for r in exported(crm)] == ["Good", "Also Good"]


def test_a_megabyte_name_is_rejected_with_its_line(crm, tmp_path, db_path) -> None:
    src = write_csv(tmp_path / "huge.csv", [
        ["name", "email"], ["Fine", "fine@example.com"], ["x" * 1_000_000, "big@example.com"],
        ["Fine Too", ""],
    ])  # fmt: skip
    result = crm("customer", "import", str(src))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "line 3: invalid name 'xxxxxxxxxxxxxxxxxxxx': "
        "too long (1000000 characters; the limit is 200)"
    )
    assert len(result.stderr) < 500
    assert not db_path.exists() or count(db_path) == 0


def test_nothing_to_import_is_not_an_error(crm, tmp_path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("name,email\n", encoding="utf-8")
    result = crm("customer", "import", str(empty))
    assert result.exit_code == 0
    assert result.stderr == "Added 0, updated 0, unchanged 0, rejected 0\n"


# -- matching, dry run ------------------------------------------------------------------------


def test_reimport_updates_instead_of_duplicating(crm, tmp_path, db_path) -> None:
    rows = [["name", "email", "tags"], ["Ann", "ann@example.com", "a"], ["Ben", "ben@x.io", ""]]
    src = write_csv(tmp_path / "p.csv", rows)
    assert crm("customer", "import", str(src)).stderr.endswith(
        "Added 2, updated 0, unchanged 0, rejected 0\n"
    )
    result = crm("customer", "import", str(src))
    assert result.exit_code == 0
    assert result.stderr == "Added 0, updated 0, unchanged 2, rejected 0\n"
    assert count(db_path) == 2

    rows[1] = ["Ann Smith", "ANN@example.com", "b"]  # e-mail matched without case
    rows[2] = ["  ", "ben@x.io", ""]  # no name: an update keeps the stored one
    result = crm("customer", "import", str(write_csv(src, rows)))
    assert result.stderr == "Added 0, updated 1, unchanged 1, rejected 0\n"
    ann, ben = exported(crm)
    assert (ann["name"], ann["email"], ann["tags"]) == ("Ann Smith", "ANN@example.com", ["a", "b"])
    assert ann["updated_at"] == "2026-11-23T03:00:00Z"
    assert ben["name"] == "Ben"
    assert count(db_path) == 2


def test_match_phone_and_uid(crm, tmp_path, db_path) -> None:
    cid = add(crm, "Phone Person", "--phone", "0912345678", "--company", "Old")
    uid = exported(crm)[0]["uid"]
    src = write_csv(tmp_path / "p.csv", [["name", "phone", "company"], ["", "0912345678", "New"]])
    assert crm("customer", "import", str(src)).exit_code == 1  # by e-mail: no name to add
    result = crm("customer", "import", str(src), "--match", "email,phone")
    assert result.stderr == "Added 0, updated 1, unchanged 0, rejected 0\n"
    assert exported(crm)[0]["company"] == "New"

    by_uid = write_csv(tmp_path / "u.csv", [["uid", "name", "email"], [uid, "Renamed", "r@x.io"]])
    result = crm("customer", "import", str(by_uid))
    assert result.stderr == "Added 0, updated 1, unchanged 0, rejected 0\n"
    [row] = exported(crm)
    assert (row["id"], row["name"], row["email"]) == (cid, "Renamed", "r@x.io")

    result = crm("customer", "import", str(src), "--match", "name")
    assert result.exit_code == 2
    assert "--match" in result.stderr


def test_duplicates_inside_one_file_become_one_customer(crm, tmp_path, db_path) -> None:
    src = write_csv(tmp_path / "d.csv", [
        ["name", "email", "phone", "tags", "field.size"],
        ["Dup", "dup@example.com", "", "a", "S"],
        ["Other", "other@example.com", "", "", ""],
        ["Dup Again", "DUP@example.com", "0911222333", "b", ""],
        ["Dup Again", "DUP@example.com", "0911222333", "b", ""],
    ])  # fmt: skip
    result = crm("customer", "import", str(src))
    assert result.stderr == "Added 2, updated 1, unchanged 1, rejected 0\n"
    dup, other = exported(crm)
    assert (dup["name"], dup["email"], dup["phone"]) == (
        "Dup Again",
        "DUP@example.com",
        "0911222333",
    )
    assert dup["tags"] == ["a", "b"] and dup["fields"] == {"size": "S"}
    assert other["name"] == "Other"


def test_dry_run_writes_nothing(crm, tmp_path, db_path) -> None:
    src = write_csv(
        tmp_path / "p.csv", [["name", "email"], ["New", "new@x.io"], ["Old", "old@x.io"]]
    )
    result = crm("customer", "import", str(src), "--dry-run")
    assert result.exit_code == 0
    assert result.stderr == "Would add 2, update 0, leave 0 unchanged, reject 0\n"
    assert not db_path.exists()  # not even an empty database

    add(crm, "Old Name", "--email", "old@x.io")
    before = dump(db_path)
    result = crm("customer", "import", str(src), "--dry-run")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "Would add 1, update 1, leave 0 unchanged, reject 0\n"
    assert dump(db_path) == before

    bad = write_csv(tmp_path / "bad.csv", [["name", "email"], ["A", "a@x.io"], ["B", "b@"]])
    result = crm("customer", "import", str(bad), "--dry-run")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Would add 1, update 0, leave 0 unchanged, reject 1 "
        "(nothing would be imported without --skip-bad)"
    )
    assert dump(db_path) == before


def test_import_and_export_have_help_with_an_example(crm) -> None:
    for command in ("import", "export"):
        result = crm("customer", command, "--help")
        assert result.exit_code == 0
        assert "Example: crm customer " + command in result.stdout


# -- streaming ----------------------------------------------------------------------------------


def test_readers_stream(tmp_path) -> None:
    """The readers pull rows as they are asked for: an endless input still yields."""

    def endless_csv():
        yield "name,email\n"
        n = 0
        while True:
            n += 1
            yield f"P{n},p{n}@example.com\n"

    def endless_jsonl():
        while True:
            yield '{"name": "x"}\n'

    rows = tabular.read_csv(endless_csv())
    assert [next(rows) for _ in range(3)] == [
        (2, {"name": "P1", "email": "p1@example.com"}),
        (3, {"name": "P2", "email": "p2@example.com"}),
        (4, {"name": "P3", "email": "p3@example.com"}),
    ]
    lines = tabular.read_jsonl(endless_jsonl())
    assert next(lines) == (1, {"name": "x"})

    class Endless(io.TextIOBase):
        def __init__(self) -> None:
            self.sent = 0

        def read(self, size: int | None = -1) -> str:
            chunk = "[" if self.sent == 0 else ('{"name": "x"},' * 100)
            self.sent += 1
            return chunk

    array = tabular.read_json(Endless())  # type: ignore[arg-type]
    assert [next(array)[0] for _ in range(250)][-1] == 250


def test_open_input_sniffs_and_maps(tmp_path) -> None:
    path = tmp_path / "x.data"
    path.write_text('\ufeff  [ {"Full Name": "A", "E-mail": "a@x.io"} ]', encoding="utf-8")
    with tabular.open_input(str(path)) as source:
        assert source.fmt == "json"
        assert list(tabular.customer_records(source.records())) == [
            (1, {"name": "A", "email": "a@x.io"})
        ]
        assert source.position() == os.path.getsize(path)


def test_matches_are_found_in_and_across_batches(crm, tmp_path, monkeypatch) -> None:
    from crmcli.core import importer

    monkeypatch.setattr(importer.CustomerImport, "batch_rows", 3)
    rows = [["name", "email", "tags"]]
    rows += [[f"P{i}", f"p{i}@x.io", f"t{i % 2}"] for i in range(10)]
    rows += [["P3 again", "p3@x.io", "extra"], ["P9 again", "p9@x.io", ""]]
    result = crm("customer", "import", str(write_csv(tmp_path / "b.csv", rows)))
    assert result.stderr == "Added 10, updated 2, unchanged 0, rejected 0\n"
    found = exported(crm)
    assert [r["id"] for r in found] == list(range(1, 11))
    assert (found[3]["name"], found[3]["tags"]) == ("P3 again", ["extra", "t1"])  # was flushed
    assert (found[9]["name"], found[9]["tags"]) == ("P9 again", ["t1"])  # was still pending


def test_the_core_api_without_the_cli(tmp_path) -> None:
    from crmcli.core import importer, settings
    from crmcli.db import open_db

    db = open_db(tmp_path / "api.db", create=True)
    try:
        config = settings.load(db)
        records = [
            (1, {"name": "Api", "email": "api@x.io", "favourite": "blue", "tags": "a;b"}),
            (2, tabular.BadRow("2 cells, the header has 3")),
            (3, {"name": "Api Two", "field.size": "M"}),
        ]
        with pytest.raises(RuntimeError):  # writes need db.write()
            importer.import_customers(db, records, config)
        with pytest.raises(importer.ImportFailed) as failed, db.write():
            importer.import_customers(db, records, config)
        assert (
            str(failed.value)
            == "1 bad row; nothing imported (use --skip-bad to import the 2 good ones)"
        )
        assert db.scalar("SELECT count(*) FROM customers") == 0
        with db.write():
            report = importer.import_customers(db, records, config, skip_bad=True)
        assert (report.added, report.rejected) == (2, [(2, "2 cells, the header has 3")])
        assert report.ignored_columns == ["favourite"]
        with pytest.raises(importer.DryRun) as dry, db.write():
            importer.import_customers(db, records[:1], config, dry_run=True)
        assert (dry.value.report.added, dry.value.report.unchanged) == (0, 1)
        assert db.scalar("SELECT count(*) FROM customers") == 2
        assert importer.parse_match(" Phone, email ,phone") == ("phone", "email")
    finally:
        db.close()
