"""Two real `congdoan run` processes on one PostgreSQL database (issue 15), through the Bot API
stand-in: the leader polls and runs the singleton jobs, both drain the outbox, and together
they keep to one send rate.

The stand-in admits 30 sends a second; each process is set to 20/s. Pacing apart, the two
would send at 40/s and meet 429s; sharing one pace they stay at 20/s and meet none.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from big_world import build
from bot.db import make_engine, upgrade
from bot.models import Person, Role, SenderStatus
from e2e import BotProcess, press, say, texts, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

CHAIRS = 120
CHAT_BASE = 7_000_000


def test_two_processes_send_a_notice_to_every_chair_once_within_the_rate(fake, pg_url, tmp_path):
    upgrade(pg_url)
    engine = make_engine(pg_url)
    build(engine, CHAIRS, chat_base=CHAT_BASE)
    with Session(engine) as s:
        people = s.exec(select(Person.id, Person.role)).all()
    chairs = {pid: fake.user(CHAT_BASE + pid, started=True) for pid, role in people if role == Role.CHAIR}
    staff = next(fake.user(CHAT_BASE + pid, started=True) for pid, role in people if role == Role.STAFF)
    assert len(chairs) == CHAIRS
    fake.set_rate_limit(30)
    env = {"CONGDOAN_SEND_RATE": "20", "CONGDOAN_PROGRESS_INTERVAL": "0.5", "CONGDOAN_LEADER_INTERVAL": "1"}
    first = BotProcess(fake, pg_url, tmp_path / "first.log", **env).start()
    second = BotProcess(fake, pg_url, tmp_path / "second.log", **env).start(follower=True)
    try:
        assert "this process leads" in first.log() and "follows" in second.log()
        say(staff, "/thongbao")
        say(staff, "Họp trực tuyến toàn tỉnh lúc 14 giờ thứ Sáu.")
        press(staff, "Tất cả Chủ tịch CĐCS")
        assert f"Số người nhận: {CHAIRS}" in texts(press(staff, "Xem trước"))
        press(staff, "Gửi")
        wait_until(lambda: any("Kết quả gửi thông báo" in (m.text or "") for m in staff.messages()),
                   timeout=60, what="the final report")
        fake.wait_idle()
        counts = {pid: len(user.messages()) for pid, user in chairs.items()}
        assert [pid for pid, n in counts.items() if n != 1] == [], "a chair got no message or several"
        assert fake.count_429 == 0, "the two processes together went over the rate"
        reports = [m for m in staff.messages() if "Kết quả gửi thông báo" in (m.text or "")]
        assert len(reports) == 1 and f"Đã gửi đến: {CHAIRS}/{CHAIRS}" in reports[0].text
        # one poller: the follower never called getUpdates (two would end each other's polls with 409s)
        assert not [e for e in fake.errors if e.method == "getUpdates"]
        fake.assert_clean()
    finally:
        second.stop()
        first.stop()
    with Session(engine) as s:  # both processes sent a share of the pushes (each saves its count at exit)
        shares = [st.sent for st in s.exec(select(SenderStatus)).all()]
    engine.dispose()
    assert len([n for n in shares if n > 0]) == 2 and sum(shares) >= CHAIRS, shares


def test_sigkill_of_the_leader_mid_broadcast_the_other_takes_over(fake, pg_url, tmp_path):
    upgrade(pg_url)
    engine = make_engine(pg_url)
    build(engine, 60, chat_base=CHAT_BASE)
    with Session(engine) as s:
        people = s.exec(select(Person.id, Person.role)).all()
    engine.dispose()
    chairs = {pid: fake.user(CHAT_BASE + pid, started=True) for pid, role in people if role == Role.CHAIR}
    staff = next(fake.user(CHAT_BASE + pid, started=True) for pid, role in people if role == Role.STAFF)
    env = {"CONGDOAN_SEND_RATE": "10", "CONGDOAN_PROGRESS_INTERVAL": "0.5", "CONGDOAN_LEADER_INTERVAL": "1"}
    leader = BotProcess(fake, pg_url, tmp_path / "leader.log", **env).start()
    other = BotProcess(fake, pg_url, tmp_path / "other.log", **env).start(follower=True)
    try:
        say(staff, "/thongbao")
        say(staff, "Kiểm tra danh sách đoàn viên trước ngày 15.")
        press(staff, "Tất cả Chủ tịch CĐCS")
        press(staff, "Xem trước")
        press(staff, "Gửi")
        wait_until(lambda: sum(len(u.messages()) for u in chairs.values()) >= 15, what="the first deliveries")
        leader.kill()
        killed_at = sum(len(u.messages()) for u in chairs.values())
        assert killed_at < 60, "the kill came too late to test anything"
        # the other process leads within a second or two: it polls, takes back the dead one's
        # rows, keeps the progress message and sends the final report
        wait_until(lambda: "this process leads" in other.log(), timeout=15, what="the takeover")
        wait_until(lambda: any("Kết quả gửi thông báo" in (m.text or "") for m in staff.messages()),
                   timeout=60, what="the final report")
        fake.wait_idle()
        counts = [len(u.messages()) for u in chairs.values()]
        assert all(n >= 1 for n in counts), "a chair got nothing"
        assert sum(counts) - 60 <= 1  # one request at a time per process: at most the one in flight repeats
        reports = [m for m in staff.messages() if "Kết quả gửi thông báo" in (m.text or "")]
        assert len(reports) == 1 and "Đã gửi đến: 60/60" in reports[0].text
        assert say(staff, "/menu"), "the new leader does not answer chats"
    finally:
        other.stop()
        leader.kill()
