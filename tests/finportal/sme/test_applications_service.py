"""Applications from the SME's side: every transition audited, every refusal clear."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from finportal.models import (
    Application,
    AuditEvent,
    Consent,
    Job,
    Notification,
    Rating,
    Referral,
)
from finportal.services import application_details, applications
from finportal.services.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from finportal.services.lifecycle import transition
from tests.finportal.sme.helpers import form_data

pytestmark = pytest.mark.db


def _count(db_session, model, *where):
    return db_session.scalar(select(func.count()).select_from(model).where(*where))


def _events(db_session, application_id):
    return db_session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "application", AuditEvent.object_id == application_id)
        .order_by(AuditEvent.id)
    ).all()


def test_submit_creates_consents_and_screens_with_audit(db_session, sme, banks, ready, request_ctx):
    data = form_data(banks, consent_bank_ids=[banks[0].id, banks[1].id])
    application, job = applications.create_application(
        db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id, data=data
    )
    assert job is not None
    assert job.state == "done", job.message
    db_session.refresh(application)
    assert application.state == "screened"
    assert application.submitted_at is not None
    assert [(e.action, e.from_state, e.to_state) for e in _events(db_session, application.id)] == [
        ("application.created", None, "draft"),
        ("application.submitted", "draft", "submitted"),
        ("application.screened", "submitted", "screened"),
    ]
    consents = db_session.scalars(
        select(Consent).where(Consent.application_id == application.id)
    ).all()
    assert {c.bank_id for c in consents} == {banks[0].id, banks[1].id}
    assert all(c.scope == applications.DEFAULT_SCOPE for c in consents)
    assert all(c.valid_until > date.today() for c in consents)
    assert (
        _count(
            db_session,
            AuditEvent,
            AuditEvent.action == "consent.granted",
            AuditEvent.object_id.in_([c.id for c in consents]),
        )
        == 2
    )
    assert _count(db_session, Notification, Notification.enterprise_id == sme.enterprise_id) >= 2


def test_same_idempotency_key_gives_one_application(db_session, sme, banks, ready, request_ctx):
    data = form_data(banks)
    first, job = applications.create_application(
        db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id, data=data
    )
    again, job_again = applications.create_application(
        db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id, data=dict(data)
    )
    assert again.id == first.id
    assert job_again is None
    assert _count(db_session, Application, Application.enterprise_id == sme.enterprise_id) == 1
    assert _count(db_session, Job, Job.object_id == first.id) == 1


def test_key_of_another_enterprise_is_refused(
    db_session, sme, other_sme, banks, ready, request_ctx
):
    data = form_data(banks)
    applications.create_application(
        db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id, data=data
    )
    with pytest.raises(Conflict):
        applications.create_application(
            db_session, actor_id=other_sme.id, enterprise_id=other_sme.enterprise_id, data=data
        )
    assert (
        _count(db_session, Application, Application.enterprise_id == other_sme.enterprise_id) == 0
    )


def test_submit_without_consent_is_refused_and_nothing_is_saved(db_session, sme, banks, ready):
    with pytest.raises(ValidationFailed) as info:
        applications.create_application(
            db_session,
            actor_id=sme.id,
            enterprise_id=sme.enterprise_id,
            data=form_data(banks, consent_bank_ids=[]),
        )
    assert "授权" in info.value.message_zh
    assert "consent_bank_ids" in info.value.fields
    db_session.rollback()
    assert _count(db_session, Application) == 0


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"product_code": "ip_pledge", "term_months": 60}, "term_months", "6 至 36 个月"),
        ({"product_code": "ip_pledge", "term_months": 3}, "term_months", "6 至 36 个月"),
        ({"product_code": "ip_pledge", "amount": Decimal("50000000.00")}, "amount", "万元之间"),
        ({"product_code": "no_such_product"}, "product_code", "不存在"),
        ({"consent_bank_ids": [999999]}, "consent_bank_ids", "不存在"),
        ({"consent_valid_until": date(2020, 1, 1)}, "consent_valid_until", "晚于今天"),
    ],
)
def test_out_of_range_requests_are_refused(db_session, sme, banks, ready, overrides, field, words):
    with pytest.raises(ValidationFailed) as info:
        applications.create_application(
            db_session,
            actor_id=sme.id,
            enterprise_id=sme.enterprise_id,
            data=form_data(banks, **overrides),
        )
    assert words in info.value.fields[field]
    db_session.rollback()
    assert _count(db_session, Application) == 0


def test_a_chosen_product_within_its_terms_is_pinned(db_session, sme, submit, ready):
    application = submit(sme, product_code="ip_pledge", term_months=24)
    assert application.state == "screened"
    assert application.product.code == "ip_pledge"
    assert application.product_version.product.code == "ip_pledge"


def test_draft_then_submit_with_consent(db_session, sme, banks, ready, request_ctx):
    application, job = applications.create_application(
        db_session,
        actor_id=sme.id,
        enterprise_id=sme.enterprise_id,
        data=form_data(banks, action="draft", consent_bank_ids=[]),
    )
    assert job is None
    assert application.state == "draft"
    with pytest.raises(ValidationFailed):
        applications.submit_draft(
            db_session,
            actor_id=sme.id,
            enterprise_id=sme.enterprise_id,
            application_id=application.id,
            bank_ids=[],
            valid_until=None,
        )
    db_session.rollback()
    job = applications.submit_draft(
        db_session,
        actor_id=sme.id,
        enterprise_id=sme.enterprise_id,
        application_id=application.id,
        bank_ids=[banks[1].id],
        valid_until=date.today() + timedelta(days=30),
    )
    assert job.state == "done"
    db_session.refresh(application)
    assert application.state == "screened"
    # A second submit of the same draft (double click) does nothing.
    assert (
        applications.submit_draft(
            db_session,
            actor_id=sme.id,
            enterprise_id=sme.enterprise_id,
            application_id=application.id,
            bank_ids=[banks[1].id],
            valid_until=None,
        )
        is None
    )
    assert _count(db_session, Job, Job.object_id == application.id) == 1


def test_screening_without_a_model_leaves_it_submitted_with_the_reason(
    db_session, sme, banks, published_catalog, request_ctx
):
    application, job = applications.create_application(
        db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id, data=form_data(banks)
    )
    assert job.state == "failed"
    assert "模型" in job.message
    db_session.refresh(application)
    assert application.state == "submitted"


def test_resubmit_after_return_saves_fields_and_screens_again(
    db_session, sme, returned, request_ctx
):
    application = returned(sme)
    assert application_details.return_fields(application) == [
        "tax_paid_last_year",
        "tax_credit_grade",
    ]
    job = applications.resubmit_application(
        db_session,
        actor_id=sme.id,
        enterprise_id=sme.enterprise_id,
        application_id=application.id,
        raw={"tax_paid_last_year": "120.5", "tax_credit_grade": "b", "employees": "1"},
    )
    assert job.state == "done"
    db_session.refresh(application)
    assert application.state == "screened"
    enterprise = application.enterprise
    assert enterprise.tax_paid_last_year == Decimal("1205000.00")
    assert enterprise.tax_credit_grade == "B"
    assert enterprise.employees == 60, "only the requested fields are taken"
    event = db_session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "application.submitted", AuditEvent.from_state == "returned"
        )
    )
    assert event.data["return_request"]["fields"] == ["tax_paid_last_year", "tax_credit_grade"]
    assert set(event.data["changed"]) == {"tax_paid_last_year", "tax_credit_grade"}


def test_resubmit_with_bad_values_changes_nothing(db_session, sme, returned):
    application = returned(sme)
    before = application.enterprise.tax_paid_last_year
    with pytest.raises(ValidationFailed) as info:
        applications.resubmit_application(
            db_session,
            actor_id=sme.id,
            enterprise_id=sme.enterprise_id,
            application_id=application.id,
            raw={"tax_paid_last_year": "很多", "tax_credit_grade": "Z"},
        )
    assert info.value.fields["tax_paid_last_year"].startswith("请输入数字")
    assert "tax_credit_grade" in info.value.fields
    db_session.rollback()
    db_session.refresh(application)
    assert application.state == "returned"
    assert application.enterprise.tax_paid_last_year == before


def test_resubmit_can_change_the_request_when_asked(db_session, sme, returned, request_ctx):
    application = returned(
        sme, fields=["amount", "term_months"], product_code="ip_pledge", term_months=24
    )
    with pytest.raises(ValidationFailed) as info:
        applications.resubmit_application(
            db_session,
            actor_id=sme.id,
            enterprise_id=sme.enterprise_id,
            application_id=application.id,
            raw={"amount": "80", "term_months": "48"},
        )
    assert "6 至 36 个月" in info.value.fields["term_months"]
    db_session.rollback()
    applications.resubmit_application(
        db_session,
        actor_id=sme.id,
        enterprise_id=sme.enterprise_id,
        application_id=application.id,
        raw={"amount": "80", "term_months": "30"},
    )
    db_session.refresh(application)
    assert (application.amount, application.term_months) == (Decimal("800000.00"), 30)


def test_resubmit_is_refused_unless_returned(db_session, sme, submit, ready):
    application = submit(sme)
    with pytest.raises(InvalidTransition):
        applications.resubmit_application(
            db_session,
            actor_id=sme.id,
            enterprise_id=sme.enterprise_id,
            application_id=application.id,
            raw={},
        )


@pytest.mark.parametrize("state", ["draft", "screened", "in_review", "returned", "referred"])
def test_withdraw_before_disbursal(db_session, sme, submit, ready, state):
    application = submit(sme, action="draft") if state == "draft" else submit(sme)
    path = {
        "in_review": ["in_review"],
        "returned": ["in_review", "returned"],
        "referred": ["in_review", "referred"],
    }
    for step in path.get(state, []):
        transition(db_session, application, step, by="advisor", actor_id=None)
    db_session.commit()
    applications.withdraw_application(
        db_session,
        actor_id=sme.id,
        enterprise_id=sme.enterprise_id,
        application_id=application.id,
        reason="已从别处获得融资",
    )
    assert application.state == "withdrawn"
    last = _events(db_session, application.id)[-1]
    assert (last.action, last.from_state, last.to_state, last.actor_id) == (
        "application.withdrawn",
        state,
        "withdrawn",
        sme.id,
    )
    assert last.reason == "已从别处获得融资"
    with pytest.raises(InvalidTransition):
        applications.withdraw_application(
            db_session,
            actor_id=sme.id,
            enterprise_id=sme.enterprise_id,
            application_id=application.id,
        )


def _referral(db_session, application, bank, published_catalog, state="sent"):
    _catalog, versions = published_catalog
    referral = Referral(
        application_id=application.id,
        bank_id=bank.id,
        product_version_id=versions["policy_guarantee"].id,
        state=state,
    )
    db_session.add(referral)
    db_session.commit()
    return referral


def test_withdraw_ends_open_referrals_but_not_after_disbursal(
    db_session, sme, submit, banks, ready, published_catalog
):
    application = submit(sme)
    transition(db_session, application, "in_review", by="advisor", actor_id=None)
    transition(db_session, application, "referred", by="advisor", actor_id=None)
    db_session.commit()
    open_one = _referral(db_session, application, banks[0], published_catalog, "viewed")
    applications.withdraw_application(
        db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id, application_id=application.id
    )
    assert open_one.state == "withdrawn"
    assert _count(db_session, AuditEvent, AuditEvent.action == "referral.withdrawn") == 1

    paid = submit(sme)
    transition(db_session, paid, "in_review", by="advisor", actor_id=None)
    transition(db_session, paid, "referred", by="advisor", actor_id=None)
    db_session.commit()
    _referral(db_session, paid, banks[1], published_catalog, "disbursed")
    assert not application_details.can_withdraw(db_session, paid)
    with pytest.raises(InvalidTransition) as info:
        applications.withdraw_application(
            db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id, application_id=paid.id
        )
    assert "放款" in info.value.message_zh
    assert paid.state == "referred"


def test_consent_withdrawal_is_audited_once(db_session, sme, submit, ready):
    application = submit(sme)
    consent = db_session.scalar(select(Consent).where(Consent.application_id == application.id))
    applications.withdraw_consent(
        db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id, consent_id=consent.id
    )
    assert consent.withdrawn_at is not None
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "consent.withdrawn"))
    assert (event.object_id, event.actor_id, event.to_state) == (consent.id, sme.id, "withdrawn")
    with pytest.raises(InvalidTransition):
        applications.withdraw_consent(
            db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id, consent_id=consent.id
        )
    assert any(
        e.action == "撤回授权" for e in application_details.timeline(db_session, application)
    )


def test_rating_only_when_closed_and_only_once(db_session, sme, submit, ready):
    application = submit(sme)
    with pytest.raises(InvalidTransition):
        applications.rate_application(
            db_session,
            actor_id=sme.id,
            enterprise_id=sme.enterprise_id,
            application_id=application.id,
            stars=5,
        )
    applications.withdraw_application(
        db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id, application_id=application.id
    )
    applications.close_application(db_session, actor_id=None, application_id=application.id)
    assert application.state == "closed"
    assert application.closed_at is not None
    for stars in (0, 6):
        with pytest.raises(ValidationFailed):
            applications.rate_application(
                db_session,
                actor_id=sme.id,
                enterprise_id=sme.enterprise_id,
                application_id=application.id,
                stars=stars,
            )
    applications.rate_application(
        db_session,
        actor_id=sme.id,
        enterprise_id=sme.enterprise_id,
        application_id=application.id,
        stars=4,
        comment="顾问很专业",
    )
    with pytest.raises(Conflict):
        applications.rate_application(
            db_session,
            actor_id=sme.id,
            enterprise_id=sme.enterprise_id,
            application_id=application.id,
            stars=1,
        )
    assert _count(db_session, Rating, Rating.application_id == application.id) == 1
    assert _events(db_session, application.id)[-1].action == "application.rated"


def test_close_is_refused_from_a_live_state(db_session, sme, submit, ready):
    application = submit(sme)
    with pytest.raises(InvalidTransition):
        applications.close_application(db_session, actor_id=None, application_id=application.id)
    with pytest.raises(NotFound):
        applications.close_application(db_session, actor_id=None, application_id=987654)


def test_another_enterprise_finds_nothing_and_changes_nothing(
    db_session, sme, other_sme, submit, ready
):
    application = submit(sme)
    consent = db_session.scalar(select(Consent).where(Consent.application_id == application.id))
    job = application_details.latest_job(db_session, application.id)
    them = {"actor_id": other_sme.id, "enterprise_id": other_sme.enterprise_id}
    calls = [
        lambda: application_details.get_application(
            db_session, other_sme.enterprise_id, application.id
        ),
        lambda: application_details.application_details(
            db_session, other_sme.enterprise_id, application.id
        ),
        lambda: application_details.job_status(db_session, other_sme.enterprise_id, job.id),
        lambda: applications.withdraw_application(
            db_session, application_id=application.id, **them
        ),
        lambda: applications.withdraw_consent(db_session, consent_id=consent.id, **them),
        lambda: applications.resubmit_application(
            db_session, application_id=application.id, raw={}, **them
        ),
        lambda: applications.rate_application(
            db_session, application_id=application.id, stars=1, **them
        ),
        lambda: applications.submit_draft(
            db_session, application_id=application.id, bank_ids=[], valid_until=None, **them
        ),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    db_session.refresh(application)
    db_session.refresh(consent)
    assert application.state == "screened"
    assert consent.withdrawn_at is None
    assert application_details.list_applications(db_session, other_sme.enterprise_id) == []
    assert application_details.job_status(db_session, sme.enterprise_id, job.id)["done"] is True


def test_timeline_names_who_acted(db_session, sme, submit, ready, create_user):
    advisor = create_user("advisor", display_name="李顾问")
    application = submit(sme)
    transition(db_session, application, "in_review", by="advisor", actor_id=advisor.id)
    transition(
        db_session,
        application,
        "returned",
        by="advisor",
        actor_id=advisor.id,
        reason="请补充纳税信息",
    )
    db_session.commit()
    entries = application_details.timeline(db_session, application)
    assert [e.action for e in entries][:3] == ["创建申请", "授权银行查看", "提交申请"]
    assert entries[0].who.endswith("（本企业）")
    assert any(e.who == "系统" and e.action == "自动初筛完成" for e in entries)
    last = entries[-1]
    assert (last.who, last.from_state, last.to_state, last.reason) == (
        "李顾问（普惠金融顾问）",
        "in_review",
        "returned",
        "请补充纳税信息",
    )


def test_a_withdrawn_draft_cannot_be_submitted(db_session, sme, submit, ready, banks):
    application = submit(sme, action="draft")
    applications.withdraw_application(
        db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id, application_id=application.id
    )
    with pytest.raises(InvalidTransition):
        applications.submit_draft(
            db_session,
            actor_id=sme.id,
            enterprise_id=sme.enterprise_id,
            application_id=application.id,
            bank_ids=[banks[0].id],
            valid_until=None,
        )
    assert application.state == "withdrawn"


def test_purpose_stays_a_code_and_the_note_goes_to_the_timeline(db_session, sme, submit, ready):
    application = submit(sme, purpose="esop", purpose_note="员工持股计划")
    assert application.purpose == "esop"  # catalogue conditions compare the code
    assert (
        application_details.timeline(db_session, application)[0].reason == "用途说明：员工持股计划"
    )


def test_a_racing_submit_with_the_same_key_gets_the_first_application(
    db_session, sme, banks, ready, request_ctx, monkeypatch
):
    data = form_data(banks)
    first, _job = applications.create_application(
        db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id, data=data
    )
    # The second request looked before the first one committed: its lookup missed.
    original = db_session.scalar
    calls = {"n": 0}

    def first_lookup_misses(*args, **kwargs):
        calls["n"] += 1
        return None if calls["n"] == 1 else original(*args, **kwargs)

    monkeypatch.setattr(db_session, "scalar", first_lookup_misses)
    again, job = applications.create_application(
        db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id, data=dict(data)
    )
    monkeypatch.undo()
    assert (again.id, job) == (first.id, None)
    assert _count(db_session, Application) == 1
