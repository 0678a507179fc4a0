"""Tests for crmcli.validate: verdicts, normalised forms, and fast path == library."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import email_validator
import phonenumbers
import pytest
from email_validator import rfc_constants
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crmcli import validate
from crmcli.errors import InvalidValue
from crmcli.validate import normalize_country_code, normalize_email, normalize_phone


def library_email(text: str) -> str | None:
    """What email_validator says about an address: its normalised form, or None."""
    try:
        return email_validator.validate_email(text, check_deliverability=False).normalized
    except email_validator.EmailNotValidError:
        return None


def our_email(text: str) -> str | None:
    """What normalize_email says: the normalised form, or None."""
    try:
        return normalize_email(text)
    except InvalidValue:
        return None


def library_phone(text: str, country: str | None) -> str | None:
    """What phonenumbers says directly: the E.164 form of a valid number, or None."""
    try:
        parsed = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def our_phone(text: str, country: str | None) -> str | None:
    """What normalize_phone says: the normalised form, or None."""
    try:
        return normalize_phone(text, country=country)
    except InvalidValue:
        return None


# --- e-mail -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("an@example.org", "an@example.org"),
        ("An.Nguyen+crm@Example.COM", "An.Nguyen+crm@example.com"),
        ("  an@example.org \n", "an@example.org"),
        ("o'brien_2@mail.shop-1.co.uk", "o'brien_2@mail.shop-1.co.uk"),
        ("INFO@Shop.VN", "info@shop.vn"),
        ("Sales@example.com", "sales@example.com"),
        ("a@a--b.com", "a@a--b.com"),
        ("an@bücher.de", "an@bücher.de"),
        ("an@BÜCHER.de", "an@bücher.de"),
        ("an@xn--bcher-kva.de", "an@bücher.de"),
        ("ngọc@ví-dụ.vn", "ngọc@ví-dụ.vn"),
    ],
)
def test_valid_emails(text: str, expected: str) -> None:
    assert normalize_email(text) == expected
    assert normalize_email(text) == library_email(text.strip())


@pytest.mark.parametrize(
    "text",
    [
        "an",
        "an@",
        "@example.org",
        "an@example",
        "an..b@example.org",
        ".an@example.org",
        "an.@example.org",
        "a b@example.org",
        "an@-example.org",
        "an@example-.org",
        "an@exa_mple.org",
        "an@example.org.",
        "an@example.123",
        "an@ab--cd.com",
        "an@example.invalid",
        "an@shop.test",
        "an@printer.local",
        "an@localhost",
        "an@10.in-addr.arpa",
        "an@site.onion",
        "Name <an@example.org>",
        '"an"@example.org',
        "an@[127.0.0.1]",
        "an@@example.org",
        "an@example.org\x00",
        "a" * 250 + "@example.org",
    ],
)
def test_invalid_emails(text: str) -> None:
    assert library_email(text.strip()) is None
    with pytest.raises(InvalidValue):
        normalize_email(text)


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_email(text: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize_email(text, field="work_email")
    assert caught.value.reason == "must not be empty"
    assert caught.value.field == "work_email"


def test_email_error_uses_library_message() -> None:
    with pytest.raises(email_validator.EmailNotValidError) as library:
        email_validator.validate_email("an@example.invalid", check_deliverability=False)
    with pytest.raises(InvalidValue) as ours:
        normalize_email("an@example.invalid")
    assert ours.value.reason == str(library.value)
    assert ours.value.field == "email"
    assert ours.value.value == "an@example.invalid"
    assert "special-use or reserved" in str(ours.value)


def test_long_email_reason_is_one_short_line() -> None:
    text = "".join(chr(c) for c in range(0x2400, 0x2460)) + "@example.org"
    with pytest.raises(InvalidValue) as caught:
        normalize_email(text)
    assert "\n" not in caught.value.reason
    assert len(caught.value.reason) <= 160


@pytest.mark.parametrize(
    "text",
    [
        "an@example.org",
        "An.Nguyen+crm@Example.COM",
        "x_y-z@sub.domain.example.io",
        "INFO@Shop.VN",
        "a" * 64 + "@example.org",
        "a@" + "b" * 63 + ".com",
    ],
)
def test_plain_emails_take_the_fast_path(text: str) -> None:
    assert validate._fast_email(text) == library_email(text)


@pytest.mark.parametrize(
    "text",
    [
        "an@bücher.de",
        "an@xn--bcher-kva.de",
        "an@ab--cd.com",
        "an@example.test",
        "an@Example.LOCAL",
        "a" * 65 + "@example.org",
        "a@" + "b" * 64 + ".com",
        "a@b.c",
        "a@b.co1",
        "a@b.ſom",
        "a@b.\u212aom",  # KELVIN SIGN
        "an@example.org\n",
    ],
)
def test_unusual_emails_defer_to_the_library(text: str) -> None:
    assert validate._fast_email(text) is None
    assert our_email(text) == library_email(text.strip())


def test_length_limits_match_library() -> None:
    domain = ".".join(["d" * 60] * 3) + ".com"  # 187 characters
    for local_length in range(58, 72):
        text = "a" * local_length + "@" + domain
        assert our_email(text) == library_email(text), local_length


def test_mirrored_constants_match_library() -> None:
    assert set(email_validator.SPECIAL_USE_DOMAIN_NAMES) == validate._SPECIAL_USE_TLDS
    assert set(rfc_constants.CASE_INSENSITIVE_MAILBOX_NAMES) == (
        validate._CASE_INSENSITIVE_MAILBOXES
    )
    assert rfc_constants.EMAIL_MAX_LENGTH == validate._EMAIL_MAX_LENGTH
    assert rfc_constants.LOCAL_PART_MAX_LENGTH == validate._LOCAL_PART_MAX_LENGTH


_EMAIL_ALPHABET = (
    "abcxyzABCXYZ0189.-@+_!#'/=`{}~ "
    # é ü ß İ ı ſ, KELVIN SIGN, full-width @, ideographic full stop, ọ
    "\u00e9\u00fc\u00df\u0130\u0131\u017f\u212a\uff20\u3002\u1ecd"
    "\u0301\u200b\t"  # combining acute, zero-width space, tab
)
_LABELS = st.sampled_from(
    [
        "example",
        "EXAMPLE",
        "com",
        "org",
        "vn",
        "co",
        "a",
        "a-b",
        "-a",
        "a-",
        "ab--cd",
        "xn--bcher-kva",
        "bücher",
        "test",
        "invalid",
        "local",
        "localhost",
        "arpa",
        "onion",
        "123",
        "c0m",
        "x" * 63,
        "x" * 64,
    ]
)
_LOCALS = st.one_of(
    st.sampled_from(["info", "INFO", "Sales", "an", "An.Nguyen", "a+b", "a..b", ".a", "a.", "ä"]),
    st.text(alphabet=_EMAIL_ALPHABET.replace("@", ""), min_size=0, max_size=12),
    st.text(alphabet="ab.", min_size=60, max_size=70),
    st.text(alphabet="abXY09._+-'", min_size=1, max_size=10),
)
_STRUCTURED_EMAILS = st.builds(
    lambda pad_left, local, labels, pad_right: f"{pad_left}{local}@{'.'.join(labels)}{pad_right}",
    st.sampled_from(["", " ", "\t"]),
    _LOCALS,
    st.lists(_LABELS, min_size=1, max_size=4),
    st.sampled_from(["", " ", "\n"]),
)

_PLAIN_EMAILS = st.builds(  # mostly valid, mostly on the fast path
    lambda local, labels, tld: f"{local}@{'.'.join([*labels, tld])}",
    st.text(alphabet="abXY09._+-'", min_size=1, max_size=10),
    st.lists(
        st.sampled_from(["example", "Mail", "shop-1", "a--b", "ab--c", "x" * 63]), max_size=3
    ).filter(bool),
    st.sampled_from(["com", "ORG", "vn", "co", "c", "test", "Local", "xn--p1ai"]),
)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(alphabet=_EMAIL_ALPHABET, max_size=30), _STRUCTURED_EMAILS, _PLAIN_EMAILS))
def test_email_matches_library(text: str) -> None:
    expected = library_email(text.strip()) if text.strip() else None
    assert our_email(text) == expected
    fast = validate._fast_email(text.strip())
    if fast is not None:
        assert fast == expected


# --- phone --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "country", "expected"),
    [
        ("0912 345 678", "VN", "+84912345678"),
        ("091-234-5678", "VN", "+84912345678"),
        ("(+84) 91 234 5678", "VN", "+84912345678"),
        ("0912345678", "vn", "+84912345678"),
        ("028 3822 1234", "VN", "+842838221234"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("1 415 555 2671", "US", "+14155552671"),
        ("030 123456", "DE", "+4930123456"),
        ("+84 91 234 5678", None, "+84912345678"),
        ("+84 91 234 5678", "US", "+84912345678"),
        ("0084 91 234 5678", None, "+84912345678"),
        ("0084 91 234 5678", "US", "+84912345678"),
        ("+1 415 555 2671", None, "+14155552671"),
        ("+44 (0) 20 7946 0000", None, "+442079460000"),
        ("0912 345 678 ext 12", "VN", "+84912345678 ext. 12"),
        ("0912345678x12", "VN", "+84912345678 ext. 12"),
        ("+84912345678 ext. 12", None, "+84912345678 ext. 12"),
        ("0912345678", None, "0912345678"),
        ("  0912   345\u00a0678 ", None, "0912 345 678"),
        ("(028) 3822-1234", None, "(028) 3822-1234"),
        ("0912 345 678 ext 12", None, "0912 345 678 ext 12"),
        ("0912/345.678 X9", None, "0912/345.678 X9"),
        ("123456", None, "123456"),
        ("123456789012345", None, "123456789012345"),
        ("0912345678", "", "0912345678"),
    ],
)
def test_valid_phones(text: str, country: str | None, expected: str) -> None:
    result = normalize_phone(text, country=country)
    assert result == expected
    assert normalize_phone(result, country=country) == result


def test_national_number_without_country_keeps_leading_zero() -> None:
    result = normalize_phone("0912345678")
    assert isinstance(result, str)
    assert result == "0912345678"


@pytest.mark.parametrize(
    ("text", "country", "reason"),
    [
        ("", None, "must not be empty"),
        ("   ", "VN", "must not be empty"),
        ("12345", None, "too few digits"),
        ("1234567890123456", None, "too many digits"),
        ("0912 ABC 678", None, "letters are not allowed"),
        ("1-800-FLOWERS", "US", "letters are not allowed"),
        ("0912 ext", None, "letters are not allowed"),
        ("0912#345678", None, "invalid character '#'"),
        ("0912_345;678", "VN", "invalid characters ';', '_'"),
        ("０９１２３４５６７８", None, "invalid characters"),
        ("09+12345678", None, "'+' may only come before the number"),
        ("++84912345678", None, "'+' may only come before the number"),
        ("()", "VN", "no digits"),
        ("+", None, "no digits"),
        ("123", "VN", "not a valid VN phone number"),
        ("0912 345", "VN", "not a valid VN phone number"),
        ("+84 123", None, "not a valid VN phone number"),
        ("555 0100", "US", "not a valid US phone number"),
        ("+1 212 000 0000", None, "not a valid +1 phone number"),
        ("+999 1234567", None, "unknown country calling code"),
        ("1" * 20, "VN", "too many digits"),
        ("1 " * 60, None, "too long"),
    ],
)
def test_invalid_phones(text: str, country: str | None, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize_phone(text, country=country, field="mobile")
    assert caught.value.field == "mobile"
    assert caught.value.reason.startswith(reason), caught.value.reason


def test_parse_error_codes_match_phonenumbers() -> None:
    error = phonenumbers.NumberParseException
    assert error.INVALID_COUNTRY_CODE == 0
    assert error.NOT_A_NUMBER == 1
    assert (error.TOO_SHORT_AFTER_IDD, error.TOO_SHORT_NSN, error.TOO_LONG) == (2, 3, 4)


def test_unknown_default_country_names_the_country_field() -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize_phone("0912345678", country="XX")
    assert caught.value.field == "country"


def test_phone_memo_is_keyed_on_digits() -> None:
    validate._e164.cache_clear()
    assert normalize_phone("0912 345 678", country="VN") == "+84912345678"
    assert normalize_phone("091-234-5678", country="VN") == "+84912345678"
    assert normalize_phone("(091) 234.5678", country="vn") == "+84912345678"
    info = validate._e164.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_phone_memo_keeps_verdicts_for_invalid_numbers() -> None:
    validate._e164.cache_clear()
    for _ in range(3):
        with pytest.raises(InvalidValue, match="not a valid VN phone number"):
            normalize_phone("0912 345", country="VN")
    assert validate._e164.cache_info().misses == 1


_REGIONS = st.sampled_from(["VN", "US", "DE", "GB", "FR", "JP", "IN", "AU", "BR", "SG"])
_PHONE_BODIES = st.one_of(
    st.text(alphabet="0123456789 -().", min_size=1, max_size=24),
    st.builds(
        lambda head, rest: head + rest,
        st.sampled_from(["0", "09", "1", "4", "84", "49", "44", "(0)", "(415) ", "020 "]),
        st.text(alphabet="0123456789 -", min_size=4, max_size=14),
    ),
    st.builds(  # near-valid numbers: real national or international stems
        lambda head, rest: head + rest,
        st.sampled_from(
            ["0912 345 ", "028 38", "(415) 555-", "030 12", "020 7946 ", "06 12 34 ", "090-1234-"]
            + ["84 912 34", "1 415 555 ", "49 30 12", "44 20 7946 ", "33 6 12 34 "]
        ),
        st.text(alphabet="0123456789 -", min_size=2, max_size=6),
    ),
)


@settings(max_examples=400)
@given(
    prefix=st.sampled_from(["", "", "+", "00"]),
    body=_PHONE_BODIES,
    country=_REGIONS,
)
def test_phone_with_country_matches_phonenumbers(prefix: str, body: str, country: str) -> None:
    if not prefix:
        # A leading "00" always means international (see normalize_phone); the
        # reference below gets it as "+".
        assume(not body.translate(str.maketrans("", "", " -().")).startswith("00"))
    text = prefix + body
    reference = library_phone(("+" if prefix else "") + body, country)
    assert our_phone(text, country) == reference
    assert our_phone(text, country.lower()) == reference


@settings(max_examples=200)
@given(st.text(alphabet="0123456789 -()./+xXet#a\u00a0", max_size=30))
def test_phone_without_country_is_plausible_text(text: str) -> None:
    result = our_phone(text, None)
    if result is None or result.startswith("+"):
        return
    assert result == " ".join(text.split())
    number = re.sub(r" ?(ext\.?|x) ?[0-9]+$", "", result, flags=re.IGNORECASE)
    assert set(number) <= set("0123456789 -()./")
    assert 6 <= sum(char.isdigit() for char in number) <= 15


# --- country ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"), [("vn", "VN"), (" de ", "DE"), ("US", "US"), ("gb", "GB")]
)
def test_valid_country_codes(text: str, expected: str) -> None:
    assert normalize_country_code(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "must not be empty"),
        ("  ", "must not be empty"),
        ("XX", "not a known country code"),
        ("USA", "not a known country code"),
        ("V", "not a known country code"),
        ("001", "not a known country code"),
        ("ıt", "not a known country code"),
        ("Vn1", "not a known country code"),
    ],
)
def test_invalid_country_codes(text: str, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize_country_code(text, field="default_country")
    assert caught.value.reason.startswith(reason)
    assert caught.value.field == "default_country"


# --- start-up -----------------------------------------------------------------------


def test_fast_paths_import_no_validation_library() -> None:
    script = textwrap.dedent(
        """
        import sys
        from crmcli.validate import normalize_email, normalize_phone
        assert "email_validator" not in sys.modules
        assert "phonenumbers" not in sys.modules
        assert normalize_email("an@example.org") == "an@example.org"
        assert normalize_phone("0912 345 678") == "0912 345 678"
        assert "email_validator" not in sys.modules, "email_validator was imported"
        assert "phonenumbers" not in sys.modules, "phonenumbers was imported"
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
