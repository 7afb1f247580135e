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
                   indicators: list[str] | None = None, outlier_factor: float | None = 1000.0,
                   period_code: str = "2026-Q4") -> int:
    """The test round; its figures are typed far from the demo's history on purpose (notations, rules),
    so the plausibility factor of its indicators is relaxed unless `outlier_factor` is None."""
    with session_scope(engine) as session:
        if session.exec(select(Indicator).where(Indicator.code == "TL_SINHHOAT")).first() is None:
            session.add(Indicator(code="TL_SINHHOAT", name_vi="Tỷ lệ đoàn viên tham gia sinh hoạt",
                                  name_en="Share of members attending meetings", unit_vi="%", unit_en="%",
                                  kind=IndicatorKind.PERCENT, rollup=Rollup.MEAN, min_value=0, max_value=100,
                                  position=99))
            session.flush()
        period = get_or_create_period(session, period_code)
        rnd = Round(code=code, title=f"Đợt thử {code}", period_id=period.id, opens_at=local_day_start(opens),
                    deadline_at=local_day_end(deadline), audience=audience or {"levels": ["grassroots"]},
                    reminder_plan={})
        session.add(rnd)
        session.flush()
        for position, ind_code in enumerate(indicators or TEST_INDICATORS):
            indicator = session.exec(select(Indicator).where(Indicator.code == ind_code)).one()
            session.add(RoundIndicator(round_id=rnd.id, indicator_id=indicator.id, position=position))
            if outlier_factor is not None:
                indicator.outlier_factor = outlier_factor
                session.add(indicator)
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


def small_province(engine, *, opens: date, deadline: date, submitted_units: int = 5,
                   chair_base: int = 8000, round_code: str = "R1") -> dict[str, object]:
    """A province P with unions U1 (G01–G12) and U2 (G13–G20), one chair per CĐCS
    (chat ids chair_base+1 … +20), an officer per union (chair_base+101, +102), a staff
    member (chair_base+201), and a round whose first `submitted_units` units have reported."""
    from bot.demo import ensure_indicators

    with session_scope(engine) as session:
        ensure_indicators(session)
        province = Unit(code="P", name="LĐLĐ tỉnh Thử", level="province", contact="Văn phòng — 0213 000 000")
        session.add(province)
        session.flush()
        unions = {}
        for code in ("U1", "U2"):
            unions[code] = Unit(code=code, name=f"LĐLĐ huyện {code}", level="upper", parent_id=province.id)
            session.add(unions[code])
        session.flush()
        units = []
        for n in range(1, 21):
            unit = Unit(code=f"G{n:02d}", name=f"CĐCS số {n:02d}", level="grassroots", sector="hcsn",
                        parent_id=unions["U1" if n <= 12 else "U2"].id)
            session.add(unit)
            units.append(unit)
        session.flush()
    for n, unit in enumerate(units, start=1):
        bind(engine, unit.code, chair_base + n, name=f"Chủ tịch {n:02d}")
    bind(engine, "U1", chair_base + 101, role=Role.OFFICER, name="Cán bộ U1")
    bind(engine, "U2", chair_base + 102, role=Role.OFFICER, name="Cán bộ U2")
    bind(engine, "P", chair_base + 201, role=Role.STAFF, name="Cán bộ tỉnh")
    add_test_round(engine, round_code, opens=opens, deadline=deadline, indicators=["DV_TONG"])
    for unit in units[:submitted_units]:
        submit_directly(engine, round_code, unit.code)
    return {"chairs": {u.code: chair_base + n for n, u in enumerate(units, start=1)},
            "officers": {"U1": chair_base + 101, "U2": chair_base + 102}, "staff": chair_base + 201}


def submit_directly(engine, round_code: str, unit_code: str, value: float = 30) -> None:
    """A confirmed submission written straight into the database (as if reported earlier)."""
    from bot.clock import utcnow

    with session_scope(engine) as session:
        rnd = session.exec(select(Round).where(Round.code == round_code)).one()
        unit = session.exec(select(Unit).where(Unit.code == unit_code)).one()
        sub = Submission(round_id=rnd.id, unit_id=unit.id, reference=f"BC-T{rnd.id:02d}{unit.id:05d}", submitted_at=utcnow())
        session.add(sub)
        session.flush()
        indicator = session.exec(select(Indicator).where(Indicator.code == "DV_TONG")).one()
        session.add(SubmissionValue(submission_id=sub.id, indicator_id=indicator.id, value=value))
