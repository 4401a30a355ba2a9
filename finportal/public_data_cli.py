"""``flask public-data``: import an exchange file from the command line, and time an import."""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from finportal.extensions import db

public_data_cli = AppGroup(
    "public-data", help="Consented public data (无感核查, docs/PUBLIC_DATA.md)."
)


@public_data_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", required=True, help="The file's source: tax, social_insurance, ...")
@with_appcontext
def import_command(path: Path, source: str) -> None:
    """Import an exchange file (CSV or XLSX) now, in this process; print the outcome."""
    from finportal.services.public_data import imports

    record = imports.accept_file(
        db.session, actor_id=None, source=source, filename=path.name, content=path.read_bytes()
    )
    db.session.commit()
    result = imports.run_import(db.session, import_id=record.id)
    db.session.commit()
    click.echo(json.dumps({"import_id": record.id, **result}, ensure_ascii=False))
    for problem in record.errors[:20]:
        click.echo(f"  {problem['zh']} / {problem['en']}", err=True)


@public_data_cli.command("bench")
@click.option("--rows", default=20_000, show_default=True, help="Firms in the extract.")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@with_appcontext
def bench_command(rows: int, as_json: bool) -> None:
    """Time a tax extract of the database's first ``rows`` firms: CSV and XLSX, check and store.

    Every firm authorises the tax source first; everything is rolled back at the end.
    """
    from openpyxl import Workbook

    from finportal.models import DataAuthorisation, Enterprise
    from finportal.services.public_data import connectors, imports
    from finportal.services.workdays import today_local

    session = db.session
    firms = list(
        session.execute(select(Enterprise.id, Enterprise.uscc).order_by(Enterprise.id).limit(rows))
    )
    today = today_local()
    until = today + timedelta(days=30)
    scope = ["tax_credit_grade", "tax_paid_yuan", "invoiced_revenue_yuan"]
    session.add_all(
        DataAuthorisation(enterprise_id=i, source="tax", scope=scope, valid_until=until)
        for i, _uscc in firms
    )
    session.flush()
    as_of = (today - timedelta(days=1)).isoformat()
    table = [["uscc", "as_of", *scope]] + [
        [uscc, as_of, "AB"[n % 2], f"{1000 + n}.50", str(100000 + n)]
        for n, (_i, uscc) in enumerate(firms)
    ]
    csv_bytes = "\n".join(",".join(map(str, r)) for r in table).encode()
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in table:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx_bytes = buffer.getvalue()
    numbers: dict[str, float | int] = {"firms": len(firms)}
    for name, content in (("csv", csv_bytes), ("xlsx", xlsx_bytes)):
        started = time.perf_counter()
        found = connectors.FileConnector("tax", content, today=today).records(lambda _d, _t: None)
        numbers[f"check_{name}_s"] = round(time.perf_counter() - started, 3)
        numbers[f"{name}_bytes"] = len(content)
        assert len(found) == len(firms)
    record = imports.accept_file(
        session, actor_id=None, source="tax", filename="bench.csv", content=csv_bytes
    )
    started = time.perf_counter()
    imports.store(session, record, found)
    numbers["store_s"] = round(time.perf_counter() - started, 3)
    session.rollback()
    if as_json:
        click.echo(json.dumps(numbers))
    else:
        for key, value in numbers.items():
            click.echo(f"{key}: {value}")
