"""Database tables (SQLModel): the union tree, people, indicators, targets, rounds,
submissions, conversation state, the outbox, notices and the audit log.

Conventions: datetimes are aware UTC (SQLModel's UTCDateTime, see bot.clock); enumerations are stored as
short strings so that levels, types and sectors stay data, not schema.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Optional

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.clock import utcnow


class Level(StrEnum):
    """Where a unit stands in the tree (the import's `level` column)."""

    PROVINCE = "province"
    UPPER = "upper"
    GRASSROOTS = "grassroots"


class Sector(StrEnum):
    """Sector of a grassroots union; several targets differ by sector."""

    HCSN = "hcsn"  # hành chính sự nghiệp
    DNNN = "dnnn"  # doanh nghiệp nhà nước
    NGOAINN = "ngoainn"  # doanh nghiệp ngoài nhà nước


class Role(StrEnum):
    """What a person may do, always relative to their own unit."""

    CHAIR = "chair"  # Chủ tịch CĐCS: their own unit
    OFFICER = "officer"  # cán bộ công đoàn cấp trên: their subtree
    STAFF = "staff"  # cán bộ LĐLĐ tỉnh: the province subtree
    ADMIN = "admin"  # operator: everything


class IndicatorKind(StrEnum):
    COUNT = "count"
    MONEY = "money"
    PERCENT = "percent"
    YESNO = "yesno"


class Rollup(StrEnum):
    """How an indicator is aggregated over units and periods."""

    SUM = "sum"  # add across units and periods (new members, money)
    SNAPSHOT = "snapshot"  # latest value per unit, then add across units (members)
    RATIO = "ratio"  # sum of this ÷ sum of the denominator indicator, as a percent
    SHARE_YES = "share_yes"  # share of answering units that said "có"
    MEAN = "mean"  # a percentage each unit reports: weighted by its denominator_code (else the plain average)


class PeriodKind(StrEnum):
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"
    TERM = "term"
    ADHOC = "adhoc"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # no longer needed when its turn came (the unit had reported)


def _json_column() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Unit(SQLModel, table=True):
    """A union unit: the province federation, an upper-level union or a CĐCS."""

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=64)
    name: str = Field(max_length=300)
    parent_id: Optional[int] = Field(default=None, foreign_key="unit.id", index=True)
    level: str = Field(default=Level.GRASSROOTS, max_length=32, index=True)
    type_label: str = Field(default="", max_length=120)
    sector: Optional[str] = Field(default=None, max_length=32)
    active: bool = Field(default=True)
    merged_into_id: Optional[int] = Field(default=None, foreign_key="unit.id")
    members_hint: Optional[int] = None  # a planning figure (e.g. from the demo or an import), not a report
    contact: str = Field(default="", max_length=300)  # whom to call: name and phone
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class UnitEvent(SQLModel, table=True):
    """History of a unit's place in the tree: created, renamed, moved, merged, closed."""

    __tablename__ = "unit_event"

    id: Optional[int] = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    kind: str = Field(max_length=32)  # created | renamed | moved | merged | deactivated | reactivated
    old_parent_id: Optional[int] = None
    new_parent_id: Optional[int] = None
    merged_into_id: Optional[int] = None
    old_name: Optional[str] = Field(default=None, max_length=300)
    new_name: Optional[str] = Field(default=None, max_length=300)
    actor: str = Field(default="", max_length=120)


class Person(SQLModel, table=True):
    """Someone who uses the bot, bound to exactly one unit and one role."""

    id: Optional[int] = Field(default=None, primary_key=True)
    full_name: str = Field(default="", max_length=200)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role: str = Field(default=Role.CHAIR, max_length=16)
    language: Optional[str] = Field(default=None, max_length=8)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)


class ChatIdentity(SQLModel, table=True):
    """A person's account on one channel (Telegram, Zalo, the local console)."""

    __tablename__ = "chat_identity"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_identity_channel_ext"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    chat_id: str = Field(max_length=64)
    username: Optional[str] = Field(default=None, max_length=64)
    reachable: bool = Field(default=True)  # False after the user blocked the bot (403)
    created_at: datetime = Field(default_factory=utcnow)


class Invite(SQLModel, table=True):
    """A single-use invite code that binds whoever redeems it to a unit and role."""

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=32)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role: str = Field(default=Role.CHAIR, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: Optional[datetime] = None
    used_by_person_id: Optional[int] = Field(default=None, foreign_key="person.id")
    created_by: str = Field(default="", max_length=120)


class InviteAttempt(SQLModel, table=True):
    """A failed invite code attempt, for throttling guessers."""

    __tablename__ = "invite_attempt"
    __table_args__ = (Index("ix_invite_attempt_who", "channel", "external_id", "at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow)


class Indicator(SQLModel, table=True):
    """Something units report: members, new members, money collected, yes/no facts."""

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=32)
    name_vi: str = Field(max_length=300)
    name_en: str = Field(default="", max_length=300)
    unit_vi: str = Field(default="", max_length=32)  # người, đồng, đơn vị, %, …
    unit_en: str = Field(default="", max_length=32)
    kind: str = Field(default=IndicatorKind.COUNT, max_length=16)
    rollup: str = Field(default=Rollup.SUM, max_length=16)
    denominator_code: Optional[str] = Field(default=None, max_length=32)  # for RATIO roll-ups
    min_value: Optional[float] = None
    max_value: Optional[float] = None
    not_above_code: Optional[str] = Field(default=None, max_length=32)  # value ≤ that indicator's value
    levels: str = Field(default=Level.GRASSROOTS, max_length=100)  # space-separated levels that report it
    sectors: str = Field(default="", max_length=100)  # space-separated; empty = every sector
    required: bool = Field(default=True)
    aliases: str = Field(default="", max_length=500)  # ;-separated synonyms for questions
    position: int = Field(default=0)
    outlier_factor: Optional[float] = None  # plausibility: warn beyond ×factor or ÷factor of the last report (default 5)


class Period(SQLModel, table=True):
    """A reporting or target period: 2026-Q1, 2026-H1, 2026, 2023-2028 …"""

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=32)
    kind: str = Field(max_length=16)
    starts_on: date
    ends_on: date


class Target(SQLModel, table=True):
    """A target (chỉ tiêu) for one unit, indicator and period (optionally per sector)."""

    __table_args__ = (
        UniqueConstraint("unit_id", "indicator_id", "period_id", "sector", name="uq_target"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    sector: Optional[str] = Field(default=None, max_length=32)  # for per-sector percent targets
    value: float
    updated_at: datetime = Field(default_factory=utcnow)


class Round(SQLModel, table=True):
    """A reporting round (đợt báo cáo): which units report which indicators, and by when."""

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=32)
    title: str = Field(max_length=300)
    period_id: int = Field(foreign_key="period.id", index=True)
    opens_at: datetime
    deadline_at: datetime
    audience: dict = _json_column()  # {"levels": [...], "sectors": [...], "under": [unit codes]}
    reminder_plan: dict = _json_column()
    locked: bool = Field(default=False)
    locked_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)
    requires_review: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})  # the level above approves
    approval_notice: bool = Field(default=True, sa_column_kwargs={"server_default": "1"})  # tell the chair "approved"


class RoundIndicator(SQLModel, table=True):
    """One indicator asked in a round, in order."""

    __tablename__ = "round_indicator"
    __table_args__ = (UniqueConstraint("round_id", "indicator_id", name="uq_round_indicator"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    indicator_id: int = Field(foreign_key="indicator.id")
    position: int = Field(default=0)


class Submission(SQLModel, table=True):
    """A unit's confirmed report for a round (one per unit and round; corrections add revisions)."""

    __table_args__ = (UniqueConstraint("round_id", "unit_id", name="uq_submission"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    reference: str = Field(index=True, unique=True, max_length=16)
    revision: int = Field(default=1)
    submitted_by: Optional[int] = Field(default=None, foreign_key="person.id")
    submitted_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    late: bool = Field(default=False)
    review: Optional[str] = Field(default=None, max_length=16)  # None (round without review) | waiting | approved | returned


class SubmissionValue(SQLModel, table=True):
    """The current value of one indicator in a submission (None = skipped)."""

    __tablename__ = "submission_value"
    __table_args__ = (UniqueConstraint("submission_id", "indicator_id", name="uq_submission_value"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
    value: Optional[float] = None
    flag: Optional[str] = Field(default=None, max_length=16)  # "outlier": far from the usual, confirmed by the chair


class SubmissionRevision(SQLModel, table=True):
    """History of every value ever confirmed: old and new value, who, when."""

    __tablename__ = "submission_revision"

    id: Optional[int] = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    revision: int
    indicator_id: int = Field(foreign_key="indicator.id")
    old_value: Optional[float] = None
    new_value: Optional[float] = None
    person_id: Optional[int] = Field(default=None, foreign_key="person.id")
    at: datetime = Field(default_factory=utcnow)


class SubmissionReview(SQLModel, table=True):
    """History of a submission's review: submitted (waiting), approved, returned with a comment."""

    __tablename__ = "submission_review"

    id: Optional[int] = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    revision: int  # the submission's revision the state is about
    state: str = Field(max_length=16)  # waiting | approved | returned
    person_id: Optional[int] = Field(default=None, foreign_key="person.id")
    at: datetime = Field(default_factory=utcnow)
    comment: str = Field(default="", max_length=1000)


class ReportDraft(SQLModel, table=True):
    """Values typed for a round but not yet confirmed; kept across cancels and restarts."""

    __tablename__ = "report_draft"
    __table_args__ = (UniqueConstraint("round_id", "unit_id", name="uq_report_draft"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    person_id: Optional[int] = Field(default=None, foreign_key="person.id")
    values: dict = _json_column()  # indicator code → number (None = skipped)
    position: int = Field(default=0)  # index of the indicator being asked
    correcting: bool = Field(default=False)  # a correction of a confirmed submission
    updated_at: datetime = Field(default_factory=utcnow)


class ConversationState(SQLModel, table=True):
    """Where a chat stands in a conversation; written before every reply."""

    __tablename__ = "conversation_state"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_conversation"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    flow: str = Field(default="", max_length=32)
    step: str = Field(default="", max_length=64)
    data: dict = _json_column()
    version: int = Field(default=0)  # bumped on every step; stale buttons carry an old one
    language: Optional[str] = Field(default=None, max_length=8)
    updated_at: datetime = Field(default_factory=utcnow)


class InboxUpdate(SQLModel, table=True):
    """One update received from a channel, stored before the platform is told it arrived.

    Handled once, in the transaction that changes the conversation state (`handled_at`,
    `reply`); the reply is sent from what was stored and marked `replied_at`, so after a
    crash an unhandled update is handled and an unsent reply is sent again. Keyed by the
    channel's own update (or message) id; see bot.services.inbox for redeliveries.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "update_id", name="uq_inbox_update"),
        Index("ix_inbox_open", "channel", "replied_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    update_id: int = Field(sa_type=BigInteger)
    chat_id: str = Field(default="", max_length=64)
    fingerprint: str = Field(default="", max_length=64)  # hash of the payload, tells a redelivery from a reused id
    payload: dict = _json_column()  # the update as the platform sent it
    received_at: datetime = Field(default_factory=utcnow, index=True)
    handled_at: Optional[datetime] = None
    reply: Optional[dict] = Field(default=None, sa_column=Column(JSON, nullable=True))  # the Response as JSON
    replied_at: Optional[datetime] = None
    error: Optional[str] = Field(default=None, max_length=500)  # why it was skipped or not answered


class Outbox(SQLModel, table=True):
    """A push waiting to be sent (reminder, digest, notice); the key makes it send-once.

    A row being sent carries a lease (owner, expiry); only an expired lease is taken back.
    Delivered rows are pruned after a while: the payload goes, the key and the outcome stay.
    """

    # the claim walks this index in order: status = 'pending', not_before ≤ now, oldest first
    __table_args__ = (Index("ix_outbox_claim", "status", "not_before", "id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    kind: str = Field(max_length=32)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    person_id: Optional[int] = Field(default=None, foreign_key="person.id", index=True)
    payload: dict = _json_column()  # {"text":…, "options":[[label,data]…], "file":…}
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    attempts: int = Field(default=0)
    not_before: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: Optional[datetime] = None
    message_id: Optional[str] = Field(default=None, max_length=64)
    error: Optional[str] = Field(default=None, max_length=500)
    lease_owner: Optional[str] = Field(default=None, max_length=120)  # the sender that claimed it
    lease_until: Optional[datetime] = None  # after this, another sender may take the row back
    pruned_at: Optional[datetime] = None  # the payload was dropped (the row stays for its key)


class SenderStatus(SQLModel, table=True):
    """What one outbox sender last did, for `congdoan outbox` (one row per sender process)."""

    __tablename__ = "sender_status"

    owner: str = Field(primary_key=True, max_length=120)
    started_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow)
    sent: int = Field(default=0)
    last_sent_at: Optional[datetime] = None
    last_error: Optional[str] = Field(default=None, max_length=500)
    last_error_at: Optional[datetime] = None
    last_error_row: Optional[int] = None


class SendPace(SQLModel, table=True):
    """The next free send slot of a bot, shared by every process on one PostgreSQL database
    (bot.pacing.SharedPacer): seconds since the epoch by the database's clock."""

    __tablename__ = "send_pace"

    name: str = Field(primary_key=True, max_length=32)
    next_at: float = Field(default=0.0)


class Notice(SQLModel, table=True):
    """A notice (thông báo, công văn) broadcast by staff or officers."""

    id: Optional[int] = Field(default=None, primary_key=True)
    reference: str = Field(index=True, unique=True, max_length=32)
    body: str
    file_path: Optional[str] = Field(default=None, max_length=500)
    file_name: Optional[str] = Field(default=None, max_length=200)
    sender_person_id: Optional[int] = Field(default=None, foreign_key="person.id")
    sender_unit_id: int = Field(foreign_key="unit.id")
    audience: dict = _json_column()
    requires_ack: bool = Field(default=False)
    send_at: Optional[datetime] = None
    status: str = Field(default="draft", max_length=16)  # draft | queued | sent | cancelled
    created_at: datetime = Field(default_factory=utcnow)
    file_id: Optional[str] = Field(default=None, max_length=200)  # the channel's id of the attached document
    queued_at: Optional[datetime] = None  # when "Gửi" was pressed
    finished_at: Optional[datetime] = None  # when every recipient was dealt with (final report queued)
    progress_text: Optional[str] = None  # what the sender's progress message shows now
    remind_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # re-remind rounds


class NoticeDelivery(SQLModel, table=True):
    """One recipient of a notice: delivered, acknowledged, failed."""

    __tablename__ = "notice_delivery"
    __table_args__ = (UniqueConstraint("notice_id", "person_id", name="uq_notice_delivery"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    outbox_id: Optional[int] = Field(default=None, foreign_key="outbox.id")
    delivered_at: Optional[datetime] = None
    acked_at: Optional[datetime] = None
    failed: bool = Field(default=False)


class AuditLog(SQLModel, table=True):
    """Who changed what: imports, submissions, corrections, locks, bindings."""

    __tablename__ = "audit_log"

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    person_id: Optional[int] = Field(default=None, foreign_key="person.id")
    actor: str = Field(default="", max_length=120)  # "cli", "telegram:123", …
    action: str = Field(max_length=64)
    entity: str = Field(default="", max_length=64)
    entity_id: Optional[int] = None
    detail: dict = _json_column()


class ScoreWeight(SQLModel, table=True):
    """How much an indicator counts in the emulation score (chấm điểm thi đua); set by staff."""

    __tablename__ = "score_weight"

    id: Optional[int] = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", unique=True)
    weight: float = Field(default=1.0)
    updated_at: datetime = Field(default_factory=utcnow)


class WebLogin(SQLModel, table=True):
    """A sign-in link of the web dashboard (sent by /web) and the session it started.

    Only hashes of the link's token and of the session's token are stored. The link is good
    once (``used_at``) until ``expires_at``; the session lasts until ``session_expires_at``
    or sign-out (``ended_at``)."""

    __tablename__ = "web_login"

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: Optional[datetime] = None
    session_hash: Optional[str] = Field(default=None, unique=True, max_length=64)
    session_expires_at: Optional[datetime] = None
    ended_at: Optional[datetime] = None
