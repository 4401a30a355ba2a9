"""One consent rule: a consent counts for its own subject only, and on its last day everywhere."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from finportal.models import AuditEvent, Consent, Membership, Park
from finportal.services import (
    api_tokens,
    batch_checks,
    batch_packets,
    batch_recommendations,
    batches,
    consents,
    review_actions,
)
from finportal.services.applications import withdraw_application
from finportal.services.errors import Forbidden, ValidationFailed
from finportal.services.labels import DEFAULT_SCOPE
from finportal.services.workdays import today_local

pytestmark = pytest.mark.db


@pytest.fixture
def park_batch(
    db_session, published_catalog, champion_model, create_enterprise, create_bank, create_user
):
    """A park batch for one bank with a member firm recommended into it."""
    park = Park(code="rule_park", name_zh="规则测试园区")
    db_session.add(park)
    db_session.commit()
    bank = create_bank()
    member = create_enterprise(name="上海批次授权测试有限公司")
    member.memberships.append(Membership(park_id=park.id))
    db_session.commit()
    recommender = create_user("recommender", park_id=park.id)
    advisor = create_user("advisor")
    sme_user = create_user("sme", enterprise_id=member.id)
    batch = batches.create_batch(
        db_session,
        actor_id=advisor.id,
        name="规则测试批次",
        bank_id=bank.id,
        quota_total=Decimal("5000000"),
        park_id=park.id,
    )
    row = batch_recommendations.recommend_member(
        db_session,
        batch_id=batch.id,
        enterprise_id=member.id,
        actor_id=recommender.id,
        requested_amount="1000000",
    )
    return {
        "batch": batch,
        "bank": bank,
        "member": member,
        "row": row,
        "advisor": advisor,
        "sme_user": sme_user,
    }


def _consent(db_session, enterprise, bank, **subject):
    consent = Consent(
        enterprise_id=enterprise.id,
        bank_id=bank.id,
        scope=list(DEFAULT_SCOPE),
        valid_until=today_local() + timedelta(days=30),
        **subject,
    )
    db_session.add(consent)
    db_session.commit()
    return consent


def test_an_application_consent_never_lets_a_batch_reach_the_bank(
    db_session, park_batch, screened_application
):
    """The leak: a consent given in a (draft) application passed a batch's check."""
    world = park_batch
    draft = screened_application(world["member"])
    _consent(db_session, world["member"], world["bank"], application_id=draft.id)
    # An old-style consent to the bank for the whole enterprise does not count either.
    _consent(db_session, world["member"], world["bank"])
    checked = batch_checks.check_member(db_session, world["row"].id, actor_id=world["advisor"].id)
    assert checked.state == "recommended"
    assert checked.check_result["consent"] is None
    # The advisor sees why; the batch cannot go to the bank.
    reasons = db_session.scalars(
        select(AuditEvent.reason).where(AuditEvent.action == "batch_member.checked")
    ).all()
    assert any("就本批次授权" in r for r in reasons)


def test_the_sme_sees_which_batch_asks_and_its_consent_lets_the_check_pass(
    client, login, db_session, park_batch
):
    world = park_batch
    login(world["sme_user"])
    page = client.get("/sme/consents")
    assert page.status_code == 200
    assert "规则测试批次" in page.text and "等待您授权" in page.text
    response = client.post(f"/sme/consents/batches/{world['batch'].id}")
    assert response.status_code == 302
    consent = db_session.scalar(select(Consent).where(Consent.batch_id == world["batch"].id))
    assert consent is not None and consent.application_id is None
    assert consent.bank_id == world["bank"].id
    checked = batch_checks.check_member(db_session, world["row"].id, actor_id=world["advisor"].id)
    assert checked.state == "checked"
    assert "已授权，有效期至" in client.get("/sme/consents").text


def test_a_batch_consent_never_lets_a_referral_reach_the_bank(
    db_session, park_batch, eligible_version, screened_application
):
    world = park_batch
    _consent(db_session, world["member"], world["bank"], batch_id=world["batch"].id)
    application = screened_application(world["member"])
    assert consents.banks_for_application(db_session, application.id) == set()
    advisor = world["advisor"]
    review_actions.claim(db_session, application.id, actor_id=advisor.id)
    version = eligible_version(application)
    with pytest.raises(ValidationFailed, match="not consented"):
        review_actions.refer_to_banks(
            db_session,
            application.id,
            actor_id=advisor.id,
            referrals=[(world["bank"].id, version)],
            opinion="建议支持",
            render=False,
        )


def test_a_consent_counts_on_its_last_day_for_the_sme_and_the_advisor(db_session, loop):
    """The SME's submit and the advisor's referral read one rule of the last day."""
    today = today_local()
    loop.consent.valid_until = today
    db_session.commit()
    assert consents.in_force(loop.consent, today)
    assert loop.bank.id in consents.banks_for_application(db_session, loop.application.id, today)
    assert consents.for_referral(db_session, loop.referral, today) is not None
    tomorrow = today + timedelta(days=1)
    assert not consents.in_force(loop.consent, tomorrow)
    assert loop.bank.id not in consents.banks_for_application(
        db_session, loop.application.id, tomorrow
    )
    assert consents.for_referral(db_session, loop.referral, tomorrow) is None


def test_an_expired_consent_refuses_the_packet(client, login, db_session, loop):
    loop.consent.valid_until = date.today() - timedelta(days=1)
    db_session.commit()
    login(loop.bank_user)
    response = client.get(f"/bank/referrals/{loop.referral.id}/packet.pdf")
    assert response.status_code == 403


def test_no_packet_after_the_sme_withdraws_the_application(client, login, db_session, loop):
    withdraw_application(
        db_session,
        actor_id=loop.sme_user.id,
        enterprise_id=loop.enterprise.id,
        application_id=loop.application.id,
    )
    login(loop.bank_user)
    page = client.get(f"/bank/referrals/{loop.referral.id}")
    assert "企业已撤回该申请" in page.text
    response = client.get(f"/bank/referrals/{loop.referral.id}/packet.pdf")
    assert response.status_code == 403
    assert "企业已撤回该申请" in response.text
    _row, token = api_tokens.create_token(db_session, bank_id=loop.bank.id, actor_id=None)
    client.post("/auth/logout")
    api = client.get(
        f"/api/v1/referrals/{loop.referral.id}/packet", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status_code == 403
    assert api.json["code"] == "application_withdrawn"
    downloads = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "referral.packet_downloaded")
    ).all()
    assert downloads == []


def test_a_bank_no_longer_sees_a_member_that_withdrew_its_batch_consent(
    client, login, db_session, park_batch, create_user
):
    world = park_batch
    consent = _consent(db_session, world["member"], world["bank"], batch_id=world["batch"].id)
    batch_checks.check_member(db_session, world["row"].id, actor_id=world["advisor"].id)
    batch_checks.submit_batch(db_session, world["batch"].id, actor_id=world["advisor"].id)
    bank_user = create_user("bank", bank_id=world["bank"].id)
    login(bank_user)
    page = client.get(f"/bank/batches/{world['batch'].id}")
    assert world["member"].name in page.text
    consents.withdraw(
        db_session,
        actor_id=world["sme_user"].id,
        enterprise_id=world["member"].id,
        consent_id=consent.id,
    )
    page = client.get(f"/bank/batches/{world['batch'].id}")
    assert world["member"].name not in page.text
    with pytest.raises(Forbidden):
        batch_packets.render_batch_packet(
            db_session,
            batch_id=world["batch"].id,
            requested_by=bank_user.id,
            bank_id=world["bank"].id,
        )
