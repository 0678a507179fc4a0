"""crm customer nps, and NPS beside CSAT in crm report customers (a small story with known
figures; random data is checked in tests/test_reports_random.py).

The clock is CRM_NOW (2026-11-23 10:00, Asia/Ho_Chi_Minh = 03:00 UTC) from tests/conftest.py.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import dump


def ok(result) -> str:
    assert result.exit_code == 0, result.stderr
    return result.stdout


def add(crm, name: str) -> int:
    return int(ok(crm("customer", "add", name)).strip())


def scores(db_path: Path) -> list[tuple]:
    import sqlite3

    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(
            "SELECT id, customer_id, score, comment, at FROM nps_scores ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def test_a_score_prints_its_id_and_is_kept(crm, db_path: Path) -> None:
    an = add(crm, "An")
    result = crm("customer", "nps", str(an), "9", "--comment", "Giao hàng nhanh 👍")
    assert result.exit_code == 0
    assert result.stdout == "1\n"
    assert result.stderr == f"Recorded score 9 from customer {an}\n"
    ok(crm("customer", "nps", str(an), "0", "--at", "2026-11-01 08:00"))
    assert scores(db_path) == [
        (1, an, 9, "Giao hàng nhanh 👍", "2026-11-23T03:00:00Z"),
        (2, an, 0, None, "2026-11-01T01:00:00Z"),
    ]
    history = json.loads(ok(crm("history", "-f", "json")))
    assert history[1]["changes"] == "9: Giao hàng nhanh 👍"
    assert history[0]["record"] == "recommendation score 2"
    ok(crm("undo", "--yes"))
    assert [s[0] for s in scores(db_path)] == [1]


@pytest.mark.parametrize("score", [("11",), ("--", "-1"), ("7.5",), ("ten",), ("",)])
def test_a_bad_score_is_exit_2_and_nothing_written(crm, db_path: Path, score) -> None:
    an = add(crm, "An")
    before = dump(db_path)
    result = crm("customer", "nps", str(an), *score)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "a whole number from 0 to 10" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert dump(db_path) == before


def test_bad_time_comment_and_unknown_customer(crm, db_path: Path) -> None:
    an = add(crm, "An")
    before = dump(db_path)
    when = crm("customer", "nps", str(an), "8", "--at", "31/31/2026")
    assert when.exit_code == 2 and "--at" in when.stderr
    long = crm("customer", "nps", str(an), "8", "--comment", "x" * 2001)
    assert long.exit_code == 2 and "--comment" in long.stderr
    missing = crm("customer", "nps", "999", "8")
    assert (missing.exit_code, missing.stdout, missing.stderr) == (
        1, "", "crm: error: no customer 999\n",
    )  # fmt: skip
    assert dump(db_path) == before


@pytest.fixture
def answered(crm, db_path: Path) -> dict[str, int]:
    """October: An 3 then 10 (the last counts: a promoter), Bình 9, Chi 7, Dũng 2; a
    ticket rated 4 and one rated 2.  November: Bình 5.  Times in local time (UTC+7)."""
    ids = {n: add(crm, n) for n in ("An", "Bình", "Chi", "Dũng")}
    for name, score, at in (
        ("An", "3", "2026-10-02 09:00"), ("An", "10", "2026-10-20 09:00"),
        ("Bình", "9", "2026-10-31 23:59"), ("Chi", "7", "2026-10-01 00:00"),
        ("Dũng", "2", "2026-10-15 12:00"), ("Bình", "5", "2026-11-01 00:00"),
    ):  # fmt: skip
        ok(crm("customer", "nps", str(ids[name]), score, "--at", at))
    import sqlite3

    conn = sqlite3.connect(db_path)
    try:
        for n, (score, created) in enumerate(
            ((4, "2026-10-05T02:00:00Z"), (2, "2026-10-30T02:00:00Z"))
        ):
            conn.execute(
                "INSERT INTO tickets (uid, customer_id, subject, priority, status, tier, due_at, "
                "satisfaction, resolved_at, closed_at, reopened, created_at, updated_at) "
                "VALUES (?, ?, 't', 'normal', 'closed', 1, ?, ?, ?, ?, 0, ?, ?)",
                (f"t{n}", ids["An"], created, score, created, created, created, created),
            )
        conn.commit()
    finally:
        conn.close()
    return ids


def test_report_customers_gives_nps_beside_csat(crm, answered) -> None:
    args = ("report", "customers", "--by", "month", "--from", "2026-10-01", "--to", "2026-11-30")
    doc = json.loads(ok(crm(*args, "-f", "json")))
    assert doc["recommendation"] == [
        {"period": "2026-10", "responses": 4, "promoters": 2, "passives": 1, "detractors": 1,
         "nps": 25.0, "rated_tickets": 2, "csat": 3.0},
        {"period": "2026-11", "responses": 1, "promoters": 0, "passives": 0, "detractors": 1,
         "nps": -100.0, "rated_tickets": 0, "csat": None},
    ]  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(ok(crm(*args, "--section", "recommendation",
                                                  "-f", "csv")))))  # fmt: skip
    # a negative score is a cell a spreadsheet would read as a formula: neutralised
    assert [(r["period"], r["nps"], r["csat"]) for r in rows] == [
        ("2026-10", "25.0", "3.0"), ("2026-11", "'-100.0", ""),
    ]  # fmt: skip
    raw = ok(crm(*args, "--section", "recommendation", "-f", "csv", "--raw"))
    assert [r["nps"] for r in csv.DictReader(io.StringIO(raw))] == ["25.0", "-100.0"]
    tsv = ok(crm(*args, "--section", "recommendation", "-f", "tsv")).splitlines()
    assert tsv[0].split("\t") == list(doc["recommendation"][0])
    table = ok(crm(*args, "-f", "table"))
    assert "Recommendation (NPS) and satisfaction (CSAT) by month" in table
    assert "25.0 %" not in table  # NPS is a score, not a share of something
    assert "-100.0" in table


def test_a_range_without_answers_says_so(crm, answered) -> None:
    result = crm("report", "customers", "--period", "last-year", "--section", "recommendation",
                 "-f", "json")  # fmt: skip
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
    assert "no recommendation scores and no rated tickets" in result.stderr


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=12), st.integers().map(str)))
def test_scores_are_whole_numbers_from_0_to_10_or_refused(text: str) -> None:
    from crmcli.core.outreach.nps import check_score
    from crmcli.errors import InvalidValue

    try:
        score = check_score(text)
    except InvalidValue:
        assert text.strip() not in {str(n) for n in range(11)}
    else:
        assert 0 <= score <= 10 and int(text) == score
