"""Restructuring the union tree: move, rename, merge and close units, keeping their history.

A restructure is a list of actions (from the `congdoan unit …` commands or one
`congdoan import restructure FILE`). It is planned first, against a simulation of the
tree in memory, so that a later line may rely on an earlier one (move the CĐCS of a
district, then close the district); the plan lists every consequence (people, targets,
open rounds, pending reminders) for `--dry-run`, and is applied all or nothing.

Submissions stay with the unit that made them; each change is a `UnitEvent` dated at
its effective day, so the tree of any past day can be rebuilt (see `bot/services/tree.py`).
Applying the same actions again changes nothing: every action that is already true is
a no-op.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from bot.clock import local_day_start, to_local
from bot.i18n import _, use_language
from bot.models import (
    ChatIdentity,
    Indicator,
    Level,
    Outbox,
    OutboxStatus,
    Period,
    Person,
    Role,
    Round,
    Target,
    Unit,
    UnitEvent,
)
from bot.services import audit, outbox
from bot.services.periods import DateParseError, parse_local_date
from bot.messages import esc
from bot.textvn import fold, format_date

log = logging.getLogger(__name__)

MOVE, RENAME, MERGE, CLOSE = "move", "rename", "merge", "close"
ACTIONS = (MOVE, RENAME, MERGE, CLOSE)
# What staff may type in the file's action column (folded: no diacritics, lower case).
ACTION_WORDS = {
    "move": MOVE, "chuyen": MOVE, "chuyen di": MOVE, "chuyen don vi": MOVE,
    "rename": RENAME, "doi ten": RENAME, "doi_ten": RENAME,
    "merge": MERGE, "sap nhap": MERGE, "sap_nhap": MERGE, "hop nhat": MERGE,
    "close": CLOSE, "giai the": CLOSE, "giai_the": CLOSE, "dong": CLOSE, "cham dut": CLOSE,
}
FILE_COLUMNS = ("action", "code", "from")
FILE_OPTIONAL_COLUMNS = ("to", "name", "rebind")
_LEVEL_RANK = {Level.PROVINCE.value: 0, Level.UPPER.value: 1, Level.GRASSROOTS.value: 2}
_YES = {"co", "yes", "y", "1", "true", "x"}
_NO = {"khong", "no", "n", "0", "false"}


@dataclass(frozen=True)
class Action:
    """One change asked for: `kind` of unit `code` from day `effective`."""

    kind: str
    code: str
    effective: date
    to: str = ""  # the new parent (move) or the surviving unit (merge)
    name: str = ""  # the new name (rename)
    rebind: bool = True  # merge: the chairs of the merged unit become chairs of the survivor
    line: int = 0  # the file line, 0 for a command


@dataclass
class PersonFate:
    person_id: int
    name: str
    role: str
    fate: str  # "stays" | "rebound" | "ended"


@dataclass
class Effect:
    """What one action changes, worked out before anything is written."""

    action: Action
    unit_id: int
    unit_code: str
    unit_name: str
    noop: bool = False
    old_parent_id: int | None = None
    new_parent_id: int | None = None
    survivor_id: int | None = None
    children_moved: list[str] = field(default_factory=list)  # codes moved under the survivor (merge)
    people: list[PersonFate] = field(default_factory=list)
    targets: list[tuple[str, str, str]] = field(default_factory=list)  # (indicator, period, fate)
    open_rounds: list[str] = field(default_factory=list)
    reminders_cancelled: list[int] = field(default_factory=list)


@dataclass
class Plan:
    effects: list[Effect] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changes(self) -> list[Effect]:
        return [e for e in self.effects if not e.noop]


@dataclass
class _Node:
    """A unit in the simulated tree."""

    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    active: bool
    merged_into_id: int | None


class _Tree:
    """The unit tree in memory, changed line by line while a restructure is planned."""

    def __init__(self, session: Session) -> None:
        self.nodes: dict[int, _Node] = {}
        self.by_code: dict[str, int] = {}
        for u in session.exec(select(Unit)).all():
            self.nodes[u.id] = _Node(u.id, u.code, u.name, u.level, u.parent_id, u.active, u.merged_into_id)
            self.by_code[u.code.upper()] = u.id

    def find(self, code: str) -> _Node | None:
        uid = self.by_code.get((code or "").strip().upper())
        return self.nodes.get(uid) if uid is not None else None

    def children(self, node_id: int) -> list[_Node]:
        return [n for n in self.nodes.values() if n.parent_id == node_id and n.active]

    def is_below(self, node_id: int, ancestor_id: int) -> bool:
        """True when `node_id` is `ancestor_id` or lies under it."""
        seen: set[int] = set()
        current: int | None = node_id
        while current is not None and current not in seen:
            if current == ancestor_id:
                return True
            seen.add(current)
            current = self.nodes[current].parent_id if current in self.nodes else None
        return False


# --------------------------------------------------------------------------- reading actions


def parse_action_row(values: dict[str, str], line: int, today: date) -> tuple[Action | None, list[str]]:
    """One line of a restructure file (or one command) as an Action, or the problems with it."""
    problems: list[str] = []
    kind = ACTION_WORDS.get(fold(values.get("action", "")).strip().replace("-", " "))
    if kind is None:
        problems.append(_("Unknown action \"{value}\": write move, rename, merge or close.")
                        .format(value=values.get("action", "")))
    code = (values.get("code") or "").strip()
    if not code:
        problems.append(_("The unit code is empty."))
    effective: date | None = None
    raw_date = (values.get("from") or "").strip()
    try:
        effective = parse_local_date(raw_date)
    except DateParseError:
        problems.append(_("The effective date \"{value}\" is not a date: write it as DD/MM/YYYY, e.g. 01/07/2025.")
                        .format(value=raw_date))
    if effective is not None and effective > today:
        problems.append(_("The effective date {date} is in the future: apply a change on or after the day it "
                          "takes effect.").format(date=format_date(effective)))
    to = (values.get("to") or "").strip()
    name = " ".join((values.get("name") or "").split())
    if kind in (MOVE, MERGE) and not to:
        problems.append(_("Say where the unit goes in the \"to\" column (the code of the new parent or of "
                          "the unit it merges into)."))
    if kind == RENAME and not name:
        problems.append(_("The new name is empty."))
    if len(name) > 300:
        problems.append(_("The new name is longer than 300 characters."))
    rebind = True
    raw_rebind = fold(values.get("rebind") or "").strip()
    if raw_rebind:
        if raw_rebind in _YES:
            rebind = True
        elif raw_rebind in _NO:
            rebind = False
        else:
            problems.append(_("Write \"có\" or \"không\" in the rebind column."))
    if problems or kind is None or effective is None:
        return None, problems
    return Action(kind=kind, code=code, effective=effective, to=to, name=name, rebind=rebind, line=line), []


def read_actions(path: str | Path, today: date) -> tuple[list[Action], list[tuple[int, str]]]:
    """The actions of a restructure file (CSV or XLSX), or every problem with it (line, message)."""
    from bot.services.imports import FILE_LINE, ImportFileError, read_table

    try:
        table = read_table(path)
    except ImportFileError as exc:
        return [], [(exc.line, exc.message)]
    missing = [c for c in FILE_COLUMNS if not table.has(c)]
    if missing:
        return [], [(FILE_LINE, _("The file has no column {columns}; the columns are: {expected}.").format(
            columns=", ".join(missing), expected=", ".join(FILE_COLUMNS + FILE_OPTIONAL_COLUMNS)))]
    actions: list[Action] = []
    errors: list[tuple[int, str]] = []
    for row in table.rows:
        action, problems = parse_action_row(row.values, row.line, today)
        errors.extend((row.line, p) for p in problems)
        if action is not None:
            actions.append(action)
    if not table.rows:
        errors.append((FILE_LINE, _("The file has no data rows.")))
    return actions, errors


# --------------------------------------------------------------------------- planning


def plan(session: Session, actions: list[Action], now: datetime) -> Plan:
    """Check every action against the tree as the earlier ones leave it; list their consequences."""
    result = Plan()
    tree = _Tree(session)
    for action in actions:
        problem = _simulate(tree, action, result)
        if problem:
            result.errors.append((action.line, problem))
    if result.ok:
        for effect in result.changes:
            _consequences(session, effect, now)
    return result


def _simulate(tree: _Tree, action: Action, result: Plan) -> str | None:
    node = tree.find(action.code)
    if node is None:
        return _("There is no unit with code {code}.").format(code=action.code)
    effect = Effect(action=action, unit_id=node.id, unit_code=node.code, unit_name=node.name,
                    old_parent_id=node.parent_id, new_parent_id=node.parent_id)
    if action.kind == CLOSE:
        if not node.active:
            if node.merged_into_id is not None:
                return _("{code} was merged into another unit; it cannot be closed again.").format(code=node.code)
            effect.noop = True
        else:
            open_children = tree.children(node.id)
            if open_children:
                return _("{code} still has {n} active unit(s) under it ({sample}): move or close them first "
                         "(earlier lines of the same file count).").format(
                    code=node.code, n=len(open_children), sample=", ".join(c.code for c in open_children[:5]))
            node.active = False
    elif action.kind == MERGE:
        survivor = tree.find(action.to)
        if survivor is None:
            return _("There is no unit with code {code}.").format(code=action.to)
        if survivor.id == node.id:
            return _("A unit cannot be merged into itself.")
        if not node.active:
            if node.merged_into_id == survivor.id:
                effect.noop = True
                effect.survivor_id = survivor.id
                result.effects.append(effect)
                return None
            return _("{code} is no longer active.").format(code=node.code)
        if not survivor.active:
            return _("{code} is no longer active: choose an active unit to merge into.").format(code=survivor.code)
        if survivor.level != node.level:
            return _("{code} and {other} are not on the same level: only units of one level can merge.").format(
                code=node.code, other=survivor.code)
        if tree.is_below(survivor.id, node.id):
            return _("{other} lies under {code}: it cannot absorb its own parent.").format(
                code=node.code, other=survivor.code)
        effect.survivor_id = survivor.id
        for child in tree.children(node.id):
            child.parent_id = survivor.id
            effect.children_moved.append(child.code)
        node.active = False
        node.merged_into_id = survivor.id
    elif action.kind == MOVE:
        parent = tree.find(action.to)
        if parent is None:
            return _("There is no unit with code {code}.").format(code=action.to)
        if not node.active:
            return _("{code} is no longer active.").format(code=node.code)
        if not parent.active:
            return _("{code} is no longer active: choose an active parent.").format(code=parent.code)
        if _LEVEL_RANK.get(parent.level, 9) >= _LEVEL_RANK.get(node.level, 9):
            return _("{parent} cannot be the parent of {code}: a parent must be on a higher level.").format(
                parent=parent.code, code=node.code)
        if tree.is_below(parent.id, node.id):
            return _("{parent} lies under {code}: that would make a loop.").format(parent=parent.code, code=node.code)
        if node.parent_id == parent.id:
            effect.noop = True
        node.parent_id = parent.id
        effect.new_parent_id = parent.id
    elif action.kind == RENAME:
        if not node.active:
            return _("{code} is no longer active.").format(code=node.code)
        if node.name == action.name:
            effect.noop = True
        node.name = action.name
    result.effects.append(effect)
    return None


def _consequences(session: Session, effect: Effect, now: datetime) -> None:
    """Fill in who and what an action touches: people, targets, open rounds, pending reminders."""
    kind = effect.action.kind
    people = session.exec(select(Person).where(Person.unit_id == effect.unit_id, Person.active == True)  # noqa: E712
                          .order_by(Person.id)).all()
    for person in people:
        if kind in (MOVE, RENAME):
            fate = "stays"
        elif kind == MERGE and effect.action.rebind and person.role == Role.CHAIR:
            fate = "rebound"
        else:
            fate = "ended"
        effect.people.append(PersonFate(person.id, person.full_name, person.role, fate))
    if kind in (MERGE, CLOSE):
        day = effect.action.effective
        rows = session.exec(
            select(Target, Indicator.code, Period.code)
            .join(Indicator, col(Indicator.id) == col(Target.indicator_id))
            .join(Period, col(Period.id) == col(Target.period_id))
            .where(Target.unit_id == effect.unit_id, col(Period.ends_on) >= day)
            .order_by(Period.code, Indicator.code)
        ).all()
        effect.targets = [(ind, per, "orphaned") for _t, ind, per in rows]
        from bot.services.reporting import in_audience

        unit = session.get(Unit, effect.unit_id)
        for rnd in session.exec(select(Round).where(Round.locked == False)  # noqa: E712
                                .order_by(Round.code)).all():
            if to_local(rnd.deadline_at).date() >= day and unit is not None and in_audience(session, rnd, unit):
                effect.open_rounds.append(rnd.code)
        effect.reminders_cancelled = pending_reminders_of(session, effect.unit_id)


def pending_reminders_of(session: Session, unit_id: int) -> list[int]:
    """Ids of the reminders still waiting in the outbox for a unit."""
    rows = session.exec(select(Outbox.id, Outbox.payload).where(
        Outbox.kind == "reminder", col(Outbox.status).in_([OutboxStatus.PENDING]))).all()
    found = []
    for row_id, payload in rows:
        skip = (payload or {}).get("skip_if_submitted") or []
        if len(skip) == 2 and skip[1] == unit_id:
            found.append(row_id)
    return found


# --------------------------------------------------------------------------- describing


def describe(session: Session, result: Plan) -> list[str]:
    """The plan as lines to print (dry run and after applying)."""
    names = {u.id: (u.code, u.name) for u in session.exec(select(Unit)).all()}

    def unit_label(uid: int | None) -> str:
        if uid is None:
            return _("(no parent)")
        code, name = names.get(uid, ("?", "?"))
        return f"{code} {name}"

    lines: list[str] = []
    for effect in result.effects:
        a = effect.action
        head = {
            MOVE: _("Move {unit}: {old} → {new}, from {date}."),
            RENAME: _("Rename {unit} to \"{name}\", from {date}."),
            MERGE: _("Merge {unit} into {new}, from {date}."),
            CLOSE: _("Close {unit}, from {date}."),
        }[a.kind].format(unit=f"{effect.unit_code} {effect.unit_name}", old=unit_label(effect.old_parent_id),
                         new=unit_label(effect.new_parent_id if a.kind == MOVE else effect.survivor_id),
                         name=a.name, date=format_date(a.effective))
        if effect.noop:
            lines.append(_("Already done, nothing changes: {action}").format(action=head))
            continue
        lines.append(head)
        if effect.children_moved:
            lines.append("  " + _("Units moved under the survivor: {codes}").format(codes=", ".join(effect.children_moved)))
        fates = {"stays": _("stays bound"), "rebound": _("re-bound to the surviving unit"),
                 "ended": _("loses this unit and is told")}
        for p in effect.people:
            lines.append("  " + _("{role} {name}: {fate}").format(
                role=_role_word(p.role), name=p.name or f"#{p.person_id}", fate=fates[p.fate]))
        for ind, per, _fate in effect.targets:
            lines.append("  " + _("Target {indicator} {period}: kept on the old unit, flagged as orphaned "
                                  "(import a target for the new unit if needed)").format(indicator=ind, period=per))
        for code in effect.open_rounds:
            lines.append("  " + _("Open round {round}: the unit leaves its audience").format(round=code))
        if effect.reminders_cancelled:
            lines.append("  " + _("Pending reminders cancelled: {n}").format(n=len(effect.reminders_cancelled)))
    return lines


def _role_word(role: str) -> str:
    return {Role.CHAIR: _("Chair"), Role.OFFICER: _("Officer"), Role.STAFF: _("Staff"),
            Role.ADMIN: _("Administrator")}.get(role, role)


# --------------------------------------------------------------------------- applying


def apply(session: Session, result: Plan, *, actor: str, now: datetime) -> int:
    """Write a checked plan: units, events, people, reminders, messages. Returns the changes made."""
    if not result.ok:
        raise ValueError("cannot apply a plan with errors")
    changed = 0
    for effect in result.changes:
        unit = session.get(Unit, effect.unit_id)
        if unit is None:
            continue
        a = effect.action
        at = local_day_start(a.effective)
        if a.kind == MOVE:
            session.add(UnitEvent(unit_id=unit.id, at=at, kind="moved", old_parent_id=unit.parent_id,
                                  new_parent_id=effect.new_parent_id, actor=actor))
            unit.parent_id = effect.new_parent_id
        elif a.kind == RENAME:
            session.add(UnitEvent(unit_id=unit.id, at=at, kind="renamed", old_name=unit.name,
                                  new_name=a.name, actor=actor))
            unit.name = a.name
        elif a.kind == MERGE:
            for code in effect.children_moved:
                child = session.exec(select(Unit).where(Unit.code == code)).one()
                session.add(UnitEvent(unit_id=child.id, at=at, kind="moved", old_parent_id=child.parent_id,
                                      new_parent_id=effect.survivor_id, actor=actor))
                child.parent_id = effect.survivor_id
                child.updated_at = now
            session.add(UnitEvent(unit_id=unit.id, at=at, kind="merged", merged_into_id=effect.survivor_id,
                                  actor=actor))
            unit.active = False
            unit.merged_into_id = effect.survivor_id
        elif a.kind == CLOSE:
            session.add(UnitEvent(unit_id=unit.id, at=at, kind="closed", actor=actor))
            unit.active = False
        unit.updated_at = now
        session.flush()
        _people_follow(session, effect, unit, now)
        for row_id in effect.reminders_cancelled:
            row = session.get(Outbox, row_id)
            if row is not None and row.status == OutboxStatus.PENDING:
                row.status = OutboxStatus.SKIPPED
                row.error = f"unit {unit.code} {a.kind}d"
        audit.record(session, f"unit.{a.kind}", entity="unit", entity_id=unit.id, actor=actor,
                     detail={"effective": a.effective.isoformat(), "to": a.to, "name": a.name,
                             "rebind": a.rebind})
        changed += 1
    return changed


def _people_follow(session: Session, effect: Effect, unit: Unit, now: datetime) -> None:
    """Re-bind or end the people of a merged or closed unit, and tell them in one message each."""
    if effect.action.kind not in (MERGE, CLOSE):
        return
    survivor = session.get(Unit, effect.survivor_id) if effect.survivor_id else None
    for fate in effect.people:
        person = session.get(Person, fate.person_id)
        if person is None:
            continue
        if fate.fate == "rebound" and survivor is not None:
            person.unit_id = survivor.id
        else:
            person.active = False
        identity = session.exec(select(ChatIdentity).where(ChatIdentity.person_id == person.id)
                                .order_by(col(ChatIdentity.id).desc())).first()
        if identity is None:
            continue
        with use_language(person.language):
            text = _message_for(effect, unit, survivor, fate.fate)
        event_key = f"restructure:{unit.id}:{effect.action.kind}:{effect.action.effective.isoformat()}:{person.id}"
        outbox.enqueue(session, [outbox.Push(key=event_key, kind="unit_change", person_id=person.id,
                                             channel=identity.channel, chat_id=identity.chat_id,
                                             payload={"text": text}, not_before=now)])


def _message_for(effect: Effect, unit: Unit, survivor: Unit | None, fate: str) -> str:
    day = format_date(effect.action.effective)
    name = esc(unit.name)
    if effect.action.kind == MERGE and survivor is not None:
        head = _("🏢 From {date}, {unit} is merged into {survivor}.").format(date=day, unit=name,
                                                                           survivor=esc(survivor.name))
        if fate == "rebound":
            return head + "\n" + _("You now report for {survivor}; your earlier reports stay on record. "
                                   "Type /menu to continue.").format(survivor=esc(survivor.name))
        return head + "\n" + _("Your access to {unit} has ended. Ask the provincial federation for a new "
                               "invite code if you take on another role.").format(unit=name)
    return _("🏢 From {date}, {unit} is closed. Your earlier reports stay on record; your access to this unit "
             "has ended. Ask the provincial federation for a new invite code if you take on another role.").format(
        date=day, unit=name)


def today_local(now: datetime) -> date:
    return to_local(now).date()
