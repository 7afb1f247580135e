"""A consistent copy of the database while the bot runs: SQLite's online backup API.

PostgreSQL has its own tool (pg_dump); `backup_hint` says how to use it without
printing the password of the database URL.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The copy could not be made; the message says why (already translated by the caller)."""


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite database URL; None for other databases (or an in-memory one)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        return None
    return Path(url.database) if url.database and url.database != ":memory:" else None


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy `source` into `target` in one consistent snapshot; returns the size in bytes.

    The copy is read in one step under a read transaction: in WAL mode the bot keeps
    writing meanwhile, and the copy holds exactly what was committed when it began.
    The new file is written beside the target and renamed into place when complete.
    """
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # pages=-1: every page in one step, one snapshot
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(check)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            dst.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    os.replace(partial, target)
    return target.stat().st_size


def pg_dump_command(database_url: str, target: str) -> str:
    """The pg_dump command line for a PostgreSQL URL (the password is left out: use PGPASSWORD or ~/.pgpass)."""
    url = make_url(database_url)
    parts = ["pg_dump", "--format=custom", f"--file={target}"]
    if url.host:
        parts.append(f"--host={url.host}")
    if url.port:
        parts.append(f"--port={url.port}")
    if url.username:
        parts.append(f"--username={url.username}")
    parts.append(url.database or "")
    return " ".join(parts)
