"""A random crmcli database for the report tests, with the rows it holds as plain dicts.

Seeded, so a failure is reproducible.  It has what trips reports up: several currencies
(VND and JPY without minor units), deals without an amount or with their own probability,
every stage plus an added one and a removed one, deals reopened after a win, closes exactly
on local period boundaries (``2026-10-31T17:00:00Z`` is 1 November 00:00 in UTC+7) and one
second before, closes in the future, leads in every status with their history, interactions
of customers and of leads, and tickets in every status.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from crmcli.db import open_db

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # CRM_NOW 2026-11-23T10:00 local, UTC+7
START = datetime(2024, 12, 1, tzinfo=UTC)
CURRENCIES = ("USD", "EUR", "VND", "JPY")
STEP_OF = {"USD": 100, "EUR": 50, "VND": 1_000_000, "JPY": 1_000}
REASONS = ("price", "timing", "competitor", "Giá quá cao", None)
SOURCES = ("web", "cold-call", "social", "event", "referral", "list", "other", None)
PRIORITIES = ("low", "normal", "high", "urgent")
# Local period boundaries (UTC+7 midnights) and the second before them.
BOUNDARIES = (
    "2026-10-31T17:00:00Z",  # 2026-11-01 00:00 local: November, Q4
    "2026-10-31T16:59:59Z",  # 2026-10-31 23:59:59 local: October
    "2025-12-31T17:00:00Z",  # 2026-01-01 00:00 local: 2026
    "2025-12-31T16:59:59Z",  # 2025-12-31 23:59:59 local: 2025
    "2026-06-30T17:00:00Z",  # 2026-07-01 local: Q3
    "2026-11-22T17:00:00Z",  # Monday 2026-11-23 00:00 local: week 48
    "2026-11-22T16:59:59Z",  # Sunday 2026-11-22 local: week 47
)
FUTURE = ("2027-01-15T05:00:00Z", "2027-03-01T00:00:00Z")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Data:
    """The rows as inserted (dicts keyed by column)."""

    def __init__(self) -> None:
        self.stages: list[dict[str, Any]] = []
        self.customers: list[dict[str, Any]] = []
        self.deals: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []
        self.leads: list[dict[str, Any]] = []
        self.lead_changes: list[dict[str, Any]] = []
        self.interactions: list[dict[str, Any]] = []
        self.tickets: list[dict[str, Any]] = []
        self.nps: list[dict[str, Any]] = []
        self.settings: dict[str, str] = {}


def build(path: Path, seed: int, *, size: int = 1) -> Data:
    rng = random.Random(seed)
    data = Data()
    db = open_db(path, create=True)
    try:
        with db.write(["test", "seed", str(seed)]):
            _stages(db, data)
            _customers(db, data, rng, 30 * size)
            _deals(db, data, rng, 220 * size)
            _leads(db, data, rng, 70 * size)
            _interactions(db, data, rng, 160 * size)
            _tickets(db, data, rng, 70 * size)
            _nps(db, data, rng, 60 * size)
            if seed % 2:
                data.settings["at_risk_days"] = "45"
                db.execute("INSERT INTO settings (key, value) VALUES ('at_risk_days', '45')")
    finally:
        db.close()
    return data


def _moment(rng: random.Random, start: datetime = START, end: datetime = NOW) -> datetime:
    span = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(max(span, 1)))


def _insert(db: Any, table: str, row: dict[str, Any]) -> int:
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    return int(
        db.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(row.values())).lastrowid
    )


def _stages(db: Any, data: Data) -> None:
    # An added open stage between qualified and proposal, and a removed one.
    db.execute("UPDATE stages SET position = position + 1 WHERE kind = 'open' AND position >= 3")
    db.execute(
        "INSERT INTO stages (id, name, position, probability, kind) "
        "VALUES (7, 'demo', 3, 40, 'open')"
    )
    db.execute(
        "INSERT INTO stages (id, name, position, probability, kind, removed_at) "
        "VALUES (8, 'old', 9, 30, 'open', '2025-06-01T00:00:00Z')"
    )
    data.stages = [
        dict(zip(("id", "name", "position", "probability", "kind", "removed_at"), row, strict=True))
        for row in db.conn.execute(
            "SELECT id, name, position, probability, kind, removed_at FROM stages"
        )
    ]


def _customers(db: Any, data: Data, rng: random.Random, count: int) -> None:
    names = ("Nguyễn Văn An", "Trần Thị Bích", "Lê Đức Minh", "Anna Schmidt", "[bold]Chen[/]")
    for i in range(count):
        created = iso(_moment(rng, START, NOW - timedelta(days=1)))
        row = {
            "uid": str(uuid.UUID(int=rng.getrandbits(128))),
            "name": f"{rng.choice(names)} {i}",
            "fields": "{}",
            "created_at": created,
            "updated_at": created,
        }
        row["id"] = _insert(db, "customers", row)
        data.customers.append(row)


def _deals(db: Any, data: Data, rng: random.Random, count: int) -> None:
    by_position = sorted(
        (s for s in data.stages if s["kind"] == "open" and s["removed_at"] is None),
        key=lambda s: s["position"],
    )
    open_ids = [s["id"] for s in by_position]
    for i in range(count):
        created = _moment(rng, START, NOW - timedelta(hours=2))
        fate = rng.choices(("open", "won", "lost", "reopened"), weights=(40, 30, 25, 5))[0]
        path = [rng.choice(open_ids[:2])]
        if rng.random() < 0.1:
            path = [8, *path]  # went through the removed stage
        for sid in open_ids[open_ids.index(path[-1]) + 1 :]:
            if rng.random() < 0.55:
                path.append(sid)
        closed_at = None
        lost_reason = None
        if fate in ("won", "lost", "reopened"):
            path.append(5 if fate != "lost" else 6)
            roll = rng.random()
            if roll < 0.12:
                closed = parse(rng.choice(BOUNDARIES))
            elif roll < 0.15:
                closed = parse(rng.choice(FUTURE))
            else:
                closed = _moment(rng, created, NOW)
            if closed <= created:
                closed = created + timedelta(hours=1)
            closed_at = iso(closed)
            if fate == "lost":
                lost_reason = rng.choice(REASONS)
            if fate == "reopened":
                path.append(rng.choice(open_ids))
        # Times of the changes: creation first, the close at closed_at, others in between.
        last = parse(closed_at) if closed_at else NOW - timedelta(hours=1)
        times = sorted(_moment(rng, created, max(last, created + timedelta(seconds=2)))
                       for _ in path[1:])  # fmt: skip
        times = [created, *times]
        if closed_at and fate != "reopened":
            times[-1] = parse(closed_at)
        if fate == "reopened":
            times[-2] = parse(closed_at)
            times[-1] = max(parse(closed_at), times[-1]) + timedelta(hours=3)
            closed_at = None
        stage_id = path[-1]
        currency = rng.choice(CURRENCIES)
        amount = None if rng.random() < 0.1 else rng.randint(1, 500) * STEP_OF[currency]
        close_date = None
        if rng.random() < 0.85:
            close_date = (date(2026, 11, 23) + timedelta(days=rng.randint(-200, 400))).isoformat()
            if rng.random() < 0.05:
                close_date = "2026-11-23"  # today: not overdue
        row = {
            "uid": str(uuid.UUID(int=rng.getrandbits(128))),
            "title": f"deal {i}",
            "customer_id": rng.choice(data.customers)["id"],
            "stage_id": stage_id,
            "amount": amount,
            "currency": currency,
            "probability": rng.choice((None, None, None, 0, 33, 90, 100)),
            "close_date": close_date,
            "closed_at": closed_at,
            "lost_reason": lost_reason,
            "stage_changed_at": iso(times[-1]),
            "created_at": iso(created),
            "updated_at": iso(times[-1]),
        }
        row["id"] = _insert(db, "deals", row)
        data.deals.append(row)
        before = None
        for sid, at in zip(path, times, strict=True):
            change = {"deal_id": row["id"], "from_stage_id": before, "to_stage_id": sid,
                      "at": iso(at)}  # fmt: skip
            _insert(db, "deal_stage_changes", change)
            data.changes.append(change)
            before = sid


def _leads(db: Any, data: Data, rng: random.Random, count: int) -> None:
    order = ("new", "contacted", "qualified")
    for i in range(count):
        created = _moment(rng, START, NOW - timedelta(days=1))
        if rng.random() < 0.08:
            created = parse(rng.choice(BOUNDARIES))
        final = rng.choice(("new", "contacted", "qualified", "converted", "lost", "lost"))
        steps: list[str] = []
        if final in order:
            steps = list(order[1 : order.index(final) + 1])
            if rng.random() < 0.2 and steps:
                steps = steps[-1:]  # skipped a status
        else:
            steps = [s for s in order[1:] if rng.random() < 0.5] + [final]
        if rng.random() < 0.1 and final == "new":
            steps = ["contacted", "new"]  # moved back
        times = sorted(_moment(rng, created, NOW) for _ in steps)
        status = steps[-1] if steps else "new"
        changed = times[-1] if times else created
        row = {
            "uid": str(uuid.UUID(int=rng.getrandbits(128))),
            "name": f"lead {i}",
            "source": rng.choice(SOURCES),
            "status": status,
            "lost_reason": "no budget" if status == "lost" else None,
            "converted_at": iso(changed) if status == "converted" else None,
            "status_changed_at": iso(changed),
            "created_at": iso(created),
            "updated_at": iso(changed),
        }
        if rng.random() < 0.15 and status in ("qualified", "contacted"):
            # Imported at that status: no history row says so.
            steps, times = [], []
        row["id"] = _insert(db, "leads", row)
        data.leads.append(row)
        before = "new"
        for to, at in zip(steps, times, strict=True):
            change = {"lead_id": row["id"], "from_status": before, "to_status": to,
                      "reason": None, "at": iso(at)}  # fmt: skip
            _insert(db, "lead_status_changes", change)
            data.lead_changes.append(change)
            before = to


def _interactions(db: Any, data: Data, rng: random.Random, count: int) -> None:
    for i in range(count):
        happened = _moment(rng)
        if rng.random() < 0.08:
            happened = parse(rng.choice(BOUNDARIES))
        customer_id = lead_id = None
        if rng.random() < 0.8:
            customer_id = rng.choice(data.customers)["id"]
        else:
            lead_id = rng.choice(data.leads)["id"]
        row = {
            "uid": str(uuid.UUID(int=rng.getrandbits(128))),
            "customer_id": customer_id,
            "lead_id": lead_id,
            "type": rng.choice(("call", "email", "meeting", "note")),
            "body": f"note {i}",
            "happened_at": iso(happened),
            "created_at": iso(happened),
        }
        row["id"] = _insert(db, "interactions", row)
        data.interactions.append(row)


def _tickets(db: Any, data: Data, rng: random.Random, count: int) -> None:
    for i in range(count):
        created = _moment(rng)
        if rng.random() < 0.08:
            created = parse(rng.choice(BOUNDARIES))
        status = ("open", "pending", "resolved", "closed")[i % 4]
        resolved_at = closed_at = satisfaction = None
        if status in ("resolved", "closed"):
            resolved_at = iso(_moment(rng, created, NOW + timedelta(seconds=1)))
        if status == "closed":
            closed_at = resolved_at
            satisfaction = rng.choice((None, 1, 2, 3, 4, 5, 5))
        elif status == "open" and rng.random() < 0.2:
            satisfaction = rng.choice((1, 4))  # kept from before a reopen
        row = {
            "uid": str(uuid.UUID(int=rng.getrandbits(128))),
            "customer_id": rng.choice(data.customers)["id"],
            "subject": f"ticket {i}",
            "priority": rng.choice(PRIORITIES),
            "status": status,
            "tier": rng.choice((1, 1, 2)),
            "due_at": iso(created + timedelta(hours=rng.randint(1, 24 * 90))),
            "satisfaction": satisfaction,
            "resolved_at": resolved_at,
            "closed_at": closed_at,
            "reopened": rng.choice((0, 0, 0, 1, 2)),
            "created_at": iso(created),
            "updated_at": iso(created),
        }
        row["id"] = _insert(db, "tickets", row)
        data.tickets.append(row)


def _nps(db: Any, data: Data, rng: random.Random, count: int) -> None:
    """Recommendation scores; some customers answer again soon after (the same period or
    the next), some on a local period boundary."""
    for i in range(count):
        at = _moment(rng)
        if rng.random() < 0.1:
            at = parse(rng.choice(BOUNDARIES))
        customer_id = rng.choice(data.customers)["id"]
        if data.nps and rng.random() < 0.25:  # answers again, a few days later
            earlier = rng.choice(data.nps)
            customer_id = earlier["customer_id"]
            at = min(parse(earlier["at"]) + timedelta(days=rng.randint(0, 20)), NOW)
        row = {
            "customer_id": customer_id,
            "score": rng.randint(0, 10),
            "comment": rng.choice((None, f"comment {i}", "Rất hài lòng 👍")),
            "at": iso(at),
            "created_at": iso(at),
        }
        row["id"] = _insert(db, "nps_scores", row)
        data.nps.append(row)
