"""Conversations in progress survive an upgrade: drafts stored in the old format, and steps
this version does not know, are picked up instead of failing or falling into a default."""

from __future__ import annotations

import logging
from datetime import date, datetime

import pytest
from sqlmodel import Session, select

from bot.clock import to_utc
from bot.models import ConversationState, Outbox
from dialog import CoreChat
from worlds import TEST_ROUND, add_test_round, bind, small_province

NOW = to_utc(datetime(2026, 12, 5, 9, 0))


@pytest.fixture
def world(engine):
    return small_province(engine, opens=date(2026, 12, 1), deadline=date(2026, 12, 18), submitted_units=0)


def rewrite_state(engine, user_id: str, **fields) -> None:
    with Session(engine) as s:
        state = s.exec(select(ConversationState).where(ConversationState.external_id == user_id)).one()
        for key, value in fields.items():
            setattr(state, key, value)
        s.add(state)
        s.commit()


def stored_state(engine, user_id: str) -> ConversationState:
    with Session(engine) as s:
        return s.exec(select(ConversationState).where(ConversationState.external_id == user_id)).one()


def test_a_notice_draft_stored_by_the_old_version_is_previewed_and_sent(engine, settings, world):
    user = str(world["staff"])
    chat = CoreChat(engine, settings, user_id=user, channel="telegram", now=NOW)
    chat.send("/thongbao")
    chat.send("Bản mới")
    chat.press("Tất cả Chủ tịch CĐCS")
    assert "Tùy chọn" in chat.text
    choices = stored_state(engine, user).data["_choices"]
    # what the previous version kept for this step: loose keys, no unions, no notice yet
    rewrite_state(engine, user, step="options", data={"ack": True, "send_at": None, "body": "Thông báo cũ",
                                                       "audience": {"kind": "chairs"}, "_choices": choices})
    chat.send("Xem trước")  # a typed choice still works: the router's "_choices" were kept
    assert "Thông báo cũ" in chat.text and "Số người nhận: <b>20</b>" in chat.history[-1].replies[-1].text
    chat.press("Gửi")
    assert "xếp lịch gửi tới 20 người nhận" in chat.text
    with Session(engine) as s:
        assert len(s.exec(select(Outbox.key)).all()) == 21


def test_an_unknown_notice_step_is_logged_and_the_options_shown_again(engine, settings, world, caplog):
    user = str(world["staff"])
    chat = CoreChat(engine, settings, user_id=user, channel="telegram", now=NOW)
    chat.send("/thongbao")
    chat.send("Nội dung")
    chat.press("Tất cả Chủ tịch CĐCS")
    rewrite_state(engine, user, step="optoins")
    with caplog.at_level(logging.WARNING, logger="handlers.base"):
        chat.send("gì đây")
    assert caplog.text.count("unknown step 'optoins'") == 1
    assert "Tùy chọn" in chat.text and "tất cả Chủ tịch CĐCS" in chat.text  # nothing of the draft was lost
    assert stored_state(engine, user).step == "options"


def test_an_unknown_notice_step_without_recipients_asks_for_them(engine, settings, world):
    user = str(world["staff"])
    chat = CoreChat(engine, settings, user_id=user, channel="telegram", now=NOW)
    chat.send("/thongbao")
    rewrite_state(engine, user, step="vanished")
    chat.send("Nội dung")
    assert "Gửi thông báo này cho ai?" in chat.text
    assert stored_state(engine, user).step == "audience"


def test_an_unknown_report_step_offers_the_round_again_keeping_the_draft(demo_engine, settings, caplog):
    add_test_round(demo_engine)
    bind(demo_engine, "TD_001", "1001", channel="test")
    chat = CoreChat(demo_engine, settings, user_id="1001", now=to_utc(datetime(2026, 11, 21, 9, 0)))
    chat.send(f"/baocao {TEST_ROUND}")
    chat.send("1.234")
    rewrite_state(demo_engine, "1001", step="askk")
    with caplog.at_level(logging.WARNING, logger="handlers.base"):
        chat.send("1 200")
    assert "askk" in caplog.text
    assert "đang làm dở (1/10 mục" in chat.text and chat.options() == ["Tiếp tục", "Làm lại từ đầu"]
    chat.press("Tiếp tục")
    assert "mục 2/10" in chat.text
