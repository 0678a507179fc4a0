"""Segments on many customers: ``crm segment show NAME -f ids`` against the same SQL in the
``sqlite3`` shell.

    python bench/segments.py [--customers N] [--runs R] [--markdown] [--keep DIR]

Builds a database with crm's own schema (``open_db(path, create=True)``), then inserts with
plain ``executemany`` inside crm's command bookkeeping, so every trigger fires as it would
for crm: the search index (``customers_fts``) and the audit rows of customers, tags,
consents, deals, tickets and interactions.  Per customer (seeded): a city (accents), a
country, a source, a birthday (a year for 70 %, none for 15 %), a custom field ``gender``,
0-3 tags, 0-4 interactions over two years, a deal for 30 % (half won; a quarter in EUR), a
ticket for 10 % (closed ones rated 1-5), e-mail consent for 60 %.

Then, per segment, the median wall time of R runs of ``crm segment show NAME -f ids`` (the
ids the send command gets) and of the ``sqlite3`` shell running the SQL crm builds for the
same criteria (``segments.members_query``, parameters inlined), with the clock pinned
(``CRM_NOW``) for both.  Both must print the same ids.  ``ratio``: crm ÷ shell (target
≤ 1.5); ``overhead``: (crm − ``crm --version``) ÷ max(shell, 10 ms), the project's query
overhead measure (bench/run.py).
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

NOW = "2026-06-15T10:00:00Z"
NOW_TS = calendar.timegm(time.strptime(NOW, "%Y-%m-%dT%H:%M:%SZ"))
DAY = 86_400
CITIES = ("Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Huế", "Cần Thơ", "Berlin", "München", "Paris")
COUNTRIES = ("Việt Nam", "Việt Nam", "Việt Nam", "Deutschland", "France")
SOURCES = ("web", "referral", "event", "hội chợ", None)
CURRENCIES = ("USD", "USD", "USD", "EUR")
TAGS = ("vip", "newsletter", "b2b", "wholesale", "lapsed", "partner")
SEGMENTS: dict[str, list[str]] = {
    "vip-hanoi": ["--tag", "vip", "--city", "ha noi"],
    "big-buyers": ["--won-min", "5000", "--won-deals-min", "1"],
    "lapsed-open": ["--contacted-before", "180 days ago", "--open-deals"],
    "dec-30s": ["--age", "30-39", "--birthday-month", "12"],
    "happy-optin": ["--consent", "email=yes", "--satisfaction-min", "4"],
    "not-b2b-de": [
        "--any-tag",
        "newsletter",
        "--any-tag",
        "partner",
        "--not-tag",
        "b2b",
        "--city",
        "berlin",
    ],  # fmt: skip
    "champions": ["--recency-min", "4", "--frequency-min", "4", "--monetary-min", "4"],
}


def iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def build(path: Path, customers: int, seed: int = 16) -> dict[str, Any]:
    """The database at ``path``: ``customers`` customers and their rows (see the module)."""
    from crmcli.db import open_db

    open_db(path, create=True).close()
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    rng = random.Random(seed)
    stages = dict(conn.execute("SELECT kind, min(id) FROM stages GROUP BY kind"))
    cust, tags, inter, deals, tickets, consents = [], [], [], [], [], []
    for cid in range(1, customers + 1):
        made = NOW_TS - rng.randrange(3 * 365) * DAY
        roll = rng.random()
        if roll < 0.7:
            birthday = (
                f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            )
        elif roll < 0.85:
            birthday = f"--{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        else:
            birthday = None
        fields = json.dumps({"gender": rng.choice("fm")})
        cust.append((cid, str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                     f"Customer {cid}", f"c{cid}@example.com", rng.choice(CITIES),
                     rng.choice(COUNTRIES), birthday, rng.choice(SOURCES), fields, iso(made),
                     iso(made)))  # fmt: skip
        for tag in rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2, 3))):
            tags.append((cid, tag))
        for _ in range(rng.choice((0, 1, 1, 2, 4))):
            at = NOW_TS - rng.randrange(730) * DAY - rng.randrange(DAY)
            inter.append((str(uuid.UUID(int=rng.getrandbits(128), version=4)), cid,
                          rng.choice(("call", "email", "meeting", "note")), "talked",
                          iso(at), iso(at)))  # fmt: skip
        if rng.random() < 0.3:
            kind = rng.choice(("open", "won", "won", "lost"))
            closed = iso(NOW_TS - rng.randrange(500) * DAY) if kind != "open" else None
            deals.append((str(uuid.UUID(int=rng.getrandbits(128), version=4)), "Deal", cid,
                          stages[kind], rng.randrange(100, 20_000) * 100,
                          rng.choice(CURRENCIES), closed,
                          iso(made), iso(made), iso(made)))  # fmt: skip
        if rng.random() < 0.1:
            closed = rng.random() < 0.7
            tickets.append((str(uuid.UUID(int=rng.getrandbits(128), version=4)), cid, "Help",
                            "normal", "closed" if closed else "open", 1, iso(made + DAY),
                            rng.randint(1, 5) if closed else None, iso(made + DAY) if closed
                            else None, iso(made + DAY) if closed else None, 0, iso(made),
                            iso(made)))  # fmt: skip
        if rng.random() < 0.6:
            consents.append((cid, "email", rng.choice(("yes", "yes", "no")), "form", iso(made),
                             iso(made)))  # fmt: skip
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    cur = conn.execute("INSERT INTO commands (at, argv) VALUES (?, ?)",
                       (NOW, json.dumps(["bench/segments.py"])))  # fmt: skip
    conn.execute("INSERT INTO active_command (command_id) VALUES (?)", (cur.lastrowid,))
    conn.executemany(
        "INSERT INTO customers (id, uid, name, email, city, country, birthday, source, fields, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        cust,
    )
    customers_s = time.perf_counter() - started
    conn.executemany("INSERT INTO customer_tags (customer_id, tag) VALUES (?, ?)", tags)
    conn.executemany(
        "INSERT INTO interactions (uid, customer_id, type, body, happened_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        inter,
    )
    conn.executemany(
        "INSERT INTO deals (uid, title, customer_id, stage_id, amount, currency, closed_at, "
        "stage_changed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        deals,
    )
    conn.executemany(
        "INSERT INTO tickets (uid, customer_id, subject, priority, status, tier, due_at, "
        "satisfaction, resolved_at, closed_at, reopened, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        tickets,
    )
    conn.executemany(
        "INSERT INTO consents (customer_id, channel, status, source, at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        consents,
    )
    conn.execute("DELETE FROM active_command")
    conn.execute("COMMIT")
    total_s = time.perf_counter() - started
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    return {
        "customers": customers,
        "tags": len(tags),
        "interactions": len(inter),
        "deals": len(deals),
        "tickets": len(tickets),
        "consents": len(consents),
        "customers_s": customers_s,
        "insert_s": total_s,
    }


def shell_sql(path: Path, criteria: dict[str, Any]) -> str:
    """The SQL crm runs for ``criteria``, parameters inlined, for the sqlite3 shell."""
    from crmcli.core.outreach import segments
    from crmcli.db import open_db
    from run import inline_params  # bench/run.py, beside this script

    db = open_db(path, create=False)
    try:
        sql, params = segments.members_query(db, criteria)
    finally:
        db.close()
    return inline_params(sql, params) + ";"


def wall(argv: list[str], env: dict[str, str]) -> tuple[float, bytes]:
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    took = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed: {result.stderr.decode()}")
    return took, result.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--keep", type=Path, help="Build (or reuse) the database in DIR.")
    parser.add_argument("--crm", default=str(Path(sys.executable).parent / "crm"))
    args = parser.parse_args(argv)
    os.environ["CRM_NOW"] = NOW  # the shell's SQL is built with the same pinned clock
    # Time crm as a user runs it: cached bytecode (the warm-up writes it), buffered output.
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONDEVMODE"):
        os.environ.pop(name, None)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="crm-segments-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"segments-{args.customers}.db"
    meta_path = path.with_suffix(".json")
    if not (path.exists() and meta_path.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        print(f"building {args.customers:,} customers …", file=sys.stderr)
        meta = build(path, args.customers)
        meta_path.write_text(json.dumps(meta))
    meta = json.loads(meta_path.read_text())
    env = {**os.environ, "CRM_DB": str(path), "CRM_NOW": NOW}
    crm = args.crm
    from crmcli.core.outreach import segments
    from crmcli.db import open_db

    db = open_db(path, create=False)
    known = {row[0] for row in db.conn.execute("SELECT name FROM segments")}
    db.close()
    for name, options in SEGMENTS.items():
        if name not in known:
            subprocess.run([crm, "segment", "add", name, *options], env=env, check=True,
                           capture_output=True)  # fmt: skip
    rows = []
    version = statistics.median(wall([crm, "--version"], env)[0] for _ in range(args.runs))
    for name in SEGMENTS:
        db = open_db(path, create=False)
        criteria = segments.get(db, name)["criteria"]
        db.close()
        sql = shell_sql(path, criteria)
        crm_argv = [crm, "segment", "show", name, "-f", "ids"]
        shell_argv = ["sqlite3", "-readonly", str(path), sql]
        _, crm_out = wall(crm_argv, env)  # warm-up, and the ids to compare
        _, shell_out = wall(shell_argv, env)
        if crm_out.split() != shell_out.split():
            raise SystemExit(f"{name}: crm and the sqlite3 shell list different customers")
        crm_t, shell_t = [], []
        for _ in range(args.runs):
            crm_t.append(wall(crm_argv, env)[0])
            shell_t.append(wall(shell_argv, env)[0])
        c, s = statistics.median(crm_t), statistics.median(shell_t)
        rows.append({
            "segment": name, "criteria": " ".join(options_text(SEGMENTS[name])),
            "members": len(crm_out.split()), "crm_ms": c * 1000, "sqlite3_ms": s * 1000,
            "ratio": c / s, "overhead": (c - version) / max(s, 0.010),
        })  # fmt: skip
    report(rows, meta, version, args.markdown)
    return 0 if all(r["ratio"] <= 1.5 or r["overhead"] <= 1.5 for r in rows) else 1


def options_text(options: list[str]) -> list[str]:
    return [f'"{o}"' if " " in o else o for o in options]


def report(rows: list[dict[str, Any]], meta: dict[str, Any], version: float, md: bool) -> None:
    head = ("segment", "criteria", "members", "crm ms", "sqlite3 ms", "ratio", "overhead")
    lines = []
    for r in rows:
        lines.append((r["segment"], f"`{r['criteria']}`", f"{r['members']:,}",
                      f"{r['crm_ms']:.0f}", f"{r['sqlite3_ms']:.0f}", f"{r['ratio']:.2f}",
                      f"{r['overhead']:.2f}"))  # fmt: skip
    if md:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        print("\t".join(head))
        for line in lines:
            print("\t".join(line))
    print(
        f"\n{meta['customers']:,} customers, {meta['tags']:,} tags, "
        f"{meta['interactions']:,} interactions, {meta['deals']:,} deals, "
        f"{meta['tickets']:,} tickets, {meta['consents']:,} consents; inserted through the "
        f"triggers in {meta['insert_s']:.1f} s (customers with their search index and audit "
        f"rows: {meta['customers_s']:.1f} s); crm --version {version * 1000:.0f} ms."
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
