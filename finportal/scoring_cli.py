"""``flask scoring ...``: retrain a challenger from the platform's outcomes, list models."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from finportal.extensions import db
from finportal.models import ModelVersion
from finportal.services import retraining
from scoring.records import MIN_BADS, MIN_ROWS

scoring_cli = AppGroup("scoring", help="Credit models: retrain a challenger, list versions.")

_METRICS = (("auc", "AUC"), ("ks", "KS"), ("brier", "Brier"), ("ece", "ECE"))


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:.4f}"


@scoring_cli.command("retrain")
@click.option("--seed", default=0, show_default=True, help="Seed of the split and of training.")
@click.option(
    "--min-rows", default=MIN_ROWS, show_default=True, help="Refuse below this many outcomes."
)
@click.option(
    "--min-bads",
    default=MIN_BADS,
    show_default=True,
    help="Refuse below this many bad (or good) outcomes.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def retrain_command(seed: int, min_rows: int, min_bads: int, as_json: bool) -> None:
    """Train a challenger from the platform's loan outcomes and compare it with the champion."""
    progress = None if as_json else (lambda line: click.echo(f"  {line}", err=True))
    try:
        result = retraining.retrain(
            db.session,
            actor_id=None,
            seed=seed,
            min_rows=min_rows,
            min_bads=min_bads,
            progress=progress,
        )
    except retraining.NotEnoughOutcomes as exc:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "error": exc.code,
                        "message_zh": exc.message_zh,
                        "message_en": exc.message_en,
                        "rows": exc.rows,
                        "bads": exc.bads,
                        "min_rows": exc.min_rows,
                        "min_bads": exc.min_bads,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            click.echo(f"{exc.message_zh}\n{exc.message_en}", err=True)
        sys.exit(1)
    row = result.model_version
    comparison = result.comparison
    if as_json:
        click.echo(
            json.dumps(
                {
                    "challenger": row.version,
                    "model_version_id": row.id,
                    "rows": result.rows,
                    "bads": result.bads,
                    "train_rows": result.train_rows,
                    "holdout_rows": result.holdout_rows,
                    "comparison": comparison,
                    "challenger_metrics": result.challenger_metrics,
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(
        f"挑战者模型 / challenger: {row.version} (id {row.id})\n"
        f"贷款结果 / outcomes: {result.rows}（不良 / bad {result.bads}）; "
        f"训练 / train {result.train_rows}, 留出 / hold-out {result.holdout_rows}"
    )
    champion = comparison["champion"] if comparison else None
    click.echo(f"\n同一留出样本上的比较 / same hold-out ({result.holdout_rows} rows):")
    click.echo(f"{'':8}{'champion':>14}{'challenger':>14}")
    if champion:
        click.echo(f"{'version':8}{champion['version'][-14:]:>14}{row.version[-14:]:>14}")
    for key, label in _METRICS:
        left = _num(champion[key]) if champion else "–"
        click.echo(f"{label:8}{left:>14}{_num(result.challenger_metrics[key]):>14}")
    if comparison is None:
        click.echo("\n没有当前模型可比较 / no champion to compare with.")
    else:
        better = (
            "挑战者更好 / challenger is better"
            if comparison["better"] == "challenger"
            else ("当前模型更好 / champion stays better")
        )
        click.echo(f"\nΔAUC {comparison['delta_auc']:+.4f}: {better}")
    click.echo("管理员可在 /admin/models 查看模型卡并启用 / promote it at /admin/models.")


@scoring_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the versions as JSON.")
def list_command(as_json: bool) -> None:
    """List the credit model versions with their status and hold-out AUC."""
    rows = db.session.scalars(select(ModelVersion).order_by(ModelVersion.created_at.desc())).all()
    data = [
        {
            "id": r.id,
            "version": r.version,
            "name": r.name,
            "status": r.status,
            "synthetic": r.synthetic,
            "auc": (r.card.get("metrics") or {}).get("auc"),
            "created_at": r.created_at.isoformat(timespec="seconds"),
        }
        for r in rows
    ]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for d in data:
        flag = " synthetic" if d["synthetic"] else ""
        click.echo(f"{d['id']:>4} {d['status']:<10} {d['version']}  AUC {_num(d['auc'])}{flag}")


@scoring_cli.command("compare")
@click.argument("challenger_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare_command(challenger_id: int, as_json: bool) -> None:
    """Compare the champion and a challenger on the same most recent loan outcomes."""
    from finportal.services import credit

    result = credit.compare_with_champion(db.session, challenger_id)
    c = result["comparison"]
    if as_json:
        click.echo(json.dumps({"rows": result["rows"], "bads": result["bads"], "comparison": c}))
        return
    if c is None:
        click.echo(
            f"贷款结果不足 / not enough outcomes: {result['rows']} ({result['bads']} bad)", err=True
        )
        sys.exit(1)
    click.echo(f"{'':22}{'champion':>12}{'challenger':>12}")
    for key in ("auc", "ks", "brier", "ece", "approval_rate"):
        click.echo(f"{key:22}{_num(c['champion'][key]):>12}{_num(c['challenger'][key]):>12}")
    click.echo(
        f"approval rate change {c['approval_rate_change']:+.4f} at PD < {c['cutoff_pd']}, "
        f"score PSI {c['score_psi']:.4f}, better: {c['better']}"
    )


@scoring_cli.command("rollback")
@click.option("--reason", required=True, help="Why the previous champion comes back (audited).")
def rollback_command(reason: str) -> None:
    """Make the previous champion the champion again."""
    from finportal.services import credit

    row = credit.rollback_model(db.session, actor_id=None, reason=reason)
    click.echo(f"恢复 / restored {row.version}")
