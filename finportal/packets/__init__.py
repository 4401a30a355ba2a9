"""Referral packets (推荐材料包): render, stamp, merge and benchmark PDF packets.

Independent of the database and of Flask: callers pass plain dataclasses and get bytes.
"""

from finportal.packets.context import (
    BatchCoverContext,
    BatchMember,
    ConsentRecord,
    EligibilityCondition,
    LoanRequest,
    PacketContext,
    Quote,
    Reason,
    ScheduleRow,
    Subsidy,
)
from finportal.packets.environment import (
    PacketEnvironmentError,
    check_environment,
    ensure_environment,
)
from finportal.packets.fetcher import PacketURLFetcher, RefusedURLError
from finportal.packets.render import (
    merge_batch_packet,
    render_html,
    render_packet,
    sha256_hex,
)
from finportal.packets.stamp import stamp_pdf

__all__ = [
    "BatchCoverContext",
    "BatchMember",
    "ConsentRecord",
    "EligibilityCondition",
    "LoanRequest",
    "PacketContext",
    "PacketEnvironmentError",
    "PacketURLFetcher",
    "Quote",
    "Reason",
    "RefusedURLError",
    "ScheduleRow",
    "Subsidy",
    "check_environment",
    "ensure_environment",
    "merge_batch_packet",
    "render_html",
    "render_packet",
    "sha256_hex",
    "stamp_pdf",
]
