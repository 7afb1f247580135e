"""Alembic migrations match the models, and upgrade works on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel, func, select

import bot.models  # noqa: F401
from bot.db import make_engine, session_scope, upgrade
from bot.models import Submission, Unit


def schema_drift(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)


def test_migrations_create_exactly_the_models(engine):
    assert schema_drift(engine) == []


def test_upgrade_is_repeatable_on_a_demo_database(demo_url):
    upgrade(demo_url)  # already at head: nothing to do, nothing breaks
    engine = make_engine(demo_url)
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Unit)).one() > 300



@pytest.mark.postgres
def test_postgres_upgrade_demo_and_drift(pg_url):
    from bot.demo import load_demo

    upgrade(pg_url)
    engine = make_engine(pg_url)
    assert schema_drift(engine) == []
    with session_scope(engine) as s:
        first = load_demo(s)
    with session_scope(engine) as s:
        second = load_demo(s)
    assert first.created > 0 and not second.changed
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Submission)).one() > 500
    upgrade(pg_url)
    engine.dispose()
