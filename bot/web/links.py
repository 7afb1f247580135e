"""Signed, expiring links to files the bot keeps: /f/<token>, HMAC-signed with a secret.

The token carries the file's key (bot/services/files.py) and the time it was signed;
an altered token fails the signature, an old one fails the age check.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bot.config import Settings

log = logging.getLogger(__name__)

SALT = "congdoan-file-link"


def link_secret(settings: Settings) -> str:
    """The configured secret, or one kept in the data folder (created once, private to the bot)."""
    if settings.link_secret:
        return settings.link_secret
    path = Path(settings.data_dir) / "link-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_text(secrets.token_urlsafe(32), "utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text("utf-8").strip()


class Signer:
    """Signs file keys into tokens and checks tokens back into keys."""

    def __init__(self, secret: str, max_age: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT)
        self.max_age = max_age

    def sign(self, key: str) -> str:
        return self._serializer.dumps(key)

    def unsign(self, token: str) -> str | None:
        """The key of a good token; None for an altered or expired one."""
        try:
            key = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired:
            log.info("expired file link refused")
            return None
        except BadSignature:
            log.info("altered file link refused")
            return None
        return key if isinstance(key, str) else None


def base_url(settings: Settings) -> str | None:
    """Where the bot's HTTP server is reached: the public address, or the local port."""
    if settings.public_base_url:
        return settings.public_base_url
    if settings.http_port is not None:
        return f"http://{settings.http_host}:{settings.http_port}"
    return None


def file_url(settings: Settings, signer: Signer, key: str) -> str | None:
    base = base_url(settings)
    return f"{base}/f/{signer.sign(key)}" if base else None
