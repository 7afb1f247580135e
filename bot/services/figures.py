"""The rules behind every figure the bot shows, in one place and without a database.

Both views of the figures — a round over a scope for staff (bot.services.rollup) and one
unit's progress for chairs (bot.services.progress) — fetch their numbers with the same SQL
(rollup.compute) and decide with these rules:

* **Comparison window.** A figure asked for a period P is compared with the target of the
  shortest period T that contains P (a year target for a quarter). The window is
  [start of T, end of P]: cumulative from the start of the target period, *as of* the end
  of the asked period. Without a target the window is P itself. Every answer says its window
  (`window_text`): "tính đến 30/06/2026" once it is over, "từ đầu năm đến nay" while it runs.
* **Sums over periods.** Per unit, only its reports of the longest period kind in the window are
  added (`KIND_ORDER`: its yearly report, else its quarters), so a yearly round does not add up
  with its quarters; two rounds of one period count once (the later one).
* **Targets.** A holder's target for an indicator and period may be overall or per sector
  (`TargetSet`); the holder is the unit itself or, for percentages only, the nearest unit above
  it that set one (a common target). Per-sector percent targets are blended by the weight of
  each sector's figures (answering units, or workers for a ratio), else by the units expected.
* **Applicability.** An indicator applies to a unit when its level and sector are among the
  indicator's `levels` and `sectors` (empty: all). A target whose indicator applies to no unit
  of the scope is not shown.
* **Audience.** A round asks the active units of its `levels` (default: grassroots), `sectors`
  (default: all) that lie under one of its `under` units (default: everywhere).
* **Coverage.** A roll-up over fewer than `min_coverage` percent of the expected units does not
  claim an attainment ("chưa đủ số liệu").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel.numbers import format_decimal

from bot.i18n import _, current_language
from bot.models import Level, PeriodKind, Rollup
from bot.textvn import format_date

PERCENT_ROLLUPS = (Rollup.RATIO.value, Rollup.SHARE_YES.value, Rollup.MEAN.value)
NO_SECTOR = ""
ALL_LEVELS = [Level.PROVINCE.value, Level.UPPER.value, Level.GRASSROOTS.value]
DEFAULT_MIN_COVERAGE = 50.0
KIND_ORDER = {PeriodKind.QUARTER.value: 1, PeriodKind.HALF.value: 2, PeriodKind.YEAR.value: 3,
              PeriodKind.TERM.value: 4, PeriodKind.ADHOC.value: 0}


# --------------------------------------------------------------------------- window


@dataclass(frozen=True)
class Window:
    """The dates a figure covers: from `start` up to `end` (the end of the asked period)."""

    start: date
    end: date
    cumulative: bool  # starts before the asked period (at the start of a longer target period)
    target_kind: str | None = None  # the kind of the target period the window starts with


def comparison_window(asked_start: date, asked_end: date, target_start: date | None,
                      target_kind: str | None = None) -> Window:
    """[start of the target period, end of the asked period]; the asked period without a target."""
    if target_start is None or target_start >= asked_start:
        return Window(asked_start, asked_end, False, target_kind)
    return Window(target_start, asked_end, True, target_kind)


def window_text(window: Window, today: date) -> str:
    """How an answer names its window: "tính đến 30/06/2026", "từ đầu năm đến nay", "từ 01/04/2026 đến nay"."""
    if today > window.end:
        if window.cumulative or window.start.month == 1 and window.start.day == 1 and window.end.month == 12:
            return _("as of {date}").format(date=format_date(window.end))
        return _("from {start} to {end}").format(start=format_date(window.start), end=format_date(window.end))
    if window.start.month == 1 and window.start.day == 1 and window.target_kind in (None, PeriodKind.YEAR.value) \
            and window.start.year == today.year:
        return _("since the start of the year up to now")
    if window.target_kind == PeriodKind.TERM.value:
        return _("since the start of the term up to now")
    return _("from {start} up to now").format(start=format_date(window.start))


# --------------------------------------------------------------------------- applicability and audience


def applies(levels: str, sectors: str, level: str, sector: str | None) -> bool:
    """Whether an indicator (its `levels` and `sectors` strings) is reported by a unit of this level and sector."""
    wanted_levels, wanted_sectors = levels.split(), sectors.split()
    return (not wanted_levels or level in wanted_levels) and (not wanted_sectors or (sector or NO_SECTOR) in wanted_sectors)


def audience_levels(audience: dict[str, Any] | None) -> list[str]:
    return list((audience or {}).get("levels") or [Level.GRASSROOTS.value])


def in_audience(audience: dict[str, Any] | None, level: str, sector: str | None, active: bool,
                codes_up: set[str]) -> bool:
    """Whether a unit (its level, sector, and its own and its ancestors' codes) is asked by a round."""
    audience = audience or {}
    if not active or level not in audience_levels(audience):
        return False
    sectors = audience.get("sectors") or []
    if sectors and sector not in sectors:
        return False
    under = audience.get("under") or []
    return not under or bool(codes_up.intersection(under))


# --------------------------------------------------------------------------- targets


@dataclass
class TargetSet:
    """A holder unit's target for one indicator and period: overall and per sector."""

    holder_id: int
    period: Any  # bot.models.Period
    overall: float | None = None
    by_sector: dict[str, float] = field(default_factory=dict)
    inherited: bool = False  # taken from a unit above (percent targets apply at every level)

    def for_sector(self, sector: str) -> float | None:
        return self.by_sector.get(sector, self.overall)

    @property
    def sector_specific(self) -> bool:
        return bool(self.by_sector)

    def blended(self, weights_by_sector: dict[str, float], expected: dict[str, int] | None = None) -> float | None:
        """One target for figures spread over sectors: Σ weight × sector target ÷ Σ weight.

        E.g. QCDC with 100% for state and 80% for non-state CĐCS, 10 state and 5 non-state
        units answering: (10 × 100 + 5 × 80) ÷ 15 = 93,3%. The weights are the units that
        answered (the denominators, for a ratio); with no answers yet, the units expected to.
        Sectors without a target are left out.
        """
        if not self.by_sector:
            return self.overall
        weights = {s: w for s, w in weights_by_sector.items() if w > 0}
        if not weights:
            weights = {s: float(n) for s, n in (expected or {}).items() if n > 0}
        num = den = 0.0
        for sector, weight in weights.items():
            t = self.for_sector(sector)
            if t is not None:
                num += weight * t
                den += weight
        return num / den if den else self.overall

    def absolute(self) -> float | None:
        """For sums and snapshots: the overall target, else the per-sector ones added up."""
        if self.overall is not None:
            return self.overall
        return sum(self.by_sector.values()) if self.by_sector else None


def collect_targets(rows: Iterable[tuple[int, int, str | None, float, int]],
                    periods: dict[int, Any]) -> dict[int, dict[int, TargetSet]]:
    """unit → indicator → TargetSet from (unit, indicator, sector, value, period id) rows, keeping
    the shortest period (all rows' periods contain the asked one)."""
    found: dict[int, dict[int, TargetSet]] = {}
    for unit_id, indicator_id, sector, value, period_id in sorted(
            rows, key=lambda r: (periods[r[4]].ends_on - periods[r[4]].starts_on, r[4])):
        per_unit = found.setdefault(unit_id, {})
        ts = per_unit.get(indicator_id)
        if ts is None:
            ts = per_unit[indicator_id] = TargetSet(holder_id=unit_id, period=periods[period_id])
        elif ts.period.id != period_id:
            continue  # a longer period than the one already kept
        if sector:
            ts.by_sector[sector] = float(value)
        else:
            ts.overall = float(value)
    return found


def resolve_targets(rollup: str, indicator_id: int, chain: list[int],
                    targets: dict[int, dict[int, TargetSet]]) -> TargetSet | None:
    """The first holder's target along the chain (the unit, then the units above it); a unit above
    counts only for percentages — sums and snapshots take the unit's own target or none."""
    for depth, holder in enumerate(chain):
        ts = targets.get(holder, {}).get(indicator_id)
        if ts is not None:
            if depth == 0:
                return ts
            return TargetSet(ts.holder_id, ts.period, ts.overall, dict(ts.by_sector), inherited=True)
        if rollup not in PERCENT_ROLLUPS:
            return None
    return None


def target_value(rollup: str, targets: TargetSet | None, weights_by_sector: dict[str, float],
                 expected: dict[str, int], units: int) -> float | None:
    """The target a figure is held against, or None when there is none or the indicator applies to
    no unit of the scope (no unit expected and none reported)."""
    if targets is None:
        return None
    if units == 0 and sum(expected.values()) == 0:
        return None
    if rollup in PERCENT_ROLLUPS:
        return targets.blended(weights_by_sector, expected)
    return targets.absolute()


def attainment(value: float | None, target: float | None) -> float | None:
    """Figure ÷ target × 100 (not capped); None without a figure or a positive target."""
    if value is None or target is None or target <= 0:
        return None
    return 100.0 * float(value) / float(target)


# --------------------------------------------------------------------------- coverage


def coverage_share(units: int, expected: int) -> float | None:
    return 100.0 * units / expected if expected else None


def enough_coverage(units: int, expected: int, min_coverage: float = DEFAULT_MIN_COVERAGE) -> bool:
    """Whether a roll-up covers enough of the expected units to state an attainment."""
    if expected <= 0:
        return units > 0
    return 100.0 * units / expected >= min_coverage


# --------------------------------------------------------------------------- one percent format


def format_percent(value: float | Decimal | None) -> str:
    """Every percentage the bot shows, one way: one decimal, the local way ("87,5%", "100,0%"); "—" unknown."""
    if value is None:
        return "—"
    rounded = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return format_decimal(rounded, format="#,##0.0", locale=current_language()) + "%"
