"""``flask api-token ...``: create and revoke banks' API tokens."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from finportal.extensions import db
from finportal.models import Bank
from finportal.services import api_tokens
from finportal.services.errors import ServiceError

api_token_cli = AppGroup("api-token", help="Create and revoke banks' API tokens.")


@api_token_cli.command("create")
@click.option("--bank", "bank_code", required=True, help="The bank's code, e.g. demo_bank_a.")
@click.option("--label", default="", help="A note to tell tokens apart.")
def create_command(bank_code: str, label: str) -> None:
    """Create a token for a bank and print it once (only its SHA-256 is stored)."""
    bank = db.session.scalar(select(Bank).where(Bank.code == bank_code))
    if bank is None:
        raise click.ClickException(f"银行 {bank_code} 不存在 / no bank with code {bank_code}")
    try:
        token, plain = api_tokens.create_token(
            db.session, bank_id=bank.id, actor_id=None, label=label or "CLI"
        )
    except ServiceError as exc:
        raise click.ClickException(exc.message_zh) from exc
    click.echo(plain)
    click.echo(
        f"token #{token.id} ({token.prefix}…) for {bank.code}; it is shown only now.", err=True
    )


@api_token_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke_command(token_id: int) -> None:
    """Revoke a token by its id: it stops working at once."""
    try:
        token = api_tokens.revoke_token(db.session, token_id, actor_id=None)
    except ServiceError as exc:
        raise click.ClickException(exc.message_zh) from exc
    click.echo(f"token #{token.id} ({token.prefix}…) revoked")


@api_token_cli.command("list")
@click.option("--bank", "bank_code", default=None, help="Only this bank's tokens.")
def list_command(bank_code: str | None) -> None:
    """List tokens: id, bank, prefix, label, created, revoked."""
    bank_id = None
    if bank_code:
        bank = db.session.scalar(select(Bank).where(Bank.code == bank_code))
        if bank is None:
            raise click.ClickException(f"no bank with code {bank_code}")
        bank_id = bank.id
    for token in api_tokens.list_tokens(db.session, bank_id):
        state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
        click.echo(f"{token.id}\t{token.bank.code}\t{token.prefix}…\t{token.label}\t{state}")
