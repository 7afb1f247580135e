"""Shared fixtures: a real SQLite database per test, seeded data, settings."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

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


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo province built once per test session; tests get copies of the file."""
    from bot.demo import load_demo

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    url = f"sqlite:///{path}"
    upgrade(url)
    eng = make_engine(url)
    with session_scope(eng) as session:
        load_demo(session)
    with eng.connect() as conn:  # fold the WAL into the main file so a plain copy is complete
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


@pytest.fixture
def demo_url(demo_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "demo.sqlite"
    shutil.copyfile(demo_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def demo_engine(demo_url: str):
    """A database holding the demo province (a fresh copy per test)."""
    eng = make_engine(demo_url)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    with fresh_pg_database() as url:
        yield url


from pg_databases import fresh_pg_database, postgres_url  # noqa: E402,F401
from standin_fixtures import bot, demo_db, fake  # noqa: E402,F401  (end-to-end fixtures)
