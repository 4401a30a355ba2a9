"""ORM models: the one place where tables are declared."""

from finportal.models.applications import (
    Application,
    ApplicationNote,
    Consent,
    CreditScore,
    Match,
    Rating,
)
from finportal.models.base import Base, utcnow
from finportal.models.batches import Batch, BatchMember
from finportal.models.catalog import Holiday, Product, ProductVersion, ReferenceRate
from finportal.models.documents import Document, VerificationRequest
from finportal.models.enterprises import Enterprise
from finportal.models.organisations import Bank, Chamber, Membership, Park
from finportal.models.packets import PACKET_KINDS, Packet
from finportal.models.records import AuditChainHead, AuditEvent, Job, ModelVersion, Notification
from finportal.models.referrals import BankDecision, LoanOutcome, Referral
from finportal.models.renewals import Renewal
from finportal.models.users import ROLES, ApiToken, Invitation, User

__all__ = [
    "PACKET_KINDS",
    "ROLES",
    "ApiToken",
    "Application",
    "ApplicationNote",
    "AuditChainHead",
    "AuditEvent",
    "Bank",
    "BankDecision",
    "Base",
    "Batch",
    "BatchMember",
    "Chamber",
    "Consent",
    "Document",
    "CreditScore",
    "Enterprise",
    "Holiday",
    "Invitation",
    "Job",
    "LoanOutcome",
    "Match",
    "Membership",
    "ModelVersion",
    "Notification",
    "Packet",
    "Park",
    "Product",
    "ProductVersion",
    "Rating",
    "ReferenceRate",
    "Referral",
    "Renewal",
    "User",
    "VerificationRequest",
    "utcnow",
]
