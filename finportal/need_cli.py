"""``flask --app wsgi needs ...``: the demand board's escalation, run once (for cron or tests)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from finportal.extensions import db
from finportal.services import needs

needs_cli = AppGroup("needs", help="The demand board (需求发布).")


@needs_cli.command("escalate")
@click.option(
    "--now",
    default=None,
    metavar="ISO-TIME",
    help="Take this moment as now (e.g. 2026-12-01T09:00:00+08:00); default: the clock.",
)
def escalate_command(now: str | None) -> None:
    """Hand every open need past its claim clock to the advisors; print how many."""
    moment = None
    if now:
        try:
            moment = datetime.fromisoformat(now)
        except ValueError as exc:
            raise click.BadParameter(f"not an ISO time: {now}", param_hint="--now") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    click.echo(json.dumps(needs.escalate_unclaimed(db.session, moment)))
