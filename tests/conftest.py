"""Shared fixtures: a real SQLite database per test, seeded data, settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import Settings
from bot.db import make_engine, session_scope, upgrade

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


@pytest.fixture
def engine(db_url: str):
    upgrade(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, bot_username="congdoan_test_bot")


@pytest.fixture
def demo_engine(engine):
    """A database holding the demo province."""
    from bot.demo import load_demo

    with session_scope(engine) as session:
        load_demo(session)
    return engine


def postgres_url() -> str | None:
    """The local PostgreSQL test database, if a server answers."""
    url = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        import psycopg

        with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=2):
            return url
    except Exception:
        return None


from standin_fixtures import bot, demo_db, fake  # noqa: E402,F401  (end-to-end fixtures)
