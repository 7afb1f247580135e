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
