"""The search index after the commands that move or remove many interactions at once
(merge, lead convert and delete, undo): the index holds exactly what the triggers write, row
by row, and search finds what it found."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import add, query


def consistent(db_path: Path) -> None:
    from crmcli.text import sql_fold

    for table in ("customers", "leads"):
        index = query(db_path, f"SELECT rowid, activity FROM {table}_fts ORDER BY rowid")
        doc = query(db_path, f"SELECT id, activity FROM {table}_search_doc ORDER BY id")
        assert index == doc, table
    index = query(db_path, "SELECT rowid, body FROM interactions_fts ORDER BY rowid")
    folded = query(db_path, f"SELECT id, {sql_fold('body')} FROM interactions ORDER BY id")
    assert index == folded
    assert query(db_path, "SELECT count(*) FROM search_paused") == [(0,)]


def ids(crm: Any, *args: str) -> list[int]:
    result = crm(*args, "-f", "json")
    assert result.exit_code == 0, result.stderr
    return [row["id"] for row in json.loads(result.stdout)]


def test_merge_convert_delete_and_undo_keep_the_index_whole(crm: Any, db_path: Path) -> None:
    keep = add(crm, "Nguyễn Văn An", "--email", "an@example.vn")
    other = add(crm, "An Nguyen", "--email", "an.nguyen@example.vn")
    for n in range(20):
        assert crm("customer", "log", str(other), f"máy pha số {n}").exit_code == 0
    assert crm("customer", "merge", str(keep), str(other), "--yes").exit_code == 0
    consistent(db_path)
    assert ids(crm, "customer", "list", "--search", "máy pha 19") == [keep]

    lead = int(crm("lead", "add", "Lê Hoa", "--email", "hoa@example.vn").stdout)
    for n in range(15):
        assert crm("lead", "log", str(lead), f"bình lọc nước {n}").exit_code == 0
    converted = crm("lead", "convert", str(lead))
    assert converted.exit_code == 0, converted.stderr
    consistent(db_path)
    (customer,) = ids(crm, "customer", "list", "--search", "lọc nước 14")
    assert customer != keep  # a new customer (the merged one's id is free again)

    second = int(crm("lead", "add", "Trần Bình", "--email", "binh@example.vn").stdout)
    for n in range(10):
        assert crm("lead", "log", str(second), f"ấm đun {n}").exit_code == 0
    assert crm("lead", "delete", str(second), "--yes").exit_code == 0
    consistent(db_path)
    assert ids(crm, "lead", "list", "--search", "ấm đun") == []
    undone = crm("undo", "--yes")
    assert undone.exit_code == 0, undone.stderr
    consistent(db_path)
    assert ids(crm, "lead", "list", "--search", "ấm đun 9") == [second]
