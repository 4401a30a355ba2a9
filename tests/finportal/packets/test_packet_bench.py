"""The benchmark command prints the numbers docs/BENCHMARKS.md records."""

from __future__ import annotations

import gc
import json

from click.testing import CliRunner

from finportal.packets.bench import packets_cli


def test_bench_command_prints_json(monkeypatch):
    # Keep the test process's garbage collector as it was (workers freeze theirs).
    monkeypatch.setattr(gc, "freeze", lambda: None)
    args = ["bench", "--json", "--n", "2", "--workers", "1", "--steady", "1"]
    result = CliRunner().invoke(packets_cli, args)
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.output)
    assert numbers["pages"] == 3
    assert 0 < numbers["kb_per_packet"] < 200
    assert numbers["seconds_per_packet"] > 0
    assert numbers["seconds_for_100"] > 0
    assert packets_cli.name == "packets"


def test_pipeline_bench_prints_json(monkeypatch):
    from finportal.services.packet_bench import pipeline_bench_command

    monkeypatch.setattr(gc, "freeze", lambda: None)
    packets_cli.add_command(pipeline_bench_command)
    args = ["bench-pipeline", "--json", "--n", "2", "--codes", "200"]
    result = CliRunner().invoke(packets_cli, args)
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.output)
    assert numbers["batch_kb"] > numbers["batch_without_schedules_kb"] > 0
    assert numbers["verify_lookup_ms"] > 0 and numbers["verify_like_scan_ms"] > 0
    assert numbers["store_get_ms"] > 0 and numbers["blob_read_ms"] > 0
