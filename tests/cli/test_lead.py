"""``crm lead …`` in-process: exit codes, stdout and stderr apart, the database after."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import dump, query

NOW_UTC = "2026-11-23T03:00:00Z"  # conftest's CRM_NOW (10:00 at UTC+7)


def new_id(result: Any) -> int:
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


def add(crm: Any, *args: str) -> int:
    return new_id(crm("lead", "add", *args))


def shown(crm: Any, lead_id: int) -> dict[str, Any]:
    result = crm("lead", "show", str(lead_id), "-f", "json")
    assert result.exit_code == 0, result.stderr
    record: dict[str, Any] = json.loads(result.stdout)
    return record


def history(crm: Any, lead_id: int) -> list[tuple[str | None, str, str | None]]:
    return [
        (c["from_status"], c["to_status"], c["reason"])
        for c in shown(crm, lead_id)["status_changes"]
    ]


def ids(crm: Any, *args: str) -> list[int]:
    result = crm("lead", "list", *args, "-f", "ids")
    assert result.exit_code == 0, result.stderr
    return [int(x) for x in result.stdout.split()]


def one_error_line(result: Any, code: int) -> None:
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("crm: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


@pytest.fixture
def leads(crm: Any) -> dict[str, int]:
    return {
        "hoa": add(crm, "Nguyễn Thị Hoa", "--email", "Hoa@Example.VN", "--company", "Hoa Shop",
                   "--source", "event", "--score", "70", "--tag", "VIP", "--tag", "fair-2026"),
        "duc": add(crm, "Lê Đức Minh", "--phone", "0912 345 678", "--source", "web",
                   "--score", "40", "--title", "CTO", "--note", "Asked about steel prices"),
        "anna": add(crm, "Anna Schmidt", "--email", "anna@example.de", "--source", "referral",
                    "--tag", "de"),
    }  # fmt: skip


# -- add, list, show ----------------------------------------------------------------------


def test_add_prints_only_the_id_and_starts_new(crm, db_path: Path) -> None:
    result = crm("lead", "add", "Võ Minh Tuấn", "--email", "tuan@example.vn", "--source", "web")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "1\n"
    assert result.stderr == "Added lead 1: Võ Minh Tuấn\n"
    record = shown(crm, 1)
    assert (record["status"], record["source"], record["score"]) == ("new", "web", None)
    assert record["status_changed_at"] == record["created_at"] == NOW_UTC
    assert history(crm, 1) == [(None, "new", None)]
    assert query(db_path, "SELECT from_status, to_status, at FROM lead_status_changes") == [
        (None, "new", NOW_UTC)
    ]


def test_list_columns_and_every_format(crm, leads) -> None:
    from crmcli.core.leads import COLUMNS

    result = crm("lead", "list")  # tsv off a terminal
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert tuple(lines[0].split("\t")) == COLUMNS
    rows = [dict(zip(COLUMNS, line.split("\t"), strict=True)) for line in lines[1:]]
    assert [r["name"] for r in rows] == ["Nguyễn Thị Hoa", "Lê Đức Minh", "Anna Schmidt"]
    assert rows[0]["email"] == "Hoa@example.vn"  # domain lower-cased, as for customers
    assert rows[0]["tags"] == "fair-2026,vip"
    assert rows[1]["phone"] == "0912 345 678"
    as_json = json.loads(crm("lead", "list", "-f", "json").stdout)
    assert set(as_json[0]) == set(COLUMNS) == {
        "id", "uid", "name", "email", "phone", "company", "title", "source", "score", "status",
        "lost_reason", "tags", "notes", "customer_id", "deal_id", "last_contacted",
        "converted_at", "status_changed_at", "created_at", "updated_at",
    }  # fmt: skip
    assert as_json[0]["score"] == 70 and as_json[0]["tags"] == ["fair-2026", "vip"]
    jsonl = crm("lead", "list", "-f", "jsonl").stdout.splitlines()
    assert [json.loads(x)["id"] for x in jsonl] == list(leads.values())
    assert crm("lead", "list", "-f", "ids").stdout == "1\n2\n3\n"
    from_csv = list(csv.DictReader(io.StringIO(crm("lead", "list", "-f", "csv").stdout)))
    assert from_csv[1]["title"] == "CTO"
    table = crm("lead", "list", "-f", "table").stdout
    assert "Nguyễn Thị Hoa" in table and "Last contacted" in table


def test_filters_sort_and_limit(crm, leads) -> None:
    assert ids(crm, "--status", "new") == [1, 2, 3]
    assert ids(crm, "--source", "event") == [leads["hoa"]]
    assert ids(crm, "--source", "event", "--source", "Web") == [leads["hoa"], leads["duc"]]
    assert ids(crm, "--tag", "vip") == [leads["hoa"]]
    assert ids(crm, "--sort", "-score") == [leads["hoa"], leads["duc"], leads["anna"]]
    assert ids(crm, "--sort", "-score", "--limit", "1") == [leads["hoa"]]
    assert ids(crm, "--sort", "name") == [leads["anna"], leads["duc"], leads["hoa"]]
    crm("lead", "status", str(leads["duc"]), "qualified")
    assert ids(crm, "--status", "qualified") == [leads["duc"]]
    assert ids(crm, "--status", "new", "--status", "qualified", "--tag", "de") == [leads["anna"]]
    assert crm("lead", "list", "--status", "lost", "-f", "table").stderr == "no leads match\n"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--status", "hot"), "--status"),
        (("--source", "tv"), "--source"),
        (("--sort", "name; DROP TABLE leads"), "--sort"),
        (("--tag", "two words"), "tag"),
        (("--search", "  "), "--search"),
    ],
)
def test_bad_list_options_are_usage_errors(crm, leads, args, needle) -> None:
    result = crm("lead", "list", *args)
    one_error_line(result, 2)
    assert needle in result.stderr


def test_search_folds_case_and_vietnamese_accents(crm, leads) -> None:
    def found(term: str) -> list[int]:
        return ids(crm, "--search", term)

    assert found("nguyen") == [leads["hoa"]]
    assert found("NGUYỄN") == [leads["hoa"]]
    assert found("duc") == [leads["duc"]]
    assert found("đức") == [leads["duc"]]
    assert found("schm") == [leads["anna"]]  # prefix
    assert found("steel") == [leads["duc"]]  # notes
    assert found("hoa shop") == [leads["hoa"]]  # company
    assert found("nobody") == []
    crm("lead", "log", str(leads["anna"]), "Wants the bánh mì catalogue")
    assert found("banh mi") == [leads["anna"]]  # interactions
    assert found("banh") == [leads["anna"]]
    assert ids(crm, "--search", "nguyen", "--status", "contacted") == []
    assert ids(crm, "--search", "example", "--sort", "-id") == [leads["anna"], leads["hoa"]]


def test_search_lists_whole_words_first_then_prefixes(crm) -> None:
    anna = add(crm, "Anna Schmidt")
    an = add(crm, "Trần An")
    assert ids(crm, "--search", "an") == [an, anna]
    assert ids(crm, "--search", "an", "--limit", "1") == [an]


def test_show_has_fields_interactions_and_status_history(crm, leads) -> None:
    lid = str(leads["duc"])
    crm("lead", "log", lid, "--type", "call", "First call", "--at", "2026-11-01 09:00")
    crm("lead", "log", lid, "--type", "meeting", "Demo at their office", "--at", "yesterday")
    crm("lead", "status", lid, "qualified", "--reason", "budget confirmed")
    record = shown(crm, leads["duc"])
    assert record["name"] == "Lê Đức Minh" and record["title"] == "CTO"
    assert [i["body"] for i in record["interactions"]] == ["Demo at their office", "First call"]
    assert record["interactions"][1]["happened_at"] == "2026-11-01T02:00:00Z"  # 09:00 at UTC+7
    assert record["last_contacted"] == record["interactions"][0]["happened_at"]
    assert history(crm, leads["duc"]) == [
        (None, "new", None),
        ("new", "contacted", "call logged"),
        ("contacted", "qualified", "budget confirmed"),
    ]
    card = crm("lead", "show", lid, "-f", "table").stdout
    assert "Interactions (2)" in card and "Demo at their office" in card
    assert "Status history (3)" in card and "budget confirmed" in card
    assert "2026-11-23 10:00" in card  # times in local time
    tsv = crm("lead", "show", lid, "-f", "tsv").stdout.splitlines()
    assert len(tsv) == 2 and tsv[0].startswith("id\tuid\tname")


def test_text_is_shown_not_obeyed(crm) -> None:
    lid = add(crm, "Bảo [bold]Boss[/bold]", "--note", "evil \x1b[2J clear \u202e and \r CR")
    assert shown(crm, lid)["name"] == "Bảo [bold]Boss[/bold]"
    card = crm("lead", "show", str(lid), "-f", "table").stdout
    assert "[bold]Boss[/bold]" in card
    assert "\x1b" not in card and "\u202e" not in card and "\\x1b[2J" in card


# -- edit, delete --------------------------------------------------------------------------


def test_edit_fields_tags_and_unset(crm, leads) -> None:
    lid = str(leads["hoa"])
    result = crm("lead", "edit", lid, "--score", "85", "--source", "Cold Call", "--phone",
                 "+84 90 123 4567", "--add-tag", "hot", "--remove-tag", "fair-2026",
                 "--unset", "company")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and result.stderr == "Updated lead 1: Nguyễn Thị Hoa\n"
    record = shown(crm, leads["hoa"])
    assert (record["score"], record["source"], record["phone"]) == (85, "cold-call", "+84901234567")
    assert record["company"] is None
    assert record["tags"] == ["hot", "vip"]
    assert record["status"] == "new"  # edit never changes the status
    crm("lead", "edit", lid, "--unset", "score", "--unset", "source", "--name", "Hoa Nguyễn")
    record = shown(crm, leads["hoa"])
    assert (record["score"], record["source"], record["name"]) == (None, None, "Hoa Nguyễn")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--unset", "name"), "always has a name"),
        (("--unset", "status"), "crm lead status"),
        (("--unset", "city"), "--unset"),
        (("--name", "  "), "name"),
        (("--remove-tag", "two words"), "tag"),
    ],
)
def test_bad_edits(crm, leads, db_path, args, needle) -> None:
    before = dump(db_path)
    result = crm("lead", "edit", str(leads["hoa"]), *args)
    one_error_line(result, 2)
    assert needle in result.stderr
    assert dump(db_path) == before


def test_status_is_not_an_edit_option(crm, leads) -> None:
    result = crm("lead", "edit", str(leads["hoa"]), "--status", "qualified")
    assert result.exit_code == 2 and "--status" in result.stderr


def test_delete_needs_yes_and_keeps_what_a_customer_shares(crm, leads, db_path) -> None:
    lid = str(leads["duc"])
    crm("lead", "log", lid, "Before conversion")
    before = dump(db_path)
    result = crm("lead", "delete", lid)
    one_error_line(result, 2)
    assert "--yes" in result.stderr
    assert dump(db_path) == before
    assert crm("lead", "log", str(leads["anna"]), "Only the lead's").exit_code == 0
    result = crm("lead", "delete", str(leads["anna"]), "--yes")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "Deleted lead 3: Anna Schmidt\n"
    gone = query(db_path, "SELECT count(*) FROM interactions WHERE body = ?", ("Only the lead's",))
    assert gone == [(0,)]

    converted = crm("lead", "convert", lid)
    assert converted.exit_code == 0, converted.stderr
    result = crm("lead", "delete", lid, "--yes")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ("Deleted lead 2: Lê Đức Minh; 1 interaction stays with the customer\n")
    assert query(db_path, "SELECT customer_id, lead_id, body FROM interactions") == [
        (1, None, "Before conversion")
    ]
    assert query(db_path, "SELECT count(*) FROM lead_status_changes WHERE lead_id = 2") == [(0,)]
    assert crm("lead", "show", lid).exit_code == 1
    assert crm("customer", "show", "1", "-f", "json").exit_code == 0


# -- log and status ------------------------------------------------------------------------


def test_log_moves_a_new_lead_to_contacted_once(crm, leads, db_path) -> None:
    lid = str(leads["hoa"])
    result = crm("lead", "log", lid, "--type", "call", "Asked for the price list")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "1\n"
    assert result.stderr == "Logged call 1 for lead 1\nLead 1 is now contacted (was new)\n"
    assert shown(crm, leads["hoa"])["status"] == "contacted"
    result = crm("lead", "log", lid, "--type", "email", "Sent it")
    assert result.stderr == "Logged email 2 for lead 1\n"
    assert history(crm, leads["hoa"]) == [(None, "new", None), ("new", "contacted", "call logged")]
    assert query(db_path, "SELECT lead_id, customer_id FROM interactions") == [(1, None), (1, None)]


def test_log_bad_input_writes_nothing(crm, leads, db_path) -> None:
    before = dump(db_path)
    for args, needle in (
        (("--type", "fax", "hello"), "--type"),
        (("hello", "--at", "the day after never"), "--at"),
        (("   ",), "text"),
    ):
        result = crm("lead", "log", str(leads["hoa"]), *args)
        one_error_line(result, 2)
        assert needle in result.stderr
    assert dump(db_path) == before


def test_status_changes_are_recorded(crm, leads, db_path) -> None:
    lid = str(leads["anna"])
    result = crm("lead", "status", lid, "contacted")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "Lead 3: new → contacted\n"
    result = crm("lead", "status", lid, "Qualified")  # case ignored
    assert result.exit_code == 0, result.stderr
    record = shown(crm, leads["anna"])
    assert record["status"] == "qualified" and record["status_changed_at"] == NOW_UTC
    assert history(crm, leads["anna"])[1:] == [
        ("new", "contacted", None),
        ("contacted", "qualified", None),
    ]
    assert all(at == NOW_UTC for (at,) in query(db_path, "SELECT at FROM lead_status_changes"))


def test_same_status_is_a_no_op_not_an_error(crm, leads, db_path) -> None:
    lid = str(leads["hoa"])
    result = crm("lead", "status", lid, "new")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "Lead 1 is already new; nothing changed\n"
    assert history(crm, leads["hoa"]) == [(None, "new", None)]


def test_lost_needs_a_reason(crm, leads, db_path) -> None:
    before = dump(db_path)
    for args in ((), ("--reason", "   ")):
        result = crm("lead", "status", str(leads["hoa"]), "lost", *args)
        one_error_line(result, 2)
        assert "--reason" in result.stderr
    assert dump(db_path) == before


def test_lost_is_final_until_reopened(crm, leads, db_path) -> None:
    lid = str(leads["duc"])
    result = crm("lead", "status", lid, "lost", "--reason", "chose a cheaper supplier")
    assert result.exit_code == 0, result.stderr
    record = shown(crm, leads["duc"])
    assert (record["status"], record["lost_reason"]) == ("lost", "chose a cheaper supplier")
    assert ids(crm, "--status", "lost") == [leads["duc"]]

    before = dump(db_path)
    result = crm("lead", "status", lid, "contacted")
    one_error_line(result, 1)
    assert "lead 2 is lost" in result.stderr and "--reopen" in result.stderr
    result = crm("lead", "convert", lid)
    one_error_line(result, 1)
    assert "crm lead status 2 new --reopen" in result.stderr
    assert dump(db_path) == before

    result = crm("lead", "status", lid, "contacted", "--reopen", "--reason", "called back")
    assert result.exit_code == 0, result.stderr
    record = shown(crm, leads["duc"])
    assert (record["status"], record["lost_reason"]) == ("contacted", None)
    assert history(crm, leads["duc"])[-2:] == [
        ("new", "lost", "chose a cheaper supplier"),
        ("lost", "contacted", "called back"),
    ]


def test_converted_is_set_by_convert_only(crm, leads, db_path) -> None:
    before = dump(db_path)
    result = crm("lead", "status", str(leads["hoa"]), "converted")
    one_error_line(result, 2)
    assert "crm lead convert" in result.stderr
    result = crm("lead", "status", str(leads["hoa"]), "won")
    one_error_line(result, 2)
    assert "STATUS" in result.stderr and "new, contacted, qualified, lost" in result.stderr
    assert dump(db_path) == before


def test_a_converted_lead_refuses_every_change(crm, leads, db_path) -> None:
    lid = str(leads["anna"])
    assert crm("lead", "convert", lid).exit_code == 0
    before = dump(db_path)
    for args in (("new",), ("contacted",), ("qualified",), ("lost", "--reason", "gone")):
        result = crm("lead", "status", lid, *args)
        one_error_line(result, 1)
        assert "lead 3 is converted" in result.stderr and "--reopen" in result.stderr
    result = crm("lead", "convert", lid)
    one_error_line(result, 1)
    assert result.stderr == "crm: error: lead 3 is already converted (customer 1)\n"
    assert dump(db_path) == before


def test_a_reopened_converted_lead_converts_to_the_same_customer(crm, leads, db_path) -> None:
    lid = str(leads["duc"])  # no e-mail: only the earlier conversion links it
    assert crm("lead", "convert", lid).stdout == "customer 1\n"
    result = crm("lead", "status", lid, "qualified", "--reopen")
    assert result.exit_code == 0, result.stderr
    record = shown(crm, leads["duc"])
    assert (record["status"], record["converted_at"], record["customer_id"]) == (
        "qualified", None, 1,
    )  # fmt: skip
    result = crm("lead", "convert", lid)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "customer 1\n"
    assert "linked to existing customer 1 (converted before)" in result.stderr
    assert query(db_path, "SELECT count(*) FROM customers") == [(1,)]


# -- convert -------------------------------------------------------------------------------


def test_story_add_log_qualify_convert_with_a_deal(crm, db_path) -> None:
    lid = add(crm, "Trần Quốc Tuấn", "--email", "tuan@example.vn", "--phone", "0987 654 321",
              "--company", "Tuấn Coffee", "--title", "Owner", "--source", "event",
              "--score", "60", "--note", "Met at the Huế fair", "--tag", "coffee",
              "--tag", "hue")  # fmt: skip
    result = crm("lead", "log", str(lid), "--type", "meeting", "Tasting at the shop")
    assert "Lead 1 is now contacted" in result.stderr
    assert crm("lead", "status", str(lid), "qualified").exit_code == 0
    result = crm("lead", "convert", str(lid), "--deal", "Espresso machines",
                 "--amount", "45.000.000 VND", "--close", "2026-12-20")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "customer 1\ndeal 1\n"
    assert result.stderr.splitlines() == [
        "Converted lead 1 to new customer 1",
        "Opened deal 1: Espresso machines",
    ]
    customer = json.loads(crm("customer", "show", "1", "-f", "json").stdout)
    assert (customer["name"], customer["email"], customer["phone"], customer["company"]) == (
        "Trần Quốc Tuấn", "tuan@example.vn", "0987 654 321", "Tuấn Coffee",
    )  # fmt: skip
    assert (customer["title"], customer["source"], customer["notes"]) == (
        "Owner", "event", "Met at the Huế fair",
    )  # fmt: skip
    assert customer["tags"] == ["coffee", "hue"]
    assert [i["body"] for i in customer["interactions"]] == ["Tasting at the shop"]
    assert query(db_path, "SELECT customer_id, lead_id FROM interactions") == [(1, 1)]
    assert query(
        db_path, "SELECT customer_id, lead_id, title, amount, currency, close_date FROM deals"
    ) == [(1, 1, "Espresso machines", 45_000_000, "VND", "2026-12-20")]
    lead = shown(crm, lid)
    assert (lead["status"], lead["customer_id"], lead["deal_id"]) == ("converted", 1, 1)
    assert lead["converted_at"] == NOW_UTC
    assert history(crm, lid)[-1] == ("qualified", "converted", None)
    assert [i["customer_id"] for i in lead["interactions"]] == [1]  # the lead still sees them
    # A later interaction with the converted lead is the customer's too.
    assert crm("lead", "log", str(lid), "Delivered").exit_code == 0
    assert query(db_path, "SELECT customer_id, lead_id FROM interactions WHERE body = ?",
                 ("Delivered",)) == [(1, 1)]  # fmt: skip
    assert ids(crm, "--status", "converted") == [lid]
    assert crm("customer", "list", "--search", "tasting", "-f", "ids").stdout == "1\n"


def test_convert_moves_the_pending_reminders_to_the_customer(crm, db_path) -> None:
    lid = str(add(crm, "Hoàng Thị Đào", "--email", "dao@lotusspa.vn"))
    for text in ("Gửi bảng giá", "Gọi lại", "Đã xong"):
        assert crm("remind", "add", text, "--at", "tomorrow 9am", "--lead", lid).exit_code == 0
    assert crm("remind", "done", "3").exit_code == 0
    result = crm("lead", "convert", lid)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "customer 1\n"
    assert result.stderr.splitlines() == [
        "Converted lead 1 to new customer 1",
        "Moved 2 pending reminders to customer 1",
    ]
    customer = json.loads(crm("customer", "show", "1", "-f", "json").stdout)
    assert sorted(r["text"] for r in customer["reminders"]) == ["Gọi lại", "Gửi bảng giá"]
    listed = crm("remind", "list", "--customer", "1", "-f", "ids")
    assert listed.stdout == "1\n2\n"
    assert query(db_path, "SELECT id, customer_id, lead_id FROM reminders ORDER BY id") == [
        (1, 1, None), (2, 1, None), (3, None, 1),  # a done one stays where it was
    ]  # fmt: skip
    assert crm("undo", "--yes").exit_code == 0
    assert query(db_path, "SELECT id, customer_id, lead_id FROM reminders ORDER BY id") == [
        (1, None, 1), (2, None, 1), (3, None, 1),
    ]  # fmt: skip


def test_convert_with_one_pending_reminder_says_reminder(crm) -> None:
    lid = str(add(crm, "Bùi Văn Long"))
    assert crm("remind", "add", "Gọi lại", "--at", "tomorrow", "--lead", lid).exit_code == 0
    result = crm("lead", "convert", lid)
    assert "Moved 1 pending reminder to customer 1" in result.stderr.splitlines()


def test_adding_a_lead_with_a_known_email_or_phone_warns(crm) -> None:
    customer = crm("customer", "add", "Hoàng Thị Đào", "--email", "dao@lotusspa.vn")
    assert customer.exit_code == 0
    first = crm("lead", "add", "Đào", "--email", "Dao@LotusSpa.vn", "--phone", "+84 91 234 5678")
    assert first.exit_code == 0 and first.stdout == "1\n"
    assert first.stderr.splitlines() == [
        "Added lead 1: Đào",
        "warning: same e-mail as customer 1 (Hoàng Thị Đào); added anyway (already a customer)",
    ]
    again = crm("lead", "add", "Chị Đào", "--phone", "+84 91 234 5678")
    assert again.stdout == "2\n"
    assert again.stderr.splitlines()[1:] == [
        "warning: same phone as lead 1 (Đào); added anyway",
    ]


def test_convert_links_the_customer_with_the_same_email(crm, leads, db_path) -> None:
    cid = new_id(crm("customer", "add", "Hoa N.", "--email", "hoa@example.vn", "--tag", "old"))
    crm("lead", "log", str(leads["hoa"]), "Called")
    result = crm("lead", "convert", str(leads["hoa"]))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"customer {cid}\n"
    assert result.stderr == (f"Converted lead 1: linked to existing customer {cid} (same e-mail)\n")
    assert query(db_path, "SELECT count(*) FROM customers") == [(1,)]
    customer = json.loads(crm("customer", "show", str(cid), "-f", "json").stdout)
    assert customer["name"] == "Hoa N."  # kept
    assert (customer["company"], customer["source"]) == ("Hoa Shop", "event")  # filled in
    assert customer["tags"] == ["fair-2026", "old", "vip"]
    assert [i["body"] for i in customer["interactions"]] == ["Called"]
    assert shown(crm, leads["hoa"])["customer_id"] == cid


def test_convert_without_a_deal_and_deal_options_alone(crm, leads, db_path) -> None:
    before = dump(db_path)
    result = crm("lead", "convert", str(leads["duc"]), "--amount", "100")
    one_error_line(result, 2)
    assert "--amount" in result.stderr and "--deal" in result.stderr
    for args, needle in (
        (("--deal", "X", "--amount", "lots"), "--amount"),
        (("--deal", "X", "--close", "someday"), "--close"),
        (("--deal", "X", "--stage", "nowhere"), "stage"),
        (("--deal", "  "), "title"),
    ):
        result = crm("lead", "convert", str(leads["duc"]), *args)
        assert result.exit_code in (1, 2), result.stderr
        assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
        assert needle in result.stderr
    assert dump(db_path) == before
    result = crm("lead", "convert", str(leads["duc"]))
    assert result.stdout == "customer 1\n"
    assert query(db_path, "SELECT count(*) FROM deals") == [(0,)]
    assert shown(crm, leads["duc"])["deal_id"] is None


def test_convert_help_says_what_it_prints(crm) -> None:
    result = crm("lead", "convert", "--help")
    assert result.exit_code == 0
    assert "'customer ID'" in result.stdout and "'deal ID'" in result.stdout
    assert "Example: crm lead convert" in result.stdout


# -- hostile input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("show", "99"),
        ("edit", "99", "--score", "5"),
        ("delete", "99", "--yes"),
        ("log", "99", "hello"),
        ("status", "99", "qualified"),
        ("convert", "99"),
    ],
)
def test_unknown_id(crm, leads, db_path, args) -> None:
    before = dump(db_path)
    result = crm("lead", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", "crm: error: no lead 99\n")
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--score", "101"), "score"),
        (("--score", "-1"), "score"),
        (("--score", "ten"), "--score"),
        (("--source", "tv"), "source"),
        (("--email", "not-an-email"), "email"),
        (("--email", "an@"), "email"),
        (("--phone", "call me maybe"), "phone"),
        (("--tag", "two words"), "tag"),
        (("--company", "two\nlines"), "one line"),
        (("--note", "x" * 1_000_000), "too long"),
    ],
)
def test_bad_input_one_line_right_code_nothing_written(crm, leads, db_path, args, needle) -> None:
    before = dump(db_path)
    result = crm("lead", "add", "Phạm Thị Hoa", *args)
    one_error_line(result, 2)
    assert needle in result.stderr
    assert len(result.stderr) < 300
    assert dump(db_path) == before


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_bad_names(crm, leads, db_path, name) -> None:
    before = dump(db_path)
    result = crm("lead", "add", name)
    one_error_line(result, 2)
    assert "name" in result.stderr
    assert dump(db_path) == before


def test_source_names_people_write(crm) -> None:
    for typed, stored in (("Cold Call", "cold-call"), ("WEB", "web"), ("trade show", "event"),
                          ("social_media", "social"), ("Purchased list", "list")):  # fmt: skip
        lid = add(crm, "X", "--source", typed)
        assert shown(crm, lid)["source"] == stored


def test_every_lead_command_has_help_with_an_example(crm) -> None:
    from crmcli.cli.lead import app

    names = [c.name for c in app.registered_commands]
    assert set(names) == {
        "add", "list", "show", "edit", "delete", "log", "status", "convert", "import", "forget",
    }  # fmt: skip
    for name in names:
        result = crm("lead", name, "--help")
        assert result.exit_code == 0
        assert f"Example: crm lead {name}" in result.stdout, name


# -- import ----------------------------------------------------------------------------------


def write_csv(path: Path, rows: list[list[str]], *, bom: bool = False) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8"))
    return path


def listed(crm: Any) -> list[dict[str, Any]]:
    result = crm("lead", "list", "-f", "json")
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


FAIR = [
    ["Full Name", "E-mail Address", "Mobile", "Company", "Job Title", "Lead Status", "Lead Score",
     "Labels", "Notes", "Lead Source", "Website"],
    ["Trần Văn Bình", "binh@example.vn", "0912 000 111", "Bình Co", "Owner", "contacted", "55",
     "Fair 2026; VIP", "wants a demo", "", "https://binh.example"],
    ["Phạm Lan", "lan@example.vn", "", "", "", "", "", "", "", "Web", ""],
    ["Đỗ Đức", "", "0903 222 333", "", "", "lost", "", "", "", "", ""],
]  # fmt: skip


def test_import_a_good_file_with_a_bom(crm, tmp_path, db_path) -> None:
    rows = [row[:] for row in FAIR]
    rows[0].append("lost_reason")
    for row, reason in zip(rows[1:], ["", "", "no budget"], strict=True):
        row.append(reason)
    src = write_csv(tmp_path / "fair.csv", rows, bom=True)
    result = crm("lead", "import", str(src), "--source", "event")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "warning: ignored columns (not lead fields): 'Website'",
        "Added 3, updated 0, unchanged 0, rejected 0",
    ]
    binh, lan, duc = listed(crm)
    assert binh["name"] == "Trần Văn Bình"  # the BOM is not part of the first header
    assert (binh["email"], binh["phone"], binh["company"], binh["title"]) == (
        "binh@example.vn", "0912 000 111", "Bình Co", "Owner",
    )  # fmt: skip
    assert (binh["status"], binh["score"], binh["source"]) == ("contacted", 55, "event")
    assert binh["tags"] == ["fair-2026", "vip"] and binh["notes"] == "wants a demo"
    assert (lan["status"], lan["source"]) == ("new", "web")  # the file's source wins
    assert (duc["status"], duc["lost_reason"], duc["source"]) == ("lost", "no budget", "event")
    assert query(db_path, "SELECT lead_id, from_status, to_status, reason FROM "
                 "lead_status_changes ORDER BY lead_id") == [
        (1, None, "contacted", None), (2, None, "new", None), (3, None, "lost", "no budget"),
    ]  # fmt: skip
    assert ids(crm, "--search", "duc") == [duc["id"]]


def test_import_bad_rows_are_listed_and_nothing_is_written(crm, leads, tmp_path, db_path) -> None:
    before = dump(db_path)
    src = write_csv(tmp_path / "bad.csv", [
        ["name", "email", "score", "status", "source"],
        ["Good", "good@example.com", "10", "", ""],
        ["Bad Mail", "nope", "", "", ""],
        ["Too Good", "", "101", "", ""],
        ["", "noname@example.com", "", "", ""],
        ["Lost Soul", "", "", "lost", ""],
        ["Done", "", "", "converted", ""],
        ["Odd", "", "", "hot", "tv"],
        ["Also Good", "", "", "qualified", "list"],
    ])  # fmt: skip
    result = crm("lead", "import", str(src))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("line 3: invalid email 'nope': ")
    assert lines[1:] == [
        "line 4: invalid score '101': must be from 0 to 100",
        "line 5: no name; a new lead needs one",
        "line 6: status lost needs a lost_reason column",
        "line 8: invalid status 'hot': choose one of new, contacted, qualified, converted, lost",
        "crm: error: 5 bad rows; nothing imported (use --skip-bad to import the 3 good ones)",
    ]
    assert dump(db_path) == before

    result = crm("lead", "import", str(src), "--skip-bad")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == "Added 3, updated 0, unchanged 0, rejected 5"
    assert [(r["name"], r["status"]) for r in listed(crm)][3:] == [
        ("Good", "new"),
        ("Done", "converted"),
        ("Also Good", "qualified"),
    ]  # fmt: skip  (a converted lead of another database: no customer linked)


def test_import_dry_run_writes_nothing(crm, tmp_path, db_path) -> None:
    src = write_csv(
        tmp_path / "p.csv", [["name", "email"], ["New", "new@x.io"], ["Old", "old@x.io"]]
    )
    result = crm("lead", "import", str(src), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "Would add 2, update 0, leave 0 unchanged, reject 0\n"
    assert not db_path.exists()  # not even an empty database

    add(crm, "Old Name", "--email", "OLD@x.io")
    before = dump(db_path)
    result = crm("lead", "import", str(src), "--dry-run")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "Would add 1, update 1, leave 0 unchanged, reject 0\n"
    assert dump(db_path) == before

    bad = write_csv(tmp_path / "bad.csv", [["name", "email"], ["A", "a@x.io"], ["B", "b@"]])
    result = crm("lead", "import", str(bad), "--dry-run")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Would add 1, update 0, leave 0 unchanged, reject 1 "
        "(nothing would be imported without --skip-bad)"
    )
    assert dump(db_path) == before


def test_import_again_updates_instead_of_duplicating(crm, tmp_path, db_path) -> None:
    rows = [["name", "email", "phone", "tags", "score", "status"],
            ["Ann", "ann@example.com", "", "a", "10", "new"],
            ["Ben", "ben@x.io", "0911 222 333", "", "", ""]]  # fmt: skip
    src = write_csv(tmp_path / "p.csv", rows)
    assert crm("lead", "import", str(src)).stderr == "Added 2, updated 0, unchanged 0, rejected 0\n"
    result = crm("lead", "import", str(src))
    assert result.exit_code == 0
    assert result.stderr == "Added 0, updated 0, unchanged 2, rejected 0\n"

    crm("lead", "status", "1", "qualified")
    rows[1] = ["Ann Smith", "ANN@example.com", "", "b", "90", "new"]  # e-mail without case
    rows[2] = ["  ", "", "0911 222 333", "", "", ""]  # no name: an update keeps the stored one
    result = crm("lead", "import", str(write_csv(src, rows)), "--match", "email,phone",
                 "--source", "list")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "Added 0, updated 2, unchanged 0, rejected 0\n"
    ann, ben = listed(crm)
    assert (ann["name"], ann["email"], ann["tags"], ann["score"]) == (
        "Ann Smith", "ANN@example.com", ["a", "b"], 90,
    )  # fmt: skip
    assert ann["status"] == "qualified"  # the file's status is for new leads only
    assert ann["updated_at"] == NOW_UTC
    assert (ben["name"], ben["source"]) == ("Ben", "list")  # --source fills in a missing one
    assert query(db_path, "SELECT count(*) FROM leads") == [(2,)]

    by_uid = write_csv(tmp_path / "u.csv", [["uid", "name"], [ann["uid"], "Ann S."]])
    result = crm("lead", "import", str(by_uid))
    assert result.stderr == "Added 0, updated 1, unchanged 0, rejected 0\n"
    assert listed(crm)[0]["name"] == "Ann S."
    assert crm("lead", "import", str(src), "--match", "name").exit_code == 2


def test_duplicates_inside_one_file_become_one_lead(crm, tmp_path) -> None:
    src = write_csv(tmp_path / "d.csv", [
        ["name", "email", "tags"],
        ["Dup", "dup@example.com", "a"],
        ["Other", "other@example.com", ""],
        ["Dup Again", "DUP@example.com", "b"],
    ])  # fmt: skip
    result = crm("lead", "import", str(src))
    assert result.stderr == "Added 2, updated 1, unchanged 0, rejected 0\n"
    dup, other = listed(crm)
    assert (dup["name"], dup["tags"]) == ("Dup Again", ["a", "b"])


def test_formula_looking_cells_are_kept_as_text_and_round_trip(crm, tmp_path) -> None:
    src = write_csv(tmp_path / "f.csv", [
        ["name", "company", "title", "notes"],
        ['=HYPERLINK("http://evil")', "+Plus Co", "-lead", "@cmd"],
    ])  # fmt: skip
    result = crm("lead", "import", str(src))
    assert result.exit_code == 0, result.stderr
    [row] = listed(crm)
    assert (row["name"], row["company"], row["title"], row["notes"]) == (
        '=HYPERLINK("http://evil")', "+Plus Co", "-lead", "@cmd",
    )  # fmt: skip
    exported = crm("lead", "list", "-f", "csv").stdout
    cells = list(csv.DictReader(io.StringIO(exported)))[0]
    assert cells["name"] == '\'=HYPERLINK("http://evil")' and cells["company"] == "'+Plus Co"
    again = tmp_path / "again.csv"
    again.write_text(exported, encoding="utf-8")
    result = crm("lead", "import", str(again))  # our own list output matches by uid
    assert result.stderr == "Added 0, updated 0, unchanged 1, rejected 0\n"
    assert listed(crm) == [row]


def test_import_json_jsonl_and_stdin(crm, tmp_path) -> None:
    array = tmp_path / "a.json"
    array.write_text(json.dumps([
        {"name": "Json One", "email": "one@example.com", "tags": ["a", "b"], "score": 30},
        {"full_name": "Json Two", "status": "qualified"},
    ], ensure_ascii=False), encoding="utf-8")  # fmt: skip
    assert crm("lead", "import", str(array)).exit_code == 0
    result = crm("lead", "import", "-", input='{"name": "Line One", "source": "social"}\n')
    assert result.exit_code == 0, result.stderr
    rows = listed(crm)
    assert [r["name"] for r in rows] == ["Json One", "Json Two", "Line One"]
    assert (rows[0]["tags"], rows[0]["score"]) == (["a", "b"], 30)
    assert rows[1]["status"] == "qualified" and rows[2]["source"] == "social"


def test_import_bad_source_option(crm, tmp_path, db_path) -> None:
    src = write_csv(tmp_path / "p.csv", [["name"], ["A"]])
    result = crm("lead", "import", str(src), "--source", "tv")
    one_error_line(result, 2)
    assert "--source" in result.stderr
    assert not db_path.exists()


def test_import_streams_in_batches(crm, tmp_path, monkeypatch) -> None:
    from crmcli.core import importer

    monkeypatch.setattr(importer.LeadImport, "batch_rows", 3)
    rows = [["name", "email", "tags"]]
    rows += [[f"P{i}", f"p{i}@x.io", f"t{i % 2}"] for i in range(10)]
    rows += [["P3 again", "p3@x.io", "extra"], ["P9 again", "p9@x.io", ""]]
    result = crm("lead", "import", str(write_csv(tmp_path / "b.csv", rows)))
    assert result.stderr == "Added 10, updated 2, unchanged 0, rejected 0\n"
    found = listed(crm)
    assert [r["id"] for r in found] == list(range(1, 11))
    assert (found[3]["name"], found[3]["tags"]) == ("P3 again", ["extra", "t1"])  # was flushed
    assert (found[9]["name"], found[9]["tags"]) == ("P9 again", ["t1"])  # was still pending


def test_status_takes_a_comma_list_and_company_ignores_accents(crm) -> None:
    def lead(*args: str) -> int:
        result = crm("lead", "add", *args)
        assert result.exit_code == 0, result.stderr
        return int(result.stdout)

    new = lead("Đỗ Huy", "--company", "Công ty Đại Phát")
    contacted = lead("An", "--company", "Minh Long")
    lost = lead("Bình")
    assert crm("lead", "status", str(contacted), "contacted").exit_code == 0
    assert crm("lead", "status", str(lost), "lost", "--reason", "no budget").exit_code == 0

    def ids(*args: str) -> list[int]:
        result = crm("lead", "list", *args, "-f", "ids")
        assert result.exit_code == 0, result.stderr
        return [int(x) for x in result.stdout.split()]

    assert ids("--status", "new,contacted") == [new, contacted]
    assert ids("--status", "new, lost", "--status", "contacted") == [new, contacted, lost]
    assert ids("--company", "DAI PHAT") == [new]
    assert ids("--sort", "name") == [contacted, lost, new]
    bad = crm("lead", "list", "--status", "new,bogus")
    assert (bad.exit_code, bad.stdout) == (2, "")
    assert "invalid --status 'bogus'" in bad.stderr
