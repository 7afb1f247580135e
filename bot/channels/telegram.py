"""Telegram adapter (python-telegram-bot): updates in, neutral Incoming to the core, Replies out.

Updates of one chat are handled one after another, different chats concurrently. The core
runs in a worker thread (it talks to the database synchronously) and commits the
conversation state before anything is sent here.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
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

from bot.i18n import LANGUAGES, _, use_language
from bot.messages import (
    FileRef,
    Incoming,
    MenuCommand,
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
FILE_READ_TIMEOUT = 60.0  # seconds to download a document the core checks (at most 20 MB)
CommandMenu = Callable[[], list[MenuCommand]]  # the commands to list, described in the current language
DEFAULT_LANGUAGE = "vi"  # the command menu of clients in any other language than those of LANGUAGES


def bot_commands(menu: list[MenuCommand]) -> list[BotCommand]:
    """Telegram's command menu ("/" list) for the commands of the registry."""
    return [BotCommand(command.name, command.description) for command in menu]


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
    message = update.message or update.edited_message
    if message is None:
        return None
    file = None
    if message.document is not None:
        doc = message.document
        file = FileRef(doc.file_id, doc.file_name, doc.mime_type, doc.file_size,
                       read=file_reader(update, doc.file_id))
    elif message.photo:
        photo = message.photo[-1]
        file = FileRef(photo.file_id, None, "image/jpeg", photo.file_size)
    return Incoming(**base, text=message.text or message.caption, file=file,
                    edited=update.edited_message is not None)


def file_reader(update: Update, file_id: str) -> Callable[[], bytes] | None:
    """Fetch a document's content when the core asks (it runs in a worker thread; the Bot API
    calls run on this event loop). None outside a running loop."""
    try:
        bot = update.get_bot()
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None

    async def fetch() -> bytes:
        telegram_file = await bot.get_file(file_id)
        return bytes(await telegram_file.download_as_bytearray())

    def read() -> bytes:
        return asyncio.run_coroutine_threadsafe(fetch(), loop).result(timeout=FILE_READ_TIMEOUT)

    return read


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


CAPTION_LIMIT = 1024


async def send_reply(bot: Any, chat_id: int | str, reply: Reply, retries: int = 3,
                     later_retries: int | None = None) -> list[Any]:
    """Send one reply (split at Telegram's length limit; the keyboard goes with the last part).

    `later_retries` (default: `retries`) applies to the parts after the first: once a part
    has arrived, retrying the whole reply would send it twice, so later parts wait out
    flood limits here instead.
    """
    sent: list[Any] = []

    def tries() -> int:
        return retries if not sent or later_retries is None else later_retries

    if reply.file is not None:
        f = reply.file
        if f.file_id:
            payload: Any = f.file_id
        else:
            content = f.content if f.content is not None else Path(f.path or "").read_bytes()
            payload = InputFile(content, filename=f.file_name)
        caption = split_text(f.caption, CAPTION_LIMIT)[0] if f.caption else None
        markup = keyboard(reply) if not reply.text else None  # a file alone carries the buttons
        if f.kind == "photo":
            sent.append(await with_retry(lambda: bot.send_photo(
                chat_id, payload, caption=caption, parse_mode=ParseMode.HTML if caption else None,
                reply_markup=markup), tries()))
        else:
            sent.append(await with_retry(lambda: bot.send_document(
                chat_id, payload, caption=caption, parse_mode=ParseMode.HTML if caption else None,
                reply_markup=markup), tries()))
    if reply.text:
        chunks = split_text(reply.text)
        for i, chunk in enumerate(chunks):
            markup = keyboard(reply) if i == len(chunks) - 1 else None
            sent.append(await with_retry(lambda: bot.send_message(
                chat_id, chunk, parse_mode=ParseMode.HTML, reply_markup=markup), tries()))
    return sent


def payload_sends(payload: dict) -> int:
    """How many Bot API messages one outbox payload takes (the sender paces by this)."""
    text = payload.get("text") or ""
    return (1 if payload.get("file") else 0) + (len(split_text(text)) if text else 0) or 1


async def edit_text(bot: Any, chat_id: str, message_id: str, text: str) -> None:
    """Replace the text of a message the bot sent (a progress message); "not modified" is fine."""
    try:
        await with_retry(lambda: bot.edit_message_text(text, chat_id=chat_id, message_id=int(message_id),
                                                       parse_mode=ParseMode.HTML), 2)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return
        raise Rejected(str(exc)) from exc
    except Forbidden as exc:
        raise Unreachable(str(exc)) from exc
    except RetryAfter as exc:
        delay = exc.retry_after
        raise RateLimited(delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)) from exc
    except (NetworkError, TelegramError) as exc:
        raise Transient(str(exc)) from exc


def payload_reply(payload: dict) -> Reply:
    """An outbox payload as a Reply (buttons are not numbered: a push starts no conversation)."""
    options = [[Option(label, data) for label, data in row] for row in payload.get("options", [])]
    file = None
    if payload.get("file"):
        f = payload["file"]
        file = OutFile(file_name=f["name"], path=f.get("path"), kind=f.get("kind", "document"),
                       caption=f.get("caption", ""), file_id=f.get("file_id"))
    return Reply(text=payload.get("text", ""), options=options, numbered=False, file=file)


async def deliver(bot: Any, chat_id: str, payload: dict) -> str | None:
    """Send one outbox payload, translating Telegram's errors into the sender's categories."""
    try:
        sent = await send_reply(bot, chat_id, payload_reply(payload), retries=1, later_retries=3)
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
                 poll_timeout: int = 10, core_threads: int = 4, post_init: Callable[[Application], Awaitable[None]] | None = None,
                 post_shutdown: Callable[[Application], Awaitable[None]] | None = None,
                 commands: CommandMenu | None = None) -> None:
        self.core = core
        self.commands = commands
        self.poll_timeout = poll_timeout
        # SQLite has one writer at a time: more core threads would only queue on its lock
        self._executor = ThreadPoolExecutor(max_workers=core_threads, thread_name_prefix="core")
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
        if self.commands is not None:
            await self.set_command_menus(application.bot)
        if self._extra_post_init is not None:
            await self._extra_post_init(application)

    async def set_command_menus(self, bot: Any) -> None:
        """List the commands in Telegram's "/" menu: Vietnamese by default, each language for its clients."""
        assert self.commands is not None
        for lang in [DEFAULT_LANGUAGE, *(code for code in LANGUAGES if code != DEFAULT_LANGUAGE)]:
            with use_language(lang):
                commands = bot_commands(self.commands())
            try:
                await bot.set_my_commands(commands, language_code=None if lang == DEFAULT_LANGUAGE else lang)
            except TelegramError:
                log.warning("could not set the command list (%s)", lang, exc_info=True)

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Hand one update to the core and deliver what it answers."""
        incoming = to_incoming(update)
        query = update.callback_query
        if incoming is None:
            if query is not None:
                await query.answer()
            return
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self._executor, self.core, incoming)
        bot = context.bot
        jobs = [self._send_all(bot, incoming.chat_id, response)]
        if query is not None:  # answer the press and drop its keyboard while the replies go out
            jobs += [self._answer(query, response.toast), self._clear_keyboard(bot, incoming, query, response)]
        await asyncio.gather(*jobs)

    async def _send_all(self, bot: Any, chat_id: str, response: Response) -> None:
        for reply in response.replies:
            await send_reply(bot, chat_id, reply)

    async def _answer(self, query: Any, toast: str | None) -> None:
        try:
            await query.answer(toast or None)
        except BadRequest:
            log.info("callback query %s expired before it was answered", query.id)

    async def _clear_keyboard(self, bot: Any, incoming: Incoming, query: Any, response: Response) -> None:
        """The pressed step is over: drop its buttons so they are not pressed again (once per message)."""
        message = query.message
        if (response.stale or message is None or not getattr(message, "reply_markup", None)
                or self._cleared.get(incoming.chat_id) == message.message_id):
            return
        self._cleared[incoming.chat_id] = message.message_id
        try:
            await bot.edit_message_reply_markup(incoming.chat_id, message.message_id, reply_markup=None)
        except TelegramError:
            pass

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling an update", exc_info=context.error)

    def run(self) -> None:
        """Long-poll until interrupted."""
        self.application.run_polling(
            allowed_updates=["message", "edited_message", "callback_query"],
            timeout=self.poll_timeout,
            drop_pending_updates=False,
        )
