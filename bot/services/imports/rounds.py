"""Import reporting rounds (period, dates, indicators, audience): validate, then upsert."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from bot.clock import local_day_end, local_day_start, utcnow
from bot.i18n import _
from bot.models import Indicator, Level, Period, Round, RoundIndicator
from bot.services import review
from bot.textvn import fold
from bot.services.periods import (
    DateParseError,
    PeriodCodeError,
    get_or_create_period,
    normalise_period_code,
    parse_local_date,
)
from bot.services.imports.parsing import (
    CODE_RE,
    ROUND_CODE_MAX,
    bad_level,
    bad_period,
    bad_sector,
    empty_cell,
    indicators_by_code,
    split_list,
    too_long,
    parse_level,
    parse_sector,
)
from bot.services.imports.reading import SourceRow, SourceTable, check_columns, load_or_report
from bot.services.imports.report import ImportReport, finish, reject

ROUND_COLUMNS = ("code", "title", "period", "opens", "deadline", "indicators")
ROUND_OPTIONAL_COLUMNS = ("audience_levels", "audience_sectors", "review", "approval_notice")
YES_WORDS = {"co", "yes", "1", "x", "true"}
NO_WORDS = {"khong", "no", "0", "false"}


def default_audience() -> dict[str, list[str]]:
    """Who a round is for when the file does not say: every grassroots union."""
    return {"levels": [Level.GRASSROOTS.value]}


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
    requires_review: bool | None = None  # None = column absent or empty: keep (new rounds: no review)
    approval_notice: bool | None = None  # None = keep (new rounds: the chair is told of an approval)


def _parse_flag(row: SourceRow, column: str, problems: list[str]) -> bool | None:
    """A yes/no cell ('có', 'không', 'yes', 'no', 1, 0); None when absent or empty."""
    text = row.get(column)
    if not text:
        return None
    word = fold(text).strip()
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    problems.append(_("Bad value {value} in column {column}: write có or không.").format(value=text, column=column))
    return None


def _parse_date_cell(column: str, text: str, problems: list[str]) -> date | None:
    if not text:
        problems.append(empty_cell(column))
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
            problems.append(bad_level(levels_text))
        else:
            audience["levels"] = levels
    if sectors_text:
        sectors = _parse_words(sectors_text, parse_sector)
        if not sectors:
            problems.append(bad_sector(sectors_text))
        else:
            audience["sectors"] = sectors
    return audience


def _parse_indicator_list(text: str, indicators: dict[str, Indicator], problems: list[str]) -> list[int]:
    ids: list[int] = []
    codes = split_list(text)
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
        problems.append(empty_cell("code"))
    elif not CODE_RE.match(code):
        problems.append(
            _("Bad round code {code}: use only letters, digits, _ - or . without spaces.").format(code=code)
        )
    if not title:
        problems.append(empty_cell("title"))
    problems += too_long(row, ("code", "title"), {"code": ROUND_CODE_MAX})
    period_code = ""
    if not period_text:
        problems.append(empty_cell("period"))
    else:
        try:
            period_code = normalise_period_code(period_text)
        except PeriodCodeError:
            problems.append(bad_period(period_text))
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
    requires_review = _parse_flag(row, "review", problems)
    approval_notice = _parse_flag(row, "approval_notice", problems)
    if problems or opens is None or deadline is None:
        return None, problems
    return (
        _RoundPlan(row.line, code, title, period_code, local_day_start(opens), local_day_end(deadline),
                   indicator_ids, audience, requires_review, approval_notice),
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
        or (plan.requires_review is not None and rnd.requires_review != plan.requires_review)
        or (plan.approval_notice is not None and rnd.approval_notice != plan.approval_notice)
        or _round_indicator_ids(session, rnd.id or 0) != plan.indicator_ids
    )


def _validate_rounds(session: Session, table: SourceTable, report: ImportReport) -> list[_RoundPlan]:
    indicators = indicators_by_code(session)
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
                        deadline_at=plan.deadline_at, audience=_wanted_audience(plan, None),
                        requires_review=bool(plan.requires_review),
                        approval_notice=plan.approval_notice is not False)
            session.add(rnd)
            report.created += 1
        else:
            rnd.title, rnd.period_id = plan.title, period.id
            rnd.opens_at, rnd.deadline_at = plan.opens_at, plan.deadline_at
            rnd.audience = _wanted_audience(plan, rnd.audience)
            if plan.requires_review is not None and plan.requires_review != rnd.requires_review:
                review.set_required(session, rnd, plan.requires_review, utcnow())
            if plan.approval_notice is not None:
                rnd.approval_notice = plan.approval_notice
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
    if not check_columns(table, ROUND_COLUMNS, report):
        return report
    plans = _validate_rounds(session, table, report)
    if report.errors:
        return reject(report, "import.rounds", source)
    _apply_rounds(session, plans, report)
    return finish(session, report, "import.rounds", "round", actor, source)


def import_rounds(session: Session, path: str | Path, actor: str = "cli") -> ImportReport:
    """Import rounds from `code,title,period,opens,deadline,indicators[,audience_levels,audience_sectors,
    review,approval_notice]` (review: có/không, default không; approval_notice: có/không, default có)."""
    report = ImportReport("rounds")
    table = load_or_report(path, report)
    if table is None:
        return report
    return import_round_table(session, table, actor=actor, source=Path(path).name)
