"""Throwaway PostgreSQL databases for tests: created on the local server, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from bot.db import make_engine


def postgres_url() -> str | None:
    """The local PostgreSQL test database, if a server answers."""
    url = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        import psycopg

        with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=2):
            return url
    except Exception:
        return None


@contextmanager
def fresh_pg_database(prefix: str = "congdoan") -> Iterator[str]:
    """A new database on the local PostgreSQL server, dropped afterwards; skips without a server."""
    base = postgres_url()
    if base is None:
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


