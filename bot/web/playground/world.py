"""The playground's sandbox: its own database (the demo province), the real core, the web
channel and its own background jobs (outbox sender, notice queuing and progress).

It shares nothing with the real channels but the HTTP server and the folder of kept
files: its database is a separate file (`CONGDOAN_PLAYGROUND_DATABASE_URL`, by default
`playground.sqlite` in the data folder), its only channel is the page, so nothing it does
can reach a real person. The reminder planner does not run on the wall clock here: the
page's "Giả lập thời gian" panel runs it as of a chosen time.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine, make_url

from bot.config import Settings
from bot.i18n import _

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080


class NothingToRun(Exception):
    """No channel is configured and the playground is turned off."""


def playground_wanted(settings: Settings, channels_configured: bool) -> bool:
    """On when no channel token is set; beside real channels only with CONGDOAN_PLAYGROUND=1."""
    return settings.playground if settings.playground is not None else not channels_configured


def with_playground_port(settings: Settings) -> Settings:
    """The HTTP server must run for the playground: on CONGDOAN_HTTP_PORT, else 8080."""
    return settings if settings.http_port is not None else replace(settings, http_port=DEFAULT_PORT)


def sandbox_settings(settings: Settings) -> Settings:
    return replace(settings, database_url=settings.sandbox_database_url, planner_interval=0)


def _prepare(settings: Settings) -> tuple[Any, Engine]:
    """Lock and open the sandbox database, loading the demo province into it when it is empty."""
    from bot.app import database_is_empty, open_database, single_instance
    from bot.db import session_scope
    from bot.demo import load_demo

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    lock = single_instance(settings.database_url)
    engine = open_database(settings)
    with session_scope(engine) as session:
        if database_is_empty(session):
            log.info("loading the demo province into the playground's database")
            load_demo(session)
    return lock, engine


def chats_file(settings: Settings) -> Path:
    """Where the page's chats are kept between runs (beside the sandbox database when it is a file)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).with_suffix(".chats.json")
    return Path(settings.data_dir) / "playground.chats.json"


def _persona_chats(engine: Engine) -> set[str]:
    from bot.db import session_scope
    from bot.web.playground import personas

    with session_scope(engine) as session:
        return {p.chat for p in personas.personas(session)}


@dataclass
class Playground:
    settings: Settings  # the sandbox's own (its database)
    engine: Engine
    channel: Any  # bot.channels.web.WebChannel
    background: Any  # bot.app.Background
    lock: Any = None  # held for the life of the process

    @classmethod
    async def open(cls, settings: Settings) -> "Playground":
        from bot.app import Background, make_core, make_services
        from bot.channels import web
        from bot.pacing import Pacer

        own = sandbox_settings(settings)
        lock, engine = await asyncio.to_thread(_prepare, own)
        pacer = Pacer(own.send_rate_per_second)
        services, _signer = make_services(own, engine=engine, pacer=pacer)
        channel = web.build(own, make_core(engine, own), services, kept_in=chats_file(own))
        known = await asyncio.to_thread(_persona_chats, engine)
        channel.load(keep=known.__contains__)  # the chats as they were before a restart
        background = Background(engine, own, {web.CHANNEL: channel}, pacer)
        return cls(settings=own, engine=engine, channel=channel, background=background, lock=lock)

    async def start(self) -> None:
        await self.channel.start()
        await self.background.start()

    async def stop(self) -> None:
        await self.background.stop()
        await self.channel.close()
        self.engine.dispose()

    def routes(self) -> list:
        from bot.web.playground.routes import routes

        return routes(self)

    def address(self, settings: Settings) -> str:
        host = settings.http_host if settings.http_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"http://{host}:{settings.http_port or DEFAULT_PORT}/"

    def announce(self, settings: Settings) -> None:
        """Say where the page is (stdout: the one line a person running `congdoan run` needs)."""
        print(_("Playground: open {url} in a browser (demo data; it reaches nobody real). Ctrl+C stops it.").format(
            url=self.address(settings)), flush=True)

    async def run(self, fn: Any, *args: Any) -> Any:
        """Database work of the pages, on the channel's threads (SQLite has one writer)."""
        return await self.channel.run(fn, *args)
