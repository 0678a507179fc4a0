"""``crm send`` against a raw smtplib loop, and its memory as the count grows.

    python bench/send.py [--counts 1000,10000] [--python PATH] [--workdir DIR]

For each count N: a database of N customers whose birthday is today, each with an e-mail
address and e-mail consent, and a marketing template with Vietnamese text; a local SMTP
server (aiosmtpd, in its own process, a handler that only counts) receives

* ``crm send birthday --birthdays today`` as a whole process (start-up, reading the
  recipients, consent, rendering every message twice: once to check, once to send, MIME,
  SMTP, and one committed transaction per message with its interaction and send log);
* a raw ``smtplib`` loop over one connection sending the same N messages, built and written
  out as bytes before the clock starts (the floor: what the SMTP exchange alone costs).

Reported: both times, messages per second, the ratio crm/raw (target >= 0.5 at the largest
count) and the peak memory (ru_maxrss) of the crm process per count (target: flat).  A report,
not a test: it exits 0 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
NOW = "2026-11-23T10:00:00"
TARGET_RATIO = 0.5
SUBJECT = "Chúc mừng sinh nhật {{ customer.first_name }} 🎂"
BODY = (
    "Chào {{ customer.name }},\n\nCửa hàng Ánh Dương chúc bạn tuổi mới thật nhiều niềm vui!\n"
    "Tặng bạn mã giảm giá SINHNHAT10 cho lần mua tiếp theo.\n"
)
SERVER = """
import sys, time
from aiosmtpd.controller import Controller
class Counting:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"
h = Counting()
c = Controller(h, hostname="127.0.0.1", port=int(sys.argv[1]), ready_timeout=10)
c.start()
print("ready", flush=True)
for line in sys.stdin:
    print(h.count, flush=True)
c.stop()
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The counting SMTP server, in a process of its own."""

    def __init__(self, python: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [python, "-c", SERVER, str(self.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit("the SMTP server did not start (is aiosmtpd installed?)")

    def count(self) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def make_database(path: Path, count: int, port: int) -> None:
    """``count`` customers with a birthday today, e-mail and consent; the template; the
    settings for the local server (send_rate high: no pacing)."""
    import uuid

    from crmcli.core import settings
    from crmcli.db import open_db

    os.environ["CRM_NOW"] = NOW
    db = open_db(path, create=True)
    at = NOW + "Z"
    given = ("An", "Bình", "Cường", "Dũng", "Hoa", "Lan", "Minh", "Thảo")
    family = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ")
    with db.write(["crm", "bench"]):
        db.executemany(
            "INSERT INTO customers (uid, name, name_given, email, birthday, fields, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, '{}', ?, ?)",
            (
                (str(uuid.uuid4()), f"{family[n % 6]} Văn {given[n % 8]}", given[n % 8],
                 f"khach{n}@example.com", f"{1960 + n % 45}-11-23", at, at)
                for n in range(1, count + 1)
            ),
        )  # fmt: skip
        db.executemany(
            "INSERT INTO consents (customer_id, channel, status, source, at, created_at) "
            "VALUES (?, 'email', 'yes', 'signed form', ?, ?)",
            ((n, at, at) for n in range(1, count + 1)),
        )
        db.execute(
            "INSERT INTO templates (name, channel, kind, subject, body, created_at, updated_at) "
            "VALUES ('birthday', 'email', 'marketing', ?, ?, ?, ?)",
            (SUBJECT, BODY, at, at),
        )
        for key, value in (
            ("smtp_host", "127.0.0.1"), ("smtp_port", str(port)), ("smtp_security", "none"),
            ("mail_from", "Cửa hàng Ánh Dương <shop@anhduong.vn>"),
            ("seller_email", "shop@anhduong.vn"), ("send_rate", "1000000"),
        ):  # fmt: skip
            settings.set_value(db, key, value)
    db.close()


# crm runs under this small launcher, which reports its child's peak RSS: the peak Linux
# reports for a child of the benchmark itself would include the benchmark's own memory
# (inherited at fork and kept across exec), which grows with the messages it builds.
LAUNCHER = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[2:]); "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
    "sys.exit(r.returncode)"
)


def run_crm(python: str, db: Path, work: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) and stderr of one ``crm send`` process."""
    env = {**os.environ, "CRM_DB": str(db), "CRM_NOW": NOW}
    rss_file = work / "rss.txt"
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-c", LAUNCHER, str(rss_file),
         python, "-m", "crmcli", "send", "birthday", "--birthdays", "today"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    err = done.stderr.decode()
    if done.returncode != 0:
        raise SystemExit(f"crm send failed ({done.returncode}): {err}")
    return elapsed, int(rss_file.read_text()), err.strip()


def raw_messages(db_path: Path) -> list[tuple[str, bytes]]:
    """The same messages, built with the same code and written out as bytes before the
    clock starts: the loop only talks SMTP."""
    from crmcli.core.outreach import mime, templates
    from crmcli.db import open_db

    db = open_db(db_path, create=False)
    line = templates.unsubscribe_line("email", "shop@anhduong.vn")
    out = []
    for cid, name, email in db.conn.execute("SELECT id, name, email FROM customers ORDER BY id"):
        ctx = templates.context(db, cid)
        text = templates.render(BODY, ctx).rstrip("\n") + "\n\n" + line + "\n"
        msg = mime.build(
            sender="Cửa hàng Ánh Dương <shop@anhduong.vn>", to_name=name, to_addr=email,
            subject=templates.render(SUBJECT, ctx), text=text,
            unsubscribe="shop@anhduong.vn",
        )  # fmt: skip
        out.append((email, mime.as_bytes(msg)))
    db.close()
    return out


def run_raw(port: int, messages: list[tuple[str, bytes]]) -> float:
    import smtplib

    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as conn:
        for to, msg in messages:
            conn.sendmail("shop@anhduong.vn", [to], msg)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="1000,10000")
    default_python = VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable)
    parser.add_argument("--python", default=str(default_python))
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",")]
    os.environ["CRM_NOW"] = NOW
    work = args.workdir or Path(tempfile.mkdtemp(prefix="crm-bench-send-"))
    work.mkdir(parents=True, exist_ok=True)
    server = Server(args.python)
    rows = []
    try:
        for count in counts:
            db = work / f"send-{count}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            make_database(db, count, server.port)
            before = server.count()
            crm_s, rss_kib, summary = run_crm(args.python, db, work)
            got = server.count() - before
            if got != count:
                raise SystemExit(f"the server received {got} of {count} messages from crm")
            messages = raw_messages(db)
            before = server.count()
            raw_s = run_raw(server.port, messages)
            if server.count() - before != count:
                raise SystemExit("the server did not receive every raw message")
            del messages
            rows.append((count, crm_s, raw_s, rss_kib, summary))
    finally:
        server.stop()
    print(f"crm send vs a raw smtplib loop over one connection (python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs)\n")  # fmt: skip
    print("| messages | crm send s | crm msg/s | raw smtplib s | raw msg/s | ratio crm/raw "
          "| crm peak RSS MiB |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for count, crm_s, raw_s, rss, _ in rows:
        print(f"| {count} | {crm_s:.2f} | {count / crm_s:.0f} | {raw_s:.2f} | "
              f"{count / raw_s:.0f} | {raw_s / crm_s:.2f} | {rss / 1024:.1f} |")  # fmt: skip
    print()
    count, crm_s, raw_s, rss, summary = rows[-1]
    ratio = raw_s / crm_s
    verdict = "met" if ratio >= TARGET_RATIO else "missed"
    print(f"Target: throughput crm/raw >= {TARGET_RATIO} at {count} messages: {ratio:.2f}, "
          f"{verdict}.")  # fmt: skip
    if len(rows) > 1:
        growth = rows[-1][3] / rows[0][3]
        print(f"Memory: peak RSS at {rows[-1][0]} messages is {growth:.2f}x that at "
              f"{rows[0][0]} (flat: close to 1).")  # fmt: skip
    print(f"crm said: {summary}")
    print(f"Reproduce: python bench/send.py --counts {args.counts}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "src"))
    raise SystemExit(main())
