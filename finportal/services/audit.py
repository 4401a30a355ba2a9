"""The audit trail: every state change and every packet view or download.

The trail is tamper-evident: each event carries the SHA-256 of a canonical serialisation
of its own fields together with the hash of the event before it (a hash chain). The chain
is extended when a transaction that added events commits, under a lock on the one row of
``audit_chain_head``, so concurrent workers append one after another and never fork the
chain. On PostgreSQL one statement per event locks the head, writes the event with its link
and the hash the database computes over the bytes Python prepared around the link, and
moves the head: every audited action of the portal takes that lock in turn, so it is held
from that statement to the commit and through nothing else. On SQLite every write
transaction already holds the database's write lock (``BEGIN IMMEDIATE``), and Python links
the events. ``verify_chain`` (``flask --app
wsgi audit verify``) recomputes every link and reports the first broken one.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    LargeBinary,
    String,
    Text,
    and_,
    bindparam,
    cast,
    event,
    false,
    func,
    insert,
    inspect,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from finportal import rows
from finportal.models import AuditChainHead, AuditEvent, User, utcnow
from finportal.models.records import without_views
from finportal.services.workdays import SHANGHAI

#: The format of the canonical serialisation below; part of every hash.
CHAIN_VERSION = 1
#: The "previous hash" of the first event.
GENESIS_HASH = "0" * 64
HEAD_ID = 1
_PENDING = "finportal_audit_pending"
_CHAINING = "finportal_audit_chaining"
#: Set in a session's ``info`` to commit its events without links, for
#: :func:`chain_unchained` to append later (the demo backdates its invented history first).
DEFER_CHAIN = "finportal_audit_defer_chain"
#: Set in a session's ``info`` to link its events in Python under one lock of the head, as
#: on SQLite, not with one statement each: for a batch of many events written at once (the
#: audit queue's drain), where the head's lock is held through hashing them all instead of
#: through as many statements (docs/BENCHMARKS.md, "2 December 2026, afternoon").
LINK_IN_PYTHON = "finportal_audit_link_in_python"


def commit_batch(session: Session) -> None:
    """Commit a session holding many events at once, linked in Python (:data:`LINK_IN_PYTHON`)."""
    session.info[LINK_IN_PYTHON] = True
    try:
        session.commit()
    finally:
        session.info.pop(LINK_IN_PYTHON, None)


def record_event(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session (the caller commits with its own change)."""
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data,
    )
    session.add(event)
    return event


def events_of(
    objects: Mapping[str, Collection[int]],
    *,
    action: str | None = None,
    views: bool = True,
) -> tuple[ColumnElement[bool], dict[str, Any]]:
    """Return the condition that picks the audit events of these records (object type ->
    ids; of one ``action`` if named; without their repeated views with ``views=False``) and
    the execution options that tell the page cache the statement reads only their part of the
    trail (:mod:`finportal.rows`): a page showing a record's history then stays kept while
    events of other records are written, and, without views (:data:`rows.VIEW_ACTIONS`), while
    the record is viewed.

    A history without views is what pages show (:func:`history_of`): a referral a bank opened
    thousands of times has a handful of steps, and the trail's index ``ix_audit_events_history``
    holds only those (its condition and this one name the same actions, written out in the
    SQL: the database proves the one from the other); a record's events of one action are
    found by ``ix_audit_events_object``, which ends with the action.

    Other conditions may be added to the statement (they pick fewer of those events); no
    other read of ``audit_events`` may be (it would go unnoticed).
    """
    clauses, parts = [], []
    for object_type, ids in objects.items():
        wanted = sorted(set(ids))
        if wanted:
            clauses.append(
                and_(AuditEvent.object_type == object_type, AuditEvent.object_id.in_(wanted))
            )
            parts.extend(rows.event_parts(object_type, wanted, action))
            if action is None and views:  # views are in parts of their own
                for view in sorted(rows.VIEW_ACTIONS.get(object_type, frozenset())):
                    parts.extend(rows.event_parts(object_type, wanted, view))
    condition = or_(*clauses) if clauses else false()
    if action is not None:
        condition = and_(condition, AuditEvent.action == action)
    if not views:
        condition = and_(condition, without_views(AuditEvent.action))
    return condition, {rows.OPTION: {AuditEvent.__tablename__: tuple(parts)}}


def history_of(
    objects: Mapping[str, Collection[int]],
) -> tuple[ColumnElement[bool], dict[str, Any]]:
    """Return :func:`events_of` for these records' histories as pages show them: every step,
    without the views that repeat one (a bank opening a referral again; the first opening is
    the step 银行已查看). Every view stays in the trail (the admin's audit log shows them)."""
    return events_of(objects, views=False)


def actor_columns(*columns: Any) -> list[Any]:
    """Return, for a statement reading events, their actor's ``columns`` (``User.display_name``
    ...), each looked up by the event's ``actor_id`` as its row is read (None without one).

    Joined to the users table instead, PostgreSQL read that table whole for a record a bank had
    opened thousands of times: its statistics count the record's views, so it expected
    thousands of history rows where there were a handful (docs/BENCHMARKS.md, "3 December
    2026, late")."""
    return [
        select(column).where(User.id == AuditEvent.actor_id).scalar_subquery().label(column.key)
        for column in columns
    ]


def repeated_views(session: Session, object_type: str, ids: Collection[int]) -> dict[int, int]:
    """Return how many times each of these records was viewed again (:data:`rows.VIEW_ACTIONS`:
    a bank opening a referral after its first opening), for those viewed again at all: one
    count a record, from the trail's index of a record's events by action, where a history
    (:func:`history_of`) lists none of them. A page showing the counts depends on the views."""
    actions = sorted(rows.VIEW_ACTIONS.get(object_type, frozenset()))
    counts: dict[int, int] = {}
    for action in actions:
        views, told = events_of({object_type: ids}, action=action)
        for object_id, times in session.execute(
            select(AuditEvent.object_id, func.count())
            .where(views)
            .group_by(AuditEvent.object_id)
            .order_by(AuditEvent.object_id)
            .execution_options(**told)
        ):
            counts[object_id] = counts.get(object_id, 0) + times
    return counts


def download_stamp(
    session: Session,
    *,
    actor_id: int | None,
    taker: str,
    packet: str,
    action: str,
    object_type: str,
    object_id: int,
    at: datetime,
) -> list[str]:
    """Return the lines stamped on a downloaded packet: who took it, when, which download."""
    user = session.get(User, actor_id) if actor_id is not None else None
    # A serial number makes every download's stamp unique, even two in the same second.
    serial = 1 + (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == action,
                AuditEvent.object_type == object_type,
                AuditEvent.object_id == object_id,
            )
        )
        or 0
    )
    who = (
        f"{user.display_name or user.username}（{user.username}）"
        if user is not None
        else "银行接口（API 令牌）"
    )
    return [
        f"{taker} 下载",
        f"用户：{who}",
        f"时间：{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S} (UTC+8)",
        f"{packet} · 第 {serial} 次下载",
    ]


# ---------------------------------------------------------------- the hash chain


def _dumps(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_around_link(
    *,
    at: datetime,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    from_state: str | None,
    to_state: str | None,
    reason: str | None,
    data: Any,
) -> tuple[bytes, bytes, bytes]:
    """Return an event's canonical form around its link, known only under the chain's lock:
    the bytes before the previous hash, those between it and the event's number, and those
    after the number. The canonical form is the payload below as sorted-key JSON, UTF-8, no
    spaces; its keys sort as ``…, object_type, prev, reason, seq, to_state, v``."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    first = {
        "action": action,
        "actor_id": actor_id,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        # As the database gives it back: tuples become lists, number keys become strings.
        "data": None if data is None else json.loads(json.dumps(data)),
        "from_state": from_state,
        "object_id": object_id,
        "object_type": object_type,
    }
    before = _dumps(first)[:-1] + ',"prev":"'
    between = '","reason":' + _dumps(reason or "") + ',"seq":'
    after = ',"to_state":' + _dumps(to_state) + ',"v":' + _dumps(CHAIN_VERSION) + "}"
    return before.encode(), between.encode(), after.encode()


def canonical_event(*, seq: int, prev_hash: str, **fields: Any) -> bytes:
    """Return the bytes an event's hash is taken over (:func:`canonical_around_link` with the
    link: the previous event's hash and the event's number in the chain)."""
    before, between, after = canonical_around_link(**fields)
    return before + _dumps(prev_hash)[1:-1].encode() + between + _dumps(seq).encode() + after


def event_hash(prev_hash: str, **fields: Any) -> str:
    """Return the hex SHA-256 of an event's canonical form (its fields and ``prev_hash``)."""
    return hashlib.sha256(canonical_event(prev_hash=prev_hash, **fields)).hexdigest()


#: An event's fields other than its link, in the canonical form and as the link statement
#: writes them (its parameters).
_WRITTEN_FIELDS = (
    "at",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "from_state",
    "to_state",
    "reason",
    "data",
)


def _written(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _WRITTEN_FIELDS}


def _fields(row: Any) -> dict[str, Any]:
    return {"seq": row.seq, **_written(row)}


def _collect(session: Session, instance: object) -> None:
    """Remember, in the order they were added, the audit events a transaction will commit."""
    if isinstance(instance, AuditEvent) and not session.info.get(_CHAINING):
        session.info.setdefault(_PENDING, []).append(instance)


def _ahead(events: Collection[AuditEvent]) -> dict[str, tuple[str, ...]]:
    """Return what appending ``events`` writes, for :data:`rows.AHEAD`: the chain's head, and
    the events' parts of the trail (left out when a value is not plain: the insert itself
    then tells what it wrote)."""
    ahead: dict[str, tuple[str, ...]] = {AuditChainHead.__tablename__: ()}
    parts_of = rows.PARTS_OF_ROW[AuditEvent.__tablename__]
    try:
        parts = {part for item in events for part in parts_of(inspect(item).dict)}
    except (KeyError, TypeError):
        parts = set()
    if parts:
        ahead[AuditEvent.__tablename__] = tuple(sorted(parts))
    return ahead


def _start_head(session: Session) -> None:
    """Start the chain in a database built without the migration (no head row yet)."""
    session.execute(insert(AuditChainHead).values(id=HEAD_ID, seq=0, row_hash=GENESIS_HASH))


def _lock_head(session: Session, events: Collection[AuditEvent] = ()) -> tuple[int, str]:
    """Lock the chain's head row for this transaction; return (last seq, last hash).

    The head and ``events`` are written next: the lock's statement says so ahead
    (:data:`rows.AHEAD`), so that nothing but the database is waited for while it is held."""
    head = session.execute(
        select(AuditChainHead.seq, AuditChainHead.row_hash)
        .where(AuditChainHead.id == HEAD_ID)
        .with_for_update(),
        execution_options={rows.AHEAD: _ahead(events)},
    ).one_or_none()
    if head is None:
        _start_head(session)
        return 0, GENESIS_HASH
    return int(head.seq), str(head.row_hash)


def _link_here(session: Session, events: list[AuditEvent]) -> None:
    """Link ``events`` in Python under the head's lock; the commit's flush writes them."""
    seq, prev = _lock_head(session, events)
    for item in events:
        seq += 1
        item.seq = seq
        item.prev_hash = prev
        item.row_hash = prev = event_hash(prev, **_fields(item))
    session.execute(
        update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(seq=seq, row_hash=prev)
    )


def _concat(*parts: ColumnElement[Any]) -> ColumnElement[bytes]:
    """``a || b || ...`` of byte strings."""
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.op("||", return_type=LargeBinary)(part)
    return joined


@functools.cache
def _link_statement(*, written: bool) -> Any:
    """Return the one statement that appends an event to the chain in the database: it locks
    the head, writes the event (``written``: the row ``event_id`` already there; else a new row of
    the parameters named by :data:`_WRITTEN_FIELDS`) with the link and the hash the database
    computes over the bytes around the link (parameters ``before``, ``between``, ``after``:
    :func:`canonical_around_link`), and moves the head; it returns the event's id and link.
    Built once: each event only binds its values."""
    head = (
        select(AuditChainHead.seq, AuditChainHead.row_hash)
        .where(AuditChainHead.id == HEAD_ID)
        .with_for_update()
        .cte("head")
    )
    seq = head.c.seq + 1

    def utf8(text_value: ColumnElement[Any]) -> ColumnElement[bytes]:
        return func.convert_to(text_value, literal_column("'UTF8'"), type_=LargeBinary)

    digest = func.encode(
        func.sha256(
            _concat(
                bindparam("before", type_=LargeBinary),
                utf8(head.c.row_hash),
                bindparam("between", type_=LargeBinary),
                utf8(cast(seq, Text)),
                bindparam("after", type_=LargeBinary),
            ),
            type_=LargeBinary,
        ),
        literal_column("'hex'"),
        type_=String,
    )
    linked = select(
        seq.label("seq"), head.c.row_hash.label("prev_hash"), digest.label("row_hash")
    ).cte("linked")
    table = AuditEvent.__table__
    written_event: Any
    if written:
        link = {name: select(column).scalar_subquery() for name, column in linked.c.items()}
        written_event = update(table).where(table.c.id == bindparam("event_id")).values(**link)
    else:
        values = [bindparam(name, type_=table.c[name].type) for name in _WRITTEN_FIELDS]
        written_event = insert(table).from_select(
            [*_WRITTEN_FIELDS, *linked.c.keys()], select(*values, *linked.c)
        )
    event_cte = written_event.returning(
        table.c.id, table.c.seq, table.c.prev_hash, table.c.row_hash
    ).cte("event")
    # The head moves to the event. Its new values come from the event, not joined to it: a
    # condition on the head would be read from the version before a concurrent writer's, and
    # skip the head that writer left (locked above) instead of moving it.
    head_table = AuditChainHead.__table__
    moved = {name: select(event_cte.c[name]).scalar_subquery() for name in ("seq", "row_hash")}
    return (
        update(head_table)
        .where(head_table.c.id == HEAD_ID)
        .values(**moved)
        .returning(
            select(event_cte.c.id).scalar_subquery().label("id"),
            head_table.c.seq,
            select(event_cte.c.prev_hash).scalar_subquery().label("prev_hash"),
            head_table.c.row_hash,
        )
    )


def _link_in_database(
    session: Session, events: list[AuditEvent], ahead: dict[str, tuple[str, ...]]
) -> None:
    """Link ``events`` in the database, each with one statement (:func:`_link_statement`), so
    that the head's lock is held from the first of them to the commit through no round trip
    and no work in Python (PostgreSQL, where writers wait for that lock in turn)."""
    options = {rows.AHEAD: ahead}
    for item in events:
        written = inspect(item).persistent
        fields = _written(item)
        before, between, after = canonical_around_link(**fields)
        values = {"before": before, "between": between, "after": after}
        values.update({"event_id": item.id} if written else fields)
        statement = _link_statement(written=written)
        row = session.execute(statement, values, execution_options=options).one_or_none()
        if row is None:  # no head row yet
            _start_head(session)
            row = session.execute(statement, values, execution_options=options).one()
        if written:
            for name in ("seq", "prev_hash", "row_hash"):
                set_committed_value(item, name, getattr(row, name))
            continue
        # The row is in the database: the object becomes it, with nothing left to flush.
        item.id, item.seq, item.prev_hash, item.row_hash = (
            row.id,
            row.seq,
            row.prev_hash,
            row.row_hash,
        )
        make_transient_to_detached(item)
        session.add(item)


def _chain(session: Session) -> None:
    """Give the transaction's new audit events their links (runs just before the commit)."""
    # Events of a rolled-back transaction (or savepoint) are no longer in the session: the
    # state check below leaves them out.
    candidates = session.info.pop(_PENDING, [])
    if session.info.get(DEFER_CHAIN):
        return
    events = []
    for item in candidates:
        state = inspect(item)
        if (state.pending or state.persistent) and not state.deleted and item.seq is None:
            events.append(item)
    if not events:
        return
    session.info[_CHAINING] = True
    try:
        # Write everything else first, so that no row lock is taken after the chain's lock
        # (two transactions could otherwise wait for each other). Events not yet written
        # stay out of this flush and are written with their links.
        unwritten = [e for e in events if inspect(e).pending]
        for item in unwritten:
            session.expunge(item)
        session.flush()
        for item in events:
            if item.at is None:
                item.at = utcnow()
            if item.reason is None:
                item.reason = ""
        ahead = _ahead(events)
        # The database links them when the events' parts of the trail are known to announce
        # (and the session does not ask for Python: a batch, LINK_IN_PYTHON).
        in_database = AuditEvent.__tablename__ in ahead and not session.info.get(LINK_IN_PYTHON)
        if session.connection().dialect.name == "postgresql" and in_database:
            _link_in_database(session, events, ahead)
        else:  # SQLite: the transaction holds the database's write lock anyway
            _link_here(session, events)
            session.add_all(unwritten)
    finally:
        session.info.pop(_CHAINING, None)


def chain_unchained(session: Session, *, chunk: int = 1000) -> int:
    """Append the events written without a link to the chain, oldest first (commits).

    For history that had to be written before its times were known (the demo's) or before
    the chain existed; the migration does the same for the events it finds. Returns how
    many events were appended.
    """
    session.flush()
    ids = session.scalars(
        select(AuditEvent.id).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    if not ids:
        return 0
    seq, prev = _lock_head(session)
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        rows = {e.id: e for e in session.scalars(select(AuditEvent).where(AuditEvent.id.in_(part)))}
        for event_id in part:
            item = rows[event_id]
            seq += 1
            item.seq = seq
            item.prev_hash = prev
            item.row_hash = prev = event_hash(prev, **_fields(item))
        session.flush()
    session.execute(
        update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(seq=seq, row_hash=prev)
    )
    session.commit()
    return len(ids)


event.listen(Session, "transient_to_pending", _collect)
event.listen(Session, "before_commit", _chain)


@dataclass(frozen=True)
class BrokenLink:
    """Where the chain breaks and why (in Chinese and English)."""

    seq: int | None
    event_id: int | None
    problem_zh: str
    problem_en: str


@dataclass(frozen=True)
class ChainReport:
    """What a verification found: events checked, the head, and the first broken link."""

    checked: int
    head_seq: int
    head_hash: str
    broken: BrokenLink | None

    @property
    def ok(self) -> bool:
        """True when every link holds."""
        return self.broken is None


_COLUMNS = (
    AuditEvent.id,
    AuditEvent.seq,
    AuditEvent.at,
    AuditEvent.actor_id,
    AuditEvent.action,
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.from_state,
    AuditEvent.to_state,
    AuditEvent.reason,
    AuditEvent.data,
    AuditEvent.prev_hash,
    AuditEvent.row_hash,
)


def _rows(session: Session, batch: int) -> Iterator[Any]:
    """Yield the chained events in chain order, ``batch`` at a time (keyset pagination)."""
    last = 0
    while True:
        rows = session.execute(
            select(*_COLUMNS)
            .where(AuditEvent.seq.is_not(None), AuditEvent.seq > last)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    """Recompute every link of the audit chain; report the first broken one, if any."""
    head = session.execute(
        select(AuditChainHead.seq, AuditChainHead.row_hash).where(AuditChainHead.id == HEAD_ID)
    ).one_or_none()
    head_seq, head_hash = (int(head.seq), str(head.row_hash)) if head else (0, GENESIS_HASH)
    expected, prev, checked = 1, GENESIS_HASH, 0

    def report(broken: BrokenLink | None) -> ChainReport:
        return ChainReport(checked, head_seq, head_hash, broken)

    for row in _rows(session, batch):
        if row.seq != expected:
            return report(
                BrokenLink(
                    expected,
                    None,
                    f"缺少第 {expected} 至 {row.seq - 1} 条事件（已被删除）。",
                    f"Events {expected} to {row.seq - 1} are missing (deleted).",
                )
            )
        if row.prev_hash != prev:
            return report(
                BrokenLink(
                    row.seq,
                    row.id,
                    "与前一条事件的链接不符（前一条被改动或替换）。",
                    "The link to the previous event does not match (it was changed or replaced).",
                )
            )
        if event_hash(prev, **_fields(row)) != row.row_hash:
            return report(
                BrokenLink(
                    row.seq,
                    row.id,
                    "事件内容与其哈希不符（该条被改动）。",
                    "The event's content does not match its hash (the event was changed).",
                )
            )
        prev, expected, checked = row.row_hash, expected + 1, checked + 1
    last_seq = expected - 1
    if (last_seq, prev) != (head_seq, head_hash):
        return report(
            BrokenLink(
                min(last_seq, head_seq) + 1,
                None,
                f"链头记录为第 {head_seq} 条，但事件只到第 {last_seq} 条（末尾事件被删除或链头被改动）。",
                f"The head says {head_seq} events but the chain ends at {last_seq} "
                "(events removed at the end, or the head was changed).",
            )
        )
    unchained = session.scalar(
        select(AuditEvent.id).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id).limit(1)
    )
    if unchained is not None:
        return report(
            BrokenLink(
                None,
                unchained,
                f"事件 id={unchained} 不在链中（绕过平台直接写入）。",
                f"Event id={unchained} is not in the chain (written around the portal).",
            )
        )
    return report(None)
