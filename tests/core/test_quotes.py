"""``core.money.quotes`` without the CLI: the document dict the PDF and HTML writer renders,
quote references (ids, numbers, versions), and stored totals against an independent sum."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from crmcli.core.money import quotes
from crmcli.db import Database, open_db
from crmcli.errors import InvalidValue, NotFound, UsageError

# The fixed clock: Monday 2026-11-23 10:00 in Hồ Chí Minh City (UTC+7).


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = open_db(db_path, create=True)
    yield database
    database.close()


def customer(db: Database, **fields: object) -> int:
    values = {"name": "Nguyễn Văn An", "email": None, "phone": None, "company": None,
              "address": None, "city": None, "country": None, **fields}  # fmt: skip
    names = ", ".join(values)
    cursor = db.execute(
        f"INSERT INTO customers (uid, {names}, fields, created_at, updated_at) "
        f"VALUES (lower(hex(randomblob(16))), {', '.join('?' * len(values))}, '{{}}', "
        "'2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')",
        list(values.values()),
    )
    return int(cursor.lastrowid or 0)


def deal(db: Database, customer_id: int, currency: str = "VND", title: str = "Bàn phím") -> int:
    stage = db.scalar("SELECT id FROM stages WHERE kind = 'open' ORDER BY position LIMIT 1")
    cursor = db.execute(
        "INSERT INTO deals (uid, title, customer_id, stage_id, currency, stage_changed_at, "
        "created_at, updated_at) VALUES (lower(hex(randomblob(16))), ?, ?, ?, ?, "
        "'2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')",
        (title, customer_id, stage, currency),
    )
    return int(cursor.lastrowid or 0)


def item(db: Database, deal_id: int, product: str, quantity: int, price: int, **extra: object
         ) -> None:  # fmt: skip
    position = db.scalar(
        "SELECT coalesce(max(position), 0) + 1 FROM deal_items WHERE deal_id = ?", (deal_id,)
    )
    columns = {"deal_id": deal_id, "position": position, "product": product,
               "quantity": quantity, "unit_price": price, **extra}  # fmt: skip
    db.execute(
        f"INSERT INTO deal_items (uid, created_at, {', '.join(columns)}) VALUES "
        f"(lower(hex(randomblob(16))), '2026-11-01T00:00:00Z', {', '.join('?' * len(columns))})",
        list(columns.values()),
    )


@pytest.fixture
def quoted(db: Database) -> int:
    """A quote of two lines for a customer with every contact field; the seller set."""
    with db.write():
        person = customer(db, company="An Phát", email="an@example.vn", phone="+84901234567",
                          address="12 Lê Lợi\nPhường Bến Nghé", city="Hồ Chí Minh",
                          country="VN")  # fmt: skip
        deal_id = deal(db, person, title="Bàn phím cho văn phòng")
        item(db, deal_id, "Bàn phím cơ", 3, 1_250_000, unit="cái", tax_bp=1000,
             supplier="Keychron VN", delivery_date="2026-12-10")  # fmt: skip
        item(db, deal_id, "Chuột không dây", 2, 350_000, discount_amount=20_000, tax_bp=800)
        for key, value in (("seller_name", "Công ty TNHH Minh Phát"),
                           ("seller_tax_id", "0312345678"), ("seller_bank", "VCB 0071000123456"),
                           ("seller_address", "5 Nguyễn Huệ, Quận 1")):  # fmt: skip
            db.execute("INSERT INTO settings (key, value) VALUES (?, ?)", (key, value))
        return quotes.create(db, deal_id, note="Giao trong 2 tuần")


def test_the_document_has_the_agreed_shape(db: Database, quoted: int) -> None:
    doc = quotes.document(db, quoted)
    assert doc == {
        "number": "Q-2026-0001",
        "version": 1,
        "label": "Q-2026-0001",
        "issued_on": "2026-11-23",
        "valid_until": "2026-12-23",
        "status": "open",
        "note": "Giao trong 2 tuần",
        "currency": "VND",
        "seller": {
            "name": "Công ty TNHH Minh Phát",
            "address": "5 Nguyễn Huệ, Quận 1",
            "tax_id": "0312345678",
            "bank": "VCB 0071000123456",
            "email": None,
            "phone": None,
            "logo": None,
        },  # fmt: skip
        "customer": {
            "name": "Nguyễn Văn An",
            "company": "An Phát",
            "email": "an@example.vn",
            "phone": "+84901234567",
            "address": "12 Lê Lợi\nPhường Bến Nghé\nHồ Chí Minh, VN",
        },  # fmt: skip
        "deal": {"id": 1, "title": "Bàn phím cho văn phòng"},
        "items": [
            {
                "position": 1,
                "product": "Bàn phím cơ",
                "unit": "cái",
                "quantity": 3,
                "unit_price": 1_250_000,
                "discount_bp": None,
                "discount_amount": None,
                "discount": 0,
                "net": 3_750_000,
                "tax_bp": 1000,
                "supplier": "Keychron VN",
                "delivery_date": "2026-12-10",
            },
            {
                "position": 2,
                "product": "Chuột không dây",
                "unit": None,
                "quantity": 2,
                "unit_price": 350_000,
                "discount_bp": None,
                "discount_amount": 20_000,
                "discount": 20_000,
                "net": 680_000,
                "tax_bp": 800,
                "supplier": None,
                "delivery_date": None,
            },
        ],  # fmt: skip
        "totals": {
            "subtotal": 4_450_000,
            "discount": 20_000,
            "net": 4_430_000,
            "taxes": [
                {"rate_bp": 800, "base": 680_000, "tax": 54_400},
                {"rate_bp": 1000, "base": 3_750_000, "tax": 375_000},
            ],
            "tax": 429_400,
            "total": 4_859_400,
        },  # fmt: skip
    }


def test_the_document_of_a_later_version_and_its_status(db: Database, quoted: int) -> None:
    with db.write():
        item(db, 1, "Lót chuột", 1, 50_000)
        second = quotes.create(db, 1, valid_until="2026-11-25")
    doc = quotes.document(db, second)
    assert (doc["number"], doc["version"], doc["label"]) == ("Q-2026-0001", 2, "Q-2026-0001 v2")
    assert doc["totals"]["total"] == 4_859_400 + 50_000
    assert quotes.document(db, quoted)["status"] == "superseded"
    with db.write():
        db.execute("UPDATE quotes SET valid_until = '2026-11-22' WHERE id = ?", (second,))
    assert quotes.document(db, second)["status"] == "expired"


def test_the_document_of_a_customer_with_little_on_file(db: Database) -> None:
    with db.write():
        deal_id = deal(db, customer(db, name="Anna Schmidt"), currency="EUR", title="Flyers")
        item(db, deal_id, "Flyer A5", 5000, 9)
        quote_id = quotes.create(db, deal_id, valid_until="2026-12-01")
    doc = quotes.document(db, quote_id)
    assert doc["customer"] == {"name": "Anna Schmidt", "company": None, "email": None,
                               "phone": None, "address": None}  # fmt: skip
    assert set(doc["seller"].values()) == {None}
    assert doc["currency"] == "EUR" and doc["totals"]["taxes"] == []
    assert doc["totals"]["total"] == 45_000 and doc["note"] is None


def test_the_logo_setting_is_a_path(db: Database, quoted: int, tmp_path: Path) -> None:
    from crmcli.core.settings import set_value

    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n")
    with db.write():
        set_value(db, "seller_logo", str(logo))
    assert quotes.document(db, quoted)["seller"]["logo"] == str(logo.resolve())


def test_unknown_quote(db: Database) -> None:
    with pytest.raises(NotFound, match="no quote 5"):
        quotes.document(db, 5)


def test_references(db: Database, quoted: int) -> None:
    with db.write():
        item(db, 1, "Lót chuột", 1, 50_000)
        second = quotes.create(db, 1)
    assert quotes.resolve(db, str(quoted)) == quoted
    assert quotes.resolve(db, quoted) == quoted
    assert quotes.resolve(db, "Q-2026-0001") == second
    for text in ("Q-2026-0001v1", "Q-2026-0001 v1", " Q-2026-0001V1 "):
        assert quotes.resolve(db, text) == quoted
    for text in ("Q-2026-0001v3", "7", "Q-1"):
        with pytest.raises(NotFound):
            quotes.resolve(db, text)
    with pytest.raises(InvalidValue):
        quotes.resolve(db, "  ")


def test_a_number_ending_in_v_and_digits_is_read_whole_first(db: Database) -> None:
    with db.write():
        db.execute("INSERT INTO settings (key, value) VALUES ('quote_number', 'QUOTE-v{seq}')")
        deal_id = deal(db, customer(db))
        item(db, deal_id, "Cáp", 1, 10_000)
        first = quotes.create(db, deal_id)
    assert quotes.get(db, first)["number"] == "QUOTE-v1"
    assert quotes.resolve(db, "QUOTE-v1") == first


def test_create_refusals_change_nothing(db: Database, quoted: int) -> None:
    with pytest.raises(UsageError, match="have not changed since quote Q-2026-0001"), db.write():
        quotes.create(db, 1)
    with pytest.raises(InvalidValue, match="is in the past"), db.write():
        item(db, 1, "Lót chuột", 1, 50_000)
        quotes.create(db, 1, valid_until="2026-11-22")
    assert db.scalar("SELECT count(*) FROM deal_items") == 2  # the transaction rolled back
    assert db.scalar("SELECT count(*) FROM quotes") == 1


def _independent(lines: list[dict[str, int | None]]) -> tuple[int, int, int, int]:
    """Subtotal, discount, tax and total with Decimal and ROUND_HALF_UP, line by line and
    tax per rate, without the code under test."""
    subtotal = discount = Decimal(0)
    bases: dict[int, Decimal] = {}
    for line in lines:
        gross = Decimal(line["quantity"] or 0) * Decimal(line["unit_price"] or 0)
        if line["discount_amount"] is not None:
            off = min(Decimal(line["discount_amount"]), gross)
        elif line["discount_bp"] is not None:
            off = (gross * Decimal(line["discount_bp"]) / 10_000).quantize(
                Decimal(1), ROUND_HALF_UP
            )
        else:
            off = Decimal(0)
        subtotal += gross
        discount += off
        if line["tax_bp"]:
            bases[line["tax_bp"]] = bases.get(line["tax_bp"], Decimal(0)) + gross - off
    tax = sum(
        (
            (base * rate / 10_000).quantize(Decimal(1), ROUND_HALF_UP)
            for rate, base in bases.items()
        ),
        Decimal(0),
    )
    return int(subtotal), int(discount), int(tax), int(subtotal - discount + tax)


def test_stored_totals_match_an_independent_computation(db: Database) -> None:
    rng = random.Random(15)
    with db.write():
        person = customer(db)
    for _ in range(25):
        lines = []
        with db.write():
            deal_id = deal(db, person)
            for n in range(rng.randint(1, 8)):
                quantity, price = rng.randint(1, 500), rng.randint(0, 3_000_000)
                kind = rng.choice(("none", "bp", "amount"))
                line = {
                    "quantity": quantity, "unit_price": price,
                    "discount_bp": rng.randint(0, 10_000) if kind == "bp" else None,
                    "discount_amount": rng.randint(0, 2 * quantity * price + 1)
                    if kind == "amount" else None,
                    "tax_bp": rng.choice((None, 0, 500, 800, 1000, 333, 1250)),
                }  # fmt: skip
                lines.append(line)
                item(db, deal_id, f"Hàng {n}", **{k: v for k, v in line.items()
                                                 if k not in ("quantity", "unit_price")},
                     quantity=quantity, price=price)  # fmt: skip
            quote_id = quotes.create(db, deal_id)
        record = quotes.show(db, quote_id)
        figures = (record["subtotal"], record["discount"], record["tax"], record["total"])
        assert figures == _independent(lines)
        assert sum(i["net"] for i in record["items"]) == record["subtotal"] - record["discount"]
