"""Questions about targets, progress and deadlines: /chitieu, /tiendo, /hannop and free text.

Free text is read by bot.nlu (intent + indicator, period and unit slots) and answered from
the database in one short paragraph. A chair only ever sees their own unit; officers and
staff may name a unit of their subtree (by code or name). What the bot cannot answer gets
an honest reply with what it can answer and whom to contact — never a guessed number.

Officers' and staff's questions (lowest / highest unit, rankings, who submitted, one period
against another) are answered by handlers.ask_staff from the roll-up engine of /tonghop and
/xephang. A unit named but not found is said so, with the closest names to choose from —
never answered for the asker's own unit. The last question's context (intent, indicators,
period, unit) is kept in the conversation state for CONTEXT_TTL, for follow-ups.
"""

from __future__ import annotations

from collections.abc import Callable

import difflib
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlmodel import col, select

from bot.clock import local_today
from bot.i18n import _
from bot.messages import Option, esc
from bot.models import Indicator, Level, Period, PeriodKind, Role, Round, Unit
from bot.nlu import CARRY_INTENTS, Intent, context_of, follow_up, parse
from bot.services import progress as prog
from bot.services import registry, reporting
from bot.textvn import fold, format_date, format_datetime
from handlers import ask_staff
from handlers.base import Ctx, file_as_text, parse_id

log = logging.getLogger(__name__)

FLOW = "ask"


class AskStep(StrEnum):
    UNIT = "unit"  # several units fit a name: which one


CONTEXT = "ask_context"  # the slots of the last question, kept in the conversation state for follow-ups
CONTEXT_TTL = timedelta(minutes=10)  # a follow-up after this long is a new question
MAX_CLOSEST = 3
FIGURE_INTENTS = ("target", "progress", "remaining")
MAX_LISTED_UNITS = 15
MAX_UNIT_CHOICES = 8
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


# ---- commands ------------------------------------------------------------------------------


def cmd_targets(ctx: Ctx, args: str) -> None:
    """/chitieu [unit] [period]: the unit's targets for this year and the term, with what is reached."""
    _overview(ctx, args, "chitieu", _("<b>Targets of {unit}</b>"), _target_line)


def cmd_progress(ctx: Ctx, args: str) -> None:
    """/tiendo [unit] [period]: per target, what was reported, percent reached and what is missing."""
    _overview(ctx, args, "tiendo", _("<b>Progress of {unit}</b>"), _progress_line)


def _overview(ctx: Ctx, args: str, command: str, title: str, line: Callable[[prog.Progress], str]) -> None:
    """The unit's targets per period, each shown by `line`, with a report button where something is missing."""
    found = _command_subject(ctx, args, command)
    if found is None:
        return
    unit, periods = found
    lines = [title.format(unit=esc(unit.name))]
    shown: list[prog.Progress] = []
    for period in periods:
        rows = prog.overview(ctx.session, unit, period, today=local_today(ctx.now), min_coverage=ctx.settings.min_coverage)
        if rows:
            lines += ["", "<b>" + esc(_capital(period_label(period))) + "</b> — "
                      + esc(_("figures {window}").format(window=rows[0].window_text()))]
            lines += ["• " + line(p) for p in rows]
            shown += rows
    if not shown:
        lines += [_no_targets(unit, periods), _contact_sentence(ctx, unit)]
    ctx.say("\n".join(lines), _report_options(ctx, unit, shown))


def cmd_deadlines(ctx: Ctx, args: str) -> None:
    """/hannop [unit]: open rounds, their deadlines, days left, and whether they were submitted."""
    found = _command_subject(ctx, args, "hannop")
    if found is None:
        return
    unit, _periods = found
    rounds = prog.rounds_of(ctx.session, unit, ctx.now)
    if not rounds:
        ctx.say(_("There is no reporting round open for <b>{unit}</b> right now.").format(unit=esc(unit.name)))
        return
    lines = [_("<b>Reporting deadlines of {unit}</b>").format(unit=esc(unit.name))]
    options: list[list[Option]] = []
    for rnd in rounds:
        status = prog.round_status(ctx.session, rnd, unit, ctx.now)
        lines.append("• " + _status_sentence(status, unit))
        if _may_report(ctx, unit) and status.can_report:
            options.append([_report_option(rnd)])
    ctx.say("\n".join(lines), options)


def _no_targets(unit: Unit, periods: list[Period]) -> str:
    if len(periods) == 1:
        return _("No targets have been set for <b>{unit}</b> for {period}.").format(
            unit=esc(unit.name), period=period_label(periods[0]))
    return _("No targets have been set for this unit for this year or the term yet.")


COMMANDS = {"chitieu": cmd_targets, "tiendo": cmd_progress, "hannop": cmd_deadlines}


def _command_subject(ctx: Ctx, args: str, command: str) -> tuple[Unit, list[Period]] | None:
    """The unit a command is about (the person's own, or one named in the arguments) and its
    periods (one named in the arguments, or this year and the term); None if already answered."""
    unit = ctx.unit
    if unit is None:
        return None
    ctx.leave()
    periods = prog.current_periods(ctx.session, ctx.now)
    if not args.strip():
        return unit, periods
    intent = parse(args, prog.vocabulary(ctx.session), local_today(ctx.now))
    subject = _subject(ctx, intent, args, command=command)
    if subject is None:
        return None
    period = prog.period_by_code(ctx.session, intent.period) if intent.period else None
    return subject, [period] if period is not None else periods


# ---- free text -------------------------------------------------------------------------------


def answer(ctx: Ctx, text: str) -> bool:
    """Answer a typed question; False when there is nothing to answer (empty text)."""
    unit = ctx.unit
    if unit is None or not text.strip():
        return False
    intent = _follow_up(ctx, parse(text, prog.vocabulary(ctx.session), local_today(ctx.now)))
    log.info("question intent=%s indicators=%s period=%s unit=%s", intent.name, intent.indicators,
             intent.period, intent.unit)
    ctx.leave()
    if intent.name == "unknown":
        cannot_answer(ctx, unit)
        return True
    if intent.name == "help":
        what_i_can_answer(ctx, unit)
        return True
    if intent.name == "smalltalk":
        ctx.say(_("Happy to help! Ask me about your targets, progress or reporting deadlines."), _menu_options())
        return True
    if intent.name == "contact":  # whom to call is not a unit's data: always the person's own chain
        answer_contact(ctx, intent, unit)
        return True
    if intent.name not in ANSWERS:
        cannot_answer(ctx, unit)
        return True
    if intent.unit_query and not intent.unit and not intent.unit_candidates:
        _unit_not_found(ctx, intent, text)  # never the asker's own unit instead of the one named
        return True
    subject = _subject(ctx, intent, text)
    if subject is None:
        return True
    ANSWERS[intent.name](ctx, intent, subject)
    if intent.name in CARRY_INTENTS and not ctx.state.flow:
        _remember(ctx, intent, subject)
    return True


def _remember(ctx: Ctx, intent: Intent, subject: Unit) -> None:
    """Keep the question's context in the conversation state (not in the process) for follow-ups."""
    assert ctx.person is not None
    context = context_of(intent)
    context.update(unit=subject.code if subject.id != ctx.person.unit_id else None, at=ctx.now.isoformat())
    ctx.state.data = {CONTEXT: context}


def _follow_up(ctx: Ctx, intent: Intent) -> Intent:
    """A follow-up ("còn quý 3 thì sao?", "còn thiếu bao nhiêu?") completed with the previous
    question's context, if that was asked in the last few minutes."""
    last = ctx.state.data.get(CONTEXT) if not ctx.state.flow else None
    if not last:
        return intent
    try:
        asked_at = datetime.fromisoformat(str(last.get("at")))
    except ValueError:
        return intent
    if asked_at.tzinfo is None and ctx.now.tzinfo is not None:
        asked_at = asked_at.replace(tzinfo=ctx.now.tzinfo)
    if not timedelta(0) <= ctx.now - asked_at <= CONTEXT_TTL:
        return intent
    return follow_up(intent, last)


def _intent_from(context: dict) -> Intent:
    """The question stored while the person chooses a unit."""
    return Intent(str(context.get("intent") or "progress"), tuple(context.get("indicators") or ()),
                  context.get("period"), None, (), None, order=context.get("order"), compare=context.get("compare"))


def _unit_not_found(ctx: Ctx, intent: Intent, text: str) -> None:
    """A unit was named that fits no unit the person may see: say so, offer the closest names."""
    assert ctx.person is not None and intent.unit_query
    visible = registry.visible_unit_ids(ctx.session, ctx.person)
    units = ctx.session.exec(select(Unit).where(col(Unit.id).in_(visible), Unit.active == True)).all()  # noqa: E712
    by_name = {fold(u.name): u for u in units}
    close = difflib.get_close_matches(intent.unit_query, list(by_name), n=MAX_CLOSEST, cutoff=0.5)
    message = _("I found no unit named “{name}”.").format(name=esc(intent.unit_query))
    if not close:
        ctx.say(message + " " + _("Please check the name, or write the unit's code (for example {code})."
                                  ).format(code=esc(ctx.unit.code if ctx.unit else "TD_001")))
        return
    ctx.enter(FLOW, AskStep.UNIT, question=text, context=context_of(intent))
    ctx.say(message + " " + _("Did you mean one of these?"),
            [[ctx.option(by_name[name].name, FLOW, "unit", by_name[name].id)] for name in close])


def on_button(ctx: Ctx, action: str, arg: str) -> None:
    """A unit chosen among several that fit a name: answer the stored question (or command) about it."""
    question = ctx.state.data.get("question") or ""
    command = ctx.state.data.get("command")
    stored = ctx.state.data.get("context")
    ctx.leave()
    unit_id = parse_id(arg)
    if action != "unit" or unit_id is None or ctx.person is None:
        what_i_can_answer(ctx, ctx.unit)
        return
    unit = ctx.session.get(Unit, unit_id)
    if unit is None or unit.id not in registry.visible_unit_ids(ctx.session, ctx.person):
        _refuse_other_unit(ctx)
        return
    if isinstance(stored, dict):
        intent = _intent_from(stored)
    else:
        intent = parse(question, prog.vocabulary(ctx.session), local_today(ctx.now))
    if command in COMMANDS:
        period = f" {intent.period}" if intent.period else ""
        COMMANDS[command](ctx, unit.code + period)
    elif intent.name in ANSWERS:
        ANSWERS[intent.name](ctx, replace(intent, unit=unit.code, unit_candidates=()), unit)
    else:
        cmd_progress(ctx, unit.code)


def on_text(ctx: Ctx, text: str) -> None:
    """Typed text while a unit choice is open: treat it as a new question."""
    ctx.leave()
    if not answer(ctx, text):
        cannot_answer(ctx, ctx.unit)


on_file = file_as_text(on_text)


def _subject(ctx: Ctx, intent: Intent, text: str, command: str | None = None) -> Unit | None:
    """The unit a question is about, checked against what the person may see (None: already answered)."""
    own = ctx.unit
    assert own is not None and ctx.person is not None
    visible = registry.visible_unit_ids(ctx.session, ctx.person)
    if intent.unit_candidates:
        units = [u for u in (registry.unit_by_code(ctx.session, c) for c in intent.unit_candidates) if u]
        if own.code in intent.unit_candidates:
            return own
        allowed = [u for u in units if u.id in visible]
        if not allowed:
            _refuse_other_unit(ctx)
            return None
        if len(allowed) == 1:
            return allowed[0]
        ctx.enter(FLOW, AskStep.UNIT, question=text, command=command, context=None if command else context_of(intent))
        ctx.say(_("Several units fit that name. Which one do you mean?"),
                [[ctx.option(u.name, FLOW, "unit", u.id)] for u in allowed[:MAX_UNIT_CHOICES]])
        return None
    if intent.unit and intent.unit != own.code:
        unit = registry.unit_by_code(ctx.session, intent.unit)
        if unit is None or unit.id not in visible:
            _refuse_other_unit(ctx)
            return None
        return unit
    return own


def _refuse_other_unit(ctx: Ctx) -> None:
    own = ctx.unit
    assert own is not None and ctx.person is not None
    if ctx.person.role == Role.CHAIR:
        ctx.say(_("Sorry, you can only see the figures of your own unit, <b>{unit}</b>.").format(unit=esc(own.name)))
    else:
        ctx.say(_("Sorry, you can only see the figures of <b>{unit}</b> and the units under it.").format(
            unit=esc(own.name)))


# ---- answers -----------------------------------------------------------------------------------


def _indicators(ctx: Ctx, intent: Intent) -> list[Indicator]:
    if not intent.indicators:
        return []
    rows = ctx.session.exec(select(Indicator).where(col(Indicator.code).in_(intent.indicators))).all()
    by_code = {i.code: i for i in rows}
    return [by_code[c] for c in intent.indicators if c in by_code]


def _period_for(ctx: Ctx, intent: Intent, unit: Unit, indicator: Indicator | None) -> Period | None:
    """The asked period, or by default this year — or the term when the target is a term target."""
    if intent.period:
        return prog.period_by_code(ctx.session, intent.period)
    periods = prog.current_periods(ctx.session, ctx.now)
    if indicator is not None:
        for period in periods:
            if prog.target_of(ctx.session, unit, indicator, period) is not None:
                return period
    return periods[0] if periods else None


def answer_figures(ctx: Ctx, intent: Intent, unit: Unit) -> None:
    """Target, progress or what is still missing, for each named indicator (or all targets)."""
    indicators = _indicators(ctx, intent)
    if not indicators:
        if intent.period:
            period = prog.period_by_code(ctx.session, intent.period)
            if period is not None:
                _overview_paragraph(ctx, unit, period)
                return
        command = cmd_targets if intent.name == "target" else cmd_progress
        command(ctx, unit.code if unit.id != ctx.person.unit_id else "")
        return
    sentences: list[str] = []
    answered: list[prog.Progress] = []
    for indicator in indicators:
        period = _period_for(ctx, intent, unit, indicator)
        if period is None:
            continue
        p = prog.progress(ctx.session, unit, indicator, period, today=local_today(ctx.now), min_coverage=ctx.settings.min_coverage)
        if len(indicators) == 1 and intent.alternatives:
            p = _better_fit(ctx, intent, unit, p)
        sentences += [s for s in _figure_sentences(p, intent.name) if s]
        answered.append(p)
    if not sentences:
        cannot_answer(ctx, unit)
        return
    ctx.say(" ".join(sentences), _report_options(ctx, unit, answered))


def _own_target(p: prog.Progress) -> bool:
    return p.target is not None and not p.target.common


def _better_fit(ctx: Ctx, intent: Intent, unit: Unit, p: prog.Progress) -> prog.Progress:
    """When the words also fit another indicator ("ủng hộ quỹ XH": donors or money) and the one
    read has neither figures nor a target of the unit's own, answer about another that has a target."""
    if p.reported or _own_target(p):
        return p
    for other in _indicators(ctx, replace(intent, indicators=intent.alternatives)):
        period = _period_for(ctx, intent, unit, other)
        if period is None:
            continue
        q = prog.progress(ctx.session, unit, other, period, today=local_today(ctx.now),
                          min_coverage=ctx.settings.min_coverage)
        if _own_target(q):
            return q
    return p


def _overview_paragraph(ctx: Ctx, unit: Unit, period: Period) -> None:
    rows = prog.overview(ctx.session, unit, period, today=local_today(ctx.now), min_coverage=ctx.settings.min_coverage)
    if not rows:
        ctx.say(_("No targets have been set for <b>{unit}</b> for {period}.").format(
            unit=esc(unit.name), period=period_label(period)) + " " + _contact_sentence(ctx, unit))
        return
    lines = ["<b>" + esc(_capital(period_label(period))) + "</b> — " + esc(unit.name)]
    lines += ["• " + _progress_line(p) for p in rows]
    ctx.say("\n".join(lines), _report_options(ctx, unit, rows))


def _figure_sentences(p: prog.Progress, intent: str) -> list[str]:
    """One indicator, in a few sentences: target, what was reported, percent, what is missing."""
    name = esc(reporting.indicator_name(p.indicator))
    unit = esc(p.unit.name)
    asked = period_label(p.period)
    out: list[str] = []
    if p.target is None:
        out.append(_("No target for {name} has been set for <b>{unit}</b> for {period}.").format(
            name=name, unit=unit, period=asked))
        if p.actual.value is not None:
            out.append(_("Reported for {period}: <b>{value}</b>.").format(period=asked, value=_actual_text(p)))
        return out
    target_text = esc(reporting.format_target(p.indicator, p.target.value))
    span = period_label(p.target.period)
    if p.target.period.code != p.period.code:
        out.append(_("There is no separate target for {period}; the target is set for {target_period}.").format(
            period=asked, target_period=span))
    if p.target.common:
        out.append(_("The common target for {name} for {period}, set by {upper}, is <b>{value}</b>.").format(
            name=name, period=span, upper=esc(p.target.unit.name), value=target_text))
    else:
        out.append(_("The target for {name} for {period} of <b>{unit}</b> is <b>{value}</b>.").format(
            name=name, period=span, unit=unit, value=target_text))
    if p.actual.value is None:
        out.append(_("Nothing has been reported for it for {period} yet.").format(period=span))
        return out
    out.append(_reported_sentence(p))
    out.append(_("Figures {window}.").format(window=p.window_text()))
    if p.actual_in_period is not None and p.actual_in_period.value is not None and not p.is_percent:
        out.append(_("Of this, {period}: {value}.").format(
            period=asked, value=esc(reporting.format_indicator_value(p.indicator, p.actual_in_period.value))))
    if intent == "remaining":
        return [_missing_sentence(p), *out]
    return [*out, _missing_sentence(p)]


def _reported_sentence(p: prog.Progress) -> str:
    if p.indicator.rollup == "share_yes":
        if p.actual.denominator == 1 and p.unit.level == Level.GRASSROOTS:
            return _("The unit's latest answer is <b>{answer}</b>.").format(
                answer=_("Yes") if p.actual.numerator else _("No"))
        return _("<b>{yes}</b> of {answered} units answered Yes: <b>{rate}</b>.").format(
            yes=_n(p.actual.numerator), answered=_n(p.actual.denominator), rate=prog_percent(p.actual.value))
    if p.indicator.rollup == "ratio":
        return _("The rate reached is <b>{rate}</b> ({part} of {whole}).").format(
            rate=prog_percent(p.actual.value), part=_n(p.actual.numerator),
            whole=esc(reporting.format_indicator_value(p.indicator, p.actual.denominator)))
    if not p.enough():
        text = _("Reported so far: <b>{value}</b>; not enough units have reported to say how much of the target is reached.").format(
            value=esc(reporting.format_indicator_value(p.indicator, p.actual.value)))
        return text + " " + _("Figures from {count} of {total} CĐCS.").format(count=p.actual.units, total=p.expected_units)
    text = _("Reported so far: <b>{value}</b>, <b>{percent}</b> of the target.").format(
        value=esc(reporting.format_indicator_value(p.indicator, p.actual.value)), percent=prog_percent(p.reached))
    if p.indicator.rollup == "snapshot":
        text = _("Latest reported figure: <b>{value}</b>, <b>{percent}</b> of the target.").format(
            value=esc(reporting.format_indicator_value(p.indicator, p.actual.value)), percent=prog_percent(p.reached))
    if p.unit.level != Level.GRASSROOTS and p.expected_units:
        text += " " + _("Figures from {count} of {total} CĐCS.").format(count=p.actual.units, total=p.expected_units)
    return text


def _missing_sentence(p: prog.Progress) -> str:
    missing = p.missing
    if missing is None:
        return ""
    if missing <= 0:
        return _("The target has been met.")
    if p.indicator.rollup == "share_yes":
        if p.unit.level == Level.GRASSROOTS:
            return _("The target is not met yet.")
        return _("<b>{count}</b> more units answering Yes are needed to reach the target.").format(count=_n(missing))
    if p.indicator.rollup == "ratio":
        return _("To reach the target, <b>{value}</b> more are needed.").format(
            value=esc(reporting.format_indicator_value(p.indicator, missing)))
    return _("Still missing: <b>{value}</b>.").format(value=esc(reporting.format_indicator_value(p.indicator, missing)))


def _actual_text(p: prog.Progress) -> str:
    if p.is_percent:
        return prog_percent(p.actual.value)
    return esc(reporting.format_indicator_value(p.indicator, p.actual.value))


def _target_line(p: prog.Progress) -> str:
    """A /chitieu line: the target and, briefly, how far it is reached."""
    name = esc(reporting.indicator_name(p.indicator))
    assert p.target is not None
    text = f"{name}: <b>{esc(reporting.format_target(p.indicator, p.target.value))}</b>"
    if p.target.common:
        text += " " + _("(common target of {upper})").format(upper=esc(p.target.unit.name))
    if not p.reported:
        return text + " — " + _("nothing reported yet")
    if p.is_percent:
        return text + " — " + _("reached {rate}").format(rate=prog_percent(p.actual.value))
    return text + " — " + _("reported {value} ({percent})").format(
        value=esc(reporting.format_indicator_value(p.indicator, p.actual.value)), percent=_attained(p))


def _attained(p: prog.Progress) -> str:
    """Attainment of the target as a percentage, unless too few units reported to say."""
    return prog_percent(p.reached) if p.enough() else _("not enough figures yet")


def _progress_line(p: prog.Progress) -> str:
    """A /tiendo line: reported, target, percent reached, what is missing."""
    name = esc(reporting.indicator_name(p.indicator))
    assert p.target is not None
    target = esc(reporting.format_target(p.indicator, p.target.value))
    if not p.reported:
        return _("<b>{name}</b>: target {target} — nothing reported yet").format(name=name, target=target)
    missing = p.missing or Decimal(0)
    if p.is_percent:
        head = _("<b>{name}</b>: {rate} (target {target})").format(
            name=name, rate=prog_percent(p.actual.value), target=target)
    else:
        head = _("<b>{name}</b>: {value} of {target} — {percent}").format(
            name=name, value=esc(reporting.format_indicator_value(p.indicator, p.actual.value)), target=target,
            percent=_attained(p))
    if missing <= 0:
        return head + "; " + _("target met")
    if p.indicator.rollup == "share_yes":
        if p.unit.level == Level.GRASSROOTS:
            return head + "; " + _("not met yet")
        return head + "; " + _("{count} more units needed").format(count=_n(missing))
    return head + "; " + _("{value} still missing").format(
        value=esc(reporting.format_indicator_value(p.indicator, missing)))


def answer_rounds(ctx: Ctx, intent: Intent, unit: Unit) -> None:
    """Deadline or submission status of the asked round (or of every open round)."""
    rounds = _asked_rounds(ctx, intent, unit)
    if rounds is None:
        return
    sentences = []
    options: list[list[Option]] = []
    for rnd in rounds:
        status = prog.round_status(ctx.session, rnd, unit, ctx.now)
        sentences.append(_status_sentence(status, unit))
        if _may_report(ctx, unit) and status.can_report and rnd.opens_at <= ctx.now:
            options.append([_report_option(rnd)])
    ctx.say(" ".join(sentences), options)


def answer_report(ctx: Ctx, intent: Intent, unit: Unit) -> None:
    """The person wants to report: the rounds of the asked period (or the open ones) with a button each."""
    rounds = _asked_rounds(ctx, intent, unit)
    if rounds is None:
        return
    statuses = [prog.round_status(ctx.session, rnd, unit, ctx.now) for rnd in rounds]
    options = [[_report_option(st.round)] for st in statuses
               if _may_report(ctx, unit) and st.asked and st.round.opens_at <= ctx.now and not st.round.locked]
    text = " ".join(_status_sentence(st, unit) for st in statuses)
    if options:
        text = _("Press the button of the round you want to report (or to correct).") + " " + text
    ctx.say(text, options)


def answer_round_content(ctx: Ctx, intent: Intent, unit: Unit) -> None:
    """What a round asks for."""
    rounds = _asked_rounds(ctx, intent, unit)
    if rounds is None:
        return
    sentences = []
    options: list[list[Option]] = []
    for rnd in rounds:
        status = prog.round_status(ctx.session, rnd, unit, ctx.now)
        names = "; ".join(esc(reporting.indicator_name(i)) for i in status.indicators)
        sentences.append(_("<b>{title}</b> (deadline {date}) asks for {count} figures: {names}.").format(
            title=esc(rnd.title), date=format_date(rnd.deadline_at), count=len(status.indicators), names=names))
        if _may_report(ctx, unit) and status.can_report and rnd.opens_at <= ctx.now:
            options.append([_report_option(rnd)])
    ctx.say(" ".join(sentences), options)


def answer_missing_units(ctx: Ctx, intent: Intent, unit: Unit) -> None:
    """Which units of the subtree have not submitted (for a chair: their own status)."""
    if unit.level == Level.GRASSROOTS:
        answer_rounds(ctx, intent, unit)
        return
    rounds = _asked_rounds(ctx, intent, unit)
    if rounds is None:
        return
    ask_staff.answer_completeness(ctx, rounds, unit)


def answer_contact(ctx: Ctx, intent: Intent, unit: Unit) -> None:
    """Whom to contact: the nearest upper-level union with a contact."""
    ctx.say(_contact_sentence(ctx, unit))


ANSWERS = {
    "target": answer_figures,
    "progress": answer_figures,
    "remaining": answer_figures,
    "deadline": answer_rounds,
    "submitted": answer_rounds,
    "round_content": answer_round_content,
    "missing_units": answer_missing_units,
    "contact": answer_contact,
    "report": answer_report,
    "ranking": lambda ctx, intent, unit: ask_staff.answer_ranking(ctx, intent, unit, _indicators(ctx, intent)),
    "compare": lambda ctx, intent, unit: ask_staff.answer_compare(ctx, intent, unit, _indicators(ctx, intent),
                                                                 lambda code: _label_of(ctx, code)),
}


def _label_of(ctx: Ctx, code: str) -> str:
    period = prog.period_by_code(ctx.session, code)
    return period_label(period) if period is not None else code


def _asked_rounds(ctx: Ctx, intent: Intent, unit: Unit) -> list[Round] | None:
    """The rounds a question is about: the named one, those of the named period, or the open ones."""
    if intent.round:
        rnd = reporting.round_by_code(ctx.session, intent.round)
        concerned = rnd is not None and rnd in prog.rounds_of(ctx.session, unit, ctx.now, _period_of(ctx, rnd))
        rounds = [rnd] if concerned else []
    elif intent.period:
        period = prog.period_by_code(ctx.session, intent.period)
        rounds = prog.rounds_of(ctx.session, unit, ctx.now, period) if period else []
        if not rounds:
            ctx.say(_("There is no reporting round for {period}.").format(
                period=period_label(period) if period else esc(intent.period)) + " " + _what_to_try())
            return None
    else:
        rounds = prog.rounds_of(ctx.session, unit, ctx.now)
    if not rounds:
        ctx.say(_("There is no reporting round open for <b>{unit}</b> right now.").format(unit=esc(unit.name)))
        return None
    return rounds


def _period_of(ctx: Ctx, rnd: Round) -> Period | None:
    return ctx.session.get(Period, rnd.period_id)


def _status_sentence(status: prog.RoundStatus, unit: Unit) -> str:
    """One round: deadline, days left, and submitted or not (for an upper unit: how many CĐCS)."""
    rnd = status.round
    title, deadline = esc(rnd.title), format_date(rnd.deadline_at)
    if status.days_left > 1:
        days = _("{days} days left").format(days=status.days_left)
    elif status.days_left == 1:
        days = _("1 day left")
    elif status.days_left == 0:
        days = _("today is the last day")
    else:
        days = _("{days} days overdue").format(days=-status.days_left)
    if unit.level != Level.GRASSROOTS:
        text = _("<b>{title}</b>: deadline {date} ({days}); {done} of {total} CĐCS have submitted.").format(
            title=title, date=deadline, days=days, done=status.submitted_units, total=status.expected_units)
    elif status.submission is not None:
        text = _("<b>{title}</b>: deadline {date}; submitted at {time} (reference {ref}).").format(
            title=title, date=deadline, time=format_datetime(status.submission.submitted_at),
            ref=esc(status.submission.reference))
        if status.submission.late:
            text += " " + _("It was submitted after the deadline.")
    elif status.days_left < 0:
        text = _("<b>{title}</b>: the deadline was {date} ({days}); not submitted yet.").format(
            title=title, date=deadline, days=days)
    else:
        text = _("<b>{title}</b>: deadline {date} ({days}); not submitted yet.").format(
            title=title, date=deadline, days=days)
    if rnd.locked:
        text += " " + _("The round is locked.")
    return text


# ---- honesty: what the bot cannot answer -------------------------------------------------------------


def cannot_answer(ctx: Ctx, unit: Unit | None) -> None:
    """Say honestly that this is not something the bot can answer, what it can, and whom to ask."""
    ctx.leave()
    ctx.say(_("Sorry, I cannot answer that question.") + " " + _capabilities(ctx) + " "
            + (_contact_sentence(ctx, unit) if unit else ""), _menu_options())


def what_i_can_answer(ctx: Ctx, unit: Unit | None) -> None:
    ctx.say(_capabilities(ctx) + " " + _what_to_try() + " " + (_contact_sentence(ctx, unit) if unit else ""),
            _menu_options())


def _capabilities(ctx: Ctx) -> str:
    text = _("I can answer questions about your unit's targets, progress and what is still missing, "
             "reporting deadlines, whether your unit has submitted, and what a round asks for.")
    if ctx.person is not None and ctx.person.role != Role.CHAIR:
        text += " " + _("You can also ask which of your units have not submitted, or name one of them.")
    return text


def _what_to_try() -> str:
    return _("For example: “What is this year's target for new members?”")


def _contact_sentence(ctx: Ctx, unit: Unit) -> str:
    found = None
    for candidate in registry.ancestors(ctx.session, unit) + [unit]:
        if candidate.contact:
            found = candidate
            break
    if found is None:
        return _("For help, please contact your upper-level union.")
    return _("For help, please contact {unit}: {contact}.").format(unit=esc(found.name), contact=esc(found.contact))


def _menu_options() -> list[list[Option]]:
    return [
        [Option(_("Targets"), "/chitieu"), Option(_("Progress"), "/tiendo")],
        [Option(_("Deadlines"), "/hannop"), Option(_("Report"), "/baocao")],
    ]


# ---- small helpers -------------------------------------------------------------------------------------


def _may_report(ctx: Ctx, unit: Unit) -> bool:
    """Report buttons only for the person's own unit (reports are made by the unit itself)."""
    return ctx.person is not None and unit.id == ctx.person.unit_id


def _report_option(rnd: Round) -> Option:
    return Option(_("Report: {title}").format(title=rnd.title), f"/baocao {rnd.code}")


def _report_options(ctx: Ctx, unit: Unit, shown: list[prog.Progress]) -> list[list[Option]]:
    """A button to start the report when a target is not reached and an open round of its period asks for it."""
    if not _may_report(ctx, unit):
        return []
    rows: list[list[Option]] = []
    for p in shown:
        if not prog.needs_report(p):
            continue
        assert p.target is not None
        rnd = prog.report_round_for(ctx.session, unit, ctx.now, {p.indicator.id}, p.target.period)
        if rnd is not None and all(o.data != f"/baocao {rnd.code}" for row in rows for o in row):
            rows.append([_report_option(rnd)])
    return rows


def period_label(period: Period) -> str:
    """A period the way people say it: năm 2026, quý II/2026, 6 tháng đầu năm 2026, nhiệm kỳ 2023–2028."""
    year = period.starts_on.year
    if period.kind == PeriodKind.YEAR:
        return _("year {year}").format(year=year)
    if period.kind == PeriodKind.QUARTER:
        return _("quarter {quarter}/{year}").format(quarter=ROMAN[(period.starts_on.month - 1) // 3 + 1], year=year)
    if period.kind == PeriodKind.HALF:
        if period.starts_on.month == 1:
            return _("the first half of {year}").format(year=year)
        return _("the second half of {year}").format(year=year)
    if period.kind == PeriodKind.TERM:
        return _("the {start}–{end} term").format(start=year, end=period.ends_on.year)
    return period.code


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _n(value: Decimal | None) -> str:
    return prog.format_count(value)


def prog_percent(value: Decimal | None) -> str:
    return prog.format_percent(value)
