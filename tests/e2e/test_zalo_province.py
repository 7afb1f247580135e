"""One province, chairs on Telegram and on Zalo: pushes reach each person once, on their channel;
acknowledgements typed on Zalo and pressed on Telegram both count; files go to Zalo as signed
links; /lienket joins two accounts into one person.

World (tests/support/worlds.small_province): chairs of G01–G20 on Telegram (8001–8020); the
test moves G01–G03 to Zalo, and G04 onto both (used Zalo last).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from bot.clock import local_today
from bot.db import make_engine, session_scope, upgrade
from bot.models import ChatIdentity, NoticeDelivery, Outbox, Person
from e2e import BotProcess, free_port, press, province_users, say, texts, wait_until
from standin.zalo import FakeZalo
from worlds import TEST_ROUND, add_test_round, bind, small_province, submitted

pytestmark = pytest.mark.e2e

CONGDOAN = str(Path(sys.executable).parent / "congdoan")
OPENS, DEADLINE = date(2026, 12, 1), date(2026, 12, 18)
SECRET = "link-secret-for-tests"
ZALO_OF = {"G01": "zl-1", "G02": "zl-2", "G03": "zl-3"}  # moved to Zalo
BOTH = ("G04", "zl-4")  # on Telegram and on Zalo, Zalo used last


@pytest.fixture
def zalo():
    with FakeZalo() as fake_zalo:
        yield fake_zalo


@pytest.fixture
def world_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'mixed.sqlite'}"
    upgrade(url)
    world = small_province(make_engine(url), opens=OPENS, deadline=DEADLINE, submitted_units=0)
    engine = make_engine(url)
    with session_scope(engine) as s:  # the chairs of G01–G03 use Zalo instead of Telegram
        for code, zalo_id in ZALO_OF.items():
            ident = s.exec(select(ChatIdentity).where(ChatIdentity.external_id == str(world["chairs"][code]))).one()
            ident.channel, ident.external_id, ident.chat_id = "zalo", zalo_id, zalo_id
            s.add(ident)
        ident = s.exec(select(ChatIdentity).where(ChatIdentity.external_id == str(world["chairs"][BOTH[0]]))).one()
        s.add(ChatIdentity(person_id=ident.person_id, channel="zalo", external_id=BOTH[1], chat_id=BOTH[1]))
    return url, world


def zsay(user, text: str) -> str:  # type: ignore[no-untyped-def]
    user.send(text)
    return "\n".join(m.body for m in user.wait_replies())


def plan_reminders(url: str, at: str) -> str:
    result = subprocess.run([CONGDOAN, "plan-reminders", "--at", at, "--send-now"], env=dict(os.environ, DATABASE_URL=url),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def drained(url: str) -> bool:
    with Session(make_engine(url)) as s:
        return not s.exec(select(Outbox).where(Outbox.status.in_(["pending", "sending"]))).all()


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_pushes_once_on_each_persons_channel_acks_both_ways_and_signed_excel(fake, zalo, world_db, tmp_path):
    url, world = world_db
    chairs, officers, staff = province_users(fake, world)
    port = free_port()
    bot = BotProcess(fake, url, tmp_path / "bot.log", zalo=zalo, CONGDOAN_HTTP_PORT=str(port),
                     CONGDOAN_LINK_SECRET=SECRET, CONGDOAN_PROGRESS_INTERVAL="0.3").start()
    try:
        zchairs = {code: zalo.user(zid, f"Chủ tịch {code}") for code, zid in {**ZALO_OF, BOTH[0]: BOTH[1]}.items()}
        for user in zchairs.values():  # a Zalo bot may write only to people who wrote to it
            assert "Bạn muốn làm gì?" in zsay(user, "/start")
            user.mark_seen()

        # a reminder round: every chair who owes the report gets exactly one, on their channel
        plan_reminders(url, "15/12/2026 09:00")
        wait_until(lambda: drained(url), what="the reminders to go out")
        for code, user in zchairs.items():
            pushed = user.wait_replies()
            assert len(pushed) == 1 and "Nhắc báo cáo" in pushed[0].body and "Bấm nút" not in pushed[0].body, code
        assert chairs[BOTH[0]].messages() == []  # G04's pushes go to Zalo, used last
        for code in ("G05", "G13"):
            assert len(chairs[code].messages()) == 1
        # a notice with acknowledgement to U1: once per person, typed on Zalo, pressed on Telegram
        assert "Soạn thông báo mới" in texts(say(staff, "/thongbao"))
        say(staff, "Họp giao ban ngày 20/12.")
        press(staff, "Chủ tịch CĐCS thuộc công đoàn cấp trên được chọn")
        press(staff, "LĐLĐ huyện U1")
        press(staff, "Xong")
        press(staff, "Xem trước")
        press(staff, "Gửi")
        for code, user in zchairs.items():
            notice = user.wait_for(lambda m: "THÔNG BÁO" in m.body)
            assert "Trả lời 1" in notice.body and "1. Đã nhận" in notice.body, code
        wait_until(lambda: drained(url), what="the notice to go out")
        for user in zchairs.values():
            user.mark_seen()
        assert "Đã ghi nhận" in zsay(zchairs["G01"], "1")
        assert "Đã ghi nhận" in zsay(zchairs["G02"], "đã nhận")
        press(chairs["G06"], "Đã nhận")
        assert all(len([m for m in u.messages() if "THÔNG BÁO" in m.body]) == 1 for u in zchairs.values())
        assert chairs[BOTH[0]].messages() == []
        assert len([m for m in chairs["G06"].messages() if "THÔNG BÁO" in (m.text or "")]) == 1
        with Session(make_engine(url)) as s:
            acked = {s.get(Person, d.person_id).full_name for d in s.exec(select(NoticeDelivery)).all() if d.acked_at}
        assert acked == {"Chủ tịch 01", "Chủ tịch 02", "Chủ tịch 06"}

        # the U1 officer on Zalo asks for the Excel file: a signed link that downloads the workbook
        with session_scope(make_engine(url)) as s:
            ident = s.exec(select(ChatIdentity).where(ChatIdentity.external_id == str(world["officers"]["U1"]))).one()
            ident.channel, ident.external_id, ident.chat_id = "zalo", "zl-officer", "zl-officer"
            s.add(ident)
        officer = zalo.user("zl-officer", "Cán bộ U1")
        zsay(officer, "/start")
        answer = zsay(officer, "/xuatexcel R1")
        link = re.search(r"http://127\.0\.0\.1:\d+/f/\S+", answer)
        assert link, answer
        status, content = fetch(link.group(0))
        assert status == 200
        workbook = load_workbook(io.BytesIO(content))
        assert len(workbook.sheetnames) >= 3 and "LĐLĐ huyện U1" in str(list(workbook.worksheets[0].values))
        token = link.group(0).rsplit("/", 1)[1]
        altered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
        status, said = fetch(link.group(0).replace(token, altered))
        assert status == 403 and "Liên kết này không hợp lệ hoặc đã hết hạn" in said.decode()
        from bot.web.links import Signer

        key = Signer(SECRET, 3600).unsign(token)
        with mock.patch("time.time", return_value=time.time() - 30 * 24 * 3600):
            old = Signer(SECRET, 3600).sign(key)
        assert fetch(link.group(0).replace(token, old))[0] == 403
    finally:
        bot.stop()
    zalo.assert_clean()
    assert all(len(m.text) <= 2000 for m in zalo.all_sent() if m.kind == "text")
    fake.assert_clean()


def test_link_telegram_and_zalo_then_finish_a_report_started_on_telegram(fake, zalo, demo_db, tmp_path):
    engine = make_engine(demo_db)
    today = local_today()
    add_test_round(engine, opens=today - timedelta(days=10), deadline=today + timedelta(days=30))
    bind(engine, "TD_001", 7101)
    bot = BotProcess(fake, demo_db, tmp_path / "bot.log", zalo=zalo).start()
    try:
        tg = fake.user(7101)
        say(tg, f"/baocao {TEST_ROUND}")
        for typed in ("1.234", "1 200", "1500"):
            say(tg, typed)
        answer = texts(say(tg, "/lienket"))
        code = re.search(r"/lienket ([A-Z0-9]{8})", answer).group(1)
        zl = zalo.user("zl-7101", "Hoa")
        assert "Xác nhận thành công" in zsay(zl, f"/lienket {code}")
        with Session(engine) as s:
            people = {i.person_id for i in s.exec(select(ChatIdentity).where(
                ChatIdentity.external_id.in_(["7101", "zl-7101"]))).all()}
        assert len(people) == 1  # one person, two accounts
        assert "đã được sử dụng" in zsay(zalo.user("zl-other", "Lạ"), f"/lienket {code}")  # used once only
        resume = zsay(zl, f"/baocao {TEST_ROUND}")
        assert "3/10" in resume and "1. Tiếp tục" in resume
        assert "mục 4/10" in zsay(zl, "1")
        for typed in ("12", "1.450 người", "1.500.000đ", "Bỏ qua", "500k", "có"):
            zsay(zl, typed)
        assert "Tóm tắt" in zsay(zl, "87,5%")
        assert "Đã nhận báo cáo" in zsay(zl, "1")
    finally:
        bot.stop()
    values = submitted(engine, TEST_ROUND, "TD_001")
    assert values["DV_TONG"] == 1234 and values["DP_THU"] == 500_000
    zalo.assert_clean()
    fake.assert_clean()
