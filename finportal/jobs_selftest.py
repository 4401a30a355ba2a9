"""The self-test job: checks the job machinery end to end (``flask jobs`` and the tests)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from finportal.jobs import job
from finportal.services.errors import ServiceError


@job("selftest")
def selftest(
    session: Session, *, fail: bool = False, note: str = "", fail_attempts: int = 0
) -> dict[str, Any]:
    """Check the job machinery end to end; with ``fail`` it raises after writing.

    ``fail_attempts`` makes its first attempts fail as a passing fault would (a lost
    connection), to check retries: the job succeeds on attempt ``fail_attempts + 1``.
    """
    from finportal.jobs import current_job_id
    from finportal.models import Job
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
    job_id = current_job_id()
    attempt = session.get(Job, job_id).attempts if job_id else 1
    if attempt <= fail_attempts:
        raise ConnectionError(f"selftest: simulated passing fault on attempt {attempt}")
    return {"note": note}
