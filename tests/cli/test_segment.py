"""``crm segment …``: every criterion against an independent Python filter over a seeded
dataset, combinations, formats, bad input, unknown segments, undo; RFM scores recomputed
in Python; ``--segment`` on customer list and export."""

from __future__ import annotations

import importlib.util
import json
import random
import sqlite3
import unicodedata
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import dump

ROOT = Path(__file__).resolve().parents[2]
# The fixed clock: Monday 2026-11-23 10:00 in Hồ Chí Minh City (UTC+7) = 03:00 UTC.
TODAY = date(2026, 11, 23)
NOW_UTC = "2026-11-23T03:00:00Z"


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_segments", ROOT / "bench" / "segments.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 seeded customers (bench/segments.py's generator), built once and copied."""
    path = tmp_path_factory.mktemp("segments") / "data.db"
    _bench().build(path, 400, seed=7)
    return path


@pytest.fixture
def data(dataset: Path, db_path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(dataset)
    conn.execute(f"VACUUM INTO '{db_path}'")
    conn.close()
    return load(db_path)


def fold(text: str | None) -> str:
    if text is None:
        return ""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D").casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


def load(path: Path) -> dict[str, Any]:
    """The raw rows, read with plain SQL: what the Python filters work on."""
    conn = sqlite3.connect(path)
    customers = {
        r[0]: {"id": r[0], "city": r[1], "country": r[2], "birthday": r[3], "source": r[4],
               "fields": json.loads(r[5]), "company": r[6]}
        for r in conn.execute(
            "SELECT id, city, country, birthday, source, fields, company FROM customers"
        )
    }  # fmt: skip
    tags: dict[int, set[str]] = defaultdict(set)
    for cid, tag in conn.execute("SELECT customer_id, tag FROM customer_tags"):
        tags[cid].add(tag)
    contacts: dict[int, list[str]] = defaultdict(list)
    for cid, at in conn.execute("SELECT customer_id, happened_at FROM interactions"):
        contacts[cid].append(at)
    deals: dict[int, list[tuple[str, int, str, str | None]]] = defaultdict(list)
    for cid, kind, amount, currency, closed in conn.execute(
        "SELECT d.customer_id, s.kind, d.amount, d.currency, d.closed_at FROM deals d "
        "JOIN stages s ON s.id = d.stage_id"
    ):
        deals[cid].append((kind, amount, currency, closed))
    tickets: dict[int, list[tuple[str, int | None, str | None, int]]] = defaultdict(list)
    for tid, cid, status, sat, closed in conn.execute(
        "SELECT id, customer_id, status, satisfaction, closed_at FROM tickets"
    ):
        tickets[cid].append((status, sat, closed, tid))
    consents = {(c, ch): st for c, ch, st in conn.execute(
        "SELECT customer_id, channel, status FROM consents")}  # fmt: skip
    conn.close()
    return {"customers": customers, "tags": tags, "contacts": contacts, "deals": deals,
            "tickets": tickets, "consents": consents}  # fmt: skip


def age(birthday: str | None) -> int | None:
    if not birthday or birthday.startswith("--"):
        return None
    born = date.fromisoformat(birthday)
    return TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))


def has_words(value: str | None, words: str) -> bool:
    tokens = fold(value).replace("-", " ").split()
    query = fold(words).split()
    n = len(query)
    return any(
        tokens[i : i + n - 1] == query[:-1] and tokens[i + n - 1].startswith(query[-1])
        for i in range(len(tokens) - n + 1)
    )


def won_value(d: dict[str, Any], cid: int, currency: str) -> int:
    return sum(a for k, a, cur, _c in d["deals"][cid] if k == "won" and cur == currency)


def last_satisfaction(d: dict[str, Any], cid: int) -> int | None:
    rated = [t for t in d["tickets"][cid] if t[0] == "closed" and t[1] is not None]
    return max(rated, key=lambda t: (t[2], t[3]))[1] if rated else None


def rfm(d: dict[str, Any]) -> dict[int, tuple[int, int, int]]:
    """RFM scores computed here, from the rows: quintiles by rank, ties alike."""
    since = "2025-11-23T03:00:00Z"  # 365 days before the fixed clock
    values = {}
    for cid in d["customers"]:
        won = [x for x in d["deals"][cid] if x[0] == "won"]
        moments = d["contacts"][cid] + [x[3] for x in won if x[3]]
        last = max(moments) if moments else ""
        freq = sum(at >= since for at in d["contacts"][cid])
        freq += sum(1 for x in won if x[3] and x[3] >= since)
        money = sum(x[1] for x in won if x[3] and x[3] >= since and x[2] == "USD")
        values[cid] = (last, freq, money)
    n = len(values)
    scores: dict[int, list[int]] = {cid: [] for cid in values}
    for i in range(3):
        ordered = sorted(v[i] for v in values.values())
        for cid, v in values.items():
            lower = sum(1 for o in ordered if o < v[i])
            scores[cid].append(1 + 5 * lower // n)
    return {cid: (s[0], s[1], s[2]) for cid, s in scores.items()}


def members(crm: Any, name: str) -> list[int]:
    result = crm("segment", "show", name, "-f", "ids")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return [int(x) for x in result.stdout.split()]


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result


CRITERIA: list[tuple[list[str], Any]] = [
    (["--tag", "vip"], lambda d, c: "vip" in d["tags"][c["id"]]),
    (["--tag", "vip", "--tag", "b2b"], lambda d, c: {"vip", "b2b"} <= d["tags"][c["id"]]),
    (["--any-tag", "vip", "--any-tag", "partner"],
     lambda d, c: bool({"vip", "partner"} & d["tags"][c["id"]])),
    (["--not-tag", "vip", "--not-tag", "lapsed"],
     lambda d, c: not {"vip", "lapsed"} & d["tags"][c["id"]]),
    (["--city", "HA NOI"], lambda d, c: has_words(c["city"], "ha noi")),
    (["--city", "munch"], lambda d, c: has_words(c["city"], "munch")),
    (["--country", "viet nam"], lambda d, c: fold(c["country"]) == "viet nam"),
    (["--source", "HOI CHO"], lambda d, c: fold(c["source"]) == "hoi cho"),
    (["--age", "30-45"], lambda d, c: (a := age(c["birthday"])) is not None and 30 <= a <= 45),
    (["--age", "60-"], lambda d, c: (a := age(c["birthday"])) is not None and a >= 60),
    (["--age", "-25"], lambda d, c: (a := age(c["birthday"])) is not None and a <= 25),
    (["--birthday-month", "12"],
     lambda d, c: c["birthday"] is not None and c["birthday"][-5:-3] == "12"),
    (["--field", "gender=F"], lambda d, c: c["fields"].get("gender") == "f"),
    (["--won-min", "10000"], lambda d, c: won_value(d, c["id"], "USD") >= 1_000_000),
    (["--won-max", "5000 EUR"], lambda d, c: won_value(d, c["id"], "EUR") <= 500_000),
    (["--won-deals-min", "1"],
     lambda d, c: sum(x[0] == "won" for x in d["deals"][c["id"]]) >= 1),
    (["--contacted-before", "2026-01-01"],
     lambda d, c: not d["contacts"][c["id"]] or max(d["contacts"][c["id"]]) < "2025-12-31T17"),
    (["--contacted-after", "300 days ago"],  # 2026-01-27 10:00 local
     lambda d, c: bool(d["contacts"][c["id"]])
     and max(d["contacts"][c["id"]]) >= "2026-01-27T03:00:00Z"),
    (["--open-deals"], lambda d, c: any(x[0] == "open" for x in d["deals"][c["id"]])),
    (["--open-tickets"],
     lambda d, c: any(t[0] in ("open", "pending") for t in d["tickets"][c["id"]])),
    (["--satisfaction-max", "2"],
     lambda d, c: (s := last_satisfaction(d, c["id"])) is not None and s <= 2),
    (["--satisfaction-min", "4"],
     lambda d, c: (s := last_satisfaction(d, c["id"])) is not None and s >= 4),
    (["--consent", "email=yes"], lambda d, c: d["consents"].get((c["id"], "email")) == "yes"),
    (["--consent", "email=no"], lambda d, c: d["consents"].get((c["id"], "email")) == "no"),
    (["--consent", "email=unknown"], lambda d, c: (c["id"], "email") not in d["consents"]),
    (["--consent", "sms=unknown", "--consent", "email=yes"],
     lambda d, c: d["consents"].get((c["id"], "email")) == "yes"),
    (["--recency-min", "4"], lambda d, c: d["rfm"][c["id"]][0] >= 4),
    (["--frequency-min", "3", "--monetary-min", "3"],
     lambda d, c: d["rfm"][c["id"]][1] >= 3 and d["rfm"][c["id"]][2] >= 3),
    (["--recency-max", "2", "--frequency-max", "1"],
     lambda d, c: d["rfm"][c["id"]][0] <= 2 and d["rfm"][c["id"]][1] <= 1),
]  # fmt: skip


@pytest.mark.parametrize(("options", "test"), CRITERIA, ids=[" ".join(o) for o, _ in CRITERIA])
def test_each_criterion_matches_an_independent_filter(crm, data, options, test) -> None:
    data["rfm"] = rfm(data)
    ok(crm("segment", "add", "s", *options))
    expected = sorted(c["id"] for c in data["customers"].values() if test(data, c))
    assert members(crm, "s") == expected
    assert 0 < len(expected) < len(data["customers"])  # the dataset tells them apart


def test_random_combinations_are_the_and_of_their_criteria(crm, data) -> None:
    data["rfm"] = rfm(data)
    rng = random.Random(3)
    for n in range(12):
        picked = rng.sample(range(len(CRITERIA)), 2)
        options = [o for i in picked for o in CRITERIA[i][0]]
        if len({o for o in options if o.startswith("--")}) < sum(
            o.startswith("--") for o in options
        ):
            continue  # the same option twice: the later one would win
        ok(crm("segment", "add", f"c{n}", *options))
        expected = sorted(
            c["id"]
            for c in data["customers"].values()
            if all(CRITERIA[i][1](data, c) for i in picked)
        )
        assert members(crm, f"c{n}") == expected, options


def test_members_api_and_get(crm, data, db_path) -> None:
    from crmcli.core.outreach import segments
    from crmcli.db import open_db
    from crmcli.errors import NotFound

    new = int(ok(crm("segment", "add", "Vip Hà Nội", "--tag", "vip", "--city", "ha noi")).stdout)
    db = open_db(db_path, create=False)
    try:
        assert segments.members(db, "vip hà nội") == members(crm, "Vip Hà Nội")
        assert segments.members(db, new) == segments.members(db, str(new))
        seg = segments.get(db, "VIP HÀ NỘI")
        assert seg["id"] == new and seg["criteria"] == {"tags": ["vip"], "city": "ha noi"}
        with pytest.raises(NotFound):
            segments.get(db, "nope")
    finally:
        db.close()


def test_members_follow_the_data(crm) -> None:
    an = int(ok(crm("customer", "add", "An", "--tag", "vip")).stdout)
    ok(crm("segment", "add", "vips", "--tag", "vip"))
    assert members(crm, "vips") == [an]
    binh = int(ok(crm("customer", "add", "Bình", "--tag", "vip")).stdout)
    ok(crm("customer", "edit", str(an), "--remove-tag", "vip"))
    assert members(crm, "vips") == [binh]


def test_show_formats_list_and_customer_filters(crm, data) -> None:
    ok(crm("segment", "add", "hn", "--city", "hà nội", "--description", "Hà Nội folks"))
    ids = members(crm, "hn")
    rows = json.loads(ok(crm("segment", "show", "hn", "-f", "json")).stdout)
    assert [r["id"] for r in rows] == ids and all("Hà Nội" == r["city"] for r in rows)
    tsv = ok(crm("segment", "show", "hn", "-f", "tsv")).stdout.splitlines()
    assert tsv[0].startswith("id\tuid\tname") and len(tsv) == len(ids) + 1
    jsonl = ok(crm("segment", "show", "hn", "-f", "jsonl")).stdout.splitlines()
    assert [json.loads(line)["id"] for line in jsonl] == ids
    csv = ok(crm("segment", "show", "hn", "-f", "csv", "--limit", "3")).stdout.splitlines()
    assert len(csv) == 4
    table = ok(crm("segment", "show", "hn", "-f", "table", "--limit", "2"))
    assert "Segment 1: hn (--city" in table.stderr and "Customer" in table.stdout
    listed = json.loads(ok(crm("segment", "list", "-f", "json")).stdout)
    assert listed == [
        {
            "id": 1,
            "name": "hn",
            "members": len(ids),
            "criteria": '--city "hà nội"',
            "description": "Hà Nội folks",
            "updated_at": listed[0]["updated_at"],
        }
    ]
    # --segment combines with the other filters of customer list and export
    vip = json.loads(ok(crm("customer", "list", "--segment", "hn", "--tag", "vip", "-f",
                            "json", "--limit", "0")).stdout)  # fmt: skip
    expected = [i for i in ids if "vip" in data["tags"][i]]
    assert [r["id"] for r in vip] == expected
    exported = json.loads(ok(crm("customer", "export", "--segment", "1", "-f", "json")).stdout)
    assert [r["id"] for r in exported] == ids
    searched = ok(crm("customer", "list", "--segment", "hn", "--search", "customer", "-f", "ids",
                      "--limit", "0")).stdout.split()  # fmt: skip
    assert sorted(int(x) for x in searched) == ids
    unknown = crm("customer", "list", "--segment", "nope")
    assert unknown.exit_code == 1 and unknown.stdout == ""
    assert unknown.stderr.strip() == "crm: error: no segment nope"


def test_ids_pipe_into_other_commands(crm, data) -> None:
    ok(crm("segment", "add", "b2b", "--tag", "b2b"))
    ids = ok(crm("segment", "show", "b2b", "-f", "ids")).stdout
    ok(crm("customer", "edit", "-", "--add-tag", "mailing", input=ids))
    ok(crm("segment", "add", "mailing", "--tag", "mailing"))
    assert members(crm, "mailing") == members(crm, "b2b")


BAD = [
    (["add", "none"], "a segment needs at least one criterion"),
    (["add", "x", "--age", "45-30"], "--age"),
    (["add", "x", "--age", "old"], "--age"),
    (["add", "x", "--birthday-month", "13"], "--birthday-month"),
    (["add", "x", "--field", "gender"], "--field"),
    (["add", "x", "--won-min", "12.345"], "--won-min"),
    (["add", "x", "--won-deals-min", "-1"], "--won-deals-min"),
    (["add", "x", "--contacted-before", "someday"], "--contacted-before"),
    (["add", "x", "--satisfaction-max", "6"], "--satisfaction-max"),
    (["add", "x", "--consent", "fax=yes"], "--consent"),
    (["add", "x", "--consent", "email=maybe"], "--consent"),
    (["add", "x", "--recency-min", "0"], "--recency-min"),
    (["add", "x", "--frequency-min", "4", "--frequency-max", "2"], "--frequency-min"),
    (["add", "x", "--tag", "two words"], "tag"),
    (["add", "x", "--city", "!!"], "--city"),
    (["add", "12", "--tag", "vip"], "must not be a number"),
    (["add", "vips", "--tag", "b2b"], "exists"),
    (["edit", "vips", "--clear", "nothing"], "--clear"),
    (["edit", "vips", "--clear", "tag"], "no criterion left"),
    (["edit", "vips", "--tag", "a", "--clear", "tag"], "both given and cleared"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_nothing_written(crm, db_path, args, message) -> None:
    ok(crm("segment", "add", "vips", "--tag", "vip"))
    before = dump(db_path)
    result = crm("segment", *args)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
    assert dump(db_path) == before


@pytest.mark.parametrize(
    "args",
    [
        ["show", "nope"],
        ["edit", "nope", "--tag", "a"],
        ["delete", "vips", "nope", "--yes"],
        ["show", "99"],
    ],
)
def test_unknown_segment_exit_1(crm, db_path, args) -> None:
    ok(crm("segment", "add", "vips", "--tag", "vip"))
    before = dump(db_path)
    result = crm("segment", *args)
    assert result.exit_code == 1
    assert result.stdout == "" and result.stderr.startswith("crm: error: no segment ")
    assert dump(db_path) == before


def test_edit_replaces_clears_renames_and_undo_restores(crm, db_path) -> None:
    from tests.conftest import query

    ok(crm("segment", "add", "s", "--tag", "vip", "--city", "huế", "--age", "30-"))
    ok(crm("segment", "edit", "s", "--tag", "b2b", "--tag", "partner", "--clear", "city",
           "--name", "t"))  # fmt: skip
    stored = json.loads(query(db_path, "SELECT criteria FROM segments")[0][0])
    assert stored == {"tags": ["b2b", "partner"], "age": [30, None]}
    assert query(db_path, "SELECT name FROM segments") == [("t",)]
    same = ok(crm("segment", "edit", "t", "--tag", "partner", "--tag", "b2b"))
    assert "unchanged" in same.stderr
    ok(crm("undo", "--yes"))
    stored = json.loads(query(db_path, "SELECT criteria FROM segments")[0][0])
    assert stored == {"tags": ["vip"], "city": "huế", "age": [30, None]}
    assert query(db_path, "SELECT name FROM segments") == [("s",)]


def test_undo_of_add_and_delete(crm, db_path) -> None:
    from tests.conftest import query

    ok(crm("segment", "add", "a", "--tag", "vip"))
    ok(crm("segment", "add", "b", "--open-deals"))
    before = query(db_path, "SELECT * FROM segments ORDER BY id")
    refused = crm("segment", "delete", "a", "b")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    deleted = ok(crm("segment", "delete", "a", "b", "--yes"))
    assert deleted.stderr.strip() == "Deleted 2 segments (a, b)"
    assert query(db_path, "SELECT count(*) FROM segments") == [(0,)]
    ok(crm("undo", "--yes"))
    assert query(db_path, "SELECT * FROM segments ORDER BY id") == before
    ok(crm("undo", "--yes"))
    assert query(db_path, "SELECT name FROM segments") == [("a",)]


def test_contacted_phrases_are_read_when_used(crm, monkeypatch) -> None:
    an = int(ok(crm("customer", "add", "An")).stdout)
    ok(crm("customer", "log", str(an), "--type", "call", "hello"))
    ok(crm("segment", "add", "quiet", "--contacted-before", "30 days ago"))
    assert members(crm, "quiet") == []
    monkeypatch.setenv("CRM_NOW", (TODAY + timedelta(days=31)).isoformat() + "T10:00:00")
    assert members(crm, "quiet") == [an]


def test_rfm_report_counts_every_customer(crm, data) -> None:
    scores = rfm(data)
    report = json.loads(ok(crm("report", "customers", "--by", "rfm", "-f", "json")).stdout)
    cells: dict[str, int] = defaultdict(int)
    for r, f, m in scores.values():
        cells[f"{r}{f}{m}"] += 1
    assert {row["cell"]: row["customers"] for row in report["cells"]} == cells
    assert sum(row["customers"] for row in report["segments"]) == len(scores)
    champions = sum(1 for r, f, m in scores.values() if r >= 4 and f >= 4 and m >= 4)
    assert report["segments"][0] == {
        "segment": "champions",
        "rule": "r>=4, f>=4, m>=4",
        "customers": champions,
        "share": round(100 * champions / len(scores), 1),
    }
    tsv = ok(crm("report", "customers", "--by", "rfm", "--section", "cells", "-f", "tsv"))
    assert tsv.stdout.splitlines()[0] == "cell\tr\tf\tm\tcustomers"
    ids = crm("report", "customers", "--by", "rfm", "-f", "ids")
    assert ids.exit_code == 2 and ids.stdout == ""


def test_rfm_report_on_an_empty_database(crm, db_path) -> None:
    from crmcli.db import open_db

    open_db(db_path, create=True).close()
    result = ok(crm("report", "customers", "--by", "rfm", "-f", "json"))
    assert json.loads(result.stdout)["cells"] == []
    assert "no customers yet" in result.stderr
