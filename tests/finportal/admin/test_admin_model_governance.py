"""Champion and challenger on the same recent outcomes, audited promotion and rollback, monitor."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

import scoring
from finportal.models import Application, AuditEvent, LoanOutcome, ModelVersion, Referral


def _challenger(db_session, champion, **card):
    row = ModelVersion(
        version="platform-challenger-gov",
        name="挑战者（测试）",
        status="challenger",
        synthetic=False,
        files=dict(champion.files),
        card={**champion.card, "synthetic": False, **card},
        card_markdown="",
    )
    db_session.add(row)
    db_session.commit()
    return row


def _outcomes(db_session, create_enterprise, create_bank, published_catalog, n_good=120, n_bad=60):
    firm = create_enterprise()
    bank = create_bank()
    version = published_catalog[1]["policy_guarantee"]
    frame = scoring.generate_reference_data(4000, seed=11)
    goods = frame[frame["bad"] == 0].head(n_good)
    bads = frame[frame["bad"] == 1].head(n_bad)
    for data, final in ((goods, "repaid"), (bads, "defaulted")):
        for i, row in enumerate(data.drop(columns=["bad"]).to_dict("records")):
            app = Application(
                enterprise_id=firm.id,
                amount=Decimal("500000"),
                term_months=12,
                state="referred",
                feature_snapshot={k: (None if v != v else v) for k, v in row.items()},
                screened_at=datetime(2026, 1, 1 + i % 28, tzinfo=UTC),
            )
            db_session.add(app)
            db_session.flush()
            ref = Referral(
                application_id=app.id, bank_id=bank.id, product_version_id=version.id, state=final
            )
            db_session.add(ref)
            db_session.flush()
            db_session.add(
                LoanOutcome(referral_id=ref.id, event=final, occurred_on=date(2026, 6, 1))
            )
    db_session.commit()


def test_compare_page_needs_enough_recent_outcomes(
    client, db_session, create_user, login, champion_model
):
    login(create_user("admin"))
    challenger = _challenger(db_session, champion_model)
    page = client.get(f"/admin/models/{challenger.id}/compare").text
    assert "最近的贷款结果不足以比较" in page


def test_champion_and_challenger_on_the_same_recent_outcomes(
    client,
    db_session,
    create_user,
    create_enterprise,
    create_bank,
    published_catalog,
    login,
    champion_model,
):
    login(create_user("admin"))
    _outcomes(db_session, create_enterprise, create_bank, published_catalog)
    challenger = _challenger(db_session, champion_model)
    page = client.get(f"/admin/models/{challenger.id}/compare").text
    assert 'id="champion-challenger"' in page
    for label in ("AUC", "KS", "Brier", "ECE", "审批通过率", "评分分布 PSI"):
        assert label in page
    # The same files score the same rows: no change in approvals, PSI 0.
    assert "+0.00 个百分点" in page


def test_a_model_that_lost_to_a_baseline_needs_a_reason_and_rollback_restores(
    client, db_session, create_user, login, champion_model
):
    admin = create_user("admin")
    login(admin)
    weak = _challenger(
        db_session,
        champion_model,
        baseline_check={"passed": False, "worse_than": [], "tolerance": 0.005},
    )
    refused = client.post(f"/admin/models/{weak.id}/promote-with-reason", data={"reason": ""})
    assert refused.status_code == 409
    assert "不如基准模型" in refused.text
    db_session.expire_all()
    assert db_session.get(ModelVersion, weak.id).status == "challenger"
    ok = client.post(
        f"/admin/models/{weak.id}/promote-with-reason", data={"reason": "季度复核后人工确认"}
    )
    assert ok.status_code == 302
    db_session.expire_all()
    assert db_session.get(ModelVersion, weak.id).status == "champion"
    why = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "model.promotion_reason"))
    assert why.reason == "季度复核后人工确认" and why.actor_id == admin.id
    # Reversible: the previous champion comes back, and the audit says who and why.
    assert client.post("/admin/models/rollback", data={"reason": ""}).status_code == 409
    back = client.post("/admin/models/rollback", data={"reason": "新模型审批率异常"})
    assert back.status_code == 302
    db_session.expire_all()
    assert db_session.get(ModelVersion, champion_model.id).status == "champion"
    assert db_session.get(ModelVersion, weak.id).status == "retired"
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "model.rolled_back"))
    assert event.reason == "新模型审批率异常" and event.object_id == champion_model.id


def test_monitor_shows_groups_the_profile_has(
    client,
    db_session,
    create_user,
    create_enterprise,
    login,
    champion_model,
    published_catalog,
    app,
):
    from finportal import jobs

    login(create_user("admin"))
    assert "还没有评分记录" in client.get("/admin/models/monitor").text
    firm = create_enterprise()
    application = Application(
        enterprise_id=firm.id, state="submitted", amount=Decimal("1000000"), term_months=12
    )
    db_session.add(application)
    db_session.commit()
    with app.test_request_context():
        jobs.enqueue(db_session, "screen_application", application_id=application.id)
    page = client.get("/admin/models/monitor").text
    assert "企业规模" in page and "首贷户" in page and "行业" in page
    # Grouped by the street of the profile; a firm without one by its district code.
    assert "街道/镇" in page
    assert "区划 310112" in page


def test_the_plain_promote_button_also_refuses_a_model_that_lost_to_a_baseline(
    client, db_session, create_user, login, champion_model
):
    login(create_user("admin"))
    weak = _challenger(
        db_session,
        champion_model,
        baseline_check={"passed": False, "worse_than": [], "tolerance": 0.005},
    )
    assert client.post(f"/admin/models/{weak.id}/promote").status_code == 409
    db_session.expire_all()
    assert db_session.get(ModelVersion, weak.id).status == "challenger"
