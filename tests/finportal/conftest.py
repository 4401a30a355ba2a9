"""Fixtures shared by the portal's test folders (fixtures, never imports across folders).

- ``batch_world``, ``open_batch``, ``submitted_batch``: a park with member enterprises, a
  bank, batches two members consent to, and the users around them.
- ``loop``, ``make_loop``, ``screened_application``: the referral loop (an application
  screened, consented to two banks, claimed and referred to the first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from finportal.models import Application, Consent, Match
from finportal.services.labels import DEFAULT_SCOPE
from tests.helpers import screened


@dataclass
class BatchWorld:
    """Everything a batch test needs."""

    park: Any
    chamber: Any
    bank: Any
    other_bank: Any
    advisor: Any
    recommender: Any
    chamber_recommender: Any
    bank_user: Any
    other_bank_user: Any
    members: list[Any]
    outsider: Any


@pytest.fixture
def batch_world(db_session, published_catalog, create_enterprise, create_bank, create_user):
    """Three park members (two consented to the bank), an outsider, and one user per role."""
    from finportal.models import Chamber, Membership, Park

    park = Park(code="bt_park", name_zh="测试工业园区")
    chamber = Chamber(code="bt_chamber", name_zh="测试商会")
    db_session.add_all([park, chamber])
    db_session.commit()
    bank, other_bank = create_bank(), create_bank()
    members = []
    for i in range(3):
        enterprise = create_enterprise(name=f"上海批次成员{i + 1}科技有限公司")
        enterprise.memberships.append(Membership(park_id=park.id))
        members.append(enterprise)
    outsider = create_enterprise(name="上海园区外科技有限公司")
    outsider.memberships.append(Membership(chamber_id=chamber.id))
    db_session.commit()
    return BatchWorld(
        park=park,
        chamber=chamber,
        bank=bank,
        other_bank=other_bank,
        advisor=create_user("advisor"),
        recommender=create_user("recommender", park_id=park.id),
        chamber_recommender=create_user("recommender", chamber_id=chamber.id),
        bank_user=create_user("bank", bank_id=bank.id),
        other_bank_user=create_user("bank", bank_id=other_bank.id),
        members=members,
        outsider=outsider,
    )


@pytest.fixture
def open_batch(db_session, batch_world):
    """An open park batch of 5,000,000 yuan for the world's bank."""
    from finportal.services import batches

    batch = batches.create_batch(
        db_session,
        actor_id=batch_world.advisor.id,
        name="测试园区 2026 年第一批",
        bank_id=batch_world.bank.id,
        quota_total=Decimal("5000000"),
        park_id=batch_world.park.id,
    )
    consent_to_batch(db_session, batch, batch_world.members[:2])
    return batch


def consent_to_batch(db_session: Any, batch: Any, enterprises: list[Any]) -> None:
    """Record the enterprises' consent to the batch's bank for that batch, committed."""
    from finportal.models import Consent

    for enterprise in enterprises:
        db_session.add(
            Consent(
                enterprise_id=enterprise.id,
                batch_id=batch.id,
                bank_id=batch.bank_id,
                scope=["profile", "financials", "credit_record", "score"],
                valid_until=date.today() + timedelta(days=365),
            )
        )
    db_session.commit()


@pytest.fixture
def submitted_batch(db_session, batch_world, open_batch):
    """The open batch with the two consenting members recommended, checked and submitted."""
    from finportal.services import batch_checks, batch_recommendations

    for enterprise, amount in zip(batch_world.members[:2], ("2000000", "3000000"), strict=True):
        member = batch_recommendations.recommend_member(
            db_session,
            batch_id=open_batch.id,
            enterprise_id=enterprise.id,
            actor_id=batch_world.recommender.id,
            note="园区重点企业",
            requested_amount=amount,
        )
        batch_checks.check_member(db_session, member.id, actor_id=batch_world.advisor.id)
    return batch_checks.submit_batch(db_session, open_batch.id, actor_id=batch_world.advisor.id)


# --- the referral loop ----------------------------------------------------------------------


def _grant_consent(
    session: Any, application: Application, bank: Any, *, days: int = 365
) -> Consent:
    """Record the enterprise's consent to share its data with the bank, committed."""
    consent = Consent(
        enterprise_id=application.enterprise_id,
        application_id=application.id,
        bank_id=bank.id,
        scope=list(DEFAULT_SCOPE),
        valid_until=date.today() + timedelta(days=days),
    )
    session.add(consent)
    session.commit()
    return consent


def _eligible_version(session: Any, application: Application) -> int:
    """Return the product version id of the application's best eligible match."""
    match = session.scalar(
        select(Match)
        .where(Match.application_id == application.id, Match.eligible.is_(True))
        .order_by(Match.rank)
        .limit(1)
    )
    assert match is not None, "the test enterprise should be eligible for some product"
    return match.product_version_id


class Loop:
    """The records of one referral loop: enterprise, banks, users, application, referral."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


def _build_loop(
    session: Any,
    create_enterprise: Any,
    create_bank: Any,
    create_user: Any,
    *,
    refer: bool = True,
    packet: bool = False,
    enterprise_name: str = "上海㐀明精密机械有限公司",
) -> Loop:
    """Screen an application, consent to two banks, claim it and refer it to the first bank
    (``packet``: and render the referral's packet, as the portal does when it refers)."""
    from finportal.services import review_actions

    enterprise = create_enterprise(name=enterprise_name)
    bank, other_bank = create_bank(), create_bank()
    application = screened(session, enterprise)
    consent = _grant_consent(session, application, bank)
    _grant_consent(session, application, other_bank)
    advisor = create_user("advisor", display_name="王顾问")
    bank_user = create_user("bank", bank_id=bank.id, display_name="甲行客户经理")
    other_bank_user = create_user("bank", bank_id=other_bank.id, display_name="乙行客户经理")
    sme_user = create_user("sme", enterprise_id=enterprise.id)
    loop = Loop(
        enterprise=enterprise,
        bank=bank,
        other_bank=other_bank,
        application=application,
        consent=consent,
        advisor=advisor,
        bank_user=bank_user,
        other_bank_user=other_bank_user,
        sme_user=sme_user,
        version_id=_eligible_version(session, application),
        referral=None,
    )
    if refer:
        review_actions.claim(session, application.id, actor_id=advisor.id)
        (loop.referral,) = review_actions.refer_to_banks(
            session,
            application.id,
            actor_id=advisor.id,
            referrals=[(bank.id, loop.version_id)],
            opinion="企业经营稳定，建议贵行予以支持。",
            render=packet,
        )
        session.refresh(loop.referral)
    return loop


@pytest.fixture
def make_loop(
    db_session, published_catalog, champion_model, create_enterprise, create_bank, create_user
):
    """Factory: the referral loop; ``make_loop(refer=False)`` stops before the referral,
    ``make_loop(packet=True)`` renders the referral's packet (a second or so each)."""

    def make(**kwargs: Any) -> Loop:
        return _build_loop(db_session, create_enterprise, create_bank, create_user, **kwargs)

    return make


@pytest.fixture
def loop(make_loop, request):
    """An application screened, consented to two banks, claimed and referred to the first
    (a test marked ``packet``: with the referral's packet rendered)."""
    return make_loop(packet=request.node.get_closest_marker("packet") is not None)


@pytest.fixture
def screened_application(db_session, published_catalog, champion_model):
    """Factory: a submitted and screened application of an enterprise (``**kwargs``: request)."""

    def make(enterprise: Any, **kwargs: Any) -> Application:
        return screened(db_session, enterprise, **kwargs)

    return make


@pytest.fixture
def grant_consent(db_session):
    """Factory: the enterprise's consent in an application to a bank (``days`` valid)."""

    def make(application: Application, bank: Any, **kwargs: Any) -> Consent:
        return _grant_consent(db_session, application, bank, **kwargs)

    return make


@pytest.fixture
def eligible_version(db_session):
    """Factory: the product version id of an application's best eligible match."""

    def find(application: Application) -> int:
        return _eligible_version(db_session, application)

    return find
