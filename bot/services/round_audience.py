"""A round's audience as SQL: the units asked to report, without loading any of them.

`reporting.in_audience` answers for one unit in Python; `audience_units` is the same rule
as one SELECT (levels, sectors, and `under` as a recursive CTE over parent links), for
code that must look at every unit of a round — the reminder planner at national scale.
"""

from __future__ import annotations

from sqlalchemy import Select, select, true
from sqlalchemy.sql.elements import ColumnElement

from bot.models import Round, Unit


def audience_clauses(rnd: Round) -> list[ColumnElement[bool]]:
    """WHERE clauses on `Unit` equal to `reporting.in_audience` for this round."""
    audience = rnd.audience or {}
    levels = audience.get("levels") or ["grassroots"]
    clauses: list[ColumnElement[bool]] = [Unit.level.in_(levels), Unit.active == true()]  # type: ignore[attr-defined]
    sectors = audience.get("sectors") or []
    if sectors:
        clauses.append(Unit.sector.in_(sectors))  # type: ignore[union-attr]
    under = audience.get("under") or []
    if under:
        clauses.append(Unit.id.in_(subtree_of_codes(under)))  # type: ignore[union-attr]
    return clauses


def subtree_of_codes(codes: list[str]) -> Select:
    """SELECT of the ids of the units with these codes and every unit below them (recursive CTE)."""
    tree = select(Unit.id).where(Unit.code.in_(codes)).cte("audience_tree", recursive=True)  # type: ignore[attr-defined]
    child = select(Unit.id).join(tree, Unit.parent_id == tree.c.id)
    tree = tree.union(child)  # UNION, not UNION ALL: a cycle in bad data ends the recursion
    return select(tree.c.id)
