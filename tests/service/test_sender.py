"""The outbox sender on bad days (issue 10, points 1 and 2): a locked database, a Bot API outage.

The sender runs with the bot's real Telegram delivery function against the Bot API
stand-in; the database is a real SQLite file, locked by a second connection.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import timedelta

import pytest

from bot.clock import utcnow
from bot.db import make_engine, upgrade
from bot.models import OutboxStatus
from bot.cli import main
from outbox_support import push, row, telegram_deliver, wait_for
from scheduler.sender import OutboxSender
from standin import FakeTelegram

CHAT = 700_001


@pytest.fixture
def quick_engine(db_url):
    """The database with a busy timeout of 0,15 s, so a lock held for 1 s outlasts it."""
    upgrade(db_url)
    engine = make_engine(db_url, busy_timeout=0.15)
    yield engine
    engine.dispose()


def write_lock(db_url: str) -> sqlite3.Connection:
    """Another process's long write transaction (an import, `congdoan invite --all`)."""
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=5, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


@pytest.mark.asyncio
async def test_a_write_lock_longer_than_the_busy_timeout_delays_pushes_but_never_stops_the_sender(
        quick_engine, db_url, capsys, monkeypatch):
    with FakeTelegram() as fake:
        user = fake.user(CHAT, started=True)
        async with telegram_deliver(fake) as deliver:
            sender = OutboxSender(quick_engine, deliver, idle_poll=0.05)
            push(quick_engine, "p1", CHAT, "Nhắc việc 1")
            lock = write_lock(db_url)  # taken before the sender starts, held while the push is due
            task = asyncio.create_task(sender.run())
            try:
                await asyncio.sleep(1.0)  # several busy timeouts
                assert user.messages() == []
                assert not task.done(), task.exception() if task.done() else None
                lock.execute("COMMIT")
                await wait_for(lambda: [m.text for m in user.messages()] == ["Nhắc việc 1"], what="the first push")
                # the loop goes on: the next push arrives too
                push(quick_engine, "p2", CHAT, "Nhắc việc 2")
                await wait_for(lambda: len(user.messages()) == 2, what="the second push")
                assert not task.done()
                await asyncio.sleep(1.2)  # the status is written shortly after a change
            finally:
                sender.stop()
                await asyncio.wait_for(task, 10)
                lock.close()
    assert [m.text for m in user.messages()] == ["Nhắc việc 1", "Nhắc việc 2"]
    # `congdoan outbox`, run in-process (the console script itself is exercised by the e2e tests)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    capsys.readouterr()
    assert main(["outbox"]) == 0
    out = capsys.readouterr().out
    assert "2 đã gửi" in out, out
    assert "Lần gửi thành công gần nhất: " in out and "chưa có" not in out, out
    assert "Lỗi gần nhất" in out and "database is locked" in out, out


@pytest.mark.asyncio
async def test_a_lock_during_the_send_keeps_the_outcome_and_sends_once(quick_engine, db_url):
    with FakeTelegram() as fake:
        user = fake.user(CHAT, started=True)
        fake.latency = 0.5  # the lock is taken while the push is on its way
        async with telegram_deliver(fake) as deliver:
            sender = OutboxSender(quick_engine, deliver, idle_poll=0.05)
            row_id = push(quick_engine, "p1", CHAT, "Thông báo")
            task = asyncio.create_task(sender.run())
            try:
                await wait_for(lambda: row(quick_engine, row_id).status == OutboxStatus.SENDING, what="the claim")
                lock = write_lock(db_url)
                await wait_for(lambda: len(user.messages()) == 1, what="the push")
                await asyncio.sleep(0.8)  # several busy timeouts: the mark cannot be written meanwhile
                assert row(quick_engine, row_id).status == OutboxStatus.SENDING
                lock.execute("COMMIT")
                lock.close()
                await wait_for(lambda: row(quick_engine, row_id).status == OutboxStatus.SENT, what="the mark")
                await asyncio.sleep(0.5)
                assert not task.done()
            finally:
                sender.stop()
                await asyncio.wait_for(task, 10)
    assert len(user.messages()) == 1


@pytest.mark.asyncio
async def test_an_outage_of_502s_delays_pushes_and_403_400_stay_permanent(engine, caplog):
    caplog.set_level(logging.DEBUG, logger="scheduler.sender")
    with FakeTelegram() as fake:
        users = [fake.user(CHAT + n, started=True) for n in range(3)]
        blocked = fake.user(CHAT + 10, started=True)
        fake.block_user(CHAT + 10)
        # a push that has already been tried through a long outage is still not given up
        veteran = push(engine, "veteran", CHAT, "Nhắc lần 1", attempts=8,
                       created_at=utcnow() - timedelta(hours=3))
        fresh = [push(engine, f"fresh{n}", CHAT + n, f"Thông báo {n}") for n in (1, 2)]
        fake.fail_for("sendMessage", 2.0, 502, "Bad Gateway")
        async with telegram_deliver(fake) as deliver:
            sender = OutboxSender(engine, deliver, idle_poll=0.05, max_backoff=1.0)
            task = asyncio.create_task(sender.run())
            try:
                await asyncio.sleep(1.2)  # inside the outage
                assert all(u.messages() == [] for u in users)
                await wait_for(lambda: all(len(u.messages()) == 1 for u in users), timeout=20, what="every push")
                # after the outage: 403 (blocked) and 400 fail at once, without a second try
                refused = push(engine, "blocked", CHAT + 10, "Không tới được")
                await wait_for(lambda: row(engine, refused).status == OutboxStatus.FAILED, what="the 403")
                fake.fail_next("sendMessage", 400, "Bad Request: can't parse entities")
                bad = push(engine, "bad", CHAT, "<b>hỏng")
                await wait_for(lambda: row(engine, bad).status == OutboxStatus.FAILED, what="the 400")
                await asyncio.sleep(0.3)
            finally:
                sender.stop()
                await asyncio.wait_for(task, 10)
    assert [len(u.messages()) for u in users] == [1, 1, 1]
    assert {row(engine, r).status for r in [veteran, *fresh]} == {OutboxStatus.SENT}
    assert row(engine, refused).status == OutboxStatus.FAILED and "unreachable" in row(engine, refused).error
    assert row(engine, refused).attempts == 1 and row(engine, bad).attempts == 1
    assert "can't parse entities" in row(engine, bad).error.lower()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and "Bad Gateway" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # the outage is logged once, with a row id
    assert "(row " in warnings[0].getMessage()


@pytest.mark.asyncio
async def test_past_the_age_limit_a_push_fails_with_the_reason_kept(engine):
    with FakeTelegram() as fake:
        user = fake.user(CHAT, started=True)
        fake.fail_for("sendMessage", 60.0, 502, "Bad Gateway")
        row_id = push(engine, "p", CHAT, "Nhắc việc")
        async with telegram_deliver(fake) as deliver:
            sender = OutboxSender(engine, deliver, idle_poll=0.05, max_backoff=0.5,
                                  retry_for=timedelta(seconds=3))
            task = asyncio.create_task(sender.run())
            try:
                await asyncio.sleep(1.5)
                assert row(engine, row_id).status != OutboxStatus.FAILED  # still within the age limit
                await wait_for(lambda: row(engine, row_id).status == OutboxStatus.FAILED, timeout=15,
                               what="the push to fail")
            finally:
                sender.stop()
                await asyncio.wait_for(task, 10)
    failed = row(engine, row_id)
    assert "Bad Gateway" in failed.error and failed.attempts >= 3
    assert user.messages() == []
