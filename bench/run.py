"""crmcli benchmark: whole `crm` processes timed against floors measured in the same run.

    python bench/run.py [--customers N] [--runs R] [--workdir DIR] [--markdown] [--rebuild]

Every figure is a ratio (SPEC section 7): a command's median wall time over R runs (after one
warm-up) against a floor measured on the same machine in the same run -- ``python -c pass``
with crm's own interpreter, the ``sqlite3`` shell running the command's SQL on the same file,
a raw ``executemany`` of the rows an import stores.  Spreads are min-max.  The script is a
report, not a test: it exits 0 when a target is missed.

The synthetic database (N customers imported with ``crm customer import``, then interactions
for every 5th customer) is cached in the workdir keyed by N; ``--rebuild`` makes it again.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = REPO / "bench" / "data"
DEFAULT_CRM = REPO / ".venv" / "bin" / "crm"
GENERATOR_VERSION = 1  # bump when the generated data changes: cached databases are rebuilt
IMPORT_ROWS_MAX = 100_000
IMPORT_ROWS_MIN = 1_000
SHELL_ALLOWANCE_S = 0.010  # SPEC 7: queries the shell answers in under 10 ms get 10 ms
RARE_WORD = "kumquat"  # in about one interaction in a thousand (and always in the first)
RARE_EVERY = 997
COMMON_WORD = "nguyen"  # the family name of about 30 % of the customers

# Targets (SPEC 7 and the README's performance section).
STARTUP_MAX = 6.0
OVERHEAD_MAX = 1.5
IMPORT_MIN = 0.2
MEMORY_MAX = 1.5
MEMORY_ROWS = 1_000_000  # the memory target compares 1,000,000 rows with 100,000

CSV_HEADER = ("name", "email", "phone", "company", "city", "notes", "tags")
CUSTOMER_COLUMNS = (
    "id", "uid", "name", "email", "phone", "company", "title", "address", "city", "country",
    "birthday", "source", "notes", "fields", "created_at", "updated_at",
)  # fmt: skip

# Runs crm in a small process of its own and reports its wall time and peak RSS: a child
# inherits its parent's peak RSS across fork + exec, so the parent must stay small.
RSS_WRAPPER = """\
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.call(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
wall = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": code, "wall": wall, "rss_kib": rss}))
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- synthetic people ---------------------------------------------------------------------

# Vietnamese family names with roughly their real frequencies (Nguyễn ~40 %).
VN_FAMILY = (
    ("Nguyễn", 38.0), ("Trần", 11.0), ("Lê", 9.5), ("Phạm", 7.0), ("Hoàng", 4.0),
    ("Huỳnh", 4.0), ("Phan", 4.5), ("Vũ", 3.0), ("Võ", 3.0), ("Đặng", 2.0), ("Bùi", 2.0),
    ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1.0), ("Lý", 0.5),
)  # fmt: skip
VN_MIDDLE_M = ("Văn", "Đức", "Hữu", "Quang", "Minh", "Thanh", "Xuân", "Công")
VN_MIDDLE_F = ("Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mỹ", "Bảo")
VN_GIVEN_M = (
    "An", "Minh", "Hùng", "Dũng", "Tuấn", "Hải", "Nam", "Sơn", "Huy", "Khoa", "Long", "Quân",
    "Đạt", "Đông", "Hiếu", "Khánh", "Phúc", "Thắng", "Trung", "Việt", "Bảo", "Cường", "Lâm",
    "Nghĩa", "Phong", "Tài", "Thành", "Tùng", "Vinh",
)  # fmt: skip
VN_GIVEN_F = (
    "Bích", "Lan", "Hương", "Trang", "Linh", "Phương", "Thảo", "Mai", "Nga", "Thủy", "Vy",
    "Yến", "Giang", "Hà", "Hoa", "Ly", "Nhung", "Oanh", "Quỳnh", "Tâm", "Anh", "Châu", "Hạnh",
    "Hằng", "Loan", "My", "Ngân", "Nhi", "Uyên",
)  # fmt: skip
WEST_GIVEN = (
    "John", "Mary", "James", "Anna", "Peter", "Laura", "David", "Emma", "Michael", "Sophie",
    "Thomas", "Julia", "Daniel", "Claire", "Mark", "Olivia", "Paul", "Sarah", "Lukas", "Marie",
    "Jürgen", "Zoë", "François", "Søren",
)  # fmt: skip
WEST_FAMILY = (
    "Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Müller", "Schmidt", "Schneider",
    "Dubois", "Martin", "Bernard", "Rossi", "García", "Fernández", "O'Brien", "Andersson",
    "Nielsen", "Kowalski", "Nowak",
)  # fmt: skip
VN_SHARE = 0.75
MAIL_DOMAINS = (
    ("gmail.com", 40), ("yahoo.com", 12), ("outlook.com", 10), ("hotmail.com", 6),
    ("fpt.com.vn", 5), ("viettel.vn", 4), ("vnpt.vn", 3), ("saigontech.vn", 2),
    ("example.org", 2), ("mail.de", 2),
)  # fmt: skip
VN_MOBILE_PREFIXES = (
    "090", "091", "093", "094", "096", "097", "098", "032", "033", "034", "035", "036", "037",
    "038", "039", "070", "076", "077", "078", "079", "081", "082", "083", "084", "085", "086",
    "088",
)  # fmt: skip
COMPANY_VN_KIND = ("Công ty TNHH", "Công ty CP", "Tập đoàn", "Cửa hàng")
COMPANY_VN_NAME = (
    "Minh Phát", "Hoàng Long", "Thành Công", "Sao Mai", "An Khang", "Phú Thái", "Việt Tiến",
    "Đại Dương", "Hòa Bình", "Bình Minh", "Trường Sơn", "Kim Long", "Phương Nam", "Đông Á",
    "Hưng Thịnh",
)  # fmt: skip
COMPANY_WEST_NAME = (
    "Acme", "Globex", "Initech", "Northwind", "Contoso", "Umbrella", "Stark", "Wayne", "Tyrell",
)  # fmt: skip
COMPANY_WEST_KIND = ("Ltd", "Inc", "GmbH", "SA", "Pte Ltd")
CITIES = (
    ("Hà Nội", 30), ("Hồ Chí Minh", 30), ("Đà Nẵng", 8), ("Hải Phòng", 6), ("Cần Thơ", 4),
    ("Huế", 3), ("Nha Trang", 3), ("Vũng Tàu", 2), ("Biên Hòa", 2), ("Singapore", 3),
    ("Bangkok", 2), ("London", 2), ("Berlin", 2), ("Paris", 1), ("New York", 1), ("Tokyo", 1),
)  # fmt: skip
NOTES = (
    "Met at the Hanoi trade fair", "Prefers Zalo over e-mail", "Gọi lại sau Tết",
    "Asked for a quote on bulk orders", "Referred by a friend", "Khách hàng thân thiết",
    "Pays on time", "Wants a demo next month", "Ưu tiên giao hàng buổi sáng",
)  # fmt: skip
TAGS = (
    "vip", "lead", "wholesale", "retail", "newsletter", "hanoi", "hcm", "danang", "partner",
    "trade-fair",
)  # fmt: skip
INTERACTION_TEXT = {
    "call": ("Called about the {}", "Gọi điện hỏi về {}", "Phoned back on the {}"),
    "email": ("Sent the {} by e-mail", "E-mailed a reminder about the {}"),
    "meeting": ("Met at their office about the {}", "Gặp mặt trao đổi về {}"),
    "note": ("Follow up on the {} next week", "Ghi chú: {}"),
}
TOPICS = (
    "pricing", "renewal", "invoice", "delivery", "contract", "warranty", "onboarding",
    "discount", "báo giá", "hợp đồng",
)  # fmt: skip


def _cumulative(weighted: Sequence[tuple[str, float]]) -> tuple[list[str], list[float]]:
    names = [name for name, _ in weighted]
    totals: list[float] = []
    total = 0.0
    for _, weight in weighted:
        total += weight
        totals.append(total)
    return names, totals


_ASCII_CACHE: dict[str, str] = {}


def ascii_word(text: str) -> str:
    """'Nguyễn' -> 'nguyen', "O'Brien" -> 'obrien' (for e-mail addresses)."""
    cached = _ASCII_CACHE.get(text)
    if cached is None:
        decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
        cached = "".join(c for c in decomposed.casefold() if c.isascii() and c.isalnum())
        _ASCII_CACHE[text] = cached
    return cached


def people(count: int, seed: int, first_index: int = 0) -> Iterator[tuple[str, ...]]:
    """``count`` CSV rows (CSV_HEADER order), the same ones for the same seed.

    E-mails embed the row index (``first_index`` onwards), so they are unique in a file and
    files with different ``first_index`` ranges share none."""
    rng = random.Random(seed)
    family, family_cum = _cumulative(VN_FAMILY)
    domains, domain_cum = _cumulative(MAIL_DOMAINS)
    cities, city_cum = _cumulative(CITIES)
    choices, choice, random_ = rng.choices, rng.choice, rng.random
    for index in range(first_index, first_index + count):
        if random_() < VN_SHARE:
            last = choices(family, cum_weights=family_cum)[0]
            female = random_() < 0.5
            middle = choice(VN_MIDDLE_F if female else VN_MIDDLE_M)
            first = choice(VN_GIVEN_F if female else VN_GIVEN_M)
            name = f"{last} {middle} {first}"
        else:
            first, last = choice(WEST_GIVEN), choice(WEST_FAMILY)
            name = f"{first} {last}"
        given, surname = ascii_word(first), ascii_word(last)
        local = choice((f"{given}.{surname}{index}", f"{given[0]}{surname}{index}"))
        email = f"{local}@{choices(domains, cum_weights=domain_cum)[0]}"
        phone = ""
        if random_() < 0.9:
            prefix = choice(VN_MOBILE_PREFIXES)
            digits = f"{rng.randrange(10_000_000):07d}"
            if random_() < 0.05:
                phone = f"+84 {prefix[1:]}{digits[0]} {digits[1:4]} {digits[4:]}"
            else:
                phone = f"{prefix}{digits[0]} {digits[1:4]} {digits[4:]}"
        company = ""
        roll = random_()
        if roll < 0.6:
            company = f"{choice(COMPANY_VN_KIND)} {choice(COMPANY_VN_NAME)}"
        elif roll < 0.85:
            company = f"{choice(COMPANY_WEST_NAME)} {choice(COMPANY_WEST_KIND)}"
        city = choices(cities, cum_weights=city_cum)[0]
        notes = choice(NOTES) if random_() < 0.4 else ""
        tags = ",".join(rng.sample(TAGS, rng.randint(1, 3))) if random_() < 0.7 else ""
        yield name, email, phone, company, city, notes, tags


def write_csv(path: Path, count: int, seed: int, first_index: int = 0) -> None:
    """Stream ``count`` generated customers to ``path`` (never all in memory)."""
    partial = path.with_name(path.name + ".part")
    with partial.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_HEADER)
        writer.writerows(people(count, seed, first_index))
    partial.replace(path)


def interactions(customers: int, seed: int) -> Iterator[tuple[str, int, str, str, str, str]]:
    """Rows for the ``interactions`` table: one or two for every 5th customer (ids 1, 6, …)."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    span = int((datetime(2026, 5, 1, tzinfo=UTC) - start).total_seconds())
    kinds = tuple(INTERACTION_TEXT)
    serial = 0
    for customer_id in range(1, customers + 1, 5):
        for _ in range(rng.randint(1, 2)):
            kind = rng.choice(kinds)
            body = rng.choice(INTERACTION_TEXT[kind]).format(rng.choice(TOPICS))
            if serial % RARE_EVERY == 0:
                body += f" ({RARE_WORD} promotion)"
            serial += 1
            at = (start + timedelta(seconds=rng.randrange(span))).strftime("%Y-%m-%dT%H:%M:%SZ")
            yield str(uuid.uuid4()), customer_id, kind, body, at, at


# -- processes and connections ------------------------------------------------------------


def interpreter_of(script: Path) -> Path:
    """The Python a console script runs with, from its shebang line."""
    with script.open("rb") as fh:
        first = fh.readline().decode("utf-8", "replace").strip()
    if not first.startswith("#!"):
        raise SystemExit(f"{script} has no shebang line; pass --crm the installed entry point")
    words = first[2:].split()
    if Path(words[0]).name == "env" and len(words) > 1:
        found = shutil.which(words[1])
        if found is None:
            raise SystemExit(f"{script}: {words[1]} (from its shebang) is not on PATH")
        return Path(found)
    return Path(words[0])


def run_checked(argv: Sequence[str | Path], what: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in argv], stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"{what} failed (exit {result.returncode}): {result.stderr.strip()}")
    return result


def wall(argv: Sequence[str]) -> float:
    """Wall time of one whole process, stdout discarded."""
    start = time.perf_counter()
    result = subprocess.run(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise SystemExit(f"{shlex.join(argv)} failed (exit {result.returncode}): {message}")
    return elapsed


def wall_and_rss(python: Path, argv: Sequence[str]) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one process, measured by a small wrapper process."""
    result = subprocess.run(
        [str(python), "-S", "-c", RSS_WRAPPER, *argv],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    report = json.loads(result.stdout) if result.returncode == 0 else {"code": "?"}
    if report["code"] != 0:
        raise SystemExit(f"{shlex.join(argv)} failed (exit {report['code']}): {result.stderr}")
    return float(report["wall"]), int(report["rss_kib"])


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the pragmas crm sets (crmcli.db._configure); the file is in WAL."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("busy_timeout = 60000", "foreign_keys = ON", "secure_delete = ON"):
        conn.execute(f"PRAGMA {pragma}")
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def begin_command(conn: sqlite3.Connection, argv: Sequence[str]) -> None:
    """What ``Database.write`` does first: a command row the audit triggers tag rows with."""
    conn.execute("BEGIN IMMEDIATE")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cur = conn.execute(
        "INSERT INTO commands (at, argv) VALUES (?, ?)", (now, json.dumps(list(argv)))
    )
    conn.execute("INSERT INTO active_command (command_id) VALUES (?)", (cur.lastrowid,))


def end_command(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM active_command")
    conn.execute("COMMIT")


def checkpoint(path: Path) -> None:
    """Fold the WAL into the file, so copying the one file copies the database."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def copy_db(source: Path, target: Path) -> Path:
    remove_db(target)
    shutil.copyfile(source, target)
    return target


# -- the SQL a command runs, for the sqlite3 shell ----------------------------------------


def sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool | int):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("a NUL character cannot be written as an SQL literal")
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bytes):
        return f"X'{value.hex()}'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def inline_params(sql: str, params: Sequence[Any]) -> str:
    """``sql`` with every ``?`` outside quotes replaced by the next parameter as a literal."""
    out: list[str] = []
    values = iter(params)
    quote = ""
    for ch in sql:
        if quote:
            if ch == quote:
                quote = ""  # a doubled quote closes and reopens: same result
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            try:
                ch = sql_literal(next(values))
            except StopIteration:
                raise ValueError("more ? placeholders than parameters") from None
        out.append(ch)
    if next(values, None) is not None:
        raise ValueError("more parameters than ? placeholders")
    return "".join(out)


def list_sql(search: str) -> str:
    from crmcli.core.customers import list_query

    sql, params = list_query(search=search, limit=20)
    return inline_params(sql, params)


def show_sql(customer_id: int) -> str:
    from crmcli.core.customers import GET_SQL, INTERACTIONS_SQL

    return (
        ";\n".join(inline_params(sql, [customer_id]) for sql in (GET_SQL, INTERACTIONS_SQL)) + ";"
    )


# -- the synthetic database ---------------------------------------------------------------


@dataclass(frozen=True)
class Tools:
    crm: Path
    python: Path
    sqlite3: Path

    def crm_argv(self, db: Path, *args: str) -> list[str]:
        return [str(self.crm), "--db", str(db), *args]


def empty_database(tools: Tools, path: Path) -> Path:
    """A fresh crm database: created and migrated by crm itself."""
    remove_db(path)
    run_checked(tools.crm_argv(path, "config", "set", "date_order", "DMY"), "creating a database")
    checkpoint(path)
    return path


def schema(path: Path) -> list[tuple[str, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
    finally:
        conn.close()


def source_fingerprint() -> str:
    """A hash of crmcli's Python files: tells whether a cached build ran today's code."""
    import hashlib

    import crmcli

    digest = hashlib.sha256()
    package = Path(crmcli.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def build(
    tools: Tools, workdir: Path, customers: int, empty: Path, rebuild: bool
) -> dict[str, Any]:
    """The cached database of ``customers`` customers and its facts (built if needed).

    A cache whose schema is not that of a fresh database (``empty``) is built again."""
    db = workdir / f"crm-{customers}.db"
    meta_path = workdir / f"crm-{customers}.json"
    source = source_fingerprint()
    if not rebuild and db.exists() and meta_path.exists():
        meta: dict[str, Any] = json.loads(meta_path.read_text())
        if meta.get("generator") != GENERATOR_VERSION or meta.get("customers") != customers:
            log(f"the cached {db} was made by another generator: building it again")
        elif schema(db) != schema(empty):
            log(f"the cached {db} has an older schema than crm makes today: building it again")
        else:
            log(f"using the cached database {db} (built {meta['built_at']}; --rebuild to redo)")
            meta["db"] = str(db)
            meta["cached"] = "same code" if meta.get("source") == source else "older code"
            return meta
    meta_path.unlink(missing_ok=True)
    remove_db(db)
    building = workdir / f"crm-{customers}.building.db"
    csv_path = workdir / f"customers-{customers}.csv"
    log(f"writing {customers:,} customers to {csv_path}")
    write_csv(csv_path, customers, seed=customers)
    copy_db(empty, building)
    log(f"importing them with crm customer import (one process; {customers:,} rows)")
    import_s, import_rss = wall_and_rss(
        tools.python, tools.crm_argv(building, "customer", "import", str(csv_path))
    )
    csv_path.unlink()
    log(f"imported in {import_s:.1f} s, peak RSS {import_rss / 1024:.1f} MiB; adding interactions")
    conn = connect(building)
    added = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
    if added != customers:
        raise SystemExit(f"the import added {added:,} customers, not {customers:,}")
    start = time.perf_counter()
    begin_command(conn, ["bench/run.py", "interactions"])
    conn.executemany(
        "INSERT INTO interactions (uid, customer_id, type, body, happened_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        interactions(customers, seed=customers + 1),
    )
    end_command(conn)
    interactions_s = time.perf_counter() - start
    count = conn.execute("SELECT count(*) FROM interactions").fetchone()[0]
    # The customer `show` displays: one with two interactions, near the middle of the file.
    show_id = conn.execute(
        "SELECT customer_id FROM interactions GROUP BY customer_id HAVING count(*) = 2 "
        "ORDER BY abs(customer_id - ?) LIMIT 1",
        (customers // 2,),
    ).fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    log(f"{count:,} interactions added in {interactions_s:.1f} s")
    building.replace(db)
    remove_db(building)
    meta = {
        "generator": GENERATOR_VERSION,
        "customers": customers,
        "interactions": count,
        "show_id": show_id,
        "import_seconds": import_s,
        "import_rss_kib": import_rss,
        "interactions_seconds": interactions_s,
        "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": source,
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    meta["db"] = str(db)
    meta["cached"] = ""
    return meta


# -- statistics and the report ------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """Seconds of the timed runs of one measure."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def spread(self) -> str:
        """Min–max in milliseconds."""
        return f"{min(self.values) * 1000:.1f}–{max(self.values) * 1000:.1f}"

    def ms(self) -> str:
        return f"{self.median * 1000:.1f}"


@dataclass
class Row:
    measure: str
    command: str
    median: str
    spread: str
    floor: str = ""
    ratio: str = ""
    target: str = ""
    ok: str = ""


HEADER = Row("measure", "command", "median ms", "spread", "floor", "ratio", "target", "ok")


def verdict(value: float, target: float, at_most: bool) -> str:
    return "yes" if (value <= target if at_most else value >= target) else "NO"


def timed_rounds(jobs: dict[str, list[str]], runs: int) -> dict[str, Sample]:
    """One warm-up of every job, then ``runs`` rounds of all of them, interleaved so that
    noise on the machine spreads over every command alike."""
    for argv in jobs.values():
        wall(argv)
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for round_ in range(runs):
        log(f"  round {round_ + 1}/{runs}")
        for name, argv in jobs.items():
            times[name].append(wall(argv))
    return {name: Sample(tuple(values)) for name, values in times.items()}


def check_same_rows(tools: Tools, db: Path, search: str, sql: str) -> str | None:
    """A warning when the shell's SQL does not list the customers crm lists."""
    crm_ids = run_checked(
        tools.crm_argv(db, "customer", "list", "--search", search, "--limit", "20", "-f", "ids"),
        "crm customer list",
    ).stdout.split()
    shell = run_checked([str(tools.sqlite3), "-batch", str(db), sql], "sqlite3")
    shell_ids = [line.split("|", 1)[0] for line in shell.stdout.splitlines()]
    if crm_ids != shell_ids:
        return (
            f"WARNING: for --search {search} the shell SQL gave ids {shell_ids[:5]}…, "
            f"crm gave {crm_ids[:5]}…"
        )
    return None


def query_measures(tools: Tools, meta: dict[str, Any], runs: int) -> tuple[list[Row], list[str]]:
    """Start-up ratios and query overheads of the read commands; also warnings, if any."""
    db = Path(meta["db"])
    show_id = int(meta["show_id"])
    python = str(tools.python)
    sqlite = [str(tools.sqlite3), "-batch", "-bail", str(db)]
    searches = {"list (common word)": COMMON_WORD, "list (rare word)": RARE_WORD}
    sql = {name: list_sql(word) for name, word in searches.items()}
    sql["show"] = show_sql(show_id)
    for name, text in sql.items():
        slug = name.replace(" (", "-").replace(" word)", "").replace(" ", "-")
        (db.parent / f"sql-{slug}.sql").write_text(text + "\n")
    notes = [
        warning
        for name, word in searches.items()
        if (warning := check_same_rows(tools, db, word, sql[name])) is not None
    ]
    commands = {
        "--version": ["--version"],
        "--help": ["--help"],
        **{
            name: ["customer", "list", "--search", word, "--limit", "20", "-f", "tsv"]
            for name, word in searches.items()
        },
        "show": ["customer", "show", str(show_id), "-f", "json"],
    }
    jobs = {"python -c pass": [python, "-c", "pass"]}
    for name, args in commands.items():
        jobs[name] = tools.crm_argv(db, *args) if args[0] == "customer" else [str(tools.crm), *args]
    for name in ("list (common word)", "list (rare word)", "show"):
        jobs[f"sqlite3: {name}"] = [*sqlite, sql[name]]
    log(f"timing {len(jobs)} commands: 1 warm-up + {runs} interleaved rounds")
    t = timed_rounds(jobs, runs)

    def shown(args: list[str]) -> str:
        return shlex.join(["crm", *args])

    rows = [Row("floor: interpreter start-up", "python -c pass", t["python -c pass"].ms(),
                t["python -c pass"].spread())]  # fmt: skip
    py = t["python -c pass"].median
    for name, args in commands.items():
        sample = t[name]
        ratio = sample.median / py
        has_target = name != "--help"  # --help shows the framework's cost: no target
        rows.append(
            Row(
                "start-up ratio",
                shown(args),
                sample.ms(),
                sample.spread(),
                f"{py * 1000:.1f} (python -c pass)",
                f"{ratio:.2f}",
                f"≤ {STARTUP_MAX:g}" if has_target else "— (info)",
                verdict(ratio, STARTUP_MAX, True) if has_target else "",
            )
        )
    for name in ("list (common word)", "list (rare word)", "show"):
        shell = t[f"sqlite3: {name}"]
        rows.append(
            Row(
                f"floor: sqlite3 shell, {name} SQL",
                "sqlite3 DB '<same SQL>'",
                shell.ms(),
                shell.spread(),
            )
        )
    for base in ("--version",):
        for name in ("list (common word)", "list (rare word)", "show"):
            sample, shell_s = t[name], t[f"sqlite3: {name}"].median
            allowance = max(shell_s, SHELL_ALLOWANCE_S)
            overhead = (sample.median - t[base].median) / allowance
            floor = f"{shell_s * 1000:.1f} (sqlite3)"
            if shell_s < SHELL_ALLOWANCE_S:
                floor += " → 10.0 allowance"
            rows.append(
                Row(
                    f"query overhead vs crm {base}",
                    shown(commands[name]),
                    sample.ms(),
                    sample.spread(),
                    floor,
                    f"{overhead:.2f}",
                    f"≤ {OVERHEAD_MAX:g}",
                    verdict(overhead, OVERHEAD_MAX, True),
                )
            )
    return rows, notes


def floor_insert(path: Path, rows: list[tuple[Any, ...]], *, bare: bool) -> float:
    """Seconds for a raw ``executemany`` of ``rows`` in one transaction, open to close.

    ``bare``: into a table of the same columns with no index or trigger; otherwise into
    ``customers`` with crm's bookkeeping, so its triggers, indexes and search index run."""
    columns = ", ".join(CUSTOMER_COLUMNS)
    marks = ", ".join("?" * len(CUSTOMER_COLUMNS))
    table = "customers"
    if bare:
        table = "bench_bare"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(
            f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, "
            + ", ".join(f"{c} TEXT" for c in CUSTOMER_COLUMNS[1:])
            + ")"
        )
        conn.close()
    start = time.perf_counter()
    conn = connect(path)
    if bare:
        conn.execute("BEGIN IMMEDIATE")
    else:
        begin_command(conn, ["bench/run.py", "floor"])
    conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
    if bare:
        conn.execute("COMMIT")
    else:
        end_command(conn)
    conn.close()
    return time.perf_counter() - start


def import_measures(
    tools: Tools, meta: dict[str, Any], workdir: Path, empty: Path, rows_n: int, runs: int
) -> tuple[list[Row], int]:
    """The timed import, its raw-insert floors and peak RSS; also the tag rows it wrote."""
    csv_path = workdir / f"import-{rows_n}-g{GENERATOR_VERSION}.csv"
    if not csv_path.exists():
        log(f"writing the {rows_n:,}-row import file {csv_path}")
        write_csv(csv_path, rows_n, seed=rows_n + 7, first_index=10_000_000)
    target = empty.with_name("target.db")

    def crm_import() -> tuple[float, int]:
        copy_db(empty, target)
        return wall_and_rss(
            tools.python, tools.crm_argv(target, "customer", "import", str(csv_path))
        )

    log(f"import: warm-up crm customer import of {rows_n:,} rows")
    crm_import()
    # The floor's rows: exactly what the import stored (uids included), read back.
    conn = sqlite3.connect(target)
    stored = conn.execute(
        f"SELECT {', '.join(CUSTOMER_COLUMNS)} FROM customers ORDER BY id"
    ).fetchall()
    tag_rows = conn.execute("SELECT count(*) FROM customer_tags").fetchone()[0]
    conn.close()
    if len(stored) != rows_n:
        raise SystemExit(f"the import stored {len(stored):,} customers, not {rows_n:,}")
    for bare_table in (False, True):  # warm-up of the floors
        floor_insert(copy_db(empty, target), stored, bare=bare_table)
    crm_s: list[float] = []
    rss: list[float] = []
    floor_s: list[float] = []
    bare_s: list[float] = []
    for round_ in range(runs):
        log(f"  import round {round_ + 1}/{runs}")
        seconds, kib = crm_import()
        crm_s.append(seconds)
        rss.append(kib / 1024)
        floor_s.append(floor_insert(copy_db(empty, target), stored, bare=False))
        bare_s.append(floor_insert(copy_db(empty, target), stored, bare=True))
    remove_db(target)
    crm, floor, bare = Sample(tuple(crm_s)), Sample(tuple(floor_s)), Sample(tuple(bare_s))
    mem = Sample(tuple(rss))

    def rate(sample: Sample) -> str:
        return f"{rows_n / sample.median:,.0f} rows/s"

    command = f"crm customer import import-{rows_n}.csv"
    ratio, bare_ratio = floor.median / crm.median, bare.median / crm.median
    insert = f"executemany INSERT, {rows_n:,} rows"
    rows = [
        Row("floor: raw insert into customers (triggers, indexes, search)", insert,
            floor.ms(), floor.spread(), rate(floor)),
        Row("floor: raw insert into a bare table", insert, bare.ms(), bare.spread(),
            rate(bare)),
        Row(f"import ratio (crm: {rate(crm)})", command, crm.ms(), crm.spread(),
            f"{floor.ms()} ({rate(floor)})", f"{ratio:.2f}", f"≥ {IMPORT_MIN:g}",
            verdict(ratio, IMPORT_MIN, False)),
        Row("import ratio vs bare table", command, crm.ms(), crm.spread(),
            f"{bare.ms()} ({rate(bare)})", f"{bare_ratio:.3f}", "— (info)"),
    ]  # fmt: skip
    big_rows = int(meta["customers"])
    big_rss = float(meta["import_rss_kib"]) / 1024
    once = "1 run (this run's build)"
    if meta["cached"]:
        once = f"1 run (cached build, {meta['cached']})"
    big_command = f"crm customer import customers-{big_rows}.csv"
    memory_ratio = big_rss / mem.median
    at_spec_size = big_rows == MEMORY_ROWS and rows_n == IMPORT_ROWS_MAX
    rows += [
        Row(f"peak RSS, import of {rows_n:,} rows", command, f"{mem.median:.1f} MiB",
            f"{min(rss):.1f}–{max(rss):.1f} MiB"),
        Row(f"peak RSS, import of {big_rows:,} rows", big_command, f"{big_rss:.1f} MiB", once),
        Row(f"memory ratio ({big_rows:,} ÷ {rows_n:,} rows)", "crm customer import",
            f"{big_rss:.1f} MiB", "", f"{mem.median:.1f} MiB", f"{memory_ratio:.2f}",
            f"≤ {MEMORY_MAX:g}",
            verdict(memory_ratio, MEMORY_MAX, True) if at_spec_size else "n/a (not 1M ÷ 100k)"),
        Row(f"build import ({big_rows:,} rows)", big_command,
            f"{float(meta['import_seconds']) * 1000:.0f}", once, "",
            f"{big_rows / float(meta['import_seconds']):,.0f} rows/s", "— (info)"),
    ]  # fmt: skip
    return rows, tag_rows


def render_plain(rows: list[Row]) -> str:
    table = [list(vars(r).values()) for r in (HEADER, *rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
             for line in table]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(rows: list[Row]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    header = list(vars(HEADER).values())
    numeric = {2, 3, 4, 5}
    rule = "|" + "|".join("---:" if i in numeric else "---" for i in range(len(header))) + "|"
    out = [line(header), rule]
    for row in rows:
        cells = list(vars(row).values())
        if cells[1].startswith(("crm ", "python ", "sqlite3 ")):
            cells[1] = f"`{cells[1]}`"
        out.append(line(cells))
    return "\n".join(out)


def machine_facts(tools: Tools) -> list[str]:
    crm_version = run_checked([str(tools.crm), "--version"], "crm --version").stdout.strip()
    shell_version = run_checked([str(tools.sqlite3), "--version"], "sqlite3").stdout.split()[0]
    cpu = platform.processor() or platform.machine()
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpus = f"{os.cpu_count()} CPUs"
    if hasattr(os, "sched_getaffinity"):
        cpus += f" ({len(os.sched_getaffinity(0))} usable)"
    return [
        f"{crm_version}; Python {platform.python_version()} ({tools.python})",
        f"SQLite {sqlite3.sqlite_version} in Python (crm's); sqlite3 shell {shell_version} "
        f"({tools.sqlite3})",
        f"{cpus}, {cpu}; {platform.platform()}",
    ]


# -- main ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--customers",
        type=int,
        default=1_000_000,
        metavar="N",
        help="customers in the synthetic database (default 1,000,000)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=7,
        metavar="R",
        help="timed runs per measure, after one warm-up (default 7)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        metavar="DIR",
        help="where databases and CSV files are kept (default bench/data/)",
    )
    parser.add_argument(
        "--import-rows",
        type=int,
        metavar="ROWS",
        help="rows of the timed import (default N/10, 1,000 to 100,000)",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the table as Markdown, ready for the README"
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild the cached database of N customers"
    )
    parser.add_argument(
        "--crm",
        type=Path,
        default=DEFAULT_CRM,
        help="the installed crm entry point (default .venv/bin/crm)",
    )
    parser.add_argument(
        "--sqlite3",
        type=Path,
        default=Path("/usr/bin/sqlite3"),
        help="the sqlite3 shell (default /usr/bin/sqlite3)",
    )
    args = parser.parse_args(argv)
    if args.customers < 10 or args.runs < 1:
        parser.error("--customers must be at least 10 and --runs at least 1")
    if args.import_rows is None:
        args.import_rows = default_import_rows(args.customers)
    return args


def default_import_rows(customers: int) -> int:
    return min(IMPORT_ROWS_MAX, max(IMPORT_ROWS_MIN, customers // 10))


def reproduce(args: argparse.Namespace, python: Path) -> str:
    """The command line that repeats this run, with crm's interpreter."""

    def rel(path: Path) -> str:
        path = path.absolute()
        return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)

    argv = [rel(python), rel(Path(__file__)),
            "--customers", str(args.customers), "--runs", str(args.runs)]  # fmt: skip
    if args.workdir.resolve() != DEFAULT_WORKDIR:
        argv += ["--workdir", rel(args.workdir)]
    if args.import_rows != default_import_rows(args.customers):
        argv += ["--import-rows", str(args.import_rows)]
    if args.markdown:
        argv.append("--markdown")
    return f"cd {shlex.quote(str(REPO))} && {shlex.join(argv)}"


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    crm = args.crm.absolute()
    if not crm.exists():
        found = shutil.which("crm")
        if found is None:
            raise SystemExit(f"no crm at {crm}; install the package or pass --crm")
        crm = Path(found)
    python = interpreter_of(crm)
    # Time crm as a user runs it: cached bytecode (a warm-up writes it) and buffered output.
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONDEVMODE"):
        os.environ.pop(name, None)
    # Run under crm's own interpreter: the floors must use its Python and SQLite library.
    if Path(sys.prefix).resolve() != python.parent.parent.resolve():
        if os.environ.get("CRM_BENCH_REEXEC"):
            raise SystemExit(f"cannot run under crm's interpreter {python}")
        os.environ["CRM_BENCH_REEXEC"] = "1"
        os.execv(python, [str(python), str(Path(__file__).resolve()), *argv])
    sqlite = args.sqlite3 if args.sqlite3.exists() else shutil.which("sqlite3")
    if sqlite is None:
        raise SystemExit(f"no sqlite3 shell at {args.sqlite3}; pass --sqlite3")
    tools = Tools(crm, python, Path(sqlite))
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    scratch = workdir / "scratch"
    scratch.mkdir(exist_ok=True)
    empty = empty_database(tools, scratch / "empty.db")
    meta = build(tools, workdir, args.customers, empty, args.rebuild)
    rows, notes = query_measures(tools, meta, args.runs)
    import_rows, tag_rows = import_measures(
        tools, meta, workdir, empty, args.import_rows, args.runs
    )
    rows += import_rows
    remove_db(empty)
    elapsed = time.perf_counter() - started
    if meta["cached"] == "older code":
        notes.append(
            "WARNING: crmcli's code changed since the cached build, so the build's import time "
            "and peak RSS (the memory ratio) come from the older code; --rebuild to refresh."
        )

    facts = machine_facts(tools)
    notes += [
        f"Database: {args.customers:,} customers, {meta['interactions']:,} interactions "
        f"(built {meta['built_at']}); `show` displays customer {meta['show_id']}; searches: "
        f"'{COMMON_WORD}' (common), '{RARE_WORD}' (rare, in interaction text).",
        f"Medians of {args.runs} run(s) after one warm-up, spread = min–max, commands "
        "interleaved; `crm customer` commands get --db DB; stdout goes to /dev/null.",
        "start-up ratio = command ÷ `python -c pass` (crm's interpreter).",
        "query overhead = (command − crm --version) ÷ max(sqlite3 shell on the same SQL and "
        "file, 10 ms), the 10 ms allowance of SPEC 7 applying when the shell answers faster; "
        "`crm --version` goes through the whole command-line framework, like every command.",
        "import ratio = crm rows/s ÷ rows/s of a raw executemany of the rows crm stored "
        "(read back, uids included) into a fresh copy of the same empty database, one "
        "transaction with crm's command bookkeeping, open to close; the floor leaves out the "
        f"customer_tags rows crm also writes ({tag_rows:,} of them).",
        "memory ratio = peak RSS (ru_maxrss of a small wrapper's child) of the build's import "
        f"÷ median of the {args.import_rows:,}-row imports.",
        f"The shell's SQL is in {workdir}/sql-*.sql; this run took {elapsed:.0f} s.",
    ]
    print(render_markdown(rows) if args.markdown else render_plain(rows))
    print()
    bullet = "- " if args.markdown else ""
    for line in facts + notes:
        print(f"{bullet}{line}")
    print()
    print(f"Reproduce: {reproduce(args, tools.python)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
