"""Template databases: build a SQLite file once, hand each test a copy (milliseconds, not seconds).

A template is built from a copy of the migrated, empty template (tests/conftest.py
`empty_template`), so no test pays for an Alembic upgrade.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import Engine

from bot.db import make_engine

T = TypeVar("T")


def checkpoint(url: str) -> None:
    """Fold the WAL of a SQLite database into its main file, so that a plain copy is complete."""
    eng = make_engine(url)
    with eng.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()


def copy_sqlite(template: Path, target: Path) -> str:
    """Copy a template database file; return the URL of the copy."""
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def build_template(empty_template: Path, path: Path, build: Callable[[Engine], T]) -> T:
    """Write at path a copy of the empty template with build(engine) applied; return what build returned."""
    url = copy_sqlite(empty_template, path)
    eng = make_engine(url)
    try:
        result = build(eng)
    finally:
        eng.dispose()
    checkpoint(url)
    return result
