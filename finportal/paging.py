"""Paging of long lists: one page of rows and where it stands (LIMIT/OFFSET with ORDER BY)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy import inspect as sa_inspect
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
        return page_count(self.total, self.per_page)


def page_count(total: int, per_page: int) -> int:
    """Return how many pages ``total`` rows fill (at least 1: an empty list has its page)."""
    return max(1, math.ceil(total / per_page))


def shown_page(page: int, total: int, per_page: int) -> int:
    """Return the page a list shows when asked for ``page``: a page past the last is the last.

    The one rule of every paged list (with :func:`finportal.limits.page_number`, which
    refuses what is not a page number): a list of no rows shows its empty first page.
    """
    return min(max(1, page), page_count(total, per_page))


def paginate(
    session: Session,
    stmt: Select[Any],
    *,
    page: int,
    per_page: int,
    options: Sequence[ORMOption] = (),
    keys_first: bool = False,
    show_last: bool = True,
) -> Page:
    """Return one page of ``stmt`` (which carries its ORDER BY) and the count of all its rows.

    Two statements whatever the table's size: the count, and the page's rows with
    ``options`` (eager loads of what the page shows). With ``keys_first`` (``stmt`` selects
    one mapped class), three: the count; the primary keys of the page's rows, in order (a
    deferred join: the database sorts and skips narrow rows, which an index can give without
    reading the table); then those rows, in the same order. For rows with large columns:
    sorting whole applications (JSON snapshots and all) to keep fifty of thousands cost the
    advisor's queue 15–20 ms of PostgreSQL time per request at scale. For narrow rows the
    extra statement costs more than it saves (a bank's inbox, the API list). A page past
    the last is the last (:func:`shown_page`: the pages' rule); with ``show_last=False``
    it is empty (the API's rule: its clients read pages until one comes back empty).
    """
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = shown_page(page, total, per_page) if show_last else max(1, page)
    window = stmt.limit(per_page).offset((page - 1) * per_page)
    if not keys_first:
        return Page(list(session.scalars(window.options(*options))), int(total), page, per_page)
    (key,) = sa_inspect(stmt.column_descriptions[0]["entity"]).primary_key
    ids = list(session.scalars(window.with_only_columns(key)))
    items = list(session.scalars(stmt.where(key.in_(ids)).options(*options))) if ids else []
    return Page(items, int(total), page, per_page)
