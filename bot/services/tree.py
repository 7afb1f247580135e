"""The union tree as it was on a given day, rebuilt from the units' history (UnitEvent).

The `unit` table holds today's tree; every move, merge and closure is a dated event.
Going back from today, undoing each event dated after the day asked for, gives the
tree of that day: which parent each unit had and whether it was still active. Roll-ups
of past periods and questions about history use it, so figures reported under a district
federation stay under it for the periods before the district ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from bot.clock import local_day_start
from bot.models import Unit, UnitEvent


@dataclass(frozen=True)
class TreeOnDay:
    """Parent and activity of every unit on one day."""

    parent: dict[int, int | None]
    active: dict[int, bool]

    def children(self) -> dict[int | None, list[int]]:
        out: dict[int | None, list[int]] = {}
        for unit_id, parent_id in self.parent.items():
            out.setdefault(parent_id, []).append(unit_id)
        return out

    def subtree(self, root_id: int, *, active_only: bool = True) -> set[int]:
        """A unit and every unit under it on that day."""
        kids = self.children()
        found = {root_id}
        frontier = [root_id]
        while frontier:
            nxt = [c for p in frontier for c in kids.get(p, []) if c not in found]
            found.update(nxt)
            frontier = nxt
        if active_only:
            found = {u for u in found if self.active.get(u, False) or u == root_id}
        return found


def tree_on(session: Session, day: date) -> TreeOnDay:
    """The tree in force on `day`: changes effective on that day count, later ones are undone."""
    parent: dict[int, int | None] = {}
    active: dict[int, bool] = {}
    for unit_id, parent_id, is_active in session.exec(select(Unit.id, Unit.parent_id, Unit.active)).all():
        parent[unit_id] = parent_id
        active[unit_id] = bool(is_active)
    cutoff = local_day_start(day + timedelta(days=1))
    later = session.exec(select(UnitEvent).where(UnitEvent.at >= cutoff)
                         .order_by(col(UnitEvent.at).desc(), col(UnitEvent.id).desc())).all()
    for event in later:
        if event.kind == "moved":
            parent[event.unit_id] = event.old_parent_id
        elif event.kind in ("merged", "closed", "deactivated"):
            active[event.unit_id] = True
        elif event.kind == "reactivated":
            active[event.unit_id] = False
    return TreeOnDay(parent=parent, active=active)


def changed_since(session: Session, day: date) -> bool:
    """Whether any move, merge or closure took effect after `day` (then that day's tree differs)."""
    cutoff = local_day_start(day + timedelta(days=1))
    return session.exec(select(UnitEvent.id).where(UnitEvent.at >= cutoff,
                                                   col(UnitEvent.kind).in_(TREE_KINDS)).limit(1)).first() is not None


TREE_KINDS = ("moved", "merged", "closed", "deactivated", "reactivated")
_ACTIVITY_KINDS = ("merged", "closed", "deactivated", "reactivated")


def units_on(day: date):  # type: ignore[no-untyped-def]
    """SQL: the `unit` table as it was on `day` — same columns, with the parent and the
    activity of that day (the first change after the day tells what it undid).

    The SQL counterpart of `tree_on`, for the roll-ups' recursive walk of a past period.
    """
    from sqlalchemy import and_, case, func, literal
    from sqlalchemy import select as sa_select

    unit, event = Unit.__table__, UnitEvent.__table__
    cutoff = local_day_start(day + timedelta(days=1))

    def first_after(kinds: tuple[str, ...], name: str):  # type: ignore[no-untyped-def]
        order = func.row_number().over(partition_by=event.c.unit_id, order_by=(event.c.at, event.c.id))
        ranked = (sa_select(event.c.unit_id, event.c.kind, event.c.old_parent_id, order.label("rn"))
                  .where(event.c.at >= cutoff, event.c.kind.in_(kinds)).subquery(f"{name}_ranked"))
        return sa_select(ranked.c.unit_id, ranked.c.kind, ranked.c.old_parent_id).where(ranked.c.rn == 1).subquery(name)

    moved = first_after(("moved",), "moved_after")
    activity = first_after(_ACTIVITY_KINDS, "activity_after")
    parent = case((moved.c.unit_id.is_not(None), moved.c.old_parent_id), else_=unit.c.parent_id)
    active = case((activity.c.kind == "reactivated", literal(False)),
                  (activity.c.kind.is_not(None), literal(True)), else_=unit.c.active)
    columns = [c for c in unit.c if c.name not in ("parent_id", "active")]
    return (sa_select(*columns, parent.label("parent_id"), active.label("active"))
            .select_from(unit.outerjoin(moved, moved.c.unit_id == unit.c.id)
                         .outerjoin(activity, activity.c.unit_id == unit.c.id))
            .subquery("unit_then"))
