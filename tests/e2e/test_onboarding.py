
"""Onboarding through real HTTP: invite codes bind Telegram users to exactly one unit."""

from __future__ import annotations

import pytest

from datetime import timedelta

from sqlmodel import Session, select

from bot.clock import utcnow
from bot.db import make_engine, session_scope
from bot.models import AuditLog, ChatIdentity, Invite, Person, Role, Unit
from bot.i18n import use_language
from bot.services import registry
from handlers.commands import MEMBERS, channel_menu

pytestmark = pytest.mark.e2e
from e2e import press, say, texts


def make_invite(db_url: str, unit_code: str, role: Role = Role.CHAIR, **kw) -> str:
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        unit = registry.unit_by_code(session, unit_code)
        invite = registry.create_invite(session, unit, role, created_by="test", **kw)
        code = invite.code
    engine.dispose()
    return code


def binding(db_url: str, user_id: int) -> tuple[str, str] | None:
    """(unit code, role) the Telegram user is bound to, from the database."""
    engine = make_engine(db_url)
    with Session(engine) as session:
        identity = session.exec(select(ChatIdentity).where(
            ChatIdentity.channel == "telegram", ChatIdentity.external_id == str(user_id))).first()
        if identity is None:
            return None
        person = session.get(Person, identity.person_id)
        unit = session.get(Unit, person.unit_id)
        return unit.code, person.role


def test_the_running_bot_lists_every_members_command_in_telegrams_menu(fake, bot):
    """setMyCommands reached the stand-in, for Vietnamese by default and for English clients."""
    with use_language("vi"):
        expected = [{"command": c.name, "description": c.description} for c in channel_menu(MEMBERS)]
    assert fake.commands() == expected
    assert {c["command"] for c in fake.commands(language_code="en")} == {c["command"] for c in expected}
    assert {"baocao", "tonghop", "thongbao", "thongbao_ds", "nhaclai", "danhan", "menu", "help"} <= {
        c["command"] for c in expected}


def test_invite_link_binds_user_to_the_unit_and_cannot_be_reused(fake, bot, demo_db):
    code = make_invite(demo_db, "TD_001")
    lan = fake.user(5001, first_name="Lan")
    replies = say(lan, f"/start {code}")
    text = texts(replies)
    assert "Xác nhận thành công" in text
    with Session(make_engine(demo_db)) as s:
        unit_name = s.exec(select(Unit).where(Unit.code == "TD_001")).one().name
    assert unit_name in text and "Chủ tịch CĐCS" in text
    assert "Báo cáo" in " ".join(lan.buttons())
    assert binding(demo_db, 5001) == ("TD_001", Role.CHAIR)

    # A second person with the same code is refused and learns nothing about the unit.
    minh = fake.user(5002, first_name="Minh")
    text = texts(say(minh, f"/start {code}"))
    assert "đã được sử dụng" in text
    assert unit_name not in text
    assert binding(demo_db, 5002) is None

    # /start again from the bound user just shows the menu.
    assert "Bạn muốn làm gì?" in texts(say(lan, "/start"))
    fake.assert_clean()


def test_code_typed_after_start_and_wrong_codes(fake, bot, demo_db):
    code = make_invite(demo_db, "TD_005")
    user = fake.user(5003, first_name="Hà")
    assert "mã mời" in texts(say(user, "/start"))
    assert "không đúng" in texts(say(user, "ZZZZ2222"))
    # typed in lower case with a space, as people do
    text = texts(say(user, code[:4].lower() + " " + code[4:].lower()))
    assert "Xác nhận thành công" in text
    assert binding(demo_db, 5003)[0] == "TD_005"
    fake.assert_clean()


def test_expired_code_and_throttling_after_five_wrong_codes(fake, bot, demo_db):
    expired = make_invite(demo_db, "TD_003", now=utcnow() - timedelta(days=40))
    good = make_invite(demo_db, "TD_006")
    user = fake.user(5004)
    assert "hết hạn" in texts(say(user, f"/start {expired}"))
    for _ in range(4):
        say(user, "WRONG234")
    # five failures within the hour: even the right code waits now
    text = texts(say(user, good))
    assert "quá nhiều lần" in text
    assert binding(demo_db, 5004) is None


def test_stranger_learns_nothing_and_commands_need_binding(fake, bot, demo_db):
    user = fake.user(5005)
    for message in ("/baocao", "Chỉ tiêu của đơn vị tôi là bao nhiêu?", "/menu"):
        text = texts(say(user, message))
        assert "mã mời" in text
    with Session(make_engine(demo_db)) as s:
        names = [u.name for u in s.exec(select(Unit)).all()]
    seen = " ".join(m.text or "" for m in user.messages())
    assert not any(name in seen for name in names)
    fake.assert_clean()


def test_officer_invite_and_english_user(fake, bot, demo_db):
    code = make_invite(demo_db, "CDX_TD", Role.OFFICER)
    user = fake.user(5006, language_code="en")
    text = texts(say(user, f"/start {code}"))
    assert "officer of the upper-level union" in text
    assert binding(demo_db, 5006) == ("CDX_TD", Role.OFFICER)
    # /ngonngu switches to Vietnamese and it sticks
    say(user, "/ngonngu")
    press(user, "Tiếng Việt")
    assert "Bạn muốn làm gì?" in texts(say(user, "/menu"))
    with Session(make_engine(demo_db)) as s:
        actions = [a.action for a in s.exec(select(AuditLog)).all()]
    assert "invite.redeem" in actions
    fake.assert_clean()
