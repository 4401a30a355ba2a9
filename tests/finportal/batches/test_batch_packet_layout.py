"""A batch packet reads as one document: pages numbered over the whole file, the
verification address of the configured portal, no field keys."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from finportal.domain import fields as profile_fields
from finportal.services import batch_packets
from finportal.storage import packet_store
from products.fields import field_specs

pytestmark = pytest.mark.db


def _merged(db_session, batch, **kwargs):
    result = batch_packets.render_batch_packet(db_session, batch_id=batch.id, **kwargs)
    db_session.commit()
    cover = db_session.get(batch_packets.Packet, result["packet_id"])
    return packet_store().get(cover.storage_key)


def test_pages_are_numbered_over_the_whole_batch(db_session, batch_world, submitted_batch):
    pdf = _merged(db_session, submitted_batch, bank_id=batch_world.bank.id)
    pages = [re.sub(r"\s+", "", p.extract_text()) for p in PdfReader(io.BytesIO(pdf)).pages]
    total = len(pages)
    assert total > 3
    for n, text in enumerate(pages, 1):
        assert f"第{n}页/共{total}页" in text, f"page {n} is not numbered {n} of {total}"
    # no page restarts at 1 of a member's own count in the footer's place
    assert sum("第1页/共" in t for t in pages) == 1


def test_the_verification_address_comes_from_configuration(
    app, db_session, batch_world, submitted_batch, monkeypatch
):
    monkeypatch.setitem(app.config, "BASE_URL", "https://rongzi.minhang.example.cn")
    monkeypatch.delenv("FINPORTAL_BASE_URL", raising=False)
    pdf = _merged(db_session, submitted_batch, bank_id=batch_world.bank.id)
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
    found = re.findall(r"https://rongzi\.minhang\.example\.cn/verify/[0-9A-Z-]+", text)
    # the cover and each member packet print the configured address
    assert len(found) >= 1 + len(submitted_batch.members), found
    assert "127.0.0.1:5000" not in text


def test_no_field_key_is_printed(db_session, batch_world, submitted_batch):
    pdf = _merged(db_session, submitted_batch, bank_id=batch_world.bank.id)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    words = set(re.findall(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+", text))
    keys = (set(field_specs()) | set(profile_fields.fields())) & words
    assert not keys, f"field keys printed in the batch packet: {sorted(keys)}"
