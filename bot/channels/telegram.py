"""Telegram adapter (python-telegram-bot): updates in, neutral Incoming to the core, Replies out.

Long polling is our own loop over getUpdates (not PTB's Updater, which confirms an update
to Telegram before it is handled): each batch is stored in the inbox first, and only the
next getUpdates call, made after that commit, confirms it. Updates are read one by one,
so one that python-telegram-bot cannot parse is skipped and logged instead of stopping
the poller. Updates of one chat are handled one after another, different chats
concurrently (bot.channels.inbound). The core runs in a worker thread (it talks to the
database synchronously) and commits the conversation state, with the update marked
handled, before anything is sent here. Every Bot API call that sends takes a slot of the
bot's shared pace (bot.pacing) and waits out 429s instead of dropping the reply.

With an https public address (PUBLIC_BASE_URL) Telegram calls the bot's webhook
(/telegram/webhook, its `secret_token` header checked in constant time) instead, and the
updates go to the same inbox. Limits, files and payloads follow the channel contract
(bot/channels/base.py): documents a person sends are downloaded and kept by the bot so
other channels can deliver them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import logging
import secrets
import signal
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.engine import Engine

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.channels.base import Channel, ChannelLimits, Services
from bot.channels.inbound import Inbound, Job
from bot.i18n import LANGUAGES, _, use_language
from bot.pacing import Pacer
from bot.services.inbox import Received
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
    reply_from_json,
    response_from_json,
    split_text,
)

log = logging.getLogger(__name__)

CHANNEL = "telegram"
LIMITS = ChannelLimits(name=CHANNEL, text_length=4096, buttons=True, callback_size=64, caption_length=1024,
                       documents=True)
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # the Bot API serves files up to 20 MB
Core = Callable[[Incoming], Response]
FILE_READ_TIMEOUT = 60.0  # seconds to download a document the core checks (at most 20 MB)
CommandMenu = Callable[[], list[MenuCommand]]  # the commands to list, described in the current language
DEFAULT_LANGUAGE = "vi"  # the command menu of clients in any other language than those of LANGUAGES


def bot_commands(menu: list[MenuCommand]) -> list[BotCommand]:
    """Telegram's command menu ("/" list) for the commands of the registry."""
    return [BotCommand(command.name, command.description) for command in menu]
# the update types the bot handles; Telegram sends no others (allowed_updates of getUpdates)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
REPLY_GIVE_UP = 600.0  # seconds of network trouble after which a reply is given up (kept in the inbox)


class BadToken(Exception):
    """Telegram refused the bot token (401/404): the operator must fix the configuration."""


def _seconds(delay: Any) -> float:
    return delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)


def identity_of(raw: dict) -> str | None:
    """What an update is, whatever its update_id: chat and message (and edit) or the query id."""
    for kind, body in raw.items():
        if kind == "update_id" or not isinstance(body, dict):
            continue
        if "message_id" in body:
            return f"{kind}:{chat_of(raw)}:{body['message_id']}:{body.get('edit_date', '')}"
        if "id" in body:
            return f"{kind}:{body['id']}"
    return None


def chat_of(raw: Any) -> str:
    """The chat an update belongs to, read defensively from the raw JSON ('' if none)."""
    if not isinstance(raw, dict):
        return ""
    for kind, body in raw.items():
        if kind == "update_id" or not isinstance(body, dict):
            continue
        chat = body.get("chat")
        if not isinstance(chat, dict):
            message = body.get("message")
            chat = message.get("chat") if isinstance(message, dict) else None
        if not isinstance(chat, dict):
            chat = body.get("from")
        if isinstance(chat, dict) and chat.get("id") is not None:
            return str(chat["id"])[:64]
    return ""


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


async def _with_retry(call: Callable[[], Awaitable[Any]], attempts: int = 3) -> Any:
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


async def paced(pacer: Pacer, call: Callable[[], Awaitable[Any]], give_up: float = REPLY_GIVE_UP) -> Any:
    """Run a sending Bot API call in a slot of the bot's pace; 429 waits `retry_after` and tries
    again (for as long as it takes), network trouble retries with capped backoff."""
    started = time.monotonic()
    delay = 0.5
    while True:
        await pacer.pace_reply()
        try:
            return await call()
        except RetryAfter as exc:
            seconds = _seconds(exc.retry_after)
            log.warning("rate limited: replies wait %.1fs", seconds)
            pacer.hold(seconds)
        except (Forbidden, BadRequest, InvalidToken):
            raise
        except NetworkError:
            if time.monotonic() - started > give_up:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


@dataclasses.dataclass(frozen=True)
class Part:
    """One Bot API message of a reply: a file (with its caption) or a chunk of text."""

    kind: str  # text | document | photo
    text: str  # the message text, or the file's caption
    markup: bool  # whether the reply's keyboard goes with this part


def plan(reply: Reply) -> list[Part]:
    """How a reply goes out within Telegram's limits.

    A file whose caption and the text fit in one caption travels as one message; otherwise
    the file carries its caption and the text follows, split at the text limit. The
    keyboard goes with the last part.
    """
    parts: list[Part] = []
    text = reply.text
    if reply.file is not None:
        caption = reply.file.caption
        joined = "\n\n".join(p for p in (caption, text) if p)
        if len(joined) <= LIMITS.caption_length:
            caption, text = joined, ""
        else:
            caption = split_text(caption, LIMITS.caption_length)[0] if caption else ""
        parts.append(Part(reply.file.kind if reply.file.kind == "photo" else "document", caption, False))
    if text:
        parts += [Part("text", chunk, False) for chunk in split_text(text, LIMITS.text_length)]
    if parts and reply.options:
        parts[-1] = Part(parts[-1].kind, parts[-1].text, True)
    return parts


def payload_sends(payload: dict) -> int:
    """How many Bot API messages one outbox payload takes (the sender paces by this)."""
    return len(plan(reply_from_json(payload))) or 1


FileSource = Callable[[str], str]  # stored file key → local path


def file_payload(f: OutFile, files: FileSource | None) -> Any:
    """What send_document/send_photo takes: our own file id again, or the bytes."""
    if f.file_id and f.file_channel in (None, CHANNEL):
        return f.file_id
    if f.content is not None:
        content = f.content
    elif f.stored and files is not None:
        content = Path(files(f.stored)).read_bytes()
    else:
        content = Path(f.path or "").read_bytes()
    return InputFile(content, filename=f.file_name)


async def send_reply(bot: Any, chat_id: int | str, reply: Reply, retries: int = 3,
                     later_retries: int | None = None, pacer: Pacer | None = None,
                     files: FileSource | None = None) -> list[Any]:
    """Send one reply as planned by `plan` (split at Telegram's limits; keyboard on the last part).

    `later_retries` (default: `retries`) applies to the parts after the first: once a part
    has arrived, retrying the whole reply would send it twice, so later parts wait out
    flood limits here instead. With a `pacer` (replies to people), every part takes a slot
    of the bot's pace and is retried until it is sent (see `paced`).
    """
    sent: list[Any] = []

    def tries() -> int:
        return retries if not sent or later_retries is None else later_retries

    async def with_retry(call: Callable[[], Awaitable[Any]], attempts: int) -> Any:
        if pacer is not None:
            return await paced(pacer, call)
        return await _with_retry(call, attempts)

    markup_of = keyboard(reply)
    for part in plan(reply):
        markup = markup_of if part.markup else None
        if part.kind == "text":
            sent.append(await with_retry(lambda: bot.send_message(
                chat_id, part.text, parse_mode=ParseMode.HTML, reply_markup=markup), tries()))
            continue
        f = reply.file
        assert f is not None
        payload = file_payload(f, files)
        caption = part.text or None
        method = bot.send_photo if part.kind == "photo" else bot.send_document
        sent.append(await with_retry(lambda: method(
            chat_id, payload, caption=caption, parse_mode=ParseMode.HTML if caption else None,
            reply_markup=markup), tries()))
    return sent


async def edit_text(bot: Any, chat_id: str, message_id: str, text: str) -> None:
    """Replace the text of a message the bot sent (a progress message); "not modified" is fine."""
    try:
        await _with_retry(lambda: bot.edit_message_text(text, chat_id=chat_id, message_id=int(message_id),
                                                        parse_mode=ParseMode.HTML), 2)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return
        raise Rejected(str(exc)) from exc
    except Forbidden as exc:
        raise Unreachable(str(exc)) from exc
    except RetryAfter as exc:
        raise RateLimited(_seconds(exc.retry_after)) from exc
    except (NetworkError, TelegramError) as exc:
        raise Transient(str(exc)) from exc


async def deliver(bot: Any, chat_id: str, payload: dict, files: FileSource | None = None) -> str | None:
    """Send one outbox payload, translating Telegram's errors into the sender's categories."""
    try:
        sent = await send_reply(bot, chat_id, reply_from_json(payload), retries=1, later_retries=3, files=files)
    except RetryAfter as exc:
        raise RateLimited(_seconds(exc.retry_after)) from exc
    except Forbidden as exc:
        raise Unreachable(str(exc)) from exc
    except BadRequest as exc:
        if "chat not found" in str(exc).lower():
            raise Unreachable(str(exc)) from exc
        raise Rejected(str(exc)) from exc
    except (NetworkError, TelegramError) as exc:
        raise Transient(str(exc)) from exc
    return str(sent[-1].message_id) if sent else None


def configured(settings: Any) -> bool:
    return bool(settings.telegram_token)


def build(settings: Any, core: Core, services: Services) -> "TelegramChannel":
    return TelegramChannel(
        core, token=settings.telegram_token, base_url=settings.telegram_api_base_url,
        base_file_url=settings.telegram_file_base_url, poll_timeout=settings.poll_timeout,
        core_threads=1 if settings.database_url.startswith("sqlite") else 8,
        commands=services.commands, engine=services.engine, pacer=services.pacer,
        settings=settings, services=services)


def invite_link(settings: Any, code: str) -> str:
    """A t.me link that opens the bot with /start <code>."""
    return f"https://t.me/{settings.bot_username}?start={code}"


class TelegramChannel(Channel):
    """The bot on Telegram: our long-polling loop (or a webhook), the inbox, per-chat workers
    around the core."""

    limits = LIMITS
    WEBHOOK_PATH = "/telegram/webhook"

    def __init__(self, core: Core, *, token: str, base_url: str, base_file_url: str,
                 poll_timeout: int = 10, core_threads: int = 4, post_init: Callable[[Application], Awaitable[None]] | None = None,
                 post_shutdown: Callable[[Application], Awaitable[None]] | None = None,
                 commands: CommandMenu | None = None, engine: Engine | None = None,
                 pacer: Pacer | None = None, settings: Any = None, services: Services | None = None) -> None:
        if engine is None:
            raise ValueError("the Telegram channel needs the database engine (its inbox)")
        self.core = core
        self.commands = commands
        self.settings = settings
        self.services = services
        self.webhook_secret = (settings.telegram_webhook_secret if settings is not None else None) \
            or secrets.token_urlsafe(32)
        self._task: asyncio.Task | None = None
        self.poll_timeout = poll_timeout
        self.pacer = pacer or Pacer()
        # SQLite has one writer at a time: more core threads would only queue on its lock
        self._executor = ThreadPoolExecutor(max_workers=core_threads, thread_name_prefix="core")
        # chat → the last message whose keyboard we removed (not to remove it twice)
        self._cleared: dict[str, int] = {}
        self._extra_post_init = post_init
        self._post_shutdown = post_shutdown
        self.inbound = Inbound(engine, CHANNEL, self.process, self._executor)
        self._stop: asyncio.Event | None = None
        builder = (
            ApplicationBuilder()
            .token(token)
            .base_url(base_url)
            .base_file_url(base_file_url)
            .updater(None)  # we poll ourselves (see the module docstring)
        )
        self.application: Application = builder.build()

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

    # ---- one stored update --------------------------------------------------

    async def process(self, job: Job) -> None:
        """Handle one stored update (or only send its stored answer) and deliver what it answers."""
        bot = self.application.bot
        try:
            update = Update.de_json(job.payload, bot)
        except Exception as exc:  # noqa: BLE001 - anything the library cannot read is skipped
            log.error("skipped update %s: python-telegram-bot cannot read it (%s: %s)",
                      job.payload.get("update_id"), type(exc).__name__, exc)
            await self.inbound.skip(job, f"unreadable: {type(exc).__name__}: {exc}")
            return
        incoming = to_incoming(update)
        query = update.callback_query
        if incoming is None:
            if query is not None:
                await self._answer(query, None)
            await self.inbound.skip(job, "not handled by the bot")
            return
        incoming = dataclasses.replace(incoming, inbox_id=job.inbox_id)
        resent = job.reply is not None
        if incoming.file is not None and not resent:
            incoming = await self._keep_file(incoming)
        if resent:
            response = response_from_json(job.reply or {})
        else:
            loop = asyncio.get_running_loop()
            response = await loop.run_in_executor(self._executor, self.core, incoming)
        jobs: list[Awaitable[Any]] = [self._send_all(bot, incoming.chat_id, response)]
        if query is not None:  # answer the press and drop its keyboard while the replies go out
            jobs.append(self._answer(query, response.toast))
            if not resent:
                jobs.append(self._clear_keyboard(bot, incoming, query, response))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        error = results[0] if isinstance(results[0], BaseException) else None
        if isinstance(error, (Forbidden, BadRequest)):
            log.info("reply to chat %s refused: %s", incoming.chat_id, error)
        elif isinstance(error, BaseException):
            raise error  # network trouble for too long: left open, sent again after a restart
        await self.inbound.done(job, str(error) if error else None)

    async def _send_all(self, bot: Any, chat_id: str, response: Response) -> None:
        for reply in response.replies:
            await send_reply(bot, chat_id, reply, pacer=self.pacer, files=self._files())

    async def _answer(self, query: Any, toast: str | None) -> None:
        try:
            await query.answer(toast or None)
        except BadRequest:
            log.info("callback query %s expired before it was answered", query.id)
        except TelegramError as exc:
            log.warning("could not answer callback query %s: %s", query.id, exc)

    async def _clear_keyboard(self, bot: Any, incoming: Incoming, query: Any, response: Response) -> None:
        """The pressed step is over: drop its buttons so they are not pressed again (once per message)."""
        message = query.message
        if (response.stale or message is None or not getattr(message, "reply_markup", None)
                or self._cleared.get(incoming.chat_id) == message.message_id):
            return
        self._cleared[incoming.chat_id] = message.message_id
        try:
            await self.pacer.pace_reply()
            await bot.edit_message_reply_markup(incoming.chat_id, message.message_id, reply_markup=None)
        except TelegramError:
            pass

    # ---- the channel contract -------------------------------------------------

    @property
    def uses_webhook(self) -> bool:
        """Telegram calls only https addresses; otherwise the channel long-polls."""
        url = self.settings.public_base_url if self.settings is not None else None
        return bool(url and url.startswith("https://"))

    async def start(self) -> None:
        """Initialise, resume what the inbox holds, then poll (or register the webhook)."""
        stop = self._stop = asyncio.Event()
        if not await self._start(stop):
            return
        await self._post_init(self.application)
        leader = self.services.leader if self.services is not None else None
        if self.uses_webhook:
            await self.inbound.resume()
            url = f"{self.settings.public_base_url}{self.WEBHOOK_PATH}"
            await self.application.bot.set_webhook(url, secret_token=self.webhook_secret,
                                                   allowed_updates=ALLOWED_UPDATES)
            log.info("Telegram webhook at %s", url)
            return
        try:
            await self.application.bot.delete_webhook(drop_pending_updates=False)
        except TelegramError as exc:
            log.warning("could not remove a webhook: %s", exc)
        self._task = asyncio.create_task(self._poll_while_leading(stop, leader), name="telegram-poll")

    async def _poll_while_leading(self, stop: asyncio.Event, leader: Any) -> None:
        """Telegram has one getUpdates consumer per bot: of several processes on one database,
        the leader polls (bot/leadership.py); another takes over, resuming what the inbox holds,
        when it goes."""
        while not stop.is_set():
            if leader is not None and not await leader.wait_leading(stop):
                return
            await self._resume(stop)  # what this or an earlier leader left in the inbox
            log.info("polling Telegram")
            await self.poll(stop, leading=leader)

    async def close(self) -> None:
        """Stop polling, let the handlers in flight finish, shut down (the contract's stop)."""
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self.inbound.join(timeout=5)
        await self.application.shutdown()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def send(self, chat_id: str, reply: Reply) -> list[str]:
        sent = await send_reply(self.application.bot, chat_id, reply, pacer=self.pacer, files=self._files())
        return [str(m.message_id) for m in sent]

    async def edit(self, chat_id: str, message_id: str, text: str) -> bool:
        await edit_text(self.application.bot, chat_id, message_id, text)
        return True

    async def deliver(self, chat_id: str, payload: dict) -> str | None:
        return await deliver(self.application.bot, chat_id, payload, files=self._files())

    def cost(self, payload: dict) -> int:
        return payload_sends(payload)

    def invite_link(self, code: str) -> str | None:
        return invite_link(self.settings, code) if self.settings is not None else None

    async def webhook(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        """Telegram's call: the secret header first (constant time), then the update into the inbox."""
        given = headers.get("x-telegram-bot-api-secret-token", "")
        if not self.uses_webhook or not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return 403, {"ok": False, "description": "wrong secret token"}
        try:
            raw = json.loads(body)
            received = [Received(int(raw["update_id"]), chat_of(raw), raw, identity_of(raw))]
        except (ValueError, TypeError, KeyError):
            return 400, {"ok": False, "description": "not an update"}
        await self.inbound.store(received)
        return 200, {"ok": True}

    def _files(self) -> FileSource | None:
        return self.services.file_path if self.services is not None else None

    async def _keep_file(self, incoming: Incoming) -> Incoming:
        """Download a document a person sent and keep our own copy, so any channel can deliver it."""
        f = incoming.file
        if f is None or self.services is None or (f.mime_type == "image/jpeg" and f.file_name is None):
            return incoming
        if f.size is not None and f.size > DOWNLOAD_LIMIT:
            return incoming
        try:
            remote = await self.application.bot.get_file(f.file_id)
            content = bytes(await remote.download_as_bytearray())
        except TelegramError:
            log.warning("could not download file %s", f.file_id, exc_info=True)
            return incoming
        key = await asyncio.to_thread(self.services.store_file, content, f.file_name or "file")
        return dataclasses.replace(incoming, file=dataclasses.replace(f, stored=key))

    # ---- polling ------------------------------------------------------------

    async def _start(self, stop: asyncio.Event) -> bool:
        """Initialise the bot (getMe); an unreachable Bot API is retried with backoff."""
        delay = 1.0
        while not stop.is_set():
            try:
                await self.application.initialize()
                return True
            except InvalidToken:
                raise BadToken() from None
            except (NetworkError, OSError) as exc:
                log.warning("the Bot API is not reachable (%s); trying again in %.0fs", exc, delay)
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except asyncio.TimeoutError:
                pass
            delay = min(delay * 2, 60.0)
        return False

    async def _get_updates(self, offset: int | None) -> list[Any]:
        params: dict[str, Any] = {"timeout": self.poll_timeout, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            params["offset"] = offset
        with warnings.catch_warnings():  # PTB suggests its own get_updates, which parses the whole batch
            warnings.simplefilter("ignore")
            result = await self.application.bot.do_api_request(
                "getUpdates", api_kwargs=params, read_timeout=self.poll_timeout + 10)
        return result if isinstance(result, list) else []

    async def poll(self, stop: asyncio.Event, leading: Callable[[], bool] | None = None) -> None:
        """Long-poll until `stop`: store each batch, then confirm it with the next call's offset.

        Once a call with an offset returned, everything before it is confirmed and later
        calls go without one: Telegram then sends the oldest unconfirmed update, whatever
        its id (ids start over at a random number after a week without updates).
        """
        offset: int | None = None
        delay = 1.0
        while not stop.is_set():
            if leading is not None and not leading():
                log.info("stopped polling Telegram: another process leads")
                return
            poll = asyncio.ensure_future(self._get_updates(offset))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({poll, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not poll.done():
                poll.cancel()
                break
            try:
                raw_updates = poll.result()
                received = [Received(int(raw["update_id"]), chat_of(raw), raw, identity_of(raw)) for raw in raw_updates
                            if isinstance(raw, dict) and isinstance(raw.get("update_id"), int)]
                if len(received) != len(raw_updates):
                    log.error("skipped %d update(s) without an update_id", len(raw_updates) - len(received))
                await self.inbound.store(received)
            except InvalidToken:
                raise BadToken() from None
            except Conflict as exc:
                log.error("another program polls with this token: %s", exc)
            except (NetworkError, OSError) as exc:
                log.warning("getUpdates failed: %s; trying again in %.0fs", exc, delay)
            except Exception:  # noqa: BLE001 - e.g. the database is locked: not confirmed, redelivered
                log.exception("could not store received updates; trying again in %.0fs", delay)
            else:
                delay = 1.0
                offset = max(r.update_id for r in received) + 1 if received else None
                if raw_updates and not received:
                    offset = None
                continue
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except asyncio.TimeoutError:
                pass
            delay = min(delay * 2, 30.0)

    async def _resume(self, stop: asyncio.Event) -> None:
        """Queue what the inbox still holds; a locked database is waited out, not fatal."""
        delay = 0.5
        while not stop.is_set():
            try:
                await self.inbound.resume()
                return
            except Exception as exc:  # noqa: BLE001 - e.g. "database is locked" by a long import
                log.warning("could not read the inbox (%s); trying again in %.1fs", exc, delay)
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except asyncio.TimeoutError:
                pass
            delay = min(delay * 2, 10.0)

    async def main(self) -> None:
        """Start, resume what the inbox holds, poll until SIGINT/SIGTERM, shut down."""
        stop = self._stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # not the main thread (tests)
                pass
        if not await self._start(stop):
            return
        try:
            try:
                await self.application.bot.delete_webhook(drop_pending_updates=False)
            except TelegramError as exc:
                log.warning("could not remove a webhook: %s", exc)
            await self._post_init(self.application)
            await self._resume(stop)
            await self.poll(stop)
        finally:
            await self.inbound.join(timeout=5)
            if self._post_shutdown is not None:
                await self._post_shutdown(self.application)
            await self.application.shutdown()
            self._executor.shutdown(wait=False, cancel_futures=True)

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def run(self) -> None:
        """Long-poll until interrupted; raises BadToken when Telegram refuses the token."""
        asyncio.run(self.main())
