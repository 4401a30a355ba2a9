"""Referral packets (推荐材料包): render, stamp, merge and benchmark PDF packets.

Independent of the database and of Flask: callers pass plain dataclasses and get bytes.
"""

import importlib
from typing import TYPE_CHECKING, Any

from finportal.packets.context import (
    AttachedDocument,
    BatchCoverContext,
    BatchMember,
    ConsentRecord,
    ConsistencyFlag,
    EligibilityCondition,
    LoanRequest,
    PacketContext,
    Quote,
    Reason,
    ScheduleRow,
    Subsidy,
    VerifiedFactRow,
)
from finportal.packets.environment import (
    PacketEnvironmentError,
    check_environment,
    ensure_environment,
)

if TYPE_CHECKING:
    from finportal.packets.fetcher import PacketURLFetcher, RefusedURLError
    from finportal.packets.render import (
        merge_batch_packet,
        prepare_worker,
        render_html,
        render_packet,
        sha256_hex,
    )
    from finportal.packets.stamp import stamp_pdf

# WeasyPrint and pypdf take about half a second to import: load them only when a packet
# is rendered, stamped or merged, so that the start-up check (ensure_environment) and
# the dataclasses stay cheap for web processes.
_LAZY = {
    "PacketURLFetcher": "finportal.packets.fetcher",
    "RefusedURLError": "finportal.packets.fetcher",
    "merge_batch_packet": "finportal.packets.render",
    "prepare_worker": "finportal.packets.render",
    "render_html": "finportal.packets.render",
    "render_packet": "finportal.packets.render",
    "sha256_hex": "finportal.packets.render",
    "stamp_pdf": "finportal.packets.stamp",
}


def __getattr__(name: str) -> Any:
    """Import the rendering half of the package on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "AttachedDocument",
    "BatchCoverContext",
    "BatchMember",
    "ConsentRecord",
    "ConsistencyFlag",
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
    "VerifiedFactRow",
    "check_environment",
    "ensure_environment",
    "merge_batch_packet",
    "prepare_worker",
    "render_html",
    "render_packet",
    "sha256_hex",
    "stamp_pdf",
]
