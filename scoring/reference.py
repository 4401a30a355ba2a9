"""Synthetic reference data for the cold start, and the reference model trained on it.

Before the centre has outcomes of its own, the platform model is trained on data
generated here. The process is written down in ``docs/SCORING.md`` (section
"Reference data"); the two must agree. In short:

1. Each firm has three unobserved traits drawn from N(0, 1): management
   quality ``q``, tax compliance ``c`` and technology ``t``.
2. The observed profile (the platform features) is drawn from distributions
   that depend on those traits, so features are correlated the way they are in
   practice (e.g. better-run firms have fewer overdue records and better tax
   grades).
3. The log-odds of default is a sum of feature effects (:data:`RISK_EFFECTS`),
   plus a share of the unobserved quality ``q`` and noise; the label is drawn
   from the resulting probability. The intercept sets the bad rate near 8%.
4. Some values are then hidden (set to missing) to mimic incomplete profiles;
   the label was drawn from the true values.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from .spec import PLATFORM_SPEC_PATH, load_spec

if TYPE_CHECKING:
    from .training import TrainedModel

Array = npt.NDArray[np.float64]

GENERATOR_VERSION = "reference-v1"
DEFAULT_ROWS = 25_000
TARGET_COLUMN = "bad"

# Intercept of the default log-odds; chosen so the bad rate is about 8%.
INTERCEPT = -2.07

# Unobserved effects: management quality the profile does not capture, and noise.
UNOBSERVED_QUALITY = -0.30
NOISE_SD = 0.30


def _ln(v: Array) -> Array:
    return np.log(v)


# Each feature's contribution to the log-odds of default, as a function of its
# true value. Positive raises risk. docs/SCORING.md repeats this table.
RISK_EFFECTS: dict[str, tuple[str, Callable[[Array], Array]]] = {
    "firm_age_years": ("-0.30 × ln(years)", lambda v: -0.30 * _ln(v)),
    "employees": ("-0.10 × ln(staff)", lambda v: -0.10 * _ln(v)),
    "revenue_10k": ("-0.10 × ln(revenue in 10k yuan)", lambda v: -0.10 * _ln(v)),
    "revenue_growth": (
        "-0.80 × growth, growth capped to [-50%, +50%]",
        lambda v: -0.80 * np.clip(np.nan_to_num(v, nan=0.0), -0.5, 0.5),
    ),
    "net_margin": (
        "-4.0 × margin, margin capped to [-30%, +30%]",
        lambda v: -4.0 * np.clip(v, -0.3, 0.3),
    ),
    "debt_ratio": (
        "+1.5 × ratio, +2.0 more per unit above 0.7",
        lambda v: 1.5 * v + 2.0 * np.maximum(v - 0.7, 0.0),
    ),
    "tax_paid_10k": ("-0.10 × ln(1 + tax in 10k yuan)", lambda v: -0.10 * np.log1p(v)),
    "tax_credit_rank": ("+0.30 per step A→B→M→C→D (0..4)", lambda v: 0.30 * v),
    "social_insured_ratio": ("-0.80 × insured share of staff", lambda v: -0.80 * v),
    "invention_patents": ("-0.20 × ln(1 + patents)", lambda v: -0.20 * np.log1p(v)),
    "other_ip": ("-0.05 × ln(1 + utility patents + trademarks)", lambda v: -0.05 * np.log1p(v)),
    "tech_certifications": ("-0.15 per certification", lambda v: -0.15 * v),
    "park_or_chamber_member": ("-0.30 if a member", lambda v: -0.30 * v),
    "has_bank_loan_history": ("-0.20 if the firm has borrowed before", lambda v: -0.20 * v),
    "existing_loan_to_revenue": ("+0.50 × ratio, capped at 3", lambda v: 0.50 * np.minimum(v, 3.0)),
    "overdue_count_24m": ("+0.35 per overdue record, up to 6", lambda v: 0.35 * np.minimum(v, 6.0)),
    "max_overdue_days_24m": (
        "+0.50 if ≥ 30 days, +0.70 more if ≥ 90 days",
        lambda v: 0.50 * (v >= 30) + 0.70 * (v >= 90),
    ),
    "pending_lawsuits": ("+0.25 per lawsuit, up to 5", lambda v: 0.25 * np.minimum(v, 5.0)),
    "enforcement_records": ("+0.70 per record, up to 3", lambda v: 0.70 * np.minimum(v, 3.0)),
    "admin_penalties_24m": ("+0.15 per penalty, up to 5", lambda v: 0.15 * np.minimum(v, 5.0)),
    "serious_bad_credit_24m": ("+1.40 (see credit repair)", lambda v: 1.40 * v),
    "credit_repair_completed": (
        "-0.84 when bad credit was repaired (keeps 40% of the +1.40)",
        lambda v: -0.84 * v,
    ),
    "amount_to_revenue": ("+0.60 × ratio, capped at 3", lambda v: 0.60 * np.minimum(v, 3.0)),
    "term_months": ("+0.015 per month", lambda v: 0.015 * v),
}

# Share of values hidden after the label is drawn (profile fields left blank).
MISSING_SHARE: dict[str, float] = {
    "revenue_growth": 0.05,
    "net_margin": 0.04,
    "debt_ratio": 0.04,
    "tax_paid_10k": 0.03,
    "tax_credit_rank": 0.03,
    "social_insured_ratio": 0.03,
}


def _sigmoid(v: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-v))


def generate_reference_data(rows: int = DEFAULT_ROWS, seed: int = 0) -> pd.DataFrame:
    """Generate synthetic firms with platform features and a default label.

    Parameters
    ----------
    rows : int
        Number of firms.
    seed : int
        Random seed; the same seed gives the same rows.

    Returns
    -------
    pandas.DataFrame
        One column per platform feature plus ``bad`` (1 = defaulted or 90 days
        overdue within 24 months of the loan).
    """
    rng = np.random.default_rng(seed)
    n = rows
    q, c, t = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(n)

    age = np.clip(rng.lognormal(np.log(6.0), 0.8, n), 0.2, 40.0)
    emp = np.clip(
        np.rint(np.exp(rng.normal(np.log(12.0) + 0.25 * np.log(age / 6.0), 1.0))), 1, 3000
    )
    revenue = emp * np.exp(rng.normal(np.log(35.0) + 0.10 * q, 0.6))
    growth = np.clip(rng.normal(0.06 + 0.08 * q - 0.03 * np.log(age / 6.0), 0.25), -0.8, 3.0)
    growth[age < 1.0] = np.nan  # no previous year to compare with
    margin = np.clip(rng.normal(0.04 + 0.03 * q, 0.07), -0.6, 0.5)
    debt = np.clip(rng.beta(3.0, 3.5, n) - 0.06 * q + 0.1 * (margin < 0), 0.02, 1.5)
    tax_rate = np.exp(rng.normal(np.log(0.03) + 0.3 * c, 0.4)) * (1.0 + 2.0 * np.maximum(margin, 0))
    tax_paid = revenue * tax_rate
    latent_tax = 0.8 * q + 0.5 * c + rng.normal(0.0, 0.7, n)
    tax_rank = np.select(
        [latent_tax > 0.6, latent_tax > -0.5, latent_tax > -1.6], [0.0, 1.0, 3.0], 4.0
    )
    tax_rank[age < 1.0] = 2.0  # grade M: too new to be rated
    insured = np.clip(rng.beta(8.0, 2.0, n) + 0.04 * c, 0.0, 1.0)
    ln_emp = np.log(emp)
    patents = rng.poisson(np.exp(-1.2 + 0.9 * t + 0.2 * ln_emp)).astype(float)
    other_ip = rng.poisson(np.exp(0.0 + 0.5 * t + 0.2 * ln_emp)).astype(float)
    certs = (
        (rng.random(n) < _sigmoid(-1.0 + 1.2 * t)).astype(float)
        + (rng.random(n) < _sigmoid(-2.0 + 1.5 * t + 0.3 * ln_emp))
        + (rng.random(n) < _sigmoid(-2.5 + 1.0 * t + 0.4 * ln_emp))
        + (rng.random(n) < _sigmoid(-5.0 + 1.0 * t + 0.5 * ln_emp))
    )
    member = (rng.random(n) < 0.30 + 0.10 * (t > 0)).astype(float)
    history = (rng.random(n) < _sigmoid(-0.5 + 0.6 * np.log(age) + 0.3 * q)).astype(float)
    loan_ratio = history * np.clip(rng.lognormal(np.log(0.15), 0.8, n), 0.0, 5.0)
    overdue = history * rng.poisson(np.exp(-1.8 - 0.7 * q))
    max_days = np.where(
        overdue > 0, np.clip(np.rint(np.exp(rng.normal(np.log(15.0) - 0.5 * q, 1.0))), 1, 365), 0.0
    )
    lawsuits = rng.poisson(np.exp(-2.3 - 0.4 * q + 0.15 * ln_emp)).astype(float)
    enforcement = rng.poisson(np.exp(-3.5 - 0.8 * q)).astype(float)
    penalties = rng.poisson(np.exp(-2.5 - 0.3 * c)).astype(float)
    bad_credit = (rng.random(n) < _sigmoid(-4.2 - 1.0 * q)).astype(float)
    repaired = bad_credit * (rng.random(n) < 0.45)
    amount_ratio = np.clip(rng.lognormal(np.log(0.2), 0.7, n), 0.01, 5.0)
    term = rng.choice([6.0, 12.0, 24.0, 36.0], size=n, p=[0.10, 0.50, 0.25, 0.15])

    data: dict[str, Array] = {
        "firm_age_years": np.round(age, 2),
        "employees": emp,
        "revenue_10k": np.round(revenue, 1),
        "revenue_growth": np.round(growth, 4),
        "net_margin": np.round(margin, 4),
        "debt_ratio": np.round(debt, 4),
        "tax_paid_10k": np.round(tax_paid, 2),
        "tax_credit_rank": tax_rank,
        "social_insured_ratio": np.round(insured, 4),
        "invention_patents": patents,
        "other_ip": other_ip,
        "tech_certifications": np.asarray(certs, dtype=float),
        "park_or_chamber_member": member,
        "has_bank_loan_history": history,
        "existing_loan_to_revenue": np.round(loan_ratio, 4),
        "overdue_count_24m": overdue.astype(float),
        "max_overdue_days_24m": max_days,
        "pending_lawsuits": lawsuits,
        "enforcement_records": enforcement,
        "admin_penalties_24m": penalties,
        "serious_bad_credit_24m": bad_credit,
        "credit_repair_completed": repaired.astype(float),
        "amount_to_revenue": np.round(amount_ratio, 4),
        "term_months": term,
    }
    logit = np.full(n, INTERCEPT) + UNOBSERVED_QUALITY * q + rng.normal(0.0, NOISE_SD, n)
    for name, (_, effect) in RISK_EFFECTS.items():
        logit += effect(data[name])
    bad = (rng.random(n) < _sigmoid(logit)).astype(np.int8)
    for name, share in MISSING_SHARE.items():
        hide = rng.random(n) < share
        data[name] = np.where(hide, np.nan, data[name])
    df = pd.DataFrame(data)
    df[TARGET_COLUMN] = bad
    return df


def train_reference_model(
    out_dir: str | Path,
    seed: int = 0,
    rows: int = DEFAULT_ROWS,
    progress: Callable[[str], None] | None = None,
    nthread: int | None = None,
) -> TrainedModel:
    """Generate the reference data, train the platform model on it and save it.

    Parameters
    ----------
    out_dir : str or Path
        Directory to write the model to (created if needed).
    seed : int
        Seed for the data and the training.
    rows : int
        Rows of reference data (a fifth are held out for the model card).
    progress : callable, optional
        Called with a line of text at each step.
    nthread : int, optional
        XGBoost threads for training (default: the measured default, one).

    Returns
    -------
    TrainedModel
        Also saved in ``out_dir``; its model card says it was trained on
        synthetic reference data.
    """
    from .training import train

    spec = load_spec(PLATFORM_SPEC_PATH)
    df = generate_reference_data(rows, seed)
    trained = train(
        df,
        spec,
        seed=seed,
        progress=progress,
        source=(
            f"synthetic reference data ({GENERATOR_VERSION}, {rows:,} generated firms, "
            f"seed {seed}; process in docs/SCORING.md)"
        ),
        period="none (synthetic)",
        synthetic=True,
        nthread=nthread,
    )
    trained.save(out_dir)
    return trained
