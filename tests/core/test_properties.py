"""Property tests: search folding, CSV/TSV round trips, terminal-safe text."""

from __future__ import annotations

import csv
import io
import sqlite3
import unicodedata
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcli import db as dbmod
from crmcli.core import customers
from crmcli.core.settings import Config
from crmcli.render import emit, neutralise, unneutralise
from crmcli.text import fold_key, visible

# Vietnamese letters with every tone mark, both cases, plus đ/Đ.
VIET = "aăâeêioôơuưy"
TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]
syllable = st.builds(
    lambda first, vowel, tone, upper, last: unicodedata.normalize(
        "NFC", ((first + vowel).capitalize() if upper else first + vowel) + tone + last
    ),
    st.sampled_from(
        ["", "b", "c", "đ", "Đ", "g", "h", "kh", "l", "m", "ng", "nh", "ph", "th", "tr"]
    ),
    st.sampled_from(list(VIET)),
    st.sampled_from(TONES),
    st.booleans(),
    st.sampled_from(["", "n", "ng", "c", "t", "m", "nh"]),
)
names = st.lists(syllable, min_size=2, max_size=4).map(" ".join)

SLOW = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SLOW
@given(name=names)
def test_a_name_is_found_by_its_plain_ascii_words(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{uuid.uuid4()}.db"  # a fresh database for every example
    database = dbmod.open_db(path, create=True)
    try:
        with database.write(["crm", "test"]):
            cid = customers.add(database, customers.prepare({"name": name}, Config()))
        for word in name.split():
            plain = fold_key(word)
            assert plain.isascii()
            found = [r["id"] for r in customers.list_customers(database, search=plain)]
            assert found == [cid], (name, word, plain)
            upper = [r["id"] for r in customers.list_customers(database, search=word.upper())]
            assert upper == [cid], (name, word)
    finally:
        database.close()


cell_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
)


@given(value=cell_text)
def test_neutralise_round_trips(value: str) -> None:
    safe = neutralise(value)
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r")) or safe.startswith("'")
    assert unneutralise(safe) == value


@given(rows=st.lists(st.tuples(cell_text, cell_text), max_size=5))
def test_csv_and_tsv_output_parse_back(rows: list[tuple[str, str]]) -> None:
    records = [{"id": i, "a": a, "b": b} for i, (a, b) in enumerate(rows)]
    out = io.StringIO()
    emit(records, ("id", "a", "b"), "csv", out=out, raw=True)
    parsed = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert [(r["a"], r["b"]) for r in parsed] == rows
    out = io.StringIO()
    emit(records, ("id", "a", "b"), "tsv", out=out)
    lines = out.getvalue().split("\n")
    assert len(lines) == len(rows) + 2  # header, one line per row, final newline
    for line, (a, b) in zip(lines[1:], rows, strict=False):
        cells = line.split("\t")
        assert [_untsv(c) for c in cells[1:]] == [a, b]


def _untsv(cell: str) -> str:
    out, i = [], 0
    while i < len(cell):
        if cell[i] == "\\" and i + 1 < len(cell):
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}[cell[i + 1]])
            i += 2
        else:
            out.append(cell[i])
            i += 1
    return "".join(out)


@given(value=cell_text)
def test_visible_text_has_no_control_or_bidi_characters(value: str) -> None:
    shown = visible(value)
    for ch in shown:
        assert ch == "\n" or unicodedata.category(ch) != "Cc", repr(shown)
        assert ch not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


def test_search_index_is_plain_fts5_readable_by_sqlite3(tmp_path: Path) -> None:
    """Another program (sqlite3, Datasette) can query the index with its own SQLite."""
    path = tmp_path / "plain.db"
    database = dbmod.open_db(path, create=True)
    with database.write(["crm", "test"]):
        customers.add(database, customers.prepare({"name": "Đỗ Đức Huy"}, Config()))
    database.close()
    conn = sqlite3.connect(path)
    hits = conn.execute(
        "SELECT rowid FROM customers_fts WHERE customers_fts MATCH 'duc'"
    ).fetchall()
    assert hits == [(1,)]
    conn.close()
