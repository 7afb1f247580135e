"""Restructuring while the bot runs: chairs of closed or merged units are told once, moved ones carry on."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.db import make_engine, upgrade
from bot.models import Outbox, Person, Unit
from bot.services import registry
from cli_runner import congdoan
from e2e import BotProcess, press, province_users, say, texts, wait_until
from worlds import add_test_round, small_province, submit_directly, submitted

pytestmark = pytest.mark.e2e


@pytest.fixture
def world_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'tree.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    world = small_province(engine, opens=date(2026, 11, 1), deadline=date(2027, 1, 20))
    # a round of the third quarter, closed before the restructure; all of U1's twelve CĐCS reported
    add_test_round(engine, "R0", opens=date(2026, 7, 1), deadline=date(2026, 10, 10), indicators=["DV_TONG"],
                   period_code="2026-Q3")
    for n in range(1, 13):
        submit_directly(engine, "R0", f"G{n:02d}", value=10)
    return url, world


def pending(url: str) -> int:
    with Session(make_engine(url)) as s:
        return len(s.exec(select(Outbox).where(Outbox.status.in_(["pending", "sending"]))).all())


def test_closed_and_merged_chairs_are_told_once_and_a_moved_chair_keeps_reporting(fake, world_db, tmp_path):
    url, world = world_db
    chairs, officers, _staff = province_users(fake, world)
    bot = BotProcess(fake, url, tmp_path / "bot.log", CONGDOAN_PLANNER_INTERVAL="0").start()
    try:
        plan = tmp_path / "restructure.csv"
        plan.write_text("action,code,to,from,rebind\n"
                        "move,G06,U2,01/12/2026,\n"
                        "move,G07,U2,01/12/2026,\n"
                        "merge,G19,G18,01/12/2026,có\n"
                        "close,G20,,01/12/2026,\n", encoding="utf-8")
        dry = congdoan(url, "import", "restructure", str(plan), "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert pending(url) == 0 and not chairs["G20"].messages()
        done = congdoan(url, "import", "restructure", str(plan))
        assert done.returncode == 0, done.stderr
        again = congdoan(url, "import", "restructure", str(plan))  # applying twice sends nothing more
        assert again.returncode == 0, again.stderr
        wait_until(lambda: pending(url) == 0, what="the outbox to drain")
        fake.wait_idle()
        assert len(chairs["G20"].messages()) == 1
        assert "đã giải thể" in chairs["G20"].messages()[0].text
        assert len(chairs["G19"].messages()) == 1
        assert "CĐCS số 18" in chairs["G19"].messages()[0].text
        assert chairs["G06"].messages() == [] and chairs["G01"].messages() == []

        # the moved chair reports as before, without doing anything
        say(chairs["G06"], "/baocao R1")
        say(chairs["G06"], "45")
        assert "Đã nhận báo cáo" in texts(press(chairs["G06"], "Gửi"))
        assert submitted(make_engine(url), "R1", "G06") == {"DV_TONG": 45}

        # the closed unit's chair is a stranger now: asked for an invite code, shown nothing
        reply = texts(say(chairs["G20"], "/baocao"))
        assert "mã mời" in reply.lower()

        # the old union's officer no longer sees the moved units; the new one does
        with Session(make_engine(url)) as s:
            u1_officer = s.exec(select(Person).where(Person.full_name == "Cán bộ U1")).one()
            u2_officer = s.exec(select(Person).where(Person.full_name == "Cán bộ U2")).one()
            g06 = s.exec(select(Unit).where(Unit.code == "G06")).one()
            assert g06.id not in registry.visible_unit_ids(s, u1_officer)
            assert g06.id in registry.visible_unit_ids(s, u2_officer)
        # ... in the chat too: the current round of U1 has ten CĐCS left; U2 has eight (+2 moved in,
        # one merged away, one closed)
        assert "/10 đơn vị đã nộp" in texts(say(officers["U1"], "/tonghop R1"))
        assert "/8 đơn vị đã nộp" in texts(say(officers["U2"], "/tonghop R1"))
        # staff still see the third quarter as it was: U1 with its twelve CĐCS and their 120 members
        q3 = texts(say(_staff, "/tonghop R0 U1"))
        assert "12/12 đơn vị đã nộp" in q3 and "120 người" in q3
        assert "cơ cấu tổ chức ngày 30/09/2026" in q3
        now = texts(say(_staff, "/tonghop R0 U1 hiện tại"))
        assert "10/10 đơn vị đã nộp" in now and "100 người" in now and "theo cơ cấu hiện nay" in now
        fake.assert_clean()
    finally:
        bot.stop()
