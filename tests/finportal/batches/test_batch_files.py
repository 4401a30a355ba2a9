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
    folder = Path(app.config["PACKET_DIR"]) / "batches"
    files = sorted(folder.glob(f"batch-{submitted_batch.id}-*.pdf"))
    assert files, "the eager job wrote no packet file"
    for path in [folder, *files]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, (path, oct(path.stat().st_mode))
