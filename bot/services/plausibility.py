"""Plausibility checks of typed figures, the way DHIS2's min–max checks work, but in a chat.

A hard rule (a range, "not above" another figure of the same report) refuses a value
(bot.services.reporting.check_value). A plausibility warning only asks "Bạn chắc chắn chứ?":

* a value far from the unit's previous report of that indicator — more than `factor` times
  it or less than 1/`factor` of it (Indicator.outlier_factor, default 5);
* a value that breaks a "not above" rule (members ≤ workers, donors ≤ workers: `not_above` in
  examples/indicators.csv) against the latest value the unit reported for the other
  indicator in an earlier round, when this round does not ask that indicator.

A value the chair confirms is stored with SubmissionValue.flag = OUTLIER, and staff see the mark
in the workbook and in /tonghop.
"""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, col, select

from bot.i18n import _
from bot.models import Indicator, IndicatorKind, Round, Submission, SubmissionValue, Unit
from bot.services import reporting

DEFAULT_FACTOR = 5.0
OUTLIER = "outlier"
DRAFT_KEY = "_outliers"  # in ReportDraft.values: the codes whose value the chair confirmed


def warning(session: Session, rnd: Round, unit: Unit, indicator: Indicator, value: Decimal,
            asked: dict[str, Indicator] | None = None) -> str | None:
    """The question to ask before accepting `value`, or None when it looks plausible (loads the
    report's facts; a conversation keeps them and calls `judge`)."""
    return judge(reporting.report_facts(session, rnd, unit), indicator, value)


def judge(facts: reporting.ReportFacts, indicator: Indicator, value: Decimal) -> str | None:
    """The question to ask before accepting `value`, or None when it looks plausible.

    The "not above" rules between indicators of this report are checked hard, in the report
    (reporting.check_value); here only those with indicators outside it, against the figures
    the unit last reported.
    """
    if indicator.kind == IndicatorKind.YESNO:
        return None
    previous = facts.last.get(indicator.code)
    factor = Decimal(str(indicator.outlier_factor or DEFAULT_FACTOR))
    if previous is not None and previous[0] is not None:
        old = Decimal(str(previous[0]))
        if old > 0 and (value > old * factor or value * factor < old):
            return _("This figure is very different from last time ({old} → {new}). Are you sure?").format(
                old=reporting.format_indicator_value(indicator, old), new=reporting.format_indicator_value(indicator, value))
    asked = {i.code for i in facts.indicators}
    rules = []
    if indicator.not_above_code and indicator.not_above_code not in asked:
        rules.append((indicator.not_above_code, True))
    for code in facts.below.get(indicator.code, []):
        if code not in asked:
            rules.append((code, False))
    for code, this_is_smaller in rules:
        other = facts.related.get(code)
        latest = facts.last.get(code)
        if other is None or latest is None or latest[0] is None:
            continue
        known = Decimal(str(latest[0]))
        if (this_is_smaller and value > known) or (not this_is_smaller and value < known):
            template = (_("{name} ({new}) is more than {other} last reported ({old}). Are you sure?") if this_is_smaller
                        else _("{name} ({new}) is less than {other} last reported ({old}). Are you sure?"))
            return template.format(name=reporting.indicator_name(indicator),
                                   new=reporting.format_indicator_value(indicator, value),
                                   other=reporting.indicator_name(other),
                                   old=reporting.format_indicator_value(other, known))
    return None


def outliers(session: Session, rnd: Round, unit_ids: list[int] | None = None) -> list[tuple[int, int, float | None]]:
    """(unit id, indicator id, value) of the confirmed outliers of a round (optionally of some units)."""
    query = (select(Submission.unit_id, SubmissionValue.indicator_id, SubmissionValue.value)
             .join(SubmissionValue, col(SubmissionValue.submission_id) == col(Submission.id))
             .where(Submission.round_id == rnd.id, SubmissionValue.flag == OUTLIER))
    rows = list(session.exec(query).all())
    if unit_ids is not None:
        wanted = set(unit_ids)
        rows = [r for r in rows if r[0] in wanted]
    return [(u, i, v) for u, i, v in rows]
