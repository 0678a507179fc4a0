"""The quote document's cost: a 20-line quote rendered and written, in-process and as a process.

    python bench/pdf.py [--runs R] [--lines N] [--markdown] [--python PATH] [--workdir DIR]

Measured in one run, on the same interpreter (default: the project's .venv, else this one):

* the floor, ``python -c pass``;
* the import of fpdf2 and of Jinja2 alone (``python -c "import fpdf"``), as wall time and as
  ``python -X importtime`` reports it (the cumulative time of the top-level module);
* the whole job as a process: ``python -c`` that imports crmcli's writer and writes the quote
  as PDF, then as HTML, into a file (what ``crm quote pdf`` adds to crm's own start-up);
* in-process, in one interpreter: the first PDF (imports and font loading included), then
  the median of R more renders and writes of the PDF and of the HTML.

Processes run R times after one warm-up, interleaved; medians with min–max spreads, and the
median CPU time (user + system) of each, which a machine busy with other work moves less.  A report,
not a test: it exits 0 when the target (the PDF process well under a second) is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
TARGET_S = 1.0

PRODUCTS = (
    "Bàn phím cơ Akko 3098B Multi-modes, switch Jelly Pink, keycap PBT Double-shot",
    "Chuột không dây Logitech MX Master 3S",
    "Màn hình Dell UltraSharp U2723QE 27 inch 4K",
    "Lắp đặt và cấu hình tại văn phòng khách hàng",
    "Cáp HDMI 2.1 dài 2 m",
)


def sample(lines: int = 20) -> dict[str, Any]:
    """A quote of ``lines`` lines, as crmcli's quote builder makes it."""
    from crmcli.core.money.totals import line_amounts, totals

    items = []
    for n in range(1, lines + 1):
        item: dict[str, Any] = {
            "position": n, "product": PRODUCTS[n % len(PRODUCTS)], "unit": "cái",
            "quantity": 1 + n % 7, "unit_price": 150_000 * (1 + n % 9),
            "discount_bp": 500 if n % 3 == 0 else None,
            "discount_amount": 50_000 if n % 5 == 0 else None,
            "tax_bp": (1000, 800, None)[n % 3],
            "supplier": "Công ty TNHH Ánh Dương" if n % 2 else None,
            "delivery_date": f"2026-12-{10 + n % 18:02d}" if n % 2 else None,
        }  # fmt: skip
        _, item["discount"], item["net"] = line_amounts(item)
        items.append(item)
    return {
        "number": "Q-2026-0007", "version": 2, "label": "Q-2026-0007 v2",
        "issued_on": "2026-12-05", "valid_until": "2027-01-04", "status": "open",
        "note": "Giao hàng trong 7 ngày làm việc.\nBảo hành 12 tháng tại nơi sử dụng.",
        "currency": "VND",
        "seller": {
            "name": "Công ty TNHH Phần mềm Sao Mai", "address": "12 Nguyễn Huệ\nQuận 1, TP. HCM",
            "tax_id": "0312345678", "bank": "Vietcombank 0071001234567",
            "email": "ban@saomai.vn", "phone": "+84 28 3822 1234", "logo": None,
        },
        "customer": {
            "name": "Trần Thị Ánh", "company": "Công ty TNHH Ánh Dương",
            "email": "anh@anhduong.vn", "phone": "+84 912 345 678",
            "address": "45 Lê Lợi\nĐà Nẵng",
        },
        "deal": {"id": 12, "title": "Thiết bị cho văn phòng mới"},
        "items": items,
        "totals": totals(items),
    }  # fmt: skip


def wall(argv: Sequence[str]) -> tuple[float, float]:
    """The wall time of a process and its CPU time (user + system): on a machine shared with
    other work the CPU time moves less."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:2])} ... failed:\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def writer_code(doc: dict[str, Any], out: Path, fmt: str) -> str:
    return (
        "from pathlib import Path\n"
        "from crmcli.core.money.quote_doc import write\n"
        f"write({doc!r}, Path({str(out)!r}), {fmt!r}, force=True)\n"
    )


def importtime(python: str, module: str) -> float:
    """The cumulative import time of ``module`` as ``-X importtime`` reports it, seconds."""
    result = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True
    )
    for line in result.stderr.splitlines():
        parts = [part.strip() for part in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1e6
    raise SystemExit(f"no import time for {module}:\n{result.stderr}")


IN_PROCESS = """
import json, statistics, sys, time
from pathlib import Path
start = time.perf_counter()
from crmcli.core.money import quote_doc
doc = {doc!r}
quote_doc.write(doc, Path({pdf!r}), "pdf", force=True)
first = time.perf_counter() - start
pdf, html = [], []
for _ in range({runs}):
    t = time.perf_counter(); quote_doc.write(doc, Path({pdf!r}), "pdf", force=True)
    pdf.append(time.perf_counter() - t)
    t = time.perf_counter(); quote_doc.write(doc, Path({html!r}), "html", force=True)
    html.append(time.perf_counter() - t)
print(json.dumps({{"first": first, "pdf": pdf, "html": html}}))
"""


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--python", default=str(VENV_PYTHON if VENV_PYTHON.exists() else ""))
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    python = args.python or sys.executable
    runs = max(1, args.runs)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="crm-bench-pdf-"))
    workdir.mkdir(parents=True, exist_ok=True)
    pdf_out, html_out = workdir / "quote.pdf", workdir / "quote.html"
    doc = sample(args.lines)
    jobs = {
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import fpdf'": [python, "-c", "import fpdf"],
        "python -c 'import jinja2'": [python, "-c", "import jinja2"],
        f"write a {args.lines}-line quote PDF": [python, "-c", writer_code(doc, pdf_out, "pdf")],
        f"write a {args.lines}-line quote HTML": [
            python,
            "-c",
            writer_code(doc, html_out, "html"),
        ],  # fmt: skip
    }
    for argv_ in jobs.values():  # warm-up: bytecode caches, file system caches
        wall(argv_)
    times: dict[str, list[float]] = {name: [] for name in jobs}
    cpu: dict[str, list[float]] = {name: [] for name in jobs}
    for round_ in range(runs):
        print(f"  round {round_ + 1}/{runs}", file=sys.stderr)
        for name, argv_ in jobs.items():
            elapsed, used = wall(argv_)
            times[name].append(elapsed)
            cpu[name].append(used)
    imports = {
        module: statistics.median(importtime(python, module) for _ in range(runs))
        for module in ("fpdf", "jinja2")
    }
    code = IN_PROCESS.format(doc=doc, pdf=str(pdf_out), html=str(html_out), runs=runs)
    result = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"in-process run failed:\n{result.stderr}")
    import json

    inproc = json.loads(result.stdout)

    floor = statistics.median(times["python -c pass"])

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.0f}"

    def spread(values: list[float]) -> str:
        return f"{ms(min(values))}–{ms(max(values))}"

    pdf_name = f"write a {args.lines}-line quote PDF"
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        extra = "" if name == "python -c pass" else ms(median - floor)
        used = ms(statistics.median(cpu[name]))
        rows.append((f"process: `{name}`", ms(median), spread(values), extra, used))
    for module, seconds in imports.items():
        rows.append((f"`-X importtime`: {module} (cumulative)", ms(seconds), "", "", ""))
    rows.append(("in-process: first PDF (imports, fonts)", ms(inproc["first"]), "", "", ""))
    for fmt in ("pdf", "html"):
        rows.append(
            (
                f"in-process: render and write the {fmt.upper()} again",
                ms(statistics.median(inproc[fmt])),
                spread(inproc[fmt]),
                "",
                "",
            )
        )
    pdf_median = statistics.median(times[pdf_name])
    pdf_cpu = statistics.median(cpu[pdf_name])
    verdict = "yes" if pdf_median < TARGET_S / 2 else ("close" if pdf_median < TARGET_S else "NO")

    size = pdf_out.stat().st_size
    facts = (
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; {args.lines} lines, {runs} runs after a warm-up; "
        f"PDF {size / 1024:.0f} KiB"
    )
    if args.markdown:
        print("| measure | median ms | min–max ms | above the floor ms | CPU ms |")
        print("|---|---:|---:|---:|---:|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        width = max(len(row[0]) for row in rows)
        print(
            f"{'measure':<{width}}  {'median ms':>9}  {'min–max ms':>11}  {'- floor ms':>10}"
            f"  {'CPU ms':>6}"
        )
        for measure, median_, spread_, extra, used in rows:
            print(f"{measure:<{width}}  {median_:>9}  {spread_:>11}  {extra:>10}  {used:>6}")
    print()
    print(f"{facts}")
    print(
        f"Target: the {args.lines}-line quote PDF written by a whole process in well under "
        f"{TARGET_S:.0f} s: {ms(pdf_median)} ms, CPU {ms(pdf_cpu)} ms ({verdict})"
    )
    print("Reproduce: python bench/pdf.py " + " ".join(argv))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "src"))
    raise SystemExit(main(sys.argv[1:]))
