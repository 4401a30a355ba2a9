"""Benchmark packet rendering: steady-state time, size, pages and 100 packets on all cores.

Run ``python -m finportal.packets.bench --json`` (or, once the command group is
registered on the app, ``flask --app wsgi packets bench --json``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import click
from pypdf import PdfReader

from finportal.packets.render import prepare_worker, render_packet
from finportal.packets.samples import sample_context
from finportal.packets.stamp import stamp_pdf

__all__ = ["packets_cli", "run_bench"]


def _context(i: int) -> Any:
    # A different packet number and name per packet, as in real use; common characters.
    base = sample_context()
    return dataclasses.replace(
        base,
        packet_number=f"RP-20261127-{i:06d}",
        enterprise_name=f"上海闵联智能装备科技有限公司{i % 10}号分公司",
    )


def _render_one(i: int) -> int:
    return len(render_packet(_context(i)))


def run_bench(n: int = 100, workers: int = 2, steady: int = 20, warmup: int = 3) -> dict[str, Any]:
    """Measure packet rendering and return the numbers as a dict.

    ``seconds_per_packet`` is the median over ``steady`` renders in this process after
    ``warmup`` renders (steady state, as in a long-lived background worker);
    ``seconds_for_100`` is the wall time for ``n`` packets on a pool of ``workers``
    processes, counted from the moment the pool is started, warm-up included, scaled
    to 100 packets; ``worker_cpu_seconds_for_100`` is the CPU time those workers used
    (divide by ``workers`` for the wall time on otherwise idle cores).
    """
    prepare_worker()
    for i in range(warmup):
        render_packet(_context(i))
    times, cpu_times = [], []
    pdf = b""
    for i in range(steady):
        start, cpu_start = time.perf_counter(), time.process_time()
        pdf = render_packet(_context(i))
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)

    stamp_times = []
    for i in range(5):
        start = time.perf_counter()
        stamp_pdf(pdf, ["上海农商银行闵行支行", f"用户 bank-user-{i}", "2026-11-27 21:40:00"])
        stamp_times.append(time.perf_counter() - start)

    cpu_before = os.times()
    pool_start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, initializer=prepare_worker) as pool:
        sizes = list(pool.map(_render_one, range(n), chunksize=max(1, n // (workers * 4))))
    pool_seconds = time.perf_counter() - pool_start
    cpu_after = os.times()  # the pool's workers have exited: their CPU time is counted
    worker_cpu = (cpu_after.children_user - cpu_before.children_user) + (
        cpu_after.children_system - cpu_before.children_system
    )

    return {
        "seconds_per_packet": round(statistics.median(times), 4),
        "seconds_per_packet_min": round(min(times), 4),
        # CPU time of this process per packet: less sensitive to other work on the machine.
        "cpu_seconds_per_packet": round(statistics.median(cpu_times), 4),
        "kb_per_packet": round(len(pdf) / 1024, 1),
        "pages": pages,
        "seconds_per_stamp": round(statistics.median(stamp_times), 4),
        "n": n,
        "workers": workers,
        "seconds_for_n": round(pool_seconds, 2),
        "seconds_for_100": round(pool_seconds * 100 / n, 2),
        # CPU the workers used: what the run costs when the cores are not shared.
        "worker_cpu_seconds_for_100": round(worker_cpu * 100 / n, 2),
        "kb_for_n_mean": round(sum(sizes) / len(sizes) / 1024, 1),
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


packets_cli = click.Group("packets", help="Referral packets (推荐材料包).")


@packets_cli.command("bench")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--n", default=100, show_default=True, help="Packets for the parallel run.")
@click.option("--workers", default=2, show_default=True, help="Processes for the parallel run.")
@click.option("--steady", default=20, show_default=True, help="Renders timed in one process.")
def bench_command(as_json: bool, n: int, workers: int, steady: int) -> None:
    """Benchmark packet rendering (steady state, size, pages, n packets on all cores)."""
    result = run_bench(n=n, workers=workers, steady=steady)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            click.echo(f"{key}: {value}")


if __name__ == "__main__":
    bench_command.main(prog_name="python -m finportal.packets.bench")
