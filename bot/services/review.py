"""Review of submitted reports by the level above (DHIS2's data approval, ODK Central's review states).

A round can require review (Round.requires_review). Then every submission carries a state in
Submission.review — waiting (chờ duyệt), approved (đã duyệt) or returned (trả lại, with a
comment) — and every change of state is a SubmissionReview row (who, when, which revision,
the comment), kept beside the revisions of the figures.

Rules (checked here, whatever a button or a typed command says):
* an officer reviews only the units of their subtree; staff the units of their province
  (registry.visible_unit_ids);
* a locked round cannot be reviewed any more;
* only a waiting report is approved or returned;
* a chair's correction puts the report back to waiting; when it had been approved, the
  reviewer who approved it is told.

Pushes go through the outbox: the chair is told about a return (the comment, and a button
that starts the correction) and, unless the round turns it off, about an approval in one line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from bot.i18n import _, use_language
from bot.messages import Option, Reply, esc, reply_to_json
from bot.models import Person, Role, Round, Submission, SubmissionReview, Unit
from bot.services import audit, outbox, registry

log = logging.getLogger(__name__)

WAITING, APPROVED, RETURNED = "waiting", "approved", "returned"
STATES = (WAITING, APPROVED, RETURNED)
MAX_COMMENT = 1000
REVIEWERS = (Role.OFFICER, Role.STAFF, Role.ADMIN)


class ReviewRefused(Exception):
    """An action the rules do not allow; the message says why (translated)."""


def state_label(state: str | None) -> str:
    return {WAITING: _("waiting for review"), APPROVED: _("approved"),
            RETURNED: _("returned")}.get(state or "", _("not reviewed"))


# ---- the chair's side: a submission enters review -------------------------------------------


def on_submitted(session: Session, rnd: Round, submission: Submission, person_id: int | None, now: datetime,
                 *, corrected: bool, changed: int) -> None:
    """A report was confirmed (first time or corrected): it waits for review when the round asks for it.

    A correction that changed nothing leaves an approved report approved. A correction of an
    approved report tells the reviewer who approved it.
    """
    if not rnd.requires_review:
        return
    before = submission.review
    if corrected and changed == 0 and before in (APPROVED, WAITING):
        return
    submission.review = WAITING
    session.add(submission)
    session.add(SubmissionReview(submission_id=submission.id, revision=submission.revision, state=WAITING,
                                 person_id=person_id, at=now))
    if corrected and before == APPROVED:
        last = last_decision(session, submission)
        if last is not None and last.person_id is not None:
            _tell_reviewer(session, rnd, submission, last.person_id, now)


def set_required(session: Session, rnd: Round, required: bool, now: datetime) -> int:
    """Turn review on or off for a round; return how many submissions changed state.

    On: the reports already submitted wait for review (a history row each). Off: they carry no
    state any more (their history stays), so every figure counts again.
    """
    rnd.requires_review = required
    session.add(rnd)
    if rnd.id is None:
        return 0
    subs = session.exec(select(Submission).where(Submission.round_id == rnd.id)).all()
    changed = 0
    for sub in subs:
        if required and sub.review is None:
            sub.review = WAITING
            session.add(SubmissionReview(submission_id=sub.id, revision=sub.revision, state=WAITING, at=now))
        elif not required and sub.review is not None:
            sub.review = None
        else:
            continue
        session.add(sub)
        changed += 1
    return changed


def last_decision(session: Session, submission: Submission) -> SubmissionReview | None:
    """The latest approval or return of a submission."""
    return session.exec(select(SubmissionReview).where(
        SubmissionReview.submission_id == submission.id, col(SubmissionReview.state).in_([APPROVED, RETURNED]))
        .order_by(col(SubmissionReview.at).desc(), col(SubmissionReview.id).desc())).first()


def history(session: Session, submission: Submission) -> list[SubmissionReview]:
    return list(session.exec(select(SubmissionReview).where(SubmissionReview.submission_id == submission.id)
                             .order_by(col(SubmissionReview.at), col(SubmissionReview.id))).all())


# ---- the reviewer's side ----------------------------------------------------------------------


def may_review(session: Session, person: Person, unit: Unit, scope: set[int] | None = None) -> bool:
    """An officer their subtree, staff their province (admins everything); never a chair."""
    if person.role not in REVIEWERS or not person.active:
        return False
    ids = scope if scope is not None else registry.visible_unit_ids(session, person)
    return unit.id in ids and unit.id != person.unit_id


def check_round(rnd: Round) -> None:
    if not rnd.requires_review:
        raise ReviewRefused(_("The round {title} does not require review.").format(title=esc(rnd.title)))
    if rnd.locked:
        raise ReviewRefused(_("The round {title} is locked, so its reports can no longer be reviewed.").format(
            title=esc(rnd.title)))


def reviewable(session: Session, person: Person, submission_id: int | None) -> tuple[Submission, Round, Unit]:
    """The submission a reviewer asked for, checked: it exists, lies in their scope, its round is reviewable."""
    submission = session.get(Submission, submission_id) if submission_id is not None else None
    unit = session.get(Unit, submission.unit_id) if submission is not None else None
    if submission is None or unit is None or not may_review(session, person, unit):
        raise ReviewRefused(_("You can only review the reports of the units under your own union."))
    rnd = session.get(Round, submission.round_id)
    assert rnd is not None
    check_round(rnd)
    return submission, rnd, unit


@dataclass
class Waiting:
    submission: Submission
    unit: Unit
    group: Unit | None  # the upper-level union it lies under (for staff, the bulk approval's groups)


def waiting(session: Session, rnd: Round, person: Person, under: int | None = None) -> list[Waiting]:
    """The reports of the person's scope (or of one unit's subtree inside it) waiting for review."""
    scope = registry.visible_unit_ids(session, person) - {person.unit_id}
    if under is not None:
        scope &= registry.subtree_ids(session, under)
    rows = session.exec(select(Submission, Unit).join(Unit, col(Unit.id) == col(Submission.unit_id))
                        .where(Submission.round_id == rnd.id, Submission.review == WAITING)
                        .order_by(col(Submission.updated_at), col(Submission.id))).all()
    found = [(s, u) for s, u in rows if u.id in scope]
    parents = {u.parent_id for _s, u in found if u.parent_id is not None}
    units = {u.id: u for u in session.exec(select(Unit).where(col(Unit.id).in_(parents))).all()} if parents else {}
    return [Waiting(s, u, units.get(u.parent_id) if u.parent_id is not None else None) for s, u in found]


def approve(session: Session, submission: Submission, rnd: Round, unit: Unit, reviewer: Person, now: datetime,
            actor: str, *, notify: bool = True) -> None:
    """Approve a waiting report (the caller checked scope and round with `reviewable`)."""
    _decide(session, submission, rnd, unit, reviewer, APPROVED, "", now, actor)
    if notify and rnd.approval_notice:
        _tell_chairs(session, rnd, unit, submission, APPROVED, "", now)


def return_report(session: Session, submission: Submission, rnd: Round, unit: Unit, reviewer: Person,
                  comment: str, now: datetime, actor: str) -> None:
    """Send a waiting report back to its chair with a comment."""
    comment = comment.strip()
    if not comment:
        raise ReviewRefused(_("Please type a comment saying what the unit should check."))
    if len(comment) > MAX_COMMENT:
        raise ReviewRefused(_("The comment is too long; please keep it under {n} characters.").format(n=MAX_COMMENT))
    _decide(session, submission, rnd, unit, reviewer, RETURNED, comment, now, actor)
    _tell_chairs(session, rnd, unit, submission, RETURNED, comment, now)


def approve_all(session: Session, rnd: Round, reviewer: Person, under: int | None, now: datetime,
                actor: str, *, seen_up_to: int | None = None) -> int:
    """Approve every report still waiting in the reviewer's scope (or one union's part of it).

    ``seen_up_to`` (a `history_mark` taken when the list was shown) leaves out the reports that
    started waiting after it — sent or corrected since the reviewer looked — so a confirmation
    approves only what it listed, and pressing it twice approves nothing more."""
    check_round(rnd)
    items = waiting(session, rnd, reviewer, under)
    if seen_up_to is not None and items:
        latest = dict(session.exec(select(SubmissionReview.submission_id, func.max(SubmissionReview.id))
                                   .where(col(SubmissionReview.submission_id).in_([i.submission.id for i in items]))
                                   .group_by(col(SubmissionReview.submission_id))).all())
        items = [i for i in items if (latest.get(i.submission.id) or 0) <= seen_up_to]
    count = 0
    for item in items:
        approve(session, item.submission, rnd, item.unit, reviewer, now, actor)
        count += 1
    return count


def history_mark(session: Session) -> int:
    """The newest review history row's id: what a reviewer has seen when a list is shown."""
    return session.exec(select(func.max(SubmissionReview.id))).one() or 0


def _decide(session: Session, submission: Submission, rnd: Round, unit: Unit, reviewer: Person, state: str,
            comment: str, now: datetime, actor: str) -> None:
    check_round(rnd)
    refused = _("This report is no longer waiting for review ({state}).")
    if submission.review != WAITING:
        raise ReviewRefused(refused.format(state=state_label(submission.review)))
    # a conditional write: of two decisions on one report at the same moment (a double click, two
    # reviewers), only the first takes effect; the other is refused instead of telling the chair twice
    taken = session.execute(update(Submission).where(col(Submission.id) == submission.id,
                                                     col(Submission.review) == WAITING)
                            .values(review=state).execution_options(synchronize_session=False))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(submission)
        raise ReviewRefused(refused.format(state=state_label(submission.review)))
    set_committed_value(submission, "review", state)  # written above; no second UPDATE at the flush
    session.add(SubmissionReview(submission_id=submission.id, revision=submission.revision, state=state,
                                 person_id=reviewer.id, at=now, comment=comment))
    audit.record(session, f"submission.{'approve' if state == APPROVED else 'return'}", entity="submission",
                 entity_id=submission.id, person_id=reviewer.id, actor=actor,
                 detail={"round": rnd.code, "unit": unit.code, "revision": submission.revision,
                         "comment": comment})


# ---- pushes ------------------------------------------------------------------------------------


def _push(session: Session, person_ids: list[int], key: str, kind: str, now: datetime,
          build: Callable[[Person, bool], Reply]) -> None:
    from bot.limits import limits_of

    people = {p.id: p for p in session.exec(select(Person).where(col(Person.id).in_(person_ids),
                                                                  Person.active == True)).all()}  # noqa: E712
    identities = registry.push_identities(session, list(people))
    pushes = []
    for person_id, identity in identities.items():
        person = people[person_id]
        with use_language(person.language):
            reply = build(person, limits_of(identity.channel).buttons)
        pushes.append(outbox.Push(key=f"{key}|{person_id}", kind=kind, person_id=person_id,
                                  channel=identity.channel, chat_id=identity.chat_id,
                                  payload=reply_to_json(reply), not_before=now))
    outbox.enqueue(session, pushes)


def _tell_chairs(session: Session, rnd: Round, unit: Unit, submission: Submission, state: str, comment: str,
                 now: datetime) -> None:
    chairs = list(session.exec(select(Person.id).where(Person.unit_id == unit.id, Person.role == Role.CHAIR,
                                                       Person.active == True)).all())  # noqa: E712
    if not chairs:
        return
    step = session.exec(select(SubmissionReview.id).where(SubmissionReview.submission_id == submission.id)
                        .order_by(col(SubmissionReview.id).desc())).first()
    key = f"review|{submission.id}|{step}"

    def build(person: Person, buttons: bool) -> Reply:
        if state == APPROVED:
            return Reply(text=_("✅ Your report {title} (reference {ref}) has been approved.").format(
                title=esc(rnd.title), ref=submission.reference))
        text = "\n".join([
            _("↩️ <b>Your report {title} was returned for checking</b> (reference {ref}).").format(
                title=esc(rnd.title), ref=submission.reference),
            _("Comment from the upper level: <i>{comment}</i>").format(comment=esc(comment)),
            _("Press the button below to correct it now.") if buttons
            else _("Type 1 to correct it now, or /baocao later."),
        ])
        return Reply(text=text, options=[[Option(_("Correct now"), f"/baocao {rnd.code} sua")]], numbered=True)

    _push(session, chairs, key, "review", now, build)


def _tell_reviewer(session: Session, rnd: Round, submission: Submission, reviewer_id: int, now: datetime) -> None:
    unit = session.get(Unit, submission.unit_id)
    assert unit is not None

    def build(person: Person, buttons: bool) -> Reply:
        text = _("✏️ {unit} corrected its approved report {title}; it is waiting for review again.").format(
            unit=esc(unit.name), title=esc(rnd.title))
        return Reply(text=text, options=[[Option(_("Review"), f"/duyet {rnd.code} {unit.code}")]], numbered=True)

    _push(session, [reviewer_id], f"review|{submission.id}|r{submission.revision}", "review", now, build)


# ---- counts ------------------------------------------------------------------------------------


@dataclass
class ReviewCounts:
    approved: int = 0
    waiting: int = 0
    returned: int = 0

    @property
    def submitted(self) -> int:
        return self.approved + self.waiting + self.returned

    @property
    def approved_share(self) -> float | None:
        return 100.0 * self.approved / self.submitted if self.submitted else None

    def add(self, state: str | None, n: int) -> None:
        if state in STATES:
            setattr(self, state, getattr(self, state) + n)
