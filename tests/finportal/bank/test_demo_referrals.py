"""The demo holds referrals in every state with rendered packets; demo-bank sees only its own."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from finportal.demo import DEFAULT_PASSWORD, load_demo
from finportal.models import REFERRAL_STATES, Bank, Referral
from finportal.services import referrals

pytestmark = [pytest.mark.db, pytest.mark.slow]


def test_demo_referrals_every_state_idempotent_and_private(client, db_session):
    load_demo(db_session)
    count = db_session.scalar(select(func.count()).select_from(Referral))
    load_demo(db_session)
    assert db_session.scalar(select(func.count()).select_from(Referral)) == count

    bank_a = db_session.scalar(select(Bank).where(Bank.code == "demo_bank_a"))
    mine = db_session.scalars(select(Referral).where(Referral.bank_id == bank_a.id)).all()
    assert {r.state for r in mine} == set(REFERRAL_STATES)
    assert all(r.packet_sha256 and r.verification_code for r in mine)
    assert any("㐀" in r.application.enterprise.name for r in mine)  # printed whole in its packet
    late = [r for r in mine if referrals.is_overdue(r)]
    assert late and all(r.due_at > r.sent_at for r in late)
    others = db_session.scalars(select(Referral).where(Referral.bank_id != bank_a.id)).all()
    assert others

    response = client.post(
        "/auth/login", data={"username": "demo-bank", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    pages = [
        client.get(f"/bank/?tab={tab}").text for tab in ("new", "viewed", "decided", "overdue")
    ]
    assert "预警" in pages[3]
    shown = "".join(pages)
    for referral in mine:
        if referral.state in (
            "sent",
            "viewed",
            "info_requested",
            "approved",
            "declined",
            "disbursed",
        ):
            assert referral.packet_number in shown, referral.state
    for referral in others:
        assert referral.packet_number not in shown
        assert client.get(f"/bank/referrals/{referral.id}").status_code == 404
        assert client.get(f"/bank/referrals/{referral.id}/packet.pdf").status_code == 404
    one = next(r for r in mine if r.state == "sent")
    assert client.get(f"/bank/referrals/{one.id}/packet.pdf").status_code == 200
