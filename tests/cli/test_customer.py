"""``crm customer …`` in-process: exit codes, stdout and stderr apart, the database after."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import dump


def add(crm, *args: str) -> int:
    result = crm("customer", "add", *args)
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


@pytest.fixture
def people(crm) -> dict[str, int]:
    return {
        "an": add(crm, "Nguyễn Văn An", "--email", "An.Nguyen@Example.VN",
                  "--company", "Saigon Tech", "--city", "Hồ Chí Minh",
                  "--tag", "VIP", "--tag", "hcm"),
        "duc": add(crm, "Lê Đức Minh", "--phone", "0912 345 678", "--company", "Đà Nẵng Steel",
                   "--tag", "steel"),
        "anna": add(crm, "Anna Schmidt", "--email", "anna@example.de", "--city", "Berlin",
                    "--birthday", "29/02/1988", "--field", "size=L"),
    }  # fmt: skip


def test_add_prints_only_the_id(crm, db_path: Path) -> None:
    result = crm("customer", "add", "Trần Thị Bích", "--email", "bich@example.vn")
    assert result.exit_code == 0
    assert result.stdout == "1\n"
    assert "Added customer 1" in result.stderr
    assert db_path.exists()


def test_list_tsv_is_the_default_off_a_terminal(crm, people) -> None:
    result = crm("customer", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    header = lines[0].split("\t")
    assert header[:3] == ["id", "uid", "name"]
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    assert [r["name"] for r in rows] == ["Nguyễn Văn An", "Lê Đức Minh", "Anna Schmidt"]
    assert rows[0]["email"] == "An.Nguyen@example.vn"  # domain lower-cased, local part kept
    assert rows[0]["tags"] == "hcm,vip"
    assert rows[1]["phone"] == "0912 345 678"  # no default country: kept as typed
    assert rows[2]["birthday"] == "1988-02-29"
    assert json.loads(rows[2]["fields"]) == {"size": "L"}
    assert result.stderr == ""


def test_every_format(crm, people) -> None:
    as_json = json.loads(crm("customer", "list", "-f", "json").stdout)
    assert [r["id"] for r in as_json] == list(people.values())
    assert as_json[0]["tags"] == ["hcm", "vip"]
    assert as_json[2]["fields"] == {"size": "L"}
    assert set(as_json[0]) == {
        "id", "uid", "name", "email", "phone", "company", "title", "address", "city", "country",
        "birthday", "source", "notes", "tags", "fields", "last_contacted", "created_at",
        "updated_at",
    }  # fmt: skip
    lines = crm("customer", "list", "-f", "jsonl").stdout.splitlines()
    assert [json.loads(x)["name"] for x in lines] == [r["name"] for r in as_json]
    assert crm("customer", "list", "-f", "ids").stdout == "1\n2\n3\n"
    rows = list(csv.DictReader(io.StringIO(crm("customer", "list", "-f", "csv").stdout)))
    assert rows[0]["name"] == "Nguyễn Văn An"
    table = crm("customer", "list", "-f", "table").stdout
    assert "Nguyễn Văn An" in table and "Last contacted" in table


def test_search_folds_case_and_vietnamese_accents(crm, people) -> None:
    def ids(term: str) -> list[int]:
        result = crm("customer", "list", "--search", term, "-f", "ids")
        assert result.exit_code == 0, result.stderr
        return [int(x) for x in result.stdout.split()]

    assert ids("nguyen") == [people["an"]]
    assert ids("NGUYỄN") == [people["an"]]
    assert ids("duc") == [people["duc"]]
    assert ids("đức") == [people["duc"]]
    assert ids("da nang") == [people["duc"]]
    assert ids("schm") == [people["anna"]]  # prefix
    assert ids("example.de") == [people["anna"]]
    assert ids("nobody") == []
    crm("customer", "log", str(people["anna"]), "--type", "call", "Wants bánh mì catalogue")
    assert ids("banh mi") == [people["anna"]]


def test_filters_and_sort(crm, people) -> None:
    def ids(*args: str) -> list[int]:
        return [int(x) for x in crm("customer", "list", *args, "-f", "ids").stdout.split()]

    assert ids("--tag", "vip") == [people["an"]]
    assert ids("--tag", "VIP", "--tag", "hcm") == [people["an"]]
    assert ids("--company", "steel") == [people["duc"]]
    assert ids("--city", "berlin") == [people["anna"]]
    assert ids("--sort", "name") == [people["anna"], people["duc"], people["an"]]
    assert ids("--sort", "-id", "--limit", "2") == [people["anna"], people["duc"]]


def test_unknown_sort_field_is_a_usage_error(crm, people) -> None:
    result = crm("customer", "list", "--sort", "name; DROP TABLE customers")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "--sort" in result.stderr and "sort by one of" in result.stderr


def test_show_has_fields_tags_and_timeline(crm, people) -> None:
    cid = str(people["an"])
    crm("customer", "log", cid, "--type", "call", "First call", "--at", "2026-11-01 09:00")
    crm("customer", "log", cid, "--type", "meeting", "Demo at their office", "--at", "yesterday")
    record = json.loads(crm("customer", "show", cid, "-f", "json").stdout)
    assert record["name"] == "Nguyễn Văn An"
    assert record["tags"] == ["hcm", "vip"]
    assert [i["body"] for i in record["interactions"]] == ["Demo at their office", "First call"]
    assert record["interactions"][1]["happened_at"] == "2026-11-01T02:00:00Z"  # 09:00 at UTC+7
    assert record["last_contacted"] == record["interactions"][0]["happened_at"]
    card = crm("customer", "show", cid, "-f", "table").stdout
    assert "Interactions (2)" in card and "Demo at their office" in card


def test_edit_fields_tags_custom_fields_and_unset(crm, people) -> None:
    cid = str(people["anna"])
    result = crm("customer", "edit", cid, "--phone", "+49 30 1234567", "--add-tag", "print",
                 "--field", "shoe=42", "--unset", "size", "--unset", "email")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    record = json.loads(crm("customer", "show", cid, "-f", "json").stdout)
    assert record["phone"] == "+49301234567"
    assert record["email"] is None
    assert record["fields"] == {"shoe": "42"}
    assert record["tags"] == ["print"]
    crm("customer", "edit", cid, "--remove-tag", "print")
    assert json.loads(crm("customer", "show", cid, "-f", "json").stdout)["tags"] == []


def test_delete_needs_yes_off_a_terminal(crm, people, db_path: Path) -> None:
    before = dump(db_path)
    result = crm("customer", "delete", str(people["an"]))
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert dump(db_path) == before
    result = crm("customer", "delete", str(people["an"]), "--yes")
    assert result.exit_code == 0
    assert crm("customer", "show", str(people["an"])).exit_code == 1


def test_unknown_id(crm, people, db_path: Path) -> None:
    before = dump(db_path)
    for args in (("show", "42"), ("edit", "42", "--city", "Huế"), ("delete", "42", "--yes"),
                 ("log", "42", "hello")):  # fmt: skip
        result = crm("customer", *args)
        assert result.exit_code == 1, args
        assert result.stderr == "crm: error: no customer 42\n"
        assert result.stdout == ""
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--email", "not-an-email"), "email"),
        (("--email", "an@"), "email"),
        (("--phone", "call me maybe"), "phone"),
        (("--birthday", "31/02/1990"), "birthday"),
        (("--birthday", "13/13/1990"), "birthday"),
        (("--birthday", "03/04/90"), "birthday"),
        (("--birthday", "tomorrow"), "future"),
        (("--tag", "two words"), "tag"),
        (("--field", "novalue"), "--field"),
        (("--company", "two\nlines"), "one line"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(crm, people, db_path, args, needle) -> None:
    before = dump(db_path)
    result = crm("customer", "add", "Phạm Thị Hoa", *args)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("crm: error: ")
    assert needle in result.stderr
    assert dump(db_path) == before


def test_empty_name_and_huge_field(crm, db_path) -> None:
    assert crm("customer", "add", "   ").exit_code == 2
    result = crm("customer", "add", "An", "--note", "x" * 1_000_000)
    assert result.exit_code == 2
    assert "too long" in result.stderr and len(result.stderr) < 300
    assert not db_path.exists() or dump(db_path) == [] or "customers" not in str(dump(db_path))


def test_emoji_markup_and_control_characters_are_shown_not_obeyed(crm) -> None:
    cid = add(crm, "Bảo 🚀 [bold]Boss[/bold]", "--note", "evil \x1b[2J clear \u202e and \r CR")
    record = json.loads(crm("customer", "show", str(cid), "-f", "json").stdout)
    assert record["name"] == "Bảo 🚀 [bold]Boss[/bold]"  # stored as typed (NFC)
    assert "\x1b[2J" in record["notes"]
    card = crm("customer", "show", str(cid), "-f", "table").stdout
    assert "[bold]Boss[/bold]" in card
    assert "\x1b" not in card and "\u202e" not in card and "\r" not in card
    assert "\\x1b[2J" in card and "\\u202e" in card


def test_log_types_and_dates(crm, people, db_path) -> None:
    cid = str(people["duc"])
    result = crm("customer", "log", cid, "--type", "email", "Sent the quote")
    assert result.exit_code == 0 and result.stdout.strip().isdigit()
    before = dump(db_path)
    bad = crm("customer", "log", cid, "--type", "fax", "hello")
    assert bad.exit_code == 2 and "--type" in bad.stderr
    bad = crm("customer", "log", cid, "hello", "--at", "the day after never")
    assert bad.exit_code == 2 and "--at" in bad.stderr
    assert dump(db_path) == before


def test_dupes_and_merge(crm, people) -> None:
    twin = add(crm, "nguyen van an", "--email", "an.nguyen@example.vn", "--company", "Saigon Tech",
               "--tag", "lead", "--field", "size=M")  # fmt: skip
    crm("customer", "log", str(twin), "Met at the fair")
    pairs = json.loads(crm("customer", "dupes", "-f", "json").stdout)
    assert pairs == [
        {"keep": people["an"], "other": twin,
         "reasons": ["same email", "similar name and company"]},
    ]  # fmt: skip
    assert crm("customer", "merge", str(people["an"]), str(twin)).exit_code == 2  # needs --yes
    result = crm("customer", "merge", str(people["an"]), str(twin), "--yes")
    assert result.exit_code == 0, result.stderr
    record = json.loads(crm("customer", "show", str(people["an"]), "-f", "json").stdout)
    assert record["tags"] == ["hcm", "lead", "vip"]
    assert record["fields"] == {"size": "M"}
    assert [i["body"] for i in record["interactions"]] == ["Met at the fair"]
    assert crm("customer", "show", str(twin)).exit_code == 1
    assert json.loads(crm("customer", "dupes", "-f", "json").stdout) == []


def test_read_command_on_missing_database(crm, db_path: Path) -> None:
    result = crm("customer", "list")
    assert result.exit_code == 1
    assert "no database at" in result.stderr
    assert not db_path.exists()


def test_groups_show_help(crm) -> None:
    for group in ("customer", "lead", "deal", "ticket", "remind", "report"):
        result = crm(group, "--help")
        assert result.exit_code == 0 and "Usage" in result.stdout
    assert crm("--version").stdout.startswith("crm ")


def test_birthday_without_a_year(crm) -> None:
    cid = add(crm, "Võ Thị Sáu", "--birthday", "--05-17")
    assert json.loads(crm("customer", "show", str(cid), "-f", "json").stdout)["birthday"] == (
        "--05-17"
    )
    assert add(crm, "Leap", "--birthday", "--02-29")
    bad = crm("customer", "add", "Nope", "--birthday", "--02-30")
    assert bad.exit_code == 2 and "no such day" in bad.stderr


def test_search_lists_whole_words_first_then_prefixes(crm) -> None:
    anna = add(crm, "Anna Schmidt", "--tag", "de")
    an = add(crm, "Trần An", "--tag", "vn")
    andrea = add(crm, "Andrea Rossi", "--tag", "vn")

    def ids(*args: str) -> list[int]:
        result = crm("customer", "list", "--search", "an", *args, "-f", "ids")
        assert result.exit_code == 0, result.stderr
        return [int(x) for x in result.stdout.split()]

    assert ids() == [an, anna, andrea]
    assert ids("--limit", "1") == [an]
    assert ids("--limit", "2") == [an, anna]
    assert ids("--sort", "id") == [anna, an, andrea]
    assert ids("--tag", "vn") == [an, andrea]
    assert ids("--tag", "de", "--sort", "-name") == [anna]


def test_numeric_dates_follow_the_configured_order(crm) -> None:
    cid = str(add(crm, "Hồ Xuân Hương", "--birthday", "03/04/1990"))
    assert json.loads(crm("customer", "show", cid, "-f", "json").stdout)["birthday"] == (
        "1990-04-03"
    )
    assert crm("config", "set", "date_order", "MDY").exit_code == 0
    assert crm("config", "get", "date_order").stdout == "MDY\n"
    crm("customer", "edit", cid, "--birthday", "03/04/1990")
    assert json.loads(crm("customer", "show", cid, "-f", "json").stdout)["birthday"] == (
        "1990-03-04"
    )
    bad = crm("customer", "edit", cid, "--birthday", "13/01/1990")
    assert bad.exit_code == 2 and "month-first" in bad.stderr
    assert crm("config", "set", "date_order", "sideways").exit_code == 2
    assert crm("config", "set", "colour", "blue").exit_code == 2


def test_default_country_makes_phones_e164(crm) -> None:
    crm("config", "set", "country", "vn")
    cid = str(add(crm, "Lý Thường Kiệt", "--phone", "0912 345 678"))
    assert json.loads(crm("customer", "show", cid, "-f", "json").stdout)["phone"] == (
        "+84912345678"
    )
    bad = crm("customer", "add", "X", "--phone", "0123")
    assert bad.exit_code == 2 and "phone" in bad.stderr


def test_text_is_stored_nfc(crm, db_path: Path) -> None:
    import sqlite3
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    cid = add(crm, decomposed, "--company", unicodedata.normalize("NFD", "Đà Lạt Café"))
    conn = sqlite3.connect(db_path)
    name, company = conn.execute(
        "SELECT name, company FROM customers WHERE id = ?", (cid,)
    ).fetchone()
    conn.close()
    assert name == "Nguyễn Thị Ánh" and unicodedata.is_normalized("NFC", name)
    assert company == "Đà Lạt Café"
    assert crm("customer", "list", "--search", "anh", "-f", "ids").stdout == f"{cid}\n"


def test_sort_by_last_contact_with_a_limit(crm, people) -> None:
    crm("customer", "log", str(people["anna"]), "Call", "--at", "2026-11-01 09:00")
    crm("customer", "log", str(people["duc"]), "Call", "--at", "2026-11-20 09:00")

    def ids(*args: str) -> list[int]:
        return [int(x) for x in crm("customer", "list", *args, "-f", "ids").stdout.split()]

    assert ids("--sort", "-last_contacted", "--limit", "2") == [people["duc"], people["anna"]]
    assert ids("--sort", "last_contacted") == [people["an"], people["anna"], people["duc"]]
    assert ids("--sort", "-last_contacted", "--search", "an", "--limit", "1") == [people["anna"]]


def test_currency_setting_is_checked_against_iso_4217(crm) -> None:
    assert crm("config", "set", "currency", "vnd").exit_code == 0
    assert crm("config", "get", "currency").stdout == "VND\n"
    bad = crm("config", "set", "currency", "XYZ")
    assert bad.exit_code == 2 and "currency" in bad.stderr


def test_demo_fills_once_and_never_mixes_with_real_data(crm, tmp_path: Path) -> None:
    demo_db = str(tmp_path / "demo.db")
    first = crm("--db", demo_db, "demo", "-f", "json")
    assert first.exit_code == 0, first.stderr
    stages = {r["stage"] for r in json.loads(first.stdout)}
    assert stages == {"new", "qualified", "proposal", "negotiation"}
    listed = crm("--db", demo_db, "customer", "list", "-f", "json")
    names = [r["name"] for r in json.loads(listed.stdout)]
    assert len(names) >= 20 and "Nguyễn Văn An" in names and "Lê Đức Minh" in names
    deals = json.loads(crm("--db", demo_db, "deal", "list", "-f", "json").stdout)
    assert {d["status"] for d in deals} == {"open", "won", "lost"}
    assert {d["currency"] for d in deals} == {"VND", "EUR", "USD"}
    leads = json.loads(crm("--db", demo_db, "lead", "list", "-f", "json").stdout)
    assert {lead["status"] for lead in leads} == {"new", "contacted", "qualified", "converted",
                                                  "lost"}  # fmt: skip
    erp = next(d for d in deals if d["title"].startswith("ERP"))
    assert (erp["amount"], erp["currency"]) == (465_000_000, "VND")  # the sum of its items
    again = crm("--db", demo_db, "demo", "-f", "tsv")
    assert again.exit_code == 0 and again.stdout == crm("--db", demo_db, "deal", "pipeline").stdout
    assert "already holds the sample data" in again.stderr
    board = crm("--db", demo_db, "demo", "-f", "table").stdout
    assert "negotiation (75 %)" in board and "ERP module, 20 seats" in board
    add(crm, "A real customer")
    mixed = crm("demo")
    assert mixed.exit_code == 1 and "--db demo.db" in mixed.stderr
    assert crm("customer", "list", "-f", "ids").stdout == "1\n"


def test_merge_keeps_the_other_customers_tickets_and_reminders(crm) -> None:
    import json

    keep = int(crm("customer", "add", "Nguyễn Văn An").stdout)
    other = int(crm("customer", "add", "Nguyen Van An").stdout)
    assert crm("ticket", "open", str(other), "Máy in hỏng").exit_code == 0
    assert (
        crm("remind", "add", "Gọi lại", "--at", "tomorrow", "--customer", str(other)).exit_code == 0
    )
    assert crm("customer", "merge", str(keep), str(other), "--yes").exit_code == 0
    shown = json.loads(crm("customer", "show", str(keep), "-f", "json").stdout)
    assert [t["subject"] for t in shown["tickets"]] == ["Máy in hỏng"]
    assert [r["text"] for r in shown["reminders"]] == ["Gọi lại"]


def test_dupes_phones_international_match_whole_local_by_last_digits(crm) -> None:
    add(crm, "Siobhán Murphy", "--phone", "+353 1 234 5678")
    add(crm, "Sato Haruto", "--phone", "+81 3 1234 5678")  # same last 9 digits
    local = add(crm, "Lê Hoa", "--phone", "0912 345 678")
    written = add(crm, "Lê Thị Hoa", "--phone", "84 912 345 678")  # no +: by its last digits
    pairs = json.loads(crm("customer", "dupes", "-f", "json").stdout)
    assert pairs == [{"keep": local, "other": written, "reasons": ["same phone"]}]


def test_adding_a_known_email_or_phone_warns_and_names_the_customer(crm, db_path) -> None:
    assert crm("config", "set", "country", "VN").exit_code == 0
    first = add(crm, "Nguyễn Văn An", "--email", "an@example.vn", "--phone", "0912 345 678")
    result = crm("customer", "add", "Nguyen Van An", "--email", "AN@example.vn")
    assert result.exit_code == 0 and result.stdout == "2\n"  # still added; stdout the id only
    assert result.stderr.splitlines() == [
        "Added customer 2: Nguyen Van An",
        f"warning: same e-mail as customer {first} (Nguyễn Văn An); added anyway "
        f"(one person? crm customer merge {first} 2)",
    ]
    by_phone = crm("customer", "add", "Anh An", "--phone", "+84 912 345 678")
    assert by_phone.stdout == "3\n"
    assert "warning: same phone as customer 1 (Nguyễn Văn An)" in by_phone.stderr
    both = crm("customer", "add", "An again", "--email", "an@example.vn", "--phone", "0912345678")
    warnings = [line for line in both.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: same e-mail and phone as customer 1 (Nguyễn Văn An); added anyway "
        "(one person? crm customer merge 1 4)",
        "warning: same e-mail as customer 2 (Nguyen Van An); added anyway "
        "(one person? crm customer merge 2 4)",
        "warning: same phone as customer 3 (Anh An); added anyway "
        "(one person? crm customer merge 3 4)",
    ]
    fresh = crm("customer", "add", "Lê Hoa", "--email", "hoa@example.vn")
    assert fresh.stderr == "Added customer 5: Lê Hoa\n"


def test_text_filters_ignore_case_and_accents_as_search_does(crm) -> None:
    hanoi = add(crm, "Trần Thị Bích", "--city", "Hà Nội", "--company", "Công ty Đại Phát")
    add(crm, "Lê Văn Tám", "--city", "Huế", "--company", "Minh Long")

    def ids(*args: str) -> list[int]:
        result = crm("customer", "list", *args, "-f", "ids")
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
        return [int(x) for x in result.stdout.split()]

    for city in ("ha noi", "HÀ NỘI", "hà", "Ha No"):
        assert ids("--city", city) == [hanoi], city
    assert ids("--company", "dai phat") == [hanoi]
    assert ids("--company", "DAI", "--city", "ha noi") == [hanoi]
    assert ids("--city", "noi ha") == []  # the words in their order
    bad = crm("customer", "list", "--city", "--!")
    assert (bad.exit_code, bad.stdout) == (2, "")
    assert bad.stderr == "crm: error: invalid --city '--!': must hold letters or digits\n"


def test_phone_search_takes_the_number_as_people_type_it(crm) -> None:
    assert crm("config", "set", "country", "VN").exit_code == 0
    cid = add(crm, "Phạm Minh", "--phone", "+84912345678")
    add(crm, "Someone Else", "--phone", "+84987654321")
    for typed in ("0912 345 678", "0912345678", "+84 91 234 5678", "84912345678"):
        result = crm("customer", "list", "--search", typed, "-f", "ids")
        assert (result.exit_code, result.stdout, result.stderr) == (0, f"{cid}\n", ""), typed


def test_sort_follows_vietnamese_alphabetical_order(crm) -> None:
    names = ["Trần An", "Đặng Bình", "Dương Cúc", "Ánh", "Anh", "Ăn"]
    cities = ["Huế", "Hà Nội", None, "Đà Nẵng", "Cần Thơ", "Hà Nội"]
    for name, city in zip(names, cities, strict=True):
        add(crm, name, *(("--city", city) if city else ()))
    by_name = crm("customer", "list", "--sort", "name", "-f", "json")
    assert by_name.exit_code == 0, by_name.stderr
    assert [r["name"] for r in json.loads(by_name.stdout)] == [
        "Anh", "Ánh", "Ăn", "Dương Cúc", "Đặng Bình", "Trần An",
    ]  # fmt: skip
    for limit in ((), ("--limit", "6")):
        by_city = crm("customer", "list", "--sort", "city", *limit, "-f", "json")
        assert [r["city"] for r in json.loads(by_city.stdout)] == [
            "Cần Thơ", "Đà Nẵng", "Hà Nội", "Hà Nội", "Huế", None,
        ]  # fmt: skip
    down = crm("customer", "list", "--sort", "-name", "--limit", "2", "-f", "json")
    assert [r["name"] for r in json.loads(down.stdout)] == ["Trần An", "Đặng Bình"]


def test_an_edit_keeps_the_sort_key_right(crm, db_path: Path) -> None:
    from crmcli.text import sort_key
    from tests.conftest import query

    cid = add(crm, "Trần An", "--company", "Minh Long")
    assert (
        crm("customer", "edit", str(cid), "--name", "Đặng An", "--unset", "company").exit_code == 0
    )
    assert query(db_path, "SELECT sort_name, sort_company FROM customers") == [
        (sort_key("Đặng An"), None)
    ]


@pytest.mark.parametrize("key", ["smtp_password_file", "imap_password_file", "seller_logo"])
@pytest.mark.parametrize(
    "name", ["9" * 5000 + ".png", "~no-such-user-here/logo.png", "missing.png", "dir/"]
)
def test_a_file_setting_refuses_a_name_it_cannot_look_up(
    crm, tmp_path: Path, key: str, name: str
) -> None:
    (tmp_path / "dir").mkdir()
    result = crm("config", "set", key, str(tmp_path / name) if name[0] not in "9~" else name)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "no such file" in result.stderr or "a PNG or JPEG file" in result.stderr
    assert crm("config", "get", key).stdout.strip() in ("", "(not set)")


@pytest.mark.parametrize(
    "args",
    [
        ("config", "set", "smtp_port", "9" * 5000),
        ("config", "set", "send_rate", "9" * 5000),
        ("customer", "unsubscribe", "9" * 5000),
        ("customer", "nps", "1", "9" * 5000),
        ("segment", "show", "9" * 5000),
        ("segment", "add", "big", "--won-deals-min", "9" * 5000),
    ],
    ids=["port", "rate", "unsubscribe", "nps", "segment", "criterion"],
)
def test_a_number_of_thousands_of_digits_is_one_line(crm, db_path: Path, args: tuple) -> None:
    """Python refuses to convert integers of over 4,300 digits: such input is refused
    like any other bad number, never a traceback."""
    add(crm, "Khách Một", "--email", "mot@example.com")
    before = dump(db_path)
    result = crm(*args)
    assert result.exit_code in (1, 2), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert dump(db_path) == before
