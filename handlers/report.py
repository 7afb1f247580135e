"""The reporting conversation: pick a round, answer one indicator at a time, review, confirm.

Steps (ConversationState.step): pick → [resume] → ask ⇄ ambiguous → summary ⇄ edit → done.
The typed values live in a ReportDraft row, written before every reply, so a cancel, a
restart or a week away loses nothing. Every button is re-checked here: the unit is always
the person's own, and the round must be open for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Self

from bot.i18n import N_, _
from bot.messages import Option, esc
from bot.models import Indicator, IndicatorKind, ReportDraft, Round, Submission, Unit
from bot.services import plausibility, registry, reporting, review
from bot.textvn import Ambiguous, Invalid, Kind, Parsed, Reason, check_kind, fold, format_datetime, format_date, parse_number, parse_yesno
from handlers import menu
from handlers.base import (
    Ctx,
    Draft,
    TextHandler,
    as_bool,
    as_int,
    current_step,
    file_as_text,
    parse_id,
    step_table,
)

FLOW = "report"
CORRECT_WORDS = {"sua", "correct"}  # "/baocao ROUND sua": correct the submitted report now


class ReportStep(StrEnum):
    PICK = "pick"  # choosing a round
    RESUME = "resume"  # continue / start again, or correct a submitted report
    ASK = "ask"  # one indicator asked
    AMBIGUOUS = "ambiguous"  # a typed figure read more than one way
    SUMMARY = "summary"
    EDIT = "edit"  # which line to change
    CONFIRM = "confirm"  # a plausible-looking? figure: Đúng / Nhập lại


@dataclass
class ReportChoices(Draft):
    """What the conversation remembers; the typed values themselves live in a ReportDraft row."""

    round_id: int | None = None
    back_to_summary: bool = False  # editing one line from the summary: return there after it
    candidates: list[str] = field(default_factory=list)  # readings of an ambiguous figure
    pending: str | None = None  # a figure waiting for "Đúng" after a plausibility warning

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        candidates = data.get("candidates")
        pending = data.get("pending")
        return cls(
            round_id=as_int(data.get("round_id")),
            back_to_summary=as_bool(data.get("back_to_summary"), False),
            candidates=[str(c) for c in candidates] if isinstance(candidates, (list, tuple)) else [],
            pending=str(pending) if isinstance(pending, (str, int, float)) else None,
        )

    def to_data(self) -> dict[str, Any]:
        return {"round_id": self.round_id, "back_to_summary": self.back_to_summary,
                "candidates": list(self.candidates), "pending": self.pending}

INVALID_MESSAGES = {
    Reason.EMPTY: N_("Please type a number."),
    Reason.TOO_LONG: N_("That is too long for a number. Please type just the figure."),
    Reason.NOT_A_NUMBER: N_("I could not read that as a number."),
    Reason.NOT_WHOLE: N_("This figure must be a whole number."),
    Reason.TOO_MANY_DECIMALS: N_("Please use at most two decimals."),
    Reason.PERCENT_SIGN: N_("This figure is not a percentage; please type it without %."),
    Reason.PERCENT_MULTIPLIER: N_("A percentage cannot use thousand, million or billion."),
    Reason.WRONG_UNIT: N_("That unit does not fit this figure."),
}


# ---- entry points -------------------------------------------------------------------


def cmd_report(ctx: Ctx, args: str) -> None:
    """/baocao [round code]: list the open rounds, or go straight to the named one."""
    unit = ctx.unit
    if unit is None:
        return
    if args:
        code, _sep, rest = args.strip().partition(" ")
        rnd = reporting.round_by_code(ctx.session, code)
        if rnd is not None and reporting.in_audience(ctx.session, rnd, unit):
            if fold(rest.strip()) in CORRECT_WORDS and not rnd.locked and rnd.opens_at <= ctx.now \
                    and reporting.submission_of(ctx.session, rnd, unit) is not None:
                ctx.enter(FLOW, ReportStep.RESUME)  # "Sửa ngay" under a returned report: straight to its summary
                ReportChoices(round_id=rnd.id).store(ctx)
                correct(ctx, rnd, unit, "")
                return
            choose_round(ctx, rnd)
            return
    rounds = reporting.open_rounds(ctx.session, unit, ctx.now)
    locked = [r for r in reporting.recent_locked_rounds(ctx.session, unit, ctx.now)]
    if not rounds and not locked:
        ctx.leave()
        ctx.say(_("There is no reporting round open for <b>{unit}</b> right now.").format(unit=esc(unit.name)))
        return
    ctx.enter(FLOW, ReportStep.PICK)
    options = []
    lines = [_("Reporting rounds for <b>{unit}</b>:").format(unit=esc(unit.name))]
    for rnd in rounds + locked:
        status = round_status(ctx, rnd, unit)
        lines.append(f"• <b>{esc(rnd.title)}</b> — {status}")
        options.append([ctx.option(rnd.title, FLOW, "round", rnd.id)])
    lines.append(_("Choose a round:"))
    ctx.say("\n".join(lines), options)


def round_status(ctx: Ctx, rnd: Round, unit: Unit) -> str:
    deadline = format_date(rnd.deadline_at)
    if rnd.locked:
        return _("locked")
    submission = reporting.submission_of(ctx.session, rnd, unit)
    if submission is not None and submission.review:
        return _("submitted on {date}").format(date=format_date(submission.submitted_at)) + " · " + \
            review.state_label(submission.review)
    if submission is not None:
        return _("submitted on {date}").format(date=format_date(submission.submitted_at))
    if ctx.now > rnd.deadline_at:
        return _("deadline {date} has passed — please report now").format(date=deadline)
    days = (rnd.deadline_at - ctx.now).days
    return _("deadline {date} ({days} days left)").format(date=deadline, days=days)


def choose_round(ctx: Ctx, rnd: Round) -> None:
    """Start, resume or correct the report of one round."""
    unit = ctx.unit
    assert unit is not None and ctx.person is not None
    if rnd.locked:
        refuse_locked(ctx, unit)
        return
    if rnd.opens_at > ctx.now:
        ctx.leave()
        ctx.say(_("The round {title} opens on {date}.").format(title=esc(rnd.title), date=format_date(rnd.opens_at)))
        return
    submission = reporting.submission_of(ctx.session, rnd, unit)
    draft = reporting.draft_of(ctx.session, rnd, unit)
    ctx.enter(FLOW, ReportStep.RESUME)
    ReportChoices(round_id=rnd.id).store(ctx)
    if draft is not None and (draft.values or draft.position):
        total = len(reporting.round_indicators(ctx.session, rnd, unit))
        ctx.say(
            _("You have an unfinished report for {title} ({done}/{total} figures, saved at {time}). Continue it or start again?").format(
                title=esc(rnd.title), done=len([k for k in draft.values if not k.startswith("_")]), total=total, time=format_datetime(draft.updated_at)),
            [[ctx.option(_("Continue"), FLOW, "continue"), ctx.option(_("Start again"), FLOW, "restart")]],
        )
        return
    if submission is not None:
        returned = review.last_decision(ctx.session, submission) if submission.review == review.RETURNED else None
        if returned is not None:
            ctx.say(_("↩️ The upper level returned this report: <i>{comment}</i>").format(comment=esc(returned.comment)))
        ctx.say(
            _("{unit} submitted {title} at {time} (reference {ref}). Do you want to correct the figures?").format(
                unit=esc(unit.name), title=esc(rnd.title), time=format_datetime(submission.submitted_at),
                ref=submission.reference),
            [[ctx.option(_("Correct figures"), FLOW, "correct"), ctx.option(_("No, thanks"), FLOW, "close")]],
        )
        return
    draft = reporting.start_draft(ctx.session, rnd, unit, ctx.person.id, ctx.now)
    ask(ctx, rnd, unit, draft)


def refuse_locked(ctx: Ctx, unit: Unit) -> None:
    ctx.leave()
    contact = registry.contact_for(ctx.session, unit)
    who = (_("{unit}: {contact}").format(unit=esc(contact[0].name), contact=esc(contact[1]))
           if contact else _("your upper-level union"))
    ctx.say(_("This round has been locked, so figures can no longer be changed here. To correct them, please contact {who}.").format(who=who))


# ---- loading and checking the current step -----------------------------------------------


def current(ctx: Ctx) -> tuple[Round, Unit, ReportDraft | None] | None:
    """The round of this conversation, re-checked against the person's own unit, with its draft."""
    unit = ctx.unit
    loaded = reporting.round_and_draft(ctx.session, ReportChoices.load(ctx).round_id or 0, unit) \
        if unit is not None else None
    rnd = loaded[0] if loaded is not None else None
    if unit is None or rnd is None or not reporting.in_audience(ctx.session, rnd, unit):
        ctx.leave()
        ctx.say(_("This report is no longer available. Type /baocao to see the open rounds."))
        return None
    if rnd.locked:
        refuse_locked(ctx, unit)
        return None
    return rnd, unit, loaded[1] if loaded is not None else None


FACTS_KEY = "_facts"  # reporting.ReportFacts of this conversation's report, loaded once per report


def facts_of(ctx: Ctx, rnd: Round, unit: Unit) -> reporting.ReportFacts:
    """The report's indicators, last figures and targets: kept in the conversation from the first
    question on (a new report, or another round or unit, loads them again)."""
    key = ("facts", rnd.id, unit.id)
    if key not in ctx.memo:
        facts = reporting.ReportFacts.from_json((ctx.state.data or {}).get(FACTS_KEY))
        if facts is None or (facts.round_id, facts.unit_id) != (rnd.id, unit.id):
            facts = reporting.report_facts(ctx.session, rnd, unit)
            ctx.update(**{FACTS_KEY: facts.to_json()})
        ctx.memo[key] = facts
    return ctx.memo[key]


def indicators_of(ctx: Ctx, rnd: Round, unit: Unit) -> list[Indicator]:
    return facts_of(ctx, rnd, unit).indicators


def catalogue(indicators: list[Indicator]) -> dict[str, Indicator]:
    return {i.code: i for i in indicators}


# ---- asking ------------------------------------------------------------------------------


def ask(ctx: Ctx, rnd: Round, unit: Unit, draft: ReportDraft, note: str | None = None) -> None:
    """Ask the indicator at the draft's position (or show the summary when all are answered)."""
    indicators = indicators_of(ctx, rnd, unit)
    if draft.position >= len(indicators):
        summary(ctx, rnd, unit, draft)
        return
    indicator = indicators[draft.position]
    ctx.goto(ReportStep.ASK)
    lines = []
    if note:
        lines += [note, ""]
    lines.append(_("<b>{title}</b> — figure {n} of {total}").format(
        title=esc(rnd.title), n=draft.position + 1, total=len(indicators)))
    unit_label = reporting.unit_of_measure(indicator)
    name = esc(reporting.indicator_name(indicator))
    lines.append(f"<b>{name}</b>" + (f" ({esc(unit_label)})" if unit_label else ""))
    if indicator.code in draft.values:
        lines.append(_("Typed so far: {value}").format(
            value=esc(reporting.format_indicator_value(indicator, draft.values[indicator.code]))))
    facts = facts_of(ctx, rnd, unit)
    previous = facts.last.get(indicator.code)
    if previous is not None:
        lines.append(_("Last reported: {value} ({round})").format(
            value=esc(reporting.format_indicator_value(indicator, previous[0])), round=esc(previous[1])))
    target = facts.targets.get(indicator.code)
    if target is not None:
        lines.append(_("Target for {period}: {value}").format(
            period=esc(target[1]), value=esc(reporting.format_target(indicator, target[0]))))
    controls: list[Option] = []
    if not indicator.required:
        controls.append(ctx.option(_("Skip"), FLOW, "skip"))
    if draft.position > 0:
        controls.append(ctx.option(_("Back"), FLOW, "back"))
    controls.append(ctx.option(_("Cancel"), FLOW, "cancel"))
    if indicator.kind == IndicatorKind.YESNO:
        lines.append(_("Answer Yes or No."))
        options = [[ctx.option(_("Yes"), FLOW, "yes"), ctx.option(_("No"), FLOW, "no")], controls]
        ctx.say("\n".join(lines), options, numbered=True)
    else:
        lines.append(_("Type the figure, for example {example}.").format(example=reporting.example_value(indicator)))
        ctx.say("\n".join(lines), [controls], numbered=False)


def current_indicator(ctx: Ctx, rnd: Round, unit: Unit, draft: ReportDraft) -> Indicator | None:
    indicators = indicators_of(ctx, rnd, unit)
    return indicators[draft.position] if draft.position < len(indicators) else None


def accept_value(ctx: Ctx, rnd: Round, unit: Unit, draft: ReportDraft, indicator: Indicator,
                 value: Decimal | None, confirmed: bool = False) -> None:
    """Check a value against the rules; store it and move on, or explain and ask again; a value that
    looks implausible is asked back with Đúng / Nhập lại first (unless just confirmed)."""
    if value is not None:
        asked = catalogue(indicators_of(ctx, rnd, unit))
        reason = reporting.check_value(indicator, value, draft.values, asked)
        if reason is not None:
            ask(ctx, rnd, unit, draft, note=esc(reason))
            return
        doubt = None if confirmed else plausibility.judge(facts_of(ctx, rnd, unit), indicator, value)
        if doubt is not None:
            ctx.goto(ReportStep.CONFIRM)
            choices = ReportChoices.load(ctx)
            choices.pending = str(value)
            choices.store(ctx)
            ctx.say(esc(doubt), [[ctx.option(_("Correct"), FLOW, "sure"), ctx.option(_("Type again"), FLOW, "retype")]],
                    numbered=True)
            return
    values = dict(draft.values)
    values[indicator.code] = None if value is None else float(value)
    marked = [c for c in values.get(plausibility.DRAFT_KEY) or [] if c != indicator.code]
    marked += [indicator.code] if confirmed else []
    if marked:
        values[plausibility.DRAFT_KEY] = marked
    else:
        values.pop(plausibility.DRAFT_KEY, None)
    choices = ReportChoices.load(ctx)
    position = len(indicators_of(ctx, rnd, unit)) if choices.back_to_summary else draft.position + 1
    reporting.save_draft(ctx.session, draft, ctx.now, values=values, position=position)
    choices.back_to_summary = False
    choices.store(ctx)
    ask(ctx, rnd, unit, draft)


def read_value(ctx: Ctx, rnd: Round, unit: Unit, draft: ReportDraft, text: str) -> None:
    """Typed text at a question: parse it the Vietnamese way, or ask back."""
    indicator = current_indicator(ctx, rnd, unit, draft)
    if indicator is None:
        summary(ctx, rnd, unit, draft)
        return
    if indicator.kind == IndicatorKind.YESNO:
        answer = parse_yesno(text)
        if answer is None:
            ask(ctx, rnd, unit, draft, note=_("Please answer Yes or No (type 1 or 2)."))
            return
        accept_value(ctx, rnd, unit, draft, indicator, Decimal(1 if answer else 0))
        return
    result = parse_number(text, Kind(indicator.kind))
    if isinstance(result, Parsed):
        accept_value(ctx, rnd, unit, draft, indicator, result.value)
    elif isinstance(result, Ambiguous):
        ctx.goto(ReportStep.AMBIGUOUS)
        choices = ReportChoices.load(ctx)
        choices.candidates = [str(c) for c in result.candidates]
        choices.store(ctx)
        options = [[ctx.option(reporting.format_indicator_value(indicator, c), FLOW, "pick", i)]
                   for i, c in enumerate(result.candidates)]
        ctx.say(_("“{text}” can be read in more than one way. Which did you mean? (Or type the figure again.)").format(
            text=esc(text)), options, numbered=True)
    else:
        reason = _(INVALID_MESSAGES.get(result.reason, INVALID_MESSAGES[Reason.NOT_A_NUMBER]))
        ask(ctx, rnd, unit, draft, note=reason + " " + _("For example: {example}.").format(
            example=reporting.example_value(indicator)))


# ---- summary, edit, submit -----------------------------------------------------------------


def summary_lines(ctx: Ctx, indicators: list[Indicator], values: dict[str, float | None]) -> list[str]:
    return [
        f"{n}. {esc(reporting.indicator_name(i))}: <b>{esc(reporting.format_indicator_value(i, values.get(i.code)))}</b>"
        for n, i in enumerate(indicators, start=1)
    ]


def summary(ctx: Ctx, rnd: Round, unit: Unit, draft: ReportDraft) -> None:
    indicators = indicators_of(ctx, rnd, unit)
    ctx.goto(ReportStep.SUMMARY)
    choices = ReportChoices.load(ctx)
    choices.back_to_summary = False
    choices.store(ctx)
    lines = [_("<b>Summary: {title}</b>").format(title=esc(rnd.title)), esc(unit.name), ""]
    lines += summary_lines(ctx, indicators, draft.values)
    lines += ["", _("Press Send to submit, or Edit to change a line.")]
    ctx.say("\n".join(lines), [[
        ctx.option(_("Send"), FLOW, "send"),
        ctx.option(_("Edit"), FLOW, "edit"),
        ctx.option(_("Cancel"), FLOW, "cancel"),
    ]])


def pick_line(ctx: Ctx, rnd: Round, unit: Unit, draft: ReportDraft) -> None:
    indicators = indicators_of(ctx, rnd, unit)
    ctx.goto(ReportStep.EDIT)
    options = [[ctx.option(reporting.indicator_name(i), FLOW, "line", n)] for n, i in enumerate(indicators)]
    ctx.say(_("Which line do you want to change?"), options)


def send(ctx: Ctx, rnd: Round, unit: Unit, draft: ReportDraft) -> None:
    indicators = indicators_of(ctx, rnd, unit)
    missing = [i for i in indicators if i.required and draft.values.get(i.code) is None]
    if missing:
        draft.position = indicators.index(missing[0])
        ask(ctx, rnd, unit, draft, note=_("This figure is required before sending."))
        return
    assert ctx.person is not None
    receipt = reporting.submit(ctx.session, rnd, unit, draft, ctx.person.id, ctx.now, ctx.actor)
    ctx.leave()
    sub = receipt.submission
    title = _("Correction received") if receipt.corrected else _("Report received")
    lines = [
        f"✅ <b>{title}</b>: {esc(rnd.title)}",
        esc(unit.name),
        _("Reference: <b>{ref}</b>").format(ref=sub.reference),
        _("Time: {time}").format(time=format_datetime(ctx.now)),
    ]
    if receipt.corrected:
        lines.append(_("Revision {n}; {changed} figure(s) changed.").format(n=sub.revision - 1, changed=receipt.changed))  # the first correction is revision 2 of the report
    if sub.late:
        lines.append(_("Submitted after the deadline ({date}); it is recorded as late.").format(
            date=format_date(rnd.deadline_at)))
    if sub.review == review.WAITING:
        lines.append(_("The upper level will review it; you will be told if it is returned."))
    lines.append("")
    lines += summary_lines(ctx, indicators, submitted_by_code(ctx, indicators, sub))
    ctx.say("\n".join(lines), menu.menu_options(ctx))


def submitted_by_code(ctx: Ctx, indicators: list[Indicator], submission: Submission) -> dict[str, float | None]:
    by_id = reporting.submitted_values(ctx.session, submission)
    return {i.code: by_id.get(i.id) for i in indicators if i.id in by_id}


def correction_values(ctx: Ctx, indicators: list[Indicator], submission: Submission) -> dict[str, Any]:
    """The submitted figures, with the codes of the confirmed outliers (kept marked unless changed)."""
    values: dict[str, Any] = dict(submitted_by_code(ctx, indicators, submission))
    flagged = {i for _u, i, _v in plausibility.outliers(ctx.session, ctx.session.get(Round, submission.round_id),
                                                        [submission.unit_id])}
    if flagged:
        values[plausibility.DRAFT_KEY] = [i.code for i in indicators if i.id in flagged]
    return values


def cancel(ctx: Ctx) -> None:
    ctx.leave()
    ctx.say(_("Stopped. Everything you typed is kept as a draft; type /baocao to continue later."))


# ---- events --------------------------------------------------------------------------------

Loaded = tuple[Round, Unit, ReportDraft]


def pick_round(ctx: Ctx, arg: str) -> None:
    """A round chosen from the list: re-checked against the person's own unit."""
    round_id = parse_id(arg)
    rnd = ctx.session.get(Round, round_id) if round_id is not None else None
    unit = ctx.unit
    if rnd is None or unit is None or not reporting.in_audience(ctx.session, rnd, unit):
        ctx.leave()
        ctx.say(_("This report is no longer available. Type /baocao to see the open rounds."))
        return
    choose_round(ctx, rnd)


def close(ctx: Ctx, rnd: Round, unit: Unit, arg: str) -> None:
    ctx.leave()
    menu.show_menu(ctx)


def correct(ctx: Ctx, rnd: Round, unit: Unit, arg: str) -> None:
    """Start a correction from the submitted figures, at the summary."""
    submission = reporting.submission_of(ctx.session, rnd, unit)
    if submission is None:
        choose_round(ctx, rnd)
        return
    indicators = indicators_of(ctx, rnd, unit)
    values = correction_values(ctx, indicators, submission)
    draft = reporting.start_draft(ctx.session, rnd, unit, ctx.person.id if ctx.person else None,
                                  ctx.now, values=values, correcting=True)
    draft.position = len([k for k in values if not k.startswith("_")])
    summary(ctx, rnd, unit, draft)


def restart(ctx: Ctx, rnd: Round, unit: Unit, arg: str) -> None:
    draft = reporting.start_draft(ctx.session, rnd, unit, ctx.person.id if ctx.person else None, ctx.now)
    ask(ctx, rnd, unit, draft)


def answer_button(ctx: Ctx, rnd: Round, unit: Unit, draft: ReportDraft, action: str) -> None:
    """Yes, No or Skip at a question."""
    indicator = current_indicator(ctx, rnd, unit, draft)
    if indicator is None:
        summary(ctx, rnd, unit, draft)
    elif action == "skip" and indicator.required:
        ask(ctx, rnd, unit, draft, note=_("This figure is required before sending."))
    elif action == "skip":
        accept_value(ctx, rnd, unit, draft, indicator, None)
    else:
        accept_value(ctx, rnd, unit, draft, indicator, Decimal(1 if action == "yes" else 0))


def back(ctx: Ctx, rnd: Round, unit: Unit, draft: ReportDraft, arg: str) -> None:
    reporting.save_draft(ctx.session, draft, ctx.now, position=max(0, draft.position - 1))
    ask(ctx, rnd, unit, draft)


def pick_reading(ctx: Ctx, rnd: Round, unit: Unit, draft: ReportDraft, arg: str) -> None:
    """One reading of an ambiguous figure chosen."""
    candidates = ReportChoices.load(ctx).candidates
    indicator = current_indicator(ctx, rnd, unit, draft)
    chosen = parse_id(arg, minimum=0)
    if chosen is None or chosen >= len(candidates) or indicator is None:
        ask(ctx, rnd, unit, draft)
        return
    value = Decimal(candidates[chosen])
    checked = check_kind(value, Kind(indicator.kind))
    if isinstance(checked, Invalid):
        ask(ctx, rnd, unit, draft, note=_(INVALID_MESSAGES.get(checked.reason, INVALID_MESSAGES[Reason.NOT_A_NUMBER])))
        return
    accept_value(ctx, rnd, unit, draft, indicator, value)


def confirm_figure(ctx: Ctx, rnd: Round, unit: Unit, draft: ReportDraft, arg: str) -> None:
    """"Đúng" after a plausibility warning: keep the figure, marked as a confirmed outlier."""
    choices = ReportChoices.load(ctx)
    indicator = current_indicator(ctx, rnd, unit, draft)
    if choices.pending is None or indicator is None:
        ask(ctx, rnd, unit, draft)
        return
    value = Decimal(choices.pending)
    choices.pending = None
    choices.store(ctx)
    accept_value(ctx, rnd, unit, draft, indicator, value, confirmed=True)


def edit_line(ctx: Ctx, rnd: Round, unit: Unit, draft: ReportDraft, arg: str) -> None:
    """A line chosen from the summary: ask it again, then come back to the summary."""
    indicators = indicators_of(ctx, rnd, unit)
    line = parse_id(arg, minimum=0)
    if line is None or line >= len(indicators):
        summary(ctx, rnd, unit, draft)
        return
    reporting.save_draft(ctx.session, draft, ctx.now, position=line)
    choices = ReportChoices.load(ctx)
    choices.back_to_summary = True
    choices.store(ctx)
    ask(ctx, rnd, unit, draft)


RoundAction = Callable[[Ctx, Round, Unit, str], None]
DraftAction = Callable[[Ctx, Round, Unit, ReportDraft, str], None]

# Buttons that need the round only (checked by `current`), then those that need its draft.
ROUND_BUTTONS: dict[str, RoundAction] = {
    "close": close,
    "cancel": lambda ctx, rnd, unit, arg: cancel(ctx),
    "correct": correct,
    "restart": restart,
}
DRAFT_BUTTONS: dict[str, DraftAction] = {
    "continue": lambda ctx, rnd, unit, draft, arg: ask(ctx, rnd, unit, draft),
    "yes": lambda ctx, rnd, unit, draft, arg: answer_button(ctx, rnd, unit, draft, "yes"),
    "no": lambda ctx, rnd, unit, draft, arg: answer_button(ctx, rnd, unit, draft, "no"),
    "skip": lambda ctx, rnd, unit, draft, arg: answer_button(ctx, rnd, unit, draft, "skip"),
    "back": back,
    "pick": pick_reading,
    "send": lambda ctx, rnd, unit, draft, arg: send(ctx, rnd, unit, draft),
    "edit": lambda ctx, rnd, unit, draft, arg: pick_line(ctx, rnd, unit, draft),
    "line": edit_line,
    "sure": confirm_figure,
    "retype": lambda ctx, rnd, unit, draft, arg: ask(ctx, rnd, unit, draft),
}


def on_button(ctx: Ctx, action: str, arg: str) -> None:
    """A pressed button of this flow (already checked to belong to the current step)."""
    if action == "round":
        pick_round(ctx, arg)
        return
    loaded = current(ctx)
    if loaded is None:
        return
    rnd, unit, draft = loaded
    if action in ROUND_BUTTONS:
        ROUND_BUTTONS[action](ctx, rnd, unit, arg)
    elif draft is None:  # the draft was sent or replaced meanwhile
        choose_round(ctx, rnd)
    elif action in DRAFT_BUTTONS:
        DRAFT_BUTTONS[action](ctx, rnd, unit, draft, arg)
    else:
        ask(ctx, rnd, unit, draft)


def _with_draft(handler: Callable[[Ctx, Round, Unit, ReportDraft, str], None]) -> Callable[[Ctx, str], None]:
    """Typed text at a step that needs the round and its draft (no draft: choose the round again)."""

    def on_text(ctx: Ctx, text: str) -> None:
        loaded = current(ctx)
        if loaded is None:
            return
        rnd, unit, draft = loaded
        if draft is None:
            choose_round(ctx, rnd)
        else:
            handler(ctx, rnd, unit, draft, text)

    return on_text


_choose_again = _with_draft(lambda ctx, rnd, unit, draft, text: choose_round(ctx, rnd))
_show_summary = _with_draft(lambda ctx, rnd, unit, draft, text: summary(ctx, rnd, unit, draft))

_read_value = _with_draft(read_value)

# What typed text does at each step (the report flow shows a step again by answering typed text).
ON_TEXT: dict[ReportStep, TextHandler] = step_table(ReportStep, {
    ReportStep.PICK: lambda ctx, text: cmd_report(ctx, ""),
    ReportStep.RESUME: _choose_again,
    ReportStep.ASK: _read_value,
    ReportStep.CONFIRM: _read_value,
    ReportStep.AMBIGUOUS: _read_value,
    ReportStep.SUMMARY: _show_summary,
    ReportStep.EDIT: _with_draft(lambda ctx, rnd, unit, draft, text: pick_line(ctx, rnd, unit, draft)),
})


def on_text(ctx: Ctx, text: str) -> None:
    """Typed text inside the flow: a value at a question; otherwise repeat the step."""
    step = current_step(ctx, ReportStep)
    if step is None:  # a step this version does not know: offer the round again (the draft is kept)
        _choose_again(ctx, "")
        return
    ON_TEXT[step](ctx, text)


on_file = file_as_text(on_text)
