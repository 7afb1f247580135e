"""Reporting use cases: open rounds, the questions of a round, checks, drafts, submissions
and corrections with revision history. Plain functions taking a session; no channel code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from decimal import Decimal

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from bot.i18n import _, current_language
from bot.models import (
    Indicator,
    IndicatorKind,
    Period,
    ReportDraft,
    Round,
    RoundIndicator,
    Rollup,
    Submission,
    SubmissionRevision,
    SubmissionValue,
    Target,
    Unit,
)
from bot.services import audit, registry, review
from bot.textvn import Kind, format_value

# ---- what a unit must report ------------------------------------------------


def in_audience(session: Session, rnd: Round, unit: Unit) -> bool:
    """Whether a unit is asked to report in a round (level, sector, and subtree filters)."""
    audience = rnd.audience or {}
    levels = audience.get("levels") or ["grassroots"]
    if unit.level not in levels or not unit.active:
        return False
    sectors = audience.get("sectors") or []
    if sectors and unit.sector not in sectors:
        return False
    under = audience.get("under") or []
    if under:
        codes = {u.code for u in registry.ancestors(session, unit)} | {unit.code}
        if not codes.intersection(under):
            return False
    return True


def open_rounds(session: Session, unit: Unit, now: datetime) -> list[Round]:
    """Rounds that have opened, are not locked, and ask this unit to report (earliest deadline first)."""
    rounds = session.exec(
        select(Round).where(Round.opens_at <= now, Round.locked == False)  # noqa: E712
        .order_by(Round.deadline_at, Round.code)
    ).all()
    return [r for r in rounds if in_audience(session, r, unit)]


def recent_locked_rounds(session: Session, unit: Unit, now: datetime, days: int = 120) -> list[Round]:
    """Locked rounds of the last months this unit was asked in (to explain whom to ask for corrections)."""
    rounds = session.exec(
        select(Round).where(Round.locked == True, Round.deadline_at >= now - timedelta(days=days))  # noqa: E712
        .order_by(Round.deadline_at, Round.code)
    ).all()
    return [r for r in rounds if in_audience(session, r, unit)]


def applies_to(indicator: Indicator, unit: Unit) -> bool:
    levels = indicator.levels.split()
    sectors = indicator.sectors.split()
    return (not levels or unit.level in levels) and (not sectors or (unit.sector or "") in sectors)


def round_indicators(session: Session, rnd: Round, unit: Unit) -> list[Indicator]:
    """The indicators this unit answers in a round, in the round's order."""
    rows = session.exec(
        select(Indicator)
        .join(RoundIndicator, col(RoundIndicator.indicator_id) == col(Indicator.id))
        .where(RoundIndicator.round_id == rnd.id)
        .order_by(RoundIndicator.position, Indicator.position)
    ).all()
    return [i for i in rows if applies_to(i, unit)]


@dataclass
class ReportFacts:
    """What a report conversation shows and checks besides the typed figures, loaded once per
    report (a handful of queries) and kept with the conversation, so that a typed answer
    costs no query for them: the unit's indicators in the round's order, the indicators of
    "not above" rules against them, the figures last confirmed in earlier rounds, the targets.

    A report started before an indicator was added to the round, a target imported or an
    earlier round corrected shows what was true at its start; the submission itself reads
    the round's indicators afresh.
    """

    round_id: int
    unit_id: int
    indicators: list[Indicator]  # the unit's, in the round's order
    related: dict[str, Indicator]  # by code: the round's and those of "not above" rules with them
    below: dict[str, list[str]]  # code → codes of the indicators that must not be above it
    last: dict[str, tuple[float, str]]  # code → (value, round title) last confirmed in an earlier round
    targets: dict[str, tuple[float, str]]  # code → (target, period code)

    VERSION = 1

    def to_json(self) -> dict:
        return {"v": self.VERSION, "round": self.round_id, "unit": self.unit_id,
                "order": [i.code for i in self.indicators],
                "related": {c: i.model_dump() for c, i in self.related.items()},
                "below": self.below, "last": {c: list(v) for c, v in self.last.items()},
                "targets": {c: list(v) for c, v in self.targets.items()}}

    @classmethod
    def from_json(cls, data: object) -> "ReportFacts | None":
        """The facts kept with a conversation; None when missing or of an older shape."""
        if not isinstance(data, dict) or data.get("v") != cls.VERSION:
            return None
        try:
            # plain read-only copies: validating table models back (instrumented setattr) cost
            # more than the queries this saves
            related: dict[str, Any] = {c: SimpleNamespace(**d) for c, d in data["related"].items()}
            return cls(round_id=int(data["round"]), unit_id=int(data["unit"]),
                       indicators=[related[c] for c in data["order"]], related=related,
                       below={c: [str(o) for o in v] for c, v in data["below"].items()},
                       last={c: (float(v[0]), str(v[1])) for c, v in data["last"].items()},
                       targets={c: (float(v[0]), str(v[1])) for c, v in data["targets"].items()})
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def report_facts(session: Session, rnd: Round, unit: Unit) -> ReportFacts:
    """Load the facts of one unit's report in a round (see ReportFacts)."""
    indicators = round_indicators(session, rnd, unit)
    codes = [i.code for i in indicators]
    related = {i.code: i for i in indicators}
    outside = [i.not_above_code for i in indicators if i.not_above_code and i.not_above_code not in related]
    conditions = [col(Indicator.not_above_code).in_(codes)] if codes else []
    if outside:
        conditions.append(col(Indicator.code).in_(outside))
    below: dict[str, list[str]] = {}
    if conditions:
        from sqlalchemy import or_

        for other in session.exec(select(Indicator).where(or_(*conditions)).order_by(col(Indicator.id))).all():
            related.setdefault(other.code, other)
            if other.not_above_code in codes:
                below.setdefault(other.not_above_code, []).append(other.code)
    by_id = {i.id: i.code for i in related.values()}
    last: dict[str, tuple[float, str]] = {}
    if by_id:
        rows = session.exec(
            select(SubmissionValue.indicator_id, SubmissionValue.value, Round.title)
            .join(Submission, col(Submission.id) == col(SubmissionValue.submission_id))
            .join(Round, col(Round.id) == col(Submission.round_id))
            .where(Submission.unit_id == unit.id, col(SubmissionValue.indicator_id).in_(list(by_id)),
                   col(SubmissionValue.value).is_not(None), Round.id != rnd.id,
                   Round.deadline_at < rnd.deadline_at)
            .order_by(col(Round.deadline_at).desc())
        ).all()
        for indicator_id, value, title in rows:  # the first row per indicator: the latest round
            last.setdefault(by_id[indicator_id], (value, title))
    targets: dict[str, tuple[float, str]] = {}
    period = session.get(Period, rnd.period_id)
    if period is not None and indicators:
        best: dict[str, tuple[int, float, str]] = {}
        for indicator_id, value, p in session.exec(
            select(Target.indicator_id, Target.value, Period)
            .join(Period, col(Period.id) == col(Target.period_id))
            .where(Target.unit_id == unit.id, col(Target.indicator_id).in_([i.id for i in indicators]),
                   Period.starts_on <= period.starts_on, Period.ends_on >= period.ends_on)
        ).all():
            span = (p.ends_on - p.starts_on).days
            code = by_id[indicator_id]
            if code not in best or span < best[code][0]:  # the shortest period containing the round's
                best[code] = (span, value, p.code)
        targets = {c: (v, pc) for c, (_s, v, pc) in best.items()}
    assert rnd.id is not None and unit.id is not None
    return ReportFacts(round_id=rnd.id, unit_id=unit.id, indicators=indicators, related=related, below=below,
                       last=last, targets=targets)


def submission_of(session: Session, rnd: Round, unit: Unit) -> Submission | None:
    return session.exec(
        select(Submission).where(Submission.round_id == rnd.id, Submission.unit_id == unit.id)
    ).first()


def submitted_values(session: Session, submission: Submission) -> dict[int, float | None]:
    rows = session.exec(select(SubmissionValue).where(SubmissionValue.submission_id == submission.id)).all()
    return {r.indicator_id: r.value for r in rows}


def last_value(session: Session, unit: Unit, indicator: Indicator, rnd: Round) -> tuple[float, Round] | None:
    """The value this unit last confirmed for an indicator in an earlier round."""
    row = session.exec(
        select(SubmissionValue.value, Round)
        .join(Submission, col(Submission.id) == col(SubmissionValue.submission_id))
        .join(Round, col(Round.id) == col(Submission.round_id))
        .where(
            Submission.unit_id == unit.id,
            SubmissionValue.indicator_id == indicator.id,
            col(SubmissionValue.value).is_not(None),
            Round.id != rnd.id,
            Round.deadline_at < rnd.deadline_at,
        )
        .order_by(col(Round.deadline_at).desc())
    ).first()
    return (row[0], row[1]) if row else None


def target_for(session: Session, unit: Unit, indicator: Indicator, period: Period) -> tuple[float, Period] | None:
    """The unit's own target for the round's period, or else the shortest period containing it."""
    rows = session.exec(
        select(Target.value, Period)
        .join(Period, col(Period.id) == col(Target.period_id))
        .where(
            Target.unit_id == unit.id,
            Target.indicator_id == indicator.id,
            Period.starts_on <= period.starts_on,
            Period.ends_on >= period.ends_on,
        )
    ).all()
    if not rows:
        return None
    value, best = min(rows, key=lambda r: (r[1].ends_on - r[1].starts_on))
    return value, best


# ---- names and formatting -----------------------------------------------------


def indicator_name(indicator: Indicator) -> str:
    if current_language() == "en" and indicator.name_en:
        return indicator.name_en
    return indicator.name_vi


def unit_of_measure(indicator: Indicator) -> str:
    if current_language() == "en" and indicator.unit_en:
        return indicator.unit_en
    return indicator.unit_vi


def format_indicator_value(indicator: Indicator, value: float | Decimal | None) -> str:
    """A value the Vietnamese way, with its unit: 1.591.896.000 đồng, 87,5%, Có."""
    if value is None:
        return _("(skipped)")
    kind = Kind(indicator.kind)
    if kind == Kind.YESNO:
        return _("Yes") if value else _("No")
    return format_value(Decimal(str(value)), kind, unit_of_measure(indicator), locale=current_language())


def format_target(indicator: Indicator, value: float) -> str:
    """Targets of ratio and yes/no indicators are percentages; others are in the indicator's unit."""
    if indicator.rollup in (Rollup.RATIO, Rollup.SHARE_YES, Rollup.MEAN) or indicator.kind in (
            IndicatorKind.YESNO, IndicatorKind.PERCENT):
        return format_value(Decimal(str(value)), Kind.PERCENT, "%", locale=current_language())
    return format_indicator_value(indicator, value)


# ---- checks ---------------------------------------------------------------------


def example_value(indicator: Indicator) -> str:
    return {
        IndicatorKind.COUNT: "25",
        IndicatorKind.MONEY: "1.500.000",
        IndicatorKind.PERCENT: "87,5",
        IndicatorKind.YESNO: _("Yes"),
    }.get(IndicatorKind(indicator.kind), "25")


def check_value(
    indicator: Indicator,
    value: Decimal,
    draft: dict[str, float | None],
    catalogue: dict[str, Indicator],
) -> str | None:
    """The reason a value is refused (one polite sentence with an example), or None."""
    name = indicator_name(indicator)
    shown = format_indicator_value(indicator, value)
    if indicator.min_value is not None and value < Decimal(str(indicator.min_value)):
        if indicator.min_value == 0:
            return _("{name} cannot be negative. Please type a number of 0 or more, for example {example}.").format(
                name=name, example=example_value(indicator))
        return _("{name} must be at least {min}. Please type it again.").format(
            name=name, min=format_indicator_value(indicator, indicator.min_value))
    if indicator.max_value is not None and value > Decimal(str(indicator.max_value)):
        return _("{name} cannot be more than {max} (you typed {value}). Please type it again, for example {example}.").format(
            name=name, max=format_indicator_value(indicator, indicator.max_value), value=shown,
            example=example_value(indicator))
    # This value must not exceed another one in the same submission (female ≤ all members).
    upper = catalogue.get(indicator.not_above_code or "")
    if upper is not None and draft.get(upper.code) is not None and value > Decimal(str(draft[upper.code])):
        return _("{name} ({value}) cannot be more than {other} ({other_value}) typed earlier. Please check and type it again.").format(
            name=name, value=shown, other=indicator_name(upper),
            other_value=format_indicator_value(upper, draft[upper.code]))
    # …and no value already typed may exceed this one.
    for other in catalogue.values():
        if other.not_above_code == indicator.code and draft.get(other.code) is not None:
            if Decimal(str(draft[other.code])) > value:
                return _("{name} ({value}) cannot be less than {other} ({other_value}) typed earlier. Please check and type it again.").format(
                    name=name, value=shown, other=indicator_name(other),
                    other_value=format_indicator_value(other, draft[other.code]))
    return None


# ---- drafts ---------------------------------------------------------------------------


def round_and_draft(session: Session, round_id: int, unit: Unit) -> tuple[Round, ReportDraft | None] | None:
    """A round and the unit's draft of it, in one query (without flushing the session first:
    nothing written in this transaction yet changes either)."""
    row = session.exec(_ROUND_AND_DRAFT, params={"round_id": round_id, "unit_id": unit.id}).first()
    return (row[0], row[1]) if row is not None else None


_ROUND_AND_DRAFT = (  # built once (every typed answer reads it)
    select(Round, ReportDraft)
    .outerjoin(ReportDraft, (col(ReportDraft.round_id) == col(Round.id))
               & (col(ReportDraft.unit_id) == bindparam("unit_id")))
    .where(Round.id == bindparam("round_id"))
    .execution_options(autoflush=False)
)


def draft_of(session: Session, rnd: Round, unit: Unit) -> ReportDraft | None:
    return session.exec(
        select(ReportDraft).where(ReportDraft.round_id == rnd.id, ReportDraft.unit_id == unit.id)
    ).first()


def start_draft(session: Session, rnd: Round, unit: Unit, person_id: int | None, now: datetime,
                values: dict[str, float | None] | None = None, correcting: bool = False) -> ReportDraft:
    """A fresh draft (replacing an old one), optionally prefilled for a correction."""
    draft = draft_of(session, rnd, unit)
    if draft is None:
        draft = ReportDraft(round_id=rnd.id, unit_id=unit.id)
    draft.person_id = person_id
    draft.values = dict(values or {})
    draft.position = 0
    draft.correcting = correcting
    draft.updated_at = now
    session.add(draft)
    session.flush()
    return draft


def save_draft(session: Session, draft: ReportDraft, now: datetime, **changes: object) -> None:
    for key, val in changes.items():
        setattr(draft, key, val)
    draft.updated_at = now
    session.add(draft)


# ---- submitting -------------------------------------------------------------------------


@dataclass
class Receipt:
    submission: Submission
    changed: int  # values that changed (all of them for a first submission)
    corrected: bool


def submit(session: Session, rnd: Round, unit: Unit, draft: ReportDraft, person_id: int | None,
           now: datetime, actor: str) -> Receipt:
    """Confirm a draft: store the submission (or a new revision of it) and keep the history."""
    indicators = round_indicators(session, rnd, unit)
    values = {i.id: draft.values.get(i.code) for i in indicators}
    submission = submission_of(session, rnd, unit)
    corrected = submission is not None
    if submission is None:
        submission = Submission(round_id=rnd.id, unit_id=unit.id, reference=new_reference(session),
                                revision=1, submitted_by=person_id, submitted_at=now, updated_at=now,
                                late=now > rnd.deadline_at)
        session.add(submission)
        session.flush()
        old: dict[int, float | None] = {}
    else:
        submission.revision += 1
        submission.updated_at = now
        submission.submitted_by = person_id
        session.add(submission)
        old = submitted_values(session, submission)
    existing = {
        r.indicator_id: r
        for r in session.exec(select(SubmissionValue).where(SubmissionValue.submission_id == submission.id)).all()
    }
    changed = 0
    marked = {i.id for i in indicators if i.code in set(draft.values.get("_outliers") or [])}
    for indicator_id, value in values.items():
        if corrected and indicator_id in old and old[indicator_id] == value:
            continue
        changed += 1
        row = existing.get(indicator_id) or SubmissionValue(submission_id=submission.id, indicator_id=indicator_id)
        row.value = value
        row.flag = "outlier" if indicator_id in marked and value is not None else None  # plausibility.OUTLIER
        session.add(row)
        session.add(SubmissionRevision(submission_id=submission.id, revision=submission.revision,
                                       indicator_id=indicator_id, old_value=old.get(indicator_id),
                                       new_value=value, person_id=person_id, at=now))
    if corrected and changed == 0:
        submission.revision -= 1  # nothing changed: no new revision
    audit.record(session, "submission.correct" if corrected else "submission.create",
                 entity="submission", entity_id=submission.id, person_id=person_id, actor=actor,
                 detail={"round": rnd.code, "unit": unit.code, "revision": submission.revision,
                         "changed": changed, "late": now > rnd.deadline_at})
    review.on_submitted(session, rnd, submission, person_id, now, corrected=corrected, changed=changed)
    session.delete(draft)
    return Receipt(submission=submission, changed=changed, corrected=corrected)


def new_reference(session: Session) -> str:
    """A short receipt reference like BC-7KQ2MX."""
    while True:
        ref = "BC-" + registry.new_code(6)
        if session.exec(select(Submission.id).where(Submission.reference == ref)).first() is None:
            return ref


def lock_round(session: Session, rnd: Round, now: datetime, actor: str = "cli") -> None:
    rnd.locked = True
    rnd.locked_at = now
    session.add(rnd)
    audit.record(session, "round.lock", entity="round", entity_id=rnd.id, actor=actor,
                 detail={"round": rnd.code})


def round_by_code(session: Session, code: str) -> Round | None:
    return session.exec(select(Round).where(Round.code == code)).first()
