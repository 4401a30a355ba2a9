"""Synthetic company financial-ratio data: 64 ratio columns, like the public bankruptcy sets.

Bring-your-own-data is tested on a file nobody wrote a spec for: 64 financial
ratios (``Attr1`` ... ``Attr64``) computed from generated balance sheets and
income statements, so they have what real ratio files have: heavy tails from
small denominators, ratios that repeat an item, correlated columns, and
missing values (``?`` in ARFF) where an item was not reported or a denominator
is zero. About 5% of firms go bankrupt (``class`` 1), driven by profitability,
leverage, liquidity and turnover, none of them monotone in every ratio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

Array = npt.NDArray[np.float64]
TARGET_COLUMN = "class"


def generate_ratio_data(rows: int = 6000, seed: int = 0) -> pd.DataFrame:
    """Return ``rows`` firms with 64 ratio columns and ``class`` (1 = bankrupt within a year)."""
    rng = np.random.default_rng(seed)
    n = rows
    health = rng.standard_normal(n)  # unobserved
    assets = np.exp(rng.normal(15.0, 1.6, n))
    lev = np.clip(rng.beta(2.5, 3.0, n) + 0.12 * (-health) + rng.normal(0, 0.05, n), 0.02, 2.5)
    liabilities = assets * lev
    equity = assets - liabilities
    current_share = rng.beta(4, 3, n)
    current_assets = assets * current_share
    inventory = current_assets * rng.beta(2, 4, n)
    receivables = current_assets * rng.beta(2, 3, n)
    cash = np.maximum(current_assets - inventory - receivables, 0) * rng.beta(2, 2, n) + 1.0
    short_liab = liabilities * rng.beta(4, 3, n)
    sales = assets * np.exp(rng.normal(0.2 + 0.15 * health, 0.6, n))
    margin = rng.normal(0.03 + 0.05 * health, 0.08, n)
    ebit = sales * (margin + 0.02)
    net = sales * margin
    gross = sales * np.clip(rng.normal(0.25 + 0.05 * health, 0.1, n), -0.2, 0.9)
    depreciation = assets * rng.uniform(0.01, 0.08, n)
    interest = liabilities * rng.uniform(0.01, 0.08, n)
    retained = equity * rng.normal(0.4 + 0.2 * health, 0.5, n)
    costs = sales - ebit
    working = current_assets - short_liab
    fixed = assets - current_assets
    items = {
        "net": net,
        "assets": assets,
        "liab": liabilities,
        "equity": equity,
        "ca": current_assets,
        "inv": inventory,
        "rec": receivables,
        "cash": cash,
        "sl": short_liab,
        "sales": sales,
        "ebit": ebit,
        "gross": gross,
        "dep": depreciation,
        "int": interest,
        "ret": retained,
        "costs": costs,
        "wc": working,
        "fixed": fixed,
    }
    # Items a firm did not report: every ratio using them is missing.
    for key in ("inv", "rec", "dep", "int", "ret", "gross"):
        items[key] = np.where(rng.random(n) < 0.02, np.nan, items[key])
    pairs = [
        ("net", "assets"),
        ("liab", "assets"),
        ("wc", "assets"),
        ("ca", "sl"),
        ("cash", "sl"),
        ("ret", "assets"),
        ("ebit", "assets"),
        ("equity", "liab"),
        ("sales", "assets"),
        ("equity", "assets"),
        ("gross", "assets"),
        ("gross", "sl"),
        ("gross", "sales"),
        ("ebit", "int"),
        ("liab", "gross"),
        ("gross", "liab"),
        ("assets", "liab"),
        ("gross", "assets"),
        ("net", "sales"),
        ("inv", "sales"),
        ("sales", "sales_prev"),
        ("ebit", "assets"),
        ("net", "sales"),
        ("ca", "liab"),
        ("ret", "assets"),
        ("net", "liab"),
        ("ebit", "fixed"),
        ("wc", "fixed"),
        ("assets", "one"),
        ("liab", "sales"),
        ("gross", "sales"),
        ("sl", "sales"),
        ("costs", "sl"),
        ("costs", "liab"),
        ("ebit", "assets"),
        ("sales", "assets"),
        ("ca", "ltl"),
        ("wc", "assets"),
        ("ca", "assets"),
        ("equity", "fixed"),
        ("liab", "ebit"),
        ("ebit", "sales"),
        ("rec", "sales"),
        ("rec", "sales"),
        ("wc", "sales"),
        ("ca", "sl"),
        ("inv", "costs"),
        ("ebit", "assets"),
        ("ebit", "sales"),
        ("ca", "liab"),
        ("sl", "assets"),
        ("sl", "costs"),
        ("equity", "fixed"),
        ("equity", "fixed"),
        ("wc", "one"),
        ("gross", "sales"),
        ("wc", "ca"),
        ("costs", "sales"),
        ("ltl", "equity"),
        ("sales", "inv"),
        ("sales", "rec"),
        ("sl", "sales"),
        ("sales", "sl"),
        ("sales", "fixed"),
    ]
    items["one"] = np.ones(n)
    items["ltl"] = liabilities - short_liab
    items["sales_prev"] = sales / np.exp(rng.normal(0.05 + 0.1 * health, 0.25, n))
    data: dict[str, Array] = {}
    for i, (top, bottom) in enumerate(pairs, start=1):
        num, den = items[top], items[bottom]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = num / den
        scale = 365.0 if i in (20, 43, 44, 47, 52) else 1.0
        ratio = np.where(np.abs(den) < 1e-9, np.nan, ratio * scale)
        data[f"Attr{i}"] = np.asarray(np.round(ratio, 5), dtype=np.float64)
    roa, lev_r = net / assets, liabilities / assets
    liquidity = np.log(np.clip(current_assets / short_liab, 0.05, 20))
    logit = (
        -3.2
        - 3.0 * np.clip(roa, -0.5, 0.3)
        + 1.2 * np.clip(lev_r - 0.6, -0.6, 1.5)
        - 0.4 * liquidity
        - 0.7 * health
        + 0.6 * (np.abs(roa) > 0.25)  # extreme results either way: turbulent firms
    )
    bad = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    df = pd.DataFrame(data)
    df[TARGET_COLUMN] = bad
    return df


def write_arff(df: pd.DataFrame, path: str | Path, relation: str = "ratios") -> Path:
    """Write ratio data as ARFF (missing values as ``?``, class nominal {0,1})."""
    p = Path(path)
    lines = [f"@relation {relation}", ""]
    for c in df.columns:
        kind = "{0,1}" if c == TARGET_COLUMN else "numeric"
        lines.append(f"@attribute {c} {kind}")
    lines += ["", "@data"]
    values = df.astype(object).where(df.notna(), "?")
    lines += [",".join(str(v) for v in row) for row in values.itertuples(index=False)]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p
