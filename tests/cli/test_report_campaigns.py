"""``crm report campaigns``: a small story with known figures, every format, bad input, and
random send logs checked against an independent computation in plain Python.

Campaigns, send log rows and campaign messages are inserted with SQL (the send command is
tested on its own).  The clock is CRM_NOW (2026-11-23 10:00, Asia/Ho_Chi_Minh).
"""

from __future__ import annotations

import csv
import io
import json
import random
import uuid
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from crmcli.db import open_db
from tests.conftest import dump
from tests.report_data import BOUNDARIES, Data, build, iso, parse
from tests.test_reports_random import ALL, Range, inside, same


def ok(result) -> str:
    assert result.exit_code == 0, result.stderr
    return result.stdout


def doc(crm, *args: str) -> dict[str, Any]:
    return json.loads(ok(crm("report", "campaigns", *args, "-f", "json")))


class Log:
    """Rows written straight into the tables, as the send command leaves them."""

    def __init__(self, path: Path) -> None:
        self.db = open_db(path, create=True)

    def close(self) -> None:
        self.db.close()

    def insert(self, table: str, row: dict[str, Any]) -> int:
        with self.db.write(["test", table]):
            cur = self.db.execute(
                f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )
        return int(cur.lastrowid or 0)

    def customer(self, name: str) -> int:
        return self.insert("customers", {"uid": str(uuid.uuid4()), "name": name, "fields": "{}",
                                         "created_at": "2026-01-01T00:00:00Z",
                                         "updated_at": "2026-01-01T00:00:00Z"})  # fmt: skip

    def campaign(self, name: str, channel: str = "email", kind: str = "marketing") -> int:
        return self.insert("campaigns", {"uid": str(uuid.uuid4()), "name": name,
                                         "channel": channel, "kind": kind,
                                         "created_at": "2026-11-01T00:00:00Z"})  # fmt: skip

    def send(self, campaign: int, customer: int, status: str, at: str, *,
             reason: str | None = None, ref: str = "") -> int:  # fmt: skip
        interaction = None
        if status == "sent":
            interaction = self.interaction(customer, at, campaign=campaign, kind="email")
        return self.insert("sends", {"campaign_id": campaign, "customer_id": customer,
                                     "ref": ref, "channel": "email", "address": "a@b.vn",
                                     "status": status, "reason": reason,
                                     "interaction_id": interaction, "at": at})  # fmt: skip

    def interaction(self, customer: int, at: str, *, campaign: int | None = None,
                    kind: str = "call") -> int:  # fmt: skip
        return self.insert("interactions", {"uid": str(uuid.uuid4()), "customer_id": customer,
                                            "type": kind, "body": "x", "happened_at": at,
                                            "created_at": at,
                                            "campaign_id": campaign})  # fmt: skip

    def deal(self, customer: int, created: str, *, won_at: str | None = None) -> int:
        stage = "won" if won_at else "open"
        stage_id = self.db.scalar(f"SELECT min(id) FROM stages WHERE kind = '{stage}'")
        return self.insert("deals", {"uid": str(uuid.uuid4()), "title": "d",
                                     "customer_id": customer, "stage_id": stage_id,
                                     "currency": "VND", "closed_at": won_at,
                                     "stage_changed_at": won_at or created,
                                     "created_at": created,
                                     "updated_at": won_at or created})  # fmt: skip


@pytest.fixture
def story(db_path: Path) -> dict[str, int]:
    """One campaign on 2026-11-01 09:00 local to four customers: An (sent; calls back two
    days later, a deal opened and won within the month; another call after 40 days), Bình
    (sent; nothing), Chi (skipped: no consent), Dũng (failed).  A reminder campaign later
    sends An two invoices (two send log rows, one recipient)."""
    log = Log(db_path)
    try:
        an, binh, chi, dung = (log.customer(n) for n in ("An", "Bình", "Chi", "Dũng"))
        tet = log.campaign("Tết")
        sent = "2026-11-01T02:00:00Z"
        log.send(tet, an, "sent", sent)
        log.send(tet, binh, "sent", sent)
        log.send(tet, chi, "skipped", sent, reason="no consent")
        log.send(tet, dung, "failed", sent, reason="550 no such mailbox")
        log.interaction(an, "2026-11-03T02:00:00Z")  # a reply
        log.interaction(an, "2026-12-12T02:00:00Z")  # 41 days later: not within 30
        log.interaction(binh, "2026-10-30T02:00:00Z")  # before the message
        log.deal(an, "2026-11-05T02:00:00Z", won_at="2026-11-20T02:00:00Z")
        log.deal(binh, "2026-12-05T02:00:00Z")  # 34 days later
        reminders = log.campaign("reminder", kind="transactional")
        log.send(reminders, an, "sent", "2026-11-20T02:00:00Z", ref="invoice:1")
        log.send(reminders, an, "sent", "2026-11-21T02:00:00Z", ref="invoice:2")
        log.send(reminders, binh, "skipped", "2026-11-20T02:00:00Z", reason="opted out")
        return {"tet": tet, "reminders": reminders, "an": an, "binh": binh}
    finally:
        log.close()


def test_a_campaign_counts_sent_skipped_failed_replies_and_deals(crm, story) -> None:
    report = doc(crm)
    assert report["days"] == 30 and report["from"] is None
    rows = {row["name"]: row for row in report["campaigns"]}
    assert [r["name"] for r in report["campaigns"]] == ["reminder", "Tết"]  # newest first
    tet = rows["Tết"]
    assert (tet["sent"], tet["failed"], tet["skipped"], tet["reached"]) == (2, 1, 1, 2)
    # An's call two days later and the reminder's own messages (campaign messages) aside;
    # the call 41 days later is outside 30 days
    assert (tet["replies"], tet["replied"], tet["reply_pct"]) == (1, 1, 50.0)
    assert (tet["deals_opened"], tet["deals_won"]) == (1, 1)
    reminder = rows["reminder"]
    assert (reminder["sent"], reminder["reached"], reminder["skipped"]) == (2, 1, 1)
    assert reminder["first_send"] == "2026-11-20T02:00:00Z"
    assert reminder["last_send"] == "2026-11-21T02:00:00Z"
    assert (reminder["replies"], reminder["deals_opened"], reminder["deals_won"]) == (1, 0, 0)
    assert report["skipped"] == [
        {"id": story["reminders"], "name": "reminder", "reason": "opted out", "skipped": 1},
        {"id": story["tet"], "name": "Tết", "reason": "no consent", "skipped": 1},
    ]


def test_days_widens_the_window(crm, story) -> None:
    tet = {r["name"]: r for r in doc(crm, "--days", "45")["campaigns"]}["Tết"]
    assert (tet["replies"], tet["deals_opened"]) == (2, 2)
    short = {r["name"]: r for r in doc(crm, "--days", "1")["campaigns"]}["Tết"]
    assert (short["replies"], short["deals_opened"], short["deals_won"]) == (0, 0, 0)


def test_the_range_picks_the_messages_written_in_it(crm, story) -> None:
    report = doc(crm, "--from", "2026-11-10", "--to", "2026-11-20")
    assert [r["name"] for r in report["campaigns"]] == ["reminder"]
    assert report["campaigns"][0]["sent"] == 1  # the message of the 21st is outside
    assert report["from"] == "2026-11-10" and report["to"] == "2026-11-20"


def test_every_format(crm, story) -> None:
    tsv = ok(crm("report", "campaigns", "-f", "tsv")).splitlines()
    assert tsv[0].split("\t")[:4] == ["id", "name", "channel", "kind"]
    assert len(tsv) == 3
    rows = list(csv.DictReader(io.StringIO(ok(crm("report", "campaigns", "-f", "csv")))))
    assert {r["name"]: r["sent"] for r in rows} == {"Tết": "2", "reminder": "2"}
    lines = ok(crm("report", "campaigns", "--section", "skipped", "-f", "jsonl")).splitlines()
    assert [json.loads(line)["reason"] for line in lines] == ["opted out", "no consent"]
    ids = ok(crm("report", "campaigns", "-f", "ids")).split()
    assert ids == [str(story["reminders"]), str(story["tet"])]
    table = crm("report", "campaigns", "-f", "table")
    assert table.exit_code == 0 and "Tết" in table.stdout and "Skipped recipients" in table.stdout
    assert "50.0 %" in table.stdout


def test_nothing_sent_says_so(crm, db_path) -> None:
    Log(db_path).close()
    result = crm("report", "campaigns", "-f", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["campaigns"] == []
    assert result.stderr.strip() == "no campaign messages (all time)"
    tsv = crm("report", "campaigns", "-f", "tsv")
    assert tsv.stdout.split("\t")[0] == "id" and len(tsv.stdout.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--days", "0"), "--days"),
        (("--days", "x"), "--days"),
        (("--section", "nope"), "--section"),
        (("--from", "31/31/2026"), "--from"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(crm, story, db_path, args, message) -> None:
    before = dump(db_path)
    result = crm("report", "campaigns", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert dump(db_path) == before


# -- random send logs against plain Python ------------------------------------------------


class Campaigns:
    def __init__(self) -> None:
        self.campaigns: list[dict[str, Any]] = []
        self.sends: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []  # interactions that are campaign messages
        self.replies: list[dict[str, Any]] = []  # interactions added near the sends
        self.deals: list[dict[str, Any]] = []


def add_campaigns(path: Path, data: Data, seed: int) -> Campaigns:
    """Campaigns over the random customers: sends in every status, several messages to one
    recipient, sends on local day boundaries, replies and deals just inside and just outside
    the window (exactly ``days`` after the send counts)."""
    rng = random.Random(seed * 7919)
    out = Campaigns()
    log = Log(path)
    try:
        won = log.db.scalar("SELECT min(id) FROM stages WHERE kind = 'won'")
        opened = log.db.scalar("SELECT min(id) FROM stages WHERE kind = 'open'")
        for n in range(6):
            cid = log.campaign(f"campaign {n} {'Ưu đãi' if n % 2 else 'news'}",
                               channel=rng.choice(("email", "sms")))  # fmt: skip
            out.campaigns.append(
                {"id": cid, "name": f"campaign {n} {'Ưu đãi' if n % 2 else 'news'}"}
            )
            base = parse("2026-06-01T00:00:00Z") + timedelta(days=rng.randint(0, 160))
            for customer in rng.sample(data.customers, rng.randint(3, 15)):
                for ref in range(rng.choice((1, 1, 1, 2))):
                    at = base + timedelta(hours=rng.randint(0, 72), seconds=rng.randint(0, 59))
                    if rng.random() < 0.1:
                        at = parse(rng.choice(BOUNDARIES[:2]))
                    status = rng.choices(("sent", "skipped", "failed"), weights=(70, 20, 10))[0]
                    reason = None
                    if status == "skipped":
                        reason = rng.choice(("no consent", "opted out", "no address"))
                    elif status == "failed":
                        reason = "550"
                    row = {"campaign_id": cid, "customer_id": customer["id"],
                           "ref": f"r{ref}", "status": status, "reason": reason,
                           "at": iso(at)}  # fmt: skip
                    log.send(cid, customer["id"], status, row["at"], reason=reason,
                             ref=row["ref"])  # fmt: skip
                    out.sends.append(row)
                    if status == "sent":
                        out.messages.append({"customer_id": customer["id"], "at": row["at"]})
                    for _ in range(rng.choice((0, 0, 1, 2))):
                        later = at + timedelta(days=rng.choice((0, 1, 5, 29, 30, 31, 60)),
                                               seconds=rng.choice((-1, 0, 1)))  # fmt: skip
                        when = iso(later)
                        if rng.random() < 0.3:
                            log.interaction(customer["id"], when, campaign=cid, kind="email")
                            out.messages.append({"customer_id": customer["id"], "at": when})
                        else:
                            log.interaction(customer["id"], when)
                            out.replies.append({"customer_id": customer["id"],
                                                "happened_at": when})  # fmt: skip
                    if rng.random() < 0.4:
                        created = at + timedelta(days=rng.choice((-3, 0, 2, 30, 45)),
                                                 seconds=rng.choice((0, 1)))  # fmt: skip
                        closed = None
                        if rng.random() < 0.5:
                            closed = iso(created + timedelta(days=rng.choice((1, 20, 40))))
                        log.insert("deals", {"uid": str(uuid.uuid4()), "title": "c",
                                             "customer_id": customer["id"],
                                             "stage_id": won if closed else opened,
                                             "currency": "USD", "closed_at": closed,
                                             "stage_changed_at": closed or iso(created),
                                             "created_at": iso(created),
                                             "updated_at": closed or iso(created)})  # fmt: skip
                        out.deals.append({"customer_id": customer["id"],
                                          "created_at": iso(created), "closed_at": closed,
                                          "won": closed is not None})  # fmt: skip
    finally:
        log.close()
    return out


def expected(data: Data, extra: Campaigns, rng: Range, days: int) -> dict[str, Any]:
    names = {c["id"]: c["name"] for c in extra.campaigns}
    sends = [s for s in extra.sends if inside(s["at"], rng)]
    # every interaction that is not a campaign message, and every deal, with whether it's won
    replies = [
        {"customer_id": i["customer_id"], "happened_at": i["happened_at"]}
        for i in data.interactions
        if i["customer_id"] is not None
    ] + extra.replies
    kind = {stage["id"]: stage["kind"] for stage in data.stages}
    deals = [
        {"customer_id": d["customer_id"], "created_at": d["created_at"],
         "closed_at": d["closed_at"], "won": kind[d["stage_id"]] == "won"}
        for d in data.deals
    ] + extra.deals  # fmt: skip
    rows = []
    by_campaign: dict[int, list[dict]] = defaultdict(list)
    for s in sends:
        by_campaign[s["campaign_id"]].append(s)
    for cid, mine in by_campaign.items():
        first: dict[int, str] = {}
        for s in mine:
            if s["status"] == "sent":
                first[s["customer_id"]] = min(first.get(s["customer_id"], s["at"]), s["at"])
        answers, answered, opened, won = 0, set(), 0, 0
        for customer, since in first.items():
            until = iso(parse(since) + timedelta(days=days))
            for r in replies:
                if r["customer_id"] == customer and since < r["happened_at"] <= until:
                    answers += 1
                    answered.add(customer)
            for d in deals:
                if d["customer_id"] != customer:
                    continue
                opened += since < d["created_at"] <= until
                won += bool(d["won"] and since < d["closed_at"] <= until)
        status = Counter(s["status"] for s in mine)
        rows.append({
            "id": cid, "name": names[cid], "first_send": min(s["at"] for s in mine),
            "last_send": max(s["at"] for s in mine), "sent": status["sent"],
            "failed": status["failed"], "skipped": status["skipped"], "reached": len(first),
            "replies": answers, "replied": len(answered),
            "reply_pct": round(100 * len(answered) / len(first), 1) if first else None,
            "deals_opened": opened, "deals_won": won,
        })  # fmt: skip
    rows.sort(key=lambda r: (r["first_send"], r["id"]), reverse=True)
    skipped: Counter[tuple[int, str]] = Counter()
    for s in sends:
        if s["status"] == "skipped":
            skipped[s["campaign_id"], s["reason"]] += 1
    first_send = {r["id"]: r["first_send"] for r in rows}
    skips = [{"id": cid, "name": names[cid], "reason": reason, "skipped": n}
             for (cid, reason), n in skipped.items()]  # fmt: skip
    # the campaigns in the order of the first section, then the commonest reason first
    skips.sort(key=lambda r: r["reason"])
    skips.sort(key=lambda r: -r["skipped"])
    skips.sort(key=lambda r: (first_send[r["id"]], r["id"]), reverse=True)
    return {"campaigns": rows, "skipped": skips}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    ("args", "rng", "days"),
    [
        ((), ALL, 30),
        (("--days", "5"), ALL, 5),
        (("--from", "2026-08-01", "--to", "2026-10-31", "--days", "60"),
         (date(2026, 8, 1), date(2026, 10, 31)), 60),
        (("--to", "2026-07-15"), (None, date(2026, 7, 15)), 30),
    ],
)  # fmt: skip
def test_random_send_logs(crm, db_path, seed, args, rng, days) -> None:
    data = build(db_path, seed)
    extra = add_campaigns(db_path, data, seed)
    assert any(s["status"] == "skipped" for s in extra.sends)
    report = doc(crm, *args)
    want = expected(data, extra, rng, days)
    keep = ("channel", "kind")
    got = [{k: v for k, v in row.items() if k not in keep} for row in report["campaigns"]]
    same(got, want["campaigns"], "campaigns")
    same(report["skipped"], want["skipped"], "skipped")
    if not args:  # the data has what the figures are about
        assert all(
            sum(r[k] for r in want["campaigns"])
            for k in ("replies", "deals_won", "deals_opened", "failed")
        )
        assert any(r["reached"] < r["sent"] for r in want["campaigns"])  # two messages, one person
