"""Batch packet files written to the packet folder are not readable by other users."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

pytestmark = pytest.mark.db


def test_batch_packet_files_are_private(
    app, client, db_session, batch_world, submitted_batch, login
):
    login(batch_world.advisor)
    assert client.post(f"/advisor/batches/{submitted_batch.id}/packet").status_code == 302
    from finportal.models import Packet

    cover = (
        db_session.query(Packet).filter_by(batch_id=submitted_batch.id, kind="batch_cover").one()
    )
    folder = Path(app.config["PACKET_DIR"])
    files = [p for p in folder.rglob("*") if p.is_file() and p.name == cover.storage_key]
    assert files, "the eager job wrote no packet file"
    for path in [folder, files[0].parent, *files]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, (path, oct(path.stat().st_mode))
