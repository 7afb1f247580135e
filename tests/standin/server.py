"""A strict local stand-in for the Telegram Bot API, served over real HTTP.

Start a :class:`FakeTelegram`, point the bot under test at it and play users::

    fake = FakeTelegram(token="123456:TEST-TOKEN")
    bot = telegram.Bot(fake.token, base_url=fake.base_url, base_file_url=fake.file_base_url)
    lan = fake.user(1001, first_name="Lan")
    lan.send("/start")
    reply = lan.wait_reply()            # first new bot message + a short quiet period
    cq = lan.press("Báo cáo")           # press an inline button of the latest keyboard
    lan.wait_reply()
    assert fake.violations == [] and fake.unanswered_callbacks() == []

The server is a :class:`http.server.ThreadingHTTPServer` on ``127.0.0.1`` (ephemeral
port) running in a daemon thread.  URLs, request encodings (JSON, urlencoded,
multipart) and responses mimic ``api.telegram.org``.  Every request is validated
against the Bot API spec (see :mod:`.spec`) and against Telegram's formatting and
keyboard rules (see :mod:`.html_check`); misuse gets the 400 Telegram would send
and is recorded in :attr:`FakeTelegram.violations`.

Simulated conditions — rate limiting (429), injected failures, users that blocked
the bot (403) — are *not* violations by themselves; ignoring a ``retry_after`` is.
All errors returned are logged in :attr:`FakeTelegram.errors`.

The user-side API (:class:`FakeUser`) is synchronous and thread-safe: the bot
under test runs in another thread or process and talks HTTP.  Async tests can use
the ``*_async`` wrappers, which run the blocking waits in a worker thread.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import itertools
import json
import math
import mimetypes
import posixpath
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from .html_check import EntityParseError, parse_text, trim_entities_text, utf16_len
from .spec import ApiError, ApiSpec, UploadedFile, Validator

__all__ = [
    "ApiCall",
    "ErrorRecord",
    "FakeMessage",
    "FakeTelegram",
    "FakeUser",
    "FileRecord",
]

JSON = dict[str, Any]

BOT_USERNAME = "congdoan_test_bot"
BOT_FIRST_NAME = "Công Đoàn Test Bot"

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200
UPLOAD_LIMIT = 50 * 1024 * 1024
PHOTO_UPLOAD_LIMIT = 10 * 1024 * 1024
DOWNLOAD_LIMIT = 20 * 1024 * 1024

_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)
#: Update types delivered when ``allowed_updates`` is unset or empty.
_NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_INVALID = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)


class ApiCall(NamedTuple):
    """One logged request: the canonical method name and its normalised parameters."""

    method: str
    params: JSON


class ErrorRecord(NamedTuple):
    """One error response sent to the bot."""

    method: str
    error_code: int
    description: str
    params: JSON


@dataclass
class FileRecord:
    """A file known to the fake (uploaded by the bot or sent by a user)."""

    file_id: str
    file_unique_id: str
    kind: str  # "document" | "photo" | ...
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    url: str | None = None
    photo_sizes: list[JSON] | None = None

    def as_file(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }

    def as_document(self) -> JSON:
        doc: JSON = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        doc["file_size"] = len(self.data)
        return doc


@dataclass(eq=False)
class FakeMessage:
    """A message stored by the fake: a live view (edits update it in place).

    ``text``/``caption`` hold the plain text *after* entity parsing;
    ``raw_text`` is what the bot sent (e.g. with HTML tags).  ``edits`` keeps
    the previous versions (dicts with text/entities/caption/reply_markup).
    ``content`` is the byte content of a document/photo the bot sent.
    """

    chat: JSON
    message_id: int
    date: int
    sender: JSON
    from_bot: bool
    method: str = ""
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    raw_text: str | None = None
    parse_mode: str | None = None
    caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    document: JSON | None = None
    photo: list[JSON] | None = None
    content: bytes | None = None
    extra: JSON = field(default_factory=dict)
    edit_date: int | None = None
    edits: list[JSON] = field(default_factory=list)
    deleted: bool = False
    source: JSON = field(default_factory=dict)

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    # ---------------------------------------------------------------- keyboard
    @property
    def button_rows(self) -> list[list[str]]:
        """Labels of the inline keyboard, row by row."""
        if not self.reply_markup:
            return []
        return [[b["text"] for b in row] for row in self.reply_markup.get("inline_keyboard", [])]

    @property
    def buttons(self) -> list[str]:
        """Labels of all inline buttons, flattened."""
        return [label for row in self.button_rows for label in row]

    @property
    def callback_data(self) -> list[str]:
        """``callback_data`` of all callback buttons, flattened."""
        return [b["callback_data"] for b in self.iter_buttons() if "callback_data" in b]

    def iter_buttons(self) -> Iterator[JSON]:
        if self.reply_markup:
            for row in self.reply_markup.get("inline_keyboard", []):
                yield from row

    def find_button(self, label: str | None = None, *, data: str | None = None) -> JSON | None:
        """The button with this exact label (or callback_data), if any."""
        for button in self.iter_buttons():
            if label is not None and button.get("text") == label:
                return button
            if data is not None and button.get("callback_data") == data:
                return button
        return None

    @property
    def body(self) -> str:
        """``text`` or ``caption`` (empty string if neither)."""
        return self.text if self.text is not None else (self.caption or "")

    # ------------------------------------------------------------------ export
    def snapshot(self) -> JSON:
        return {
            "text": self.text,
            "entities": list(self.entities),
            "caption": self.caption,
            "caption_entities": list(self.caption_entities),
            "reply_markup": self.reply_markup,
            "date": self.edit_date or self.date,
        }

    def to_api(self, *, with_reply: bool = True) -> JSON:
        """The Bot API ``Message`` object."""
        msg: JSON = {
            "message_id": self.message_id,
            "from": dict(self.sender),
            "chat": dict(self.chat),
            "date": self.date,
        }
        if self.edit_date is not None:
            msg["edit_date"] = self.edit_date
        for key, value in self.extra.items():
            if key == "reply_to_message" and not with_reply:
                continue
            msg[key] = value
        if self.text is not None:
            msg["text"] = self.text
            if self.entities:
                msg["entities"] = [dict(e) for e in self.entities]
        if self.document is not None:
            msg["document"] = dict(self.document)
        if self.photo is not None:
            msg["photo"] = [dict(p) for p in self.photo]
        if self.caption:
            msg["caption"] = self.caption
            if self.caption_entities:
                msg["caption_entities"] = [dict(e) for e in self.caption_entities]
        if self.reply_markup:
            msg["reply_markup"] = json.loads(json.dumps(self.reply_markup))
        return msg

    def __getitem__(self, key: str) -> Any:
        return self.to_api()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_api().get(key, default)

    def __repr__(self) -> str:
        parts = [f"#{self.message_id}", "bot" if self.from_bot else "user"]
        if self.text is not None:
            parts.append(f"text={self.text!r}")
        if self.caption:
            parts.append(f"caption={self.caption!r}")
        if self.document:
            parts.append(f"document={self.document.get('file_name')!r}")
        if self.photo:
            parts.append("photo")
        if self.button_rows:
            parts.append(f"buttons={self.button_rows!r}")
        if self.edits:
            parts.append(f"edits={len(self.edits)}")
        if self.deleted:
            parts.append("DELETED")
        return f"FakeMessage({', '.join(parts)})"


@dataclass
class _Event:
    seq: int
    kind: str  # "sent" | "edited" | "deleted"
    message: FakeMessage
    at: float


@dataclass
class _Chat:
    id: int
    user: FakeUser
    known: bool = False
    blocked: bool = False
    next_message_id: int = 1
    messages: dict[int, FakeMessage] = field(default_factory=dict)
    events: list[_Event] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    reply_keyboard: JSON | None = None
    force_reply: bool = False
    menu_button: JSON | None = None

    def take_message_id(self) -> int:
        mid = self.next_message_id
        self.next_message_id += 1
        return mid

    def as_chat(self) -> JSON:
        chat: JSON = {"id": self.id, "type": "private", "first_name": self.user.first_name}
        if self.user.last_name:
            chat["last_name"] = self.user.last_name
        if self.user.username:
            chat["username"] = self.user.username
        return chat


@dataclass
class _CallbackQuery:
    id: str
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    answer: JSON | None = None


@dataclass
class _Failure:
    error_code: int
    description: str
    retry_after: int | None
    times: int


def _is_send(method: str) -> bool:
    return method.startswith("send") or method in {
        "copyMessage", "copyMessages", "forwardMessage", "forwardMessages",
    }


def _is_rate_limited(method: str) -> bool:
    return _is_send(method) and method != "sendChatAction"


def _command_entities(text: str) -> list[JSON]:
    match = _COMMAND_RE.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}]


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width/height of PNG, JPEG, GIF or WebP data (None if not an image)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8 ":
            return (int.from_bytes(data[26:28], "little") & 0x3FFF,
                    int.from_bytes(data[28:30], "little") & 0x3FFF)
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8X":
            return (int.from_bytes(data[24:27], "little") + 1,
                    int.from_bytes(data[27:30], "little") + 1)
        return None
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01, 0xFF) or 0xD0 <= marker <= 0xD7:
                i += 1 if marker == 0xFF else 2
                continue
            length = int.from_bytes(data[i + 2:i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height = int.from_bytes(data[i + 5:i + 7], "big")
                width = int.from_bytes(data[i + 7:i + 9], "big")
                return width, height
            i += 2 + length
    return None


# ============================================================================ users


class FakeUser:
    """A Telegram user talking to the bot in a private chat (chat id == user id).

    All methods are thread-safe and synchronous.  "New" bot messages are those
    sent or edited after the user's last action (``send``, ``press``, ...) and
    not yet returned by a ``wait_*`` call.
    """

    def __init__(
        self,
        fake: FakeTelegram,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> None:
        self.fake = fake
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self._mark = 0  # event sequence number: events after it are "new"

    def __repr__(self) -> str:
        return f"FakeUser(id={self.id}, first_name={self.first_name!r})"

    @property
    def chat_id(self) -> int:
        return self.id

    def to_api(self) -> JSON:
        """The Bot API ``User`` object."""
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    # ----------------------------------------------------------------- actions
    def send(self, text: str, **extra: Any) -> JSON:
        """Send a text message; ``/commands`` get a ``bot_command`` entity. Returns the Message."""
        content: JSON = {"text": text}
        entities = _command_entities(text)
        if entities:
            content["entities"] = entities
        content.update(extra)
        return self.fake._user_message(self, content)

    def send_document(
        self,
        data: bytes,
        file_name: str = "file.bin",
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> JSON:
        """Send a document; the bytes become downloadable via getFile. Returns the Message."""
        return self.fake._user_document(self, data, file_name, mime_type, caption)

    def send_raw(self, fields: JSON) -> JSON:
        """Send a message with arbitrary Message fields (contact, location, ...)."""
        return self.fake._user_message(self, dict(fields))

    def press(
        self,
        label: str | None = None,
        *,
        data: str | None = None,
        message_id: int | None = None,
    ) -> str:
        """Press an inline callback button and return the callback query id.

        The button is looked up by exact ``label`` (or ``callback_data`` when
        ``data`` is given) in message ``message_id`` or, by default, in the most
        recent bot message of this chat that has an inline keyboard.  Raises
        AssertionError listing the available buttons when there is no match.
        """
        if label is None and data is None:
            raise ValueError("press() needs a label or data=")
        return self.fake._press(self, label, data, message_id)

    def press_raw(self, data: str, message_id: int | None = None) -> str:
        """Send a callback query with arbitrary (possibly forged) ``data``.

        ``message_id`` defaults to the latest bot message of the chat.
        """
        return self.fake._press_raw(self, data, message_id)

    def block(self) -> None:
        """The user blocks the bot: sends to this chat fail with 403."""
        self.fake.block_user(self.id)

    def unblock(self) -> None:
        self.fake.unblock_user(self.id)

    # ------------------------------------------------------------------ reads
    def messages(self, *, include_deleted: bool = False) -> list[FakeMessage]:
        """All bot messages in this chat, oldest first."""
        return self.fake.sent_to(self.id, include_deleted=include_deleted)

    def history(self) -> list[FakeMessage]:
        """All messages (user's and bot's) in this chat, oldest first."""
        with self.fake._cond:
            chat = self.fake._chats[self.id]
            return [m for m in chat.messages.values() if not m.deleted]

    @property
    def last(self) -> FakeMessage | None:
        """The latest (non-deleted) bot message in this chat."""
        msgs = self.messages()
        return msgs[-1] if msgs else None

    def buttons(self, message: FakeMessage | None = None) -> list[str]:
        """Inline button labels of ``message`` or of the latest keyboard message."""
        if message is None:
            message = self.fake._latest_keyboard_message(self.id)
        return message.buttons if message else []

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """Labels of the current reply keyboard (ReplyKeyboardMarkup), if one is shown."""
        with self.fake._cond:
            markup = self.fake._chats[self.id].reply_keyboard
        if not markup:
            return None
        return [[b if isinstance(b, str) else b["text"] for b in row] for row in markup["keyboard"]]

    @property
    def chat_actions(self) -> list[str]:
        """Actions sent with sendChatAction to this chat, in order."""
        with self.fake._cond:
            return list(self.fake._chats[self.id].actions)

    def callback_answer(self, callback_query_id: str) -> JSON | None:
        """The parameters of answerCallbackQuery for this query (None if unanswered)."""
        return self.fake.callback_answer(callback_query_id)

    def wait_answer(self, callback_query_id: str, timeout: float = 10.0) -> JSON:
        """Block until the bot answers this callback query; return the answer parameters
        (``{}`` for a bare answer, else e.g. ``{"text": ..., "show_alert": True}``)."""
        return self.fake._wait_answer(callback_query_id, timeout)

    # ------------------------------------------------------------------ waits
    def wait_for(
        self, predicate: Callable[[FakeMessage], bool] | None = None, timeout: float = 10.0
    ) -> FakeMessage:
        """Block until a new bot message (sent or edited) satisfies ``predicate``.

        Messages already new when called count.  Exceptions in ``predicate``
        count as "no match" (handy for ``lambda m: "x" in m.text`` with text None).
        Marks everything up to the matching event as seen.  On timeout raises
        AssertionError describing what arrived.
        """
        return self.fake._wait_for(self, predicate, timeout)

    def wait_replies(self, timeout: float = 10.0, quiet: float = 0.15) -> list[FakeMessage]:
        """Wait for the bot's reply to the last action; return all new messages.

        Blocks until at least one new bot message (sent or edited) exists, then
        until the chat has been quiet for ``quiet`` seconds (no further message),
        so multi-message replies are collected at once.  ``quiet=0`` returns as
        soon as the first message arrives.  Messages are returned in order of
        their first event, each once (edited ones reflect their current state).
        Raises AssertionError if nothing arrives within ``timeout``.
        """
        return self.fake._wait_replies(self, timeout, quiet)

    def wait_reply(self, timeout: float = 10.0, quiet: float = 0.15) -> FakeMessage:
        """Like :meth:`wait_replies` but return only the last new message."""
        return self.wait_replies(timeout, quiet)[-1]

    def mark_seen(self) -> None:
        """Treat all bot messages so far as seen (not new)."""
        with self.fake._cond:
            self._mark = self.fake._seq

    async def wait_reply_async(self, timeout: float = 10.0, quiet: float = 0.15) -> FakeMessage:
        return await asyncio.to_thread(self.wait_reply, timeout, quiet)

    async def wait_replies_async(
        self, timeout: float = 10.0, quiet: float = 0.15
    ) -> list[FakeMessage]:
        return await asyncio.to_thread(self.wait_replies, timeout, quiet)

    async def wait_for_async(
        self, predicate: Callable[[FakeMessage], bool] | None = None, timeout: float = 10.0
    ) -> FakeMessage:
        return await asyncio.to_thread(self.wait_for, predicate, timeout)


# ============================================================================ server


class FakeTelegram:
    """The Bot API stand-in.  See the module docstring for an overview.

    Public state (read it, don't mutate it, except ``latency``):

    * ``violations`` — list of ``"method: reason"`` strings for protocol misuse;
    * ``requests`` — list of :class:`ApiCall` ``(method, params)``;
    * ``errors`` — list of :class:`ErrorRecord` for every error response;
    * ``count_429`` — number of 429 responses;
    * ``latency`` — seconds added to each send* request (default 0).
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        spec_path: str | None = None,
        autostart: bool = True,
        bot_username: str = BOT_USERNAME,
        bot_first_name: str = BOT_FIRST_NAME,
        strict_html: bool = True,
        flood_grace: float = 0.2,
    ) -> None:
        if not re.match(r"^\d+:[A-Za-z0-9_-]+$", token):
            raise ValueError(f"not a bot token: {token!r}")
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.strict_html = strict_html
        #: Requests arriving within this many seconds after a 429 are not counted as
        #: ignoring retry_after (they were probably already in flight).
        self.flood_grace = flood_grace
        self.latency = 0.0

        self._spec = ApiSpec.load(spec_path)
        self._validator = Validator(self._spec)
        self._cond = threading.Condition(threading.RLock())

        self.violations: list[str] = []
        self.requests: list[ApiCall] = []
        self.errors: list[ErrorRecord] = []
        self.count_429 = 0

        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, FakeUser] = {}
        self._seq = 0
        self._updates: list[JSON] = []
        self._next_update_id = 1
        self._last_delivered_id = 0
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._webhook_url = ""
        self._callbacks: dict[str, _CallbackQuery] = {}
        self._callback_counter = itertools.count(1)
        self._files: dict[str, FileRecord] = {}
        self._files_by_path: dict[str, FileRecord] = {}
        self._file_counter = itertools.count(1)
        self._commands: dict[str, list[JSON]] = {}
        self._default_menu_button: JSON = {"type": "commands"}
        self._failures: dict[str, collections.deque[_Failure]] = {}
        self._outages: dict[str, tuple[float, int, str]] = {}
        self._rate: float | None = None
        self._sends: collections.deque[float] = collections.deque()
        self._flood_started = 0.0
        self._flood_until = 0.0
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._stopped = False

        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        if autostart:
            self.start()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeTelegram:
        """Start serving (idempotent)."""
        if self._server is not None:
            return self
        self._stopped = False
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01},
            name=f"FakeTelegram:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; pending long polls return, open connections are closed."""
        server = self._server
        if server is None:
            return
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------------- URLs
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeTelegram is not running")
        return int(self._server.server_address[1])

    @property
    def api_root(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/bot`` — python-telegram-bot appends the token."""
        return f"{self.api_root}/bot"

    @property
    def file_base_url(self) -> str:
        """``http://127.0.0.1:PORT/file/bot`` — python-telegram-bot appends the token."""
        return f"{self.api_root}/file/bot"

    @property
    def bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # --------------------------------------------------------------------- users
    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        *,
        started: bool = False,
    ) -> FakeUser:
        """Create (or return the existing) user with a private chat ``user_id``.

        The bot can only message a user after the user wrote to it (any
        ``send``/``press``), unless ``started=True`` marks the chat as known.
        """
        with self._cond:
            existing = self._users.get(user_id)
            if existing is not None:
                if started:
                    self._chats[user_id].known = True
                return existing
            user = FakeUser(self, user_id, first_name, last_name, username, language_code)
            self._users[user_id] = user
            self._chats[user_id] = _Chat(user_id, user, known=started)
            return user

    def block_user(self, user_id: int) -> None:
        """Sends (and edits) to this chat fail with 403 "bot was blocked by the user"."""
        with self._cond:
            self._chat_state(user_id).blocked = True

    def unblock_user(self, user_id: int) -> None:
        with self._cond:
            self._chat_state(user_id).blocked = False

    def sent_to(self, chat_id: int, *, include_deleted: bool = False) -> list[FakeMessage]:
        """Bot messages in chat ``chat_id``, oldest first."""
        with self._cond:
            chat = self._chats.get(chat_id)
            if chat is None:
                return []
            return [
                m for m in chat.messages.values()
                if m.from_bot and (include_deleted or not m.deleted)
            ]

    # ----------------------------------------------------------------- controls
    def set_rate_limit(self, per_second: float | None) -> None:
        """Limit send* requests (not sendChatAction) globally; ``None`` disables.

        A sliding window of ``max(1, 1/per_second)`` seconds admits
        ``round(per_second * window)`` requests; further ones get 429 with an
        integer ``retry_after`` >= 1.
        """
        with self._cond:
            self._rate = per_second
            self._sends.clear()

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` ("*" = any) fail with this error.

        Injected 429s with ``retry_after`` start a flood wait like real ones.
        """
        with self._cond:
            self._failures.setdefault(method, collections.deque()).append(
                _Failure(error_code, description, retry_after, times)
            )

    def fail_for(
        self,
        method: str,
        seconds: float,
        error_code: int = 502,
        description: str = "Bad Gateway",
    ) -> None:
        """An outage: every call of ``method`` ("*" = any) fails with this error for ``seconds``.

        Calls the outage answers are logged in ``errors`` like any error response. A new
        call for the same method replaces the previous outage; ``seconds=0`` ends it.
        """
        with self._cond:
            self._outages[method] = (time.monotonic() + seconds, error_code, description)

    def unanswered_callbacks(self) -> list[str]:
        """Ids of injected callback queries the bot has not answered."""
        with self._cond:
            return [cq.id for cq in self._callbacks.values() if not cq.answered]

    def callback_answer(self, callback_query_id: str) -> JSON | None:
        with self._cond:
            cq = self._callbacks.get(callback_query_id)
            return dict(cq.answer) if cq and cq.answer is not None else None

    def calls(self, method: str) -> list[JSON]:
        """Parameters of every logged call of ``method``."""
        with self._cond:
            return [c.params for c in self.requests if c.method == method]

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """Commands set with setMyCommands for this scope/language."""
        with self._cond:
            return list(self._commands.get(self._commands_key(scope, language_code), []))

    def file_content(self, file_id: str) -> bytes:
        with self._cond:
            return self._files[file_id].data

    def clear_violations(self) -> None:
        with self._cond:
            self.violations.clear()

    def assert_clean(self) -> None:
        """Fail if there are violations or unanswered callback queries."""
        problems = list(self.violations)
        unanswered = self.unanswered_callbacks()
        if unanswered:
            problems.append(f"unanswered callback queries: {unanswered}")
        if problems:
            raise AssertionError("Bot API misuse:\n  " + "\n  ".join(problems))

    def inject_update(self, update: JSON) -> int:
        """Queue a raw update (``update_id`` is assigned); returns the update_id."""
        with self._cond:
            return self._push_update(dict(update))

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot (via getUpdates offset)."""
        with self._cond:
            return len(self._updates)

    def wait_idle(self, timeout: float = 10.0, quiet: float = 0.2) -> None:
        """Block until the bot looks idle.

        Idle means: every injected update has been handed out by getUpdates, no
        request other than a waiting getUpdates is in progress, and no such
        request has finished within the last ``quiet`` seconds.  This is a
        heuristic (the bot may still be computing without talking to the API),
        so choose ``quiet`` larger than the bot's slowest think time.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                delivered = self._last_delivered_id >= self._next_update_id - 1
                idle_for = now - self._last_activity
                if delivered and self._inflight == 0 and idle_for >= quiet:
                    return
                if now >= deadline:
                    raise AssertionError(
                        f"bot not idle after {timeout}s: undelivered updates="
                        f"{self._next_update_id - 1 - self._last_delivered_id}, "
                        f"requests in flight={self._inflight}"
                    )
                wait = deadline - now
                if delivered and self._inflight == 0:
                    wait = min(wait, quiet - idle_for)
                self._cond.wait(max(wait, 0.005))

    async def wait_idle_async(self, timeout: float = 10.0, quiet: float = 0.2) -> None:
        await asyncio.to_thread(self.wait_idle, timeout, quiet)

    # ======================================================== user-side internals
    def _chat_state(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown user/chat {chat_id}; create it with fake.user()")
        return chat

    def _push_update(self, update: JSON) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, **{k: v for k, v in update.items() if k != "update_id"}}
        self._updates.append(update)
        self._cond.notify_all()
        return update_id

    def _user_message(self, user: FakeUser, content: JSON) -> JSON:
        with self._cond:
            chat = self._chat_state(user.id)
            chat.known = True
            msg = FakeMessage(
                chat=chat.as_chat(), message_id=chat.take_message_id(),
                date=int(time.time()), sender=user.to_api(), from_bot=False, method="user",
            )
            msg.text = content.pop("text", None)
            msg.entities = content.pop("entities", [])
            msg.caption = content.pop("caption", None)
            msg.document = content.pop("document", None)
            msg.extra = content
            chat.messages[msg.message_id] = msg
            api = msg.to_api()
            self._push_update({"message": api})
            user._mark = self._seq
            return api

    def _user_document(
        self, user: FakeUser, data: bytes, file_name: str, mime_type: str | None,
        caption: str | None,
    ) -> JSON:
        with self._cond:
            record = self._store_file(data, "document", file_name, mime_type)
            content: JSON = {"document": record.as_document()}
            if caption:
                content["caption"] = caption
            return self._user_message(user, content)

    def _latest_keyboard_message(self, chat_id: int) -> FakeMessage | None:
        for msg in reversed(self.sent_to(chat_id)):
            if msg.reply_markup and msg.reply_markup.get("inline_keyboard"):
                return msg
        return None

    def _press(
        self, user: FakeUser, label: str | None, data: str | None, message_id: int | None
    ) -> str:
        with self._cond:
            chat = self._chat_state(user.id)
            if message_id is not None:
                msg = chat.messages.get(message_id)
                if msg is None or msg.deleted or not msg.from_bot:
                    raise AssertionError(f"no bot message #{message_id} in chat {user.id}")
            else:
                msg = self._latest_keyboard_message(user.id)
                if msg is None:
                    raise AssertionError(
                        f"no bot message with an inline keyboard in chat {user.id}; "
                        f"bot messages: {self.sent_to(user.id)[-5:]}"
                    )
            button = msg.find_button(label, data=data)
            wanted = repr(label) if data is None else f"with callback_data {data!r}"
            if button is None:
                raise AssertionError(
                    f"no button {wanted} in message #{msg.message_id} "
                    f"({msg.body[:60]!r}); buttons: {msg.button_rows}"
                )
            if "callback_data" not in button:
                raise AssertionError(f"button {wanted} is not a callback button: {button}")
            return self._inject_callback(user, chat, msg, button["callback_data"])

    def _press_raw(self, user: FakeUser, data: str, message_id: int | None) -> str:
        with self._cond:
            chat = self._chat_state(user.id)
            if message_id is None:
                bot_msgs = self.sent_to(user.id)
                if not bot_msgs:
                    raise AssertionError(f"no bot message in chat {user.id} to attach a query to")
                msg = bot_msgs[-1]
            else:
                found = chat.messages.get(message_id)
                if found is None:
                    raise AssertionError(f"no message #{message_id} in chat {user.id}")
                msg = found
            return self._inject_callback(user, chat, msg, data)

    def _inject_callback(self, user: FakeUser, chat: _Chat, msg: FakeMessage, data: str) -> str:
        chat.known = True
        cq_id = str(4_000_000_000_000_000_000 + self.bot_id * 1000 + next(self._callback_counter))
        self._callbacks[cq_id] = _CallbackQuery(cq_id, chat.id, msg.message_id, data)
        self._push_update(
            {
                "callback_query": {
                    "id": cq_id,
                    "from": user.to_api(),
                    "message": msg.to_api(),
                    "chat_instance": str(-(chat.id * 7919 + self.bot_id)),
                    "data": data,
                }
            }
        )
        user._mark = self._seq
        return cq_id

    def _wait_answer(self, callback_query_id: str, timeout: float) -> JSON:
        with self._cond:
            cq = self._callbacks.get(callback_query_id)
            if cq is None:
                raise KeyError(f"unknown callback query {callback_query_id!r}")
            if not self._cond.wait_for(lambda: cq.answered, timeout):
                raise AssertionError(
                    f"callback query {callback_query_id} (data {cq.data!r}) not answered "
                    f"within {timeout}s\n" + self._describe_chat(self._users[cq.chat_id])
                )
            return dict(cq.answer or {})

    def _describe_chat(self, user: FakeUser) -> str:
        lines = [f"bot messages in chat {user.id} (last 5):"]
        lines += [f"  {m!r}" for m in self.sent_to(user.id)[-5:]] or ["  (none)"]
        if self.errors:
            lines.append("recent error responses:")
            lines += [f"  {e.method}: {e.error_code} {e.description}" for e in self.errors[-5:]]
        if self.violations:
            lines.append("violations:")
            lines += [f"  {v}" for v in self.violations[-5:]]
        return "\n".join(lines)

    def _new_events(self, user: FakeUser) -> list[_Event]:
        chat = self._chat_state(user.id)
        return [e for e in chat.events if e.seq > user._mark and e.kind != "deleted"]

    def _wait_for(
        self, user: FakeUser, predicate: Callable[[FakeMessage], bool] | None, timeout: float
    ) -> FakeMessage:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self._new_events(user):
                    try:
                        ok = predicate is None or bool(predicate(event.message))
                    except Exception:  # noqa: BLE001 - a failing predicate is "no match"
                        ok = False
                    if ok:
                        user._mark = event.seq
                        return event.message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for a matching bot message\n"
                        + self._describe_chat(user)
                    )
                self._cond.wait(remaining)

    def _wait_replies(self, user: FakeUser, timeout: float, quiet: float) -> list[FakeMessage]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._new_events(user):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out after {timeout}s: no new bot message after the last "
                        f"user action\n" + self._describe_chat(user)
                    )
                self._cond.wait(remaining)
            while quiet > 0:
                events = self._new_events(user)
                silent_for = time.monotonic() - events[-1].at
                remaining = deadline - time.monotonic()
                if silent_for >= quiet or remaining <= 0:
                    break
                self._cond.wait(min(quiet - silent_for, remaining))
            events = self._new_events(user)
            user._mark = events[-1].seq
            seen: dict[int, FakeMessage] = {}
            for event in events:
                seen.setdefault(id(event.message), event.message)
            return list(seen.values())

    # ========================================================== request handling
    def _record_error(self, method: str, err: ApiError, params: JSON) -> None:
        self.errors.append(ErrorRecord(method, err.error_code, err.description, params))
        if err.violation:
            self.violations.append(f"{method}: {err.description}")
        self._cond.notify_all()

    def _handle_api(
        self, method_name: str, params: JSON, files: dict[str, UploadedFile]
    ) -> tuple[int, JSON]:
        """Process one API call; returns (HTTP status, JSON body)."""
        spec = self._spec.method(method_name)
        if spec is None:
            with self._cond:
                logged = {**params, **files}
                self.requests.append(ApiCall(method_name, logged))
                self._record_error(
                    method_name, ApiError("Not Found", 404), logged
                )
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        method = spec.name
        polling = method == "getUpdates"
        logged = {**params, **files}
        with self._cond:
            if not polling:
                self._inflight += 1
        try:
            try:
                clean, warnings = self._validator.validate(spec, params, files)
                with self._cond:
                    logged = clean
                    self.requests.append(ApiCall(method, clean))
                    self.violations.extend(f"{method}: {w}" for w in warnings)
            except ApiError:
                with self._cond:
                    self.requests.append(ApiCall(method, logged))
                raise
            result = self._execute(method, clean)
            return 200, {"ok": True, "result": result}
        except ApiError as err:
            with self._cond:
                self._record_error(method, err, logged)
            return err.error_code, err.payload()
        finally:
            if not polling:
                with self._cond:
                    self._inflight -= 1
                    self._last_activity = time.monotonic()
                    self._cond.notify_all()

    def _execute(self, method: str, params: JSON) -> Any:
        limited = _is_rate_limited(method)
        with self._cond:
            if limited:
                self._check_flood(method)
            self._check_injected(method)
            chat: _Chat | None = None
            if "chat_id" in params:
                chat = self._known_chat(params["chat_id"])
                if chat.blocked and (_is_send(method) or method.startswith("edit")):
                    raise ApiError(
                        "Forbidden: bot was blocked by the user", 403, violation=False
                    )
            if limited:
                self._check_rate()
        if _is_send(method) and self.latency > 0:
            time.sleep(self.latency)
        if method == "getUpdates":
            return self._get_updates(params)
        with self._cond:
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                return self._api_generic(method, params, chat)
            return handler(params, chat)

    # -------------------------------------------------------------- throttling
    def _start_flood(self, retry_after: int) -> None:
        now = time.monotonic()
        if now >= self._flood_until:
            self._flood_started = now
        self._flood_until = max(self._flood_until, now + retry_after)

    def _check_flood(self, method: str) -> None:
        now = time.monotonic()
        remaining = self._flood_until - now
        if remaining <= 0.02:
            return
        self.count_429 += 1
        if now - self._flood_started > self.flood_grace:
            self.violations.append(
                f"{method}: sent during a flood wait, retry_after not respected "
                f"({remaining:.2f}s were left)"
            )
        retry = max(1, math.ceil(remaining))
        raise ApiError(
            f"Too Many Requests: retry after {retry}", 429, retry_after=retry, violation=False
        )

    def _check_injected(self, method: str) -> None:
        for key in (method, "*"):
            outage = self._outages.get(key)
            if outage is not None and time.monotonic() < outage[0]:
                raise ApiError(outage[2], outage[1], violation=False)
        for key in (method, "*"):
            queue = self._failures.get(key)
            if not queue:
                continue
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.popleft()
            if failure.error_code == 429:
                self.count_429 += 1
                if failure.retry_after:
                    self._start_flood(failure.retry_after)
            raise ApiError(
                failure.description, failure.error_code,
                retry_after=failure.retry_after, violation=False,
            )

    def _check_rate(self) -> None:
        if not self._rate:
            return
        now = time.monotonic()
        window = max(1.0, 1.0 / self._rate)
        capacity = max(1, round(self._rate * window))
        while self._sends and self._sends[0] <= now - window:
            self._sends.popleft()
        if len(self._sends) >= capacity:
            retry = max(1, math.ceil(self._sends[0] + window - now))
            self.count_429 += 1
            self._start_flood(retry)
            raise ApiError(
                f"Too Many Requests: retry after {retry}", 429, retry_after=retry,
                violation=False,
            )
        self._sends.append(now)

    def _known_chat(self, chat_id: Any) -> _Chat:
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None or not chat.known:
            raise ApiError("Bad Request: chat not found")
        return chat

    # ------------------------------------------------------------------ helpers
    def _event(self, chat: _Chat, kind: str, msg: FakeMessage) -> None:
        self._seq += 1
        chat.events.append(_Event(self._seq, kind, msg, time.monotonic()))
        self._cond.notify_all()

    def _format(
        self, params: JSON, text_key: str, mode_key: str, entities_key: str, *, caption: bool
    ) -> tuple[str | None, list[JSON]]:
        raw = params.get(text_key)
        if raw is None:
            return None, []
        mode = params.get(mode_key)
        if mode:
            try:
                text, entities = parse_text(raw, mode, strict_html=self.strict_html)
            except EntityParseError as exc:
                raise ApiError(f"Bad Request: can't parse entities: {exc}") from None
            except ValueError:
                raise ApiError("Bad Request: unsupported parse_mode") from None
        else:
            text = raw
            total = utf16_len(text)
            entities = [
                dict(e) for e in params.get(entities_key) or []
                if e["offset"] >= 0 and e["length"] > 0 and e["offset"] + e["length"] <= total
            ]
        text, entities = trim_entities_text(text, entities)
        if caption:
            if len(text) > CAPTION_LIMIT:
                raise ApiError("Bad Request: message caption is too long")
            return (text or None), entities
        if not text:
            raise ApiError("Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            raise ApiError("Bad Request: message is too long")
        return text, entities

    def _markup(self, chat: _Chat, markup: JSON | None) -> JSON | None:
        """Apply reply_markup to the chat; return the inline keyboard to attach (if any)."""
        if markup is None:
            return None
        if "inline_keyboard" in markup:
            return markup if markup["inline_keyboard"] else None
        if "keyboard" in markup:
            chat.reply_keyboard = markup
            chat.force_reply = False
        elif "remove_keyboard" in markup:
            chat.reply_keyboard = None
        elif "force_reply" in markup:
            chat.force_reply = True
        return None

    def _reply_to(self, chat: _Chat, params: JSON) -> JSON:
        reply = params.get("reply_parameters")
        if not reply:
            return {}
        target_chat = reply.get("chat_id", chat.id)
        target = chat.messages.get(reply["message_id"]) if target_chat == chat.id else None
        if target is None or target.deleted:
            if reply.get("allow_sending_without_reply"):
                return {}
            raise ApiError("Bad Request: message to be replied not found")
        return {"reply_to_message": target.to_api(with_reply=False)}

    def _new_bot_message(self, chat: _Chat, method: str, params: JSON, **content: Any
                         ) -> FakeMessage:
        msg = FakeMessage(
            chat=chat.as_chat(), message_id=chat.take_message_id(), date=int(time.time()),
            sender=self.bot_user, from_bot=True, method=method, source=params, **content,
        )
        chat.messages[msg.message_id] = msg
        self._event(chat, "sent", msg)
        return msg

    def _store_file(
        self, data: bytes, kind: str, file_name: str | None = None,
        mime_type: str | None = None, url: str | None = None,
    ) -> FileRecord:
        n = next(self._file_counter)
        prefixes = {"document": "BQACAgIAAxkBAAI", "photo": "AgACAgIAAxkBAAI"}
        prefix = prefixes.get(kind, "CAACAgIAAxkBAAI")
        digest = hashlib.sha1(data or str(n).encode()).hexdigest()
        ext = posixpath.splitext(file_name or "")[1] or (".jpg" if kind == "photo" else "")
        folder = "photos" if kind == "photo" else "documents"
        record = FileRecord(
            file_id=f"{prefix}{n:06d}{digest[:20]}",
            file_unique_id=f"AgAD{digest[:12]}",
            kind=kind, data=data, file_path=f"{folder}/file_{n}{ext}",
            file_name=file_name, mime_type=mime_type, url=url,
        )
        self._files[record.file_id] = record
        self._files_by_path[record.file_path] = record
        return record

    def _input_file(self, value: Any, kind: str, field_name: str) -> FileRecord:
        if isinstance(value, UploadedFile):
            if not value.data:
                raise ApiError(f"Bad Request: file must be non-empty ({field_name})")
            limit = PHOTO_UPLOAD_LIMIT if kind == "photo" else UPLOAD_LIMIT
            if len(value.data) > limit:
                raise ApiError("Request Entity Too Large", 413)
            file_name = value.filename
            guessed = mimetypes.guess_type(file_name or "")[0]
            content_type = (value.content_type or "").split(";")[0].strip() or None
            mime = guessed or content_type or "application/octet-stream"
            return self._store_file(value.data, kind, file_name, mime)
        text = str(value)
        if text.startswith(("http://", "https://")):
            name = posixpath.basename(urlsplit(text).path) or None
            return self._store_file(b"", kind, name, mimetypes.guess_type(name or "")[0], text)
        record = self._files.get(text)
        if record is None:
            raise ApiError("Bad Request: wrong file identifier/HTTP URL specified")
        if record.kind != kind:
            raise ApiError(
                f"Bad Request: can't use file of type {record.kind.title()} as {kind.title()}"
            )
        return record

    def _editable(self, params: JSON) -> tuple[_Chat, FakeMessage]:
        if "inline_message_id" in params:
            raise ApiError("Bad Request: MESSAGE_ID_INVALID")
        if "chat_id" not in params:
            raise ApiError("Bad Request: chat_id is empty")
        if "message_id" not in params:
            raise ApiError("Bad Request: message identifier is not specified")
        chat = self._known_chat(params["chat_id"])
        msg = chat.messages.get(params["message_id"])
        if msg is None or msg.deleted:
            raise ApiError("Bad Request: message to edit not found")
        if not msg.from_bot:
            raise ApiError("Bad Request: message can't be edited")
        return chat, msg

    def _commands_key(self, scope: JSON | None, language_code: str | None) -> str:
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True) + "|" + (language_code or "")

    # ============================================================= API methods
    def _get_updates(self, params: JSON) -> list[JSON]:
        offset = params.get("offset")
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        timeout = max(float(params.get("timeout", 0)), 0.0)
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._webhook_url:
                raise ApiError(
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first", 409,
                )
            if "allowed_updates" in params:
                self._allowed_updates = list(params["allowed_updates"])
            self._poll_generation += 1
            generation = self._poll_generation
            if offset is not None:
                if offset < 0:
                    self._updates = self._updates[offset:]
                else:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while True:
                if generation != self._poll_generation:
                    raise ApiError(
                        "Conflict: terminated by other getUpdates request; make sure that "
                        "only one bot instance is running", 409, violation=False,
                    )
                ready = [] if self._stopped else self._deliverable(limit)
                if ready or self._stopped:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if ready:
                self._last_delivered_id = max(self._last_delivered_id, ready[-1]["update_id"])
                self._last_activity = time.monotonic()
                self._cond.notify_all()
            return json.loads(json.dumps(ready))

    def _deliverable(self, limit: int) -> list[JSON]:
        allowed = self._allowed_updates
        kept = []
        for update in self._updates:
            kind = next((k for k in update if k != "update_id"), "")
            if allowed:
                ok = kind in allowed
            else:
                ok = kind not in _NOT_DEFAULT_UPDATES
            if ok:
                kept.append(update)
            else:  # Telegram drops updates of unwanted types
                self._last_delivered_id = max(self._last_delivered_id, update["update_id"])
        self._updates = kept
        return kept[:limit]

    def _api_getMe(self, params: JSON, chat: _Chat | None) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _api_logOut(self, params: JSON, chat: _Chat | None) -> bool:
        return True

    def _api_close(self, params: JSON, chat: _Chat | None) -> bool:
        return True

    def _api_setWebhook(self, params: JSON, chat: _Chat | None) -> bool:
        url = params["url"]
        if url and not url.startswith("https://"):
            raise ApiError("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook_url = url
        if params.get("drop_pending_updates"):
            self._drop_pending()
        return True

    def _drop_pending(self) -> None:
        if self._updates:
            self._last_delivered_id = max(self._last_delivered_id, self._updates[-1]["update_id"])
        self._updates = []
        self._cond.notify_all()

    def _api_deleteWebhook(self, params: JSON, chat: _Chat | None) -> bool:
        self._webhook_url = ""
        if params.get("drop_pending_updates"):
            self._drop_pending()
        return True

    def _api_getWebhookInfo(self, params: JSON, chat: _Chat | None) -> JSON:
        info: JSON = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    def _api_setMyCommands(self, params: JSON, chat: _Chat | None) -> bool:
        commands = params["commands"]
        if len(commands) > 100:
            raise ApiError("Bad Request: too many commands")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = [dict(c) for c in commands]
        return True

    def _api_getMyCommands(self, params: JSON, chat: _Chat | None) -> list[JSON]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return [dict(c) for c in self._commands.get(key, [])]

    def _api_deleteMyCommands(self, params: JSON, chat: _Chat | None) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands.pop(key, None)
        return True

    def _api_setChatMenuButton(self, params: JSON, chat: _Chat | None) -> bool:
        button = params.get("menu_button", {"type": "default"})
        if chat is not None:
            chat.menu_button = button
        else:
            self._default_menu_button = button
        return True

    def _api_getChatMenuButton(self, params: JSON, chat: _Chat | None) -> JSON:
        if chat is not None and chat.menu_button is not None:
            return dict(chat.menu_button)
        return dict(self._default_menu_button)

    def _api_getChat(self, params: JSON, chat: _Chat | None) -> JSON:
        assert chat is not None
        return {
            **chat.as_chat(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        }

    def _api_sendMessage(self, params: JSON, chat: _Chat | None) -> JSON:
        assert chat is not None
        text, entities = self._format(params, "text", "parse_mode", "entities", caption=False)
        extra = self._reply_to(chat, params)
        markup = self._markup(chat, params.get("reply_markup"))
        msg = self._new_bot_message(
            chat, "sendMessage", params, text=text, entities=entities,
            raw_text=params["text"], parse_mode=params.get("parse_mode"),
            reply_markup=markup, extra=extra,
        )
        return msg.to_api()

    def _api_sendDocument(self, params: JSON, chat: _Chat | None) -> JSON:
        assert chat is not None
        caption, caption_entities = self._format(
            params, "caption", "parse_mode", "caption_entities", caption=True
        )
        extra = self._reply_to(chat, params)
        markup = self._markup(chat, params.get("reply_markup"))
        record = self._input_file(params["document"], "document", "document")
        msg = self._new_bot_message(
            chat, "sendDocument", params, document=record.as_document(), content=record.data,
            caption=caption, caption_entities=caption_entities,
            raw_text=params.get("caption"), parse_mode=params.get("parse_mode"),
            reply_markup=markup, extra=extra,
        )
        return msg.to_api()

    def _api_sendPhoto(self, params: JSON, chat: _Chat | None) -> JSON:
        assert chat is not None
        caption, caption_entities = self._format(
            params, "caption", "parse_mode", "caption_entities", caption=True
        )
        extra = self._reply_to(chat, params)
        markup = self._markup(chat, params.get("reply_markup"))
        record = self._input_file(params["photo"], "photo", "photo")
        if record.photo_sizes is None:
            record.photo_sizes = self._photo_sizes(record)
        msg = self._new_bot_message(
            chat, "sendPhoto", params, photo=[dict(s) for s in record.photo_sizes],
            content=record.data, caption=caption, caption_entities=caption_entities,
            raw_text=params.get("caption"), parse_mode=params.get("parse_mode"),
            reply_markup=markup, extra=extra,
        )
        return msg.to_api()

    def _photo_sizes(self, record: FileRecord) -> list[JSON]:
        if record.url is not None:
            dims: tuple[int, int] | None = (800, 600)
        else:
            dims = _image_size(record.data)
        if dims is None or dims[0] <= 0 or dims[1] <= 0:
            raise ApiError("Bad Request: IMAGE_PROCESS_FAILED")
        width, height = dims
        if width + height > 10000 or max(width, height) > 20 * min(width, height):
            raise ApiError("Bad Request: PHOTO_INVALID_DIMENSIONS")
        sizes: list[JSON] = []
        seen: set[tuple[int, int]] = set()
        for side in (90, 320, 800, 1280):
            scale = min(1.0, side / max(width, height))
            w, h = max(1, round(width * scale)), max(1, round(height * scale))
            if (w, h) in seen:
                continue
            seen.add((w, h))
            size_rec = record if scale == 1.0 or side == 1280 else self._store_file(
                record.data, "photo", record.file_name, record.mime_type, record.url
            )
            sizes.append({
                "file_id": size_rec.file_id, "file_unique_id": size_rec.file_unique_id + str(side),
                "file_size": max(1, int(len(record.data) * scale * scale)), "width": w, "height": h,
            })
            if scale == 1.0:
                break
        return sizes

    def _api_sendMediaGroup(self, params: JSON, chat: _Chat | None) -> list[JSON]:
        assert chat is not None
        items = params["media"]
        if not 2 <= len(items) <= 10:
            raise ApiError("Bad Request: media group must contain 2-10 items")
        kinds = {item["type"] for item in items}
        for single in ("document", "audio"):
            if single in kinds and len(kinds) > 1:
                raise ApiError(f"Bad Request: {single} can't be mixed with other media types")
        extra = self._reply_to(chat, params)
        group_id = str(10_000_000_000_000_000 + next(self._file_counter))
        prepared = []
        for item in items:  # validate everything before sending anything
            caption, entities = self._format(
                item, "caption", "parse_mode", "caption_entities", caption=True
            )
            kind = item["type"]
            record = self._input_file(item["media"], "photo" if kind == "photo" else "document",
                                      "media")
            content: JSON = {"caption": caption, "caption_entities": entities,
                             "content": record.data, "raw_text": item.get("caption"),
                             "parse_mode": item.get("parse_mode")}
            if kind == "photo":
                if record.photo_sizes is None:
                    record.photo_sizes = self._photo_sizes(record)
                content["photo"] = [dict(s) for s in record.photo_sizes]
            elif kind == "document":
                content["document"] = record.as_document()
            else:  # audio / video / live_photo: minimal objects
                media: JSON = {"file_id": record.file_id, "file_unique_id": record.file_unique_id,
                               "duration": 0, "file_size": len(record.data)}
                if kind == "video":
                    media.update(width=0, height=0)
                content["extra"] = {kind: media}
            prepared.append(content)
        messages = []
        for content in prepared:
            content["extra"] = {**extra, **content.get("extra", {}), "media_group_id": group_id}
            messages.append(self._new_bot_message(chat, "sendMediaGroup", params, **content))
        return [m.to_api() for m in messages]

    def _api_sendChatAction(self, params: JSON, chat: _Chat | None) -> bool:
        assert chat is not None
        if params["action"] not in _CHAT_ACTIONS:
            raise ApiError("Bad Request: wrong parameter action in request")
        chat.actions.append(params["action"])
        return True

    def _api_generic(self, method: str, params: JSON, chat: _Chat | None) -> Any:
        spec = self._spec.methods[method]
        if chat is not None and _is_send(method) and "Message" in spec.returns:
            extra = self._reply_to(chat, params)
            msg = self._new_bot_message(
                chat, method, params, extra=extra,
                reply_markup=self._markup(chat, params.get("reply_markup")),
            )
            return msg.to_api()
        return True

    def _api_editMessageText(self, params: JSON, chat: _Chat | None) -> JSON:
        chat, msg = self._editable(params)
        if msg.text is None:
            raise ApiError("Bad Request: there is no text in the message to edit")
        if "text" not in params:
            raise ApiError("Bad Request: message text is empty")
        text, entities = self._format(params, "text", "parse_mode", "entities", caption=False)
        markup = self._markup(chat, params.get("reply_markup"))
        if (text, entities, markup) == (msg.text, msg.entities, msg.reply_markup):
            raise ApiError(_NOT_MODIFIED)
        self._apply_edit(chat, msg, text=text, entities=entities, reply_markup=markup,
                         raw_text=params["text"], parse_mode=params.get("parse_mode"))
        return msg.to_api()

    def _api_editMessageCaption(self, params: JSON, chat: _Chat | None) -> JSON:
        chat, msg = self._editable(params)
        if msg.document is None and msg.photo is None:
            raise ApiError("Bad Request: there is no caption in the message to edit")
        caption, entities = self._format(
            params, "caption", "parse_mode", "caption_entities", caption=True
        )
        markup = self._markup(chat, params.get("reply_markup"))
        if (caption, entities, markup) == (msg.caption, msg.caption_entities, msg.reply_markup):
            raise ApiError(_NOT_MODIFIED)
        self._apply_edit(chat, msg, caption=caption, caption_entities=entities,
                         reply_markup=markup, raw_text=params.get("caption"),
                         parse_mode=params.get("parse_mode"))
        return msg.to_api()

    def _api_editMessageReplyMarkup(self, params: JSON, chat: _Chat | None) -> JSON:
        chat, msg = self._editable(params)
        markup = self._markup(chat, params.get("reply_markup"))
        if markup == msg.reply_markup:
            raise ApiError(_NOT_MODIFIED)
        self._apply_edit(chat, msg, reply_markup=markup)
        return msg.to_api()

    def _apply_edit(self, chat: _Chat, msg: FakeMessage, **changes: Any) -> None:
        msg.edits.append(msg.snapshot())
        for key, value in changes.items():
            setattr(msg, key, value)
        msg.edit_date = int(time.time())
        self._event(chat, "edited", msg)

    def _api_deleteMessage(self, params: JSON, chat: _Chat | None) -> bool:
        assert chat is not None
        msg = chat.messages.get(params["message_id"])
        if msg is None or msg.deleted:
            raise ApiError("Bad Request: message to delete not found")
        msg.deleted = True
        self._event(chat, "deleted", msg)
        return True

    def _api_deleteMessages(self, params: JSON, chat: _Chat | None) -> bool:
        assert chat is not None
        for message_id in params["message_ids"]:
            msg = chat.messages.get(message_id)
            if msg is not None and not msg.deleted:
                msg.deleted = True
                self._event(chat, "deleted", msg)
        return True

    def _api_answerCallbackQuery(self, params: JSON, chat: _Chat | None) -> bool:
        cq = self._callbacks.get(params["callback_query_id"])
        if cq is None or cq.answered:
            raise ApiError(_QUERY_INVALID)
        if len(params.get("text", "")) > CALLBACK_ANSWER_LIMIT:
            raise ApiError("Bad Request: MESSAGE_TOO_LONG")
        cq.answered = True
        cq.answer = {k: v for k, v in params.items() if k != "callback_query_id"}
        self._cond.notify_all()
        return True

    def _api_getFile(self, params: JSON, chat: _Chat | None) -> JSON:
        record = self._files.get(params["file_id"])
        if record is None:
            raise ApiError("Bad Request: invalid file_id")
        if len(record.data) > DOWNLOAD_LIMIT:
            raise ApiError("Bad Request: file is too big")
        return record.as_file()

    # ------------------------------------------------------------------ downloads
    def _download(self, token: str, file_path: str) -> tuple[int, str, bytes]:
        if token != self.token:
            return 401, "application/json", _error_body(401, "Unauthorized")
        with self._cond:
            record = self._files_by_path.get(file_path)
        if record is None:
            return 404, "application/json", _error_body(404, "Not Found")
        mime = record.mime_type or "application/octet-stream"
        return 200, mime, record.data


def _error_body(code: int, description: str) -> bytes:
    return json.dumps({"ok": False, "error_code": code, "description": description}).encode()


# ======================================================================= HTTP layer

_PARAM_RE = re.compile(r';\s*([\w*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _header_params(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, raw in _PARAM_RE.findall(value):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            raw = raw.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")
        key = key.lower()
        if key.endswith("*"):
            _, _, encoded = raw.partition("''")
            params[key[:-1]] = unquote(encoded or raw)
        else:
            params.setdefault(key, raw)
    return params


def parse_multipart(body: bytes, content_type: str) -> tuple[JSON, dict[str, UploadedFile]]:
    """Split a multipart/form-data body into (text fields, file parts)."""
    match = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type, re.IGNORECASE)
    if not match:
        raise ApiError("Bad Request: multipart boundary is missing")
    boundary = (match.group(1) or match.group(2)).encode("latin-1")
    fields: JSON = {}
    files: dict[str, UploadedFile] = {}
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        _, _, chunk = chunk.partition(b"\r\n")  # rest of the delimiter line
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, content = b"", chunk
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            files[name] = UploadedFile(
                name, disposition["filename"], headers.get("content-type"), content
            )
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    fake: FakeTelegram

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
            self._connections.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "nginx/1.18.0"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._serve()

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self._serve()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        fake = self.server.fake
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if fake._stopped:
            self.close_connection = True
            return
        url = urlsplit(self.path)
        path = url.path
        try:
            if path.startswith("/file/bot"):
                token, _, file_path = path[len("/file/bot"):].partition("/")
                status, ctype, data = fake._download(unquote(token), unquote(file_path))
                self._reply(status, data, ctype)
                return
            if not path.startswith("/bot"):
                self._reply(404, _error_body(404, "Not Found"))
                return
            token, _, method = path[len("/bot"):].partition("/")
            if unquote(token) != fake.token:
                self._reply(401, _error_body(401, "Unauthorized"))
                return
            if not method or "/" in method:
                self._reply(404, _error_body(404, "Not Found"))
                return
            try:
                params, files = self._parse_params(url.query, body)
            except ApiError as err:
                with fake._cond:
                    fake._record_error(method, err, {})
                self._reply(err.error_code, json.dumps(err.payload()).encode())
                return
            status, payload = fake._handle_api(method, params, files)
            self._reply(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))
        except Exception:  # noqa: BLE001 - report bugs of the stand-in loudly
            detail = traceback.format_exc()
            with fake._cond:
                fake.violations.append(f"INTERNAL ERROR of the stand-in: {detail}")
            self._reply(500, _error_body(500, "Internal Server Error"))

    def _parse_params(self, query: str, body: bytes) -> tuple[JSON, dict[str, UploadedFile]]:
        params: JSON = dict(parse_qsl(query, keep_blank_values=True))
        files: dict[str, UploadedFile] = {}
        content_type = self.headers.get("Content-Type", "")
        mime = content_type.split(";", 1)[0].strip().lower()
        if mime == "application/json":
            if body.strip():
                try:
                    data = json.loads(body)
                except ValueError:
                    raise ApiError("Bad Request: can't parse JSON encoded request body") from None
                if not isinstance(data, dict):
                    raise ApiError("Bad Request: JSON object expected as request body")
                params.update(data)
        elif mime == "application/x-www-form-urlencoded":
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        elif mime == "multipart/form-data":
            fields, files = parse_multipart(body, content_type)
            params.update(fields)
        return params, files

    def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        reason = self.responses.get(status, ("",))[0]
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            f"Server: {self.server_version}\r\n"
            f"Date: {self.date_time_string()}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            + ("Connection: close\r\n" if self.close_connection else "")
            + "\r\n"
        ).encode("latin-1")
        try:
            self.wfile.write(head + body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
