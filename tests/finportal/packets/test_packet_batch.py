"""A batch packet: a cover table of the members, then each member's packet."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from finportal.packets import merge_batch_packet, render_packet
from finportal.packets.samples import sample_batch_cover


def test_batch_packet_is_cover_then_each_member(sample_context, squash):
    cover = sample_batch_cover(n_members=2)
    members = [
        render_packet(
            sample_context(enterprise_name=m.enterprise_name, packet_number=m.packet_number)
        )
        for m in cover.members
    ]
    merged = merge_batch_packet(cover, members)
    reader = PdfReader(io.BytesIO(merged))
    member_pages = [len(PdfReader(io.BytesIO(pdf)).pages) for pdf in members]
    assert len(reader.pages) == 1 + sum(member_pages)

    cover_text = squash(reader.pages[0].extract_text())
    assert "批次推荐材料" in cover_text
    for member in cover.members:
        assert squash(member.enterprise_name) in cover_text
        assert member.packet_number in cover_text
    # Each member's packet starts with its own cover, in the cover table's order.
    start = 1
    for member, pages in zip(cover.members, member_pages, strict=True):
        assert squash(member.enterprise_name) in squash(reader.pages[start].extract_text())
        start += pages
    # Top-level bookmarks (each member's own headings are nested under its entry).
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert titles == [
        "批次封面",
        *(f"{i}. {m.enterprise_name}" for i, m in enumerate(cover.members, 1)),
    ]


def test_batch_packet_needs_one_packet_per_member(packet_pdf):
    with pytest.raises(ValueError, match="members"):
        merge_batch_packet(sample_batch_cover(n_members=2), [packet_pdf])
