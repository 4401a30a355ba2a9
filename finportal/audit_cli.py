"""``flask audit ...``: verify the audit hash chain, print its head, write the queued events,
measure appending."""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import create_engine, delete, event, insert, select, text
from sqlalchemy.orm import Session

from finportal import audit_queue
from finportal.extensions import db
from finportal.models import AuditChainHead, AuditEvent, Base
from finportal.services import audit

audit_cli = AppGroup("audit", help="The tamper-evident audit trail.")


@audit_cli.command("verify")
@click.option(
    "--anchor",
    default=None,
    metavar="SEQ:HASH",
    help="A head printed earlier by `audit head` and kept elsewhere: that event must still "
    "have that hash (catches a chain rewritten from that point on).",
)
def verify_command(anchor: str | None) -> None:
    """Recompute every link of the chain; exit 1 at the first broken one."""
    report = audit.verify_chain(db.session)
    broken = report.broken
    if broken is None and anchor:
        broken = _check_anchor(anchor)
    if broken is not None:
        where = f"第 {broken.seq} 条" if broken.seq is not None else "链外"
        ident = f"（事件 id={broken.event_id}）" if broken.event_id is not None else ""
        click.echo(f"审计链在{where}断开{ident}：{broken.problem_zh}", err=True)
        click.echo(
            f"The audit chain breaks at seq {broken.seq} (event id {broken.event_id}): "
            f"{broken.problem_en}",
            err=True,
        )
        click.echo(f"{report.checked} events verified before the break.", err=True)
        _tell_waiting(err=True)
        sys.exit(1)
    click.echo(
        f"审计链完整：{report.checked} 条事件。链头 {report.head_seq}:{report.head_hash}\n"
        f"The audit chain holds: {report.checked} events. Head {report.head_seq}:{report.head_hash}"
    )
    _tell_waiting(err=False)


def _tell_waiting(*, err: bool) -> None:
    """Say how many events wait in the audit queue, not yet in the chain (if any)."""
    queue = audit_queue.of(current_app)
    waiting = queue.waiting() if queue is not None else 0
    if waiting:
        click.echo(
            f"另有 {waiting} 条事件在队列中等待写入（调度器每 {audit_queue.DRAIN_SECONDS} 秒写入；"
            "`flask audit drain` 立即写入）。\n"
            f"{waiting} more events wait in the queue (the scheduler writes them every "
            f"{audit_queue.DRAIN_SECONDS} s; `flask audit drain` writes them now).",
            err=err,
        )


@audit_cli.command("drain")
def drain_command() -> None:
    """Write the audit events waiting in Redis to the trail now (the scheduler does so every
    few seconds)."""
    queue = audit_queue.of(current_app)
    written = queue.drain(db.session) if queue is not None else 0
    click.echo(f"写入 {written} 条等待中的事件。 / {written} waiting events written.")


def _check_anchor(anchor: str) -> audit.BrokenLink | None:
    seq_text, _, expected = anchor.partition(":")
    if not seq_text.isdigit() or len(expected) != 64:
        raise click.BadParameter("应为 SEQ:HASH / expected SEQ:HASH", param_hint="--anchor")
    seq = int(seq_text)
    row = db.session.execute(
        select(AuditEvent.id, AuditEvent.row_hash).where(AuditEvent.seq == seq)
    ).one_or_none()
    if row is None or row.row_hash != expected:
        return audit.BrokenLink(
            seq,
            row.id if row else None,
            "与保存在别处的链头不符：此后的链被整体改写。",
            "Does not match the head kept elsewhere: the chain was rewritten from there on.",
        )
    return None


@audit_cli.command("head")
def head_command() -> None:
    """Print the chain's head as SEQ:HASH, to keep outside the database (an anchor)."""
    report = audit.verify_chain(db.session)
    click.echo(f"{report.head_seq}:{report.head_hash}")


@audit_cli.command("bench")
@click.option("--events", "n", default=2000, show_default=True, help="Events per scenario.")
@click.option("--threads", default=4, show_default=True, help="Writers in the concurrent run.")
@click.option(
    "--database-url",
    default=None,
    help="A PostgreSQL URL to measure on (a scratch schema is made and dropped); "
    "default: a temporary SQLite file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
def bench_command(n: int, threads: int, database_url: str | None, as_json: bool) -> None:
    """Measure events appended per second, with and without the hash chain."""
    result = run_bench(n=n, threads=threads, database_url=database_url)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        click.echo(f"{key}: {value}")


def _scratch_engine(database_url: str | None, workdir: Path) -> tuple[Any, Any]:
    if not database_url:
        from finportal.extensions import _sqlite_begin, _sqlite_pragmas

        engine = create_engine(
            f"sqlite:///{workdir / 'bench.db'}",
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine, None
    schema = f"audit_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(database_url, pool_size=8)

    @event.listens_for(engine, "connect")
    def _search_path(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET search_path TO {schema}")
        cursor.close()

    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return engine, schema


def _best(engine: Any, count: int, per_commit: int, chained: bool, repeats: int = 3) -> float:
    """Return the best of ``repeats`` runs (the machine is shared: the fastest is the cost)."""
    return min(_append(engine, count, per_commit, chained) for _ in range(repeats))


def _append(engine: Any, count: int, per_commit: int, chained: bool) -> float:
    """Append ``count`` events, ``per_commit`` per transaction; return the seconds taken."""
    start = time.perf_counter()
    with Session(engine, expire_on_commit=False) as session:
        if not chained:
            session.info[audit.DEFER_CHAIN] = True
        for i in range(count):
            audit.record_event(
                session,
                actor_id=None,
                action="bench.appended",
                object_type="bench",
                object_id=i,
                from_state="a",
                to_state="b",
                reason="基准测试",
                data={"i": i, "note": "benchmark"},
            )
            if (i + 1) % per_commit == 0:
                session.commit()
        session.commit()
    return time.perf_counter() - start


def run_bench(n: int = 2000, threads: int = 4, database_url: str | None = None) -> dict[str, Any]:
    """Return events/s appended with and without the chain, alone and by concurrent writers.

    Each single-writer figure is the best of three runs of ``n`` events; "plain" is the
    same ORM insert with the chain step switched off, so the difference is the chain's cost.
    """
    with tempfile.TemporaryDirectory() as tmp:
        engine, schema = _scratch_engine(database_url, Path(tmp))
        try:
            Base.metadata.create_all(engine)
            with engine.begin() as conn:
                conn.execute(
                    insert(AuditChainHead).values(
                        id=audit.HEAD_ID, seq=0, row_hash=audit.GENESIS_HASH
                    )
                )
            out: dict[str, Any] = {
                "database": engine.dialect.name,
                "events": n,
            }
            _append(engine, 50, 1, chained=True)  # warm up connections and statements
            plain = _best(engine, n, 1, chained=False)
            chained = _best(engine, n, 1, chained=True)
            out["one_per_commit_plain_events_per_s"] = round(n / plain)
            out["one_per_commit_chained_events_per_s"] = round(n / chained)
            out["chain_cost_per_event_ms"] = round((chained - plain) / n * 1000, 3)
            batch_plain = _best(engine, n, 100, chained=False)
            batch_chained = _best(engine, n, 100, chained=True)
            out["hundred_per_commit_plain_events_per_s"] = round(n / batch_plain)
            out["hundred_per_commit_chained_events_per_s"] = round(n / batch_chained)
            with engine.begin() as conn:  # the unchained comparison rows are not part of it
                conn.execute(delete(AuditEvent).where(AuditEvent.seq.is_(None)))
            per_thread = max(1, n // threads)
            start = time.perf_counter()
            workers = [
                threading.Thread(target=_append, args=(engine, per_thread, 1, True))
                for _ in range(threads)
            ]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            elapsed = time.perf_counter() - start
            out[f"concurrent_{threads}_writers_chained_events_per_s"] = round(
                per_thread * threads / elapsed
            )
            start = time.perf_counter()
            with Session(engine) as session:
                report = audit.verify_chain(session)
            out["verify_events_per_s"] = round(report.checked / (time.perf_counter() - start))
            out["verified_events"] = report.checked
            out["chain_ok"] = report.ok
        finally:
            if schema:
                with engine.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            engine.dispose()
    return out
