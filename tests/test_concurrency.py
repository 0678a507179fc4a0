"""Many `crm` processes writing one database at once: nothing lost, nothing locked.

Four writer processes each run 100 `crm` write commands one after the other (customer add,
log, edit; deal add; ticket open; remind add) while a reader runs `crm remind due` and
`crm customer list` in a loop.  Every write is a real process of the installed `crm`, so
this is what scripts and cron jobs sharing one file do.  Afterwards every write reported
must be in the database, applied, and the file must be sound.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import crm_bin

WRITERS = 4
ROUNDS = 10  # each round is 10 commands: 100 per writer
SHARED = 1  # the customer every writer logs against and tags

# A driver: runs its commands one after the other and records what each did.  Kept lean
# (standard library only) so the time goes to `crm`, not to the driver.
DRIVER = r"""
import json, subprocess, sys

crm, role, index, out, stop = sys.argv[1:6]
index = int(index)
records = []


def run(*args):
    done = subprocess.run(
        [crm, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )
    records.append(
        {"args": list(args), "rc": done.returncode, "out": done.stdout, "err": done.stderr}
    )
    return done.stdout.strip()


if role == "writer":
    shared = "1"
    for i in range(ROUNDS):
        tag = f"w{index}-r{i}"
        mine = run("customer", "add", f"Nguyễn Văn {tag} 🎉", "--tag", f"writer{index}")
        run("customer", "log", shared, "--type", "call", f"call {tag} [bold]x[/]")
        run("customer", "log", mine, "--type", "email", f"mail {tag}")
        run("customer", "edit", shared, "--add-tag", tag)
        run("customer", "edit", mine, "--company", f"Công ty {tag}", "--add-tag", "edited")
        run("deal", "add", f"deal {tag}", "--customer", mine, "--amount", "1.200.000 VND")
        run("ticket", "open", mine, f"ticket {tag}", "--priority", "high")
        run("remind", "add", f"remind {tag}", "--at", "today 8am", "--customer", mine)
        run("customer", "log", mine, f"meeting {tag}", "--type", "meeting", "--next", "today 9am")
        run("deal", "add", f"shared deal {tag}", "--customer", shared, "--amount", "$99")
else:
    import os
    while not os.path.exists(stop):
        run("remind", "due", "-f", "tsv")
        run("customer", "list", "-f", "tsv")
    run("remind", "due", "-f", "tsv")  # once more after the last write

with open(out, "w", encoding="utf-8") as fh:
    json.dump(records, fh, ensure_ascii=False)
""".replace("ROUNDS", str(ROUNDS))


def _env(db: Path) -> dict[str, str]:
    env = dict(os.environ)  # the autouse fixture's CRM_NOW, TZ, XDG_DATA_HOME
    env["CRM_DB"] = str(db)
    env.pop("CRM_DEBUG", None)
    return env


def _records(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8")))


def _ids(records: list[dict[str, Any]], *command: str) -> list[int]:
    """The ids printed by the records of ``command`` (e.g. "customer", "add")."""
    found = [r for r in records if tuple(r["args"][: len(command)]) == command]
    return [int(r["out"].strip()) for r in found]


def test_four_writers_and_a_reader_lose_nothing_and_never_lock(
    db_path: Path, tmp_path: Path
) -> None:
    """4 processes x 100 writes at once, and `remind due` / `customer list` all along."""
    crm = crm_bin()
    env = _env(db_path)
    setup = subprocess.run(
        [crm, "customer", "add", "Trần Thị Chung", "--email", "chung@example.vn"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert setup.returncode == 0 and setup.stdout.strip() == str(SHARED), setup.stderr

    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    stop = tmp_path / "stop"
    outs = [tmp_path / f"writer{k}.json" for k in range(WRITERS)]
    reader_out = tmp_path / "reader.json"

    def start(role: str, index: int, out: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, str(driver), crm, role, str(index), str(out), str(stop)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    reader = start("reader", 0, reader_out)
    writers = [start("writer", k, out) for k, out in enumerate(outs)]
    try:
        for proc in writers:
            _, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err.decode()
    finally:
        stop.touch()
        _, reader_err = reader.communicate(timeout=120)
        for proc in writers:  # only on a failure above: do not leave them running
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert reader.returncode == 0, reader_err.decode()

    per_writer = [_records(out) for out in outs]
    writes = [r for records in per_writer for r in records]
    reads = _records(reader_out)

    # Every command succeeded, said nothing about locks, and the reader never failed.
    assert len(writes) == WRITERS * ROUNDS * 10
    failed = [(r["args"], r["rc"], r["err"]) for r in writes if r["rc"] != 0]
    assert failed == []
    assert not [r for r in writes + reads if "locked" in r["err"] or "busy" in r["err"]]
    assert not [r for r in writes + reads if "error" in r["err"] or "Traceback" in r["err"]]
    assert len(reads) >= 1
    assert [(r["args"], r["rc"], r["err"]) for r in reads if r["rc"] != 0] == []
    for r in reads:
        if r["args"][:2] == ["customer", "list"]:
            assert r["out"].startswith("id\tuid\tname\t")
            assert "Trần Thị Chung" in r["out"]

    conn = sqlite3.connect(db_path)
    try:
        _check_everything_is_there(conn, per_writer)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def _check_everything_is_there(
    conn: sqlite3.Connection, per_writer: list[list[dict[str, Any]]]
) -> None:
    def rows(sql: str, *params: object) -> list[tuple[Any, ...]]:
        return conn.execute(sql, params).fetchall()

    all_writes = [r for records in per_writer for r in records]
    customer_ids = _ids(all_writes, "customer", "add")
    interaction_ids = _ids(all_writes, "customer", "log")
    deal_ids = _ids(all_writes, "deal", "add")
    ticket_ids = _ids(all_writes, "ticket", "open")
    remind_ids = _ids(all_writes, "remind", "add")
    rounds = WRITERS * ROUNDS

    # Every id printed is distinct and names a row; nothing else was added.
    assert len(set(customer_ids)) == len(customer_ids) == rounds
    assert sorted(customer_ids) == [
        r[0] for r in rows("SELECT id FROM customers WHERE id > 1 ORDER BY id")
    ]
    assert len(set(interaction_ids)) == len(interaction_ids) == 3 * rounds
    assert sorted(interaction_ids) == [
        r[0] for r in rows("SELECT id FROM interactions ORDER BY id")
    ]
    assert len(set(deal_ids)) == len(deal_ids) == 2 * rounds
    assert sorted(deal_ids) == [r[0] for r in rows("SELECT id FROM deals ORDER BY id")]
    assert len(set(ticket_ids)) == len(ticket_ids) == rounds
    assert sorted(ticket_ids) == [r[0] for r in rows("SELECT id FROM tickets ORDER BY id")]
    # remind add prints its id; customer log --next adds one more reminder each.
    assert len(set(remind_ids)) == len(remind_ids) == rounds
    assert rows("SELECT count(*) FROM reminders") == [(2 * rounds,)]
    assert set(remind_ids) <= {r[0] for r in rows("SELECT id FROM reminders")}

    # Each printed id names the record its command made.
    for r in all_writes:
        args, new_id = r["args"], int(r["out"].strip() or 0)
        if args[:2] == ["customer", "log"]:
            ((customer_id, body),) = rows(
                "SELECT customer_id, body FROM interactions WHERE id = ?", new_id
            )
            assert customer_id == int(args[2]) and body in args
        elif args[:2] == ["deal", "add"]:
            assert rows("SELECT title FROM deals WHERE id = ?", new_id) == [(args[2],)]
        elif args[:2] == ["ticket", "open"]:
            assert rows("SELECT subject FROM tickets WHERE id = ?", new_id) == [(args[3],)]
        elif args[:2] == ["remind", "add"]:
            assert rows("SELECT text FROM reminders WHERE id = ?", new_id) == [(args[2],)]

    shared_tags = {t for (t,) in rows("SELECT tag FROM customer_tags WHERE customer_id = 1")}
    for k, records in enumerate(per_writer):
        mine = _ids(records, "customer", "add")
        for i, cid in enumerate(mine):
            tag = f"w{k}-r{i}"
            # The shared customer got every writer's tag and call.
            assert tag in shared_tags
            assert rows(
                "SELECT type FROM interactions WHERE customer_id = 1 AND body = ?",
                f"call {tag} [bold]x[/]",
            ) == [("call",)]
            assert rows(
                "SELECT count(*) FROM deals WHERE customer_id = 1 AND title = ?",
                f"shared deal {tag}",
            ) == [(1,)]
            # The writer's own customer: as added, then edited, with its records.
            assert rows("SELECT name, company FROM customers WHERE id = ?", cid) == [
                (f"Nguyễn Văn {tag} 🎉", f"Công ty {tag}")
            ]
            tags = {t for (t,) in rows("SELECT tag FROM customer_tags WHERE customer_id = ?", cid)}
            assert tags == {f"writer{k}", "edited"}
            assert sorted(
                rows("SELECT type, body FROM interactions WHERE customer_id = ?", cid)
            ) == [
                ("email", f"mail {tag}"),
                ("meeting", f"meeting {tag}"),
            ]
            assert rows("SELECT title, amount, currency FROM deals WHERE customer_id = ?", cid) == [
                (f"deal {tag}", 1_200_000, "VND")
            ]
            assert rows("SELECT subject, priority FROM tickets WHERE customer_id = ?", cid) == [
                (f"ticket {tag}", "high")
            ]
            assert sorted(
                r[0] for r in rows("SELECT text FROM reminders WHERE customer_id = ?", cid)
            ) == [
                f"Follow up: meeting {tag}",
                f"remind {tag}",
            ]
    assert len(shared_tags) == rounds
    # The search index follows every customer, the audit trail every command.
    assert rows("SELECT count(*) FROM customers_fts") == rows("SELECT count(*) FROM customers")
    assert rows("SELECT count(*) FROM commands") == [(1 + len(all_writes),)]
