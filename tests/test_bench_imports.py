"""``bench/imports.py`` runs every listed command for real and reports what it imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import crm_bin

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "imports.py"


def test_import_table_covers_every_listed_command() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--runs", "1", "--markdown", "--crm", crm_bin()],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| `crm ")]
    assert len(rows) >= 30
    by_command = {row.split("|")[1].strip(): row.split("|")[4].strip() for row in rows}
    # The plain paths load none of the modules that cost start-up time ...
    for plain in ("`crm version`", "`crm customer list`", "`crm remind due`"):
        assert by_command[plain] == "none"
    # ... and the table says so when a command needs one.
    assert "rich" in by_command["`crm customer list (table)`"]
    assert "vobject" in by_command["`crm customer import (vcf)`"]
