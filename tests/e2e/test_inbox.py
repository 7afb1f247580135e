"""Updates on bad days: lower update ids after a restart, an update the library cannot read,
429 on a reply, a chat that floods the bot (the real bot process, through the stand-in)."""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session, select

from bot.db import make_engine
from bot.models import InboxUpdate
from e2e import BotProcess, say, texts, wait_until
from worlds import bind

pytestmark = pytest.mark.e2e


def test_lower_update_ids_after_a_restart_are_answered(fake, demo_db, tmp_path):
    """Telegram starts over at a random (here: lower) update id after a week without updates."""
    bind(make_engine(demo_db), "TD_001", 7101)
    chair = fake.user(7101)
    process = BotProcess(fake, demo_db, tmp_path / "bot.log").start()
    for n in range(30):  # ids 1..30 from a group the bot ignores
        fake.inject_update({"message": {"message_id": 1000 + n, "date": int(time.time()),
                                        "chat": {"id": 7199, "type": "group", "title": "x"},
                                        "from": {"id": 7199, "is_bot": False, "first_name": "G"},
                                        "text": "noise"}})
    assert say(chair, "/menu")
    fake.wait_idle()
    process.stop()
    fake.restart_update_ids(3)  # lower than every id the bot has seen, and reusing some
    process.start()
    replies = say(chair, "/help")
    assert replies, "the chair was not answered"
    fake.wait_idle()
    process.stop()
    with Session(make_engine(demo_db)) as s:
        rows = s.exec(select(InboxUpdate).where(InboxUpdate.update_id == 3)).all()
    assert len(rows) == 1 and rows[0].payload["message"]["text"] == "/help"  # the reused id is the new update


def test_an_unreadable_update_is_skipped_and_logged_once(fake, bot, demo_db):
    bind(make_engine(demo_db), "TD_001", 7102)
    chair = fake.user(7102)
    # a message carrying a poll the library cannot build (required fields missing)
    bad = fake.inject_update({"message": {"message_id": 77, "date": int(time.time()),
                                          "chat": {"id": 7102, "type": "private", "first_name": "A"},
                                          "from": {"id": 7102, "is_bot": False, "first_name": "A"},
                                          "poll": {"id": "5"}}})
    replies = say(chair, "/help")  # queued behind the bad one, in the same batch
    assert replies
    fake.wait_idle()
    wait_until(lambda: f"skipped update {bad}" in bot.log(), what="the skipped update in the log")
    time.sleep(0.5)  # and said once: no second line follows
    log = bot.log()
    assert log.count(f"skipped update {bad}") == 1, log[-3000:]
    polls = fake.calls("getUpdates")
    assert all(p.get("allowed_updates") == ["message", "edited_message", "callback_query"] for p in polls)
    assert len(polls) < 20  # no hot loop on the same offset
    with Session(make_engine(demo_db)) as s:
        row = s.exec(select(InboxUpdate).where(InboxUpdate.update_id == bad)).one()
    assert row.replied_at is not None and "unreadable" in (row.error or "")


def test_a_reply_waits_out_429_instead_of_being_dropped(fake, bot, demo_db):
    bind(make_engine(demo_db), "TD_001", 7103)
    chair = fake.user(7103)
    say(chair, "/help")
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, times=4)
    chair.send("/menu")
    replies = chair.wait_replies(timeout=20)
    assert replies
    assert fake.count_429 >= 4
    fake.assert_clean()  # retry_after was respected every time


def test_a_flooding_chat_does_not_delay_the_others(fake, demo_db, tmp_path):
    engine = make_engine(demo_db)
    bind(engine, "TD_001", 7104)
    bind(engine, "TD_005", 7105)
    process = BotProcess(fake, demo_db, tmp_path / "bot.log").start()
    try:
        flooder, other = fake.user(7104), fake.user(7105)
        say(other, "/help")
        for n in range(300):
            flooder.send(f"tin nhắn {n}")
        time.sleep(0.5)  # the bot has the flood in hand
        started = time.monotonic()
        other.send("/help")
        other.wait_replies(timeout=20, quiet=0)
        waited = time.monotonic() - started
        print(f"another chair's reply took {waited:.2f}s while 300 messages of one chat were handled")
        assert waited < 1.5
    finally:
        process.kill()
