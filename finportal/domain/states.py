"""Every workflow's states and transitions, as data: one table per machine.

Tags used by the services: ``clock`` (a deadline clock runs), ``rescore`` (a new model
rescores it), ``ended``, ``decided`` (the bank answered), ``reopens`` (a new referral to
the same bank is allowed), ``lent`` (money went out), ``new`` (the bank has not opened it),
``sent`` (a batch member the bank sees), ``needs_consent`` (a batch member whose data the
batch's bank may receive, with the member's consent), ``paused`` (the firm was asked for
information: the clock of whoever waits stands still until it answers; services/deadlines.py).

Each state is a stored code with its title in Chinese and English (the one title every page,
packet, export, API answer and history shows) and whom the work waits on. Each transition
names who may make it and what the step is called. The sets the services, the dashboard
and the templates need (what can be withdrawn, what waits on the advisor or the bank, what
a bank has decided) are computed from the tables, never listed by hand.

Adding a state is one member of its enum, one row of ``INFO`` and the transitions it takes
part in (docs/DEVELOPING.md, "Add an application state").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

#: Who acts: the roles of users, plus the platform itself (jobs, cascades).
#: ``raiser`` is whoever raised a complaint, whatever their role (complaints only).
ACTORS = ("sme", "advisor", "recommender", "bank", "admin", "system", "raiser")


#: A language chosen for a block of code outside the reader's request (see :func:`language`).
_LANGUAGE: ContextVar[str | None] = ContextVar("finportal_language", default=None)


@contextmanager
def language(locale: str) -> Iterator[None]:
    """Word everything in ``locale`` ("zh_CN" or "en") inside the block, request or not.

    For work done once for readers of both languages, such as the dashboard's summary that a
    periodic job computes in each (``services/dashboard_cache.py``).
    """
    token = _LANGUAGE.set(locale)
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


def current_locale() -> str:
    """Return the locale to word things in: :func:`language`'s, else the request's, else zh_CN."""
    forced = _LANGUAGE.get()
    if forced is not None:
        return forced
    try:
        from flask import has_request_context
    except ImportError:  # pragma: no cover - flask is always installed with the portal
        return "zh_CN"
    if has_request_context():
        from finportal.i18n import request_locale

        return request_locale()
    return "zh_CN"


class State(StrEnum):
    """A stored state code; its machine gives it titles (see :class:`Machine`)."""

    @property
    def machine(self) -> Machine[State]:
        """Return the machine this state belongs to."""
        return _MACHINES[type(self)]

    @property
    def title_zh(self) -> str:
        """Return the Chinese title."""
        return self.machine.info[self].title_zh

    @property
    def title_en(self) -> str:
        """Return the English title."""
        return self.machine.info[self].title_en

    @property
    def title(self) -> str:
        """Return the title in the current request's language."""
        return self.title_en if current_locale().startswith("en") else self.title_zh


@dataclass(frozen=True)
class StateInfo:
    """A state's titles, whom it waits on, and tags that derived sets are computed from."""

    title_zh: str
    title_en: str
    #: Whose move it is (None: nobody, the state is final or rests).
    waits_on: str | None = None
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Transition:
    """A step from one state to another, who may take it, and the step's name."""

    source: str
    target: str
    actors: frozenset[str]
    verb_zh: str
    verb_en: str


S = TypeVar("S", bound=State)


@dataclass
class Machine(Generic[S]):
    """One workflow: its states with their info, and the transitions between them."""

    name: str
    #: What the machine's objects are called, for messages ("申请" / "application").
    noun_zh: str
    noun_en: str
    states: type[S]
    info: dict[S, StateInfo]
    transitions: tuple[Transition, ...]
    _by_pair: dict[tuple[str, str], Transition] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        missing = set(self.states) - set(self.info)
        if missing:
            raise ValueError(f"{self.name}: states without info: {sorted(missing)}")
        self._by_pair = {}
        for t in self.transitions:
            for end in (t.source, t.target):
                self.states(end)  # ValueError on a typo
            unknown = t.actors - set(ACTORS)
            if unknown:
                raise ValueError(f"{self.name}: unknown actors {sorted(unknown)}")
            self._by_pair[(t.source, t.target)] = t

    # --- questions ----------------------------------------------------------------------

    def state(self, code: str) -> S:
        """Return the state of a stored code (ValueError when unknown)."""
        return self.states(code)

    def transition(self, source: str, target: str) -> Transition | None:
        """Return the transition from ``source`` to ``target``, if there is one."""
        return self._by_pair.get((str(source), str(target)))

    def can(self, source: str, target: str, actor: str | None = None) -> bool:
        """Tell whether the step exists (and, with ``actor``, whether that actor may take it)."""
        step = self.transition(source, target)
        return step is not None and (actor is None or actor in step.actors)

    def targets(self, source: str, actor: str | None = None) -> frozenset[S]:
        """Return the states ``source`` may move to (by ``actor``, when given)."""
        return frozenset(
            self.states(t.target)
            for t in self.transitions
            if t.source == str(source) and (actor is None or actor in t.actors)
        )

    def sources(self, target: str, actor: str | None = None) -> frozenset[S]:
        """Return the states from which ``target`` can be reached (by ``actor``)."""
        return frozenset(
            self.states(t.source)
            for t in self.transitions
            if t.target == str(target) and (actor is None or actor in t.actors)
        )

    def waiting_on(self, actor: str) -> frozenset[S]:
        """Return the states in which the work waits on ``actor``."""
        return frozenset(s for s, i in self.info.items() if i.waits_on == actor)

    def tagged(self, tag: str) -> frozenset[S]:
        """Return the states carrying ``tag``."""
        return frozenset(s for s, i in self.info.items() if tag in i.tags)

    @property
    def final(self) -> frozenset[S]:
        """Return the states no transition leaves."""
        left = {t.source for t in self.transitions}
        return frozenset(s for s in self.states if str(s) not in left)

    def title(self, code: str | None, locale: str | None = None) -> str:
        """Return the title of a stored code ('—' for None; the code itself if unknown)."""
        if not code:
            return "—"
        try:
            info = self.info[self.states(code)]
        except ValueError:
            return str(code)
        return info.title_en if (locale or current_locale()).startswith("en") else info.title_zh

    def verb(self, source: str | None, target: str, locale: str | None = None) -> str:
        """Return the name of the step into ``target`` (from ``source`` when known)."""
        step = self.transition(source, target) if source else None
        if step is None:
            step = next((t for t in self.transitions if t.target == str(target)), None)
        if step is None:
            return self.title(target, locale)
        return step.verb_en if (locale or current_locale()).startswith("en") else step.verb_zh

    def choices(self, states: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """Return (code, title) pairs for a select box, in the enum's order."""
        wanted = {str(s) for s in states} if states is not None else None
        return [(s.value, s.title) for s in self.states if wanted is None or s.value in wanted]


_MACHINES: dict[type[State], Machine[State]] = {}


def _register(machine: Machine[S]) -> Machine[S]:
    _MACHINES[machine.states] = machine  # type: ignore[assignment]
    return machine


def _t(
    source: str, targets: Iterable[str], actors: Iterable[str], zh: str, en: str
) -> list[Transition]:
    return [Transition(source, target, frozenset(actors), zh, en) for target in targets]


# --- applications (融资申请) ----------------------------------------------------------------


class ApplicationState(State):
    """Where an application is in its lifecycle (DESIGN.md)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    SCREENED = "screened"
    IN_REVIEW = "in_review"
    RETURNED = "returned"
    REJECTED = "rejected"
    REFERRED = "referred"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"


A = ApplicationState
APPLICATION = _register(
    Machine(
        "application",
        "申请",
        "application",
        ApplicationState,
        {
            A.DRAFT: StateInfo("草稿", "Draft", "sme"),
            A.SUBMITTED: StateInfo("已提交", "Submitted", "system"),
            A.SCREENED: StateInfo("已初筛", "Screened", "advisor", frozenset({"clock", "rescore"})),
            A.IN_REVIEW: StateInfo(
                "审核中", "In review", "advisor", frozenset({"clock", "rescore"})
            ),
            A.RETURNED: StateInfo(
                "已退回补充", "Returned for information", "sme", frozenset({"rescore", "paused"})
            ),
            A.REJECTED: StateInfo("未通过", "Not accepted", None, frozenset({"ended"})),
            A.REFERRED: StateInfo("已推荐银行", "Referred to banks", "bank"),
            A.WITHDRAWN: StateInfo("已撤回", "Withdrawn", None, frozenset({"ended"})),
            A.CLOSED: StateInfo("已办结", "Closed", None, frozenset({"ended"})),
        },
        tuple(
            _t("draft", ["submitted"], ["sme"], "提交申请", "Submitted")
            + _t("returned", ["submitted"], ["sme"], "补充后重新提交", "Resubmitted")
            + _t("submitted", ["screened"], ["system"], "自动初筛完成", "Screened")
            + _t("screened", ["in_review"], ["advisor"], "服务中心受理", "Taken up by the centre")
            + _t("referred", ["in_review"], ["advisor"], "重新匹配", "Re-matched")
            + _t("in_review", ["returned"], ["advisor"], "退回补充材料", "Returned for information")
            + _t("in_review", ["rejected"], ["advisor"], "未通过", "Not accepted")
            + _t("in_review", ["referred"], ["advisor"], "推荐给银行", "Referred to banks")
            # Demand board (issue 15): the firm chose a bank's claim of its need; the
            # application made from the need goes straight to that bank.
            + _t(
                "screened",
                ["referred"],
                ["sme"],
                "企业选定认领银行",
                "Referred to the bank the enterprise chose",
            )
            + _t("referred", ["referred"], ["advisor"], "推荐给更多银行", "Referred to more banks")
            + _t("draft", ["withdrawn"], ["sme"], "企业撤回", "Withdrawn by the enterprise")
            + _t("submitted", ["withdrawn"], ["sme"], "企业撤回", "Withdrawn by the enterprise")
            + _t("screened", ["withdrawn"], ["sme"], "企业撤回", "Withdrawn by the enterprise")
            + _t("in_review", ["withdrawn"], ["sme"], "企业撤回", "Withdrawn by the enterprise")
            + _t("returned", ["withdrawn"], ["sme"], "企业撤回", "Withdrawn by the enterprise")
            + _t("referred", ["withdrawn"], ["sme"], "企业撤回", "Withdrawn by the enterprise")
            + _t("referred", ["closed"], ["system", "advisor"], "办结", "Closed")
            + _t("rejected", ["closed"], ["system", "advisor"], "办结", "Closed")
            + _t("withdrawn", ["closed"], ["system", "advisor"], "办结", "Closed")
        ),
    )
)


# --- referrals (推荐给银行) -----------------------------------------------------------------


class ReferralState(State):
    """Where a referral to one bank is: the bank's view, decision and the loan's events."""

    SENT = "sent"
    VIEWED = "viewed"
    INFO_REQUESTED = "info_requested"
    INFO_SUPPLIED = "info_supplied"
    APPROVED = "approved"
    DECLINED = "declined"
    DISBURSED = "disbursed"
    REPAID = "repaid"
    OVERDUE_90 = "overdue_90"
    DEFAULTED = "defaulted"
    WITHDRAWN = "withdrawn"


R = ReferralState
_DECIDING = ("sent", "viewed", "info_requested", "info_supplied")
REFERRAL = _register(
    Machine(
        "referral",
        "推荐",
        "referral",
        ReferralState,
        {
            R.SENT: StateInfo(
                "待银行查看", "Sent, not yet opened", "bank", frozenset({"new", "clock"})
            ),
            R.VIEWED: StateInfo("银行已查看", "Opened by the bank", "bank", frozenset({"clock"})),
            R.INFO_REQUESTED: StateInfo(
                "银行要求补充材料", "Bank asked for information", "sme", frozenset({"paused"})
            ),
            # The firm answered: the bank's clock runs again with the time it had left.
            R.INFO_SUPPLIED: StateInfo(
                "企业已补充材料", "Information supplied", "bank", frozenset({"clock"})
            ),
            R.APPROVED: StateInfo("银行同意", "Approved", "bank", frozenset({"decided"})),
            R.DECLINED: StateInfo(
                "银行未同意", "Declined", None, frozenset({"decided", "reopens"})
            ),
            R.DISBURSED: StateInfo("已放款", "Disbursed", None, frozenset({"decided", "lent"})),
            R.REPAID: StateInfo("已结清", "Repaid", None, frozenset({"decided", "lent"})),
            R.OVERDUE_90: StateInfo(
                "逾期90天以上", "Overdue 90+ days", None, frozenset({"decided", "lent"})
            ),
            R.DEFAULTED: StateInfo("已违约", "Defaulted", None, frozenset({"decided", "lent"})),
            R.WITHDRAWN: StateInfo(
                "企业已撤回", "Withdrawn by the enterprise", None, frozenset({"reopens"})
            ),
        },
        tuple(
            _t("sent", ["viewed"], ["bank"], "银行查看", "Opened by the bank")
            + [
                t
                for source in _DECIDING
                for t in (
                    _t(source, ["approved"], ["bank"], "同意", "Approve")
                    + _t(source, ["declined"], ["bank"], "拒绝", "Decline")
                    + _t(source, ["info_requested"], ["bank"], "补充材料", "Ask for information")
                )
                if not (source == "info_requested" and t.target == "info_requested")
            ]
            + _t("info_requested", ["info_requested"], ["bank"], "补充材料", "Ask for information")
            + _t(
                "info_requested",
                ["info_supplied"],
                ["sme"],
                "企业补充材料",
                "Information supplied by the enterprise",
            )
            + _t("approved", ["disbursed"], ["bank"], "放款", "Disbursed")
            + _t("disbursed", ["repaid"], ["bank"], "结清", "Repaid")
            + _t("overdue_90", ["repaid"], ["bank"], "结清", "Repaid")
            + _t("disbursed", ["overdue_90"], ["bank"], "逾期90天以上", "Overdue 90+ days")
            + _t("disbursed", ["defaulted"], ["bank"], "违约", "Defaulted")
            + _t("overdue_90", ["defaulted"], ["bank"], "违约", "Defaulted")
            + [
                t
                for source in ("sent", "viewed", "info_requested", "info_supplied", "approved")
                for t in _t(
                    source,
                    ["withdrawn"],
                    ["system"],
                    "随申请撤回",
                    "Withdrawn with the application",
                )
            ]
        ),
    )
)


# --- batches (批次) and their members --------------------------------------------------------


class BatchState(State):
    """Where a batch is: members being recommended, sent to the bank, or ended."""

    OPEN = "open"
    SUBMITTED = "submitted"
    CLOSED = "closed"


B = BatchState
BATCH = _register(
    Machine(
        "batch",
        "批次",
        "batch",
        BatchState,
        {
            B.OPEN: StateInfo("推荐中", "Open for recommendations", "advisor"),
            B.SUBMITTED: StateInfo("已提交银行", "Sent to the bank", "bank"),
            B.CLOSED: StateInfo("已结束", "Closed", None),
        },
        tuple(
            _t("open", ["submitted"], ["advisor"], "提交银行", "Sent to the bank")
            + _t("submitted", ["closed"], ["system", "advisor"], "结束", "Closed")
        ),
    )
)


class MemberState(State):
    """Where a recommended member of a batch is."""

    RECOMMENDED = "recommended"
    CHECKED = "checked"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


M = MemberState
MEMBER = _register(
    Machine(
        "batch_member",
        "批次成员",
        "batch member",
        MemberState,
        {
            M.RECOMMENDED: StateInfo(
                "已推荐", "Recommended", "advisor", frozenset({"needs_consent"})
            ),
            M.CHECKED: StateInfo("已核验", "Checked", "advisor", frozenset({"needs_consent"})),
            M.SUBMITTED: StateInfo(
                "待银行审批", "Waiting for the bank", "bank", frozenset({"sent", "needs_consent"})
            ),
            M.APPROVED: StateInfo(
                "银行同意", "Approved", None, frozenset({"sent", "decided", "needs_consent"})
            ),
            M.DECLINED: StateInfo("银行拒绝", "Declined", None, frozenset({"sent", "decided"})),
            M.WITHDRAWN: StateInfo("已撤回", "Withdrawn", None),
        },
        tuple(
            _t("recommended", ["checked"], ["advisor"], "核验通过", "Checked")
            + _t("checked", ["recommended"], ["advisor"], "核验未通过", "Check failed")
            + _t("recommended", ["recommended"], ["advisor"], "核验未通过", "Check failed")
            + _t("checked", ["checked"], ["advisor"], "核验通过", "Checked")
            + _t("checked", ["submitted"], ["advisor"], "随批次提交银行", "Sent with the batch")
            + _t("submitted", ["approved"], ["bank"], "同意", "Approve")
            + _t("submitted", ["declined"], ["bank"], "拒绝", "Decline")
            + _t("recommended", ["withdrawn"], ["recommender", "advisor"], "撤回", "Withdrawn")
            + _t("checked", ["withdrawn"], ["recommender", "advisor"], "撤回", "Withdrawn")
        ),
    )
)


class FilingState(State):
    """Whether the bank filed a batch with the guarantee centre (备案)."""

    NOT_FILED = "not_filed"
    FILED = "filed"


FILING = _register(
    Machine(
        "batch_filing",
        "批次备案",
        "batch filing",
        FilingState,
        {
            FilingState.NOT_FILED: StateInfo("未备案", "Not filed", "bank"),
            FilingState.FILED: StateInfo("已备案", "Filed", None),
        },
        tuple(_t("not_filed", ["filed"], ["bank"], "登记已备案", "Filed")),
    )
)


class VerificationState(State):
    """Whether the centre checked that an enterprise's accounts act for the firm (企业认证)."""

    UNVERIFIED = "unverified"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


V = VerificationState
VERIFICATION = _register(
    Machine(
        "enterprise",
        "企业认证",
        "verification",
        VerificationState,
        {
            V.UNVERIFIED: StateInfo("未认证", "Not verified", "sme"),
            V.PENDING: StateInfo("认证审核中", "Verification pending", "advisor"),
            V.VERIFIED: StateInfo("已认证", "Verified", None),
            V.REJECTED: StateInfo("认证未通过", "Verification refused", "sme"),
        },
        tuple(
            _t("unverified", ["pending"], ["sme"], "提交认证材料", "Asked for verification")
            + _t("rejected", ["pending"], ["sme"], "重新提交认证材料", "Asked again")
            + _t("pending", ["pending"], ["sme"], "更新认证材料", "Replaced the document")
            + _t("pending", ["verified"], ["advisor"], "认证通过", "Verified")
            + _t("pending", ["rejected"], ["advisor"], "认证未通过", "Verification refused")
        ),
    )
)

# --- needs on the demand board (需求发布) and the banks' claims -------------------------------


class NeedState(State):
    """Where a posted financing need is: open to banks, claimed, escalated, matched or ended."""

    OPEN = "open"
    CLAIMED = "claimed"
    ESCALATED = "escalated"
    MATCHED = "matched"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"


N = NeedState
NEED = _register(
    Machine(
        "need",
        "融资需求",
        "need",
        NeedState,
        {
            N.OPEN: StateInfo("待银行认领", "Open to banks", "bank", frozenset({"clock", "board"})),
            N.CLAIMED: StateInfo(
                "银行已认领，待企业选择",
                "Claimed, the enterprise chooses",
                "sme",
                frozenset({"board"}),
            ),
            # The claim clock ran out: an advisor takes it up (banks may still claim).
            N.ESCALATED: StateInfo(
                "超时未认领，顾问跟进",
                "Unclaimed, with an advisor",
                "advisor",
                frozenset({"clock", "board"}),
            ),
            N.MATCHED: StateInfo("已选定银行", "Bank chosen", None, frozenset({"ended"})),
            N.WITHDRAWN: StateInfo("企业已撤回", "Withdrawn", None, frozenset({"ended"})),
            N.CLOSED: StateInfo("已关闭", "Closed", None, frozenset({"ended"})),
        },
        tuple(
            _t("open", ["claimed"], ["bank"], "银行认领", "Claimed by a bank")
            + _t("escalated", ["claimed"], ["bank"], "银行认领", "Claimed by a bank")
            + _t("claimed", ["claimed"], ["bank"], "又一家银行认领", "Claimed by another bank")
            + _t(
                "open", ["escalated"], ["system"], "超时未认领，转交顾问", "Escalated to an advisor"
            )
            + _t("claimed", ["matched"], ["sme"], "企业选定银行", "Bank chosen by the enterprise")
            + _t("open", ["withdrawn"], ["sme"], "企业撤回", "Withdrawn by the enterprise")
            + _t("claimed", ["withdrawn"], ["sme"], "企业撤回", "Withdrawn by the enterprise")
            + _t("escalated", ["withdrawn"], ["sme"], "企业撤回", "Withdrawn by the enterprise")
            + _t("escalated", ["closed"], ["advisor"], "顾问关闭", "Closed by the advisor")
        ),
    )
)


class ClaimState(State):
    """Where one bank's claim of a need is."""

    CLAIMED = "claimed"
    CONSENTED = "consented"
    CHOSEN = "chosen"
    NOT_CHOSEN = "not_chosen"
    WITHDRAWN = "withdrawn"


C = ClaimState
CLAIM = _register(
    Machine(
        "need_claim",
        "认领",
        "claim",
        ClaimState,
        {
            C.CLAIMED: StateInfo("已认领，待企业授权", "Claimed, awaiting consent", "sme"),
            C.CONSENTED: StateInfo("企业已授权", "Consent given", "sme", frozenset({"revealed"})),
            C.CHOSEN: StateInfo(
                "企业已选定", "Chosen by the enterprise", None, frozenset({"revealed", "ended"})
            ),
            C.NOT_CHOSEN: StateInfo("企业选择了其他银行", "Not chosen", None, frozenset({"ended"})),
            C.WITHDRAWN: StateInfo(
                "银行已撤回认领", "Withdrawn by the bank", None, frozenset({"ended"})
            ),
        },
        tuple(
            _t("claimed", ["consented"], ["sme"], "企业授权该银行", "Consent given to the bank")
            + _t("consented", ["chosen"], ["sme"], "企业选定该银行", "Chosen by the enterprise")
            + _t("claimed", ["not_chosen"], ["system"], "企业选择了其他银行", "Not chosen")
            + _t("consented", ["not_chosen"], ["system"], "企业选择了其他银行", "Not chosen")
            + _t("claimed", ["withdrawn"], ["bank", "system"], "撤回认领", "Claim withdrawn")
            + _t("consented", ["withdrawn"], ["bank", "system"], "撤回认领", "Claim withdrawn")
        ),
    )
)


# --- complaints and suggestions (反映—受理—交办—办理—评价) ------------------------------------


class ComplaintState(State):
    """Where a complaint or suggestion is; it is reopened at most once (``reopened``)."""

    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    ANSWERED = "answered"
    REOPENED = "reopened"
    REANSWERED = "reanswered"
    CLOSED = "closed"


K = ComplaintState
COMPLAINT = _register(
    Machine(
        "complaint",
        "诉求",
        "complaint",
        ComplaintState,
        {
            K.SUBMITTED: StateInfo(
                "待受理", "Awaiting acknowledgement", "advisor", frozenset({"clock"})
            ),
            K.ACKNOWLEDGED: StateInfo("办理中", "Being handled", "advisor", frozenset({"clock"})),
            K.ANSWERED: StateInfo("已答复，待评价", "Answered, awaiting rating", "raiser"),
            K.REOPENED: StateInfo("不满意，重新办理", "Reopened", "advisor", frozenset({"clock"})),
            K.REANSWERED: StateInfo(
                "已再次答复，待评价", "Answered again, awaiting rating", "raiser"
            ),
            K.CLOSED: StateInfo("已办结", "Closed", None, frozenset({"ended"})),
        },
        tuple(
            _t("submitted", ["acknowledged"], ["advisor"], "受理", "Acknowledged")
            + _t("acknowledged", ["answered"], ["advisor"], "答复", "Answered")
            + _t("answered", ["closed"], ["raiser", "system"], "评价并办结", "Rated and closed")
            + _t("answered", ["reopened"], ["raiser"], "不满意，要求重新办理", "Reopened")
            + _t("reopened", ["reanswered"], ["advisor"], "再次答复", "Answered again")
            + _t("reanswered", ["closed"], ["raiser", "system"], "评价并办结", "Rated and closed")
        ),
    )
)


# --- subsidy entitlements (免申即享 / 公示 / 一口兑付; issue 13) -----------------------------


class EntitlementState(State):
    """Where a firm's subsidy entitlement is, from computation to payment (or clawback)."""

    COMPUTED = "computed"
    EXCLUDED = "excluded"
    LISTED = "listed"
    OBJECTED = "objected"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    LAPSED = "lapsed"
    PAID = "paid"
    REVERSED = "reversed"


E = EntitlementState
ENTITLEMENT = _register(
    Machine(
        "subsidy_entitlement",
        "补贴",
        "subsidy entitlement",
        EntitlementState,
        {
            E.COMPUTED: StateInfo(
                "待公示", "Computed, not yet listed", "advisor", frozenset({"due"})
            ),
            E.EXCLUDED: StateInfo("不予补贴", "Not eligible", None),
            E.LISTED: StateInfo("公示中", "Listed for confirmation", "sme", frozenset({"due"})),
            E.OBJECTED: StateInfo("有异议", "Objected", "advisor", frozenset({"due"})),
            E.CONFIRMED: StateInfo("待兑付", "To be paid", "advisor", frozenset({"due"})),
            E.CANCELLED: StateInfo("异议核实后不予补贴", "Cancelled after the objection", None),
            E.LAPSED: StateInfo("逾期未确认，视为放弃", "Lapsed: not confirmed in time", None),
            E.PAID: StateInfo("已兑付", "Paid", None, frozenset({"paid"})),
            E.REVERSED: StateInfo("已追回", "Clawed back", None),
        },
        tuple(
            _t("computed", ["listed"], ["advisor"], "公示", "Listed")
            + _t("computed", ["excluded"], ["system"], "不予补贴", "Not eligible")
            # The firm confirms, or (免申即享) the platform does when the time is up unanswered.
            + _t("listed", ["confirmed"], ["sme", "system"], "确认", "Confirmed")
            + _t("listed", ["objected"], ["sme"], "企业提出异议", "Objected by the firm")
            + _t("listed", ["lapsed"], ["system"], "逾期未确认", "Not confirmed in time")
            + _t("objected", ["confirmed"], ["advisor"], "异议已处理", "Objection resolved")
            + _t(
                "objected", ["cancelled"], ["advisor"], "异议成立，不予补贴", "Objection: cancelled"
            )
            + _t("confirmed", ["paid"], ["advisor"], "兑付", "Paid")
            + _t("paid", ["reversed"], ["advisor", "admin"], "追回", "Clawed back")
        ),
    )
)

# --- product drafts (maker-checker publishing; issue 13, wip-13p) ------------------------


class DraftState(State):
    """A product content drafted by one admin, waiting for a second admin's approval."""

    PENDING = "pending"
    APPROVED = "approved"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


PRODUCT_DRAFT = _register(
    Machine(
        "product_draft",
        "产品草稿",
        "product draft",
        DraftState,
        {
            DraftState.PENDING: StateInfo("待复核", "Awaiting approval", "admin"),
            DraftState.APPROVED: StateInfo("已批准发布", "Approved and published", None),
            DraftState.RETURNED: StateInfo("已退回", "Sent back", None),
            DraftState.WITHDRAWN: StateInfo("已撤回", "Withdrawn", None),
        },
        tuple(
            _t("pending", ["approved"], ["admin"], "批准发布", "Approved and published")
            + _t("pending", ["returned"], ["admin"], "退回修改", "Sent back")
            + _t("pending", ["withdrawn"], ["admin"], "撤回草稿", "Withdrew the draft")
        ),
    )
)

#: Machines by the object type the audit log names them with.
MACHINES: dict[str, Machine[State]] = {
    m.name: m  # type: ignore[misc]
    for m in (
        APPLICATION,
        REFERRAL,
        BATCH,
        MEMBER,
        FILING,
        VERIFICATION,
        NEED,
        CLAIM,
        COMPLAINT,
        ENTITLEMENT,
        PRODUCT_DRAFT,
    )
}

#: States of records without a workflow of their own, as the audit log names them.
RECORD_STATES: dict[tuple[str, str], tuple[str, str]] = {
    ("consent", "granted"): ("已授权", "Granted"),
    ("consent", "withdrawn"): ("已撤回授权", "Withdrawn"),
    ("enterprise", "registered"): ("已注册", "Registered"),
}


def event_title(object_type: str | None, code: str | None, locale: str | None = None) -> str:
    """Return the title of a state an audit event names, by the event's object type."""
    if not code:
        return "—"
    machine = MACHINES.get(object_type or "")
    if machine is not None:
        return machine.title(code, locale)
    zh, en = RECORD_STATES.get((object_type or "", code), (code, code))
    return en if (locale or current_locale()).startswith("en") else zh
