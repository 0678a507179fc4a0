"""Money: an integer count of minor units and an ISO 4217 currency code, never a float.

``Money(120050, "USD")`` is 1,200.50 US dollars; ``Money(1200000, "VND")`` is
1,200,000 dong (VND has no minor unit). Each currency's exponent (the number of
decimal places of its minor unit) comes from the table below.

What :func:`parse_money` reads (surrounding and inner whitespace tolerated):

* A number with an optional currency before or after it, with or without a
  space: ``1200``, ``99 EUR``, ``EUR 99``, ``99eur``, ``$99``, ``99 $``,
  ``€1.234,56``, ``1.200.000 VND``, ``1 200 000 ₫``. Without one the default
  currency is meant. A code and a symbol may both be given if they agree
  (``$99 AUD``).
* Codes are ISO 4217 alphabetic codes in any case: the active ones, and those
  withdrawn since 2021 that older records still hold (ANG, BGN, CUC, HRK, SLL,
  ZWL). Codes without a minor unit (XAU gold, XDR, XXX ...) are refused.
* Symbols, in any case: ``€ £ ¥ ₫ đ VNĐ ₩ ₹ ฿ ₱ ₺ ₽ ₴ ₪ ₦ zł Kč Ft Rp RM R$``,
  prefixed dollars (``US$ A$ CA$ NZ$ S$ HK$ NT$ MX$``) and a few more (the
  table below). A symbol that several currencies share means the default
  currency when that is one of them, else its main currency: ``$`` is USD
  unless the default is another dollar or peso (AUD, CAD, SGD, MXN, ...), ``£``
  is GBP unless the default is EGP, GIP, ..., ``¥`` is JPY unless the default
  is CNY, ``₩`` is KRW unless it is KPW.
  ``kr`` and ``₨`` have no main currency: they need a default among theirs
  (DKK ISK NOK SEK; LKR MUR NPR PKR SCR) or a code.
* A sign, ``-`` (or U+2212 minus) or ``+``, before the number or before the
  currency: ``-50``, ``-$50``, ``$-50``, ``USD -50``. A minus sign is refused,
  even on zero, unless ``allow_negative=True`` (refunds).
* Digits are ASCII 0-9. Spaces (also no-break U+00A0, narrow no-break U+202F,
  thin U+2009 and figure U+2007 spaces) and apostrophes (``'``, ``’``, as in
  Swiss ``1'234.50``) only ever separate thousands.
* ``.`` and ``,`` are read by these rules, in order; the first that applies
  decides, and nothing is guessed:

  1. Both appear: the one that comes last is the decimal mark and must appear
     once; the other separates thousands (``1,200.50``, ``€1.234,56``).
  2. One of them appears more than once: it separates thousands
     (``1.200.000 VND``, ``1,200,000``).
  3. It appears once, after spaces or apostrophes that group thousands: it is
     the decimal mark (``1 234,56``).
  4. It appears once and is not followed by exactly three digits: it is the
     decimal mark (``1200.5``, ``1,5 EUR`` = 1.50 EUR).
  5. It appears once, followed by exactly three digits:

     * ``,`` separates thousands (``1,200`` = 1200), as :func:`format_money`
       writes it;
     * ``.`` separates thousands when the currency has no minor unit
       (``1.200 VND`` = 1200) and is the decimal mark when it has three or four
       decimals (``1.234 KWD`` = 1234 fils, as :func:`format_money` writes it);
     * ``.`` with a currency of one or two decimals is refused: ``1.200 USD``
       is ambiguous ("write 1200 or 1.20") and ``1.234 USD`` has too many
       decimals ("write 1234 if '.' separates thousands").

* Thousands are grouped in threes, all with the same separator, and a grouped
  number does not start with 0: ``1,200,000`` is read; ``12,34,567`` (Indian
  grouping), ``1,200,50``, ``0,500`` and ``1.234 567`` are refused.
* More decimals than the currency has is an error, never rounded, even when the
  extra digits are zeros: ``10.5 VND``, ``10.0 VND``, ``1.2345 USD``. Fewer are
  fine: ``1.5 USD`` is 150 cents.
* The amount in minor units must fit SQLite's 64-bit integer: at most
  2**63 - 1 in either direction (92,233,720,368,547,758.07 USD).
* Empty text, a missing number, an unknown code or symbol and anything else are
  errors; every error is :class:`~crmcli.errors.InvalidValue` naming the field
  and the text.

:func:`format_money` writes for people, the same in every locale: ``,``
between thousands, ``.`` before the decimals (always exactly the currency's
number of them) and the code after: ``12,345.67 USD``, ``1,200,000 VND``,
``-5.00 USD``, ``1.234 KWD``. With ``symbol=True`` a currency's own symbol
replaces the code where it has one (``$12,345.67``, ``-€5.00``,
``1,200,000 ₫``). :func:`to_decimal_text` writes for programs (CSV, JSON):
``12345.67``, ``1200000``, ``-5.00``. Both read back through
:func:`parse_money` to the same amount; a ``$`` written for USD reads back as
the default currency's dollar, so text meant to be read back should carry the
code.

Only the standard library is imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from crmcli.errors import InvalidValue
from crmcli.errors import Unreadable as _Bad

__all__ = [
    "MAX_AMOUNT",
    "Money",
    "exponent",
    "format_money",
    "normalize_currency",
    "parse_money",
    "to_decimal_text",
    "total_by_currency",
]

MAX_AMOUNT = 2**63 - 1
"""The largest number of minor units SQLite stores as an INTEGER (either sign)."""

# --------------------------------------------------------------- the tables

# ISO 4217 List One, active codes (January 2026), by minor-unit exponent.
_EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_EXPONENT_2 = """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP
    BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES
    KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD
    RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP
    TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XAD XCD XCG YER ZAR ZMW ZWG
"""
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENT_4 = "CLF UYW"
# Withdrawn since 2021 but still found in older records, so they are still read:
# ANG (now XCG), BGN (now EUR), CUC, HRK (now EUR), SLL (now SLE), ZWL (now ZWG).
_WITHDRAWN_2 = "ANG BGN CUC HRK SLL ZWL"
# Codes ISO 4217 lists without a minor unit (metals, funds, testing, "no
# currency"): an amount in them cannot be kept in minor units.
_NO_MINOR_UNIT = frozenset("XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XTS XUA XXX".split())

_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_EXPONENT_2.split(), 2),
    **dict.fromkeys(_WITHDRAWN_2.split(), 2),
    **dict.fromkeys(_EXPONENT_0.split(), 0),
    **dict.fromkeys(_EXPONENT_3.split(), 3),
    **dict.fromkeys(_EXPONENT_4.split(), 4),
}

# Symbols that several currencies share: symbol -> (its main currency or None,
# the others written with it). The symbol means the default currency when that
# is one of them.
_SHARED_SYMBOLS: dict[str, tuple[str | None, str]] = {
    "$": (
        "USD",
        "ARS AUD BBD BMD BND BSD BZD CAD CLP COP CUP DOP FJD GYD HKD JMD KYD LRD MXN "
        "NAD NZD SBD SGD SRD TTD TWD UYU XCD",
    ),
    "£": ("GBP", "EGP FKP GIP LBP SHP SSP SYP"),
    "¥": ("JPY", "CNY"),
    "￥": ("JPY", "CNY"),  # the full-width yen sign of CJK text
    "₩": ("KRW", "KPW"),
    "kr": (None, "DKK ISK NOK SEK"),
    "₨": (None, "LKR MUR NPR PKR SCR"),
}

# Symbols of one currency each (matched ignoring case: "rm", "RM" and "Rm" are MYR).
_OWN_SYMBOLS: dict[str, str] = {
    "US$": "USD",
    "A$": "AUD",
    "AU$": "AUD",
    "CA$": "CAD",
    "NZ$": "NZD",
    "S$": "SGD",
    "SG$": "SGD",
    "HK$": "HKD",
    "NT$": "TWD",
    "MX$": "MXN",
    "R$": "BRL",
    "€": "EUR",
    "E£": "EGP",
    "CN¥": "CNY",
    "JP¥": "JPY",
    "₫": "VND",
    "đ": "VND",
    "VNĐ": "VND",
    "₹": "INR",
    "฿": "THB",
    "₱": "PHP",
    "₺": "TRY",
    "₽": "RUB",
    "₴": "UAH",
    "zł": "PLN",
    "Kč": "CZK",
    "Ft": "HUF",
    "₪": "ILS",
    "₦": "NGN",
    "₵": "GHS",
    "₡": "CRC",
    "₲": "PYG",
    "៛": "KHR",
    "₭": "LAK",
    "₮": "MNT",
    "₸": "KZT",
    "₼": "AZN",
    "₾": "GEL",
    "Rp": "IDR",
    "RM": "MYR",
}

# symbol (case-folded) -> (main currency or None, every currency it may mean)
_SYMBOLS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    **{sym.casefold(): (code, (code,)) for sym, code in _OWN_SYMBOLS.items()},
    **{
        sym.casefold(): (main, ((main,) if main else ()) + tuple(others.split()))
        for sym, (main, others) in _SHARED_SYMBOLS.items()
    },
}

# What format_money(symbol=True) writes: before the number, or after it and a space.
_DISPLAY_BEFORE: dict[str, str] = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "CN¥",
    "KRW": "₩",
    "INR": "₹",
    "THB": "฿",
    "PHP": "₱",
    "TRY": "₺",
    "ILS": "₪",
    "NGN": "₦",
    "GHS": "₵",
    "CRC": "₡",
    "PYG": "₲",
    "KHR": "៛",
    "LAK": "₭",
    "MNT": "₮",
    "AZN": "₼",
    "GEL": "₾",
    "BRL": "R$",
    "AUD": "A$",
    "CAD": "CA$",
    "NZD": "NZ$",
    "SGD": "S$",
    "HKD": "HK$",
    "TWD": "NT$",
    "MXN": "MX$",
    "EGP": "E£",
    "IDR": "Rp",
    "MYR": "RM",
}
_DISPLAY_AFTER: dict[str, str] = {
    "VND": "₫",
    "PLN": "zł",
    "CZK": "Kč",
    "HUF": "Ft",
    "RUB": "₽",
    "UAH": "₴",
    "KZT": "₸",
}

_CODE_HINT = "use an ISO 4217 code like USD, EUR or VND"
_NOT_AN_AMOUNT = "not an amount; write e.g. 1200, 1,200.50, $99 or 99 EUR"
_MAX_TEXT = 100  # far more than the longest amount, far less than a slow int()
_MAX_DIGITS = len(str(MAX_AMOUNT))

# After _clean: optional sign, optional currency, optional sign, the number (digits
# and separators, single spaces allowed inside), optional currency. A currency is a
# run of anything but signs, digits, spaces and separators; it is checked later.
_MARK = r"[^-+0-9 .,']+"
_NUM = r"[0-9.,']+(?: [0-9.,']+)*"
_SHAPE = (
    rf"(?P<s1>[-+])? ?(?P<pre>{_MARK})? ?(?P<s2>[-+])? ?"
    rf"(?P<num>{_NUM})(?: ?(?P<post>{_MARK}))?"
)
_ALL_DIGITS = r"[0-9]{1,18}"
_SEPARATOR = r"([.,' ])"


# -------------------------------------------------------------------- Money


class Money:
    """An amount: ``amount`` minor units (an int) of ``currency`` (an ISO 4217 code).

    Immutable, hashable, equal when both fields are. The currency is normalised
    (``"usd"`` -> ``"USD"``); an unknown currency or an amount beyond
    :data:`MAX_AMOUNT` raises :class:`~crmcli.errors.InvalidValue`, and an amount
    that is not an int (a float, a bool) raises :class:`TypeError`.
    There is no ordering: amounts of different currencies do not compare.
    """

    __slots__ = ("amount", "currency")
    __match_args__ = ("amount", "currency")

    amount: int
    currency: str

    def __init__(self, amount: int, currency: str) -> None:
        _check_int(amount)
        code = normalize_currency(currency)
        if not -MAX_AMOUNT <= amount <= MAX_AMOUNT:
            raise InvalidValue("amount", amount, _too_large(code))
        object.__setattr__(self, "amount", amount)
        object.__setattr__(self, "currency", code)

    @classmethod
    def _checked(cls, amount: int, currency: str) -> Money:
        """A Money from values this module has already checked."""
        money = object.__new__(cls)
        object.__setattr__(money, "amount", amount)
        object.__setattr__(money, "currency", currency)
        return money

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Money is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Money is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.amount == other.amount and self.currency == other.currency

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def __repr__(self) -> str:
        return f"Money(amount={self.amount!r}, currency={self.currency!r})"

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)

    def __reduce__(self) -> tuple[type[Money], tuple[int, str]]:
        return (Money, (self.amount, self.currency))


# ------------------------------------------------------------------ public


def exponent(currency: str) -> int:
    """The number of decimal places of ``currency``'s minor unit: USD 2, VND 0, KWD 3.

    The code may be in any case; an unknown one raises InvalidValue.
    """
    known = _EXPONENTS.get(currency)
    if known is not None:
        return known
    return _EXPONENTS[normalize_currency(currency)]


def normalize_currency(text: str, *, field: str = "currency") -> str:
    """The ISO 4217 code in ``text``, upper-cased (``" vnd "`` -> ``"VND"``).

    Raises InvalidValue naming ``field`` for an empty, malformed or unknown code,
    and for codes without a minor unit (XAU gold, XDR, XXX).
    """
    if text in _EXPONENTS:
        return text
    code = text.strip()
    if not code:
        raise InvalidValue(field, text, "must not be empty")
    # ASCII is checked before upper-casing: "ı".upper() is "I".
    upper = code.upper() if code.isascii() else code
    if upper in _EXPONENTS:
        return upper
    if upper in _NO_MINOR_UNIT:
        reason = f"{upper} has no minor unit in ISO 4217, so amounts cannot be kept in it"
    elif _is_code(upper):
        reason = f"unknown currency code; {_CODE_HINT}"
    else:
        symbol = _SYMBOLS.get(code.casefold())
        if symbol is not None and len(symbol[1]) == 1:
            reason = f"write the code {symbol[1][0]}, not the symbol"
        else:
            reason = f"not a currency code; {_CODE_HINT}"
    raise InvalidValue(field, text, reason)


def parse_money(
    text: str,
    *,
    default_currency: str = "USD",
    field: str = "amount",
    allow_negative: bool = False,
) -> Money:
    """Read an amount of money as people type it; see the module docstring for the rules.

    ``default_currency`` is meant when the text names none (and decides what a
    shared symbol like ``$`` means). A minus sign is refused unless
    ``allow_negative``. Raises :class:`~crmcli.errors.InvalidValue` naming
    ``field`` (and ``default_currency`` when that is not a known code).
    """
    default = (
        default_currency
        if default_currency in _EXPONENTS
        else normalize_currency(default_currency, field="default_currency")
    )
    if re.fullmatch(_ALL_DIGITS, text):  # the common case: "1200"
        minor = int(text) * 10 ** _EXPONENTS[default]
        if minor <= MAX_AMOUNT:
            return Money._checked(minor, default)
    try:
        negative, currency, minor = _parse(text, default)
    except _Bad as exc:
        raise InvalidValue(field, text, exc.reason) from None
    if negative and not allow_negative:
        raise InvalidValue(field, text, "must not be negative")
    return Money._checked(-minor if negative else minor, currency)


def format_money(amount: int, currency: str, *, symbol: bool = False) -> str:
    """``amount`` minor units for people: ``12,345.67 USD``, ``1,200,000 VND``, ``-5.00 USD``.

    Always ``,`` between thousands and ``.`` before exactly the currency's number of
    decimals, whatever the locale. With ``symbol`` the currency's own symbol stands
    in for the code where it has one (``$12,345.67``, ``-€5.00``, ``1,200,000 ₫``).
    """
    _check_int(amount)
    code = normalize_currency(currency)
    body = _digits(amount, _EXPONENTS[code], grouped=True)
    sign = "-" if amount < 0 else ""
    if symbol:
        before = _DISPLAY_BEFORE.get(code)
        if before is not None:
            return f"{sign}{before}{body}"
        after = _DISPLAY_AFTER.get(code)
        if after is not None:
            return f"{sign}{body} {after}"
    return f"{sign}{body} {code}"


def to_decimal_text(amount: int, currency: str) -> str:
    """``amount`` minor units as a plain decimal for programs: ``12345.67``, ``1200000``.

    No grouping, ``.`` before exactly the currency's number of decimals, ``-`` for
    negative amounts; exact for any int (no float on the way).
    """
    _check_int(amount)
    code = normalize_currency(currency)
    sign = "-" if amount < 0 else ""
    return sign + _digits(amount, _EXPONENTS[code], grouped=False)


def total_by_currency(items: Iterable[tuple[int, str]]) -> dict[str, int]:
    """Sum ``(amount, currency)`` pairs per currency, never across currencies.

    Currencies are normalised (``usd`` and ``USD`` are one total); the result
    keeps the order in which currencies first appear. Sums are exact and may
    exceed :data:`MAX_AMOUNT` (they are for showing, not for storing).
    """
    totals: dict[str, int] = {}
    for amount, currency in items:
        _check_int(amount)
        code = currency if currency in _EXPONENTS else normalize_currency(currency)
        totals[code] = totals.get(code, 0) + amount
    return totals


# ---------------------------------------------------------------- helpers


def _check_int(amount: object) -> None:
    """Refuse anything but an int: money is never a float (nor a bool)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"an amount of money is an int of minor units, not {type(amount).__name__}")


def _digits(amount: int, places: int, *, grouped: bool) -> str:
    """abs(amount) minor units as ``1,234.56`` (``1234.56`` when not ``grouped``)."""
    whole, fraction = divmod(abs(amount), 10**places)
    text = f"{whole:,}" if grouped else str(whole)
    return f"{text}.{fraction:0{places}d}" if places else text


def _too_large(currency: str) -> str:
    return f"too large; at most {format_money(MAX_AMOUNT, currency)}"


def _clean(text: str) -> str:
    """Whitespace runs (NBSP, narrow NBSP, tabs ...) made one space; minus and ’ made ASCII."""
    return " ".join(text.split()).replace("\u2212", "-").replace("\u2019", "'")


def _parse(text: str, default: str) -> tuple[bool, str, int]:
    """(negative, currency, minor units >= 0) read from ``text``, or raise _Bad."""
    clean = _clean(text)
    if not clean:
        raise _Bad("no amount given")
    if len(clean) > _MAX_TEXT:
        raise _Bad("too long for an amount")
    if any(char.isdigit() and not char.isascii() for char in clean):
        raise _Bad("write the digits 0-9")
    match = re.fullmatch(_SHAPE, clean)
    if match is None:
        if not any(char.isdigit() for char in clean):
            raise _Bad("no number in it")
        raise _Bad(_NOT_AN_AMOUNT)
    if match["s1"] and match["s2"]:
        raise _Bad(_NOT_AN_AMOUNT)
    currency = _currency(match["pre"], match["post"], default)
    places = _EXPONENTS[currency]
    whole, fraction = _split_number(match["num"], currency, places)
    digits = (whole + fraction.ljust(places, "0")).lstrip("0")
    if len(digits) > _MAX_DIGITS or int(digits or "0") > MAX_AMOUNT:
        raise _Bad(_too_large(currency))
    negative = (match["s1"] or match["s2"]) == "-"
    return negative, currency, int(digits or "0")


def _currency(pre: str | None, post: str | None, default: str) -> str:
    """The currency named before and/or after the number, else ``default``."""
    if pre is None and post is None:
        return default
    if pre is not None and post is not None:
        # Both must name the same currency; a code settles what a shared symbol means.
        first, second = (post, pre) if _is_code(post) and not _is_code(pre) else (pre, post)
        currency = _marker(first, default)
        if _marker(second, currency if _is_code(first) else default) != currency:
            raise _Bad(f"{pre!r} and {post!r} name different currencies")
        return currency
    marker = pre if pre is not None else post
    assert marker is not None
    return _marker(marker, default)


def _is_code(marker: str) -> bool:
    """Whether ``marker`` has the shape of an ISO 4217 code (three ASCII letters)."""
    return len(marker) == 3 and marker.isascii() and marker.isalpha()


def _marker(marker: str, default: str) -> str:
    """The currency a code or symbol names; a shared symbol means ``default`` if it can."""
    if _is_code(marker):
        code = marker.upper()
        if code in _EXPONENTS:
            return code
        if code in _NO_MINOR_UNIT:
            raise _Bad(f"{code} has no minor unit in ISO 4217, so amounts cannot be kept in it")
        raise _Bad(f"unknown currency code {marker!r}; {_CODE_HINT}")
    entry = _SYMBOLS.get(marker.casefold())
    if entry is None:
        raise _Bad(f"unknown currency {marker!r}; {_CODE_HINT}")
    main, meanings = entry
    if default in meanings:
        return default
    if main is None:
        listed = ", ".join(meanings[:-1]) + " or " + meanings[-1]
        raise _Bad(f"{marker!r} may mean {listed}; write the code instead")
    return main


def _split_number(number: str, currency: str, places: int) -> tuple[str, str]:
    """The whole digits and the decimal digits of ``number`` (see the module rules)."""
    parts = re.split(_SEPARATOR, number)
    runs, seps = parts[0::2], parts[1::2]
    if not all(runs):
        raise _Bad("separators must stand between digits, e.g. 1,200.50 or 0.50")
    if not seps:
        return number, ""
    last = seps[-1]
    marks = {".", ","}.intersection(seps)
    decimal = False
    if len(marks) == 2:
        decimal = last in marks  # rule 1 (a space after both is refused as mixed grouping)
    elif last in marks and seps.count(last) == 1:
        if len(set(seps)) > 1 or len(runs[-1]) != 3:
            decimal = True  # rules 3 and 4
        elif last == "." and places:
            decimal = _point_and_three_digits(runs, currency, places)  # rule 5
    groups, fraction = (runs[:-1], runs[-1]) if decimal else (runs, "")
    grouping = seps[:-1] if decimal else seps
    if grouping:
        _check_groups(groups, grouping)
    if len(fraction) > places:
        raise _Bad(_too_precise(currency, places))
    return "".join(groups), fraction


def _point_and_three_digits(runs: list[str], currency: str, places: int) -> bool:
    """``1.234``: a decimal point with 3 or 4 places, else refused (rule 5)."""
    if places >= 3:
        return True
    whole, three = runs
    grouping_fits = len(whole) <= 3 and not whole.startswith("0")
    if grouping_fits and three.endswith("0" * (3 - places)):
        decimals = three[:places]
        raise _Bad(
            "ambiguous: '.' before three digits may separate thousands or decimals; "
            f"write {whole}{three} or {whole}.{decimals}"
        )
    reason = _too_precise(currency, places)
    if grouping_fits:
        reason += f"; write {whole}{three} if '.' separates thousands"
    raise _Bad(reason)


def _check_groups(groups: list[str], grouping: list[str]) -> None:
    """Thousands must be grouped in threes with one separator, not after a leading 0."""
    kinds = set(grouping)
    if len(kinds) > 1:
        shown = " and ".join(repr(sep) for sep in sorted(kinds))
        raise _Bad(f"mixed thousands separators {shown}; use one kind")
    head, rest = groups[0], groups[1:]
    if not 1 <= len(head) <= 3 or any(len(group) != 3 for group in rest):
        raise _Bad("thousands must be grouped in threes, e.g. 1,200,000")
    if head.startswith("0"):
        raise _Bad("a number grouped in thousands cannot start with 0")


def _too_precise(currency: str, places: int) -> str:
    if places == 0:
        return f"{currency} has no minor unit; write a whole number"
    unit = "place" if places == 1 else "places"
    return f"{currency} allows at most {places} decimal {unit}"
