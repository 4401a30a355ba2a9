"""Read every enterprise's profile straight into the matcher's column table, in chunks.

The 政策找企业 push and the publishing what-if match the whole district. Loading ORM objects
and profile dicts first cost ~450 µs a firm (docs/SCALING.md); here the profile columns are
read with SQLAlchemy Core (numbers cast to floats by the database), keyset-paged by id,
and handed to ``products.table.table_from_columns`` as arrays: no ORM object, no dict per
firm. The same fields as :func:`finportal.services.profiles.enterprise_profile`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Float, String, and_, cast, select
from sqlalchemy.orm import Session

import products
from finportal.models import Chamber, Enterprise, Membership, Park
from finportal.services.profiles import PROFILE_FIELDS
from finportal.services.public_data.facts import verified_values_between
from products.fields import NUMERIC_KINDS, field_specs
from products.table import ProfileTable, table_from_columns

#: Rows read and matched at a time: ~100 MB of Python objects per chunk at most.
CHUNK = 50_000


def _fetch(session: Session, stmt: Any) -> list[tuple[Any, ...]]:
    """Run a Core select and return the driver's own row tuples.

    SQLAlchemy's per-row processing cost more than the query itself at 100,000 rows; the
    columns read here need none (numbers are cast to floats, JSON to text, and the table's
    readers take SQLite's dates as ISO text and its booleans as 0/1).
    """
    result = session.connection().execute(stmt)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def fields_for(catalog: Iterable[products.Product], extra: Iterable[str] = ()) -> set[str]:
    """Return the profile fields matching ``catalog`` reads (derived fields' inputs too)."""
    specs = field_specs()
    wanted = set(extra)
    for product in catalog:
        for condition in product.conditions:
            wanted.update(leaf.field for leaf in condition.leaves)
    # A derived field is computed from profile fields (fields.yaml "from").
    for name in list(wanted):
        spec = specs.get(name)
        if spec is not None and spec.origin == "derived":
            wanted.update(spec.derived_from)
    return {n for n in wanted if n in specs and specs[n].origin == "profile"}


def _flags(values: Sequence[Any]) -> np.ndarray[Any, np.dtype[np.int8]]:
    """Return yes/no values as int8: 1, 0, and -1 where missing."""
    out = np.full(len(values), -1, dtype=np.int8)
    for i, value in enumerate(values):
        if value is not None:
            out[i] = 1 if value else 0
    return out


def _json_lists(values: Sequence[Any]) -> list[tuple[str, ...]]:
    """Decode JSON list texts (each distinct text once) into tuples."""
    seen: dict[Any, tuple[str, ...]] = {}
    out = []
    for value in values:
        decoded = seen.get(value)
        if decoded is None:
            items = json.loads(value) if isinstance(value, str) else (value or [])
            decoded = seen[value] = tuple(items or ())
        out.append(decoded)
    return out


def _memberships(
    session: Session, low: int, high: int
) -> tuple[dict[int, tuple[str, ...]], dict[int, tuple[str, ...]]]:
    """Return the park codes and the chamber codes of the firms with ids low..high."""
    parks: dict[int, list[str]] = {}
    chambers: dict[int, list[str]] = {}
    rows = _fetch(
        session,
        select(Membership.enterprise_id, Park.code, Chamber.code)
        .outerjoin(Park, Membership.park_id == Park.id)
        .outerjoin(Chamber, Membership.chamber_id == Chamber.id)
        .where(and_(Membership.enterprise_id >= low, Membership.enterprise_id <= high))
        .order_by(Membership.enterprise_id, Membership.id),
    )
    for enterprise_id, park, chamber in rows:
        if park is not None:
            parks.setdefault(enterprise_id, []).append(park)
        if chamber is not None:
            chambers.setdefault(enterprise_id, []).append(chamber)
    return (
        {k: tuple(v) for k, v in parks.items()},
        {k: tuple(v) for k, v in chambers.items()},
    )


def _lay_verified(
    session: Session, columns: dict[str, Any], ids: list[int], specs: dict[str, Any]
) -> None:
    """Put the verified values of public data in force over the declared columns (issue 14).

    The same values :func:`finportal.services.profiles.enterprise_profile` lays over one
    firm's profile (``services/public_data/facts.py``), read for the chunk's id range.
    """
    verified = verified_values_between(session, ids[0], ids[-1])
    if not verified:
        return
    index = {firm: i for i, firm in enumerate(ids)}
    for firm, values in verified.items():
        row = index.get(firm)
        if row is None:
            continue
        for name, value in values.items():
            if name not in columns:
                continue
            kind = specs[name].kind
            if kind in NUMERIC_KINDS:
                columns[name][row] = float(value)
            elif kind == "bool":
                columns[name][row] = 1 if value else 0
            else:
                if not isinstance(columns[name], list):
                    columns[name] = list(columns[name])
                columns[name][row] = value


def iter_tables(
    session: Session, chunk: int = CHUNK, fields: Iterable[str] | None = None
) -> Iterator[ProfileTable]:
    """Yield the profiles of every enterprise as column tables of up to ``chunk`` rows, by id.

    ``fields`` limits the columns read to those the caller matches on (``fields_for``); the
    others are left missing. Each table's ``ids`` are the enterprise ids (a list of ints).
    """
    specs = field_specs()
    names = [n for n in PROFILE_FIELDS if fields is None or n in set(fields)]
    members = fields is None or bool({"park_codes", "chamber_codes"} & set(fields))
    selected: list[Any] = [Enterprise.id]
    for name in names:
        column = getattr(Enterprise, name)
        if specs[name].kind in NUMERIC_KINDS:
            column = cast(column, Float)  # the database turns Decimal into float
        elif name == "certifications":
            column = cast(column, String)  # JSON text, decoded once per distinct list
        selected.append(column)
    last = 0
    while True:
        # Core, not the ORM: the driver's rows as tuples, no identity map.
        rows = _fetch(
            session,
            select(*selected).where(Enterprise.id > last).order_by(Enterprise.id).limit(chunk),
        )
        if not rows:
            return
        by_column = list(zip(*rows, strict=True))
        ids = [int(i) for i in by_column[0]]
        columns: dict[str, Any] = {}
        for index, name in enumerate(names, start=1):
            values = by_column[index]
            kind = specs[name].kind
            if kind in NUMERIC_KINDS:
                # None becomes NaN in a float array: the matcher's "missing".
                columns[name] = np.array(values, dtype=np.float64)
            elif kind == "bool":
                columns[name] = _flags(values)
            elif name == "certifications":
                columns[name] = _json_lists(values)
            else:
                columns[name] = values
        _lay_verified(session, columns, ids, specs)
        if members:
            parks, chambers = _memberships(session, ids[0], ids[-1])
            columns["park_codes"] = [parks.get(i, ()) for i in ids]
            columns["chamber_codes"] = [chambers.get(i, ()) for i in ids]
        yield table_from_columns(columns, n=len(ids), ids=ids)
        last = ids[-1]
        if len(ids) < chunk:
            return
