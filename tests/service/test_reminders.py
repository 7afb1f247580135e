"""The reminder planner over a whole round's life, with an injected clock (no HTTP)."""

from __future__ import annotations

import copy
from pathlib import Path
from datetime import date, datetime

import pytest
from sqlmodel import Session, select

from bot.clock import to_local, to_utc
from bot.db import make_engine, session_scope
from bot.models import ChatIdentity, Outbox, Round
from bot.services import outbox, reminders
from worlds import small_province, submit_directly
from sqlite_templates import build_template, copy_sqlite

OPENS, DEADLINE = date(2026, 12, 1), date(2026, 12, 18)  # the deadline is a Friday


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return to_utc(datetime(2026, month, day, hour, minute))


@pytest.fixture(scope="module")
def province(empty_template, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The small province built once per module: (its template file, the world's chat ids)."""
    path = tmp_path_factory.mktemp("province") / "province.sqlite"
    return path, build_template(empty_template, path, lambda eng: small_province(eng, opens=OPENS, deadline=DEADLINE))


@pytest.fixture
def engine(db_url, province):  # type: ignore[no-untyped-def]
    """The small province at db_url: a fresh copy of the module's template for each test."""
    copy_sqlite(province[0], Path(db_url.removeprefix("sqlite:///")))
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def world(engine, province):  # type: ignore[no-untyped-def]
    return copy.deepcopy(province[1])


def round_of(session: Session) -> Round:
    return session.exec(select(Round).where(Round.code == "R1")).one()


def test_step_times_follow_the_plan_and_quiet_hours(engine, world):
    with Session(engine) as s:
        rnd = round_of(s)
        plan = reminders.Plan.of(rnd)
        local = {step: to_local(reminders.step_time(rnd, step, plan)).strftime("%d/%m %H:%M") for step in plan.steps}
    # opening at midnight falls in quiet hours: 07:00 that morning
    assert local == {"open": "01/12 07:00", "-3@09:00": "15/12 09:00", "-1@09:00": "17/12 09:00",
                     "0@07:30": "18/12 07:30", "+1@09:00": "19/12 09:00", "+3@09:00": "21/12 09:00"}


def test_quiet_hours_and_sundays_move_steps_to_the_morning(engine, world):
    with Session(engine) as s:
        rnd = round_of(s)
        late = reminders.Plan(steps=("-1@22:30", "+2@06:00", "+2@09:00"), skip_sundays=True)
        times = [to_local(reminders.step_time(rnd, st, late)).strftime("%a %d/%m %H:%M") for st in late.steps]
    # 22:30 → 07:00 next day; 20/12 is a Sunday → Monday 07:00
    assert times == ["Fri 18/12 07:00", "Mon 21/12 07:00", "Mon 21/12 07:00"]


@pytest.mark.parametrize("when, step", [
    (at(30, 12, month=11), None),          # before the round opens
    (at(1, 6, 59), None),                  # opening day, still night
    (at(1, 7, 0), "open"),
    (at(15, 8, 59), "open"),
    (at(15, 9, 0), "-3@09:00"),
    (at(15, 22, 0), None),                 # quiet hours: nothing at night
    (at(16, 7, 0), "-3@09:00"),            # …and the next morning the same step is current
    (at(18, 7, 30), "0@07:30"),
    (at(19, 9, 0), "+1@09:00"),
    (at(28, 10, 0), "+3@09:00"),           # long after: only the last step
])
def test_current_step_over_the_rounds_life(engine, world, when, step):
    with Session(engine) as s:
        assert reminders.current_step(round_of(s), when) == step


def due_keys(engine, when):
    with Session(engine) as s:
        return reminders.plan_due(s, when)


def run(engine, when) -> int:
    with session_scope(engine) as s:
        return reminders.run_planner(s, when)


def test_only_units_that_owe_get_one_reminder_each_once(engine, world):
    when = at(15, 9, 0)
    due = due_keys(engine, when)
    assert len(due) == 15 and not any(d.is_digest for d in due)
    assert {d.unit_name for d in due} == {f"CĐCS số {n:02d}" for n in range(6, 21)}
    assert run(engine, when) == 15
    assert run(engine, when) == 0                      # the planner run twice sends nothing new
    assert run(engine, at(15, 9, 30)) == 0             # nor a later tick of the same step
    submit_directly(engine, "R1", "G06")
    assert run(engine, at(17, 9, 0)) == 14             # the next step skips the unit that reported
    with Session(engine) as s:
        keys = s.exec(select(Outbox.key).where(Outbox.key.like("rem|R1|-1@09:00|%"))).all()
        g06 = s.exec(select(ChatIdentity).where(ChatIdentity.external_id == str(world["chairs"]["G06"]))).one()
    assert len(keys) == 14 and not any(k.endswith(f"|{g06.person_id}") for k in keys)


def test_after_downtime_only_the_latest_step_is_sent(engine, world):
    # the bot was down from before the round opened until two days after the deadline
    run(engine, at(20, 10, 0))
    with Session(engine) as s:
        steps = {k.split("|")[2] for k in s.exec(select(Outbox.key)).all()}
    assert steps == {"+1@09:00"}


def test_after_the_deadline_one_digest_per_union_and_one_for_the_province(engine, world):
    due = due_keys(engine, at(19, 9, 0))
    digests = [d for d in due if d.is_digest]
    assert sorted(d.unit_name for d in digests) == ["LĐLĐ huyện U1", "LĐLĐ huyện U2", "LĐLĐ tỉnh Thử"]
    texts = {d.unit_name: d.push.payload["text"] for d in digests}
    assert "7 CĐCS thuộc LĐLĐ huyện U1 chưa nộp báo cáo (quá hạn 1 ngày)" in texts["LĐLĐ huyện U1"]
    u1_missing = [f"CĐCS số {n:02d}" for n in range(6, 13)]
    for name in u1_missing:
        assert name in texts["LĐLĐ huyện U1"]
    assert "CĐCS số 13" not in texts["LĐLĐ huyện U1"]
    assert "CĐCS số 05" not in texts["LĐLĐ huyện U1"]       # reported: not listed
    assert texts["LĐLĐ tỉnh Thử"].count("CĐCS số") == 15
    # the button reminds that union's units again
    assert digests[0].push.payload["options"][0][0][1].startswith("/nhaclai R1 ")


def test_unreachable_chair_is_not_reminded_but_reported(engine, world):
    with session_scope(engine) as s:
        outbox.mark_unreachable(s, "telegram", str(world["chairs"]["G07"]))
    due = due_keys(engine, at(19, 9, 0))
    reminded = {d.unit_name for d in due if not d.is_digest}
    assert "CĐCS số 07" not in reminded and len(reminded) == 14
    digest = next(d for d in due if d.is_digest and d.unit_name == "LĐLĐ huyện U1").push.payload["text"]
    assert "CĐCS số 07 — Chủ tịch 07 (không liên lạc được" in digest


def test_locked_round_sends_nothing(engine, world):
    with session_scope(engine) as s:
        rnd = round_of(s)
        rnd.locked = True
        s.add(rnd)
    assert due_keys(engine, at(15, 9, 0)) == []


def test_parse_steps_refuses_nonsense():
    assert reminders.parse_steps("open, -3@09:00;+1@9:30") == ["open", "-3@09:00", "+1@9:30"]
    for bad in ("tomorrow", "-3@25:00", "-3"):
        with pytest.raises(ValueError):
            reminders.parse_steps(bad)
