"""Tests of the Bot API stand-in itself (tests/standin), through real HTTP.

Raw ``httpx`` requests check the wire format and strictness rules; a real
python-telegram-bot ``Bot`` / ``Application`` checks that PTB works against it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.standin import FakeTelegram, FakeUser
from tests.standin.html_check import EntityParseError, parse_html, parse_markdown_v2
from tests.standin.spec import ApiSpec, default_spec_path

pytestmark = pytest.mark.e2e

TOKEN = "123456:TEST-TOKEN"
PNG_16x8 = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000100000000808020000") + b"\0" * 32


# ------------------------------------------------------------------- fixtures


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def lan(fake: FakeTelegram) -> FakeUser:
    user = fake.user(1001, first_name="Lan")
    user.send("/start")
    return user


def call(fake: FakeTelegram, client: httpx.Client, method: str, **params: Any) -> httpx.Response:
    """POST a JSON request like most Bot API libraries do."""
    return client.post(f"{fake.base_url}{fake.token}/{method}", json=params)


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200 and body["ok"] is True, body
    return body["result"]


def err(response: httpx.Response, code: int = 400) -> str:
    body = response.json()
    assert response.status_code == code, body
    assert body["ok"] is False and body["error_code"] == code, body
    return str(body["description"])


def kb(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"inline_keyboard": [list(buttons)]}


# --------------------------------------------------------------- HTTP basics


def test_urls_and_get_me(fake: FakeTelegram, http: httpx.Client) -> None:
    assert fake.base_url == f"http://127.0.0.1:{fake.port}/bot"
    assert fake.file_base_url == f"http://127.0.0.1:{fake.port}/file/bot"
    assert fake.api_root == f"http://127.0.0.1:{fake.port}"
    me = ok(http.get(f"{fake.base_url}{TOKEN}/getMe"))
    assert me["id"] == 123456 and me["is_bot"] is True
    assert me["username"] == "congdoan_test_bot" and me["first_name"]
    assert ok(http.get(f"{fake.base_url}{TOKEN}/GETME"))["id"] == 123456  # case-insensitive


def test_public_hooks_see_each_message_and_each_call(fake: FakeTelegram, http: httpx.Client,
                                                     lan: FakeUser) -> None:
    """What benchmarks use instead of the stand-in's internals."""
    messages: list[tuple[int, str, str]] = []
    calls: list[tuple[str, float]] = []
    fake.add_message_hook(lambda chat_id, kind, msg: messages.append((chat_id, kind, msg.text)))
    fake.add_call_hook(lambda method, seconds: calls.append((method, seconds)))
    sent = ok(call(fake, http, "sendMessage", chat_id=lan.chat_id, text="Xin chào"))
    ok(call(fake, http, "editMessageText", chat_id=lan.chat_id, message_id=sent["message_id"], text="Chào"))
    ok(call(fake, http, "getUpdates", timeout=0))
    assert messages == [(lan.chat_id, "sent", "Xin chào"), (lan.chat_id, "edited", "Chào")]
    assert [m for m, _s in calls] == ["sendMessage", "editMessageText"]  # getUpdates is left out
    assert all(0 <= seconds < 5 for _m, seconds in calls)


def test_wrong_token_and_unknown_method(fake: FakeTelegram, http: httpx.Client) -> None:
    response = http.post(f"{fake.base_url}999:WRONG/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    response = call(fake, http, "sendTelepathy", chat_id=1)
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert response.headers["content-type"] == "application/json"
    assert len(fake.violations) == 1 and "sendTelepathy" in fake.violations[0]


def test_request_encodings(fake: FakeTelegram, http: httpx.Client, lan: FakeUser) -> None:
    url = f"{fake.base_url}{TOKEN}/sendMessage"
    markup = '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}'
    # urlencoded form: everything is a string, objects are JSON text
    msg = ok(http.post(url, data={"chat_id": "1001", "text": "form", "reply_markup": markup}))
    assert msg["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
    # multipart without files
    msg = ok(http.post(url, data={"chat_id": "1001", "text": "multi", "reply_markup": markup},
                       files={"unused": ("x.txt", b"x")}))
    assert msg["text"] == "multi"
    assert any("unused" in v for v in fake.violations)
    fake.clear_violations()
    # query string on GET
    msg = ok(http.get(url, params={"chat_id": 1001, "text": "query"}))
    assert msg["text"] == "query" and msg["chat"] == {"id": 1001, "type": "private",
                                                      "first_name": "Lan"}
    # keep-alive + no Nagle/delayed-ACK stalls: many small requests are fast
    start = time.perf_counter()
    for i in range(30):
        ok(http.post(url, json={"chat_id": 1001, "text": f"n{i}"}))
    assert (time.perf_counter() - start) / 30 < 0.03  # a delayed-ACK stall is ~40 ms
    assert [m.text for m in lan.messages()][:3] == ["form", "multi", "query"]
    assert lan.messages()[-1].message_id == lan.messages()[0].message_id + 32
    assert fake.violations == []


# ----------------------------------------------------------- python-telegram-bot


@pytest.mark.asyncio
async def test_ptb_bot_end_to_end(fake: FakeTelegram) -> None:
    lan = fake.user(1001, first_name="Lan", username="lan_cd")
    lan.send("/start ABC123")
    lan.send_document(b"%PDF-1.4 member list", file_name="danh sach.pdf",
                      mime_type="application/pdf", caption="Danh sách")
    bot = Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.file_base_url)
    async with bot:
        me = await bot.get_me()
        assert me.username == "congdoan_test_bot" and me.id == 123456
        updates = await bot.get_updates(timeout=1)
        assert [u.update_id for u in updates] == [1, 2]
        start = updates[0].message
        assert start.text == "/start ABC123"
        assert start.entities[0].type == "bot_command" and start.entities[0].length == 6
        assert start.from_user.username == "lan_cd"

        # sendMessage with HTML and an inline keyboard
        markup = InlineKeyboardMarkup([[
            InlineKeyboardButton("Báo cáo", callback_data="report"),
            InlineKeyboardButton("Trang web", url="https://congdoan.vn"),
        ]])
        sent = await bot.send_message(1001, "<b>Chào Lan</b> &amp; 👋 <i>bạn</i>",
                                      parse_mode=ParseMode.HTML, reply_markup=markup)
        assert sent.text == "Chào Lan & 👋 bạn"
        assert [(e.type, e.offset, e.length) for e in sent.entities] == [
            ("bold", 0, 8), ("italic", 14, 3)]  # 👋 is two UTF-16 units
        assert sent.reply_markup == markup
        assert lan.last is not None and lan.last.buttons == ["Báo cáo", "Trang web"]
        assert lan.last.raw_text.startswith("<b>")

        # editMessageText keeps history
        edited = await bot.edit_message_text("Đã cập nhật", chat_id=1001,
                                             message_id=sent.message_id, reply_markup=markup)
        assert edited.text == "Đã cập nhật" and edited.edit_date is not None
        assert lan.last.text == "Đã cập nhật" and lan.last.edits[0]["text"] == "Chào Lan & 👋 bạn"

        # sendDocument with bytes, read back from the fake
        doc = await bot.send_document(1001, b"ho_ten;so_the\nLan;1\n", filename="bao_cao.csv",
                                      caption="<b>Báo cáo</b>", parse_mode="HTML")
        assert doc.document.file_name == "bao_cao.csv" and doc.document.file_size == 20
        assert doc.caption == "Báo cáo"
        assert lan.last.content == b"ho_ten;so_the\nLan;1\n"
        assert fake.file_content(doc.document.file_id) == lan.last.content

        # getFile + download of the user's document
        user_doc = updates[1].message.document
        assert user_doc.file_name == "danh sach.pdf" and updates[1].message.caption == "Danh sách"
        tg_file = await bot.get_file(user_doc.file_id)
        assert tg_file.file_path.startswith(fake.file_base_url)
        assert bytes(await tg_file.download_as_bytearray()) == b"%PDF-1.4 member list"

        # sendPhoto: PhotoSize array
        photo = await bot.send_photo(1001, PNG_16x8, caption="ảnh")
        assert (photo.photo[-1].width, photo.photo[-1].height) == (16, 8)

        # answerCallbackQuery
        query_id = lan.press("Báo cáo")
        assert fake.unanswered_callbacks() == [query_id]
        updates = await bot.get_updates(offset=3, timeout=1)
        query = updates[-1].callback_query
        assert query.id == query_id and query.data == "report"
        assert query.message.message_id == sent.message_id
        assert await query.answer("Đang tạo…") is True
        assert fake.unanswered_callbacks() == []
        assert lan.callback_answer(query_id) == {"text": "Đang tạo…"}
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query(query_id)

        # reply keyboards are tracked per chat; chat actions too
        await bot.send_message(1001, "Chọn", reply_markup=ReplyKeyboardMarkup([["Có", "Không"]]))
        assert lan.reply_keyboard == [["Có", "Không"]]
        await bot.send_chat_action(1001, "typing")
        assert lan.chat_actions == ["typing"]

        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_text("Đã cập nhật", chat_id=1001,
                                        message_id=sent.message_id, reply_markup=markup)
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(424242, "ai đó?")
    assert fake.violations == [
        "answerCallbackQuery: Bad Request: query is too old and response timeout expired "
        "or query ID is invalid",
        "editMessageText: Bad Request: message is not modified: specified new message content "
        "and reply markup are exactly the same as a current content and reply markup of the "
        "message",
        "sendMessage: Bad Request: chat not found",
    ]


@pytest.mark.asyncio
async def test_ptb_media_group_and_other_methods(fake: FakeTelegram) -> None:
    lan = fake.user(1001, first_name="Lan")
    lan.send("hi")
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.file_base_url) as bot:
        album = await bot.send_media_group(1001, [
            InputMediaPhoto(PNG_16x8, caption="<b>Ảnh</b>", parse_mode="HTML"),
            InputMediaVideo(b"fake video"),
        ])
        assert len({m.media_group_id for m in album}) == 1 and album[0].caption == "Ảnh"
        assert album[0].photo and album[1].video is not None
        docs = await bot.send_media_group(1001, [
            InputMediaDocument(b"a", filename="a.txt"), InputMediaDocument(b"b", filename="b.txt")])
        assert [m.document.file_name for m in docs] == ["a.txt", "b.txt"]
        assert [m.content for m in lan.messages()[-2:]] == [b"a", b"b"]
        # methods without special support still return a plausible result
        location = await bot.send_location(1001, 21.03, 105.85)
        assert location.chat.id == 1001
        await bot.set_my_commands([("help", "Trợ giúp")])
        assert fake.commands() == [{"command": "help", "description": "Trợ giúp"}]
        assert (await bot.get_chat_menu_button(1001)).type == "commands"
        assert await bot.log_out() is True and await bot.close() is True
    assert fake.violations == []
    # a malformed JSON body is a violation
    with httpx.Client() as client:
        response = client.post(f"{fake.base_url}{TOKEN}/sendMessage", content=b"{",
                               headers={"Content-Type": "application/json"})
    assert err(response) == "Bad Request: can't parse JSON encoded request body"
    assert fake.violations == ["sendMessage: Bad Request: can't parse JSON encoded request body"]


# --------------------------------------------------------------- long polling


def test_long_polling_is_prompt_and_honours_offset(fake: FakeTelegram,
                                                   http: httpx.Client) -> None:
    lan = fake.user(1001, first_name="Lan")
    result: dict[str, Any] = {}

    def poll() -> None:
        result["updates"] = ok(call(fake, http, "getUpdates", timeout=5))
        result["at"] = time.monotonic()

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.2)
    assert "updates" not in result  # still waiting
    sent_at = time.monotonic()
    lan.send("xin chào")
    poller.join(timeout=5)
    assert result["at"] - sent_at < 0.5
    [update] = result["updates"]
    assert update["update_id"] == 1 and update["message"]["text"] == "xin chào"

    # without an offset the update is delivered again; offset confirms it
    assert len(ok(call(fake, http, "getUpdates"))) == 1
    lan.send("2")
    lan.send("3")
    updates = ok(call(fake, http, "getUpdates", offset=2, limit=1))
    assert [u["update_id"] for u in updates] == [2]
    assert fake.pending_updates == 2
    updates = ok(call(fake, http, "getUpdates", offset=-1))
    assert [u["update_id"] for u in updates] == [3]
    assert ok(call(fake, http, "getUpdates", offset=4, timeout=0)) == []

    # allowed_updates filters (and drops) other types
    lan.send("ignored")
    lan.press_raw("x", message_id=1)  # the query may point to any message
    updates = ok(call(fake, http, "getUpdates", offset=4, allowed_updates=["callback_query"]))
    assert [list(u)[1] for u in updates] == ["callback_query"]
    started = time.monotonic()
    assert ok(call(fake, http, "getUpdates", offset=6, timeout=1)) == []
    assert 0.95 < time.monotonic() - started < 1.5
    assert fake.violations == []


def test_webhook_conflict_and_drop_pending(fake: FakeTelegram, http: httpx.Client) -> None:
    fake.user(1, first_name="A").send("hi")
    ok(call(fake, http, "setWebhook", url="https://example.org/hook"))
    assert ok(call(fake, http, "getWebhookInfo"))["url"] == "https://example.org/hook"
    assert "Conflict" in err(call(fake, http, "getUpdates"), 409)
    assert ok(call(fake, http, "deleteWebhook", drop_pending_updates=True)) is True
    assert ok(call(fake, http, "getUpdates")) == []
    assert ok(call(fake, http, "getWebhookInfo")) == {
        "url": "", "has_custom_certificate": False, "pending_update_count": 0}


# ----------------------------------------------------------- spec validation


def test_spec_validation(fake: FakeTelegram, http: httpx.Client, lan: FakeUser) -> None:
    assert err(call(fake, http, "sendMessage", text="x")) == "Bad Request: chat_id is empty"
    assert err(call(fake, http, "sendMessage", chat_id=1001)) == \
        "Bad Request: message text is empty"
    assert "must be of type Integer" in err(
        call(fake, http, "deleteMessage", chat_id=1001, message_id="abc"))
    assert "can't parse reply_markup JSON object" in err(
        http.post(f"{fake.base_url}{TOKEN}/sendMessage",
                  data={"chat_id": "1001", "text": "x", "reply_markup": "{oops"}))
    assert len(fake.violations) == 4
    fake.clear_violations()

    # unknown parameters work (Telegram ignores them) but are violations
    ok(call(fake, http, "sendMessage", chat_id=1001, text="x", disable_web_page_preview=True))
    ok(call(fake, http, "sendMessage", chat_id=1001, text="x",
            reply_markup=kb({"text": "A", "callback_data": "a", "colour": "red"})))
    assert fake.violations == [
        "sendMessage: unknown parameter 'disable_web_page_preview'",
        "sendMessage: reply_markup.inline_keyboard[0][0]: unknown field 'colour' for "
        "InlineKeyboardButton",
    ]


def test_chat_must_be_known(fake: FakeTelegram, http: httpx.Client) -> None:
    silent = fake.user(2002, first_name="Hoa")
    assert err(call(fake, http, "sendMessage", chat_id=2002, text="x")) == \
        "Bad Request: chat not found"
    assert err(call(fake, http, "sendMessage", chat_id="@hoa", text="x")) == \
        "Bad Request: chat not found"
    fake.user(2002, started=True)
    assert ok(call(fake, http, "sendMessage", chat_id=2002, text="x"))["text"] == "x"
    assert silent.last is not None and silent.last.text == "x"
    assert len(fake.violations) == 2


def test_text_and_caption_limits(fake: FakeTelegram, http: httpx.Client, lan: FakeUser) -> None:
    assert ok(call(fake, http, "sendMessage", chat_id=1001, text="ă" * 4096))
    assert err(call(fake, http, "sendMessage", chat_id=1001, text="ă" * 4097)) == \
        "Bad Request: message is too long"
    # length counts after entity parsing
    assert ok(call(fake, http, "sendMessage", chat_id=1001,
                   text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML"))
    assert err(call(fake, http, "sendMessage", chat_id=1001, text="")) == \
        "Bad Request: message text is empty"
    assert err(call(fake, http, "sendMessage", chat_id=1001, text=" \n ")) == \
        "Bad Request: message text is empty"
    assert err(call(fake, http, "sendMessage", chat_id=1001, text="<b></b>",
                    parse_mode="HTML")) == "Bad Request: message text is empty"
    # Telegram trims surrounding whitespace
    assert ok(call(fake, http, "sendMessage", chat_id=1001, text="\n  hi  \n"))["text"] == "hi"
    files = {"document": ("a.txt", b"abc", "text/plain")}
    url = f"{fake.base_url}{TOKEN}/sendDocument"
    assert err(http.post(url, data={"chat_id": "1001", "caption": "c" * 1025}, files=files)) == \
        "Bad Request: message caption is too long"
    assert ok(http.post(url, data={"chat_id": "1001", "caption": "c" * 1024}, files=files))
    assert len(fake.violations) == 5


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("x<br>y", 'Unsupported start tag "br" at byte offset 1'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="bold">x</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("Q&A", 'unescaped "&" at byte offset 1'),
        ("&nbsp;", 'unescaped "&" at byte offset 0'),
        ("Đoàn <viên>", 'Unsupported start tag "viên" at byte offset 7'),
    ],
)
def test_html_errors(fake: FakeTelegram, http: httpx.Client, lan: FakeUser,
                     html: str, error: str) -> None:
    description = err(call(fake, http, "sendMessage", chat_id=1001, text=html,
                           parse_mode="HTML"))
    assert description.startswith("Bad Request: can't parse entities: ")
    assert error in description
    assert fake.violations == [f"sendMessage: {description}"]


def test_html_valid_markup() -> None:
    text, entities = parse_html(
        '<b>B <i>I</i></b> <u>u</u><s>s</s> <tg-spoiler>sp</tg-spoiler>'
        '<span class="tg-spoiler">s2</span> <a href="https://x.vn/?a=1&amp;b=2">link</a> '
        '<code>c &lt;3</code>\n<pre><code class="language-python">print(1)</code></pre>'
        '<blockquote expandable>q</blockquote>&#128512;&#x1F600;&quot;'
    )
    assert text == 'B I us sps2 link c <3\nprint(1)q😀😀"'
    kinds = {e["type"]: e for e in entities}
    assert kinds["text_link"]["url"] == "https://x.vn/?a=1&b=2"
    assert kinds["pre"]["language"] == "python" and "code" in kinds
    assert kinds["expandable_blockquote"]["length"] == 1
    assert [e["type"] for e in entities][:2] == ["bold", "italic"]
    # lenient mode behaves like real Telegram for stray ampersands
    assert parse_html("Q&A", strict=False) == ("Q&A", [])
    with pytest.raises(EntityParseError):
        parse_html("Q&A")


def test_parse_modes(fake: FakeTelegram, http: httpx.Client, lan: FakeUser) -> None:
    msg = ok(call(fake, http, "sendMessage", chat_id=1001,
                  text="*đậm* _nghiêng_ __gạch__ ||ẩn|| `mã` [web](https://x.vn) 1\\.5",
                  parse_mode="MarkdownV2"))
    assert msg["text"] == "đậm nghiêng gạch ẩn mã web 1.5"
    assert [e["type"] for e in msg["entities"]] == [
        "bold", "italic", "underline", "spoiler", "code", "text_link"]
    assert "Character '.' is reserved" in err(call(
        fake, http, "sendMessage", chat_id=1001, text="Hết.", parse_mode="MarkdownV2"))
    assert "Can't find end of Bold entity" in err(call(
        fake, http, "sendMessage", chat_id=1001, text="*a", parse_mode="MarkdownV2"))
    assert ok(call(fake, http, "sendMessage", chat_id=1001, text="*b* x",
                   parse_mode="Markdown"))["text"] == "b x"
    assert err(call(fake, http, "sendMessage", chat_id=1001, text="x",
                    parse_mode="html5")) == "Bad Request: unsupported parse_mode"
    # no parse_mode: never parsed
    plain = ok(call(fake, http, "sendMessage", chat_id=1001, text="<b>a & b</b> *c."))
    assert plain["text"] == "<b>a & b</b> *c." and "entities" not in plain
    assert parse_markdown_v2(">trích\n>dẫn\nhết")[1] == [
        {"type": "blockquote", "offset": 0, "length": 9}]
    assert len(fake.violations) == 3


# ------------------------------------------------------------ inline keyboards


@pytest.mark.parametrize(
    ("button", "error"),
    [
        ({"text": "X", "callback_data": "ệ" * 22}, "Bad Request: BUTTON_DATA_INVALID"),  # 66 bytes
        ({"text": "X", "callback_data": ""}, "Bad Request: BUTTON_DATA_INVALID"),
        ({"text": "X"}, "Bad Request: can't parse inline keyboard button: Text buttons are "
                        "unallowed in the inline keyboard"),
        ({"text": "", "callback_data": "a"}, "Text buttons are unallowed"),
        ({"text": "X", "callback_data": "a", "url": "https://x.vn"}, "exactly one"),
        ({"text": "X", "url": "congdoan.vn"}, "Bad Request: BUTTON_URL_INVALID"),
        ({"callback_data": "a"}, 'Field "text" must be of type String'),
    ],
)
def test_inline_keyboard_rules(fake: FakeTelegram, http: httpx.Client, lan: FakeUser,
                               button: dict[str, Any], error: str) -> None:
    description = err(call(fake, http, "sendMessage", chat_id=1001, text="x",
                           reply_markup=kb(button)))
    assert error in description
    assert fake.violations == [f"sendMessage: {description}"]


def test_callback_data_limit_is_in_bytes(fake: FakeTelegram, http: httpx.Client,
                                         lan: FakeUser) -> None:
    ok(call(fake, http, "sendMessage", chat_id=1001, text="x",
            reply_markup=kb({"text": "X", "callback_data": "ệ" * 21 + "a"})))  # 64 bytes
    assert fake.violations == []


# ------------------------------------------------------------------ callbacks


def test_callback_tracking(fake: FakeTelegram, http: httpx.Client, lan: FakeUser) -> None:
    first = ok(call(fake, http, "sendMessage", chat_id=1001, text="Menu",
                    reply_markup={"inline_keyboard": [
                        [{"text": "Báo cáo", "callback_data": "menu:report"}],
                        [{"text": "Web", "url": "https://congdoan.vn"}]]}))
    ok(call(fake, http, "sendMessage", chat_id=1001, text="no keyboard"))
    assert lan.buttons() == ["Báo cáo", "Web"]
    q1 = lan.press("Báo cáo")  # finds the latest message *with* a keyboard
    q2 = lan.press(data="menu:report", message_id=first["message_id"])
    q3 = lan.press_raw("admin:delete_all")
    assert fake.unanswered_callbacks() == [q1, q2, q3]
    updates = ok(call(fake, http, "getUpdates"))
    queries = [u["callback_query"] for u in updates if "callback_query" in u]
    assert [q["data"] for q in queries] == ["menu:report", "menu:report", "admin:delete_all"]
    assert queries[0]["message"]["message_id"] == first["message_id"]
    assert queries[2]["message"]["text"] == "no keyboard"
    assert queries[0]["from"]["id"] == 1001

    assert ok(call(fake, http, "answerCallbackQuery", callback_query_id=q1, text="OK")) is True
    assert fake.unanswered_callbacks() == [q2, q3]
    invalid = ("Bad Request: query is too old and response timeout expired or query ID is "
               "invalid")
    assert err(call(fake, http, "answerCallbackQuery", callback_query_id=q1)) == invalid
    assert err(call(fake, http, "answerCallbackQuery", callback_query_id="123")) == invalid
    assert len(fake.violations) == 2

    with pytest.raises(AssertionError, match=r"no button 'Xoá'.*\['Báo cáo'\], \['Web'\]"):
        lan.press("Xoá")
    with pytest.raises(AssertionError, match="not a callback button"):
        lan.press("Web")
    with pytest.raises(AssertionError, match="unanswered callback"):
        fake.assert_clean()


# ------------------------------------------------------------------- editing


def test_edit_rules(fake: FakeTelegram, http: httpx.Client, lan: FakeUser) -> None:
    markup = kb({"text": "A", "callback_data": "a"})
    msg = ok(call(fake, http, "sendMessage", chat_id=1001, text="<b>v1</b>", parse_mode="HTML",
                  reply_markup=markup))
    mid = msg["message_id"]
    not_modified = ("Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message")
    assert err(call(fake, http, "editMessageText", chat_id=1001, message_id=mid,
                    text="<b>v1</b>", parse_mode="HTML", reply_markup=markup)) == not_modified
    # same text but entities differ -> modified
    ok(call(fake, http, "editMessageText", chat_id=1001, message_id=mid, text="v1",
            reply_markup=markup))
    # editMessageText without reply_markup removes the keyboard
    edited = ok(call(fake, http, "editMessageText", chat_id=1001, message_id=mid, text="v1"))
    assert "reply_markup" not in edited
    assert err(call(fake, http, "editMessageReplyMarkup", chat_id=1001,
                    message_id=mid)) == not_modified
    ok(call(fake, http, "editMessageReplyMarkup", chat_id=1001, message_id=mid,
            reply_markup=markup))
    assert lan.last is not None and lan.last.buttons == ["A"]
    assert [e["text"] for e in lan.last.edits] == ["v1", "v1", "v1"]
    assert lan.last.edits[0]["entities"] == [{"type": "bold", "offset": 0, "length": 2}]

    assert err(call(fake, http, "editMessageText", chat_id=1001, message_id=999,
                    text="x")) == "Bad Request: message to edit not found"
    assert err(call(fake, http, "editMessageText", chat_id=1001, message_id=1,
                    text="x")) == "Bad Request: message can't be edited"  # the user's /start
    assert ok(call(fake, http, "deleteMessage", chat_id=1001, message_id=mid)) is True
    assert err(call(fake, http, "deleteMessage", chat_id=1001, message_id=mid)) == \
        "Bad Request: message to delete not found"
    assert err(call(fake, http, "editMessageText", chat_id=1001, message_id=mid,
                    text="x")) == "Bad Request: message to edit not found"
    assert lan.messages() == [] and len(lan.messages(include_deleted=True)) == 1
    assert len(fake.violations) == 6


# ---------------------------------------------------- rate limits and failures


def test_rate_limit(fake: FakeTelegram, http: httpx.Client, lan: FakeUser) -> None:
    fake.set_rate_limit(5)
    for i in range(5):
        ok(call(fake, http, "sendMessage", chat_id=1001, text=str(i)))
    ok(call(fake, http, "sendChatAction", chat_id=1001, action="typing"))  # not counted
    first_429 = time.monotonic()
    response = call(fake, http, "sendMessage", chat_id=1001, text="too many")
    assert response.status_code == 429
    assert response.json() == {"ok": False, "error_code": 429,
                               "description": "Too Many Requests: retry after 1",
                               "parameters": {"retry_after": 1}}
    assert fake.count_429 == 1 and fake.violations == []
    # ignoring retry_after is a violation
    time.sleep(0.3)
    assert call(fake, http, "sendMessage", chat_id=1001, text="again").status_code == 429
    assert fake.count_429 == 2
    assert len(fake.violations) == 1 and "retry_after not respected" in fake.violations[0]
    # after waiting it works again
    time.sleep(max(0.0, first_429 + 1.05 - time.monotonic()))
    ok(call(fake, http, "sendMessage", chat_id=1001, text="later"))
    fake.set_rate_limit(None)
    for i in range(10):
        ok(call(fake, http, "sendMessage", chat_id=1001, text=f"free {i}"))


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_injected_failures_and_blocked_user(fake: FakeTelegram) -> None:
    lan = fake.user(1001, first_name="Lan")
    lan.send("hi")
    fake.fail_next("sendMessage", 400, "Bad Request: custom failure", times=2)
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.file_base_url) as bot:
        for _ in range(2):
            with pytest.raises(BadRequest, match="Custom failure"):
                await bot.send_message(1001, "x")
        assert (await bot.send_message(1001, "x")).text == "x"

        lan.block()
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(1001, "x")
        with pytest.raises(Forbidden):
            await bot.send_chat_action(1001, "typing")
        lan.unblock()
        await bot.send_message(1001, "welcome back")

        fake.fail_next("sendDocument", 429, "Too Many Requests: retry after 7", retry_after=7)
        with pytest.raises(RetryAfter) as retry:
            await bot.send_document(1001, b"x", filename="x.txt")
        assert "Retry in 7 seconds" in str(retry.value)
    assert fake.violations == []
    assert [(e.method, e.error_code) for e in fake.errors] == [
        ("sendMessage", 400), ("sendMessage", 400), ("sendMessage", 403),
        ("sendChatAction", 403), ("sendDocument", 429)]
    assert fake.count_429 == 1


def test_latency(fake: FakeTelegram, http: httpx.Client, lan: FakeUser) -> None:
    fake.latency = 0.1
    started = time.monotonic()
    ok(call(fake, http, "sendMessage", chat_id=1001, text="slow"))
    assert time.monotonic() - started >= 0.1
    started = time.monotonic()
    ok(call(fake, http, "getMe"))
    assert time.monotonic() - started < 0.1


# ------------------------------------------------ conversations with a real bot


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_html(
        "<b>Xin chào</b>, chọn chức năng:",
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("Báo cáo", callback_data="report")],
             [InlineKeyboardButton("Hội viên", callback_data="members")]]),
    )


async def _button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text(f"Bạn chọn: {query.data}")


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text("Đang xử lý…")
    await asyncio.sleep(0.05)
    await update.message.reply_text(f"Xong: {update.message.text}")


class BotThread:
    """Runs a PTB Application (long polling) in its own thread and event loop."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        app = (Application.builder().token(self.fake.token).base_url(self.fake.base_url)
               .base_file_url(self.fake.file_base_url).build())
        app.add_handler(CommandHandler("start", _start))
        app.add_handler(CallbackQueryHandler(_button))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=2)
            while not self._stop.is_set():
                await asyncio.sleep(0.01)
            await app.updater.stop()
            await app.stop()

    def __enter__(self) -> BotThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_conversation_with_polling_bot(fake: FakeTelegram) -> None:
    lan = fake.user(1001, first_name="Lan")
    with BotThread(fake):
        lan.send("/start")
        reply = lan.wait_reply()
        assert reply.text == "Xin chào, chọn chức năng:"
        assert reply.buttons == ["Báo cáo", "Hội viên"]

        query_id = lan.press("Hội viên")
        assert lan.wait_answer(query_id, timeout=5) == {}
        edited = lan.wait_reply()
        assert edited.message_id == reply.message_id and edited.text == "Bạn chọn: members"

        lan.send("bảng lương")
        replies = lan.wait_replies()
        assert [m.text for m in replies] == ["Đang xử lý…", "Xong: bảng lương"]

        lan.send("lần nữa")
        done = lan.wait_for(lambda m: m.text.startswith("Xong"))
        assert done.text == "Xong: lần nữa"

        fake.wait_idle()
        with pytest.raises(AssertionError, match="no new bot message"):
            lan.wait_reply(timeout=0.2)
    fake.assert_clean()
    assert fake.violations == [] and fake.unanswered_callbacks() == []


@pytest.mark.asyncio
async def test_async_wait_helpers(fake: FakeTelegram) -> None:
    lan = fake.user(1001, first_name="Lan")
    lan.send("/start")
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.file_base_url) as bot:
        waiter = asyncio.create_task(lan.wait_reply_async(timeout=5, quiet=0))
        await asyncio.sleep(0.05)
        await bot.send_message(1001, "chào")
        assert (await waiter).text == "chào"
        await bot.get_updates()
        await fake.wait_idle_async(timeout=2, quiet=0.05)


# ------------------------------------------------------------------------ spec


def test_spec_location_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    path = default_spec_path()
    assert path.name == "api.min.json" and path.parent.name == "telegram-bot-api"
    assert ApiSpec.load().method("sendmessage") is not None
    monkeypatch.setenv("TELEGRAM_API_SPEC", str(tmp_path / "missing.json"))
    assert default_spec_path() == tmp_path / "missing.json"
    with pytest.raises(FileNotFoundError, match="TELEGRAM_API_SPEC"):
        FakeTelegram(autostart=False)
