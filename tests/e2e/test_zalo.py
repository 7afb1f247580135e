"""Zalo through real HTTP: the real bot process against the Zalo and Telegram stand-ins."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.clock import local_today
from bot.db import make_engine, session_scope
from bot.models import ChatIdentity, Person, Role, Unit
from bot.services import registry
from e2e import BotProcess, free_port, wait_until
from standin.zalo import FakeZalo
from worlds import TEST_ROUND, add_test_round, submitted

pytestmark = pytest.mark.e2e

# the test round's ten figures, typed; the 8th ("Bỏ qua") skips a figure
TYPED = ["1.234", "1 200", "1500", "12", "1.450 người", "1.500.000đ", "Bỏ qua", "500k", "có", "87,5%"]


@pytest.fixture
def zalo():
    with FakeZalo() as fake_zalo:
        yield fake_zalo


def make_invite(db_url: str, unit_code: str, role: Role = Role.CHAIR) -> str:
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        invite = registry.create_invite(session, registry.unit_by_code(session, unit_code), role, created_by="test")
        code = invite.code
    engine.dispose()
    return code


def zsay(user, text: str) -> str:  # type: ignore[no-untyped-def]
    user.send(text)
    return "\n".join(m.body for m in user.wait_replies())


def assert_zalo_rules(zalo: FakeZalo) -> None:
    zalo.assert_clean()
    assert all(1 <= len(m.text) <= 2000 for m in zalo.all_sent() if m.kind == "text")


def test_zalo_chair_redeems_reports_by_typing_and_survives_sigkill(fake, zalo, demo_db, tmp_path):
    engine = make_engine(demo_db)
    today = local_today()
    add_test_round(engine, opens=today - timedelta(days=10), deadline=today + timedelta(days=30))
    code = make_invite(demo_db, "TD_001")
    process = BotProcess(fake, demo_db, tmp_path / "bot.log", zalo=zalo).start()
    hoa = zalo.user("zl-7001", "Hoa")
    assert "mã mời" in zsay(hoa, "/start")
    assert "Xác nhận thành công" in zsay(hoa, code)
    with Session(engine) as s:
        identity = s.exec(select(ChatIdentity).where(ChatIdentity.channel == "zalo")).one()
        assert identity.external_id == "zl-7001" and s.get(Person, identity.person_id).role == Role.CHAIR
    menu = zsay(hoa, "/baocao")
    assert f"Đợt thử {TEST_ROUND}" in menu and "1. " in menu  # choices are a numbered list
    number = next(line.split(".")[0] for line in menu.split("\n")
                  if line.endswith(f". Đợt thử {TEST_ROUND}"))
    assert "mục 1/10" in zsay(hoa, number)
    for typed in TYPED[:4]:
        zsay(hoa, typed)
    process.kill()
    process.start()
    assert "mục 6/10" in zsay(hoa, TYPED[4])  # the fifth answer went to the fifth question
    for typed in TYPED[5:]:
        last = zsay(hoa, typed)
    assert "Tóm tắt" in last
    receipt = zsay(hoa, "1")
    assert "Đã nhận báo cáo" in receipt and "Mã tiếp nhận: BC-" in receipt
    process.stop()
    values = submitted(engine, TEST_ROUND, "TD_001")
    assert values["DV_TONG"] == 1234 and values["DP_THU"] == 500_000 and values["TL_SINHHOAT"] == 87.5
    assert_zalo_rules(zalo)
    fake.assert_clean()


def test_stickers_groups_and_long_lists(fake, zalo, demo_db, tmp_path):
    engine = make_engine(demo_db)
    today = local_today()
    for n in range(40):  # forty open rounds with long titles: the list exceeds 2000 characters
        add_test_round(engine, f"LONG{n:02d}", opens=today - timedelta(days=1), deadline=today + timedelta(days=9),
                       indicators=["DV_TONG"])
    code = make_invite(demo_db, "TD_003")
    process = BotProcess(fake, demo_db, tmp_path / "bot.log", zalo=zalo).start()
    try:
        user = zalo.user("zl-7002", "Minh")
        zsay(user, f"/start {code}")
        user.send_sticker()
        assert "chỉ đọc được tin nhắn chữ" in "\n".join(m.body for m in user.wait_replies())
        before = len(zalo.all_sent())
        user.send_in_group("grp-1", "/baocao")
        user.send_unsupported()
        user.wait_replies()
        assert len(zalo.all_sent()) == before + 1  # one polite line for the private message, none in the group
        user.send("/baocao")
        parts = user.wait_replies()
        assert len(parts) >= 2 and all(len(m.text) <= 2000 for m in parts)
        joined = "\n".join(m.text for m in parts)
        assert "40. " in joined
        for m in parts:  # split on line boundaries: every part ends a line of the whole
            assert m.text.split("\n")[-1] and (m.text + "\n") in (joined + "\n")
    finally:
        process.stop()
    assert_zalo_rules(zalo)


def test_webhook_secret_and_redelivery(fake, zalo, demo_db, tmp_path):
    port = free_port()
    code = make_invite(demo_db, "TD_006")
    process = BotProcess(fake, demo_db, tmp_path / "bot.log", zalo=zalo, CONGDOAN_HTTP_PORT=str(port),
                         PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", ZALO_WEBHOOK_SECRET="s3cret-zalo-hook",
                         TELEGRAM_WEBHOOK_SECRET="s3cret-tg-hook").start()
    try:
        assert zalo.webhook_url == f"http://127.0.0.1:{port}/zalo/webhook"
        assert fake.calls("setWebhook") == []  # Telegram calls only https addresses: it long-polls here
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as answer:
            assert answer.status == 200
        user = zalo.user("zl-7003", "Lan")
        assert "mã mời" in zsay(user, "/start")
        event = dict(zalo.last_event(user))
        event["message"] = {**event["message"], "message_id": "m-forged-1", "text": code,
                            "date": event["message"]["date"] + 1}
        assert zalo.deliver(event, header=None) in (401, 403)
        assert zalo.deliver(event, header="wrong") in (401, 403)
        engine = make_engine(demo_db)
        with Session(engine) as s:
            assert s.exec(select(ChatIdentity).where(ChatIdentity.channel == "zalo")).first() is None
        sent_before = len(user.messages())
        assert zalo.deliver(event) == 200
        wait_until(lambda: len(user.messages()) > sent_before, what="the reply to the invite code")
        assert zalo.deliver(event) == 200  # the platform repeats the same message
        assert zalo.deliver(event) == 200
        user.wait_replies()
        replies = [m for m in user.messages()[sent_before:] if "Xác nhận thành công" in m.body]
        assert len(replies) == 1
        with Session(engine) as s:
            assert len(s.exec(select(ChatIdentity).where(ChatIdentity.channel == "zalo")).all()) == 1
        # Telegram's webhook refuses a wrong secret too
        request = urllib.request.Request(f"http://127.0.0.1:{port}/telegram/webhook", data=b"{}", method="POST",
                                         headers={"X-Telegram-Bot-Api-Secret-Token": "nope",
                                                  "Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)
        assert refused.value.code == 403
    finally:
        process.stop()
    assert_zalo_rules(zalo)
