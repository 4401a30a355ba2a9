"""Where a message leaves the portal: e-mail over SMTP, SMS and WeChat behind one interface.

A channel takes a rendered :class:`Message` and sends it, or raises: any exception is a
failed attempt the outbox retries with backoff (``services/outbox.py``). E-mail speaks SMTP
with the standard library (``FINPORTAL_SMTP_*``); without ``FINPORTAL_SMTP_HOST`` it only
logs, like SMS and WeChat, whose real gateways are configuration: a dotted path to a class
(``FINPORTAL_SMS_GATEWAY=package.module:Class``) built with the channel's name and the
application's configuration, with the same ``send(message)`` method.
"""

from __future__ import annotations

import importlib
import logging
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from functools import cache
from typing import Any, Protocol

from finportal.models import User, utcnow

log = logging.getLogger(__name__)

#: The channels beyond the portal's own list, with their names. (zh, en)
CHANNELS: dict[str, tuple[str, str]] = {
    "email": ("电子邮件", "E-mail"),
    "sms": ("短信", "SMS"),
    "wechat": ("微信", "WeChat"),
}
#: The class each channel uses unless configured otherwise.
DEFAULT_GATEWAY = "finportal.services.channels:LoggingChannel"


@dataclass(frozen=True)
class Message:
    """One rendered message to one address, in the recipient's language."""

    channel: str
    to: str
    subject: str
    body: str
    #: A stable id (the outbox row's), so a receiving system can drop a repeated delivery.
    key: str
    #: Signed link that turns this kind off on this channel (none for account mails).
    unsubscribe_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Channel(Protocol):
    """A way out of the portal: send one message or raise."""

    name: str

    def send(self, message: Message) -> None:
        """Send the message; raise on any failure (the outbox retries)."""

    def close(self) -> None:
        """Release what the run's sends held open (a connection); may do nothing."""


class LoggingChannel:
    """A channel that only writes each message to the log (the default SMS and WeChat gateway)."""

    def __init__(self, name: str, config: Mapping[str, Any] | None = None) -> None:
        self.name = name

    def close(self) -> None:
        """Nothing to release."""

    def send(self, message: Message) -> None:
        """Log the message as sent."""
        log.info(
            "%s to %s (%s): %s",
            self.name,
            message.to,
            message.key,
            message.subject,
            extra={"channel": self.name, "outbox_key": message.key},
        )


class EmailChannel:
    """E-mail over SMTP (``smtplib``): STARTTLS, implicit TLS or plain, with optional login."""

    name = "email"

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self.host = str(config["SMTP_HOST"])
        self.port = int(config.get("SMTP_PORT") or 25)
        self.security = str(config.get("SMTP_SECURITY") or "starttls")
        self.username = config.get("SMTP_USERNAME") or None
        self.password = config.get("SMTP_PASSWORD") or ""
        self.sender = str(config.get("SMTP_FROM") or "FinPortal <noreply@localhost>")
        self.timeout = float(config.get("SMTP_TIMEOUT") or 10)
        self._smtp: smtplib.SMTP | None = None

    def build(self, message: Message) -> EmailMessage:
        """Return the e-mail: UTF-8 text, RFC 2047 subject, List-Unsubscribe when it has one."""
        mail = EmailMessage()
        display, address = parseaddr(self.sender)
        mail["From"] = formataddr((display, address))
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(utcnow())
        domain = address.rpartition("@")[2] or "localhost"
        mail["Message-ID"] = make_msgid(idstring=message.key, domain=domain)
        mail["Auto-Submitted"] = "auto-generated"
        if message.unsubscribe_url:
            mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        for name, value in message.headers.items():
            mail[name] = value
        mail.set_content(message.body, charset="utf-8")
        return mail

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=local_hostname(),
                timeout=self.timeout,
                context=context,
            )
        else:
            smtp = smtplib.SMTP(
                self.host, self.port, local_hostname=local_hostname(), timeout=self.timeout
            )
        try:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(str(self.username), str(self.password))
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: Message) -> None:
        """Send one message on the run's connection (opened on first use); errors raise.

        After any error the connection is dropped: the next message opens a new one.
        """
        mail = self.build(message)
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(mail)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Say goodbye to the server, if connected."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


@cache
def local_hostname() -> str:
    """Return this machine's name for EHLO, looked up once (``getfqdn`` may ask DNS)."""
    return socket.getfqdn()


def gateway_class(path: str) -> Any:
    """Import ``package.module:Class`` (or ``package.module.Class``)."""
    module, _, name = path.partition(":") if ":" in path else path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def channel(name: str, config: Mapping[str, Any]) -> Channel:
    """Return the configured channel of a name ("email", "sms" or "wechat")."""
    if name not in CHANNELS:
        raise KeyError(name)
    if name == "email":
        if config.get("SMTP_HOST"):
            return EmailChannel(name, config)
        return LoggingChannel(name, config)
    path = config.get(f"{name.upper()}_GATEWAY") or DEFAULT_GATEWAY
    built: Channel = gateway_class(str(path))(name, config)
    return built


def address_of(user: User, name: str) -> str | None:
    """Return where a user's messages on a channel go (an e-mail only once verified)."""
    if name == "email":
        return user.email if user.email and user.email_verified_at else None
    if name == "sms":
        return user.phone or None
    if name == "wechat":
        return user.wechat_openid or None
    return None
