"""Completeness, roll-ups and scoring on a small hand-built province, every figure worked out by hand.

The world (round R2 = 2026-Q2 is the one looked at; R1 = 2026-Q1 came before):

    PROV (province)
    ├── U1 (upper)  A hcsn · B ngoainn · F hcsn
    └── U2 (upper)  C dnnn · D ngoainn · E hcsn

    values        MEM   NEW   FUND        WORK  INFO  QC
    R1  A (on)    100     5   1.000.000    120    60   có
        B (late)   50     2     500.000     80    80   không
        C (on)     30     1     300.000     40    20   có
        D, E, F: no report
    R2  A (on)    110    10   2.000.000    120   120   có
        C (late)   35     5     100.000     50    25   có
        D (on)     20     0           0     20    10   không
        F (on)      —     3           —      —     —   —      (skipped all but NEW)
        B, E: no report

    MEM snapshot · NEW, FUND sum · WORK snapshot · INFO ratio of WORK · QC share of "có"

    targets of PROV: MEM 200 (term 2023-2028) · NEW 40 (2026) · FUND 4.000.000 (2026-Q2)
                     INFO 80% (2026) · QC 100% hcsn, 100% dnnn, 50% ngoainn (2026)
    targets of U1: NEW 20 (2026); U2: NEW 10 (2026); A: NEW 10; C: NEW 10; F: NEW 4 (2026)
"""

from __future__ import annotations

import math
import shutil
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.db import make_engine, session_scope, upgrade
from bot.models import (
    Indicator,
    IndicatorKind,
    Level,
    Round,
    RoundIndicator,
    Rollup,
    Submission,
    SubmissionValue,
    Target,
    Unit,
)
from bot.services import rollup, scoring
from bot.services.periods import get_or_create_period
from pg_databases import fresh_pg_database

from rollup_world import (  # noqa: F401  (fixtures and helpers)
    UTC,
    INDICATORS,
    UNITS,
    TARGETS,
    add_round,
    build_world,
    pg_world,
    world_template,
    sqlite_world,
    world,
    unit_id,
    roll,
    by_code,
    group,
)


def test_completeness_on_time_late_missing_per_upper_union_and_total(world):
    r = roll(world)
    # R2 expects the six CĐCS: A, D, F on time; C late; B and E missing.
    c = r.completeness
    assert (c.expected, c.on_time, c.late, c.missing, c.submitted) == (6, 3, 1, 2, 4)
    assert [u.code for u in r.groups.values()] == ["U1", "U2"]
    u1, u2 = r.completeness_by_group[group(r, "U1")], r.completeness_by_group[group(r, "U2")]
    assert (u1.on_time, u1.late, u1.missing) == (2, 0, 1)  # A, F on time; B missing
    assert (u2.on_time, u2.late, u2.missing) == (1, 1, 1)  # D on time; C late; E missing
    assert math.isclose(c.share, 100 * 4 / 6)


def test_officer_scope_is_their_union_only(world):
    r = roll(world, root="U2")
    assert [u.code for u in r.groups.values()] == ["C", "D", "E"]  # an upper union's groups are its CĐCS
    assert (r.completeness.expected, r.completeness.missing) == (3, 1)
    assert by_code(r)["NEW"].total.value == 6  # C: 1 + 5, D: 0 (E missing)


# --------------------------------------------------------------------------- the rules


def test_sums_add_up_across_units_and_the_periods_of_the_target(world):
    new = by_code(roll(world))["NEW"]
    # The target is for the year 2026, so R1 and R2 both count:
    # A 5 + 10, B 2 (R1 only), C 1 + 5, D 0, F 3 = 26; E never reported — missing, not zero.
    assert new.cumulative and new.window.code == "2026"
    assert (new.total.value, new.total.units, new.expected, new.missing) == (26, 5, 6, 1)
    assert new.target() == 40 and math.isclose(new.attainment(), 65.0)  # 26 ÷ 40
    fund = by_code(roll(world))["FUND"]
    # FUND's target is for 2026-Q2 itself: only R2 counts: 2.000.000 + 100.000 + 0 = 2.100.000 (F skipped it).
    assert not fund.cumulative
    assert (fund.total.value, fund.total.units) == (2_100_000, 3)
    assert math.isclose(fund.attainment(), 52.5)  # 2.100.000 ÷ 4.000.000


def test_snapshot_takes_each_units_latest_value_never_a_sum_over_periods(world):
    mem = by_code(roll(world))["MEM"]
    # Term target 2023-2028: each unit's latest: A 110 (R2), B 50 (R1), C 35 (R2), D 20 (R2) = 215.
    # (Adding the periods would give 100 + 110 + 50 + 30 + 35 + 20 = 345.)
    assert (mem.total.value, mem.total.units) == (215, 4)
    assert math.isclose(mem.attainment(), 107.5)  # 215 ÷ 200
    assert by_code(roll(world, "R1"))["MEM"].total.value == 180  # as of Q1: 100 + 50 + 30
    work = by_code(roll(world))["WORK"]
    # WORK has no target: compared over the round's own quarter: 120 + 50 + 20 = 190 from 3 units.
    assert (work.total.value, work.total.units, work.cumulative) == (190, 3, False)


def test_percentages_are_ratios_of_sums_never_averages_of_percentages(world):
    info = by_code(roll(world))["INFO"]
    # Latest numerator and denominator of each unit in 2026: A 120/120, B 80/80 (R1), C 25/50, D 10/20.
    # Σ 235 ÷ Σ 270 = 87,04%; the average of the four percentages would be (100+100+50+50)/4 = 75%.
    assert (info.total.total, info.total.denominator, info.total.units) == (235, 270, 4)
    assert math.isclose(info.total.value, 100 * 235 / 270)
    assert math.isclose(info.attainment(), 100 * (235 / 270) / 0.80)
    u2 = info.by_group[group(roll(world), "U2")]
    assert math.isclose(u2.value, 100 * 35 / 70)  # (25 + 10) ÷ (50 + 20) = 50%


def test_yes_no_is_the_share_of_units_saying_yes_split_by_sector(world):
    qc = by_code(roll(world))["QC"]
    # Latest answers: A có (hcsn), B không (ngoainn, R1), C có (dnnn), D không (ngoainn); F skipped, E missing.
    assert (qc.total.yes, qc.total.units, qc.total.value) == (2, 4, 50.0)
    sectors = {s: (f.yes, f.units, f.value) for s, f in qc.by_sector.items()}
    assert sectors == {"hcsn": (1, 1, 100.0), "dnnn": (1, 1, 100.0), "ngoainn": (0, 2, 0.0)}
    assert qc.targets.by_sector == {"hcsn": 100, "dnnn": 100, "ngoainn": 50}
    # One target for the mix of answering units: (1 × 100 + 1 × 100 + 2 × 50) ÷ 4 = 75%; 50 ÷ 75 = 66,7%.
    assert math.isclose(qc.target(), 75.0)
    assert math.isclose(qc.attainment(), 100 * 50 / 75)


def test_missing_units_are_not_counted_as_zero(world):
    r = by_code(roll(world))
    assert r["WORK"].total.units == 3 and r["WORK"].missing == 3  # B, E, F gave no WORK in Q2
    assert r["QC"].total.units == 4  # a share over 4 answers, not over 6 expected units


def test_a_yearly_round_and_a_repeated_quarter_do_not_double_count(sqlite_world):
    world = sqlite_world
    with session_scope(world) as s:
        # A yearly round asks NEW again: its figures do not add up with the quarters'.
        add_round(s, "YR", "2026", date(2026, 12, 20), {"A": (False, dict(NEW=100))}, ["NEW"])
        # A second round for 2026-Q2 with a later deadline: A's figure for that quarter is the later one.
        add_round(s, "R2B", "2026-Q2", date(2026, 7, 30), {"A": (False, dict(NEW=7))}, ["NEW"])
    new = by_code(roll(world))["NEW"]
    assert new.total.value == 26 - 10 + 7  # A's Q2 now counts 7 instead of 10; the yearly 100 not at all


def test_national_view_groups_by_province(world):
    r = roll(world, root=None)
    assert [u.code for u in r.groups.values()] == ["PROV"]
    assert r.completeness.expected == 6 and by_code(r)["WORK"].total.value == 190


# --------------------------------------------------------------------------- scoring


def test_scores_of_upper_unions_with_capped_attainment_and_inherited_percent_targets(world):
    with Session(world) as s:
        rnd = s.exec(select(Round).where(Round.code == "R2")).one()
        ranking = scoring.rank(s, rnd, unit_id(s, "PROV"))
    entries = {e.unit.code: e for e in ranking.entries}
    parts = {c: {p.indicator.code: round(p.attainment, 2) for p in e.parts} for c, e in entries.items()}
    # MEM and FUND: only PROV has targets, and absolute targets are not handed down → left out.
    # U1: NEW (5 + 10) + 2 + 3 = 20 of 20 → 100%; INFO (120 + 80) ÷ (120 + 80) = 100% of 80% → 125%, capped 100;
    #     QC A có, B không = 50% of (100 + 50) ÷ 2 = 75% → 66,67%.  Score (100 + 100 + 66,67) ÷ 3 = 88,89.
    assert parts["U1"] == {"NEW": 100.0, "INFO": 125.0, "QC": 66.67}
    assert math.isclose(entries["U1"].score, (100 + 100 + 100 * 50 / 75) / 3)
    # U2: NEW 6 of 10 → 60%; INFO 35 ÷ 70 = 50% of 80% → 62,5%; QC C có, D không = 50% of 75% → 66,67%.
    assert parts["U2"] == {"NEW": 60.0, "INFO": 62.5, "QC": 66.67}
    assert math.isclose(entries["U2"].score, (60 + 62.5 + 100 * 50 / 75) / 3)
    assert [(e.unit.code, e.rank) for e in ranking.entries] == [("U1", 1), ("U2", 2)]


def test_weights_are_data_and_zero_leaves_an_indicator_out(sqlite_world):
    world = sqlite_world
    with session_scope(world) as s:
        assert scoring.set_weights(s, {"NEW": 2, "QC": 0}) == 2
    with Session(world) as s:
        rnd = s.exec(select(Round).where(Round.code == "R2")).one()
        ranking = scoring.rank(s, rnd, unit_id(s, "PROV"))
    scores = {e.unit.code: e.score for e in ranking.entries}
    assert math.isclose(scores["U1"], (2 * 100 + 100) / 3)  # NEW ×2, INFO capped 100, QC left out
    assert math.isclose(scores["U2"], (2 * 60 + 62.5) / 3)
    with session_scope(world) as s, pytest.raises(scoring.WeightError):
        scoring.set_weights(s, {"NOPE": 1})


def test_cdcs_ranking_missing_figures_count_zero_and_no_figures_is_unranked(world):
    with Session(world) as s:
        rnd = s.exec(select(Round).where(Round.code == "R2")).one()
        u1 = scoring.rank(s, rnd, unit_id(s, "U1"))
        u2 = scoring.rank(s, rnd, unit_id(s, "U2"))
    scores = {e.unit.code: (e.rank, round(e.score, 2) if e.score is not None else None, len(e.missing))
              for e in u1.entries}
    # A: NEW 15 of 10 → 150% capped 100; INFO 100% of 80 → capped 100; QC có → 100.       Score 100.
    # B: no own NEW target (left out); INFO 80/80 (from R1) → 100; QC không (target 50) → 0.  Score 50.
    # F: NEW 3 of 4 → 75%; INFO and QC skipped → 0 each, listed missing.        Score 25.
    assert scores == {"A": (1, 100.0, 0), "B": (2, 50.0, 0), "F": (3, 25.0, 2)}
    by_unit = {e.unit.code: e for e in u2.entries}
    assert by_unit["E"].rank is None and by_unit["E"].score is None  # never reported: not ranked
    assert u2.entries[-1].unit.code == "E"
    # C: NEW 6 of 10 → 60; INFO 25/50 = 50% of 80 → 62,5; QC có → 100.  D: INFO 62,5, QC 0 → 31,25.
    assert math.isclose(by_unit["C"].score, (60 + 62.5 + 100) / 3)
    assert math.isclose(by_unit["D"].score, (62.5 + 0) / 2)


def test_equal_scores_share_a_rank():
    def entry(code: str, value: float) -> scoring.Entry:
        ind = Indicator(id=1, code="X", name_vi="X")
        return scoring.Entry(unit=Unit(code=code, name=code),
                             parts=[scoring.Part(ind, 1.0, 100.0, value, value)])
    ranked = scoring.assign_ranks([entry("D", 70), entry("B", 90), entry("A", 90), entry("C", 80),
                                   scoring.Entry(unit=Unit(code="E", name="E"))])
    assert [(e.unit.code, e.rank, e.tied) for e in ranked] == [
        ("A", 1, True), ("B", 1, True), ("C", 3, False), ("D", 4, False), ("E", None, False)]


# --------------------------------------------------------------------------- the demo province, cross-checked


def test_demo_rollup_matches_a_plain_python_count(demo_engine):
    """The SQL roll-up of Q3 against a direct reading of every row (a second, naive implementation)."""
    with Session(demo_engine) as s:
        rnd = s.exec(select(Round).where(Round.code == "2026-Q3")).one()
        province = s.exec(select(Unit).where(Unit.code == "LDLD_LC")).one()
        result = rollup.rollup_round(s, rnd, province.id)
        grassroots = {u.id for u in s.exec(select(Unit).where(Unit.level == "grassroots", Unit.active == True))}  # noqa: E712
        subs = s.exec(select(Submission).where(Submission.round_id == rnd.id)).all()
        assert result.completeness.expected == len(grassroots) == 286
        assert result.completeness.submitted == len(subs)
        assert result.completeness.late == sum(1 for x in subs if x.late)
        ind = {i.code: i.id for i in s.exec(select(Indicator)).all()}
        rounds = {r.code: r.id for r in s.exec(select(Round)).all()}
        rows = s.exec(select(Submission.unit_id, Submission.round_id, SubmissionValue.indicator_id, SubmissionValue.value)
                      .join(SubmissionValue, SubmissionValue.submission_id == Submission.id)).all()
    values: dict[tuple[str, int], dict[int, float]] = {}
    for unit, round_id, indicator, value in rows:
        if value is not None:
            values.setdefault((next(c for c, i in rounds.items() if i == round_id), indicator), {})[unit] = value
    r = by_code(result)
    q3 = lambda code: values.get(("2026-Q3", ind[code]), {})  # noqa: E731
    assert r["DP_THU"].total.value == sum(q3("DP_THU").values())  # a sum over the quarter
    assert r["LD_TONG"].total.value == sum(q3("LD_TONG").values())  # no target: the quarter's snapshot
    year = ["2026-Q1", "2026-Q2", "2026-Q3"]
    assert r["DV_MOI"].total.value == sum(sum(values.get((q, ind["DV_MOI"]), {}).values()) for q in year)
    # DV_TONG's target is the term's (2023–2028): each active unit's latest member count since 2024-Q1
    term = [f"{y}-Q{q}" for y in (2024, 2025) for q in (1, 2, 3, 4)] + year
    latest = {}
    for q in term:  # later quarters overwrite: each unit's latest member count
        latest.update({u: v for u, v in values.get((q, ind["DV_TONG"]), {}).items() if u in grassroots})
    assert r["DV_TONG"].total.value == sum(latest.values()) and r["DV_TONG"].total.units == len(latest)
