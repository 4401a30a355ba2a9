"""Imports: run a connector as a background job and store what the firms authorised.

An import checks every record first (progress: rows or firms checked), then stores all
of them in the job's one transaction: a bad file is ``rejected`` with its row-numbered
problems and stores nothing; a failure while storing rolls everything back and the job is
tried again. A second run of a finished import changes nothing (docs/OPERATIONS.md).

What is stored: for each record whose enterprise is on the portal and has an
authorisation in force for the source, the items within that authorisation's scope, as
verified facts (one per firm and item; a record as of an older date than the stored fact
leaves it). Everything else is counted and dropped, never kept.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal import jobs, limits
from finportal.models import DataImport, Enterprise, Job, VerifiedFact, utcnow
from finportal.paging import Page, paginate
from finportal.services.audit import record_event
from finportal.services.errors import NotFound, ValidationFailed
from finportal.services.public_data import authorisations, connectors, sources
from finportal.services.workdays import today_local

#: An import's states and their words.
STATES = {
    "queued": ("排队中", "Queued"),
    "checking": ("正在检查", "Checking"),
    "storing": ("正在保存", "Storing"),
    "done": ("已完成", "Done"),
    "rejected": ("文件有误，未导入", "Rejected: nothing imported"),
    "failed": ("失败", "Failed"),
}
FINISHED = ("done", "rejected", "failed")
#: What happened to each record, with its words.
COUNTS = {
    "stored": ("已核验并保存", "verified and stored"),
    "unchanged": ("与已存数据相同", "same as stored"),
    "older": ("早于已存数据，未覆盖", "older than the stored data, kept"),
    "no_authorisation": ("企业未授权，未保存", "no authorisation in force: not stored"),
    "unknown_firm": ("平台上没有该企业，未保存", "enterprise not on the portal: not stored"),
    "not_found": ("数据源没有该企业的数据", "the source holds nothing on the firm"),
}


def _refusal(zh: str, en: str, field: str = "file") -> ValidationFailed:
    return ValidationFailed(zh, en, fields={field: limits.in_user_language(zh, en)})


def _source(code: str) -> sources.Source:
    if code not in sources.by_code():
        raise _refusal("请选择数据来源。", "Choose a data source.", "source")
    return sources.source(code)


def upload(
    session: Session, *, actor_id: int | None, source: str, filename: str, content: bytes
) -> DataImport:
    """Accept an exchange file for a source and queue its import (commits).

    The file's kind (CSV or XLSX, by content) and size are checked here, so a wrong file is
    refused at once; its rows are checked by the job.
    """
    record = accept_file(
        session, actor_id=actor_id, source=source, filename=filename, content=content
    )
    _queue(session, record, actor_id)
    return record


def accept_file(
    session: Session, *, actor_id: int | None, source: str, filename: str, content: bytes
) -> DataImport:
    """Check an exchange file's kind and size and keep it as a queued import (flushed)."""
    spec = _source(source)
    try:
        connectors.check_file(content)
    except connectors.Rejected as exc:
        problem = exc.problems[0]
        raise _refusal(problem.zh, problem.en) from None
    record = DataImport(
        source=spec.code,
        connector="file",
        # Shown, never used as a path: control characters dropped, cut to the column.
        filename=limits.clip(
            limits.CONTROL_CHARACTERS.sub("", filename).strip() or "upload", "name"
        ),
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        created_by_id=actor_id,
    )
    session.add(record)
    session.flush()
    return record


def fetch(
    session: Session, *, actor_id: int | None, source: str, enterprise_id: int | None = None
) -> DataImport:
    """Queue a fetch of a source over the exchange API (every authorised firm, or one)."""
    spec = _source(source)
    if not current_app.config.get("PUBLIC_DATA_URL"):
        raise _refusal(
            "未配置数据交换接口（FINPORTAL_PUBLIC_DATA_URL），请用文件导入。",
            "The exchange API is not configured (FINPORTAL_PUBLIC_DATA_URL); import a file.",
            "source",
        )
    record = DataImport(
        source=spec.code, connector="http", enterprise_id=enterprise_id, created_by_id=actor_id
    )
    session.add(record)
    session.flush()
    _queue(session, record, actor_id)
    return record


def _queue(session: Session, record: DataImport, actor_id: int | None) -> None:
    record_event(
        session,
        actor_id=actor_id,
        action="public_data.queued",
        object_type="data_import",
        object_id=record.id,
        to_state="queued",
        reason=f"{sources.source(record.source).zh}：{record.filename or '数据交换接口'}",
        data={"source": record.source, "connector": record.connector, "sha256": record.sha256},
    )
    # Commits; the job records its own id on the import when it starts.
    jobs.enqueue(
        session,
        "public_data_import",
        actor_id=actor_id,
        object_type="data_import",
        object_id=record.id,
        import_id=record.id,
    )
    session.refresh(record)


# --- the job --------------------------------------------------------------------------------


def _progress(session: Session, record: DataImport) -> connectors.Progress:
    def report(done: int, total: int) -> None:
        # Only the import's own row changes before storing: committing it shows progress.
        record.rows_done, record.rows_total = done, total
        session.commit()

    return report


def _connector(session: Session, record: DataImport, today: date) -> connectors.Connector:
    if record.connector == "file":
        return connectors.FileConnector(record.source, record.content or b"", today=today)
    config = current_app.config
    if not config.get("PUBLIC_DATA_URL"):
        raise ValidationFailed("未配置数据交换接口。", "The exchange API is not configured.")
    firms = authorisations.in_force_by_firm(
        session,
        record.source,
        [record.enterprise_id] if record.enterprise_id is not None else None,
    )
    usccs = list(
        session.scalars(
            select(Enterprise.uscc).where(Enterprise.id.in_(list(firms))).order_by(Enterprise.id)
        )
    )
    return connectors.HttpConnector(
        record.source,
        usccs,
        base_url=str(config["PUBLIC_DATA_URL"]),
        token=config.get("PUBLIC_DATA_TOKEN"),
        today=today,
    )


@jobs.job("public_data_import", attempts=3, timeout=1800)
def run_import(session: Session, *, import_id: int) -> dict[str, Any]:
    """Check an import's records, then store the authorised ones in one go."""
    record = session.get(DataImport, import_id)
    if record is None:
        raise NotFound.of("import")
    if record.state in FINISHED and record.state != "failed":
        return {"state": record.state}  # a second run changes nothing
    today = today_local()
    record.state, record.rows_done, record.errors = "checking", 0, []
    record.job_id = jobs.current_job_id() or record.job_id
    session.commit()
    connector = _connector(session, record, today)
    try:
        found = connector.records(_progress(session, record))
    except connectors.Rejected as exc:
        record.state = "rejected"
        record.errors = [p.plain() for p in exc.problems]
        record.message = f"另有 {exc.more} 处问题未列出 / {exc.more} more" if exc.more else ""
        record.finished_at = utcnow()
        _finished_event(session, record)
        return {"state": "rejected", "problems": len(exc.problems) + exc.more}
    record.state = "storing"
    counts = store(session, record, found)
    if isinstance(connector, connectors.HttpConnector) and connector.not_found:
        counts["not_found"] = connector.not_found
    record.counts = counts
    record.state = "done"
    record.finished_at = utcnow()
    _finished_event(session, record)
    if record.enterprise_id is not None and counts["stored"]:
        # One firm's fetch after it authorised: tell it now what it newly qualifies for.
        # A district import is picked up by the hourly 政策找企业 push (services/push.py),
        # whose table reads the verified values (services/profile_table.py).
        from finportal.services import push

        push.rematch_later(session, record.enterprise_id, actor_id=record.created_by_id)
    return {"state": "done", **counts}


def _finished_event(session: Session, record: DataImport) -> None:
    record_event(
        session,
        actor_id=record.created_by_id,
        action=f"public_data.{record.state}",
        object_type="data_import",
        object_id=record.id,
        from_state="checking",
        to_state=record.state,
        reason=sources.source(record.source).zh,
        data={"counts": record.counts, "problems": len(record.errors)},
    )


def store(session: Session, record: DataImport, found: list[connectors.Record]) -> dict[str, int]:
    """Store the records of firms that authorised the source (the caller commits)."""
    counts = dict.fromkeys(("stored", "unchanged", "older", "no_authorisation", "unknown_firm"), 0)
    usccs = [r.uscc for r in found]
    firm_ids: dict[str, int] = {}
    for start in range(0, len(usccs), 1000):
        chunk = usccs[start : start + 1000]
        for uscc, firm in session.execute(
            select(Enterprise.uscc, Enterprise.id).where(Enterprise.uscc.in_(chunk))
        ):
            firm_ids[uscc] = firm
    granted = authorisations.in_force_by_firm(session, record.source, list(firm_ids.values()))
    stored: dict[tuple[int, str], VerifiedFact] = {}
    ids = list(granted)
    for start in range(0, len(ids), 1000):
        for fact in session.scalars(
            select(VerifiedFact).where(
                VerifiedFact.enterprise_id.in_(ids[start : start + 1000]),
                VerifiedFact.source == record.source,
            )
        ):
            stored[(fact.enterprise_id, fact.item)] = fact
    for row in found:
        firm = firm_ids.get(row.uscc)
        if firm is None:
            counts["unknown_firm"] += 1
            continue
        authorisation = granted.get(firm)
        if authorisation is None:
            counts["no_authorisation"] += 1
            continue
        outcome = "unchanged"
        for item, value in row.values.items():
            if item not in authorisation.scope:
                continue  # outside what the firm authorised: never kept
            fact = stored.get((firm, item))
            if fact is None:
                fact = VerifiedFact(enterprise_id=firm, source=record.source, item=item)
                session.add(fact)
                stored[(firm, item)] = fact
            elif fact.as_of > row.as_of:
                outcome = "older" if outcome == "unchanged" else outcome
                continue
            elif (
                fact.value == value
                and fact.as_of == row.as_of
                and fact.authorisation_id == authorisation.id
            ):
                continue
            fact.value, fact.as_of = value, row.as_of
            fact.authorisation_id, fact.import_id = authorisation.id, record.id
            fact.fetched_at = utcnow()
            outcome = "stored"
        counts[outcome] += 1
    session.flush()
    return counts


# --- what the admin sees --------------------------------------------------------------------


def get(session: Session, import_id: int) -> DataImport:
    """Return one import, or raise ``NotFound``."""
    record = session.get(DataImport, import_id)
    if record is None:
        raise NotFound.of("import")
    return record


def imports_page(session: Session, *, page: int = 1, per_page: int = 20) -> Page:
    """Return one page of imports, newest first (without their files)."""
    from sqlalchemy.orm import defer

    return paginate(
        session,
        select(DataImport).order_by(DataImport.created_at.desc(), DataImport.id.desc()),
        page=page,
        per_page=per_page,
        options=[defer(DataImport.content)],
    )


def current_state(session: Session, record: DataImport) -> str:
    """Return the import's state, ``failed`` when its job gave up before it finished."""
    if record.state not in FINISHED and record.job_id:
        job = session.get(Job, record.job_id)
        if job is not None and job.state == "failed":
            return "failed"
    return record.state


def status(session: Session, record: DataImport) -> dict[str, Any]:
    """Return an import's progress as JSON for the page's polling."""
    state = current_state(session, record)
    zh, en = STATES.get(state, (state, state))
    return {
        "id": record.id,
        "state": state,
        "label": limits.in_user_language(zh, en),
        "rows_done": record.rows_done,
        "rows_total": record.rows_total,
        "done": state in FINISHED,
    }
