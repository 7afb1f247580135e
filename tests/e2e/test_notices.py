"""Notices through real HTTP: staff compose in the chat, the running bot broadcasts through the
outbox, recipients acknowledge, staff follow progress, the report and the not-acknowledged list.

World (tests/worlds.small_province): province P, unions U1 (G01–G12) and U2 (G13–G20), one
chair per CĐCS, an officer per union and a staff member on P.
"""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from bot.db import make_engine, upgrade
from bot.models import Notice, NoticeDelivery, Outbox
from e2e import BotProcess, province_users, wait_until, press, press_forged, say, texts
from scheduler.sender import SEND_WORKERS
from worlds import small_province

pytestmark = pytest.mark.e2e

OPENS, DEADLINE = date(2026, 12, 1), date(2026, 12, 18)
U1 = [f"G{n:02d}" for n in range(1, 13)]


@pytest.fixture
def world_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'ntc.sqlite'}"
    upgrade(url)
    world = small_province(make_engine(url), opens=OPENS, deadline=DEADLINE, submitted_units=0)
    return url, world


def start_bot(fake, url, tmp_path, **env) -> BotProcess:
    env = {"CONGDOAN_PLANNER_INTERVAL": "0", "CONGDOAN_PROGRESS_INTERVAL": "0.3", **env}
    return BotProcess(fake, url, tmp_path / "bot.log", **env).start()


def notice_row(url: str) -> Notice:
    with Session(make_engine(url)) as s:
        return s.exec(select(Notice).order_by(Notice.id.desc())).first()


def report_arrived(staff) -> bool:
    return any("Kết quả gửi thông báo" in (m.text or "") for m in staff.messages())


def compose_to_u1(staff, text: str) -> str:
    """/thongbao → text → chairs under U1 → options → preview; returns the preview's summary."""
    assert "Soạn thông báo mới" in texts(say(staff, "/thongbao"))
    assert "Gửi thông báo này cho ai" in texts(say(staff, text))
    press(staff, "Chủ tịch CĐCS thuộc công đoàn cấp trên được chọn")
    press(staff, "LĐLĐ huyện U1")
    assert "Xác nhận đã nhận: có yêu cầu" in texts(press(staff, "Xong"))
    return texts(press(staff, "Xem trước"))


def test_broadcast_to_one_union_progress_report_acks_and_reminders(fake, world_db, tmp_path):
    url, world = world_db
    chairs, officers, staff = province_users(fake, world)
    fake.block_user(world["chairs"]["G05"])
    bot = start_bot(fake, url, tmp_path, CONGDOAN_SEND_RATE="8")
    try:
        body = "Kính gửi các CĐCS: nộp báo cáo quý IV trước ngày 20/12 & <giữ> đúng mẫu."
        preview = compose_to_u1(staff, body)
        # the preview is the notice as recipients see it, with the count; nothing is sent yet
        assert "THÔNG BÁO của LĐLĐ tỉnh Thử" in preview and body in preview
        assert "Số người nhận: 12" in preview and "Chưa có gì được gửi" in preview
        assert all(not u.messages() for u in chairs.values())
        confirmation = texts(press(staff, "Gửi"))
        assert "đã được xếp lịch gửi tới 12 người nhận" in confirmation

        wait_until(lambda: report_arrived(staff), what="the final report")
        fake.wait_idle()
        for code, user in chairs.items():
            expected = 1 if code in U1 and code != "G05" else 0
            assert len(user.messages()) == expected, code
        assert all(not u.messages() for u in officers.values())
        received = chairs["G01"].messages()[0]
        assert body in received.text and re.search(r"Số: TB-\d{5}", received.text)
        assert received.buttons == ["Đã nhận"]

        # progress: one message edited in place, never more often than asked, ending with the figures
        progress = [m for m in staff.messages() if "📤" in ((m.edits[0]["text"] if m.edits else m.text) or "")]
        assert len(progress) == 1
        shown = [e["text"] for e in progress[0].edits] + [progress[0].text]
        assert shown[0].startswith("📤 Thông báo TB-") and "đã gửi 0/12" in shown[0]
        assert "đã gửi xong — đến tay 11/12, không gửi được 1" in shown[-1]
        counts = [int(m.group(1)) for t in shown if (m := re.search(r"đã gửi (\d+)/12", t))]
        assert counts == sorted(counts) and len(counts) >= 2
        report = next(m for m in staff.messages() if "Kết quả gửi thông báo" in (m.text or ""))
        assert "Đã gửi đến: 11/12" in report.text and "Không gửi được: 1" in report.text
        assert "CĐCS số 05 — Chủ tịch 05 (đã chặn bot)" in report.text
        with Session(make_engine(url)) as s:  # the 403 was tried once, not retried
            blocked = s.exec(select(Outbox).where(Outbox.chat_id == str(world["chairs"]["G05"]))).one()
            assert blocked.status == "failed" and blocked.attempts == 1

        # acknowledgements: counted once, answered politely the second time
        replies = press(chairs["G01"], "Đã nhận")
        assert "Đã ghi nhận" in texts(replies)
        query = chairs["G01"].press_raw("/danhan " + str(notice_row(url).id), message_id=received.message_id)
        again = chairs["G01"].wait_replies()
        assert "không cần làm gì thêm" in texts(again)
        assert "Đã ghi nhận trước đó" in chairs["G01"].wait_answer(query).get("text", "")
        press(chairs["G02"], "Đã nhận")
        with Session(make_engine(url)) as s:
            acked = s.exec(select(NoticeDelivery).where(NoticeDelivery.acked_at != None)).all()  # noqa: E711
            assert len(acked) == 2

        # the not-acknowledged list, grouped by upper-level union
        detail = texts(say(staff, f"/thongbao_ds {notice_row(url).id}"))
        assert "Chưa xác nhận (10):" in detail and "LĐLĐ huyện U1 (10)" in detail
        assert "CĐCS số 01" not in detail and "CĐCS số 02" not in detail and "CĐCS số 03" in detail
        assert "CĐCS số 05 — Chủ tịch 05 — đã chặn bot" in detail

        # the Excel export lists exactly those who have not acknowledged
        export = press(staff, "Xuất danh sách Excel")
        document = next(m for m in export if m.document)
        sheet = load_workbook(io.BytesIO(document.content)).worksheets[0]
        units = sorted(row[1] for row in sheet.iter_rows(min_row=3, values_only=True))
        assert units == [c for c in U1 if c not in ("G01", "G02")]

        # re-remind reaches only those who have not acknowledged (and can be reached)
        say(staff, f"/thongbao_ds {notice_row(url).id}")
        assert "tới 9 người chưa xác nhận" in texts(press(staff, "Nhắc lại người chưa xác nhận"))
        wait_until(lambda: sum(len(u.messages()) for u in chairs.values()) >= 11 + 9 + 2, what="the reminders")
        fake.wait_idle()
        for code, user in chairs.items():
            bot_messages = [m for m in user.messages() if "THÔNG BÁO" in (m.text or "")]
            expected = 2 if code in U1 and code not in ("G01", "G02", "G05") else (1 if code in ("G01", "G02") else 0)
            assert len(bot_messages) == expected, code
        assert "Nhắc lại" in chairs["G03"].messages()[-1].text
        fake.assert_clean()
    finally:
        bot.stop()


def test_pdf_notice_arrives_as_a_document_with_its_caption(fake, world_db, tmp_path):
    url, world = world_db
    chairs, _officers, staff = province_users(fake, world)
    bot = start_bot(fake, url, tmp_path)
    try:
        say(staff, "/thongbao")
        pdf = b"%PDF-1.4 cong van so 123/LDLD\n%%EOF"
        staff.send_document(pdf, "cong-van-123.pdf", "application/pdf", caption="Công văn số 123 về Quỹ Xã hội")
        assert "Gửi thông báo này cho ai" in texts(staff.wait_replies())
        press(staff, "Danh sách mã đơn vị")
        say(staff, "G13, g14")
        preview = press(staff, "Xem trước")
        document = next(m for m in preview if m.document is not None)
        assert "Công văn số 123" in document.caption and document.buttons == ["Đã nhận"]
        assert "Số người nhận: 2" in texts(preview)
        press(staff, "Gửi")
        wait_until(lambda: report_arrived(staff), what="the final report")
        fake.wait_idle()
        for code in ("G13", "G14"):
            messages = chairs[code].messages()
            assert len(messages) == 1
            assert messages[0].document["file_name"] == "cong-van-123.pdf" and messages[0].content == pdf
            assert "Công văn số 123 về Quỹ Xã hội" in messages[0].caption
            assert messages[0].buttons == ["Đã nhận"]
        assert sum(len(u.messages()) for u in chairs.values()) == 2

        # a text at the length limit goes out in two messages, the button with the last one
        long_text = "\n".join(["Kế hoạch thi đua năm 2026: các chỉ tiêu và thời hạn."] * 75)[:3990]
        say(staff, "/thongbao")
        say(staff, long_text)
        press(staff, "Danh sách mã đơn vị")
        say(staff, "G15")
        press(staff, "Xem trước")
        press(staff, "Gửi")
        wait_until(lambda: len(chairs["G15"].messages()) == 2, what="the long notice")
        first, last = chairs["G15"].messages()
        assert first.buttons == [] and last.buttons == ["Đã nhận"]
        assert (first.text + "\n" + last.text).count("Kế hoạch thi đua năm 2026") == long_text.count("Kế hoạch")
        fake.assert_clean()
    finally:
        bot.stop()


def test_a_chair_cannot_broadcast_nor_forge_callbacks(fake, world_db, tmp_path):
    url, world = world_db
    chairs, officers, staff = province_users(fake, world)
    bot = start_bot(fake, url, tmp_path)
    try:
        chair = chairs["G02"]
        assert "Chỉ cán bộ LĐLĐ tỉnh" in texts(say(chair, "/thongbao"))
        say(chair, "Nội dung giả mạo")
        # whatever the current version is, one of these carries it
        press_forged(chair, [data for version in range(0, 6) for data in
                             (f"s{version}:notice:aud:chairs", f"s{version}:notice:send", f"s{version}:notice:resend:1")])
        fake.wait_idle()
        assert "Chỉ cán bộ LĐLĐ tỉnh" in texts(say(chair, "/thongbao_ds 1"))
        assert "không gửi cho đồng chí" in texts(say(chair, "/danhan 1"))
        fake.wait_idle()
        with Session(make_engine(url)) as s:
            assert s.exec(select(Outbox)).all() == []
            assert s.exec(select(Notice).where(Notice.status != "draft")).all() == []
        others = [u for code, u in chairs.items() if code != "G02"] + list(officers.values()) + [staff]
        assert all(not u.messages() for u in others)
        fake.assert_clean()
    finally:
        bot.stop()


def test_sigkill_mid_broadcast_then_restart_finishes_without_copies(fake, world_db, tmp_path):
    url, world = world_db
    chairs, _officers, staff = province_users(fake, world)
    bot = start_bot(fake, url, tmp_path)
    say(staff, "/thongbao")
    say(staff, "Thông báo khẩn: kiểm tra danh sách đoàn viên.")
    press(staff, "Tất cả Chủ tịch CĐCS")
    assert "Số người nhận: 20" in texts(press(staff, "Xem trước"))
    fake.latency = 0.15  # slow sends so the kill lands mid-broadcast
    press(staff, "Gửi")
    wait_until(lambda: sum(len(u.messages()) for u in chairs.values()) >= 4, what="the first deliveries")
    bot.kill()
    delivered_before = sum(len(u.messages()) for u in chairs.values())
    assert delivered_before < 20, "the kill came too late to test anything"
    fake.latency = 0
    bot.start()
    try:
        wait_until(lambda: report_arrived(staff), what="the final report")
        fake.wait_idle()
    finally:
        bot.stop()
    counts = [len(u.messages()) for u in chairs.values()]
    assert all(n >= 1 for n in counts)
    # each worker has one row in hand: only sends in flight at the kill may repeat, each at most once
    assert max(counts) <= 2
    assert sum(counts) - 20 <= SEND_WORKERS
    reports = [m for m in staff.messages() if "Kết quả gửi thông báo" in (m.text or "")]
    assert len(reports) == 1 and "Đã gửi đến: 20/20" in reports[0].text
