
"""The reporting conversation through real HTTP, with the real bot process."""

from __future__ import annotations

import pytest

from datetime import timedelta

from sqlmodel import Session, select

from bot.clock import local_today
from bot.db import make_engine, session_scope
from bot.models import AuditLog, Round, Unit
from bot.services import reporting
from bot.clock import utcnow
from e2e import BotProcess, press, press_forged, say, texts

pytestmark = pytest.mark.e2e
from worlds import TEST_ROUND, add_test_round, bind, revisions, submitted

ANSWERS = [
    ("1.234", "1.234 người"), ("1 200", "1.200 người"), ("1500", "1.500 người"), ("12", "12 người"),
    ("1.450 người", "1.450 người"), ("1.500.000đ", "1.500.000 đồng"), ("1,2 tỷ", "1.200.000.000 đồng"),
    ("500k", "500.000 đồng"), ("có", "Có"), ("87,5%", "87,5%"),
]


def setup_round(db_url: str, user_id: int, unit_code: str = "TD_001", **kw) -> object:
    engine = make_engine(db_url)
    today = local_today()
    add_test_round(engine, opens=today - timedelta(days=10), deadline=today + timedelta(days=30), **kw)
    bind(engine, unit_code, user_id)
    return engine


def test_chair_completes_a_round_in_many_notations(fake, bot, demo_db):
    engine = setup_round(demo_db, 7001)
    chair = fake.user(7001)
    say(chair, "/baocao")
    replies = press(chair, f"Đợt thử {TEST_ROUND}")
    assert "mục 1/10" in texts(replies)
    for typed, _ in ANSWERS:
        replies = say(chair, typed)
    assert "Tóm tắt" in texts(replies)
    receipt = texts(press(chair, "Gửi"))
    assert "Đã nhận báo cáo" in receipt and "Mã tiếp nhận: BC-" in receipt
    for _, shown in ANSWERS:
        assert shown in receipt
    assert submitted(engine, TEST_ROUND, "TD_001")["KPCD_THU"] == 1_200_000_000
    fake.assert_clean()  # every request met the Bot API spec; every button press was answered


def test_whole_round_typed_only(fake, bot, demo_db):
    engine = setup_round(demo_db, 7002)
    chair = fake.user(7002)
    say(chair, f"/baocao {TEST_ROUND}")
    for typed, _ in ANSWERS[:6]:
        say(chair, typed)
    say(chair, "Bỏ qua")
    for typed, _ in ANSWERS[7:]:
        say(chair, typed)
    assert "Đã nhận báo cáo" in texts(say(chair, "1"))
    assert submitted(engine, TEST_ROUND, "TD_001")["DP_THU"] == 500_000
    assert fake.calls("answerCallbackQuery") == []  # not a single button was pressed
    fake.assert_clean()


def test_sigkill_mid_round_resumes_at_the_same_question(fake, demo_db, tmp_path):
    engine = setup_round(demo_db, 7003)
    process = BotProcess(fake, demo_db, tmp_path / "bot.log").start()
    chair = fake.user(7003)
    say(chair, f"/baocao {TEST_ROUND}")
    for typed, _ in ANSWERS[:4]:
        say(chair, typed)
    process.kill()
    process.start()
    replies = say(chair, ANSWERS[4][0])  # the fifth answer goes to the fifth question
    assert "mục 6/10" in texts(replies)
    for typed, _ in ANSWERS[5:]:
        say(chair, typed)
    press(chair, "Gửi")
    process.stop()
    values = submitted(engine, TEST_ROUND, "TD_001")
    assert values["DV_TONG"] == 1234 and values["DV_MOI"] == 12 and values["TT_CHINHSACH"] == 1450
    assert values["TL_SINHHOAT"] == 87.5
    fake.assert_clean()


def test_forged_callback_for_another_units_round_is_refused(fake, bot, demo_db):
    engine = setup_round(demo_db, 7004, audience={"levels": ["grassroots"], "under": ["CDX_PT"]})
    chair = fake.user(7004)
    replies = say(chair, "/baocao")
    assert f"Đợt thử {TEST_ROUND}" not in texts(replies)  # not in the unit's audience
    with Session(engine) as s:
        round_id = s.exec(select(Round.id).where(Round.code == TEST_ROUND)).one()
    # forge a button with the data shape the bot uses, versions 0..30
    last = chair.messages()[-1]
    press_forged(chair, [f"s{version}:report:round:{round_id}" for version in range(30)], message_id=last.message_id)
    fake.wait_idle()
    assert "mục 1/" not in " ".join(m.text or "" for m in chair.messages())
    assert submitted(engine, TEST_ROUND, "TD_001") is None
    with Session(engine) as s:
        assert s.exec(select(AuditLog).where(AuditLog.action.like("submission.%"))).all() == []
    fake.assert_clean()  # every forged press was still answered


def test_correction_keeps_both_revisions_and_lock_refuses(fake, bot, demo_db):
    engine = setup_round(demo_db, 7005)
    chair = fake.user(7005)
    say(chair, f"/baocao {TEST_ROUND}")
    for typed, _ in ANSWERS:
        say(chair, typed)
    press(chair, "Gửi")
    assert "có muốn sửa" in texts(say(chair, f"/baocao {TEST_ROUND}"))
    press(chair, "Sửa số liệu")
    press(chair, "Sửa")
    press(chair, "Đoàn viên kết nạp mới")
    say(chair, "20")
    assert "Đã nhận bản sửa" in texts(press(chair, "Gửi"))
    assert revisions(engine, TEST_ROUND, "TD_001", "DV_MOI") == [(1, None, 12), (2, 12, 20)]
    with session_scope(engine) as s:
        reporting.lock_round(s, reporting.round_by_code(s, TEST_ROUND), utcnow())
    assert "đã khóa sổ" in texts(say(chair, f"/baocao {TEST_ROUND}"))
    fake.assert_clean()


def test_names_with_markup_characters_and_long_messages(fake, bot, demo_db):
    engine = make_engine(demo_db)
    with session_scope(engine) as s:
        unit = s.exec(select(Unit).where(Unit.code == "TD_003")).one()
        unit.name = "CĐCS Công ty <Alpha> & Beta_Gamma *1*"
        s.add(unit)
    today = local_today()
    for n in range(40):  # forty open rounds with long titles: the list exceeds 4096 characters
        add_test_round(engine, f"LONG{n:02d}", opens=today - timedelta(days=1), deadline=today + timedelta(days=9),
                       indicators=["DV_TONG"])
    with session_scope(engine) as s:
        for rnd in s.exec(select(Round).where(Round.code.like("LONG%"))).all():
            rnd.title = f"Đợt báo cáo chuyên đề {rnd.code} — " + "số liệu phong trào thi đua " * 4
            s.add(rnd)
    bind(engine, "TD_003", 7006)
    chair = fake.user(7006)
    assert "CĐCS Công ty <Alpha> & Beta_Gamma *1*" in texts(say(chair, "/start"))
    replies = say(chair, "/baocao")
    assert len(replies) >= 2 and all(len(m.text) <= 4096 for m in replies)
    assert "CĐCS Công ty <Alpha> & Beta_Gamma *1*" in replies[0].text
    assert replies[-1].reply_markup and not replies[0].reply_markup  # the buttons come with the last part
    fake.assert_clean()
