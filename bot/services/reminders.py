"""Reminder plans and the planner: what is due as of `now`, to whom, under which key.

A round's plan is data (Round.reminder_plan); defaults apply where it is empty. The
planner is a function of `now` and the database: it finds, per round, the most recent
step whose time has come (older missed steps are dropped, not sent late in a burst),
and the chairs of units that still owe a report. Outbox keys (round, step, unit, person)
make every reminder send-once, however often the planner runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlmodel import Session, col, select

from bot.clock import LOCAL_TZ, to_local, to_utc
from bot.i18n import _, ngettext, use_language
from bot.messages import esc
from bot.models import ChatIdentity, Level, Person, Role, Round, Submission, Unit
from bot.services import outbox, registry, reporting
from bot.textvn import format_date

DEFAULT_STEPS = ["open", "-3@09:00", "-1@09:00", "0@07:30", "+1@09:00", "+3@09:00"]
DEFAULT_QUIET = ("21:00", "07:00")
STEP_SHAPE = re.compile(r"^(open|[+-]?\d{1,2}@\d{1,2}:\d{2})$")


# ---- the plan (pure) ---------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    steps: tuple[str, ...] = tuple(DEFAULT_STEPS)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(7, 0)
    skip_sundays: bool = False

    @classmethod
    def of(cls, rnd: Round) -> "Plan":
        data = rnd.reminder_plan or {}
        quiet = data.get("quiet") or DEFAULT_QUIET
        return cls(
            steps=tuple(data.get("steps") or DEFAULT_STEPS),
            quiet_start=parse_clock(quiet[0]),
            quiet_end=parse_clock(quiet[1]),
            skip_sundays=bool(data.get("skip_sundays", False)),
        )

    def as_json(self) -> dict:
        return {"steps": list(self.steps), "quiet": [self.quiet_start.strftime("%H:%M"),
                                                     self.quiet_end.strftime("%H:%M")],
                "skip_sundays": self.skip_sundays}


def parse_clock(text: str) -> time:
    hours, minutes = text.strip().split(":")
    return time(int(hours), int(minutes))


def parse_steps(text: str) -> list[str]:
    """'open,-3@09:00,0@07:30,+1@09:00' → validated steps; raises ValueError on a bad one."""
    steps = [s.strip() for s in re.split(r"[,;\s]+", text) if s.strip()]
    for step in steps:
        if not STEP_SHAPE.match(step):
            raise ValueError(step)
        if step != "open":
            parse_clock(step.split("@")[1])
    return steps


def in_quiet_hours(local: datetime, plan: Plan) -> bool:
    t = local.time()
    if plan.quiet_start > plan.quiet_end:  # spans midnight (21:00–07:00)
        return t >= plan.quiet_start or t < plan.quiet_end
    return plan.quiet_start <= t < plan.quiet_end


def shift_out_of_quiet(local: datetime, plan: Plan) -> datetime:
    """Move a local time that falls in quiet hours (or on a skipped Sunday) to the next allowed morning."""
    if in_quiet_hours(local, plan):
        day = local.date()
        if plan.quiet_start > plan.quiet_end and local.time() >= plan.quiet_start:
            day += timedelta(days=1)
        local = datetime.combine(day, plan.quiet_end, LOCAL_TZ)
    if plan.skip_sundays and local.weekday() == 6:
        local = datetime.combine(local.date() + timedelta(days=1), plan.quiet_end, LOCAL_TZ)
    return local


def step_time(rnd: Round, step: str, plan: Plan) -> datetime:
    """When a step fires (UTC), after moving it out of quiet hours."""
    if step == "open":
        local = to_local(rnd.opens_at)
    else:
        offset, clock = step.split("@")
        deadline_day = to_local(rnd.deadline_at).date()
        local = datetime.combine(deadline_day + timedelta(days=int(offset)), parse_clock(clock), LOCAL_TZ)
    return to_utc(shift_out_of_quiet(local, plan))


def step_days(step: str) -> int:
    return 0 if step == "open" else int(step.split("@")[0])


def current_step(rnd: Round, now: datetime) -> str | None:
    """The most recent step of the round's plan whose time has come, if any (None at night)."""
    plan = Plan.of(rnd)
    if in_quiet_hours(to_local(now), plan):
        return None
    due = [(step_time(rnd, s, plan), s) for s in plan.steps]
    due = [(t, s) for t, s in due if t <= now]
    return max(due)[1] if due else None


# ---- who still owes ------------------------------------------------------------------


@dataclass
class Owing:
    unit: Unit
    chairs: list[tuple[Person, ChatIdentity | None]] = field(default_factory=list)


def owing_units(session: Session, rnd: Round) -> list[Owing]:
    """Units in the round's audience with no confirmed submission, with their chairs."""
    done = set(session.exec(select(Submission.unit_id).where(Submission.round_id == rnd.id)).all())
    units = session.exec(select(Unit).where(Unit.active == True).order_by(Unit.code)).all()  # noqa: E712
    owing = [Owing(u) for u in units if u.id not in done and reporting.in_audience(session, rnd, u)]
    by_unit = {o.unit.id: o for o in owing}
    if not by_unit:
        return []
    chairs = session.exec(
        select(Person, ChatIdentity)
        .join(ChatIdentity, col(ChatIdentity.person_id) == col(Person.id), isouter=True)
        .where(col(Person.unit_id).in_(list(by_unit)), Person.role == Role.CHAIR, Person.active == True)  # noqa: E712
        .order_by(Person.id)
    ).all()
    for person, identity in chairs:
        by_unit[person.unit_id].chairs.append((person, identity))
    return owing


def upper_union(session: Session, unit: Unit, cache: dict[int, Unit | None]) -> Unit | None:
    """The nearest upper-level union above a CĐCS."""
    if unit.parent_id in cache:
        return cache[unit.parent_id]
    found = next((a for a in registry.ancestors(session, unit) if a.level == Level.UPPER), None)
    cache[unit.parent_id] = found
    return found


def people_of(session: Session, unit_id: int, role: Role) -> list[tuple[Person, ChatIdentity]]:
    return list(session.exec(
        select(Person, ChatIdentity).join(ChatIdentity, col(ChatIdentity.person_id) == col(Person.id))
        .where(Person.unit_id == unit_id, Person.role == role, Person.active == True)  # noqa: E712
        .order_by(Person.id)
    ).all())


# ---- what to send ------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """One reminder or digest that is due (what `congdoan plan-reminders` prints)."""

    push: outbox.Push
    round_code: str
    step: str
    unit_name: str  # the unit reminded, or the union the digest is for
    person_name: str
    is_digest: bool = False
    already_queued: bool = False


def days_phrase(rnd: Round, now: datetime) -> str:
    days = (to_local(rnd.deadline_at).date() - to_local(now).date()).days
    if days > 0:
        return ngettext("{n} day left", "{n} days left", days).format(n=days)
    if days == 0:
        return _("the deadline is today")
    return ngettext("{n} day late", "{n} days late", -days).format(n=-days)


def reminder_payload(rnd: Round, unit: Unit, now: datetime, lang: str | None) -> dict:
    with use_language(lang):
        text = "\n".join([
            _("⏰ <b>Report reminder: {title}</b>").format(title=esc(rnd.title)),
            _("Deadline: {date} ({left}).").format(date=format_date(rnd.deadline_at), left=days_phrase(rnd, now)),
            _("{unit} has not submitted this report yet.").format(unit=esc(unit.name)),
            _("Press the button below or type /baocao to report."),
        ])
        return {"text": text, "options": [[[_("Report now"), f"/baocao {rnd.code}"]]],
                "skip_if_submitted": [rnd.id, unit.id]}


def digest_payload(rnd: Round, union: Unit, missing: list[Owing], now: datetime, lang: str | None) -> dict:
    with use_language(lang):
        lines = [
            _("📋 <b>{title}</b> — deadline {date}").format(title=esc(rnd.title), date=format_date(rnd.deadline_at)),
            ngettext("{n} unit of {union} has not reported ({late}):",
                     "{n} units of {union} have not reported ({late}):", len(missing)).format(
                n=len(missing), union=esc(union.name), late=days_phrase(rnd, now)),
        ]
        for i, owing in enumerate(missing, start=1):
            names = ", ".join(esc(p.full_name or _("(no name)")) for p, _i in owing.chairs) or _("no chair registered")
            unreachable = any(ident is not None and not ident.reachable for _p, ident in owing.chairs)
            line = f"{i}. {esc(owing.unit.name)} — {names}"
            if unreachable:
                line += " " + _("(unreachable: blocked the bot)")
            lines.append(line)
        return {"text": "\n".join(lines),
                "options": [[[_("Remind them all again"), f"/nhaclai {rnd.code} {union.code}"]]]}


def plan_due(session: Session, now: datetime) -> list[Due]:
    """Everything due as of `now` across all open rounds (pure reading; nothing is written)."""
    result: list[Due] = []
    rounds = session.exec(select(Round).where(Round.locked == False, Round.opens_at <= now)  # noqa: E712
                          .order_by(Round.code)).all()
    for rnd in rounds:
        step = current_step(rnd, now)
        if step is None:
            continue
        owing = owing_units(session, rnd)
        for o in owing:
            for person, identity in o.chairs:
                if identity is None or not identity.reachable:
                    continue
                push = outbox.Push(
                    key=f"rem|{rnd.code}|{step}|{o.unit.id}|{person.id}", kind="reminder",
                    person_id=person.id, channel=identity.channel, chat_id=identity.chat_id,
                    payload=reminder_payload(rnd, o.unit, now, person.language), not_before=now)
                result.append(Due(push, rnd.code, step, o.unit.name, person.full_name))
        if step_days(step) > 0 and owing:
            result += digests(session, rnd, step, owing, now)
    queued = outbox.existing_keys(session, [d.push.key for d in result])
    return [Due(d.push, d.round_code, d.step, d.unit_name, d.person_name, d.is_digest, d.push.key in queued)
            for d in result]


def digests(session: Session, rnd: Round, step: str, owing: list[Owing], now: datetime) -> list[Due]:
    """One digest per upper-level union to its officers, and one for the province to its staff."""
    cache: dict[int, Unit | None] = {}
    by_union: dict[int, tuple[Unit, list[Owing]]] = {}
    by_province: dict[int, tuple[Unit, list[Owing]]] = {}
    for o in owing:
        union = upper_union(session, o.unit, cache)
        if union is not None:
            by_union.setdefault(union.id, (union, []))[1].append(o)
        chain = registry.ancestors(session, o.unit)
        province = next((a for a in chain if a.level == Level.PROVINCE), None)
        if province is not None:
            by_province.setdefault(province.id, (province, []))[1].append(o)
    result = []
    for groups, role in ((by_union, Role.OFFICER), (by_province, Role.STAFF)):
        for union, missing in groups.values():
            for person, identity in people_of(session, union.id, role):
                if not identity.reachable:
                    continue
                push = outbox.Push(
                    key=f"dig|{rnd.code}|{step}|{union.id}|{person.id}", kind="digest",
                    person_id=person.id, channel=identity.channel, chat_id=identity.chat_id,
                    payload=digest_payload(rnd, union, missing, now, person.language), not_before=now)
                result.append(Due(push, rnd.code, step, union.name, person.full_name, is_digest=True))
    return result


def run_planner(session: Session, now: datetime) -> int:
    """Enqueue everything due as of `now`; return how many pushes were new."""
    return outbox.enqueue(session, [d.push for d in plan_due(session, now) if not d.already_queued])


def manual_reminders(session: Session, rnd: Round, units_under: set[int], now: datetime, requested_by: int) -> int:
    """Remind again, now, the chairs of owing units within a subtree (an officer's button)."""
    stamp = to_local(now).strftime("%Y%m%d%H%M")
    pushes = []
    for o in owing_units(session, rnd):
        if o.unit.id not in units_under:
            continue
        for person, identity in o.chairs:
            if identity is None or not identity.reachable:
                continue
            pushes.append(outbox.Push(
                key=f"man|{rnd.code}|{stamp}|{o.unit.id}|{person.id}", kind="reminder", person_id=person.id,
                channel=identity.channel, chat_id=identity.chat_id,
                payload=reminder_payload(rnd, o.unit, now, person.language), not_before=now))
    return outbox.enqueue(session, pushes)


def still_owes(session: Session, payload: dict) -> bool:
    """For a queued reminder: does its unit still owe the report (checked right before sending)?"""
    target = payload.get("skip_if_submitted")
    if not target:
        return True
    round_id, unit_id = target
    return session.exec(select(Submission.id).where(Submission.round_id == round_id,
                                                    Submission.unit_id == unit_id)).first() is None

