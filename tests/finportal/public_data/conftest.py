"""Fixtures of the public-data tests: authorisations and exchange files."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from finportal.services.public_data import authorisations, imports, sources
from finportal.services.workdays import today_local


def csv_bytes(rows: Sequence[Sequence[Any]], encoding: str = "utf-8") -> bytes:
    """Write rows (the first is the header) as a CSV file's bytes."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[Any]]) -> bytes:
    """Write rows (the first is the header) as an XLSX file's bytes (openpyxl)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def authorise(db_session):
    """Factory: the enterprise authorises a source (all its items unless ``scope``)."""

    def make(enterprise: Any, source: str, scope: list[str] | None = None, days: int = 365):
        codes = scope or [i.code for i in sources.source(source).items]
        return authorisations.grant(
            db_session,
            actor_id=None,
            enterprise_id=enterprise.id,
            source=source,
            scope=codes,
            valid_until=today_local() + timedelta(days=days),
        )

    return make


@pytest.fixture
def import_file(db_session):
    """Factory: an admin uploads an exchange file; the job runs at once (eager)."""

    def run(source: str, content: bytes, filename: str = "extract.csv"):
        record = imports.upload(
            db_session, actor_id=None, source=source, filename=filename, content=content
        )
        db_session.refresh(record)
        return record

    return run


@pytest.fixture
def exchange(app, monkeypatch):
    """A real HTTP server with the exchange API's contract; the app is configured to use it."""
    from tests.exchange_server import ExchangeServer

    server = ExchangeServer().start()
    monkeypatch.setitem(app.config, "PUBLIC_DATA_URL", server.url)
    monkeypatch.setitem(app.config, "PUBLIC_DATA_TOKEN", server.token)
    yield server
    server.stop()
