"""``crm deal item …`` as an order: unit, discount, tax, supplier, delivery; edit, unset,
delivered; the deal's amount is the items' total; bad input writes nothing.

The clock is pinned (CRM_NOW 2026-11-23 10:00, Asia/Ho_Chi_Minh)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import dump, query


def new_id(result) -> int:
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


@pytest.fixture
def deal(crm) -> int:
    """A deal in VND (no decimals) for customer 1."""
    new_id(crm("customer", "add", "Công ty An Phát"))
    return new_id(crm("deal", "add", "Office network", "-c", "1", "--currency", "VND"))


@pytest.fixture
def usd_deal(crm) -> int:
    new_id(crm("customer", "add", "Acme"))
    return new_id(crm("deal", "add", "Licences", "-c", "1", "--amount", "10 USD"))


def order(crm, deal_id: int) -> dict:
    result = crm("deal", "item", "list", str(deal_id), "-f", "json")
    assert result.exit_code == 0, result.stderr
    doc: dict = json.loads(result.stdout)
    return doc


def amount(crm, deal_id: int) -> int | None:
    result = crm("deal", "show", str(deal_id), "-f", "json")
    assert result.exit_code == 0, result.stderr
    value: int | None = json.loads(result.stdout)["amount"]
    return value


def add(crm, deal_id: int, *args: str) -> int:
    return new_id(crm("deal", "item", "add", str(deal_id), *args))


def test_every_option_is_stored(crm, deal: int) -> None:
    result = crm(
        "deal", "item", "add", str(deal), "Router AX3000", "3", "2.490.000", "--unit", "pcs",
        "--discount", "5%", "--tax", "10%", "--supplier", "Minh Phát", "--delivery",
        "in 2 weeks",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "1\n"
    item = order(crm, deal)["items"][0]
    assert {k: item[k] for k in ("product", "unit", "quantity", "unit_price", "discount_bp",
                                 "discount_amount", "tax_bp", "supplier", "delivery_date",
                                 "delivered_at", "currency")} == {  # fmt: skip
        "product": "Router AX3000", "unit": "pcs", "quantity": 3, "unit_price": 2_490_000,
        "discount_bp": 500, "discount_amount": None, "tax_bp": 1000, "supplier": "Minh Phát",
        "delivery_date": "2026-12-07", "delivered_at": None, "currency": "VND",
    }  # fmt: skip
    # 7,470,000 less 5 % (373,500) = 7,096,500; 10 % tax 709,650: total 7,806,150.
    assert (item["gross"], item["discount"], item["net"]) == (7_470_000, 373_500, 7_096_500)
    assert amount(crm, deal) == 7_806_150
    assert "deal 1 is now 7,806,150 VND" in result.stderr


def test_the_old_options_still_work(crm, deal: int) -> None:
    item = add(crm, deal, "Mouse", "--qty", "2", "-p", "250000")
    assert order(crm, deal)["items"][0]["quantity"] == 2
    assert amount(crm, deal) == 500_000
    default = add(crm, deal, "Free advice")  # quantity 1, price 0
    assert [(i["id"], i["quantity"], i["unit_price"]) for i in order(crm, deal)["items"]] == [
        (item, 2, 250_000), (default, 1, 0),
    ]  # fmt: skip
    twice = crm("deal", "item", "add", str(deal), "X", "2", "--qty", "3")
    assert twice.exit_code == 2 and twice.stderr.count("\n") == 1 and "QTY" in twice.stderr


@pytest.mark.parametrize(
    ("args", "field", "expected"),
    [
        (["--discount", "10%"], "discount_bp", 1000),
        (["--discount", "8.5 %"], "discount_bp", 850),
        (["--discount", "12.000"], "discount_amount", 12_000),
        (["--discount", "12.000 VND"], "discount_amount", 12_000),
        (["--tax", "0"], "tax_bp", 0),
        (["--tax", "5%"], "tax_bp", 500),
        (["--tax", "8"], "tax_bp", 800),
        (["--tax", "5,25%"], "tax_bp", 525),
        (["--tax", "1000%"], "tax_bp", 100_000),
        (["--delivery", "2026-12-15"], "delivery_date", "2026-12-15"),
        (["--delivery", "friday"], "delivery_date", "2026-11-27"),
        (["--unit", "tháng"], "unit", "tháng"),
    ],
)
def test_option_values(crm, deal: int, args: list[str], field: str, expected: object) -> None:
    add(crm, deal, "Line", "4", "100.000", *args)
    assert order(crm, deal)["items"][0][field] == expected


def test_the_deal_amount_is_the_totals_rule(crm, deal: int) -> None:
    add(crm, deal, "Router", "3", "2.490.000", "--tax", "10%")
    add(crm, deal, "Switch", "2", "4.150.000", "--discount", "5%", "--tax", "10%")
    add(crm, deal, "Installation", "8", "350.000", "--discount", "200.000", "--tax", "8%")
    add(crm, deal, "Manual", "1", "99.999")  # no tax
    doc = order(crm, deal)
    assert doc["deal_id"] == deal and doc["currency"] == "VND"
    assert doc["totals"] == {
        "subtotal": 18_669_999,
        "discount": 615_000,
        "net": 18_054_999,
        # tax per rate on the sum of the nets with that rate, half up
        "taxes": [
            {"rate_bp": 800, "base": 2_600_000, "tax": 208_000},
            {"rate_bp": 1000, "base": 15_355_000, "tax": 1_535_500},
        ],
        "tax": 1_743_500,
        "total": 19_798_499,
    }
    assert amount(crm, deal) == 19_798_499
    # Removing items keeps following the rule; no item left: no amount.
    assert crm("deal", "item", "remove", "4").exit_code == 0
    assert amount(crm, deal) == 19_698_500
    for item in (1, 2, 3):
        assert crm("deal", "item", "remove", str(item)).exit_code == 0
    assert amount(crm, deal) is None


def test_half_up_in_cents(crm, usd_deal: int) -> None:
    # 3 × 0.35 = 1.05; 10 % off = 0.105 -> 0.11 (half up); net 0.94; 5 % tax 0.047 -> 0.05.
    add(crm, usd_deal, "Sticker", "3", "0.35", "--discount", "10%", "--tax", "5%")
    totals = order(crm, usd_deal)["totals"]
    assert (totals["discount"], totals["net"], totals["tax"], totals["total"]) == (11, 94, 5, 99)
    assert amount(crm, usd_deal) == 99


def test_list_formats(crm, deal: int) -> None:
    add(crm, deal, "Router", "3", "2.490.000", "--tax", "10%", "--supplier", "Minh Phát",
        "--delivery", "2026-11-25")  # fmt: skip
    add(crm, deal, "Switch", "2", "4.150.000", "--discount", "5%", "--unit", "pcs")
    tsv = crm("deal", "item", "list", str(deal), "-f", "tsv").stdout
    rows = list(csv.DictReader(io.StringIO(tsv), delimiter="\t"))
    assert [(r["id"], r["net"], r["tax_bp"], r["supplier"]) for r in rows] == [
        ("1", "7470000", "1000", "Minh Phát"), ("2", "7885000", "", ""),
    ]  # fmt: skip
    csv_rows = list(csv.DictReader(io.StringIO(crm("deal", "item", "list", str(deal), "-f",
                                                   "csv").stdout)))  # fmt: skip
    assert [r["discount_bp"] for r in csv_rows] == ["", "500"]
    jsonl = crm("deal", "item", "list", str(deal), "-f", "jsonl").stdout.splitlines()
    assert [json.loads(line)["product"] for line in jsonl] == ["Router", "Switch"]
    assert crm("deal", "item", "list", str(deal), "-f", "ids").stdout == "1\n2\n"
    table = crm("deal", "item", "list", str(deal), "-f", "table").stdout
    for text in ("Router", "Minh Phát", "2026-11-25", "10%", "5%", "pcs", "7,885,000 VND",
                 "Subtotal", "15,770,000 VND", "Discount", "-415,000 VND",
                 "Tax 10% on 7,470,000 VND", "747,000 VND", "Total", "16,102,000 VND"):  # fmt: skip
        assert text in table, text
    assert crm("deal", "add", "Empty", "-c", "1").exit_code == 0
    empty = crm("deal", "item", "list", "2", "-f", "table")
    assert empty.exit_code == 0 and empty.stdout == ""
    assert "deal 2 has no line items" in empty.stderr
    assert order(crm, 2) == {
        "deal_id": 2, "currency": "USD", "items": [],
        "totals": {"subtotal": 0, "discount": 0, "net": 0, "taxes": [], "tax": 0, "total": 0},
    }  # fmt: skip
    unknown = crm("deal", "item", "list", "99")
    assert unknown.exit_code == 1 and unknown.stderr == "crm: error: no deal 99\n"


def test_deal_show_lists_the_order_lines_and_totals(crm, deal: int) -> None:
    assert crm("deal", "edit", str(deal), "--contract-number", "HĐ-2026-07").exit_code == 0
    add(crm, deal, "Router", "3", "2.490.000", "--tax", "10%", "--supplier", "Minh Phát",
        "--delivery", "2026-11-25", "--unit", "pcs")  # fmt: skip
    record = json.loads(crm("deal", "show", str(deal), "-f", "json").stdout)
    assert record["items"][0]["supplier"] == "Minh Phát"
    assert record["totals"]["total"] == 8_217_000 == record["amount"]
    table = crm("deal", "show", str(deal), "-f", "table").stdout
    lines = table.splitlines()
    contract = next(n for n, line in enumerate(lines) if "HĐ-2026-07" in line)
    order_lines = next(n for n, line in enumerate(lines) if "Order lines (1)" in line)
    totals = next(n for n, line in enumerate(lines) if "Totals (" in line)
    assert contract < order_lines < totals
    for text in ("Router", "pcs", "2,490,000 VND", "7,470,000 VND", "Minh Phát", "2026-11-25",
                 "Tax 10% on 7,470,000 VND", "8,217,000 VND"):  # fmt: skip
        assert text in table, text
    bare = crm("deal", "add", "No items", "-c", "1")
    plain = crm("deal", "show", bare.stdout.strip(), "-f", "table").stdout
    assert "Order lines: none" in plain and "Totals" not in plain


def test_edit_and_unset(crm, deal: int) -> None:
    item = add(crm, deal, "Router", "3", "2.490.000", "--unit", "pcs", "--discount", "5%",
               "--tax", "10%", "--supplier", "Minh Phát", "--delivery", "2026-11-25")  # fmt: skip
    result = crm("deal", "item", "edit", str(item), "--product", "Router AX5400",
                 "--quantity", "4", "--price", "3.000.000", "--discount", "100.000")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    got = order(crm, deal)["items"][0]
    assert (got["product"], got["quantity"], got["unit_price"]) == ("Router AX5400", 4, 3_000_000)
    assert (got["discount_bp"], got["discount_amount"]) == (None, 100_000)
    assert amount(crm, deal) == 13_090_000  # (12,000,000 - 100,000) + 10 %
    assert crm("deal", "item", "delivered", str(item)).exit_code == 0
    result = crm("deal", "item", "edit", str(item), "--unset", "unit,discount",
                 "--unset", "tax", "--unset", "supplier,delivery,delivered")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    got = order(crm, deal)["items"][0]
    assert [got[k] for k in ("unit", "discount_bp", "discount_amount", "tax_bp", "supplier",
                             "delivery_date", "delivered_at")] == [None] * 7  # fmt: skip
    assert amount(crm, deal) == 12_000_000
    same = crm("deal", "item", "edit", str(item), "--quantity", "4")
    assert same.exit_code == 0 and "nothing changed" in same.stderr


def test_edit_several_and_from_stdin(crm, deal: int) -> None:
    first = add(crm, deal, "Router", "1", "100")
    second = add(crm, deal, "Switch", "1", "200")
    result = crm("deal", "item", "edit", "-", "--supplier", "Phong Vũ", "--tax", "8%",
                 input=f"{first}\n{second}\n")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "Updated 2 line items" in result.stderr
    assert [i["supplier"] for i in order(crm, deal)["items"]] == ["Phong Vũ", "Phong Vũ"]
    assert amount(crm, deal) == 324  # 300 + 8 %


def test_delivered(crm, deal: int) -> None:
    first = add(crm, deal, "Router", "1", "100", "--delivery", "2026-11-20")
    second = add(crm, deal, "Switch", "1", "200")
    result = crm("deal", "item", "delivered", str(first), "--at", "yesterday 15:00")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert order(crm, deal)["items"][0]["delivered_at"] == "2026-11-22T08:00:00Z"
    again = crm("deal", "item", "delivered", str(first))
    assert again.exit_code == 0 and "already delivered" in again.stderr
    assert order(crm, deal)["items"][0]["delivered_at"] == "2026-11-22T08:00:00Z"
    piped = crm("deal", "item", "delivered", "-", input=f"{second}\n")
    assert piped.exit_code == 0, piped.stderr
    assert order(crm, deal)["items"][1]["delivered_at"] == "2026-11-23T03:00:00Z"  # now


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["item", "add", "{deal}", "X", "1", "10.5"], 2, "--price"),  # VND has no decimals
        (["item", "add", "{deal}", "X", "1", "10 USD"], 2, "not USD"),
        (["item", "add", "{deal}", "X", "1", "100", "--discount", "2.5"], 2, "--discount"),
        (["item", "add", "{deal}", "X", "1", "100", "--discount", "101"], 2, "more than"),
        (["item", "add", "{deal}", "X", "1", "100", "--discount", "101%"], 2, "at most 100%"),
        (["item", "add", "{deal}", "X", "1", "100", "--discount", "ten%"], 2, "--discount"),
        (["item", "add", "{deal}", "X", "1", "100", "--tax", "abc"], 2, "--tax"),
        (["item", "add", "{deal}", "X", "1", "100", "--tax", "1000.01%"], 2, "at most 1000%"),
        (["item", "add", "{deal}", "X", "1", "100", "--tax", "10.123%"], 2, "--tax"),
        (["item", "add", "{deal}", "X", "1", "100", "--delivery", "someday"], 2, "--delivery"),
        (["item", "add", "{deal}", "X", "1", "100", "--delivery", "2026-02-30"], 2, "--delivery"),
        (["item", "add", "{deal}", "X", "0", "100"], 2, "--qty"),
        (["item", "add", "{deal}", "X", "1", "100", "--unit", "x" * 21], 2, "--unit"),
        (["item", "add", "{deal}", " ", "1", "100"], 2, "product"),
        (["item", "add", "99", "X", "1", "100"], 1, "no deal 99"),
        (["item", "edit", "1", "--price", "1.5"], 2, "--price"),
        (["item", "edit", "1", "--discount", "999.999"], 2, "more than"),
        (["item", "edit", "1", "--tax", "-5%"], 2, "--tax"),
        (["item", "edit", "1", "--unset", "colour"], 2, "--unset"),
        (["item", "edit", "1", "--unset", "tax", "--tax", "5%"], 2, "choose one"),
        (["item", "edit", "1", "--delivery", "yesterday-ish"], 2, "--delivery"),
        (["item", "edit", "1", "99", "--tax", "5%"], 1, "no line item 99"),
        (["item", "edit", "99", "--tax", "5%"], 1, "no line item 99"),
        (["item", "delivered", "1", "99"], 1, "no line item 99"),
        (["item", "delivered", "1", "--at", "whenever"], 2, "--at"),
        (["item", "remove", "99"], 1, "no line item 99"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    crm, deal: int, db_path: Path, args: list[str], exit_code: int, message: str
) -> None:
    add(crm, deal, "Router", "2", "100.000", "--tax", "10%")
    before = dump(db_path)
    result = crm("deal", *[a.format(deal=deal) for a in args])
    assert result.exit_code == exit_code, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("crm: error: ")
    assert message in result.stderr
    assert dump(db_path) == before


def orders(db_path: Path) -> list[tuple[object, ...]]:
    return [row for row in dump(db_path) if row[0] in ("deals", "deal_items")]


def test_undo_of_item_edits(crm, deal: int, db_path: Path) -> None:
    item = add(crm, deal, "Router", "2", "100.000", "--tax", "10%", "--supplier", "Minh Phát")
    before = orders(db_path)
    edited = crm("deal", "item", "edit", str(item), "--price", "150.000", "--discount", "10%",
                 "--unset", "supplier")  # fmt: skip
    assert edited.exit_code == 0, edited.stderr
    assert amount(crm, deal) == 297_000  # 300,000 - 10 % = 270,000 + 10 %
    undone = crm("undo", "--yes")
    assert undone.exit_code == 0, undone.stderr
    assert amount(crm, deal) == 220_000
    assert order(crm, deal)["items"][0]["supplier"] == "Minh Phát"
    assert orders(db_path) == before  # every column, updated_at too
    assert crm("deal", "item", "delivered", str(item)).exit_code == 0
    assert crm("undo", "--yes").exit_code == 0
    assert query(db_path, "SELECT delivered_at FROM deal_items") == [(None,)]
