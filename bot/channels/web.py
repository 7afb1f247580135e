"""The browser playground's channel: the real core behind a web page (bot/web/playground/).

Nothing leaves the process. Each chat is a transcript kept here in memory; the page reads
what changed since its last look (short polling) and posts what the visitor types or
presses. Button data never leaves the server: the page sends back the message and the
position of the option, and the data is looked up here. Choices show as buttons that
carry their number, so typing the number (or the label) works as on a channel without
buttons. Files are kept by the bot and offered as signed download links (/f/…), pictures
shown inline. Pushes from the outbox (notices, reminders) land in the transcript like any
message, and the notice progress message is edited in place. The transcripts are kept in a
JSON file beside the sandbox (written a moment after each change), so a restart of the bot
shows every chat as it was.

This is never a real platform: `configured()` is False, so `congdoan run` does not start
it among the channels; the playground builds it on its own database (bot/web/playground).
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.channels.base import Channel, ChannelLimits, Core, Services
from bot.clock import utcnow
from bot.i18n import _, use_language
from bot.messages import FileRef, Incoming, OutFile, Rejected, Reply, Response, reply_from_json, split_text

log = logging.getLogger(__name__)

CHANNEL = "web"
LIMITS = ChannelLimits(name=CHANNEL, text_length=4096, buttons=True, callback_size=None, caption_length=1024,
                       documents=True)
MAX_TYPED = 2000  # characters a visitor may send in one message
MAX_UPLOAD = 21 * 1024 * 1024  # bytes of a file a visitor may send (the core refuses politely above its own limit)
KEPT = 400  # messages kept per chat (the oldest go first)
SAVE_DELAY = 0.5  # seconds between a change and writing the transcripts to disk

_MARKUP = re.compile(r"(</?(?:b|i|code|u|s)>)")


def configured(settings: Any) -> bool:
    """Never started as a real channel: the playground builds it on its own database."""
    return False


def build(settings: Any, core: Core, services: Services, kept_in: Path | None = None) -> "WebChannel":
    return WebChannel(core, services, core_threads=1 if settings.database_url.startswith("sqlite") else 4,
                      kept_in=kept_in)


def to_html(text: str) -> str:
    """The reply markup (<b>, <i>, <code>, <u>, <s>) as safe HTML: every other character escaped."""
    parts = _MARKUP.split(text)
    return "".join(part if i % 2 else html.escape(html.unescape(part), quote=False) for i, part in enumerate(parts))


@dataclass
class WebMessage:
    """One message of a chat as the page shows it."""

    id: int
    chat: str
    sender: str  # "bot" | "me" (what the visitor typed or pressed)
    html: str
    rev: int
    at: str  # ISO time (UTC)
    options: list[list[tuple[str, str]]] = field(default_factory=list)  # (label shown, data kept here)
    file: dict | None = None  # {"name", "url", "kind", "caption"}
    push: bool = False  # arrived from the outbox (a notice, a reminder), not as an answer

    def as_json(self) -> dict:
        """What the page gets: labels and positions, never the button data."""
        numbered = 0
        rows = []
        for row in self.options:
            out = []
            for label, _data in row:
                out.append({"label": label, "n": numbered})
                numbered += 1
            rows.append(out)
        return {"id": self.id, "chat": self.chat, "from": self.sender, "html": self.html, "rev": self.rev,
                "at": self.at, "options": rows, "file": self.file, "push": self.push}

    def option(self, position: int) -> tuple[str, str] | None:
        flat = [o for row in self.options for o in row]
        return flat[position] if 0 <= position < len(flat) else None


class Transcript:
    """Every chat's messages, with one revision counter: the page asks for what changed after N."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self.rev = 0
        self._next_id = 0
        self._chats: dict[str, list[WebMessage]] = {}

    def add(self, chat: str, sender: str, html_text: str, *, options: list[list[tuple[str, str]]] | None = None,
            file: dict | None = None, push: bool = False) -> WebMessage:
        self.rev += 1
        self._next_id += 1
        message = WebMessage(id=self._next_id, chat=chat, sender=sender, html=html_text, rev=self.rev,
                             at=utcnow().isoformat(timespec="seconds") + "Z", options=options or [], file=file,
                             push=push)
        messages = self._chats.setdefault(chat, [])
        messages.append(message)
        del messages[:-self.kept]
        return message

    def edit(self, chat: str, message_id: int, html_text: str) -> bool:
        message = self.find(chat, message_id)
        if message is None:
            return False
        self.rev += 1
        message.html, message.rev = html_text, self.rev
        return True

    def find(self, chat: str, message_id: int) -> WebMessage | None:
        return next((m for m in self._chats.get(chat, []) if m.id == message_id), None)

    def chat(self, chat: str) -> list[WebMessage]:
        return list(self._chats.get(chat, []))

    def since(self, rev: int) -> list[WebMessage]:
        """Messages added or edited after revision `rev`, oldest change first."""
        changed = [m for messages in self._chats.values() for m in messages if m.rev > rev]
        return sorted(changed, key=lambda m: m.rev)

    def dump(self) -> dict:
        return {"rev": self.rev, "next_id": self._next_id,
                "chats": {chat: [asdict(m) for m in messages] for chat, messages in self._chats.items()}}

    def restore(self, data: dict, keep: Any = None) -> None:
        """Take back dumped chats (only those `keep(chat)` accepts); revisions go on from where they were."""
        self.rev = max(self.rev, int(data.get("rev", 0)))
        self._next_id = max(self._next_id, int(data.get("next_id", 0)))
        for chat, messages in (data.get("chats") or {}).items():
            if keep is not None and not keep(chat):
                continue
            self._chats[chat] = [WebMessage(**{**m, "options": [[tuple(o) for o in row] for row in m["options"]]})
                                 for m in messages][-self.kept:]


@dataclass
class Rendered:
    """A reply turned into page content (computed off the event loop: files are stored)."""

    html: str
    options: list[list[tuple[str, str]]]
    file: dict | None


class WebChannel(Channel):
    """The playground's chats: visitor input → core → transcript; pushes → transcript."""

    limits = LIMITS

    def __init__(self, core: Core, services: Services, *, core_threads: int = 1, kept_in: Path | None = None) -> None:
        self.core = core
        self.services = services
        self.transcript = Transcript()
        self.executor = ThreadPoolExecutor(max_workers=core_threads, thread_name_prefix="web-core")
        self.kept_in = kept_in  # the JSON file of the transcripts (None: memory only)
        self._locks: dict[str, asyncio.Lock] = {}
        self._saving: asyncio.TimerHandle | None = None
        self._saved_rev = 0

    # ---- the contract ------------------------------------------------------------------------

    async def start(self) -> None:
        log.info("web playground channel ready")

    async def close(self) -> None:
        if self._saving is not None:
            self._saving.cancel()
        self.save()
        self.executor.shutdown(wait=False)

    # ---- keeping the transcripts -------------------------------------------------------------

    def load(self, keep: Any = None) -> None:
        """Read the kept transcripts (a missing or unreadable file starts empty)."""
        if self.kept_in is None or not self.kept_in.is_file():
            return
        try:
            self.transcript.restore(json.loads(self.kept_in.read_text("utf-8")), keep)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("the playground's chats in %s could not be read (%s); starting empty", self.kept_in, exc)
        self._saved_rev = self.transcript.rev

    def save(self) -> None:
        if self.kept_in is None or self.transcript.rev == self._saved_rev:
            return
        self._saved_rev = self.transcript.rev
        tmp = self.kept_in.with_suffix(".part")
        tmp.write_text(json.dumps(self.transcript.dump(), ensure_ascii=False), "utf-8")
        tmp.replace(self.kept_in)

    def _changed(self) -> None:
        """Write the transcripts a moment after a change (one write for a burst of messages)."""
        if self.kept_in is None or self._saving is not None:
            return

        def due() -> None:
            self._saving = None
            try:
                self.save()
            except OSError:
                log.exception("could not keep the playground's chats in %s", self.kept_in)

        self._saving = asyncio.get_running_loop().call_later(SAVE_DELAY, due)

    async def send(self, chat_id: str, reply: Reply) -> list[str]:
        rendered = await self.run(self.render, reply)
        return [str(self._add(chat_id, r).id) for r in rendered]

    async def edit(self, chat_id: str, message_id: str, text: str) -> bool:
        edited = message_id.isdigit() and self.transcript.edit(chat_id, int(message_id), to_html(text))
        if edited:
            self._changed()
        return edited

    async def deliver(self, chat_id: str, payload: dict) -> str | None:
        try:
            rendered = await self.run(self.render, reply_from_json(payload))
        except FileNotFoundError as exc:
            raise Rejected(f"file gone: {exc}") from exc
        ids = [self._add(chat_id, r, push=True).id for r in rendered]
        return str(ids[-1]) if ids else None

    # ---- rendering ---------------------------------------------------------------------------

    def render(self, reply: Reply) -> list[Rendered]:
        """One reply as page messages: long texts split, choices numbered, a file as a link."""
        flat = reply.flat_options()
        labels = {id(o): (f"{i}. {o.label}" if reply.numbered else o.label) for i, o in enumerate(flat, start=1)}
        options = [[(labels[id(o)], o.data) for o in row] for row in reply.options]
        chunks = split_text(reply.text, LIMITS.text_length) if reply.text else []
        out = [Rendered(to_html(c), [], None) for c in chunks] or [Rendered("", [], None)]
        if reply.file is not None:  # in the bubble of the (last part of the) text, above the choices
            out[-1].file = self.file_of(reply.file)
        out[-1].options = options
        return out

    def file_of(self, f: OutFile) -> dict:
        """A file as the page offers it: a signed link to the bot's own copy (a path on this server)."""
        key = f.stored
        if key is None and f.content is not None:
            key = self.services.store_file(f.content, f.file_name)
        elif key is None and f.path:
            key = self.services.store_file(Path(f.path).read_bytes(), f.file_name)
        url = self.services.file_url(key) if key else None
        if url:
            parts = urlsplit(url)
            url = parts.path + (f"?{parts.query}" if parts.query else "")
        return {"name": f.file_name, "url": url, "kind": f.kind, "caption": to_html(f.caption) if f.caption else ""}

    def _add(self, chat_id: str, rendered: Rendered, push: bool = False) -> WebMessage:
        self._changed()
        return self.transcript.add(chat_id, "bot", rendered.html, options=rendered.options, file=rendered.file,
                                   push=push)

    # ---- what the page sends -----------------------------------------------------------------

    async def run(self, fn: Any, *args: Any) -> Any:
        """Run blocking work (the core, the database, files) on the channel's own threads."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def type_text(self, chat_id: str, text: str, display_name: str = "") -> Response:
        """The visitor typed a message in a chat."""
        text = text.strip()
        if not text:
            return Response()
        if len(text) > MAX_TYPED:
            with use_language("vi"):
                note = _("That message is too long ({n} characters). Please send at most {max} characters.").format(
                    n=len(text), max=MAX_TYPED)
            return Response(toast=note)
        self.transcript.add(chat_id, "me", html.escape(text, quote=False))
        self._changed()
        return await self._handle(Incoming(channel=CHANNEL, user_id=chat_id, chat_id=chat_id, text=text,
                                           language_code="vi", display_name=display_name))

    async def send_file(self, chat_id: str, name: str, content: bytes, caption: str = "") -> Response:
        """The visitor sent a file (a notice's PDF): kept by the bot, handed to the core with its caption."""
        name = Path(name.replace("\\", "/")).name[:200] or "file"
        caption = caption.strip()[:MAX_TYPED]
        key = await self.run(self.services.store_file, content, name)
        url = self.services.file_url(key)
        shown = {"name": name, "url": urlsplit(url).path if url else None, "kind": "document",
                 "caption": html.escape(caption, quote=False)}
        self.transcript.add(chat_id, "me", "", file=shown)
        self._changed()
        file = FileRef(file_id=key, file_name=name, size=len(content), read=lambda: content, stored=key)
        return await self._handle(Incoming(channel=CHANNEL, user_id=chat_id, chat_id=chat_id, text=caption or None,
                                           file=file, language_code="vi"))

    async def press(self, chat_id: str, message_id: int, position: int, display_name: str = "") -> Response | None:
        """The visitor pressed a button: the option at `position` of that message (None: no such button)."""
        message = self.transcript.find(chat_id, message_id)
        chosen = message.option(position) if message is not None and message.sender == "bot" else None
        if chosen is None:
            return None
        label, data = chosen
        self.transcript.add(chat_id, "me", html.escape(label, quote=False))
        self._changed()
        return await self._handle(Incoming(channel=CHANNEL, user_id=chat_id, chat_id=chat_id, data=data,
                                           language_code="vi", display_name=display_name,
                                           message_id=str(message_id)))

    async def _handle(self, incoming: Incoming) -> Response:
        lock = self._locks.setdefault(incoming.chat_id, asyncio.Lock())
        async with lock:  # one chat's messages are handled in order
            response, rendered = await self.run(self._core_and_render, incoming)
            for part in rendered:
                self._add(incoming.chat_id, part)
        return response

    def _core_and_render(self, incoming: Incoming) -> tuple[Response, list[Rendered]]:
        response = self.core(incoming)
        rendered: list[Rendered] = []
        for reply in response.replies:
            try:
                rendered += self.render(reply)
            except OSError:
                log.exception("a file of a reply to %s could not be kept", incoming.chat_id)
                rendered.append(Rendered(to_html(reply.text or (reply.file.file_name if reply.file else "")), [], None))
        return response, rendered
