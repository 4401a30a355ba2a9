"""API tokens: created and revoked by admins (services) or the CLI, stored hashed, shown once."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from finportal.models import ApiToken, AuditEvent
from finportal.services import api_tokens
from finportal.services.errors import InvalidTransition, NotFound, ValidationFailed


def test_create_authenticate_revoke(db_session, create_bank, create_user):
    bank = create_bank()
    admin = create_user("admin")
    token, plain = api_tokens.create_token(
        db_session, bank_id=bank.id, actor_id=admin.id, label="核心系统"
    )
    assert plain.startswith("fp_") and len(plain) > 40
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert token.prefix == plain[:10] and token.label == "核心系统"
    assert plain not in {token.token_hash, token.label}
    assert api_tokens.authenticate(db_session, plain).id == token.id
    assert api_tokens.authenticate(db_session, plain + "x") is None
    assert api_tokens.authenticate(db_session, "") is None
    assert [t.id for t in api_tokens.list_tokens(db_session, bank.id)] == [token.id]
    api_tokens.revoke_token(db_session, token.id, actor_id=admin.id)
    assert api_tokens.authenticate(db_session, plain) is None
    with pytest.raises(InvalidTransition):
        api_tokens.revoke_token(db_session, token.id, actor_id=admin.id)
    actions = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "api_token")
    ).all()
    assert sorted(actions) == ["api_token.created", "api_token.revoked"]


def test_two_tokens_differ_and_bad_input_is_refused(db_session, create_bank):
    bank = create_bank()
    _, one = api_tokens.create_token(db_session, bank_id=bank.id, actor_id=None)
    _, two = api_tokens.create_token(db_session, bank_id=bank.id, actor_id=None)
    assert one != two
    with pytest.raises(NotFound):
        api_tokens.create_token(db_session, bank_id=999999, actor_id=None)
    with pytest.raises(ValidationFailed):
        api_tokens.create_token(db_session, bank_id=bank.id, actor_id=None, label="x" * 121)
    with pytest.raises(NotFound):
        api_tokens.revoke_token(db_session, 999999, actor_id=None)


def test_cli_creates_and_revokes(app, db_session, create_bank, client):
    bank = create_bank(code="cli_bank")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api-token", "create", "--bank", "cli_bank", "--label", "批量"])
    assert result.exit_code == 0, result.output
    plain = result.stdout.strip().splitlines()[0]
    row = db_session.scalar(select(ApiToken).where(ApiToken.bank_id == bank.id))
    assert row.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert (
        client.get("/api/v1/batches/", headers={"Authorization": f"Bearer {plain}"}).status_code
        == 200
    )
    listing = runner.invoke(args=["api-token", "list", "--bank", "cli_bank"])
    assert row.prefix in listing.output and plain not in listing.output
    result = runner.invoke(args=["api-token", "revoke", str(row.id)])
    assert result.exit_code == 0, result.output
    assert (
        client.get("/api/v1/batches/", headers={"Authorization": f"Bearer {plain}"}).status_code
        == 401
    )
    assert runner.invoke(args=["api-token", "create", "--bank", "nope"]).exit_code != 0
    assert runner.invoke(args=["api-token", "revoke", "999999"]).exit_code != 0
