"""Text rules: NFC storage, length caps, search folding, terminal-safe printing."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

from crmcli.errors import InvalidValue

# Field length caps (characters).
NAME_MAX = 200
SHORT_MAX = 200
NOTE_MAX = 65536

# Search folding.  The FTS5 tokenizer (``unicode61 remove_diacritics 2``) folds case and the
# diacritics of Latin letters.  The letters below it leaves alone, so they are folded by us on
# both sides of a search: the index (:func:`sql_fold`, inside the triggers) and the query
# (:func:`fold_for_search`).  One table, in groups: each group is one step of the SQL fold.
FOLD_GROUPS: tuple[dict[str, str], ...] = (
    # Vietnamese đ ("duc" finds "Đức"): by far the most common, so a step of its own.
    {"đ": "d", "Đ": "D"},
    # Latin letters Unicode does not decompose.
    {
        "ß": "ss", "ẞ": "SS", "ı": "i", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D",
        "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L",
    },
    # Greek tonos and dialytika, final sigma; the tokenizer only strips Latin diacritics.
    {
        "ά": "α", "έ": "ε", "ή": "η", "ί": "ι", "ό": "ο", "ύ": "υ", "ώ": "ω", "ϊ": "ι",
        "ϋ": "υ", "ΐ": "ι", "ΰ": "υ", "ς": "σ",
    },
    {
        "Ά": "Α", "Έ": "Ε", "Ή": "Η", "Ί": "Ι", "Ό": "Ο", "Ύ": "Υ", "Ώ": "Ω", "Ϊ": "Ι",
        "Ϋ": "Υ", "ё": "е", "Ё": "Е",
    },
)  # fmt: skip
FOLD_MAP: dict[str, str] = {src: dst for group in FOLD_GROUPS for src, dst in group.items()}

_FOLD_TABLE = str.maketrans(FOLD_MAP)
_RARE_FOLD = re.compile("[" + "".join(ch for group in FOLD_GROUPS[1:] for ch in group) + "]")

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
    """What the search index holds for ``text``: NFC with the letters of :data:`FOLD_MAP`
    folded (the same as :func:`sql_fold` in SQL).

    Case and the ordinary diacritics are folded by the FTS5 tokenizer itself
    (``unicode61 remove_diacritics 2``), so the query and the index agree.
    """
    import unicodedata

    text = unicodedata.normalize("NFC", text)
    if text.isascii():
        return text
    # str.translate looks every character up (0.7 s for a mailbox's 9 MB of text): replace
    # đ directly and translate only text that holds one of the rarer letters.
    if "đ" in text or "Đ" in text:
        text = text.replace("đ", "d").replace("Đ", "D")
    if _RARE_FOLD.search(text):
        text = text.translate(_FOLD_TABLE)
    return text


def _glob_class(letters: Iterable[str]) -> str:
    """A GLOB pattern matching text that holds any of ``letters`` (runs become ranges)."""
    points = sorted({ord(ch) for ch in letters})
    parts: list[str] = []
    start = prev = points[0]
    for point in [*points[1:], -1]:
        if point == prev + 1:
            prev = point
            continue
        parts.append(chr(start) if start == prev else f"{chr(start)}-{chr(prev)}")
        start = prev = point
    return "*[" + "".join(parts) + "]*"


def _replace_chain(expr: str, group: Mapping[str, str]) -> str:
    for src, dst in group.items():
        expr = f"replace({expr}, '{src}', '{dst}')"
    return expr


def _rare_guard() -> str:
    """One GLOB for every letter after the first group: exact for the Latin ones, whole
    blocks for Greek (Ά-ώ) and Cyrillic (Ё-ё), which keeps the class short (its length is
    what a GLOB costs)."""
    latin = [ch for group in FOLD_GROUPS[1:] for ch in group if not "\u0386" <= ch <= "\u0451"]
    return _glob_class(latin).removesuffix("]*") + "\u0386-\u03ce\u0401-\u0451]*"


def sql_fold(expr: str) -> str:
    """The plain SQL (no function of ours: any ``sqlite3`` can run it) that applies
    :data:`FOLD_MAP` to ``expr``, for the triggers that keep the search index.

    ``expr`` is evaluated once.  Its cost is what an import pays per column, so: đ (the
    common one) is found with ``instr``; one GLOB tells whether any other letter is there
    (most text has none); only then do the other groups run, each behind its own GLOB,
    nested in subqueries (SQLite's parser refuses ``replace()`` nested much deeper than
    twenty).
    """
    first, *rest = FOLD_GROUPS
    found = " OR ".join(f"instr(x0, '{ch}')" for ch in first)
    step = f"CASE WHEN {found} THEN {_replace_chain('x0', first)} ELSE x0 END"
    steps = ""
    for i, group in enumerate(rest, start=1):
        step_i = (
            f"SELECT CASE WHEN x{i} GLOB '{_glob_class(group)}' "
            f"THEN {_replace_chain(f'x{i}', group)} ELSE x{i} END AS x{i + 1}"
        )
        steps = f"{step_i} FROM ({steps})" if steps else step_i
    return (
        f"(SELECT CASE WHEN x1 GLOB '{_rare_guard()}' THEN ({steps}) ELSE x1 END "
        f"FROM (SELECT {step} AS x1 FROM (SELECT {expr} AS x0)))"
    )


def fold_key(text: str) -> str:
    """A comparison key: no case, no diacritics, single spaces (for duplicate detection)."""
    import unicodedata

    decomposed = unicodedata.normalize("NFD", fold_for_search(text).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())


def split_list(values: Iterable[str]) -> list[str]:
    """Repeated options and comma lists alike: ``["new,contacted", "lost"]`` ->
    ``["new", "contacted", "lost"]`` (blank parts skipped)."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


# -- sort keys ----------------------------------------------------------------------------
#
# ``--sort name|city|company`` orders by a key stored next to the text (computed here on
# every write, indexed), so a sorted page of a million rows is an index read.  The key is
# plain text that SQLite's binary order sorts right:
#
#   primary  the letters in Vietnamese alphabetical order, a ă â b c d đ e ê … o ô ơ … u ư …:
#            a letter of its own is its base letter followed by "{" or "|" (which sort after
#            every letter, so "Dương" < "Đặng" < "Trần"); other accents and case are dropped;
#            words are kept apart by one space (which sorts first: "Hà Nội" < "Hàn" < "Huế");
#            ß æ œ þ … are spelt out (ss ae oe th), punctuation is ignored
#   \x01 secondary  one weight per primary character: no mark, then the Vietnamese tones in
#            dictionary order (huyền, hỏi, ngã, sắc, nặng), then other marks
#   \x01 tertiary   one per primary character: lower case before upper case
#
# A level that says nothing (no marks; all lower case) is left out, so a plain lower-case
# ASCII name is its own key.

# The columns holding sort keys, each with the text column it is the key of (m004), here
# rather than in the migrations so that a plain listing does not load them.
CUSTOMER_SORT_KEYS = {"sort_name": "name", "sort_city": "city", "sort_company": "company"}
LEAD_SORT_KEYS = {"sort_name": "name", "sort_company": "company"}

_SEP = "\x01"
# (base letter, combining mark) -> the letter's primary spelling.
_OWN_LETTERS = {
    ("a", "\u0306"): "a{", ("a", "\u0302"): "a|", ("e", "\u0302"): "e{",
    ("o", "\u0302"): "o{", ("o", "\u031b"): "o|", ("u", "\u031b"): "u{",
}  # fmt: skip
_PRIMARY_SPECIAL = {"đ": "d{", "Đ": "d{"}
# Letters of their own in their alphabet, kept whole (their code points are in order).
_KEEP_WHOLE = frozenset("йЙїЇўЎ")
_TONES = {"\u0300": "1", "\u0309": "2", "\u0303": "3", "\u0301": "4", "\u0323": "5"}
_VARIANT = "~"  # secondary weight of a spelt-out letter (ß after ss)


def sort_key(text: str | None) -> str | None:
    """The stored sort key of ``text`` (see above); ``None`` stays ``None``."""
    if text is None:
        return None
    return _sort_key(text)


@functools.lru_cache(maxsize=4096)  # cities and companies repeat: an import meets them often
def _sort_key(text: str) -> str:
    import unicodedata

    primary: list[str] = []
    secondary: list[str] = []
    tertiary: list[str] = []
    space = False
    for ch in unicodedata.normalize("NFC", text):
        if ch.isspace():
            space = bool(primary)
            continue
        parts = _char_key(ch)
        if parts is None:
            continue
        if space:
            primary.append(" ")
            secondary.append("0")
            tertiary.append("0")
            space = False
        primary.append(parts[0])
        secondary.append(parts[1])
        tertiary.append(parts[2])
    key = "".join(primary)
    weights = "".join(secondary)
    cases = "".join(tertiary)
    if "1" in cases:
        return f"{key}{_SEP}{weights}{_SEP}{cases}"
    if weights.strip("0"):
        return f"{key}{_SEP}{weights}"
    return key


@functools.lru_cache(maxsize=2048)
def _char_key(ch: str) -> tuple[str, str, str] | None:
    """One character's (primary, secondary, tertiary) parts; ``None``: ignored."""
    import unicodedata

    def parts(chars: str, weight: str, upper: bool) -> tuple[str, str, str]:
        return chars, weight * len(chars), ("1" if upper else "0") * len(chars)

    if ch in _PRIMARY_SPECIAL:
        return parts(_PRIMARY_SPECIAL[ch], "0", ch.isupper())
    if ch in _KEEP_WHOLE:
        return parts(ch.casefold(), "0", ch.isupper())
    if ch in FOLD_MAP:
        folded = FOLD_MAP[ch].casefold()
        if folded.isascii():  # ß æ œ þ ı ł ø ð: spelt out
            return parts(folded, _VARIANT, ch.isupper())
    if ch.isdigit():
        return parts(str(unicodedata.digit(ch, 0)), "0", False)
    if not ch.isalpha():
        return None  # punctuation, symbols: ignored
    decomposed = unicodedata.normalize("NFD", ch)
    base, marks = decomposed[0], decomposed[1:]
    letter = base.casefold()
    weight = "0"
    for mark in marks:
        own = _OWN_LETTERS.get((letter, mark))
        if own is not None:
            letter = own
        elif weight == "0":
            weight = _TONES.get(mark) or chr(0x100 + ord(mark))
    return parts(letter, weight, ch != ch.casefold() or base != base.casefold())


def visible(text: str) -> str:
    """Make control and bidi characters visible (``\\x1b``, ``\\u202e``), never executed."""
    return re.sub(_UNSAFE, _escape_char, text)  # re caches the compiled pattern


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
