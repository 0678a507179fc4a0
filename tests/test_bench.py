"""bench/run.py runs end to end on a small database (no timing assertions: machines are noisy)."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
TINY_SALES = [
    "--sales-customers", "200", "--deals", "300", "--interactions", "2000", "--reminders", "120",
    "--tickets", "60", "--invoices", "150", "--payments", "300", "--edit-ids", "50",
]  # fmt: skip
SALES_DB = "sales-200-300-2000-120-60-150-300"

MEASURES = (
    "floor: interpreter start-up",
    "start-up ratio",
    "floor: sqlite3 shell, list (common word) SQL",
    "floor: sqlite3 shell, list (rare word) SQL",
    "floor: sqlite3 shell, show SQL",
    "query overhead vs crm --version",
    "floor: raw insert into customers (triggers, indexes, search)",
    "floor: raw insert into a bare table",
    "import ratio (crm:",
    "import ratio vs bare table",
    "peak RSS, import of 1,000 rows",
    "peak RSS, import of 2,000 rows",
    "memory ratio (2,000 ÷ 1,000 rows)",
    "build import (2,000 rows)",
)
SALES_MEASURES = (
    "deals: floor: interpreter start-up",
    "deals: floor: crm --version",
    "deals: floor: sqlite3 shell, pipeline SQL",
    "deals: floor: sqlite3 shell, list --stage proposal SQL",
    "deals: start-up ratio",
    "deals: query overhead vs crm --version",
    "due: floor: sqlite3 shell, nothing due",
    "due: start-up ratio, nothing due",
    "due: query overhead, nothing due",
    "due: query overhead, a busy day",
    *(
        f"report: query overhead, {name}"
        for name in (
            "pipeline",
            "forecast",
            "sales",
            "leads",
            "customers",
            "tickets",
            "activity",
            "receivables",
        )
    ),
    "scripting: floor: interpreter start-up",
    "scripting: start-up ratio",
    "scripting: floor: sqlite3 shell, search 'nguyen' SQL",
    "scripting: floor: sqlite3 shell, show SQL",
    "scripting: query overhead vs crm --version",
    "import (sales db): floor: raw insert into customers",
    "import (sales db): import ratio (crm:",
    "batch edit: floor: 1 separate run, per id",
    "batch edit: 50 ids from stdin, per id",
    "batch edit: speed-up per id (separate ÷ batch)",
)
EVERYDAY_MEASURES = ("everyday: start-up ratio, nothing due", "everyday: start-up ratio")
SALES_COMMANDS = (
    "crm deal pipeline -f json",
    "crm deal list --stage proposal --limit 50 -f tsv",
    "crm remind due",
    "crm --help",
    "crm customer list -f tsv --limit 20",
    "crm customer list --search nguyen --limit 20 -f tsv",
    "crm customer edit ID --add-tag bench-single",
    "crm customer edit - --add-tag bench-batch < 50-ids",
)


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    python = VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable)
    return subprocess.run(
        [str(python), str(REPO / "bench" / "run.py"), "--runs", "1", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_bench_runs_and_reports_every_measure(tmp_path: Path) -> None:
    result = bench("--customers", "2000", *TINY_SALES, "--workdir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for measure in MEASURES + SALES_MEASURES + EVERYDAY_MEASURES:
        assert measure in result.stdout, measure
    for command in ("crm --version", "crm --help", "crm customer show", "python -c pass",
                    *SALES_COMMANDS):  # fmt: skip
        assert command in result.stdout, command
    assert "WARNING" not in result.stdout
    assert "Reproduce: " in result.stdout
    assert (tmp_path / "crm-2000.db").exists()
    assert (tmp_path / f"{SALES_DB}.db").exists()
    assert "every edited customer carries its tag" in result.stdout
    assert not list((tmp_path / "scratch").glob("sales-*.db"))  # the copies are removed


def test_bench_runs_the_sales_part_alone_from_its_cache(tmp_path: Path) -> None:
    tiny = [*TINY_SALES, "--import-rows", "300", "--import-runs", "1"]
    first = bench("--only", "sales", *tiny, "--workdir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    again = bench("--only", "sales", *tiny, "--workdir", str(tmp_path), "--markdown")
    assert again.returncode == 0, again.stderr
    assert "using the cached database" in again.stderr
    for measure in SALES_MEASURES + EVERYDAY_MEASURES:
        assert measure in again.stdout, measure
    for command in SALES_COMMANDS:
        assert f"`{command}`" in again.stdout, command
    assert "WARNING" not in again.stdout
    for measure in ("list (common word)", "kumquat", "import ratio vs bare table", "peak RSS"):
        assert measure not in again.stdout, measure  # no customer part
    assert not (tmp_path / "crm-2000.db").exists()
    assert "300 deals" in again.stdout
    assert "2,000 interactions" in again.stdout
    reproduce = again.stdout.split("Reproduce: ", 1)[1]
    for option in ("--only sales", "--interactions 2000", "--import-runs 1", "--edit-ids 50"):
        assert option in reproduce, option
    # The interactions went through the triggers: an audit row each, and the search index
    # holds their text (the build checks every customer; here one word, independently).
    meta = json.loads((tmp_path / f"{SALES_DB}.json").read_text())
    assert meta["interactions"] == 2000
    conn = sqlite3.connect(tmp_path / f"{SALES_DB}.db")
    try:
        busiest = meta["show"]["id"]
        logged = conn.execute(
            "SELECT count(*) FROM interactions WHERE customer_id = ?", (busiest,)
        ).fetchone()[0]
        assert logged == meta["show"]["interactions"] > 1
        audited = conn.execute(
            "SELECT count(*) FROM audit WHERE table_name = 'interactions' AND action = 'insert'"
        ).fetchone()[0]
        assert audited == conn.execute("SELECT count(*) FROM interactions").fetchone()[0]
        body = conn.execute(
            "SELECT body FROM interactions WHERE customer_id = ? ORDER BY id DESC", (busiest,)
        ).fetchone()[0]
        word = max(body.split(), key=len).strip(",.:;'").lower()
        found = conn.execute(
            "SELECT x.customer_id FROM interactions x WHERE x.id IN "
            "(SELECT rowid FROM interactions_fts WHERE interactions_fts MATCH ?)",
            (f'"{word}"',),
        ).fetchall()
        assert (busiest,) in found, word
    finally:
        conn.close()


def load_bench() -> ModuleType:
    if str(REPO / "bench") not in sys.path:  # run.py imports its sibling modules
        sys.path.insert(0, str(REPO / "bench"))
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_interactions_are_written_in_rounds_of_ascending_customers() -> None:
    bench_run = load_bench()
    rows = list(bench_run.sales_interactions(50, 400, seed=1, now=1_800_000_000))
    assert len(rows) == 400
    assert rows[0][4] < rows[-1][4] <= "2027-01-15T08:00:00Z"  # in time order, up to now
    assert all(r[4] <= r[5] for r in rows)  # logged at or after it happened
    ordered = bench_run.fts_order(rows)
    assert sorted(ordered) == sorted(rows)
    # Each round: customers strictly ascending; a customer's rows keep their order.
    customers = [r[1] for r in ordered]
    descents = sum(1 for a, b in zip(customers, customers[1:], strict=False) if b <= a)
    rounds = max(customers.count(c) for c in set(customers))
    assert descents == rounds - 1
    for customer in set(customers):
        mine = [r for r in rows if r[1] == customer]
        assert [r for r in ordered if r[1] == customer] == mine


def test_the_invoices_and_payments_of_the_sales_database_add_up() -> None:
    """Exactly the payments asked for; a paid invoice's payments add up to it and it is paid
    at its last one; an open one is owed something; void ones have none."""
    load_bench()
    import receivables  # bench/receivables.py

    won = [(n, 1_000_000 * n, ("VND", "USD")[n % 2], 1_700_000_000 + n * 86_400)
           for n in range(1, 40)]  # fmt: skip
    invoices, payments = receivables.receivable_rows(won, 120, 250, seed=3, now=1_800_000_000)
    assert len(invoices) == 120 and len(payments) == 250
    paid: dict[int, list[tuple]] = {}
    for p in payments:
        paid.setdefault(p[1], []).append(p)
    for inv in invoices:
        mine = paid.get(inv[0], [])
        total = sum(p[2] for p in mine)
        assert all(p[2] > 0 and p[3] >= inv[6] for p in mine)  # paid on or after issue
        if inv[8] == "paid":
            assert total == inv[4] and inv[11] == max(p[3] for p in mine)
        elif inv[8] == "open":
            assert total < inv[4]
        else:
            assert inv[8] == "void" and not mine
    assert {inv[8] for inv in invoices} >= {"open", "paid"}
