"""A small hand-built province for roll-up tests: units, targets, two rounds of reports,
in SQLite (a template copied per test) and PostgreSQL; and readers of the results."""

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

UTC = timezone.utc
INDICATORS = [
    ("MEM", IndicatorKind.COUNT, Rollup.SNAPSHOT, None, ""),
    ("NEW", IndicatorKind.COUNT, Rollup.SUM, None, ""),
    ("FUND", IndicatorKind.MONEY, Rollup.SUM, None, ""),
    ("WORK", IndicatorKind.COUNT, Rollup.SNAPSHOT, None, ""),
    ("INFO", IndicatorKind.COUNT, Rollup.RATIO, "WORK", ""),
    ("QC", IndicatorKind.YESNO, Rollup.SHARE_YES, None, ""),
]
UNITS = [  # code, parent, level, sector
    ("PROV", None, Level.PROVINCE, None), ("U1", "PROV", Level.UPPER, None), ("U2", "PROV", Level.UPPER, None),
    ("A", "U1", Level.GRASSROOTS, "hcsn"), ("B", "U1", Level.GRASSROOTS, "ngoainn"),
    ("F", "U1", Level.GRASSROOTS, "hcsn"), ("C", "U2", Level.GRASSROOTS, "dnnn"),
    ("D", "U2", Level.GRASSROOTS, "ngoainn"), ("E", "U2", Level.GRASSROOTS, "hcsn"),
]
R1 = {  # unit → (late, values)
    "A": (False, dict(MEM=100, NEW=5, FUND=1_000_000, WORK=120, INFO=60, QC=1)),
    "B": (True, dict(MEM=50, NEW=2, FUND=500_000, WORK=80, INFO=80, QC=0)),
    "C": (False, dict(MEM=30, NEW=1, FUND=300_000, WORK=40, INFO=20, QC=1)),
}
R2 = {
    "A": (False, dict(MEM=110, NEW=10, FUND=2_000_000, WORK=120, INFO=120, QC=1)),
    "C": (True, dict(MEM=35, NEW=5, FUND=100_000, WORK=50, INFO=25, QC=1)),
    "D": (False, dict(MEM=20, NEW=0, FUND=0, WORK=20, INFO=10, QC=0)),
    "F": (False, dict(MEM=None, NEW=3, FUND=None, WORK=None, INFO=None, QC=None)),
}
TARGETS = [  # unit, indicator, period, sector, value
    ("PROV", "MEM", "2023-2028", None, 200), ("PROV", "NEW", "2026", None, 40),
    ("PROV", "FUND", "2026-Q2", None, 4_000_000), ("PROV", "INFO", "2026", None, 80),
    ("PROV", "QC", "2026", "hcsn", 100), ("PROV", "QC", "2026", "dnnn", 100), ("PROV", "QC", "2026", "ngoainn", 50),
    ("U1", "NEW", "2026", None, 20), ("U2", "NEW", "2026", None, 10),
    ("A", "NEW", "2026", None, 10), ("C", "NEW", "2026", None, 10), ("F", "NEW", "2026", None, 4),
]


def add_round(session: Session, code: str, period_code: str, deadline: date, reports: dict,
              indicators: list[str] | None = None) -> Round:
    period = get_or_create_period(session, period_code)
    deadline_at = datetime(deadline.year, deadline.month, deadline.day, 17, tzinfo=UTC)
    rnd = Round(code=code, title=f"Đợt {code}", period_id=period.id, opens_at=deadline_at - timedelta(days=40),
                deadline_at=deadline_at, audience={"levels": ["grassroots"]}, reminder_plan={})
    session.add(rnd)
    session.flush()
    ind = {i.code: i for i in session.exec(select(Indicator)).all()}
    for n, c in enumerate(indicators or [c for c, *_ in INDICATORS]):
        session.add(RoundIndicator(round_id=rnd.id, indicator_id=ind[c].id, position=n))
    units = {u.code: u for u in session.exec(select(Unit)).all()}
    for unit_code, (late, values) in reports.items():
        at = deadline_at + (timedelta(days=2) if late else -timedelta(days=2))
        sub = Submission(round_id=rnd.id, unit_id=units[unit_code].id, reference=f"T-{uuid.uuid4().hex[:8]}",
                         submitted_at=at, updated_at=at, late=late)
        session.add(sub)
        session.flush()
        for c, v in values.items():
            session.add(SubmissionValue(submission_id=sub.id, indicator_id=ind[c].id, value=v))
    session.flush()
    return rnd


def build_world(engine) -> None:
    with session_scope(engine) as s:
        for n, (code, kind, rule, den, sectors) in enumerate(INDICATORS):
            s.add(Indicator(code=code, name_vi=f"Chỉ tiêu {code}", unit_vi="người", kind=kind, rollup=rule,
                            denominator_code=den, sectors=sectors, position=n))
        ids: dict[str, int] = {}
        for code, parent, level, sector in UNITS:
            unit = Unit(code=code, name=f"Đơn vị {code}", parent_id=ids.get(parent or ""), level=level, sector=sector)
            s.add(unit)
            s.flush()
            ids[code] = unit.id  # type: ignore[assignment]
        s.flush()
        add_round(s, "R1", "2026-Q1", date(2026, 4, 20), R1)
        add_round(s, "R2", "2026-Q2", date(2026, 7, 20), R2)
        ind = {i.code: i.id for i in s.exec(select(Indicator)).all()}
        for unit_code, code, period_code, sector, value in TARGETS:
            s.add(Target(unit_id=ids[unit_code], indicator_id=ind[code], period_id=get_or_create_period(s, period_code).id,
                         sector=sector, value=value))


@pytest.fixture(scope="module")
def pg_world():
    """The hand-built province in a PostgreSQL database of its own (built once per module; read-only)."""
    with fresh_pg_database("rollup") as url:
        upgrade(url)
        pg = make_engine(url)
        build_world(pg)
        yield pg
        pg.dispose()


@pytest.fixture(scope="module")
def world_template(tmp_path_factory, empty_template) -> Path:
    path = tmp_path_factory.mktemp("world") / "world.sqlite"
    shutil.copyfile(empty_template, path)
    eng = make_engine(f"sqlite:///{path}")
    build_world(eng)
    with eng.connect() as conn:  # fold the WAL into the file so that a plain copy is complete
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


@pytest.fixture
def sqlite_world(world_template, tmp_path):
    """The hand-built province in a fresh SQLite file (a copy; tests may change it)."""
    shutil.copyfile(world_template, tmp_path / "world.sqlite")
    eng = make_engine(f"sqlite:///{tmp_path / 'world.sqlite'}")
    yield eng
    eng.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request):
    """The same read-only checks on SQLite and, when a server answers, on PostgreSQL."""
    return request.getfixturevalue("sqlite_world" if request.param == "sqlite" else "pg_world")


def unit_id(s: Session, code: str) -> int:
    return s.exec(select(Unit.id).where(Unit.code == code)).one()


def roll(engine, round_code: str = "R2", root: str | None = "PROV", **kw) -> rollup.RoundRollup:
    with Session(engine) as s:
        rnd = s.exec(select(Round).where(Round.code == round_code)).one()
        return rollup.rollup_round(s, rnd, unit_id(s, root) if root else None, **kw)


def by_code(result: rollup.RoundRollup) -> dict[str, rollup.IndicatorResult]:
    return {r.indicator.code: r for r in result.indicators}


def group(result: rollup.RoundRollup, code: str) -> int:
    return next(gid for gid, u in result.groups.items() if u.code == code)


# --------------------------------------------------------------------------- completeness

