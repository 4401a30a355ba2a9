"""Parts of a table: the rows of one record in a big table (the audit trail, referrals, users).

A page that shows the history of one application reads that application's audit events,
not the million others; the bank's page of one referral reads that referral. The page
cache (``finportal/page_cache.py``) follows writes per table, so without this every event
written anywhere — a bank opening any referral — would make every such page stale, and so
would every referral a bank opens for the first time (it moves to viewed). A *part* names
the rows of one record (``referral:42``) or of one record and action
(``referral:42/referral.info_supplied``) in the trail, and one row of the referrals
(``referral:42``), of the users (``user:7``: the signed-in user every page reads, so that
a page stays kept while others change theirs) and of their sign-in states (``sign_in:7``):

- a statement that reads only some parts of a table says so with the execution option
  :data:`OPTION` (``{table: (part, ...)}``), set where its ``WHERE`` is written
  (:func:`finportal.services.audit.events_of`);
- a row the ORM writes to such a table names its parts (:data:`PARTS_OF_ROW`), so the
  cache moves those parts on; any other write to the table (core SQL, ``COPY``, an update of
  many rows) moves every part at once.

No Flask here: services set the option, the page cache reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

#: The execution option naming the parts of tables a statement reads: ``{table: parts}``.
OPTION = "finportal_rows"
#: The execution option naming what a statement and its transaction after it write, ahead of
#: it: ``{table: parts}`` (no parts: the table). The page cache notes them written before
#: the statement runs, so that the writes tell Redis nothing more: a lock the statement takes
#: (the audit chain's head) is then held through no Redis round trip. A writing statement
#: that carries it writes nothing it does not name (its SQL is not parsed for its tables).
AHEAD = "finportal_rows_ahead"


#: The audit action of a bank's view of a referral after its first (which moves it to viewed).
REFERRAL_OPENED = "referral.opened"
#: Actions recorded on each view of a record, that change nothing: object type -> actions.
#: Their events are in their record-and-action part only (``referral:42/referral.opened``),
#: not in the record's: a page showing the record's history without them (the firm's
#: timeline) stays kept while a bank opens the referral again and again. A statement that
#: reads a record's history with them names those parts too (``audit.events_of``).
VIEW_ACTIONS: dict[str, frozenset[str]] = {"referral": frozenset({REFERRAL_OPENED})}
#: Every action of :data:`VIEW_ACTIONS`, whatever its record: a history as pages show it leaves
#: them out, and the trail's index of histories holds no event of theirs
#: (``models.records.without_views``).
EVERY_VIEW_ACTION: tuple[str, ...] = tuple(sorted(set().union(*VIEW_ACTIONS.values())))


def event_parts(
    object_type: str, object_ids: Iterable[int | None], action: str | None = None
) -> tuple[str, ...]:
    """Return the parts of the audit trail holding the events of these records (of one
    ``action`` if named)."""
    return tuple(
        f"{object_type}:{object_id}" + (f"/{action}" if action else "") for object_id in object_ids
    )


def _event_row_parts(values: dict[str, Any]) -> tuple[str, ...]:
    """The parts an audit event belongs to: its record's, and its record's for its action
    (KeyError or TypeError when a value is not loaded or not plain)."""
    object_type, object_id, action = values["object_type"], values["object_id"], values["action"]
    if not isinstance(object_type, str) or not isinstance(action, str):
        raise TypeError("an audit event's object type and action are text")
    if object_id is not None and not isinstance(object_id, int):
        raise TypeError("an audit event's object id is a number")
    if action in VIEW_ACTIONS.get(object_type, ()):
        return event_parts(object_type, [object_id], action)
    return (
        *event_parts(object_type, [object_id]),
        *event_parts(object_type, [object_id], action),
    )


def _one_row(table: str, kind: str, row_id: int) -> dict[str, Any]:
    """The execution options of a statement that reads no row of ``table`` but the one of this
    id (its ``WHERE`` picks the id; other tables it joins are followed whole)."""
    return {OPTION: {table: (f"{kind}:{row_id}",)}}


def one_referral(referral_id: int) -> dict[str, Any]:
    """The options of a statement that reads only this referral's row (the referral page)."""
    return _one_row("referrals", "referral", referral_id)


def one_user(user_id: int) -> dict[str, Any]:
    """The options of a statement that reads only this user's row and sign-in state (the
    signed-in user, loaded on every request): a page then stays kept while other users change
    theirs. Signing in and out writes the sign-in state, which no other page reads."""
    return {OPTION: {"users": (f"user:{user_id}",), "user_sign_ins": (f"sign_in:{user_id}",)}}


#: Tables whose one-row reads say so: table -> the options of a read of the row of this key.
#: The page cache gives them to the ORM's reads of one row by key (``session.get``, a reload
#: of an expired object, a lazy load by key), which do not say it themselves.
ONE_ROW: dict[str, Callable[[int], dict[str, Any]]] = {
    "referrals": one_referral,
    "users": one_user,
    "user_sign_ins": one_user,
}


def _row_by_id(kind: str, key: str = "id") -> Callable[[dict[str, Any]], tuple[str, ...]]:
    """The parts of a table followed by row: a row's is its ``key``'s (KeyError or TypeError
    before it has one: a new row moves every part)."""

    def parts(values: dict[str, Any]) -> tuple[str, ...]:
        row_id = values[key]
        if not isinstance(row_id, int):
            raise TypeError(f"a {kind}'s id is a number")
        return (f"{kind}:{row_id}",)

    return parts


#: The tables read in parts: table -> the parts of one row (given its column values).
PARTS_OF_ROW: dict[str, Callable[[dict[str, Any]], tuple[str, ...]]] = {
    "audit_events": _event_row_parts,
    "referrals": _row_by_id("referral"),
    "users": _row_by_id("user"),
    "user_sign_ins": _row_by_id("sign_in", "user_id"),
}
