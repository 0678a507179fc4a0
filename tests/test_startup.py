"""What ``crm`` loads at start-up (no timing assertions: the modules it does not load)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

from crmcli import __version__

# Runs crm's entry point in a fresh interpreter; at its exit, prints whether json was
# loaded and which deferred modules ran.
ENTRY = """
import os, sys
import crmcli.__main__ as entry

exit_now = os._exit

def report(code):
    ran = [n for n in entry.DEFERRED if type(sys.modules[n]) is not entry._Deferred]
    print(code, "json" in sys.modules, ran)
    sys.stdout.flush()
    exit_now(0)

os._exit = report
sys.argv = ["crm", *sys.argv[1:]]
entry.main()
"""


def python(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_version_runs_no_deferred_module() -> None:
    assert python(ENTRY, "--version").splitlines() == [f"crm {__version__}", "0 False []"]


def test_a_listing_without_custom_fields_needs_no_json(crm: Any) -> None:
    crm("customer", "add", "Lê Thị Hoa")
    crm("customer", "add", "Phạm Minh", "--field", "size=large")
    plain = python(ENTRY, "customer", "list", "-f", "tsv", "--limit", "1").splitlines()
    assert plain[1].startswith("1\t") and plain[-1] == "0 False []"
    both = python(ENTRY, "customer", "list", "-f", "tsv").splitlines()
    assert '{"size": "large"}' in both[2] and both[-1] == "0 True []"


def test_a_deferred_module_is_the_real_one_once_used() -> None:
    out = python(
        """
        import sys
        from crmcli.__main__ import _Deferred, defer

        defer()
        import subprocess
        import textwrap

        assert type(subprocess) is _Deferred  # the import statement alone runs nothing
        subprocess.marker = 1  # a write runs the module first, then sets the attribute
        assert type(subprocess) is not _Deferred and subprocess.marker == 1
        assert sys.modules["subprocess"] is subprocess
        assert subprocess.run([sys.executable, "-c", "pass"]).returncode == 0
        from textwrap import dedent

        assert dedent("  x") == "x" and sys.modules["textwrap"] is textwrap
        print("ok")
        """
    )
    assert out == "ok\n"


def test_a_listing_loads_no_import_or_export_command(crm: Any) -> None:
    crm("customer", "add", "Lê Thị Hoa")
    script = ENTRY.replace(
        'print(code, "json" in sys.modules, ran)',
        'print(code, sorted(m for m in sys.modules if m.startswith("crmcli.cli.")))',
    )
    loaded = python(script, "customer", "list", "-f", "tsv").splitlines()[-1]
    assert "'crmcli.cli.customer'" in loaded
    assert "customer_io" not in loaded and "importing" not in loaded
    # ... and the import and export commands are there when called or listed.
    assert crm("customer", "export", "-f", "tsv").stdout.startswith("id\tuid\tname\t")
    assert "import" in crm("customer", "--help").stdout
