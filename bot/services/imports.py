"""Import units, targets and reporting rounds from CSV or Excel files prepared by staff.

Every import is all-or-nothing: all rows are checked first, and if one row is bad
nothing is written and the report lists every bad row with its line number and a
reason (translated through gettext). Importing the same file twice changes nothing
the second time: rows whose content is already in the database count as
"unchanged" and are not touched.

Files: CSV in UTF-8 (with or without BOM, `,` or `;` as delimiter, blank lines
ignored) or XLSX (first sheet, header in row 1). Header names are case-insensitive;
surrounding spaces are ignored and inner spaces count as `_` ("Parent code" =
`parent_code`). Line numbers are physical lines of the CSV (header = line 1) or
row numbers of the sheet.

Nothing is committed here: the caller owns the transaction (see bot.db.session_scope).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from bot.clock import local_day_end, local_day_start, utcnow
from bot.i18n import _
from bot.models import (
    Indicator,
    IndicatorKind,
    Level,
    Period,
    Round,
    RoundIndicator,
    Rollup,
    Sector,
    Target,
    Unit,
    UnitEvent,
)
from bot.services import audit
from bot.services.periods import (
    DateParseError,
    PeriodCodeError,
    get_or_create_period,
    normalise_period_code,
    parse_local_date,
)
from bot.textvn import Ambiguous, Invalid, Kind, Parsed, fold, parse_number

log = logging.getLogger(__name__)

UNIT_COLUMNS = ("code", "name", "parent_code", "level")
UNIT_OPTIONAL_COLUMNS = ("sector", "type_label", "contact", "members")
TARGET_COLUMNS = ("unit_code", "indicator", "period", "value")
TARGET_OPTIONAL_COLUMNS = ("sector",)
ROUND_COLUMNS = ("code", "title", "period", "opens", "deadline", "indicators")
ROUND_OPTIONAL_COLUMNS = ("audience_levels", "audience_sectors")
HEADER_ALIASES = {"members_hint": "members", "parent": "parent_code", "unit": "unit_code"}


def default_audience() -> dict[str, list[str]]:
    """Who a round is for when the file does not say: every grassroots union."""
    return {"levels": [Level.GRASSROOTS.value]}


_CODE_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_LIST_SPLIT_RE = re.compile(r"[\s;,]+")
_CHUNK = 500
FILE_LINE = 0  # line number used for problems with the file as a whole


# --------------------------------------------------------------------------- report


@dataclass
class ImportReport:
    """What an import did (or, with errors, why it did nothing)."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file was accepted (and, if anything changed, written)."""
        return not self.errors

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def add_error(self, line: int, message: str) -> None:
        self.errors.append((line, message))

    def error_lines(self) -> list[str]:
        """Errors as translated lines ready to show: 'Line 3: …'."""
        out = []
        for line, message in sorted(self.errors, key=lambda e: e[0]):
            if line == FILE_LINE:
                out.append(message)
            else:
                out.append(_("Line {line}: {message}").format(line=line, message=message))
        return out


# --------------------------------------------------------------------------- reading files


@dataclass(frozen=True)
class SourceRow:
    """One non-blank data row of an import file, with its line number."""

    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


@dataclass(frozen=True)
class SourceTable:
    """The normalised header and data rows of an import file."""

    columns: tuple[str, ...]
    rows: tuple[SourceRow, ...]

    def has(self, column: str) -> bool:
        return column in self.columns


class ImportFileError(Exception):
    """The file as a whole cannot be read; `message` is translated, `line` may be 0."""

    def __init__(self, message: str, line: int = FILE_LINE) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def normalise_header(name: str) -> str:
    """'  Parent Code ' → 'parent_code' (aliases such as members_hint → members applied)."""
    key = re.sub(r"[\s\-]+", "_", (name or "").replace("\ufeff", "").strip().lower())
    return HEADER_ALIASES.get(key, key)


def _build_table(records: Iterable[tuple[int, list[str]]]) -> SourceTable:
    """Turn (line, cells) records into a table: first non-blank record is the header."""
    header: list[str] | None = None
    rows: list[SourceRow] = []
    for line, cells in records:
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if header is None:
            header = [normalise_header(c) for c in cells]
            seen: set[str] = set()
            for name in header:
                if name and name in seen:
                    raise ImportFileError(
                        _("Column {column} appears twice in the header.").format(column=name), line
                    )
                seen.add(name)
            continue
        values = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header) if name}
        rows.append(SourceRow(line=line, values=values))
    if header is None:
        raise ImportFileError(_("The file is empty."))
    return SourceTable(columns=tuple(h for h in header if h), rows=tuple(rows))


def _sniff_delimiter(text: str) -> str:
    """Pick `;`, `,` or a tab by counting them on the first non-blank line."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    counts = {d: first.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _csv_records(text: str) -> Iterable[tuple[int, list[str]]]:
    """Yield (physical start line, cells) for every CSV record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    previous_end = 0
    for cells in reader:
        yield previous_end + 1, cells
        previous_end = reader.line_num


def _read_csv(path: Path) -> SourceTable:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _("The file is not UTF-8 text. Save it as \"CSV UTF-8\" or as an Excel .xlsx file.")
        ) from exc
    try:
        return _build_table(_csv_records(text))
    except csv.Error as exc:
        raise ImportFileError(_("The file cannot be read: {error}.").format(error=exc)) from exc


def _number_text(value: int | float, percent_format: bool) -> str:
    """Write a spreadsheet number as unambiguous Vietnamese text (decimal comma, no grouping)."""
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if percent_format:
        number *= 100
    number = number.normalize()
    if number == number.to_integral_value():
        text = str(int(number))
    else:
        text = format(number, "f").replace(".", ",")
    return text + ("%" if percent_format else "")


def _cell_text(cell: Any) -> str:
    """Render one openpyxl cell as the text a person would have typed."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return _number_text(value, "%" in str(cell.number_format or ""))
    return str(value).strip()


def _read_xlsx(path: Path) -> SourceTable:
    try:
        from openpyxl import load_workbook

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise ImportFileError(_("The file cannot be read: {error}.").format(error=exc)) from exc
    try:
        sheet = workbook.worksheets[0]
        records = [
            (row[0].row, [_cell_text(c) for c in row]) for row in sheet.iter_rows() if row
        ]
    finally:
        workbook.close()
    return _build_table(records)


def read_table(path: str | Path) -> SourceTable:
    """Read a CSV or XLSX import file into rows with their line numbers (raises ImportFileError)."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise ImportFileError(_("The file cannot be read: {error}.").format(error=exc)) from exc
    if p.suffix.lower() == ".xls" or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _("Old Excel .xls files are not supported. Save the sheet as .xlsx or as \"CSV UTF-8\".")
        )
    if p.suffix.lower() in (".xlsx", ".xlsm") or head.startswith(b"PK\x03\x04"):
        return _read_xlsx(p)
    return _read_csv(p)


def _load(path: str | Path, report: ImportReport) -> SourceTable | None:
    try:
        return read_table(path)
    except ImportFileError as exc:
        report.add_error(exc.line, exc.message)
        return None


def _check_columns(table: SourceTable, required: Sequence[str], report: ImportReport) -> bool:
    missing = [c for c in required if not table.has(c)]
    if missing:
        report.add_error(
            1, _("Missing column(s): {columns}.").format(columns=", ".join(missing))
        )
        return False
    return True


# --------------------------------------------------------------------------- shared parsing


_LEVEL_WORDS = {
    Level.PROVINCE: {"province", "tinh", "captinh", "ldldtinh", "liendoanlaodongtinh"},
    Level.UPPER: {
        "upper", "captren", "cdcaptren", "congdoancaptren", "captrentructiepcoso",
        "congdoancaptrentructiepcoso", "cdcttcs",
    },
    Level.GRASSROOTS: {"grassroots", "coso", "cdcs", "congdoancoso", "cs"},
}
_SECTOR_WORDS = {
    Sector.HCSN: {"hcsn", "hanhchinhsunghiep", "hanhchinh", "khuvuchanhchinhsunghiep"},
    Sector.DNNN: {"dnnn", "doanhnghiepnhanuoc", "nhanuoc"},
    Sector.NGOAINN: {
        "ngoainn", "ngoainhanuoc", "doanhnghiepngoainhanuoc", "dnngoainhanuoc", "dnngoainn",
        "ngoaikhuvucnhanuoc", "khuvucngoainhanuoc",
    },
}


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(text))


def parse_level(text: str) -> Level | None:
    """'cấp trên' → Level.UPPER, 'CĐCS' → Level.GRASSROOTS; None if not understood."""
    key = _compact(text)
    return next((lvl for lvl, words in _LEVEL_WORDS.items() if key in words), None)


def parse_sector(text: str) -> Sector | None:
    """'ngoài nhà nước' → Sector.NGOAINN; None if not understood (or empty)."""
    key = _compact(text)
    return next((sec for sec, words in _SECTOR_WORDS.items() if key in words), None)


def _split_list(text: str) -> list[str]:
    return [t for t in _LIST_SPLIT_RE.split(text or "") if t]


_MAX_LENGTHS = {"code": 64, "name": 300, "type_label": 120, "contact": 300, "title": 300}
_ROUND_CODE_MAX = 32


def _too_long(row: SourceRow, columns: Sequence[str], limits: dict[str, int] | None = None) -> list[str]:
    """Problems for cells longer than their database column allows."""
    limits = {**_MAX_LENGTHS, **(limits or {})}
    return [
        _("Column {column} is too long (at most {limit} characters).").format(column=c, limit=limits[c])
        for c in columns
        if len(row.get(c)) > limits[c]
    ]


def _empty(column: str) -> str:
    return _("Column {column} is empty.").format(column=column)


def _bad_level(value: str) -> str:
    return _("Unknown level {value}: write province, upper or grassroots (tỉnh, cấp trên, cơ sở).").format(
        value=value
    )


def _bad_sector(value: str) -> str:
    return _("Unknown sector {value}: write hcsn, dnnn or ngoainn, or leave it empty.").format(
        value=value
    )


def _bad_period(value: str) -> str:
    return _(
        "Bad period {value}: write 2026, 2026-Q1 … 2026-Q4, 2026-H1, 2026-H2 or 2023-2028."
    ).format(value=value)


def _plain_number(value: Decimal) -> str:
    """A number written so that nobody can misread it: 1500, 1,5."""
    value = value.normalize()
    if value == value.to_integral_value():
        return str(int(value))
    return format(value, "f").replace(".", ",")


def _invalid_number_message(value: str, reason: str) -> str:
    messages = {
        "empty": _("The value is empty."),
        "too_long": _("The value {value} is too long."),
        "not_whole": _("The value {value} must be a whole number."),
        "too_many_decimals": _("The value {value} has too many decimals (at most 2)."),
        "percent_sign": _("The value {value} must not be a percentage."),
        "percent_multiplier": _("A percentage cannot use k, triệu or tỷ: {value}."),
        "wrong_unit": _("The value {value} has the wrong unit for this indicator."),
        "not_yesno": _("The value {value} must be có or không."),
    }
    return messages.get(reason, _("The value {value} is not a number.")).format(value=value)


def parse_value(text: str, kind: Kind) -> tuple[Decimal | None, str | None]:
    """Parse a cell with textvn.parse_number: (value, None) or (None, translated problem)."""
    result = parse_number(text, kind)
    if isinstance(result, Parsed):
        return result.value, None
    if isinstance(result, Ambiguous):
        options = " / ".join(_plain_number(c) for c in result.candidates)
        return None, _(
            "The value {value} is ambiguous; write it as one of: {options} (no dots between thousands)."
        ).format(value=text, options=options)
    assert isinstance(result, Invalid)
    return None, _invalid_number_message(text, result.reason)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _units_by_code(session: Session, codes: Iterable[str]) -> dict[str, Unit]:
    wanted = sorted(set(codes))
    found: dict[str, Unit] = {}
    for chunk in _chunks(wanted):
        for unit in session.exec(select(Unit).where(col(Unit.code).in_(chunk))):
            found[unit.code] = unit
    return found


def _indicators_by_code(session: Session) -> dict[str, Indicator]:
    """Every indicator, keyed by upper-case code (codes are matched case-insensitively)."""
    return {ind.code.upper(): ind for ind in session.exec(select(Indicator))}


def _finish(
    session: Session, report: ImportReport, action: str, entity: str, actor: str, source: str
) -> ImportReport:
    """Flush and write the audit row when something changed."""
    session.flush()
    if report.created or report.updated:
        audit.record(
            session,
            action,
            entity=entity,
            actor=actor,
            detail={
                "file": source,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
            },
        )
        session.flush()
    log.info(
        "%s from %s: %d created, %d updated, %d unchanged",
        action, source or "-", report.created, report.updated, report.unchanged,
    )
    return report


def _reject(report: ImportReport, action: str, source: str) -> ImportReport:
    report.errors.sort(key=lambda e: e[0])
    log.info("%s from %s rejected: %d bad row(s)", action, source or "-", len(report.errors))
    return report


# --------------------------------------------------------------------------- units


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
        problems.append(_empty("code"))
    elif not _CODE_RE.match(code):
        problems.append(
            _("Bad unit code {code}: use only letters, digits, _ - or . without spaces.").format(code=code)
        )
    if not name:
        problems.append(_empty("name"))
    level_text = row.get("level")
    level = parse_level(level_text) if level_text else None
    if not level_text:
        problems.append(_empty("level"))
    elif level is None:
        problems.append(_bad_level(level_text))
    sector_text = row.get("sector")
    sector = parse_sector(sector_text) if sector_text else None
    if sector_text and sector is None:
        problems.append(_bad_sector(sector_text))
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
    problems += _too_long(row, ("code", "name", "type_label", "contact"))
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
    existing = _units_by_code(session, [p.code for p in plans])
    new_codes = {p.code for p in plans if p.code not in existing}
    for plan in plans:
        if plan.code in new_codes:
            unit = Unit(code=plan.code, name=plan.name, level=plan.level.value)
            session.add(unit)
            existing[plan.code] = unit
    session.flush()
    parent_ids = {u.code: u.id for u in existing.values()}
    parent_ids.update(
        {u.code: u.id for u in _units_by_code(session, [p.parent_code for p in plans if p.parent_code]).values()}
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
    if not _check_columns(table, UNIT_COLUMNS, report):
        return report
    plans = _validate_units(session, table, report)
    if report.errors:
        return _reject(report, "import.units", source)
    _apply_units(session, plans, actor, report)
    return _finish(session, report, "import.units", "unit", actor, source)


def import_units(session: Session, path: str | Path, actor: str = "cli") -> ImportReport:
    """Import the union tree from `code,name,parent_code,level,sector[,type_label,contact,members]`."""
    report = ImportReport("units")
    table = _load(path, report)
    if table is None:
        return report
    return import_unit_table(session, table, actor=actor, source=Path(path).name)


# --------------------------------------------------------------------------- targets


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
            value=text, minimum=_plain_number(Decimal(str(indicator.min_value))), indicator=indicator.code
        )
    if indicator.max_value is not None and value > Decimal(str(indicator.max_value)):
        return _("The value {value} is above the maximum {maximum} for {indicator}.").format(
            value=text, maximum=_plain_number(Decimal(str(indicator.max_value))), indicator=indicator.code
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
        problems.append(_empty("unit_code"))
    elif unit is None:
        problems.append(_("Unknown unit {code}.").format(code=unit_code))
    indicator = indicators.get(ind_code.upper()) if ind_code else None
    if not ind_code:
        problems.append(_empty("indicator"))
    elif indicator is None:
        problems.append(_("Unknown indicator {code}.").format(code=ind_code))
    period_code = ""
    if not period_text:
        problems.append(_empty("period"))
    else:
        try:
            period_code = normalise_period_code(period_text)
        except PeriodCodeError:
            problems.append(_bad_period(period_text))
    sector = parse_sector(sector_text) if sector_text else None
    if sector_text and sector is None:
        problems.append(_bad_sector(sector_text))
    value: Decimal | None = None
    if not value_text:
        problems.append(_empty("value"))
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
    units = _units_by_code(session, [r.get("unit_code") for r in table.rows if r.get("unit_code")])
    indicators = _indicators_by_code(session)
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
    for chunk in _chunks(sorted(set(unit_ids))):
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
    if not _check_columns(table, TARGET_COLUMNS, report):
        return report
    plans = _validate_targets(session, table, report)
    if report.errors:
        return _reject(report, "import.targets", source)
    _apply_targets(session, plans, report)
    return _finish(session, report, "import.targets", "target", actor, source)


def import_targets(session: Session, path: str | Path, actor: str = "cli") -> ImportReport:
    """Import targets from `unit_code,indicator,period,value[,sector]`; upsert per unit/indicator/period/sector."""
    report = ImportReport("targets")
    table = _load(path, report)
    if table is None:
        return report
    return import_target_table(session, table, actor=actor, source=Path(path).name)


# --------------------------------------------------------------------------- rounds


@dataclass
class _RoundPlan:
    line: int
    code: str
    title: str
    period_code: str
    opens_at: datetime
    deadline_at: datetime
    indicator_ids: list[int]
    audience: dict[str, Any] | None  # None = columns absent: keep a stored round's audience


def _parse_date_cell(column: str, text: str, problems: list[str]) -> date | None:
    if not text:
        problems.append(_empty(column))
        return None
    try:
        return parse_local_date(text)
    except DateParseError:
        problems.append(
            _("Bad date {value} in column {column}: write it as 20/12/2026 or 2026-12-20.").format(
                value=text, column=column
            )
        )
        return None


def _parse_words(text: str, parse: Any) -> list[str] | None:
    """Parse a list of levels or sectors ('cấp trên; cơ sở', 'hcsn dnnn'); None if a word is unknown."""
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


def _parse_audience(row: SourceRow, table: SourceTable, problems: list[str]) -> dict[str, Any] | None:
    if not (table.has("audience_levels") or table.has("audience_sectors")):
        return None
    audience: dict[str, Any] = default_audience()
    levels_text, sectors_text = row.get("audience_levels"), row.get("audience_sectors")
    if levels_text:
        levels = _parse_words(levels_text, parse_level)
        if not levels:
            problems.append(_bad_level(levels_text))
        else:
            audience["levels"] = levels
    if sectors_text:
        sectors = _parse_words(sectors_text, parse_sector)
        if not sectors:
            problems.append(_bad_sector(sectors_text))
        else:
            audience["sectors"] = sectors
    return audience


def _parse_indicator_list(text: str, indicators: dict[str, Indicator], problems: list[str]) -> list[int]:
    ids: list[int] = []
    codes = _split_list(text)
    if not codes:
        problems.append(_("The round asks no indicators: list their codes in the indicators column."))
    for code in codes:
        indicator = indicators.get(code.upper())
        if indicator is None:
            problems.append(_("Unknown indicator {code}.").format(code=code))
        elif indicator.id in ids:
            problems.append(_("Indicator {code} is listed twice.").format(code=code))
        else:
            assert indicator.id is not None
            ids.append(indicator.id)
    return ids


def _parse_round_row(
    row: SourceRow, table: SourceTable, indicators: dict[str, Indicator]
) -> tuple[_RoundPlan | None, list[str]]:
    problems: list[str] = []
    code, title, period_text = row.get("code"), row.get("title"), row.get("period")
    if not code:
        problems.append(_empty("code"))
    elif not _CODE_RE.match(code):
        problems.append(
            _("Bad round code {code}: use only letters, digits, _ - or . without spaces.").format(code=code)
        )
    if not title:
        problems.append(_empty("title"))
    problems += _too_long(row, ("code", "title"), {"code": _ROUND_CODE_MAX})
    period_code = ""
    if not period_text:
        problems.append(_empty("period"))
    else:
        try:
            period_code = normalise_period_code(period_text)
        except PeriodCodeError:
            problems.append(_bad_period(period_text))
    opens = _parse_date_cell("opens", row.get("opens"), problems)
    deadline = _parse_date_cell("deadline", row.get("deadline"), problems)
    if opens and deadline and deadline < opens:
        problems.append(
            _("The deadline {deadline} is before the opening date {opens}.").format(
                deadline=row.get("deadline"), opens=row.get("opens")
            )
        )
    indicator_ids = _parse_indicator_list(row.get("indicators"), indicators, problems)
    audience = _parse_audience(row, table, problems)
    if problems or opens is None or deadline is None:
        return None, problems
    return (
        _RoundPlan(row.line, code, title, period_code, local_day_start(opens), local_day_end(deadline),
                   indicator_ids, audience),
        [],
    )


def _round_indicator_ids(session: Session, round_id: int) -> list[int]:
    rows = session.exec(
        select(RoundIndicator).where(RoundIndicator.round_id == round_id).order_by(col(RoundIndicator.position))
    )
    return [ri.indicator_id for ri in rows]


def _wanted_audience(plan: _RoundPlan, current: dict[str, Any] | None) -> dict[str, Any]:
    """The audience to store: the file's levels/sectors, keeping other keys (e.g. 'under')."""
    if plan.audience is None:
        return dict(current) if current is not None else default_audience()
    kept = {k: v for k, v in (current or {}).items() if k not in ("levels", "sectors")}
    return {**kept, **plan.audience}


def _round_changed(session: Session, rnd: Round, plan: _RoundPlan, period_id: int | None) -> bool:
    return (
        rnd.title != plan.title
        or rnd.period_id != period_id
        or rnd.opens_at != plan.opens_at
        or rnd.deadline_at != plan.deadline_at
        or rnd.audience != _wanted_audience(plan, rnd.audience)
        or _round_indicator_ids(session, rnd.id or 0) != plan.indicator_ids
    )


def _validate_rounds(session: Session, table: SourceTable, report: ImportReport) -> list[_RoundPlan]:
    indicators = _indicators_by_code(session)
    plans: list[_RoundPlan] = []
    first_line: dict[str, int] = {}
    for row in table.rows:
        plan, problems = _parse_round_row(row, table, indicators)
        code = row.get("code")
        if code in first_line:
            problems.append(
                _("Round code {code} already appears on line {first}.").format(code=code, first=first_line[code])
            )
            plan = None
        elif code:
            first_line[code] = row.line
        for problem in problems:
            report.add_error(row.line, problem)
        if plan is not None:
            plans.append(plan)
    _check_locked(session, plans, report)
    return plans


def _check_locked(session: Session, plans: list[_RoundPlan], report: ImportReport) -> None:
    """A locked round may not be changed by an import (unchanged rows are fine)."""
    for plan in plans:
        rnd = session.exec(select(Round).where(Round.code == plan.code)).first()
        if rnd is None or not rnd.locked:
            continue
        period = session.exec(select(Period).where(Period.code == plan.period_code)).first()
        if _round_changed(session, rnd, plan, period.id if period else None):
            report.add_error(
                plan.line,
                _("Round {code} is locked; unlock it before changing it by import.").format(code=plan.code),
            )


def _apply_rounds(session: Session, plans: list[_RoundPlan], report: ImportReport) -> None:
    for plan in plans:
        period = get_or_create_period(session, plan.period_code)
        assert period.id is not None
        rnd = session.exec(select(Round).where(Round.code == plan.code)).first()
        if rnd is not None and not _round_changed(session, rnd, plan, period.id):
            report.unchanged += 1
            continue
        if rnd is None:
            rnd = Round(code=plan.code, title=plan.title, period_id=period.id, opens_at=plan.opens_at,
                        deadline_at=plan.deadline_at, audience=_wanted_audience(plan, None))
            session.add(rnd)
            report.created += 1
        else:
            rnd.title, rnd.period_id = plan.title, period.id
            rnd.opens_at, rnd.deadline_at = plan.opens_at, plan.deadline_at
            rnd.audience = _wanted_audience(plan, rnd.audience)
            report.updated += 1
        session.flush()
        assert rnd.id is not None
        if _round_indicator_ids(session, rnd.id) != plan.indicator_ids:
            session.execute(delete(RoundIndicator).where(RoundIndicator.round_id == rnd.id))
            session.flush()
            for position, indicator_id in enumerate(plan.indicator_ids, start=1):
                session.add(RoundIndicator(round_id=rnd.id, indicator_id=indicator_id, position=position))
            session.flush()


def import_round_table(
    session: Session, table: SourceTable, *, actor: str = "cli", source: str = ""
) -> ImportReport:
    """Import already-read round rows (used by import_rounds and the demo)."""
    report = ImportReport("rounds")
    if not _check_columns(table, ROUND_COLUMNS, report):
        return report
    plans = _validate_rounds(session, table, report)
    if report.errors:
        return _reject(report, "import.rounds", source)
    _apply_rounds(session, plans, report)
    return _finish(session, report, "import.rounds", "round", actor, source)


def import_rounds(session: Session, path: str | Path, actor: str = "cli") -> ImportReport:
    """Import rounds from `code,title,period,opens,deadline,indicators[,audience_levels,audience_sectors]`."""
    report = ImportReport("rounds")
    table = _load(path, report)
    if table is None:
        return report
    return import_round_table(session, table, actor=actor, source=Path(path).name)


def table_from_dicts(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> SourceTable:
    """Build a SourceTable from in-memory rows (line numbers start at 2, as under a header)."""
    norm = tuple(normalise_header(c) for c in columns)
    return SourceTable(
        columns=norm,
        rows=tuple(
            SourceRow(line=i, values={normalise_header(k): "" if v is None else str(v) for k, v in r.items()})
            for i, r in enumerate(rows, start=2)
        ),
    )
