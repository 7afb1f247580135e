"""Officers' and staff's typed questions: lowest / highest unit, rankings, who submitted,
one period against another — answered from the roll-up engine of /tonghop and /xephang
(bot.services.standings), within the unit the question is about (already checked against
what the person may see by handlers.ask).
"""

from __future__ import annotations

import logging

from bot.i18n import _, current_language
from bot.messages import esc
from bot.models import Indicator, Level, Role, Unit
from bot.nlu import Intent
from bot.services import reporting, rollup, standings
from bot.services.rollup import short_name
from bot.textvn import Kind, format_date, format_number, format_value
from handlers.base import Ctx

log = logging.getLogger(__name__)

MAX_RANKED_LINES = 10
MAX_LISTED_UNITS = 15


def _pct(value: float | None) -> str:
    return "—" if value is None else format_number(value, locale=current_language(), max_decimals=1) + "%"


def _value(indicator: Indicator, value: float | None) -> str:
    if value is None:
        return _("no figures")
    if indicator.rollup in rollup.PERCENT_ROLLUPS:
        return _pct(value)
    return reporting.format_indicator_value(indicator, value)


def _target(indicator: Indicator, value: float) -> str:
    if indicator.rollup in rollup.PERCENT_ROLLUPS:
        return format_value(value, Kind.PERCENT, "%", locale=current_language())
    return reporting.format_indicator_value(indicator, value)


def _chair_only_own(ctx: Ctx, unit: Unit) -> bool:
    """Rankings and other units' figures are for officers and staff; a chair is told so."""
    if ctx.person is not None and ctx.person.role == Role.CHAIR or unit.level == Level.GRASSROOTS:
        ctx.say(_("Rankings of units are for upper-level unions and provincial staff. "
                  "Type /xephang to see the score of <b>{unit}</b>.").format(unit=esc(unit.name)))
        return True
    return False


def _no_round(ctx: Ctx, intent: Intent) -> None:
    ctx.say(_("There is no reporting round with these figures for the period you asked about.")
            + " " + _("For example: “Which unit has the fewest new members in quarter III?”"))


def answer_ranking(ctx: Ctx, intent: Intent, unit: Unit, indicators: list[Indicator]) -> None:
    """Lowest / highest unit on an indicator or on the emulation score, or the ranking itself."""
    if _chair_only_own(ctx, unit):
        return
    order = intent.order or "all"
    indicator = indicators[0] if indicators else None
    rnd = standings.round_with_figures(ctx.session, ctx.now, unit, intent.period, indicator)
    if rnd is None:
        _no_round(ctx, intent)
        return
    head = _("<b>{title}</b> — units under {unit}").format(title=esc(rnd.title), unit=esc(unit.name))
    if indicator is None:
        _score_answer(ctx, rnd, unit, order, head)
        return
    found = standings.indicator_standings(ctx.session, rnd, unit, indicator)
    name = esc(reporting.indicator_name(indicator))
    if found is None:
        ctx.say(_("{title} does not ask for {name}.").format(title=esc(rnd.title), name=name))
        return
    if found.result.cumulative:
        name += " " + _("(cumulative {period})").format(period=found.result.window.code)
    lines = [head]
    if not found.ranked:
        lines.append(_("No unit has reported {name} yet.").format(name=name))
    elif order == "all":
        lines.append(_("{name}, from highest to lowest:").format(name=name))
        best_first = list(reversed(found.ranked))
        for position, standing in enumerate(best_first[:MAX_RANKED_LINES], start=1):
            lines.append(f"{position}. " + _standing_text(indicator, standing))
        if len(best_first) > MAX_RANKED_LINES:
            lines.append(_("… and {count} more.").format(count=len(best_first) - MAX_RANKED_LINES))
    else:
        pick = found.ranked[0] if order == "lowest" else found.ranked[-1]
        ties = [s for s in found.ranked if s.value == pick.value]
        sentence = (_("Lowest on {name}: {units}.") if order == "lowest" else _("Highest on {name}: {units}."))
        lines.append(sentence.format(name=name, units="; ".join(_standing_text(indicator, s) for s in ties)))
    if found.without:
        lines.append(_("{count} units have no figures for it yet (they are not ranked).").format(
            count=len(found.without)))
    ctx.say("\n".join(lines))


def _standing_text(indicator: Indicator, standing: standings.Standing) -> str:
    text = f"<b>{esc(short_name(standing.unit.name))}</b> — {esc(_value(indicator, standing.value))}"
    if standing.target is not None:
        text += " " + _("(target {target}, reached {pct})").format(
            target=esc(_target(indicator, standing.target)), pct=_pct(standing.attainment))
    return text


def _score_answer(ctx: Ctx, rnd, unit: Unit, order: str, head: str) -> None:  # type: ignore[no-untyped-def]
    ranking = standings.score_ranking(ctx.session, rnd, unit)
    ranked = [e for e in ranking.ranked if e.unit.id != unit.id]
    lines = [head]
    if not ranked:
        lines.append(_("No unit has an emulation score in this round yet."))
        ctx.say("\n".join(lines))
        return

    def text(entry) -> str:  # type: ignore[no-untyped-def]
        return _("{rank}. <b>{unit}</b> — {score} points").format(
            rank=entry.rank, unit=esc(short_name(entry.unit.name)),
            score=format_number(entry.score or 0, locale=current_language(), max_decimals=1))

    if order == "all":
        lines.append(_("Emulation ranking:"))
        lines += [text(e) for e in ranked[:MAX_RANKED_LINES]]
        if len(ranked) > MAX_RANKED_LINES:
            lines.append(_("… and {count} more.").format(count=len(ranked) - MAX_RANKED_LINES))
    else:
        rank = ranked[-1].rank if order == "lowest" else ranked[0].rank
        chosen = [e for e in ranked if e.rank == rank]
        sentence = _("Lowest emulation score: {units}.") if order == "lowest" else _("Highest emulation score: {units}.")
        lines.append(sentence.format(units="; ".join(text(e) for e in chosen)))
    if ranking.unranked:
        lines.append(_("{count} units have no figures yet (they are not ranked).").format(count=len(ranking.unranked)))
    lines.append(_("The full ranking: /xephang {round} {unit}").format(round=esc(rnd.code), unit=esc(unit.code)))
    ctx.say("\n".join(lines))


def answer_compare(ctx: Ctx, intent: Intent, unit: Unit, indicators: list[Indicator], label) -> None:  # type: ignore[no-untyped-def]
    """An indicator in one period against another: both figures, up or down and by how much."""
    if not indicators:
        ctx.say(_("Which figure should I compare? For example: “New members in quarter III compared with quarter II”."))
        return
    base = intent.period
    if base is None:
        rnd = standings.round_with_figures(ctx.session, ctx.now, unit, None, indicators[0])
        period = standings.period_of_round(ctx.session, rnd) if rnd is not None else None
        base = period.code if period is not None else None
    if base is None:
        _no_round(ctx, intent)
        return
    other = intent.compare or "previous"
    other_code = standings.shift_period(base, other) if other in ("previous", "last_year") else other
    if other_code is None:
        ctx.say(_("I cannot tell which period to compare {period} with.").format(period=esc(label(base))))
        return
    sentences: list[str] = []
    for indicator in indicators:
        now_fig = standings.period_figure(ctx.session, ctx.now, unit, indicator, base)
        then_fig = standings.period_figure(ctx.session, ctx.now, unit, indicator, other_code)
        sentences.append(_compare_sentence(indicator, unit, now_fig, then_fig, label))
    ctx.say("\n".join(sentences))


def _compare_sentence(indicator: Indicator, unit: Unit, now_fig: standings.PeriodFigure,
                      then_fig: standings.PeriodFigure, label) -> str:  # type: ignore[no-untyped-def]
    name = esc(reporting.indicator_name(indicator))
    a, b = now_fig.value, then_fig.value
    first = _("{name} of <b>{unit}</b>: {period}: <b>{value}</b>; {other_period}: <b>{other_value}</b>.").format(
        name=name, unit=esc(unit.name), period=esc(label(now_fig.period_code)), value=esc(_value(indicator, a)),
        other_period=esc(label(then_fig.period_code)), other_value=esc(_value(indicator, b)))
    if any(f.result is not None and f.result.cumulative for f in (now_fig, then_fig)):
        first += " " + _("(Figures are cumulative from the start of the target's period.)")
    if a is None or b is None:
        return first + " " + _("Without figures for both periods there is nothing to compare.")
    diff = a - b
    percent = indicator.rollup in rollup.PERCENT_ROLLUPS
    if abs(diff) < 1e-9:
        return first + " " + _("No change.")
    amount = (format_number(abs(diff), locale=current_language(), max_decimals=1) + " " + _("percentage points")
              if percent else reporting.format_indicator_value(indicator, abs(diff)))
    relative = "" if percent or not b else " (" + _pct(100.0 * abs(diff) / b) + ")"
    if diff > 0:
        return first + " " + _("Up by <b>{amount}</b>{relative}.").format(amount=esc(amount), relative=relative)
    return first + " " + _("Down by <b>{amount}</b>{relative}.").format(amount=esc(amount), relative=relative)


def answer_completeness(ctx: Ctx, rounds, unit: Unit) -> None:  # type: ignore[no-untyped-def]
    """How many of the unit's CĐCS submitted each round, and which have not (as /tonghop counts them)."""
    lines: list[str] = []
    for rnd in rounds:
        statuses = rollup.unit_statuses(ctx.session, rnd, unit.id)
        missing = [s for s in statuses if s.status == rollup.MISSING]
        late = [s for s in statuses if s.status == rollup.LATE]
        total = len(statuses)
        if lines:
            lines.append("")
        if not missing:
            lines.append(_("All {total} CĐCS have submitted <b>{title}</b>.").format(total=total, title=esc(rnd.title)))
        else:
            lines.append(_(
                "<b>{title}</b> (deadline {date}): <b>{missing}</b> of {total} CĐCS have not submitted yet:").format(
                title=esc(rnd.title), date=format_date(rnd.deadline_at), missing=len(missing), total=total))
            lines += [f"• {esc(s.code)} — {esc(s.name)}" for s in missing[:MAX_LISTED_UNITS]]
            if len(missing) > MAX_LISTED_UNITS:
                lines.append(_("… and {count} more.").format(count=len(missing) - MAX_LISTED_UNITS))
        lines.append(_("Submitted: {done} of {total} ({late} late).").format(
            done=total - len(missing), total=total, late=len(late)))
    ctx.say("\n".join(lines))
