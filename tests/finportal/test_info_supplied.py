"""A bank asks for information, the firm supplies it, and the bank's clock runs again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from finportal.models import Referral, utcnow
from finportal.services import applications, bank_actions, referrals
from finportal.services.errors import InvalidTransition, ValidationFailed

pytestmark = pytest.mark.db


@pytest.fixture
def asked(db_session, make_loop):
    loop = make_loop()
    bank_actions.record_decision(
        db_session,
        loop.referral.id,
        bank_id=loop.bank.id,
        actor_id=loop.bank_user.id,
        decision="info_requested",
        reason_text="请提供近6个月银行流水",
        lock_version=loop.referral.lock_version,
    )
    db_session.refresh(loop.referral)
    return loop


def test_the_firm_answers_on_its_page_and_the_bank_reads_it(client, login, db_session, asked):
    loop = asked
    referral = db_session.get(Referral, loop.referral.id)
    # The clock stood still while the firm was asked: nothing is overdue for the bank.
    assert not referrals.is_overdue(referral, utcnow() + timedelta(days=30))
    login(loop.sme_user)
    page = client.get(f"/sme/applications/{loop.application.id}")
    assert "银行要求补充材料" in page.text and f'id="supply-{referral.id}"' in page.text
    url = f"/sme/applications/{loop.application.id}/referrals/{referral.id}/supply"
    empty = client.post(url, data={"answer": "  "})
    assert empty.status_code == 422 and "请写明补充的内容" in empty.text
    sent = client.post(url, data={"answer": "已上传近6个月流水，见附件说明"})
    assert sent.status_code == 302
    db_session.expire_all()
    referral = db_session.get(Referral, loop.referral.id)
    assert referral.state == "info_supplied"
    assert referral.due_at > utcnow()
    assert referrals.is_overdue(referral, referral.due_at + timedelta(seconds=1))
    client.post("/auth/logout")
    login(loop.bank_user)
    bank_page = client.get(f"/bank/referrals/{referral.id}")
    assert "已上传近6个月流水" in bank_page.text and "企业已补充材料" in bank_page.text
    # The bank decides after the answer, as after a view.
    bank_actions.record_decision(
        db_session,
        referral.id,
        bank_id=loop.bank.id,
        actor_id=loop.bank_user.id,
        decision="declined",
        reason_code="other",
        reason_text="流水不足",
        lock_version=referral.lock_version,
    )
    assert db_session.get(Referral, referral.id).state == "declined"


def test_only_an_asked_referral_of_the_firm_takes_an_answer(db_session, asked, create_user):
    loop = asked
    other = create_user("sme")
    with pytest.raises(Exception, match="No such"):
        applications.supply_information(
            db_session,
            actor_id=other.id,
            enterprise_id=other.enterprise_id,
            application_id=loop.application.id,
            referral_id=loop.referral.id,
            answer="x",
        )
    applications.supply_information(
        db_session,
        actor_id=loop.sme_user.id,
        enterprise_id=loop.enterprise.id,
        application_id=loop.application.id,
        referral_id=loop.referral.id,
        answer="第一次回复",
    )
    with pytest.raises(InvalidTransition):
        applications.supply_information(
            db_session,
            actor_id=loop.sme_user.id,
            enterprise_id=loop.enterprise.id,
            application_id=loop.application.id,
            referral_id=loop.referral.id,
            answer="再回复一次",
        )
    with pytest.raises(ValidationFailed):
        applications.supply_information(
            db_session,
            actor_id=loop.sme_user.id,
            enterprise_id=loop.enterprise.id,
            application_id=loop.application.id,
            referral_id=loop.referral.id,
            answer="\x00",
        )
