"""Shared fixtures: a real SQLite database per test, seeded data, settings.

Databases are built once per session as template files (migrated and empty; the demo
province) and copied for each test: a copy takes milliseconds, an Alembic upgrade about a
second and the demo several.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

# pytest caches the assertion-rewritten test modules as bytecode; with PYTHONDONTWRITEBYTECODE
# set (as on these machines) it rewrites ~170 modules on every run, ~5 s per process.
sys.dont_write_bytecode = False

from bot.config import Settings
from bot.db import make_engine, session_scope, upgrade
from sqlite_templates import build_template, checkpoint, copy_sqlite

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


@pytest.fixture(scope="session")
def empty_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the newest revision and empty, built once per session."""
    path = tmp_path_factory.mktemp("empty") / "empty.sqlite"
    upgrade(f"sqlite:///{path}")
    checkpoint(f"sqlite:///{path}")
    return path


@pytest.fixture
def migrated_url(empty_template: Path, tmp_path: Path) -> str:
    """A fresh copy of the migrated, empty database (its own file name, beside db_url's)."""
    return copy_sqlite(empty_template, tmp_path / "migrated.sqlite")


@pytest.fixture
def engine(db_url: str, empty_template: Path):
    """A migrated, empty database at db_url (a copy of the session's template)."""
    copy_sqlite(empty_template, Path(db_url.removeprefix("sqlite:///")))
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, bot_username="congdoan_test_bot")


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory, empty_template: Path):  # type: ignore[no-untyped-def]
    """The demo province built once per test session: (its file, what loading it reported)."""
    from bot.demo import load_demo

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"

    def build(eng):  # type: ignore[no-untyped-def]
        with session_scope(eng) as session:
            return load_demo(session)

    return path, build_template(empty_template, path, build)


@pytest.fixture(scope="session")
def demo_template(demo_build) -> Path:  # type: ignore[no-untyped-def]
    """The demo province's template file; tests get copies of it."""
    return demo_build[0]


@pytest.fixture
def demo_url(demo_template: Path, tmp_path: Path) -> str:
    return copy_sqlite(demo_template, tmp_path / "demo.sqlite")


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
from browser import browser, browser_page  # noqa: E402,F401  (headless Chromium)
