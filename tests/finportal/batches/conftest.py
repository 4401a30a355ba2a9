"""A park with member enterprises, a bank, batches two members consent to, and their users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest


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
