"""Command line: ``python -m scoring train|cv|evaluate|score|drift|compare|spec|bench|...``.

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
from .frame import DataError, labels, read_data
from .model import ModelError, json_safe, load_model
from .records import InsufficientDataError
from .reference import DEFAULT_ROWS, generate_reference_data, train_reference_model
from .spec import SpecError, load_spec
from .training import cross_validate, evaluate, file_sha256, train

CV_KEYS = ("folds", "rows", "bad_rate", "by", "methods", "auc_mean", "auc_std", "leakage")
BASELINE_KEYS = ("verdict", "baseline_auc_mean", "baseline_auc_std")
COMPARE_KEYS = (
    "rows",
    "bad_rate",
    "cutoff_pd",
    "champion",
    "challenger",
    "delta_auc",
    "approval_rate_change",
    "score_psi",
    "better",
)
METRIC_NAMES = ("auc", "ks", "brier", "ece")
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
TRAIN_KEYS = (
    "version",
    "out",
    "rows",
    "bad_rate",
    "auc",
    "ks",
    "brier",
    "ece",
    "baselines",
    "baseline_check",
    "data_sha256",
)


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


def _table(methods: dict[str, dict[str, Any]]) -> None:
    """Print methods side by side on stderr (the JSON on stdout stays one object)."""
    _progress(f"{'method':<16}" + "".join(f"{k.upper():>10}" for k in METRIC_NAMES))
    for name, m in methods.items():
        _progress(f"{name:<16}" + "".join(f"{m[k]:>10.4f}" for k in METRIC_NAMES))


def _overrides(a: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if getattr(a, "search_trials", None):
        out["search_trials"] = a.search_trials
    if getattr(a, "search_seconds", None):
        out["search_seconds"] = a.search_seconds
    if getattr(a, "threads", None):
        out["nthread"] = a.threads
    return out


def _cmd_train(a: argparse.Namespace) -> None:
    if a.reference:
        trained = train_reference_model(a.out, seed=a.seed, rows=a.rows, progress=_progress)
    else:
        if not a.data or not a.spec:
            raise DataError("train needs --data and --spec (or --reference)")
        spec = load_spec(a.spec)
        df = read_data(a.data, spec)
        trained = train(
            df,
            spec,
            seed=a.seed,
            progress=_progress,
            source=a.source,
            period=a.period,
            by=a.by,
            data_file_sha256=file_sha256(a.data),
            **_overrides(a),
        )
        trained.save(a.out)
    _progress(f"saved {trained.version} to {a.out}")
    card = trained.card
    m, d = card["metrics"], card["data"]
    if card.get("baselines"):
        _table({"pipeline": m, **card["baselines"]})
    result = {
        "version": trained.version,
        "out": str(a.out),
        "rows": d["rows"],
        "bad_rate": d["bad_rate"],
        "baselines": card.get("baselines", {}),
        "baseline_check": card.get("baseline_check", {}),
        "data_sha256": d.get("sha256"),
    }
    result.update({k: m[k] for k in METRIC_NAMES})
    _emit(result, TRAIN_KEYS, a.json)
    if a.require_better and not card.get("baseline_check", {}).get("passed", True):
        raise _Refused("the pipeline is worse than a baseline on the hold-out: do not promote it")


class _Refused(Exception):
    """A result the user asked to be refused (exit status 3)."""


def _cmd_cv(a: argparse.Namespace) -> None:
    spec = load_spec(a.spec)
    df = read_data(a.data, spec)
    result = cross_validate(
        df,
        spec,
        folds=a.folds,
        seed=a.seed,
        progress=_progress,
        baseline=not a.no_baselines,
        by=a.by,
        oof=bool(a.save_oof),
        **_overrides(a),
    )
    _table(result["methods"])
    if a.save_oof:
        result.pop("oof").to_csv(a.save_oof, index=False)
        _progress(f"wrote out-of-fold predictions to {a.save_oof}")
    _emit(result, CV_KEYS + (() if a.no_baselines else BASELINE_KEYS), a.json)


def _cmd_evaluate(a: argparse.Namespace) -> None:
    model = load_model(a.model)
    _emit(evaluate(model, read_data(a.data, model.spec)), EVALUATE_KEYS, a.json)


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
    _emit(drift_report(model, read_data(a.data, model.spec)), DRIFT_KEYS, a.json)


def _cmd_compare(a: argparse.Namespace) -> None:
    from .training import compare_on_holdout

    champion, challenger = load_model(a.champion), load_model(a.challenger)
    df = read_data(a.data, champion.spec)
    result = compare_on_holdout(champion, challenger, df, cutoff_pd=a.cutoff_pd)
    _table({"champion": result["champion"], "challenger": result["challenger"]})
    _emit(result, COMPARE_KEYS, a.json)


def _cmd_spec(a: argparse.Namespace) -> None:
    if a.action == "init":
        from .starter import starter_spec

        text = starter_spec(a.data, a.target, bad=a.bad, name=a.name, seed=a.seed)
        if a.out:
            Path(a.out).write_text(text, encoding="utf-8")
            _progress(f"wrote {a.out}: edit it, then python -m scoring train --spec {a.out} ...")
        else:
            print(text, end="")
        return
    from .checks import leakage_check, suggest_monotone
    from .frame import Encoder

    if not a.spec:
        raise DataError("spec check needs --spec")
    spec = load_spec(a.spec)
    df = read_data(a.data, spec)
    y = labels(df, spec)
    enc = Encoder(spec.model_features, decimal=spec.read.decimal).fit(df)
    x = enc.transform(df)
    result: dict[str, Any] = {
        "rows": len(y),
        "bad_rate": float(y.mean()),
        "column_problems": enc.column_problems(df),
        "leakage": leakage_check(x, y, enc.features),
        "monotone": [
            r for r in suggest_monotone(x, y, enc.features) if r["declared"] or a.suggest_monotone
        ],
    }
    for r in result["monotone"]:
        verdict = f", declared {r['declared']:+d}: {r['verdict']}" if r["declared"] else ""
        _progress(
            f"{r['feature']:<28} suggested {r['suggested']:+d} "
            f"(Spearman {r['rho']}, p {r['p']}, binned {r['binned_rho']}){verdict}"
        )
    _emit(result, ("rows", "bad_rate", "column_problems", "leakage", "monotone"), a.json)


def _cmd_bench(a: argparse.Namespace) -> None:
    from .bench import run_bench

    if a.train_threads:
        from .bench import training_threads

        seconds = training_threads(a.rows)
        _progress(
            f"training {a.rows:,} reference rows: "
            + ", ".join(f"{k} thread(s) {v} s" for k, v in seconds.items())
        )
        if a.json:
            print(json.dumps({"rows": a.rows, "train_seconds_by_threads": seconds}))
        return
    if a.model is None:
        _progress("training the reference model to benchmark (not timed)")
    result = run_bench(a.model, batch_rows=a.rows, nthread=a.threads, clock=a.clock)
    _emit(result, BENCH_KEYS, a.json)


def _cmd_reference_data(a: argparse.Namespace) -> None:
    generate_reference_data(a.rows, a.seed).to_csv(a.out, index=False)
    _progress(f"wrote {a.rows:,} synthetic reference rows to {a.out}")


def _cmd_ratio_data(a: argparse.Namespace) -> None:
    from .ratios import generate_ratio_data, write_arff

    df = generate_ratio_data(a.rows, a.seed)
    if str(a.out).lower().endswith(".arff"):
        write_arff(df, a.out)
    else:
        df.to_csv(a.out, index=False, na_rep="?")
    _progress(f"wrote {a.rows:,} synthetic firms with 64 ratios to {a.out}")


def _search_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--search-trials", type=int, default=0, help="hyper-parameter search: at most N trials"
    )
    sp.add_argument(
        "--search-seconds", type=float, default=0.0, help="hyper-parameter search: time budget"
    )
    sp.add_argument("--threads", type=int, default=None, help="XGBoost training threads")


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
    sp.add_argument("--by", help="date column: hold out the latest period (out of time)")
    sp.add_argument(
        "--require-better",
        action="store_true",
        help="exit with status 3 when a baseline beats the pipeline on the hold-out",
    )
    _search_args(sp)
    sp.set_defaults(func=_cmd_train)

    sp = add("cv", "cross-validate the pipeline beside logistic regression and plain XGBoost")
    sp.add_argument("--data", required=True)
    sp.add_argument("--spec", required=True)
    sp.add_argument("--folds", type=int, default=5)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--by", help="date column: out-of-time folds (train on earlier periods)")
    sp.add_argument("--save-oof", help="write out-of-fold PDs of every method to this CSV")
    sp.add_argument("--no-baselines", action="store_true", help="skip the two baselines")
    sp.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)  # now always on
    _search_args(sp)
    sp.set_defaults(func=_cmd_cv)

    sp = add("compare", "compare a champion and a challenger model on the same hold-out")
    sp.add_argument("--champion", required=True)
    sp.add_argument("--challenger", required=True)
    sp.add_argument("--data", required=True, help="recent labelled rows neither model trained on")
    sp.add_argument(
        "--cutoff-pd",
        type=float,
        default=None,
        help="approve below this PD (default: the upper PD bound of grade C)",
    )
    sp.set_defaults(func=_cmd_compare)

    sp = add("spec", "write a starter spec for a data file, or check a spec against the data")
    sp.add_argument("action", choices=("init", "check"))
    sp.add_argument("--data", required=True)
    sp.add_argument("--target", help="label column (spec init)")
    sp.add_argument("--bad", action="append", help="a label value meaning bad (repeatable)")
    sp.add_argument("--name", help="spec name (default: from the file name)")
    sp.add_argument("--out", help="write the spec here (default: print it)")
    sp.add_argument("--spec", help="the spec to check (spec check)")
    sp.add_argument(
        "--suggest-monotone",
        action="store_true",
        help="suggest a monotone sign for every numeric feature, with the evidence",
    )
    sp.add_argument("--seed", type=int, default=0)
    sp.set_defaults(func=_cmd_spec)

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
    sp.add_argument(
        "--train-threads",
        action="store_true",
        help="instead: time training on --rows reference rows with 1 and 2 threads",
    )
    sp.set_defaults(func=_cmd_bench)

    sp = sub.add_parser("ratio-data", help="write synthetic 64-ratio company data (ARFF or CSV)")
    sp.add_argument("--out", required=True)
    sp.add_argument("--rows", type=int, default=6000)
    sp.add_argument("--seed", type=int, default=0)
    sp.set_defaults(func=_cmd_ratio_data)

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
    except _Refused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 3
    return 0
