"""Move a record from one state to another by the rules of its machine, audited."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from finportal.domain.states import Machine, State
from finportal.services import deadlines
from finportal.services.audit import record_event
from finportal.services.errors import Conflict, InvalidTransition


class Stateful(Protocol):
    """A record with an id and a stored state code."""

    id: Any
    state: Any


def refusal(machine: Machine[State], source: str, target: str) -> InvalidTransition:
    """Return the error of a step the machine does not allow, in both languages."""
    return InvalidTransition(
        f"{machine.noun_zh}当前状态为“{machine.title(source, 'zh_CN')}”，"
        f"不能变为“{machine.title(target, 'zh_CN')}”。",
        f"A {machine.noun_en} that is {machine.title(source, 'en').lower()} cannot become "
        f"{machine.title(target, 'en').lower()}.",
    )


def require(machine: Machine[State], source: str, target: str, by: str) -> None:
    """Raise :class:`InvalidTransition` unless ``by`` may move ``source`` to ``target``."""
    if not machine.can(source, target, by):
        raise refusal(machine, source, target)


def move(
    session: Session,
    machine: Machine[State],
    record: Stateful,
    target: str,
    *,
    by: str,
    actor_id: int | None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    action: str | None = None,
    column: str = "state",
) -> str:
    """Move ``record`` to ``target`` if ``by`` may; audit the step; return the old state.

    The audit event is ``<machine>.<target>`` unless ``action`` names another; ``column``
    names the attribute that holds the state when it is not ``state``.
    """
    source = str(getattr(record, column))
    require(machine, source, target, by)
    setattr(record, column, str(target))
    if column == "state":
        # A clock stops while the firm is asked for information, and resumes after.
        deadlines.follow(session, machine, record, source, str(target))
    record_event(
        session,
        actor_id=actor_id,
        action=action or f"{machine.name}.{target}",
        object_type=machine.name,
        object_id=record.id,
        from_state=source,
        to_state=str(target),
        reason=reason,
        data=data,
    )
    return source


def commit_or_conflict(session: Session, message_zh: str, message_en: str) -> None:
    """Commit; when someone changed the same record first (optimistic locking), roll back and
    raise :class:`Conflict` with the message: nothing of this action is saved."""
    try:
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise Conflict(message_zh, message_en) from exc
