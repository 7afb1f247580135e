"""Import the union tree (units) from a file: validate every row, then upsert all or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bot.clock import utcnow
from bot.i18n import _
from bot.models import Level, Sector, Unit, UnitEvent
from bot.textvn import Kind
from bot.services.imports.parsing import (
    CODE_RE,
    bad_level,
    bad_sector,
    empty_cell,
    too_long,
    units_by_code,
    parse_level,
    parse_sector,
    parse_value,
)
from bot.services.imports.reading import SourceRow, SourceTable, check_columns, load_or_report
from bot.services.imports.report import ImportReport, finish, reject

UNIT_COLUMNS = ("code", "name", "parent_code", "level")
UNIT_OPTIONAL_COLUMNS = ("sector", "type_label", "contact", "members")


@dataclass
class _UnitPlan:
    line: int
    code: str
    name: str
    parent_code: str | None
    level: Level
    sector: Sector | None
    type_label: str | None  # None = column absent, keep what is stored
    contact: str | None
    members: int | None
    has_sector: bool
    has_members: bool


def _parse_unit_row(row: SourceRow, table: SourceTable) -> tuple[_UnitPlan | None, list[str]]:
    problems: list[str] = []
    code, name = row.get("code"), row.get("name")
    parent_code = row.get("parent_code") or None
    if not code:
        problems.append(empty_cell("code"))
    elif not CODE_RE.match(code):
        problems.append(
            _("Bad unit code {code}: use only letters, digits, _ - or . without spaces.").format(code=code)
        )
    if not name:
        problems.append(empty_cell("name"))
    level_text = row.get("level")
    level = parse_level(level_text) if level_text else None
    if not level_text:
        problems.append(empty_cell("level"))
    elif level is None:
        problems.append(bad_level(level_text))
    sector_text = row.get("sector")
    sector = parse_sector(sector_text) if sector_text else None
    if sector_text and sector is None:
        problems.append(bad_sector(sector_text))
    members: int | None = None
    members_text = row.get("members")
    if members_text:
        value, problem = parse_value(members_text, Kind.COUNT)
        if problem or value is None or value < 0:
            problems.append(
                _("Bad member count {value}: write a whole number such as 45.").format(value=members_text)
            )
        else:
            members = int(value)
    problems += too_long(row, ("code", "name", "type_label", "contact"))
    if level == Level.GRASSROOTS and not parent_code:
        problems.append(_("A grassroots union (CĐCS) needs a parent unit in parent_code."))
    if code and parent_code == code:
        problems.append(_("Unit {code} cannot be its own parent.").format(code=code))
    if problems or level is None:
        return None, problems
    return (
        _UnitPlan(
            line=row.line, code=code, name=name, parent_code=parent_code, level=level,
            sector=sector,
            type_label=row.get("type_label") if table.has("type_label") else None,
            contact=row.get("contact") if table.has("contact") else None,
            members=members, has_sector=table.has("sector"), has_members=table.has("members"),
        ),
        [],
    )


def _db_tree(session: Session) -> tuple[dict[str, str | None], dict[str, str]]:
    """(code → parent code, code → level) of every unit already stored."""
    rows = session.exec(select(Unit.id, Unit.code, Unit.parent_id, Unit.level)).all()
    code_of = {uid: code for uid, code, _p, _l in rows}
    parents = {code: code_of.get(pid) if pid else None for _i, code, pid, _l in rows}
    levels = {code: level for _i, code, _p, level in rows}
    return parents, levels


def _cycle_path(start: str, parents: dict[str, str | None]) -> list[str] | None:
    """The codes of the cycle through `start`, or None if walking up from it ends at a root."""
    path = [start]
    seen = {start}
    current = parents.get(start)
    while current is not None:
        if current == start:
            return path + [start]
        if current in seen:
            return None  # a cycle above us, reported on its own rows
        seen.add(current)
        path.append(current)
        current = parents.get(current)
    return None


def _check_tree(
    plans: list[_UnitPlan], file_levels: dict[str, Level | None], session: Session, report: ImportReport
) -> None:
    """Check parents of the valid rows: known, not a CĐCS, no cycles (bad rows count as known)."""
    db_parents, db_levels = _db_tree(session)
    parents = dict(db_parents)
    levels: dict[str, str | None] = {**db_levels, **file_levels}
    for plan in plans:
        parents[plan.code] = plan.parent_code
        levels[plan.code] = plan.level
    for plan in plans:
        if plan.parent_code is None:
            continue
        if plan.parent_code not in levels:
            report.add_error(
                plan.line,
                _("Unknown parent unit {code}: it is neither in this file nor in the database.").format(
                    code=plan.parent_code
                ),
            )
            continue
        if levels.get(plan.parent_code) == Level.GRASSROOTS:
            report.add_error(
                plan.line,
                _("Parent unit {code} is a grassroots union (CĐCS) and cannot have units under it.").format(
                    code=plan.parent_code
                ),
            )
        cycle = _cycle_path(plan.code, parents)
        if cycle:
            report.add_error(
                plan.line,
                _("Unit {code} would become its own ancestor: {path}.").format(
                    code=plan.code, path=" → ".join(cycle)
                ),
            )


def _validate_units(session: Session, table: SourceTable, report: ImportReport) -> list[_UnitPlan]:
    plans: list[_UnitPlan] = []
    first_line: dict[str, int] = {}
    file_levels: dict[str, Level | None] = {}
    for row in table.rows:
        plan, problems = _parse_unit_row(row, table)
        code = row.get("code")
        if code:
            file_levels.setdefault(code, parse_level(row.get("level")))
            if code in first_line:
                problems.append(
                    _("Unit code {code} already appears on line {first}.").format(
                        code=code, first=first_line[code]
                    )
                )
                plan = None
            else:
                first_line[code] = row.line
        for problem in problems:
            report.add_error(row.line, problem)
        if plan is not None:
            plans.append(plan)
    _check_tree(plans, file_levels, session, report)
    return plans


def _unit_changes(unit: Unit, plan: _UnitPlan, parent_id: int | None) -> dict[str, Any]:
    """The fields of `unit` that the plan changes, with their new values."""
    wanted: dict[str, Any] = {"name": plan.name, "parent_id": parent_id, "level": plan.level.value}
    if plan.has_sector:
        wanted["sector"] = plan.sector.value if plan.sector else None
    if plan.type_label is not None:
        wanted["type_label"] = plan.type_label
    if plan.contact is not None:
        wanted["contact"] = plan.contact
    if plan.has_members:
        wanted["members_hint"] = plan.members
    return {k: v for k, v in wanted.items() if getattr(unit, k) != v}


def _apply_units(session: Session, plans: list[_UnitPlan], actor: str, report: ImportReport) -> None:
    existing = units_by_code(session, [p.code for p in plans])
    new_codes = {p.code for p in plans if p.code not in existing}
    for plan in plans:
        if plan.code in new_codes:
            unit = Unit(code=plan.code, name=plan.name, level=plan.level.value)
            session.add(unit)
            existing[plan.code] = unit
    session.flush()
    parent_ids = {u.code: u.id for u in existing.values()}
    parent_ids.update(
        {u.code: u.id for u in units_by_code(session, [p.parent_code for p in plans if p.parent_code]).values()}
    )
    now = utcnow()
    for plan in plans:
        unit = existing[plan.code]
        parent_id = parent_ids[plan.parent_code] if plan.parent_code else None
        old_parent, old_name = unit.parent_id, unit.name
        changes = _unit_changes(unit, plan, parent_id)
        created = plan.code in new_codes
        if not changes and not created:
            report.unchanged += 1
            continue
        for key, value in changes.items():
            setattr(unit, key, value)
        if created:
            report.created += 1
            session.add(UnitEvent(unit_id=unit.id, at=now, kind="created", new_parent_id=parent_id,
                                  new_name=plan.name, actor=actor))
            continue
        unit.updated_at = now
        report.updated += 1
        if "parent_id" in changes:
            session.add(UnitEvent(unit_id=unit.id, at=now, kind="moved", old_parent_id=old_parent,
                                  new_parent_id=parent_id, actor=actor))
        if "name" in changes:
            session.add(UnitEvent(unit_id=unit.id, at=now, kind="renamed", old_name=old_name,
                                  new_name=plan.name, actor=actor))


def import_unit_table(
    session: Session, table: SourceTable, *, actor: str = "cli", source: str = ""
) -> ImportReport:
    """Import already-read unit rows (used by import_units and the demo)."""
    report = ImportReport("units")
    if not check_columns(table, UNIT_COLUMNS, report):
        return report
    plans = _validate_units(session, table, report)
    if report.errors:
        return reject(report, "import.units", source)
    _apply_units(session, plans, actor, report)
    return finish(session, report, "import.units", "unit", actor, source)


def import_units(session: Session, path: str | Path, actor: str = "cli") -> ImportReport:
    """Import the union tree from `code,name,parent_code,level,sector[,type_label,contact,members]`."""
    report = ImportReport("units")
    table = load_or_report(path, report)
    if table is None:
        return report
    return import_unit_table(session, table, actor=actor, source=Path(path).name)
