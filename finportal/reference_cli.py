"""``flask --app wsgi reference holidays``: load the State Council's holiday notices."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from finportal.extensions import db
from finportal.services import reference_data

reference_cli = AppGroup("reference", help="Reference data: the holiday table.")


@reference_cli.command("holidays")
@click.option("--year", "years", type=int, multiple=True, help="only this year (repeatable)")
def holidays_command(years: tuple[int, ...]) -> None:
    """Add the notices' days off and make-up workdays the holiday table lacks (idempotent)."""
    result = reference_data.load_official_holidays(db.session, actor_id=None, years=years or None)
    carried = ", ".join(str(n["year"]) for n in reference_data.official_notices())
    click.echo(f"holidays: {result['added']} added, {result['kept']} already there ({carried})")
