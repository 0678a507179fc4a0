"""``crm demo``: fifteen months of sample history, so every report shows a picture."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import FIXED_NOW, query


def ok(result) -> str:
    assert result.exit_code == 0, result.stderr
    return result.stdout


def report(crm, *args: str) -> dict:
    return json.loads(ok(crm("report", *args, "-f", "json")))


@pytest.fixture
def demo(crm, db_path: Path) -> Path:
    result = crm("demo", "-f", "tsv")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("Added ") and "15 months" in result.stderr
    return db_path


def test_sales_has_won_deals_in_most_months_and_a_real_win_rate(crm, demo):
    periods = report(crm, "sales", "--period", "all")["periods"]
    won_months = {p["period"] for p in periods if p["won"]}
    assert len(won_months) >= 10
    won = sum(p["won"] for p in periods)
    lost = sum(p["lost"] for p in periods)
    assert 0 < 100 * won / (won + lost) < 100
    assert {p["currency"] for p in periods if p["won"]} == {"VND", "EUR", "USD"}
    assert all(p["median_days_to_win"] > 0 for p in periods if p["won"])
    reasons = report(crm, "sales", "--period", "all")["lost_reasons"]
    assert len(reasons) >= 3 and sum(r["lost"] for r in reasons) == lost
    quarters = report(crm, "sales", "--period", "all", "--by", "quarter")["periods"]
    assert len({p["period"] for p in quarters if p["won"]}) >= 4
    years = report(crm, "sales", "--period", "all", "--by", "year")["periods"]
    assert len({p["period"] for p in years if p["won"]}) == 2  # 2025 and 2026
    this_year = report(crm, "sales")["periods"]  # the default range: this year
    assert sum(p["won"] for p in this_year) >= 10


def test_deals_closed_in_the_past_spread_over_fifteen_months(demo, crm):
    sql = ("SELECT min(created_at), max(closed_at), count(DISTINCT substr(closed_at, 1, 7)) "
           "FROM deals WHERE closed_at IS NOT NULL")  # fmt: skip
    rows = query(demo, sql)
    first, last, months = rows[0]
    now = datetime.fromisoformat(FIXED_NOW)
    assert last < now.isoformat() and months >= 12
    assert (now - datetime.fromisoformat(first.rstrip("Z"))).days >= 400
    assert query(demo, "SELECT count(*) FROM deals WHERE created_at > closed_at") == [(0,)]
    paid = query(demo, "SELECT count(DISTINCT deal_id) FROM invoices WHERE status = 'paid'")
    assert paid[0][0] > 5


def test_won_deals_have_invoices_some_partly_paid_one_overdue(demo, crm):
    sql = (
        "SELECT i.due_date < '2026-11-23', i.amount > coalesce((SELECT sum(p.amount) "
        "FROM payments p WHERE p.invoice_id = i.id), 0), EXISTS (SELECT 1 FROM payments p "
        "WHERE p.invoice_id = i.id) FROM invoices i WHERE i.status = 'open'"
    )
    rows = query(demo, sql)
    assert sum(1 for _, _, part in rows if part) >= 2  # partly paid
    assert sum(1 for late, owed, _ in rows if late and owed) >= 1  # overdue
    won = query(demo, "SELECT count(*) FROM deals d JOIN stages s ON s.id = d.stage_id "
                "WHERE s.kind = 'won' AND NOT EXISTS (SELECT 1 FROM invoices i "
                "WHERE i.deal_id = d.id)")  # fmt: skip
    assert won == [(0,)]
    due = crm("remind", "due", "--kind", "invoice", "-f", "tsv")
    assert due.exit_code == 0 and "\tinvoice INV-" in due.stdout and " owed\t" in due.stdout


def test_pipeline_and_forecast_show_open_deals_in_every_stage(crm, demo):
    pipeline = report(crm, "pipeline")
    assert {s["stage"] for s in pipeline["stages"]} == {"new", "qualified", "proposal",
                                                         "negotiation"}  # fmt: skip
    funnel = {s["stage"]: s for s in pipeline["funnel"]}
    assert funnel["won"]["reached"] > 10 and funnel["new"]["lost"] is not None
    months = report(crm, "forecast")["months"]
    assert sum(m["deals"] for m in months if m["month"] != "overdue") >= 8
    assert any(m["month"] == "overdue" and m["deals"] for m in months)


def test_leads_come_from_several_sources_and_some_convert(crm, demo):
    groups = report(crm, "leads", "--period", "all")["groups"]
    assert len(groups) >= 5
    assert sum(g["converted"] for g in groups) >= 5 and sum(g["lost"] for g in groups) >= 3
    assert any(g["median_days_to_convert"] for g in groups)
    linked = query(demo, "SELECT count(*), count(DISTINCT d.lead_id) FROM leads AS l LEFT JOIN "
                         "deals AS d ON d.lead_id = l.id WHERE l.status = 'converted' "
                         "AND l.customer_id IN (SELECT id FROM customers)")  # fmt: skip
    converted, with_deal = linked[0]
    assert converted >= 5 and 0 < with_deal < converted
    by_month = report(crm, "leads", "--period", "all", "--by", "month")["groups"]
    assert len([g for g in by_month if g["leads"]]) >= 10


def test_customers_report_has_top_buyers_repeat_buyers_and_some_at_risk(crm, demo):
    document = report(crm, "customers")
    assert len(document["top"]) >= 10
    summary = document["summary"][0]
    assert summary["customers"] >= 20 and summary["repeat_buyers"] >= 3
    assert 1 <= len(document["at_risk"]) < summary["customers"]
    assert "Chen Wei" in {c["name"] for c in document["at_risk"]}
    assert document["retention"]


def test_tickets_report_has_a_mean_satisfaction_and_open_ones(crm, demo):
    document = report(crm, "tickets", "--period", "all")
    summary = document["summary"][0]
    assert 3.0 <= summary["mean_satisfaction"] <= 4.8
    assert summary["resolved"] >= 20 and summary["rated"] >= 20
    assert summary["open"] >= 2 and summary["pending"] >= 1 and summary["overdue"] >= 1
    assert 0 < summary["first_line_pct"] < 100
    assert {s["score"] for s in document["satisfaction"]} >= {2, 3, 4, 5}
    assert document["unhappy"]
    this_year = report(crm, "tickets")["summary"][0]  # the default range
    assert this_year["mean_satisfaction"] is not None


def test_activity_has_every_type_of_interaction_month_after_month(crm, demo):
    periods = report(crm, "activity", "--period", "all")["periods"]
    busy = [p for p in periods if p["interactions"]]
    assert len(busy) >= 13
    for kind in ("calls", "emails", "meetings", "notes"):
        assert sum(p[kind] for p in periods) >= 10, kind
    assert sum(p["deals_won"] for p in periods) >= 20


def test_reminders_are_due_today_and_this_week_and_birthdays_come(crm, demo):
    today = ok(crm("remind", "list", "--today", "-f", "json"))
    week = json.loads(ok(crm("remind", "list", "--week", "-f", "json")))
    assert len(json.loads(today)) >= 2 and len(week) >= 5
    linked = {k for r in week for k in ("customer_id", "lead_id", "deal_id", "ticket_id")
              if r.get(k)}  # fmt: skip
    assert linked == {"customer_id", "lead_id", "deal_id", "ticket_id"}
    start = date.fromisoformat(FIXED_NOW[:10])
    coming = {(start + timedelta(days=n)).strftime("%m-%d") for n in range(1, 8)}
    birthdays = [b for (b,) in query(demo, "SELECT birthday FROM customers WHERE birthday "
                                           "IS NOT NULL")]  # fmt: skip
    assert len([b for b in birthdays if b[5:] in coming]) >= 2
    due = ok(crm("remind", "due"))
    assert "overdue" in due and "ticket" in due and "reminder" in due


def test_the_demo_is_searchable_and_sorted_like_any_data(crm, demo):
    found = json.loads(ok(crm("customer", "list", "--search", "nguyen", "-f", "json")))
    assert {"Nguyễn Văn An", "Nguyễn Hoàng Yến"} <= {c["name"] for c in found}
    shown = json.loads(ok(crm("customer", "show", "1", "-f", "json")))
    assert shown["interactions"] and shown["deals"] and shown["tickets"]


STORY = (
    "SELECT title, amount, currency, stage_id, created_at, closed_at FROM deals ORDER BY id",
    "SELECT subject, priority, status, satisfaction, created_at FROM tickets ORDER BY id",
    "SELECT type, body, happened_at FROM interactions ORDER BY id",
    "SELECT name, source, status, created_at FROM leads ORDER BY id",
)


def test_the_story_is_the_same_on_every_run_and_moves_with_today(crm, tmp_path, monkeypatch):
    def story(name: str) -> list[list[tuple]]:
        path = tmp_path / name
        ok(crm("--db", str(path), "demo", "-f", "tsv"))
        return [query(path, sql) for sql in STORY]

    first = story("one.db")
    assert first == story("two.db")
    monkeypatch.setenv("CRM_NOW", "2031-06-15T20:00:00")  # 13:00 UTC
    later = story("later.db")
    assert [len(rows) for rows in later] == [len(rows) for rows in first]
    closed = [row[5] for row in later[0] if row[5]]
    assert min(closed) >= "2030-03" and max(closed) < "2031-06-15T13:00:00Z"
    assert min(row[4] for row in later[0]) >= "2030-03"


def test_the_terminal_shows_the_board_then_what_is_due(crm, demo):
    result = crm("demo", "-f", "table")
    assert result.exit_code == 0, result.stderr
    assert "negotiation (75 %)" in result.stdout
    board, due = result.stdout.split("Due now (crm remind due)")
    assert "negotiation (75 %)" in board
    assert "Due" in due and "overdue" in due  # the due table, as `crm remind due` draws it
    assert "already holds the sample data" in result.stderr
