"""Command-line commands registered on the app (``flask --app wsgi ...``)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the project's CLI commands."""
    from finportal.audit_cli import audit_cli
    from finportal.demo import demo_command
    from finportal.jobs import jobs_cli
    from finportal.need_cli import needs_cli
    from finportal.packets.bench import packets_cli
    from finportal.public_data_cli import public_data_cli  # issue 14
    from finportal.push_cli import push_cli  # wip-13p
    from finportal.reference_cli import reference_cli
    from finportal.reminders_cli import reminders_cli
    from finportal.scale import scale_command
    from finportal.scoring_cli import scoring_cli
    from finportal.services.escalation import escalations_cli  # issue 15
    from finportal.services.packet_bench import pipeline_bench_command
    from finportal.subsidies_cli import subsidies_cli  # issue 13
    from finportal.web.api.cli import api_token_cli

    packets_cli.add_command(pipeline_bench_command)
    for command in (
        demo_command,
        packets_cli,
        scoring_cli,
        api_token_cli,
        audit_cli,
        scale_command,
        jobs_cli,
        reference_cli,
        needs_cli,
        escalations_cli,
        subsidies_cli,
        push_cli,
        reminders_cli,
        public_data_cli,
    ):
        app.cli.add_command(command)
