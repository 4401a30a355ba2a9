"""Read data the way a spec says and turn it into the model's float matrix."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
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


class InputError(DataError):
    """One application that cannot be scored as given; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("cannot score this row:\n" + "\n".join(f"  - {p}" for p in problems))


# Texts that mean "no value" wherever a value is read (a spec's read.missing adds more).
MISSING_TEXTS = frozenset({"", "nan", "none", "null", "na", "n/a", "?"})

_PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
_PERCENT = re.compile(r"^([+-]?(\d+\.?\d*|\.\d+))\s*%$")


def parse_number(value: Any, decimal: str = ".") -> tuple[float, str, str]:
    """Read a number; return ``(value, note, problem)``.

    ``note`` says how the text was read when that was not plain (thousands
    separators, a decimal comma, a percent sign, a yes/no as 1/0); ``problem``
    says why it could not be read (then the value is NaN). Missing values give
    ``(nan, "", "")``. Infinite values (``1e400``, ``inf``) are problems, never
    numbers.
    """
    if value is None:
        return math.nan, "", ""
    if isinstance(value, bool | np.bool_):
        return (1.0 if value else 0.0), f"{value} read as {int(bool(value))}", ""
    if isinstance(value, int | np.integer):
        return float(value), "", ""
    if isinstance(value, float | np.floating):
        f = float(value)
        if math.isnan(f):
            return math.nan, "", ""
        if math.isinf(f):
            return math.nan, "", f"{value!r} is not a finite number"
        return f, "", ""
    if isinstance(value, Decimal):
        if value.is_nan():
            return math.nan, "", ""
        if not value.is_finite():
            return math.nan, "", f"{value} is not a finite number"
        return float(value), "", ""
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    if text.lower() in MISSING_TEXTS:
        return math.nan, "", ""
    note = ""
    if decimal == ",":
        if "," in text:
            text, note = text.replace(".", "").replace(",", "."), "decimal comma read as a point"
    elif _THOUSANDS.match(text):
        text, note = text.replace(",", ""), "thousands separators removed"
    elif _DECIMAL_COMMA.match(text):
        text, note = text.replace(",", "."), "decimal comma read as a point"
    percent = _PERCENT.match(text)
    if percent:
        text, note = percent.group(1), "percent read as a fraction"
    if not _PLAIN.match(text):
        return math.nan, "", f"{str(value)!r} is not a number"
    f = float(text)
    if math.isinf(f):
        return math.nan, "", f"{str(value)!r} is out of the range of numbers"
    if percent:
        f /= 100.0
    return f, note, ""


def read_data(path: str | Path, spec: Spec) -> pd.DataFrame:
    """Read a data file the way the spec says: CSV, Excel, ARFF, Parquet or JSON lines.

    The format comes from ``read.format`` or the file name (``.csv``, ``.txt``,
    ``.data``, ``.xlsx``, ``.arff``, ``.parquet``, ``.json``, ``.jsonl``, each
    optionally ``.gz``/``.bz2``/``.xz``/``.zip`` compressed), else from the
    file's first bytes. ``read.missing`` markers (e.g. ``?``) become missing.

    Raises
    ------
    DataError
        No such file, an unknown format, or a file that does not parse.
    """
    from .readers import read_any

    return read_any(Path(path), spec)


def read_csv(path: str | Path, spec: Spec) -> pd.DataFrame:
    """Read a data file with the spec's reading options (any format :func:`read_data` reads)."""
    return read_data(path, spec)


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
    if text.lower() in MISSING_TEXTS:
        return None
    return text


def to_float(value: Any) -> float:
    """Convert a number given as int, float, Decimal, bool or text; NaN when missing or unreadable."""
    return parse_number(value)[0]


def parse_bool(
    value: Any, true_values: Sequence[Any] = (), false_values: Sequence[Any] = ()
) -> tuple[float, str]:
    """Read yes/no; return ``(1.0 | 0.0 | nan, problem)``.

    Without declared values: 1/0, true/false, yes/no, y/n, t/f and 是/否. With the
    spec's ``true_values`` / ``false_values`` (e.g. 1 and 2) only those count.
    Anything else is a problem, never silently "no".
    """
    key = value_key(value)
    if key is None:
        return math.nan, ""
    if true_values or false_values:
        trues = {value_key(v) for v in true_values}
        falses = {value_key(v) for v in false_values}
        if key in trues:
            return 1.0, ""
        if key in falses:
            return 0.0, ""
        number = parse_number(key)[0]
        if not math.isnan(number):
            k2 = value_key(number)
            if k2 in trues:
                return 1.0, ""
            if k2 in falses:
                return 0.0, ""
        return math.nan, f"{key!r} is neither of the declared yes/no values"
    k = key.lower()
    if k in _TRUE:
        return 1.0, ""
    if k in _FALSE:
        return 0.0, ""
    number = parse_number(k)[0]  # "1.0" from a CSV written by another tool
    if number in (0.0, 1.0):
        return number, ""
    return math.nan, f"{key!r} is not yes/no (declare true_values / false_values for other codes)"


def to_bool(value: Any) -> float:
    """Convert yes/no, true/false, 1/0 (and 是/否) to 1.0/0.0; NaN otherwise."""
    return parse_bool(value)[0]


_EPOCH = date(1970, 1, 1)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%d-%b-%y", "%d-%b-%Y", "%d %b %Y", "%Y.%m.%d")


def parse_date(value: Any, fmt: str = "") -> tuple[float, str]:
    """Read a date; return ``(days since 1970-01-01, problem)``.

    ISO dates (2004-03-15, 2004/03/15, 20040315) and day-month-name dates
    (15-Mar-04) are read without help; other layouts (03/15/2004, where the day
    and month could be swapped) need the feature's ``date_format``.
    """
    if value is None:
        return math.nan, ""
    if isinstance(value, datetime):
        return float((value.date() - _EPOCH).days), ""
    if isinstance(value, date):
        return float((value - _EPOCH).days), ""
    if isinstance(value, pd.Timestamp):
        return (math.nan, "") if pd.isna(value) else (float((value.date() - _EPOCH).days), "")
    key = value_key(value)
    if key is None:
        return math.nan, ""
    for f in (fmt,) if fmt else _DATE_FORMATS:
        try:
            return float(
                (datetime.strptime(key[:10] if f == "%Y-%m-%d" else key, f).date() - _EPOCH).days
            ), ""  # noqa: DTZ007
        except ValueError:
            continue
    hint = f"the format {fmt!r}" if fmt else "a known date layout (set date_format)"
    return math.nan, f"{key!r} does not follow {hint}"


def missing_column_error(column: str, df: pd.DataFrame, what: str) -> DataError:
    """Return a DataError for a column absent from ``df``, suggesting close names."""
    cols = [str(c) for c in df.columns]
    close = difflib.get_close_matches(column, cols, n=3, cutoff=0.6)
    lowered = {c.lower(): c for c in cols}
    if column.lower() in lowered and lowered[column.lower()] not in close:
        close.insert(0, lowered[column.lower()])
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    shown = ", ".join(cols[:12]) + (", ..." if len(cols) > 12 else "")
    return DataError(f"{what} {column!r} not in the data{hint} (columns: {shown})")


def labels(df: pd.DataFrame, spec: Spec) -> npt.NDArray[np.int8]:
    """Return 1 for bad rows and 0 for good ones; raise if a label is missing or one class only."""
    col = spec.target.column
    if col not in df.columns:
        raise missing_column_error(col, df, "target column")
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
    if len(out) and out.min() == out.max():
        seen = sorted({k for k in map(value_key, uniq) if k is not None})[:10]
        which = "bad" if out[0] == 1 else "good"
        raise DataError(
            f"target column {col!r} has one class only: every row is {which} "
            f"(bad_values {list(spec.target.bad_values)!r}; values in the data: {seen}); "
            "check target.bad_values"
        )
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


@dataclass
class RowCheck:
    """One application read against the spec: the encoded row and what was found.

    Attributes
    ----------
    x : ndarray
        The encoded row (1 x features); values with problems are NaN.
    missing : list of str
        Features without a value.
    coerced : list of dict
        Values read in a way worth saying (``feature``, ``given``, ``used``, ``note``).
    problems : list of str
        Unknown keys, unreadable values, values outside the plausible range.
    out_of_range : list of str
        Features whose value was outside the plausible range.
    """

    x: FloatMatrix
    missing: list[str] = field(default_factory=list)
    coerced: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    out_of_range: list[str] = field(default_factory=list)


class Encoder:
    """Turn raw rows into the float32 matrix the booster reads.

    Numeric values become floats, booleans 1/0, dates days since 1970-01-01,
    categories the index of their text in ``categories`` (unknown or missing
    values become NaN, which the booster treats as missing).
    """

    def __init__(
        self,
        features: Sequence[Feature],
        categories: Mapping[str, Sequence[str]] | None = None,
        *,
        decimal: str = ".",
        known_keys: Iterable[str] = (),
    ) -> None:
        self.features = tuple(features)
        self.names = [f.name for f in self.features]
        self.decimal = decimal
        self.categories: dict[str, list[str]] = {k: list(v) for k, v in (categories or {}).items()}
        self._codes = {
            name: {c: float(i) for i, c in enumerate(cats)}
            for name, cats in self.categories.items()
        }
        # Lookup keys for one row: the feature name first, then its source column.
        self._row_plan = [(i, f.name, f.column, f.kind) for i, f in enumerate(self.features)]
        self.known_keys = frozenset({*self.names, *(f.column for f in self.features), *known_keys})

    def fit(self, df: pd.DataFrame) -> Encoder:
        """Learn the category lists from ``df`` (sorted, so the codes are reproducible)."""
        for f in self.features:
            if f.kind != "categorical":
                continue
            series = _source(df, f)
            if series is None:
                raise missing_column_error(f.column, df, f"column for feature {f.name}:")
            keys = {value_key(v) for v in pd.unique(series)}
            self.categories[f.name] = sorted(k for k in keys if k is not None)
            self._codes[f.name] = {c: float(i) for i, c in enumerate(self.categories[f.name])}
        return self

    def feature_types(self) -> list[str]:
        """Return XGBoost feature types: ``c`` for categorical, ``q`` otherwise."""
        return ["c" if f.kind == "categorical" else "q" for f in self.features]

    def _fast(self, f: Feature) -> bool:
        """Return True when a numeric column of this feature can be copied as it is."""
        return f.kind == "numeric" or (f.kind == "boolean" and not f.true_values)

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
                    raise missing_column_error(f.column, df, f"column for feature {f.name}:")
                continue
            dtype = series.dtype
            numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            if numeric and self._fast(f):
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
        if block:
            # Infinities are never values (one pass over the block, then only if needed).
            inf = np.isinf(out)
            if inf.any():
                out[inf] = np.nan
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
            v = np.asarray(series.to_numpy(dtype=float, na_value=np.nan), dtype=float)
            return np.where(np.isinf(v), np.nan, v)
        # Encode each distinct value once, then broadcast through the factorised
        # codes (missing values get code -1, which picks the trailing NaN).
        positions, uniques = pd.factorize(series, use_na_sentinel=True)
        values = [self.encode_value(f, v) for v in uniques]
        lookup = np.append(np.asarray(values, dtype=float), np.nan)
        return np.asarray(lookup[positions], dtype=float)

    def column_problems(self, df: pd.DataFrame, limit: int = 3) -> list[str]:
        """Return, per feature column, values that could not be read (they count as missing)."""
        out = []
        for f in self.features:
            series = _source(df, f)
            if series is None or f.kind == "categorical":
                continue
            if f.kind == "numeric" and pd.api.types.is_numeric_dtype(series.dtype):
                continue
            bad: list[str] = []
            count = 0
            counts = series.value_counts(dropna=True)
            for value, c in counts.items():
                if self.read_value(f, value)[2]:
                    count += int(c)
                    if len(bad) < limit:
                        bad.append(repr(value))
            if count:
                out.append(
                    f"{f.column} (feature {f.name}, {f.kind}): {count} value(s) could not be "
                    f"read and count as missing, e.g. {', '.join(bad)}"
                )
        return out

    def read_value(self, f: Feature, value: Any) -> tuple[float, str, str]:
        """Encode one raw value of feature ``f``; return ``(value, note, problem)``."""
        if f.kind == "numeric":
            return parse_number(value, self.decimal)
        if f.kind == "boolean":
            v, problem = parse_bool(value, f.true_values, f.false_values)
            return v, "", problem
        if f.kind == "date":
            v, problem = parse_date(value, f.date_format)
            return v, "", problem
        key = value_key(value)
        if key is None:
            return math.nan, "", ""
        code = self._codes.get(f.name, {}).get(key)
        if code is None:
            return math.nan, f"category {key!r} not seen in training: counts as missing", ""
        return code, "", ""

    def encode_value(self, f: Feature, value: Any) -> float:
        """Encode one raw value of feature ``f`` (NaN when missing or unreadable)."""
        return self.read_value(f, value)[0]

    def encode_row(self, row: Mapping[str, Any]) -> FloatMatrix:
        """Encode one application (a dict keyed by feature name or source column)."""
        out = np.full((1, len(self.features)), np.nan, dtype=np.float32)
        for j, name, column, kind in self._row_plan:
            value = row.get(name, row.get(column))
            if value is None:
                continue
            if kind == "numeric" and type(value) in (float, int) and math.isfinite(value):
                out[0, j] = value
            else:
                out[0, j] = self.encode_value(self.features[j], value)
        return out

    def check_row(self, row: Mapping[str, Any]) -> RowCheck:
        """Encode one application and say what was missing, coerced or wrong with it.

        Unknown keys (with the closest known names), unreadable values and values
        outside a feature's plausible ``range`` are problems; such values are
        left missing in ``x``.
        """
        out = np.full((1, len(self.features)), np.nan, dtype=np.float32)
        check = RowCheck(out)
        for key in row:
            if key not in self.known_keys:
                close = difflib.get_close_matches(str(key), sorted(self.known_keys), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                check.problems.append(f"unknown input {key!r}{hint}")
        for j, name, column, kind in self._row_plan:
            value = row.get(name, row.get(column))
            f = self.features[j]
            if kind == "numeric" and type(value) in (float, int) and math.isfinite(value):
                v, note, problem = float(value), "", ""
            else:
                v, note, problem = self.read_value(f, value)
            if problem:
                check.problems.append(f"{name}: {problem}")
                check.missing.append(name)
                continue
            if math.isnan(v):
                if note:  # e.g. a category the model never saw
                    check.coerced.append(
                        {"feature": name, "given": _shown(value), "used": None, "note": note}
                    )
                check.missing.append(name)
                continue
            if (f.valid_min is not None and v < f.valid_min) or (
                f.valid_max is not None and v > f.valid_max
            ):
                lo = "-inf" if f.valid_min is None else f"{f.valid_min:g}"
                hi = "inf" if f.valid_max is None else f"{f.valid_max:g}"
                check.problems.append(f"{name}: {v:g} is outside the plausible range [{lo}, {hi}]")
                check.out_of_range.append(name)
                check.missing.append(name)
                continue
            if note:
                check.coerced.append(
                    {"feature": name, "given": _shown(value), "used": v, "note": note}
                )
            out[0, j] = v
        return check


def _shown(value: Any) -> Any:
    """Return a raw value as plain JSON data for reports."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def frame_from_rows(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build a DataFrame from dict rows (missing keys become NaN)."""
    return pd.DataFrame.from_records(list(rows))
