"""``flask reminders ...``: the maturity reminders with the renewal pre-check (issue 13)."""

from __future__ import annotations

import json
import time
from datetime import date

import click
from flask.cli import AppGroup

from finportal.extensions import db
from finportal.services import reminders

reminders_cli = AppGroup(
    "reminders", help="Maturity reminders (到期提醒) and the renewal pre-check."
)


@reminders_cli.command("run")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Run as on this day (YYYY-MM-DD; default: today in Shanghai), e.g. for a fixed clock.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def run_command(today: date | None, as_json: bool) -> None:
    """Send the reminders due today; idempotent, safe to run every hour."""
    day = today.date() if today is not None else None  # type: ignore[attr-defined]
    started = time.perf_counter()
    result = reminders.run_reminders(db.session, today=day)
    # The run's own time (not the command's start-up), the number docs/BENCHMARKS.md records.
    result["seconds"] = round(time.perf_counter() - started, 3)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        click.echo(
            f"{result['today']}: {result['sent']} reminder(s) sent for {result['loans']} loan(s)"
            f" in {result['seconds']} s"
        )
