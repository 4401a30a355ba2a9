"""Job functions registered by name; each runs in one transaction (see finportal.jobs)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from finportal.jobs import job
from finportal.services.errors import ServiceError


@job("selftest")
def selftest(session: Session, *, fail: bool = False, note: str = "") -> dict[str, Any]:
    """Check the job machinery end to end; with ``fail`` it raises after writing."""
    from finportal.services.audit import record_event

    record_event(
        session,
        actor_id=None,
        action="job.selftest",
        object_type="job",
        object_id=None,
        reason=note,
    )
    session.flush()
    if fail:
        raise ServiceError("自检任务按要求失败。", "The self-test job failed as asked.")
    return {"note": note}
