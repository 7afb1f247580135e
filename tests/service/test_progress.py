"""Targets and progress arithmetic (bot.services.progress) against the demo database, with
figures written by the test (tests/ask_world.py) so every expected number is worked out here."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bot.clock import to_utc
from bot.db import session_scope
from bot.i18n import use_language
from bot.models import Indicator, Round, RoundIndicator, Submission, SubmissionValue, Unit
from bot.services import progress as prog
from bot.services.periods import get_or_create_period
import ask_world as world

NOW = to_utc(datetime(2026, 11, 21, 9, 0))
TODAY = date(2026, 11, 21)


@pytest.fixture
def session(demo_engine):
    world.build(demo_engine, 2026, TODAY)
    with Session(demo_engine) as s:
        yield s


def unit(session, code: str) -> Unit:
    return session.exec(select(Unit).where(Unit.code == code)).one()


def indicator(session, code: str) -> Indicator:
    return session.exec(select(Indicator).where(Indicator.code == code)).one()


def figure(session, unit_code: str, code: str, period: str = "2026") -> prog.Progress:
    return prog.progress(session, unit(session, unit_code), indicator(session, code),
                         prog.period_by_code(session, period))


def test_sum_adds_the_periods_reports(session):
    p = figure(session, "XT_001", "DV_MOI")
    assert p.target.value == 10 and p.target.period.code == "2026" and not p.target.common
    assert p.actual.value == 7  # 3 (Q1) + 4 (Q2)
    assert p.reached == Decimal(70) and p.missing == 3
    assert prog.format_percent(p.reached) == "70,0%"
    money = figure(session, "XT_001", "QXH_THU")
    assert money.actual.value == 2_500_000 and money.missing == 2_500_000
    assert prog.format_percent(money.reached) == "50,0%"


def test_quarter_question_uses_the_year_target_and_reports_the_quarter_apart(session):
    p = figure(session, "XT_001", "DV_MOI", "2026-Q2")
    assert p.target.period.code == "2026"  # no quarter target: the shortest period containing Q2
    assert p.actual.value == 7 and p.actual_in_period.value == 4


def test_snapshot_takes_the_latest_value_never_a_sum(session):
    p = figure(session, "XT_001", "DV_TONG")
    assert p.target is None  # no member target for a CĐCS in the demo
    assert p.actual.value == 55  # Q2's figure, not 50 + 55


def test_ratio_is_a_ratio_of_the_latest_figures_against_the_common_target(session):
    p = figure(session, "XT_001", "TT_CHINHSACH")
    assert p.target.common and p.target.unit.code == "LDLD_LC" and p.target.value == 98
    assert (p.actual.numerator, p.actual.denominator) == (45, 60)  # Q2's pair, same report
    assert p.actual.value == 75
    assert p.missing == 14  # ⌈0,98 × 60 − 45⌉ = ⌈13,8⌉


def test_subtree_rolls_up_sums_and_ratios_of_sums(session):
    p = figure(session, "LDLD_XT", "DV_MOI")
    assert p.target.value == 20 and p.actual.value == 10 and p.missing == 10  # 7 + 3
    assert p.actual.units == 2 and p.expected_units == 2
    ratio = figure(session, "LDLD_XT", "TT_CHINHSACH")
    # each unit's latest pair, added: (45 + 30) ÷ (60 + 40)
    assert (ratio.actual.numerator, ratio.actual.denominator) == (75, 100) and ratio.actual.value == 75


def test_yearly_report_is_not_added_to_the_quarters_it_covers(session, demo_engine):
    with session_scope(demo_engine) as s:
        year = get_or_create_period(s, "2026")
        rnd = Round(code="XT-YEAR", title="Năm", period_id=year.id, opens_at=NOW, deadline_at=NOW, audience={},
                    reminder_plan={})
        s.add(rnd)
        s.flush()
        sub = Submission(round_id=rnd.id, unit_id=unit(s, "XT_001").id, reference="BC-XTYEAR", submitted_at=NOW)
        s.add(sub)
        s.flush()
        s.add(SubmissionValue(submission_id=sub.id, indicator_id=indicator(s, "DV_MOI").id, value=8))
        s.add(RoundIndicator(round_id=rnd.id, indicator_id=indicator(s, "DV_MOI").id))
    session.expire_all()
    assert figure(session, "XT_001", "DV_MOI").actual.value == 8  # the year's own total, not 3 + 4 + 8


def test_share_yes_uses_the_sector_target_and_the_latest_answer(session, demo_engine):
    with session_scope(demo_engine) as s:
        rnd = s.exec(select(Round).where(Round.code == "XT-Q2")).one()
        sub = s.exec(select(Submission).where(Submission.round_id == rnd.id,
                                              Submission.unit_id == unit(s, "XT_001").id)).one()
        s.add(SubmissionValue(submission_id=sub.id, indicator_id=indicator(s, "QCDC").id, value=1))
        s.add(RoundIndicator(round_id=rnd.id, indicator_id=indicator(s, "QCDC").id, position=9))
    session.expire_all()
    p = figure(session, "XT_001", "QCDC")
    assert p.target.value == 80  # non-state sector: 80%, not the state sector's 100%
    assert p.actual.value == 100 and p.missing == 0
    public = figure(session, "XT_002", "QCDC")
    assert public.target.value == 100 and public.actual.value is None  # nothing reported: no figure, not 0


def test_no_target_and_no_data_say_so(session):
    p = figure(session, "XT_001", "DV_MOI", "2025")
    assert p.target is None and p.actual.value is None and p.reached is None and p.missing is None
    assert not prog.needs_report(p)


def test_targets_in_lists_own_and_applicable_common_targets(session):
    codes = [i.code for i, _t in prog.targets_in(session, unit(session, "XT_002"), prog.period_by_code(session, "2026"))]
    assert codes[:1] == ["DV_MOI"] and "TT_CHINHSACH" in codes and "QCDC" in codes
    assert "NU_CONG" not in codes and "HOC_NGHE" not in codes  # only for enterprises


def test_round_status_and_missing_units(session):
    rnd = session.exec(select(Round).where(Round.code == world.OPEN_ROUND)).one()
    status = prog.round_status(session, rnd, unit(session, "XT_001"), NOW)
    assert status.days_left == 30 and status.submission is None and status.can_report
    upper = prog.round_status(session, rnd, unit(session, "LDLD_XT"), NOW)
    assert (upper.submitted_units, upper.expected_units) == (0, 2) and not upper.can_report
    missing, total = prog.missing_units(session, rnd, unit(session, "LDLD_XT"))
    assert [u.code for u in missing] == ["XT_001", "XT_002"] and total == 2


def test_percent_format_has_one_decimal_in_both_languages():
    assert prog.format_percent(Decimal("86.36")) == "86,4%"
    assert prog.format_percent(Decimal(300)) == "300,0%"
    assert prog.format_percent(Decimal("0.05")) == "0,1%"
    with use_language("en"):
        assert prog.format_percent(Decimal("1234.56")) == "1,234.6%"
    assert prog.format_percent(None) == "—"


def test_vocabulary_reads_the_database(session):
    vocab = prog.vocabulary(session)
    codes = {c for c, _names in vocab.indicators}
    assert {"DV_MOI", "QXH_THU", "TULDTT"} <= codes
    assert any(u.code == "XT_001" for u in vocab.units) and "2023-2028" in vocab.terms
    names = dict(vocab.indicators)["KPCD_THU"]
    assert "KPCĐ" in names and "kinh phí" in names
