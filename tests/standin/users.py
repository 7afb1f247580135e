"""Simulated users: FakeUser (what a test plays) and the stand-in side that turns their actions into updates."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from typing import TYPE_CHECKING

from .records import (
    FakeMessage,
    JSON,
    _CallbackQuery,
    _Chat,
    _Event,
    _command_entities,
)

if TYPE_CHECKING:
    from .server import FakeTelegram

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




class SimulatedUsers:
    """FakeTelegram's side of simulated users: updates from their actions, waiting for the bot."""

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

