"""Import the indicator catalogue: validate every row, then upsert all or nothing.

One row per indicator (see examples/README.md): its code, names, unit of measure, kind
(count, money, percent, yes/no), roll-up (sum, latest, ratio of another indicator, share
of "có", mean of the units' percentages), valid range, the indicator it may not exceed,
the levels and sectors that report it, and the words people use for it in questions.
Rows keep the file's order (the order questions and rounds list them in).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from bot.i18n import _
from bot.models import Indicator, IndicatorKind, Rollup, SubmissionValue
from bot.textvn import Kind, fold, parse_yesno
from bot.services.imports.parsing import (
    CODE_RE,
    bad_level,
    bad_sector,
    empty_cell,
    indicators_by_code,
    parse_level,
    parse_sector,
    parse_value,
    plain_number,
    too_long,
)
from bot.services.imports.reading import SourceRow, SourceTable, check_columns, load_or_report
from bot.services.imports.report import ImportReport, finish, reject

INDICATOR_COLUMNS = ("code", "name_vi", "unit_vi", "kind", "rollup")
INDICATOR_OPTIONAL_COLUMNS = ("name_en", "unit_en", "denominator", "min", "max", "not_above", "levels",
                              "sectors", "required", "aliases", "outlier_factor")
_LIMITS = {"code": 32, "name_vi": 300, "name_en": 300, "unit_vi": 32, "unit_en": 32, "aliases": 500}
POSITION_STEP = 10

_KIND_WORDS = {
    IndicatorKind.COUNT: {"count", "soluong", "so", "dem", "nguoi"},
    IndicatorKind.MONEY: {"money", "tien", "sotien", "dong", "vnd"},
    IndicatorKind.PERCENT: {"percent", "phantram", "tyle", "tile"},
    IndicatorKind.YESNO: {"yesno", "cokhong", "co/khong", "boolean"},
}
_ROLLUP_WORDS = {
    Rollup.SUM: {"sum", "tong", "cong", "congdon"},
    Rollup.SNAPSHOT: {"latest", "snapshot", "moinhat", "solieumoinhat", "giatrimoinhat"},
    Rollup.RATIO: {"ratio", "tyle", "tile", "tylecua", "ratioof"},
    Rollup.SHARE_YES: {"shareyes", "tyleco", "tiledonvico", "tyledonvico", "share"},
    Rollup.MEAN: {"mean", "average", "trungbinh", "binhquan"},
}
# which roll-ups make sense for each kind
_ROLLUPS_OF_KIND = {
    IndicatorKind.COUNT: (Rollup.SUM, Rollup.SNAPSHOT, Rollup.RATIO),
    IndicatorKind.MONEY: (Rollup.SUM, Rollup.SNAPSHOT, Rollup.RATIO),
    IndicatorKind.PERCENT: (Rollup.MEAN,),
    IndicatorKind.YESNO: (Rollup.SHARE_YES,),
}
_ROLLUP_NAMES = {Rollup.SUM: "sum", Rollup.SNAPSHOT: "latest", Rollup.RATIO: "ratio",
                 Rollup.SHARE_YES: "share_yes", Rollup.MEAN: "mean"}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9/]", "", fold(text))


def parse_kind(text: str) -> IndicatorKind | None:
    """'count', 'tiền', 'phần trăm', 'có/không' → the kind; None if not understood."""
    key = _key(text)
    return next((k for k, words in _KIND_WORDS.items() if key in words or key.replace("/", "") in words), None)


def parse_rollup(text: str) -> Rollup | None:
    """'sum', 'latest', 'ratio', 'share_yes', 'mean' (or their Vietnamese) → the roll-up; None if unknown."""
    key = _key(text).replace("/", "")
    return next((r for r, words in _ROLLUP_WORDS.items() if key in words), None)


@dataclass
class _IndicatorPlan:
    line: int
    fields: dict[str, Any]  # the Indicator columns this row sets (absent optional columns left out)
    denominator: str | None
    not_above: str | None


def _words(text: str, parse: Any) -> list[str] | None:
    out: list[str] = []
    for piece in (p.strip() for p in re.split(r"[;,]", text)):
        if not piece:
            continue
        item = parse(piece)
        items = [item] if item is not None else [parse(w) for w in piece.split()]
        if any(i is None for i in items):
            return None
        out.extend(i.value for i in items if i.value not in out)
    return out


def _bound(row: SourceRow, column: str, kind: IndicatorKind, problems: list[str]) -> Decimal | None:
    text = row.get(column)
    if not text:
        return None
    value, problem = parse_value(text, Kind.COUNT if kind == IndicatorKind.YESNO else Kind(kind.value))
    if problem:
        problems.append(_("Column {column}: {problem}").format(column=column, problem=problem))
        return None
    return value


def _range(row: SourceRow, table: SourceTable, kind: IndicatorKind,
           problems: list[str]) -> dict[str, float | None]:
    """min_value / max_value of the row (defaults: 0 for counts and money, 0–100 for percentages)."""
    if kind == IndicatorKind.YESNO:
        return {"min_value": 0.0, "max_value": 1.0}
    low, high = _bound(row, "min", kind, problems), _bound(row, "max", kind, problems)
    if low is None and not row.get("min"):
        low = Decimal(0)
    if high is None and not row.get("max") and kind == IndicatorKind.PERCENT:
        high = Decimal(100)
    if low is not None and low < 0:
        problems.append(_("Column min: {value} is negative; counts, money and percentages start at 0.").format(
            value=row.get("min")))
    if kind == IndicatorKind.PERCENT and high is not None and high > 100:
        problems.append(_("Column max: a percentage cannot be above 100: {value}.").format(value=row.get("max")))
    if low is not None and high is not None and low > high:
        problems.append(_("The valid range is empty: min {low} is above max {high}.").format(
            low=plain_number(low), high=plain_number(high)))
    fields: dict[str, float | None] = {}
    if table.has("min") or low is not None:
        fields["min_value"] = float(low) if low is not None else None
    if table.has("max") or kind == IndicatorKind.PERCENT:
        fields["max_value"] = float(high) if high is not None else None
    return fields


def _parse_row(row: SourceRow, table: SourceTable) -> tuple[_IndicatorPlan | None, list[str]]:
    problems: list[str] = []
    code = row.get("code").upper()
    if not code:
        problems.append(empty_cell("code"))
    elif not CODE_RE.match(code):
        problems.append(_("Bad indicator code {code}: use only letters, digits, _ - or . without spaces.")
                        .format(code=row.get("code")))
    for column in ("name_vi", "unit_vi"):
        if not row.get(column):
            problems.append(empty_cell(column))
    problems += too_long(row, [c for c in _LIMITS if table.has(c)], _LIMITS)
    kind_text, rollup_text = row.get("kind"), row.get("rollup")
    kind = parse_kind(kind_text) if kind_text else None
    if not kind_text:
        problems.append(empty_cell("kind"))
    elif kind is None:
        problems.append(_("Unknown kind {value}: write count, money, percent or yesno.").format(value=kind_text))
    rollup = parse_rollup(rollup_text) if rollup_text else None
    if not rollup_text:
        problems.append(empty_cell("rollup"))
    elif rollup is None:
        problems.append(_("Unknown roll-up {value}: write sum, latest, ratio, share_yes or mean.").format(
            value=rollup_text))
    if kind is not None and rollup is not None and rollup not in _ROLLUPS_OF_KIND[kind]:
        problems.append(_("A {kind} indicator cannot roll up as {rollup}; write {allowed}.").format(
            kind=kind.value, rollup=rollup_text,
            allowed=" / ".join(_ROLLUP_NAMES[r] for r in _ROLLUPS_OF_KIND[kind])))
    denominator = row.get("denominator").upper() or None
    if rollup == Rollup.RATIO and not denominator:
        problems.append(_("A ratio needs the code of the indicator it is a share of, in column denominator."))
    if rollup is not None and rollup not in (Rollup.RATIO, Rollup.MEAN) and denominator:
        problems.append(_("Column denominator is only for a ratio, or for a mean weighted by it; leave it empty."))
    if denominator and denominator == code:
        problems.append(_("Indicator {code} cannot be its own denominator.").format(code=code))
    not_above = row.get("not_above").upper() or None
    if not_above and not_above == code:
        problems.append(_("Indicator {code} cannot be limited by itself.").format(code=code))
    fields: dict[str, Any] = {}
    if kind is not None:
        fields.update(_range(row, table, kind, problems))
    levels_text, sectors_text = row.get("levels"), row.get("sectors")
    levels = _words(levels_text, parse_level) if levels_text else ["grassroots"]
    if not levels:
        problems.append(bad_level(levels_text))
    sectors = _words(sectors_text, parse_sector) if sectors_text else []
    if sectors is None:
        problems.append(bad_sector(sectors_text))
    required = True
    if row.get("required"):
        answer = parse_yesno(row.get("required"))
        if answer is None:
            problems.append(_("Column required: write yes or no (có / không), not {value}.").format(
                value=row.get("required")))
        else:
            required = answer
    outlier: float | None = None
    if row.get("outlier_factor"):
        value, problem = parse_value(row.get("outlier_factor"), Kind.COUNT)
        if problem or value is None or value <= 1:
            problems.append(_("Column outlier_factor: write a number above 1, e.g. 5 (warn beyond ×5 or ÷5 of "
                              "the last report), or leave it empty."))
        else:
            outlier = float(value)
    if problems or kind is None or rollup is None:
        return None, problems
    fields.update(code=code, name_vi=row.get("name_vi"), unit_vi=row.get("unit_vi"), kind=kind.value,
                  rollup=rollup.value, denominator_code=denominator, not_above_code=not_above)
    optional = {"name_en": row.get("name_en"), "unit_en": row.get("unit_en"),
                "levels": " ".join(levels or []), "sectors": " ".join(sectors or []), "required": required,
                "aliases": "; ".join(a.strip() for a in row.get("aliases").split(";") if a.strip()),
                "outlier_factor": outlier}
    for name, value in optional.items():
        if table.has(name) or name in ("levels", "sectors", "required"):
            fields[name] = value
    return _IndicatorPlan(row.line, fields, denominator, not_above), []


def _validate(session: Session, table: SourceTable, report: ImportReport) -> list[_IndicatorPlan]:
    stored = indicators_by_code(session)
    plans: list[_IndicatorPlan] = []
    first_line: dict[str, int] = {}
    in_file = {row.get("code").upper() for row in table.rows if row.get("code")}
    used = _used_codes(session)
    for row in table.rows:
        plan, problems = _parse_row(row, table)
        code = row.get("code").upper()
        if code in first_line:
            problems.append(_("Indicator {code} already appears on line {first}.").format(
                code=code, first=first_line[code]))
            plan = None
        elif code:
            first_line[code] = row.line
        for ref in (row.get("denominator").upper(), row.get("not_above").upper()):
            if ref and ref != code and ref not in stored and ref not in in_file:
                problems.append(_("Unknown indicator {code}: it is neither in this file nor in the database.")
                                .format(code=ref))
        if plan is not None:
            old = stored.get(plan.fields["code"])
            if old is not None and code in used and (old.kind, old.rollup) != (plan.fields["kind"],
                                                                                  plan.fields["rollup"]):
                problems.append(_("Indicator {code} already has reported figures: its kind and roll-up "
                                  "cannot change ({kind}, {rollup}).").format(
                    code=code, kind=old.kind, rollup=_ROLLUP_NAMES.get(Rollup(old.rollup), old.rollup)))
        for problem in problems:
            report.add_error(row.line, problem)
        if plan is not None and not problems:
            plans.append(plan)
    return plans


def _used_codes(session: Session) -> set[str]:
    """Codes of the indicators that already have reported figures."""
    rows = session.exec(
        select(Indicator.code).join(SubmissionValue, SubmissionValue.indicator_id == Indicator.id)
        .group_by(Indicator.code).having(func.count() > 0)
    ).all()
    return {c.upper() for c in rows}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
    return a == b


def _apply(session: Session, plans: list[_IndicatorPlan], report: ImportReport) -> None:
    """Upsert; a new indicator goes after every stored one, in the file's order (stored ones keep theirs)."""
    stored = indicators_by_code(session)
    next_position = max((i.position for i in stored.values()), default=0)
    for plan in plans:
        row = stored.get(plan.fields["code"])
        if row is None:
            next_position += POSITION_STEP
            session.add(Indicator(**plan.fields, position=next_position))
            report.created += 1
            continue
        changes = {k: v for k, v in plan.fields.items() if not _same(getattr(row, k), v)}
        if not changes:
            report.unchanged += 1
            continue
        for key, value in changes.items():
            setattr(row, key, value)
        report.updated += 1


def import_indicator_table(
    session: Session, table: SourceTable, *, actor: str = "cli", source: str = ""
) -> ImportReport:
    """Import already-read indicator rows (used by import_indicators and the demo)."""
    report = ImportReport("indicators")
    if not check_columns(table, INDICATOR_COLUMNS, report):
        return report
    plans = _validate(session, table, report)
    if report.errors:
        return reject(report, "import.indicators", source)
    _apply(session, plans, report)
    return finish(session, report, "import.indicators", "indicator", actor, source)


def import_indicators(session: Session, path: str | Path, actor: str = "cli") -> ImportReport:
    """Import the catalogue from `code,name_vi,unit_vi,kind,rollup[,name_en,unit_en,denominator,min,max,…]`."""
    report = ImportReport("indicators")
    table = load_or_report(path, report)
    if table is None:
        return report
    return import_indicator_table(session, table, actor=actor, source=Path(path).name)
