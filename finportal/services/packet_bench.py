"""Benchmark the packet pipeline around the renderer: batch packets, the store, verification.

``flask --app wsgi packets bench-pipeline --json`` (the renderer alone: ``packets bench``).
Everything runs in a temporary folder and a temporary SQLite database, never the app's:

- ``batch_of_n_seconds``: a batch packet of ``n`` members rendered as the ``batch_packet``
  job does (each member's packet with its schedule, the cover, merged), in one process
  (``batch_of_n_cpu_seconds``: the same in process CPU time, steadier on a shared machine);
  ``batch_without_schedules_seconds``: the same with member packets as the batch job made
  them before the one builder (no repayment schedule), for comparison;
- ``store_put_ms`` / ``store_get_ms``: a packet into and out of the packet store (files);
  ``blob_write_ms`` / ``blob_read_ms``: the same bytes as a blob column of a SQLite row,
  as referral packets were kept before the ``packets`` table;
- ``verify_lookup_ms``: finding a code among ``codes`` packets by the indexed
  ``packets.verification_code``; ``verify_like_scan_ms``: the scan that found batch codes
  before (``CAST(jobs.result AS TEXT) LIKE '%code%'`` over batch jobs holding the same
  number of codes, 20 per job), for a code of the oldest job (the scan's worst case).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from sqlalchemy import String, cast, create_engine, insert, select, text
from sqlalchemy.orm import Session

__all__ = ["pipeline_bench_command", "run_pipeline_bench"]


def _median_ms(func: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 3)


def _batch_seconds(n: int, *, schedule: bool = True) -> tuple[float, float, int]:
    from finportal.packets import merge_batch_packet, prepare_worker, render_packet
    from finportal.packets.samples import sample_batch_cover, sample_context

    prepare_worker()
    cover = sample_batch_cover(n_members=n)
    contexts = [
        sample_context(enterprise_name=m.enterprise_name, packet_number=m.packet_number)
        for m in cover.members
    ]
    if not schedule:  # member packets as the batch job made them before: no schedule
        contexts = [replace(c, quote=replace(c.quote, schedule=())) for c in contexts]
    start, cpu_start = time.perf_counter(), time.process_time()
    merged = merge_batch_packet(cover, [render_packet(c) for c in contexts])
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return round(wall, 2), round(cpu, 2), len(merged)


def run_pipeline_bench(n: int = 10, codes: int = 20000, repeat: int = 50) -> dict[str, Any]:
    """Measure the pipeline's pieces around the renderer and return the numbers."""
    from finportal.models import Base, Job, Packet, utcnow
    from finportal.packets import render_packet
    from finportal.packets.samples import sample_context
    from finportal.services.packets import new_verification_code
    from finportal.storage import FileStore

    batch_seconds, batch_cpu, batch_bytes = _batch_seconds(n)
    old_batch_seconds, old_batch_cpu, old_batch_bytes = _batch_seconds(n, schedule=False)
    pdf = render_packet(sample_context())
    with tempfile.TemporaryDirectory(prefix="packet-bench-") as tmp:
        store = FileStore(Path(tmp) / "packets")
        puts = []
        for i in range(repeat):  # a different packet each time: a new file each time
            data = pdf + str(i).encode()
            start = time.perf_counter()
            key = store.put(data)
            puts.append(time.perf_counter() - start)
        store_get_ms = _median_ms(lambda: store.get(key), repeat)

        engine = create_engine(f"sqlite:///{tmp}/bench.db")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, pdf BLOB)"))
        blob_writes = []
        for i in range(repeat):
            start = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO blobs (pdf) VALUES (:pdf)"), {"pdf": pdf + bytes(i)})
            blob_writes.append(time.perf_counter() - start)

        def read_blob() -> None:
            with engine.connect() as conn:
                conn.execute(text("SELECT pdf FROM blobs WHERE id = :id"), {"id": repeat}).one()

        blob_read_ms = _median_ms(read_blob, repeat)

        Base.metadata.create_all(engine, tables=[Job.__table__, Packet.__table__])
        now = utcnow()
        jobs, rows, first_code = [], [], ""
        for j in range(codes // 20):
            members = [
                {"member_id": k, "packet_number": f"PB-{j}-{k:03d}", "verification_code": c}
                for k, c in enumerate((new_verification_code() for _ in range(20)), 1)
            ]
            first_code = first_code or members[0]["verification_code"]
            result = {"verification_code": new_verification_code(), "members": members}
            jobs.append(
                {
                    "id": str(uuid.uuid4()),
                    "kind": "batch_packet",
                    "state": "done",
                    "args": {},
                    "message": "",
                    "result": result,
                    "created_at": now,
                }
            )
            rows += [
                {
                    "kind": "referral",
                    "referral_id": 1,
                    "packet_number": m["packet_number"],
                    "verification_code": m["verification_code"],
                    "sha256": "0" * 64,
                    "storage_key": "0" * 64,
                    "byte_size": len(pdf),
                    "rendered_at": now,
                }
                for m in members
            ]
        with engine.begin() as conn:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            conn.execute(insert(Job), jobs)
            conn.execute(insert(Packet), rows)
        with Session(engine) as session:

            def lookup() -> None:
                code = first_code
                assert session.scalar(select(Packet.id).where(Packet.verification_code == code))

            def like_scan() -> None:
                found = session.scalars(
                    select(Job)
                    .where(
                        Job.kind == "batch_packet",
                        Job.state == "done",
                        cast(Job.result, String).contains(first_code),
                    )
                    .order_by(Job.created_at.desc())
                ).all()
                assert found

            verify_lookup_ms = _median_ms(lookup, repeat)
            verify_like_scan_ms = _median_ms(like_scan, max(5, repeat // 5))
        engine.dispose()
    return {
        "batch_members": n,
        "batch_of_n_seconds": batch_seconds,
        "batch_of_n_cpu_seconds": batch_cpu,
        "batch_kb": round(batch_bytes / 1024, 1),
        "batch_without_schedules_seconds": old_batch_seconds,
        "batch_without_schedules_cpu_seconds": old_batch_cpu,
        "batch_without_schedules_kb": round(old_batch_bytes / 1024, 1),
        "store_put_ms": round(statistics.median(puts) * 1000, 3),
        "store_get_ms": store_get_ms,
        "blob_write_ms": round(statistics.median(blob_writes) * 1000, 3),
        "blob_read_ms": blob_read_ms,
        "codes": codes,
        "verify_lookup_ms": verify_lookup_ms,
        "verify_like_scan_ms": verify_like_scan_ms,
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


@click.command("bench-pipeline")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--n", default=10, show_default=True, help="Members of the batch packet.")
@click.option("--codes", default=20000, show_default=True, help="Verification codes stored.")
def pipeline_bench_command(as_json: bool, n: int, codes: int) -> None:
    """Benchmark the packet pipeline: a batch packet, the store, verification lookups."""
    result = run_pipeline_bench(n=n, codes=codes)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            click.echo(f"{key}: {value}")
