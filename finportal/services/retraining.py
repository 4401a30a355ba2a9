"""Retrain a challenger credit model from the platform's own outcomes.

An outcome record is an application with the feature snapshot taken when it was scored
and a loan outcome a bank reported on one of its referrals: ``repaid`` is good,
``overdue_90`` or ``defaulted`` bad (a loan still running has no outcome yet). A part of
the records is held out before training; the challenger and the champion are scored on
those same rows, so their metrics can be read side by side.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sqlalchemy import Select, Text, case, cast, func, select
from sqlalchemy.orm import Session

import scoring
from finportal import jobs
from finportal.models import Application, Job, LoanOutcome, ModelVersion, Referral, utcnow
from finportal.services import credit
from finportal.services.audit import record_event
from finportal.services.errors import ServiceError
from scoring.records import BAD_OUTCOMES, GOOD_OUTCOMES, MIN_BADS, MIN_ROWS

#: Share of the outcome records held out to compare champion and challenger.
HOLDOUT_SHARE = 0.25

#: The job that retrains from the admin's page (``request_retrain``).
RETRAIN_JOB = "retrain_model"

#: The steps of a retraining as the progress page lists them: key, Chinese, English, and
#: the percent of the work done when the step ends.
STEPS: tuple[tuple[str, str, str, int], ...] = (
    ("collect", "读取平台放款结果", "Reading the platform's loan outcomes", 10),
    ("split", "划分训练样本与留出样本", "Splitting training and hold-out rows", 15),
    (
        "train",
        "训练模型（交叉验证、建树、校准）",
        "Training (cross-validation, trees, calibration)",
        80,
    ),
    (
        "compare",
        "在留出样本上与当前模型比较",
        "Comparing with the active model on the hold-out",
        92,
    ),
    ("register", "登记新的模型版本", "Registering the new model version", 100),
)
STEP_KEYS = tuple(key for key, *_ in STEPS)


def progress_of(step: str, within: float = 0.0) -> dict[str, Any]:
    """Return the progress record of a step (``within``: share of that step done, 0..1)."""
    index = STEP_KEYS.index(step)
    start = STEPS[index - 1][3] if index else 0
    end = STEPS[index][3]
    percent = round(start + (end - start) * max(0.0, min(1.0, within)))
    return {"step": step, "index": index + 1, "steps": len(STEPS), "percent": percent}


class NotEnoughOutcomes(ServiceError):
    """Too few loan outcomes recorded on the platform to train a challenger."""

    status = 409
    code = "not_enough_outcomes"

    def __init__(
        self, rows: int, bads: int, min_rows: int, min_bads: int, detail: str = ""
    ) -> None:
        explained = scoring.InsufficientDataError(rows, bads, min_rows, min_bads)
        zh, en = explained.message_zh, explained.message_en
        if detail:
            # The totals passed but the training part was still too small to fit a model.
            zh, en = f"{zh}（训练失败：{detail}）", f"{en} (training failed: {detail})"
        super().__init__(zh, en)
        self.rows, self.bads = rows, bads
        self.min_rows, self.min_bads = min_rows, min_bads


@dataclass
class RetrainResult:
    """The registered challenger and how it compares with the champion on the hold-out."""

    model_version: ModelVersion
    rows: int
    bads: int
    train_rows: int
    holdout_rows: int
    #: ``scoring.compare_on_holdout`` output, or None when there is no champion.
    comparison: dict[str, Any] | None
    #: The challenger's own metrics on the hold-out (also when there is no champion).
    challenger_metrics: dict[str, Any]


#: The rule of an outcome record, in SQL, for :func:`outcome_records` and
#: :func:`outcome_counts` alike. A loan's final outcome: repaid, 90 days overdue or defaulted.
_FINAL = LoanOutcome.event.in_(sorted(BAD_OUTCOMES | GOOD_OUTCOMES))
#: A bad outcome; an application is bad when any of its final outcomes is.
_BAD = LoanOutcome.event.in_(sorted(BAD_OUTCOMES))
#: A feature snapshot to learn from: not SQL NULL, JSON null or {}.
_HAS_FEATURES = func.coalesce(cast(Application.feature_snapshot, Text), "null").not_in(
    ("null", "{}")
)


def _records(*columns: Any) -> Select[Any]:
    """Select ``columns`` of each application's final loan outcomes, when it has features."""
    return (
        select(*columns)
        .join(Referral, Referral.application_id == Application.id)
        .join(LoanOutcome, LoanOutcome.referral_id == Referral.id)
        .where(_FINAL, _HAS_FEATURES)
    )


def outcome_records(session: Session, *, newest: int | None = None) -> list[dict[str, Any]]:
    """Return one training record per application with a snapshot and a final loan outcome.

    An application is bad when any of its loans went 90 days overdue or defaulted, good
    when a loan was repaid and none went bad. With ``newest``, only the ``newest`` such
    applications (latest screened first; never screened before all) are read, chosen in SQL:
    the model comparison reads a thousand, not every outcome of the district.
    """
    stmt = _records(
        Application.id,
        Application.feature_snapshot,
        Application.screened_at,
        _BAD.label("bad"),
    ).order_by(Application.id, LoanOutcome.id)
    if newest is not None:
        ended = (
            select(LoanOutcome.id)
            .join(Referral, Referral.id == LoanOutcome.referral_id)
            .where(Referral.application_id == Application.id, _FINAL)
            .exists()
        )
        chosen = (
            select(Application.id)
            .where(_HAS_FEATURES, ended)
            .order_by(
                Application.screened_at.is_(None).desc(),
                Application.screened_at.desc(),
                Application.id.desc(),
            )
            .limit(newest)
        )
        stmt = stmt.where(Application.id.in_(chosen.scalar_subquery()))
    by_app: dict[int, dict[str, Any]] = {}
    for app_id, snapshot, screened_at, bad in session.execute(stmt):
        record = by_app.setdefault(
            app_id,
            {"application_id": app_id, "features": snapshot, "scored_at": screened_at, "bad": 0},
        )
        if bad:
            record["bad"] = 1
    return list(by_app.values())


def outcome_counts(session: Session) -> tuple[int, int]:
    """Return how many records :func:`outcome_records` would return, and how many are bad.

    One statement that counts in the database, not every record read to count it.
    """
    per_application = (
        _records(Application.id, func.max(case((_BAD, 1), else_=0)).label("bad"))
        .group_by(Application.id)
        .subquery()
    )
    rows, bads = session.execute(
        select(func.count(), func.coalesce(func.sum(per_application.c.bad), 0)).select_from(
            per_application
        )
    ).one()
    return int(rows), int(bads)


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame.from_records([r["features"] for r in records])
    return df.apply(pd.to_numeric, errors="coerce").astype(float)


def _plain(node: Any) -> Any:
    """Make metrics JSON-safe (NaN and numpy numbers become None and floats)."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_plain(v) for v in node]
    if isinstance(node, (np.floating, float)):
        value = float(node)
        return None if math.isnan(value) else value
    if isinstance(node, np.integer):
        return int(node)
    return node


def retrain(
    session: Session,
    *,
    actor_id: int | None,
    seed: int = 0,
    min_rows: int = MIN_ROWS,
    min_bads: int = MIN_BADS,
    progress: Callable[[str], None] | None = None,
    stage: Callable[[str, float], None] | None = None,
) -> RetrainResult:
    """Train a challenger from the platform's outcomes, register it and compare it (commits).

    Raises ``NotEnoughOutcomes`` (zh/en) when fewer than ``min_rows`` outcomes, or fewer
    than ``min_bads`` bad or good ones, are recorded. ``progress`` gets the trainer's lines;
    ``stage`` gets each step of :data:`STEPS` as it starts (and how far into it).
    """
    step = stage or (lambda _key, _within=0.0: None)
    step("collect", 0.0)
    records = outcome_records(session)
    n = len(records)
    bads = sum(r["bad"] for r in records)
    if n < min_rows or bads < min_bads or n - bads < min_bads:
        raise NotEnoughOutcomes(n, bads, min_rows, min_bads)
    # Nothing is written until the model is registered: end the read now, so a long
    # training holds no transaction open (and progress can be recorded beside it).
    session.commit()
    step("split", 0.0)
    lines = 0

    def trainer_line(line: str) -> None:
        nonlocal lines
        lines += 1
        step("train", min(0.9, lines / 8))
        if progress is not None:
            progress(line)

    labels = np.array([r["bad"] for r in records], dtype=np.int8)
    try:
        train_idx, hold_idx = train_test_split(
            np.arange(n), test_size=HOLDOUT_SHARE, random_state=seed, stratify=labels
        )
    except ValueError as exc:  # a class too small to split: only with tiny thresholds
        raise NotEnoughOutcomes(n, bads, min_rows, min_bads, detail=str(exc)) from exc
    train_records = [records[i] for i in sorted(train_idx)]
    holdout = [records[i] for i in sorted(hold_idx)]
    step("train", 0.0)
    try:
        # The totals were checked above; the training part is smaller by design.
        trained = scoring.train_from_records(
            train_records, seed=seed, min_rows=1, min_bads=1, progress=trainer_line
        )
    except (scoring.DataError, scoring.InsufficientDataError) as exc:
        raise NotEnoughOutcomes(n, bads, min_rows, min_bads, detail=str(exc)) from exc
    step("compare", 0.0)
    hold_df = _frame(holdout)
    hold_y = np.array([r["bad"] for r in holdout], dtype=np.int8)
    challenger_model = trained.model
    current = credit.champion(session)
    comparison = None
    if current is not None and current.version != trained.version:
        comparison = _plain(
            scoring.compare_on_holdout(credit.load(current), challenger_model, hold_df, hold_y)
        )
        challenger_metrics = comparison["challenger"]
    else:
        own = scoring.compare_on_holdout(challenger_model, challenger_model, hold_df, hold_y)
        challenger_metrics = _plain(own["challenger"])
    # The last step writes; it reports no progress until its commit (the job ends then).
    step("register", 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        trained.save(tmp)
        row = credit.register_model(
            session,
            tmp,
            actor_id=actor_id,
            name=f"平台数据挑战者模型 {utcnow():%Y-%m-%d}",
        )
    row.card = {
        **row.card,
        "holdout_comparison": {
            "rows": len(holdout),
            "bad_rate": float(hold_y.mean()),
            "champion": comparison["champion"] if comparison else None,
            "challenger": challenger_metrics,
            "better": comparison["better"] if comparison else None,
            "compared_at": utcnow().isoformat(timespec="seconds"),
        },
    }
    record_event(
        session,
        actor_id=actor_id,
        action="model.retrained",
        object_type="model_version",
        object_id=row.id,
        to_state=row.status,
        reason=f"{n} outcomes ({bads} bad), {len(holdout)} held out",
        data={
            "version": row.version,
            "rows": n,
            "bads": bads,
            "holdout_rows": len(holdout),
            "champion": comparison["champion"]["version"] if comparison else None,
            "delta_auc": comparison["delta_auc"] if comparison else None,
        },
    )
    session.commit()
    return RetrainResult(
        model_version=row,
        rows=n,
        bads=bads,
        train_rows=len(train_records),
        holdout_rows=len(holdout),
        comparison=comparison,
        challenger_metrics=challenger_metrics,
    )


def request_retrain(session: Session, *, actor_id: int | None, seed: int = 0) -> Job:
    """Start retraining in the background, or return the retraining already under way.

    Refused at once (``NotEnoughOutcomes``, 409) when too few outcomes are recorded, so the
    admin reads why on the page instead of in a failed job.
    """
    running = session.scalar(
        select(Job)
        .where(Job.kind == RETRAIN_JOB, Job.state.in_(("queued", "running")))
        .order_by(Job.created_at.desc())
        .limit(1)
    )
    if running is not None:
        return running
    n, bads = outcome_counts(session)
    if n < MIN_ROWS or bads < MIN_BADS or n - bads < MIN_BADS:
        raise NotEnoughOutcomes(n, bads, MIN_ROWS, MIN_BADS)
    return jobs.enqueue(
        session, RETRAIN_JOB, actor_id=actor_id, object_type="model_version", seed=seed
    )


@jobs.job(RETRAIN_JOB, attempts=1, timeout=3600)
def retrain_job(session: Session, *, seed: int = 0, **_: Any) -> dict[str, Any]:
    """Retrain from the platform's outcomes, recording each step on the job (the page polls it)."""
    job_id = jobs.current_job_id()
    record = session.get(Job, job_id) if job_id else None
    actor_id = record.created_by_id if record is not None else None
    last: list[Any] = [None]

    def stage(key: str, within: float = 0.0) -> None:
        state = progress_of(key, within)
        if job_id is not None and state != last[0]:
            last[0] = state
            # retrain() writes nothing before its last step: end this session's (read)
            # transaction first, which on SQLite holds the database's write lock.
            session.commit()
            jobs.report_progress(job_id, state)

    result = retrain(session, actor_id=actor_id, seed=seed, stage=stage)
    return {
        "model_version_id": result.model_version.id,
        "version": result.model_version.version,
        "rows": result.rows,
        "bads": result.bads,
        "holdout_rows": result.holdout_rows,
        "progress": {**progress_of("register", 1.0), "done": True},
    }


def retrain_status(job: Job) -> dict[str, Any]:
    """Return what the progress page shows of a retraining job (also its JSON)."""
    result = job.result or {}
    progress = result.get("progress") or (
        progress_of("collect") if job.state in ("queued", "running") else {}
    )
    if job.state == "queued":
        progress = {**progress, "percent": 0}
    return {
        "id": job.id,
        "state": job.state,
        "done": job.state in ("done", "failed"),
        "failed": job.state == "failed",
        "message": job.message if job.state == "failed" else "",
        "step": progress.get("step"),
        "index": progress.get("index", 0),
        "steps": len(STEPS),
        "percent": 100 if job.state == "done" else progress.get("percent", 0),
        "model_version_id": result.get("model_version_id"),
    }
