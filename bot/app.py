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


class Background:
    """The planner job, the outbox sender, the queueing of large notices and their progress messages,
    started with the channel and stopped with it."""

    def __init__(self, engine: Engine, settings: Settings, pacer=None) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        self.settings = settings
        self.pacer = pacer  # the bot's one send pace, shared with the replies to people
        self.scheduler = None
        self.sender = None
        self.task: asyncio.Task | None = None
        self.progress = None
        self.progress_task: asyncio.Task | None = None
        self.queuer = None
        self.queuer_task: asyncio.Task | None = None

    async def start(self, application) -> None:  # type: ignore[no-untyped-def]
        from bot.channels.telegram import deliver, edit_text, payload_sends
        from scheduler.planner_job import start_planner_job
        from scheduler.notice_progress import NoticeProgress
        from scheduler.notice_queue import NoticeQueuer
        from scheduler.sender import OutboxSender

        bot = application.bot

        async def deliver_telegram(channel: str, chat_id: str, payload: dict) -> str | None:
            return await deliver(bot, chat_id, payload)

        async def edit_telegram(channel: str, chat_id: str, message_id: str, text: str) -> None:
            await edit_text(bot, chat_id, message_id, text)

        keep = self.settings.outbox_keep_days
        self.sender = OutboxSender(self.engine, deliver_telegram, rate_per_second=self.settings.send_rate_per_second,
                                   after_send=after_send, cost=payload_sends,
                                   retry_for=timedelta(hours=self.settings.retry_hours),
                                   keep_for=timedelta(days=keep) if keep > 0 else None, pacer=self.pacer)
        self.task = asyncio.create_task(self.sender.run(), name="outbox-sender")
        self.progress = NoticeProgress(self.engine, edit_telegram, pace=self.sender.pace, hold=self.sender.hold,
                                       interval=self.settings.progress_interval)
        self.progress_task = asyncio.create_task(self.progress.run(), name="notice-progress")
        self.queuer = NoticeQueuer(self.engine)
        self.queuer_task = asyncio.create_task(self.queuer.run(), name="notice-queuer")
        if self.settings.planner_interval > 0:
            self.scheduler = start_planner_job(self.engine, self.settings.planner_interval)

    async def stop(self, application) -> None:  # type: ignore[no-untyped-def]
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
    """Hook after each push, in the transaction that marks it: notices record their deliveries."""
    from bot.clock import utcnow
    from bot.services import notices

    notices.record_delivery(session, row, delivered, utcnow())


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


def run_bot(settings: Settings) -> None:
    """Run on Telegram when a token is set; otherwise a console chat on demo data."""
    if settings.telegram_token:
        from bot.channels.telegram import TelegramChannel
        from bot.pacing import Pacer

        lock = single_instance(settings.database_url)  # noqa: F841 - held until the process ends
        engine = open_database(settings)
        core = make_core(engine, settings)
        pacer = Pacer(settings.send_rate_per_second)
        background = Background(engine, settings, pacer)
        channel = TelegramChannel(
            core,
            token=settings.telegram_token,
            base_url=settings.telegram_api_base_url,
            base_file_url=settings.telegram_file_base_url,
            poll_timeout=settings.poll_timeout,
            core_threads=1 if settings.database_url.startswith("sqlite") else 8,
            post_init=background.start,
            post_shutdown=background.stop,
            commands=channel_menu,
            engine=engine,
            pacer=pacer,
        )
        log.info("polling Telegram at %s", settings.telegram_api_base_url)
        channel.run()
        return
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

