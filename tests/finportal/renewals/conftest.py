"""Fixtures of renewals: a loan the bank disbursed on a referral of the referral loop."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.helpers import bank_approves, bank_reports


def _lend(
    session: Any,
    loop: Any,
    *,
    term_months: int = 12,
    amount: str = "1000000",
    disbursed_on: date | None = None,
) -> Any:
    """Approve the loop's referral for ``term_months`` and record the disbursal (today)."""
    bank_approves(session, loop, term_months=term_months, amount=amount)
    bank_reports(session, loop, "disbursed", on=disbursed_on, amount=amount)
    session.refresh(loop.referral)
    return loop


@pytest.fixture
def lend(db_session: Any) -> Any:
    """Factory: approve a loop's referral for a term and record the disbursal (today)."""

    def make(loop: Any, **kwargs: Any) -> Any:
        return _lend(db_session, loop, **kwargs)

    return make


@pytest.fixture
def lent(lend: Any, loop: Any) -> Any:
    """The loop's referral approved for 12 months and disbursed today (1,000,000 yuan)."""
    return lend(loop)


@pytest.fixture
def lent_short(lend: Any, loop: Any) -> Any:
    """The loop's referral approved for 2 months and disbursed today: inside the 90 days."""
    return lend(loop, term_months=2)
