"""Screening matches an application against the published catalogue and scores it, once."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from finportal import jobs
from finportal.models import Application, AuditEvent, CreditScore, Match, Notification


def _submitted(db_session, enterprise, **overrides):
    application = Application(
        enterprise_id=enterprise.id,
        state="submitted",
        amount=overrides.pop("amount", Decimal("1000000.00")),
        term_months=overrides.pop("term_months", 12),
        purpose="采购原材料",
        **overrides,
    )
    db_session.add(application)
    db_session.commit()
    return application


def test_screening_matches_scores_and_pins_versions(
    app, db_session, create_enterprise, published_catalog, champion_model
):
    enterprise = create_enterprise()
    application = _submitted(db_session, enterprise)
    with app.test_request_context():
        record = jobs.enqueue(db_session, "screen_application", application_id=application.id)
    assert record.state == "done", record.message
    db_session.refresh(application)
    assert application.state == "screened"
    assert application.model_version_id == champion_model.id
    assert application.feature_snapshot and "debt_ratio" in application.feature_snapshot
    assert application.first_response_due_at > application.screened_at
    matches = db_session.scalars(select(Match).where(Match.application_id == application.id)).all()
    # One match per product of the catalogue, whatever its size.
    import products

    assert len(matches) == len(products.load_catalog())
    eligible = [m for m in matches if m.eligible]
    assert eligible, "a healthy district tech firm qualifies for something"
    assert sorted(m.rank for m in eligible) == list(range(1, len(eligible) + 1))
    assert all(m.quote and "net_annual_cost_rate" in m.quote for m in eligible)
    assert (
        application.product_version_id
        == next(m for m in eligible if m.rank == 1).product_version_id
    )
    score = db_session.scalar(
        select(CreditScore).where(CreditScore.application_id == application.id)
    )
    assert 0 < score.pd < 1
    assert score.grade in "ABCDE"
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "application.screened"))
    assert event.from_state == "submitted"
    assert event.to_state == "screened"
    assert db_session.scalar(
        select(Notification).where(Notification.enterprise_id == enterprise.id)
    )


def test_screening_twice_changes_nothing(
    app, db_session, create_enterprise, published_catalog, champion_model
):
    application = _submitted(db_session, create_enterprise())
    with app.test_request_context():
        jobs.enqueue(db_session, "screen_application", application_id=application.id)
        second = jobs.enqueue(db_session, "screen_application", application_id=application.id)
    assert second.result == {"skipped": "screened"}
    count = db_session.scalar(
        select(func.count())
        .select_from(CreditScore)
        .where(CreditScore.application_id == application.id)
    )
    assert count == 1


def test_screening_without_a_model_fails_cleanly(
    app, db_session, create_enterprise, published_catalog
):
    application = _submitted(db_session, create_enterprise())
    with app.test_request_context():
        record = jobs.enqueue(db_session, "screen_application", application_id=application.id)
    assert record.state == "failed"
    assert "评分模型" in record.message
    db_session.refresh(application)
    assert application.state == "submitted"
    assert (
        db_session.scalar(
            select(func.count()).select_from(Match).where(Match.application_id == application.id)
        )
        == 0
    )


def test_ineligible_firm_gets_reasons(
    app, db_session, create_enterprise, published_catalog, champion_model
):
    enterprise = create_enterprise(serious_bad_credit_24m=True)
    application = _submitted(db_session, enterprise)
    with app.test_request_context():
        jobs.enqueue(db_session, "screen_application", application_id=application.id)
    matches = db_session.scalars(select(Match).where(Match.application_id == application.id)).all()
    failed = [c for m in matches for c in m.conditions if c["result"] == "failed"]
    assert any("失信" in c["message_zh"] or "信用" in c["message_zh"] for c in failed)


def test_an_incomplete_profile_is_not_scored_and_the_advisor_sees_what_is_missing(
    app,
    client,
    login,
    create_user,
    db_session,
    create_enterprise,
    published_catalog,
    champion_model,
):
    # No revenue and no credit record: the model must not guess a grade (it used to say A).
    firm = create_enterprise(
        revenue_last_year=None, overdue_count_24m=None, serious_bad_credit_24m=None
    )
    application = _submitted(db_session, firm)
    with app.test_request_context():
        record = jobs.enqueue(db_session, "screen_application", application_id=application.id)
    assert record.state == "done", record.message
    assert record.result["grade"] is None
    db_session.refresh(application)
    assert application.state == "screened"
    assert application.model_version_id == champion_model.id
    assert not db_session.scalars(
        select(CreditScore).where(CreditScore.application_id == application.id)
    ).all()
    event = db_session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "score.insufficient_data")
        .where(AuditEvent.object_id == application.id)
    )
    required = [m["feature"] for m in event.data["missing_required"]]
    assert {"revenue_10k", "overdue_count_24m", "serious_bad_credit_24m"} <= set(required)
    login(create_user("advisor"))
    page = client.get(f"/advisor/applications/{application.id}").text
    assert "资料不足，未评分" in page
    assert "上年营业收入" in page and "近24个月逾期次数" in page


def test_a_score_made_with_missing_inputs_says_which(
    app,
    client,
    login,
    create_user,
    db_session,
    create_enterprise,
    published_catalog,
    champion_model,
):
    firm = create_enterprise(total_assets=None, tax_credit_grade=None)
    application = _submitted(db_session, firm)
    with app.test_request_context():
        jobs.enqueue(db_session, "screen_application", application_id=application.id)
    score = db_session.scalar(
        select(CreditScore).where(CreditScore.application_id == application.id)
    )
    assert score.grade in "ABCDE"
    missing = {m["feature"] for m in score.details["missing_inputs"]}
    assert missing == {"debt_ratio", "tax_credit_rank"}
    login(create_user("advisor"))
    page = client.get(f"/advisor/applications/{application.id}").text
    assert "评分时缺少以下资料" in page
    assert "资产负债率" in page and "纳税信用等级" in page
