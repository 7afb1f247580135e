"""Import targets per unit, indicator, period and sector: validate every row, then upsert."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from bot.clock import utcnow
from bot.i18n import _
from bot.models import Indicator, IndicatorKind, Period, Rollup, Target, Unit
from bot.services.periods import PeriodCodeError, get_or_create_period, normalise_period_code
from bot.textvn import Kind
from bot.services.imports.parsing import (
    bad_period,
    bad_sector,
    chunks,
    empty_cell,
    indicators_by_code,
    plain_number,
    units_by_code,
    parse_sector,
    parse_value,
)
from bot.services.imports.reading import SourceRow, SourceTable, check_columns, load_or_report
from bot.services.imports.report import ImportReport, finish, reject

TARGET_COLUMNS = ("unit_code", "indicator", "period", "value")
TARGET_OPTIONAL_COLUMNS = ("sector",)


def target_kind(indicator: Indicator) -> Kind:
    """How a target for this indicator is written: ratios and yes/no shares are percentages."""
    if indicator.rollup in (Rollup.RATIO, Rollup.SHARE_YES) or indicator.kind == IndicatorKind.PERCENT:
        return Kind.PERCENT
    return Kind(indicator.kind)


def _range_problem(text: str, value: Decimal, indicator: Indicator, kind: Kind) -> str | None:
    if value < 0:
        return _("The value {value} is negative; a target cannot be below 0.").format(value=text)
    if kind == Kind.PERCENT:
        if value > 100:
            return _("A percentage cannot be above 100: {value}.").format(value=text)
        return None
    if indicator.min_value is not None and value < Decimal(str(indicator.min_value)):
        return _("The value {value} is below the minimum {minimum} for {indicator}.").format(
            value=text, minimum=plain_number(Decimal(str(indicator.min_value))), indicator=indicator.code
        )
    if indicator.max_value is not None and value > Decimal(str(indicator.max_value)):
        return _("The value {value} is above the maximum {maximum} for {indicator}.").format(
            value=text, maximum=plain_number(Decimal(str(indicator.max_value))), indicator=indicator.code
        )
    return None


@dataclass
class _TargetPlan:
    line: int
    unit_id: int
    indicator_id: int
    period_code: str
    sector: str | None
    value: Decimal


def _parse_target_row(
    row: SourceRow, units: dict[str, Unit], indicators: dict[str, Indicator]
) -> tuple[_TargetPlan | None, list[str]]:
    problems: list[str] = []
    unit_code, ind_code = row.get("unit_code"), row.get("indicator")
    period_text, value_text, sector_text = row.get("period"), row.get("value"), row.get("sector")
    unit = units.get(unit_code) if unit_code else None
    if not unit_code:
        problems.append(empty_cell("unit_code"))
    elif unit is None:
        problems.append(_("Unknown unit {code}.").format(code=unit_code))
    indicator = indicators.get(ind_code.upper()) if ind_code else None
    if not ind_code:
        problems.append(empty_cell("indicator"))
    elif indicator is None:
        problems.append(_("Unknown indicator {code}.").format(code=ind_code))
    period_code = ""
    if not period_text:
        problems.append(empty_cell("period"))
    else:
        try:
            period_code = normalise_period_code(period_text)
        except PeriodCodeError:
            problems.append(bad_period(period_text))
    sector = parse_sector(sector_text) if sector_text else None
    if sector_text and sector is None:
        problems.append(bad_sector(sector_text))
    value: Decimal | None = None
    if not value_text:
        problems.append(empty_cell("value"))
    elif indicator is not None:
        kind = target_kind(indicator)
        value, problem = parse_value(value_text, kind)
        if problem is None and value is not None:
            problem = _range_problem(value_text, value, indicator, kind)
        if problem:
            problems.append(problem)
    if problems or unit is None or indicator is None or value is None:
        return None, problems
    assert unit.id is not None and indicator.id is not None
    return (
        _TargetPlan(row.line, unit.id, indicator.id, period_code, sector.value if sector else None, value),
        [],
    )


def _validate_targets(session: Session, table: SourceTable, report: ImportReport) -> list[_TargetPlan]:
    units = units_by_code(session, [r.get("unit_code") for r in table.rows if r.get("unit_code")])
    indicators = indicators_by_code(session)
    plans: list[_TargetPlan] = []
    first_line: dict[tuple[Any, ...], int] = {}
    for row in table.rows:
        plan, problems = _parse_target_row(row, units, indicators)
        if plan is not None:
            key = (plan.unit_id, plan.indicator_id, plan.period_code, plan.sector)
            if key in first_line:
                problems.append(
                    _("This target repeats line {first} (same unit, indicator, period and sector).").format(
                        first=first_line[key]
                    )
                )
                plan = None
            else:
                first_line[key] = row.line
        for problem in problems:
            report.add_error(row.line, problem)
        if plan is not None:
            plans.append(plan)
    return plans


def _existing_targets(session: Session, unit_ids: Sequence[int]) -> dict[tuple[Any, ...], Target]:
    found: dict[tuple[Any, ...], Target] = {}
    for chunk in chunks(sorted(set(unit_ids))):
        for t in session.exec(select(Target).where(col(Target.unit_id).in_(chunk))):
            found[(t.unit_id, t.indicator_id, t.period_id, t.sector)] = t
    return found


def _apply_targets(session: Session, plans: list[_TargetPlan], report: ImportReport) -> None:
    periods: dict[str, Period] = {}
    for code in sorted({p.period_code for p in plans}):
        periods[code] = get_or_create_period(session, code)
    existing = _existing_targets(session, [p.unit_id for p in plans])
    now = utcnow()
    for plan in plans:
        period_id = periods[plan.period_code].id
        value = float(plan.value)
        target = existing.get((plan.unit_id, plan.indicator_id, period_id, plan.sector))
        if target is None:
            assert period_id is not None
            session.add(Target(unit_id=plan.unit_id, indicator_id=plan.indicator_id, period_id=period_id,
                               sector=plan.sector, value=value, updated_at=now))
            report.created += 1
        elif math.isclose(target.value, value, rel_tol=1e-12, abs_tol=1e-9):
            report.unchanged += 1
        else:
            target.value = value
            target.updated_at = now
            report.updated += 1


def import_target_table(
    session: Session, table: SourceTable, *, actor: str = "cli", source: str = ""
) -> ImportReport:
    """Import already-read target rows (used by import_targets and the demo)."""
    report = ImportReport("targets")
    if not check_columns(table, TARGET_COLUMNS, report):
        return report
    plans = _validate_targets(session, table, report)
    if report.errors:
        return reject(report, "import.targets", source)
    _apply_targets(session, plans, report)
    return finish(session, report, "import.targets", "target", actor, source)


def import_targets(session: Session, path: str | Path, actor: str = "cli") -> ImportReport:
    """Import targets from `unit_code,indicator,period,value[,sector]`; upsert per unit/indicator/period/sector."""
    report = ImportReport("targets")
    table = load_or_report(path, report)
    if table is None:
        return report
    return import_target_table(session, table, actor=actor, source=Path(path).name)
