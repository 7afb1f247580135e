"""Telegram adapter (python-telegram-bot): updates in, neutral Incoming to the core, Replies out.

Updates of one chat are handled one after another, different chats concurrently. The core
runs in a worker thread (it talks to the database synchronously) and commits the
conversation state before anything is sent here.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, BaseUpdateProcessor, ContextTypes, TypeHandler

from bot.i18n import _, use_language
from bot.messages import (
    FileRef,
    Incoming,
    Option,
    OutFile,
    RateLimited,
    Rejected,
    Reply,
    Response,
    Transient,
    Unreachable,
    split_text,
)

log = logging.getLogger(__name__)

CHANNEL = "telegram"
Core = Callable[[Incoming], Response]


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Process updates concurrently, but those of one chat strictly in order."""

    def __init__(self, max_concurrent_updates: int = 32) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[object, asyncio.Lock] = {}
        self._users: dict[object, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:  # forget idle chats so the table stays small
                del self._users[key]
                del self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def to_incoming(update: Update) -> Incoming | None:
    """Translate a Telegram update into the neutral form (None for what we ignore)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE or user.is_bot:
        return None
    base = dict(
        channel=CHANNEL,
        update_id=update.update_id,
        user_id=str(user.id),
        chat_id=str(chat.id),
        language_code=user.language_code,
        display_name=user.full_name,
        username=user.username,
    )
    if update.callback_query is not None:
        query = update.callback_query
        message_id = str(query.message.message_id) if query.message else None
        return Incoming(**base, data=query.data or "", message_id=message_id)
    message = update.message
    if message is None:
        return None
    file = None
    if message.document is not None:
        doc = message.document
        file = FileRef(doc.file_id, doc.file_name, doc.mime_type, doc.file_size)
    elif message.photo:
        photo = message.photo[-1]
        file = FileRef(photo.file_id, None, "image/jpeg", photo.file_size)
    return Incoming(**base, text=message.text or message.caption, file=file)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Inline keyboard of a reply; numbered choices carry their number, as typed choices do."""
    if not reply.options:
        return None
    rows = []
    number = 0
    for row in reply.options:
        buttons = []
        for option in row:
            number += 1
            label = f"{number}. {option.label}" if reply.numbered else option.label
            buttons.append(InlineKeyboardButton(label, callback_data=option.data))
        rows.append(buttons)
    return InlineKeyboardMarkup(rows)


async def with_retry(call: Callable[[], Awaitable[Any]], attempts: int = 3) -> Any:
    """Run a Bot API call, waiting out flood limits and brief network trouble."""
    for attempt in range(attempts):
        try:
            return await call()
        except RetryAfter as exc:
            if attempt == attempts - 1:
                raise
            delay = exc.retry_after
            await asyncio.sleep(delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay))
        except (Forbidden, BadRequest):
            raise
        except NetworkError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5 * 2**attempt)
    return None


async def send_reply(bot: Any, chat_id: int | str, reply: Reply, retries: int = 3) -> list[Any]:
    """Send one reply (split at Telegram's length limit; the keyboard goes with the last part)."""
    sent = []
    if reply.file is not None:
        f = reply.file
        content = f.content if f.content is not None else Path(f.path or "").read_bytes()
        payload = InputFile(content, filename=f.file_name)
        caption = split_text(f.caption, 1024)[0] if f.caption else None
        if f.kind == "photo":
            sent.append(await with_retry(lambda: bot.send_photo(
                chat_id, payload, caption=caption, parse_mode=ParseMode.HTML if caption else None), retries))
        else:
            sent.append(await with_retry(lambda: bot.send_document(
                chat_id, payload, caption=caption, parse_mode=ParseMode.HTML if caption else None), retries))
    if reply.text:
        chunks = split_text(reply.text)
        for i, chunk in enumerate(chunks):
            markup = keyboard(reply) if i == len(chunks) - 1 else None
            sent.append(await with_retry(lambda: bot.send_message(
                chat_id, chunk, parse_mode=ParseMode.HTML, reply_markup=markup), retries))
    return sent


def payload_reply(payload: dict) -> Reply:
    """An outbox payload as a Reply (buttons are not numbered: a push starts no conversation)."""
    options = [[Option(label, data) for label, data in row] for row in payload.get("options", [])]
    file = None
    if payload.get("file"):
        f = payload["file"]
        file = OutFile(file_name=f["name"], path=f.get("path"), kind=f.get("kind", "document"),
                       caption=f.get("caption", ""))
    return Reply(text=payload.get("text", ""), options=options, numbered=False, file=file)


async def deliver(bot: Any, chat_id: str, payload: dict) -> str | None:
    """Send one outbox payload, translating Telegram's errors into the sender's categories."""
    try:
        sent = await send_reply(bot, chat_id, payload_reply(payload), retries=1)
    except RetryAfter as exc:
        delay = exc.retry_after
        raise RateLimited(delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)) from exc
    except Forbidden as exc:
        raise Unreachable(str(exc)) from exc
    except BadRequest as exc:
        if "chat not found" in str(exc).lower():
            raise Unreachable(str(exc)) from exc
        raise Rejected(str(exc)) from exc
    except (NetworkError, TelegramError) as exc:
        raise Transient(str(exc)) from exc
    return str(sent[-1].message_id) if sent else None


class TelegramChannel:
    """The python-telegram-bot application around the core."""

    def __init__(self, core: Core, *, token: str, base_url: str, base_file_url: str,
                 poll_timeout: int = 10, post_init: Callable[[Application], Awaitable[None]] | None = None,
                 post_shutdown: Callable[[Application], Awaitable[None]] | None = None) -> None:
        self.core = core
        self.poll_timeout = poll_timeout
        # chat → the last message whose keyboard we removed (not to remove it twice)
        self._cleared: dict[str, int] = {}
        self._extra_post_init = post_init
        builder = (
            ApplicationBuilder()
            .token(token)
            .base_url(base_url)
            .base_file_url(base_file_url)
            .concurrent_updates(PerChatUpdateProcessor())
            .post_init(self._post_init)
        )
        if post_shutdown is not None:
            builder = builder.post_shutdown(post_shutdown)
        self.application: Application = builder.build()
        self.application.add_handler(TypeHandler(Update, self.on_update))
        self.application.add_error_handler(self.on_error)

    async def _post_init(self, application: Application) -> None:
        with use_language("vi"):
            commands = [
                BotCommand("baocao", _("Report figures")),
                BotCommand("menu", _("Menu")),
                BotCommand("huy", _("Cancel")),
                BotCommand("ngonngu", _("Language")),
                BotCommand("help", _("Help")),
            ]
        try:
            await application.bot.set_my_commands(commands)
        except TelegramError:
            log.warning("could not set the command list", exc_info=True)
        if self._extra_post_init is not None:
            await self._extra_post_init(application)

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Hand one update to the core and deliver what it answers."""
        incoming = to_incoming(update)
        query = update.callback_query
        if incoming is None:
            if query is not None:
                await query.answer()
            return
        response = await asyncio.to_thread(self.core, incoming)
        bot = context.bot
        if query is not None:
            try:
                await query.answer(response.toast or None)
            except BadRequest:
                log.info("callback query %s expired before it was answered", query.id)
            message = query.message
            if (not response.stale and message is not None and getattr(message, "reply_markup", None)
                    and self._cleared.get(incoming.chat_id) != message.message_id):
                self._cleared[incoming.chat_id] = message.message_id
                try:  # the pressed step is over: drop its buttons so they are not pressed again
                    await bot.edit_message_reply_markup(incoming.chat_id, message.message_id, reply_markup=None)
                except TelegramError:
                    pass
        for reply in response.replies:
            await send_reply(bot, incoming.chat_id, reply)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling an update", exc_info=context.error)

    def run(self) -> None:
        """Long-poll until interrupted."""
        self.application.run_polling(
            allowed_updates=["message", "callback_query"],
            timeout=self.poll_timeout,
            drop_pending_updates=False,
        )
