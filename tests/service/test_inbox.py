"""The inbox: a redelivered update is stored once; a reused update id is a new update;
the router handles a stored update once and keeps its answer."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlmodel import Session, select

from bot.clock import utcnow
from bot.db import session_scope
from bot.messages import Incoming
from bot.models import InboxUpdate
from bot.services import inbox
from bot.services.inbox import Received
from handlers import router
from worlds import bind


def msg(update_id: int, message_id: int, text: str = "/help") -> Received:
    payload = {"update_id": update_id, "message": {"message_id": message_id, "text": text}}
    return Received(update_id, "42", payload, f"message:42:{message_id}:")


def test_a_redelivery_is_stored_once(engine):
    now = utcnow()
    with session_scope(engine) as s:
        assert len(inbox.receive(s, "telegram", [msg(10, 1), msg(11, 2)], now)) == 2
    with session_scope(engine) as s:
        assert [r.update_id for r in inbox.receive(s, "telegram", [msg(11, 2), msg(12, 3)], now)] == [12]
    with session_scope(engine) as s:
        assert [r.update_id for r in inbox.open_rows(s, "telegram")] == [10, 11, 12]


def test_a_reused_update_id_is_a_new_update(engine):
    """Telegram picks a random new update id after a week without updates: ids repeat."""
    old = utcnow() - timedelta(days=9)
    with session_scope(engine) as s:
        (row,) = inbox.receive(s, "telegram", [msg(5, 1, "cũ")], old)
        inbox.mark_replied(s, row.id, old)
    with session_scope(engine) as s:
        new = inbox.receive(s, "telegram", [msg(5, 77, "mới")], utcnow())
    assert len(new) == 1
    with Session(engine) as s:
        rows = s.exec(select(InboxUpdate)).all()
    assert [(r.update_id, r.payload["message"]["text"], r.replied_at) for r in rows] == [(5, "mới", None)]


def test_the_router_handles_a_stored_update_once(demo_engine, settings):
    bind(demo_engine, "TD_001", 4242)
    with session_scope(demo_engine) as s:
        (row,) = inbox.receive(s, "telegram", [msg(1, 1, "/baocao")], utcnow())
    incoming = Incoming(channel="telegram", user_id="4242", chat_id="4242", text="/baocao", inbox_id=row.id)
    first = router.handle(demo_engine, settings, incoming)
    again = router.handle(demo_engine, settings, incoming)  # the channel hands it over again after a crash
    assert [r.text for r in again.replies] == [r.text for r in first.replies] and first.replies
    with Session(demo_engine) as s:
        stored = s.get(InboxUpdate, row.id)
        from bot.models import ConversationState
        state = s.exec(select(ConversationState).where(ConversationState.external_id == "4242")).one()
    assert stored.handled_at is not None and stored.reply["replies"]
    assert state.version == 1  # the state moved once
    other = router.handle(demo_engine, settings, replace(incoming, inbox_id=None, update_id=1))
    assert other.replies  # without the inbox (the console), nothing is dropped for its update id


def test_prune_forgets_old_answered_updates_only(engine):
    now = utcnow()
    with session_scope(engine) as s:
        old = inbox.receive(s, "telegram", [msg(1, 1), msg(2, 2)], now - timedelta(days=20))
        inbox.mark_replied(s, old[0].id, now - timedelta(days=20))
    with session_scope(engine) as s:
        assert inbox.prune(s, now) == 1
        assert [r.update_id for r in inbox.open_rows(s, "telegram")] == [2]
