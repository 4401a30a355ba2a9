"""Command-line commands registered on the app (``flask --app wsgi ...``)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the project's CLI commands."""
    from finportal.demo import demo_command

    app.cli.add_command(demo_command)
