"""The reporting conversation, in-process through the router (the HTTP path has its own tests).

The clock is fixed at 21/11/2026 09:00 (Asia/Ho_Chi_Minh); the test round TEST-Q4 runs
01/11–20/12/2026 with ten figures of every kind.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import Session, select

from bot.clock import to_utc
from bot.models import AuditLog, ConversationState, ReportDraft, Round
from bot.services import reporting
from dialog import CoreChat
from worlds import TEST_ROUND, add_test_round, bind, revisions, submitted

NOW = to_utc(datetime(2026, 11, 21, 9, 0))

# (typed, how the summary/receipt must show it) for each figure of the round, in order.
ANSWERS = [
    ("1.234", "1.234 người"),
    ("1 200", "1.200 người"),
    ("1500", "1.500 người"),
    ("12", "12 người"),
    ("1.450 người", "1.450 người"),
    ("1.500.000đ", "1.500.000 đồng"),
    ("1,2 tỷ", "1.200.000.000 đồng"),
    ("500k", "500.000 đồng"),
    ("có", "Có"),
    ("87,5%", "87,5%"),
]


@pytest.fixture
def chat(demo_engine, settings):
    add_test_round(demo_engine)
    bind(demo_engine, "TD_001", "1001", channel="test")
    return CoreChat(demo_engine, settings, user_id="1001", now=NOW)


def answer_all(chat: CoreChat, answers=ANSWERS) -> None:
    chat.send(f"/baocao {TEST_ROUND}")
    for typed, _shown in answers:
        chat.send(typed)


def test_full_round_in_many_notations_then_receipt(chat, demo_engine):
    chat.send(f"/baocao {TEST_ROUND}")
    assert "mục 1/10" in chat.text and "Tổng số đoàn viên" in chat.text
    for typed, _ in ANSWERS:
        chat.send(typed)
    summary = chat.text
    assert "Tóm tắt" in summary
    for _, shown in ANSWERS:
        assert shown in summary
    chat.send("Gửi")
    receipt = chat.text
    assert "Đã nhận báo cáo" in receipt and "Mã tiếp nhận: BC-" in receipt
    assert "09:00 21/11/2026" in receipt
    for _, shown in ANSWERS:
        assert shown in receipt
    values = submitted(demo_engine, TEST_ROUND, "TD_001")
    assert values == {"DV_TONG": 1234, "DV_NU": 1200, "LD_TONG": 1500, "DV_MOI": 12, "TT_CHINHSACH": 1450,
                      "QXH_THU": 1_500_000, "KPCD_THU": 1_200_000_000, "DP_THU": 500_000, "QCDC": 1,
                      "TL_SINHHOAT": 87.5}
    with Session(demo_engine) as s:
        assert s.exec(select(ReportDraft)).all() == []  # the draft is gone once sent


@pytest.mark.parametrize("position, typed, reason", [
    (0, "-5", "không thể là số âm"),
    (1, "1300", "không thể lớn hơn Tổng số đoàn viên"),          # female > members
    (3, "1300", "không thể lớn hơn Tổng số đoàn viên"),          # new > members
    (4, "1600", "không thể lớn hơn Tổng số CNVCLĐ"),             # informed > workers
    (9, "120%", "không thể lớn hơn 100%"),                        # percent over 100
    (0, "12,5", "phải là số nguyên"),                             # counts are whole
    (0, "mười hai", "chưa đọc được"),
])
def test_each_rule_refuses_with_its_reason_and_keeps_earlier_answers(chat, demo_engine, position, typed, reason):
    chat.send(f"/baocao {TEST_ROUND}")
    for answer, _ in ANSWERS[:position]:
        chat.send(answer)
    chat.send(typed)
    assert reason in chat.text
    assert f"mục {position + 1}/10" in chat.text  # the same question again
    with Session(demo_engine) as s:
        draft = s.exec(select(ReportDraft)).one()
    assert len(draft.values) == position  # everything typed before is still there
    for answer, _ in ANSWERS[position:]:
        chat.send(answer)
    chat.send("Gửi")
    assert submitted(demo_engine, TEST_ROUND, "TD_001")["DV_TONG"] == 1234


def test_members_lowered_below_female_members_is_refused(chat):
    chat.send(f"/baocao {TEST_ROUND}")
    chat.send("1.234")
    chat.send("1 200")
    chat.press("Quay lại")
    chat.press("Quay lại")
    assert "Đã nhập: 1.234 người" in chat.text
    chat.send("1000")
    assert "không thể nhỏ hơn Đoàn viên nữ" in chat.text


def test_ambiguous_input_is_asked_back(chat, demo_engine):
    chat.send(f"/baocao {TEST_ROUND}")
    for answer, _ in ANSWERS[:9]:
        chat.send(answer)
    chat.send("1.500")  # a percent: 1500 or 1,5?
    assert "nhiều cách" in chat.text
    assert chat.options() == ["1.500%", "1,5%"]
    chat.send("2")  # typed choice
    assert "Tóm tắt" in chat.text and "1,5%" in chat.text


def test_skip_back_cancel_and_resume_days_later(chat, demo_engine):
    chat.send(f"/baocao {TEST_ROUND}")
    for answer, _ in ANSWERS[:6]:
        chat.send(answer)
    assert "Bỏ qua" in chat.options()  # KPCD_THU is optional
    chat.press("Bỏ qua")
    assert "mục 8/10" in chat.text
    chat.press("Hủy")
    assert "lưu nháp" in chat.text
    chat.now = to_utc(datetime(2026, 11, 25, 8, 0))  # four days later
    chat.send("/baocao")
    chat.press(f"Đợt thử {TEST_ROUND}")
    assert "đang làm dở (7/10 mục" in chat.text
    chat.press("Tiếp tục")
    assert "mục 8/10" in chat.text
    for answer, _ in ANSWERS[7:]:
        chat.send(answer)
    assert "(bỏ qua)" in chat.text
    chat.press("Gửi")
    values = submitted(demo_engine, TEST_ROUND, "TD_001")
    assert values["KPCD_THU"] is None and values["DP_THU"] == 500_000


def test_start_again_discards_the_draft(chat, demo_engine):
    chat.send(f"/baocao {TEST_ROUND}")
    chat.send("1.234")
    chat.send("/huy")
    chat.send(f"/baocao {TEST_ROUND}")
    chat.press("Làm lại từ đầu")
    assert "mục 1/10" in chat.text and "Đã nhập" not in chat.text


def test_whole_round_by_typing_only(chat, demo_engine):
    chat.send("/baocao")
    labels = chat.options()
    chat.send(str(labels.index(f"Đợt thử {TEST_ROUND}") + 1))  # the round by its number
    for answer, _ in ANSWERS[:6]:
        chat.send(answer)
    chat.send("bo qua")  # the skip button's label, typed without diacritics
    for answer, _ in ANSWERS[7:]:
        chat.send(answer)
    chat.send("1")  # 1. Gửi
    assert "Đã nhận báo cáo" in chat.text
    assert submitted(demo_engine, TEST_ROUND, "TD_001")["KPCD_THU"] is None


def test_yes_no_by_number_and_words(chat, demo_engine):
    answer_all(chat, ANSWERS[:8])
    assert chat.options()[:2] == ["Có", "Không"]
    chat.send("khong")
    chat.send("87,5")
    chat.send("Gửi")
    assert submitted(demo_engine, TEST_ROUND, "TD_001")["QCDC"] == 0


def test_edit_a_line_from_the_summary(chat, demo_engine):
    answer_all(chat)
    chat.press("Sửa")
    chat.press("Đoàn viên kết nạp mới")
    chat.send("15")
    assert "Tóm tắt" in chat.text and "15 người" in chat.text
    chat.press("Gửi")
    assert submitted(demo_engine, TEST_ROUND, "TD_001")["DV_MOI"] == 15


def test_correction_keeps_history_and_lock_refuses(chat, demo_engine):
    answer_all(chat)
    chat.press("Gửi")
    chat.send(f"/baocao {TEST_ROUND}")
    assert "có muốn sửa số liệu" in chat.text
    chat.press("Sửa số liệu")
    chat.press("Sửa")
    chat.press("Đoàn viên kết nạp mới")
    chat.send("20")
    chat.press("Gửi")
    assert "Đã nhận bản sửa" in chat.text and "Lần sửa thứ 1; 1 số liệu thay đổi" in chat.text
    assert revisions(demo_engine, TEST_ROUND, "TD_001", "DV_MOI") == [(1, None, 12), (2, 12, 20)]
    assert submitted(demo_engine, TEST_ROUND, "TD_001")["DV_MOI"] == 20

    with Session(demo_engine) as s:
        rnd = s.exec(select(Round).where(Round.code == TEST_ROUND)).one()
        reporting.lock_round(s, rnd, NOW)
        s.commit()
    chat.send(f"/baocao {TEST_ROUND}")
    assert "đã khóa sổ" in chat.text and "liên hệ" in chat.text
    assert "Công đoàn xã Tam Đường" in chat.text  # whom to contact: the union above TD_001 today


def test_late_submission_is_accepted_and_marked(chat, demo_engine):
    chat.now = to_utc(datetime(2026, 12, 22, 10, 0))
    answer_all(chat)
    chat.press("Gửi")
    assert "Nộp sau hạn (20/12/2026)" in chat.text


def test_stale_and_forged_buttons(chat, demo_engine, settings):
    chat.send(f"/baocao {TEST_ROUND}")
    first_question = chat.history[-1]
    chat.send("1.234")
    # pressing the old question's button: this step has passed, nothing changes
    cancel = first_question.replies[-1].flat_options()[-1].data
    response = chat.press_data(cancel)
    assert response.toast == "Bước này đã qua."
    # a round of another upper-level union's units, forged with the current version: refused
    add_test_round(demo_engine, "OTHER", audience={"levels": ["grassroots"], "under": ["CDX_PT"]})
    with Session(demo_engine) as s:
        other_id = s.exec(select(Round.id).where(Round.code == "OTHER")).one()
        version = s.exec(select(ConversationState.version)).one()
    chat.press_data(f"s{version}:report:round:{other_id}")
    assert "không còn khả dụng" in chat.text
    chat.send("/baocao OTHER")  # naming it does not help either
    assert "Đợt thử OTHER" not in chat.text
    for garbage in ("", "xyz", "s:report", f"s{version + 1}:admin:drop", "s999999999999:report:send"):
        chat.press_data(garbage)
    assert submitted(demo_engine, "OTHER", "TD_001") is None
    with Session(demo_engine) as s:
        actions = {a.action for a in s.exec(select(AuditLog).where(AuditLog.action.like("submission.%"))).all()}
    assert actions == set()


def test_english_user_gets_english(demo_engine, settings):
    add_test_round(demo_engine)
    bind(demo_engine, "TD_005", "2002", channel="test")
    chat = CoreChat(demo_engine, settings, user_id="2002", now=NOW, language_code="en")
    chat.send(f"/baocao {TEST_ROUND}")
    assert "figure 1 of 10" in chat.text and "Total union members" in chat.text
