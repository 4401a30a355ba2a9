"""Memos: process-wide ones of values that depend only on their key, and reads once per session.

A parsed product version, a version's example quote, a rendered dashboard or catalogue body:
each is the same for every request that has the same key (a stored version never changes; a
new snapshot, publish or LPR is a new key), so each process computes it once and keeps the
most recently used ones. The key must hold everything the value depends on — the reader's
language for rendered text — and nothing of one user, since every user shares the memo.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from cachetools import LRUCache
from sqlalchemy import event
from sqlalchemy.orm import Session

V = TypeVar("V")

_MISSING = object()


class Memo(Generic[V]):
    """A bounded least-recently-used memo, safe to share between a worker's threads."""

    def __init__(self, maxsize: int) -> None:
        self._values: LRUCache[Hashable, V] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """Return the value kept for ``key``, made (outside the lock) and kept if there is none.

        Two threads that miss at once both make it; the value is the same, so either is kept.
        """
        with self._lock:
            found = self._values.get(key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        value = make()
        with self._lock:
            self._values[key] = value
        return value

    def clear(self) -> None:
        """Forget every value (tests that rebuild the data a key cannot tell apart)."""
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)


#: Where a session keeps what it read once (see :func:`read_once`).
_READ_KEY = "finportal.reads"


def read_once(session: Session, key: Hashable, read: Callable[[], Any]) -> Any:
    """Return ``read()``, read once per session until the session writes or ends its transaction.

    A page asks for the same records from several services (the current catalogue and the
    LPR from the matcher, the completeness meter and the quotes; a firm's verified values
    from each of them through its profile); one request is one session, so they share one
    read. Pending changes, a flush, or the end of the transaction (commit, rollback, close)
    forget it (:func:`_forget_reads`): what a session changed, or what others committed
    before its next transaction, is read afresh. Callers must not change what they get.
    """
    if session.new or session.dirty or session.deleted:  # changes not yet flushed: read them
        return read()
    reads = session.info.setdefault(_READ_KEY, {})
    if key not in reads:
        reads[key] = read()
    return reads[key]


def _forget_reads(session: Session, *_: Any) -> None:
    session.info.pop(_READ_KEY, None)


for _event in ("after_flush", "after_transaction_end", "after_soft_rollback"):
    event.listen(Session, _event, _forget_reads)
