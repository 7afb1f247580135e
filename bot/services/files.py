"""Files the bot keeps: notice attachments and exports, so any channel can deliver them.

A file is stored once under `<data_dir>/files/<random>/<safe name>`; its key is the
relative path. Channels that carry documents upload it (or re-send their own file id);
channels that do not send a signed link to it (bot/web/links.py).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from bot.textvn import fold

SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def files_root(data_dir: str | Path) -> Path:
    return Path(data_dir) / "files"


def safe_name(name: str) -> str:
    """A file name that is safe on disk and in a URL (Vietnamese letters folded)."""
    base = SAFE.sub("-", fold(Path(name or "file").name)).strip("-.") or "file"
    return base[:120]


def store(data_dir: str | Path, content: bytes, name: str) -> str:
    """Keep `content` as a new file; return its key."""
    key = f"{secrets.token_hex(12)}/{safe_name(name)}"
    path = files_root(data_dir) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(content)
    tmp.replace(path)
    return key


def path_of(data_dir: str | Path, key: str) -> Path | None:
    """The file of a key, or None if it is malformed, escapes the folder or is gone."""
    root = files_root(data_dir).resolve()
    if not key or ".." in key.split("/") or key.startswith("/"):
        return None
    path = (root / key).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def display_name(key: str) -> str:
    return key.rsplit("/", 1)[-1]
