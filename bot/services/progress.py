"""Targets, progress and round status of a unit: the figures behind /chitieu, /tiendo, /hannop
and the answers to free-text questions. Plain functions taking a session; no channel code.

Roll-up rules (over the units of a subtree and the rounds whose period lies inside the
asked period):

* SUM (new members, money): per unit, the values of non-overlapping rounds are added
  (a year round covering the quarters wins over them, so nothing is counted twice); then
  units are added.
* SNAPSHOT (members, workers): per unit the latest value reported in the period; then
  units are added. Member counts are never added across periods.
* RATIO (people reached ÷ workers): per unit the latest numerator and the workers (LD_TONG)
  of the same report, or else the unit's latest LD_TONG up to the end of the period;
  the percent is Σ numerator ÷ Σ denominator — never an average of percentages.
* SHARE_YES (yes/no facts): per unit the latest answer; the percent of answering units
  that said yes.

Targets: a unit's own target for the shortest period containing the asked one; for ratio
and yes/no indicators, a percent target set higher up (e.g. by the provincial federation,
per sector) applies to every unit below it as a common target.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_decimal

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
from bot.services import registry, reporting
from bot.services.periods import PeriodCodeError, normalise_period_code, parse_period_code
from bot.textvn import format_number

PERCENT_ROLLUPS = (Rollup.RATIO, Rollup.SHARE_YES)


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


def within(inner: Period, outer: Period) -> bool:
    return outer.starts_on <= inner.starts_on and inner.ends_on <= outer.ends_on


# ---- targets ----------------------------------------------------------------------------


@dataclass
class TargetInfo:
    value: float
    period: Period
    unit: Unit  # whose target it is: the unit itself, or the upper level that set a common percent target
    common: bool = False


def _target_rows(session: Session, unit_ids: list[int], indicator_id: int | None, period: Period):
    query = (
        select(Target, Period).join(Period, col(Period.id) == col(Target.period_id))
        .where(col(Target.unit_id).in_(unit_ids), Period.starts_on <= period.starts_on,
               Period.ends_on >= period.ends_on)
    )
    if indicator_id is not None:
        query = query.where(Target.indicator_id == indicator_id)
    return session.exec(query).all()


def target_of(session: Session, unit: Unit, indicator: Indicator, period: Period) -> TargetInfo | None:
    """The unit's target for the shortest period containing `period`, or a common percent target above it."""
    own = [(t, p) for t, p in _target_rows(session, [unit.id], indicator.id, period)
           if t.sector in (None, "", unit.sector)]
    if own:
        t, p = min(own, key=lambda r: (r[1].ends_on - r[1].starts_on, r[0].sector is None))
        return TargetInfo(t.value, p, unit)
    if indicator.rollup not in PERCENT_ROLLUPS:
        return None
    if unit.level == Level.GRASSROOTS and not reporting.applies_to(indicator, unit):
        return None
    for upper in registry.ancestors(session, unit):
        rows = [(t, p) for t, p in _target_rows(session, [upper.id], indicator.id, period)
                if t.sector in (None, "") or (unit.sector and t.sector == unit.sector)]
        if rows:
            t, p = min(rows, key=lambda r: (r[1].ends_on - r[1].starts_on, not r[0].sector))
            return TargetInfo(t.value, p, upper, common=True)
    return None


def targets_in(session: Session, unit: Unit, period: Period) -> list[tuple[Indicator, TargetInfo]]:
    """Every target of the unit for exactly this period (own and common ones), in catalogue order."""
    result = []
    for indicator in session.exec(select(Indicator).order_by(Indicator.position)).all():
        info = target_of(session, unit, indicator, period)
        if info is not None and info.period.code == period.code:
            result.append((indicator, info))
    return result


# ---- what was reported --------------------------------------------------------------------


@dataclass
class Actual:
    """What the units reported for one indicator in a period, rolled up."""

    value: Decimal | None = None  # count/money; for RATIO and SHARE_YES the percent
    numerator: Decimal | None = None  # RATIO: people; SHARE_YES: units that said yes
    denominator: Decimal | None = None  # RATIO: workers; SHARE_YES: units that answered
    units: int = 0  # units whose reports count


@dataclass
class _Row:
    unit_id: int
    submission_id: int
    indicator: str
    value: Decimal
    starts_on: date
    ends_on: date
    at: datetime


def _rows(session: Session, unit_ids: list[int], codes: list[str], until: date) -> list[_Row]:
    rows = session.exec(
        select(Submission.unit_id, Submission.id, Indicator.code, SubmissionValue.value, Period.starts_on,
               Period.ends_on, Submission.submitted_at)
        .join(SubmissionValue, col(SubmissionValue.submission_id) == col(Submission.id))
        .join(Indicator, col(Indicator.id) == col(SubmissionValue.indicator_id))
        .join(Round, col(Round.id) == col(Submission.round_id))
        .join(Period, col(Period.id) == col(Round.period_id))
        .where(col(Submission.unit_id).in_(unit_ids), col(Indicator.code).in_(codes),
               col(SubmissionValue.value).is_not(None), Period.ends_on <= until)
    ).all()
    return [_Row(u, s, c, Decimal(str(v)), a, b, at) for u, s, c, v, a, b, at in rows]


def _latest(rows: list[_Row]) -> _Row:
    return max(rows, key=lambda r: (r.ends_on, r.at, r.submission_id))


def _non_overlapping_sum(rows: list[_Row]) -> Decimal:
    """Add the values of one unit, longest report periods first, skipping periods that overlap."""
    taken: list[_Row] = []
    for row in sorted(rows, key=lambda r: (-(r.ends_on - r.starts_on).days, -r.at.timestamp())):
        if all(row.ends_on < t.starts_on or row.starts_on > t.ends_on for t in taken):
            taken.append(row)
    return sum((r.value for r in taken), Decimal(0))


def actual(session: Session, unit_ids: list[int], indicator: Indicator, period: Period) -> Actual:
    """Roll up what the units reported for an indicator in a period (see the module docstring)."""
    codes = [indicator.code] + ([indicator.denominator_code] if indicator.denominator_code else [])
    rows = _rows(session, unit_ids, codes, period.ends_on)
    inside = [r for r in rows if r.starts_on >= period.starts_on and r.indicator == indicator.code]
    per_unit: dict[int, list[_Row]] = defaultdict(list)
    for r in inside:
        per_unit[r.unit_id].append(r)
    if not per_unit:
        return Actual()
    result = Actual(units=len(per_unit))
    if indicator.rollup == Rollup.SUM:
        result.value = sum((_non_overlapping_sum(rs) for rs in per_unit.values()), Decimal(0))
    elif indicator.rollup == Rollup.SHARE_YES:
        answers = [_latest(rs).value for rs in per_unit.values()]
        result.numerator = Decimal(sum(1 for a in answers if a))
        result.denominator = Decimal(len(answers))
        result.value = result.numerator * 100 / result.denominator
    elif indicator.rollup == Rollup.RATIO:
        denominators: dict[int, list[_Row]] = defaultdict(list)
        for r in rows:
            if r.indicator == indicator.denominator_code:
                denominators[r.unit_id].append(r)
        num = den = Decimal(0)
        counted = 0
        for unit_id, rs in per_unit.items():
            latest = _latest(rs)
            same = [d for d in denominators[unit_id] if d.submission_id == latest.submission_id]
            candidates = same or denominators[unit_id]
            if not candidates:
                continue
            num += latest.value
            den += _latest(candidates).value
            counted += 1
        result.units = counted
        if den:
            result.numerator, result.denominator = num, den
            result.value = num * 100 / den
    else:  # SNAPSHOT
        result.value = sum((_latest(rs).value for rs in per_unit.values()), Decimal(0))
    return result


# ---- progress against a target ----------------------------------------------------------------


@dataclass
class Progress:
    """An indicator's target and what was reported against it, for one unit (and its subtree)."""

    indicator: Indicator
    unit: Unit
    period: Period  # the period asked about
    target: TargetInfo | None
    actual: Actual  # over the target's period when there is a target, else over `period`
    actual_in_period: Actual | None = None  # over `period` alone, when the target's period is longer
    expected_units: int = 1

    @property
    def is_percent(self) -> bool:
        return self.indicator.rollup in PERCENT_ROLLUPS

    @property
    def reported(self) -> bool:
        return self.actual.value is not None

    @property
    def reached(self) -> Decimal | None:
        """Percent of the target reached (count and money); the rate itself for percent indicators."""
        if self.actual.value is None:
            return None
        if self.is_percent:
            return self.actual.value
        if self.target is None or not self.target.value:
            return None
        return self.actual.value * 100 / Decimal(str(self.target.value))

    @property
    def missing(self) -> Decimal | None:
        """What is still needed to meet the target: in the indicator's unit, or in people / units
        for percent indicators (the smallest whole number that lifts the rate to the target)."""
        if self.target is None or self.actual.value is None:
            return None
        goal = Decimal(str(self.target.value))
        if self.is_percent:
            num, den = self.actual.numerator or Decimal(0), self.actual.denominator or Decimal(0)
            needed = Decimal(math.ceil(goal * den / 100 - num)) if den else Decimal(0)
            return max(needed, Decimal(0))
        return max(goal - self.actual.value, Decimal(0))


def reporting_units(session: Session, unit: Unit) -> list[int]:
    """The unit and every active unit below it (whose reports count for it)."""
    ids = registry.subtree_ids(session, unit.id)
    return list(session.exec(select(Unit.id).where(col(Unit.id).in_(ids), Unit.active == True)).all())  # noqa: E712


def progress(session: Session, unit: Unit, indicator: Indicator, period: Period,
             unit_ids: list[int] | None = None) -> Progress:
    """The target of an indicator for a period and what the unit (with its subtree) reported."""
    unit_ids = unit_ids if unit_ids is not None else reporting_units(session, unit)
    target = target_of(session, unit, indicator, period)
    span = target.period if target is not None else period
    result = Progress(indicator=indicator, unit=unit, period=period, target=target,
                      actual=actual(session, unit_ids, indicator, span))
    if span.code != period.code:
        result.actual_in_period = actual(session, unit_ids, indicator, period)
    if unit.level != Level.GRASSROOTS:
        result.expected_units = sum(1 for _ in _grassroots_in(session, unit_ids))
    return result


def _grassroots_in(session: Session, unit_ids: list[int]) -> list[int]:
    return list(session.exec(select(Unit.id).where(col(Unit.id).in_(unit_ids), Unit.level == Level.GRASSROOTS)).all())


def overview(session: Session, unit: Unit, period: Period) -> list[Progress]:
    """Progress of every target of the unit for a period."""
    unit_ids = reporting_units(session, unit)
    return [progress(session, unit, indicator, period, unit_ids) for indicator, _t in targets_in(session, unit, period)]


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
    if value is None:
        return "—"
    rounded = Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return format_decimal(rounded, format="#,##0.0", locale=current_language()) + "%"


def format_count(value: Decimal | None) -> str:
    return format_number(value or 0, locale=current_language())
