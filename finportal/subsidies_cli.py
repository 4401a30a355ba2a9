"""``flask --app wsgi subsidies compute|close``: the subsidy steps a scheduler can run (issue 13)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from finportal.extensions import db
from finportal.services import entitlements

subsidies_cli = AppGroup("subsidies", help="Subsidy entitlements (免申即享, 公示).")


@subsidies_cli.command("compute")
def compute_command() -> None:
    """Work out the entitlements of every repayment not yet computed (idempotent)."""
    result = entitlements.compute_entitlements(db.session)
    click.echo(json.dumps({"owed": len(result.owed), "excluded": len(result.excluded)}))


@subsidies_cli.command("close")
def close_command() -> None:
    """End the answer time of lists past their deadline (safe to run every hour)."""
    click.echo(json.dumps({"closed": entitlements.close_expired(db.session)}))
