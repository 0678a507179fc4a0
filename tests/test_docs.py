"""The README stays true: its command reference is generated from --help and checked here.

Regenerate after changing a command:  python tests/test_docs.py
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- reference:start -->", "<!-- reference:end -->"


def command_paths() -> Iterator[tuple[str, ...]]:
    """Every command and group, depth first, as argv paths."""
    import typer

    from crmcli.cli import app

    root = typer.main.get_command(app)

    def walk(command: object, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        list_commands = getattr(command, "list_commands", None)
        if list_commands is None:
            return
        for name in list_commands(None):
            yield from walk(command.get_command(None, name), (*path, name))  # type: ignore[attr-defined]

    yield from walk(root, ())


def help_text(path: tuple[str, ...]) -> str:
    from typer.testing import CliRunner

    from crmcli.cli import app

    os.environ["COLUMNS"] = "100"
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, (path, result.stderr)
    return result.stdout.rstrip()


def reference() -> str:
    parts = [START, ""]
    for path in command_paths():
        parts += [f"#### `{' '.join(('crm', *path))}`"]
        parts += ["", "```text", help_text(path), "```", ""]
    parts.append(END)
    return "\n".join(parts)


def readme_reference() -> str:
    text = README.read_text()
    match = re.search(re.escape(START) + ".*?" + re.escape(END), text, re.S)
    assert match, "README has no generated command reference"
    return match.group(0)


def test_readme_reference_is_current() -> None:
    assert readme_reference() == reference(), "run: python tests/test_docs.py"


def test_every_command_has_a_summary_and_an_example() -> None:
    for path in command_paths():
        text = help_text(path)
        summary = text.split("\n\n")[1].strip() if "\n\n" in text else ""
        assert summary, f"crm {' '.join(path)} has no summary"
        if not is_group(path):
            assert "Example:" in text, f"crm {' '.join(path)} has no example in its help"


def is_group(path: tuple[str, ...]) -> bool:
    import typer

    from crmcli.cli import app

    command: object = typer.main.get_command(app)
    for name in path:
        command = command.get_command(None, name)  # type: ignore[attr-defined]
    return hasattr(command, "list_commands")


def test_readme_shows_the_quick_start_and_formats() -> None:
    text = README.read_text()
    assert "pip install . && crm demo" in text
    assert "pip install -e '.[test]'" in text
    for fmt in ("table", "tsv", "csv", "json", "jsonl", "ids"):
        assert f"`{fmt}`" in text
    ci = (README.parent / ".ci" / "run").read_text()
    quick = re.search(r"```sh\n# 2\.[^\n]*\n(.+?)\n```", text, re.S)
    assert quick and quick.group(1).strip() in ci, "the README's second command is .ci/run's"


if __name__ == "__main__":
    sys.path.insert(0, str(README.parent / "src"))
    current = README.read_text()
    README.write_text(current.replace(readme_reference(), reference()))
    print("README reference updated")
