"""Fixtures for end-to-end tests: the stand-in, a demo database, the running bot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.db import make_engine, session_scope, upgrade
from e2e import BotProcess
from standin import FakeTelegram


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as tg:
        yield tg


@pytest.fixture
def demo_db(tmp_path: Path) -> str:
    """A SQLite file holding the demo province; returns its URL."""
    from bot.demo import load_demo

    url = f"sqlite:///{tmp_path / 'bot.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        load_demo(session)
    engine.dispose()
    return url


@pytest.fixture
def bot(fake: FakeTelegram, demo_db: str, tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess(fake, demo_db, tmp_path / "bot.log").start()
    yield process
    process.stop()
