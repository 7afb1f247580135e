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
from bot.models import ChatIdentity, Outbox, Person, Round, Submission, Unit
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


def test_a_union_whose_units_all_reported_does_not_make_the_planner_read_everything(tmp_path, monkeypatch):
    eng = engine_with(tmp_path, "done.sqlite", 50)
    with session_scope(eng) as s:
        rnd = s.execute(select(Round)).scalars().one()
        u0 = s.execute(select(Unit.id).where(Unit.code == "U0")).scalar_one()
        for unit_id in s.execute(select(Unit.id).where(Unit.parent_id == u0)).scalars():
            s.add(Submission(round_id=rnd.id, unit_id=unit_id, reference=f"D{unit_id}"))
    with session_scope(eng) as s:
        assert reminders.run_planner(s, AFTER_DEADLINE) == 40 + 4 + 1  # no digest for U0's officer
    # the officer of U0 has no digest queued, yet the steady pass does not list every owing unit
    monkeypatch.setattr(reminders, "owing_units", lambda *a: pytest.fail("owing units read again"))
    with session_scope(eng) as s:
        assert reminders.plan_due(s, AFTER_DEADLINE, only_new=True) == []


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


def test_planner_and_large_notice_on_postgresql():
    from pg_databases import fresh_pg_database

    from bot.models import Notice, Person, Role
    from bot.services import notices

    with fresh_pg_database("planner") as url:
        upgrade(url)
        eng = make_engine(url)
        try:
            build(eng, 60, audience={"levels": ["grassroots"], "under": ["U1", "U2"], "sectors": ["public"]})
            first, new, again = planner_statements(eng)
            # 16 public CĐCS under U1/U2 (n % 5 in 1, 2 and n % 3 != 0), digests to those 2 officers and the staff
            assert new == 16 + 3 and again <= 8
            with session_scope(eng) as s:
                staff = s.execute(select(Person).where(Person.role == Role.STAFF)).scalars().one()
                notice = notices.save_draft(s, staff, None, body="Họp", file_id=None, file_name=None,
                                            audience={"kind": "chairs"}, requires_ack=False, send_at=None,
                                            now=AFTER_DEADLINE)
                assert notices.count_recipients(s, staff, {"kind": "chairs"}) == (60, 60)
                assert notices.start_queuing(s, notice.id, staff, total=60, reachable=60, progress_to=None,
                                             now=AFTER_DEADLINE) is not None
                notice_id = notice.id
            for _ in range(3):
                with session_scope(eng) as s:
                    notices.fill_chunk(s, notice_id, 25)
            with session_scope(eng) as s:
                assert notices.fill_chunk(s, notice_id, 25) is True
                assert s.get(Notice, notice_id).status == "queued"
                assert len(s.execute(select(Outbox.key).where(Outbox.kind == "notice")).all()) == 60
        finally:
            eng.dispose()


def outbox_rows(engine) -> list[tuple]:
    with Session(engine) as s:
        return sorted(s.execute(select(Outbox.key, Outbox.kind, Outbox.person_id, Outbox.channel, Outbox.chat_id,
                                       Outbox.payload, Outbox.status, Outbox.not_before)).all())


class Commits:
    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "commit", self._seen)

    def _seen(self, *args) -> None:
        self.count += 1


def test_a_new_step_is_queued_in_several_transactions_as_one_pass_would(tmp_path):
    from scheduler.planner_job import plan_once

    whole = engine_with(tmp_path, "whole.sqlite", 3000)
    chunked = engine_with(tmp_path, "chunked.sqlite", 3000)
    for eng in (whole, chunked):  # some units reported; one chair has a second chat (one push, to one chat)
        with session_scope(eng) as s:
            rnd = s.execute(select(Round)).scalars().one()
            for unit_id in s.execute(select(Unit.id).where(Unit.code.in_(["G000004", "G001500", "G002999"]))).scalars():
                s.add(Submission(round_id=rnd.id, unit_id=unit_id, reference=f"D{unit_id}"))
            chair = s.execute(select(Person).join(Unit, Unit.id == Person.unit_id)
                              .where(Unit.code == "G000999")).scalars().one()
            s.add(ChatIdentity(person_id=chair.id, channel="zalo", external_id="z999", chat_id="z999", reachable=True))
    one_pass = plan_once(whole, AFTER_DEADLINE, chunk=10_000)
    commits = Commits(chunked)
    assert plan_once(chunked, AFTER_DEADLINE, chunk=400) == one_pass == 2997 + 6
    assert commits.count >= 8  # 2.997 reminders in chunks of about 400, then the digests
    assert outbox_rows(chunked) == outbox_rows(whole)
    assert len({row[0] for row in outbox_rows(chunked)}) == one_pass
    assert plan_once(chunked, AFTER_DEADLINE, chunk=400) == 0  # idempotent


def test_a_planner_pass_that_crashes_between_chunks_resumes_without_duplicates(tmp_path):
    from scheduler.planner_job import plan_once

    whole = engine_with(tmp_path, "whole.sqlite", 2000)
    crashed = engine_with(tmp_path, "crashed.sqlite", 2000)
    one_pass = plan_once(whole, AFTER_DEADLINE)
    chunks = 0

    def crash_after_three() -> None:
        nonlocal chunks
        session.commit()
        chunks += 1
        if chunks == 3:
            raise RuntimeError("killed between chunks")

    with pytest.raises(RuntimeError):
        with session_scope(crashed) as session:
            reminders.run_planner(session, AFTER_DEADLINE, chunk=300, after_chunk=crash_after_three)
    with Session(crashed) as s:
        assert len(s.execute(select(Outbox.key)).all()) == 3 * 300 - 3  # three chunks of whole units stayed
    assert plan_once(crashed, AFTER_DEADLINE, chunk=300) == one_pass - (3 * 300 - 3)
    assert outbox_rows(crashed) == outbox_rows(whole)
