"""A member who leaves hands the reviews they must score to the successor: those of the members who reported
to them (still to be self-reviewed or waiting for scores), and those sent back to them to score again."""
from __future__ import annotations

from sqlalchemy import or_, select

from domain.kernel.actor import Actor
from domain.kernel.i18n import N_
from domain.store.models import Member, Review
from domain.store.uow import UnitOfWork
from domain.team.access import ref
from domain.team.handover import Handed

TO_SCORE = ("self", "scoring")


def hand_over(uow: UnitOfWork, actor: Actor, leaver: Member, successor: Member) -> Handed:
    """Runs while the leaver's team still reports to them; their scorer becomes the successor with the team
    (the successor's own review, if they were in it, goes to the leaver's supervisor instead)."""
    reports = select(Member.id).where(Member.supervisor_id == leaver.id)
    reviews = list(uow.session.scalars(select(Review).where(
        Review.org_id == leaver.org_id, Review.status.in_(TO_SCORE), Review.member_id.not_in((leaver.id, successor.id)),
        or_(Review.member_id.in_(reports), Review.scorer_id == leaver.id)).order_by(Review.number)))
    for review in reviews:
        if review.scorer_id == leaver.id:
            review.scorer_id = successor.id
    return [(N_("Appraisals to score"), [ref("R", review.number) for review in reviews])]
