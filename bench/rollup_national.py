"""National-scale benchmark of completeness and roll-ups (issue #7), not a timed test.

Generates a country into a fresh SQLite file (or an empty PostgreSQL database):
34 provinces × 12 upper-level unions × ~3.800 CĐCS ≈ 130.000 CĐCS, the demo's indicator
catalogue, rounds 2026-Q1…Q3 with the seven quarterly indicators, submissions from ~90%
of the CĐCS in each round (≈ 350.000 submissions, ≈ 2,4 million values), and targets for
provinces, upper-level unions and CĐCS. Rows go in with Core executemany in one
transaction per table chunk — no ORM objects.

Then it times, each several times (best and median printed):

* one province: completeness alone, the full roll-up (completeness + every indicator
  against its target), the ranking of its upper-level unions, the Excel workbook;
* the whole country (root = every province): completeness and the full roll-up.

    .venv/bin/python bench/rollup_national.py [--provinces 34] [--per-province 3800]
        [--db sqlite|postgres|URL] [--keep | --reuse FILE] [--repeat 5]

Only this machine's figures are printed.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bot.db import make_engine, session_scope, upgrade  # noqa: E402
from bot.demo import QUARTER_INDICATORS, ensure_indicators  # noqa: E402
from bot.models import (  # noqa: E402
    Indicator,
    Round,
    RoundIndicator,
    Submission,
    SubmissionValue,
    Target,
    Unit,
)
from bot.services.periods import get_or_create_period  # noqa: E402

UPPERS_PER_PROVINCE = 12
SECTORS = ("hcsn", "hcsn", "hcsn", "dnnn", "ngoainn", "ngoainn")
ROUNDS = (("2026-Q1", date(2026, 4, 20)), ("2026-Q2", date(2026, 7, 20)), ("2026-Q3", date(2026, 10, 20)))
SHARE_REPORTED = 0.9
CHUNK = 50_000


def log(message: str) -> None:
    print(message, flush=True)


def insert(conn, table, rows: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    for start in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), rows[start:start + CHUNK])


def generate(url: str, provinces: int, per_province: int, seed: int = 7) -> dict[str, int]:
    """Fill an empty database; returns row counts."""
    rng = random.Random(seed)
    upgrade(url)
    engine = make_engine(url)
    now = datetime(2026, 11, 21, tzinfo=timezone.utc)
    with session_scope(engine) as session:
        ensure_indicators(session)
        periods = {code: get_or_create_period(session, code) for code in ("2026", "2026-Q1", "2026-Q2", "2026-Q3", "2023-2028")}
        session.flush()
        indicators = {i.code: i.id for i in session.exec(select(Indicator)).all()}
        period_ids = {c: p.id for c, p in periods.items()}
    quarter_ids = [indicators[c] for c in QUARTER_INDICATORS]

    units: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []
    grassroots: list[tuple[int, int]] = []  # (unit id, members)
    next_id = 1
    for p in range(provinces):
        prov_id = next_id
        next_id += 1
        units.append(dict(id=prov_id, code=f"P{p:02d}", name=f"Liên đoàn Lao động tỉnh số {p + 1}", parent_id=None,
                          level="province", type_label="LĐLĐ tỉnh", sector=None, active=True, members_hint=None,
                          contact="", created_at=now, updated_at=now))
        province_members = 0
        province_new = 0
        for u in range(UPPERS_PER_PROVINCE):
            upper_id = next_id
            next_id += 1
            units.append(dict(id=upper_id, code=f"P{p:02d}_U{u:02d}", name=f"Công đoàn cấp trên {u + 1} tỉnh số {p + 1}",
                              parent_id=prov_id, level="upper", type_label="Công đoàn xã, phường", sector=None,
                              active=True, members_hint=None, contact="", created_at=now, updated_at=now))
            n = per_province // UPPERS_PER_PROVINCE + (1 if u < per_province % UPPERS_PER_PROVINCE else 0)
            upper_new = 0
            for g in range(n):
                gid = next_id
                next_id += 1
                members = rng.randint(8, 160)
                units.append(dict(id=gid, code=f"P{p:02d}_U{u:02d}_{g:04d}", name=f"CĐCS số {g + 1} ({p + 1}/{u + 1})",
                                  parent_id=upper_id, level="grassroots", type_label="CĐCS", sector=rng.choice(SECTORS),
                                  active=True, members_hint=members, contact="", created_at=now, updated_at=now))
                grassroots.append((gid, members))
                new = max(1, round(members * 0.03))
                targets.append(dict(unit_id=gid, indicator_id=indicators["DV_MOI"], period_id=period_ids["2026"],
                                    sector=None, value=new, updated_at=now))
                upper_new += new
                province_members += members
            targets.append(dict(unit_id=upper_id, indicator_id=indicators["DV_MOI"], period_id=period_ids["2026"],
                                sector=None, value=upper_new, updated_at=now))
            province_new += upper_new
        targets += [
            dict(unit_id=prov_id, indicator_id=indicators["DV_TONG"], period_id=period_ids["2023-2028"], sector=None,
                 value=round(province_members * 1.02), updated_at=now),
            dict(unit_id=prov_id, indicator_id=indicators["DV_MOI"], period_id=period_ids["2026"], sector=None,
                 value=province_new, updated_at=now),
            dict(unit_id=prov_id, indicator_id=indicators["TT_CHINHSACH"], period_id=period_ids["2026"], sector=None,
                 value=98, updated_at=now),
        ]

    rounds, round_indicators, submissions, values = [], [], [], []
    sub_id = 0
    for r, (code, deadline) in enumerate(ROUNDS, start=1):
        deadline_at = datetime.combine(deadline, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=17)
        rounds.append(dict(id=r, code=code, title=f"Báo cáo số liệu {code}", period_id=period_ids[code],
                           opens_at=deadline_at - timedelta(days=50), deadline_at=deadline_at,
                           audience={"levels": ["grassroots"]}, reminder_plan={}, locked=r < 3, locked_at=None,
                           created_at=now))
        round_indicators += [dict(round_id=r, indicator_id=i, position=n) for n, i in enumerate(quarter_ids)]
        for gid, members in grassroots:
            if rng.random() > SHARE_REPORTED:
                continue
            sub_id += 1
            at = deadline_at - timedelta(days=rng.randint(-4, 10))
            submissions.append(dict(id=sub_id, round_id=r, unit_id=gid, reference=f"B{sub_id:09d}", revision=1,
                                    submitted_by=None, submitted_at=at, updated_at=at, late=at > deadline_at))
            workers = round(members * 1.15)
            figures = (members, members // 2, workers, rng.choice((0, 0, 1, 2)), round(workers * 0.93),
                       members * 90_000, workers * 120_000)
            values += [dict(submission_id=sub_id, indicator_id=i, value=v) for i, v in zip(quarter_ids, figures)]

    engine = make_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
        for table, rows in ((Unit.__table__, units), (Target.__table__, targets), (Round.__table__, rounds),
                            (RoundIndicator.__table__, round_indicators), (Submission.__table__, submissions),
                            (SubmissionValue.__table__, values)):
            t = time.perf_counter()
            insert(conn, table, rows)
            log(f"  inserted {len(rows):>9,} {table.name:<16} in {time.perf_counter() - t:6.1f} s")
        if engine.dialect.name == "postgresql":
            for table in ("unit", "target", "round", "submission", "submission_value", "round_indicator"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
    with engine.begin() as conn:  # planner statistics, as a running database would have them
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return dict(units=len(units), grassroots=len(grassroots), submissions=len(submissions), values=len(values),
                targets=len(targets))


def timed(label: str, fn: Callable[[], Any], repeat: int) -> Any:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    log(f"  {label:<52} best {min(times) * 1000:8.0f} ms   median {statistics.median(times) * 1000:8.0f} ms"
        f"   (n={repeat})")
    return result


def run(url: str, repeat: int) -> None:
    from bot.services import export_xlsx, rollup, scoring

    engine = make_engine(url)
    with Session(engine) as session:
        rnd = session.exec(select(Round).where(Round.code == "2026-Q3")).one()
        province = session.exec(select(Unit).where(Unit.code == "P00")).one()
        log(f"\nround {rnd.code}; province {province.code} and the whole country:")
        roll = timed("province: completeness only", lambda: rollup.completeness_rows(session, rnd, province.id), repeat)
        roll = timed("province: roll-up (completeness + 7 indicators)",
                     lambda: rollup.rollup_round(session, rnd, province.id), repeat)
        log(f"      → {roll.completeness.submitted:,}/{roll.completeness.expected:,} reported; "
            + "; ".join(f"{r.indicator.code} {r.total.value:,.1f}" for r in roll.indicators[:4]))
        timed("province: ranking of its upper-level unions", lambda: scoring.rank(session, rnd, province.id),
              max(1, repeat // 2))
        timed("province: Excel workbook", lambda: export_xlsx.build_workbook(session, rnd, province.id), 1)
        timed("country: completeness only", lambda: rollup.completeness_rows(session, rnd, None), repeat)
        roll = timed("country: roll-up (completeness + 7 indicators)",
                     lambda: rollup.rollup_round(session, rnd, None), max(1, repeat // 2))
        log(f"      → {roll.completeness.submitted:,}/{roll.completeness.expected:,} reported in "
            f"{len(roll.groups)} provinces; "
            + "; ".join(f"{r.indicator.code} {r.total.value:,.1f}" for r in roll.indicators[:4]))
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--provinces", type=int, default=34)
    parser.add_argument("--per-province", type=int, default=3800)
    parser.add_argument("--db", default="sqlite",
                        help="'sqlite' (a file under /tmp), 'postgres' (a scratch database on the local server) "
                             "or the URL of an empty database")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    parser.add_argument("--reuse", help="time an existing SQLite file kept by --keep (no generation)")
    args = parser.parse_args()
    if args.reuse:
        run(f"sqlite:///{args.reuse}", args.repeat)
        return 0
    log(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}")
    path = None
    scratch = None
    if args.db == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="rollup_bench_")) / "national.sqlite"
        url = f"sqlite:///{path}"
    elif args.db == "postgres":  # a scratch database on the local server, dropped afterwards
        base = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        scratch = f"rollup_bench_{os.getpid()}"
        admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        url = base.rsplit("/", 1)[0] + f"/{scratch}"
    else:
        url = args.db
    log(f"database: {url}")
    t = time.perf_counter()
    counts = generate(url, args.provinces, args.per_province)
    log(f"generated {counts['grassroots']:,} CĐCS ({counts['units']:,} units), {counts['submissions']:,} submissions, "
        f"{counts['values']:,} values, {counts['targets']:,} targets in {time.perf_counter() - t:.1f} s"
        + (f"; file {path.stat().st_size / 1e6:,.0f} MB" if path else ""))
    run(url, args.repeat)
    if scratch:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    if path and not args.keep:
        for f in path.parent.iterdir():
            f.unlink()
        path.parent.rmdir()
    elif path:
        log(f"kept {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
