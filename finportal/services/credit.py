"""Credit models in the database: register, promote, load the champion, score applications."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import scoring
from finportal.models import ModelVersion, utcnow
from finportal.services.audit import record_event
from finportal.services.errors import InvalidTransition, NotFound

_cache: dict[str, scoring.CreditModel] = {}
_cache_lock = threading.Lock()
_private_dir: list[Path] = []


def _model_cache_dir() -> Path:
    """Return this process's own folder for model files (mode 0700, removed at exit).

    Never a fixed name in the shared temporary folder: another user of the machine could
    create it first and have the portal load a model of theirs, or read ours.
    """
    if not _private_dir:
        path = Path(tempfile.mkdtemp(prefix="finportal-models-"))
        atexit.register(shutil.rmtree, path, ignore_errors=True)
        _private_dir.append(path)
    return _private_dir[0]


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
    files = {
        p.name: p.read_text(encoding="utf-8") for p in Path(model_dir).iterdir() if p.is_file()
    }
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


def promote_model(session: Session, model_version_id: int, *, actor_id: int | None) -> ModelVersion:
    """Make a model version the champion; the previous champion retires (caller commits)."""
    row = session.get(ModelVersion, model_version_id)
    if row is None:
        raise NotFound("模型版本不存在。", "No such model version.")
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


def champion(session: Session) -> ModelVersion | None:
    """Return the active model version, if any."""
    return session.scalar(select(ModelVersion).where(ModelVersion.status == "champion"))


def load(row: ModelVersion, cache_dir: str | None = None) -> scoring.CreditModel:
    """Return the loaded model of a version (written to a folder once, then cached in memory)."""
    with _cache_lock:
        model = _cache.get(row.version)
        if model is not None:
            return model
        base = (Path(cache_dir) if cache_dir else _model_cache_dir()) / row.version
        base.mkdir(parents=True, exist_ok=True)
        for name, text in row.files.items():
            target = base / name
            if not target.exists():
                target.write_text(text, encoding="utf-8")
        model = scoring.load_model(base)
        _cache[row.version] = model
        return model


def ensure_reference_model(
    session: Session, *, actor_id: int | None = None, cache_dir: str | None = None
) -> ModelVersion:
    """Train the cold-start model on the synthetic reference data if no champion exists (commits)."""
    current = champion(session)
    if current is not None:
        return current
    with tempfile.TemporaryDirectory() as tmp:
        scoring.train_reference_model(tmp, seed=0)
        row = register_model(
            session, tmp, actor_id=actor_id, name="参考模型（合成数据）", status="champion"
        )
    session.commit()
    return row


def score_features(model: scoring.CreditModel, features: dict[str, float]) -> dict[str, Any]:
    """Score one feature row; return PD, score, grade and reasons as plain data."""
    return model.score_one(features).to_dict()


def features_for(profile: dict[str, Any], request: dict[str, Any], today: date) -> dict[str, float]:
    """Return the platform feature row (NaN where the profile is silent)."""
    return scoring.platform_features(profile, request, today)


def recent_drift(
    session: Session, row: ModelVersion, *, limit: int = 1000
) -> dict[str, Any] | None:
    """Return the PSI of recent applications' feature snapshots against a model's training data.

    Adds ``first_at`` and ``last_at``, the screening times the rows span; None when no
    application has been scored yet.
    """
    import pandas as pd

    from finportal.models import Application

    rows = session.execute(
        select(Application.feature_snapshot, Application.screened_at)
        .where(Application.screened_at.is_not(None))
        .order_by(Application.screened_at.desc())
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
RESCORE_STATES = ("screened", "in_review", "returned")


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
        raise NotFound("模型版本不存在。", "No such model version.")
    model = load(row)
    applications = list(
        session.scalars(
            select(Application)
            .where(Application.state.in_(RESCORE_STATES), Application.feature_snapshot.is_not(None))
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
        now = utcnow()
        for application, (_, result) in zip(applications, scored.iterrows(), strict=True):
            session.add(
                CreditScore(
                    application_id=application.id,
                    model_version_id=row.id,
                    pd=float(result["pd"]),
                    score=int(result["score"]),
                    grade=str(result["grade"]),
                    reasons=list(result["reasons"]),
                    feature_snapshot=application.feature_snapshot,
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
        reason=f"{len(applications)} open applications rescored",
        data={"version": row.version, "applications": len(applications)},
    )
    return {"rescored": len(applications), "version": row.version}
