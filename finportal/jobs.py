"""Background jobs behind one small interface, with retries, a sweep and periodic tasks.

``enqueue`` stores a :class:`~finportal.models.Job` (the record of truth, in the database)
and hands it to a runner: a thread of this process (the embedded default), at once
(``eager``, for tests and the CLI), or RQ workers when Redis is configured. When Redis
cannot be reached the job runs in a thread of this process instead, so nothing waits on a
dead queue; the stored job is the durable part either way.

A job function takes the session and its keyword arguments and returns a JSON-able result;
it runs in one transaction, so a failed attempt leaves nothing half-written.

- **Claimed once.** A runner claims a job with one guarded UPDATE (queued -> running), so
  two deliveries of the same job (a retry racing a sweep, Redis redelivering) run it once.
- **Retries with backoff.** An attempt that fails for a passing reason (any exception but a
  :class:`~finportal.services.errors.ServiceError`, which is a refusal and final) is queued
  again after ``BACKOFF[attempt]`` seconds until the kind's ``attempts`` are used up; then
  the job is ``failed`` and shows in the admin's dead-letter list (``/admin/jobs``) with a
  retry button.
- **Sweep.** A worker killed mid-job leaves its job ``running``: :func:`sweep` (a periodic
  task) finds jobs whose runner process is gone (or whose time ran out) and jobs queued but
  lost (Redis restarted, or the process that ran it in a thread died), and queues them again.
- **Periodic tasks.** :data:`PERIODIC` lists them; ``flask --app wsgi jobs scheduler`` runs
  RQ's own cron scheduler (``rq.cron``) to enqueue each at its interval, and
  ``flask --app wsgi jobs tick`` runs them once (for cron in the embedded setup).
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from finportal import audit_queue
from finportal.extensions import db
from finportal.models import Job, utcnow
from finportal.observability import current_job as _current_job
from finportal.services.errors import ServiceError

log = logging.getLogger(__name__)

#: The RQ queue of the portal's jobs.
QUEUE = "finportal"
#: Seconds to wait before the 2nd, 3rd, ... attempt.
BACKOFF = (10, 60, 300, 900)
#: Attempts a job kind gets unless it says otherwise.
DEFAULT_ATTEMPTS = 3
#: Seconds a job may run before it is presumed dead (and RQ's limit on it).
DEFAULT_TIMEOUT = 600
#: A queued job that no runner took within this many seconds is handed out again.
LOST_AFTER = 120


@dataclass(frozen=True)
class Kind:
    """A registered job kind: its function, how often it may be tried, and its time limit."""

    target: str
    attempts: int = DEFAULT_ATTEMPTS
    timeout: int = DEFAULT_TIMEOUT


#: Registered job kinds.
JOB_KINDS: dict[str, Kind] = {}
#: The modules whose job functions register themselves with :func:`job`, beside their
#: domain code. They are imported when the app starts (and by a worker looking up a kind),
#: never when this module is imported, so no service importing ``jobs`` makes a cycle.
JOB_MODULES = (
    "finportal.jobs_selftest",
    "finportal.services.screening",
    "finportal.services.packets",
    "finportal.services.batch_packets",
    "finportal.services.catalog",
    "finportal.services.credit",
    "finportal.services.outbox",  # issue 15: e-mail, SMS and WeChat delivery
    "finportal.services.push",  # wip-13p: 政策找企业 and 申报提醒
    "finportal.services.public_data.imports",  # issue 14: 无感核查 file and API imports
    "finportal.services.retraining",  # issue 16: retraining from the admin's page
    "finportal.services.monitor_cache",  # issue 12: the fairness monitor's snapshot
)

_executor: ThreadPoolExecutor | None = None
#: The application a ``flask jobs worker`` process built once (its forked job processes reuse it).
_worker_app: Flask | None = None
_worker_pid: int | None = None


def job(
    kind: str, *, attempts: int = DEFAULT_ATTEMPTS, timeout: int = DEFAULT_TIMEOUT
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as the job of a kind (tried up to ``attempts`` times)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        JOB_KINDS[kind] = Kind(f"{func.__module__}:{func.__name__}", attempts, timeout)
        return func

    return decorate


def load_job_modules() -> None:
    """Import every module of :data:`JOB_MODULES`, so each registers its jobs."""
    for module in JOB_MODULES:
        importlib.import_module(module)


def kind_of(name: str) -> Kind:
    """Return a registered kind (job modules register on import)."""
    if name not in JOB_KINDS:
        load_job_modules()
    return JOB_KINDS[name]


def _resolve(kind: str) -> Callable[..., Any]:
    module, name = kind_of(kind).target.split(":")
    func: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return func


def current_job_id() -> str | None:
    """Return the id of the job running in this context (for log lines)."""
    return _current_job.get()


def runner_name() -> str:
    """Return this process's name as a job runner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


# --- enqueue and dispatch ----------------------------------------------------------------


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
    dispatch(record.id, kind=kind)
    return record


def redis_connection(app: Flask) -> Any:
    """Return the app's Redis client (short timeouts: a dead Redis must not hang a request)."""
    client = app.extensions.get("finportal_redis")
    if client is None:
        from redis import Redis

        client = Redis.from_url(
            app.config["REDIS_URL"],
            socket_connect_timeout=1,
            socket_timeout=3,
            health_check_interval=30,
        )
        app.extensions["finportal_redis"] = client
    return client


def _queue(app: Flask) -> Any:
    from rq import Queue

    return Queue(QUEUE, connection=redis_connection(app))


def dispatch(
    job_id: str, delay: float = 0, kind: str | None = None, fallback: str = "thread"
) -> None:
    """Run a stored job the way the application is configured to (after ``delay`` seconds).

    Without Redis the job runs in a thread of this process, or at once with
    ``fallback="eager"`` (a short-lived command would end before its thread).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    mode = app.config["JOBS_MODE"]
    if mode == "eager":
        run_job(job_id)
        return
    if mode == "rq":
        from redis.exceptions import RedisError

        timeout = kind_of(kind).timeout if kind else DEFAULT_TIMEOUT
        try:
            queue = _queue(app)
            options = {"job_id": job_id, "job_timeout": timeout, "result_ttl": 3600}
            if delay:
                queue.enqueue_in(
                    timedelta(seconds=delay), "finportal.jobs.run_job_in_worker", job_id, **options
                )
            else:
                queue.enqueue("finportal.jobs.run_job_in_worker", job_id, **options)
            return
        except RedisError as exc:
            # The job is stored; run it here rather than wait for Redis to come back.
            log.warning("Redis unreachable (%s): job %s runs in this process", exc, job_id)
            if fallback == "eager":
                run_job(job_id)
                return
    _in_thread(app, job_id, delay)


def _in_thread(app: Flask, job_id: str, delay: float) -> None:
    if delay:
        timer = threading.Timer(delay, _in_thread, (app, job_id, 0))
        timer.daemon = True
        timer.start()
        return
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
        except Exception:  # noqa: BLE001 - a thread has nobody to raise to
            log.exception("job %s could not be run", job_id)
        finally:
            db.session.remove()


# --- running -----------------------------------------------------------------------------


def _claim(session: Session, job_id: str) -> bool:
    """Move the job from queued to running, unless another runner already did."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == "queued")
        .values(
            state="running",
            started_at=utcnow(),
            finished_at=None,
            attempts=Job.attempts + 1,
            runner=runner_name(),
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount)


def run_job(job_id: str) -> Job:
    """Run one attempt of a job in the current application context and record how it ended."""
    from finportal.observability import JOB_LATENCY, JOB_RUNS

    session = db.session
    if session.get(Job, job_id) is None:
        raise LookupError(f"job {job_id} not found")
    if not _claim(session, job_id):
        session.expire_all()
        record = session.get(Job, job_id)
        assert record is not None
        return record  # done, failed, or running elsewhere
    session.expire_all()
    record = session.get(Job, job_id)
    assert record is not None
    kind = record.kind
    token = _current_job.set(job_id)
    started = time.perf_counter()
    try:
        result = _resolve(kind)(session, **record.args)
        session.commit()
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job
        session.rollback()
        JOB_LATENCY.labels(kind).observe(time.perf_counter() - started)
        return _failed(session, job_id, exc)
    finally:
        _current_job.reset(token)
    JOB_LATENCY.labels(kind).observe(time.perf_counter() - started)
    JOB_RUNS.labels(kind, "done").inc()
    record = session.get(Job, job_id)
    assert record is not None
    record.state = "done"
    record.message = ""
    record.result = result if isinstance(result, dict) else {"value": result}
    record.finished_at = utcnow()
    record.runner = None
    session.commit()
    return record


def report_progress(job_id: str, progress: dict[str, Any]) -> None:
    """Record a running job's progress in its own short transaction, so pages see it at once.

    The job's own session may be in the middle of its work; this writes through another
    session (and connection), and only while the job is running.
    """
    with db._new_session() as other:
        other.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "running")
            .values(result={"progress": progress})
            .execution_options(synchronize_session=False)
        )
        other.commit()


def _failed(session: Session, job_id: str, exc: Exception) -> Job:
    """Record a failed attempt: queue a retry after its backoff, or fail the job for good."""
    from finportal.observability import JOB_RUNS

    record = session.get(Job, job_id)
    assert record is not None
    final = isinstance(exc, ServiceError)
    if final:
        message = exc.message_zh  # type: ignore[attr-defined]
    else:
        message = f"{type(exc).__name__}: {exc}"
        log.error("job %s (%s) failed\n%s", job_id, record.kind, traceback.format_exc())
    attempts = kind_of(record.kind).attempts
    record.runner = None
    if not final and record.attempts < attempts:
        delay = BACKOFF[min(record.attempts, len(BACKOFF)) - 1]
        record.state = "queued"
        record.message = (
            f"第 {record.attempts} 次尝试失败，{delay} 秒后重试 / attempt {record.attempts} "
            f"of {attempts} failed, retrying in {delay} s: {message}"
        )
        session.commit()
        JOB_RUNS.labels(record.kind, "retry").inc()
        if current_app.config["JOBS_MODE"] == "eager":
            return run_job(job_id)  # tests and the CLI retry at once
        dispatch(job_id, delay, kind=record.kind)
        return record
    record.state = "failed"
    record.message = message
    record.finished_at = utcnow()
    session.commit()
    JOB_RUNS.labels(record.kind, "failed").inc()
    return record


def retry(session: Session, job_id: str, *, actor_id: int | None) -> Job:
    """Queue a failed job again with fresh attempts (the admin's retry button; commits)."""
    from finportal.services.audit import record_event
    from finportal.services.errors import InvalidTransition, NotFound

    record = session.get(Job, job_id)
    if record is None:
        raise NotFound.of("job")
    if record.state != "failed":
        raise InvalidTransition("只有失败的任务可以重试。", "Only a failed job can be retried.")
    record.state = "queued"
    record.attempts = 0
    record.finished_at = None
    record_event(
        session,
        actor_id=actor_id,
        action="job.retried",
        object_type="job",
        object_id=None,
        reason=f"{record.kind} {record.id}",
        data={"job_id": record.id, "kind": record.kind, "message": record.message},
    )
    record.message = ""
    session.commit()
    dispatch(record.id, kind=record.kind)
    return record


def _worker_application() -> Flask:
    """Return the worker's application, built once per worker process."""
    global _worker_app, _worker_pid
    if _worker_app is None:
        from finportal import create_app

        _worker_app = create_app()
        _worker_pid = os.getpid()
    return _worker_app


def _forked_check() -> None:
    global _worker_pid
    if _worker_pid != os.getpid():
        # A forked job process: never share the parent's database connections.
        db.engine.dispose(close=False)
        _worker_pid = os.getpid()


def run_job_in_worker(job_id: str) -> None:
    """Entry point for RQ workers: run the job in the worker's application."""
    with _worker_application().app_context():
        _forked_check()
        try:
            run_job(job_id)
        finally:
            db.session.remove()


# --- the sweep and periodic tasks --------------------------------------------------------


def _process_alive(runner: str | None) -> bool | None:
    """Tell whether the runner process lives (None when it ran on another host)."""
    if not runner or ":" not in runner:
        return None
    host, _, pid = runner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _rq_held(app: Flask) -> set[str] | None:
    """Return the ids RQ holds for a runner: waiting in the queue or scheduled for a retry.

    A job a worker popped but never claimed (the worker died, or lost Redis, first) is in
    neither, even when RQ's own record of it still says "queued" or "started". None when
    Redis cannot be reached.
    """
    from redis.exceptions import RedisError

    try:
        queue = _queue(app)
        return set(queue.get_job_ids()) | set(queue.scheduled_job_registry.get_job_ids())
    except RedisError:
        return None


def sweep(
    session: Session, *, now: Any = None, lost_after: int = LOST_AFTER, fallback: str = "thread"
) -> dict[str, int]:
    """Queue again the jobs whose runner died and the queued jobs no runner holds."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    now = now or utcnow()
    requeued = failed = redispatched = 0
    running = session.scalars(select(Job).where(Job.state == "running").order_by(Job.created_at))
    for record in list(running):
        timeout = kind_of(record.kind).timeout if record.kind in JOB_KINDS else DEFAULT_TIMEOUT
        alive = _process_alive(record.runner)
        started = record.started_at or record.created_at
        expired = started < now - timedelta(seconds=timeout + 60)
        if alive or (alive is None and not expired):
            continue
        stuck = session.execute(
            update(Job)
            .where(Job.id == record.id, Job.state == "running", Job.runner == record.runner)
            .values(runner=None, state="queued", message="工作进程中断，重新排队 / worker died")
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if not stuck.rowcount:
            continue
        session.refresh(record)
        if record.attempts >= kind_of(record.kind).attempts:
            record.state = "failed"
            record.message = "工作进程多次中断 / the worker died on every attempt"
            record.finished_at = now
            session.commit()
            failed += 1
        else:
            dispatch(record.id, kind=record.kind, fallback=fallback)
            requeued += 1
    cutoff = now - timedelta(seconds=lost_after)
    queued = session.execute(
        select(Job.id, Job.kind)
        .where(Job.state == "queued", Job.created_at < cutoff)
        .order_by(Job.created_at)
        .limit(1000)
    ).all()
    session.commit()  # end the read: on SQLite a runner thread needs the write lock
    held = _rq_held(app) if app.config["JOBS_MODE"] == "rq" and queued else None
    for job_id, kind in queued:
        if held is not None and job_id in held:
            continue
        dispatch(job_id, kind=kind, fallback=fallback)
        redispatched += 1
    result = {"requeued": requeued, "failed": failed, "redispatched": redispatched}
    if any(result.values()):
        log.warning("job sweep: %s", result)
    return result


def _escalate_needs(session: Session) -> Any:
    """Hand the demand board's needs past their claim clock to the advisors (issue 15)."""
    from finportal.services.needs import escalate_unclaimed

    return escalate_unclaimed(session)


def _refresh_dashboard(session: Session) -> Any:
    from finportal.services import dashboard_cache  # imports services that import jobs

    return dashboard_cache.refresh(session)


def _refresh_monitor(session: Session) -> Any:
    """Recompute the credit model's fairness monitor when due (``services/monitor_cache.py``)."""
    from finportal.services import monitor_cache  # imports services that import jobs

    return monitor_cache.periodic(session, interval=PERIODIC["monitor_refresh"][1])


def _escalations(session: Session) -> Any:
    # issue 15: the escalation ladder (预警) and unrated complaints; imported here, not at
    # the top, so that no service importing ``jobs`` makes a cycle.
    from finportal.services.escalation import escalation_task

    return escalation_task(session)


# issue 15: the outbox's delivery and the daily digest (imported when run: no import cycle).
def outbox_deliver(session: Session) -> Any:
    """Send the outbox's due messages (``services/outbox.py``)."""
    from finportal.services import outbox

    return outbox.deliver_due(session)


def notification_digest(session: Session) -> Any:
    """Gather the daily digests once their hour has come (``services/outbox.py``)."""
    from finportal.services import outbox

    return outbox.build_digests(session)


def _audit_queue(session: Session) -> Any:
    """Write the audit events waiting in Redis to the trail (``finportal/audit_queue.py``)."""
    queue = audit_queue.of(current_app)
    return {"written": queue.drain(session) if queue is not None else 0}


def _policy_push(session: Session) -> Any:
    """Queue the hourly 政策找企业 push and deadline reminders (services/push.py)."""
    from finportal.services import push

    return push.periodic(session)


def _maturity_reminders(session: Session) -> Any:
    """Send the maturity reminders due today (issue 13; imported here to keep no cycle)."""
    from finportal.services.reminders import periodic

    return periodic(session)


#: Periodic tasks: name -> (function taking the session, interval in seconds).
PERIODIC: dict[str, tuple[Callable[[Session], Any], int]] = {
    "jobs_sweep": (sweep, 60),
    # Repeated referral views reach the trail within these seconds.
    "audit_queue": (_audit_queue, audit_queue.DRAIN_SECONDS),
    # Below the page's DASHBOARD_MAX_AGE_SECONDS (300), so readers never compute it.
    "dashboard_refresh": (_refresh_dashboard, 240),
    # issue 12: the fairness monitor reads every latest score (seconds); its figures move
    # slowly. Below the page's MONITOR_MAX_AGE_SECONDS (a day), so readers never compute it.
    "monitor_refresh": (_refresh_monitor, 3600),
    "needs_escalate": (_escalate_needs, 300),  # demand board (issue 15)
    "escalations": (_escalations, 3600),  # issue 15: idempotent, safe every hour
    "outbox_deliver": (outbox_deliver, 30),  # issue 15
    "notification_digest": (notification_digest, 900),  # issue 15
    "policy_push": (_policy_push, 3600),  # wip-13p
    # 到期提醒 and the renewal pre-check (issue 13): idempotent, so hourly is safe.
    "maturity_reminders": (_maturity_reminders, 3600),
}


def run_periodic(name: str) -> Any:
    """Entry point for RQ: run one periodic task in the worker's application."""
    with _worker_application().app_context():
        _forked_check()
        try:
            return PERIODIC[name][0](db.session)
        finally:
            db.session.remove()


# --- counts for metrics and the admin ----------------------------------------------------


def state_counts() -> dict[str, int]:
    """Return {state: number of jobs} from the database."""
    rows = db.session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    return {state: int(count) for state, count in rows}


def queue_depths() -> dict[str, int]:
    """Return the RQ queue's waiting, scheduled, running and failed counts (empty without Redis)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        return {}
    queue = _queue(app)
    return {
        "queued": queue.count,
        "scheduled": queue.scheduled_job_registry.count,
        "started": queue.started_job_registry.count,
        "failed": queue.failed_job_registry.count,
    }


JOB_STATES = ("failed", "queued", "running", "done")


def list_jobs(
    session: Session, *, state: str = "failed", kind: str = "", page: int = 1, per_page: int = 50
) -> Any:
    """Return one page of jobs in a state (newest first); ``failed`` is the dead-letter list."""
    from finportal.paging import paginate

    stmt = select(Job).where(Job.state == state)
    if kind:
        stmt = stmt.where(Job.kind == kind)
    return paginate(
        session, stmt.order_by(Job.created_at.desc(), Job.id), page=page, per_page=per_page
    )


def init_app(app: Flask) -> None:
    """Check the job configuration and register every job."""
    if app.config["JOBS_MODE"] == "rq" and not app.config.get("REDIS_URL"):
        raise RuntimeError("FINPORTAL_JOBS_MODE=rq needs FINPORTAL_REDIS_URL")
    load_job_modules()


# --- command line ------------------------------------------------------------------------

jobs_cli = AppGroup("jobs", help="Background jobs: worker, scheduler, sweep.")


def _plain_redis(app: Flask) -> Any:
    from redis import Redis

    return Redis.from_url(app.config["REDIS_URL"])


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--name", default=None, help="Worker name (default: host and pid).")
@with_appcontext
def worker_command(burst: bool, name: str | None) -> None:
    """Run an RQ worker for the portal's queue, with RQ's scheduler for delayed retries."""
    global _worker_app, _worker_pid
    from rq import Worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        raise click.ClickException("FINPORTAL_REDIS_URL is not set")
    _worker_app, _worker_pid = app, os.getpid()
    db.engine.dispose()  # each forked job process opens its own connections
    worker = Worker([QUEUE], connection=_plain_redis(app), name=name)
    worker.work(with_scheduler=True, burst=burst, logging_level="INFO")


@jobs_cli.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run RQ's cron scheduler: enqueue each periodic task at its interval."""
    from rq.cron import CronScheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        raise click.ClickException("FINPORTAL_REDIS_URL is not set")
    cron = CronScheduler(connection=_plain_redis(app), name=f"finportal:{runner_name()}")
    for name, (_func, interval) in PERIODIC.items():
        cron.register(run_periodic, QUEUE, args=(name,), interval=interval, job_timeout=300)
    cron.start()


@jobs_cli.command("sweep")
@click.option(
    "--lost-after",
    default=LOST_AFTER,
    show_default=True,
    help="Hand out again jobs queued this many seconds ago that no runner holds.",
)
@with_appcontext
def sweep_command(lost_after: int) -> None:
    """Queue again jobs whose worker died and queued jobs that no runner holds."""
    click.echo(sweep(db.session, lost_after=lost_after, fallback="eager"))


@jobs_cli.command("tick")
@with_appcontext
def tick_command() -> None:
    """Run every periodic task once now (for cron when there is no scheduler)."""
    for name, (task, _interval) in PERIODIC.items():
        click.echo(f"{name}: {task(db.session)}")
