"""The bank side of the referral loop: inbox, decisions, loan outcomes, packets, consent."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from finportal.models import (
    Application,
    AuditEvent,
    Job,
    Notification,
    Packet,
    Referral,
    utcnow,
)
from finportal.services import bank_actions, packet_verification, referrals, review, review_actions
from finportal.services import packets as packet_service
from finportal.services.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from finportal.services.screening import latest_score
from finportal.services.workdays import SHANGHAI
from finportal.storage import packet_store
from tests.helpers import embedded_font_names, pdf_text, squash

pytestmark = pytest.mark.db


def _events(session, object_type, object_id):
    return [
        e.action
        for e in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
            .order_by(AuditEvent.id)
        )
    ]


@pytest.mark.packet
def test_the_whole_loop_from_referral_to_repayment(db_session, loop):
    referral = loop.referral
    assert referral.state == "sent"
    packet = packet_service.current_packet(db_session, referral.id)
    assert packet is not None and len(packet.sha256) == 64
    assert packet.packet_number == referral.packet_number
    assert referral.packet_number.startswith("RP-")
    assert referral.due_at > referral.sent_at

    inbox = referrals.inbox(db_session, bank_id=loop.bank.id)
    assert [r.id for r in inbox["new"]] == [referral.id]

    bank_actions.mark_viewed(
        db_session, referral.id, bank_id=loop.bank.id, actor_id=loop.bank_user.id
    )
    pdf = bank_actions.download_packet(
        db_session, referral.id, bank_id=loop.bank.id, actor_id=loop.bank_user.id
    )
    assert pdf.startswith(b"%PDF")
    decision = bank_actions.record_decision(
        db_session,
        referral.id,
        bank_id=loop.bank.id,
        actor_id=loop.bank_user.id,
        decision="approved",
        approved_amount=Decimal("800000"),
        annual_rate=Decimal("0.0345"),
        term_months=12,
    )
    assert decision.approved_amount == Decimal("800000.00")
    assert [
        r.id for r in referrals.list_referrals(db_session, bank_id=loop.bank.id, status="decided")
    ] == [referral.id]

    today = utcnow().astimezone(SHANGHAI).date()
    bank_actions.record_outcome(
        db_session,
        referral.id,
        bank_id=loop.bank.id,
        actor_id=loop.bank_user.id,
        event="disbursed",
        occurred_on=today,
        amount=Decimal("800000"),
    )
    bank_actions.record_outcome(
        db_session,
        referral.id,
        bank_id=loop.bank.id,
        actor_id=loop.bank_user.id,
        event="repaid",
        occurred_on=today,
    )
    db_session.refresh(referral)
    assert referral.state == "repaid"
    application = db_session.get(Application, loop.application.id)
    assert application.state == "closed"  # 办结 at disbursal: the SME may now rate

    assert _events(db_session, "referral", referral.id) == [
        "referral.sent",
        "referral.packet_rendered",
        "referral.viewed",
        "referral.packet_downloaded",
        "referral.approved",
        "referral.disbursed",
        "referral.repaid",
    ]
    titles = [
        n.title_zh
        for n in db_session.scalars(
            select(Notification).where(Notification.enterprise_id == loop.enterprise.id)
        )
    ]
    assert any("同意了您的融资申请" in t for t in titles)
    assert any("已放款" in t for t in titles)


def test_decisions_are_validated_and_change_nothing_when_refused(db_session, loop):
    rid, bank_id, actor = loop.referral.id, loop.bank.id, loop.bank_user.id
    cases = [
        ({"decision": "maybe"}, "decision"),
        ({"decision": "approved", "annual_rate": "0.03", "term_months": 12}, "approved_amount"),
        (
            {
                "decision": "approved",
                "approved_amount": "-1",
                "annual_rate": "0.03",
                "term_months": 12,
            },
            "approved_amount",
        ),
        (
            {
                "decision": "approved",
                "approved_amount": "1e15",
                "annual_rate": "0.03",
                "term_months": 12,
            },
            "approved_amount",
        ),
        (
            {
                "decision": "approved",
                "approved_amount": "100000",
                "annual_rate": "0.5",
                "term_months": 12,
            },
            "annual_rate",
        ),
        (
            {
                "decision": "approved",
                "approved_amount": "100000",
                "annual_rate": "abc",
                "term_months": 12,
            },
            "annual_rate",
        ),
        (
            {
                "decision": "approved",
                "approved_amount": "100000",
                "annual_rate": "0.03",
                "term_months": 0,
            },
            "term_months",
        ),
        ({"decision": "declined"}, "reason_code"),
        ({"decision": "declined", "reason_code": "other"}, "reason_text"),
        ({"decision": "info_requested", "reason_text": "  "}, "reason_text"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationFailed) as caught:
            bank_actions.record_decision(db_session, rid, bank_id=bank_id, actor_id=actor, **kwargs)
        assert field in caught.value.fields, (kwargs, caught.value.fields)
        assert caught.value.message_zh
    db_session.refresh(loop.referral)
    assert loop.referral.state == "sent"
    assert referrals.decisions_of(db_session, rid) == []


def test_invalid_transitions_are_refused(db_session, loop):
    rid, bank_id, actor = loop.referral.id, loop.bank.id, loop.bank_user.id
    today = utcnow().astimezone(SHANGHAI).date()
    with pytest.raises(InvalidTransition):
        bank_actions.record_outcome(
            db_session,
            rid,
            bank_id=bank_id,
            actor_id=actor,
            event="disbursed",
            occurred_on=today,
            amount=1,
        )
    bank_actions.record_decision(
        db_session,
        rid,
        bank_id=bank_id,
        actor_id=actor,
        decision="info_requested",
        reason_text="请提供近三个月银行流水",
    )
    bank_actions.record_decision(
        db_session,
        rid,
        bank_id=bank_id,
        actor_id=actor,
        decision="declined",
        reason_code="high_leverage",
    )
    with pytest.raises(InvalidTransition):
        bank_actions.record_decision(
            db_session,
            rid,
            bank_id=bank_id,
            actor_id=actor,
            decision="approved",
            approved_amount=100000,
            annual_rate="0.03",
            term_months=12,
        )
    with pytest.raises(InvalidTransition):
        bank_actions.record_outcome(
            db_session, rid, bank_id=bank_id, actor_id=actor, event="repaid", occurred_on=today
        )


def test_loan_outcome_dates_and_amounts_are_checked(db_session, loop):
    rid, bank_id, actor = loop.referral.id, loop.bank.id, loop.bank_user.id
    bank_actions.record_decision(
        db_session,
        rid,
        bank_id=bank_id,
        actor_id=actor,
        decision="approved",
        approved_amount=500000,
        annual_rate="0.035",
        term_months=12,
    )
    today = utcnow().astimezone(SHANGHAI).date()
    for kwargs, field in [
        ({"occurred_on": today + timedelta(days=5), "amount": 500000}, "occurred_on"),
        ({"occurred_on": date(2000, 1, 1), "amount": 500000}, "occurred_on"),
        ({"occurred_on": today}, "amount"),
        ({"occurred_on": today, "amount": 900000}, "amount"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            bank_actions.record_outcome(
                db_session, rid, bank_id=bank_id, actor_id=actor, event="disbursed", **kwargs
            )
        assert field in caught.value.fields
    with pytest.raises(ValidationFailed):
        bank_actions.record_outcome(
            db_session, rid, bank_id=bank_id, actor_id=actor, event="paid", occurred_on=today
        )


def test_a_decline_tells_the_advisor_and_offers_a_rematch(db_session, loop):
    bank_actions.record_decision(
        db_session,
        loop.referral.id,
        bank_id=loop.bank.id,
        actor_id=loop.bank_user.id,
        decision="declined",
        reason_code="credit_risk",
        reason_text="近期负债上升",
    )
    note = db_session.scalar(select(Notification).where(Notification.user_id == loop.advisor.id))
    assert note is not None and "可重新匹配" in note.title_zh
    view = review.get_review(db_session, loop.application.id)
    assert view.can_rematch
    review_actions.rematch(db_session, loop.application.id, actor_id=loop.advisor.id)
    assert db_session.get(Application, loop.application.id).state == "in_review"
    # The other consented bank can now be chosen, for any eligible product.
    (second,) = review_actions.refer_to_banks(
        db_session,
        loop.application.id,
        actor_id=loop.advisor.id,
        referrals=[(loop.other_bank.id, loop.version_id)],
        opinion="甲行拒绝后推荐乙行",
    )
    assert second.bank_id == loop.other_bank.id


def test_another_banks_referral_is_not_found_anywhere(db_session, loop):
    other = loop.other_bank.id
    rid = loop.referral.id
    assert referrals.list_referrals(db_session, bank_id=other) == []
    assert all(v == [] for v in referrals.inbox(db_session, bank_id=other).values())
    today = utcnow().astimezone(SHANGHAI).date()
    calls = [
        lambda: referrals.get_referral(db_session, rid, bank_id=other),
        lambda: bank_actions.mark_viewed(
            db_session, rid, bank_id=other, actor_id=loop.other_bank_user.id
        ),
        lambda: bank_actions.download_packet(
            db_session, rid, bank_id=other, actor_id=loop.other_bank_user.id
        ),
        lambda: bank_actions.record_decision(
            db_session,
            rid,
            bank_id=other,
            actor_id=loop.other_bank_user.id,
            decision="declined",
            reason_code="other",
            reason_text="x",
        ),
        lambda: bank_actions.record_outcome(
            db_session,
            rid,
            bank_id=other,
            actor_id=loop.other_bank_user.id,
            event="disbursed",
            occurred_on=today,
            amount=1,
        ),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    db_session.refresh(loop.referral)
    assert loop.referral.state == "sent"
    assert "referral.packet_downloaded" not in _events(db_session, "referral", rid)


@pytest.mark.packet
def test_withdrawn_consent_refuses_downloads_and_new_packets(db_session, loop):
    loop.consent.withdrawn_at = utcnow()
    db_session.commit()
    with pytest.raises(Forbidden) as caught:
        bank_actions.download_packet(
            db_session, loop.referral.id, bank_id=loop.bank.id, actor_id=loop.bank_user.id
        )
    assert "撤回" in caught.value.message_zh
    assert "referral.packet_refused" in _events(db_session, "referral", loop.referral.id)

    # A new render for that bank is refused too, and the job says why.
    job = packet_service.request_render(db_session, loop.referral, actor_id=loop.advisor.id)
    job = db_session.get(Job, job.id)
    assert job.state == "done"  # already rendered: the job changes nothing
    db_session.execute(delete(Packet).where(Packet.referral_id == loop.referral.id))
    db_session.commit()
    db_session.expire_all()
    job = packet_service.request_render(
        db_session, db_session.get(Referral, loop.referral.id), actor_id=None
    )
    job = db_session.get(Job, job.id)
    assert job.state == "failed" and "撤回" in job.message, job.result
    assert packet_service.current_packet(db_session, loop.referral.id) is None

    # And the advisor cannot refer to that bank again.
    with pytest.raises(ValidationFailed):
        review_actions.refer_to_banks(
            db_session,
            loop.application.id,
            actor_id=loop.advisor.id,
            referrals=[(loop.bank.id, loop.version_id)],
            opinion="再次推荐",
        )


@pytest.mark.packet
def test_packet_text_fonts_and_stamps(db_session, loop):
    first = bank_actions.download_packet(
        db_session, loop.referral.id, bank_id=loop.bank.id, actor_id=loop.bank_user.id
    )
    second_user_pdf = bank_actions.download_packet(
        db_session, loop.referral.id, bank_id=loop.bank.id, actor_id=loop.bank_user.id
    )
    text = squash(pdf_text(first))
    # The name with a CJK Extension A character (㐀) comes out whole.
    assert "上海㐀明精密机械有限公司" in text
    product_name = db_session.get(Referral, loop.referral.id).product_version.product.name_zh
    assert squash(product_name) in text
    score = latest_score(db_session, loop.application.id)
    assert score.reasons, "the test enterprise should have reasons to print"
    for reason in score.reasons[:3]:
        assert squash(reason["text_zh"]) in text
    assert "企业经营稳定，建议贵行予以支持。" in text
    # Conditions are named in Chinese, never by their field codes.
    assert "符合" in text and "_24m" not in text and "term_months" not in text
    assert loop.bank.name_zh in text
    assert "甲行客户经理" in text  # the stamp names the user
    fonts = embedded_font_names(first)
    assert any("WenQuanYi" in f or "Noto" in f for f in fonts), fonts
    # Two downloads carry different stamps (the time) over the same stored packet.
    assert first != second_user_pdf
    stamps = [
        e.data["stamp"]
        for e in db_session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "referral.packet_downloaded",
                AuditEvent.object_id == loop.referral.id,
            )
        )
    ]
    assert len(stamps) == 2
    stored = packet_service.current_packet(db_session, loop.referral.id)
    assert (
        packet_service.packets.sha256_hex(packet_store().get(stored.storage_key)) == stored.sha256
    )


@pytest.mark.packet
def test_two_downloads_by_two_users_carry_their_names(db_session, loop, create_user):
    colleague = create_user("bank", bank_id=loop.bank.id, display_name="甲行风控专员")
    a = squash(
        pdf_text(
            bank_actions.download_packet(
                db_session, loop.referral.id, bank_id=loop.bank.id, actor_id=loop.bank_user.id
            )
        )
    )
    b = squash(
        pdf_text(
            bank_actions.download_packet(
                db_session, loop.referral.id, bank_id=loop.bank.id, actor_id=colleague.id
            )
        )
    )
    assert "甲行客户经理" in a and "甲行风控专员" not in a
    assert "甲行风控专员" in b and "甲行客户经理" not in b
    # The bank API downloads without a user: the stamp says so.
    c = squash(
        pdf_text(
            bank_actions.download_packet(
                db_session, loop.referral.id, bank_id=loop.bank.id, actor_id=None
            )
        )
    )
    assert "银行接口" in c


def test_inbox_tabs_and_overdue_clock(db_session, loop):
    referral = loop.referral
    assert not referrals.is_overdue(referral)
    referral.due_at = utcnow() - timedelta(hours=1)
    db_session.commit()
    assert referrals.is_overdue(referral)
    assert [
        r.id for r in referrals.list_referrals(db_session, bank_id=loop.bank.id, status="overdue")
    ] == [referral.id]
    bank_actions.mark_viewed(
        db_session, referral.id, bank_id=loop.bank.id, actor_id=loop.bank_user.id
    )
    tabs = referrals.inbox(db_session, bank_id=loop.bank.id)
    assert [r.id for r in tabs["viewed"]] == [referral.id]
    assert tabs["new"] == []
    assert [r.id for r in tabs["overdue"]] == [referral.id]
    bank_actions.record_decision(
        db_session,
        referral.id,
        bank_id=loop.bank.id,
        actor_id=loop.bank_user.id,
        decision="declined",
        reason_code="outside_policy",
    )
    tabs = referrals.inbox(db_session, bank_id=loop.bank.id)
    assert tabs["overdue"] == [] and [r.id for r in tabs["decided"]] == [referral.id]
    with pytest.raises(ValidationFailed):
        referrals.list_referrals(db_session, bank_id=loop.bank.id, status="bogus")
    assert (
        referrals.list_referrals(
            db_session, bank_id=loop.bank.id, since=utcnow() + timedelta(days=1)
        )
        == []
    )


@pytest.mark.packet
def test_verify_shows_the_stored_sha256_and_masks_the_name(db_session, loop):
    packet = packet_service.current_packet(db_session, loop.referral.id)
    found = packet_verification.verify_packet(db_session, packet.verification_code.lower())
    assert found.sha256 == packet.sha256
    assert found.bank_name == loop.bank.name_zh
    assert "*" in found.enterprise_name and found.enterprise_name != loop.enterprise.name
    with pytest.raises(NotFound):
        packet_verification.verify_packet(db_session, "NOPE-NOPE-NOPE")


def test_a_stale_referral_version_is_a_conflict(db_session, loop):
    stale = loop.referral.lock_version
    bank_actions.mark_viewed(
        db_session, loop.referral.id, bank_id=loop.bank.id, actor_id=loop.bank_user.id
    )
    with pytest.raises(Conflict):
        bank_actions.record_decision(
            db_session,
            loop.referral.id,
            bank_id=loop.bank.id,
            actor_id=loop.bank_user.id,
            decision="info_requested",
            reason_text="请补充",
            lock_version=stale,
        )


def test_two_first_views_at_once_are_both_in_the_audit_trail(db_session, loop, monkeypatch):
    """Two tabs open a new referral at the same moment: one moves it to viewed; the other's
    commit loses the race (the referral's version moved) — its view is still recorded, as
    the view after it."""
    rid, bank, user = loop.referral.id, loop.bank.id, loop.bank_user.id
    real_commit, raced = bank_actions._commit, []

    def losing(session):
        if raced:
            return real_commit(session)
        raced.append(True)
        session.rollback()  # this tab's work, lost: the other tab's view commits first
        bank_actions.mark_viewed(session, rid, bank_id=bank, actor_id=user)
        raise Conflict("该推荐刚被他人更新。", "Someone else updated this referral.")

    monkeypatch.setattr(bank_actions, "_commit", losing)
    seen = bank_actions.mark_viewed(db_session, rid, bank_id=bank, actor_id=user)
    assert seen.state == "viewed"
    assert _events(db_session, "referral", rid)[-2:] == ["referral.viewed", "referral.opened"]


def test_each_view_after_the_first_is_recorded_and_leaves_the_referral_as_it_was(db_session, loop):
    """A bank user opens a referral three times: three audit events, the referral moved to
    viewed once, its version moved once — a decision form opened after the first view still
    saves after the others."""
    rid, bank, user = loop.referral.id, loop.bank.id, loop.bank_user.id
    first = bank_actions.record_view(db_session, rid, bank_id=bank, actor_id=user)
    assert first is not None and first.state == "viewed"
    version = first.lock_version
    assert bank_actions.record_view(db_session, rid, bank_id=bank, actor_id=user) is None
    assert bank_actions.record_view(db_session, rid, bank_id=bank, actor_id=user) is None
    db_session.expire_all()
    opened = db_session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "referral", AuditEvent.object_id == rid)
        .order_by(AuditEvent.id)
    ).all()[-3:]
    assert [e.action for e in opened] == ["referral.viewed", "referral.opened", "referral.opened"]
    assert {(e.from_state, e.to_state, e.actor_id) for e in opened[1:]} == {
        ("viewed", "viewed", user)
    }
    bank_actions.record_decision(
        db_session,
        rid,
        bank_id=bank,
        actor_id=user,
        decision="info_requested",
        reason_text="请补充近三个月纳税证明",
        lock_version=version,
    )
    assert referrals.get_referral(db_session, rid, bank_id=bank).state == "info_requested"
