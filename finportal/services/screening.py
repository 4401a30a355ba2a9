"""Screening: match an application against the published catalogue and score it (a job)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, defer

import products
from finportal.jobs import job
from finportal.models import Application, CreditScore, Match, ModelVersion, utcnow
from finportal.services import catalog as catalog_service
from finportal.services import credit
from finportal.services.audit import record_event
from finportal.services.errors import NotFound, ServiceError
from finportal.services.lifecycle import transition
from finportal.services.profiles import application_request, submitted_profile
from finportal.services.workdays import SHANGHAI, deadline

ADVISOR_RESPONSE_WORKING_DAYS = 1  # DESIGN.md: advisor's first response within 1 working day


def _plain(value: float) -> float | None:
    return (
        None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
    )


def match_application(session: Session, application: Application, now: datetime) -> list[Match]:
    """Replace the application's matches with a fresh match against the current catalogue."""
    cat, versions = catalog_service.current_catalog(session)
    lpr = catalog_service.current_lpr(session, now.astimezone(SHANGHAI).date())
    profile = submitted_profile(application)
    request = application_request(application)
    results = products.match_one(
        cat, profile, request, lpr=lpr, today=now.astimezone(SHANGHAI).date()
    )
    session.execute(delete(Match).where(Match.application_id == application.id))
    rows = []
    rank = 0
    for result in results:
        data = result.to_dict()
        if result.eligible:
            rank += 1
        row = Match(
            application_id=application.id,
            product_version_id=versions[result.product.code].id,
            eligible=result.eligible,
            rank=rank if result.eligible else None,
            conditions=data["conditions"],
            quote=data.get("quote")
            or ({"error": result.quote_error} if result.quote_error else None),
        )
        session.add(row)
        rows.append(row)
    chosen = application.product.code if application.product is not None else None
    if chosen and chosen in versions:
        application.product_version_id = versions[chosen].id
    else:
        best = next((r for r in results if r.eligible), None)
        application.product_version_id = versions[best.product.code].id if best else None
    return rows


def score_application(
    session: Session, application: Application, now: datetime
) -> CreditScore | None:
    """Score the application with the champion model and pin the model and the features used.

    When the model finds too little to score (a required input missing, or fewer inputs
    than it needs), no score is stored: an audit event ``score.insufficient_data`` records
    which inputs were missing, and the advisor sees them on the review page.
    """
    row: ModelVersion | None = credit.champion(session)
    if row is None:
        raise ServiceError(
            "没有启用的评分模型，请管理员先启用一个模型。", "No active credit model."
        )
    model = credit.load(row)
    profile = submitted_profile(application)
    request = application_request(application)
    features = credit.features_for(profile, request, now.astimezone(SHANGHAI).date())
    snapshot = {name: _plain(value) for name, value in features.items()}
    result = credit.score_features(model, features)
    application.model_version_id = row.id
    application.feature_snapshot = snapshot
    details = credit.score_details(model, result)
    if result["status"] != "scored":
        record_event(
            session,
            actor_id=None,
            action="score.insufficient_data",
            object_type="application",
            object_id=application.id,
            reason="资料不足，未评分 / insufficient data, not scored",
            data={"version": row.version, **details},
        )
        return None
    score = CreditScore(
        application_id=application.id,
        model_version_id=row.id,
        pd=float(result["pd"]),
        score=int(result["score"]),
        grade=str(result["grade"]),
        reasons=result["reasons"],
        feature_snapshot=snapshot,
        details=details,
        scored_at=now,
    )
    session.add(score)
    return score


@job("screen_application")
def screen_application(session: Session, *, application_id: int) -> dict[str, Any]:
    """Match and score a submitted application; a second run changes nothing (idempotent)."""
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound.of("application")
    if application.state != "submitted":
        return {"skipped": application.state}
    now = utcnow()
    matches = match_application(session, application, now)
    score = score_application(session, application, now)
    application.screened_at = now
    if application.first_response_due_at is None:
        application.first_response_due_at = deadline(session, now, ADVISOR_RESPONSE_WORKING_DAYS)
    # else: a resubmission after a return, whose clock resumed with the time it had left
    # (services/deadlines.py).
    transition(
        session,
        application,
        "screened",
        by="system",
        actor_id=None,
        reason="自动初筛：匹配与评分完成",
    )
    return {
        "eligible": sum(1 for m in matches if m.eligible),
        "products": len(matches),
        "grade": score.grade if score is not None else None,
        "score": score.score if score is not None else None,
    }


def latest_scores(session: Session, application_ids: Sequence[int]) -> dict[int, CreditScore]:
    """Return the newest credit score of each application, in one query."""
    if not application_ids:
        return {}
    latest: dict[int, CreditScore] = {}
    for row in session.scalars(
        select(CreditScore)
        .where(CreditScore.application_id.in_(application_ids))
        .order_by(CreditScore.application_id, CreditScore.id)
    ):
        latest[row.application_id] = row
    return latest


def _latest_score(application_id: int) -> Any:
    return (
        select(CreditScore)
        .where(CreditScore.application_id == application_id)
        .order_by(CreditScore.id.desc())
        .limit(1)
    )


def latest_score(session: Session, application_id: int) -> CreditScore | None:
    """Return the newest credit score of an application."""
    return session.scalar(_latest_score(application_id))


def latest_score_and_model(
    session: Session, application_id: int
) -> tuple[CreditScore | None, ModelVersion | None]:
    """Return the newest credit score of an application and its model, in one statement.

    The model's card stays unread (a page beside a score shows the version and whether it
    was trained on synthetic data, never the card).
    """
    row = session.execute(
        _latest_score(application_id)
        .add_columns(ModelVersion)
        .outerjoin(ModelVersion, ModelVersion.id == CreditScore.model_version_id)
        .options(defer(ModelVersion.card), defer(ModelVersion.card_markdown))
    ).first()
    if row is None:
        return None, None
    return row[0], row[1]
