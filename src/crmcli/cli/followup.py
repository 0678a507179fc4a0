"""``log … --next WHEN``: the follow-up reminder a customer or lead log can add.

Its own small module: every customer and lead command loads it, and none of them should load
the reminder commands for it.
"""

from typing import Annotated, Any

import typer

from crmcli.cli.options import info


def date_order(db: Any) -> str:
    from crmcli.core.settings import load

    return str(load(db).date_order)


def first_line(text: str, limit: int = 80) -> str:
    """The first line of ``text``, cut to ``limit`` characters, safe to print."""
    from crmcli.text import visible

    lines = text.strip().splitlines()
    first = lines[0].strip() if lines else ""
    if len(first) > limit:
        first = first[: limit - 1].rstrip() + "…"
    elif len(lines) > 1:
        first += " …"
    return visible(first)


def announce(reminder_id: int, record: dict[str, Any], data: Any) -> None:
    """Say on stderr exactly when a new reminder is due, as read: weekday, local time, zone."""
    from crmcli.core.reminders import when_text
    from crmcli.dates import now_local
    from crmcli.text import visible

    who = f" for {visible(record['for'])}" if record["for"] else ""
    every = f" ({record['every']})" if record["every"] else ""
    when = when_text(data.anchor, offset=True)
    info(f"Reminder {reminder_id}{who}: {when} — {first_line(record['text'])}{every}")
    if data.moved:
        info(f"(the first time that fits the rule; --at was {when_text(data.at)})")
    if data.anchor < now_local():
        info("that is in the past: it is due now")


NextOpt = Annotated[
    str | None,
    typer.Option(
        "--next",
        metavar="WHEN",
        help="Also add a follow-up reminder: 'friday 9am', 'in 3 days' (a date alone is 09:00).",
        show_default=False,
    ),
]
NextTextOpt = Annotated[
    str | None,
    typer.Option(
        "--next-text",
        help="The follow-up's text (default: 'Follow up: ' and the first line logged).",
        show_default=False,
    ),
]


class FollowUp:
    """A ``log … --next`` follow-up: checked before the write, added inside it (with the
    interaction, in the same transaction), announced after it."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.record: dict[str, Any] | None = None

    def add(self, db: Any, link: tuple[str, int], interaction_id: int) -> int | None:
        if self.data is None:
            return None
        from crmcli.core import reminders as core

        reminder_id = core.add(db, self.data, link=link, interaction_id=interaction_id)
        self.record = core.get(db, reminder_id)
        return reminder_id

    def announce(self, reminder_id: int | None) -> None:
        if reminder_id is not None and self.record is not None:
            announce(reminder_id, self.record, self.data)


def follow_up(db: Any, body: str, when: str | None, text: str | None) -> FollowUp:
    """The follow-up asked for with ``--next WHEN`` (and ``--next-text``), checked."""
    if when is None:
        if text is not None:
            from crmcli.errors import UsageError

            raise UsageError("--next-text describes the follow-up: add --next WHEN")
        return FollowUp(None)
    from crmcli.core import reminders as core

    at = core.parse_at(when, order=date_order(db), field="--next")
    return FollowUp(core.prepare(core.follow_up_text(body, text), at))
