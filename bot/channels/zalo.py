"""Zalo Bot Platform channel: a thin client of our own over httpx.

API (bot.zaloplatforms.com docs): `POST {ZALO_API_BASE_URL}/bot<TOKEN>/<method>` with a
JSON body, answers `{ok, result, error_code, description}`. Updates come from
`getUpdates {timeout}` (one event, or a list; no offset) or, with PUBLIC_BASE_URL, from
a webhook (`setWebhook {url, secret_token}`; calls carry `X-Bot-Api-Secret-Token`,
checked in constant time) — never both. An event is `{event_name, message: {from,
chat: {id, chat_type}, text, photo, caption, message_id, date (ms)}}`.

The platform has no buttons and carries no documents: every choice is a numbered list
(typed digits and labels are resolved by the core), long texts are split under 2000
characters on line boundaries (never inside a word), files go as signed links
(bot/web/links.py) and pictures as `sendPhoto` with a signed URL when the bot has a
public address. Redeliveries are spotted by `message_id`; the message time (ms) is
the update number the core uses to refuse a replay after a restart. Group chats get
nothing, stickers and other unsupported messages one polite line.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
from collections import OrderedDict
from typing import Any

import httpx

from bot.channels.base import Channel, ChannelLimits, Core, Services
from bot.i18n import _, use_language
from bot.messages import (
    Incoming,
    RateLimited,
    Rejected,
    Reply,
    Transient,
    Unreachable,
    plain,
    reply_from_json,
    split_text,
)

log = logging.getLogger(__name__)

CHANNEL = "zalo"
LIMITS = ChannelLimits(name=CHANNEL, text_length=2000, buttons=False, callback_size=None, caption_length=1000,
                       documents=False)
SECRET_HEADER = "x-bot-api-secret-token"
SEEN_KEPT = 5000  # message ids remembered to drop repeated deliveries


def configured(settings: Any) -> bool:
    return bool(settings.zalo_token)


def build(settings: Any, core: Core, services: Services) -> "ZaloChannel":
    return ZaloChannel(core, settings=settings, services=services,
                       core_threads=1 if settings.database_url.startswith("sqlite") else 8)


def invite_link(settings: Any, code: str) -> str | None:
    """Zalo bots have no start links: the person types the code to the bot."""
    return None


class ZaloApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after


def options_text(reply: Reply) -> str:
    """The choices of a reply as lines to type: "1. Label", or the labels where a number is the answer."""
    options = reply.flat_options()
    if not options:
        return ""
    if reply.numbered:
        return "\n".join(f"{i}. {o.label}" for i, o in enumerate(options, start=1))
    return "\n".join(f"• {o.label}" for o in options)


def render_text(reply: Reply) -> str:
    """Plain text of a reply with its choices (Zalo shows no markup)."""
    parts = [plain(reply.text).strip()] if reply.text else []
    listed = options_text(reply)
    if listed:
        parts.append(listed)
    return "\n\n".join(p for p in parts if p)


def events_of(result: Any) -> list[dict]:
    """getUpdates and webhooks give one event or a list of them."""
    if isinstance(result, list):
        return [e for e in result if isinstance(e, dict)]
    return [result] if isinstance(result, dict) and result else []


def to_incoming(event: dict) -> Incoming | None:
    """A text event of a private chat in the neutral form (None for everything else)."""
    message = event.get("message") or {}
    sender = message.get("from") or {}
    chat = message.get("chat") or {}
    if not sender.get("id") or sender.get("is_bot") or str(chat.get("chat_type", "PRIVATE")).upper() != "PRIVATE":
        return None
    if event.get("event_name") != "message.text.received":
        return None
    date = message.get("date")
    return Incoming(channel=CHANNEL, user_id=str(sender["id"]), chat_id=str(chat.get("id") or sender["id"]),
                    text=str(message.get("text") or ""), language_code="vi",
                    display_name=str(sender.get("display_name") or sender.get("name") or ""),
                    update_id=int(date) if isinstance(date, (int, float)) or str(date).isdigit() else None)


class ZaloChannel(Channel):
    """Long polling (or a webhook) in, plain texts and links out."""

    limits = LIMITS
    WEBHOOK_PATH = "/zalo/webhook"

    def __init__(self, core: Core, *, settings: Any, services: Services, core_threads: int = 4,
                 client: httpx.AsyncClient | None = None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.core = core
        self.settings = settings
        self.services = services
        self.url = f"{settings.zalo_api_base_url.rstrip('/')}/bot{settings.zalo_token}"
        self.secret = settings.zalo_webhook_secret or secrets.token_urlsafe(24)
        self._client = client
        self._executor = ThreadPoolExecutor(max_workers=core_threads, thread_name_prefix="zalo-core")
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._tasks: set[asyncio.Task] = set()
        self._poller: asyncio.Task | None = None
        self._stopping = asyncio.Event()

    # ---- API ---------------------------------------------------------------------------------

    async def call(self, method: str, params: dict | None = None, timeout: float = 15.0) -> Any:
        assert self._client is not None
        try:
            answer = await self._client.post(f"{self.url}/{method}", json=params or {}, timeout=timeout)
        except httpx.HTTPError as exc:
            raise ZaloApiError(0, f"network: {exc}") from exc
        try:
            data = answer.json()
        except ValueError:
            raise ZaloApiError(answer.status_code, answer.text[:200]) from None
        if not data.get("ok"):
            code = int(data.get("error_code") or answer.status_code)
            params_ = data.get("parameters") or {}
            retry = params_.get("retry_after") if isinstance(params_, dict) else None
            raise ZaloApiError(code, str(data.get("description") or ""), float(retry) if retry else None)
        return data.get("result")

    # ---- the contract ------------------------------------------------------------------------

    @property
    def uses_webhook(self) -> bool:
        return bool(self.settings.public_base_url)

    async def start(self) -> None:
        self._client = self._client or httpx.AsyncClient()
        me = await self.call("getMe")
        log.info("Zalo bot %s", (me or {}).get("account_name") if isinstance(me, dict) else me)
        if self.uses_webhook:
            url = f"{self.settings.public_base_url}{self.WEBHOOK_PATH}"
            await self.call("setWebhook", {"url": url, "secret_token": self.secret})
            log.info("Zalo webhook at %s", url)
        else:
            await self.call("deleteWebhook")
            self._poller = asyncio.create_task(self._poll(), name="zalo-poll")
            log.info("polling Zalo at %s", self.settings.zalo_api_base_url)

    async def close(self) -> None:
        self._stopping.set()
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
        if self._client is not None:
            await self._client.aclose()
        self._executor.shutdown(wait=False)

    def parts(self, reply: Reply) -> list[tuple[str, str, str]]:
        """(method, text or photo URL, caption) messages of one reply, each within the limits."""
        out: list[tuple[str, str, str]] = []
        text = render_text(reply)
        if reply.file is not None:
            f = reply.file
            key = f.stored
            if key is None and f.content is not None:
                key = self.services.store_file(f.content, f.file_name)
            url = self.services.file_url(key) if key else None
            caption = plain(f.caption).strip()
            if url and f.kind == "photo" and self.settings.public_base_url:
                out.append(("sendPhoto", url, split_text(caption, LIMITS.caption_length)[0] if caption else ""))
            else:
                link = f"📎 {f.file_name}\n{url}" if url else f"📎 {f.file_name}"
                text = "\n\n".join(p for p in (caption, link, text) if p)
        for chunk in split_text(text, LIMITS.text_length) if text else []:
            out.append(("sendMessage", chunk, ""))
        return out

    async def send(self, chat_id: str, reply: Reply, *, attempts: int = 3) -> list[str]:
        ids: list[str] = []
        for method, body, caption in await asyncio.to_thread(self.parts, reply):
            params = {"chat_id": chat_id, "text": body} if method == "sendMessage" else \
                {"chat_id": chat_id, "photo": body, **({"caption": caption} if caption else {})}
            result = await self._with_retry(method, params, attempts)
            if isinstance(result, dict) and result.get("message_id"):
                ids.append(str(result["message_id"]))
        return ids

    async def _with_retry(self, method: str, params: dict, attempts: int) -> Any:
        for attempt in range(attempts):
            try:
                return await self.call(method, params)
            except ZaloApiError as exc:
                last = attempt == attempts - 1
                if exc.code == 429 and not last:
                    await asyncio.sleep(exc.retry_after or 1.0)
                elif (exc.code == 0 or exc.code >= 500) and not last:
                    await asyncio.sleep(0.5 * 2 ** attempt)
                else:
                    raise
        return None

    async def deliver(self, chat_id: str, payload: dict) -> str | None:
        try:
            ids = await self.send(chat_id, reply_from_json(payload), attempts=1)
        except ZaloApiError as exc:
            if exc.code == 429:
                raise RateLimited(exc.retry_after or 1.0) from exc
            if exc.code == 403:
                raise Unreachable(exc.description) from exc
            if exc.code == 0 or exc.code >= 500:
                raise Transient(exc.description) from exc
            raise Rejected(str(exc)) from exc
        except FileNotFoundError as exc:
            raise Rejected(f"file gone: {exc}") from exc
        return ids[-1] if ids else None

    def cost(self, payload: dict) -> int:
        """Messages a payload takes (a file's link line is counted at its usual length)."""
        reply = reply_from_json(payload)
        text = render_text(reply)
        photo = 0
        if reply.file is not None:
            if reply.file.kind == "photo" and self.settings.public_base_url:
                photo = 1
            else:
                text = "\n\n".join(p for p in (reply.file.caption, "x" * 200, text) if p)
        return photo + (len(split_text(text, LIMITS.text_length)) if text else 0) or 1

    async def webhook(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if not self.uses_webhook:
            return 404, {"ok": False, "description": "not in webhook mode"}
        given = headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return 403, {"ok": False, "description": "wrong secret token"}
        try:
            data = json.loads(body)
        except ValueError:
            return 400, {"ok": False, "description": "not JSON"}
        result = data.get("result", data) if isinstance(data, dict) else data
        for event in events_of(result):
            self._dispatch(event)
        return 200, {"ok": True}

    # ---- receiving ---------------------------------------------------------------------------

    async def _poll(self) -> None:
        delay = 0.5
        leader = self.services.leader
        while not self._stopping.is_set():
            if leader is not None and not leader.leading:  # one poller per bot (bot/leadership.py)
                await asyncio.sleep(0.5)
                continue
            try:
                result = await self.call("getUpdates", {"timeout": self.settings.poll_timeout},
                                         timeout=self.settings.poll_timeout + 10)
            except ZaloApiError as exc:
                if exc.code == 408:  # nothing arrived within the timeout
                    continue
                log.warning("Zalo getUpdates failed: %s", exc)
                await asyncio.sleep(exc.retry_after or delay)
                delay = min(delay * 2, 30)
                continue
            delay = 0.5
            for event in events_of(result):
                self._dispatch(event)

    def _dispatch(self, event: dict) -> None:
        """Handle an event in the order of its chat, others concurrently; drop repeated ones."""
        message = event.get("message") or {}
        message_id = str(message.get("message_id") or "")
        if message_id:
            if message_id in self._seen:
                log.info("Zalo message %s delivered again: ignored", message_id)
                return
            self._seen[message_id] = None
            while len(self._seen) > SEEN_KEPT:
                self._seen.popitem(last=False)
        task = asyncio.create_task(self._handle(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, event: dict) -> None:
        chat_id = str(((event.get("message") or {}).get("chat") or {}).get("id") or "")
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._users[chat_id] = self._users.get(chat_id, 0) + 1
        try:
            async with lock:
                await self._handle_one(event, chat_id)
        except Exception:
            log.exception("handling a Zalo event failed")
        finally:
            self._users[chat_id] -= 1
            if self._users[chat_id] == 0:  # forget idle chats so the table stays small
                del self._users[chat_id]
                del self._locks[chat_id]

    async def _handle_one(self, event: dict, chat_id: str) -> None:
        incoming = to_incoming(event)
        if incoming is None:
            chat = (event.get("message") or {}).get("chat") or {}
            if chat_id and str(chat.get("chat_type", "PRIVATE")).upper() == "PRIVATE":
                with use_language("vi"):
                    line = _("I can only read text messages. Please type your answer, or /menu to see what I can do.")
                await self.send(chat_id, Reply(text=line))
            return
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self._executor, self.core, incoming)
        for reply in response.replies:
            await self.send(incoming.chat_id, reply)
