"""The installed ``crm`` as a real process: exit codes, stdout vs stderr, no TTY, cron."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import crm_bin

CRM = crm_bin()


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    return subprocess.run(
        [CRM, *args], capture_output=True, text=True, env=env, input=input, timeout=60
    )


def test_python_dash_m_works(db_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crmcli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith("crm ")


def test_story_add_find_show_from_a_script(db_path: Path) -> None:
    first = run("customer", "add", "Nguyễn Thị Đào", "--email", "dao@example.vn", "--tag", "vip")
    assert first.returncode == 0, first.stderr
    cid = first.stdout.strip()
    assert cid == "1" and "Added customer 1" in first.stderr
    assert run("customer", "log", cid, "--type", "call", "Hẹn gặp tuần sau").returncode == 0
    listed = run("customer", "list", "--search", "dao")
    assert listed.stdout.splitlines()[0].startswith("id\tuid\tname")  # tsv off a terminal
    assert "Nguyễn Thị Đào" in listed.stdout
    record = json.loads(run("customer", "show", cid, "-f", "json").stdout)
    assert record["interactions"][0]["body"] == "Hẹn gặp tuần sau"
    assert stat_mode(db_path) == 0o600


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_errors_go_to_stderr_with_exit_codes(db_path: Path) -> None:
    missing = run("customer", "show", "1")
    assert missing.returncode == 1 and missing.stdout == ""
    assert "no database at" in missing.stderr and "Traceback" not in missing.stderr
    run("customer", "add", "An")
    unknown = run("customer", "show", "42")
    assert (unknown.returncode, unknown.stdout, unknown.stderr) == (
        1,
        "",
        "crm: error: no customer 42\n",
    )
    usage = run("customer", "add")
    assert usage.returncode == 2 and "Missing argument" in usage.stderr
    assert usage.stderr.count("\n") == 1
    bad = run("customer", "add", "Bình", "--birthday", "2026-02-30")
    assert bad.returncode == 2 and "birthday" in bad.stderr and "Traceback" not in bad.stderr


def test_cron_environment_with_vietnamese_names(db_path: Path, tmp_path: Path) -> None:
    """cron: no terminal, PATH=/usr/bin:/bin, no LANG; text must survive intact."""
    run("customer", "add", "Đặng Quốc Bảo", "--city", "Huế")
    env = {"PATH": "/usr/bin:/bin", "CRM_DB": str(db_path), "HOME": str(tmp_path)}
    result = subprocess.run(
        [CRM, "customer", "list", "-f", "tsv"], capture_output=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Đặng Quốc Bảo\t" in result.stdout.decode("utf-8")
    assert b"\x1b[" not in result.stdout  # no colour codes off a terminal
    shown = subprocess.run(
        [CRM, "customer", "show", "1", "-f", "table"], capture_output=True, env=env, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert "Đặng Quốc Bảo" in shown.stdout.decode("utf-8")
    assert b"\x1b[" not in shown.stdout


def test_closed_pipe_prints_no_traceback(db_path: Path, tmp_path: Path) -> None:
    """`crm customer list | head -1`: more output than a pipe holds, reader gone early."""
    rows = tmp_path / "many.csv"
    rows.write_text("name,notes\n" + "".join(f"Khách {i},{'x' * 200}\n" for i in range(3000)))
    assert run("customer", "import", str(rows)).returncode == 0
    proc = subprocess.run(
        f"'{CRM}' customer list -f tsv | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.startswith("id\t")
    assert proc.stderr == ""


def test_interrupt_changes_nothing(db_path: Path, tmp_path: Path) -> None:
    """Ctrl-C during an import leaves the database as it was."""
    run("customer", "add", "An")
    big = tmp_path / "big.csv"
    with big.open("w") as fh:
        fh.write("name,email\n")
        for i in range(300_000):
            fh.write(f"Người {i},n{i}@example.vn\n")
    proc = subprocess.Popen(
        [CRM, "customer", "import", str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the import finished before the interrupt")
    assert b"Traceback" not in err
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 1
    conn.close()


def test_concurrent_writers_do_not_hit_database_is_locked(db_path: Path) -> None:
    """BEGIN IMMEDIATE + busy timeout: parallel writers all succeed."""
    run("customer", "add", "Seed")
    script = (
        "for i in $(seq 1 15); do "
        f"'{CRM}' customer add \"Writer $W-$i\" >/dev/null || exit 1; "
        f"'{CRM}' customer list -f ids >/dev/null || exit 1; done"
    )
    procs = [
        subprocess.Popen(
            ["bash", "-c", script],
            env={**os.environ, "W": str(w)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 61
    conn.close()


DENY = (
    "rich", "sqlite_utils", "dateutil", "email_validator", "phonenumbers", "pydantic",
    "icalendar", "vobject", "fpdf", "jinja2", "PIL", "fontTools",
)  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ("--version",),
        ("customer", "list", "-f", "tsv"),
        ("customer", "list", "--search", "an", "-f", "tsv"),
        ("customer", "show", "1", "-f", "json"),
        ("lead", "list", "-f", "tsv"),
        ("lead", "list", "--search", "an", "-f", "tsv"),
        ("lead", "show", "1", "-f", "json"),
        ("deal", "list", "--stage", "proposal", "--limit", "50", "-f", "tsv"),
        ("deal", "show", "1", "-f", "json"),
        ("deal", "pipeline", "-f", "json"),
        ("remind", "due"),
        ("remind", "due", "-f", "json"),
        ("remind", "list", "-f", "tsv"),
        ("ticket", "list", "-f", "tsv"),
        ("ticket", "show", "1", "-f", "json"),
    ],
)
def test_plain_commands_do_not_import_heavy_modules(db_path: Path, args: tuple[str, ...]) -> None:
    run("customer", "add", "An", "--email", "an@example.vn", "--phone", "0912 345 678")
    run("lead", "add", "An", "--email", "an@example.vn", "--phone", "0912 345 678")
    run("deal", "add", "Laptops", "--customer", "1", "--amount", "1200", "--stage", "proposal")
    run("deal", "edit", "1", "--close", "2026-01-01")  # overdue: remind due has a line
    run("ticket", "open", "1", "Máy in hỏng", "--due", "2026-01-01 09:00")
    run(
        "remind",
        "add",
        "Call An",
        "--at",
        "2026-01-01 09:00",
        "--customer",
        "1",
        "--every",
        "weekly",
    )
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "crmcli", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert not imported & set(DENY), sorted(imported & set(DENY))


def test_colour_only_when_forced_off_a_terminal(db_path: Path) -> None:
    run("customer", "add", "Ngô Bảo Châu", "--tag", "vip")
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    plain = run("customer", "list", "-f", "table", env=base)
    assert "Ngô Bảo Châu" in plain.stdout and "\x1b[" not in plain.stdout
    forced = run("customer", "list", "-f", "table", env={**base, "FORCE_COLOR": "1"})
    assert "\x1b[" in forced.stdout
    dumb = run("customer", "list", "-f", "table", env={**base, "FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[3" not in dumb.stdout  # no colour codes (bold may stay)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    result = run("completion", shell)
    assert result.returncode == 0 and "_CRM_COMPLETE" in result.stdout


def test_completion_answers_through_the_lazy_groups(db_path: Path) -> None:
    def complete(words: str) -> list[str]:
        env = {
            **os.environ,
            "_CRM_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        }
        return run(env=env).stdout.split()

    assert complete("crm cust") == ["customer"]
    assert complete("crm customer li") == ["list"]
    assert "--search" in complete("crm customer list --s")
    assert not db_path.exists()  # completing never creates a database


def test_lead_story_from_a_script(db_path: Path) -> None:
    """A lead from a web form to a customer with a deal, as a shell script drives it."""
    added = run("lead", "add", "Hoàng Thị Đào", "--email", "dao@example.vn", "--source", "web",
                "--score", "65", "--tag", "spa")  # fmt: skip
    assert added.returncode == 0, added.stderr
    lid = added.stdout.strip()
    assert lid == "1" and added.stderr == "Added lead 1: Hoàng Thị Đào\n"
    logged = run("lead", "log", lid, "--type", "call", "Muốn báo giá 10 ghế massage")
    assert logged.returncode == 0 and "is now contacted" in logged.stderr
    lost = run("lead", "status", lid, "lost")
    assert (lost.returncode, lost.stdout) == (2, "") and lost.stderr.count("\n") == 1
    assert run("lead", "status", lid, "qualified").returncode == 0
    listed = run("lead", "list", "--search", "dao", "--status", "qualified")
    assert listed.stdout.splitlines()[0].startswith("id\tuid\tname")  # tsv off a terminal
    assert "Hoàng Thị Đào" in listed.stdout
    converted = run("lead", "convert", lid, "--deal", "10 massage chairs", "--amount",
                    "150.000.000 VND")  # fmt: skip
    assert converted.returncode == 0, converted.stderr
    ids = dict(line.split() for line in converted.stdout.splitlines())
    assert ids == {"customer": "1", "deal": "1"}
    customer = json.loads(run("customer", "show", ids["customer"], "-f", "json").stdout)
    assert customer["tags"] == ["spa"]
    assert [lead["id"] for lead in customer["leads"]] == [1]  # linked both ways
    assert customer["interactions"][0]["body"] == "Muốn báo giá 10 ghế massage"
    again = run("lead", "convert", lid)
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == "crm: error: lead 1 is already converted (customer 1)\n"
    assert run("lead", "show", "99").stderr == "crm: error: no lead 99\n"
    # The deal moves through the pipeline and is won.
    assert run("deal", "move", ids["deal"], "proposal").returncode == 0
    pipeline = run("deal", "pipeline", "-f", "jsonl").stdout.splitlines()
    proposal = [json.loads(line) for line in pipeline if '"proposal"' in line]
    assert [(p["deals"], p["total"], p["currency"]) for p in proposal] == [(1, 150_000_000, "VND")]
    won = run("deal", "won", ids["deal"], "--payment-due", "in 30 days")
    assert won.returncode == 0 and won.stdout == ""
    assert won.stderr == "Won deal 1: 10 massage chairs (150,000,000 VND)\n"
    deal = json.loads(run("deal", "show", ids["deal"], "-f", "json").stdout)
    assert (deal["status"], deal["lead_id"], deal["customer_id"]) == ("won", 1, 1)
    assert [h["to_stage"] for h in deal["history"]] == ["new", "proposal", "won"]
    lost = run("deal", "lost", ids["deal"], "--reason", "changed mind")
    assert (lost.returncode, lost.stderr) == (
        1,
        "crm: error: deal 1 is won; only an open deal can be lost\n",
    )
