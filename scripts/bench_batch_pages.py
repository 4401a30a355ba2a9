"""Print what numbering a batch packet's pages over the whole file costs (CPU seconds).

Usage: .venv/bin/python scripts/bench_batch_pages.py [members]

Renders a sample batch (cover + members, invented data), then times the merge with the
page numbers (``merge_batch_packet``) against numbering alone (``number_pages``), in
process CPU time, best of 3.
"""

from __future__ import annotations

import io
import sys
import time

from pypdf import PdfReader, PdfWriter

from finportal.packets import merge_batch_packet, render_packet
from finportal.packets.render import number_pages
from finportal.packets.samples import sample_batch_cover, sample_context


def _cpu(call) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
    return best


def main(members: int) -> None:
    """Render the sample batch and print the times."""
    cover = sample_batch_cover(n_members=members)
    pdfs = [
        render_packet(
            sample_context(enterprise_name=m.enterprise_name, packet_number=m.packet_number),
            in_batch=True,
        )
        for m in cover.members
    ]
    merged = merge_batch_packet(cover, pdfs)
    pages = len(PdfReader(io.BytesIO(merged)).pages)

    def numbering() -> None:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(merged)))
        number_pages(writer, "批次 BENCH")

    whole = _cpu(lambda: merge_batch_packet(cover, pdfs))
    alone = _cpu(numbering)
    print(
        f"members={members} pages={pages} merge_with_numbers_cpu_s={whole:.3f} numbering_cpu_s={alone:.3f}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
