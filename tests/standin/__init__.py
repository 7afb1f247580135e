"""Strict local stand-in for the Telegram Bot API, for end-to-end tests.

See :mod:`tests.standin.server` for the overview and :class:`FakeTelegram`.
"""

from .server import ApiCall, ErrorRecord, FakeMessage, FakeTelegram, FakeUser, FileRecord
from .spec import ApiError, ApiSpec

__all__ = [
    "ApiCall",
    "ApiError",
    "ApiSpec",
    "ErrorRecord",
    "FakeMessage",
    "FakeTelegram",
    "FakeUser",
    "FileRecord",
]
