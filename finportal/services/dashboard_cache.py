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
and read the page at once). The rule is every summary table's (``services/snapshots.py``).
"""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from finportal.domain.states import language
from finportal.i18n import LOCALES
from finportal.models import DashboardSnapshot, utcnow
from finportal.services import snapshots
from finportal.services.dashboard import Dashboard, Table, build_dashboard


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


def _compute(session: Session, locale: str, now: datetime) -> dict[str, Any]:
    with language(locale):
        return dump(build_dashboard(session, now=now))


def refresh(session: Session, *, now: datetime | None = None) -> dict[str, float]:
    """Compute the dashboard in every language and store it (commits); the seconds each took.

    The periodic task: safe to run at any time and in several workers at once (each run
    adds the newest snapshot; readers take the newest).
    """
    now = now or utcnow()
    seconds = {}
    reports = {}
    for locale in LOCALES:
        started = time.perf_counter()
        reports[locale] = (_compute(session, locale, now), time.perf_counter() - started)
        seconds[locale] = round(reports[locale][1], 3)
    snapshots.store(session, DashboardSnapshot, reports, as_of=now)
    session.commit()
    return seconds


def fresh_snapshot(
    session: Session, *, max_age_seconds: float, now: datetime | None = None
) -> DashboardSnapshot | None:
    """Return the newest snapshot of the reader's language at most ``max_age_seconds`` old.

    Its stored figures are read when first used (``snapshot.data``): a page that already
    holds this snapshot's rendering needs only its id and time.
    """
    return snapshots.newest(
        session,
        DashboardSnapshot,
        locale=snapshots.reader_locale(),
        max_age_seconds=max_age_seconds,
        now=now,
        with_data=False,
    )


def current(
    session: Session, *, max_age_seconds: float, now: datetime | None = None
) -> tuple[Dashboard, datetime]:
    """Return the dashboard in the reader's language and the moment its figures describe.

    The latest snapshot when it is at most ``max_age_seconds`` old; else computed now (and
    stored for the next reader, when ``max_age_seconds`` is above 0; commits).
    """
    data, as_of, _computed = snapshots.current(
        session,
        DashboardSnapshot,
        compute=lambda locale, at: _compute(session, locale, at),
        max_age_seconds=max_age_seconds,
        now=now,
    )
    return load(data), as_of
