"""bench/run.py runs end to end on a small database (no timing assertions: machines are noisy)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"

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


def test_bench_runs_and_reports_every_measure(tmp_path: Path) -> None:
    python = VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable)
    result = subprocess.run(
        [str(python), str(REPO / "bench" / "run.py"), "--customers", "2000", "--runs", "1",
         "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for measure in MEASURES:
        assert measure in result.stdout, measure
    for command in ("crm --version", "crm --help", "crm customer show", "python -c pass"):
        assert command in result.stdout, command
    assert "Reproduce: " in result.stdout
    assert (tmp_path / "crm-2000.db").exists()
