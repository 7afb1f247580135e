"""Emulation scoring (chấm điểm, xét thi đua): how well each unit meets its targets.

For one round and one scope, every group of the roll-up (the upper-level unions of a
province, or the CĐCS of an upper-level union) gets a score out of 100:

    score = Σ weight_i × min(attainment_i, 100%) ÷ Σ weight_i

* attainment_i = the group's figure ÷ its target for indicator i (see bot.services.rollup
  for how figures roll up and which cumulative window a year or term target compares with);
  capped at 100% so that overshooting one target does not hide another that was missed;
* only indicators with a weight above 0 count (weights are data, ``score_weight``; an
  indicator without a row weighs 1) and only those the group has a target for — its own,
  or for percentages one set above it (per sector, blended over its units' sectors);
* an indicator that has a target but no figure from the group counts 0: not reporting
  earns nothing, and it is listed as missing;
* a group with no figure at all is not ranked ("chưa có số liệu");
* equal scores (to 0,1 point) share a rank: 1, 2, 2, 4 — listed by unit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from bot.clock import utcnow
from bot.models import Indicator, Round, ScoreWeight, Unit
from bot.services import audit
from bot.services.rollup import (
    GROUP_BY_CHILD,
    IndicatorResult,
    RoundRollup,
    rollup_round,
)

DEFAULT_WEIGHT = 1.0
CAP = 100.0  # attainment counts up to 100%
TIE_DECIMALS = 1


@dataclass
class Part:
    """One indicator's share in a unit's score."""

    indicator: Indicator
    weight: float
    target: float
    value: float | None  # None: no figure (counts 0)
    attainment: float | None  # value ÷ target × 100, not capped

    @property
    def missing(self) -> bool:
        return self.value is None

    @property
    def capped(self) -> float:
        return min(self.attainment or 0.0, CAP)


@dataclass
class Entry:
    """A unit's place in the ranking."""

    unit: Unit
    parts: list[Part] = field(default_factory=list)
    rank: int | None = None
    tied: bool = False

    @property
    def scored(self) -> bool:
        """Whether the unit has at least one figure among its scored indicators."""
        return any(not p.missing for p in self.parts)

    @property
    def score(self) -> float | None:
        total = sum(p.weight for p in self.parts)
        if not self.scored or total <= 0:
            return None
        return sum(p.weight * p.capped for p in self.parts) / total

    @property
    def missing(self) -> list[Part]:
        return [p for p in self.parts if p.missing]


@dataclass
class Ranking:
    """Ranked groups of a scope (unranked ones last), with the roll-up it came from."""

    rollup: RoundRollup
    weights: dict[str, float]  # indicator code → weight used
    entries: list[Entry]

    @property
    def ranked(self) -> list[Entry]:
        return [e for e in self.entries if e.rank is not None]

    @property
    def unranked(self) -> list[Entry]:
        return [e for e in self.entries if e.rank is None]


# --------------------------------------------------------------------------- weights


def weights(session: Session) -> dict[int, float]:
    """Indicator id → weight for indicators with a stored weight (others weigh DEFAULT_WEIGHT)."""
    return {w.indicator_id: w.weight for w in session.exec(select(ScoreWeight)).all()}


def weight_table(session: Session) -> list[tuple[Indicator, float, bool]]:
    """Every indicator with its weight and whether it was set (False: the default)."""
    stored = weights(session)
    indicators = session.exec(select(Indicator).order_by(Indicator.position, Indicator.code)).all()
    return [(i, stored.get(i.id, DEFAULT_WEIGHT), i.id in stored) for i in indicators]  # type: ignore[arg-type]


class WeightError(ValueError):
    """An unknown indicator code or a weight that is not a number ≥ 0."""


def set_weights(session: Session, changes: dict[str, float], actor: str = "cli") -> int:
    """Store weights by indicator code (caller commits); returns how many changed."""
    by_code = {i.code: i for i in session.exec(select(Indicator)).all()}
    unknown = [c for c in changes if c.upper() not in by_code]
    if unknown:
        raise WeightError(", ".join(unknown))
    bad = [c for c, w in changes.items() if not (w >= 0) or w != w or w > 1000]
    if bad:
        raise WeightError(", ".join(bad))
    stored = {w.indicator_id: w for w in session.exec(select(ScoreWeight)).all()}
    changed = 0
    for code, weight in changes.items():
        indicator = by_code[code.upper()]
        row = stored.get(indicator.id)  # type: ignore[arg-type]
        if row is not None and row.weight == weight:
            continue
        if row is None:
            row = ScoreWeight(indicator_id=indicator.id, weight=weight)  # type: ignore[arg-type]
        row.weight = weight
        row.updated_at = utcnow()
        session.add(row)
        changed += 1
    if changed:
        audit.record(session, "score.weights", entity="score_weight", actor=actor,
                     detail={c.upper(): w for c, w in changes.items()})
    session.flush()
    return changed


# --------------------------------------------------------------------------- scores


def score_group(rollup: RoundRollup, group_id: int, stored: dict[int, float]) -> Entry:
    """A group's parts: one per weighted indicator it has a target for and is expected to report."""
    entry = Entry(unit=rollup.groups[group_id])
    for result in rollup.indicators:
        part = _part(rollup, result, group_id, stored.get(result.indicator.id, DEFAULT_WEIGHT))  # type: ignore[arg-type]
        if part is not None:
            entry.parts.append(part)
    return entry


def _part(rollup: RoundRollup, result: IndicatorResult, group_id: int, weight: float) -> Part | None:
    if weight <= 0 or result.expected_by_group.get(group_id, 0) == 0:
        return None
    target = result.group_target(rollup.group_targets(result, group_id), group_id)
    if target is None or target <= 0:
        return None
    figure = result.by_group.get(group_id)
    value = figure.value if figure is not None else None
    return Part(indicator=result.indicator, weight=weight, target=target, value=value,
                attainment=None if value is None else 100.0 * value / target)


def assign_ranks(entries: list[Entry]) -> list[Entry]:
    """Sort by score (best first, then code) and give equal scores the same rank."""
    ranked = [e for e in entries if e.score is not None]
    unranked = sorted((e for e in entries if e.score is None), key=lambda e: e.unit.code)
    ranked.sort(key=lambda e: (-round(e.score or 0.0, TIE_DECIMALS), e.unit.code))
    previous: float | None = None
    for position, entry in enumerate(ranked, start=1):
        key = round(entry.score or 0.0, TIE_DECIMALS)
        if previous is not None and key == previous:
            entry.rank = ranked[position - 2].rank
            entry.tied = ranked[position - 2].tied = True
        else:
            entry.rank = position
        previous = key
    return ranked + unranked


def rank(session: Session, rnd: Round, root_id: int | None, *, rollup: RoundRollup | None = None,
         approved_only: bool = False) -> Ranking:
    """Rank the groups under a root (upper-level unions of a province; CĐCS of a union).

    ``approved_only`` scores only approved reports (rounds that require review); a unit whose
    report is not approved then has no figures."""
    if rollup is None:
        rollup = rollup_round(session, rnd, root_id, group_by=GROUP_BY_CHILD, group_targets=True,
                              approved_only=approved_only)
    stored = weights(session)
    entries = assign_ranks([score_group(rollup, gid, stored) for gid in rollup.groups])
    used = {r.indicator.code: stored.get(r.indicator.id, DEFAULT_WEIGHT) for r in rollup.indicators}  # type: ignore[arg-type]
    return Ranking(rollup=rollup, weights=used, entries=entries)
