"""What the stand-in stores: limits, API call and error records, files, messages and per-chat state."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from typing import TYPE_CHECKING

from .html_check import utf16_len

if TYPE_CHECKING:
    from .users import FakeUser

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


def _error_body(code: int, description: str) -> bytes:
    return json.dumps({"ok": False, "error_code": code, "description": description}).encode()
