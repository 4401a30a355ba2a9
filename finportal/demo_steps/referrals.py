"""Demo data: referrals."""

from __future__ import annotations

from sqlalchemy.orm import Session


def seed(session: Session, context: dict[str, object]) -> None:
    """Create or refresh the referrals demo records (idempotent)."""
