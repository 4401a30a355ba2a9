"""Fixtures of the complaint and assignment tests: the centre's people and a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from finportal.domain.permissions import Actor
from finportal.services.workdays import SHANGHAI


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A fixed time in Shanghai in December 2026 (1 December is a Tuesday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class Centre:
    """The people around a complaint: who raises it, who handles and supervises it."""

    sme: Any
    bank_user: Any
    advisor: Any
    other_advisor: Any
    supervisor: Any
    head: Any
    bank: Any

    def actor(self, user: Any) -> Actor:
        return Actor.of(user)


@pytest.fixture
def centre(db_session, create_user, create_bank):
    """An SME, a bank user, two advisors, a supervisor (督导顾问) and the head (中心负责人)."""
    bank = create_bank()
    supervisor = create_user("advisor", display_name="督导")
    head = create_user("advisor", display_name="负责人")
    supervisor.duty, head.duty = "supervisor", "head"
    db_session.commit()
    return Centre(
        sme=create_user("sme"),
        bank_user=create_user("bank"),
        advisor=create_user("advisor", display_name="顾问甲"),
        other_advisor=create_user("advisor", display_name="顾问乙"),
        supervisor=supervisor,
        head=head,
        bank=bank,
    )
