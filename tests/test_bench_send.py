"""bench/send.py runs end to end and reports every figure (no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_sending_benchmark_reports_every_figure(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "send.py"), "--counts", "20,50",
         "--python", sys.executable, "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    rows = [line for line in out.splitlines() if line.startswith(("| 20 |", "| 50 |"))]
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 7
        assert all(float(c) > 0 for c in cells)
    assert "Target: throughput crm/raw >= 0.5 at 50 messages:" in out
    assert "Memory: peak RSS at 50 messages is" in out
    assert "crm said: Sent 50, skipped 0, failed 0 — campaign birthday 2026-11-23" in out
    assert "Reproduce: python bench/send.py --counts 20,50" in out
