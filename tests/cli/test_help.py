"""Help that reads as words: summaries never cut, placeholders as words, suggestions."""

from __future__ import annotations

import re

import pytest
import typer

from crmcli.cli import SUMMARY_MAX, app, summary


def every_command() -> list[tuple[str, ...]]:
    """The path of every group and command, e.g. ("deal", "stages", "add")."""
    root = typer.main.get_command(app)
    paths: list[tuple[str, ...]] = []

    def walk(group, ctx, path: tuple[str, ...]) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            paths.append((*path, name))
            if hasattr(command, "list_commands"):
                walk(command, typer.Context(command, info_name=name, parent=ctx), (*path, name))

    walk(root, typer.Context(root, info_name="crm"), ())
    return paths


COMMANDS = every_command()
GROUPS = [()] + [p for p in COMMANDS if any(q[: len(p)] == p and q != p for q in COMMANDS)]


def help_of(crm, path: tuple[str, ...]) -> str:
    result = crm(*path, "--help")
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(autouse=True)
def eighty_columns(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")


@pytest.mark.parametrize("path", GROUPS, ids=lambda p: " ".join(p) or "crm")
def test_every_summary_in_a_command_list_is_whole_and_fits_one_line(crm, path):
    text = help_of(crm, path)
    listing = text.split("\nCommands:\n", 1)[1].splitlines()
    names = [line.split()[0] for line in listing if line.startswith("  ") and line[2] != " "]
    assert names, text
    for line in listing:
        assert not line.rstrip().endswith("..."), line
        assert len(line) <= 80, line
    assert not any(line.startswith("     ") for line in listing), "a summary wrapped: " + text


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_placeholders_read_as_words(crm, path):
    text = help_of(crm, path)
    assert "<str>" not in text and "<int" not in text and "<time>" not in text.split("\n\n")[0]
    assert not re.search(r"\{[A-Z_.]+\}", text), text  # no {ID...}
    assert "..." not in text.splitlines()[0], text  # the usage line: ID…, [ARGS]…
    for option in re.findall(r"(--[a-z-]+) (\S+)", text):
        name, word = option
        if word.startswith("["):
            assert re.fullmatch(r"\[[a-z0-9-]+(\|[a-z0-9-]+)+\]", word), option
        elif word.isupper() or "=" in word:
            assert not word.startswith("INT"), option


def test_numbers_and_ids_are_n_and_id(crm):
    assert "-n, --limit N " in help_of(crm, ("customer", "list"))
    assert "--customer ID " in help_of(crm, ("deal", "list"))
    assert "--satisfaction N " in help_of(crm, ("ticket", "resolve"))
    shown = help_of(crm, ("customer", "show"))
    assert shown.startswith("Usage: crm customer show [OPTIONS] ID…\n")
    assert "\n  ID…  Customer id" in shown


def test_summary_is_the_first_sentence_or_its_first_clause():
    assert summary("Add a customer; prints the new id.\n\nExample: …") == (
        "Add a customer; prints the new id"
    )
    long = "Record a call, e-mail, meeting or note with a customer; prints its id, and more."
    assert summary(long) == "Record a call, e-mail, meeting or note with a customer"
    assert len(summary(long)) <= SUMMARY_MAX
    words = "word " * 20
    assert summary(words + ".") == words.strip()  # no clause to cut at: whole, wrapped


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["customers"], "did you mean 'customer'?"),
        (["custmer", "list"], "did you mean 'customer'?"),
        (["cust"], "did you mean 'customer'?"),
        (["customer", "lst"], "did you mean 'list'?"),
        (["customer", "imprt", "x.csv"], "did you mean 'import'?"),
        (["deal", "stage", "list"], "did you mean 'stages'?"),
        (["report", "sale"], "did you mean 'sales'?"),
        (["remind", "dew"], "did you mean 'due'?"),
        (["deal", "stages", "ad", "x"], "did you mean 'add'?"),
        (["deal", "item", "lst", "1"], "did you mean 'list'?"),
    ],
)
def test_a_mistyped_command_suggests_the_nearest_in_one_line(crm, db_path, args, hint):
    result = crm(*args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and hint in result.stderr
    assert result.stderr.startswith("crm: error: No such command '")
    assert not db_path.exists()


def test_nothing_near_says_so_without_a_guess(crm):
    result = crm("zzzz")
    assert result.exit_code == 2
    assert result.stderr == "crm: error: No such command 'zzzz'. (see 'crm --help')\n"


def test_an_option_of_a_sibling_command_names_the_commands_that_take_it(crm, db_path):
    result = crm("ticket", "pending", "3", "--satisfaction", "4")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        "crm: error: No such option: --satisfaction "
        "(crm ticket resolve and crm ticket close take it)\n"
    )
    lost = crm("deal", "won", "1", "--reason", "price")
    assert lost.stderr == "crm: error: No such option: --reason (crm deal lost takes it)\n"
    unknown = crm("customer", "list", "--bogus")
    assert unknown.stderr == (
        "crm: error: No such option: --bogus (see 'crm customer list --help')\n"
    )
    assert not db_path.exists()
