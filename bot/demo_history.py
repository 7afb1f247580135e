"""Past reports for the demo province: quarters I–III of 2026 were reported by most CĐCS,
quarters I and II are locked. Gives "last reported" values, completeness and roll-ups
something real to show. Deterministic and idempotent (a unit's existing report is kept).
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlmodel import Session, select

from bot.models import Indicator, Round, RoundIndicator, Submission, SubmissionRevision, SubmissionValue, Unit
from bot.services import registry

ACTOR = "demo"
# round code → (share of units that reported, locked?)
HISTORY = {"2026-Q1": (0.94, True), "2026-Q2": (0.9, True), "2026-Q3": (0.82, False)}


def _values(rng: random.Random, members: int, quarter: int) -> dict[str, float]:
    """Plausible figures for one CĐCS in one quarter (members grow a little each quarter)."""
    total = members - max(0, 3 - quarter) * rng.randint(0, 2)
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


def ensure_history(session: Session) -> int:
    """Create the demo's past submissions (where missing) and lock Q1–Q2; returns rows created."""
    created = 0
    units = registry.active_grassroots(session)
    for code, (share, lock) in HISTORY.items():
        rnd = session.exec(select(Round).where(Round.code == code)).first()
        if rnd is None:
            continue
        indicators = session.exec(
            select(Indicator).join(RoundIndicator, RoundIndicator.indicator_id == Indicator.id)
            .where(RoundIndicator.round_id == rnd.id)
        ).all()
        done = set(session.exec(select(Submission.unit_id).where(Submission.round_id == rnd.id)).all())
        quarter = int(code[-1])
        for unit in units:
            rng = random.Random(f"{code}:{unit.code}")
            if unit.id in done or rng.random() > share:
                continue
            created += _submit(session, rnd, unit, indicators, _values(rng, unit.members_hint or 20, quarter), rng)
        if lock and not rnd.locked:
            rnd.locked = True
            rnd.locked_at = rnd.deadline_at + timedelta(days=10)
            session.add(rnd)
    session.flush()
    return created


def _submit(session: Session, rnd: Round, unit: Unit, indicators: list[Indicator],
            values: dict[str, float], rng: random.Random) -> int:
    # most report in the last week before the deadline, a few a little late
    at = rnd.deadline_at - timedelta(days=rng.randint(-4, 8), hours=rng.randint(0, 10))
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
