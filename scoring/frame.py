"""Read data the way a spec says and turn it into the model's float matrix."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .spec import Feature, Spec

FloatMatrix = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int8]

_TRUE = {"1", "true", "t", "yes", "y", "是"}
_FALSE = {"0", "false", "f", "no", "n", "否"}


class DataError(ValueError):
    """Data that does not fit the spec (missing columns, no labels, ...)."""


def read_csv(path: str | Path, spec: Spec) -> pd.DataFrame:
    """Read a CSV file with the spec's reading options.

    Parameters
    ----------
    path : str or Path
        The file.
    spec : Spec
        Gives separator, header row, column names and encoding.

    Returns
    -------
    pandas.DataFrame
        Raw columns, nothing encoded yet.
    """
    opts = spec.read
    kwargs: dict[str, Any] = {"sep": opts.sep, "encoding": opts.encoding}
    if opts.sep == " ":
        kwargs["sep"] = r"\s+"
        kwargs["engine"] = "python"
    if not opts.header:
        kwargs["header"] = None
        kwargs["names"] = list(opts.columns or ())
    elif opts.columns:
        kwargs["header"] = 0
        kwargs["names"] = list(opts.columns)
    try:
        return pd.read_csv(path, **kwargs)
    except FileNotFoundError:
        raise DataError(f"no such data file: {path}") from None


def value_key(value: Any) -> str | None:
    """Return the canonical text of a raw value (``None`` when missing)."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating | Decimal):
        f = float(value)
        if math.isnan(f):
            return None
        return str(int(f)) if f.is_integer() else repr(f)
    text = str(value).strip()
    if text == "" or text.lower() in {"nan", "none", "null", "na"}:
        return None
    return text


def to_float(value: Any) -> float:
    """Convert a number given as int, float, Decimal, bool or text; NaN when missing."""
    if value is None:
        return math.nan
    if isinstance(value, bool | np.bool_):
        return 1.0 if value else 0.0
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else math.nan
    text = str(value).strip().replace(",", "")
    try:
        return float(Decimal(text))
    except (InvalidOperation, ValueError):
        return math.nan


def to_bool(value: Any) -> float:
    """Convert yes/no, true/false, 1/0 (and 是/否) to 1.0/0.0; NaN otherwise."""
    key = value_key(value)
    if key is None:
        return math.nan
    k = key.lower()
    if k in _TRUE:
        return 1.0
    if k in _FALSE:
        return 0.0
    number = to_float(k)  # "1.0" from a CSV written by another tool
    return number if number in (0.0, 1.0) else math.nan


def labels(df: pd.DataFrame, spec: Spec) -> npt.NDArray[np.int8]:
    """Return 1 for bad rows and 0 for good ones; raise if a label is missing."""
    col = spec.target.column
    if col not in df.columns:
        raise DataError(f"target column {col!r} not in the data")
    bad = {value_key(v) for v in spec.target.bad_values}
    series = df[col]
    uniq = pd.unique(series)
    mapping: dict[Any, float] = {}
    for v in uniq:
        key = value_key(v)
        mapping[v] = math.nan if key is None else float(key in bad)
    out: npt.NDArray[np.float64] = np.asarray(series.map(mapping).to_numpy(dtype=float))
    if np.isnan(out).any():
        raise DataError(f"target column {col!r} has {int(np.isnan(out).sum())} empty values")
    return out.astype(np.int8)


def _source(df: pd.DataFrame, feature: Feature) -> pd.Series | None:
    if feature.column in df.columns:
        return df[feature.column]
    if feature.name in df.columns:
        return df[feature.name]
    return None


def _as_float32(df: pd.DataFrame) -> FloatMatrix:
    """Return the (numeric) columns of ``df`` as float32, pandas NA as NaN."""
    if all(isinstance(t, np.dtype) for t in df.dtypes):
        # Plain numpy columns already hold NaN for missing values; asking pandas
        # to replace NA would cost a full extra pass.
        return np.asarray(df.to_numpy(dtype=np.float32))
    return np.asarray(df.to_numpy(dtype=np.float32, na_value=np.nan))


class Encoder:
    """Turn raw rows into the float32 matrix the booster reads.

    Numeric values become floats, booleans 1/0, categories the index of their
    text in ``categories`` (unknown or missing values become NaN, which the
    booster treats as missing).
    """

    def __init__(
        self,
        features: Sequence[Feature],
        categories: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.features = tuple(features)
        self.names = [f.name for f in self.features]
        self.categories: dict[str, list[str]] = {k: list(v) for k, v in (categories or {}).items()}
        self._codes = {
            name: {c: float(i) for i, c in enumerate(cats)}
            for name, cats in self.categories.items()
        }
        # Lookup keys for one row: the feature name first, then its source column.
        self._row_plan = [(i, f.name, f.column, f.kind) for i, f in enumerate(self.features)]

    def fit(self, df: pd.DataFrame) -> Encoder:
        """Learn the category lists from ``df`` (sorted, so the codes are reproducible)."""
        for f in self.features:
            if f.kind != "categorical":
                continue
            series = _source(df, f)
            if series is None:
                raise DataError(f"column {f.column!r} (feature {f.name}) not in the data")
            keys = {value_key(v) for v in pd.unique(series)}
            self.categories[f.name] = sorted(k for k in keys if k is not None)
            self._codes[f.name] = {c: float(i) for i, c in enumerate(self.categories[f.name])}
        return self

    def feature_types(self) -> list[str]:
        """Return XGBoost feature types: ``c`` for categorical, ``q`` otherwise."""
        return ["c" if f.kind == "categorical" else "q" for f in self.features]

    def transform(self, df: pd.DataFrame, *, missing_ok: bool = False) -> FloatMatrix:
        """Encode a DataFrame; a feature column absent from ``df`` is an error unless ``missing_ok``."""
        n = len(df)
        k = len(self.features)
        sources: list[pd.Series | None] = [_source(df, f) for f in self.features]
        # Columns that already hold numbers are copied in one block: on a million
        # rows that is several times faster than column by column.
        block: list[int] = []
        for j, (f, series) in enumerate(zip(self.features, sources, strict=True)):
            if series is None:
                if not missing_ok:
                    raise DataError(f"column {f.column!r} (feature {f.name}) not in the data")
                continue
            dtype = series.dtype
            numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            if numeric and f.kind in ("numeric", "boolean"):
                block.append(j)
        names = [str(sources[j].name) for j in block]  # type: ignore[union-attr]
        if len(block) == k and len(set(names)) == k:
            # Column-major as pandas gives it: XGBoost reads strided arrays about
            # as fast as row-major ones, and transposing a million rows costs more.
            out = _as_float32(df[names])
            if not out.flags.writeable and any(self.features[j].kind == "boolean" for j in block):
                out = out.copy(order="K")  # a read-only view of df, and we fix columns below
        else:
            out = np.empty((n, k), dtype=np.float32)
            if block:
                out[:, block] = _as_float32(df[names])
        in_block = set(block)
        for j, (f, series) in enumerate(zip(self.features, sources, strict=True)):
            if j in in_block:
                if f.kind == "boolean":
                    # Numbers in a yes/no column: 1 and 0 count, anything else is missing.
                    v = out[:, j]
                    out[:, j] = np.where((v == 1.0) | (v == 0.0), v, np.nan)
            elif series is None:
                out[:, j] = np.nan
            else:
                out[:, j] = self._encode_series(series, f)
        return out

    def _encode_series(self, series: pd.Series, f: Feature) -> npt.NDArray[np.float64]:
        if f.kind == "numeric" and pd.api.types.is_numeric_dtype(series.dtype):
            return np.asarray(series.to_numpy(dtype=float, na_value=np.nan), dtype=float)
        # Encode each distinct value once, then broadcast through the factorised
        # codes (missing values get code -1, which picks the trailing NaN).
        positions, uniques = pd.factorize(series, use_na_sentinel=True)
        values = [self.encode_value(f, v) for v in uniques]
        lookup = np.append(np.asarray(values, dtype=float), np.nan)
        return np.asarray(lookup[positions], dtype=float)

    def encode_value(self, f: Feature, value: Any) -> float:
        """Encode one raw value of feature ``f``."""
        if f.kind == "numeric":
            return to_float(value)
        if f.kind == "boolean":
            return to_bool(value)
        key = value_key(value)
        return math.nan if key is None else self._codes.get(f.name, {}).get(key, math.nan)

    def encode_row(self, row: Mapping[str, Any]) -> FloatMatrix:
        """Encode one application (a dict keyed by feature name or source column)."""
        out = np.full((1, len(self.features)), np.nan, dtype=np.float32)
        for j, name, column, kind in self._row_plan:
            value = row.get(name, row.get(column))
            if value is None:
                continue
            if kind == "numeric" and type(value) in (float, int):
                out[0, j] = value
            else:
                out[0, j] = self.encode_value(self.features[j], value)
        return out


def frame_from_rows(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build a DataFrame from dict rows (missing keys become NaN)."""
    return pd.DataFrame.from_records(list(rows))
