"""Hostile arguments and texts get a polite answer, never the catch-all "something went wrong"."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlmodel import Session, select

from bot.clock import to_utc
from bot.messages import plain, split_text
from bot.models import ConversationState, Role
from dialog import CoreChat
from bot.channels.telegram import LIMITS
from standin.html_check import parse_html

TEXT_LIMIT = LIMITS.text_length  # Telegram's, the channel these texts are split for
from worlds import TEST_ROUND, add_test_round, bind, small_province

NOW = to_utc(datetime(2026, 12, 5, 9, 0))
ERROR_MARK = "hệ thống vừa gặp sự cố"
# digit-like characters str.isdigit accepts (int refuses "²"), Arabic-Indic digits, numbers past any id
HOSTILE_NUMBERS = ["²", "³", "١٢", "12345678901234567890", str(2**31), str(2**63), "٣", "-1", "0"]
COMMANDS = ["/thongbao_ds", "/danhan", "/nhaclai", "/tonghop", "/xephang", "/xuatexcel", "/bieudo", "/chitieu",
            "/tiendo", "/hannop", "/baocao"]


@pytest.fixture
def world(engine):
    return small_province(engine, opens=date(2026, 12, 1), deadline=date(2026, 12, 18), submitted_units=0)


def version(engine, user_id: str) -> int:
    with Session(engine) as s:
        return s.exec(select(ConversationState).where(ConversationState.external_id == user_id)).one().version


def answered_politely(chat: CoreChat) -> None:
    response = chat.history[-1]
    assert response.replies, "no answer"
    assert ERROR_MARK not in chat.text and "sự cố" not in (response.toast or ""), chat.text


def test_hostile_numbers_in_commands_are_refused_politely(engine, settings, world):
    add_test_round(engine)
    for user_id in (world["staff"], world["chairs"]["G01"]):
        chat = CoreChat(engine, settings, user_id=str(user_id), channel="telegram", now=NOW)
        for number in HOSTILE_NUMBERS:
            for command in COMMANDS:
                chat.send(f"{command} {number}")
                answered_politely(chat)
                chat.send(f"{command} {TEST_ROUND} {number}")
                answered_politely(chat)
    staff = CoreChat(engine, settings, user_id=str(world["staff"]), channel="telegram", now=NOW)
    staff.send("/thongbao_ds ²")
    assert "Không có thông báo này" in staff.text
    staff.send("/thongbao_ds 12345678901234567890")
    assert "Không có thông báo này" in staff.text


def test_hostile_button_data_is_refused_politely(engine, settings, world):
    add_test_round(engine)
    chat = CoreChat(engine, settings, user_id=str(world["staff"]), channel="telegram", now=NOW)
    chat.send("/menu")
    for number in HOSTILE_NUMBERS:
        for flow_action in ("notice:remind", "notice:export", "notice:union", "ask:unit", "report:round",
                            "report:pick", "report:line"):
            chat.press_data(f"s{version(engine, chat.user_id)}:{flow_action}:{number}")
            answered_politely(chat)
        chat.press_data(f"s{number}:notice:remind:1")  # a hostile step version
        answered_politely(chat)
        assert "đã qua" in chat.text
    chair = CoreChat(engine, settings, user_id=str(world["chairs"]["G01"]), channel="telegram", now=NOW)
    chair.send(f"/baocao {TEST_ROUND}")
    chair.send("1")
    chair.send("2")
    for number in HOSTILE_NUMBERS:
        for action in ("pick", "line", "round"):
            chair.press_data(f"s{version(engine, chair.user_id)}:report:{action}:{number}")
            answered_politely(chair)


def test_a_notice_of_4000_ampersands_can_be_previewed(engine, settings, world):
    chat = CoreChat(engine, settings, user_id=str(world["staff"]), channel="telegram", now=NOW)
    chat.send("/thongbao")
    chat.send("&" * 4000)
    chat.press("Tất cả Chủ tịch CĐCS")
    chat.press("Xem trước")
    assert "Số người nhận: 20" in chat.text
    notice = chat.history[-1].replies[0].text
    chunks = split_text(notice, TEXT_LIMIT)
    for chunk in chunks:  # what the channel sends: each part must parse as Telegram's HTML
        assert len(chunk) <= 4096
        parse_html(chunk, strict=True)
    assert "".join(plain(c) for c in chunks).count("&") == 4000


def test_an_edited_message_changes_nothing_and_says_how_to_change_a_figure(engine, settings, world):
    from bot.messages import Incoming
    from bot.models import ReportDraft
    from handlers import router

    add_test_round(engine)
    user = str(world["chairs"]["G01"])
    chair = CoreChat(engine, settings, user_id=user, channel="telegram", now=NOW)
    chair.send(f"/baocao {TEST_ROUND}")
    chair.send("25")
    assert "mục 2/10" in chair.text
    state_before = version(engine, user)
    edit = Incoming(channel="telegram", user_id=user, chat_id=user, text="40", language_code="vi", edited=True)
    response = router.handle(engine, settings, edit, now=NOW)
    text = "\n".join(plain(r.text) for r in response.replies)
    assert "Bạn vừa sửa một tin nhắn đã gửi" in text and "gõ /baocao rồi bấm Sửa số liệu" in text
    assert version(engine, user) == state_before  # the step and its buttons are as they were
    with Session(engine) as s:
        assert list(s.exec(select(ReportDraft)).one().values.values()) == [25]
    chair.send("12")  # the conversation goes on where it was
    assert "mục 3/10" in chair.text


def test_typed_union_numbers_in_a_notice_are_read_as_ascii_only(engine, settings, world):
    chat = CoreChat(engine, settings, user_id=str(world["staff"]), channel="telegram", now=NOW)
    chat.send("/thongbao")
    chat.send("Họp ban chấp hành")
    chat.press("Chủ tịch CĐCS thuộc công đoàn cấp trên được chọn")
    for typed in ("²", "1 ²", "12345678901234567890", "٢"):
        chat.send(typed)
        answered_politely(chat)
    chat.send("2")
    assert "Đã chọn: 1" in chat.text


def _zip(*names: str) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64 + b"This program cannot be run in DOS mode"
DOCX = _zip("[Content_Types].xml", "_rels/.rels", "word/document.xml")


def test_a_notice_file_is_judged_by_its_content(engine, settings, world):
    from bot.messages import FileRef, Incoming
    from handlers import router

    user = str(world["staff"])

    def send_file(name: str, mime: str | None, content: bytes | None, size: int | None = None) -> str:
        reader = (lambda: content) if content is not None else None
        incoming = Incoming(channel="telegram", user_id=user, chat_id=user, language_code="vi",
                            file=FileRef(f"F-{name}", name, mime, size if size is not None else len(content or b""),
                                         read=reader))
        response = router.handle(engine, settings, incoming, now=NOW)
        assert response.replies and ERROR_MARK not in response.replies[0].text
        return "\n".join(plain(r.text) for r in response.replies)

    chat = CoreChat(engine, settings, user_id=user, channel="telegram", now=NOW)
    chat.send("/thongbao")
    assert "không phải tài liệu PDF hoặc DOCX thật" in send_file("cong-van.pdf", "application/pdf", EXE)
    assert "không phải tài liệu PDF hoặc DOCX thật" in send_file("cong-van.docx", None, _zip("a.exe"))
    assert "không khớp với tên" in send_file("cong-van.pdf", "application/pdf", DOCX)
    assert "quá lớn" in send_file("cong-van.pdf", "application/pdf", b"%PDF-1.4", size=30 * 1024 * 1024)
    assert "gửi lại" in send_file("cong-van.pdf", "application/pdf", None)  # the channel could not read it
    assert "PDF hoặc DOCX" in send_file("setup.exe", "application/x-msdownload", EXE)
    with Session(engine) as s:  # still composing, no file taken
        state = s.exec(select(ConversationState).where(ConversationState.external_id == user)).one()
        assert state.flow == "notice" and not state.data.get("file_id")
    assert "Đã nhận tệp: cong-van.pdf" in send_file("cong-van.pdf", "application/pdf", b"%PDF-1.4\n%%EOF")
