"""Reminder plans and the planner: what is due as of `now`, to whom, under which key.

A round's plan is data (Round.reminder_plan); defaults apply where it is empty. The
planner is a function of `now` and the database: it finds, per round, the most recent
step whose time has come (older missed steps are dropped, not sent late in a burst),
and the chairs of units that still owe a report. Outbox keys (round, step, unit, person)
make every reminder send-once, however often the planner runs.
"""

from __future__ import annotations

from collections import Counter

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import String, and_, cast, exists, literal, or_, select as sa_select, true
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from bot.clock import LOCAL_TZ, to_local, to_utc
from bot.i18n import _, ngettext, use_language
from bot.limits import limits_of
from bot.messages import Option, Reply, esc, reply_to_json
from bot.models import ChatIdentity, Level, Outbox, Person, Role, Round, Submission, Unit
from bot.services import outbox, registry
from bot.services.round_audience import audience_clauses
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


# ---- who still owes (plain rows, found in SQL) ----------------------------------------


@dataclass(frozen=True)
class UnitRow:
    id: int
    code: str
    name: str
    parent_id: int | None = None


@dataclass(frozen=True)
class ChairRow:
    """A chair of an owing unit and one of their chats (channel None: no chat bound)."""

    person_id: int
    full_name: str
    language: str | None
    channel: str | None
    chat_id: str | None
    reachable: bool | None

    @property
    def can_receive(self) -> bool:
        return self.channel is not None and bool(self.reachable)


@dataclass
class Owing:
    unit: UnitRow
    chairs: list[ChairRow] = field(default_factory=list)


def _owing_select(rnd: Round, new_key_prefix: str | None = None, *, by_id: bool = False) -> Any:
    """One SELECT of the owing units of a round with their chairs' chats (outer joins), by unit
    code (`by_id`: by unit id, which SQLite reads in order from its level index, so that a
    keyset chunk `Unit.id > x … LIMIT n` stops after n rows instead of sorting all of them).

    With `new_key_prefix`, only rows whose reminder key (prefix + unit id + "|" + person id)
    is not in the outbox yet: the already-queued majority never leaves the database.
    """
    chairs = aliased(Person)
    ident = aliased(ChatIdentity)
    query = (
        sa_select(Unit.id, Unit.code, Unit.name, Unit.parent_id, chairs.id, chairs.full_name, chairs.language,
                  ident.channel, ident.chat_id, ident.reachable)
        .select_from(Unit)
        .outerjoin(chairs, and_(chairs.unit_id == Unit.id, chairs.role == Role.CHAIR, chairs.active == true()))
        .outerjoin(ident, ident.person_id == chairs.id)
        .where(*audience_clauses(rnd))
        .where(~exists().where(Submission.round_id == rnd.id, Submission.unit_id == Unit.id))
        .order_by(Unit.id if by_id else Unit.code, chairs.id, ident.id)
    )
    if new_key_prefix is not None:
        key = (literal(new_key_prefix, String) + cast(Unit.id, String) + literal("|", String)
               + cast(chairs.id, String))
        query = query.where(chairs.id.is_not(None), ident.id.is_not(None), ident.reachable == true(),
                            ~exists().where(Outbox.key == key))
    return query


def _group(rows: Iterable[Any]) -> list[Owing]:
    owing: list[Owing] = []
    for unit_id, code, name, parent_id, person_id, full_name, language, channel, chat_id, reachable in rows:
        if not owing or owing[-1].unit.id != unit_id:
            owing.append(Owing(UnitRow(unit_id, code, name, parent_id)))
        if person_id is not None:
            owing[-1].chairs.append(ChairRow(person_id, full_name, language, channel, chat_id, reachable))
    return owing


def owing_units(session: Session, rnd: Round) -> list[Owing]:
    """Units in the round's audience with no confirmed submission, with their chairs (one query)."""
    return one_chat_each(session, _group(session.execute(_owing_select(rnd))))


def one_chat_each(session: Session, owing: list[Owing]) -> list[Owing]:
    """Keep one chat per chair: the one their pushes go to (a person may use several channels)."""
    counts: dict[int, int] = {}
    for o in owing:
        for c in o.chairs:
            counts[c.person_id] = counts.get(c.person_id, 0) + 1
    several = sorted(pid for pid, n in counts.items() if n > 1)
    if not several:
        return owing
    chosen = {pid: (i.channel, i.chat_id) for pid, i in registry.push_identities(session, several).items()}
    for o in owing:
        o.chairs = [c for c in o.chairs if c.person_id not in chosen or (c.channel, c.chat_id) == chosen[c.person_id]]
    return owing


@dataclass(frozen=True)
class Tree:
    """The inner units (those with units below them): id → (parent id, level, code, name)."""

    inner: dict[int, tuple[int | None, str, str, str]]

    @classmethod
    def load(cls, session: Session) -> "Tree":
        parents = sa_select(Unit.parent_id).where(Unit.parent_id.is_not(None))  # type: ignore[union-attr]
        rows = session.execute(sa_select(Unit.id, Unit.parent_id, Unit.level, Unit.code, Unit.name)
                               .where(Unit.id.in_(parents)))  # type: ignore[union-attr]
        return cls({r[0]: (r[1], r[2], r[3], r[4]) for r in rows})

    def nearest(self, parent_id: int | None, level: str) -> UnitRow | None:
        """The nearest unit of `level` at or above `parent_id` (cycles in bad data end the walk)."""
        seen: set[int] = set()
        while parent_id is not None and parent_id not in seen and parent_id in self.inner:
            seen.add(parent_id)
            up, lvl, code, name = self.inner[parent_id]
            if lvl == level:
                return UnitRow(parent_id, code, name)
            parent_id = up
        return None


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


def reminder_payload(rnd: Round, unit: UnitRow | Unit, now: datetime, lang: str | None, *,
                     buttons: bool = True) -> dict:
    with use_language(lang):
        text = "\n".join([
            _("⏰ <b>Report reminder: {title}</b>").format(title=esc(rnd.title)),
            _("Deadline: {date} ({left}).").format(date=format_date(rnd.deadline_at), left=days_phrase(rnd, now)),
            _("{unit} has not submitted this report yet.").format(unit=esc(unit.name)),
            _("Press the button below or type /baocao to report.") if buttons else _("Type /baocao to report."),
        ])
        return reply_to_json(Reply(text=text, options=[[Option(_("Report now"), f"/baocao {rnd.code}")]],
                                   numbered=False), skip_if_submitted=[rnd.id, unit.id])


def digest_payload(rnd: Round, union: UnitRow, missing: list[Owing], now: datetime, lang: str | None) -> dict:
    with use_language(lang):
        lines = [
            _("📋 <b>{title}</b> — deadline {date}").format(title=esc(rnd.title), date=format_date(rnd.deadline_at)),
            ngettext("{n} unit of {union} has not reported ({late}):",
                     "{n} units of {union} have not reported ({late}):", len(missing)).format(
                n=len(missing), union=esc(union.name), late=days_phrase(rnd, now)),
        ]
        for i, owing in enumerate(missing, start=1):
            names = ", ".join(esc(c.full_name or _("(no name)")) for c in owing.chairs) or _("no chair registered")
            unreachable = any(c.channel is not None and not c.reachable for c in owing.chairs)
            line = f"{i}. {esc(owing.unit.name)} — {names}"
            if unreachable:
                line += " " + _("(unreachable: blocked the bot)")
            lines.append(line)
        return reply_to_json(Reply(text="\n".join(lines), numbered=False, options=[
            [Option(_("Remind them all again"), f"/nhaclai {rnd.code} {union.code}")]]))


PLAN_CHUNK = 2000  # chair chats planned (and inserted) per chunk of a planner pass


def plan_due(session: Session, now: datetime, *, only_new: bool = False) -> list[Due]:
    """Everything due as of `now` across all open rounds (pure reading; nothing is written).

    With `only_new`, what is already in the outbox is left out in SQL, so a tick of a step
    that was queued earlier reads almost nothing (the planner's every-minute pass).
    """
    if only_new:
        return [due for chunk in plan_new(session, now) for due in chunk]
    result: list[Due] = []
    tree: Tree | None = None
    for rnd, step in _stepping_rounds(session, now):
        owing_all = owing_units(session, rnd)
        result += _reminders_of(rnd, step, owing_all, now)
        if step_days(step) > 0 and owing_all:
            tree = tree or Tree.load(session)
            result += digests(session, rnd, step, owing_all, now, tree)
    queued = outbox.existing_keys(session, [d.push.key for d in result])
    return [Due(d.push, d.round_code, d.step, d.unit_name, d.person_name, d.is_digest, d.push.key in queued)
            for d in result]


def _stepping_rounds(session: Session, now: datetime) -> list[tuple[Round, str]]:
    """The open rounds with a step due as of `now`, with that step."""
    rounds = session.exec(select(Round).where(Round.locked == False, Round.opens_at <= now)  # noqa: E712
                          .order_by(Round.code)).all()
    return [(rnd, step) for rnd in rounds if (step := current_step(rnd, now)) is not None]


def reminder_push(rnd: Round, unit: UnitRow, chair: ChairRow, key: str, now: datetime,
                  not_before: datetime | None = None) -> outbox.Push:
    """One chair's reminder of a round (the planner's, the dashboard's and /nhaclai's), under `key`."""
    return outbox.Push(key=key, kind="reminder", person_id=chair.person_id, channel=chair.channel or "",
                       chat_id=chair.chat_id or "",
                       payload=reminder_payload(rnd, unit, now, chair.language,
                                                buttons=limits_of(chair.channel or "").buttons),
                       not_before=not_before or now)


def _reminders_of(rnd: Round, step: str, owing: list[Owing], now: datetime) -> list[Due]:
    """The planner's reminders of a step to the reachable chairs of the owing units."""
    prefix = f"rem|{rnd.code}|{step}|"
    return [Due(reminder_push(rnd, o.unit, chair, f"{prefix}{o.unit.id}|{chair.person_id}", now),
                rnd.code, step, o.unit.name, chair.full_name)
            for o in owing for chair in o.chairs if chair.can_receive]


def _new_owing_chunk(session: Session, rnd: Round, prefix: str, after: int,
                     size: int) -> tuple[list[Owing], int | None]:
    """The next owing units (by id, after `after`) with chair chats not reminded under `prefix`
    yet, about `size` rows of them, whole units only; and the id to continue after (None: done)."""
    query = _owing_select(rnd, prefix, by_id=True).where(Unit.id > after)
    rows = list(session.execute(query.limit(size)))
    if len(rows) < size:
        return one_chat_each(session, _group(rows)), None
    last = rows[-1][0]
    whole = [r for r in rows if r[0] != last]
    if not whole:  # one unit with `size` rows or more: take all of that unit's rows
        whole = list(session.execute(_owing_select(rnd, prefix, by_id=True).where(Unit.id == last)))
    return one_chat_each(session, _group(whole)), whole[-1][0]


def plan_new(session: Session, now: datetime, chunk: int = PLAN_CHUNK) -> Iterator[list[Due]]:
    """The planner's pass in chunks: what is due as of `now` and not in the outbox yet, about
    `chunk` reminders at a time (keyset over unit ids), then each round's digests. Nothing is
    held from one chunk to the next but a unit id, so the caller may insert and commit each
    chunk before asking for the next; a pass stopped between chunks and run again plans only
    what is still missing (outbox keys are unique)."""
    tree: Tree | None = None
    for rnd, step in _stepping_rounds(session, now):
        prefix = f"rem|{rnd.code}|{step}|"
        after: int | None = 0
        while after is not None:
            owing, after = _new_owing_chunk(session, rnd, prefix, after, chunk)
            due = _reminders_of(rnd, step, owing, now)
            if due:
                yield due
        if step_days(step) > 0:
            tree = tree or Tree.load(session)
            due = digests(session, rnd, step, None, now, tree, only_new=True)
            if due:
                yield due


def digest_recipients(session: Session) -> list[tuple[Any, ...]]:
    """Reachable officers of upper-level unions and staff of provinces, with their chats (one query)."""
    rows = session.execute(
        sa_select(Person.id, Person.full_name, Person.language, Person.unit_id, Person.role,
                  ChatIdentity.channel, ChatIdentity.chat_id)
        .join(ChatIdentity, ChatIdentity.person_id == Person.id)
        .join(Unit, Unit.id == Person.unit_id)
        .where(Person.active == true(), ChatIdentity.reachable == true(),
               or_(and_(Person.role == Role.OFFICER, Unit.level == Level.UPPER),
                   and_(Person.role == Role.STAFF, Unit.level == Level.PROVINCE)))
        .order_by(Person.id, ChatIdentity.id)
    )
    rows = list(rows)
    counts = Counter(r[0] for r in rows)
    several = sorted(pid for pid, n in counts.items() if n > 1)
    if not several:
        return rows
    chosen = {pid: (i.channel, i.chat_id) for pid, i in registry.push_identities(session, several).items()}
    return [r for r in rows if r[0] not in chosen or (r[5], r[6]) == chosen[r[0]]]


def owing_unions(session: Session, rnd: Round, tree: Tree) -> set[int]:
    """Ids of the upper unions and provinces above at least one owing unit (one query of distinct parents)."""
    owing = sa_select(Unit.parent_id).where(
        *audience_clauses(rnd), ~exists().where(Submission.round_id == rnd.id, Submission.unit_id == Unit.id)
    ).distinct()
    found: set[int] = set()
    for (parent_id,) in session.execute(owing):
        for level in (Level.UPPER, Level.PROVINCE):
            union = tree.nearest(parent_id, level)
            if union is not None:
                found.add(union.id)
    return found


def digests(session: Session, rnd: Round, step: str, owing: list[Owing] | None, now: datetime, tree: Tree,
            *, only_new: bool = False) -> list[Due]:
    """One digest per upper-level union to its officers, and one for the province to its staff.

    The recipients and their keys are looked at first; the owing units are read (when not
    given) only if some digest is still to be queued.
    """
    recipients = digest_recipients(session)
    key = lambda r: f"dig|{rnd.code}|{step}|{r[3]}|{r[0]}"  # noqa: E731
    if only_new:
        queued = outbox.existing_keys(session, [key(r) for r in recipients])
        recipients = [r for r in recipients if key(r) not in queued]
        if recipients:  # a union whose units all reported gets no digest: its officers stay "new"
            with_owing = owing_unions(session, rnd, tree)
            recipients = [r for r in recipients if r[3] in with_owing]
    if not recipients:
        return []
    if owing is None:
        owing = owing_units(session, rnd)
    by_union: dict[int, tuple[UnitRow, list[Owing]]] = {}
    by_province: dict[int, tuple[UnitRow, list[Owing]]] = {}
    for o in owing:
        union = tree.nearest(o.unit.parent_id, Level.UPPER)
        if union is not None:
            by_union.setdefault(union.id, (union, []))[1].append(o)
        province = tree.nearest(o.unit.parent_id, Level.PROVINCE)
        if province is not None:
            by_province.setdefault(province.id, (province, []))[1].append(o)
    result = []
    for groups, role in ((by_union, Role.OFFICER), (by_province, Role.STAFF)):
        for union, missing in groups.values():
            for r in recipients:
                person_id, full_name, language, unit_id, person_role, channel, chat_id = r
                if unit_id != union.id or person_role != role:
                    continue
                push = outbox.Push(
                    key=key(r), kind="digest", person_id=person_id, channel=channel, chat_id=chat_id,
                    payload=digest_payload(rnd, union, missing, now, language), not_before=now)
                result.append(Due(push, rnd.code, step, union.name, full_name, is_digest=True))
    return result


def run_planner(session: Session, now: datetime, *, chunk: int = PLAN_CHUNK,
                after_chunk: Callable[[], None] | None = None) -> int:
    """Enqueue everything due as of `now`; return how many pushes were new. `after_chunk` runs
    after each chunk is inserted (the planner job commits there: each chunk its own transaction)."""
    new = 0
    for due in plan_new(session, now, chunk):
        new += outbox.enqueue(session, [d.push for d in due])
        if after_chunk is not None:
            after_chunk()
    return new


def run_planner_as_of(session: Session, now: datetime, real_now: datetime, *,
                      dry_run: bool = False) -> tuple[list[Due], int]:
    """The planner as of a chosen time (`congdoan plan-reminders --at`, the playground's clock):
    everything due then, and how many new pushes were queued to go at once (a time-travelling
    `now` in the future must not hold them back)."""
    from dataclasses import replace

    due = plan_due(session, now)
    if dry_run:
        return due, 0
    send_from = min(now, real_now)
    return due, outbox.enqueue(session, [replace(d.push, not_before=send_from) for d in due if not d.already_queued])


def manual_reminders(session: Session, rnd: Round, units_under: set[int], now: datetime, requested_by: int) -> int:
    """Remind again, now, the chairs of owing units within a subtree (an officer's button)."""
    stamp = to_local(now).strftime("%Y%m%d%H%M")
    pushes = []
    for o in owing_units(session, rnd):
        if o.unit.id not in units_under:
            continue
        for chair in o.chairs:
            if not chair.can_receive:
                continue
            pushes.append(reminder_push(rnd, o.unit, chair, f"man|{rnd.code}|{stamp}|{o.unit.id}|{chair.person_id}",
                                        now))
    return outbox.enqueue(session, pushes)


def latest_step(rnd: Round, now: datetime) -> str:
    """The most recent step of the round's plan whose time has come ("open" before any)."""
    plan = Plan.of(rnd)
    due = [(step_time(rnd, s, plan), s) for s in plan.steps]
    due = [(t, s) for t, s in due if t <= now]
    return max(due)[1] if due else "open"


@dataclass(frozen=True)
class Reminded:
    queued: int  # new reminders put in the outbox
    already: int  # chairs already reminded at this step (by the planner or an earlier press)
    unreachable: int  # owing units' chairs without a reachable chat
    send_at: datetime | None = None  # pressed in quiet hours: when the reminders will go (UTC); None: now


def remind_owing(session: Session, rnd: Round, units_under: set[int], now: datetime) -> Reminded:
    """Remind the chairs of owing units within a subtree under the planner's keys for the round's
    latest step (the web dashboard's button): pressing twice, or after the planner's pass of the
    same step, sends nobody a second reminder. A press in quiet hours is sent the next morning."""
    plan = Plan.of(rnd)
    prefix = f"rem|{rnd.code}|{latest_step(rnd, now)}|"
    not_before = max(now, to_utc(shift_out_of_quiet(to_local(now), plan)))
    pushes, unreachable = [], 0
    for o in owing_units(session, rnd):
        if o.unit.id not in units_under:
            continue
        for chair in o.chairs:
            if not chair.can_receive:
                unreachable += 1
                continue
            pushes.append(reminder_push(rnd, o.unit, chair, f"{prefix}{o.unit.id}|{chair.person_id}", now, not_before))
    queued = outbox.enqueue(session, pushes)
    return Reminded(queued=queued, already=len(pushes) - queued, unreachable=unreachable,
                    send_at=not_before if not_before > now else None)


def still_owes(session: Session, payload: dict) -> bool:
    """For a queued reminder: does its unit still owe the report (checked right before sending)?"""
    target = payload.get("skip_if_submitted")
    if not target:
        return True
    round_id, unit_id = target
    return session.exec(select(Submission.id).where(Submission.round_id == round_id,
                                                    Submission.unit_id == unit_id)).first() is None

