"""``python -m scoring spec init``: a starter spec for a data file a user brings.

Every column of the file is listed with its inferred kind and its share of
missing values, so a new user edits a spec instead of typing one. Columns that
look like identifiers, are constant, or alone separate the classes almost
perfectly (likely leakage) are listed but commented out, with the reason. No
monotone sign is guessed: a suggested sign is written as a comment, with the
evidence, for the user to accept (guessed signs on heavy-tailed ratios cost
accuracy). Reason texts are generated from the column names, so the spec
trains as written.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .checks import LEAKAGE_AUC, monotone_evidence, single_feature_auc
from .frame import (
    MISSING_TEXTS,
    DataError,
    missing_column_error,
    parse_bool,
    parse_date,
    parse_number,
    value_key,
)
from .readers import detect_format
from .spec import Feature, spec_from_dict

# Text values that stand for "missing" in files people bring.
MARKERS = ("?", "NA", "N/A", "n/a", "NaN", "null", "NULL", "-", ".", "")
IDENTIFIER_SHARE = 0.9  # a text column with this share of distinct values is an id or a name
MAX_CATEGORIES = 200


def _identifier(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]+", "_", str(name)).strip("_") or "column"
    if base[0].isdigit():
        base = f"c_{base}"
    out, i = base, 2
    while out in taken:
        out, i = f"{base}_{i}", i + 1
    taken.add(out)
    return out


def _sniff_sep(path: Path) -> str:
    fmt, compression = detect_format(path)
    if fmt != "csv" or compression:
        return ","
    head = path.read_bytes()[:65536].decode("utf-8-sig", errors="replace")
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _kind(series: pd.Series) -> tuple[str, str]:
    """Return (kind, note) for one column: numeric, boolean, date, categorical, or skip."""
    present = series.dropna()
    if len(present) == 0:
        return "skip", "no values"
    uniq = pd.unique(present)
    if len(uniq) == 1:
        return "skip", f"constant ({uniq[0]!r})"
    if pd.api.types.is_bool_dtype(series.dtype):
        return "boolean", ""
    if pd.api.types.is_numeric_dtype(series.dtype):
        if set(np.unique(present.astype(float))) <= {0.0, 1.0}:
            return "boolean", ""
        return "numeric", ""
    sample = [u for u in uniq[:2000]]
    numbers = [parse_number(v) for v in sample]
    readable = sum(1 for v, _, problem in numbers if not problem and not math.isnan(v))
    if readable >= 0.95 * len(sample):
        notes = {note for _, note, _ in numbers if note}
        return "numeric", ("; ".join(sorted(notes)) if notes else "")
    if len(uniq) <= 3 and all(not parse_bool(v)[1] for v in sample):
        return "boolean", ""
    if sum(1 for v in sample if not parse_date(v)[1]) >= 0.95 * len(sample):
        return "date", ""
    if len(uniq) >= IDENTIFIER_SHARE * len(present) and len(uniq) > 20:
        return "skip", f"looks like an identifier or a name ({len(uniq):,} distinct values)"
    if len(uniq) > MAX_CATEGORIES:
        return "categorical", f"{len(uniq):,} categories: consider grouping them"
    return "categorical", ""


def _bad_values(series: pd.Series, given: list[str] | None) -> tuple[list[Any], str]:
    keys = sorted({k for k in map(value_key, pd.unique(series)) if k is not None})
    if given:
        return [_plain(v) for v in given], ""
    if len(keys) != 2:
        raise DataError(
            f"target has {len(keys)} distinct values ({', '.join(keys[:8])}): "
            "say which mean bad with --bad"
        )
    if set(keys) == {"0", "1"}:
        return [1], "1 taken as bad: check"
    counts = series.map(value_key).value_counts()
    minority = str(counts.idxmin())
    return [_plain(minority)], f"the rarer value {minority!r} taken as bad: check"


def _plain(v: Any) -> Any:
    text = str(v)
    try:
        f = float(text)
    except ValueError:
        return text
    return int(f) if f.is_integer() else f


def _q(text: Any) -> str:
    """Quote a YAML scalar."""
    s = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


def starter_spec(
    path: str | Path,
    target: str,
    *,
    bad: list[str] | None = None,
    name: str | None = None,
    seed: int = 0,
) -> str:
    """Return the YAML text of a starter spec for ``path`` with label column ``target``."""
    from .readers import read_any
    from .spec import ReadOptions, Spec, Target

    p = Path(path)
    fmt, _ = detect_format(p)
    sep = _sniff_sep(p)
    probe = Spec(
        name="probe",
        target=Target(target, ("1",)),
        features=(Feature("probe", "probe", "numeric"),),
        read=ReadOptions(sep=sep, missing=tuple(m for m in MARKERS if m)),
    )
    df = read_any(p, probe)
    if target not in df.columns:
        raise missing_column_error(target, df, "target column")
    bad_values, bad_note = _bad_values(df[target], bad)
    y = df[target].map(value_key).isin({value_key(v) for v in bad_values}).to_numpy(dtype=np.int64)
    if y.min() == y.max():
        raise DataError(f"target {target!r} has one class only with bad values {bad_values}")
    markers = [m for m in MARKERS if m and m not in ("-", ".")]
    taken: set[str] = set()
    entries: list[str] = []
    kept: list[Feature] = []
    for col in df.columns:
        if col == target:
            continue
        series = df[col]
        kind, note = _kind(series)
        fname = _identifier(col, taken)
        missing_share = float(series.isna().mean())
        lines = [
            f"  - name: {fname}",
            *([f"    column: {_q(col)}"] if fname != col else []),
            f"    kind: {kind if kind != 'skip' else 'numeric'}",
            "    monotone: 0",
            "    actionable: false",
            f"    label_en: {_q(col)}",
            f"    description: {_q(f'{col}: {missing_share:.1%} missing' + (f'; {note}' if note else ''))}",
        ]
        reason = ""
        if kind == "skip":
            reason = note
        else:
            f = Feature(fname, str(col), kind)  # type: ignore[arg-type]
            from .frame import Encoder

            enc = Encoder([f]).fit(df)
            v = enc.transform(df)[:, 0]
            auc = single_feature_auc(v, y, kind == "categorical", seed)
            if not math.isnan(auc) and auc >= LEAKAGE_AUC:
                reason = f"alone it has AUC {auc:.3f}: likely recorded after the outcome (leakage)"
            elif kind in ("numeric", "boolean"):
                ev = monotone_evidence(v, y)
                if ev["suggested"]:
                    lines.insert(
                        3,
                        f"    # data suggests monotone: {ev['suggested']:+d} "
                        f"(Spearman {ev['rho']}, p {ev['p']}); set it only if it must hold",
                    )
        if reason:
            entries.append(f"  # left out: {reason}")
            entries += ["  #" + line[1:] for line in lines]
        else:
            entries += lines
            kept.append(Feature(fname, str(col), kind))  # type: ignore[arg-type]
    if not kept:
        raise DataError("no usable feature column in the data")
    spec_name = name or _identifier(p.name.split(".")[0].lower(), set())
    header = [
        f"# Starter spec written by `python -m scoring spec init` for {p.name}.",
        "# Every column is listed with its inferred kind and missing share; columns that",
        "# cannot be features are commented out with the reason. Check the target's bad",
        "# values, mark protected characteristics (protected: true), give signs (monotone)",
        "# only where they must hold, and write texts a firm understands (reason_zh/_en).",
        f"name: {spec_name}",
        f"description: {_q(f'starter spec for {p.name}')}",
        f"source: {_q(p.name)}",
        "read:",
        *([f"  format: {fmt}"] if fmt != "csv" else []),
        f"  sep: {_q(sep)}",
        "  header: true",
        "  encoding: utf-8-sig",
        f"  missing: [{', '.join(_q(m) for m in markers)}]",
        "target:",
        f"  column: {_q(target)}",
        f"  bad_values: [{', '.join(_q(v) if isinstance(v, str) else str(v) for v in bad_values)}]"
        + (f"  # {bad_note}" if bad_note else ""),
        "params:",
        "  holdout: 0.2",
        "features:",
    ]
    text = "\n".join(header + entries) + "\n"
    import yaml

    spec_from_dict(yaml.safe_load(text), "starter spec")  # what we write must load
    return text


__all__ = ["MISSING_TEXTS", "starter_spec"]
