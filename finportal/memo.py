"""Process-wide memos of values that depend only on their key.

A parsed product version, a version's example quote, a rendered dashboard or catalogue body:
each is the same for every request that has the same key (a stored version never changes; a
new snapshot, publish or LPR is a new key), so each process computes it once and keeps the
most recently used ones. The key must hold everything the value depends on — the reader's
language for rendered text — and nothing of one user, since every user shares the memo.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

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
