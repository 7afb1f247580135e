"""Completeness of a reporting round and roll-ups of its figures against targets, in SQL.

Who reported, who is late, who is missing, and how a province (or an upper-level union,
or the whole country) stands against its targets. Everything is computed by a handful of
SQL statements (SQLAlchemy Core, the same on SQLite and PostgreSQL); only aggregated rows
— groups × sectors × indicators — reach Python, which adds them up into totals (every
aggregate is additive: sums, counts, numerators and denominators).

The statements
--------------
1. ``scope_tree``: a recursive CTE that walks down from the scope's root unit (or from
   every root, for the national view). Each unit gets its *group* — the child of the root
   it lies under (the upper-level unions of a province; the CĐCS of an upper-level union)
   — and a flag saying whether it lies under one of the round's ``audience.under`` units.
   Joined with ``unit`` and filtered by the round's audience (levels, sectors, active)
   this is the set of *expected* units.
2. Completeness: expected units LEFT JOIN the round's submissions, counted by group, level,
   sector and status (on time / late / missing).
3. Values: the submitted values of the round's indicators from every round whose period
   lies in the indicator's *comparison window* (see below), ranked per unit with window
   functions (``ROW_NUMBER() OVER (PARTITION BY unit, indicator[, period] ...)``) and
   aggregated by group and sector in one GROUP BY.
4. Ratio pairs: each unit's latest numerator joined to its latest denominator, summed by
   group and sector.

Roll-up rules (Indicator.rollup)
--------------------------------
* ``sum`` (counts, money): Σ over units and periods. Per unit, only its reports of the longest
  period kind in the window (a unit's yearly report, else its quarters), so a yearly round
  does not add up with its quarters; two rounds of the same period count once (the later one).
* ``snapshot`` (members): each unit's latest value in the window, added across units;
  never a sum across periods.
* ``ratio`` (people informed ÷ workers): Σ numerators ÷ Σ denominators × 100 over the units
  that reported both (each unit's latest figures) — never an average of percentages.
* ``share_yes``: units whose latest answer is "có" ÷ units that answered × 100, also per
  sector (targets may differ by sector).
* A unit without a figure is *missing*: it is counted in ``expected`` but not in ``units``,
  and contributes nothing — never a zero.

Comparison window: a target for a longer period than the round's (a year or term target
for a quarterly round) is compared with the cumulative figure of that period up to the end
of the round's period: window = [target period start, round period end]. Without such a
target the window is the round's own period.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, distinct, func, literal, literal_column, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.selectable import Join
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from bot.i18n import N_, _
from bot.models import (
    Indicator,
    Level,
    Period,
    Round,
    RoundIndicator,
    Rollup,
    Sector,
    Submission,
    SubmissionValue,
    Target,
    Unit,
)
from bot.services import figures, registry, tree
from bot.services.review import ReviewCounts
from bot.services.figures import NO_SECTOR, PERCENT_ROLLUPS, TargetSet, Window, attainment

log = logging.getLogger(__name__)

ON_TIME, LATE, MISSING = "on_time", "late", "missing"
GROUP_BY_CHILD = "child"  # groups are the children of the root (upper-level unions of a province)
GROUP_BY_UNIT = "unit"  # every expected unit is its own group (per-unit sheets, rankings of CĐCS)
MAX_DEPTH = 12  # guards the recursive walk against a cycle in parent links
CURRENT_TREE, PERIOD_TREE = "current", "period"  # which tree a past round's figures follow
_tree_choice: ContextVar[str] = ContextVar("rollup_tree", default=PERIOD_TREE)

_unit = Unit.__table__
_sub = Submission.__table__
_val = SubmissionValue.__table__
_round = Round.__table__
_period = Period.__table__
_target = Target.__table__
_ri = RoundIndicator.__table__


# --------------------------------------------------------------------------- result types


@dataclass
class Completeness:
    """Completeness counts: expected units split into on time, late and missing."""

    on_time: int = 0
    late: int = 0
    missing: int = 0

    @property
    def expected(self) -> int:
        return self.on_time + self.late + self.missing

    @property
    def submitted(self) -> int:
        return self.on_time + self.late

    @property
    def share(self) -> float | None:
        """Submitted ÷ expected × 100 (None when nobody is expected)."""
        return 100.0 * self.submitted / self.expected if self.expected else None

    def add(self, status: str, n: int) -> None:
        setattr(self, status, getattr(self, status) + n)


@dataclass
class Figure:
    """One indicator rolled up over some units; every field is additive."""

    rollup: str
    units: int = 0  # units whose figures are counted
    total: float = 0.0  # sum / snapshot: the figure; ratio: Σ numerators
    denominator: float = 0.0  # ratio: Σ denominators
    yes: int = 0  # share_yes: units answering "có"

    def add(self, other: "Figure") -> None:
        self.units += other.units
        self.total += other.total
        self.denominator += other.denominator
        self.yes += other.yes

    @property
    def value(self) -> float | None:
        """The rolled-up figure: a sum, or a percentage for ratio and share_yes; None if no data."""
        if self.rollup == Rollup.RATIO:
            return 100.0 * self.total / self.denominator if self.denominator else None
        if self.rollup == Rollup.SHARE_YES:
            return 100.0 * self.yes / self.units if self.units else None
        if self.rollup == Rollup.MEAN:  # a percentage each unit reports
            if self.denominator:  # weighted by what it is a share of (members): Σ(% × weight) ÷ Σ weight
                return 100.0 * self.total / self.denominator
            return self.total / self.units if self.units else None  # no weight given: the units' average
        return self.total if self.units else None

    @property
    def weight(self) -> float:
        """What a percentage is taken over, to blend per-sector targets (units or denominators)."""
        return self.denominator if self.rollup == Rollup.RATIO or self.denominator else float(self.units)


@dataclass
class IndicatorResult:
    """An indicator of the round rolled up: in total, by group, by sector, against targets."""

    indicator: Indicator
    window: Period  # comparison period (the target's, or the round's own)
    window_start: date
    cumulative: bool  # the window is longer than the round's period
    total: Figure
    expected: int  # units that should report it (audience ∩ the indicator's levels and sectors)
    by_group: dict[int, Figure] = field(default_factory=dict)
    by_sector: dict[str, Figure] = field(default_factory=dict)
    by_group_sector: dict[tuple[int, str], Figure] = field(default_factory=dict)
    expected_by_group: dict[int, int] = field(default_factory=dict)
    expected_by_group_sector: dict[tuple[int, str], int] = field(default_factory=dict)
    targets: TargetSet | None = None  # the root's target (own, or inherited for percentages)
    window_end: date | None = None  # the end of the asked period: figures are "as of" it
    _by_group_index: Any = field(default=None, repr=False, compare=False)

    @property
    def rollup(self) -> str:
        return self.indicator.rollup

    @property
    def percent(self) -> bool:
        return self.indicator.rollup in PERCENT_ROLLUPS

    @property
    def missing(self) -> int:
        return max(0, self.expected - self.total.units)

    @property
    def span(self) -> Window:
        """The comparison window: from its start up to the end of the asked period."""
        end = self.window_end or self.window.ends_on
        return Window(self.window_start, end, self.cumulative, self.window.kind)

    def enough(self, min_coverage: float = figures.DEFAULT_MIN_COVERAGE) -> bool:
        """Whether enough of the expected units reported to state an attainment."""
        return figures.enough_coverage(self.total.units, self.expected, min_coverage)

    def target(self) -> float | None:
        """The root's target for the total (per-sector targets blended, see TargetSet.blended)."""
        expected: dict[str, int] = defaultdict(int)
        for (_g, sector), n in self.expected_by_group_sector.items():
            expected[sector] += n
        return target_value(self, self.targets, self.by_sector, expected)

    def group_target(self, targets: TargetSet | None, group_id: int) -> float | None:
        """A group's target value (its sectors blended) given its TargetSet."""
        if targets is None:
            return None
        return target_value(self, targets, self.group_sectors(group_id), self._index()[1].get(group_id, {}))

    def attainment(self) -> float | None:
        """Total ÷ target × 100 (not capped), None without data or target."""
        return attainment(self.total.value, self.target())

    def group_sectors(self, group_id: int) -> dict[str, Figure]:
        return self._index()[0].get(group_id, {})

    def _index(self) -> tuple[dict[int, dict[str, Figure]], dict[int, dict[str, int]]]:
        """Figures and expected units by group, then sector (built once, after assembly)."""
        if self._by_group_index is None:
            figures: dict[int, dict[str, Figure]] = defaultdict(dict)
            for (g, sector), fig in self.by_group_sector.items():
                figures[g][sector] = fig
            expected: dict[int, dict[str, int]] = defaultdict(dict)
            for (g, sector), n in self.expected_by_group_sector.items():
                expected[g][sector] = n
            self._by_group_index = (dict(figures), dict(expected))
        return self._by_group_index


def target_value(result: IndicatorResult, targets: TargetSet | None, by_sector: dict[str, Figure],
                 expected: dict[str, int] | None = None) -> float | None:
    """The target of figures spread over sectors (see figures.target_value)."""
    expected = expected or {}
    units = sum(f.units for f in by_sector.values())
    return figures.target_value(result.indicator.rollup, targets, {s: f.weight for s, f in by_sector.items()},
                                expected, units)


@dataclass
class RoundRollup:
    """Completeness and indicator roll-ups of one round over one scope."""

    round: Round
    period: Period
    root: Unit | None  # None: every unit (the national view)
    group_by: str
    groups: dict[int, Unit]  # group id → unit, in display order
    completeness: Completeness
    completeness_by_group: dict[int, Completeness]
    indicators: list[IndicatorResult]
    targets_by_holder: dict[int, dict[int, TargetSet]] = field(default_factory=dict)  # unit → indicator → targets
    chain: dict[int, list[int]] = field(default_factory=dict)  # group → holders to look targets up in
    tree_day: date | None = None  # the figures follow the tree of this day (None: today's)
    tree_changed: bool = False  # the tree has changed since the round's period (either way)
    approved_only: bool = False  # figures count only approved reports (rounds that require review)
    reviews: ReviewCounts | None = None  # review states of the submitted reports (None: no review)
    reviews_by_group: dict[int, ReviewCounts] = field(default_factory=dict)

    def basis(self) -> str:
        """Which reports the figures count, in words ("" for a round without review): said beside
        the figures on the dashboard, in the workbook and under the chart."""
        counts = self.reviews
        if counts is None:
            return ""
        if self.approved_only:
            return _("Figures count approved reports only ({a} of {s} submitted).").format(
                a=counts.approved, s=counts.submitted)
        return _("Figures count every submitted report; {a} of {s} approved ({share}).").format(
            a=counts.approved, s=counts.submitted, share=figures.format_percent(counts.approved_share))

    def indicator(self, code: str) -> IndicatorResult:
        for result in self.indicators:
            if result.indicator.code == code:
                return result
        raise KeyError(code)

    def group_targets(self, result: IndicatorResult, group_id: int) -> TargetSet | None:
        """A group's own target, or (for percentages) the nearest one above it."""
        return resolve_targets(result.indicator, self.chain.get(group_id, [group_id]), self.targets_by_holder)


# --------------------------------------------------------------------------- SQL building blocks


def tree_day(session: Session, rnd: Round | "Ask") -> date | None:
    """The day whose tree a round's figures follow: the last day of its period when the tree has
    changed since (figures stay where they were reported), else None (today's tree, the same).
    Inside ``current_tree()`` always None."""
    if _tree_choice.get() == CURRENT_TREE or getattr(rnd, "period_id", None) is None:
        return None
    period = session.get(Period, rnd.period_id)
    if period is None or not tree.changed_since(session, period.ends_on):
        return None
    return period.ends_on


@contextmanager
def current_tree() -> Iterator[None]:
    """Roll up by today's tree, also for past periods (staff's "cơ cấu hiện tại" choice)."""
    token = _tree_choice.set(CURRENT_TREE)
    try:
        yield
    finally:
        _tree_choice.reset(token)


def _units(session: Session, rnd: Round | "Ask"):  # type: ignore[no-untyped-def]
    day = tree_day(session, rnd)
    return _unit if day is None else tree.units_on(day)


def scope_tree(session: Session, rnd: Round, root_id: int | None, units=None):  # type: ignore[no-untyped-def]
    """Recursive CTE (unit_id, group_id, depth, inside) of the units under the root.

    ``group_id`` is the child of the root a unit lies under (the root itself is its own
    group); for the national view (root None) every root is a group. ``inside`` is 1 when
    the unit lies under one of the round's ``audience.under`` units (or there are none).
    ``units`` is the unit table to walk (default: as it was at the end of the round's period).
    """
    units = _units(session, rnd) if units is None else units
    under = [str(c) for c in (rnd.audience or {}).get("under") or []]
    one, zero = literal_column("1"), literal_column("0")
    if root_id is None:
        inside0 = case((units.c.code.in_(under), one), else_=zero) if under else one
        anchor = select(units.c.id.label("unit_id"), units.c.id.label("group_id"), zero.label("depth"),
                        inside0.label("inside")).where(units.c.parent_id.is_(None))
    else:
        root = session.get(Unit, root_id)
        if root is None:
            raise ValueError(f"no unit {root_id}")
        codes = {root.code} | {a.code for a in registry.ancestors(session, root)}
        inside0 = one if (not under or codes.intersection(under)) else zero
        anchor = select(units.c.id.label("unit_id"), units.c.id.label("group_id"), zero.label("depth"),
                        inside0.label("inside")).where(units.c.id == root_id)
    walk = anchor.cte("scope_tree", recursive=True)
    child = units.alias("child")
    if root_id is None:
        group = walk.c.group_id
    else:
        group = case((walk.c.depth == 0, child.c.id), else_=walk.c.group_id)
    inside = case((or_(walk.c.inside == 1, child.c.code.in_(under)), one), else_=zero) if under else walk.c.inside
    step = (select(child.c.id, group, walk.c.depth + 1, inside)
            .select_from(child.join(walk, child.c.parent_id == walk.c.unit_id))
            .where(walk.c.depth < MAX_DEPTH))
    return walk.union_all(step)


def expected_units(session: Session, rnd: Round, root_id: int | None):  # type: ignore[no-untyped-def]
    """Subquery (unit_id, group_id, level, sector) of the units asked to report in the round,
    in the tree (and with the units' activity) of the end of its period."""
    audience = rnd.audience or {}
    levels = list(audience.get("levels") or [Level.GRASSROOTS.value])
    sectors = list(audience.get("sectors") or [])
    units = _units(session, rnd)
    walk = scope_tree(session, rnd, root_id, units)
    conditions = [walk.c.inside == 1, units.c.active == literal(True), units.c.level.in_(levels)]
    if sectors:
        conditions.append(units.c.sector.in_(sectors))
    # A LIMIT no smaller than the whole unit table changes no result but gives the planner a
    # bound: without one SQLite guesses the recursive CTE is huge and builds Bloom filters by
    # scanning all of submission and submission_value (hundreds of ms on a national database).
    bound = session.execute(select(func.max(_unit.c.id))).scalar() or 1
    return (select(walk.c.unit_id, walk.c.group_id, units.c.level,
                   func.coalesce(units.c.sector, NO_SECTOR).label("sector"))
            .select_from(walk.join(units, units.c.id == walk.c.unit_id))
            .where(*conditions).limit(literal_column(str(int(bound))))).subquery("expected")


def _status_column():  # type: ignore[no-untyped-def]
    # constants written inline, so that PostgreSQL sees the same expression in SELECT and GROUP BY
    return case((_sub.c.id.is_(None), literal_column(f"'{MISSING}'")),
                (_sub.c.late == literal(True), literal_column(f"'{LATE}'")),
                else_=literal_column(f"'{ON_TIME}'"))


def completeness_rows(session: Session, rnd: Round, root_id: int | None,
                      group_by: str = GROUP_BY_CHILD) -> list[tuple[int, str, str, str, int]]:
    """(group id, level, sector, status, units) for the round's expected units."""
    exp = expected_units(session, rnd, root_id)
    key = exp.c.unit_id if group_by == GROUP_BY_UNIT else exp.c.group_id
    status = _status_column()
    stmt = (select(key, exp.c.level, exp.c.sector, status, func.count())
            .select_from(exp.outerjoin(_sub, and_(_sub.c.unit_id == exp.c.unit_id, _sub.c.round_id == rnd.id)))
            .group_by(key, exp.c.level, exp.c.sector, status))
    return [tuple(r) for r in session.execute(stmt).all()]  # type: ignore[misc]


def review_counts(session: Session, rnd: Round, root_id: int | None,
                  group_by: str = GROUP_BY_CHILD) -> tuple[ReviewCounts, dict[int, ReviewCounts]]:
    """Approved / waiting / returned reports of the expected units, in total and by group."""
    exp = expected_units(session, rnd, root_id)
    key = exp.c.unit_id if group_by == GROUP_BY_UNIT else exp.c.group_id
    stmt = (select(key, _sub.c.review, func.count())
            .select_from(exp.join(_sub, and_(_sub.c.unit_id == exp.c.unit_id, _sub.c.round_id == rnd.id)))
            .group_by(key, _sub.c.review))
    total = ReviewCounts()
    by_group: dict[int, ReviewCounts] = defaultdict(ReviewCounts)
    for gid, state, n in session.execute(stmt).all():
        total.add(state, n)
        by_group[gid].add(state, n)
    return total, dict(by_group)


@dataclass
class UnitStatus:
    """One expected unit of a round: where it sits and whether it reported."""

    unit_id: int
    code: str
    name: str
    group_id: int
    sector: str
    status: str
    submitted_at: datetime | None
    reference: str | None
    review: str | None = None  # waiting | approved | returned (rounds that require review)


def unit_statuses(session: Session, rnd: Round, root_id: int | None) -> list[UnitStatus]:
    """Every expected unit with its status, ordered by group and code (for lists and Excel)."""
    exp = expected_units(session, rnd, root_id)
    stmt = (select(exp.c.unit_id, _unit.c.code, _unit.c.name, exp.c.group_id, exp.c.sector, _status_column(),
                   _sub.c.submitted_at, _sub.c.reference, _sub.c.review)
            .select_from(exp.join(_unit, _unit.c.id == exp.c.unit_id)
                         .outerjoin(_sub, and_(_sub.c.unit_id == exp.c.unit_id, _sub.c.round_id == rnd.id)))
            .order_by(exp.c.group_id, _unit.c.code))
    return [UnitStatus(*row) for row in session.execute(stmt).all()]


def round_values(session: Session, rnd: Round, root_id: int | None) -> dict[tuple[int, int], float | None]:
    """(unit id, indicator id) → the value each expected unit submitted in this round (for sheets)."""
    exp = expected_units(session, rnd, root_id)
    stmt = (select(_sub.c.unit_id, _val.c.indicator_id, _val.c.value)
            .select_from(exp.join(_sub, and_(_sub.c.unit_id == exp.c.unit_id, _sub.c.round_id == rnd.id))
                         .join(_val, _val.c.submission_id == _sub.c.id)))
    return {(u, i): v for u, i, v in session.execute(stmt).all()}


class DrivingJoin(Join):
    """A join whose left side drives the loop (the scope's few units, then their submissions).

    SQLite's planner otherwise likes to walk *every* submission in unit order (it saves the
    sort of the window functions) and probe the scope for each — fine for one province,
    ruinous for a province of a national database. ``CROSS JOIN … ON`` is SQLite's
    documented way to keep the written order; other databases get a plain JOIN.
    """

    inherit_cache = True


@compiles(DrivingJoin, "sqlite")
def _sqlite_driving_join(element, compiler, **kw):  # type: ignore[no-untyped-def]
    kw["asfrom"] = True
    return (f"{compiler.process(element.left, **kw)} CROSS JOIN "
            f"{compiler.process(element.right, **kw)} ON {compiler.process(element.onclause, **kw)}")


def _member(column, ids: list[int]):  # type: ignore[no-untyped-def]
    """``column IN ids`` written as a CASE: a selective IN on an indexed column makes SQLite build
    a Bloom filter over the whole submission_value table first (hundreds of ms at national scale)."""
    return case({i: 1 for i in ids}, value=column, else_=0) == 1


def _asked(indicator_rounds: dict[int, list[int]]):  # type: ignore[no-untyped-def]
    """The value's indicator is wanted and comes from one of that indicator's rounds — one CASE.

    Written as OR-ed (indicator = i AND round IN …) terms, PostgreSQL turns the indicator tests
    into a BitmapOr over the whole indicator index for every submission (seconds per province).
    """
    return case(*[(and_(_val.c.indicator_id == i, _member(_sub.c.round_id, rs)), 1)
                  for i, rs in sorted(indicator_rounds.items())], else_=0) == 1


@dataclass
class ValuePlan:
    """Which rounds feed each indicator, and whether plain aggregation suffices."""

    rounds: dict[int, list[int]]  # indicator → rounds asking it within its window
    direct: set[int]  # indicators summed straight from their rounds (no window functions)
    den_rounds: dict[int, list[int]] = field(default_factory=dict)  # ratio numerator → rounds of its denominator


def plan_values(session: Session, period: Period, indicators: list[Indicator], window_start: dict[int, date],
                denominators: dict[int, int]) -> ValuePlan:
    """Candidate rounds per indicator (from the small round tables) and the fast-path choice.

    A sum needs no ranking when its rounds have distinct periods (one figure per unit and
    period); a latest-value roll-up needs none when a single round feeds it (and, for a
    ratio, the same single round feeds its denominator).
    """
    ids = sorted({i.id for i in indicators} | set(denominators.values()))  # type: ignore[type-var]
    earliest = min([period.starts_on, *window_start.values()])
    rows = session.execute(
        select(_ri.c.indicator_id, _round.c.id, _round.c.period_id, _period.c.kind, _period.c.starts_on)
        .select_from(_ri.join(_round, _round.c.id == _ri.c.round_id).join(_period, _period.c.id == _round.c.period_id))
        .where(_ri.c.indicator_id.in_(ids), _period.c.ends_on <= period.ends_on, _period.c.starts_on >= earliest)
    ).all()
    rollups = {i.id: i.rollup for i in indicators}
    rounds: dict[int, list[int]] = defaultdict(list)
    periods_of: dict[int, list[int]] = defaultdict(list)
    asked: dict[int, list[tuple[int, date]]] = defaultdict(list)  # indicator → (round, period start)
    candidates: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for ind_id, round_id, period_id, kind, starts_on in rows:
        asked[ind_id].append((round_id, starts_on))
        if ind_id not in rollups or starts_on < window_start.get(ind_id, period.starts_on):
            continue
        candidates[ind_id].append((round_id, period_id, kind))
    kinds_of: dict[int, set[str]] = defaultdict(set)
    for ind_id, feeds in sorted(candidates.items()):
        for round_id, period_id, kind in feeds:
            rounds[ind_id].append(round_id)
            periods_of[ind_id].append(period_id)
            kinds_of[ind_id].add(kind)
    den_rounds = {  # a denominator is read over its numerator's window
        num: sorted(r for r, starts_on in asked.get(den, []) if starts_on >= window_start.get(num, period.starts_on))
        for num, den in denominators.items()}
    direct: set[int] = set()
    for ind in indicators:
        rs = sorted(rounds.get(ind.id, []))  # type: ignore[arg-type]
        if ind.rollup == Rollup.SUM:  # one kind of period, one round each: nothing to choose per unit
            if len(set(periods_of[ind.id])) == len(rs) and len(kinds_of[ind.id]) <= 1:  # type: ignore[index]
                direct.add(ind.id)  # type: ignore[arg-type]
        elif ind.rollup == Rollup.RATIO:
            if ind.id in den_rounds and len(rs) <= 1 and den_rounds[ind.id] == rs:  # type: ignore[index]
                direct.add(ind.id)  # type: ignore[arg-type]
        elif len(rs) <= 1:
            direct.add(ind.id)  # type: ignore[arg-type]
    return ValuePlan(rounds=dict(rounds), direct=direct, den_rounds=den_rounds)


def _scoped_values(session: Session, rnd: Round, root_id: int | None, group_by: str, round_ids: list[int],
                   approved_only: bool = False):  # type: ignore[no-untyped-def]
    """FROM clause: expected units → their submissions in these rounds → values; the group key; and
    the *owner* of each submission: the expected unit itself, or the survivor a merged unit's
    reports now count into (merged units are no longer asked; their figures are not lost).

    ``approved_only`` leaves out reports waiting for review or returned (those of rounds without
    review always count)."""
    exp = expected_units(session, rnd, root_id)
    reviewed = [or_(_sub.c.review.is_(None), _sub.c.review == literal_column("'approved'"))] if approved_only else []
    if session.execute(select(_unit.c.id).where(_unit.c.merged_into_id.is_not(None)).limit(1)).first() is None:
        key = exp.c.unit_id if group_by == GROUP_BY_UNIT else exp.c.group_id
        joined = DrivingJoin(exp, _sub, and_(_sub.c.unit_id == exp.c.unit_id, _member(_sub.c.round_id, round_ids),
                                             *reviewed))
        return exp, key, joined, exp.c.unit_id, None
    units = _units(session, rnd)
    own = select(exp.c.unit_id, exp.c.unit_id.label("owner_id"), exp.c.group_id, exp.c.sector)
    absorbed = (select(units.c.id.label("unit_id"), exp.c.unit_id.label("owner_id"), exp.c.group_id, exp.c.sector)
                .select_from(units.join(exp, units.c.merged_into_id == exp.c.unit_id))
                .where(units.c.active == literal(False)))
    src = own.union_all(absorbed).subquery("sources")
    key = src.c.owner_id if group_by == GROUP_BY_UNIT else src.c.group_id
    joined = DrivingJoin(src, _sub, and_(_sub.c.unit_id == src.c.unit_id, _member(_sub.c.round_id, round_ids),
                                         *reviewed))
    return src, key, joined, src.c.owner_id, src.c.unit_id == src.c.owner_id


def direct_rows(session: Session, rnd: Round, root_id: int | None, group_by: str,
                indicator_rounds: dict[int, list[int]], sums: set[int] = frozenset(),  # type: ignore[assignment]
                approved_only: bool = False) -> list[tuple[Any, ...]]:
    """(group, sector, indicator, units, Σ value, answers "có") by plain GROUP BY, no ranking.

    A merged unit's reports count into its survivor for the indicators in ``sums`` only (a
    snapshot is the survivor's own latest figure, never added to the merged unit's)."""
    if not indicator_rounds:
        return []
    all_rounds = sorted({r for rs in indicator_rounds.values() for r in rs})
    exp, key, joined, owner, own = _scoped_values(session, rnd, root_id, group_by, all_rounds, approved_only)
    pairs = _asked(indicator_rounds)
    counted = [pairs, _val.c.value.is_not(None)]
    if own is not None:
        counted.append(or_(own, _member(_val.c.indicator_id, sorted(sums))) if sums else own)
    stmt = (select(key, exp.c.sector, _val.c.indicator_id, func.count(distinct(owner)), func.sum(_val.c.value),
                   func.sum(case((_val.c.value > 0, 1), else_=0)))
            .select_from(joined.join(_val, _val.c.submission_id == _sub.c.id))
            .where(*counted)
            .group_by(key, exp.c.sector, _val.c.indicator_id))
    return [tuple(r) for r in session.execute(stmt).all()]


def direct_ratio_rows(session: Session, rnd: Round, root_id: int | None, group_by: str,
                      denominators: dict[int, int], indicator_rounds: dict[int, list[int]],
                      approved_only: bool = False, weighted: set[int] = frozenset()) -> list[tuple[Any, ...]]:  # type: ignore[assignment]
    """(group, sector, numerator, units, Σ numerator, Σ denominator): both figures from the same submission.

    For a ``weighted`` numerator (a percentage each unit reports) the numerator summed is
    percentage × denominator ÷ 100: the people it is a share of, so the result is a ratio of sums."""
    if not denominators:
        return []
    all_rounds = sorted({r for n in denominators for r in indicator_rounds.get(n, [])})
    if not all_rounds:
        return []
    exp, key, joined, _owner, own = _scoped_values(session, rnd, root_id, group_by, all_rounds, approved_only)
    num, den = _val.alias("num"), _val.alias("den")
    wanted = case(dict(denominators), value=num.c.indicator_id)
    numerator = num.c.value
    if weighted:
        numerator = case((_member(num.c.indicator_id, sorted(weighted)), num.c.value * den.c.value / 100.0),
                         else_=num.c.value)
    stmt = (select(key, exp.c.sector, num.c.indicator_id, func.count(), func.sum(numerator), func.sum(den.c.value))
            .select_from(joined.join(num, num.c.submission_id == _sub.c.id)
                         .join(den, and_(den.c.submission_id == _sub.c.id, den.c.indicator_id == wanted)))
            .where(_member(num.c.indicator_id, list(denominators)), num.c.value.is_not(None), den.c.value.is_not(None),
                   *([own] if own is not None else []))
            .group_by(key, exp.c.sector, num.c.indicator_id))
    return [tuple(r) for r in session.execute(stmt).all()]


def _ranked_values(session: Session, rnd: Round, period: Period, root_id: int | None, group_by: str,
                   indicator_rounds: dict[int, list[int]], approved_only: bool = False):  # type: ignore[no-untyped-def]
    """Subquery of values with rn_period (latest round of a period) and rn_latest (latest overall)."""
    all_rounds = sorted({r for rs in indicator_rounds.values() for r in rs})
    exp, key, joined, owner, own = _scoped_values(session, rnd, root_id, group_by, all_rounds, approved_only)
    rn_period = func.row_number().over(
        partition_by=(_sub.c.unit_id, _val.c.indicator_id, _round.c.period_id),
        order_by=(_round.c.deadline_at.desc(), _round.c.id.desc()))
    rn_latest = func.row_number().over(
        partition_by=(_sub.c.unit_id, _val.c.indicator_id),
        order_by=(_period.c.ends_on.desc(), _round.c.deadline_at.desc(), _round.c.id.desc()))
    kind_rank = case(figures.KIND_ORDER, value=_period.c.kind, else_=0)
    longest = func.max(kind_rank).over(partition_by=(_sub.c.unit_id, _val.c.indicator_id))
    pairs = _asked(indicator_rounds)
    # a latest figure (snapshot, ratio, "có") is a unit's own: a merged unit's is not its survivor's
    latest_ok = rn_latest if own is None else case((own, rn_latest), else_=literal(0))
    return (select(key.label("gkey"), exp.c.sector, owner.label("unit_id"), _val.c.indicator_id, _val.c.value,
                   _period.c.kind, rn_period.label("rn_period"), latest_ok.label("rn_latest"),
                   kind_rank.label("kind_rank"), longest.label("longest"))
            .select_from(joined.join(_round, _round.c.id == _sub.c.round_id)
                         .join(_period, _period.c.id == _round.c.period_id)
                         .join(_val, _val.c.submission_id == _sub.c.id))
            .where(pairs, _val.c.value.is_not(None))).subquery("ranked")


def ranked_rows(session: Session, rnd: Round, period: Period, root_id: int | None, group_by: str,
                indicator_rounds: dict[int, list[int]], approved_only: bool = False) -> list[tuple[Any, ...]]:
    """(group, sector, indicator, n_sum, Σ sum, n_latest, Σ latest, yes) with window functions."""
    if not indicator_rounds:
        return []
    v = _ranked_values(session, rnd, period, root_id, group_by, indicator_rounds, approved_only)
    in_sum = and_(v.c.rn_period == 1, v.c.kind_rank == v.c.longest)  # figures.sum rule: longest periods per unit
    latest = v.c.rn_latest == 1
    stmt = (select(v.c.gkey, v.c.sector, v.c.indicator_id,
                   func.count(distinct(case((in_sum, v.c.unit_id)))),
                   func.sum(case((in_sum, v.c.value))),
                   func.sum(case((latest, 1), else_=0)),
                   func.sum(case((latest, v.c.value))),
                   func.sum(case((and_(latest, v.c.value > 0), 1), else_=0)))
            .group_by(v.c.gkey, v.c.sector, v.c.indicator_id))
    return [tuple(r) for r in session.execute(stmt).all()]


def ranked_ratio_rows(session: Session, rnd: Round, period: Period, root_id: int | None, group_by: str,
                      denominators: dict[int, int], plan: ValuePlan, approved_only: bool = False,
                      weighted: set[int] = frozenset()) -> list[tuple[Any, ...]]:  # type: ignore[assignment]
    """(group, sector, numerator, units, Σ numerator, Σ denominator): each unit's latest of both
    (a ``weighted`` numerator, a percentage, counts as percentage × denominator ÷ 100).

    One statement per ratio indicator: the latest numerator and denominator of each unit are
    put side by side with a GROUP BY unit (not a self-join of the ranked rows, which the
    PostgreSQL planner, blind to a CTE's size, runs as a quadratic nested loop).
    """
    found: list[tuple[Any, ...]] = []
    for num_id, den_id in sorted(denominators.items()):
        feeds = {num_id: plan.rounds.get(num_id, []), den_id: plan.den_rounds.get(num_id, [])}
        if num_id == den_id or not all(feeds.values()):
            continue
        v = _ranked_values(session, rnd, period, root_id, group_by, feeds, approved_only)
        pairs = (select(v.c.gkey, v.c.sector, v.c.unit_id,
                        func.max(case((v.c.indicator_id == num_id, v.c.value))).label("num"),
                        func.max(case((v.c.indicator_id == den_id, v.c.value))).label("den"))
                 .where(v.c.rn_latest == 1)
                 .group_by(v.c.gkey, v.c.sector, v.c.unit_id)).subquery("pairs")
        numerator = pairs.c.num * pairs.c.den / 100.0 if num_id in weighted else pairs.c.num
        stmt = (select(pairs.c.gkey, pairs.c.sector, func.count(), func.sum(numerator), func.sum(pairs.c.den))
                .where(pairs.c.num.is_not(None), pairs.c.den.is_not(None))
                .group_by(pairs.c.gkey, pairs.c.sector))
        found += [(g, sector, num_id, n, a, b) for g, sector, n, a, b in session.execute(stmt).all()]
    return found


# --------------------------------------------------------------------------- targets


def _target_rows(session: Session, period: Period, indicator_ids: list[int], unit_ids: list[int] | None,
                 tree_units=None) -> list[tuple[int, int, str | None, float, int]]:  # type: ignore[no-untyped-def]
    """(unit, indicator, sector, value, period id) of targets whose period contains the round's."""
    stmt = (select(_target.c.unit_id, _target.c.indicator_id, _target.c.sector, _target.c.value, _period.c.id)
            .select_from(_target.join(_period, _period.c.id == _target.c.period_id))
            .where(_target.c.indicator_id.in_(indicator_ids), _period.c.starts_on <= period.starts_on,
                   _period.c.ends_on >= period.ends_on))
    if tree_units is not None:
        stmt = stmt.where(_target.c.unit_id.in_(select(tree_units.c.unit_id).scalar_subquery()))
    elif unit_ids is not None:
        stmt = stmt.where(_target.c.unit_id.in_(unit_ids))
    return [tuple(r) for r in session.execute(stmt).all()]  # type: ignore[misc]


def collect_targets(session: Session, rows: list[tuple[int, int, str | None, float, int]],
                    periods: dict[int, Period]) -> dict[int, dict[int, TargetSet]]:
    """unit → indicator → TargetSet, keeping the shortest period that contains the round's."""
    missing = {r[4] for r in rows} - set(periods)
    for p in session.exec(sm_select(Period).where(col(Period.id).in_(missing))).all() if missing else []:
        periods[p.id] = p  # type: ignore[index]
    return figures.collect_targets(rows, periods)


def resolve_targets(indicator: Indicator, chain: list[int],
                    targets: dict[int, dict[int, TargetSet]]) -> TargetSet | None:
    """The first holder's target along the chain; sums and snapshots only take the holder's own."""
    return figures.resolve_targets(indicator.rollup, indicator.id, chain, targets)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the roll-up


def round_indicator_list(session: Session, rnd: Round) -> list[Indicator]:
    return list(session.exec(
        sm_select(Indicator).join(RoundIndicator, col(RoundIndicator.indicator_id) == col(Indicator.id))
        .where(RoundIndicator.round_id == rnd.id)
        .order_by(RoundIndicator.position, Indicator.position)
    ).all())


def applies(indicator: Indicator, level: str, sector: str) -> bool:
    return figures.applies(indicator.levels, indicator.sectors, level, sector)


@dataclass
class Ask:
    """Whose figures count when no round is asked about: its audience (default: every active unit
    of any level) and no round of its own (completeness is then meaningless: nobody submitted it)."""

    audience: dict = field(default_factory=lambda: {"levels": list(figures.ALL_LEVELS)})
    id: int | None = None
    code: str = ""
    title: str = ""


def rollup_round(session: Session, rnd: Round, root_id: int | None, *, group_by: str = GROUP_BY_CHILD,
                 indicator_codes: list[str] | None = None, group_targets: bool = False,
                 approved_only: bool = False) -> RoundRollup:
    """Completeness and roll-ups of a round under a root unit (None: everything).

    ``group_targets`` also loads the targets of every unit in the scope (for rankings and
    per-unit sheets); the root's own and its ancestors' targets are always loaded.
    """
    period = session.get(Period, rnd.period_id)
    assert period is not None
    indicators = round_indicator_list(session, rnd)
    if indicator_codes is not None:
        wanted = [c.upper() for c in indicator_codes]
        indicators = [i for i in indicators if i.code in wanted]
    return compute(session, rnd, period, root_id, indicators, group_by=group_by, group_targets=group_targets,
                   approved_only=approved_only)


def compute(session: Session, rnd: Round | Ask, period: Period, root_id: int | None, indicators: list[Indicator],
            *, group_by: str = GROUP_BY_CHILD, group_targets: bool = False, cumulative: bool = True,
            approved_only: bool = False) -> RoundRollup:
    """The one fetch behind every figure: completeness of the asked units and the indicators rolled
    up over the comparison window of `period` (see bot.services.figures) under a root unit.

    ``rnd`` is the round whose audience is asked (or an Ask: everyone, for a unit's progress);
    ``cumulative=False`` keeps every window to `period` itself (what was reported in it alone);
    ``approved_only`` counts only approved reports of rounds that require review.
    """
    root = session.get(Unit, root_id) if root_id is not None else None

    # 1. completeness by group, level and sector
    buckets = completeness_rows(session, rnd, root_id, group_by)
    completeness = Completeness()
    by_group: dict[int, Completeness] = defaultdict(Completeness)
    for gid, _level, _sector, status, n in buckets:
        completeness.add(status, n)
        by_group[gid].add(status, n)

    # 2. targets: the root and its ancestors (and, if asked, every unit of the scope)
    periods: dict[int, Period] = {period.id: period}  # type: ignore[dict-item]
    above = registry.ancestors(session, root) if root is not None else []
    holders = [u.id for u in ([root] if root else []) + above]
    ids = [i.id for i in indicators]
    rows = _target_rows(session, period, ids, holders) if holders and ids else []
    if group_targets and ids:
        exp_units = expected_units(session, rnd, root_id)
        rows += _target_rows(session, period, ids, None, tree_units=exp_units)
        group_ids = [g for g in by_group if g not in holders]
        if group_by == GROUP_BY_CHILD and group_ids:
            rows += _target_rows(session, period, ids, group_ids)
    targets = collect_targets(session, list(dict.fromkeys(rows)), periods)

    # 3. comparison windows: the reference target's period, else the round's period
    reference = resolve_chain_targets(indicators, holders, targets)
    if group_targets:
        for ind in indicators:
            if ind.id not in reference:
                common = _most_common_period(ind.id, targets, set(holders))  # type: ignore[arg-type]
                if common is not None:
                    reference[ind.id] = common  # type: ignore[index]
    if not cumulative:
        reference = {}
    window: dict[int, Period] = {i.id: reference.get(i.id, period) for i in indicators}  # type: ignore[misc]
    window_start = {i: figures.comparison_window(period.starts_on, period.ends_on, p.starts_on).start
                    for i, p in window.items()}

    # 4. values, aggregated in SQL: plain GROUP BY where each unit has one figure per round and
    #    period, window functions (latest value, one figure per period) where it may have several
    den_ids = _denominators(session, indicators)
    plan = plan_values(session, period, indicators, window_start, den_ids)
    figs: dict[int, dict[tuple[int, str], Figure]] = defaultdict(dict)
    rollups = {i.id: i.rollup for i in indicators}
    plain = [i.id for i in indicators if i.rollup != Rollup.RATIO and i.id not in den_ids]
    direct = {i: plan.rounds[i] for i in plain if i in plan.direct and i in plan.rounds}
    for gid, sector, ind_id, n, total, yes in direct_rows(
            session, rnd, root_id, group_by, direct, {i.id for i in indicators if i.rollup == Rollup.SUM},
            approved_only):
        share = rollups[ind_id] == Rollup.SHARE_YES
        figs[ind_id][(gid, sector or NO_SECTOR)] = Figure(
            rollups[ind_id], units=int(n or 0), total=0.0 if share else float(total or 0), yes=int(yes or 0) if share else 0)
    ranked = {i: plan.rounds[i] for i in plain if i not in plan.direct and i in plan.rounds}
    for gid, sector, ind_id, n_sum, s_sum, n_latest, latest_sum, yes in ranked_rows(
            session, rnd, period, root_id, group_by, ranked, approved_only):
        rollup = rollups[ind_id]
        if rollup == Rollup.SUM:
            fig = Figure(rollup, units=int(n_sum or 0), total=float(s_sum or 0))
        elif rollup == Rollup.SHARE_YES:
            fig = Figure(rollup, units=int(n_latest or 0), yes=int(yes or 0))
        else:  # snapshot and mean (and anything unknown): each unit's latest value
            fig = Figure(rollup, units=int(n_latest or 0), total=float(latest_sum or 0))
        figs[ind_id][(gid, sector or NO_SECTOR)] = fig
    direct_den = {n: d for n, d in den_ids.items() if n in plan.direct}
    ranked_den = {n: d for n, d in den_ids.items() if n not in plan.direct}
    weighted = {i.id for i in indicators if i.rollup == Rollup.MEAN}
    ratio = (direct_ratio_rows(session, rnd, root_id, group_by, direct_den, plan.rounds, approved_only, weighted)
             + ranked_ratio_rows(session, rnd, period, root_id, group_by, ranked_den, plan, approved_only, weighted))
    for gid, sector, ind_id, n, num_sum, den_sum in ratio:
        figs[ind_id][(gid, sector or NO_SECTOR)] = Figure(
            rollups[ind_id], units=int(n), total=float(num_sum or 0), denominator=float(den_sum or 0))

    # 5. assemble totals, groups and sectors (Python adds up aggregated rows only)
    results = []
    for ind in indicators:
        result = IndicatorResult(
            indicator=ind, window=window[ind.id], window_start=window_start[ind.id],  # type: ignore[index]
            cumulative=window_start[ind.id] < period.starts_on, total=Figure(ind.rollup), expected=0,  # type: ignore[index]
            targets=resolve_targets(ind, holders, targets) if holders else None, window_end=period.ends_on)
        for (gid, sector), fig in figs.get(ind.id, {}).items():  # type: ignore[arg-type]
            result.total.add(fig)
            result.by_group.setdefault(gid, Figure(ind.rollup)).add(fig)
            result.by_sector.setdefault(sector, Figure(ind.rollup)).add(fig)
            result.by_group_sector[(gid, sector)] = fig
        for gid, level, sector, _status, n in buckets:
            if applies(ind, level, sector or NO_SECTOR):
                result.expected += n
                result.expected_by_group[gid] = result.expected_by_group.get(gid, 0) + n
                key = (gid, sector or NO_SECTOR)
                result.expected_by_group_sector[key] = result.expected_by_group_sector.get(key, 0) + n
        results.append(result)

    groups = _group_units(session, list(by_group))
    chain = {gid: list(dict.fromkeys([gid, *_between(session, gid, root, group_by), *holders])) for gid in groups}
    day = tree_day(session, rnd)
    changed = day is not None or (rnd.id is not None and tree.changed_since(session, period.ends_on))
    reviews, reviews_by_group = (review_counts(session, rnd, root_id, group_by)
                                 if getattr(rnd, "requires_review", False) else (None, {}))
    return RoundRollup(round=rnd, period=period, root=root, group_by=group_by, groups=groups,
                       completeness=completeness, completeness_by_group={g: by_group[g] for g in groups},
                       indicators=results, targets_by_holder=dict(targets), chain=chain,
                       tree_day=day, tree_changed=changed, approved_only=approved_only, reviews=reviews,
                       reviews_by_group={g: reviews_by_group.get(g, ReviewCounts()) for g in groups})


def resolve_chain_targets(indicators: list[Indicator], holders: list[int],
                          targets: dict[int, dict[int, TargetSet]]) -> dict[int, Period]:
    found: dict[int, Period] = {}
    for ind in indicators:
        ts = resolve_targets(ind, holders, targets) if holders else None
        if ts is not None:
            found[ind.id] = ts.period  # type: ignore[index]
    return found


def _most_common_period(indicator_id: int, targets: dict[int, dict[int, TargetSet]],
                        skip: set[int]) -> Period | None:
    counts: dict[int, int] = defaultdict(int)
    by_id: dict[int, Period] = {}
    for holder, per_indicator in targets.items():
        ts = per_indicator.get(indicator_id)
        if ts is not None and holder not in skip:
            counts[ts.period.id] += 1  # type: ignore[index]
            by_id[ts.period.id] = ts.period  # type: ignore[index]
    if not counts:
        return None
    best = max(counts, key=lambda p: (counts[p], -(by_id[p].ends_on - by_id[p].starts_on).days))
    return by_id[best]


def _denominators(session: Session, indicators: list[Indicator]) -> dict[int, int]:
    """Numerator indicator id → denominator indicator id, for ratio roll-ups and weighted means
    (a percentage each unit reports, weighted by the indicator it is a share of)."""
    paired = (Rollup.RATIO, Rollup.MEAN)
    codes = {i.denominator_code for i in indicators if i.rollup in paired and i.denominator_code}
    if not codes:
        return {}
    by_code = {i.code: i.id for i in session.exec(sm_select(Indicator).where(col(Indicator.code).in_(codes)))}
    return {i.id: by_code[i.denominator_code] for i in indicators  # type: ignore[misc]
            if i.rollup in paired and i.denominator_code in by_code}


def _group_units(session: Session, ids: list[int]) -> dict[int, Unit]:
    """Group units in display order: by name for upper-level unions and provinces, by code for CĐCS."""
    units: list[Unit] = []
    for start in range(0, len(ids), 500):
        units += session.exec(sm_select(Unit).where(col(Unit.id).in_(ids[start:start + 500]))).all()
    units.sort(key=lambda u: u.code)
    return {u.id: u for u in units}  # type: ignore[misc]


def _between(session: Session, group_id: int, root: Unit | None, group_by: str) -> list[int]:
    """Holders between a group and the root (for a unit-level group: its parent chain up to the root)."""
    if group_by != GROUP_BY_UNIT:
        return []
    unit = session.get(Unit, group_id)
    chain: list[int] = []
    stop = root.id if root is not None else None
    while unit is not None and unit.parent_id is not None and unit.parent_id != stop and len(chain) < MAX_DEPTH:
        chain.append(unit.parent_id)
        unit = session.get(Unit, unit.parent_id)
    return chain


# --------------------------------------------------------------------------- rounds and scopes


def default_round(session: Session, now: datetime) -> Round | None:
    """The most recent round whose deadline has passed, else the latest round already open."""
    passed = session.exec(sm_select(Round).where(Round.deadline_at <= now)
                          .order_by(col(Round.deadline_at).desc(), col(Round.id).desc())).first()
    if passed is not None:
        return passed
    return session.exec(sm_select(Round).where(Round.opens_at <= now)
                        .order_by(col(Round.opens_at).desc(), col(Round.id).desc())).first()


__all__ = [
    "Ask", "compute", "Completeness", "Figure", "short_name", "IndicatorResult", "RoundRollup", "TargetSet", "UnitStatus", "applies", "attainment",
    "completeness_rows", "default_round", "expected_units", "rollup_round", "scope_tree",
    "unit_statuses", "round_values", "sector_label", "plan_values", "direct_rows", "ranked_rows", "GROUP_BY_CHILD", "GROUP_BY_UNIT", "ON_TIME", "LATE", "MISSING",
]


# --------------------------------------------------------------------------- presentation helpers

_SHORT = (("Liên đoàn Lao động", "LĐLĐ"), ("Công đoàn Viên chức", "CĐ Viên chức"), ("Công đoàn ngành", "CĐ ngành"),
          ("Công đoàn cơ sở", "CĐCS"))


def sector_label(sector: str | None) -> str:
    """The sector's name in the current language ('' for none)."""
    labels = {Sector.HCSN.value: N_("public administration and services"),
              Sector.DNNN.value: N_("state-owned enterprises"),
              Sector.NGOAINN.value: N_("non-state enterprises")}
    return _(labels[sector]) if sector in labels else (sector or "")


def short_name(name: str) -> str:
    """A unit name shortened the way union staff write it: 'LĐLĐ huyện Tam Đường'."""
    for long, short in _SHORT:
        name = name.replace(long, short)
    return name
