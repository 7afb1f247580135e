"""Commands as data: one entry in handlers/commands.py reaches the router, the menu, /help and channel menus."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from bot.channels.telegram import bot_commands
from bot.i18n import use_language
from bot.models import Role
from dialog import CoreChat
from handlers import commands
from handlers.base import Ctx
from worlds import bind

NOW = datetime(2026, 11, 21, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def chat(demo_engine, settings):
    def make(unit_code: str, role: Role, user_id: str) -> CoreChat:
        bind(demo_engine, unit_code, user_id, channel="test", role=role)
        return CoreChat(demo_engine, settings, user_id=user_id, now=NOW)
    return make


@pytest.fixture
def trial_command(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Register one extra command for officers and staff, with an alias, a menu button and a help line."""
    ran: list[str] = []

    def cmd_trial(ctx: Ctx, args: str) -> None:
        ran.append(args)
        ctx.say(f"trial ran with {args or 'nothing'}")

    entry = commands.Command("thunghiem", cmd_trial, "Trial command", who=commands.LEADERS, aliases=("trial",),
                             menu="Trial button", menu_row=4,
                             help=(commands.HelpLine("/thunghiem — a trial command", commands.LEADERS),))
    monkeypatch.setattr(commands, "COMMANDS", [*commands.COMMANDS, entry])
    return ran


def test_a_command_added_in_one_place_reaches_router_menu_help_and_channel_menu(chat, trial_command, demo_engine,
                                                                                 settings):
    officer = chat("CDX_TD", Role.OFFICER, "701")
    chair = chat("TD_001", Role.CHAIR, "702")

    # the router: the name and its alias run the handler; strangers are asked for their invite code
    officer.send("/thunghiem 2026-Q3")
    assert officer.text == "trial ran with 2026-Q3"
    officer.send("/trial")
    assert officer.text == "trial ran with nothing"
    stranger = CoreChat(demo_engine, settings, user_id="703", now=NOW)
    stranger.send("/thunghiem")
    assert "trial ran" not in stranger.text and "mã" in stranger.text
    assert trial_command == ["2026-Q3", ""]

    # the menu: a button for officers (in its row, after Excel and Chart), none for chairs
    officer.send("/menu")
    rows = [[o.label for o in row] for row in officer.last_reply.options]
    assert ["Excel", "Biểu đồ", "Trial button"] in rows
    officer.press("Trial button")
    assert officer.text == "trial ran with nothing"
    chair.send("/menu")
    assert "Trial button" not in chair.options() and "Báo cáo" in chair.options()

    # /help: the line for officers, not for chairs nor strangers
    officer.send("/help")
    assert "/thunghiem — a trial command" in officer.text
    chair.send("/help")
    assert "/thunghiem" not in chair.text and "/baocao" in chair.text
    stranger.send("/help")
    assert "/thunghiem" not in stranger.text

    # Telegram's command menu lists it (not its alias)
    with use_language("vi"):
        listed = {c.command: c.description for c in bot_commands(commands.channel_menu())}
    assert listed["thunghiem"] == "Trial command" and "trial" not in listed


def test_the_menus_by_role_are_those_of_the_registry():
    member = [["Báo cáo"], ["Chỉ tiêu", "Tiến độ", "Hạn nộp"]]
    leader = [["Tổng hợp", "Xếp hạng", "Duyệt"], ["Excel", "Biểu đồ"], ["Gửi thông báo", "Thông báo đã gửi"]]
    last = [["Trợ giúp", "Ngôn ngữ"]]
    with use_language("vi"):
        def labels(role: str) -> list[list[str]]:
            return [[o.label for o in row] for row in commands.menu_rows(role)]
        assert labels(Role.CHAIR) == member + last
        for role in (Role.OFFICER, Role.STAFF, Role.ADMIN):
            assert labels(role) == member + leader + last
        assert all(o.data.startswith("/") and commands.find(o.data[1:]) for row in commands.menu_rows(Role.STAFF)
                   for o in row)


def test_every_command_is_in_telegrams_menu_once_with_a_valid_name_and_description():
    names = [name for c in commands.COMMANDS for name in c.names]
    assert len(names) == len(set(names))  # no name or alias is taken twice
    for lang in ("vi", "en"):
        with use_language(lang):
            listed = bot_commands(commands.channel_menu())
        assert [c.command for c in listed] == [c.name for c in commands.COMMANDS]
        for c in listed:
            assert re.fullmatch(r"[a-z0-9_]{1,32}", c.command) and 1 <= len(c.description) <= 256
    for name in ("baocao", "tonghop", "xuatexcel", "bieudo", "thongbao", "thongbao_ds", "nhaclai", "danhan", "menu"):
        assert name in [c.name for c in commands.channel_menu(commands.MEMBERS)]


def test_public_commands_are_the_ones_strangers_may_use():
    public = sorted(name for c in commands.COMMANDS if c.public for name in c.names)
    # /lienket CODE is typed on the second chat app, before that account is bound (handlers/linking.py)
    assert public == ["help", "language", "lienket", "ngonngu", "start", "trogiup"]
