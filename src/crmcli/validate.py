"""Validation and normalisation of e-mail addresses, phone numbers and country codes.

A bulk import validates every row, so each validator settles the common cases itself
and hands only the rest to its library (``email_validator``, ``phonenumbers``). The
fast paths give exactly the verdicts and normalised values the libraries give; the
libraries are imported inside functions, and only when needed, to keep start-up fast.
"""

from __future__ import annotations

import functools
import re

from crmcli.errors import InvalidValue

# --- e-mail -------------------------------------------------------------------------

# Mirrors of email_validator's constants (tests check them against the library).
_EMAIL_MAX_LENGTH = 254
_LOCAL_PART_MAX_LENGTH = 64  # the library only enforces it in strict mode; we defer past it
_SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_CASE_INSENSITIVE_MAILBOXES = frozenset(
    {
        "info",
        "marketing",
        "sales",
        "support",
        "abuse",
        "noc",
        "security",
        "postmaster",
        "hostmaster",
        "usenet",
        "news",
        "webmaster",
        "www",
        "uucp",
        "ftp",
    }
)

# Plainly valid ASCII addresses only: a dot-atom local part, and a domain of LDH labels
# (at most 63 characters, no hyphen at either end, no "--" in positions 3-4, which
# would be an R-LDH or Punycode label) ending in an alphabetic top-level domain.
# Explicit ASCII classes and no IGNORECASE: with it, [a-z] also matches "ſ" and "K".
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"(?![A-Za-z0-9-]{2}--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_FAST_EMAIL = re.compile(rf"({_ATEXT}+(?:\.{_ATEXT}+)*)@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")

_REASON_MAX_LENGTH = 160


def normalize_email(text: str, *, field: str = "email") -> str:
    """Return the normalised form of an e-mail address, or raise InvalidValue.

    Surrounding whitespace is stripped; the result is what
    ``email_validator.validate_email(text, check_deliverability=False).normalized``
    returns (domain lowercased, local part kept). No DNS lookups are ever made.
    """
    address = text.strip()
    if not address:
        raise InvalidValue(field, text, "must not be empty")
    fast = _fast_email(address)
    if fast is not None:
        return fast
    return _library_email(address, text, field)


def _fast_email(address: str) -> str | None:
    """The library's normalised form of a plain ASCII address, or None to defer to it."""
    if len(address) > _EMAIL_MAX_LENGTH:
        return None
    match = _FAST_EMAIL.fullmatch(address)
    if match is None:
        return None
    local, domain = match.group(1, 2)
    if len(local) > _LOCAL_PART_MAX_LENGTH:
        return None
    domain = domain.lower()
    if domain.rpartition(".")[2] in _SPECIAL_USE_TLDS:
        return None  # the library rejects these with its own message
    if local.lower() in _CASE_INSENSITIVE_MAILBOXES:
        local = local.lower()  # RFC 2142 role mailboxes, as the library does
    return f"{local}@{domain}"


def _library_email(address: str, original: str, field: str) -> str:
    """Validate with email_validator (syntax only); its message becomes the reason."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise InvalidValue(field, original, _one_line(str(error))) from None


def _one_line(message: str) -> str:
    """A message on one line, cut to a readable length."""
    line = " ".join(message.split())
    if len(line) > _REASON_MAX_LENGTH:
        line = line[: _REASON_MAX_LENGTH - 1] + "…"
    return line


# --- phone --------------------------------------------------------------------------

_PHONE_MAX_LENGTH = 100
_PHONE_MIN_DIGITS = 6
_PHONE_MAX_DIGITS = 15
_PHONE_PUNCTUATION = " ()./-"
_PHONE_ALLOWED = frozenset("0123456789+" + _PHONE_PUNCTUATION)
_DROP_PUNCTUATION = str.maketrans("", "", "+" + _PHONE_PUNCTUATION)

# After whitespace is collapsed: the number (a "+" only before its first digit), then
# an optional extension such as "ext 12", "ext. 12" or "x12".
_PHONE = re.compile(
    r"(?P<number>[ (]*(?P<plus>\+)?[0-9 ()./-]*)"
    r"(?: ?(?:[Ee][Xx][Tt]\.?|[Xx]) ?(?P<ext>[0-9]{1,7}))?"
)

# phonenumbers.NumberParseException.error_type -> reason (a test checks the codes).
_PARSE_ERRORS = {
    0: "unknown country calling code",  # INVALID_COUNTRY_CODE
    1: "not a phone number",  # NOT_A_NUMBER
    2: "too few digits",  # TOO_SHORT_AFTER_IDD
    3: "too few digits",  # TOO_SHORT_NSN
    4: "too many digits",  # TOO_LONG
}


def normalize_phone(text: str, *, country: str | None = None, field: str = "phone") -> str:
    """Return a phone number normalised, or raise InvalidValue.

    With a known country (``country``, a default like "VN", or a leading "+" or "00"
    international prefix, which always means international) the number must be valid
    for phonenumbers and comes back in E.164 form, e.g. "+84912345678", followed by
    " ext. 12" if it has an extension. Otherwise it is kept as typed, whitespace
    trimmed and collapsed, if it looks plausible: digits, spaces and + ( ) - . /,
    an optional extension ("ext 12", "x12") and 6 to 15 digits. An empty or None
    ``country`` means no default country.
    """
    typed = " ".join(text.split())
    if not typed:
        raise InvalidValue(field, text, "must not be empty")
    if len(typed) > _PHONE_MAX_LENGTH:
        raise InvalidValue(field, text, "too long")
    match = _PHONE.fullmatch(typed)
    if match is None:
        raise InvalidValue(field, text, _phone_problem(typed))
    digits = match["number"].translate(_DROP_PUNCTUATION)
    if not digits:
        raise InvalidValue(field, text, "no digits")
    if match["plus"] is not None:
        number = "+" + digits
    elif digits.startswith("00"):
        number = "+" + digits[2:]
    else:
        number = digits
    region = normalize_country_code(country) if country and country.strip() else None

    if region is None and not number.startswith("+"):
        if len(digits) < _PHONE_MIN_DIGITS:
            raise InvalidValue(field, text, "too few digits")
        if len(digits) > _PHONE_MAX_DIGITS:
            raise InvalidValue(field, text, "too many digits")
        return typed

    valid, result = _e164(number, region)
    if not valid:
        raise InvalidValue(field, text, result)
    extension = match["ext"]
    return f"{result} ext. {extension}" if extension else result


def _phone_problem(typed: str) -> str:
    """Say why a phone number does not have the allowed shape."""
    if any(char.isalpha() for char in typed):
        return "letters are not allowed (except an extension like 'ext 12')"
    bad = sorted({char for char in typed if char not in _PHONE_ALLOWED})
    if bad:
        shown = ", ".join(repr(char) for char in bad)
        return f"invalid character{'s' if len(bad) > 1 else ''} {shown}"
    return "'+' may only come before the number"


@functools.lru_cache(maxsize=8192)
def _e164(number: str, region: str | None) -> tuple[bool, str]:
    """Judge ``number`` (digits, maybe after "+") with phonenumbers, memoised.

    Returns (True, the E.164 form) or (False, the reason it is not valid).
    """
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException as error:
        return False, _PARSE_ERRORS.get(error.error_type, "not a phone number")
    if not phonenumbers.is_valid_number(parsed):
        return (
            False,
            f"not a valid {_region_label(number, region, parsed.country_code)} phone number",
        )
    return True, phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _region_label(number: str, region: str | None, calling_code: int | None) -> str:
    """Name the numbering plan a number was judged against: "VN", or "+1" if shared."""
    if region is not None and not number.startswith("+"):
        return region
    import phonenumbers

    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(calling_code or 0, ())
    if len(regions) == 1 and regions[0] != "001":
        return regions[0]
    return f"+{calling_code}"


# --- country ------------------------------------------------------------------------


def normalize_country_code(text: str, *, field: str = "country") -> str:
    """Return an ISO 3166 alpha-2 region code phonenumbers knows, upper-cased ("vn" -> "VN")."""
    code = text.strip()
    if not code:
        raise InvalidValue(field, text, "must not be empty")
    # ASCII is checked before upper-casing: "ı".upper() is "I".
    if not (len(code) == 2 and code.isascii() and code.isalpha() and _is_region(code.upper())):
        raise InvalidValue(field, text, "not a known country code (ISO 3166 alpha-2, e.g. VN, US)")
    return code.upper()


@functools.lru_cache(maxsize=64)
def _is_region(code: str) -> bool:
    """Whether phonenumbers has numbering data for region ``code``."""
    import phonenumbers

    return code in phonenumbers.SUPPORTED_REGIONS
