"""A province generated from a seed: a random tree of upper-level unions and CĐCS of every sector,
the demo's indicator catalogue, targets at every level (per-sector percent targets too), quarterly,
half-year and yearly rounds with random audiences, and random reports (some figures skipped)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlmodel import Session, select

from bot.clock import local_day_end, local_day_start
from bot.demo import ensure_indicators
from bot.models import Indicator, Level, Round, RoundIndicator, Rollup, Submission, SubmissionValue, Target, Unit
from bot.services.periods import get_or_create_period

SECTORS = ("hcsn", "dnnn", "ngoainn")


def generate(session: Session, seed: int) -> None:
    rng = random.Random(seed)
    ensure_indicators(session)
    indicators = list(session.exec(select(Indicator)).all())
    province = Unit(code="GP", name="Liên đoàn Lao động tỉnh Sinh Thử", level=Level.PROVINCE)
    session.add(province)
    session.flush()
    uppers, grassroots = [], []
    for u in range(rng.randint(2, 4)):
        upper = Unit(code=f"GP_U{u}", name=f"Công đoàn cấp trên {u}", parent_id=province.id, level=Level.UPPER)
        session.add(upper)
        session.flush()
        uppers.append(upper)
        for g in range(rng.randint(2, 6)):
            unit = Unit(code=f"GP_U{u}_{g}", name=f"CĐCS {u}.{g}", parent_id=upper.id, level=Level.GRASSROOTS,
                        sector=rng.choice(SECTORS), active=rng.random() > 0.05)
            session.add(unit)
            grassroots.append(unit)
    session.flush()
    year = get_or_create_period(session, "2026")
    term = get_or_create_period(session, "2023-2028")
    for ind in indicators:
        percent = ind.rollup in (Rollup.RATIO, Rollup.SHARE_YES)
        if percent:
            if rng.random() < 0.5:
                for sector in SECTORS:
                    session.add(Target(unit_id=province.id, indicator_id=ind.id, period_id=year.id, sector=sector,
                                       value=rng.choice([70, 80, 90, 100])))
            else:
                session.add(Target(unit_id=province.id, indicator_id=ind.id, period_id=rng.choice([year, term]).id,
                                   value=rng.choice([80, 95])))
            if rng.random() < 0.3:
                session.add(Target(unit_id=rng.choice(uppers).id, indicator_id=ind.id, period_id=year.id, value=75))
        else:
            for holder in [province, *uppers, *rng.sample(grassroots, k=min(3, len(grassroots)))]:
                if rng.random() < 0.7:
                    session.add(Target(unit_id=holder.id, indicator_id=ind.id, period_id=year.id,
                                       value=rng.randint(1, 400)))
    rounds: list[Round] = []
    for code in ("2026-Q1", "2026-Q2", "2026-H1", "2026-Q3", "2026"):
        period = get_or_create_period(session, code)
        audience: dict = {"levels": ["grassroots"] if rng.random() < 0.7 else ["grassroots", "upper"]}
        if rng.random() < 0.25:
            audience["sectors"] = rng.sample(SECTORS, k=2)
        if rng.random() < 0.25:
            audience["under"] = [rng.choice(uppers).code]
        rnd = Round(code=f"GP-{code}", title=f"Báo cáo {code}", period_id=period.id,
                    opens_at=local_day_start(period.starts_on),
                    deadline_at=local_day_end(period.ends_on + timedelta(days=20)), audience=audience, reminder_plan={})
        session.add(rnd)
        session.flush()
        asked = rng.sample(indicators, k=rng.randint(5, len(indicators)))
        for position, ind in enumerate(asked):
            session.add(RoundIndicator(round_id=rnd.id, indicator_id=ind.id, position=position))
        rounds.append(rnd)
        for unit in [*grassroots, *uppers]:
            if rng.random() < 0.3:
                continue
            sub = Submission(round_id=rnd.id, unit_id=unit.id, reference=f"GP{seed}-{rnd.id}-{unit.id}",
                             submitted_at=local_day_start(period.ends_on) + timedelta(days=rng.randint(0, 30)),
                             late=rng.random() < 0.2)
            session.add(sub)
            session.flush()
            workers = rng.randint(10, 300)
            for ind in asked:
                if rng.random() < 0.1:
                    value = None
                elif ind.kind == "yesno":
                    value = float(rng.random() < 0.7)
                elif ind.code == "LD_TONG":
                    value = float(workers)
                elif ind.rollup == Rollup.RATIO:
                    value = float(rng.randint(0, workers))
                else:
                    value = float(rng.randint(0, 500))
                session.add(SubmissionValue(submission_id=sub.id, indicator_id=ind.id, value=value))
    session.flush()


def today() -> date:
    return date(2026, 11, 21)
