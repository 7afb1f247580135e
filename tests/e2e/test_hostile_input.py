"""Hostile input through real HTTP against the strict stand-in: a renamed program as a notice
file, an edited message, hostile ids, and a notice of 4.000 '&' previewed (its HTML must parse)."""

from __future__ import annotations

import time
from datetime import date

import pytest

from bot.db import make_engine, upgrade
from e2e import BotProcess, press, province_users, say, texts
from worlds import TEST_ROUND, add_test_round, small_province

pytestmark = pytest.mark.e2e

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64 + b"This program cannot be run in DOS mode"
ERROR_MARK = "hệ thống vừa gặp sự cố"


@pytest.fixture
def world_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'hostile.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    world = small_province(engine, opens=date(2026, 12, 1), deadline=date(2026, 12, 18), submitted_units=0)
    add_test_round(engine, opens=date(2026, 11, 1), deadline=date(2027, 12, 20))
    engine.dispose()
    return url, world


def test_hostile_files_edits_ids_and_entities_get_polite_answers(fake, world_db, tmp_path):
    url, world = world_db
    chairs, _officers, staff = province_users(fake, world)
    bot = BotProcess(fake, url, tmp_path / "bot.log", CONGDOAN_PLANNER_INTERVAL="0").start()
    try:
        # a program renamed cong-van.pdf, claiming to be a PDF, is refused by its content
        say(staff, "/thongbao")
        staff.send_document(EXE, "cong-van.pdf", "application/pdf", caption="Công văn khẩn")
        refused = texts(staff.wait_replies())
        assert "không phải tài liệu PDF hoặc DOCX thật" in refused and ERROR_MARK not in refused
        # a notice of 4.000 '&' (20.000 characters once escaped) is previewed in well-formed parts
        assert "Gửi thông báo này cho ai" in texts(say(staff, "&" * 4000))
        press(staff, "Tất cả Chủ tịch CĐCS")
        preview = press(staff, "Xem trước")
        assert "Số người nhận: 20" in texts(preview)
        assert sum((m.text or "").count("&") for m in preview) == 4000
        press(staff, "Hủy")

        # hostile ids in commands
        for command in ("/thongbao_ds ²", "/thongbao_ds 12345678901234567890", "/danhan ³"):
            answer = texts(say(staff, command))
            assert answer and ERROR_MARK not in answer, command

        # an edited figure changes nothing and says how to change it
        chair = chairs["G01"]
        assert "mục 1/" in texts(say(chair, f"/baocao {TEST_ROUND}"))
        sent = chair.send("25")
        assert "mục 2/" in texts(chair.wait_replies())
        fake.inject_update({"edited_message": {**sent, "text": "40", "edit_date": int(time.time())}})
        explained = texts(chair.wait_replies())
        assert "Bạn vừa sửa một tin nhắn đã gửi" in explained and "Sửa số liệu" in explained
        assert "mục 3/" in texts(say(chair, "12"))  # the report goes on where it was
        fake.assert_clean()  # no HTML the stand-in refused, no unanswered button
    finally:
        bot.stop()
