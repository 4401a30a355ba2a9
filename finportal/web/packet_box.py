"""The batch packet's box on the advisor's and the bank's batch pages, and its JSON status."""

from __future__ import annotations

from typing import Any

from flask import render_template

from finportal import page_cache
from finportal.services import batch_packets


def packet_box(
    batch: Any, job: Any, *, packet_url: str, request_url: str, status_url: str
) -> dict[str, Any]:
    """Return what ``advisor/batches/_packet.html`` needs (the page's context)."""
    progress = batch_packets.packet_progress(batch, job)
    if not progress["done"]:
        page_cache.live()  # it counts the seconds the job has waited or run
    return {
        "packet_job": job,
        "packet_progress": progress,
        "packet_url": packet_url,
        "packet_request_url": request_url,
        "packet_status_url": status_url,
    }


def packet_status(batch: Any, job: Any, **urls: str) -> dict[str, Any]:
    """Answer the polling script: the job's state and the box rendered afresh."""
    box = packet_box(batch, job, **urls)
    progress = box["packet_progress"]
    return {
        **progress,
        "html": render_template("advisor/batches/_packet.html", **box),
    }
