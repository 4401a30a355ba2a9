"""A renewal application: pre-filled from the running loan, and referred to the same bank first."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from finportal.models import Match, Renewal
from finportal.services import (
    application_forms,
    applications,
    maturities,
    renewals,
    review_actions,
)
from finportal.services.errors import NotFound, ValidationFailed
from finportal.services.screening import screen_application
from finportal.services.workdays import today_local
from tests.helpers import bank_reports

pytestmark = pytest.mark.db


def _renew(session, loop, **overrides):
    """Create and screen a renewal application of the loop's loan, as the SME's form posts it."""
    key = f"bank-{loop.referral.id}"
    found = renewals.prefill(session, loop.enterprise.id, key, today=today_local())
    form = {**found.values, "idempotency_key": uuid.uuid4().hex, **overrides}
    data = application_forms.ApplicationSchema().load(form)
    application, _job = applications.create_application(
        session, actor_id=loop.sme_user.id, enterprise_id=loop.enterprise.id, data=data
    )
    screen_application(session, application_id=application.id)
    session.commit()
    return application


def test_prefill_takes_the_loans_amount_term_purpose_product_and_bank(db_session, lend, loop):
    lend(loop, term_months=24, amount="1500000")
    found = renewals.prefill(
        db_session, loop.enterprise.id, f"bank-{loop.referral.id}", today=today_local()
    )
    assert found.values == {
        "renews": f"bank-{loop.referral.id}",
        "amount": "150",
        "term_months": "24",
        "purpose": "renewal",
        # Not inside the 90 days yet: no renewal product fits, the centre matches.
        "product_code": "",
        "consent_bank_ids": [str(loop.bank.id)],
    }
    assert found.notes[0][0].startswith("续贷预检显示暂无符合条件的续贷产品")


def test_prefill_keeps_the_term_inside_the_renewal_products_range(db_session, lent_short):
    loop = lent_short
    found = renewals.prefill(
        db_session, loop.enterprise.id, f"bank-{loop.referral.id}", today=today_local()
    )
    # The loan ran 2 months; the renewal product lends for 12 to 36 (its catalogue terms).
    assert found.values["product_code"] == "renewal"
    assert found.values["term_months"] == "12"
    assert found.values["amount"] == "100"
    assert (
        "原贷款期限 2 个月不在续贷 / 无还本续贷的期限范围（12–36 个月）内，已按 12 个月预填"
        in (found.notes[0][0])
    )


def test_prefill_of_another_firms_loan_is_not_found(db_session, lent, create_enterprise):
    other = create_enterprise()
    with pytest.raises(NotFound):
        renewals.prefill(db_session, other.id, f"bank-{lent.referral.id}", today=today_local())


def test_the_renewal_application_remembers_the_loan_and_reads_its_maturity(db_session, lent_short):
    loop = lent_short
    application = _renew(db_session, loop)
    assert application.amount == Decimal("1000000.00")
    assert application.term_months == 12
    assert application.purpose == "renewal"
    assert application.product.code == "renewal"
    assert db_session.get(Renewal, application.id).referral_id == loop.referral.id
    # The frozen profile carries the loan's days to maturity from the bank's events,
    # though the firm never typed them.
    assert loop.enterprise.loan_maturing_within_days is None
    (loan,) = maturities.loans_of(db_session, loop.enterprise.id, today=today_local())
    snapshot = application.profile_snapshot
    assert snapshot["profile"]["loan_maturing_within_days"] == loan.days_left(today_local())
    assert snapshot["profile"]["has_bank_loan_history"] is True
    assert "loan_maturing_within_days" in snapshot["from_loan"]["fields"]
    # So screening finds the renewal product eligible.
    renewal_match = [
        m
        for m in db_session.scalars(
            select(Match).where(Match.application_id == application.id).order_by(Match.id)
        )
        if m.product_version.product.code == "renewal"
    ]
    assert renewal_match[0].eligible


def test_a_renewal_goes_to_the_bank_that_lent_first(db_session, lent_short):
    loop = lent_short
    application = _renew(db_session, loop)
    plan = renewals.bank_plan(db_session, application)
    assert plan.first and plan.bank_id == loop.bank.id
    assert plan.explanation[0].startswith(f"续贷申请先推荐给原贷款银行{loop.bank.name_zh}")
    review_actions.claim(db_session, application.id, actor_id=loop.advisor.id)
    # The firm consents to the other bank too; sending there first is refused.
    from finportal.models import Consent
    from finportal.services.labels import DEFAULT_SCOPE

    db_session.add(
        Consent(
            enterprise_id=loop.enterprise.id,
            application_id=application.id,
            bank_id=loop.other_bank.id,
            scope=list(DEFAULT_SCOPE),
            valid_until=today_local() + timedelta(days=90),
        )
    )
    db_session.commit()
    with pytest.raises(ValidationFailed) as refused:
        review_actions.refer_to_banks(
            db_session,
            application.id,
            actor_id=loop.advisor.id,
            referrals=[(loop.other_bank.id, plan.product_version_id)],
            opinion="续贷",
        )
    assert "续贷申请须先推荐给原贷款银行" in refused.value.message_zh
    db_session.rollback()
    (referral,) = review_actions.refer_to_banks(
        db_session,
        application.id,
        actor_id=loop.advisor.id,
        referrals=[(loop.bank.id, plan.product_version_id)],
        opinion="按时还款，建议续贷。",
    )
    assert referral.bank_id == loop.bank.id
    assert referral.product_version.product.code == "renewal"
    # Once the lending bank has it, other banks may follow.
    (later,) = review_actions.refer_to_banks(
        db_session,
        application.id,
        actor_id=loop.advisor.id,
        referrals=[(loop.other_bank.id, plan.product_version_id)],
        opinion="同时推荐乙行。",
    )
    assert later.bank_id == loop.other_bank.id


def test_when_no_renewal_product_fits_the_plan_says_why_and_any_bank_may_come_first(
    db_session, lent
):
    loop = lent  # 12 months: not within the renewal product's 90 days
    application = _renew(db_session, loop, term_months="12", product_code="")
    plan = renewals.bank_plan(db_session, application)
    assert not plan.first
    assert "续贷产品不符合条件" in plan.explanation[0]
    assert "现有贷款不在 90 天内到期" in plan.explanation[0]
    renewals.require_same_bank_first(db_session, application, [loop.other_bank.id], [])


def test_an_ordinary_application_has_no_plan(db_session, loop):
    assert renewals.bank_plan(db_session, loop.application) is None


def test_renewing_a_loan_repaid_meanwhile_is_refused_beside_the_form(db_session, lent_short):

    loop = lent_short
    key = f"bank-{loop.referral.id}"
    found = renewals.prefill(db_session, loop.enterprise.id, key, today=today_local())
    bank_reports(db_session, loop, "repaid")
    data = application_forms.ApplicationSchema().load(
        {**found.values, "idempotency_key": uuid.uuid4().hex}
    )
    with pytest.raises(ValidationFailed) as refused:
        applications.create_application(
            db_session, actor_id=loop.sme_user.id, enterprise_id=loop.enterprise.id, data=data
        )
    assert "_form" in refused.value.fields
