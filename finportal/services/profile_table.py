"""Read every enterprise's profile straight into the matcher's column table, in chunks.

The 政策找企业 push and the publishing what-if match the whole district. Loading ORM objects
and profile dicts first cost ~450 µs a firm (docs/SCALING.md); here the profile columns are
read with SQLAlchemy Core (numbers cast to floats by the database), keyset-paged by id,
and handed to ``products.table.table_from_columns`` as arrays: no ORM object, no dict per
firm. The same fields as :func:`finportal.services.profiles.enterprise_profile`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np
from sqlalchemy import Float, and_, cast, select
from sqlalchemy.orm import Session

from finportal.models import Chamber, Enterprise, Membership, Park
from finportal.services.profiles import PROFILE_FIELDS
from products.fields import NUMERIC_KINDS, field_specs
from products.table import ProfileTable, table_from_columns

#: Rows read and matched at a time: ~100 MB of Python objects per chunk at most.
CHUNK = 50_000


def _columns() -> tuple[list[str], list[str], list[Any]]:
    """Return the numeric and bool field names and the select list (id first)."""
    specs = field_specs()
    numeric = [n for n in PROFILE_FIELDS if specs[n].kind in NUMERIC_KINDS]
    flags = [n for n in PROFILE_FIELDS if specs[n].kind == "bool"]
    selected: list[Any] = [Enterprise.id]
    for name in PROFILE_FIELDS:
        column = getattr(Enterprise, name)
        selected.append(cast(column, Float) if name in numeric else column)
    return numeric, flags, selected


def _flags(values: list[Any]) -> np.ndarray[Any, np.dtype[np.int8]]:
    """Return yes/no values as int8: 1, 0, and -1 where missing."""
    out = np.full(len(values), -1, dtype=np.int8)
    for i, value in enumerate(values):
        if value is not None:
            out[i] = 1 if value else 0
    return out


def _memberships(session: Session, low: int, high: int) -> dict[int, tuple[list[str], list[str]]]:
    """Return {enterprise id: (park codes, chamber codes)} of the firms with ids low..high."""
    out: dict[int, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    rows = session.execute(
        select(Membership.enterprise_id, Park.code, Chamber.code)
        .outerjoin(Park, Membership.park_id == Park.id)
        .outerjoin(Chamber, Membership.chamber_id == Chamber.id)
        .where(and_(Membership.enterprise_id >= low, Membership.enterprise_id <= high))
        .order_by(Membership.enterprise_id, Membership.id)
    )
    for enterprise_id, park, chamber in rows:
        parks, chambers = out[enterprise_id]
        if park is not None:
            parks.append(park)
        if chamber is not None:
            chambers.append(chamber)
    return out


def iter_tables(session: Session, chunk: int = CHUNK) -> Iterator[ProfileTable]:
    """Yield the profiles of every enterprise as column tables of up to ``chunk`` rows, by id.

    Each table's ``ids`` are the enterprise ids (a list of ints).
    """
    numeric, flags, selected = _columns()
    last = 0
    while True:
        rows = session.execute(
            select(*selected).where(Enterprise.id > last).order_by(Enterprise.id).limit(chunk)
        ).all()
        if not rows:
            return
        by_column = list(zip(*rows, strict=True))
        ids = [int(i) for i in by_column[0]]
        members = _memberships(session, ids[0], ids[-1])
        columns: dict[str, Any] = {}
        for index, name in enumerate(PROFILE_FIELDS, start=1):
            values = list(by_column[index])
            if name in numeric:
                # None becomes NaN in a float array: the matcher's "missing".
                columns[name] = np.array(values, dtype=np.float64)
            elif name in flags:
                columns[name] = _flags(values)
            elif name == "certifications":
                columns[name] = [v or [] for v in values]
            else:
                columns[name] = values
        no_members: tuple[list[str], list[str]] = ([], [])
        columns["park_codes"] = [members.get(i, no_members)[0] for i in ids]
        columns["chamber_codes"] = [members.get(i, no_members)[1] for i in ids]
        yield table_from_columns(columns, n=len(ids), ids=ids)
        last = ids[-1]
        if len(ids) < chunk:
            return
