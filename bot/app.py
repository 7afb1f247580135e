"""Composition root: settings → database → core → channel. Nothing is built at import time."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.console import CHANNEL as CONSOLE, run_console
from bot.config import Settings
from bot.db import make_engine, session_scope, upgrade
from bot.models import ChatIdentity, Level, Person, Role, Unit
from handlers import router
from handlers.commands import channel_menu

log = logging.getLogger(__name__)


def open_database(settings: Settings) -> Engine:
    """Upgrade the schema to the newest revision and return an engine."""
    upgrade(settings.database_url)
    return make_engine(settings.database_url, busy_timeout=settings.db_busy_timeout)


def make_core(engine: Engine, settings: Settings):  # type: ignore[no-untyped-def]
    """The core as a plain function Incoming → Response, for any channel."""
    return functools.partial(router.handle, engine, settings)


def database_is_empty(session: Session) -> bool:
    return session.exec(select(Unit.id).limit(1)).first() is None


def ensure_console_chair(session: Session, user_id: str = "local") -> Unit:
    """Bind the local console user to the chair of a demo CĐCS (first by code)."""
    identity = session.exec(
        select(ChatIdentity).where(ChatIdentity.channel == CONSOLE, ChatIdentity.external_id == user_id)
    ).first()
    if identity is not None:
        person = session.get(Person, identity.person_id)
        if person is not None:
            unit = session.get(Unit, person.unit_id)
            if unit is not None:
                return unit
    unit = session.exec(
        select(Unit).where(Unit.level == Level.GRASSROOTS, Unit.active == True).order_by(Unit.code)  # noqa: E712
    ).first()
    if unit is None:
        raise RuntimeError("no grassroots unit to chat as; run `congdoan demo` or import units")
    person = Person(full_name="Người dùng thử", unit_id=unit.id, role=Role.CHAIR)
    session.add(person)
    session.flush()
    if identity is None:
        session.add(ChatIdentity(person_id=person.id, channel=CONSOLE, external_id=user_id, chat_id=user_id))
    else:
        identity.person_id = person.id
    return unit


def make_services(settings: Settings, engine: Engine | None = None, pacer=None):  # type: ignore[no-untyped-def]
    """Files and signed links, handed to every channel."""
    from bot.channels.base import Services
    from bot.services import files
    from bot.web.links import Signer, file_url, link_secret

    signer = Signer(link_secret(settings), settings.link_max_age)

    def file_path(key: str) -> str:
        path = files.path_of(settings.data_dir, key)
        if path is None:
            raise FileNotFoundError(key)
        return str(path)

    services = Services(settings=settings, file_url=lambda key: file_url(settings, signer, key),
                        store_file=lambda content, name: files.store(settings.data_dir, content, name),
                        file_path=file_path, commands=channel_menu, engine=engine, pacer=pacer)
    return services, signer


class Background:
    """The planner job, the outbox sender, the queueing of large notices and their progress messages,
    started with the channels and stopped with them. Each outbox row goes out through the
    channel it names."""

    def __init__(self, engine: Engine, settings: Settings, channels: dict, pacer=None, leader=None) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        self.leader = leader  # bot.leadership.Leadership: the singleton jobs run only where it leads
        self.settings = settings
        self.channels = channels
        self.pacer = pacer  # the bot's one send pace, shared with the replies to people
        self.scheduler = None
        self.sender = None
        self.task: asyncio.Task | None = None
        self.progress = None
        self.progress_task: asyncio.Task | None = None
        self.queuer = None
        self.queuer_task: asyncio.Task | None = None

    async def deliver(self, channel: str, chat_id: str, payload: dict) -> str | None:
        from bot.messages import Transient

        running = self.channels.get(channel)
        if running is None:
            raise Transient(f"the channel {channel} is not running")
        return await running.deliver(chat_id, payload)

    async def edit(self, channel: str, chat_id: str, message_id: str, text: str) -> None:
        running = self.channels.get(channel)
        if running is not None:
            await running.edit(chat_id, message_id, text)

    def cost(self, payload: dict) -> int:
        """Send slots a payload takes: the most any running channel needs for it."""
        return max((c.cost(payload) for c in self.channels.values()), default=1)

    async def start(self) -> None:
        from scheduler.planner_job import start_planner_job
        from scheduler.notice_progress import NoticeProgress
        from scheduler.notice_queue import NoticeQueuer
        from scheduler.sender import OutboxSender

        keep = self.settings.outbox_keep_days
        self.sender = OutboxSender(self.engine, self.deliver, rate_per_second=self.settings.send_rate_per_second,
                                   after_send=after_send, cost=self.cost,
                                   retry_for=timedelta(hours=self.settings.retry_hours),
                                   keep_for=timedelta(days=keep) if keep > 0 else None, pacer=self.pacer,
                                   leading=self.leader)
        self.task = asyncio.create_task(self.sender.run(), name="outbox-sender")
        if self.leader is not None:  # a new leader: the last one may have died with rows in hand
            sender = self.sender
            self.leader.on_change(lambda leading: sender.take_back_soon() if leading else None)
        self.progress = NoticeProgress(self.engine, self.edit, pace=self.sender.pace, hold=self.sender.hold,
                                       interval=self.settings.progress_interval, leading=self.leader)
        self.progress_task = asyncio.create_task(self.progress.run(), name="notice-progress")
        self.queuer = NoticeQueuer(self.engine, leading=self.leader)
        self.queuer_task = asyncio.create_task(self.queuer.run(), name="notice-queuer")
        if self.settings.planner_interval > 0:
            self.scheduler = start_planner_job(self.engine, self.settings.planner_interval, leading=self.leader)

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.queuer is not None and self.queuer_task is not None:
            self.queuer.stop()
            await asyncio.wait([self.queuer_task], timeout=5)
        if self.progress is not None and self.progress_task is not None:
            self.progress.stop()
            await asyncio.wait([self.progress_task], timeout=5)
        if self.sender is not None and self.task is not None:
            self.sender.stop()
            await asyncio.wait([self.task], timeout=5)


def after_send(session: Session, row, delivered: bool) -> None:  # type: ignore[no-untyped-def]
    """Hook after each push, in the transaction that marks it: notices record their deliveries,
    and the push's choices are kept so that typing one works."""
    from bot.clock import utcnow
    from bot.services import notices, push_choices

    notices.record_delivery(session, row, delivered, utcnow())
    if delivered:  # typed answers to its choices count like its buttons (channels without buttons)
        push_choices.remember(session, row.channel, row.chat_id, row.payload, utcnow())


class AlreadyRunning(Exception):
    """Another `congdoan run` holds the database."""


def single_instance(database_url: str):  # type: ignore[no-untyped-def]
    """Hold an exclusive lock on `<database>.lock` beside a SQLite file for the life of the process.

    Two bots on one database would fight over getUpdates (409s) and send pushes at twice the
    pace. The operating system releases the lock when the process ends, even on SIGKILL.
    With PostgreSQL (several workers are allowed to share it) nothing is locked here.
    """
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    import fcntl
    from pathlib import Path

    path = Path(url.database).resolve()
    handle = open(path.with_name(path.name + ".lock"), "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunning(str(path)) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def configured_channels(settings: Settings) -> list:  # type: ignore[type-arg]
    """The channel modules whose settings are present (bot/channels/base.py)."""
    from bot.channels.base import channel_modules

    return [m for _name, m in sorted(channel_modules().items())
            if callable(getattr(m, "configured", None)) and m.configured(settings)]


def run_bot(settings: Settings) -> None:
    """Run every configured channel in one process, and the browser playground on its own demo
    database when no channel is configured (or CONGDOAN_PLAYGROUND=1; bot/web/playground)."""
    from bot.web.playground.world import NothingToRun, playground_wanted, with_playground_port

    modules = configured_channels(settings)
    playground = playground_wanted(settings, bool(modules))
    if not modules and not playground:
        raise NothingToRun()
    if playground:
        settings = with_playground_port(settings)
    engine = core = None
    if modules:
        lock = single_instance(settings.database_url)  # noqa: F841 - held until the process ends
        engine = open_database(settings)
        core = make_core(engine, settings)
    asyncio.run(serve(engine, settings, core, modules, playground=playground))


def run_chat(settings: Settings) -> None:
    """A console chat as the chair of a demo CĐCS (the demo is loaded into an empty database)."""
    from bot.demo import load_demo

    engine = open_database(settings)
    core = make_core(engine, settings)
    with session_scope(engine) as session:
        if database_is_empty(session):
            load_demo(session)
        unit = ensure_console_chair(session)
        unit_name = unit.name
    log.info("console chat as the chair of %s", unit_name)
    run_console(core)


async def serve(engine: Engine | None, settings: Settings, core, modules: list,  # type: ignore[no-untyped-def]
                playground: bool = False) -> None:
    """Start the channels, the playground, the HTTP server (when configured) and the background
    jobs; stop on a signal."""
    import signal

    from bot.leadership import Leadership
    from bot.pacing import pacer_for

    # the port first: one in use is said plainly (PortTaken), before anything else starts
    listening = bind_http(settings) if settings.http_enabled or playground else None
    # one pace for replies and pushes (kept in the database on PostgreSQL: shared by every process)
    pacer = pacer_for(engine, settings.send_rate_per_second, reply_rate=settings.reply_rate_per_second)
    leader = leader_task = None
    if engine is not None:  # the playground alone has no real database to lead
        leader = Leadership(engine, interval=settings.leader_interval)
        leader.check()  # the first process to start leads from its first poll
        leader_task = asyncio.create_task(leader.run(), name="leadership")
        if leader.shared:
            log.info("PostgreSQL: other `congdoan run` may share this database; this process %s",
                     "leads" if leader.leading else "follows (another process leads)")
    services, signer = make_services(settings, engine=engine, pacer=pacer)
    services.leader = leader
    channels = {m.LIMITS.name: m.build(settings, core, services) for m in modules}
    background = Background(engine, settings, channels, pacer, leader) if channels else None
    sandbox = None
    if playground:  # its own database, core, web channel and jobs: it never reaches real people
        from bot.web.playground.world import Playground

        sandbox = await Playground.open(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = server_task = None
    if listening is not None:
        server = http_server(settings, channels, signer, engine, sandbox.routes() if sandbox is not None else ())
        server_task = asyncio.create_task(server.serve(sockets=[listening]), name="http")
        while not server.started and not server_task.done():
            await asyncio.sleep(0.02)
        if server_task.done():
            server_task.result()  # the port is taken: fail loudly
    started = []
    try:
        for name, channel in channels.items():
            await channel.start()
            started.append(channel)
        if background is not None:
            await background.start()
        if sandbox is not None:
            await sandbox.start()
            sandbox.announce(settings)
        log.info("running: %s", ", ".join([*channels, *(["playground"] if sandbox else [])]))
        await stop.wait()
    finally:
        if sandbox is not None:
            await sandbox.stop()
        if background is not None:
            await background.stop()
        for channel in reversed(started):
            try:
                await channel.close()
            except Exception:
                log.exception("stopping %s failed", channel.name)
        if server is not None and server_task is not None:
            server.should_exit = True
            await asyncio.wait([server_task], timeout=5)
        if leader is not None and leader_task is not None:
            leader.stop()
            await asyncio.wait([leader_task], timeout=5)


class PortTaken(Exception):
    """Another program listens on the HTTP server's port."""


def bind_http(settings: Settings):  # type: ignore[no-untyped-def]
    """The HTTP server's socket, bound before uvicorn starts (uvicorn exits the process on failure)."""
    import socket

    port = settings.http_port if settings.http_port is not None else 8080
    family, kind, proto, _name, address = socket.getaddrinfo(settings.http_host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise PortTaken(f"{settings.http_host}:{port}") from exc
    return sock


def http_server(settings: Settings, channels: dict, signer, engine: Engine | None = None,  # type: ignore[no-untyped-def]
                routes=()):
    """uvicorn serving bot/web in this event loop (signals stay with the bot)."""
    import contextlib

    import uvicorn

    from bot.web.app import build_app
    from bot.web.links import link_secret

    class EmbeddedServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[no-untyped-def]
            yield

    port = settings.http_port if settings.http_port is not None else 8080
    app = build_app(settings, channels, signer, engine, link_secret(settings) if engine is not None else None, routes)
    config = uvicorn.Config(app, host=settings.http_host, port=port,
                            log_level="warning", lifespan="off", access_log=False)
    return EmbeddedServer(config)
