"""Questions about targets, progress and deadlines through real HTTP, with the real bot process.

The bot runs on the real clock, so the world (tests/ask_world.py) is built for the current
local year: XT_001 has 7 of 10 new members and 2.500.000 of 5.000.000 đồng for the social
fund, and the round XT-OPEN is due in 30 days.
"""

from __future__ import annotations

import re

import pytest

from bot.clock import local_today
from bot.db import make_engine
from bot.models import Role
from e2e import BotProcess, press, say, texts
from worlds import bind
import ask_world as world

pytestmark = pytest.mark.e2e


@pytest.fixture
def bot(fake, demo_db, tmp_path, year):
    """The bot with its reminder planner off: the test round is due in 30 days, and a reminder
    arriving in the middle of a question would be mixed into the answer."""
    process = BotProcess(fake, demo_db, tmp_path / "bot.log", CONGDOAN_PLANNER_INTERVAL="0").start()
    yield process
    process.stop()


@pytest.fixture
def year(demo_db) -> int:
    today = local_today()
    engine = make_engine(demo_db)
    world.build(engine, today.year, today)
    bind(engine, world.CHAIR_UNIT, 8001)
    bind(engine, world.UPPER, 8002, role=Role.OFFICER)
    engine.dispose()
    return today.year


def test_chair_gets_correct_figures_with_and_without_diacritics(year, fake, bot):
    chair = fake.user(8001)
    for question in (f"Chỉ tiêu kết nạp đoàn viên năm {year} của đơn vị tôi là bao nhiêu?",
                     "chi tieu ket nap doan vien nam nay la bao nhieu", "CHI TIEU KET NAP DV NAM NAY"):
        replies = say(chair, question)
        text = texts(replies)
        assert f"Chỉ tiêu “Đoàn viên kết nạp mới” năm {year} của Công ty TNHH Hoa Ban là 10 người" in text
        assert "đã báo cáo 7 người, đạt 70,0% chỉ tiêu" in text
        assert any(b.startswith("1. Nộp ngay: ") for b in replies[-1].buttons)  # a button to report
    assert "đạt 70,0% chỉ tiêu" in texts(say(chair, "kết nạp đoàn viên đạt bao nhiêu phần trăm"))
    assert texts(say(chair, "con thieu bao nhieu doan vien moi")).startswith("Còn thiếu 3 người.")
    assert texts(say(chair, "quỹ xã hội còn thiếu bao nhiêu")).startswith("Còn thiếu 2.500.000 đồng.")
    deadline = texts(say(chair, "hạn nộp báo cáo quý IV là ngày nào?"))
    assert re.search(r"Báo cáo thử quý IV: hạn nộp \d\d/\d\d/\d{4} \(còn 30 ngày\); đơn vị chưa nộp\.", deadline)
    status = texts(say(chair, "toi nop bao cao quy 2 chua"))
    assert f"Báo cáo thử Q2: hạn nộp 30/06/{year}; đơn vị đã nộp lúc" in status and "BC-001Q2" in status
    progress = texts(say(chair, "/tiendo"))
    assert "Đoàn viên kết nạp mới: 7 người / 10 người — đạt 70,0% chỉ tiêu; còn thiếu 3 người" in progress
    assert "(còn 30 ngày); đơn vị chưa nộp." in texts(say(chair, "/hannop"))
    assert "mục 1/5" in texts(press(chair, f"Nộp ngay: {world.OPEN_TITLE}"))  # the button starts the report
    fake.assert_clean()


def test_out_of_scope_questions_get_the_honest_fallback_without_numbers(year, fake, bot):
    chair = fake.user(8001)
    for question in ("thời tiết hôm nay", "cho tôi vay tiền", "thoi tiet hom nay the nao"):
        replies = say(chair, question)
        text = texts(replies)
        assert text.startswith("Xin lỗi, tôi chưa trả lời được câu hỏi này.")
        assert f"{world.UPPER_NAME}: {world.UPPER_CONTACT}" in text  # whom to contact
        assert not re.search(r"\d", text.replace(world.UPPER_CONTACT, ""))  # no figure, only the phone to call
        assert replies[-1].buttons[:3] == ["1. Chỉ tiêu", "2. Tiến độ", "3. Hạn nộp"]
    assert "Chỉ tiêu của Công ty TNHH Hoa Ban" in texts(press(chair, "Chỉ tiêu"))
    fake.assert_clean()


def test_chair_gets_nothing_about_another_unit_an_officer_gets_their_subtree(year, fake, bot):
    chair = fake.user(8001)
    for question in ("Trường Tiểu học Pa Khoang còn thiếu bao nhiêu đoàn viên mới", "tien do ket nap cua XT_002",
                     "/tiendo XT_002"):
        text = texts(say(chair, question))
        assert text == "Xin lỗi, bạn chỉ xem được số liệu của đơn vị mình là Công ty TNHH Hoa Ban."
    officer = fake.user(8002)
    text = texts(say(officer, "Trường Tiểu học Pa Khoang còn thiếu bao nhiêu đoàn viên mới"))
    assert text.startswith("Còn thiếu 3 người.") and "Trường Tiểu học Pa Khoang là 6 người" in text
    text = texts(say(officer, "XT_001 kết nạp được bao nhiêu đoàn viên rồi"))
    assert "7 người, đạt 70,0%" in text
    text = texts(say(officer, "đơn vị nào chưa nộp báo cáo quý 4"))
    assert "còn 2/2 CĐCS chưa nộp" in text and "XT_002 — Trường Tiểu học Pa Khoang" in text
    text = texts(say(officer, "Trạm Y tế xã Bản Bo đã nộp chưa"))  # TD_031: another district's CĐCS
    assert text.startswith("Xin lỗi, bạn chỉ xem được số liệu của Liên đoàn Lao động huyện Xuân Thành")
    fake.assert_clean()
