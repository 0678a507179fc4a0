"""The search index of interactions (schema 11) against the one before (schema 10, where each
customer's row held all its interactions' text), on the same data.

    python bench/search_index.py --old-src DIR [--history 1000,20000] [--customers 200000]
                                 [--interactions 1000000] [--workdir DIR]

``--old-src``: the ``src`` folder of the code before schema 11, for example
``git archive <commit> src | tar -x -C /tmp/old`` then ``--old-src /tmp/old/src``.

* **log**: one customer with N imported e-mails (1.7 KB Vietnamese bodies), then one
  ``crm customer log`` on it, timed as a process (median of 3).  Target: the same time at
  every N.
* **search**: a synthetic file of C customers and I interactions (short notes, a few words
  each): ``crm customer list --search`` for a common word, a rare word and two words split
  between the company and an interaction, with ``--limit 20`` and without; the query's own
  time in milliseconds (best of 3, in process, output not written).

A report, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEW_SRC = HERE.parent / "src"
T = "2026-01-01T00:00:00Z"
SYLLABLES = (
    "anh em chị bạn công ty đơn hàng giao nhận máy pha cà phê lọc nước bình giữ nhiệt giá "
    "khuyến mãi hợp đồng bảo hành sửa chữa thanh toán chuyển khoản hóa đơn gửi lại tuần sau "
    "cảm ơn trân trọng kính gửi xin chào hẹn gặp văn phòng Hà Nội Sài Gòn Đà Nẵng"
).split()
QUERIES = {
    "common word": "hàng",
    "rare word": "zircon",
    "field + interaction": "Kestrel zircon",
}

# -- workers (run in a process with the design's code first on sys.path) --------------------


def build_history(path: str, count: int) -> None:
    from crmcli import db as dbmod

    rng = random.Random(1)
    db = dbmod.open_db(Path(path), create=True)
    with db.write(["crm", "bench"]):
        db.execute(
            "INSERT INTO customers (uid, name, email, fields, created_at, updated_at) "
            "VALUES ('c1', 'Nguyễn Văn An', 'an@example.vn', '{}', ?, ?)",
            (T, T),
        )
        rows = []
        for n in range(count):
            body = " ".join(rng.choice(SYLLABLES) for _ in range(400))[:1700]
            rows.append((f"m{n}", body, f"<{n}@x>"))
        # One statement for them all, the index paused (the way mail import writes them).
        paused = db.scalar("SELECT 1 FROM sqlite_master WHERE name = 'search_paused'")
        old_design = db.scalar("SELECT 1 FROM sqlite_master WHERE name = 'interactions_fts'")
        if paused and not old_design:
            db.execute("INSERT INTO search_paused (id) VALUES (1)")
        db.executemany(
            "INSERT INTO interactions (uid, customer_id, type, body, happened_at, created_at, "
            "direction, message_key) VALUES (?, 1, 'email', ?, '2025-01-01T00:00:00Z', "
            "'2025-01-01T00:00:00Z', 'in', ?)",
            rows,
        )
        if paused and not old_design:
            from crmcli.core import search_index

            search_index.reindex(db, "customers", [1])  # type: ignore[attr-defined]
            db.execute("DELETE FROM search_paused")
    db.close()


def build_search(path: str, customers: int, interactions: int) -> None:
    from crmcli import db as dbmod

    rng = random.Random(2)
    db = dbmod.open_db(Path(path), create=True)
    with db.write(["crm", "bench"]):
        db.executemany(
            "INSERT INTO customers (id, uid, name, email, company, city, fields, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?)",
            (
                (
                    n,
                    f"c{n}",
                    f"{rng.choice(SYLLABLES)} {rng.choice(SYLLABLES)} {n}",
                    f"k{n}@example.vn",
                    "Kestrel" if n % 1000 == 0 else rng.choice(SYLLABLES),
                    rng.choice(SYLLABLES),
                    T,
                    T,
                )
                for n in range(1, customers + 1)
            ),
        )
        per = max(1, interactions // customers)
        db.executemany(
            "INSERT INTO interactions (uid, customer_id, type, body, happened_at, created_at) "
            "VALUES (?, ?, 'note', ?, ?, ?)",
            (
                (
                    f"i{n}",
                    n // per + 1,
                    " ".join(rng.choice(SYLLABLES) for _ in range(12))
                    # rare: in a few interactions, among them one of each Kestrel customer
                    + (
                        " zircon"
                        if n % 5003 == 0 or (n % per == 0 and n // per % 1000 == 999)
                        else ""
                    ),
                    T,
                    T,
                )
                for n in range(customers * per)
            ),
        )
    db.close()


def time_search(path: str) -> None:
    from crmcli import db as dbmod
    from crmcli.core import customers

    db = dbmod.open_db(Path(path), create=False)
    out = {}
    for name, text in QUERIES.items():
        for limit in (20, None):
            best, found = float("inf"), 0
            for _ in range(3):
                started = time.perf_counter()
                sql, params = customers.list_query(search=text, limit=limit)
                found = sum(1 for _ in db.conn.execute(sql, params))
                best = min(best, time.perf_counter() - started)
            out[f"{name}|{limit}"] = (round(best * 1000, 1), found)
    print(json.dumps(out))


# -- driver ---------------------------------------------------------------------------------


def worker(src: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, __file__, "--worker", *args]
    return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout


def crm_log(src: Path, path: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(src), "CRM_DB": str(path)}
    times = []
    for n in range(3):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "crmcli", "customer", "log", "1", f"gọi lại lần {n}"],
            env=env,
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - started)
    return sorted(times)[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs="+")
    parser.add_argument("--old-src", type=Path)
    parser.add_argument("--history", default="1000,20000")
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--only", choices=("log", "search"))
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "history":
            build_history(rest[0], int(rest[1]))
        elif kind == "search-build":
            build_search(rest[0], int(rest[1]), int(rest[2]))
        else:
            time_search(rest[0])
        return
    if args.old_src is None:
        parser.error("--old-src is required")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="search-index-"))
    work.mkdir(parents=True, exist_ok=True)
    designs = {"old (schema 10)": args.old_src.resolve(), "new (schema 11)": NEW_SRC}
    if args.only != "search":
        print("crm customer log on a customer with N e-mails (median of 3, seconds)")
        for label, src in designs.items():
            for n in (int(x) for x in args.history.split(",")):
                path = work / f"history-{label[:3]}-{n}.db"
                path.unlink(missing_ok=True)
                worker(src, "history", str(path), str(n))
                print(f"  {label:16} N={n:>6}: {crm_log(src, path):.2f} s", flush=True)
    if args.only != "log":
        print(
            f"customer list --search on {args.customers:,} customers, "
            f"{args.interactions:,} interactions (ms, best of 3; rows found)"
        )
        for label, src in designs.items():
            path = work / f"search-{label[:3]}.db"
            if not path.exists():
                started = time.perf_counter()
                worker(src, "search-build", str(path), str(args.customers), str(args.interactions))
                print(f"  {label}: built in {time.perf_counter() - started:.0f} s", flush=True)
            for key, (ms, found) in json.loads(worker(src, "time", str(path))).items():
                name, limit = key.split("|")
                shown = "--limit 20" if limit != "None" else "no limit"
                print(f"  {label:16} {name:20} {shown:10}: {ms:>8} ms  ({found} rows)")


if __name__ == "__main__":
    main()
