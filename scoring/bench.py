"""Measure scoring speed: one application with reasons, batches, model loading."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .model import batch_threads, load_model
from .reference import generate_reference_data, train_reference_model


def _median_ms(times: list[float]) -> float:
    return float(np.median(times) * 1e3)


def run_bench(
    model_dir: str | Path | None = None,
    *,
    applications: int = 2000,
    batch_rows: int = 1_000_000,
    repeats: int = 3,
    nthread: int | None = None,
    clock: str = "wall",
) -> dict[str, float]:
    """Return ``score_explain_p50_ms``, ``score_explain_p99_ms``, ``batch_rows_per_s``, ``model_load_ms``.

    Parameters
    ----------
    model_dir : str or Path, optional
        A saved model; default: train the reference model in a temporary
        directory first (not timed).
    applications : int
        One-at-a-time applications to time (reference data rows).
    batch_rows : int
        Rows in the batch scored by :meth:`CreditModel.score_many`.
    repeats : int
        Batch runs and model loads are repeated; the median counts.
    nthread : int, optional
        Threads for the batch (default: the machine's cores, at most 8).
    clock : str
        ``wall`` (default) or ``cpu``: process CPU time, for a fair reading on a
        machine shared with other work. With ``cpu`` the batch rate is rows per
        CPU-second times the batch threads, i.e. the rate with a free core per
        thread.
    """
    if clock not in ("wall", "cpu"):
        raise ValueError("clock must be 'wall' or 'cpu'")
    with tempfile.TemporaryDirectory(prefix="scoring-bench-") as tmp:
        if model_dir is None:
            model_dir = Path(tmp) / "reference"
            train_reference_model(model_dir, seed=0)
        return _measure(Path(model_dir), applications, batch_rows, repeats, nthread, clock)


def _measure(
    model_dir: Path,
    applications: int,
    batch_rows: int,
    repeats: int,
    nthread: int | None,
    clock: str,
) -> dict[str, float]:
    now = time.process_time if clock == "cpu" else time.perf_counter
    threads = nthread or batch_threads()
    load_model(model_dir)  # warm the file cache
    loads = []
    for _ in range(max(5, repeats)):
        t0 = now()
        model = load_model(model_dir)
        loads.append(now() - t0)

    df = _rows_for(model, applications)
    rows: list[dict[str, Any]] = [
        {k: (None if v != v else v) for k, v in r.items()} for r in df.to_dict("records")
    ]
    for r in rows[:50]:
        model.score_one(r)
    one = []
    for r in rows:
        t0 = now()
        model.score_one(r, explain=True)
        one.append(now() - t0)

    reps = -(-batch_rows // len(df))
    big = pd.concat([df] * reps, ignore_index=True).iloc[:batch_rows]
    model.score_many(big.iloc[:1000], nthread=nthread)
    batch = []
    for _ in range(repeats):
        t0 = now()
        model.score_many(big, nthread=nthread)
        batch.append(now() - t0)
    return {
        "score_explain_p50_ms": round(_median_ms(one), 4),
        "score_explain_p99_ms": round(float(np.percentile(one, 99) * 1e3), 4),
        "batch_rows_per_s": round(
            batch_rows / float(np.median(batch)) * (threads if clock == "cpu" else 1), 1
        ),
        "model_load_ms": round(_median_ms(loads), 3),
    }


def _rows_for(model: Any, n: int) -> pd.DataFrame:
    """Return ``n`` rows of the model's features: reference data, or random values."""
    names = model.feature_names
    ref = generate_reference_data(n, seed=12345)
    if all(c in ref.columns for c in names):
        return ref[names].reset_index(drop=True)
    # A model on other data: draw each feature from its training summary's bins.
    rng = np.random.default_rng(0)
    cols: dict[str, Any] = {}
    for f in model.features:
        summ = model.metadata["data_summary"]["features"][f.name]
        if "categories" in summ and summ["categories"]:
            cols[f.column] = rng.choice(summ["categories"], size=n)
        else:
            edges = summ.get("edges") or [0.0]
            cols[f.column] = rng.choice(np.asarray(edges, dtype=float), size=n)
    return pd.DataFrame(cols)


def training_threads(rows: int = 25_000, threads: tuple[int, ...] = (1, 2)) -> dict[str, float]:
    """Return seconds to train the platform model on ``rows`` reference rows, per thread count.

    The default training thread count (``scoring.training.DEFAULT_TRAIN_THREADS``)
    comes from this measurement, not from an assumption.
    """
    from .spec import PLATFORM_SPEC_PATH, load_spec
    from .training import train

    spec = load_spec(PLATFORM_SPEC_PATH)
    df = generate_reference_data(rows, seed=0)
    out: dict[str, float] = {}
    for n in threads:
        t0 = time.perf_counter()
        train(df, spec, seed=0, nthread=n)
        out[str(n)] = round(time.perf_counter() - t0, 2)
    return out
