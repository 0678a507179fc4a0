"""Every report's JSON against an independent computation in plain Python over the same rows.

The database is random (tests/report_data.py, seeded): several currencies (VND, JPY), every
stage, closes on local period boundaries and in the future, tickets in every status.  The
expected figures are computed here from the generated rows with zoneinfo, statistics and
plain loops -- nothing of crmcli's periods or SQL is reused.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.report_data import NOW, Data, build, parse

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = date(2026, 11, 23)
NOW_ISO = "2026-11-23T03:00:00Z"
Range = tuple[date | None, date | None]
ALL: Range = (None, None)
THIS_YEAR: Range = (date(2026, 1, 1), date(2026, 12, 31))
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
LEVEL = {"contacted": 1, "qualified": 2, "converted": 3}
SEEDS = (1, 2, 3)


# -- independent calendar helpers ---------------------------------------------------------


def local_day(instant: str) -> date:
    return parse(instant).astimezone(ZONE).date()


def inside(instant: str | None, rng: Range) -> bool:
    if instant is None:
        return False
    day = local_day(instant)
    return (rng[0] is None or day >= rng[0]) and (rng[1] is None or day <= rng[1])


def first_day(by: str, day: date) -> date:
    if by == "week":
        return day - timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    if by == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def following(by: str, day: date) -> date:
    if by == "week":
        return day + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[by]
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def previous(by: str, day: date) -> date:
    if by == "week":
        return day - timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[by]
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def name_of(by: str, day: date) -> str:
    if by == "week":
        iso = day.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"
    if by == "month":
        return f"{day.year}-{day.month:02d}"
    if by == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def period_of(by: str, instant: str) -> date:
    return first_day(by, local_day(instant))


def listed(by: str, rng: Range, with_data: set[date]) -> list[date]:
    """The periods a report lists: the range's (open start: from the first with data) up to
    today's, plus any later one with data."""
    first = first_day(by, rng[0]) if rng[0] else (min(with_data) if with_data else None)
    if first is None:
        return []
    end = min(rng[1], TODAY) if rng[1] else TODAY
    last = max(first_day(by, end), first)
    out = set(with_data)
    day = first
    while day <= last:
        out.add(day)
        day = following(by, day)
    return sorted(out)


def days_between(start: str, end: str) -> float:
    return (parse(end) - parse(start)).total_seconds() / 86400


def pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def r1(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def total(amounts: list[int | None]) -> int | None:
    known = [a for a in amounts if a is not None]
    return sum(known) if known else None


def meta(rng: Range) -> dict[str, Any]:
    return {"from": rng[0] and rng[0].isoformat(), "to": rng[1] and rng[1].isoformat()}


class Rows:
    """Lookups over the generated rows."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self.kind = {s["id"]: s["kind"] for s in data.stages}
        self.open_stages = sorted(
            (s for s in data.stages if s["kind"] == "open" and s["removed_at"] is None),
            key=lambda s: s["position"],
        )
        self.stage = {s["id"]: s for s in data.stages}

    def closed(self, rng: Range, kinds: tuple[str, ...] = ("won", "lost")) -> list[dict]:
        return [
            d
            for d in self.data.deals
            if self.kind[d["stage_id"]] in kinds and inside(d["closed_at"], rng)
        ]

    def last_contact(self, customer_id: int) -> str | None:
        times = [
            i["happened_at"] for i in self.data.interactions if i["customer_id"] == customer_id
        ]
        return max(times) if times else None


# -- expected reports ---------------------------------------------------------------------


def expected_pipeline(rows: Rows, rng: Range) -> dict[str, Any]:
    stages = []
    for stage in rows.open_stages:
        here = [d for d in rows.data.deals if d["stage_id"] == stage["id"]]
        groups: dict[str | None, list[dict]] = defaultdict(list)
        for d in here:
            groups[d["currency"]].append(d)
        if not groups:
            groups[None] = []
        for currency in sorted(groups, key=lambda c: c or ""):
            deals = groups[currency]
            prob = [
                (
                    d["amount"],
                    stage["probability"] if d["probability"] is None else d["probability"],
                )
                for d in deals
            ]
            weighted = [a * p for a, p in prob if a is not None]
            ages = [(NOW - parse(d["stage_changed_at"])).total_seconds() / 86400 for d in deals]
            stages.append({
                "stage": stage["name"], "position": stage["position"],
                "probability": stage["probability"], "currency": currency, "deals": len(deals),
                "unpriced": sum(d["amount"] is None for d in deals),
                "total": total([d["amount"] for d in deals]),
                "weighted": (sum(weighted) + 50) // 100 if weighted else None,
                "avg_age_days": r1(statistics.mean(ages)) if ages else None,
            })  # fmt: skip
    if not any(s["deals"] for s in stages):
        stages = []
    # The funnel: steps are the open stages in use by position, then won.
    step_of = {s["id"]: n for n, s in enumerate(rows.open_stages, start=1)}
    won_step = len(rows.open_stages) + 1
    step_of.update({s["id"]: won_step for s in rows.data.stages if s["kind"] == "won"})
    tops: dict[int, int] = {}
    for change in rows.data.changes:
        step = step_of.get(change["to_stage_id"])
        if step is not None:
            tops[change["deal_id"]] = max(tops.get(change["deal_id"], 0), step)
    cohort = [d for d in rows.data.deals if d["id"] in tops and inside(d["created_at"], rng)]
    funnel = []
    names = [s["name"] for s in rows.open_stages] + ["won"]
    for step, name in enumerate(names, start=1):
        reached = sum(tops[d["id"]] >= step for d in cohort)
        row: dict[str, Any] = {"step": step, "stage": name, "reached": reached,
                               "moved_on": None, "conversion_pct": None, "dropped": None,
                               "lost": None}  # fmt: skip
        if step < won_step:
            moved = sum(tops[d["id"]] > step for d in cohort)
            lost = sum(tops[d["id"]] == step and rows.kind[d["stage_id"]] == "lost" for d in cohort)
            row.update(moved_on=moved, conversion_pct=pct(moved, reached),
                       dropped=reached - moved, lost=lost)  # fmt: skip
        funnel.append(row)
    if not any(r["reached"] for r in funnel):
        funnel = []
    return {"report": "pipeline", **meta(rng), "stages": stages, "funnel": funnel}


def expected_forecast(rows: Rows, months: int) -> dict[str, Any]:
    index = TODAY.year * 12 + TODAY.month - 1 + months
    horizon = date(index // 12, index % 12 + 1, 1).isoformat()
    shown = []
    day = TODAY.replace(day=1)
    for _ in range(months):
        shown.append(day.isoformat()[:7])
        day = following("month", day)
    buckets: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for d in rows.data.deals:
        if rows.kind[d["stage_id"]] != "open":
            continue
        close = d["close_date"]
        if close is None:
            key = "undated"
        elif close < TODAY.isoformat():
            key = "overdue"
        elif close >= horizon:
            key = "later"
        else:
            key = close[:7]
        buckets[key][d["currency"]].append(d)
    out = []
    for key in ["overdue", *shown, "later", "undated"]:
        if key not in buckets:
            if key in shown:
                out.append({"month": key, "currency": None, "deals": 0, "unpriced": 0,
                            "total": None, "weighted": None})  # fmt: skip
            continue
        for currency in sorted(buckets[key]):
            deals = buckets[key][currency]
            weighted = [
                d["amount"]
                * (rows.stage[d["stage_id"]]["probability"] if d["probability"] is None
                   else d["probability"])
                for d in deals if d["amount"] is not None
            ]  # fmt: skip
            out.append({
                "month": key, "currency": currency, "deals": len(deals),
                "unpriced": sum(d["amount"] is None for d in deals),
                "total": total([d["amount"] for d in deals]),
                "weighted": (sum(weighted) + 50) // 100 if weighted else None,
            })  # fmt: skip
    if not any(r["deals"] for r in out):
        out = []
    return {"report": "forecast", "today": TODAY.isoformat(), "months_ahead": months,
            "months": out}  # fmt: skip


def expected_sales(rows: Rows, rng: Range, by: str) -> dict[str, Any]:
    closed = rows.closed(rng)
    groups: dict[date, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for d in closed:
        groups[period_of(by, d["closed_at"])][d["currency"]].append(d)
    periods = []
    for start in listed(by, rng, set(groups)) if closed else []:
        if start not in groups:
            periods.append({"period": name_of(by, start), "currency": None, "won": 0,
                            "won_value": None, "lost": 0, "win_rate_pct": None, "avg_won": None,
                            "median_days_to_win": None, "mean_days_to_win": None})  # fmt: skip
            continue
        for currency in sorted(groups[start]):
            deals = groups[start][currency]
            won = [d for d in deals if rows.kind[d["stage_id"]] == "won"]
            lost = len(deals) - len(won)
            priced = [d["amount"] for d in won if d["amount"] is not None]
            days = [days_between(d["created_at"], d["closed_at"]) for d in won]
            periods.append({
                "period": name_of(by, start), "currency": currency, "won": len(won),
                "won_value": sum(priced) if priced else None, "lost": lost,
                "win_rate_pct": pct(len(won), len(won) + lost),
                "avg_won": (sum(priced) + len(priced) // 2) // len(priced) if priced else None,
                "median_days_to_win": r1(statistics.median(days)) if days else None,
                "mean_days_to_win": r1(statistics.mean(days)) if days else None,
            })  # fmt: skip
    reasons = Counter(d["lost_reason"] for d in rows.closed(rng, ("lost",)))
    lost_all = sum(reasons.values())
    ranked = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0] is not None, kv[0] or ""))
    lost_reasons = [
        {"rank": 1 + sum(c > count for c in reasons.values()), "reason": reason, "lost": count,
         "share_pct": pct(count, lost_all)}
        for reason, count in ranked
    ]  # fmt: skip
    # Averages over the range per currency: won deals with an amount, their customers.
    won_by: dict[str, list[dict]] = defaultdict(list)
    for d in rows.closed(rng, ("won",)):
        if d["amount"] is not None:
            won_by[d["currency"]].append(d)
    averages = []
    for currency in sorted(won_by):
        deals = won_by[currency]
        value = sum(d["amount"] for d in deals)
        buyers = len({d["customer_id"] for d in deals})
        averages.append({
            "currency": currency, "deals": len(deals), "won_value": value, "customers": buyers,
            "avg_order_value": half_up(value, len(deals)),
            "avg_per_customer": half_up(value, buyers),
        })  # fmt: skip
    return {"report": "sales", **meta(rng), "by": by, "periods": periods,
            "averages": averages, "lost_reasons": lost_reasons}  # fmt: skip


def half_up(value: int, count: int) -> int:
    """``value / count`` rounded half up, with exact fractions (no float)."""
    from fractions import Fraction

    exact = Fraction(value, count)
    return int(exact + Fraction(1, 2)) if exact >= 0 else -int(-exact + Fraction(1, 2))


def expected_leads(rows: Rows, rng: Range, by: str) -> dict[str, Any]:
    history: dict[int, list[str]] = defaultdict(list)
    for change in rows.data.lead_changes:
        history[change["lead_id"]].append(change["to_status"])
    groups: dict[Any, list[dict]] = defaultdict(list)
    for lead in rows.data.leads:
        if inside(lead["created_at"], rng):
            key = lead["source"] if by == "source" else period_of("month", lead["created_at"])
            groups[key].append(lead)

    def figures(leads: list[dict]) -> dict[str, Any]:
        tops = [
            max([LEVEL.get(lead["status"], 0)] + [LEVEL.get(s, 0) for s in history[lead["id"]]])
            for lead in leads
        ]
        converted = [lead for lead in leads if lead["status"] == "converted"]
        days = [days_between(lead["created_at"], lead["converted_at"]) for lead in converted]
        return {
            "leads": len(leads), "contacted": sum(t >= 1 for t in tops),
            "qualified": sum(t >= 2 for t in tops), "converted": len(converted),
            "lost": sum(lead["status"] == "lost" for lead in leads),
            "conversion_pct": pct(len(converted), len(leads)),
            "median_days_to_convert": r1(statistics.median(days)) if days else None,
        }  # fmt: skip

    if by == "source":
        keys = sorted(groups, key=lambda k: (-len(groups[k]), k is None, k or ""))
        out = [{"source": k, **figures(groups[k])} for k in keys]
    else:
        out = [
            {"period": name_of("month", start), **figures(groups.get(start, []))}
            for start in (listed("month", rng, set(groups)) if groups else [])
        ]
    return {"report": "leads", **meta(rng), "by": by, "groups": out}


def expected_customers(rows: Rows, rng: Range, top: int, by: str) -> dict[str, Any]:
    data = rows.data
    days = int(data.settings.get("at_risk_days", "60"))
    won = rows.closed(rng, ("won",))
    names = {c["id"]: c["name"] for c in data.customers}
    per: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for d in won:
        per[d["customer_id"], d["currency"]].append(d)
    tops = []
    for currency in sorted({c for _, c in per}):
        entries = [
            (cid, total([d["amount"] for d in deals]), len(deals))
            for (cid, cur), deals in per.items()
            if cur == currency
        ]
        entries.sort(key=lambda e: (e[1] is None, -(e[1] or 0), -e[2], e[0]))
        for rank, (cid, value, count) in enumerate(entries[:top], start=1):
            tops.append({"rank": rank, "id": cid, "name": names[cid], "currency": currency,
                         "won_value": value, "won_deals": count,
                         "last_contact": rows.last_contact(cid)})  # fmt: skip
    counts = Counter(d["customer_id"] for d in won)
    repeat = sum(n > 1 for n in counts.values())
    # At risk: silent since the cutoff, with open or won deals.
    cutoff = (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    at_risk = []
    for c in data.customers:
        mine = [d for d in data.deals if d["customer_id"] == c["id"]]
        open_deals = sum(rows.kind[d["stage_id"]] == "open" for d in mine)
        won_deals = sum(rows.kind[d["stage_id"]] == "won" for d in mine)
        last = rows.last_contact(c["id"])
        since = last or c["created_at"]
        if since < cutoff and (open_deals or won_deals):
            at_risk.append({"id": c["id"], "name": c["name"], "last_contact": last,
                            "days_silent": int((NOW - parse(since)).total_seconds() // 86400),
                            "open_deals": open_deals, "won_deals": won_deals})  # fmt: skip
    at_risk.sort(key=lambda r: (-r["open_deals"], -r["won_deals"], -r["days_silent"], r["id"]))
    summary = [{"customers": len(data.customers), "buyers": len(counts), "repeat_buyers": repeat,
                "repeat_rate_pct": pct(repeat, len(counts)), "at_risk": len(at_risk),
                "at_risk_days": days}]  # fmt: skip
    buyers: dict[date, set[int]] = defaultdict(set)
    for d in won:
        buyers[period_of(by, d["closed_at"])].add(d["customer_id"])
    retention = []
    starts = listed(by, rng, set(buyers)) if won else []
    for n, start in enumerate(starts):
        before = previous(by, start)
        prev = len(buyers.get(before, set())) if n and starts[n - 1] == before else None
        kept = len(buyers.get(start, set()) & buyers.get(before, set()))
        retention.append({"period": name_of(by, start), "buyers": len(buyers.get(start, set())),
                          "retained": None if prev is None else kept, "previous_buyers": prev,
                          "retention_pct": pct(kept, prev) if prev else None})  # fmt: skip
    return {"report": "customers", **meta(rng), "by": by, "top_n": top, "at_risk_days": days,
            "top": tops, "summary": summary, "retention": retention,
            "at_risk": at_risk,
            "recommendation": expected_recommendation(rows, rng, by)}  # fmt: skip


def expected_recommendation(rows: Rows, rng: Range, by: str) -> list[dict[str, Any]]:
    """NPS from each customer's last score in a period; CSAT of the tickets opened in it."""
    last: dict[tuple[date, int], dict] = {}
    for score in sorted(rows.data.nps, key=lambda n: (n["at"], n["id"])):
        if inside(score["at"], rng):
            last[period_of(by, score["at"]), score["customer_id"]] = score
    answers: dict[date, list[int]] = defaultdict(list)
    for (start, _), score in last.items():
        answers[start].append(score["score"])
    rated: dict[date, list[int]] = defaultdict(list)
    for t in rows.data.tickets:
        if t["satisfaction"] is not None and inside(t["created_at"], rng):
            rated[period_of(by, t["created_at"])].append(t["satisfaction"])
    starts = set(answers) | set(rated)
    out = []
    for start in listed(by, rng, starts) if starts else []:
        scores, csat = answers.get(start, []), rated.get(start, [])
        promoters = sum(s >= 9 for s in scores)
        detractors = sum(s <= 6 for s in scores)
        out.append({"period": name_of(by, start), "responses": len(scores),
                    "promoters": promoters, "passives": len(scores) - promoters - detractors,
                    "detractors": detractors,
                    "nps": pct(promoters - detractors, len(scores)),
                    "rated_tickets": len(csat),
                    "csat": r1(statistics.mean(csat)) if csat else None})  # fmt: skip
    return out


def expected_tickets(rows: Rows, rng: Range) -> dict[str, Any]:
    tickets = rows.data.tickets
    names = {c["id"]: c["name"] for c in rows.data.customers}
    unresolved: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for t in tickets:
        if t["status"] in ("open", "pending"):
            unresolved[t["priority"], t["tier"]].append(t)

    def overdue(t: dict) -> bool:
        return t["status"] == "open" and t["due_at"] < NOW_ISO

    open_rows = [
        {"priority": p, "tier": tier, "open": sum(t["status"] == "open" for t in ts),
         "pending": sum(t["status"] == "pending" for t in ts), "overdue": sum(map(overdue, ts))}
        for (p, tier), ts in sorted(unresolved.items(), key=lambda kv: (PRIORITY_RANK[kv[0][0]],
                                                                       kv[0][1]))
    ]  # fmt: skip
    cohort = [t for t in tickets if inside(t["created_at"], rng)]
    resolved = [t for t in cohort if t["resolved_at"] is not None]
    hours = [days_between(t["created_at"], t["resolved_at"]) * 24 for t in resolved]
    rated = [t["satisfaction"] for t in cohort if t["satisfaction"] is not None]
    summary = {
        "open": sum(t["status"] == "open" for t in tickets),
        "pending": sum(t["status"] == "pending" for t in tickets),
        "overdue": sum(map(overdue, tickets)), "opened": len(cohort), "resolved": len(resolved),
        "median_hours_to_resolve": r1(statistics.median(hours)) if hours else None,
        "mean_hours_to_resolve": r1(statistics.mean(hours)) if hours else None,
        "first_line_pct": pct(sum(t["tier"] == 1 for t in resolved), len(resolved)),
        "rated": len(rated), "mean_satisfaction": r1(statistics.mean(rated)) if rated else None,
        "reopened": sum(t["reopened"] > 0 for t in cohort),
    }  # fmt: skip
    scores = Counter(rated)
    satisfaction = [
        {"score": s, "tickets": scores[s], "share_pct": pct(scores[s], len(rated))}
        for s in range(1, 6)
    ]
    per: dict[int, list[dict]] = defaultdict(list)
    for t in cohort:
        per[t["customer_id"]].append(t)
    unhappy = []
    for cid, ts in per.items():
        low = sum(t["satisfaction"] is not None and t["satisfaction"] <= 2 for t in ts)
        again = sum(t["reopened"] > 0 for t in ts)
        scored = [t["satisfaction"] for t in ts if t["satisfaction"] is not None]
        if low or again:
            worst = min(scored) if scored else None
            unhappy.append({"id": cid, "name": names[cid], "tickets": len(ts), "low_scores": low,
                            "reopened": again, "worst_score": worst})  # fmt: skip
    unhappy.sort(key=lambda r: (-r["low_scores"], -r["reopened"], r["worst_score"] is None,
                                r["worst_score"] or 0, r["id"]))  # fmt: skip
    anything = summary["opened"] or summary["open"] or summary["pending"]
    return {"report": "tickets", **meta(rng), "summary": [summary] if anything else [],
            "open": open_rows, "satisfaction": satisfaction if rated else [],
            "unhappy": unhappy}  # fmt: skip


def expected_activity(rows: Rows, rng: Range, by: str) -> dict[str, Any]:
    acts: dict[date, Counter[str]] = defaultdict(Counter)
    for i in rows.data.interactions:
        if inside(i["happened_at"], rng):
            acts[period_of(by, i["happened_at"])][i["type"]] += 1
    results: dict[date, Counter[str]] = defaultdict(Counter)
    for d in rows.closed(rng):
        results[period_of(by, d["closed_at"])][rows.kind[d["stage_id"]]] += 1
    starts = set(acts) | set(results)
    out = []
    for start in listed(by, rng, starts) if starts else []:
        a, r = acts.get(start, Counter()), results.get(start, Counter())
        out.append({"period": name_of(by, start), "calls": a["call"], "emails": a["email"],
                    "meetings": a["meeting"], "notes": a["note"],
                    "interactions": sum(a.values()), "deals_won": r["won"],
                    "deals_lost": r["lost"]})  # fmt: skip
    return {"report": "activity", **meta(rng), "by": by, "periods": out}


# -- comparing ----------------------------------------------------------------------------


def same(actual: Any, expected: Any, where: str = "") -> None:
    """Equal, floats within 0.11 (SQLite and Python may round x.x5 apart)."""
    if isinstance(expected, float) or isinstance(actual, float):
        assert actual is not None and expected is not None, f"{where}: {actual} != {expected}"
        assert abs(actual - expected) <= 0.11, f"{where}: {actual} != {expected}"
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and list(actual) == list(expected), (
            f"{where}: keys {list(actual)} != {list(expected)}"
        )
        for key in expected:
            same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), where
        assert len(actual) == len(expected), (
            f"{where}: {len(actual)} rows != {len(expected)}\n"
            f"actual {json.dumps(actual, default=str)[:3000]}\n"
            f"expected {json.dumps(expected, default=str)[:3000]}"
        )
        for n, (a, e) in enumerate(zip(actual, expected, strict=True)):
            same(a, e, f"{where}[{n}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


@pytest.fixture(params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def rows(request, db_path: Path) -> Rows:
    return Rows(build(db_path, request.param))


def report(crm, *args: str) -> dict[str, Any]:
    """The JSON document of a report; when every section is empty it says why on stderr."""
    result = crm("report", *args, "-f", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    if not any(v for v in document.values() if isinstance(v, list)):
        assert result.stderr.strip() and "\n" not in result.stderr.strip()
    return document


def check(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """An empty report (every section empty) is the same object with empty lists (no
    zero-filled periods); others match field by field."""
    if not any(v for v in expected.values() if isinstance(v, list)):
        assert list(actual) == list(expected), actual
        assert all(v == [] for v in actual.values() if isinstance(v, list)), actual
        return
    same(actual, expected)


CASES: list[tuple[tuple[str, ...], Range]] = [
    ((), ALL),
    (("--period", "this-year"), THIS_YEAR),
    (("--from", "2026-03-01", "--to", "2026-10-31"), (date(2026, 3, 1), date(2026, 10, 31))),
    (("--to", "2025-12-31"), (None, date(2025, 12, 31))),
]


@pytest.mark.parametrize(("args", "rng"), CASES)
def test_pipeline(crm, rows, args, rng) -> None:
    check(report(crm, "pipeline", *args), expected_pipeline(rows, rng))


@pytest.mark.parametrize("months", [1, 6, 14])
def test_forecast(crm, rows, months) -> None:
    check(report(crm, "forecast", "--months", str(months)), expected_forecast(rows, months))


@pytest.mark.parametrize(
    ("args", "rng", "by"),
    [
        ((), THIS_YEAR, "month"),
        (("--by", "quarter", "--period", "all"), ALL, "quarter"),
        (("--by", "year", "--from", "2025-06-15"), (date(2025, 6, 15), None), "year"),
        (("--period", "last-month"), (date(2026, 10, 1), date(2026, 10, 31)), "month"),
        (("--from", "2026-11-01", "--to", "2026-11-01"), (date(2026, 11, 1),) * 2, "month"),
        (("--from", "2026-10-31", "--to", "2026-10-31"), (date(2026, 10, 31),) * 2, "month"),
        (("--to", "2025-12-31", "--by", "quarter"), (None, date(2025, 12, 31)), "quarter"),
    ],
)
def test_sales(crm, rows, args, rng, by) -> None:
    check(report(crm, "sales", *args), expected_sales(rows, rng, by))


@pytest.mark.parametrize(
    ("args", "rng", "by"),
    [
        ((), THIS_YEAR, "source"),
        (("--by", "month", "--period", "all"), ALL, "month"),
        (("--from", "3 months ago"), (date(2026, 8, 23), None), "source"),
        (("--by", "month", "--period", "last-year"), (date(2025, 1, 1), date(2025, 12, 31)),
         "month"),
    ],
)  # fmt: skip
def test_leads(crm, rows, args, rng, by) -> None:
    check(report(crm, "leads", *args), expected_leads(rows, rng, by))


@pytest.mark.parametrize(
    ("args", "rng", "top", "by"),
    [
        ((), ALL, 10, "year"),
        (("--top", "3", "--by", "quarter"), ALL, 3, "quarter"),
        (("--by", "month", "--period", "this-year", "--top", "1"), THIS_YEAR, 1, "month"),
        (("--by", "month", "--from", "2026-10-31", "--to", "2026-11-01"),
         (date(2026, 10, 31), date(2026, 11, 1)), 10, "month"),
    ],
)  # fmt: skip
def test_customers(crm, rows, args, rng, top, by) -> None:
    check(report(crm, "customers", *args), expected_customers(rows, rng, top, by))


@pytest.mark.parametrize(
    ("args", "rng"),
    [
        ((), THIS_YEAR),
        (("--period", "all"), ALL),
        (("--period", "this-quarter"), (date(2026, 10, 1), date(2026, 12, 31))),
    ],
)
def test_tickets(crm, rows, args, rng) -> None:
    check(report(crm, "tickets", *args), expected_tickets(rows, rng))


@pytest.mark.parametrize(
    ("args", "rng", "by"),
    [
        ((), THIS_YEAR, "month"),
        (("--by", "week", "--period", "last-month"), (date(2026, 10, 1), date(2026, 10, 31)),
         "week"),
        (("--by", "week", "--period", "all"), ALL, "week"),
        (("--period", "this-week", "--by", "week"), (date(2026, 11, 23), date(2026, 11, 29)),
         "week"),
    ],
)  # fmt: skip
def test_activity(crm, rows, args, rng, by) -> None:
    check(report(crm, "activity", *args), expected_activity(rows, rng, by))


def test_record_formats_carry_the_same_numbers(crm, rows) -> None:
    """tsv and jsonl of a section hold the records of the JSON document."""
    doc = report(crm, "sales", "--period", "all")
    lines = crm("report", "sales", "--period", "all", "--section", "lost_reasons", "-f", "jsonl")
    assert [json.loads(line) for line in lines.stdout.splitlines()] == doc["lost_reasons"]
    tsv = crm("report", "sales", "--period", "all", "-f", "tsv").stdout.splitlines()
    assert tsv[0].split("\t") == list(doc["periods"][0])
    assert len(tsv) == 1 + len(doc["periods"])
    first = dict(zip(tsv[0].split("\t"), tsv[1].split("\t"), strict=True))
    assert first["period"] == doc["periods"][0]["period"]
    assert first["won"] == str(doc["periods"][0]["won"])


def test_the_random_data_has_what_matters(rows) -> None:
    """The generator really produces the awkward cases the reports are checked on."""
    data = rows.data
    closed = [d["closed_at"] for d in data.deals if d["closed_at"]]
    assert "2026-10-31T17:00:00Z" in closed or "2026-10-31T16:59:59Z" in closed
    assert any(c > NOW_ISO for c in closed)  # a close in the future
    assert {"VND", "JPY", "USD", "EUR"} <= {d["currency"] for d in data.deals}
    assert {d["stage_id"] for d in data.deals} >= {1, 2, 3, 4, 5, 6, 7}
    assert {t["status"] for t in data.tickets} == {"open", "pending", "resolved", "closed"}
    assert {lead["status"] for lead in data.leads} >= {"new", "converted", "lost"}
    # a customer scoring twice in one month: only the last answer counts
    months = Counter((n["customer_id"], n["at"][:7]) for n in data.nps)
    assert max(months.values()) > 1
    assert {n["score"] for n in data.nps} >= {0, 6, 7, 8, 9, 10}
    assert any(d["amount"] is None for d in data.deals)
    assert datetime.fromisoformat("2026-11-01T00:00:00+07:00") == parse("2026-10-31T17:00:00Z")
