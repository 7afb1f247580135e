"""Past reports for the demo province: every quarter of 2024 and 2025 and quarters I–III of
2026 were reported by most CĐCS; all but 2026-Q3 are locked. Gives "last reported" values,
completeness, roll-ups and questions about last year something real to show.

A round's reports come from the CĐCS active on the last day of its period, in the tree of
that day (bot/services/tree.py): 2024–Q2/2025 from the CĐCS under the district federations
(those closed or merged on 01/07/2025 included, their reports dated before they ended),
Q3/2025 on from today's tree. Deterministic and idempotent (a unit's existing report is kept).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.models import (Indicator, Level, Period, Round, RoundIndicator, Submission, SubmissionRevision,
                        SubmissionValue, Unit, UnitEvent)
from bot.services import registry
from bot.services.tree import tree_on

ACTOR = "demo"
# round code → (share of units that reported, locked?)
HISTORY = {
    "2024-Q1": (0.86, True), "2024-Q2": (0.88, True), "2024-Q3": (0.9, True), "2024-Q4": (0.92, True),
    "2025-Q1": (0.9, True), "2025-Q2": (0.93, True), "2025-Q3": (0.88, True), "2025-Q4": (0.92, True),
    "2026-Q1": (0.94, True), "2026-Q2": (0.9, True), "2026-Q3": (0.82, False),
}


def _values(rng: random.Random, members: int, quarter: int) -> dict[str, float]:
    """Plausible figures for one CĐCS in one quarter (members grow a little each quarter;
    `quarter` counts from 2026-Q1 = 1, so 2025-Q4 = 0, 2024-Q1 = -7)."""
    total = max(1, members - max(0, 3 - quarter) * rng.randint(0, 2))
    workers = round(total * rng.uniform(1.02, 1.25))
    return {
        "DV_TONG": total,
        "DV_NU": round(total * rng.uniform(0.3, 0.6)),
        "LD_TONG": workers,
        "DV_MOI": rng.choice([0, 0, 0, 1, 1, 2, 3]) if total > 10 else 0,
        "TT_CHINHSACH": round(workers * rng.uniform(0.85, 1.0)),
        "DP_THU": total * 30_000 * 3,  # đoàn phí: about 30.000 đồng a month per member
        "KPCD_THU": round(workers * rng.uniform(5.5, 9.0) * 3 * 2 * 10_000) * 10 // 10,
    }


def _quarter_index(code: str) -> int:
    """2026-Q1 → 1, 2025-Q4 → 0, 2024-Q1 → -7."""
    year, quarter = int(code[:4]), int(code[-1])
    return (year - 2026) * 4 + quarter


def ensure_history(session: Session) -> int:
    """Create the demo's past submissions (where missing) and lock the rounds; returns rows created."""
    created = 0
    units = {u.id: u for u in session.exec(select(Unit).where(Unit.level == Level.GRASSROOTS)).all()}
    ended = dict(session.exec(select(UnitEvent.unit_id, UnitEvent.at)
                              .where(col(UnitEvent.kind).in_(("closed", "merged")))).all())
    for code, (share, lock) in HISTORY.items():
        rnd = session.exec(select(Round).where(Round.code == code)).first()
        if rnd is None:
            continue
        period = session.get(Period, rnd.period_id)
        then = tree_on(session, period.ends_on)
        indicators = session.exec(
            select(Indicator).join(RoundIndicator, RoundIndicator.indicator_id == Indicator.id)
            .where(RoundIndicator.round_id == rnd.id)
        ).all()
        done = set(session.exec(select(Submission.unit_id).where(Submission.round_id == rnd.id)).all())
        quarter = _quarter_index(code)
        for unit in sorted((u for uid, u in units.items() if then.active.get(uid)), key=lambda u: u.code):
            rng = random.Random(f"{code}:{unit.code}")
            if unit.id in done or rng.random() > share:
                continue
            values = _values(rng, unit.members_hint or 20, quarter)
            created += _submit(session, rnd, unit, indicators, values, rng, ended.get(unit.id))
        if lock and not rnd.locked:
            rnd.locked = True
            rnd.locked_at = rnd.deadline_at + timedelta(days=10)
            session.add(rnd)
    session.flush()
    return created


def _submit(session: Session, rnd: Round, unit: Unit, indicators: list[Indicator],
            values: dict[str, float], rng: random.Random, ended_at: datetime | None) -> int:
    # most report in the last week before the deadline, a few a little late; a unit that ended
    # (closed or merged) reported before its last day
    at = rnd.deadline_at - timedelta(days=rng.randint(-4, 8), hours=rng.randint(0, 10))
    if ended_at is not None and at >= ended_at:
        at = ended_at - timedelta(days=1 + rng.randint(0, 5), hours=rng.randint(0, 10))
    reference = "BC-" + "".join(rng.choice(registry.CODE_ALPHABET) for _ in range(6))
    submission = Submission(round_id=rnd.id, unit_id=unit.id, reference=reference, revision=1,
                            submitted_at=at, updated_at=at, late=at > rnd.deadline_at)
    session.add(submission)
    session.flush()
    for indicator in indicators:
        value = values.get(indicator.code)
        if value is None:
            continue
        session.add(SubmissionValue(submission_id=submission.id, indicator_id=indicator.id, value=value))
        session.add(SubmissionRevision(submission_id=submission.id, revision=1, indicator_id=indicator.id,
                                       old_value=None, new_value=value, at=at))
    return 1
