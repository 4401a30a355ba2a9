"""Deadline clocks of the service chain (办理时限) and the escalation ladder (预警), in working days.

Every clock that the demand board, complaints and the escalation of overdue work run on
is here, once; the working-day arithmetic is ``services/workdays.py`` (weekends and the
holiday table). The application's own clocks (advisor's first response, bank's answer)
live beside their services (``screening.ADVISOR_RESPONSE_WORKING_DAYS``,
``referrals.BANK_RESPONSE_WORKING_DAYS``).

Sources: the policy's chain 反映—受理—交办—办理—预警—评价—分析 (行动方案 五(二)) names
the steps, not the days; the numbers below are the centre's own service promises (*demo*,
to be confirmed by the centre), chosen like the DESIGN's 1- and 2-working-day clocks.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Banks claim a posted need within this many working days; then it goes to an advisor.
NEED_CLAIM_WORKING_DAYS = 3
#: An advisor who took up an unclaimed need has this many working days to act on it.
NEED_ADVISOR_WORKING_DAYS = 2

#: A complaint is acknowledged (受理) within 1 working day and answered within 5
#: (a reopened one gets 5 working days again from the reopening).
COMPLAINT_ACK_WORKING_DAYS = 1
COMPLAINT_ANSWER_WORKING_DAYS = 5
#: An answered complaint the complainant has not rated is closed after this many
#: working days (counted as not rated, never as satisfied).
COMPLAINT_RATING_WORKING_DAYS = 10
#: Ratings of 1..5 stars at or below this count as "unsatisfied" (and offer reopening).
UNSATISFIED_STARS = 2


@dataclass(frozen=True)
class Rung:
    """One rung of the escalation ladder: who is told, and when (working days overdue)."""

    level: int
    #: The duty of the advisors told (``users.duty``): supervisor, then the centre's head.
    duty: str
    #: Working days after the missed deadline at which this rung is reached.
    after_working_days: int
    title_zh: str
    title_en: str


#: Overdue work goes to the supervising advisors at once, and to the centre's head when it
#: is still overdue two working days later.
LADDER = (
    Rung(1, "supervisor", 0, "已超时，升级至督导顾问", "Overdue: escalated to the supervisor"),
    Rung(
        2,
        "head",
        2,
        "超时两个工作日，升级至中心负责人",
        "Overdue 2 working days: escalated to the head",
    ),
)

#: Pick-up rate the centre aims for on the demand board (share of posted needs claimed by at
#: least one bank): Jiangsu's 综合金融服务平台 reports over 95 % of posted needs picked up.
PICKUP_BENCHMARK = 0.95
