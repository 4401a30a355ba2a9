"""Promoting a model rescores the open applications, keeping their old scores."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

import scoring
from finportal import jobs
from finportal.models import Application, CreditScore
from finportal.services import admin as admin_service
from finportal.services import credit


def test_promotion_rescores_open_applications(
    app, db_session, create_enterprise, published_catalog, champion_model, tmp_path
):
    open_one = Application(
        enterprise_id=create_enterprise().id,
        state="submitted",
        amount=Decimal("800000"),
        term_months=12,
    )
    closed = Application(
        enterprise_id=create_enterprise().id,
        state="submitted",
        amount=Decimal("500000"),
        term_months=12,
    )
    db_session.add_all([open_one, closed])
    db_session.commit()
    with app.test_request_context():
        jobs.enqueue(db_session, "screen_application", application_id=open_one.id)
        jobs.enqueue(db_session, "screen_application", application_id=closed.id)
    closed.state = "withdrawn"
    db_session.commit()

    scoring.train_reference_model(tmp_path, seed=7, rows=6000)
    challenger = credit.register_model(db_session, tmp_path, actor_id=None, name="挑战者")
    db_session.commit()
    assert challenger.version != champion_model.version
    with app.test_request_context():
        # A small synthetic challenger may trail the logistic baseline: say why it goes live.
        admin_service.promote_model(
            db_session, challenger.id, actor_id=None, reason="测试：重新评分流程"
        )

    scores = db_session.scalars(
        select(CreditScore)
        .where(CreditScore.application_id == open_one.id)
        .order_by(CreditScore.id)
    ).all()
    assert [s.model_version_id for s in scores] == [champion_model.id, challenger.id]
    assert scores[1].feature_snapshot == scores[0].feature_snapshot
    assert scores[1].grade in "ABCDE"
    assert all(r["feature"] and r["text_zh"] for r in scores[1].reasons)
    # the same facts scored by the new model, one by one, give the same PD
    single = credit.load(challenger).score_one(
        {k: (float("nan") if v is None else v) for k, v in scores[0].feature_snapshot.items()}
    )
    assert abs(single.pd - scores[1].pd) < 1e-9
    db_session.refresh(open_one)
    assert open_one.model_version_id == challenger.id
    closed_scores = db_session.scalars(
        select(CreditScore).where(CreditScore.application_id == closed.id)
    ).all()
    assert [s.model_version_id for s in closed_scores] == [champion_model.id]
