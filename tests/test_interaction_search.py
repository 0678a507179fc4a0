"""The search index of interactions (schema 11): each interaction has its own row, and a
customer or lead matches a search when every word is in its own fields or in one of its
interactions.  The upgrade from schema 10 (whose customer and lead rows held all their
interactions' text) keeps what is found, and random data finds exactly what the old design
found, in the same order."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from crmcli.db import SCHEMA_VERSION
from tests.conftest import query

V10 = 10  # m010_mail_intake
T = "2026-11-05T03:00:00Z"


@pytest.fixture
def v10(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A schema-10 file: two customers and a lead made by crm, interactions written as
    schema 10 wrote them (raw SQL, so its triggers put their text in the records' rows)."""
    import crmcli.db as dbmod
    from crmcli.cli import app
    from crmcli.migrations import MIGRATIONS

    assert MIGRATIONS[V10 - 1].__name__ == "m010_mail_intake"
    path = tmp_path / "crm.db"
    monkeypatch.setenv("CRM_DB", str(path))
    runner = CliRunner()
    with monkeypatch.context() as patch:
        patch.setattr(dbmod, "SCHEMA_VERSION", V10)
        for args in (
            ["customer", "add", "Nguyễn Văn An", "--email", "an@example.vn", "--company",
             "Cà phê Sài Gòn"],
            ["customer", "add", "Trần Thị Bình", "--email", "binh@example.vn"],
            ["lead", "add", "Phạm Hoa", "--email", "hoa@example.vn", "--company", "Đông Á"],
        ):  # fmt: skip
            result = runner.invoke(app, args, catch_exceptions=False)
            assert result.exit_code == 0, result.stderr
        old = dbmod.open_db(path, create=False)
        for n, (who, ident, body, direction) in enumerate(
            (
                ("customer", 1, "Đặt máy pha espresso", "in"),
                ("customer", 1, "Gọi lại về bảo hành", None),
                ("customer", 2, "Hỏi giá máy xay", None),
                ("lead", 1, "Quan tâm máy lọc nước", "out"),
            )
        ):
            with old.write(["crm", who, "log", str(ident), body]):
                old.execute(
                    f"INSERT INTO interactions (uid, {who}_id, type, body, happened_at, "
                    "created_at, direction, message_key) VALUES (?, ?, 'email', ?, ?, ?, ?, ?)",
                    (f"i-{n}", ident, body, T, T, direction, f"<{n}@x>"),
                )
        old.close()
        assert query(path, "PRAGMA user_version") == [(V10,)]
        activity = query(path, "SELECT activity FROM customers_fts WHERE rowid = 1")
        assert "espresso" in activity[0][0]  # the old design: the text in the customer's row
    return path


def ids(runner: CliRunner, *args: str) -> list[int]:
    from crmcli.cli import app

    result = runner.invoke(app, [*args, "-f", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return [row["id"] for row in json.loads(result.stdout)]


def test_the_upgrade_from_schema_10_moves_the_text_and_keeps_what_is_found(v10: Path) -> None:
    from crmcli.cli import app

    runner = CliRunner()
    interactions = query(v10, "SELECT * FROM interactions ORDER BY id")
    assert ids(runner, "customer", "list", "--search", "dat may") == [1]  # upgrades
    assert query(v10, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert query(v10, "SELECT * FROM interactions ORDER BY id") == interactions
    # The records' rows hold their own fields only; each interaction has its row, folded.
    assert query(v10, "SELECT DISTINCT activity FROM customers_fts") == [("",)]
    assert query(v10, "SELECT DISTINCT activity FROM leads_fts") == [("",)]
    assert query(v10, "SELECT rowid, body FROM interactions_fts ORDER BY rowid") == [
        (1, "Dặt máy pha espresso"),  # đ folded, the rest is the tokenizer's
        (2, "Gọi lại về bảo hành"),
        (3, "Hỏi giá máy xay"),
        (4, "Quan tâm máy lọc nước"),
    ]
    names = {r[0] for r in query(v10, "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert not {n for n in names if n.startswith(("interactions_fts_", "interactions_lead_fts_"))}
    assert {"interactions_index_insert", "interactions_index_update"} <= names
    # A word in the company and another in an interaction match together.
    assert ids(runner, "customer", "list", "--search", "sai gon bao hanh") == [1]
    assert ids(runner, "customer", "list", "--search", "máy") == [1, 2]
    assert ids(runner, "customer", "list", "--search", "máy", "--sort", "-name") == [2, 1]
    assert ids(runner, "lead", "list", "--search", "đông lọc") == [1]
    assert ids(runner, "interaction", "list", "--search", "máy") == [4, 3, 1]
    # New interactions are indexed by the triggers; the doctor finds all three indexes sound.
    logged = runner.invoke(app, ["customer", "log", "2", "Hẹn gặp ở Đà Nẵng"])
    assert logged.exit_code == 0, logged.stderr
    assert ids(runner, "customer", "list", "--search", "binh da nang") == [2]
    doctor = runner.invoke(app, ["doctor"])
    assert doctor.exit_code == 0, doctor.stdout + doctor.stderr
    assert "search index interactions" in doctor.stdout
    # The same schema as a file made at schema 11.
    fresh = v10.parent / "fresh.db"
    from crmcli import db as dbmod

    dbmod.open_db(fresh, create=True).close()
    schema = (
        "SELECT type, name, sql FROM sqlite_master "
        "WHERE name NOT IN ('sqlite_sequence', 'migrations') ORDER BY name"
    )
    assert query(v10, schema) == query(fresh, schema)


def test_one_interaction_rewrites_one_index_row(tmp_path: Path) -> None:
    """Logging on a record with a long history touches one row of one index: the FTS5
    tables' change counter moves by the same amount with 1 or 300 interactions before."""
    from crmcli import db as dbmod
    from crmcli.core import customers

    database = dbmod.open_db(tmp_path / "crm.db", create=True)
    try:
        with database.write(["crm", "test"]):
            database.execute(
                "INSERT INTO customers (uid, name, fields, created_at, updated_at) "
                "VALUES ('c1', 'An', '{}', ?, ?)",
                (T, T),
            )
        changes = []
        for n in range(301):
            with database.write(["crm", "customer", "log"]):
                before = database.conn.total_changes
                customers.log(database, 1, "note", f"ghi chú số {n} " + "chữ " * 200)
                changes.append(database.conn.total_changes - before)
        assert changes[0] == changes[-1]
    finally:
        database.close()


# -- the old design as an oracle ----------------------------------------------------------

VOCABULARY = [
    "Nguyễn", "Đức", "phở", "cà", "phê", "máy", "lọc", "nước", "Hà", "Nội", "bình", "giữ",
    "nhiệt", "Trần", "Lê", "đơn", "hàng", "Đà", "Nẵng", "Huế", "ấm", "đun", "Sài", "Gòn",
    "ngân", "nga", "nguyên", "bảo", "hành", "Bảo",
]  # fmt: skip

word = st.sampled_from(VOCABULARY)
text = st.lists(word, min_size=0, max_size=4).map(" ".join)
customer = st.fixed_dictionaries(
    {
        "name": st.lists(word, min_size=1, max_size=3).map(" ".join),
        "company": text,
        "city": text,
        "notes": text,
        "interactions": st.lists(st.lists(word, min_size=1, max_size=5).map(" ".join), max_size=4),
    }
)


def typed(w: str, cut: int, plain: bool, upper: bool) -> str:
    """A word as a user may type it: cut to a prefix, without accents, in capitals."""
    from crmcli.text import fold_key

    out = fold_key(w) if plain else w
    out = out[: max(1, len(out) - cut)]
    return out.upper() if upper else out


query_word = st.builds(typed, word, st.integers(0, 3), st.booleans(), st.booleans())
search = st.lists(query_word, min_size=1, max_size=3).map(" ".join)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from crmcli import db as dbmod

    db = dbmod.open_db(tmp_path_factory.mktemp("oracle") / "crm.db", create=True)
    yield db
    db.close()


def old_ranked(conn: sqlite3.Connection, search_text: str) -> list[int]:
    """What schema 10 answered: one FTS5 row per customer holding its fields and all its
    interactions' text (the frozen expressions of m004), whole-word matches first, then
    prefix-only ones, each by id."""
    from crmcli.core.customers import match_query
    from crmcli.migrations import CUSTOMER_SEARCHED, _customer_search_doc_v4

    conn.execute("DROP TABLE IF EXISTS temp.oracle")
    conn.execute(
        f"CREATE VIRTUAL TABLE temp.oracle USING fts5 ({', '.join(CUSTOMER_SEARCHED)}, "
        "activity, tokenize = 'unicode61 remove_diacritics 2')"
    )
    names = ", ".join(("rowid", *CUSTOMER_SEARCHED, "activity"))
    conn.execute(
        f"INSERT INTO temp.oracle ({names}) {_customer_search_doc_v4('c')} FROM customers c"
    )
    exact, prefix = match_query(search_text, prefix=False), match_query(search_text)
    whole = [r[0] for r in conn.execute(
        "SELECT rowid FROM oracle WHERE oracle MATCH ? ORDER BY rowid", (exact,))]  # fmt: skip
    rest = [r[0] for r in conn.execute(
        "SELECT rowid FROM oracle WHERE oracle MATCH ? ORDER BY rowid", (prefix,))]  # fmt: skip
    return whole + [r for r in rest if r not in whole]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people=st.lists(customer, min_size=1, max_size=8), search_text=search, data=st.data())
def test_search_finds_what_the_old_index_found(
    database: Any, people: list[dict[str, Any]], search_text: str, data: st.DataObject
) -> None:
    from crmcli.core import customers, interactions

    with database.write(["crm", "test"]):
        database.execute("DELETE FROM customers")
        for n, person in enumerate(people, start=1):
            database.execute(
                "INSERT INTO customers (id, uid, name, company, city, notes, fields, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?)",
                (n, f"c{n}", person["name"], person["company"] or None,
                 person["city"] or None, person["notes"] or None, T, T),
            )  # fmt: skip
            for body in person["interactions"]:
                customers.log(database, n, "note", body, T)
    # Sometimes a query split between a field and an interaction on purpose.
    person = data.draw(st.sampled_from(people))
    if person["interactions"] and data.draw(st.booleans()):
        field_word = data.draw(st.sampled_from(person["name"].split()))
        said = data.draw(st.sampled_from(" ".join(person["interactions"]).split()))
        search_text = f"{typed(field_word, 1, True, False)} {said}"
    expected = old_ranked(database.conn, search_text)
    sql, params = customers.list_query(search=search_text)
    assert [r["id"] for r in database.query(sql, params)] == expected, search_text
    sql, params = customers.list_query(search=search_text, limit=2)
    assert [r["id"] for r in database.query(sql, params)] == expected[:2]
    sql, params = customers.list_query(search=search_text, sort="-created")
    assert sorted(r["id"] for r in database.query(sql, params)) == sorted(expected)
    # Interactions found: those of matching customers whose own text holds every word.
    words = interactions.words_of(search_text)
    old = [
        r[0]
        for r in database.conn.execute(
            "SELECT id, body FROM interactions ORDER BY happened_at DESC, id DESC"
        )
        if database.scalar("SELECT customer_id FROM interactions WHERE id = ?", (r[0],)) in expected
        and interactions.matches(r[1], words)
    ]
    found = [r["id"] for r in interactions.list_interactions(database, search=search_text)]
    assert found == old
