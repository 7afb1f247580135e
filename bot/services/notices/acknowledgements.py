"""Acknowledgements: a recipient confirms having the notice, once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.models import Notice, NoticeDelivery


class AckOutcome(StrEnum):
    RECORDED = "recorded"
    ALREADY = "already"
    NOT_RECIPIENT = "not_recipient"


def acknowledge(session: Session, notice_id: int, person_id: int, now: datetime
                ) -> tuple[AckOutcome, Notice | None, datetime | None]:
    """Record that a recipient has the notice; a second press records nothing more."""
    delivery = session.exec(select(NoticeDelivery).where(NoticeDelivery.notice_id == notice_id,
                                                         NoticeDelivery.person_id == person_id)).first()
    notice = session.get(Notice, notice_id)
    if delivery is None or notice is None:
        return AckOutcome.NOT_RECIPIENT, None, None
    recorded = session.execute(
        update(NoticeDelivery).where(NoticeDelivery.id == delivery.id, col(NoticeDelivery.acked_at).is_(None))
        .values(acked_at=now)
    ).rowcount
    if recorded == 1:
        session.execute(update(NoticeDelivery).where(NoticeDelivery.id == delivery.id,
                                                     col(NoticeDelivery.delivered_at).is_(None))
                        .values(delivered_at=now, failed=False))
        return AckOutcome.RECORDED, notice, now
    session.refresh(delivery)
    return AckOutcome.ALREADY, notice, delivery.acked_at
