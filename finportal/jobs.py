"""Background jobs behind one small interface.

``enqueue`` stores a :class:`~finportal.models.Job` and runs it: in a thread of this
process (the embedded default), at once (``eager``, for tests and the CLI), or on RQ
workers when Redis is configured. A job function takes the session and its keyword
arguments and returns a JSON-able result; it runs in one transaction, so a failed job
leaves nothing half-written, only its own state ``failed`` with the message.
"""

from __future__ import annotations

import importlib
import logging
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session

from finportal.extensions import db
from finportal.models import Job, utcnow
from finportal.services.errors import ServiceError

log = logging.getLogger(__name__)

#: Registered job kinds: name -> "module:function".
JOB_KINDS: dict[str, str] = {}

_executor: ThreadPoolExecutor | None = None


def job(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as the job of a kind."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        JOB_KINDS[kind] = f"{func.__module__}:{func.__name__}"
        return func

    return decorate


def _resolve(kind: str) -> Callable[..., Any]:
    target = JOB_KINDS.get(kind)
    if target is None:
        # Job modules register on import; make sure the known ones are loaded.
        importlib.import_module("finportal.services.tasks")
        target = JOB_KINDS[kind]
    module, name = target.split(":")
    func: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return func


def enqueue(
    session: Session,
    kind: str,
    *,
    actor_id: int | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    **kwargs: Any,
) -> Job:
    """Store a queued job, commit, and hand it to the configured runner."""
    record = Job(
        id=str(uuid.uuid4()),
        kind=kind,
        state="queued",
        args=kwargs,
        object_type=object_type,
        object_id=object_id,
        created_by_id=actor_id,
    )
    session.add(record)
    session.commit()
    dispatch(record.id)
    return record


def dispatch(job_id: str) -> None:
    """Run a stored job the way the application is configured to."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    mode = app.config["JOBS_MODE"]
    if mode == "eager":
        run_job(job_id)
    elif mode == "rq":
        from redis import Redis
        from rq import Queue

        queue = Queue("finportal", connection=Redis.from_url(app.config["REDIS_URL"]))
        queue.enqueue("finportal.jobs.run_job_in_worker", job_id, job_timeout=3600)
    else:
        _thread_executor().submit(_run_in_app, app, job_id)


def _thread_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="finportal-job")
    return _executor


def _run_in_app(app: Flask, job_id: str) -> None:
    with app.app_context():
        try:
            run_job(job_id)
        finally:
            db.session.remove()


def run_job(job_id: str) -> Job:
    """Run one job in the current application context and record how it ended."""
    session = db.session
    record = session.get(Job, job_id)
    if record is None:
        raise LookupError(f"job {job_id} not found")
    if record.state not in ("queued", "failed"):
        return record
    record.state = "running"
    record.started_at = utcnow()
    session.commit()
    try:
        result = _resolve(record.kind)(session, **record.args)
        session.commit()
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job
        session.rollback()
        record = session.get(Job, job_id)
        assert record is not None
        record.state = "failed"
        if isinstance(exc, ServiceError):
            record.message = exc.message_zh
        else:
            record.message = f"{type(exc).__name__}: {exc}"
            log.error("job %s (%s) failed\n%s", job_id, record.kind, traceback.format_exc())
        record.finished_at = utcnow()
        session.commit()
        return record
    record.state = "done"
    record.result = result if isinstance(result, dict) else {"value": result}
    record.finished_at = utcnow()
    session.commit()
    return record


def run_job_in_worker(job_id: str) -> None:
    """Entry point for RQ workers: build the app from the environment and run the job."""
    from finportal import create_app

    app = create_app()
    with app.app_context():
        try:
            run_job(job_id)
        finally:
            db.session.remove()


def init_app(app: Flask) -> None:
    """Check the job configuration."""
    if app.config["JOBS_MODE"] == "rq" and not app.config.get("REDIS_URL"):
        raise RuntimeError("FINPORTAL_JOBS_MODE=rq needs FINPORTAL_REDIS_URL")
