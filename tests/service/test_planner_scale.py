"""The reminder planner at scale: a bounded number of SQL statements, whatever the number of
units, and the SQL audience equal to the per-unit rule."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import event, select
from sqlmodel import Session

from big_world import build
from bot.clock import to_utc
from bot.db import make_engine, session_scope, upgrade
from bot.models import Outbox, Round, Submission, Unit
from bot.services import reminders, reporting

AFTER_DEADLINE = to_utc(datetime(2026, 12, 19, 9, 0))  # step +1@09:00: reminders and digests


def engine_with(tmp_path, name: str, units: int, audience: dict | None = None):
    url = f"sqlite:///{tmp_path / name}"
    upgrade(url)
    eng = make_engine(url)
    build(eng, units, audience=audience)
    return eng


class Statements:
    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args, **kwargs) -> None:
        self.count += 1


def planner_statements(engine) -> tuple[int, int, int]:
    """(statements of a first pass, pushes it queued, statements of a second pass of the same step)."""
    counter = Statements(engine)
    with session_scope(engine) as s:
        first_new = reminders.run_planner(s, AFTER_DEADLINE)
    first, counter.count = counter.count, 0
    with session_scope(engine) as s:
        assert reminders.run_planner(s, AFTER_DEADLINE) == 0
    return first, first_new, counter.count


def test_planner_statements_do_not_grow_with_units(tmp_path):
    small = engine_with(tmp_path, "small.sqlite", 50)
    large = engine_with(tmp_path, "large.sqlite", 1200)
    small_first, small_new, small_again = planner_statements(small)
    large_first, large_new, large_again = planner_statements(large)
    # every chair reminded, one digest per union officer (5) and one for the provincial staff
    assert (small_new, large_new) == (50 + 6, 1200 + 6)
    # the inserts come in chunks of 500 rows; everything else is a fixed number of queries
    assert large_first - small_first <= 2  # the inserts come in chunks of 500 rows
    assert large_again == small_again <= 8
    with Session(large) as s:
        assert len(s.exec(select(Outbox.key).where(Outbox.kind == "reminder")).all()) == 1200


@pytest.mark.parametrize("audience", [
    {"levels": ["grassroots"], "sectors": ["enterprise"]},
    {"levels": ["grassroots"], "under": ["U1", "U3"]},
    {"levels": ["grassroots", "upper"], "under": ["U2"], "sectors": ["public"]},
    {"levels": ["grassroots"], "under": ["P"]},
])
def test_sql_audience_equals_the_per_unit_rule(tmp_path, audience):
    eng = engine_with(tmp_path, "aud.sqlite", 60, audience=audience)
    with session_scope(eng) as s:
        rnd = s.execute(select(Round)).scalars().one()
        some = s.execute(select(Unit).where(Unit.code.in_(["G000003", "G000007"]))).scalars().all()
        for unit in some:
            s.add(Submission(round_id=rnd.id, unit_id=unit.id, reference=f"REF{unit.id}"))
    with Session(eng) as s:
        rnd = s.execute(select(Round)).scalars().one()
        done = set(s.execute(select(Submission.unit_id)).scalars().all())
        units = s.execute(select(Unit).where(Unit.active == True).order_by(Unit.code)).scalars().all()  # noqa: E712
        expected = [u.code for u in units if u.id not in done and reporting.in_audience(s, rnd, u)]
        got = [o.unit.code for o in reminders.owing_units(s, rnd)]
    assert got == expected and expected
