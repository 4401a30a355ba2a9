"""Fixtures of the subsidy tests: a firm's loans of chosen products, and their repayments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from finportal.models import Match, ProductVersion
from finportal.services import bank_actions, review_actions
from finportal.services.workdays import today_local
from tests.helpers import screened


class World:
    """A firm, its user, a bank with a user and an advisor."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


@pytest.fixture
def lend(
    db_session,
    published_catalog,
    champion_model,
    create_enterprise,
    create_bank,
    create_user,
    grant_consent,
):
    """Factory: ``lend(code, world=None)`` refers a new application of the firm to the bank
    for the product ``code``; the bank approves (3.5 %, 12 months) and disburses 100 万元
    today. Returns (referral, world)."""

    def make(code: str, world: World | None = None, amount: str = "1000000") -> tuple[Any, World]:
        if world is None:
            enterprise = create_enterprise()
            bank = create_bank()
            world = World(
                enterprise=enterprise,
                bank=bank,
                bank_user=create_user("bank", bank_id=bank.id),
                advisor=create_user("advisor"),
                sme_user=create_user("sme", enterprise_id=enterprise.id),
            )
        application = screened(db_session, world.enterprise, amount=amount, term_months=12)
        version_id = db_session.scalar(
            select(Match.product_version_id)
            .join(ProductVersion, ProductVersion.id == Match.product_version_id)
            .where(
                Match.application_id == application.id,
                Match.eligible.is_(True),
                ProductVersion.product.has(code=code),
            )
        )
        assert version_id is not None, f"the test firm should be eligible for {code}"
        grant_consent(application, world.bank)
        review_actions.claim(db_session, application.id, actor_id=world.advisor.id)
        (referral,) = review_actions.refer_to_banks(
            db_session,
            application.id,
            actor_id=world.advisor.id,
            referrals=[(world.bank.id, version_id)],
            opinion="建议支持。",
        )
        bank_actions.record_decision(
            db_session,
            referral.id,
            bank_id=world.bank.id,
            actor_id=world.bank_user.id,
            decision="approved",
            approved_amount=amount,
            annual_rate="0.035",
            term_months=12,
        )
        bank_actions.record_outcome(
            db_session,
            referral.id,
            bank_id=world.bank.id,
            actor_id=world.bank_user.id,
            event="disbursed",
            occurred_on=today_local(),
            amount=amount,
        )
        db_session.refresh(referral)
        return referral, world

    return make


@pytest.fixture
def repay(db_session):
    """Factory: the bank reports a repayment (or, with ``event="repaid"``, the last one) today."""

    def report(
        referral: Any,
        world: World,
        *,
        principal: str,
        interest: str,
        fee: str | None = None,
        event: str = "repayment",
    ) -> Any:
        return bank_actions.record_outcome(
            db_session,
            referral.id,
            bank_id=world.bank.id,
            actor_id=world.bank_user.id,
            event=event,
            occurred_on=today_local(),
            principal_paid=Decimal(principal),
            interest_paid=Decimal(interest),
            fee_paid=None if fee is None else Decimal(fee),
        )

    return report
