"""The advisor's side: queue, deadlines, claim, return, reject, override, refer, locking."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal.models import (
    Application,
    AuditEvent,
    Holiday,
    Match,
    Membership,
    Notification,
    Park,
    Referral,
    utcnow,
)
from finportal.services import packets as packet_service
from finportal.services import queue, review, review_actions
from finportal.services.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from finportal.services.workdays import SHANGHAI

pytestmark = pytest.mark.db


@pytest.fixture
def setup(create_enterprise, create_bank, create_user, screened_application):
    enterprise = create_enterprise()
    application = screened_application(enterprise)
    return {
        "enterprise": enterprise,
        "application": application,
        "advisor": create_user("advisor", display_name="王顾问"),
        "colleague": create_user("advisor", display_name="李顾问"),
        "bank": create_bank(),
    }


def _actions(session, application_id):
    return [
        e.action
        for e in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "application", AuditEvent.object_id == application_id)
            .order_by(AuditEvent.id)
        )
    ]


def test_screening_sets_a_one_working_day_clock_that_skips_holidays(db_session, setup):
    application = setup["application"]
    assert application.first_response_due_at is not None
    local_due = application.first_response_due_at.astimezone(SHANGHAI)
    local_screened = application.screened_at.astimezone(SHANGHAI)
    assert local_due > local_screened
    # A holiday on the due day moves the deadline one more working day.
    db_session.add(Holiday(day=local_due.date(), name="测试假日", is_workday=False))
    db_session.commit()
    from finportal.services.workdays import deadline

    moved = deadline(db_session, application.screened_at, 1).astimezone(SHANGHAI)
    assert moved.date() > local_due.date()


def test_queue_is_sorted_by_deadline_and_flags_breaches(
    db_session, setup, create_enterprise, screened_application
):
    first = setup["application"]
    second = screened_application(create_enterprise())
    first.first_response_due_at = utcnow() + timedelta(hours=5)
    second.first_response_due_at = utcnow() - timedelta(hours=2)  # breached: 预警
    db_session.commit()
    items = queue.list_queue(db_session)
    ids = [i.application.id for i in items]
    assert ids.index(second.id) < ids.index(first.id)
    flagged = {i.application.id: i.overdue for i in items}
    assert flagged[second.id] is True and flagged[first.id] is False
    assert [i.application.id for i in queue.list_queue(db_session, limit=1)] == [second.id]
    assert [i.application.id for i in queue.list_queue(db_session, deadline_filter="overdue")] == [
        second.id
    ]
    # Claiming is the first response: the warning goes away.
    review_actions.claim(db_session, second.id, actor_id=setup["advisor"].id)
    assert not any(i.overdue for i in queue.list_queue(db_session))


def test_queue_filters(db_session, setup, create_enterprise, screened_application):
    application = setup["application"]
    park = Park(code="qpark", name_zh="筛选园区")
    db_session.add(park)
    db_session.flush()
    member = create_enterprise()
    member.memberships.append(Membership(park_id=park.id))
    db_session.commit()
    in_park = screened_application(member)
    assert [i.application.id for i in queue.list_queue(db_session, park_id=park.id)] == [in_park.id]
    grade = queue.list_queue(db_session)[0].grade
    assert all(i.grade == grade for i in queue.list_queue(db_session, grade=grade))
    assert queue.list_queue(db_session, grade="Z") == []
    match = db_session.scalar(
        select(Match).where(Match.application_id == application.id, Match.eligible.is_(True))
    )
    code = match.product_version.product.code
    assert application.id in [
        i.application.id for i in queue.list_queue(db_session, product_code=code)
    ]
    assert queue.list_queue(db_session, status="in_review") == []
    review_actions.claim(db_session, application.id, actor_id=setup["advisor"].id)
    assert [i.application.id for i in queue.list_queue(db_session, status="in_review")] == [
        application.id
    ]
    with pytest.raises(ValidationFailed):
        queue.list_queue(db_session, status="draft")


def test_claim_is_audited_and_a_second_advisor_is_told(db_session, setup):
    application = setup["application"]
    review_actions.claim(
        db_session,
        application.id,
        actor_id=setup["advisor"].id,
        lock_version=application.lock_version,
    )
    assert application.state == "in_review"
    assert application.assigned_advisor_id == setup["advisor"].id
    assert application.first_response_at is not None
    assert _actions(db_session, application.id)[-1] == "application.in_review"
    with pytest.raises(Conflict) as caught:
        review_actions.claim(db_session, application.id, actor_id=setup["colleague"].id)
    assert "王顾问" in caught.value.message_zh


def test_two_advisors_in_two_sessions_cannot_both_win(db_session, setup):
    """Both advisors load the application; the first to act wins, the second gets a Conflict."""
    from finportal.extensions import db

    application_id = setup["application"].id
    other = Session(
        bind=db.test_bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    try:
        seen_by_colleague = other.get(Application, application_id)
        version_seen = seen_by_colleague.lock_version
        other.commit()  # ends the read; the object stays in the colleague's session as it was

        review_actions.claim(
            db_session, application_id, actor_id=setup["advisor"].id, lock_version=version_seen
        )

        # The colleague's session still holds the old row: its UPDATE finds no row of that version.
        with pytest.raises(Conflict) as caught:
            review_actions.claim(
                other, application_id, actor_id=setup["colleague"].id, lock_version=version_seen
            )
        # Not the form's version check: the database's guarded UPDATE caught it.
        assert "另一位顾问刚刚处理了该申请" in caught.value.message_zh
    finally:
        other.close()
    db_session.expire_all()
    winner = db_session.get(Application, application_id)
    assert winner.assigned_advisor_id == setup["advisor"].id
    assert _actions(db_session, application_id).count("application.in_review") == 1


def test_a_stale_page_is_refused_with_a_clear_message(db_session, setup):
    application = setup["application"]
    seen = application.lock_version
    review_actions.claim(
        db_session, application.id, actor_id=setup["advisor"].id, lock_version=seen
    )
    for action in (
        lambda: review_actions.reject(
            db_session,
            application.id,
            actor_id=setup["colleague"].id,
            reason_code="other",
            reason_text="x",
            lock_version=seen,
        ),
        lambda: review_actions.return_for_information(
            db_session,
            application.id,
            actor_id=setup["colleague"].id,
            message="补充",
            lock_version=seen,
        ),
    ):
        with pytest.raises(Conflict) as caught:
            action()
        assert "刷新" in caught.value.message_zh
    assert application.state == "in_review"


def test_return_for_information_records_message_and_fields(db_session, setup):
    application = setup["application"]
    review_actions.claim(db_session, application.id, actor_id=setup["advisor"].id)
    with pytest.raises(ValidationFailed) as caught:
        review_actions.return_for_information(
            db_session, application.id, actor_id=setup["advisor"].id, message=" "
        )
    assert "message" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        review_actions.return_for_information(
            db_session,
            application.id,
            actor_id=setup["advisor"].id,
            message="补充",
            fields=["nonsense"],
        )
    assert "fields" in caught.value.fields
    review_actions.return_for_information(
        db_session,
        application.id,
        actor_id=setup["advisor"].id,
        message="请补充上年度财务报表中的营业收入和纳税额",
        fields=["revenue_last_year", "tax_paid_last_year"],
    )
    assert application.state == "returned"
    assert application.return_request == {
        "message": "请补充上年度财务报表中的营业收入和纳税额",
        "fields": ["revenue_last_year", "tax_paid_last_year"],
        "documents": [],
    }
    note = db_session.scalar(
        select(Notification)
        .where(Notification.enterprise_id == application.enterprise_id)
        .order_by(Notification.id.desc())
    )
    assert "已退回补充" in note.title_zh


def test_reject_needs_a_code_and_a_text(db_session, setup):
    application = setup["application"]
    with pytest.raises(InvalidTransition):
        review_actions.reject(
            db_session,
            application.id,
            actor_id=setup["advisor"].id,
            reason_code="other",
            reason_text="x",
        )
    review_actions.claim(db_session, application.id, actor_id=setup["advisor"].id)
    with pytest.raises(ValidationFailed) as caught:
        review_actions.reject(
            db_session,
            application.id,
            actor_id=setup["advisor"].id,
            reason_code="bogus",
            reason_text="",
        )
    assert set(caught.value.fields) == {"reason_code", "reason_text"}
    review_actions.reject(
        db_session,
        application.id,
        actor_id=setup["advisor"].id,
        reason_code="high_risk",
        reason_text="近期多次逾期",
    )
    assert application.state == "rejected"
    event = db_session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "application.rejected", AuditEvent.object_id == application.id
        )
    )
    assert "近期多次逾期" in event.reason and event.actor_id == setup["advisor"].id


def test_override_a_match_with_a_reason_then_refer_for_it(db_session, setup, grant_consent):
    application = setup["application"]
    review_actions.claim(db_session, application.id, actor_id=setup["advisor"].id)
    failed = db_session.scalar(
        select(Match)
        .where(Match.application_id == application.id, Match.eligible.is_(False))
        .limit(1)
    )
    assert failed is not None
    with pytest.raises(ValidationFailed):
        review_actions.override_match(
            db_session,
            application.id,
            failed.id,
            actor_id=setup["advisor"].id,
            eligible=True,
            reason="",
        )
    review_actions.override_match(
        db_session,
        application.id,
        failed.id,
        actor_id=setup["advisor"].id,
        eligible=True,
        reason="园区已出具推荐函，待系统更新白名单",
    )
    assert failed.eligible and failed.overridden and failed.override_by_id == setup["advisor"].id
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "match.overridden"))
    assert event.reason == "园区已出具推荐函，待系统更新白名单"
    assert (event.from_state, event.to_state) == ("not_eligible", "eligible")
    # Someone else's match id is not found.
    with pytest.raises(NotFound):
        review_actions.override_match(
            db_session,
            application.id,
            10**9,
            actor_id=setup["advisor"].id,
            eligible=True,
            reason="理由足够长",
        )
    grant_consent(application, setup["bank"])
    (referral,) = review_actions.refer_to_banks(
        db_session,
        application.id,
        actor_id=setup["advisor"].id,
        referrals=[(setup["bank"].id, failed.product_version_id)],
        opinion="按顾问调整后的结果推荐",
    )
    assert referral.product_version_id == failed.product_version_id


def test_refer_only_to_consented_banks_one_open_referral_each(
    db_session, setup, create_bank, eligible_version, grant_consent
):
    application, advisor, bank = setup["application"], setup["advisor"], setup["bank"]
    version = eligible_version(application)
    with pytest.raises(InvalidTransition):  # not claimed yet
        review_actions.refer_to_banks(
            db_session,
            application.id,
            actor_id=advisor.id,
            referrals=[(bank.id, version)],
            opinion="x",
        )
    review_actions.claim(db_session, application.id, actor_id=advisor.id)
    with pytest.raises(ValidationFailed) as caught:
        review_actions.refer_to_banks(
            db_session,
            application.id,
            actor_id=advisor.id,
            referrals=[(bank.id, version)],
            opinion="推荐",
        )
    assert "未授权" in caught.value.message_zh
    expired = grant_consent(application, bank, days=-1)
    with pytest.raises(ValidationFailed):
        review_actions.refer_to_banks(
            db_session,
            application.id,
            actor_id=advisor.id,
            referrals=[(bank.id, version)],
            opinion="推荐",
        )
    expired.valid_until = date.today() + timedelta(days=30)
    db_session.commit()
    not_eligible = db_session.scalar(
        select(Match.product_version_id)
        .where(Match.application_id == application.id, Match.eligible.is_(False))
        .limit(1)
    )
    with pytest.raises(ValidationFailed):
        review_actions.refer_to_banks(
            db_session,
            application.id,
            actor_id=advisor.id,
            referrals=[(bank.id, not_eligible)],
            opinion="推荐",
        )
    with pytest.raises(ValidationFailed) as caught:
        review_actions.refer_to_banks(
            db_session,
            application.id,
            actor_id=advisor.id,
            referrals=[(bank.id, version)],
            opinion=" ",
        )
    assert "opinion" in caught.value.fields
    assert (
        db_session.scalar(select(Referral).where(Referral.application_id == application.id)) is None
    )

    (referral,) = review_actions.refer_to_banks(
        db_session,
        application.id,
        actor_id=advisor.id,
        referrals=[(bank.id, version)],
        opinion="推荐",
    )
    assert application.state == "referred"
    assert referral.consent_id == expired.id
    # The bank has 2 working days.
    from finportal.services.workdays import deadline

    assert referral.due_at == deadline(db_session, referral.sent_at, 2)
    assert packet_service.current_packet(db_session, referral.id)  # rendered by the job (eager)
    with pytest.raises(Conflict):
        review_actions.refer_to_banks(
            db_session,
            application.id,
            actor_id=advisor.id,
            referrals=[(bank.id, version)],
            opinion="再推",
        )


def test_notes_are_kept_in_order_and_audited(db_session, setup):
    application = setup["application"]
    review_actions.add_note(
        db_session, application.id, actor_id=setup["advisor"].id, body="已电话联系企业财务"
    )
    review_actions.add_note(
        db_session, application.id, actor_id=setup["colleague"].id, body="企业下周补交报表"
    )
    with pytest.raises(ValidationFailed):
        review_actions.add_note(db_session, application.id, actor_id=setup["advisor"].id, body="  ")
    view = review.get_review(db_session, application.id)
    assert [(n.body, who) for n, who in view.notes] == [
        ("已电话联系企业财务", "王顾问"),
        ("企业下周补交报表", "李顾问"),
    ]
    assert _actions(db_session, application.id).count("application.note_added") == 2


def test_review_shows_score_reasons_chart_and_synthetic_note(db_session, setup):
    view = review.get_review(db_session, setup["application"].id)
    assert view.score is not None and view.score.grade
    assert view.model is not None and view.model.synthetic
    assert view.matches and any(m.match.eligible for m in view.matches)
    if view.score.reasons:
        assert view.reasons_chart.startswith("<svg")
    assert "企业规模" in view.profile
    assert [e.action for e, _who in view.history][-1] == "application.screened"
    with pytest.raises(NotFound):
        review.get_review(db_session, 10**9)


def test_drafts_are_not_visible_to_advisors(db_session, setup):
    draft = Application(
        enterprise_id=setup["enterprise"].id, amount=100000, term_months=12, state="draft"
    )
    db_session.add(draft)
    db_session.commit()
    with pytest.raises(NotFound):
        review.get_review(db_session, draft.id)


def test_end_of_day_is_in_shanghai():
    now = datetime(2026, 11, 27, 20, 0, tzinfo=SHANGHAI)
    assert queue._end_of_day(now).hour == 23
