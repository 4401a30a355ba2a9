"""Time publishing the catalogue (``catalog.sync_catalog``) into a database, rolled back each time.

    FINPORTAL_DATABASE_URL=postgresql+psycopg://... .venv/bin/python scripts/bench_publish.py --repeat 10

The database must be migrated (``flask --app wsgi db upgrade``); nothing is left in it: each
publish runs in a transaction that is rolled back, as the tests' ``published_catalog`` does.
Prints the seconds of each publish and their median (the first also loads the catalogue files).
"""

from __future__ import annotations

import argparse
import statistics
import time

from finportal import create_app
from finportal.extensions import db
from finportal.services import catalog


def main() -> None:
    """Publish the catalogue ``--repeat`` times, each rolled back, and print the times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    app = create_app()
    seconds = []
    with app.app_context():
        for _ in range(args.repeat):
            connection = db.get_engine().connect()
            transaction = connection.begin()
            db.session.remove()
            db.test_bind, db.test_join_mode = connection, "create_savepoint"
            started = time.perf_counter()
            catalog.sync_catalog(db.session)
            seconds.append(time.perf_counter() - started)
            db.session.remove()
            db.test_bind = None
            transaction.rollback()
            connection.close()
    print(" ".join(f"{s:.3f}" for s in seconds))
    print(f"median {statistics.median(seconds[1:] or seconds):.3f} s a publish")


if __name__ == "__main__":
    main()
