"""Paging of long lists: one page of rows and where it stands (LIMIT/OFFSET with ORDER BY)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption


@dataclass
class Page:
    """One page of a list with its position."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Return the number of pages (at least 1)."""
        return max(1, math.ceil(self.total / self.per_page))


def paginate(
    session: Session,
    stmt: Select[Any],
    *,
    page: int,
    per_page: int,
    options: Sequence[ORMOption] = (),
) -> Page:
    """Return one page of ``stmt`` (which carries its ORDER BY) and the count of all its rows.

    Two statements whatever the table's size: the count, and the page's rows with
    ``options`` (eager loads of what the page shows).
    """
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = max(1, page)
    items = list(
        session.scalars(stmt.options(*options).limit(per_page).offset((page - 1) * per_page))
    )
    return Page(items, int(total), page, per_page)
