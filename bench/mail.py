"""``crm mail import``: time linear in the mail, throughput against Python's ``mailbox`` merely
parsing the same file, and memory as the mailbox grows.

    python bench/mail.py [--history 1000,20000] [--messages 5000,50000] [--python PATH]
                         [--workdir DIR]

* **history**: one customer and an mbox of N messages from them (a Takeout of a long
  relationship), imported into a fresh database: milliseconds per message at each N.  Linear
  time means the same cost per message whatever the count (target: the ratio of the largest
  to the smallest close to 1).
* **throughput**: an mbox of M messages (Vietnamese text, 2 KB bodies, some HTML-only, some
  with attachments) between the seller and 1,000 customers, imported into a fresh database,
  against a ``python -c`` that iterates ``mailbox.mbox`` over the same file, parsing every
  message (the floor).  Reported: messages/s of both, the ratio crm/floor (target >= 0.3) and
  the peak memory (ru_maxrss) of the crm process at each M (target: largest / smallest
  <= 1.5 for ten times the messages).

A report, not a test: it exits 0 when a target is missed.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
NOW = "2026-11-23T10:00:00"
ME = "shop@anhduong.vn"
TEXT = (
    "Chào chị,\n\nEm gửi lại đơn hàng tháng này: 20 máy POS, 5 máy in hoá đơn và phần mềm "
    "quản lý bán hàng cho 3 chi nhánh. Nhờ chị kiểm tra giúp em giá và thời gian giao hàng, "
    "bên em cần trước ngày 15. Nếu có khuyến mãi cuối năm thì báo em với nhé.\n\n"
)
LAUNCHER = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[2:]); "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
    "sys.exit(r.returncode)"
)
FLOOR = (
    "import mailbox, sys\n"
    "n = 0\n"
    "for message in mailbox.mbox(sys.argv[1], create=False):\n"
    "    message.get_payload()\n"
    "    n += 1\n"
    "print(n)\n"
)


def write_mbox(path: Path, count: int, customers: int) -> int:
    """``count`` messages, alternately from a customer and to them; every 10th HTML only,
    every 25th with a 30 KB attachment.  Returns the file's size in bytes."""
    attachment = base64.encodebytes(os.urandom(30_000)).decode("ascii")
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for n in range(count):
            cust = n % customers + 1
            them = f"khach{cust}@example.vn"
            frm, to = (them, ME) if n % 2 == 0 else (ME, them)
            day, minute = 1 + n % 28, n % 1440
            head = (
                f"From {frm} Mon Nov 16 09:00:00 2026\n"
                f"From: Khách {cust} <{frm}>\nTo: {to}\n"
                f"Subject: =?utf-8?b?"
                + base64.b64encode(f"Đơn hàng số {n}".encode()).decode()
                + "?=\n"
                f"Date: Mon, {day:02d} Nov 2026 {minute // 60:02d}:{minute % 60:02d}:00 +0700\n"
                f"Message-ID: <m{n}@bench.example>\nMIME-Version: 1.0\n"
            )
            body = TEXT * 6 + f"Mã đơn {n}\n\n> {TEXT}\n-- \nKhách {cust}\n"
            if n % 25 == 0:
                fh.write(
                    head + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
                    "Content-Type: text/plain; charset=utf-8\n\n" + body + "--b\n"
                    "Content-Type: application/pdf\n"
                    'Content-Disposition: attachment; filename="don-hang.pdf"\n'
                    "Content-Transfer-Encoding: base64\n\n" + attachment + "--b--\n\n"
                )
            elif n % 10 == 0:
                html = "<html><body><p>" + body.replace("\n", "<br>") + "</p></body></html>"
                fh.write(head + "Content-Type: text/html; charset=utf-8\n\n" + html + "\n\n")
            else:
                fh.write(head + "Content-Type: text/plain; charset=utf-8\n\n" + body + "\n")
    return path.stat().st_size


def make_database(path: Path, customers: int) -> None:
    import uuid

    from crmcli.core import settings
    from crmcli.db import open_db

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = open_db(path, create=True)
    at = NOW + "Z"
    with db.write(["crm", "bench"]):
        db.executemany(
            "INSERT INTO customers (uid, name, email, fields, created_at, updated_at) "
            "VALUES (?, ?, ?, '{}', ?, ?)",
            ((str(uuid.uuid4()), f"Khách {n}", f"khach{n}@example.vn", at, at)
             for n in range(1, customers + 1)),
        )  # fmt: skip
        settings.set_value(db, "mail_from", f"Ánh Dương <{ME}>")
    db.close()


def run(argv: list[str], db: Path, work: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) and stderr of one process."""
    env = {**os.environ, "CRM_DB": str(db), "CRM_NOW": NOW}
    rss_file = work / "rss.txt"
    started = time.perf_counter()
    done = subprocess.run(
        [argv[0], "-c", LAUNCHER, str(rss_file), *argv],
        capture_output=True, env=env, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed ({done.returncode}): {done.stderr.decode()}")
    return elapsed, int(rss_file.read_text()), done.stderr.decode().strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", default="1000,20000")
    parser.add_argument("--messages", default="5000,50000")
    default_python = VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable)
    parser.add_argument("--python", default=str(default_python))
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    os.environ["CRM_NOW"] = NOW
    work = args.workdir or Path(tempfile.mkdtemp(prefix="crm-bench-mail-"))
    work.mkdir(parents=True, exist_ok=True)
    py = args.python
    crm = [py, "-m", "crmcli", "mail", "import"]
    print(f"crm mail import (python {sys.version.split()[0]}, {os.cpu_count()} CPUs)\n")

    history = []
    for count in (int(c) for c in args.history.split(",")):
        box, db = work / f"history-{count}.mbox", work / f"history-{count}.db"
        write_mbox(box, count, customers=1)
        make_database(db, 1)
        seconds, _, said = run([*crm, str(box)], db, work)
        history.append((count, seconds, said))
    print("One customer, N messages from and to them:\n")
    print("| messages | crm s | ms per message |")
    print("|---:|---:|---:|")
    for count, seconds, _ in history:
        print(f"| {count:,} | {seconds:.2f} | {1000 * seconds / count:.2f} |")
    first, last = history[0], history[-1]
    growth = (last[1] / last[0]) / (first[1] / first[0])
    print(f"\nPer message at {last[0]:,} ÷ at {first[0]:,}: {growth:.2f} (linear: close to 1).")
    print(f"crm said: {last[2]}\n")

    rows = []
    for count in (int(c) for c in args.messages.split(",")):
        box, db = work / f"mail-{count}.mbox", work / f"mail-{count}.db"
        size = write_mbox(box, count, customers=1000)
        make_database(db, 1000)
        crm_s, rss, said = run([*crm, str(box)], db, work)
        floor_s, floor_rss, _ = run([py, "-c", FLOOR, str(box)], db, work)
        rows.append((count, size, crm_s, rss, floor_s, floor_rss, said))
    print("Messages between the seller and 1,000 customers:\n")
    print("| messages | MB | crm s | crm msg/s | mailbox s | mailbox msg/s | ratio | "
          "crm peak RSS MiB | mailbox peak RSS MiB |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for count, size, crm_s, rss, floor_s, floor_rss, _ in rows:
        print(f"| {count:,} | {size / 1e6:.0f} | {crm_s:.2f} | {count / crm_s:.0f} | "
              f"{floor_s:.2f} | {count / floor_s:.0f} | {floor_s / crm_s:.2f} | "
              f"{rss / 1024:.1f} | {floor_rss / 1024:.1f} |")  # fmt: skip
    count, _, crm_s, rss, floor_s, _, said = rows[-1]
    ratio = floor_s / crm_s
    print(f"\nTarget: throughput crm/mailbox >= 0.3 at {count:,} messages: {ratio:.2f}, "
          f"{'met' if ratio >= 0.3 else 'missed'}.")  # fmt: skip
    if len(rows) > 1:
        memory = rows[-1][3] / rows[0][3]
        times = rows[-1][0] / rows[0][0]
        print(f"Memory: peak RSS at {rows[-1][0]:,} messages is {memory:.2f}x that at "
              f"{rows[0][0]:,} ({times:.0f}x the messages; target <= 1.5).")  # fmt: skip
    print(f"crm said: {said}")
    print(f"Reproduce: python bench/mail.py --history {args.history} --messages {args.messages}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "src"))
    raise SystemExit(main())
