"""Roll-ups follow the tree of the round's period: a restructure changes the later periods only.

The demo province already went through the reorganisation of 01/07/2025 (its district
federations ended): its 2025 rounds are checked against a plain reading of the reports.
Then it is restructured again from 01/07/2026 (between Q2 and Q3): twenty CĐCS of the ward
union CDP_TP move to the commune union CDX_SH, TD_001 merges into TD_005, PT_001 closes.
Each figure after the change is compared with the figures of the same rounds computed
before it, unit by unit (no code under test computes the expected numbers).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from sqlmodel import Session, select

from bot.db import session_scope
from bot.models import Round, Unit
from bot.services import restructure, rollup
from bot.services.rollup import GROUP_BY_UNIT

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)
CHANGE = date(2026, 7, 1)
MOVED = ["TP_001", "TP_005"] + [f"TP_{i:03d}" for i in range(9, 27)]  # 20 CĐCS under CDP_TP


def snapshot(engine, round_code: str, root: str, *, by_unit: bool = False) -> dict:
    """Completeness and every indicator's total (or per-unit figures) of a round under a root."""
    with Session(engine) as session:
        rnd = session.exec(select(Round).where(Round.code == round_code)).one()
        root_id = session.exec(select(Unit.id).where(Unit.code == root)).one()
        roll = rollup.rollup_round(session, rnd, root_id, group_by=GROUP_BY_UNIT if by_unit else rollup.GROUP_BY_CHILD)
        codes = {u.id: u.code for u in session.exec(select(Unit)).all()}
        out = {"expected": roll.completeness.expected, "submitted": roll.completeness.submitted,
               "tree_day": roll.tree_day, "changed": roll.tree_changed}
        for result in roll.indicators:
            out[result.indicator.code] = (result.total.units, round(result.total.total, 6))
            if by_unit:
                out[result.indicator.code + "/units"] = {codes[g]: (f.units, f.total) for g, f in result.by_group.items()}
        return out


def restructure_demo(engine) -> None:
    actions = [restructure.Action("move", code, CHANGE, to="CDX_SH") for code in MOVED]
    actions += [restructure.Action("merge", "TD_001", CHANGE, to="TD_005"),
                restructure.Action("close", "PT_001", CHANGE)]
    with session_scope(engine) as session:
        result = restructure.plan(session, actions, NOW)
        assert result.ok, result.errors
        restructure.apply(session, result, actor="test", now=NOW)


def minus(before: dict, per_unit: dict, codes: list[str], indicator: str) -> tuple[int, float]:
    units, total = before[indicator]
    for code in codes:
        n, value = per_unit[indicator + "/units"].get(code, (0, 0.0))
        units, total = units - n, total - value
    return units, round(total, 6)


def plus(before: dict, per_unit: dict, codes: list[str], indicator: str) -> tuple[int, float]:
    units, total = before[indicator]
    for code in codes:
        n, value = per_unit[indicator + "/units"].get(code, (0, 0.0))
        units, total = units + n, total + value
    return units, round(total, 6)


SUMMED = ("DV_MOI", "KPCD_THU", "DP_THU", "DV_TONG", "LD_TONG")  # sums and snapshots add up across units


def test_a_past_period_keeps_the_tree_it_had(demo_engine):
    before = {(r, root): snapshot(demo_engine, r, root) for r in ("2026-Q2", "2026-Q3")
              for root in ("CDP_TP", "CDX_SH", "CDX_TD", "CDX_PT", "LDLD_LC")}
    tp_q3 = snapshot(demo_engine, "2026-Q3", "CDP_TP", by_unit=True)
    restructure_demo(demo_engine)

    # Q2 ended before the change: every figure of every scope is what it was
    for root in ("CDP_TP", "CDX_SH", "CDX_TD", "CDX_PT", "LDLD_LC"):
        after = snapshot(demo_engine, "2026-Q2", root)
        assert after["tree_day"] == date(2026, 6, 30) and after["changed"]
        assert {k: v for k, v in after.items() if k not in ("tree_day", "changed")} == \
               {k: v for k, v in before[("2026-Q2", root)].items() if k not in ("tree_day", "changed")}

    # Q3 ended after it: the moved units count under their new parent, with their figures
    old_parent = snapshot(demo_engine, "2026-Q3", "CDP_TP")
    new_parent = snapshot(demo_engine, "2026-Q3", "CDX_SH")
    assert old_parent["tree_day"] is None
    assert old_parent["expected"] == before[("2026-Q3", "CDP_TP")]["expected"] - len(MOVED)
    assert new_parent["expected"] == before[("2026-Q3", "CDX_SH")]["expected"] + len(MOVED)
    for code in SUMMED:
        assert old_parent[code] == minus(before[("2026-Q3", "CDP_TP")], tp_q3, MOVED, code), code
        assert new_parent[code] == plus(before[("2026-Q3", "CDX_SH")], tp_q3, MOVED, code), code
    # the province as a whole is unchanged by the move; the closed and merged units drop out of Q3
    province = snapshot(demo_engine, "2026-Q3", "LDLD_LC")
    assert province["expected"] == before[("2026-Q3", "LDLD_LC")]["expected"] - 2


def test_merged_pair_is_counted_once(demo_engine):
    td_q2 = snapshot(demo_engine, "2026-Q2", "CDX_TD", by_unit=True)
    td_q3 = snapshot(demo_engine, "2026-Q3", "CDX_TD", by_unit=True)
    restructure_demo(demo_engine)
    q2 = snapshot(demo_engine, "2026-Q2", "CDX_TD", by_unit=True)
    q3 = snapshot(demo_engine, "2026-Q3", "CDX_TD", by_unit=True)
    # before the merge both units' members count, each once
    assert q2["DV_TONG/units"]["TD_001"] == td_q2["DV_TONG/units"]["TD_001"]
    assert q2["DV_TONG"] == td_q2["DV_TONG"]
    # after it, the merged unit is no longer asked: its members are not added to the survivor's
    assert "TD_001" not in q3["DV_TONG/units"]
    assert q3["DV_TONG"] == minus(td_q3, td_q3, ["TD_001"], "DV_TONG")
    assert q3["expected"] == td_q3["expected"] - 1
    # but what it reported still counts, into the survivor: sums of the year are not lost
    for code in ("DV_MOI", "KPCD_THU", "DP_THU"):
        units, total = td_q3[code]
        survivor_units, survivor_total = td_q3[code + "/units"].get("TD_005", (0, 0.0))
        merged_units, merged_total = td_q3[code + "/units"]["TD_001"]
        assert merged_units == 1 and merged_total > 0, code  # the merged unit reported this year
        together = 1  # one unit now: the survivor, with both units' figures
        assert q3[code] == (units - survivor_units - merged_units + together, total), code
        assert q3[code + "/units"]["TD_005"] == (together, survivor_total + merged_total), code


def test_staff_may_ask_for_todays_tree(demo_engine):
    tp_q2 = snapshot(demo_engine, "2026-Q2", "CDP_TP", by_unit=True)
    restructure_demo(demo_engine)
    with rollup.current_tree():
        now_tree = snapshot(demo_engine, "2026-Q2", "CDP_TP")
    assert now_tree["tree_day"] is None and now_tree["changed"]
    assert now_tree["expected"] == tp_q2["expected"] - len(MOVED)
    for code in SUMMED:
        assert now_tree[code] == minus(tp_q2, tp_q2, MOVED, code), code
    assert snapshot(demo_engine, "2026-Q2", "CDP_TP")["expected"] == tp_q2["expected"]  # the choice does not stick


@pytest.mark.postgres
def test_the_past_tree_on_postgresql(pg_url):
    from bot.db import make_engine, upgrade
    from bot.demo import load_demo

    upgrade(pg_url)
    engine = make_engine(pg_url)
    with session_scope(engine) as session:
        load_demo(session)
    before = snapshot(engine, "2026-Q2", "CDP_TP")
    restructure_demo(engine)
    after = snapshot(engine, "2026-Q2", "CDP_TP")
    assert after["tree_day"] == date(2026, 6, 30)
    assert {k: v for k, v in after.items() if k not in ("tree_day", "changed")} == \
           {k: v for k, v in before.items() if k not in ("tree_day", "changed")}
    assert snapshot(engine, "2026-Q3", "CDP_TP")["expected"] == before["expected"] - len(MOVED)
    engine.dispose()


# ------------------------------------------------------------------ the demo's own reorganisation (01/07/2025)


def plain_reading(engine, round_code: str, unit_codes: set[str]) -> dict:
    """What the given units reported in one round, read straight from the tables: submissions, and
    every indicator's sum over the units."""
    from bot.models import Indicator, Submission, SubmissionValue

    with Session(engine) as session:
        rnd = session.exec(select(Round).where(Round.code == round_code)).one()
        rows = session.exec(
            select(Unit.code, Indicator.code, SubmissionValue.value)
            .join(Submission, Submission.unit_id == Unit.id)
            .join(SubmissionValue, SubmissionValue.submission_id == Submission.id)
            .join(Indicator, Indicator.id == SubmissionValue.indicator_id)
            .where(Submission.round_id == rnd.id)
        ).all()
    out: dict = {"submitted": len({u for u, _i, _v in rows if u in unit_codes})}
    for unit, indicator, value in rows:
        if unit in unit_codes and value is not None:
            units, total = out.get(indicator, (0, 0.0))
            out[indicator] = (units + 1, round(total + value, 6))
    return out


def codes_under(engine, parent: str, *, active: bool | None = None) -> set[str]:
    with Session(engine) as session:
        parent_id = session.exec(select(Unit.id).where(Unit.code == parent)).one()
        units = session.exec(select(Unit).where(Unit.parent_id == parent_id, Unit.level == "grassroots")).all()
    return {u.code for u in units if active is None or u.active == active}


def test_staff_see_a_2025_round_under_a_district_that_has_ended(demo_engine):
    """Q2/2025 was reported under LĐLĐ huyện Mường Tè (32 CĐCS); the roll-up of that round for the
    ended district uses the tree of 30/06/2025 and gives exactly what its CĐCS reported."""
    from bot.demo import build_tree

    district = {c for c, p in build_tree().parent_of.items() if p == "LDLD_MT"}
    assert len(district) == 32 and codes_under(demo_engine, "LDLD_MT") == {"MT_002", "MT_004"}  # only the ended stay
    got = snapshot(demo_engine, "2025-Q2", "LDLD_MT")
    expected = plain_reading(demo_engine, "2025-Q2", district)
    assert got["tree_day"] == date(2025, 6, 30) and got["changed"]
    assert got["expected"] == 32
    assert got["submitted"] == expected["submitted"] >= 25
    for code in ("DV_MOI", "DP_THU", "KPCD_THU", "DV_TONG", "LD_TONG"):  # one quarter: sums and snapshots add up
        assert got[code] == expected[code], code
    # the CĐCS that ended on 01/07/2025 reported Q2 and count in it
    with_ended = plain_reading(demo_engine, "2025-Q2", {"MT_002", "MT_004"})
    assert with_ended["submitted"] >= 1
    # the whole province in Q2/2025: the 300 CĐCS of that day
    assert snapshot(demo_engine, "2025-Q2", "LDLD_LC")["expected"] == 300


def test_rounds_after_the_change_go_to_the_new_tree(demo_engine):
    """From Q3/2025 the ended district has no CĐCS; the commune union that replaced it has the 26 that
    moved under it, with what they reported; the province asks the 286 CĐCS of today."""
    now_mt = codes_under(demo_engine, "CDX_MT", active=True)
    assert len(now_mt) == 26
    for round_code in ("2025-Q3", "2026-Q3"):
        old = snapshot(demo_engine, round_code, "LDLD_MT")
        assert old["expected"] == 0 and old["submitted"] == 0, round_code
        new = snapshot(demo_engine, round_code, "CDX_MT")
        expected = plain_reading(demo_engine, round_code, now_mt)
        assert new["tree_day"] is None and not new["changed"], round_code  # no change after these periods
        assert new["expected"] == 26 and new["submitted"] == expected["submitted"] > 0, round_code
        for code in ("DP_THU", "KPCD_THU", "LD_TONG"):
            assert new[code] == expected[code], (round_code, code)
        assert snapshot(demo_engine, round_code, "LDLD_LC")["expected"] == 286, round_code
    # before the change the commune union had no CĐCS
    assert snapshot(demo_engine, "2025-Q2", "CDX_MT")["expected"] == 0
