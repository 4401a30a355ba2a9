"""The fairness monitor's summary table: computed by a job, read by the admin's page.

:func:`credit.fairness_monitor` reads every application's latest credit score (138,821 at a
district's scale: about 4 s on PostgreSQL). So the periodic task
(``jobs.PERIODIC["monitor_refresh"]``) and the admin's "refresh now" button (the job
:data:`REFRESH_JOB`, never the web request) compute it and store one
:class:`~finportal.models.MonitorSnapshot` per language; the page ``/admin/models/monitor``
reads the newest snapshot of its reader's language while it is younger than
``MONITOR_MAX_AGE_SECONDS`` and says how old it is. With none that fresh (a new install, a
stopped scheduler) the page computes the report once and stores it for the next reader —
the dashboard's rule (``services/snapshots.py``). A maximum age of 0 always computes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal import jobs
from finportal.domain.states import language
from finportal.i18n import LOCALES
from finportal.models import Job, MonitorSnapshot, utcnow
from finportal.services import credit, snapshots

#: The job that recomputes the monitor (the periodic task and the admin's button).
REFRESH_JOB = "monitor_refresh"


def _reports(session: Session, locales: tuple[str, ...]) -> dict[str, tuple[dict[str, Any], float]]:
    """Return {locale: (report, seconds)}: the database read once, the report worded per language."""
    started = time.perf_counter()
    rows = credit.fairness_rows(session)
    read = time.perf_counter() - started
    reports = {}
    for locale in locales:
        started = time.perf_counter()
        with language(locale):
            report = credit.fairness_report(rows)
        reports[locale] = (report, read + time.perf_counter() - started)
    return reports


def refresh(session: Session, *, now: datetime | None = None) -> dict[str, float]:
    """Compute the monitor in every language and store it (commits); the seconds each took.

    Every language is computed before anything is written, and all is committed at once: a
    failure leaves the previous snapshots as they were. Safe to run in several workers at
    once (each run adds the newest snapshots; readers take the newest).
    """
    now = now or utcnow()
    reports = _reports(session, LOCALES)
    snapshots.store(session, MonitorSnapshot, reports, as_of=now)
    session.commit()
    return {locale: round(seconds, 3) for locale, (_report, seconds) in reports.items()}


def periodic(session: Session, *, interval: float, now: datetime | None = None) -> Any:
    """Refresh unless a snapshot younger than half the ``interval`` exists (the periodic task).

    ``flask jobs tick`` runs every task each time cron calls it (every minute): the monitor
    is then recomputed at most every half interval, not every minute.
    """
    now = now or utcnow()
    recent = snapshots.newest(
        session,
        MonitorSnapshot,
        locale=LOCALES[0],
        max_age_seconds=interval / 2,
        now=now,
        with_data=False,
    )
    if recent is not None:
        return {"skipped": f"snapshot of {recent.as_of.isoformat(timespec='seconds')}"}
    return refresh(session, now=now)


@jobs.job(REFRESH_JOB, attempts=2, timeout=900)
def refresh_job(session: Session, **_: Any) -> dict[str, float]:
    """Recompute the monitor now (the admin's "refresh now")."""
    return refresh(session)


def pending_refresh(session: Session) -> Job | None:
    """Return the refresh job queued or running, if any."""
    return session.scalar(
        select(Job)
        .where(Job.kind == REFRESH_JOB, Job.state.in_(("queued", "running")))
        .order_by(Job.created_at.desc())
        .limit(1)
    )


def request_refresh(session: Session, *, actor_id: int | None) -> Job:
    """Queue a recomputation of the monitor, or return the one already queued or running."""
    return pending_refresh(session) or jobs.enqueue(session, REFRESH_JOB, actor_id=actor_id)


@dataclass
class MonitorPage:
    """What the monitor page shows: the report, as of when, and a refresh under way."""

    report: dict[str, Any]
    as_of: datetime
    #: How old the figures are when the page is read.
    age: timedelta
    #: Computed for this request (no snapshot fresh enough, or a maximum age of 0).
    computed: bool
    #: The refresh job queued or running (the page says so instead of offering the button).
    pending: Job | None
    #: How often the periodic task recomputes it.
    every: timedelta
    #: The page's maximum age (0: computed on every request).
    max_age_seconds: float


def monitor_page(
    session: Session, *, max_age_seconds: float, now: datetime | None = None
) -> MonitorPage:
    """Return the monitor in the reader's language: the newest fresh snapshot, else computed."""
    now = now or utcnow()
    report, as_of, computed = snapshots.current(
        session,
        MonitorSnapshot,
        compute=lambda locale, _at: _reports(session, (locale,))[locale][0],
        max_age_seconds=max_age_seconds,
        now=now,
    )
    return MonitorPage(
        report=report,
        as_of=as_of,
        age=now - as_of,
        computed=computed,
        pending=pending_refresh(session),
        every=timedelta(seconds=jobs.PERIODIC["monitor_refresh"][1]),
        max_age_seconds=max_age_seconds,
    )
