"""bench/run.py runs end to end on a small database (no timing assertions: machines are noisy)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
TINY_SALES = ["--sales-customers", "200", "--deals", "300", "--reminders", "120", "--tickets", "60"]

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
        for name in ("pipeline", "forecast", "sales", "leads", "customers", "tickets", "activity")
    ),
)
SALES_COMMANDS = (
    "crm deal pipeline -f json",
    "crm deal list --stage proposal --limit 50 -f tsv",
    "crm remind due",
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
    for measure in MEASURES + SALES_MEASURES:
        assert measure in result.stdout, measure
    for command in ("crm --version", "crm --help", "crm customer show", "python -c pass",
                    *SALES_COMMANDS):  # fmt: skip
        assert command in result.stdout, command
    assert "WARNING" not in result.stdout
    assert "Reproduce: " in result.stdout
    assert (tmp_path / "crm-2000.db").exists()
    assert (tmp_path / "sales-200-300-120-60.db").exists()


def test_bench_runs_the_sales_part_alone_from_its_cache(tmp_path: Path) -> None:
    first = bench("--only", "sales", *TINY_SALES, "--workdir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    again = bench("--only", "sales", *TINY_SALES, "--workdir", str(tmp_path), "--markdown")
    assert again.returncode == 0, again.stderr
    assert "using the cached database" in again.stderr
    for measure in SALES_MEASURES:
        assert measure in again.stdout, measure
    for command in SALES_COMMANDS:
        assert f"`{command}`" in again.stdout, command
    assert "WARNING" not in again.stdout
    for measure in ("customer list", "customer show", "import ratio"):  # no customer part
        assert measure not in again.stdout, measure
    assert not (tmp_path / "crm-2000.db").exists()
    assert "300 deals" in again.stdout
    assert "--only sales" in again.stdout.split("Reproduce: ", 1)[1]
