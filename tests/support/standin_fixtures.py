"""Fixtures for end-to-end tests: the stand-in, a demo database, the running bot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e import BotProcess
from standin import FakeTelegram


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as tg:
        yield tg


@pytest.fixture
def demo_db(demo_url: str) -> str:
    """A SQLite file holding the demo province (a fresh copy per test); returns its URL."""
    return demo_url


@pytest.fixture
def bot(fake: FakeTelegram, demo_db: str, tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess(fake, demo_db, tmp_path / "bot.log").start()
    yield process
    process.stop()
