"""Officers' and staff's typed questions about their units, answered from the roll-up engine.

Which unit is lowest or highest on an indicator, a ranking by the emulation score, how
many units submitted, and one period against another — all computed by the same services
as /tonghop and /xephang (bot.services.rollup and bot.services.scoring), within one root
unit (the asker's own or one of their subtree; the caller checks that). Plain functions
taking a session; no channel code, no text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.models import Indicator, Period, PeriodKind, Round, RoundIndicator, Unit
from bot.services import rollup, scoring
from bot.services.periods import PeriodCodeError, normalise_period_code, parse_period_code
from bot.services.rollup import IndicatorResult, RoundRollup

log = logging.getLogger(__name__)

MAX_ROUNDS_TRIED = 4  # rounds looked at (newest first) for one with figures in the scope


def shift_period(code: str, how: str) -> str | None:
    """The period before `code` ("previous": the quarter, half or year before) or the same
    period a year earlier ("last_year"); None for a term or an unknown code."""
    try:
        canonical = normalise_period_code(code)
        span = parse_period_code(canonical)
    except PeriodCodeError:
        return None
    year = span.starts_on.year
    if how == "last_year":
        return canonical.replace(str(year), str(year - 1), 1) if span.kind != PeriodKind.TERM else None
    if span.kind == PeriodKind.YEAR:
        return str(year - 1)
    if span.kind == PeriodKind.QUARTER:
        q = (span.starts_on.month - 1) // 3 + 1
        return f"{year}-Q{q - 1}" if q > 1 else f"{year - 1}-Q4"
    if span.kind == PeriodKind.HALF:
        return f"{year}-H1" if span.starts_on.month > 6 else f"{year - 1}-H2"
    return None


def _rounds(session: Session, now: datetime, period_code: str | None, indicator_ids: list[int]) -> list[Round]:
    """Rounds of the period (or every opened one), asking the indicators, newest deadline first."""
    query = select(Round).where(Round.opens_at <= now) if period_code is None else (
        select(Round).join(Period, col(Period.id) == col(Round.period_id)).where(Period.code == period_code))
    if indicator_ids:
        asking = select(RoundIndicator.round_id).where(col(RoundIndicator.indicator_id).in_(indicator_ids))
        query = query.where(col(Round.id).in_(asking))
    return list(session.exec(query.order_by(col(Round.deadline_at).desc(), col(Round.id).desc())).all())


def round_with_figures(session: Session, now: datetime, root: Unit, period_code: str | None,
                       indicator: Indicator | None) -> Round | None:
    """The round a question is about: of the asked period (or the newest whose deadline passed,
    then the open ones) asking the indicator, preferring one the scope has submitted figures to."""
    rounds = _rounds(session, now, period_code, [indicator.id] if indicator is not None else [])  # type: ignore[list-item]
    if period_code is None:
        rounds = [r for r in rounds if r.deadline_at <= now] + [r for r in rounds if r.deadline_at > now]
    for rnd in rounds[:MAX_ROUNDS_TRIED]:
        roll = rollup.rollup_round(session, rnd, root.id, indicator_codes=[])
        if roll.completeness.submitted:
            return rnd
    return rounds[0] if rounds else None


@dataclass
class Standing:
    """One unit (a group of the roll-up) on one indicator."""

    unit: Unit
    value: float | None
    target: float | None

    @property
    def attainment(self) -> float | None:
        return rollup.attainment(self.value, self.target)


@dataclass
class IndicatorStandings:
    """The groups under a root on one indicator of a round: with figures (lowest first) and without."""

    roll: RoundRollup
    result: IndicatorResult
    ranked: list[Standing]
    without: list[Unit]


def indicator_standings(session: Session, rnd: Round, root: Unit, indicator: Indicator) -> IndicatorStandings | None:
    """The root's groups (its CĐCS, or a province's unions) ordered by their figure; None if the
    round does not ask the indicator."""
    roll = rollup.rollup_round(session, rnd, root.id, indicator_codes=[indicator.code], group_targets=True)
    if not roll.indicators:
        return None
    result = roll.indicators[0]
    ranked: list[Standing] = []
    without: list[Unit] = []
    for gid, unit in roll.groups.items():
        if gid == root.id or not result.expected_by_group.get(gid):
            continue
        figure = result.by_group.get(gid)
        value = figure.value if figure is not None else None
        if value is None:
            without.append(unit)
            continue
        ranked.append(Standing(unit, value, result.group_target(roll.group_targets(result, gid), gid)))
    ranked.sort(key=lambda s: (s.value, s.unit.code))
    return IndicatorStandings(roll, result, ranked, without)


def score_ranking(session: Session, rnd: Round, root: Unit) -> scoring.Ranking:
    """The emulation ranking of the root's groups, as /xephang computes it."""
    return scoring.rank(session, rnd, root.id)


@dataclass
class PeriodFigure:
    """An indicator rolled up over a root for one period (None: no round or no figures)."""

    period_code: str
    round: Round | None
    result: IndicatorResult | None

    @property
    def value(self) -> float | None:
        return self.result.total.value if self.result is not None else None


def period_figure(session: Session, now: datetime, root: Unit, indicator: Indicator, period_code: str) -> PeriodFigure:
    rnd = round_with_figures(session, now, root, period_code, indicator)
    if rnd is None:
        return PeriodFigure(period_code, None, None)
    roll = rollup.rollup_round(session, rnd, root.id, indicator_codes=[indicator.code])
    return PeriodFigure(period_code, rnd, roll.indicators[0] if roll.indicators else None)


def period_of_round(session: Session, rnd: Round) -> Period | None:
    return session.get(Period, rnd.period_id)
