"""``crm deal …`` in-process: stages, moves, end states, items, the pipeline, bad input."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import dump


def new_id(result) -> int:
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


@pytest.fixture
def customer(crm) -> int:
    return new_id(crm("customer", "add", "Nguyễn Thị Đào", "--email", "dao@example.vn"))


def deal(crm, customer: int, *args: str, title: str = "20 laptops") -> int:
    return new_id(crm("deal", "add", title, "--customer", str(customer), *args))


def shown(crm, deal_id: int) -> dict:
    result = crm("deal", "show", str(deal_id), "-f", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def history(crm, deal_id: int) -> list[tuple[str | None, str]]:
    return [(h["from_stage"], h["to_stage"]) for h in shown(crm, deal_id)["history"]]


def test_add_prints_the_id_and_defaults(crm, customer) -> None:
    result = crm("deal", "add", "Support plan", "--customer", str(customer))
    assert result.stdout == "1\n"
    assert "Added deal 1: Support plan (new)" in result.stderr
    record = shown(crm, 1)
    assert record["stage"] == "new" and record["status"] == "open"
    assert record["probability"] == 10  # the stage's
    assert record["amount"] is None and record["currency"] == "USD"  # the configured default
    assert record["customer"] == "Nguyễn Thị Đào"
    assert history(crm, 1) == [(None, "new")]


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("1200", 120000, "USD"),
        ("1,200.50", 120050, "USD"),
        ("$99", 9900, "USD"),
        ("1.200.000 VND", 1200000, "VND"),
        ("99 EUR", 9900, "EUR"),
        ("5000 JPY", 5000, "JPY"),
    ],
)
def test_amounts(crm, customer, text: str, amount: int, currency: str) -> None:
    deal_id = deal(crm, customer, "--amount", text)
    record = shown(crm, deal_id)
    assert (record["amount"], record["currency"]) == (amount, currency)


def test_currency_without_an_amount(crm, customer) -> None:
    deal_id = deal(crm, customer, "--currency", "vnd")
    assert (shown(crm, deal_id)["amount"], shown(crm, deal_id)["currency"]) == (None, "VND")
    deal_id = deal(crm, customer, "--currency", "JPY", "--amount", "5000")
    assert (shown(crm, deal_id)["amount"], shown(crm, deal_id)["currency"]) == (5000, "JPY")
    clash = crm("deal", "add", "X", "--customer", str(customer), "--currency", "EUR",
                "--amount", "5 USD")  # fmt: skip
    assert clash.exit_code == 2 and "is in USD, not EUR" in clash.stderr


def test_default_currency_is_a_setting(crm, customer) -> None:
    assert crm("config", "set", "currency", "vnd").exit_code == 0
    deal_id = deal(crm, customer, "--amount", "1.500.000")
    assert (shown(crm, deal_id)["amount"], shown(crm, deal_id)["currency"]) == (1500000, "VND")


def test_story_move_won_paid(crm, customer) -> None:
    deal_id = deal(crm, customer, "--amount", "450.000.000 VND", "--close", "2026-12-15")
    assert crm("deal", "move", str(deal_id), "qualified").exit_code == 0
    result = crm("deal", "move", str(deal_id), "Proposal")  # stage names ignore case
    assert result.exit_code == 0 and "Moved deal 1 to proposal" in result.stderr
    result = crm("deal", "move", str(deal_id), "proposal")
    assert result.exit_code == 0 and "already in proposal" in result.stderr
    result = crm(
        "deal", "won", str(deal_id), "--contract-start", "2027-01-01",
        "--contract-end", "2027-12-31", "--payment-due", "in 30 days",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "Won deal 1: 20 laptops (450,000,000 VND)" in result.stderr
    record = shown(crm, deal_id)
    assert record["status"] == "won" and record["stage"] == "won"
    assert record["probability"] == 100
    assert record["closed_at"] == "2026-11-23T03:00:00Z"  # 10:00 in Hồ Chí Minh City
    assert (record["contract_start"], record["contract_end"]) == ("2027-01-01", "2027-12-31")
    assert record["payment_due"] == "2026-12-23"
    assert history(crm, deal_id) == [
        (None, "new"), ("new", "qualified"), ("qualified", "proposal"), ("proposal", "won"),
    ]  # fmt: skip
    assert crm("deal", "paid", str(deal_id)).exit_code == 0
    assert shown(crm, deal_id)["paid_at"] == "2026-11-23T03:00:00Z"
    assert "already paid" in crm("deal", "paid", str(deal_id)).stderr
    gone = crm("deal", "paid", str(deal_id), "--undo")
    assert (gone.exit_code, gone.stdout) == (2, "")
    assert "crm undo" in gone.stderr
    assert crm("undo", "--yes").exit_code == 0  # the payment goes, the invoice is open again
    record = shown(crm, deal_id)
    assert (record["paid_at"], record["payment_due"]) == (None, "2026-12-23")


def test_lost_needs_a_reason_and_stays_lost(crm, customer, db_path: Path) -> None:
    deal_id = deal(crm, customer, "--amount", "99")
    before = dump(db_path)
    missing = crm("deal", "lost", str(deal_id))
    assert missing.exit_code == 2 and "--reason" in missing.stderr
    empty = crm("deal", "lost", str(deal_id), "--reason", "  ")
    assert empty.exit_code == 2
    assert empty.stderr.strip() == "crm: error: invalid --reason '  ': must not be empty"
    assert dump(db_path) == before
    result = crm("deal", "lost", str(deal_id), "--reason", "chose a cheaper supplier")
    assert result.exit_code == 0
    record = shown(crm, deal_id)
    assert (record["status"], record["lost_reason"]) == ("lost", "chose a cheaper supplier")
    # Editing a lost deal never un-loses it; moving it needs --reopen.
    assert crm("deal", "edit", str(deal_id), "--amount", "120").exit_code == 0
    assert shown(crm, deal_id)["status"] == "lost"
    before = dump(db_path)
    refused = crm("deal", "move", str(deal_id), "proposal")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "crm: error: deal 1 is lost; crm deal move 1 proposal --reopen reopens it\n"
    )
    assert crm("deal", "won", str(deal_id)).exit_code == 1
    assert crm("deal", "lost", str(deal_id), "--reason", "again").exit_code == 1
    assert dump(db_path) == before
    reopened = crm("deal", "move", str(deal_id), "proposal", "--reopen")
    assert reopened.exit_code == 0 and "Reopened deal 1 to proposal" in reopened.stderr
    record = shown(crm, deal_id)
    assert (record["status"], record["lost_reason"], record["closed_at"]) == ("open", None, None)
    assert history(crm, deal_id)[-2:] == [("new", "lost"), ("lost", "proposal")]


def test_end_states_are_reached_by_their_commands(crm, customer) -> None:
    deal_id = deal(crm, customer)
    to_won = crm("deal", "move", str(deal_id), "won")
    assert to_won.exit_code == 2 and "crm deal won 1" in to_won.stderr
    to_lost = crm("deal", "move", str(deal_id), "lost")
    assert to_lost.exit_code == 2 and "--reason" in to_lost.stderr
    into_end = crm("deal", "add", "X", "--customer", str(customer), "--stage", "won")
    assert into_end.exit_code == 2 and "end state" in into_end.stderr
    assert crm("deal", "move", str(deal_id), "new", "--reopen").exit_code == 2


def test_probability_own_or_the_stages(crm, customer) -> None:
    deal_id = deal(crm, customer, "--amount", "1000", "--probability", "90%")
    assert shown(crm, deal_id)["probability"] == 90
    assert shown(crm, deal_id)["weighted"] == 90000
    assert crm("deal", "move", str(deal_id), "proposal").exit_code == 0
    assert shown(crm, deal_id)["probability"] == 90  # its own stays
    assert crm("deal", "edit", str(deal_id), "--unset", "probability").exit_code == 0
    assert shown(crm, deal_id)["probability"] == 50  # now the stage's


def test_list_filters(crm, customer) -> None:
    other = new_id(crm("customer", "add", "Lê Văn Tám"))
    a = deal(crm, customer, "--close", "2026-11-30", title="A")
    b = deal(crm, other, "--stage", "proposal", "--close", "2026-12-31", title="B")
    c = deal(crm, other, title="C")
    crm("deal", "won", str(c))

    def ids(*args: str) -> list[int]:
        result = crm("deal", "list", "-f", "ids", *args)
        assert result.exit_code == 0, result.stderr
        return [int(x) for x in result.stdout.split()]

    assert ids() == [a, b, c]
    assert ids("--stage", "proposal") == [b]
    assert ids("--customer", str(other)) == [b, c]
    assert ids("--open") == [a, b]
    assert ids("--won") == [c]
    assert ids("--lost") == []
    assert ids("--closing-before", "2026-12-01") == [a]
    assert ids("--closing-before", "end of month") == []  # 2026-11-30 is not before itself
    assert ids("--closing-before", "tomorrow") == []
    assert ids("--sort", "-close") == [b, a, c]
    assert ids("--limit", "1") == [a]
    both = crm("deal", "list", "--open", "--won")
    assert both.exit_code == 2 and "one of --open, --won, --lost" in both.stderr


def test_list_formats_and_overdue(crm, customer) -> None:
    deal(crm, customer, "--amount", "1,200.50", "--close", "2026-11-01", title="Late")
    deal(crm, customer, title="No date")
    rows = json.loads(crm("deal", "list", "-f", "json").stdout)
    assert [r["overdue"] for r in rows] == [True, False]
    assert rows[0]["amount"] == 120050 and rows[0]["weighted"] == 12005  # 10 %, half up
    tsv = crm("deal", "list").stdout.splitlines()
    assert tsv[0].startswith("id\tuid\ttitle\tcustomer_id\tcustomer\tstage\tstatus\tamount")
    table = crm("deal", "list", "-f", "table").stdout
    assert "1,200.50 USD" in table and "2026-11-01 !" in table


def test_items_make_the_amount(crm, customer, db_path: Path) -> None:
    deal_id = deal(crm, customer, "--amount", "5000000 VND")
    first = crm("deal", "item", "add", str(deal_id), "Laptop X1", "--qty", "2",
                "--price", "22.500.000")  # fmt: skip
    assert first.exit_code == 0, first.stderr
    assert first.stdout == "1\n" and "45,000,000 VND" in first.stderr
    new_id(crm("deal", "item", "add", str(deal_id), "Mouse", "--qty", "2", "--price", "250000"))
    assert shown(crm, deal_id)["amount"] == 45_500_000
    items = json.loads(crm("deal", "item", "list", str(deal_id), "-f", "json").stdout)["items"]
    assert [(i["product"], i["quantity"], i["unit_price"], i["net"]) for i in items] == [
        ("Laptop X1", 2, 22_500_000, 45_000_000),
        ("Mouse", 2, 250_000, 500_000),
    ]
    before = dump(db_path)
    refused = crm("deal", "edit", str(deal_id), "--amount", "1")
    assert refused.exit_code == 2 and "line items" in refused.stderr
    wrong_currency = crm("deal", "item", "add", str(deal_id), "Bag", "--price", "10 USD")
    assert wrong_currency.exit_code == 2 and "is in VND" in wrong_currency.stderr
    too_precise = crm("deal", "item", "add", str(deal_id), "Bag", "--price", "10.5")
    assert too_precise.exit_code == 2
    zero = crm("deal", "item", "add", str(deal_id), "Bag", "--qty", "0", "--price", "10")
    assert zero.exit_code == 2 and "--qty" in zero.stderr
    assert dump(db_path) == before
    assert crm("deal", "item", "remove", "1").exit_code == 0
    assert shown(crm, deal_id)["amount"] == 500_000
    assert crm("deal", "item", "remove", "2").exit_code == 0
    assert shown(crm, deal_id)["amount"] is None
    assert crm("deal", "item", "remove", "2").stderr == "crm: error: no line item 2\n"


def test_stage_configuration_with_deals_in_place(crm, customer, db_path: Path) -> None:
    in_proposal = deal(crm, customer, "--stage", "proposal")
    result = crm("deal", "stages", "add", "demo", "--probability", "40", "--after", "qualified")
    assert result.exit_code == 0, result.stderr
    names = [s["name"] for s in json.loads(crm("deal", "stages", "-f", "json").stdout)]
    assert names == ["new", "qualified", "demo", "proposal", "negotiation", "won", "lost"]
    assert crm("deal", "stages", "rename", "proposal", "quote").exit_code == 0
    assert shown(crm, in_proposal)["stage"] == "quote"  # the deal follows the rename
    assert crm("deal", "stages", "move", "negotiation", "--before", "demo").exit_code == 0
    assert crm("deal", "stages", "edit", "quote", "--probability", "60").exit_code == 0
    stages = json.loads(crm("deal", "stages", "-f", "json").stdout)
    assert [(s["name"], s["position"], s["probability"], s["deals"]) for s in stages[:5]] == [
        ("new", 1, 10, 0), ("qualified", 2, 25, 0), ("negotiation", 3, 75, 0),
        ("demo", 4, 40, 0), ("quote", 5, 60, 1),
    ]  # fmt: skip
    assert shown(crm, in_proposal)["probability"] == 60
    before = dump(db_path)
    refused = crm("deal", "stages", "remove", "quote")
    assert refused.exit_code == 1
    assert refused.stderr == "crm: error: 1 deal sits in quote; move it with --to STAGE\n"
    bad_edits = (
        ["add", "Demo", "--probability", "10"], ["add", "x", "--probability", "101"],
        ["rename", "nope", "x"], ["remove", "won"], ["edit", "won", "--probability", "5"],
        ["move", "demo"], ["add", "y", "--probability", "5", "--after", "lost"],
    )  # fmt: skip
    for bad in bad_edits:
        result = crm("deal", "stages", *bad)
        assert result.exit_code in (1, 2), bad
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("crm: error:"), bad
    assert dump(db_path) == before
    moved = crm("deal", "stages", "remove", "quote", "--to", "demo")
    assert moved.exit_code == 0 and "moved 1 deal to demo" in moved.stderr
    assert shown(crm, in_proposal)["stage"] == "demo"
    assert history(crm, in_proposal) == [(None, "quote"), ("quote", "demo")]
    names = [s["name"] for s in json.loads(crm("deal", "stages", "-f", "json").stdout)]
    assert names == ["new", "qualified", "negotiation", "demo", "won", "lost"]
    # A removed stage's name can be used again.
    assert crm("deal", "stages", "add", "quote", "--probability", "55").exit_code == 0


def test_pipeline_records_keep_currencies_apart(crm, customer) -> None:
    deal(crm, customer, "--amount", "100", "--close", "2026-11-01")
    deal(crm, customer, "--amount", "1.000.000 VND", "--probability", "33")
    deal(crm, customer, "--amount", "50.50")
    deal(crm, customer, "--stage", "proposal")  # no amount
    won = deal(crm, customer, "--amount", "999")
    crm("deal", "won", str(won))
    rows = json.loads(crm("deal", "pipeline", "-f", "json").stdout)
    assert rows == [
        {"stage": "new", "position": 1, "probability": 10, "currency": "USD", "deals": 2,
         "total": 15050, "weighted": 1505, "overdue": 1},
        {"stage": "new", "position": 1, "probability": 10, "currency": "VND", "deals": 1,
         "total": 1000000, "weighted": 330000, "overdue": 0},
        {"stage": "qualified", "position": 2, "probability": 25, "currency": None, "deals": 0,
         "total": None, "weighted": None, "overdue": 0},
        {"stage": "proposal", "position": 3, "probability": 50, "currency": "USD", "deals": 1,
         "total": None, "weighted": None, "overdue": 0},
        {"stage": "negotiation", "position": 4, "probability": 75, "currency": None,
         "deals": 0, "total": None, "weighted": None, "overdue": 0},
    ]  # fmt: skip
    tsv = crm("deal", "pipeline").stdout.splitlines()
    assert tsv[0] == "stage\tposition\tprobability\tcurrency\tdeals\ttotal\tweighted\toverdue"


def test_pipeline_board_summarises(crm, customer) -> None:
    for i in range(12):
        deal(crm, customer, "--amount", f"{i + 1}00", "--close", f"2026-12-{i + 1:02d}",
             title=f"Deal {i}")  # fmt: skip
    deal(crm, customer, "--amount", "5 EUR", "--stage", "negotiation", title="[bold]x[/]")
    board = crm("deal", "pipeline", "-f", "table", "--cards", "3").stdout
    assert "new (10 %)" in board and "negotiation (75 %)" in board
    assert "Deal 0" in board and "Deal 2" in board and "Deal 3" not in board
    assert "and 9 more" in board
    assert "12 deals" in board and "7,800.00 USD" in board and "weighted 780.00 USD" in board
    assert "[bold]x[/]" in board  # markup in user text is printed, not interpreted
    assert "5.00 EUR" in board


def test_customer_show_lists_deals(crm, customer) -> None:
    deal(crm, customer, "--amount", "100", title="Big one")
    record = json.loads(crm("customer", "show", str(customer), "-f", "json").stdout)
    assert [(d["title"], d["stage"], d["amount"]) for d in record["deals"]] == [
        ("Big one", "new", 10000)
    ]
    table = crm("customer", "show", str(customer), "-f", "table").stdout
    assert "Big one" in table and "100.00 USD" in table


def test_merge_and_delete_carry_deals(crm, customer) -> None:
    other = new_id(crm("customer", "add", "Đào Nguyễn", "--email", "dao2@example.vn"))
    moved = deal(crm, other, title="From the duplicate")
    assert crm("customer", "merge", str(customer), str(other), "--yes").exit_code == 0
    assert shown(crm, moved)["customer_id"] == customer
    result = crm("customer", "delete", str(customer), "--yes")
    assert result.exit_code == 0 and "1 deal" in result.stderr
    assert crm("deal", "show", str(moved)).stderr == f"crm: error: no deal {moved}\n"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["deal", "add", "X", "--customer", "99"], 1, "crm: error: no customer 99"),
        (
            ["deal", "add", "X", "--customer", "1", "--stage", "nope"],
            2,
            "crm: error: invalid stage 'nope': no such stage; the stages are: new, qualified, "
            "proposal, negotiation, won, lost",
        ),
        (
            ["deal", "add", "X", "--customer", "1", "--amount", "-5"],
            2,
            "crm: error: invalid --amount '-5': must not be negative",
        ),
        (["deal", "add", "X", "--customer", "1", "--amount", "10.5 VND"], 2, "VND"),
        (["deal", "add", "X", "--customer", "1", "--amount", "1.234 USD"], 2, "1.234 USD"),
        (["deal", "add", "X", "--customer", "1", "--amount", "12 ABC"], 2, "currency"),
        (["deal", "add", "X", "--customer", "1", "--probability", "150"], 2, "--probability"),
        (["deal", "add", "X", "--customer", "1", "--close", "31/02/2027"], 2, "--close-date"),
        (["deal", "add", "X", "--customer", "1", "--close", "soonish"], 2, "--close-date"),
        (["deal", "add", " ", "--customer", "1"], 2, "title"),
        (["deal", "add", "x" * 201, "--customer", "1"], 2, "too long"),
        (["deal", "move", "99", "proposal"], 1, "crm: error: no deal 99"),
        (["deal", "show", "99"], 1, "crm: error: no deal 99"),
        (["deal", "paid", "1"], 1, "only a won deal is paid"),
        (["deal", "list", "--sort", "bogus"], 2, "--sort"),
        (["deal", "edit", "1", "--unset", "customer_id"], 2, "--unset"),
        (["deal", "item", "add", "1", "X", "--price", "abc"], 2, "--price"),
        (["deal", "item", "add", "99", "X", "--price", "1"], 1, "no deal 99"),
    ],
)
def test_bad_input_one_line_exit_code_nothing_written(
    crm, customer, db_path: Path, args: list[str], code: int, message: str
) -> None:
    deal(crm, customer, title="Existing")
    before = dump(db_path)
    result = crm(*args)
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("crm: error:")
    assert message in result.stderr
    assert dump(db_path) == before


def test_every_stage_change_is_in_the_audit_trail(crm, customer, db_path: Path) -> None:
    deal_id = deal(crm, customer)
    crm("deal", "move", str(deal_id), "proposal")
    conn = sqlite3.connect(db_path)
    rows = conn.execute(
        "SELECT a.command_id, a.table_name, a.action FROM audit a "
        "WHERE a.table_name LIKE 'deal%' ORDER BY a.id"
    ).fetchall()
    conn.close()
    first = rows[0][0]
    assert rows == [
        (first, "deals", "insert"),
        (first, "deal_stage_changes", "insert"),
        (first + 1, "deals", "update"),
        (first + 1, "deal_stage_changes", "insert"),
    ]


def test_board_stays_readable_with_six_stages_and_500_deals(crm, customer, db_path: Path) -> None:
    from crmcli.core import deals
    from crmcli.core.settings import Config
    from crmcli.db import open_db

    crm("deal", "stages", "add", "demo", "--probability", "35", "--after", "qualified")
    crm("deal", "stages", "add", "contract", "--probability", "90")
    database = open_db(db_path, create=False)
    stages = ["new", "qualified", "demo", "proposal", "negotiation", "contract"]
    with database.write(["crm", "test"]):
        for i in range(500):
            data = deals.prepare(
                {"title": f"Deal {i}", "amount": f"{i + 1} EUR", "stage": stages[i % 6],
                 "close_date": f"2026-12-{i % 28 + 1:02d}"},
                Config(),
            )  # fmt: skip
            deals.add(database, customer, data)
    database.close()
    board = crm("deal", "pipeline", "-f", "table").stdout
    assert len(board.splitlines()) < 60  # five cards a column, the rest summarised
    assert board.count("and 79 more") == 2 and board.count("and 78 more") == 4
    assert "84 deals" in board and "83 deals" in board
    records = json.loads(crm("deal", "pipeline", "-f", "json").stdout)
    assert sum(r["deals"] for r in records) == 500
    assert [r["stage"] for r in records] == stages


def test_list_for_an_unknown_customer_says_so(crm) -> None:
    assert crm("customer", "add", "Lâm Vỹ").exit_code == 0
    result = crm("deal", "list", "--customer", "4242", "-f", "tsv")
    assert result.exit_code == 1
    assert result.stdout == "" and result.stderr == "crm: error: no customer 4242\n"
