"""Officers', staff's and chairs' harder questions (issue 19), in-process through the router.

The clock is fixed at 21/11/2026 09:00; tests/support/ask_world.py adds the Xuân Thành union:
XT_001 (Công ty TNHH Hoa Ban) reported 3 + 4 new members in XT-Q1/XT-Q2 against a target of 10,
XT_002 (Trường Tiểu học Pa Khoang) 2 + 1 against 6; the union's own target is 20.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest

from bot.clock import to_utc
from bot.models import Role
from dialog import CoreChat
from worlds import bind
import ask_world as world

NOW = to_utc(datetime(2026, 11, 21, 9, 0))


@pytest.fixture
def engine(demo_engine):
    world.build(demo_engine, 2026, date(2026, 11, 21))
    return demo_engine


def chat_as(engine, settings, unit: str, role: Role = Role.CHAIR, user: str = "2101") -> CoreChat:
    bind(engine, unit, user, channel="test", role=role)
    return CoreChat(engine, settings, user_id=user, now=NOW)


def test_officer_asks_which_unit_is_lowest_and_highest(engine, settings):
    chat = chat_as(engine, settings, world.UPPER, Role.OFFICER)
    chat.send("đơn vị nào kết nạp ĐV ít nhất ad")
    assert "Báo cáo thử Q2" in chat.text
    assert "Thấp nhất về Đoàn viên kết nạp mới (lũy kế 2026): Trường Tiểu học Pa Khoang — 3 người" in chat.text
    assert "(chỉ tiêu 6 người, đạt 50%)" in chat.text
    chat.send("còn cao nhất?")  # a follow-up keeps the indicator
    assert "Cao nhất về Đoàn viên kết nạp mới (lũy kế 2026): Công ty TNHH Hoa Ban — 7 người" in chat.text
    chat.send("xep hang ket nap dv")
    assert chat.text.index("1. Công ty TNHH Hoa Ban") < chat.text.index("2. Trường Tiểu học Pa Khoang")


def test_officer_gets_no_figure_of_another_subtree(engine, settings):
    chat = chat_as(engine, settings, world.UPPER, Role.OFFICER)
    for question in ("huyện Tam Đường đơn vị nào kết nạp ít nhất", "TYT xã Bản Bo kết nạp được bao nhiêu ĐV",
                     "kết nạp quý 3 của TYT Bản Bo so với quý 2"):
        chat.send(question)
        assert chat.text.startswith("Xin lỗi, bạn chỉ xem được số liệu của Liên đoàn Lao động huyện Xuân Thành")
        assert not re.search(r"\d", chat.text)


def test_a_named_unit_that_does_not_exist_is_never_the_askers_own(engine, settings):
    chat = chat_as(engine, settings, world.UPPER, Role.OFFICER)
    chat.send("trường tiểu học Pa Khoan đã nộp chưa")  # a letter short: found by the closest names
    assert chat.text.startswith("Không tìm thấy đơn vị nào tên “truong tieu hoc pa khoan”.")
    assert chat.options()[0] == "Trường Tiểu học Pa Khoang"
    chat.send("1")
    assert "Báo cáo thử quý IV: hạn nộp 21/12/2026 (còn 30 ngày); đơn vị chưa nộp." in chat.text  # about XT_002
    chat.send("MN Hoa Hồng kết nạp được bao nhiêu")
    assert chat.text.startswith("Không tìm thấy đơn vị nào tên") and "Xuân Thành" not in chat.text
    assert not re.search(r"\d", chat.text.replace("XT_", ""))


def test_several_units_fitting_a_partial_name_are_offered_as_numbered_choices(engine, settings):
    chat = chat_as(engine, settings, "CDX_TD", Role.OFFICER)
    chat.send("Tả Lèng đã nộp chưa ạ")
    assert chat.text == "Có nhiều đơn vị trùng với tên này. Bạn muốn hỏi đơn vị nào?"
    assert sorted(chat.options()) == ["Trường Mầm non Tả Lèng", "Trường THCS Tả Lèng", "Trường Tiểu học Tả Lèng"]
    chat.press("Trường THCS Tả Lèng")
    assert "Trường THCS Tả Lèng" in chat.text or "đơn vị" in chat.text


def test_officer_counts_who_submitted(engine, settings):
    chat = chat_as(engine, settings, world.UPPER, Role.OFFICER)
    chat.send("bao nhiêu CĐCS đã nộp báo cáo quý 2")
    assert "Đã nộp: 2/2 (0 nộp muộn)." in chat.text
    chat.send("con ai chua nop bao cao quy 4 vay")
    assert "còn 2/2 CĐCS chưa nộp" in chat.text and "XT_002 — Trường Tiểu học Pa Khoang" in chat.text


def test_comparison_with_the_previous_period(engine, settings):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    chat.send("tổng số ĐV quý 2 so với quý 1 tăng hay giảm")
    assert "quý II/2026: 55 người; quý I/2026: 50 người." in chat.text
    assert "Tăng 5 người (10%)." in chat.text
    chat.send("so với cùng kỳ năm ngoái thì sao")  # 2025 has no figures: said, not invented
    assert "quý I/2025" not in chat.text and "quý II/2025: chưa có số liệu" in chat.text
    assert "Chưa có số liệu của cả hai kỳ nên chưa so sánh được." in chat.text


def test_chair_follow_up_naming_only_a_period(engine, settings):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    chat.send("kết nạp đoàn viên quý 1 được bao nhiêu rồi ad")
    assert "đã báo cáo 3 người" in chat.text and "đến 31/03/2026" in chat.text
    chat.send("còn quý 2 thì sao?")  # the same question, as of the end of quarter II
    assert "đã báo cáo 7 người" in chat.text and "đến 30/06/2026" in chat.text
    chat.now = NOW + timedelta(minutes=30)  # a follow-up much later is a new question
    chat.send("còn quý 1 thì sao?")
    assert "đến 31/03/2026" not in chat.text


def test_regulation_questions_show_no_figure_of_the_unit(engine, settings):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    chat.send("kết nạp đoàn viên năm nay được bao nhiêu")  # a context that must not leak into the answer
    for question in ("doanh nghiệp phải đóng kinh phí công đoàn bao nhiêu phần trăm quỹ lương",
                     "muc dong doan phi la bao nhieu", "lương cơ sở hiện nay là bao nhiêu ạ",
                     "thủ tục thành lập công đoàn cơ sở thế nào"):
        chat.send(question)
        assert chat.text.startswith("Xin lỗi, tôi chưa trả lời được câu hỏi này.")
        assert not re.search(r"\d", chat.text.replace(world.UPPER_CONTACT, ""))
