"""Administration of credit models: the list, one version, promotion (with rescoring)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal.models import (
    ModelVersion,
)
from finportal.services import credit
from finportal.services.errors import NotFound


def list_models(session: Session) -> list[ModelVersion]:
    """Return the model versions: the champion first, then newest first."""
    rows = list(session.scalars(select(ModelVersion).order_by(ModelVersion.created_at.desc())))
    return sorted(rows, key=lambda r: r.status != "champion")


def get_model(session: Session, model_version_id: int) -> ModelVersion:
    """Return one model version."""
    row = session.get(ModelVersion, model_version_id)
    if row is None:
        raise NotFound.of("model_version")
    return row


def promote_model(
    session: Session, model_version_id: int, *, actor_id: int | None, reason: str = ""
) -> ModelVersion:
    """Make a model version the champion (commits), then rescore open applications in a job."""
    return credit.promote_with_rescore(session, model_version_id, actor_id=actor_id, reason=reason)
