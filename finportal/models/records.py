"""Cross-cutting records: audit events, notifications, background jobs and model versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, bindparam, column
from sqlalchemy.orm import Mapped, mapped_column

from finportal import rows
from finportal.models.base import Base, utcnow


def without_views(action: Any) -> Any:
    """Return the condition that leaves out the actions of repeated views
    (:data:`finportal.rows.EVERY_VIEW_ACTION`) from ``action`` (a column), the names written
    out in the SQL: the index of histories below is built on it, and a statement that says it
    so is proved to be within that index by the database, whatever its parameters."""
    return action.not_in(
        bindparam(
            "view_actions",
            list(rows.EVERY_VIEW_ACTION),
            expanding=True,
            literal_execute=True,
            unique=True,
        )
    )


class AuditEvent(Base):
    """Who did what to which record, when, from which state to which, and why."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # A record's events, of one action (a referral's answers, a packet's downloads).
        Index("ix_audit_events_object", "object_type", "object_id", "action"),
        # A record's history as pages show it, without repeated views (``audit.history_of``):
        # a referral a bank opened thousands of times has a handful of steps, read alone.
        Index(
            "ix_audit_events_history",
            "object_type",
            "object_id",
            postgresql_where=without_views(column("action")),
            sqlite_where=without_views(column("action")),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None]
    #: The event's place in the tamper-evident hash chain (1, 2, ...), the hash of the event
    #: before it and its own hash over both (``services.audit``). Given when the event's
    #: transaction commits, under the lock of the chain's head.
    seq: Mapped[int | None] = mapped_column(unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """The last link of the audit hash chain: one row, locked while events are appended."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    row_hash: Mapped[str] = mapped_column(String(64))


class Notification(Base):
    """A message to the users of one enterprise (or one user): status changes and pushes."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: "status" or "policy_push" (政策找企业).
    kind: Mapped[str] = mapped_column(String(20))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    body_zh: Mapped[str] = mapped_column(Text, default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(300))
    #: Unique key that stops the same push from being sent twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]


class Job(Base):
    """A background job and its state: queued, running, done or failed (with a message).

    A job that fails for a passing reason is queued again with a backoff until it has made
    ``attempts`` of its kind's allowed attempts (``finportal.jobs``); ``runner`` names the
    process (host:pid) running it, so a sweep can tell a job whose worker died.
    """

    __tablename__ = "jobs"
    #: A record's jobs (its packet's render, the application's screening) by its object.
    __table_args__ = (Index("ix_jobs_object", "object_type", "object_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    args: Mapped[dict[str, Any]]
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None]
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    runner: Mapped[str | None] = mapped_column(String(80))


class ModelVersion(Base):
    """A trained credit model: the XGBoost booster (JSON), its metadata and model card."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: challenger -> champion (active) -> retired
    status: Mapped[str] = mapped_column(String(20), default="challenger", index=True)
    #: True when trained on the synthetic reference data; the UI says so beside every score.
    synthetic: Mapped[bool] = mapped_column(default=False)
    #: The model directory's files (booster JSON, metadata, card) as {filename: text}.
    files: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    card: Mapped[dict[str, Any]]
    card_markdown: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    promoted_at: Mapped[datetime | None]
    promoted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SnapshotColumns:
    """The columns of a summary table: a report computed at one moment, in one language.

    A periodic job computes the report and stores it; its page reads the newest one
    (``services/snapshots.py``, the one rule for every such table).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "zh_CN" or "en": the report is worded in it.
    locale: Mapped[str] = mapped_column(String(10))
    #: The moment the figures describe (deadline breaches are counted against it).
    as_of: Mapped[datetime]
    #: How long computing it took, seconds.
    seconds: Mapped[float]
    #: The report as JSON-able data.
    data: Mapped[dict[str, Any]]


class DashboardSnapshot(SnapshotColumns, Base):
    """The centre's dashboard as computed at one moment, in one language (a summary table).

    A periodic job recomputes it (``services/dashboard_cache.py``); the page reads the latest
    one younger than ``DASHBOARD_MAX_AGE_SECONDS`` instead of aggregating the whole tables on
    every request. ``data``: the dashboard's tables, funnel, score bins and headline
    (``dashboard_cache.dump``).
    """

    __tablename__ = "dashboard_snapshots"
    __table_args__ = (Index("ix_dashboard_snapshots_locale_as_of", "locale", "as_of"),)


class MonitorSnapshot(SnapshotColumns, Base):
    """The credit model's fairness monitor as computed at one moment, in one language.

    A periodic job and the admin's "refresh now" recompute it (``services/monitor_cache.py``);
    the page ``/admin/models/monitor`` reads the newest one instead of every application's
    latest score. ``data``: ``credit.fairness_monitor``'s report.
    """

    __tablename__ = "monitor_snapshots"
    __table_args__ = (Index("ix_monitor_snapshots_locale_as_of", "locale", "as_of"),)
