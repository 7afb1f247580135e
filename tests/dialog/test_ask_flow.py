"""Questions about targets, progress and deadlines, in-process through the router.

The clock is fixed at 21/11/2026 09:00 (Asia/Ho_Chi_Minh); tests/ask_world.py adds the
Xuân Thành union with hand-chosen figures (XT_001: 7 of 10 new members, 2.500.000 of
5.000.000 đồng for the social fund; the open round XT-OPEN is due on 21/12/2026).
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlmodel import Session, select

from bot.clock import to_utc
from bot.models import ConversationState, Role
from dialog import CoreChat
from worlds import bind
import ask_world as world

NOW = to_utc(datetime(2026, 11, 21, 9, 0))


@pytest.fixture
def engine(demo_engine):
    world.build(demo_engine, 2026, date(2026, 11, 21))
    return demo_engine


def chat_as(engine, settings, unit: str, role: Role = Role.CHAIR, user: str = "2001") -> CoreChat:
    bind(engine, unit, user, channel="test", role=role)
    return CoreChat(engine, settings, user_id=user, now=NOW)


def option_data(chat: CoreChat) -> list[str]:
    return [o.data for r in chat.history[-1].replies for o in r.flat_options()]


def test_target_progress_and_remaining_with_and_without_diacritics(engine, settings):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    for question in ("Chỉ tiêu kết nạp đoàn viên năm nay là bao nhiêu?",
                     "chi tieu ket nap doan vien nam nay la bao nhieu"):
        chat.send(question)
        assert "Chỉ tiêu “Đoàn viên kết nạp mới” năm 2026 của Công ty TNHH Hoa Ban là 10 người" in chat.text
        assert "đã báo cáo 7 người, đạt 70,0% chỉ tiêu" in chat.text and "Còn thiếu 3 người" in chat.text
        # something is missing: a button to report, for the earliest-due round asking it that the unit
        # still owes (the demo's overdue 2026-Q3 round also asks the CĐCS of Xuân Thành)
        assert option_data(chat) == ["/baocao 2026-Q3"]
    chat.send("quy xh con thieu bao nhieu")
    assert chat.text.startswith("Còn thiếu 2.500.000 đồng.") and "50,0%" in chat.text
    chat.send("tỷ lệ tuyên truyền năm nay")
    assert "98%" in chat.text and "75,0% (45/60 người)" in chat.text and "cần thêm 14 người" in chat.text


def test_follow_up_question_keeps_the_indicator(engine, settings):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    chat.send("kết nạp đoàn viên năm nay")
    chat.send("còn thiếu bao nhiêu?")
    assert chat.text.startswith("Còn thiếu 3 người.")


def test_data_that_does_not_exist_is_said_plainly(engine, settings):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    chat.send("chỉ tiêu kết nạp năm ngoái")
    assert chat.text == "Công ty TNHH Hoa Ban chưa được giao chỉ tiêu “Đoàn viên kết nạp mới” cho năm 2025."
    assert option_data(chat) == []  # nothing to report for last year
    chat.send("KPCĐ năm nay")  # no target, nothing reported
    assert "chưa được giao chỉ tiêu “Thu kinh phí công đoàn (2% quỹ lương)”" in chat.text
    assert not re.search(r"\d", chat.text.replace("2026", "").replace("2%", ""))


def test_deadline_and_submission_status(engine, settings):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    chat.send("hạn nộp báo cáo quý IV là ngày nào?")
    assert "Báo cáo thử quý IV: hạn nộp 21/12/2026 (còn 30 ngày); đơn vị chưa nộp." in chat.text
    assert "/baocao XT-OPEN" in option_data(chat)
    chat.send("toi nop bao cao quy 2 chua")
    assert "Báo cáo thử Q2: hạn nộp 30/06/2026; đơn vị đã nộp lúc" in chat.text and "BC-001Q2" in chat.text
    assert "Đợt này đã khóa sổ." in chat.text
    chat.send("báo cáo quý 4 gồm những gì")
    assert "gồm 5 chỉ tiêu: Tổng số đoàn viên; Tổng số CNVCLĐ; Đoàn viên kết nạp mới" in chat.text


def test_report_button_starts_the_report(engine, settings):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    chat.send("/hannop")
    assert "Báo cáo thử quý IV: hạn nộp 21/12/2026 (còn 30 ngày); đơn vị chưa nộp." in chat.text
    chat.press("Nộp ngay: Báo cáo thử quý IV")
    assert "mục 1/5" in chat.text and "Tổng số đoàn viên" in chat.text


def test_commands_list_targets_and_progress(engine, settings):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    chat.send("/chitieu")
    assert "Chỉ tiêu của Công ty TNHH Hoa Ban" in chat.text and "Năm 2026" in chat.text
    assert "• Đoàn viên kết nạp mới: 10 người — đã báo cáo 7 người (đạt 70,0% chỉ tiêu)" in chat.text
    assert "98% (chỉ tiêu chung của Liên đoàn Lao động tỉnh Lai Châu) — tỷ lệ 75,0%" in chat.text
    chat.send("/tiendo")
    assert "• Đoàn viên kết nạp mới: 7 người / 10 người — đạt 70,0% chỉ tiêu; còn thiếu 3 người" in chat.text
    assert "• Số tiền ủng hộ Quỹ Xã hội Công đoàn: 2.500.000 đồng / 5.000.000 đồng — đạt 50,0% chỉ tiêu" in chat.text
    assert option_data(chat) == ["/baocao 2026-Q3", "/baocao 2026-NAM"]  # one button per round, no repeats


def test_menu_and_help_offer_the_questions(engine, settings):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    chat.send("/menu")
    assert chat.options()[:4] == ["Báo cáo", "Chỉ tiêu", "Tiến độ", "Hạn nộp"]
    chat.send("/help")
    assert "/chitieu" in chat.text and "/tiendo" in chat.text and "/hannop" in chat.text


@pytest.mark.parametrize("question", ["thời tiết hôm nay", "cho tôi vay tiền", "KPCĐ là gì"])
def test_out_of_scope_gets_the_honest_fallback(engine, settings, question):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    chat.send(question)
    text = chat.text
    assert text.startswith("Xin lỗi, tôi chưa trả lời được câu hỏi này.")
    assert f"xin liên hệ {world.UPPER_NAME}: {world.UPPER_CONTACT}" in text
    assert not re.search(r"\d", text.replace(world.UPPER_CONTACT, ""))  # no number but the phone to call
    assert chat.options() == ["Chỉ tiêu", "Tiến độ", "Hạn nộp", "Báo cáo"]
    chat.send("1")  # typing the number of a choice works too (channels without buttons)
    assert "Chỉ tiêu của Công ty TNHH Hoa Ban" in chat.text


def test_a_chair_gets_nothing_about_another_unit(engine, settings):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    for question in ("tiến độ kết nạp của XT_002", "Trường Tiểu học Pa Khoang còn thiếu bao nhiêu đoàn viên mới",
                     "/tiendo XT_002", "TD_001 đã nộp chưa"):
        chat.send(question)
        assert chat.text == "Xin lỗi, bạn chỉ xem được số liệu của đơn vị mình là Công ty TNHH Hoa Ban."


def test_contact_is_the_upper_union(engine, settings):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    for question in ("liên hệ ai", "sdt ldld huyen xuan thanh", "cần hỗ trợ thì gọi ai"):
        chat.send(question)
        assert chat.text == f"Cần hỗ trợ, xin liên hệ {world.UPPER_NAME}: {world.UPPER_CONTACT}."


def test_an_officer_may_ask_about_a_unit_of_the_subtree(engine, settings):
    chat = chat_as(engine, settings, world.UPPER, Role.OFFICER)
    chat.send("Trường Tiểu học Pa Khoang còn thiếu bao nhiêu đoàn viên mới")
    assert chat.text.startswith("Còn thiếu 3 người.") and "Trường Tiểu học Pa Khoang là 6 người" in chat.text
    assert option_data(chat) == []  # officers do not report for their units
    chat.send("tiến độ kết nạp")  # their own union: the subtree adds up
    assert "20 người" in chat.text and "10 người, đạt 50,0%" in chat.text and "2/2 CĐCS" in chat.text
    chat.send("đơn vị nào chưa nộp báo cáo quý 4")
    assert "còn 2/2 CĐCS chưa nộp" in chat.text and "XT_001 — Công ty TNHH Hoa Ban" in chat.text
    chat.send("UBND xã San Thàng đã nộp chưa")  # TP_030: another district
    assert chat.text.startswith("Xin lỗi, bạn chỉ xem được số liệu của Liên đoàn Lao động huyện Xuân Thành")


def test_an_officer_picks_among_units_with_the_same_name(engine, settings):
    from bot.db import session_scope
    from bot.models import Unit

    with session_scope(engine) as s:
        upper = s.exec(select(Unit).where(Unit.code == world.UPPER)).one()
        s.add(Unit(code="XT_003", name=world.OTHER_UNIT_NAME, parent_id=upper.id, level="grassroots", sector="hcsn"))
    chat = chat_as(engine, settings, world.UPPER, Role.OFFICER)
    chat.send("Trường Tiểu học Pa Khoang đã kết nạp được bao nhiêu đoàn viên")
    assert "Bạn muốn hỏi đơn vị nào?" in chat.text and len(chat.options()) == 2
    chat.send("1")
    assert "Trường Tiểu học Pa Khoang" in chat.text and "3 người" in chat.text
    with Session(engine) as s:
        state = s.exec(select(ConversationState).where(ConversationState.external_id == chat.user_id)).one()
        assert state.flow == ""  # the choice is over


def test_commands_take_a_unit_and_a_period(engine, settings):
    from bot.db import session_scope
    from bot.models import Unit

    with session_scope(engine) as s:
        upper = s.exec(select(Unit).where(Unit.code == world.UPPER)).one()
        s.add(Unit(code="XT_003", name=world.OTHER_UNIT_NAME, parent_id=upper.id, level="grassroots", sector="hcsn"))
    chat = chat_as(engine, settings, world.UPPER, Role.OFFICER)
    chat.send("/tiendo Trường Tiểu học Pa Khoang")
    assert "Bạn muốn hỏi đơn vị nào?" in chat.text
    chat.press_data(chat.last_reply.options[0][0].data)
    assert "Tiến độ thực hiện chỉ tiêu của Trường Tiểu học Pa Khoang" in chat.text
    assert "Đoàn viên kết nạp mới: 3 người / 6 người — đạt 50,0% chỉ tiêu; còn thiếu 3 người" in chat.text
    chat.send("/chitieu XT_001 quý 2")  # no quarter targets: said so, for that quarter
    assert "Công ty TNHH Hoa Ban chưa được giao chỉ tiêu nào cho quý II/2026." in chat.text


def test_a_forged_unit_button_is_refused(engine, settings):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    with Session(engine) as s:
        from bot.models import Unit
        other = s.exec(select(Unit).where(Unit.code == "TD_001")).one()
    chat.send("hello")
    version = 0
    with Session(engine) as s:
        version = s.exec(select(ConversationState.version).where(ConversationState.external_id == chat.user_id)).one()
    chat.press_data(f"s{version}:ask:unit:{other.id}")
    assert "chỉ xem được số liệu của đơn vị mình" in chat.text


def test_english_answers(engine, settings):
    chat = chat_as(engine, settings, world.CHAIR_UNIT)
    chat.send("/ngonngu")
    chat.press("English")
    chat.send("chi tieu ket nap doan vien nam nay")
    assert "The target for New members admitted for year 2026 of Công ty TNHH Hoa Ban is 10 people." in chat.text
    assert "70.0% of the target" in chat.text
