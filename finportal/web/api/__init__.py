"""Bank API v1 under /api/v1 (flask-smorest), authenticated with per-bank bearer tokens."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the API on the app."""
