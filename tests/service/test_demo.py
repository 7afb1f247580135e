"""Tests for bot.demo: the Lai Châu demo province loads, is plausible and is idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import LOCAL_TZ, to_local, to_utc
from bot.db import make_engine, session_scope
from bot.demo import build_tree, catalogue_path, load_demo
from bot.services.imports import read_table
from bot.models import (
    AuditLog,
    Indicator,
    Period,
    Round,
    RoundIndicator,
    Target,
    Unit,
    UnitEvent,
)

TABLES = (Unit, UnitEvent, Indicator, Period, Target, Round, RoundIndicator, AuditLog)
CATALOGUE = (
    "DV_TONG", "DV_NU", "LD_TONG", "DV_MOI", "CDCS_MOI", "TT_CHINHSACH", "HOC_NGHE", "QCDC", "GT_DANG",
    "NU_CONG", "QXH_NGUOI", "QXH_THU", "KPCD_THU", "DP_THU", "CT_DAOTAO", "TULDTT", "QUA_TET_SUAT",
    "QUA_TET_TIEN", "MAI_AM", "TL_SINHHOAT",
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, demo_build) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """One demo database for the whole module: a copy of the session's demo template, which
    load_demo wrote into an empty migrated database (what it reported is kept as info_summary)."""
    template, summary = demo_build
    path: Path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    shutil.copyfile(template, path)
    eng = make_engine(f"sqlite:///{path}")
    assert summary.changed
    eng.info_summary = summary  # type: ignore[attr-defined]
    yield eng
    eng.dispose()


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {t.__name__: session.exec(select(func.count()).select_from(t)).one() for t in TABLES}


def test_tree_shape(engine: Engine) -> None:
    """Today's tree: the province, CĐ Viên chức and 7 commune/ward unions above 286 active CĐCS; the
    7 district federations and 14 CĐCS have ended (closed or merged) but are kept."""
    with Session(engine) as session:
        all_units = session.exec(select(Unit)).all()
    by_level: dict[str, list[Unit]] = {}
    for unit in all_units:
        if unit.active:
            by_level.setdefault(unit.level, []).append(unit)
    (province,) = by_level["province"]
    assert (province.code, province.name) == ("LDLD_LC", "Liên đoàn Lao động tỉnh Lai Châu")
    uppers = by_level["upper"]
    assert sorted(u.code for u in uppers) == sorted(["CDVC_LC", "CDP_TP", "CDX_TD", "CDX_PT", "CDX_SH", "CDX_MT",
                                                     "CDX_THU", "CDX_TNU"])
    assert all(u.parent_id == province.id for u in uppers)
    assert all(u.contact for u in uppers)
    assert any(u.name == "Công đoàn xã Tam Đường" for u in uppers)
    ended = {u.code for u in all_units if not u.active}
    assert {c for c in ended if c.startswith("LDLD_")} == {"LDLD_TP", "LDLD_TD", "LDLD_PT", "LDLD_SH", "LDLD_MT",
                                                          "LDLD_THU", "LDLD_TNU"}
    assert len(ended) == 7 + 14
    merged = {u.code: u.merged_into_id for u in all_units if u.merged_into_id}
    code_of = {u.id: u.code for u in all_units}
    assert {c: code_of[m] for c, m in merged.items()} == {"TP_002": "TP_028", "THU_002": "THU_024"}
    grassroots = by_level["grassroots"]
    assert len(grassroots) == 286
    parent_ids = {u.id for u in uppers} | {province.id}
    assert all(g.parent_id in parent_ids for g in grassroots)
    assert sum(1 for g in grassroots if g.parent_id == province.id) == 31  # 7 × (THPT, Trung tâm Y tế) + 17 DNNN
    assert all(g.sector in ("hcsn", "dnnn", "ngoainn") for g in grassroots)
    sectors = [g.sector for g in grassroots]
    assert sectors.count("hcsn") > len(grassroots) / 2
    assert sectors.count("dnnn") > 0 and sectors.count("ngoainn") > 0
    members = sum(g.members_hint or 0 for g in grassroots)
    assert members == 24_200
    assert all((g.members_hint or 0) > 0 for g in grassroots)
    assert len({g.name for g in grassroots}) == len(grassroots)
    summary = engine.info_summary  # type: ignore[attr-defined]
    assert summary.grassroots_units == len(grassroots)
    assert summary.members == members


def test_the_reorganisation_is_a_dated_restructure(engine: Engine) -> None:
    """On 01/07/2025 every CĐCS of a district federation moved, closed or merged (one UnitEvent each, by
    the restructure service: an audit row per change), then the district closed; before that day the
    tree was the seeds' shape, with 300 CĐCS under 7 districts and CĐ Viên chức."""
    from bot.services.tree import tree_on

    change = to_utc(datetime(2025, 7, 1, tzinfo=LOCAL_TZ))
    with Session(engine) as session:
        units = {u.id: u for u in session.exec(select(Unit)).all()}
        by_code = {u.code: u for u in units.values()}
        events = session.exec(select(UnitEvent).where(UnitEvent.kind != "created")).all()
        audits = session.exec(select(AuditLog).where(AuditLog.action.like("unit.%"))).all()  # type: ignore[attr-defined]
        before, after = tree_on(session, date(2025, 6, 30)), tree_on(session, date(2025, 7, 1))
    assert all(e.at == change and e.actor == "demo" for e in events)
    kinds: dict[str, int] = {}
    for e in events:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    assert kinds == {"moved": 244, "closed": 7 + 12, "merged": 2}  # 7 districts, 7 + 5 CĐCS closed
    assert len(audits) == 244 + 19 + 2
    districts = [c for c in by_code if c.startswith("LDLD_") and c != "LDLD_LC"]
    under = {d: [uid for uid, p in before.parent.items() if p == by_code[d].id and before.active[uid]]
             for d in districts + ["CDVC_LC"]}
    assert sum(len(v) for v in under.values()) == 300
    assert len(under["LDLD_MT"]) == 32 and len(under["CDVC_LC"]) == 42
    assert all(before.active[by_code[d].id] and not after.active[by_code[d].id] for d in districts)
    mt = by_code["CDX_MT"]
    assert [uid for uid, p in before.parent.items() if p == mt.id] == []
    now_mt = sorted(units[uid].code for uid, p in after.parent.items() if p == mt.id and after.active[uid])
    assert len(now_mt) == 26 and set(now_mt) <= {units[u].code for u in under["LDLD_MT"]}
    # the Mường Tè CĐCS that did not go under the commune union: the district's offices closed, its
    # health centre, school and state firms went directly under the province
    rest = {units[u].code for u in under["LDLD_MT"]} - set(now_mt)
    province = by_code["LDLD_LC"].id
    assert {c: (by_code[c].name, by_code[c].parent_id == province, by_code[c].active) for c in rest} == {
        "MT_002": ("Văn phòng HĐND và UBND huyện Mường Tè", False, False),
        "MT_004": ("Phòng Giáo dục và Đào tạo huyện Mường Tè", False, False),
        "MT_003": ("Trung tâm Y tế huyện Mường Tè", True, True), "MT_006": ("Trường THPT Mường Tè", True, True),
        "MT_007": ("Trung tâm Viễn thông Mường Tè", True, True), "MT_008": ("Điện lực Mường Tè", True, True)}


def test_build_tree_is_deterministic() -> None:
    assert build_tree().unit_rows == build_tree().unit_rows


def test_indicator_catalogue(engine: Engine) -> None:
    assert tuple(row.get("code") for row in read_table(catalogue_path()).rows) == CATALOGUE
    with Session(engine) as session:
        stored = {i.code: i for i in session.exec(select(Indicator))}
    assert set(stored) == set(CATALOGUE)
    assert stored["DV_TONG"].rollup == "snapshot"
    assert stored["DV_MOI"].rollup == "sum" and stored["DV_MOI"].not_above_code == "DV_TONG"
    assert stored["DV_NU"].not_above_code == "DV_TONG"
    for code in ("TT_CHINHSACH", "HOC_NGHE", "QXH_NGUOI"):
        assert (stored[code].rollup, stored[code].denominator_code) == ("ratio", "LD_TONG")
    for code in ("QCDC", "NU_CONG", "CT_DAOTAO", "TULDTT"):
        assert (stored[code].kind, stored[code].rollup) == ("yesno", "share_yes")
    assert stored["QXH_THU"].kind == "money" and stored["QXH_THU"].unit_vi == "đồng"
    assert "kết nạp đoàn viên" in stored["DV_MOI"].aliases
    assert "KPCĐ" in stored["KPCD_THU"].aliases
    assert "dnnn" in stored["HOC_NGHE"].sectors.split()
    assert 2 <= sum(not i.required for i in stored.values()) <= 3
    assert len({i.position for i in stored.values()}) == len(stored)
    for ind in stored.values():
        if ind.kind in ("count", "money"):
            assert ind.min_value == 0
        assert ind.name_vi and ind.name_en and ind.unit_vi and ind.unit_en
    assert [stored[c].position for c in CATALOGUE] == sorted(stored[c].position for c in CATALOGUE)


def _target(session: Session, unit: str, indicator: str, period: str, sector: str | None = None) -> float:
    return session.exec(
        select(Target.value)
        .join(Unit, Unit.id == Target.unit_id)
        .join(Indicator, Indicator.id == Target.indicator_id)
        .join(Period, Period.id == Target.period_id)
        .where(Unit.code == unit, Indicator.code == indicator, Period.code == period, Target.sector == sector)
    ).one()


def test_targets(engine: Engine) -> None:
    with Session(engine) as session:
        assert _target(session, "LDLD_LC", "DV_TONG", "2023-2028") == 24_500
        assert _target(session, "LDLD_LC", "TT_CHINHSACH", "2026") == 98
        assert _target(session, "LDLD_LC", "HOC_NGHE", "2026") == 70
        assert _target(session, "LDLD_LC", "QCDC", "2026", "hcsn") == 100
        assert _target(session, "LDLD_LC", "QCDC", "2026", "dnnn") == 100
        assert _target(session, "LDLD_LC", "QCDC", "2026", "ngoainn") == 80
        assert _target(session, "LDLD_LC", "QXH_NGUOI", "2026") == 95
        assert _target(session, "LDLD_LC", "TULDTT", "2026") == 85
        uppers = session.exec(select(Unit).where(Unit.level == "upper", Unit.active == True)).all()  # noqa: E712
        upper_new = [_target(session, u.code, "DV_MOI", "2026") for u in uppers]
        assert len(upper_new) == 8 and all(v > 0 for v in upper_new)
        province_id = session.exec(select(Unit.id).where(Unit.code == "LDLD_LC")).one()
        direct = session.exec(select(Unit).where(Unit.parent_id == province_id, Unit.level == "grassroots")).all()
        direct_new = [session.exec(select(Target.value).join(Indicator, Indicator.id == Target.indicator_id)
                                   .where(Target.unit_id == u.id, Indicator.code == "DV_MOI")).first() or 0
                      for u in direct]
        assert len(direct) == 31 and sum(direct_new) > 0
        assert _target(session, "LDLD_LC", "DV_MOI", "2026") == sum(upper_new) + sum(direct_new)
        # the ended units (district federations, closed and merged CĐCS) have no 2026 targets
        ended = session.exec(select(Unit.id).where(Unit.active == False)).all()  # noqa: E712
        assert len(ended) == 21
        assert session.exec(select(func.count()).select_from(Target).where(Target.unit_id.in_(ended))).one() == 0
        grassroots = session.exec(select(Unit).where(Unit.level == "grassroots", Unit.active == True)).all()  # noqa: E712
        big = max(grassroots, key=lambda u: u.members_hint or 0)
        assert _target(session, big.code, "DV_MOI", "2026") >= 1
        assert _target(session, big.code, "GT_DANG", "2026") == 1
        small = min(grassroots, key=lambda u: u.members_hint or 0)
        assert _target(session, big.code, "QXH_THU", "2026") > _target(session, small.code, "QXH_THU", "2026")
        periods = set(session.exec(select(Period.code)).all())
    assert periods == {"2026", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026-H1", "2026-H2", "2023-2028",
                       "2024", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4",
                       "2025", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"}


def test_rounds_and_one_open_today(engine: Engine) -> None:
    now = to_utc(datetime(2026, 11, 21, 10, 0, tzinfo=LOCAL_TZ))
    with Session(engine) as session:
        rounds = {r.code: r for r in session.exec(select(Round))}
        history = {f"{y}-Q{q}" for y in (2024, 2025) for q in (1, 2, 3, 4)}
        assert set(rounds) == {"2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026-NAM"} | history
        assert all(rounds[c].locked for c in history)
        open_now = [c for c, r in rounds.items() if r.opens_at <= now <= r.deadline_at and not r.locked]
        assert "2026-NAM" in open_now
        for rnd in rounds.values():
            count = session.exec(
                select(func.count()).select_from(RoundIndicator).where(RoundIndicator.round_id == rnd.id)
            ).one()
            assert 6 <= count <= 8
            assert rnd.audience == {"levels": ["grassroots"]}
    year = rounds["2026-NAM"]
    assert to_local(year.opens_at) == datetime(2026, 11, 15, tzinfo=LOCAL_TZ)
    assert to_local(year.deadline_at) == datetime(2026, 12, 20, 23, 59, 59, tzinfo=LOCAL_TZ)
    q2 = rounds["2026-Q2"]
    assert to_local(q2.opens_at) == datetime(2026, 6, 1, tzinfo=LOCAL_TZ)
    assert to_local(q2.deadline_at).date().isoformat() == "2026-07-20"
    q4 = rounds["2025-Q4"]
    assert (to_local(q4.opens_at).date(), to_local(q4.deadline_at).date()) == (date(2025, 12, 1), date(2026, 1, 20))


def test_second_run_changes_nothing(engine: Engine) -> None:
    before = counts(engine)
    with Session(engine) as session:
        stamps = dict(session.exec(select(Unit.code, Unit.updated_at)).all())
    with session_scope(engine) as session:
        summary = load_demo(session)
    assert not summary.changed
    assert (summary.created, summary.updated) == (0, 0)
    assert summary.unchanged > 1000
    assert counts(engine) == before
    with Session(engine) as session:
        assert dict(session.exec(select(Unit.code, Unit.updated_at)).all()) == stamps


def test_no_people_are_created(engine: Engine) -> None:
    from bot.models import Invite, Person

    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Person)).one() == 0
        assert session.exec(select(func.count()).select_from(Invite)).one() == 0
