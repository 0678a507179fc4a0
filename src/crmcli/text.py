"""Text rules: NFC storage, length caps, search folding, terminal-safe printing."""

from __future__ import annotations

import re

from crmcli.errors import InvalidValue

# Field length caps (characters).
NAME_MAX = 200
SHORT_MAX = 200
NOTE_MAX = 65536

# Letters that Unicode does not decompose, so FTS5's remove_diacritics leaves them alone:
# folded by us on both sides of a search (the index and the query).
# Vietnamese đ is the one that matters most ("duc" must find "Đức").
FOLD_MAP: dict[str, str] = {"đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O"}

_FOLD_TABLE = str.maketrans(FOLD_MAP)

# C0/C1 controls (except newline) and the bidi overrides / isolates / marks.
_UNSAFE = "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"


def clean(
    value: str,
    *,
    field: str,
    limit: int = SHORT_MAX,
    required: bool = False,
    multiline: bool = True,
) -> str | None:
    """NFC-normalise and trim a user value; ``None`` for blank unless ``required``.
    ``multiline=False`` refuses line breaks (names, e-mails, cities …)."""
    import unicodedata  # here, not at the top: listings never load it (≈ 3 ms at start-up)

    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        if required:
            raise InvalidValue(field, value, "must not be empty")
        return None
    if len(text) > limit:
        raise InvalidValue(
            field, text[:20], f"too long ({len(text)} characters; the limit is {limit})"
        )
    if "\x00" in text:
        raise InvalidValue(field, text, "contains a NUL character")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, e.g. "\udcff" in a JSON file
            raise InvalidValue(field, text, "is not valid Unicode text") from None
    if not multiline and ("\n" in text or "\r" in text):
        raise InvalidValue(field, text, "must be on one line")
    return text


def fold_for_search(text: str) -> str:
    """What the search index holds for ``text``: NFC with the undecomposable letters folded.

    Case and the ordinary diacritics are folded by the FTS5 tokenizer itself
    (``unicode61 remove_diacritics 2``), so the query and the index agree.
    """
    import unicodedata

    return unicodedata.normalize("NFC", text).translate(_FOLD_TABLE)


def sql_fold(expr: str) -> str:
    """The SQL expression that applies :data:`FOLD_MAP` to ``expr`` (used in triggers)."""
    for src, dst in FOLD_MAP.items():
        expr = f"replace({expr}, '{src}', '{dst}')"
    return expr


def fold_key(text: str) -> str:
    """A comparison key: no case, no diacritics, single spaces (for duplicate detection)."""
    import unicodedata

    decomposed = unicodedata.normalize("NFD", fold_for_search(text).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())


def visible(text: str) -> str:
    """Make control and bidi characters visible (``\\x1b``, ``\\u202e``), never executed."""
    return re.sub(_UNSAFE, _escape_char, text)  # re caches the compiled pattern


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
