"""``crm report …`` in-process: empty databases, period edges, currencies, formats, bad input.

The figures themselves are checked against an independent computation on a random database
in tests/test_reports_random.py; here the stories a seller runs into.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crmcli.cli.report import SECTIONS
from crmcli.db import open_db
from tests.conftest import crm_bin, dump

REPORTS = (
    "pipeline", "forecast", "sales", "leads", "customers", "tickets", "activity", "receivables",
)  # fmt: skip


def ok(result) -> str:
    assert result.exit_code == 0, result.stderr
    return result.stdout


def new_id(result) -> int:
    return int(ok(result).split()[-1])


def doc(crm, *args: str) -> dict:
    return json.loads(ok(crm("report", *args, "-f", "json")))


@pytest.fixture
def empty_db(db_path: Path) -> Path:
    open_db(db_path, create=True).close()
    return db_path


@pytest.fixture
def customer(crm) -> int:
    return new_id(crm("customer", "add", "Nguyễn Thị Đào"))


def deal(crm, customer: int, amount: str, *args: str) -> int:
    return new_id(crm("deal", "add", "Deal", "--customer", str(customer), "--amount", amount,
                      *args))  # fmt: skip


def at(monkeypatch, moment: str) -> None:
    """Run the next commands at this local time (CRM_NOW)."""
    monkeypatch.setenv("CRM_NOW", moment)


# -- empty ---------------------------------------------------------------------------------


# What a script gets when there is nothing to report: something it can parse.


def expected_empty(name: str, fmt: str) -> str | None:
    """stdout of an empty report in ``fmt`` (None: a JSON document, checked apart)."""
    if fmt == "tsv":
        return HEADERS[name]
    if fmt == "csv":
        return HEADERS[name].replace("\t", ",")  # CliRunner's stdout reads CRLF as \n
    return None if fmt == "json" else ""


def check_empty_document(name: str, stdout: str) -> None:
    document = json.loads(stdout)
    assert document["report"] == name
    assert all(document[section] == [] for section in SECTIONS[name])


MAIN = {"pipeline": "stages", "forecast": "months", "sales": "periods", "leads": "groups",
        "customers": "top", "tickets": "summary", "activity": "periods",
        "receivables": "ageing"}  # fmt: skip
HEADERS = {name: "\t".join(SECTIONS[name][MAIN[name]]) + "\n" for name in REPORTS}
HEADERS["leads"] = HEADERS["leads"].replace("\tperiod", "")  # by source, the default


@pytest.mark.parametrize("name", REPORTS)
@pytest.mark.parametrize("fmt", ["tsv", "csv", "json", "jsonl", "table"])
def test_an_empty_database_says_so_on_stderr_and_prints_a_parsable_nothing(
    crm, empty_db, name, fmt
):
    result = crm("report", name, "-f", fmt)
    assert result.exit_code == 0, result.stderr
    if fmt == "json":
        check_empty_document(name, result.stdout)
    else:
        assert result.stdout == expected_empty(name, fmt)
    assert result.stderr.startswith("no ") and result.stderr.count("\n") == 1


# The sections that cover the range only (the others are as of now: open tickets, at risk).
PERIOD_SECTIONS = {
    "sales": ("periods", "averages", "lost_reasons"), "leads": ("groups",),
    "activity": ("periods",), "customers": ("top",), "tickets": ("satisfaction", "unhappy"),
    "pipeline": ("funnel",),
}  # fmt: skip


@pytest.mark.parametrize("name", list(PERIOD_SECTIONS))
@pytest.mark.parametrize("fmt", ["tsv", "csv", "json", "jsonl", "table"])
def test_an_empty_period_prints_the_same_shape_as_a_full_one(crm, monkeypatch, name, fmt):
    assert crm("demo").exit_code == 0
    full = json.loads(ok(crm("report", name, "--period", "all", "-f", "json")))
    assert all(full[s] for s in PERIOD_SECTIONS[name])
    result = crm("report", name, "--from", "2030-01-01", "--to", "2030-12-31", "-f", fmt)
    assert result.exit_code == 0, result.stderr
    if fmt == "json":
        document = json.loads(result.stdout)
        assert list(document) == list(full)
        assert all(document[s] == [] for s in PERIOD_SECTIONS[name])
    elif fmt == "table" and set(SECTIONS[name]) - set(PERIOD_SECTIONS[name]):
        assert "no " in result.stdout  # the other sections are drawn, this one says so
    elif MAIN[name] in PERIOD_SECTIONS[name]:
        assert result.stdout == expected_empty(name, fmt)
        assert result.stderr.startswith("no ") and result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("name", "section"),
    [(name, section) for name in REPORTS for section in SECTIONS[name] if len(SECTIONS[name]) > 1],
)
@pytest.mark.parametrize("fmt", ["tsv", "csv", "json", "jsonl"])
def test_an_empty_section_in_a_record_format_is_parsable(crm, empty_db, name, section, fmt):
    result = crm("report", name, "--section", section, "-f", fmt)
    assert result.exit_code == 0, result.stderr
    columns = SECTIONS[name][section]
    assert result.stdout == {
        "tsv": "\t".join(columns) + "\n", "csv": ",".join(columns) + "\n",
        "json": "[]\n", "jsonl": "",
    }[fmt]  # fmt: skip
    assert result.stderr.startswith("no ") and result.stderr.count("\n") == 1


def test_no_database_file_is_an_error_not_an_empty_report(crm, db_path):
    result = crm("report", "sales")
    assert result.exit_code == 1 and result.stdout == ""
    assert "no database at" in result.stderr and not db_path.exists()


def test_an_empty_section_prints_nothing_but_the_report_has_the_others(crm, customer):
    deal(crm, customer, "1200")  # open: a pipeline, no lost reasons, no sales
    assert ok(crm("report", "pipeline", "-f", "tsv")).startswith("stage\tposition\t")
    lost = crm("report", "sales", "--section", "lost-reasons", "-f", "tsv")
    assert lost.exit_code == 0 and lost.stdout == "rank\treason\tlost\tshare_pct\n"
    assert lost.stderr == "no deals lost (2026-01-01 to 2026-12-31)\n"
    document = doc(crm, "customers")
    assert document["top"] == [] and document["summary"][0]["customers"] == 1


# -- periods -------------------------------------------------------------------------------


def test_a_deal_won_at_local_midnight_counts_in_the_new_month(crm, customer, monkeypatch):
    """Periods are local: 2026-11-01 00:00 in UTC+7 is 2026-10-31T17:00:00Z."""
    first = deal(crm, customer, "1.000.000 VND")
    second = deal(crm, customer, "2.000.000 VND")
    at(monkeypatch, "2026-10-31T23:59:59")
    ok(crm("deal", "won", str(first)))
    at(monkeypatch, "2026-11-01T00:00:00")
    ok(crm("deal", "won", str(second)))
    shown = json.loads(ok(crm("deal", "show", str(second), "-f", "json")))
    assert shown["closed_at"] == "2026-10-31T17:00:00Z"
    at(monkeypatch, "2026-11-23T10:00:00")
    periods = {row["period"]: row for row in doc(crm, "sales")["periods"]}
    assert periods["2026-10"]["won_value"] == 1_000_000
    assert periods["2026-11"]["won_value"] == 2_000_000
    november = doc(crm, "sales", "--from", "2026-11-01", "--to", "2026-11-01")["periods"]
    assert [(r["period"], r["won"], r["won_value"]) for r in november] == [
        ("2026-11", 1, 2_000_000)
    ]
    quarters = doc(crm, "sales", "--by", "quarter")["periods"]
    assert [(r["period"], r["won"]) for r in quarters] == [
        ("2026-Q1", 0), ("2026-Q2", 0), ("2026-Q3", 0), ("2026-Q4", 2),
    ]  # fmt: skip
    # Week 44 runs from Monday 26 October to Sunday 1 November: both deals; October: one.
    week = doc(crm, "activity", "--by", "week", "--from", "2026-10-26", "--to", "2026-11-01")
    assert [(r["period"], r["deals_won"]) for r in week["periods"]] == [("2026-W44", 2)]
    october = doc(crm, "activity", "--by", "week", "--period", "last-month")["periods"]
    assert [(r["period"], r["deals_won"]) for r in october][-2:] == [
        ("2026-W43", 0), ("2026-W44", 1),
    ]  # fmt: skip


def test_a_period_without_deals_is_a_row_of_zeros(crm, customer, monkeypatch):
    first = deal(crm, customer, "100")
    second = deal(crm, customer, "300")
    at(monkeypatch, "2026-08-10T09:00:00")
    ok(crm("deal", "won", str(first)))
    at(monkeypatch, "2026-10-10T09:00:00")
    ok(crm("deal", "lost", str(second), "--reason", "price"))
    at(monkeypatch, "2026-11-23T10:00:00")
    rows = doc(crm, "sales", "--from", "2026-08-01")["periods"]
    assert [r["period"] for r in rows] == ["2026-08", "2026-09", "2026-10", "2026-11"]
    assert rows[1] == {
        "period": "2026-09", "currency": None, "won": 0, "won_value": None, "lost": 0,
        "win_rate_pct": None, "avg_won": None, "median_days_to_win": None,
        "mean_days_to_win": None,
    }  # fmt: skip
    assert rows[0]["win_rate_pct"] == 100.0 and rows[2]["win_rate_pct"] == 0.0
    tsv = ok(crm("report", "sales", "--from", "2026-08-01", "-f", "tsv")).splitlines()
    assert tsv[2] == "2026-09\t\t0\t\t0\t\t\t\t"


def test_phrases_and_shorthands_pick_the_range(crm, customer):
    deal(crm, customer, "100")
    assert doc(crm, "pipeline", "--from", "3 months ago")["from"] == "2026-08-23"
    assert doc(crm, "pipeline", "--to", "now")["to"] == "2026-11-23"
    assert doc(crm, "pipeline", "--period", "last-quarter")["from"] == "2026-07-01"
    assert doc(crm, "pipeline", "--period", "This_Month")["to"] == "2026-11-30"
    assert doc(crm, "pipeline", "--period", "all")["from"] is None
    assert doc(crm, "pipeline", "--from", "01/02/2026")["from"] == "2026-02-01"  # day first
    ok(crm("config", "set", "date_order", "MDY"))
    assert doc(crm, "pipeline", "--from", "01/02/2026")["from"] == "2026-01-02"


# -- money ---------------------------------------------------------------------------------


def test_currencies_are_never_added_together(crm, customer):
    deal(crm, customer, "1.200.000 VND", "--stage", "proposal")
    deal(crm, customer, "5000 JPY", "--stage", "proposal", "--probability", "33")
    deal(crm, customer, "$99.99", "--stage", "proposal")
    deal(crm, customer, "1.5 USD", "--stage", "proposal")
    stages = [r for r in doc(crm, "pipeline")["stages"] if r["stage"] == "proposal"]
    assert [(r["currency"], r["deals"], r["total"], r["weighted"]) for r in stages] == [
        ("JPY", 1, 5000, 1650),  # 5000 × 33 % = 1650 yen: no minor units
        ("USD", 2, 10149, 5075),  # (9999 + 150) × 50 % = 5074.5 cents, rounded half up
        ("VND", 1, 1_200_000, 600_000),
    ]
    table = ok(crm("report", "pipeline", "-f", "table"))
    lines = {line.split("│")[3].strip(): line for line in table.splitlines() if "│" in line}
    assert "1,200,000" in lines["VND"] and "5,000" in lines["JPY"] and "101.49" in lines["USD"]
    assert "5,000.00" not in lines["JPY"]


def test_forecast_puts_overdue_deals_in_a_row_of_their_own(crm, customer):
    deal(crm, customer, "1000", "--close", "2026-11-22")  # yesterday
    deal(crm, customer, "2000", "--close", "2026-11-23")  # today: not overdue
    deal(crm, customer, "3000", "--close", "2027-02-01", "--stage", "negotiation")
    deal(crm, customer, "4000", "--close", "2028-01-01")
    deal(crm, customer, "5000")
    rows = doc(crm, "forecast", "--months", "3")["months"]
    assert [(r["month"], r["deals"], r["total"], r["weighted"]) for r in rows] == [
        ("overdue", 1, 100000, 10000),
        ("2026-11", 1, 200000, 20000),
        ("2026-12", 0, None, None),
        ("2027-01", 0, None, None),
        ("later", 2, 700000, 265000),
        ("undated", 1, 500000, 50000),
    ]


# -- the other reports ---------------------------------------------------------------------


def test_leads_by_source_and_the_funnel(crm):
    for name, source in (("An", "web"), ("Bình", "web"), ("Chi", "event")):
        ok(crm("lead", "add", name, "--source", source))
    ok(crm("lead", "status", "1", "contacted"))
    ok(crm("lead", "convert", "1"))
    ok(crm("lead", "status", "2", "lost", "--reason", "no budget"))
    rows = doc(crm, "leads")["groups"]
    assert rows[0] == {
        "source": "web", "leads": 2, "contacted": 1, "qualified": 1, "converted": 1, "lost": 1,
        "conversion_pct": 50.0, "median_days_to_convert": 0.0,
    }  # fmt: skip
    assert rows[1]["source"] == "event" and rows[1]["conversion_pct"] == 0.0
    table = ok(crm("report", "leads", "-f", "table"))
    assert "50.0 %" in table and "█" in table  # a bar per source


def test_customers_at_risk_follow_the_setting(crm, customer, monkeypatch):
    other = new_id(crm("customer", "add", "[bold]Chen[/]"))
    deal(crm, other, "100")
    at(monkeypatch, "2026-09-01T09:00:00")
    ok(crm("customer", "log", str(customer), "--type", "call", "hello"))
    won = deal(crm, customer, "250")
    ok(crm("deal", "won", str(won)))
    at(monkeypatch, "2026-11-23T10:00:00")
    # Chen was added today: not silent for long.  Đào last heard from 83 days ago.
    at_risk = doc(crm, "customers")["at_risk"]
    assert [(r["id"], r["days_silent"], r["open_deals"], r["won_deals"]) for r in at_risk] == [
        (customer, 83, 0, 1)
    ]
    ok(crm("config", "set", "at_risk_days", "90"))
    assert doc(crm, "customers")["at_risk"] == []
    assert doc(crm, "customers")["at_risk_days"] == 90
    ids = crm("report", "customers", "--section", "top", "-f", "ids")
    assert ok(ids) == f"{customer}\n"
    table = ok(crm("report", "customers", "-f", "table"))
    assert "Nguyễn Thị Đào" in table


def test_tickets_report(crm, customer):
    for priority in ("urgent", "low", "low"):
        ok(crm("ticket", "open", str(customer), "Máy in hỏng", "--priority", priority))
    ok(crm("ticket", "escalate", "2"))
    ok(crm("ticket", "close", "3", "--satisfaction", "2"))
    document = doc(crm, "tickets")
    assert document["open"] == [
        {"priority": "urgent", "tier": 1, "open": 1, "pending": 0, "overdue": 0},
        {"priority": "low", "tier": 2, "open": 1, "pending": 0, "overdue": 0},
    ]
    summary = document["summary"][0]
    assert (summary["opened"], summary["resolved"], summary["rated"]) == (3, 1, 1)
    assert summary["first_line_pct"] == 100.0 and summary["mean_satisfaction"] == 2.0
    assert [r["tickets"] for r in document["satisfaction"]] == [0, 1, 0, 0, 0]
    assert document["unhappy"][0]["id"] == customer
    assert ok(crm("report", "tickets", "-f", "tsv")).startswith("open\tpending\toverdue\t")


def test_rich_markup_in_names_is_printed_literally(crm):
    cid = new_id(crm("customer", "add", "[bold]Chen[/] \x1b[2J"))
    won = deal(crm, cid, "100")
    ok(crm("deal", "won", str(won)))
    table = ok(crm("report", "customers", "-f", "table"))
    assert "[bold]Chen[/] \\x1b[2J" in table and "\x1b[2J" not in table


# -- formats and bad input -----------------------------------------------------------------


def test_csv_is_neutralised_unless_raw(crm, customer):
    lost = deal(crm, customer, "100")
    ok(crm("deal", "lost", str(lost), "--reason", "=HYPERLINK(1)"))
    args = ("report", "sales", "--section", "lost_reasons", "-f", "csv")
    assert "'=HYPERLINK(1)" in ok(crm(*args))
    assert "\n1,=HYPERLINK(1),1,100.0" in ok(crm(*args, "--raw"))


@pytest.mark.parametrize(
    "args",
    [
        ("sales", "--period", "next-decade"),
        ("sales", "--from", "2026-12-01", "--to", "2026-11-01"),
        ("sales", "--from", "2026-02-30"),
        ("sales", "--period", "this-year", "--from", "2026-01-01"),
        ("sales", "--by", "fortnight"),
        ("sales", "--by", "week"),
        ("leads", "--by", "quarter"),
        ("activity", "--by", "year"),
        ("customers", "--top", "0"),
        ("customers", "--top", "-1"),
        ("customers", "--top", "x"),
        ("forecast", "--months", "0"),
        ("forecast", "--months", "x"),
        ("forecast", "--from", "2026-01-01"),
        ("sales", "--section", "nope"),
        ("sales", "-f", "ids"),
        ("pipeline", "-f", "ids"),
        ("customers", "--section", "retention", "-f", "ids"),
        ("sales", "-f", "xml"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(crm, customer, db_path, args):
    before = dump(db_path)
    result = crm("report", *args)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("crm: error: ") and result.stderr.count("\n") == 1
    assert dump(db_path) == before


def test_every_report_has_help_with_an_example(crm):
    for name in REPORTS:
        text = ok(crm("report", name, "--help"))
        assert "Example: crm report " + name in text
    assert "pipeline" in ok(crm("report", "--help"))


def test_the_installed_crm_prints_plain_records_off_a_terminal(db_path, tmp_path):
    """A real process: tsv with a header by default, no colour, no rich; cron's minimal env."""
    crm = crm_bin()
    env = {"PATH": "/usr/bin:/bin", "CRM_DB": str(db_path), "HOME": str(tmp_path),
           "TZ": "Asia/Ho_Chi_Minh", "CRM_NOW": "2026-11-23T10:00:00"}  # fmt: skip

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([crm, *args], capture_output=True, text=True, env=env, timeout=60)

    assert run("customer", "add", "Đặng Quốc Bảo").returncode == 0
    assert (
        run("deal", "add", "Máy in", "--customer", "1", "--amount", "2.500.000 VND").returncode == 0
    )
    assert run("deal", "won", "1").returncode == 0
    result = run("report", "sales")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["period", "currency", "won"]
    assert "2026-11\tVND\t1\t2500000\t0\t100.0\t2500000\t" in result.stdout
    assert "\x1b[" not in result.stdout and result.stderr == ""
    empty = run("report", "tickets")
    assert (empty.returncode, empty.stdout) == (0, HEADERS["tickets"])
    assert empty.stderr == "no tickets opened (2026-01-01 to 2026-12-31) and none unresolved\n"
    bad = run("report", "sales", "--period", "soon")
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1
    # Plain formats never load rich.
    probe = subprocess.run(
        [sys.executable, "-c",
         "import sys\nfrom crmcli.cli import run\nrun(['report', 'customers', '-f', 'json'])\n"
         "sys.stdout.flush()\nassert 'rich' not in sys.modules, 'rich was imported'"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout)["top"][0]["won_value"] == 2_500_000


# -- periods in SQL and Python -------------------------------------------------------------


def test_sql_periods_match_the_calendar_every_day_of_three_years():
    """The SQL that cuts local time into weeks (ISO), months, quarters and years agrees with
    Python's calendar, including ISO weeks 53 and 1 around New Year."""
    import sqlite3
    from datetime import date, timedelta

    from crmcli.core import periods

    conn = sqlite3.connect(":memory:")
    days = [date(2024, 12, 20) + timedelta(days=n) for n in range(3 * 366)]
    for by in periods.BY_ALL:
        sql = (
            f"SELECT s, {periods.period_label_sql(by, 's')} FROM "
            f"(SELECT {periods.period_start_sql(by, 'lt')} AS s FROM (SELECT ? AS lt))"
        )
        for day in days:
            first, label = conn.execute(sql, (f"{day.isoformat()} 13:45:00",)).fetchone()
            assert first == periods.start_of(by, day).isoformat(), (by, day)
            assert label == periods.label(by, periods.start_of(by, day)), (by, day)
    assert periods.label("week", date(2026, 12, 28)) == "2026-W53"
    assert periods.label("week", date(2024, 12, 30)) == "2025-W01"


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("this-week", "2026-11-23", "2026-11-29"),
        ("last-week", "2026-11-16", "2026-11-22"),
        ("this-month", "2026-11-01", "2026-11-30"),
        ("last-month", "2026-10-01", "2026-10-31"),
        ("this-quarter", "2026-10-01", "2026-12-31"),
        ("last-quarter", "2026-07-01", "2026-09-30"),
        ("this-year", "2026-01-01", "2026-12-31"),
        ("last-year", "2025-01-01", "2025-12-31"),
    ],
)
def test_period_shorthands(name, first, last):
    from datetime import date

    from crmcli.core.periods import period_range

    rng = period_range(name, date(2026, 11, 23))
    assert (rng.start.isoformat(), rng.end.isoformat()) == (first, last)
    january = period_range(name, date(2026, 1, 10))
    assert january.start.year == (2025 if name.startswith("last")
                                  else 2026)  # fmt: skip


def test_a_range_is_local_midnight_to_local_midnight():
    from datetime import date

    from crmcli.core.periods import Range

    rng = Range(date(2026, 11, 1), date(2026, 11, 30))
    assert (rng.start_utc, rng.end_utc) == ("2026-10-31T17:00:00Z", "2026-11-30T17:00:00Z")
    assert Range(None, None).start_utc < "2000" and Range(None, None).end_utc > "9000"


def test_periods_follow_daylight_saving_time(crm, monkeypatch):
    """In Berlin 00:30 on 1 April is 22:30 UTC the day before (summer time, UTC+2), and
    00:30 on 1 November is 23:30 UTC (winter time, UTC+1)."""
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    cid = new_id(crm("customer", "add", "Anna Schmidt"))
    for moment in ("2026-04-01T00:30:00", "2026-03-31T23:30:00", "2026-11-01T00:30:00"):
        won = deal(crm, cid, "100 EUR")
        at(monkeypatch, moment)
        ok(crm("deal", "won", str(won)))
    closed = [json.loads(ok(crm("deal", "show", str(n), "-f", "json")))["closed_at"]
              for n in (1, 2, 3)]  # fmt: skip
    assert closed == ["2026-03-31T22:30:00Z", "2026-03-31T21:30:00Z", "2026-10-31T23:30:00Z"]
    at(monkeypatch, "2026-11-23T10:00:00")
    won = {r["period"]: r["won"] for r in doc(crm, "sales")["periods"]}
    assert (won["2026-03"], won["2026-04"], won["2026-10"], won["2026-11"]) == (1, 1, 0, 1)
    april = doc(crm, "sales", "--from", "2026-04-01", "--to", "2026-04-30")["periods"]
    assert [(r["period"], r["won"]) for r in april] == [("2026-04", 1)]


def test_ids_name_each_customer_once(crm, customer):
    for amount in ("100 USD", "100.000 VND"):
        ok(crm("deal", "won", str(deal(crm, customer, amount))))
    assert len(doc(crm, "customers")["top"]) == 2  # one row per currency
    assert ok(crm("report", "customers", "-f", "ids")) == f"{customer}\n"
