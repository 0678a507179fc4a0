"""Groups whose commands are still to come: they register so `crm GROUP --help` works."""

from __future__ import annotations

import typer

from crmcli.cli.options import group as new_group


def _group(text: str) -> typer.Typer:
    group = new_group(f"{text} (Not in this release yet.)")

    @group.callback()
    def describe() -> None:
        """Typer needs a callback to make a group of a Typer that has no commands yet."""

    return group


report = _group("Reports: pipeline, forecast, sales, leads, customers, tickets, activity.")
