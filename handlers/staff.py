"""The staff view: /tonghop, /xephang, /xuatexcel, /bieudo.

Each command takes optional arguments in any order: a round code (default: the most
recent round whose deadline has passed, else the latest open one), a unit code (default:
the person's own unit) and, for /bieudo, indicator codes. Every argument is checked here
on the server: the unit must be among registry.visible_unit_ids of the person.

Who sees what:
* provincial staff — the province (or any unit under it); groups are the upper-level unions;
* officers of an upper-level union — their union (or a unit under it); groups are its CĐCS;
* chairs of a CĐCS — their own unit only: /tonghop shows their unit's status and figures
  against its targets, /xephang their own score (never other units'); Excel files and
  charts are for officers and staff, a chair is told so politely.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import col, select

from bot.i18n import _, current_language
from bot.messages import Option, OutFile, esc
from bot.models import Indicator, Level, Period, Role, Round, Rollup, Unit
from bot.nlu import fold, parse_period
from bot.clock import local_today
from bot.services import charts, figures, plausibility, registry, reporting, review, rollup, scoring
from bot.services.review import ReviewCounts
from bot.services.rollup import IndicatorResult, RoundRollup, sector_label, short_name
from bot.textvn import format_date, format_datetime, format_number
from handlers.base import Ctx

log = logging.getLogger(__name__)

FLOW = "staff"
MAX_NAMES = 30  # units listed by name (missing, late) before "and N more"
MAX_LISTED = 60  # ranking lines before "and N more"


@dataclass
class Request:
    """A staff command's parsed and checked arguments."""

    round: Round
    unit: Unit
    codes: list[str] = field(default_factory=list)
    approved_only: bool = False  # figures of approved reports only (rounds that require review)


APPROVED_WORDS = {"daduyet", "approved"}  # "/tonghop 2026-Q4 daduyet": count approved reports only


def _approved_flag(args: str) -> tuple[str, bool]:
    """The arguments without the approved-only word, and whether it was there."""
    words = args.split()
    kept = [w for w in words if fold(w) not in APPROVED_WORDS]
    return " ".join(kept), len(kept) != len(words)


def round_and_unit_codes(ctx: Ctx, args: str) -> tuple[Round | None, Unit | None, list[str]]:
    """The first round code and the first unit code among the words (any case), and the other words."""
    rnd: Round | None = None
    unit: Unit | None = None
    rest: list[str] = []
    for token in args.split():
        found_round = reporting.round_by_code(ctx.session, token) or reporting.round_by_code(ctx.session, token.upper())
        if found_round is not None and rnd is None:
            rnd = found_round
            continue
        found_unit = registry.unit_by_code(ctx.session, token) or registry.unit_by_code(ctx.session, token.upper())
        if found_unit is not None and unit is None:
            unit = found_unit
            continue
        rest.append(token)
    return rnd, unit, rest


def parse_request(ctx: Ctx, args: str, *, allow_codes: bool = False, command: str = "tonghop") -> Request | None:
    """Read round, unit (and indicator codes) — codes, or names as typed; check them; answer and
    return None if they fail."""
    person = ctx.person
    assert person is not None
    args, approved_only = _approved_flag(args)
    codes: list[str] = []
    words: list[str] = []
    indicator_codes = set(ctx.session.exec(select(Indicator.code)).all()) if allow_codes else set()
    rnd, unit, rest = round_and_unit_codes(ctx, args)
    for token in rest:
        if token.upper() in indicator_codes:
            codes.append(token.upper())
            continue
        words.append(token)
    if words:  # names as people type them: "quy 3", "quý II 2026", "Muong Te"
        named = _by_name(ctx, " ".join(words), command)
        if named is None:
            ctx.say(_("I do not know “{token}”. Write a round such as {example} or “quý 3”, optionally followed by a "
                      "unit name or code.").format(token=esc(" ".join(words)), example=esc(_example_round(ctx))))
            return None
        if named is _ANSWERED:
            return None
        rnd, unit = rnd or named[0], unit or named[1]
    own = ctx.unit
    assert own is not None
    if unit is not None and unit.id != own.id and unit.id not in registry.visible_unit_ids(ctx.session, person):
        if person.role == Role.CHAIR:
            ctx.say(_("You can only see the figures of your own unit, {unit}.").format(unit=esc(own.name)))
        else:
            ctx.say(_("You can only see the figures of {unit} and the units under it.").format(unit=esc(own.name)))
        return None
    unit = unit or own
    if rnd is None:
        rnd = rollup.default_round(ctx.session, ctx.now)
        if rnd is None:
            ctx.say(_("There is no reporting round yet."))
            return None
    if person.role == Role.CHAIR and not reporting.in_audience(ctx.session, rnd, unit):
        ctx.say(_("{unit} is not asked to report in {title}.").format(unit=esc(unit.name), title=esc(rnd.title)))
        return None
    return Request(round=rnd, unit=unit, codes=codes, approved_only=approved_only)


_ANSWERED: Any = object()  # _by_name already answered (offered a choice)


def _by_name(ctx: Ctx, text: str, command: str) -> tuple[Round | None, Unit | None] | Any:
    """The round (by its period: "quy 3") and the unit (by its name: "Muong Te") named in free words;
    several units fitting the name are offered as choices; None when nothing is recognised."""
    folded = fold(text)
    period = parse_period(folded, local_today(ctx.now))
    rnd: Round | None = None
    if period:
        rnd = ctx.session.exec(
            select(Round).join(Period, col(Period.id) == col(Round.period_id)).where(Period.code == period)
            .order_by(col(Round.deadline_at).desc(), col(Round.id).desc())).first()
    rest = " ".join(w for w in re.sub(r"\b(quy|q|nam|thang|ky|nhiem|dot|bao|cao|[ivx]+|\d+)\b|[/-]", " ", folded).split())
    unit: Unit | None = None
    if rest:
        candidates = _units_named(ctx, rest)
        if not candidates:
            return None
        if len(candidates) > 1:
            prefix = f"/{command} {rnd.code} " if rnd is not None else f"/{command} "
            options = [[Option(u.name, prefix + u.code)] for u in candidates[:8]
                       if ctx.fits_callback(prefix + u.code)]
            ctx.say(_("Which unit do you mean?"), options)
            return _ANSWERED
        unit = candidates[0]
    if rnd is None and unit is None:
        return None
    return rnd, unit


def _units_named(ctx: Ctx, words: str) -> list[Unit]:
    """Active units whose name, without diacritics, contains these words (upper levels first)."""
    pattern = re.compile(r"\b" + r"\s+".join(re.escape(w) for w in words.split()) + r"\b")
    found = [u for u in ctx.session.exec(select(Unit).where(Unit.active == True)).all()  # noqa: E712
             if pattern.search(fold(u.name))]
    upper = [u for u in found if u.level != Level.GRASSROOTS]
    return sorted(upper or found, key=lambda u: u.code)


def _example_round(ctx: Ctx) -> str:
    rnd = rollup.default_round(ctx.session, ctx.now)
    return rnd.code if rnd is not None else "2026-Q1"


def _is_chair(ctx: Ctx) -> bool:
    return ctx.person is not None and ctx.person.role == Role.CHAIR


def _command_option(ctx: Ctx, label: str, command: str, req: Request, *, approved_only: bool | None = None) -> Option | None:
    flag = " daduyet" if (req.approved_only if approved_only is None else approved_only) else ""
    data = f"/{command} {req.round.code} {req.unit.code}{flag}"
    if not ctx.fits_callback(data):
        data = f"/{command} {req.round.code}{flag}"
    return Option(label, data) if ctx.fits_callback(data) else None


# --------------------------------------------------------------------------- formatting


def _pct(value: float | None) -> str:
    return figures.format_percent(value)


def _figure(result: IndicatorResult, value: float | None) -> str:
    if value is None:
        return _("no figures")
    if result.percent:
        return _pct(value)
    return reporting.format_indicator_value(result.indicator, value)


def _target_text(result: IndicatorResult, target: float | None) -> str:
    if target is None:
        return ""
    if result.percent:
        return _pct(target)
    return reporting.format_indicator_value(result.indicator, target)


def _round_header(ctx: Ctx, req: Request, heading: str) -> list[str]:
    rnd = req.round
    state = _("deadline passed") if ctx.now > rnd.deadline_at else _("open")
    if rnd.locked:
        state = _("locked")
    return [
        f"<b>{heading}: {esc(rnd.title)}</b>",
        _("{unit} · deadline {date} ({state})").format(unit=esc(req.unit.name), date=format_date(rnd.deadline_at),
                                                      state=state),
    ]


def _names(units: list[rollup.UnitStatus]) -> str:
    shown = ", ".join(esc(u.name) for u in units[:MAX_NAMES])
    if len(units) > MAX_NAMES:
        shown += " " + _("and {n} more").format(n=len(units) - MAX_NAMES)
    return shown


def completeness_lines(ctx: Ctx, req: Request, roll: RoundRollup) -> list[str]:
    c = roll.completeness
    lines = ["", "<b>" + _("Who has reported") + "</b>"]
    if c.expected == 0:
        lines.append(_("No unit under {unit} is asked to report in this round.").format(unit=esc(req.unit.name)))
        return lines
    lines.append(_("{submitted}/{expected} units have reported ({share}): {on_time} on time, {late} late, {missing} not yet.")
                 .format(submitted=c.submitted, expected=c.expected, share=_pct(c.share), on_time=c.on_time,
                         late=c.late, missing=c.missing))
    if roll.reviews is not None:
        lines.append(_("Review: {counts}").format(counts=_review_text(roll.reviews)))
    groups = [(gid, u) for gid, u in roll.groups.items() if u.level != Level.GRASSROOTS]
    if groups:
        for gid, unit in groups:
            g = roll.completeness_by_group[gid]
            line = _("• {unit}: {submitted}/{expected} — late {late}, not yet {missing}").format(
                unit=esc(short_name(unit.name)), submitted=g.submitted, expected=g.expected, late=g.late,
                missing=g.missing)
            counts = roll.reviews_by_group.get(gid) or ReviewCounts()
            if roll.reviews is not None and g.submitted:
                line += " · " + _review_text(counts)
            lines.append(line)
    elif c.expected > 1 or req.unit.level != Level.GRASSROOTS:
        statuses = rollup.unit_statuses(ctx.session, req.round, req.unit.id)
        missing = [s for s in statuses if s.status == rollup.MISSING]
        late = [s for s in statuses if s.status == rollup.LATE]
        if missing:
            lines.append(_("Not reported ({n}): {names}").format(n=len(missing), names=_names(missing)))
        if late:
            lines.append(_("Reported late ({n}): {names}").format(n=len(late), names=_names(late)))
        if roll.reviews is not None:
            for state, label in ((review.WAITING, _("Waiting for review ({n}): {names}")),
                                 (review.RETURNED, _("Returned ({n}): {names}"))):
                some = [s for s in statuses if s.review == state]
                if some:
                    lines.append(label.format(n=len(some), names=_names(some)))
    return lines


def _review_text(counts: ReviewCounts) -> str:
    return _("approved {a} · waiting {w} · returned {r}").format(a=counts.approved, w=counts.waiting,
                                                                 r=counts.returned)


def basis_line(roll: RoundRollup) -> str | None:
    """Which reports the figures count, stated beside them (rounds that require review)."""
    counts = roll.reviews
    if counts is None:
        return None
    if roll.approved_only:
        return _("<i>Figures count approved reports only ({a} of {s} submitted).</i>").format(
            a=counts.approved, s=counts.submitted)
    return _("<i>Figures count every submitted report; {a} of {s} approved ({share}).</i>").format(
        a=counts.approved, s=counts.submitted, share=_pct(counts.approved_share))


def outlier_lines(ctx: Ctx, req: Request, roll: RoundRollup) -> list[str]:
    """The figures of the scope that were far from the unit's earlier ones and confirmed (⚠)."""
    found = plausibility.outliers(ctx.session, req.round, registry.subtree_ids(ctx.session, req.unit.id))
    if not found:
        return []
    indicators = {r.indicator.id: r.indicator for r in roll.indicators}
    units = {u.id: u for u in ctx.session.exec(select(Unit).where(col(Unit.id).in_({u for u, _i, _v in found}))).all()}
    lines = ["", "⚠ " + _("{n} figure(s) far from the units' earlier reports, confirmed by the units:").format(n=len(found))]
    for unit_id, ind_id, value in found[:MAX_NAMES]:
        ind, unit = indicators.get(ind_id), units.get(unit_id)
        if ind is None or unit is None:
            continue
        lines.append("   – " + esc(short_name(unit.name)) + ": " + esc(reporting.indicator_name(ind)) + " "
                     + esc(reporting.format_indicator_value(ind, value)))
    return lines


def own_status_lines(ctx: Ctx, req: Request) -> list[str]:
    """For a chair: whether their unit has reported in the round."""
    sub = reporting.submission_of(ctx.session, req.round, req.unit)
    if sub is None:
        return ["", _("Your unit has not reported in this round yet. Type /baocao to report.")]
    when = format_datetime(sub.submitted_at, locale=current_language())
    text = (_("Your unit reported at {time}, after the deadline (reference {ref}).") if sub.late
            else _("Your unit reported at {time}, on time (reference {ref}).")).format(time=when, ref=sub.reference)
    if sub.review:
        text += " " + _("Review: {state}.").format(state=review.state_label(sub.review))
    return ["", text]


def indicator_line(result: IndicatorResult, single_unit: bool, today: date | None = None,
                   min_coverage: float = figures.DEFAULT_MIN_COVERAGE) -> list[str]:
    """One indicator of /tonghop: its figure ("Tỷ lệ" for a rate) with its window, the target and
    "đạt x% chỉ tiêu" (or "chưa đủ số liệu" below the coverage threshold), and the coverage."""
    ind = result.indicator
    name = esc(reporting.indicator_name(ind))
    name += " (" + esc(figures.window_text(result.span, today or local_today())) + ")"
    fig = result.total
    if single_unit and ind.rollup == Rollup.SHARE_YES:
        shown = _("no figures") if not fig.units else (_("Yes") if fig.yes else _("No"))
    elif result.percent and fig.value is not None:
        shown = _("rate {pct}").format(pct=_pct(fig.value))
    else:
        shown = _figure(result, fig.value)
    if ind.rollup == Rollup.RATIO and fig.denominator and not single_unit:
        shown += " (" + _("{num} of {den}").format(num=format_number(fig.total, locale=current_language()),
                                                   den=format_number(fig.denominator, locale=current_language())) + ")"
    line = f"• {name}: <b>{esc(shown)}</b>"
    target = result.target()
    if target is not None:
        period = result.targets.period.code if result.targets is not None else ""
        line += " — " + _("target {target} ({period})").format(target=_target_text(result, target), period=period)
        if fig.value is not None and not single_unit and not result.enough(min_coverage):
            line += ": " + _("not enough figures yet")
        else:
            reached = result.attainment()
            if reached is not None:
                line += ": " + _("reached {pct} of the target").format(pct=_pct(reached))
    if not single_unit:
        line += " · " + _("{units}/{expected} units have reported").format(units=fig.units, expected=result.expected)
    lines = [line]
    targets = result.targets
    if ind.rollup == Rollup.SHARE_YES and targets is not None and targets.sector_specific and not single_unit:
        for sector in sorted(set(targets.by_sector) | set(result.by_sector)):
            sf = result.by_sector.get(sector)
            if sf is None or not sf.units:
                continue
            sector_target = targets.for_sector(sector)
            extra = ""
            if sector_target is not None:
                extra = " — " + _("target {target}").format(target=_target_text(result, sector_target))
            lines.append("   – " + _("{sector}: {value} ({yes}/{units} units)").format(
                sector=esc(sector_label(sector)), value=_pct(sf.value), yes=sf.yes, units=sf.units) + extra)
    return lines


# --------------------------------------------------------------------------- which tree

# words asking for today's tree instead of the one the round's period had ("/tonghop 2025-Q2 hiện tại")
CURRENT_TREE_WORDS = (("co", "cau", "hien", "tai"), ("co", "cau", "hien", "nay"), ("hien", "tai"), ("hien", "nay"),
                      ("current",))


def _strip_current_tree_words(args: str) -> tuple[str, bool]:
    tokens = args.split()
    folded = [fold(t) for t in tokens]
    for words in CURRENT_TREE_WORDS:
        n = len(words)
        for i in range(len(tokens) - n + 1):
            if tuple(folded[i:i + n]) == words:
                return " ".join(tokens[:i] + tokens[i + n:]), True
    return args, False


def follows_tree_choice(command: Callable[[Ctx, str], None]) -> Callable[[Ctx, str], None]:
    """A staff command whose figures follow the tree of the round's period, or today's tree when
    the arguments say "hiện tại"."""

    @functools.wraps(command)
    def run(ctx: Ctx, args: str) -> None:
        rest, current = _strip_current_tree_words(args)
        if not current:
            return command(ctx, args)
        with rollup.current_tree():
            return command(ctx, rest)

    return run


def tree_lines(req: Request, roll: RoundRollup, command: str) -> list[str]:
    """Which tree the figures follow, when the organisation has changed since the round's period."""
    if roll.tree_day is not None:
        return ["", _("<i>Units are counted where they were on {date}; the organisation has changed since. "
                      "For today's structure: /{command} {round} {unit} hiện tại</i>").format(
            date=format_date(roll.tree_day), command=command, round=esc(req.round.code), unit=esc(req.unit.code))]
    if roll.tree_changed:
        return ["", _("<i>Units are counted where they are today, not where they were in {title}.</i>").format(
            title=esc(req.round.title))]
    return []


# --------------------------------------------------------------------------- commands


@follows_tree_choice
def cmd_summary(ctx: Ctx, args: str) -> None:
    """/tonghop [round] [unit]: completeness, then each indicator rolled up against its target."""
    req = parse_request(ctx, args, command="tonghop")
    if req is None:
        return
    roll = rollup.rollup_round(ctx.session, req.round, req.unit.id, approved_only=req.approved_only)
    single = _is_chair(ctx) or req.unit.level == Level.GRASSROOTS
    lines = _round_header(ctx, req, _("Summary"))
    lines += own_status_lines(ctx, req) if single else completeness_lines(ctx, req, roll)
    lines += ["", "<b>" + _("Results against targets") + "</b>"]
    basis = None if single else basis_line(roll)
    if basis:
        lines.append(basis)
    if not roll.indicators:
        lines.append(_("This round asks no indicators."))
    for result in roll.indicators:
        if result.expected:  # indicators that apply to no unit here (their level or sector) are left out
            lines += indicator_line(result, single, local_today(ctx.now), ctx.settings.min_coverage)
    lines += outlier_lines(ctx, req, roll)
    lines += tree_lines(req, roll, "tonghop")
    if not single:
        lines += ["", _("<i>Units without figures are counted as missing, not as zero; percentages are ratios of sums.</i>")]
    options: list[list[Option]] = []
    if not _is_chair(ctx):
        row = [o for o in (_command_option(ctx, _("Excel"), "xuatexcel", req),
                           _command_option(ctx, _("Chart"), "bieudo", req),
                           _command_option(ctx, _("Ranking"), "xephang", req)) if o is not None]
        options = [row] if row else []
        options += _basis_switch(ctx, req, roll, "tonghop")
        if not args.strip():
            options += _choices(ctx, req, "tonghop", list(roll.groups.values()))
    ctx.say("\n".join(lines), options)


def _choices(ctx: Ctx, req: Request, command: str, groups: list[Unit] | None = None) -> list[list[Option]]:
    """Without arguments: the other rounds and the scopes below, as buttons (codes need not be known).
    `groups`: the scopes the figures were grouped by (a past round's tree); else today's unions below."""
    rounds = ctx.session.exec(select(Round).where(Round.opens_at <= ctx.now, Round.id != req.round.id)
                              .order_by(col(Round.deadline_at).desc()).limit(4)).all()
    rows: list[list[Option]] = []
    row = [Option(r.title, f"/{command} {r.code} {req.unit.code}") for r in rounds
           if ctx.fits_callback(f"/{command} {r.code} {req.unit.code}")]
    rows += [row[i:i + 2] for i in range(0, len(row), 2)]
    if groups is None:
        groups = list(ctx.session.exec(select(Unit).where(Unit.parent_id == req.unit.id, Unit.active == True)  # noqa: E712
                                       .order_by(col(Unit.code))).all())
    scopes = [Option(short_name(u.name), f"/{command} {req.round.code} {u.code}") for u in groups
              if u.level != Level.GRASSROOTS and u.id != req.unit.id
              and ctx.fits_callback(f"/{command} {req.round.code} {u.code}")][:8]
    rows += [scopes[i:i + 2] for i in range(0, len(scopes), 2)]
    return rows


def _offer_others(ctx: Ctx, req: Request, args: str, command: str) -> None:
    """After a file sent for the default round and scope (no arguments): the others, as choices."""
    if args.strip():
        return
    options = _choices(ctx, req, command)
    if options:
        ctx.say(_("For another round or scope, choose:"), options)


@follows_tree_choice
def cmd_ranking(ctx: Ctx, args: str) -> None:
    """/xephang [round] [unit]: rank the upper-level unions (or the CĐCS of a union) by score."""
    req = parse_request(ctx, args, command="xephang")
    if req is None:
        return
    ranking = scoring.rank(ctx.session, req.round, req.unit.id, approved_only=req.approved_only)
    lines = _round_header(ctx, req, _("Emulation ranking"))
    options = [] if _is_chair(ctx) else _basis_switch(ctx, req, ranking.rollup, "xephang")
    if not _is_chair(ctx) and not args.strip():
        options += _choices(ctx, req, "xephang")
    indicators = _scored_indicators(ranking)
    if not indicators:
        lines += ["", _("No indicator of this round has a target to score against, so there is no ranking.")]
        ctx.say("\n".join(lines), options)
        return
    basis = None if _is_chair(ctx) else basis_line(ranking.rollup)  # a chair sees their own score, as /tonghop
    if basis:
        lines += ["", basis]
    legend = " · ".join(f"({n}) {esc(reporting.indicator_name(i))} ×{format_number(ranking.weights[i.code], locale=current_language())}"
                        for n, i in enumerate(indicators, start=1))
    number = {i.code: n for n, i in enumerate(indicators, start=1)}
    single = _is_chair(ctx) or req.unit.level == Level.GRASSROOTS
    if single:
        for entry in ranking.entries[:1]:
            lines += [""] + _entry_lines(entry, number, detail=True, ranked=False)
    else:
        lines += ["", _("Units under {unit}:").format(unit=esc(req.unit.name))]
        detail = len(ranking.entries) <= 12
        for entry in ranking.ranked[:MAX_LISTED]:
            lines += _entry_lines(entry, number, detail=detail, ranked=True)
        if len(ranking.ranked) > MAX_LISTED:
            lines.append(_("… and {n} more (the Excel file has every unit).").format(n=len(ranking.ranked) - MAX_LISTED))
        if ranking.unranked:
            lines += ["", _("Not ranked, no figures yet: {names}").format(
                names=", ".join(esc(short_name(e.unit.name)) for e in ranking.unranked[:MAX_NAMES]))]
    lines += ["", _("Indicators and weights: {legend}").format(legend=legend),
              _("<i>Score = weighted average of the share of each target reached (at most 100% per target). "
                "A target without figures counts 0; indicators without a target for the unit are left out; "
                "equal scores share a rank.</i>")]
    ctx.say("\n".join(lines), options)


def _basis_switch(ctx: Ctx, req: Request, roll: RoundRollup, command: str) -> list[list[Option]]:
    """For a round that requires review: a button to the same command on the other basis
    (approved reports only / every submitted report)."""
    if roll.reviews is None:
        return []
    switch = _command_option(ctx, _("All submitted") if req.approved_only else _("Approved only"), command, req,
                             approved_only=not req.approved_only)
    return [[switch]] if switch is not None else []


def _scored_indicators(ranking: scoring.Ranking) -> list[Indicator]:
    seen: dict[str, Indicator] = {}
    for entry in ranking.entries:
        for part in entry.parts:
            seen.setdefault(part.indicator.code, part.indicator)
    order = [r.indicator.code for r in ranking.rollup.indicators]
    return [seen[c] for c in order if c in seen]


def _entry_lines(entry: scoring.Entry, number: dict[str, int], *, detail: bool, ranked: bool) -> list[str]:
    score = entry.score
    shown = _("no figures") if score is None else _("{score} points").format(
        score=format_number(score, locale=current_language(), max_decimals=1))
    name = esc(short_name(entry.unit.name))
    if ranked and entry.rank is not None:
        line = f"{entry.rank}. {name} — <b>{shown}</b>"
        if entry.tied:
            line += " " + _("(tied)")
    else:
        line = f"{name}: <b>{shown}</b>"
    if entry.missing:
        line += " · " + _("missing {n}").format(n=len(entry.missing))
    lines = [line]
    if detail and entry.parts:
        parts = []
        for part in entry.parts:
            value = _("no figures") if part.missing else _pct(part.attainment)
            parts.append(f"({number.get(part.indicator.code, '?')}) {value}")
        lines.append("   " + " · ".join(parts))
    return lines


@follows_tree_choice
def cmd_export(ctx: Ctx, args: str) -> None:
    """/xuatexcel [round] [unit]: send the round's Excel workbook."""
    if _is_chair(ctx):
        ctx.say(_("Excel files are for upper-level unions and provincial staff. Type /tonghop to see your unit's figures."))
        return
    req = parse_request(ctx, args, command="xuatexcel")
    if req is None:
        return
    from bot.services import export_xlsx  # openpyxl loads on first use, not at every bot start

    content = export_xlsx.build_workbook(ctx.session, req.round, req.unit.id, ctx.settings.min_coverage,
                                         approved_only=req.approved_only)
    name = f"tonghop-{req.round.code}-{req.unit.code}.xlsx"
    caption = _("Excel: {title} — {unit}").format(title=esc(req.round.title), unit=esc(req.unit.name))
    ctx.say("", file=OutFile(file_name=name, content=content, kind="document", caption=caption))
    _offer_others(ctx, req, args, "xuatexcel")


@follows_tree_choice
def cmd_chart(ctx: Ctx, args: str) -> None:
    """/bieudo [round] [unit] [indicator codes]: send a chart of completeness and progress against targets."""
    if _is_chair(ctx):
        ctx.say(_("Charts are for upper-level unions and provincial staff. Type /tonghop to see your unit's figures."))
        return
    req = parse_request(ctx, args, allow_codes=True, command="bieudo")
    if req is None:
        return
    roll = rollup.rollup_round(ctx.session, req.round, req.unit.id, approved_only=req.approved_only)
    content = charts.render_round_chart(roll, req.codes or None)
    name = f"bieudo-{req.round.code}-{req.unit.code}.png"
    caption = _("Chart: {title} — {unit}").format(title=esc(req.round.title), unit=esc(req.unit.name))
    basis = basis_line(roll)
    if basis:
        caption += "\n" + basis
    ctx.say("", file=OutFile(file_name=name, content=content, kind="photo", caption=caption),
            options=_basis_switch(ctx, req, roll, "bieudo"))
    _offer_others(ctx, req, args, "bieudo")
