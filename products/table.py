"""A columnar table of enterprise profiles (and requests) for the vectorised matcher."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from products.derive import (
    is_missing,
    read_bool,
    read_category,
    read_date,
    read_number,
    read_tokens,
    uscc_area,
)
from products.fields import NUMERIC_KINDS, field_specs
from products.sizes import industry_digits

Int8s = NDArray[np.int8]
Int32s = NDArray[np.int32]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
Words = NDArray[np.uint64]


@dataclass
class Category:
    """A category column: integer codes into ``vocab``, -1 when missing."""

    codes: Int32s
    vocab: tuple[str, ...]


@dataclass
class Tokens:
    """A list column as bit masks over ``vocab`` (n x words); ``known`` False when missing."""

    masks: Words
    known: Bools
    vocab: tuple[str, ...]

    def mask_of(self, values: Iterable[str]) -> Words:
        """Return the bit mask (one row of words) of some token values."""
        index = {v: i for i, v in enumerate(self.vocab)}
        words = np.zeros(self.masks.shape[1], dtype=np.uint64)
        for value in values:
            if value in index:
                i = index[value]
                words[i // 64] |= np.uint64(1) << np.uint64(i % 64)
        return words


@dataclass
class ProfileTable:
    """Profiles (and requests) of n enterprises, one array per field.

    Numbers are float64 with NaN for missing; yes/no fields int8 (1, 0, -1 missing);
    categories are codes into a vocabulary (-1 missing); lists are bit masks.
    ``industry_code`` holds normalised digits, ``uscc_area`` the USCC area code,
    ``registered_on`` is split into ``registered_year`` and ``registered_mmdd``.
    """

    n: int
    numeric: dict[str, Floats] = field(default_factory=dict)
    flags: dict[str, Int8s] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    tokens: dict[str, Tokens] = field(default_factory=dict)
    registered_year: Int32s | None = None
    registered_mmdd: Int32s | None = None
    ids: Sequence[Any] | None = None
    # Text fields (uscc, name, industry_code): only whether they are filled in.
    text_present: dict[str, Bools] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.n

    def slice(self, start: int, stop: int) -> ProfileTable:
        """Return rows start..stop as a table of array views (no copy)."""
        stop = min(stop, self.n)
        return ProfileTable(
            n=stop - start,
            numeric={k: v[start:stop] for k, v in self.numeric.items()},
            flags={k: v[start:stop] for k, v in self.flags.items()},
            categories={
                k: Category(v.codes[start:stop], v.vocab) for k, v in self.categories.items()
            },
            tokens={
                k: Tokens(v.masks[start:stop], v.known[start:stop], v.vocab)
                for k, v in self.tokens.items()
            },
            registered_year=None
            if self.registered_year is None
            else self.registered_year[start:stop],
            registered_mmdd=None
            if self.registered_mmdd is None
            else self.registered_mmdd[start:stop],
            ids=None if self.ids is None else self.ids[start:stop],
            text_present={k: v[start:stop] for k, v in self.text_present.items()},
        )

    def rows(self, indices: Iterable[int]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Decode rows back into (profile, request) dicts, e.g. for the one-by-one path."""
        specs = field_specs()
        out: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for i in indices:
            profile: dict[str, Any] = {}
            request: dict[str, Any] = {}
            for name, spec in specs.items():
                if spec.origin == "derived":
                    continue
                target = profile if spec.origin == "profile" else request
                target[name] = self._value(name, spec.kind, int(i))
            if "name" in self.text_present and self.text_present["name"][i]:
                profile["name"] = "(name)"
            area = self.categories.get("uscc_area")
            if area is not None and area.codes[i] >= 0:
                # Only the area code survives encoding; rebuild a USCC-shaped string.
                profile["uscc"] = f"91{area.vocab[area.codes[i]]}0000000000"
            out.append((profile, request))
        return out

    def _value(self, name: str, kind: str, i: int) -> Any:
        if kind in NUMERIC_KINDS:
            column = self.numeric.get(name)
            if column is None or np.isnan(column[i]):
                return None
            return float(column[i])
        if kind == "bool":
            flag = self.flags.get(name)
            return None if flag is None or flag[i] < 0 else bool(flag[i] == 1)
        if kind == "category" or name == "industry_code":
            cat = self.categories.get(name)
            return None if cat is None or cat.codes[i] < 0 else cat.vocab[cat.codes[i]]
        if kind == "tokens":
            tok = self.tokens.get(name)
            if tok is None or not tok.known[i]:
                return None
            return [
                v for j, v in enumerate(tok.vocab) if int(tok.masks[i, j // 64]) >> (j % 64) & 1
            ]
        if name == "registered_on":
            if self.registered_year is None or self.registered_year[i] < 0:
                return None
            mmdd = int(self.registered_mmdd[i]) if self.registered_mmdd is not None else 101
            return dt.date(int(self.registered_year[i]), mmdd // 100, mmdd % 100)
        return None


def _as_list(column: Any) -> list[Any]:
    if hasattr(column, "tolist"):
        return list(column.tolist())
    return list(column)


def _numeric(name: str, column: Any, n: int) -> Floats:
    if isinstance(column, np.ndarray) and column.dtype.kind in "iuf":
        return column.astype(np.float64, copy=False)
    to_numpy = getattr(column, "to_numpy", None)
    dtype = getattr(column, "dtype", None)
    if to_numpy is not None and getattr(dtype, "kind", "O") in "iuf":
        return np.asarray(to_numpy(dtype=np.float64, na_value=np.nan))
    values = [read_number(name, v) for v in _as_list(column)]
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _flags(name: str, column: Any) -> Int8s:
    if isinstance(column, np.ndarray) and column.dtype.kind == "b":
        return column.astype(np.int8)
    if isinstance(column, np.ndarray) and column.dtype == np.int8:
        # Already coded as the table keeps it: 1 yes, 0 no, -1 missing.
        return column
    values = [read_bool(name, v) for v in _as_list(column)]
    return np.array([-1 if v is None else int(v) for v in values], dtype=np.int8)


def _category(values: list[str | None]) -> Category:
    index: dict[str, int] = {}
    codes = np.empty(len(values), dtype=np.int32)
    for i, value in enumerate(values):
        if value is None:
            codes[i] = -1
        else:
            code = index.get(value)
            if code is None:
                code = index[value] = len(index)
            codes[i] = code
    return Category(codes, tuple(index))


def _tokens(name: str, column: Any) -> Tokens:
    # A district has few distinct lists (certifications, memberships): read and encode each
    # distinct hashable value once, then pick rows by index.
    raw = _as_list(column)
    distinct: dict[Any, int] = {}
    readings: list[tuple[str, ...] | None] = []
    index = np.empty(len(raw), dtype=np.intp)
    for i, value in enumerate(raw):
        try:
            position = distinct.get(value)
        except TypeError:  # a list: read it on its own
            position = None
            key = None
        else:
            key = value
        if position is None:
            position = len(readings)
            readings.append(read_tokens(name, value))
            if key is not None or value is None:
                distinct[key] = position
        index[i] = position
    vocab: dict[str, int] = {}
    for reading in readings:
        for token in reading or ():
            vocab.setdefault(token, len(vocab))
    words = max(1, (len(vocab) + 63) // 64)
    masks = np.zeros((len(readings), words), dtype=np.uint64)
    known = np.zeros(len(readings), dtype=np.bool_)
    for i, reading in enumerate(readings):
        if reading is None:
            continue
        known[i] = True
        for token in reading:
            j = vocab[token]
            masks[i, j // 64] |= np.uint64(1) << np.uint64(j % 64)
    return Tokens(masks[index], known[index], tuple(vocab))


def _each_distinct(values: Sequence[Any], name: str, read: Any) -> list[Any]:
    """Apply ``read(name, value)`` once per distinct value (a district repeats its codes)."""
    seen: dict[Any, Any] = {}
    out = []
    for value in values:
        try:
            result = seen[value]
        except KeyError:
            result = seen[value] = read(name, value)
        except TypeError:  # unhashable: read on its own
            result = read(name, value)
        out.append(result)
    return out


def _dates(column: Any) -> tuple[Int32s, Int32s]:
    values = _each_distinct(_as_list(column), "registered_on", read_date)
    years = np.array([-1 if d is None else d.year for d in values], dtype=np.int32)
    mmdd = np.array([-1 if d is None else d.month * 100 + d.day for d in values], dtype=np.int32)
    return years, mmdd


def table_from_columns(
    columns: Mapping[str, Any], n: int | None = None, ids: Sequence[Any] | None = None
) -> ProfileTable:
    """Build a table from raw columns (field name -> sequence, array or Series); absent fields are missing."""
    lengths = {len(v) for v in columns.values()}
    if n is None:
        if len(lengths) != 1:
            raise ValueError(f"columns have different lengths: {sorted(lengths)}")
        n = lengths.pop()
    elif lengths and lengths != {n}:
        raise ValueError(f"columns must all have {n} rows, got lengths {sorted(lengths)}")
    table = ProfileTable(n=n, ids=ids)
    specs = field_specs()
    for name, spec in specs.items():
        if spec.origin == "derived":
            continue
        column = columns.get(name)
        if spec.kind in NUMERIC_KINDS:
            table.numeric[name] = (
                np.full(n, np.nan) if column is None else _numeric(name, column, n)
            )
        elif spec.kind == "bool":
            table.flags[name] = np.full(n, -1, np.int8) if column is None else _flags(name, column)
        elif spec.kind == "category":
            values = [None] * n if column is None else _as_list(column)
            table.categories[name] = _category(_each_distinct(values, name, read_category))
        elif spec.kind == "tokens":
            table.tokens[name] = _tokens(name, [None] * n if column is None else column)
        elif spec.kind == "text":
            values = [None] * n if column is None else _as_list(column)
            table.text_present[name] = np.array([not is_missing(v) for v in values], dtype=np.bool_)
    industry = (
        [None] * n if columns.get("industry_code") is None else _as_list(columns["industry_code"])
    )
    table.categories["industry_code"] = _category(
        _each_distinct(industry, "industry_code", lambda _name, v: industry_digits(v))
    )
    uscc = [None] * n if columns.get("uscc") is None else _as_list(columns["uscc"])
    table.categories["uscc_area"] = _category([uscc_area(v) for v in uscc])
    if columns.get("registered_on") is not None:
        table.registered_year, table.registered_mmdd = _dates(columns["registered_on"])
    else:
        table.registered_year = np.full(n, -1, np.int32)
        table.registered_mmdd = np.full(n, -1, np.int32)
    return table


def profiles_to_table(
    profiles: Sequence[Mapping[str, Any]],
    requests: Sequence[Mapping[str, Any] | None] | None = None,
    ids: Sequence[Any] | None = None,
) -> ProfileTable:
    """Turn a list of profile dicts (and optional request dicts) into a columnar table."""
    if requests is not None and len(requests) != len(profiles):
        raise ValueError("requests must have one entry per profile (or None)")
    columns: dict[str, list[Any]] = {}
    for name, spec in field_specs().items():
        if spec.origin == "profile":
            columns[name] = [p.get(name) for p in profiles]
        elif spec.origin == "request" and requests is not None:
            columns[name] = [None if r is None else r.get(name) for r in requests]
    return table_from_columns(columns, n=len(profiles), ids=ids)


def table_from_frame(frame: Any, ids: Sequence[Any] | None = None) -> ProfileTable:
    """Build a table from a pandas DataFrame whose columns use the profile/request field names."""
    columns = {name: frame[name] for name in frame.columns if name in field_specs()}
    if ids is None:
        ids = frame["uscc"].tolist() if "uscc" in frame.columns else frame.index.tolist()
    return table_from_columns(columns, n=len(frame), ids=ids)


def as_table(data: Any) -> ProfileTable:
    """Accept a ProfileTable, a DataFrame, a list of profile dicts or a dict of columns."""
    if isinstance(data, ProfileTable):
        return data
    if hasattr(data, "columns") and hasattr(data, "index"):
        return table_from_frame(data)
    if isinstance(data, Mapping):
        return table_from_columns(data)
    if isinstance(data, Sequence) and all(isinstance(p, Mapping) for p in data):
        return profiles_to_table(data)
    raise TypeError(f"cannot read a profile table from {type(data).__name__}")


__all__ = [
    "Category",
    "ProfileTable",
    "Tokens",
    "as_table",
    "is_missing",
    "profiles_to_table",
    "table_from_columns",
    "table_from_frame",
]
