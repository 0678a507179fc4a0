"""Search folding (one table, applied in Python to the query and in plain SQL to the index),
the stored sort keys, and the migration that brought both to older databases."""

from __future__ import annotations

import sqlite3
import unicodedata
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcli import db as dbmod
from crmcli.core import customers, history
from crmcli.core.settings import Config
from crmcli.migrations import MIGRATIONS
from crmcli.text import FOLD_MAP, fold_for_search, sort_key, sql_fold

# The letters SQLite's tokenizer does not fold, Vietnamese, and ordinary Latin ones.
SPECIAL = "".join(FOLD_MAP)
VIETNAMESE = "ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
ALPHABET = SPECIAL + VIETNAMESE + VIETNAMESE.upper() + "abcdefghijklmnopqrstuvwxyzÉÜçñйЙ .-'"
text = st.text(alphabet=ALPHABET, max_size=40).map(lambda t: unicodedata.normalize("NFC", t))

# Each word as a person types it without accents, and the stored spelling it must find.
WORDS = {
    "weiss": "Weiß",
    "kilic": "Kılıç",
    "thor": "Þór",
    "gudrun": "Guðrún",
    "aero": "Ærø",
    "oeuvrard": "Œuvrard",
    "ελενη": "Ελένη",
    "федор": "Фёдор",
    "lukasz": "Łukasz",
    "oster": "Øster",
    "nguyen": "Nguyễn",
    "duc": "Đức",
}

SLOW = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _sql_folded(conn: sqlite3.Connection, value: str) -> str:
    return str(conn.execute(f"SELECT {sql_fold('x')} FROM (SELECT ? AS x)", (value,)).fetchone()[0])


@settings(max_examples=300, deadline=None)
@given(value=text)
def test_the_python_and_the_sql_fold_agree(value: str) -> None:
    conn = sqlite3.connect(":memory:")  # a plain SQLite: no function of ours
    assert _sql_folded(conn, value) == fold_for_search(value)


def test_the_sql_fold_folds_every_letter_of_the_table() -> None:
    conn = sqlite3.connect(":memory:")
    for letter, plain in FOLD_MAP.items():
        assert _sql_folded(conn, f"a{letter}b") == f"a{plain}b", letter


def _database(tmp_path: Path) -> dbmod.Database:
    return dbmod.open_db(tmp_path / f"{uuid.uuid4()}.db", create=True)


def _add(database: dbmod.Database, name: str, **values: str) -> int:
    with database.write(["crm", "test"]):
        return customers.add(database, customers.prepare({"name": name, **values}, Config()))


def _found(database: dbmod.Database, query: str) -> list[int]:
    return [int(r["id"]) for r in customers.list_customers(database, search=query)]


def test_each_letter_is_found_by_its_plain_spelling_in_either_case(tmp_path: Path) -> None:
    database = _database(tmp_path)
    ids = {word: _add(database, f"{stored} Test") for word, stored in WORDS.items()}
    for word, stored in WORDS.items():
        for query in (word, word.upper(), stored, stored.upper(), stored.lower()):
            assert _found(database, query) == [ids[word]], (query, stored)


@SLOW
@given(
    words=st.lists(
        st.text(
            alphabet=ALPHABET.replace(" ", "").replace(".", "").replace("-", "").replace("'", ""),
            min_size=1,
            max_size=8,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_a_name_is_found_by_its_folded_words(tmp_path: Path, words: list[str]) -> None:
    """Whatever letters a name holds, the query folded the same way (here: fully, to what
    the tokenizer makes of it) and in upper case finds it."""
    name = unicodedata.normalize("NFC", " ".join(words))
    database = _database(tmp_path)
    try:
        cid = _add(database, name)
        for word in name.split():
            assert _found(database, word.upper()) == [cid], (name, word)
            assert _found(database, word.casefold()) == [cid], (name, word)
    finally:
        database.close()


# -- sort keys ------------------------------------------------------------------------------

VIETNAMESE_ORDER = [
    "An", "Anh", "Ánh", "Ăn", "Ân", "Bình", "Dung", "Dương", "Đào", "Đặng", "Hà Giang",
    "Hà Nội", "Hàn", "Huế", "Ô Môn", "Ơn", "Phạm", "Trần", "Ưng", "Yến",
]  # fmt: skip


def test_vietnamese_alphabetical_order() -> None:
    assert sorted(VIETNAMESE_ORDER, key=sort_key) == VIETNAMESE_ORDER
    assert sorted(reversed(VIETNAMESE_ORDER), key=sort_key) == VIETNAMESE_ORDER


def test_tones_are_a_secondary_key_in_dictionary_order() -> None:
    tones = ["ma", "mà", "mả", "mã", "má", "mạ"]
    assert sorted(reversed(tones), key=sort_key) == tones
    # The tone only decides between words that are otherwise the same.
    assert sorted(["mạ", "mb"], key=sort_key) == ["mạ", "mb"]


def test_other_languages_sort_sensibly() -> None:
    assert sorted(["Zoe", "Weiß", "Weiss", "Weir"], key=sort_key) == [
        "Weir",
        "Weiss",
        "Weiß",
        "Zoe",
    ]
    assert sorted(["Øster", "Ozon", "Oa"], key=sort_key) == ["Oa", "Øster", "Ozon"]
    assert sorted(["Фёдор", "Федор", "Иван", "Йога"], key=sort_key) == [
        "Иван", "Йога", "Федор", "Фёдор",
    ]  # fmt: skip
    assert sorted(["an", "An"], key=sort_key) == ["an", "An"]
    assert sort_key("forgotten customer 12") == "forgotten customer 12"
    assert sort_key(None) is None


@given(a=text, b=text)
def test_sort_keys_order_by_letters_first(a: str, b: str) -> None:
    """Two texts whose letters differ (accents, case and punctuation aside) are ordered by
    their primary key alone, whatever their accents."""
    ka, kb = sort_key(a), sort_key(b)
    assert ka is not None and kb is not None
    pa, pb = ka.split("\x01")[0], kb.split("\x01")[0]
    if pa != pb:
        assert (ka < kb) == (pa < pb)


# -- migration m004 -------------------------------------------------------------------------


def _v3_database(path: Path) -> None:
    """A database as migrations 1 to 3 made it, with rows written the way that version did."""
    conn = sqlite3.connect(path)
    for migrate in MIGRATIONS[:3]:
        migrate(conn)
    conn.execute(f"PRAGMA application_id = {dbmod.APPLICATION_ID}")
    conn.executescript(
        """
        CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                                 applied_at TEXT NOT NULL);
        INSERT INTO migrations VALUES (1, 'm001_initial', '2026-01-01T00:00:00Z'),
            (2, 'm002_sales', '2026-01-01T00:00:00Z'), (3, 'm003_service', '2026-01-01T00:00:00Z');
        PRAGMA user_version = 3;
        INSERT INTO commands (id, at, argv) VALUES (1, '2026-01-02T03:04:05Z', '["crm"]');
        INSERT INTO active_command VALUES (1);
        INSERT INTO customers (id, uid, name, city, company, fields, created_at, updated_at)
        VALUES (1, 'u-1', 'Weiß', 'Köln', NULL, '{}', '2026-01-02T03:04:05Z',
                '2026-01-02T03:04:05Z'),
               (2, 'u-2', 'Đặng Văn Đức', 'Hà Nội', 'Đại Phát', '{}', '2026-01-02T03:04:05Z',
                '2026-01-02T03:04:05Z'),
               (3, 'u-3', 'Dương Thị Hoa', 'Huế', NULL, '{}', '2026-01-02T03:04:05Z',
                '2026-01-02T03:04:05Z');
        INSERT INTO interactions (id, uid, customer_id, type, body, happened_at, created_at)
        VALUES (1, 'i-1', 3, 'call', 'Gọi cho anh Фёдор', '2026-01-03T00:00:00Z',
                '2026-01-03T00:00:00Z');
        INSERT INTO leads (id, uid, name, company, status, status_changed_at, created_at,
                           updated_at)
        VALUES (1, 'l-1', 'Kılıç', 'Œuvrard SA', 'new', '2026-01-02T00:00:00Z',
                '2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z');
        DELETE FROM active_command;
        """
    )
    conn.commit()
    conn.close()


def test_a_v3_database_upgrades_its_indexes_and_keys(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    _v3_database(path)
    conn = sqlite3.connect(path)
    audit = conn.execute("SELECT * FROM audit ORDER BY id").fetchall()
    assert (
        conn.execute("SELECT rowid FROM customers_fts WHERE customers_fts MATCH 'weiss'").fetchall()
        == []
    )
    conn.close()

    database = dbmod.open_db(path, create=False)
    assert dbmod.schema_version(database.conn) == len(MIGRATIONS)
    assert database.conn.execute("SELECT * FROM audit ORDER BY id").fetchall() == audit
    assert _found(database, "weiss") == [1]
    assert _found(database, "федор") == [3]  # from the interaction
    assert [r["id"] for r in customers.list_customers(database, sort="name")] == [3, 2, 1]
    assert [r["id"] for r in customers.list_customers(database, sort="city")] == [2, 3, 1]
    leads = database.conn.execute(
        "SELECT rowid FROM leads_fts WHERE leads_fts MATCH 'kilic oeuvrard'"
    )
    assert [r[0] for r in leads] == [1]
    assert database.scalar("SELECT sort_company FROM customers WHERE id = 1") is None
    fresh = dbmod.open_db(tmp_path / "fresh.db", create=True)
    schema = (
        "SELECT type, name, sql FROM sqlite_master "
        "WHERE name NOT IN ('sqlite_sequence', 'migrations') ORDER BY name"
    )
    assert database.conn.execute(schema).fetchall() == fresh.conn.execute(schema).fetchall()
    database.close()

    # The file stays writable by a plain sqlite3: the triggers use no function of ours.
    plain = sqlite3.connect(path)
    plain.execute("UPDATE customers SET name = 'Þór Guðrún' WHERE id = 1")
    plain.execute(
        "INSERT INTO customers (uid, name, fields, created_at, updated_at) "
        "VALUES ('u-9', 'Ελένη', '{}', '2026-01-05T00:00:00Z', '2026-01-05T00:00:00Z')"
    )
    plain.commit()
    hits = plain.execute(
        "SELECT rowid FROM customers_fts WHERE customers_fts MATCH 'thor gudrun' "
        "UNION ALL SELECT rowid FROM customers_fts WHERE customers_fts MATCH 'ελενη'"
    ).fetchall()
    assert hits == [(1,), (4,)]
    plain.close()


def test_undo_brings_back_the_sort_keys_of_the_rows_it_restores(tmp_path: Path) -> None:
    database = _database(tmp_path)
    cid = _add(database, "Đặng Thu", city="Hà Nội")
    with database.write(["crm", "customer", "edit"]):
        customers.update(database, cid, customers.prepare({"name": "Trần Thu"}, Config()))
    with database.write(["crm", "customer", "delete"]):
        customers.delete(database, cid)
    history.undo(database)  # the delete
    history.undo(database)  # the edit
    row = database.one("SELECT name, sort_name, sort_city FROM customers WHERE id = ?", (cid,))
    assert row == {
        "name": "Đặng Thu",
        "sort_name": sort_key("Đặng Thu"),
        "sort_city": sort_key("Hà Nội"),
    }
    kinds = [r[0] for r in database.conn.execute(
        "SELECT action FROM audit WHERE table_name = 'customers' ORDER BY id"
    )]  # fmt: skip
    # Setting the keys again is no change of its own in the history.
    assert kinds == ["insert", "update", "delete", "insert", "update"]


@pytest.mark.parametrize(
    ("raw", "expected"), [("Weiß", "weiss"), ("Œuvrard", "oeuvrard"), ("Ελένη", "ελενη")]
)
def test_the_folded_query_is_what_the_tokenizer_sees_of_the_name(raw: str, expected: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'unicode61 remove_diacritics 2')"
    )
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'row')")
    conn.execute("INSERT INTO t VALUES (?)", (fold_for_search(raw),))
    assert [r[0] for r in conn.execute("SELECT term FROM v")] == [expected]


def test_a_stage_filter_ignores_case_and_accents(crm) -> None:  # type: ignore[no-untyped-def]
    customer = crm("customer", "add", "Trần Bích")
    assert customer.exit_code == 0, customer.stderr
    stage = crm("deal", "stages", "add", "Đàm phán", "--probability", "60")
    assert stage.exit_code == 0, stage.stderr
    deal = crm(
        "deal", "add", "Máy lọc", "--customer", customer.stdout.strip(), "--stage", "dam phan"
    )
    assert deal.exit_code == 0, deal.stderr
    listed = crm("deal", "list", "--stage", "DAM PHAN", "-f", "ids")
    assert (listed.exit_code, listed.stdout, listed.stderr) == (0, deal.stdout, "")
