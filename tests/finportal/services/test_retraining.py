"""Retraining a challenger from the platform's own loan outcomes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import scoring
from finportal.models import Application, AuditEvent, LoanOutcome, ModelVersion, Referral
from finportal.services import retraining


@pytest.fixture
def add_outcome(db_session, create_enterprise, create_bank, published_catalog):
    """Factory: an application with a feature snapshot, referred, with loan events."""
    firm = create_enterprise()
    banks = [create_bank(), create_bank()]
    version = published_catalog[1]["policy_guarantee"]

    def make(features, events, *, snapshot=True, bank=0):
        app = Application(
            enterprise_id=firm.id,
            amount=Decimal("500000"),
            term_months=12,
            state="referred",
            feature_snapshot={k: (None if v != v else v) for k, v in features.items()}
            if snapshot
            else None,
            screened_at=datetime(2025, 6, 1, tzinfo=UTC),
        )
        db_session.add(app)
        db_session.flush()
        referral = Referral(
            application_id=app.id,
            bank_id=banks[bank].id,
            product_version_id=version.id,
            state=events[-1] if events else "sent",
        )
        db_session.add(referral)
        db_session.flush()
        for event in events:
            db_session.add(
                LoanOutcome(referral_id=referral.id, event=event, occurred_on=date(2025, 9, 1))
            )
        return app

    return make


@pytest.fixture
def outcomes(db_session, add_outcome):
    """500 outcomes with real signal: 400 repaid and 100 bad loans of the reference data."""
    frame = scoring.generate_reference_data(6000, seed=3)
    goods = frame[frame["bad"] == 0].head(400)
    bads = frame[frame["bad"] == 1].head(100)
    for data, final in ((goods, "repaid"), (bads, "defaulted")):
        for row in data.drop(columns=["bad"]).to_dict("records"):
            add_outcome(row, ["disbursed", final])
    db_session.commit()
    return 500, 100


def test_records_label_final_outcomes_and_skip_the_rest(db_session, add_outcome):
    features = {"firm_age_years": 3.0, "revenue_10k": 100.0}
    repaid = add_outcome(features, ["disbursed", "repaid"])
    overdue = add_outcome(features, ["disbursed", "overdue_90"])
    running = add_outcome(features, ["disbursed"])
    no_snapshot = add_outcome(features, ["disbursed", "defaulted"], snapshot=False)
    mixed = add_outcome(features, ["disbursed", "repaid"])
    db_session.add(
        Referral(
            application_id=mixed.id,
            bank_id=_other_bank(db_session, mixed),
            product_version_id=_version_of(db_session, mixed),
            state="defaulted",
        )
    )
    db_session.flush()
    second = db_session.scalar(
        select(Referral).where(Referral.application_id == mixed.id, Referral.state == "defaulted")
    )
    db_session.add(
        LoanOutcome(referral_id=second.id, event="defaulted", occurred_on=date(2025, 9, 1))
    )
    db_session.commit()
    labels = {r["application_id"]: r["bad"] for r in retraining.outcome_records(db_session)}
    assert labels == {repaid.id: 0, overdue.id: 1, mixed.id: 1}
    assert running.id not in labels and no_snapshot.id not in labels


def _version_of(db_session, app):
    return db_session.scalar(
        select(Referral.product_version_id).where(Referral.application_id == app.id)
    )


def _other_bank(db_session, app):
    from finportal.models import Bank

    used = db_session.scalar(select(Referral.bank_id).where(Referral.application_id == app.id))
    return db_session.scalar(select(Bank.id).where(Bank.id != used).limit(1))


def test_too_few_outcomes_are_refused_clearly(db_session, add_outcome, champion_model):
    for i in range(30):
        add_outcome({"firm_age_years": float(i)}, ["disbursed", "repaid" if i % 5 else "defaulted"])
    db_session.commit()
    with pytest.raises(retraining.NotEnoughOutcomes) as caught:
        retraining.retrain(db_session, actor_id=None)
    exc = caught.value
    assert (exc.rows, exc.bads) == (30, 6)
    assert "贷款结果不足" in exc.message_zh and "30" in exc.message_zh and "500" in exc.message_zh
    assert "Not enough loan outcomes" in exc.message_en
    assert exc.status == 409
    assert db_session.scalar(select(func.count()).select_from(ModelVersion)) == 1


def test_retrain_registers_a_challenger_compared_on_the_same_holdout(
    db_session, outcomes, champion_model
):
    result = retraining.retrain(db_session, actor_id=None)
    row = result.model_version
    assert row.status == "challenger"
    assert row.id != champion_model.id
    assert (result.rows, result.bads) == outcomes
    assert result.holdout_rows == 125 and result.train_rows == 375
    comparison = result.comparison
    assert comparison["rows"] == 125
    assert comparison["champion"]["version"] == champion_model.version
    assert comparison["challenger"]["version"] == row.version
    assert comparison["challenger"]["auc"] > 0.6, comparison
    stored = db_session.get(ModelVersion, row.id).card["holdout_comparison"]
    assert stored["rows"] == 125 and stored["champion"]["auc"] == comparison["champion"]["auc"]
    assert row.card["data"]["rows"] == 375
    assert "platform outcomes" in row.card["data"]["source"]
    assert db_session.get(ModelVersion, champion_model.id).status == "champion"
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "model.retrained"))
    assert event.object_id == row.id and event.data["holdout_rows"] == 125


def test_the_models_page_shows_the_challenger_beside_the_champion(
    client, db_session, create_user, login, outcomes, champion_model
):
    row = retraining.retrain(db_session, actor_id=None).model_version
    login(create_user("admin"))
    page = client.get(f"/admin/models/{row.id}").text
    assert 'id="holdout-comparison"' in page
    assert champion_model.version in page
    assert "125 笔平台贷款结果" in page


def test_cli_refuses_with_too_few_outcomes(app, db_session, champion_model):
    result = app.test_cli_runner().invoke(args=["scoring", "retrain"])
    assert result.exit_code == 1
    assert "贷款结果不足" in result.output and "Not enough loan outcomes" in result.output
    as_json = app.test_cli_runner().invoke(args=["scoring", "retrain", "--json"])
    assert as_json.exit_code == 1
    data = json.loads(as_json.output)
    assert data["error"] == "not_enough_outcomes" and data["rows"] == 0


def test_cli_trains_and_prints_champion_beside_challenger(
    app, db_session, outcomes, champion_model
):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["scoring", "retrain", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["holdout_rows"] == 125
    assert data["comparison"]["champion"]["version"] == champion_model.version
    assert set(data["comparison"]["challenger"]) >= {"auc", "ks", "brier", "ece"}
    listing = runner.invoke(args=["scoring", "list", "--json"])
    statuses = {m["version"]: m["status"] for m in json.loads(listing.output)}
    assert statuses[champion_model.version] == "champion"
    assert statuses[data["challenger"]] == "challenger"


def test_cli_text_output_puts_both_models_side_by_side(app, db_session, outcomes, champion_model):
    result = app.test_cli_runner().invoke(args=["scoring", "retrain"])
    assert result.exit_code == 0, result.output
    assert "champion" in result.output and "challenger" in result.output
    assert "AUC" in result.output and "ECE" in result.output
    assert "ΔAUC" in result.output


def test_lowered_thresholds_still_refuse_when_training_cannot_fit(
    db_session, add_outcome, champion_model
):
    for i in range(12):
        add_outcome({"firm_age_years": float(i)}, ["disbursed", "repaid" if i % 3 else "defaulted"])
    db_session.commit()
    with pytest.raises(retraining.NotEnoughOutcomes) as caught:
        retraining.retrain(db_session, actor_id=None, min_rows=10, min_bads=2)
    assert "训练失败" in caught.value.message_zh
    assert db_session.scalar(select(func.count()).select_from(ModelVersion)) == 1


def test_retraining_from_the_page_shows_steps_and_ends_with_the_card(
    client, db_session, create_user, login, outcomes, champion_model
):
    """The admin starts it; the JSON status and the page show the steps; the card follows."""
    from finportal.models import Job

    login(create_user("admin"))
    response = client.post("/admin/models/retrain")
    assert response.status_code == 302
    job_url = response.headers["Location"]
    job_id = job_url.rstrip("/").rsplit("/", 1)[-1]
    # jobs run at once in tests: the job is done and kept its steps' last progress
    job = db_session.get(Job, job_id)
    db_session.refresh(job)
    assert job.state == "done", job.message
    status = client.get(f"{job_url}/status").get_json()
    assert status["done"] and status["percent"] == 100 and status["steps"] == 5
    page = client.get(job_url).text
    assert 'data-step-state="done"' in page and 'data-step-state="todo"' not in page
    assert "新模型卡" in page and 'id="holdout-comparison"' in page
    row = db_session.get(ModelVersion, status["model_version_id"])
    assert row.status == "challenger" and row.version in page
    assert f'/admin/models/{row.id}/compare"' in page  # the way to activate it


def test_progress_is_recorded_step_by_step(db_session, outcomes, champion_model, monkeypatch):
    """Each step is written on the running job as it starts, percent never going back."""
    from finportal import jobs
    from finportal.models import Job

    seen = []
    real = jobs.report_progress

    def spy(job_id, progress):
        real(job_id, progress)
        with jobs.db._new_session() as other:  # what a polling page reads meanwhile
            seen.append(other.get(Job, job_id).result["progress"])

    monkeypatch.setattr(jobs, "report_progress", spy)
    job = retraining.request_retrain(db_session, actor_id=None)
    db_session.refresh(job)
    assert job.state == "done", job.message
    steps = [p["step"] for p in seen]
    assert steps[0] == "collect" and steps[-1] == "register"
    assert {"split", "train", "compare"} <= set(steps)
    percents = [p["percent"] for p in seen]
    assert percents == sorted(percents) and 0 <= percents[0] < percents[-1] <= 100
    assert len({p for p in percents if 15 <= p <= 80}) >= 3  # training moves the bar


def test_retraining_with_too_few_outcomes_is_refused_on_the_page(
    client, db_session, create_user, login, champion_model
):
    login(create_user("admin"))
    response = client.post("/admin/models/retrain")
    assert response.status_code == 409
    assert "贷款结果不足" in response.text
    assert "retrain-form" in response.text


def test_the_newest_records_are_chosen_in_sql_as_the_comparison_chose_them(db_session, add_outcome):
    """``outcome_records(newest=n)`` reads the n latest screened applications with a final
    outcome and a snapshot — the same ones as sorting every record and keeping the last n."""
    features = {"firm_age_years": 3.0, "revenue_10k": 100.0}
    days = [5, 1, None, 9, 7, 3, None, 8]
    for n, day in enumerate(days):
        app = add_outcome(features, ["disbursed", "repaid" if n % 3 else "defaulted"])
        app.screened_at = datetime(2025, 6, day, tzinfo=UTC) if day else None
    add_outcome(features, ["disbursed", "defaulted"], snapshot=False)  # newest, no snapshot
    add_outcome(features, ["disbursed"])  # still running: no final outcome
    db_session.commit()

    def key(record):
        return (record["scored_at"] is None, record["scored_at"], record["application_id"])

    every = sorted(retraining.outcome_records(db_session), key=key)
    assert len(every) == len(days)
    for n in (1, 3, 5, len(days), len(days) + 4):
        chosen = sorted(retraining.outcome_records(db_session, newest=n), key=key)
        assert chosen == every[-n:], n


def test_the_counts_in_sql_agree_with_the_records(db_session, add_outcome):
    """``outcome_counts`` counts in one statement what ``outcome_records`` returns: the
    applications with features and a final outcome, bad when any loan of theirs went bad."""
    features = {"firm_age_years": 3.0, "revenue_10k": 100.0}
    for _ in range(7):
        add_outcome(features, ["disbursed", "repaid"])
    for event in ("overdue_90", "defaulted", "defaulted"):
        add_outcome(features, ["disbursed", event])
    add_outcome(features, ["disbursed", "overdue_90", "defaulted"])  # two bad events: one record
    add_outcome(features, ["disbursed", "repaid", "repaid"])  # repaid twice: one good record
    add_outcome(features, ["disbursed"])  # still running
    add_outcome(features, ["disbursed", "defaulted"], snapshot=False)  # nothing to learn from
    add_outcome({}, ["disbursed", "repaid"])  # an empty snapshot likewise
    mixed = add_outcome(features, ["disbursed", "repaid"])  # repaid at one bank, bad at another
    second = Referral(
        application_id=mixed.id,
        bank_id=_other_bank(db_session, mixed),
        product_version_id=_version_of(db_session, mixed),
        state="defaulted",
    )
    db_session.add(second)
    db_session.flush()
    db_session.add(
        LoanOutcome(referral_id=second.id, event="defaulted", occurred_on=date(2025, 9, 1))
    )
    db_session.commit()

    records = retraining.outcome_records(db_session)
    assert (len(records), sum(r["bad"] for r in records)) == (13, 5)
    assert retraining.outcome_counts(db_session) == (13, 5)


def test_a_retraining_request_counts_without_reading_the_records(
    db_session, add_outcome, monkeypatch
):
    from tests.finportal.test_query_counts import counting

    features = {"firm_age_years": 3.0}
    for i in range(12):
        add_outcome(features, ["disbursed", "defaulted" if i % 4 == 0 else "repaid"])
    db_session.commit()

    def every_record(*_args, **_kwargs):
        raise AssertionError("request_retrain read every outcome record")

    monkeypatch.setattr(retraining, "outcome_records", every_record)
    with counting() as statements, pytest.raises(retraining.NotEnoughOutcomes) as caught:
        retraining.request_retrain(db_session, actor_id=None)
    assert (caught.value.rows, caught.value.bads) == (12, 3)
    # The retraining under way, then the one count (the tests' savepoints aside).
    selects = [s for s in statements if s.startswith("SELECT")]
    assert len(selects) == 2 and selects[-1].lower().startswith("select count("), selects
