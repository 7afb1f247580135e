"""The real `congdoan run` on bad days (issue 10, points 1 and 2): a database locked by
another process for longer than the busy timeout, and a Bot API answering 502 for a while.
Every reminder arrives once afterwards, and `congdoan outbox` tells what happened."""

from __future__ import annotations

import sqlite3
import time
from datetime import date

import pytest
from sqlmodel import Session, select

from bot.db import make_engine, upgrade
from bot.models import Outbox
from cli_runner import congdoan
from e2e import BotProcess, province_users, wait_until
from worlds import small_province

pytestmark = pytest.mark.e2e

OPENS, DEADLINE = date(2026, 12, 1), date(2026, 12, 18)
OWING = [f"G{n:02d}" for n in range(6, 21)]  # the 15 CĐCS of small_province that have not reported


@pytest.fixture
def world_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'bad.sqlite'}"
    upgrade(url)
    world = small_province(make_engine(url), opens=OPENS, deadline=DEADLINE)
    return url, world


def open_rows(url: str) -> int:
    with Session(make_engine(url)) as s:
        return len(s.exec(select(Outbox).where(Outbox.status.in_(["pending", "sending"]))).all())


def plan(url: str) -> None:
    result = congdoan(url, "plan-reminders", "--at", "15/12/2026 09:00", "--send-now")
    assert result.returncode == 0 and "15 tin cần gửi" in result.stdout, result.stdout + result.stderr


def test_a_long_write_lock_delays_reminders_and_the_bot_keeps_sending(fake, world_db, tmp_path):
    url, world = world_db
    chairs, _officers, _staff = province_users(fake, world)
    plan(url)
    lock = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=5, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # an import holding the write lock, longer than the bot's busy timeout
    bot = BotProcess(fake, url, tmp_path / "bot.log", CONGDOAN_DB_BUSY_TIMEOUT="0.5").start()
    try:
        time.sleep(3.0)  # several busy timeouts pass
        assert sum(len(u.messages()) for u in chairs.values()) == 0
        assert bot.proc is not None and bot.proc.poll() is None
        lock.execute("COMMIT")
        lock.close()
        wait_until(lambda: open_rows(url) == 0, timeout=30, what="the reminders after the lock")
        fake.wait_idle()
        assert {code: len(chairs[code].messages()) for code in OWING} == {code: 1 for code in OWING}
        assert "Task exception was never retrieved" not in bot.log()
        assert bot.log().count("database is locked") >= 1
        wait_until(lambda: "chưa có" not in congdoan(url, "outbox").stdout, timeout=15,
                   what="the sender's status to show a successful send")
        out = congdoan(url, "outbox").stdout
        assert "Lần gửi thành công gần nhất: " in out, out
        assert "Lỗi gần nhất" in out and "database is locked" in out, out
    finally:
        bot.stop()


def test_a_run_of_502s_delays_reminders_without_failing_them(fake, world_db, tmp_path):
    url, world = world_db
    chairs, _officers, _staff = province_users(fake, world)
    bot = BotProcess(fake, url, tmp_path / "bot.log").start()
    try:
        fake.fail_for("sendMessage", 8.0, 502, "Bad Gateway")
        plan(url)
        time.sleep(4.0)
        assert sum(len(u.messages()) for u in chairs.values()) == 0  # the outage is on
        wait_until(lambda: open_rows(url) == 0, timeout=60, what="the reminders after the outage")
        fake.wait_idle()
        assert {code: len(chairs[code].messages()) for code in OWING} == {code: 1 for code in OWING}
        out = congdoan(url, "outbox").stdout
        assert "15 đã gửi" in out and "0 lỗi" in out, out
    finally:
        bot.stop()
