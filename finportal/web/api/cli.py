"""``flask api-token ...``: create and revoke banks' API tokens."""

from __future__ import annotations

from flask.cli import AppGroup

api_token_cli = AppGroup("api-token", help="Create and revoke banks' API tokens.")
