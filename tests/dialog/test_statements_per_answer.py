"""The database work of one typed answer in the reporting conversation (issue 15): at most five
SQL statements, whatever answer it is (13 to 19 before): the chat account with its person and
unit, the conversation, the round with its draft, then the draft and the conversation written
once each. The round's indicators, last figures and targets are loaded once per report.
(A stored update adds the inbox row's lock and its answer, in the same transaction.)"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import event

from bot.clock import to_utc
from dialog import CoreChat
from worlds import TEST_ROUND, add_test_round, bind

NOW = to_utc(datetime(2026, 11, 21, 9, 0))
ANSWERS = ["1.234", "1 200", "1500", "12", "1.450 người", "1.500.000đ", "1,2 tỷ", "500k", "có", "87,5%"]
TARGET = 5  # statements per typed answer (issue 15; 13 before)


class Statements:
    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.seen: list[str] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        self.seen.append(statement)


@pytest.fixture
def chat(demo_engine, settings):
    add_test_round(demo_engine)
    bind(demo_engine, "TD_001", "1001", channel="test")
    return CoreChat(demo_engine, settings, user_id="1001", now=NOW)


def test_a_typed_answer_takes_at_most_five_statements(chat, demo_engine):
    chat.send(f"/baocao {TEST_ROUND}")
    counter = Statements(demo_engine)
    per_answer = []
    for typed in ANSWERS[:-1]:  # the last answer leads to the summary, a different step
        counter.seen.clear()
        chat.send(typed)
        assert "mục" in chat.text, chat.text
        per_answer.append(list(counter.seen))
    worst = max(per_answer, key=len)
    assert len(worst) <= TARGET, "\n\n".join(worst)


def test_a_stored_update_adds_only_the_inbox_rows_lock_and_its_answer(chat, demo_engine, settings):
    from bot.db import session_scope
    from bot.messages import Incoming
    from bot.services import inbox
    from bot.services.inbox import Received
    from handlers import router

    chat.send(f"/baocao {TEST_ROUND}")
    chat.send("1.234")
    with session_scope(demo_engine) as s:
        stored = inbox.receive(s, "test", [Received(77, "1001", {"update_id": 77, "text": "1 200"})], NOW)
        inbox_id = stored[0].id
    counter = Statements(demo_engine)
    response = router.handle(demo_engine, settings, Incoming(
        channel="test", user_id="1001", chat_id="1001", text="1 200", language_code="vi", inbox_id=inbox_id), now=NOW)
    assert "mục 3/10" in "\n".join(r.text for r in response.replies)
    assert len(counter.seen) <= TARGET + 2, "\n\n".join(counter.seen)  # + SELECT … FOR UPDATE, + its answer
