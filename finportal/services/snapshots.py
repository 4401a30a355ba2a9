"""Summary tables: a report a job computes and stores, a page reads (the one rule for each).

A report that aggregates the whole district (the dashboard, the fairness monitor) takes
seconds; its page must answer in a fraction of that. So a periodic job computes the report
in every language and stores it as one row of a table with
:class:`~finportal.models.records.SnapshotColumns`, and the page reads the newest row of its
reader's language younger than its maximum age, saying as of when its figures are. With
none that fresh (a new install, a stopped scheduler) the reader computes the report once and
stores it for the next reader. A maximum age of 0 always computes and stores nothing (tests
that change data and read the page at once).

Each store keeps the :data:`KEEP` newest rows of its language and deletes the older ones, so
the tables stay a few rows long however often the job runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, defer

from finportal.domain.states import current_locale
from finportal.i18n import LOCALES
from finportal.models import utcnow
from finportal.models.records import SnapshotColumns

#: Snapshots kept per table and language (the newest; older ones are deleted by each store).
KEEP = 2

S = TypeVar("S", bound=SnapshotColumns)


def reader_locale() -> str:
    """Return the entry of ``LOCALES`` the reader reads (a request's locale may be zh_Hans_CN)."""
    spoken = current_locale().split("_")[0]
    return next((code for code in LOCALES if code.split("_")[0] == spoken), LOCALES[0])


def newest(
    session: Session,
    model: type[S],
    *,
    locale: str,
    max_age_seconds: float | None = None,
    now: datetime | None = None,
    with_data: bool = True,
) -> S | None:
    """Return the newest snapshot of ``locale`` (at most ``max_age_seconds`` old, if given).

    Without ``with_data`` its stored report is read when first used (``snapshot.data``): a
    page that already holds this snapshot's rendering needs only its id and time.
    """
    now = now or utcnow()
    stmt = select(model).where(model.locale == locale, model.as_of <= now)
    if max_age_seconds is not None:
        stmt = stmt.where(model.as_of >= now - timedelta(seconds=max_age_seconds))
    if not with_data:
        stmt = stmt.options(defer(model.data))
    return session.scalar(stmt.order_by(model.as_of.desc(), model.id.desc()).limit(1))


def store(
    session: Session,
    model: type[S],
    reports: Mapping[str, tuple[dict[str, Any], float]],
    *,
    as_of: datetime,
) -> dict[str, S]:
    """Add one snapshot per language ({locale: (data, seconds)}) and delete all but the newest.

    Flushes, does not commit: the caller commits once, so a failed refresh leaves nothing
    behind (and the older snapshots in place).
    """
    added = {}
    for locale, (data, seconds) in reports.items():
        snapshot = model(locale=locale, as_of=as_of, seconds=seconds, data=data)
        session.add(snapshot)
        added[locale] = snapshot
    session.flush()
    for locale in reports:
        keep = list(
            session.scalars(
                select(model.id)
                .where(model.locale == locale)
                .order_by(model.as_of.desc(), model.id.desc())
                .limit(KEEP)
            )
        )
        session.execute(delete(model).where(model.locale == locale, model.id.not_in(keep)))
    return added


class Report(NamedTuple):
    """A report as a page reads it."""

    data: dict[str, Any]
    #: The moment its figures describe.
    as_of: datetime
    #: Computed for this reader (no snapshot fresh enough, or a maximum age of 0).
    computed: bool


def current(
    session: Session,
    model: type[S],
    *,
    compute: Callable[[str, datetime], dict[str, Any]],
    max_age_seconds: float,
    now: datetime | None = None,
) -> Report:
    """Return the reader's report, the moment its figures describe, and whether computed now.

    The newest snapshot of the reader's language when it is at most ``max_age_seconds`` old;
    else ``compute(locale, now)`` now, stored for the next reader when ``max_age_seconds`` is
    above 0 (commits).
    """
    now = now or utcnow()
    locale = reader_locale()
    if max_age_seconds > 0:
        snapshot = newest(session, model, locale=locale, max_age_seconds=max_age_seconds, now=now)
        if snapshot is not None:
            return Report(snapshot.data, snapshot.as_of, computed=False)
    started = time.perf_counter()
    data = compute(locale, now)
    if max_age_seconds > 0:
        store(session, model, {locale: (data, time.perf_counter() - started)}, as_of=now)
        session.commit()
    return Report(data, now, computed=True)
