"""Test data on top of the demo province: a reporting round with every kind of figure,
people bound to units, and small readers of what the database holds."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from bot.clock import local_day_end, local_day_start
from bot.db import session_scope
from bot.models import (
    ChatIdentity,
    Indicator,
    IndicatorKind,
    Person,
    Role,
    Round,
    RoundIndicator,
    Rollup,
    Submission,
    SubmissionRevision,
    SubmissionValue,
    Unit,
)
from bot.services.periods import get_or_create_period

TEST_ROUND = "TEST-Q4"
# Indicators of the test round, in order; TL_SINHHOAT is a percent figure added for the tests.
TEST_INDICATORS = ["DV_TONG", "DV_NU", "LD_TONG", "DV_MOI", "TT_CHINHSACH", "QXH_THU", "KPCD_THU",
                   "DP_THU", "QCDC", "TL_SINHHOAT"]


def add_test_round(engine, code: str = TEST_ROUND, *, opens: date = date(2026, 11, 1),
                   deadline: date = date(2026, 12, 20), audience: dict | None = None,
                   indicators: list[str] | None = None) -> int:
    with session_scope(engine) as session:
        if session.exec(select(Indicator).where(Indicator.code == "TL_SINHHOAT")).first() is None:
            session.add(Indicator(code="TL_SINHHOAT", name_vi="Tỷ lệ đoàn viên tham gia sinh hoạt",
                                  name_en="Share of members attending meetings", unit_vi="%", unit_en="%",
                                  kind=IndicatorKind.PERCENT, rollup=Rollup.SUM, min_value=0, max_value=100,
                                  position=99))
            session.flush()
        period = get_or_create_period(session, "2026-Q4")
        rnd = Round(code=code, title=f"Đợt thử {code}", period_id=period.id, opens_at=local_day_start(opens),
                    deadline_at=local_day_end(deadline), audience=audience or {"levels": ["grassroots"]},
                    reminder_plan={})
        session.add(rnd)
        session.flush()
        for position, ind_code in enumerate(indicators or TEST_INDICATORS):
            indicator = session.exec(select(Indicator).where(Indicator.code == ind_code)).one()
            session.add(RoundIndicator(round_id=rnd.id, indicator_id=indicator.id, position=position))
        return rnd.id


def bind(engine, unit_code: str, user_id: str | int, *, channel: str = "telegram",
         role: Role = Role.CHAIR, name: str = "") -> int:
    """Bind a chat account to a unit directly (the invite flow has its own tests)."""
    with session_scope(engine) as session:
        unit = session.exec(select(Unit).where(Unit.code == unit_code)).one()
        person = Person(full_name=name or f"Người dùng {user_id}", unit_id=unit.id, role=role)
        session.add(person)
        session.flush()
        session.add(ChatIdentity(person_id=person.id, channel=channel, external_id=str(user_id),
                                 chat_id=str(user_id)))
        return person.id


def submitted(engine, round_code: str, unit_code: str) -> dict[str, float | None] | None:
    """The confirmed values of a unit in a round, by indicator code (None if not submitted)."""
    with Session(engine) as session:
        sub = session.exec(
            select(Submission).join(Round, Round.id == Submission.round_id).join(Unit, Unit.id == Submission.unit_id)
            .where(Round.code == round_code, Unit.code == unit_code)
        ).first()
        if sub is None:
            return None
        rows = session.exec(
            select(Indicator.code, SubmissionValue.value).join(SubmissionValue, SubmissionValue.indicator_id == Indicator.id)
            .where(SubmissionValue.submission_id == sub.id)
        ).all()
        return dict(rows)


def revisions(engine, round_code: str, unit_code: str, indicator_code: str) -> list[tuple[int, float | None, float | None]]:
    with Session(engine) as session:
        rows = session.exec(
            select(SubmissionRevision.revision, SubmissionRevision.old_value, SubmissionRevision.new_value)
            .join(Submission, Submission.id == SubmissionRevision.submission_id)
            .join(Round, Round.id == Submission.round_id).join(Unit, Unit.id == Submission.unit_id)
            .join(Indicator, Indicator.id == SubmissionRevision.indicator_id)
            .where(Round.code == round_code, Unit.code == unit_code, Indicator.code == indicator_code)
            .order_by(SubmissionRevision.revision)
        ).all()
        return [tuple(r) for r in rows]
