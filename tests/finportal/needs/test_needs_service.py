"""The demand board's services: post, see anonymised, claim, consent, choose, escalate, close."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from finportal.models import (
    Application,
    AuditEvent,
    Consent,
    Need,
    NeedClaim,
    NeedProduct,
    Notification,
    Referral,
)
from finportal.services import application_details, consents, needs, packets
from finportal.services.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from tests.helpers import pdf_text, squash


def _fitting_product(session, need, bank_id):
    return needs.get_for_bank(session, bank_id, need.id).products[0]


def test_posting_freezes_the_profile_and_keeps_the_fitting_products(db_session, board):
    need = board.post(db_session)
    assert need.state == "open"
    assert need.number.startswith("XQ-") and need.number.endswith(f"{need.id:06d}")
    assert need.profile_snapshot["profile"]["uscc"] == board.enterprise.uscc
    assert need.size_class and need.industry_code == "65" and need.district_code == "310112"
    assert need.score_grade  # the champion model graded the frozen profile
    assert need.claim_due_at > need.posted_at
    codes = [p.code for p in needs.fitting_products(db_session, need.id)]
    assert codes and "agri_operation" not in codes
    # Editing the profile afterwards changes nothing the banks read.
    board.enterprise.name = "改名后的企业"
    db_session.commit()
    assert need.profile_snapshot["profile"]["uscc"] == board.enterprise.uscc
    event = db_session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "need.posted", AuditEvent.object_id == need.id
        )
    )
    assert event is not None and event.to_state == "open"


def test_posting_the_same_need_twice_at_once_makes_one(db_session, board):
    first = board.post(db_session)
    assert board.post(db_session).id == first.id
    other = board.post(db_session, amount=Decimal("2000000"))
    assert other.id != first.id
    assert db_session.scalar(select(func.count()).select_from(Need)) == 2


def test_banks_see_only_needs_that_fit_their_products_without_the_firm(db_session, board):
    need = board.post(db_session)
    for bank in (board.bank_a, board.bank_b):
        page = needs.board_for_bank(db_session, bank.id)
        (view,) = [v for v in page.items if v.need.id == need.id]
        assert not view.revealed and view.firm == {}
        assert view.can_claim and view.products
    assert all(
        v.need.id != need.id for v in needs.board_for_bank(db_session, board.bank_c.id).items
    )
    with pytest.raises(NotFound):
        needs.get_for_bank(db_session, board.bank_c.id, need.id)


def test_a_claim_needs_a_fitting_product_and_a_note_and_is_taken_once(db_session, board):
    need = board.post(db_session)
    product = _fitting_product(db_session, need, board.bank_a.id)
    with pytest.raises(ValidationFailed) as refused:
        needs.claim_need(
            db_session,
            actor_id=board.user_a.id,
            bank_id=board.bank_a.id,
            need_id=need.id,
            product_id="999999",
            note="",
        )
    assert set(refused.value.fields) == {"product_id", "note"}
    db_session.rollback()
    assert db_session.scalar(select(NeedClaim).where(NeedClaim.need_id == need.id)) is None
    claim = needs.claim_need(
        db_session,
        actor_id=board.user_a.id,
        bank_id=board.bank_a.id,
        need_id=need.id,
        product_id=product.id,
        note="额度 100 万元，年化 3.2% 起，需近两年财报。",
    )
    db_session.refresh(need)
    assert need.state == "claimed" and need.first_claim_at is not None
    assert claim.state == "claimed"
    with pytest.raises(Conflict):
        needs.claim_need(
            db_session,
            actor_id=board.user_a.id,
            bank_id=board.bank_a.id,
            need_id=need.id,
            product_id=product.id,
            note="再次认领",
        )
    db_session.rollback()
    note = db_session.scalar(
        select(Notification).where(Notification.enterprise_id == board.enterprise.id)
    )
    assert note is not None and need.number in note.title_zh


def _claim(session, board, need, bank, user):
    return needs.claim_need(
        session,
        actor_id=user.id,
        bank_id=bank.id,
        need_id=need.id,
        product_id=_fitting_product(session, need, bank.id).id,
        note=f"{bank.name_zh}的方案",
    )


def test_consent_reveals_the_firm_to_that_bank_only(db_session, board):
    need = board.post(db_session)
    claim_a = _claim(db_session, board, need, board.bank_a, board.user_a)
    _claim(db_session, board, need, board.bank_b, board.user_b)
    needs.consent_to_claim(
        db_session,
        actor_id=board.sme.id,
        enterprise_id=board.enterprise.id,
        need_id=need.id,
        claim_id=claim_a.id,
    )
    seen_a = needs.get_for_bank(db_session, board.bank_a.id, need.id)
    seen_b = needs.get_for_bank(db_session, board.bank_b.id, need.id)
    assert seen_a.revealed and seen_a.firm["name"] == board.enterprise.name
    assert not seen_b.revealed and seen_b.firm == {}
    consent = db_session.scalar(select(Consent).where(Consent.need_id == need.id))
    assert consent.bank_id == board.bank_a.id and consent.application_id is None
    # Withdrawing the consent hides the firm again (the one consent rule).
    consents.withdraw(
        db_session, actor_id=board.sme.id, enterprise_id=board.enterprise.id, consent_id=consent.id
    )
    assert not needs.get_for_bank(db_session, board.bank_a.id, need.id).revealed


def test_choosing_a_claim_refers_the_firm_to_that_bank_with_a_packet(db_session, board):
    need = board.post(db_session)
    claim_a = _claim(db_session, board, need, board.bank_a, board.user_a)
    claim_b = _claim(db_session, board, need, board.bank_b, board.user_b)
    with pytest.raises(InvalidTransition):  # consent first
        needs.choose_claim(
            db_session,
            actor_id=board.sme.id,
            enterprise_id=board.enterprise.id,
            need_id=need.id,
            claim_id=claim_a.id,
        )
    db_session.rollback()
    needs.consent_to_claim(
        db_session,
        actor_id=board.sme.id,
        enterprise_id=board.enterprise.id,
        need_id=need.id,
        claim_id=claim_a.id,
    )
    application = needs.choose_claim(
        db_session,
        actor_id=board.sme.id,
        enterprise_id=board.enterprise.id,
        need_id=need.id,
        claim_id=claim_a.id,
    )
    db_session.expire_all()
    need = db_session.get(Need, need.id)
    assert need.state == "matched" and need.application_id == application.id
    assert application.state == "referred"
    assert application.amount == Decimal("1000000") and application.term_months == 12
    assert application.profile_snapshot == need.profile_snapshot
    states = {c.bank_id: c.state for c in need.claims}
    assert states == {board.bank_a.id: "chosen", board.bank_b.id: "not_chosen"}
    (referral,) = db_session.scalars(
        select(Referral).where(Referral.application_id == application.id)
    )
    assert referral.bank_id == board.bank_a.id
    assert db_session.get(NeedClaim, claim_a.id).referral_id == referral.id
    assert db_session.get(NeedClaim, claim_b.id).referral_id is None
    # The consent given on the need is the referral's; the packet was rendered under it.
    assert db_session.get(Consent, referral.consent_id).need_id == need.id
    # The firm's application page lists that consent (the consent rule's subjects).
    details = application_details.application_details(
        db_session, board.enterprise.id, application.id
    )
    assert [c.need_id for c in details["consents"]] == [need.id]
    packet = packets.current_packet(db_session, referral.id)
    assert packet is not None
    text = squash(pdf_text(packets.read_packet(packet)))
    assert squash(board.enterprise.name) in text
    assert need.number in text
    # Every step was audited.
    actions = set(
        db_session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type.in_(("need", "need_claim")))
        )
    )
    assert {"need.posted", "need.claimed", "need.matched", "need_claim.consented"} <= actions
    assert {"need_claim.chosen", "need_claim.not_chosen"} <= actions


def test_a_refused_choice_saves_nothing(db_session, board, monkeypatch):
    need = board.post(db_session)
    claim = _claim(db_session, board, need, board.bank_a, board.user_a)
    needs.consent_to_claim(
        db_session,
        actor_id=board.sme.id,
        enterprise_id=board.enterprise.id,
        need_id=need.id,
        claim_id=claim.id,
    )
    board.bank_a.active = False  # refer_to_banks refuses an inactive bank
    db_session.commit()
    with pytest.raises(ValidationFailed):
        needs.choose_claim(
            db_session,
            actor_id=board.sme.id,
            enterprise_id=board.enterprise.id,
            need_id=need.id,
            claim_id=claim.id,
        )
    db_session.expire_all()
    assert db_session.get(Need, need.id).state == "claimed"
    assert db_session.get(NeedClaim, claim.id).state == "consented"
    assert (
        db_session.scalar(
            select(Application).where(Application.enterprise_id == board.enterprise.id)
        )
        is None
    )


def test_withdrawing_ends_the_open_claims(db_session, board):
    need = board.post(db_session)
    claim = _claim(db_session, board, need, board.bank_a, board.user_a)
    needs.withdraw_need(
        db_session, actor_id=board.sme.id, enterprise_id=board.enterprise.id, need_id=need.id
    )
    assert need.state == "withdrawn" and db_session.get(NeedClaim, claim.id).state == "withdrawn"
    with pytest.raises(InvalidTransition):
        needs.withdraw_need(
            db_session, actor_id=board.sme.id, enterprise_id=board.enterprise.id, need_id=need.id
        )
    db_session.rollback()
    with pytest.raises(NotFound):  # another firm's need is not even confirmed
        needs.withdraw_need(
            db_session,
            actor_id=board.sme.id,
            enterprise_id=board.enterprise.id + 999,
            need_id=need.id,
        )


def test_unclaimed_needs_escalate_once_past_the_clock_and_an_advisor_closes_them(db_session, board):
    need = board.post(db_session)
    claimed = board.post(db_session, amount=Decimal("2000000"))
    _claim(db_session, board, claimed, board.bank_a, board.user_a)
    before = need.claim_due_at - timedelta(minutes=1)
    assert needs.escalate_unclaimed(db_session, before) == {"escalated": 0}
    after = need.claim_due_at + timedelta(minutes=1)
    assert needs.escalate_unclaimed(db_session, after) == {"escalated": 1}
    assert needs.escalate_unclaimed(db_session, after) == {"escalated": 0}  # idempotent
    assert need.state == "escalated" and need.escalated_at == after
    assert need.handle_due_at > after
    assert claimed.state == "claimed"
    assert [n.id for n in needs.escalated_page(db_session).items] == [need.id]
    # Banks may still claim an escalated need (the machine allows it).
    assert needs.get_for_bank(db_session, board.bank_b.id, need.id).can_claim
    with pytest.raises(ValidationFailed):
        needs.close_need(db_session, actor_id=board.advisor.id, need_id=need.id, reason=" ")
    db_session.rollback()
    needs.close_need(
        db_session, actor_id=board.advisor.id, need_id=need.id, reason="已电话联系，企业暂不需要"
    )
    assert need.state == "closed" and need.closed_at is not None


def test_the_periodic_task_and_the_command_escalate(app, db_session, board):
    from finportal import jobs

    need = board.post(db_session)
    assert "needs_escalate" in jobs.PERIODIC
    assert jobs.PERIODIC["needs_escalate"][0](db_session) == {"escalated": 0}
    runner = app.test_cli_runner()
    moment = (need.claim_due_at + timedelta(hours=1)).isoformat()
    result = runner.invoke(args=["needs", "escalate", "--now", moment])
    assert result.exit_code == 0, result.output
    assert '"escalated": 1' in result.output
    db_session.expire_all()
    assert db_session.get(Need, need.id).state == "escalated"
    bad = runner.invoke(args=["needs", "escalate", "--now", "tomorrow"])
    assert bad.exit_code != 0


def test_the_admin_sets_a_banks_products(db_session, board):
    product_ids = [p.id for p in needs.fitting_products(db_session, board.post(db_session).id)]
    needs.set_bank_products(
        db_session, actor_id=None, bank_id=board.bank_c.id, product_ids=[str(product_ids[0])]
    )
    assert needs.bank_product_ids(db_session, board.bank_c.id) == [product_ids[0]]
    with pytest.raises(ValidationFailed):
        needs.set_bank_products(
            db_session, actor_id=None, bank_id=board.bank_c.id, product_ids=["x"]
        )
    db_session.rollback()
    assert db_session.scalar(select(NeedProduct.id).limit(1)) is not None


def test_the_dashboard_shows_pick_up_and_time_to_claim_per_bank(db_session, board):
    from finportal.services.dashboard import build_dashboard

    first = board.post(db_session)
    board.post(db_session, amount=Decimal("3000000"))
    claim = _claim(db_session, board, first, board.bank_a, board.user_a)
    claim.claimed_at = first.posted_at + timedelta(hours=5)
    first.first_claim_at = claim.claimed_at
    db_session.commit()
    dash = build_dashboard(db_session)
    rows = {row[0]: row[1:] for row in dash.tables["need_pickup"].rows}
    assert rows[board.bank_a.name_zh] == [2, 1, 0.5, 5.0]
    assert rows[board.bank_b.name_zh] == [2, 0, 0.0, None]
    assert board.bank_c.name_zh not in rows  # nothing posted fits its products
    assert dash.headline["pickup_rate"] == 0.5
    assert dash.headline["median_first_claim_hours"] == 5.0


def test_a_claim_made_while_escalating_wins(db_session, board, monkeypatch):
    from sqlalchemy import update

    from finportal.services import workflow

    need = board.post(db_session)
    other = board.post(db_session, amount=Decimal("2000000"))
    real_move = workflow.move

    def racing_move(session, machine, record, target, **kwargs):
        if record is need and target == "escalated":
            # A bank's claim commits between the escalation's read and its write.
            session.execute(
                update(Need)
                .where(Need.id == need.id)
                .values(state="claimed", lock_version=Need.lock_version + 1)
                .execution_options(synchronize_session=False)
            )
        return real_move(session, machine, record, target, **kwargs)

    monkeypatch.setattr(workflow, "move", racing_move)
    later = max(need.claim_due_at, other.claim_due_at) + timedelta(minutes=1)
    assert needs.escalate_unclaimed(db_session, later) == {"escalated": 1, "skipped": 1}
    db_session.expire_all()
    # (The simulated claim shared the escalation's transaction, so its rollback undid it
    # too; what matters is that the escalation did not overwrite it.)
    assert db_session.get(Need, need.id).state != "escalated"
    assert db_session.get(Need, other.id).state == "escalated"
