"""Support tickets: priorities, SLA due times, escalation, a thread of comments and changes.

A ticket moves between four statuses along :data:`TRANSITIONS` and nowhere else:

* ``open``: someone has to act; the SLA clock runs, so an open ticket past its due time is
  *overdue*;
* ``pending``: waiting on the customer; the clock is paused (a pending ticket is never
  overdue, and going back to open moves the due time on by the time spent waiting);
* ``resolved``: fixed, awaiting confirmation (``resolved_at`` set);
* ``closed``: done (``closed_at`` set, optionally a satisfaction score 1-5).

Reopening a resolved or closed ticket counts in ``reopened`` and gives it a fresh SLA due
time from now.  Every change is a row in ``ticket_events`` (``status``, ``escalation``,
``comment``, ``opened``) with its time: together they are the ticket's thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import time
from typing import Any

from crmcli.db import Database
from crmcli.errors import CrmError, InvalidValue, NotFound, UsageError
from crmcli.migrations import TICKET_PRIORITIES, TICKET_STATUSES
from crmcli.text import NAME_MAX, NOTE_MAX, clean

PRIORITIES = TICKET_PRIORITIES  # low, normal, high, urgent
STATUSES = TICKET_STATUSES  # open, pending, resolved, closed
UNRESOLVED = ("open", "pending")  # what `crm ticket list` shows by default

# The one table of legal status changes: current status -> the statuses it may go to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("pending", "resolved", "closed"),
    "pending": ("open", "resolved", "closed"),
    "resolved": ("open", "closed"),
    "closed": ("open",),
}
# How each target reads in a message, and the command that reaches it.
_VERBS = {"open": "reopened", "pending": "set pending", "resolved": "resolved", "closed": "closed"}
_COMMANDS = {"open": "reopen", "pending": "pending", "resolved": "resolve", "closed": "close"}

# A --due date without a time of day means the end of that working day.
DUE_DEFAULT_TIME = time(17, 0)
SATISFACTION_MIN, SATISFACTION_MAX = 1, 5
TOP_TIER = 2

# Every column of a ticket, in output order (stable JSON field names).
COLUMNS = (
    "id", "uid", "customer_id", "customer", "subject", "description", "priority", "status",
    "tier", "due_at", "overdue", "satisfaction", "resolved_at", "closed_at", "reopened",
    "created_at", "updated_at",
)  # fmt: skip
# One entry of a ticket's thread (`show`).
EVENT_COLUMNS = ("id", "kind", "from_value", "to_value", "body", "at")
# A customer's tickets (`crm customer show`).
CUSTOMER_COLUMNS = ("id", "subject", "priority", "status", "tier", "due_at", "overdue")

_SELECT = """
SELECT t.id, t.uid, t.customer_id, c.name AS customer, t.subject, t.description, t.priority,
       t.status, t.tier, t.due_at, t.status = 'open' AND t.due_at < ? AS overdue,
       t.satisfaction, t.resolved_at, t.closed_at, t.reopened, t.created_at, t.updated_at
FROM tickets t JOIN customers c ON c.id = t.customer_id
"""

# Most urgent first when sorting by priority.
_PRIORITY_RANK = (
    "CASE t.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END"
)
# --sort names -> SQL (never paste user text into SQL).
SORTS = {
    "due": "t.due_at",
    "priority": _PRIORITY_RANK,
    "created": "t.created_at",
    "updated": "t.updated_at",
    "id": "t.id",
}


def _now() -> str:
    from crmcli.clock import utc_now_iso

    return utc_now_iso()


# -- values -------------------------------------------------------------------------------


def check_priority(raw: str, *, field: str = "--priority") -> str:
    value = raw.strip().lower()
    if value not in PRIORITIES:
        raise InvalidValue(field, raw, f"choose one of {', '.join(PRIORITIES)}")
    return value


def check_status(raw: str, *, field: str = "--status") -> str:
    value = raw.strip().lower()
    if value not in STATUSES:
        raise InvalidValue(field, raw, f"choose one of {', '.join(STATUSES)}")
    return value


def check_satisfaction(raw: str | int) -> int:
    text = str(raw).strip()
    if (
        not (text.isdecimal() and len(text) <= 9)
        or not SATISFACTION_MIN <= int(text) <= SATISFACTION_MAX
    ):
        raise InvalidValue("--satisfaction", raw, "a whole number from 1 (poor) to 5 (great)")
    return int(text)


def check_subject(raw: str) -> str:
    text = clean(raw, field="subject", limit=NAME_MAX, required=True, multiline=False)
    assert text is not None
    return text


def check_description(raw: str) -> str | None:
    """The description (``None``: blank, i.e. none)."""
    return clean(raw, field="--description", limit=NOTE_MAX)


def check_note(raw: str | None, *, field: str = "--note", required: bool = False) -> str | None:
    if raw is None:
        return None
    return clean(raw, field=field, limit=NOTE_MAX, required=required)


def parse_due(raw: str, *, order: str = "DMY") -> str:
    """A --due phrase as UTC ISO text; a date without a time is at 17:00 local."""
    from crmcli.dates import parse_datetime, to_utc_iso

    moment = parse_datetime(raw, order=order, default_time=DUE_DEFAULT_TIME, field="--due")
    return to_utc_iso(moment)


def sla_due(db: Database, priority: str, *, start: str | None = None) -> str:
    """``start`` (default: now) plus the SLA setting for ``priority``, as UTC ISO text."""
    from crmcli.core import settings
    from crmcli.dates import add_duration, from_utc_iso, now_local, parse_duration, to_utc_iso

    key = f"sla_{priority}"
    text = settings.get(db, key) or settings.SLA_DEFAULTS[priority]
    count, unit = parse_duration(text, field=key)
    moment = now_local() if start is None else from_utc_iso(start)
    return to_utc_iso(add_duration(moment, count, unit))


def parse_sort(spec: str) -> str:
    """``due`` or ``-priority`` (descending) -> an ORDER BY clause from :data:`SORTS`."""
    desc = spec.startswith("-")
    key = spec[1:] if desc else spec
    key = {"due_at": "due", "created_at": "created", "updated_at": "updated"}.get(key, key)
    if key not in SORTS:
        raise InvalidValue("--sort", spec, f"sort by one of: {', '.join(SORTS)}")
    direction = " DESC" if desc else ""
    tail = "" if key in ("due", "id") else f", t.due_at{direction}"
    return f"{SORTS[key]}{direction}{tail}, t.id{direction}"


# -- reading ------------------------------------------------------------------------------


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["overdue"] = bool(row["overdue"])
    return row


def get(db: Database, ticket_id: int) -> dict[str, Any]:
    row = db.one(_SELECT + "WHERE t.id = ?", (_now(), ticket_id))
    if row is None:
        raise NotFound("ticket", ticket_id)
    return _decode(row)


THREAD_SQL = (
    "SELECT id, kind, from_value, to_value, body, at FROM ticket_events "
    "WHERE ticket_id = ? ORDER BY at, id"
)


def thread(db: Database, ticket_id: int) -> list[dict[str, Any]]:
    """The ticket's events in time order: opened, comments, status changes, escalations."""
    return list(db.query(THREAD_SQL, (ticket_id,)))


def show(db: Database, ticket_id: int) -> dict[str, Any]:
    """One ticket with its whole thread under ``thread``."""
    record = get(db, ticket_id)
    record["thread"] = thread(db, ticket_id)
    return record


def list_tickets(
    db: Database,
    *,
    statuses: Sequence[str] | None = UNRESOLVED,
    priorities: Sequence[str] = (),
    customer_id: int | None = None,
    overdue: bool = False,
    sort: str | None = None,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Tickets matching every filter, streamed (the filters are checked before the first row
    is asked for).  ``statuses`` None or empty: every status; ``overdue``: only open tickets
    past their due time.  Default order: due time."""
    now = _now()
    where: list[str] = []
    params: list[Any] = [now]
    if statuses:
        chosen = [check_status(s) for s in statuses]
        where.append(f"t.status IN ({', '.join('?' * len(chosen))})")
        params.extend(chosen)
    if priorities:
        chosen = [check_priority(p) for p in priorities]
        where.append(f"t.priority IN ({', '.join('?' * len(chosen))})")
        params.extend(chosen)
    if customer_id is not None:
        db.require("customers", "customer", customer_id)
        where.append("t.customer_id = ?")
        params.append(customer_id)
    if overdue:
        where.append("t.status = 'open' AND t.due_at < ?")
        params.append(now)
    order = parse_sort(sort or "due")
    sql = _SELECT + ("WHERE " + " AND ".join(where) if where else "") + " ORDER BY " + order
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return map(_decode, db.query(sql, params))


def for_customer(db: Database, customer_id: int) -> list[dict[str, Any]]:
    """A customer's tickets (:data:`CUSTOMER_COLUMNS`): unresolved ones first, soonest due
    first, then the resolved and closed ones, newest first."""
    rows = db.query(
        "SELECT id, subject, priority, status, tier, due_at, "
        "status = 'open' AND due_at < ? AS overdue FROM tickets WHERE customer_id = ? "
        "ORDER BY status NOT IN ('open', 'pending'), "
        "CASE WHEN status IN ('open', 'pending') THEN due_at END, id DESC",
        (_now(), customer_id),
    )
    return [_decode(row) for row in rows]


# -- writing ------------------------------------------------------------------------------


def _event(
    db: Database, ticket_id: int, kind: str, at: str, *, from_value: str | None = None,
    to_value: str | None = None, body: str | None = None,
) -> None:  # fmt: skip
    db.execute(
        "INSERT INTO ticket_events (ticket_id, kind, from_value, to_value, body, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (ticket_id, kind, from_value, to_value, body, at),
    )


def _update(db: Database, ticket_id: int, **columns: Any) -> None:
    assignments = ", ".join(f"{k} = ?" for k in columns)  # keys are ours, never user text
    db.execute(f"UPDATE tickets SET {assignments} WHERE id = ?", [*columns.values(), ticket_id])


def open_ticket(
    db: Database,
    customer_id: int,
    subject: str,
    *,
    priority: str = "normal",
    due_at: str | None = None,
    description: str | None = None,
) -> int:
    """A new open tier-1 ticket for the customer; returns its id.  Without ``due_at`` (UTC
    ISO text, see :func:`parse_due`) it is due after the priority's SLA setting."""
    text = check_subject(subject)
    level = check_priority(priority)
    details = check_description(description) if description is not None else None
    db.require("customers", "customer", customer_id)
    now = _now()
    due = due_at if due_at is not None else sla_due(db, level, start=now)
    cur = db.execute(
        "INSERT INTO tickets (uid, customer_id, subject, description, priority, status, tier, "
        "due_at, satisfaction, resolved_at, closed_at, reopened, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, 'open', 1, ?, NULL, NULL, NULL, 0, ?, ?)",
        (str(uuid.uuid4()), customer_id, text, details, level, due, now, now),
    )
    ticket_id = int(cur.lastrowid or 0)
    _event(db, ticket_id, "opened", now, to_value="open")
    return ticket_id


def _refused(ticket: dict[str, Any], hint: str) -> CrmError:
    return CrmError(f"ticket {ticket['id']} is {ticket['status']}; {hint}")


def comment(db: Database, ticket_id: int, text: str) -> dict[str, Any]:
    """Add a comment to the thread of an open or pending ticket (its status stays)."""
    body = check_note(text, field="comment", required=True)
    ticket = get(db, ticket_id)
    if ticket["status"] not in UNRESOLVED:
        raise _refused(ticket, f"reopen it first: crm ticket reopen {ticket_id}")
    now = _now()
    _event(db, ticket_id, "comment", now, body=body)
    _update(db, ticket_id, updated_at=now)
    return ticket


def escalate(db: Database, ticket_id: int, *, note: str | None = None) -> dict[str, Any]:
    """Tier 1 -> 2 for an open or pending ticket."""
    body = check_note(note)
    ticket = get(db, ticket_id)
    if ticket["status"] not in UNRESOLVED:
        raise _refused(ticket, f"reopen it before escalating: crm ticket reopen {ticket_id}")
    if ticket["tier"] >= TOP_TIER:
        raise CrmError(f"ticket {ticket_id} is already at tier {ticket['tier']}")
    now = _now()
    tier = int(ticket["tier"]) + 1
    _update(db, ticket_id, tier=tier, updated_at=now)
    _event(db, ticket_id, "escalation", now, from_value=str(ticket["tier"]),
           to_value=str(tier), body=body)  # fmt: skip
    return get(db, ticket_id)


def _illegal(ticket: dict[str, Any], to: str) -> CrmError:
    current = ticket["status"]
    if current == to:
        return CrmError(f"ticket {ticket['id']} is already {current}")
    allowed = TRANSITIONS[current]
    verbs = [_VERBS[s] for s in allowed]
    options = verbs[0] if len(verbs) == 1 else ", ".join(verbs[:-1]) + " or " + verbs[-1]
    hint = ""
    if len(allowed) == 1:
        hint = f": crm ticket {_COMMANDS[allowed[0]]} {ticket['id']}"
    return CrmError(f"ticket {ticket['id']} is {current}; a {current} ticket can only be "
                    f"{options}{hint}")  # fmt: skip


def _pending_since(db: Database, ticket_id: int) -> str | None:
    value = db.scalar(
        "SELECT at FROM ticket_events WHERE ticket_id = ? AND kind = 'status' "
        "AND to_value = 'pending' ORDER BY at DESC, id DESC LIMIT 1",
        (ticket_id,),
    )
    return None if value is None else str(value)


def _paused_due(due_at: str, since: str | None, now: str) -> str:
    """The due time moved on by the time spent pending (the SLA clock was paused)."""
    from crmcli.dates import from_utc_iso, to_utc_iso

    if since is None or since >= now:
        return due_at
    return to_utc_iso(from_utc_iso(due_at) + (from_utc_iso(now) - from_utc_iso(since)))


def change_status(
    db: Database,
    ticket_id: int,
    to: str,
    *,
    note: str | None = None,
    satisfaction: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """Move a ticket to status ``to`` along :data:`TRANSITIONS`; returns the status it came
    from and the ticket as it is now.

    * ``resolved`` sets ``resolved_at``, and ``satisfaction`` when given;
    * ``closed`` sets ``closed_at`` (and ``resolved_at`` when it was never resolved) and
      ``satisfaction`` when given (a later score replaces an earlier one);
    * ``open`` from ``resolved``/``closed`` is a reopen: ``reopened`` + 1, resolved_at and
      closed_at cleared, a new due time from the SLA counted from now (satisfaction kept);
    * ``open`` from ``pending`` resumes: the due time moves on by the time spent pending.
    """
    target = check_status(to, field="status")
    body = check_note(note)
    if satisfaction is not None:
        if target not in ("resolved", "closed"):
            raise UsageError(
                "a satisfaction score is given when resolving or closing a ticket: "
                f"crm ticket resolve {ticket_id} --satisfaction {satisfaction}"
            )
        satisfaction = check_satisfaction(satisfaction)
    ticket = get(db, ticket_id)
    current = str(ticket["status"])
    if target not in TRANSITIONS[current]:
        raise _illegal(ticket, target)
    now = _now()
    columns: dict[str, Any] = {"status": target, "updated_at": now}
    if target == "resolved":
        columns["resolved_at"] = now
        if satisfaction is not None:
            columns["satisfaction"] = satisfaction
    elif target == "closed":
        columns["closed_at"] = now
        if ticket["resolved_at"] is None:
            columns["resolved_at"] = now
        if satisfaction is not None:
            columns["satisfaction"] = satisfaction
    elif target == "open" and current == "pending":
        columns["due_at"] = _paused_due(ticket["due_at"], _pending_since(db, ticket_id), now)
    elif target == "open":
        columns.update(
            resolved_at=None, closed_at=None, reopened=int(ticket["reopened"]) + 1,
            due_at=sla_due(db, ticket["priority"], start=now),
        )  # fmt: skip
    _update(db, ticket_id, **columns)
    _event(db, ticket_id, "status", now, from_value=current, to_value=target, body=body)
    return current, get(db, ticket_id)


def edit(
    db: Database,
    ticket_id: int,
    *,
    subject: str | None = None,
    priority: str | None = None,
    due_at: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Change a ticket's subject, priority, due time (UTC ISO text) or description (blank
    text clears it).  A new priority does not move the due time: pass ``due_at`` too."""
    values: dict[str, Any] = {}
    if subject is not None:
        values["subject"] = check_subject(subject)
    if priority is not None:
        values["priority"] = check_priority(priority)
    if due_at is not None:
        values["due_at"] = due_at
    if description is not None:
        values["description"] = check_description(description)
    if not values:
        raise UsageError("nothing to change; give --subject, --priority, --due or --description")
    ticket = get(db, ticket_id)
    changed = {k: v for k, v in values.items() if ticket[k] != v}
    if changed:
        _update(db, ticket_id, **changed, updated_at=_now())
    return get(db, ticket_id)


def delete(db: Database, ticket_id: int) -> dict[str, Any]:
    """Delete a ticket; its thread (and reminders linked to it) go with it."""
    ticket = get(db, ticket_id)
    db.execute("DELETE FROM tickets WHERE id = ?", (ticket_id,))
    return ticket
