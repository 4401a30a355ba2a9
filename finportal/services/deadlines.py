"""Paused deadline clocks: the one rule for "the clock stops while the firm supplies information".

When the advisor returns an application (``returned``) or a bank asks for information
(``info_requested``), the work waits on the firm, so the clock of whoever waits (the
advisor's first response, the bank's answer) must not run out meanwhile. The states where
this happens carry the tag ``paused`` in ``domain/states.py``; ``services/workflow.move``
calls :func:`follow` on every step, so no service pauses or resumes a clock by hand:

- entering a ``paused`` state stops the clock (``clock_paused_at`` = now);
- leaving it resumes the clock with the working time it had left when it stopped: the new
  deadline is that much working time after now (``services/workdays.add_working_time``);
  a clock that had already run out when it stopped stays as late as it was.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from finportal.domain.states import Machine, State
from finportal.models import utcnow
from finportal.services.workdays import add_working_time, holiday_table, working_time_between

#: The tag of the states in which a clock stands still.
PAUSED = "paused"
#: Per machine, the attribute holding the deadline that pauses.
DUE_COLUMNS = {"application": "first_response_due_at", "referral": "due_at"}


def is_paused(machine: Machine[State], state: str) -> bool:
    """Tell whether a record in ``state`` has its clock stopped."""
    return PAUSED in machine.info[machine.state(state)].tags


def resumed_deadline(
    due: datetime, paused_at: datetime, now: datetime, table: dict[Any, bool]
) -> datetime:
    """Return the deadline of a clock stopped at ``paused_at`` and started again ``now``."""
    if due <= paused_at:
        return due
    return add_working_time(now, working_time_between(paused_at, due, table), table)


def follow(
    session: Session,
    machine: Machine[State],
    record: Any,
    source: str,
    target: str,
    now: datetime | None = None,
) -> None:
    """Stop or start ``record``'s clock for its step from ``source`` to ``target``."""
    column = DUE_COLUMNS.get(machine.name)
    if column is None or not hasattr(record, "clock_paused_at"):
        return
    was, will = is_paused(machine, source), is_paused(machine, target)
    if will and not was:
        record.clock_paused_at = now or utcnow()
    elif was and not will and record.clock_paused_at is not None:
        due = getattr(record, column)
        if due is not None:
            setattr(
                record,
                column,
                resumed_deadline(
                    due, record.clock_paused_at, now or utcnow(), holiday_table(session)
                ),
            )
        record.clock_paused_at = None
