"""Targets, progress and round status of a unit: the figures behind /chitieu, /tiendo, /hannop
and the answers to free-text questions. Plain functions taking a session; no channel code.

The figures come from the same engine as the staff view (bot.services.rollup.compute, with
this unit as the root) under the rules of bot.services.figures: the comparison window runs
from the start of the target's period to the end of the asked period, per-sector targets are
blended, a percent target set higher up applies to every unit below it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from bot.clock import local_today
from bot.i18n import current_language
from bot.models import (
    Indicator,
    Level,
    Period,
    PeriodKind,
    Rollup,
    Round,
    RoundIndicator,
    Submission,
    SubmissionValue,
    Target,
    Unit,
)
from bot.nlu import RoundEntry, UnitEntry, Vocabulary
from bot.services import figures, registry, reporting, rollup
from bot.services.periods import PeriodCodeError, normalise_period_code, parse_period_code
from bot.textvn import format_number

PERCENT_ROLLUPS = figures.PERCENT_ROLLUPS


# ---- vocabulary for the question parser ------------------------------------------------


def vocabulary(session: Session) -> Vocabulary:
    """What the question parser may recognise: indicators, units, rounds, terms."""
    indicators = [
        (i.code, [i.name_vi, *(a.strip() for a in i.aliases.split(";") if a.strip())])
        for i in session.exec(select(Indicator).order_by(Indicator.position)).all()
    ]
    units = [UnitEntry(code, name, level) for code, name, level in session.exec(
        select(Unit.code, Unit.name, Unit.level).where(Unit.active == True)  # noqa: E712
    ).all()]
    rounds = [RoundEntry(code, period) for code, period in session.exec(
        select(Round.code, Period.code).join(Period, col(Period.id) == col(Round.period_id))
        .order_by(Round.deadline_at)
    ).all()]
    terms = list(session.exec(select(Period.code).where(Period.kind == PeriodKind.TERM)).all())
    return Vocabulary(indicators=indicators, units=units, rounds=rounds, terms=terms)


# ---- periods ----------------------------------------------------------------------------


def period_by_code(session: Session, code: str) -> Period | None:
    """The period with this code; one not in the database is built in memory (it has no data)."""
    try:
        canonical = normalise_period_code(code)
        span = parse_period_code(canonical)
    except PeriodCodeError:
        return None
    found = session.exec(select(Period).where(Period.code == canonical)).first()
    return found or Period(code=canonical, kind=str(span.kind), starts_on=span.starts_on, ends_on=span.ends_on)


def current_periods(session: Session, now: datetime) -> list[Period]:
    """The year and the term that contain today (local date), as far as they exist."""
    today = local_today(now)
    found = [period_by_code(session, str(today.year))]
    term = session.exec(
        select(Period).where(Period.kind == PeriodKind.TERM, Period.starts_on <= today, Period.ends_on >= today)
    ).first()
    found.append(term)
    return [p for p in found if p is not None]


# ---- targets and figures: thin views over the one engine (rollup.compute) ------------------


@dataclass
class TargetInfo:
    value: float
    period: Period
    unit: Unit  # whose target it is: the unit itself, or the upper level that set a common percent target
    common: bool = False


@dataclass
class Actual:
    """What the units reported for one indicator in a window, rolled up."""

    value: Decimal | None = None  # count/money; for RATIO and SHARE_YES the percent
    numerator: Decimal | None = None  # RATIO: people; SHARE_YES: units that said yes
    denominator: Decimal | None = None  # RATIO: workers; SHARE_YES: units that answered
    units: int = 0  # units whose reports count


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _actual(result: rollup.IndicatorResult) -> Actual:
    fig = result.total
    found = Actual(value=_dec(fig.value), units=fig.units)
    if fig.value is None:
        return found
    if result.indicator.rollup == Rollup.RATIO:
        found.numerator, found.denominator = _dec(fig.total), _dec(fig.denominator)
    elif result.indicator.rollup == Rollup.SHARE_YES:
        found.numerator, found.denominator = Decimal(fig.yes), Decimal(fig.units)
    return found


@dataclass
class Progress:
    """An indicator's target and what was reported against it, for one unit (and its subtree)."""

    indicator: Indicator
    unit: Unit
    period: Period  # the period asked about
    target: TargetInfo | None
    actual: Actual  # over the comparison window (from the target period's start to the end of `period`)
    actual_in_period: Actual | None = None  # over `period` alone, when the window starts earlier
    expected_units: int = 1
    window: figures.Window | None = None
    today: date | None = None  # the local date the answer is given on (for the window's words)
    min_coverage: float = figures.DEFAULT_MIN_COVERAGE  # settings.min_coverage

    @property
    def is_percent(self) -> bool:
        return self.indicator.rollup in PERCENT_ROLLUPS

    @property
    def reported(self) -> bool:
        return self.actual.value is not None

    @property
    def reached(self) -> Decimal | None:
        """Percent of the target reached (attainment): actual ÷ target × 100, for every kind."""
        if self.actual.value is None or self.target is None or not self.target.value:
            return None
        return self.actual.value * 100 / Decimal(str(self.target.value))

    @property
    def missing(self) -> Decimal | None:
        """What is still needed to meet the target: in the indicator's unit, or in people / units
        for percent indicators (the smallest whole number that lifts the rate to the target)."""
        if self.target is None or self.actual.value is None:
            return None
        goal = Decimal(str(self.target.value))
        if self.indicator.rollup == Rollup.MEAN:  # percentage points
            return max(goal - self.actual.value, Decimal(0))
        if self.is_percent:
            num, den = self.actual.numerator or Decimal(0), self.actual.denominator or Decimal(0)
            needed = Decimal(math.ceil(goal * den / 100 - num)) if den else Decimal(0)
            return max(needed, Decimal(0))
        return max(goal - self.actual.value, Decimal(0))

    def window_text(self, today: date | None = None) -> str:
        """The window the figure covers, in words ("tính đến 30/06/2026", "từ đầu năm đến nay")."""
        if self.window is None:
            return ""
        return figures.window_text(self.window, today or self.today or local_today())

    def enough(self) -> bool:
        """Whether enough of the expected units reported to state an attainment (always, for one CĐCS)."""
        if self.unit.level == Level.GRASSROOTS:
            return True
        return figures.enough_coverage(self.actual.units, self.expected_units, self.min_coverage)


def progresses(session: Session, unit: Unit, indicators: list[Indicator], period: Period,
               ask: rollup.Ask | Round | None = None, today: date | None = None,
               min_coverage: float = figures.DEFAULT_MIN_COVERAGE) -> list[Progress]:
    """Targets and figures of these indicators for a unit (with its subtree) and a period.

    The same computation as the staff view (rollup.compute over the unit as root); `ask` is the
    round whose audience counts (default: every active unit of the subtree).
    """
    if not indicators:
        return []
    ask = ask if ask is not None else rollup.Ask()
    roll = rollup.compute(session, ask, period, unit.id, indicators)
    cumulative = [r.indicator for r in roll.indicators if r.cumulative]
    alone: dict[int | None, Actual] = {}
    if cumulative:
        alone = {r.indicator.id: _actual(r)
                 for r in rollup.compute(session, ask, period, unit.id, cumulative, cumulative=False).indicators}
    found = []
    for r in roll.indicators:
        found.append(Progress(
            indicator=r.indicator, unit=unit, period=period, target=_target_info(session, r, unit),
            actual=_actual(r), actual_in_period=alone.get(r.indicator.id),
            expected_units=r.expected if unit.level != Level.GRASSROOTS else 1, window=r.span, today=today,
            min_coverage=min_coverage))
    return found


def _target_info(session: Session, result: rollup.IndicatorResult, unit: Unit) -> TargetInfo | None:
    value = result.target()
    if value is None or result.targets is None:
        return None
    holder = unit if result.targets.holder_id == unit.id else session.get(Unit, result.targets.holder_id)
    assert holder is not None
    return TargetInfo(value, result.targets.period, holder, common=result.targets.inherited)


def progress(session: Session, unit: Unit, indicator: Indicator, period: Period,
             ask: rollup.Ask | Round | None = None, today: date | None = None,
             min_coverage: float = figures.DEFAULT_MIN_COVERAGE) -> Progress:
    """The target of an indicator for a period and what the unit (with its subtree) reported."""
    return progresses(session, unit, [indicator], period, ask, today, min_coverage)[0]


def target_of(session: Session, unit: Unit, indicator: Indicator, period: Period) -> TargetInfo | None:
    """The unit's target for the shortest period containing `period`, or a common percent target above it."""
    return progress(session, unit, indicator, period).target


def _catalogue(session: Session) -> list[Indicator]:
    return list(session.exec(select(Indicator).order_by(Indicator.position)).all())


def overview(session: Session, unit: Unit, period: Period, today: date | None = None,
             min_coverage: float = figures.DEFAULT_MIN_COVERAGE) -> list[Progress]:
    """Progress of every target the unit has for exactly this period, in catalogue order."""
    return [p for p in progresses(session, unit, _catalogue(session), period, today=today, min_coverage=min_coverage)
            if p.target is not None and p.target.period.code == period.code]


def targets_in(session: Session, unit: Unit, period: Period) -> list[tuple[Indicator, TargetInfo]]:
    """Every target of the unit for exactly this period (own and common ones), in catalogue order."""
    return [(p.indicator, p.target) for p in overview(session, unit, period) if p.target is not None]


def within(inner: Period, outer: Period) -> bool:
    return outer.starts_on <= inner.starts_on and inner.ends_on <= outer.ends_on


# ---- rounds --------------------------------------------------------------------------------


@dataclass
class RoundStatus:
    round: Round
    submission: Submission | None
    days_left: int  # local calendar days until the deadline (negative once passed)
    indicators: list[Indicator] = field(default_factory=list)
    submitted_units: int = 0  # for an upper unit: CĐCS of its subtree that submitted
    expected_units: int = 0
    asked: bool = True  # the unit itself is asked to report in the round

    @property
    def can_report(self) -> bool:
        """The unit still has to submit, and the round is open for it."""
        return self.asked and self.submission is None and not self.round.locked


def days_left(rnd: Round, now: datetime) -> int:
    return (local_today(rnd.deadline_at) - local_today(now)).days


def round_status(session: Session, rnd: Round, unit: Unit, now: datetime) -> RoundStatus:
    """Where a unit stands in a round; for an upper unit, how many of its CĐCS submitted."""
    status = RoundStatus(round=rnd, submission=reporting.submission_of(session, rnd, unit),
                         days_left=days_left(rnd, now), indicators=reporting.round_indicators(session, rnd, unit),
                         asked=reporting.in_audience(session, rnd, unit))
    if unit.level != Level.GRASSROOTS:
        expected = audience_units(session, rnd, unit)
        done = submitted_unit_ids(session, rnd, [u.id for u in expected])
        status.expected_units, status.submitted_units = len(expected), len(done)
        if not status.indicators:
            status.indicators = _round_indicator_list(session, rnd)
    return status


def _round_indicator_list(session: Session, rnd: Round) -> list[Indicator]:
    return list(session.exec(
        select(Indicator).join(RoundIndicator, col(RoundIndicator.indicator_id) == col(Indicator.id))
        .where(RoundIndicator.round_id == rnd.id).order_by(RoundIndicator.position)
    ).all())


def rounds_of(session: Session, unit: Unit, now: datetime, period: Period | None = None) -> list[Round]:
    """The rounds that concern a unit: for a period, those of that period; otherwise the open ones.

    A CĐCS is concerned by the rounds it is asked in; an upper unit by those asking any unit below it.
    """
    query = select(Round).order_by(Round.deadline_at, Round.code)
    if period is not None:
        query = query.join(Period, col(Period.id) == col(Round.period_id)).where(Period.code == period.code)
    else:
        query = query.where(Round.opens_at <= now, Round.locked == False)  # noqa: E712
    rounds = session.exec(query).all()
    if unit.level == Level.GRASSROOTS:
        return [r for r in rounds if reporting.in_audience(session, r, unit)]
    return [r for r in rounds if audience_units(session, r, unit)]


def audience_units(session: Session, rnd: Round, root: Unit) -> list[Unit]:
    """The units of a subtree asked to report in a round, by code."""
    ids = registry.subtree_ids(session, root.id)
    units = session.exec(select(Unit).where(col(Unit.id).in_(ids)).order_by(Unit.code)).all()
    return [u for u in units if reporting.in_audience(session, rnd, u)]


def submitted_unit_ids(session: Session, rnd: Round, unit_ids: list[int]) -> set[int]:
    return set(session.exec(
        select(Submission.unit_id).where(Submission.round_id == rnd.id, col(Submission.unit_id).in_(unit_ids))
    ).all())


def missing_units(session: Session, rnd: Round, root: Unit) -> tuple[list[Unit], int]:
    """The units of a subtree that have not submitted a round, and how many were asked."""
    expected = audience_units(session, rnd, root)
    done = submitted_unit_ids(session, rnd, [u.id for u in expected])
    return [u for u in expected if u.id not in done], len(expected)


def report_round_for(session: Session, unit: Unit, now: datetime, indicator_ids: set[int],
                     within_period: Period | None = None) -> Round | None:
    """An open round the unit still has to submit that asks one of these indicators (inside a period, if given)."""
    for rnd in reporting.open_rounds(session, unit, now):
        if reporting.submission_of(session, rnd, unit) is not None:
            continue
        if within_period is not None:
            period = session.get(Period, rnd.period_id)
            if period is None or not within(period, within_period):
                continue
        if indicator_ids & {i.id for i in reporting.round_indicators(session, rnd, unit)}:
            return rnd
    return None


def needs_report(p: Progress) -> bool:
    """Whether a target is not reached (or has no figures yet), so that reporting could help."""
    return p.target is not None and (not p.reported or bool(p.missing))



# ---- formatting -------------------------------------------------------------------------------


def format_percent(value: Decimal | None) -> str:
    """A percentage with exactly one decimal, the local way: "87,5%", "300,0%"; "—" when unknown."""
    return figures.format_percent(value)


def format_count(value: Decimal | None) -> str:
    return format_number(value or 0, locale=current_language())
