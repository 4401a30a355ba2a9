"""Credit models in the database: register, promote, load the champion, score applications."""

from __future__ import annotations

import base64
import tempfile
import threading
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import scoring
from finportal import jobs, limits
from finportal.domain.states import APPLICATION
from finportal.models import ModelVersion, utcnow
from finportal.services.audit import record_event
from finportal.services.errors import InvalidTransition, NotFound

_cache: dict[str, scoring.CreditModel] = {}
_cache_lock = threading.Lock()


def register_model(
    session: Session,
    model_dir: str | Path,
    *,
    actor_id: int | None,
    name: str,
    status: str = "challenger",
) -> ModelVersion:
    """Store a saved model directory (booster JSON, metadata, card) as a model version."""
    model = scoring.load_model(model_dir)
    existing = session.scalar(select(ModelVersion).where(ModelVersion.version == model.version))
    if existing is not None:
        return existing
    files = {p.name: _file_value(p.read_bytes()) for p in Path(model_dir).iterdir() if p.is_file()}
    card = dict(model.card)
    row = ModelVersion(
        version=model.version,
        name=name,
        status="challenger",
        synthetic=bool(card.get("synthetic", False)),
        files=files,
        card=card,
        card_markdown=model.card_markdown,
        created_by_id=actor_id,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="model.registered",
        object_type="model_version",
        object_id=row.id,
        to_state="challenger",
        data={"version": model.version},
    )
    if status == "champion":
        promote_model(session, row.id, actor_id=actor_id)
    return row


def promote_model(
    session: Session, model_version_id: int, *, actor_id: int | None, reason: str = ""
) -> ModelVersion:
    """Make a model version the champion; the previous champion retires (caller commits).

    A model whose card says a baseline beat it on the hold-out needs a written ``reason``.
    """
    from finportal.services.errors import Conflict

    row = session.get(ModelVersion, model_version_id)
    if row is None:
        raise NotFound.of("model_version")
    if ((row.card or {}).get("baseline_check") or {}).get("passed") is False and not reason.strip():
        raise Conflict(
            "该模型在留出样本上不如基准模型（逻辑回归或普通 XGBoost），如仍要启用，请填写理由。",
            "A baseline beat this model on the hold-out; give a reason to promote it anyway.",
        )
    if row.status == "champion":
        raise InvalidTransition("该模型已是当前使用的模型。", "This model is already the champion.")
    for old in session.scalars(select(ModelVersion).where(ModelVersion.status == "champion")):
        old.status = "retired"
        record_event(
            session,
            actor_id=actor_id,
            action="model.retired",
            object_type="model_version",
            object_id=old.id,
            from_state="champion",
            to_state="retired",
        )
    from_state = row.status
    row.status = "champion"
    row.promoted_at = utcnow()
    row.promoted_by_id = actor_id
    record_event(
        session,
        actor_id=actor_id,
        action="model.promoted",
        object_type="model_version",
        object_id=row.id,
        from_state=from_state,
        to_state="champion",
    )
    return row


def _file_value(raw: bytes) -> Any:
    """Return a model file as JSON-storable data: text, or base64 for binary (UBJSON) files."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode("ascii")}


def _file_bytes(value: Any) -> bytes:
    """Return the bytes of a stored model file (see :func:`_file_value`)."""
    if isinstance(value, dict):
        return base64.b64decode(value["base64"])
    return str(value).encode("utf-8")


def champion(session: Session) -> ModelVersion | None:
    """Return the active model version, if any."""
    return session.scalar(select(ModelVersion).where(ModelVersion.status == "champion"))


def load(row: ModelVersion) -> scoring.CreditModel:
    """Return the loaded model of a version (read once per process, then kept in memory).

    The stored files go to a private folder (mode 0700, a fresh name: another user of the
    machine cannot plant or read it) that is removed as soon as the model is read. A folder
    kept until exit would be left behind by every process that ends without running its exit
    handlers: each RQ job runs in a fork that leaves with ``os._exit``.
    """
    with _cache_lock:
        model = _cache.get(row.version)
        if model is not None:
            return model
        with tempfile.TemporaryDirectory(prefix="finportal-model-") as folder:
            for name, value in row.files.items():
                (Path(folder) / name).write_bytes(_file_bytes(value))
            model = scoring.load_model(folder)
        _cache[row.version] = model
        return model


def ensure_reference_model(session: Session, *, actor_id: int | None = None) -> ModelVersion:
    """Train the cold-start model on the synthetic reference data if no champion exists (commits)."""
    current = champion(session)
    if current is not None:
        return current
    row = register_model(
        session,
        reference_model_dir(),
        actor_id=actor_id,
        name="参考模型（合成数据）",
        status="champion",
    )
    session.commit()
    return row


#: The cold-start model depends on its seed only, so a process trains it once and keeps
#: the files while it runs (a database loaded anew — the demo again, a test — reuses them).
_REFERENCE_DIRS: dict[int, tempfile.TemporaryDirectory[str]] = {}


def reference_model_dir(seed: int = 0) -> str:
    """Return a folder with the reference model for ``seed``, trained at the first call."""
    held = _REFERENCE_DIRS.get(seed)
    if held is None:
        held = tempfile.TemporaryDirectory(prefix="finportal-reference-model-")
        scoring.train_reference_model(held.name, seed=seed)
        _REFERENCE_DIRS[seed] = held
    return held.name


def score_features(model: scoring.CreditModel, features: dict[str, float]) -> dict[str, Any]:
    """Score one feature row; return status, PD, score, grade, reasons and inputs as plain data.

    Values the model cannot use (outside the plausible range) are left out and reported
    rather than refused: a profile with one odd figure still gets a score that says so.
    """
    return model.score_one(features, strict=False).to_dict()


def _labelled(model: scoring.CreditModel, names: list[str]) -> list[dict[str, str]]:
    by_name = {f.name: f for f in model.features}
    return [
        {
            "feature": n,
            "label_zh": scoring.feature_label(by_name[n], "zh") if n in by_name else n,
            "label_en": scoring.feature_label(by_name[n], "en") if n in by_name else n,
        }
        for n in names
    ]


def score_details(model: scoring.CreditModel, result: dict[str, Any]) -> dict[str, Any]:
    """Return what to keep beside a score: missing inputs with labels, coercions, context."""
    return {
        "status": result["status"],
        "missing_inputs": _labelled(model, result["missing_inputs"]),
        "missing_required": _labelled(model, result["missing_required"]),
        "coerced": result["coerced"],
        "problems": result["problems"],
        "context": result["context"],
    }


def features_for(profile: dict[str, Any], request: dict[str, Any], today: date) -> dict[str, float]:
    """Return the platform feature row (NaN where the profile is silent)."""
    return scoring.platform_features(profile, request, today)


#: Applications whose feature snapshots the drift (PSI) compares with a model's training data:
#: a sample of ten bins of a hundred, the same whatever the number of applications on file.
DRIFT_SAMPLE = 1000


def recent_drift(
    session: Session, row: ModelVersion, *, limit: int = DRIFT_SAMPLE
) -> dict[str, Any] | None:
    """Return the PSI of recent applications' feature snapshots against a model's training data.

    The sample is the ``limit`` latest filed applications that were screened (newest keys
    first: the primary key's index gives them without sorting the table, which cost 100 ms at
    100,000 applications). Adds ``first_at`` and ``last_at``, the screening times the rows
    span; None when no application has been scored yet.
    """
    import pandas as pd

    from finportal.models import Application

    rows = session.execute(
        select(Application.feature_snapshot, Application.screened_at)
        .where(Application.screened_at.is_not(None))
        .order_by(Application.id.desc())
        .limit(limit)
    ).all()
    snapshots = [(s, at) for s, at in rows if s]
    if not snapshots:
        return None
    frame = pd.DataFrame.from_records([s for s, _ in snapshots]).apply(
        pd.to_numeric, errors="coerce"
    )
    report = scoring.drift_report(load(row), frame.astype(float))
    report["first_at"] = min(at for _, at in snapshots)
    report["last_at"] = max(at for _, at in snapshots)
    return report


#: Applications still being worked on get a fresh score when the champion changes.
RESCORE_STATES = APPLICATION.tagged("rescore")


def rescore_open_applications(session: Session, *, model_version_id: int) -> dict[str, Any]:
    """Score every open application again with a model, in one vectorised batch (a job).

    Each application keeps its feature snapshot: the new score says what the new model makes
    of the same facts, and the old scores stay for the record.
    """
    import math

    import pandas as pd

    from finportal.models import Application, CreditScore

    row = session.get(ModelVersion, model_version_id)
    if row is None:
        raise NotFound.of("model_version")
    model = load(row)
    skipped = 0
    applications = list(
        session.scalars(
            select(Application)
            .where(
                Application.state.in_(RESCORE_STATES),
                Application.feature_snapshot.is_not(None),
                # A second run (a retried job) scores nothing twice.
                ~select(CreditScore.id)
                .where(
                    CreditScore.application_id == Application.id,
                    CreditScore.model_version_id == row.id,
                )
                .exists(),
            )
            .order_by(Application.id)
        )
    )
    if applications:
        frame = pd.DataFrame(
            [
                {k: (math.nan if v is None else v) for k, v in a.feature_snapshot.items()}
                for a in applications
            ]
        )
        scored = model.score_many(frame, reasons=True, missing_ok=True)
        x = model.encoder.transform(frame, missing_ok=True)
        short = model.insufficient_rows(x)
        now = utcnow()
        for i, (application, (_, result)) in enumerate(
            zip(applications, scored.iterrows(), strict=True)
        ):
            missing = [n for j, n in enumerate(model.feature_names) if math.isnan(x[i, j])]
            required = [n for n in model.required if n in missing]
            if short[i]:
                skipped += 1  # too little to score: the previous score stays for the record
                continue
            session.add(
                CreditScore(
                    application_id=application.id,
                    model_version_id=row.id,
                    pd=float(result["pd"]),
                    score=int(result["score"]),
                    grade=str(result["grade"]),
                    reasons=list(result["reasons"]),
                    feature_snapshot=application.feature_snapshot,
                    details=score_details(
                        model,
                        {
                            "status": "scored",
                            "missing_inputs": missing,
                            "missing_required": required,
                            "coerced": [],
                            "problems": [],
                            "context": list(result["context"]),
                        },
                    ),
                    scored_at=now,
                )
            )
            application.model_version_id = row.id
    record_event(
        session,
        actor_id=None,
        action="model.rescored",
        object_type="model_version",
        object_id=row.id,
        reason=f"{len(applications) - skipped} open applications rescored"
        + (f", {skipped} with too little data" if skipped else ""),
        data={
            "version": row.version,
            "applications": len(applications),
            "insufficient_data": skipped,
        },
    )
    return {
        "rescored": len(applications) - skipped,
        "insufficient_data": skipped,
        "version": row.version,
    }


# -- champion and challenger ------------------------------------------------------------

#: How many of the most recent loan outcomes form the comparison hold-out.
RECENT_OUTCOMES = 1000


def promote_with_rescore(
    session: Session, model_version_id: int, *, actor_id: int | None, reason: str = ""
) -> ModelVersion:
    """Promote a model version (audited, with the admin's reason), commit, and rescore in a job.

    A model whose card says a baseline beat it on the hold-out is promoted only with a
    written reason, which the audit event keeps.
    """

    row = session.get(ModelVersion, model_version_id)
    if row is None:
        raise NotFound.of("model_version")
    check = (row.card or {}).get("baseline_check") or {}
    promote_model(session, model_version_id, actor_id=actor_id, reason=reason)
    if reason.strip():
        record_event(
            session,
            actor_id=actor_id,
            action="model.promotion_reason",
            object_type="model_version",
            object_id=row.id,
            reason=reason.strip(),
            data={"version": row.version, "baseline_check": check},
        )
    session.commit()
    jobs.enqueue(
        session,
        "rescore",
        actor_id=actor_id,
        object_type="model_version",
        object_id=row.id,
        model_version_id=row.id,
    )
    return row


def previous_champion(session: Session) -> ModelVersion | None:
    """Return the model that was champion before the current one (the rollback target)."""
    from finportal.models import AuditEvent

    current = champion(session)
    retired = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "model.retired")
        .order_by(AuditEvent.id.desc())
    )
    for event in retired:
        if event.object_id is not None and (current is None or event.object_id != current.id):
            return session.get(ModelVersion, event.object_id)
    return None


def rollback_model(session: Session, *, actor_id: int | None, reason: str) -> ModelVersion:
    """Make the previous champion the champion again (audited), and rescore open applications."""
    from finportal.services.errors import Conflict

    target = previous_champion(session)
    if target is None:
        raise Conflict("没有可恢复的上一个模型。", "There is no previous champion to restore.")
    if not reason.strip():
        raise Conflict("请填写恢复的理由。", "Give a reason for the rollback.")
    current = champion(session)
    record_event(
        session,
        actor_id=actor_id,
        action="model.rolled_back",
        object_type="model_version",
        object_id=target.id,
        from_state=target.status,
        to_state="champion",
        reason=reason.strip(),
        data={"from": current.version if current else None, "to": target.version},
    )
    return promote_with_rescore(session, target.id, actor_id=actor_id, reason=reason)


def compare_with_champion(
    session: Session, challenger_id: int, *, limit: int = RECENT_OUTCOMES
) -> dict[str, Any]:
    """Compare the champion and a challenger on the same most recent loan outcomes.

    Returns ``{"comparison": ..., "rows": n}``; ``comparison`` is None with fewer than
    ``scoring.records.MIN_BADS`` bad (or good) outcomes, or without a champion.
    """
    import numpy as np
    import pandas as pd

    from finportal.services.retraining import outcome_records
    from scoring.records import MIN_BADS

    row = session.get(ModelVersion, challenger_id)
    if row is None:
        raise NotFound.of("model_version")
    current = champion(session)
    records = sorted(
        outcome_records(session, newest=limit),
        key=lambda r: (r["scored_at"] is None, r["scored_at"], r["application_id"]),
    )
    bads = sum(r["bad"] for r in records)
    out: dict[str, Any] = {
        "rows": len(records),
        "bads": bads,
        "champion": current,
        "challenger": row,
        "comparison": None,
        "min_each": MIN_BADS,
    }
    if current is None or current.id == row.id or min(bads, len(records) - bads) < MIN_BADS:
        return out
    frame = pd.DataFrame.from_records([r["features"] for r in records])
    frame = frame.apply(pd.to_numeric, errors="coerce").astype(float)
    y = np.array([r["bad"] for r in records], dtype=np.int8)
    comparison = scoring.compare_on_holdout(load(current), load(row), frame, y)
    out["comparison"] = scoring.model.json_safe(comparison)
    return out


def fairness_monitor(session: Session) -> dict[str, Any]:
    """Calibration and approval rates of the latest scores by size class, street, first loan, industry.

    The street is the Minhang subdistrict or town (街道/镇) of the profile; firms without
    one are grouped by their district code. Worded in the current language.
    """
    return fairness_report(fairness_rows(session))


def fairness_rows(session: Session) -> list[dict[str, Any]]:
    """Read the monitor's rows: each scored application's latest PD, outcome, decision, groups.

    The part of :func:`fairness_monitor` that reads the database (every application's
    latest score: seconds at a district's scale), in no language, so that the periodic
    refresh reads it once and words the report in each language
    (``services/monitor_cache.py``).
    """
    import products
    from finportal.models import (
        Application,
        BankDecision,
        CreditScore,
        Enterprise,
        LoanOutcome,
        Referral,
    )
    from scoring.records import BAD_OUTCOMES, GOOD_OUTCOMES

    # The latest score of each application, joined in the database: a list of every scored
    # application's key as parameters broke past 65,535 applications (PostgreSQL's limit).
    latest = (
        select(func.max(CreditScore.id).label("score_id"))
        .group_by(CreditScore.application_id)
        .subquery()
    )
    # Only the profile columns the groups need: whole enterprises would also load each one's
    # memberships (one statement per 500 firms).
    scored = session.execute(
        select(
            Application.id,
            CreditScore.pd,
            Enterprise.industry_code,
            Enterprise.employees,
            Enterprise.revenue_last_year,
            Enterprise.total_assets,
            Enterprise.has_bank_loan_history,
            Enterprise.street,
            Enterprise.district_code,
        )
        .join(CreditScore, CreditScore.application_id == Application.id)
        .join(latest, latest.c.score_id == CreditScore.id)
        .join(Enterprise, Enterprise.id == Application.enterprise_id)
        .order_by(Application.id)
    ).all()
    if not scored:
        return []
    outcomes: dict[int, int] = {}
    for app_id, event in session.execute(
        select(Referral.application_id, LoanOutcome.event)
        .join(LoanOutcome, LoanOutcome.referral_id == Referral.id)
        .where(LoanOutcome.event.in_(sorted(BAD_OUTCOMES | GOOD_OUTCOMES)))
        .order_by(LoanOutcome.id)
    ):
        outcomes[app_id] = max(outcomes.get(app_id, 0), int(event in BAD_OUTCOMES))
    decisions: dict[int, int] = {}
    for app_id, decision in session.execute(
        select(Referral.application_id, BankDecision.decision)
        .join(BankDecision, BankDecision.referral_id == Referral.id)
        .where(BankDecision.decision.in_(("approved", "declined")))
        .order_by(BankDecision.id)
    ):
        decisions[app_id] = max(decisions.get(app_id, 0), int(decision == "approved"))
    rows = []
    sizes: dict[tuple[Any, ...], str | None] = {}  # a firm's applications share its profile
    for ent in scored:
        app_id = ent.id
        key = (ent.industry_code, ent.employees, ent.revenue_last_year, ent.total_assets)
        if key not in sizes:
            try:
                sizes[key] = products.size_class(*key).size_class
            except (ValueError, TypeError, KeyError):
                sizes[key] = None
        rows.append(
            {
                "pd": ent.pd,
                "bad": outcomes.get(app_id),
                "approved": decisions.get(app_id),
                "size_class": sizes[key],
                "street": ent.street,
                "district_code": ent.district_code,
                "first_borrower": (
                    None if ent.has_bank_loan_history is None else not ent.has_bank_loan_history
                ),
                "industry": ent.industry_code,
            }
        )
    return rows


def fairness_report(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Word :func:`fairness_rows` in the current language and compute the groups' figures."""
    import pandas as pd

    from scoring.monitor import approval_gaps, group_report

    if not rows:
        return {"rows": 0, "groups": {}, "alerts": [], "approval_gaps": {}}
    first_borrower = {
        True: limits.in_user_language("首贷户", "First-time borrower"),
        False: limits.in_user_language("有贷款记录", "Has borrowed before"),
        None: None,
    }
    worded = [
        {
            "pd": row["pd"],
            "bad": row["bad"],
            "approved": row["approved"],
            "size_class": row["size_class"],
            "street": row["street"]
            or limits.in_user_language(
                f"区划 {row['district_code'] or '—'}", f"District {row['district_code'] or '—'}"
            ),
            "first_borrower": first_borrower[row["first_borrower"]],
            "industry": row["industry"],
        }
        for row in rows
    ]
    frame = pd.DataFrame(worded).astype({"bad": "float", "approved": "float"})
    report = group_report(frame, ["size_class", "street", "first_borrower", "industry"])
    report["approval_gaps"] = approval_gaps(report)
    return scoring.model.json_safe(report)


@jobs.job("rescore")
def rescore(session: Session, *, model_version_id: int) -> dict[str, Any]:
    """Score the open applications again with a newly promoted model."""
    return rescore_open_applications(session, model_version_id=model_version_id)
