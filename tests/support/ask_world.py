"""A small world for the question tests, on top of the demo province, with hand-chosen figures.

An upper-level union LDLD_XT ("Liên đoàn Lao động huyện Xuân Thành", contact below) with two
CĐCS, and rounds of the given year written directly, so every expected figure can be worked
out by hand in the tests:

XT_001 "Công ty TNHH Hoa Ban" (non-state), targets for the year: DV_MOI 10, QXH_THU 5.000.000
    Q1: DV_TONG 50, LD_TONG 50, DV_MOI 3, TT_CHINHSACH 40, QXH_THU 1.000.000
    Q2: DV_TONG 55, LD_TONG 60, DV_MOI 4, TT_CHINHSACH 45, QXH_THU 1.500.000
    → DV_MOI 7/10 (70,0%, 3 missing); QXH_THU 2.500.000/5.000.000 (50,0%);
      DV_TONG latest 55 (never 105); TT_CHINHSACH 45/60 = 75,0% vs the province's 98%
      (⌈0,98 × 60 − 45⌉ = 14 people missing)
XT_002 "Trường Tiểu học Pa Khoang" (public sector), target DV_MOI 6
    Q1: DV_TONG 30, LD_TONG 40, DV_MOI 2, TT_CHINHSACH 30; Q2: DV_MOI 1
    → DV_MOI 3/6
LDLD_XT target DV_MOI 20 → 7 + 3 = 10 of 20 (50,0%)

The open round XT-OPEN (period: the year's Q4) opened 10 days ago and is due in 30 days;
nobody has submitted it.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from bot.clock import local_day_end, local_day_start
from bot.db import session_scope
from bot.models import Indicator, Level, Round, RoundIndicator, Submission, SubmissionValue, Target, Unit
from bot.services import registry
from bot.services.periods import get_or_create_period

UPPER = "LDLD_XT"
UPPER_NAME = "Liên đoàn Lao động huyện Xuân Thành"
UPPER_CONTACT = "Đ/c Nguyễn Văn An (Chủ tịch) – 0912 000 111"
CHAIR_UNIT = "XT_001"
CHAIR_UNIT_NAME = "Công ty TNHH Hoa Ban"
OTHER_UNIT = "XT_002"
OTHER_UNIT_NAME = "Trường Tiểu học Pa Khoang"
OPEN_ROUND = "XT-OPEN"
OPEN_TITLE = "Báo cáo thử quý IV"

FIGURES = {
    CHAIR_UNIT: {
        "Q1": {"DV_TONG": 50, "LD_TONG": 50, "DV_MOI": 3, "TT_CHINHSACH": 40, "QXH_THU": 1_000_000},
        "Q2": {"DV_TONG": 55, "LD_TONG": 60, "DV_MOI": 4, "TT_CHINHSACH": 45, "QXH_THU": 1_500_000},
    },
    OTHER_UNIT: {
        "Q1": {"DV_TONG": 30, "LD_TONG": 40, "DV_MOI": 2, "TT_CHINHSACH": 30},
        "Q2": {"DV_MOI": 1},
    },
}
TARGETS = {CHAIR_UNIT: {"DV_MOI": 10, "QXH_THU": 5_000_000}, OTHER_UNIT: {"DV_MOI": 6}, UPPER: {"DV_MOI": 20}}


def build(engine, year: int, today: date) -> None:
    """Add the Xuân Thành world for `year`; the open round is relative to `today` (local date)."""
    with session_scope(engine) as session:
        province = registry.unit_by_code(session, "LDLD_LC")
        assert province is not None
        upper = Unit(code=UPPER, name=UPPER_NAME, parent_id=province.id, level=Level.UPPER, contact=UPPER_CONTACT)
        session.add(upper)
        session.flush()
        session.add(Unit(code=CHAIR_UNIT, name=CHAIR_UNIT_NAME, parent_id=upper.id, level=Level.GRASSROOTS,
                         sector="ngoainn"))
        session.add(Unit(code=OTHER_UNIT, name=OTHER_UNIT_NAME, parent_id=upper.id, level=Level.GRASSROOTS,
                         sector="hcsn"))
        session.flush()
        indicators = {i.code: i for i in session.exec(select(Indicator)).all()}
        units = {u.code: u for u in session.exec(select(Unit).where(Unit.code.in_([UPPER, CHAIR_UNIT, OTHER_UNIT]))).all()}  # type: ignore[attr-defined]
        year_period = get_or_create_period(session, str(year))
        for unit_code, targets in TARGETS.items():
            for code, value in targets.items():
                session.add(Target(unit_id=units[unit_code].id, indicator_id=indicators[code].id,
                                   period_id=year_period.id, value=value))
        rounds = {}
        for quarter in ("Q1", "Q2"):
            period = get_or_create_period(session, f"{year}-{quarter}")
            rnd = Round(code=f"XT-{quarter}", title=f"Báo cáo thử {quarter}", period_id=period.id,
                        opens_at=local_day_start(period.starts_on), deadline_at=local_day_end(period.ends_on),
                        audience={"levels": ["grassroots"], "under": [UPPER]}, reminder_plan={}, locked=True)
            session.add(rnd)
            session.flush()
            rounds[quarter] = rnd
            asked = sorted({c for by_q in FIGURES.values() for c in by_q.get(quarter, {})} | {"QXH_THU"})
            for position, code in enumerate(asked):  # a round's figures are those it asks for
                session.add(RoundIndicator(round_id=rnd.id, indicator_id=indicators[code].id, position=position))
        q4 = get_or_create_period(session, f"{year}-Q4")
        open_round = Round(code=OPEN_ROUND, title=OPEN_TITLE, period_id=q4.id,
                           opens_at=local_day_start(today - timedelta(days=10)),
                           deadline_at=local_day_end(today + timedelta(days=30)),
                           audience={"levels": ["grassroots"], "under": [UPPER]}, reminder_plan={})
        session.add(open_round)
        session.flush()
        for position, code in enumerate(["DV_TONG", "LD_TONG", "DV_MOI", "TT_CHINHSACH", "QXH_THU"]):
            session.add(RoundIndicator(round_id=open_round.id, indicator_id=indicators[code].id, position=position))
        for unit_code, by_quarter in FIGURES.items():
            for quarter, values in by_quarter.items():
                rnd = rounds[quarter]
                sub = Submission(round_id=rnd.id, unit_id=units[unit_code].id, reference=f"BC-{unit_code[-3:]}{quarter}",
                                 submitted_at=rnd.deadline_at - timedelta(days=2))
                session.add(sub)
                session.flush()
                for code, value in values.items():
                    session.add(SubmissionValue(submission_id=sub.id, indicator_id=indicators[code].id, value=value))
