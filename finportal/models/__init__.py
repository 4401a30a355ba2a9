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
from finportal.models.catalog import (
    Holiday,
    Product,
    ProductDraft,
    ProductVersion,
    PushRecord,
    ReferenceRate,
)
from finportal.models.complaints import Complaint, Escalation, PublishedReport
from finportal.models.documents import Document, VerificationRequest
from finportal.models.enterprises import Enterprise
from finportal.models.messaging import AccountToken, NotificationPreference, OutboxMessage
from finportal.models.needs import BankProduct, Need, NeedClaim, NeedProduct
from finportal.models.organisations import Bank, Chamber, Membership, Park
from finportal.models.packets import PACKET_KINDS, Packet
from finportal.models.public_data import (  # issue 14: 无感核查
    DataAuthorisation,
    DataImport,
    VerifiedFact,
)
from finportal.models.records import (
    AuditChainHead,
    AuditEvent,
    DashboardSnapshot,
    Job,
    ModelVersion,
    MonitorSnapshot,
    Notification,
)
from finportal.models.referrals import BankDecision, LoanOutcome, Referral
from finportal.models.renewals import Renewal
from finportal.models.subsidies import (  # issue 13: subsidy entitlements and payouts
    SubsidyEntitlement,
    SubsidyPayout,
    SubsidyPayoutLine,
    SubsidyPublication,
)
from finportal.models.users import DUTIES, ROLES, ApiToken, Invitation, User, UserSignIn

__all__ = [
    "DUTIES",
    "PACKET_KINDS",
    "AccountToken",
    "BankProduct",
    "Complaint",
    "Escalation",
    "Need",
    "NeedClaim",
    "NeedProduct",
    "NotificationPreference",
    "OutboxMessage",
    "PublishedReport",
    "ROLES",
    "ApiToken",
    "Application",
    "ApplicationNote",
    "AuditChainHead",
    "DashboardSnapshot",
    "MonitorSnapshot",
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
    "DataAuthorisation",
    "DataImport",
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
    "ProductDraft",
    "ProductVersion",
    "PushRecord",
    "Rating",
    "ReferenceRate",
    "Referral",
    "SubsidyEntitlement",
    "SubsidyPayout",
    "SubsidyPayoutLine",
    "SubsidyPublication",
    "Renewal",
    "User",
    "UserSignIn",
    "VerificationRequest",
    "VerifiedFact",
    "utcnow",
]
