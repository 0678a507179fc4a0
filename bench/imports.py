"""What each crm command imports, and what it costs: ``python -X importtime`` per command.

    python bench/imports.py [--runs R] [--markdown]

Runs every command below as a whole process on a scratch copy of the demo database, with
``-X importtime``, R times (after one warm-up that caches bytecode), and prints per command
the median of the import time the interpreter reports (the sum of every module's own time,
so nested imports count once), the number of modules imported, and which of the modules
that cost start-up time (rich, sqlite-utils, dateutil, the validators, vobject,
icalendar, pydantic, and the quote document's fpdf2, Jinja2, Pillow and fontTools) it
loaded.  The test suite keeps the plain paths clean (a deny-list test); this table shows the
cost on every path, plainly.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from run import installed_crm  # bench/run.py, beside this script

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CRM = REPO / ".venv" / "bin" / "crm"
HEAVY = (
    "rich", "sqlite_utils", "dateutil", "email_validator", "phonenumbers", "vobject",
    "icalendar", "pydantic", "fpdf", "jinja2", "PIL", "fontTools",
)  # fmt: skip
FIXTURES = REPO / "tests" / "fixtures" / "import"

# (what it is, argv after `crm --db DB`); run in this order on one scratch database.
COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("version", ("--version",)),
    ("help", ("--help",)),
    ("customer list", ("customer", "list", "-f", "tsv", "--limit", "20")),
    ("customer list --search", ("customer", "list", "--search", "nguyen", "-f", "tsv")),
    ("customer list (table)", ("customer", "list", "-f", "table")),
    ("customer show", ("customer", "show", "1", "-f", "json")),
    ("customer show (card)", ("customer", "show", "1", "-f", "table")),
    ("customer add", ("customer", "add", "Phan Văn Trị", "--email", "tri@example.vn")),
    ("customer edit (tag)", ("customer", "edit", "1", "--add-tag", "bench")),
    ("customer edit (phone)", ("customer", "edit", "1", "--phone", "+84 912 345 600")),
    ("customer log", ("customer", "log", "1", "Gọi điện", "--type", "call")),
    ("customer log --next", ("customer", "log", "1", "Hẹn", "--next", "tomorrow 9am")),
    ("customer import (csv)", ("customer", "import", str(FIXTURES / "google_new.csv"))),
    ("customer import (vcf)", ("customer", "import", str(FIXTURES / "ios.vcf"))),
    ("customer export -f vcard", ("customer", "export", "-f", "vcard")),
    ("customer dupes", ("customer", "dupes", "-f", "tsv")),
    ("lead list", ("lead", "list", "-f", "tsv")),
    ("deal list", ("deal", "list", "--stage", "proposal", "-f", "tsv")),
    ("deal show", ("deal", "show", "1", "-f", "json")),
    ("deal pipeline -f json", ("deal", "pipeline", "-f", "json")),
    ("deal pipeline (board)", ("deal", "pipeline", "-f", "table")),
    ("deal add", ("deal", "add", "Máy in", "--customer", "1", "--amount", "1.200.000 VND")),
    ("ticket list", ("ticket", "list", "-f", "tsv")),
    ("ticket open", ("ticket", "open", "1", "Máy in hỏng", "--priority", "high")),
    ("remind add", ("remind", "add", "Gọi lại", "--at", "tomorrow 9am", "--every", "weekly")),
    ("remind list", ("remind", "list", "-f", "tsv")),
    ("remind due", ("remind", "due")),
    ("remind export --ics", ("remind", "export", "--ics", "-")),
    ("report pipeline -f json", ("report", "pipeline", "-f", "json")),
    ("report sales (table)", ("report", "sales", "-f", "table")),
    ("history", ("history", "--limit", "5", "-f", "tsv")),
    ("config list", ("config", "list", "-f", "tsv")),
    ("doctor", ("doctor", "-f", "tsv")),
    ("completion bash", ("completion", "bash")),
)


def imports_of(python: Path, crm: Path, db: Path, argv: Sequence[str]) -> tuple[int, set[str]]:
    """(sum of the modules' own import times in µs, the modules imported) of one run."""
    result = subprocess.run(
        [str(python), "-X", "importtime", str(crm), "--db", str(db), *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "120"},
        timeout=120,
    )
    if result.returncode != 0:
        tail = [ln for ln in result.stderr.splitlines() if not ln.startswith("import time:")]
        raise SystemExit(f"crm {' '.join(argv)} failed ({result.returncode}): {tail[-1:]}")
    total = 0
    modules: set[str] = set()
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _cumulative, name = line[len("import time:") :].split("|")
        total += int(own)
        modules.add(name.strip())
    return total, modules


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/imports.py", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, metavar="R", help="runs per command")
    parser.add_argument("--crm", type=Path, default=DEFAULT_CRM, help="the installed crm")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    crm, python = installed_crm(args.crm)
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONDEVMODE"):
        os.environ.pop(name, None)
    os.environ["CRM_NOW"] = "2026-11-23T10:00:00"
    rows = []
    with tempfile.TemporaryDirectory(prefix="crm-imports-") as tmp:
        db = Path(tmp) / "crm.db"
        subprocess.run([str(crm), "--db", str(db), "demo", "-f", "tsv"], check=True,
                       capture_output=True)  # fmt: skip
        floor = [imports_of(python, crm, db, ("--version",))[0] for _ in range(args.runs + 1)]
        for what, command in COMMANDS:
            imports_of(python, crm, db, command)  # warm-up: bytecode cached
            runs = [imports_of(python, crm, db, command) for _ in range(args.runs)]
            modules = set.union(*(m for _, m in runs))
            heavy = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
            rows.append((what, statistics.median(t for t, _ in runs) / 1000, len(modules), heavy))
    header = ("command", "import ms", "modules", "heavy modules loaded")
    lines = [
        (what, f"{ms:.1f}", str(count), ", ".join(heavy) or "none")
        for what, ms, count, heavy in rows
    ]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|---|---:|---:|---|")
        for what, ms, count, heavy in lines:
            print(f"| `crm {what}` | {ms} | {count} | {heavy} |")
    else:
        width = max(len(w) for w, *_ in lines) + 4
        print(f"{header[0]:<{width}}{header[1]:>10}{header[2]:>9}  {header[3]}")
        for what, ms, count, heavy in lines:
            print(f"{'crm ' + what:<{width}}{ms:>10}{count:>9}  {heavy}")
    print()
    print(
        f"Median of {args.runs} run(s) after a warm-up; `crm --version` alone: "
        f"{statistics.median(floor[1:]) / 1000:.1f} ms of imports. Import ms = the sum of "
        "every module's own time as `python -X importtime` reports it (it slows imports "
        "down, so compare rows with each other, not with wall times)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
