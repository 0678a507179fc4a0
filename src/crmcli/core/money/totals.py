"""Totals of line items: the one rounding rule every quote, invoice and deal amount uses.

All amounts are integers in the currency's minor units (cents, or whole đồng for VND).
Rates are basis points: 1 % is 100, 10 % VAT is 1000.

The rule, line by line and then per tax rate:

1. A line's gross is ``quantity × unit price`` (exact).
2. Its discount is either a fixed amount (at most the gross) or ``gross × rate``, rounded
   half up to the minor unit.  The line's net is gross − discount.
3. Tax is computed once per rate, on the sum of the nets of the lines with that rate,
   rounded half up (as a VAT invoice shows one tax amount per rate).  A line without a
   rate pays no tax.
4. Total = the sum of the nets + the sum of the taxes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from crmcli.errors import InvalidValue

BP_PER_PERCENT = 100
MAX_TAX_BP = 100_000  # 1,000 %: any rate a law might set, not a typo's 10,000,000 %
_PERCENT = re.compile(r"\s*([0-9]{1,7})(?:[.,]([0-9]{1,2}))?\s*%?\s*\Z")


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def parse_rate(raw: str, *, field: str, maximum: int = 10_000) -> int:
    """``10``, ``10%``, ``8.5 %`` or ``5,25%`` -> basis points (1000, 850, 525)."""
    match = _PERCENT.match(raw)
    if not match:
        raise InvalidValue(field, raw, "a percentage like 10%, 8.5% or 0")
    whole, frac = match.group(1), (match.group(2) or "").ljust(2, "0")
    bp = int(whole) * BP_PER_PERCENT + int(frac)
    if bp > maximum:
        raise InvalidValue(field, raw, f"at most {format_rate(maximum)}")
    return bp


def format_rate(bp: int | None) -> str:
    """1000 -> ``10%``, 850 -> ``8.5%``, 525 -> ``5.25%``; ``None`` -> empty."""
    if bp is None:
        return ""
    whole, frac = divmod(bp, BP_PER_PERCENT)
    return f"{whole}%" if not frac else f"{whole}.{frac:02d}".rstrip("0") + "%"


def line_amounts(item: Mapping[str, Any]) -> tuple[int, int, int]:
    """(gross, discount, net) of one line: a mapping with ``quantity`` and ``unit_price``
    and optionally ``discount_bp`` or ``discount_amount``."""
    gross = int(item["quantity"]) * int(item["unit_price"])
    if item.get("discount_amount") is not None:
        discount = min(int(item["discount_amount"]), gross)
    elif item.get("discount_bp") is not None:
        discount = round_half_up(gross * int(item["discount_bp"]), 10_000)
    else:
        discount = 0
    return gross, discount, gross - discount


def totals(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The totals of a list of lines: ``subtotal`` (the gross sum), ``discount``, ``net``,
    ``taxes`` (one ``{"rate_bp", "base", "tax"}`` per rate, by rate), ``tax`` and ``total``."""
    subtotal = discount = 0
    bases: dict[int, int] = {}
    for item in items:
        gross, off, net = line_amounts(item)
        subtotal += gross
        discount += off
        rate = item.get("tax_bp")
        if rate:
            bases[int(rate)] = bases.get(int(rate), 0) + net
    taxes = [
        {"rate_bp": rate, "base": base, "tax": round_half_up(base * rate, 10_000)}
        for rate, base in sorted(bases.items())
    ]
    tax = sum(t["tax"] for t in taxes)
    net = subtotal - discount
    return {
        "subtotal": subtotal,
        "discount": discount,
        "net": net,
        "taxes": taxes,
        "tax": tax,
        "total": net + tax,
    }
