"""The totals rule (crmcli.core.money.totals) against an independent computation in
``decimal.Decimal`` with ROUND_HALF_UP: many random lines, discounts by rate and by amount,
several tax rates; then the same rule end to end, as the deal's stored amount."""

from __future__ import annotations

import json
import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcli.core.money.totals import MAX_TAX_BP, format_rate, line_amounts, parse_rate, totals
from crmcli.errors import InvalidValue

ONE = Decimal(1)
COMMON_RATES = [0, 500, 800, 1000]  # VAT in Vietnam: 0, 5, 8, 10 %


def half_up(value: Decimal) -> int:
    return int(value.quantize(ONE, rounding=ROUND_HALF_UP))


def expected(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The documented rule, written again with decimals: discount per line (a fixed amount
    at most the gross, or the gross × rate half up), tax per rate on the sum of that rate's
    nets, half up; total = nets + taxes."""
    subtotal = discount = Decimal(0)
    bases: dict[int, Decimal] = {}
    for line in lines:
        gross = Decimal(line["quantity"]) * Decimal(line["unit_price"])
        if line.get("discount_amount") is not None:
            off = min(Decimal(line["discount_amount"]), gross)
        elif line.get("discount_bp") is not None:
            off = Decimal(half_up(gross * Decimal(line["discount_bp"]) / Decimal(10_000)))
        else:
            off = Decimal(0)
        subtotal += gross
        discount += off
        if line.get("tax_bp"):
            bases[line["tax_bp"]] = bases.get(line["tax_bp"], Decimal(0)) + gross - off
    taxes = [
        {"rate_bp": rate, "base": int(base),
         "tax": half_up(base * Decimal(rate) / Decimal(10_000))}
        for rate, base in sorted(bases.items())
    ]  # fmt: skip
    tax = sum(t["tax"] for t in taxes)
    net = int(subtotal - discount)
    return {"subtotal": int(subtotal), "discount": int(discount), "net": net, "taxes": taxes,
            "tax": tax, "total": net + tax}  # fmt: skip


rates = st.one_of(st.sampled_from(COMMON_RATES), st.integers(0, MAX_TAX_BP))
line_strategy = st.fixed_dictionaries(
    {
        "quantity": st.integers(1, 1_000_000_000),
        "unit_price": st.one_of(st.integers(0, 1_000), st.integers(0, 10**12)),
        "tax_bp": st.one_of(st.none(), rates),
    }
).flatmap(
    lambda line: st.one_of(
        st.just(line),
        st.integers(0, 10_000).map(lambda bp: {**line, "discount_bp": bp}),
        st.integers(0, 2 * line["quantity"] * line["unit_price"] + 1).map(
            lambda amount: {**line, "discount_amount": amount}
        ),
    )
)


@settings(max_examples=500, deadline=None)
@given(st.lists(line_strategy, max_size=40))
def test_totals_equal_the_decimal_computation(lines: list[dict[str, Any]]) -> None:
    assert totals(lines) == expected(lines)


@settings(max_examples=300, deadline=None)
@given(line_strategy)
def test_a_line_never_goes_below_zero(line: dict[str, Any]) -> None:
    gross, discount, net = line_amounts(line)
    assert gross == line["quantity"] * line["unit_price"]
    assert 0 <= discount <= gross and net == gross - discount


@pytest.mark.parametrize(
    ("lines", "tax"),
    [
        # one rate: tax once on the summed nets, not per line (3 × 0.5 would round to 3)
        ([{"quantity": 1, "unit_price": 5, "tax_bp": 1000}] * 3, 2),
        # half a minor unit rounds up
        ([{"quantity": 1, "unit_price": 5, "tax_bp": 1000}], 1),
        ([{"quantity": 1, "unit_price": 15, "tax_bp": 1000}], 2),
        # two rates, each rounded on its own
        ([{"quantity": 1, "unit_price": 15, "tax_bp": 1000},
          {"quantity": 1, "unit_price": 25, "tax_bp": 1000},
          {"quantity": 1, "unit_price": 25, "tax_bp": 500}], 5),
    ],
)  # fmt: skip
def test_tax_per_rate_examples(lines: list[dict[str, Any]], tax: int) -> None:
    assert totals(lines)["tax"] == tax == expected(lines)["tax"]


@pytest.mark.parametrize(
    ("text", "bp"),
    [("10", 1000), ("10%", 1000), ("8.5 %", 850), ("5,25%", 525), ("0", 0), ("0.01%", 1),
     ("100%", 10_000)],
)  # fmt: skip
def test_parse_rate(text: str, bp: int) -> None:
    assert parse_rate(text, field="--tax") == bp


@pytest.mark.parametrize("text", ["", "abc", "-5%", "10.123%", "101%", "1e3"])
def test_parse_rate_refuses(text: str) -> None:
    with pytest.raises(InvalidValue):
        parse_rate(text, field="--discount")


@given(st.integers(0, MAX_TAX_BP))
def test_format_rate_reads_back(bp: int) -> None:
    assert parse_rate(format_rate(bp), field="--tax", maximum=MAX_TAX_BP) == bp


def test_the_deal_amount_follows_the_rule_end_to_end(crm) -> None:
    """Random lines typed as a user types them (VND and USD): the stored amount and the
    listed totals equal the decimal computation."""
    rng = random.Random(15)
    assert crm("customer", "add", "An").exit_code == 0
    for deal_id, currency, scale in ((1, "VND", 1), (2, "USD", 100)):
        assert (
            crm("deal", "add", f"Deal {currency}", "-c", "1", "--currency", currency).exit_code == 0
        )
        lines = []
        for n in range(25):
            line: dict[str, Any] = {"quantity": rng.randint(1, 50),
                                    "unit_price": rng.randint(0, 5_000_000)}  # fmt: skip
            args = [str(line["quantity"]), price(line["unit_price"], scale)]
            kind = rng.choice(["none", "rate", "amount"])
            if kind == "rate":
                line["discount_bp"] = rng.randint(0, 10_000)
                args += ["--discount", format_rate(line["discount_bp"])]
            elif kind == "amount":
                line["discount_amount"] = rng.randint(0, line["quantity"] * line["unit_price"])
                args += ["--discount", price(line["discount_amount"], scale)]
            if rng.random() < 0.8:
                line["tax_bp"] = rng.choice([*COMMON_RATES, rng.randint(1, 3000)])
                args += ["--tax", format_rate(line["tax_bp"])]
            added = crm("deal", "item", "add", str(deal_id), f"Line {n}", *args)
            assert added.exit_code == 0, added.stderr
            lines.append(line)
        want = expected(lines)
        listed = json.loads(crm("deal", "item", "list", str(deal_id), "-f", "json").stdout)
        assert listed["totals"] == want
        shown = json.loads(crm("deal", "show", str(deal_id), "-f", "json").stdout)
        assert shown["amount"] == want["total"]


def price(minor: int, scale: int) -> str:
    """Minor units as a user types them: ``1234567`` VND, ``12345.67`` USD."""
    if scale == 1:
        return str(minor)
    return f"{minor // scale}.{minor % scale:02d}"
