"""crmcli benchmark: whole `crm` processes timed against floors measured in the same run.

    python bench/run.py [--runs R] [--only customers|sales] [--markdown] [--rebuild]
                        [--customers N] [--import-rows ROWS] [--workdir DIR]
                        [--sales-customers N] [--deals N] [--interactions N]
                        [--reminders N] [--tickets N] [--invoices N] [--payments N]
                        [--import-runs R] [--edit-ids N]

Every figure is a ratio (SPEC section 7): a command's median wall time over R runs (after one
warm-up, commands interleaved) against a floor measured on the same machine in the same run --
``python -c pass`` with crm's own interpreter, the ``sqlite3`` shell running the command's SQL
on the same file, a raw ``executemany`` of the rows an import stores.  Spreads are min-max.
The script is a report, not a test: it exits 0 when a target is missed.

Two databases, built once and cached in the workdir (keyed by their sizes, the generator's
version and the schema; ``--rebuild`` makes them again):

* customers: N customers (default 1,000,000) imported with ``crm customer import``, then
  interactions for every 5th customer.  Timed: start-up, ``customer list --search`` (a common
  and a rare word), ``customer show``, an import of N/10 rows (up to 100,000) and its peak
  memory against the build's import of N rows.
* sales (``--only sales`` runs it alone): 200,000 customers imported with ``crm customer
  import``, then 1,000,000 deals with their stage history, 2,000,000 interactions, 100,000
  reminders, 50,000 tickets, 500,000 invoices of the won deals and 1,000,000 payments
  (bench/receivables.py) inserted through the schema's triggers (search index, audit) inside
  crm's command bookkeeping.  Timed: ``crm deal pipeline`` and ``deal list``, ``crm
  remind due`` on a quiet and a busy day, every ``crm report``, start-up of ``crm --help`` and
  of a page of ``customer list``, a search and ``customer show`` of the busiest customer, an
  import of 100,000 rows into a copy of the database (``--import-runs``, default 3: each run
  copies the multi-GB file twice) and a batch edit of 10,000 ids read from stdin against
  100 separate ``crm customer edit`` runs, per id.

With both databases cached the whole run takes about 12 minutes on two cores (the customers
part 4, the sales part 8); building them the first time adds about 4 minutes for the
customers database and 12 for the sales database (4.3 GiB).
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
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import receivables  # bench/receivables.py, beside this script

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
SALES_GENERATOR_VERSION = 4  # bump when the generated sales data change
SALES_CUSTOMERS = 200_000
SALES_DEALS = 1_000_000
DEAL_BATCH = 10_000
LIST_STAGE = "proposal"  # crm deal list --stage proposal --limit 50
LIST_LIMIT = 50
IMPORT_RUNS = 3  # imports into a copy of the sales database: each run copies it twice
EDIT_IDS = 10_000  # ids piped into one batch edit, against EDIT_IDS / 100 separate runs

# Targets (SPEC 7 and docs/performance.md).
STARTUP_MAX = 5.0  # crm --version, remind due with nothing due, a page of customer list
OVERHEAD_MAX = 1.5
IMPORT_MIN = 0.3
EDIT_SPEEDUP_MIN = 100.0  # a batch edit from stdin, per id, against separate runs
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


# -- synthetic deals ----------------------------------------------------------------------

DAY_S = 86_400
# Deals were created over the last ~15 months and expected to close this many days after
# (open deals, closed deals): close dates run from ~14 months ago to a year ahead.
DEAL_HISTORY_DAYS = 450
DEAL_OPEN_CLOSE_DAYS = (14, 365)
DEAL_CLOSED_CLOSE_DAYS = (14, 180)
OPEN_STAGES = ("new", "qualified", "proposal", "negotiation")
OPEN_STAGE_WEIGHTS = (35, 28, 22, 15)  # where open deals sit, in %
START_STAGE_WEIGHTS = (75, 20, 5, 0)  # the stage a deal is created in
WON_SHARE = 0.4  # of closed deals; the rest are lost
WON_LAST_OPEN_WEIGHTS = (0, 10, 30, 60)  # the last open stage before won …
LOST_LAST_OPEN_WEIGHTS = (30, 30, 25, 15)  # … and before lost
DEAL_CURRENCIES = (("VND", 70), ("USD", 20), ("EUR", 10))
# Deal sizes, log-normal: median in major units, sigma, rounding step in minor units.
DEAL_SIZES = {"VND": (80_000_000, 1.1, 10_000), "USD": (3_000, 1.0, 100), "EUR": (2_500, 1.0, 50)}
MINOR_PER_MAJOR = {"VND": 1, "USD": 100, "EUR": 100}
OWN_PROBABILITY_SHARE = 0.15  # open deals with a probability of their own
NO_AMOUNT_SHARE = 0.08  # new and qualified deals without an amount yet
DEAL_PRODUCTS = (
    "laptops", "máy in", "POS terminals", "ERP licences", "phần mềm kế toán", "office chairs",
    "support contract", "server racks", "CCTV cameras", "website redesign", "cloud hosting",
    "bàn làm việc", "máy lạnh", "training days",
)  # fmt: skip
DEAL_QUANTITIES = (1, 1, 2, 3, 5, 10, 12, 20, 25, 50, 100)
DEAL_NOTES = (
    "Decision maker: the CFO", "Cần gửi báo giá trước thứ Sáu", "Wants delivery before Tết",
    "Competing with two other suppliers", "Follow up after the demo",
    "Yêu cầu xuất hóa đơn VAT", "Budget approved for Q1",
)  # fmt: skip
LOST_REASONS = (
    "chose a cheaper supplier", "budget cut", "no response after the quote",
    "Giá cao hơn đối thủ", "Khách hàng hoãn dự án", "went with the incumbent",
    "timing: next fiscal year", "requirements changed",
)  # fmt: skip
DEAL_COLUMNS = (
    "id", "uid", "title", "customer_id", "lead_id", "stage_id", "amount", "currency",
    "probability", "close_date", "closed_at", "lost_reason", "contract_number",
    "contract_start", "contract_end", "notes", "stage_changed_at", "created_at", "updated_at",
)  # fmt: skip
DealChange = tuple[int, int | None, int, str]  # deal_stage_changes: deal, from, to, at


def _iso_time(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _iso_date(ts: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def sales_deals(
    customers: int, deals: int, seed: int, stage_ids: dict[str, int], now: int
) -> Iterator[tuple[tuple[Any, ...], list[DealChange]]]:
    """``deals`` rows for ``deals`` (DEAL_COLUMNS order, ids 1 …) with their stage changes,
    the same ones for the same seed and ``now`` (epoch seconds).

    Ids follow creation time over the DEAL_HISTORY_DAYS before ``now``, and older deals are
    more often closed: about 10 % of the oldest are still open, all the newest, 40 % overall
    (closed: 40 % won, 60 % lost with a reason).  Each deal has a creation change, a change
    for every open stage it went through (one in five skipped) and, when closed, the change
    to won or lost at its closed_at."""
    rng = random.Random(seed)
    random_, randint, choice, choices = rng.random, rng.randint, rng.choice, rng.choices
    span = DEAL_HISTORY_DAYS * DAY_S
    open_ids = [stage_ids[name] for name in OPEN_STAGES]
    won_id, lost_id = stage_ids["won"], stage_ids["lost"]
    positions = range(len(OPEN_STAGES))
    currencies, currency_cum = _cumulative(DEAL_CURRENCIES)
    for deal_id in range(1, deals + 1):
        newness = (deal_id - random_()) / deals  # 0: the oldest deal, 1: the newest
        created = now - int((1 - newness) * span)
        is_open = random_() < 0.1 + 0.9 * newness * newness
        start = choices(positions, weights=START_STAGE_WEIGHTS)[0]
        won = not is_open and random_() < WON_SHARE
        if is_open:
            last = choices(positions, weights=OPEN_STAGE_WEIGHTS)[0]
            close_days = randint(*DEAL_OPEN_CLOSE_DAYS)
            end = created + int((now - created) * random_())
        else:
            weights = WON_LAST_OPEN_WEIGHTS if won else LOST_LAST_OPEN_WEIGHTS
            last = choices(positions, weights=weights)[0]
            close_days = randint(*DEAL_CLOSED_CLOSE_DAYS)
            end = min(now, created + randint(3, 200) * DAY_S + rng.randrange(DAY_S))
        start = min(start, last)
        path = [open_ids[start]]
        path += [open_ids[p] for p in range(start + 1, last) if random_() < 0.8]
        if last != start:
            path.append(open_ids[last])
        if not is_open:
            path.append(won_id if won else lost_id)
        # The first change at creation, the last at ``end``, the others in between.
        times = [created, *sorted(randint(created, end) for _ in range(len(path) - 2))]
        if len(path) > 1:
            times.append(end)
        changes: list[DealChange] = []
        before = None
        for stage_id, at in zip(path, times, strict=True):
            changes.append((deal_id, before, stage_id, _iso_time(at)))
            before = stage_id
        currency = currencies[bisect_right(currency_cum, random_() * currency_cum[-1])]
        amount = None
        if not (is_open and last < 2 and random_() < NO_AMOUNT_SHARE):
            median, sigma, step = DEAL_SIZES[currency]
            value = rng.lognormvariate(0, sigma) * median * MINOR_PER_MAJOR[currency]
            amount = max(step, round(value / step) * step)
        probability = None
        if is_open and random_() < OWN_PROBABILITY_SHARE:
            probability = randint(1, 19) * 5
        closed_at = lost_reason = contract_number = contract_start = contract_end = None
        updated = times[-1]
        if not is_open:
            closed_at = _iso_time(end)
            if won:
                if random_() < 0.7:
                    contract_number = f"HĐ-{_iso_date(end)[:4]}-{deal_id:07d}"
                if random_() < 0.6:
                    contract_start = _iso_date(end)
                    if random_() < 0.5:
                        contract_end = _iso_date(end + 365 * DAY_S)
                # Payment dates are invoices since schema 7; the draws stay, so the rest of
                # the database is the same as before.
                if random_() < 0.8:
                    paid = end + randint(5, 40) * DAY_S
                    if paid <= now and random_() < 0.85:
                        updated = paid
            else:
                lost_reason = choice(LOST_REASONS)
        row = (
            deal_id,
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            f"{choice(DEAL_QUANTITIES)} {choice(DEAL_PRODUCTS)}",
            1 + int(customers * random_() ** 1.3),  # some customers buy more often
            None,
            path[-1],
            amount,
            currency,
            probability,
            _iso_date(created + close_days * DAY_S),
            closed_at,
            lost_reason,
            contract_number,
            contract_start,
            contract_end,
            choice(DEAL_NOTES) if random_() < 0.25 else None,
            changes[-1][3],
            changes[0][3],
            _iso_time(updated),
        )
        yield row, changes


# -- synthetic interactions for the sales database ----------------------------------------

SALES_INTERACTIONS = 2_000_000
# Interactions written per INSERT … SELECT (see insert_interactions): measured on the sales
# database, windows of 1,000–50,000 rows all ran within noise of each other once ordered.
INTERACTION_WINDOW = 20_000
INTERACTION_KINDS = (("call", 40), ("email", 30), ("meeting", 10), ("note", 20))
INTERACTION_PHRASES = {
    "call": (
        "Called {person} about the {topic}", "Gọi điện cho {person} hỏi về {topic}",
        "{person} gọi lại, muốn giảm giá {product}", "No answer; left {person} a message",
        "Phoned back about the {product} quote", "Gọi nhắc thanh toán hóa đơn {product}",
    ),
    "email": (
        "Sent the {topic} for {product} by e-mail", "Gửi email báo giá {product} cho {person}",
        "E-mailed {person} a reminder about the {topic}", "Gửi lại hợp đồng đã ký cho {person}",
        "Replied to {person}'s question on the {topic}",
    ),
    "meeting": (
        "Met {person} at their office about the {product}", "Gặp {person} trao đổi về {topic}",
        "Demo of the {product} for {person}'s team", "Họp với kế toán về {topic}",
        "Lunch with {person}: talked about next year's {product}",
    ),
    "note": (
        "Follow up on the {topic} next week", "Ghi chú: {person} thích liên lạc qua Zalo",
        "{person} is on leave until next month", "Khách hỏi về {product}, cần gửi catalogue",
        "Ưu tiên giao hàng buổi sáng; {person} nhận hàng",
    ),
}  # fmt: skip
HONORIFICS_M = ("anh", "anh", "anh", "chú")  # how staff address the customer's people
HONORIFICS_F = ("chị", "chị", "chị", "cô")
INTERACTION_LATE_SHARE = 0.15  # logged a few hours to days after it happened


def sales_interactions(
    customers: int, count: int, seed: int, now: int
) -> Iterator[tuple[str, int, str, str, str, str]]:
    """``count`` rows for ``interactions`` (uid, customer_id, type, body, happened_at,
    created_at) in the order they happened, the same for the same seed and ``now``.

    They spread evenly over the DEAL_HISTORY_DAYS before ``now``, on working days and in
    Vietnamese office hours (08:00–18:00, UTC+7), over the customers with the skew of the
    deals (the low ids buy and talk more); most are logged minutes after they happened,
    INTERACTION_LATE_SHARE of them hours or days later (crm stores both times)."""
    rng = random.Random(seed)
    random_, randint, choice = rng.random, rng.randint, rng.choice
    kinds, kind_cum = _cumulative(INTERACTION_KINDS)
    start = now - DEAL_HISTORY_DAYS * DAY_S
    first_day = start - start % DAY_S + DAY_S  # the first whole UTC day
    days = max(1, (now - first_day) // DAY_S)
    for serial in range(count):
        day = first_day + int((serial + random_()) / count * days) * DAY_S
        weekday = (day // DAY_S + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
        if weekday >= 5 and random_() < 0.85:  # weekends are quiet: most move to Friday
            day -= (weekday - 4) * DAY_S
        happened = day + 3600 + rng.randrange(10 * 3600)  # 01:00–11:00 UTC
        late = random_() < INTERACTION_LATE_SHARE
        created = happened + (randint(3600, 3 * DAY_S) if late else randint(30, 900))
        happened, created = min(happened, now), min(created, now)
        kind = kinds[bisect_right(kind_cum, random_() * kind_cum[-1])]
        if random_() < 0.8:
            if random_() < 0.5:
                person = f"{choice(HONORIFICS_M)} {choice(VN_GIVEN_M)}"
            else:
                person = f"{choice(HONORIFICS_F)} {choice(VN_GIVEN_F)}"
        else:
            person = f"Mr {choice(WEST_FAMILY)}" if random_() < 0.5 else choice(WEST_GIVEN)
        body = choice(INTERACTION_PHRASES[kind]).format(
            person=person, topic=choice(TOPICS), product=choice(DEAL_PRODUCTS)
        )
        yield (
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            1 + int(customers * random_() ** 1.3),
            kind,
            body[0].upper() + body[1:],
            _iso_time(happened),
            _iso_time(created),
        )


def fts_order(window: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows of ``window`` in rounds: each customer's first row in it, by customer id, then
    each one's second row, …

    Every interaction re-indexes its customer (the trigger deletes the customer's search row
    and inserts it again), and FTS5 writes its pending terms to disk as a new segment whenever
    a statement touches a rowid not above the last one it touched.  In this order one
    INSERT … SELECT of the window makes one segment per round (plus one per MiB of terms)
    instead of one per row."""
    seen: dict[int, int] = {}
    keyed = []
    for index, row in enumerate(window):
        customer_id = row[1]
        occurrence = seen.get(customer_id, 0)
        seen[customer_id] = occurrence + 1
        keyed.append((occurrence, customer_id, index))
    keyed.sort()
    return [window[index] for _, _, index in keyed]


INTERACTION_INSERT_COLUMNS = "uid, customer_id, type, body, happened_at, created_at"


def insert_interactions(
    conn: sqlite3.Connection, rows: Iterable[tuple[Any, ...]], window: int = INTERACTION_WINDOW,
    *, ordered: bool = True, progress: int = 0,
) -> int:  # fmt: skip
    """Insert ``rows`` into ``interactions`` through its triggers (search index, audit) in
    one transaction with crm's command bookkeeping; returns how many.

    Like crm's importer, a window of rows at a time goes into a temporary staging table and
    then into ``interactions`` with one INSERT … SELECT (``ordered``: in :func:`fts_order`).
    The ids follow that order, so within a window they are not quite in time order, as when
    people log some calls late."""
    cols = INTERACTION_INSERT_COLUMNS
    conn.execute("DROP TABLE IF EXISTS temp.bench_staging")
    conn.execute(f"CREATE TEMP TABLE bench_staging AS SELECT {cols} FROM interactions WHERE 0")
    stage = f"INSERT INTO temp.bench_staging VALUES ({', '.join('?' * 6)})"
    move = f"INSERT INTO interactions ({cols}) SELECT {cols} FROM temp.bench_staging ORDER BY rowid"
    added = 0
    batch: list[tuple[Any, ...]] = []

    def flush() -> None:
        nonlocal added
        conn.executemany(stage, fts_order(batch) if ordered else batch)
        conn.execute(move)
        conn.execute("DELETE FROM temp.bench_staging")
        added += len(batch)
        batch.clear()
        if progress and added % progress < window:
            log(f"  {added:,} interactions")

    begin_command(conn, ["bench/run.py", "interactions"])
    for row in rows:
        batch.append(row)
        if len(batch) == window:
            flush()
    if batch:
        flush()
    end_command(conn)
    conn.execute("DROP TABLE temp.bench_staging")
    return added


# -- synthetic service data: reminders, tickets, birthdays, contact cadences ---------------

SERVICE_REMINDERS = 100_000
SERVICE_TICKETS = 50_000
BIRTHDAY_SHARE = 0.3  # customers with a birthday (a tenth of them without the year)
CADENCE_SHARE = 0.02  # customers with a contact cadence, each with a few interactions
CADENCES = ("14d", "30d", "60d", "90d")
# No birthday falls on 1 January, so the benchmark has a day with nothing due at all: the
# 1st of January before the oldest deal (NOTHING_DUE_MMDD of quiet_day()).
NOTHING_DUE_MMDD = "01-01"
REMINDER_TEXTS = (
    "Gọi lại về báo giá", "Send the contract draft", "Check in after the delivery",
    "Hỏi thăm sau khi lắp đặt", "Renewal call", "Chúc mừng sinh nhật khách", "Invoice follow-up",
)  # fmt: skip
RULES = ("FREQ=WEEKLY", "FREQ=MONTHLY", "FREQ=WEEKLY;INTERVAL=2", "FREQ=YEARLY")
TICKET_SUBJECTS = (
    "Máy in không kết nối được", "Invoice shows the wrong VAT", "Cannot log in to the portal",
    "Giao hàng thiếu", "Warranty claim: broken screen", "Phần mềm báo lỗi khi in hóa đơn",
    "Request for a training session",
)  # fmt: skip
TICKET_SLA_S = {"urgent": 4 * 3600, "high": DAY_S, "normal": 3 * DAY_S, "low": 7 * DAY_S}
TICKET_PRIORITY_WEIGHTS = (("low", 20), ("normal", 55), ("high", 20), ("urgent", 5))
REMINDER_COLUMNS = (
    "uid", "text", "due_at", "anchor_at", "rule", "customer_id", "lead_id", "deal_id",
    "ticket_id", "interaction_id", "done_at", "created_at", "updated_at",
)  # fmt: skip
TICKET_COLUMNS = (
    "id", "uid", "customer_id", "subject", "description", "priority", "status", "tier",
    "due_at", "satisfaction", "resolved_at", "closed_at", "reopened", "created_at",
    "updated_at",
)  # fmt: skip


def quiet_day(now: int) -> str:
    """A local date-time with nothing due in the generated data: 1 January 09:00 before the
    oldest deal, reminder and ticket (no birthday is on 1 January)."""
    oldest = datetime.fromtimestamp(now - (DEAL_HISTORY_DAYS + 2) * DAY_S)
    return f"{oldest.year - 1}-{NOTHING_DUE_MMDD}T09:00:00"


def service_rows(
    customers: int, deals: int, reminders: int, tickets: int, seed: int, now: int
) -> dict[str, list[tuple[Any, ...]]]:
    """Rows for reminders, tickets with their events, birthdays, cadences and the cadence
    customers' interactions, the same for the same seed and ``now``."""
    rng = random.Random(seed)
    randint, random_, choice = rng.randint, rng.random, rng.choice
    span = DEAL_HISTORY_DAYS * DAY_S
    priorities, priority_cum = _cumulative(TICKET_PRIORITY_WEIGHTS)

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    out: dict[str, list[tuple[Any, ...]]] = {
        "reminders": [], "tickets": [], "events": [], "birthdays": [], "cadences": [],
        "interactions": [],
    }  # fmt: skip
    for _ in range(reminders):
        created = now - randint(0, span)
        done = random_() < 0.7
        if done:
            due = created + randint(0, 30 * DAY_S)
            due = min(due, now - 3600)
        else:  # pending: a few overdue, most ahead
            due = now + randint(-7 * DAY_S, 120 * DAY_S)
        rule = choice(RULES) if random_() < 0.1 else None
        roll = random_()
        customer_id = 1 + int(customers * random_()) if roll < 0.6 else None
        deal_id = 1 + int(deals * random_()) if 0.6 <= roll < 0.8 else None
        out["reminders"].append((
            uid(), choice(REMINDER_TEXTS), _iso_time(due), _iso_time(due), rule, customer_id,
            None, deal_id, None, None, _iso_time(due + 3600) if done else None,
            _iso_time(created), _iso_time(created),
        ))  # fmt: skip
    for ticket_id in range(1, tickets + 1):
        created = now - int(span * (1 - (ticket_id - random_()) / tickets))
        priority = priorities[bisect_right(priority_cum, random_() * priority_cum[-1])]
        due = created + TICKET_SLA_S[priority]
        age = now - created
        roll = random_()
        status = "closed" if roll < 0.75 else "resolved" if roll < 0.88 else "pending"
        if age < 10 * DAY_S and random_() < 0.6:
            status = "open"
        resolved = closed = satisfaction = None
        events: list[tuple[Any, ...]] = [
            (ticket_id, "opened", None, "open", None, _iso_time(created))
        ]
        tier = 2 if random_() < 0.2 else 1
        if tier == 2:
            events.append((ticket_id, "escalation", "1", "2", None, _iso_time(created + 3600)))
        if status in ("resolved", "closed"):
            resolved_at = created + randint(600, max(601, min(age, 10 * DAY_S)))
            resolved = _iso_time(resolved_at)
            events.append((ticket_id, "status", "open", "resolved", None, resolved))
            if status == "closed":
                closed = _iso_time(min(now, resolved_at + randint(0, 3 * DAY_S)))
                satisfaction = choice((1, 2, 3, 4, 4, 5, 5, 5)) if random_() < 0.6 else None
                events.append((ticket_id, "status", "resolved", "closed", None, closed))
        elif status == "pending":
            events.append((ticket_id, "status", "open", "pending", None, _iso_time(created)))
        out["tickets"].append((
            ticket_id, uid(), 1 + int(customers * random_()), choice(TICKET_SUBJECTS), None,
            priority, status, tier, _iso_time(due), satisfaction, resolved, closed, 0,
            _iso_time(created), events[-1][5],
        ))  # fmt: skip
        out["events"].extend(events)
    for customer_id in range(1, customers + 1):
        if random_() < BIRTHDAY_SHARE:
            day = date(2000, 1, 2) + timedelta(days=randint(0, 364))  # never 1 January
            text = day.strftime("--%m-%d") if random_() < 0.1 else (
                f"{randint(1950, 2004)}-{day:%m-%d}")  # fmt: skip
            if text.endswith("02-29") and not text.startswith("--"):
                text = f"{choice((1960, 1972, 1984, 1996))}-02-29"
            out["birthdays"].append((text, customer_id))
        if random_() < CADENCE_SHARE:
            out["cadences"].append((choice(CADENCES), customer_id))
            for _ in range(randint(1, 3)):
                at = _iso_time(now - randint(0, 120 * DAY_S))
                out["interactions"].append(
                    (uid(), customer_id, "call", "Hỏi thăm khách hàng", at, at)
                )
    return out


def insert_service(
    conn: sqlite3.Connection, customers: int, deals: int, reminders: int, tickets: int,
    now: int,
) -> dict[str, int]:  # fmt: skip
    """Insert the service data in one transaction with crm's command bookkeeping."""
    rows = service_rows(customers, deals, reminders, tickets, seed=reminders + tickets, now=now)
    begin_command(conn, ["bench/run.py", "service"])
    conn.executemany(
        f"INSERT INTO reminders ({', '.join(REMINDER_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(REMINDER_COLUMNS))})",
        rows["reminders"],
    )
    conn.executemany(
        f"INSERT INTO tickets ({', '.join(TICKET_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(TICKET_COLUMNS))})",
        rows["tickets"],
    )
    conn.executemany(
        "INSERT INTO ticket_events (ticket_id, kind, from_value, to_value, body, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows["events"],
    )
    conn.executemany("UPDATE customers SET birthday = ? WHERE id = ?", rows["birthdays"])
    conn.executemany("UPDATE customers SET cadence = ? WHERE id = ?", rows["cadences"])
    conn.executemany(
        "INSERT INTO interactions (uid, customer_id, type, body, happened_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows["interactions"],
    )
    end_command(conn)
    return {name: len(part) for name, part in rows.items()}


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


def wall(argv: Sequence[str], env: dict[str, str] | None = None) -> float:
    """Wall time of one whole process, stdout discarded; ``env`` adds to the environment."""
    full_env = {**os.environ, **env} if env else None
    start = time.perf_counter()
    result = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=full_env,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise SystemExit(f"{shlex.join(argv)} failed (exit {result.returncode}): {message}")
    return elapsed


def wall_fed(argv: Sequence[str], data: bytes) -> tuple[float, str | None]:
    """Wall time of one whole process fed ``data`` on stdin, stdout discarded; also its
    complaint (the last line on stderr) when it fails."""
    start = time.perf_counter()
    result = subprocess.run(argv, input=data, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines() or ["(no message)"]
        return elapsed, f"exit {result.returncode}: {lines[-1]}"
    return elapsed, None


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


def show_sql(db: Path, customer_id: int) -> str:
    """The statements `crm customer show` runs (crmcli.core.customers.show: the customer, the
    cadence, interactions, deals, tickets, reminders, leads), as SQLite traces them with their
    parameters: the product's own SQL, whatever it becomes."""
    from crmcli.core import customers
    from crmcli.db import open_db

    traced: list[str] = []
    database = open_db(db, create=False)
    try:
        database.conn.set_trace_callback(traced.append)
        customers.show(database, customer_id)
        database.conn.set_trace_callback(None)
    finally:
        database.close()
    statements = [sql.strip() for sql in traced if sql.lstrip().upper().startswith("SELECT")]
    return ";\n".join(statements) + ";"


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


def insert_deals(
    conn: sqlite3.Connection, customers: int, deals: int, seed: int, now: int
) -> tuple[int, int]:
    """Insert the generated deals and their stage changes (batches, in one transaction, with
    crm's command bookkeeping so the audit triggers fire); returns (deals, stage changes)."""
    stage_ids = dict(conn.execute("SELECT name, id FROM stages WHERE removed_at IS NULL"))
    missing = [name for name in (*OPEN_STAGES, "won", "lost") if name not in stage_ids]
    if missing:
        raise SystemExit(f"the fresh database lacks the default stages {missing}")
    deal_sql = (
        f"INSERT INTO deals ({', '.join(DEAL_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(DEAL_COLUMNS))})"
    )
    change_sql = (
        "INSERT INTO deal_stage_changes (deal_id, from_stage_id, to_stage_id, at) "
        "VALUES (?, ?, ?, ?)"
    )
    batch: list[tuple[Any, ...]] = []
    changes: list[DealChange] = []
    added = changed = 0

    def flush() -> None:
        nonlocal added, changed
        conn.executemany(deal_sql, batch)
        conn.executemany(change_sql, changes)
        added, changed = added + len(batch), changed + len(changes)
        batch.clear()
        changes.clear()

    # A bigger page cache for this connection only (not stored in the file): the random uids,
    # customers and stages of a million deals otherwise make every index insert a cache miss.
    conn.execute("PRAGMA cache_size = -262144")
    begin_command(conn, ["bench/run.py", "deals"])
    for row, history in sales_deals(customers, deals, seed, stage_ids, now):
        batch.append(row)
        changes.extend(history)
        if len(batch) == DEAL_BATCH:
            flush()
            if added % (DEAL_BATCH * 10) == 0:
                log(f"  {added:,} deals")
    flush()
    end_command(conn)
    return added, changed


def build_sales(
    tools: Tools,
    workdir: Path,
    customers: int,
    deals: int,
    empty: Path,
    rebuild: bool,
    service: tuple[int, int] = (SERVICE_REMINDERS, SERVICE_TICKETS),
    interactions: int = SALES_INTERACTIONS,
    billing: tuple[int, int] = (receivables.SALES_INVOICES, receivables.SALES_PAYMENTS),
) -> dict[str, Any]:
    """The cached "sales" database: ``customers`` imported with ``crm customer import``,
    then ``deals`` over them with their stage history, ``interactions`` with them, the
    service data and the invoices and payments (built if needed, like build())."""
    reminders, tickets = service
    invoices, payments = billing
    name = f"sales-{customers}-{deals}-{interactions}-{reminders}-{tickets}-{invoices}-{payments}"
    db = workdir / f"{name}.db"
    meta_path = workdir / f"{name}.json"
    source = source_fingerprint()
    if not rebuild and db.exists() and meta_path.exists():
        meta: dict[str, Any] = json.loads(meta_path.read_text())
        if (meta.get("generator") != SALES_GENERATOR_VERSION
                or meta.get("customers") != customers or meta.get("deals") != deals
                or meta.get("interactions") != interactions
                or meta.get("service", {}).get("reminders") != reminders
                or meta.get("service", {}).get("tickets") != tickets
                or meta.get("billing") != [invoices, payments]):  # fmt: skip
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
    started = time.perf_counter()
    building = workdir / f"{name}.building.db"
    csv_path = workdir / f"sales-customers-{customers}.csv"
    log(f"writing {customers:,} customers to {csv_path}")
    write_csv(csv_path, customers, seed=customers + 11)
    copy_db(empty, building)
    log(f"importing them with crm customer import (one process; {customers:,} rows)")
    import_s = wall(tools.crm_argv(building, "customer", "import", str(csv_path)))
    csv_path.unlink()
    conn = connect(building)
    imported = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
    if imported != customers:
        raise SystemExit(f"the import added {imported:,} customers, not {customers:,}")
    log(f"imported in {import_s:.1f} s; adding {deals:,} deals with their stage history")
    start = time.perf_counter()
    audit_before = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    now = int(time.time())
    added, changes = insert_deals(conn, customers, deals, seed=deals + customers, now=now)
    deals_s = time.perf_counter() - start
    audit_rows = conn.execute("SELECT count(*) FROM audit").fetchone()[0] - audit_before
    log(f"{added:,} deals, {changes:,} stage changes, {audit_rows:,} audit rows in {deals_s:.1f} s")
    log(f"adding {interactions:,} interactions ({INTERACTION_WINDOW:,} per INSERT … SELECT)")
    start = time.perf_counter()
    rows = sales_interactions(customers, interactions, seed=interactions + customers, now=now)
    logged = insert_interactions(conn, rows, progress=max(INTERACTION_WINDOW, 200_000))
    interactions_s = time.perf_counter() - start
    audited = conn.execute(
        "SELECT count(*) FROM audit WHERE table_name = 'interactions' AND action = 'insert'"
    ).fetchone()[0]
    if logged != interactions or audited != logged:
        raise SystemExit(f"{logged:,} interactions added with {audited:,} audit rows, "
                         f"not {interactions:,}")  # fmt: skip
    log(f"{logged:,} interactions in {interactions_s:.1f} s ({logged / interactions_s:,.0f}/s)")
    log(f"adding {reminders:,} reminders, {tickets:,} tickets, birthdays and cadences")
    start = time.perf_counter()
    counts = insert_service(conn, customers, deals, reminders, tickets, now)
    service_s = time.perf_counter() - start
    log(f"adding {invoices:,} invoices and {payments:,} payments")
    start = time.perf_counter()
    billed = receivables.insert_receivables(conn, invoices, payments, now, begin_command,
                                            end_command)  # fmt: skip
    billed["seconds"] = time.perf_counter() - start
    log(f"{billed['invoices']:,} invoices, {billed['payments']:,} payments in "
        f"{billed['seconds']:.1f} s")  # fmt: skip
    log("checking the search index against the interactions it must hold")
    start = time.perf_counter()
    search_problems = search_index_problems(conn)
    check_s = time.perf_counter() - start
    if search_problems:
        raise SystemExit(f"the search index is wrong after the build: {search_problems}")
    log(f"search index checked in {check_s:.1f} s; choosing the customer `show` displays")
    show = busiest_customer(conn)
    stage_counts = dict(
        conn.execute(
            "SELECT s.name, count(*) FROM deals d JOIN stages s ON s.id = d.stage_id "
            "GROUP BY s.id ORDER BY s.id"
        )
    )
    currency_counts = dict(
        conn.execute("SELECT currency, count(*) FROM deals GROUP BY currency ORDER BY 2 DESC")
    )
    kind_counts = dict(
        conn.execute("SELECT type, count(*) FROM interactions GROUP BY type ORDER BY 2 DESC")
    )
    # No ANALYZE or PRAGMA optimize: crm never runs them, so its planner has no statistics.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    building.replace(db)
    remove_db(building)
    meta = {
        "generator": SALES_GENERATOR_VERSION,
        "customers": customers,
        "deals": added,
        "stage_changes": changes,
        "audit_rows": audit_rows,
        "stages": stage_counts,
        "currencies": currency_counts,
        "interactions": logged,
        "interaction_types": kind_counts,
        "show": show,
        "import_seconds": import_s,
        "deals_seconds": deals_s,
        "interactions_seconds": interactions_s,
        "service": counts,
        "service_seconds": service_s,
        "billing": [invoices, payments],
        "receivables": billed,
        "search_check_seconds": check_s,
        "now": now,
        "build_seconds": time.perf_counter() - started,
        "db_bytes": db.stat().st_size,
        "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": source,
    }
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    meta["db"] = str(db)
    meta["cached"] = ""
    return meta


def search_index_problems(conn: sqlite3.Connection) -> list[str]:
    """What is wrong with the customers' search index: FTS5's own integrity check, then every
    customer's indexed text against the text crm's triggers make from the customer and all
    their interactions (the same expressions, from crmcli.migrations)."""
    from crmcli.migrations import customer_search_doc

    problems = []
    try:
        conn.execute("INSERT INTO customers_fts (customers_fts) VALUES ('integrity-check')")
    except sqlite3.DatabaseError as exc:
        problems.append(f"FTS5 integrity-check: {exc}")
    columns = ("name", "email", "phone", "company", "city", "notes", "activity")
    doc = customer_search_doc("c") + " FROM customers c"
    wrong, first = conn.execute(
        f"WITH d (id, {', '.join(columns)}) AS ({doc}) "
        "SELECT count(*), min(d.id) FROM d LEFT JOIN customers_fts f ON f.rowid = d.id "
        f"WHERE f.rowid IS NULL OR ({', '.join(f'f.{c}' for c in columns)}) "
        f"IS NOT ({', '.join(f'd.{c}' for c in columns)})"
    ).fetchone()
    if wrong:
        problems.append(f"{wrong:,} customers indexed with other text (the first: {first})")
    extra = conn.execute(
        "SELECT count(*) FROM customers_fts WHERE rowid NOT IN (SELECT id FROM customers)"
    ).fetchone()[0]
    if extra:
        problems.append(f"{extra:,} search rows without their customer")
    return problems


def busiest_customer(conn: sqlite3.Connection) -> dict[str, int]:
    """The customer `customer show` displays on the sales database: the one with the most
    interactions (the lowest id of those), with how many interactions and deals it has."""
    customer_id, logged = conn.execute(
        "SELECT customer_id, count(*) FROM interactions WHERE customer_id IS NOT NULL "
        "GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 1"
    ).fetchone() or (1, 0)  # no interactions at all (--interactions 0): the first customer
    deals = conn.execute(
        "SELECT count(*) FROM deals WHERE customer_id = ?", (customer_id,)
    ).fetchone()[0]
    return {"id": int(customer_id), "interactions": int(logged), "deals": int(deals)}


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


def overhead_row(measure: str, command: str, sample: Sample, shell_s: float,
                 version: Sample) -> Row:  # fmt: skip
    """A query-overhead row: (command − crm --version) ÷ max(shell, the 10 ms allowance)."""
    overhead = (sample.median - version.median) / max(shell_s, SHELL_ALLOWANCE_S)
    floor = f"{shell_s * 1000:.1f} (sqlite3)"
    if shell_s < SHELL_ALLOWANCE_S:
        floor += " → 10.0 allowance"
    return Row(measure, command, sample.ms(), sample.spread(), floor, f"{overhead:.2f}",
               f"≤ {OVERHEAD_MAX:g}", verdict(overhead, OVERHEAD_MAX, True))  # fmt: skip


def timed_rounds(
    jobs: dict[str, list[str]], runs: int, envs: dict[str, dict[str, str]] | None = None
) -> dict[str, Sample]:
    """One warm-up of every job, then ``runs`` rounds of all of them, interleaved so that
    noise on the machine spreads over every command alike.  ``envs``: extra environment
    variables of some jobs (the pinned clock of `remind due`)."""
    envs = envs or {}
    for name, argv in jobs.items():
        wall(argv, envs.get(name))
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for round_ in range(runs):
        log(f"  round {round_ + 1}/{runs}")
        for name, argv in jobs.items():
            times[name].append(wall(argv, envs.get(name)))
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
    sql["show"] = show_sql(db, show_id)
    for name, text in sql.items():
        slug = name.replace(" (", "-").replace(" word)", "").replace(" ", "-")
        (db.parent / f"sql-{slug}.sql").write_text(text + "\n")
    notes = [
        warning
        for name, word in searches.items()
        if (warning := check_same_rows(tools, db, word, sql[name])) is not None
    ]
    if (warning := check_show(tools, db, show_id, sql["show"])[1]) is not None:
        notes.append(warning)
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
        has_target = name == "--version"  # the others: information (SPEC 7's targets)
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


def import_file(workdir: Path, rows_n: int) -> Path:
    """The CSV file of the timed imports (made once): new people for both databases, their
    e-mails (crm's match key) unlike any in them."""
    csv_path = workdir / f"import-{rows_n}-g{GENERATOR_VERSION}.csv"
    if not csv_path.exists():
        log(f"writing the {rows_n:,}-row import file {csv_path}")
        write_csv(csv_path, rows_n, seed=rows_n + 7, first_index=10_000_000)
    return csv_path


def import_measures(
    tools: Tools, meta: dict[str, Any], workdir: Path, empty: Path, rows_n: int, runs: int
) -> tuple[list[Row], int]:
    """The timed import, its raw-insert floors and peak RSS; also the tag rows it wrote."""
    csv_path = import_file(workdir, rows_n)
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


def deal_sql(db: Path, today: str) -> dict[str, str]:
    """The product's SQL of the two deal commands, parameters inlined for the shell."""
    from crmcli.core.deals import PIPELINE_SQL, list_query

    conn = sqlite3.connect(db)
    try:  # crm's find_stage(): the stage in use of that name
        found = conn.execute(
            "SELECT id FROM stages WHERE name = ? COLLATE NOCASE AND removed_at IS NULL",
            (LIST_STAGE,),
        ).fetchone()
    finally:
        conn.close()
    if found is None:
        raise SystemExit(f"{db} has no stage {LIST_STAGE!r}")
    sql, params = list_query(today=today, stage_id=int(found[0]), limit=LIST_LIMIT)
    return {
        "pipeline": inline_params(PIPELINE_SQL, [today]).strip(),
        "list": inline_params(sql, params).strip(),
    }


def check_deal_rows(
    tools: Tools, db: Path, commands: dict[str, list[str]], sql: dict[str, str]
) -> tuple[dict[str, int], list[str]]:
    """The rows each command prints, and a warning when the shell's SQL gives other rows."""

    def shell(name: str) -> list[list[str]]:
        out = run_checked([str(tools.sqlite3), "-batch", "-bail", str(db), sql[name]], "sqlite3")
        return [line.split("|") for line in out.stdout.splitlines()]

    counts: dict[str, int] = {}
    warnings: list[str] = []
    printed = run_checked(tools.crm_argv(db, *commands["pipeline"]), "crm deal pipeline").stdout
    crm_rows = [
        tuple(
            "" if r[key] is None else str(r[key]) for key in ("stage", "currency", "deals", "total")
        )
        for r in json.loads(printed)
    ]
    # PIPELINE_SQL's columns: stage, position, probability, currency, deals, total, …
    shell_rows = [(f[0], f[3], f[4], f[5]) for f in shell("pipeline")]
    counts["pipeline"] = len(crm_rows)
    if crm_rows != shell_rows:
        warnings.append(
            f"WARNING: the pipeline's shell SQL gave {len(shell_rows)} rows "
            f"{shell_rows[:3]}…, crm printed {len(crm_rows)} {crm_rows[:3]}…"
        )
    printed = run_checked(tools.crm_argv(db, *commands["list"]), "crm deal list").stdout
    crm_ids = [line.split("\t", 1)[0] for line in printed.splitlines()[1:]]  # after the header
    shell_ids = [fields[0] for fields in shell("list")]
    counts["list"] = len(crm_ids)
    if crm_ids != shell_ids:
        warnings.append(
            f"WARNING: the list's shell SQL gave {len(shell_ids)} deals {shell_ids[:5]}…, "
            f"crm printed {len(crm_ids)} {crm_ids[:5]}…"
        )
    return counts, warnings


def sales_measures(
    tools: Tools, meta: dict[str, Any], runs: int
) -> tuple[list[Row], list[str], dict[str, int]]:
    """Start-up ratios and query overheads of `crm deal pipeline` and `crm deal list` on the
    sales database; also warnings, if any, and the rows each command prints."""
    from crmcli.dates import today_local  # what crm's _today() uses (CRM_NOW honoured)

    db = Path(meta["db"])
    sql = deal_sql(db, today_local().isoformat())
    for name, text in sql.items():
        (db.parent / f"sql-deal-{name}.sql").write_text(text + ";\n")
    commands = {
        "pipeline": ["deal", "pipeline", "-f", "json"],
        "list": ["deal", "list", "--stage", LIST_STAGE, "--limit", str(LIST_LIMIT), "-f", "tsv"],
    }
    counts, notes = check_deal_rows(tools, db, commands, sql)
    sqlite = [str(tools.sqlite3), "-batch", "-bail", str(db)]
    jobs = {
        "python -c pass": [str(tools.python), "-c", "pass"],
        "--version": [str(tools.crm), "--version"],
        **{name: tools.crm_argv(db, *args) for name, args in commands.items()},
        **{f"sqlite3: {name}": [*sqlite, text] for name, text in sql.items()},
    }
    log(f"deals: timing {len(jobs)} commands: 1 warm-up + {runs} interleaved rounds")
    t = timed_rounds(jobs, runs)
    py, version = t["python -c pass"], t["--version"]

    def shown(name: str) -> str:
        return shlex.join(["crm", *commands[name]])

    labels = {"pipeline": "pipeline", "list": f"list --stage {LIST_STAGE}"}
    rows = [
        Row("deals: floor: interpreter start-up", "python -c pass", py.ms(), py.spread()),
        Row("deals: floor: crm --version", "crm --version", version.ms(), version.spread(),
            f"{py.ms()} (python -c pass)", f"{version.median / py.median:.2f}", "— (info)"),
    ]  # fmt: skip
    for name in commands:
        shell = t[f"sqlite3: {name}"]
        rows.append(
            Row(
                f"deals: floor: sqlite3 shell, {labels[name]} SQL",
                "sqlite3 DB '<same SQL>'",
                shell.ms(),
                shell.spread(),
            )
        )
    for name in ("list", "pipeline"):  # information: their targets are query overheads
        sample = t[name]
        rows.append(
            Row(
                "deals: start-up ratio",
                shown(name),
                sample.ms(),
                sample.spread(),
                f"{py.ms()} (python -c pass)",
                f"{sample.median / py.median:.2f}",
                "— (info)",
            )
        )
    for name in commands:
        rows.append(
            overhead_row("deals: query overhead vs crm --version", shown(name), t[name],
                         t[f"sqlite3: {name}"].median, version)
        )  # fmt: skip
    return rows, notes, counts


def due_sql(moment: str) -> str:
    """The SQL `crm remind due` runs at local time ``moment`` (settings at their defaults),
    parameters inlined for the shell, one statement per source."""
    from crmcli.core.due import Window, queries
    from crmcli.core.settings import SETTINGS

    defaults = {k: str(SETTINGS[k].default) for k in ("stale_lead_days", "contract_notice_days")}
    window = Window(datetime.fromisoformat(moment).astimezone(), None, defaults)
    return ";\n".join(inline_params(sql, params).strip() for _, sql, params in queries(window))


def due_measures(tools: Tools, meta: dict[str, Any], runs: int) -> tuple[list[Row], list[str]]:
    """`crm remind due` on the sales database: on a day with nothing due (start-up ratio and
    query overhead) and on the day the data was generated for (query overhead)."""
    db = Path(meta["db"])
    days = {
        "quiet": quiet_day(int(meta["now"])),
        "busy": datetime.fromtimestamp(int(meta["now"])).strftime("%Y-%m-%dT%H:%M:%S"),
    }
    sql = {name: due_sql(moment) for name, moment in days.items()}
    for name, text in sql.items():
        (db.parent / f"sql-due-{name}.sql").write_text(text + ";\n")
    argv = tools.crm_argv(db, "remind", "due")
    printed = {}
    for name, moment in days.items():
        result = subprocess.run(
            [*argv, "-f", "tsv"], capture_output=True, text=True,
            env={**os.environ, "CRM_NOW": moment}, check=True,
        )  # fmt: skip
        printed[name] = [line.split("\t", 1)[0] for line in result.stdout.splitlines()[1:]]
    notes = []
    if printed["quiet"]:
        notes.append(f"WARNING: {len(printed['quiet'])} items due on the quiet day {days['quiet']}")
    shell = run_checked([str(tools.sqlite3), "-batch", "-bail", str(db), sql["busy"]], "sqlite3")
    kinds: dict[str, int] = {}
    for kind in printed["busy"]:
        kinds[kind] = kinds.get(kind, 0) + 1
    shell_rows = len(shell.stdout.splitlines())
    sqlite = [str(tools.sqlite3), "-batch", "-bail", str(db)]
    jobs = {
        "python -c pass": [str(tools.python), "-c", "pass"],
        "--version": [str(tools.crm), "--version"],
        "due quiet": argv,
        "due busy": argv,
        "sqlite3 quiet": [*sqlite, sql["quiet"]],
        "sqlite3 busy": [*sqlite, sql["busy"]],
    }
    envs = {"due quiet": {"CRM_NOW": days["quiet"]}, "due busy": {"CRM_NOW": days["busy"]}}
    log(f"remind due: timing {len(jobs)} commands: 1 warm-up + {runs} interleaved rounds")
    t = timed_rounds(jobs, runs, envs)
    py, version = t["python -c pass"], t["--version"]
    quiet = t["due quiet"]
    rows = [
        Row("due: floor: interpreter start-up", "python -c pass", py.ms(), py.spread()),
        Row("due: floor: crm --version", "crm --version", version.ms(), version.spread(),
            f"{py.ms()} (python -c pass)", f"{version.median / py.median:.2f}", "— (info)"),
        Row("due: floor: sqlite3 shell, nothing due", "sqlite3 DB '<same SQL>'",
            t["sqlite3 quiet"].ms(), t["sqlite3 quiet"].spread()),
        Row("due: floor: sqlite3 shell, a busy day", "sqlite3 DB '<same SQL>'",
            t["sqlite3 busy"].ms(), t["sqlite3 busy"].spread()),
        Row("due: start-up ratio, nothing due", "crm remind due", quiet.ms(), quiet.spread(),
            f"{py.ms()} (python -c pass)", f"{quiet.median / py.median:.2f}",
            f"≤ {STARTUP_MAX:g}", verdict(quiet.median / py.median, STARTUP_MAX, True)),
    ]  # fmt: skip
    for name, label in (("quiet", "nothing due"), ("busy", "a busy day")):
        rows.append(
            overhead_row(f"due: query overhead, {label}", "crm remind due", t[f"due {name}"],
                         t[f"sqlite3 {name}"].median, version)
        )  # fmt: skip
    service = meta["service"]
    notes += [
        f"Service data: {service['reminders']:,} reminders (30 % pending), "
        f"{service['tickets']:,} tickets ({service['events']:,} events), "
        f"{service['birthdays']:,} birthdays (none on 1 January), {service['cadences']:,} "
        f"customers with a contact cadence ({service['interactions']:,} interactions), "
        f"inserted in {float(meta['service_seconds']):.1f} s.",
        f"`crm remind due` runs with CRM_NOW pinned: nothing due at {days['quiet']} (before "
        f"all data); the busy day {days['busy']} (when the data was generated) prints "
        f"{len(printed['busy']):,} items ("
        + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
        + f"); the shell runs the same {len(sql['busy'].split(';'))} statements "
        f"(crmcli.core.due.queries) and prints {shell_rows:,} rows (the cadence rows are "
        "filtered in Python).",
    ]
    return rows, notes


REPORTS = (
    "pipeline", "forecast", "sales", "leads", "customers", "tickets", "activity", "receivables",
)  # fmt: skip


def report_sql(db: Path) -> dict[str, str]:
    """The SQL each `crm report NAME -f json` runs with its default options (the clock is the
    process's CRM_NOW), parameters inlined for the shell, sections joined."""
    from crmcli.core import periods, reports, reports_service
    from crmcli.core.reports import _now, _today

    today, now = _today(), _now()
    this_year = periods.period_range("this-year", today)
    every = periods.period_range("all", today)
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT value FROM settings WHERE key = 'at_risk_days'").fetchone()
    finally:
        conn.close()
    days = int(row[0]) if row else 60
    queries = {
        "pipeline": reports.pipeline_sql(every, now),
        "forecast": reports.forecast_sql(6, today),
        "sales": reports.sales_sql(this_year, "month", today),
        "leads": reports.leads_sql(this_year, "source", today),
        "customers": reports_service.customers_sql(
            every, "year", 10, now, reports_service.days_before(now, days), today
        ),
        "tickets": reports_service.tickets_sql(this_year, now),
        "activity": reports_service.activity_sql(this_year, "month", today),
        "receivables": receivables.report_queries(today),
    }
    return {
        name: ";\n".join(inline_params(sql, params).strip() for sql, params in parts.values())
        for name, parts in queries.items()
    }


def report_measures(tools: Tools, meta: dict[str, Any], runs: int) -> tuple[list[Row], list[str]]:
    """Every `crm report … -f json` on the sales database (the clock pinned to the day the
    data was generated for) against the same SQL in the shell."""
    db = Path(meta["db"])
    moment = datetime.fromtimestamp(int(meta["now"])).strftime("%Y-%m-%dT%H:%M:%S")
    saved = os.environ.get("CRM_NOW")
    os.environ["CRM_NOW"] = moment
    try:
        sql = report_sql(db)
    finally:
        if saved is None:
            os.environ.pop("CRM_NOW", None)
        else:
            os.environ["CRM_NOW"] = saved
    sqlite = [str(tools.sqlite3), "-batch", "-bail", str(db)]
    jobs: dict[str, list[str]] = {"--version": [str(tools.crm), "--version"]}
    envs: dict[str, dict[str, str]] = {}
    for name in REPORTS:
        (db.parent / f"sql-report-{name}.sql").write_text(sql[name] + ";\n")
        jobs[name] = tools.crm_argv(db, "report", name, "-f", "json")
        envs[name] = {"CRM_NOW": moment}
        jobs[f"sqlite3 {name}"] = [*sqlite, sql[name]]
    log(f"reports: timing {len(jobs)} commands: 1 warm-up + {runs} interleaved rounds")
    t = timed_rounds(jobs, runs, envs)
    version = t["--version"]
    rows = []
    for name in REPORTS:
        rows.append(
            overhead_row(f"report: query overhead, {name}", f"crm report {name} -f json",
                         t[name], t[f"sqlite3 {name}"].median, version)
        )  # fmt: skip
    notes = [
        f"`crm report NAME -f json` with its default options and CRM_NOW={moment}; the shell "
        "runs the same statements (crmcli.core.reports*.NAME_sql, every section); "
        f"crm --version in this part: {version.ms()} ms."
    ]
    return rows, notes


SHOW_LISTS = ("interactions", "deals", "tickets", "reminders", "leads")


def check_show(
    tools: Tools, db: Path, customer_id: int, sql: str
) -> tuple[dict[str, int], str | None]:
    """What `crm customer show ID -f json` lists, and a warning when the shell's statements
    give another number of rows (one for the customer, one for its cadence, then the lists)."""
    printed = json.loads(
        run_checked(
            tools.crm_argv(db, "customer", "show", str(customer_id), "-f", "json"),
            "crm customer show",
        ).stdout
    )
    counts = {name: len(printed.get(name) or ()) for name in SHOW_LISTS}
    shell = run_checked([str(tools.sqlite3), "-batch", "-bail", str(db), sql], "sqlite3")
    shell_rows, crm_rows = len(shell.stdout.splitlines()), 2 + sum(counts.values())
    if shell_rows != crm_rows:
        return counts, (
            f"WARNING: for customer show {customer_id} the shell SQL gave {shell_rows} rows, "
            f"crm showed {crm_rows} (the customer, its cadence, {counts})"
        )
    return counts, None


# `crm customer list` as a script calls it: a page of tab-separated lines.
LIST_PAGE = ["customer", "list", "-f", "tsv", "--limit", "20"]

EVERYDAY_QUIET = "2001-01-01T09:00:00"  # before the demo's data: nothing due (no 1 Jan birthday)


def everyday_measures(tools: Tools, scratch: Path, runs: int) -> tuple[list[Row], list[str]]:
    """Start-up ratios on the database a seller has on day one (``crm demo``): what every
    command costs before its query, with no big query on top."""
    db = scratch / "everyday.db"
    remove_db(db)
    run_checked(tools.crm_argv(db, "demo", "-f", "tsv"), "crm demo")
    quiet = {"CRM_NOW": EVERYDAY_QUIET}
    due = run_checked(tools.crm_argv(db, "remind", "due"), "crm remind due")
    notes = []
    if subprocess.run(tools.crm_argv(db, "remind", "due"), capture_output=True, text=True,
                      env={**os.environ, **quiet}).stdout:  # fmt: skip
        notes.append(f"WARNING: everyday: `remind due` at {EVERYDAY_QUIET} is not quiet")
    commands = {
        "--version": ["--version"],
        "remind due": ["remind", "due"],
        "list": LIST_PAGE,
        "show": ["customer", "show", "1", "-f", "json"],
    }
    jobs = {"python -c pass": [str(tools.python), "-c", "pass"]}
    for name, args in commands.items():
        jobs[name] = [str(tools.crm), *args] if name == "--version" else tools.crm_argv(db, *args)
    rounds = 3 * runs  # these are quick: more rounds for a steadier median
    log(f"everyday: timing {len(jobs)} commands: 1 warm-up + {rounds} interleaved rounds")
    t = timed_rounds(jobs, rounds, {"remind due": quiet})
    py = t["python -c pass"]
    rows = [Row("everyday: floor: interpreter start-up", "python -c pass", py.ms(), py.spread())]
    for name, args in commands.items():
        ratio = t[name].median / py.median
        has_target = name != "show"
        rows.append(
            Row(
                "everyday: start-up ratio" + (", nothing due" if name == "remind due" else ""),
                shlex.join(["crm", *args]),
                t[name].ms(),
                t[name].spread(),
                f"{py.ms()} (python -c pass)",
                f"{ratio:.2f}",
                f"≤ {STARTUP_MAX:g}" if has_target else "— (info)",
                verdict(ratio, STARTUP_MAX, True) if has_target else "",
            )
        )
    notes.append(
        f"Everyday part: the database `crm demo` makes ({len(due.stdout.splitlines())} items due "
        f"on the day it is made; `remind due` runs with CRM_NOW={EVERYDAY_QUIET}, nothing due), "
        f"{rounds} interleaved rounds."
    )
    remove_db(db)
    return rows, notes


def scripting_measures(
    tools: Tools, meta: dict[str, Any], runs: int
) -> tuple[list[Row], list[str]]:
    """Start-up ratios of `crm --version`, `crm --help` and a page of `crm customer list`,
    and the query overhead of a search and of `crm customer show` (the customer with the
    most interactions) on the sales database."""
    db = Path(meta["db"])
    show_id = int(meta["show"]["id"])
    sql = {"search": list_sql(COMMON_WORD), "show": show_sql(db, show_id)}
    for name, text in sql.items():
        (db.parent / f"sql-sales-{name}.sql").write_text(text + "\n")
    notes = []
    if (warning := check_same_rows(tools, db, COMMON_WORD, sql["search"])) is not None:
        notes.append(warning)
    shown_lists, warning = check_show(tools, db, show_id, sql["show"])
    if warning is not None:
        notes.append(warning)
    commands = {
        "--version": ["--version"],
        "--help": ["--help"],
        "list": LIST_PAGE,
        "search": ["customer", "list", "--search", COMMON_WORD, "--limit", "20", "-f", "tsv"],
        "show": ["customer", "show", str(show_id), "-f", "json"],
    }
    sqlite = [str(tools.sqlite3), "-batch", "-bail", str(db)]
    jobs = {"python -c pass": [str(tools.python), "-c", "pass"]}
    for name, args in commands.items():
        jobs[name] = tools.crm_argv(db, *args) if args[0] == "customer" else [str(tools.crm), *args]
    jobs |= {f"sqlite3: {name}": [*sqlite, text] for name, text in sql.items()}
    log(f"scripting: timing {len(jobs)} commands: 1 warm-up + {runs} interleaved rounds")
    t = timed_rounds(jobs, runs)
    py, version = t["python -c pass"], t["--version"]

    def shown(name: str) -> str:
        return shlex.join(["crm", *commands[name]])

    rows = [Row("scripting: floor: interpreter start-up", "python -c pass", py.ms(), py.spread())]
    for name in ("--version", "--help", "list"):
        sample = t[name]
        ratio = sample.median / py.median
        has_target = name != "--help"  # --help shows the framework's cost: no target
        rows.append(
            Row(
                "scripting: start-up ratio",
                shown(name),
                sample.ms(),
                sample.spread(),
                f"{py.ms()} (python -c pass)",
                f"{ratio:.2f}",
                f"≤ {STARTUP_MAX:g}" if has_target else "— (info)",
                verdict(ratio, STARTUP_MAX, True) if has_target else "",
            )
        )
    for name, label in (("search", f"search '{COMMON_WORD}'"), ("show", "show")):
        shell = t[f"sqlite3: {name}"]
        rows.append(Row(f"scripting: floor: sqlite3 shell, {label} SQL",
                        "sqlite3 DB '<same SQL>'", shell.ms(), shell.spread()))  # fmt: skip
    for name in ("search", "show"):
        rows.append(
            overhead_row("scripting: query overhead vs crm --version", shown(name), t[name],
                         t[f"sqlite3: {name}"].median, version)
        )  # fmt: skip
    show = meta["show"]
    notes.append(
        f"Scripting part, on the sales database: `customer show {show_id}` is the customer with "
        f"the most interactions ({show['interactions']:,}; {show['deals']:,} deals); it lists "
        + ", ".join(f"{v:,} {k}" for k, v in shown_lists.items())
        + "; the shell runs the statements crmcli.core.customers.show runs, as SQLite traces "
        "them (sql-sales-show.sql), and the search's list_query (sql-sales-search.sql)."
    )
    return rows, notes


def sales_import_measures(
    tools: Tools, meta: dict[str, Any], workdir: Path, rows_n: int, runs: int
) -> tuple[list[Row], list[str]]:
    """`crm customer import` of ``rows_n`` new customers into a copy of the sales database
    against a raw ``executemany`` of the same rows into another copy.  Every run copies the
    large file twice, so there are ``runs`` of them after one untimed import that also
    provides the floor's rows."""
    db = Path(meta["db"])
    csv_path = import_file(workdir, rows_n)
    scratch = workdir / "scratch"
    target, floor_target = scratch / "sales-import.db", scratch / "sales-floor.db"
    first_new = int(meta["customers"]) + 1  # the sales customers have ids 1 … customers

    def crm_import() -> float:
        copy_db(db, target)
        return wall(tools.crm_argv(target, "customer", "import", str(csv_path)))

    log(f"import (sales): untimed crm customer import of {rows_n:,} rows into a copy")
    started = time.perf_counter()
    crm_import()
    conn = sqlite3.connect(target)
    stored = conn.execute(
        f"SELECT {', '.join(CUSTOMER_COLUMNS)} FROM customers WHERE id >= ? ORDER BY id",
        (first_new,),
    ).fetchall()
    conn.close()
    if len(stored) != rows_n:
        raise SystemExit(f"the import stored {len(stored):,} new customers, not {rows_n:,}")
    crm_s: list[float] = []
    floor_s: list[float] = []
    for round_ in range(runs):
        log(f"  import (sales) round {round_ + 1}/{runs}")
        crm_s.append(crm_import())
        floor_s.append(floor_insert(copy_db(db, floor_target), stored, bare=False))
    remove_db(target)
    remove_db(floor_target)
    elapsed = time.perf_counter() - started
    crm, floor = Sample(tuple(crm_s)), Sample(tuple(floor_s))

    def rate(sample: Sample) -> str:
        return f"{rows_n / sample.median:,.0f} rows/s"

    ratio = floor.median / crm.median
    command = f"crm customer import import-{rows_n}.csv"
    rows = [
        Row("import (sales db): floor: raw insert into customers",
            f"executemany INSERT, {rows_n:,} rows", floor.ms(), floor.spread(), rate(floor)),
        Row(f"import (sales db): import ratio (crm: {rate(crm)})", command, crm.ms(),
            crm.spread(), f"{floor.ms()} ({rate(floor)})", f"{ratio:.2f}", f"≥ {IMPORT_MIN:g}",
            verdict(ratio, IMPORT_MIN, False)),
    ]  # fmt: skip
    size = db.stat().st_size / 2**20
    notes = [
        f"Import into the sales database: {rows_n:,} new customers (validation on, matched by "
        f"e-mail against the {int(meta['customers']):,} there) into a fresh copy of the "
        f"{size:,.0f} MiB file, against a raw executemany of the rows crm stored into another "
        f"copy (one transaction with crm's command bookkeeping, triggers and search index); "
        f"{runs} run(s) (--import-runs) after one untimed import, each copying the file twice "
        f"(untimed): this part took {elapsed:.0f} s."
    ]
    return rows, notes


EDIT_BATCH_TAG = "bench-batch"
EDIT_SINGLE_TAG = "bench-single"


def edit_measures(
    tools: Tools, meta: dict[str, Any], workdir: Path, ids_n: int, runs: int
) -> tuple[list[Row], list[str]]:
    """A batch edit of ``ids_n`` customers (their ids on stdin, one process) against
    ``ids_n`` ÷ 100 separate `crm customer edit ID` runs, per id, on a copy of the sales
    database: one warm-up round, then ``runs`` rounds, each on customers not edited yet.
    Afterwards the tags are counted in SQL: a batch that did not tag every customer is a
    failure, said loudly."""
    db = Path(meta["db"])
    customers = int(meta["customers"])
    singles_n = max(1, ids_n // 100)
    per_round = ids_n + singles_n
    if per_round * (runs + 1) > customers:
        raise SystemExit(
            f"the batch edit needs {per_round * (runs + 1):,} customers for {runs} run(s) of "
            f"--edit-ids {ids_n:,}; the sales database has {customers:,}"
        )
    target = workdir / "scratch" / "sales-edit.db"
    log(f"batch edit: copying the sales database to {target}")
    copy_db(db, target)
    picked = random.Random(ids_n + runs).sample(range(1, customers + 1), per_round * (runs + 1))
    batch_argv = tools.crm_argv(target, "customer", "edit", "-", "--add-tag", EDIT_BATCH_TAG)

    def single_argv(customer_id: int) -> list[str]:
        return tools.crm_argv(target, "customer", "edit", str(customer_id), "--add-tag",
                              EDIT_SINGLE_TAG)  # fmt: skip

    batch_s: list[float] = []
    single_s: list[float] = []
    failure: str | None = None
    batched: list[int] = []
    singled: list[int] = []
    for round_ in range(runs + 1):
        log(f"  batch edit {'warm-up' if round_ == 0 else f'round {round_}/{runs}'}")
        chunk = picked[round_ * per_round : (round_ + 1) * per_round]
        ids, singles = chunk[:ids_n], chunk[ids_n:]
        if failure is None:
            seconds, failure = wall_fed(batch_argv, "".join(f"{i}\n" for i in ids).encode())
            if failure is None:
                batched += ids
                if round_:
                    batch_s.append(seconds)
        if round_ == 0:
            singles = singles[:1]
        start = time.perf_counter()
        for customer_id in singles:
            wall(single_argv(customer_id))
        if round_:
            single_s.append(time.perf_counter() - start)
        singled += singles
    conn = sqlite3.connect(target)
    tagged = {
        tag: {row[0] for row in conn.execute(
            "SELECT customer_id FROM customer_tags WHERE tag = ?", (tag,))}
        for tag in (EDIT_BATCH_TAG, EDIT_SINGLE_TAG)
    }  # fmt: skip
    conn.close()
    remove_db(target)
    notes: list[str] = []
    problems = []
    if failure is not None:
        problems.append(f"`crm customer edit - --add-tag {EDIT_BATCH_TAG}` failed ({failure})")
    if tagged[EDIT_BATCH_TAG] != set(batched):
        missing = len(set(batched) - tagged[EDIT_BATCH_TAG])
        extra = len(tagged[EDIT_BATCH_TAG] - set(batched))
        problems.append(f"{missing:,} of the {len(batched):,} customers of the batch edits lack "
                        f"the tag {EDIT_BATCH_TAG} ({extra:,} others carry it)")  # fmt: skip
    if tagged[EDIT_SINGLE_TAG] != set(singled):
        problems.append(f"the separate edits tagged {len(tagged[EDIT_SINGLE_TAG]):,} customers, "
                        f"not the {len(singled):,} edited")  # fmt: skip
    for problem in problems:
        log(f"BATCH EDIT FAILURE: {problem}")
        notes.append(f"WARNING: batch edit: {problem}")
    single = Sample(tuple(s / singles_n for s in single_s))
    single_cmd = f"crm customer edit ID --add-tag {EDIT_SINGLE_TAG}"
    rows = [
        Row(f"batch edit: floor: {singles_n:,} separate run{'s' if singles_n != 1 else ''}, "
            "per id", single_cmd,
            f"{single.median * 1000:.2f}", _spread_ms(single, 2)),
    ]  # fmt: skip
    batch_cmd = f"crm customer edit - --add-tag {EDIT_BATCH_TAG} < {ids_n}-ids"
    if batch_s and not problems:
        batch = Sample(tuple(s / ids_n for s in batch_s))
        speedup = single.median / batch.median
        rows += [
            Row(f"batch edit: {ids_n:,} ids from stdin, per id", batch_cmd,
                f"{batch.median * 1000:.3f}", _spread_ms(batch, 3),
                f"{statistics.median(batch_s) * 1000:.0f} ms for {ids_n:,} ids"),
            Row("batch edit: speed-up per id (separate ÷ batch)", batch_cmd,
                f"{batch.median * 1000:.3f}", "", f"{single.median * 1000:.2f} (separate)",
                f"{speedup:.0f}", f"≥ {EDIT_SPEEDUP_MIN:g}",
                verdict(speedup, EDIT_SPEEDUP_MIN, False)),
        ]  # fmt: skip
    else:
        rows.append(Row(f"batch edit: {ids_n:,} ids from stdin, per id", batch_cmd, "failed",
                        "", "", "", f"≥ {EDIT_SPEEDUP_MIN:g}", "NO (failed)"))  # fmt: skip
    notes.append(
        f"Batch edit on a copy of the sales database: {runs} round(s) after a warm-up, each on "
        f"customers not edited before: {ids_n:,} ids (one per line) piped into one `crm "
        f"customer edit -`, and {singles_n:,} separate `crm customer edit ID` runs, timed "
        "together; per id = wall time ÷ ids.  Afterwards the tags are counted in SQL: "
        + ("every edited customer carries its tag." if not problems else "see the WARNING.")
    )
    return rows, notes


def _spread_ms(sample: Sample, digits: int) -> str:
    return f"{min(sample.values) * 1000:.{digits}f}–{max(sample.values) * 1000:.{digits}f}"


def sales_notes(meta: dict[str, Any], counts: dict[str, int], *, same: bool) -> list[str]:
    deals = int(meta["deals"])

    def share(part: dict[str, int]) -> str:
        return ", ".join(f"{k} {v / deals:.0%}" for k, v in part.items())

    size = Path(meta["db"]).stat().st_size
    built = "this run" if not meta["cached"] else f"cached, {meta['cached']}"
    logged = int(meta["interactions"])
    kinds = ", ".join(f"{k} {v / max(logged, 1):.0%}" for k, v in meta["interaction_types"].items())
    return [
        f"Sales database: {int(meta['customers']):,} customers (crm customer import), "
        f"{deals:,} deals ({share(meta['stages'])}; {share(meta['currencies'])}), "
        f"{int(meta['stage_changes']):,} stage changes, {int(meta['audit_rows']):,} audit rows "
        f"from the deals, {logged:,} interactions ({kinds}; each with its audit row, the "
        f"search index checked against them after the build); {size / 2**20:,.0f} MiB; no "
        "ANALYZE (crm never runs it).",
        f"Sales build ({built}, {meta['built_at']}): {float(meta['build_seconds']):.1f} s = "
        f"import {float(meta['import_seconds']):.1f} s + deals and history in one transaction "
        f"{float(meta['deals_seconds']):.1f} s ({deals / float(meta['deals_seconds']):,.0f} "
        f"deals/s) + interactions {float(meta['interactions_seconds']):.1f} s "
        f"({logged / max(float(meta['interactions_seconds']), 1e-9):,.0f}/s, "
        f"{INTERACTION_WINDOW:,} per INSERT … SELECT through the triggers) + service data "
        f"{float(meta['service_seconds']):.1f} s + search check "
        f"{float(meta['search_check_seconds']):.1f} s + writing the CSV and checkpoint.",
        f"`crm deal pipeline -f json` prints {counts['pipeline']} stage × currency rows; "
        f"`crm deal list --stage {LIST_STAGE} --limit {LIST_LIMIT} -f tsv` prints "
        f"{counts['list']} deals; the shell runs the product's SQL (PIPELINE_SQL with today's "
        "date, list_query with the stage's id and the limit)"
        + (", and gives the same rows." if same else ", and gives OTHER rows (see above)."),
    ]


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
    paragraphs = (__doc__ or "").split("\n\n")
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description=paragraphs[0],
        epilog="\n\n".join(paragraphs[2:]),  # after the usage lines
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        help="rows of the timed imports, into both databases (default N/10 of --customers, "
        "1,000 to 100,000)",
    )
    parser.add_argument(
        "--sales-customers",
        type=int,
        default=SALES_CUSTOMERS,
        metavar="N",
        help=f"customers in the sales database (default {SALES_CUSTOMERS:,})",
    )
    parser.add_argument(
        "--deals",
        type=int,
        default=SALES_DEALS,
        metavar="N",
        help=f"deals in the sales database (default {SALES_DEALS:,})",
    )
    parser.add_argument(
        "--interactions",
        type=int,
        default=SALES_INTERACTIONS,
        metavar="N",
        help=f"interactions in the sales database (default {SALES_INTERACTIONS:,})",
    )
    parser.add_argument(
        "--reminders",
        type=int,
        default=SERVICE_REMINDERS,
        metavar="N",
        help=f"reminders in the sales database (default {SERVICE_REMINDERS:,})",
    )
    parser.add_argument(
        "--tickets",
        type=int,
        default=SERVICE_TICKETS,
        metavar="N",
        help=f"tickets in the sales database (default {SERVICE_TICKETS:,})",
    )
    parser.add_argument(
        "--invoices",
        type=int,
        default=receivables.SALES_INVOICES,
        metavar="N",
        help=f"invoices in the sales database (default {receivables.SALES_INVOICES:,})",
    )
    parser.add_argument(
        "--payments",
        type=int,
        default=receivables.SALES_PAYMENTS,
        metavar="N",
        help=f"payments in the sales database (default {receivables.SALES_PAYMENTS:,})",
    )
    parser.add_argument(
        "--import-runs",
        type=int,
        default=IMPORT_RUNS,
        metavar="R",
        help=f"timed imports into a copy of the sales database, each copying the large file "
        f"twice (default {IMPORT_RUNS})",
    )
    parser.add_argument(
        "--edit-ids",
        type=int,
        default=EDIT_IDS,
        metavar="N",
        help=f"customer ids piped into one batch edit, against N/100 separate edits "
        f"(default {EDIT_IDS:,})",
    )
    parser.add_argument(
        "--only",
        choices=("customers", "sales"),
        help="run one part: the customer commands and import, or everything on the sales "
        "database (default: both)",
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print the table as Markdown, ready for docs/performance.md",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild the cached databases of the parts run"
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
    if args.invoices < 0 or args.payments < 0:
        parser.error("--invoices and --payments must be at least 0")
    if args.sales_customers < 1 or args.deals < 1 or args.interactions < 0:
        parser.error("--sales-customers and --deals must be at least 1, --interactions 0")
    if args.import_runs < 1 or args.edit_ids < 1:
        parser.error("--import-runs and --edit-ids must be at least 1")
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

    argv = [rel(python), rel(Path(__file__))]
    if args.only != "sales":
        argv += ["--customers", str(args.customers)]
    argv += ["--runs", str(args.runs)]
    if args.workdir.resolve() != DEFAULT_WORKDIR:
        argv += ["--workdir", rel(args.workdir)]
    if args.import_rows != default_import_rows(args.customers):
        argv += ["--import-rows", str(args.import_rows)]
    if args.sales_customers != SALES_CUSTOMERS:
        argv += ["--sales-customers", str(args.sales_customers)]
    if args.deals != SALES_DEALS:
        argv += ["--deals", str(args.deals)]
    if args.interactions != SALES_INTERACTIONS:
        argv += ["--interactions", str(args.interactions)]
    if args.reminders != SERVICE_REMINDERS:
        argv += ["--reminders", str(args.reminders)]
    if args.tickets != SERVICE_TICKETS:
        argv += ["--tickets", str(args.tickets)]
    if args.invoices != receivables.SALES_INVOICES:
        argv += ["--invoices", str(args.invoices)]
    if args.payments != receivables.SALES_PAYMENTS:
        argv += ["--payments", str(args.payments)]
    if args.only != "customers":
        if args.import_runs != IMPORT_RUNS:
            argv += ["--import-runs", str(args.import_runs)]
        if args.edit_ids != EDIT_IDS:
            argv += ["--edit-ids", str(args.edit_ids)]
    if args.only:
        argv += ["--only", args.only]
    if args.markdown:
        argv.append("--markdown")
    return f"cd {shlex.quote(str(REPO))} && {shlex.join(argv)}"


def installed_crm(given: Path) -> tuple[Path, Path]:
    """The crm entry point to time (``given``, else the one on PATH) and its interpreter."""
    crm = given.absolute()
    if not crm.exists():
        found = shutil.which("crm")
        if found is None:
            raise SystemExit(f"no crm at {crm}; install the package or pass --crm")
        crm = Path(found)
    return crm, interpreter_of(crm)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    crm, python = installed_crm(args.crm)
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
    rows, notes = everyday_measures(tools, scratch, args.runs)
    if args.only != "sales":
        customer_rows, customer_notes = customer_part(args, tools, workdir, empty)
        rows += customer_rows
        notes += customer_notes
    if args.only != "customers":
        sales_rows, sales_notes_ = sales_part(args, tools, workdir, empty)
        rows += sales_rows
        notes += sales_notes_
    remove_db(empty)
    elapsed = time.perf_counter() - started
    notes += [
        f"Medians of {args.runs} run(s) after one warm-up, spread = min–max, commands "
        "interleaved; crm's data commands get --db DB; stdout goes to /dev/null.",
        "start-up ratio = command ÷ `python -c pass` (crm's interpreter).",
        "query overhead = (command − crm --version) ÷ max(sqlite3 shell on the same SQL and "
        "file, 10 ms), the 10 ms allowance of SPEC 7 applying when the shell answers faster; "
        "`crm --version` goes through the whole command-line framework, like every command.",
        f"The shell's SQL is in {workdir}/sql-*.sql; this run took {elapsed:.0f} s.",
    ]
    print(render_markdown(rows) if args.markdown else render_plain(rows))
    print()
    bullet = "- " if args.markdown else ""
    for line in machine_facts(tools) + notes:
        print(f"{bullet}{line}")
    print()
    print(f"Reproduce: {reproduce(args, tools.python)}")
    return 0


def sales_part(
    args: argparse.Namespace, tools: Tools, workdir: Path, empty: Path
) -> tuple[list[Row], list[str]]:
    """Everything on the sales database: deals, `remind due`, the reports, then the scripting
    measures (start-up, search, show), the import into it and the batch edit."""
    meta = build_sales(
        tools, workdir, args.sales_customers, args.deals, empty, args.rebuild,
        (args.reminders, args.tickets), args.interactions, (args.invoices, args.payments),
    )  # fmt: skip
    rows, warnings, counts = sales_measures(tools, meta, args.runs)
    notes = warnings + sales_notes(meta, counts, same=not warnings) + receivables.notes(meta)
    for part_rows, part_notes in (
        due_measures(tools, meta, args.runs),
        report_measures(tools, meta, args.runs),
        scripting_measures(tools, meta, args.runs),
        sales_import_measures(tools, meta, workdir, args.import_rows, args.import_runs),
        edit_measures(tools, meta, workdir, args.edit_ids, args.runs),
    ):
        rows += part_rows
        notes += part_notes
    return rows, notes


def customer_part(
    args: argparse.Namespace, tools: Tools, workdir: Path, empty: Path
) -> tuple[list[Row], list[str]]:
    """The customer commands and the import, on the database of --customers customers."""
    meta = build(tools, workdir, args.customers, empty, args.rebuild)
    rows, notes = query_measures(tools, meta, args.runs)
    import_rows, tag_rows = import_measures(
        tools, meta, workdir, empty, args.import_rows, args.runs
    )
    rows += import_rows
    if meta["cached"] == "older code":
        notes.append(
            "WARNING: crmcli's code changed since the cached build, so the build's import time "
            "and peak RSS (the memory ratio) come from the older code; --rebuild to refresh."
        )
    notes += [
        f"Database: {args.customers:,} customers, {meta['interactions']:,} interactions "
        f"(built {meta['built_at']}); `show` displays customer {meta['show_id']}; searches: "
        f"'{COMMON_WORD}' (common), '{RARE_WORD}' (rare, in interaction text).",
        "import ratio = crm rows/s ÷ rows/s of a raw executemany of the rows crm stored "
        "(read back, uids included) into a fresh copy of the same empty database, one "
        "transaction with crm's command bookkeeping, open to close; the floor leaves out the "
        f"customer_tags rows crm also writes ({tag_rows:,} of them).",
        "memory ratio = peak RSS (ru_maxrss of a small wrapper's child) of the build's import "
        f"÷ median of the {args.import_rows:,}-row imports.",
    ]
    return rows, notes


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
