"""``crm quote …`` in-process: numbering and versions, expired quotes, accept and decline
with undo, every output format, quote numbers as ids, ids from stdin, bad input."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import dump, query

# The fixed clock is Monday 2026-11-23 10:00 in Hồ Chí Minh City (UTC+7) = 03:00 UTC.


def new_id(result) -> int:
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


def ok(result) -> str:
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


def set_items(db_path: Path, deal: int, **columns: object) -> None:
    """Give every item of the deal the quote fields (unit, discount, tax …) directly."""
    conn = sqlite3.connect(db_path)
    with conn:
        sets = ", ".join(f"{k} = ?" for k in columns)
        conn.execute(f"UPDATE deal_items SET {sets} WHERE deal_id = ?", (*columns.values(), deal))
    conn.close()


@pytest.fixture
def customer(crm) -> int:
    return new_id(crm("customer", "add", "Nguyễn Văn An", "--email", "an@example.vn",
                      "--company", "An Phát"))  # fmt: skip


def make_deal(crm, customer: int, title: str = "Bàn phím cho văn phòng") -> int:
    deal = new_id(crm("deal", "add", title, "--customer", str(customer), "--amount", "0 VND"))
    ok(crm("deal", "item", "add", str(deal), "Bàn phím cơ", "--qty", "3",
           "--price", "1.250.000 VND"))  # fmt: skip
    ok(crm("deal", "item", "add", str(deal), "Chuột không dây", "--qty", "2",
           "--price", "350.000 VND"))  # fmt: skip
    return deal


@pytest.fixture
def deal(crm, customer, db_path) -> int:
    deal = make_deal(crm, customer)
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "UPDATE deal_items SET unit = 'cái', tax_bp = 1000, supplier = 'Keychron VN', "
            "delivery_date = '2026-12-10' WHERE position = 1 AND deal_id = ?",
            (deal,),
        )
        conn.execute(
            "UPDATE deal_items SET discount_bp = 500, tax_bp = 800 WHERE position = 2 "
            "AND deal_id = ?",
            (deal,),
        )
    conn.close()
    return deal


def shown(crm, ref: object) -> dict:
    return json.loads(ok(crm("quote", "show", str(ref), "-f", "json")))


def listed(crm, *args: str) -> list[dict]:
    return json.loads(ok(crm("quote", "list", "-f", "json", *args)))


def at(monkeypatch: pytest.MonkeyPatch, local: str) -> None:
    monkeypatch.setenv("CRM_NOW", local)


def refused(crm, db_path: Path, *args: str, code: int = 2, input: str | None = None) -> str:
    """The command fails with one line on stderr, nothing on stdout, nothing written."""
    before = dump(db_path)
    result = crm(*args, input=input)
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert dump(db_path) == before
    return str(result.stderr)


# -- create ---------------------------------------------------------------------------------


def test_create_prints_the_id_and_copies_the_items(crm, deal) -> None:
    result = crm("quote", "create", str(deal), "--note", "Giao hàng trong 2 tuần")
    assert result.exit_code == 0
    assert result.stdout == "1\n"
    assert result.stderr == (
        "Quote Q-2026-0001 for deal 1 (Bàn phím cho văn phòng): 4,843,200 VND, "
        "valid until 2026-12-23\n"
    )
    quote = shown(crm, 1)
    assert quote["number"] == "Q-2026-0001" and quote["version"] == 1
    assert quote["label"] == "Q-2026-0001" and quote["status"] == "open"
    assert quote["deal_id"] == deal and quote["customer"] == "Nguyễn Văn An"
    assert quote["currency"] == "VND" and quote["note"] == "Giao hàng trong 2 tuần"
    assert quote["issued_on"] == "2026-11-23" and quote["valid_until"] == "2026-12-23"
    # 3 × 1,250,000 = 3,750,000 at 10 %; 2 × 350,000 = 700,000 less 5 % = 665,000 at 8 %.
    assert (quote["subtotal"], quote["discount"], quote["tax"], quote["total"]) == (
        4_450_000, 35_000, 375_000 + 53_200, 4_843_200,
    )  # fmt: skip
    assert quote["taxes"] == [
        {"rate_bp": 800, "base": 665_000, "tax": 53_200},
        {"rate_bp": 1000, "base": 3_750_000, "tax": 375_000},
    ]
    first, second = quote["items"]
    assert first == {
        "position": 1, "product": "Bàn phím cơ", "unit": "cái", "quantity": 3,
        "unit_price": 1_250_000, "discount_bp": None, "discount_amount": None, "discount": 0,
        "net": 3_750_000, "tax_bp": 1000, "supplier": "Keychron VN",
        "delivery_date": "2026-12-10",
    }  # fmt: skip
    assert second["discount_bp"] == 500 and second["discount"] == 35_000
    assert second["net"] == 665_000
    assert quote["versions"] == [{"id": 1, "label": "Q-2026-0001", "status": "open"}]


def test_quote_items_store_each_lines_net(crm, deal, db_path) -> None:
    set_items(db_path, deal, discount_bp=None, discount_amount=100_001)
    new_id(crm("quote", "create", str(deal)))
    assert query(db_path, "SELECT position, net FROM quote_items ORDER BY position") == [
        (1, 3_750_000 - 100_001), (2, 700_000 - 100_001),
    ]  # fmt: skip


def test_valid_until_reads_the_date_grammar(crm, deal) -> None:
    new_id(crm("quote", "create", str(deal), "--valid-until", "in 2 weeks"))
    assert shown(crm, 1)["valid_until"] == "2026-12-07"


def test_valid_days_setting(crm, deal) -> None:
    ok(crm("config", "set", "quote_valid_days", "10"))
    new_id(crm("quote", "create", str(deal)))
    assert shown(crm, 1)["valid_until"] == "2026-12-03"


def test_number_pattern_setting_and_numbers_never_reused(crm, customer, deal) -> None:
    ok(crm("config", "set", "quote_number", "BG-{year}/{month:02d}-{seq:03d}"))
    first = new_id(crm("quote", "create", str(deal)))
    other = make_deal(crm, customer, "Màn hình")
    second = new_id(crm("quote", "create", str(other)))
    assert shown(crm, first)["number"] == "BG-2026/11-001"
    assert shown(crm, second)["number"] == "BG-2026/11-002"
    ok(crm("undo", "--yes"))  # the second quote goes; its number is not given again
    again = new_id(crm("quote", "create", str(other)))
    assert shown(crm, again)["number"] == "BG-2026/11-003"


def test_a_deal_without_items_is_refused(crm, customer, db_path) -> None:
    bare = new_id(crm("deal", "add", "Tư vấn", "--customer", str(customer)))
    message = refused(crm, db_path, "quote", "create", str(bare))
    assert message == (
        f"crm: error: deal {bare} has no line items to quote; add them first: "
        f'crm deal item add {bare} PRODUCT --qty N --price "PRICE"\n'
    )


def test_a_lost_deal_is_not_quoted(crm, deal, db_path) -> None:
    ok(crm("deal", "lost", str(deal), "--reason", "chose a competitor"))
    assert refused(crm, db_path, "quote", "create", str(deal)) == (
        "crm: error: deal 1 is lost; reopen it before quoting it again: "
        "crm deal move 1 STAGE --reopen\n"
    )


def test_unknown_deal(crm, deal, db_path) -> None:
    assert refused(crm, db_path, "quote", "create", "99", code=1) == "crm: error: no deal 99\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--valid-until", "soonish"), "invalid --valid-until 'soonish'"),
        (("--valid-until", "2026-11-22"), "invalid --valid-until '2026-11-22': is in the past"),
        (("--valid-until", "31/02/2027"), "invalid --valid-until '31/02/2027'"),
        (("--note", "a\x00b"), "invalid --note"),
    ],
)
def test_bad_create_options_write_nothing(crm, deal, db_path, args, message) -> None:
    assert refused(crm, db_path, "quote", "create", str(deal), *args).startswith(
        f"crm: error: {message}"
    )


# -- versions -------------------------------------------------------------------------------


def test_quoting_an_unchanged_deal_again_is_refused(crm, deal, db_path) -> None:
    new_id(crm("quote", "create", str(deal)))
    message = refused(crm, db_path, "quote", "create", str(deal), "--note", "again")
    assert message == (
        "crm: error: deal 1's items have not changed since quote Q-2026-0001 (id 1), which is "
        "still open: crm quote show 1\n"
    )


def test_changed_items_make_the_next_version(crm, deal, db_path) -> None:
    new_id(crm("quote", "create", str(deal)))
    ok(crm("deal", "item", "add", str(deal), "Lót chuột", "--qty", "2", "--price", "50.000 VND"))
    second = new_id(crm("quote", "create", str(deal)))
    ok(crm("deal", "item", "remove", "3"))
    set_items(db_path, deal, tax_bp=1000)
    third = new_id(crm("quote", "create", str(deal)))
    log = listed(crm, "--deal", str(deal))
    assert [(q["id"], q["label"], q["version"], q["status"]) for q in log] == [
        (1, "Q-2026-0001", 1, "superseded"),
        (second, "Q-2026-0001 v2", 2, "superseded"),
        (third, "Q-2026-0001 v3", 3, "open"),
    ]
    assert log[1]["total"] == 4_843_200 + 100_000  # no tax on the new line
    assert log[2]["tax"] == 375_000 + 66_500
    # Earlier versions stay readable, by id or by number and version.
    assert shown(crm, "Q-2026-0001")["id"] == third
    assert shown(crm, "Q-2026-0001v1")["id"] == 1
    assert shown(crm, "Q-2026-0001 v2")["id"] == second
    assert shown(crm, "q-2026-0001V2".upper())["id"] == second
    assert len(shown(crm, 1)["items"]) == 2 and len(shown(crm, second)["items"]) == 3
    assert [v["status"] for v in shown(crm, 1)["versions"]] == ["superseded"] * 2 + ["open"]


def test_a_declined_quote_can_be_quoted_again_unchanged(crm, deal) -> None:
    new_id(crm("quote", "create", str(deal)))
    ok(crm("quote", "decline", "1", "--reason", "giá cao"))
    second = new_id(crm("quote", "create", str(deal), "--valid-until", "2026-12-01"))
    assert shown(crm, second)["label"] == "Q-2026-0001 v2"
    assert shown(crm, 1)["status"] == "declined"  # a decided version keeps its status


def test_an_accepted_quote_can_be_quoted_again(crm, deal) -> None:
    new_id(crm("quote", "create", str(deal)))
    ok(crm("quote", "accept", "1"))
    second = new_id(crm("quote", "create", str(deal)))
    assert [q["status"] for q in listed(crm)] == ["accepted", "open"]
    assert shown(crm, second)["version"] == 2


# -- expired --------------------------------------------------------------------------------


def test_an_open_quote_past_its_date_reads_as_expired(crm, deal, monkeypatch, db_path) -> None:
    new_id(crm("quote", "create", str(deal), "--valid-until", "2026-11-30"))
    at(monkeypatch, "2026-11-30T23:00:00")
    assert shown(crm, 1)["status"] == "open"  # valid through its last day
    at(monkeypatch, "2026-12-01T08:00:00")
    assert shown(crm, 1)["status"] == "expired"
    assert query(db_path, "SELECT status FROM quotes") == [("open",)]  # computed, not stored
    assert [q["id"] for q in listed(crm, "--status", "expired")] == [1]
    assert listed(crm, "--status", "open") == []
    message = refused(crm, db_path, "quote", "accept", "1")
    assert message == (
        "crm: error: quote Q-2026-0001 (id 1) is expired; only an open quote within its "
        "validity can be accepted; quote the deal again: crm quote create 1\n"
    )
    # Quoting the unchanged deal again is how an expired offer is renewed.
    second = new_id(crm("quote", "create", str(deal)))
    assert shown(crm, second)["valid_until"] == "2026-12-31"
    assert shown(crm, 1)["status"] == "superseded"


# -- accept and decline ---------------------------------------------------------------------


def test_accept_wins_the_deal_and_undo_takes_both_back(crm, deal, db_path) -> None:
    new_id(crm("quote", "create", str(deal)))
    result = crm("quote", "accept", "Q-2026-0001")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        "Accepted quote Q-2026-0001 (4,843,200 VND); deal 1 (Bàn phím cho văn phòng) is won\n"
    )
    quote = shown(crm, 1)
    assert quote["status"] == "accepted" and quote["decided_at"] == "2026-11-23T03:00:00Z"
    record = json.loads(ok(crm("deal", "show", str(deal), "-f", "json")))
    assert record["status"] == "won" and record["closed_at"] == "2026-11-23T03:00:00Z"
    assert record["history"][-1]["to_stage"] == "won"
    ok(crm("undo", "--yes"))
    assert shown(crm, 1)["status"] == "open" and shown(crm, 1)["decided_at"] is None
    record = json.loads(ok(crm("deal", "show", str(deal), "-f", "json")))
    assert record["status"] == "open" and record["stage"] == "new"
    assert [h["to_stage"] for h in record["history"]] == ["new"]


def test_accept_moves_the_deal_to_the_configured_stage(crm, deal) -> None:
    ok(crm("config", "set", "quote_accept_stage", "negotiation"))
    new_id(crm("quote", "create", str(deal)))
    ok(crm("quote", "accept", "1"))
    record = json.loads(ok(crm("deal", "show", str(deal), "-f", "json")))
    assert record["stage"] == "negotiation" and record["status"] == "open"


def test_accept_on_a_deal_already_won_keeps_it(crm, deal) -> None:
    new_id(crm("quote", "create", str(deal)))
    ok(crm("deal", "won", str(deal)))
    ok(crm("quote", "accept", "1"))
    assert shown(crm, 1)["status"] == "accepted"


def test_accept_refuses_a_lost_deal(crm, deal, db_path) -> None:
    new_id(crm("quote", "create", str(deal)))
    ok(crm("deal", "lost", str(deal), "--reason", "chose a competitor"))
    assert refused(crm, db_path, "quote", "accept", "1") == (
        "crm: error: deal 1 is lost; reopen it before accepting its quote: "
        "crm deal move 1 STAGE --reopen\n"
    )


def test_only_an_open_latest_quote_is_accepted(crm, deal, db_path) -> None:
    new_id(crm("quote", "create", str(deal)))
    ok(crm("deal", "item", "add", str(deal), "Lót chuột", "--qty", "1", "--price", "50.000 VND"))
    new_id(crm("quote", "create", str(deal)))
    assert refused(crm, db_path, "quote", "accept", "Q-2026-0001v1") == (
        "crm: error: quote Q-2026-0001 (id 1) is superseded; only an open quote can be accepted\n"
    )
    ok(crm("quote", "decline", "2", "--reason", "no"))
    assert "is declined" in refused(crm, db_path, "quote", "accept", "2")
    assert "is declined" in refused(crm, db_path, "quote", "decline", "2", "--reason", "x")


def test_accept_refuses_a_quote_the_deal_no_longer_matches(crm, deal, db_path) -> None:
    new_id(crm("quote", "create", str(deal)))
    set_items(db_path, deal, supplier="Phong Vũ", delivery_date="2026-12-20")
    ok(crm("deal", "item", "add", str(deal), "Lót chuột", "--qty", "1", "--price", "50.000 VND"))
    assert refused(crm, db_path, "quote", "accept", "1") == (
        "crm: error: deal 1's items changed since quote Q-2026-0001; quote it again and accept "
        "the new version: crm quote create 1\n"
    )
    ok(crm("deal", "item", "remove", "3"))
    ok(crm("quote", "accept", "1"))  # a new supplier or delivery date is not a new offer


def test_decline_keeps_the_reason_and_the_deal(crm, deal) -> None:
    new_id(crm("quote", "create", str(deal)))
    result = crm("quote", "decline", "1", "--reason", "Giá cao hơn đối thủ")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == (
        "Declined quote Q-2026-0001 for deal 1 (Bàn phím cho văn phòng): Giá cao hơn đối thủ\n"
    )
    quote = shown(crm, 1)
    assert quote["status"] == "declined" and quote["decline_reason"] == "Giá cao hơn đối thủ"
    assert quote["decided_at"] == "2026-11-23T03:00:00Z"
    assert json.loads(ok(crm("deal", "show", str(deal), "-f", "json")))["status"] == "open"
    ok(crm("undo", "--yes"))
    assert shown(crm, 1)["status"] == "open" and shown(crm, 1)["decline_reason"] is None


def test_an_expired_quote_can_be_declined(crm, deal, monkeypatch) -> None:
    new_id(crm("quote", "create", str(deal), "--valid-until", "2026-11-25"))
    at(monkeypatch, "2026-12-10T09:00:00")
    ok(crm("quote", "decline", "1", "--reason", "too late"))
    assert shown(crm, 1)["status"] == "declined"


def test_decline_needs_a_reason(crm, deal, db_path) -> None:
    new_id(crm("quote", "create", str(deal)))
    before = dump(db_path)
    result = crm("quote", "decline", "1")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--reason" in result.stderr
    assert refused(crm, db_path, "quote", "decline", "1", "--reason", "  ") == (
        "crm: error: invalid --reason '  ': must not be empty\n"
    )
    assert dump(db_path) == before


# -- ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("show",), ("accept",), ("decline", "--reason", "x")])
@pytest.mark.parametrize("ref", ["99", "Q-2026-0099", "Q-2026-0001v9"])
def test_unknown_quotes_exit_1(crm, deal, db_path, command, ref) -> None:
    new_id(crm("quote", "create", str(deal)))
    name, *rest = command
    assert (
        refused(crm, db_path, "quote", name, ref, *rest, code=1) == f"crm: error: no quote {ref}\n"
    )


@pytest.mark.parametrize("ref", ["", "  ", "Q\x00", "x" * 65])
def test_what_cannot_name_a_quote(crm, deal, db_path, ref) -> None:
    new_id(crm("quote", "create", str(deal)))
    message = refused(crm, db_path, "quote", "show", ref)
    assert message.startswith("crm: error: invalid ID ")
    assert message.endswith(": not a quote id or number (e.g. 7 or Q-2026-0007 v2)\n")


def test_show_takes_several_ids_and_numbers_from_stdin(crm, customer, deal) -> None:
    new_id(crm("quote", "create", str(deal)))
    other = make_deal(crm, customer, "Màn hình")
    new_id(crm("quote", "create", str(other)))
    result = crm("quote", "show", "-", "-f", "json", input="1\n\nQ-2026-0002\n1\nQ-2026-0001\n")
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["number"] for r in records] == ["Q-2026-0001", "Q-2026-0002"]
    piped = ok(crm("quote", "list", "-f", "ids"))
    assert piped == "1\n2\n"
    result = crm("quote", "show", "-", "-f", "tsv", input=piped)
    assert result.stdout.splitlines()[0].split("\t")[:3] == ["id", "uid", "number"]
    assert len(result.stdout.splitlines()) == 3
    empty = crm("quote", "show", "-", input="")
    assert empty.exit_code == 0 and empty.stdout == ""
    assert empty.stderr == "no ids on stdin: nothing to do\n"


def test_an_unknown_id_among_several_shows_nothing(crm, deal) -> None:
    new_id(crm("quote", "create", str(deal)))
    result = crm("quote", "show", "1", "7", "-f", "json")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == "crm: error: no quote 7\n"


# -- list -----------------------------------------------------------------------------------


@pytest.fixture
def three(crm, customer, deal, monkeypatch) -> dict[str, int]:
    """Quote 1 accepted (deal 1), quote 2 open for another customer, quote 3 expired."""
    new_id(crm("quote", "create", str(deal)))
    ok(crm("quote", "accept", "1"))
    other_customer = new_id(crm("customer", "add", "Trần Thị Bích"))
    other = make_deal(crm, other_customer, "Máy in")
    new_id(crm("quote", "create", str(other)))
    third = make_deal(crm, customer, "Ghế")
    new_id(crm("quote", "create", str(third), "--valid-until", "2026-11-24"))
    at(monkeypatch, "2026-11-26T09:00:00")
    return {"customer": customer, "other_customer": other_customer, "other": other}


def test_list_filters(crm, three) -> None:
    assert [q["id"] for q in listed(crm)] == [1, 2, 3]
    assert [q["status"] for q in listed(crm)] == ["accepted", "open", "expired"]
    assert [q["id"] for q in listed(crm, "--customer", str(three["customer"]))] == [1, 3]
    assert [q["id"] for q in listed(crm, "--deal", str(three["other"]))] == [2]
    assert [q["id"] for q in listed(crm, "--status", "open,expired")] == [2, 3]
    assert [q["id"] for q in listed(crm, "-s", "accepted", "-s", "open")] == [1, 2]
    assert [q["id"] for q in listed(crm, "--limit", "2")] == [1, 2]
    assert listed(crm, "--status", "declined") == []


def test_list_in_every_format(crm, three) -> None:
    from crmcli.core.money.quotes import COLUMNS

    rows = listed(crm)
    assert list(rows[0]) == list(COLUMNS)
    assert rows[1]["total"] == 4_450_000 and rows[1]["customer"] == "Trần Thị Bích"
    tsv = ok(crm("quote", "list", "-f", "tsv")).splitlines()
    assert tsv[0].split("\t") == list(COLUMNS) and len(tsv) == 4
    assert tsv[2].split("\t")[COLUMNS.index("total")] == "4450000"
    csv_text = ok(crm("quote", "list", "-f", "csv"))
    assert csv_text.splitlines()[0] == ",".join(COLUMNS)
    lines = ok(crm("quote", "list", "-f", "jsonl")).splitlines()
    assert [json.loads(line)["label"] for line in lines] == ["Q-2026-0001", "Q-2026-0002",
                                                           "Q-2026-0003"]  # fmt: skip
    assert ok(crm("quote", "list", "-f", "ids")) == "1\n2\n3\n"
    table = ok(crm("quote", "list", "-f", "table"))
    assert "Q-2026-0002" in table and "4,450,000 VND" in table and "expired" in table
    assert "Trần Thị Bích" in table


def test_list_bad_filters(crm, three, db_path) -> None:
    assert refused(crm, db_path, "quote", "list", "--status", "maybe") == (
        "crm: error: invalid --status 'maybe': choose one of open, accepted, declined, "
        "superseded, expired\n"
    )
    assert refused(crm, db_path, "quote", "list", "--customer", "99", code=1) == (
        "crm: error: no customer 99\n"
    )
    assert refused(crm, db_path, "quote", "list", "--deal", "99", code=1) == (
        "crm: error: no deal 99\n"
    )


def test_list_empty(crm, customer) -> None:
    result = crm("quote", "list", "-f", "table")
    assert result.exit_code == 0
    assert "no quotes match" in result.stdout + result.stderr


def test_show_as_a_card(crm, deal) -> None:
    new_id(crm("quote", "create", str(deal), "--note", "Giao hàng trong 2 tuần"))
    card = ok(crm("quote", "show", "1", "-f", "table"))
    for text in ("Q-2026-0001", "Nguyễn Văn An", "4,843,200 VND", "Bàn phím cơ", "5%",
                 "665,000 VND", "Keychron VN", "2026-12-10", "Tax (2)", "Versions (1)",
                 "Giao hàng trong 2 tuần"):  # fmt: skip
        assert text in card, text
    row = ok(crm("quote", "show", "1", "-f", "csv")).splitlines()
    assert row[0].startswith("id,uid,number,version,label") and len(row) == 2
    line = json.loads(ok(crm("quote", "show", "1", "-f", "jsonl")))
    assert line["items"][0]["product"] == "Bàn phím cơ"


# -- history, export, forget, demo ----------------------------------------------------------


def test_history_tells_quote_events(crm, deal) -> None:
    new_id(crm("quote", "create", str(deal)))
    ok(crm("quote", "accept", "1"))
    entries = json.loads(ok(crm("history", "--entity", "quote", "-f", "json")))
    changes = [(e["record"], e["action"], e["changes"]) for e in entries]
    assert ("quote 1", "update",
            "status: open → accepted; decided_at: – → 2026-11-23T03:00:00Z") in changes  # fmt: skip
    assert ("quote 1", "insert", "Q-2026-0001 for deal 1: 4,843,200 VND, open") in changes
    assert ("quote line 1", "insert", "Bàn phím cơ × 3") in changes


def test_export_person_includes_quotes_with_items(crm, customer, deal) -> None:
    new_id(crm("quote", "create", str(deal), "--note", "Giao hàng trong 2 tuần"))
    document = json.loads(ok(crm("customer", "export-person", str(customer))))
    (quote,) = document["quotes"]
    assert quote["number"] == "Q-2026-0001" and quote["deal_id"] == deal
    assert [i["product"] for i in quote["items"]] == ["Bàn phím cơ", "Chuột không dây"]


def test_forget_erases_the_quotes_text_and_keeps_the_figures(crm, customer, deal, db_path) -> None:
    new_id(crm("quote", "create", str(deal), "--note", "Gọi chị Lan trước khi giao"))
    ok(crm("quote", "decline", "1", "--reason", "Anh An đã mua chỗ khác"))
    ok(crm("customer", "forget", str(customer), "--yes"))
    (row,) = query(db_path, "SELECT note, decline_reason, total, status FROM quotes")
    assert row[0] in (None, "") and "An" not in str(row[1]) and row[2:] == (4_843_200, "declined")
    products = query(db_path, "SELECT product FROM quote_items")
    assert all("Bàn phím" not in p and "Chuột" not in p for (p,) in products)
    data = db_path.read_bytes()
    assert "Gọi chị Lan".encode() not in data and "đã mua chỗ khác".encode() not in data


def test_demo_has_quotes_in_each_state(crm) -> None:
    ok(crm("demo", "-f", "tsv"))
    quotes = listed(crm)
    assert sorted(q["status"] for q in quotes) == ["accepted", "declined", "expired", "open"]
    accepted = next(q for q in quotes if q["status"] == "accepted")
    deal = json.loads(ok(crm("deal", "show", str(accepted["deal_id"]), "-f", "json")))
    assert deal["status"] == "won"
    for quote in quotes:
        record = shown(crm, quote["id"])
        assert record["items"] and record["total"] == sum(i["net"] for i in record["items"])
