"""Command line: ``python -m scoring train|cv|evaluate|score|drift|bench|reference-data``.

With ``--json`` each command prints one JSON object on stdout with fixed keys
(other tools read them); progress and errors go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .drift import drift_report
from .frame import DataError, read_csv
from .model import ModelError, json_safe, load_model
from .records import InsufficientDataError
from .reference import DEFAULT_ROWS, generate_reference_data, train_reference_model
from .spec import SpecError, load_spec
from .training import cross_validate, evaluate, train

CV_KEYS = ("auc_mean", "auc_std", "folds", "rows", "bad_rate")
BASELINE_KEYS = ("baseline_auc_mean", "baseline_auc_std")
EVALUATE_KEYS = ("auc", "ks", "brier", "ece", "rows", "bad_rate")
SCORE_KEYS = (
    "status",
    "pd",
    "score",
    "grade",
    "reasons",
    "context",
    "missing_inputs",
    "missing_required",
    "coerced",
    "problems",
)
DRIFT_KEYS = ("rows", "score_psi", "score_status", "feature_psi", "shifted", "watch")
BENCH_KEYS = ("score_explain_p50_ms", "score_explain_p99_ms", "batch_rows_per_s", "model_load_ms")
TRAIN_KEYS = ("version", "out", "rows", "bad_rate", "auc", "ks", "brier", "ece")


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _emit(data: dict[str, Any], keys: Sequence[str], as_json: bool) -> None:
    out = {k: data[k] for k in keys}
    if as_json:
        print(json.dumps(json_safe(out), ensure_ascii=False))
        return
    for k, v in out.items():
        text = json.dumps(json_safe(v), ensure_ascii=False) if isinstance(v, dict | list) else v
        print(f"{k}: {text}")


def _cmd_train(a: argparse.Namespace) -> None:
    if a.reference:
        trained = train_reference_model(a.out, seed=a.seed, rows=a.rows, progress=_progress)
    else:
        if not a.data or not a.spec:
            raise DataError("train needs --data and --spec (or --reference)")
        spec = load_spec(a.spec)
        df = read_csv(a.data, spec)
        trained = train(df, spec, seed=a.seed, progress=_progress, source=a.source, period=a.period)
        trained.save(a.out)
    _progress(f"saved {trained.version} to {a.out}")
    m = trained.card["metrics"]
    d = trained.card["data"]
    result = {
        "version": trained.version,
        "out": str(a.out),
        "rows": d["rows"],
        "bad_rate": d["bad_rate"],
    }
    result.update({k: m[k] for k in ("auc", "ks", "brier", "ece")})
    _emit(result, TRAIN_KEYS, a.json)


def _cmd_cv(a: argparse.Namespace) -> None:
    spec = load_spec(a.spec)
    df = read_csv(a.data, spec)
    result = cross_validate(
        df, spec, folds=a.folds, seed=a.seed, progress=_progress, baseline=a.baseline
    )
    _emit(result, CV_KEYS + (BASELINE_KEYS if a.baseline else ()), a.json)


def _cmd_evaluate(a: argparse.Namespace) -> None:
    model = load_model(a.model)
    _emit(evaluate(model, read_csv(a.data, model.spec)), EVALUATE_KEYS, a.json)


def _read_row(text: str) -> dict[str, Any]:
    t = text.strip()
    if not t.startswith("{"):
        try:
            t = Path(t).read_text(encoding="utf-8")
        except OSError as exc:
            raise DataError(f"--row is neither a JSON object nor a readable file: {exc}") from None
    try:
        row = json.loads(t)
    except json.JSONDecodeError as exc:
        raise DataError(f"--row is not valid JSON: {exc}") from None
    if not isinstance(row, dict):
        raise DataError("--row must be a JSON object of feature values")
    return row


def _cmd_score(a: argparse.Namespace) -> None:
    model = load_model(a.model)
    result = model.score_one(_read_row(a.row), max_reasons=a.reasons, strict=not a.lenient)
    for c in result.coerced:
        _progress(f"note: {c['feature']}: {c['given']!r} -> {c['used']!r} ({c['note']})")
    if result.status != "scored":
        _progress(
            "insufficient data: not scored; missing required inputs: "
            + (", ".join(result.missing_required) or "none")
            + f"; {len(result.missing)} of {len(model.features)} inputs missing"
        )
    _emit(result.to_dict(), SCORE_KEYS, a.json)


def _cmd_drift(a: argparse.Namespace) -> None:
    model = load_model(a.model)
    _emit(drift_report(model, read_csv(a.data, model.spec)), DRIFT_KEYS, a.json)


def _cmd_bench(a: argparse.Namespace) -> None:
    from .bench import run_bench

    if a.model is None:
        _progress("training the reference model to benchmark (not timed)")
    result = run_bench(a.model, batch_rows=a.rows, nthread=a.threads, clock=a.clock)
    _emit(result, BENCH_KEYS, a.json)


def _cmd_reference_data(a: argparse.Namespace) -> None:
    generate_reference_data(a.rows, a.seed).to_csv(a.out, index=False)
    _progress(f"wrote {a.rows:,} synthetic reference rows to {a.out}")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for ``python -m scoring``."""
    p = argparse.ArgumentParser(prog="python -m scoring", description="FinPortal credit scoring")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_)
        sp.add_argument("--json", action="store_true", help="print one JSON object")
        return sp

    sp = add("train", "train a model from a CSV and a spec, and save it")
    sp.add_argument("--data", help="CSV of historical loans")
    sp.add_argument("--spec", help="feature spec YAML")
    sp.add_argument("--reference", action="store_true", help="train on synthetic reference data")
    sp.add_argument(
        "--rows", type=int, default=DEFAULT_ROWS, help="reference rows (with --reference)"
    )
    sp.add_argument("--out", required=True, help="model directory to write")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--source", help="data source for the model card (default: the spec's)")
    sp.add_argument("--period", help="data period for the model card (default: the spec's)")
    sp.set_defaults(func=_cmd_train)

    sp = add("cv", "cross-validate the training pipeline")
    sp.add_argument("--data", required=True)
    sp.add_argument("--spec", required=True)
    sp.add_argument("--folds", type=int, default=5)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument(
        "--baseline",
        action="store_true",
        help="also plain XGBoost on the same folds (adds baseline_auc_mean, baseline_auc_std)",
    )
    sp.set_defaults(func=_cmd_cv)

    sp = add("evaluate", "measure a saved model on labelled data")
    sp.add_argument("--model", required=True)
    sp.add_argument("--data", required=True)
    sp.set_defaults(func=_cmd_evaluate)

    sp = add("score", "score one application")
    sp.add_argument("--model", required=True)
    sp.add_argument(
        "--row", required=True, help="JSON object of feature values, or a file holding one"
    )
    sp.add_argument("--reasons", type=int, default=4, help="at most this many reasons")
    sp.add_argument(
        "--lenient",
        action="store_true",
        help="leave unknown keys and unusable values out (reported) instead of refusing the row",
    )
    sp.set_defaults(func=_cmd_score)

    sp = add("drift", "PSI of score and features against the training data")
    sp.add_argument("--model", required=True)
    sp.add_argument("--data", required=True)
    sp.set_defaults(func=_cmd_drift)

    sp = add("bench", "measure scoring speed")
    sp.add_argument("--model", help="model directory (default: train the reference model)")
    sp.add_argument("--rows", type=int, default=1_000_000, help="batch rows")
    sp.add_argument("--threads", type=int, default=None, help="batch threads")
    sp.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or process CPU time (fair on a shared machine)",
    )
    sp.set_defaults(func=_cmd_bench)

    sp = sub.add_parser("reference-data", help="write synthetic reference data as CSV")
    sp.add_argument("--out", required=True)
    sp.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    sp.add_argument("--seed", type=int, default=0)
    sp.set_defaults(func=_cmd_reference_data)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (SpecError, DataError, ModelError, InsufficientDataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
