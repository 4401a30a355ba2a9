"""A real SMTP server (aiosmtpd) for tests: it keeps what it receives, and can go down and up."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Received:
    """What the server got: the envelope's recipients and the parsed message."""

    def __init__(self, rcpt_tos: list[str], raw: bytes) -> None:
        self.rcpt_tos = rcpt_tos
        self.raw = raw
        self.message: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[assignment]

    @property
    def subject(self) -> str:
        # A long subject is folded after "Subject:"; the fold's space is not part of it.
        return str(self.message["Subject"]).strip()

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that records messages; ``stop``/``start`` it at will."""

    def __init__(self, delay: float = 0) -> None:
        #: Seconds the server takes to accept each message (a slow relay).
        self.delay = delay
        self.port = free_port()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self.received.append(Received(list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def start(self) -> SmtpServer:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def config(self) -> dict[str, Any]:
        """Return the portal's configuration that sends to this server."""
        return {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": self.port,
            "SMTP_SECURITY": "none",
            "SMTP_FROM": "闵行区融资服务平台 <noreply@finportal.test>",
            "SMTP_TIMEOUT": 5,
        }

    def wait_for(self, count: int, timeout: float = 15) -> list[Received]:
        """Wait until ``count`` messages arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.received)}")
