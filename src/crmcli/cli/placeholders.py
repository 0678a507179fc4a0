"""Groups whose commands are still to come: they register so `crm GROUP --help` works."""

from __future__ import annotations

import typer

_GROUPS = {
    "lead": "Leads from every channel: add, qualify, convert to customers and deals.",
    "deal": "Deals through configurable stages, and the pipeline board.",
    "ticket": "Support tickets with priorities, SLAs and escalation.",
    "remind": "Reminders and the daily digest for cron (crm remind due).",
    "report": "Reports: pipeline, forecast, sales, leads, customers, tickets, activity.",
}


def groups() -> dict[str, typer.Typer]:
    return {
        name: typer.Typer(help=f"{text} (Not in this release yet.)", no_args_is_help=True)
        for name, text in _GROUPS.items()
    }
