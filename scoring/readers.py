"""Read a data file in whatever format a user brings: CSV, Excel, ARFF, Parquet, JSON.

The format is chosen from the spec (``read.format``), else from the file name
(compression suffixes such as ``.gz`` are looked through), else from the file's
first bytes, so a ``.json.gz`` file is read as JSON, not parsed for minutes as
a CSV. Every reader applies the spec's missing-value markers.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from .frame import MISSING_TEXTS, DataError
from .spec import Spec

_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}
_BY_SUFFIX = {
    ".csv": "csv",
    ".txt": "csv",
    ".data": "csv",
    ".tsv": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".arff": "arff",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
FORMATS = ("csv", "excel", "arff", "parquet", "json", "jsonl")


def detect_format(path: Path, declared: str = "") -> tuple[str, str | None]:
    """Return ``(format, compression)`` of a data file."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = _COMPRESSION.get(suffixes[-1]) if suffixes else None
    inner = (
        suffixes[-2] if compression and len(suffixes) >= 2 else (suffixes[-1] if suffixes else "")
    )
    if declared:
        return declared, compression
    if inner in _BY_SUFFIX:
        return _BY_SUFFIX[inner], compression
    head = _head(path, compression)
    return _sniff(head), compression


def _open(path: Path, compression: str | None) -> Any:
    if compression == "gzip":
        return gzip.open(path, "rb")
    if compression == "bz2":
        return bz2.open(path, "rb")
    if compression == "xz":
        return lzma.open(path, "rb")
    if compression == "zip":
        zf = zipfile.ZipFile(path)
        names = [n for n in zf.namelist() if not n.endswith("/")]
        if len(names) != 1:
            raise DataError(f"{path}: a zip file must hold exactly one data file, not {len(names)}")
        return zf.open(names[0])
    return path.open("rb")


def _head(path: Path, compression: str | None, size: int = 4096) -> bytes:
    try:
        with _open(path, compression) as fh:
            return bytes(fh.read(size))
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None


def _sniff(head: bytes) -> str:
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK"):
        return "excel"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    lowered = text[:2000].lower()
    if lowered.startswith(b"%") or lowered.startswith(b"@relation"):
        return "arff"
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        return "jsonl"
    return "csv"


def _markers(spec: Spec) -> list[str]:
    return sorted(set(spec.read.missing))


def read_any(path: Path, spec: Spec) -> pd.DataFrame:
    """Read ``path`` as the spec says (see :func:`scoring.frame.read_data`)."""
    if not path.exists():
        raise DataError(f"no such data file: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file")
    fmt, compression = detect_format(path, spec.read.format)
    try:
        df = _READERS[fmt](path, compression, spec)
    except DataError:
        raise
    except (ValueError, OSError, EOFError, UnicodeDecodeError, KeyError, ImportError) as exc:
        raise DataError(f"cannot read {path} as {fmt}: {exc}") from None
    if spec.read.columns and fmt != "csv":
        if len(spec.read.columns) != df.shape[1]:
            raise DataError(
                f"{path}: read.columns names {len(spec.read.columns)} columns, the file has {df.shape[1]}"
            )
        df.columns = list(spec.read.columns)
    markers = _markers(spec)
    if markers and fmt != "csv":
        df = _blank(df, markers)
    return df


def _blank(df: pd.DataFrame, markers: list[str]) -> pd.DataFrame:
    """Turn text cells equal to a missing marker into missing values."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c].dtype):
            stripped = out[c].astype("string").str.strip()
            out[c] = out[c].where(~stripped.isin(markers))
    return out


def _csv(path: Path, compression: str | None, spec: Spec) -> pd.DataFrame:
    opts = spec.read
    kwargs: dict[str, Any] = {
        "sep": opts.sep,
        "encoding": opts.encoding,
        "compression": compression,
        "decimal": opts.decimal,
        "na_values": _markers(spec) or None,
        "low_memory": False,
    }
    if opts.sep == " ":
        kwargs["sep"] = r"\s+"
        kwargs["engine"] = "python"
        kwargs.pop("low_memory")
    if not opts.header:
        kwargs["header"] = None
        kwargs["names"] = list(opts.columns or ())
    elif opts.columns:
        kwargs["header"] = 0
        kwargs["names"] = list(opts.columns)
    try:
        return pd.read_csv(path, **kwargs)
    except pd.errors.ParserError as exc:
        raise DataError(f"cannot read {path} as CSV (sep {opts.sep!r}): {exc}") from None


def _excel(path: Path, compression: str | None, spec: Spec) -> pd.DataFrame:
    if compression:
        raise DataError(f"{path}: unpack the Excel file first")
    if path.suffix.lower() == ".xls":
        raise DataError(f"{path}: old .xls workbooks are not read; save it as .xlsx or CSV")
    sheet = spec.read.sheet if spec.read.sheet is not None else 0
    header = 0 if spec.read.header else None
    return pd.read_excel(
        path, sheet_name=sheet, header=header, na_values=_markers(spec) or None, engine="openpyxl"
    )


def _arff(path: Path, compression: str | None, spec: Spec) -> pd.DataFrame:
    from scipy.io import arff

    with _open(path, compression) as fh:
        text = fh.read().decode(spec.read.encoding or "utf-8")
    try:
        data, meta = arff.loadarff(io.StringIO(text))
    except (NotImplementedError, ValueError, arff.ParseArffError) as exc:
        raise DataError(f"cannot read {path} as ARFF: {exc}") from None
    df = pd.DataFrame(data)
    for name in meta.names():
        if meta[name][0] == "nominal":
            # Nominal values come back as bytes; "?" (ARFF's missing value) as b"?".
            df[name] = df[name].map(lambda b: b.decode("utf-8") if isinstance(b, bytes) else b)
            df[name] = df[name].where(df[name] != "?")
    return df


def _parquet(path: Path, compression: str | None, spec: Spec) -> pd.DataFrame:
    if compression:
        with _open(path, compression) as fh:
            return pd.read_parquet(io.BytesIO(fh.read()))
    return pd.read_parquet(path)


def _json(path: Path, compression: str | None, spec: Spec) -> pd.DataFrame:
    return pd.read_json(path, compression=compression, orient="records")


def _jsonl(path: Path, compression: str | None, spec: Spec) -> pd.DataFrame:
    return pd.read_json(path, compression=compression, lines=True)


_READERS = {
    "csv": _csv,
    "excel": _excel,
    "arff": _arff,
    "parquet": _parquet,
    "json": _json,
    "jsonl": _jsonl,
}

__all__ = ["FORMATS", "MISSING_TEXTS", "detect_format", "read_any"]
