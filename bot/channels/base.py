"""The channel contract: what the core needs from a chat platform, and nothing platform-specific.

A channel is one module under `bot/channels/` that defines:

- `LIMITS`: a `ChannelLimits` (bot/limits.py: text length, buttons or not, callback data
  size, caption size, whether it carries documents); the core reads the limits of the
  channel a message came from through `bot.limits.limits_of(name)`, never a platform's name;
- `configured(settings) -> bool`: whether its settings are present;
- `build(settings, core, services) -> Channel`: the running channel.

`Channel` (`start()`/`close()`) turns platform updates into `Incoming`, renders and sends a `Reply`, edits a
message where the platform can, delivers files (an upload, or a signed link where the
platform carries no documents), delivers outbox payloads (the serialised Reply) with
errors translated into the sender's categories, and builds invite links. `congdoan run`
starts every configured channel in one process (bot/app.py); adding a platform means one
new module here plus its settings in bot/config.py (see README in this folder).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from bot.limits import FALLBACK, ChannelLimits, limits_of  # noqa: F401  (the contract's limits)
from bot.messages import Incoming, Reply, Response, reply_from_json

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

Core = Callable[[Incoming], Response]


def channel_modules() -> dict[str, ModuleType]:
    """Every channel module in this package, by channel name (modules defining LIMITS)."""
    import bot.channels as package

    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in {"base"} or info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"bot.channels.{info.name}")
        except ImportError:  # a channel whose library is not installed
            log.warning("channel module %s could not be imported", info.name, exc_info=True)
            continue
        limits = getattr(module, "LIMITS", None)
        if isinstance(limits, ChannelLimits):
            found[limits.name] = module
    return found


def invite_links(settings: "Settings", code: str) -> list[str]:
    """Links that open the bot with an invite code, from every channel that has such links."""
    links = []
    for name, module in sorted(channel_modules().items()):
        make = getattr(module, "invite_link", None)
        link = make(settings, code) if make is not None else None
        if link:
            links.append(link)
    return links


@dataclass
class Services:
    """What the composition root hands every channel besides the core."""

    settings: "Settings"
    # a public URL for a stored file (key from bot/services/files.py), or None without an HTTP server
    file_url: Callable[[str], str | None]
    # store bytes as a file the bot keeps; returns its key
    store_file: Callable[[bytes, str], str]
    # the local path of a stored file
    file_path: Callable[[str], str]
    # the commands to list in a platform's command menu, described in the current language
    commands: Callable[[], list[Any]] | None = None
    engine: Any = None  # the database engine (channels with an inbox)
    pacer: Any = None  # the bot's one send pace (bot/pacing.py), shared with the outbox sender
    leader: Any = None  # bot.leadership.Leadership: only the leading process polls (None: always)


class Channel(ABC):
    """One running chat platform."""

    limits: ChannelLimits

    @property
    def name(self) -> str:
        return self.limits.name

    @abstractmethod
    async def start(self) -> None:
        """Begin receiving updates (long polling, or register a webhook)."""

    @abstractmethod
    async def close(self) -> None:
        """Stop receiving, finish what is in flight and close connections."""

    @abstractmethod
    async def send(self, chat_id: str, reply: Reply) -> list[str]:
        """Render one reply within the limits and send it; the platform's message ids."""

    async def edit(self, chat_id: str, message_id: str, text: str) -> bool:
        """Replace the text of a sent message; False where the platform cannot edit."""
        return False

    @abstractmethod
    async def deliver(self, chat_id: str, payload: dict) -> str | None:
        """Send one outbox payload, raising the sender's DeliveryError categories."""

    def cost(self, payload: dict) -> int:
        """How many platform messages a payload takes (the sender paces by this)."""
        return 1

    def invite_link(self, code: str) -> str | None:
        """A link that opens the bot with the invite code, or None (the code is typed)."""
        return None

    async def webhook(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        """A webhook call for this channel: (HTTP status, JSON answer)."""
        return 404, {"ok": False}

    def payload_reply(self, payload: dict) -> Reply:
        return reply_from_json(payload)


Runner = Callable[[], Awaitable[None]]
