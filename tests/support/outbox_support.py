"""Helpers for the outbox sender's tests: pushes in a database, the real Telegram delivery
function pointed at the Bot API stand-in, and waiting for arrivals without blocking the loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.db import session_scope
from bot.models import Outbox
from bot.services.outbox import Push, enqueue
from standin import FakeTelegram


def push(engine: Engine, key: str, chat_id: int, text: str, *, not_before: datetime | None = None,
         **columns: object) -> int:
    """Queue one push to a Telegram chat (extra column values, e.g. attempts, set afterwards); returns its id."""
    with session_scope(engine) as s:
        enqueue(s, [Push(key=key, kind="test", person_id=None, channel="telegram", chat_id=str(chat_id),  # type: ignore[arg-type]
                         payload={"text": text}, not_before=not_before or utcnow() - timedelta(seconds=1))])
        row_id = s.exec(select(Outbox.id).where(Outbox.key == key)).one()
        if columns:
            s.execute(update(Outbox).where(Outbox.id == row_id).values(**columns))
    return row_id


def row(engine: Engine, row_id: int) -> Outbox:
    with Session(engine) as s:
        found = s.get(Outbox, row_id)
        assert found is not None
        return found


@asynccontextmanager
async def telegram_deliver(fake: FakeTelegram) -> AsyncIterator[Callable]:  # type: ignore[type-arg]
    """The bot's own delivery function (bot.channels.telegram.deliver) on a Bot talking to the stand-in."""
    from telegram import Bot

    from bot.channels.telegram import deliver

    bot = Bot(fake.token, base_url=fake.base_url, base_file_url=fake.file_base_url)
    async with bot:
        async def deliver_telegram(channel: str, chat_id: str, payload: dict) -> str | None:
            return await deliver(bot, chat_id, payload)

        yield deliver_telegram


async def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll a condition without blocking the event loop the sender runs on."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
