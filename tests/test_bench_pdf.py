"""bench/pdf.py runs end to end and reports every figure (no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

REPO = Path(__file__).resolve().parent.parent


def test_the_pdf_benchmark_reports_every_figure(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "pdf.py"), "--runs", "1", "--lines", "20",
         "--python", sys.executable, "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for measure in (
        "process: `python -c pass`", "process: `python -c 'import fpdf'`",
        "process: `python -c 'import jinja2'`", "process: `write a 20-line quote PDF`",
        "process: `write a 20-line quote HTML`", "`-X importtime`: fpdf (cumulative)",
        "`-X importtime`: jinja2 (cumulative)", "in-process: first PDF (imports, fonts)",
        "in-process: render and write the PDF again",
        "in-process: render and write the HTML again",
    ):  # fmt: skip
        assert measure in result.stdout, measure
    assert "Target: the 20-line quote PDF written by a whole process" in result.stdout
    assert "CPU ms" in result.stdout
    assert "Reproduce: python bench/pdf.py --runs 1 --lines 20" in result.stdout
    # What it timed is a real quote: 20 lines, the total on the last page.
    pages = PdfReader(tmp_path / "quote.pdf").pages
    text = "\n".join(page.extract_text() for page in pages)
    lines = text.splitlines()
    assert "Quote Q-2026-0007 v2" in lines
    assert [line.split()[0] for line in lines if line.startswith(("19 ", "20 "))] == ["19", "20"]
    assert any(line.startswith("Total ") and line.endswith(" VND") for line in lines)
    assert "Trần Thị Ánh" in (tmp_path / "quote.html").read_text(encoding="utf-8")
