"""Reminders and escalation through real HTTP: `congdoan plan-reminders --at …` plans, the running bot sends."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.db import make_engine, session_scope, upgrade
from bot.models import Outbox, Round
from e2e import BotProcess, province_users, wait_until
from worlds import small_province, submit_directly

pytestmark = pytest.mark.e2e

CONGDOAN = str(Path(sys.executable).parent / "congdoan")
OPENS, DEADLINE = date(2026, 12, 1), date(2026, 12, 18)


@pytest.fixture
def world_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'rem.sqlite'}"
    upgrade(url)
    world = small_province(make_engine(url), opens=OPENS, deadline=DEADLINE)
    return url, world


@pytest.fixture
def sender_bot(fake, world_db, tmp_path):
    url, _world = world_db
    process = BotProcess(fake, url, tmp_path / "bot.log", CONGDOAN_PLANNER_INTERVAL="0").start()
    yield process
    process.stop()


def remind(url: str, at: str, *extra: str) -> str:
    result = subprocess.run([CONGDOAN, "plan-reminders", "--at", at, "--send-now", *extra], env=dict(os.environ, DATABASE_URL=url),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def pending(url: str) -> int:
    with Session(make_engine(url)) as s:
        return len(s.exec(select(Outbox).where(Outbox.status.in_(["pending", "sending"]))).all())


def test_missing_chairs_get_exactly_one_reminder(fake, world_db, sender_bot):
    url, world = world_db
    chairs, _officers, _staff = province_users(fake, world)
    out = remind(url, "15/12/2026 09:00")
    assert "15 tin cần gửi" in out
    wait_until(lambda: pending(url) == 0, what="the outbox to drain")
    fake.wait_idle()
    counts = {code: len(user.messages()) for code, user in chairs.items()}
    assert counts == {code: (0 if int(code[1:]) <= 5 else 1) for code in chairs}
    message = chairs["G06"].messages()[0]
    assert "Nhắc báo cáo: Đợt thử R1" in message.text and "còn 3 ngày" in message.text
    assert "Báo cáo ngay" in chairs["G06"].buttons()

    assert "0 tin cần gửi" in remind(url, "15/12/2026 09:00")  # again: nothing new
    submit_directly(make_engine(url), "R1", "G06")
    remind(url, "17/12/2026 09:00")
    wait_until(lambda: pending(url) == 0)
    fake.wait_idle()
    assert len(chairs["G06"].messages()) == 1                  # reported meanwhile: nothing more
    assert len(chairs["G07"].messages()) == 2
    fake.assert_clean()


def test_reminder_button_opens_the_report(fake, world_db, sender_bot):
    from e2e import press, texts

    url, world = world_db
    chairs, _o, _s = province_users(fake, world)
    remind(url, "15/12/2026 09:00")
    wait_until(lambda: len(chairs["G08"].messages()) == 1)
    with session_scope(make_engine(url)) as s:  # travel back: make the round open as of today
        rnd = s.exec(select(Round).where(Round.code == "R1")).one()
        rnd.opens_at = utcnow() - timedelta(days=1)
        s.add(rnd)
    replies = press(chairs["G08"], "Báo cáo ngay")
    assert "Đợt thử R1" in texts(replies) and "mục 1/1" in texts(replies)
    fake.assert_clean()


def test_quiet_hours_send_nothing_until_seven(fake, world_db, sender_bot):
    url, world = world_db
    chairs, _o, _s = province_users(fake, world)
    assert "0 tin cần gửi" in remind(url, "15/12/2026 22:30")
    time.sleep(1.0)
    assert all(not u.messages() for u in chairs.values())
    assert "15 tin cần gửi" in remind(url, "16/12/2026 07:00")
    wait_until(lambda: pending(url) == 0)
    fake.wait_idle()
    assert sum(len(u.messages()) for u in chairs.values()) == 15


def test_officers_get_one_digest_with_exactly_their_missing_units(fake, world_db, sender_bot):
    url, world = world_db
    chairs, officers, staff = province_users(fake, world)
    remind(url, "19/12/2026 09:00")
    wait_until(lambda: pending(url) == 0)
    fake.wait_idle()
    for code, missing in (("U1", range(6, 13)), ("U2", range(13, 21))):
        messages = officers[code].messages()
        assert len(messages) == 1
        listed = {line.split(". ", 1)[1].split(" — ")[0] for line in messages[0].text.splitlines()
                  if line[:1].isdigit() and ". " in line}
        assert listed == {f"CĐCS số {n:02d}" for n in missing}
        assert "Nhắc lại tất cả" in officers[code].buttons()
    assert staff.messages()[0].text.count("CĐCS số") == 15
    # the officer's button reminds their own units again, and only those
    from e2e import press

    before = {c: len(u.messages()) for c, u in chairs.items()}
    press(officers["U2"], "Nhắc lại tất cả")
    wait_until(lambda: pending(url) == 0)
    fake.wait_idle()
    grew = {c for c, u in chairs.items() if len(u.messages()) > before[c]}
    assert grew == {f"G{n:02d}" for n in range(13, 21)}
    fake.assert_clean()


def test_429_and_403_every_other_reminder_arrives_once(fake, world_db, sender_bot):
    url, world = world_db
    chairs, _officers, staff = province_users(fake, world)
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, times=3)
    fake.block_user(world["chairs"]["G09"])
    remind(url, "15/12/2026 09:00")
    wait_until(lambda: pending(url) == 0, timeout=30)
    fake.wait_idle()
    for code, user in chairs.items():
        expected = 0 if int(code[1:]) <= 5 or code == "G09" else 1
        assert len(user.messages()) == expected, code
    assert not [v for v in fake.violations if "retry" in v.lower()]  # retry_after was honoured
    # later, the staff digest reports the blocked chair as unreachable
    remind(url, "19/12/2026 09:00")
    wait_until(lambda: pending(url) == 0)
    fake.wait_idle()
    digest = staff.messages()[-1].text
    assert "CĐCS số 09 — Chủ tịch 09 (không liên lạc được" in digest
    out = subprocess.run([CONGDOAN, "outbox"], env=dict(os.environ, DATABASE_URL=url), capture_output=True,
                         text=True).stdout
    assert "1 lỗi" in out


def test_sigkill_while_draining_loses_nothing(fake, world_db, tmp_path):
    url, world = world_db
    chairs, _o, _s = province_users(fake, world)
    fake.latency = 0.15  # slow sends so the kill lands mid-drain
    process = BotProcess(fake, url, tmp_path / "bot.log", CONGDOAN_PLANNER_INTERVAL="0").start()
    remind(url, "15/12/2026 09:00")
    wait_until(lambda: sum(len(u.messages()) for u in chairs.values()) >= 4)
    process.kill()
    delivered_before = sum(len(u.messages()) for u in chairs.values())
    assert delivered_before < 15, "the kill came too late to test anything"
    fake.latency = 0
    process.start()
    wait_until(lambda: pending(url) == 0)
    fake.wait_idle()
    process.stop()
    counts = [len(u.messages()) for c, u in chairs.items() if int(c[1:]) > 5]
    # every pending reminder arrived; the sender claims one row at a time, so at most the
    # single send in flight at the kill can arrive twice
    assert all(n >= 1 for n in counts)
    assert sum(counts) - 15 <= 1
