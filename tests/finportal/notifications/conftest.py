"""A real SMTP server per test, and the portal configured to send to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.smtp_server import SmtpServer


@pytest.fixture
def smtp(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """An aiosmtpd server on a free port; the app's e-mail goes there."""
    server = SmtpServer().start()
    for key, value in server.config().items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.setenv("FINPORTAL_BASE_URL", "http://localhost")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_user(create_user: Any, db_session: Any) -> Any:
    """Factory: a user with a verified e-mail address."""
    from finportal.models import utcnow

    def make(role: str = "sme", email: str | None = None, **overrides: Any) -> Any:
        extra = {
            k: overrides.pop(k) for k in ("language", "phone", "wechat_openid") if k in overrides
        }
        user = create_user(role, **overrides)
        for key, value in extra.items():
            setattr(user, key, value)
        user.email = email or f"{user.username}@example.cn"
        user.email_verified_at = utcnow()
        db_session.commit()
        return user

    return make
