"""One engine: the staff view of a round over a scope (rollup) and a unit's progress (progress)
answer the same question the same way — for every round × scope × indicator of the demo and of
generated provinces — and both say which window their figure covers."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from bot.db import session_scope
from bot.models import Indicator, Level, Period, Round, Unit
from bot.services import figures, progress as prog, rollup
from generated_province import generate

TODAY = date(2026, 11, 21)


def _scopes(session: Session, root_code: str) -> list[Unit]:
    root = session.exec(select(Unit).where(Unit.code == root_code)).one()
    uppers = list(session.exec(select(Unit).where(Unit.parent_id == root.id, Unit.level == Level.UPPER)
                               .order_by(Unit.code)).all())
    some_grassroots = list(session.exec(select(Unit).where(Unit.level == Level.GRASSROOTS, Unit.active == True)  # noqa: E712
                                        .order_by(Unit.code)).all())[::37][:4]
    return [root, *uppers, *some_grassroots]


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(float(a) - float(b)) < 1e-6)


def crosscheck(session: Session, root_code: str, rounds: list[Round]) -> int:
    """Compare both views everywhere; return how many comparisons were made (fails on the first difference)."""
    compared = 0
    for rnd in rounds:
        period = session.get(Period, rnd.period_id)
        for scope in _scopes(session, root_code):
            staff = rollup.rollup_round(session, rnd, scope.id)
            chair = {p.indicator.code: p for p in prog.progresses(session, scope, rollup.round_indicator_list(session, rnd),
                                                                  period, ask=rnd)}
            for result in staff.indicators:
                p = chair[result.indicator.code]
                where = f"{rnd.code} × {scope.code} × {result.indicator.code}"
                assert _same(p.actual.value, result.total.value), where
                assert p.actual.units == result.total.units, where
                assert _same(p.target.value if p.target else None, result.target()), where
                assert _same(p.reached, result.attainment()), where
                assert p.window == result.span, where
                assert p.window_text(TODAY) == figures.window_text(result.span, TODAY), where
                compared += 1
    return compared


def test_both_views_agree_on_the_demo(demo_engine):
    with Session(demo_engine) as session:
        rounds = list(session.exec(select(Round).order_by(Round.code)).all())
        assert crosscheck(session, "LDLD_LC", rounds) >= 144


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_both_views_agree_on_a_generated_province(engine, seed):
    with session_scope(engine) as session:
        generate(session, seed)
    with Session(engine) as session:
        rounds = list(session.exec(select(Round).order_by(Round.code)).all())
        assert crosscheck(session, "GP", rounds) > 100


def _one(session: Session, code: str, unit_code: str, period_code: str, rnd: Round | None = None) -> prog.Progress:
    unit = session.exec(select(Unit).where(Unit.code == unit_code)).one()
    ind = session.exec(select(Indicator).where(Indicator.code == code)).one()
    return prog.progress(session, unit, ind, prog.period_by_code(session, period_code), ask=rnd)


def test_new_members_of_the_province_as_of_the_round_and_so_far(demo_engine):
    """Was: /tonghop 2026-Q2 said 500 and /tiendo 737 — one counted to the end of the round, the other to now."""
    with Session(demo_engine) as session:
        rnd = session.exec(select(Round).where(Round.code == "2026-Q2")).one()
        province = session.exec(select(Unit).where(Unit.code == "LDLD_LC")).one()
        staff = rollup.rollup_round(session, rnd, province.id).indicator("DV_MOI")
        as_of_q2 = _one(session, "DV_MOI", "LDLD_LC", "2026-Q2")
        so_far = _one(session, "DV_MOI", "LDLD_LC", "2026")
        assert as_of_q2.actual.value == staff.total.value  # the same question, the same answer
        assert as_of_q2.window_text(TODAY) == figures.window_text(staff.span, TODAY) == "tính đến 30/06/2026"
        assert so_far.actual.value > as_of_q2.actual.value  # Q3 counts too, and the answer says so
        assert so_far.window_text(TODAY) == "từ đầu năm đến nay"
        assert so_far.target.value == as_of_q2.target.value == staff.target()


def test_democracy_regulation_target_is_the_blend_of_the_sector_targets_in_both_views(demo_engine):
    """Was: /tonghop blended the per-sector QCDC targets (97,7%) and /tiendo found no target at all."""
    with Session(demo_engine) as session:
        rnd = session.exec(select(Round).where(Round.code == "2026-NAM")).one()
        province = session.exec(select(Unit).where(Unit.code == "LDLD_LC")).one()
        staff = rollup.rollup_round(session, rnd, province.id).indicator("QCDC")
        chair = _one(session, "QCDC", "LDLD_LC", "2026")
        assert chair.target is not None and chair.target.value == pytest.approx(staff.target())
        assert 80 < chair.target.value < 100  # 100% for state CĐCS, 80% for non-state, weighted by units
        assert prog.format_percent(chair.target.value) == prog.format_percent(staff.target())


def test_too_little_coverage_shows_no_attainment(demo_engine):
    """A roll-up over 1 of 32 units does not read "đạt 117,6%": it says there are not enough figures yet."""
    from bot.i18n import use_language
    from handlers.staff import indicator_line

    with Session(demo_engine) as session:
        rnd = session.exec(select(Round).where(Round.code == "2026-Q3")).one()
        province = session.exec(select(Unit).where(Unit.code == "LDLD_LC")).one()
        result = rollup.rollup_round(session, rnd, province.id).indicator("DV_MOI")
        with use_language("vi"):
            full = " ".join(indicator_line(result, False, TODAY))
            assert "đạt 89,5% chỉ tiêu" in full and "285/286 đơn vị đã báo cáo" in full
            result.total.units = 1  # as if one unit of 286 had reported
            thin = " ".join(indicator_line(result, False, TODAY))
            assert "chưa đủ số liệu" in thin and "chỉ tiêu ·" not in thin and "1/286 đơn vị đã báo cáo" in thin
            assert "đạt" not in thin.split("—", 1)[1]
            assert "chưa đủ số liệu" not in " ".join(indicator_line(result, False, TODAY, min_coverage=0))
