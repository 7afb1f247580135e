"""What the dashboard's pages show, built from the same services as the chat's staff view.

Every function takes the signed-in person and checks on the server what they may see:
staff their province, an officer their union's subtree, a chair their own unit. An id
outside that (typed into the address, or left over from another session) is NotFound, so
a page never says whether the unit exists, let alone shows a figure of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.clock import local_today, to_local
from bot.i18n import _
from bot.models import (
    ChatIdentity,
    Indicator,
    Level,
    Notice,
    Person,
    Role,
    Round,
    Rollup,
    Submission,
    SubmissionRevision,
    SubmissionValue,
    Unit,
)
from bot.services import figures, notices, progress, registry, reminders, reporting, review, rollup
from bot.services.rollup import IndicatorResult, RoundRollup, short_name
from bot.textvn import format_date, format_datetime, format_number

LEADERS = frozenset({Role.OFFICER, Role.STAFF, Role.ADMIN})
LOCKERS = frozenset({Role.STAFF, Role.ADMIN})


class NotFound(Exception):
    """Nothing the person may see has this id."""


class Forbidden(Exception):
    """The person may see the page but not do this (a chair asking for the workbook)."""


def is_leader(person: Person) -> bool:
    return person.role in LEADERS


def own_unit(session: Session, person: Person) -> Unit:
    unit = session.get(Unit, person.unit_id)
    if unit is None:
        raise NotFound
    return unit


def visible_unit(session: Session, person: Person, unit_id: int | None) -> Unit:
    """The unit asked for (default: the person's own) if the person may see it."""
    if unit_id is None:
        return own_unit(session, person)
    if unit_id != person.unit_id and unit_id not in registry.visible_unit_ids(session, person):
        raise NotFound
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound
    return unit


def visible_round(session: Session, person: Person, round_id: int) -> Round:
    """A round; a chair sees only the rounds their unit is asked to report in."""
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise NotFound
    if not is_leader(person) and not reporting.in_audience(session, rnd, own_unit(session, person)):
        raise NotFound
    return rnd


def parse_id(text: str | None) -> int | None:
    """An id from the address or a form: digits only, within the database's integer range."""
    if text is None or text == "":
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > 2**31 - 1:
        raise NotFound
    return int(text)


# --------------------------------------------------------------------------- rounds


@dataclass
class RoundRow:
    round: Round
    deadline: str
    state: str


def round_state(rnd: Round, now: datetime) -> str:
    if rnd.locked:
        return _("locked")
    if now < rnd.opens_at:
        return _("not open yet")
    return _("deadline passed") if now > rnd.deadline_at else _("open")


def rounds(session: Session, person: Person, now: datetime) -> list[RoundRow]:
    """The rounds the person may look at, newest deadline first."""
    found = session.exec(select(Round).order_by(col(Round.deadline_at).desc(), col(Round.id).desc())).all()
    if not is_leader(person):
        unit = own_unit(session, person)
        found = [r for r in found if reporting.in_audience(session, r, unit)]
    return [RoundRow(r, format_date(r.deadline_at), round_state(r, now)) for r in found]


@dataclass
class GroupRow:
    unit: Unit
    name: str
    counts: rollup.Completeness
    upper: bool  # an upper-level union (drill down), not a CĐCS directly under the scope

    @property
    def bar(self) -> list[tuple[str, float]]:
        return bar(self.counts)


def bar(c: rollup.Completeness) -> list[tuple[str, float]]:
    """(css class, start %, width %) pieces of a completeness bar."""
    if not c.expected:
        return []
    pieces, start = [], 0.0
    for name, n in (("on-time", c.on_time), ("late", c.late), ("missing", c.missing)):
        width = 100.0 * n / c.expected
        pieces.append((name, round(start, 3), round(width, 3)))
        start += width
    return pieces  # type: ignore[return-value]


@dataclass
class UnitRow:
    unit_id: int
    code: str
    name: str
    status: str
    status_label: str
    chairs: str
    contact: str
    submitted_at: str
    days_late: int | None
    reach: str
    review: str | None = None  # waiting | approved | returned (rounds that require review)
    review_label: str = ""


@dataclass
class IndicatorRow:
    name: str
    window: str
    figure: str
    target: str
    reached: str
    coverage: str


@dataclass
class RoundPage:
    round: Round
    unit: Unit
    state: str
    deadline: str
    completeness: rollup.Completeness
    share: str
    bar: list
    groups: list[GroupRow]
    units: list[UnitRow]
    indicators: list[IndicatorRow]
    single: bool  # one CĐCS (a chair's own unit): its status, not a table
    own_status: str = ""
    parent: Unit | None = None  # the scope one level up, if the person may see it
    can_export: bool = False
    can_remind: bool = False
    can_lock: bool = False
    notes: list[str] = field(default_factory=list)
    reviews: Any = None  # ReviewCounts of a round that requires review (None: no review)
    review_by_group: dict = field(default_factory=dict)  # group unit id → ReviewCounts
    can_review: bool = False  # an officer or staff, the round requires review and is not locked
    approved_only: bool = False  # the figures count approved reports only
    basis: str = ""  # which reports the figures count, said beside them
    waiting_here: int = 0  # reports of the scope waiting for this person's review (bulk approval)

    def query(self, approved_only: bool | None = None) -> str:
        """The query string of this page's scope and basis (for links to the chart, workbook, toggle)."""
        flag = self.approved_only if approved_only is None else approved_only
        return f"unit={self.unit.id}" + ("&approved=1" if flag and self.reviews is not None else "")


STATUS_LABELS = {rollup.ON_TIME: "on time", rollup.LATE: "late", rollup.MISSING: "not reported"}


def status_label(status: str) -> str:
    return {rollup.ON_TIME: _("on time"), rollup.LATE: _("late"), rollup.MISSING: _("not reported")}[status]


def may_review_round(person: Person, rnd: Round) -> bool:
    return person.role in review.REVIEWERS and rnd.requires_review and not rnd.locked


def round_page(session: Session, person: Person, round_id: int, unit_id: int | None, now: datetime,
               min_coverage: float, approved_only: bool = False) -> RoundPage:
    rnd = visible_round(session, person, round_id)
    unit = visible_unit(session, person, unit_id)
    if not is_leader(person) and not reporting.in_audience(session, rnd, unit):
        raise NotFound
    approved_only = approved_only and rnd.requires_review and is_leader(person)
    roll = rollup.rollup_round(session, rnd, unit.id, approved_only=approved_only)
    single = not is_leader(person) or unit.level == Level.GRASSROOTS
    c = roll.completeness
    page = RoundPage(
        round=rnd, unit=unit, state=round_state(rnd, now), deadline=format_date(rnd.deadline_at), completeness=c,
        share=figures.format_percent(c.share) if c.share is not None else "", bar=bar(c), groups=[], units=[],
        indicators=indicator_rows(roll, single, now, min_coverage), single=single,
        can_export=is_leader(person), can_remind=is_leader(person) and not rnd.locked and c.missing > 0,
        can_lock=person.role in LOCKERS and not rnd.locked)
    page.reviews, page.review_by_group = roll.reviews, roll.reviews_by_group
    page.approved_only, page.basis = approved_only, roll.basis() if is_leader(person) else ""
    page.can_review = may_review_round(person, rnd)
    if page.can_review:
        page.waiting_here = len(review.waiting(session, rnd, person, unit.id))
    if unit.parent_id is not None and unit.id != person.unit_id and is_leader(person):
        parent = session.get(Unit, unit.parent_id)
        if parent is not None and parent.id in registry.visible_unit_ids(session, person):
            page.parent = parent
    if single:
        page.own_status = own_status(session, rnd, unit)
        return page
    for gid, group in roll.groups.items():
        page.groups.append(GroupRow(group, short_name(group.name), roll.completeness_by_group[gid],
                                    group.level != Level.GRASSROOTS))
    if not any(g.upper for g in page.groups):
        page.units = unit_rows(session, rnd, unit, now)
        page.groups = []
    return page


def own_status(session: Session, rnd: Round, unit: Unit) -> str:
    sub = reporting.submission_of(session, rnd, unit)
    if sub is None:
        return _("Not reported yet in this round.")
    when = format_datetime(sub.submitted_at)
    text = (_("Reported at {time}, after the deadline (reference {ref}).") if sub.late
            else _("Reported at {time}, on time (reference {ref}).")).format(time=when, ref=sub.reference)
    if sub.review:
        text += " " + _("Review: {state}.").format(state=review.state_label(sub.review))
    return text


def days_late(rnd: Round, submitted_at: datetime | None, now: datetime) -> int | None:
    deadline = to_local(rnd.deadline_at).date()
    day = to_local(submitted_at).date() if submitted_at is not None else local_today(now)
    late = (day - deadline).days
    return late if late > 0 and (submitted_at is not None or now > rnd.deadline_at) else None


def unit_rows(session: Session, rnd: Round, root: Unit, now: datetime) -> list[UnitRow]:
    """The expected units under a scope: status, chair, contact, when, days late, reachability."""
    statuses = rollup.unit_statuses(session, rnd, root.id)
    ids = [s.unit_id for s in statuses]
    units = {u.id: u for u in _in_chunks(session, Unit, Unit.id, ids)}
    chairs: dict[int, list[Person]] = {}
    for p in _in_chunks(session, Person, Person.unit_id, ids):
        if p.role == Role.CHAIR and p.active:
            chairs.setdefault(p.unit_id, []).append(p)
    idents: dict[int, list[ChatIdentity]] = {}
    for i in _in_chunks(session, ChatIdentity, ChatIdentity.person_id, [p.id for ps in chairs.values() for p in ps]):
        idents.setdefault(i.person_id, []).append(i)
    rows = []
    for s in statuses:
        people = chairs.get(s.unit_id, [])
        if not people:
            reach = _("no chair registered")
        elif all(not idents.get(p.id) for p in people):
            reach = _("chair has no chat")
        elif not any(i.reachable for p in people for i in idents.get(p.id, [])):
            reach = _("unreachable: blocked the bot")
        else:
            reach = ""
        unit = units.get(s.unit_id)
        contact = unit.contact if unit is not None else ""
        rows.append(UnitRow(
            unit_id=s.unit_id, code=s.code, name=s.name, status=s.status, status_label=status_label(s.status),
            chairs=", ".join(p.full_name or _("(no name)") for p in people), contact=contact,
            submitted_at=format_datetime(s.submitted_at) if s.submitted_at else "",
            days_late=days_late(rnd, s.submitted_at, now), reach=reach, review=s.review,
            review_label=review.state_label(s.review) if s.review else ""))
    return rows


def _in_chunks(session: Session, model, column, ids: list[int]) -> list:  # type: ignore[no-untyped-def]
    found: list = []
    for start in range(0, len(ids), 500):
        found += session.exec(select(model).where(col(column).in_(ids[start:start + 500]))).all()
    return found


def _figure_text(result: IndicatorResult, single: bool) -> str:
    fig = result.total
    ind = result.indicator
    if single and ind.rollup == Rollup.SHARE_YES:
        return _("no figures") if not fig.units else (_("Yes") if fig.yes else _("No"))
    if fig.value is None:
        return _("no figures")
    if result.percent:
        shown = figures.format_percent(fig.value)
        if ind.rollup == Rollup.RATIO and fig.denominator and not single:
            shown += " (" + _("{num} of {den}").format(num=format_number(fig.total), den=format_number(fig.denominator)) + ")"
        return shown
    return reporting.format_indicator_value(ind, fig.value)


def indicator_rows(roll: RoundRollup, single: bool, now: datetime, min_coverage: float) -> list[IndicatorRow]:
    """Each indicator asked of some unit in scope, against its target (the figures of /tonghop)."""
    rows = []
    today = local_today(now)
    for result in roll.indicators:
        if not result.expected:
            continue
        target = result.target()
        target_text = reached = ""
        if target is not None:
            shown = figures.format_percent(target) if result.percent else reporting.format_indicator_value(
                result.indicator, target)
            period = result.targets.period.code if result.targets is not None else ""
            target_text = f"{shown} ({period})"
            if result.total.value is not None and not single and not result.enough(min_coverage):
                reached = _("not enough figures yet")
            else:
                attained = result.attainment()
                reached = figures.format_percent(attained) if attained is not None else ""
        coverage = "" if single else _("{units}/{expected} units have reported").format(
            units=result.total.units, expected=result.expected)
        rows.append(IndicatorRow(name=reporting.indicator_name(result.indicator),
                                 window=figures.window_text(result.span, today),
                                 figure=_figure_text(result, single), target=target_text, reached=reached,
                                 coverage=coverage))
    return rows


def workbook(session: Session, person: Person, round_id: int, unit_id: int | None, min_coverage: float,
             approved_only: bool = False) -> tuple[str, bytes]:
    rnd = visible_round(session, person, round_id)
    unit = visible_unit(session, person, unit_id)
    if not is_leader(person):
        raise Forbidden
    from bot.services import export_xlsx  # openpyxl loads on first use

    content = export_xlsx.build_workbook(session, rnd, unit.id, min_coverage,
                                         approved_only=approved_only and rnd.requires_review)
    return f"tonghop-{rnd.code}-{unit.code}.xlsx", content


def chart(session: Session, person: Person, round_id: int, unit_id: int | None, approved_only: bool = False) -> bytes:
    rnd = visible_round(session, person, round_id)
    unit = visible_unit(session, person, unit_id)
    if not is_leader(person):
        raise Forbidden
    from bot.services import charts

    return charts.render_round_chart(rollup.rollup_round(session, rnd, unit.id,
                                                         approved_only=approved_only and rnd.requires_review))


# --------------------------------------------------------------------------- review

# The decisions go through bot.services.review, as /duyet does in the chat: the same checks (scope,
# round requires review and is not locked, report still waiting), the same history rows and the
# same pushes to the chair through the outbox.


def reviewable(session: Session, person: Person, submission_id: int | None) -> tuple[Submission, Round, Unit]:
    """A submission this person may decide on. Outside what they may see: NotFound (the page never says
    whether it exists); a chair, or their own unit: Forbidden; a round that does not require review,
    is locked, …: review.ReviewRefused with the reason."""
    sub = session.get(Submission, submission_id) if submission_id is not None else None
    if sub is None:
        raise NotFound
    unit = visible_unit(session, person, sub.unit_id)
    if person.role not in review.REVIEWERS or unit.id == person.unit_id:
        raise Forbidden
    return review.reviewable(session, person, sub.id)


@dataclass
class Decided:
    submission: Submission
    round: Round
    unit: Unit
    state: str


def decide(session: Session, person: Person, submission_id: int | None, action: str, comment: str,
           revision: int | None, now: datetime) -> Decided:
    """Approve or return (with the comment) the report as it was shown (`revision`): a report corrected
    since the page was opened is refused, so nobody approves figures they have not seen."""
    sub, rnd, unit = reviewable(session, person, submission_id)
    if action not in ("approve", "return"):
        raise NotFound
    if revision is not None and revision != sub.revision:
        raise review.ReviewRefused(_("{unit} corrected this report after you opened the page. Look at the new "
                                     "figures and decide again.").format(unit=unit.name))
    if action == "approve":
        review.approve(session, sub, rnd, unit, person, now, f"web:{person.id}")
    else:
        review.return_report(session, sub, rnd, unit, person, comment, now, f"web:{person.id}")
    return Decided(sub, rnd, unit, sub.review or "")


@dataclass
class BulkPage:
    round: Round
    unit: Unit
    items: list[tuple[str, str]]  # (unit name, sent at)
    mark: int


def bulk_page(session: Session, person: Person, round_id: int, unit_id: int | None) -> BulkPage:
    """What a bulk approval would approve: the reports of a union waiting for this person's review."""
    rnd, unit = _bulk_scope(session, person, round_id, unit_id)
    mark = review.history_mark(session)
    items = [(i.unit.name, format_datetime(i.submission.updated_at)) for i in review.waiting(session, rnd, person, unit.id)]
    return BulkPage(rnd, unit, items, mark)


def approve_all(session: Session, person: Person, round_id: int, unit_id: int | None, mark: int | None,
                now: datetime) -> tuple[Round, Unit, int, int]:
    """Approve what the confirmation listed (nothing that started waiting after `mark`); return the count
    approved and the count still waiting in the union."""
    rnd, unit = _bulk_scope(session, person, round_id, unit_id)
    if mark is None:
        raise NotFound
    done = review.approve_all(session, rnd, person, unit.id, now, f"web:{person.id}", seen_up_to=mark)
    return rnd, unit, done, len(review.waiting(session, rnd, person, unit.id))


def _bulk_scope(session: Session, person: Person, round_id: int, unit_id: int | None) -> tuple[Round, Unit]:
    rnd = visible_round(session, person, round_id)
    unit = visible_unit(session, person, unit_id)
    if person.role not in review.REVIEWERS:
        raise Forbidden
    review.check_round(rnd)
    return rnd, unit


def remind(session: Session, person: Person, round_id: int, unit_id: int | None, now: datetime
           ) -> tuple[Round, Unit, reminders.Reminded | None]:
    """Remind the chairs of the units under the scope that have not reported (None: the round is locked)."""
    rnd = visible_round(session, person, round_id)
    unit = visible_unit(session, person, unit_id)
    if not is_leader(person):
        raise Forbidden
    if rnd.locked:
        return rnd, unit, None
    under = registry.subtree_ids(session, unit.id) & (registry.visible_unit_ids(session, person) | {unit.id})
    done = reminders.remind_owing(session, rnd, under, now)
    from bot.services import audit

    audit.record(session, "round.remind", entity="round", entity_id=rnd.id, person_id=person.id, actor="web",
                 detail={"round": rnd.code, "unit": unit.code, "queued": done.queued, "already": done.already})
    return rnd, unit, done


def lock(session: Session, person: Person, round_id: int, now: datetime) -> Round:
    rnd = visible_round(session, person, round_id)
    if person.role not in LOCKERS:
        raise Forbidden
    if not rnd.locked:
        reporting.lock_round(session, rnd, now, actor=f"web:{person.id}")
    return rnd


# --------------------------------------------------------------------------- a unit


@dataclass
class Change:
    indicator: str
    who: str
    when: str
    old: str
    new: str


@dataclass
class ReviewEntry:
    when: str
    state: str
    who: str
    comment: str
    revision: int


@dataclass
class SubmissionView:
    round: Round
    submission: Submission
    when: str
    values: list[tuple[str, str]]
    changes: list[Change]
    review_label: str = ""  # the state, for a round that requires review
    reviews: list[ReviewEntry] = field(default_factory=list)
    can_review: bool = False  # waiting, and this person may approve or return it
    review_note: str = ""  # why it cannot be reviewed here any more (a locked round)


@dataclass
class TargetRow:
    name: str
    target: str
    actual: str
    reached: str
    missing: str


@dataclass
class UnitPage:
    unit: Unit
    parent: Unit | None
    submissions: list[SubmissionView]
    targets: list[TargetRow]
    period: str
    children: list[Unit] = field(default_factory=list)  # the active units directly under it


def _value(indicator: Indicator | None, value: float | None) -> str:
    if value is None:
        return "—"
    if indicator is None:
        return format_number(value)
    return reporting.format_indicator_value(indicator, value)


def unit_page(session: Session, person: Person, unit_id: int, now: datetime, min_coverage: float) -> UnitPage:
    unit = visible_unit(session, person, unit_id)
    indicators = {i.id: i for i in session.exec(select(Indicator)).all()}
    subs = session.exec(select(Submission, Round).join(Round, col(Round.id) == col(Submission.round_id))
                        .where(Submission.unit_id == unit.id)
                        .order_by(col(Round.deadline_at).desc())).all()
    people = {p.id: p for p in session.exec(select(Person).where(Person.unit_id == unit.id)).all()}
    views = []
    for sub, rnd in subs:
        values = session.exec(select(SubmissionValue).where(SubmissionValue.submission_id == sub.id)).all()
        revisions = session.exec(select(SubmissionRevision).where(SubmissionRevision.submission_id == sub.id)
                                 .order_by(col(SubmissionRevision.at), col(SubmissionRevision.id))).all()
        changes = []
        for rev in revisions:
            who = people.get(rev.person_id) if rev.person_id is not None else None
            if who is None and rev.person_id is not None:
                who = session.get(Person, rev.person_id)
            ind = indicators.get(rev.indicator_id)
            changes.append(Change(indicator=reporting.indicator_name(ind) if ind else "?",
                                  who=(who.full_name or _("(no name)")) if who else "—",
                                  when=format_datetime(rev.at), old=_value(ind, rev.old_value),
                                  new=_value(ind, rev.new_value)))
        ordered = sorted(values, key=lambda v: (indicators[v.indicator_id].position if v.indicator_id in indicators
                                                else 0, v.indicator_id))
        view = SubmissionView(
            round=rnd, submission=sub, when=format_datetime(sub.submitted_at),
            values=[(reporting.indicator_name(indicators[v.indicator_id]) if v.indicator_id in indicators else "?",
                     _value(indicators.get(v.indicator_id), v.value)) for v in ordered],
            changes=changes)
        if rnd.requires_review and sub.review:
            view.review_label = review.state_label(sub.review)
            view.reviews = _review_entries(session, sub, people)
            reviewer = person.role in review.REVIEWERS and unit.id != person.unit_id
            view.can_review = reviewer and sub.review == review.WAITING and not rnd.locked
            if reviewer and sub.review == review.WAITING and rnd.locked:
                view.review_note = _("The round {title} is locked, so its reports can no longer be reviewed.").format(
                    title=rnd.title)
        views.append(view)
    periods = progress.current_periods(session, now)
    targets: list[TargetRow] = []
    period_code = ""
    for period in periods:
        rows = progress.overview(session, unit, period, local_today(now), min_coverage)
        if rows:
            period_code = period.code
            targets = [TargetRow(name=reporting.indicator_name(p.indicator), target=_target_text(p),
                                 actual=_actual_text(p), reached=_reached(p), missing=_missing(p)) for p in rows]
            break
    parent = None
    if unit.parent_id is not None:
        up = session.get(Unit, unit.parent_id)
        if up is not None and (up.id == person.unit_id or up.id in registry.visible_unit_ids(session, person)):
            parent = up
    children = list(session.exec(select(Unit).where(Unit.parent_id == unit.id, Unit.active == True)  # noqa: E712
                                 .order_by(col(Unit.code))).all()) if is_leader(person) else []
    return UnitPage(unit=unit, parent=parent, submissions=views, targets=targets, period=period_code,
                    children=children)


def _review_entries(session: Session, sub: Submission, people: dict[int | None, Person]) -> list[ReviewEntry]:
    entries = []
    for row in review.history(session, sub):
        who = people.get(row.person_id) if row.person_id is not None else None
        if who is None and row.person_id is not None:
            who = session.get(Person, row.person_id)
        entries.append(ReviewEntry(when=format_datetime(row.at), state=review.state_label(row.state),
                                   who=(who.full_name or _("(no name)")) if who else "—", comment=row.comment,
                                   revision=row.revision))
    return entries


def _target_text(p: progress.Progress) -> str:
    assert p.target is not None
    if p.is_percent:
        return figures.format_percent(p.target.value)
    return reporting.format_indicator_value(p.indicator, p.target.value)


def _actual_text(p: progress.Progress) -> str:
    if p.actual.value is None:
        return _("no figures")
    if p.is_percent:
        return progress.format_percent(p.actual.value)
    return reporting.format_indicator_value(p.indicator, p.actual.value)


def _reached(p: progress.Progress) -> str:
    if p.reached is None:
        return ""
    if not p.enough():
        return _("not enough figures yet")
    return progress.format_percent(p.reached)


def _missing(p: progress.Progress) -> str:
    if p.missing is None:
        return ""
    if p.is_percent:
        return progress.format_count(p.missing)
    return reporting.format_indicator_value(p.indicator, p.missing)


# --------------------------------------------------------------------------- notices


@dataclass
class NoticeRow:
    notice: Notice
    when: str
    counts: notices.DeliveryCounts
    preview: str


def notice_list(session: Session, person: Person) -> list[NoticeRow]:
    if not is_leader(person):
        raise Forbidden
    return [NoticeRow(n, notices.when_label(n), notices.delivery_counts(session, n.id),  # type: ignore[arg-type]
                      _preview(n.body)) for n in notices.recent(session, person, limit=30)]


def _preview(body: str, length: int = 120) -> str:
    text = " ".join(body.split())
    return text if len(text) <= length else text[:length - 1] + "…"


@dataclass
class NoticePage:
    notice: Notice
    when: str
    counts: notices.DeliveryCounts
    waiting: list[tuple[str, list[tuple[str, str, str]]]]  # union → (person, unit, status / reason)
    audience: str


def visible_notice(session: Session, person: Person, notice_id: int) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None or not notices.can_manage(session, person, notice):
        raise NotFound
    return notice


def notice_page(session: Session, person: Person, notice_id: int) -> NoticePage:
    notice = visible_notice(session, person, notice_id)
    waiting = []
    for union, items in notices.group_by_union(notices.not_acknowledged(session, notice)):
        waiting.append((short_name(union.name) if union else _("Other units"),
                        [(i.person.full_name or _("(no name)"), i.unit.name, i.reason or i.status()) for i in items]))
    return NoticePage(notice=notice, when=notices.when_label(notice), counts=notices.delivery_counts(session, notice.id),  # type: ignore[arg-type]
                      waiting=waiting, audience=notices.describe_audience(session, notice.audience))


def remind_notice(session: Session, person: Person, notice_id: int, seen: int | None, now: datetime) -> int | None:
    """Send the notice again to those who have not acknowledged it — once per press of the page as shown
    (`seen` is the number of re-reminders the page showed; a second press of the same page sends nothing)."""
    notice = visible_notice(session, person, notice_id)
    if seen is None or seen != notice.remind_count:
        return None
    return notices.resend_unacknowledged(session, notice, person, now, actor="web")
