"""Batches: recommend (own park only), check, submit, decide member by member, quota, filing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from finportal.models import AuditEvent, Batch, BatchMember
from finportal.services import batch_checks, batch_decisions, batch_recommendations, batches
from finportal.services.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)


def _events(session, action):
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_new_batch_takes_the_per_firm_cap_from_the_catalogue(db_session, batch_world, open_batch):
    # park_batch.yaml: batch_terms.per_firm_cap = 3,000,000 yuan
    assert open_batch.per_firm_cap == Decimal("3000000")
    assert open_batch.product.code == "park_batch"
    assert open_batch.state == "open" and open_batch.filing_status == "not_filed"
    assert _events(db_session, "batch.created")


def test_chamber_batch_uses_the_chamber_product(db_session, batch_world):
    batch = batches.create_batch(
        db_session,
        actor_id=batch_world.advisor.id,
        name="商会批次",
        bank_id=batch_world.bank.id,
        quota_total="3000000",
        chamber_id=batch_world.chamber.id,
    )
    assert batch.product.code == "chamber_batch"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quota_total": "abc"}, "quota_total"),
        ({"quota_total": "-5"}, "quota_total"),
        ({"quota_total": "1e30"}, "quota_total"),
        ({"quota_total": "1000"}, "quota_total"),  # below the per-firm cap
        ({"name": ""}, "name"),
    ],
)
def test_bad_batches_are_refused(db_session, batch_world, kwargs, field):
    values = {"name": "批次", "quota_total": "5000000", **kwargs}
    with pytest.raises(ValidationFailed) as info:
        batches.create_batch(
            db_session,
            actor_id=batch_world.advisor.id,
            bank_id=batch_world.bank.id,
            park_id=batch_world.park.id,
            **values,
        )
    assert field in info.value.fields
    assert db_session.scalar(select(Batch.id)) is None


def test_both_or_no_organisation_is_refused(db_session, batch_world):
    with pytest.raises(ValidationFailed):
        batches.create_batch(
            db_session,
            actor_id=None,
            name="x",
            bank_id=batch_world.bank.id,
            quota_total="5000000",
            park_id=batch_world.park.id,
            chamber_id=batch_world.chamber.id,
        )


def test_recommender_adds_own_members_only(db_session, batch_world, open_batch):
    w = batch_world
    member = batch_recommendations.recommend_member(
        db_session,
        batch_id=open_batch.id,
        enterprise_id=w.members[0].id,
        actor_id=w.recommender.id,
        note="园区推荐：订单增长",
    )
    assert member.state == "recommended" and member.note == "园区推荐：订单增长"
    # An enterprise outside the park is not found, whatever its id.
    with pytest.raises(NotFound):
        batch_recommendations.recommend_member(
            db_session,
            batch_id=open_batch.id,
            enterprise_id=w.outsider.id,
            actor_id=w.recommender.id,
        )
    # The chamber's recommender cannot even see the park's batch.
    with pytest.raises(NotFound):
        batch_recommendations.recommend_member(
            db_session,
            batch_id=open_batch.id,
            enterprise_id=w.members[1].id,
            actor_id=w.chamber_recommender.id,
        )
    # Other roles are not recommenders.
    with pytest.raises(Forbidden):
        batch_recommendations.recommend_member(
            db_session, batch_id=open_batch.id, enterprise_id=w.members[1].id, actor_id=w.advisor.id
        )
    # Twice is a conflict.
    with pytest.raises(Conflict):
        batch_recommendations.recommend_member(
            db_session,
            batch_id=open_batch.id,
            enterprise_id=w.members[0].id,
            actor_id=w.recommender.id,
        )
    assert len(open_batch.members) == 1


def test_requested_amount_cannot_exceed_the_cap(db_session, batch_world, open_batch):
    with pytest.raises(ValidationFailed) as info:
        batch_recommendations.recommend_member(
            db_session,
            batch_id=open_batch.id,
            enterprise_id=batch_world.members[0].id,
            actor_id=batch_world.recommender.id,
            requested_amount="3000000.01",
        )
    assert "requested_amount" in info.value.fields


def test_withdraw_and_recommend_again(db_session, batch_world, open_batch):
    w = batch_world
    member = batch_recommendations.recommend_member(
        db_session, batch_id=open_batch.id, enterprise_id=w.members[0].id, actor_id=w.recommender.id
    )
    with pytest.raises(NotFound):
        batch_recommendations.withdraw_member(
            db_session, member.id, actor_id=w.chamber_recommender.id
        )
    batch_recommendations.withdraw_member(
        db_session, member.id, actor_id=w.recommender.id, reason="企业暂不需要"
    )
    assert member.state == "withdrawn"
    again = batch_recommendations.recommend_member(
        db_session, batch_id=open_batch.id, enterprise_id=w.members[0].id, actor_id=w.recommender.id
    )
    assert again.id == member.id and again.state == "recommended"
    assert [e.to_state for e in _events(db_session, "batch_member.withdrawn")] == ["withdrawn"]


def test_check_needs_eligibility_and_consent(db_session, batch_world, open_batch):
    w = batch_world
    consented = batch_recommendations.recommend_member(
        db_session, batch_id=open_batch.id, enterprise_id=w.members[0].id, actor_id=w.recommender.id
    )
    no_consent = batch_recommendations.recommend_member(
        db_session, batch_id=open_batch.id, enterprise_id=w.members[2].id, actor_id=w.recommender.id
    )
    batch_checks.check_member(db_session, consented.id, actor_id=w.advisor.id)
    batch_checks.check_member(db_session, no_consent.id, actor_id=w.advisor.id)
    assert consented.state == "checked"
    assert consented.check_result["eligible"] and consented.check_result["consent"]
    # The whitelist condition passes because the check evaluates as recommended.
    results = {c["id"]: c["result"] for c in consented.check_result["conditions"]}
    assert results["batch_recommended"] == "passed"
    assert no_consent.state == "recommended"
    assert no_consent.check_result["eligible"] and not no_consent.check_result["passed"]
    # Submitting with an unchecked member is refused; after withdrawing it, it goes.
    with pytest.raises(InvalidTransition):
        batch_checks.submit_batch(db_session, open_batch.id, actor_id=w.advisor.id)
    batch_recommendations.withdraw_member(
        db_session, no_consent.id, actor_id=w.advisor.id, reason="未授权"
    )
    batch_checks.submit_batch(db_session, open_batch.id, actor_id=w.advisor.id)
    assert open_batch.state == "submitted" and consented.state == "submitted"


def test_ineligible_member_fails_the_check(db_session, batch_world, open_batch):
    w = batch_world
    member = batch_recommendations.recommend_member(
        db_session, batch_id=open_batch.id, enterprise_id=w.members[0].id, actor_id=w.recommender.id
    )
    # The enterprise's data changed after it was recommended: the check catches it.
    w.members[0].pending_lawsuits = 2
    db_session.commit()
    batch_checks.check_member(db_session, member.id, actor_id=w.advisor.id)
    assert member.state == "recommended"
    failed = [c["id"] for c in member.check_result["conditions"] if c["result"] == "failed"]
    assert failed == ["no_pending_lawsuit"]


def test_bank_decides_member_by_member_within_the_quota(db_session, batch_world, submitted_batch):
    w = batch_world
    first, second = submitted_batch.members
    batch_decisions.decide_member(
        db_session,
        submitted_batch.id,
        first.id,
        bank_id=w.bank.id,
        actor_id=w.bank_user.id,
        decision="approved",
        approved_amount="2000000",
    )
    use = batches.quota_use(submitted_batch)
    assert (use.used, use.left) == (Decimal("2000000"), Decimal("3000000"))
    # 3,000,000.01 would pass the cap check only if the cap were higher: over the quota left.
    with pytest.raises(ValidationFailed):
        batch_decisions.decide_member(
            db_session,
            submitted_batch.id,
            second.id,
            bank_id=w.bank.id,
            actor_id=w.bank_user.id,
            decision="approved",
            approved_amount="3000000.01",
        )
    batch_decisions.decide_member(
        db_session,
        submitted_batch.id,
        second.id,
        bank_id=w.bank.id,
        actor_id=w.bank_user.id,
        decision="approved",
        approved_amount="3000000",
    )
    db_session.refresh(submitted_batch)
    assert submitted_batch.quota_used == submitted_batch.quota_total
    assert submitted_batch.state == "closed"  # every member decided
    assert len(_events(db_session, "batch_member.approved")) == 2
    # A decided member cannot be decided again.
    with pytest.raises(InvalidTransition):
        batch_decisions.decide_member(
            db_session,
            submitted_batch.id,
            first.id,
            bank_id=w.bank.id,
            actor_id=w.bank_user.id,
            decision="declined",
            reason_text="x",
        )


def test_approval_over_the_quota_left_changes_nothing(db_session, batch_world, open_batch):
    w = batch_world
    open_batch.quota_total = Decimal("4000000")
    db_session.commit()
    for enterprise in w.members[:2]:
        m = batch_recommendations.recommend_member(
            db_session,
            batch_id=open_batch.id,
            enterprise_id=enterprise.id,
            actor_id=w.recommender.id,
        )
        batch_checks.check_member(db_session, m.id, actor_id=w.advisor.id)
    batch_checks.submit_batch(db_session, open_batch.id, actor_id=w.advisor.id)
    first, second = open_batch.members
    batch_decisions.decide_member(
        db_session,
        open_batch.id,
        first.id,
        bank_id=w.bank.id,
        actor_id=None,
        decision="approved",
        approved_amount="3000000",
    )
    with pytest.raises(Conflict) as info:
        batch_decisions.decide_member(
            db_session,
            open_batch.id,
            second.id,
            bank_id=w.bank.id,
            actor_id=None,
            decision="approved",
            approved_amount="1000000.01",
        )
    assert info.value.code == "quota_exceeded"
    db_session.refresh(second)
    db_session.refresh(open_batch)
    assert second.state == "submitted" and second.approved_amount is None
    assert open_batch.quota_used == Decimal("3000000")
    # Exactly the quota left still fits.
    batch_decisions.decide_member(
        db_session,
        open_batch.id,
        second.id,
        bank_id=w.bank.id,
        actor_id=None,
        decision="approved",
        approved_amount="1000000",
    )
    assert batches.quota_use(open_batch).left == 0


def test_decline_needs_a_reason_and_spends_nothing(db_session, batch_world, submitted_batch):
    w = batch_world
    member = submitted_batch.members[0]
    with pytest.raises(ValidationFailed):
        batch_decisions.decide_member(
            db_session,
            submitted_batch.id,
            member.id,
            bank_id=w.bank.id,
            actor_id=None,
            decision="declined",
        )
    batch_decisions.decide_member(
        db_session,
        submitted_batch.id,
        member.id,
        bank_id=w.bank.id,
        actor_id=None,
        decision="declined",
        reason_text="经营现金流不足",
    )
    assert member.state == "declined" and submitted_batch.quota_used == 0


def test_other_banks_do_not_find_the_batch(db_session, batch_world, submitted_batch):
    w = batch_world
    member = submitted_batch.members[0]
    with pytest.raises(NotFound):
        batch_decisions.decide_member(
            db_session,
            submitted_batch.id,
            member.id,
            bank_id=w.other_bank.id,
            actor_id=None,
            decision="approved",
            approved_amount="1",
        )
    with pytest.raises(NotFound):
        batch_decisions.record_filing(
            db_session, submitted_batch.id, bank_id=w.other_bank.id, actor_id=None
        )
    with pytest.raises(NotFound):
        batches.get_batch(db_session, 2**40)


def test_filing_status(db_session, batch_world, open_batch, submitted_batch):
    w = batch_world
    batch_decisions.record_filing(
        db_session, submitted_batch.id, bank_id=w.bank.id, actor_id=w.bank_user.id
    )
    assert submitted_batch.filing_status == "filed" and submitted_batch.filed_at
    with pytest.raises(InvalidTransition):
        batch_decisions.record_filing(
            db_session, submitted_batch.id, bank_id=w.bank.id, actor_id=None
        )


def test_database_check_refuses_an_overspent_quota(db_session, batch_world, open_batch):
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        db_session.execute(
            update(Batch).where(Batch.id == open_batch.id).values(quota_used=Batch.quota_total + 1)
        )
    db_session.rollback()


def test_member_states_are_counted(db_session, batch_world, submitted_batch):
    use = batches.quota_use(submitted_batch)
    assert use.members_by_state["submitted"] == 2
    assert sum(use.members_by_state.values()) == 2
    assert db_session.scalar(select(BatchMember.state).limit(1)) == "submitted"
