"""Issue 19's acceptance through real HTTP, with the real bot process (tests/support/ask_world.py):
an officer's lowest unit on an indicator, no figure outside the officer's subtree, a chair's
follow-up naming only another period, and no unit figure for a regulation question."""

from __future__ import annotations

import re

import pytest

from bot.clock import local_today
from bot.db import make_engine
from bot.models import Role
from e2e import BotProcess, say, texts
from worlds import bind
import ask_world as world

pytestmark = pytest.mark.e2e


@pytest.fixture
def year(demo_db) -> int:
    today = local_today()
    engine = make_engine(demo_db)
    world.build(engine, today.year, today)
    bind(engine, world.CHAIR_UNIT, 8101)
    bind(engine, world.UPPER, 8102, role=Role.OFFICER)
    engine.dispose()
    return today.year


@pytest.fixture
def bot(fake, demo_db, tmp_path, year):
    process = BotProcess(fake, demo_db, tmp_path / "bot.log", CONGDOAN_PLANNER_INTERVAL="0").start()
    yield process
    process.stop()


def test_officers_and_chairs_harder_questions(year, fake, bot):
    officer = fake.user(8102)
    text = texts(say(officer, "đơn vị nào kết nạp ĐV ít nhất ad"))
    assert f"Thấp nhất về Đoàn viên kết nạp mới (lũy kế {year}): Trường Tiểu học Pa Khoang — 3 người" in text
    text = texts(say(officer, "TYT xã Bản Bo kết nạp được bao nhiêu đoàn viên"))  # TD_031, another district
    assert text.startswith("Xin lỗi, bạn chỉ xem được số liệu của Liên đoàn Lao động huyện Xuân Thành")
    assert not re.search(r"\d", text)

    chair = fake.user(8101)
    assert f"đến 31/03/{year}" in texts(say(chair, "kết nạp đoàn viên quý 1 được bao nhiêu rồi"))
    text = texts(say(chair, "còn quý 2 thì sao?"))  # the same question for quarter II
    assert "đã báo cáo 7 người" in text and f"đến 30/06/{year}" in text and "31/03" not in text
    text = texts(say(chair, "doanh nghiệp phải đóng kinh phí công đoàn bao nhiêu phần trăm quỹ lương"))
    assert text.startswith("Xin lỗi, tôi chưa trả lời được câu hỏi này.")
    assert not re.search(r"\d", text.replace(world.UPPER_CONTACT, ""))
    fake.assert_clean()
