"""Print the SQL statements and time of building one batch's packet context (issue 12).

    .venv/bin/python scripts/bench_batch_context.py [--members 50] [--repeat 5]
        [--database-url URL] [--dump FILE] [--show]

Builds a fresh database (SQLite in a temporary folder, or an empty PostgreSQL database given
by ``--database-url``) with the catalogue, the reference credit model, a park, a bank and a
submitted batch of ``--members`` checked members whose packets differ (verified facts,
documents, chambers: ``tests/finportal/batches/packet_members.py``). Then, ``--repeat``
times, with the session's objects forgotten as in a new job, it builds the facts of every
member packet and assembles each member's ``PacketContext`` — what the ``batch_packet`` job
does before it renders — and prints one JSON line: statements, best and median wall time.
``--dump FILE`` writes every member's context (``repr``) to compare two versions of the code;
``--show`` prints the statements of the last run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _world(session: Any, members: int) -> Any:
    from finportal.models import Bank, Chamber, Park
    from finportal.services import accounts, batch_checks, batches, catalog, credit
    from tests.finportal.batches.packet_members import add_members

    catalog.sync_catalog(session)
    credit.register_model(
        session, credit.reference_model_dir(), actor_id=None, name="参考模型", status="champion"
    )
    park = Park(code="bench_park", name_zh="基准测试园区")
    chamber = Chamber(code="bench_chamber", name_zh="基准测试商会")
    bank = Bank(code="bench_bank", name_zh="基准测试银行", name_en="Bench Bank")
    session.add_all([park, chamber, bank])
    session.flush()
    password = "Bench-batch-2026!"  # noqa: S105 - a throwaway database's accounts
    advisor = accounts.create_user(
        session, username="bench-advisor", password=password, role="advisor"
    )
    recommender = accounts.create_user(
        session,
        username="bench-recommender",
        password=password,
        role="recommender",
        park_id=park.id,
    )
    session.commit()
    batch = batches.create_batch(
        session,
        actor_id=advisor.id,
        name="基准测试批次",
        bank_id=bank.id,
        quota_total=Decimal("900000000"),
        park_id=park.id,
    )
    add_members(session, batch, members, recommender=recommender, advisor=advisor, chamber=chamber)
    return batch_checks.submit_batch(session, batch.id, actor_id=advisor.id)


def _contexts(session: Any, batch_id: int) -> list[Any]:
    """Build the member contexts as the ``batch_packet`` job does before rendering."""
    from finportal.models import Batch, utcnow
    from finportal.services import batch_packets, packet_context
    from finportal.services.workdays import SHANGHAI

    batch = session.get(Batch, batch_id)
    members = batch_packets.batch_packet_members(batch)
    today = utcnow().astimezone(SHANGHAI).date()
    read_together = getattr(packet_context, "batch_member_facts", None)
    if read_together is not None:
        facts = read_together(session, batch, members, today)
    else:  # the code before issue 12's batch reads: one member at a time
        facts = [
            packet_context.member_facts(session, m, i, today) for i, m in enumerate(members, 1)
        ]
    return [packet_context.assemble(f) for f in facts]


def main() -> None:
    """Build the world, then time and count the context of the batch."""
    import flask_migrate
    from sqlalchemy import event

    from finportal import create_app
    from finportal.extensions import db

    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--dump", default="")
    parser.add_argument("--show", action="store_true", help="print the last run's statements")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    app = create_app(
        {
            "DATABASE_URL": url,
            "JOBS_MODE": "eager",
            "INSTANCE_PATH": str(folder),
            "MODEL_DIR": str(folder / "models"),
            "PACKET_DIR": str(folder / "packets"),
            "DOCUMENT_DIR": str(folder / "documents"),
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
        session = db.session
        batch_id = _world(session, args.members).id
        session.commit()

        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        times, counts = [], []
        contexts: list[Any] = []
        for _ in range(args.repeat + 1):  # the first warms the process's caches
            session.commit()
            session.expunge_all()
            statements.clear()
            event.listen(db.engine, "before_cursor_execute", count)
            start = time.perf_counter()
            contexts = _contexts(session, batch_id)
            elapsed = time.perf_counter() - start
            event.remove(db.engine, "before_cursor_execute", count)
            times.append(elapsed)
            counts.append(len(statements))
        times, counts = times[1:], counts[1:]
        if args.show:
            for statement in statements:
                print(" ".join(statement.split())[:160])
        if args.dump:
            Path(args.dump).write_text("\n".join(repr(c) for c in contexts), encoding="utf-8")
        print(
            json.dumps(
                {
                    "engine": url.split(":", 1)[0],
                    "members": len(contexts),
                    "statements": counts[-1],
                    "best_ms": round(min(times) * 1000, 1),
                    "median_ms": round(statistics.median(times) * 1000, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
