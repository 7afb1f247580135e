"""Tests for bot.demo: the Lai Châu demo province loads, is plausible and is idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
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
    with Session(engine) as session:
        all_units = session.exec(select(Unit)).all()
    by_level: dict[str, list[Unit]] = {}
    for unit in all_units:
        by_level.setdefault(unit.level, []).append(unit)
    (province,) = by_level["province"]
    assert (province.code, province.name) == ("LDLD_LC", "Liên đoàn Lao động tỉnh Lai Châu")
    uppers = by_level["upper"]
    assert 7 <= len(uppers) <= 8
    assert all(u.parent_id == province.id for u in uppers)
    assert all(u.contact for u in uppers)
    assert any("Tam Đường" in u.name for u in uppers)
    grassroots = by_level["grassroots"]
    assert 280 <= len(grassroots) <= 320
    upper_ids = {u.id for u in uppers}
    assert all(g.parent_id in upper_ids for g in grassroots)
    assert all(g.sector in ("hcsn", "dnnn", "ngoainn") for g in grassroots)
    sectors = [g.sector for g in grassroots]
    assert sectors.count("hcsn") > len(grassroots) / 2
    assert sectors.count("dnnn") > 0 and sectors.count("ngoainn") > 0
    members = sum(g.members_hint or 0 for g in grassroots)
    assert 24_000 <= members <= 25_000
    assert all((g.members_hint or 0) > 0 for g in grassroots)
    assert len({g.name for g in grassroots}) == len(grassroots)
    summary = engine.info_summary  # type: ignore[attr-defined]
    assert summary.grassroots_units == len(grassroots)
    assert summary.members == members


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
        uppers = session.exec(select(Unit).where(Unit.level == "upper")).all()
        upper_new = [_target(session, u.code, "DV_MOI", "2026") for u in uppers]
        assert all(v > 0 for v in upper_new)
        assert _target(session, "LDLD_LC", "DV_MOI", "2026") == sum(upper_new)
        grassroots = session.exec(select(Unit).where(Unit.level == "grassroots")).all()
        big = max(grassroots, key=lambda u: u.members_hint or 0)
        assert _target(session, big.code, "DV_MOI", "2026") >= 1
        assert _target(session, big.code, "GT_DANG", "2026") == 1
        small = min(grassroots, key=lambda u: u.members_hint or 0)
        assert _target(session, big.code, "QXH_THU", "2026") > _target(session, small.code, "QXH_THU", "2026")
        periods = set(session.exec(select(Period.code)).all())
    assert periods == {"2026", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026-H1", "2026-H2", "2023-2028"}


def test_rounds_and_one_open_today(engine: Engine) -> None:
    now = to_utc(datetime(2026, 11, 21, 10, 0, tzinfo=LOCAL_TZ))
    with Session(engine) as session:
        rounds = {r.code: r for r in session.exec(select(Round))}
        assert set(rounds) == {"2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026-NAM"}
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
