"""The demo holds referrals in every state with rendered packets; demo-bank sees only its own."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from finportal.demo import DEFAULT_PASSWORD, load_demo
from finportal.domain.states import ReferralState
from finportal.models import Bank, Referral
from finportal.services import referrals
from finportal.services.packets import current_packet

pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.demo]


def test_demo_referrals_every_state_idempotent_and_private(client, db_session):
    count = db_session.scalar(select(func.count()).select_from(Referral))
    load_demo(db_session)
    assert db_session.scalar(select(func.count()).select_from(Referral)) == count

    bank_a = db_session.scalar(select(Bank).where(Bank.code == "demo_bank_a"))
    mine = db_session.scalars(select(Referral).where(Referral.bank_id == bank_a.id)).all()
    assert {r.state for r in mine} == {s.value for s in ReferralState}
    assert all(current_packet(db_session, r.id) is not None for r in mine)
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


def test_demo_histories_are_whole_and_spread_over_time(db_session):
    from finportal.models import AuditEvent, Consent
    from finportal.services.dashboard import build_dashboard
    from finportal.services.labels import SCOPE_LABELS

    demo = db_session.scalars(select(Referral)).all()
    assert demo
    for referral in demo:
        application = referral.application
        actions = db_session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "application", AuditEvent.object_id == application.id)
            .order_by(AuditEvent.at, AuditEvent.id)
        ).all()
        assert actions[:3] == [
            "application.created",
            "application.submitted",
            "application.screened",
        ], application.idempotency_key
        consents = db_session.scalars(
            select(Consent).where(Consent.application_id == application.id)
        ).all()
        assert consents
        for consent in consents:
            assert set(consent.scope) <= set(SCOPE_LABELS)
            assert db_session.scalar(
                select(AuditEvent.id).where(
                    AuditEvent.action == "consent.granted",
                    AuditEvent.object_type == "consent",
                    AuditEvent.object_id == consent.id,
                )
            )
        assert application.screened_at > application.submitted_at
        assert referral.sent_at > application.screened_at
    headline = build_dashboard(db_session).headline
    assert headline["median_advisor_hours"] > 1
    assert headline["median_bank_hours"] > 1
