"""Admins read model cards, promote a model version and watch drift."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

import scoring
from finportal.models import Application, AuditEvent, ModelVersion


def _challenger(db_session, champion):
    """A second version (a copy of the champion's files under another version name)."""
    row = ModelVersion(
        version="platform-challenger-test",
        name="挑战者（测试）",
        status="challenger",
        synthetic=False,
        files=dict(champion.files),
        card={**champion.card, "synthetic": False},
        card_markdown="",
    )
    db_session.add(row)
    db_session.commit()
    return row


def test_models_page_lists_versions_with_status_synthetic_flag_and_metrics(
    client, create_user, login, champion_model
):
    login(create_user("admin"))
    page = client.get("/admin/models").text
    assert champion_model.version in page
    assert "当前使用" in page and "合成参考数据" in page
    assert f"{champion_model.card['metrics']['auc']:.4f}" in page
    assert "还没有经过评分的申请" in page


def test_model_card_shows_metrics_calibration_and_score_bands(
    client, create_user, login, champion_model
):
    login(create_user("admin"))
    page = client.get(f"/admin/models/{champion_model.id}").text
    assert "校准表" in page and "评分分段" in page and "等级" in page
    assert "合成参考数据训练" in page
    card = champion_model.card
    assert len(card["calibration_table"]) == 10
    assert f"{card['metrics']['ks']:.4f}" in page
    assert card["score_bands"][1]["band"] in page
    assert client.get("/admin/models/99999").status_code == 404


def test_promoting_a_challenger_retires_the_champion(
    client, db_session, create_user, login, champion_model
):
    admin = create_user("admin")
    login(admin)
    challenger = _challenger(db_session, champion_model)
    assert "启用该模型</button>" in client.get("/admin/models").text
    response = client.post(f"/admin/models/{challenger.id}/promote")
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(ModelVersion, challenger.id).status == "champion"
    assert db_session.get(ModelVersion, champion_model.id).status == "retired"
    event = db_session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "model.promoted", AuditEvent.object_id == challenger.id
        )
    )
    assert event.actor_id == admin.id and event.object_id == challenger.id
    again = client.post(f"/admin/models/{challenger.id}/promote")
    assert again.status_code == 409
    assert "已是当前使用的模型" in again.text


def test_drift_of_recent_applications_is_shown(
    client, db_session, create_user, create_enterprise, login, champion_model
):
    login(create_user("admin"))
    firm = create_enterprise()
    frame = scoring.generate_reference_data(300, seed=5)
    # recent applicants borrow far more relative to revenue than the training data did
    frame["amount_to_revenue"] = frame["amount_to_revenue"] * 8
    for i, row in enumerate(frame.drop(columns=["bad"]).to_dict("records")):
        db_session.add(
            Application(
                enterprise_id=firm.id,
                amount=Decimal("500000"),
                term_months=12,
                state="screened",
                feature_snapshot={k: (None if v != v else v) for k, v in row.items()},
                screened_at=datetime(2026, 3, 1, tzinfo=UTC).replace(minute=i % 60),
            )
        )
    db_session.commit()
    page = client.get("/admin/models").text
    assert "最近 300 笔已评分申请" in page
    assert "评分 PSI" in page
    assert "已漂移的特征" in page and "amount_to_revenue" in page
    detail = client.get(f"/admin/models/{champion_model.id}").text
    assert "amount_to_revenue" in detail
