"""What appraisals add to the application, in one place."""
from __future__ import annotations

from domain.appraisals import handover, reviews
from domain.delivery.due import DUE_KINDS, RECURRING, DueKind, Recurring
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.team.handover import HANDOVERS, Handover


def register(wiring: Wiring) -> None:
    """The windows each cycle opens, the reminders of a review's deadlines, and the reviews a leaving member
    must score, handed over."""
    for cycle in reviews.CYCLES:
        kind = reviews.opening_kind(cycle)
        wiring[DUE_KINDS].add(DueKind(kind, reviews.opening_fire(cycle), reviews.opening_recompute(cycle),
                                      label=N_("appraisal windows")))
        wiring[RECURRING].add(Recurring(kind, reviews.first_opening(cycle)))
    wiring[DUE_KINDS].add(
        DueKind(reviews.SELF_CLOSE, reviews.close_self, label=N_("appraisal reminders")),
        DueKind(reviews.SCORE_OVERDUE, reviews.score_overdue, label=N_("appraisal reminders")),
        DueKind(reviews.SELF_REMINDER, reviews.remind_self, label=N_("appraisal reminders")),
        DueKind(reviews.SCORE_REMINDER, reviews.remind_score, label=N_("appraisal reminders")),
    )
    wiring[HANDOVERS].add(Handover("appraisals", handover.hand_over))
