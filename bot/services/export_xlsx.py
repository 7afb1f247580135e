"""The Excel workbook of a round (openpyxl): completeness, one sheet per indicator, a summary.

Sheets, each with a title row, a header row frozen above the data, and widths that fit:

* "Tổng hợp" — every indicator of the round: result, target, % reached, units counted /
  expected / missing, the comparison period; share-of-"có" indicators also per sector;
* "Tình hình nộp" — per upper-level union (the scope's groups): expected, on time, late,
  missing, share submitted, and a total row;
* "Danh sách đơn vị" — every expected unit with its status, time of submission and receipt;
* one sheet per indicator (named by its code) — per unit: the value submitted in this
  round, the figure compared with the target (cumulative, latest or a ratio), the target
  and % reached.

Numbers are written as numbers (never text) so they equal the database's and add up in
Excel; number formats are the locale-neutral codes (#,##0 · 0.0% · dd/mm/yyyy hh:mm) that
Excel displays with the reader's separators — 1.234.567 and 87,5% on a Vietnamese system.
Names and titles that begin like a formula (=, +, -, @) are written as text (bot.services.cells).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import aliased
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from bot.clock import local_today, to_local, utcnow
from bot.i18n import _
from bot.models import IndicatorKind, Level, Round, Rollup, Unit
from bot.services import cells, figures, plausibility, reporting, review
from bot.services.rollup import (
    GROUP_BY_UNIT,
    LATE,
    MISSING,
    ON_TIME,
    IndicatorResult,
    RoundRollup,
    attainment,
    rollup_round,
    round_values,
    sector_label,
    unit_statuses,
)
from bot.textvn import format_date

INTEGER = "#,##0"
DECIMAL = "#,##0.##"
PERCENT = "0.0%"
RAW_PERCENT = '0.0"%"'  # a percent figure stored as 87.5 (as typed), shown 87,5%
YESNO = '"Có";"Có";"Không"'
DATETIME = "dd/mm/yyyy hh:mm"
MAX_WIDTH = 60
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
THIN = Border(bottom=Side(style="thin", color="999999"))

_Cell = tuple[Any, str | None]  # (value, number format)


def status_label(status: str) -> str:
    return {ON_TIME: _("on time"), LATE: _("late"), MISSING: _("not submitted")}.get(status, status)


def rollup_label(rollup: str) -> str:
    return {
        Rollup.SUM: _("sum over units and periods"),
        Rollup.SNAPSHOT: _("latest figure of each unit, added up"),
        Rollup.RATIO: _("ratio of sums"),
        Rollup.SHARE_YES: _("share of units answering yes"),
        Rollup.MEAN: _("units' percentages weighted by what they are a share of (else their average)"),
    }.get(rollup, rollup)


def _fraction(percent: float | None) -> float | None:
    return None if percent is None else percent / 100.0


def _value_format(result: IndicatorResult) -> str:
    kind = result.indicator.kind
    if kind == IndicatorKind.YESNO:
        return YESNO
    if kind == IndicatorKind.PERCENT:
        return RAW_PERCENT
    return INTEGER if kind in (IndicatorKind.COUNT, IndicatorKind.MONEY) else DECIMAL


def _target_format(result: IndicatorResult) -> str:
    return PERCENT if result.percent else _value_format(result)


def _target_cell(result: IndicatorResult, target: float | None) -> _Cell:
    return (_fraction(target), PERCENT) if result.percent else (target, _target_format(result))


def _result_cell(result: IndicatorResult, value: float | None) -> _Cell:
    return (_fraction(value), PERCENT) if result.percent else (value, _value_format(result))


def _display(value: Any, number_format: str | None) -> str:
    """Roughly what Excel shows, to size the column."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return "00/00/0000 00:00"
    if isinstance(value, (int, float)) and number_format:
        if "%" in number_format:
            return f"{value * (100 if number_format == PERCENT else 1):,.1f}%"
        if number_format == YESNO:
            return "Không"
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return str(value)


def _write_table(ws: Worksheet, title: str, headers: list[str], rows: list[list[_Cell]],
                 totals: list[int] | None = None) -> None:
    """Title in row 1, headers in row 2 (frozen), data below; rows listed in `totals` are shaded."""
    ws.append([title])
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    ws.append(headers)
    for col, _header in enumerate(headers, start=1):
        cell = ws.cell(row=2, column=col)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = THIN
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    widths = [len(h) + 2 for h in headers]
    for index, row in enumerate(rows):
        ws.append([value for value, _fmt in row])
        excel_row = index + 3  # (ws.max_row walks every row: quadratic on big sheets)
        for col, (value, fmt) in enumerate(row, start=1):
            cell = ws.cell(row=excel_row, column=col)
            if fmt:
                cell.number_format = fmt
            if totals and index in totals:
                cell.font = Font(bold=True)
                cell.fill = TOTAL_FILL
            widths[col - 1] = max(widths[col - 1], len(_display(value, fmt)) + 2)
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = min(MAX_WIDTH, max(8, width))
    ws.freeze_panes = "A3"
    ws.auto_filter.ref = f"A2:{get_column_letter(len(headers))}{len(rows) + 2}"


def _scope_name(rollup: RoundRollup) -> str:
    return rollup.root.name if rollup.root is not None else _("all units")


def _summary_sheet(ws: Worksheet, rollup: RoundRollup, min_coverage: float = figures.DEFAULT_MIN_COVERAGE) -> None:
    headers = [_("Code"), _("Indicator"), _("Unit of measure"), _("How it adds up"), _("Compared over"),
               _("Result"), _("Target"), _("% of the target reached"), _("Units with figures"), _("Units expected"),
               _("Units missing")]
    rows: list[list[_Cell]] = []
    for result in rollup.indicators:
        ind = result.indicator
        unit = "%" if result.percent else reporting.unit_of_measure(ind)
        window = figures.window_text(result.span, local_today())
        reached: _Cell = (_fraction(result.attainment()), PERCENT)
        if result.total.value is not None and result.target() is not None and not result.enough(min_coverage):
            reached = (_("not enough figures yet"), None)
        rows.append([(ind.code, None), (reporting.indicator_name(ind), None), (unit, None),
                     (rollup_label(ind.rollup), None), (window, None),
                     _result_cell(result, result.total.value), _target_cell(result, result.target()),
                     reached, (result.total.units, INTEGER),
                     (result.expected, INTEGER), (result.missing, INTEGER)])
        if result.percent and result.targets is not None and result.targets.sector_specific:
            for sector in sorted(set(result.targets.by_sector) | set(result.by_sector)):
                fig = result.by_sector.get(sector)
                value = fig.value if fig is not None else None
                target = result.targets.for_sector(sector)
                expected = sum(n for (_g, s), n in result.expected_by_group_sector.items() if s == sector)
                rows.append([(ind.code, None), ("   " + _("sector: {sector}").format(sector=sector_label(sector)), None),
                             ("%", None), ("", None), ("", None), _result_cell(result, value),
                             _target_cell(result, target), (_fraction(attainment(value, target)), PERCENT),
                             (fig.units if fig else 0, INTEGER), (expected, INTEGER),
                             (max(0, expected - (fig.units if fig else 0)), INTEGER)])
    title = _("{round} — {scope}: results against targets").format(round=rollup.round.title,
                                                                     scope=_scope_name(rollup))
    _write_table(ws, title, headers, rows)
    notes = [
        _("Period {period}, deadline {deadline}; exported at {time}.").format(
            period=rollup.period.code, deadline=format_date(rollup.round.deadline_at),
            time=to_local(utcnow()).strftime("%H:%M %d/%m/%Y")),
        _("Units that have not reported are counted as missing, never as zero."),
        _("Percentages are ratios of sums over the units that reported (never averages of percentages)."),
        _("Year and term targets are compared with the cumulative figures of their period up to this round."),
    ]
    if rollup.reviews is not None:
        notes.append(rollup.basis())
    ws.append([])
    for note in notes:
        ws.append([note])
        ws.cell(row=ws.max_row, column=1).font = Font(italic=True)


def _completeness_sheet(ws: Worksheet, rollup: RoundRollup) -> None:
    # under an upper-level union the rows are its CĐCS, each a unit of its own, not a union above others
    grassroots = bool(rollup.groups) and all(u.level == Level.GRASSROOTS for u in rollup.groups.values())
    headers = [_("Code"), _("Unit") if grassroots else _("Upper-level union"), _("Units expected"), _("On time"), _("Late"),
               _("Not submitted"), _("Share submitted")]
    reviewed = rollup.reviews is not None
    if reviewed:
        headers += [_("Approved"), _("Waiting for review"), _("Returned")]

    def review_cells(counts: Any) -> list[_Cell]:
        if not reviewed:
            return []
        return [(counts.approved, INTEGER), (counts.waiting, INTEGER), (counts.returned, INTEGER)]

    rows: list[list[_Cell]] = []
    for gid, unit in rollup.groups.items():
        c = rollup.completeness_by_group[gid]
        rows.append([(unit.code, None), (unit.name, None), (c.expected, INTEGER), (c.on_time, INTEGER),
                     (c.late, INTEGER), (c.missing, INTEGER), (_fraction(c.share), PERCENT)]
                    + review_cells(rollup.reviews_by_group.get(gid)))
    c = rollup.completeness
    rows.append([("", None), (_("Total"), None), (c.expected, INTEGER), (c.on_time, INTEGER),
                 (c.late, INTEGER), (c.missing, INTEGER), (_fraction(c.share), PERCENT)]
                + review_cells(rollup.reviews))
    title = _("{round} — {scope}: who has reported").format(round=rollup.round.title, scope=_scope_name(rollup))
    _write_table(ws, title, headers, rows, totals=[len(rows) - 1])


def _parent_names(session: Session, statuses: list) -> dict[int, str]:
    """unit id → the name of the union directly above it (its "Công đoàn cấp trên"), whatever the scope."""
    parent = aliased(Unit)
    ids = [st.unit_id for st in statuses]
    found: dict[int, str] = {}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        found.update(session.exec(sm_select(Unit.id, parent.name).join(parent, parent.id == Unit.parent_id)
                                  .where(col(Unit.id).in_(chunk))).all())
    return found


def build_workbook(session: Session, rnd: Round, root_id: int | None,
                   min_coverage: float = figures.DEFAULT_MIN_COVERAGE, *, approved_only: bool = False) -> bytes:
    """The .xlsx of a round under a root unit (None: every unit), as bytes.

    ``approved_only`` counts only approved reports in the figures (rounds that require review);
    the choice is stated on the summary sheet."""
    groups = rollup_round(session, rnd, root_id, approved_only=approved_only)
    per_unit = rollup_round(session, rnd, root_id, group_by=GROUP_BY_UNIT, group_targets=True,
                            approved_only=approved_only)
    statuses = unit_statuses(session, rnd, root_id)
    raw = round_values(session, rnd, root_id)
    group_names = _parent_names(session, statuses)

    wb = Workbook()
    summary = wb.active
    summary.title = _("Summary")[:31]
    _summary_sheet(summary, groups, min_coverage)
    _completeness_sheet(wb.create_sheet(_("Completeness")[:31]), groups)

    ws = wb.create_sheet(_("Units")[:31])
    headers = [_("Code"), _("Unit"), _("Upper-level union"), _("Sector"), _("Status"), _("Submitted at"),
               _("Receipt")]
    if rnd.requires_review:
        headers.append(_("Review"))
    rows: list[list[_Cell]] = []
    for st in statuses:
        when = to_local(st.submitted_at).replace(tzinfo=None) if st.submitted_at else None
        rows.append([(st.code, None), (st.name, None), (group_names.get(st.unit_id, ""), None),
                     (sector_label(st.sector), None), (status_label(st.status), None), (when, DATETIME),
                     (st.reference or "", None)]
                    + ([(review.state_label(st.review) if st.review else "", None)] if rnd.requires_review else []))
    _write_table(ws, _("{round}: units and their reports").format(round=rnd.title), headers, rows)

    flagged = {(u, i): v for u, i, v in plausibility.outliers(session, rnd)}
    for result in per_unit.indicators:
        _indicator_sheet(wb.create_sheet(result.indicator.code[:31]), per_unit, result, statuses,
                         group_names, raw, flagged)
    _outlier_sheet(wb, rnd, statuses, per_unit, flagged)
    if rnd.requires_review:
        _review_sheets(wb, session, rnd, statuses)
    return cells.save_workbook(wb)


def _review_sheets(wb: Workbook, session: Session, rnd: Round, statuses: list) -> None:
    """"Duyệt": every review step (who, when, comment); "Lịch sử sửa": every revision of every figure."""
    from sqlmodel import col, select

    from bot.models import Indicator, Person, Submission, SubmissionReview, SubmissionRevision

    names = {st.unit_id: (st.code, st.name) for st in statuses}
    subs = [s for s in session.exec(select(Submission).where(Submission.round_id == rnd.id)).all()
            if s.unit_id in names]
    by_id = {s.id: s for s in subs}
    people = {p.id: p.full_name for p in session.exec(select(Person)).all()}
    ids = list(by_id)
    steps: list[SubmissionReview] = []
    revisions: list[SubmissionRevision] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        steps += session.exec(select(SubmissionReview).where(col(SubmissionReview.submission_id).in_(chunk))).all()
        revisions += session.exec(select(SubmissionRevision).where(col(SubmissionRevision.submission_id).in_(chunk))).all()

    def local(at: datetime) -> datetime:
        return to_local(at).replace(tzinfo=None)

    rows: list[list[_Cell]] = []
    for step in sorted(steps, key=lambda r: (names[by_id[r.submission_id].unit_id][0], r.at, r.id)):
        code, name = names[by_id[step.submission_id].unit_id]
        rows.append([(code, None), (name, None), (step.revision, INTEGER), (review.state_label(step.state), None),
                     (people.get(step.person_id, ""), None), (local(step.at), DATETIME), (step.comment, None)])
    _write_table(wb.create_sheet(_("Review")[:31]), _("{round}: review of the reports").format(round=rnd.title),
                 [_("Code"), _("Unit"), _("Revision"), _("State"), _("By"), _("At"), _("Comment")], rows)
    indicators = {i.id: i for i in session.exec(select(Indicator)).all()}
    rows = []
    for rev in sorted(revisions, key=lambda r: (names[by_id[r.submission_id].unit_id][0], r.revision, r.indicator_id)):
        code, name = names[by_id[rev.submission_id].unit_id]
        ind = indicators.get(rev.indicator_id)
        rows.append([(code, None), (name, None), (ind.code if ind else "", None),
                     (reporting.indicator_name(ind) if ind else "", None), (rev.revision, INTEGER),
                     (rev.old_value, None), (rev.new_value, None), (people.get(rev.person_id, ""), None),
                     (local(rev.at), DATETIME)])
    _write_table(wb.create_sheet(_("Revisions")[:31]), _("{round}: every revision of the figures").format(round=rnd.title),
                 [_("Code"), _("Unit"), _("Code"), _("Indicator"), _("Revision"), _("Old value"), _("New value"),
                  _("By"), _("At")], rows)  # text that looks like a formula stays text


def OUTLIER_NOTE() -> str:  # noqa: N802  (translated when called)
    return "⚠ " + _("far from the unit's earlier figures; confirmed by the unit")


def _outlier_sheet(wb: Workbook, rnd: Round, statuses: list, rollup: RoundRollup,
                   flagged: dict[tuple[int, int], float | None]) -> None:
    """"Cần xem lại": every confirmed outlier of the scope, for staff to check with the unit."""
    names = {st.unit_id: (st.code, st.name) for st in statuses}
    by_id = {r.indicator.id: r.indicator for r in rollup.indicators}
    rows: list[list[_Cell]] = []
    for (unit_id, ind_id), value in sorted(flagged.items()):
        if unit_id not in names or ind_id not in by_id:
            continue
        ind = by_id[ind_id]
        rows.append([(names[unit_id][0], None), (names[unit_id][1], None), (ind.code, None),
                     (reporting.indicator_name(ind), None), (value, INTEGER if ind.kind != IndicatorKind.PERCENT else None),
                     (OUTLIER_NOTE(), None)])
    ws = wb.create_sheet(_("To check")[:31])
    _write_table(ws, _("{round}: figures far from the usual, confirmed by the units").format(round=rnd.title),
                 [_("Code"), _("Unit"), _("Code"), _("Indicator"), _("Value"), _("Note")], rows)


def _indicator_sheet(ws: Worksheet, rollup: RoundRollup, result: IndicatorResult, statuses: list,
                     group_names: dict[int, str], raw: dict[tuple[int, int], float | None],
                     flagged: dict[tuple[int, int], float | None] | None = None) -> None:
    ind = result.indicator
    unit = reporting.unit_of_measure(ind)
    ratio = ind.rollup == Rollup.RATIO
    if ind.rollup == Rollup.SUM:
        compared = (_("Cumulative {period}").format(period=result.window.code) if result.cumulative
                    else _("Figure"))
    elif ind.rollup == Rollup.SNAPSHOT:
        compared = _("Latest figure")
    elif ratio or ind.rollup == Rollup.MEAN:
        compared = _("Rate (%)")
    else:
        compared = _("Latest answer")
    headers = [_("Code"), _("Unit"), _("Upper-level union"), _("Sector"),
               _("This round ({unit})").format(unit=unit) if unit else _("This round")]
    if ratio:
        headers += [_("Numerator (latest)"), _("Denominator ({code}, latest)").format(code=ind.denominator_code)]
    headers += [compared, _("Target"), _("% of the target reached"), _("Note")]
    rows: list[list[_Cell]] = []
    for st in statuses:
        if (st.unit_id not in rollup.groups) or result.expected_by_group.get(st.unit_id, 0) == 0:
            continue  # the indicator does not apply to this unit (its level or sector)
        fig = result.by_group.get(st.unit_id)
        value = fig.value if fig is not None else None
        target = result.group_target(rollup.group_targets(result, st.unit_id), st.unit_id)
        row: list[_Cell] = [(st.code, None), (st.name, None), (group_names.get(st.unit_id, ""), None),
                            (sector_label(st.sector), None),
                            (raw.get((st.unit_id, ind.id)), _value_format(result))]  # type: ignore[arg-type]
        if ratio:
            row += [(fig.total if fig else None, INTEGER), (fig.denominator if fig else None, INTEGER)]
        if ind.rollup == Rollup.SHARE_YES:
            row.append(((1 if fig.yes else 0) if fig and fig.units else None, YESNO))
        else:
            row.append(_result_cell(result, value))
        row += [_target_cell(result, target), (_fraction(attainment(value, target)), PERCENT)]
        row.append((OUTLIER_NOTE() if (st.unit_id, ind.id) in (flagged or {}) else "", None))
        rows.append(row)
    title = f"{ind.code} — {reporting.indicator_name(ind)}"
    _write_table(ws, title, headers, rows)
