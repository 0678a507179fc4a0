"""``bench/segments.py`` builds its database, times every segment and checks crm and the
sqlite3 shell list the same customers (at a small size)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_runs_at_small_size(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "segments.py"), "--customers", "300", "--runs",
         "1", "--markdown", "--keep", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr  # 1: a ratio above target (tiny data)
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 7 and "300 customers" in result.stdout
