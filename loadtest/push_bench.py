"""Time the parts of the 政策找企业 push on the configured database (for docs/SCALING.md).

    eval "$(scripts/prod.sh env)"; .venv/bin/python loadtest/push_bench.py

It loads every enterprise the way the ``notify_eligible`` job did before issue 13 (ORM
objects, then profile dicts, then the matcher's column table) and matches them against the
catalogue, printing the time and Python memory of each part, per enterprise too: the
"before" numbers. The job now reads columns straight into the table
(``services/profile_table.py``); time it with ``flask --app wsgi push bench``.
"""

from __future__ import annotations

import time
import tracemalloc

from sqlalchemy import select

import products
from finportal import create_app
from finportal.extensions import db
from finportal.models import Enterprise
from finportal.services import catalog
from finportal.services.profiles import enterprise_profile


def main() -> None:
    """Print the timings."""
    app = create_app()
    with app.app_context():
        session = db.session
        cat, _versions = catalog.current_catalog(session)
        tracemalloc.start()
        t0 = time.perf_counter()
        enterprises = list(session.scalars(select(Enterprise).order_by(Enterprise.id)))
        t1 = time.perf_counter()
        profiles = [enterprise_profile(e) for e in enterprises]
        t2 = time.perf_counter()
        table = products.profiles_to_table(profiles, ids=[e.id for e in enterprises])
        t3 = time.perf_counter()
        products.match_many(cat, table)
        t4 = time.perf_counter()
        peak = tracemalloc.get_traced_memory()[1]
        n = max(1, len(enterprises))
        print(
            f"{len(enterprises)} enterprises: ORM load {t1 - t0:.2f} s, profiles {t2 - t1:.2f} s, "
            f"table {t3 - t2:.2f} s, match_many x{len(list(cat))} products {t4 - t3:.3f} s; "
            f"peak Python memory {peak / 1e6:.0f} MB"
        )
        print(
            f"per enterprise: load {1e6 * (t1 - t0) / n:.0f} us, profile {1e6 * (t2 - t1) / n:.0f} us, "
            f"table {1e6 * (t3 - t2) / n:.0f} us, memory {peak / n / 1e3:.1f} KB"
        )


if __name__ == "__main__":
    main()
