"""Tests for crmcli.money: integer minor units, currency exponents, strict parsing."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcli import money
from crmcli.errors import InvalidValue
from crmcli.money import (
    MAX_AMOUNT,
    Money,
    exponent,
    format_money,
    normalize_currency,
    parse_money,
    to_decimal_text,
    total_by_currency,
)

CURRENCIES = sorted(money._EXPONENTS)
SYMBOLIC = sorted({**money._DISPLAY_BEFORE, **money._DISPLAY_AFTER})
AMOUNTS = st.integers(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT)


def reason(text: str, *, allow_negative: bool = False) -> str:
    """The full one-line message parse_money gives for ``text``."""
    with pytest.raises(InvalidValue) as caught:
        parse_money(text, allow_negative=allow_negative)
    return str(caught.value)


# --- the currency table -------------------------------------------------------------


@pytest.mark.parametrize(
    ("places", "codes"),
    [
        (0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"),
        (2, "USD EUR GBP CHF CNY INR THB PHP TRY RUB UAH PLN BRL AUD CAD SGD IDR MGA MRU"),
        (3, "BHD IQD JOD KWD LYD OMR TND"),
        (4, "CLF UYW"),
    ],
)
def test_exponent_classes(places: int, codes: str) -> None:
    for code in codes.split():
        assert exponent(code) == places, code


def test_only_the_listed_codes_lack_two_decimals() -> None:
    odd = {code: places for code, places in money._EXPONENTS.items() if places != 2}
    assert odd == {
        **dict.fromkeys(
            "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0
        ),
        **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
        **dict.fromkeys(["CLF", "UYW"], 4),
    }


def test_table_shape() -> None:
    assert len(CURRENCIES) >= 150
    for code in CURRENCIES:
        assert len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()
    assert not money._NO_MINOR_UNIT & set(CURRENCIES)
    for code in money._DISPLAY_BEFORE.keys() | money._DISPLAY_AFTER.keys():
        assert code in money._EXPONENTS
    for _main, meanings in money._SYMBOLS.values():
        assert set(meanings) <= set(CURRENCIES)


def test_exponent_any_case_and_unknown() -> None:
    assert exponent("vnd") == 0
    assert exponent(" kwd ") == 3
    with pytest.raises(InvalidValue) as caught:
        exponent("ABC")
    assert str(caught.value) == (
        "invalid currency 'ABC': unknown currency code; use an ISO 4217 code like USD, EUR or VND"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("vnd", "VND"), (" usd ", "USD"), ("Eur", "EUR"), ("BGN", "BGN"), ("XCG", "XCG")],
)
def test_normalize_currency(text: str, expected: str) -> None:
    assert normalize_currency(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "invalid currency '': must not be empty"),
        ("  ", "invalid currency '  ': must not be empty"),
        (
            "ABC",
            "invalid currency 'ABC': unknown currency code; use an ISO 4217 code like USD, "
            "EUR or VND",
        ),
        (
            "dollar",
            "invalid currency 'dollar': not a currency code; use an ISO 4217 code like USD, "
            "EUR or VND",
        ),
        (
            "ııı",
            "invalid currency 'ııı': not a currency code; use an ISO 4217 code like USD, "
            "EUR or VND",
        ),
        ("€", "invalid currency '€': write the code EUR, not the symbol"),
        (
            "xau",
            "invalid currency 'xau': XAU has no minor unit in ISO 4217, so amounts cannot be "
            "kept in it",
        ),
    ],
)
def test_normalize_currency_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize_currency(text)
    assert str(caught.value) == message
    assert caught.value.field == "currency"


def test_normalize_currency_names_the_field() -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize_currency("ZZZ", field="deal_currency")
    assert caught.value.field == "deal_currency"


# --- parsing: what is accepted ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "default", "amount", "currency"),
    [
        # the spec's and the examples
        ("1200", "USD", 120000, "USD"),
        ("1,200.50", "USD", 120050, "USD"),
        ("$99", "USD", 9900, "USD"),
        ("1.200.000 VND", "USD", 1200000, "VND"),
        ("99 EUR", "USD", 9900, "EUR"),
        ("EUR 99", "USD", 9900, "EUR"),
        ("€1.234,56", "USD", 123456, "EUR"),
        ("1,5 EUR", "USD", 150, "EUR"),
        ("1 200 000 ₫", "USD", 1200000, "VND"),
        ("1\u00a0200\u00a0000 ₫", "USD", 1200000, "VND"),
        ("1\u202f200\u202f000 ₫", "USD", 1200000, "VND"),
        # the default currency
        ("1200", "VND", 1200, "VND"),
        ("1200", "KWD", 1200000, "KWD"),
        ("1200", "vnd", 1200, "VND"),
        ("1.200.000", "VND", 1200000, "VND"),
        # codes and symbols, before or after, spaced or not, any case
        ("99eur", "USD", 9900, "EUR"),
        ("EUR99", "USD", 9900, "EUR"),
        ("  99   eur  ", "USD", 9900, "EUR"),
        ("99 $", "USD", 9900, "USD"),
        ("$ 99", "USD", 9900, "USD"),
        ("$99 USD", "USD", 9900, "USD"),
        ("$99 AUD", "USD", 9900, "AUD"),
        ("SEK 100 kr", "USD", 10000, "SEK"),
        ("US$5", "AUD", 500, "USD"),
        # grouping and decimal marks
        ("1,200", "USD", 120000, "USD"),
        ("1,200,000", "USD", 120000000, "USD"),
        ("1.200.000", "USD", 120000000, "USD"),
        ("1.200.000,5", "USD", 120000050, "USD"),
        ("1,234.5", "USD", 123450, "USD"),
        ("1200.5", "USD", 120050, "USD"),
        ("1200,50", "USD", 120050, "USD"),
        ("0,5", "EUR", 50, "EUR"),
        ("0.1", "USD", 10, "USD"),
        ("1 234,56 €", "USD", 123456, "EUR"),
        ("1 234.56", "USD", 123456, "USD"),
        ("1'234.50 CHF", "USD", 123450, "CHF"),
        ("1\u2019234.50 CHF", "USD", 123450, "CHF"),
        ("12 345", "USD", 1234500, "USD"),
        ("007", "USD", 700, "USD"),
        ("0", "USD", 0, "USD"),
        ("+5", "USD", 500, "USD"),
        # no minor unit: "." or "," before three digits groups thousands
        ("1.200 VND", "USD", 1200, "VND"),
        ("1,200 VND", "USD", 1200, "VND"),
        ("¥1,200", "USD", 1200, "JPY"),
        ("1.000.000 KRW", "USD", 1000000, "KRW"),
        # three and four decimals
        ("1.234 KWD", "USD", 1234, "KWD"),
        ("1,234 KWD", "USD", 1234000, "KWD"),
        ("1,234.567 BHD", "USD", 1234567, "BHD"),
        ("1.234,567 OMR", "USD", 1234567, "OMR"),
        ("0.005 TND", "USD", 5, "TND"),
        ("1.5 JOD", "USD", 1500, "JOD"),
        ("1.2345 CLF", "USD", 12345, "CLF"),
        ("1.234 CLF", "USD", 12340, "CLF"),
        ("1,2345 UYW", "USD", 12345, "UYW"),
    ],
)
def test_parse(text: str, default: str, amount: int, currency: str) -> None:
    parsed = parse_money(text, default_currency=default)
    assert parsed == Money(amount, currency)
    assert type(parsed.amount) is int


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("€5", "EUR"),
        ("£5", "GBP"),
        ("¥5", "JPY"),
        ("￥5", "JPY"),
        ("₫5", "VND"),
        ("5đ", "VND"),
        ("5 VNĐ", "VND"),
        ("5 vnđ", "VND"),
        ("₩5", "KRW"),
        ("₹5", "INR"),
        ("฿5", "THB"),
        ("₱5", "PHP"),
        ("₺5", "TRY"),
        ("5 ₽", "RUB"),
        ("5 ₴", "UAH"),
        ("5 zł", "PLN"),
        ("5 ZŁ", "PLN"),
        ("R$5", "BRL"),
        ("A$5", "AUD"),
        ("CA$5", "CAD"),
        ("NZ$5", "NZD"),
        ("S$5", "SGD"),
        ("HK$5", "HKD"),
        ("NT$5", "TWD"),
        ("MX$5", "MXN"),
        ("CN¥5", "CNY"),
        ("₪5", "ILS"),
        ("₦5", "NGN"),
        ("Rp5", "IDR"),
        ("RM5", "MYR"),
        ("rm5", "MYR"),
        ("5 Kč", "CZK"),
        ("5 Ft", "HUF"),
        ("5 ₸", "KZT"),
    ],
)
def test_symbols(text: str, currency: str) -> None:
    places = exponent(currency)
    assert parse_money(text) == Money(5 * 10**places, currency)


@pytest.mark.parametrize(
    ("default", "text", "currency"),
    [
        ("USD", "$5", "USD"),
        ("EUR", "$5", "USD"),
        ("VND", "$5", "USD"),
        ("AUD", "$5", "AUD"),
        ("CAD", "$5", "CAD"),
        ("SGD", "$5", "SGD"),
        ("NZD", "$5", "NZD"),
        ("HKD", "$5", "HKD"),
        ("MXN", "$5", "MXN"),
        ("AUD", "US$5", "USD"),
        ("EGP", "£5", "EGP"),
        ("EUR", "£5", "GBP"),
        ("CNY", "¥5", "CNY"),
        ("USD", "¥5", "JPY"),
        ("KPW", "₩5", "KPW"),
        ("SEK", "5 kr", "SEK"),
        ("NOK", "kr 5", "NOK"),
        ("PKR", "₨5", "PKR"),
    ],
)
def test_shared_symbols_follow_the_default(default: str, text: str, currency: str) -> None:
    assert parse_money(text, default_currency=default).currency == currency


# --- parsing: what is refused, and what it says -------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # ambiguous: "." before three digits with a currency of two decimals
        (
            "1.200 USD",
            "invalid amount '1.200 USD': ambiguous: '.' before three digits may separate "
            "thousands or decimals; write 1200 or 1.20",
        ),
        (
            "1.200",
            "invalid amount '1.200': ambiguous: '.' before three digits may separate "
            "thousands or decimals; write 1200 or 1.20",
        ),
        (
            "€12.500",
            "invalid amount '€12.500': ambiguous: '.' before three digits may separate "
            "thousands or decimals; write 12500 or 12.50",
        ),
        # wrong precision: never rounded
        (
            "1.234 USD",
            "invalid amount '1.234 USD': USD allows at most 2 decimal places; "
            "write 1234 if '.' separates thousands",
        ),
        ("1.2345 USD", "invalid amount '1.2345 USD': USD allows at most 2 decimal places"),
        ("1234.500", "invalid amount '1234.500': USD allows at most 2 decimal places"),
        ("0.500", "invalid amount '0.500': USD allows at most 2 decimal places"),
        ("1,2345 EUR", "invalid amount '1,2345 EUR': EUR allows at most 2 decimal places"),
        ("1,234.567", "invalid amount '1,234.567': USD allows at most 2 decimal places"),
        ("1 234.567", "invalid amount '1 234.567': USD allows at most 2 decimal places"),
        ("10.5 VND", "invalid amount '10.5 VND': VND has no minor unit; write a whole number"),
        ("10,5 VND", "invalid amount '10,5 VND': VND has no minor unit; write a whole number"),
        ("10.0 VND", "invalid amount '10.0 VND': VND has no minor unit; write a whole number"),
        ("¥1.5", "invalid amount '¥1.5': JPY has no minor unit; write a whole number"),
        ("1.2345 KWD", "invalid amount '1.2345 KWD': KWD allows at most 3 decimal places"),
        ("1.23456 CLF", "invalid amount '1.23456 CLF': CLF allows at most 4 decimal places"),
        # grouping
        (
            "12,34,567",
            "invalid amount '12,34,567': thousands must be grouped in threes, e.g. 1,200,000",
        ),
        (
            "1,200,50",
            "invalid amount '1,200,50': thousands must be grouped in threes, e.g. 1,200,000",
        ),
        (
            "12345,678",
            "invalid amount '12345,678': thousands must be grouped in threes, e.g. 1,200,000",
        ),
        ("1 5", "invalid amount '1 5': thousands must be grouped in threes, e.g. 1,200,000"),
        ("0,500", "invalid amount '0,500': a number grouped in thousands cannot start with 0"),
        (
            "1.234 567",
            "invalid amount '1.234 567': mixed thousands separators ' ' and '.'; use one kind",
        ),
        (
            "1,234.567,89",
            "invalid amount '1,234.567,89': mixed thousands separators ',' and '.'; use one kind",
        ),
        (
            "1..2",
            "invalid amount '1..2': separators must stand between digits, e.g. 1,200.50 or 0.50",
        ),
        (".5", "invalid amount '.5': separators must stand between digits, e.g. 1,200.50 or 0.50"),
        ("5.", "invalid amount '5.': separators must stand between digits, e.g. 1,200.50 or 0.50"),
        # currencies
        (
            "99 ABC",
            "invalid amount '99 ABC': unknown currency code 'ABC'; use an ISO 4217 code like "
            "USD, EUR or VND",
        ),
        (
            "12 apples",
            "invalid amount '12 apples': unknown currency 'apples'; use an ISO 4217 code like "
            "USD, EUR or VND",
        ),
        (
            "XAU 5",
            "invalid amount 'XAU 5': XAU has no minor unit in ISO 4217, so amounts cannot be "
            "kept in it",
        ),
        ("€99 USD", "invalid amount '€99 USD': '€' and 'USD' name different currencies"),
        ("USD 99 EUR", "invalid amount 'USD 99 EUR': 'USD' and 'EUR' name different currencies"),
        (
            "kr 100",
            "invalid amount 'kr 100': 'kr' may mean DKK, ISK, NOK or SEK; write the code instead",
        ),
        # no amount at all
        ("", "invalid amount '': no amount given"),
        (" \t ", "invalid amount ' \\t ': no amount given"),
        ("USD", "invalid amount 'USD': no number in it"),
        ("$", "invalid amount '$': no number in it"),
        (
            "12 34 USD 5",
            "invalid amount '12 34 USD 5': not an amount; write e.g. 1200, 1,200.50, $99 or 99 EUR",
        ),
        (
            "5 USD 5",
            "invalid amount '5 USD 5': not an amount; write e.g. 1200, 1,200.50, $99 or 99 EUR",
        ),
        ("-$-5", "invalid amount '-$-5': not an amount; write e.g. 1200, 1,200.50, $99 or 99 EUR"),
        ("1e3", "invalid amount '1e3': not an amount; write e.g. 1200, 1,200.50, $99 or 99 EUR"),
        ("٣٠", "invalid amount '٣٠': write the digits 0-9"),
        ("1" * 101, f"invalid amount '{'1' * 58}…': too long for an amount"),
    ],
)
def test_refused(text: str, message: str) -> None:
    assert reason(text, allow_negative=True) == message


def test_error_names_the_field_and_keeps_the_text() -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_money("10.5 VND", field="value")
    assert caught.value.field == "value"
    assert caught.value.value == "10.5 VND"
    assert caught.value.reason == "VND has no minor unit; write a whole number"


def test_unknown_default_currency() -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_money("5", default_currency="ZZZ")
    assert caught.value.field == "default_currency"


# --- negative amounts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("-50", -5000, "USD"),
        ("−50", -5000, "USD"),  # U+2212 MINUS SIGN
        ("-$50", -5000, "USD"),
        ("$-50", -5000, "USD"),
        ("- 50", -5000, "USD"),
        ("-50 EUR", -5000, "EUR"),
        ("USD -50", -5000, "USD"),
        ("-1.200.000 VND", -1200000, "VND"),
        ("-0", 0, "USD"),
    ],
)
def test_negative_allowed(text: str, amount: int, currency: str) -> None:
    assert parse_money(text, allow_negative=True) == Money(amount, currency)


@pytest.mark.parametrize("text", ["-50", "−50", "-$50", "$-50", "-50 EUR", "USD -50", "-0"])
def test_negative_refused_by_default(text: str) -> None:
    assert reason(text) == f"invalid amount {text!r}: must not be negative"


# --- the 64-bit limit ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("largest", "currency"),
    [
        ("92233720368547758.07", "USD"),
        ("9223372036854775807", "VND"),
        ("9223372036854775.807", "KWD"),
        ("922337203685477.5807", "CLF"),
        ("92,233,720,368,547,758.07", "USD"),
    ],
)
def test_largest_amount_is_read_one_more_is_refused(largest: str, currency: str) -> None:
    assert parse_money(f"{largest} {currency}").amount == MAX_AMOUNT
    assert parse_money(f"-{largest} {currency}", allow_negative=True).amount == -MAX_AMOUNT
    bigger = largest[:-1] + "8"
    limit = format_money(MAX_AMOUNT, currency)
    for text in (f"{bigger} {currency}", f"-{bigger} {currency}"):
        assert reason(text, allow_negative=True) == (
            f"invalid amount {text!r}: too large; at most {limit}"
        )


@pytest.mark.parametrize(
    "text",
    ["9223372036854775808 VND", "999999999999999999", "1" + "0" * 30, "1" + "0" * 90 + " USD"],
)
def test_huge_values_refused(text: str) -> None:
    assert "too large; at most" in reason(text)


def test_no_float_anywhere() -> None:
    assert parse_money("0.1 USD").amount + parse_money("0.2 USD").amount == 30
    assert parse_money("0.3 USD").amount == 30
    total = sum(parse_money("0.1").amount for _ in range(10))
    assert total == 100
    half: Any = 1.5  # what a careless caller might pass: refused at run time too
    with pytest.raises(TypeError):
        format_money(half, "USD")
    with pytest.raises(TypeError):
        to_decimal_text(half, "USD")
    with pytest.raises(TypeError):
        Money(half, "USD")
    with pytest.raises(TypeError):
        Money(True, "USD")
    with pytest.raises(TypeError):
        total_by_currency([(half, "USD")])


# --- formatting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "plain", "with_symbol", "decimal"),
    [
        (1234567, "USD", "12,345.67 USD", "$12,345.67", "12345.67"),
        (1200000, "VND", "1,200,000 VND", "1,200,000 ₫", "1200000"),
        (-500, "USD", "-5.00 USD", "-$5.00", "-5.00"),
        (-500, "EUR", "-5.00 EUR", "-€5.00", "-5.00"),
        (1234, "KWD", "1.234 KWD", "1.234 KWD", "1.234"),
        (1234000, "KWD", "1,234.000 KWD", "1,234.000 KWD", "1234.000"),
        (12345, "CLF", "1.2345 CLF", "1.2345 CLF", "1.2345"),
        (5, "USD", "0.05 USD", "$0.05", "0.05"),
        (0, "USD", "0.00 USD", "$0.00", "0.00"),
        (0, "JPY", "0 JPY", "¥0", "0"),
        (-1200, "JPY", "-1,200 JPY", "-¥1,200", "-1200"),
        (123456, "BRL", "1,234.56 BRL", "R$1,234.56", "1234.56"),
        (150, "PLN", "1.50 PLN", "1.50 zł", "1.50"),
        (100, "cad", "1.00 CAD", "CA$1.00", "1.00"),
        (
            MAX_AMOUNT,
            "USD",
            "92,233,720,368,547,758.07 USD",
            "$92,233,720,368,547,758.07",
            "92233720368547758.07",
        ),
    ],
)
def test_format(amount: int, currency: str, plain: str, with_symbol: str, decimal: str) -> None:
    assert format_money(amount, currency) == plain
    assert format_money(amount, currency, symbol=True) == with_symbol
    assert to_decimal_text(amount, currency) == decimal


def test_format_unknown_currency() -> None:
    with pytest.raises(InvalidValue):
        format_money(1, "ABC")
    with pytest.raises(InvalidValue):
        to_decimal_text(1, "")


# --- Money and totals ---------------------------------------------------------------


def test_money_value_object() -> None:
    price = Money(120050, "usd")
    assert price.currency == "USD"
    assert price == Money(120050, "USD")
    assert price != Money(120050, "EUR")
    assert price != (120050, "USD")
    assert hash(price) == hash(Money(120050, "USD"))
    assert len({price, Money(120050, "USD"), Money(1, "USD")}) == 2
    assert repr(price) == "Money(amount=120050, currency='USD')"
    assert str(price) == "1,200.50 USD"
    with pytest.raises(AttributeError):
        setattr(price, "amount", 1)  # noqa: B010 (the point is to try)
    with pytest.raises(AttributeError):
        del price.currency
    assert pickle.loads(pickle.dumps(price)) == price
    assert copy.deepcopy(price) == price
    match price:
        case Money(amount, "USD"):
            assert amount == 120050
        case _:
            pytest.fail("Money did not match")


def test_money_checks() -> None:
    with pytest.raises(InvalidValue):
        Money(1, "ABC")
    with pytest.raises(InvalidValue):
        Money(MAX_AMOUNT + 1, "USD")
    with pytest.raises(InvalidValue):
        Money(-MAX_AMOUNT - 1, "USD")
    assert Money(-MAX_AMOUNT, "USD").amount == -MAX_AMOUNT


def test_total_by_currency() -> None:
    items = [(100, "USD"), (1200000, "VND"), (250, "usd"), (-50, "USD"), (5, "KWD")]
    assert total_by_currency(items) == {"USD": 300, "VND": 1200000, "KWD": 5}
    assert list(total_by_currency(items)) == ["USD", "VND", "KWD"]
    assert total_by_currency([]) == {}
    assert total_by_currency(iter([(1, "EUR")])) == {"EUR": 1}
    assert total_by_currency([(MAX_AMOUNT, "USD"), (MAX_AMOUNT, "USD")]) == {"USD": 2 * MAX_AMOUNT}
    with pytest.raises(InvalidValue):
        total_by_currency([(1, "ABC")])


# --- properties ---------------------------------------------------------------------


@given(AMOUNTS, st.sampled_from(CURRENCIES))
def test_decimal_text_round_trips(amount: int, currency: str) -> None:
    text = to_decimal_text(amount, currency)
    assert parse_money(f"{text} {currency}", allow_negative=True) == Money(amount, currency)
    assert parse_money(text, default_currency=currency, allow_negative=True) == Money(
        amount, currency
    )


@given(AMOUNTS, st.sampled_from(CURRENCIES))
def test_format_round_trips(amount: int, currency: str) -> None:
    text = format_money(amount, currency)
    assert parse_money(text, allow_negative=True) == Money(amount, currency)
    if amount >= 0:
        assert parse_money(text) == Money(amount, currency)
    else:
        with pytest.raises(InvalidValue):
            parse_money(text)


@given(AMOUNTS, st.sampled_from(SYMBOLIC))
def test_format_with_symbol_round_trips(amount: int, currency: str) -> None:
    text = format_money(amount, currency, symbol=True)
    assert parse_money(text, allow_negative=True) == Money(amount, currency)
    assert parse_money(text, default_currency=currency, allow_negative=True) == Money(
        amount, currency
    )


@given(
    st.integers(min_value=0, max_value=MAX_AMOUNT),
    st.sampled_from(CURRENCIES),
    st.sampled_from([" ", "\u00a0", "\u202f", "'"]),
)
def test_space_grouping_reads_the_same(amount: int, currency: str, space: str) -> None:
    text = format_money(amount, currency).replace(",", space)
    assert parse_money(text) == Money(amount, currency)


@given(
    st.integers(min_value=0, max_value=MAX_AMOUNT),
    st.sampled_from([c for c in CURRENCIES if exponent(c) in (2, 4)]),
)
def test_comma_decimal_reads_the_same(amount: int, currency: str) -> None:
    # 1.234.567,89 EUR: "." between thousands, "," before the decimals
    text = format_money(amount, currency).translate(str.maketrans(".,", ",."))
    assert parse_money(text) == Money(amount, currency)


@given(st.text(max_size=40))
def test_any_text_is_an_amount_or_an_invalid_value(text: str) -> None:
    try:
        parsed = parse_money(text, allow_negative=True)
    except InvalidValue as exc:
        assert exc.field == "amount"
        assert "\n" not in exc.reason
    else:
        assert type(parsed.amount) is int
        assert -MAX_AMOUNT <= parsed.amount <= MAX_AMOUNT
        assert parsed.currency in money._EXPONENTS


@given(st.text(alphabet="0123456789.,' -$€₫kr", max_size=30), st.sampled_from(CURRENCIES))
def test_amount_like_text_is_an_amount_or_an_invalid_value(text: str, default: str) -> None:
    try:
        parsed = parse_money(text, default_currency=default, allow_negative=True)
    except InvalidValue:
        return
    # Whatever is accepted formats back to text that reads the same.
    again = format_money(parsed.amount, parsed.currency)
    assert parse_money(again, allow_negative=True) == parsed


# --- start-up -----------------------------------------------------------------------


def test_import_uses_only_the_standard_library() -> None:
    script = textwrap.dedent(
        """
        import sys
        before = set(sys.modules)
        from crmcli.money import parse_money, format_money
        assert format_money(parse_money("1.200.000 VND").amount, "VND") == "1,200,000 VND"
        assert parse_money("€1.234,56").amount == 123456
        new = sorted(set(sys.modules) - before)
        outside = [
            name for name in new
            if name.partition(".")[0] not in sys.stdlib_module_names
            and name.partition(".")[0] != "crmcli"
        ]
        print("outside:", outside)
        print("crmcli:", [name for name in new if name.startswith("crmcli")])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "outside: []"
    assert lines[1] == "crmcli: ['crmcli', 'crmcli.errors', 'crmcli.money']"
