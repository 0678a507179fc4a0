"""A real SMTP server on 127.0.0.1 (aiosmtpd, in a thread) for the sending tests.

The handler keeps every message it accepts (the envelope and the raw bytes) and answers by the
recipient's address:

* ``temp…@`` — ``451`` the first time, accepted after (a temporary failure retried);
* ``reject…@`` — ``550`` always (a permanent failure);
* ``slow…@`` — accepted after a pause (a run to kill half-way).

Logins: user ``seller`` with password ``secret`` (over plain text: ``auth_require_tls`` off,
this is 127.0.0.1); any other is refused with 535.  Logging in is not required.
"""

from __future__ import annotations

import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

USER, PASSWORD = "seller", "secret"
SLOW_S = 0.4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Handler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[str, list[str], bytes]] = []
        self.tempfailed: set[str] = set()
        self.count = 0

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.tempfailed.clear()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        if local.startswith("temp"):
            with self.lock:
                if address not in self.tempfailed:
                    self.tempfailed.add(address)
                    return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        import asyncio

        if any(a.split("@")[0].lower().startswith("slow") for a in envelope.rcpt_tos):
            await asyncio.sleep(SLOW_S)
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            self.count += 1
        return "250 2.0.0 accepted"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            raw = [content for _, _, content in self.received]
        # CRLF on the wire; the email package reads lines ended by LF.
        return [
            message_from_bytes(r.replace(b"\r\n", b"\n"), policy=policy.default)  # type: ignore[misc]
            for r in raw
        ]


class Counting:
    """A handler that only counts (the benchmark's server)."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        return "250 OK"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def start(handler: Any, port: int | None = None) -> Any:
    """A started Controller on 127.0.0.1 (``.port``; ``.stop()`` when done)."""
    from aiosmtpd.controller import Controller

    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port or free_port(),
        authenticator=authenticator,
        auth_require_tls=False,
        auth_required=False,
        ready_timeout=10,
    )
    controller.start()
    return controller


def wait_for(predicate: Any, timeout: float = 10) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False
