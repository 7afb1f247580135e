"""A question whose words fit two indicators ("ủng hộ quỹ XH": the donors or the money given) is
answered about the one that has a target or figures for the unit."""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_utc
from dialog import CoreChat
from worlds import bind

NOW = to_utc(datetime(2026, 11, 21, 9, 0))


def test_fund_question_prefers_the_indicator_with_a_target(demo_engine, settings):
    bind(demo_engine, "TD_001", "4101", channel="test")
    chat = CoreChat(demo_engine, settings, user_id="4101", now=NOW)
    chat.send("đã ủng hộ quỹ XH được bao nhiêu % chỉ tiêu")
    # the donors (a common 95% target, nothing reported) lose to the money, which has the unit's own target
    assert "Số tiền ủng hộ Quỹ Xã hội Công đoàn" in chat.text and "95%" not in chat.text

    chat.send("số người ủng hộ quỹ xã hội được bao nhiêu % chỉ tiêu")  # the donors, named as such
    assert "ủng hộ Quỹ Xã hội Công đoàn" in chat.text and "95%" in chat.text

    chat.send("đoàn viên nữ bao nhiêu")  # "đoàn viên" fits the members too: no own target there, no switch
    assert "Đoàn viên nữ" in chat.text or "đoàn viên nữ" in chat.text
