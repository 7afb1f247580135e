"""/duyet: the level above reviews submitted reports — approve, or return with a comment.

Steps: list (the reports waiting in the reviewer's scope) → show (one report: its values,
the unit's previous figures, plausibility marks, history) → approve, or comment (typed) to
return it; bulk (one confirmation) approves the rest of a union's list.

Every press and every typed command is checked on the server by bot.services.review: the
report must lie in the reviewer's subtree (officer) or province (staff), its round must
require review and not be locked, and it must still be waiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self

from sqlmodel import col, select

from bot.i18n import _, ngettext
from bot.messages import Option, esc
from bot.models import Round, Submission, SubmissionRevision, Unit
from bot.services import reporting, review, rollup
from bot.services.plausibility import OUTLIER
from bot.services.rollup import short_name
from bot.textvn import format_datetime
from handlers.base import Ctx, Draft, as_int, current_step, file_as_text, parse_id, step_table, Step
from handlers.staff import round_and_unit_codes

FLOW = "review"
MAX_LISTED = 15  # reports offered as choices in the list (the rest after these are dealt with)
MAX_HISTORY = 4


class ReviewStep(StrEnum):
    ROUNDS = "rounds"  # several rounds have reports waiting: which one
    LIST = "list"
    SHOW = "show"
    COMMENT = "comment"  # the comment of a return is being typed
    BULK = "bulk"  # confirm approving the rest of a union's list


@dataclass
class ReviewDraft(Draft):
    round_id: int | None = None
    submission_id: int | None = None
    group_id: int | None = None  # the union whose waiting reports a bulk approval covers

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(round_id=as_int(data.get("round_id")), submission_id=as_int(data.get("submission_id")),
                   group_id=as_int(data.get("group_id")))

    def to_data(self) -> dict[str, Any]:
        return {"round_id": self.round_id, "submission_id": self.submission_id, "group_id": self.group_id}


# ---- entry ----------------------------------------------------------------------------------


def cmd_review(ctx: Ctx, args: str) -> None:
    """/duyet [round] [unit]: the reports waiting for review, or one unit's report."""
    person = ctx.person
    assert person is not None
    if person.role not in review.REVIEWERS:
        ctx.say(_("Reports are reviewed by officers of upper-level unions and provincial staff."))
        return
    rnd, unit, rest = round_and_unit_codes(ctx, args)
    if rest:
        ctx.leave()
        ctx.say(_("I do not know “{token}”. Write /duyet, optionally followed by a round code and a unit code.")
                .format(token=esc(rest[0])))
        return
    if unit is not None and not review.may_review(ctx.session, person, unit):
        ctx.leave()
        ctx.say(_("You can only review the reports of the units under your own union."))
        return
    if rnd is None:
        rnd = _pick_round(ctx)
        if rnd is None:
            return
    if not _round_ok(ctx, rnd):
        return
    if unit is not None:
        submission = reporting.submission_of(ctx.session, rnd, unit)
        if submission is None:
            ctx.leave()
            ctx.say(_("{unit} has not reported in {title} yet.").format(unit=esc(unit.name), title=esc(rnd.title)))
            return
        show(ctx, submission, rnd, unit)
        return
    show_list(ctx, rnd)


def _pick_round(ctx: Ctx) -> Round | None:
    """The one reviewable round with reports waiting in the scope; a choice if several; None if none."""
    assert ctx.person is not None
    rounds = ctx.session.exec(select(Round).where(Round.requires_review == True, Round.locked == False,  # noqa: E712
                                                  Round.opens_at <= ctx.now)
                              .order_by(col(Round.deadline_at).desc(), col(Round.id).desc())).all()
    busy = [(r, len(review.waiting(ctx.session, r, ctx.person))) for r in rounds]
    busy = [(r, n) for r, n in busy if n]
    if not busy:
        ctx.leave()
        ctx.say(_("No report is waiting for your review."))
        return None
    if len(busy) == 1:
        return busy[0][0]
    ctx.enter(FLOW, ReviewStep.ROUNDS)
    ctx.say(_("Reports are waiting for review in several rounds. Which one?"),
            [[ctx.option(f"{r.title} ({n})", FLOW, "round", r.id)] for r, n in busy[:8]])
    return None


def _round_ok(ctx: Ctx, rnd: Round) -> bool:
    try:
        review.check_round(rnd)
    except review.ReviewRefused as refused:
        ctx.leave()
        ctx.say(str(refused))
        return False
    return True


# ---- the list -------------------------------------------------------------------------------


def show_list(ctx: Ctx, rnd: Round, note: str | None = None) -> None:
    """The reports of the round waiting in the reviewer's scope, with the counts of each state."""
    person = ctx.person
    assert person is not None
    items = review.waiting(ctx.session, rnd, person)
    counts, _groups = rollup.review_counts(ctx.session, rnd, person.unit_id)
    lines = [note, ""] if note else []
    tally = _("approved {a} · waiting {w} · returned {r}").format(a=counts.approved, w=counts.waiting,
                                                                  r=counts.returned)
    if not items:
        ctx.leave()
        lines += [_("No report of {title} is waiting for your review.").format(title=esc(rnd.title)), tally]
        ctx.say("\n".join(lines))
        return
    ctx.enter(FLOW, ReviewStep.LIST)
    ReviewDraft(round_id=rnd.id).store(ctx)
    lines.append("<b>" + ngettext("{title}: {n} report waiting for review",
                                  "{title}: {n} reports waiting for review", len(items)).format(
        title=esc(rnd.title), n=len(items)) + "</b>")
    lines.append(tally)
    options: list[list[Option]] = []
    for item in items[:MAX_LISTED]:
        sub = item.submission
        lines.append("• " + _("{unit} — sent {time}").format(unit=esc(short_name(item.unit.name)),
                                                              time=format_datetime(sub.updated_at))
                     + (" " + _("(corrected)") if sub.revision > 1 else ""))
        options.append([ctx.option(short_name(item.unit.name), FLOW, "show", sub.id or 0)])
    if len(items) > MAX_LISTED:
        lines.append(_("… and {n} more.").format(n=len(items) - MAX_LISTED))
    groups: dict[int, tuple[Unit, int]] = {}
    for item in items:
        if item.group is not None:
            unit, n = groups.get(item.group.id or 0, (item.group, 0))
            groups[item.group.id or 0] = (unit, n + 1)
    for gid, (group, n) in list(groups.items())[:6]:
        label = _("Approve all {n} of {union}").format(n=n, union=short_name(group.name))
        options.append([ctx.option(label, FLOW, "bulk", gid)])
    lines += ["", _("Choose a report to see its figures.")]
    ctx.say("\n".join(lines), options)


# ---- one report -----------------------------------------------------------------------------


def show(ctx: Ctx, submission: Submission, rnd: Round, unit: Unit, note: str | None = None) -> None:
    """One report: each figure, the unit's previous one, plausibility marks, what the correction
    changed, the review history; Duyệt / Trả lại when it is waiting."""
    ctx.enter(FLOW, ReviewStep.SHOW)
    ReviewDraft(round_id=rnd.id, submission_id=submission.id).store(ctx)
    lines = [note, ""] if note else []
    lines += [f"<b>{esc(unit.name)}</b> — {esc(rnd.title)}",
              _("Reference {ref} · sent {time}").format(ref=submission.reference,
                                                       time=format_datetime(submission.updated_at))
              + (" · " + _("correction {n}").format(n=submission.revision - 1) if submission.revision > 1 else ""),
              _("State: <b>{state}</b>").format(state=review.state_label(submission.review)), ""]
    values = reporting.submitted_values(ctx.session, submission)
    flags = _flags(ctx, submission)
    changed = _changed_in_last_revision(ctx, submission)
    marked = False
    for n, indicator in enumerate(reporting.round_indicators(ctx.session, rnd, unit), start=1):
        line = f"{n}. {esc(reporting.indicator_name(indicator))}: " \
               f"<b>{esc(reporting.format_indicator_value(indicator, values.get(indicator.id)))}</b>"
        if indicator.id in flags:
            line += " ⚠"
            marked = True
        if indicator.id in changed:
            line += " " + _("(corrected from {old})").format(
                old=esc(reporting.format_indicator_value(indicator, changed[indicator.id])))
        previous = reporting.last_value(ctx.session, unit, indicator, rnd)
        if previous is not None:
            line += " — " + _("previous: {value} ({round})").format(
                value=esc(reporting.format_indicator_value(indicator, previous[0])), round=esc(previous[1].title))
        lines.append(line)
    if marked:
        lines.append("⚠ " + _("far from the unit's earlier figures; confirmed by the unit"))
    past = review.history(ctx.session, submission)
    if past:
        lines += ["", "<b>" + _("History") + "</b>"]
        for row in past[-MAX_HISTORY:]:
            who = _person_name(ctx, row.person_id)
            entry = f"• {format_datetime(row.at)} — {review.state_label(row.state)}"
            entry += f" ({esc(who)})" if who else ""
            entry += f": <i>{esc(row.comment)}</i>" if row.comment else ""
            lines.append(entry)
    options: list[list[Option]] = []
    if submission.review == review.WAITING:
        options.append([ctx.option(_("Approve"), FLOW, "approve", submission.id or 0),
                        ctx.option(_("Return"), FLOW, "return", submission.id or 0)])
    options.append([ctx.option(_("Back to the list"), FLOW, "list", rnd.id or 0)])
    ctx.say("\n".join(lines), options)


def _flags(ctx: Ctx, submission: Submission) -> set[int]:
    from bot.models import SubmissionValue

    return set(ctx.session.exec(select(SubmissionValue.indicator_id).where(
        SubmissionValue.submission_id == submission.id, SubmissionValue.flag == OUTLIER)).all())


def _changed_in_last_revision(ctx: Ctx, submission: Submission) -> dict[int, float | None]:
    if submission.revision <= 1:
        return {}
    rows = ctx.session.exec(select(SubmissionRevision).where(SubmissionRevision.submission_id == submission.id,
                                                             SubmissionRevision.revision == submission.revision))
    return {r.indicator_id: r.old_value for r in rows}


def _person_name(ctx: Ctx, person_id: int | None) -> str:
    from bot.models import Person

    person = ctx.session.get(Person, person_id) if person_id is not None else None
    return person.full_name if person is not None else ""


# ---- events ---------------------------------------------------------------------------------


def _checked(ctx: Ctx, arg: str) -> tuple[Submission, Round, Unit] | None:
    """The report a button names, checked against the reviewer's scope and the round; else say why."""
    assert ctx.person is not None
    try:
        return review.reviewable(ctx.session, ctx.person, parse_id(arg))
    except review.ReviewRefused as refused:
        ctx.leave()
        ctx.say(str(refused))
        return None


def _round_of_draft(ctx: Ctx) -> Round | None:
    rnd = ctx.session.get(Round, ReviewDraft.load(ctx).round_id or 0)
    if rnd is None:
        ctx.leave()
        ctx.say(_("This list is no longer available. Type /duyet to see the reports waiting for review."))
        return None
    return rnd if _round_ok(ctx, rnd) else None


def on_show(ctx: Ctx, arg: str) -> None:
    checked = _checked(ctx, arg)
    if checked is not None:
        show(ctx, *checked)


def on_approve(ctx: Ctx, arg: str) -> None:
    checked = _checked(ctx, arg)
    if checked is None:
        return
    submission, rnd, unit = checked
    assert ctx.person is not None
    try:
        review.approve(ctx.session, submission, rnd, unit, ctx.person, ctx.now, ctx.actor)
    except review.ReviewRefused as refused:
        show(ctx, submission, rnd, unit, note=str(refused))
        return
    show_list(ctx, rnd, note="✅ " + _("Approved: {unit}.").format(unit=esc(unit.name)))


def on_return(ctx: Ctx, arg: str) -> None:
    checked = _checked(ctx, arg)
    if checked is None:
        return
    submission, rnd, unit = checked
    if submission.review != review.WAITING:
        show(ctx, submission, rnd, unit)
        return
    ask_comment(ctx, submission, rnd, unit)


def ask_comment(ctx: Ctx, submission: Submission, rnd: Round, unit: Unit, note: str | None = None) -> None:
    ctx.enter(FLOW, ReviewStep.COMMENT)
    ReviewDraft(round_id=rnd.id, submission_id=submission.id).store(ctx)
    lines = [note, ""] if note else []
    lines.append(_("Type the comment for {unit}: what should they check or correct? "
                   "For example: “số đoàn viên mới không khớp danh sách, đề nghị kiểm tra lại”.").format(
        unit=esc(unit.name)))
    ctx.say("\n".join(lines), [[ctx.option(_("Cancel"), FLOW, "show", submission.id or 0)]], numbered=False)


def on_comment(ctx: Ctx, text: str) -> None:
    """Typed comment: return the report with it."""
    checked = _checked(ctx, str(ReviewDraft.load(ctx).submission_id or ""))
    if checked is None:
        return
    submission, rnd, unit = checked
    assert ctx.person is not None
    try:
        review.return_report(ctx.session, submission, rnd, unit, ctx.person, text, ctx.now, ctx.actor)
    except review.ReviewRefused as refused:
        if submission.review == review.WAITING:
            ask_comment(ctx, submission, rnd, unit, note=str(refused))
        else:
            show(ctx, submission, rnd, unit, note=str(refused))
        return
    show_list(ctx, rnd, note="↩️ " + _("Returned to {unit} with your comment; its chair has been told.").format(
        unit=esc(unit.name)))


def on_bulk(ctx: Ctx, arg: str) -> None:
    """Approve the rest of a union's list: ask once."""
    rnd = _round_of_draft(ctx)
    if rnd is None:
        return
    assert ctx.person is not None
    group_id = parse_id(arg)
    items = [i for i in review.waiting(ctx.session, rnd, ctx.person) if i.group is not None and i.group.id == group_id]
    if not items:
        show_list(ctx, rnd, note=_("Nothing of that union is waiting for your review any more."))
        return
    group = items[0].group
    assert group is not None
    ctx.enter(FLOW, ReviewStep.BULK)
    ReviewDraft(round_id=rnd.id, group_id=group.id).store(ctx)
    names = ", ".join(esc(short_name(i.unit.name)) for i in items[:20]) + (" …" if len(items) > 20 else "")
    ctx.say(ngettext("Approve the {n} report of {union} still waiting ({names})?",
                     "Approve the {n} reports of {union} still waiting ({names})?", len(items)).format(
        n=len(items), union=esc(group.name), names=names),
        [[ctx.option(_("Approve all"), FLOW, "bulkok", group.id or 0), ctx.option(_("Cancel"), FLOW, "list", rnd.id or 0)]])


def on_bulk_confirm(ctx: Ctx, arg: str) -> None:
    rnd = _round_of_draft(ctx)
    if rnd is None:
        return
    assert ctx.person is not None
    group_id = parse_id(arg)
    if group_id is None or group_id != ReviewDraft.load(ctx).group_id:
        show_list(ctx, rnd)
        return
    done = review.approve_all(ctx.session, rnd, ctx.person, group_id, ctx.now, ctx.actor)
    show_list(ctx, rnd, note="✅ " + ngettext("{n} report approved.", "{n} reports approved.", done).format(n=done))


def on_list(ctx: Ctx, arg: str) -> None:
    on_round(ctx, arg)


def on_round(ctx: Ctx, arg: str) -> None:
    rnd = ctx.session.get(Round, parse_id(arg) or 0)
    if rnd is None:
        ctx.leave()
        ctx.say(_("This list is no longer available. Type /duyet to see the reports waiting for review."))
        return
    if _round_ok(ctx, rnd):
        show_list(ctx, rnd)


BUTTONS = {
    "round": on_round,
    "list": on_list,
    "show": on_show,
    "approve": on_approve,
    "return": on_return,
    "bulk": on_bulk,
    "bulkok": on_bulk_confirm,
}


def on_button(ctx: Ctx, action: str, arg: str) -> None:
    """A pressed button (its version checked by the router; everything else is checked here)."""
    handler = BUTTONS.get(action)
    if handler is None:
        cmd_review(ctx, "")
        return
    handler(ctx, arg)


def _again(ctx: Ctx, note: str | None) -> None:
    """Show the current step again (typed text that is not an answer here)."""
    draft = ReviewDraft.load(ctx)
    if draft.submission_id is not None and current_step(ctx, ReviewStep) == ReviewStep.SHOW:
        on_show(ctx, str(draft.submission_id))
    elif draft.round_id is not None:
        on_list(ctx, str(draft.round_id))
    else:
        cmd_review(ctx, "")


STEPS = step_table(ReviewStep, {
    ReviewStep.ROUNDS: Step(prompt=lambda ctx, note: cmd_review(ctx, "")),
    ReviewStep.LIST: Step(prompt=_again),
    ReviewStep.SHOW: Step(prompt=_again),
    ReviewStep.COMMENT: Step(prompt=_again, on_text=on_comment),
    ReviewStep.BULK: Step(prompt=_again),
})


def on_text(ctx: Ctx, text: str) -> None:
    """Typed text: the comment of a return; elsewhere the step is shown again."""
    step = current_step(ctx, ReviewStep)
    entry = STEPS.get(step) if step is not None else None
    if entry is None:
        cmd_review(ctx, "")
    elif entry.on_text is not None:
        entry.on_text(ctx, text)
    else:
        entry.prompt(ctx, None)


on_file = file_as_text(on_text)
