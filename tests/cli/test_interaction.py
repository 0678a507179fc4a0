"""``crm interaction list|show|edit|delete``: interactions found, read, corrected, deleted.

The clock is pinned (CRM_NOW 2026-11-23 10:00, Asia/Ho_Chi_Minh, UTC+7).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import add, dump, query


def logged(crm, group: str, owner: int, text: str, kind: str = "note", at: str | None = None):
    args = [group, "log", str(owner), "--type", kind, text]
    if at is not None:
        args += ["--at", at]
    result = crm(*args)
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


def ok(crm, *args: str, input: str | None = None):
    result = crm(*args, input=input)
    assert result.exit_code == 0, result.stderr
    return result


def listed(crm, *args: str) -> list[dict]:
    return json.loads(ok(crm, "interaction", "list", "-f", "json", *args).stdout)


def ids(crm, *args: str) -> list[int]:
    return [int(x) for x in ok(crm, "interaction", "list", "-f", "ids", *args).stdout.split()]


@pytest.fixture
def story(crm) -> dict[str, int]:
    """Two customers and a lead, with interactions of every type over three weeks."""
    an = add(crm, "Nguyễn Văn An")
    binh = add(crm, "Trần Thị Bình")
    lead = int(ok(crm, "lead", "add", "Đặng Thu Hà", "--source", "web").stdout)
    return {
        "an": an,
        "binh": binh,
        "lead": lead,
        "call": logged(crm, "customer", an, "Gọi về báo giá máy lọc nước", "call",
                       "2026-11-02 09:00"),
        "email": logged(crm, "customer", an, "Sent the price list", "email", "2026-11-16 14:00"),
        "meeting": logged(crm, "customer", binh, "Gặp ở Đà Nẵng", "meeting", "2026-11-20 10:00"),
        "lead_call": logged(crm, "lead", lead, "Hỏi giá; gọi lại thứ sáu", "call",
                            "2026-11-22 08:30"),
    }  # fmt: skip


def test_list_newest_first_every_field(crm, story) -> None:
    rows = listed(crm)
    assert [r["id"] for r in rows] == [
        story["lead_call"], story["meeting"], story["email"], story["call"],
    ]  # fmt: skip
    assert set(rows[0]) == {
        "id", "uid", "type", "happened_at", "customer_id", "customer", "lead_id", "lead",
        "body", "created_at", "direction",
    }  # fmt: skip
    assert rows[0]["lead"] == "Đặng Thu Hà" and rows[0]["customer_id"] is None
    assert rows[1]["customer"] == "Trần Thị Bình"
    assert rows[1]["happened_at"] == "2026-11-20T03:00:00Z"


def test_filters(crm, story) -> None:
    assert ids(crm, "--customer", str(story["an"])) == [story["email"], story["call"]]
    assert ids(crm, "--lead", str(story["lead"])) == [story["lead_call"]]
    assert ids(crm, "--type", "call") == [story["lead_call"], story["call"]]
    assert ids(crm, "-t", "meeting,email") == [story["meeting"], story["email"]]
    assert ids(crm, "--type", "call", "--customer", str(story["an"])) == [story["call"]]
    assert ids(crm, "--limit", "2") == [story["lead_call"], story["meeting"]]


def test_since_and_until_follow_the_date_grammar(crm, story) -> None:
    # A date stands for the whole local day: --until 2026-11-20 includes the 20th.
    assert ids(crm, "--since", "2026-11-16", "--until", "2026-11-20") == [
        story["meeting"], story["email"],
    ]  # fmt: skip
    # A phrase that names a day (1 week ago: Monday 16 November) counts from its start.
    assert ids(crm, "--since", "1 week ago") == [
        story["lead_call"], story["meeting"], story["email"],
    ]  # fmt: skip
    assert ids(crm, "--since", "5 days ago") == [story["lead_call"], story["meeting"]]
    assert ids(crm, "--until", "3 weeks ago") == [story["call"]]
    assert ids(crm, "--since", "2026-11-16 14:00", "--until", "2026-11-16 14:00") == [
        story["email"]
    ]
    assert ids(crm, "--since", "yesterday") == [story["lead_call"]]
    assert ids(crm, "--since", "today") == []


def test_search_ignores_case_and_accents(crm, story) -> None:
    assert ids(crm, "--search", "bao gia") == [story["call"]]
    assert ids(crm, "--search", "BÁO GIÁ") == [story["call"]]
    assert ids(crm, "--search", "da nang") == [story["meeting"]]  # đ folds to d
    assert ids(crm, "--search", "gia") == [story["lead_call"], story["call"]]
    assert ids(crm, "--search", "price", "--type", "email") == [story["email"]]
    # The text of the interaction, not the name of the customer.
    assert ids(crm, "--search", "nguyen") == []
    assert ids(crm, "--search", "gia", "--limit", "1") == [story["lead_call"]]


def test_every_format(crm, story) -> None:
    tsv = ok(crm, "interaction", "list", "-f", "tsv", "--type", "meeting").stdout
    header, row = tsv.splitlines()
    assert header.split("\t")[:4] == ["id", "uid", "type", "happened_at"]
    assert row.split("\t")[2] == "meeting"
    csv = ok(crm, "interaction", "list", "-f", "csv", "--type", "meeting").stdout
    assert csv.startswith("id,uid,type,happened_at,") and "Gặp ở Đà Nẵng" in csv
    jsonl = ok(crm, "interaction", "list", "-f", "jsonl").stdout.splitlines()
    assert [json.loads(line)["id"] for line in jsonl] == [r["id"] for r in listed(crm)]
    table = ok(crm, "interaction", "list", "-f", "table").stdout
    assert "Trần Thị Bình (2)" in table and "lead Đặng Thu Hà (1)" in table


def test_empty_list(crm, story) -> None:
    result = ok(crm, "interaction", "list", "--search", "nothing-like-this", "-f", "json")
    assert result.stdout == "[]\n"
    tsv = ok(crm, "interaction", "list", "--type", "note", "-f", "tsv")
    assert tsv.stdout.startswith("id\tuid\t") and tsv.stdout.count("\n") == 1
    table = ok(crm, "interaction", "list", "--type", "note", "-f", "table")
    assert (table.stdout, table.stderr) == ("", "no interactions match\n")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--type", "fax"], 2, "--type"),
        (["--since", "the day after never"], 2, "--since"),
        (["--since", "today", "--until", "last week"], 2, "not before --until"),
        (["--search", "   "], 2, "--search"),
        (["--customer", "99"], 1, "no customer 99"),
        (["--lead", "99"], 1, "no lead 99"),
    ],
)
def test_bad_filters(crm, story, args: list[str], code: int, message: str) -> None:
    result = crm("interaction", "list", *args)
    assert result.exit_code == code
    assert result.stdout == ""
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_show_one_several_and_from_stdin(crm, story) -> None:
    one = json.loads(ok(crm, "interaction", "show", str(story["call"]), "-f", "json").stdout)
    assert one["body"] == "Gọi về báo giá máy lọc nước"
    assert one["customer"] == "Nguyễn Văn An" and one["type"] == "call"
    both = ok(crm, "interaction", "show", str(story["call"]), str(story["meeting"]), "-f", "json")
    assert [r["id"] for r in json.loads(both.stdout)] == [story["call"], story["meeting"]]
    piped = ok(crm, "interaction", "list", "--type", "call", "-f", "ids").stdout
    shown = ok(crm, "interaction", "show", "-", "-f", "tsv", input=piped).stdout.splitlines()
    assert len(shown) == 3 and shown[0].startswith("id\t")
    card = ok(crm, "interaction", "show", str(story["lead_call"]), "-f", "table").stdout
    assert "Hỏi giá; gọi lại thứ sáu" in card and "Đặng Thu Hà" in card


def test_show_unknown_prints_nothing(crm, story) -> None:
    result = crm("interaction", "show", str(story["call"]), "99")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "crm: error: no interaction 99\n"


def test_edit_body_type_and_time(crm, story, db_path) -> None:
    result = ok(crm, "interaction", "edit", str(story["email"]), "--body", "Sent the quote",
                "--type", "meeting", "--at", "2026-11-17 15:30")  # fmt: skip
    assert result.stdout == ""
    assert result.stderr == (
        f"Updated interaction {story['email']} (meeting with Nguyễn Văn An): "
        "body, type, happened_at\n"
    )
    record = json.loads(ok(crm, "interaction", "show", str(story["email"]), "-f", "json").stdout)
    assert (record["body"], record["type"], record["happened_at"]) == (
        "Sent the quote", "meeting", "2026-11-17T08:30:00Z",
    )  # fmt: skip
    # The search index follows: the customer is found by the new text, not the old.
    assert ok(crm, "customer", "list", "--search", "quote", "-f", "ids").stdout == "1\n"
    assert ok(crm, "customer", "list", "--search", "price", "-f", "ids").stdout == ""


def test_edit_several_from_stdin_in_one_transaction(crm, story, db_path) -> None:
    piped = f"{story['call']}\n{story['lead_call']}\n"
    result = ok(crm, "interaction", "edit", "-", "--type", "meeting", input=piped)
    assert result.stderr == f"Updated 2 interactions: {story['call']}, {story['lead_call']}\n"
    assert ids(crm, "--type", "meeting") == [story["lead_call"], story["meeting"], story["call"]]
    before = dump(db_path)
    bad = crm("interaction", "edit", str(story["call"]), "99", "--type", "note")
    assert bad.exit_code == 1 and bad.stderr == "crm: error: no interaction 99\n"
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to change"),
        (["--type", "fax"], "--type"),
        (["--body", "  "], "--body"),
        (["--at", "someday"], "--at"),
    ],
)
def test_bad_edit_changes_nothing(crm, story, db_path, args: list[str], message: str) -> None:
    before = dump(db_path)
    result = crm("interaction", "edit", str(story["call"]), *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert dump(db_path) == before


def last_contacted(crm, customer: int) -> str | None:
    shown = ok(crm, "customer", "show", str(customer), "-f", "json").stdout
    value: str | None = json.loads(shown)["last_contacted"]
    return value


def test_last_contacted_follows_edits_and_deletes(crm, story) -> None:
    an = story["an"]
    assert last_contacted(crm, an) == "2026-11-16T07:00:00Z"  # the e-mail, the latest
    # The latest interaction's date moved back before the call: the call is now the last.
    ok(crm, "interaction", "edit", str(story["email"]), "--at", "2026-10-01 09:00")
    assert last_contacted(crm, an) == "2026-11-02T02:00:00Z"
    ok(crm, "interaction", "delete", str(story["call"]), "--yes")
    assert last_contacted(crm, an) == "2026-10-01T02:00:00Z"
    ok(crm, "interaction", "delete", str(story["email"]), "--yes")
    assert last_contacted(crm, an) is None
    # A lead's too.
    lead = json.loads(ok(crm, "lead", "show", str(story["lead"]), "-f", "json").stdout)
    assert lead["last_contacted"] == "2026-11-22T01:30:00Z"
    ok(crm, "interaction", "delete", str(story["lead_call"]), "--yes")
    lead = json.loads(ok(crm, "lead", "show", str(story["lead"]), "-f", "json").stdout)
    assert lead["last_contacted"] is None


def test_delete_and_undo(crm, story, db_path) -> None:
    before = dump(db_path)
    result = ok(crm, "interaction", "delete", str(story["meeting"]), "--yes")
    assert result.stdout == ""
    assert result.stderr == f"Deleted interaction {story['meeting']}: meeting with Trần Thị Bình\n"
    assert ok(crm, "customer", "list", "--search", "da nang", "-f", "ids").stdout == ""
    history = query(
        db_path,
        "SELECT count(*) FROM audit WHERE table_name = 'interactions' AND action = 'delete'",
    )
    assert history[0][0] >= 1
    ok(crm, "undo", "--yes")
    assert ids(crm, "--type", "meeting") == [story["meeting"]]
    assert ok(crm, "customer", "list", "--search", "da nang", "-f", "ids").stdout == "2\n"
    assert [r for r in dump(db_path) if r[0] not in ("audit", "commands")] == [
        r for r in before if r[0] not in ("audit", "commands")
    ]


def test_undo_an_edit(crm, story) -> None:
    ok(crm, "interaction", "edit", str(story["call"]), "--body", "Wrong text")
    ok(crm, "undo", "--yes")
    record = json.loads(ok(crm, "interaction", "show", str(story["call"]), "-f", "json").stdout)
    assert record["body"] == "Gọi về báo giá máy lọc nước"


def test_delete_several_from_stdin(crm, story) -> None:
    piped = ok(crm, "interaction", "list", "--customer", str(story["an"]), "-f", "ids").stdout
    result = ok(crm, "interaction", "delete", "-", "--yes", input=piped)
    assert result.stderr == f"Deleted 2 interactions: {story['email']}, {story['call']}\n"
    assert ids(crm, "--customer", str(story["an"])) == []
    empty = ok(crm, "interaction", "delete", "-", "--yes", input="")
    assert empty.stderr == "no ids on stdin: nothing to do\n"


def test_delete_needs_yes_off_a_terminal(crm, story, db_path) -> None:
    before = dump(db_path)
    result = crm("interaction", "delete", str(story["call"]))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--yes" in result.stderr
    unknown = crm("interaction", "delete", "99", "--yes")
    assert (unknown.exit_code, unknown.stderr) == (1, "crm: error: no interaction 99\n")
    assert dump(db_path) == before


def test_a_deleted_interactions_follow_up_reminder_stays(crm, story) -> None:
    result = ok(crm, "customer", "log", str(story["an"]), "Call back", "--next", "friday 9am")
    interaction = int(result.stdout)
    ok(crm, "interaction", "delete", str(interaction), "--yes")
    reminders = json.loads(ok(crm, "remind", "list", "--all", "-f", "json").stdout)
    assert [r["text"] for r in reminders] == ["Follow up: Call back"]


def test_hostile_text_is_shown_not_run(crm, story) -> None:
    text = "Call\x1b[2J back \u202e [bold]now[/]\nsecond line"
    interaction = logged(crm, "customer", story["an"], text)
    table = ok(crm, "interaction", "list", "-c", str(story["an"]), "-f", "table").stdout
    assert "\x1b" not in table and "\u202e" not in table
    assert "\\x1b[2J" in table and "[bold]now[/]" in table and "second line" not in table
    card = ok(crm, "interaction", "show", str(interaction), "-f", "table").stdout
    assert "\x1b" not in card and "[bold]now[/]" in card
    shown = json.loads(ok(crm, "interaction", "show", str(interaction), "-f", "json").stdout)
    assert shown["body"] == text


def test_lead_search_follows_edits_and_deletes(crm, story) -> None:
    def found(words: str) -> str:
        return str(ok(crm, "lead", "list", "--search", words, "-f", "ids").stdout)

    assert found("thu sau") == f"{story['lead']}\n"
    ok(crm, "interaction", "edit", str(story["lead_call"]), "--body", "Hẹn gặp ở Huế")
    assert found("thu sau") == ""
    assert found("hue") == f"{story['lead']}\n"
    ok(crm, "interaction", "delete", str(story["lead_call"]), "--yes")
    assert found("hue") == ""
