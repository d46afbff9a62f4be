"""Records of the sales department. Plain SQLAlchemy 2 models: no chat platform in here."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    case,
    distinct,
    func,
    select,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    attribute_keyed_dict,
    mapped_column,
    relationship,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always hands back an aware UTC datetime (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _id() -> Mapped[int]:
    return mapped_column(Integer, primary_key=True)


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = _id()
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # the department's own days off and working days, by day (read by `domain.delivery.calendar.is_workday`);
    # loaded with the organisation, so an organisation read in one unit of work still knows them after it
    calendar_days: Mapped[dict[date, CalendarDay]] = relationship(
        collection_class=attribute_keyed_dict("day"), cascade="all, delete-orphan", lazy="selectin")


class CalendarDay(Base):
    """A day the department marks for itself over China's calendar: a day off (a holiday the calendar
    does not know yet, a company day off) or a working day (调休上班, a make-up working day)."""

    __tablename__ = "calendar_days"
    __table_args__ = (UniqueConstraint("org_id", "day"),)

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    day: Mapped[date] = mapped_column(Date)
    working: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str | None] = mapped_column(String(60))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RefCounter(Base):
    """The last number a department gave a kind of record (a table): references count per department, so
    one department's C12 tells nothing of another's customers. Raised by one UPSERT in the transaction
    that inserts the record (domain.store.numbers)."""

    __tablename__ = "ref_counters"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("org_id", "name_key"),)

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(String(80))
    roles: Mapped[str] = mapped_column(String(200))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    prefs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # when the member left the department (离职), and who took over what was open (domain.team.handover);
    # a member who left is inactive: they cannot act and are sent nothing, their history stays theirs
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))

    @property
    def muted(self) -> frozenset[str]:
        return frozenset((self.prefs or {}).get("muted", []))

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)


class Identity(Base):
    """How a member is reached on a platform (a Slack user in a workspace, a Telegram user)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "workspace", "external_id"),)

    id: Mapped[int] = _id()
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    workspace: Mapped[str] = mapped_column(String(120))
    external_id: Mapped[str] = mapped_column(String(120))


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("org_id", "name_key"),
        UniqueConstraint("org_id", "number", name="uq_customers_org_id_number"),
    )

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # counted per department from 1: the reference (C3)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    industry: Mapped[str | None] = mapped_column(String(100))
    scale: Mapped[str | None] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(20), default="regular")
    credit_rating: Mapped[str | None] = mapped_column(String(8))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    birthday: Mapped[date | None] = mapped_column(Date)
    cadence_days: Mapped[int | None] = mapped_column(Integer)
    risk: Mapped[str] = mapped_column(String(10), default="unassessed")
    risk_note: Mapped[str | None] = mapped_column(Text)  # why the risk is what it is (domain.risk.levels)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (UniqueConstraint("org_id", "number", name="uq_leads_org_id_number"),
                      # the forecast sums the open pipeline per owner and stage from this index alone
                      Index("ix_leads_pipeline", "org_id", "stage", "owner_id", "currency", "next_date", "value"))

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # counted per department from 1: the reference (C3)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(20))
    contact: Mapped[str | None] = mapped_column(String(200))
    value: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    next_step: Mapped[str | None] = mapped_column(Text)
    next_date: Mapped[date | None] = mapped_column(Date)
    score_scale: Mapped[int | None] = mapped_column(Integer)
    score_position: Mapped[int | None] = mapped_column(Integer)
    score_potential: Mapped[int | None] = mapped_column(Integer)
    score_intent: Mapped[int | None] = mapped_column(Integer)
    key_account: Mapped[bool] = mapped_column(Boolean, default=False)
    risk: Mapped[str] = mapped_column(String(10), default="unassessed")
    risk_note: Mapped[str | None] = mapped_column(Text)
    closed_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def score_total(self) -> int | None:
        scores = (self.score_scale, self.score_position, self.score_potential, self.score_intent)
        return None if any(s is None for s in scores) else sum(scores)  # type: ignore[arg-type]


# One bit a stage in StageChange.reached_before. Fixed: the stored histories are written with it.
STAGE_BITS = {stage: 1 << i for i, stage in enumerate(("research", "screening", "contact", "needs", "proposal",
                                                        "negotiation", "followup", "won", "lost"))}


def stage_bit(column: Any) -> Any:
    """The bit of the stage in `column` (SQL), 0 for a word that is not a stage."""
    return case(*((column == stage, bit) for stage, bit in STAGE_BITS.items()), else_=0)


class StageChange(Base):
    """A lead's move from one stage to another. Each change also carries what the funnel needs of the history
    before it, so the funnel adds up a period's changes without looking back: `entered_at`, when the lead entered
    the stage it leaves (the time of its previous change; none for its first change, the first of a period is
    the one entered before the period), and `reached_before`, the stages the lead had reached before this change
    (STAGE_BITS)."""

    __tablename__ = "stage_changes"
    # the funnel groups a department's changes in the order of ix_stage_changes_funnel, reading nothing else (no
    # sort), and finds a period's wins and losses by ix_stage_changes_closed
    __table_args__ = (Index("ix_stage_changes_org_at", "org_id", "at"),
                      Index("ix_stage_changes_funnel", "org_id", "from_stage", "to_stage", "reached_before", "at",
                            "entered_at"),
                      Index("ix_stage_changes_closed", "org_id", "to_stage", "at"),
                      Index("ix_stage_changes_lead_at", "lead_id", "at"))

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))  # indexed with `at`
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reached_before: Mapped[int] = mapped_column(Integer, server_default="0")


def fill_stage_history(_mapper: Any, _connection: Any, change: StageChange) -> None:
    """Before a stage change is inserted (listened for from make_engine): a change written without them takes
    `entered_at` (the time of the lead's latest change up to its own) and `reached_before` (the stages of the
    lead's changes up to its own, each bit once) from the lead's history, read in the INSERT itself over the
    (lead_id, at) index."""
    earlier = StageChange.__table__.alias("earlier")
    up_to_now = and_(earlier.c.lead_id == change.lead_id, earlier.c.at <= change.at)
    if change.entered_at is None:
        change.entered_at = select(func.max(earlier.c.at)).where(up_to_now).scalar_subquery()
    if change.reached_before is None:
        stages = func.coalesce(func.sum(distinct(stage_bit(earlier.c.to_stage))), 0)
        change.reached_before = select(stages).where(up_to_now).scalar_subquery()


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (UniqueConstraint("org_id", "number", name="uq_visits_org_id_number"),)

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(Integer)  # counted per department from 1: the reference (C3)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    channel: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str | None] = mapped_column(Text)
    needs: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    next_date: Mapped[date | None] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Callback(Base):
    """A customer callback (回访) that falls due on a local day and is done with a result."""

    __tablename__ = "callbacks"
    __table_args__ = (
        Index("ix_callbacks_owner_status_due", "owner_id", "status", "due_date"),
        UniqueConstraint("org_id", "number", name="uq_callbacks_org_id_number"),
    )

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(Integer)  # counted per department from 1: the reference (C3)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    due_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="open")
    result: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(20))  # how the customer was reached (VISIT_CHANNELS)
    satisfaction: Mapped[int | None] = mapped_column(Integer)  # the customer's score, 1-5 (满意度)
    satisfaction_note: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DueItem(Base):
    """Something that falls due at an instant; the sweep turns it into outbox messages."""

    __tablename__ = "due_items"
    __table_args__ = (Index("ix_due_items_state_due_at", "state", "due_at"),
                      Index("ix_due_items_kind_org", "kind", "org_id"),  # the recurring jobs' check
                      Index("ix_due_items_state_fired_at", "state", "fired_at"))  # the retention purge

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    key: Mapped[str] = mapped_column(String(200), unique=True)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # failed firings so far
    last_error: Mapped[str | None] = mapped_column(String(500))


class OutboxMessage(Base):
    """A message bizbot says on its own, written with its cause, sent later, exactly once."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_available", "status", "available_at"),
                      Index("ix_outbox_status_sent_at", "status", "sent_at"))  # the retention purge

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    channel: Mapped[str | None] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # of a message delivered in several parts (a photo, then texts), how many the platform already has:
    # a retry goes on from there instead of sending them again
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the process that claimed it (its replica id, see Lease): a claim whose owner has no live heartbeat
    # is released at the next claim
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # a notice sent together with others (status `merged`): the message that carried it
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))


class Lease(Base):
    """A lease with an expiry, renewed by its holder: `scheduler` (who runs the sweep, and when it last
    swept) and one `replica:<id>` heartbeat per running process (bot.leader)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(250), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sweep_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who read or changed what, and when (数据访问记录)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_org_at", "org_id", "at"),)

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    action: Mapped[str] = mapped_column(String(12))
    entity: Mapped[str] = mapped_column(String(40))
    entity_ref: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class InboundEvent(Base):
    """An event a platform delivered, remembered so a retried delivery is processed once."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("platform", "key"),)

    id: Mapped[int] = _id()
    platform: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # the event as delivered, while the work it asks for is still to do (recorded before the platform's
    # acknowledgement, cleared in the transaction of that work): after a restart it is taken up again
    pending: Mapped[str | None] = mapped_column(Text)


class Invite(Base):
    """A one-time code that links a chat account to a member (`/team invite`, then `/start CODE`)."""

    __tablename__ = "invites"

    id: Mapped[int] = _id()
    code: Mapped[str] = mapped_column(String(40), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrganisationLink(Base):
    """A further group or workspace a department works in, joined to it after it began (by an admin there, or
    with a code an admin made): commands there act in that department."""

    __tablename__ = "organisation_links"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EnrolmentCode(Base):
    """A one-time code that opens a new department (made by the operator, `bizbot enrol`; no org) or joins a
    further group to an existing one (made by its admin; org set). Only the code's SHA-256 is kept."""

    __tablename__ = "enrolment_codes"

    id: Mapped[int] = _id()
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_in: Mapped[str | None] = mapped_column(String(160))


class Dialog(Base):
    """Short-lived adapter state kept in the database, so any replica can continue it:
    a half-filled form (a Telegram conversation) or a long button payload."""

    __tablename__ = "dialogs"
    __table_args__ = (UniqueConstraint("platform", "key"),)

    id: Mapped[int] = _id()
    platform: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# --- appraisals (绩效考核) ---------------------------------------------------------------------


class Review(Base):
    """One member's appraisal for one period: indicators with figures, both sides' scores, the steps."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("org_id", "member_id", "period"),
        UniqueConstraint("org_id", "number", name="uq_reviews_org_id_number"),
    )

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # counted per department from 1: the reference (C3)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    cycle: Mapped[str] = mapped_column(String(12))
    period: Mapped[str] = mapped_column(String(10))
    template: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    self_due: Mapped[date] = mapped_column(Date)
    closes: Mapped[date] = mapped_column(Date)
    self_comment: Mapped[str | None] = mapped_column(Text)
    self_total: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    scorer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    scorer_comment: Mapped[str | None] = mapped_column(Text)
    total: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appeal_until: Mapped[date | None] = mapped_column(Date)
    appeals: Mapped[int] = mapped_column(Integer, default=0)
    appeal_reason: Mapped[str | None] = mapped_column(Text)
    ruling: Mapped[str | None] = mapped_column(String(12))
    ruling_note: Mapped[str | None] = mapped_column(Text)
    ruled_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    ruled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

# --- approvals: one engine for contracts, expenses and leave; the contract ledger; message tracking ---


class ApprovalPolicy(Base):
    """One version of an organisation's approval policy (chains and thresholds per type), kept as data."""

    __tablename__ = "approval_policies"
    __table_args__ = (UniqueConstraint("org_id", "version"),)

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApprovalRequest(Base):
    """A request of a type with its fields, a chain of steps, the current step and a version."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        Index("ix_approval_requests_org_state", "org_id", "state"),
        UniqueConstraint("org_id", "number", name="uq_approval_requests_org_id_number"),
    )

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(Integer)  # counted per department from 1: the reference (C3)
    type: Mapped[str] = mapped_column(String(20))
    requester_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    subject_id: Mapped[int | None] = mapped_column(Integer)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    state: Mapped[str] = mapped_column(String(12), default="draft")
    round: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[int] = mapped_column(Integer, default=0)
    chain: Mapped[list[Any]] = mapped_column(JSON, default=list)
    policy_version: Mapped[int | None] = mapped_column(Integer)
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApprovalDecision(Base):
    """Who decided which step of which round, when, what and why."""

    __tablename__ = "approval_decisions"

    id: Mapped[int] = _id()
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    outcome: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delegation(Base):
    """While a member is away, requests for them route to a delegate (until a local day, inclusive)."""

    __tablename__ = "delegations"

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    until: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Contract(Base):
    """A contract drafted by a sales member, approved on the engine, signed into the ledger (合同台账)."""

    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("org_id", "number", name="uq_contracts_org_id_number"),)

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # counted per department from 1: the reference (C3)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    payment: Mapped[str | None] = mapped_column(Text)
    delivery: Mapped[date | None] = mapped_column(Date)
    term: Mapped[date | None] = mapped_column(Date)
    clauses: Mapped[str | None] = mapped_column(Text)
    risk: Mapped[str] = mapped_column(String(10), default="unassessed", server_default="unassessed")
    risk_note: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="draft")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("approval_requests.id"))
    signed_on: Mapped[date | None] = mapped_column(Date)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxSubject(Base):
    """What a tracked subject (e.g. "approval:12") shows now; every message about it is revised to this."""

    __tablename__ = "outbox_subjects"
    __table_args__ = (UniqueConstraint("org_id", "subject"),)

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    subject: Mapped[str] = mapped_column(String(80))
    revision: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class OutboxPost(Base):
    """Where an outbox message about a subject was delivered, so it can be revised later."""

    __tablename__ = "outbox_posts"
    __table_args__ = (Index("ix_outbox_posts_org_subject", "org_id", "subject"),)

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    subject: Mapped[str] = mapped_column(String(80))
    outbox_key: Mapped[str] = mapped_column(String(200))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    platform: Mapped[str] = mapped_column(String(20))
    chat: Mapped[str] = mapped_column(String(120))
    message_ref: Mapped[str] = mapped_column(String(120))
    revision: Mapped[int] = mapped_column(Integer, default=0)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)

# --- Weekly meeting (部门例会): members' updates, minutes, action items; outbox attachments ---


class MeetingUpdate(Base):
    """A member's answers for one week's meeting: done last week, problems met, plan for this week."""

    __tablename__ = "meeting_updates"
    __table_args__ = (UniqueConstraint("org_id", "week", "member_id"),)

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    week: Mapped[date] = mapped_column(Date)  # the Monday of the meeting's week
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    done: Mapped[str] = mapped_column(Text)
    problems: Mapped[str] = mapped_column(Text)
    plan: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MeetingMinutes(Base):
    """The meeting's decisions (会议纪要), as recorded by whoever chaired or noted them."""

    __tablename__ = "meeting_minutes"
    __table_args__ = (Index("ix_meeting_minutes_org_week", "org_id", "week"),)

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    week: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ActionItem(Base):
    """An action item from a meeting: an owner, what to do and by when; reminded like any due item."""

    __tablename__ = "action_items"
    __table_args__ = (
        Index("ix_action_items_org_status", "org_id", "status"),
        UniqueConstraint("org_id", "number", name="uq_action_items_org_id_number"),
    )

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(Integer)  # counted per department from 1: the reference (C3)
    week: Mapped[date] = mapped_column(Date)
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    what: Mapped[str] = mapped_column(Text)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))


class OutboxAttachment(Base):
    """A file sent with an outbox message (a chart), stored with it so a restart loses nothing."""

    __tablename__ = "outbox_attachments"

    id: Mapped[int] = _id()
    key: Mapped[str] = mapped_column(String(200), unique=True)  # the outbox message's key
    filename: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(80))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

# --- complaints (客户投诉处理) ----------------------------------------------------------------


class Complaint(Base):
    """A customer complaint with promised response and resolution deadlines (承诺处理时间)."""

    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_org_status", "org_id", "status"),
        UniqueConstraint("org_id", "number", name="uq_complaints_org_id_number"),
    )

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(Integer)  # counted per department from 1: the reference (C3)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    severity: Mapped[str] = mapped_column(String(10))
    what: Mapped[str] = mapped_column(Text)
    wants: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="open")
    assignee_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    round: Mapped[int] = mapped_column(Integer, default=1)
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime)
    resolve_by: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    missed: Mapped[bool] = mapped_column(Boolean, default=False)
    solution: Mapped[str | None] = mapped_column(Text)
    escalated: Mapped[str | None] = mapped_column(String(40))
    acked: Mapped[str | None] = mapped_column(String(40))
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callbacks.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}


class ComplaintStep(Base):
    """One timestamped step of a complaint's timeline (intake, assign, update, escalate, ...)."""

    __tablename__ = "complaint_steps"

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Order(Base):
    """An order (订单) handed down from a signed contract through routing steps, shipped, and accepted (验收)."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_org_state", "org_id", "state"),
        UniqueConstraint("org_id", "number", name="uq_orders_org_id_number"),
    )

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(Integer)  # counted per department from 1: the reference (O3)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)  # who handed it down and tracks it
    items: Mapped[str] = mapped_column(Text)
    qty: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    unit: Mapped[str | None] = mapped_column(String(20))
    delivery: Mapped[date] = mapped_column(Date)
    requirements: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="open")
    shipped_on: Mapped[date | None] = mapped_column(Date)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    carrier: Mapped[str | None] = mapped_column(String(120))
    tracking: Mapped[str | None] = mapped_column(String(120))
    acceptance: Mapped[str | None] = mapped_column(String(12))  # passed, failed, or None while not yet accepted
    accepted_on: Mapped[date | None] = mapped_column(Date)
    round: Mapped[int] = mapped_column(Integer, default=1)  # acceptance rounds: a failed one starts the next
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}


class OrderStep(Base):
    """One routing step of an order (生产安排, 采购协调, 质量检验, 发货, 整改): its owner — a member, or a named
    contact of another department — its deadline, acknowledgement and completion."""

    __tablename__ = "order_steps"
    __table_args__ = (Index("ix_order_steps_owner_state", "owner_id", "state"),)

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    contact: Mapped[str | None] = mapped_column(String(200))
    days: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="waiting")  # waiting, open, acked, done
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    what: Mapped[str | None] = mapped_column(Text)  # a rectification's requirement (整改要求)
    note: Mapped[str | None] = mapped_column(Text)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated: Mapped[int] = mapped_column(Integer, default=0)  # 0, 1 (the order's owner), 2 (the manager)


# --- receivables: payment milestones, invoices (开票), payments (回款) ----------------------------


class Milestone(Base):
    """One payment milestone of a contract's terms: a share or an amount, due on a trigger (on signing, on
    delivery, on acceptance, N days after one of them, or a date). Its due date is known once its trigger
    happened; until it is paid in full it is a receivable of its owner (who collects it)."""

    __tablename__ = "milestones"
    __table_args__ = (
        # covering the ageing's grouped sum: the index alone answers /receivables, without reading the table
        Index("ix_milestones_org_state_due", "org_id", "state", "due_date", "currency", "owner_id", "customer_id",
              "amount", "received"),
        Index("ix_milestones_org_owner_state", "org_id", "owner_id", "state"),
        UniqueConstraint("contract_id", "seq", name="uq_milestones_contract_id_seq"),
    )

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 in the order of the terms
    share: Mapped[Decimal | None] = mapped_column(Numeric(9, 4))  # percent of the contract amount, or None
    fixed: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))  # a fixed amount, or None
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3))
    trigger: Mapped[str] = mapped_column(String(12))  # signing, delivery, acceptance, date
    days: Mapped[int] = mapped_column(Integer, default=0)  # after the trigger
    on_date: Mapped[date | None] = mapped_column(Date)  # the date of a date trigger
    due_date: Mapped[date | None] = mapped_column(Date)
    received: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    invoiced: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    state: Mapped[str] = mapped_column(String(10), default="planned")  # planned, waiting, open, paid
    paid_on: Mapped[date | None] = mapped_column(Date)
    risk_raised: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Invoice(Base):
    """An invoice asked for on the approval engine (开票申请) and issued by finance (number and date)."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("org_id", "number", name="uq_invoices_org_id_number"),
        Index("ix_invoices_org_state", "org_id", "state"),
    )

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(Integer)  # the reference (I3)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(12))  # pending, approved, rejected, changes, issued
    request_id: Mapped[int | None] = mapped_column(ForeignKey("approval_requests.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    invoice_no: Mapped[str | None] = mapped_column(String(60))
    issued_on: Mapped[date | None] = mapped_column(Date)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Payment(Base):
    """Money received against a contract (回款), recorded by finance, allocated to its milestones."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("org_id", "number", name="uq_payments_org_id_number"),
        Index("ix_payments_org_received", "org_id", "received_on"),
    )

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(Integer)  # the reference (P3)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"))  # who collected it (the milestones' owner)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3))
    received_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Allocation(Base):
    """The part of a payment that settles one milestone."""

    __tablename__ = "payment_allocations"

    id: Mapped[int] = _id()
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    received_on: Mapped[date] = mapped_column(Date)
# --- targets (销售任务), the risk register (风险登记) and its indicators, service requests (咨询/建议) ---------


class Target(Base):
    """What a member (or a team: a member's whole reporting line) is to achieve in a month, quarter or year:
    contract value signed, value collected, new customers. A field left empty is no target for it."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("org_id", "member_id", "team", "period", name="uq_targets_subject_period"),
                      Index("ix_targets_org_first", "org_id", "first"))

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    team: Mapped[bool] = mapped_column(Boolean, default=False)  # the member's reporting line, not the member
    period: Mapped[str] = mapped_column(String(10))  # 2027-01 · 2027-Q1 · 2027
    first: Mapped[date] = mapped_column(Date)
    end_day: Mapped[date] = mapped_column(Date)
    signed: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    collected: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    customers: Mapped[int | None] = mapped_column(Integer)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RiskEntry(Base):
    """A risk in the department's register (风险登记): what may happen to a customer, lead, contract or project, how
    likely and how bad, the response chosen (规避、降低、转移、接受), who owns it and by when."""

    __tablename__ = "risk_entries"
    __table_args__ = (UniqueConstraint("org_id", "number", name="uq_risk_entries_org_id_number"),
                      Index("ix_risk_entries_org_status", "org_id", "status"))

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(Integer)  # counted per department from 1: the reference (RK3)
    record: Mapped[str] = mapped_column(String(40))  # what it is attached to: C3, L12, K4 or a project's reference
    record_owner_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    what: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20))
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    loss: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    response: Mapped[str] = mapped_column(String(12))
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RiskFollowUp(Base):
    """A note on what was done about a registered risk (风险跟踪)."""

    __tablename__ = "risk_followups"

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("risk_entries.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    note: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class RiskSignal(Base):
    """One automatic risk indicator's state for one record (预警): whether it has fired and at what level (so it
    fires once and not again until it clears), and a memo of what it compares with (a credit rating before)."""

    __tablename__ = "risk_signals"
    __table_args__ = (UniqueConstraint("org_id", "indicator", "subject_id", name="uq_risk_signals_subject"),
                      Index("ix_risk_signals_org_fired", "org_id", "fired_at"))

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    indicator: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    level: Mapped[str | None] = mapped_column(String(10))  # medium (orange) or high (red) while it holds
    reason: Mapped[str | None] = mapped_column(Text)
    memo: Mapped[str | None] = mapped_column(String(40))
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ServiceRequest(Base):
    """A customer's enquiry (咨询) or suggestion (建议): what they asked, who answers, the reply promised by when."""

    __tablename__ = "service_requests"
    __table_args__ = (UniqueConstraint("org_id", "number", name="uq_service_requests_org_id_number"),
                      Index("ix_service_requests_org_status", "org_id", "status"))

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(Integer)  # the reference (E3)
    kind: Mapped[str] = mapped_column(String(12))  # enquiry | suggestion
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    what: Mapped[str] = mapped_column(Text)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    reply_by: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="open")
    answer: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)



class Project(Base):
    """A project set up by an approved initiation request (立项): its plan, progress, costs and acceptance."""

    __tablename__ = "projects"
    __table_args__ = (
        Index("ix_projects_org_state", "org_id", "state"),
        UniqueConstraint("org_id", "number", name="uq_projects_org_id_number"),
    )

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(Integer)  # counted per department from 1: the reference (P3)
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    budget: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    start: Mapped[date] = mapped_column(Date)
    manager_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    team: Mapped[list[Any]] = mapped_column(JSON, default=list)  # member ids besides the manager
    state: Mapped[str] = mapped_column(String(12), default="active")  # active, closed
    plan_state: Mapped[str] = mapped_column(String(12), default="draft")  # draft, pending, approved, changes
    plan_request_id: Mapped[int | None] = mapped_column(ForeignKey("approval_requests.id"))
    accept_round: Mapped[int] = mapped_column(Integer, default=0)
    passed_first: Mapped[bool | None] = mapped_column(Boolean)  # None until a first acceptance
    risk: Mapped[str] = mapped_column(String(12), default="unassessed")
    risk_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}


class ProjectItem(Base):
    """A milestone of a project's plan (M2), or a rectification item after a failed acceptance (R1)."""

    __tablename__ = "project_items"
    __table_args__ = (
        UniqueConstraint("project_id", "kind", "number", name="uq_project_items_project_id"),
        Index("ix_project_items_owner_state", "owner_id", "state"),
    )

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # milestone, rectify
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    due: Mapped[date] = mapped_column(Date)
    baseline_due: Mapped[date | None] = mapped_column(Date)  # the approved plan's date
    deliverable: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="open")  # open, done
    note: Mapped[str | None] = mapped_column(Text)
    filed: Mapped[str | None] = mapped_column(Text)  # where the deliverable is filed
    round: Mapped[int] = mapped_column(Integer, default=0)  # the acceptance round a rectification answers
    rev: Mapped[int] = mapped_column(Integer, default=1)  # bumped when its date moves: its reminders start again
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProjectEvent(Base):
    """One timestamped entry of a project's file: initiation, plan, changes, progress, costs, acceptance."""

    __tablename__ = "project_events"

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class CollabCase(Base):
    """An approved cross-department request carried on: routed to the supporting department's contact,
    answered by the due date, accepted or sent back for rectification by the requester."""

    __tablename__ = "collab_cases"
    __table_args__ = (Index("ix_collab_cases_org_state", "org_id", "state"),)

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id"), unique=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    department: Mapped[str] = mapped_column(String(200))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    state: Mapped[str] = mapped_column(String(12))  # routing, assigned, working, answered, rectify, accepted
    due: Mapped[date] = mapped_column(Date)
    round: Mapped[int] = mapped_column(Integer, default=1)
    result: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}


class CollabStep(Base):
    """One timestamped step of a cross-department request after its approval."""

    __tablename__ = "collab_steps"

    id: Mapped[int] = _id()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("collab_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
class SendLimit(Base):
    """A platform's overall send limit shared by every replica: the times (seconds since the epoch, by the
    sender's clock) of the latest sends it allowed, space-separated, oldest first."""

    __tablename__ = "send_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    sent: Mapped[str] = mapped_column(Text, default="", server_default="")
