"""Roll-ups follow the tree of the round's period: a restructure changes the later periods only.

The demo province is restructured from 01/07/2026 (between Q2 and Q3): twenty CĐCS of the
Tam Đường federation… here LDLD_TP move to LDLD_SH, TD_001 merges into TD_002, PT_001 closes.
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
MOVED = [f"TP_{i:03d}" for i in range(1, 21)]


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
    actions = [restructure.Action("move", code, CHANGE, to="LDLD_SH") for code in MOVED]
    actions += [restructure.Action("merge", "TD_001", CHANGE, to="TD_002"),
                restructure.Action("close", "PT_001", CHANGE)]
    with session_scope(engine) as session:
        result = restructure.plan(session, actions, NOW)
        assert result.ok
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
              for root in ("LDLD_TP", "LDLD_SH", "LDLD_TD", "LDLD_PT", "LDLD_LC")}
    tp_q3 = snapshot(demo_engine, "2026-Q3", "LDLD_TP", by_unit=True)
    restructure_demo(demo_engine)

    # Q2 ended before the change: every figure of every scope is what it was
    for root in ("LDLD_TP", "LDLD_SH", "LDLD_TD", "LDLD_PT", "LDLD_LC"):
        after = snapshot(demo_engine, "2026-Q2", root)
        assert after["tree_day"] == date(2026, 6, 30) and after["changed"]
        assert {k: v for k, v in after.items() if k not in ("tree_day", "changed")} == \
               {k: v for k, v in before[("2026-Q2", root)].items() if k not in ("tree_day", "changed")}

    # Q3 ended after it: the moved units count under their new parent, with their figures
    old_parent = snapshot(demo_engine, "2026-Q3", "LDLD_TP")
    new_parent = snapshot(demo_engine, "2026-Q3", "LDLD_SH")
    assert old_parent["tree_day"] is None
    assert old_parent["expected"] == before[("2026-Q3", "LDLD_TP")]["expected"] - len(MOVED)
    assert new_parent["expected"] == before[("2026-Q3", "LDLD_SH")]["expected"] + len(MOVED)
    for code in SUMMED:
        assert old_parent[code] == minus(before[("2026-Q3", "LDLD_TP")], tp_q3, MOVED, code), code
        assert new_parent[code] == plus(before[("2026-Q3", "LDLD_SH")], tp_q3, MOVED, code), code
    # the province as a whole is unchanged by the move; the closed and merged units drop out of Q3
    province = snapshot(demo_engine, "2026-Q3", "LDLD_LC")
    assert province["expected"] == before[("2026-Q3", "LDLD_LC")]["expected"] - 2


def test_merged_pair_is_counted_once(demo_engine):
    td_q2 = snapshot(demo_engine, "2026-Q2", "LDLD_TD", by_unit=True)
    td_q3 = snapshot(demo_engine, "2026-Q3", "LDLD_TD", by_unit=True)
    restructure_demo(demo_engine)
    q2 = snapshot(demo_engine, "2026-Q2", "LDLD_TD", by_unit=True)
    q3 = snapshot(demo_engine, "2026-Q3", "LDLD_TD", by_unit=True)
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
        survivor_units, survivor_total = td_q3[code + "/units"].get("TD_002", (0, 0.0))
        merged_units, merged_total = td_q3[code + "/units"]["TD_001"]
        assert merged_units == 1 and merged_total > 0, code  # the merged unit reported this year
        together = 1  # one unit now: the survivor, with both units' figures
        assert q3[code] == (units - survivor_units - merged_units + together, total), code
        assert q3[code + "/units"]["TD_002"] == (together, survivor_total + merged_total), code


def test_staff_may_ask_for_todays_tree(demo_engine):
    tp_q2 = snapshot(demo_engine, "2026-Q2", "LDLD_TP", by_unit=True)
    restructure_demo(demo_engine)
    with rollup.current_tree():
        now_tree = snapshot(demo_engine, "2026-Q2", "LDLD_TP")
    assert now_tree["tree_day"] is None and now_tree["changed"]
    assert now_tree["expected"] == tp_q2["expected"] - len(MOVED)
    for code in SUMMED:
        assert now_tree[code] == minus(tp_q2, tp_q2, MOVED, code), code
    assert snapshot(demo_engine, "2026-Q2", "LDLD_TP")["expected"] == tp_q2["expected"]  # the choice does not stick


@pytest.mark.postgres
def test_the_past_tree_on_postgresql(pg_url):
    from bot.db import make_engine, upgrade
    from bot.demo import load_demo

    upgrade(pg_url)
    engine = make_engine(pg_url)
    with session_scope(engine) as session:
        load_demo(session)
    before = snapshot(engine, "2026-Q2", "LDLD_TP")
    restructure_demo(engine)
    after = snapshot(engine, "2026-Q2", "LDLD_TP")
    assert after["tree_day"] == date(2026, 6, 30)
    assert {k: v for k, v in after.items() if k not in ("tree_day", "changed")} == \
           {k: v for k, v in before.items() if k not in ("tree_day", "changed")}
    assert snapshot(engine, "2026-Q3", "LDLD_TP")["expected"] == before["expected"] - len(MOVED)
    engine.dispose()
