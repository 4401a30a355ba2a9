"""The dashboard's summary table: computed by a periodic job, read by the page.

Aggregating the whole district (100,000 applications, 150,000 referrals) takes about a
second and a half on PostgreSQL; the page must answer in a fraction of that. So a periodic
task (``jobs.PERIODIC["dashboard_refresh"]``) computes :func:`build_dashboard` once per
language and stores the result as a :class:`DashboardSnapshot`; the page reads the latest
snapshot of its reader's language while it is younger than ``DASHBOARD_MAX_AGE_SECONDS``
(config; above the task's interval, so a running scheduler keeps readers from ever computing
it themselves) and says how old its figures are. With no fresh snapshot (a new install, a stopped
scheduler) the page computes the figures itself and stores them for the next reader, so it
is never staler than the limit. A maximum age of 0 always computes (tests that change data
and read the page at once).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, defer

from finportal.domain.states import current_locale, language
from finportal.i18n import LOCALES
from finportal.models import DashboardSnapshot, utcnow
from finportal.services.dashboard import Dashboard, Table, build_dashboard

#: Snapshots kept per language (the newest; older ones are deleted by each refresh).
KEEP = 2


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$decimal" in value:
            return Decimal(value["$decimal"])
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def dump(board: Dashboard) -> dict[str, Any]:
    """Return the dashboard as JSON-able data (Decimals and datetimes kept by type)."""
    return {
        "tables": [
            _encode(
                [table.key, table.title, table.columns, table.rows, table.note]
                + [list(table.percent_columns)]
            )
            for table in board.tables.values()
        ],
        "funnel": _encode(board.funnel),
        "score_bins": _encode(board.score_bins),
        "headline": _encode(board.headline),
    }


def load(data: dict[str, Any]) -> Dashboard:
    """Return the dashboard :func:`dump` stored."""
    board = Dashboard()
    for key, title, columns, rows, note, *percent in _decode(data["tables"]):
        board.tables[key] = Table(key, title, columns, rows, note, tuple(*percent))
    board.funnel = [(label, count) for label, count in _decode(data["funnel"])]
    board.score_bins = [(label, count) for label, count in _decode(data["score_bins"])]
    board.headline = _decode(data["headline"])
    return board


def _reader_locale() -> str:
    """Return the entry of ``LOCALES`` the reader reads (a request's locale may be zh_Hans_CN)."""
    spoken = current_locale().split("_")[0]
    return next((code for code in LOCALES if code.split("_")[0] == spoken), LOCALES[0])


def _store(session: Session, locale: str, now: datetime) -> tuple[Dashboard, DashboardSnapshot]:
    started = time.perf_counter()
    with language(locale):
        board = build_dashboard(session, now=now)
    snapshot = DashboardSnapshot(
        locale=locale, as_of=now, seconds=time.perf_counter() - started, data=dump(board)
    )
    session.add(snapshot)
    session.flush()
    stale = select(DashboardSnapshot.id).where(DashboardSnapshot.locale == locale)
    keep = list(
        session.scalars(
            stale.order_by(DashboardSnapshot.as_of.desc(), DashboardSnapshot.id.desc()).limit(KEEP)
        )
    )
    session.execute(
        delete(DashboardSnapshot).where(
            DashboardSnapshot.locale == locale, DashboardSnapshot.id.not_in(keep)
        )
    )
    return board, snapshot


def refresh(session: Session, *, now: datetime | None = None) -> dict[str, float]:
    """Compute the dashboard in every language and store it (commits); the seconds each took.

    The periodic task: safe to run at any time and in several workers at once (each run
    adds the newest snapshot; readers take the newest).
    """
    now = now or utcnow()
    seconds = {}
    for locale in LOCALES:
        _board, snapshot = _store(session, locale, now)
        seconds[locale] = round(snapshot.seconds, 3)
    session.commit()
    return seconds


def fresh_snapshot(
    session: Session, *, max_age_seconds: float, now: datetime | None = None
) -> DashboardSnapshot | None:
    """Return the newest snapshot of the reader's language at most ``max_age_seconds`` old.

    Its stored figures are read when first used (``snapshot.data``): a page that already
    holds this snapshot's rendering needs only its id and time.
    """
    now = now or utcnow()
    return session.scalar(
        select(DashboardSnapshot)
        .options(defer(DashboardSnapshot.data))
        .where(
            DashboardSnapshot.locale == _reader_locale(),
            DashboardSnapshot.as_of >= now - timedelta(seconds=max_age_seconds),
            DashboardSnapshot.as_of <= now,
        )
        .order_by(DashboardSnapshot.as_of.desc(), DashboardSnapshot.id.desc())
        .limit(1)
    )


def current(
    session: Session, *, max_age_seconds: float, now: datetime | None = None
) -> tuple[Dashboard, datetime]:
    """Return the dashboard in the reader's language and the moment its figures describe.

    The latest snapshot when it is at most ``max_age_seconds`` old; else computed now (and
    stored for the next reader, when ``max_age_seconds`` is above 0; commits).
    """
    now = now or utcnow()
    locale = _reader_locale()
    if max_age_seconds > 0:
        snapshot = fresh_snapshot(session, max_age_seconds=max_age_seconds, now=now)
        if snapshot is not None:
            return load(snapshot.data), snapshot.as_of
        board, _snapshot = _store(session, locale, now)
        session.commit()
        return board, now
    return build_dashboard(session, now=now), now
